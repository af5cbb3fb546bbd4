"""Blend modes against SynthFaces ground truth, on photos larger than the model.

Usage: PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/blend_compare.py [--n 32]
       [--size 256] [--model synthfaces-64] [--seed 7] [--grid PNG] [--out JSON]

Each identity (``synthfaces.export.sample_record``, balanced labels) is rendered at
``--size`` px and edited as a user's photo: ``Editor.open`` (MTCNN detection,
alignment to the model's framing, the model's own size), then every attribute
flipped once (``session.edit_all``, the paper's test strip) with each blend of
``intergan.editing.paste.BLENDS``. Each edit is compared with the exact re-render of
the identity with the target attributes at ``--size`` px: PSNR inside the edited
region (the union of ``synthfaces.region_mask`` of the attributes the target
changes, conflicts included) and outside it (the rest of the image); a flip whose
truth equals the photo (a hair colour on a bald head) is left out of "inside". The row
``unchanged`` is the photo itself against the truth: inside, what an edit that does
nothing scores; outside it is exact. The same comparison at the model's own size
(the render at the model's side, ``align=False``) is recorded as ``model_size``.
The source attributes are the true labels (no judge). PSNR: ``inf`` (identical)
counts as 120 dB in means (``mean_psnr``). Prints a table and writes
``benchmarks/results/blend_compare.json`` (or ``--out``); ``--grid PNG`` saves a
picture of 4 identities (from ``--grid-from``): the photo, then truth, raw and delta
for each of ``--grid-attrs``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import time
from pathlib import Path

import numpy as np
import torch

from intergan.attributes import flip_targets
from intergan.data import synthfaces
from intergan.data.synthfaces.export import sample_record
from intergan.editing.crops import NoFaceError
from intergan.editing.editor import Editor
from intergan.editing.paste import BLENDS
from intergan.evaluation.metrics import PSNR_CAP_DB, mean_psnr, psnr
from intergan.files import atomic_write

ROWS = (*BLENDS, "unchanged")
PARTS = ("inside", "outside", "whole")
GRID_ATTRS = ("Bald", "Blond_Hair", "Eyeglasses", "Pale_Skin", "Young")


def _t(images: list[np.ndarray]) -> torch.Tensor:
    """(H, W, 3) uint8 images -> (B, 3, H, W) uint8."""
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)


class Identity:
    """One SynthFaces identity: its labels, render and per-attribute regions at a size."""

    def __init__(self, seed: int, index: int, attrs: list[str]) -> None:
        self.ident, self.labels = sample_record(seed, index, True, synthfaces.ATTRS)
        self.attrs = attrs
        self.source = torch.tensor([[float(self.labels[a]) for a in attrs]])  # (1, n)
        self.targets = torch.cat(flip_targets(self.source, attrs))  # row k flips attr k

    def render(self, size: int, target: torch.Tensor | None = None) -> np.ndarray:
        labels = dict(self.labels)
        if target is not None:
            labels |= {a: int(v > 0.5) for a, v in zip(self.attrs, target.tolist())}
        return synthfaces.render(self.ident, labels, size)

    def regions(self, size: int) -> np.ndarray:
        """bool (n, S, S): the pixels each flip of the strip may change (its target's
        changed attributes' regions together)."""
        masks = {a: synthfaces.region_mask(self.ident, a, size) for a in self.attrs}
        changed = (self.targets != self.source).tolist()
        out = np.zeros((len(self.attrs), size, size), bool)
        for k, row in enumerate(changed):
            for a, c in zip(self.attrs, row):
                if c:
                    out[k] |= masks[a]
        return out


def score(edits: dict[str, list[np.ndarray]], truths, regions) -> dict[str, dict]:
    """{row: {"inside": [dB per attr], "outside": [...]}} for the strip of one identity.

    A flip whose truth equals the photo (e.g. a hair colour on a bald head) has
    nothing to edit: its "inside" is ``nan`` (left out of the means), counted in
    ``"no_op"``."""
    t = _t(truths)
    inside, outside = torch.from_numpy(regions), torch.from_numpy(~regions)
    no_op = (t == _t(edits["unchanged"])).all(1) | ~inside  # (n, S, S): nothing to do
    no_op = no_op.flatten(1).all(1)
    out: dict = {"no_op": no_op.tolist()}
    for row, images in edits.items():
        e = _t(images)
        dbs = {
            "inside": psnr(e, t, 255.0, mask=inside).masked_fill(no_op, float("nan")),
            "outside": psnr(e, t, 255.0, mask=outside),
            "whole": psnr(e, t, 255.0),
        }
        out[row] = {k: [round(v, 3) for v in x.tolist()] for k, x in dbs.items()}
    return out


def strip(session, photo: np.ndarray, n: int) -> dict[str, list[np.ndarray]]:
    """Every attribute flipped once with each blend, plus the photo unchanged."""
    out = {b: list(session.edit_all(blend=b).values()) for b in BLENDS}
    out["unchanged"] = [photo] * n
    return out


def one_identity(editor: Editor, face: Identity, size: int) -> dict | None:
    """Scores of one identity as a photo (aligned) and at the model's size, or
    ``None`` when no face is detected in its render."""
    n, s = len(face.attrs), editor.size
    photo = face.render(size)
    source = {a: int(face.labels[a]) for a in face.attrs}
    try:
        session = editor.open(photo, source=source)
    except NoFaceError:
        return None
    truths = [face.render(size, t) for t in face.targets]
    res = {"photo": score(strip(session, photo, n), truths, face.regions(size))}
    small = face.render(s)
    session = editor.open(small, source=source, align=False)
    truths = [face.render(s, t) for t in face.targets]
    res["model_size"] = score(strip(session, small, n), truths, face.regions(s))
    return res


def summarise(per_id: list[dict], attrs: list[str], where: str) -> dict:
    """Mean PSNR per row, region and attribute, and over all attributes."""
    out = {}
    for row in ROWS:
        out[row] = {}
        for part in PARTS:
            cols = np.array([r[where][row][part] for r in per_id])  # (ids, n)
            means = {"mean": mean_psnr(torch.from_numpy(cols))}
            means |= {a: mean_psnr(torch.from_numpy(cols[:, k])) for k, a in enumerate(attrs)}
            out[row][part] = {a: round(v, 3) for a, v in means.items()}
    delta, raw = (np.array([r[where][b]["inside"] for r in per_id]) for b in ("delta", "raw"))
    counted = ~np.isnan(delta)
    out["edits_counted_inside"] = {a: int(counted[:, k].sum()) for k, a in enumerate(attrs)}
    out["delta_wins_inside"] = {
        a: float((delta[:, k] > raw[:, k])[counted[:, k]].mean()) for k, a in enumerate(attrs)
    }
    out["delta_minus_raw"] = {part: paired(per_id, attrs, where, part) for part in PARTS}
    return out


def paired(per_id: list[dict], attrs: list[str], where: str, part: str) -> dict:
    """Mean and standard error over identities of delta's PSNR minus raw's (dB), per
    attribute and over all (identities' mean over attributes); ``inf`` capped as in
    ``mean_psnr``."""
    d, r = (np.minimum([x[where][b][part] for x in per_id], PSNR_CAP_DB) for b in ("delta", "raw"))
    diff = d - r  # (ids, n), nan where left out

    def stat(v: np.ndarray) -> list[float]:
        v = v[~np.isnan(v)]
        se = v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else float("nan")
        return [round(float(v.mean()), 3), round(float(se), 3)]

    return {"all": stat(np.nanmean(diff, 1)), **{a: stat(diff[:, k]) for k, a in enumerate(attrs)}}


def table(summary: dict, attrs: list[str]) -> str:
    """Markdown table: attribute x (inside, outside) x rows, in dB."""
    head = "| attribute | " + " | ".join(
        f"{part} {row}" for part in ("inside", "outside") for row in ROWS[:2]
    )
    lines = [head + " | inside unchanged | whole raw | whole delta |", "| --- |" + " ---: |" * 7]
    for a in ["mean", *attrs]:
        cells = [summary[row][part][a] for part in ("inside", "outside") for row in ROWS[:2]]
        cells += [summary["unchanged"]["inside"][a], *(summary[r]["whole"][a] for r in BLENDS)]
        lines.append(f"| {a} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
    return "\n".join(lines)


def grid(editor: Editor, faces: list[Identity], size: int, path: Path, attrs: list[str]) -> None:
    """Rows per identity: photo, then for each of ``attrs``: truth, raw, delta."""
    from PIL import Image

    cell = 128
    rows = []
    for face in faces:
        photo = face.render(size)
        session = editor.open(photo, source={a: int(face.labels[a]) for a in face.attrs})
        row = [photo]
        for a in attrs:
            k = face.attrs.index(a)
            row.append(face.render(size, face.targets[k]))
            on = face.targets[k][k] > 0.5
            row += [session.edit({a: 1.0 if on else -1.0}, blend=b) for b in BLENDS]
        rows.append(np.concatenate([np.asarray(Image.fromarray(im).resize((cell, cell)))
                                    for im in row], axis=1))  # fmt: skip
    Image.fromarray(np.concatenate(rows)).save(path)
    print(f"grid: {path} (columns: photo, then truth / raw / delta for {', '.join(attrs)})")


def save(path: str, report: dict) -> None:
    """``report`` as indented JSON with each list of numbers on one line."""
    text = json.dumps(report, indent=2)
    text = re.sub(r"\[\s+([^\[\]{}\"]*?)\s+\]", lambda m: "[" + " ".join(m[1].split()) + "]", text)
    atomic_write(path, text + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="synthfaces-64")
    ap.add_argument("--n", type=int, default=32, help="identities (default 32)")
    ap.add_argument("--size", type=int, default=256, help="photo side in px (default 256)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--grid", help="also save a picture of 4 identities here")
    ap.add_argument(
        "--grid-attrs",
        default=",".join(GRID_ATTRS),
        help="the grid's attributes (default %(default)s)",
    )
    ap.add_argument("--grid-from", type=int, default=0, help="the grid's first identity")
    ap.add_argument("--note", default="", help="recorded with the results (e.g. machine load)")
    ap.add_argument("--out", default="benchmarks/results/blend_compare.json")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    editor = Editor.from_pretrained(args.model, backend="torch")
    t0 = time.perf_counter()
    faces = [Identity(args.seed, i, editor.attrs) for i in range(args.n)]
    results = [one_identity(editor, f, args.size) for f in faces]
    kept = [r for r in results if r is not None]
    missed = [i for i, r in enumerate(results) if r is None]
    summary = {w: summarise(kept, editor.attrs, w) for w in ("photo", "model_size")}
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo")
                if ln.startswith("model name")), platform.processor())  # fmt: skip
    report = {
        "command": f"benchmarks/blend_compare.py --n {args.n} --size {args.size} "
        f"--seed {args.seed} --model {args.model}",
        "machine": f"{platform.machine()} {cpu}, {os.cpu_count()} cores, torch {torch.__version__}",
        "note": args.note,
        "identities": args.n,
        "no_face_found": missed,
        "seconds": round(time.perf_counter() - t0, 1),
        "summary": summary,
        "per_identity": kept,
    }
    print(f"{len(kept)} of {args.n} identities edited ({len(missed)} without a detected face)")
    for where in ("photo", "model_size"):
        print(
            f"\n{where} (PSNR dB vs the exact re-render):\n" + table(summary[where], editor.attrs)
        )
    save(args.out, report)
    print(f"\nwrote {args.out} ({report['seconds']} s)")
    if args.grid:
        found = [f for f, r in zip(faces, results) if r is not None]
        attrs = [editor.attrs[editor.index(a)] for a in args.grid_attrs.split(",")]
        grid(editor, found[args.grid_from : args.grid_from + 4], args.size, Path(args.grid), attrs)


if __name__ == "__main__":
    main()
