"""Which whole-model options pay off for SepConv inference: a ratio table per model, on one device.

One 640×480 pair (already a multiple of 32, so no padding) goes through the
network under each option, every option changing ONE thing against the
baseline (float32, ``model.eval()``, ``torch.no_grad()``, batch 1):

* ``inference_mode``: ``torch.inference_mode()`` instead of ``no_grad``;
* ``channels_last``: model weights and inputs in NHWC memory format;
* ``torch.compile``: ``torch.compile`` (mode "default") of the U-Net and the
  kernel subnets, the separable convolution staying eager; its compile
  time (the first call) is reported separately and capped by
  ``--compile-timeout`` (on CPU, Inductor builds C++ with the system compiler);
* ``bf16 autocast``: ``torch.autocast(device, torch.bfloat16)`` around the
  network (the separable convolution itself still computes in float32);
* ``batch 2``: two pairs per call, reported as seconds *per pair*.

Repetitions are interleaved (option A, B, C, ..., then again) so that a
slow-down of the machine hits every option alike, and the table shows the
median of ``--repeats`` (the best is printed too). Random weights: the speed of
a network does not depend on its weights. Example::

    python -m benchmarks.bench_model_options                      # sepconv and sepconv-lite on CPU
    python -m benchmarks.bench_model_options --models sepconv --repeats 5 --no-compile
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import platform
import signal
import statistics
import sys
import time
from collections.abc import Callable

import torch

from sepgan.models import create_model
from sepgan.tables import Column, MarkdownTable


class TimeUp(BaseException):
    """Raised by the alarm; a BaseException so that Dynamo's own ``except Exception`` lets it through."""


def _alarm(signum, frame):
    raise TimeUp


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Raise :class:`TimeUp` after ``seconds``; Python signal handlers run between PyTorch ops."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(max(1, int(seconds)))
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _options(
    model: torch.nn.Module, device: torch.device, args
) -> dict[str, tuple[Callable[[], object], int]]:
    """name → (one timed call, pairs in that call)."""
    height, width = 480, 640
    generator = torch.Generator().manual_seed(0)
    frame0, frame1 = (torch.rand(2, 3, height, width, generator=generator).to(device) for _ in range(2))
    one0, one1 = frame0[:1].contiguous(), frame1[:1].contiguous()

    def baseline():
        with torch.no_grad():
            return model(one0, one1)

    def inference():
        with torch.inference_mode():
            return model(one0, one1)

    nhwc_model = copy.deepcopy(model).to(memory_format=torch.channels_last)
    nhwc0, nhwc1 = (x.contiguous(memory_format=torch.channels_last) for x in (one0, one1))

    def channels_last():
        with torch.no_grad():
            return nhwc_model(nhwc0, nhwc1)

    def bf16():
        with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16):
            return model(one0, one1)

    def batch2():
        with torch.no_grad():
            return model(frame0, frame1)

    options = {
        "baseline (fp32, no_grad, batch 1)": (baseline, 1),
        "inference_mode": (inference, 1),
        "channels_last": (channels_last, 1),
        "bf16 autocast": (bf16, 1),
        "batch 2": (batch2, 2),
    }
    if not args.no_compile:
        # Dynamo cannot trace the separable convolution's numba dispatch, so only the
        # U-Net and kernel subnets are compiled (as sepgan.interpolator does); the op stays eager.
        compiled = copy.deepcopy(model)
        compiled._estimate_kernels = torch.compile(compiled._estimate_kernels)

        def compiled_call():
            with torch.no_grad():
                return compiled(one0, one1)

        started = time.perf_counter()
        try:
            with _time_limit(args.compile_timeout):
                compiled_call()
            args.compile_note = f"compiled in {time.perf_counter() - started:.0f} s (first call)"
            options["torch.compile"] = (compiled_call, 1)
        except TimeUp:
            args.compile_note = f"gave up compiling after {args.compile_timeout:.0f} s"
        except Exception as error:  # noqa: BLE001 - a compiler failure is a result to print, not a crash
            args.compile_note = f"compile failed: {type(error).__name__}: {str(error).splitlines()[0][:120]}"
        print(f"{type(model).__name__}: torch.compile {args.compile_note}", file=sys.stderr, flush=True)
    else:
        args.compile_note = "not measured (--no-compile)"
    return options


def _time(call: Callable[[], object], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()  # a CPU–GPU sync point, so the clock sees the whole call
    started = time.perf_counter()
    call()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="sepconv,sepconv-lite")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per option (after one warm-up)")
    parser.add_argument(
        "--compile-timeout", type=float, default=300, help="seconds allowed for torch.compile"
    )
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument(
        "--slow-factor",
        type=float,
        default=4,
        help="an option whose warm-up call is this many times slower than the baseline's is timed once",
    )
    parser.add_argument("--call-limit", type=float, default=90, help="seconds allowed for one call")
    args = parser.parse_args()
    device = torch.device(args.device)
    print(
        f"{device}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{platform.processor() or platform.machine()}; 640×480 pair; median of {args.repeats} "
        "interleaved repetitions after one warm-up"
    )
    for name in args.models.split(","):
        torch.manual_seed(0)
        model = create_model(name).to(device).eval()
        options = _options(model, device, args)
        # Warm-up: numba/oneDNN first-call costs stay out of the table. An option far slower
        # than the baseline (bf16 without native bf16 instructions) is timed by this one call.
        times: dict[str, list[float]] = {option: [] for option in options}
        notes: dict[str, str] = {}
        first_baseline = None
        next(iter(options.values()))[0]()  # the op's first call compiles numba kernels: not a warm-up time
        for option, (call, pairs) in list(options.items()):
            try:
                with _time_limit(args.call_limit):
                    seconds = _time(call, device) / pairs
            except TimeUp:
                notes[option] = f"stopped after {args.call_limit:.0f} s"
                del options[option], times[option]
                continue
            first_baseline = first_baseline or seconds
            print(f"{name}: warm-up {option}: {seconds:.2f} s/pair", file=sys.stderr, flush=True)
            if seconds > args.slow_factor * first_baseline:
                times[option].append(seconds)
                notes[option] = "one call (the warm-up): too slow to repeat"
                del options[option]
        for _ in range(args.repeats):
            for option, (call, pairs) in options.items():
                times[option].append(_time(call, device) / pairs)
        baseline = statistics.median(next(iter(times.values())))
        print(f"\n**{name}** (torch.compile: {args.compile_note})\n")
        table = MarkdownTable(
            [Column("option"), Column("s/pair (median)", "{:.3f}"), Column("s/pair (best)", "{:.3f}"),
             Column("ratio to baseline", "{:.2f}×"), Column("note")],
            missing="–",
        )  # fmt: skip
        print(table.header())
        for option, values in times.items():
            median = statistics.median(values)
            cells = [option, median, min(values), median / baseline, notes.get(option, "")]
            print(table.row(cells), flush=True)
        for option, note in notes.items():
            if option not in times:
                print(table.row([option, None, None, None, note]), flush=True)
        with contextlib.suppress(Exception):
            torch._dynamo.reset()  # the next model compiles afresh


if __name__ == "__main__":
    main()
