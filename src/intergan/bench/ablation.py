"""The paper's ablation: InterGAN vs w/o CTI vs w/o HFCM vs AttGAN, same data, steps, seeds, judge.

``run_ablation(opts)`` trains every variant through the real training entry point
(``intergan.training.train``) with one shared config that differs only in
``model.variant``, trains (or reuses) one judge, evaluates every variant with it,
and writes ``results.md`` plus ``images/ablation.png`` into ``--docs`` (default: the
ablation's own ``--out`` folder; never the project's ``docs/`` unless asked).

It is resumable: a variant whose latest checkpoint has reached ``--steps`` is not
trained again, one whose ``eval_test/metrics.json`` matches that step is not
evaluated again, and an unfinished run resumes from its latest checkpoint. With
``--time-budget MINUTES`` the current training checkpoints and stops once the
budget is spent (through the training loop's own SIGTERM handling), so the same
command can be run again and again in short windows until it completes.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intergan.attributes import resolve_attrs
from intergan.config import (
    PRESET_SIZES,
    PRESETS,
    VARIANTS,
    Config,
    DataConfig,
    TrainConfig,
    apply_overrides,
    model_config,
    validate_train,
)
from intergan.errors import UserError
from intergan.evaluation.common import open_dataset, resolve_device
from intergan.files import write_json

EVAL_DIR = "eval_test"
STATE_FILE = "ablation.json"


@dataclass
class AblationOptions:
    """Everything that defines one ablation; the same for every variant."""

    data: str
    steps: int
    variants: list[str] = field(default_factory=lambda: ["intergan", "no_cti", "no_hfcm", "attgan"])
    preset: str = "small"
    size: int | None = None  # None = the preset's size
    attrs: str | None = None  # None = the 13 default attributes
    batch_size: int | None = None  # None = TrainConfig's default
    seed: int = 0
    # --set SECTION.FIELD=VALUE items applied to every variant's config (the recipe:
    # n_d schedule, lr drop, EMA, ...); model.variant is what the ablation varies
    overrides: list[str] = field(default_factory=list)
    judge: str | None = None  # an existing judge folder; None = train one into OUT/judge
    judge_steps: int = 2000
    eval_n: int | None = None  # first N test images; None = all
    figure_n: int = 3  # input images in the picture
    out: str = "runs/ablation"
    docs: str | None = None  # where results.md and images/ go; None = ``out``
    device: str = "auto"
    time_budget: float | None = None  # minutes for this invocation; None = no limit
    progress: bool = True
    command: str = ""  # the command line, recorded in results.md

    def __post_init__(self) -> None:
        if self.docs is None:
            self.docs = self.out

    @property
    def img_size(self) -> int:
        return self.size or PRESET_SIZES[self.preset]

    def validate(self) -> None:
        if self.steps < 1:
            raise UserError(f"--steps must be at least 1, got {self.steps}")
        if self.preset not in PRESETS:
            raise UserError(f"--preset {self.preset!r} is not one of {', '.join(PRESETS)}")
        bad = [v for v in self.variants if v not in VARIANTS]
        if bad or not self.variants:
            raise UserError(
                f"--variants {','.join(self.variants)}: choose from {', '.join(VARIANTS)}"
            )
        if len(set(self.variants)) != len(self.variants):
            raise UserError("--variants names a variant twice")
        if not Path(self.data).exists():
            raise UserError(f"--data {self.data}: no such dataset folder or cache")
        fixed = ("model.variant", "train.steps", "train.epochs", "train.seed", "data.path")
        for item in self.overrides:
            key = item.partition("=")[0].strip()
            if key in fixed:
                raise UserError(
                    f"--set {item!r}: the ablation sets {key} itself "
                    "(use --variants, --steps, --seed or --data)"
                )
        if (
            self.judge_steps < 1
            or self.figure_n < 1
            or (self.eval_n is not None and self.eval_n < 1)
        ):
            raise UserError("--judge-steps, --figure-n and --eval-n must be positive")
        if self.time_budget is not None and not 0 <= self.time_budget < float("inf"):
            raise UserError(f"--time-budget {self.time_budget}: use minutes >= 0")
        for v in self.variants:
            self.config(v)  # raises on an impossible size, preset or attribute list

    def config(self, variant: str) -> Config:
        """The run config of ``variant``: identical for all variants but ``model.variant``."""
        train = TrainConfig(steps=self.steps, seed=self.seed, device=self.device)
        if self.batch_size is not None:
            train.batch_size = self.batch_size
        model = model_config(self.preset, variant, img_size=self.img_size, attrs=self.attrs)
        cfg = Config(model=model, data=DataConfig(path=str(self.data)), train=train)
        apply_overrides(cfg, self.overrides)
        return cfg


class _State:
    """``OUT/ablation.json``: seconds spent per variant, accumulated over invocations."""

    def __init__(self, out: Path) -> None:
        self.path = out / STATE_FILE
        self.data: dict[str, Any] = {"variants": {}}
        if self.path.is_file():
            self.data = json.loads(self.path.read_text())

    def check_options(self, opts: AblationOptions) -> None:
        """Record what defines the runs; refuse to continue them under different options
        (a longer --steps is allowed: every variant resumes to it). Other ``--set`` items
        are allowed when the runs' saved configs already say what they set (a run begun
        before a default changed goes on with that default written out)."""
        now = {
            "preset": opts.preset, "size": opts.img_size,
            "attrs": opts.attrs, "batch_size": opts.batch_size, "seed": opts.seed,
            "overrides": list(opts.overrides), "data": str(opts.data),
        }  # fmt: skip
        before = self.data.setdefault("options", now)
        changed = [k for k in now if before.get(k) != now[k]]
        otherwise = _trained_otherwise(opts) if changed == ["overrides"] else []
        if changed == ["overrides"] and not otherwise:
            # other --set items that spell out what the runs were trained with (a
            # default that changed since, written out): the runs go on; keep the new ones
            before["overrides"] = list(opts.overrides)
            changed = []
        if changed:
            was = ", ".join(f"{k} {before.get(k)!r}" for k in changed)
            detail = "".join(f"\n  {line}" for line in otherwise)
            raise UserError(
                f"{self.path.parent} holds an ablation run with {was}{detail}\npass the same "
                "options (or --set items that give the runs' own config) to continue it, "
                "or a new --out to start another"
            )

    def add_seconds(self, variant: str, key: str, seconds: float, replace: bool = False) -> None:
        """Add to ``key`` (training resumes over invocations), or with ``replace`` set it
        (an evaluation done again replaces the earlier one)."""
        entry = self.data["variants"].setdefault(variant, {})
        entry[key] = round((0.0 if replace else entry.get(key, 0.0)) + seconds, 1)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_json(self.path, self.data)


# TrainConfig fields that say how a run executes, not what it learns (or that the run
# resolves and saves itself: the lr drop's step, the precision, the memory format)
_RUNTIME_FIELDS = {
    "steps", "epochs", "lr_decay_step", "device", "amp", "channels_last", "auto_precision",
    "compile", "deterministic", "log_every", "sample_every", "sample_count",
    "checkpoint_every", "keep_last",
}  # fmt: skip


def _trained_otherwise(opts: AblationOptions) -> list[str]:
    """What differs between ``opts`` and the configs the variants' runs were trained
    with (``RUN/config.json``), as ``variant: section.field: checkpoint X, now Y`` lines."""
    from intergan.models import io

    lines = []
    for variant in opts.variants:
        saved_path = Path(opts.out) / variant / "config.json"
        if not saved_path.is_file():
            continue
        saved, now = Config.load(saved_path, saved=True), opts.config(variant)
        diffs = io.config_differences(saved, now, "model")
        diffs += io.config_differences(saved, now, "train", skip=_RUNTIME_FIELDS)
        lines += [f"{variant}: {d}" for d in diffs]
    return lines


class _Budget:
    """Asks the training loop to checkpoint and stop once ``minutes`` have passed.

    The first training of an invocation always starts (and so makes progress:
    the loop stops at the end of the step after the request); later ones start
    only while time is left.
    """

    def __init__(self, minutes: float | None) -> None:
        self.deadline = None if minutes is None else time.time() + 60 * minutes
        self.fired = False
        self.trained = False  # has this invocation started a training yet?

    @property
    def spent(self) -> bool:
        return self.deadline is not None and time.time() >= self.deadline

    def on_event(self, event: str, step: int, trainer: Any) -> None:
        if event == "step" and self.spent and not self.fired:
            self.fired = True
            # The loop's StopFlag turns SIGTERM into "checkpoint, then stop"; it only
            # installs its handler in the main thread, elsewhere the run goes on.
            if threading.current_thread() is threading.main_thread():
                signal.raise_signal(signal.SIGTERM)


def latest_step(run_dir: Path) -> int:
    """Step of the newest checkpoint in ``run_dir`` (0 when none)."""
    from intergan.models import io

    found = io.list_checkpoints(run_dir / io.CHECKPOINT_DIR)
    return found[-1][0] if found else 0


def train_variant(opts: AblationOptions, variant: str, state: _State, budget: _Budget) -> bool:
    """Train (or resume) one variant up to ``opts.steps``; True when it got there."""
    from intergan.training import train

    run_dir = Path(opts.out) / variant
    done = latest_step(run_dir)
    if done >= opts.steps:
        return True
    if budget.spent and budget.trained:
        return False
    print(f"[ablation] {variant}: training from step {done} to {opts.steps}", flush=True)
    budget.trained = True
    start = time.time()
    result = train(
        opts.config(variant),
        run_dir,
        resume="latest" if done else None,
        progress=opts.progress,
        on_event=budget.on_event,
        command=opts.command or None,
    )
    state.add_seconds(variant, "train_seconds", time.time() - start)
    state.save()
    return result.step >= opts.steps


def get_judge(opts: AblationOptions, device):
    """The shared judge: ``--judge``, else OUT/judge if present, else trained there now."""
    from intergan.evaluation.judge import accuracy_table, evaluate_judge, train_judge
    from intergan.models.judge import META_FILE, load_judge

    folder = Path(opts.judge) if opts.judge else Path(opts.out) / "judge"
    if opts.judge or (folder / META_FILE).is_file():
        return load_judge(folder, device), folder
    attrs = resolve_attrs(opts.attrs)
    print(f"[ablation] training the judge ({opts.judge_steps} steps) into {folder}", flush=True)
    start = time.time()
    train_set = open_dataset(opts.data, attrs, "train", opts.img_size, flip=True)
    judge = train_judge(
        train_set, attrs, opts.img_size, steps=opts.judge_steps, seed=opts.seed,
        device=device, progress=opts.progress,
    )  # fmt: skip
    judge.info["train"].update(data=str(opts.data), seconds=round(time.time() - start, 1))
    result = evaluate_judge(judge, open_dataset(opts.data, attrs, "test", opts.img_size))
    judge.info["accuracy"] = {"split": "test", **result}
    print(accuracy_table(result), flush=True)
    judge.save(folder)
    return judge, folder


def _report_is_current(opts: AblationOptions, variant: str, judge_dir: Path) -> bool:
    """True when the variant's report is for its latest step, judge and --eval-n, with
    standard errors."""
    run_dir = Path(opts.out) / variant
    report = run_dir / EVAL_DIR / "metrics.json"
    if not report.is_file():
        return False
    old = json.loads(report.read_text())
    src, settings = old.get("source", {}), old.get("settings", {})
    return (
        src.get("step") == latest_step(run_dir)
        and src.get("judge") == str(judge_dir)
        and settings.get("n") == opts.eval_n
        and "standard_errors" in old  # reports from before they were recorded: evaluate again
    )


def evaluate_variant(opts: AblationOptions, variant: str, judge, judge_dir, device, state):
    """Evaluate the latest checkpoint of ``variant`` (reusing a report for the same step)."""
    from intergan.evaluation.evaluate import EvalSettings, evaluate_generator
    from intergan.evaluation.ground_truth import open_ground_truth
    from intergan.evaluation.report import write_report
    from intergan.models.io import load_generator

    run_dir = Path(opts.out) / variant
    step = latest_step(run_dir)
    report = run_dir / EVAL_DIR / "metrics.json"
    if _report_is_current(opts, variant, judge_dir):
        return json.loads(report.read_text())
    print(f"[ablation] {variant}: evaluating step {step}", flush=True)
    G, cfg = load_generator(run_dir, device=device)
    m = cfg.model
    dataset = open_dataset(opts.data, m.attrs, "test", m.img_size)
    gt, note = open_ground_truth(opts.data, "test", m.attrs, m.img_size, dataset)
    settings = EvalSettings(n=opts.eval_n, seed=opts.seed, progress=opts.progress)
    result = evaluate_generator(G, cfg, dataset, judge, settings, device, gt)
    result["source"] = {
        "model": str(run_dir), "variant": variant, "step": step, "data": str(opts.data),
        "split": "test", "judge": str(judge_dir), "ground_truth_note": note,
    }  # fmt: skip
    write_report(result, run_dir / EVAL_DIR)
    state.add_seconds(variant, "eval_seconds", result["seconds"], replace=True)
    state.save()
    return json.loads(report.read_text())  # the JSON form (inf/nan as null), as when reused


def check_out(out: Path) -> None:
    """``--out`` is new, empty, or an earlier ablation's (it holds ``ablation.json``):
    the runs, judge and tables written there would replace a stranger's files."""
    if out.is_dir() and any(out.iterdir()) and not (out / STATE_FILE).is_file():
        raise UserError(
            f"--out {out} holds other files and is not an earlier ablation's folder (no "
            f"{STATE_FILE}); choose a new or empty --out"
        )


def run_ablation(opts: AblationOptions) -> bool:
    """Run (or continue) the ablation; True when every variant is trained and evaluated."""
    from intergan.bench.results import check_docs, write_figure, write_results

    opts.validate()
    check_out(Path(opts.out))
    check_docs(opts)  # now, not after the training
    device = resolve_device(opts.device)
    for variant in opts.variants:  # every config check now, not after the judge's training
        validate_train(opts.config(variant), device)
    budget = _Budget(opts.time_budget)
    state = _State(Path(opts.out))
    state.check_options(opts)
    state.save()
    judge, judge_dir = get_judge(opts, device)
    results = {}
    for variant in opts.variants:
        trained = train_variant(opts, variant, state, budget)
        if not trained or (budget.spent and not _report_is_current(opts, variant, judge_dir)):
            print(
                f"[ablation] stopped during {variant} (time budget or signal); run the same "
                "command again to continue from the latest checkpoint",
                flush=True,
            )
            return False
        results[variant] = evaluate_variant(opts, variant, judge, judge_dir, device, state)
    figure = write_figure(opts, device)
    path = write_results(opts, results, state.data, judge, judge_dir, figure, device)
    print(f"[ablation] wrote {path} and {figure}", flush=True)
    return True
