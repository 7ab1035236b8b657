"""The names ``sepgan evaluate`` accepts: methods, benchmark layouts, SNU-FILM splits.

Benchmark layouts are those of :mod:`sepgan.datasets` (``BENCHMARK_NAMES``, what a report records;
``--layout`` also takes their aliases, ``EVALUATION_NAMES``).

Kept apart from the modules that implement them, and free of heavy imports
(torch, PyAV), so that the CLI can print them in ``--help`` without loading
torch (a test checks that ``import sepgan.cli`` leaves torch unloaded).
"""

from __future__ import annotations

from sepgan.datasets import BENCHMARK_NAMES, EVALUATION_NAMES

__all__ = [
    "ALL_METHODS",
    "BENCHMARK_NAMES",
    "DEFAULT_METHODS",
    "EVALUATION_NAMES",
    "FLOW_BACKEND_METHODS",
    "SNU_SPLITS",
]

ALL_METHODS = (
    "ours", "ours-adapt", "average", "repeat", "flow", "flow-simple", "flow-fine", "flow-ensemble",
    "flow-ensemble-bisect", "minterpolate", "rife",
)  # fmt: skip
DEFAULT_METHODS = "ours,average,repeat,flow"
# The methods whose DIS runs on --flow-backend (the Interpolator's, or the same flow in
# evaluation/methods.py); flow and flow-simple stay OpenCV's textbook baselines.
FLOW_BACKEND_METHODS = frozenset({"ours", "ours-adapt", "flow-fine", "flow-ensemble", "flow-ensemble-bisect"})
SNU_SPLITS = ("easy", "medium", "hard", "extreme")
