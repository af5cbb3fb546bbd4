"""``intergan import attgan-pytorch``: AttGAN-PyTorch's weights through the editing API.

The reference below is AttGAN-PyTorch's generator written out from that project's
facts (attgan.py's Generator, nn.py's blocks, test.py / test_slide.py's labels) as a
functional forward over the raw state dict, with its key names; it shares no code
with ``intergan.models``. Weights are random, batch norms in eval mode with running
statistics far from (0, 1), so a wrong normalisation, slope, skip or tile shows.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from intergan.cli import main
from intergan.editing.editor import Editor
from intergan.errors import UserError
from intergan.models.import_attgan import import_attgan_pytorch

ATTRS = ["Bald", "Bangs", "Black_Hair", "Blond_Hair", "Brown_Hair", "Bushy_Eyebrows",
         "Eyeglasses", "Male", "Mouth_Slightly_Open", "Mustache", "No_Beard", "Pale_Skin",
         "Young"]  # fmt: skip
HAIR = ["Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair"]


# ------------------------------------------------------------ the reference (upstream facts)
def upstream_state(s: dict, seed: int) -> dict[str, torch.Tensor]:
    """A random state dict with the names and shapes attgan.py's Generator has for the
    settings ``s``: per layer ``layers.0`` the (transposed) conv, with a bias only
    without a norm, ``layers.1`` its norm (BatchNorm2d: weight, bias, running stats,
    counter; InstanceNorm2d(affine=True): weight, bias); the last layer 3 outputs, a bias."""
    g = torch.Generator().manual_seed(seed)
    n, na, sd = s["enc_layers"], len(s["attrs"]), {}

    def layer(prefix: str, w: torch.Tensor, norm: str) -> None:
        sd[prefix + "0.weight"] = w
        c = w.shape[1] if prefix.startswith("dec") else w.shape[0]
        if norm == "none":
            sd[prefix + "0.bias"] = 0.1 * torch.randn(c, generator=g)
            return
        sd[prefix + "1.weight"] = 1 + 0.3 * torch.randn(c, generator=g)
        sd[prefix + "1.bias"] = 0.2 * torch.randn(c, generator=g)
        if norm == "batchnorm":
            sd[prefix + "1.running_mean"] = 0.5 * torch.randn(c, generator=g)
            sd[prefix + "1.running_var"] = 0.2 + 2 * torch.rand(c, generator=g)
            sd[prefix + "1.num_batches_tracked"] = torch.tensor(1000)

    c_in = 3
    for i in range(n):
        c = min(s["enc_dim"] * 2**i, 1024)
        w = torch.randn(c, c_in, 4, 4, generator=g) / (4 * c_in**0.5)
        layer(f"enc_layers.{i}.layers.", w, s["enc_norm"])
        c_in = c
    c_in += na
    for i in range(n):
        last = i == n - 1
        c = 3 if last else min(s["dec_dim"] * 2 ** (n - 1 - i), 1024)
        w = torch.randn(c_in, c, 4, 4, generator=g) / (2 * c_in**0.5)
        layer(f"dec_layers.{i}.layers.", w, "none" if last else s["dec_norm"])
        c_in = c + (c // 2 if i < s["shortcut_layers"] else 0)
        c_in += na if i < s["inject_layers"] else 0
    return sd


ACTIVATIONS = {"relu": F.relu, "lrelu": lambda h: F.leaky_relu(h, 0.01), "tanh": torch.tanh,
               "sigmoid": torch.sigmoid, "none": lambda h: h}  # fmt: skip


def reference_G(sd: dict, s: dict, x: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """AttGAN-PyTorch's ``G(x, b)`` in eval mode: 4x4 stride-2 (transposed) convs with
    padding 1, each followed by its norm (BatchNorm2d with running statistics,
    InstanceNorm2d with the batch's own, eps 1e-5 both) and activation (LeakyReLU's
    default slope 0.01), b tiled at img_size / 2**enc_layers and concatenated, encoder
    map zs[n - 2 - i] after decoder layer i < shortcut_layers, b tiled again after it
    for i < inject_layers, a biased last layer with tanh."""

    def block(h, p, norm, acti, conv):
        h = conv(h, sd[p + "0.weight"], sd.get(p + "0.bias"), stride=2, padding=1)
        if norm == "batchnorm":
            mean, var = sd[p + "1.running_mean"], sd[p + "1.running_var"]
            h = F.batch_norm(h, mean, var, sd[p + "1.weight"], sd[p + "1.bias"], eps=1e-5)
        elif norm == "instancenorm":
            h = F.instance_norm(h, weight=sd[p + "1.weight"], bias=sd[p + "1.bias"], eps=1e-5)
        return ACTIVATIONS[acti](h)

    def tiled(side):
        return b.view(b.size(0), -1, 1, 1).repeat(1, 1, side, side)

    n, zs, h = s["enc_layers"], [], x
    for i in range(n):
        h = block(h, f"enc_layers.{i}.layers.", s["enc_norm"], s["enc_acti"], F.conv2d)
        zs.append(h)
    f = s["img_size"] // 2**n
    h = torch.cat([zs[-1], tiled(f)], dim=1)
    for i in range(n):
        if i == n - 1:
            return block(h, f"dec_layers.{i}.layers.", "none", "tanh", F.conv_transpose2d)
        h = block(h, f"dec_layers.{i}.layers.", s["dec_norm"], s["dec_acti"], F.conv_transpose2d)
        if i < s["shortcut_layers"]:
            h = torch.cat([h, zs[n - 2 - i]], dim=1)
        if i < s["inject_layers"]:
            h = torch.cat([h, tiled(f * 2 ** (i + 1))], dim=1)
    raise AssertionError("unreachable")


def flip_target(att_a: list[float], attr: str, s: dict) -> torch.Tensor:
    """test.py's att_b_ for flipping ``attr``: flip, data.py's conflict check (hair
    colours only here), encode with thres_int, then the edited entry * test_int / thres_int."""
    att_b = torch.tensor([att_a])
    i = s["attrs"].index(attr)
    att_b[:, i] = 1 - att_b[:, i]
    if attr in HAIR and att_b[0, i] != 0:
        for other in HAIR:
            if other != attr and other in s["attrs"] and att_b[0, s["attrs"].index(other)] != 0:
                att_b[0, s["attrs"].index(other)] = 1 - att_b[0, i]
    att_b_ = (att_b * 2 - 1) * s["thres_int"]
    att_b_[..., i] = att_b_[..., i] * s["test_int"] / s["thres_int"]
    return att_b_


def slide_target(att_a: list[float], attr: str, value: float, s: dict) -> torch.Tensor:
    """test_slide.py's att_b_: the source encoded, the slid entry set to ``value``."""
    att_b_ = (torch.tensor([att_a]) * 2 - 1) * s["thres_int"]
    att_b_[..., s["attrs"].index(attr)] = value
    return att_b_


# ------------------------------------------------------------ runs on disk
def settings(**kw) -> dict:
    """A setting.txt object as train.py writes it (vars(args) dumped as JSON)."""
    s = {"attrs": ATTRS, "data": "CelebA", "data_path": "data/img_align_celeba",
         "img_size": 128, "shortcut_layers": 1, "inject_layers": 0, "enc_dim": 16,
         "dec_dim": 16, "enc_layers": 5, "dec_layers": 5, "enc_norm": "batchnorm",
         "dec_norm": "batchnorm", "enc_acti": "lrelu", "dec_acti": "relu", "thres_int": 0.5,
         "test_int": 1.0, "dis_dim": 64, "mode": "wgan", "betas": [0.5, 0.999], "gpu": True,
         "multi_gpu": False, "experiment_name": "run"}  # fmt: skip
    return {**s, **kw}


def write_run(root: Path, s: dict, states: dict[int, dict]) -> Path:
    """RUN/setting.txt + RUN/checkpoint/weights.N.pth for each N of ``states``."""
    (root / "checkpoint").mkdir(parents=True)
    (root / "setting.txt").write_text(json.dumps(s, indent=4, separators=(",", ":")))
    for n, st in states.items():
        torch.save(st, root / "checkpoint" / f"weights.{n}.pth")
    return root


def photo(size: int, seed: int) -> np.ndarray:
    """A smooth random picture (H, W, 3) uint8 of the model's size."""
    g = torch.Generator().manual_seed(seed)
    small = torch.rand(1, 3, size // 8, size // 8, generator=g)
    big = F.interpolate(small, size=(size, size), mode="bilinear", align_corners=False)
    return (big[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()


def assert_same_as_upstream(editor, sd, s, img, att_a, edits) -> None:
    """Editor.edit(img, {attr: v}, source=att_a, align=False) against the reference
    G(x, b) for each (changes, b): every pixel within one level of 255."""
    x = (
        torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255 - 0.5
    ) / 0.5  # ToTensor+Normalize
    for changes, b in edits:
        with torch.no_grad():
            want = (reference_G(sd, s, x, b)[0].permute(1, 2, 0) + 1) * 127.5
        got = editor.edit(img, changes, source=att_a, align=False, blend="raw")
        err = np.abs(got.astype(np.float64) - want.numpy()).max()
        assert err <= 1.0, (changes, err)
        assert np.abs(got.astype(np.float64) - img).max() > 10  # the model did something


# ------------------------------------------------------------ equivalence
@pytest.mark.parametrize(
    "kw",
    [
        dict(img_size=128, shortcut_layers=1, inject_layers=0),
        dict(
            img_size=256,
            shortcut_layers=1,
            inject_layers=1,
            enc_dim=8,
            dec_dim=8,
            data="CelebA-HQ",
            thres_int=0.6,
            test_int=0.9,
        ),  # fmt: skip
    ],
    ids=["128_shortcut1_inject0", "256_shortcut1_inject1_hq"],
)
def test_an_import_edits_as_attgan_pytorch_does(tmp_path, kw):
    s = settings(**kw)
    sd = upstream_state(s, seed=1)
    run = write_run(tmp_path / "run", s, {49: {"G": sd}})
    out = import_attgan_pytorch(run, tmp_path / "model")
    editor = Editor.from_pretrained(out, backend="torch")
    assert editor.size == s["img_size"] and editor.attrs == ATTRS
    att_a = [0.0] * 13
    att_a[ATTRS.index("Black_Hair")] = att_a[ATTRS.index("Young")] = 1.0
    t = s["test_int"]
    edits = [
        ({"Blond_Hair": 1.0}, flip_target(att_a, "Blond_Hair", s)),  # conflict: Black off
        ({"Young": -1.0}, flip_target(att_a, "Young", s)),
        ({"Male": 0.4}, slide_target(att_a, "Male", 0.4 * t, s)),
        ({"Pale_Skin": -0.7}, slide_target(att_a, "Pale_Skin", -0.7 * t, s)),
    ]
    assert_same_as_upstream(editor, sd, s, photo(s["img_size"], 2), att_a, edits)


def test_other_norms_activations_and_attributes_edit_as_upstream(tmp_path):
    attrs = ["Smiling", "Male", "Eyeglasses", "Blond_Hair", "Black_Hair"]
    s = settings(img_size=64, enc_dim=8, dec_dim=8, enc_layers=4, dec_layers=4, attrs=attrs,
                 enc_norm="instancenorm", dec_norm="none", enc_acti="tanh",
                 dec_acti="sigmoid", shortcut_layers=2, inject_layers=3)  # fmt: skip
    sd = upstream_state(s, seed=4)
    model = import_attgan_pytorch(write_run(tmp_path / "run", s, {0: {"G": sd}}), tmp_path / "m")
    editor = Editor.from_pretrained(model, backend="torch")
    assert editor.attrs == attrs
    att_a = [1.0, 0.0, 0.0, 0.0, 1.0]
    edits = [({"Blond_Hair": 1.0}, flip_target(att_a, "Blond_Hair", s)),
             ({"Smiling": -0.3}, slide_target(att_a, "Smiling", -0.3, s))]  # fmt: skip
    assert_same_as_upstream(editor, sd, s, photo(64, 5), att_a, edits)


def test_a_full_checkpoint_keeps_d_and_loads_like_the_g_only_file(tmp_path):
    s = settings(img_size=64, enc_dim=8, dec_dim=8, enc_layers=4, dec_layers=4)
    sd = upstream_state(s, seed=3)
    D = {"conv.0.layers.0.weight": torch.randn(8, 3, 4, 4), "fc_adv.1.layers.0.bias": torch.ones(1)}
    net = torch.nn.Linear(2, 2)
    opt = torch.optim.Adam(net.parameters())
    net(torch.ones(1, 2)).sum().backward()
    opt.step()
    full = {"G": {"module." + k: v for k, v in sd.items()},  # a --multi_gpu run: DataParallel
            "D": {"module." + k: v for k, v in D.items()},
            "optim_G": opt.state_dict(), "optim_D": opt.state_dict()}  # fmt: skip
    a = import_attgan_pytorch(write_run(tmp_path / "g", s, {1: {"G": sd}}), tmp_path / "a")
    b = import_attgan_pytorch(write_run(tmp_path / "full", s, {1: full}), tmp_path / "b")
    from safetensors.torch import load_file

    assert not (a / "discriminator.safetensors").exists()
    kept = load_file(str(b / "discriminator.safetensors"))
    assert sorted(kept) == sorted(D) and all(torch.equal(kept[k], D[k]) for k in D)
    ga, gb = (
        load_file(str(a / "generator.safetensors")),
        load_file(str(b / "generator.safetensors")),
    )
    assert sorted(ga) == sorted(sd) and all(torch.equal(ga[k], gb[k]) for k in ga)
    saved = json.loads((b / "config.json").read_text())
    record = saved["export"]["training"]
    assert record["kept"] == ["G", "D"] and record["framing"] == "celeba"
    assert saved["data"]["framing"] == "celeba"  # what the editor reads first


def test_epoch_picks_the_file_and_the_default_is_the_highest(tmp_path):
    s = settings(img_size=64, enc_dim=8, dec_dim=8, enc_layers=4, dec_layers=4)
    states = {n: {"G": upstream_state(s, seed=n)} for n in (3, 12)}  # 12 > 3, "12" < "3"
    run = write_run(tmp_path / "run", s, states)
    from safetensors.torch import load_file

    for epoch, want in ((None, 12), (3, 3)):
        out = import_attgan_pytorch(run, tmp_path / f"m{epoch}", epoch=epoch)
        got = load_file(str(out / "generator.safetensors"))
        key = "enc_layers.0.layers.0.weight"
        assert torch.equal(got[key], states[want]["G"][key])
    with pytest.raises(UserError, match=r"no weights.5.pth; its epochs: 3, 12"):
        import_attgan_pytorch(run, tmp_path / "m5", epoch=5)


def test_weights_that_differ_from_the_settings_name_the_first_tensor(tmp_path):
    s = settings(img_size=64, enc_dim=8, dec_dim=8, enc_layers=4, dec_layers=4)
    sd = upstream_state(s, seed=0)  # inject_layers 0
    run = write_run(tmp_path / "run", {**s, "inject_layers": 1}, {0: {"G": sd}})
    with pytest.raises(UserError) as e:
        import_attgan_pytorch(run, tmp_path / "m")
    msg = str(e.value)
    assert "tensor dec_layers.1.layers.0.weight has shape (96, 32, 4, 4)" in msg
    assert "the settings give (109, 32, 4, 4)" in msg and not (tmp_path / "m").exists()


def test_an_unsupported_setting_is_named(tmp_path, capsys):
    s = settings(img_size=64, enc_dim=8, dec_dim=8, enc_layers=4, dec_layers=4)
    run = write_run(tmp_path / "run", {**s, "enc_norm": "switchnorm"}, {0: {"G": {}}})
    assert main(["import", "attgan-pytorch", str(run), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "setting enc_norm is 'switchnorm'" in err and "batchnorm, instancenorm, none" in err
    assert not (tmp_path / "m").exists()


def test_a_text_file_or_pickled_code_is_refused_without_running_it(tmp_path):
    s = settings(img_size=64, enc_dim=8, dec_dim=8, enc_layers=4, dec_layers=4)
    (tmp_path / "setting.txt").write_text(json.dumps(s))
    text = tmp_path / "weights.1.pth"
    text.write_text("not weights\n")
    with pytest.raises(UserError, match="is not a PyTorch weights file"):
        import_attgan_pytorch(text, tmp_path / "m", setting=tmp_path / "setting.txt")
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    evil = tmp_path / "evil.pth"
    with evil.open("wb") as f:
        pickle.dump({"G": Evil()}, f)
    torch.save({"G": Evil()}, tmp_path / "evil2.pth")
    for path in (evil, tmp_path / "evil2.pth"):
        with pytest.raises(UserError, match="holds more than tensors .*Unsupported"):
            import_attgan_pytorch(path, tmp_path / "m", setting=tmp_path / "setting.txt")
    assert not marker.exists()


def test_a_pytorch_0_4_file_without_counters_and_settings_by_flag(tmp_path, monkeypatch, capsys):
    """Legacy (non-zip) serialisation, no num_batches_tracked (PyTorch 0.4.0), a lone
    .pth with the settings given by --set; the default --out is the user's model folder."""
    s = settings(img_size=64, enc_dim=8, dec_dim=8, enc_layers=4, dec_layers=4)
    sd = {k: v for k, v in upstream_state(s, seed=5).items() if "num_batches" not in k}
    pth = tmp_path / "weights.7.pth"
    torch.save({"G": sd}, pth, _use_new_zipfile_serialization=False)
    monkeypatch.setenv("INTERGAN_HOME", str(tmp_path / "home"))
    flags = ["--set", "img_size=64", "--set", "enc_dim=8", "--set", "dec_dim=8",
             "--set", "enc_layers=4", "--set", "dec_layers=4"]  # fmt: skip
    assert main(["import", "attgan-pytorch", str(pth), *flags]) == 0
    assert "--model weights.7" in capsys.readouterr().out
    editor = Editor.from_pretrained("weights.7", backend="torch")  # found by name
    edits = [({"Male": 1.0}, flip_target([0.0] * 13, "Male", s))]
    assert_same_as_upstream(editor, sd, s, photo(64, 1), [0.0] * 13, edits)
    assert main(["import", "attgan-pytorch", str(pth), "--set", "imgsize=64", "--overwrite"]) == 2
    assert "--set imgsize: not a setting the generator uses" in capsys.readouterr().err
    assert main(["import", "attgan-pytorch", str(pth), "--overwrite"]) == 2  # no settings
    assert "no setting.txt found" in capsys.readouterr().err


def test_an_import_exports_to_onnx_and_keeps_its_architecture(tmp_path):
    pytest.importorskip("onnxscript")
    s = settings(img_size=64, enc_dim=8, dec_dim=8, enc_layers=4, dec_layers=4, inject_layers=1)
    sd = upstream_state(s, seed=6)
    model = import_attgan_pytorch(write_run(tmp_path / "run", s, {0: {"G": sd}}), tmp_path / "m")
    assert main(["export", str(model), "--onnx", "--out", str(tmp_path / "onnx")]) == 0
    assert "architecture" in json.loads((tmp_path / "onnx" / "config.json").read_text())
    img, src = photo(64, 3), [0.0] * 13
    a = Editor.from_pretrained(tmp_path / "onnx", backend="onnx").edit(img, {"Young": 1}, src,
                                                                          align=False)  # fmt: skip
    b = Editor.from_pretrained(model, backend="torch").edit(img, {"Young": 1}, src, align=False)
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


def test_a_real_photo_runs_through_an_import_in_its_training_framing(tmp_path):
    """Detect, align to CelebA's crop-170 framing, edit, paste back: the astronaut."""
    pytest.importorskip("onnxruntime")
    skdata = pytest.importorskip("skimage.data")
    from intergan.editing.align import transform_points

    s = settings()  # 128 px, shortcut 1, inject 0, CelebA
    model = import_attgan_pytorch(write_run(tmp_path / "run", s, {0: {"G": upstream_state(s, 7)}}),
                                  tmp_path / "m")  # fmt: skip
    editor = Editor.from_pretrained(model, backend="torch")
    assert editor.framing.name == "celeba"
    photo_ = skdata.astronaut()
    session = editor.open(photo_, source={"Young": 1})
    (face,) = session.faces[0]
    eyes = transform_points(session.framed.mats[0], face.eyes)
    assert np.abs(eyes - editor.framing.points(128)[:2]).max() < 2  # eyes where CelebA has them
    out = session.edit({"Blond_Hair": 1})
    assert out.shape == photo_.shape and out.dtype == np.uint8
    changed = np.any(out != photo_, axis=-1)
    ys, xs = np.nonzero(changed)
    assert xs.min() < 205 and xs.max() > 245 and ys.min() < 95 and ys.max() > 140  # the face
    assert not changed[320:].any() and not changed[:, :100].any() and not changed[:, 420:].any()
    hq = settings(img_size=64, enc_dim=8, dec_dim=8, enc_layers=4, dec_layers=4, data="CelebA-HQ")
    hq_run = write_run(tmp_path / "hq", hq, {0: {"G": upstream_state(hq, 1)}})
    hq_model = import_attgan_pytorch(hq_run, tmp_path / "hq_m")
    assert Editor.from_pretrained(hq_model, backend="torch").framing.name == "celebahq"


def test_a_bundled_judge_estimates_the_source_attributes(tmp_path, capsys):
    s = settings(img_size=64, enc_dim=8, dec_dim=8, enc_layers=4, dec_layers=4)
    run = write_run(tmp_path / "run", s, {0: {"G": upstream_state(s, 8)}})
    out = tmp_path / "m"
    assert main(["import", "attgan-pytorch", str(run), "--out", str(out), "--judge",
                 "synthfaces-64"]) == 0  # fmt: skip
    assert (out / "judge.json").is_file() and "--source-attrs" not in capsys.readouterr().out
    editor = Editor.from_pretrained(out, backend="torch")
    (estimate,) = editor.estimate(photo(64, 0), align=False)
    assert sorted(estimate) == sorted(ATTRS)
    editor.edit(photo(64, 0), {"Young": 1}, align=False)  # no source: the judge's estimate
    other = write_run(tmp_path / "run2", {**s, "attrs": ["Smiling"]}, {0: {"G": {}}})
    assert main(["import", "attgan-pytorch", str(other), "--out", str(tmp_path / "m2"),
                 "--judge", "synthfaces-64"]) == 2  # fmt: skip
    assert "does not predict Smiling" in capsys.readouterr().err


def test_out_never_replaces_the_run_being_imported(tmp_path, capsys):
    """--out RUN --overwrite (or a folder inside it) replaced the AttGAN-PyTorch run,
    its weights and setting.txt included, with the import."""
    s = settings(img_size=64, enc_dim=8, dec_dim=8, enc_layers=4, dec_layers=4)
    run = write_run(tmp_path / "run", s, {3: {"G": upstream_state(s, 1)}})
    before = sorted(p.relative_to(run) for p in run.rglob("*"))
    for out in (run, run / "checkpoint"):
        argv = ["import", "attgan-pytorch", str(run), "--out", str(out), "--overwrite"]
        assert main(argv) == 2
        assert "write into a new folder" in capsys.readouterr().err
    assert sorted(p.relative_to(run) for p in run.rglob("*")) == before
