"""The training driver: ``plan_run`` resolves a run once (device, precision, the
checkpoint to resume) into a ``RunPlan``; ``run_plan`` builds the parts from it, then
only schedules. ``train`` is the two together.

One *step* is ``n_d`` discriminator updates followed by one generator update, each
on a fresh batch. The learning rate is divided by 10 from step ``lr_decay_step``
on, fixed as ``round(lr_decay_at * steps)`` when a run starts and kept by every
resume, so a resumed run follows the same schedule as an uninterrupted one.
"""

from __future__ import annotations

import copy
import math
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from intergan.config import Config, TrainConfig, validate_train
from intergan.errors import UserError
from intergan.hardware import resolve_amp, resolve_channels_last
from intergan.images import to_model
from intergan.models import io
from intergan.models.layers import has_batch_norm
from intergan.training import distributed as dist
from intergan.training.batches import BatchStream
from intergan.training.logger import RunLogger
from intergan.training.samples import fixed_batch, sample_grid, save_grid
from intergan.training.state import make_checkpoint, restore_checkpoint
from intergan.training.steps import (
    LOSS_NAMES,
    Trainer,
    d_step,
    ema_decay,
    ema_update,
    filter_scales,
    g_step,
    make_targets,
)

EventHook = Callable[[str, int, Trainer], None]  # (event, step, trainer)


class NonFiniteLossError(UserError):
    """A loss became NaN or infinite: training stopped without saving."""


@dataclass
class TrainResult:
    config: Config  # as resolved and saved in RUN/config.json
    trainer: Trainer
    step: int  # generator steps done
    stopped: bool  # True if a signal ended the run early
    stream: BatchStream


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


def complete_message(run_dir: Path, step: int, steps: int) -> str:
    """What ``--resume latest`` on a finished run prints: where it is, how to go on."""
    return (
        f"{run_dir} is complete: step {step} of {steps}; nothing to train. To extend it, "
        f"resume with a larger --steps: intergan train --out {run_dir} --resume latest "
        f"--steps {2 * max(step, steps)}"
    )


def _seed_all(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    import random

    random.seed(seed)


def build_trainer(cfg: Config, device: torch.device) -> Trainer:
    """Fresh G, D (identical on every rank), optimizers, scalers and random streams."""
    from intergan.models import build_discriminator, build_generator

    train_cfg = cfg.train
    torch.manual_seed(train_cfg.seed)  # same initial weights on every rank
    G, D = build_generator(cfg.model).to(device), build_discriminator(cfg.model).to(device)
    if train_cfg.channels_last:
        G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    G_ema = copy.deepcopy(G).requires_grad_(False) if train_cfg.ema > 0 else None
    # G only, after the EMA copy (which runs in eval mode only); same parameters and
    # buffers. Not D: the penalty's double backward has no SyncBatchNorm derivative
    # (pytorch/pytorch#61222), so a batch-norm D normalises per process.
    if dist.sync_batch_norm(G, device, train_cfg.sync_bn):
        G = nn.SyncBatchNorm.convert_sync_batchnorm(G)
    G_w, D_w = dist.wrap(G, device), dist.wrap(D, device)
    seed = dist.rank_seed(train_cfg.seed)
    _seed_all(seed)
    return Trainer(
        cfg=train_cfg,
        device=device,
        G=G,
        D=D,
        G_run=torch.compile(G_w) if train_cfg.compile else G_w,
        # no grad: DDP not needed; the editing stream alone where the streams are not
        # joined by CTI (batch norm then normalises the edited batch on its own)
        G_fake=torch.compile(G.edit_for_d) if train_cfg.compile else G.edit_for_d,
        D_run=torch.compile(D_w) if train_cfg.compile else D_w,
        D_penalty=D_w,
        opt_G=_adam(G, train_cfg, device),
        opt_D=_adam(D, train_cfg, device),
        scaler_G=torch.amp.GradScaler(device.type, enabled=train_cfg.amp == "fp16"),
        scaler_D=torch.amp.GradScaler(device.type, enabled=train_cfg.amp == "fp16"),
        rng=torch.Generator().manual_seed(seed),
        rng_device=torch.Generator(device).manual_seed(seed + 2**32),
        G_ema=G_ema,
        joint_d_batch=not has_batch_norm(D),
        d_scales=filter_scales(D) if train_cfg.keep_d_scale else None,
    )


def _batch(trainer: Trainer, stream: BatchStream):
    images, labels = stream.next(trainer.rng)
    target, target_enc, source_enc = make_targets(labels, trainer.cfg, trainer.rng)
    device = trainer.device
    real = to_model(images.to(device, non_blocking=True))
    return real, labels.to(device), target.to(device), target_enc.to(device), source_enc.to(device)


def run_step(trainer: Trainer, stream: BatchStream, step: int, emit: EventHook) -> dict:
    """Step ``step``: set the lr, n_d D updates, one G update, the EMA. Losses (detached)."""
    for opt in (trainer.opt_G, trainer.opt_D):
        for group in opt.param_groups:
            group["lr"] = lr_at(trainer.cfg, step)
    d_logs = []
    for _ in range(n_d_at(trainer.cfg, step)):
        real, source, _, target_enc, source_enc = _batch(trainer, stream)
        d_logs.append(d_step(trainer, real, source, target_enc, source_enc))
    emit("after_d", step, trainer)
    real, _, target, target_enc, source_enc = _batch(trainer, stream)
    logs = g_step(
        trainer, real, target, target_enc, source_enc, warmup=step < trainer.cfg.rec_warmup
    )
    dist.average_buffers(trainer.G)
    dist.average_buffers(trainer.D)
    if trainer.G_ema is not None:
        ema_update(trainer.G_ema, trainer.G, ema_decay(trainer.cfg.ema, step))
    return {k: torch.stack([d[k] for d in d_logs]).mean() for k in d_logs[0]} | logs


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


def _no_event(event: str, step: int, trainer: Trainer) -> None:
    pass


@dataclass(frozen=True)
class RunPlan:
    """A run resolved once (by ``plan_run``); ``run_plan`` trusts it and checks nothing again.

    ``config`` holds the resolved precision and layout (never ``auto``) and, when
    resuming, the resumed run's learning-rate drop. ``checkpoint`` is the loaded
    checkpoint to continue from, ``None`` for a new run.
    """

    config: Config
    run_dir: Path
    device: torch.device
    checkpoint: dict | None
    precision_why: str  # why this precision: written to log.txt


def plan_run(
    cfg: Config,
    run_dir: str | Path,
    *,
    resume: str | Path | None = None,
    checkpoint: dict | None = None,
) -> RunPlan:
    """Resolve ``cfg`` for ``run_dir``: the device, the precision and layout, and the
    checkpoint to resume (``resume``: ``"latest"`` or a path; ``checkpoint``: that
    checkpoint already loaded, which saves a second read). Every check of the run
    happens here: a bad value is a ``UserError`` before anything is written."""
    cfg = copy.deepcopy(cfg)  # resolved fields change; the caller's config stays
    device = dist.pick_device(cfg.train.device)
    validate_train(cfg, device)
    asked = cfg.train.amp
    cfg.train.auto_precision = asked == "auto" and cfg.train.channels_last is None
    cfg.train.amp, why = resolve_amp(asked, device)  # saved resolved
    cfg.train.channels_last = resolve_channels_last(cfg.train.channels_last, cfg.train.amp, device)
    ckpt = _load_resume(cfg, Path(run_dir), resume, checkpoint)
    return RunPlan(cfg, Path(run_dir), device, ckpt, f"--amp {asked}: {why}")


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
    ``run_plan(plan_run(cfg, run_dir, resume=resume), ...)``; see ``run_plan``."""
    plan = plan_run(cfg, run_dir, resume=resume)
    return run_plan(
        plan,
        dataset=dataset,
        sample_data=sample_data,
        progress=progress,
        on_event=on_event,
        command=command,
    )


def run_plan(
    plan: RunPlan,
    *,
    dataset: Dataset | None = None,
    sample_data: Dataset | None = None,
    progress: bool = False,
    on_event: EventHook | None = None,
    command: str | None = None,
) -> TrainResult:
    """Carry out ``plan``. ``dataset``/``sample_data`` default to the config's data
    path's train and valid splits; items are ``(uint8 (3,S,S), float (n_attrs,) in
    {0,1})``. ``on_event(event, step, trainer)`` is called at ``"after_d"`` (mid-step),
    ``"checkpoint"`` (after a checkpoint is written) and ``"step"`` (a step is
    complete). Under torchrun the process group is joined here (and left at the end
    if this call joined it). ``command``: the command line, appended to ``RUN/cmd.txt``.
    """
    joined = not torch.distributed.is_initialized()
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    if plan.config.train.deterministic:  # CPU runs resume bit-exactly without it; CUDA needs it
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
    dist.init(plan.device)
    try:
        data = dataset if dataset is not None else _build_dataset(plan.config, "train")
        run = _prepare(plan, data, sample_data=sample_data, progress=progress, command=command)
        if run.logger is None:  # a finished run: nothing to train
            return TrainResult(run.cfg, run.trainer, run.step, False, run.stream)
        try:
            with StopFlag() as flag:
                loop = _Loop(run, flag, on_event or _no_event)
                step = loop.run(run.step)
            run.logger.hparams(run.cfg)
        finally:
            run.logger.close()
        return TrainResult(run.cfg, run.trainer, step, flag.requested, run.stream)
    finally:
        torch.use_deterministic_algorithms(was_deterministic)
        if joined:
            dist.shutdown()


def _adam(model: torch.nn.Module, train_cfg: TrainConfig, device: torch.device):
    """Adam with the run's rate and betas; fused (one kernel per parameter tensor) on
    the CPU and CUDA, where torch's default runs several elementwise ops per tensor:
    an update of 29 M parameters took 17 ms instead of 152 ms on the 2-core CPU
    (docs/benchmarks.md; about 4% of AttGAN's 128 px step was the optimizer). A
    resumed run keeps what its checkpoint's optimizer used."""
    fused = True if device.type in ("cpu", "cuda") else None
    return torch.optim.Adam(
        model.parameters(), lr=train_cfg.lr, betas=(train_cfg.beta1, train_cfg.beta2), fused=fused
    )


def _load_resume(
    cfg: Config, run_dir: Path, resume: str | Path | None, ckpt: dict | None
) -> dict | None:
    existing = io.list_checkpoints(run_dir / io.CHECKPOINT_DIR)
    if resume is None:
        if existing:
            raise UserError(
                f"{run_dir} already holds checkpoints (up to step {existing[-1][0]}): "
                "continue that run with --resume latest, or choose another --out"
            )
        io.check_run_folder(run_dir, None)
        return None
    if ckpt is None or str(resume) == "latest":
        path = io.find_checkpoint(run_dir if str(resume) == "latest" else resume)
    else:  # the caller resolved and loaded it
        path = Path(resume)
    io.check_run_folder(run_dir, path)  # another run's folder is never written into
    ckpt = ckpt if ckpt is not None else io.load_checkpoint(path)
    saved = Config.from_dict(ckpt["config"], saved=True)
    io.check_resume_config(saved, cfg, path)
    if cfg.train.lr_decay_step is None:  # the run's drop stays where it was fixed
        cfg.train.lr_decay_step = decay_step(saved.train)
    return ckpt


def _build_dataset(cfg: Config, split: str) -> Dataset:
    if not cfg.data.path:
        raise UserError("no training data: pass --data DIR (a dataset folder or prepared cache)")
    from intergan.data import build_dataset

    model_cfg, data_cfg = cfg.model, cfg.data
    return build_dataset(
        data_cfg.path,
        model_cfg.attrs,
        split,
        model_cfg.img_size,
        data_cfg.format,
        hq_labels=data_cfg.hq_labels,
    )


def _sample_batch(cfg: Config, train_data: Dataset, sample_data: Dataset | None):
    if sample_data is None and cfg.data.path:
        try:
            sample_data = _build_dataset(cfg, "valid")
        except UserError:
            sample_data = None
    if sample_data is None or len(sample_data) == 0:  # type: ignore[arg-type]
        sample_data = train_data
    return fixed_batch(sample_data, cfg.train.sample_count)


def _balance(dataset: Dataset, floor: float) -> torch.Tensor:
    """``--balance FLOOR``: the sampling weight of each training image, from its labels."""
    from intergan.data.balance import balance_weights

    labels = getattr(dataset, "labels", None)
    if labels is None:
        raise UserError(
            f"--balance needs the labels of every image up front; a {type(dataset).__name__} "
            "has none: train from a dataset folder or a prepared cache, or leave out --balance"
        )
    return balance_weights(labels, floor=floor)


def _workers(cfg: Config, dataset: Dataset, world: int) -> int:
    if cfg.data.num_workers >= 0:
        return cfg.data.num_workers
    from intergan.data.loader import auto_workers

    n = auto_workers(dataset)  # decoding folders need many, a memory-mapped cache few
    return n if n == 0 else max(1, n // world)


@dataclass
class _Run:
    """What ``_prepare`` builds from a plan for the loop; ``logger`` is None when the
    resumed run is already complete."""

    cfg: Config
    run_dir: Path
    trainer: Trainer
    stream: BatchStream
    step: int
    logger: RunLogger | None
    samples: tuple | None


def _prepare(
    plan: RunPlan,
    dataset: Dataset,
    *,
    sample_data: Dataset | None,
    progress: bool,
    command: str | None,
) -> _Run:
    """The parts of a run: data stream, trainer (restored when resuming), logger, the
    fixed sample batch; writes config.json and cmd.txt."""
    cfg = copy.deepcopy(plan.config)  # `steps` may be resolved from `epochs` below
    run_dir, device, ckpt = plan.run_dir, plan.device, plan.checkpoint
    train_cfg, world = cfg.train, dist.world_size()
    stream = BatchStream(
        dataset,
        train_cfg.batch_size,
        train_cfg.seed,
        dist.rank(),
        world,
        _workers(cfg, dataset, world),
        device.type == "cuda",
        cfg.data.flip,
        _balance(dataset, cfg.data.balance) if cfg.data.balance > 0 else None,
    )
    if stream.batches_per_epoch < 1:
        raise UserError(
            f"the training data has {stream.n} images, fewer than one batch per process "
            f"(--batch-size {train_cfg.batch_size} x {world} process(es)); lower --batch-size"
        )
    if train_cfg.epochs > 0:
        train_cfg.steps = steps_for_epochs(train_cfg.epochs, stream.batches_per_epoch, train_cfg)
    # the lr drop is fixed now: saved with the run, kept by resumes
    train_cfg.lr_decay_step = decay_step(train_cfg)
    trainer = build_trainer(cfg, device)
    step = restore_checkpoint(trainer, ckpt, stream) if ckpt else 0
    main = dist.is_main()
    if ckpt and step >= train_cfg.steps:  # a finished run: say so, change nothing
        if main:
            print(complete_message(run_dir, step, train_cfg.steps), flush=True)
        return _Run(cfg, run_dir, trainer, stream, step, None, None)
    if main:
        run_dir.mkdir(parents=True, exist_ok=True)
        cfg.save(run_dir / "config.json")
        if command:
            with open(run_dir / "cmd.txt", "a") as f:
                f.write(command + "\n")
    samples = _sample_batch(cfg, dataset, sample_data) if main else None
    logger = RunLogger(run_dir if main else None, train_cfg.steps, step, progress)
    verb = f"resuming at step {step}" if ckpt else "training"
    logger.message(
        f"{verb}: {train_cfg.steps} steps, {world} process(es) on {device}, "
        f"{stream.n} images, {stream.batches_per_epoch} batches per epoch"
    )
    precision = {"none": "float32", "bf16": "bfloat16 autocast", "fp16": "float16 autocast"}
    layout = "channels-last" if train_cfg.channels_last else "NCHW"
    logger.message(f"precision: {precision[train_cfg.amp]} ({plan.precision_why}), {layout}")
    bn_note = dist.batch_norm_note(trainer.G, device, train_cfg.sync_bn)
    if bn_note:
        logger.message(bn_note)
    if stream.weights is not None:
        from intergan.data.balance import describe

        labels = dataset.labels  # type: ignore[attr-defined]
        logger.message(describe(labels, stream.weights, cfg.model.attrs))
    return _Run(cfg, run_dir, trainer, stream, step, logger, samples)


class _Loop:
    """The schedule: steps, then (at their intervals) logs, samples and checkpoints."""

    def __init__(self, run: _Run, flag: StopFlag, emit: EventHook) -> None:
        self.trainer, self.cfg, self.stream, self.run_dir = (
            run.trainer,
            run.cfg,
            run.stream,
            run.run_dir,
        )
        self.logger, self.samples, self.flag, self.emit = run.logger, run.samples, flag, emit
        self.images_per_batch = run.cfg.train.batch_size * dist.world_size()
        self.sums, self.count = dict.fromkeys(LOSS_NAMES, 0.0), 0

    def run(self, step: int) -> int:
        train_cfg = self.cfg.train
        self.logger.start_counting(self._images_before(step))
        while step < train_cfg.steps:
            logs = run_step(self.trainer, self.stream, step, self.emit)
            step += 1
            flag = torch.tensor([float(self.flag.requested)], device=self.trainer.device)
            vec = torch.cat([torch.stack([logs[k].float() for k in LOSS_NAMES]), flag])
            values = dist.mean_over_ranks(vec).tolist()  # one sync per step
            losses, stop = dict(zip(LOSS_NAMES, values[:-1])), values[-1] > 0
            if not all(math.isfinite(v) for v in losses.values()):
                raise NonFiniteLossError(self._nonfinite(step, losses))
            self._record(step, losses, force=stop)
            if dist.is_main() and (
                step == train_cfg.steps
                or (train_cfg.sample_every and step % train_cfg.sample_every == 0)
            ):
                self._write_samples(step)
            if step % train_cfg.checkpoint_every == 0 or step == train_cfg.steps or stop:
                self._save(step)
            self.emit("step", step, self.trainer)
            if stop:
                self.logger.message(
                    f"stopped by a signal after step {step}; checkpoint saved, "
                    "continue with --resume latest"
                )
                break
        return step

    def _images_before(self, step: int) -> int:
        return batches_before(self.cfg.train, step) * self.images_per_batch

    def _record(self, step: int, losses: dict[str, float], force: bool) -> None:
        for k, v in losses.items():
            self.sums[k] += v
        self.count += 1
        self.logger.advance()
        train_cfg = self.cfg.train
        if step % train_cfg.log_every and step != train_cfg.steps and not force:
            return
        values = {k: v / self.count for k, v in self.sums.items()}
        values["lr"] = lr_at(train_cfg, step - 1)
        values["img_per_s"] = self.logger.images_per_second(self._images_before(step))
        values["epoch"] = self.stream.epoch
        self.logger.stats(step, values)
        self.sums, self.count = dict.fromkeys(LOSS_NAMES, 0.0), 0

    def _write_samples(self, step: int) -> None:
        images, labels = self.samples
        G = self.trainer.G_ema if self.trainer.G_ema is not None else self.trainer.G
        model_cfg, train_cfg = self.cfg.model, self.cfg.train
        grid = sample_grid(
            G,
            images,
            labels,
            model_cfg.attrs,
            train_cfg.thres_int,
            train_cfg.test_int,
            self.trainer.device,
        )
        save_grid(self.run_dir / "samples" / f"step_{step:07d}.png", grid)
        self.logger.image("samples", grid, step)

    def _save(self, step: int) -> None:
        for name, module in (("G", self.trainer.G), ("D", self.trainer.D)):
            finite = torch.stack([p.detach().isfinite().all() for p in module.parameters()])
            if not bool(finite.all()):
                raise NonFiniteLossError(
                    f"non-finite weights in {name} after step {step}: not saved. "
                    + self._last_good()
                )
        ckpt = make_checkpoint(self.trainer, self.cfg, step, self.stream)  # collective
        if dist.is_main():
            path = io.save_checkpoint(ckpt, self.run_dir, self.cfg.train.keep_last)
            self.logger.message(f"checkpoint {path}")
        self.emit("checkpoint", step, self.trainer)

    def _last_good(self) -> str:
        try:
            last = io.find_checkpoint(self.run_dir)
        except UserError:
            return "No checkpoint was written before it."
        hint = " or without --amp fp16" if self.cfg.train.amp == "fp16" else ""
        return (
            f"The last good checkpoint is {last}; continue from it with --resume latest "
            f"and a lower --lr{hint}."
        )

    def _nonfinite(self, step: int, losses: dict[str, float]) -> str:
        bad = ", ".join(f"{k}={v}" for k, v in losses.items() if not math.isfinite(v))
        return f"non-finite loss at step {step} ({bad}); training stopped. " + self._last_good()
