"""Training: the step functions, the driver, checkpoints of the full state, and the
``intergan train`` command. Nothing outside this package imports it."""

from intergan.training.loop import TrainResult, train

__all__ = ["TrainResult", "train"]
