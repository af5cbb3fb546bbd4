"""The ONNX graphs of an exported folder (``intergan export --onnx``), and the progress
lines of an export's long stages (:func:`stage`).

    OUT/generator.onnx          # images, target, source -> edited, reconstructed
    OUT/generator_encode.onnx   # images -> code0[, code1, ...] (the encoder)
    OUT/generator_edit.onnx     # code0[, ...], target, source -> edited

``intergan.models.export`` calls :func:`export_onnx` after the weights are written.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import torch

from intergan.config import Config
from intergan.errors import UserError
from intergan.files import atomic_write
from intergan.models.io import ONNX_EDIT_FILE, ONNX_ENCODE_FILE

ONNX_OPSET = 18  # [chosen] the torch.export exporter's native opset; ONNX Runtime >= 1.14 runs it
# The opsets --opset accepts. Below 18 the exporter converts its graph after export and,
# where that fails, silently keeps 18 (torch 2.14.1 wrote 18 for 7, 12 and 999); 23 is
# the newest torch 2.14 declares (torch.onnx._constants.ONNX_MAX_OPSET); ONNX Runtime 1.32
# ran the editor on opsets 20 and 23 (2026-12-08).
ONNX_OPSETS = (18, 23)


def check_opset(opset: int) -> None:
    """Refuse an ONNX opset outside ``ONNX_OPSETS`` before any work."""
    lo, hi = ONNX_OPSETS
    if isinstance(opset, bool) or not isinstance(opset, int) or not lo <= opset <= hi:
        raise UserError(f"--opset {opset!r} is not supported: use an opset from {lo} to {hi}")


class _OnnxGenerator(torch.nn.Module):
    """The generator with a flat signature: (images, target, source) -> (edited, reconstructed)."""

    def __init__(self, G: torch.nn.Module):
        super().__init__()
        self.G = G

    def forward(self, images, target, source):
        out = self.G(images, target, source)
        return out.edited, out.reconstructed


def _code_parts(code) -> tuple[torch.Tensor, ...]:
    """``G.encode``'s code as a flat tuple (InterGAN: one tensor; AttGAN: its skips)."""
    return (code,) if isinstance(code, torch.Tensor) else tuple(code)


class _OnnxEncoder(torch.nn.Module):
    """images -> the code's tensors (``G.encode``)."""

    def __init__(self, G: torch.nn.Module):
        super().__init__()
        self.G = G

    def forward(self, images):
        return _code_parts(self.G.encode(images))


class _OnnxEdit(torch.nn.Module):
    """(code tensors..., target, source) -> edited (``G.edit_from_code``)."""

    def __init__(self, G: torch.nn.Module, as_list: bool):
        super().__init__()
        self.G, self.as_list = G, as_list  # as_list: G's code is a list (AttGAN)

    def forward(self, *args):
        parts, target, source = args[:-2], args[-2], args[-1]
        code = list(parts) if self.as_list else parts[0]
        return self.G.edit_from_code(code, target, source)


@contextlib.contextmanager
def stage(log: Callable[[str], None] | None, what: str) -> Iterator[None]:
    """Report a long stage of an export through ``log`` (a line when it starts, one with
    its time when it ends); nothing when ``log`` is None."""
    if log is None:
        yield
        return
    t0 = time.perf_counter()
    log(f"{what} ...")
    yield
    log(f"{what}: done in {time.perf_counter() - t0:.1f} s")


def export_onnx(
    G: torch.nn.Module,
    cfg: Config,
    path: str | os.PathLike,
    opset: int = ONNX_OPSET,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Write the ONNX generator ``path`` and its two halves beside it, each with a
    dynamic batch dimension.

    ``path`` (``generator.onnx``): inputs ``images`` (B, 3, S, S) float in [-1, 1],
    ``target`` and ``source`` (B, n_attrs) encoded labels; outputs ``edited`` and
    ``reconstructed`` (B, 3, S, S). ``generator_encode.onnx``: ``images`` -> ``code0``
    (and ``code1``, ... for AttGAN's skips); ``generator_edit.onnx``: the code's
    tensors, ``target``, ``source`` -> ``edited``, so an editor encodes a photo once
    and runs only the editing half per slider move. The halves are written last (old
    ones removed first), so an export that fails midway never pairs a new graph with
    an old half: the backend then runs the whole graph. Uses the ``torch.export`` based
    exporter (needs ``onnxscript``, in the ``onnx`` extra): the TorchScript tracer
    bakes the example batch size into the graph's slices, so its output is wrong at
    other batch sizes. ``log``: where each graph's progress goes (see :func:`stage`).
    """
    check_opset(opset)
    try:
        import onnxscript  # noqa: F401 - required by torch.onnx.export(dynamo=True)
    except ImportError:
        raise UserError(
            "ONNX export needs onnx and onnxscript: pip install 'intergan[onnx]'"
        ) from None
    G = G.cpu().eval()
    s, n = cfg.model.img_size, cfg.model.n_attrs
    images, target, source = torch.rand(2, 3, s, s) * 2 - 1, torch.zeros(2, n), torch.zeros(2, n)
    with torch.no_grad():
        raw = G.encode(images)
    code = _code_parts(raw)
    codes = [f"code{i}" for i in range(len(code))]
    batch = torch.export.Dim("batch", min=1, max=4096)
    folder, as_list = Path(path).parent, not isinstance(raw, torch.Tensor)
    graphs = [  # (module, example inputs, input names, output names, file)
        (_OnnxGenerator(G), (images, target, source), ["images", "target", "source"],
         ["edited", "reconstructed"], Path(path)),
        (_OnnxEncoder(G), (images,), ["images"], codes, folder / ONNX_ENCODE_FILE),
        (_OnnxEdit(G, as_list), (*code, target, source), [*codes, "target", "source"],
         ["edited"], folder / ONNX_EDIT_FILE),
    ]  # fmt: skip
    for *_, file in graphs[1:]:  # old halves would pair with a new whole graph
        file.unlink(missing_ok=True)
    for module, example, names_in, names_out, file in graphs:
        shapes = tuple({0: batch} for _ in example)  # one per forward parameter
        if isinstance(module, _OnnxEdit):
            shapes = (shapes,)  # its one parameter is *args

        def write(tmp: Path, module=module, example=example, names_in=names_in,
                  names_out=names_out, shapes=shapes):  # fmt: skip
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter("ignore")  # the exporter's progress notes
                torch.onnx.export(
                    module,
                    example,
                    str(tmp),
                    dynamo=True,
                    external_data=False,
                    input_names=names_in,
                    output_names=names_out,
                    dynamic_shapes=shapes,
                    opset_version=opset,
                )
            _check_opset_written(tmp, opset)

        with stage(log, f"writing {file.name}"):
            atomic_write(file, by_path=write)
    return Path(path)


def _check_opset_written(path: Path, opset: int) -> None:
    """The exporter falls back to its own opset where converting fails: refuse that."""
    import onnx

    got = sorted(
        {o.version for o in onnx.load(str(path)).opset_import if o.domain in ("", "ai.onnx")}
    )
    if got != [opset]:
        raise UserError(
            f"the ONNX exporter wrote opset {got} instead of --opset {opset}; "
            f"use --opset {ONNX_OPSET}"
        )
