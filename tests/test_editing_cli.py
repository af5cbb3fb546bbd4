"""``intergan edit`` end to end on a tiny exported model."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from PIL import Image

from intergan.cli import main
from intergan.config import Config, model_config
from intergan.models import build_generator
from intergan.models.export import save_exported

NO_JUDGE_SOURCE = ["--source-attrs", "Male=1,Young=1"]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    torch.manual_seed(0)
    cfg = Config(model=model_config("tiny"))
    return save_exported(build_generator(cfg.model), cfg, tmp_path_factory.mktemp("m"))


@pytest.fixture()
def photos(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.jpg"):
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(d / name)
    return d


def edit(*args) -> int:
    return main(["edit", *map(str, args)])


def test_folder_edit_writes_one_file_per_photo(model, photos, tmp_path, capsys):
    out = tmp_path / "out"
    code = edit(photos, "--model", model, "--set", "Blond_Hair=1", "--set", "Male=-0.5",
                "--no-align", "--out", out, *NO_JUDGE_SOURCE)  # fmt: skip
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["a_edited.png", "b_edited.jpg"]
    assert Image.open(out / "a_edited.png").size == (40, 40)
    assert "taking as absent" in capsys.readouterr().out  # no judge: the rest assumed 0


def test_a_symbolic_link_loop_in_a_folder_is_one_skipped_photo(model, photos, tmp_path, capsys):
    os.symlink("c.png", photos / "c.png")  # a loop
    os.symlink("gone.png", photos / "d.png")  # dangling
    out = tmp_path / "out"
    # Before: "Symlink loop from .../c.png" stopped the whole folder before any edit.
    code = edit(photos, "--model", model, "--set", "Blond_Hair=1", "--no-align", "--out", out,
                *NO_JUDGE_SOURCE)  # fmt: skip
    assert code == 1
    assert sorted(p.name for p in out.iterdir()) == ["a_edited.png", "b_edited.jpg"]
    err = capsys.readouterr().err
    assert "skipped " in err and "c.png: Too many levels of symbolic links" in err
    assert "d.png does not exist (a symbolic link to a missing file)" in err


def test_all_and_slide_write_every_frame_and_a_strip(model, photos, tmp_path):
    out = tmp_path / "out"
    assert edit(photos / "a.png", "--model", model, "--all", "--no-align", "--out", out,
                "--source-attrs", "Male,Young") == 0  # fmt: skip
    assert len(list(out.glob("a_*.png"))) == 13 and (out / "a_all.jpg").is_file()
    assert edit(photos / "a.png", "--model", model, "--slide", "Young", "--steps", "4",
                "--no-align", "--out", out, "--source-attrs", ",".join("0" * 13)) == 0  # fmt: skip
    assert len(list(out.glob("a_Young_*.png"))) == 4 and (out / "a_Young.jpg").is_file()


def test_a_second_run_into_one_out_never_replaces_the_first_runs_files(
    model, photos, tmp_path, capsys
):
    out, b = tmp_path / "out", photos / "b.jpg"
    assert edit(b, "--model", model, "--all", "--no-align", "--out", out, *NO_JUDGE_SOURCE) == 0
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert "b_Young.jpg" in first  # --all's Young edit
    capsys.readouterr()
    slide = (b, "--model", model, "--slide", "Young", "--steps", "2", "--no-align", "--out", out,
             *NO_JUDGE_SOURCE)  # fmt: skip
    # Before: --slide's strip, also b_Young.jpg, replaced --all's edit.
    assert edit(*slide) == 0
    assert {n: (out / n).read_bytes() for n in first} == first
    printed = capsys.readouterr().out
    assert f"-> {out / 'b_Young-2.jpg'}" in printed and "1 name(s) were taken" in printed
    assert Image.open(out / "b_Young-2.jpg").width > Image.open(out / "b_Young.jpg").width
    # --overwrite: the name is reused, the file replaced (the strip is wider than an edit)
    assert edit(*slide, "--overwrite") == 0
    assert Image.open(out / "b_Young.jpg").width == Image.open(out / "b_Young-2.jpg").width
    assert not (out / "b_Young-3.jpg").exists()


def test_a_photo_without_a_face_writes_nothing_and_fails(model, tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    Image.new("RGB", (200, 150), (120, 130, 140)).save(tmp_path / "wall.png")
    out = tmp_path / "out"
    code = edit(tmp_path / "wall.png", "--model", model, "--set", "Young=1", "--out", out,
                *NO_JUDGE_SOURCE)  # fmt: skip
    assert code == 1
    assert "no face found in" in capsys.readouterr().err
    assert not out.exists()  # nothing written: no empty --out either


def test_faces_in_a_real_photo_are_edited_and_pasted_back(model, tmp_path):
    pytest.importorskip("onnxruntime")
    skdata = pytest.importorskip("skimage.data")
    Image.fromarray(skdata.astronaut()).save(tmp_path / "astro.png")
    out = tmp_path / "out"
    code = edit(tmp_path / "astro.png", "--model", model, "--set", "Eyeglasses=1", "--face", "0",
                "--framing", "celebahq", "--out", out, *NO_JUDGE_SOURCE)  # fmt: skip
    assert code == 0
    edited = np.asarray(Image.open(out / "astro_edited.png"))
    assert edited.shape == (512, 512, 3)
    assert (edited[60:170, 180:270] != skdata.astronaut()[60:170, 180:270]).any()
    np.testing.assert_array_equal(edited[350:], skdata.astronaut()[350:])


@pytest.fixture()
def pair(tmp_path):
    """The astronaut (left) and the camera man (right) side by side: two real faces."""
    skdata = pytest.importorskip("skimage.data")
    cam = np.stack([skdata.camera()] * 3, axis=-1)
    Image.fromarray(np.concatenate([skdata.astronaut(), cam], axis=1)).save(tmp_path / "pair.png")
    return tmp_path / "pair.png"


def test_list_faces_numbers_them_from_0_left_to_right_without_a_model(pair, capsys):
    pytest.importorskip("onnxruntime")
    assert edit(pair, "--list-faces") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{pair}: 2 face(s), numbered from 0, left to right"
    assert [line.split(":")[0].strip() for line in lines[1:]] == ["face 0", "face 1"]
    left = [int(line.split("box x ")[1].split("-")[0]) for line in lines[1:]]
    assert left[0] < 512 <= left[1]  # face 0 is the astronaut, on the left


def test_a_face_number_the_photo_lacks_is_reported_with_the_numbering(
    model, pair, tmp_path, capsys
):
    pytest.importorskip("onnxruntime")
    code = edit(pair, "--model", model, "--set", "Young=1", "--face", "2", "--out",
                tmp_path / "o", *NO_JUDGE_SOURCE)  # fmt: skip
    assert code == 1
    err = capsys.readouterr().err
    assert "face 2 requested but" in err and "has 2 face(s), numbered 0 to 1" in err
    assert "--list-faces" in err


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--set", "Blonde_Hair=1"], "did you mean 'Blond_Hair'"),
        (["--set", "Blond_Hair"], "expected ATTR=VALUE"),
        (["--set", "Young=1", "--all"], "exactly one of"),
        (["--set", "Young=1", "--source-attrs", "1,0"], "lists 2 values but the model has 13"),
        (["--set", "Young=1", "--face", "0"], "--face N picks a detected face"),
    ],
)
def test_bad_arguments_exit_2_with_the_fix(model, photos, tmp_path, capsys, extra, message):
    args = [photos / "a.png", "--model", model, "--no-align", "--out", tmp_path / "o", *extra]
    if "--source-attrs" not in extra:
        args += NO_JUDGE_SOURCE
    assert edit(*args) == 2
    assert message in capsys.readouterr().err


def test_model_and_out_are_required_but_for_list_faces(model, photos, tmp_path, capsys):
    assert edit(photos, "--set", "Young=1", "--out", tmp_path / "o") == 2
    assert "missing --model" in capsys.readouterr().err


def test_missing_source_without_a_judge_is_refused(model, photos, tmp_path, capsys):
    assert edit(photos, "--model", model, "--set", "Young=1", "--out", tmp_path / "o") == 2
    assert "--source-attrs" in capsys.readouterr().err


def test_missing_model_and_non_images_are_named(model, tmp_path, capsys):
    (tmp_path / "notes.png").write_text("hello")
    assert edit(tmp_path / "notes.png", "--model", tmp_path / "nope", "--set", "Young=1",
                "--out", tmp_path / "o") == 2  # fmt: skip
    assert "does not exist" in capsys.readouterr().err
    assert edit(tmp_path / "notes.png", "--model", model, "--set", "Young=1", "--no-align",
                "--out", tmp_path / "o", *NO_JUDGE_SOURCE) == 1  # fmt: skip
    assert "not an image" in capsys.readouterr().err


def test_every_written_file_is_printed(model, photos, tmp_path, capsys):
    out = tmp_path / "out"
    assert edit(photos / "a.png", "--model", model, "--all", "--no-align", "--out", out,
                "--source-attrs", "Male,Young") == 0  # fmt: skip
    printed = capsys.readouterr().out.splitlines()
    written = sorted(str(p) for p in out.iterdir())
    assert len(written) == 14  # 13 edits + strip
    assert all(f"{photos / 'a.png'} -> {w}" in printed for w in written)  # one line each
