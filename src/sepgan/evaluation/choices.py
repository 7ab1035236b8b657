"""The names ``sepgan evaluate`` accepts: methods, benchmark layouts, SNU-FILM splits.

Kept apart from the modules that implement them, and free of heavy imports
(torch, PyAV), so that the CLI can print them in ``--help`` without loading
torch (a test checks that ``import sepgan.cli`` leaves torch unloaded).
"""

from __future__ import annotations

from sepgan.layouts import EVALUATION_LAYOUTS

__all__ = ["ALL_METHODS", "DEFAULT_METHODS", "LAYOUTS", "SNU_SPLITS"]

ALL_METHODS = (
    "ours", "ours-adapt", "average", "repeat", "flow", "flow-simple", "flow-fine", "flow-ensemble",
    "minterpolate", "rife",
)  # fmt: skip
DEFAULT_METHODS = "ours,average,repeat,flow"
LAYOUTS = EVALUATION_LAYOUTS  # the names of sepgan.layouts that evaluation reads natively
SNU_SPLITS = ("easy", "medium", "hard", "extreme")
