"""How much of a SynthFaces image lies in its fine detail, and where a model's
reconstruction error lies (docs/recipe.md, "What bounds reconstruction PSNR").

Two measurements on the first ``--n`` images of a split, both with the evaluation's
PSNR (uint8 images, data range 255):

1. Band-limited ceilings. Each image is projected onto the 2-D DFT frequencies
   with ``max(|kx|, |ky|) <= c`` cycles per image side (an orthogonal projection, so
   no image limited to that band is closer to the original). The PSNR of the
   projection (rounded to uint8, as an output image is) is therefore, to within that
   rounding, the best any reconstruction carrying nothing above ``c`` can score.
   ``c`` = 32 at 64 px is the Nyquist limit (the image itself).
2. With ``--model``: the reconstruction ``G(x, s, s)`` (as ``intergan evaluate``
   computes it) and the split of its squared error into the same bands (Parseval:
   the band energies add up to the whole error), so one sees whether the model
   loses the coarse picture or only the fine detail.

    PYTHONPATH=src python scripts/recon_ceiling.py --data data/synth64_fresh \
        --n 200 --model synthfaces-64 \
        --out benchmarks/results/recon_ceiling_bundle_synthfaces64.json
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import torch

from intergan.evaluation.common import open_dataset
from intergan.evaluation.evaluate import Editor, EvalSettings
from intergan.evaluation.metrics import psnr
from intergan.images import to_model

CUTOFFS = (2, 4, 8, 12, 16, 24)


def band_masks(size: int, cutoffs) -> dict[int, torch.Tensor]:
    k = torch.fft.fftfreq(size) * size  # integer cycles per side
    inf = torch.maximum(k.abs()[:, None], k.abs()[None, :])
    return {c: (inf <= c) for c in cutoffs}


def lowpass(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """x (B, C, S, S) float64 -> its projection onto the frequencies in mask."""
    return torch.fft.ifft2(torch.fft.fft2(x) * mask).real


def psnr_db(mse: torch.Tensor) -> torch.Tensor:
    return 10 * torch.log10(255.0**2 / mse)


def band_errors(err: torch.Tensor, masks: dict[int, torch.Tensor]) -> dict[int, torch.Tensor]:
    """Per-image mean squared error inside each band (cumulative, |k| <= c)."""
    spec = torch.fft.fft2(err).abs() ** 2  # Parseval: sum |F|^2 = N * sum err^2
    n = err.shape[-1] * err.shape[-2]
    total = spec.sum(dim=(-1, -2)) / (n * n)  # mean over pixels, per channel
    out = {c: (spec * m).sum(dim=(-1, -2)).div(n * n).mean(1) for c, m in masks.items()}
    out[0] = total.mean(1)  # 0: the whole error
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="all")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--model", help="checkpoint, export or bundled name: also split its error")
    ap.add_argument("--out", help="write the figures here as JSON")
    args = ap.parse_args()

    editor = None
    if args.model:
        from intergan.models.io import load_generator
        from intergan.models.pretrained import resolve_model

        G, cfg = load_generator(resolve_model(args.model, flag="--model"), device="cpu")
        G.eval()
        editor, attrs = Editor(G, cfg, EvalSettings(), "cpu"), cfg.model.attrs
    else:
        from intergan.attributes import DEFAULT_ATTRS as attrs
    ds = open_dataset(args.data, attrs, args.split, args.size)
    n = min(args.n, len(ds))
    masks = band_masks(args.size, CUTOFFS)
    ceil = {c: [] for c in CUTOFFS}
    model_err = {c: [] for c in (0, *CUTOFFS)}
    for start in range(0, n, 50):
        items = [ds[i] for i in range(start, min(n, start + 50))]
        x_u8 = torch.stack([it[0] for it in items])
        labels = torch.stack([torch.as_tensor(it[1]) for it in items])
        x = x_u8.double()
        for c, m in masks.items():
            projected = lowpass(x, m).round().clamp(0, 255)  # as an output image would be
            ceil[c].append(psnr(projected, x, data_range=255))
        if editor is not None:  # the evaluation's reconstruction: target = source
            s = labels.float()
            rec = editor(to_model(x_u8), s, s, torch.zeros_like(s, dtype=torch.bool)).double()
            for c, v in band_errors(rec - x, masks).items():
                model_err[c].append(v)

    def mean_db(values) -> float:
        return round(float(torch.cat(values).mean()), 2)

    result = {
        "data": args.data,
        "split": args.split,
        "n": n,
        "ceiling_psnr_db": {str(c): mean_db(v) for c, v in ceil.items()},
    }
    print(f"{n} images of {args.data}")
    print("band-limited ceiling (max(|kx|,|ky|) <= c cycles per side): mean PSNR")
    for c in CUTOFFS:
        print(f"  c = {c:2d}: {result['ceiling_psnr_db'][str(c)]:6.2f} dB")
    if editor is not None:
        total = torch.cat(model_err[0])
        rec_db = float(psnr_db(total).mean())
        share = {}
        for c in CUTOFFS:
            inside = torch.cat(model_err[c])
            share[str(c)] = round(float((inside / total).mean()), 3)
        # PSNR the model would score if its error above c were removed (the low band only)
        low_only = {
            str(c): round(float(psnr_db(torch.cat(model_err[c])).mean()), 2) for c in CUTOFFS
        }
        result["model"] = {
            "name": args.model,
            "reconstruction_psnr_db": round(rec_db, 2),
            "error_share_at_or_below_c": share,
            "psnr_if_only_error_at_or_below_c_db": low_only,
        }
        print(f"model {args.model}: reconstruction {rec_db:.2f} dB")
        for c in CUTOFFS:
            print(
                f"  c = {c:2d}: {100 * share[str(c)]:5.1f}% of the squared error at or below c; "
                f"that part alone: {low_only[str(c)]:.2f} dB"
            )
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
        print("wrote", args.out)
    assert all(math.isfinite(v) for v in result["ceiling_psnr_db"].values())


if __name__ == "__main__":
    main()
