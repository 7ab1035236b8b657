"""Named model weights: where ``--weights`` (or no ``--weights``) points.

A *weights folder* is what :func:`sepgan.checkpoint.save_pretrained` writes
(``config.json`` + ``model.safetensors``); ``sepgan train`` writes one into
``<run folder>/generator``. :func:`resolve_weights` accepts:

* ``None``: the bundled default model, shipped as package data under
  ``src/sepgan/weights/<DEFAULT_WEIGHTS>/`` (``flow-ensemble``: the classical
  part of the flow-guided SepConv, no network and no parameters; MODEL.md
  says why it replaced the learned model as the default). A checkout
  without it is an error with a clear message: the tool never falls back to
  untrained, randomly initialised weights.
* the name of a bundled folder: ``"flow-ensemble"``, ``"sepgan-flow"``
  (the flow-guided SepConv trained with L1, fp16 safetensors) or
  ``"sepgan-gan"`` (``sepgan-flow`` fine-tuned adversarially, DCGAN; docs/gan.md);
* a path to a weights folder, or to a training run folder that holds one in
  ``generator/``.
"""

from __future__ import annotations

import os
from pathlib import Path

from sepgan.checkpoint import CONFIG_NAME, WEIGHTS_NAME, CheckpointError

__all__ = ["DEFAULT_WEIGHTS", "WeightsError", "bundled_weights", "resolve_weights"]

# Name of the bundled default model: the flow-guided SepConv's classical part alone (MODEL.md).
DEFAULT_WEIGHTS = "flow-ensemble"

_BUNDLED_ROOT = Path(__file__).resolve().parent


class WeightsError(CheckpointError):
    """Weights that cannot be found: the bundled default is missing, or an unknown name or path."""


def bundled_weights() -> list[str]:
    """Names of the weights folders shipped with the package."""
    return sorted(
        entry.name
        for entry in _BUNDLED_ROOT.iterdir()
        if entry.is_dir() and (entry / CONFIG_NAME).is_file() and (entry / WEIGHTS_NAME).is_file()
    )


def resolve_weights(name_or_path: str | os.PathLike[str] | None = None) -> Path:
    """The folder holding ``config.json`` and ``model.safetensors`` for ``name_or_path``."""
    if name_or_path is None:
        if DEFAULT_WEIGHTS in bundled_weights():
            return _BUNDLED_ROOT / DEFAULT_WEIGHTS
        raise WeightsError(
            f"the bundled default weights ({DEFAULT_WEIGHTS}) are not in this install: "
            "pass --weights PATH (a folder written by sepgan train)"
        )
    text = os.fspath(name_or_path)
    path = Path(text).expanduser()
    if path.is_dir():
        for candidate in (path, path / "generator"):
            if (candidate / CONFIG_NAME).is_file():
                return candidate
        raise WeightsError(
            f"{path} is not a weights folder: it has no {CONFIG_NAME} (expected a folder written by "
            "sepgan train, e.g. <run>/generator)"
        )
    if text in bundled_weights():
        return _BUNDLED_ROOT / text
    if path.exists():
        raise WeightsError(
            f"{path} is a file; --weights takes a folder with {CONFIG_NAME} and {WEIGHTS_NAME}"
        )
    bundled = ", ".join(bundled_weights()) or "none yet"
    raise WeightsError(
        f"weights not found: {text} is neither a folder nor a bundled name (bundled: {bundled})"
    )
