"""GPU backend of the separable local convolution: Triton kernels, fp32 accumulation.

Conventions are those of :mod:`sepgan.ops.separable_conv`: the backend receives
the replicate-padded frame ``padded`` (B×C×(H+K-1)×(W+K-1), contiguous) and the
per-pixel kernels (B×K×H×W), all float32, and returns float32 results.

Each program owns one output row ``y`` × ``BLOCK_X`` columns:

* forward: a [channels × BLOCK_X] tile; for each kernel row ``i`` the horizontal
  taps accumulate ``Σ_j kh[j]·P[y+i, x+j]``, which is then weighted by ``kv[i]``.
* kernel gradients: a [K × BLOCK_X] tile over the kernel rows ``i``; for each tap
  ``j`` it forms ``S[i, x] = Σ_c g[c, x]·P[c, y+i, x+j]`` once and uses it for
  both ``grad_kv[i] += kh[j]·S[i]`` and ``grad_kh[j] = Σ_i kv[i]·S[i]``.
* frame gradient: a gather (no atomics). The program owning padded row ``r`` ×
  ``BLOCK_X`` padded columns ``s`` sums ``g[r-i, s-j]·kv[i]·kh[j]`` over the taps
  whose output pixel lies inside the frame.

Under ``TRITON_INTERPRET=1`` (set before this module is imported) the same
kernels run on CPU tensors through Triton's interpreter, which is how the tests
check them without a GPU; it is slow (≈ 1 s for a 720p forward), so only tiny
shapes are practical there.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

__all__ = ["backward", "forward"]

BLOCK_X = 64


@triton.jit
def _forward_kernel(P, KV, KH, OUT, C, H, W, K, BLOCK_C: tl.constexpr, BLOCK_X: tl.constexpr):
    row = tl.program_id(0)  # b * H + y
    b = (row // H).to(tl.int64)
    y = row % H
    xs = tl.program_id(1) * BLOCK_X + tl.arange(0, BLOCK_X)
    cs = tl.arange(0, BLOCK_C)
    x_ok = xs < W
    ok = (cs < C)[:, None] & x_ok[None, :]
    padded_height = H + K - 1
    padded_width = W + K - 1
    p_tile = P + b * C * padded_height * padded_width + cs[:, None] * padded_height * padded_width
    p_tile += y * padded_width + xs[None, :]
    kernel_tile = b * K * H * W + y * W + xs
    acc = tl.zeros([BLOCK_C, BLOCK_X], dtype=tl.float32)
    for i in range(K):
        rows = tl.zeros([BLOCK_C, BLOCK_X], dtype=tl.float32)
        for j in range(K):
            kh = tl.load(KH + kernel_tile + j * H * W, mask=x_ok, other=0.0)
            p = tl.load(p_tile + i * padded_width + j, mask=ok, other=0.0)
            rows += kh[None, :] * p
        kv = tl.load(KV + kernel_tile + i * H * W, mask=x_ok, other=0.0)
        acc += kv[None, :] * rows
    out_tile = OUT + b * C * H * W + cs[:, None] * H * W + y * W + xs[None, :]
    tl.store(out_tile, acc, mask=ok)


@triton.jit
def _kernel_grads_kernel(G, P, KV, KH, GKV, GKH, C, H, W, K, BLOCK_K: tl.constexpr, BLOCK_X: tl.constexpr):
    row = tl.program_id(0)  # b * H + y
    b = (row // H).to(tl.int64)
    y = row % H
    xs = tl.program_id(1) * BLOCK_X + tl.arange(0, BLOCK_X)
    ks = tl.arange(0, BLOCK_K)
    x_ok = xs < W
    ok = (ks < K)[:, None] & x_ok[None, :]
    padded_height = H + K - 1
    padded_width = W + K - 1
    kernel_tile = b * K * H * W + y * W + xs
    kv = tl.load(KV + kernel_tile[None, :] + ks[:, None] * H * W, mask=ok, other=0.0)  # [K, X]
    acc_kv = tl.zeros([BLOCK_K, BLOCK_X], dtype=tl.float32)
    g_row = G + b * C * H * W + y * W + xs
    # p_tile[i, x] points at P[b, 0, y + i, x].
    p_tile = P + b * C * padded_height * padded_width + (y + ks[:, None]) * padded_width + xs[None, :]
    for j in range(K):
        s = tl.zeros([BLOCK_K, BLOCK_X], dtype=tl.float32)
        for c in range(C):
            g = tl.load(g_row + c * H * W, mask=x_ok, other=0.0)
            p = tl.load(p_tile + c * padded_height * padded_width + j, mask=ok, other=0.0)
            s += g[None, :] * p
        kh = tl.load(KH + kernel_tile + j * H * W, mask=x_ok, other=0.0)
        acc_kv += kh[None, :] * s
        tl.store(GKH + kernel_tile + j * H * W, tl.sum(kv * s, axis=0), mask=x_ok)
    tl.store(GKV + kernel_tile[None, :] + ks[:, None] * H * W, acc_kv, mask=ok)


@triton.jit
def _frame_grad_kernel(G, KV, KH, GP, C, H, W, K, BLOCK_C: tl.constexpr, BLOCK_X: tl.constexpr):
    padded_height = H + K - 1
    padded_width = W + K - 1
    row = tl.program_id(0)  # b * padded_height + r
    b = (row // padded_height).to(tl.int64)
    r = row % padded_height
    ss = tl.program_id(1) * BLOCK_X + tl.arange(0, BLOCK_X)
    cs = tl.arange(0, BLOCK_C)
    c_ok = cs < C
    s_ok = ss < padded_width
    acc = tl.zeros([BLOCK_C, BLOCK_X], dtype=tl.float32)
    # Output row y = r - i must lie inside the frame.
    i_first = tl.maximum(r - H + 1, 0)
    i_last = tl.minimum(r + 1, K)
    for i in range(i_first, i_last):
        y = r - i
        for j in range(K):
            x = ss - j
            ok = s_ok & (x >= 0) & (x < W)
            pixel = b * K * H * W + y * W + x
            weight = tl.load(KV + pixel + i * H * W, mask=ok, other=0.0) * tl.load(
                KH + pixel + j * H * W, mask=ok, other=0.0
            )
            g = tl.load(
                G + b * C * H * W + cs[:, None] * H * W + y * W + x[None, :],
                mask=c_ok[:, None] & ok[None, :],
                other=0.0,
            )
            acc += weight[None, :] * g
    gp_tile = GP + b * C * padded_height * padded_width + cs[:, None] * padded_height * padded_width
    tl.store(gp_tile + r * padded_width + ss[None, :], acc, mask=c_ok[:, None] & s_ok[None, :])


def forward(
    padded: torch.Tensor, kernel_vertical: torch.Tensor, kernel_horizontal: torch.Tensor
) -> torch.Tensor:
    batch, channels = padded.shape[:2]
    kernel_size, height, width = kernel_vertical.shape[1:]
    out = padded.new_empty(batch, channels, height, width)
    grid = (batch * height, triton.cdiv(width, BLOCK_X))
    _forward_kernel[grid](
        padded, kernel_vertical, kernel_horizontal, out, channels, height, width, kernel_size,
        BLOCK_C=triton.next_power_of_2(channels), BLOCK_X=BLOCK_X,
    )  # fmt: skip
    return out


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
    grad_out = grad_out.contiguous()
    grad_padded = grad_vertical = grad_horizontal = None
    if need_vertical or need_horizontal:
        grad_vertical = torch.empty_like(kernel_vertical)
        grad_horizontal = torch.empty_like(kernel_horizontal)
        # A K×BLOCK_X tile (64×32 at K = 51) keeps the accumulator in registers.
        block_x = 32
        grid = (batch * height, triton.cdiv(width, block_x))
        _kernel_grads_kernel[grid](
            grad_out, padded, kernel_vertical, kernel_horizontal, grad_vertical, grad_horizontal,
            channels, height, width, kernel_size,
            BLOCK_K=triton.next_power_of_2(kernel_size), BLOCK_X=block_x,
        )  # fmt: skip
    if need_frame:
        grad_padded = torch.empty_like(padded)
        padded_height, padded_width = padded.shape[2:]
        grid = (batch * padded_height, triton.cdiv(padded_width, BLOCK_X))
        _frame_grad_kernel[grid](
            grad_out, kernel_vertical, kernel_horizontal, grad_padded, channels, height, width, kernel_size,
            BLOCK_C=triton.next_power_of_2(channels), BLOCK_X=BLOCK_X,
        )  # fmt: skip
    return (
        grad_padded,
        grad_vertical if need_vertical else None,
        grad_horizontal if need_horizontal else None,
    )
