"""A file that is not a checkpoint, given where one is expected (``echo hello > m.pt``):
every command that loads a model, and the web page's loader, answer one ``error:`` line
naming the file and what it should be (exit 2, no traceback). The checks sit in the
loaders (``models.io``, ``models.judge``), not in each command."""

from __future__ import annotations

import re
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from data_fixtures import make_synth_export, truncate
from fault_helpers import error_line
from intergan.cli import main
from intergan.errors import UserError
from intergan.models import io

IS = "give a checkpoint written by `intergan train`"


def _text(p):
    p.write_text("hello\n")


def _truncated(p):
    torch.save({"version": 1, "step": 1, "config": {}, "G": {"w": torch.zeros(4096)}}, p)
    truncate(p)


def _safetensors(p):  # an 8-byte header length, then JSON that does not parse
    p.write_bytes(struct.pack("<Q", 12) + b'{"a": 1, "b"')


BAD = {  # name: (file name, how to write it, what the message says it is)
    "text": ("m.pt", _text, "it is a text file (starting 'hello')"),
    "empty": ("m.pt", lambda p: p.write_bytes(b""), "it is empty"),
    "binary": ("m.pt", lambda p: p.write_bytes(b"\x00\xff" * 40), "it is not a PyTorch file"),
    "truncated": ("m.pt", _truncated, "it is a PyTorch file, truncated or damaged"),
    "list": ("m.pt", lambda p: torch.save([1, 2, 3], p), "it holds a list, not a checkpoint"),
    "foreign dict": ("m.pt", lambda p: torch.save({"a": 1}, p), "no version, step, config, G"),
    "types": (
        "m.pt",
        lambda p: torch.save({"version": 1, "step": "1", "config": [], "G": {}}, p),
        "step, config is not what `intergan train` writes there",
    ),
    "config": (
        "m.pt",
        lambda p: torch.save(
            {"version": 1, "step": 1, "config": {"model": {"img_size": 48}}, "G": {}}, p
        ),  # fmt: skip
        "its config: model.img_size 48 is not supported",
    ),
    "safetensors": ("m.safetensors", _safetensors, "it is a safetensors file"),
}


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("photo") / "a.png"
    Image.fromarray(np.full((32, 32, 3), 120, np.uint8)).save(path)
    return path


def _commands(model, photo, tmp):
    return {
        "edit": ["edit", photo, "--model", model, "--set", "Young=1", "--no-align",
                 "--source-attrs", "Male=1", "--out", tmp / "o"],
        "train --resume": ["train", "--resume", model, "--out", tmp / "run"],
        "export": ["export", model, "--out", tmp / "e"],
        "evaluate": ["evaluate", "--model", model, "--judge", "synthfaces-64", "--data", tmp],
    }  # fmt: skip


@pytest.mark.parametrize("kind", BAD)
def test_every_command_names_a_file_that_is_not_a_checkpoint(tmp_path, capsys, photo, kind):
    name, write, what = BAD[kind]
    bad = tmp_path / name
    write(bad)
    # Before: KeyError / IndexError / SafetensorError tracebacks (text, empty, safetensors),
    # or AttributeError and "img_size 48" without the file's name.
    for command, argv in _commands(bad, photo, tmp_path).items():
        assert main([str(a) for a in argv]) == 2, command
        line = error_line(capsys.readouterr().err)
        assert str(bad) in line and what in line and IS in line, (command, line)


@pytest.mark.parametrize("kind", ["text", "safetensors"])
def test_the_web_pages_loader_and_the_api_name_the_file(tmp_path, kind):
    pytest.importorskip("gradio")
    from intergan.app.session import load_editor
    from intergan.editing.editor import Editor

    name, write, what = BAD[kind]
    write(tmp_path / name)
    for load in (load_editor, Editor.from_pretrained):
        with pytest.raises(UserError, match=re.escape(what)):
            load(str(tmp_path / name))


def test_a_file_given_as_the_judge_is_named(tmp_path, capsys, photo):
    _text(tmp_path / "m.pt")
    for argv in (
        ["edit", photo, "--model", "synthfaces-64", "--judge", tmp_path / "m.pt", "--set",
         "Young=1", "--out", tmp_path / "o"],
        ["classifier", "eval", "--judge", tmp_path / "m.pt", "--data", tmp_path],
    ):  # fmt: skip
        assert main([str(a) for a in argv]) == 2
        line = error_line(capsys.readouterr().err)
        assert f"--judge {tmp_path / 'm.pt'} is a file, not a judge" in line


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny run, one step: a real checkpoint to damage."""
    tmp = tmp_path_factory.mktemp("run")
    make_synth_export(tmp / "data", n=8, size=32)
    argv = ["train", "--data", tmp / "data", "--out", tmp / "run", "--preset", "tiny",
            "--size", "32", "--batch-size", "2", "--steps", "1", "--workers", "0",
            "--no-progress"]  # fmt: skip
    assert main([str(a) for a in argv]) == 0
    return tmp / "run", argv


def test_a_checkpoint_whose_weights_do_not_fit_its_config_is_named(run, tmp_path, capsys):
    folder, argv = run
    ckpt = io.load_checkpoint(io.find_checkpoint(folder))
    for key in ("G", "D"):
        torch.save(dict(ckpt, G_ema=None, **{key: {"x": torch.zeros(1)}}), tmp_path / "m.pt")
        # Before: "Missing key(s) in state_dict" tracebacks.
        if key == "G":
            with pytest.raises(UserError, match=r"m\.pt: its generator weights do not match"):
                io.load_generator(tmp_path / "m.pt")
        out = ["--out", tmp_path / f"resumed_{key}", "--resume", tmp_path / "m.pt"]
        assert main([str(a) for a in [*argv[:3], *argv[5:], *out]]) == 2
        line = error_line(capsys.readouterr().err)
        assert "the checkpoint to resume (step 1) does not fit" in line, line


def test_a_damaged_onnx_generator_is_named_at_load(tmp_path):
    pytest.importorskip("onnxruntime")
    from app_helpers import export_tiny
    from intergan.editing.editor import Editor

    model = export_tiny(tmp_path / "model")
    (model / "generator.onnx").write_text("hello\n")
    # Before: onnxruntime's InvalidProtobuf traceback at the first edit.
    with pytest.raises(UserError, match=r"generator\.onnx is not a readable ONNX model"):
        Editor.from_pretrained(model, backend="onnx")


def test_an_attgan_pytorch_weights_file_given_as_a_model_points_to_the_importer(tmp_path, capsys):
    torch.save({"G": {"w": torch.zeros(4)}, "D": {}}, tmp_path / "weights.1.pth")
    argv = ["export", tmp_path / "weights.1.pth", "--out", tmp_path / "e"]
    assert main([str(a) for a in argv]) == 2
    line = error_line(capsys.readouterr().err)
    assert f"import it: `intergan import attgan-pytorch {tmp_path / 'weights.1.pth'}`" in line


def test_the_importer_names_a_truncated_weights_file(tmp_path, capsys):
    path = tmp_path / "weights.1.pth"
    torch.save({"G": {"w": torch.zeros(4096)}}, path)
    truncate(path)
    argv = ["import", "attgan-pytorch", path, "--set", "img_size=128", "--out", tmp_path / "o"]
    # Before: "error: I/O error: Invalid argument; check the path and the disk" (no file).
    assert main([str(a) for a in argv]) == 2
    line = error_line(capsys.readouterr().err)
    assert f"{path} is not a readable PyTorch weights file" in line
