"""The judge network: a small ResNet multi-label attribute classifier, and its files.

The judge decides whether an edit reached its target (docs/design.md section 5) and
supplies the feature space of the offline Frechet distance. It is trained on real
images only (``intergan.evaluation.judge.train_judge``) and is never the GAN
discriminator's head, so the generator has never been optimised against it.

Saved as a folder with ``judge.safetensors`` (weights) and ``judge.json``
(``attrs``, ``img_size``, ``arch``, and how it was trained). This module builds,
saves and loads it; evaluation and the editor use it through :func:`load_judge`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from intergan.attributes import resolve_attrs
from intergan.config import check_types
from intergan.errors import UserError
from intergan.files import (
    atomic_write,
    guard,
    load_safetensors,
    read_json_object,
    state_dict_error,
    write_json,
)
from intergan.models.pretrained import BUNDLED, resolve_judge

WEIGHTS_FILE = "judge.safetensors"
META_FILE = "judge.json"
JUDGE_VERSION = 1


@dataclass
class JudgeArch:
    """Shape of the judge network; stored in judge.json as ``arch``."""

    name: str = "resnet"  # the only kind so far: stem + one BasicBlock per stage
    width: int = 16  # channels of the stem; each stage doubles them, up to 8 * width
    min_side: int = 4  # stages halve the map until it is this many pixels wide


class BasicBlock(nn.Module):
    """ResNet basic block: two 3x3 convs with BN, a projection shortcut when shapes change."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class JudgeNet(nn.Module):
    """images (B, 3, S, S) in [-1, 1] -> (features (B, d), logits (B, n_attrs))."""

    def __init__(self, n_attrs: int, img_size: int, arch: JudgeArch) -> None:
        super().__init__()
        w = arch.width
        self.stem = nn.Sequential(
            nn.Conv2d(3, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU()
        )
        blocks, c, side = [], w, img_size
        while side > arch.min_side:
            c_out = min(2 * c, 8 * w)
            blocks.append(BasicBlock(c, c_out, stride=2))
            c, side = c_out, side // 2
        self.blocks = nn.Sequential(*blocks)
        self.feature_dim = c
        self.head = nn.Linear(c, n_attrs)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.blocks(self.stem(x)).mean(dim=(2, 3))  # (B, d) global average pool
        return f, self.head(f)


class Judge:
    """A trained judge: ``predict``, ``features``, ``attrs``, ``img_size``."""

    def __init__(
        self,
        net: JudgeNet,
        attrs: Sequence[str],
        img_size: int,
        arch: JudgeArch,
        info: dict[str, Any] | None = None,
    ) -> None:
        self.net = net.eval()
        self.attrs = list(attrs)
        self.img_size = img_size
        self.arch = arch
        self.info = dict(info or {})  # training record: data, steps, seed, accuracy

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    def to(self, device: str | torch.device) -> Judge:
        self.net.to(device)
        return self

    def _check(self, images: torch.Tensor) -> torch.Tensor:
        s = self.img_size
        if images.dim() != 4 or tuple(images.shape[1:]) != (3, s, s):
            raise ValueError(f"judge expects images (B, 3, {s}, {s}), got {tuple(images.shape)}")
        return images.to(self.device, torch.float32)

    @torch.no_grad()
    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """images (B, 3, S, S) in [-1, 1] -> logits (B, n_attrs)."""
        self.net.eval()
        return self.net(self._check(images))[1]

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        """images (B, 3, S, S) in [-1, 1] -> attribute probabilities (B, n_attrs)."""
        return torch.sigmoid(self.logits(images))

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> torch.Tensor:
        """images (B, 3, S, S) in [-1, 1] -> pooled features (B, d) for the Frechet distance."""
        self.net.eval()
        return self.net(self._check(images))[0]

    def save(self, out: str | os.PathLike) -> Path:
        """Write ``judge.safetensors`` and ``judge.json`` into folder ``out``."""
        from safetensors.torch import save

        out = Path(out)
        with guard(out, "create the folder"):
            out.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in self.net.state_dict().items()}
        atomic_write(out / WEIGHTS_FILE, save(state))
        meta = {
            "version": JUDGE_VERSION,
            "attrs": self.attrs,
            "img_size": self.img_size,
            "arch": asdict(self.arch),
            **self.info,
        }
        write_json(out / META_FILE, meta)
        return out


def build_judge(attrs: Sequence[str], img_size: int, arch: JudgeArch | None = None) -> Judge:
    """An untrained judge for ``attrs`` at ``img_size`` px."""
    arch = arch or JudgeArch()
    if arch.name != "resnet":
        raise UserError(f"judge arch {arch.name!r} is unknown; the only one is 'resnet'")
    return Judge(JudgeNet(len(attrs), img_size, arch), attrs, img_size, arch)


def load_judge(path: str | os.PathLike, device: str | torch.device = "cpu") -> Judge:
    """Load a judge folder (or its judge.json / judge.safetensors), or the judge of a
    bundled model by its short name (``"synthfaces-64"``), onto ``device``."""
    p = resolve_judge(path)
    folder = p.parent if p.name in (META_FILE, WEIGHTS_FILE) else p
    hint = (
        f"train one with `intergan classifier train --data DIR --out {folder}`, "
        f"or use a bundled model's judge ({', '.join(BUNDLED)})"
    )
    if p.is_file() and folder == p:
        raise UserError(
            f"--judge {path} is a file, not a judge: give the folder that holds {META_FILE} "
            f"and {WEIGHTS_FILE} (`intergan classifier train` writes one), or a bundled "
            f"model's name ({', '.join(BUNDLED)})"
        )
    if not (folder / META_FILE).is_file() or not (folder / WEIGHTS_FILE).is_file():
        raise UserError(f"--judge {path}: no {META_FILE} and {WEIGHTS_FILE} there; {hint}")
    meta_path = folder / META_FILE
    meta = read_json_object(meta_path, "judge file", hint)
    try:
        fields = check_types(_JudgeMeta, {k: meta[k] for k in ("attrs", "img_size")}, "judge")
        arch = JudgeArch(**check_types(JudgeArch, _as_object(meta.get("arch", {})), "arch"))
        judge = build_judge(resolve_attrs(fields["attrs"]), fields["img_size"], arch)
    except KeyError as e:
        raise UserError(f"judge file {meta_path} has no {e} field; {hint}") from None
    except UserError as e:
        raise UserError(f"judge file {meta_path}: {e}; {hint}") from None
    state = load_safetensors(folder / WEIGHTS_FILE, "judge weights", hint)
    try:
        judge.net.load_state_dict(state)
    except RuntimeError as e:
        raise UserError(
            f"--judge {path}: not a readable judge: {WEIGHTS_FILE} does not match "
            f"{META_FILE} ({state_dict_error(e)}); {hint}"
        ) from None
    judge.info = {
        k: v for k, v in meta.items() if k not in ("version", "attrs", "img_size", "arch")
    }
    return judge.to(device)


@dataclass
class _JudgeMeta:
    """The typed fields of judge.json (checked by ``intergan.config.check_types``)."""

    attrs: list[str]
    img_size: int


def _as_object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UserError(f"arch must be an object, not {value!r:.40}")
    return value
