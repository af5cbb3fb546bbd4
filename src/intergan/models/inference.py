"""Inference-time preparation of convolution blocks (conv, norm, activation) for the CPU.

``prepare_block(layers, dtype, input_size)`` turns an ``nn.Sequential`` of a
``Conv2d`` / ``ConvTranspose2d`` (followed by an optional norm and an optional
activation) into an inference-only module that gives the same output up to float
rounding, faster:

- an eval-mode ``BatchNorm2d`` is folded into the convolution's weight and bias
  (computed in float64, then cast to ``dtype``);
- on a CPU with oneDNN the weight is reordered once into oneDNN's blocked layout
  (``torch.ops.mkldnn._reorder_convolution[_transpose]_weight``, what PyTorch's
  inductor does when it freezes a model) and the activation runs in the
  convolution's epilogue (``torch.ops.mkldnn._convolution[_transpose]_pointwise``).
  Plain ``F.conv2d`` reorders the weight on every call: for AttGAN-PyTorch's
  1536-to-512 transposed convolution that reorder took longer than the
  convolution itself (docs/benchmarks.md, "AttGAN-PyTorch imports");
- where those operators are missing (another build of PyTorch, another device)
  the block runs the folded convolution with ``torch.nn.functional``.

An ``InstanceNorm2d`` depends on the input, so it stays after the convolution
(with the activation after it). The prepared module holds no trainable parameters.

``SplitConv`` splits a prepared convolution by input channel: the part over inputs
that stay the same across calls (e.g. a generator's encoder maps while only the
labels change) is computed once (``cache``); each call adds the rest to it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# activation modules the oneDNN epilogue runs, by its names for them
UNARY: dict[type[nn.Module], str] = {
    nn.ReLU: "relu",
    nn.LeakyReLU: "leaky_relu",
    nn.Tanh: "tanh",
    nn.Sigmoid: "sigmoid",
}


def fold_batch_norm(
    conv: nn.Conv2d | nn.ConvTranspose2d, bn: nn.BatchNorm2d | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The weight and bias of ``conv`` followed by ``bn`` in eval mode (float64);
    ``bn`` None: the convolution's own."""
    w = conv.weight.detach().double()
    b = None if conv.bias is None else conv.bias.detach().double()
    if bn is None:
        return w, b
    scale = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)
    shift = bn.bias.detach().double() - bn.running_mean.double() * scale
    transposed = isinstance(conv, nn.ConvTranspose2d)  # weight (in, out, k, k)
    w = w * (scale[None, :, None, None] if transposed else scale[:, None, None, None])
    return w, shift if b is None else b * scale + shift


class PackedConv(nn.Module):
    """A (transposed) convolution with its activation, weights prepared once."""

    def __init__(
        self,
        conv: nn.Conv2d | nn.ConvTranspose2d,
        bn: nn.BatchNorm2d | None,
        act: nn.Module | None,
        dtype: torch.dtype,
        input_size: tuple[int, int, int, int],
    ) -> None:
        super().__init__()
        self.transposed = isinstance(conv, nn.ConvTranspose2d)
        w, b = fold_batch_norm(conv, bn)
        device = conv.weight.device
        self.register_buffer("weight", w.to(device, dtype))
        self.register_buffer("bias", None if b is None else b.to(device, dtype))
        self.stride, self.padding = list(conv.stride), list(conv.padding)
        self.dilation, self.groups = list(conv.dilation), conv.groups
        self.output_padding = list(getattr(conv, "output_padding", (0, 0)))
        self._activation(act)
        self.packed = self._pack(list(input_size)) if device.type == "cpu" else None

    def _activation(self, act: nn.Module | None) -> None:
        self.act = act
        self.attr = UNARY.get(type(act), "none") if act is not None else "none"
        self.scalars = [act.negative_slope] if isinstance(act, nn.LeakyReLU) else []

    def part(
        self, channels: list[int], bias: bool, act: bool, input_size: tuple[int, ...]
    ) -> PackedConv:
        """This convolution over the input ``channels`` only, with or without its bias
        and activation: without them, the parts over all channels add up to the whole."""
        if self.groups != 1:
            raise ValueError("only an ungrouped convolution splits by input channel")
        p = PackedConv.__new__(PackedConv)
        nn.Module.__init__(p)
        index = torch.tensor(channels, device=self.weight.device)
        p.register_buffer("weight", self.weight.index_select(0 if self.transposed else 1, index))
        p.register_buffer("bias", self.bias if bias else None)
        for k in ("transposed", "stride", "padding", "dilation", "groups", "output_padding"):
            setattr(p, k, getattr(self, k))
        p._activation(self.act if act else None)
        p.packed = p._pack(list(input_size)) if self.weight.device.type == "cpu" else None
        return p

    def _pack(self, input_size: list[int]) -> torch.Tensor | None:
        """The weight in oneDNN's layout, or None where this PyTorch cannot do it."""
        unfused = self.attr == "none" and self.act is not None
        if unfused or not torch.backends.mkldnn.is_available():
            return None
        ops = torch.ops.mkldnn
        common = [self.stride, self.dilation, self.groups, input_size]
        try:
            if self.transposed:
                args = [self.padding, self.output_padding, *common]
                return ops._reorder_convolution_transpose_weight(self.weight, *args)
            return ops._reorder_convolution_weight(self.weight, self.padding, *common)
        except (AttributeError, RuntimeError):
            return None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.packed is not None and x.dtype == self.weight.dtype and x.device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
            ops, fused = torch.ops.mkldnn, [self.attr, self.scalars, ""]
            if self.transposed:
                pads = [self.padding, self.output_padding]
                return ops._convolution_transpose_pointwise(
                    x, self.packed, self.bias, *pads, self.stride, self.dilation, self.groups,
                    *fused,
                )  # fmt: skip
            return ops._convolution_pointwise(
                x, self.packed, self.bias, self.padding, self.stride, self.dilation, self.groups,
                *fused,
            )  # fmt: skip
        conv = F.conv_transpose2d if self.transposed else F.conv2d
        kw = {"output_padding": self.output_padding} if self.transposed else {}
        x = conv(x, self.weight, self.bias, self.stride, self.padding, **kw,
                 groups=self.groups, dilation=self.dilation)  # fmt: skip
        return x if self.act is None else self.act(x)


def prepare_block(
    layers: nn.Sequential, dtype: torch.dtype, input_size: tuple[int, int, int, int]
) -> nn.Module:
    """``layers`` (a convolution, then an optional norm, then an optional activation;
    eval mode) as an inference-only module in ``dtype`` (see the module docstring);
    ``input_size``: the (B, C, H, W) it will mostly see, which picks oneDNN's layout."""
    conv, rest = layers[0], list(layers[1:])
    norm = rest.pop(0) if rest and isinstance(rest[0], nn.modules.batchnorm._NormBase) else None
    act = rest.pop(0) if rest else None
    if rest or not isinstance(conv, (nn.Conv2d, nn.ConvTranspose2d)):
        raise ValueError(f"not a conv, norm, activation block: {layers}")
    if isinstance(norm, nn.BatchNorm2d):
        if norm.training:
            raise ValueError("batch norm in training mode cannot be folded; call .eval() first")
        return PackedConv(conv, norm, act, dtype, input_size)
    if norm is None:
        return PackedConv(conv, None, act, dtype, input_size)
    parts = [PackedConv(conv, None, None, dtype, input_size), norm.to(dtype)]
    return nn.Sequential(*parts, *([act] if act is not None else []))


class SplitConv(nn.Module):
    """A ``PackedConv`` (no norm after it) split into the part over its ``static``
    input channels (with the bias; ``cache``) and the part over the others
    (``forward(dynamic, cached)``, then the activation)."""

    def __init__(self, conv: PackedConv, static: range, input_size: tuple[int, int, int, int]):
        super().__init__()
        c = conv.weight.shape[0 if conv.transposed else 1]
        dynamic = [i for i in range(c) if i not in static]
        size = lambda k: (input_size[0], k, *input_size[2:])  # noqa: E731
        self.static = conv.part(list(static), True, False, size(len(static)))
        self.dynamic = conv.part(dynamic, False, False, size(len(dynamic)))
        self.act = conv.act

    def cache(self, x: torch.Tensor) -> torch.Tensor:
        """The static inputs' part (the bias included)."""
        return self.static(x)

    def forward(self, x: torch.Tensor, cached: torch.Tensor) -> torch.Tensor:
        y = self.dynamic(x) + cached
        return y if self.act is None else self.act(y)
