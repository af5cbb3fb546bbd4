"""InterGAN models: generators (InterGAN and its ablations, AttGAN) and the discriminator.

Build them from a ``ModelConfig``; ``cfg.variant`` picks the generator:
``intergan``, ``no_hfcm``, ``no_cti`` (``InterGANGenerator``) or ``attgan``
(``AttGANGenerator``). All share ``forward(images, target, source) -> GeneratorOutput``.
"""

from __future__ import annotations

from intergan.config import ModelConfig, validate_model
from intergan.models.attgan import AttGANGenerator
from intergan.models.common import GeneratorOutput
from intergan.models.discriminator import Discriminator
from intergan.models.generator import InterGANGenerator

Generator = InterGANGenerator | AttGANGenerator

__all__ = [
    "AttGANGenerator",
    "Discriminator",
    "Generator",
    "GeneratorOutput",
    "InterGANGenerator",
    "build_discriminator",
    "build_generator",
]


def build_generator(cfg: ModelConfig) -> Generator:
    """The generator for ``cfg.variant`` (validated first; raises ``UserError``)."""
    validate_model(cfg)
    if cfg.variant == "attgan":
        return AttGANGenerator(cfg)
    return InterGANGenerator(cfg)


def build_discriminator(cfg: ModelConfig) -> Discriminator:
    """AttGAN's discriminator sized for ``cfg.img_size`` and ``cfg.n_attrs``."""
    validate_model(cfg)
    return Discriminator(cfg)
