"""The web editor's logic without a browser: slider semantics, opening and editing
photos, bad input, and the page's callbacks (which keep serving after errors)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from app_helpers import SIZE, export_tiny, sample_face, save_png, web_handlers
from intergan.app import session
from intergan.errors import UserError
from intergan.images import to_model


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return export_tiny(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def editor(model_dir):
    return session.load_editor(str(model_dir))


@pytest.fixture()
def face_png(tmp_path):
    return save_png(sample_face()[0], tmp_path / "face.png")


def test_slider_starts_at_the_judge_probability_mapped_to_plus_minus_one():
    assert session.slider_start(1.0) == 1.0
    assert session.slider_start(0.0) == -1.0
    assert session.slider_start(0.5) == 0.0
    assert session.slider_start(0.73) == 0.45  # 2p - 1 = 0.46, on the 0.05 grid


def test_open_estimates_every_attribute_with_the_judge(editor, face_png):
    opened = session.open_photo(editor, face_png, align=False)
    assert opened.image.shape == (SIZE, SIZE, 3) and opened.n_faces == 1
    assert list(opened.estimate) == editor.attrs
    x = to_model(torch.from_numpy(np.array(opened.image)).permute(2, 0, 1))[None]  # S x S
    probs = editor.judge.predict(x)[0]
    for k, a in enumerate(editor.attrs):
        assert opened.estimate[a] == pytest.approx(float(probs[k]), abs=1e-6)
        assert opened.start[a] == session.slider_start(opened.estimate[a])


def test_only_moved_sliders_become_edit_targets(editor, face_png):
    opened = session.open_photo(editor, face_png, align=False)
    values = dict(opened.start)
    assert session.targets_from_sliders(opened, values) == {}
    values["Blond_Hair"] = 1.5
    values["Male"] = opened.start["Male"] - 0.5
    assert session.targets_from_sliders(opened, values) == {
        "Blond_Hair": 1.5,
        "Male": pytest.approx(opened.start["Male"] - 0.5),
    }
    with pytest.raises(UserError, match="Smiling"):
        session.targets_from_sliders(opened, {"Smiling": 1.0})


def test_untouched_sliders_show_the_reconstruction_and_moves_change_it(editor, face_png):
    opened = session.open_photo(editor, face_png, align=False)
    recon = session.edit_opened(editor, opened, dict(opened.start))
    direct = editor.edit(opened.image, {}, source=opened.source, align=False)
    np.testing.assert_array_equal(recon, direct)
    one = session.edit_opened(editor, opened, {**opened.start, "Blond_Hair": 1.5})
    two = session.edit_opened(editor, opened, {**opened.start, "Blond_Hair": 1.5, "Young": -1.5})
    expected = editor.edit(opened.image, {"Blond_Hair": 1.5}, source=opened.source, align=False)
    np.testing.assert_array_equal(one, expected)
    assert np.abs(one.astype(int) - recon).mean() > 0.5
    assert np.abs(two.astype(int) - one).mean() > 0.5


def test_transparent_png_keeps_its_alpha(editor, tmp_path):
    rgb = sample_face()[0]
    alpha = np.full((SIZE, SIZE), 255, np.uint8)
    alpha[:, :4] = 0
    path = tmp_path / "rgba.png"
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(path)
    opened = session.open_photo(editor, path, align=False)
    out = session.edit_opened(editor, opened, {**opened.start, "Bangs": 1.0})
    assert out.shape == (SIZE, SIZE, 4)
    np.testing.assert_array_equal(out[..., 3], alpha)


def test_bad_files_are_refused_with_the_file_named(editor, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a picture")
    with pytest.raises(UserError, match="notes.txt.*not an image"):
        session.open_photo(editor, text, align=False)
    big = save_png(np.zeros((64, 64, 3), np.uint8), tmp_path / "big.png")
    with pytest.raises(UserError, match="above the limit"):
        session.open_photo(editor, big, align=False, max_pixels=1000)


def test_a_picture_without_a_face_says_how_to_edit_a_crop(editor, tmp_path):
    grey = save_png(np.full((120, 160, 3), 128, np.uint8), tmp_path / "wall.png")
    with pytest.raises(UserError, match="no face found in wall.png.*untick"):
        session.open_photo(editor, grey, align=True)


def test_model_names_that_do_not_exist_are_refused():
    with pytest.raises(UserError, match="does not exist"):
        session.load_editor("/no/such/model")
    with pytest.raises(UserError, match="no model given"):
        session.load_editor("  ")


class CountingDetector:
    """A detector that finds one fixed face and counts its calls."""

    def __init__(self, face):
        self.face, self.calls = face, 0

    def detect(self, image):
        self.calls += 1
        return [self.face]


def test_memo_detector_detects_each_photo_once():
    inner = CountingDetector("face")
    memo = session.MemoDetector(lambda: inner, keep=2)
    a, b = np.zeros((8, 8, 3), np.uint8), np.ones((8, 8, 3), np.uint8)
    assert memo.detect(a) == ["face"] and memo.detect(a.copy()) == ["face"]
    assert inner.calls == 1
    memo.detect(b)
    assert inner.calls == 2


def slider_values(opened, **changes) -> list[float]:
    """Every slider's value as the page sends them: the start, with ``changes``."""
    from intergan.app.handlers import CELEBA_ATTRS

    values = {**opened.start, **changes}
    return [values.get(a, 0.0) for a in CELEBA_ATTRS]


def test_page_callbacks_report_bad_input_and_keep_working(model_dir, face_png, tmp_path):
    h = web_handlers(model_dir, tmp_path / "open", max_pixels=10_000)
    m = str(model_dir)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\x00" * 100)
    token, _, _, _, status, *_ = h.open(str(bad), False, 0, m)
    assert token is None and "**Error:**" in status and "bad.jpg" in status
    token, view, _, _, status, *_ = h.open(str(face_png), False, 0, m)
    opened = h.store.get(token)
    assert isinstance(opened, session.Opened) and "edits: none" in status
    view, status, *_ = h.edit(token, m, "raw", *slider_values(opened, Blond_Hair=1.5))
    assert "Blond_Hair +1.50" in status
    closeup, download, *_ = h.extras(token, m)
    saved = np.asarray(Image.open(download))
    np.testing.assert_array_equal(saved, np.asarray(Image.open(view[1])))  # shown = download
    assert saved.shape == opened.image.shape
    assert closeup.visible is False  # no close-up for pictures that are not aligned
    *_, status = h.load_model("/no/such/model", token)[:6]
    assert "**Error:**" in status and "not offered" in status
    assert "Blond_Hair" in h.edit(token, m, "raw", *slider_values(opened, Blond_Hair=1.0))[1]


def test_a_photo_is_aligned_edited_and_pasted_back_at_full_size(editor, tmp_path):
    from skimage import data

    photo = data.astronaut()  # NASA portrait, public domain, shipped with scikit-image
    path = save_png(photo, tmp_path / "astronaut.png")
    opened = session.open_photo(editor, path, align=True)
    assert opened.n_faces == 1 and opened.face == 0
    out = session.edit_opened(editor, opened, {**opened.start, "Eyeglasses": 1.5})
    assert out.shape == photo.shape
    x0, y0, x1, y1 = (int(v) for v in editor.find_faces(photo)[0].box)
    changed = np.abs(out.astype(int) - photo).sum(axis=-1) > 0
    assert changed[y0:y1, x0:x1].mean() > 0.5  # the face is edited
    assert not changed[:, :100].any() and not changed[400:].any()  # far away: untouched
    before, after = session.face_closeup(editor, opened, out)
    assert before.shape == after.shape == (session.CLOSEUP_SIDE, session.CLOSEUP_SIDE, 3)
    assert np.abs(after.astype(int) - before).mean() > 2  # the close-up shows the edit


def test_with_two_faces_only_the_chosen_one_is_edited(editor, tmp_path):
    from skimage import data

    photo = np.concatenate([data.astronaut(), data.astronaut()[:, ::-1]], axis=1)  # 512 x 1024
    path = save_png(photo, tmp_path / "two.png")
    opened = session.open_photo(editor, path, align=True, face=1)
    assert (opened.n_faces, opened.face) == (2, 1)
    out = session.edit_opened(editor, opened, {**opened.start, "Male": 1.5})
    changed = np.abs(out.astype(int) - photo).sum(axis=-1) > 0
    assert not changed[:, :512].any() and changed[:, 512:].any()
    assert session.open_photo(editor, path, align=True, face=7).face == 0  # out of range


def fixed_face():
    from intergan.editing.faces import Face

    eyes, mouth = np.array([[72.0, 55.0], [88.0, 55.0]]), np.array([80.0, 73.0])
    lm = np.vstack([eyes, [[80, 64]], mouth - [5, 0], mouth + [5, 0]])
    return Face(box=(62.0, 42.0, 98.0, 84.0), landmarks=lm, score=0.99)


def textured(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)


def test_slider_moves_reuse_the_photos_session_and_run_no_detection(
    model_dir, tmp_path, monkeypatch
):
    from intergan.editing.editor import Editor

    detector = CountingDetector(fixed_face())  # the editor's own: no memo in between
    editor = Editor.from_pretrained(model_dir, detector=detector)
    monkeypatch.setattr(session, "load_editor", lambda model: editor)
    a, b = (save_png(textured(k), tmp_path / f"{k}.png") for k in (0, 1))
    h = web_handlers(model_dir, tmp_path / "open")
    m = str(model_dir)
    token = h.open(str(a), True, 0, m)[0]
    opened = h.store.get(token)
    assert detector.calls == 1
    shown = []
    for v in (0.5, 1.5, -1.0):
        view = h.edit(token, m, "raw", *slider_values(opened, Blond_Hair=v))[0]
        shown.append(np.asarray(Image.open(view[1])))
    assert detector.calls == 1  # three slider moves, no new detection
    direct = editor.edit(opened.image, {"Blond_Hair": -1.0}, source=opened.source,
                         face_index=0, blend="raw")  # fmt: skip
    np.testing.assert_array_equal(shown[-1], direct)
    # another photo: a new session, detected once, whose edits are of that photo
    token_b = h.open(str(b), True, 0, m, token)[0]
    opened_b = h.store.get(token_b)
    assert detector.calls == 3 and opened_b.session is not opened.session
    assert token not in h.store  # the visitor's previous picture is dropped
    out_b = session.edit_opened(editor, opened_b, {**opened_b.start, "Bangs": 1.5})
    direct_b = editor.edit(opened_b.image, {"Bangs": 1.5}, source=opened_b.source, face_index=0)
    np.testing.assert_array_equal(out_b, direct_b)


def test_another_model_gets_a_new_session_for_the_same_picture(editor, tmp_path):
    other = session.load_editor(str(export_tiny(tmp_path / "other", seed=5)))
    opened = session.open_photo(editor, save_png(sample_face()[0], tmp_path / "f.png"), False)
    mine = session.session_for(editor, opened)
    assert session.session_for(editor, opened) is mine
    theirs = session.session_for(other, opened)
    assert theirs is not mine and theirs.editor is other
    np.testing.assert_array_equal(
        session.edit_opened(other, opened, dict(opened.start)),
        other.edit(opened.image, {}, source=opened.source, align=False),  # what it shows
    )


def test_without_gradio_the_web_editor_says_how_to_install_it(monkeypatch):
    import importlib
    import sys

    monkeypatch.setitem(sys.modules, "gradio", None)  # `import gradio` fails, as when absent
    monkeypatch.delitem(sys.modules, "intergan.app.offline", raising=False)
    with pytest.raises(UserError, match=r"intergan\[app\]") as err:
        importlib.import_module("intergan.app.offline")
    assert "make setup" in str(err.value)
