"""InterGAN: facial attribute editing with HFCM and cross-task interaction."""

__version__ = "0.1.0"
