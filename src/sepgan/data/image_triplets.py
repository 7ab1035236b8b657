"""Training datasets over folders of images: Vimeo-90K, ATD-12K and plain frame folders.

Each class takes its triplets from the one reader of its layout in
:mod:`sepgan.datasets`, the reader evaluation uses too; reading, size checks,
augmentation and the float conversion live in ``sepgan.data.triplets``. Items
are (frame0, frame1, target), three float32 3×h×w tensors in [0, 1].

Layouts
-------
* ``Vimeo90KTriplet``: ``root/sequences/00001/0001/im1.png .. im3.png`` with
  ``root/tri_trainlist.txt`` / ``tri_testlist.txt`` (lines ``00001/0001``).
  frame0 = im1, target = im2, frame1 = im3.
* ``Vimeo90KSeptuplet``: ``im1.png .. im7.png`` per sequence with
  ``sep_trainlist.txt`` / ``sep_testlist.txt``. Gap g yields triplets
  (im_k, im_{k+2g}) → im_{k+g}: 5 per septuplet at gap 1, 3 at gap 2, 1 at gap 3.
* ``ATD12K``: ``root/<clip>/frame1.*, frame2.*, frame3.*`` (png or jpg), or
  ``root`` itself as one clip. frame0 = frame1, target = frame2, frame1 = frame3.
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
from sepgan.data.triplets import ImageTripletDataset, check_gaps
from sepgan.datasets import atd12k_triplets, frame_sequences, sequence_triplets, vimeo_triplets
from sepgan.media.formats import IMAGE_SUFFIXES

__all__ = [
    "ATD12K",
    "FrameFolders",
    "Vimeo90KSeptuplet",
    "Vimeo90KTriplet",
]


class Vimeo90KTriplet(ImageTripletDataset):
    """Vimeo-90K triplet set: ``sequences/*/*/im1..im3.png``, target im2."""

    def __init__(
        self, root: str | os.PathLike[str], split: str = "train", augment: PairedAugment | None = None
    ):
        self.split = split
        triplets = vimeo_triplets(Path(root), "vimeo-triplet", split)
        super().__init__((triplet.paths for triplet in triplets), root, augment)

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
        self.gaps = check_gaps(gaps, longest_sequence=7)
        self.split = split
        triplets = vimeo_triplets(Path(root), "vimeo-septuplet", split, self.gaps)
        super().__init__((triplet.paths for triplet in triplets), root, augment)

    def _empty_reason(self) -> str:
        return f"sep_{self.split}list.txt is empty, or no sequences/*/*/im7.png without list files"


class ATD12K(ImageTripletDataset):
    """ATD-12K animation triplets: ``<clip>/frame1.*``, ``frame2.*`` (target), ``frame3.*``."""

    def __init__(self, root: str | os.PathLike[str], augment: PairedAugment | None = None):
        triplets = atd12k_triplets(Path(root))
        super().__init__((triplet.paths for triplet in triplets), root, augment)

    def _empty_reason(self) -> str:
        return "no subfolders holding frame1.*, frame2.*, frame3.*"


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
        self.sequences = frame_sequences(root)
        self.gaps = check_gaps(gaps)
        triplets = [
            triplet for frames in self.sequences for triplet in sequence_triplets(frames, root, self.gaps)
        ]
        super().__init__((triplet.paths for triplet in triplets), root, augment)

    def _empty_reason(self) -> str:
        if not self.sequences:
            return f"no images ({', '.join(IMAGE_SUFFIXES[:7])}, ...) in it or in its subfolders"
        longest = max(len(frames) for frames in self.sequences)
        needed = 2 * min(self.gaps) + 1
        return f"longest sequence has {longest} frames; gaps {self.gaps} need at least {needed}"
