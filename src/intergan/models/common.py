"""What every generator variant shares: the output structure, the input checks and
the one rule for running the editing stream without the reconstruction stream."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from intergan.config import ModelConfig
from intergan.errors import UserError

RANGE_EPS = 1e-3  # images may overshoot [-1, 1] by this much (float rounding, resizing)


class GeneratorOutput(NamedTuple):
    """The two streams of one generator pass.

    edited: ``(B, 3, S, S)`` in [-1, 1], the image edited towards ``target``.
    reconstructed: ``(B, 3, S, S)`` in [-1, 1], the image rebuilt with ``source``.
    z_edit, z_rec: bottleneck codes ``(B, C, S/2**n_down, S/2**n_down)`` of the
    editing and reconstruction streams (for AttGAN both are the shared encoder code).
    """

    edited: torch.Tensor
    reconstructed: torch.Tensor
    z_edit: torch.Tensor
    z_rec: torch.Tensor


def check_inputs(
    cfg: ModelConfig,
    images: torch.Tensor,
    target: torch.Tensor,
    source: torch.Tensor,
    values: bool = True,
) -> None:
    """Raise a ``UserError`` naming the argument if the generator cannot take these inputs.

    ``values``: also check that pixel values lie in [-1, 1]. That check reads the
    tensor on the host (a device sync), so generators skip it in training mode,
    where the batches come from ``images.to_model`` and are in range by construction.
    """
    s, n = cfg.img_size, cfg.n_attrs
    if not torch.is_tensor(images) or not images.is_floating_point():
        kind = images.dtype if torch.is_tensor(images) else type(images).__name__
        raise UserError(
            f"images must be a float tensor in [-1, 1], got {kind}; "
            "convert uint8 images with intergan.images.to_model"
        )
    if images.dim() != 4 or images.shape[1] != 3:
        raise UserError(f"images must have shape (B, 3, {s}, {s}), got {tuple(images.shape)}")
    if images.shape[2:] != (s, s):
        raise UserError(
            f"images are {images.shape[2]}x{images.shape[3]} but the model was built for "
            f"{s}x{s} (model.img_size); resize the images or use a model of that size"
        )
    b = images.shape[0]
    for name, t in (("target", target), ("source", source)):
        if not torch.is_tensor(t) or not t.is_floating_point():
            raise UserError(f"{name} must be a float tensor of encoded labels (attributes.encode)")
        if t.dim() != 2 or t.shape[1] != n:
            raise UserError(
                f"{name} must have shape (B, {n}) for the model's {n} attributes "
                f"({', '.join(cfg.attrs)}), got {tuple(t.shape)}"
            )
        if t.shape[0] != b:
            raise UserError(f"{name} has batch size {t.shape[0]} but images have {b}")
    if not values or torch.compiler.is_compiling():  # value checks break compiled graphs
        return
    lo, hi = torch.aminmax(images.detach())
    if not (lo >= -1 - RANGE_EPS and hi <= 1 + RANGE_EPS):
        raise UserError(
            f"images must lie in [-1, 1], got values in [{lo.item():.3g}, {hi.item():.3g}]; "
            "convert uint8 images with intergan.images.to_model"
        )


class TwoStreamGenerator(nn.Module):
    """A generator of two streams, editing and reconstruction, that share every weight
    and run as one batch of 2B (rows ``[:B]`` edit, rows ``[B:]`` reconstruct). The
    editing paths live here once; InterGAN's and AttGAN's G give the parts.

    Parts: ``encode(images) -> code``, ``_both(code, target, source, edit_only)``
    (both streams decoded; ``edit_only``: return the editing rows only, skipping what
    the reconstruction stream needs no more), ``_alone(code, target, source)`` (the
    editing stream decoded as a batch of B), ``_joined()`` (whether the streams
    exchange features, as CTI does) and ``_batch_stats()`` (whether a norm in G
    now normalises with the batch's statistics: batch norm in training mode).

    The rule: the editing stream runs alone (half the cost) unless something couples
    it to the reconstruction stream; then both run, and ``_both(edit_only=True)``
    drops the reconstruction stream where nothing needs it any more.
    """

    cfg: ModelConfig

    def _coupled(self) -> bool:
        """Whether the editing stream depends on the reconstruction stream now."""
        return self._joined() or self._batch_stats()

    def edit_from_code(self, code, target: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        """``edit(images, target, source)`` from ``code = encode(images)``: bit-identical.

        The encoder does not depend on the labels, so an editor that tries several
        targets on one image encodes it once and calls this for each.
        """
        if self._coupled():
            return self._both(code, target, source, edit_only=True)
        return self._alone(code, target, source)

    def edit(self, images: torch.Tensor, target: torch.Tensor, source: torch.Tensor):
        """Only the edited images ``(B, 3, S, S)`` in [-1, 1], equal to ``forward``'s
        up to float rounding (a batch of B may take other kernels than one of 2B)."""
        check_inputs(self.cfg, images, target, source, values=not self.training)
        return self.edit_from_code(self.encode(images), target, source)

    def edit_for_d(self, images: torch.Tensor, target: torch.Tensor, source: torch.Tensor):
        """The edited images the discriminator step trains on. Where the streams
        exchange features (CTI) this is :meth:`edit`; otherwise the editing stream runs
        alone, and batch norm in training mode then takes the edited batch's own
        statistics, as AttGAN's code makes D's fakes (the G step keeps the 2B batch of
        ``forward``)."""
        if self._joined():
            return self.edit(images, target, source)
        check_inputs(self.cfg, images, target, source, values=not self.training)
        return self._alone(self.encode(images), target, source)
