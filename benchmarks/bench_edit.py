"""Editing latency by backend: float32 PyTorch, bfloat16 PyTorch (bf16 weights +
channels-last, the ``torch-bf16`` backend), bf16 autocast over float32 weights
(+ channels-last, for comparison) and ONNX Runtime, on a randomly initialised
generator (latency does not depend on the weights' values) and a random judge.

Usage: PYTHONPATH=src python benchmarks/bench_edit.py [--preset base] [--size 256]
       [--threads 2] [--repeats 5] [--backends torch,torch-bf16,autocast,onnx]
       [--set model.enc_dim=32]

Scenarios, all through the public API on a 1024x768 photo with one face:
- ``first_edit``: ``Editor.edit(photo, {"Blond_Hair": 1})`` from nothing: MTCNN
  detection, alignment, the judge's estimate, encoder, decoder, paste-back.
- ``slider_move``: ``session.edit({...})`` on a photo opened with ``Editor.open``
  (decoder and paste-back only), the values changing every call.
- ``strip_13``: ``Editor.edit_all(photo)`` from nothing (the CLI's ``--all``).
- ``web_request``: the web page's slider callbacks (``Handlers.edit``, then
  ``Handlers.extras``) on an opened PNG upload after its first edit (the edit, the
  shown images, the face close-up and the download file), plus what Gradio does
  with its outputs before sending them (``postprocess`` and the copy into its file
  cache); not the HTTP round trip (``bench_web.py`` measures that in a browser).
- ``crop_edit``: ``Editor.edit`` of one (1, 3, S, S) crop tensor with
  ``align=False`` (the generator and glue; the figure earlier versions reported).
Median and best of ``--repeats`` calls (strips: half as many) after one warm-up,
the backends taking turns. ``--blend`` (default ``raw``, as the recorded tables were
measured): the editor's blend; ``delta`` decodes the reconstruction once more per
opened photo (a one-shot edit, not a slider move). ``web_request`` runs the page's own
choice.

``--attgan-pytorch 128`` (or 384) times an AttGAN-PyTorch import instead (``intergan
import attgan-pytorch``, docs/editing.md): the benchmark writes a run folder with the
released model's settings at that size (128: shortcut 1, inject 0, CelebA; 384:
shortcut 1, inject 1, CelebA-HQ; widths 64 to 1024, 13 attributes) and random
weights, imports it and times ``edit_after_detection`` (``Editor.edit`` of the photo
with the face already found: alignment, encoder, decoder, paste-back; the source
attributes given, as such a model has no judge), ``slider_move`` and ``crop_edit``,
for ``torch`` and ``torch-bf16`` as ``Editor.from_pretrained`` gives them (prepared
for inference: batch norms folded, oneDNN weights prepacked) and for their
``-eager`` baselines without that preparation, side by side; it prints a table with
what ``auto`` picks and issue 34's targets.
It saves benchmarks/results/bench_edit_attgan_pytorch_SIZE.json; the other runs save
benchmarks/results/bench_edit_PRESET_SIZE.json (with each ``--set`` item appended to
the name, e.g. ``_encdim32``) or ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
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
        fn()  # warm-up (allocations, ORT graph optimisation, oneDNN kernels)
    runs: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            runs[k].append(1000 * (time.perf_counter() - t0))
    return {k: {"median_ms": round(statistics.median(v), 1), "best_ms": round(min(v), 1)}
            for k, v in runs.items()}  # fmt: skip


def crop_edits(editors: dict, x: torch.Tensor, src: list, blend: str) -> dict:
    """``crop_edit``: one ``Editor.edit`` of the crop ``x`` (``align=False``) per backend."""
    return {
        k: (lambda e=e: e.edit(x, {"Blond_Hair": 1.0}, source=src, align=False, blend=blend))
        for k, e in editors.items()
    }


def face_photo() -> np.ndarray:
    from PIL import Image
    from skimage import data

    canvas = Image.fromarray(data.coffee()).convert("RGB").resize((1024, 768))
    canvas.paste(Image.fromarray(data.astronaut()).crop((130, 10, 320, 240)), (400, 200))
    return np.asarray(canvas)


def autocast_backend(G):
    """bf16 autocast over float32 weights, channels-last (weights cast on every call)."""
    from intergan.editing.backends import TorchBackend

    class Autocast(TorchBackend):
        def _in(self, images):
            return images.contiguous(memory_format=torch.channels_last)

        def encode(self, images):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return super().encode(images)

        def decode(self, code, target, source):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return super().decode(code, target, source)

    be = Autocast(G.to(memory_format=torch.channels_last))
    be.name = "autocast"
    return be


def make_backends(names: list[str], cfg, work: Path, threads: int) -> tuple[dict, float]:
    from intergan.editing.backends import OnnxBackend, TorchBackend
    from intergan.models import build_generator
    from intergan.models.export import export_onnx
    from intergan.models.io import ONNX_FILE

    def fresh():
        torch.manual_seed(0)
        return build_generator(cfg.model).eval()

    out, export_s = {}, 0.0
    for name in names:
        if name == "torch":
            out[name] = TorchBackend(fresh())
        elif name == "torch-bf16":
            out[name] = TorchBackend(fresh(), precision="bf16")
        elif name == "autocast":
            out[name] = autocast_backend(fresh())
        elif name == "onnx":
            t0 = time.perf_counter()
            export_onnx(fresh(), cfg, work / ONNX_FILE)
            export_s = time.perf_counter() - t0
            out[name] = OnnxBackend(work, threads=threads)
        else:
            raise SystemExit(f"unknown backend {name!r}")
    return out, export_s


def import_editors(size: int, names: list[str], work: Path) -> tuple[dict, Path]:
    """Editors over a random-weight AttGAN-PyTorch import at ``size`` (128 or 384 px,
    the released models' settings), one per backend: torch, torch-bf16 (prepared for
    inference, as ``Editor.from_pretrained`` gives them), torch-eager and
    torch-bf16-eager (the same without the preparation: the baselines), onnx."""
    from intergan.editing.backends import TorchBackend
    from intergan.editing.editor import Editor
    from intergan.models.attgan_pytorch import AttGANPyTorchGenerator, Settings
    from intergan.models.export import export_onnx
    from intergan.models.import_attgan import import_attgan_pytorch
    from intergan.models.io import load_generator

    hq = size > 256
    raw = {"img_size": size, "shortcut_layers": 1, "inject_layers": int(hq),
           "data": "CelebA-HQ" if hq else "CelebA"}  # fmt: skip
    torch.manual_seed(0)
    G = AttGANPyTorchGenerator(Settings.parse(raw, "benchmark"))
    (work / "run" / "checkpoint").mkdir(parents=True)
    (work / "run" / "setting.txt").write_text(json.dumps(raw))
    torch.save({"G": G.state_dict()}, work / "run" / "checkpoint" / "weights.0.pth")
    model = import_attgan_pytorch(work / "run", work / "model")
    editors = {}
    for name in names:
        if name == "onnx":
            export_onnx(*load_generator(model), model / "generator.onnx")
        base = name.removesuffix("-eager")
        editors[name] = ed = Editor.from_pretrained(model, backend=base)
        if name != base:
            precision = "bf16" if base == "torch-bf16" else "float32"
            ed.backend = TorchBackend(load_generator(model)[0], precision=precision, prepare=False)
            ed.backend.name = name
    return editors, model


def bench_import(args: argparse.Namespace) -> None:
    """Time an AttGAN-PyTorch import (``--attgan-pytorch SIZE``; module docstring)."""
    from intergan.editing.backends import choose_backend
    from intergan.editing.faces import default_detector
    from intergan.hardware import cpu_bf16
    from intergan.models.io import load_generator

    size, names = args.attgan_pytorch, args.backends.split(",")
    work = Path(tempfile.mkdtemp(prefix="bench_edit_import_"))
    editors, model = import_editors(size, names, work)
    photo = face_photo()
    det = default_detector()
    faces = det.detect(photo)

    class Found:  # detection done once, outside the timings
        def detect(self, image):
            return faces

    src = {"Young": 1, "Black_Hair": 1}
    for ed in editors.values():
        ed._detector = Found()
    sessions = {k: e.open(photo, source=src) for k, e in editors.items()}
    step = [0]

    def slide(s):
        step[0] += 1
        return s.edit({"Blond_Hair": (-1.0, 0.5, 1.0)[step[0] % 3], "Young": 1.0}, blend=args.blend)

    x = torch.rand(1, 3, size, size) * 2 - 1
    reps = args.repeats

    def each(fn):  # fn timed on every editor, taking turns
        return interleaved({k: (lambda e=e: fn(e)) for k, e in editors.items()}, reps)

    res = {
        "edit_after_detection": each(
            lambda e: e.edit(photo, {"Blond_Hair": 1.0}, source=src, blend=args.blend)
        ),
        "slider_move": interleaved({k: (lambda s=s: slide(s)) for k, s in sessions.items()}, reps),
        "crop_edit": interleaved(crop_edits(editors, x, src, args.blend), reps),
        "detect_1024x768": interleaved({"mtcnn": lambda: det.detect(photo)}, reps)["mtcnn"],
    }
    auto = choose_backend("auto", torch.device("cpu"), model)[0]
    print_import_table(res, editors, auto, size, args)
    out = Path(args.out or f"benchmarks/results/bench_edit_attgan_pytorch_{size}.json")
    params = sum(p.numel() for p in load_generator(model)[0].parameters())
    meta = {**machine(args), "cpu_bf16": "{} ({})".format(*cpu_bf16()), "img_size": size,
            "model": "AttGAN-PyTorch import, released settings, random weights", "auto_picks": auto,
            "prepared": {k: getattr(e.backend, "prepared", "") for k, e in editors.items()},
            "generator_params": params, "repeats": reps,
            "command": f"PYTHONPATH=src python benchmarks/bench_edit.py --attgan-pytorch {size} "
            f"--threads {args.threads} --repeats {reps} --backends {args.backends} "
            f"--blend {args.blend} --out {shlex.quote(str(out))}"}  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "results": res}, indent=2) + "\n")
    print(json.dumps(meta))


SCENARIOS = ("edit_after_detection", "slider_move", "crop_edit")
TARGETS = {128: {"edit_after_detection": 150, "slider_move": 80}, 384: {"slider_move": 600}}


def print_import_table(res: dict, editors: dict, auto: str, size: int, args) -> None:
    """The import run's medians, one row per backend, against issue 34's targets."""
    cpu = machine(args)["machine"]
    print(f"\nAttGAN-PyTorch {size} px import, {args.threads} thread(s), {cpu}, "
          f"load average {os.getloadavg()[0]:.1f}; medians of {args.repeats}, ms")  # fmt: skip
    print(f"{'backend':24s}" + "".join(f"{s:>22s}" for s in SCENARIOS))
    for k, e in editors.items():
        label = k + (" (auto)" if k == auto else "")
        print(f"{label:24s}" + "".join(f"{res[s][k]['median_ms']:22.1f}" for s in SCENARIOS))
        if getattr(e.backend, "prepared", ""):
            print(f"{'':24s}prepared: {e.backend.prepared}")
    for scen, limit in TARGETS[size].items():
        got = res[scen][auto]["median_ms"] if auto in res[scen] else None
        verdict = (
            "not timed" if got is None else f"{got} ms: " + ("met" if got <= limit else "NOT met")
        )
        print(f"target {scen} <= {limit} ms ({auto}, what auto picks): {verdict}")
    print(f"MTCNN detection on the 1024x768 photo: {res['detect_1024x768']['median_ms']} ms")


def machine(args: argparse.Namespace) -> dict:
    """The machine, its load, the date and the versions, for a result file."""
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo")
                if ln.startswith("model name")), platform.processor())  # fmt: skip
    return {
        "machine": f"{platform.machine()} {cpu}, {os.cpu_count()} cores, {args.threads} "
        "threads, no GPU",
        "load_average_at_start": os.getloadavg()[0],
        "note": args.note,
        "date": time.strftime("%Y-%m-%d"),
        "torch": torch.__version__,
    }


def web_request(editors: dict, photo: np.ndarray, work: Path) -> dict:
    """One slider-callback closure per backend, on an opened PNG upload."""
    from gradio.processing_utils import move_files_to_cache
    from PIL import Image

    from intergan.app import session
    from intergan.app.catalog import Catalog
    from intergan.app.handlers import CELEBA_ATTRS, Handlers
    from intergan.app.offline import gr
    from intergan.app.store import Store

    path = work / "upload.png"
    Image.fromarray(photo).save(path)
    session.load_editor = lambda name: editors[name]  # the page's model cache, stubbed
    catalog = Catalog({name: Path(name) for name in editors})
    h = Handlers(catalog, Store(work / "open", max_count=len(editors)), max_pixels=50_000_000)
    compare = gr.ImageSlider(type="filepath")  # as web._view_column
    closeup, download = gr.ImageSlider(type="filepath"), gr.DownloadButton()
    fns, k = {}, [0]
    for name in editors:
        token = h.open(str(path), True, 0, name)[0]
        opened = h.store.get(token)
        values = [opened.start.get(a, 0.0) for a in CELEBA_ATTRS]
        i = CELEBA_ATTRS.index("Blond_Hair")

        def move(name=name, token=token, values=values, i=i):
            k[0] += 1
            values[i] = (-1.0, 0.5, 1.0)[k[0] % 3]
            view = h.edit(token, name, "raw", *values)[0]
            close, file, *_ = h.extras(token, name)  # the close-up, download, after the view
            # what Gradio then does with the outputs: encode/copy them into its cache
            move_files_to_cache(compare.postprocess(view), compare, postprocess=True)
            move_files_to_cache(close.value, closeup, postprocess=True)
            move_files_to_cache(download.postprocess(file), download, postprocess=True)

        fns[name] = move
    return fns


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="base")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--backends", default="torch,torch-bf16,autocast,onnx")
    ap.add_argument("--out", help="default: benchmarks/results/bench_edit_PRESET_SIZE[_SET].json")
    ap.add_argument("--note", default="", help="recorded with the results (e.g. machine load)")
    ap.add_argument("--blend", choices=("raw", "delta"), default="raw",
                    help="the editor's blend= (default raw: what the recorded tables measured, "
                    "before delta became the editor's default)")  # fmt: skip
    ap.add_argument("--set", action="append", default=[], metavar="model.FIELD=VALUE",
                    help="change the preset's model, e.g. model.enc_dim=32 (the bundled "
                    "synthfaces-64's width)")  # fmt: skip
    ap.add_argument("--attgan-pytorch", type=int, choices=(128, 384), metavar="SIZE",
                    help="time a random-weight AttGAN-PyTorch import at 128 or 384 px "
                    "(backends torch-eager,torch,torch-bf16-eager,torch-bf16 unless --backends "
                    "says otherwise; -eager: without the inference preparation)")  # fmt: skip
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.attgan_pytorch:
        if args.backends == ap.get_default("backends"):
            args.backends = "torch-eager,torch,torch-bf16-eager,torch-bf16"
        return bench_import(args)

    from intergan.config import Config, model_config
    from intergan.editing.backends import choose_backend
    from intergan.editing.editor import Editor
    from intergan.hardware import cpu_bf16
    from intergan.model_cli import with_model_overrides
    from intergan.models import build_generator
    from intergan.models.judge import build_judge

    if any(item.startswith("model.img_size=") for item in args.set):
        raise SystemExit("--set model.img_size: the size is --size")
    cfg = Config(
        model=with_model_overrides(model_config(args.preset, img_size=args.size), args.set)
    )
    # the default name carries the --set items, so a variant never overwrites the preset's file
    variant = "".join("_" + re.sub(r"[^A-Za-z0-9]+", "", i.split(".", 1)[1]) for i in args.set)
    out = Path(args.out or f"benchmarks/results/bench_edit_{args.preset}_{args.size}{variant}.json")
    work = Path(tempfile.mkdtemp(prefix="bench_edit_"))
    backends, export_s = make_backends(args.backends.split(","), cfg, work, args.threads)
    judge = build_judge(cfg.model.attrs, args.size)
    editors = {k: Editor(be, cfg, judge=judge, framing="celebahq") for k, be in backends.items()}
    photo = face_photo()
    attrs = cfg.model.attrs
    sessions = {k: e.open(photo) for k, e in editors.items()}
    step = [0]

    def slide(s):
        step[0] += 1
        return s.edit({"Blond_Hair": (-1.0, 0.5, 1.0)[step[0] % 3], "Young": 1.0}, blend=args.blend)

    x = torch.rand(1, 3, args.size, args.size) * 2 - 1
    src = [0.0] * len(attrs)
    reps, strip_reps = args.repeats, max(1, args.repeats // 2)
    res = {
        "first_edit": interleaved(
            {
                k: (lambda e=e: e.edit(photo, {"Blond_Hair": 1.0}, blend=args.blend))
                for k, e in editors.items()
            },
            reps,
        ),
        "slider_move": interleaved({k: (lambda s=s: slide(s)) for k, s in sessions.items()}, reps),
        "web_request": interleaved(web_request(editors, photo, work), reps),
        "crop_edit": interleaved(crop_edits(editors, x, src, args.blend), reps),
        "strip_13": interleaved(
            {k: (lambda e=e: e.edit_all(photo, blend=args.blend)) for k, e in editors.items()},
            strip_reps,
        ),
    }
    from intergan.editing.faces import default_detector

    det = default_detector()
    res["detect_1024x768"] = interleaved({"mtcnn": lambda: det.detect(photo)}, reps)["mtcnn"]
    for k in editors:
        print(f"{k:11s}" + "".join(f"  {s} {res[s][k]['median_ms']:8.1f}" for s in
              ("first_edit", "slider_move", "web_request", "crop_edit", "strip_13")))  # fmt: skip
    print(f"MTCNN detection on the 1024x768 photo: {res['detect_1024x768']['median_ms']} ms")

    fast, why = cpu_bf16()
    meta = {
        **machine(args),
        "cpu_bf16": f"{fast} ({why})",
        # a model folder holding the exported generator.onnx, when one was exported
        "auto_picks": choose_backend("auto", torch.device("cpu"), work)[0],
        "onnxruntime": __import__("onnxruntime").__version__,
        "preset": args.preset,
        "img_size": args.size,
        "generator_params": sum(p.numel() for p in build_generator(cfg.model).parameters()),
        "onnx_export_s": round(export_s, 1),
        "repeats": reps,
        "strip_repeats": strip_reps,
        "command": f"PYTHONPATH=src python benchmarks/bench_edit.py --preset {args.preset} "
        f"--size {args.size} --threads {args.threads} --repeats {args.repeats} "
        f"--backends {args.backends} --blend {args.blend}"
        + "".join(f" --set {shlex.quote(item)}" for item in args.set)
        + f" --out {shlex.quote(str(out))}",
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "results": res}, indent=2) + "\n")
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
