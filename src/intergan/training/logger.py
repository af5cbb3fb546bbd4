"""What a run reports: ``log.txt``, ``stats.jsonl``, TensorBoard events (when the
``tensorboard`` package is installed: the scalars, the sample grids as images, and the
hyper-parameters with the final metrics at the end; ``intergan.tensorboard``) and a
tqdm progress bar with losses, images/s and the ETA. Only rank 0 creates a
``RunLogger`` that writes; other ranks get a silent one.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from intergan import tensorboard
from intergan.config import Config
from intergan.training.steps import BAR_LOSSES


class RunLogger:
    """Appends to ``RUN/log.txt`` and ``RUN/stats.jsonl``; drives the progress bar."""

    def __init__(self, run_dir: Path | None, total: int, start: int, progress: bool) -> None:
        self.run_dir = run_dir
        self.bar = tqdm(
            total=total,
            initial=start,
            disable=not (progress and run_dir),
            dynamic_ncols=True,
            unit="step",
            mininterval=1.0,
        )
        self.tb = tensorboard.open_writer(run_dir) if run_dir else None
        self._t0, self._last_t, self._last_images = time.perf_counter(), None, 0
        self.last: tuple[int, dict[str, float]] | None = None  # the latest stats record
        if run_dir and self.tb is None:
            self.message(
                "TensorBoard logging is off: the tensorboard package is not installed "
                "(pip install 'intergan[tensorboard]'); the same numbers go to stats.jsonl"
            )

    def message(self, text: str) -> None:
        """A line in ``log.txt`` and on the console (through tqdm, so the bar survives)."""
        if self.run_dir is None:
            return
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        with open(self.run_dir / "log.txt", "a") as f:
            f.write(f"[{stamp}] {text}\n")
        tqdm.write(text)

    def advance(self) -> None:
        self.bar.update(1)

    def images_per_second(self, images_seen: int) -> float:
        """Real images read per second (D and G batches, all ranks) since the last call."""
        now = time.perf_counter()
        last_t = self._last_t if self._last_t is not None else self._t0
        rate = (images_seen - self._last_images) / max(now - last_t, 1e-9)
        self._last_t, self._last_images = now, images_seen
        return rate

    def start_counting(self, images_seen: int) -> None:
        self._last_t, self._last_images = time.perf_counter(), images_seen

    def stats(self, step: int, values: dict[str, float]) -> None:
        """One record: a ``stats.jsonl`` line, TensorBoard scalars, a log line, the bar."""
        if self.run_dir is None:
            return
        self.last = (step, dict(values))
        record = {"step": step, "time": round(time.time(), 3), **values}
        with open(self.run_dir / "stats.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")
        if self.tb is not None:
            for k, v in values.items():
                self.tb.add_scalar(k, v, step)
        text = " ".join(f"{k}={v:.4g}" for k, v in values.items())
        self.message(f"step {step}/{self.bar.total} {text}")
        short = {k: f"{values[k]:.3g}" for k in BAR_LOSSES if k in values}
        self.bar.set_postfix(short | {"img/s": f"{values.get('img_per_s', 0):.1f}"})

    def image(self, tag: str, image: np.ndarray, step: int) -> None:
        """An (H, W, 3) uint8 image (a sample grid) in TensorBoard at ``step``."""
        tensorboard.add_image(self.tb, tag, image, step)

    def hparams(self, cfg: Config) -> None:
        """The run's configuration with its latest stats (the final losses) in
        TensorBoard's HParams tab."""
        if self.last is not None:
            step, values = self.last
            tensorboard.add_hparams(self.tb, tensorboard.flat(cfg.to_dict()), values, step)

    def close(self) -> None:
        self.bar.close()
        if self.tb is not None:
            self.tb.close()
