"""Export to safetensors + config.json and ONNX; loading them back in the Editor."""

from __future__ import annotations

import pickle

import pytest
import torch

from intergan.attributes import encode
from intergan.cli import main
from intergan.config import Config, model_config
from intergan.editing.editor import Editor
from intergan.errors import UserError
from intergan.models import build_generator
from intergan.models.export import export_run, save_exported
from intergan.models.io import load_exported, load_generator, save_checkpoint


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run folder with one checkpoint of a tiny random generator (EMA weights differ)."""
    torch.manual_seed(1)
    cfg = Config(model=model_config("tiny"))
    G, G_ema = build_generator(cfg.model), build_generator(cfg.model)
    run = tmp_path_factory.mktemp("run")
    cfg.save(run / "config.json")
    ckpt = {"step": 7, "config": cfg.to_dict(), "G": G.state_dict(), "G_ema": G_ema.state_dict()}
    save_checkpoint(ckpt, run)
    return run


def inputs(b: int, n: int = 13, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(b, 3, 32, 32, generator=g) * 2 - 1
    s = torch.randint(0, 2, (b, n), generator=g).float()
    t = torch.randint(0, 2, (b, n), generator=g).float()
    return x, encode(t), encode(s)


def test_export_round_trip_keeps_the_ema_weights_and_never_unpickles(
    run_dir, tmp_path, monkeypatch
):
    out = export_run(run_dir, tmp_path / "exp")
    names = sorted(p.name for p in out.iterdir())
    assert names == ["README.md", "config.json", "generator.safetensors"]
    G_run, cfg_run = load_generator(run_dir)

    def no_unpickling(*a, **k):
        raise AssertionError("an exported model must load without pickle")

    monkeypatch.setattr(pickle, "load", no_unpickling)
    monkeypatch.setattr(torch, "load", no_unpickling)
    G, cfg = load_exported(out)
    assert cfg.model == cfg_run.model
    for (k, a), (_, b) in zip(G_run.state_dict().items(), G.state_dict().items()):
        assert torch.equal(a, b), k
    G2, _ = load_generator(out)  # load_generator accepts the exported folder too
    x, t, s = inputs(2)
    with torch.no_grad():
        torch.testing.assert_close(G2(x, t, s).edited, G_run(x, t, s).edited)


def test_onnx_matches_pytorch_within_1e4_on_any_batch(run_dir, tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    out = tmp_path / "exp"
    assert main(["export", str(run_dir), "--out", str(out), "--onnx"]) == 0
    assert (out / "generator.onnx").is_file()
    err = capsys.readouterr().err  # each graph's stage, with its time, on stderr
    for name in ("generator.onnx", "generator_encode.onnx", "generator_edit.onnx"):
        assert f"writing {name} ...\n" in err and f"writing {name}: done in " in err
    torch_ed = Editor.from_pretrained(out, device="cpu", backend="torch", framing="celeba")
    onnx_ed = Editor.from_pretrained(out, backend="onnx", framing="celeba")
    for b in (1, 3):  # dynamic batch: neither is the export's example batch of 2
        x, t, s = inputs(b, seed=b)
        e_pt, r_pt = torch_ed.backend(x, t, s)
        e_ox, r_ox = onnx_ed.backend(x, t, s)
        assert e_ox.shape == (b, 3, 32, 32)
        assert (e_pt - e_ox).abs().max() <= 1e-4
        assert (r_pt - r_ox).abs().max() <= 1e-4
    # The same edit through the API gives the same picture with either backend.
    img = (torch.rand(1, 3, 32, 32) * 255).to(torch.uint8)
    a = torch_ed.edit(img, {"Young": 1}, source=[0] * 13, align=False)
    b = onnx_ed.edit(img, {"Young": 1}, source=[0] * 13, align=False)
    assert (a.int() - b.int()).abs().max() <= 1


@pytest.mark.parametrize("variant, extra", [("intergan", {}), ("attgan", {})])
def test_onnx_editor_encodes_once_and_edits_with_the_editing_half(tmp_path, variant, extra):
    """A slider move on the ONNX backend runs only generator_edit.onnx on the code of
    generator_encode.onnx; an export without the halves (written before them) still
    edits, through the whole graph."""
    pytest.importorskip("onnxruntime")
    from intergan.editing.backends import OnnxBackend, load_backend

    torch.manual_seed(2)
    cfg = Config(model=model_config("tiny", variant=variant, **extra))
    G = build_generator(cfg.model).eval()
    save_exported(G, cfg, tmp_path / "m")
    from intergan.models.export import export_onnx

    export_onnx(G, cfg, tmp_path / "m" / "generator.onnx")
    names = sorted(p.name for p in (tmp_path / "m").glob("*.onnx"))
    assert names == ["generator.onnx", "generator_edit.onnx", "generator_encode.onnx"]
    be, _ = load_backend(tmp_path / "m", torch.device("cpu"), "onnx")
    assert be.split and be._whole is None
    for b in (1, 3):
        x, t, s = inputs(b, seed=10 + b)
        code = be.encode(x)
        with torch.no_grad():
            ref_code, ref = G.encode(x), G.edit(x, t, s)
        assert type(code) is type(ref_code)  # AttGAN's code is its list of skips
        assert (be.decode(code, t, s) - ref).abs().max() <= 1e-4
    assert be._whole is None  # encode and decode never loaded the whole graph
    assert (be(x, t, s)[1] - G(x, t, s).reconstructed.detach()).abs().max() <= 1e-4
    assert OnnxBackend(tmp_path / "m" / "generator_edit.onnx").split  # a half names the export

    for half in ("generator_encode.onnx", "generator_edit.onnx"):
        (tmp_path / "m" / half).unlink()
    old = OnnxBackend(tmp_path / "m")
    assert not old.split
    assert (old.decode(old.encode(x), t, s) - ref).abs().max() <= 1e-4


def test_auto_runs_the_exported_onnx_on_cpus_without_native_bf16(run_dir, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    plain, with_onnx = tmp_path / "plain", tmp_path / "onnx"
    assert main(["export", str(run_dir), "--out", str(plain)]) == 0
    assert main(["export", str(run_dir), "--out", str(with_onnx), "--onnx"]) == 0
    monkeypatch.setenv("INTERGAN_CPU_BF16", "0")  # a CPU without AMX / AVX-512-BF16
    ed = Editor.from_pretrained(with_onnx, device="cpu", framing="celeba")
    assert ed.backend.name == "onnx" and "ONNX Runtime" in ed.backend.why
    out = ed.edit(torch.zeros(1, 3, 32, 32), {"Young": 1}, source=[0] * 13, align=False)
    assert out.shape == (1, 3, 32, 32)
    assert Editor.from_pretrained(plain, device="cpu", framing="celeba").backend.name == "torch"
    monkeypatch.setenv("INTERGAN_CPU_BF16", "1")  # native bf16: PyTorch bf16 wins there
    assert Editor.from_pretrained(with_onnx, device="cpu").backend.name == "torch-bf16"


def test_judge_is_bundled_and_used_by_default(run_dir, tmp_path):
    from intergan.models.judge import build_judge

    build_judge(list(Config().model.attrs), 32).save(tmp_path / "judge")
    out = export_run(run_dir, tmp_path / "exp", judge=str(tmp_path / "judge"))
    assert (out / "judge.json").is_file() and (out / "judge.safetensors").is_file()
    ed = Editor.from_pretrained(out, framing="celeba")
    assert ed.judge is not None
    assert ed.edit(torch.zeros(1, 3, 32, 32), {"Young": 1}, align=False).shape == (1, 3, 32, 32)


def test_model_and_judge_attribute_mismatch_is_refused(run_dir, tmp_path):
    from intergan.models.judge import build_judge

    build_judge(["Male", "Young"], 32).save(tmp_path / "judge")
    with pytest.raises(UserError, match="does not predict Bald"):
        export_run(run_dir, tmp_path / "exp", judge=str(tmp_path / "judge"))
    save_exported(load_generator(run_dir)[0], load_generator(run_dir)[1], tmp_path / "m")
    with pytest.raises(UserError, match="does not predict Bald"):
        Editor.from_pretrained(tmp_path / "m", judge=tmp_path / "judge", framing="celeba")


def test_missing_or_mismatched_model_files_are_named(run_dir, tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        Editor.from_pretrained(tmp_path / "nowhere")
    out = export_run(run_dir, tmp_path / "exp")
    with pytest.raises(UserError, match="no ONNX generator"):
        Editor.from_pretrained(out, backend="onnx")
    # Weights from another architecture: the error names both files.
    other = Config(model=model_config("tiny", attrs=["Male", "Young"]))
    save_exported(build_generator(other.model), other, tmp_path / "other")
    (tmp_path / "exp" / "generator.safetensors").write_bytes(
        (tmp_path / "other" / "generator.safetensors").read_bytes()
    )
    with pytest.raises(UserError, match="does not match"):
        load_exported(tmp_path / "exp")
    assert main(["export", str(tmp_path / "nowhere")]) == 2


def test_half_export_is_half_the_size_and_loads_into_float32(run_dir, tmp_path):
    full = export_run(run_dir, tmp_path / "full")
    half = export_run(run_dir, tmp_path / "half", half=True)
    size = lambda d: (d / "generator.safetensors").stat().st_size  # noqa: E731
    assert size(half) < 0.6 * size(full)
    G_run, _ = load_generator(run_dir)
    G, cfg = load_exported(half)
    assert next(G.parameters()).dtype == torch.float32
    for (k, a), (_, b) in zip(G_run.state_dict().items(), G.state_dict().items()):
        if a.is_floating_point():
            torch.testing.assert_close(a.half().float(), b, rtol=0, atol=0, msg=k)
    x, t, s = inputs(2)
    with torch.no_grad():
        torch.testing.assert_close(G(x, t, s).edited, G_run(x, t, s).edited, atol=2e-2, rtol=0)


def test_export_records_how_the_model_was_trained(run_dir, tmp_path):
    import json

    cfg = Config.load(run_dir / "config.json")
    out = tmp_path / "exp"
    assert main(["export", str(run_dir), "--out", str(out), "--note", "2 CPU cores, 5 min"]) == 0
    training = json.loads((out / "config.json").read_text())["export"]["training"]
    assert training == {
        "steps": 7,  # done, from the checkpoint
        "planned_steps": cfg.train.steps,
        "batch_size": cfg.train.batch_size,
        "data": cfg.data.path or None,
        "synthfaces": None,  # trained from in-memory data: cannot be told
        "preset": "tiny",
        "variant": "intergan",
        "img_size": 32,
        "note": "2 CPU cores, 5 min",
    }
    again = export_run(out, tmp_path / "again", half=True)  # re-exporting keeps the record
    assert json.loads((again / "config.json").read_text())["export"]["training"] == training
