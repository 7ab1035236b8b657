"""Long jobs (issue 26): worker processes against threads, work redone after a SIGKILL, memory, a projection.

Four measurements, each of ``sepgan interpolate`` run as a child process
(``python -m sepgan``, the default model, H.264 out), wall-clock seconds:

1. **Throughput** on a 720p clip (``--frames`` at 24 fps, ×2): one worker
   pinned to one core (``taskset -c 0``, one thread); one job on every core
   (today's default, threads); ``--jobs 2`` (two worker processes, one thread
   each, the clip in segments of ``--segment-seconds``). Output frames per
   second, and the ratio to the one-core run.
2. **Work redone after a SIGKILL at 50%**: the job is run once whole (``T``),
   then again and killed with SIGKILL at ``T/2``, then resumed (``--resume``,
   ``T_r``). Work redone is ``(T/2 + T_r − T) / T``: what the kill threw away,
   plus the resumed process's start.
3. **Peak RSS per worker** at 1080p ×2 with ``--jobs 2``: each process's
   ``VmHWM`` from ``/proc``, polled every 0.1 s (the main process, the workers).
4. **Projection** for a 2-hour 1080p film at 24 fps, ×2, on 2 to 256 cores,
   from figures measured here on one core (``taskset -c 0``): the cost of a
   1080p pair, the cost each extra segment adds (the same frames in one and in
   ``--projection-segments`` segments), and the join's speed (``join_video``
   on four 1080p parts of 240 frames, timed in this process). One worker per core, segments of the
   default 10 s (240 input frames) handed out as workers free up; the join runs
   once, at the end, on one node.

Example::

    python -m benchmarks.bench_segments                          # all four
    python -m benchmarks.bench_segments --only throughput --frames 48
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

from benchmarks.common import child_environment, make_clip
from sepgan.options import DEFAULT_SEGMENT_SECONDS
from sepgan.segments import work_folder
from sepgan.tables import Column, MarkdownTable


def _command(clip: Path, output: Path, *flags: str, core: int | None = None) -> list[str]:
    command = [sys.executable, "-m", "sepgan", "interpolate", str(clip), "-o", str(output), "--quiet", *flags]
    return (["taskset", "-c", str(core)] if core is not None else []) + command


def _run(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, env=child_environment(), check=False)
    seconds = time.perf_counter() - started
    if completed.returncode:
        raise RuntimeError(f"{' '.join(command)}: {completed.stderr.strip()[-400:]}")
    return seconds, completed.stdout + completed.stderr


def throughput(folder: Path, frames: int, segment_seconds: float, skip_threads: bool = False) -> None:
    clip, shows = make_clip(folder / "720p.mp4", 720, 1280, frames, fps=24)
    runs = [  # each its own output (an existing one is refused)
        ("1 worker on 1 core (taskset -c 0)", _command(clip, folder / "one.mp4", "--workers", "1", core=0)),
        ("1 job on 2 cores (threads; today's default)", _command(clip, folder / "threads.mp4")),
        (
            "2 workers on 2 cores (--jobs 2)",
            _command(clip, folder / "jobs.mp4", "--jobs", "2", "--segment-seconds", str(segment_seconds)),
        ),
    ]
    if skip_threads:
        del runs[1]
    rows, base = [], None
    for name, command in runs:
        seconds, _ = _run(command)
        rate = 2 * frames / seconds
        base = base or rate
        rows.append([name, seconds, rate, rate / base])
    print(f"\n## Throughput: 720p ×2, {frames} frames at 24 fps ({shows}), segments of {segment_seconds} s\n")
    columns = [
        Column("run"), Column("wall s", "{:.1f}", "right"), Column("frames out / s", "{:.3f}", "right"),
        Column("× 1 worker on 1 core", "{:.2f}", "right"),
    ]  # fmt: skip
    print(MarkdownTable(columns).render(rows))


def redone(folder: Path, frames: int, segment_seconds: float) -> None:
    clip, shows = make_clip(folder / "480p.mp4", 480, 854, frames, fps=24)
    output = folder / "resumed.mp4"
    flags = ("--segment-seconds", str(segment_seconds))
    whole, _ = _run(_command(clip, folder / "whole.mp4", *flags))
    process = subprocess.Popen(
        _command(clip, output, *flags),
        env=child_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(whole / 2)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    journal = (work_folder(output) / "journal.json").read_text()
    resumed, text = _run(_command(clip, output, *flags, "--resume"))
    done = re.search(r"--resume: (\d+) of (\d+) segments", text)
    lost = (whole / 2 + resumed - whole) / whole
    print(f"\n## Work redone after a SIGKILL at 50%: 480p ×2, {frames} frames at 24 fps ({shows})\n")
    columns = [
        Column("segments"), Column("complete at the kill", align="right"), Column("T s", "{:.1f}", "right"),
        Column("T_r s", "{:.1f}", "right"), Column("work redone", "{:.1%}", "right"),
    ]  # fmt: skip
    row = [done.group(2) if done else "?", done.group(1) if done else "?", whole, resumed, lost]
    print(MarkdownTable(columns).render([row]))
    assert journal  # the kill left a journal behind


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def memory(folder: Path, frames: int, segment_seconds: float) -> None:
    """Peak RSS (VmHWM, polled every 0.1 s) of the main process and of each worker, 1080p ×2 --jobs 2."""
    clip, shows = make_clip(folder / "1080p_memory.mp4", 1080, 1920, frames, fps=24)
    command = _command(clip, folder / "memory.mp4", "--jobs", "2", "--segment-seconds", str(segment_seconds))
    process = subprocess.Popen(
        command, env=child_environment(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peaks: dict[int, float] = {}
    while process.poll() is None:
        for pid in [process.pid, *_descendants(process.pid)]:
            peak = _peak_rss_mb(pid)
            if peak is not None:
                peaks[pid] = max(peaks.get(pid, 0.0), peak)
        time.sleep(0.1)
    if process.returncode:
        raise RuntimeError(process.stderr.read().decode()[-400:] if process.stderr else "failed")
    main = peaks.pop(process.pid, 0.0)
    workers = sorted(peaks.values(), reverse=True)[:2]  # the two workers; the rest are small helpers
    if len(workers) < 2 or workers[-1] < 500:  # a clip of two segments or fewer runs in the main process
        raise RuntimeError(
            f"no two workers found (peaks {sorted(peaks.values())}): give more --memory-frames"
        )
    print(f"\n## Peak RSS, 1080p ×2, --jobs 2 ({shows}, {frames} frames, segments of {segment_seconds} s)\n")
    columns = [Column("process"), Column("peak RSS, MB", "{:.0f}", "right")]
    rows = [["main (plans, journals, joins)", main]] + [
        [f"worker {i + 1}", peak] for i, peak in enumerate(workers)
    ]
    print(MarkdownTable(columns).render(rows))


def projection(folder: Path, frames: int, segments: int, measured: tuple[float, float] | None = None) -> None:
    """``measured``: (s per pair, s per extra segment) from an earlier run on an idle machine, to
    time only the join now (the join is I/O and packet copying, far less sensitive to other load)."""
    clip, shows = make_clip(folder / "1080p.mp4", 1080, 1920, frames, fps=24)
    if measured is None:
        seconds = (frames - 1) / 24 / segments + 1e-3
        one, _ = _run(_command(clip, folder / "one.mp4", "--workers", "1", core=0))
        many, _ = _run(
            _command(
                clip, folder / "many.mp4", "--workers", "1", "--segment-seconds", f"{seconds:.4f}", core=0
            )
        )
        pair = one / (frames - 1)  # includes the start of the process, which a long job pays once
        per_segment = max(0.0, (many - one) / (segments - 1))
    else:
        pair, per_segment = measured
        shows = "figures given with --measured"
    join_rate = _join_rate(folder)
    film_frames = 2 * 3600 * 24
    length = round(DEFAULT_SEGMENT_SECONDS * 24)
    count = math.ceil((film_frames - 1) / length)
    segment_seconds = length * pair + per_segment
    join_seconds = 2 * film_frames / join_rate
    print(
        f"\n## Projection: a 2-hour 1080p film at 24 fps ×2 ({film_frames} frames in, {count} segments of "
        f"{DEFAULT_SEGMENT_SECONDS:g} s)\n\nMeasured on 1 core ({shows}, {frames} frames): "
        f"{pair:.2f} s per pair, {per_segment:.2f} s per extra segment, join {join_rate:.0f} output "
        f"frames/s.\n"
    )
    rows = []
    for cores in (2, 16, 64, 256):
        rounds = math.ceil(count / cores)
        total = rounds * segment_seconds + join_seconds
        rows.append([cores, rounds, rounds * segment_seconds / 3600, join_seconds / 60, total / 3600])
    columns = [
        Column("cores (1 worker each)", align="right"), Column("segments per worker", align="right"),
        Column("segments, h", "{:.2f}", "right"), Column("join, min", "{:.1f}", "right"),
        Column("total, h", "{:.2f}", "right"),
    ]  # fmt: skip
    print(MarkdownTable(columns).render(rows))


def _join_rate(folder: Path, frames_per_part: int = 240, parts: int = 4) -> float:
    """Output frames per second of :func:`sepgan.media.join.join_video` (the same call a job's join
    makes), on ``parts`` 1080p H.264 parts of ``frames_per_part`` frames written here by
    :class:`~sepgan.media.writer.VideoWriter` (a moving gradient at CRF 18, preset ultrafast: larger
    packets than a job's parts, so a lower rate). No audio: a film's audio packets are a few per
    frame more to copy."""
    import numpy as np

    from sepgan.media.join import Part, join_video
    from sepgan.media.writer import VideoWriter

    height, width, fps = 1080, 1920, Fraction(48)
    ramp = np.add.outer(np.arange(height) // 4, np.arange(width) // 4).astype(np.uint8)
    written = []
    for index in range(parts):
        path = folder / f"part{index}.nut"
        with VideoWriter(path, fps=fps, width=width, height=height, preset="ultrafast", crf=18) as writer:
            for frame in range(frames_per_part):
                shifted = np.roll(ramp, 3 * (index * frames_per_part + frame), axis=1)
                writer.write(np.repeat(shifted[..., None], 3, axis=2))
        written.append(Part(path, index * frames_per_part, frames_per_part))
    started = time.perf_counter()
    join_video(folder / "joined.mp4", written, fps=fps, width=width, height=height, codec="h264")
    return parts * frames_per_part / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("throughput", "redone", "memory", "projection"))
    parser.add_argument("--frames", type=int, default=72, help="720p frames for the throughput runs")
    parser.add_argument("--segment-seconds", type=float, default=0.75, help="4 segments of 18 frames: 2 each")
    parser.add_argument(
        "--skip-threads", action="store_true", help="throughput: no run of one job on every core"
    )
    parser.add_argument("--memory-segment-seconds", type=float, default=1.5)
    parser.add_argument("--redone-frames", type=int, default=120)
    parser.add_argument(
        "--memory-frames",
        type=int,
        default=96,
        help="1080p frames: 3+ segments of 36 (72 outputs fill x264's look-ahead)",
    )
    parser.add_argument("--projection-frames", type=int, default=13)
    parser.add_argument("--projection-segments", type=int, default=3)
    parser.add_argument(
        "--measured",
        type=float,
        nargs=2,
        metavar=("PAIR_S", "SEGMENT_S"),
        help="projection: s per 1080p pair and per extra segment on one core, from an earlier idle run",
    )
    args = parser.parse_args()
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as folder:
        if args.only in (None, "throughput"):
            throughput(Path(folder), args.frames, args.segment_seconds, args.skip_threads)
        if args.only in (None, "redone"):
            redone(Path(folder), args.redone_frames, args.segment_seconds)
        if args.only in (None, "memory"):
            memory(Path(folder), args.memory_frames, args.memory_segment_seconds)
        if args.only in (None, "projection"):
            projection(Path(folder), args.projection_frames, args.projection_segments, args.measured)


if __name__ == "__main__":
    main()
