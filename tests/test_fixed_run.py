"""A fixed tiny run gives the recorded losses to the last digit.

Each case runs the real ``intergan train`` entry point (in a child process with one
thread, so the kernels' reduction order is fixed) on a SynthFaces set written by
``intergan synth``, 24 steps of the tiny preset with a fixed seed, and compares every
logged loss of every step with ``tests/fixed_run_losses.json`` by exact equality.
The record was written before the 2026-12-08 refactor of precision, config, loop and
generator (issue 37); a change meant to keep behaviour must keep these numbers.

Float results depend on the CPU's kernels and torch's version, so the comparison runs
only where the record was made (same CPU model and torch); elsewhere it is skipped.
Re-record (only for a change meant to alter training) with
``PYTHONPATH=src python tests/test_fixed_run.py``.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest
import torch

RECORD = Path(__file__).with_name("fixed_run_losses.json")
LOSSES = ("d_loss", "d_adv", "d_gp", "d_cls", "g_loss", "g_adv", "g_cls", "g_rec", "g_keep")
COMMON = [
    "--preset", "tiny", "--steps", "24", "--batch-size", "4", "--log-every", "1",
    "--seed", "0", "--sample-every", "0", "--checkpoint-every", "12", "--workers", "0",
    "--no-progress", "--n-d-warmup", "3", "--rec-warmup", "2",
]  # fmt: skip
# case -> (extra flags, INTERGAN_CPU_BF16): float32, and the automatic precision path
# (bf16 + channels-last where the CPU has native bf16; forced on so the path is taken)
CASES = {
    "intergan_float32": (["--amp", "none"], "0"),
    "intergan_auto": (["--amp", "auto"], "1"),
    "no_cti_float32": (["--amp", "none", "--variant", "no_cti"], "0"),
    "attgan_float32": (["--amp", "none", "--variant", "attgan"], "0"),
}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _intergan(args: list[str], env_extra: dict[str, str]) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **env_extra}
    code = "import sys; from intergan.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


def run_case(name: str, root: Path) -> list[dict[str, float]]:
    """Every step's losses of case ``name``, trained under ``root``."""
    data = root / "data"
    if not data.exists():
        _intergan(["synth", "--out", str(data), "--n", "40", "--size", "32", "--seed", "0",
                   "--workers", "1"], {})  # fmt: skip
    flags, bf16 = CASES[name]
    out = root / name
    _intergan(["train", "--data", str(data), "--out", str(out), *COMMON, *flags],
              {"INTERGAN_CPU_BF16": bf16})  # fmt: skip
    records = [json.loads(line) for line in (out / "stats.jsonl").read_text().splitlines()]
    return [{"step": r["step"], **{k: r[k] for k in LOSSES}} for r in records]


def _recorded() -> dict:
    record = json.loads(RECORD.read_text())
    if record["cpu"] != cpu_model() or record["torch"] != torch.__version__:
        pytest.skip(f"losses recorded on {record['cpu']} with torch {record['torch']}")
    return record


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_fixed_tiny_run_gives_the_recorded_losses(tmp_path, name):
    record = _recorded()
    got = run_case(name, tmp_path)
    assert len(got) == 24
    assert got == record["cases"][name]  # exact: every digit of every loss


if __name__ == "__main__":  # re-record
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        cases = {name: run_case(name, Path(tmp)) for name in sorted(CASES)}
    RECORD.write_text(
        json.dumps({"cpu": cpu_model(), "torch": torch.__version__, "cases": cases}, indent=1)
        + "\n"
    )
    print(f"wrote {RECORD}")
