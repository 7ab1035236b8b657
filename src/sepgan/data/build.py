"""Build a training dataset from paths, each read as the layout :mod:`sepgan.datasets` detects.

``build_triplet_dataset`` yields (frame0, frame1, target) float32 3×h×w
tensors in [0, 1], like every dataset in ``sepgan.data``.

Layout names, detection and the reader of each layout are those of
:mod:`sepgan.datasets`, shared with evaluation; this module only picks the
training dataset that wraps each reader:

* ``prepared`` → :class:`~sepgan.data.prepared_triplets.PreparedTriplets` (crops with
  precomputed flow; items carry a fourth tensor, the flows);
* ``vimeo-triplet``, ``vimeo-septuplet``, ``atd12k``, ``frame-folders`` → the
  classes of :mod:`sepgan.data.image_triplets`; ``vimeo90k`` → the variant
  found on disk;
* ``middlebury``, ``ucf101`` → their triplets as an ``ImageTripletDataset``;
* ``video`` → :class:`~sepgan.data.video_triplets.VideoTriplets` over the
  video file, or over every video of the folder.

``snufilm`` lists are read by evaluation only. Several paths are built one by
one and concatenated (``ConcatDataset``). Options a layout has no use for
(``split`` for videos, ``gaps`` for Vimeo-90K triplets, ``cache_dir`` for
images) are ignored, so one call can mix layouts.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from torch.utils.data import ConcatDataset, Dataset

from sepgan.data.augment import PairedAugment
from sepgan.data.image_triplets import ATD12K, FrameFolders, Vimeo90KSeptuplet, Vimeo90KTriplet
from sepgan.data.prepared_triplets import PreparedTriplets
from sepgan.data.triplets import DatasetError, ImageTripletDataset, Triplet
from sepgan.data.video_triplets import VideoTriplets
from sepgan.datasets import (
    LAYOUTS,
    TRAINING_NAMES,
    LayoutError,
    detect_layout,
    middlebury_triplets,
    ucf101_triplets,
    video_files,
    vimeo_variant,
)

__all__ = ["build_triplet_dataset"]

PathLike = str | os.PathLike[str]


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
        layout: "auto" to detect per path (:func:`sepgan.datasets.detect_layout`), or one of
            :data:`sepgan.datasets.TRAINING_NAMES` for all paths ("vimeo90k" reads each path as
            the Vimeo-90K variant found there).
        split: "train" or "test", for the Vimeo-90K list files.
        gaps: temporal gaps for septuplets, frame folders and videos; None
            keeps each layout's default ((1, 2) for septuplets, (1,) otherwise).
        augment: paired augmentation shared by every part.
        cache_dir, max_side: decoded-frame cache and decode-time downscale for videos.

    Raises:
        ValueError: an unknown ``layout``.
        DatasetError: no paths, a path that does not exist or holds no triplets, or a path detected
            as a layout training does not read (``snufilm``).
    """
    if layout != "auto" and layout not in TRAINING_NAMES:
        raise ValueError(f"layout must be one of {('auto', *TRAINING_NAMES)}, got {layout!r}")
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
        if not LAYOUTS[kind].training:
            raise LayoutError(
                f"{path}: a {kind} benchmark, which `sepgan evaluate` reads but training does not"
            )
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
        elif kind in ("middlebury", "ucf101"):
            triplets = middlebury_triplets(path) if kind == "middlebury" else ucf101_triplets(path)
            parts.append(ImageTripletDataset((triplet.paths for triplet in triplets), path, augment))
        else:
            videos = video_files(path)
            parts.append(
                VideoTriplets(videos, augment=augment, cache_dir=cache_dir, max_side=max_side, **gap_option)
            )
    return parts[0] if len(parts) == 1 else ConcatDataset(parts)
