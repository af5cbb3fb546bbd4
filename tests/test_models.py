"""The generators and the discriminator: shapes, symmetry, gradients, ablations, errors."""

import pytest
import torch
import torch.nn.functional as F

from intergan.attributes import encode
from intergan.config import VARIANTS, ModelConfig, model_config
from intergan.errors import UserError
from intergan.models import GeneratorOutput, build_discriminator, build_generator
from intergan.models.haar import HaarDWT, HaarIDWT


def _batch(cfg, b=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    s, n = cfg.img_size, cfg.n_attrs
    images = torch.rand(b, 3, s, s, generator=g) * 2 - 1
    source = (torch.rand(b, n, generator=g) > 0.5).float()
    target = (torch.rand(b, n, generator=g) > 0.5).float()
    return images, encode(target), encode(source), target, source


def _models(variant, size=32, **kw):
    torch.manual_seed(0)
    cfg = model_config("tiny", variant, size, **kw)
    return cfg, build_generator(cfg), build_discriminator(cfg)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("size", [32, 64, 128])
def test_output_shapes_and_ranges(variant, size):
    cfg, G, D = _models(variant, size)
    images, t, s, _, _ = _batch(cfg, b=3)
    out = G(images, t, s)
    assert isinstance(out, GeneratorOutput)
    for img in (out.edited, out.reconstructed):
        assert img.shape == (3, 3, size, size)
        assert img.min() >= -1 and img.max() <= 1
    bottleneck = size // 2**cfg.n_down if variant == "attgan" else cfg.bottleneck_size
    assert out.z_edit.shape[0] == 3 and out.z_edit.shape[2:] == (bottleneck, bottleneck)
    assert out.z_rec.shape == out.z_edit.shape
    adv, cls = D(out.edited)
    assert adv.shape == (3, 1) and cls.shape == (3, cfg.n_attrs)
    # equal up to float rounding: a batch of B and one of 2B may take other kernels
    torch.testing.assert_close(G.edit(images, t, s), out.edited)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("train", [True, False])
def test_same_target_and_source_gives_identical_streams(variant, train):
    cfg, G, _ = _models(variant)
    G.train(train)
    images, _, s, _, _ = _batch(cfg)
    out = G(images, s, s)
    assert torch.equal(out.edited, out.reconstructed)
    assert torch.equal(out.z_edit, out.z_rec)
    # and a real edit does change the edited stream only
    t = -s
    edited = G(images, t, s)
    assert not torch.equal(edited.edited, edited.reconstructed)


@pytest.mark.parametrize("variant", ["intergan", "no_cti"])
def test_reconstruction_bottleneck_ignores_the_target(variant):
    cfg, G, _ = _models(variant)
    images, t, s, _, _ = _batch(cfg)
    a, b = G(images, t, s), G(images, -t, s)
    assert torch.equal(a.z_rec, b.z_rec)
    assert not torch.equal(a.z_edit, b.z_edit)


def test_state_dict_round_trip_without_haar_filters():
    cfg, G, _ = _models("intergan")
    G.eval()
    state = G.state_dict()
    assert not any("dwt" in k for k in state)
    torch.manual_seed(1)
    H = build_generator(cfg).eval()
    H.load_state_dict(state, strict=True)
    images, t, s, _, _ = _batch(cfg)
    assert torch.equal(G(images, t, s).edited, H(images, t, s).edited)


def _dead(module):
    return [n for n, p in module.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_parameter_gets_a_gradient(variant):
    cfg, G, D = _models(variant)
    images, t, s, t01, s01 = _batch(cfg, b=3)
    out = G(images, t, s)
    adv, cls = D(out.edited)
    g_loss = (
        -adv.mean()
        + F.binary_cross_entropy_with_logits(cls, t01)
        + (out.reconstructed - images).abs().mean()
    )
    g_loss.backward()
    assert _dead(G) == []
    D.zero_grad()
    adv_real, cls_real = D(images)
    adv_fake, _ = D(out.edited.detach())
    # LSGAN form: under WGAN the adv head's last bias cancels (real - fake) by design
    d_loss = (
        (adv_real - 1).pow(2).mean()
        + adv_fake.pow(2).mean()
        + F.binary_cross_entropy_with_logits(cls_real, s01)
    )
    d_loss.backward()
    assert _dead(D) == []


def _names(variant):
    return {n for n, _ in build_generator(model_config("tiny", variant, 32)).named_parameters()}


def test_ablations_remove_exactly_their_modules():
    full = _names("intergan")
    hfcm = full - _names("no_hfcm")
    cti = full - _names("no_cti")
    assert hfcm and all(n.startswith("hfcm.") for n in hfcm)
    assert {n for n in full if n.startswith("hfcm.")} == hfcm
    assert cti and all(n.startswith("cti.") for n in cti)
    assert {n for n in full if n.startswith("cti.")} == cti
    assert _names("no_hfcm") - full == set() and _names("no_cti") - full == set()


def test_haar_reconstructs_exactly_and_ignores_constants():
    x = torch.randn(2, 5, 16, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    ll, high = HaarDWT()(x)
    assert ll.shape == (2, 5, 8, 4) and high.shape == (2, 15, 8, 4)
    assert torch.allclose(HaarIDWT()(ll, high), x, atol=1e-10, rtol=0)
    const = torch.full((1, 3, 8, 8), 0.7, dtype=torch.float64)
    ll, high = HaarDWT()(const)
    assert high.abs().max() < 1e-12
    assert torch.allclose(ll, torch.full_like(ll, 1.4))  # orthonormal: 2x2 mean times 2
    assert HaarDWT().state_dict() == {}  # fixed filters are not checkpointed


def test_haar_has_no_trainable_parameters():
    assert list(HaarDWT().parameters()) == [] and list(HaarIDWT().parameters()) == []


@pytest.mark.parametrize("size", [48, 16])
def test_bad_size_is_rejected(size):
    with pytest.raises(UserError, match="img_size"):
        build_generator(ModelConfig(img_size=size))


@pytest.mark.parametrize("variant", ["intergan", "attgan"])
def test_bad_inputs_get_clear_errors(variant):
    cfg, G, D = _models(variant)
    images, t, s, _, _ = _batch(cfg)
    with pytest.raises(UserError, match=r"target must have shape \(B, 13\)"):
        G(images, t[:, :5], s)
    with pytest.raises(UserError, match="source has batch size 1"):
        G(images, t, s[:1])
    G(images * 3, t, s)  # training mode: no value check (a host sync on every step)
    G.eval()  # what load_generator and the Editor hand out
    with pytest.raises(UserError, match=r"\[-1, 1\]"):
        G(images * 3, t, s)
    with pytest.raises(UserError, match="model.img_size"):
        G(F.interpolate(images, size=64), t, s)
    with pytest.raises(UserError, match="to_model"):
        G(((images + 1) * 127).to(torch.uint8), t, s)
    with pytest.raises(UserError, match=r"images must have shape \(B, 3, 32, 32\)"):
        G(images[:, :1], t, s)
    with pytest.raises(UserError, match="discriminator images"):
        D(images[:, :, :16, :16])
    assert G(images.clamp(-1, 1) * (1 + 1e-4), t, s).edited.shape == images.shape  # epsilon ok


def test_mac_counter_matches_hand_counts():
    from torch import nn

    from intergan.models.summary import count_macs

    net = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ConvTranspose2d(8, 4, 4, 2, 1))
    net.add_module("fc", nn.Sequential(nn.Flatten(), nn.Linear(4 * 16 * 16, 5)))
    macs = count_macs(net, torch.zeros(2, 3, 16, 16))
    assert macs == {"0": 8 * 8 * 8 * 3 * 9, "1": 8 * 8 * 8 * 4 * 16, "fc": 4 * 16 * 16 * 5}


def test_model_command_prints_params_and_macs_for_every_variant(capsys):
    from intergan.cli import main
    from intergan.models.summary import count_params

    assert main(["model", "--preset", "tiny", "--variant", "all", "--size", "32"]) == 0
    text = capsys.readouterr().out
    for variant in VARIANTS:
        g = build_generator(model_config("tiny", variant, 32))
        total = sum(count_params(g).values())
        row = next(line for line in text.splitlines() if line.startswith(f"| {variant} "))
        assert f"| {total:,} " in row
    for module in ("encoder", "hfcm", "bottleneck", "decoder", "cti", "head", "adv", "cls"):
        assert f"| {module} " in text
    assert main(["model", "--preset", "tiny", "--size", "48"]) == 2
    assert "img_size" in capsys.readouterr().err


def test_model_command_sizes_the_model_a_set_override_describes(capsys):
    from intergan.cli import main
    from intergan.models.summary import count_params

    args = ["model", "--preset", "tiny", "--size", "32", "--variant", "all"]
    assert main([*args, "--set", "model.enc_dim=8"]) == 0
    text = capsys.readouterr().out
    for variant in VARIANTS:  # every variant takes the override (AttGAN's widths too)
        wide = build_generator(model_config("tiny", variant, 32, enc_dim=8))
        row = next(line for line in text.splitlines() if line.startswith(f"| {variant} "))
        assert f"| {sum(count_params(wide).values()):,} " in row
    assert main(["model", "--preset", "tiny", "--set", "train.lr=1"]) == 2
    assert "model fields only" in capsys.readouterr().err
    assert main(["model", "--preset", "tiny", "--size", "32", "--set", "model.bottleneck=16"]) == 2
    assert "HFCM needs" in capsys.readouterr().err


@pytest.mark.parametrize(
    "override, field",
    [
        (dict(norm="layer"), "model.norm"),
        (dict(n_down=2), "model.n_down"),
        (dict(n_cti=5), "model.n_cti"),
        (dict(bottleneck=12), "model.bottleneck"),
        (dict(bottleneck=32), "model.n_down"),  # HFCM needs RB1 and RB2 to halve
        (dict(cti_start=4), "model.cti_start"),
        (dict(head_norm="layer"), "model.head_norm"),
        (dict(cti_init="zeros"), "model.cti_init"),
        (dict(attgan_shortcut_layers=4), "model.attgan_shortcut_layers"),
        (dict(dis_layers=7), "model.dis_layers"),
    ],
)
def test_unbuildable_configs_name_the_field(override, field):
    with pytest.raises(UserError, match=field):
        model_config("tiny", "intergan", 64, **override)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("norm", ["instance", "batch"])
def test_edit_alone_equals_the_edited_stream_of_forward(variant, train, norm):
    # the D step and the editor ask G.edit for edits, which skips the reconstruction
    # stream when the streams are independent (no CTI, and batch norm only in eval
    # mode, where it uses running statistics): it must give exactly forward's edits
    kw = {"attgan_norm": norm} if variant == "attgan" else {"norm": norm}
    cfg, G, _ = _models(variant, 32, **kw)
    if not train:  # running statistics away from their (0, 1) start
        with torch.no_grad():
            G(*_batch(cfg, b=4)[:3])
    G.train(train)
    images, t, s, _, _ = _batch(cfg, b=3)
    batches, decode = [], G.decode
    G.decode = lambda z, cond, **kw: batches.append(cond.shape[0]) or decode(z, cond, **kw)
    torch.testing.assert_close(G.edit(images, t, s), G(images, t, s).edited)
    coupled = variant in ("intergan", "no_hfcm") or (norm == "batch" and train)
    assert batches[0] == (6 if coupled else 3)  # what the edit alone decoded
    if hasattr(G, "edit_from_code"):
        torch.testing.assert_close(G.edit_from_code(G.encode(images), t, s), G.edit(images, t, s))


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("train", [True, False])
def test_the_d_steps_fakes_decode_only_the_edited_stream_unless_cti_joins_them(variant, train):
    # batch norm in training mode: the edited batch takes its own statistics (AttGAN's
    # D step), so the reconstruction stream forward() normalises with is not decoded
    kw = {"attgan_norm": "batch"} if variant == "attgan" else {"norm": "batch"}
    cfg, G, _ = _models(variant, 32, **kw)
    G.train(train)
    images, t, s, _, _ = _batch(cfg, b=3)
    batches, decode = [], G.decode
    G.decode = lambda z, cond, **kw: batches.append(cond.shape[0]) or decode(z, cond, **kw)
    fake = G.edit_for_d(images, t, s)
    cti = variant in ("intergan", "no_hfcm")
    assert batches == [6 if cti else 3]
    if cti or not train:  # the same images as the edited stream of forward
        torch.testing.assert_close(fake, G(images, t, s).edited)
    else:  # other batch statistics, so other (still valid) images
        assert fake.shape == images.shape and not torch.allclose(fake, G(images, t, s).edited)


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("norm, lt_norm, head_norm", [
    ("instance", "batch", "none"), ("instance", "instance", "none"), ("none", "none", "none"),
    ("batch", "batch", "none"), ("instance", "batch", "batch"), ("instance", "none", "instance"),
])  # fmt: skip
@pytest.mark.parametrize("variant", ["intergan", "no_hfcm"])
def test_edits_skip_the_reconstruction_stream_after_the_last_cti(
    variant, norm, lt_norm, head_norm, train
):
    # after the last CTI nothing flows between the streams, so an edit (the editor's
    # slider move, the D step's fakes) runs the finer decoder blocks on the edited rows
    # only, and the last CTI only its editing half, unless a batch norm in training
    # mode normalises over both streams: the images must be forward's edits all the same
    cfg, G, _ = _models(variant, 32, norm=norm, lt_norm=lt_norm, head_norm=head_norm)
    if not train:  # running statistics away from their (0, 1) start
        with torch.no_grad():
            G(*_batch(cfg, b=4)[:3])
    G.train(train)
    images, t, s, _, _ = _batch(cfg, b=3)
    rows = {}
    last = len(G.cti) - 1
    watched = {"last_cti_merge": G.cti[last].merge, "last_block": G.decoder[-1]}
    hooks = [m.register_forward_hook(lambda m, a, o, k=k: rows.setdefault(k, []).append(o.shape[0]))
             for k, m in watched.items()]  # fmt: skip
    edited = G.edit(images, t, s)
    for h in hooks:
        h.remove()
    torch.testing.assert_close(edited, G(images, t, s).edited)
    per_sample = not (train and "batch" in (norm, head_norm))
    cti_half = per_sample and not (train and lt_norm == "batch")
    assert rows == {"last_cti_merge": [3 if cti_half else 6],
                    "last_block": [3 if per_sample else 6]}  # fmt: skip


@pytest.mark.parametrize("bottleneck, halving", [(4, 4), (8, 3), (16, 2)])
def test_bottleneck_side_sets_which_blocks_halve(bottleneck, halving):
    cfg, G, _ = _models("intergan", 64, bottleneck=bottleneck)
    assert cfg.halvings == halving
    assert [b.down for b in G.encoder["blocks"]] == [i < halving for i in range(4)]
    assert [b.up for b in G.decoder] == [3 - j < halving for j in range(4)]
    images, t, s, _, _ = _batch(cfg)
    assert G(images, t, s).z_edit.shape[2:] == (bottleneck, bottleneck)


def test_first_cti_sits_on_the_bottleneck_codes_by_default():
    from intergan.config import BOTTLENECK_BY_SIZE

    cfg, G, _ = _models("intergan", 64)
    assert cfg.cti_start == 0 and cfg.bottleneck_size == BOTTLENECK_BY_SIZE[64]
    c_bottleneck = G.bottleneck.conv1.in_channels
    assert G.cti[0].merge.out_channels == c_bottleneck
    seen = []
    hooks = [m.register_forward_hook(lambda m, a, o: seen.append(m)) for m in (*G.cti, *G.decoder)]
    images, t, s, _, _ = _batch(cfg)
    G(images, t, s)
    for h in hooks:
        h.remove()
    assert seen[:3] == [G.cti[0], G.decoder[0], G.cti[1]]


@pytest.mark.parametrize("train", [True, False])
def test_identity_initialised_cti_passes_its_input_through_and_then_learns(train):
    """model.cti_init identity: each CTI starts as f itself, with the default init's
    shapes; the styled and conditional inputs, weighted zero, still get gradients."""
    cfg, G, _ = _models("intergan", 32, cti_init="identity", norm="batch")
    _, plain, _ = _models("intergan", 32)
    assert [p.shape for p in G.parameters()] == [p.shape for p in plain.parameters()]
    G.train(train)
    plain.train(train)
    for m, default in zip(G.cti, plain.cti, strict=True):
        f, cond = torch.randn(6, m.merge.out_channels, 8, 8), torch.randn(6, cfg.n_attrs)
        torch.testing.assert_close(m(f, cond), f)
        assert not torch.allclose(default(f, cond), f)
    images, t, s, _, _ = _batch(cfg, b=4)
    G.train(True)
    (G(images, t, s).edited - images).abs().mean().backward()
    for m in G.cti:
        c = m.merge.out_channels
        assert m.merge.weight.grad[:, c:].abs().sum() > 0


def test_configs_saved_before_the_bottleneck_field_build_the_old_model():
    from intergan.config import Config

    old = Config(model=model_config("tiny", "intergan", 64)).to_dict()
    for name in ("bottleneck", "head_norm", "cti_start", "cti_init"):
        del old["model"][name]
    m = Config.from_dict(old).model
    assert (m.bottleneck_size, m.head_norm, m.cti_start) == (64 // 2**m.n_down, m.norm, 1)
    assert m.cti_init == "default"
