"""Checkpoints: model weights that rebuild themselves, and full training state.

Two kinds of files, both written atomically (:func:`sepgan.atomic.atomic_write`:
temp file in the same folder, fsync, then ``os.replace``), so a crash never
leaves a half-written file under the real name:

* A *pretrained model folder*: ``model.safetensors`` (the weights, optionally
  stored as fp16 to halve the size) and ``config.json``
  (``{"architecture": ..., "config": {...}}``). The folder alone rebuilds the
  model through the registry in ``sepgan.models``; no code outside the package
  is needed.
* A *training state* ``training_state.pt``: both networks, both optimisers, the
  step, the λ schedule position and every RNG state. It holds only tensors and
  plain Python types and loads with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from sepgan.atomic import atomic_write, atomic_write_text
from sepgan.errors import UserError

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
TRAINING_STATE_NAME = "training_state.pt"


class CheckpointError(UserError, ValueError):
    """A checkpoint that is missing, incomplete or does not match its model."""


class UnknownOverride(CheckpointError):
    """A load-time override naming an option that the checkpoint's architecture does not have."""

    def __init__(self, parameter: str, architecture: str) -> None:
        super().__init__(
            "{parameter} does not apply to {architecture}", parameter=parameter, architecture=architecture
        )
        self.architecture = architecture


def unwrap_model(model: torch.nn.Module) -> torch.nn.Module:
    """Strip DistributedDataParallel and torch.compile wrappers."""
    while True:
        if hasattr(model, "module") and isinstance(model.module, torch.nn.Module):
            model = model.module
        elif hasattr(model, "_orig_mod"):
            model = model._orig_mod
        else:
            return model


def clean_state_dict(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop ``module.`` and ``_orig_mod.`` prefixes left by DDP and torch.compile."""
    cleaned = {}
    for key, value in state_dict.items():
        for prefix in ("module.", "_orig_mod."):
            while key.startswith(prefix):
                key = key[len(prefix) :]
        cleaned[key] = value
    return cleaned


def model_spec(model: torch.nn.Module) -> dict[str, Any]:
    model = unwrap_model(model)
    architecture = getattr(model, "architecture", None)
    config = getattr(model, "config", None)
    if architecture is None or config is None:
        raise CheckpointError(f"{type(model).__name__} has no architecture/config; it can't be rebuilt")
    return {"architecture": architecture, "config": config}


def save_pretrained(
    model: torch.nn.Module, folder: str | os.PathLike, *, half: bool = False, metadata: dict | None = None
) -> Path:
    """Write ``model.safetensors`` and ``config.json`` into ``folder``."""
    folder = Path(folder)
    model = unwrap_model(model)
    spec = model_spec(model)
    if metadata:
        spec["metadata"] = metadata
    tensors = {}
    for key, value in clean_state_dict(model.state_dict()).items():
        value = value.detach().cpu()
        if half and value.is_floating_point():
            value = value.half()
        tensors[key] = value.contiguous()
    atomic_write(folder / WEIGHTS_NAME, lambda temp: save_file(tensors, temp, metadata={"format": "pt"}))
    atomic_write_text(folder / CONFIG_NAME, json.dumps(spec, indent=2) + "\n")
    return folder


def load_pretrained(
    folder: str | os.PathLike,
    *,
    map_location: str | torch.device = "cpu",
    overrides: dict[str, Any] | None = None,
) -> torch.nn.Module:
    """Rebuild a model from a folder written by :func:`save_pretrained` (in float32, eval mode).

    ``overrides`` replace options of the saved config before the model is built,
    e.g. ``{"flow_variants": 1}``: the model is built once, with its final
    configuration, so its own checks run on it and every figure derived from
    it (such as ``inference_bytes_per_pixel``) is right. An option the
    architecture does not have raises :class:`UnknownOverride`; a value it
    rejects, a :class:`CheckpointError` naming the option. Options that change
    the tensors' shapes make the weights fail to load.
    """
    from sepgan.models import model_from_config, upgrade_config

    folder = Path(folder)
    config_path, weights_path = folder / CONFIG_NAME, folder / WEIGHTS_NAME
    if not folder.is_dir():
        raise CheckpointError(f"checkpoint folder not found: {folder}")
    for required in (config_path, weights_path):
        if not required.is_file():
            raise CheckpointError(f"checkpoint is incomplete: {required} is missing")
    try:
        spec = json.loads(config_path.read_text())
        architecture = spec["architecture"]
        config = upgrade_config(architecture, spec["config"])  # old argument names → new
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise CheckpointError(f"{config_path} is not a valid sepgan config: {error}") from error
    for parameter in overrides or {}:
        if parameter not in config:
            raise UnknownOverride(parameter, architecture)
    try:
        model = model_from_config(architecture, {**config, **(overrides or {})})
    except (KeyError, TypeError) as error:
        raise CheckpointError(f"{config_path} is not a valid sepgan config: {error}") from error
    except ValueError as error:
        if not overrides:
            raise
        if isinstance(error, UserError):  # e.g. sepgan.options.OptionError: it names the override at fault
            raise
        raise CheckpointError(str(error)) from error
    try:
        state = load_file(weights_path, device=str(map_location))
    except Exception as error:  # safetensors raises its own error types for corrupt files
        raise CheckpointError(f"{weights_path} could not be read: {error}") from error
    expected = model.state_dict()
    state = {key: value.to(expected[key].dtype) if key in expected else value for key, value in state.items()}
    missing, unexpected = set(expected) - set(state), set(state) - set(expected)
    if missing or unexpected:
        raise CheckpointError(
            f"{weights_path} does not match {spec['architecture']}: "
            f"{len(missing)} missing and {len(unexpected)} unexpected tensors"
        )
    mismatched = [key for key, value in state.items() if value.shape != expected[key].shape]
    if mismatched:
        key = mismatched[0]
        raise CheckpointError(
            f"{weights_path} does not match its config: {key} has shape {tuple(state[key].shape)}, "
            f"the model expects {tuple(expected[key].shape)} ({len(mismatched)} tensors differ)"
        )
    model.load_state_dict(state)
    return model.to(map_location).eval()


def save_training_state(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Atomically write a training state dict (tensors and plain types only)."""
    atomic_write(path, lambda temp: torch.save(state, temp))


def load_training_state(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no training state at {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:
        raise CheckpointError(f"{path} could not be read: {error}") from error
