"""Evaluation: benchmark layouts, metrics, baselines, peer adapters, and reports.

``sepgan evaluate PATH… --methods ours,average,repeat,flow,minterpolate,rife``
opens each benchmark (:mod:`.layouts`), runs each method (:mod:`.methods`) on
every triplet, scores the uint8 outputs (:mod:`.metrics`), and writes tables,
per-sample scores, montages and plots (:mod:`.report`). Frames are RGB uint8
H×W×3 throughout evaluation, since that is what is scored; see each module's
docstring for its conventions.
"""

from sepgan.evaluation.layouts import LAYOUTS, Benchmark, LayoutError, Sample, detect_layout, open_benchmark
from sepgan.evaluation.methods import ALL_METHODS, Method, MethodUnavailable, build_method
from sepgan.evaluation.pipeline import EvaluationUserError, run_evaluation
from sepgan.evaluation.runner import EvaluationResult, evaluate
from sepgan.metrics import METRICS, PSNR_CAP, interpolation_error, ms_ssim, psnr, ssim

__all__ = [
    "ALL_METHODS",
    "LAYOUTS",
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
    "detect_layout",
    "evaluate",
    "interpolation_error",
    "ms_ssim",
    "open_benchmark",
    "psnr",
    "run_evaluation",
    "ssim",
]
