"""Time per frame of `sepgan interpolate` (video ×2) at 480p, 720p and 1080p: decode, inference, encode.

For each size a short synthetic clip (smooth noise panning 3 px per frame) is
encoded with libx264, then interpolated ×2 into an H.264 MP4 through the same
code path as the CLI (:func:`sepgan.pipeline.interpolate_video`). Printed per
frame: decode time per *input* frame, inference time per *interpolated* frame
(including the uint8↔float conversions) and encode time per *output* frame.

The model is randomly initialised (the speed of a network does not depend on
its weights). Examples::

    python benchmarks/bench_interpolate.py                       # paper SepConv, K = 51
    python benchmarks/bench_interpolate.py --model sepconv-tiny --frames 5
    python benchmarks/bench_interpolate.py --device cuda --precision bf16
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import torch

from sepgan.interpolator import Interpolator
from sepgan.models import create_model
from sepgan.pipeline import InterpolateOptions, interpolate_video

SIZES = {"480p": (480, 854), "720p": (720, 1280), "1080p": (1080, 1920)}


def synthetic_clip(path: Path, height: int, width: int, frames: int, fps: int = 30) -> Path:
    generator = np.random.default_rng(0)
    coarse = generator.random((height // 16 + 2, (width + 3 * frames) // 16 + 2, 3), dtype=np.float32)
    canvas = (
        torch.nn.functional.interpolate(
            torch.from_numpy(coarse).permute(2, 0, 1)[None],
            size=(height, width + 3 * frames),
            mode="bilinear",
        )[0]
        .permute(1, 2, 0)
        .numpy()
    )
    canvas = (canvas * 255).astype(np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(frames):
            frame = np.ascontiguousarray(canvas[:, 3 * index : 3 * index + width])
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default="sepconv", help="registered model name (default: the paper SepConv)"
    )
    parser.add_argument("--sizes", default="480p,720p,1080p")
    parser.add_argument("--frames", type=int, default=3, help="input frames per clip (N − 1 interpolated)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--max-memory-mb", type=float, default=4096)
    args = parser.parse_args()

    torch.manual_seed(0)
    interpolator = Interpolator(
        create_model(args.model),
        device=args.device,
        precision=args.precision,
        batch_size=args.batch,
        tile="auto",
        max_memory_mb=args.max_memory_mb,
    )
    from sepgan.ops.separable_conv import available_backends

    print(
        f"model {args.model}, {interpolator.runtime.device} {interpolator.runtime.precision}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}, "
        f"separable_conv backends {available_backends()}, {args.frames} input frames per size, ×2 to H.264"
    )
    print("| size | tiles | decode ms/frame | inference s/frame | encode ms/frame | total s/output frame |")
    print("|---|---|---|---|---|---|")
    options = InterpolateOptions(factor=2, progress=False, scene_threshold=None)
    for name in args.sizes.split(","):
        height, width = SIZES[name]
        with tempfile.TemporaryDirectory() as folder:
            source = synthetic_clip(Path(folder) / "in.mp4", height, width, args.frames)
            started = time.perf_counter()
            result = interpolate_video(interpolator, source, Path(folder) / "out.mp4", options)
            total = time.perf_counter() - started
        stats = result.stats
        tile = interpolator.tile_size(height, width)
        print(
            f"| {name} | {tile or 'none'} | {stats.seconds['decode'] / stats.frames_in * 1000:.1f} "
            f"| {stats.seconds['inference'] / max(stats.interpolated, 1):.2f} "
            f"| {stats.seconds['encode'] / stats.frames_out * 1000:.1f} | {total / stats.frames_out:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
