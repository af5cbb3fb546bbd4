"""All distributed logic in one small module: torchrun environment, process group,
rank-0 printing, loss averaging and per-rank seeds.

A single process (no ``torchrun``) is world size 1 and every helper here is a no-op
or the identity, so the training code has one path for both cases.
"""

from __future__ import annotations

import datetime
import os
import sys
from typing import Any

import torch
import torch.distributed as dist

from intergan import hardware
from intergan.errors import UserError
from intergan.models.layers import has_batch_norm


def env_world() -> tuple[int, int, int]:
    """``(rank, local_rank, world_size)`` from the torchrun environment (0, 0, 1 alone)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", str(rank)))
    return rank, local, world


def pick_device(spec: str = "auto") -> torch.device:
    """``hardware.pick_device`` for this process: under torchrun, ``cuda`` (and
    ``auto`` on a GPU machine) is this process's local GPU, which becomes current."""
    _, local, _ = env_world()
    device = hardware.pick_device(spec, local_rank=local)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    return device


def init(device: torch.device) -> None:
    """Join the process group torchrun described: NCCL on CUDA, gloo otherwise.

    No-op when ``WORLD_SIZE`` is 1 or unset, or when already initialised.
    """
    _, _, world = env_world()
    if world <= 1 or dist.is_initialized():
        return
    if "MASTER_ADDR" not in os.environ:
        raise UserError(
            "WORLD_SIZE > 1 but MASTER_ADDR is unset: launch multi-process training with "
            "torchrun (see docs/training.md)"
        )
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend, timeout=datetime.timedelta(minutes=30))


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def is_main() -> bool:
    """True on the process that writes files and prints (rank 0)."""
    return rank() == 0


def print0(*args: Any, **kwargs: Any) -> None:
    """``print`` on rank 0 only (flushes, so logs interleave correctly)."""
    if is_main():
        file = kwargs.pop("file", sys.stdout)
        print(*args, **kwargs, file=file, flush=True)


def rank_seed(seed: int) -> int:
    """Seed of this process's random streams: ``seed * world + rank`` (distinct per rank)."""
    return seed * world_size() + rank()


def mean_over_ranks(values: torch.Tensor) -> torch.Tensor:
    """All-reduce mean of a tensor (a vector of logged losses); identity when alone."""
    if not dist.is_initialized():
        return values
    values = values.clone()
    dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values / world_size()


def gather_objects(obj: Any) -> list[Any]:
    """Every rank's ``obj`` (for example RNG states), in rank order; ``[obj]`` alone."""
    if not dist.is_initialized():
        return [obj]
    out: list[Any] = [None] * world_size()
    dist.all_gather_object(out, obj)
    return out


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def sync_batch_norm(module: torch.nn.Module, device: torch.device, enabled: bool) -> bool:
    """Whether ``module``'s batch norms should become SyncBatchNorm: several processes,
    on GPUs (torch's SyncBatchNorm has no CPU kernel), asked for, and any to convert."""
    return enabled and world_size() > 1 and device.type == "cuda" and has_batch_norm(module)


def batch_norm_note(G: torch.nn.Module, device: torch.device, enabled: bool) -> str:
    """One log line on how G's batch-norm statistics are taken; empty alone or without any."""
    if world_size() <= 1 or not has_batch_norm(G):
        return ""
    if sync_batch_norm(G, device, enabled):
        n = world_size()
        return f"batch norm in G: statistics over the global batch of {n} processes (SyncBatchNorm)"
    why = "--set train.sync_bn=false" if not enabled else "SyncBatchNorm runs on GPUs only"
    return f"batch norm in G: statistics per process ({why}); running statistics averaged"


def wrap(module: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """DistributedDataParallel around ``module`` when distributed, else ``module``.

    Buffers (batch-norm running statistics) are not broadcast from rank 0 at each
    forward; :func:`average_buffers` keeps them equal across ranks instead.
    """
    if not dist.is_initialized():
        return module
    ids = [device.index] if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(
        module, device_ids=ids, broadcast_buffers=False
    )


@torch.no_grad()
def average_buffers(module: torch.nn.Module) -> None:
    """Average floating-point buffers (running statistics) over ranks, in place.

    Each rank updates its running statistics from its own batches; averaging after
    every step makes them statistics of the global batch and keeps every rank's
    model identical. No-op when alone or when the module has no such buffers.
    """
    if not dist.is_initialized():
        return
    buffers = [b for b in module.buffers() if b.is_floating_point()]
    if not buffers:
        return
    flat = torch.cat([b.flatten() for b in buffers])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= world_size()
    for b, v in zip(buffers, flat.split([b.numel() for b in buffers])):
        b.copy_(v.view_as(b))
