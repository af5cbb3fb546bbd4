"""Gradio, imported with its telemetry switched off.

Every app module imports ``gr`` from here, so the environment variable that
turns off Gradio's analytics and version check is set before Gradio loads.
"""

from __future__ import annotations

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

import gradio as gr  # noqa: E402

__all__ = ["gr"]
