"""Alignment and paste-back geometry on synthetic photos with known landmarks."""

from __future__ import annotations

import numpy as np
import pytest

from intergan.editing.align import (
    CELEBA,
    CELEBAHQ,
    align_matrix,
    crop_face,
    similarity_fit,
    transform_points,
)
from intergan.editing.faces import Face
from intergan.editing.paste import footprint, paste_back


def make_face(eye_l, eye_r, mouth) -> Face:
    eye_l, eye_r, mouth = map(np.asarray, (eye_l, eye_r, mouth))
    lm = np.array([eye_l, eye_r, (eye_l + eye_r) / 2 + [0, 8], mouth - [9, 0], mouth + [9, 0]])
    pts = lm
    return Face(box=(*pts.min(0) - 20, *pts.max(0) + 20), landmarks=lm.astype(float), score=1.0)


def rotated_face(cx, cy, iod, degrees):
    """A face whose eyes are ``iod`` apart, rolled by ``degrees`` about (cx, cy)."""
    t = np.deg2rad(degrees)
    r = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    rel = np.array([[-iod / 2, 0], [iod / 2, 0], [0, 1.1 * iod]])
    pts = rel @ r.T + [cx, cy]
    return make_face(*pts), r


def test_similarity_fit_recovers_a_known_transform():
    rng = np.random.default_rng(0)
    t = np.deg2rad(23)
    m = np.array(
        [[1.7 * np.cos(t), -1.7 * np.sin(t), 40], [1.7 * np.sin(t), 1.7 * np.cos(t), -7], [0, 0, 1]]
    )
    src = rng.uniform(0, 100, (5, 2))
    np.testing.assert_allclose(similarity_fit(src, transform_points(m, src)), m, atol=1e-9)


@pytest.mark.parametrize("degrees", [0.0, 30.0, -50.0])
def test_template_alignment_puts_eyes_and_mouth_on_the_framing(degrees):
    face, _ = rotated_face(300, 200, 60, degrees)
    m = align_matrix(face, CELEBA, 128)
    got = transform_points(m, np.vstack([face.eyes, face.mouth[None]]))
    # Three points, four degrees of freedom: the fit is close, not exact.
    np.testing.assert_allclose(got, CELEBA.points(128), atol=3.0)
    # Eyes come out level whatever the head roll.
    assert abs(got[0, 1] - got[1, 1]) < 1e-6


def test_celebahq_rule_frames_an_upright_face_like_celebahq():
    face, _ = rotated_face(500, 400, 100, 0.0)
    m = align_matrix(face, CELEBAHQ, 256)
    eyes = transform_points(m, face.eyes)
    # Crop side = 4 eye distances, eye midpoint centred horizontally, just above the middle.
    assert eyes[1, 0] - eyes[0, 0] == pytest.approx(64.0, abs=1e-6)
    assert eyes[:, 0].mean() == pytest.approx(128.0, abs=1e-6)
    assert eyes[0, 1] == pytest.approx(256 * CELEBAHQ.eye_left[1], abs=1.0)


def textured_photo(h=400, w=600, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    smooth = np.stack([128 + 100 * np.sin(xx / 23 + c) * np.cos(yy / 31 - c) for c in range(3)], -1)
    return np.clip(smooth + rng.normal(0, 3, (h, w, 3)), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("degrees", [0.0, 20.0])
def test_pasting_the_unedited_crop_gives_back_the_photo(degrees):
    photo = textured_photo()
    face, _ = rotated_face(320, 190, 50, degrees)
    crop, m = crop_face(photo, face, CELEBA, 128)
    out = paste_back(photo, crop, m)
    x0, y0, x1, y1 = footprint(m, 128, photo.shape[:2])
    diff = np.abs(out.astype(int) - photo.astype(int))
    # Resampling twice blurs a little; the crop lands where it came from, not shifted.
    assert diff[y0:y1, x0:x1].mean() < 6.0
    shifted = np.abs(np.roll(out, 3, axis=1).astype(int) - photo.astype(int))[y0:y1, x0:x1]
    assert shifted.mean() > 2 * diff[y0:y1, x0:x1].mean()


def test_paste_changes_only_pixels_under_the_mask_and_lands_on_the_face():
    photo = textured_photo(seed=1)
    face, _ = rotated_face(250, 220, 40, 15.0)
    crop, m = crop_face(photo, face, CELEBAHQ, 64)
    out = paste_back(photo, np.full_like(crop, 255), m, feather=0.1)
    changed = np.any(out != photo, axis=-1)
    x0, y0, x1, y1 = footprint(m, 64, photo.shape[:2])
    outside = np.ones_like(changed)
    outside[y0:y1, x0:x1] = False
    assert not changed[outside].any()  # bit-for-bit unchanged outside the footprint
    # The crop's centre maps back into the changed area, fully replaced there.
    cx, cy = np.rint(transform_points(np.linalg.inv(m), [[32, 32]])[0]).astype(int)
    assert (out[cy, cx] == 255).all()
    ys, xs = np.nonzero(changed)
    assert abs(xs.mean() - cx) < 3 and abs(ys.mean() - cy) < 3


def test_faces_at_the_border_are_cropped_with_edge_padding_and_pasted_inside():
    photo = textured_photo(seed=2)
    face, _ = rotated_face(20, 30, 40, 0.0)  # half the crop lies outside the photo
    crop, m = crop_face(photo, face, CELEBA, 64)
    assert crop.shape == (64, 64, 3)
    out = paste_back(photo, crop, m)
    assert out.shape == photo.shape


def test_synthfaces_framing_is_where_renders_put_eyes_and_mouth():
    from intergan.data import synthfaces
    from intergan.editing.align import SYNTHFACES, synthfaces_landmarks

    rng = np.random.default_rng(0)
    pts = []
    for _ in range(100):
        eyes, mouth = synthfaces_landmarks(synthfaces.sample_identity(rng), 1)
        pts.append(np.vstack([eyes, mouth[None]]))
    np.testing.assert_allclose(np.mean(pts, axis=0), SYNTHFACES.points(1), atol=0.01)


def test_synthfaces_landmarks_match_what_the_detector_sees():
    pytest.importorskip("onnxruntime")
    from intergan.data import synthfaces
    from intergan.editing.align import synthfaces_landmarks
    from intergan.editing.faces import detect

    rng = np.random.default_rng(3)
    checked = 0
    for _ in range(6):
        ident = synthfaces.sample_identity(rng)
        img = synthfaces.render(ident, synthfaces.sample_attributes(rng), 128)
        faces = detect(img)
        if not faces:
            continue
        eyes, _ = synthfaces_landmarks(ident, 128)
        iod = np.linalg.norm(eyes[1] - eyes[0])
        assert np.linalg.norm(faces[0].eyes - eyes, axis=1).max() < 0.25 * iod
        checked += 1
    assert checked >= 3
