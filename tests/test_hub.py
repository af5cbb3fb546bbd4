"""Hugging Face Hub models (``--model org/name[@rev]``) and the model card of an export.

No network. Either the Hub cache is filled the way huggingface_hub lays it out
(``models--org--name/refs/REV`` naming a commit, ``snapshots/COMMIT/FILES``) and the
commands run in a new process with ``HF_HUB_OFFLINE=1`` and ``HF_HOME`` there, or a
local stand-in for the Hub on 127.0.0.1 (``hub_server``) serves an export folder and
``HF_ENDPOINT`` points at it: either way the real ``snapshot_download`` resolves the
id, the revision and the files.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from app_helpers import SIZE, export_tiny
from fault_helpers import SRC, error_line
from intergan.config import Config, model_config
from intergan.errors import UserError
from intergan.models import build_generator, pretrained
from intergan.models.export import export_run
from intergan.models.io import save_checkpoint

COMMIT = "0123456789abcdef0123456789abcdef01234567"
COMMIT_V1 = "fedcba9876543210fedcba9876543210fedcba98"


@pytest.fixture(scope="module")
def hub_home(tmp_path_factory):
    """HF_HOME with org/tiny cached: main -> a 13-attribute export, v1 -> 2 attributes."""
    home = tmp_path_factory.mktemp("hf")
    repo = home / "hub" / "models--org--tiny"
    export_tiny(repo / "snapshots" / COMMIT)
    export_tiny(repo / "snapshots" / COMMIT_V1, attrs=["Male", "Young"])
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    (repo / "refs" / "v1").write_text(COMMIT_V1)
    return home


def run_py(code: str, hf_home: Path, *args, cwd: Path | None = None, endpoint: str = ""):
    """Python ``code`` in a new process with the Hub cache under ``hf_home``: offline, or
    online against ``endpoint``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(PYTHONPATH=SRC, OMP_NUM_THREADS="1", HF_HOME=str(hf_home))
    env.update({"HF_ENDPOINT": endpoint} if endpoint else {"HF_HUB_OFFLINE": "1"})
    env["INTERGAN_HOME"] = str(hf_home / "intergan")
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        env=env, cwd=cwd, text=True, capture_output=True, timeout=180,
    )  # fmt: skip


CLI = "import sys; from intergan.cli import main; sys.exit(main(sys.argv[1:]))"


def test_editor_loads_a_hub_id_and_a_revision_from_the_cache_offline(hub_home):
    code = (
        "from intergan.editing.editor import Editor\n"
        "for args in (('org/tiny',), ('org/tiny@v1',), ('org/tiny', 'v1')):\n"
        "    e = Editor.from_pretrained(args[0], revision=(args[1:] or [None])[0], device='cpu')\n"
        "    print(len(e.attrs), e.judge is not None)\n"
    )
    res = run_py(code, hub_home)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.split("\n")[:3] == ["13 True", "2 True", "2 True"]


def test_edit_command_takes_a_hub_id(hub_home, tmp_path):
    from PIL import Image

    photo = tmp_path / "face.png"
    Image.new("RGB", (SIZE, SIZE), (180, 140, 120)).save(photo)
    argv = [photo, "--model", "org/tiny", "--no-align", "--set", "Young=1", "--out", tmp_path]
    res = run_py(CLI, hub_home, "edit", *argv)
    assert res.returncode == 0, res.stderr[-3000:]
    assert (tmp_path / "face_edited.png").is_file()


def test_a_hub_model_downloads_once_with_only_the_export_files(tmp_path):
    from hub_server import serve

    repo = export_tiny(tmp_path / "repo", attrs=["Male", "Young"])
    (repo / "training-notes.bin").write_bytes(b"x" * 1000)  # not an export file: not fetched
    server, requests = serve({"org/remote": (repo, COMMIT)})
    url = f"http://127.0.0.1:{server.server_port}"
    code = (
        "import sys; from intergan.editing.editor import Editor\n"
        "e = Editor.from_pretrained(sys.argv[1], device='cpu'); print(e.attrs)"
    )
    try:
        res = run_py(code, tmp_path / "hf", "org/remote", endpoint=url)
        assert res.returncode == 0, res.stderr[-3000:]
        assert res.stdout.strip() == "['Male', 'Young']"
        snap = tmp_path / "hf" / "hub" / "models--org--remote" / "snapshots" / COMMIT
        assert sorted(p.name for p in snap.iterdir()) == [
            "README.md", "config.json", "generator.safetensors", "judge.json", "judge.safetensors"
        ]  # fmt: skip
        assert not any("training-notes" in r for r in requests)
        res = run_py(CLI, tmp_path / "hf", "export", "org/nobody", endpoint=url)
        assert "org/nobody is neither a local file" in error_line(res.stderr)
    finally:
        server.shutdown()
    res = run_py(code, tmp_path / "hf", "org/remote")  # offline now: from the cache
    assert res.returncode == 0 and res.stdout.strip() == "['Male', 'Young']", res.stderr[-3000:]


def test_an_offline_miss_says_it_is_offline(hub_home):
    res = run_py(CLI, hub_home, "export", "org/absent", "--out", hub_home / "x")
    assert res.returncode == 2
    line = error_line(res.stderr)
    assert "org/absent" in line and "HF_HUB_OFFLINE" in line
    res = run_py(CLI, hub_home, "export", "org/tiny@v9", "--out", hub_home / "x")
    assert "org/tiny@v9" in error_line(res.stderr)


def test_without_huggingface_hub_the_error_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # as if not installed
    with pytest.raises(UserError, match=r"intergan\[hub\]"):
        pretrained.resolve_model("org/tiny")


def test_a_local_folder_wins_over_a_hub_id(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # the hub is never asked
    export_tiny(tmp_path / "org" / "tiny")
    assert pretrained.resolve_model("org/tiny") == Path("org/tiny")
    with pytest.raises(UserError, match="applies to Hub ids only"):
        pretrained.resolve_model("org/tiny", revision="v1")  # never silently ignored


def _card(folder: Path) -> tuple[dict, str]:
    text = (folder / "README.md").read_text()
    _, header, body = text.split("---\n", 2)
    return yaml.safe_load(header), body


def test_an_export_carries_a_model_card_with_its_evaluation(tmp_path):
    cfg = Config(model=model_config("tiny", img_size=SIZE))
    cfg.data.path = "data/celeba"
    G = build_generator(cfg.model)
    run = tmp_path / "run"
    save_checkpoint({"step": 9, "config": cfg.to_dict(), "G": G.state_dict()}, run)
    meta, body = _card(export_run(run, tmp_path / "a"))
    assert meta["library_name"] == "intergan" and meta["pipeline_tag"] == "image-to-image"
    assert meta["license"] == "unknown" and "intergan" in meta["tags"]
    assert "| steps | 9 of" in body and "data/celeba" in body and "Not evaluated" in body
    # intergan evaluate's report of the same checkpoint goes on the card; another step's not
    figures = {
        "source": {"steps": 9, "data": "data/celeba", "split": "test", "judge": "J"},
        "n_images": 50, "editing_accuracy_mean": 0.875, "preservation_mean": 0.9,
        "multi_attribute_accuracy": 0.5, "reconstruction": {"psnr": 21.5, "ssim": 0.7},
        "frechet": {"label": "FD (judge features)", "value": 3.25},
    }  # fmt: skip
    (run / "eval_test").mkdir()
    (run / "eval_test" / "metrics.json").write_text(json.dumps(figures))
    argv = ["--license", "cc-by-nc-4.0", "--dataset", "org/celeba"]
    from intergan.cli import main

    assert main(["export", str(run), "--out", str(tmp_path / "b"), *argv]) == 0
    meta, body = _card(tmp_path / "b")
    assert meta["license"] == "cc-by-nc-4.0" and meta["datasets"] == ["org/celeba"]
    assert "| editing accuracy (mean) | 87.5% |" in body and "21.50 dB" in body
    figures["source"]["steps"] = 8
    (run / "eval_test" / "metrics.json").write_text(json.dumps(figures))
    _, body = _card(export_run(run, tmp_path / "c"))
    assert "87.5%" not in body


def test_an_export_folder_is_a_hub_snapshot(tmp_path, hub_home):
    """What `hf upload` sends (the export folder) loads back by Hub id."""
    torch.manual_seed(0)
    home = tmp_path / "hf"
    shutil.copytree(hub_home / "hub", home / "hub")
    snap = home / "hub" / "models--org--card" / "snapshots" / COMMIT
    export_tiny(snap)
    (snap.parent.parent / "refs").mkdir()
    (snap.parent.parent / "refs" / "main").write_text(COMMIT)
    res = run_py(CLI, home, "export", "org/card", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert (tmp_path / "out" / "org" / "card" / "export" / "README.md").is_file()
    assert not (snap / "export").exists()  # never into the Hub cache
