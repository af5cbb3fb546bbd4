"""A run folder belongs to its run: ``intergan train`` writes into a folder only when it
is new or empty, or holds the run being continued (the resumed checkpoint lies in its
``checkpoints/``). Another run's checkpoint resumed there, or a new run started in a
folder of other files (an export, a user's notes), is one ``error:`` line before
anything is written or deleted (issue 35, item 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app_helpers import export_tiny
from data_fixtures import make_synth_export
from fault_helpers import error_line
from intergan.cli import main
from intergan.models import io

TINY = ("--preset", "tiny", "--size", "32", "--batch-size", "2", "--n-d", "1", "--no-progress")


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data") / "synth"
    make_synth_export(root, n=12, size=32)
    return root


def _train(data: Path, out: Path, *extra: str) -> int:
    return main(["train", "--data", str(data), "--out", str(out), *TINY, "--workers", "0",
                 "--checkpoint-every", "2", "--keep-last", "1", *extra])  # fmt: skip


def test_resuming_another_runs_checkpoint_into_a_run_folder_changes_nothing(data, tmp_path, capsys):
    mix, other = tmp_path / "runs" / "mix", tmp_path / "runs" / "other"
    assert _train(data, mix, "--steps", "2") == 0
    assert _train(data, other, "--steps", "2", "--seed", "1") == 0
    before = snapshot(mix)
    theirs = other / "checkpoints" / "step_0000002.pt"
    capsys.readouterr()
    # Before: exit 0, mix's config.json rewritten and --keep-last 1 deleted its checkpoint.
    assert _train(data, mix, "--resume", str(theirs), "--steps", "4") == 2
    line = error_line(capsys.readouterr().err)
    assert f"--out {mix} holds another run (checkpoints up to step 2)" in line
    assert "new or empty --out" in line and "--resume latest" in line
    assert snapshot(mix) == before
    # the same checkpoint into a new folder: a copy of that run goes on there
    assert _train(data, tmp_path / "runs" / "fork", "--resume", str(theirs), "--steps", "4") == 0
    assert io.checkpoint_step(io.find_checkpoint(tmp_path / "runs" / "fork")) == 4
    # mix's own checkpoint, named by its path, continues mix
    ours = mix / "checkpoints" / "step_0000002.pt"
    assert _train(data, mix, "--resume", str(ours), "--steps", "4") == 0
    assert io.checkpoint_step(io.find_checkpoint(mix)) == 4


def test_a_run_never_starts_in_a_folder_of_other_files(data, tmp_path, capsys):
    export = export_tiny(tmp_path / "export")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "thesis.tex").write_text("precious")
    for folder in (export, notes):
        before = snapshot(folder)
        # Before: config.json (an export's own) written over, samples and logs added.
        assert _train(data, folder, "--steps", "2") == 2
        line = error_line(capsys.readouterr().err)
        assert f"--out {folder} holds files a training run does not write" in line
        assert snapshot(folder) == before
    # ... nor is another run's checkpoint resumed into one
    run = tmp_path / "run"
    assert _train(data, run, "--steps", "2") == 0
    ckpt = io.find_checkpoint(run)
    assert _train(data, notes, "--resume", str(ckpt), "--steps", "4") == 2
    assert "holds files a training run does not write" in error_line(capsys.readouterr().err)
    assert (notes / "thesis.tex").read_text() == "precious" and len(list(notes.iterdir())) == 1
