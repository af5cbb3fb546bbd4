"""``intergan edit``: edit the faces in photos from the command line.

    intergan edit me.jpg --model runs/celeba128/export --set Blond_Hair=1 --out edited/
    intergan edit photos/ --model M --all --out strips/          # every attribute flipped
    intergan edit me.jpg --model M --slide Young --steps 8 --out slide/

Each face found is aligned, edited and pasted back at full resolution. Outputs are
named after their photo (``me_edited.jpg``, ``me_Young_03.jpg``), never replace an
input, and each path is printed. A photo that cannot be read or has no face is
reported and skipped (nothing written for it); the others are edited, and the exit
code is then 1.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from intergan.editing.backends import BACKENDS
from intergan.editing.io import DEFAULT_MAX_PIXELS, from_pil, list_images, load_image, save_image
from intergan.editing.paste import BLENDS, DEFAULT_BLEND
from intergan.errors import UserError
from intergan.files import check_writable_folder, remove_empty
from intergan.models.pretrained import BUNDLED_HELP

KEEP_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
STRIP_HEIGHT = 384  # px: panel height of --all / --slide overview strips


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", metavar="PHOTO_OR_FOLDER", help="images or folders")
    p.add_argument(
        "--model",
        required=True,
        help=f"exported folder, run folder or checkpoint, {BUNDLED_HELP}",
    )
    p.add_argument("--out", required=True, help="output folder")
    mode = p.add_argument_group("what to do (one of)")
    mode.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="ATTR=VALUE",
        help="set an attribute's intensity (1 on, -1 off, fractions and beyond +-1 "
        "allowed); repeat for several",
    )
    mode.add_argument("--all", action="store_true", help="one edit per attribute, each flipped")
    mode.add_argument("--slide", metavar="ATTR", help="sweep one attribute")
    p.add_argument("--steps", type=int, default=8, help="frames of --slide (default 8)")
    p.add_argument(
        "--range",
        type=float,
        nargs=2,
        default=(-1.0, 1.0),
        metavar=("LO", "HI"),
        help="intensity range of --slide (default -1 1)",
    )
    p.add_argument(
        "--source-attrs",
        metavar="SPEC",
        help="the photo's own attributes: 'Male,Young' (exactly these present, the rest "
        "absent), 'Male=1,Young=0' (these stated, the rest from the judge, else absent) "
        "or a 0/1 list over the model's attributes; overrides the judge's estimate for "
        "what it states; needed when the model has no judge",
    )
    p.add_argument(
        "--judge",
        help=f"judge classifier folder, {BUNDLED_HELP} (default: the model folder's own)",
    )
    p.add_argument(
        "--no-align",
        action="store_true",
        help="edit the centred square as is (for images already cropped to a face)",
    )
    p.add_argument("--face", type=int, metavar="N", help="edit only face N (0 = leftmost)")
    p.add_argument(
        "--blend",
        choices=BLENDS,
        default=DEFAULT_BLEND,
        help="how the edited face goes back: raw (the model's output pasted in) or delta "
        "(the photo plus the model's change, keeping the photo's resolution); "
        "default %(default)s",
    )
    p.add_argument("--framing", help="override the crop framing (celeba, celebahq, synthfaces)")
    p.add_argument(
        "--max-pixels",
        type=int,
        default=DEFAULT_MAX_PIXELS,
        help="refuse larger images (default %(default)s)",
    )
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default="auto",
        help="run the generator with PyTorch in float32 (torch) or bfloat16 (torch-bf16), "
        "or ONNX Runtime (onnx, needs export --onnx); auto (default): torch-bf16 on CPUs "
        "with native bf16 (AMX, AVX-512-BF16), else onnx where the model folder has "
        "generator.onnx, else torch",
    )
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:N (default: auto)")


def parse_set(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise UserError(f"--set {item!r}: expected ATTR=VALUE, e.g. --set Blond_Hair=1")
        if not math.isfinite(out[name.strip()]):
            raise UserError(
                f"--set {item!r}: the intensity must be a finite number, e.g. 1 or -0.5"
            )
    return out


def strip(images: list[Image.Image], labels: list[str]) -> Image.Image:
    """Side-by-side overview with a label above each panel."""
    panels = [im.convert("RGB") for im in images]
    scale = min(1.0, STRIP_HEIGHT / panels[0].height)
    panels = [
        im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))))
        for im in panels
    ]
    out = Image.new("RGB", (sum(p.width for p in panels), panels[0].height + 16), "white")
    draw, x = ImageDraw.Draw(out), 0
    for p, label in zip(panels, labels):
        out.paste(p, (x, 16))
        draw.text((x + 3, 2), label, fill="black")
        x += p.width
    return out


def _suffix(path: Path) -> str:
    return path.suffix.lower() if path.suffix.lower() in KEEP_SUFFIXES else ".png"


class OutputNames:
    """Output paths in ``out`` that never name an input nor an earlier output of the run.

    ``NAME.png`` taken becomes ``NAME-2.png``, then ``NAME-3.png``...
    """

    def __init__(self, out: Path, inputs: list[Path]) -> None:
        self.out = out
        self.taken = {p.resolve() for p in inputs}

    def __call__(self, name: str) -> Path:
        stem, ext = Path(name).stem, Path(name).suffix
        path, k = self.out / name, 1
        while path.resolve() in self.taken:
            k += 1
            path = self.out / f"{stem}-{k}{ext}"
        self.taken.add(path.resolve())
        return path


def _edit_one(editor, args, path: Path, source, kw) -> list[tuple[Image.Image, str]]:
    """The edits of one photo as (image, file name); raises ``UserError`` for a photo
    that cannot be read or edited (no face, no face N)."""
    photo = load_image(path, args.max_pixels)
    image, stem, ext = photo.to_pil(), path.stem, _suffix(path)
    if args.set:
        return [
            (editor.edit(image, parse_set(args.set), source=source, **kw), f"{stem}_edited{ext}")
        ]
    if args.all:
        edits = editor.edit_all(image, source=source, **kw)
        out = [(im, f"{stem}_{attr}{ext}") for attr, im in edits.items()]
        return out + [(strip([image, *edits.values()], ["input", *edits]), f"{stem}_all.jpg")]
    values = np.linspace(*args.range, args.steps)
    frames = editor.interpolate(image, args.slide, args.steps, tuple(args.range), source, **kw)
    out = [(im, f"{stem}_{args.slide}_{k:02d}{ext}") for k, im in enumerate(frames)]
    return out + [(strip(frames, [f"{v:+.2f}" for v in values]), f"{stem}_{args.slide}.jpg")]


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from intergan.editing.editor import Editor
    from intergan.models.export import SYNTHETIC_NOTE, synthetic_only

    if sum(map(bool, (args.set, args.all, args.slide))) != 1:
        raise UserError("choose exactly one of --set ATTR=VALUE, --all or --slide ATTR")
    changes = parse_set(args.set)
    out = Path(args.out)
    check_writable_folder(out)
    paths = list_images(args.inputs)
    editor = Editor.from_pretrained(
        args.model, device=args.device, backend=args.backend, judge=args.judge, framing=args.framing
    )
    editor.max_pixels = args.max_pixels
    editor.labels.edit(changes)  # unknown names (with a suggestion) and conflicts fail now
    if args.slide:
        editor.index(args.slide)
    try:  # names (with a suggestion), values and length checked before any photo
        source = editor.labels.check_source(args.source_attrs or None)
    except UserError as e:
        raise UserError(f"--source-attrs: {e}") from None
    if editor.judge is None:
        if source is None:
            raise UserError(
                "the photos' own attributes are unknown: pass --source-attrs (e.g. "
                "'Male=1,Young=1') or a judge classifier with --judge DIR"
            )
        if isinstance(source, dict):
            assumed = [a for a in editor.attrs if a not in source]
            if assumed:
                print(f"note: no judge; taking as absent: {', '.join(assumed)}")
    if not args.no_align:  # a missing face detector stops the run (exit 2), not each photo
        _ = editor.detector
    kw = {"align": not args.no_align, "face_index": args.face, "blend": args.blend}
    if not args.no_align and synthetic_only(args.model):  # aligned: a real photo
        print(f"note: {SYNTHETIC_NOTE}", file=sys.stderr)
    names, created = OutputNames(out, paths), not out.exists()
    skipped, total = [], 0
    try:
        for path in tqdm(paths, desc="editing", unit="img", disable=len(paths) < 2):
            try:
                results = _edit_one(editor, args, path, source, kw)
            except UserError as e:  # this photo only: report it, go on, fail at the end
                skipped.append(path)
                tqdm.write(f"skipped {path}: {e}", file=sys.stderr)
                continue
            for im, name in results:  # a write error (full disk...) stops the run
                target = names(name)
                save_image(target, from_pil(im))
                tqdm.write(f"{path} -> {target}")
                total += 1
    finally:
        if created:
            remove_empty([out])  # a run that wrote nothing leaves no empty --out
    print(
        f"wrote {total} file(s) to {out}"
        + (f"; skipped {len(skipped)} photo(s), listed above" if skipped else "")
    )
    return 1 if skipped else 0
