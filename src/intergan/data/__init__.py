"""Datasets: the SynthFaces renderer (``intergan.data.synthfaces``) and the loaders."""
