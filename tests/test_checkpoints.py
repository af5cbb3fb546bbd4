"""Checkpoint files (intergan.models.io): atomic save, pruning, lookup, safe loading."""

import json

import pytest
import torch

from intergan.config import Config, model_config
from intergan.errors import UserError
from intergan.models import io


def _ckpt(step: int) -> dict:
    return {"step": step, "config": Config().to_dict(), "G": {"w": torch.full((2,), step)}}


def test_save_points_latest_at_the_new_file_and_prunes(tmp_path):
    for step in (10, 20, 30, 40):
        path = io.save_checkpoint(_ckpt(step), tmp_path, keep_last=2)
    folder = tmp_path / "checkpoints"
    assert path == folder / "step_0000040.pt"
    assert (folder / "latest").read_text().strip() == "step_0000040.pt"
    names = sorted(p.name for p in folder.iterdir())  # no temporary files left behind
    assert names == ["latest", "step_0000030.pt", "step_0000040.pt"]
    ckpt = io.load_checkpoint(io.find_checkpoint(tmp_path))
    assert ckpt["step"] == 40 and ckpt["version"] == io.CHECKPOINT_VERSION
    assert torch.equal(ckpt["G"]["w"], torch.full((2,), 40))


def test_find_checkpoint_by_step_file_and_stale_pointer(tmp_path):
    for step in (1, 2, 3):
        io.save_checkpoint(_ckpt(step), tmp_path, keep_last=5)
    folder = tmp_path / "checkpoints"
    assert io.find_checkpoint(tmp_path, 2) == folder / "step_0000002.pt"
    assert io.find_checkpoint(folder / "step_0000001.pt") == folder / "step_0000001.pt"
    assert io.find_checkpoint(folder) == folder / "step_0000003.pt"
    # a half-written temporary file from a killed save is never picked
    (folder / ".step_0000004.pt.tmp99").write_bytes(b"partial")
    (folder / "step_0000003.pt").unlink()  # pointer now stale: fall back to highest step
    assert io.find_checkpoint(tmp_path) == folder / "step_0000002.pt"
    with pytest.raises(UserError, match="available steps: 1, 2"):
        io.find_checkpoint(tmp_path, 7)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no checkpoint"):
        io.find_checkpoint(tmp_path / "empty")
    with pytest.raises(UserError, match="does not exist"):
        io.find_checkpoint(tmp_path / "nope")


class _Evil:
    def __reduce__(self):
        return (print, ("arbitrary code ran",))


def test_unsafe_truncated_or_future_files_are_refused(tmp_path):
    path = io.save_checkpoint(_ckpt(1), tmp_path)
    data = path.read_bytes()
    bad = tmp_path / "truncated.pt"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="truncated.pt is not a readable InterGAN checkpoint"):
        io.load_checkpoint(bad)
    evil = tmp_path / "evil.pt"
    torch.save({"step": 1, "x": _Evil()}, evil)  # needs full unpickling: refused
    with pytest.raises(UserError, match="evil.pt is not a readable"):
        io.load_checkpoint(evil)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(1)}, other)
    with pytest.raises(UserError, match="not an InterGAN checkpoint"):
        io.load_checkpoint(other)
    future = tmp_path / "future.pt"
    torch.save({**_ckpt(1), "version": io.CHECKPOINT_VERSION + 1}, future)
    with pytest.raises(UserError, match="upgrade intergan"):
        io.load_checkpoint(future)


def test_config_mismatch_lists_every_architecture_field():
    a = Config(model=model_config("tiny", "intergan", 32, "default"))
    b = Config(model=model_config("tiny", "no_cti", 64, ["Male", "Young", "Smiling"]))
    b.train.steps = 99  # training fields may change on resume
    lines = io.config_differences(a, b)
    names = [line.split(":")[0] for line in lines]
    # the per-size default bottleneck differs too (8x8 at 32 px, 16x16 at 64 px)
    assert names == ["model.variant", "model.img_size", "model.attrs", "model.bottleneck"]
    assert "added ['Smiling']" in lines[2] and lines[3].endswith("checkpoint 8, now 16")
    with pytest.raises(UserError) as e:
        io.check_resume_config(a, b, "runs/x/checkpoints/step_0000010.pt")
    assert "step_0000010.pt" in str(e.value) and "model.variant: checkpoint 'intergan'" in str(
        e.value
    )
    io.check_resume_config(a, Config(model=a.model), "x.pt")  # same architecture: fine


def _zero_bottleneck_files(tmp_path):
    """A checkpoint and an export of a 64 px model whose config stores ``bottleneck: 0``
    (as every file written before the side was recorded, the bundled model's included)."""
    from intergan.models import build_generator
    from intergan.models.export import save_exported

    cfg = Config(model=model_config("tiny", "intergan", 64))
    G = build_generator(cfg.model)
    old = cfg.to_dict()
    old["model"]["bottleneck"] = 0
    ckpt = {"step": 5, "config": old, "G": G.state_dict(), "G_ema": None}
    run = tmp_path / "run"
    io.save_checkpoint(ckpt, run)
    export = save_exported(G, cfg, tmp_path / "export")
    exported = json.loads((export / io.CONFIG_FILE).read_text())
    exported["model"]["bottleneck"] = 0
    (export / io.CONFIG_FILE).write_text(json.dumps(exported))
    return run, export


def test_saved_bottleneck_0_keeps_its_side_when_the_default_moves(tmp_path, monkeypatch):
    # 8x8 and 16x16 generators have the same parameter shapes: only the recorded side
    # keeps an old model from loading into the other architecture without an error.
    from intergan import config

    run, export = _zero_bottleneck_files(tmp_path)
    for side in (4, 16):  # wherever the default moves, a new run takes it
        monkeypatch.setitem(config.BOTTLENECK_BY_SIZE, 64, side)
        assert Config().model.bottleneck_size == side
    x = torch.zeros(1, 3, 64, 64)
    for path in (run, export):
        G, cfg = io.load_generator(path)
        assert cfg.model.bottleneck == 8, path
        t = torch.zeros(1, cfg.model.n_attrs)
        assert G(x, t, t).z_edit.shape[2:] == (8, 8), path


def test_saved_configs_record_the_bottleneck_side(tmp_path):
    cfg = Config()  # bottleneck 0: the per-size default
    side = cfg.model.bottleneck_size
    assert cfg.model.bottleneck == 0 and cfg.to_dict()["model"]["bottleneck"] == side
    cfg.save(tmp_path / "config.json")
    assert json.loads((tmp_path / "config.json").read_text())["model"]["bottleneck"] == side
    # A hand-written 0 still means today's default, and 0 against the side it resolves
    # to is no architecture change on resume.
    assert Config.from_dict({"model": {"bottleneck": 0}}).model.bottleneck == 0
    saved = Config.from_dict(cfg.to_dict(), saved=True)
    io.check_resume_config(saved, Config(), "x.pt")
    other = Config()
    other.model.bottleneck = side // 2
    with pytest.raises(UserError, match=f"model.bottleneck: checkpoint {side}, now {side // 2}"):
        io.check_resume_config(saved, other, "x.pt")
