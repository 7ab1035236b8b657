"""Benchmarks: the (frame0, frame1, target) samples of a dataset on disk, as evaluation scores them.

Every benchmark yields :class:`Sample` objects; ``sample.load()`` returns the two
inputs and the ground-truth middle frame as H×W×3 RGB uint8 arrays (metrics
compare uint8, see :mod:`sepgan.metrics`). Image decoding goes through
:mod:`sepgan.media.frames`.

Layout names, detection and the reader of each layout are those of
:mod:`sepgan.datasets`, shared with training, so a folder gives the same
triplets to both. Evaluation records what it read under one of six names
(:data:`~sepgan.datasets.BENCHMARK_NAMES`):

* ``middlebury``: ``<Name>/frame10.png, frame11.png, frame10i11.png`` (the
  Middlebury "other" set and the DAVIS triplets in ``shared/data/eval/davis``),
  or the official split into ``other-data/<Name>/`` and ``other-gt-interp/<Name>/``.
* ``ucf101``: DVF's UCF101 test set, ``<id>/frame_00.png, frame_01_gt.png, frame_02.png``.
* ``vimeo90k`` (also for ``vimeo-triplet`` and ``vimeo-septuplet``): the test split of the
  variant found on disk, ``tri_testlist.txt`` (inputs im1, im3; target im2) or ``sep_testlist.txt``
  (im k, im k+2; target im k+1, five per septuplet); with no list at all, every sequence.
* ``atd12k``: ATD-12K test, ``<clip>/frame1.*, frame2.*, frame3.*`` (target frame2).
* ``snufilm``: SNU-FILM list files ``test-<split>.txt`` (in the root or in
  ``eval_modes/``), three paths a line, the middle one the target.
* ``video`` (also for ``frame-folders``): a video file, or one folder of frames: every other
  frame is dropped, and each dropped frame is the target for its two neighbours, i.e.
  triplets (0, 2; 1), (2, 4; 3), … A video is decoded in one streaming pass
  (:func:`sepgan.datasets.decode_video_triplets`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sepgan.datasets import (
    BENCHMARK_NAMES,
    EVALUATION_NAMES,
    LAYOUTS,
    LayoutError,
    TripletPaths,
    atd12k_triplets,
    decode_video_triplets,
    detect_layout,
    frame_sequences,
    middlebury_triplets,
    sequence_triplets,
    snufilm_triplets,
    ucf101_triplets,
    video_triplet_count,
    vimeo_triplets,
    vimeo_variant,
)
from sepgan.evaluation.choices import SNU_SPLITS
from sepgan.media.frames import load_image_uint8

__all__ = ["Benchmark", "LayoutError", "Sample", "open_benchmark"]

Triplet = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Sample:
    """One triplet: ``load()`` → (frame0, frame1, target), each H×W×3 uint8."""

    name: str
    loader: Callable[[], Triplet]

    def load(self) -> Triplet:
        frame0, frame1, target = self.loader()
        if not frame0.shape == frame1.shape == target.shape:
            raise LayoutError(
                f"{self.name}: frames differ in size ({frame0.shape}, {frame1.shape}, target {target.shape})"
            )
        return frame0, frame1, target


@dataclass(frozen=True)
class Benchmark:
    """A named, sized stream of samples. ``len`` may be an estimate for videos (from the container)."""

    name: str
    layout: str
    root: Path
    length: int | None
    samples: Callable[[], Iterator[Sample]]

    def __iter__(self) -> Iterator[Sample]:
        return self.samples()


def _image_sample(triplet: TripletPaths) -> Sample:
    frame0, frame1, target = triplet.paths
    return Sample(
        triplet.name, lambda: (load_image_uint8(frame0), load_image_uint8(frame1), load_image_uint8(target))
    )


def _video_samples(path: Path) -> Iterator[Sample]:
    for name, frame0, frame1, target in decode_video_triplets(path):
        yield Sample(name, lambda t=(frame0, frame1, target): t)


def _triplets(root: Path, benchmark: str, snu_split: str) -> list[TripletPaths]:
    """The triplets of the folder (or SNU-FILM list) ``root`` read as ``benchmark``."""
    if benchmark == "middlebury":
        return middlebury_triplets(root)
    if benchmark == "ucf101":
        return ucf101_triplets(root)
    if benchmark == "vimeo90k":
        return vimeo_triplets(root, vimeo_variant(root) or "vimeo-triplet", split="test", gaps=(1,))
    if benchmark == "atd12k":
        return atd12k_triplets(root)
    if benchmark == "snufilm":
        return snufilm_triplets(root, snu_split)
    # video: one folder of frames, every other frame dropped
    return [
        triplet
        for frames in frame_sequences(root, subfolders=False)
        for triplet in sequence_triplets(frames, root, gaps=(1,), step=2)
    ]


def open_benchmark(
    root: str | Path, layout: str = "auto", snu_split: str = "hard", name: str | None = None
) -> Benchmark:
    """Open ``root`` as a benchmark of ``layout`` (``"auto"`` detects it; any name of
    :data:`~sepgan.datasets.EVALUATION_NAMES`).

    Raises:
        LayoutError: ``root`` does not exist, matches no layout evaluation reads, holds an
            incomplete or ambiguous clip, or holds no samples.
    """
    root = Path(root)
    if not root.exists():
        raise LayoutError(f"{root}: no such file or folder")
    if snu_split not in SNU_SPLITS:
        raise LayoutError(f"unknown SNU-FILM split {snu_split!r}; choose one of {', '.join(SNU_SPLITS)}")
    detected = layout == "auto"
    if detected:
        layout = detect_layout(root, snu_split)
        if layout not in EVALUATION_NAMES:
            raise LayoutError(f"{root}: a {layout} training set, which `sepgan evaluate` does not read")
    elif layout not in EVALUATION_NAMES:
        raise LayoutError(f"unknown layout {layout!r}; choose auto or one of {', '.join(EVALUATION_NAMES)}")
    benchmark = str(LAYOUTS[layout].benchmark)
    name = name or (
        f"{root.stem}-{snu_split}" if benchmark == "snufilm" else root.stem if root.is_file() else root.name
    )

    if benchmark == "video" and root.is_file():
        length = video_triplet_count(root)
        return Benchmark(name, benchmark, root, length, lambda: _video_samples(root))
    if not root.is_dir() and benchmark != "snufilm":
        raise LayoutError(f"{root}: layout {benchmark} needs a folder")
    samples = [_image_sample(triplet) for triplet in _triplets(root, benchmark, snu_split)]
    if not samples:
        if detected and benchmark == "video":  # the catch-all: a folder of too few frames, or of videos
            raise LayoutError(
                f"{root}: matches no benchmark layout ({', '.join(BENCHMARK_NAMES)}); "
                "see `sepgan evaluate --help`"
            )
        raise LayoutError(f"{root}: no {benchmark} samples found")
    return Benchmark(name, benchmark, root, len(samples), lambda: iter(samples))
