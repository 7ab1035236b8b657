"""The image-quality metrics of evaluation, kept importable here: they live in :mod:`sepgan.metrics`."""

from typing import Any

from sepgan import metrics as _metrics

__all__ = _metrics.__all__


def __getattr__(name: str) -> Any:
    return getattr(_metrics, name)
