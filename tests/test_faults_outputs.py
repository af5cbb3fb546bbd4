"""What commands write, against hostile output paths: an input's own folder, an
existing folder, the run being exported, a path under a regular file, a read-only
folder, a full disk. Nothing a user had is lost, a failed command leaves nothing
half-made behind, and each fault is one ``error:`` line with exit 2."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from app_helpers import export_tiny
from data_fixtures import make_synth_export
from fault_helpers import error_line, intergan_cli, read_only_folder, temp_leftovers
from intergan.cli import main
from intergan.config import Config, model_config
from intergan.models import build_generator
from intergan.models.io import load_checkpoint, load_generator, save_checkpoint
from intergan.models.judge import JudgeArch, build_judge

SOURCE = ("--source-attrs", "Male=1,Young=1")
EDIT = ("--set", "Young=1", "--no-align", *SOURCE)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run folder with one checkpoint of a tiny random generator."""
    torch.manual_seed(1)
    cfg = Config(model=model_config("tiny"))
    run = tmp_path_factory.mktemp("run")
    cfg.save(run / "config.json")
    save_checkpoint(
        {"step": 7, "config": cfg.to_dict(), "G": build_generator(cfg.model).state_dict()}, run
    )
    return run


@pytest.fixture(scope="module")
def judges(tmp_path_factory):
    root = tmp_path_factory.mktemp("judges")
    build_judge(list(Config().model.attrs), 32, JudgeArch(width=4)).save(root / "good")
    build_judge(["Male", "Young"], 32, JudgeArch(width=4)).save(root / "other")
    return root


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return export_tiny(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data") / "synth"
    make_synth_export(root, n=12, size=32)
    return root


def photo(path, side: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(path)
    return path


def listing(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# --- edit ------------------------------------------------------------------------------
def test_edit_into_the_photos_own_folder_never_overwrites_an_input(model, tmp_path, capsys):
    # Before: the output kept the input's name, so `--out .` replaced the photo.
    a, taken = photo(tmp_path / "a.png"), photo(tmp_path / "a_edited.png", seed=1)
    before = {p: p.read_bytes() for p in (a, taken)}
    assert (
        main(["edit", str(a), str(taken), "--model", str(model), "--out", str(tmp_path), *EDIT])
        == 0
    )
    assert all(p.read_bytes() == b for p, b in before.items())
    out = capsys.readouterr().out
    for src, dst in [(a, "a_edited-2.png"), (taken, "a_edited_edited.png")]:
        assert (tmp_path / dst).is_file()
        assert f"{src} -> {tmp_path / dst}" in out  # each output is named


def test_photos_of_the_same_name_get_outputs_of_their_own(model, tmp_path):
    for d in ("x", "y"):
        (tmp_path / d).mkdir()
        photo(tmp_path / d / "me.jpg", seed=ord(d))
    out = tmp_path / "out"
    args = [
        "edit",
        str(tmp_path / "x"),
        str(tmp_path / "y"),
        "--model",
        str(model),
        "--out",
        str(out),
    ]
    assert main([*args, *EDIT]) == 0
    assert listing(out) == ["me_edited-2.jpg", "me_edited.jpg"]


def test_a_folder_edit_skips_unreadable_and_too_large_photos_then_fails(model, tmp_path, capsys):
    # Before: the unreadable file stopped the run part-way, with exit 2.
    d = tmp_path / "in"
    d.mkdir()
    photo(d / "a.png")
    photo(d / "big.png", side=80)
    (d / "junk.png").write_text("not a picture")
    photo(d / "z.png", seed=2)
    out = tmp_path / "out"
    argv = ["edit", str(d), "--model", str(model), "--out", str(out), "--max-pixels", "2000"]
    assert main([*argv, *EDIT]) == 1
    assert listing(out) == ["a_edited.png", "z_edited.png"]
    err = capsys.readouterr().err
    assert f"skipped {d / 'big.png'}" in err and "above the limit of 2,000" in err
    assert f"skipped {d / 'junk.png'}" in err and "not an image" in err


def test_edit_on_a_full_disk_stops_with_one_line_and_no_empty_out(model, tmp_path):
    a = photo(tmp_path / "a.png")
    before = a.read_bytes()
    out = tmp_path / "out"
    res = intergan_cli("edit", a, "--model", model, "--out", out, *EDIT, fsize=300)
    assert res.returncode == 2, res.stderr[-3000:]
    line = error_line(res.stderr)
    assert str(out / "a_edited.png") in line and "disk is full" in line
    assert a.read_bytes() == before and not out.exists()


# --- export ----------------------------------------------------------------------------
def test_export_refuses_an_existing_folder_and_overwrite_replaces_it_whole(
    run_dir, judges, tmp_path, capsys
):
    out = tmp_path / "exp"
    assert main(["export", str(run_dir), "--out", str(out), "--judge", str(judges / "good")]) == 0
    assert listing(out) == [
        "README.md",
        "config.json",
        "generator.safetensors",
        "judge.json",
        "judge.safetensors",
    ]
    capsys.readouterr()
    # Before: written over without asking, the old judge kept and listed as exported.
    assert main(["export", str(run_dir), "--out", str(out)]) == 2
    assert "--overwrite" in error_line(capsys.readouterr().err)
    assert len(listing(out)) == 5
    assert main(["export", str(run_dir), "--out", str(out), "--overwrite"]) == 0
    assert listing(out) == ["README.md", "config.json", "generator.safetensors"]
    assert "README.md, config.json, generator.safetensors\n" in capsys.readouterr().out
    assert temp_leftovers(tmp_path) == []


def test_a_failed_export_leaves_nothing_behind(run_dir, judges, tmp_path, capsys):
    out = tmp_path / "new" / "exp"
    # Before: exit 2, but config.json and generator.safetensors were left in --out.
    assert main(["export", str(run_dir), "--out", str(out), "--judge", str(judges / "other")]) == 2
    assert "does not predict" in error_line(capsys.readouterr().err)
    assert listing(tmp_path) == []


def test_export_into_the_run_itself_is_refused(run_dir, capsys):
    before = listing(run_dir)
    # Before: accepted; later loads of the run then found the export, not the checkpoint.
    assert main(["export", str(run_dir), "--out", str(run_dir)]) == 2
    assert "is the folder being exported" in error_line(capsys.readouterr().err)
    assert listing(run_dir) == before
    assert main(["export", str(run_dir), "--out", str(run_dir.parent), "--overwrite"]) == 2
    assert listing(run_dir) == before
    G, _ = load_generator(run_dir)
    step = load_checkpoint(run_dir / "checkpoints" / "step_0000007.pt")
    assert torch.equal(next(iter(G.state_dict().values())), next(iter(step["G"].values())))


def test_export_on_a_full_disk_keeps_the_previous_export(run_dir, tmp_path):
    out = tmp_path / "exp"
    assert main(["export", str(run_dir), "--out", str(out)]) == 0
    before = {p: (out / p).read_bytes() for p in listing(out)}
    size = (out / "generator.safetensors").stat().st_size
    res = intergan_cli("export", run_dir, "--out", out, "--overwrite", "--half", fsize=size // 4)
    assert res.returncode == 2, res.stderr[-3000:]
    assert "disk is full" in error_line(res.stderr)
    assert {p: (out / p).read_bytes() for p in listing(out)} == before
    assert temp_leftovers(tmp_path) == []


# --- classifier train ------------------------------------------------------------------
def test_classifier_train_checks_out_before_training_and_swaps_it_in_whole(
    data, judges, tmp_path, capsys
):
    out = tmp_path / "judge"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    argv = ["classifier", "train", "--data", str(data), "--size", "16", "--steps", "2",
            "--width", "2", "--batch-size", "4", "--eval-split", "", "--out", str(out)]  # fmt: skip
    # Before: the judge was trained first, then written over the folder.
    assert main(argv) == 2
    res = capsys.readouterr()
    assert "--overwrite" in error_line(res.err) and "judge step" not in res.out + res.err
    assert listing(out) == ["notes.txt"]
    assert main([*argv, "--overwrite"]) == 0
    assert listing(out) == ["judge.json", "judge.safetensors"]


# --- prepare, synth, --preview ---------------------------------------------------------
def test_prepare_on_a_full_disk_says_so_and_removes_its_temporary_folder(data, tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".cache.tmp-{dead.pid}"  # what a killed earlier run left
    stale.mkdir()
    (stale / "train_images.npy").write_bytes(b"\0" * 1000)
    # Before: a memory map of a sparse file, then SIGBUS (exit 135, no message) when
    # the disk filled up, and the temporary folder left behind.
    res = intergan_cli("prepare", "--data", data, "--size", "32", "--out", tmp_path / "cache",
                       "--workers", "0", fsize=20_000)  # fmt: skip
    assert res.returncode == 2, res.stderr[-3000:]
    assert "disk is full" in error_line(res.stderr)
    assert not (tmp_path / "cache").exists() and temp_leftovers(tmp_path) == []


def test_synth_on_a_full_disk_leaves_no_folder(tmp_path):
    out = tmp_path / "set"
    res = intergan_cli("synth", "--out", out, "--n", "8", "--size", "16", fsize=300)
    assert res.returncode == 2, res.stderr[-3000:]
    assert "disk is full" in error_line(res.stderr)
    assert listing(tmp_path) == []


def test_a_preview_on_a_full_disk_keeps_the_previous_one(tmp_path):
    preview = tmp_path / "grid.png"
    preview.write_bytes(b"the previous grid")
    res = intergan_cli("synth", "--out", tmp_path / "set", "--n", "4", "--size", "16",
                       "--workers", "1", "--preview", preview, fsize=8_000)  # fmt: skip
    assert res.returncode == 2, res.stderr[-3000:]
    line = error_line(res.stderr)
    assert str(preview) in line and "disk is full" in line
    assert preview.read_bytes() == b"the previous grid" and temp_leftovers(tmp_path) == []


def test_demo_on_a_full_disk_stops_with_one_line(model, tmp_path):
    out = tmp_path / "demo"
    res = intergan_cli("demo", "--model", model, "--identities", "1", "--out", out, fsize=2_000)
    assert res.returncode == 2, res.stderr[-3000:]
    assert "disk is full" in error_line(res.stderr)


# --- every command: an output path it cannot write ------------------------------------
def _commands(run_dir, model, data, out):
    return {
        "prepare": ["prepare", "--data", data, "--size", "32", "--out", out],
        "train": ["train", "--data", data, "--preset", "tiny", "--steps", "1", "--out", out],
        "export": ["export", run_dir, "--out", out],
        "edit": ["edit", data / "img_align_celeba", "--model", model, "--out", out, *EDIT],
        "evaluate": ["evaluate", "--model", model, "--data", data, "--judge", model, "--out", out],
        "demo": ["demo", "--model", model, "--identities", "1", "--out", out],
        "classifier": ["classifier", "train", "--data", data, "--size", "16", "--out", out],
        "synth": ["synth", "--n", "2", "--size", "16", "--out", out],
        "faces": [
            "faces",
            "align",
            data / "img_align_celeba",
            "--labels",
            data / "list_attr_celeba.txt",
            "--out",
            out,
        ],
    }


COMMANDS = ("prepare", "train", "export", "edit", "evaluate", "demo", "classifier", "synth")
COMMANDS += ("faces",)  # intergan faces align


@pytest.mark.parametrize("command", COMMANDS)
def test_an_output_under_a_regular_file_is_one_line_before_any_work(
    command, run_dir, model, data, tmp_path, capsys
):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    argv = _commands(run_dir, model, data, blocker / "out")[command]
    assert main([str(a) for a in argv]) == 2
    res = capsys.readouterr()
    assert "is a file, not a folder" in error_line(res.err)
    assert listing(tmp_path) == ["file"] and blocker.read_text() == "x"


@pytest.mark.parametrize("command", COMMANDS)
def test_a_read_only_output_folder_is_one_line_before_any_work(
    command, run_dir, model, data, tmp_path, capsys
):
    with read_only_folder(tmp_path / "locked") as locked:
        argv = _commands(run_dir, model, data, locked / "out")[command]
        assert main([str(a) for a in argv]) == 2
        assert "choose a folder you can write to" in error_line(capsys.readouterr().err)
        assert listing(locked) == []


def test_classifier_train_on_a_full_disk_keeps_the_previous_judge(data, tmp_path):
    out = tmp_path / "judge"
    build_judge(list(Config().model.attrs), 16, JudgeArch(width=2)).save(out)
    before = {p: (out / p).read_bytes() for p in listing(out)}
    res = intergan_cli("classifier", "train", "--data", data, "--size", "16", "--steps", "1",
                       "--width", "2", "--batch-size", "4", "--eval-split", "", "--out", out,
                       "--overwrite", fsize=2_000)  # fmt: skip
    assert res.returncode == 2, res.stderr[-3000:]
    assert "disk is full" in error_line(res.stderr)
    assert {p: (out / p).read_bytes() for p in listing(out)} == before
    assert temp_leftovers(tmp_path) == []


def test_evaluate_on_a_full_disk_keeps_the_previous_report(model, tmp_path):
    from intergan.data.synthfaces.export import write_dataset

    data = write_dataset(tmp_path / "sf", n=8, size=32, split=(0.5, 0.25, 0.25), workers=1)
    out = tmp_path / "eval"
    out.mkdir()
    previous = '{"previous": true, "settings": {}, "n_images": 4}'  # an earlier report
    (out / "metrics.json").write_text(previous)
    res = intergan_cli("evaluate", "--model", model, "--data", data, "--judge", model,
                       "--split", "train", "--n", "4", "--batch-size", "4", "--no-progress",
                       "--out", out, fsize=300)  # fmt: skip
    assert res.returncode == 2, res.stderr[-3000:]
    assert "disk is full" in error_line(res.stderr)
    assert (out / "metrics.json").read_text() == previous
    assert temp_leftovers(tmp_path) == []


@pytest.mark.parametrize("name", ["metrics.json", "metrics.md"])
def test_evaluate_never_replaces_a_file_that_is_not_a_report(model, tmp_path, capsys, name):
    from intergan.data.synthfaces.export import write_dataset

    data = write_dataset(tmp_path / "sf", n=8, size=32, split=(0.5, 0.25, 0.25), workers=1)
    out = tmp_path / "mine"
    out.mkdir()
    (out / name).write_text("my own numbers")
    argv = ["evaluate", "--model", model, "--data", data, "--judge", model, "--split", "train",
            "--n", "4", "--batch-size", "4", "--no-progress", "--out", out]  # fmt: skip
    # Before: the evaluation ran, then wrote its report over the file.
    assert main([*map(str, argv)]) == 2
    assert f"holds {name} that is not an earlier evaluation report" in error_line(
        capsys.readouterr().err
    )
    assert listing(out) == [name] and (out / name).read_text() == "my own numbers"


@pytest.mark.parametrize("command", ["prepare", "classifier"])
def test_overwrite_never_replaces_the_input_data(command, tmp_path, capsys):
    data = tmp_path / "data"
    make_synth_export(data, n=12, size=32)
    before = listing(data)
    argv = {
        "prepare": ["prepare", "--data", data, "--size", "32", "--workers", "0"],
        "classifier": ["classifier", "train", "--data", data, "--size", "16", "--steps", "1"],
    }[command]
    for out in (data, tmp_path):
        # Before: the output folder replaced the dataset itself, or the folder holding it.
        assert main([*map(str, argv), "--out", str(out), "--overwrite"]) == 2
        assert "is --data" in error_line(capsys.readouterr().err)
        assert listing(data) == before


@pytest.mark.parametrize("command", ["prepare", "classifier", "synth", "export"])
def test_overwrite_never_deletes_a_training_run_or_the_working_folder(
    command, run_dir, model, data, tmp_path, capsys, monkeypatch
):
    import shutil

    victim = tmp_path / "runs" / "victim"
    shutil.copytree(run_dir, victim)
    work = tmp_path / "work"
    work.mkdir()
    (work / "thesis.tex").write_text("precious")
    monkeypatch.chdir(work)
    for out in (victim, tmp_path / "runs", work, tmp_path):
        before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
        argv = _commands(run_dir, model, data, out)[command]
        # Before: --overwrite replaced the run (or the folder one works in) whole.
        assert main([*map(str, argv), "--overwrite"]) == 2
        line = error_line(capsys.readouterr().err)
        assert "training run" in line or "working folder" in line or "is --data" in line
        assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
