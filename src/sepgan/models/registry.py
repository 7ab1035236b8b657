"""Registry of model factories, so models are built by name and rebuilt from checkpoints.

A registered name maps to a factory ``(**overrides) -> nn.Module``. Presets
such as ``sepconv-lite`` are the same class with other defaults. Every model
carries a class-level ``architecture`` (the name of its class's base entry,
e.g. ``"sepconv"``) and a JSON-serialisable ``config`` holding *all* its
constructor arguments, recorded by :mod:`sepgan.models.configurable`, so
``model_from_config(model.architecture, model.config)`` rebuilds it whichever
preset it came from. Configs saved before an argument was renamed still load:
:func:`upgrade_config` maps the old names (:data:`RENAMED_OPTIONS`).

Registered names:

* ``sepconv``: the paper network, K = 51, 21,675,452 parameters.
* ``sepconv-lite``: K = 51 with half the widths (16-32-64-128-256), ≈ 4× fewer
  parameters and FLOPs in the U-Net; same ±25 px reach.
* ``flow-sepconv``: the default generator: OpenCV DIS flow pre-aligns the inputs and
  a light U-Net predicts flow corrections, K = 7 separable kernels, a blend mask
  and a residual (see :mod:`sepgan.models.flow_sepconv`).
* ``flow-sepconv-tiny``: the same with widths 4-8-8-8-8 and K = 3, for tests.
* ``sepconv-tiny``: K = 5, widths 4-8-8-8-8; for tests only (reaches ±2 px).
* ``dcgan-discriminator``: :class:`ConditionalDiscriminator`, 64×64 input.
* ``wgan-critic``: :class:`WassersteinCritic`, 64×64 input.
* ``patch-discriminator``: :class:`PatchDiscriminator` (PatchGAN) with spectral norm, any size
  that is a multiple of 16; for ``dcgan``.
* ``patch-critic``: the same without spectral norm or any normalisation; for ``wgan-gp``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from sepgan.models.discriminators import ConditionalDiscriminator, PatchDiscriminator, WassersteinCritic
from sepgan.models.flow_sepconv import FlowSepConv
from sepgan.models.sepconv import SepConv

__all__ = [
    "MODEL_REGISTRY",
    "RENAMED_OPTIONS",
    "create_model",
    "list_models",
    "model_from_config",
    "register_model",
    "upgrade_config",
]

ModelFactory = Callable[..., nn.Module]

MODEL_REGISTRY: dict[str, ModelFactory] = {}

# Constructor arguments renamed after checkpoints were saved with them:
# architecture → {old name: new name}.
RENAMED_OPTIONS: dict[str, dict[str, str]] = {
    "flow-sepconv": {"corrections": "with_network"},  # False meant no network at all
}


def register_model(name: str) -> Callable[[ModelFactory], ModelFactory]:
    """Decorator that registers a factory (a function or an ``nn.Module`` class) under ``name``."""

    def decorator(factory: ModelFactory) -> ModelFactory:
        if name in MODEL_REGISTRY:
            raise ValueError(f"model name {name!r} is already registered")
        MODEL_REGISTRY[name] = factory
        return factory

    return decorator


def list_models() -> list[str]:
    """All registered model names, sorted."""
    return sorted(MODEL_REGISTRY)


def create_model(name: str, **overrides: Any) -> nn.Module:
    """Build the model registered as ``name``; ``overrides`` replace constructor defaults."""
    if name not in MODEL_REGISTRY:
        raise ValueError(f"unknown model {name!r}; registered models: {', '.join(list_models())}")
    return MODEL_REGISTRY[name](**overrides)


def upgrade_config(architecture: str, config: dict[str, Any]) -> dict[str, Any]:
    """A saved ``config`` with the arguments renamed since it was saved under their new names.

    Raises:
        TypeError: the config gives both an old name and its new one.
    """
    upgraded = dict(config)
    for old, new in RENAMED_OPTIONS.get(architecture, {}).items():
        if old in upgraded:
            if new in upgraded:
                raise TypeError(f"config gives both {old!r} and its new name {new!r}")
            upgraded[new] = upgraded.pop(old)
    return upgraded


def model_from_config(architecture: str, config: dict[str, Any]) -> nn.Module:
    """Rebuild a model from the ``architecture`` and ``config`` saved with a checkpoint.

    Old argument names are mapped first (:func:`upgrade_config`).
    """
    return create_model(architecture, **upgrade_config(architecture, config))


@register_model("sepconv")
def sepconv(**overrides: Any) -> SepConv:
    return SepConv(**overrides)


@register_model("sepconv-lite")
def sepconv_lite(**overrides: Any) -> SepConv:
    return SepConv(**{"kernel_size": 51, "channels": (16, 32, 64, 128, 256), **overrides})


@register_model("sepconv-tiny")
def sepconv_tiny(**overrides: Any) -> SepConv:
    return SepConv(**{"kernel_size": 5, "channels": (4, 8, 8, 8, 8), **overrides})


@register_model("flow-sepconv")
def flow_sepconv(**overrides: Any) -> FlowSepConv:
    return FlowSepConv(**overrides)


@register_model("flow-sepconv-tiny")
def flow_sepconv_tiny(**overrides: Any) -> FlowSepConv:
    return FlowSepConv(**{"kernel_size": 3, "channels": (4, 8, 8, 8, 8), **overrides})


@register_model("dcgan-discriminator")
def dcgan_discriminator(**overrides: Any) -> ConditionalDiscriminator:
    return ConditionalDiscriminator(**overrides)


@register_model("wgan-critic")
def wgan_critic(**overrides: Any) -> WassersteinCritic:
    return WassersteinCritic(**overrides)


@register_model("patch-discriminator")
def patch_discriminator(**overrides: Any) -> PatchDiscriminator:
    return PatchDiscriminator(**overrides)


@register_model("patch-critic")
def patch_critic(**overrides: Any) -> PatchDiscriminator:
    return PatchDiscriminator(**{"spectral_norm": False, "normalization": "none", **overrides})
