"""The Editor API on a tiny randomly initialised generator (32 px, CPU)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from intergan.attributes import DEFAULT_ATTRS, UnknownAttributeError, encode
from intergan.config import Config, model_config
from intergan.editing.backends import TorchBackend
from intergan.editing.editor import Editor, NoFaceError
from intergan.errors import UserError
from intergan.models import build_generator

ATTRS = list(DEFAULT_ATTRS)


@pytest.fixture(scope="module")
def gen():
    torch.manual_seed(0)
    cfg = Config(model=model_config("tiny"))
    return build_generator(cfg.model).eval(), cfg


class SpyBackend(TorchBackend):
    """The real backend, recording the encoded targets it was given."""

    def __init__(self, G):
        super().__init__(G)
        self.targets: list[torch.Tensor] = []

    def decode(self, code, target, source):
        self.targets.append(target.clone())
        return super().decode(code, target, source)


@pytest.fixture()
def editor(gen):
    G, cfg = gen
    return Editor(SpyBackend(G), cfg, framing="celeba")


def source_vec(**on) -> torch.Tensor:
    return torch.tensor([float(on.get(a, 0)) for a in ATTRS])


def test_edit_with_target_equal_to_source_returns_the_reconstruction(editor, gen):
    G, _ = gen
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    s = source_vec(Male=1, Young=1, No_Beard=1)
    out = editor.edit(x, {}, source=s, align=False, blend="raw")
    enc = encode(s[None].expand(3, -1))
    with torch.no_grad():
        rec = G(x, enc, enc).reconstructed
    assert out.shape == x.shape and out.dtype == x.dtype
    torch.testing.assert_close(out, rec, atol=1e-5, rtol=0)


def test_every_input_type_comes_back_as_itself(editor):
    s = source_vec(Male=1)
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
    out = editor.edit(arr, {"Young": 1}, source=s, align=False)
    assert isinstance(out, np.ndarray) and out.shape == arr.shape and out.dtype == np.uint8
    batch = editor.edit(np.stack([arr, arr]), {"Young": 1}, source=s, align=False)
    assert batch.shape == (2, 40, 48, 3)
    pil = editor.edit(Image.fromarray(arr), {"Young": 1}, source=s, align=False)
    assert isinstance(pil, Image.Image) and pil.size == (48, 40)
    rgba = np.dstack([arr, np.full((40, 48), 77, np.uint8)])
    out = editor.edit(Image.fromarray(rgba, "RGBA"), {"Young": 1}, source=s, align=False)
    assert out.mode == "RGBA" and (np.asarray(out)[..., 3] == 77).all()
    t = torch.from_numpy(arr).permute(2, 0, 1).contiguous()
    out = editor.edit(t, {"Young": 1}, source=s, align=False)
    assert out.dtype == torch.uint8 and out.shape == t.shape
    grey = editor.edit(arr[..., 0], {"Young": 1}, source=s, align=False)
    assert grey.shape == (40, 48, 3)


def test_no_align_edits_only_the_centred_square(editor):
    arr = np.random.default_rng(1).integers(0, 256, (32, 60, 3), dtype=np.uint8)
    out = editor.edit(arr, {"Bald": 1}, source=source_vec(), align=False)
    np.testing.assert_array_equal(out[:, :14], arr[:, :14])
    np.testing.assert_array_equal(out[:, 46:], arr[:, 46:])
    assert (out[:, 14:46] != arr[:, 14:46]).any()


def test_the_slider_value_is_the_generators_target_entry(editor):
    x = torch.zeros(1, 3, 32, 32)
    i = ATTRS.index("Young")
    frames = editor.interpolate(x, "Young", steps=5, source=source_vec(), align=False)
    assert len(frames) == 5
    entries = editor.backend.targets[-1][:, i]
    test_int = editor.test_int
    torch.testing.assert_close(entries, torch.linspace(-1, 1, 5) * test_int)
    assert (entries.diff() > 0).all()  # monotonic in the slider
    editor.edit(x, {"Young": 2.5}, source=source_vec(), align=False)  # extrapolation
    assert editor.backend.targets[-1][0, i] == pytest.approx(2.5 * test_int)


def test_switching_on_applies_the_conflict_rules(editor):
    s = source_vec(Black_Hair=1, Mustache=1, Male=1)[None]
    t = editor.encode_target(s, {"Blond_Hair": 1.0})
    col = {a: t[0, ATTRS.index(a)].item() for a in ATTRS}
    assert col["Blond_Hair"] == 1.0 and col["Black_Hair"] == -0.5 and col["Brown_Hair"] == -0.5
    assert col["Mustache"] == 0.5 and col["Male"] == 0.5  # unrelated attributes kept
    t = editor.encode_target(s, {"No_Beard": 0.8})
    assert t[0, ATTRS.index("Mustache")] == -0.5
    off = editor.encode_target(s, {"Black_Hair": -1.0})
    assert off[0, ATTRS.index("Blond_Hair")] == -0.5  # switching off changes nothing else
    with pytest.raises(UserError, match="cannot both be switched on"):
        editor.encode_target(s, {"Blond_Hair": 1.0, "Black_Hair": 1.0})


def test_edit_all_flips_each_attribute_once(editor):
    s = source_vec(Male=1, Young=1)
    strip = editor.edit_all(torch.zeros(1, 3, 32, 32), source=s, align=False)
    assert list(strip) == ATTRS
    t = editor.backend.targets[-1]  # all 13 targets went through in one batch
    assert t.shape == (13, 13)
    flipped = torch.diagonal(t)
    expect = torch.where(s > 0.5, -1.0, 1.0) * editor.test_int
    torch.testing.assert_close(flipped, expect)


def test_unknown_attribute_names_get_a_suggestion(editor):
    with pytest.raises(UnknownAttributeError, match="did you mean 'Blond_Hair'"):
        editor.edit(torch.zeros(1, 3, 32, 32), {"Blonde_Hair": 1}, source=source_vec())
    with pytest.raises(UnknownAttributeError, match="Young"):
        editor.interpolate(torch.zeros(1, 3, 32, 32), "young", source=source_vec())


def test_no_source_and_no_judge_is_an_error(editor):
    with pytest.raises(UserError, match="source attributes are unknown"):
        editor.edit(torch.zeros(1, 3, 32, 32), {"Young": 1}, align=False)


def test_judge_estimates_the_source_and_must_know_the_models_attributes(gen):
    from intergan.models.judge import build_judge

    G, cfg = gen
    with pytest.raises(UserError, match="does not predict Young"):
        Editor(TorchBackend(G), cfg, judge=build_judge(ATTRS[:-1], 32), framing="celeba")
    judge = build_judge(list(reversed(ATTRS)) + ["Smiling"], 64)  # other order, size, extra
    ed = Editor(TorchBackend(G), cfg, judge=judge, framing="celeba")
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    est = ed.estimate(x, align=False)
    assert len(est) == 2 and all(list(e) == ATTRS for e in est)
    assert all(0 <= p <= 1 for e in est for p in e.values())
    assert ed.edit(x, {"Young": 1}, align=False).shape == x.shape
    partial = ed.edit(x, {"Young": 1}, source={"Male": 1}, align=False)  # rest from the judge
    assert partial.shape == x.shape


def test_a_photo_without_a_face_is_refused(editor):
    pytest.importorskip("onnxruntime")
    with pytest.raises(NoFaceError, match="no face found"):
        editor.edit(np.full((120, 160, 3), 90, np.uint8), {"Young": 1}, source=source_vec())


def test_aligned_edit_changes_the_face_and_nothing_far_from_it(editor):
    pytest.importorskip("onnxruntime")
    skdata = pytest.importorskip("skimage.data")
    photo = skdata.astronaut()
    out = editor.edit(photo, {"Blond_Hair": 1}, source=source_vec(Young=1))
    changed = np.any(out != photo, axis=-1)
    ys, xs = np.nonzero(changed)
    # The face (eyes near (224, 100)) is inside the changed area; the far corners are not.
    assert xs.min() < 205 and xs.max() > 245 and ys.min() < 95 and ys.max() > 140
    assert not changed[300:].any() and not changed[:, :100].any() and not changed[:, 400:].any()
    with pytest.raises(UserError, match="face 1 requested but .* has 1 face"):
        editor.edit(photo, {"Young": 1}, source=source_vec(), face_index=1)


def test_editing_does_not_import_training_code(tmp_path, gen):
    G, cfg = gen
    from intergan.models.export import save_exported

    save_exported(G, cfg, tmp_path / "m")
    code = (
        "import sys, torch\n"
        "import intergan.editing, intergan.editing.editor, intergan.editing.cli\n"
        "from intergan.editing.editor import Editor\n"
        f"ed = Editor.from_pretrained({str(tmp_path / 'm')!r}, framing='celeba')\n"
        "ed.edit(torch.zeros(1, 3, 32, 32), {'Young': 1}, source=[0] * 13, align=False)\n"
        "bad = [m for m in sys.modules if m.startswith('intergan.training')]\n"
        "assert not bad, bad\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_source_of_the_wrong_shape_is_refused(editor):
    x = torch.zeros(2, 3, 32, 32)
    with pytest.raises(UserError, match="13 values per image"):
        editor.edit(x, {"Young": 1}, source=[0, 1], align=False)
    with pytest.raises(UserError, match="3 rows for 2 images"):
        editor.edit(x, {"Young": 1}, source=np.zeros((3, 13)), align=False)
    with pytest.raises(UserError, match="0 or 1"):
        editor.edit(x, {"Young": 1}, source={"Male": 2}, align=False)
    per_image = editor.edit(x, {"Young": 1}, source=np.eye(2, 13), align=False)
    assert per_image.shape == x.shape
