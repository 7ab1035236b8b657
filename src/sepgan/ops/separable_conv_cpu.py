"""Fast CPU backend of the separable local convolution: numba, parallel, float32.

Conventions are those of :mod:`sepgan.ops.separable_conv`: the backend receives
the replicate-padded frame ``padded`` (B×C×(H+K-1)×(W+K-1), contiguous) and the
per-pixel kernels ``kernel_vertical`` / ``kernel_horizontal`` (B×K×H×W), all
float32 on the CPU, and returns float32 results accumulated in float32.

Why numba: it installs from PyPI as a wheel (numba + llvmlite, ≈ 100 MB) on every
platform torch supports, needs no compiler on the user's machine, and its
``prange`` loops run on a thread pool outside the GIL. A C++ extension would be
slightly faster but needs a toolchain at install or a wheel per platform.

Loop structure (forward; the backward passes follow the same pattern). The work
is split into tasks of one output row ``y`` × one tile of ``TILE`` columns, run
in parallel with ``prange``. Inside a task, for each kernel row ``i`` the
horizontal pass accumulates ``row_c[x] = Σ_j kh[j, y, x] · P[c, y+i, x+j]`` for
three channels at once (innermost loop over ``x``, vectorised by LLVM, two
``j`` taps per sweep to halve the accumulator traffic), then the vertical pass
adds ``kv[i, y, x] · row_c[x]`` to the output tile. Everything a task touches
(K kernel rows of one tile, three accumulator rows, one padded row per ``i``)
stays in L1/L2. Channels are processed in groups of three; other channel counts
are zero-padded to a multiple of three (exact, and free for RGB).

The frame gradient is a scatter (``P[y+i, x+j]`` receives from every output
pixel that reads it). To avoid atomics it is computed as a gather: each task
owns one padded row ``r`` × one tile of padded columns ``s`` and sums
``g[r-i, s-j] · kv[i, r-i, s-j] · kh[j, r-i, s-j]`` over the valid ``i, j``.

Costs: the first call of each kernel compiles it (a few seconds) unless the
on-disk numba cache next to this file (or, if that directory is read-only,
numba's user-wide cache directory) already holds it. The thread count follows
``torch.get_num_threads()`` (capped by ``NUMBA_NUM_THREADS``).
"""

from __future__ import annotations

import numba
import numpy as np
import torch
from numba import njit, prange

__all__ = ["backward", "forward", "supports"]

# Output columns per parallel task. 256 keeps a task's K kernel rows (51 × 1 KB)
# in L2 and its six accumulator rows (6 KB) in L1, with enough tasks per frame
# (H × W/256) to balance the threads.
TILE = 256
# Padded rows per frame-gradient task: each kernel row is re-read (BAND + K - 1) / BAND times.
BAND = 64


def _jit(function):
    """``njit`` with the on-disk cache when some cache directory is writable."""
    options = {"parallel": True, "fastmath": True, "nogil": True, "error_model": "numpy"}
    try:
        return njit(cache=True, **options)(function)
    except RuntimeError:  # no writable cache location: compile on every process start
        return njit(**options)(function)


def _forward_kernel(padded, kv, kh, out, batch, channels, height, width, kernel_size, tile):
    """All arrays are flat float32; ``channels`` is a multiple of three."""
    padded_height = height + kernel_size - 1
    padded_width = width + kernel_size - 1
    plane = height * width
    padded_plane = padded_height * padded_width
    tiles = (width + tile - 1) // tile
    for task in prange(batch * height * tiles):
        b = task // (height * tiles)
        y = (task // tiles) % height
        x0 = (task % tiles) * tile
        n = min(tile, width - x0)
        # The K rows kh[b, :, y, x0:x0+n] lie H·W floats apart; at such strides they
        # compete for the same cache sets, so copy them next to each other first.
        kh_tile = np.empty((kernel_size, tile), np.float32)
        kv_tile = np.empty((kernel_size, tile), np.float32)
        kernel_base = b * kernel_size * plane + y * width + x0
        for j in range(kernel_size):
            kh_tile[j, :n] = kh[kernel_base + j * plane : kernel_base + j * plane + n]
            kv_tile[j, :n] = kv[kernel_base + j * plane : kernel_base + j * plane + n]
        rows = np.empty((3, tile), np.float32)
        acc = np.empty((3, tile), np.float32)
        row0, row1, row2 = rows[0], rows[1], rows[2]
        acc0, acc1, acc2 = acc[0], acc[1], acc[2]
        for c in range(0, channels, 3):
            acc[:] = 0.0
            for i in range(kernel_size):
                rows[:] = 0.0
                # Slices make every inner index a plain loop counter: numba then drops
                # its negative-index wraparound and LLVM vectorises the loops.
                start = ((b * channels + c) * padded_height + y + i) * padded_width + x0
                p0 = padded[start : start + n + kernel_size - 1]
                p1 = padded[start + padded_plane : start + padded_plane + n + kernel_size - 1]
                p2 = padded[start + 2 * padded_plane : start + 2 * padded_plane + n + kernel_size - 1]
                # Four taps per sweep: a quarter of the load/store traffic on the row
                # accumulators (the loop is bound by loads, not by FMAs).
                for jj in range(kernel_size // 4):
                    j = 4 * jj
                    ka = kh_tile[j]
                    kb = kh_tile[j + 1]
                    kc = kh_tile[j + 2]
                    kd = kh_tile[j + 3]
                    for x in range(n):
                        wa = ka[x]
                        wb = kb[x]
                        wc = kc[x]
                        wd = kd[x]
                        row0[x] += wa * p0[j + x] + wb * p0[j + 1 + x] + wc * p0[j + 2 + x] + wd * p0[j + 3 + x]
                        row1[x] += wa * p1[j + x] + wb * p1[j + 1 + x] + wc * p1[j + 2 + x] + wd * p1[j + 3 + x]
                        row2[x] += wa * p2[j + x] + wb * p2[j + 1 + x] + wc * p2[j + 2 + x] + wd * p2[j + 3 + x]
                for j in range(kernel_size - kernel_size % 4, kernel_size):
                    ka = kh_tile[j]
                    for x in range(n):
                        wa = ka[x]
                        row0[x] += wa * p0[j + x]
                        row1[x] += wa * p1[j + x]
                        row2[x] += wa * p2[j + x]
                kvi = kv_tile[i]
                for x in range(n):
                    v = kvi[x]
                    acc0[x] += v * row0[x]
                    acc1[x] += v * row1[x]
                    acc2[x] += v * row2[x]
            o0 = (b * channels + c) * plane + y * width + x0
            out[o0 : o0 + n] = acc0[:n]
            out[o0 + plane : o0 + plane + n] = acc1[:n]
            out[o0 + 2 * plane : o0 + 2 * plane + n] = acc2[:n]


def _kernel_grads_kernel(
    grad_out, padded, kv, kh, grad_kv, grad_kh, batch, channels, height, width, kernel_size, tile
):
    """grad_kv and grad_kh in one pass.

    With ``S[i, j, x] = Σ_c g[c, y, x] · P[c, y+i, x+j]`` (the channel sum, shared):
    ``grad_kv[i] = Σ_j kh[j] · S[i, j]`` and ``grad_kh[j] = Σ_i kv[i] · S[i, j]``.
    """
    padded_height = height + kernel_size - 1
    padded_width = width + kernel_size - 1
    plane = height * width
    padded_plane = padded_height * padded_width
    tiles = (width + tile - 1) // tile
    for task in prange(batch * height * tiles):
        b = task // (height * tiles)
        y = (task // tiles) % height
        x0 = (task % tiles) * tile
        n = min(tile, width - x0)
        kernel_base = b * kernel_size * plane + y * width + x0
        kh_tile = np.empty((kernel_size, tile), np.float32)
        kv_tile = np.empty((kernel_size, tile), np.float32)
        for j in range(kernel_size):
            kh_tile[j, :n] = kh[kernel_base + j * plane : kernel_base + j * plane + n]
            kv_tile[j, :n] = kv[kernel_base + j * plane : kernel_base + j * plane + n]
        acc_kh = np.zeros((kernel_size, tile), np.float32)
        acc_kv = np.zeros((kernel_size, tile), np.float32)
        for c in range(0, channels, 3):
            o0 = (b * channels + c) * plane + y * width + x0
            g0 = grad_out[o0 : o0 + n]
            g1 = grad_out[o0 + plane : o0 + plane + n]
            g2 = grad_out[o0 + 2 * plane : o0 + 2 * plane + n]
            for i in range(kernel_size):
                start = ((b * channels + c) * padded_height + y + i) * padded_width + x0
                p0 = padded[start : start + n + kernel_size - 1]
                p1 = padded[start + padded_plane : start + padded_plane + n + kernel_size - 1]
                p2 = padded[start + 2 * padded_plane : start + 2 * padded_plane + n + kernel_size - 1]
                kvi = kv_tile[i]
                acc_kvi = acc_kv[i]
                # One tap per sweep: unrolling this loop would need more runtime alias checks
                # than LLVM accepts, and it then stays scalar.
                for j in range(kernel_size):
                    khj = kh_tile[j]
                    acc_khj = acc_kh[j]
                    for x in range(n):
                        s = g0[x] * p0[j + x] + g1[x] * p1[j + x] + g2[x] * p2[j + x]
                        acc_kvi[x] += khj[x] * s
                        acc_khj[x] += kvi[x] * s
        for j in range(kernel_size):
            grad_kv[kernel_base + j * plane : kernel_base + j * plane + n] = acc_kv[j, :n]
            grad_kh[kernel_base + j * plane : kernel_base + j * plane + n] = acc_kh[j, :n]


def _frame_grad_kernel(grad_out, kv, kh, grad_padded, batch, channels, height, width, kernel_size, tile, band):
    """grad_P[c, r, s] = Σ_i Σ_j g[c, r-i, s-j] · kv[i, r-i, s-j] · kh[j, r-i, s-j].

    Each task owns ``band`` padded rows × ``tile`` padded columns and scatters into
    a private accumulator from every output row that reaches it, so no atomics are
    needed and each kernel row is fetched ≈ (band + K - 1) / band times.
    """
    padded_height = height + kernel_size - 1
    padded_width = width + kernel_size - 1
    plane = height * width
    padded_plane = padded_height * padded_width
    tiles = (padded_width + tile - 1) // tile
    bands = (padded_height + band - 1) // band
    span = tile + kernel_size - 1
    for task in prange(batch * bands * tiles):
        b = task // (bands * tiles)
        r0 = ((task // tiles) % bands) * band
        rows = min(band, padded_height - r0)
        s0 = (task % tiles) * tile
        n = min(tile, padded_width - s0)
        # Local column u holds output column x = x_first + u; only [u_lo, u_hi) is inside the frame.
        x_first = s0 - (kernel_size - 1)
        u_lo = max(0, -x_first)
        u_hi = min(n + kernel_size - 1, width - x_first)
        kh_rows = np.zeros((kernel_size, span), np.float32)
        w = np.zeros((3, span), np.float32)
        w0, w1, w2 = w[0], w[1], w[2]
        acc = np.empty((3, band, tile), np.float32)
        for c in range(0, channels, 3):
            acc[:] = 0.0
            for y in range(max(0, r0 - kernel_size + 1), min(height, r0 + rows)):
                kernel_row = b * kernel_size * plane + y * width + x_first
                for j in range(kernel_size):
                    kh_rows[j, u_lo:u_hi] = kh[kernel_row + j * plane + u_lo : kernel_row + j * plane + u_hi]
                o0 = (b * channels + c) * plane + y * width + x_first
                g0 = grad_out[o0 + u_lo : o0 + u_hi]
                g1 = grad_out[o0 + plane + u_lo : o0 + plane + u_hi]
                g2 = grad_out[o0 + 2 * plane + u_lo : o0 + 2 * plane + u_hi]
                for i in range(max(0, r0 - y), min(kernel_size, r0 + rows - y)):
                    kvi = kv[kernel_row + i * plane + u_lo : kernel_row + i * plane + u_hi]
                    for u in range(u_hi - u_lo):
                        w0[u_lo + u] = g0[u] * kvi[u]
                        w1[u_lo + u] = g1[u] * kvi[u]
                        w2[u_lo + u] = g2[u] * kvi[u]
                    a0 = acc[0, y + i - r0]
                    a1 = acc[1, y + i - r0]
                    a2 = acc[2, y + i - r0]
                    # Padded column s0 + x reads output column s0 + x - j, i.e. local column
                    # u = x + K - 1 - j. Outside the frame w and kh_rows stay zero, so the taps
                    # need no bounds. Four taps per sweep, as in the forward pass.
                    for jj in range(kernel_size // 4):
                        shift = kernel_size - 4 - 4 * jj  # taps j + 3, j + 2, j + 1, j read shift + 0..3
                        kd = kh_rows[4 * jj + 3, shift : shift + n]
                        kc = kh_rows[4 * jj + 2, shift + 1 : shift + 1 + n]
                        kb = kh_rows[4 * jj + 1, shift + 2 : shift + 2 + n]
                        ka = kh_rows[4 * jj, shift + 3 : shift + 3 + n]
                        v0 = w0[shift : shift + n + 3]
                        v1 = w1[shift : shift + n + 3]
                        v2 = w2[shift : shift + n + 3]
                        for x in range(n):
                            d = kd[x]
                            cc = kc[x]
                            bb = kb[x]
                            aa = ka[x]
                            a0[x] += d * v0[x] + cc * v0[x + 1] + bb * v0[x + 2] + aa * v0[x + 3]
                            a1[x] += d * v1[x] + cc * v1[x + 1] + bb * v1[x + 2] + aa * v1[x + 3]
                            a2[x] += d * v2[x] + cc * v2[x + 1] + bb * v2[x + 2] + aa * v2[x + 3]
                    for j in range(kernel_size - kernel_size % 4, kernel_size):
                        shift = kernel_size - 1 - j
                        khj = kh_rows[j, shift : shift + n]
                        v0 = w0[shift : shift + n]
                        v1 = w1[shift : shift + n]
                        v2 = w2[shift : shift + n]
                        for x in range(n):
                            k = khj[x]
                            a0[x] += k * v0[x]
                            a1[x] += k * v1[x]
                            a2[x] += k * v2[x]
            for t in range(rows):
                g = (b * channels + c) * padded_plane + (r0 + t) * padded_width + s0
                grad_padded[g : g + n] = acc[0, t, :n]
                grad_padded[g + padded_plane : g + padded_plane + n] = acc[1, t, :n]
                grad_padded[g + 2 * padded_plane : g + 2 * padded_plane + n] = acc[2, t, :n]


_forward_jit = _jit(_forward_kernel)
_kernel_grads_jit = _jit(_kernel_grads_kernel)
_frame_grad_jit = _jit(_frame_grad_kernel)


def supports(padded: torch.Tensor, kernel_vertical: torch.Tensor, kernel_horizontal: torch.Tensor) -> bool:
    return all(t.device.type == "cpu" and t.dtype == torch.float32 for t in (padded, kernel_vertical, kernel_horizontal))


def _set_threads() -> None:
    numba.set_num_threads(max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)))


def _pad_channels(tensor: torch.Tensor) -> torch.Tensor:
    """Zero-pad dim 1 to a multiple of three (the kernels work on channel triples)."""
    extra = -tensor.shape[1] % 3
    if extra:
        tensor = torch.cat([tensor, tensor.new_zeros(tensor.shape[0], extra, *tensor.shape[2:])], 1)
    return tensor.contiguous()


def _flat(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().reshape(-1).numpy()


def forward(padded: torch.Tensor, kernel_vertical: torch.Tensor, kernel_horizontal: torch.Tensor) -> torch.Tensor:
    batch, channels = padded.shape[:2]
    kernel_size, height, width = kernel_vertical.shape[1:]
    padded3 = _pad_channels(padded)
    out = padded.new_empty(batch, padded3.shape[1], height, width)
    _set_threads()
    _forward_jit(
        _flat(padded3),
        _flat(kernel_vertical.contiguous()),
        _flat(kernel_horizontal.contiguous()),
        _flat(out),
        batch,
        padded3.shape[1],
        height,
        width,
        kernel_size,
        TILE,
    )
    return out[:, :channels]


def backward(
    grad_out: torch.Tensor,
    padded: torch.Tensor,
    kernel_vertical: torch.Tensor,
    kernel_horizontal: torch.Tensor,
    needs: tuple[bool, bool, bool] = (True, True, True),
) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
    need_frame, need_vertical, need_horizontal = needs
    batch, channels = padded.shape[:2]
    kernel_size, height, width = kernel_vertical.shape[1:]
    padded3 = _pad_channels(padded)
    grad3 = _pad_channels(grad_out)
    channels3 = padded3.shape[1]
    kernel_vertical = kernel_vertical.contiguous()
    kernel_horizontal = kernel_horizontal.contiguous()
    _set_threads()
    grad_padded = grad_vertical = grad_horizontal = None
    if need_vertical or need_horizontal:
        grad_vertical = torch.empty_like(kernel_vertical)
        grad_horizontal = torch.empty_like(kernel_horizontal)
        _kernel_grads_jit(
            _flat(grad3),
            _flat(padded3),
            _flat(kernel_vertical),
            _flat(kernel_horizontal),
            _flat(grad_vertical),
            _flat(grad_horizontal),
            batch,
            channels3,
            height,
            width,
            kernel_size,
            TILE,
        )
    if need_frame:
        grad_padded = torch.empty_like(padded3)
        _frame_grad_jit(
            _flat(grad3),
            _flat(kernel_vertical),
            _flat(kernel_horizontal),
            _flat(grad_padded),
            batch,
            channels3,
            height,
            width,
            kernel_size,
            TILE,
            BAND,
        )
        grad_padded = grad_padded[:, :channels]
    return (
        grad_padded,
        grad_vertical if need_vertical else None,
        grad_horizontal if need_horizontal else None,
    )
