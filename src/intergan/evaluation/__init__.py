"""Evaluation: image metrics, the judge classifier and the evaluation protocol.

This package never imports ``intergan.training``: it reads checkpoints and
datasets only.
"""
