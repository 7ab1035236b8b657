"""Networks: the SepConv generator, the conditional discriminators and the model registry.

Frames are RGB, float32 in [0, 1], B×3×H×W. Build models by name with
:func:`create_model` and rebuild them from a checkpoint's ``architecture`` and
``config`` with :func:`model_from_config`.
"""

from sepgan.models.discriminators import ConditionalDiscriminator, PatchDiscriminator, WassersteinCritic
from sepgan.models.registry import (
    MODEL_REGISTRY,
    RENAMED_OPTIONS,
    create_model,
    list_models,
    model_from_config,
    register_model,
    upgrade_config,
)
from sepgan.models.sepconv import SepConv

__all__ = [
    "MODEL_REGISTRY",
    "RENAMED_OPTIONS",
    "ConditionalDiscriminator",
    "PatchDiscriminator",
    "SepConv",
    "WassersteinCritic",
    "create_model",
    "list_models",
    "model_from_config",
    "register_model",
    "upgrade_config",
]
