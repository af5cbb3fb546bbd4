"""Editing anyone's photo: face detection, alignment, the ``Editor`` API, paste-back.

Inference only: nothing here imports ``intergan.training``. See docs/editing.md.
"""

from intergan.editing.editor import Editor, NoFaceError
from intergan.editing.session import EditSession

__all__ = ["EditSession", "Editor", "NoFaceError"]
