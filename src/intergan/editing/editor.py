"""The ``Editor``: change facial attributes in any photo (inference only).

    editor = Editor.from_pretrained("runs/synth64")          # or an exported folder
    out = editor.edit(photo, {"Blond_Hair": 1.0, "Eyeglasses": 0.7})
    strip = editor.edit_all(photo)                            # {attr: image}
    frames = editor.interpolate(photo, "Young", steps=8)
    session = editor.open(photo)                              # many edits of one photo
    a, b = session.edit({"Young": 1}), session.edit({"Young": 0.5})
    c = editor.edit(photo, {"Young": 1}, blend="delta")       # the photo + the change

Intensities are continuous: the value ``v`` of an attribute becomes its encoded
target entry ``v * test_int`` (the paper's test intensity, 1.0 by default), so 1
switches it on, -1 off, and values beyond +-1 extrapolate. Switching an attribute
on applies the conflict rules of ``intergan.attributes``. With ``align=True``
every face found is cut out in the model's training framing, edited and pasted
back at full resolution; ``align=False`` edits the centred square as is.
``blend`` (``paste.BLENDS``) puts back the model's output (``"raw"``) or adds the
model's change to the photo (``"delta"``); ``None`` is ``paste.DEFAULT_BLEND``.

The editor is a facade over small parts: ``labels`` (what an edit asks for, the
source labels and the judge), ``backends`` (loading and running the generator)
and ``session``, the one crop -> generate -> paste pipeline (``crops``,
``backends.generate``, ``paste``). Every edit method checks its request first
(``labels``), then opens a session on the image and renders the request there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

from intergan.config import Config
from intergan.editing.align import Framing, framing_for_config, get_framing
from intergan.editing.convert import to_batch
from intergan.editing.crops import NoFaceError
from intergan.editing.faces import Face, FaceDetector, default_detector
from intergan.editing.io import DEFAULT_MAX_PIXELS
from intergan.editing.labels import Labels, SourceSpec, check_judge, require_judge
from intergan.editing.paste import check_blend
from intergan.editing.session import EditSession
from intergan.hardware import pick_device  # the one meaning of --device auto

if TYPE_CHECKING:
    from intergan.editing.backends import Backend
    from intergan.models.judge import Judge

__all__ = ["Editor", "NoFaceError", "pick_device"]


class Editor:
    """Edits faces with a generator backend (``backends.TorchBackend`` / ``OnnxBackend``).

    config: the model's ``Config`` (attributes, size, label scales); judge: an
    attribute classifier (``intergan.models.judge``, trained by ``intergan classifier
    train``) that estimates the source attributes when they are not given; detector:
    a ``FaceDetector`` (MTCNN by default, built on first use); framing: a ``Framing``
    or its name (default: chosen from the training data in ``config``). ``max_pixels``:
    the largest image (width x height) the edit methods accept; ``None`` for no limit.
    """

    max_pixels: int | None = DEFAULT_MAX_PIXELS

    def __init__(
        self,
        backend: Backend,
        config: Config,
        judge: Judge | None = None,
        detector: FaceDetector | None = None,
        framing: Framing | str | None = None,
        feather: float = 0.1,
        batch_size: int = 16,
    ) -> None:
        self.backend, self.config = backend, config
        self.labels = Labels(config.model.attrs, config.train.thres_int, config.train.test_int)
        self.attrs: list[str] = self.labels.attrs
        self.size: int = config.model.img_size
        self.thres_int, self.test_int = config.train.thres_int, config.train.test_int
        self._detector = detector
        if isinstance(framing, str):
            framing = get_framing(framing)
        self.framing: Framing = framing or framing_for_config(config)
        self.feather, self.batch_size = feather, batch_size
        self.judge: Judge | None = None
        if judge is not None:
            self.set_judge(judge)

    @classmethod
    def from_pretrained(
        cls,
        path: str | os.PathLike,
        device: str | torch.device | None = None,
        backend: str = "auto",
        judge: str | os.PathLike | Judge | None = None,
        **kwargs: Any,
    ) -> Editor:
        """Load an exported folder (``generator.safetensors`` + ``config.json``, or
        ``generator.onnx`` with ``backend="onnx"``), a training run / checkpoint, or a
        model shipped in the package by its short name (``"synthfaces-64"``).

        backend: ``"auto"`` (bfloat16 PyTorch on CPUs with native bf16; on other CPUs
        ONNX Runtime when the folder has ``generator.onnx``, else float32 PyTorch;
        ``backends.choose_backend``), ``"torch"`` (float32), ``"torch-bf16"``
        or ``"onnx"``; ``editor.backend.why`` says why. ``judge``: a judge folder or
        object; by default an exported folder's own judge (``judge.json`` beside the
        generator) is used when present. ``kwargs`` go to ``Editor``."""
        from intergan.editing.backends import load_backend
        from intergan.editing.pretrained import resolve_model
        from intergan.models.export import find_judge

        path = resolve_model(path)
        be, cfg = load_backend(path, pick_device(device), backend)
        judge = judge if judge is not None else find_judge(path)
        if isinstance(judge, (str, os.PathLike)):
            from intergan.models.judge import load_judge

            judge = load_judge(judge, device=be.device)
        return cls(be, cfg, judge=judge, **kwargs)

    # ------------------------------------------------------------------ labels
    def set_judge(self, judge: Judge) -> None:
        """Use ``judge`` for source estimates; it must know every model attribute."""
        self.judge = check_judge(judge, self.attrs)

    def require_judge(self) -> None:
        """Raise, saying how to give one, when the editor has no judge."""
        require_judge(self.judge)

    def index(self, name: str) -> int:
        """Position of attribute ``name`` (raises with a suggestion if unknown)."""
        return self.labels.index(name)

    def encode_target(self, source: torch.Tensor, changes: Mapping[str, float]) -> torch.Tensor:
        """Binary source (B, n) + {attr: intensity} -> the encoded target (B, n)
        (``labels.Labels.target``)."""
        return self.labels.target(source, changes)

    # ------------------------------------------------------------------ faces
    @property
    def detector(self) -> FaceDetector:
        if self._detector is None:
            self._detector = default_detector()
        return self._detector

    def find_faces(self, image: object) -> list[Face] | list[list[Face]]:
        """Faces in ``image`` (any type ``edit`` takes), numbered left to right: a list
        for one image, a list per image for a batch."""
        batch = to_batch(image)
        faces = [self.detector.detect(p.rgb) for p in batch.photos]
        return faces[0] if batch.single else faces

    # ------------------------------------------------------------------ public
    def open(
        self,
        image: object,
        source: SourceSpec = None,
        align: bool = True,
        face_index: int | None = None,
    ) -> EditSession:
        """Open ``image`` for many edits: detection, alignment, the source estimate
        and the encoder run once; ``session.edit(changes)`` is then fast. Arguments
        as ``edit``."""
        return EditSession(self, image, source, align, face_index)

    def estimate(
        self, image: object, align: bool = True, face_index: int | None = None
    ) -> list[dict[str, float]]:
        """The judge's probability of each attribute, ``{attr: p}`` per face edited
        (images in order, faces left to right; ``editor.estimate(photo)[0]`` for a
        one-face photo). ``image``, ``align`` and ``face_index`` as in ``edit``."""
        self.require_judge()
        return self.open(image, None, align, face_index).estimate()

    def edit(
        self,
        image: object,
        changes: Mapping[str, float] | None = None,
        source: SourceSpec = None,
        align: bool = True,
        face_index: int | None = None,
        blend: str | None = None,
    ) -> object:
        """Apply ``changes`` ({attr: intensity}) to ``image``; returns the input's type.

        image: PIL image (or list), numpy uint8 (H, W, 3) / (B, H, W, 3), or a tensor
        (3, H, W) / (B, 3, H, W) (uint8, or float in [-1, 1]). source: binary
        attributes {name: 0/1} (unnamed ones from the judge, else 0), a sequence over
        ``self.attrs``, or text as ``--source-attrs`` takes it (``"Male,Young"``: exactly
        these present; ``"Male=1,Young=0"``; ``Labels.parse_source``); ``None`` asks
        the judge (an error when there is none). ``face_index``: edit only that
        face (numbered left to right); ``None`` edits every face found. blend: ``"raw"``
        (the model's output pasted back) or ``"delta"`` (the photo plus the model's
        change); ``None``: ``paste.DEFAULT_BLEND``.
        """
        targets = self.labels.edit(changes)  # a bad request is refused before any work
        blend = check_blend(blend)
        return self.open(image, source, align, face_index).render(targets, blend)[0]

    def interpolate(
        self,
        image: object,
        attr: str,
        steps: int = 8,
        span: tuple[float, float] = (-1.0, 1.0),
        source: SourceSpec = None,
        align: bool = True,
        face_index: int | None = None,
        blend: str | None = None,
    ) -> list[object]:
        """``steps`` edits sweeping ``attr`` from ``span[0]`` to ``span[1]`` (a slider)."""
        targets, blend = self.labels.sweep(attr, steps, span), check_blend(blend)
        return self.open(image, source, align, face_index).render(targets, blend)

    def edit_all(
        self,
        image: object,
        intensity: float = 1.0,
        source: SourceSpec = None,
        align: bool = True,
        face_index: int | None = None,
        blend: str | None = None,
    ) -> dict[str, object]:
        """One edit per attribute, each flipped relative to the source (the paper's
        test strip). Returns {attr: edited image} in the model's attribute order."""
        targets, blend = self.labels.flip_each(intensity), check_blend(blend)
        edits = self.open(image, source, align, face_index).render(targets, blend)
        return dict(zip(self.attrs, edits))
