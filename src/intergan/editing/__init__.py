"""Editing anyone's photo: face detection, alignment, the ``Editor`` API, paste-back.

Inference only: nothing here imports ``intergan.training``.
"""
