"""The full training state as a checkpoint dict, and back (exact resume).

Besides the weights and optimizers, a checkpoint keeps every random stream the run
draws from (torch CPU and CUDA, numpy, python, and the trainer's own generators) for
*every rank*, and the data order position, so that a resumed run replays exactly
what the uninterrupted run would have done. Everything is stored as tensors and
builtins so ``torch.load(weights_only=True)`` accepts it. :func:`check_run_folder`
says whether a run (new or resumed) may write into a folder.
"""

from __future__ import annotations

import os
import random
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from intergan.config import Config
from intergan.errors import UserError
from intergan.files import state_dict_error
from intergan.models import io
from intergan.training import distributed as dist
from intergan.training.batches import BatchStream
from intergan.training.steps import Trainer


def capture_rng(trainer: Trainer) -> dict[str, Any]:
    """This process's random states, as tensors and builtins."""
    _, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
        "numpy": {
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "gauss": float(gauss),
        },
        "python": random.getstate(),
        # the trainer's own streams, under the keys checkpoints have always used
        "gen": trainer.rng.get_state(),
        "gen_dev": trainer.rng_device.get_state(),
    }


def restore_rng(trainer: Trainer, state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    keys = n["keys"].numpy().astype(np.uint32)
    np.random.set_state(("MT19937", keys, n["pos"], n["has_gauss"], n["gauss"]))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    trainer.rng.set_state(state["gen"])
    trainer.rng_device.set_state(state["gen_dev"])


def make_checkpoint(
    trainer: Trainer, cfg: Config, step: int, stream: BatchStream
) -> dict[str, Any]:
    """The checkpoint dict of the current state. Collective: every rank must call it
    (the RNG states of all ranks are gathered); only rank 0's result is saved."""
    rng = dist.gather_objects(capture_rng(trainer))
    return {
        "step": step,
        "config": cfg.to_dict(),
        "G": trainer.G.state_dict(),
        "D": trainer.D.state_dict(),
        "G_ema": trainer.G_ema.state_dict() if trainer.G_ema is not None else None,
        "opt_G": trainer.opt_G.state_dict(),
        "opt_D": trainer.opt_D.state_dict(),
        "scaler": {"G": trainer.scaler_G.state_dict(), "D": trainer.scaler_D.state_dict()},
        "rng": {"world": len(rng), "ranks": rng},
        "data": stream.position(),
    }


def restore_checkpoint(trainer: Trainer, ckpt: dict[str, Any], stream: BatchStream) -> int:
    """Load weights, optimizers, scalers, RNG and data position; return the step.

    A checkpoint whose parts do not fit the run its config builds (a damaged or edited
    file: ``load_checkpoint`` checked the keys and the generator only) is a ``UserError``."""
    try:
        return _restore(trainer, ckpt, stream)
    except (RuntimeError, KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
        raise UserError(
            f"the checkpoint to resume (step {ckpt['step']}) does not fit the run its own "
            f"config builds ({type(e).__name__}: {state_dict_error(e)[:160]}): a damaged or "
            "edited file; resume from another checkpoint of the run's checkpoints/ folder"
        ) from None


def _restore(trainer: Trainer, ckpt: dict[str, Any], stream: BatchStream) -> int:
    trainer.G.load_state_dict(ckpt["G"])
    trainer.D.load_state_dict(ckpt["D"])
    if trainer.G_ema is not None:
        trainer.G_ema.load_state_dict(ckpt["G_ema"] if ckpt.get("G_ema") is not None else ckpt["G"])
    trainer.opt_G.load_state_dict(ckpt["opt_G"])
    trainer.opt_D.load_state_dict(ckpt["opt_D"])
    if ckpt.get("scaler"):
        trainer.scaler_G.load_state_dict(ckpt["scaler"]["G"])
        trainer.scaler_D.load_state_dict(ckpt["scaler"]["D"])
    pos, rng = ckpt["data"], ckpt["rng"]
    same_layout = rng["world"] == dist.world_size() and (
        pos.get("batch_size") == stream.batch_size and pos.get("world") == stream.world
    )
    if same_layout:
        restore_rng(trainer, rng["ranks"][dist.rank()])
        stream.set_position(pos)
    else:
        warnings.warn(
            f"resuming with a different world size or batch size than the checkpoint "
            f"(world {rng['world']} -> {dist.world_size()}, batch {pos.get('batch_size')} -> "
            f"{stream.batch_size}): training continues from the start of epoch "
            f"{pos['epoch'] + 1} with fresh random streams, so it is not bit-exact",
            stacklevel=2,
        )
        stream.set_position({"epoch": int(pos["epoch"]) + 1, "batch": 0})
        # fresh streams, not a replay of step 0
        fresh = dist.rank_seed(trainer.cfg.seed) + 7919 * int(ckpt["step"])
        trainer.rng.manual_seed(fresh)
        trainer.rng_device.manual_seed(fresh + 2**32)
    return int(ckpt["step"])


# what a training run writes into its folder (besides hidden temporaries), and what
# later commands add there by default (`export` -> RUN/export, `evaluate` -> RUN/eval_SPLIT)
RUN_FILES = ("config.json", "cmd.txt", "log.txt", "stats.jsonl", "samples", "tensorboard",
             io.CHECKPOINT_DIR, "export")  # fmt: skip


def _is_run_file(name: str) -> bool:
    return name in RUN_FILES or name.startswith(("eval_", "."))


def check_run_folder(run_dir: str | os.PathLike, checkpoint: str | os.PathLike | None) -> None:
    """Refuse, before anything is written, to train into ``run_dir`` unless it is new or
    empty, or holds only a run's files and (when resuming, ``checkpoint``) the
    checkpoint is one of its own (in ``RUN/checkpoints/``): another run's checkpoint
    resumed there would rewrite its config.json and prune its checkpoints."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir() or not any(run_dir.iterdir()):
        return
    own = run_dir / io.CHECKPOINT_DIR
    if (
        checkpoint is not None
        and own.is_dir()
        and Path(checkpoint).resolve().parent == own.resolve()
    ):
        return
    foreign = sorted(p.name for p in run_dir.iterdir() if not _is_run_file(p.name))
    if foreign:
        raise UserError(
            f"--out {run_dir} holds files a training run does not write ({', '.join(foreign[:3])}"
            f"{', ...' if len(foreign) > 3 else ''}); train into a new or empty folder"
        )
    if checkpoint is not None:
        steps = [s for s, _ in io.list_checkpoints(own)]
        held = f"checkpoints up to step {steps[-1]}" if steps else "its config and logs"
        raise UserError(
            f"--out {run_dir} holds another run ({held}) and --resume {checkpoint} is not one "
            f"of its checkpoints: resume it into a new or empty --out, or continue "
            f"{run_dir}'s own run with --resume latest"
        )
