"""Peak memory (RSS) of `sepgan interpolate` ×2 at 540p, 720p and 1080p: where it goes; the plan's estimate.

For each size a short synthetic clip (smooth noise panning 3 px per frame,
:func:`benchmarks.common.synthetic_clip`) is made, then every measurement
runs in a fresh child process, so that its peak is its own:

* **parts** (one child): the resident size after ``import sepgan.jobs`` and
  loading the model (the process before the job), then each part alone, as
  its peak above the resident size just before it (Linux: the high-water
  mark ``VmHWM`` is reset through ``/proc/self/clear_refs`` and freed heap
  pages handed back first, :func:`sepgan.memory.release_free_memory`):
  decoding the clip, encoding 60 frames with H.264 (x264 preset medium, CRF 18)
  and with FFV1, the DIS flow ensemble of one pair (its calls in the default
  threads) and the warps of one pair with those flows;
* **job** (one child per budget): ``sepgan interpolate CLIP -o OUT.mp4`` (×2
  to H.264) with the default options, or with ``--max-memory-mb`` budgets
  (``--budgets``); its peak is the child's ``ru_maxrss`` (``os.wait4``), next
  to what :func:`sepgan.memory.plan_memory` chose and estimated, and its CPU
  time (user + system).

* **encoders** (``--encoders hevc,av1,vp9,prores``: one child each, nothing else): the peak above
  the resident size of encoding ``--encoded-frames`` frames (default 60) of the size with that
  codec at its defaults (``sepgan.options.ENCODER_QUALITY``), as bytes a pixel for
  ``sepgan.memory.ENCODE_BYTES_PER_PIXEL``.

Examples::

    python -m benchmarks.bench_memory                          # 540p, 720p, 1080p; default budget
    python -m benchmarks.bench_memory --sizes 1080p --budgets default,1536,3072
    python -m benchmarks.bench_memory --preset fast --frames 8
    python -m benchmarks.bench_memory --sizes 1080p --encoders hevc,av1,vp9,prores --encoded-frames 30
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np

from benchmarks.common import SIZES, child_environment, module_command, panning_canvas, synthetic_clip
from sepgan.tables import Column, MarkdownTable

SIZES = {"540p": (540, 960), **SIZES}
ENCODED_FRAMES = 60  # enough for x264's look-ahead (40 frames at preset medium) to fill
ENCODER_SUFFIXES = {"vp9": ".webm", "prores": ".mov", "ffv1": ".mkv"}  # the rest into .mp4


def _resident_mb() -> float:
    with open("/proc/self/status") as status:
        return int(status.read().split("VmRSS:")[1].split()[0]) / 1024


def _peak_mb() -> float:
    with open("/proc/self/status") as status:
        return int(status.read().split("VmHWM:")[1].split()[0]) / 1024


def _above(part) -> float:
    """Peak RSS in MB above the resident size just before ``part()`` runs."""
    from sepgan.memory import release_free_memory

    gc.collect()
    release_free_memory()
    before = _resident_mb()
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # resets VmHWM to the current resident size
    part()
    return _peak_mb() - before


def _load(preset: str | None):
    """The bundled default model (or a preset's) as `sepgan interpolate` loads it."""
    from sepgan.cli import load_interpolator

    return load_interpolator(None, preset=preset, device="cpu")


def parts(args: argparse.Namespace) -> dict:
    """One child: the process before the job, then each part alone (module docstring)."""
    import torch

    from sepgan.media.frames import from_uint8
    from sepgan.media.reader import VideoReader, to_rgb
    from sepgan.media.writer import open_writer

    interpolator = _load(args.preset)
    height, width = SIZES[args.one]
    result = {"process_mb": _resident_mb()}
    canvas = panning_canvas(height, width, 2)
    frames = [np.ascontiguousarray(canvas[:, 3 * i : 3 * i + width]) for i in range(2)]
    with tempfile.TemporaryDirectory() as folder:
        clip = synthetic_clip(Path(folder) / "in.mp4", height, width, args.frames)

        def decode() -> None:
            with VideoReader(clip) as reader:
                for frame in reader.decoded(lambda packet: None):
                    to_rgb(frame, colour=reader.colour)

        result["decode_mb"] = _above(decode)
        for codec, suffix in (("h264", "mp4"), ("ffv1", "mkv")):

            def encode(codec: str = codec, suffix: str = suffix) -> None:
                writer = open_writer(
                    Path(folder) / f"out.{suffix}", fps=Fraction(60), width=width, height=height, codec=codec
                )
                for index in range(ENCODED_FRAMES):
                    writer.write(frames[index % 2])
                writer.close()

            result[f"{codec}_mb"] = _above(encode)
    frame0, frame1 = from_uint8(frames[0][None]), from_uint8(frames[1][None])
    flows: list[torch.Tensor] = []
    result["flow_mb"] = _above(lambda: flows.append(interpolator.estimate_flows(frame0, frame1)))
    middle = [Fraction(1, 2)]
    result["warps_mb"] = _above(lambda: interpolator.interpolate_at(frame0, frame1, [middle], flows=flows[0]))
    return result


def encoder(size: str, codec: str, count: int) -> dict:
    """One child: the peak above the resident size of encoding ``count`` frames of ``size`` with
    ``codec`` at its defaults (two frames of the panning canvas, alternately)."""
    from sepgan.media.writer import open_writer

    height, width = SIZES[size]
    canvas = panning_canvas(height, width, 2)
    frames = [np.ascontiguousarray(canvas[:, 3 * i : 3 * i + width]) for i in range(2)]
    suffix = ENCODER_SUFFIXES.get(codec, ".mp4")
    with tempfile.TemporaryDirectory() as folder:

        def encode() -> None:
            writer = open_writer(
                Path(folder) / f"out{suffix}", fps=Fraction(60), width=width, height=height, codec=codec
            )
            for index in range(count):
                writer.write(frames[index % 2])
            writer.close()

        peak = _above(encode)
    return {"codec": codec, "mb": peak, "bytes_per_pixel": peak * 2**20 / (width * height)}


def _encoders(args: argparse.Namespace) -> None:
    """The encoders' table: one child a codec and size (module docstring)."""
    table = MarkdownTable([
        Column("size"), Column("codec"), Column("frames"), Column("peak above start MB", "{:.0f}"),
        Column("bytes a pixel", "{:.0f}"),
    ])  # fmt: skip
    print(table.header())
    for size in args.sizes.split(","):
        for codec in args.encoders.split(","):
            command = module_command(
                "benchmarks.bench_memory", "--one-encoder", f"{size}:{codec}",
                "--encoded-frames", str(args.encoded_frames),
            )  # fmt: skip
            process = subprocess.run(
                command, capture_output=True, text=True, env=child_environment(), check=False
            )
            if process.returncode != 0:
                raise SystemExit(f"benchmark child failed ({size}, {codec}):\n{process.stderr}")
            measured = json.loads(process.stdout.strip().splitlines()[-1])
            row = [size, codec, args.encoded_frames, measured["mb"], measured["bytes_per_pixel"]]
            print(table.row(row), flush=True)


def job(size: str, clip: Path, output: Path, budget: str, preset: str | None) -> dict:
    """`sepgan interpolate` ×2 to H.264 in a child process: its peak RSS and CPU time, and the plan."""
    from sepgan.memory import plan_memory

    height, width = SIZES[size]
    command = [
        *module_command("sepgan", "interpolate", str(clip), "-o", str(output), "-q"),
        *([] if budget == "default" else ["--max-memory-mb", budget]),
        *(["--preset", preset] if preset else []),
    ]
    with open(output.with_suffix(".log"), "w+b") as log:
        # Not a pipe: a child blocked on a full pipe would never be waited for.
        process = subprocess.Popen(command, env=child_environment(), stdout=subprocess.DEVNULL, stderr=log)
        _, status, usage = os.wait4(process.pid, 0)  # this child's own peak, not the largest of all children
        process.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        stderr = log.read().decode()
    if process.returncode != 0:
        raise SystemExit(f"sepgan interpolate failed ({size}, {budget}):\n{stderr}")
    plan = plan_memory(
        _load(preset), height, width, budget_mb=None if budget == "default" else float(budget), codec="h264"
    )
    return {
        "peak_mb": usage.ru_maxrss / 1024,  # KiB on Linux
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "estimate_mb": plan.total_mb,
        "plan": plan.describe().split(":")[0],
        "notes": [line for line in stderr.splitlines() if line.startswith("note:")],
    }


def _parts(args: argparse.Namespace, size: str) -> dict:
    command = module_command(
        "benchmarks.bench_memory", "--one", size, "--frames", str(args.frames),
        *(["--preset", args.preset] if args.preset else []),
    )  # fmt: skip
    process = subprocess.run(command, capture_output=True, text=True, env=child_environment(), check=False)
    if process.returncode != 0:
        raise SystemExit(f"benchmark child failed ({size}):\n{process.stderr}")
    return json.loads(process.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="540p,720p,1080p")
    parser.add_argument(
        "--frames", type=int, default=24, help="input frames a clip (48 output frames fill x264's look-ahead)"
    )
    parser.add_argument("--preset", default=None, help="fast, balanced or best (default: the default model)")
    parser.add_argument(
        "--budgets", default="default", help="comma-separated --max-memory-mb values, or 'default'"
    )
    parser.add_argument(
        "--encoders", default=None, help="comma-separated codecs: measure only their encoders (no job)"
    )
    parser.add_argument(
        "--encoded-frames", type=int, default=ENCODED_FRAMES, help="frames each encoder takes"
    )
    parser.add_argument("--one", choices=sorted(SIZES), help=argparse.SUPPRESS)  # child: the parts
    parser.add_argument("--one-encoder", help=argparse.SUPPRESS)  # child: SIZE:CODEC
    args = parser.parse_args()
    if args.one:
        print(json.dumps(parts(args)))
        return
    if args.one_encoder:
        size, codec = args.one_encoder.split(":")
        print(json.dumps(encoder(size, codec, args.encoded_frames)))
        return
    if args.encoders:
        _encoders(args)
        return

    import torch

    from sepgan.memory import cpu_count

    print(
        f"model {args.preset or 'default (flow-ensemble)'}, ×2 to H.264, {args.frames} input frames a clip, "
        f"torch {torch.__version__}, {cpu_count()} CPUs, {platform.processor() or platform.machine()}"
    )
    table = MarkdownTable([
        Column("size"), Column("process MB", "{:.0f}"), Column("decode MB", "{:.0f}"),
        Column("x264 MB", "{:.0f}"), Column("FFV1 MB", "{:.0f}"), Column("DIS, one pair MB", "{:.0f}"),
        Column("warps, one pair MB", "{:.0f}"), Column("--max-memory-mb"), Column("plan"),
        Column("estimate MB", "{:.0f}"), Column("job peak MB", "{:.0f}"), Column("job CPU s", "{:.1f}"),
    ])  # fmt: skip
    print(table.header())
    notes = set()
    for size in args.sizes.split(","):
        measured = _parts(args, size)
        with tempfile.TemporaryDirectory() as folder:
            clip = synthetic_clip(Path(folder) / "in.mp4", *SIZES[size], args.frames)
            for budget in args.budgets.split(","):
                run = job(size, clip, Path(folder) / "out.mp4", budget, args.preset)
                notes.update(run["notes"])
                row = [
                    size, measured["process_mb"], measured["decode_mb"], measured["h264_mb"],
                    measured["ffv1_mb"], measured["flow_mb"], measured["warps_mb"], budget, run["plan"],
                    run["estimate_mb"], run["peak_mb"], run["cpu_seconds"],
                ]  # fmt: skip
                print(table.row(row), flush=True)
    for note in sorted(notes):
        print(note)


if __name__ == "__main__":
    main()
