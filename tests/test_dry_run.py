"""``intergan train --dry-run``: the resolved configuration, each value with where it
came from, printed without writing anything (a new run, and a resume)."""

from __future__ import annotations

from pathlib import Path

import pytest

from data_fixtures import make_synth_export
from intergan.cli import main
from intergan.config import Config


def _files(root: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for p in root.rglob("*")}


def _listing(capsys) -> dict[str, tuple[str, str]]:
    """``{section.field: (value as JSON, origin)}`` from the printed listing."""
    out = {}
    for line in capsys.readouterr().out.splitlines():
        head, _, origin = line.partition(" # ")
        key, value = head.split(maxsplit=1)
        out[key] = (value.strip(), origin)
    return out


@pytest.fixture
def data(tmp_path):
    make_synth_export(tmp_path / "data", n=8)
    return tmp_path / "data"


TRAIN = ["--preset", "tiny", "--batch-size", "2", "--n-d", "1", "--workers", "0"]


def test_dry_run_prints_every_value_and_its_source_and_writes_nothing(tmp_path, data, capsys):
    before = _files(tmp_path)
    out = tmp_path / "run"
    args = ["train", "--data", str(data), "--out", str(out), *TRAIN, "--epochs", "2"]
    assert main([*args, "--set", "train.lambda_rec=50", "--amp", "none", "--dry-run"]) == 0
    listing = _listing(capsys)
    assert _files(tmp_path) == before and not out.exists()
    assert listing["model.enc_dim"] == ("4", "--preset tiny")
    assert listing["model.variant"] == ('"intergan"', "default")
    assert listing["train.lambda_rec"] == ("50.0", "--set")
    assert listing["train.amp"] == ('"none"', "--amp")
    assert listing["train.lr"] == ("0.0002", "default")
    assert listing["data.path"][1] == "--data"
    # derived once by the plan: 2 epochs of 3 batches at 2 batches a step, the lr drop
    assert listing["train.steps"] == ("3", "planned from 10000")
    assert listing["train.lr_decay_step"] == ("2", "planned from null")
    assert listing["model.bottleneck"][0] == "8"  # saved resolved, as config.json holds it
    fields = {f"{s}.{k}" for s, values in Config().to_dict().items() for k in values}
    assert listing.keys() == fields  # every value, none left out


def test_dry_run_of_a_resume_names_the_checkpoint_and_writes_nothing(tmp_path, data, capsys):
    out = tmp_path / "run"
    base = ["train", "--data", str(data), "--out", str(out), *TRAIN, "--no-progress"]
    assert main([*base, "--steps", "2", "--checkpoint-every", "2", "--sample-every", "0"]) == 0
    capsys.readouterr()
    before = _files(tmp_path)
    resume = ["train", "--out", str(out), "--resume", "latest", "--steps", "6", "--dry-run"]
    assert main(resume) == 0
    listing = _listing(capsys)
    assert _files(tmp_path) == before
    assert listing["train.steps"] == ("6", "--steps")
    assert listing["model.enc_dim"] == ("4", "the checkpoint")
    assert listing["train.lr_decay_step"] == ("1", "the checkpoint")  # kept by a resume
