"""Training and testing the judge classifier (the network lives in ``intergan.models.judge``).

``train_judge`` fits a judge on a dataset's real images; ``evaluate_judge`` measures
its accuracy on a split and ``accuracy_table`` prints that. ``intergan classifier
train|test`` (``classifier_cli.py``) runs them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from tqdm import tqdm

from intergan.errors import UserError
from intergan.images import to_model
from intergan.models.judge import Judge, JudgeArch, build_judge


def _batches(dataset, batch_size: int, seed: int, num_workers: int):
    """Endless shuffled batches (a new permutation each pass, reproducible from ``seed``)."""
    g = torch.Generator().manual_seed(seed)
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        drop_last=len(dataset) >= batch_size,
        generator=g,
        num_workers=num_workers,
    )
    while True:
        yield from loader


def train_judge(
    dataset: torch.utils.data.Dataset,
    attrs: Sequence[str],
    img_size: int,
    steps: int = 2000,
    batch_size: int = 32,
    lr: float = 1e-3,
    arch: JudgeArch | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    num_workers: int = 0,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> Judge:
    """Train a judge on ``dataset`` items ``(uint8 (3, S, S), labels {0,1} (n_attrs,))``.

    AdamW with weight decay 1e-4, a 5% linear warm-up then cosine decay of ``lr``,
    binary cross-entropy per attribute. Deterministic for a seed on one device.
    """
    if steps < 1:
        raise UserError(f"--steps must be at least 1, got {steps}")
    device = torch.device(device)
    torch.manual_seed(seed)
    judge = build_judge(attrs, img_size, arch).to(device)
    net = judge.net.train()
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    warm = max(1, steps // 20)

    def schedule(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, steps - warm)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    batches = _batches(dataset, batch_size, seed, num_workers)
    bar = tqdm(range(steps), desc="judge", disable=not progress, dynamic_ncols=True)
    for step in bar:
        images, labels = next(batches)
        _, logits = net(to_model(images.to(device)))
        loss = F.binary_cross_entropy_with_logits(logits, labels.to(device, torch.float32))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 50 == 0 or step == steps - 1:
            bar.set_postfix(loss=f"{loss.item():.4f}")
            if log is not None and not progress:
                log(f"judge step {step + 1}/{steps} loss {loss.item():.4f}")
    judge.net.eval()
    judge.info = {"train": {"steps": steps, "batch_size": batch_size, "lr": lr, "seed": seed}}
    return judge


@torch.no_grad()
def evaluate_judge(
    judge: Judge,
    dataset: torch.utils.data.Dataset,
    batch_size: int = 256,
    progress: bool = False,
) -> dict[str, Any]:
    """Accuracy of thresholded (p > 0.5) predictions on ``dataset`` (same attrs order).

    Returns ``{"per_attr": {name: acc}, "mean": mean of per_attr, "n": images}``.
    """
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False)
    correct = torch.zeros(len(judge.attrs), dtype=torch.float64)
    n = 0
    for images, labels in tqdm(loader, desc="judge eval", disable=not progress):
        pred = judge.predict(to_model(images)) > 0.5
        correct += (pred.cpu() == (labels > 0.5)).sum(0).double()
        n += images.shape[0]
    if n == 0:
        raise UserError("the evaluation split has no images")
    acc = (correct / n).tolist()
    per_attr = dict(zip(judge.attrs, acc))
    return {"per_attr": per_attr, "mean": sum(acc) / len(acc), "n": n}


def accuracy_table(result: dict[str, Any]) -> str:
    """Markdown table of ``evaluate_judge``'s result."""
    lines = ["| attribute | accuracy |", "| --- | ---: |"]
    lines += [f"| {a} | {100 * v:.2f}% |" for a, v in result["per_attr"].items()]
    lines.append(f"| **mean** | **{100 * result['mean']:.2f}%** |")
    return "\n".join(lines)
