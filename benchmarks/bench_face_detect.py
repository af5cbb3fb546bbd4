"""Face detector comparison on offline test photos: recall, false positives,
landmark error and time, for the detectors whose model files ship in a package.

Usage: PYTHONPATH=src python benchmarks/bench_face_detect.py [--quick]

Detectors measured (each only if installed): MTCNN via ONNX Runtime (the
editor's default, ``intergan[face]``), OpenCV's Haar frontal-face cascade
(``opencv-python-headless<5``), scikit-image's LBP frontal-face cascade.
Test sets, all built here from images that ship with scikit-image:
- ``astronaut``: the astronaut portrait's head pasted 1-3 times onto textured
  800x600 canvases, scaled 0.3-1.5x and rotated -40..40 degrees. Ground truth
  is the transformed eye and mouth positions of the upright original.
- ``lfw``: scikit-image's 100 LFW face crops (25 px, grey) enlarged to 60-140 px
  and pasted 4 per canvas; the 100 non-face crops pasted the same way count
  false positives.
- ``synthfaces``: SynthFaces renders (when ``intergan.data.synthfaces`` exists).
Results go to benchmarks/results/bench_face_detect.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data

# Eye/mouth reference on the upright astronaut (MTCNN's output there, checked by eye).
ASTRO_EYES = np.array([[202.7, 99.2], [245.6, 101.9]])
ASTRO_MOUTH = np.array([221.7, 139.4])
ASTRO_HEAD = (130, 10, 320, 240)  # crop pasted onto canvases


def textured_canvas(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    src = [data.brick(), data.grass(), data.gravel(), data.coffee(), data.rocket()][rng.integers(5)]
    src = np.asarray(Image.fromarray(src).convert("RGB").resize((w, h)))
    tint = rng.uniform(0.6, 1.2, size=3)
    return np.clip(src * tint, 0, 255).astype(np.uint8)


def paste(canvas: np.ndarray, patch: Image.Image, x: int, y: int) -> None:
    a = np.asarray(patch.convert("RGBA"))
    region = canvas[y : y + a.shape[0], x : x + a.shape[1]]
    alpha = a[..., 3:] / 255.0
    region[:] = (a[..., :3] * alpha + region * (1 - alpha)).astype(np.uint8)


def astronaut_set(rng: np.random.Generator, n: int) -> list[tuple[np.ndarray, list[dict]]]:
    head = Image.fromarray(data.astronaut()).crop(ASTRO_HEAD).convert("RGBA")
    out = []
    for _ in range(n):
        canvas = textured_canvas(rng, 800, 600)
        truths, taken = [], []
        for _ in range(rng.integers(1, 4)):
            s, deg = rng.uniform(0.3, 1.5), rng.uniform(-40, 40)
            p = head.resize((int(head.width * s), int(head.height * s)), Image.BICUBIC)
            p = p.rotate(deg, resample=Image.BICUBIC, expand=True)
            x, y = rng.integers(0, 800 - p.width), rng.integers(0, 600 - p.height)
            if any(x < bx1 and bx0 < x + p.width and y < by1 and by0 < y + p.height
                   for bx0, by0, bx1, by1 in taken):  # fmt: skip
                continue
            taken.append((x, y, x + p.width, y + p.height))
            paste(canvas, p, x, y)
            t = np.deg2rad(deg)
            rot = np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])
            centre_src = np.array([head.width, head.height]) * s / 2
            centre_dst = np.array([p.width, p.height]) / 2 + [x, y]

            def tf(pt, s=s, rot=rot, c0=centre_src, c1=centre_dst):
                return ((np.asarray(pt) - ASTRO_HEAD[:2]) * s - c0) @ rot.T + c1

            truths.append({"eyes": tf(ASTRO_EYES), "mouth": tf(ASTRO_MOUTH)})
        out.append((canvas, truths))
    return out


def lfw_set(rng: np.random.Generator, faces: bool) -> list[tuple[np.ndarray, list[dict]]]:
    crops = data.lfw_subset()[:100] if faces else data.lfw_subset()[100:]
    out = []
    for i in range(0, len(crops), 4):
        canvas = textured_canvas(rng, 640, 480)
        truths = []
        for j, c in enumerate(crops[i : i + 4]):
            side = int(rng.integers(60, 141))
            p = Image.fromarray((c * 255).astype(np.uint8)).resize((side, side), Image.BICUBIC)
            cx, cy = (j % 2) * 320, (j // 2) * 240
            x, y = cx + int(rng.integers(10, 310 - side)), cy + int(rng.integers(10, 230 - side))
            paste(canvas, p.convert("RGB"), x, y)
            truths.append({"square": (x, y, x + side, y + side)})
        out.append((canvas, truths if faces else []))
    return out


def matches(box, truth) -> bool:
    x0, y0, x1, y1 = box
    if "square" in truth:
        sx0, sy0, sx1, sy1 = truth["square"]
        cx, cy, side = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0
        return sx0 <= cx <= sx1 and sy0 <= cy <= sy1 and 0.4 <= side / (sx1 - sx0) <= 2.0
    pts = np.vstack([truth["eyes"], truth["mouth"][None]])
    inside = (pts[:, 0] >= x0) & (pts[:, 0] <= x1) & (pts[:, 1] >= y0) & (pts[:, 1] <= y1)
    iod = np.linalg.norm(truth["eyes"][1] - truth["eyes"][0])
    return bool(inside.all()) and (x1 - x0) <= 5 * iod


def evaluate(det, images) -> dict:
    hits = total = fp = 0
    lm_err, times = [], []
    for img, truths in images:
        t0 = time.perf_counter()
        found = det(img)
        times.append(time.perf_counter() - t0)
        used = set()
        for truth in truths:
            total += 1
            for k, (box, lms) in enumerate(found):
                if k not in used and matches(box, truth):
                    used.add(k)
                    hits += 1
                    if lms is not None and "eyes" in truth:
                        iod = np.linalg.norm(truth["eyes"][1] - truth["eyes"][0])
                        err = np.linalg.norm(lms[:2] - truth["eyes"], axis=1).mean() / iod
                        lm_err.append(float(err))
                    break
        fp += len(found) - len(used)
    return {
        "recall": hits / total if total else None,
        "faces": total,
        "false_positives": fp,
        "images": len(images),
        "eye_error_iod_mean": float(np.mean(lm_err)) if lm_err else None,
        "ms_per_image": 1000 * float(np.mean(times)),
    }


def detectors() -> dict:
    out = {}
    try:
        from intergan.editing.faces import MTCNNDetector

        for t3 in (0.7, 0.8, 0.9):  # the output net's threshold: recall vs false positives
            m = MTCNNDetector(thresholds=(0.6, 0.7, t3))
            out[f"mtcnn_onnx_t{t3}"] = lambda im, m=m: [(f.box, f.landmarks) for f in m.detect(im)]
    except Exception as e:  # noqa: BLE001 - report what is missing and go on
        print("mtcnn unavailable:", e)
    try:
        import cv2

        haar = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
        cv2.setNumThreads(1)

        def run_haar(im):
            g = cv2.cvtColor(im, cv2.COLOR_RGB2GRAY)
            boxes = haar.detectMultiScale(g, scaleFactor=1.1, minNeighbors=5, minSize=(20, 20))
            return [((x, y, x + w, y + h), None) for x, y, w, h in boxes]

        out["opencv_haar"] = run_haar
    except Exception as e:  # noqa: BLE001
        print("opencv haar unavailable:", e)
    try:
        from skimage.data import lbp_frontal_face_cascade_filename
        from skimage.feature import Cascade

        lbp = Cascade(lbp_frontal_face_cascade_filename())

        def run_lbp(im):
            found = lbp.detect_multi_scale(
                im, scale_factor=1.2, step_ratio=1, min_size=(20, 20), max_size=(500, 500)
            )
            return [
                ((d["c"], d["r"], d["c"] + d["width"], d["r"] + d["height"]), None) for d in found
            ]

        out["skimage_lbp"] = run_lbp
    except Exception as e:  # noqa: BLE001
        print("skimage lbp unavailable:", e)
    return out


def synth_set(rng: np.random.Generator, n: int):
    try:
        from intergan.data import synthfaces
    except ImportError:
        return None
    from intergan.editing.align import synthfaces_landmarks

    out = []
    for _ in range(n):
        ident = synthfaces.sample_identity(rng)
        attrs = synthfaces.sample_attributes(rng, balanced=True)
        img = synthfaces.render(ident, attrs, 128)
        eyes, mouth = synthfaces_landmarks(ident, 128)
        out.append((img, [{"eyes": eyes, "mouth": mouth}]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer images")
    ap.add_argument("--out", default="benchmarks/results/bench_face_detect.json")
    args = ap.parse_args()
    n = 8 if args.quick else 40
    rng = np.random.default_rng(0)
    sets = {
        "astronaut": astronaut_set(rng, n),
        "lfw_faces": lfw_set(rng, True),
        "lfw_nonfaces": lfw_set(rng, False),
    }
    try:
        synth = synth_set(rng, n)
    except Exception as e:  # noqa: BLE001 - synth renderer missing or changed
        print("synthfaces unavailable:", e)
        synth = None
    if synth is not None:
        sets["synthfaces"] = synth
    results = {}
    for name, det in detectors().items():
        results[name] = {s: evaluate(det, imgs) for s, imgs in sets.items()}
        for s, r in results[name].items():
            print(f"{name:12s} {s:13s} {json.dumps(r)}")
    meta = {
        "machine": f"{platform.machine()}, 2 CPU cores shared with other jobs, no GPU",
        "date": time.strftime("%Y-%m-%d"),
        "command": "python benchmarks/bench_face_detect.py",
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
