"""Generator backends for the editor: PyTorch (float32 or bfloat16) or ONNX Runtime.

A backend runs the generator in two steps so that an editing session can reuse
the first one: ``encode(images)`` turns crops ``(B, 3, S, S)`` in [-1, 1] into an
opaque *code* (nothing in it depends on the target attributes), and
``decode(code, target, source)`` gives the edited crops ``(B, 3, S, S)`` as CPU
float32 in [-1, 1] for encoded ``target`` / ``source`` labels ``(B, n_attrs)``.
``__call__(images, target, source) -> (edited, reconstructed)`` runs the whole
generator at once. ``generate`` is the editor's generate step (many targets for
the same crops, in batches); ``load_backend`` reads a model for ``Editor.from_pretrained``.

``choose_backend`` is the rule behind ``backend="auto"`` (measured in
``docs/benchmarks.md``, "Editing latency"): bfloat16 PyTorch where the CPU computes
bf16 natively (AMX, AVX-512-BF16); on other CPUs ONNX Runtime when the model folder
holds ``generator.onnx`` (``intergan export --onnx``) and onnxruntime is installed,
else float32 PyTorch; float32 PyTorch on GPUs. On the CPU the PyTorch backends
prepare a generator that offers it (``prepare_inference``: AttGAN-PyTorch imports)
for inference: 2.8-3.9x faster edits at 128 px (docs/benchmarks.md, "AttGAN-PyTorch
imports").
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import torch

from intergan.errors import UserError
from intergan.hardware import cpu_bf16, ort_session_options
from intergan.models.io import ONNX_EDIT_FILE, ONNX_ENCODE_FILE, ONNX_FILE

if TYPE_CHECKING:
    from intergan.config import Config

BACKENDS = ("auto", "torch", "torch-bf16", "onnx")

Code = torch.Tensor | list[torch.Tensor]  # what encode gives and decode takes


class Backend(Protocol):
    """What the editor needs of a generator backend (see the module docstring)."""

    name: str
    device: torch.device

    def encode(self, images: torch.Tensor) -> Code: ...

    def decode(self, code: Code, target: torch.Tensor, source: torch.Tensor) -> torch.Tensor: ...


def repeat_code(code: Code, k: int) -> Code:
    """The code of a batch repeated ``k`` times along the batch (as ``Tensor.repeat``)."""
    if isinstance(code, torch.Tensor):
        return code.repeat(k, *([1] * (code.dim() - 1)))
    return [repeat_code(c, k) for c in code]


def slice_code(code: Code, start: int, stop: int) -> Code:
    """Rows ``start:stop`` of a code."""
    if isinstance(code, torch.Tensor):
        return code[start:stop]
    return [c[start:stop] for c in code]


def generate(
    backend: Backend,
    code: Code,
    targets: list[torch.Tensor],
    source: torch.Tensor,
    batch_size: int,
) -> torch.Tensor:
    """Edited crops (K, F, 3, S, S) in [-1, 1] for K encoded targets (F, n) each.

    ``code``: ``backend.encode`` of the F crops; ``source``: their encoded source
    labels (F, n). The K * F edits are decoded ``batch_size`` at a time.
    """
    k, f = len(targets), source.shape[0]
    code = repeat_code(code, k) if k > 1 else code
    target, source = torch.cat(targets), source.repeat(k, 1)
    step = batch_size
    outs = [
        backend.decode(slice_code(code, i, i + step), target[i : i + step], source[i : i + step])
        for i in range(0, k * f, step)
    ]
    out = torch.cat(outs)
    return out.reshape(k, f, *out.shape[1:])


class TorchBackend:
    """A generator ``nn.Module`` on ``device`` (eval mode, no autograd).

    precision: ``"float32"``, or ``"bf16"``: the module's weights are converted to
    bfloat16 and channels-last in place (like ``Module.to``) and the crops follow;
    outputs come back as float32. Fast on CPUs with AMX / AVX-512-BF16 and on GPUs,
    emulated (slow but correct) on other CPUs.

    On the CPU, a generator with a ``prepare_inference(dtype)`` method (an
    AttGAN-PyTorch import) is prepared by it instead, in place: batch norms folded,
    oneDNN weights prepacked, activations fused (``.prepared`` says what was done);
    its crops go in channels-last in both precisions. ``prepare=False`` keeps the
    module as it is (the benchmark's baseline).
    """

    why = ""  # why this backend was chosen (``load_backend``)

    def __init__(
        self,
        generator: torch.nn.Module,
        device: str | torch.device = "cpu",
        precision: str = "float32",
        prepare: bool = True,
    ) -> None:
        if precision not in ("float32", "bf16"):
            raise UserError(f"unknown precision {precision!r}; choose 'float32' or 'bf16'")
        self.device = torch.device(device)
        self.precision = precision
        self.dtype = torch.bfloat16 if precision == "bf16" else torch.float32
        self.memory_format = torch.channels_last if precision == "bf16" else torch.contiguous_format
        self.generator = generator.to(self.device).eval()
        self.prepared = ""  # what inference-time preparation did, if any
        prepare_fn = getattr(self.generator, "prepare_inference", None) if prepare else None
        if prepare_fn is not None and self.device.type == "cpu":
            self.prepared = prepare_fn(self.dtype)
            self.memory_format = torch.channels_last
        elif precision == "bf16":
            self.generator.to(dtype=self.dtype, memory_format=self.memory_format)
        self.name = "torch-bf16" if precision == "bf16" else "torch"

    def _in(self, images: torch.Tensor) -> torch.Tensor:
        return images.to(self.device, self.dtype).contiguous(memory_format=self.memory_format)

    @torch.inference_mode()
    def encode(self, images: torch.Tensor) -> Code:
        return self.generator.encode(self._in(images))

    @torch.inference_mode()
    def decode(self, code: Code, target: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        d, t = self.device, self.dtype
        out = self.generator.edit_from_code(code, target.to(d, t), source.to(d, t))
        return out.float().cpu()

    @torch.inference_mode()
    def __call__(
        self, images: torch.Tensor, target: torch.Tensor, source: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        d, t = self.device, self.dtype
        out = self.generator(self._in(images), target.to(d, t), source.to(d, t))
        return out.edited.float().cpu(), out.reconstructed.float().cpu()


class OnnxBackend:
    """An exported ``generator.onnx`` run by ONNX Runtime on the CPU.

    Where the export also holds the generator's halves (``generator_encode.onnx``,
    ``generator_edit.onnx``: ``intergan export --onnx`` writes them since 2026-12-06),
    ``encode`` runs the encoder once and ``decode`` only the editing half, as the
    PyTorch backends do; the whole graph is loaded only when ``__call__`` needs the
    reconstructions. An older export has the whole graph alone: its code is then the
    crops themselves and every ``decode`` runs the encoder again.
    """

    name = "onnx"
    why = ""  # why this backend was chosen (``load_backend``)

    def __init__(self, path: str | os.PathLike, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise UserError(
                "backend='onnx' needs ONNX Runtime: pip install 'intergan[onnx]'"
            ) from None
        path = Path(path)
        if path.is_dir():
            path = path / ONNX_FILE
        elif path.name in (ONNX_ENCODE_FILE, ONNX_EDIT_FILE):  # a half names its export
            path = path.parent / ONNX_FILE
        if not path.is_file():
            raise UserError(
                f"no ONNX generator at {path}; write one with `intergan export RUN --onnx`"
            )
        self._ort, self._opts, self._path = ort, ort_session_options(threads), path
        self._whole = None
        halves = path.parent / ONNX_ENCODE_FILE, path.parent / ONNX_EDIT_FILE
        self.split = all(h.is_file() for h in halves)
        if self.split:
            self._encoder, self._editor = (self._session(h) for h in halves)
        else:
            self.session  # noqa: B018 - a damaged file fails now, not at the first edit
        self.device = torch.device("cpu")

    def _session(self, path: Path):
        try:
            return self._ort.InferenceSession(
                str(path), self._opts, providers=["CPUExecutionProvider"]
            )
        except Exception as e:  # noqa: BLE001 - ONNX Runtime's errors share no base class
            first = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
            raise UserError(
                f"{path} is not a readable ONNX model ({first}); export the run again "
                "with `intergan export RUN --onnx --overwrite`"
            ) from None

    @property
    def session(self):
        """The whole generator's session (loaded on first use)."""
        if self._whole is None:
            self._whole = self._session(self._path)
        return self._whole

    def encode(self, images: torch.Tensor) -> Code:
        if not self.split:
            return images.detach().to("cpu", torch.float32)
        parts = self._encoder.run(None, {"images": _np32(images)})
        code = [torch.from_numpy(a) for a in parts]
        return code[0] if len(code) == 1 else code

    def decode(self, code: Code, target: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        if not self.split:
            return self(code, target, source)[0]
        parts = [code] if isinstance(code, torch.Tensor) else code
        feeds = {f"code{i}": _np32(c) for i, c in enumerate(parts)}
        feeds |= {"target": _np32(target), "source": _np32(source)}
        return torch.from_numpy(self._editor.run(["edited"], feeds)[0])

    def __call__(
        self, images: torch.Tensor, target: torch.Tensor, source: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        feeds = {"images": _np32(images), "target": _np32(target), "source": _np32(source)}
        edited, reconstructed = self.session.run(["edited", "reconstructed"], feeds)
        return torch.from_numpy(edited), torch.from_numpy(reconstructed)


def _np32(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu", torch.float32).contiguous().numpy()


def choose_backend(
    backend: str, device: torch.device, path: str | os.PathLike | None = None
) -> tuple[str, str]:
    """``backend`` (one of ``BACKENDS``) -> ``(name, why)`` with ``auto`` resolved.

    ``auto``: ``torch-bf16`` on a CPU with native bfloat16 kernels
    (``intergan.hardware.cpu_bf16``); on other CPUs ``onnx`` when the model at
    ``path`` has a ``generator.onnx`` and onnxruntime imports, else ``torch``
    (float32). On a 2-core AMD EPYC without AVX-512 ONNX Runtime beat float32 PyTorch
    on every editing scenario, the slider move included even when it still reran the
    encoder (39 vs 50 ms at 64 px); on the AMX Xeon bf16 PyTorch beat it 2-4x.
    """
    if backend not in BACKENDS:
        raise UserError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend != "auto":
        return backend, "asked for"
    if device.type != "cpu":
        return "torch", f"auto: float32 PyTorch on {device.type}"
    fast, why = cpu_bf16()
    if fast:
        return "torch-bf16", f"auto: bfloat16 PyTorch ({why})"
    if path is not None and _onnx_beside(Path(path)):
        return "onnx", f"auto: ONNX Runtime, the exported ONNX generator ({why})"
    return "torch", f"auto: float32 PyTorch ({why})"


def _onnx_beside(path: Path) -> bool:
    """Whether ``path`` (an exported folder) holds ``generator.onnx`` that can be run."""
    if not (path.is_dir() and (path / ONNX_FILE).is_file()):
        return False
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def load_backend(
    path: str | os.PathLike, device: torch.device, backend: str = "auto"
) -> tuple[Backend, Config]:
    """The generator at ``path`` (an exported folder, ``generator.onnx`` for
    ``backend="onnx"``, or a training run / checkpoint) as a backend on ``device``,
    with its config; ``backend`` as ``choose_backend`` takes it (``.why`` says why)."""
    from intergan.models.io import load_export_config

    name, why = choose_backend(backend, device, path)
    be: TorchBackend | OnnxBackend
    if name == "onnx":
        be, cfg = OnnxBackend(path), load_export_config(path)
    else:
        from intergan.models.io import load_generator

        G, cfg = load_generator(path, device=device)
        be = TorchBackend(G, device, "bf16" if name == "torch-bf16" else "float32")
    be.why = why
    return be, cfg
