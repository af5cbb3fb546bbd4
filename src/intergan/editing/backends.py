"""Generator backends for the editor: PyTorch eager or ONNX Runtime.

Both take ``images (B, 3, S, S)`` float in [-1, 1] and encoded ``target`` /
``source`` ``(B, n_attrs)`` and return ``(edited, reconstructed)`` as CPU float
tensors in [-1, 1].
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from intergan.errors import UserError

ONNX_FILE = "generator.onnx"


class TorchBackend:
    """A generator ``nn.Module`` on ``device`` (eval mode, no autograd)."""

    name = "torch"

    def __init__(self, generator: torch.nn.Module, device: str | torch.device = "cpu"):
        self.device = torch.device(device)
        self.generator = generator.to(self.device).eval()

    @torch.inference_mode()
    def __call__(
        self, images: torch.Tensor, target: torch.Tensor, source: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        d = self.device
        out = self.generator(images.to(d), target.to(d), source.to(d))
        return out.edited.float().cpu(), out.reconstructed.float().cpu()


class OnnxBackend:
    """An exported ``generator.onnx`` run by ONNX Runtime on the CPU."""

    name = "onnx"

    def __init__(self, path: str | os.PathLike, threads: int | None = None):
        try:
            import onnxruntime as ort
        except ImportError:
            raise UserError(
                "backend='onnx' needs ONNX Runtime: pip install 'intergan[onnx]'"
            ) from None
        path = Path(path)
        if path.is_dir():
            path = path / ONNX_FILE
        if not path.is_file():
            raise UserError(
                f"no ONNX generator at {path}; write one with `intergan export RUN --onnx`"
            )
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        if threads:
            opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.device = torch.device("cpu")

    def __call__(
        self, images: torch.Tensor, target: torch.Tensor, source: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        def np32(t: torch.Tensor) -> np.ndarray:
            return t.detach().to("cpu", torch.float32).contiguous().numpy()

        feeds = {"images": np32(images), "target": np32(target), "source": np32(source)}
        edited, reconstructed = self.session.run(["edited", "reconstructed"], feeds)
        return torch.from_numpy(edited), torch.from_numpy(reconstructed)
