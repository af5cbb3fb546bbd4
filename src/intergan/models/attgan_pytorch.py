"""AttGAN-PyTorch's generator (elvisyjlin/AttGAN-PyTorch), rebuilt to run its weights.

The module and parameter names are that project's (``enc_layers.I.layers.0.weight``,
``dec_layers.I.layers.1.running_mean``, ...), so its ``G`` state dicts load as they
are. The facts this follows, read from its attgan.py and nn.py:

- encoder: ``enc_layers`` 4x4 stride-2 convolutions (padding 1), widths
  ``min(enc_dim * 2**i, 1024)``, each followed by its norm and activation; a
  convolution has a bias only without a norm;
- decoder: ``dec_layers`` 4x4 stride-2 transposed convolutions; layer ``i`` (but the
  last) has ``min(dec_dim * 2**(dec_layers - 1 - i), 1024)`` outputs, its norm and
  activation; the last has 3 outputs, a bias, no norm and a tanh;
- the attribute vector ``(B, n)`` is tiled over the encoder's last map and
  concatenated after it; after decoder layer ``i < shortcut_layers`` the encoder map
  ``zs[dec_layers - 2 - i]`` is concatenated, then, for ``i < inject_layers``, the
  tiled attributes again (both counts capped at ``dec_layers - 1``);
- norms: ``batchnorm`` (``BatchNorm2d``), ``instancenorm`` (``InstanceNorm2d``,
  affine), ``none``; activations: ``relu``, ``lrelu`` (``LeakyReLU`` with its default
  slope 0.01), ``sigmoid``, ``tanh``, ``none``. Its ``switchnorm`` is not supported.

``G(x, b)`` there decodes with the encoded target ``b`` only; here ``forward(images,
target, source)`` gives the edit (decoded with ``target``) and the reconstruction
(decoded with ``source``), and ``encode`` / ``edit_from_code`` split it for the
editor, as for the generators trained here; ``prepare_inference`` turns it into a
fast inference-only one for the CPU editor. ``Settings`` checks a run's
``setting.txt`` values (train.py's argument names) before anything is built.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from intergan.attributes import check_attr_name
from intergan.config import Config, DataConfig, ModelConfig, TrainConfig
from intergan.errors import UserError
from intergan.models.common import GeneratorOutput, check_inputs

KIND = "attgan-pytorch"  # config.json's "architecture.kind" of an imported model
MAX_DIM = 1024  # attgan.py's cap on any layer's width
NORMS = ("batchnorm", "instancenorm", "none")
ACTIVATIONS = ("relu", "lrelu", "sigmoid", "tanh", "none")
# train.py's --data choices -> (this project's data.format, the framing in editing.align)
DATASETS = {"CelebA": ("celeba", "celeba"), "CelebA-HQ": ("celebahq", "celebahq")}
# train.py's defaults, for settings a file leaves out
DEFAULTS: dict[str, Any] = {
    "attrs": [
        "Bald", "Bangs", "Black_Hair", "Blond_Hair", "Brown_Hair", "Bushy_Eyebrows",
        "Eyeglasses", "Male", "Mouth_Slightly_Open", "Mustache", "No_Beard", "Pale_Skin",
        "Young",
    ],
    "data": "CelebA", "img_size": 128, "shortcut_layers": 1, "inject_layers": 0,
    "enc_dim": 64, "dec_dim": 64, "enc_layers": 5, "dec_layers": 5,
    "enc_norm": "batchnorm", "dec_norm": "batchnorm", "enc_acti": "lrelu", "dec_acti": "relu",
    "thres_int": 0.5, "test_int": 1.0,
}  # fmt: skip


@dataclass(frozen=True)
class Settings:
    """The generator's settings, named as in AttGAN-PyTorch's train.py (``setting.txt``)."""

    attrs: tuple[str, ...]
    data: str
    img_size: int
    shortcut_layers: int
    inject_layers: int
    enc_dim: int
    dec_dim: int
    enc_layers: int
    dec_layers: int
    enc_norm: str
    dec_norm: str
    enc_acti: str
    dec_acti: str
    thres_int: float
    test_int: float

    @classmethod
    def parse(cls, raw: dict[str, Any], where: str) -> Settings:
        """Check ``raw`` (a ``setting.txt``'s object; missing names take train.py's
        defaults); a value this generator cannot build is a ``UserError`` naming it and
        ``where`` it came from."""
        values = {f.name: raw.get(f.name, DEFAULTS[f.name]) for f in dataclasses.fields(cls)}
        for name in ("img_size", "shortcut_layers", "inject_layers", "enc_dim", "dec_dim",
                     "enc_layers", "dec_layers"):  # fmt: skip
            v, low = values[name], 0 if name in ("shortcut_layers", "inject_layers") else 1
            if not isinstance(v, int) or isinstance(v, bool) or v < low:
                raise UserError(f"setting {name} is {v!r} in {where}: expected an integer >= {low}")
        for name in ("thres_int", "test_int"):
            v = values[name]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise UserError(f"setting {name} is {v!r} in {where}: expected a number")
            values[name] = float(v)
        for name, allowed in (("enc_norm", NORMS), ("dec_norm", NORMS),
                              ("enc_acti", ACTIVATIONS), ("dec_acti", ACTIVATIONS),
                              ("data", tuple(DATASETS))):  # fmt: skip
            if values[name] not in allowed:
                raise UserError(
                    f"setting {name} is {values[name]!r} in {where}: not supported; "
                    f"this importer builds {', '.join(allowed)}"
                )
        attrs = values["attrs"]
        if not isinstance(attrs, list) or not attrs or not all(isinstance(a, str) for a in attrs):
            raise UserError(f"setting attrs is {attrs!r} in {where}: expected a list of names")
        for a in attrs:
            check_attr_name(a)
        values["attrs"] = tuple(attrs)
        settings = cls(**values)
        settings._check_shapes(where)
        return settings

    def _check_shapes(self, where: str) -> None:
        """Refuse settings whose generator AttGAN-PyTorch's own forward could not run
        at ``img_size`` (or that would not give an image of that size back)."""
        if self.thres_int <= 0:
            raise UserError(f"setting thres_int is {self.thres_int} in {where}: must be > 0")
        if self.dec_layers != self.enc_layers or self.enc_layers < 1:
            raise UserError(
                f"setting dec_layers is {self.dec_layers} but enc_layers is {self.enc_layers} "
                f"in {where}: the decoder must undo the encoder's {self.enc_layers} halvings"
            )
        if self.img_size % 2**self.enc_layers:
            raise UserError(
                f"setting img_size {self.img_size} in {where} is not divisible by "
                f"2**enc_layers ({2**self.enc_layers})"
            )
        n = self.dec_layers
        for i in range(self.shortcuts):
            dec = min(self.dec_dim * 2 ** (n - 1 - i), MAX_DIM)
            if self.enc_width(n - 2 - i) != dec // 2:
                raise UserError(
                    f"settings enc_dim {self.enc_dim} and dec_dim {self.dec_dim} in {where}: "
                    f"shortcut {i} joins a {self.enc_width(n - 2 - i)}-channel encoder map where "
                    f"AttGAN-PyTorch's decoder counts {dec // 2} channels"
                )

    @property
    def shortcuts(self) -> int:
        return min(self.shortcut_layers, self.dec_layers - 1)

    @property
    def injects(self) -> int:
        return min(self.inject_layers, self.dec_layers - 1)

    def enc_width(self, i: int) -> int:
        return min(self.enc_dim * 2**i, MAX_DIM)

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "attrs": list(self.attrs)}

    def config(self) -> Config:
        """The ``Config`` an imported model's editors read (size, attributes, label
        scales, the training data that picks the framing). Its model section describes
        the network in this project's terms; the model itself is built from these
        settings (config.json's ``architecture``)."""
        norms = {"batchnorm": "batch", "instancenorm": "instance", "none": "none"}
        model = ModelConfig(
            variant="attgan", preset="base", img_size=self.img_size, attrs=list(self.attrs),
            enc_dim=self.enc_dim, max_dim=MAX_DIM, n_down=self.enc_layers,
            attgan_shortcut_layers=self.shortcuts, attgan_inject_layers=self.injects,
            attgan_norm=norms[self.enc_norm],
        )  # fmt: skip
        data = DataConfig(path=self.data, format=DATASETS[self.data][0], flip=False)
        return Config(model, data, TrainConfig(thres_int=self.thres_int, test_int=self.test_int))

    @property
    def framing(self) -> str:
        """The framing (``intergan.editing.align``) of the images it was trained on."""
        return DATASETS[self.data][1]


class Block(nn.Module):
    """nn.py's Conv2dBlock / ConvTranspose2dBlock: ``layers`` = conv, norm, activation."""

    def __init__(self, conv: type[nn.Module], n_in: int, n_out: int, norm: str, acti: str):
        super().__init__()
        parts = [conv(n_in, n_out, 4, stride=2, padding=1, bias=norm == "none")]
        if norm == "batchnorm":
            parts.append(nn.BatchNorm2d(n_out))
        elif norm == "instancenorm":
            parts.append(nn.InstanceNorm2d(n_out, affine=True))
        activations = {"relu": nn.ReLU, "lrelu": nn.LeakyReLU, "sigmoid": nn.Sigmoid,
                       "tanh": nn.Tanh}  # fmt: skip
        if acti != "none":
            parts.append(activations[acti]())  # LeakyReLU(): slope 0.01, as there
        self.layers = nn.Sequential(*parts)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def tile(a: torch.Tensor, side: int) -> torch.Tensor:
    """Labels (B, n) -> (B, n, side, side)."""
    return a[:, :, None, None].expand(-1, -1, side, side)


class AttGANPyTorchGenerator(nn.Module):
    """AttGAN-PyTorch's ``Generator`` with this project's generator interface."""

    def __init__(self, settings: Settings):
        super().__init__()
        s, na = settings, len(settings.attrs)
        self.settings = s
        self.cfg = s.config().model  # for check_inputs: size and attributes
        self.enc_layers = nn.ModuleList()
        n_in = 3
        for i in range(s.enc_layers):
            self.enc_layers.append(Block(nn.Conv2d, n_in, s.enc_width(i), s.enc_norm, s.enc_acti))
            n_in = s.enc_width(i)
        self.dec_layers = nn.ModuleList()
        n_in += na
        for i in range(s.dec_layers - 1):
            n_out = min(s.dec_dim * 2 ** (s.dec_layers - 1 - i), MAX_DIM)
            self.dec_layers.append(Block(nn.ConvTranspose2d, n_in, n_out, s.dec_norm, s.dec_acti))
            n_in = n_out + (n_out // 2 if i < s.shortcuts else 0) + (na if i < s.injects else 0)
        self.dec_layers.append(Block(nn.ConvTranspose2d, n_in, 3, "none", "tanh"))
        self.split = nn.ModuleDict()  # decoder layer -> SplitConv, once prepared

    @property
    def architecture(self) -> dict[str, Any]:
        """What config.json records to build this generator again."""
        return {"kind": KIND, "settings": self.settings.to_dict()}

    def encode(self, images: torch.Tensor) -> list[torch.Tensor]:
        """``(B, 3, S, S)`` in [-1, 1] -> every encoder map, the last one the code; a
        prepared generator appends, per split decoder layer, the part of it that
        depends on an encoder map alone (``prepare_inference``)."""
        zs, z = [], images
        for layer in self.enc_layers:
            z = layer(z)
            zs.append(z)
        n = len(zs)
        return zs + [m.cache(zs[n - 1 - int(i)]) for i, m in self.split.items()]

    def decode(self, zs: list[torch.Tensor], a: torch.Tensor) -> torch.Tensor:
        """Encoder maps and encoded labels ``a`` (B, n) -> images (B, 3, S, S) in [-1, 1]."""
        n = len(self.dec_layers)
        zs, cached = zs[:n], dict(zip(self.split, zs[n:]))
        a = a.to(zs[-1].dtype)
        parts = [(zs[-1], True), (tile(a, zs[-1].shape[-1]), False)]  # (input, from zs)
        for i, layer in enumerate(self.dec_layers):
            if str(i) in cached:
                z = torch.cat([p for p, fixed in parts if not fixed], dim=1)
                z = self.split[str(i)](z, cached[str(i)])
            else:
                z = layer(torch.cat([p for p, _ in parts], dim=1))
            parts = [(z, False)]
            if i < self.settings.shortcuts:
                parts.append((zs[n - 2 - i], True))
            if i < self.settings.injects:
                parts.append((tile(a, z.shape[-1]), False))
        return z

    def forward(
        self, images: torch.Tensor, target: torch.Tensor, source: torch.Tensor
    ) -> GeneratorOutput:
        """images (B, 3, S, S) in [-1, 1]; target, source (B, n) encoded labels ->
        the edit (decoded with ``target``) and the reconstruction (with ``source``)."""
        check_inputs(self.cfg, images, target, source, values=not self.training)
        zs = self.encode(images)
        z = zs[len(self.enc_layers) - 1]
        return GeneratorOutput(self.decode(zs, target), self.decode(zs, source), z, z)

    def edit_from_code(
        self, zs: list[torch.Tensor], target: torch.Tensor, source: torch.Tensor
    ) -> torch.Tensor:
        """The edit from ``zs = encode(images)``; ``source`` is not used (AttGAN
        decodes with the target vector alone)."""
        return self.decode(zs, target)

    def prepare_inference(self, dtype: torch.dtype = torch.float32) -> str:
        """Make this (eval-mode) generator inference-only, in place, in ``dtype``:
        batch norms folded into the convolutions, weights prepacked for oneDNN with
        the activations fused, and the decoder layers that take an encoder map split
        so that ``encode`` computes that map's part once (``intergan.models.inference``,
        ``SplitConv``; a slider move then skips it); the same outputs up to
        float rounding. Its state dict then no longer loads AttGAN-PyTorch's files.
        Returns what was done, for the backend's description."""
        from intergan.models.inference import PackedConv, SplitConv, prepare_block

        side, n = self.settings.img_size, len(self.enc_layers)
        for i, block in enumerate(self.enc_layers):
            c = block.layers[0].in_channels
            self.enc_layers[i] = prepare_block(block.layers, dtype, (1, c, side >> i, side >> i))
        for i, block in enumerate(self.dec_layers):
            c, s = block.layers[0].in_channels, side >> (n - i)
            self.dec_layers[i] = prepare_block(block.layers, dtype, (1, c, s, s))
        for i, layer in enumerate(self.dec_layers):
            fixed = self._encoder_channels(i)
            if fixed is not None and isinstance(layer, PackedConv):
                s = side >> (n - i)
                self.split[str(i)] = SplitConv(layer, fixed, (1, layer.weight.shape[0], s, s))
                self.dec_layers[i] = nn.Identity()  # its weights live on in the split
        packed = any(isinstance(m, PackedConv) and m.packed is not None for m in self.modules())
        done = "oneDNN-prepacked weights" if packed else "plain convolutions"
        cached = f"encoder-map parts of {len(self.split)} decoder layers cached per photo"
        return f"batch norms folded, {done}, {cached}"

    def _encoder_channels(self, i: int) -> range | None:
        """The input channels of decoder layer ``i`` that hold an encoder map (the
        code, or a shortcut), which stay the same while only the labels change."""
        s, n = self.settings, len(self.dec_layers)
        if i == 0:
            return range(s.enc_width(n - 1))
        if i - 1 < s.shortcuts:
            c = min(s.dec_dim * 2 ** (n - i), MAX_DIM)  # decoder layer i - 1's outputs
            return range(c, c + s.enc_width(n - 1 - i))
        return None

    def edit(self, images: torch.Tensor, target: torch.Tensor, source: torch.Tensor):
        """Only the edited images (B, 3, S, S) in [-1, 1]."""
        check_inputs(self.cfg, images, target, source, values=not self.training)
        return self.decode(self.encode(images), target)


def _settings(architecture: Any, where: str) -> Settings:
    """The settings of a config.json ``architecture`` record, checked."""
    if not isinstance(architecture, dict) or architecture.get("kind") != KIND:
        kind = architecture.get("kind") if isinstance(architecture, dict) else architecture
        raise UserError(
            f"{where} names the architecture {kind!r}, which this intergan cannot build "
            f"(it knows {KIND!r}); upgrade intergan or import the model again"
        )
    settings = architecture.get("settings")
    if not isinstance(settings, dict):
        raise UserError(f"{where}: architecture.settings must be an object; import the model again")
    return Settings.parse(settings, where)


def build(architecture: Any, where: str) -> AttGANPyTorchGenerator:
    """The generator a config.json ``architecture`` record describes (``where``: the file)."""
    return AttGANPyTorchGenerator(_settings(architecture, where))


def imported_config(data: dict[str, Any], where: str | Path) -> Config:
    """The ``Config`` of an import's config.json object ``data``: read as saved and
    checked against its ``architecture`` record (not by ``validate_model``: its sizes,
    e.g. 384 px, follow AttGAN-PyTorch's rules, not this project's training presets)."""
    settings = _settings(data.get("architecture"), str(where))
    try:
        cfg = Config.from_dict({k: data[k] for k in ("model", "data", "train") if k in data}, True)
    except UserError as e:
        raise UserError(f"config file {where}: {e}; import the model again") from None
    if cfg.model.img_size != settings.img_size or cfg.model.attrs != list(settings.attrs):
        raise UserError(
            f"config file {where}: model.img_size / model.attrs differ from its architecture "
            "settings; import the model again"
        )
    return cfg


def strip_prefix(state: dict[str, Any]) -> dict[str, Any]:
    """A state dict without the ``module.`` that ``nn.DataParallel`` puts before every
    name (AttGAN-PyTorch's ``--multi_gpu`` runs save G and D wrapped in it)."""
    if state and all(isinstance(k, str) and k.startswith("module.") for k in state):
        return {k[len("module.") :]: v for k, v in state.items()}
    return state


def load_checked(G: nn.Module, state: Any, where: str) -> None:
    """Load ``state`` into ``G`` after comparing every tensor with the settings' shapes:
    the first that differs (or is missing, or extra) is a ``UserError`` naming it.
    Batch-norm counters (``num_batches_tracked``, absent from PyTorch 0.4.0's files)
    may be missing; they do not change the output in eval mode."""
    if not isinstance(state, dict):
        raise UserError(f"{where}: 'G' is a {type(state).__name__}, not a state dict")
    state = strip_prefix(state)
    fix = "check the settings (setting.txt, --setting, --set) belong to these weights"
    want = G.state_dict()
    for name, expected in want.items():
        found = state.get(name)
        if found is None and name.endswith("num_batches_tracked"):
            state[name] = torch.zeros_like(expected)
            continue
        if not isinstance(found, torch.Tensor):
            raise UserError(
                f"{where}: tensor {name} (shape {tuple(expected.shape)}) is missing; {fix}"
            )
        if found.shape != expected.shape:
            raise UserError(
                f"{where}: tensor {name} has shape {tuple(found.shape)}, the settings give "
                f"{tuple(expected.shape)}; {fix}"
            )
        if found.is_floating_point() and not bool(found.isfinite().all()):
            raise UserError(f"{where}: tensor {name} holds NaN or infinite values")
    extra = [k for k in state if k not in want]
    if extra:
        raise UserError(f"{where}: tensor {extra[0]} is not in the settings' generator; {fix}")
    G.load_state_dict({k: v.to(want[k].dtype) for k, v in state.items()}, strict=True)
