"""Where the time of ×2 goes, per stage, at 720p and 1080p: decode, DIS per variant, warps, network, encode.

One clip per size: the first ``--frames`` frames of a real video
(``../shared/data/videos/liveportrait/s32.mp4``, 1280×720, when present; else
smooth noise panning 3 px per frame) resized with swscale's bicubic filter and
encoded with libx264 (crf 18), so every size shows the same content. Per size,
on the clip's consecutive pairs, each stage is timed on its own, in this
process, and the median over pairs and ``--repeats`` is printed:

* **decode**: PyAV decode and RGB conversion (:class:`sepgan.media.reader.VideoReader`), ms per frame;
* **DIS per variant**: the two OpenCV DIS calls (both directions) of one
  mirroring (:data:`sepgan.flow.FLOW_VARIANTS`), one after the other, for the "fine"
  and "medium" presets; then a whole flow ensemble in the default pool
  (:func:`sepgan.flow.estimate_flows`: one thread per usable CPU);
* **warps**: the classical part on precomputed flows (fixed-point middle
  flows, backward warps, averaging: ``flow-ensemble``'s forward with ``flows=``), for V = 1 and 4;
* **network**: ``sepgan-flow``'s forward on the same flows minus the warps
  above (the U-Net, the kernels and the second warp);
* **encode**: libx264 crf 18, preset medium (:func:`sepgan.media.writer.open_writer`), ms per frame.

Examples::

    python -m benchmarks.bench_stages                      # 720p and 1080p, 4 frames
    python -m benchmarks.bench_stages --sizes 480p --frames 3 --repeats 1
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import SIZES, SOURCE, make_clip
from sepgan.checkpoint import load_pretrained
from sepgan.flow import FLOW_VARIANTS, _mirror, dis_flow, estimate_flows, flow_workers
from sepgan.interpolator import pad_to_multiple
from sepgan.media.frames import from_uint8
from sepgan.media.reader import VideoReader
from sepgan.media.writer import open_writer
from sepgan.tables import Column, MarkdownTable
from sepgan.weights import resolve_weights


def timed(function: Callable[[], object], repeats: int) -> list[float]:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    return seconds


def pair_times(
    frame0: np.ndarray,
    frame1: np.ndarray,
    classical: torch.nn.Module,
    learned: torch.nn.Module,
    repeats: int,
    times: dict[str, list[float]],
) -> None:
    """Add the flow, warp and network timings of one pair to ``times``."""
    for preset in ("fine", "medium"):
        for name in FLOW_VARIANTS:
            mirrored0, mirrored1 = _mirror(frame0, name), _mirror(frame1, name)
            key = f"DIS {preset}, variant {name} (2 calls in turn)"
            times.setdefault(key, []).extend(
                timed(
                    lambda a=mirrored0, b=mirrored1, p=preset: (dis_flow(a, b, p), dis_flow(b, a, p)), repeats
                )
            )
    tensor0, tensor1 = from_uint8(frame0)[None], from_uint8(frame1)[None]
    for preset, variants in (("fine", 4), ("fine", 1), ("medium", 1)):
        key = f"DIS {preset} ×{variants} variants ({2 * variants} calls, pool of {flow_workers()})"
        flow_seconds = timed(lambda p=preset, v=variants: estimate_flows(tensor0, tensor1, p, v), repeats)
        times.setdefault(key, []).extend(flow_seconds)
    flows4 = estimate_flows(tensor0, tensor1, "fine", 4)
    padded, _ = pad_to_multiple(torch.cat([tensor0, tensor1]), 16)
    padded0, padded1 = padded.chunk(2)
    for variants in (4, 1):
        flows = pad_to_multiple(flows4[:, : 4 * variants], 16)[0]
        with torch.inference_mode():
            warps = timed(lambda f=flows: classical(padded0, padded1, flows=f), repeats)
            times.setdefault(f"warps ×{variants} variants (no network)", []).extend(warps)
            if variants == 4:
                full = timed(lambda f=flows: learned(padded0, padded1, flows=f), repeats)
                times.setdefault("network (sepgan-flow forward − warps ×4)", []).extend(
                    f - w for f, w in zip(full, warps, strict=False)
                )


def stage_times(clip: Path, repeats: int) -> dict[str, float]:
    """Median seconds of each stage (module docstring) on the pairs of ``clip``."""
    times: dict[str, list[float]] = {}
    frames: list[np.ndarray] = []
    started = time.perf_counter()
    with VideoReader(clip) as reader:
        frames.extend(reader.frames())
        fps, colour = reader.info.fps, reader.colour
    times["decode (per frame)"] = [(time.perf_counter() - started) / len(frames)]
    height, width = frames[0].shape[:2]

    classical = load_pretrained(resolve_weights("flow-ensemble"))
    learned = load_pretrained(resolve_weights("sepgan-flow"))
    for frame0, frame1 in itertools.pairwise(frames):
        pair_times(frame0, frame1, classical, learned, repeats, times)

    with tempfile.TemporaryDirectory() as folder:
        writer = open_writer(
            Path(folder) / "out.mp4", fps=Fraction(fps), width=width, height=height, colour=colour
        )
        started = time.perf_counter()
        with writer:
            for frame in frames:
                writer.write(frame)
        times["encode (per frame)"] = [(time.perf_counter() - started) / len(frames)]
    return {key: statistics.median(values) for key, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="720p,1080p")
    parser.add_argument("--frames", type=int, default=4, help="frames per clip (N − 1 pairs)")
    parser.add_argument("--repeats", type=int, default=2, help="timings per pair and stage")
    parser.add_argument("--synthetic", action="store_true", help="use the synthetic clip, not the real one")
    arguments = parser.parse_args()

    sizes = arguments.sizes.split(",")
    results = {}
    described = ""
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            height, width = SIZES[size]
            clip, described = make_clip(
                Path(folder) / f"{size}.mp4",
                height,
                width,
                arguments.frames,
                None if arguments.synthetic else SOURCE,
            )
            results[size] = stage_times(clip, arguments.repeats)
    print(f"machine: {platform.processor() or platform.machine()}, "
          f"{len(os.sched_getaffinity(0))} CPUs usable, "
          f"{torch.get_num_threads()} torch threads, torch {torch.__version__}; clip: {described}, "
          f"{arguments.frames} frames, median of {arguments.repeats} repeat(s) per pair")  # fmt: skip
    print()
    table = MarkdownTable([Column("stage"), *(Column(f"{size} ms", "{:.0f}", "right") for size in sizes)])
    rows = [[key, *(results[size][key] * 1000 for size in sizes)] for key in results[sizes[0]]]
    print(table.render(rows), end="")


if __name__ == "__main__":
    main()
