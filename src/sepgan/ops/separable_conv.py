"""Adaptive separable local convolution, the core operation of SepConv.

Every output pixel has its own pair of 1-D kernels. For a frame ``frame``
(B×C×H×W), vertical kernels ``kernel_vertical`` (B×K×H×W) and horizontal kernels
``kernel_horizontal`` (B×K×H×W), with K odd::

    out[b, c, y, x] = Σ_i Σ_j kernel_vertical[b, i, y, x]
                              · kernel_horizontal[b, j, y, x]
                              · P[b, c, y + i, x + j]

where ``P`` is ``frame`` replicate-padded by K//2 on every side (as in SepConv,
Niklaus et al. 2017). A kernel of size K therefore reaches ±K//2 pixels: the
default K = 51 reaches ±25 px around each output pixel.

The product of the two 1-D kernels is a rank-1 K×K kernel, so the op costs
2·K²·C·H·W FLOPs (≈ 14.4 GFLOP for one 720p RGB frame at K = 51).

Backends
--------
``separable_conv`` dispatches to a backend registered in ``BACKENDS``:

* ``"reference"``: pure PyTorch, any device, float32 or float64. It processes
  the image in bands of rows and never materialises a C·K²·H·W tensor: its
  largest temporary is C·K·rows·W, with ``rows`` chosen so that one temporary
  stays under ``REFERENCE_TILE_BYTES`` (≈ 64 MB), which keeps 1080p bounded.
* ``"numba"`` (:mod:`sepgan.ops.separable_conv_cpu`): compiled, parallel CPU
  kernels for float32; needs numba. Its first call in a fresh install compiles
  the kernels (≈ 10 s per pass), later processes load them from numba's cache.
* ``"triton"`` (:mod:`sepgan.ops.separable_conv_triton`): GPU kernels for float32
  CUDA tensors; needs triton (the ``gpu`` extra). Under ``TRITON_INTERPRET=1`` it
  also accepts CPU tensors, through Triton's slow interpreter, for tests.

``backend="auto"`` tries numba, then triton, and falls back to the reference
(float64 always goes to the reference). Both fast backends are registered by
name only: ``import sepgan`` imports neither numba nor triton; the first call
does.

All backends share one autograd contract: they compute the forward pass on the
*padded* frame and return gradients for the padded frame and both kernels; the
replicate padding itself is differentiated by PyTorch, which folds the border
gradient back onto the edge pixels.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

__all__ = [
    "BACKENDS",
    "REFERENCE_TILE_BYTES",
    "Backend",
    "available_backends",
    "register_backend",
    "select_backend",
    "separable_conv",
    "separable_conv_naive",
]

# Upper bound, in bytes, for one C·K·rows·W temporary of the reference backend.
REFERENCE_TILE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Backend:
    """A separable-convolution implementation working on an already padded frame.

    ``forward(padded, kernel_vertical, kernel_horizontal) -> out`` and
    ``backward(grad_out, padded, kernel_vertical, kernel_horizontal)
    -> (grad_padded, grad_vertical, grad_horizontal)``, where any gradient may be
    ``None`` when ``needs`` says it is not required. ``supports(padded, kv, kh)``
    says whether the backend can run these tensors (device, dtype, availability).
    """

    name: str
    forward: Callable[..., torch.Tensor]
    backward: Callable[..., tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]]
    supports: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], bool]


BACKENDS: dict[str, Backend] = {}
# Order in which "auto" tries backends; the reference is always last.
_AUTO_ORDER: list[str] = []


def register_backend(backend: Backend, *, priority: int | None = None) -> None:
    """Register a backend; ``priority`` is its position in the ``"auto"`` order."""
    BACKENDS[backend.name] = backend
    if backend.name == "reference":
        return
    if backend.name in _AUTO_ORDER:
        _AUTO_ORDER.remove(backend.name)
    _AUTO_ORDER.insert(len(_AUTO_ORDER) if priority is None else priority, backend.name)


def available_backends() -> list[str]:
    """Names of all registered backends, fast ones first."""
    return [*_AUTO_ORDER, "reference"]


def select_backend(
    name: str, padded: torch.Tensor, kernel_vertical: torch.Tensor, kernel_horizontal: torch.Tensor
) -> Backend:
    """Resolve a backend name (or ``"auto"``) for these tensors."""
    if name == "auto":
        for candidate in _AUTO_ORDER:
            backend = BACKENDS[candidate]
            if backend.supports(padded, kernel_vertical, kernel_horizontal):
                return backend
        return BACKENDS["reference"]
    if name not in BACKENDS:
        raise ValueError(f"unknown separable_conv backend {name!r}; available: {available_backends()}")
    backend = BACKENDS[name]
    if not backend.supports(padded, kernel_vertical, kernel_horizontal):
        raise ValueError(
            f"separable_conv backend {name!r} cannot run {padded.dtype} tensors on {padded.device}"
        )
    return backend


# ---------------------------------------------------------------------------
# Reference backend: pure PyTorch, banded over rows.
# ---------------------------------------------------------------------------


def _band_rows(batch: int, channels: int, kernel_size: int, width: int, itemsize: int) -> int:
    per_row = batch * channels * kernel_size * width * itemsize
    return max(1, REFERENCE_TILE_BYTES // max(per_row, 1))


def _shifted_rows(slab: torch.Tensor, column: int, width: int, rows: int) -> torch.Tensor:
    """View of ``slab[..., i + t, column + x]`` laid out as B×C×K×rows×W (no copy)."""
    # slab: B×C×(rows+K-1)×(W+K-1); unfold over rows gives B×C×K×W×rows.
    return slab[..., column : column + width].unfold(2, rows, 1).transpose(-1, -2)


def _reference_forward(
    padded: torch.Tensor, kernel_vertical: torch.Tensor, kernel_horizontal: torch.Tensor
) -> torch.Tensor:
    batch, channels = padded.shape[:2]
    kernel_size, height, width = kernel_vertical.shape[1:]
    out = padded.new_empty(batch, channels, height, width)
    band = _band_rows(batch, channels, kernel_size, width, padded.element_size())
    for y0 in range(0, height, band):
        rows = min(band, height - y0)
        slab = padded[:, :, y0 : y0 + rows + kernel_size - 1]
        kv = kernel_vertical[:, :, y0 : y0 + rows]  # B×K×rows×W
        kh = kernel_horizontal[:, :, y0 : y0 + rows]
        # rows_h[b, c, i, t, x] = Σ_j kh[b, j, t, x] · P[b, c, y0 + t + i, x + j]
        rows_h = None
        for j in range(kernel_size):
            term = _shifted_rows(slab, j, width, rows) * kh[:, None, None, j]
            rows_h = term if rows_h is None else rows_h.add_(term)
        out[:, :, y0 : y0 + rows] = (rows_h * kv[:, None]).sum(2)
    return out


def _reference_backward(
    grad_out: torch.Tensor,
    padded: torch.Tensor,
    kernel_vertical: torch.Tensor,
    kernel_horizontal: torch.Tensor,
    needs: tuple[bool, bool, bool] = (True, True, True),
) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
    need_frame, need_vertical, need_horizontal = needs
    batch, channels = padded.shape[:2]
    kernel_size, height, width = kernel_vertical.shape[1:]
    grad_padded = torch.zeros_like(padded) if need_frame else None
    grad_vertical = torch.empty_like(kernel_vertical) if need_vertical else None
    grad_horizontal = torch.empty_like(kernel_horizontal) if need_horizontal else None
    band = _band_rows(batch, channels, kernel_size, width, padded.element_size())
    for y0 in range(0, height, band):
        rows = min(band, height - y0)
        slab = padded[:, :, y0 : y0 + rows + kernel_size - 1]
        kv = kernel_vertical[:, :, y0 : y0 + rows]
        kh = kernel_horizontal[:, :, y0 : y0 + rows]
        grad = grad_out[:, :, y0 : y0 + rows]  # B×C×rows×W
        rows_h = None
        # grad_kv_weighted[b, c, i, t, x] = g[b, c, t, x] · kv[b, i, t, x]
        grad_kv_weighted = grad[:, :, None] * kv[:, None] if (need_frame or need_horizontal) else None
        grad_slab = torch.zeros_like(slab) if need_frame else None
        for j in range(kernel_size):
            shifted = _shifted_rows(slab, j, width, rows)  # B×C×K×rows×W
            if need_vertical:
                term = shifted * kh[:, None, None, j]
                rows_h = term if rows_h is None else rows_h.add_(term)
            if need_horizontal:
                # dL/dkh_j = Σ_c Σ_i g · kv_i · P(y+i, x+j)
                grad_horizontal[:, j, y0 : y0 + rows] = (grad_kv_weighted * shifted).sum((1, 2))
            if need_frame:
                # P(y0+t+i, x+j) receives g · kv_i · kh_j: fold the K row offsets back.
                contribution = grad_kv_weighted * kh[:, None, None, j]
                folded = F.fold(
                    contribution.reshape(batch, channels * kernel_size, rows * width),
                    output_size=(rows + kernel_size - 1, width),
                    kernel_size=(kernel_size, 1),
                )
                grad_slab[..., j : j + width] += folded
        if need_vertical:
            grad_vertical[:, :, y0 : y0 + rows] = (rows_h * grad[:, :, None]).sum(1)
        if need_frame:
            grad_padded[:, :, y0 : y0 + rows + kernel_size - 1] += grad_slab
    return grad_padded, grad_vertical, grad_horizontal


register_backend(
    Backend(
        name="reference",
        forward=_reference_forward,
        backward=_reference_backward,
        supports=lambda padded, kv, kh: True,
    )
)


# ---------------------------------------------------------------------------
# Autograd and the public entry point.
# ---------------------------------------------------------------------------


class _SeparableConvFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, padded, kernel_vertical, kernel_horizontal, backend: Backend):  # type: ignore[override]
        ctx.backend = backend
        ctx.save_for_backward(padded, kernel_vertical, kernel_horizontal)
        return backend.forward(padded, kernel_vertical, kernel_horizontal)

    @staticmethod
    def backward(ctx, grad_out):  # type: ignore[override]
        padded, kernel_vertical, kernel_horizontal = ctx.saved_tensors
        needs = tuple(ctx.needs_input_grad[:3])
        grads = ctx.backend.backward(grad_out.contiguous(), padded, kernel_vertical, kernel_horizontal, needs)
        return (*grads, None)


def _check_inputs(
    frame: torch.Tensor, kernel_vertical: torch.Tensor, kernel_horizontal: torch.Tensor
) -> None:
    if frame.dim() != 4:
        raise ValueError(f"frame must be B×C×H×W, got shape {tuple(frame.shape)}")
    if kernel_vertical.shape != kernel_horizontal.shape or kernel_vertical.dim() != 4:
        raise ValueError(
            "kernel_vertical and kernel_horizontal must both be B×K×H×W with the same shape, got "
            f"{tuple(kernel_vertical.shape)} and {tuple(kernel_horizontal.shape)}"
        )
    batch, _, height, width = frame.shape
    kernel_batch, kernel_size, kernel_height, kernel_width = kernel_vertical.shape
    if kernel_size % 2 != 1:
        raise ValueError(f"kernel size must be odd, got {kernel_size}")
    if (kernel_batch, kernel_height, kernel_width) != (batch, height, width):
        raise ValueError(
            f"kernels of shape {tuple(kernel_vertical.shape)} do not match "
            f"frame of shape {tuple(frame.shape)}: "
            "expected B×K×H×W with the frame's B, H and W"
        )
    if not all(t.is_floating_point() for t in (frame, kernel_vertical, kernel_horizontal)):
        raise ValueError("frame and kernels must be floating-point tensors")
    if not (frame.device == kernel_vertical.device == kernel_horizontal.device):
        raise ValueError("frame and kernels must be on the same device")


def separable_conv(
    frame: torch.Tensor,
    kernel_vertical: torch.Tensor,
    kernel_horizontal: torch.Tensor,
    *,
    backend: str = "auto",
) -> torch.Tensor:
    """Apply per-pixel separable kernels to ``frame`` (see the module docstring).

    Args:
        frame: B×C×H×W image (any C). Half-precision inputs are computed in float32.
        kernel_vertical: B×K×H×W, K odd; weight of row offset ``i - K//2``.
        kernel_horizontal: B×K×H×W; weight of column offset ``j - K//2``.
        backend: ``"auto"`` or a name from :func:`available_backends`.

    Returns:
        B×C×H×W tensor, differentiable with respect to all three inputs.
    """
    _check_inputs(frame, kernel_vertical, kernel_horizontal)
    # The op always computes in float32 (float64 if any input is float64), also under
    # autocast: a 2601-tap sum in bf16/fp16 loses visible precision.
    dtype = torch.float64 if torch.float64 in (frame.dtype, kernel_vertical.dtype) else torch.float32
    with torch.autocast(frame.device.type, enabled=False):
        pad = kernel_vertical.shape[1] // 2
        frame = frame.to(dtype)
        padded = F.pad(frame, (pad, pad, pad, pad), mode="replicate") if pad else frame
        padded = padded.contiguous()
        kernel_vertical = kernel_vertical.to(dtype).contiguous()
        kernel_horizontal = kernel_horizontal.to(dtype).contiguous()
        chosen = select_backend(backend, padded, kernel_vertical, kernel_horizontal)
        return _SeparableConvFunction.apply(padded, kernel_vertical, kernel_horizontal, chosen)


def separable_conv_naive(
    frame: torch.Tensor, kernel_vertical: torch.Tensor, kernel_horizontal: torch.Tensor
) -> torch.Tensor:
    """Literal double loop over kernel taps, for tests only (slow, O(K²) kernel launches)."""
    _check_inputs(frame, kernel_vertical, kernel_horizontal)
    kernel_size = kernel_vertical.shape[1]
    height, width = frame.shape[-2:]
    pad = kernel_size // 2
    padded = F.pad(frame, (pad, pad, pad, pad), mode="replicate") if pad else frame
    out = torch.zeros_like(frame)
    for i in range(kernel_size):
        for j in range(kernel_size):
            weight = (kernel_vertical[:, i] * kernel_horizontal[:, j]).unsqueeze(1)
            out = out + weight * padded[:, :, i : i + height, j : j + width]
    return out


# ---------------------------------------------------------------------------
# Fast backends, registered without importing them.
# ---------------------------------------------------------------------------


@functools.cache
def _installed(package: str) -> bool:
    """Whether ``package`` can be imported; looks it up without importing it (numba and triton are heavy)."""
    return importlib.util.find_spec(package) is not None


def _lazy(module: str, function: str) -> Callable[..., Any]:
    """A function that imports ``module`` (compiling its kernels) on its first call."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), function)(*args, **kwargs)

    call.__name__ = function
    call.__qualname__ = f"{module}.{function}"
    return call


def _numba_supports(
    padded: torch.Tensor, kernel_vertical: torch.Tensor, kernel_horizontal: torch.Tensor
) -> bool:
    # float64 stays on the reference: it is for gradcheck and tests, not for speed.
    tensors = (padded, kernel_vertical, kernel_horizontal)
    return all(t.device.type == "cpu" and t.dtype == torch.float32 for t in tensors) and _installed("numba")


def _triton_supports(
    padded: torch.Tensor, kernel_vertical: torch.Tensor, kernel_horizontal: torch.Tensor
) -> bool:
    tensors = (padded, kernel_vertical, kernel_horizontal)
    if not all(t.dtype == torch.float32 for t in tensors) or not _installed("triton"):
        return False
    if all(t.device.type == "cuda" for t in tensors):
        return True
    # CPU tensors only through Triton's interpreter (the tests' way to run the kernels without a GPU).
    return os.environ.get("TRITON_INTERPRET") == "1" and all(t.device.type == "cpu" for t in tensors)


def _register_fast_backends() -> None:
    """numba first, so CPU float32 never reaches Triton's (slow) interpreter unless asked by name."""
    register_backend(
        Backend(
            name="numba",
            forward=_lazy("sepgan.ops.separable_conv_cpu", "forward"),
            backward=_lazy("sepgan.ops.separable_conv_cpu", "backward"),
            supports=_numba_supports,
        ),
        priority=0,
    )
    register_backend(
        Backend(
            name="triton",
            forward=_lazy("sepgan.ops.separable_conv_triton", "forward"),
            backward=_lazy("sepgan.ops.separable_conv_triton", "backward"),
            supports=_triton_supports,
        ),
        priority=1,
    )


_register_fast_backends()
