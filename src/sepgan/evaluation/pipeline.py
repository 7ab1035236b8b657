"""``sepgan evaluate`` as a library call: open benchmarks, build methods, run, write the report.

:func:`run_evaluation` is what the CLI delegates to; it raises
:class:`EvaluationUserError` (a one-line message) for user mistakes such as a
missing path, a folder with no samples, or an unknown method.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sepgan.atomic import check_overwrite
from sepgan.errors import UserError
from sepgan.evaluation.benchmarks import Benchmark, LayoutError, open_benchmark
from sepgan.evaluation.choices import ALL_METHODS, DEFAULT_METHODS, FLOW_BACKEND_METHODS
from sepgan.evaluation.methods import build_method
from sepgan.evaluation.report import format_tables, write_report
from sepgan.evaluation.runner import EvaluationError, EvaluationResult, evaluate
from sepgan.metrics import missing_metrics
from sepgan.options import (
    DEFAULT_FACTOR,
    DEFAULT_FLOW_BACKEND,
    check_factor,
    check_flow_backend,
    check_limit,
    resolve_flow_backend,
    resolve_model,
)

__all__ = [
    "DEFAULT_METHODS",
    "EvaluationRun",
    "EvaluationUserError",
    "open_benchmarks",
    "parse_methods",
    "run_evaluation",
]


class EvaluationUserError(UserError, ValueError):
    """A mistake in what the user asked for; the message is one line."""


@dataclass(frozen=True)
class EvaluationRun:
    result: EvaluationResult
    output: Path
    written: list[Path]
    table: str  # Markdown: table.md (the summary, and the PSNR per position at a factor above 2)


def parse_methods(methods: str) -> list[str]:
    """Split a comma list, drop blanks and repeats; unknown names are a user error."""
    names = list(dict.fromkeys(name.strip().lower() for name in methods.split(",") if name.strip()))
    if not names:
        raise EvaluationUserError("no methods given; choose from " + ", ".join(ALL_METHODS))
    unknown = [name for name in names if name not in ALL_METHODS]
    if unknown:
        raise EvaluationUserError(
            f"unknown method {', '.join(unknown)}; choose from {', '.join(ALL_METHODS)}"
        )
    return names


def default_output() -> Path:
    return Path("runs") / "eval" / time.strftime("%Y%m%d-%H%M%S")


def open_benchmarks(
    paths: Sequence[Path],
    layout: str = "auto",
    snu_split: str = "hard",
    log: Callable[[str], None] = print,
    factor: int = DEFAULT_FACTOR,
) -> list[Benchmark]:
    """Open every path as a benchmark (:func:`~sepgan.evaluation.benchmarks.open_benchmark`, every
    ``factor``-th frame kept for a video or frame folder), with distinct names; a path that is not
    one is an :class:`EvaluationUserError`, and a factor other than 2 for a layout of triplets a
    :class:`~sepgan.datasets.LayoutError` that names the parameter ``factor``."""
    benchmarks: list[Benchmark] = []
    seen: dict[str, int] = {}
    for path in paths:
        try:
            benchmark = open_benchmark(path, layout=layout, snu_split=snu_split, factor=factor)
        except LayoutError as error:
            if error.parameter is not None:
                raise  # its message names a parameter, which the CLI shows as the flag
            raise EvaluationUserError(str(error)) from error
        count = seen[benchmark.name] = seen.get(benchmark.name, 0) + 1
        if count > 1:  # two folders of the same name: keep the table rows apart
            benchmark = dataclasses.replace(benchmark, name=f"{benchmark.name}-{count}")
        count_text = benchmark.length or "unknown number of"
        if benchmark.factor == 2:
            log(f"{benchmark.name}: {benchmark.layout_read}, {count_text} samples")
        else:
            log(
                f"{benchmark.name}: {benchmark.layout_read}, {describe_factor(benchmark.factor)}; "
                f"{count_text} pairs"
            )
        benchmarks.append(benchmark)
    return benchmarks


def describe_factor(factor: int) -> str:
    """What a ×``factor`` evaluation does, e.g. "×4: every 4th frame kept, 3 rebuilt between"."""
    return f"×{factor}: every {_ordinal(factor)} frame kept, {factor - 1} rebuilt between"


def _ordinal(number: int) -> str:
    """2nd, 3rd, 4th, 11th, 21st, ..."""
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def run_evaluation(
    paths: Sequence[Path],
    methods: str = DEFAULT_METHODS,
    layout: str = "auto",
    weights: Path | None = None,
    output: Path | None = None,
    limit: int | None = None,
    device: str = "auto",
    snu_split: str = "hard",
    progress: bool = True,
    log: Callable[[str], None] = print,
    adapt_options: object | None = None,
    preset: str | None = None,
    factor: int = DEFAULT_FACTOR,
    overwrite: bool = False,
    flow_backend: str = DEFAULT_FLOW_BACKEND,
) -> EvaluationRun:
    """Evaluate ``methods`` on every benchmark in ``paths`` and write the report to ``output``.

    ``factor`` N: videos and frame folders keep every Nth frame and score the N − 1 between each
    kept pair, at t = j/N (2: drop-a-frame; ``limit`` then counts pairs of kept frames). A method
    that makes only the middle frame is skipped when N is not a power of two. The other layouts
    hold triplets only, and a factor other than 2 for them raises a
    :class:`~sepgan.datasets.LayoutError` naming the parameter ``factor``.
    ``adapt_options`` (:class:`sepgan.adapt.AdaptOptions`) adds ``ours-adapt`` after
    ``ours``: the same model fine-tuned on each clip first (drop-a-frame, even frames only).
    ``preset`` (:data:`sepgan.options.PRESETS`) builds ``ours`` as ``sepgan interpolate --preset``
    does, instead of from ``weights`` (:func:`sepgan.options.resolve_model`). Option values out of
    range raise :class:`sepgan.options.OptionError` naming the parameter. An ``output`` folder with
    files in it is refused before anything runs, unless ``overwrite`` (:func:`sepgan.atomic.check_overwrite`).
    ``flow_backend`` (:data:`sepgan.options.FLOW_BACKENDS`) is who computes DIS for ``ours``,
    ``ours-adapt``, ``flow-fine`` and the ``flow-ensemble`` methods: "torch" runs it on ``device``,
    "auto" does so on CUDA and MPS (the report records the one that ran). ST-LPIPS, when its extra
    is installed, runs on ``device`` (``settings.metric_device``); without it, one ``note:`` line.
    """
    from sepgan.runtime import resolve_runtime

    names = parse_methods(methods)
    if adapt_options is not None and "ours-adapt" not in names:
        at = names.index("ours") + 1 if "ours" in names else len(names)
        names.insert(at, "ours-adapt")
    check_limit(limit)
    check_factor(factor)
    check_flow_backend(flow_backend)
    model = resolve_model(weights, preset=preset, alternatives=("weights",))
    weights, overrides = model.weights, model.overrides or None
    if not paths:
        raise EvaluationUserError("give at least one benchmark folder or video")
    if output is not None:
        check_overwrite(output, overwrite)
    try:
        # The flow methods run on the device only when torch computes their flow.
        on_device = {"ours", "ours-adapt", "rife"}
        if flow_backend != "opencv":
            on_device |= FLOW_BACKEND_METHODS
        torch_device = str(resolve_runtime(device).device) if on_device & set(names) else "cpu"
        # ST-LPIPS runs a network: on --device whenever it is scored (about 5 s a 640×480 pair on CPU).
        metric_device = torch_device
        if metric_device == "cpu" and device != "cpu" and "st_lpips" not in missing_metrics():
            metric_device = str(resolve_runtime(device).device)
    except (ValueError, RuntimeError) as error:
        raise EvaluationUserError(str(error).splitlines()[0]) from error

    benchmarks = open_benchmarks(paths, layout, snu_split, log, factor)
    built = [
        build_method(
            name,
            weights=weights,
            device=torch_device,
            adapt_options=adapt_options,
            overrides=overrides,
            flow_backend=flow_backend,
        )
        for name in names
    ]
    try:
        result = evaluate(
            benchmarks, built, limit=limit, progress=progress, log=log, metric_device=metric_device
        )
    except (EvaluationError, LayoutError) as error:
        raise EvaluationUserError(str(error)) from error

    output = output or default_output()
    settings = {
        "paths": [str(path) for path in paths],
        "layouts": {b.name: b.layout for b in benchmarks},
        "methods": names,
        "weights": None if weights is None else str(weights),
        "preset": preset,
        "limit": limit,
        "factor": factor,
        "device": torch_device,
        "metrics": result.metrics,
        "metric_device": metric_device,
        "flow_backend": resolve_flow_backend(flow_backend, torch_device.split(":")[0]),
        "snu_split": snu_split,
    }
    for method in built:
        if getattr(method, "adaptations", None):
            settings["adapt_options"] = vars(adapt_options) if adapt_options is not None else "defaults"
            settings["adaptations"] = method.adaptations
    written = write_report(result, output, settings)
    return EvaluationRun(result, output, written, format_tables(result))
