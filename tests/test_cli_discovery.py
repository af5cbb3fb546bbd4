"""What a user finds from the command line: ``intergan models``, the attributes under
``edit --help``, a subcommand's own usage for an unknown option, ``--threads`` on every
command that computes, and the stages of a long export."""

from __future__ import annotations

import argparse
import os
import shutil

import pytest
import torch

from app_helpers import export_tiny
from intergan import hardware
from intergan.cli import COMMANDS, NO_THREADS, build_parser, main
from intergan.models import pretrained

COMMANDS_WITH_THREADS = sorted(set(COMMANDS) - NO_THREADS)


def _leaf_parsers(parser: argparse.ArgumentParser, path=()):
    """(command words, parser) of every leaf (sub)command under ``parser``."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
    for action in subs:
        for name, child in action.choices.items():
            yield from _leaf_parsers(child, (*path, name))


@pytest.mark.parametrize("command", COMMANDS_WITH_THREADS)
def test_every_computing_command_takes_threads(command):
    parser = build_parser(command)
    leaves = [(p, sub) for p, sub in _leaf_parsers(parser) if p[0] == command]
    assert leaves
    for path, sub in leaves:
        options = {s for a in sub._actions for s in a.option_strings}
        assert "--threads" in options, " ".join(path)


@pytest.fixture
def restore_threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)
    hardware._threads = None


def test_threads_sets_torch_threads_before_the_command_runs(restore_threads, capsys):
    torch.set_num_threads(2)
    assert main(["model", "--preset", "tiny", "--variant", "attgan", "--threads", "1"]) == 0
    assert torch.get_num_threads() == 1
    opts = hardware.ort_session_options()  # ONNX sessions without their own count follow it
    assert opts.intra_op_num_threads == 1
    with pytest.raises(SystemExit):
        main(["model", "--threads", "0"])
    assert "expected an integer from 1" in capsys.readouterr().err


def test_default_threads_leave_the_busy_cores_alone(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setattr(hardware, "_threads_per_core", lambda: 1)
    for load, expected in ((0.2, 4), (1.1, 3), (3.0, 1), (9.0, 1)):
        monkeypatch.setattr(os, "getloadavg", lambda load=load: (load, load, load))
        assert hardware.default_threads()[0] == expected, load
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")  # torchrun: two processes share the cores
    assert hardware.default_threads()[0] == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the user's choice stands
    assert hardware.default_threads() == (torch.get_num_threads(), "OMP_NUM_THREADS")


def test_an_unknown_option_prints_the_subcommands_usage(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["edit", "a.jpg", "--model", "m", "--out", "o", "--colour", "red"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert err.startswith("usage: intergan edit ") and "--set ATTR=VALUE" in err
    assert "unrecognized arguments: --colour red" in err
    with pytest.raises(SystemExit):
        main(["bench", "ablation", "--colour"])
    assert capsys.readouterr().err.startswith("usage: intergan bench ablation ")


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty model folder and Hub cache, and the current folder in tmp_path."""
    monkeypatch.setenv("INTERGAN_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    return pretrained.models_home()


def test_edit_help_lists_the_attributes_of_the_chosen_or_bundled_model(home, capsys):
    export_tiny(home / "two", attrs=["Male", "Young"])
    with pytest.raises(SystemExit):
        main(["edit", "--model", "two", "--help"])
    out = capsys.readouterr().out
    assert "attributes of two (--set ATTR=VALUE, --slide ATTR):\n  Male, Young\n" in out
    assert "models by name: synthfaces-64, two;" in out
    with pytest.raises(SystemExit):
        main(["edit", "--help"])
    out = capsys.readouterr().out
    assert "attributes of synthfaces-64" in out and "Mouth_Slightly_Open" in out


def test_models_lists_bundled_imports_and_hub_cache_with_attributes(
    home, tmp_path, capsys, monkeypatch
):
    pytest.importorskip("huggingface_hub")
    from huggingface_hub import constants

    export_tiny(home / "mine", attrs=["Bald", "Smiling"])
    hub_cache = tmp_path / "hf"
    snap = hub_cache / "models--org--tiny" / "snapshots" / ("0" * 40)
    export_tiny(snap, attrs=["Eyeglasses"])
    (snap.parent.parent / "refs").mkdir()
    (snap.parent.parent / "refs" / "main").write_text("0" * 40)
    shutil.copytree(snap, hub_cache / "models--org--other" / "snapshots" / ("1" * 40))
    (hub_cache / "models--org--other" / "snapshots" / ("1" * 40) / "config.json").unlink()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub_cache))  # as HF_HUB_CACHE=... does
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "synthfaces-64 (bundled, " in out and "13 attributes: Bald, Bangs," in out
    assert "mine (import, " in out and "2 attributes: Bald, Smiling" in out
    assert "org/tiny (hub cache, " in out and "1 attributes: Eyeglasses" in out
    assert "org/other" not in out  # not an intergan export


def test_export_reports_its_stages_with_times_on_stderr(home, tmp_path, capsys):
    src = export_tiny(tmp_path / "src")
    assert main(["export", str(src), "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert f"loading {src} ...\n" in err
    assert "writing the weights, config.json and README.md: done in " in err
