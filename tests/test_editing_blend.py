"""Blend modes of the editor (``blend="raw"`` / ``"delta"``, ``--blend``) on a tiny
randomly initialised generator (32 px, CPU), with a fixed fake detector."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from intergan.attributes import DEFAULT_ATTRS
from intergan.config import Config, model_config
from intergan.editing.backends import TorchBackend
from intergan.editing.editor import Editor
from intergan.editing.paste import BLENDS, DEFAULT_BLEND
from intergan.errors import UserError
from intergan.models import build_generator
from test_editing_session import SOURCE, CountingDetector, photo

ATTRS = list(DEFAULT_ATTRS)
CHANGES = {"Young": -1.0, "Blond_Hair": 0.7}


class CountingBackend(TorchBackend):
    """The real float32 backend, counting its decoder runs."""

    decodes = 0

    def decode(self, code, target, source):
        self.decodes += 1
        return super().decode(code, target, source)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    cfg = Config(model=model_config("tiny"))
    return build_generator(cfg.model).eval(), cfg


@pytest.fixture()
def editor(model):
    G, cfg = model
    return Editor(CountingBackend(G), cfg, detector=CountingDetector(), framing="celeba")


def generator_pair(editor, session, changes):
    """The generator's edit of the session's crops and their reconstruction (the crops
    with their own labels as the target: CTI couples the streams, so the reconstruction
    stream of an edit depends on its target), in [0, 255]."""
    G = editor.backend.generator
    source = editor.labels.encode(session.source)
    target = editor.labels.target(session.source, changes)
    with torch.no_grad():
        edit = G(session.crops, target, source).edited
        rec = G(session.crops, source, source).reconstructed
    return [(t.clamp(-1, 1) + 1) * 127.5 for t in (edit, rec)]


def warp(plan, crop):
    """``crop`` (3, S, S) sampled at the plan's photo pixels: (h, w, 3)."""
    return F.grid_sample(crop[None], plan.grid, "bilinear", "border", align_corners=False)[
        0
    ].permute(1, 2, 0)


def test_blends_are_named_in_one_place_and_a_wrong_one_is_refused_before_any_work(editor):
    assert BLENDS == ("raw", "delta") and DEFAULT_BLEND in BLENDS
    img = photo()
    for call in (
        lambda: editor.edit(img, CHANGES, source=SOURCE, blend="sharp"),
        lambda: editor.interpolate(img, "Young", 3, source=SOURCE, blend="Delta"),
        lambda: editor.edit_all(img, source=SOURCE, blend=""),
    ):
        with pytest.raises(UserError, match="unknown blend .*; choose one of raw, delta"):
            call()
    assert editor.detector.calls == 0
    session = editor.open(img, source=SOURCE)
    with pytest.raises(UserError, match="choose one of raw, delta"):
        session.edit(CHANGES, blend="sum")
    assert editor.backend.decodes == 0


def test_raw_pastes_the_models_output_and_delta_adds_its_change_to_the_photo(editor):
    img = photo(1)
    session = editor.open(img, source=SOURCE)
    # the session's own decoder path, so the pixels must agree exactly; raw is the
    # paste-back as it was before blend modes: lerp(photo, warped crop, mask), rounded
    source = editor.labels.encode(session.source)
    target = editor.labels.target(session.source, CHANGES)
    edit, rec = (
        (editor.backend.decode(session.code, t, source)[0].clamp(-1, 1) + 1) * 127.5
        for t in (target, source)
    )
    plan = session.framed.plans[0]
    x0, y0, x1, y1 = plan.box
    region = torch.from_numpy(img[y0:y1, x0:x1]).float()
    raw = torch.lerp(region, warp(plan, edit), plan.mask).round().clamp(0, 255)
    delta = (region + plan.mask * warp(plan, edit - rec)).round().clamp(0, 255)
    for blend, expected in (("raw", raw), ("delta", delta)):
        out = session.edit(CHANGES, blend=blend)
        got = torch.from_numpy(out[y0:y1, x0:x1])
        keep = plan.keep[..., 0]
        assert torch.equal(got[keep], expected.to(torch.uint8)[keep])
        assert torch.equal(got[~keep], torch.from_numpy(img[y0:y1, x0:x1])[~keep])
        outside = np.ones(img.shape[:2], bool)
        outside[y0:y1, x0:x1] = False
        np.testing.assert_array_equal(out[outside], img[outside])
        np.testing.assert_array_equal(editor.edit(img, CHANGES, source=SOURCE, blend=blend), out)


def test_delta_with_no_change_returns_the_photo_and_decodes_the_reconstruction_once(editor):
    img = photo(2)
    session = editor.open(img, source=SOURCE)
    np.testing.assert_array_equal(session.edit({}, blend="delta"), img)
    assert (session.edit({}, blend="raw") != img).any()  # the model's redraw
    before = editor.backend.decodes
    session.edit({"Young": -1}, blend="delta")
    session.edit({"Young": -0.5}, blend="delta")
    assert editor.backend.decodes == before + 2  # the reconstruction is kept


def test_without_alignment_delta_at_the_models_size_is_photo_plus_edit_minus_rec(editor):
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(4)) * 2 - 1
    session = editor.open(x, source=SOURCE, align=False)
    edit, rec = (t / 127.5 - 1 for t in generator_pair(editor, session, CHANGES))
    out = editor.edit(x, CHANGES, source=SOURCE, align=False, blend="delta")
    torch.testing.assert_close(out, (x + edit - rec).clamp(-1, 1), atol=1e-5, rtol=0)
    raw = editor.edit(x, CHANGES, source=SOURCE, align=False, blend="raw")
    torch.testing.assert_close(raw, edit, atol=1e-5, rtol=0)
    u8 = (x[0].permute(1, 2, 0) * 127.5 + 127.5).round().to(torch.uint8).numpy()
    edit, rec = generator_pair(editor, editor.open(u8, source=SOURCE, align=False), CHANGES)
    out = editor.edit(u8, CHANGES, source=SOURCE, align=False, blend="delta")
    change = (edit[0] - rec[0]).permute(1, 2, 0).numpy()
    assert np.abs(out - np.clip(u8 + change, 0, 255)).max() <= 1


def test_without_alignment_delta_keeps_the_rest_of_a_larger_image(editor):
    arr = np.random.default_rng(1).integers(0, 256, (48, 80, 3), dtype=np.uint8)
    out = editor.edit(arr, {"Bald": 1}, source=SOURCE, align=False, blend="delta")
    np.testing.assert_array_equal(out[:, :16], arr[:, :16])
    np.testing.assert_array_equal(out[:, 64:], arr[:, 64:])
    np.testing.assert_array_equal(
        editor.edit(arr, {}, source=SOURCE, align=False, blend="delta"), arr
    )


def test_the_command_line_takes_blend(tmp_path, model, capsys):
    from PIL import Image

    from intergan.cli import main
    from intergan.models.export import save_exported

    G, cfg = model
    folder = save_exported(G, cfg, tmp_path / "m")
    arr = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    Image.fromarray(arr).save(tmp_path / "a.png")
    args = ["edit", str(tmp_path / "a.png"), "--model", str(folder), "--no-align",
            "--source-attrs", "Male,Young"]  # fmt: skip
    outs = {}
    for blend in BLENDS:
        assert (
            main([*args, "--set", "Young=0", "--blend", blend, "--out", str(tmp_path / blend)]) == 0
        )
        outs[blend] = np.asarray(Image.open(tmp_path / blend / "a_edited.png"))
    assert (outs["raw"] != outs["delta"]).any()
    with pytest.raises(SystemExit) as stop:
        main([*args, "--set", "Young=0", "--blend", "soft", "--out", str(tmp_path / "x")])
    assert stop.value.code == 2 and "invalid choice: 'soft'" in capsys.readouterr().err
