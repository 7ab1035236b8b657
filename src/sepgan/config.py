"""Typed training configuration: YAML files plus dotted ``key=value`` overrides.

A run's resolved configuration is written to ``<output_dir>/config.yaml`` so the
run can be reproduced and resumed from its folder alone. Files and overrides are
read by one YAML loader (:class:`ConfigLoader`), which reads ``1e-4`` as a number.

Defaults follow the seed project: Adam with β = (0.5, 0.999) and learning rate
3e-4 for both networks, batches of 128 crops of 64×64, and an L1 weight λ that
decays from 100 to below 1. ``configs/wgan-gp.yaml`` instead follows Gulrajani
et al. (2017) for the critic: β = (0, 0.9), learning rate 1e-4, five critic
steps per generator step and a gradient-penalty weight of 10.
"""

from __future__ import annotations

import dataclasses
import math
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sepgan.errors import UserError
from sepgan.options import MAX_SEED


class ConfigError(UserError, ValueError):
    """A configuration file or override that can't be applied."""


@dataclass
class ModelConfig:
    name: str = "sepconv"  # registry name, see sepgan.models.list_models()
    options: dict[str, Any] = field(default_factory=dict)  # constructor overrides, e.g. kernel_size
    # Fine-tuning: a weights folder or bundled name (e.g. "sepgan-flow") whose weights start the
    # generator. Its architecture must be ``name`` and its tensors must fit ``options``.
    init_from: str | None = None


@dataclass
class DiscriminatorConfig:
    name: str = "auto"  # "auto": dcgan-discriminator for dcgan, wgan-critic for wgan-gp
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class DataConfig:
    paths: list[str] = field(default_factory=list)  # dataset roots or video files
    layout: str = "auto"
    gaps: list[int] = field(default_factory=lambda: [1])  # temporal gaps for sequences and videos
    crop_size: int = 64
    batch_size: int = 128
    num_workers: int = 0
    flip_horizontal: bool = True
    flip_vertical: bool = True
    temporal_reverse: bool = True
    channel_permute: bool = False
    validation_size: int = 8  # samples in the fixed validation batch
    # Held-out data for validation (e.g. a `sepgan prepare` set of whole sources never trained on),
    # used whole (no crop, no flip); empty: the fixed batch comes from the training data.
    validation_paths: list[str] = field(default_factory=list)
    cache_dir: str | None = None  # where decoded video frames are cached
    max_side: int | None = None  # downscale decoded video frames so the longer side is at most this


@dataclass
class OptimConfig:
    generator_lr: float = 3e-4
    generator_betas: list[float] = field(default_factory=lambda: [0.5, 0.999])
    discriminator_lr: float = 3e-4
    discriminator_betas: list[float] = field(default_factory=lambda: [0.5, 0.999])
    n_critic: int = 1  # discriminator/critic steps per generator step
    # Adversarial modes: for the first steps only the adversary trains, on the outputs of the
    # generator as it starts (e.g. the L1 weights of model.init_from); λ's schedule starts after.
    discriminator_warmup_steps: int = 0
    gradient_penalty_weight: float = 10.0
    grad_clip: float | None = None
    # Cosine decay of both learning rates from their value to value × lr_min_ratio over
    # decay_steps generator steps, constant afterwards; None keeps them constant. The rate is a
    # function of the step alone, so a resumed run follows the same schedule.
    decay_steps: int | None = None
    lr_min_ratio: float = 0.05
    warmup_steps: int = 0  # linear ramp of the learning rates from 0 over the first steps

    def lr_scale(self, step: int) -> float:
        """Factor applied to the base learning rates at generator step ``step``."""
        warmup = min(1.0, (step + 1) / self.warmup_steps) if self.warmup_steps else 1.0
        if not self.decay_steps:
            return warmup
        return warmup * self._decay(step)

    def _decay(self, step: int) -> float:
        progress = min(step, self.decay_steps) / self.decay_steps
        return self.lr_min_ratio + (1.0 - self.lr_min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


@dataclass
class LambdaSchedule:
    """Weight of the L1 term in adversarial modes: ``start`` decaying to ``end``.

    ``shape`` is "constant" (always ``start``), "linear" or "exponential" (a
    geometric decay), reaching ``end`` after ``steps`` generator steps and
    staying there.
    """

    start: float = 100.0
    end: float = 0.5
    steps: int = 10_000
    shape: str = "exponential"

    def value(self, step: int) -> float:
        if self.shape == "constant" or self.steps <= 0:
            return self.start
        progress = min(max(step / self.steps, 0.0), 1.0)
        if self.shape == "linear":
            return self.start + (self.end - self.start) * progress
        if self.shape == "exponential":
            return math.exp(math.log(self.start) + (math.log(self.end) - math.log(self.start)) * progress)
        raise ConfigError(f"unknown lambda schedule shape {self.shape!r}")


@dataclass
class TrainConfig:
    mode: str = "l1"  # l1, dcgan or wgan-gp: sepgan.training.objectives
    output_dir: str = "runs/train"
    seed: int = 0
    max_steps: int = 1000  # generator steps
    log_every: int = 10
    validate_every: int = 100
    image_every: int = 500
    checkpoint_every: int = 500
    # Also keep the generator of every N-th step as generator-step_NNNNNN/ (choosing a GAN's
    # checkpoint afterwards needs more than the best PSNR); None keeps only the latest and the best.
    snapshot_every: int | None = None
    device: str = "auto"
    precision: str = "auto"  # fp32 | bf16 | fp16 | auto
    model: ModelConfig = field(default_factory=ModelConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    lambda_l1: LambdaSchedule = field(default_factory=LambdaSchedule)

    def validate(self) -> None:
        from sepgan.training.objectives import objective  # here: this module stays torch-free at import

        try:
            objective(self.mode)
        except ValueError as error:
            raise ConfigError(str(error)) from None
        if self.max_steps < 0 or self.data.batch_size < 1 or self.data.crop_size < 1:
            raise ConfigError("max_steps must be ≥ 0, and batch_size and crop_size ≥ 1")
        if not 0 <= self.seed <= MAX_SEED:
            raise ConfigError(f"seed must be a whole number from 0 to 2^64 - 1, got {self.seed}")
        if self.optim.n_critic < 1:
            raise ConfigError("optim.n_critic must be ≥ 1")
        if self.optim.discriminator_warmup_steps < 0:
            raise ConfigError("optim.discriminator_warmup_steps must be ≥ 0")
        for name in ("log_every", "validate_every", "image_every", "checkpoint_every", "snapshot_every"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ConfigError(f"{name} must be ≥ 1")
        self.lambda_l1.value(0)  # raises on an unknown shape


def _convert(value: Any, annotation: Any, key: str) -> Any:
    """Coerce a YAML value to a dataclass field's annotated type."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if dataclasses.is_dataclass(annotation):
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a mapping, got {value!r}")
        return _from_dict(annotation, value, key + ".")
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if value is None and type(None) in args:
            return None
        (inner,) = [arg for arg in args if arg is not type(None)]
        return _convert(value, inner, key)
    if origin is list:
        if not isinstance(value, (list, tuple)):
            value = [value]
        return [_convert(item, args[0], key) for item in value]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a mapping, got {value!r}")
        return dict(value)
    return _convert_scalar(value, annotation, key)


def _convert_scalar(value: Any, annotation: Any, key: str) -> Any:
    """Check a YAML scalar against a plain annotation (bool, int, float, str, Any)."""
    if annotation is Any:
        return value
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {value!r}")
        return value
    if annotation in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key} must be a number, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):  # 1e400 reads as inf
            raise ConfigError(f"{key} must be a finite number, got {value!r}")
        if annotation is int and isinstance(value, float) and not value.is_integer():
            raise ConfigError(f"{key} must be an integer, got {value!r}")
        return annotation(value)
    if annotation is str:
        return str(value)
    return value


def _from_dict(cls, data: dict, prefix: str = ""):
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"unknown config key(s): {', '.join(prefix + k for k in sorted(unknown))}")
    kwargs = {name: _convert(value, hints[name], prefix + name) for name, value in data.items()}
    return cls(**kwargs)


def _set_dotted(data: dict, dotted_key: str, value: Any) -> None:
    parts = dotted_key.split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"can't set {dotted_key}: {part} is not a section")
    node[parts[-1]] = value


class ConfigLoader(yaml.SafeLoader):
    """PyYAML's safe loader that also reads YAML 1.2 floats such as ``1e-4`` and ``5e3`` as numbers.

    PyYAML follows YAML 1.1, whose floats need a dot and a signed exponent
    (``1.0e-4``), so ``1e-4`` would load as the string ``"1e-4"``. Config files
    and dotted overrides are both read through this loader.
    """


ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^[-+]?(?:
            [0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?  # 1.  1.5  1.5e3
          | \.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?        # .5  .5e-3
          | [0-9][0-9_]*[eE][-+]?[0-9]+                # 1e-4  5e3
        )$""",
        re.VERBOSE,
    ),
    list("-+0123456789."),
)


def parse_yaml(text: str) -> Any:
    """Parse YAML text with :class:`ConfigLoader`; raises ``yaml.YAMLError``."""
    return yaml.load(text, Loader=ConfigLoader)  # a SafeLoader: plain data only


def parse_overrides(overrides: list[str]) -> list[tuple[str, Any]]:
    """``["optim.generator_lr=1e-4", "data.paths=[a,b]"]`` → typed (key, value) pairs (YAML values)."""
    parsed = []
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r} is not of the form key=value")
        try:
            value = parse_yaml(raw) if raw.strip() else ""
        except yaml.YAMLError as error:
            raise ConfigError(f"override {item!r}: {error}") from error
        parsed.append((key.strip(), value))
    return parsed


def load_train_config(path: str | Path | None = None, overrides: list[str] | None = None) -> TrainConfig:
    """Read a YAML file (or start from defaults), apply overrides, validate."""
    data: dict = {}
    if path is not None:
        path = Path(path)
        if path.is_dir():
            raise ConfigError(f"{path} is a folder; give a YAML config file (e.g. configs/l1.yaml)")
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise ConfigError(
                f"{path} is not UTF-8 text (byte {error.start}); a config is a YAML file"
            ) from error
        except OSError as error:
            raise ConfigError(f"cannot read {path}: {error.strerror or error}") from error
        try:
            data = parse_yaml(text)
        except yaml.YAMLError as error:
            raise ConfigError(f"{path} is not valid YAML: {error}") from error
        if data is None:  # an empty file: the defaults
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(
                f"{path} must hold a mapping at the top level (key: value lines), not a {type(data).__name__}"
            )
    for key, value in parse_overrides(overrides or []):
        _set_dotted(data, key, value)
    config = _from_dict(TrainConfig, data)
    config.validate()
    return config


def config_to_dict(config: TrainConfig) -> dict:
    return dataclasses.asdict(config)


def config_from_dict(data: dict) -> TrainConfig:
    config = _from_dict(TrainConfig, data)
    config.validate()
    return config


def dump_config(config: TrainConfig) -> str:
    return yaml.safe_dump(config_to_dict(config), sort_keys=False)
