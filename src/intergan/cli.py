"""The ``intergan`` command line: a thin dispatcher over subcommand modules.

Each subcommand lives next to the code it drives (``training/cli.py``,
``evaluation/*_cli.py``, ...; the commands over ``models/``, ``export``, ``model``
and ``models``, in ``export_cli.py``, ``model_cli.py`` and ``models_cli.py`` here, since
``models/`` holds no command line) and exposes ``add_arguments(parser)`` and
``run(args) -> int``. Register it in ``COMMANDS``.

What every command shares is done here: ``--threads`` (``hardware.configure_threads``,
before the command runs), an unknown option answered with the usage of the
(sub)command it was given to, and a module's optional ``help_epilog(argv)`` (text
under its ``--help``, computed only when help is asked for).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from intergan import __version__
from intergan.cli_args import int_in
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
    "models": (
        "intergan.models_cli",
        "list the models --model NAME finds (bundled, imports, Hub cache) and their attributes",
    ),
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


# commands that do no PyTorch work of their own: no --threads
NO_THREADS = {"data", "models"}
THREADS_HELP = (
    "CPU threads for PyTorch and ONNX Runtime (default: OMP_NUM_THREADS when set, else "
    "the cores the machine's load leaves free, at least 1)"
)


def add_threads(parser: argparse.ArgumentParser) -> None:
    """``--threads N`` on ``parser``, or on each of its subcommands when it has them
    (so that it goes after the subcommand's name like its other options)."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        parser.add_argument("--threads", type=int_in(1, 1024), metavar="N", help=THREADS_HELP)
    for action in subs:
        for child in dict.fromkeys(action.choices.values()):
            add_threads(child)


def build_parser(
    command: str | None = None, argv: list[str] | None = None
) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module is imported (all of them when None).

    Importing one module per call keeps ``intergan edit`` free of training code
    and start-up fast. ``argv`` (given when help is asked for): the command line a
    module's ``help_epilog(argv)`` may read (``edit --model M --help``).
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
            if name not in NO_THREADS:
                add_threads(p)
            if argv is not None and hasattr(mod, "help_epilog"):
                p.epilog = mod.help_epilog(argv)
                p.formatter_class = argparse.RawDescriptionHelpFormatter
            p.set_defaults(_module=mod)
    return parser


def _deepest(parser: argparse.ArgumentParser, args: argparse.Namespace):
    """The (sub)parser of the (sub)command ``args`` chose."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = action.choices.get(getattr(args, action.dest, None) or "")
            if chosen is not None:
                return _deepest(chosen, args)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    wants_help = any(a in ("-h", "--help") for a in argv)
    parser = build_parser(command if command in COMMANDS else None, argv if wants_help else None)
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # the usage of the (sub)command they were given to, not the top level's
        _deepest(parser, args).error(f"unrecognized arguments: {' '.join(unknown)}")
    args.argv = argv  # for run folders' cmd.txt
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    if "threads" in vars(args):  # imported here: torch is not needed for --help, data
        from intergan.hardware import configure_threads

        configure_threads(args.threads)
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
