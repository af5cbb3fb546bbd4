"""Datasets built from image folders: splits, labels, framing, flips, loaders."""

import numpy as np
import pytest
import torch
from PIL import Image

from data_fixtures import (
    CUSTOM_COLUMNS,
    HQ_ORIG,
    celeba_name,
    make_celeba,
    make_celebahq,
    make_custom,
    picture,
)
from intergan.attributes import CELEBA_ATTRS, flip_targets
from intergan.data import build_dataset, make_loader, set_epoch
from intergan.data.decode import load_image
from intergan.data.order import epoch_permutation


def _col(name):
    return CELEBA_ATTRS.index(name)


def test_celeba_file_order_splits_and_labels(tmp_path):
    labels = make_celeba(tmp_path, n=12)
    parts = {s: build_dataset(tmp_path, "all40", s, 32) for s in ("train", "valid", "test")}
    assert [len(d) for d in parts.values()] == [10, 1, 1]
    assert parts["train"].names == [celeba_name(i) for i in range(10)]
    assert parts["test"].names == [celeba_name(11)]
    image, lab = parts["valid"][0]
    assert image.dtype == torch.uint8 and image.shape == (3, 32, 32)
    assert lab.dtype == torch.float32
    np.testing.assert_array_equal(lab.numpy(), labels[10])
    assert len(build_dataset(tmp_path, None, "all", 32)) == 12


def test_partition_file_decides_membership(tmp_path):
    partition = [2, 0, 1, 0, 0, 2, 0, 1, 0, 0, 0, 0]
    make_celeba(tmp_path, n=12, partition=partition)
    test = build_dataset(tmp_path, None, "test", 32)
    assert test.names == [celeba_name(0), celeba_name(5)]
    assert len(build_dataset(tmp_path, None, "train", 32)) == 8


def test_attribute_subset_follows_requested_order(tmp_path):
    labels = make_celeba(tmp_path, n=12)
    ds = build_dataset(tmp_path, ["Young", "Male", "Bald"], "all", 32)
    assert ds.attrs == ["Young", "Male", "Bald"]
    expected = labels[:, [_col("Young"), _col("Male"), _col("Bald")]]
    np.testing.assert_array_equal(ds.labels.numpy(), expected)
    assert build_dataset(tmp_path, "paper11", "all", 32).labels.shape == (12, 11)


def test_edit_targets_from_dataset_labels_use_the_shared_conflict_rules(tmp_path):
    make_celeba(tmp_path, n=12)
    ds = build_dataset(tmp_path, ["Young", "Bangs", "Bald"], "all", 32)
    labels = torch.stack([ds[i][1] for i in range(len(ds))])
    targets = flip_targets(labels, ds.attrs)
    switched_on = labels[:, 1] == 0  # Bangs turned on -> Bald must be off (docs/design.md 1)
    assert switched_on.any()
    assert (targets[1][switched_on, 2] == 0).all()
    assert (targets[1][switched_on, 1] == 1).all()


def test_celeba_aligned_images_get_the_170_centre_crop(tmp_path):
    path = tmp_path / "a.jpg"
    picture(1, 178, 218).save(path, quality=95)
    decoded = Image.open(path).convert("RGB")
    expected = decoded.crop((4, 24, 174, 194)).resize((64, 64), Image.Resampling.BICUBIC)
    got = load_image(path, 64)
    np.testing.assert_array_equal(got, np.asarray(expected).transpose(2, 0, 1))


def test_square_and_other_images_are_not_celeba_cropped(tmp_path):
    square = picture(2, 32, 32)
    square.save(tmp_path / "s.png")
    np.testing.assert_array_equal(
        load_image(tmp_path / "s.png", 32), np.asarray(square).transpose(2, 0, 1)
    )
    wide = picture(3, 48, 32)
    wide.save(tmp_path / "w.png")
    np.testing.assert_array_equal(
        load_image(tmp_path / "w.png", 32), np.asarray(wide)[:, 8:40].transpose(2, 0, 1)
    )


def test_grey_cmyk_rgba_and_palette_images_become_rgb(tmp_path):
    Image.new("L", (16, 16), 77).save(tmp_path / "g.png")
    assert (load_image(tmp_path / "g.png", 16) == 77).all()
    Image.new("CMYK", (16, 16), (0, 0, 0, 0)).save(tmp_path / "c.jpg")
    assert load_image(tmp_path / "c.jpg", 16).min() >= 250  # no ink = white
    Image.new("RGBA", (16, 16), (10, 20, 30, 0)).save(tmp_path / "t.png")
    assert (load_image(tmp_path / "t.png", 16) == 255).all()  # transparent over white
    Image.new("RGBA", (16, 16), (10, 20, 30, 255)).save(tmp_path / "o.png")
    assert load_image(tmp_path / "o.png", 16)[:, 0, 0].tolist() == [10, 20, 30]
    pal = Image.new("P", (16, 16), 1)
    pal.putpalette([0, 0, 0, 200, 0, 0] + [0] * 762)
    pal.save(tmp_path / "p.png")
    assert load_image(tmp_path / "p.png", 16)[:, 3, 3].tolist() == [200, 0, 0]


@pytest.mark.parametrize("naming", ["index", "orig"])
@pytest.mark.parametrize("labels", ["mask", "celeba"])
def test_celebahq_images_get_their_original_celeba_row(tmp_path, naming, labels):
    expected = make_celebahq(tmp_path, naming=naming, labels=labels)
    ds = build_dataset(tmp_path, "all40", "all", 32)
    assert len(ds) == len(HQ_ORIG)
    np.testing.assert_array_equal(ds.labels.numpy(), expected)
    splits = [len(build_dataset(tmp_path, None, s, 32)) for s in ("train", "valid", "test")]
    assert splits == [10, 1, 1]
    # HQ index 4 is picture(1004) whatever the file is called
    picture(1004, 48, 48).save(tmp_path / "ref.jpg", quality=90)
    np.testing.assert_array_equal(ds[4][0].numpy(), load_image(tmp_path / "ref.jpg", 32))


def test_celebahq_label_sources_agree(tmp_path):
    make_celebahq(tmp_path / "a", labels="mask")
    make_celebahq(tmp_path / "b", naming="orig", labels="celeba")
    a = build_dataset(tmp_path / "a", "all40", "all", 32)
    b = build_dataset(tmp_path / "b", "all40", "all", 32)
    assert torch.equal(a.labels, b.labels)
    assert torch.equal(a[7][0], b[7][0])


def test_custom_folder_with_ratios_or_partition(tmp_path):
    labels = make_custom(tmp_path / "r", n=12)
    ds = build_dataset(tmp_path / "r", ["Bald", "Male"], "all", 32)
    np.testing.assert_array_equal(
        ds.labels.numpy(), labels[:, [CUSTOM_COLUMNS.index("Bald"), CUSTOM_COLUMNS.index("Male")]]
    )
    sizes = [
        len(build_dataset(tmp_path / "r", ["Male"], s, 32)) for s in ("train", "valid", "test")
    ]
    assert sizes == [10, 1, 1]
    sizes = [
        len(build_dataset(tmp_path / "r", ["Male"], s, 32, ratios="0.5,0.25,0.25"))
        for s in ("train", "valid", "test")
    ]
    assert sizes == [6, 3, 3]
    make_custom(tmp_path / "p", n=12, partition=True)
    valid = build_dataset(tmp_path / "p", ["Male"], "valid", 32)
    assert valid.names == [f"face_{i:02d}.png" for i in (1, 4, 7, 10)]


def test_flip_is_random_horizontal_and_off_by_default(tmp_path):
    make_celeba(tmp_path, n=12)
    plain = build_dataset(tmp_path, None, "train", 32)
    flipping = build_dataset(tmp_path, None, "train", 32, flip=True)
    base = plain[0][0]
    assert torch.equal(plain[0][0], base)
    torch.manual_seed(0)
    seen = {torch.equal(flipping[0][0], base.flip(-1)) for _ in range(20)}
    assert seen == {True, False}
    assert not torch.equal(base, base.flip(-1))


def test_loader_batches_are_seeded_and_reshuffled_per_epoch(tmp_path):
    make_celeba(tmp_path, n=12)
    ds = build_dataset(tmp_path, None, "all", 16)
    loader = make_loader(ds, batch_size=4, shuffle=True, seed=3, num_workers=0)
    images, labels = next(iter(loader))
    assert images.shape == (4, 3, 16, 16) and images.dtype == torch.uint8
    assert labels.shape == (4, 13) and labels.dtype == torch.float32
    order = list(loader.sampler)
    assert list(make_loader(ds, 4, True, 3, num_workers=0).sampler) == order
    assert order == epoch_permutation(12, 3, 0).tolist()  # the trainer's order
    assert list(make_loader(ds, 4, False, 3, num_workers=0).sampler) == list(range(12))
    set_epoch(loader, 1)
    assert list(loader.sampler) != order and sorted(loader.sampler) == list(range(12))
    with pytest.raises(Exception, match="fewer than the batch size"):
        make_loader(ds, batch_size=64, shuffle=True, seed=0)


def test_distributed_sampler_gives_disjoint_shards(tmp_path):
    make_celeba(tmp_path, n=12)
    ds = build_dataset(tmp_path, None, "all", 16)
    shards = [
        list(make_loader(ds, 2, True, 5, distributed=True, world_size=2, rank=r).sampler)
        for r in range(2)
    ]
    assert len(shards[0]) == len(shards[1]) == 6
    assert sorted(shards[0] + shards[1]) == list(range(12))
    loader = make_loader(ds, 2, True, 5, distributed=True, world_size=2, rank=0)
    set_epoch(loader, 1)
    assert list(loader.sampler) != shards[0]
