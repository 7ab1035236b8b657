"""Build a triplet dataset from paths, detecting each path's layout.

``build_triplet_dataset`` yields (frame0, frame1, target) float32 3×h×w
tensors in [0, 1], like every dataset in ``sepgan.data``.

Layout names are those of :mod:`sepgan.layouts`, shared with evaluation.
Detection (``detect_layout``), first match wins:

0. a folder written by ``sepgan prepare`` (it holds ``prepared.json``) → ``"prepared"``
   (crops with precomputed flow; items carry a fourth tensor, the flows);
1. a file with a video suffix (.mp4, .avi, .mkv, ...) → ``"video"``;
2-4. a Vimeo-90K folder → ``"vimeo-triplet"`` or ``"vimeo-septuplet"``
   (:func:`sepgan.layouts.vimeo_variant`: ``tri_*list.txt``, then ``sep_*list.txt`` or
   ``sequences/*/*/im7.png``, then ``sequences/*/*/im3.png``);
5. a folder whose subfolders hold ``frame1.*`` → ``"atd12k"``;
6. a folder holding video files and no images → ``"video"`` (all its videos);
7. any other folder → ``"frame-folders"``.

Several paths are built one by one and concatenated (``ConcatDataset``).
Options a layout has no use for (``split`` for videos, ``gaps`` for
Vimeo-90K triplets, ``cache_dir`` for images) are ignored, so one call can
mix layouts.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from torch.utils.data import ConcatDataset, Dataset

from sepgan.data.augment import PairedAugment
from sepgan.data.layouts import ATD12K, FrameFolders, Vimeo90KSeptuplet, Vimeo90KTriplet
from sepgan.data.prepared import PreparedTriplets, is_prepared
from sepgan.data.triplets import DatasetError, Triplet
from sepgan.data.video_triplets import VideoTriplets
from sepgan.layouts import TRAINING_LAYOUTS, vimeo_variant
from sepgan.media.formats import IMAGE_SUFFIXES, VIDEO_SUFFIXES

__all__ = ["LAYOUTS", "build_triplet_dataset", "detect_layout"]

# Names training reads (:mod:`sepgan.layouts`), "vimeo90k" standing for the variant found on disk.
LAYOUTS = ("auto", *TRAINING_LAYOUTS, "vimeo90k")

PathLike = str | os.PathLike[str]


def detect_layout(path: PathLike) -> str:
    """Name the layout of ``path`` (one of ``LAYOUTS`` other than "auto"); see the module docstring."""
    path = Path(path)
    if path.is_file():
        if path.suffix.lower() in VIDEO_SUFFIXES:
            return "video"
        raise DatasetError(f"{path}: not a video file (suffixes: {', '.join(sorted(VIDEO_SUFFIXES))})")
    if not path.is_dir():
        raise DatasetError(f"{path}: no such file or folder")
    if is_prepared(path):
        return "prepared"
    variant = vimeo_variant(path)
    if variant is not None:
        return variant
    if next(path.glob("*/frame1.*"), None) is not None:
        return "atd12k"
    files = [child for child in path.iterdir() if child.is_file()]
    has_videos = any(child.suffix.lower() in VIDEO_SUFFIXES for child in files)
    if has_videos and not any(child.suffix.lower() in IMAGE_SUFFIXES for child in files):
        return "video"
    return "frame-folders"


def build_triplet_dataset(
    paths: PathLike | Sequence[PathLike],
    layout: str = "auto",
    *,
    split: str = "train",
    gaps: int | Sequence[int] | None = None,
    augment: PairedAugment | None = None,
    cache_dir: PathLike | None = None,
    max_side: int | None = None,
) -> Dataset[Triplet]:
    """Build one dataset from one or several paths.

    Args:
        paths: a dataset folder or video file, or a list of them (concatenated).
        layout: "auto" to detect per path, or one of ``LAYOUTS`` for all paths (names as in
            :mod:`sepgan.layouts`; "vimeo90k" reads each path as the Vimeo-90K variant found there).
        split: "train" or "test", for the Vimeo-90K list files.
        gaps: temporal gaps for septuplets, frame folders and videos; None
            keeps each layout's default ((1, 2) for septuplets, (1,) otherwise).
        augment: paired augmentation shared by every part.
        cache_dir, max_side: decoded-frame cache and decode-time downscale for videos.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if not paths:
        raise DatasetError("no dataset paths given")
    gap_option = {} if gaps is None else {"gaps": gaps}
    parts: list[Dataset[Triplet]] = []
    for path in map(Path, paths):
        kind = detect_layout(path) if layout == "auto" else layout
        if kind == "vimeo90k":
            kind = vimeo_variant(path) or "vimeo-triplet"
        if kind == "prepared":
            parts.append(PreparedTriplets(path, augment=augment))
        elif kind == "vimeo-triplet":
            parts.append(Vimeo90KTriplet(path, split=split, augment=augment))
        elif kind == "vimeo-septuplet":
            parts.append(Vimeo90KSeptuplet(path, split=split, augment=augment, **gap_option))
        elif kind == "atd12k":
            parts.append(ATD12K(path, augment=augment))
        elif kind == "frame-folders":
            parts.append(FrameFolders(path, augment=augment, **gap_option))
        else:
            videos = [path] if path.is_file() else _videos_in(path)
            parts.append(
                VideoTriplets(videos, augment=augment, cache_dir=cache_dir, max_side=max_side, **gap_option)
            )
    return parts[0] if len(parts) == 1 else ConcatDataset(parts)


def _videos_in(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise DatasetError(f"{folder}: no such file or folder")
    videos = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
    if not videos:
        raise DatasetError(f"{folder}: no video files ({', '.join(sorted(VIDEO_SUFFIXES))})")
    return videos
