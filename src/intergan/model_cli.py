"""``intergan model``: parameters and multiply-accumulates of G and D, per module.

The counting lives in ``intergan.models.summary``; this module reads the command
line and prints its tables.
"""

from __future__ import annotations

import argparse

from intergan.cli_args import MAX_SIDE, MIN_SIDE, int_in
from intergan.config import (
    PRESETS,
    VARIANTS,
    Config,
    ModelConfig,
    apply_overrides,
    model_config,
    validate_model,
)
from intergan.errors import UserError
from intergan.models.summary import comparison_table, measure, module_table, shapes_table


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default="small", choices=PRESETS, help="width family")
    parser.add_argument(
        "--variant", default="intergan", choices=[*VARIANTS, "all"], help="generator variant"
    )
    parser.add_argument(
        "--size", type=int_in(MIN_SIDE, MAX_SIDE), default=None, help="image size (preset default)"
    )
    parser.add_argument("--attrs", default=None, help="attributes: names or a preset name")
    parser.add_argument(
        "--shapes", action="store_true", help="also list G's output shape at each stage"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="model.FIELD=VALUE",
        help="override a model field as `intergan train --set` does, e.g. "
        "--set model.bottleneck=8 --set model.enc_dim=32",
    )


def run(args: argparse.Namespace) -> int:
    variants = list(VARIANTS) if args.variant == "all" else [args.variant]
    cfgs = [with_model_overrides(model_config(args.preset, v, args.size, args.attrs), args.set)
            for v in variants]  # fmt: skip
    reports = [measure(cfg) for cfg in cfgs]
    c = cfgs[0]
    print(
        f"intergan model: preset {c.preset}, {c.img_size} px, {c.n_attrs} attributes; "
        "MACs per input image (G: both streams)\n"
    )
    if len(reports) > 1:
        print(comparison_table(reports) + "\n")
    print("Generator\n\n" + module_table(reports, "g") + "\n")
    print("Discriminator\n\n" + module_table(reports[:1], "d") + "\n")
    if args.shapes:
        for cfg in cfgs:
            print(f"Shapes, {cfg.variant} (batch 1; the decoder runs both streams as 2)\n")
            print(shapes_table(cfg) + "\n")
    return 0


def with_model_overrides(model: ModelConfig, items: list[str]) -> ModelConfig:
    """``model`` with the ``--set model.FIELD=VALUE`` items applied and checked."""
    for item in items:
        if not item.startswith("model."):
            raise UserError(f"--set {item!r}: model fields only here (model.FIELD=VALUE)")
    cfg = Config(model=model)
    apply_overrides(cfg, items)
    validate_model(cfg.model)
    return cfg.model
