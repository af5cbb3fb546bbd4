"""What this machine computes on and how fast: ``--device``, and whether bf16 is native.

``pick_device`` is the one meaning of ``--device auto`` for every command (train,
edit, evaluate, classifier, demo): CUDA when present, else MPS, else the CPU.

On a CPU with AMX tiles or AVX-512-BF16 (Intel Xeon since Sapphire Rapids / Cooper
Lake, AMD Zen 4+), oneDNN runs bfloat16 convolutions and matmuls several times
faster than float32. Measured (docs/benchmarks.md), 3x3 conv forward, bf16 over
float32: 9x on the AMX Xeon, 4x on an AMD EPYC (Zen 4) with AVX-512-BF16 and no
AMX; the small-64 training step 2.6x and 1.7x. Elsewhere bf16 on the CPU is emulated
and slower (8.6x slower training on an AVX2-only EPYC), so ``--amp auto``
(``intergan.precision``) keeps float32 there. The detection asks torch's own CPUID probes
(``torch.cpu._is_amx_tile_supported``, ``_is_avx512_bf16_supported``), or
``/proc/cpuinfo`` where torch has none. CUDA keeps its own default (float32 with
TF32; bf16/fp16 only when asked), as measured on the H100 (docs/benchmarks.md).

``INTERGAN_CPU_BF16=0`` or ``=1`` overrides the detection (tests, odd machines).

``configure_threads`` is the one meaning of ``--threads`` (every command that computes
on the CPU; ``intergan.cli`` applies it before the command runs): PyTorch's intra-op
threads, and ONNX Runtime's for the sessions that do not name their own.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import torch

from intergan.errors import UserError

ENV_OVERRIDE = "INTERGAN_CPU_BF16"


def _cpuinfo_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def _torch_probe(name: str) -> bool | None:
    """``torch.cpu.<name>()`` (torch's own CPUID probe), or None where torch lacks it."""
    probe = getattr(torch.cpu, name, None)
    return bool(probe()) if callable(probe) else None


@functools.cache
def _detected_cpu_bf16() -> tuple[bool, str]:
    amx, avx = _torch_probe("_is_amx_tile_supported"), _torch_probe("_is_avx512_bf16_supported")
    if amx is None or avx is None:  # a torch without the probes: the kernel's flags (Linux)
        flags = _cpuinfo_flags()
        amx, avx = "amx_bf16" in flags, "avx512_bf16" in flags
    if not torch.backends.mkldnn.is_available():
        return False, "this torch build has no oneDNN (mkldnn)"
    if amx:
        return True, "AMX bf16 tiles"
    if avx:
        return True, "AVX-512-BF16"
    return False, "no AMX or AVX-512-BF16 on this CPU"


def cpu_bf16() -> tuple[bool, str]:
    """``(fast, why)``: whether bfloat16 runs natively fast on this CPU, and the reason."""
    override = os.environ.get(ENV_OVERRIDE)
    if override in ("0", "1"):
        return override == "1", f"{ENV_OVERRIDE}={override}"
    return _detected_cpu_bf16()


def pick_device(spec: str | torch.device | None = "auto", local_rank: int = 0) -> torch.device:
    """``--device`` value -> an available ``torch.device``, or a ``UserError`` naming it.

    ``auto`` (or None / ""): CUDA if present (GPU ``local_rank``: torchrun's process
    index on its machine), else MPS, else the CPU. An explicit ``cpu``, ``cuda``,
    ``cuda:N`` or ``mps`` is checked for availability; ``cuda`` means ``local_rank``.
    """
    if isinstance(spec, torch.device):
        spec = str(spec)
    if spec in (None, "", "auto"):
        if torch.cuda.is_available():
            spec = "cuda"
        elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            spec = "mps"
        else:
            spec = "cpu"
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise UserError(
            f"--device {spec!r} is not a device; use auto, cpu, cuda, cuda:N or mps"
        ) from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(f"--device {spec}: CUDA is not available here; use --device cpu")
        index = local_rank if device.index is None else device.index
        if index >= torch.cuda.device_count():
            raise UserError(
                f"--device {spec}: only {torch.cuda.device_count()} CUDA device(s) visible"
            )
        return torch.device("cuda", index)
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise UserError(f"--device {spec}: MPS is not available here; use --device cpu")
    if device.type not in ("cpu", "cuda", "mps"):
        raise UserError(f"--device {spec}: unsupported device type {device.type!r}")
    return device


_threads: int | None = None  # what configure_threads chose; ONNX sessions follow it


def default_threads() -> tuple[int, str]:
    """PyTorch's CPU thread count when ``--threads`` is not given, and why.

    ``OMP_NUM_THREADS`` set: what torch took from it (torchrun sets it to 1 per
    process). Otherwise the cores nobody else is using: the CPUs this process may run
    on, less the 1-minute load average (other processes' runnable threads), rounded, at
    least 1 and at most the physical cores (torch's own default); under torchrun split
    between the machine's processes. On a busy machine OpenMP threads that wait for a
    descheduled peer are many times slower than one thread (docs/benchmarks.md,
    "Threads").
    """
    if os.environ.get("OMP_NUM_THREADS", "").strip():
        return torch.get_num_threads(), "OMP_NUM_THREADS"
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = max(1, (cpus or 1) // _threads_per_core())  # as torch's default: no SMT twins
    try:
        load = os.getloadavg()[0]
    except OSError:  # not on this platform
        load = 0.0
    per_machine = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    free = max(1, min(cores, round((cpus or 1) - load)))
    n = max(1, free // per_machine)
    return n, f"{cores} cores, load {load:.1f}" + (
        f", {per_machine} processes" if per_machine > 1 else ""
    )


def _threads_per_core() -> int:
    """Hardware threads per physical core (``siblings / cpu cores`` in /proc/cpuinfo; 1
    where it cannot be told)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return 1
    pairs = (line.split(":", 1) for line in text.split("\n\n")[0].splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in pairs}  # the first processor's block
    try:
        return max(1, int(fields["siblings"]) // int(fields["cpu cores"]))
    except (KeyError, ValueError, ZeroDivisionError):
        return 1


def configure_threads(threads: int | None = None) -> tuple[int, str]:
    """Set PyTorch's intra-op threads to ``threads`` (``--threads N``) or
    :func:`default_threads`; returns the count and why. ONNX Runtime sessions
    created after this without their own count use it too."""
    global _threads
    n, why = (threads, "--threads") if threads else default_threads()
    torch.set_num_threads(n)
    _threads = n
    return n, why


def ort_session_options(threads: int | None = None):
    """``onnxruntime.SessionOptions`` for every ONNX session here (face detector, ONNX
    generator): quiet logs, ``threads`` intra-op threads (default: the ``--threads``
    choice, :func:`configure_threads`, when made), and **no spin-waiting**.

    By default ONNX Runtime's worker threads keep spinning on the cores for a while
    after each run, to start the next one sooner; in this pipeline the next work is
    PyTorch (the generator after face detection), numpy (the paste-back) or the
    other backend, which then gets a fraction of the cores. Measured on a 2-core AMD
    EPYC (docs/benchmarks.md, "Editing latency"): a PyTorch slider move took 117 ms
    with ONNX sessions spinning beside it and 59 ms alone.
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    threads = threads or _threads
    if threads:
        opts.intra_op_num_threads = threads
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return opts
