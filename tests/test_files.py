"""``intergan.files``: the one atomic write, the whole-folder swap, and the rule that
turns any I/O fault into one ``error:`` line."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import pytest

from intergan import cli
from intergan.errors import UserError
from intergan.files import atomic_write, output_folder, remove_stale_temps


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "a.json"
    path.write_text("old")

    def fill(f):
        f.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(UserError, match=rf"cannot write {path}: No space left.*disk is full"):
        atomic_write(path, fill)
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["a.json"]


def test_a_failed_folder_output_leaves_the_old_one_and_no_new_parents(tmp_path):
    out = tmp_path / "a" / "b" / "out"
    with pytest.raises(RuntimeError), output_folder(out) as tmp:
        (tmp / "x").write_text("new")
        raise RuntimeError("the work failed")
    assert os.listdir(tmp_path) == []
    out.mkdir(parents=True)
    (out / "old").write_text("old")
    with output_folder(out, overwrite=True) as tmp:
        (tmp / "new").write_text("new")
    assert os.listdir(out) == ["new"] and sorted(os.listdir(out.parent)) == ["out"]


def test_only_temporaries_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    mine = tmp_path / f".step_1.pt.tmp{os.getpid()}"
    gone = tmp_path / f".step_1.pt.tmp{dead.pid}"
    folder = tmp_path / f".cache.tmp-{dead.pid}"
    other = tmp_path / "step_1.pt"
    for p in (mine, gone, other):
        p.write_text("x")
    folder.mkdir()
    assert sorted(remove_stale_temps(tmp_path)) == sorted([gone, folder])
    assert sorted(os.listdir(tmp_path)) == sorted([mine.name, other.name])


def test_the_cli_turns_any_io_fault_into_one_line(monkeypatch, capsys):
    from intergan import model_cli

    def full(args):
        try:
            raise OSError(errno.EFBIG, "File too large")
        except OSError:  # as torch.save reports a failed write
            raise RuntimeError("[enforce fail at inline_container.cc] unexpected pos") from None

    monkeypatch.setattr(model_cli, "run", full)
    assert cli.main(["model"]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("error: I/O error: File too large; the disk is full")
        and err.count("\n") == 1
    )

    def denied(args):
        raise PermissionError(errno.EACCES, "Permission denied", "/srv/out/x.png")

    monkeypatch.setattr(model_cli, "run", denied)
    assert cli.main(["model"]) == 2
    assert "error: /srv/out/x.png: Permission denied; choose a folder you can write to" in (
        capsys.readouterr().err
    )

    def bug(args):
        raise KeyError("a bug keeps its traceback")

    monkeypatch.setattr(model_cli, "run", bug)
    with pytest.raises(KeyError):
        cli.main(["model"])
