"""TensorBoard events, shared by training (``training.logger``) and ``intergan evaluate``.

A run's events live in ``RUN/tensorboard``: training's scalars, its sample grids
(``samples``, one image per sample step) and, at the end, its hyper-parameters with
the final metrics (the HParams tab); ``intergan evaluate --tensorboard RUN`` adds the
evaluation's figures under ``eval/SPLIT/...`` at the checkpoint's step. Every writer
is None when the ``tensorboard`` extra is missing, and every function here then does
nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

FOLDER = "tensorboard"  # under the run folder
# evaluate's figures that the HParams tab lists beside training's final losses
EVAL_METRICS = (
    "editing_accuracy_mean",
    "preservation_mean",
    "multi_attribute_accuracy",
    "reconstruction_psnr",
)


def open_writer(run_dir: str | os.PathLike) -> Any:
    """A ``SummaryWriter`` on ``RUN/tensorboard``, or None without the package."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is an optional extra
        return None
    return SummaryWriter(str(Path(run_dir) / FOLDER))


def add_image(writer: Any, tag: str, image: np.ndarray, step: int) -> None:
    """An (H, W, 3) uint8 image at ``step``."""
    if writer is not None:
        writer.add_image(tag, image, step, dataformats="HWC")


def flat(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested config dict as ``section.field -> value`` of the types the HParams tab
    takes (numbers, strings, booleans; lists joined with commas, None as "none")."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out |= flat(value, name + ".")
        elif isinstance(value, (list, tuple)):
            out[name] = ",".join(map(str, value))
        elif value is None:
            out[name] = "none"
        else:
            out[name] = value
    return out


def add_hparams(writer: Any, hparams: dict[str, Any], metrics: dict[str, float], step: int) -> None:
    """The run's hyper-parameters and final ``metrics`` in the HParams tab, in the run's
    own event folder (not a sub-run as ``SummaryWriter.add_hparams`` makes). The
    metrics are written as scalars under ``hparams/NAME``; the evaluation's tags
    (:data:`EVAL_METRICS` under ``eval/test/``) are listed too, filled in once
    ``intergan evaluate --tensorboard RUN`` has run."""
    if writer is None:
        return
    from torch.utils.tensorboard.summary import hparams as hparams_summary

    tags = {f"hparams/{k}": v for k, v in metrics.items()}
    listed = dict.fromkeys([*tags, *(f"eval/test/{k}" for k in EVAL_METRICS)], 0.0)
    exp, ssi, sei = hparams_summary(hparams, listed)
    for summary in (exp, ssi, sei):
        writer.file_writer.add_summary(summary, step)
    for tag, value in tags.items():
        writer.add_scalar(tag, value, step)
    writer.flush()
