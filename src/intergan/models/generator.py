"""The InterGAN generator: HFCM encoder, AdaIN bottleneck, shared decoder with CTI.

docs/design.md sections 2.1-2.3. One class serves the ``intergan``, ``no_hfcm`` and
``no_cti`` variants: the ablations simply do not build (or run) the ``hfcm`` or
``cti`` modules. The editing and reconstruction streams share every weight and
run as one batch of 2B: rows ``[:B]`` edit, rows ``[B:]`` reconstruct.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from intergan.config import ModelConfig
from intergan.models.common import GeneratorOutput, check_inputs
from intergan.models.haar import HaarDWT
from intergan.models.layers import (
    AdaINResBlock,
    ConvBlock,
    ResDown,
    ResUp,
    lrelu,
    norm2d,
    tile,
)


def widths(cfg: ModelConfig) -> list[int]:
    """Channels at each encoder level: ``[stem (R), RB1 (R/2), ..., RBn (R/2**n)]``."""
    return [min(cfg.enc_dim * 2**i, cfg.max_dim) for i in range(cfg.n_down + 1)]


class HFCM(nn.Module):
    """High-frequency compensation: Haar high bands of early maps, fused, re-injected.

    Taps (docs/design.md 2.1): the high bands of the input image ``(B, 9, R/2)``, of
    the stem output ``(B, 3*c0, R/2)`` and of RB1's output ``(B, 3*c1, R/4)``.
    [chosen] chain: conv-norm-LReLU at R/2 over the first two taps, a stride-2
    block to R/4, a block over that plus the third tap (message for RB2), and a
    block to RB3's output resolution (message for RB3: stride 2 to R/8 where RB3
    halves, stride 1 where it keeps R/4, as at 64 px with the 16x16 bottleneck);
    every block ``hfcm_dim`` wide.
    Each message is concatenated to the encoder map and mapped back by a 1x1 conv.
    """

    def __init__(self, c: list[int], dim: int, norm: str, rb3_halves: bool = True):
        super().__init__()
        self.dwt = HaarDWT()
        self.mix1 = ConvBlock(9 + 3 * c[0], dim, norm)  # R/2
        self.down1 = ConvBlock(dim, dim, norm, stride=2)  # R/4
        self.mix2 = ConvBlock(dim + 3 * c[1], dim, norm)  # R/4: message for RB2
        # message for RB3: at RB3's resolution (R/8, or R/4 when RB3 keeps it)
        self.down2 = ConvBlock(dim, dim, norm, stride=2 if rb3_halves else 1)
        self.fuse2 = nn.Conv2d(c[2] + dim, c[2], 1)
        self.fuse3 = nn.Conv2d(c[3] + dim, c[3], 1)

    def messages(
        self, x: torch.Tensor, f0: torch.Tensor, f1: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Image (R), stem output (R) and RB1 output (R/2) -> messages for RB2 and RB3."""
        h = self.mix1(torch.cat([self.dwt(x)[1], self.dwt(f0)[1]], dim=1))
        m2 = self.mix2(torch.cat([self.down1(h), self.dwt(f1)[1]], dim=1))
        return m2, self.down2(m2)

    def encode(self, images: torch.Tensor, stem: nn.Module, blocks: nn.ModuleList) -> torch.Tensor:
        """Run the whole encoder, ``stem`` then ``blocks``, with the messages fused into
        the outputs of RB2 and RB3; the blocks after RB3 run as they are."""
        f0 = stem(images)
        f1 = blocks[0](f0)
        m2, m3 = self.messages(images, f0, f1)
        f = self.fuse2(torch.cat([blocks[1](f1), m2], dim=1))
        f = self.fuse3(torch.cat([blocks[2](f), m3], dim=1))
        for block in blocks[3:]:
            f = block(f)
        return f


class CTI(nn.Module):
    """Cross-task interaction between the editing and reconstruction streams (2.3).

    forward(f, cond): f ``(2B, C, H, W)`` = [editing; reconstruction] features,
    cond ``(2B, n_attrs)`` = [target; source] encoded labels -> ``(2B, C, H, W)``.
    Symmetric by construction: if the two halves of ``f`` and ``cond`` are equal,
    so are the two halves of the output.
    """

    def __init__(
        self, channels: int, n_attrs: int, style_dim: int, lt_norm: str, init: str = "default"
    ):
        super().__init__()
        c = channels
        self.style_encoder = nn.Sequential(
            nn.Conv2d(c, c, 3, 1, 1),
            lrelu(),
            nn.Conv2d(c, c, 3, 1, 1),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(c, style_dim),
        )
        self.style = AdaINResBlock(c, style_dim)
        bias = lt_norm == "none"
        self.translate = nn.Sequential(  # local translation net LT
            nn.Conv2d(c + n_attrs, c, 3, 1, 1, bias=bias),
            norm2d(lt_norm, c),
            lrelu(),
            nn.Conv2d(c, c, 3, 1, 1, bias=bias),
            norm2d(lt_norm, c),
            lrelu(),
            nn.Conv2d(c, c, 3, 1, 1),
        )
        self.merge = nn.Conv2d(3 * c, c, 1)
        if init == "identity":  # start as f itself; styled and conditional weigh in as trained
            with torch.no_grad():
                self.merge.weight.zero_()
                self.merge.weight[:, :c, 0, 0] = torch.eye(c)
                self.merge.bias.zero_()

    def forward(self, f: torch.Tensor, cond: torch.Tensor, edit_only: bool = False) -> torch.Tensor:
        """edit_only: return only the editing half ``(B, C, H, W)``, computing nothing
        for the other; equal to ``forward(f, cond)[:B]`` where every norm inside is
        per sample (in training mode a batch-norm LT takes other statistics)."""
        half = f.shape[0] // 2
        if edit_only:
            f, other, cond = f[:half], f[half:], cond[:half]
        else:  # [f_r; f_e]: the streams swapped (slices: a roll by a dynamic size won't export)
            other = torch.cat([f[half:], f[:half]])
        y = self.style_encoder(f)  # [y_e; y_r]  (2B, style_dim)
        styled = self.style(other, y)  # [AdaIN(f_r, y_e); AdaIN(f_e, y_r)]
        conditional = self.translate(torch.cat([f - other, tile(cond, f.shape[-1])], dim=1))
        return self.merge(torch.cat([f, styled, conditional], dim=1))


class InterGANGenerator(nn.Module):
    """InterGAN's G. ``forward(images, target, source) -> GeneratorOutput``."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        c, n, h = widths(cfg), cfg.n_down, cfg.halvings
        self.encoder = nn.ModuleDict(
            {
                "stem": nn.Conv2d(3, c[0], 3, 1, 1),
                "blocks": nn.ModuleList(
                    ResDown(c[i], c[i + 1], cfg.norm, down=i < h) for i in range(n)
                ),
            }
        )
        with_hfcm = cfg.variant in ("intergan", "no_cti")
        self.hfcm = HFCM(c, cfg.hfcm_dim, cfg.norm, rb3_halves=h >= 3) if with_hfcm else None
        self.bottleneck = AdaINResBlock(c[n], cfg.n_attrs)
        # decoder block j mirrors encoder block n-1-j (it upsamples where that one halved)
        self.decoder = nn.ModuleList(
            ResUp(c[n - j], c[n - j - 1], cfg.norm, up=n - 1 - j < h) for j in range(n)
        )
        n_cti = 0 if cfg.variant == "no_cti" else cfg.n_cti
        # CTI k sits before decoder block cti_start + k (0: on the bottleneck codes)
        self.cti = nn.ModuleList(
            CTI(c[n - cfg.cti_start - k], cfg.n_attrs, cfg.style_dim, cfg.lt_norm, cfg.cti_init)
            for k in range(n_cti)
        )
        self.head = nn.Sequential(
            norm2d(cfg.head_norm, c[0]), lrelu(), nn.Conv2d(c[0], 3, 1), nn.Tanh()
        )
        # output skips: decoder block j -> a 1x1 conv to 3 * r * r colours (r: how many
        # output pixels one of its pixels spans), after the last block at each coarser
        # resolution
        self.rgb = nn.ModuleDict()
        if cfg.rgb_skips:
            for j in range(n - 1):
                if self.decoder[j + 1].up:
                    r = 2 ** sum(b.up for b in self.decoder[j + 1 :])
                    self.rgb[str(j)] = nn.Conv2d(c[n - j - 1], 3 * r * r, 1)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, R, R)`` -> ``Z_s (B, c_n, b, b)`` (``b = cfg.bottleneck_size``)."""
        stem, blocks = self.encoder["stem"], self.encoder["blocks"]
        if self.hfcm is not None:  # HFCM runs the encoder, fusing its messages in
            return self.hfcm.encode(images, stem, blocks)
        f = stem(images)
        for block in blocks:
            f = block(f)
        return f

    def decode(self, z: torch.Tensor, cond: torch.Tensor, edit_only: bool = False) -> torch.Tensor:
        """Both streams ``(2B, c_n, b, b)`` with labels ``(2B, n_attrs)`` -> ``(2B, 3, R, R)``.

        edit_only: return only the editing stream ``(B, 3, R, R)``. After the last CTI
        nothing flows between the streams, so the reconstruction stream's finer (and
        costliest) blocks are not run, and the last CTI computes only its editing
        half; equal to ``decode(z, cond)[:B]`` up to float rounding. Where a batch
        norm in training mode spans both streams, that part runs on both as before.
        """
        f, start, n_cti, extra = z, self.cfg.cti_start, len(self.cti), None
        split = (
            edit_only and self._per_sample(self.cfg.norm) and self._per_sample(self.cfg.head_norm)
        )
        half_lt = self._per_sample(self.cfg.lt_norm)  # the LT can run on one stream alone
        for j, block in enumerate(self.decoder):
            k = j - start
            if 0 <= k < n_cti:
                last = split and k == n_cti - 1
                f = self.cti[k](f, cond, edit_only=last and half_lt)
                if last and not half_lt:  # both streams ran for the LT's batch statistics
                    f = f[: f.shape[0] // 2]
            f = block(f)
            if str(j) in self.rgb:  # its pixel spans img_size / side output pixels
                pic = F.pixel_shuffle(self.rgb[str(j)](f), self.cfg.img_size // f.shape[-1])
                extra = self._plus(pic, extra)
        if extra is None:
            out = self.head(f)
        else:  # the head's colours plus the skips', then the head's tanh
            out = self.head[-1](self._plus(self.head[:-1](f), extra))
        return out[: z.shape[0] // 2] if edit_only and out.shape[0] == z.shape[0] else out

    @staticmethod
    def _plus(pic: torch.Tensor, extra: torch.Tensor | None) -> torch.Tensor:
        """``pic + extra``, ``extra`` cut to the rows ``pic`` has (an edit-only decode
        drops the reconstruction stream part-way)."""
        return pic if extra is None else pic + extra[: pic.shape[0]]

    def _per_sample(self, norm: str) -> bool:
        """Whether a ``norm`` layer treats each sample on its own now (a batch norm in
        training mode normalises with the whole batch's statistics)."""
        return norm != "batch" or not self.training

    def forward(
        self, images: torch.Tensor, target: torch.Tensor, source: torch.Tensor
    ) -> GeneratorOutput:
        """Edit ``images`` towards ``target`` and reconstruct them with ``source``.

        images: ``(B, 3, S, S)`` float in [-1, 1], ``S = cfg.img_size``.
        target, source: ``(B, n_attrs)`` *encoded* labels (``attributes.encode``).
        Returns ``GeneratorOutput(edited, reconstructed, z_edit, z_rec)``; images in
        [-1, 1]. The editing bottleneck is conditioned on ``target - source``, the
        reconstruction bottleneck on zero.
        """
        check_inputs(self.cfg, images, target, source, values=not self.training)
        z = self.encode(images)
        z2 = self.bottleneck(
            torch.cat([z, z]), torch.cat([target - source, torch.zeros_like(source)])
        )
        out = self.decode(z2, torch.cat([target, source]))
        # Slices, not chunk(2): chunk adds a batch-size guard torch.export cannot prove.
        b = images.shape[0]
        edited, reconstructed = out[:b], out[b:]
        z_edit, z_rec = z2[:b], z2[b:]
        return GeneratorOutput(edited, reconstructed, z_edit, z_rec)

    def _coupled(self) -> bool:
        """Whether the editing stream depends on the reconstruction stream: CTI joins
        them, and so does a batch norm (blocks or head) while it uses batch statistics
        (training)."""
        return len(self.cti) > 0 or not (
            self._per_sample(self.cfg.norm) and self._per_sample(self.cfg.head_norm)
        )

    def edit_from_code(
        self, z: torch.Tensor, target: torch.Tensor, source: torch.Tensor
    ) -> torch.Tensor:
        """``edit(images, target, source)`` from ``z = encode(images)``: bit-identical.

        The encoder does not depend on the labels, so an editor that tries several
        targets on one image encodes it once and calls this for each.
        """
        if self._coupled():
            z2 = self.bottleneck(
                torch.cat([z, z]), torch.cat([target - source, torch.zeros_like(source)])
            )
            return self.decode(z2, torch.cat([target, source]), edit_only=True)
        return self.decode(self.bottleneck(z, target - source), target)

    def edit(self, images: torch.Tensor, target: torch.Tensor, source: torch.Tensor):
        """Only the edited images ``(B, 3, S, S)`` in [-1, 1], equal to ``forward``'s
        up to float rounding (a batch of B may take other kernels than one of 2B).

        With CTI (or batch norm in training mode, whose statistics span the 2B batch)
        the streams are coupled and both run up to the last CTI, and only the editing
        stream after it (``decode(edit_only=True)``); otherwise only the editing
        stream is computed (half the cost: the discriminator step's fake images and the
        editor need nothing else).
        """
        if self._coupled():
            check_inputs(self.cfg, images, target, source, values=not self.training)
            return self.edit_from_code(self.encode(images), target, source)
        return self._edit_alone(images, target, source)

    def _edit_alone(self, images: torch.Tensor, target: torch.Tensor, source: torch.Tensor):
        """The editing stream on its own (no reconstruction stream decoded)."""
        check_inputs(self.cfg, images, target, source, values=not self.training)
        return self.decode(self.bottleneck(self.encode(images), target - source), target)

    def edit_for_d(self, images: torch.Tensor, target: torch.Tensor, source: torch.Tensor):
        """The edited images the discriminator step trains on. With CTI the streams
        exchange features and both run up to the last CTI (:meth:`edit`); without it
        only the editing stream runs, and batch norm in training mode then takes the
        edited batch's own statistics, as AttGAN's code makes D's fakes (the variant's
        G step keeps the 2B batch of ``forward``)."""
        if len(self.cti) > 0:
            return self.edit(images, target, source)
        return self._edit_alone(images, target, source)
