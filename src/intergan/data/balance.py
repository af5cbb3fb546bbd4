"""Attribute-balanced sampling (``--balance``): draw rare attributes more often.

CelebA's attributes are far from 50%: Bald is on 2.2% of the faces, Mustache 4%,
Gray_Hair 4%. A generator that rarely sees a bald head learns to paint hair over one
(measured on SynthFaces, docs/recipe.md section 7: balanced training faces lifted
Bald from 57% to 87% editing accuracy and kept bald heads bald after 65% of the other
edits instead of 16%). ``balance_weights`` gives every training image a sampling
weight such that, drawn with those weights, every attribute is on for at least
``floor`` (20% by default) of the images and off for at least as many: iterative
proportional fitting (raking) of each share that lies outside ``[floor, 1 - floor]`` to that
bound, with every weight kept within ``max_ratio`` of the mean so that a handful of
images is never repeated without end. Shares already inside are held where they are.
Asking 50% of everything would not do: the hair colours exclude each other, so
their shares cannot all be 50%, and the fit would concentrate the weight on a few
thousand images. On 160,000 simulated labels with CelebA's shares (independent
attributes, exclusive hair colours) the floor 0.2 fits in a few seconds and leaves
an effective sample of about 30,000 images; 0.25 nearly exhausts what the exclusive
hair colours allow (16,000). Where the bounds cannot all
be met the fit ends where the cap and the other attributes let it; ``describe``
reports what a run gets.
"""

from __future__ import annotations

import torch

from intergan.errors import UserError

FLOOR = 0.2  # each attribute on (and off) for at least a fifth of the draws
MAX_RATIO = 20.0  # no image drawn more than 20x the mean rate, none less than 1/20


def balance_weights(
    labels: torch.Tensor,
    floor: float = FLOOR,
    max_ratio: float = MAX_RATIO,
    iters: int = 200,
    tol: float = 1e-3,
) -> torch.Tensor:
    """Sampling weights ``(N,)`` (float64, summing to 1) for binary ``labels (N, A)``.

    An attribute that is on for every image or for none cannot be moved and is left
    out of the fit. Stops when every share is within ``tol`` of its target.
    """
    y = torch.as_tensor(labels, dtype=torch.float64)
    if y.ndim != 2 or y.shape[0] == 0:
        raise UserError(
            f"balanced sampling needs labels of shape (images, attributes), got {tuple(y.shape)}"
        )
    y = (y > 0.5).double()
    n = y.shape[0]
    movable = (y.sum(0) > 0) & (y.sum(0) < n)
    target = y.mean(0).clamp(floor, 1 - floor)
    w = torch.full((n,), 1.0 / n, dtype=torch.float64)
    lo, hi = 1.0 / (max_ratio * n), max_ratio / n
    fitted = torch.nonzero(movable).flatten().tolist()
    columns, targets = [y[:, a] > 0 for a in fitted], [float(target[a]) for a in fitted]
    for _ in range(iters):
        worst = 0.0
        for on, t in zip(columns, targets):
            p = float(w[on].sum())  # w sums to 1 (_capped normalises)
            worst = max(worst, abs(p - t))
            w = torch.where(on, w * (t / p), w * ((1 - t) / (1 - p)))
            w = _capped(w, lo, hi)
        if worst < tol:
            break
    return w


def _capped(w: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """``w`` normalised to sum 1 with every entry in ``[lo, hi]`` (clip, renormalise,
    repeat: the clipped mass goes to the others in proportion)."""
    for _ in range(100):
        w = w / w.sum()
        if float(w.max()) <= hi * (1 + 1e-6) and float(w.min()) >= lo * (1 - 1e-6):
            break
        w = w.clamp(lo, hi)
    return w


def shares(labels: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Each attribute's share of images with it on ``(A,)``, plain or under ``weights``."""
    y = (torch.as_tensor(labels, dtype=torch.float64) > 0.5).double()
    if weights is None:
        return y.mean(0)
    w = torch.as_tensor(weights, dtype=torch.float64)
    return (w[:, None] * y).sum(0) / w.sum()


def describe(labels: torch.Tensor, weights: torch.Tensor, attrs: list[str]) -> str:
    """One line for the run log: each attribute's share before -> after balancing."""
    before, after = shares(labels), shares(labels, weights)
    parts = [f"{a} {b:.0%}->{c:.0%}" for a, b, c in zip(attrs, before.tolist(), after.tolist())]
    return "balanced sampling (share of images with each attribute): " + ", ".join(parts)
