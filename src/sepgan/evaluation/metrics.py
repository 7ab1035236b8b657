"""The image-quality metrics of evaluation, kept importable here: they live in :mod:`sepgan.metrics`."""

from sepgan.metrics import *  # noqa: F403
from sepgan.metrics import __all__  # noqa: F401
