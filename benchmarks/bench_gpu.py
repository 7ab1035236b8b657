"""The figures that need a GPU, in one run: whole-video ×2 at 1080p, the paper SepConv, training steps.

Run by ``scripts/gpu-check.sh`` (which also runs ``pytest -m gpu`` and the
separable-convolution benchmark). Prints Markdown tables; ``--json PATH`` also
writes the raw numbers. Without CUDA every part prints one line saying it was
skipped, and the script exits 0.

Parts (each timed after a warm-up, with ``torch.cuda.synchronize`` around host clocks):

* ``interpolate``: ``sepgan interpolate`` ×2 of a synthetic 1080p clip (a smooth
  texture panning 3 px per frame, H.264) through :func:`sepgan.jobs.interpolate_video`
  with each bundled model in bf16; frames per second end to end, the pipeline's
  stage busy times, and where a pair's time goes: DIS flow on the CPU
  (:meth:`FlowSepConv.estimate_flows`, ``os.sched_getaffinity`` threads) vs the
  network on the GPU.
* ``sepconv``: the paper SepConv (``sepconv``, K = 51) forward at 1080p (padded to
  1088×1920), bf16 autocast, frames per second.
* ``training``: optimiser steps per second, batch 16 of 128² crops, bf16 autocast,
  for ``flow-sepconv`` (precomputed flows, as training uses them) and ``sepconv``.

Issue 27's parts (``--parts dis,pipeline,codec``; the flow on the GPU, fp32), at
720p, 1080p and 4K:

* ``dis``: torch DIS (:func:`sepgan.flow.estimate_flows`, ``backend="torch"``),
  presets ``medium`` and ``fine``, the 4 mirrored variants × 2 directions as one
  batch of 8: seconds per pair.
* ``pipeline``: the whole default pipeline (``sepgan interpolate`` ×2, bundled
  default weights, ``--flow-backend torch``, fp32) of a synthetic clip: output
  frames per second, the stages' busy times, and one pair's flow against its
  warps and network (:meth:`Interpolator.estimate_flows`, ``interpolate(flows=)``).
* ``codec``: decoding alone (:class:`sepgan.media.reader.VideoReader`) and H.264
  encoding alone (:class:`sepgan.media.writer.VideoWriter`, the default preset and
  CRF) on the CPU, frames per second: the ceiling they put on the pipeline.

The summary line says where 1080p ×2 stands against real time (60 output
frames per second) and which stage bounds it.

Usage: python -m benchmarks.bench_gpu [--parts P,...] [--frames N] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.common import synthetic_clip
from sepgan.tables import Column, MarkdownTable, markdown_table


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _timed(function, repeats: int) -> float:
    """Median seconds of ``repeats`` calls after one warm-up."""
    function()
    _sync()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        _sync()
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2]


def bench_interpolate(frames: int, height: int, width: int, device: str) -> list[dict]:
    from sepgan.interpolator import Interpolator
    from sepgan.jobs import InterpolateOptions, interpolate_video
    from sepgan.media.frames import from_uint8
    from sepgan.media.reader import VideoReader

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        source = synthetic_clip(Path(folder) / "in.mp4", height, width, frames)
        with VideoReader(source) as reader:
            frame0, frame1 = (from_uint8(f)[None] for f, _ in zip(reader.frames(), range(2), strict=False))
        for weights in ("flow-ensemble", "sepgan-flow"):
            interpolator = Interpolator.from_pretrained(weights, device=device, precision="bf16")
            options = InterpolateOptions(factor=2, progress=False, scene_threshold=None)
            interpolate_video(interpolator, source, Path(folder) / "warm.mp4", options)  # warm-up
            started = time.perf_counter()
            result = interpolate_video(interpolator, source, Path(folder) / "out.mp4", options)
            _sync()
            wall = time.perf_counter() - started
            model = interpolator.model
            flow_seconds = _timed(lambda m=model: m.estimate_flows(frame0, frame1), 3)
            flows = model.estimate_flows(frame0, frame1)
            rows_to_add = -height % 16
            padded = [torch.nn.functional.pad(f, (0, 0, 0, rows_to_add)).to(device) for f in (frame0, frame1)]
            flows_padded = torch.nn.functional.pad(flows, (0, 0, 0, rows_to_add)).to(device)

            def network(m=model, p=padded, fl=flows_padded, runtime=interpolator.runtime):
                with torch.inference_mode(), runtime.autocast():
                    m(p[0], p[1], flows=fl)

            rows.append({
                "weights": weights,
                "output_fps": result.stats.frames_out / wall,
                "interpolated_fps": result.stats.interpolated / wall,
                "stages_s": result.stats.seconds,
                "dis_cpu_s_per_pair": flow_seconds,
                "network_gpu_s_per_pair": _timed(network, 5),
                "cpu_threads": len(os.sched_getaffinity(0)),
            })  # fmt: skip
    return rows


def bench_sepconv(height: int, width: int, device: str) -> dict:
    from sepgan.models import create_model

    padded_height, padded_width = height + -height % 32, width + -width % 32
    model = create_model("sepconv").to(device).eval()
    frame0, frame1 = (torch.rand(1, 3, padded_height, padded_width, device=device) for _ in range(2))

    def forward():
        with torch.inference_mode(), torch.autocast(torch.device(device).type, dtype=torch.bfloat16):
            model(frame0, frame1)

    seconds = _timed(forward, 5)
    return {
        "model": "sepconv (K=51)",
        "size": f"{padded_height}x{padded_width}",
        "seconds": seconds,
        "fps": 1 / seconds,
    }


def bench_training(device: str, batch: int = 16, crop: int = 128) -> list[dict]:
    from sepgan.models import create_model

    rows = []
    for name in ("flow-sepconv", "sepconv"):
        model = create_model(name).to(device).train()
        optimizer = torch.optim.Adam(model.parameters(), 1e-4)
        frame0, frame1, target = (torch.rand(batch, 3, crop, crop, device=device) for _ in range(3))
        flows = torch.randn(batch, 4, crop, crop, device=device) if name == "flow-sepconv" else None

        # Defaults bind this iteration's model and tensors (ruff B023); _timed calls step
        # before the loop moves on, so the closure would see the same ones anyway.
        def step(m=model, o=optimizer, fl=flows, f0=frame0, f1=frame1, t=target):
            with torch.autocast(torch.device(device).type, dtype=torch.bfloat16):
                out = m(f0, f1, flows=fl) if fl is not None else m(f0, f1)
            loss = (out.float() - t).abs().mean()
            o.zero_grad(set_to_none=True)
            loss.backward()
            o.step()

        seconds = _timed(step, 10)
        rows.append({"model": name, "batch": f"{batch} x {crop}^2", "steps_per_s": 1 / seconds})
    return rows


SIZES = {"720p": (720, 1280), "1080p": (1080, 1920), "4K": (2160, 3840)}
SMOKE_SIZES = {"toy": (48, 64)}
REAL_TIME_FPS = 60  # issue 27's goal: 1080p ×2 at 60 output frames per second on one H100


def bench_dis(sizes: dict[str, tuple[int, int]], device: str) -> list[dict]:
    """Seconds per pair of torch DIS, 4 variants × 2 directions batched, per size and preset."""
    from sepgan.flow import estimate_flows

    rows = []
    for label, (height, width) in sizes.items():
        frame0, frame1 = (torch.rand(1, 3, height, width, device=device) for _ in range(2))
        for preset in ("medium", "fine"):
            seconds = _timed(
                lambda p=preset, a=frame0, b=frame1: estimate_flows(a, b, p, 4, backend="torch"), 3
            )
            rows.append({"size": label, "preset": preset, "s_per_pair": seconds, "pairs_per_s": 1 / seconds})
        del frame0, frame1
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    return rows


def bench_pipeline(sizes: dict[str, tuple[int, int]], frames: int, device: str) -> list[dict]:
    """The default pipeline ×2 with the torch flow in fp32: output fps end to end and per-pair parts."""
    from sepgan.interpolator import Interpolator
    from sepgan.jobs import InterpolateOptions, interpolate_video
    from sepgan.media.frames import from_uint8
    from sepgan.media.reader import VideoReader

    interpolator = Interpolator.from_pretrained(None, device=device, precision="fp32", flow_backend="torch")
    options = InterpolateOptions(factor=2, progress=False, scene_threshold=None)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for label, (height, width) in sizes.items():
            source = synthetic_clip(Path(folder) / f"{label}.mp4", height, width, frames)
            interpolate_video(interpolator, source, Path(folder) / "warm.mp4", options)  # warm-up
            started = time.perf_counter()
            result = interpolate_video(interpolator, source, Path(folder) / "out.mp4", options)
            _sync()
            wall = time.perf_counter() - started
            with VideoReader(source) as reader:
                pair = [
                    from_uint8(f)[None].to(device) for f, _ in zip(reader.frames(), range(2), strict=False)
                ]
            flows = interpolator.estimate_flows(*pair)
            with torch.inference_mode():
                flow_s = _timed(lambda p=pair: interpolator.estimate_flows(*p), 3)
                rest_s = _timed(lambda p=pair, f=flows: interpolator.interpolate(*p, flows=f), 3)
            rows.append({
                "size": label,
                "output_fps": result.stats.frames_out / wall,
                "stages_s": result.stats.seconds,
                "flow_s_per_pair": flow_s,
                "warp_network_s_per_pair": rest_s,
            })  # fmt: skip
    return rows


def bench_codec(sizes: dict[str, tuple[int, int]], frames: int) -> list[dict]:
    """Decoding alone and H.264 encoding alone (the project's reader and writer), frames per second."""
    from fractions import Fraction

    from sepgan.media.reader import VideoReader
    from sepgan.media.writer import VideoWriter

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for label, (height, width) in sizes.items():
            source = synthetic_clip(Path(folder) / f"{label}.mp4", height, width, frames)
            started = time.perf_counter()
            with VideoReader(source) as reader:
                decoded = list(reader.frames())
            decode_s = time.perf_counter() - started
            started = time.perf_counter()
            with VideoWriter(
                Path(folder) / "out.mp4", fps=Fraction(30), width=width, height=height
            ) as writer:
                for frame in decoded:
                    writer.write(frame)
            encode_s = time.perf_counter() - started
            rows.append(
                {"size": label, "decode_fps": len(decoded) / decode_s, "encode_fps": len(decoded) / encode_s}
            )
    return rows


def _where_time_goes(figures: dict, label: str) -> str:
    """One line: ×2 output fps at ``label`` against real time, and the stage that bounds it."""
    pipeline = {row["size"]: row for row in figures.get("pipeline", [])}.get(label)
    codec = {row["size"]: row for row in figures.get("codec", [])}.get(label)
    if pipeline is None:
        return f"{label} ×2: no pipeline figure (its part was skipped or stopped)"
    # Each input frame is decoded once and gives two output frames; each pair's flow and warps make one.
    bounds = {
        "flow (torch DIS)": 2 / pipeline["flow_s_per_pair"],
        "warps and network": 2 / pipeline["warp_network_s_per_pair"],
    }
    if codec is not None:
        bounds["decode"] = 2 * codec["decode_fps"]
        bounds["encode (H.264, CPU)"] = codec["encode_fps"]
    bound = min(bounds, key=bounds.get)
    verdict = "meets" if pipeline["output_fps"] >= REAL_TIME_FPS else "misses"
    parts = ", ".join(f"{name} {fps:.0f}" for name, fps in bounds.items())
    return (
        f"{label} ×2: {pipeline['output_fps']:.1f} output fps, {verdict} the goal of {REAL_TIME_FPS}; "
        f"each part alone allows (output fps): {parts}; the bound is {bound}"
    )


def _print_with_stages(table: MarkdownTable, rows: list[dict]) -> None:
    """``rows`` as ``table``'s lines, each row's ``stages_s`` (stage: busy seconds) in its stages column."""
    print(table.header())
    for row in rows:
        stages = ", ".join(f"{k} {v:.2f}" for k, v in row["stages_s"].items())
        print(table.row({**row, "stages": stages}))
    print()


def _print_issue27(figures: dict, main_size: str) -> None:
    if "dis" in figures:
        columns = [Column("size"), Column("preset"), Column("s/pair (4 variants × 2)", "{:.4f}", "right",
                   key="s_per_pair"), Column("pairs/s", "{:.1f}", "right", key="pairs_per_s")]  # fmt: skip
        print("torch DIS on the device, fp32\n")
        print(markdown_table(columns, figures["dis"]))
    if "pipeline" in figures:
        table = MarkdownTable([
            Column("size"), Column("output fps (×2, torch flow, fp32)", "{:.2f}", "right", key="output_fps"),
            Column("flow s/pair", "{:.4f}", "right", key="flow_s_per_pair"),
            Column("warps+network s/pair", "{:.4f}", "right", key="warp_network_s_per_pair"),
            Column("stage busy s", key="stages"),
        ])  # fmt: skip
        _print_with_stages(table, figures["pipeline"])
    if "codec" in figures:
        columns = [Column("size"), Column("decode fps", "{:.1f}", "right", key="decode_fps"),
                   Column("H.264 encode fps", "{:.1f}", "right", key="encode_fps")]  # fmt: skip
        print(markdown_table(columns, figures["codec"]))
    if "pipeline" in figures:
        print(_where_time_goes(figures, main_size))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=9, help="frames of the 1080p clip")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument(
        "--parts",
        default="interpolate,sepconv,training",
        help="comma list of: interpolate, sepconv, training (issue 18), dis, pipeline, codec (issue 27)",
    )
    parser.add_argument(
        "--device", default="cuda", help="cuda; cpu only to try the script itself (with --smoke)"
    )
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes: check that every part runs, not its speed"
    )
    parser.add_argument(
        "--summarise",
        type=Path,
        metavar="FOLDER",
        help="only print where 1080p ×2's time goes, from FOLDER's bench-pipeline.json and bench-codec.json",
    )
    args = parser.parse_args()
    if args.summarise is not None:
        figures = {}
        for part in ("pipeline", "codec"):
            path = args.summarise / f"bench-{part}.json"
            if path.is_file():
                figures.update(json.loads(path.read_text()))
        print(_where_time_goes(figures, "1080p"))
        return
    parts = [part.strip() for part in args.parts.split(",") if part.strip()]
    unknown = set(parts) - {"interpolate", "sepconv", "training", "dis", "pipeline", "codec"}
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"bench_gpu: no CUDA device here: {', '.join(parts)} figures skipped")
        return
    height, width = (64, 96) if args.smoke else (1080, 1920)
    sizes = SMOKE_SIZES if args.smoke else SIZES
    frames = 3 if args.smoke else args.frames
    if args.device.startswith("cuda"):
        print(f"GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}, "
              f"{len(os.sched_getaffinity(0))} CPU threads\n")  # fmt: skip
    run = {
        "interpolate": lambda: bench_interpolate(frames, height, width, args.device),
        "sepconv": lambda: bench_sepconv(height, width, args.device),
        "training": lambda: bench_training(args.device, *((2, 32) if args.smoke else (16, 128))),
        "dis": lambda: bench_dis(sizes, args.device),
        "pipeline": lambda: bench_pipeline(sizes, frames, args.device),
        "codec": lambda: bench_codec(sizes, 3 if args.smoke else 3 * args.frames),
    }
    figures = {}
    for part in parts:
        figures[part] = run[part]()
        if args.json:  # after each part, so a part stopped by its timeout keeps the ones before
            args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n")
    _print_issue18(figures, height)
    _print_issue27(figures, next(iter(sizes)) if args.smoke else "1080p")


def _print_issue18(figures: dict, height: int) -> None:
    if "interpolate" in figures:
        interpolate = MarkdownTable([
            Column("weights"),
            Column(f"output fps (×2, {height}p, bf16)", "{:.2f}", "right", key="output_fps"),
            Column("DIS on CPU s/pair", "{:.3f}", "right", key="dis_cpu_s_per_pair"),
            Column("network on GPU s/pair", "{:.4f}", "right", key="network_gpu_s_per_pair"),
            Column("stage busy s", key="stages"),
        ])  # fmt: skip
        _print_with_stages(interpolate, figures["interpolate"])
    if "sepconv" in figures:
        sepconv = figures["sepconv"]
        print(f"paper SepConv forward, {sepconv['size']}, bf16: {sepconv['fps']:.1f} frames/s\n")
    if "training" in figures:
        steps = Column("steps/s (bf16)", "{:.2f}", "right", key="steps_per_s")
        print(markdown_table([Column("model"), Column("batch"), steps], figures["training"]))


if __name__ == "__main__":
    main()
