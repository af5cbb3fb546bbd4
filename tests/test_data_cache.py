"""The packed cache: `intergan prepare`, reading it back, and `intergan data check`."""

import json
import pickle

import numpy as np
import pytest
import torch

from data_fixtures import make_celeba, make_celebahq, make_synth_export, truncate
from intergan.cli import main
from intergan.data import build_dataset, make_loader
from intergan.data.datasets import CacheDataset
from intergan.data.decode import decode_many
from intergan.data.prepare import prepare
from intergan.errors import UserError

SPLITS = ("train", "valid", "test")


def test_cache_pixels_labels_and_names_equal_direct_decoding(tmp_path):
    make_celeba(tmp_path / "celeba", n=12)
    manifest = prepare(tmp_path / "celeba", tmp_path / "cache", 32, workers=0, log=lambda s: None)
    assert manifest["format"] == "celeba" and len(manifest["columns"]) == 40
    assert {s: manifest["splits"][s]["count"] for s in SPLITS} == {
        "train": 10,
        "valid": 1,
        "test": 1,
    }
    for split in SPLITS:
        direct = build_dataset(tmp_path / "celeba", "paper11", split, 32)
        cached = build_dataset(tmp_path / "cache", "paper11", split, 32)
        assert isinstance(cached, CacheDataset)
        assert cached.names == direct.names and cached.attrs == direct.attrs
        for i in range(len(direct)):
            assert torch.equal(cached[i][0], direct[i][0])
            assert torch.equal(cached[i][1], direct[i][1])
    assert len(build_dataset(tmp_path / "cache", None, "all", None)) == 12


def test_cache_batches_through_the_loader_match_items(tmp_path):
    make_celeba(tmp_path / "celeba", n=12)
    prepare(tmp_path / "celeba", tmp_path / "cache", 16, workers=0, log=lambda s: None)
    ds = build_dataset(tmp_path / "cache", None, "train", 16)
    images, labels = next(iter(make_loader(ds, 4, shuffle=False, seed=0, num_workers=0)))
    assert torch.equal(images, torch.stack([ds[i][0] for i in range(4)]))
    assert torch.equal(labels, ds.labels[:4])
    assert len(pickle.dumps(ds)) < 20_000  # workers get the path, not the pixels


def test_synthfaces_export_is_read_unchanged_through_the_celeba_path(tmp_path):
    images = make_synth_export(tmp_path / "synth", n=6, size=32)
    prepare(tmp_path / "synth", tmp_path / "cache", 32, workers=0, log=lambda s: None)
    manifest = json.loads((tmp_path / "cache" / "manifest.json").read_text())
    assert manifest["synthfaces"] and manifest["format"] == "celeba"
    ds = build_dataset(tmp_path / "cache", None, "train", 32)
    assert len(ds) == 4
    for i in range(4):  # square PNGs at the cache size: bit-exact, no CelebA crop
        np.testing.assert_array_equal(ds[i][0].numpy(), images[i])


def test_cache_size_must_match(tmp_path):
    make_celeba(tmp_path / "celeba", n=6)
    prepare(tmp_path / "celeba", tmp_path / "cache", 16, workers=0, log=lambda s: None)
    with pytest.raises(UserError, match=r"holds 16 px images but size 32 was asked"):
        build_dataset(tmp_path / "cache", None, "train", 32)


def test_existing_out_is_kept_unless_overwrite(tmp_path):
    make_celeba(tmp_path / "celeba", n=6)
    prepare(tmp_path / "celeba", tmp_path / "cache", 16, workers=0, log=lambda s: None)
    with pytest.raises(UserError, match="already exists; choose another folder or --overwrite"):
        prepare(tmp_path / "celeba", tmp_path / "cache", 8, workers=0)
    prepare(
        tmp_path / "celeba", tmp_path / "cache", 8, workers=0, overwrite=True, log=lambda s: None
    )
    assert build_dataset(tmp_path / "cache", None, "train", None).size == 8
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "celeba"]


def test_unreadable_image_stops_prepare_before_writing(tmp_path):
    make_celeba(tmp_path / "celeba", n=12)
    truncate(tmp_path / "celeba" / "img_align_celeba" / "000003.jpg")
    with pytest.raises(UserError, match=r"000003\.jpg.*nothing was written.*--skip-bad"):
        prepare(tmp_path / "celeba", tmp_path / "cache", 16, workers=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["celeba"]  # no cache, no temp folder


def test_skip_bad_lists_and_counts_unreadable_images(tmp_path, capsys):
    make_celeba(tmp_path / "celeba", n=12)
    truncate(tmp_path / "celeba" / "img_align_celeba" / "000003.jpg")
    (tmp_path / "celeba" / "img_align_celeba" / "000005.jpg").write_bytes(b"not a jpeg")
    rc = main(["prepare", "--data", str(tmp_path / "celeba"), "--size", "16", "--out",
               str(tmp_path / "cache"), "--skip-bad", "--workers", "0"])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0
    assert "skipped 2 unreadable image(s)" in out and "000005.jpg" in out
    train = build_dataset(tmp_path / "cache", None, "train", 16)
    assert len(train) == 8 and "000003.jpg" not in train.names
    manifest = json.loads((tmp_path / "cache" / "manifest.json").read_text())
    assert len(manifest["skipped"]["unreadable"]) == 2


def test_prepare_cli_checks_attrs_and_prints_marginals(tmp_path, capsys):
    make_celebahq(tmp_path / "hq", naming="orig", labels="celeba")
    out = str(tmp_path / "cache")
    rc = main(["prepare", "--data", str(tmp_path / "hq"), "--format", "celebahq", "--size", "16",
               "--out", out, "--attrs", "Male", "Young", "--workers", "0"])  # fmt: skip
    text = capsys.readouterr().out
    assert rc == 0
    assert "prepared celebahq" in text and "train 10, valid 1, test 1" in text
    assert "attribute marginals" in text and "Young" in text


def test_data_check_reports_format_splits_marginals_and_problems(tmp_path, capsys):
    make_celeba(tmp_path / "celeba", n=12)
    assert main(["data", "check", str(tmp_path / "celeba"), "--workers", "0"]) == 0
    text = capsys.readouterr().out
    assert "format celeba" in text and "train 10  valid 1  test 1  total 12" in text
    assert "Eyeglasses" in text and "result: ok" in text
    truncate(tmp_path / "celeba" / "img_align_celeba" / "000004.jpg")
    (tmp_path / "celeba" / "img_align_celeba" / "000009.jpg").unlink()
    (tmp_path / "celeba" / "img_align_celeba" / "stray.jpg").write_bytes(b"")
    assert main(["data", "check", str(tmp_path / "celeba"), "--workers", "0"]) == 1
    text = capsys.readouterr().out
    assert "missing images (labelled, no file): 1\n  000009.jpg" in text
    assert "unlabelled images (file, no label row): 1\n  stray.jpg" in text
    assert "unreadable images: 1" in text and "000004.jpg" in text
    assert "result: 3 problem(s)" in text


def test_data_check_on_a_cache(tmp_path, capsys):
    make_celeba(tmp_path / "celeba", n=6)
    prepare(tmp_path / "celeba", tmp_path / "cache", 8, workers=0, log=lambda s: None)
    assert main(["data", "check", str(tmp_path / "cache")]) == 0
    text = capsys.readouterr().out
    assert "format cache, 8 px" in text and "train" in text and "Male" in text


def test_parallel_decoding_keeps_order_and_reports_bad_files(tmp_path):
    make_celeba(tmp_path, n=6)
    truncate(tmp_path / "img_align_celeba" / "000002.jpg")
    jobs = [
        (i, str(p), 16) for i, p in enumerate(sorted((tmp_path / "img_align_celeba").iterdir()))
    ]
    serial = list(decode_many(jobs, workers=0))
    parallel = list(decode_many(jobs, workers=2, min_parallel=0))
    assert [r[0] for r in parallel] == list(range(6))
    assert parallel[1][1] is None and "000002.jpg" in parallel[1][2]
    for (_, a, _), (_, b, _) in zip(serial, parallel):
        assert (a is None and b is None) or np.array_equal(a, b)
