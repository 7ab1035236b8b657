"""Run methods over benchmarks: score every sample, time every call, keep each method's extremes.

Each sample is decoded once and given to every method in turn. A sample is a
pair of inputs and the true frames between them at its benchmark's times: t = ½
for a triplet, t = 1/N … (N − 1)/N for a video or frame folder scored ×N
(every Nth frame kept). Each method makes all of a pair's frames in one call
(:meth:`~sepgan.evaluation.methods.Method.at_times`), so a method that warps to
any time estimates its flow once per pair, and one that bisects pays for every
level. A method that cannot make a benchmark's times (t = ⅓ by bisection) is
skipped with the reason, like a peer that is not installed. What is measured:

* quality: every metric in :data:`sepgan.metrics.METRICS` on each
  uint8 output against its uint8 target; a benchmark figure is the mean over
  its scored frames (one per sample at ×2), and each row also carries its time,
  so the report can give the figures per position. A metric whose optional
  extra is not installed (ST-LPIPS without ``sepgan[perceptual]``) is left out
  with one ``note:`` line (:func:`sepgan.metrics.metric_functions`); the
  result's ``metrics`` names those scored. ST-LPIPS runs on ``metric_device``;
  its time is not in any method's ``seconds``.
* ``seconds``: wall time of the method call alone (all of a pair's frames), with
  a device sync around it for torch methods on CUDA. One-time setup (loading
  weights, finding a binary) is excluded; the first call's warm-up is not. On a
  shared machine the times are only comparable within one run.
* ``peak_mib``: on CUDA, ``torch.cuda.max_memory_allocated`` during the call.
  On CPU, the growth of this process's resident set during the call (sampled
  from /proc every 2 ms, so short spikes can be missed, and memory the
  allocator kept from earlier calls counts as zero), or a subprocess's own peak
  RSS when the method runs one (ffmpeg). The table shows the maximum over
  samples. It is a rough guide, not an allocator-exact figure.

For the montages the runner keeps, per benchmark and method, the worst and
best sample by PSNR with every method's output for it (so at most two samples
per method are held in memory, whatever the benchmark's size).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import islice

import numpy as np
import torch

from sepgan.errors import UserError
from sepgan.evaluation.benchmarks import MIDDLE, Benchmark, LayoutError
from sepgan.evaluation.methods import Method, MethodUnavailable
from sepgan.metrics import METRICS, metric_functions

__all__ = ["EvaluationError", "EvaluationResult", "SampleResult", "Snapshot", "Summary", "evaluate"]


class EvaluationError(UserError, RuntimeError):
    """Nothing could be evaluated: every method was unavailable, or a benchmark had no samples."""


@dataclass(frozen=True)
class SampleResult:
    """One scored frame: ``sample`` names the target, ``time`` its t between the inputs;
    ``seconds`` and ``peak_bytes`` are those of the call that made every frame of its pair."""

    benchmark: str
    sample: str
    method: str
    metrics: dict[str, float]
    seconds: float
    peak_bytes: int | None
    time: Fraction = MIDDLE[0]


@dataclass(frozen=True)
class Summary:
    benchmark: str
    method: str
    samples: int
    metrics: dict[str, float]  # means over samples
    seconds_per_pair: float
    peak_mib: float | None  # maximum over samples

    def as_row(self) -> dict[str, object]:
        return {
            "benchmark": self.benchmark,
            "method": self.method,
            "samples": self.samples,
            **self.metrics,
            "seconds_per_pair": self.seconds_per_pair,
            "peak_mib": self.peak_mib,
        }


@dataclass
class Snapshot:
    """One sample's inputs, target and every method's output, kept for a montage."""

    benchmark: str
    sample: str
    frame0: np.ndarray
    frame1: np.ndarray
    target: np.ndarray
    outputs: dict[str, np.ndarray]
    psnr: dict[str, float]


@dataclass
class EvaluationResult:
    methods: list[str]
    benchmarks: list[str]
    factors: dict[str, int] = field(default_factory=dict)  # benchmark → N (every Nth frame kept); 2
    metrics: list[str] = field(default_factory=lambda: list(METRICS))  # the names scored, in METRICS order
    samples: list[SampleResult] = field(default_factory=list)
    summaries: list[Summary] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # method → reason
    worst: dict[tuple[str, str], Snapshot] = field(default_factory=dict)  # (benchmark, method) → sample
    best: dict[tuple[str, str], Snapshot] = field(default_factory=dict)


class _PeakMemory:
    """Peak memory of one call; see the module docstring for what it measures."""

    interval = 0.002

    def __init__(self, cuda_device: torch.device | None) -> None:
        self.cuda_device = cuda_device
        self.peak: int | None = None

    def __enter__(self) -> _PeakMemory:  # noqa: PYI034 - typing.Self needs Python 3.11
        if self.cuda_device is not None:
            torch.cuda.synchronize(self.cuda_device)
            torch.cuda.reset_peak_memory_stats(self.cuda_device)
            self._baseline = torch.cuda.memory_allocated(self.cuda_device)
            return self
        self._baseline = _resident_bytes()
        if self._baseline is None:
            return self
        self._highest = self._baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self._highest = max(self._highest, _resident_bytes() or 0)

    def __exit__(self, *exc_info: object) -> None:
        if self.cuda_device is not None:
            torch.cuda.synchronize(self.cuda_device)
            self.peak = torch.cuda.max_memory_allocated(self.cuda_device) - self._baseline
            return
        if self._baseline is None:
            return
        self._stop.set()
        self._thread.join()
        self._highest = max(self._highest, _resident_bytes() or 0)
        self.peak = self._highest - self._baseline


def _resident_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None  # not Linux: memory is reported as unknown


def _cuda_device(method: Method) -> torch.device | None:
    device = getattr(method, "device", None)
    if method.uses_torch and device is not None and torch.device(device).type == "cuda":
        return torch.device(device)
    return None


def set_up_methods(
    methods: Sequence[Method], log: Callable[[str], None], times: Sequence[Fraction] = MIDDLE
) -> tuple[list[Method], dict[str, str]]:
    """Run each method's setup; return those that are ready and the reasons the others were skipped:
    not installed, or unable to make every one of ``times`` (a middle-only method, t = ⅓)."""
    ready, skipped = [], {}
    for method in methods:
        try:
            method.setup()
            unreachable = method.unreachable_times(times)
            if unreachable:
                raise MethodUnavailable(
                    "makes only the middle frame and reaches other times by bisection, so not "
                    f"t = {', '.join(map(str, unreachable))} (a factor that is a power of two works)"
                )
        except MethodUnavailable as reason:
            skipped[method.name] = str(reason)
            log(f"skipping {method.name}: {reason}")
        else:
            ready.append(method)
    if not ready:
        raise EvaluationError("no method can run here: " + "; ".join(f"{k}: {v}" for k, v in skipped.items()))
    return ready, skipped


def evaluate(
    benchmarks: Iterable[Benchmark],
    methods: Sequence[Method],
    limit: int | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
    metric_device: str = "cpu",
) -> EvaluationResult:
    """Score ``methods`` on every sample (the first ``limit`` per benchmark) of ``benchmarks``;
    a sample is a triplet, or at a factor N a pair of kept frames and the N − 1 frames between.
    ``metric_device``: the torch device of the metrics that run a network (ST-LPIPS)."""
    from sepgan.progress import progress_bar

    benchmarks = list(benchmarks)
    times = sorted({at for benchmark in benchmarks for at in benchmark.times})
    ready, skipped = set_up_methods(methods, log, times)
    scorers, notes = metric_functions(metric_device)
    for note in notes:
        log(f"note: {note}")
    result = EvaluationResult(
        [m.name for m in ready],
        [b.name for b in benchmarks],
        factors={b.name: b.factor for b in benchmarks},
        metrics=list(scorers),
        skipped=skipped,
    )
    for benchmark in benchmarks:
        total = benchmark.length if limit is None else min(limit, benchmark.length or limit)
        samples = islice(iter(benchmark), limit) if limit is not None else iter(benchmark)
        per_method: dict[str, list[SampleResult]] = {m.name: [] for m in ready}
        for method in ready:
            method.begin_benchmark(benchmark.layout, benchmark.root, log, factor=benchmark.factor)
        bar = progress_bar(samples, total=total, desc=benchmark.name, unit="pair", enabled=progress)
        for sample in bar:
            frame0, frame1, targets = sample.load_group()
            context = sample.context() if sample.context is not None else None
            made = {
                method.name: _run_one(method, frame0, frame1, sample.times, targets[0], context)
                for method in ready
            }
            for index, (name, at, target) in enumerate(
                zip(sample.target_names, sample.times, targets, strict=True)
            ):
                outputs = {method: call.outputs[index] for method, call in made.items()}
                for method, call in made.items():
                    scores = _scores(scorers, outputs[method], target, f"{benchmark.name} {name}")
                    row = SampleResult(benchmark.name, name, method, scores, call.seconds, call.peak, at)
                    per_method[method].append(row)
                    result.samples.append(row)
                _keep_extremes(result, benchmark.name, name, frame0, frame1, target, outputs, per_method)
            first = ready[0].name
            bar.set_postfix(
                {f"{first} PSNR": f"{np.mean([r.metrics['psnr'] for r in per_method[first]]):.2f}"}
            )
        bar.close()
        if not per_method[ready[0].name]:
            raise LayoutError(f"{benchmark.root}: no samples found")
        for method in ready:
            summary = _summarise(benchmark.name, method.name, per_method[method.name], result.metrics)
            result.summaries.append(summary)
    return result


def _scores(
    scorers: dict[str, Callable[[np.ndarray, np.ndarray], float]],
    prediction: np.ndarray,
    target: np.ndarray,
    where: str,
) -> dict[str, float]:
    """Every metric of one output; a frame too small for one (MS-SSIM under 11 px, ST-LPIPS under
    21 px) is an :class:`EvaluationError` naming the sample."""
    try:
        return {key: function(prediction, target) for key, function in scorers.items()}
    except ValueError as error:
        raise EvaluationError(f"{where}: {error}") from error


@dataclass(frozen=True)
class _Call:
    """One method call on one pair: its frames (one per time), wall time and peak memory."""

    outputs: list[np.ndarray]
    seconds: float
    peak: int | None


def _run_one(
    method: Method,
    frame0: np.ndarray,
    frame1: np.ndarray,
    times: Sequence[Fraction],
    target: np.ndarray,
    context: tuple[np.ndarray | None, np.ndarray | None] | None = None,
) -> _Call:
    """One timed call; ``context`` (videos and frame folders): the kept frames around the pair,
    for :meth:`Method.at_times_in_video`."""
    memory = _PeakMemory(_cuda_device(method))
    with memory:
        start = time.perf_counter()
        # t = ½ alone is the plain call, the path every method has always been scored on.
        if context is not None:
            outputs = method.at_times_in_video(frame0, frame1, times, *context)
        elif tuple(times) == MIDDLE:
            outputs = [method(frame0, frame1)]
        else:
            outputs = method.at_times(frame0, frame1, times)
        if memory.cuda_device is not None:
            torch.cuda.synchronize(memory.cuda_device)  # a sync point, so the time covers the kernels
        seconds = time.perf_counter() - start
    if len(outputs) != len(times):
        raise RuntimeError(f"{method.name} returned {len(outputs)} frames for {len(times)} times")
    for output in outputs:
        if output.shape != target.shape or output.dtype != np.uint8:
            raise RuntimeError(
                f"{method.name} returned {output.dtype} {output.shape}, expected uint8 {target.shape}"
            )
    peak = memory.peak
    child_peak = method.child_peak_bytes()
    if child_peak:
        peak = max(peak or 0, child_peak)
    return _Call(outputs, seconds, peak)


def _keep_extremes(
    result: EvaluationResult,
    benchmark: str,
    sample: str,
    frame0: np.ndarray,
    frame1: np.ndarray,
    target: np.ndarray,
    outputs: dict[str, np.ndarray],
    per_method: dict[str, list[SampleResult]],
) -> None:
    snapshot: Snapshot | None = None
    for method, rows in per_method.items():
        score = rows[-1].metrics["psnr"]
        key = (benchmark, method)
        worst, best = result.worst.get(key), result.best.get(key)
        replace_worst = worst is None or score < worst.psnr[method]
        replace_best = best is None or score > best.psnr[method]
        if (replace_worst or replace_best) and snapshot is None:
            psnr = {name: r[-1].metrics["psnr"] for name, r in per_method.items()}
            snapshot = Snapshot(benchmark, sample, frame0, frame1, target, dict(outputs), psnr)
        if replace_worst:
            result.worst[key] = snapshot  # type: ignore[assignment]
        if replace_best:
            result.best[key] = snapshot  # type: ignore[assignment]


def _summarise(benchmark: str, method: str, rows: list[SampleResult], names: Sequence[str]) -> Summary:
    metrics = {name: float(np.mean([row.metrics[name] for row in rows])) for name in names}
    peaks = [row.peak_bytes for row in rows if row.peak_bytes is not None]
    peak_mib = max(peaks) / 2**20 if peaks else None
    seconds = float(np.mean([row.seconds for row in rows]))
    if any(math.isnan(value) for value in metrics.values()):
        raise EvaluationError(f"{method} on {benchmark}: a metric came out NaN")
    return Summary(benchmark, method, len(rows), metrics, seconds, peak_mib)
