"""The configuration of a run, in parts by job: ``schema`` (the dataclasses, presets
and file I/O), ``checks`` (allowed values, ``validate_model``, ``validate_train``),
``overrides`` (the flags and ``--set``), ``migrations`` (files of earlier versions)
and ``typecheck`` (a loaded file's field types). Import from here.
"""

from intergan.config.checks import (
    AMP_MODES,
    B_DISTRIBUTIONS,
    CTI_INITS,
    MODES,
    NORMS,
    PRESETS,
    VARIANTS,
    validate_model,
    validate_train,
)
from intergan.config.migrations import LEGACY_MODEL_FIELDS, REMOVED_FIELDS, SAVED_ZERO_BOTTLENECK
from intergan.config.overrides import TRAIN_FLAGGED, TRAIN_FLAGS, apply_overrides
from intergan.config.schema import (
    BOTTLENECK_BY_SIZE,
    CONFIG_FIX,
    MODEL_PRESETS,
    PRESET_SIZES,
    Config,
    DataConfig,
    ModelConfig,
    TrainConfig,
    dis_layers,
    model_config,
)
from intergan.config.typecheck import check_types

__all__ = [
    "AMP_MODES",
    "B_DISTRIBUTIONS",
    "BOTTLENECK_BY_SIZE",
    "CONFIG_FIX",
    "CTI_INITS",
    "LEGACY_MODEL_FIELDS",
    "MODEL_PRESETS",
    "MODES",
    "NORMS",
    "PRESETS",
    "PRESET_SIZES",
    "REMOVED_FIELDS",
    "SAVED_ZERO_BOTTLENECK",
    "TRAIN_FLAGGED",
    "TRAIN_FLAGS",
    "VARIANTS",
    "Config",
    "DataConfig",
    "ModelConfig",
    "TrainConfig",
    "apply_overrides",
    "check_types",
    "dis_layers",
    "model_config",
    "validate_model",
    "validate_train",
]
