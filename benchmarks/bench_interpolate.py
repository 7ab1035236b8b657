"""Time per frame of `sepgan interpolate` (video ×2) at 480p, 720p and 1080p, with and without overlap.

For each size a short synthetic clip (smooth noise panning 3 px per frame) is
encoded with libx264, then interpolated ×2 into an H.264 MP4 through the same
code path as the CLI (:func:`sepgan.jobs.interpolate_video`), once
sequentially (``overlap=False``) and once with decode, inference and encode in
three threads (``overlap=True``, the default). Printed per frame: decode time
per *input* frame, inference time per *interpolated* frame (including the
uint8↔float conversions; the flow of each batch, which runs a batch ahead in a
thread of its own with overlap, is its own column) and encode time per *output* frame (busy times of each
stage, which overlap in wall time when threaded), then the end-to-end wall time
per output frame and its ratio to the sequential run.

Every run is a fresh child process, so that its **peak memory** is its own:
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of the child (peak resident set
size of the whole process: Python, PyTorch, the model and the job), next to the
resident size just before the job started (``/proc/self/statm``), whose
difference is what the job itself adds. The two variants alternate per size,
``--repeats`` times, and the table shows each variant's fastest run (its peak
memory is the highest of its runs).

The model is randomly initialised (the speed of a network does not depend on
its weights). Examples::

    python -m benchmarks.bench_interpolate                       # paper SepConv, K = 51
    python -m benchmarks.bench_interpolate --model sepconv-tiny --frames 5
    python -m benchmarks.bench_interpolate --device cuda --precision bf16
    python -m benchmarks.bench_interpolate --preset best --sizes 720p,1080p --frames 9 --batch 4
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.common import SIZES, child_environment, module_command, synthetic_clip
from sepgan.checkpoint import load_pretrained
from sepgan.interpolator import Interpolator
from sepgan.jobs import InterpolateOptions, interpolate_video
from sepgan.models import create_model
from sepgan.options import DEFAULT_MAX_MEMORY_MB, DEFAULT_TILE, resolve_model
from sepgan.tables import Column, MarkdownTable
from sepgan.weights import resolve_weights


def _resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_once(args: argparse.Namespace) -> dict:
    """One job in this process: seconds, per-stage busy times, resident memory before and peak."""
    torch.manual_seed(0)
    if args.preset:  # a bundled model as `sepgan interpolate --preset` builds it
        chosen = resolve_model(preset=args.preset)
        model = load_pretrained(resolve_weights(chosen.weights), overrides=chosen.overrides)
    else:
        model = create_model(args.model)
    interpolator = Interpolator(
        model,
        device=args.device,
        precision=args.precision,
        batch_size=args.batch,
        tile=DEFAULT_TILE,
        max_memory_mb=args.max_memory_mb,
    )
    height, width = SIZES[args.one]
    options = InterpolateOptions(factor=2, progress=False, scene_threshold=None, overlap=args.overlap)
    with tempfile.TemporaryDirectory() as folder:
        source = synthetic_clip(Path(folder) / "in.mp4", height, width, args.frames)
        before = _resident_mb()
        started = time.perf_counter()
        result = interpolate_video(interpolator, source, Path(folder) / "out.mp4", options)
        total = time.perf_counter() - started
    stats = result.stats
    return {
        "total": total,
        "frames_in": stats.frames_in,
        "frames_out": stats.frames_out,
        "interpolated": stats.interpolated,
        "seconds": stats.seconds,
        "tile": interpolator.tile_size(height, width),
        "rss_before_mb": before,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
    }


def _child(args: argparse.Namespace, size: str, overlap: bool) -> dict:
    command = module_command(
        "benchmarks.bench_interpolate", "--one", size, "--model", args.model, "--frames", str(args.frames),
        "--device", args.device, "--precision", args.precision, "--batch", str(args.batch),
        "--max-memory-mb", str(args.max_memory_mb), *(["--overlap"] if overlap else []),
        *(["--preset", args.preset] if args.preset else []),
    )  # fmt: skip
    process = subprocess.run(command, capture_output=True, text=True, env=child_environment(), check=False)
    if process.returncode != 0:
        raise SystemExit(f"benchmark child failed ({size}, overlap={overlap}):\n{process.stderr}")
    return json.loads(process.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default="sepconv", help="registered model name (default: the paper SepConv)"
    )
    parser.add_argument(
        "--preset", default=None, help="fast, balanced or best: a bundled model instead of --model"
    )
    parser.add_argument("--sizes", default="480p,720p,1080p")
    parser.add_argument("--frames", type=int, default=3, help="input frames per clip (N − 1 interpolated)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--max-memory-mb", type=float, default=DEFAULT_MAX_MEMORY_MB)
    parser.add_argument("--repeats", type=int, default=1, help="runs per variant, alternating")
    parser.add_argument("--one", choices=sorted(SIZES), help=argparse.SUPPRESS)  # child: one run
    parser.add_argument("--overlap", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_once(args)))
        return

    from sepgan.ops.separable_conv import available_backends

    print(
        f"model {args.preset and f'preset {args.preset}' or args.model}, "
        f"{args.device} {args.precision}, batch {args.batch}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{platform.processor() or platform.machine()}, "
        f"separable_conv backends {available_backends()}, {args.frames} input frames per size, ×2 to H.264, "
        f"best of {args.repeats}"
    )
    table = MarkdownTable([
        Column("size"), Column("overlap"), Column("tiles"), Column("decode ms/frame", "{:.1f}"),
        Column("flow s/frame", "{:.2f}"), Column("inference s/frame", "{:.2f}"),
        Column("encode ms/frame", "{:.1f}"), Column("total s/output frame", "{:.2f}"),
        Column("ratio", "{:.2f}×"), Column("RSS before MB", "{:.0f}"), Column("peak RSS MB", "{:.0f}"),
    ])  # fmt: skip
    print(table.header())
    for name in args.sizes.split(","):
        best: dict[bool, dict] = {}
        for _ in range(args.repeats):
            for overlap in (False, True):
                run = _child(args, name, overlap)
                peak = max(run["peak_rss_mb"], best.get(overlap, {}).get("peak_rss_mb", 0))
                if overlap not in best or run["total"] < best[overlap]["total"]:
                    best[overlap] = run
                best[overlap]["peak_rss_mb"] = peak
        sequential = None
        for overlap, run in best.items():
            per_frame = run["total"] / run["frames_out"]
            sequential = per_frame if sequential is None else sequential
            seconds = run["seconds"]
            row = [
                name, "threads" if overlap else "off", run["tile"] or "none",
                seconds["decode"] / run["frames_in"] * 1000,
                seconds.get("flow", 0.0) / max(run["interpolated"], 1),
                seconds["inference"] / max(run["interpolated"], 1),
                seconds["encode"] / run["frames_out"] * 1000, per_frame,
                per_frame / sequential, run["rss_before_mb"], run["peak_rss_mb"],
            ]  # fmt: skip
            print(table.row(row), flush=True)


if __name__ == "__main__":
    main()
