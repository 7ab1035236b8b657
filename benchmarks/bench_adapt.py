"""Test-time adaptation (issue 15): drop-a-frame gain of ``--adapt`` with any options, and its time.

Two uses (figures in BENCHMARKS.md, "Test-time adaptation")::

    # ours vs ours-adapt on whole clips, drop-a-frame, with AdaptOptions given as JSON
    python -m benchmarks.bench_adapt evaluate OUT '{"scales": [1, 2], "flow_variants": null}' CLIP...
    # the time of one adaptation at the default setting (a 720p clip for the issue's row)
    python -m benchmarks.bench_adapt time CLIP

``sepgan evaluate --adapt`` does the first with the default options; this script
exists to compare other settings (scales, flow variants, learning rate, steps).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from sepgan.adapt import AdaptOptions, adapt
from sepgan.evaluation.pipeline import run_evaluation
from sepgan.interpolator import Interpolator


def _options(text: str) -> AdaptOptions:
    settings = json.loads(text)
    if "scales" in settings:
        settings["scales"] = tuple(settings["scales"])
    return AdaptOptions(**settings)


def main() -> None:
    if len(sys.argv) < 3 or sys.argv[1] not in ("evaluate", "time"):
        raise SystemExit(__doc__)
    if sys.argv[1] == "time":
        base = Interpolator.from_pretrained(None, device="cpu")
        started = time.perf_counter()
        result = adapt(base, sys.argv[2], AdaptOptions(), progress=False)
        stages = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.timings.items())
        total = time.perf_counter() - started
        print(f"total {total:.1f} s; {result.summary()}; {stages}; notes: {result.notes}")
        return
    output, options, clips = Path(sys.argv[2]), _options(sys.argv[3]), [Path(p) for p in sys.argv[4:]]
    run = run_evaluation(
        clips, methods="ours", output=output, limit=12, progress=False,
        log=lambda line: print(line, file=sys.stderr, flush=True), adapt_options=options,
    )  # fmt: skip
    print(run.table)


if __name__ == "__main__":
    main()
