"""``intergan demo``: InterGAN editing SynthFaces, with ground truth, in one HTML page.

With no arguments (what ``make demo`` runs), in well under a minute on a laptop
CPU: render a few SynthFaces identities, edit each with the bundled model
(every attribute flipped, several attributes at once, an intensity sweep),
re-render the exact ground truth of every edit (SynthFaces knows it), measure
PSNR / SSIM against it, and write ``OUT/report.html`` with its PNGs. ``--serve``
starts the web editor instead.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from intergan.app.demo_page import IdentityResult, write_page
from intergan.attributes import DEFAULT_ATTRS, apply_conflicts, flip_targets
from intergan.cli_args import MAX_SEED, int_in
from intergan.editing.editor import Editor
from intergan.editing.pretrained import resolve_model
from intergan.errors import UserError
from intergan.evaluation.ground_truth import GroundTruth, is_synthfaces_export
from intergan.evaluation.metrics import mean_psnr, nan_mean, psnr, ssim
from intergan.files import check_writable_folder, guard, write_json
from intergan.models.export import read_training

DEFAULT_MODEL = "synthfaces-64"
MULTI = ("Blond_Hair", "Eyeglasses", "Young")  # flipped together in the multi-attribute edit
SLIDE = "Blond_Hair"  # the attribute of the intensity sweep
SLIDE_VALUES = (-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5)  # +-1: the paper's test edit


def _t(images: list[np.ndarray] | np.ndarray) -> torch.Tensor:
    """(B, S, S, 3) uint8 -> (B, 3, S, S) uint8 tensor."""
    return torch.from_numpy(np.ascontiguousarray(np.stack(images))).permute(0, 3, 1, 2)


def _np(images: torch.Tensor) -> list[np.ndarray]:
    return list(images.permute(0, 2, 3, 1).numpy())


DEMO_FILES = ("faces", "img", "overview.png", "metrics.json", "report.html")  # what it writes


def check_demo_out(out: Path) -> None:
    """Refuse an ``out`` holding a file the demo writes, unless it is an earlier demo's
    folder (its ``faces/`` a SynthFaces set): the demo would replace that file."""
    if is_synthfaces_export(out / "faces"):
        return
    taken = [name for name in DEMO_FILES if (out / name).exists()]
    if taken:
        raise UserError(
            f"--out {out} holds {', '.join(taken)}, which the demo would replace, and "
            "faces/ there is not the SynthFaces set of an earlier demo; choose another --out folder"
        )


def make_faces(folder: Path, n: int, size: int, seed: int, attrs: list[str]) -> GroundTruth:
    """Render ``n`` identities as a small SynthFaces export and open its ground truth."""
    from intergan.data import synthfaces

    if folder.is_dir() and any(folder.iterdir()) and not is_synthfaces_export(folder):
        raise UserError(
            f"{folder} exists and is not the SynthFaces set of an earlier demo; "
            "choose another --out folder"
        )
    synthfaces.write_dataset(folder, n, size, seed, balanced=True, overwrite=True, workers=1)
    files = sorted(synthfaces.load_identities(folder))
    return GroundTruth(folder, files, attrs, size)


def _target(src: torch.Tensor, attrs: list[str], changes: dict[str, float]) -> torch.Tensor:
    """Binary target (1, n) for {attr: +-1}: switch on/off, conflicts applied (as the Editor)."""
    t = src.clone()
    for a, v in changes.items():
        t = apply_conflicts(t, attrs, attrs.index(a), 1.0 if v > 0 else 0.0)
    return t


def edit_identity(editor: Editor, gt: GroundTruth, i: int) -> IdentityResult:
    """Run every demo edit on identity ``i`` and render its ground truth."""
    attrs, n = editor.attrs, len(editor.attrs)
    src = torch.tensor([[float(gt.labels[i][a]) for a in attrs]])  # (1, n) binary
    source = {a: int(gt.labels[i][a]) for a in attrs}
    image = _np(gt.render([i], src))[0]
    kw = dict(source=source, align=False, blend="raw")  # the model's own output, measured
    recon = editor.edit(image, {}, **kw)
    edits = editor.edit_all(image, **kw)
    targets = torch.cat(flip_targets(src, attrs))  # (n, n): row k flips attribute k
    truths = dict(zip(attrs, _np(gt.render([i] * n, targets))))
    multi_changes = {a: (-1.0 if source[a] else 1.0) for a in MULTI if a in attrs}
    multi_t = _target(src, attrs, multi_changes)
    slide = editor.interpolate(image, SLIDE, steps=len(SLIDE_VALUES),
                               span=(SLIDE_VALUES[0], SLIDE_VALUES[-1]), **kw)  # fmt: skip
    ends = torch.cat([_target(src, attrs, {SLIDE: -1.0}), _target(src, attrs, {SLIDE: 1.0})])
    off, on = _np(gt.render([i, i], ends))
    res = IdentityResult(
        i, source, image, recon, edits, truths, multi_changes,
        editor.edit(image, multi_changes, **kw), _np(gt.render([i], multi_t))[0],
        list(slide), (off, on),
    )  # fmt: skip
    res.metrics = measure(res, gt, targets != src)
    return res


def measure(r: IdentityResult, gt: GroundTruth, changed: torch.Tensor) -> dict:
    """PSNR / SSIM of each edit against its ground truth (whole image and outside the
    edited attribute's region), and of the reconstruction against the input."""
    attrs = list(r.edits)
    e, t = _t([r.edits[a] for a in attrs]), _t([r.truths[a] for a in attrs])
    outside = gt.outside([r.index] * len(attrs), changed)
    whole_p, whole_s = psnr(e, t, 255.0), ssim(e, t, 255.0)
    out_p = psnr(e, t, 255.0, mask=outside)
    m = {
        a: {"psnr": float(whole_p[k]), "ssim": float(whole_s[k]), "psnr_outside": float(out_p[k])}
        for k, a in enumerate(attrs)
    }
    x, y = _t([r.recon]), _t([r.image])
    m["reconstruction"] = {"psnr": float(psnr(x, y, 255.0)[0]), "ssim": float(ssim(x, y, 255.0)[0])}
    mx, my = _t([r.multi]), _t([r.multi_truth])
    m["multi"] = {"psnr": float(psnr(mx, my, 255.0)[0]), "ssim": float(ssim(mx, my, 255.0)[0])}
    return m


def summarise(results: list[IdentityResult], attrs: list[str]) -> dict[str, dict[str, float]]:
    """Mean of each metric over identities (PSNR: ``inf`` capped, see ``mean_psnr``)."""
    out = {}
    for key in [*attrs, "reconstruction", "multi"]:
        rows = [r.metrics[key] for r in results]
        out[key] = {
            name: (mean_psnr if name.startswith("psnr") else nan_mean)([x[name] for x in rows])
            for name in rows[0]
        }
    edit_rows = [out[a] for a in attrs]
    out["mean over attributes"] = {
        name: float(np.mean([row[name] for row in edit_rows])) for name in edit_rows[0]
    }
    return out


def run_demo(model: str, out: Path, identities: int = 4, seed: int = 0) -> Path:
    """Make the demo report in ``out``; returns the path of ``report.html``."""
    if not 1 <= identities <= 64:
        raise UserError(f"--identities must be from 1 to 64, got {identities}")
    start = time.perf_counter()
    check_writable_folder(out)
    check_demo_out(out)
    path = resolve_model(model)
    editor = Editor.from_pretrained(path, backend="torch")  # float32: the same numbers anywhere
    unknown = [a for a in editor.attrs if a not in DEFAULT_ATTRS]
    if unknown:
        raise UserError(
            f"the demo needs a SynthFaces model; {path} edits {', '.join(unknown)}, which "
            f"SynthFaces cannot render; use `intergan edit` for this model"
        )
    with guard(out, "create the folder"):
        out.mkdir(parents=True, exist_ok=True)
    gt = make_faces(out / "faces", identities, editor.size, seed, editor.attrs)
    results = [edit_identity(editor, gt, i) for i in range(len(gt))]
    summary = summarise(results, editor.attrs)
    info = {
        "model": model,
        "model_path": str(path),
        "preset": editor.config.model.preset,
        "variant": editor.config.model.variant,
        "img_size": editor.size,
        "attrs": editor.attrs,
        "training": read_training(path),  # from the export's config.json, or the run
        "identities": identities,
        "seed": seed,
        "seconds": round(time.perf_counter() - start, 1),
    }
    write_json(out / "metrics.json", {"info": info, "summary": summary,
                                      "sources": [r.source for r in results],
                                      "per_identity": [r.metrics for r in results]})  # fmt: skip
    return write_page(out, info, results, summary, SLIDE, SLIDE_VALUES)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="out/demo", help="output folder (default %(default)s)")
    p.add_argument(
        "--model",
        action="append",
        help="bundled model name or exported folder / run / checkpoint (default "
        f"{DEFAULT_MODEL}); with --serve, repeat it to offer several in the page's menu",
    )
    p.add_argument("--identities", type=int_in(1, 64), default=4, help="faces to edit (default 4)")
    p.add_argument(
        "--seed", type=int_in(0, MAX_SEED), default=0, help="SynthFaces seed (default 0)"
    )
    p.add_argument("--serve", action="store_true", help="start the web editor instead")
    from intergan.app.web_args import add_arguments as add_web_arguments

    add_web_arguments(p)


def run(args: argparse.Namespace) -> int:
    if args.serve:
        from intergan.app import web
        from intergan.app.web_args import WebOptions

        return web.serve(WebOptions.from_args(args, DEFAULT_MODEL))
    models = args.model or [DEFAULT_MODEL]
    if len(models) > 1:
        raise UserError("the demo report takes one --model; several are for --serve")
    page = run_demo(models[0], Path(args.out), args.identities, args.seed)
    print(f"demo report: {page.resolve()}")
    return 0
