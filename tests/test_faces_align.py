"""``intergan faces align`` on real photos from installed packages (scikit-image).

The folder holds two real portraits (the astronaut, the camera man), a cat (no
face), a picture of the two portraits side by side (two faces) and a file that is
not an image. Needs the ``face`` extra (ONNX Runtime and MTCNN's files).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("onnxruntime")
skdata = pytest.importorskip("skimage.data")

from intergan.cli import main  # noqa: E402
from intergan.data.formats import read_attr_file, read_partition  # noqa: E402
from intergan.editing.align import get_framing  # noqa: E402
from intergan.editing.faces import detect  # noqa: E402

PORTRAITS = ("astronaut.png", "camera man.jpg")


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    d = tmp_path_factory.mktemp("photos")
    astro, cam = skdata.astronaut(), np.stack([skdata.camera()] * 3, axis=-1)
    Image.fromarray(astro).save(d / "astronaut.png")
    Image.fromarray(cam).save(d / "camera man.jpg", quality=95)
    Image.fromarray(skdata.chelsea()).save(d / "cat.jpg", quality=95)
    Image.fromarray(np.concatenate([astro, cam], axis=1)).save(d / "pair.png")
    (d / "notes.jpg").write_bytes(b"not a jpeg")
    return d


def align(*args) -> int:
    return main(["faces", "align", *map(str, args)])


def check(folder) -> int:
    return main(["data", "check", str(folder)])


def test_judge_labels_a_dataset_that_data_check_and_prepare_accept(photos, tmp_path, capsys):
    out = tmp_path / "mine"
    assert align(photos, "--out", out, "--label-with", "synthfaces-64", "--size", "64") == 0
    err = capsys.readouterr().err
    assert "cat.jpg: no face found" in err and "pair.png: 2 faces" in err
    assert "notes.jpg is not an image" in err
    images = sorted(p.name for p in (out / "img_align_celeba").iterdir())
    assert images == ["astronaut.png", "camera_man.png"]  # white space -> _
    assert all(Image.open(out / "img_align_celeba" / n).size == (64, 64) for n in images)
    table = read_attr_file(out / "list_attr_celeba.txt")
    assert sorted(table.files) == images and "Male" in table.columns
    assert set(read_partition(out / "list_eval_partition.txt")) == set(images)
    meta = json.loads((out / "aligned.json").read_text())
    assert meta["labels"]["estimated"] is True and meta["labels"]["judge"] == "synthfaces-64"
    assert [len(meta["skipped"][k]) for k in ("unreadable", "no_face", "several_faces")] == [1] * 3
    rows = [json.loads(line) for line in (out / "aligned_faces.jsonl").read_text().splitlines()]
    assert all(set(r["p"]) == set(table.columns) for r in rows)  # the judge's probabilities

    assert check(out) == 0
    assert "estimated by the judge synthfaces-64" in capsys.readouterr().out
    cache = tmp_path / "cache"
    assert main(["prepare", "--data", str(out), "--size", "32", "--out", str(cache)]) == 0
    assert check(cache) == 0
    assert "estimated by the judge" in capsys.readouterr().out  # carried into the cache
    assert json.loads((cache / "manifest.json").read_text())["framing"] == "celeba"  # and this


def test_faces_land_where_the_framing_puts_eyes_and_mouth(photos, tmp_path):
    out = tmp_path / "mine"
    assert align(photos / "astronaut.png", "--out", out, "--label-with", "synthfaces-64",
                 "--framing", "celeba", "--size", "256") == 0  # fmt: skip
    crop = np.asarray(Image.open(out / "img_align_celeba" / "astronaut.png"))
    (face,) = detect(crop)
    want = get_framing("celeba").points(256)  # eyes 59 px apart
    found = np.vstack([face.eyes, face.mouth[None]])  # found again in the crop
    assert np.abs(found - want).max() < 0.025 * 256  # 3.5 px measured (fit + detection)


def test_split_numbers_faces_from_the_left_with_a_label_row_each(photos, tmp_path, capsys):
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "file,Male,Young,Eyeglasses\n"
        "astronaut.png,0,1,0\n"
        "pair_face0,0,1,-1\n"
        "pair_face1.png,1,1,0\n"
        "someone_else.jpg,1,0,0\n"
    )
    out = tmp_path / "mine"
    code = align(photos, "--out", out, "--labels", labels, "--multi-face", "split",
                 "--split-ratios", "1,0,0")  # fmt: skip
    assert code == 0
    captured = capsys.readouterr()
    assert "camera man.jpg: no label row" in captured.err  # reported, left out
    table = read_attr_file(out / "list_attr_celeba.txt")
    assert table.columns == ["Male", "Young", "Eyeglasses"]
    got = dict(zip(table.files, table.values.tolist()))
    assert got == {
        "astronaut.png": [0, 1, 0],
        "pair_face0.png": [0, 1, 0],
        "pair_face1.png": [1, 1, 0],
    }
    rows = {
        r["file"]: r
        for r in map(json.loads, (out / "aligned_faces.jsonl").read_text().splitlines())
    }
    assert rows["pair_face0.png"]["face"] == 0 and rows["pair_face1.png"]["face"] == 1
    assert rows["pair_face0.png"]["box"][0] < 512 <= rows["pair_face1.png"]["box"][0]
    meta = json.loads((out / "aligned.json").read_text())
    assert meta["labels"] == {"from": "file", "file": str(labels), "estimated": False}
    assert meta["unused_label_rows"] == ["someone_else.jpg"]
    assert "1 label row(s) named no photo" in captured.out
    assert check(out) == 0
    assert "estimated" not in capsys.readouterr().out


def test_largest_keeps_one_face_of_a_group_photo(photos, tmp_path):
    out = tmp_path / "mine"
    assert align(photos / "pair.png", "--out", out, "--label-with", "synthfaces-64",
                 "--multi-face", "largest", "--size", "32") == 0  # fmt: skip
    # the astronaut's face (face 0, 88 px wide) is larger than the camera man's (56 px)
    assert [p.name for p in (out / "img_align_celeba").iterdir()] == ["pair_face0.png"]


def test_no_face_anywhere_writes_nothing(photos, tmp_path, capsys):
    out = tmp_path / "mine"
    assert align(photos / "cat.jpg", "--out", out, "--label-with", "synthfaces-64") == 2
    assert "no face kept from 1 photo(s) (1 no face" in capsys.readouterr().err
    assert not out.exists()


def test_a_bad_label_file_is_refused_before_any_work(photos, tmp_path, capsys):
    labels = tmp_path / "labels.csv"
    labels.write_text("file,Male,Yung\nastronaut.png,1,0\n")
    assert align(photos, "--out", tmp_path / "o", "--labels", labels) == 2
    assert "did you mean 'Young'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
