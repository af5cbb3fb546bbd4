"""Editing latency: one 256 px edit and a full all-attribute strip, PyTorch eager
vs ONNX Runtime, with the ``base`` preset (randomly initialised weights: latency
does not depend on their values).

Usage: PYTHONPATH=src python benchmarks/bench_edit.py [--size 256] [--preset base]
       [--threads 2] [--repeats 5]

Measured through the public API, ``Editor.edit(image, {...}, source=..., align=False)``
on a (1, 3, S, S) float tensor (generator plus label encoding and glue; no face
detection), and ``Editor.edit_all`` (one batch of n_attrs edits). The face
pipeline (MTCNN detection, alignment, paste-back) on a 1024x768 photo is timed
separately. Median of ``--repeats`` runs after one warm-up. Saves
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


def timed(fn, repeats: int) -> float:
    fn()  # warm-up (allocations, ORT graph optimisation)
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return 1000 * statistics.median(runs)


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
    results = {}
    backends = {
        "pytorch_eager": TorchBackend(G, "cpu"),
        "onnxruntime": OnnxBackend(work, threads=args.threads),
    }
    for name, be in backends.items():
        ed = Editor(be, cfg, framing="celebahq")
        one = timed(lambda ed=ed: ed.edit(x, {"Blond_Hair": 1.0}, source=source, align=False),
                    args.repeats)  # fmt: skip
        strip = timed(lambda ed=ed: ed.edit_all(x, source=source, align=False), args.repeats)
        results[name] = {"one_edit_ms": round(one, 1), "all_attr_strip_ms": round(strip, 1)}
        print(f"{name:14s} one {args.size} px edit: {one:8.1f} ms   strip of {n}: {strip:8.1f} ms")

    from intergan.editing.faces import default_detector

    photo = face_photo()
    ed = Editor(backends["onnxruntime"], cfg, framing="celebahq")
    det = default_detector()
    detect_ms = timed(lambda: det.detect(photo), args.repeats)
    full_ms = timed(lambda: ed.edit(photo, {"Blond_Hair": 1.0}, source=source), args.repeats)
    results["face_pipeline_1024x768"] = {
        "detect_ms": round(detect_ms, 1),
        "detect_align_edit_paste_onnx_ms": round(full_ms, 1),
    }
    print(f"1024x768 photo: detection {detect_ms:.1f} ms, whole edit (ONNX) {full_ms:.1f} ms")

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
        "command": f"PYTHONPATH=src python benchmarks/bench_edit.py --preset {args.preset} "
        f"--size {args.size} --threads {args.threads} --repeats {args.repeats}",
    }
    out = Path(args.out or f"benchmarks/results/bench_edit_{args.preset}_{args.size}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
