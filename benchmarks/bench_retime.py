"""CPU time of retiming jobs against ×2: any-time warps against recursive bisection (issue 25).

One clip (default: 33 frames at 25 fps, 480×854, the real clip of
:func:`benchmarks.common.make_clip` resized, else synthetic noise) is retimed
through the CLI's code path (:func:`sepgan.jobs.interpolate_video`, H.264
output, the default overlap of decode, flow, warps and encode) with the
default model, once per job:

* ``×2``, ``×3``, ``×4`` and ``--fps 60``;
* each with the model as it is now (``any time``: every output frame warped
  straight from its input pair, one flow estimate per pair) and forced to
  recursive bisection (``bisect``: ``Interpolator(bisect=True)``, what every
  model did before; ×3 is impossible there).

Every run is a child process of its own, and the figure is the CPU time
(user + system, ``resource.getrusage``, all threads) of the job alone, from
the model loaded to the output closed, with the wall time beside it. The ratio
column divides by the ×2 job of the same mode, measured in the same run.
The runs alternate between the modes and the table keeps each job's lowest CPU
time over ``--repeats``. A second table gives the timing error the report line
states for ``--fps 60`` from 25 and from 24000/1001 fps in each mode.

Example::

    python -m benchmarks.bench_retime                 # 33 frames, 480p, 2 repeats
    python -m benchmarks.bench_retime --frames 17 --size 360x640 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import torch

from benchmarks.common import child_environment, make_clip, module_command
from sepgan.interpolator import Interpolator
from sepgan.jobs import InterpolateOptions, interpolate_video
from sepgan.tables import Column, MarkdownTable

JOBS = {"×2": {"factor": 2}, "×3": {"factor": 3}, "×4": {"factor": 4}, "fps 60": {"fps": "60"}}
MODES = ("any time", "bisect")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_once(args: argparse.Namespace) -> dict:
    """One job in this process: the CPU and wall seconds it took, and what it reported."""
    interpolator = Interpolator.from_pretrained(None, device="cpu", bisect=args.mode == "bisect")
    job = json.loads(args.job)
    options = InterpolateOptions(
        factor=job.get("factor"), fps=Fraction(job["fps"]) if "fps" in job else None, progress=False
    )
    cpu, wall = _cpu_seconds(), time.perf_counter()
    result = interpolate_video(interpolator, Path(args.clip), Path(args.output), options)
    return {
        "cpu": _cpu_seconds() - cpu,
        "wall": time.perf_counter() - wall,
        "frames_out": result.stats.frames_out,
        "made": result.stats.network_midpoints,
        "error_ms": (result.max_error_seconds or 0.0) * 1000,
    }


def _child(clip: Path, output: Path, mode: str, job: dict) -> dict:
    command = module_command(
        "benchmarks.bench_retime", "--child", "--clip", str(clip), "--output", str(output),
        "--mode", mode, "--job", json.dumps(job),
    )  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, env=child_environment(), check=False)
    if completed.returncode:
        raise RuntimeError(completed.stderr.strip().splitlines()[-1] if completed.stderr else "child failed")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=33)
    parser.add_argument("--size", default="480x854", help="HEIGHTxWIDTH")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--clip", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--job", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_once(args)))
        return
    height, width = (int(side) for side in args.size.split("x"))
    best: dict[tuple[str, str], dict] = {}
    errors: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory() as folder:
        clip, shows = make_clip(Path(folder) / "clip.mp4", height, width, args.frames, fps=25)
        # The timing error needs no big frames: small clips at 25 and at 24000/1001 fps.
        small = (height // 4 // 2 * 2, width // 4 // 2 * 2)
        pal_film, _ = make_clip(Path(folder) / "pal.mp4", *small, 9, fps=25)
        ntsc_film, _ = make_clip(Path(folder) / "ntsc.mp4", *small, 9)
        _recode_rate(ntsc_film, Fraction(24000, 1001))
        output = Path(folder) / "out.mp4"
        for _ in range(args.repeats):
            for name, job in JOBS.items():
                for mode in MODES:
                    if mode == "bisect" and name == "×3":
                        continue  # bisection makes dyadic times only
                    run = _child(clip, output, mode, job)
                    key = (name, mode)
                    if key not in best or run["cpu"] < best[key]["cpu"]:
                        best[key] = run
        for source, rate in ((pal_film, "25"), (ntsc_film, "24000/1001")):
            for mode in MODES:
                errors[(rate, mode)] = _child(source, output, mode, {"fps": "60"})["error_ms"]
    print(
        f"# {args.frames} frames at 25 fps, {width}×{height} ({shows}), default model (flow-ensemble), "
        f"H.264 out; lowest CPU time of {args.repeats}; {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} threads\n"
    )
    rows = [
        [
            name, mode, run["frames_out"], run["made"], run["cpu"], run["wall"],
            run["cpu"] / best[("×2", mode)]["cpu"],
        ]
        for (name, mode), run in best.items()
    ]  # fmt: skip
    columns = [
        Column("job"), Column("mode"), Column("frames out", align="right"),
        Column("frames made", align="right"), Column("CPU s", "{:.1f}", "right"),
        Column("wall s", "{:.1f}", "right"), Column("CPU ÷ ×2", "{:.2f}", "right"),
    ]  # fmt: skip
    print(MarkdownTable(columns).render(rows))
    print()
    timing = MarkdownTable(
        [Column("--fps 60 from"), Column("mode"), Column("max timing error, ms", "{:.2f}", "right")]
    )
    print(timing.render([[rate, mode, value] for (rate, mode), value in errors.items()]))


def _recode_rate(path: Path, fps: Fraction) -> None:
    """Rewrite an H.264 clip at another constant frame rate (same frames)."""
    import av

    frames = []
    with av.open(str(path)) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps, options={"crf": "18"})
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))


if __name__ == "__main__":
    main()
