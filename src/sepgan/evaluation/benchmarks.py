"""Benchmarks: the (frame0, frame1, target) samples of a dataset on disk, as evaluation scores them.

Every benchmark yields :class:`Sample` objects; ``sample.load()`` returns the two
inputs and the ground-truth middle frame as H×W×3 RGB uint8 arrays (metrics
compare uint8, see :mod:`sepgan.metrics`). Image decoding goes through
:mod:`sepgan.media.frames`. A video or frame folder opened at a ``factor`` N
other than 2 yields groups instead: ``sample.load_group()`` returns the inputs
(frames k and k + N) and the N − 1 true frames between them, at t = j/N
(``sample.times``); the other layouts hold triplets only and refuse N ≠ 2.

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
  triplets (0, 2; 1), (2, 4; 3), … At factor N every Nth frame is kept and the N − 1
  between each kept pair are the targets: groups (0, N; 1 … N − 1), (N, 2N; …), … that do
  not overlap. A video is decoded in one streaming pass
  (:func:`sepgan.datasets.decode_video_groups`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from sepgan.datasets import (
    BENCHMARK_NAMES,
    EVALUATION_NAMES,
    LAYOUTS,
    LayoutError,
    TripletPaths,
    atd12k_triplets,
    decode_video_groups,
    detect_layout,
    frame_sequences,
    middlebury_triplets,
    sequence_groups,
    snufilm_triplets,
    ucf101_triplets,
    video_group_count,
    vimeo_triplets,
    vimeo_variant,
)
from sepgan.evaluation.choices import SNU_SPLITS
from sepgan.media.frames import load_image_uint8
from sepgan.options import check_factor

__all__ = ["MIDDLE", "Benchmark", "LayoutError", "Sample", "factor_times", "open_benchmark"]

Triplet = tuple[np.ndarray, np.ndarray, np.ndarray]
Group = tuple[np.ndarray, np.ndarray, list[np.ndarray]]
MIDDLE = (Fraction(1, 2),)  # the times of a triplet


def factor_times(factor: int) -> tuple[Fraction, ...]:
    """The times a ×``factor`` evaluation rebuilds between two kept frames: t = 1/N, 2/N, …, (N − 1)/N."""
    return tuple(Fraction(j, factor) for j in range(1, factor))


@dataclass(frozen=True)
class Sample:
    """Two inputs and the true frames between them, at ``times`` (t = ½ alone for a triplet).

    ``loader`` returns frame0, frame1, then one target per time, each H×W×3 uint8.
    ``name`` names the sample (a triplet's target); ``target_names`` name the targets,
    in time order (default: ``(name,)``). ``context`` (videos and frame folders) returns
    the kept frames before frame0 and after frame1 (frames k − N and k + 2N; None
    past an end), which a method that reads motion through four frames may use
    (:meth:`sepgan.evaluation.methods.Method.at_times_in_video`); the other layouts have none.
    """

    name: str
    loader: Callable[[], tuple[np.ndarray, ...]]
    times: tuple[Fraction, ...] = MIDDLE
    target_names: tuple[str, ...] = ()
    # Videos and frame folders: the kept frames just before frame0 and after frame1 (None at an end).
    context: Callable[[], tuple[np.ndarray | None, np.ndarray | None]] | None = None

    def __post_init__(self) -> None:
        if not self.target_names:
            object.__setattr__(self, "target_names", (self.name,))  # frozen: set once, here
        if len(self.target_names) != len(self.times):
            raise ValueError(
                f"{self.name}: {len(self.target_names)} target names for {len(self.times)} times"
            )

    def load_group(self) -> Group:
        """(frame0, frame1, targets): the inputs and one target per time, each H×W×3 uint8.

        Raises:
            LayoutError: the frames differ in size, or the loader gave the wrong number of targets.
        """
        frame0, frame1, *targets = self.loader()
        if len(targets) != len(self.times):
            raise LayoutError(f"{self.name}: {len(targets)} targets for {len(self.times)} times")
        if any(frame.shape != frame0.shape for frame in (frame1, *targets)):
            shapes = ", ".join(str(frame.shape) for frame in (frame0, frame1, *targets))
            raise LayoutError(f"{self.name}: frames differ in size ({shapes})")
        return frame0, frame1, targets

    def load(self) -> Triplet:
        """(frame0, frame1, target) of a triplet (a sample at t = ½ alone).

        Raises:
            ValueError: the sample holds more than one target (use :meth:`load_group`).
            LayoutError: the frames differ in size.
        """
        if len(self.times) != 1:
            raise ValueError(f"{self.name} holds {len(self.times)} targets; use load_group")
        frame0, frame1, (target,) = self.load_group()
        return frame0, frame1, target


@dataclass(frozen=True)
class Benchmark:
    """A named, sized stream of samples. ``len`` may be an estimate for videos (from the container).

    ``factor``: N of a video or frame folder opened ×N (every Nth frame kept, the N − 1 between
    scored); 2 for every triplet layout. ``layout`` is what the report records (a
    :data:`~sepgan.datasets.BENCHMARK_NAMES` entry); ``read_as`` the layout name it was read
    with, given or detected (``frame-folders`` is recorded as ``video``).
    """

    name: str
    layout: str
    root: Path
    length: int | None
    samples: Callable[[], Iterator[Sample]]
    factor: int = 2
    read_as: str = ""

    @property
    def layout_read(self) -> str:
        """The layout it was read with, and what it is scored as where that differs, for the log."""
        if not self.read_as or self.read_as == self.layout:
            return f"{self.layout} layout"
        return f"{self.read_as} layout (scored as {self.layout})"

    def __iter__(self) -> Iterator[Sample]:
        return self.samples()

    @property
    def times(self) -> tuple[Fraction, ...]:
        """The times each sample is scored at (:func:`factor_times`)."""
        return factor_times(self.factor)


def _image_sample(triplet: TripletPaths) -> Sample:
    frame0, frame1, target = triplet.paths
    return Sample(
        triplet.name, lambda: (load_image_uint8(frame0), load_image_uint8(frame1), load_image_uint8(target))
    )


def _group_sample(
    group: tuple[TripletPaths, ...], factor: int, before: Path | None = None, after: Path | None = None
) -> Sample:
    """A group of triplets sharing their inputs as one sample (a plain triplet when it holds one);
    ``before`` and ``after``: the kept frames around it, a frame folder's context."""
    frame0, frame1 = group[0].frame0, group[0].frame1
    names = tuple(triplet.name for triplet in group)

    def context() -> tuple[np.ndarray | None, np.ndarray | None]:
        return tuple(None if path is None else load_image_uint8(path) for path in (before, after))

    return Sample(
        _group_name(names),
        lambda: (
            load_image_uint8(frame0),
            load_image_uint8(frame1),
            *(load_image_uint8(triplet.target) for triplet in group),
        ),
        factor_times(factor) if len(group) > 1 else MIDDLE,
        names,
        context if before is not None or after is not None else None,
    )


def _group_name(target_names: tuple[str, ...]) -> str:
    """A group's name: its first and last target's, e.g. ``frame000001…frame000003``."""
    return target_names[0] if len(target_names) == 1 else f"{target_names[0]}…{target_names[-1]}"


def _video_samples(path: Path, factor: int) -> Iterator[Sample]:
    """The groups of a video, each with its context (the kept frames around it): one group is
    decoded ahead, to know the frame after."""
    previous: np.ndarray | None = None  # frame0 of the group before
    waiting = None
    for group in decode_video_groups(path, factor):
        if waiting is not None:
            yield _video_sample(waiting, factor, previous, group[2])
            previous = waiting[1]
        waiting = group
    if waiting is not None:
        yield _video_sample(waiting, factor, previous, None)


def _video_sample(
    group: tuple[list[str], np.ndarray, np.ndarray, list[np.ndarray]],
    factor: int,
    before: np.ndarray | None,
    after: np.ndarray | None,
) -> Sample:
    names, frame0, frame1, targets = group
    return Sample(
        _group_name(tuple(names)),
        lambda frames=(frame0, frame1, *targets): frames,
        factor_times(factor),
        tuple(names),
        lambda context=(before, after): context,
    )


def _triplets(root: Path, benchmark: str, snu_split: str) -> list[TripletPaths]:
    """The triplets of the folder (or SNU-FILM list) ``root`` read as ``benchmark`` (not ``video``)."""
    if benchmark == "middlebury":
        return middlebury_triplets(root)
    if benchmark == "ucf101":
        return ucf101_triplets(root)
    if benchmark == "vimeo90k":
        return vimeo_triplets(root, vimeo_variant(root) or "vimeo-triplet", split="test", gaps=(1,))
    if benchmark == "atd12k":
        return atd12k_triplets(root)
    return snufilm_triplets(root, snu_split)


def _samples(root: Path, benchmark: str, snu_split: str, factor: int) -> list[Sample]:
    """The samples of the folder (or SNU-FILM list) ``root`` read as ``benchmark``."""
    if benchmark != "video":
        return [_image_sample(triplet) for triplet in _triplets(root, benchmark, snu_split)]
    # one folder of frames, every Nth kept (every other one dropped at N = 2)
    samples = []
    for frames in frame_sequences(root, subfolders=False):
        groups = sequence_groups(frames, root, factor)
        for index, group in enumerate(groups):
            before = groups[index - 1][0].frame0 if index > 0 else None
            after = groups[index + 1][0].frame1 if index + 1 < len(groups) else None
            samples.append(_group_sample(group, factor, before, after))
    return samples


def open_benchmark(
    root: str | Path,
    layout: str = "auto",
    snu_split: str = "hard",
    name: str | None = None,
    factor: int = 2,
) -> Benchmark:
    """Open ``root`` as a benchmark of ``layout`` (``"auto"`` detects it; any name of
    :data:`~sepgan.datasets.EVALUATION_NAMES`).

    ``factor`` N: a video or frame folder keeps every Nth frame and is scored on the N − 1
    between each kept pair (groups, module docstring); 2 is drop-a-frame, the only factor the
    triplet layouts have.

    Raises:
        OptionError: ``factor`` is not a whole number from 2 (:func:`sepgan.options.check_factor`).
        LayoutError: ``root`` does not exist, matches no layout evaluation reads, holds an
            incomplete or ambiguous clip, or holds no samples; or ``factor`` is not 2 for a
            layout of triplets (the message names the parameter ``factor``).
    """
    check_factor(factor)
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
    if factor != 2 and benchmark != "video":
        raise LayoutError(
            "{factor} {value}: {root} is a {benchmark} benchmark, which holds triplets (t = 1/2) only; "
            "values other than 2 need a video or a frame folder (layouts video, frame-folders)",
            parameter="factor",
            value=factor,
            root=root,
            benchmark=benchmark,
        )
    name = name or (
        f"{root.stem}-{snu_split}" if benchmark == "snufilm" else root.stem if root.is_file() else root.name
    )

    if benchmark == "video" and root.is_file():
        length = video_group_count(root, factor)
        return Benchmark(
            name, benchmark, root, length, lambda: _video_samples(root, factor), factor, read_as=layout
        )
    if not root.is_dir() and benchmark != "snufilm":
        raise LayoutError(f"{root}: layout {benchmark} needs a folder")
    samples = _samples(root, benchmark, snu_split, factor)
    if not samples:
        if benchmark == "video" and factor != 2 and frame_sequences(root, subfolders=False):
            raise LayoutError(
                f"{root}: too few frames for a factor of {factor}, which keeps frames 0 and {factor} "
                f"and scores those between ({factor + 1} frames at least)"
            )
        if detected and benchmark == "video":  # the catch-all: a folder of too few frames, or of videos
            raise LayoutError(
                f"{root}: matches no benchmark layout ({', '.join(BENCHMARK_NAMES)}); "
                "see `sepgan evaluate --help`"
            )
        raise LayoutError(f"{root}: no {benchmark} samples found")
    return Benchmark(name, benchmark, root, len(samples), lambda: iter(samples), factor, read_as=layout)
