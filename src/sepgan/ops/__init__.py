"""Custom operations. Tensor conventions: B×C×H×W frames, B×K×H×W per-pixel kernels."""

from sepgan.ops.separable_conv import (
    available_backends,
    register_backend,
    separable_conv,
    separable_conv_naive,
)

__all__ = ["available_backends", "register_backend", "separable_conv", "separable_conv_naive"]
