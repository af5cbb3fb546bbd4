"""Photo loading: formats, modes, EXIF orientation and every refusal."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from intergan.editing.io import Photo, list_images, load_image, save_image
from intergan.errors import UserError


def gradient(w=40, h=30) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([xx * 6, yy * 8, (xx + yy) * 3], -1).astype(np.uint8)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp"])
def test_formats_load_as_rgb(tmp_path, suffix):
    p = tmp_path / f"x{suffix}"
    Image.fromarray(gradient()).save(p, quality=95)
    photo = load_image(p)
    assert photo.rgb.shape == (30, 40, 3) and photo.rgb.dtype == np.uint8
    assert photo.alpha is None
    assert np.abs(photo.rgb.astype(int) - gradient().astype(int)).mean() < 4


def test_greyscale_becomes_rgb(tmp_path):
    p = tmp_path / "g.png"
    Image.fromarray(gradient()[..., 0], "L").save(p)
    photo = load_image(p)
    assert photo.rgb.shape == (30, 40, 3)
    assert (photo.rgb[..., 0] == photo.rgb[..., 2]).all()


def _deep(mode: str, grey: np.ndarray) -> Image.Image:
    """``grey`` (8-bit values) stored in a 16/32-bit Pillow mode, as a file would hold it."""
    if mode == "F":
        return Image.fromarray((grey / 255).astype(np.float32))  # floats in [0, 1]
    wide = grey.astype(np.uint32) * 257  # 8-bit v is 16-bit 257 v
    if mode == "I":
        return Image.fromarray(wide.astype(np.int32))
    return Image.frombytes(
        mode, grey.shape[::-1], wide.astype(">u2" if mode == "I;16B" else "<u2").tobytes()
    )


@pytest.mark.parametrize(
    "mode,suffix", [("I;16", ".png"), ("I;16B", ".tif"), ("I", ".tif"), ("F", ".tif")]
)
def test_16_bit_and_float_images_read_as_the_training_decoder_reads_them(tmp_path, mode, suffix):
    from intergan.data.decode import load_image as training_image
    from intergan.editing.convert import to_batch

    grey = gradient(32, 32)[..., 0]
    im = _deep(mode, grey)
    im.save(tmp_path / f"x{suffix}")
    assert Image.open(tmp_path / f"x{suffix}").mode == mode
    # Before: Pillow's convert("RGB") clipped every value above 255: almost white.
    photo = load_image(tmp_path / f"x{suffix}")
    np.testing.assert_array_equal(photo.rgb, np.repeat(grey[..., None], 3, -1))
    trained = training_image(tmp_path / f"x{suffix}", 32)  # the same pixels, (3, S, S)
    np.testing.assert_array_equal(trained, photo.rgb.transpose(2, 0, 1))
    np.testing.assert_array_equal(to_batch(im).photos[0].rgb, photo.rgb)  # the API: a PIL image


def test_a_transparent_grey_value_becomes_alpha_as_in_a_palette_image(tmp_path):
    grey = gradient(32, 32)[..., 0]
    clear = int(grey[0, 0]) * 257
    _deep("I;16", grey).save(tmp_path / "t.png", transparency=clear)
    photo = load_image(tmp_path / "t.png")
    np.testing.assert_array_equal(photo.alpha, np.where(grey == grey[0, 0], 0, 255))


def test_rgba_keeps_alpha_through_a_save(tmp_path):
    alpha = np.tile(np.arange(40, dtype=np.uint8) * 6, (30, 1))
    Image.fromarray(np.dstack([gradient(), alpha]), "RGBA").save(tmp_path / "a.png")
    photo = load_image(tmp_path / "a.png")
    np.testing.assert_array_equal(photo.alpha, alpha)
    save_image(tmp_path / "b.png", photo)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "b.png"))[..., 3], alpha)


def test_exif_orientation_is_applied(tmp_path):
    im = Image.fromarray(gradient(40, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    im.save(tmp_path / "o.jpg", exif=exif, quality=95)
    photo = load_image(tmp_path / "o.jpg")
    assert photo.rgb.shape == (40, 30, 3)  # upright as a viewer shows it


def test_not_an_image_is_refused(tmp_path):
    p = tmp_path / "notes.jpg"
    p.write_text("not pixels")
    with pytest.raises(UserError, match="not an image"):
        load_image(p)


def test_too_many_pixels_is_refused_before_decoding(tmp_path):
    p = tmp_path / "big.png"
    Image.new("RGB", (300, 200)).save(p)
    with pytest.raises(UserError, match=r"60,000 pixels.*--max-pixels"):
        load_image(p, max_pixels=50_000)
    assert load_image(p, max_pixels=60_000).rgb.shape == (200, 300, 3)


def test_missing_inputs_are_named(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(UserError, match="nope"):
        list_images([tmp_path / "nope"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="holds no images"):
        list_images([tmp_path / "empty"])


def test_folders_expand_sorted_and_skip_other_files(tmp_path):
    for name in ("b.png", "a.jpg", "c.txt"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in list_images([tmp_path])] == ["a.jpg", "b.png"]


def test_jpeg_save_drops_alpha(tmp_path):
    photo = Photo(gradient(), np.full((30, 40), 200, np.uint8))
    save_image(tmp_path / "x.jpg", photo)
    assert Image.open(tmp_path / "x.jpg").mode == "RGB"


def test_edit_command_does_not_import_training_code():
    """`intergan edit` must run where training code (and its deps) is not wanted."""
    import subprocess
    import sys

    code = (
        "import sys; from intergan import cli; cli.build_parser('edit'); "
        "print('intergan.training' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
