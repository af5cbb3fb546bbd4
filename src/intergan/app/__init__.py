"""The user-facing front ends: the Gradio web editor (``web``) and ``intergan demo``.

Everything here drives the inference API in ``intergan.editing``; nothing imports
training code. Gradio is imported only by ``web`` (the ``app`` extra).
"""
