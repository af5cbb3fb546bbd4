"""The web page's editing features at the callback level: the conflict rules on the
sliders, the "this photo shows" toggles (with and without a judge), group photos
(faces numbered from 0 at the left, boxes, click to pick), the blend selector, and
the "after" preview redrawn over the edited region only."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from app_helpers import export_tiny, sample_face, save_png, web_handlers
from intergan.app import session

pytest.importorskip("gradio")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return export_tiny(tmp_path_factory.mktemp("tiny"))


@pytest.fixture()
def face_png(tmp_path):
    return save_png(sample_face()[0], tmp_path / "face.png")


def slider_values(opened, **changes) -> list[float]:
    """Every slider's value as the page sends them: the start, with ``changes``."""
    from intergan.app.handlers import CELEBA_ATTRS

    values = {**opened.start, **changes}
    return [values.get(a, 0.0) for a in CELEBA_ATTRS]


def test_raising_a_slider_lowers_the_ones_its_rule_switches_off():
    start = {"Black_Hair": -0.9, "Blond_Hair": 0.6, "Brown_Hair": 0.2, "Young": 0.4}
    values = {**start, "Black_Hair": 1.0}
    settled, lowered = session.settle_conflicts(values, start, start, -0.5)
    assert settled == {**values, "Blond_Hair": -0.5, "Brown_Hair": -0.5}
    assert lowered == {"Blond_Hair": "Black_Hair", "Brown_Hair": "Black_Hair"}
    # raising one with no rule, or lowering one, changes nothing else (two unmoved
    # sliders above 0 are no edit targets: no clash)
    assert session.settle_conflicts({**start, "Young": 1.0}, start, start, -0.5)[1] == {}
    assert session.settle_conflicts({**start, "Blond_Hair": -0.3}, start, start, -0.5)[1] == {}
    # raising one lowers the other even where it was raised before
    before = {**start, "Brown_Hair": 1.0}
    settled, _ = session.settle_conflicts({**before, "Blond_Hair": 0.8}, before, start, -0.5)
    assert settled["Brown_Hair"] == -0.5 and settled["Blond_Hair"] == 0.8


def test_a_conflicting_slider_move_edits_as_the_rule_does_instead_of_failing(
    model_dir, face_png, tmp_path
):
    from intergan.app.handlers import CELEBA_ATTRS

    h = web_handlers(model_dir, tmp_path / "open")
    m = str(model_dir)
    token = h.open(str(face_png), False, 0, m)[0]
    opened = h.store.get(token)
    h.edit(token, m, "raw", *slider_values(opened, Blond_Hair=1.0))
    values = slider_values(opened, Blond_Hair=1.0, Black_Hair=1.2)
    view, status = h.edit(token, m, "raw", *values)
    assert "Error" not in status and "Black_Hair up lowers Blond_Hair" in status
    _, _, *sliders = h.extras(token, m)  # the lowered slider, shown after the edit
    off = session.off_value(session.load_editor(m))
    assert off == -0.5 and sliders[CELEBA_ATTRS.index("Blond_Hair")].value == off
    editor = session.load_editor(m)
    alone = editor.edit(opened.image, {"Black_Hair": 1.2}, source=opened.source, align=False,
                        blend="raw")  # fmt: skip
    np.testing.assert_array_equal(np.asarray(Image.open(view[1])), alone)


def no_judge(model_dir, folder):
    import shutil

    out = shutil.copytree(model_dir, folder)
    for f in ("judge.json", "judge.safetensors"):
        (out / f).unlink()
    return out


def test_without_a_judge_the_toggles_state_the_source_and_start_the_sliders(
    model_dir, face_png, tmp_path
):
    from intergan.app.handlers import CELEBA_ATTRS

    bare = no_judge(model_dir, tmp_path / "bare")
    h = web_handlers(bare, tmp_path / "open")
    m = str(bare)
    out = h.open(str(face_png), False, 0, m)
    token, status, shows, sliders = out[0], out[4], out[7], out[8:]
    assert shows.value == [] and "tick what the photo shows" in status
    assert sliders[CELEBA_ATTRS.index("Male")].value == -1.0
    view, status, *sliders = h.restate(token, m, ["Male", "Young"])
    assert sliders[CELEBA_ATTRS.index("Male")].value == 1.0
    assert sliders[CELEBA_ATTRS.index("Bangs")].value == -1.0
    editor = session.load_editor(m)
    opened = h.store.get(token)
    expected = editor.edit(opened.image, {}, source={"Male": 1, "Young": 1}, align=False)
    np.testing.assert_array_equal(np.asarray(Image.open(view[1])), expected)


def test_with_a_judge_the_toggles_start_at_its_estimate_and_change_the_source(
    model_dir, face_png, tmp_path
):
    h = web_handlers(model_dir, tmp_path / "open")
    m = str(model_dir)
    out = h.open(str(face_png), False, 0, m)
    token, shows = out[0], out[7]
    opened = h.store.get(token)
    assert shows.value == [a for a, p in opened.estimate.items() if p > 0.5]
    stated = [a for a in opened.attrs if a not in shows.value][:2]
    view, _, *sliders = h.restate(token, m, stated)
    assert all(s == gr_skip() for s in sliders)  # sliders keep the judge's estimate
    editor = session.load_editor(m)
    source = {a: int(a in stated) for a in opened.attrs}  # not the judge's
    expected = editor.edit(opened.image, {}, source=source, align=False)
    np.testing.assert_array_equal(np.asarray(Image.open(view[1])), expected)


def gr_skip():
    from intergan.app.offline import gr

    return gr.skip()


def test_a_group_photo_shows_its_faces_numbered_from_0_at_the_left(model_dir, tmp_path):
    from skimage import data

    photo = np.concatenate([data.astronaut(), data.astronaut()[:, ::-1]], axis=1)  # 512 x 1024
    path = save_png(photo, tmp_path / "two.png")
    h = web_handlers(model_dir, tmp_path / "open")
    m = str(model_dir)
    token, _, _, _, status, face_menu, overview, *_ = h.open(str(path), True, 0, m)
    assert "face 0 of 2" in status and overview.visible and face_menu.visible
    assert [k for _, k in face_menu.choices] == [0, 1] and face_menu.choices[0][0].startswith(
        "face 0"
    )
    boxes = h.store.get(token).boxes
    assert boxes[0][0] < 512 <= boxes[1][0]  # face 0 is the leftmost
    drawn = np.asarray(Image.open(overview.value["path"]))
    k = drawn.shape[1] / photo.shape[1]
    x0, y0 = int(boxes[1][0] * k), int(boxes[1][1] * k)
    assert drawn.shape[1] == 768 and tuple(drawn[y0 + 1, x0 + 1]) != tuple(
        photo[int(y0 / k), int(x0 / k)]
    )
    # a click inside face 1's box (overview pixels) opens face 1
    cx, cy = (boxes[1][0] + boxes[1][2]) / 2 * k, (boxes[1][1] + boxes[1][3]) / 2 * k
    token1, _, _, _, status, face_menu, *_ = h.pick_face(token, m, cx, cy)
    assert "face 1 of 2" in status and face_menu.value == 1 and h.store.get(token1).face == 1


def test_the_after_preview_redraws_only_the_edited_region():
    from intergan.app import views

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (1200, 1500, 3), dtype=np.uint8)
    edited = image.copy()
    edited[300:500, 700:900] = rng.integers(0, 256, (200, 200, 3), dtype=np.uint8)
    before = views.preview(image)
    fast, slow = views.after_preview(before, image, edited), views.preview(edited)
    assert fast.shape == slow.shape == (819, 1024, 3)
    assert np.abs(fast.astype(int) - slow).max() <= 1  # one grey level at most
    assert np.abs(fast.astype(int) - before)[:, :440].max() == 0  # far from the edit: as before
    assert np.abs(fast.astype(int) - before)[200:340, 480:610].mean() > 20  # the edit shows


def test_the_blend_selector_picks_how_the_edit_goes_back(model_dir, tmp_path):
    from skimage import data

    path = save_png(data.astronaut(), tmp_path / "astronaut.png")
    h = web_handlers(model_dir, tmp_path / "open")
    m = str(model_dir)
    token = h.open(str(path), True, 0, m, None, "delta")[0]
    opened = h.store.get(token)
    editor = session.load_editor(m)
    shown = {}
    for blend in ("delta", "raw"):
        view, status = h.edit(token, m, blend, *slider_values(opened, Young=1.5))
        assert f"blend {blend}" in status
        shown[blend] = np.asarray(Image.open(h.extras(token, m)[1]))
        expected = editor.edit(opened.image, {"Young": 1.5}, source=opened.source,
                               face_index=0, blend=blend)  # fmt: skip
        np.testing.assert_array_equal(shown[blend], expected)
    assert np.abs(shown["delta"].astype(int) - shown["raw"]).mean() > 0.1
    status = h.edit(token, m, "sharp", *slider_values(opened, Young=1.0))[1]
    assert "unknown blend &#x27;sharp&#x27;" in status  # HTML-escaped
