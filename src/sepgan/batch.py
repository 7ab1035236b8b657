"""Batches: several videos and frame folders, or a folder of videos, one auto-named output each.

What is a batch (:func:`is_batch`, :func:`plan_batch`):

* **Two image files** are an image pair (one middle frame), as always: not a batch.
* **Several inputs** that are videos or frame folders are a batch, and so is one
  **folder of videos**. A folder is a frame folder when it holds image files
  (:data:`~sepgan.media.formats.IMAGE_SUFFIXES`), a folder of videos when it holds
  video files (:data:`~sepgan.media.formats.VIDEO_SUFFIXES`) and no image file; one
  that holds both is refused, since which was meant cannot be told (cover pictures
  beside clips would otherwise be interpolated as frames). Only the folder's own
  files count: hidden files and subfolders are not read. Its videos run in natural
  name order (``clip2`` before ``clip10``).
* **No output named**: each input's output is auto-named beside it, so one video
  or frame folder without ``output`` is a batch of one.
* Images mixed with videos or folders, and more than two images, are refused.

Where outputs go: into the ``output`` folder (created if missing; its parent must
exist), or without one beside each input; a folder of videos without one writes
into a folder beside it named like an output (``clips/`` → ``clips_2x/``), never
into itself. The names are :func:`output_name`'s. An output that exists already is
complete, since outputs are written under a temporary name and renamed only when
complete (:mod:`sepgan.atomic`), so its input is skipped: delete the output, or
pass ``overwrite`` (``-y``), to make it again. Two inputs that would write the same output are refused.

Running (:func:`run_batch`): each input is one call of
:func:`sepgan.jobs.run_interpolate` with that input and its output, so every option
reaches it and every check a single run makes is made. The model is loaded once,
when the first input that passes its checks needs it, and reused. One progress bar
spans the batch: its total is the sum of the output frames each input's probe
promises. An input that fails with a user error (:data:`sepgan.errors.REPORTED_ERRORS`)
is reported and the batch goes on; a failure to load the model stops it (every
input would fail the same way), and so does Ctrl-C. A batch of one behaves as a
single run: its error is raised.

Argument checks (the options, the inputs' kinds, the output folder, clashing
names) are made by :func:`plan_batch` before any input is decoded or the model loads.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from sepgan.atomic import output_exists
from sepgan.errors import REPORTED_ERRORS, InterpolationError, user_message
from sepgan.jobs import InterpolateOptions, JobResult, _check_output, run_interpolate
from sepgan.media.formats import IMAGE_SUFFIXES, VIDEO_SUFFIXES
from sepgan.media.fps import decimal_fps
from sepgan.media.frames import list_frames, natural_sort_key
from sepgan.media.reader import probe_video
from sepgan.options import DEFAULT_FACTOR

if TYPE_CHECKING:
    from sepgan.interpolator import Interpolator

__all__ = [
    "KEPT_CONTAINERS",
    "BatchJob",
    "BatchOutcome",
    "BatchResult",
    "is_batch",
    "output_name",
    "plan_batch",
    "run_batch",
]

# Input containers an auto-named output keeps (they hold H.264 and keep what sepgan copies);
# any other input (.avi, .webm, .ts, ...) gets .mp4.
KEPT_CONTAINERS = (".mp4", ".mov", ".mkv")


def output_name(source: Path, options: InterpolateOptions, *, folder: bool) -> str:
    """The name of the output sepgan makes from ``source`` when none is given: NAME_TAG[.SUFFIX].

    NAME is the input's name without its suffix (a folder's whole name). TAG says what
    is made, the suffix what holds it (``folder``: ``source`` is a folder, of frames or
    of videos, whose output is a folder too):

    ============================== ===================== ==========================
    options                        TAG                   example
    ============================== ===================== ==========================
    none, or ``factor`` N          ``Nx``                ``clip_2x.mp4``, ``clip_3x.mp4``
    ``fps`` F (to 3 decimals)      ``Ffps``              ``clip_60fps.mp4``, ``clip_59.94fps.mp4``
    ``slowmo`` N                   ``Nx_slowmo``         ``clip_4x_slowmo.mp4``
    ============================== ===================== ==========================

    ========================================== ==============================
    input and codec                            suffix
    ========================================== ==============================
    a video in .mp4, .mov or .mkv              the input's (``.MOV`` stays)
    any other video (.avi, .webm, .ts, ...)    ``.mp4``
    ``codec`` ffv1                             ``.mkv``
    ``codec`` png, a frame folder              none: a folder of PNG frames
    ========================================== ==============================
    """
    if source.name in ("", ".", ".."):  # "." names the current folder: use its real name
        source = source.resolve()
    if options.slowmo is not None:
        tag = f"{options.slowmo}x_slowmo"
    elif options.fps is not None:
        tag = f"{decimal_fps(Fraction(options.fps))}fps"
    else:
        tag = f"{DEFAULT_FACTOR if options.factor is None else options.factor}x"
    if folder:
        return f"{source.name}_{tag}"
    if options.codec == "png":
        return f"{source.stem}_{tag}"
    if options.codec == "ffv1":
        return f"{source.stem}_{tag}.mkv"
    suffix = source.suffix if source.suffix.lower() in KEPT_CONTAINERS else ".mp4"
    return f"{source.stem}_{tag}{suffix}"


def _is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.is_dir()


def _video_files(folder: Path) -> list[Path]:
    """The video files of ``folder`` by suffix (hidden ones skipped), in natural name order."""
    return sorted(
        (
            path
            for path in folder.iterdir()
            if path.suffix.lower() in VIDEO_SUFFIXES and not path.name.startswith(".") and path.is_file()
        ),
        key=natural_sort_key,
    )


def _folder_kind(folder: Path) -> str:
    """ "frames", "videos", "both" or "empty": what ``folder``'s own files are."""
    has_frames = bool(list_frames(folder))
    has_videos = bool(_video_files(folder))
    if has_frames and has_videos:
        return "both"
    return "frames" if has_frames else "videos" if has_videos else "empty"


def is_batch(inputs: Sequence[Path]) -> bool:
    """Whether ``inputs``, with an output named, are a batch rather than one job.

    True for more than one input that is not an image pair, and for a folder of
    videos (or of videos and images, which :func:`plan_batch` refuses); see the module
    docstring. Without an output, every input list is run as a batch.
    """
    inputs = [Path(path) for path in inputs]
    if len(inputs) == 2 and all(_is_image_file(path) for path in inputs):
        return False
    if len(inputs) > 1:
        return True
    return len(inputs) == 1 and inputs[0].is_dir() and _folder_kind(inputs[0]) in ("videos", "both")


@dataclass(frozen=True)
class BatchJob:
    """One input of a batch: its output, whether that exists (skip), the output frames it promises."""

    source: Path
    output: Path
    done: bool  # the output exists, complete: skipped
    expected_frames: int | None  # from a probe; None when the container does not say; 0 if unreadable


@dataclass
class BatchOutcome:
    """What became of one input: ``result`` when written, ``error`` when it failed, neither when skipped."""

    source: Path
    output: Path
    result: JobResult | None = None
    error: BaseException | None = None

    @property
    def skipped(self) -> bool:
        return self.result is None and self.error is None

    def summary(self) -> str:
        """The input's line: the job's summary, the skip, or (parameters by name) the error."""
        if self.result is not None:
            return self.result.summary()
        if self.error is not None:
            return f"{self.source} failed: {user_message(self.error)}"
        return f"skipped {self.source}: {self.output} exists (-y replaces it)"


@dataclass
class BatchResult:
    """The outcomes of a batch, in input order, and its wall time in seconds."""

    outcomes: list[BatchOutcome]
    seconds: float

    @property
    def failed(self) -> list[BatchOutcome]:
        return [outcome for outcome in self.outcomes if outcome.error is not None]

    def summary(self) -> str:
        written = sum(outcome.result is not None for outcome in self.outcomes)
        skipped = sum(outcome.skipped for outcome in self.outcomes)
        return (
            f"{len(self.outcomes)} inputs: {written} written, {skipped} skipped (output exists), "
            f"{len(self.failed)} failed; {self.seconds:.1f} s"
        )

    def raise_for_failures(self) -> None:
        """Raise :class:`InterpolationError` naming the inputs that failed, if any did."""
        failed = self.failed
        if not failed:
            return
        names = ", ".join(str(outcome.source) for outcome in failed[:3]) + (
            ", ..." if len(failed) > 3 else ""
        )
        raise InterpolationError(f"{len(failed)} of {len(self.outcomes)} inputs failed: {names}")


def _expected_frames(source: Path, options: InterpolateOptions) -> int | None:
    """Output frames ``source`` will give (as :mod:`sepgan.jobs` counts them); 0 if it cannot be read,
    as it then fails at its turn, with its own error."""
    ratio = Fraction(options.slowmo or (DEFAULT_FACTOR if options.factor is None else options.factor))
    try:
        if source.is_dir():
            return 0 if options.fps is not None else max(0, (len(list_frames(source)) - 1) * int(ratio) + 1)
        info = probe_video(source)
    except REPORTED_ERRORS:
        return 0
    if info.frame_count is None:
        return None
    if options.fps is not None:
        ratio = Fraction(options.fps) / (info.nominal_fps or info.fps)
    return math.ceil(info.frame_count * ratio)


def plan_batch(  # noqa: C901  a linear chain of checks, each with its own error message
    inputs: Sequence[Path], output: Path | None, options: InterpolateOptions
) -> list[BatchJob]:
    """The jobs of a batch (module docstring): each input's source and output, in order.

    Raises :class:`InterpolationError` for an image pair without ``output``, images
    mixed with videos or folders, more than two images, a folder of both frames and
    videos, an ``output`` that is a file or has a file's suffix, an output inside an
    input folder or in a folder that does not exist, ``montage`` with more than one
    input, and two inputs that would write the same output. Reads folder listings
    and probes containers (for the progress bar's total); decodes nothing.
    """
    inputs = [Path(path) for path in inputs]
    output = None if output is None else Path(output)
    images = [path for path in inputs if _is_image_file(path)]
    others = [path for path in inputs if not _is_image_file(path)]
    if images and others:
        raise InterpolationError(
            f"{images[0]} is an image and {others[0]} is not: give two images (an image pair), "
            "or videos and frame folders (a batch)"
        )
    if len(images) > 2:
        raise InterpolationError(
            f"{len(images)} inputs are images: an image pair is two (frame0 frame1); "
            "put more frames in a folder and give the folder"
        )
    if len(images) == 2:  # with an output named, run_interpolate runs a pair itself
        raise InterpolationError(
            "an image pair gives one middle frame: name it with {output}, e.g. {output} mid.png",
            parameter="output",
        )
    if output is not None:
        if output.exists() and not output.is_dir():
            raise InterpolationError(
                "{output} {path} is a file: several inputs need a folder to write into",
                parameter="output",
                path=output,
            )
        if not output.exists() and output.suffix.lower() in VIDEO_SUFFIXES | set(IMAGE_SUFFIXES):
            raise InterpolationError(
                "{output} {path}: several inputs need a folder to write into, not a {suffix} file",
                parameter="output",
                path=output,
                suffix=output.suffix,
            )
        _check_output(inputs, output)  # not an input, not inside an input folder; its parent writable

    sources: list[tuple[Path, Path]] = []  # (input, the folder its output goes into)
    new_folders: set[Path] = set()  # the output folders of folders of videos, made beside them
    for path in inputs:
        kind = _folder_kind(path) if path.is_dir() else "file"
        if kind == "both":
            raise InterpolationError(
                f"{path} holds both images and videos: a frame folder or a folder of videos? "
                "Move one kind out, or give the videos themselves as inputs"
            )
        if kind == "videos":
            into = output
            if into is None:
                into = path.parent / output_name(path, options, folder=True)
                new_folders.add(into)
            sources += [(video, into) for video in _video_files(path)]
        else:
            sources.append((path, output if output is not None else path.parent))
    if options.montage is not None and len(sources) > 1:
        raise InterpolationError(
            "{montage} names one video: give it with one input, not with {count}",
            parameter="montage",
            count=len(sources),
        )
    for folder in new_folders:
        if not folder.exists():  # its parent, the input's, must take a new folder
            _check_output(inputs, folder)

    jobs: list[BatchJob] = []
    writers: dict[Path, Path] = {}  # resolved output → the input that writes it
    for source, into in sources:
        target = into / output_name(source, options, folder=source.is_dir())
        key = target.resolve()
        if key in writers:
            raise InterpolationError(
                f"{writers[key]} and {source} would both be written to {target}: "
                "rename one, or give them separately"
            )
        writers[key] = source
        done = output_exists(target) and not options.overwrite  # written whole (sepgan.atomic)
        jobs.append(BatchJob(source, target, done, None if done else _expected_frames(source, options)))
    return jobs


class _LoadOnce:
    """``make_interpolator``, called at the first input that needs the model and reused after."""

    def __init__(self, make_interpolator: Callable[[], Interpolator]) -> None:
        self._make = make_interpolator
        self._interpolator: Interpolator | None = None
        self.failed = False

    def __call__(self) -> Interpolator:
        if self._interpolator is None:
            try:
                self._interpolator = self._make()
            except BaseException:
                self.failed = True
                raise
        return self._interpolator


def run_batch(
    inputs: Sequence[Path],
    output: Path | None,
    options: InterpolateOptions,
    make_interpolator: Callable[[], Interpolator],
    *,
    report: Callable[[BatchOutcome], object] | None = None,
) -> BatchResult:
    """Run a batch (module docstring): :func:`plan_batch`, then each input in turn with one model.

    ``output`` is the folder for the outputs, or ``None`` for outputs beside their
    inputs. ``report`` is called with each input's :class:`BatchOutcome` as soon as it
    ends, while the progress bar is cleared, so what it prints stays above the bar.
    Raises what :func:`plan_batch` raises, the model's loading error, and, for a
    batch of one input, that input's error; ``KeyboardInterrupt`` passes through.
    Other inputs' user errors are in the result (:meth:`BatchResult.raise_for_failures`).
    """
    started = time.perf_counter()
    jobs = plan_batch(inputs, output, options)
    model = _LoadOnce(make_interpolator)
    expected = [job.expected_frames for job in jobs if not job.done]
    outcomes = []
    # disable=None: tqdm hides itself when stderr is not a terminal (pipes, CI, tests), as jobs.py's bar.
    with tqdm(
        total=None if None in expected else sum(expected),
        unit="frame",
        desc="interpolate",
        disable=None if options.progress else True,
        dynamic_ncols=True,
    ) as bar:
        for job in jobs:
            outcome = _run_job(job, options, model, bar, alone=len(jobs) == 1)
            outcomes.append(outcome)
            if report is not None:
                with tqdm.external_write_mode():  # clears the bar while the lines are written
                    report(outcome)
    return BatchResult(outcomes, time.perf_counter() - started)


def _run_job(
    job: BatchJob, options: InterpolateOptions, model: _LoadOnce, bar: tqdm, *, alone: bool
) -> BatchOutcome:
    if job.done:
        return BatchOutcome(job.source, job.output)
    bar.set_postfix_str(job.source.name, refresh=False)
    made = 0

    def advance(count: int) -> None:
        nonlocal made
        made += count
        bar.update(count)

    try:
        job.output.parent.mkdir(exist_ok=True)  # the batch's folder; plan_batch checked its parent
        result = run_interpolate([job.source], job.output, replace(options, advance_progress=advance), model)
    except REPORTED_ERRORS as error:
        if alone or model.failed:  # one input: as a single run; the model: every input would fail
            raise
        return BatchOutcome(job.source, job.output, error=error)
    finally:
        if bar.total is not None and job.expected_frames is not None:
            bar.total += made - job.expected_frames  # what it made, not what its probe promised
            bar.refresh()
    assert isinstance(result, JobResult)  # one input with its output is never a batch
    return BatchOutcome(job.source, job.output, result=result)
