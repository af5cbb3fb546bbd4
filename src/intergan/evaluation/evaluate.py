"""The evaluation protocol: editing accuracy, preservation, reconstruction, FD, ground truth.

``evaluate_generator(G, cfg, dataset, judge, ...)`` takes a generator object and
its ``Config``; the CLI (``evaluate_cli``) loads them from a run. Every edited
image is quantised to uint8 (what a user would save) before it is judged or
compared. Definitions, for the first ``n`` images of the split (file order):

- editing accuracy of attribute i: share of images whose single-attribute edit
  (``flip_targets`` target i, conflict rules applied, encoded with
  ``encode_test_target`` at ``test_int``) the judge classifies (p > 0.5) as the
  target value of i;
- preservation: over all (image, edited attribute i, other attribute j) with
  j != i and j left unchanged by the conflict rules, the share where the judge's
  decision on j is the same for the edited image as for the real image;
- preservation by attribute: the same decisions grouped by the attribute j that was
  to be kept, split by the judge's decision on j for the real image ("on" / "off"):
  whether a bald head stays bald while the hair colour, the beard, ... are edited;
- multi-attribute accuracy: one random pair of non-conflicting attributes per
  image (seeded), both flipped at once; share of images with both right;
- reconstruction PSNR / SSIM: ``G(x, s, s).edited`` against ``x``;
- Frechet distance: all single edits against the real images, in the judge's
  feature space ("FD (judge features)") or Inception-v3's ("FID (Inception-v3)");
- ground truth (SynthFaces exports only): PSNR / SSIM of each single edit against
  ``synthfaces.render(identity, target attributes)``, over the whole image and
  outside the union of the regions of the attributes the edit changed.
PSNR is averaged per image with identical images counted as 120 dB.

Every mean but the Frechet distance comes with a standard error under
``standard_errors``, with the image as the sampling unit (the edits of one image
are correlated, so they form one cluster: ``metrics.ratio_se``). They measure
how much the figure would move with another draw of ``n`` test images, not the
spread between training runs (seeds); the Frechet distance has none.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from tqdm import tqdm

from intergan.attributes import CONFLICTS, apply_conflicts, encode, flip_targets
from intergan.config import Config
from intergan.errors import UserError
from intergan.evaluation import metrics
from intergan.evaluation.ground_truth import GroundTruth
from intergan.images import to_model, to_uint8
from intergan.models.judge import Judge

JUDGE_FD_LABEL = "FD (judge features)"
INCEPTION_FD_LABEL = "FID (Inception-v3)"


@dataclass
class EvalSettings:
    """What ``evaluate_generator`` measures and how."""

    n: int | None = None  # first n images of the split; None = all
    batch_size: int = 32
    high_accuracy: bool = False  # also push the source entry of the edited attribute
    test_int: float | None = None  # None = the model config's train.test_int
    seed: int = 0  # random attribute pairs
    progress: bool = True


def check_compatible(cfg: Config, judge: Judge, model_name: str = "--model") -> list[int]:
    """Judge columns of the model's attributes; ``UserError`` naming both if they differ.

    A judge may know more attributes than the model (its extra columns are ignored),
    but it must know every model attribute and work at the model's image size.
    """
    m = cfg.model
    missing = [a for a in m.attrs if a not in judge.attrs]
    if missing:
        raise UserError(
            f"--judge knows attributes {', '.join(judge.attrs)} but {model_name} edits "
            f"{', '.join(m.attrs)} (missing in the judge: {', '.join(missing)}); train a judge "
            "with `intergan classifier train --attrs ...` for the model's attributes"
        )
    if judge.img_size != m.img_size:
        raise UserError(
            f"--judge works at {judge.img_size} px but {model_name} at {m.img_size} px; "
            f"train a judge with `intergan classifier train --size {m.img_size}`"
        )
    return [judge.attrs.index(a) for a in m.attrs]


def allowed_pairs(attrs: Sequence[str]) -> list[tuple[int, int]]:
    """Index pairs (i < j) whose attributes no conflict rule ties together."""
    pairs = []
    for i, a in enumerate(attrs):
        for j in range(i + 1, len(attrs)):
            b = attrs[j]
            if b not in CONFLICTS.get(a, ()) and a not in CONFLICTS.get(b, ()):
                pairs.append((i, j))
    return pairs


class Editor:
    """Encodes targets the test-time way and runs G; returns uint8 edits.

    ``Editor(G, cfg, settings, device)(x, target, source, edited)``: the entries
    flagged in ``edited`` are pushed to +-test_int (and, with ``high_accuracy``,
    the same source entries too); the rest keep the training scale ``thres_int``.
    """

    def __init__(self, G: torch.nn.Module, cfg: Config, s: EvalSettings, device: torch.device):
        self.G, self.device = G, torch.device(device)
        self.thres = cfg.train.thres_int
        self.test_int = cfg.train.test_int if s.test_int is None else s.test_int
        self.high_accuracy = s.high_accuracy

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, target: torch.Tensor, source: torch.Tensor, edited):
        """x (B,3,S,S) in [-1,1]; target/source (B,n) binary; edited (B,n) bool mask
        of the entries pushed to +-test_int. Returns uint8 (B,3,S,S) on the CPU."""
        scale = self.test_int / self.thres
        enc_t = encode(target, self.thres)
        enc_t = torch.where(edited, enc_t * scale, enc_t)
        enc_s = encode(source, self.thres)
        if self.high_accuracy:
            enc_s = torch.where(edited, enc_s * scale, enc_s)
        out = self.G(x, enc_t.to(self.device), enc_s.to(self.device)).edited
        return to_uint8(out).cpu()


def _pair_targets(source: torch.Tensor, attrs: Sequence[str], pairs, choice: torch.Tensor):
    """Row r flips both attributes of ``pairs[choice[r]]``: (targets, edited mask)."""
    target = source.clone()
    edited = torch.zeros_like(source, dtype=torch.bool)
    for row, k in enumerate(choice.tolist()):
        for idx in pairs[k]:
            target[row] = apply_conflicts(target[row], attrs, idx, float(1 - source[row, idx]))
            edited[row, idx] = True
    return target, edited


class _Tally:
    """Sums and per-image value lists, keyed by name."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = defaultdict(float)
        self.lists: dict[str, list[torch.Tensor]] = defaultdict(list)

    def add(self, key: str, value: float) -> None:
        self.sums[key] += float(value)

    def extend(self, key: str, values: torch.Tensor) -> None:
        self.lists[key].append(values.detach().cpu().double().flatten())

    def cat(self, key: str) -> torch.Tensor:
        parts = self.lists.get(key)
        return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.float64)


def _quality(tally: _Tally, key: str, a_u8: torch.Tensor, b_u8: torch.Tensor, mask=None) -> None:
    """Record per-image PSNR / SSIM (uint8 images, data range 255) under ``key``."""
    a, b = a_u8.double(), b_u8.double()
    tally.extend(f"{key}/psnr", metrics.psnr(a, b, 255.0, mask))
    tally.extend(f"{key}/ssim", metrics.ssim(a, b, 255.0, mask))


def _with_outside(whole: dict[str, float], outside: dict[str, float]) -> dict[str, float]:
    """One attribute's ground-truth entry: whole-image PSNR / SSIM and outside its regions."""
    return {**whole, "psnr_outside": outside["psnr"], "ssim_outside": outside["ssim"]}


class _Run:
    """State of one evaluation: runs batches, then summarises."""

    def __init__(self, G, cfg: Config, judge: Judge, s: EvalSettings, device, gt, features, n):
        self.cfg, self.judge, self.settings, self.gt = cfg, judge, s, gt
        self.attrs = list(cfg.model.attrs)
        self.cols = check_compatible(cfg, judge)
        self.edit = Editor(G, cfg, s, device)
        self.device = device
        self.features = features  # images in [-1, 1] -> (B, d)
        self.pairs = allowed_pairs(self.attrs)
        gen = torch.Generator().manual_seed(s.seed)  # one pair per image, drawn up front
        self.pair_choice = torch.randint(max(1, len(self.pairs)), (n,), generator=gen)
        self.tally = _Tally()
        self.real_stats, self.fake_stats = metrics.FeatureStats(), metrics.FeatureStats()
        self.n = 0

    def _bits(self, images_u8: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Judge decisions (B, n) bool on the CPU, and the model-scale images on the device."""
        x = to_model(images_u8.to(self.device))
        return (self.judge.predict(x)[:, self.cols] > 0.5).cpu(), x

    def batch(self, images_u8: torch.Tensor, labels: torch.Tensor) -> None:
        t, n0 = self.tally, self.n
        s = (labels > 0.5).float()
        indices = list(range(n0, n0 + s.shape[0]))
        real_bits, x = self._bits(images_u8)
        for k, a in enumerate(self.attrs):
            t.add(f"real/{a}", (real_bits[:, k] == (s[:, k] > 0.5)).sum())
        self.real_stats.update(self.features(x))
        none = torch.zeros_like(s, dtype=torch.bool)
        _quality(t, "rec", self.edit(x, s, s, none), images_u8)
        if self.gt is not None:
            _quality(t, "gt_source", self.gt.render(indices, s), images_u8)
        held = torch.zeros(s.shape, dtype=torch.long)  # per image: j kept / j checked
        checked = torch.zeros(s.shape, dtype=torch.long)
        for i, target in enumerate(flip_targets(s, self.attrs)):
            kept, keep = self._single(i, x, s, target, real_bits, indices)
            held += kept
            checked += keep
        for j, b in enumerate(self.attrs):
            for side, on in (("on", real_bits[:, j]), ("off", ~real_bits[:, j])):
                t.extend(f"held_{side}/{b}", held[:, j] * on)
                t.extend(f"held_{side}_n/{b}", checked[:, j] * on)
        if self.pairs:
            choice = self.pair_choice[n0 : n0 + s.shape[0]]
            target, edited = _pair_targets(s, self.attrs, self.pairs, choice)
            bits, _ = self._bits(self.edit(x, target, s, edited))
            ok = ((bits == (target > 0.5)) | ~edited).all(dim=1)
            t.add("pairs_ok", ok.sum())
            t.extend("pairs_ok", ok)
        self.n += s.shape[0]

    def _single(self, i, x, s, target, real_bits, indices):
        """Edit attribute ``i`` alone and record it; returns (kept, checked) (B, n) bool:
        which other attributes stayed, and which were checked for preservation."""
        t, a = self.tally, self.attrs[i]
        edited = torch.zeros_like(s, dtype=torch.bool)
        edited[:, i] = True
        out_u8 = self.edit(x, target, s, edited)
        bits, ex = self._bits(out_u8)
        ok = bits[:, i] == (target[:, i] > 0.5)
        t.add(f"edit/{a}", ok.sum())
        t.extend(f"edit/{a}", ok)
        keep = target == s
        keep[:, i] = False  # the edited attribute itself, and those the rules forced
        kept = (bits == real_bits) & keep
        t.add(f"keep/{a}", kept.sum())
        t.add(f"keep_n/{a}", keep.sum())
        t.extend(f"keep/{a}", kept.sum(dim=1))
        t.extend(f"keep_n/{a}", keep.sum(dim=1))
        self.fake_stats.update(self.features(ex))
        if self.gt is not None:
            truth = self.gt.render(indices, target)
            _quality(t, f"gt/{a}", out_u8, truth)
            _quality(t, f"gt_out/{a}", out_u8, truth, self.gt.outside(indices, target != s))
        return kept, keep

    def _held(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Preservation by the attribute kept, on / off in the real image: (means, SEs)."""
        means, ses = {}, {}
        for b in self.attrs:
            means[b], ses[b] = {}, {}
            for side in ("on", "off"):
                kept, n = self.tally.cat(f"held_{side}/{b}"), self.tally.cat(f"held_{side}_n/{b}")
                means[b][side] = float(kept.sum() / n.sum()) if n.sum() > 0 else None
                means[b][f"images_{side}"] = int((n > 0).sum())
                ses[b][side] = metrics.ratio_se(kept, n)
        return means, ses

    def _quality_summary(self, key: str) -> dict[str, float]:
        return {
            "psnr": metrics.mean_psnr(self.tally.cat(f"{key}/psnr")),
            "ssim": metrics.nan_mean(self.tally.cat(f"{key}/ssim")),
        }

    def _ground_truth(self) -> dict[str, Any]:
        per_attr = {}
        for a in self.attrs:
            whole, out = self._quality_summary(f"gt/{a}"), self._quality_summary(f"gt_out/{a}")
            per_attr[a] = _with_outside(whole, out)
        all_q = {
            k: metrics.mean_psnr(torch.cat([self.tally.cat(f"{p}/{a}/psnr") for a in self.attrs]))
            for k, p in (("psnr", "gt"), ("psnr_outside", "gt_out"))
        }
        for k, p in (("ssim", "gt"), ("ssim_outside", "gt_out")):
            all_q[k] = metrics.nan_mean(
                torch.cat([self.tally.cat(f"{p}/{a}/ssim") for a in self.attrs])
            )
        source = self._quality_summary("gt_source")
        return {**all_q, "per_attr": per_attr, "source_render_psnr": source["psnr"]}

    def _by_image(self, key: str) -> torch.Tensor:
        """(n, n_attrs): the per-image values recorded under ``{key}/{attribute}``."""
        return torch.stack([self.tally.cat(key.format(a=a)) for a in self.attrs], dim=1)

    def _standard_errors(self, held_se: dict[str, Any]) -> dict[str, Any]:
        """Standard errors of the means in ``summary`` (module docstring)."""
        t = self.tally
        edit, kept, checked = (self._by_image(k) for k in ("edit/{a}", "keep/{a}", "keep_n/{a}"))
        cap = metrics.PSNR_CAP_DB

        def quality(key: str) -> dict[str, float]:
            return {"psnr": metrics.mean_se(t.cat(f"{key}/psnr"), cap),
                    "ssim": metrics.mean_se(t.cat(f"{key}/ssim"))}  # fmt: skip

        se: dict[str, Any] = {
            "editing_accuracy": {a: metrics.mean_se(edit[:, k]) for k, a in enumerate(self.attrs)},
            "editing_accuracy_mean": metrics.mean_se(edit),
            "preservation": {
                a: metrics.ratio_se(kept[:, k], checked[:, k]) for k, a in enumerate(self.attrs)
            },
            "preservation_mean": metrics.ratio_se(kept.sum(dim=1), checked.sum(dim=1)),
            "multi_attribute_accuracy": metrics.mean_se(t.cat("pairs_ok")) if self.pairs else None,
            "reconstruction": quality("rec"),
            "preservation_by_attribute": held_se,
        }
        if self.gt is not None:
            gt = {"per_attr": {}}
            for key, prefix in (("psnr", "gt"), ("psnr_outside", "gt_out")):
                gt[key] = metrics.mean_se(self._by_image(prefix + "/{a}/psnr"), cap)
            for key, prefix in (("ssim", "gt"), ("ssim_outside", "gt_out")):
                gt[key] = metrics.mean_se(self._by_image(prefix + "/{a}/ssim"))
            for a in self.attrs:
                whole, out = quality(f"gt/{a}"), quality(f"gt_out/{a}")
                gt["per_attr"][a] = _with_outside(whole, out)
            se["ground_truth"] = gt
        return se

    def summary(self, fd_label: str) -> dict[str, Any]:
        held, held_se = self._held()
        sums, n = self.tally.sums, self.n
        edit = {a: sums[f"edit/{a}"] / n for a in self.attrs}
        keep = {a: sums[f"keep/{a}"] / max(1.0, sums[f"keep_n/{a}"]) for a in self.attrs}
        keep_total = sum(sums[f"keep_n/{a}"] for a in self.attrs)
        real = {a: sums[f"real/{a}"] / n for a in self.attrs}
        return {
            "n_images": n,
            "attrs": self.attrs,
            "editing_accuracy": edit,
            "editing_accuracy_mean": sum(edit.values()) / len(edit),
            "preservation": keep,
            "preservation_mean": sum(sums[f"keep/{a}"] for a in self.attrs) / max(1.0, keep_total),
            "preservation_by_attribute": held,
            "multi_attribute_accuracy": sums["pairs_ok"] / n if self.pairs else None,
            "n_allowed_pairs": len(self.pairs),
            "reconstruction": self._quality_summary("rec"),
            "frechet": {
                "label": fd_label,
                "value": self.fake_stats.frechet_distance(self.real_stats),
                "n_real": self.real_stats.n,
                "n_edited": self.fake_stats.n,
            },
            "judge_accuracy_real": real,
            "judge_accuracy_real_mean": sum(real.values()) / len(real),
            "ground_truth": self._ground_truth() if self.gt is not None else None,
            "standard_errors": self._standard_errors(held_se),
        }


def evaluate_generator(
    G: torch.nn.Module,
    cfg: Config,
    dataset: torch.utils.data.Dataset,
    judge: Judge,
    settings: EvalSettings | None = None,
    device: str | torch.device = "cpu",
    ground_truth: GroundTruth | None = None,
    inception: torch.nn.Module | None = None,
) -> dict[str, Any]:
    """Run the protocol (module docstring) on ``dataset`` and return the metrics dict.

    G: a generator for ``cfg.model`` (``forward(images, target, source)``);
    dataset items ``(uint8 (3, S, S), labels (n_attrs,) {0,1})`` in ``cfg.model.attrs``
    order; ``ground_truth`` pairs dataset indices with SynthFaces identities;
    ``inception``: an ``FIDInception`` for standard FID, else judge features.
    """
    s = settings or EvalSettings()
    if s.batch_size < 1:
        raise UserError(f"--batch-size must be positive, got {s.batch_size}")
    if s.n is not None and s.n < 2:
        raise UserError(
            f"--n must be at least 2 (the Frechet distance needs a covariance), got {s.n}"
        )
    device = torch.device(device)
    check_compatible(cfg, judge)
    n = len(dataset) if s.n is None else min(s.n, len(dataset))
    if n < 2:
        raise UserError(f"the evaluation split has {n} image(s); it needs at least 2")
    subset = torch.utils.data.Subset(dataset, range(n))
    loader = torch.utils.data.DataLoader(subset, batch_size=s.batch_size, shuffle=False)
    G = G.to(device).eval()
    judge.to(device)
    features = judge.features if inception is None else inception.to(device).eval().features
    run = _Run(G, cfg, judge, s, device, ground_truth, features, n)
    start = time.time()
    with torch.inference_mode():
        for images, labels in tqdm(loader, desc="evaluate", disable=not s.progress):
            run.batch(images, labels)
    result = run.summary(JUDGE_FD_LABEL if inception is None else INCEPTION_FD_LABEL)
    editor = run.edit
    result["settings"] = {**asdict(s), "test_int": editor.test_int, "thres_int": editor.thres}
    result["seconds"] = round(time.time() - start, 1)
    result["device"] = str(device)
    return result
