"""What several benchmarks share: frame sizes, the test clips and their sources, child processes.

Run every benchmark from the repository root as a module, ``python -m
benchmarks.bench_x``, so that ``from benchmarks.common import ...`` resolves
without editing ``sys.path``. Tables are printed with :mod:`sepgan.tables`.

Clips (uint8 RGB frames, H.264 yuv420p through PyAV's libx264):

* :func:`panning_canvas` / :func:`synthetic_clip`: smooth noise (bilinear
  upsampling of 16 px random cells, seed 0) panning 3 px right per frame, so
  every size shows the same kind of motion;
* :func:`make_clip`: the first frames of a real video (:data:`SOURCE`, 1280×720,
  when ``../shared`` holds it) resized with swscale's bicubic filter, else the
  synthetic clip; both at crf 18, so every size shows the same content.
"""

from __future__ import annotations

import os
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

__all__ = [
    "MIDDLEBURY",
    "ROOT",
    "SIZES",
    "SOURCE",
    "child_environment",
    "make_clip",
    "module_command",
    "panning_canvas",
    "synthetic_clip",
]

ROOT = Path(__file__).resolve().parents[1]  # the repository
SHARED = ROOT.parent / "shared" / "data"  # footage and evaluation sets beside the repository, when present
SOURCE = SHARED / "videos" / "liveportrait" / "s32.mp4"  # the real clip of make_clip
MIDDLEBURY = SHARED / "eval" / "middlebury-other"  # 640×480 triplets

# Frame sizes by name: (height, width).
SIZES = {"480p": (480, 854), "720p": (720, 1280), "1080p": (1080, 1920)}


def panning_canvas(height: int, width: int, frames: int) -> np.ndarray:
    """Smooth noise for ``frames`` views of height×width, each 3 px right of the last (uint8 RGB)."""
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
    return (canvas * 255).astype(np.uint8)


def synthetic_clip(
    path: Path, height: int, width: int, frames: int, fps: int = 30, crf: int | None = None
) -> Path:
    """Write :func:`panning_canvas`'s views as an H.264 clip (libx264's default crf 23 unless ``crf``)."""
    canvas = panning_canvas(height, width, frames)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps, options={} if crf is None else {"crf": str(crf)})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(frames):
            frame = np.ascontiguousarray(canvas[:, 3 * index : 3 * index + width])
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    return path


def make_clip(
    path: Path, height: int, width: int, frames: int, source: Path | None = SOURCE, fps: int = 30
) -> tuple[Path, str]:
    """An H.264 clip (crf 18, ``fps`` frames per second) of ``frames`` frames at height×width:
    ``source`` resized, or :func:`synthetic_clip` when ``source`` is None or missing; returns the
    path and what it shows."""
    if source is None or not source.is_file():
        clip = synthetic_clip(path, height, width, frames, fps=fps, crf=18)
        return clip, "synthetic noise panning 3 px/frame"
    with av.open(str(path), "w") as output:
        stream = output.add_stream("libx264", rate=fps, options={"crf": "18"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        with av.open(str(source)) as container:
            for index, frame in enumerate(container.decode(video=0)):
                if index == frames:
                    break
                resized = frame.reformat(
                    width=width, height=height, format="yuv420p", interpolation="BICUBIC"
                )
                resized.pts, resized.time_base = index, Fraction(1, fps)  # the clip's own rate
                output.mux(stream.encode(resized))
        output.mux(stream.encode(None))
    return path, f"{source.name} resized"


def module_command(module: str, *arguments: str) -> list[str]:
    """The command line running ``module`` (e.g. ``benchmarks.bench_interpolate``) in a child Python."""
    return [sys.executable, "-m", module, *arguments]


def child_environment() -> dict[str, str]:
    """This environment with the repository (for ``benchmarks``) and its ``src`` (for this checkout's
    ``sepgan``) first on ``PYTHONPATH``, so a child runs the same code from any working folder."""
    paths = [str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in paths if path)}
