"""The ``intergan`` command line: a thin dispatcher over subcommand modules.

Each subcommand lives next to the code it drives (``training/cli.py``,
``evaluation/*_cli.py``, ...; the commands over ``models/``, ``export`` and ``model``,
in ``export_cli.py`` and ``model_cli.py`` here, since ``models/`` holds no command
line) and exposes ``add_arguments(parser)`` and ``run(args) -> int``. Register it in
``COMMANDS``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from intergan import __version__
from intergan.errors import UserError
from intergan.files import os_error_in, os_error_message

# name -> (module path, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "classifier": (
        "intergan.evaluation.classifier_cli",
        "train or test the judge attribute classifier used by evaluation",
    ),
    "evaluate": (
        "intergan.evaluation.evaluate_cli",
        "measure a model: editing accuracy, preservation, PSNR/SSIM, FD, ground truth",
    ),
    "bench": (
        "intergan.bench.cli",
        "benchmarks across training and evaluation: `bench ablation` (the paper's table)",
    ),
    "prepare": ("intergan.data.prepare", "decode a dataset once into a packed training cache"),
    "data": ("intergan.data.check", "dataset tools: `data check DIR` reports splits and bad files"),
    "synth": ("intergan.data.synth_cli", "write a SynthFaces dataset (CelebA layout) and preview"),
    "faces": (
        "intergan.faces_cli",
        "face tools: `faces align PHOTOS --out DIR` turns photos into aligned training data",
    ),
    "model": ("intergan.model_cli", "parameters and multiply-accumulates of G and D"),
    "train": ("intergan.training.cli", "train a model (or resume a run); see docs/training.md"),
    "edit": (
        "intergan.editing.cli",
        "edit the faces in photos: --set ATTR=VALUE, --all or --slide",
    ),
    "export": ("intergan.export_cli", "export a run as safetensors + config.json (and ONNX)"),
    "import": (
        "intergan.import_cli",
        "import another project's weights (attgan-pytorch RUN) as an exported folder",
    ),
    "demo": (
        "intergan.app.demo",
        "edit SynthFaces with the bundled model into an HTML report; --serve: web editor",
    ),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module is imported (all of them when None).

    Importing one module per call keeps ``intergan edit`` free of training code
    and start-up fast.
    """
    parser = argparse.ArgumentParser(
        prog="intergan", description="InterGAN facial attribute editing."
    )
    parser.add_argument("--version", action="version", version=f"intergan {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if command in (None, name):
            mod = importlib.import_module(module)
            mod.add_arguments(p)
            p.set_defaults(_module=mod)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    args.argv = argv  # for run folders' cmd.txt
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(args._module.run(args) or 0)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # an I/O fault no command caught: the same one line, exit 2
        err = os_error_in(e)
        if err is None:
            raise  # anything else is a bug: keep its traceback
        print(f"error: {os_error_message(err)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
