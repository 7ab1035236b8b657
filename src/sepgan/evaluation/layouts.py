"""Benchmark layouts: find the (frame0, frame1, target) triplets of a benchmark on disk.

Every layout yields :class:`Sample` objects; ``sample.load()`` returns the two
inputs and the ground-truth middle frame as H×W×3 RGB uint8 arrays (metrics
compare uint8, see :mod:`sepgan.metrics`). Image decoding goes
through :mod:`sepgan.media.frames`, video decoding through :mod:`sepgan.media`.

Layouts (``--layout`` names, those of :mod:`sepgan.layouts`), each auto-detected by
:func:`detect_layout`; ``vimeo-triplet`` and ``vimeo-septuplet`` are read as ``vimeo90k``,
``frame-folders`` as ``video``:

* ``middlebury``: ``<Name>/frame10.png, frame11.png, frame10i11.png`` (the
  Middlebury "other" set and the DAVIS triplets in ``shared/data/eval/davis``).
  The official split into ``other-data/<Name>/`` and ``other-gt-interp/<Name>/``
  is accepted too.
* ``ucf101``: DVF's UCF101 test set, ``<id>/frame_00.png, frame_01_gt.png, frame_02.png``.
* ``vimeo90k``: ``sequences/<a>/<b>/im1.png …`` with ``tri_testlist.txt``
  (inputs im1, im3; target im2). With ``sep_testlist.txt`` or no list at all,
  every folder of ``im1..imN`` gives the N − 2 overlapping triplets
  (im k, im k+2; target im k+1).
* ``atd12k``: ATD-12K test, ``<clip>/frame1.*, frame2.*, frame3.*`` (target frame2).
* ``snufilm``: SNU-FILM list files ``test-<split>.txt`` (in the root or in
  ``eval_modes/``), three paths a line, the middle one the target. Paths in the
  list are resolved against the root, dropping leading components as needed
  (the lists say ``data/SNU-FILM/test/...``).
* ``video``: a video file, or a folder of numbered frames: every other frame is
  dropped, and each dropped frame is the target for its two neighbours, i.e.
  triplets (0, 2; 1), (2, 4; 3), … A video is decoded in one streaming pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sepgan.errors import UserError
from sepgan.evaluation.choices import LAYOUTS, SNU_SPLITS
from sepgan.layouts import LAYOUTS as ALL_LAYOUTS
from sepgan.layouts import evaluation_layout, vimeo_variant
from sepgan.media.formats import IMAGE_SUFFIXES, VIDEO_SUFFIXES, VideoError
from sepgan.media.frames import list_frames, load_image_uint8
from sepgan.media.reader import VideoReader, probe_video

__all__ = [
    "IMAGE_SUFFIXES",
    "LAYOUTS",
    "SNU_SPLITS",
    "Benchmark",
    "LayoutError",
    "Sample",
    "detect_layout",
    "open_benchmark",
]

Triplet = tuple[np.ndarray, np.ndarray, np.ndarray]


class LayoutError(UserError, ValueError):
    """A benchmark path that does not exist, matches no layout, or holds no samples."""


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


def _image_triplet(frame0: Path, frame1: Path, target: Path) -> Callable[[], Triplet]:
    return lambda: (load_image_uint8(frame0), load_image_uint8(frame1), load_image_uint8(target))


def _find_image(folder: Path, stem: str) -> Path | None:
    for suffix in IMAGE_SUFFIXES:
        candidate = folder / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def _subfolders(root: Path) -> list[Path]:
    return sorted(path for path in root.iterdir() if path.is_dir() and not path.name.startswith("."))


# --- detection --------------------------------------------------------------------------------


def _snufilm_list(root: Path, split: str) -> Path | None:
    if root.is_file() and root.suffix == ".txt":
        return root
    for candidate in (root / f"test-{split}.txt", root / "eval_modes" / f"test-{split}.txt"):
        if candidate.is_file():
            return candidate
    return None


def _looks_like(root: Path, layout: str, snu_split: str) -> bool:
    if layout == "snufilm":
        return _snufilm_list(root, snu_split) is not None
    if layout == "video":
        if root.is_file():
            return root.suffix.lower() in VIDEO_SUFFIXES
        return len(_numbered_frames(root)) >= 3
    if not root.is_dir():
        return False
    if layout == "vimeo90k":
        return vimeo_variant(root) is not None
    if layout == "middlebury":
        if (root / "other-data").is_dir() and (root / "other-gt-interp").is_dir():
            return True
        return any((folder / "frame10i11.png").is_file() for folder in [root, *_subfolders(root)])
    if layout == "ucf101":
        return any((folder / "frame_01_gt.png").is_file() for folder in [root, *_subfolders(root)])
    if layout == "atd12k":
        return any(
            _find_image(folder, "frame1") and _find_image(folder, "frame3")
            for folder in [root, *_subfolders(root)]
        )
    raise LayoutError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")


def detect_layout(root: Path, snu_split: str = "hard") -> str:
    """The layout of ``root``.

    The first match in the order snufilm, vimeo90k, middlebury, ucf101, atd12k, video.
    """
    root = Path(root)
    if not root.exists():
        raise LayoutError(f"{root}: no such file or folder")
    for layout in ("snufilm", "vimeo90k", "middlebury", "ucf101", "atd12k", "video"):
        if _looks_like(root, layout, snu_split):
            return layout
    raise LayoutError(
        f"{root}: matches no benchmark layout ({', '.join(LAYOUTS)}); see `sepgan evaluate --help`"
    )


# --- the layouts ------------------------------------------------------------------------------


def _middlebury(root: Path) -> list[Sample]:
    if (root / "other-data").is_dir() and (root / "other-gt-interp").is_dir():
        pairs = [
            (folder, root / "other-gt-interp" / folder.name) for folder in _subfolders(root / "other-data")
        ]
    else:
        pairs = [(folder, folder) for folder in [root, *_subfolders(root)]]
    return [
        Sample(
            inputs.name,
            _image_triplet(inputs / "frame10.png", inputs / "frame11.png", truth / "frame10i11.png"),
        )
        for inputs, truth in pairs
        if (inputs / "frame10.png").is_file() and (truth / "frame10i11.png").is_file()
    ]


def _ucf101(root: Path) -> list[Sample]:
    return [
        Sample(
            folder.name,
            _image_triplet(folder / "frame_00.png", folder / "frame_02.png", folder / "frame_01_gt.png"),
        )
        for folder in [root, *_subfolders(root)]
        if (folder / "frame_01_gt.png").is_file()
    ]


def _atd12k(root: Path) -> list[Sample]:
    samples = []
    for folder in [root, *_subfolders(root)]:
        frames = [_find_image(folder, f"frame{index}") for index in (1, 2, 3)]
        if all(frames):
            frame1, frame2, frame3 = frames
            samples.append(Sample(folder.name, _image_triplet(frame1, frame3, frame2)))  # type: ignore[arg-type]
    return samples


def _vimeo90k(root: Path) -> list[Sample]:
    sequences = root / "sequences"
    triplet_list = root / "tri_testlist.txt"
    if triplet_list.is_file():
        names = [line.strip() for line in triplet_list.read_text().splitlines() if line.strip()]
        return [
            Sample(name, _image_triplet(*(sequences / name / f"im{index}.png" for index in (1, 3, 2))))
            for name in names
        ]
    septuplet_list = root / "sep_testlist.txt"
    if septuplet_list.is_file():
        folders = [
            sequences / line.strip() for line in septuplet_list.read_text().splitlines() if line.strip()
        ]
    else:
        folders = sorted(path.parent for path in sequences.glob("*/*/im1.png"))
    samples = []
    for folder in folders:
        count = 1
        while (folder / f"im{count + 1}.png").is_file():
            count += 1
        name = f"{folder.parent.name}/{folder.name}"
        for first in range(1, count - 1):
            paths = (folder / f"im{first}.png", folder / f"im{first + 2}.png", folder / f"im{first + 1}.png")
            samples.append(Sample(f"{name}/im{first + 1}", _image_triplet(*paths)))
    return samples


def _snufilm(root: Path, split: str) -> list[Sample]:
    list_file = _snufilm_list(root, split)
    if list_file is None:
        raise LayoutError(f"{root}: no SNU-FILM list test-{split}.txt (looked in the folder and eval_modes/)")
    base = root if root.is_dir() else list_file.parent
    samples = []
    for line_number, line in enumerate(list_file.read_text().splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 3:
            raise LayoutError(f"{list_file}:{line_number}: expected three paths, got {len(parts)}")
        frame0, target, frame1 = (_resolve_listed(base, part, list_file, line_number) for part in parts)
        name = f"{target.parent.name}/{target.stem}"
        samples.append(Sample(name, _image_triplet(frame0, frame1, target)))
    return samples


def _resolve_listed(base: Path, listed: str, list_file: Path, line_number: int) -> Path:
    """Resolve a path from a list file under ``base``, dropping leading components until it exists."""
    parts = Path(listed).parts
    for start in range(len(parts)):
        for anchor in (base, base.parent):
            candidate = anchor.joinpath(*parts[start:])
            if candidate.is_file():
                return candidate
    raise LayoutError(f"{list_file}:{line_number}: {listed} not found under {base}")


def _numbered_frames(folder: Path) -> list[Path]:
    return list_frames(folder) if folder.is_dir() else []


def _frame_folder(folder: Path) -> list[Sample]:
    frames = _numbered_frames(folder)
    return [
        Sample(frames[index + 1].stem, _image_triplet(frames[index], frames[index + 2], frames[index + 1]))
        for index in range(0, len(frames) - 2, 2)
    ]


def _video_length(path: Path) -> int | None:
    try:
        frames = probe_video(path).frame_count
    except VideoError as error:
        raise LayoutError(str(error)) from error
    return (frames - 1) // 2 if frames else None


def _video_samples(path: Path) -> Iterator[Sample]:
    """Stream triplets (2k, 2k+2; 2k+1) from a video; keeps three decoded frames in memory."""
    try:
        with VideoReader(path) as reader:
            window: list[np.ndarray] = []
            for index, frame in enumerate(reader.frames()):
                window.append(frame)
                if len(window) == 3:
                    frame0, target, frame1 = window
                    yield Sample(f"frame{index - 1:06d}", lambda t=(frame0, frame1, target): t)
                    window = [frame1]
    except VideoError as error:
        raise LayoutError(str(error)) from error


def open_benchmark(
    root: str | Path, layout: str = "auto", snu_split: str = "hard", name: str | None = None
) -> Benchmark:
    """Open ``root`` as a benchmark of ``layout`` (``"auto"`` detects it).

    Raises LayoutError if it holds nothing.
    """
    root = Path(root)
    if not root.exists():
        raise LayoutError(f"{root}: no such file or folder")
    if snu_split not in SNU_SPLITS:
        raise LayoutError(f"unknown SNU-FILM split {snu_split!r}; choose one of {', '.join(SNU_SPLITS)}")
    if layout == "auto":
        layout = detect_layout(root, snu_split)
    elif evaluation_layout(layout) in LAYOUTS:
        layout = evaluation_layout(layout)
    else:
        raise LayoutError(f"unknown layout {layout!r}; choose auto or one of {', '.join(ALL_LAYOUTS)}")
    name = name or (
        f"{root.stem}-{snu_split}" if layout == "snufilm" else root.stem if root.is_file() else root.name
    )

    if layout == "video" and root.is_file():
        length = _video_length(root)
        return Benchmark(name, layout, root, length, lambda: _video_samples(root))

    finders: dict[str, Callable[[], list[Sample]]] = {
        "middlebury": lambda: _middlebury(root),
        "ucf101": lambda: _ucf101(root),
        "vimeo90k": lambda: _vimeo90k(root),
        "atd12k": lambda: _atd12k(root),
        "snufilm": lambda: _snufilm(root, snu_split),
        "video": lambda: _frame_folder(root),
    }
    if not root.is_dir() and layout != "snufilm":
        raise LayoutError(f"{root}: layout {layout} needs a folder")
    samples = finders[layout]()
    if not samples:
        raise LayoutError(f"{root}: no {layout} samples found")
    return Benchmark(name, layout, root, len(samples), lambda: iter(samples))
