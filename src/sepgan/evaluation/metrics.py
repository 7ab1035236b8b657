"""The image-quality metrics of evaluation, kept importable here: they live in :mod:`sepgan.metrics`."""

from sepgan.metrics import (
    EDGE_BAND,
    METRICS,
    MS_SSIM_WEIGHTS,
    PSNR_CAP,
    check_pair,
    edge_error,
    interpolation_error,
    ms_ssim,
    psnr,
    ssim,
)

__all__ = [
    "EDGE_BAND",
    "METRICS",
    "MS_SSIM_WEIGHTS",
    "PSNR_CAP",
    "check_pair",
    "edge_error",
    "interpolation_error",
    "ms_ssim",
    "psnr",
    "ssim",
]
