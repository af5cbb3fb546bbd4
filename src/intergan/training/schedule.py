"""The run's schedule as functions of the step: learning rate, D updates, batches read.

One *step* is ``n_d`` discriminator updates followed by one generator update, each
on a fresh batch (one D update per step during the ``n_d_warmup`` steps). The
learning rate is divided by 10 from step ``lr_decay_step`` on. ``fix_length`` decides
the run's length and that step once, when the run is planned; both are saved with
the run, and every resume keeps the drop, so a resumed run follows the same schedule
as an uninterrupted one.
"""

from __future__ import annotations

import math

from intergan.config import TrainConfig


def decay_step(cfg: TrainConfig) -> int:
    """The (0-based) step from which lr is divided by 10 (``lr_decay_step`` once fixed)."""
    if cfg.lr_decay_step is not None:
        return cfg.lr_decay_step
    return round(cfg.lr_decay_at * cfg.steps)


def lr_at(cfg: TrainConfig, step: int) -> float:
    """Learning rate of (0-based) step ``step``: ``lr``, then ``lr / 10`` from the decay step."""
    return cfg.lr / 10 if step >= decay_step(cfg) else cfg.lr


def n_d_at(cfg: TrainConfig, step: int) -> int:
    """D updates in step ``step`` (0-based): one during the ``n_d_warmup`` steps, then n_d."""
    return 1 if step < cfg.n_d_warmup else cfg.n_d


def batches_before(cfg: TrainConfig, step: int) -> int:
    """Batches read by steps ``0 .. step-1`` (n_d + 1 each, 2 during the n_d warm-up)."""
    warm = min(step, cfg.n_d_warmup)
    return 2 * warm + (cfg.n_d + 1) * (step - warm)


def steps_for_epochs(epochs: float, batches_per_epoch: int, cfg: TrainConfig) -> int:
    """Generator steps that read ``epochs`` passes over the data."""
    batches = epochs * batches_per_epoch
    warm = min(cfg.n_d_warmup, math.ceil(batches / 2))
    return max(1, warm + math.ceil(max(0.0, batches - 2 * warm) / (cfg.n_d + 1)))


def fix_length(
    cfg: TrainConfig, batches_per_epoch: int, resumed: TrainConfig | None, new_drop: bool
) -> None:
    """Fix ``cfg.steps`` (from ``epochs`` when given) and ``cfg.lr_decay_step`` in place.

    The drop: a step already set is kept; a resumed run (``resumed``: its saved
    config) keeps its own unless ``new_drop`` (``--lr-decay-at`` asked again); else
    ``round(lr_decay_at * steps)`` of this run's length.
    """
    if cfg.epochs > 0:
        cfg.steps = steps_for_epochs(cfg.epochs, batches_per_epoch, cfg)
    if new_drop:
        cfg.lr_decay_step = None
    elif cfg.lr_decay_step is None and resumed is not None:
        cfg.lr_decay_step = decay_step(resumed)
    cfg.lr_decay_step = decay_step(cfg)
