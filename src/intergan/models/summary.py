"""Parameters and multiply-accumulates of G and D, per module (``intergan model``).

MACs are counted with forward hooks on every Conv2d, ConvTranspose2d and Linear
layer plus the fixed Haar transforms (norms, activations, pooling and
up-sampling are not counted). Figures are per input image: the generator's
count covers both streams (editing and reconstruction) of that image.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import torch
from torch import nn

from intergan.config import ModelConfig
from intergan.models import build_discriminator, build_generator
from intergan.models.generator import CTI, HFCM
from intergan.models.haar import HaarDWT, HaarIDWT

# Composite modules whose children `--shapes` lists as stages of their own (the
# paper's HFCM and CTI chains); any other module is one stage.
OPENED: tuple[type[nn.Module], ...] = (HFCM, CTI)


def _layer_macs(module: nn.Module, inp: torch.Tensor, out: torch.Tensor) -> int:
    if isinstance(module, nn.Conv2d):
        k = module.kernel_size[0] * module.kernel_size[1]
        return out.numel() * (module.in_channels // module.groups) * k
    if isinstance(module, nn.ConvTranspose2d):
        k = module.kernel_size[0] * module.kernel_size[1]
        return inp.numel() * (module.out_channels // module.groups) * k
    if isinstance(module, nn.Linear):
        return out.numel() * module.in_features
    if isinstance(module, (HaarDWT, HaarIDWT)):  # 4 taps per output, one output per input
        return 4 * (inp.numel() if isinstance(module, HaarDWT) else out.numel())
    return 0


COUNTED = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, HaarDWT, HaarIDWT)


def count_macs(model: nn.Module, *inputs: torch.Tensor) -> dict[str, int]:
    """MACs per input item, by top-level child name, for one ``model(*inputs)`` call."""
    totals: dict[str, int] = defaultdict(int)
    hooks = []
    for name, module in model.named_modules():
        if isinstance(module, COUNTED):
            top = name.split(".")[0]

            def hook(m, args, out, top=top):
                totals[top] += _layer_macs(m, args[0], out if torch.is_tensor(out) else out[0])

            hooks.append(module.register_forward_hook(hook))
    _run_hooked(model, inputs, hooks)
    batch = inputs[0].shape[0]
    return {k: v // batch for k, v in totals.items()}


def _run_hooked(model: nn.Module, inputs: tuple, hooks: list) -> None:
    """One no-grad forward pass, then remove the forward hooks it fed."""
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        for h in hooks:
            h.remove()


def count_params(model: nn.Module) -> dict[str, int]:
    """Trainable parameters by top-level child name (children without any are omitted)."""
    out: dict[str, int] = defaultdict(int)
    for name, p in model.named_parameters():
        if p.requires_grad:
            out[name.split(".")[0]] += p.numel()
    return dict(out)


def example_inputs(cfg: ModelConfig, batch: int = 2) -> tuple[torch.Tensor, ...]:
    """Seeded images in [-1, 1] and encoded target/source labels for ``cfg``."""
    g = torch.Generator().manual_seed(0)
    images = torch.rand(batch, 3, cfg.img_size, cfg.img_size, generator=g) * 2 - 1
    labels = (torch.rand(2, batch, cfg.n_attrs, generator=g) > 0.5).float() - 0.5
    return images, labels[0], labels[1]


@dataclass
class Report:
    """Parameter and MAC counts of one variant's G and D, by top-level module."""

    variant: str
    g_params: dict[str, int]
    g_macs: dict[str, int]
    d_params: dict[str, int]
    d_macs: dict[str, int]


def measure(cfg: ModelConfig) -> Report:
    """Build G and D for ``cfg`` (eval mode, CPU) and count their parameters and MACs."""
    torch.manual_seed(0)
    G, D = build_generator(cfg).eval(), build_discriminator(cfg).eval()
    images, target, source = example_inputs(cfg)
    return Report(
        cfg.variant,
        count_params(G),
        count_macs(G, images, target, source),
        count_params(D),
        count_macs(D, images),
    )


def _is_stage(model: nn.Module, name: str) -> bool:
    """Containers are transparent; only composites listed in ``OPENED`` are opened."""
    parts, parent = name.split("."), model
    for part in parts[:-1]:
        parent = (
            getattr(parent, part) if not isinstance(parent, nn.ModuleList) else parent[int(part)]
        )
        if not isinstance(parent, (nn.ModuleList, nn.ModuleDict, *OPENED)):
            return False
    return True


def trace_shapes(model: nn.Module, *inputs: torch.Tensor) -> list[tuple[str, str]]:
    """``(stage name, output shape)`` in call order for one ``model(*inputs)`` call.

    Stages: every module whose ancestors are containers, plus the children of the
    modules in ``OPENED`` (HFCM, CTI).
    """
    rows: list[tuple[str, str]] = []
    hooks = []
    for name, module in model.named_modules():
        if not name or isinstance(module, (nn.ModuleList, nn.ModuleDict)):
            continue
        if _is_stage(model, name):

            def hook(m, args, out, name=name):
                outs = out if isinstance(out, tuple) else (out,)
                rows.append((name, " + ".join(str(tuple(o.shape)) for o in outs)))

            hooks.append(module.register_forward_hook(hook))
    _run_hooked(model, inputs, hooks)
    return rows


def _fmt(n: int) -> str:
    """3 significant-ish digits with a K / M / G suffix; "-" for zero."""
    for unit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if n >= unit:
            return f"{n / unit:.3g} {suffix}" if n < 100 * unit else f"{n / unit:.0f} {suffix}"
    return str(n) if n else "-"


def _table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown pipe table, padded so it also reads well in a terminal."""
    cols = list(zip(header, *rows))
    w = [max(len(c) for c in col) for col in cols]
    line = lambda r: "| " + " | ".join(c.ljust(wi) for c, wi in zip(r, w)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (wi + 2) for wi in w) + "|"
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


def module_table(reports: list[Report], part: str) -> str:
    """Params and MACs per top-level module of G (``part="g"``) or D, two columns per variant."""
    names: list[str] = []
    for r in reports:
        for k in list(getattr(r, f"{part}_params")) + list(getattr(r, f"{part}_macs")):
            if k not in names:
                names.append(k)
    header = ["module"] + [f"{r.variant} {x}" for r in reports for x in ("params", "MACs")]
    rows = []
    for name in [*names, "total"]:
        row = [f"**{name}**" if name == "total" else name]
        for r in reports:
            p, m = getattr(r, f"{part}_params"), getattr(r, f"{part}_macs")
            pv = sum(p.values()) if name == "total" else p.get(name, 0)
            mv = sum(m.values()) if name == "total" else m.get(name, 0)
            row += [_fmt(pv), _fmt(mv)]
        rows.append(row)
    return _table(header, rows)


def comparison_table(reports: list[Report]) -> str:
    """One row per variant: G and D totals (exact parameter counts, MACs per image)."""
    header = ["variant", "G params", "G MACs/image", "D params", "D MACs/image"]
    rows = [
        [
            r.variant,
            f"{sum(r.g_params.values()):,}",
            _fmt(sum(r.g_macs.values())),
            f"{sum(r.d_params.values()):,}",
            _fmt(sum(r.d_macs.values())),
        ]
        for r in reports
    ]
    return _table(header, rows)


def shapes_table(cfg: ModelConfig) -> str:
    """G's output shape at each stage for one image (seeded inputs), as a table."""
    torch.manual_seed(0)
    rows = trace_shapes(build_generator(cfg).eval(), *example_inputs(cfg, batch=1))
    return _table(["module", "output shape"], [list(r) for r in rows])
