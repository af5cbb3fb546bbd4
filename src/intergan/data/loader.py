"""``make_loader``: a DataLoader with sensible workers, pinning, prefetch and sampling.

Sampling is reproducible: the order of epoch ``e`` depends only on ``(seed, e)``
(:mod:`intergan.data.order`, the trainer's order too),
with or without a distributed sampler, so a resumed run sees the same batches.
Call ``set_epoch(loader, epoch)`` (or ``loader.sampler.set_epoch(epoch)``) before
each epoch.
"""

from __future__ import annotations

import os

import torch
from torch.utils.data import DataLoader, Dataset, Sampler
from torch.utils.data.distributed import DistributedSampler

from intergan.data.order import EpochSampler
from intergan.errors import UserError


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def auto_workers(dataset: Dataset) -> int:
    """Workers for ``dataset``: decoding needs many, a memory-mapped cache few."""
    from intergan.data.datasets import CacheDataset

    cpus = cpu_count()
    if isinstance(dataset, CacheDataset):
        return 0 if cpus <= 4 else 2
    return max(1, min(8, cpus - 1))


def make_loader(
    dataset: Dataset,
    batch_size: int,
    shuffle: bool,
    seed: int,
    distributed: bool = False,
    drop_last: bool = True,
    num_workers: int = -1,
    *,
    world_size: int | None = None,
    rank: int | None = None,
) -> DataLoader:
    """A DataLoader over ``dataset`` yielding ``(images uint8 (B,3,S,S), labels float32 (B,n))``.

    ``shuffle``: a new permutation each epoch, fixed by ``(seed, epoch)`` (the
    trainer's order, :mod:`intergan.data.order`). ``distributed``:
    a ``DistributedSampler`` (``world_size``/``rank`` default to the process group's),
    each rank getting a disjoint shard. ``drop_last``: drop the final short batch (and,
    distributed, trim to equal shards). ``num_workers`` -1 picks from the CPU count
    (see :func:`auto_workers`); pinned memory when CUDA is available; prefetch 4
    batches per worker; workers persist across epochs. Call :func:`set_epoch` before
    each epoch.
    """
    if batch_size < 1:
        raise UserError(f"batch size must be at least 1, got {batch_size}")
    if distributed:
        sampler: Sampler[int] = DistributedSampler(
            dataset, num_replicas=world_size, rank=rank, shuffle=shuffle, seed=seed,
            drop_last=drop_last,
        )  # fmt: skip
    else:
        sampler = EpochSampler(len(dataset), seed=seed, shuffle=shuffle)
    if drop_last and len(sampler) < batch_size:
        raise UserError(
            f"the dataset has {len(sampler)} images per process, fewer than the batch size "
            f"{batch_size}; lower --batch-size or use more data"
        )
    workers = auto_workers(dataset) if num_workers < 0 else num_workers
    extra = {"prefetch_factor": 4, "persistent_workers": True} if workers > 0 else {}
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=workers,
        pin_memory=torch.cuda.is_available(),
        drop_last=drop_last,
        generator=torch.Generator().manual_seed(seed),
        **extra,
    )


def set_epoch(loader: DataLoader, epoch: int) -> None:
    """Tell the loader's sampler which epoch starts (reshuffles deterministically)."""
    sampler = loader.sampler
    if hasattr(sampler, "set_epoch"):
        sampler.set_epoch(epoch)
