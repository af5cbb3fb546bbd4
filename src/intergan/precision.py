"""Precision and memory layout of a training run: decided once, applied by one helper.

``resolve`` turns ``--amp`` and ``--channels-last`` (each possibly ``auto``) into
what the run uses, once, where the run is planned; the resolved values are saved
with the run. ``Precision`` is the one helper that applies them: the autocast
region of the forward passes (on the CPU as on CUDA: bf16 autocast is what makes
CPUs with AMX / AVX-512-BF16 fast), float32 for the gradient penalty, the layout of
modules and batches, and the fp16 gradient scalers.

``auto``: bf16 on a CPU with native bf16 kernels (``hardware.cpu_bf16``), float32
elsewhere (CUDA keeps float32 + TF32, as measured on the H100: docs/benchmarks.md);
channels-last on with bf16 on a CPU, where it is oneDNN's native layout.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TypeVar

import torch

from intergan.hardware import cpu_bf16

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}  # "none": float32, no autocast
WORDS = {"none": "float32", "bf16": "bfloat16 autocast", "fp16": "float16 autocast"}
T = TypeVar("T", torch.Tensor, torch.nn.Module)


def resolve_amp(spec: str, device: torch.device) -> tuple[str, str]:
    """``--amp`` value -> ``(mode, why)`` with mode in ``none | bf16 | fp16``.

    ``auto``: bf16 on a CPU with native bf16 kernels, float32 (``none``) on other
    CPUs, on CUDA and on MPS. Explicit modes pass through (validated elsewhere).
    """
    if spec != "auto":
        return spec, "asked for"
    if device.type == "cpu":
        fast, why = cpu_bf16()
        return ("bf16" if fast else "none"), why
    return "none", f"auto keeps float32 on {device.type}"


def resolve(amp: str, channels_last: bool | None, device: torch.device) -> tuple[str, bool, str]:
    """``(amp, channels_last, why)`` as the run uses them: ``amp`` never ``auto``,
    ``channels_last`` (``None``: auto) on for bf16 on a CPU; ``why`` for the log."""
    mode, why = resolve_amp(amp, device)
    if channels_last is None:
        channels_last = mode == "bf16" and device.type == "cpu"
    return mode, bool(channels_last), f"--amp {amp}: {why}"


@dataclass(frozen=True)
class Precision:
    """Applies a resolved precision and layout (``amp`` in ``none | bf16 | fp16``)."""

    amp: str
    channels_last: bool
    device: torch.device

    def autocast(self) -> contextlib.AbstractContextManager:
        """The region the forward passes run in: autocast to ``amp``'s dtype, or nothing."""
        if self.amp not in DTYPES:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=DTYPES[self.amp])

    def float32(self) -> contextlib.AbstractContextManager:
        """A float32 region inside ``autocast`` (the gradient penalty: its squared
        gradient norm is fragile in half precision)."""
        if self.amp not in DTYPES:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, enabled=False)

    def layout(self, x: T) -> T:
        """A module or ``(B, C, H, W)`` batch in the run's memory layout."""
        if not self.channels_last:
            return x
        if isinstance(x, torch.nn.Module):
            return x.to(memory_format=torch.channels_last)
        return x.contiguous(memory_format=torch.channels_last)

    def scaler(self) -> torch.amp.GradScaler:
        """A gradient scaler, on for fp16 only (bf16 has float32's exponent range)."""
        return torch.amp.GradScaler(self.device.type, enabled=self.amp == "fp16")

    def describe(self) -> str:
        return f"{WORDS[self.amp]}, {'channels-last' if self.channels_last else 'NCHW'}"
