"""CPU time per 640×480 pair: the sepgan default model against ffmpeg minterpolate, RIFE HD and DIS flow;
and flow-ensemble's DIS calls with OpenCV against the PyTorch DIS (issue 27).

Every method runs on the same pairs in one process, interleaved pair by pair
(so a busy spell of the machine hits all methods alike), after one untimed
warm-up call each. Pairs: the 640×480 triplets of ``../shared/data/eval/
middlebury-other`` when present, else synthetic 640×480 pairs (smooth noise
panning 4 px). Printed: median and mean seconds per pair of each method and
its ratio to RIFE HD and to ours; minterpolate's time includes writing and
reading its PNGs and starting ffmpeg, since that is how it is run.

A second table times ``flow-ensemble``'s flows alone: its 8 DIS calls (the 4
mirrorings of :data:`sepgan.flow.FLOW_VARIANTS` × both directions,
:func:`sepgan.flow.estimate_flows`) per pair, for each of ``--flow-presets``,
with the OpenCV backend (a pool of as many threads as torch has) and with the
torch backend (:mod:`sepgan.dis_torch`, all 8 in one call on the CPU), in the
same interleaved loop; its ratio column is torch's time over OpenCV's for the
same preset.

Examples::

    python -m benchmarks.bench_peers                         # bundled default weights
    python -m benchmarks.bench_peers --weights runs/flow/generator --repeats 3
    python -m benchmarks.bench_peers --methods "" --pairs 2     # the DIS table only
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
from sepgan.flow import FLOW_VARIANTS, estimate_flows
from sepgan.media.frames import from_uint8, load_image_uint8
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
    parser.add_argument(
        "--flow-presets", default="medium,fine", help="DIS presets of the OpenCV-vs-torch table ('' for none)"
    )
    arguments = parser.parse_args()

    pairs, source = pairs_640x480(arguments.pairs)
    methods = {}
    for name in filter(None, arguments.methods.split(",")):
        method = build_method(name, weights=arguments.weights, device="cpu")
        try:
            method.setup()
        except MethodUnavailable as reason:
            print(f"skipping {name}: {reason}")
            continue
        method(*pairs[0])  # warm-up: first-call allocations, numba and cv2 initialisation
        methods[name] = method
    threads = torch.get_num_threads()
    flows = {
        (preset, backend): lambda a, b, p=preset, k=backend: estimate_flows(
            from_uint8(a)[None], from_uint8(b)[None], p, len(FLOW_VARIANTS), workers=threads, backend=k
        )
        for preset in filter(None, arguments.flow_presets.split(","))
        for backend in ("opencv", "torch")
    }
    for flow in flows.values():
        flow(*pairs[0])  # warm-up
    times: dict[str, list[float]] = {name: [] for name in methods}
    flow_times: dict[tuple[str, str], list[float]] = {key: [] for key in flows}
    for _ in range(arguments.repeats):
        for frame0, frame1 in pairs:
            for name, method in methods.items():
                started = time.perf_counter()
                method(frame0, frame1)
                times[name].append(time.perf_counter() - started)
            for key, flow in flows.items():
                started = time.perf_counter()
                flow(frame0, frame1)
                flow_times[key].append(time.perf_counter() - started)

    print(
        f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
        f"torch {torch.__version__}; {source}, {arguments.repeats} repeat(s)"
    )
    if methods:
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
    if flows:
        print()
        print(f"flow-ensemble's {2 * len(FLOW_VARIANTS)} DIS calls per pair, {threads} thread(s) each")
        print()
        columns = [Column("DIS preset"), Column("backend"), Column("median s/pair", "{:.3f}")]
        columns += [Column("mean s/pair", "{:.3f}"), Column("× OpenCV", "{:.2f}")]
        medians = {key: statistics.median(values) for key, values in flow_times.items()}
        rows = [
            [preset, backend, medians[preset, backend], statistics.mean(values)]
            + [medians[preset, backend] / medians[preset, "opencv"]]
            for (preset, backend), values in flow_times.items()
        ]
        print(markdown_table(columns, rows), end="")


if __name__ == "__main__":
    main()
