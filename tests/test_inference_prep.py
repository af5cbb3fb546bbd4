"""Inference-time preparation (``intergan.models.inference``) keeps a model's outputs.

A prepared block (batch norm folded, oneDNN weights prepacked, activation fused) must
give its block's output up to float rounding, at the batch size it was packed for and
at others, and without oneDNN; an imported AttGAN-PyTorch model is prepared by the
torch backends (``auto`` included) and still edits as AttGAN-PyTorch does.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from intergan.editing import backends
from intergan.editing.editor import Editor
from intergan.models.import_attgan import import_attgan_pytorch
from intergan.models.inference import PackedConv, SplitConv, prepare_block
from test_import_attgan import (
    ATTRS,
    assert_same_as_upstream,
    flip_target,
    photo,
    reference_G,
    settings,
    upstream_state,
    write_run,
)


def block(kind: str, norm: str, act: nn.Module | None) -> nn.Sequential:
    """A conv / transposed conv (4x4, stride 2, padding 1: AttGAN's) + norm + act,
    eval mode, with batch-norm statistics far from (0, 1)."""
    torch.manual_seed(0)
    conv_type = nn.Conv2d if kind == "conv" else nn.ConvTranspose2d
    parts: list[nn.Module] = [conv_type(24, 40, 4, stride=2, padding=1, bias=norm == "none")]
    if norm == "batch":
        bn = nn.BatchNorm2d(40)
        bn.running_mean.normal_(0, 0.5)
        bn.running_var.uniform_(0.2, 2.0)
        bn.weight.data.normal_(1, 0.3)
        bn.bias.data.normal_(0, 0.2)
        parts.append(bn)
    elif norm == "instance":
        parts.append(nn.InstanceNorm2d(40, affine=True))
    parts += [act] if act is not None else []
    return nn.Sequential(*parts).eval()


CASES = [
    ("conv", "batch", nn.LeakyReLU()),
    ("convT", "batch", nn.ReLU()),
    ("convT", "none", nn.Tanh()),
    ("conv", "none", None),
    ("conv", "instance", nn.Sigmoid()),
]


@pytest.mark.parametrize("kind,norm,act", CASES, ids=[f"{k}-{n}-{a}" for k, n, a in CASES])
def test_a_prepared_block_gives_the_blocks_output(kind, norm, act):
    original = block(kind, norm, act)
    prepared = prepare_block(original, torch.float32, (1, 24, 16, 16))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in prepared.modules())  # folded
    conv = next(m for m in prepared.modules() if isinstance(m, PackedConv))
    assert conv.packed is not None  # the oneDNN path is the one tested here
    for batch in (1, 3):  # the packed size and another
        x = torch.randn(batch, 24, 16, 16)
        with torch.inference_mode():
            torch.testing.assert_close(prepared(x), original(x), atol=2e-5, rtol=1e-4)


def test_without_onednn_a_prepared_block_runs_plain_and_gives_the_same(monkeypatch):
    original = block("convT", "batch", nn.ReLU())
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: False)
    prepared = prepare_block(original, torch.float32, (1, 24, 8, 8))
    assert prepared.packed is None
    x = torch.randn(2, 24, 8, 8)
    with torch.inference_mode():
        torch.testing.assert_close(prepared(x), original(x), atol=2e-5, rtol=1e-4)


def test_a_training_mode_batch_norm_is_refused():
    with pytest.raises(ValueError, match="training mode"):
        prepare_block(block("conv", "batch", nn.ReLU()).train(), torch.float32, (1, 24, 8, 8))


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """A 64 px AttGAN-PyTorch import with random weights and its upstream state."""
    tmp = tmp_path_factory.mktemp("import")
    s = settings(img_size=64, enc_dim=8, dec_dim=8, enc_layers=4, dec_layers=4)
    sd = upstream_state(s, seed=3)
    return import_attgan_pytorch(write_run(tmp / "run", s, {1: {"G": sd}}), tmp / "m"), sd, s


@pytest.mark.parametrize("bf16", [True, False], ids=["bf16-cpu", "no-bf16"])
def test_auto_prepares_an_import_in_the_cpus_precision(imported, monkeypatch, bf16):
    model, sd, s = imported
    monkeypatch.setattr(backends, "cpu_bf16", lambda: (bf16, "test"))
    editor = Editor.from_pretrained(model)  # backend="auto"
    assert editor.backend.name == ("torch-bf16" if bf16 else "torch")
    assert "batch norms folded" in editor.backend.prepared
    if not bf16:  # float32: AttGAN-PyTorch's pixels within one level
        att_a = [0.0] * 13
        att_a[ATTRS.index("Black_Hair")] = 1.0
        edits = [({"Blond_Hair": 1.0}, flip_target(att_a, "Blond_Hair", s))]
        assert_same_as_upstream(editor, sd, s, photo(64, 6), att_a, edits)


def test_the_prepared_bf16_path_stays_within_bf16_rounding_of_upstream(imported):
    model, sd, s = imported
    editor = Editor.from_pretrained(model, backend="torch-bf16")
    att_a = [0.0] * 13
    img = photo(64, 7)
    x = (torch.from_numpy(img).permute(2, 0, 1)[None].float() / 127.5) - 1
    b = flip_target(att_a, "Young", s)
    want = (reference_G(sd, s, x, b)[0].permute(1, 2, 0) + 1) * 127.5
    got = editor.edit(img, {"Young": 1.0}, source=att_a, align=False, blend="raw")
    err = np.abs(got.astype(np.float64) - want.numpy())
    # measured: prepared 0.30 mean / 1.27 max levels, unprepared bf16 0.33 / 1.50
    assert err.mean() < 1.0 and err.max() < 4, (err.mean(), err.max())


@pytest.mark.parametrize("kind", ["conv", "convT"])
def test_a_split_convolution_adds_up_to_the_whole(kind):
    prepared = prepare_block(block(kind, "batch", nn.ReLU()), torch.float32, (1, 24, 8, 8))
    split = SplitConv(prepared, range(4, 20), (1, 24, 8, 8))
    x = torch.randn(2, 24, 8, 8)
    fixed, rest = x[:, 4:20], torch.cat([x[:, :4], x[:, 20:]], dim=1)
    with torch.inference_mode():
        torch.testing.assert_close(
            split(rest, split.cache(fixed)), prepared(x), atol=2e-5, rtol=1e-4
        )


def test_a_prepared_generator_decodes_a_batch_as_the_original_does(imported):
    from intergan.models.io import load_generator

    model, _, _ = imported
    original, prepared = load_generator(model)[0], load_generator(model)[0]
    assert "2 decoder layers cached" in prepared.prepare_inference(torch.float32)
    x, a = torch.rand(3, 3, 64, 64) * 2 - 1, torch.rand(3, 13) - 0.5
    with torch.inference_mode():
        want = original.decode(original.encode(x), a)
        code = prepared.encode(x)  # the maps, then the cached parts
        assert len(code) == len(original.enc_layers) + 2
        torch.testing.assert_close(prepared.decode(code, a), want, atol=2e-5, rtol=1e-4)
        one = [c[1:2] for c in code]  # one face of the batch, as backends.slice_code cuts it
        torch.testing.assert_close(prepared.decode(one, a[1:2]), want[1:2], atol=2e-5, rtol=1e-4)
