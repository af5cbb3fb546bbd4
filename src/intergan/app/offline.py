"""Gradio, imported with its telemetry switched off.

Every app module imports ``gr`` from here, so the environment variable that
turns off Gradio's analytics and version check is set before Gradio loads.
"""

from __future__ import annotations

import os

from intergan.errors import UserError

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

try:
    import gradio as gr
except ImportError as e:  # the `app` extra is not installed (e.g. after `make demo`)
    raise UserError(
        f"the web editor needs Gradio, which is not installed ({e}); install the app "
        "extra: `make setup`, or pip install 'intergan[app]'"
    ) from None

__all__ = ["gr"]
