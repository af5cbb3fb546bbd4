"""Editing anyone's photo: face detection, alignment, the ``Editor`` API, paste-back.

Inference only: nothing here imports ``intergan.training``. See docs/editing.md.
"""

from intergan.editing.editor import Editor, NoFaceError

__all__ = ["Editor", "NoFaceError"]
