"""The training run: ``plan_run`` decides everything once, ``run_plan`` carries it out.

``plan_run`` checks the config, resolves the device, the precision and layout
(``intergan.precision``), the checkpoint to resume, the run's length and its
learning-rate drop (``schedule.fix_length``) into a ``RunPlan``, before anything is
written. ``run_plan`` then reads top to bottom in the order a run happens: set-up,
resume, the loop of steps (``run_step``: ``n_d`` D steps and one G step), samples and
checkpoints at their intervals, the end. ``train`` is the two together.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import signal
import threading
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import Dataset

from intergan.config import Config, TrainConfig, validate_train
from intergan.errors import UserError
from intergan.models import io
from intergan.precision import resolve
from intergan.training import distributed as dist
from intergan.training.batches import BatchStream
from intergan.training.data import (
    batches_per_epoch,
    fix_framing,
    make_stream,
    open_dataset,
    sample_batch,
)
from intergan.training.logger import RunLogger
from intergan.training.samples import sample_grid, save_grid
from intergan.training.schedule import batches_before, fix_length, lr_at
from intergan.training.state import check_run_folder, make_checkpoint, restore_checkpoint
from intergan.training.steps import LOSS_NAMES, EventHook, Trainer, build_trainer, run_step


class NonFiniteLossError(UserError):
    """A loss became NaN or infinite: training stopped without saving."""


@dataclass
class TrainResult:
    config: Config  # as resolved and saved in RUN/config.json
    trainer: Trainer
    step: int  # generator steps done
    stopped: bool  # True if a signal ended the run early
    stream: BatchStream


@dataclass(frozen=True)
class RunPlan:
    """A run decided once (by ``plan_run``); ``run_plan`` trusts it and checks nothing again.

    ``config`` holds every derived value resolved: the precision and layout (never
    ``auto``), ``steps`` (from ``epochs`` when given) and ``lr_decay_step``.
    ``checkpoint`` is the loaded checkpoint to continue from, ``None`` for a new run.
    """

    config: Config
    run_dir: Path
    device: torch.device
    checkpoint: dict | None
    dataset: Dataset  # the training data
    precision_why: str  # why this precision: written to log.txt
    framing_why: str = ""  # where data.framing came from ("" when the data records none)


def plan_run(
    cfg: Config,
    run_dir: str | Path,
    *,
    resume: str | Path | None = None,
    checkpoint: dict | None = None,
    dataset: Dataset | None = None,
    asked: Collection[str] | None = None,
) -> RunPlan:
    """Decide the run of ``cfg`` in ``run_dir``; a bad value is a ``UserError`` before
    anything is written, and nothing is written here.

    ``resume``: ``"latest"`` or a checkpoint path (``checkpoint``: that checkpoint
    already loaded, which saves a second read). ``dataset``: the training data
    (default: the config's data path). ``asked``: from ``intergan train``, the
    ``section.field`` names its flags and ``--set`` gave (``None``: ``cfg`` is taken as
    it is). A config whose precision was automatic (a checkpoint's, a run's
    config.json) then chooses it again for this machine unless ``train.amp`` or
    ``train.channels_last`` is asked, and ``train.lr_decay_at`` asked places the
    learning-rate drop anew in this run's length; otherwise a resumed run keeps its
    drop. ``data.framing`` is taken from the data's record (``fix_framing``)."""
    cfg = copy.deepcopy(cfg)  # resolved fields change; the caller's config stays
    t = cfg.train
    device = dist.pick_device(t.device)
    asked = None if asked is None else set(asked)
    if asked is not None and t.auto_precision and not {"train.amp", "train.channels_last"} & asked:
        t.amp, t.channels_last = "auto", None  # it was chosen for the machine it ran on
    validate_train(cfg, device)
    t.auto_precision = t.amp == "auto" and t.channels_last is None
    t.amp, t.channels_last, why = resolve(t.amp, t.channels_last, device)
    ckpt = _load_resume(cfg, Path(run_dir), resume, checkpoint)
    saved = Config.from_dict(ckpt["config"], saved=True).train if ckpt else None
    framing_asked = asked is None or "data.framing" in asked
    framing_why = fix_framing(cfg, framing_asked)
    dataset = dataset if dataset is not None else open_dataset(cfg, "train")
    new_drop = bool(asked) and "train.lr_decay_at" in asked and "train.lr_decay_step" not in asked
    fix_length(t, batches_per_epoch(cfg, dataset), saved, new_drop)
    return RunPlan(cfg, Path(run_dir), device, ckpt, dataset, why, framing_why)


def train(
    cfg: Config,
    run_dir: str | Path,
    *,
    resume: str | Path | None = None,
    dataset: Dataset | None = None,
    sample_data: Dataset | None = None,
    progress: bool = False,
    on_event: EventHook | None = None,
    command: str | None = None,
) -> TrainResult:
    """Train (or resume, ``resume="latest"`` or a checkpoint path) into ``run_dir``:
    ``run_plan(plan_run(cfg, run_dir, resume=resume, dataset=dataset), ...)``."""
    plan = plan_run(cfg, run_dir, resume=resume, dataset=dataset)
    return run_plan(
        plan, sample_data=sample_data, progress=progress, on_event=on_event, command=command
    )


def run_plan(
    plan: RunPlan,
    *,
    sample_data: Dataset | None = None,
    progress: bool = False,
    on_event: EventHook | None = None,
    command: str | None = None,
) -> TrainResult:
    """Carry out ``plan``, top to bottom. ``sample_data``: the sample grids' images
    (default: the valid split, else the training data). ``on_event(event, step,
    trainer)`` is called at ``"after_d"`` (mid-step), ``"checkpoint"`` (after a
    checkpoint is written) and ``"step"`` (a step is complete). ``command``: the
    command line, appended to ``RUN/cmd.txt``. Under torchrun the process group is
    joined here (and left at the end if this call joined it)."""
    cfg, run_dir, device = plan.config, plan.run_dir, plan.device
    t, emit = cfg.train, on_event or _no_event
    joined = not torch.distributed.is_initialized()
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    if t.deterministic:  # CPU runs resume bit-exactly without it; CUDA needs it
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
    dist.init(device)
    try:
        # Set-up: the batch stream, then G, D, optimisers and random streams.
        stream = make_stream(cfg, plan.dataset, device)
        trainer = build_trainer(cfg, device)
        # Resume: the full state; a finished run says so and changes nothing.
        step = restore_checkpoint(trainer, plan.checkpoint, stream) if plan.checkpoint else 0
        if plan.checkpoint and step >= t.steps:
            dist.print0(_complete_message(run_dir, step, t.steps))
            return TrainResult(cfg, trainer, step, False, stream)
        samples = sample_batch(cfg, plan.dataset, sample_data) if dist.is_main() else None
        logger = _open_run(plan, trainer, stream, step, progress, command)
        # The loop: one step, its losses averaged over processes, logged.
        logger.start_counting(batches_before(t, step) * t.batch_size * dist.world_size())
        losses_sum, count = dict.fromkeys(LOSS_NAMES, 0.0), 0
        with StopFlag() as flag, contextlib.closing(logger):
            while step < t.steps:
                logs = run_step(trainer, stream, step, emit)
                step += 1
                losses, stop = _gather(logs, flag, device)
                if not all(math.isfinite(v) for v in losses.values()):
                    raise NonFiniteLossError(_nonfinite(run_dir, t, step, losses))
                losses_sum = {k: losses_sum[k] + v for k, v in losses.items()}
                count += 1
                logger.advance()
                if step % t.log_every == 0 or step == t.steps or stop:
                    _log(logger, stream, t, step, {k: v / count for k, v in losses_sum.items()})
                    losses_sum, count = dict.fromkeys(LOSS_NAMES, 0.0), 0
                # Samples and checkpoints at their intervals, and at the end.
                if dist.is_main() and (
                    step == t.steps or (t.sample_every and step % t.sample_every == 0)
                ):
                    _write_samples(trainer, cfg, samples, run_dir, step, logger)
                if step % t.checkpoint_every == 0 or step == t.steps or stop:
                    _save(trainer, cfg, stream, run_dir, step, logger)
                    emit("checkpoint", step, trainer)
                emit("step", step, trainer)
                if stop:
                    logger.message(
                        f"stopped by a signal after step {step}; checkpoint saved, "
                        "continue with --resume latest"
                    )
                    break
            logger.hparams(cfg)  # the run's settings beside its final losses
        # The end.
        return TrainResult(cfg, trainer, step, flag.requested, stream)
    finally:
        torch.use_deterministic_algorithms(was_deterministic)
        if joined:
            dist.shutdown()


class StopFlag:
    """Turns SIGINT/SIGTERM into a request to checkpoint and stop (a second SIGINT
    interrupts at once). Installs handlers only in the main thread."""

    def __init__(self) -> None:
        self.requested = False
        self._old: dict[int, object] = {}

    def _handler(self, signum: int, frame: object) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> StopFlag:
        if threading.current_thread() is threading.main_thread():
            for s in (signal.SIGINT, signal.SIGTERM):
                self._old[s] = signal.signal(s, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for s, h in self._old.items():
            signal.signal(s, h)


# What run_plan's parts do, in the order it calls them.


def _no_event(event: str, step: int, trainer: Trainer) -> None:
    pass


def _load_resume(
    cfg: Config, run_dir: Path, resume: str | Path | None, ckpt: dict | None
) -> dict | None:
    """The checkpoint to continue from (``None``: a new run, in a folder without one)."""
    existing = io.list_checkpoints(run_dir / io.CHECKPOINT_DIR)
    if resume is None:
        if existing:
            raise UserError(
                f"{run_dir} already holds checkpoints (up to step {existing[-1][0]}): "
                "continue that run with --resume latest, or choose another --out"
            )
        check_run_folder(run_dir, None)
        return None
    if ckpt is None or str(resume) == "latest":
        path = io.find_checkpoint(run_dir if str(resume) == "latest" else resume)
    else:  # the caller resolved and loaded it
        path = Path(resume)
    check_run_folder(run_dir, path)  # another run's folder is never written into
    ckpt = ckpt if ckpt is not None else io.load_checkpoint(path)
    io.check_resume_config(Config.from_dict(ckpt["config"], saved=True), cfg, path)
    return ckpt


def _complete_message(run_dir: Path, step: int, steps: int) -> str:
    """What ``--resume latest`` on a finished run prints: where it is, how to go on."""
    return (
        f"{run_dir} is complete: step {step} of {steps}; nothing to train. To extend it, "
        f"resume with a larger --steps: intergan train --out {run_dir} --resume latest "
        f"--steps {2 * max(step, steps)}"
    )


def _open_run(
    plan: RunPlan,
    trainer: Trainer,
    stream: BatchStream,
    step: int,
    progress: bool,
    command: str | None,
) -> RunLogger:
    """Write config.json and cmd.txt (rank 0), and open the logger with the run's
    opening lines."""
    cfg, run_dir, t = plan.config, plan.run_dir, plan.config.train
    if dist.is_main():
        run_dir.mkdir(parents=True, exist_ok=True)
        cfg.save(run_dir / "config.json")
        if command:
            with open(run_dir / "cmd.txt", "a") as f:
                f.write(command + "\n")
    logger = RunLogger(run_dir if dist.is_main() else None, t.steps, step, progress)
    verb = f"resuming at step {step}" if plan.checkpoint else "training"
    logger.message(
        f"{verb}: {t.steps} steps, {dist.world_size()} process(es) on {plan.device}, "
        f"{stream.n} images, {stream.batches_per_epoch} batches per epoch"
    )
    logger.message(f"precision: {trainer.precision.describe()} ({plan.precision_why})")
    if plan.framing_why:
        logger.message(f"framing: {cfg.data.framing}, {plan.framing_why}")
    bn_note = dist.batch_norm_note(trainer.G, plan.device, t.sync_bn)
    if bn_note:
        logger.message(bn_note)
    if stream.weights is not None:
        from intergan.data.balance import describe

        labels = plan.dataset.labels  # type: ignore[attr-defined]
        logger.message(describe(labels, stream.weights, cfg.model.attrs))
    return logger


def _gather(
    logs: dict[str, torch.Tensor], flag: StopFlag, device: torch.device
) -> tuple[dict[str, float], bool]:
    """The step's losses averaged over processes, and whether any process was asked
    to stop: one sync per step."""
    stop = torch.tensor([float(flag.requested)], device=device)
    vec = torch.cat([torch.stack([logs[k].float() for k in LOSS_NAMES]), stop])
    values = dist.mean_over_ranks(vec).tolist()
    return dict(zip(LOSS_NAMES, values[:-1])), values[-1] > 0


def _log(
    logger: RunLogger, stream: BatchStream, t: TrainConfig, step: int, means: dict[str, float]
) -> None:
    """One record: the losses' means since the last, lr, images/s, the epoch."""
    images = batches_before(t, step) * t.batch_size * dist.world_size()
    values = means | {"lr": lr_at(t, step - 1), "img_per_s": logger.images_per_second(images)}
    logger.stats(step, values | {"epoch": stream.epoch})


def _write_samples(
    trainer: Trainer, cfg: Config, samples: tuple, run_dir: Path, step: int, logger: RunLogger
) -> None:
    images, labels = samples
    G = trainer.G_ema if trainer.G_ema is not None else trainer.G
    t = cfg.train
    grid = sample_grid(G, images, labels, cfg.model.attrs, t.thres_int, t.test_int, trainer.device)
    save_grid(run_dir / "samples" / f"step_{step:07d}.png", grid)
    logger.image("samples", grid, step)  # TensorBoard's images tab


def _save(
    trainer: Trainer, cfg: Config, stream: BatchStream, run_dir: Path, step: int, logger
) -> None:
    """A checkpoint of the full state (collective), written by rank 0; non-finite
    weights stop the run instead."""
    for name, module in (("G", trainer.G), ("D", trainer.D)):
        finite = torch.stack([p.detach().isfinite().all() for p in module.parameters()])
        if not bool(finite.all()):
            raise NonFiniteLossError(
                f"non-finite weights in {name} after step {step}: not saved. "
                + _last_good(run_dir, cfg.train)
            )
    ckpt = make_checkpoint(trainer, cfg, step, stream)  # collective
    if dist.is_main():
        path = io.save_checkpoint(ckpt, run_dir, cfg.train.keep_last)
        logger.message(f"checkpoint {path}")


def _last_good(run_dir: Path, t: TrainConfig) -> str:
    try:
        last = io.find_checkpoint(run_dir)
    except UserError:
        return "No checkpoint was written before it."
    hint = " or without --amp fp16" if t.amp == "fp16" else ""
    return (
        f"The last good checkpoint is {last}; continue from it with --resume latest "
        f"and a lower --lr{hint}."
    )


def _nonfinite(run_dir: Path, t: TrainConfig, step: int, losses: dict[str, float]) -> str:
    bad = ", ".join(f"{k}={v}" for k, v in losses.items() if not math.isfinite(v))
    return f"non-finite loss at step {step} ({bad}); training stopped. " + _last_good(run_dir, t)
