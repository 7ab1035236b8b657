"""Evaluation: benchmarks, metrics, baselines, peer adapters, and reports.

``sepgan evaluate PATH… --methods ours,average,repeat,flow,minterpolate,rife``
opens each benchmark (:mod:`.benchmarks`, through the dataset readers of
:mod:`sepgan.datasets`), runs each method (:mod:`.methods`) on every triplet
(with ``--factor N``, on every pair of kept frames of a video or frame folder,
making the N − 1 frames between), scores the uint8 outputs (:mod:`.metrics`; ST-LPIPS
with the ``perceptual`` extra),
and writes tables, per-sample and per-position scores, montages and plots
(:mod:`.report`). Frames are RGB uint8 H×W×3
throughout evaluation, since that is what is scored; see each module's
docstring for its conventions.
"""

from __future__ import annotations

import importlib
from typing import Any

# Names are imported on first use (PEP 562), so importing a submodule such as
# sepgan.evaluation.cli (for `sepgan --help`) does not load torch through the others.
_EXPORTS = {
    "BENCHMARK_NAMES": "choices", "ALL_METHODS": "choices",
    "Benchmark": "benchmarks", "LayoutError": "benchmarks", "Sample": "benchmarks",
    "open_benchmark": "benchmarks",
    "Method": "methods", "MethodUnavailable": "methods", "build_method": "methods",
    "METRICS": "metrics", "PSNR_CAP": "metrics", "interpolation_error": "metrics", "ms_ssim": "metrics",
    "psnr": "metrics", "ssim": "metrics", "st_lpips": "metrics",
    "EvaluationUserError": "pipeline", "run_evaluation": "pipeline",
    "EvaluationResult": "runner", "evaluate": "runner",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"sepgan.evaluation.{_EXPORTS[name]}"), name)
    if name in {
        "benchmarks",
        "methods",
        "metrics",
        "pipeline",
        "runner",
        "report",
        "cli",
        "choices",
        "compare",
    }:
        return importlib.import_module(f"sepgan.evaluation.{name}")
    raise AttributeError(f"module 'sepgan.evaluation' has no attribute {name!r}")


__all__ = [
    "ALL_METHODS",
    "BENCHMARK_NAMES",
    "METRICS",
    "PSNR_CAP",
    "Benchmark",
    "EvaluationResult",
    "EvaluationUserError",
    "LayoutError",
    "Method",
    "MethodUnavailable",
    "Sample",
    "build_method",
    "evaluate",
    "interpolation_error",
    "ms_ssim",
    "open_benchmark",
    "psnr",
    "run_evaluation",
    "ssim",
    "st_lpips",
]
