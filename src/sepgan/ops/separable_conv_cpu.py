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
is split into tasks of two output rows ``y, y+1`` × one tile of about ``TILE``
columns, run in parallel with ``prange``. Inside a task, for each padded row
``y + r`` the horizontal pass accumulates ``row_c[x] = Σ_j kh[j, y, x] · P[c, y+r, x+j]``
(tap ``i = r`` of row ``y``) and the same sum with ``kh[j, y+1, x]`` (tap ``r - 1`` of
row ``y + 1``) for three channels at once: innermost loop over ``x``, vectorised by
LLVM, each load of ``P`` feeding both rows, two ``j`` taps per sweep. The vertical
pass then adds ``kv[i, y, x] · row_c[x]`` to each row's output tile. Everything a
task touches (K kernel rows of one tile per output row, six accumulator rows, one
padded row per ``r``) stays in L1/L2. The inner loops are bound by loads, not by
FMAs; blocking further (four taps × two rows, or 2 × 2 blocks in the kernel
gradients) needs more runtime alias checks than LLVM accepts, and the loop then
stays scalar (≈ 4× slower). Channels are processed in groups of three; other
channel counts are zero-padded to a multiple of three (exact, and free for RGB).

The kernel gradients share the channel sum ``S = Σ_c g · P`` between both
gradients and take three kernel rows ``i`` per sweep over ``j``.

The frame gradient is a scatter (``P[y+i, x+j]`` receives from every output
pixel that reads it). To avoid atomics it is computed as a gather: each task
owns a band of padded rows × one tile of padded columns and sums
``g[r-i, s-j] · kv[i, r-i, s-j] · kh[j, r-i, s-j]`` over the valid ``i, j``.

Outputs larger than 2 MB are allocated with transparent huge pages where Linux
offers them (see ``_empty``): the kernel gradients are fresh 2·K·H·W-float
tensors on every call, and first-touching them in 4 KB pages cost a quarter of
the backward pass.

Costs: the first call of each kernel compiles it (a few seconds) unless the
on-disk numba cache next to this file (or, if that directory is read-only,
numba's user-wide cache directory) already holds it. The thread count follows
``torch.get_num_threads()`` (capped by ``NUMBA_NUM_THREADS``).
"""

from __future__ import annotations

import contextlib
import mmap

import numba
import numpy as np
import torch
from numba import njit, prange

__all__ = ["backward", "forward", "supports"]

# Target output columns per parallel task of the forward and kernel-gradient passes.
# 256 keeps a task's K kernel rows (51 × 1 KB) in L2 and its accumulator rows in L1,
# with enough tasks per frame (H × W/256) to balance the threads. The actual width is
# balanced by ``_tile_width`` so that no task gets a short remainder tile.
TILE = 256
# Target padded columns per frame-gradient task. Wider than ``TILE``: its inner loops
# (over one band row) pay a fixed setup per entry, and at 256 columns that setup
# costs ≈ 25% of the pass (measured at 720p: 0.41 s at 256 × 64, 0.29 s at 672 × 32).
FRAME_GRAD_TILE = 768
# Padded rows per frame-gradient task: each kernel row is re-read (BAND + K - 1) / BAND
# times; 32 keeps the 3 × BAND × tile accumulator (≈ 260 KB) in L2.
BAND = 32


def _tile_width(extent: int, target: int) -> int:
    """Split ``extent`` columns into tiles of about ``target``, equal up to a multiple of 8.

    Equal tiles (the last one at most 7 columns shorter) instead of ``target``-wide tiles
    plus a remainder: 854 = 3 · 256 + 86 would leave one thread a quarter-full task per
    row. 8 is the float32 width of an AVX2 register, so the vector loops have no tail.
    """
    tiles = max(1, -(-extent // target))
    return -(-extent // (8 * tiles)) * 8


def _jit(function):
    """``njit`` with the on-disk cache when some cache directory is writable."""
    options = {"parallel": True, "fastmath": True, "nogil": True, "error_model": "numpy"}
    try:
        return njit(cache=True, **options)(function)
    except RuntimeError:  # no writable cache location: compile on every process start
        return njit(**options)(function)


def _forward_kernel(padded, kv, kh, out, batch, channels, height, width, kernel_size, tile):
    """All arrays are flat float32; ``channels`` is a multiple of three.

    A task computes two output rows ``y`` and ``y + 1``: padded row ``y + r`` is tap
    ``r`` of row ``y`` and tap ``r - 1`` of row ``y + 1``, so each load of it feeds
    both rows' horizontal sums (the loop is bound by loads, not by FMAs).
    """
    padded_height = height + kernel_size - 1
    padded_width = width + kernel_size - 1
    plane = height * width
    padded_plane = padded_height * padded_width
    tiles = (width + tile - 1) // tile
    pairs = (height + 1) // 2
    for task in prange(batch * pairs * tiles):
        b = task // (pairs * tiles)
        y = 2 * ((task // tiles) % pairs)
        x0 = (task % tiles) * tile
        n = min(tile, width - x0)
        both = y + 1 < height  # false for the last row of an odd height
        # The K rows kh[b, :, y, x0:x0+n] lie H·W floats apart; at such strides they
        # compete for the same cache sets, so copy them next to each other first.
        kh_a = np.empty((kernel_size, tile), np.float32)
        kv_a = np.empty((kernel_size, tile), np.float32)
        kh_b = np.zeros((kernel_size, tile), np.float32)
        kv_b = np.zeros((kernel_size, tile), np.float32)
        kernel_base = b * kernel_size * plane + y * width + x0
        for j in range(kernel_size):
            kh_a[j, :n] = kh[kernel_base + j * plane : kernel_base + j * plane + n]
            kv_a[j, :n] = kv[kernel_base + j * plane : kernel_base + j * plane + n]
            if both:
                kh_b[j, :n] = kh[kernel_base + width + j * plane : kernel_base + width + j * plane + n]
                kv_b[j, :n] = kv[kernel_base + width + j * plane : kernel_base + width + j * plane + n]
        rows = np.empty((6, tile), np.float32)
        acc = np.empty((6, tile), np.float32)
        ra0, ra1, ra2, rb0, rb1, rb2 = rows[0], rows[1], rows[2], rows[3], rows[4], rows[5]
        aa0, aa1, aa2, ab0, ab1, ab2 = acc[0], acc[1], acc[2], acc[3], acc[4], acc[5]
        for c in range(0, channels, 3):
            acc[:] = 0.0
            # r = 0 and r = K feed only one of the two rows; the other row's sum is
            # computed anyway (2 of 2K + 2 sweeps) and dropped, which keeps one loop body.
            for r in range(kernel_size + 1 if both else kernel_size):
                rows[:] = 0.0
                # Slices make every inner index a plain loop counter: numba then drops
                # its negative-index wraparound and LLVM vectorises the loops.
                start = ((b * channels + c) * padded_height + y + r) * padded_width + x0
                p0 = padded[start : start + n + kernel_size - 1]
                p1 = padded[start + padded_plane : start + padded_plane + n + kernel_size - 1]
                p2 = padded[start + 2 * padded_plane : start + 2 * padded_plane + n + kernel_size - 1]
                # Two taps per sweep and row: with both rows that is four accumulations
                # per loaded value of p, and the accumulator traffic is halved.
                for jj in range(kernel_size // 2):
                    j = 2 * jj
                    ka = kh_a[j]
                    kb = kh_a[j + 1]
                    la = kh_b[j]
                    lb = kh_b[j + 1]
                    for x in range(n):
                        wa = ka[x]
                        wb = kb[x]
                        va = la[x]
                        vb = lb[x]
                        q = p0[j + x]
                        s = p0[j + 1 + x]
                        ra0[x] += wa * q + wb * s
                        rb0[x] += va * q + vb * s
                        q = p1[j + x]
                        s = p1[j + 1 + x]
                        ra1[x] += wa * q + wb * s
                        rb1[x] += va * q + vb * s
                        q = p2[j + x]
                        s = p2[j + 1 + x]
                        ra2[x] += wa * q + wb * s
                        rb2[x] += va * q + vb * s
                for j in range(kernel_size - kernel_size % 2, kernel_size):
                    ka = kh_a[j]
                    la = kh_b[j]
                    for x in range(n):
                        wa = ka[x]
                        va = la[x]
                        ra0[x] += wa * p0[j + x]
                        ra1[x] += wa * p1[j + x]
                        ra2[x] += wa * p2[j + x]
                        rb0[x] += va * p0[j + x]
                        rb1[x] += va * p1[j + x]
                        rb2[x] += va * p2[j + x]
                if r < kernel_size:
                    kvr = kv_a[r]
                    for x in range(n):
                        v = kvr[x]
                        aa0[x] += v * ra0[x]
                        aa1[x] += v * ra1[x]
                        aa2[x] += v * ra2[x]
                if r > 0:
                    kvr = kv_b[r - 1]
                    for x in range(n):
                        v = kvr[x]
                        ab0[x] += v * rb0[x]
                        ab1[x] += v * rb1[x]
                        ab2[x] += v * rb2[x]
            o0 = (b * channels + c) * plane + y * width + x0
            out[o0 : o0 + n] = aa0[:n]
            out[o0 + plane : o0 + plane + n] = aa1[:n]
            out[o0 + 2 * plane : o0 + 2 * plane + n] = aa2[:n]
            if both:
                o0 += width
                out[o0 : o0 + n] = ab0[:n]
                out[o0 + plane : o0 + plane + n] = ab1[:n]
                out[o0 + 2 * plane : o0 + 2 * plane + n] = ab2[:n]


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
            span = n + kernel_size - 1
            # Three kernel rows i..i+2 per sweep over j: each load of kh[j] and each
            # load/store of the grad_kh accumulator row then serves three rows.
            for ii in range(kernel_size // 3):
                i = 3 * ii
                start = ((b * channels + c) * padded_height + y + i) * padded_width + x0
                pa0 = padded[start : start + span]
                pa1 = padded[start + padded_plane : start + padded_plane + span]
                pa2 = padded[start + 2 * padded_plane : start + 2 * padded_plane + span]
                start += padded_width
                pb0 = padded[start : start + span]
                pb1 = padded[start + padded_plane : start + padded_plane + span]
                pb2 = padded[start + 2 * padded_plane : start + 2 * padded_plane + span]
                start += padded_width
                pc0 = padded[start : start + span]
                pc1 = padded[start + padded_plane : start + padded_plane + span]
                pc2 = padded[start + 2 * padded_plane : start + 2 * padded_plane + span]
                kva = kv_tile[i]
                kvb = kv_tile[i + 1]
                kvc = kv_tile[i + 2]
                acc_kva = acc_kv[i]
                acc_kvb = acc_kv[i + 1]
                acc_kvc = acc_kv[i + 2]
                for j in range(kernel_size):
                    khj = kh_tile[j]
                    acc_khj = acc_kh[j]
                    for x in range(n):
                        sa = g0[x] * pa0[j + x] + g1[x] * pa1[j + x] + g2[x] * pa2[j + x]
                        sb = g0[x] * pb0[j + x] + g1[x] * pb1[j + x] + g2[x] * pb2[j + x]
                        sc = g0[x] * pc0[j + x] + g1[x] * pc1[j + x] + g2[x] * pc2[j + x]
                        k = khj[x]
                        acc_kva[x] += k * sa
                        acc_kvb[x] += k * sb
                        acc_kvc[x] += k * sc
                        acc_khj[x] += kva[x] * sa + kvb[x] * sb + kvc[x] * sc
            for i in range(kernel_size - kernel_size % 3, kernel_size):
                start = ((b * channels + c) * padded_height + y + i) * padded_width + x0
                p0 = padded[start : start + span]
                p1 = padded[start + padded_plane : start + padded_plane + span]
                p2 = padded[start + 2 * padded_plane : start + 2 * padded_plane + span]
                kvi = kv_tile[i]
                acc_kvi = acc_kv[i]
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


def _frame_grad_kernel(
    grad_out, kv, kh, grad_padded, batch, channels, height, width, kernel_size, tile, band
):
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
    return all(
        t.device.type == "cpu" and t.dtype == torch.float32
        for t in (padded, kernel_vertical, kernel_horizontal)
    )


def _set_threads() -> None:
    numba.set_num_threads(max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)))


def _pad_channels(tensor: torch.Tensor) -> torch.Tensor:
    """Zero-pad dim 1 to a multiple of three (the kernels work on channel triples)."""
    extra = -tensor.shape[1] % 3
    if extra:
        tensor = torch.cat([tensor, tensor.new_zeros(tensor.shape[0], extra, *tensor.shape[2:])], 1)
    return tensor.contiguous()


def _empty(shape: tuple[int, ...]) -> torch.Tensor:
    """An uninitialised float32 CPU tensor, backed by transparent huge pages where possible.

    The outputs are allocated afresh on every call; the kernel gradients alone are
    2·K·H·W floats (376 MB at 720p, K = 51). First-touching them in 4 KB pages costs
    ≈ 90 000 page faults, about a third of the kernel-gradient pass (0.45 s → 0.32 s at
    720p with huge pages). With ``MADV_HUGEPAGE`` (Linux; honoured when transparent huge
    pages are set to ``madvise`` or ``always``) they fault in 2 MB pages instead. The
    mapping is unmapped when the tensor (which owns it through its numpy base) is freed.
    Elsewhere, or below one huge page, this is plain ``torch.empty``.
    """
    advice = getattr(mmap, "MADV_HUGEPAGE", None)
    anonymous = getattr(mmap, "MAP_ANONYMOUS", None)
    nbytes = 4 * int(np.prod(shape))
    if advice is None or anonymous is None or nbytes < 1 << 21:
        return torch.empty(shape, dtype=torch.float32)
    # Private anonymous memory: a shared mapping (mmap's default) is shmem, whose huge
    # pages follow a separate setting that is usually off.
    mapping = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | anonymous)
    with contextlib.suppress(OSError):  # kernel without transparent huge pages: 4 KB pages, still correct
        mapping.madvise(advice)
    return torch.from_numpy(np.frombuffer(mapping, dtype=np.float32)).view(shape)


def _flat(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().reshape(-1).numpy()


def forward(
    padded: torch.Tensor, kernel_vertical: torch.Tensor, kernel_horizontal: torch.Tensor
) -> torch.Tensor:
    batch, channels = padded.shape[:2]
    kernel_size, height, width = kernel_vertical.shape[1:]
    padded3 = _pad_channels(padded)
    out = _empty((batch, padded3.shape[1], height, width))
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
        _tile_width(width, TILE),
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
        grad_vertical = _empty(tuple(kernel_vertical.shape))
        grad_horizontal = _empty(tuple(kernel_horizontal.shape))
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
            _tile_width(width, TILE),
        )
    if need_frame:
        grad_padded = _empty(tuple(padded3.shape))
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
            _tile_width(width + kernel_size - 1, FRAME_GRAD_TILE),
            BAND,
        )
        grad_padded = grad_padded[:, :channels]
    return (
        grad_padded,
        grad_vertical if need_vertical else None,
        grad_horizontal if need_horizontal else None,
    )
