"""``intergan demo`` on a tiny random model: the report, its pictures and numbers,
and the errors a newcomer can meet (no bundled weights, a wrong model)."""

from __future__ import annotations

import json
import math
import re
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from app_helpers import export_tiny
from intergan import cli
from intergan.app import demo
from intergan.editing import pretrained
from intergan.editing.editor import Editor
from intergan.evaluation.metrics import psnr


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return export_tiny(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def report(model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    argv = ["demo", "--out", str(out), "--model", str(model_dir), "--identities", "2"]
    assert cli.main(argv) == 0
    return out


def load(path) -> np.ndarray:
    return np.array(Image.open(path).convert("RGB"))  # writable, for torch.from_numpy


def test_demo_prints_the_report_path_and_the_page_is_self_contained(model_dir, tmp_path, capsys):
    argv = ["demo", "--out", str(tmp_path), "--model", str(model_dir), "--identities", "1"]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert str((tmp_path / "report.html").resolve()) in printed
    page = (tmp_path / "report.html").read_text()
    sources = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page)
    assert sources and all((tmp_path / s).is_file() for s in sources)
    assert "http://" not in page and "https://" not in page and "<script" not in page


def test_report_shows_every_flip_with_its_ground_truth(report):
    page = (report / "report.html").read_text()
    info = json.loads((report / "metrics.json").read_text())["info"]
    for k in range(2):
        for a in info["attrs"]:
            assert f"img/{k}_{a}.png" in page and f"img/{k}_{a}_truth.png" in page
        for name in ("input", "recon", "multi", "multi_truth", "slide_0", "slide_on"):
            assert f"img/{k}_{name}.png" in page
    assert (report / "overview.png").is_file()


def test_edits_come_from_the_model(report, model_dir):
    editor = Editor.from_pretrained(model_dir, backend="torch")  # the demo's float32
    labels = json.loads((report / "metrics.json").read_text())["sources"][0]
    image = load(report / "img/0_input.png")
    expected = editor.edit(image, {"Young": -1.0 if labels["Young"] else 1.0},
                           source=labels, align=False, blend="raw")  # fmt: skip
    np.testing.assert_array_equal(load(report / "img/0_Young.png"), expected)
    recon = editor.edit(image, {}, source=labels, align=False, blend="raw")
    np.testing.assert_array_equal(load(report / "img/0_recon.png"), recon)


def test_sweep_at_plus_minus_one_equals_the_flip(report):
    labels = json.loads((report / "metrics.json").read_text())["sources"][0]
    j = demo.SLIDE_VALUES.index(-1.0 if labels[demo.SLIDE] else 1.0)
    np.testing.assert_array_equal(
        load(report / f"img/0_slide_{j}.png"), load(report / f"img/0_{demo.SLIDE}.png")
    )


def test_reported_numbers_are_measured_on_the_pictures(report):
    metrics = json.loads((report / "metrics.json").read_text())
    for k in range(2):
        for a in ("Bald", "Eyeglasses"):
            e = torch.from_numpy(load(report / f"img/{k}_{a}.png")).permute(2, 0, 1)[None]
            t = torch.from_numpy(load(report / f"img/{k}_{a}_truth.png")).permute(2, 0, 1)[None]
            got = metrics["per_identity"][k][a]["psnr"]
            assert got == pytest.approx(float(psnr(e, t, 255.0)[0]), rel=1e-9)
    mean = metrics["summary"]["Bald"]["psnr"]
    per = [metrics["per_identity"][k]["Bald"]["psnr"] for k in range(2)]
    assert mean == pytest.approx(sum(per) / 2)
    assert all(math.isfinite(v["ssim"]) for v in metrics["summary"].values())
    page = (report / "report.html").read_text()
    assert f"{mean:.2f}" in page


def test_missing_bundled_weights_say_how_to_get_them(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pretrained, "bundled_dir", lambda name: tmp_path / name)
    assert cli.main(["demo", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "error: the bundled model 'synthfaces-64' is not in this copy" in err
    assert "intergan train" in err and "intergan export" in err and "--model PATH" in err
    assert not (tmp_path / "out" / "report.html").exists()


def test_wrong_model_arguments_are_user_errors(model_dir, tmp_path, capsys):
    assert cli.main(["demo", "--model", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli.main(["demo", "--model", "synthfaces64", "--out", str(tmp_path)]) == 2
    assert "did you mean 'synthfaces-64'" in capsys.readouterr().err
    celeba = export_tiny(tmp_path / "celeba", attrs=["Smiling", "Male"])
    assert cli.main(["demo", "--model", str(celeba), "--out", str(tmp_path)]) == 2
    assert "edits Smiling, which SynthFaces cannot render" in capsys.readouterr().err


def test_demo_does_not_overwrite_a_foreign_folder(model_dir, tmp_path, capsys):
    (tmp_path / "faces").mkdir()
    (tmp_path / "faces" / "thesis.tex").write_text("precious")
    assert cli.main(["demo", "--out", str(tmp_path), "--model", str(model_dir)]) == 2
    assert "is not the SynthFaces set of an earlier demo" in capsys.readouterr().err
    assert (tmp_path / "faces" / "thesis.tex").read_text() == "precious"


def test_editor_loads_bundled_models_by_short_name(model_dir, monkeypatch):
    monkeypatch.setattr(pretrained, "bundled_dir", lambda name: model_dir)
    editor = Editor.from_pretrained("synthfaces-64")
    assert editor.size == 32 and editor.judge is not None


def test_the_app_does_not_import_training_code():
    import subprocess
    import sys

    code = (
        "import sys, intergan.app.demo, intergan.app.web\n"
        "print(sorted(m for m in sys.modules if m.startswith('intergan.training')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_report_says_how_the_model_was_trained(model_dir, tmp_path, report):
    page = (report / "report.html").read_text()
    assert "Training details not recorded." in page  # the tiny export has no record
    recorded = tmp_path / "recorded"
    shutil.copytree(model_dir, recorded)
    cfg = json.loads((recorded / "config.json").read_text())
    cfg["export"]["training"] = {"steps": 323, "planned_steps": 1000, "batch_size": 32,
                                 "data": "data/synth64", "preset": "small", "img_size": 64,
                                 "note": "About 50 minutes on a 2-core CPU."}  # fmt: skip
    (recorded / "config.json").write_text(json.dumps(cfg))
    out = tmp_path / "demo"
    assert cli.main(["demo", "--out", str(out), "--model", str(recorded), "--identities", "1"]) == 0
    page = (out / "report.html").read_text()
    assert (
        "Trained for 323 steps of 1000 planned, batch 32 on data/synth64 (small preset, "
        "64 px). About 50 minutes on a 2-core CPU." in page
    )
    assert "not recorded" not in page
