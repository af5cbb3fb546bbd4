"""``intergan faces align``: ordinary photos -> training data in the CelebA layout.

    intergan faces align photos/ --out data/mine --labels labels.csv
    intergan faces align photos/ --out data/mine --label-with synthfaces-64 --multi-face split

Each photo's faces are found (MTCNN, ``intergan.editing.faces``), numbered from 0
left to right as everywhere else, and cut out in a model framing (``--framing``,
default ``celeba``; ``intergan.editing.align``) at ``--size`` px. A photo with no
face, or with several under ``--multi-face skip`` (the default), is reported and
left out; ``split`` keeps one sample per face, ``largest`` the largest face. Labels
come from the user's file (CSV or CelebA layout; rows by sample or photo name) or
are estimated by a judge (``--label-with``) and then marked estimated in
``aligned.json``. The folder appears at ``--out`` only when complete. Layout::

    img_align_celeba/NAME.png     the aligned faces (square PNG): NAME is the photo's
                                  stem, NAME_faceK for face K of a photo with several
    list_attr_celeba.txt          labels (1 / -1) over the label file's or judge's attributes
    list_eval_partition.txt       splits by ratio over a hash of the photo's name
    aligned.json                  how the set was made, what was left out and why
    aligned_faces.jsonl           per sample: photo, face number, box, score (and p: judge)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from intergan.cli_args import MAX_PIXELS, int_in
from intergan.data.formats import parse_ratios, ratio_splits, write_attr_file, write_partition
from intergan.data.layout import ATTR_FILE
from intergan.data.sources import ALIGNED_META, DEFAULT_RATIOS, PARTITION_FILE
from intergan.editing.align import FRAMINGS, Framing, crop_face, get_framing
from intergan.editing.faces import Face, FaceDetector, default_detector
from intergan.editing.io import DEFAULT_MAX_PIXELS, Photo, list_images, load_image, save_image
from intergan.errors import UserError
from intergan.faces_labels import FileLabels, JudgeLabels, Labeller, Sample
from intergan.files import check_not_an_input, check_output_folder, output_folder, write_json
from intergan.models.pretrained import BUNDLED_HELP

IMAGES = "img_align_celeba"
FACES_FILE = "aligned_faces.jsonl"
MULTI_FACE = ("skip", "split", "largest")


def choose_faces(faces: list[Face], policy: str) -> list[int]:
    """Numbers of the faces to keep (0 = leftmost); [] leaves the photo out."""
    if len(faces) <= 1 or policy == "split":
        return list(range(len(faces)))
    if policy == "largest":
        area = [(f.box[2] - f.box[0]) * (f.box[3] - f.box[1]) for f in faces]
        return [int(np.argmax(area))]
    return []


def sample_name(photo: Path, face: int, faces_in_photo: int, taken: set[str]) -> str:
    """``STEM.png`` for a one-face photo, ``STEM_faceK.png`` for face K of several;
    white space becomes ``_`` (label files split on it), a taken name gets ``-2``..."""
    stem = re.sub(r"\s+", "_", photo.stem) or "photo"
    stem = stem if faces_in_photo == 1 else f"{stem}_face{face}"
    name, k = f"{stem}.png", 1
    while name in taken:
        k += 1
        name = f"{stem}-{k}.png"
    taken.add(name)
    return name


@dataclass
class Skipped:
    """What was left out, and why: one line each."""

    unreadable: list[str] = field(default_factory=list)
    no_face: list[str] = field(default_factory=list)
    several_faces: list[str] = field(default_factory=list)
    unlabelled: list[str] = field(default_factory=list)

    def add(self, kind: str, line: str, log: Callable[[str], None]) -> None:
        getattr(self, kind).append(line)
        log(f"skipped: {line}")

    def summary(self) -> str:
        counts = {k.replace("_", " "): len(v) for k, v in asdict(self).items() if v}
        return ", ".join(f"{n} {k}" for k, n in counts.items()) or "nothing"


@dataclass
class _Aligner:
    """One run's settings, and what it has kept and left out so far."""

    labeller: Labeller
    framing: Framing
    size: int
    multi_face: str
    max_pixels: int | None
    detector: FaceDetector
    images: Path
    log: Callable[[str], None]
    skipped: Skipped = field(default_factory=Skipped)
    samples: list[Sample] = field(default_factory=list)
    rows: list[np.ndarray] = field(default_factory=list)
    taken: set[str] = field(default_factory=set)

    def add(self, path: Path) -> None:
        """Detect, choose, label and write the faces of one photo; a photo (or face)
        left out is reported and listed in ``skipped``."""
        try:
            photo = load_image(path, self.max_pixels)
        except UserError as e:
            return self.skipped.add("unreadable", str(e), self.log)
        faces = self.detector.detect(photo.rgb)
        keep = choose_faces(faces, self.multi_face)
        if not faces:
            return self.skipped.add("no_face", f"{path}: no face found", self.log)
        if not keep:
            return self.skipped.add(
                "several_faces",
                f"{path}: {len(faces)} faces (numbered 0 to {len(faces) - 1} from the left); "
                "--multi-face split keeps each, largest the largest",
                self.log,
            )
        for k in keep:
            self._add_face(path, photo, faces, k, len(keep))

    def _add_face(self, path: Path, photo: Photo, faces: list[Face], k: int, kept: int) -> None:
        f = faces[k]
        name = sample_name(path, k, len(faces), self.taken)
        s = Sample(name, path, k, len(faces), kept, [round(v, 1) for v in f.box], round(f.score, 4))
        row = self.labeller(s, photo, f)
        if row is None:
            self.taken.discard(name)
            why = (
                f"face {k} of {path}: no label row named {Path(name).stem} (one row per face "
                "when a photo gives several)"
                if kept > 1
                else f"{path}: no label row named {path.name} or {Path(name).stem}"
            )
            return self.skipped.add("unlabelled", why, self.log)
        crop, _ = crop_face(photo.rgb, f, self.framing, self.size)
        save_image(self.images / name, Photo(crop))
        self.samples.append(s)
        self.rows.append(row)


def _splits(samples: list[Sample], ratios: tuple[float, float, float]) -> list[int]:
    """A split per sample, drawn per photo: all faces of a photo land in one split."""
    photos = sorted({s.photo.name for s in samples})
    split = dict(zip(photos, ratio_splits(photos, ratios).tolist()))
    return [split[s.photo.name] for s in samples]


def align_photos(
    inputs: list[str | Path],
    out: str | Path,
    labeller: Labeller,
    framing: str | Framing = "celeba",
    size: int = 256,
    multi_face: str = "skip",
    ratios: str | tuple[float, ...] = DEFAULT_RATIOS,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    overwrite: bool = False,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Write the faces of the photos ``inputs`` (files or folders) into ``out`` in the
    CelebA layout (see the module docstring); returns the metadata (``aligned.json``)."""
    from tqdm import tqdm

    framing = get_framing(framing) if isinstance(framing, str) else framing
    if multi_face not in MULTI_FACE:
        raise UserError(f"unknown --multi-face {multi_face!r}; use {', '.join(MULTI_FACE)}")
    ratios = parse_ratios(ratios)
    paths = list_images(inputs)
    for p in inputs:
        check_not_an_input(out, {"the input": p})
    check_output_folder(out, overwrite)  # before the detector loads (output_folder rechecks)
    detector = default_detector()  # a missing face detector stops the run here
    with output_folder(out, overwrite) as tmp:
        (tmp / IMAGES).mkdir()
        run = _Aligner(
            labeller, framing, size, multi_face, max_pixels, detector, tmp / IMAGES,
            log=lambda m: tqdm.write(m, file=sys.stderr),
        )  # fmt: skip
        for path in tqdm(paths, desc="aligning", unit="photo", disable=len(paths) < 2):
            run.add(path)
        if not run.samples:
            raise UserError(
                f"no face kept from {len(paths)} photo(s) ({run.skipped.summary()}; "
                "listed above); nothing was written"
            )
        meta = _write_tables(tmp, run.samples, run.rows, labeller, ratios)
        meta |= {
            "source": [str(Path(p).resolve()) for p in inputs], "size": size,
            "framing": asdict(framing), "multi_face": multi_face,
            "counts": {"photos": len(paths), "samples": len(run.samples)} | meta.pop("counts"),
            "skipped": asdict(run.skipped),
            "unused_label_rows": labeller.unused(),
        }  # fmt: skip
        write_json(tmp / ALIGNED_META, meta)
    _report(out, meta, framing, labeller, log)
    return meta


def _write_tables(
    tmp: Path, samples: list[Sample], rows: list[np.ndarray], labeller: Labeller, ratios
) -> dict[str, Any]:
    names = [s.name for s in samples]
    split = _splits(samples, ratios)
    write_attr_file(tmp / ATTR_FILE, labeller.columns, names, np.stack(rows))
    write_partition(tmp / PARTITION_FILE, names, split)
    with open(tmp / FACES_FILE, "w", newline="\n") as f:
        f.writelines(json.dumps(s.record(), sort_keys=True) + "\n" for s in samples)
    rule = "by ratio {:.3g}/{:.3g}/{:.3g} over a hash of the photo's name".format(*ratios)
    return {
        "format": "intergan faces align", "version": 1, "columns": list(labeller.columns),
        "labels": labeller.describe(), "split_rule": rule,
        "counts": {s: split.count(i) for i, s in enumerate(("train", "valid", "test"))},
    }  # fmt: skip


def _report(out, meta: dict[str, Any], framing: Framing, labeller: Labeller, log) -> None:
    c = meta["counts"]
    log(
        f"aligned {c['photos']} photo(s) -> {out}: {c['samples']} face(s) at {meta['size']} px "
        f"in the {framing.name} framing; train {c['train']}, valid {c['valid']}, "
        f"test {c['test']}"
    )
    skipped = sum(len(v) for v in meta["skipped"].values())
    if skipped:
        log(f"skipped {skipped}: {Skipped(**meta['skipped']).summary()} (in {ALIGNED_META})")
    if meta["unused_label_rows"]:
        rows = meta["unused_label_rows"]
        log(f"note: {len(rows)} label row(s) named no photo, e.g. {', '.join(rows[:3])}")
    if labeller.estimated:
        log(
            f"labels: estimated by the judge {meta['labels']['judge']} (marked estimated in "
            f"{ALIGNED_META}); look them over before training on them"
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="faces_command", metavar="SUBCOMMAND", required=True)
    p = sub.add_parser(
        "align",
        help="photos -> aligned faces in the CelebA layout (training data)",
        description="Find, align and crop the faces of photos into a CelebA-layout dataset "
        "for `intergan prepare` / `train`; faces are numbered from 0, left to right.",
    )
    p.add_argument("inputs", nargs="+", metavar="PHOTO_OR_FOLDER", help="photos or folders")
    p.add_argument("--out", required=True, help="dataset folder to create")
    labels = p.add_mutually_exclusive_group(required=True)
    labels.add_argument(
        "--labels",
        metavar="FILE",
        help="labels by image name: a CSV 'file,Attr1,...' with 1 and 0 (or -1), or a "
        "CelebA-layout attribute file; a row names a photo (me.jpg) or one face of a "
        "photo with several (group_face1)",
    )
    labels.add_argument(
        "--label-with",
        metavar="JUDGE",
        help=f"estimate the labels with a judge classifier: a judge folder {BUNDLED_HELP}; "
        "marked estimated in aligned.json",
    )
    p.add_argument(
        "--framing",
        default="celeba",
        help=f"the crop of the model you will train: {', '.join(FRAMINGS)} (default celeba)",
    )
    p.add_argument(
        "--size", type=int_in(16, 2048), default=256, help="output side in px (default 256)"
    )
    p.add_argument(
        "--multi-face",
        choices=MULTI_FACE,
        default="skip",
        help="a photo with several faces: skip it (default), split it into one sample per "
        "face, or keep the largest face",
    )
    p.add_argument("--split-ratios", default="0.9,0.05,0.05", help="train,valid,test")
    p.add_argument(
        "--max-pixels",
        type=int_in(1, MAX_PIXELS),
        default=DEFAULT_MAX_PIXELS,
        help="skip larger photos (default %(default)s)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")


def run(args: argparse.Namespace) -> int:
    framing = get_framing(args.framing)  # a bad name is refused before any work
    if args.labels:
        labeller: Labeller = FileLabels(args.labels)
    else:
        labeller = JudgeLabels(args.label_with, framing)
    align_photos(
        args.inputs, args.out, labeller, framing, args.size, args.multi_face,
        args.split_ratios, args.max_pixels, args.overwrite,
    )  # fmt: skip
    return 0
