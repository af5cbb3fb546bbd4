"""Damaged model files and hostile values: truncated or garbage safetensors, JSON of
the wrong shape, NaN weights and intensities, empty and huge arrays. Each is a
``UserError`` naming the file or value and the fix, in the API, the CLI and the
web page alike."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from app_helpers import export_tiny
from data_fixtures import truncate
from fault_helpers import error_line
from intergan.cli import main
from intergan.editing.editor import Editor
from intergan.editing.io import DEFAULT_MAX_PIXELS
from intergan.errors import UserError
from intergan.models.io import load_export_config, load_exported
from intergan.models.judge import load_judge

SOURCE = {"Male": 1, "Young": 1}


@pytest.fixture()
def model(tmp_path):
    return export_tiny(tmp_path / "model")


@pytest.fixture(scope="module")
def editor(tmp_path_factory):
    return Editor.from_pretrained(export_tiny(tmp_path_factory.mktemp("m")))


def garbage(path):
    path.write_bytes(b"\x07" * 64)


@pytest.mark.parametrize("damage", [truncate, garbage])
@pytest.mark.parametrize("name", ["generator.safetensors", "judge.safetensors"])
def test_damaged_weights_are_named_in_the_api_and_the_cli(model, tmp_path, capsys, damage, name):
    damage(model / name)
    # Before: a raw SafetensorError traceback (the web page: "internal error").
    with pytest.raises(UserError, match=rf"{name} is not a readable safetensors file"):
        Editor.from_pretrained(model)
    (tmp_path / "a.png").write_bytes((model / "config.json").read_bytes())  # never read
    assert main(["edit", str(tmp_path / "a.png"), "--model", str(model), "--set", "Young=1",
                 "--out", str(tmp_path / "o")]) == 2  # fmt: skip
    line = error_line(capsys.readouterr().err)
    fix = "export the run again" if name.startswith("generator") else "intergan classifier train"
    assert str(model / name) in line and fix in line


def test_nan_weights_in_an_export_are_refused_at_load(model):
    state = load_file(str(model / "generator.safetensors"))
    first = next(k for k, v in state.items() if v.is_floating_point())
    state[first][0] = float("nan")
    save_file(state, str(model / "generator.safetensors"))
    # Before: loaded silently; every edit came out black.
    with pytest.raises(UserError, match=rf"NaN or infinite values \(in {first}\)"):
        load_exported(model)


@pytest.mark.parametrize(
    "content,message",
    [
        (b"[1, 2, 3]", "holds a JSON list, not an object"),
        (b"\xff\xfe\x00{}", "is not UTF-8 text"),
        (b"{not json", "is not valid JSON"),
        (b'{"model": {"img_size": "abc"}}', "model.img_size is 'abc' (str): expected an integer"),
        (b'{"model": {"img_size": 48}}', "model.img_size 48 is not supported"),
        (b'{"model": {"preset": "huge"}}', "model.preset 'huge' is not one of"),
        (b'{"train": {"test_int": "nan"}}', "train.test_int is 'nan' (str): expected a finite"),
        (b'{"train": {"test_int": NaN}}', "train.test_int is nan (float): expected a finite"),
    ],
)
def test_a_damaged_config_json_is_named_with_the_fix(model, content, message):
    (model / "config.json").write_bytes(content)
    with pytest.raises(UserError) as e:
        load_export_config(model)
    assert str(model / "config.json") in str(e.value) and message in str(e.value)
    assert "export the run again" in str(e.value)


@pytest.mark.parametrize(
    "meta,message",
    [
        ([1, 2, 3], "holds a JSON list, not an object"),
        ({"attrs": "Male", "img_size": 32}, "judge.attrs is 'Male' (str): expected a list"),
        ({"attrs": ["Male"], "img_size": "32"}, "judge.img_size is '32' (str): expected an int"),
        ({"attrs": ["Male"]}, "has no 'img_size' field"),
        ({"attrs": ["Male"], "img_size": 32, "arch": [4]}, "arch must be an object"),
        ({"attrs": ["Male"], "img_size": 32, "arch": {"width": 2.5}}, "arch.width is 2.5"),
    ],
)
def test_a_damaged_judge_json_is_named_with_the_fix(model, meta, message):
    (model / "judge.json").write_text(json.dumps(meta))
    with pytest.raises(UserError) as e:
        load_judge(model)
    assert str(model / "judge.json") in str(e.value) and message in str(e.value)
    (model / "judge.json").write_bytes(b"\x80\x81")
    with pytest.raises(UserError, match="judge.json is not UTF-8 text"):
        load_judge(model)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_intensities_are_refused(editor, model, tmp_path, capsys, value):
    image = np.zeros((32, 32, 3), np.uint8)
    # Before: accepted; the face came out black.
    with pytest.raises(UserError, match="not a finite number"):
        editor.edit(image, {"Young": float(value)}, source=SOURCE, align=False)
    with pytest.raises(UserError, match="not a finite number"):
        editor.edit_all(image, intensity=float(value), source=SOURCE, align=False)
    with pytest.raises(UserError, match="not a finite number"):
        editor.interpolate(image, "Young", 3, (0.0, float(value)), SOURCE, align=False)
    (tmp_path / "a.png").write_bytes(b"")
    argv = ["edit", str(tmp_path / "a.png"), "--model", str(model), "--out", str(tmp_path / "o")]
    assert main([*argv, "--set", f"Blond_Hair={value}"]) == 2
    assert "must be a finite number" in error_line(capsys.readouterr().err)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((0, 0, 3), np.uint8),
        np.zeros((5, 0, 3), np.uint8),
        np.zeros((0, 32, 32, 3), np.uint8),
        torch.zeros(3, 0, 0),
        [],
    ],
    ids=["0x0", "5x0", "empty batch", "0x0 tensor", "empty list"],
)
def test_empty_images_are_refused(editor, image):
    # Before: ZeroDivisionError from deep inside the editor.
    with pytest.raises(UserError, match="non-empty image|holds no image"):
        editor.edit(image, {"Young": 1}, source=SOURCE, align=False)


def test_the_api_has_a_pixel_limit_like_the_cli(editor):
    assert editor.max_pixels == DEFAULT_MAX_PIXELS
    huge = np.broadcast_to(np.zeros(1, np.uint8), (8000, 6000, 3))  # 48 MP, no memory used
    # Before: no limit; a 10000x10000 array took 4.4 GB.
    with pytest.raises(UserError, match="above the limit of 40,000,000"):
        editor.edit(huge, {"Young": 1}, source=SOURCE, align=False)
    editor.max_pixels = 100
    try:
        with pytest.raises(UserError, match=r"12x12 = 144 pixels, above the limit of 100"):
            editor.edit(torch.zeros(3, 12, 12), {"Young": 1}, source=SOURCE, align=False)
        editor.max_pixels = None
        out = editor.edit(np.zeros((12, 12, 3), np.uint8), {}, source=SOURCE, align=False)
        assert out.shape == (12, 12, 3)
    finally:
        editor.max_pixels = DEFAULT_MAX_PIXELS


def test_web_errors_do_not_show_the_servers_temporary_paths(model, tmp_path):
    pytest.importorskip("gradio")
    import tempfile

    from app_helpers import web_handlers
    from intergan.app.handlers import hide_server_paths

    upload = tempfile.mkdtemp(prefix="gradio-upload-")
    junk = f"{upload}/holiday photo.png"
    with open(junk, "w") as f:
        f.write("not a picture")
    h = web_handlers(model, tmp_path, DEFAULT_MAX_PIXELS)
    status = h.open(junk, False, 0, str(model))[4]
    # Before: "image /tmp/gradio/3f2a.../holiday photo.png could not be decoded ..."
    assert (
        "holiday photo.png" in status
        and upload not in status
        and tempfile.gettempdir() not in status
    )
    assert hide_server_paths("cannot read /tmp/a/b/c.png: gone") == "cannot read c.png: gone"
    assert hide_server_paths("--model /home/me/model") == "--model /home/me/model"


def test_the_web_page_edits_up_to_its_own_pixel_limit(model, tmp_path):
    pytest.importorskip("gradio")
    from app_helpers import sample_face, save_png, web_handlers
    from intergan.app import session

    face = save_png(sample_face()[0], tmp_path / "face.png")  # 32x32 = 1,024 pixels
    session.load_editor(str(model)).max_pixels = 100  # as if the API default were lower
    status = web_handlers(model, tmp_path, 10_000).open(str(face), False, 0, str(model))[4]
    assert status.startswith("**face** · 32×32 px")
    status = web_handlers(model, tmp_path, 1_000).open(str(face), False, 0, str(model))[4]
    assert "above the limit of 1,000" in status
