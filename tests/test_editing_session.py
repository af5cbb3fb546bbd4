"""Editing sessions (``Editor.open``), one input conversion for every entry point,
the public judge estimate, the bf16 backend and ``backend="auto"``.

Tiny randomly initialised models (32 px, CPU); faces come from a fixed fake
detector so the tests need no MTCNN and count its calls.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from PIL import Image

from intergan.attributes import DEFAULT_ATTRS, encode
from intergan.config import VARIANTS, Config, model_config
from intergan.editing.backends import TorchBackend, choose_backend
from intergan.editing.editor import Editor
from intergan.editing.faces import Face
from intergan.errors import UserError
from intergan.images import to_model
from intergan.models import build_generator
from intergan.models.judge import JudgeArch, build_judge

ATTRS = list(DEFAULT_ATTRS)
SOURCE = {a: int(a in ("Male", "Young")) for a in ATTRS}


class CountingDetector:
    """Finds one fixed face (eyes 16 px apart at the photo's centre) in any photo."""

    def __init__(self):
        self.calls = 0
        eyes, mouth = np.array([[72.0, 55.0], [88.0, 55.0]]), np.array([80.0, 73.0])
        lm = np.vstack([eyes, [[80, 64]], mouth - [5, 0], mouth + [5, 0]])
        self.face = Face(box=(62.0, 42.0, 98.0, 84.0), landmarks=lm, score=0.99)

    def detect(self, image: np.ndarray) -> list[Face]:
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[-1] == 3
        self.calls += 1
        return [self.face]


def photo(seed: int = 0) -> np.ndarray:
    """A smooth textured 120 x 160 RGB photo (uint8)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:120, 0:160]
    waves = [128 + 90 * np.sin(xx / (9 + seed) + c) * np.cos(yy / 13 - c) for c in range(3)]
    return np.clip(np.stack(waves, -1) + rng.normal(0, 4, (120, 160, 3)), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    cfg = Config(model=model_config("tiny"))
    return build_generator(cfg.model).eval(), cfg


@pytest.fixture()
def editor(model):
    G, cfg = model
    judge = build_judge(ATTRS, 32, JudgeArch(width=4))
    return Editor(TorchBackend(G), cfg, judge=judge, detector=CountingDetector(), framing="celeba")


@pytest.mark.parametrize("variant", VARIANTS)
def test_generator_edits_from_a_stored_code_exactly_as_from_the_image(variant):
    torch.manual_seed(1)
    G = build_generator(model_config("tiny", variant=variant)).eval()
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    t, s = (
        encode(torch.randint(0, 2, (3, 13)).float()),
        encode(torch.randint(0, 2, (3, 13)).float()),
    )
    with torch.no_grad():
        from_code = G.edit_from_code(G.encode(x), t, s)
        assert torch.equal(from_code, G.edit(x, t, s))
        torch.testing.assert_close(from_code, G(x, t, s).edited, atol=1e-6, rtol=0)


def test_session_edits_are_bit_identical_to_editor_edit_and_detect_once(editor):
    img = photo()
    session = editor.open(img, source=SOURCE)
    moves = [{"Young": 1.0}, {"Young": -0.5, "Blond_Hair": 0.3}, {}, {"Young": 1.0}]
    outs = [session.edit(m) for m in moves]
    assert editor.detector.calls == 1  # slider moves re-run no detection
    for m, out in zip(moves, outs):
        np.testing.assert_array_equal(out, editor.edit(img, m, source=SOURCE))
    np.testing.assert_array_equal(outs[0], outs[3])
    assert (outs[0] != outs[1]).any()
    strip = session.edit_all()
    assert list(strip) == ATTRS
    single = editor.edit(img, {"Bald": 1.0}, source=SOURCE)
    # the strip decodes 13 edits in one batch: other float rounding (~1e-6), at most a level
    assert np.abs(strip["Bald"].astype(int) - single).max() <= 1


def test_a_session_keeps_its_own_copy_of_the_photo(editor):
    img = photo()
    session = editor.open(img, source=SOURCE)
    expected = session.edit({"Bangs": 1.0})
    img[:] = 0  # the caller reuses its buffer for the next photo
    again = session.edit({"Bangs": 1.0})
    np.testing.assert_array_equal(again, expected)


def test_a_different_photo_needs_and_gets_its_own_session(editor):
    a, b = photo(0), photo(1)
    sa, sb = editor.open(a, source=SOURCE), editor.open(b, source=SOURCE)
    assert editor.detector.calls == 2
    ea, eb = sa.edit({"Bangs": 1.0}), sb.edit({"Bangs": 1.0})
    np.testing.assert_array_equal(eb, editor.edit(b, {"Bangs": 1.0}, source=SOURCE))
    far = np.s_[:, :20]  # far from the face: each photo's own pixels
    np.testing.assert_array_equal(ea[far], a[far])
    np.testing.assert_array_equal(eb[far], b[far])


def all_types(img: np.ndarray) -> dict[str, object]:
    chw = torch.from_numpy(img).permute(2, 0, 1).contiguous()
    return {
        "pil": Image.fromarray(img),
        "numpy": img,
        "uint8 (3,H,W)": chw,
        "uint8 (1,3,H,W)": chw[None],
        "float (3,H,W)": to_model(chw),
        "float (1,3,H,W)": to_model(chw)[None],
    }


def test_estimate_gives_one_probability_per_attribute_for_every_input_type(editor):
    img = photo()
    results = {k: editor.estimate(x) for k, x in all_types(img).items()}
    reference = results["numpy"]
    assert len(reference) == 1 and list(reference[0]) == ATTRS
    assert all(0.0 <= p <= 1.0 for p in reference[0].values())
    for kind, est in results.items():
        assert len(est) == 1 and list(est[0]) == ATTRS, kind
        for a in ATTRS:
            assert est[0][a] == pytest.approx(reference[0][a], abs=1e-5), (kind, a)
    # the estimate is the judge's reading of the aligned crop the generator edits
    session = editor.open(img)
    probs = editor.judge.predict(session.crops)[0]
    assert reference[0] == pytest.approx(dict(zip(ATTRS, probs.tolist())), abs=1e-6)
    batch = editor.estimate(np.stack([img, photo(1)]), align=False)
    assert len(batch) == 2 and batch[0] != batch[1]


def test_find_faces_and_edit_take_the_same_input_types(editor):
    img = photo()
    expected = editor.edit(img, {"Bangs": 1.0}, source=SOURCE)
    for kind, x in all_types(img).items():
        faces = editor.find_faces(x)
        batched = kind.endswith("(1,3,H,W)")
        assert faces == ([[editor.detector.face]] if batched else [editor.detector.face]), kind
        out = editor.edit(x, {"Bangs": 1.0}, source=SOURCE)
        if isinstance(out, Image.Image):
            out = np.asarray(out)
        elif isinstance(out, torch.Tensor):
            out = out.reshape(-1, *out.shape[-3:])[0]
            out = out if out.dtype == torch.uint8 else ((out + 1) * 127.5).round().byte()
            out = out.permute(1, 2, 0).numpy()
        np.testing.assert_array_equal(out, expected, err_msg=kind)


def test_estimate_without_a_judge_says_what_to_pass(model):
    G, cfg = model
    ed = Editor(TorchBackend(G), cfg, detector=CountingDetector(), framing="celeba")
    with pytest.raises(UserError, match="no judge classifier.*judge="):
        ed.estimate(photo())


def test_bf16_edits_stay_within_a_few_grey_levels_of_float32(model):
    G, cfg = model
    f32 = Editor(TorchBackend(copy.deepcopy(G)), cfg, framing="celeba")
    bf16 = Editor(TorchBackend(copy.deepcopy(G), precision="bf16"), cfg, framing="celeba")
    assert bf16.backend.name == "torch-bf16"
    assert next(bf16.backend.generator.parameters()).dtype == torch.bfloat16
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    src = np.random.default_rng(0).integers(0, 2, (4, 13))
    for changes in ({}, {"Blond_Hair": 1.0, "Young": -0.6}):
        a = f32.edit(x, changes, source=src, align=False)
        b = bf16.edit(x, changes, source=src, align=False)
        assert b.dtype == torch.float32
        # stated tolerance, in [-1, 1] units (one grey level = 2/255 = 0.0078):
        # mean <= 0.01, max <= 0.1; measured on this model: ~0.003 / ~0.03
        assert (a - b).abs().mean() <= 0.01 and (a - b).abs().max() <= 0.1


def test_auto_backend_is_bf16_only_where_the_cpu_has_native_bf16(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setenv("INTERGAN_CPU_BF16", "1")
    assert choose_backend("auto", cpu)[0] == "torch-bf16"
    monkeypatch.setenv("INTERGAN_CPU_BF16", "0")
    assert choose_backend("auto", cpu)[0] == "torch"
    assert choose_backend("auto", torch.device("cuda"))[0] == "torch"
    assert choose_backend("onnx", cpu) == ("onnx", "asked for")
    with pytest.raises(UserError, match="unknown backend 'tensorrt'"):
        choose_backend("tensorrt", cpu)


def test_from_pretrained_auto_loads_the_chosen_backend(model, tmp_path, monkeypatch):
    from intergan.models.export import save_exported

    G, cfg = model
    save_exported(G, cfg, tmp_path / "m")
    for flag, name in (("1", "torch-bf16"), ("0", "torch")):
        monkeypatch.setenv("INTERGAN_CPU_BF16", flag)
        ed = Editor.from_pretrained(tmp_path / "m", device="cpu", framing="celeba")
        assert ed.backend.name == name and ed.backend.why.startswith("auto")
        out = ed.edit(torch.zeros(1, 3, 32, 32), {"Young": 1}, source=[0] * 13, align=False)
        assert out.shape == (1, 3, 32, 32)
