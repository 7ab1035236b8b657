"""Separable local convolution: reference vs fast backends, as GFLOP/s and % of matmul peak.

Prints one markdown table per device. Sizes are the op's own frame sizes (the
network needs multiples of 32, the op does not): 480p = 480×854, 720p = 720×1280,
1080p = 1080×1920, with K = 51, C = 3, B = 1.

FLOP counts (the same for every backend):
* forward: 2·K²·C·H·W (one multiply-add per tap, channel and pixel);
* backward: 3 × the forward count, one 2·K²·C·H·W term per gradient (frame, vertical
  and horizontal kernels), i.e. each gradient computed directly from its formula.
  The numba kernel-gradient pass shares the channel sum Σ_c g·P between both kernel
  gradients and so executes 10·K²·H·W instead of 12·K²·H·W flops for them; the
  table reports the nominal count, not the executed one.

"% peak" divides by the float32 matmul rate (torch.matmul, 2048×2048, best of
five) measured in the same process right before and after each row's fast
timings (the better of the two), so a machine shared with other work lowers
both numbers together.

Usage: python -m benchmarks.bench_separable_conv [--quick] [--repeats N]
(``--quick`` times the slow reference at 480p only.)
"""

from __future__ import annotations

import argparse
import importlib
import platform
import time
from functools import partial

import torch

from benchmarks.common import SIZES
from sepgan.ops.separable_conv import BACKENDS
from sepgan.tables import Column, MarkdownTable

KERNEL_SIZE = 51
CHANNELS = 3


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def best_time(function, device: torch.device, repeats: int) -> float:
    """Shortest wall time of ``repeats`` calls (after the caller's warm-up)."""
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        function()
        _sync(device)
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_gflops(device: torch.device, repeats: int = 5, size: int = 2048) -> float:
    a = torch.rand(size, size, device=device)
    b = torch.rand(size, size, device=device)
    a @ b
    return 2 * size**3 / best_time(lambda: a @ b, device, repeats) / 1e9


def make_inputs(height: int, width: int, device: torch.device):
    pad = KERNEL_SIZE // 2
    generator = torch.Generator().manual_seed(0)
    padded = torch.rand(1, CHANNELS, height + 2 * pad, width + 2 * pad, generator=generator)
    kernels = [torch.rand(1, KERNEL_SIZE, height, width, generator=generator) / KERNEL_SIZE for _ in "vh"]
    grad_out = torch.rand(1, CHANNELS, height, width, generator=generator)
    return [t.to(device) for t in (padded, *kernels, grad_out)]


def warm_up(backend_name: str, device: torch.device) -> float:
    """First call on a tiny input: JIT compilation, or loading the kernels from numba's cache."""
    padded, kernel_vertical, kernel_horizontal, grad_out = make_inputs(8, 8, device)
    backend = BACKENDS[backend_name]
    start = time.perf_counter()
    backend.forward(padded, kernel_vertical, kernel_horizontal)
    backend.backward(grad_out, padded, kernel_vertical, kernel_horizontal, (True, True, True))
    _sync(device)
    return time.perf_counter() - start


def bench_device(device: torch.device, fast: str, reference_sizes: set[str], repeats: int) -> list[str]:
    compile_seconds = warm_up(fast, device)
    peak = matmul_gflops(device)
    lines = [
        f"### {device.type}: `{fast}` vs `reference`, K={KERNEL_SIZE}, C={CHANNELS}, B=1",
        "",
        (
            f"float32 matmul peak (2048², best of 5): **{peak:.0f} GFLOP/s**; "
            f"`{fast}` first call (compile or cache load, fwd+bwd): {compile_seconds:.1f} s"
        ),
        "",
    ]
    table = MarkdownTable([
        Column("size"), Column("GFLOP fwd / bwd"), Column("reference fwd s", "{:.2f}"),
        Column("reference bwd s", "{:.2f}"), Column("matmul GFLOP/s (this row)", "{:.0f}"),
        Column("fast fwd s", "{:.3f}"), Column("fwd GFLOP/s", "{:.0f}"), Column("fwd % peak", "{:.0f}%"),
        Column("fast bwd s", "{:.3f}"), Column("bwd GFLOP/s", "{:.0f}"), Column("bwd % peak", "{:.0f}%"),
        Column("speed-up fwd / bwd"),
    ])  # fmt: skip
    lines += table.header().splitlines()
    for name, (height, width) in SIZES.items():
        padded, kernel_vertical, kernel_horizontal, grad_out = make_inputs(height, width, device)
        forward_flops = 2 * KERNEL_SIZE**2 * CHANNELS * height * width
        backward_flops = 3 * forward_flops
        backend = BACKENDS[fast]
        backend.forward(padded, kernel_vertical, kernel_horizontal)  # warm caches and allocator
        row_peak = matmul_gflops(device)
        tensors = (padded, kernel_vertical, kernel_horizontal)
        all_grads = (True, True, True)
        fast_forward = best_time(partial(backend.forward, *tensors), device, repeats)
        fast_backward = best_time(partial(backend.backward, grad_out, *tensors, all_grads), device, repeats)
        row_peak = max(row_peak, matmul_gflops(device))
        if name in reference_sizes:
            reference = BACKENDS["reference"]
            ref_forward = best_time(partial(reference.forward, *tensors), device, 1)
            ref_backward = best_time(partial(reference.backward, grad_out, *tensors, all_grads), device, 1)
            reference_cells = [ref_forward, ref_backward]
            speed_up = f"{ref_forward / fast_forward:.0f}× / {ref_backward / fast_backward:.0f}×"
        else:
            reference_cells = ["not run (--quick)", "not run (--quick)"]
            speed_up = "–"
        peak = max(peak, row_peak)
        forward_rate = forward_flops / fast_forward / 1e9
        backward_rate = backward_flops / fast_backward / 1e9
        cells = [
            f"{name} ({height}×{width})", f"{forward_flops / 1e9:.1f} / {backward_flops / 1e9:.1f}",
            *reference_cells, row_peak, fast_forward, forward_rate, 100 * forward_rate / row_peak,
            fast_backward, backward_rate, 100 * backward_rate / row_peak, speed_up,
        ]  # fmt: skip
        lines.append(table.row(cells))
    lines += ["", f"best matmul rate over the run: {peak:.0f} GFLOP/s (% peak uses each row's own)", ""]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="time the reference at 480p only")
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed calls per fast measurement (best is kept)"
    )
    args = parser.parse_args()
    reference_sizes = {"480p"} if args.quick else set(SIZES)

    numba_version = importlib.import_module("numba").__version__
    print("## Separable convolution benchmark\n")
    print(
        f"CPU: {platform.processor() or platform.machine()} ({_cpu_model()}), torch threads: "
        f"{torch.get_num_threads()}, torch {torch.__version__}, numba {numba_version}, "
        f"python {platform.python_version()}\n"
    )
    for line in bench_device(torch.device("cpu"), "numba", reference_sizes, args.repeats):
        print(line, flush=True)
    if torch.cuda.is_available():
        print(f"GPU: {torch.cuda.get_device_name()}\n")
        for line in bench_device(torch.device("cuda"), "triton", set(SIZES), args.repeats):
            print(line, flush=True)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown model"


if __name__ == "__main__":
    main()
