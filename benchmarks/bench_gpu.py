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

Usage: python -m benchmarks.bench_gpu [--frames N] [--json PATH]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=9, help="frames of the 1080p clip")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument(
        "--device", default="cuda", help="cuda; cpu only to try the script itself (with --smoke)"
    )
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes: check that every part runs, not its speed"
    )
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("bench_gpu: no CUDA device here: interpolate, sepconv and training figures skipped")
        return
    height, width = (64, 96) if args.smoke else (1080, 1920)
    if args.device.startswith("cuda"):
        print(f"GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}, "
              f"{len(os.sched_getaffinity(0))} CPU threads\n")  # fmt: skip
    figures = {
        "interpolate": bench_interpolate(3 if args.smoke else args.frames, height, width, args.device),
        "sepconv": bench_sepconv(height, width, args.device),
        "training": bench_training(args.device, *((2, 32) if args.smoke else (16, 128))),
    }
    interpolate = MarkdownTable([
        Column("weights"), Column(f"output fps (×2, {height}p, bf16)", "{:.2f}", "right", key="output_fps"),
        Column("DIS on CPU s/pair", "{:.3f}", "right", key="dis_cpu_s_per_pair"),
        Column("network on GPU s/pair", "{:.4f}", "right", key="network_gpu_s_per_pair"),
        Column("stage busy s", key="stages"),
    ])  # fmt: skip
    print(interpolate.header())
    for row in figures["interpolate"]:
        stages = ", ".join(f"{k} {v:.2f}" for k, v in row["stages_s"].items())
        print(interpolate.row({**row, "stages": stages}))
    sepconv = figures["sepconv"]
    print(f"\npaper SepConv forward, {sepconv['size']}, bf16: {sepconv['fps']:.1f} frames/s\n")
    steps = Column("steps/s (bf16)", "{:.2f}", "right", key="steps_per_s")
    print(markdown_table([Column("model"), Column("batch"), steps], figures["training"]), end="")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
