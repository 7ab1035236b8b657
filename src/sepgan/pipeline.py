"""The interpolate job: an image pair, a frame folder or a video in; more frames out.

Three inputs, one streaming core (:func:`retime`):

* **An image pair** ``A.png B.png`` gives the single middle frame.
* **A frame folder** (image files in natural name order) gives ×factor:
  ``factor · (N − 1) + 1`` frames, the first and last being the input's.
* **A video** gives ×factor or a target ``fps``. The output covers the same
  time span as the input, ``N / fps_in`` seconds: output frame k is at input
  position ``k · fps_in / fps_out``, and the positions past the last input
  frame (the last frame's own display time) repeat the last frame. So ×2
  yields ``2N`` frames, exactly the input's duration, and audio keeps its sync.

The core reads frames one at a time and keeps only the previous one, plus a
batch of pairs: it collects intervals until ``batch_size`` of them need the
network, so that every network call gets ``--batch`` pairs (static and cut
intervals ride along without counting; at most ``4 · batch_size`` intervals are
held). Each pair is classified first:

* a **scene cut** (:func:`sepgan.video.scene_score` above ``scene_threshold``):
  no blending across it; every in-between frame repeats the frame before the
  cut, so the cut stays at its original time;
* **static** (no pixel differs by more than ``static_tolerance`` levels):
  in-between frames repeat the frame without running the network;
* otherwise the wanted dyadic points are interpolated
  (:meth:`sepgan.interpolator.Interpolator.interpolate_dyadic`).

**Overlap.** ``reader → retime → writer`` run as three threads (``overlap=True``,
the default): a decode thread fills a bounded queue of input frames
(``2 · batch + 2``), the calling thread runs the network, and an encode thread
drains a bounded queue of output frames (``2 · batch · ⌈min(ratio, 8)⌉``), so
memory stays at a few batches of frames whatever the length. PyAV releases the
GIL while decoding and encoding and PyTorch while computing, so the stages run
at the same time; the output is the same frames in the same order as with
``overlap=False`` (only the interleaving of audio and video packets in the
container may differ). An exception in any thread is re-raised in the calling
thread, which stops and joins the others before the writer removes its
temporary output; signals (Ctrl-C, SIGTERM) arrive in the calling thread as
before. On a 2-core CPU the network takes seconds per frame and decode and
encode tens of milliseconds, so overlap saves little there (see
``benchmarks/bench_interpolate.py``); it is meant for fast inference (a GPU),
where decode and encode are a larger share of the time.

Failure leaves nothing behind: outputs are written under temporary names and
renamed only when complete, the input is never opened for writing, and all
argument and path checks run before the model is loaded.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from sepgan.errors import UserError
from sepgan.frames import from_uint8, load_image, load_image_uint8, save_image, to_uint8
from sepgan.interpolator import DEFAULT_MAX_DEPTH, DEFAULT_MAX_MEMORY_MB, Interpolator, Retiming
from sepgan.video import (
    DEFAULT_CRF,
    DEFAULT_SCENE_THRESHOLD,
    VIDEO_SUFFIXES,
    PngSequenceWriter,
    VideoReader,
    format_fps,
    open_writer,
    output_codec,
    scene_score,
    thumbnail,
)

__all__ = [
    "InterpolateOptions",
    "InterpolationError",
    "JobResult",
    "RetimeStats",
    "interpolate_folder",
    "interpolate_pair",
    "interpolate_video",
    "list_frames",
    "load_interpolator",
    "parse_tile",
    "retime",
    "run_interpolate",
]


class InterpolationError(UserError, ValueError):
    """The job cannot run as asked: bad paths, mismatched sizes, too few frames, bad options."""


@dataclass
class InterpolateOptions:
    """What to produce; the physical meaning of each knob is in the module docstrings.

    ``factor`` (a power of two) and ``fps`` are exclusive; with neither, ×2.
    ``max_depth`` bounds the bisection used for ``fps`` (timing error ≤ 1/2^(depth+1)
    of an input interval). ``scene_threshold`` of ``None`` disables cut detection.
    """

    factor: int | None = None
    fps: Fraction | None = None
    max_depth: int = DEFAULT_MAX_DEPTH
    codec: str = "auto"
    crf: int = DEFAULT_CRF
    preset: str = "medium"
    scene_threshold: float | None = DEFAULT_SCENE_THRESHOLD
    static_tolerance: int = 1
    montage: Path | None = None
    progress: bool = True
    overlap: bool = True  # decode, inference and encode in three threads (see the module docstring)


@dataclass
class RetimeStats:
    """Counters and timings filled in by :func:`retime` and the jobs.

    ``seconds`` holds the busy time of each stage; with overlap the stages run
    at the same time, so their sum exceeds the wall time.
    """

    frames_in: int = 0
    frames_out: int = 0
    interpolated: int = 0  # output frames made by the network
    network_midpoints: int = 0  # midpoints computed, including intermediate bisection levels
    scene_cuts: int = 0
    static_pairs: int = 0
    max_error: Fraction = Fraction(0)  # in input frame intervals
    seconds: dict[str, float] = field(
        default_factory=lambda: {"decode": 0.0, "inference": 0.0, "encode": 0.0}
    )


@dataclass
class JobResult:
    kind: str  # "pair", "folder" or "video"
    output: Path
    stats: RetimeStats
    fps_in: Fraction | None = None
    fps_out: Fraction | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def max_error_seconds(self) -> float | None:
        return None if self.fps_in is None else float(self.stats.max_error / self.fps_in)

    def summary(self) -> str:
        stats = self.stats
        if self.kind == "pair":
            return f"wrote {self.output}: the middle frame"
        text = f"wrote {self.output}: {stats.frames_out} frames from {stats.frames_in}"
        if self.fps_out is not None and self.fps_in is not None:
            text += f", {format_fps(self.fps_in)} → {format_fps(self.fps_out)} fps"
        text += f"; {stats.interpolated} interpolated, {stats.scene_cuts} scene cuts, {stats.static_pairs} static pairs"
        if self.max_error_seconds is not None:
            text += f"; max timing error {self.max_error_seconds * 1000:.2f} ms"
        return text


# ---------------------------------------------------------------------------
# The streaming core
# ---------------------------------------------------------------------------


@dataclass
class _Interval:
    index: int  # between input frames index and index + 1
    frame0: np.ndarray
    frame1: np.ndarray
    times: list[Fraction]  # snapped time of each output frame in this interval, 0 ≤ t ≤ 1
    mode: str  # "interpolate", "cut" or "static"


def _classify(
    frame0: np.ndarray, frame1: np.ndarray, score: float, scene_threshold: float | None, static_tolerance: int
) -> str:
    if scene_threshold is not None and score > scene_threshold:
        return "cut"
    # The full-resolution check only runs when the thumbnails are (nearly) equal.
    if score < 1 / 255 and int(np.abs(frame0.astype(np.int16) - frame1).max()) <= static_tolerance:
        return "static"
    return "interpolate"


def retime(
    frames: Iterable[np.ndarray],
    interpolator: Interpolator,
    retiming: Retiming,
    *,
    hold_tail: bool,
    scene_threshold: float | None = DEFAULT_SCENE_THRESHOLD,
    static_tolerance: int = 1,
    stats: RetimeStats | None = None,
    source: str = "input",
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(output frame, original frame shown at that time)`` for every output frame, in order.

    ``frames`` are RGB uint8 H×W×3 arrays of one size. ``hold_tail`` extends the
    output to the end of the last frame's display time (videos); without it the
    output ends on the last input frame (frame folders). Raises
    :class:`InterpolationError` for fewer than two frames or a size change.
    """
    stats = stats if stats is not None else RetimeStats()
    batch = max(1, interpolator.batch_size)
    next_output = 0
    count = 0
    network_pairs = 0  # pending intervals that need the network
    previous: np.ndarray | None = None
    previous_thumbnail: np.ndarray | None = None
    pending: list[_Interval] = []
    for frame in frames:
        if previous is not None and frame.shape != previous.shape:
            height, width = frame.shape[:2]
            raise InterpolationError(
                f"{source}: frame {count} is {width}×{height}, but frame 0 is "
                f"{previous.shape[1]}×{previous.shape[0]}; all frames must have one size"
            )
        frame_thumbnail = thumbnail(frame)
        if previous is not None:
            times = []
            while (position := retiming.position(next_output)) < count:
                interval, t = retiming.snap(position)
                stats.max_error = max(stats.max_error, abs(position - interval - t))
                times.append(t)
                next_output += 1
            score = scene_score(previous_thumbnail, frame_thumbnail)
            mode = _classify(previous, frame, score, scene_threshold, static_tolerance)
            stats.scene_cuts += mode == "cut"
            stats.static_pairs += mode == "static"
            interval = _Interval(count - 1, previous, frame, times, mode)
            pending.append(interval)
            network_pairs += _needs_network(interval)
            # Flush once a full batch needs the network; the cap bounds memory in long static runs.
            if network_pairs >= batch or len(pending) >= 4 * batch:
                yield from _flush(pending, interpolator, stats)
                pending, network_pairs = [], 0
        previous, previous_thumbnail = frame, frame_thumbnail
        count += 1
    stats.frames_in = count
    if count < 2:
        raise InterpolationError(
            f"{source} has {count} frame{'s' if count != 1 else ''}; interpolation needs at least 2"
        )
    yield from _flush(pending, interpolator, stats)
    last = count - 1
    while True:
        position = retiming.position(next_output)
        if position >= count if hold_tail else position > last:
            break
        stats.frames_out += 1
        yield previous, previous
        next_output += 1


def _needs_network(interval: _Interval) -> bool:
    return interval.mode == "interpolate" and any(0 < t < 1 for t in interval.times)


def _flush(
    pending: list[_Interval], interpolator: Interpolator, stats: RetimeStats
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Interpolate the pending intervals in one batched pass and yield their output frames in order."""
    jobs = [i for i, interval in enumerate(pending) if _needs_network(interval)]
    made: dict[tuple[int, Fraction], np.ndarray] = {}
    if jobs:
        started = time.perf_counter()
        frame0 = from_uint8(np.stack([pending[i].frame0 for i in jobs]))
        frame1 = from_uint8(np.stack([pending[i].frame1 for i in jobs]))
        wanted = [[t for t in pending[i].times if 0 < t < 1] for i in jobs]
        computed = interpolator.interpolate_dyadic(frame0, frame1, wanted)
        stats.network_midpoints += sum(len(frames) for frames in computed)
        keys = [(i, t) for i, times in zip(jobs, wanted) for t in times]
        if keys:
            arrays = to_uint8(torch.stack([computed[jobs.index(i)][t] for i, t in keys]))
            made = dict(zip(keys, arrays))
        stats.seconds["inference"] += time.perf_counter() - started
    for i, interval in enumerate(pending):
        for t in interval.times:
            stats.frames_out += 1
            if t == 1:
                yield interval.frame1, interval.frame0
            elif (i, t) in made:
                stats.interpolated += 1
                yield made[(i, t)], interval.frame0
            else:  # t == 0, a scene cut or a static pair: repeat the frame before
                yield interval.frame0, interval.frame0


def _timed(frames: Iterable[np.ndarray], stats: RetimeStats) -> Iterator[np.ndarray]:
    iterator = iter(frames)
    while True:
        started = time.perf_counter()
        try:
            frame = next(iterator)
        except StopIteration:
            stats.seconds["decode"] += time.perf_counter() - started
            return
        stats.seconds["decode"] += time.perf_counter() - started
        yield frame


# ---------------------------------------------------------------------------
# Overlap: decode and encode threads around the calling (inference) thread
# ---------------------------------------------------------------------------

_DONE = object()
_POLL_SECONDS = 0.1  # how often a blocked thread looks at the stop flag


class _ReadAhead:
    """Iterates ``items`` in a daemon thread, at most ``maxsize`` items ahead of the consumer.

    Iterating the object yields the items in order and re-raises, in the
    consumer's thread, any exception the producer met. :meth:`close` stops the
    producer after its current item and joins it.
    """

    def __init__(self, items: Iterable, maxsize: int, name: str = "sepgan-decode") -> None:
        self._queue: queue.Queue = queue.Queue(maxsize)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(iter(items),), name=name, daemon=True)
        self._thread.start()

    def _run(self, iterator: Iterator) -> None:
        try:
            for item in iterator:
                if not self._put((True, item)):
                    return
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, which re-raises it
            self._put((False, error))
            return
        self._put((False, None))

    def _put(self, entry: tuple[bool, object]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator:
        while True:
            # A blocking get: Ctrl-C and SIGTERM still interrupt it (lock waits are interruptible on POSIX).
            is_item, value = self._queue.get()
            if is_item:
                yield value
            elif value is None:
                return
            else:
                raise value

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


class _WriteBehind:
    """Calls ``write(item)`` for every :meth:`put` item in a daemon thread, through a bounded queue.

    :meth:`put` blocks while ``maxsize`` items wait and re-raises an error of
    the writer thread; :meth:`finish` waits until everything is written.
    :meth:`close` drops what is still queued and joins the thread.
    """

    def __init__(self, write: Callable[[object], None], maxsize: int, name: str = "sepgan-encode") -> None:
        self._write = write
        self._queue: queue.Queue = queue.Queue(maxsize)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    item = self._queue.get(timeout=_POLL_SECONDS)
                except queue.Empty:
                    continue
                if item is _DONE:
                    return
                self._write(item)
        except BaseException as error:  # noqa: BLE001 - re-raised by put() and finish()
            self._error = error

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def put(self, item: object) -> None:
        while True:
            self._raise_if_failed()
            try:
                self._queue.put(item, timeout=_POLL_SECONDS)
                return
            except queue.Full:
                continue

    def finish(self) -> None:
        self.put(_DONE)
        self._thread.join()
        self._raise_if_failed()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


@contextlib.contextmanager
def _stages(
    frames: Iterable[np.ndarray],
    write: Callable[[tuple[np.ndarray, np.ndarray]], None],
    *,
    overlap: bool,
    batch: int,
    ratio: Fraction,
) -> Iterator[
    tuple[Iterable[np.ndarray], Callable[[tuple[np.ndarray, np.ndarray]], None], Callable[[], None]]
]:
    """``(frames, write, finish)``: in threads with bounded queues when ``overlap``, else as given.

    The caller writes every output with ``write`` and then calls ``finish``
    before closing its writer. On leaving, the threads are stopped and joined,
    so a writer can be aborted (or a reader closed) safely afterwards.
    """
    if not overlap:
        yield frames, write, lambda: None
        return
    reader = _ReadAhead(frames, maxsize=2 * batch + 2)
    writer = _WriteBehind(write, maxsize=max(4, 2 * batch * math.ceil(min(ratio, 8))))
    try:
        yield reader, writer.put, writer.finish
    finally:
        writer.close()
        reader.close()


def _progress(outputs: Iterable, total: int | None, enabled: bool, description: str) -> Iterable:
    # disable=None: tqdm hides itself when stderr is not a terminal (pipes, CI, tests).
    return tqdm(
        outputs,
        total=total,
        unit="frame",
        desc=description,
        disable=None if enabled else True,
        dynamic_ncols=True,
    )


# ---------------------------------------------------------------------------
# Jobs
# ---------------------------------------------------------------------------


def _retiming(options: InterpolateOptions) -> Retiming:
    factor = options.factor or 2
    try:
        return Retiming.for_factor(factor)
    except ValueError as error:
        raise InterpolationError(
            f"factor {factor}: must be a power of two (2, 4, 8, ...)", parameter="factor"
        ) from error


def interpolate_pair(interpolator: Interpolator, path0: Path, path1: Path, output: Path) -> JobResult:
    """Write the middle frame of two images to ``output`` (format from its suffix)."""
    frame0, frame1 = load_image(path0), load_image(path1)
    if frame0.shape != frame1.shape:
        raise InterpolationError(
            f"{path0} is {frame0.shape[2]}×{frame0.shape[1]} but {path1} is {frame1.shape[2]}×{frame1.shape[1]}; "
            "the two frames must have the same size"
        )
    stats = RetimeStats(frames_in=2, frames_out=1, interpolated=1, network_midpoints=1)
    started = time.perf_counter()
    middle = interpolator.interpolate(frame0, frame1)
    stats.seconds["inference"] = time.perf_counter() - started
    save_image(middle, output)
    return JobResult("pair", output, stats)


def _natural_key(path: Path) -> list[object]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def list_frames(folder: Path) -> list[Path]:
    """Image files in ``folder`` (by suffix), in natural name order (2.png before 10.png)."""
    suffixes = {suffix for suffix in Image.registered_extensions()}
    return sorted(
        (
            path
            for path in folder.iterdir()
            if path.suffix.lower() in suffixes and not path.name.startswith(".")
        ),
        key=_natural_key,
    )


def interpolate_folder(
    interpolator: Interpolator, folder: Path, output: Path, options: InterpolateOptions
) -> JobResult:
    """×factor for a folder of frames; writes ``factor·(N − 1) + 1`` PNG files into ``output``."""
    if options.fps is not None:
        raise InterpolationError(
            "a frame folder has no frame rate; use factor instead of fps", parameter=("factor", "fps")
        )
    if output_codec(output, "png" if options.codec == "auto" else options.codec) != "png":
        raise InterpolationError(f"{output}: a frame folder is written as a folder of PNG frames")
    paths = list_frames(folder)
    retiming = _retiming(options)
    stats = RetimeStats()
    writer = PngSequenceWriter(output)

    def write(item: tuple[np.ndarray, np.ndarray]) -> None:
        started = time.perf_counter()
        writer.write(item[0])
        stats.seconds["encode"] += time.perf_counter() - started

    with writer:
        _run_stages(
            (load_image_uint8(path) for path in paths),
            write,
            interpolator,
            retiming,
            options,
            stats,
            hold_tail=False,
            source=str(folder),
            total=max(0, (len(paths) - 1) * int(retiming.ratio) + 1),
        )
    return JobResult("folder", output, stats)


def _run_stages(
    frames: Iterable[np.ndarray],
    write: Callable[[tuple[np.ndarray, np.ndarray]], None],
    interpolator: Interpolator,
    retiming: Retiming,
    options: InterpolateOptions,
    stats: RetimeStats,
    *,
    hold_tail: bool,
    source: str,
    total: int | None,
) -> None:
    """Decode → retime → ``write``, overlapped in threads when ``options.overlap``, with progress."""
    with _stages(
        _timed(frames, stats),
        write,
        overlap=options.overlap,
        batch=interpolator.batch_size,
        ratio=retiming.ratio,
    ) as (decoded, put, finish):
        outputs = retime(
            decoded,
            interpolator,
            retiming,
            hold_tail=hold_tail,
            scene_threshold=options.scene_threshold,
            static_tolerance=options.static_tolerance,
            stats=stats,
            source=source,
        )
        for item in _progress(outputs, total, options.progress, "interpolate"):
            put(item)
        finish()


def interpolate_video(
    interpolator: Interpolator, source: Path, output: Path, options: InterpolateOptions
) -> JobResult:
    """Retime a video; audio and subtitles are copied; see the module docstring for counts and timing."""
    with VideoReader(source) as reader:
        info = reader.info
        if options.fps is not None:
            fps_out = Fraction(options.fps)
            retiming = Retiming.for_fps(info.fps, fps_out, options.max_depth)
        else:
            retiming = _retiming(options)
            fps_out = info.fps * retiming.ratio
        stats = RetimeStats()
        encoding = {
            "fps": fps_out,
            "crf": options.crf,
            "preset": options.preset,
            "start_time": info.start_time,
        }
        writer = open_writer(
            output,
            width=info.width,
            height=info.height,
            codec=options.codec,
            passthrough=reader.passthrough,
            **encoding,
        )
        montage = None
        # With overlap, audio/subtitle packets are muxed from the decode thread and video
        # frames from the encode thread; one lock keeps the two off the output container at once.
        muxing = threading.Lock()

        def copy_packet(packet) -> None:
            with muxing:
                writer.copy_packet(packet)

        def write(item: tuple[np.ndarray, np.ndarray]) -> None:
            frame, original = item
            started = time.perf_counter()
            with muxing:
                writer.write(frame)
            if montage is not None:
                montage.write(np.concatenate([original, frame], axis=1))
            stats.seconds["encode"] += time.perf_counter() - started

        try:
            if options.montage is not None:
                montage = open_writer(options.montage, width=2 * info.width, height=info.height, **encoding)
            _run_stages(
                reader.frames(on_packet=copy_packet),
                write,
                interpolator,
                retiming,
                options,
                stats,
                hold_tail=True,
                source=str(source),
                total=math.ceil(info.frame_count * retiming.ratio) if info.frame_count else None,
            )
            started = time.perf_counter()
            writer.close()
            if montage is not None:
                montage.close()
            stats.seconds["encode"] += time.perf_counter() - started
        except BaseException:
            writer.abort()
            if montage is not None:
                montage.abort()
            raise
    notes = list(writer.notes)
    if options.fps is not None and retiming.max_error:
        notes.append(
            f"timing: each output frame is the nearest 1/{2**options.max_depth} of an input interval "
            f"(error ≤ {float(retiming.max_error / info.fps) * 1000:.2f} ms; --max-depth refines it)"
        )
    return JobResult("video", output, stats, fps_in=info.fps, fps_out=fps_out, notes=notes)


# ---------------------------------------------------------------------------
# Dispatch, with every check done before the model loads
# ---------------------------------------------------------------------------


def _same_path(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def _check_output(inputs: list[Path], output: Path) -> None:
    for source in inputs:
        if _same_path(source, output):
            raise InterpolationError(f"output {output} is the input {source}; choose another output path")
    folder = output.resolve().parent
    if not folder.is_dir():
        raise InterpolationError(f"{output}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InterpolationError(f"{output}: cannot write to folder {folder} (permission denied)")


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in Image.registered_extensions() and path.suffix.lower() not in VIDEO_SUFFIXES


def run_interpolate(
    inputs: list[Path],
    output: Path,
    options: InterpolateOptions,
    make_interpolator: Callable[[], Interpolator],
) -> JobResult:
    """Decide what ``inputs`` are (a pair, a folder, a video), check everything, then load the model and run."""
    inputs = [Path(path) for path in inputs]
    output = Path(output)
    if options.factor is not None and options.fps is not None:
        raise InterpolationError("use either factor or fps, not both", parameter=("factor", "fps"))
    if options.fps is not None and options.fps <= 0:
        raise InterpolationError(f"fps must be positive, got {options.fps}", parameter="fps")
    if options.factor is not None:
        _retiming(options)
    if options.scene_threshold is not None and not 0 <= options.scene_threshold <= 1:
        raise InterpolationError(
            f"scene_threshold must be between 0 and 1, got {options.scene_threshold}", parameter="scene_threshold"
        )
    for path in inputs:
        if not path.exists():
            raise InterpolationError(f"{path}: no such file or folder")
    _check_output(inputs + ([options.montage] if options.montage else []), output)
    if options.montage is not None:
        _check_output(inputs + [output], options.montage)

    if len(inputs) == 2:
        if not all(path.is_file() for path in inputs):
            raise InterpolationError("two inputs must be two image files (frame0 and frame1)")
        if options.fps is not None or (options.factor or 2) != 2:
            raise InterpolationError(
                "an image pair gives one middle frame; use a frame folder for --factor 4 or 8"
            )
        if not _is_image(output):
            raise InterpolationError(f"{output}: the middle frame of a pair is an image; use e.g. mid.png")
        for path in inputs:
            load_image_uint8(path)  # fail on grayscale/RGBA/16-bit before loading the model
        return interpolate_pair(make_interpolator(), inputs[0], inputs[1], output)
    if len(inputs) != 1:
        raise InterpolationError(
            f"expected one video, one frame folder or two images, got {len(inputs)} inputs"
        )
    source = inputs[0]
    if source.is_dir():
        paths = list_frames(source)
        if len(paths) < 2:
            raise InterpolationError(
                f"{source} has {len(paths)} image file(s); interpolation needs at least 2"
            )
        load_image_uint8(paths[0])
        return interpolate_folder(make_interpolator(), source, output, options)
    if _is_image(source):
        raise InterpolationError(f"{source} is a single image; pass two images, a frame folder or a video")
    output_codec(output, options.codec)  # reject a bad suffix/codec before decoding
    if options.montage is not None and output_codec(options.montage) == "png":
        raise InterpolationError(
            f"montage {options.montage}: give a video file name such as montage.mp4", parameter="montage"
        )
    VideoReader(source).close()  # opens and describes the container; corrupt files fail here
    return interpolate_video(make_interpolator(), source, output, options)


def parse_tile(text: str | int | None) -> int | str | None:
    """``--tile``: ``"auto"``, ``"none"`` or a size in pixels."""
    if text is None or isinstance(text, int):
        return text
    if text.lower() in ("auto", "none"):
        return None if text.lower() == "none" else "auto"
    if not text.isdigit() or int(text) < 32:
        raise InterpolationError(f"--tile {text}: use 'auto', 'none' or a size in pixels of at least 32")
    return int(text)


def load_interpolator(
    weights: str | os.PathLike[str] | None,
    *,
    device: str = "auto",
    precision: str = "auto",
    batch_size: int = 4,
    tile: int | str | None = "auto",
    tile_overlap: int | None = None,
    max_memory_mb: float | None = DEFAULT_MAX_MEMORY_MB,
    compile: bool = False,
    flow_variants: int | None = None,
) -> Interpolator:
    """:meth:`Interpolator.from_pretrained` with option errors reported as :class:`InterpolationError`.

    ``flow_variants`` overrides a flow-guided model's flow-ensemble size (1–4,
    :mod:`sepgan.flow`): fewer variants, less DIS time, a little less quality.
    It is given when the model is built, so its memory estimate (and with it the
    tiling under ``max_memory_mb``) is the one of the ensemble that runs.
    """
    from sepgan.checkpoint import CheckpointError, UnknownOverride
    from sepgan.flow import check_variants

    overrides = {}
    if flow_variants is not None:
        try:
            overrides["flow_variants"] = check_variants(flow_variants, "flow_variants")
        except ValueError as error:
            raise InterpolationError(str(error), parameter="flow_variants") from None
    try:
        return Interpolator.from_pretrained(
            weights,
            overrides=overrides,
            device=device,
            precision=precision,
            batch_size=batch_size,
            tile=tile,
            tile_overlap=tile_overlap,
            max_memory_mb=max_memory_mb,
            compile=compile,
        )
    except UnknownOverride as error:
        raise InterpolationError(
            f"flow_variants applies to flow-guided models; {error.architecture} computes no flow",
            parameter="flow_variants",
        ) from None
    except CheckpointError:
        raise
    except ValueError as error:
        raise InterpolationError(str(error)) from error
