"""Benchmarks that span training and evaluation (``intergan bench ...``).

Unlike ``intergan.evaluation``, this package may import ``intergan.training``.
"""
