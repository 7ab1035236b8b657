"""CPU time per 640×480 pair: the sepgan default model against ffmpeg minterpolate, RIFE HD and DIS flow.

Every method runs on the same pairs in one process, interleaved pair by pair
(so a busy spell of the machine hits all methods alike), after one untimed
warm-up call each. Pairs: the 640×480 triplets of ``../shared/data/eval/
middlebury-other`` when present, else synthetic 640×480 pairs (smooth noise
panning 4 px). Printed: median and mean seconds per pair of each method and
its ratio to RIFE HD and to ours; minterpolate's time includes writing and
reading its PNGs and starting ffmpeg, since that is how it is run.

Examples::

    python -m benchmarks.bench_peers                         # bundled default weights
    python -m benchmarks.bench_peers --weights runs/flow/generator --repeats 3
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import torch

from benchmarks.common import MIDDLEBURY
from sepgan.evaluation.methods import MethodUnavailable, build_method
from sepgan.media.frames import load_image_uint8
from sepgan.tables import Column, markdown_table


def pairs_640x480(limit: int) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    pairs = []
    if MIDDLEBURY.is_dir():
        for folder in sorted(MIDDLEBURY.iterdir()):
            frame0 = load_image_uint8(folder / "frame10.png")
            if frame0.shape[:2] == (480, 640):
                pairs.append((frame0, load_image_uint8(folder / "frame11.png")))
        if pairs:
            return pairs[:limit], f"{len(pairs[:limit])} middlebury-other pairs"
    generator = np.random.default_rng(0)
    for _ in range(limit):
        canvas = generator.integers(0, 256, (480 // 8, 660 // 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
        pairs.append((canvas[:, :640].copy(), canvas[:, 4:644].copy()))
    return pairs, f"{limit} synthetic pairs"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--weights", default=None, help="weights folder for ours (default: bundled)")
    parser.add_argument("--methods", default="ours,rife,minterpolate,flow-simple")
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=1)
    arguments = parser.parse_args()

    pairs, source = pairs_640x480(arguments.pairs)
    methods = {}
    for name in arguments.methods.split(","):
        method = build_method(name, weights=arguments.weights, device="cpu")
        try:
            method.setup()
        except MethodUnavailable as reason:
            print(f"skipping {name}: {reason}")
            continue
        method(*pairs[0])  # warm-up: first-call allocations, numba and cv2 initialisation
        methods[name] = method
    times: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(arguments.repeats):
        for frame0, frame1 in pairs:
            for name, method in methods.items():
                started = time.perf_counter()
                method(frame0, frame1)
                times[name].append(time.perf_counter() - started)

    print(
        f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
        f"torch {torch.__version__}; {source}, {arguments.repeats} repeat(s)"
    )
    print()
    columns = [Column("method"), Column("median s/pair", "{:.3f}"), Column("mean s/pair", "{:.3f}")]
    columns += [Column("× RIFE HD", "{:.2f}"), Column("× ours", "{:.2f}")]
    medians = {name: statistics.median(values) for name, values in times.items()}
    rows = [
        [name, medians[name], statistics.mean(values)]
        + [medians[name] / medians[peer] if peer in medians else None for peer in ("rife", "ours")]
        for name, values in times.items()
    ]
    print(markdown_table(columns, rows, missing="–"), end="")


if __name__ == "__main__":
    main()
