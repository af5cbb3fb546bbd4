"""Editing latency: one 256 px edit and a full all-attribute strip, PyTorch eager
vs ONNX Runtime, with the ``base`` preset (randomly initialised weights: latency
does not depend on their values).

Usage: PYTHONPATH=src python benchmarks/bench_edit.py [--size 256] [--preset base]
       [--threads 2] [--repeats 5]

Measured through the public API, ``Editor.edit(image, {...}, source=..., align=False)``
on a (1, 3, S, S) float tensor (generator plus label encoding and glue; no face
detection), and ``Editor.edit_all`` (one batch of n_attrs edits). The face
pipeline (MTCNN detection, alignment, paste-back) on a 1024x768 photo is timed
separately. Median and best of ``--repeats`` runs (strips: half as many) after
one warm-up, the backends taking turns. Saves
benchmarks/results/bench_edit_PRESET_SIZE.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def interleaved(fns: dict, repeats: int) -> dict[str, dict[str, float]]:
    """Median and best of ``repeats`` timed calls of each function (ms), taking turns
    so that load from other jobs on the shared machine hits every contender alike."""
    for fn in fns.values():
        fn()  # warm-up (allocations, ORT graph optimisation)
    runs: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            runs[k].append(1000 * (time.perf_counter() - t0))
    return {k: {"median_ms": round(statistics.median(v), 1), "best_ms": round(min(v), 1)}
            for k, v in runs.items()}  # fmt: skip


def face_photo() -> np.ndarray:
    from PIL import Image
    from skimage import data

    canvas = Image.fromarray(data.coffee()).convert("RGB").resize((1024, 768))
    canvas.paste(Image.fromarray(data.astronaut()).crop((130, 10, 320, 240)), (400, 200))
    return np.asarray(canvas)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="base")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", help="default: benchmarks/results/bench_edit_PRESET_SIZE.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    from intergan.config import Config, model_config
    from intergan.editing.backends import OnnxBackend, TorchBackend
    from intergan.editing.editor import Editor
    from intergan.models import build_generator
    from intergan.models.export import ONNX_FILE, export_onnx, save_exported

    cfg = Config(model=model_config(args.preset, img_size=args.size))
    G = build_generator(cfg.model).eval()
    params = sum(p.numel() for p in G.parameters())
    work = Path(tempfile.mkdtemp(prefix="bench_edit_"))
    save_exported(G, cfg, work)
    t0 = time.perf_counter()
    export_onnx(G, cfg, work / ONNX_FILE)
    export_s = time.perf_counter() - t0

    n = cfg.model.n_attrs
    x = torch.rand(1, 3, args.size, args.size) * 2 - 1
    source = [0.0] * n
    backends = {
        "pytorch_eager": TorchBackend(G, "cpu"),
        "onnxruntime": OnnxBackend(work, threads=args.threads),
    }
    editors = {k: Editor(be, cfg, framing="celebahq") for k, be in backends.items()}
    one = interleaved(
        {k: (lambda e=e: e.edit(x, {"Blond_Hair": 1.0}, source=source, align=False))
         for k, e in editors.items()},
        args.repeats,
    )  # fmt: skip
    strip = interleaved(
        {k: (lambda e=e: e.edit_all(x, source=source, align=False)) for k, e in editors.items()},
        max(1, args.repeats // 2),
    )
    results = {k: {"one_edit": one[k], "all_attr_strip": strip[k]} for k in editors}
    for k in editors:
        print(f"{k:14s} one {args.size} px edit: {one[k]['median_ms']:8.1f} ms median "
              f"({one[k]['best_ms']:.1f} best)   strip of {n}: {strip[k]['median_ms']:8.1f} ms "
              f"({strip[k]['best_ms']:.1f} best)")  # fmt: skip

    from intergan.editing.faces import default_detector

    photo = face_photo()
    det, ed = default_detector(), editors["onnxruntime"]
    pipe = interleaved(
        {
            "detect": lambda: det.detect(photo),
            "detect_align_edit_paste_onnx": lambda: ed.edit(
                photo, {"Blond_Hair": 1}, source=source
            ),
        },
        args.repeats,
    )
    results["face_pipeline_1024x768"] = pipe
    print(f"1024x768 photo: detection {pipe['detect']['median_ms']:.1f} ms, whole edit (ONNX) "
          f"{pipe['detect_align_edit_paste_onnx']['median_ms']:.1f} ms (medians)")  # fmt: skip

    meta = {
        "machine": f"{platform.machine()}, {args.threads} threads on a 2-core CPU shared with "
        "other jobs, no GPU",
        "date": time.strftime("%Y-%m-%d"),
        "torch": torch.__version__,
        "onnxruntime": __import__("onnxruntime").__version__,
        "preset": args.preset,
        "img_size": args.size,
        "generator_params": params,
        "onnx_export_s": round(export_s, 1),
        "repeats": args.repeats,
        "strip_repeats": max(1, args.repeats // 2),
        "command": f"PYTHONPATH=src python benchmarks/bench_edit.py --preset {args.preset} "
        f"--size {args.size} --threads {args.threads} --repeats {args.repeats}",
    }
    out = Path(args.out or f"benchmarks/results/bench_edit_{args.preset}_{args.size}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
