"""Label-file parsers, format detection and split rules."""

import numpy as np
import pytest

from data_fixtures import (
    make_celeba,
    make_celebahq,
    make_custom,
    make_synth_export,
    write_attr_file,
)
from intergan.attributes import CELEBA_ATTRS
from intergan.data import formats as F
from intergan.data.sources import detect_format, discover
from intergan.errors import UserError


def test_attr_file_maps_minus_one_to_zero(tmp_path):
    labels = np.array([[1, 0, 1], [0, 0, 1]], dtype=np.uint8)
    path = tmp_path / "a.txt"
    write_attr_file(path, ["x.jpg", "y.jpg"], labels, ("Male", "Young", "Bald"))
    table = F.read_attr_file(path)
    assert table.columns == ["Male", "Young", "Bald"]
    assert table.files == ["x.jpg", "y.jpg"]
    np.testing.assert_array_equal(table.values, labels)


def _attr_text(rows: list[str], count: int | None = None, names: str = "Male Young") -> str:
    return "\n".join([str(len(rows) if count is None else count), names, *rows]) + "\n"


@pytest.mark.parametrize(
    "rows, count, names, match",
    [
        (["a.jpg 1 -1", "b.jpg 1"], None, "Male Young", r"a\.txt: line 4 has 1 values .*2"),
        (["a.jpg 1 -1", "b.jpg 1 0"], None, "Male Young", r"line 4, attribute Young: value '0'"),
        (["a.jpg 2 -1"], None, "Male Young", r"line 3, attribute Male: value '2' is not 1 or -1"),
        (["a.jpg 1 -1"], 5, "Male Young", r"line 1 says 5 images but the file has 1 rows"),
        (["a.jpg 1 -1"], None, "Male Yung", r"unknown attribute 'Yung' \(did you mean 'Young'"),
        (["a.jpg 1 -1", "a.jpg 1 1"], None, "Male Young", r"line 4 repeats 'a.jpg'"),
    ],
)  # fmt: skip
def test_attr_file_errors_name_file_and_line(tmp_path, rows, count, names, match):
    path = tmp_path / "a.txt"
    path.write_text(_attr_text(rows, count, names))
    with pytest.raises(UserError, match=match):
        F.read_attr_file(path)


def test_partition_and_image_list_errors(tmp_path):
    part = tmp_path / "p.txt"
    part.write_text("a.jpg 0\nb.jpg 3\n")
    with pytest.raises(UserError, match=r"p\.txt: line 2 should be 'FILE SPLIT'"):
        F.read_partition(part)
    lst = tmp_path / "image_list.txt"
    lst.write_text("0 1 2.jpg\n")
    with pytest.raises(UserError, match="header 'idx orig_idx orig_file"):
        F.read_image_list(lst)


@pytest.mark.parametrize("second", ["1", "0"], ids=["conflicting", "identical"])
def test_a_repeated_partition_row_is_refused_like_in_the_attribute_file(tmp_path, second):
    part = tmp_path / "p.txt"
    part.write_text(f"a.jpg 0\nb.jpg 2\n\na.jpg {second}\n")
    # Before: the last row won silently (a conflicting one moved a.jpg to valid).
    with pytest.raises(UserError, match=r"p\.txt: line 4 repeats 'a\.jpg' \(first on line 1\)"):
        F.read_partition(part)


def test_a_repeated_celebahq_index_is_refused(tmp_path):
    lst = tmp_path / "image_list.txt"
    lst.write_text("idx orig_idx orig_file\n0 5 000006.jpg\n1 2 000003.jpg\n0 7 000008.jpg\n")
    with pytest.raises(UserError, match=r"line 4 repeats CelebA-HQ index 0 \(first on line 2\)"):
        F.read_image_list(lst)
    expected = make_celebahq(tmp_path / "hq")
    names = [f"{i}.jpg" for i in range(len(expected))] + ["0.png"]  # 0.jpg again, other labels
    rows = np.concatenate([expected, 1 - expected[:1]])
    write_attr_file(tmp_path / "hq" / "CelebAMask-HQ-attribute-anno.txt", names, rows)
    with pytest.raises(UserError, match=r"rows '0\.jpg' and '0\.png' both label CelebA-HQ image 0"):
        discover(tmp_path / "hq")


def test_data_check_refuses_a_conflicting_partition_row(tmp_path, capsys):
    from intergan.cli import main

    make_celeba(tmp_path / "d", 6, [0, 0, 0, 0, 1, 2])
    part = tmp_path / "d" / "list_eval_partition.txt"
    part.write_text(part.read_text() + "000001.jpg 2\n")
    # Before: `data check` printed "result: ok" with 000001.jpg in the test split.
    assert main(["data", "check", str(tmp_path / "d"), "--no-decode"]) == 2
    assert "line 7 repeats '000001.jpg' (first on line 1)" in capsys.readouterr().err


def _counts(split):
    return [int((split == k).sum()) for k in range(3)]


def test_published_split_boundaries_apply_to_full_datasets():
    celeba = F.index_splits(202_599, (182_000, 182_637), 202_599)
    assert _counts(celeba) == [182_000, 637, 19_962]
    assert celeba[181_999] == 0 and celeba[182_000] == 1 and celeba[182_637] == 2
    hq = F.index_splits(30_000, (28_000, 28_500), 30_000)
    assert _counts(hq) == [28_000, 500, 1_500]


def test_small_sets_are_cut_proportionally_with_every_split_nonempty():
    split = F.index_splits(12, (28_000, 28_500), 30_000)
    assert _counts(split) == [10, 1, 1]
    assert list(split) == sorted(split)  # contiguous, in file order
    assert _counts(F.index_splits(300, (28_000, 28_500), 30_000)) == [280, 5, 15]


def test_ratio_splits_do_not_depend_on_listing_order():
    names = [f"f{i}.png" for i in range(40)]
    a = F.ratio_splits(names, (0.8, 0.1, 0.1))
    b = F.ratio_splits(names[::-1], (0.8, 0.1, 0.1))[::-1]
    np.testing.assert_array_equal(a, b)
    assert _counts(a) == [32, 4, 4]
    with pytest.raises(UserError, match="three non-negative numbers"):
        F.parse_ratios("0.9,0.1")


def test_detect_format(tmp_path):
    make_celeba(tmp_path / "celeba", n=4)
    make_synth_export(tmp_path / "synth", n=4)
    make_celebahq(tmp_path / "hq")
    make_custom(tmp_path / "custom", n=4)
    assert detect_format(tmp_path / "celeba") == "celeba"
    assert detect_format(tmp_path / "synth") == "celeba"
    assert detect_format(tmp_path / "hq") == "celebahq"
    assert detect_format(tmp_path / "custom") == "custom"
    assert discover(tmp_path / "synth").synthfaces
    assert not discover(tmp_path / "celeba").synthfaces


def test_celeba_columns_are_all_forty(tmp_path):
    labels = make_celeba(tmp_path, n=4)
    src = discover(tmp_path)
    assert src.columns == list(CELEBA_ATTRS)
    np.testing.assert_array_equal(src.labels, labels)


def test_csv_labels_read_1_as_present_and_0_or_minus_1_as_absent(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text('image,Male,Young\nx.jpg,1,0\n"y z.jpg", -1 ,1\n\n')
    table = F.read_labels(path)
    assert table.columns == ["Male", "Young"] and table.files == ["x.jpg", "y z.jpg"]
    np.testing.assert_array_equal(table.values, [[1, 0], [0, 1]])


@pytest.mark.parametrize(
    "text,message",
    [
        ("file,Male\nx.jpg,yes\n", "line 2, attribute Male: value 'yes' is not 1, 0 or -1"),
        ("file,Male,Young\nx.jpg,1\n", "line 2 has 1 values after the file name; expected 2"),
        ("file,Male\nx.jpg,1\nx.jpg,0\n", "line 3 repeats 'x.jpg'"),
        ("file,Mael\nx.jpg,1\n", "did you mean 'Male'"),
        ("", "is empty"),
        ("file;Male\nx.jpg;1\n", "line 1 should be the header 'file,Attr1,Attr2,...'"),
    ],
)
def test_csv_label_errors_name_the_line_and_the_fix(tmp_path, text, message):
    path = tmp_path / "labels.csv"
    path.write_text(text)
    with pytest.raises(UserError, match=message):
        F.read_labels(path)


def test_written_attr_and_partition_files_read_back(tmp_path):
    labels = np.array([[1, 0, 1], [0, 0, 1]], dtype=np.uint8)
    F.write_attr_file(tmp_path / "a.txt", ["Bald", "Male", "Young"], ["a.png", "bb.png"], labels)
    table = F.read_attr_file(tmp_path / "a.txt")
    assert table.files == ["a.png", "bb.png"] and table.columns == ["Bald", "Male", "Young"]
    np.testing.assert_array_equal(table.values, labels)
    F.write_partition(tmp_path / "p.txt", ["a.png", "bb.png"], [0, 2])
    assert F.read_partition(tmp_path / "p.txt") == {"a.png": 0, "bb.png": 2}
