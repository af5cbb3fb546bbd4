"""``intergan train`` against hostile input: a broken image, a full disk, a killed
checkpoint write, a damaged ``--config``. Each ends in seconds with one ``error:``
line (exit 2) and leaves the run's last good checkpoint as it was."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from data_fixtures import make_synth_export, truncate
from fault_helpers import error_line, intergan_cli, temp_leftovers
from intergan.models import io

TINY = ("--preset", "tiny", "--size", "32", "--batch-size", "2", "--n-d", "1", "--no-progress")


@pytest.fixture()
def bad_data(tmp_path):
    """A SynthFaces-style set of 12 images with 000003.png cut short."""
    root = tmp_path / "bad"
    make_synth_export(root, n=12, size=32)
    truncate(root / "img_align_celeba" / "000003.png")
    return root


def test_a_broken_image_read_by_a_loader_worker_ends_the_run_at_once(bad_data, tmp_path):
    # Before: the worker's traceback, then the exit waited on the worker forever.
    run = tmp_path / "run"
    res = intergan_cli(
        "train", "--data", bad_data, "--out", run, *TINY, "--steps", "20", "--workers", "2",
        timeout=90,
    )  # fmt: skip
    assert res.returncode == 2, res.stderr[-3000:]
    line = error_line(res.stderr)
    assert "000003.png" in line and "--skip-bad" in line
    assert "DataLoader worker" not in res.stderr


def test_skip_bad_trains_past_the_broken_image_and_names_it(bad_data, tmp_path):
    run = tmp_path / "run"
    res = intergan_cli(
        "train", "--data", bad_data, "--out", run, *TINY, "--steps", "4", "--workers", "1",
        "--skip-bad", timeout=90,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    assert "skipped (cannot decode image" in res.stderr and "000003.png" in res.stderr
    assert io.load_checkpoint(io.find_checkpoint(run))["step"] == 4


def test_a_full_disk_at_a_checkpoint_keeps_the_last_good_one(tmp_path):
    data = tmp_path / "data"
    make_synth_export(data, n=12, size=32)
    run = tmp_path / "run"
    args = ("train", "--data", data, "--out", run, *TINY, "--workers", "1")
    first = intergan_cli(*args, "--steps", "2", "--checkpoint-every", "2", timeout=90)
    assert first.returncode == 0, first.stderr[-3000:]
    good = io.find_checkpoint(run)
    size, before = good.stat().st_size, good.read_bytes()
    # Every later file may be written except a checkpoint (all are about `size` bytes).
    # Before: "RuntimeError: unexpected pos ..." and a traceback.
    res = intergan_cli(
        *args, "--steps", "4", "--checkpoint-every", "2", "--resume", "latest",
        fsize=size // 2, timeout=90,
    )  # fmt: skip
    assert res.returncode == 2, res.stderr[-3000:]
    line = error_line(res.stderr)
    assert "step_0000004.pt" in line and "disk is full" in line
    assert io.find_checkpoint(run) == good and good.read_bytes() == before
    assert temp_leftovers(run) == []


def test_a_run_folder_under_a_regular_file_is_refused_before_training(tmp_path):
    data = tmp_path / "data"
    make_synth_export(data, n=12, size=32)
    (tmp_path / "file").write_text("x")
    res = intergan_cli("train", "--data", data, "--out", tmp_path / "file" / "run", *TINY,
                       "--steps", "2", "--workers", "0", timeout=90)  # fmt: skip
    assert res.returncode == 2
    assert "is a file, not a folder" in error_line(res.stderr)
    assert "training:" not in res.stdout + res.stderr


def test_a_checkpoint_write_killed_midway_leaves_no_temporary_file_for_good(tmp_path):
    import torch

    from intergan.config import Config, model_config
    from intergan.models import build_generator

    cfg = Config(model=model_config("tiny"))
    ckpt = {"step": 1, "config": cfg.to_dict(), "G": build_generator(cfg.model).state_dict()}
    folder = tmp_path / io.CHECKPOINT_DIR
    folder.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # its pid now belongs to no process: like a trainer killed mid-write
    stale = folder / f".step_0000002.pt.tmp{dead.pid}"
    torch.save({"half": "written"}, stale)
    io.save_checkpoint(ckpt, tmp_path)
    assert not stale.exists()
    assert sorted(p.name for p in folder.iterdir()) == ["latest", "step_0000001.pt"]


@pytest.mark.parametrize(
    "content,message",
    [
        (b"[1, 2, 3]", "holds a JSON list, not an object"),
        (b"\xff\xfe\x00garbage", "is not UTF-8 text"),
        (b'{"model": {"img_size": "abc"}}', "model.img_size is 'abc' (str): expected an integer"),
        (b'{"train": {"test_int": "nan"}}', "train.test_int is 'nan' (str): expected a finite"),
        (b'{"model": {"preset": "huge"}}', "model.preset 'huge' is not one of tiny, small, base"),
        (b'{"train": {"flip": true}}', "unknown config field(s) train.flip"),
    ],
)
def test_a_damaged_config_file_is_named_with_the_field(tmp_path, capsys, content, message):
    from intergan.cli import main

    path = tmp_path / "run.json"
    path.write_bytes(content)
    data = tmp_path / "data"
    make_synth_export(data, n=4, size=32)
    argv = ["train", "--config", str(path), "--data", str(data), "--out", str(tmp_path / "r")]
    assert main(argv) == 2
    line = error_line(capsys.readouterr().err)
    assert str(path) in line and message in line
    assert not (tmp_path / "r").exists()


def test_config_field_types_are_checked_in_one_place():
    from intergan.config import Config
    from intergan.errors import UserError

    good = Config().to_dict()
    assert Config.from_dict(json.loads(json.dumps(good))).to_dict() == good
    good["train"]["lr"] = 1  # an integer where a float is expected is fine
    assert Config.from_dict(good).train.lr == 1.0
    for section, name, value in [
        ("model", "attrs", ["Male", 3]),
        ("model", "n_down", 4.0),
        ("train", "channels_last", "yes"),
        ("train", "lr_decay_step", "3"),
        ("train", "lr", float("inf")),
        ("data", "num_workers", True),
    ]:
        bad = Config().to_dict()
        bad[section][name] = value
        with pytest.raises(UserError, match=rf"{section}\.{name} is "):
            Config.from_dict(bad)
    with pytest.raises(UserError, match="section 'train' must be an object"):
        Config.from_dict({"train": [1]})
