"""Triplet datasets over folders of images: Vimeo-90K, ATD-12K and plain frame folders.

Each class only finds triplets of paths; reading, size checks, augmentation
and the float conversion live in ``sepgan.data.triplets``. Items are
(frame0, frame1, target), three float32 3×h×w tensors in [0, 1].

Layouts
-------
* ``Vimeo90KTriplet``: ``root/sequences/00001/0001/im1.png .. im3.png`` with
  ``root/tri_trainlist.txt`` / ``tri_testlist.txt`` (lines ``00001/0001``).
  frame0 = im1, target = im2, frame1 = im3.
* ``Vimeo90KSeptuplet``: ``im1.png .. im7.png`` per sequence with
  ``sep_trainlist.txt`` / ``sep_testlist.txt``. Gap g yields triplets
  (im_k, im_{k+2g}) → im_{k+g}: 5 per septuplet at gap 1, 3 at gap 2, 1 at gap 3.
* ``ATD12K``: ``root/<clip>/frame1.*, frame2.*, frame3.*`` (png or jpg).
  frame0 = frame1, target = frame2, frame1 = frame3.
* ``FrameFolders``: a folder of frame folders, each an ordered image sequence
  (natural sort, so ``frame2`` precedes ``frame10``), or a single folder of
  frames. Gap g yields triplets (k, k + 2g) → k + g.

For both Vimeo layouts, when *neither* list file exists (e.g. a sample or a
subset) every ``sequences/*/*`` folder holding the needed images is used,
whatever the split; when only the other split's list exists it is an error,
so a test split can never silently fall back to the training data.

Files are not checked at construction (Vimeo-90K has ~200k of them); a
missing or unreadable image is reported by ``__getitem__``, naming the file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from sepgan.data.augment import PairedAugment
from sepgan.data.triplets import DatasetError, ImageTripletDataset, check_gaps
from sepgan.media.formats import IMAGE_SUFFIXES
from sepgan.media.frames import list_frames, natural_sort_key

__all__ = [
    "ATD12K",
    "FrameFolders",
    "Vimeo90KSeptuplet",
    "Vimeo90KTriplet",
]

_SPLITS = ("train", "test")


def _sequence_names(root: Path, prefix: str, split: str, required_image: str) -> list[str]:
    """Read ``<prefix>_<split>list.txt``, or list every sequence folder when no list file exists."""
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {_SPLITS}, got {split!r}")
    if not root.is_dir():
        raise DatasetError(f"{root}: dataset folder does not exist")
    list_file = root / f"{prefix}_{split}list.txt"
    if list_file.is_file():
        lines = list_file.read_text().splitlines()
        return [line.strip() for line in lines if line.strip()]
    other_lists = [root / f"{prefix}_{other}list.txt" for other in _SPLITS if other != split]
    present = [str(other) for other in other_lists if other.is_file()]
    if present:
        raise DatasetError(f"{root}: {list_file.name} is missing (found only {', '.join(present)})")
    sequences = root / "sequences"
    folders = sorted(path.parent for path in sequences.glob(f"*/*/{required_image}"))
    return [f"{folder.parent.name}/{folder.name}" for folder in folders]


class Vimeo90KTriplet(ImageTripletDataset):
    """Vimeo-90K triplet set: ``sequences/*/*/im1..im3.png``, target im2."""

    def __init__(
        self, root: str | os.PathLike[str], split: str = "train", augment: PairedAugment | None = None
    ):
        root = Path(root)
        names = _sequence_names(root, "tri", split, "im3.png")
        folders = [root / "sequences" / name for name in names]
        triplets = [(f / "im1.png", f / "im3.png", f / "im2.png") for f in folders]
        self.split = split
        super().__init__(triplets, root, augment)

    def _empty_reason(self) -> str:
        return f"tri_{self.split}list.txt is empty, or no sequences/*/*/im3.png without list files"


class Vimeo90KSeptuplet(ImageTripletDataset):
    """Vimeo-90K septuplet set: ``sequences/*/*/im1..im7.png``, several triplets per septuplet."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "train",
        gaps: int | Sequence[int] = (1, 2),
        augment: PairedAugment | None = None,
    ):
        root = Path(root)
        self.gaps = check_gaps(gaps, longest_sequence=7)
        self.split = split
        names = _sequence_names(root, "sep", split, "im7.png")
        triplets = []
        for name in names:
            folder = root / "sequences" / name
            triplets += _sequence_triplets([folder / f"im{number}.png" for number in range(1, 8)], self.gaps)
        super().__init__(triplets, root, augment)

    def _empty_reason(self) -> str:
        return f"sep_{self.split}list.txt is empty, or no sequences/*/*/im7.png without list files"


class ATD12K(ImageTripletDataset):
    """ATD-12K animation triplets: ``<clip>/frame1.*``, ``frame2.*`` (target), ``frame3.*``."""

    def __init__(self, root: str | os.PathLike[str], augment: PairedAugment | None = None):
        root = Path(root)
        if not root.is_dir():
            raise DatasetError(f"{root}: dataset folder does not exist")
        triplets = []
        for clip in sorted(path for path in root.iterdir() if path.is_dir()):
            found = {number: _frames_named(clip, f"frame{number}") for number in (1, 2, 3)}
            if not any(found.values()):
                continue  # not a clip folder
            for number, candidates in found.items():
                if len(candidates) != 1:
                    problem = "missing" if not candidates else f"ambiguous ({len(candidates)} files)"
                    raise DatasetError(
                        f"{clip}: frame{number}.* is {problem}; expected frame1/2/3.png or .jpg"
                    )
            triplets.append((found[1][0], found[3][0], found[2][0]))
        super().__init__(triplets, root, augment)

    def _empty_reason(self) -> str:
        return "no subfolders holding frame1.*, frame2.*, frame3.*"


def _frames_named(folder: Path, stem: str) -> list[Path]:
    return [path for path in folder.glob(f"{stem}.*") if path.suffix.lower() in IMAGE_SUFFIXES]


def _sequence_triplets(frames: Sequence[Path], gaps: Sequence[int]) -> list[tuple[Path, Path, Path]]:
    """(frame0, frame1, target) paths of one ordered sequence, gap by gap."""
    return [
        (frames[k], frames[k + 2 * gap], frames[k + gap])
        for gap in gaps
        for k in range(len(frames) - 2 * gap)
    ]


class FrameFolders(ImageTripletDataset):
    """Ordered image sequences: a folder of frame folders, or one folder of frames.

    If ``root`` itself holds images it is one sequence (subfolders are then
    ignored); otherwise each immediate subfolder holding images is a sequence.
    A sequence shorter than 2·gap + 1 frames contributes no triplets at that gap.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        gaps: int | Sequence[int] = (1,),
        augment: PairedAugment | None = None,
    ):
        root = Path(root)
        if not root.is_dir():
            raise DatasetError(f"{root}: dataset folder does not exist")
        self.gaps = check_gaps(gaps)
        if list_frames(root):
            folders = [root]
        else:
            folders = sorted((path for path in root.iterdir() if path.is_dir()), key=natural_sort_key)
        self.sequences = [frames for frames in map(list_frames, folders) if frames]
        triplets = [triplet for frames in self.sequences for triplet in _sequence_triplets(frames, self.gaps)]
        super().__init__(triplets, root, augment)

    def _empty_reason(self) -> str:
        if not self.sequences:
            return f"no images ({', '.join(IMAGE_SUFFIXES[:7])}, ...) in it or in its subfolders"
        longest = max(len(frames) for frames in self.sequences)
        needed = 2 * min(self.gaps) + 1
        return f"longest sequence has {longest} frames; gaps {self.gaps} need at least {needed}"
