"""SynthFaces: determinism, locality of every attribute, CelebA files, rules, CLI errors."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from intergan.attributes import CELEBA_ATTRS, CONFLICTS, apply_conflicts
from intergan.cli import main
from intergan.data.synthfaces import (
    ATTRS,
    load_identities,
    load_records,
    preview_grid,
    region_mask,
    render,
    sample_attributes,
    sample_identity,
    write_dataset,
)
from intergan.errors import UserError

HAIR = ("Black_Hair", "Blond_Hair", "Brown_Hair")


def _face(i: int, balanced: bool = True):
    rng = np.random.default_rng([123, i])
    return sample_identity(rng), sample_attributes(rng, balanced)


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _check_rules(lab: dict) -> None:
    assert sum(lab[h] for h in HAIR) <= 1
    assert not (lab["Bald"] and lab["Bangs"])
    assert not (lab["Mustache"] and lab["No_Beard"])


def test_render_is_deterministic_and_identity_is_json():
    ident, attrs = _face(0)
    a, b = render(ident, attrs, 40), render(json.loads(json.dumps(ident)), attrs, 40)
    assert a.dtype == np.uint8 and a.shape == (40, 40, 3)
    assert hashlib.sha256(a.tobytes()).digest() == hashlib.sha256(b.tobytes()).digest()
    other, _ = _face(1)
    assert not np.array_equal(a, render(other, attrs, 40))  # identities differ


@pytest.mark.parametrize("i", range(3))
def test_every_attribute_flip_stays_in_its_region(i):
    """Flipping one attribute changes only pixels in its mask (+ forced attributes')."""
    ident, attrs = _face(i)
    size = 40
    masks = {a: region_mask(ident, a, size) for a in ATTRS}
    base = render(ident, attrs, size)
    vec = np.array([attrs[a] for a in ATTRS])
    for j, a in enumerate(ATTRS):
        new = (
            apply_conflicts(vec, ATTRS, j, 1)
            if vec[j] == 0
            else np.where(np.arange(13) == j, 0, vec)
        )
        target = dict(zip(ATTRS, new.tolist()))
        allowed = masks[a].copy()
        for b in ATTRS:
            if target[b] != attrs[b]:
                allowed |= masks[b]
        changed = np.any(render(ident, target, size) != base, axis=-1)
        assert not (changed & ~allowed).any(), f"{a} changed pixels outside its region"
        if a not in ("Male", "Pale_Skin", "Young", *HAIR, "Bald"):
            assert masks[a].mean() < 0.25, f"{a} region is not tight"


def test_each_attribute_is_visible_on_a_full_haired_face():
    """Every attribute changes a clear number of pixels (not bald: hair colour shows)."""
    ident, _ = _face(2)
    attrs = {a: 0 for a in ATTRS} | {"No_Beard": 1, "Young": 1, "Male": 1}
    base = render(ident, attrs, 64)
    vec = np.array([attrs[a] for a in ATTRS])
    for j, a in enumerate(ATTRS):
        new = (
            apply_conflicts(vec, ATTRS, j, 1)
            if vec[j] == 0
            else np.where(np.arange(13) == j, 0, vec)
        )
        edited = render(ident, dict(zip(ATTRS, new.tolist())), 64)
        moved = np.abs(edited.astype(int) - base.astype(int)).max(-1) > 30
        assert moved.sum() >= 10, f"flipping {a} is barely visible ({moved.sum()} px)"


def test_sampling_marginals_and_rules():
    rng = np.random.default_rng(0)
    labs = [sample_attributes(rng) for _ in range(3000)]
    for lab in labs:
        _check_rules(lab)
        assert lab["Male"] or (lab["No_Beard"] and not lab["Mustache"])  # beards: men only
    mean = {a: np.mean([lab[a] for lab in labs]) for a in ATTRS}
    assert 0.37 < mean["Male"] < 0.47 and 0.72 < mean["Young"] < 0.82
    assert 0.03 < mean["Eyeglasses"] < 0.10 and 0.78 < mean["No_Beard"] < 0.88
    assert mean["Bald"] < 0.05 and 0.10 < mean["Bangs"] < 0.20
    bal = [sample_attributes(rng, balanced=True) for _ in range(2000)]
    for lab in bal:
        _check_rules(lab)
    assert 0.4 < np.mean([lab["Eyeglasses"] for lab in bal]) < 0.6


def test_written_files_have_the_celeba_format(tmp_path):
    out = write_dataset(tmp_path / "set", n=20, size=32, seed=3, split=(0.8, 0.1, 0.1), workers=1)
    lines = (out / "list_attr_celeba.txt").read_text().splitlines()
    assert lines[0] == "20" and lines[1].split() == list(CELEBA_ATTRS) and len(lines) == 22
    names = sorted(os.listdir(out / "img_align_celeba"))
    assert names == [f"{i:06d}.png" for i in range(1, 21)]
    records = {r["file"]: r for r in load_records(out)}
    for line, name in zip(lines[2:], names):
        fields = line.split()
        assert len(fields) == 41 and fields[0] == name
        vals = dict(zip(CELEBA_ATTRS, map(int, fields[1:])))
        assert set(vals.values()) <= {1, -1}
        for a in ATTRS:
            assert vals[a] == (1 if records[name]["attrs"][a] else -1)
        assert vals["Smiling"] == -1
        _check_rules(records[name]["attrs"])
    parts = [ln.split() for ln in (out / "list_eval_partition.txt").read_text().splitlines()]
    assert [p[0] for p in parts] == names
    assert [int(p[1]) for p in parts] == [0] * 16 + [1] * 2 + [2] * 2
    assert Image.open(out / "img_align_celeba" / names[0]).size == (32, 32)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left


def test_a_repeated_identity_record_is_refused(tmp_path):
    out = write_dataset(tmp_path / "set", n=3, size=32, seed=3, split=(1, 0, 0), workers=1)
    lines = (out / "identities.jsonl").read_text().splitlines()
    (out / "identities.jsonl").write_text("\n".join([*lines, lines[0]]) + "\n")
    # Before: the last record won, so ground truth could re-render another identity.
    with pytest.raises(UserError, match=r"line 4 repeats '000001\.png' \(first on line 1\)"):
        load_records(out)


def test_dataset_bytes_repeat_and_images_rerender(tmp_path):
    a = write_dataset(tmp_path / "a", n=6, size=32, seed=5, workers=1)
    b = write_dataset(tmp_path / "b", n=6, size=32, seed=5, workers=2)
    assert _digest(a) == _digest(b)
    c = write_dataset(tmp_path / "c", n=6, size=32, seed=6, workers=1)
    assert _digest(a) != _digest(c)
    ids, recs = load_identities(a), load_records(a)
    for rec in recs:
        img = np.asarray(Image.open(a / "img_align_celeba" / rec["file"]).convert("RGB"))
        assert np.array_equal(render(ids[rec["file"]], rec["attrs"], 32), img)


def test_restricted_attrs_hold_the_rest_neutral(tmp_path):
    out = write_dataset(tmp_path / "s", n=30, size=16, seed=1, balanced=True,
                        attrs=["Eyeglasses", "Mustache"], workers=1)  # fmt: skip
    for rec in load_records(out):
        lab = rec["attrs"]
        assert lab["Young"] == 1 and lab["Male"] == 0 and lab["Bald"] == 0
        assert lab["No_Beard"] == 1 - lab["Mustache"]  # the conflict rule wins
    with pytest.raises(UserError, match="cannot vary 'Smiling'"):
        write_dataset(tmp_path / "t", n=2, size=16, attrs=["Smiling"])


def test_preview_obeys_conflict_rules():
    recs = []
    for i in range(3):
        ident, attrs = _face(i)
        recs.append({"identity": ident, "attrs": attrs})
    grid, targets = preview_grid(recs, size=24)
    assert grid.shape == (12 + 3 * 24, 14 * 24, 3)
    for rec, row in zip(recs, targets):
        assert row[0] == rec["attrs"]
        for a, lab in zip(ATTRS, row[1:]):
            _check_rules(lab)
            assert lab[a] == 1 - rec["attrs"][a]
            if lab[a] == 1:
                forced = set(CONFLICTS.get(a, ()))
                assert all(lab[b] == rec["attrs"][b] for b in ATTRS if b != a and b not in forced)
            else:
                assert all(lab[b] == rec["attrs"][b] for b in ATTRS if b != a)


def test_cli_writes_set_and_preview(tmp_path, capsys):
    out, prev = tmp_path / "cli", tmp_path / "p.png"
    argv = ["synth", "--out", str(out), "--n", "4", "--size", "16", "--workers", "1"]
    assert main([*argv, "--preview", str(prev), "--preview-rows", "2", "--preview-size", "16"]) == 0
    assert Image.open(prev).size == (14 * 16, 12 + 2 * 16)
    assert len(os.listdir(out / "img_align_celeba")) == 4
    assert main(argv) == 2  # not empty, no --overwrite
    assert "--overwrite" in capsys.readouterr().err
    assert main([*argv, "--n", "3", "--overwrite"]) == 0
    assert len(os.listdir(out / "img_align_celeba")) == 3


@pytest.mark.parametrize(
    "extra, message",
    [
        # (--n 0 is refused by the parser: tests/test_cli_numbers.py)
        (["--split", "0.9,nan,0.1"], "split must be three fractions"),  # was a traceback
        (["--attrs", "Eyeglases"], "did you mean 'Eyeglasses'"),
        (["--split", "0.5,0.5,0.5"], "split must be three fractions"),
        (["--preview", "grid.jpg"], "--preview must name a .png"),
    ],
)
def test_cli_bad_input(tmp_path, capsys, extra, message):
    out = tmp_path / "bad"
    assert main(["synth", "--out", str(out), "--n", "2", "--size", "16", *extra]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.iterdir())


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_cli_unwritable_folder(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert main(["synth", "--out", str(locked / "set"), "--n", "2", "--size", "16"]) == 2
        assert "cannot write the output folder" in capsys.readouterr().err
        assert not list(locked.iterdir())
    finally:
        locked.chmod(0o700)


def test_cli_out_below_a_file(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["synth", "--out", str(blocker / "set"), "--n", "2", "--size", "16"]) == 2
    assert "cannot write the output folder" in capsys.readouterr().err
    assert main(["synth", "--out", str(blocker), "--n", "2", "--size", "16"]) == 2
    assert "is a file" in capsys.readouterr().err
    assert blocker.read_text() == "x" and len(list(tmp_path.iterdir())) == 1


def test_training_data_is_recognised_as_synthfaces_folder_or_cache(tmp_path):
    from intergan.data.synthfaces.export import is_synthfaces_data

    out = tmp_path / "synth"
    write_dataset(out, n=4, size=32, seed=0, workers=1)
    assert is_synthfaces_data(out) is True
    for flag in (True, False):
        cache = tmp_path / f"cache_{flag}"
        cache.mkdir()
        (cache / "manifest.json").write_text(
            json.dumps({"kind": "intergan-cache", "synthfaces": flag})
        )
        assert is_synthfaces_data(cache) is flag
    assert is_synthfaces_data(tmp_path / "cache_True" / "..") is False  # some other folder
    assert is_synthfaces_data(tmp_path / "nowhere") is None  # cannot be told here
