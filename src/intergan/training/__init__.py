"""Training: the step functions, the driver, checkpoints of the full state, and the
``intergan train`` command. Nothing outside this package imports it."""

from intergan.training.loop import RunPlan, TrainResult, plan_run, run_plan, train

__all__ = ["RunPlan", "TrainResult", "plan_run", "run_plan", "train"]
