"""Bad input: every case gets a UserError naming the file, field or flag and the fix."""

import os

import pytest

from data_fixtures import make_celeba, make_celebahq, make_custom, truncate
from intergan.cli import main
from intergan.data import build_dataset
from intergan.errors import UserError


def test_unknown_attribute_suggests_the_closest(tmp_path):
    make_celeba(tmp_path, n=4)
    with pytest.raises(UserError, match="unknown attribute 'Eyeglass' .*did you mean 'Eyeglasses'"):
        build_dataset(tmp_path, ["Male", "Eyeglass"], "train", 16)


def test_attribute_the_label_file_lacks(tmp_path):
    make_custom(tmp_path, n=4)
    with pytest.raises(UserError, match=r"attributes\.txt has no column for Pale_Skin .*--attrs"):
        build_dataset(tmp_path, ["Male", "Pale_Skin"], "train", 16)


def test_malformed_row_is_reported_with_file_and_line(tmp_path):
    make_celeba(tmp_path, n=4)
    path = tmp_path / "list_attr_celeba.txt"
    lines = path.read_text().splitlines()
    lines[4] = lines[4].rsplit(" ", 1)[0]  # drop the last value of the 3rd image
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match=r"list_attr_celeba\.txt: line 5 has 39 values"):
        build_dataset(tmp_path, None, "train", 16)
    lines = path.read_text().splitlines()
    lines[4] = lines[3].replace("-1", " 0", 1)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match=r"line 5, attribute \w+: value '0' is not 1 or -1"):
        build_dataset(tmp_path, None, "train", 16)


def test_labels_and_images_that_do_not_match(tmp_path):
    make_celeba(tmp_path, n=6)
    images = tmp_path / "img_align_celeba"
    (images / "000002.jpg").unlink()
    with pytest.raises(
        UserError, match=r"1 image\(s\) listed in .*list_attr_celeba\.txt are not in"
    ):
        build_dataset(tmp_path, None, "train", 16)
    assert len(build_dataset(tmp_path, None, "all", 16, skip_bad=True)) == 5
    (images / "000002.jpg").write_bytes((images / "000001.jpg").read_bytes())
    (images / "extra.jpg").write_bytes((images / "000001.jpg").read_bytes())
    with pytest.raises(UserError, match=r"1 image\(s\) in .* have no row in .*extra\.jpg"):
        build_dataset(tmp_path, None, "train", 16)


def test_partition_file_missing_a_row(tmp_path):
    make_celeba(tmp_path, n=4, partition=[0, 0, 1, 2])
    part = tmp_path / "list_eval_partition.txt"
    part.write_text("".join(part.read_text().splitlines(keepends=True)[:3]))
    with pytest.raises(UserError, match=r"list_eval_partition\.txt has no row for '000004\.jpg'"):
        build_dataset(tmp_path, None, "train", 16)


def test_corrupt_image_read_directly_names_the_file(tmp_path):
    make_celeba(tmp_path, n=12)
    truncate(tmp_path / "img_align_celeba" / "000002.jpg")
    ds = build_dataset(tmp_path, None, "train", 16)
    with pytest.raises(UserError, match=r"000002\.jpg.*intergan data check"):
        ds[1]


def test_empty_missing_and_unrecognised_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="is empty"):
        build_dataset(tmp_path / "empty", None, "train", 16)
    with pytest.raises(UserError, match="does not exist; check --data"):
        build_dataset(tmp_path / "nope", None, "train", 16)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "readme.md").write_text("hi")
    with pytest.raises(UserError, match="cannot tell what dataset"):
        build_dataset(tmp_path / "junk", None, "train", 16)
    (tmp_path / "noimg").mkdir()
    (tmp_path / "noimg" / "attributes.txt").write_text("0\nMale\n")
    with pytest.raises(UserError, match="no images"):
        build_dataset(tmp_path / "noimg", None, "train", 16)


def test_wrong_format(tmp_path):
    make_celeba(tmp_path, n=4)
    with pytest.raises(UserError, match="does not look like CelebA-HQ.*--format celeba"):
        build_dataset(tmp_path, None, "train", 16, format="celebahq")
    with pytest.raises(UserError, match="unknown format 'celebA'"):
        build_dataset(tmp_path, None, "train", 16, format="celebA")
    with pytest.raises(UserError, match="not a prepared cache"):
        build_dataset(tmp_path, None, "train", 16, format="cache")
    with pytest.raises(UserError, match="unknown split 'training'"):
        build_dataset(tmp_path, None, "training", 16)


def test_celebahq_named_by_celeba_file_without_image_list(tmp_path):
    make_celebahq(tmp_path, naming="orig", labels="mask")
    (tmp_path / "image_list.txt").unlink()
    with pytest.raises(UserError, match="named by original CelebA file name.*image_list.txt"):
        build_dataset(tmp_path, None, "train", 16)


def test_celebahq_celeba_labels_need_both_files(tmp_path):
    make_celebahq(tmp_path, labels="celeba")
    (tmp_path / "list_attr_celeba.txt").unlink()
    with pytest.raises(UserError, match="need both image_list.txt and list_attr_celeba.txt"):
        build_dataset(tmp_path, None, "train", 16)


def test_cli_turns_bad_input_into_exit_code_2(tmp_path, capsys):
    make_celeba(tmp_path / "d", n=4)
    out = str(tmp_path / "cache")
    rc = main(["prepare", "--data", str(tmp_path / "d"), "--size", "16", "--out", out,
               "--attrs", "Blonde_Hair"])  # fmt: skip
    assert rc == 2
    assert (
        "error: unknown attribute 'Blonde_Hair' (did you mean 'Blond_Hair'?)"
        in capsys.readouterr().err
    )
    with pytest.raises(SystemExit) as exc:
        main(["prepare", "--data", str(tmp_path / "d"), "--size", "16", "--out", out,
              "--format", "celeb"])  # fmt: skip
    assert exc.value.code == 2
    assert "invalid choice: 'celeb'" in capsys.readouterr().err
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("link", ["loop", "dangling"])
def test_a_bad_symbolic_link_is_one_bad_image(tmp_path, capsys, link):
    root = tmp_path / "d"
    make_celeba(root, n=12)
    bad = root / "img_align_celeba" / "000003.jpg"
    bad.unlink()
    os.symlink(bad.name if link == "loop" else "nowhere.jpg", bad)
    # Before: a loop stopped `data check` and `prepare --skip-bad` with "Too many levels of
    # symbolic links"; a dangling link was counted as a missing image, not a bad one.
    assert main(["data", "check", str(root), "--workers", "0"]) == 1
    out = capsys.readouterr().out
    assert "unreadable images: 1\n  cannot decode image" in out and "000003.jpg" in out
    cache = tmp_path / "cache"
    assert main(["prepare", "--data", str(root), "--size", "16", "--out", str(cache),
                 "--skip-bad", "--workers", "0"]) == 0  # fmt: skip
    assert "skipped 1 unreadable image(s)" in capsys.readouterr().out
    assert len(build_dataset(cache, None, "all", 16)) == 11
    ds = build_dataset(root, None, "all", 16, skip_bad=True)  # what `train --skip-bad` reads
    assert len(ds) == 12 and ds[2][0].shape == (3, 16, 16)
    assert "000003.jpg" in capsys.readouterr().err
