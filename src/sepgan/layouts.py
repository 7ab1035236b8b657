"""Dataset layouts by name: one vocabulary for ``sepgan train`` and ``sepgan evaluate``.

A layout is the way a dataset lies on disk. Training (:mod:`sepgan.data`)
turns one into float tensors, evaluation (:mod:`sepgan.evaluation.layouts`)
into uint8 benchmark samples; both accept every name below, so one name works
in a training config and on the ``evaluate`` command line alike.

=================  ======================================================  =========================
name               on disk                                                 read by
=================  ======================================================  =========================
prepared           a folder written by ``sepgan prepare``                  training
vimeo90k           Vimeo-90K, either variant below (found from the files)  training, evaluation
vimeo-triplet      ``sequences/*/*/im1..im3.png``, ``tri_*list.txt``        training, evaluation*
vimeo-septuplet    ``sequences/*/*/im1..im7.png``, ``sep_*list.txt``        training, evaluation*
atd12k             ``<clip>/frame1.*, frame2.*, frame3.*``                 training, evaluation
frame-folders      a folder of frames, or a folder of such folders         training, evaluation*
video              a video file (training: also a folder of videos;       training, evaluation
                   evaluation: also one folder of frames)
middlebury         ``<Name>/frame10.png, frame11.png, frame10i11.png``     evaluation
ucf101             ``<id>/frame_00.png, frame_01_gt.png, frame_02.png``    evaluation
snufilm            SNU-FILM ``test-<split>.txt`` lists                     evaluation
=================  ======================================================  =========================

\\* evaluation reads the two Vimeo variants as ``vimeo90k`` (its reader takes
both) and a frame folder as ``video`` (every other frame is a target); a
benchmark records that name. Training reads ``vimeo90k`` as the variant
:func:`vimeo_variant` finds. Each side's ``detect_layout`` names what it
finds in its own terms: training the variant, evaluation the benchmark.

Plain pathlib only, so the CLI can show these names without loading torch.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "EVALUATION_LAYOUTS",
    "LAYOUTS",
    "TRAINING_LAYOUTS",
    "evaluation_layout",
    "vimeo_variant",
]

TRAINING_LAYOUTS = ("prepared", "vimeo-triplet", "vimeo-septuplet", "atd12k", "frame-folders", "video")
EVALUATION_LAYOUTS = ("middlebury", "ucf101", "vimeo90k", "atd12k", "snufilm", "video")
# Names one side reads under another of its names.
_AS_EVALUATION = {"vimeo-triplet": "vimeo90k", "vimeo-septuplet": "vimeo90k", "frame-folders": "video"}
LAYOUTS = (
    "prepared", "vimeo90k", "vimeo-triplet", "vimeo-septuplet", "atd12k", "frame-folders", "video",
    "middlebury", "ucf101", "snufilm",
)  # fmt: skip


def evaluation_layout(name: str) -> str:
    """The benchmark layout that evaluation reads ``name`` as (``name`` itself, or its evaluation alias)."""
    return _AS_EVALUATION.get(name, name)


def vimeo_variant(root: Path) -> str | None:
    """``"vimeo-triplet"`` or ``"vimeo-septuplet"`` when ``root`` is a Vimeo-90K folder, else None.

    First match: a ``tri_trainlist.txt`` or ``tri_testlist.txt`` (triplets); a
    ``sep_*list.txt`` or any ``sequences/*/*/im7.png`` (septuplets); any
    ``sequences/*/*/im3.png`` (triplets).
    """
    root = Path(root)
    if not root.is_dir():
        return None
    if any((root / f"tri_{split}list.txt").is_file() for split in ("train", "test")):
        return "vimeo-triplet"
    if _exists(root.glob("sep_*list.txt")) or _exists(root.glob("sequences/*/*/im7.png")):
        return "vimeo-septuplet"
    if _exists(root.glob("sequences/*/*/im3.png")):
        return "vimeo-triplet"
    return None


def _exists(matches) -> bool:
    return next(matches, None) is not None
