"""The ``Editor``: change facial attributes in any photo (inference only).

    editor = Editor.from_pretrained("runs/synth64")          # or an exported folder
    out = editor.edit(photo, {"Blond_Hair": 1.0, "Eyeglasses": 0.7})
    strip = editor.edit_all(photo)                            # {attr: image}
    frames = editor.interpolate(photo, "Young", steps=8)

Intensities are continuous: the value ``v`` of an attribute becomes its encoded
target entry ``v * test_int`` (the paper's test intensity, 1.0 by default), so 1
switches it on, -1 off, and values beyond +-1 extrapolate. Switching an attribute
on applies the conflict rules of ``intergan.attributes``. With ``align=True``
every face found is cut out in the model's training framing, edited and pasted
back at full resolution; ``align=False`` edits the centred square as is.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping

import numpy as np
import torch
import torch.nn.functional as F

from intergan.attributes import CONFLICTS, apply_conflicts, check_attr_name, encode
from intergan.config import Config
from intergan.editing.align import Framing, crop_face, framing_for_config, get_framing
from intergan.editing.convert import Batch, check_image, to_batch
from intergan.editing.faces import Face, FaceDetector, default_detector
from intergan.editing.io import DEFAULT_MAX_PIXELS, Photo
from intergan.editing.paste import paste_back
from intergan.errors import UserError
from intergan.images import to_model, to_uint8


class NoFaceError(UserError):
    """No face was found where the edit needed one."""


def pick_device(device: str | torch.device | None) -> torch.device:
    """``None``/``"auto"``: CUDA when available, else the CPU."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape[-2:]) == size:
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)


class Editor:
    """Edits faces with a generator backend (``backends.TorchBackend`` / ``OnnxBackend``).

    config: the model's ``Config`` (attributes, size, label scales); judge: an
    attribute classifier (``intergan.evaluation.judge``) that estimates the source
    attributes when they are not given; detector: a ``FaceDetector`` (MTCNN by
    default, built on first use); framing: a ``Framing`` or its name (default:
    chosen from the training data in ``config``). ``max_pixels``: the largest image
    (width x height) the edit methods accept; ``None`` for no limit.
    """

    max_pixels: int | None = DEFAULT_MAX_PIXELS

    def __init__(
        self,
        backend,
        config: Config,
        judge=None,
        detector: FaceDetector | None = None,
        framing: Framing | str | None = None,
        feather: float = 0.1,
        batch_size: int = 16,
    ):
        self.backend, self.config = backend, config
        self.attrs: list[str] = list(config.model.attrs)
        self.size: int = config.model.img_size
        self.thres_int, self.test_int = config.train.thres_int, config.train.test_int
        self._detector = detector
        self.framing = get_framing(framing) if isinstance(framing, str) else framing
        self.framing = self.framing or framing_for_config(config)
        self.feather, self.batch_size = feather, batch_size
        self.judge = None
        if judge is not None:
            self.set_judge(judge)

    @classmethod
    def from_pretrained(
        cls,
        path: str | os.PathLike,
        device: str | torch.device | None = None,
        backend: str = "torch",
        judge=None,
        **kwargs,
    ) -> Editor:
        """Load an exported folder (``generator.safetensors`` + ``config.json``, or
        ``generator.onnx`` with ``backend="onnx"``), a training run / checkpoint, or a
        model shipped in the package by its short name (``"synthfaces-64"``).
        ``judge``: a judge folder or object; by default an exported folder's own
        judge (``judge.json`` beside the generator) is used when present."""
        from intergan.editing.backends import OnnxBackend, TorchBackend
        from intergan.editing.pretrained import resolve_model
        from intergan.models.export import find_judge, load_export_config

        path = resolve_model(path)

        if backend == "onnx":
            be, cfg = OnnxBackend(path), load_export_config(path)
        elif backend == "torch":
            from intergan.models.io import load_generator

            dev = pick_device(device)
            G, cfg = load_generator(path, device=dev)
            be = TorchBackend(G, dev)
        else:
            raise UserError(f"unknown backend {backend!r}; choose 'torch' or 'onnx'")
        judge = judge if judge is not None else find_judge(path)
        if isinstance(judge, (str, os.PathLike)):
            from intergan.evaluation.judge import load_judge

            judge = load_judge(judge, device=be.device)
        return cls(be, cfg, judge=judge, **kwargs)

    # ------------------------------------------------------------------ labels
    def set_judge(self, judge) -> None:
        """Use ``judge`` for source estimates; it must know every model attribute."""
        missing = [a for a in self.attrs if a not in judge.attrs]
        if missing:
            raise UserError(
                f"the judge classifier does not predict {', '.join(missing)}, which the model "
                f"edits; use a judge trained on the model's attributes ({', '.join(self.attrs)})"
            )
        self.judge = judge

    def index(self, name: str) -> int:
        """Position of attribute ``name`` (raises with a suggestion if unknown)."""
        return self.attrs.index(check_attr_name(name, self.attrs))

    def estimate_source(self, crops: torch.Tensor) -> torch.Tensor:
        """crops (B, 3, S, S) in [-1, 1] -> binary source labels (B, n_attrs) from the judge."""
        if self.judge is None:
            raise UserError(
                "the source attributes are unknown: pass source={...} (--source-attrs) or "
                "give a judge classifier (--judge DIR, or export the model with --judge)"
            )
        s = self.judge.img_size
        probs = self.judge.predict(_resize(crops, (s, s)).to(self.judge.device)).cpu()
        cols = [self.judge.attrs.index(a) for a in self.attrs]
        return (probs[:, cols] > 0.5).float()

    def encode_target(self, source: torch.Tensor, changes: Mapping[str, float]) -> torch.Tensor:
        """Binary source (B, n) + {attr: intensity} -> the encoded target (B, n).

        Attributes switched on (intensity > 0) apply their conflict rules; the
        named entries then become ``intensity * test_int``; the rest keep
        ``(2 * source - 1) * thres_int``.
        """
        idx = {name: self.index(name) for name in changes}
        on = [n for n, v in changes.items() if float(v) > 0]
        for a in on:
            clash = [b for b in on if b in CONFLICTS.get(a, ())]
            if clash:
                raise UserError(f"{a} and {clash[0]} cannot both be switched on (conflict rule)")
        binary = source.clone().float()
        for name, v in changes.items():
            binary = apply_conflicts(binary, self.attrs, idx[name], 1.0 if float(v) > 0 else 0.0)
        target = encode(binary, self.thres_int)
        for name, v in changes.items():
            target[:, idx[name]] = float(v) * self.test_int
        return target

    def _sources(self, source, crops: torch.Tensor, owner: list[int]) -> torch.Tensor:
        """Binary (F, n) source rows for F crops, from ``source`` and/or the judge."""
        n = len(self.attrs)
        if source is None:
            return self.estimate_source(crops)
        if isinstance(source, Mapping):
            rows = torch.full((1, n), float("nan"))
            for name, v in source.items():
                rows[0, self.index(name)] = float(v)
        else:
            rows = torch.as_tensor(np.asarray(source, np.float32))
            if rows.numel() == 0 or rows.shape[-1] != n:
                raise UserError(
                    f"source must give {n} values per image, one per model attribute "
                    f"({', '.join(self.attrs)}), got shape {tuple(rows.shape)}"
                )
            rows = rows.reshape(-1, n)
        if ((rows < 0) | (rows > 1)).any():
            raise UserError("source attributes must be 0 or 1 (absent / present)")
        n_images = max(owner) + 1
        if len(rows) not in (1, n_images):
            raise UserError(
                f"source has {len(rows)} rows for {n_images} images: give one row per image "
                f"or a single row of {n} values ({', '.join(self.attrs)})"
            )
        rows = rows[torch.as_tensor(owner)] if len(rows) > 1 else rows.expand(len(owner), n)
        unknown = torch.isnan(rows)
        if unknown.any():
            guess = (
                self.estimate_source(crops) if self.judge is not None else torch.zeros_like(rows)
            )
            rows = torch.where(unknown, guess, rows)
        return rows.clone()

    # ------------------------------------------------------------------ faces
    @property
    def detector(self) -> FaceDetector:
        if self._detector is None:
            self._detector = default_detector()
        return self._detector

    def find_faces(self, rgb: np.ndarray) -> list[Face]:
        """Faces in an RGB uint8 (H, W, 3) photo, numbered left to right."""
        return self.detector.detect(rgb)

    def _aligned_crops(self, photos: list[Photo], face_index: int | None):
        crops, mats, owner = [], [], []
        for i, p in enumerate(photos):
            faces = self.find_faces(p.rgb)
            where = f"image {i}" if p.path is None else str(p.path)
            if not faces:
                raise NoFaceError(
                    f"no face found in {where}; use a photo with a visible, roughly frontal "
                    "face, or align=False (--no-align) for images already cropped to a face"
                )
            if face_index is not None:
                if not 0 <= face_index < len(faces):
                    raise UserError(
                        f"face {face_index} requested but {where} has {len(faces)} face(s), "
                        f"numbered 0 to {len(faces) - 1} from left to right"
                    )
                faces = [faces[face_index]]
            for f in faces:
                crop, m = crop_face(p.rgb, f, self.framing, self.size)
                crops.append(crop)
                mats.append(m)
                owner.append(i)
        x = to_model(torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).contiguous())
        return x, mats, owner

    # ------------------------------------------------------------------ core
    def _generate(self, crops: torch.Tensor, targets: list[torch.Tensor], source: torch.Tensor):
        """Edited crops (K, F, 3, S, S) for K targets of F crops, in chunks."""
        k, f = len(targets), len(crops)
        x = crops.repeat(k, 1, 1, 1)
        t, s = torch.cat(targets), encode(source, self.thres_int).repeat(k, 1)
        outs = [
            self.backend(
                x[i : i + self.batch_size], t[i : i + self.batch_size], s[i : i + self.batch_size]
            )[0]
            for i in range(0, len(x), self.batch_size)
        ]
        return torch.cat(outs).reshape(k, f, *crops.shape[1:])

    def _apply(
        self,
        image,
        plan: Callable[[torch.Tensor], list[torch.Tensor]],
        source,
        align: bool,
        face_index: int | None,
    ) -> list:
        batch = to_batch(image)
        if align:
            crops, mats, owner = self._aligned_crops(batch.photos, face_index)
        else:
            crops, owner = self._square_crops(batch), list(range(len(batch.photos)))
        src = self._sources(source, crops, owner)
        edited = self._generate(crops, plan(src), src)
        results = []
        for out in edited:
            if align:
                photos = [Photo(p.rgb, p.alpha, p.path) for p in batch.photos]
                crops_u8 = to_uint8(out).permute(0, 2, 3, 1).numpy()
                for crop, m, i in zip(crops_u8, mats, owner):
                    photos[i].rgb = paste_back(photos[i].rgb, crop, m, self.feather)
                results.append(batch.restore(photos))
            else:
                results.append(self._unsquare(batch, out))
        return results

    def _square_crops(self, batch: Batch) -> torch.Tensor:
        crops = []
        for i, p in enumerate(batch.photos):
            x = batch.floats[i : i + 1] if batch.floats is not None else _photo_float(p)
            y0, x0, side = _centre_square(*x.shape[-2:])
            crops.append(_resize(x[..., y0 : y0 + side, x0 : x0 + side], (self.size, self.size)))
        return torch.cat(crops)

    def _unsquare(self, batch: Batch, out: torch.Tensor):
        full = []
        for i, p in enumerate(batch.photos):
            x = batch.floats[i : i + 1] if batch.floats is not None else _photo_float(p)
            y0, x0, side = _centre_square(*x.shape[-2:])
            x = x.clone()
            x[..., y0 : y0 + side, x0 : x0 + side] = _resize(out[i : i + 1], (side, side))
            full.append(x)
        if batch.floats is not None:
            return batch.restore(torch.cat(full))
        rgb = [to_uint8(x[0]).permute(1, 2, 0).numpy() for x in full]
        return batch.restore([Photo(r, p.alpha, p.path) for r, p in zip(rgb, batch.photos)])

    # ------------------------------------------------------------------ public
    def edit(
        self,
        image,
        changes: Mapping[str, float] | None = None,
        source=None,
        align: bool = True,
        face_index: int | None = None,
    ):
        """Apply ``changes`` ({attr: intensity}) to ``image``; returns the input's type.

        image: PIL image (or list), numpy uint8 (H, W, 3) / (B, H, W, 3), or a tensor
        (3, H, W) / (B, 3, H, W) (uint8, or float in [-1, 1]). source: binary
        attributes {name: 0/1} (unnamed ones from the judge, else 0) or a sequence
        over ``self.attrs``; ``None`` asks the judge. ``face_index``: edit only that
        face (numbered left to right); ``None`` edits every face found.
        """
        changes = dict(changes or {})
        for name in changes:
            self.index(name)
        _check_request(image, self.max_pixels, changes)
        return self._apply(
            image, lambda s: [self.encode_target(s, changes)], source, align, face_index
        )[0]

    def interpolate(
        self,
        image,
        attr: str,
        steps: int = 8,
        range: tuple[float, float] = (-1.0, 1.0),
        source=None,
        align: bool = True,
        face_index: int | None = None,
    ) -> list:
        """``steps`` edits sweeping ``attr`` from ``range[0]`` to ``range[1]`` (a slider)."""
        self.index(attr)
        if steps < 2:
            raise UserError(f"steps must be at least 2, got {steps}")
        _check_request(image, self.max_pixels, {"range": range[0], "range end": range[1]})
        values = np.linspace(range[0], range[1], steps)
        return self._apply(
            image,
            lambda s: [self.encode_target(s, {attr: float(v)}) for v in values],
            source,
            align,
            face_index,
        )

    def edit_all(
        self,
        image,
        intensity: float = 1.0,
        source=None,
        align: bool = True,
        face_index: int | None = None,
    ) -> dict[str, object]:
        """One edit per attribute, each flipped relative to the source (the paper's
        test strip). Returns {attr: edited image} in the model's attribute order."""
        _check_request(image, self.max_pixels, {"intensity": intensity})

        def plan(s: torch.Tensor) -> list[torch.Tensor]:
            targets = []
            for i, name in enumerate(self.attrs):
                rows = [
                    self.encode_target(row[None], {name: -intensity if row[i] > 0.5 else intensity})
                    for row in s
                ]
                targets.append(torch.cat(rows))
            return targets

        outs = self._apply(image, plan, source, align, face_index)
        return dict(zip(self.attrs, outs))


def _check_request(image, max_pixels: int | None, values: Mapping[str, float]) -> None:
    """Refuse empty or too large images and non-finite intensities before any work."""
    check_image(image, max_pixels)
    for name, v in values.items():
        if not math.isfinite(float(v)):
            raise UserError(f"{name}: the intensity {v} is not a finite number; use e.g. 1 or -0.5")


def _photo_float(p: Photo) -> torch.Tensor:
    return to_model(torch.from_numpy(np.array(p.rgb)).permute(2, 0, 1).contiguous())[None]


def _centre_square(h: int, w: int) -> tuple[int, int, int]:
    side = min(h, w)
    return (h - side) // 2, (w - side) // 2, side
