"""Dataset formats on disk: one table of names, one detector, one reader per format.

``sepgan train`` (:mod:`sepgan.data`) and ``sepgan evaluate``
(:mod:`sepgan.evaluation.benchmarks`) find their triplets here, so a folder
means the same triplets, in the same order, to both, and a folder that one of
them rejects the other rejects with the same message. A reader lists
:class:`TripletPaths` (frame0, frame1 and the true middle frame ``target``, as
image paths, with a name for reports) and decodes nothing; training wraps them
in float32 3×h×w tensors in [0, 1], evaluation loads them as uint8 H×W×3
arrays. Videos are the exception: training decodes them into a frame cache
(:mod:`sepgan.data.video_triplets`), evaluation streams them
(:func:`decode_video_groups`).

===============  ==========================================================  ================
name             on disk                                                     evaluation reads
===============  ==========================================================  ================
middlebury       ``<Name>/frame10.png, frame11.png, frame10i11.png``, or     middlebury
                 ``other-data/<Name>/`` + ``other-gt-interp/<Name>/``
ucf101           ``<id>/frame_00.png, frame_01_gt.png, frame_02.png`` (DVF)  ucf101
vimeo90k         Vimeo-90K, either variant below (found from the files)      vimeo90k
vimeo-triplet    ``sequences/*/*/im1..im3.png``, ``tri_*list.txt``           vimeo90k
vimeo-septuplet  ``sequences/*/*/im1..im7.png``, ``sep_*list.txt``           vimeo90k
atd12k           ``<clip>/frame1.*, frame2.*, frame3.*`` (png or jpg)        atd12k
snufilm          SNU-FILM ``test-<split>.txt`` lists (not training)          snufilm
video            a video file; training also a folder of videos              video
frame-folders    a folder of frames; training also a folder of such folders  video
prepared         a folder written by ``sepgan prepare`` (training only)      —
===============  ==========================================================  ================

:data:`LAYOUTS` holds who reads each name and as what. Evaluation reads both
Vimeo variants as ``vimeo90k`` (the variant found on disk, test split, gap 1)
and frames as ``video``: it drops every other frame and scores each dropped
one from its two neighbours, (0, 2; 1), (2, 4; 3), ..., or, at a factor N, keeps
every Nth frame and scores the N − 1 between each kept pair at t = j/N
(:func:`sequence_groups`, :func:`decode_video_groups`). Training reads
``vimeo90k`` as the variant found on disk, and a sequence at every gap g as
(k, k + 2g; k + g).

Detection (:func:`detect_layout`), first match wins:

1. a file: ``.txt`` → ``snufilm``; a video suffix (.mp4, .mkv, ...) → ``video``;
2. ``prepared.json`` in the folder → ``prepared``;
3. ``test-<split>.txt`` in the folder or in ``eval_modes/`` → ``snufilm``;
4. a Vimeo-90K folder → ``vimeo-triplet`` or ``vimeo-septuplet`` (:func:`vimeo_variant`);
5. ``other-data/`` and ``other-gt-interp/``, or ``frame10i11.png`` in the folder or a
   subfolder → ``middlebury``;
6. ``frame_01_gt.png`` in the folder or a subfolder → ``ucf101``;
7. a subfolder holding a ``frame1`` image, or a folder whose images are exactly
   ``frame1``, ``frame2``, ``frame3`` (one clip) → ``atd12k``;
8. video files and no images in the folder → ``video``;
9. any other folder → ``frame-folders``.

Errors: a path that does not exist, matches nothing, or whose clip lacks a
frame or holds one frame in two formats (``frame1.png`` and ``frame1.jpg``:
which is meant?) raises :class:`LayoutError`, naming the folder and files.

Plain pathlib at import: torch (through :mod:`sepgan.media.frames`) and PyAV (through
:mod:`sepgan.media`) are imported inside the functions that need them, so
``sepgan --help`` can list these names without loading either.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sepgan.errors import UserError
from sepgan.media.formats import IMAGE_SUFFIXES, VIDEO_SUFFIXES, VideoError

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "BENCHMARK_NAMES",
    "EVALUATION_NAMES",
    "LAYOUTS",
    "TRAINING_NAMES",
    "DatasetError",
    "Layout",
    "LayoutError",
    "TripletPaths",
    "atd12k_triplets",
    "decode_video_groups",
    "detect_layout",
    "frame_sequences",
    "is_video_file",
    "middlebury_triplets",
    "sequence_groups",
    "sequence_triplets",
    "snufilm_list",
    "snufilm_triplets",
    "ucf101_triplets",
    "video_files",
    "video_group_count",
    "vimeo_triplets",
    "vimeo_variant",
]


class DatasetError(UserError, ValueError):
    """A dataset cannot be built or read; the message names the folder or file and why."""


class LayoutError(DatasetError):
    """A dataset path that does not exist, matches no layout, holds an incomplete or ambiguous
    clip, or holds no samples."""


@dataclass(frozen=True)
class Layout:
    """Who reads a layout name: training (``data.layout``) and/or evaluation (``--layout``), as what."""

    training: bool
    benchmark: str | None  # the name evaluation reads and records it as; None: evaluation does not read it


# The one table of layout names, in the order ``sepgan evaluate --help`` lists them.
LAYOUTS = {
    "middlebury": Layout(training=True, benchmark="middlebury"),
    "ucf101": Layout(training=True, benchmark="ucf101"),
    "vimeo90k": Layout(training=True, benchmark="vimeo90k"),
    "vimeo-triplet": Layout(training=True, benchmark="vimeo90k"),
    "vimeo-septuplet": Layout(training=True, benchmark="vimeo90k"),
    "atd12k": Layout(training=True, benchmark="atd12k"),
    "snufilm": Layout(training=False, benchmark="snufilm"),
    "video": Layout(training=True, benchmark="video"),
    "frame-folders": Layout(training=True, benchmark="video"),
    "prepared": Layout(training=True, benchmark=None),
}
TRAINING_NAMES = tuple(name for name, layout in LAYOUTS.items() if layout.training)
EVALUATION_NAMES = tuple(name for name, layout in LAYOUTS.items() if layout.benchmark)
# What evaluation records a benchmark as: middlebury, ucf101, vimeo90k, atd12k, snufilm, video.
BENCHMARK_NAMES = tuple(dict.fromkeys(layout.benchmark for layout in LAYOUTS.values() if layout.benchmark))

_SPLITS = ("train", "test")


@dataclass(frozen=True)
class TripletPaths:
    """One triplet of image files: inputs ``frame0`` and ``frame1``, and ``target``, the true middle
    frame. ``name`` labels it in evaluation reports (the clip, or the target frame's path)."""

    name: str
    frame0: Path
    frame1: Path
    target: Path

    @property
    def paths(self) -> tuple[Path, Path, Path]:
        """(frame0, frame1, target)."""
        return self.frame0, self.frame1, self.target


# --- detection --------------------------------------------------------------------------------


def detect_layout(path: str | Path, snu_split: str = "hard") -> str:
    """The layout of ``path``: a name of :data:`LAYOUTS` other than ``vimeo90k`` (see the module
    docstring for the order of the checks). ``snu_split`` names the SNU-FILM list looked for.

    Raises:
        LayoutError: ``path`` does not exist, or is a file that is neither a video nor a ``.txt`` list.
    """
    from sepgan.data.prepared_triplets import is_prepared

    path = Path(path)
    if not path.exists():
        raise LayoutError(f"{path}: no such file or folder")
    if path.is_file():
        if path.suffix == ".txt":
            return "snufilm"
        if is_video_file(path):
            return "video"
        raise LayoutError(
            f"{path}: not a video file (suffixes: {_video_suffixes()}) nor a SNU-FILM list (.txt)"
        )
    if is_prepared(path):
        return "prepared"
    if snufilm_list(path, snu_split) is not None:
        return "snufilm"
    variant = vimeo_variant(path)
    if variant is not None:
        return variant
    folders = [path, *_subfolders(path)]
    if ((path / "other-data").is_dir() and (path / "other-gt-interp").is_dir()) or any(
        (folder / "frame10i11.png").is_file() for folder in folders
    ):
        return "middlebury"
    if any((folder / "frame_01_gt.png").is_file() for folder in folders):
        return "ucf101"
    if any(_images_named(folder, "frame1") for folder in folders[1:]) or _is_atd12k_clip(path):
        return "atd12k"
    files = [child for child in path.iterdir() if child.is_file()]
    if any(map(is_video_file, files)) and not any(child.suffix.lower() in IMAGE_SUFFIXES for child in files):
        return "video"
    return "frame-folders"


def vimeo_variant(root: str | Path) -> str | None:
    """``"vimeo-triplet"`` or ``"vimeo-septuplet"`` when ``root`` is a Vimeo-90K folder, else None.

    First match: a ``tri_trainlist.txt`` or ``tri_testlist.txt`` (triplets); a
    ``sep_*list.txt`` or any ``sequences/*/*/im7.png`` (septuplets); any
    ``sequences/*/*/im3.png`` (triplets).
    """
    root = Path(root)
    if not root.is_dir():
        return None
    if any((root / f"tri_{split}list.txt").is_file() for split in _SPLITS):
        return "vimeo-triplet"
    if _exists(root.glob("sep_*list.txt")) or _exists(root.glob("sequences/*/*/im7.png")):
        return "vimeo-septuplet"
    if _exists(root.glob("sequences/*/*/im3.png")):
        return "vimeo-triplet"
    return None


def _exists(matches: Iterator[Path]) -> bool:
    return next(matches, None) is not None


def _subfolders(root: Path) -> list[Path]:
    """The subfolders of ``root`` in name order, hidden ones (``.name``) skipped."""
    return sorted(path for path in root.iterdir() if path.is_dir() and not path.name.startswith("."))


def _images_named(folder: Path, stem: str) -> list[Path]:
    """The image files ``<stem>.<image suffix>`` of ``folder``, in name order."""

    return sorted(path for path in folder.glob(f"{stem}.*") if path.suffix.lower() in IMAGE_SUFFIXES)


def _check_folder(root: Path) -> None:
    if not root.is_dir():
        raise LayoutError(f"{root}: dataset folder does not exist")


# --- image formats ----------------------------------------------------------------------------


def vimeo_triplets(
    root: str | Path, variant: str, split: str = "train", gaps: Sequence[int] = (1,)
) -> list[TripletPaths]:
    """The triplets of a Vimeo-90K folder, read as ``variant`` (``"vimeo-triplet"`` or
    ``"vimeo-septuplet"``).

    The sequences are the lines of ``tri_<split>list.txt`` (``sep_`` for septuplets), or every
    ``sequences/*/*`` folder holding im3.png (im7.png) when *neither* list exists; when only the
    other split's list exists it is an error, so a test split never silently falls back to the
    training data. Triplets: (im1, im3) → im2, named ``<a>/<b>``; septuplets at each gap g in
    ``gaps``, then each k: (im k, im k+2g) → im k+g, named ``<a>/<b>/im<k+g>``.

    Raises:
        ValueError: ``split`` is neither "train" nor "test".
        LayoutError: ``root`` is not a folder, or only the other split's list exists.
    """
    root = Path(root)
    septuplet = variant == "vimeo-septuplet"
    names = _sequence_names(root, "sep" if septuplet else "tri", split, "im7.png" if septuplet else "im3.png")
    sequences = root / "sequences"
    if not septuplet:
        return [
            TripletPaths(name, *(sequences / name / f"im{index}.png" for index in (1, 3, 2)))
            for name in names
        ]
    return [
        triplet
        for name in names
        for triplet in sequence_triplets(
            [sequences / name / f"im{index}.png" for index in range(1, 8)], sequences, gaps
        )
    ]


def _sequence_names(root: Path, prefix: str, split: str, required_image: str) -> list[str]:
    """Read ``<prefix>_<split>list.txt``, or list every sequence folder when no list file exists."""
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {_SPLITS}, got {split!r}")
    _check_folder(root)
    list_file = root / f"{prefix}_{split}list.txt"
    if list_file.is_file():
        lines = list_file.read_text().splitlines()
        return [line.strip() for line in lines if line.strip()]
    other_lists = [root / f"{prefix}_{other}list.txt" for other in _SPLITS if other != split]
    present = [str(other) for other in other_lists if other.is_file()]
    if present:
        raise LayoutError(f"{root}: {list_file.name} is missing (found only {', '.join(present)})")
    folders = sorted(path.parent for path in (root / "sequences").glob(f"*/*/{required_image}"))
    return [f"{folder.parent.name}/{folder.name}" for folder in folders]


def atd12k_triplets(root: str | Path) -> list[TripletPaths]:
    """The ATD-12K clips of ``root`` (itself, then its subfolders in name order): (frame1, frame3)
    → frame2, named after the clip. A folder holding none of frame1/2/3 is not a clip and is skipped.

    Raises:
        LayoutError: ``root`` is not a folder, or a clip lacks one of frame1/2/3 or holds one of them
            in two formats (e.g. frame1.png and frame1.jpg); the message names the clip and files.
    """
    root = Path(root)
    _check_folder(root)
    triplets = []
    for clip in [root, *_subfolders(root)]:
        found = {number: _images_named(clip, f"frame{number}") for number in (1, 2, 3)}
        if not any(found.values()):
            continue  # not a clip folder
        for number, candidates in found.items():
            if len(candidates) != 1:
                files = ", ".join(path.name for path in candidates)
                problem = f"ambiguous ({files})" if candidates else "missing"
                raise LayoutError(f"{clip}: frame{number}.* is {problem}; expected frame1/2/3.png or .jpg")
        triplets.append(TripletPaths(clip.name, found[1][0], found[3][0], found[2][0]))
    return triplets


def _is_atd12k_clip(folder: Path) -> bool:
    from sepgan.media.frames import list_frames

    return {path.stem for path in list_frames(folder)} == {"frame1", "frame2", "frame3"}


def middlebury_triplets(root: str | Path) -> list[TripletPaths]:
    """Middlebury-style clips (the "other" set, DAVIS triplets): (frame10, frame11) → frame10i11,
    named after the clip; ``root`` itself and its subfolders, or the official split into
    ``other-data/<Name>/`` (inputs) and ``other-gt-interp/<Name>/`` (targets).

    A sequence with one of its three frames missing is left out, with a warning naming it.

    Raises:
        LayoutError: ``root`` is not a folder.
    """
    root = Path(root)
    _check_folder(root)
    if (root / "other-data").is_dir() and (root / "other-gt-interp").is_dir():
        pairs = [
            (folder, root / "other-gt-interp" / folder.name) for folder in _subfolders(root / "other-data")
        ]
    else:
        pairs = [(folder, folder) for folder in [root, *_subfolders(root)]]
    triplets = []
    for inputs, truth in pairs:
        files = [inputs / "frame10.png", inputs / "frame11.png", truth / "frame10i11.png"]
        missing = [path for path in files if not path.is_file()]
        if not missing:
            triplets.append(TripletPaths(inputs.name, *files))
        elif len(missing) < len(files):  # a sequence with a frame lost: say so, never score it silently
            logger.warning(
                "middlebury sequence %s has no %s; it is left out of the scores",
                inputs.name,
                " nor ".join(str(path) for path in missing),
            )
    return triplets


def ucf101_triplets(root: str | Path) -> list[TripletPaths]:
    """DVF's UCF101 test set: ``<id>/frame_00.png, frame_01_gt.png, frame_02.png`` in ``root`` or its
    subfolders, (frame_00, frame_02) → frame_01_gt, named after the folder.

    Raises:
        LayoutError: ``root`` is not a folder.
    """
    root = Path(root)
    _check_folder(root)
    return [
        TripletPaths(
            folder.name, folder / "frame_00.png", folder / "frame_02.png", folder / "frame_01_gt.png"
        )
        for folder in [root, *_subfolders(root)]
        if (folder / "frame_01_gt.png").is_file()
    ]


def snufilm_list(root: str | Path, split: str) -> Path | None:
    """The SNU-FILM list of ``split``: ``root`` itself when it is a ``.txt`` file, else
    ``test-<split>.txt`` in ``root`` or in ``root/eval_modes``; None when there is none."""
    root = Path(root)
    if root.is_file() and root.suffix == ".txt":
        return root
    for candidate in (root / f"test-{split}.txt", root / "eval_modes" / f"test-{split}.txt"):
        if candidate.is_file():
            return candidate
    return None


def snufilm_triplets(root: str | Path, split: str) -> list[TripletPaths]:
    """The triplets of a SNU-FILM list (:func:`snufilm_list`): three paths a line, the middle one the
    target, named ``<folder>/<target stem>``. Listed paths are resolved against the root (or the
    list's folder), dropping leading components as needed (the lists say ``data/SNU-FILM/test/...``).

    Raises:
        LayoutError: no list, a line without three paths, or a listed file that is not found.
    """
    root = Path(root)
    list_file = snufilm_list(root, split)
    if list_file is None:
        raise LayoutError(f"{root}: no SNU-FILM list test-{split}.txt (looked in the folder and eval_modes/)")
    base = root if root.is_dir() else list_file.parent
    triplets = []
    for line_number, line in enumerate(list_file.read_text().splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 3:
            raise LayoutError(f"{list_file}:{line_number}: expected three paths, got {len(parts)}")
        frame0, target, frame1 = (_resolve_listed(base, part, list_file, line_number) for part in parts)
        triplets.append(TripletPaths(f"{target.parent.name}/{target.stem}", frame0, frame1, target))
    return triplets


def _resolve_listed(base: Path, listed: str, list_file: Path, line_number: int) -> Path:
    """Resolve a path from a list file under ``base``, dropping leading components until it exists."""
    parts = Path(listed).parts
    for start in range(len(parts)):
        for anchor in (base, base.parent):
            candidate = anchor.joinpath(*parts[start:])
            if candidate.is_file():
                return candidate
    raise LayoutError(f"{list_file}:{line_number}: {listed} not found under {base}")


def frame_sequences(root: str | Path, subfolders: bool = True) -> list[list[Path]]:
    """The frame-folders layout: ordered image sequences (:func:`sepgan.media.frames.list_frames`, natural
    order, so ``frame2`` precedes ``frame10``).

    ``root``'s own images are one sequence, and its subfolders are then ignored; a ``root`` without
    images gives one sequence per subfolder holding images (in natural order) when ``subfolders``
    is true, and none otherwise (evaluation reads one folder, one clip).

    Raises:
        LayoutError: ``root`` is not a folder.
    """
    from sepgan.media.frames import list_frames, natural_sort_key

    root = Path(root)
    _check_folder(root)
    frames = list_frames(root)
    if frames or not subfolders:
        return [frames] if frames else []
    folders = sorted(
        (path for path in root.iterdir() if path.is_dir() and not path.name.startswith(".")),
        key=natural_sort_key,
    )
    return [frames for frames in map(list_frames, folders) if frames]


def sequence_triplets(
    frames: Sequence[Path], base: Path, gaps: Sequence[int] = (1,), step: int = 1
) -> list[TripletPaths]:
    """The triplets of one ordered sequence: for each gap g, then k = 0, step, 2·step, ...:
    (frames[k], frames[k + 2g]) → frames[k + g], named by the target's path under ``base`` without
    its suffix. A sequence shorter than 2g + 1 frames gives none at gap g.

    Training takes step 1 at its gaps; evaluation takes gap 1, step 2 (every other frame dropped).
    """
    return [
        TripletPaths(_frame_name(frames[k + gap], base), frames[k], frames[k + 2 * gap], frames[k + gap])
        for gap in gaps
        for k in range(0, len(frames) - 2 * gap, step)
    ]


def sequence_groups(frames: Sequence[Path], base: Path, factor: int = 2) -> list[tuple[TripletPaths, ...]]:
    """The groups of one ordered sequence that a ×``factor`` evaluation scores: for k = 0, N, 2N, ...
    (N = ``factor``), the N − 1 triplets (frames[k], frames[k + N]) → frames[k + j], j = 1 … N − 1,
    the true frame at t = j/N, each named as :func:`sequence_triplets` names it. Groups do not
    overlap; a sequence shorter than N + 1 frames gives none. At N = 2 these are the evaluation
    triplets of :func:`sequence_triplets` (gap 1, step 2), one per group.

    Raises:
        ValueError: ``factor`` < 2.
    """
    if factor < 2:
        raise ValueError(f"factor must be at least 2, got {factor}")
    return [
        tuple(
            TripletPaths(_frame_name(frames[k + j], base), frames[k], frames[k + factor], frames[k + j])
            for j in range(1, factor)
        )
        for k in range(0, len(frames) - factor, factor)
    ]


def _frame_name(frame: Path, base: Path) -> str:
    """A frame's name in reports: its path under ``base`` without the suffix."""
    return frame.relative_to(base).with_suffix("").as_posix()


# --- videos -----------------------------------------------------------------------------------


def is_video_file(path: Path) -> bool:
    """Whether ``path`` has a video suffix (:data:`sepgan.media.VIDEO_SUFFIXES`); its content is not read."""

    return path.suffix.lower() in VIDEO_SUFFIXES


def _video_suffixes() -> str:

    return ", ".join(sorted(VIDEO_SUFFIXES))


def video_files(path: str | Path) -> list[Path]:
    """The video layout as training reads it: ``[path]`` for a file, else the video files of the
    folder ``path`` in name order.

    Raises:
        LayoutError: ``path`` does not exist, or is a folder without video files.
    """
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise LayoutError(f"{path}: no such file or folder")
    videos = sorted(child for child in path.iterdir() if child.is_file() and is_video_file(child))
    if not videos:
        raise LayoutError(f"{path}: no video files ({_video_suffixes()})")
    return videos


def video_group_count(path: Path, factor: int = 2) -> int | None:
    """How many groups :func:`decode_video_groups` gives at ``factor``, from the container's frame
    count: an estimate, or None when the container does not say.

    Raises:
        LayoutError: the video cannot be probed.
    """
    from sepgan.media.reader import probe_video

    try:
        frames = probe_video(path).frame_count
    except VideoError as error:
        raise LayoutError(str(error)) from error
    return (frames - 1) // factor if frames else None


def decode_video_groups(
    path: Path, factor: int = 2
) -> Iterator[tuple[list[str], np.ndarray, np.ndarray, list[np.ndarray]]]:
    """Stream a video's groups at ``factor`` N: for k = 0, N, 2N, ..., (names, frame k, frame k + N,
    [frames k + 1 … k + N − 1]), the targets being the true frames at t = j/N, named
    ``frame<k+j>`` (6 digits). Frames are uint8 H×W×3 RGB; N + 1 decoded frames are kept in memory.
    At N = 2: the triplets (2k, 2k+2; 2k+1), one target each.

    Raises:
        ValueError: ``factor`` < 2.
        LayoutError: the video cannot be decoded.
    """
    from sepgan.media.reader import iter_frames

    if factor < 2:
        raise ValueError(f"factor must be at least 2, got {factor}")
    try:
        window: list[np.ndarray] = []
        for index, frame in enumerate(iter_frames(path)):
            window.append(frame)
            if len(window) == factor + 1:
                first = index - factor
                names = [f"frame{first + j:06d}" for j in range(1, factor)]
                yield names, window[0], window[-1], window[1:-1]
                window = [window[-1]]
    except VideoError as error:
        raise LayoutError(str(error)) from error
