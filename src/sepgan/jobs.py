"""The interpolate job: an image pair, a frame folder or a video in; more frames out.

Three inputs, one streaming core (:func:`sepgan.retime.retime`):

* **An image pair** ``A.png B.png`` gives the single middle frame.
* **A frame folder** (image files in natural name order) gives ×factor:
  ``factor · (N − 1) + 1`` frames, the first and last being the input's.
* **A video** gives ×factor or a target ``fps``. The output covers the same
  time span as the input, ``N / fps_in`` seconds: output frame k is at input
  position ``k · fps_in / fps_out``, and the positions past the last input
  frame (the last frame's own display time) repeat the last frame. So ×2
  yields ``2N`` frames, exactly the input's duration, and audio keeps its sync.
  ``fps_in`` is the rate the frames were shot at, and the input's frames sit at
  their own timestamps (:class:`sepgan.timing.VariableRateRetiming`): variable-rate
  input, such as a phone clip with a 0.4 s stall, gives output at the full
  rate whose timestamps follow the input's, with the gaps interpolated.
* **Slow motion** (``slowmo`` N, a video) makes the frames of ×N and writes them at
  the input's frame rate: N× the frames, N× the duration. Audio is time-stretched
  N× (FFmpeg's ``atempo``, pitch kept) and subtitles are retimed, by the writer
  (:mod:`sepgan.media.stretch`). A frame folder has no frame rate, so there
  ``slowmo`` N makes the same frames as ``factor`` N.

Decoding, optical flow, the network and encoding run in four threads
(:mod:`sepgan.stages`) unless ``overlap`` is off; the output is the same either way.

Failure leaves nothing behind: outputs are written under temporary names and
renamed only when complete (:mod:`sepgan.atomic`), the input is never opened for writing, and all
argument and path checks run before the model is loaded. Option defaults and
checks are :mod:`sepgan.options`'; parsing the command line and loading the
model are :mod:`sepgan.cli`'s.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from sepgan.atomic import check_overwrite
from sepgan.errors import InterpolationError, Interrupted
from sepgan.interpolator import Interpolator
from sepgan.loading import ModelSpec
from sepgan.media.formats import IMAGE_SUFFIXES, VideoError, check_codec, output_codec
from sepgan.media.fps import format_fps, has_timestamps
from sepgan.media.frames import (
    ICC_FORMATS,
    image_format,
    list_frames,
    load_image,
    load_image_uint8,
    read_icc_profile,
    save_image,
)
from sepgan.media.join import Part, join_png, join_video
from sepgan.media.reader import FrameIndex, VideoReader, to_rgb
from sepgan.media.writer import PngSequenceWriter, VideoWriter, frame_bits, open_writer
from sepgan.memory import MemoryPlan, plan_memory
from sepgan.options import (
    DEFAULT_CODEC,
    DEFAULT_FACTOR,
    DEFAULT_MAX_DEPTH,
    DEFAULT_MEMORY_TARGET_MB,
    DEFAULT_SCENE_THRESHOLD,
    DEFAULT_SEGMENT_SECONDS,
    DEFAULT_STATIC_TOLERANCE,
    check_crf,
    check_dyadic_factor,
    check_encoder_preset,
    check_factor,
    check_factor_or_fps,
    check_jobs,
    check_max_depth,
    check_rate,
    check_scene_threshold,
    check_segment_seconds,
    check_slowmo,
    check_trim,
)
from sepgan.retime import RetimeStats, Window, retime
from sepgan.segments import (
    JOURNAL_VERSION,
    InlineRunner,
    Journal,
    ProcessRunner,
    RayRunner,
    Segment,
    input_identity,
    plan_segments,
    run_segments,
)
from sepgan.stages import overlapped
from sepgan.timing import ConstantRateRetiming, Retiming, VariableRateRetiming

if TYPE_CHECKING:
    from sepgan.batch import BatchOutcome, BatchResult

__all__ = [
    "InterpolateOptions",
    "InterpolationError",
    "JobResult",
    "RetimeStats",
    "interpolate_folder",
    "interpolate_pair",
    "interpolate_video",
    "list_frames",
    "run_interpolate",
]


@dataclass
class InterpolateOptions:
    """What to produce; the physical meaning of each knob is in the module docstrings.

    ``factor`` (an integer from 2; a power of two for a model that makes only t = ½) and
    ``fps`` are exclusive; with neither, ×2. ``slowmo`` N excludes both: the frames of ×N,
    written at the input's rate (N× slow motion). Defaults and ranges are :mod:`sepgan.options`'.
    A model that warps to any time puts every output frame at its exact time; for
    one that makes only t = ½, ``max_depth`` bounds the bisection used for ``fps``
    (timing error ≤ 1/2^(depth+1) of an input interval). ``scene_threshold`` of ``None``
    disables cut detection.
    A target over :data:`~sepgan.options.HIGH_RATE_RATIO` times the input's rate needs
    ``allow_high_fps``; over ``2**MAX_DEPTH`` times it is refused (finer steps would only repeat frames).
    """

    factor: int | None = None
    fps: Fraction | None = None
    slowmo: int | None = None  # N× slow motion: the frames of ×N, at the input's frame rate
    allow_high_fps: bool = False
    max_depth: int = DEFAULT_MAX_DEPTH
    codec: str = DEFAULT_CODEC
    crf: int | None = None  # the codec's constant rate factor (None: its default, options.ENCODER_QUALITY)
    encoder_preset: str | None = None  # the encoder's speed preset (None: the codec's default)
    start: float = 0.0  # seconds of the input skipped (ffmpeg's -ss)
    duration: float | None = None  # seconds of the input kept from start (ffmpeg's -t; None: to the end)
    scene_threshold: float | None = DEFAULT_SCENE_THRESHOLD
    static_tolerance: int = DEFAULT_STATIC_TOLERANCE
    montage: Path | None = None
    # ffmpeg's -y: replace an output (and montage) that exists; without it one is refused (sepgan.atomic).
    overwrite: bool = False
    progress: bool = True
    overlap: bool = True  # decode, flow, inference and encode in four threads (see the module docstring)
    # Peak memory (RSS) of the whole process, MB: batch, flow-ahead, DIS threads and tiles are chosen
    # to fit it (sepgan.memory); None aims at DEFAULT_MEMORY_TARGET_MB without refusing a frame size.
    max_memory_mb: float | None = None
    # Long jobs (sepgan.segments): segments of this many input seconds, journalled in a work folder.
    segment_seconds: float = DEFAULT_SEGMENT_SECONDS
    jobs: int = 1  # segments at once in worker processes (each with its share of the cores)
    cluster: str | None = None  # a Ray address: segments as tasks of Ray actors
    resume: bool = False  # continue a stopped job from its work folder
    restart: bool = False  # remove a stopped job's work folder and start over
    # The model as data: worker processes and actors load it; a resume compares it.
    model: ModelSpec | None = None
    # Called with the count of output frames just made, in place of this job's own progress bar:
    # a batch's one bar spans its inputs (sepgan.batch). Not a property of the output, so it is left
    # out of comparisons; a callable, so keep it out of what is saved or sent to other processes.
    advance_progress: Callable[[int], object] | None = field(default=None, repr=False, compare=False)


@dataclass
class JobResult:
    kind: str  # "pair", "folder" or "video"
    output: Path
    stats: RetimeStats
    fps_in: Fraction | None = None
    fps_out: Fraction | None = None
    notes: list[str] = field(default_factory=list)
    slow_motion: int | None = None  # N for N× slow motion (fps_out is then fps_in)

    @property
    def max_error_seconds(self) -> float | None:
        return None if self.fps_in is None else float(self.stats.max_error / self.fps_in)

    def summary(self) -> str:
        stats = self.stats
        if self.kind == "pair":
            return f"wrote {self.output}: the middle frame"
        text = f"wrote {self.output}: {stats.frames_out} frames from {stats.frames_in}"
        if self.slow_motion is not None and self.fps_out is not None:
            text += f", {self.slow_motion}× slow motion at {format_fps(self.fps_out)} fps"
        elif self.fps_out is not None and self.fps_in is not None:
            text += f", {format_fps(self.fps_in)} → {format_fps(self.fps_out)} fps"
        text += (
            f"; {stats.interpolated} interpolated, {stats.scene_cuts} scene cuts, "
            f"{stats.static_pairs} static pairs"
        )
        if stats.held_frames:  # a cadence's copies, interpolated through (sepgan.retime)
            text += f", {stats.held_frames} held frame{'s' if stats.held_frames != 1 else ''}"
        if self.max_error_seconds is not None:
            text += f"; max timing error {self.max_error_seconds * 1000:.2f} ms"
        return text


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


def _progress(
    outputs: Iterable, total: int | None, options: InterpolateOptions, description: str
) -> Iterable:
    if options.advance_progress is not None:  # a shared bar (a batch's) counts these frames
        return _counted(outputs, options.advance_progress)
    # disable=None: tqdm hides itself when stderr is not a terminal (pipes, CI, tests).
    return tqdm(
        outputs,
        total=total,
        unit="frame",
        desc=description,
        disable=None if options.progress else True,
        dynamic_ncols=True,
    )


def _counted(outputs: Iterable, advance: Callable[[int], object]) -> Iterator:
    for item in outputs:
        yield item
        advance(1)


def _retiming(options: InterpolateOptions, interpolator: Interpolator) -> ConstantRateRetiming:
    """The constant-rate plan for ``options``: exact times when the model warps to any time, else
    dyadic ones (a factor must then be a power of two: the one check that needs the model)."""
    factor = DEFAULT_FACTOR if options.factor is None else options.factor  # 0 is an error, not the default
    parameter = "factor"
    if options.slowmo is not None:  # the frames of ×N, written at the input's rate
        factor, parameter = options.slowmo, "slowmo"
    if not interpolator.any_time:
        model = f"this model ({interpolator.model.architecture} with a network)"
        check_dyadic_factor(factor, model=model, parameter=parameter)
    return ConstantRateRetiming.for_factor(factor, any_time=interpolator.any_time)


def _fps_retiming(
    fps_in: Fraction, fps_out: Fraction, options: InterpolateOptions, interpolator: Interpolator
) -> ConstantRateRetiming:
    """``fps_in`` → ``fps_out`` at exact times when the model warps to any time; else snapped to
    the nearest ``1/2^max_depth`` of an interval (recursive bisection)."""
    depth = None if interpolator.any_time else options.max_depth
    return ConstantRateRetiming.for_fps(fps_in, fps_out, depth)


def _plan_memory(
    interpolator: Interpolator,
    height: int,
    width: int,
    options: InterpolateOptions,
    *,
    codec: str,
    video: bool,
    ratio: Fraction,
    bits: int = 8,
) -> tuple[Interpolator, MemoryPlan, list[str]]:
    """The job's share of ``options.max_memory_mb`` (:mod:`sepgan.memory`): the Interpolator with the
    plan's batch size, DIS threads and network-call budget, the plan, and a note when the default
    target cannot be met (an explicit budget that cannot hold raises InterpolationError). ``bits``:
    the frame arrays' bits per channel (16: uint16 frames, twice the memory)."""
    plan = plan_memory(
        interpolator, height, width, budget_mb=options.max_memory_mb, codec=codec, video=video,
        overlap=options.overlap, ratio=ratio, montage=options.montage is not None, frame_bits=bits,
    )  # fmt: skip
    notes = []
    if not plan.fits:
        notes.append(
            f"memory: {width}×{height} frames need more than the {DEFAULT_MEMORY_TARGET_MB} MB aimed at "
            f"by default ({plan.describe()}); --max-memory-mb caps the process"
        )
    planned = interpolator.with_settings(
        batch_size=plan.batch_size, workers=plan.workers, max_memory_mb=plan.call_memory_mb
    )
    return planned, plan, notes


def interpolate_pair(
    interpolator: Interpolator,
    path0: Path,
    path1: Path,
    output: Path,
    options: InterpolateOptions | None = None,
) -> JobResult:
    """Write the middle frame of two images to ``output`` (format from its suffix); ``options``:
    only its memory budget is used."""
    frame0, frame1 = load_image(path0), load_image(path1)
    if frame0.shape != frame1.shape:
        raise InterpolationError(
            f"{path0} is {frame0.shape[2]}×{frame0.shape[1]} "
            f"but {path1} is {frame1.shape[2]}×{frame1.shape[1]}; "
            "the two frames must have the same size"
        )
    interpolator, _, notes = _plan_memory(
        interpolator, *frame0.shape[-2:], options or InterpolateOptions(), codec="png", video=False,
        ratio=Fraction(1),
    )  # fmt: skip
    stats = RetimeStats(frames_in=2, frames_out=1, interpolated=1, network_midpoints=1)
    started = time.perf_counter()
    middle = interpolator.interpolate(frame0, frame1)
    stats.seconds["inference"] = time.perf_counter() - started
    save_options, image_notes = _image_output(path0, path1, output)
    save_image(middle, output, **save_options)
    return JobResult("pair", output, stats, notes=notes + image_notes)


def _image_output(path0: Path, path1: Path, output: Path) -> tuple[dict[str, object], list[str]]:
    """What the middle image keeps of its inputs: ``save_image`` options (the first frame's ICC
    profile, e.g. Display P3, in a format that holds one) and notes on what it loses."""
    options: dict[str, object] = {}
    notes = []
    format_name = image_format(output)
    if format_name == "GIF":
        notes.append(f"{output.name}: a GIF holds 256 colours at most; colour is reduced (.png keeps it)")
    profile = read_icc_profile(path0)
    if profile is not None and format_name in ICC_FORMATS:
        options["icc_profile"] = profile
        if read_icc_profile(path1) != profile:
            notes.append(f"{path0.name} and {path1.name} have different colour profiles; kept {path0.name}'s")
    elif profile is not None:
        notes.append(f"{output.name}: {format_name} holds no colour profile; {path0.name}'s is dropped")
    return options, notes


def interpolate_folder(
    interpolator: Interpolator, folder: Path, output: Path, options: InterpolateOptions
) -> JobResult:
    """×factor for a folder of frames; writes ``factor·(N − 1) + 1`` PNG files into ``output``.

    A folder of more than two segments' frames (``options.segment_seconds`` at 25 frames a second)
    runs in segments (:mod:`sepgan.segments`): resumable, and in parallel with ``jobs``/``cluster``.
    """
    if options.fps is not None:
        raise InterpolationError(
            "a frame folder has no frame rate; use {factor} instead of {fps}", parameter=("factor", "fps")
        )
    if output_codec(output, "png" if options.codec == "auto" else options.codec) != "png":
        raise InterpolationError(f"{output}: a frame folder is written as a folder of PNG frames")
    paths = list_frames(folder)
    retiming = _retiming(options, interpolator)
    total = max(0, (len(paths) - 1) * int(retiming.ratio) + 1)
    segments = plan_segments(len(paths), round(options.segment_seconds * FOLDER_FPS))
    if len(segments) > 1:
        job = SegmentJob(
            source=folder,
            options=replace(options, progress=False, advance_progress=None),
            ratio=retiming.ratio,
            max_depth=retiming.max_depth,
            codec="png",
            paths=tuple(paths),
            width=load_image_uint8(paths[0]).shape[1],
            height=load_image_uint8(paths[0]).shape[0],
        )
        stats, notes = _run_segmented(job, segments, interpolator, output, options, total)
        return JobResult("folder", output, stats, notes=notes)
    height, width = load_image_uint8(paths[0]).shape[:2]
    interpolator, memory, notes = _plan_memory(
        interpolator, height, width, options, codec="png", video=False, ratio=retiming.ratio
    )
    stats = RetimeStats()
    writer = PngSequenceWriter(output, overwrite=options.overwrite)

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
            total=total,
            flow_ahead=memory.flow_ahead,
        )
    return JobResult("folder", output, stats, notes=notes)


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
    window: Window | None = None,
    flow_ahead: bool = True,
) -> None:
    """Decode → retime → ``write``, overlapped in threads when ``options.overlap``, with progress;
    each batch's flow a batch ahead of the network with ``flow_ahead`` (and overlap). ``window``:
    one segment's part of the run (:class:`sepgan.retime.Window`).
    """
    with overlapped(
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
            flow_ahead=options.overlap and flow_ahead,
            window=window,
        )
        # closing: on an error here (the writer's), retime's flow thread stops before the decode thread does.
        with contextlib.closing(outputs):
            for item in _progress(outputs, total, options, "interpolate"):
                put(item)
        finish()


@dataclass(frozen=True)
class _VideoPlan:
    """What a video job writes, the same in one pass and in segments."""

    fps_in: Fraction
    fps_out: Fraction  # the writer's rate (the input's with slow motion)
    constant: ConstantRateRetiming
    variable: bool  # frames at their own timestamps (VariableRateRetiming)
    slow_motion: int
    encoding: dict
    codec: str  # the output's (sepgan.media.formats.CODECS)
    bits: int  # bits per channel of the frames read, made and written: 8 (uint8) or 16 (uint16)


def _plan_video(
    reader: VideoReader, options: InterpolateOptions, interpolator: Interpolator, output: Path
) -> _VideoPlan:
    info = reader.info
    # Frames sit at their own timestamps (variable frame rate followed, at the rate they were
    # shot at); a raw elementary stream has none and is read at its constant rate.
    variable = has_timestamps(reader.stream)
    fps_in = (info.nominal_fps or info.fps) if variable else info.fps
    if options.fps is not None:
        fps_out = Fraction(options.fps)
        constant = _fps_retiming(fps_in, fps_out, options, interpolator)
    else:
        constant = _retiming(options, interpolator)
        fps_out = fps_in * constant.ratio
    # Slow motion: the frames of ×N written at the input's rate, N× longer from the origin on.
    slow_motion = options.slowmo or 1
    fps_out /= slow_motion
    encoding = {
        "fps": fps_out,
        "crf": options.crf,
        "preset": options.encoder_preset,
        # From the input's origin (trimmed: from --start, to the first frame kept on the input's grid).
        "start_time": _trimmed_start(info.start_time - reader.origin, fps_in, options.start) * slow_motion,
        "colour": reader.colour,  # the input's matrix, range and tags, for the output too
        "presentation": reader.presentation,  # rotation, pixel aspect and tags, kept too
        "container_info": reader.container_info,  # file tags and chapters, kept too
    }
    codec = output_codec(output, options.codec)
    # Deeper input stays deep where the output keeps it: its frames are uint16 from decode to encode.
    bits = frame_bits(codec, reader.colour)
    return _VideoPlan(fps_in, fps_out, constant, variable, slow_motion, encoding, codec, bits)


def _trimmed_start(first: Fraction, fps: Fraction, start: float) -> Fraction:
    """When the first frame kept shows, from ``start`` (seconds): the first at or after it on the grid of
    frames ``first + k / fps``, k ≥ 0 (``first`` itself without a trim)."""
    skipped = max(0, math.ceil((Fraction(start) - first) * fps - Fraction(1, 10**6) * fps))
    return first + Fraction(skipped) / fps - Fraction(start)


def _video_notes(
    plan: _VideoPlan,
    options: InterpolateOptions,
    max_error: Fraction,
    gaps: int,
    held: int,
    longest: Fraction,
) -> list[str]:
    notes = []
    if gaps:
        notes.append(
            f"variable frame rate: {gaps} gap(s) between input frames (the longest "
            f"{float(longest / plan.fps_in):.3f} s); output frames follow the input's timestamps "
            f"at {format_fps(plan.fps_out)} fps, the gaps filled by interpolation"
            + (f" ({held} too long to fill: the frame before is held)" if held else "")
        )
    if options.fps is not None and max_error:
        notes.append(
            f"timing: each output frame is the nearest 1/{2**options.max_depth} of an input interval "
            f"(error ≤ {float(max_error / plan.fps_in) * 1000:.2f} ms; --max-depth refines it)"
        )
    return notes


def interpolate_video(
    interpolator: Interpolator, source: Path, output: Path, options: InterpolateOptions
) -> JobResult:
    """Retime a video; audio and subtitles are copied (slowed down with ``slowmo``); see the module
    docstring for counts and timing.

    A video of more than two segments (``options.segment_seconds`` each) whose frames can be found
    by timestamp runs in segments (:mod:`sepgan.segments`): journalled in a work folder beside
    ``output`` (``resume``), one after another or side by side (``jobs``, ``cluster``), and joined
    without re-encoding; the frames are the one-pass run's.
    """
    with VideoReader(source) as reader:
        info = reader.info
        plan = _plan_video(reader, options, interpolator, output)
        retiming: Retiming = plan.constant
        total = math.ceil(info.frame_count * retiming.ratio) if info.frame_count else None
        trimmed = options.start > 0 or options.duration is not None
        if trimmed:
            index, segments, notes = None, [Segment(0, 0, None, 0)], []
            kept = (options.duration or math.inf) * float(plan.fps_in)
            total = math.ceil(min(info.frame_count or math.inf, kept) * retiming.ratio) if total else None
        else:
            index, segments, notes = _video_segments(reader, options)
        if len(segments) > 1 and index is not None:
            codec = plan.codec
            job = SegmentJob(
                source=source,
                options=replace(options, progress=False, advance_progress=None),
                ratio=plan.constant.ratio,
                max_depth=plan.constant.max_depth,
                codec=codec,
                fps_in=plan.fps_in,
                variable=plan.variable,
                first_time=index.seconds(0),
                width=info.width,
                height=info.height,
                encoding=plan.encoding,
                passthrough=bool(reader.passthrough),
                bits=plan.bits,
            )
            total = math.ceil(len(index) * retiming.ratio)
            stats, more = _run_segmented(job, segments, interpolator, output, options, total, reader=reader)
            return _video_result(output, stats, plan, options, [*notes, *more])
        timeline: VariableRateRetiming | None = None
        if plan.variable:
            timeline = retiming = VariableRateRetiming(plan.constant, plan.fps_in)
        interpolator, memory, memory_notes = _plan_memory(
            interpolator, info.height, info.width, options, codec=plan.codec, video=True,
            ratio=retiming.ratio, bits=plan.bits,
        )  # fmt: skip
        stats = RetimeStats()
        writer = open_writer(
            output,
            width=info.width,
            height=info.height,
            codec=options.codec,
            passthrough=reader.passthrough,
            slow_motion=plan.slow_motion,
            overwrite=options.overwrite,
            **plan.encoding,
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
                montage = open_writer(
                    options.montage, width=2 * info.width, height=info.height, **plan.encoding
                )
            _run_stages(
                _timed_frames(reader, copy_packet, timeline, options.start, options.duration, plan.bits),
                write,
                interpolator,
                retiming,
                options,
                stats,
                hold_tail=True,
                source=str(source),
                total=total,
                flow_ahead=memory.flow_ahead,
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
    notes = [*notes, *memory_notes, *reader.notes, *writer.notes]
    if timeline is not None:
        notes += _video_notes(
            plan, options, retiming.max_error, timeline.gaps, timeline.held, timeline.longest
        )
    else:
        notes += _video_notes(plan, options, retiming.max_error, 0, 0, Fraction(1))
    return _video_result(output, stats, plan, options, notes)


def _video_result(
    output: Path, stats: RetimeStats, plan: _VideoPlan, options: InterpolateOptions, notes: list[str]
) -> JobResult:
    return JobResult(
        "video",
        output,
        stats,
        fps_in=plan.fps_in,
        fps_out=plan.fps_out,
        notes=notes,
        slow_motion=options.slowmo,
    )


def _video_segments(
    reader: VideoReader, options: InterpolateOptions
) -> tuple[FrameIndex | None, list[Segment], list[str]]:
    """The frame index and segments of a video (one segment: run in one pass), and a note if a long
    video cannot be cut."""
    info = reader.info
    length = max(1, round(options.segment_seconds * info.fps))
    one = [Segment(0, 0, None, 0)]
    if options.montage is not None or (info.frame_count is not None and info.frame_count <= 2 * length):
        return None, one, []
    index = reader.frame_index()
    if index is None:
        if info.frame_count and info.frame_count > 2 * length:
            return (
                None,
                one,
                [
                    f"{info.path.name}: its frames cannot be found by timestamp, so it runs in one pass "
                    "(no segments: a stop cannot be resumed and --jobs/--cluster do not apply)"
                ],
            )
        return None, one, []
    return index, plan_segments(len(index), length, index.keyframes, index.pts), []


def _timed_frames(
    reader: VideoReader,
    on_packet: Callable,
    timeline: VariableRateRetiming | None,
    start: float = 0.0,
    duration: float | None = None,
    bits: int = 8,
) -> Iterator[np.ndarray]:
    """The reader's RGB frames (uint8, or uint16 for ``bits`` 16: :func:`sepgan.media.reader.to_rgb`);
    each frame's timestamp goes to ``timeline`` before the frame is yielded.

    ``start``/``duration`` (seconds from the input's origin, as ffmpeg's ``-ss``/``-t``): only the
    frames shown from ``start`` to ``start + duration``, and the audio and subtitle packets that start
    in that span, their timestamps moved back by ``start`` (the output starts at 0). The decode seeks
    to the keyframe before ``start`` where the frames can be found by timestamp (:func:`_decoded_from`).
    """
    begin = Fraction(start)
    end = None if duration is None else begin + Fraction(duration)
    epsilon = Fraction(1, 10**6)  # seconds; a frame exactly on a bound is inside it, as in the study

    def trimmed_packet(packet) -> None:
        time_base = Fraction(packet.time_base)
        time = _packet_seconds(packet)
        if time + epsilon >= begin and (end is None or time < end - epsilon):
            shift = round(begin / time_base)
            packet.dts -= shift
            if packet.pts is not None:
                packet.pts -= shift
            on_packet(packet)

    trimming = begin > 0 or end is not None
    decoded = (
        _decoded_from(reader, begin, trimmed_packet)
        if begin > 0
        else reader.decoded(trimmed_packet if trimming else on_packet)
    )
    for frame in decoded:
        if trimming and frame.pts is not None and frame.time_base is not None:
            time = frame.pts * Fraction(frame.time_base) - reader.origin
            if time + epsilon < begin:
                continue
            if end is not None and time >= end - epsilon:
                break
        _add_time(timeline, frame)
        yield to_rgb(frame, colour=reader.colour, bits=bits)
    if timeline is not None:
        timeline.finish()


def _preroll(reader: VideoReader, begin: Fraction, epsilon: Fraction) -> tuple[int, ...] | None:
    """The timestamps (the video stream's time base) of the frames a trimmed decode starts with: from
    the keyframe before the frame before the first one shown at ``begin`` (seconds from the origin) to
    that first one. None when seeking gains nothing (that keyframe is the first frame, or ``begin`` is
    past the last) or the frames cannot be found by timestamp (:meth:`VideoReader.frame_index`).

    The frame before the first kept one is decoded too, so that a deinterlacer (bwdif) has the previous
    frame it has when the video is decoded from the start.
    """
    index = reader.frame_index()
    if index is None:
        return None
    # Kept, as in _timed_frames: pts · time_base − origin + epsilon ≥ begin.
    first = bisect.bisect_left(index.pts, math.ceil((begin - epsilon + reader.origin) / index.time_base))
    if first >= len(index):
        return None
    keyframe = index.keyframe_before(max(first - 1, 0))
    return index.pts[keyframe : first + 1] if keyframe > 0 else None


def _decoded_from(reader: VideoReader, begin: Fraction, on_packet: Callable) -> Iterator:
    """The reader's decoded frames from the first one shown at ``begin`` (seconds from the origin; those
    before may come too), found by a seek rather than decoded from the start, and the other streams'
    packets to ``on_packet`` from the start, each before the first frame at or after its time.

    The seek goes to the keyframe before (:func:`_preroll`) and every frame decoded from there to the
    first one kept must be where the frame index says, as a segment's decode checks; a seek that lands
    elsewhere (or a file without an index) is decoded from the start instead, as without a seek. The
    frames are then the same either way. The other streams are read from a second opening of the file
    from its start (a demux without the video: reading, no decoding), so that no audio or subtitle
    packet stored before the keyframe is lost.
    """
    expected = _preroll(reader, begin, Fraction(1, 10**6))
    if expected is None:
        yield from reader.decoded(on_packet)
        return
    frames = reader.decoded(start=expected[0])
    checked, first_kept = 0, None
    for frame in frames:
        if frame.pts != expected[checked]:
            break
        checked += 1
        if checked == len(expected):
            first_kept = frame
            break
    if checked < len(expected):  # a seek that landed elsewhere: the same frames, decoded from the start
        frames.close()
        with VideoReader(reader.path) as fresh:
            try:
                yield from fresh.decoded(on_packet)
            finally:
                reader.notes.extend(fresh.notes)
        return
    with VideoReader(reader.path) as others:
        packets = others.other_packets()
        waiting = next(packets, None)
        for frame in itertools.chain([first_kept], frames):
            shown = frame.pts * Fraction(frame.time_base) - reader.origin
            while waiting is not None and _packet_seconds(waiting) <= shown:
                on_packet(waiting)
                waiting = next(packets, None)
            yield frame
        while waiting is not None:  # the video ended first: the rest (the caller keeps what it trims to)
            on_packet(waiting)
            waiting = next(packets, None)


def _packet_seconds(packet) -> Fraction:
    """When a packet (of a stream beside the video) starts, in seconds: its pts, else its dts."""
    return (packet.pts if packet.pts is not None else packet.dts) * Fraction(packet.time_base)


def _add_time(timeline: VariableRateRetiming | None, frame) -> None:
    if timeline is not None:
        time_base = frame.time_base
        timeline.add(
            None if frame.pts is None or time_base is None else frame.pts * Fraction(time_base),
            Fraction(frame.duration) * Fraction(time_base) if frame.duration and time_base else None,
        )


# ---------------------------------------------------------------------------
# Segments (sepgan.segments): one segment's part, and the run of them all
# ---------------------------------------------------------------------------

FOLDER_FPS = 25  # a frame folder has no rate: segment_seconds counts frames at this one


@dataclass(frozen=True)
class SegmentJob:
    """What any worker needs to make any segment's part of a job (picklable: processes, Ray)."""

    source: Path
    options: InterpolateOptions
    ratio: Fraction
    max_depth: int | None
    codec: str  # one of sepgan.media.formats.CODECS
    work: Path = Path()
    paths: tuple[Path, ...] = ()  # a frame folder's frames
    fps_in: Fraction = Fraction(1)
    variable: bool = False
    first_time: Fraction | None = None
    width: int = 0
    height: int = 0
    encoding: dict = field(default_factory=dict)
    passthrough: bool = False  # the input has audio or subtitles (for a PNG part's note)
    bits: int = 8  # bits per channel of the frames: 16 (uint16) for deeper video whose output keeps them


class _Misplaced(Exception):
    """A segment's decode did not find the frames its index lists: decode from the start instead."""


def run_segment(
    interpolator: Interpolator, task: tuple[SegmentJob, Segment], progress: Callable[[int], None]
) -> dict:
    """Make one segment's part in the job's work folder; returns its journal entry.

    The entry: ``file`` (None if the segment has no output frames), ``first`` (its first output
    frame), ``frames``, ``stats`` (a :class:`RetimeStats` as JSON) and ``notes``.
    """
    job, segment = task
    try:
        return _segment_part(interpolator, job, segment, progress)
    except _Misplaced:  # a stream whose seek lands elsewhere: the same frames, decoded from the start
        return _segment_part(
            interpolator, job, replace(segment, decode_from=0, seek=None, expected=None), progress
        )


def _segment_frames(job: SegmentJob, segment: Segment, timeline, notes: list[str]) -> Iterator[np.ndarray]:
    """The RGB frames ``segment.decode_from … last_read`` (to the end for the last segment), each
    timestamp to ``timeline`` first. A video's decode seeks to ``segment.seek`` and checks every frame
    against the index; :class:`_Misplaced` when one is not where the index says."""
    if job.paths:
        stop = None if segment.last_read is None else segment.last_read + 1
        yield from (load_image_uint8(path) for path in job.paths[segment.decode_from : stop])
        return
    with VideoReader(job.source) as reader:
        index = 0
        expected = segment.expected
        for frame in reader.decoded(start=segment.seek):
            if expected is not None:  # frame decode_from + index, which must be where the index says
                if frame.pts is not None and frame.pts < expected[0]:
                    continue  # from the keyframe before the context
                if index < len(expected) and frame.pts != expected[index]:
                    raise _Misplaced
            _add_time(timeline, frame)
            yield to_rgb(frame, colour=reader.colour, bits=job.bits)
            index += 1
            if segment.last_read is not None and segment.decode_from + index > segment.last_read:
                return
        if expected is not None and index < len(expected):
            raise _Misplaced  # fewer frames than the index lists
        if timeline is not None:
            timeline.finish()
        notes.extend(reader.notes)


def _segment_part(
    interpolator: Interpolator, job: SegmentJob, segment: Segment, progress: Callable[[int], None]
) -> dict:
    stats = RetimeStats()
    constant = ConstantRateRetiming(job.ratio, job.max_depth)
    retiming: Retiming = constant
    timeline = None
    if job.variable:
        timeline = retiming = VariableRateRetiming(
            constant,
            job.fps_in,
            first_time=job.first_time,
            first_index=segment.decode_from,
            counted=(segment.first, segment.end),
        )
    name = f"part-{segment.index:05d}" + ("" if job.codec == "png" else ".nut")
    part = job.work / name
    writer: VideoWriter | PngSequenceWriter | None = None
    notes: list[str] = []

    def write(item: tuple[np.ndarray, np.ndarray]) -> None:
        nonlocal writer
        started = time.perf_counter()
        if writer is None:  # numbered from the segment's first output frame, known once retime made it
            writer = _part_writer(job, part, stats.first_output or 0)
        writer.write(item[0])
        stats.seconds["encode"] += time.perf_counter() - started
        progress(1)

    # The worker's own share of the memory budget: the plan a one-pass run of this input would make.
    interpolator, memory, memory_notes = _plan_memory(
        interpolator,
        job.height,
        job.width,
        job.options,
        codec=job.codec,
        video=not job.paths,
        ratio=job.ratio,
        bits=job.bits,
    )
    notes += memory_notes
    try:
        _run_stages(
            _segment_frames(job, segment, timeline, notes),
            write,
            interpolator,
            retiming,
            job.options,
            stats,
            hold_tail=not job.paths,
            source=str(job.source),
            total=None,
            window=Window(segment.decode_from, segment.first, segment.end),
            flow_ahead=memory.flow_ahead,
        )
        if writer is not None:
            writer.close()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    read = stats.frames_in
    stats.frames_in = (segment.end if segment.end is not None else segment.decode_from + read) - segment.first
    return {
        "file": name if writer is not None else None,
        "first": stats.first_output,
        "frames": stats.frames_out,
        "stats": _stats_json(stats),
        "timeline": [timeline.gaps, timeline.held, str(timeline.longest)] if timeline is not None else None,
        "notes": notes + (writer.notes if writer is not None else []),
    }


def _part_writer(job: SegmentJob, part: Path, first: int) -> VideoWriter | PngSequenceWriter:
    if job.codec == "png":
        presentation = job.encoding.get("presentation")
        return PngSequenceWriter(part, presentation=presentation, first_index=first, passthrough=())
    encoding = dict(job.encoding)
    fps = encoding.pop("fps")
    encoding["container_info"] = None  # the join writes the file's tags and chapters, once
    encoding["start_time"] = encoding["start_time"] + Fraction(first) / fps
    return VideoWriter(part, fps=fps, width=job.width, height=job.height, codec=job.codec, **encoding)


def _stats_json(stats: RetimeStats) -> dict:
    return {
        "frames_in": stats.frames_in,
        "frames_out": stats.frames_out,
        "interpolated": stats.interpolated,
        "network_midpoints": stats.network_midpoints,
        "scene_cuts": stats.scene_cuts,
        "static_pairs": stats.static_pairs,
        "held_frames": stats.held_frames,
        "accelerated_pairs": stats.accelerated_pairs,
        "max_error": str(stats.max_error),
        "seconds": stats.seconds,
    }


def _sum_stats(entries: list[dict]) -> RetimeStats:
    total = RetimeStats()
    for entry in entries:
        stats = entry["stats"]
        for name in (
            "frames_in",
            "frames_out",
            "interpolated",
            "network_midpoints",
            "scene_cuts",
            "static_pairs",
        ):
            setattr(total, name, getattr(total, name) + stats[name])
        total.accelerated_pairs += stats.get("accelerated_pairs", 0)  # absent from older journals
        total.held_frames += stats.get("held_frames", 0)
        total.max_error = max(total.max_error, Fraction(stats["max_error"]))
        for name, seconds in stats["seconds"].items():
            total.seconds[name] = total.seconds.get(name, 0.0) + seconds
    return total


def _runner(options: InterpolateOptions, interpolator: Interpolator):
    if options.cluster is not None:
        return RayRunner(options.model, options.cluster, actors=options.jobs if options.jobs > 1 else None)
    if options.jobs > 1:
        return ProcessRunner(options.model, options.jobs)
    return InlineRunner(lambda: interpolator)


def _job_header(job: SegmentJob, segments: list[Segment], options: InterpolateOptions) -> dict:
    """The journal's description of the job: a resume must match it (:class:`sepgan.segments.Journal`)."""
    chosen = {
        "factor": options.factor,
        "fps": None if options.fps is None else str(options.fps),
        "slowmo": options.slowmo,
        "max_depth": options.max_depth,
        "codec": options.codec,
        "crf": check_crf(options.crf, job.codec),
        "encoder_preset": check_encoder_preset(options.encoder_preset, job.codec),
        "start": options.start,
        "duration": options.duration,
        "scene_threshold": options.scene_threshold,
        "static_tolerance": options.static_tolerance,
        "segment_seconds": options.segment_seconds,
        "max_memory_mb": options.max_memory_mb,  # it may tile the network call
        **(options.model.identity() if options.model is not None else {}),
    }
    return {
        "version": JOURNAL_VERSION,
        "input": input_identity(job.source),
        "options": chosen,
        "segments": [[segment.first, segment.end] for segment in segments],
    }


class _Advance(contextlib.nullcontext):
    """A batch's progress callback in place of a job's own bar (``update(n)``, a context manager)."""

    def __init__(self, advance: Callable[[int], object]) -> None:
        super().__init__()
        self.update = advance


def _run_segmented(
    job: SegmentJob,
    segments: list[Segment],
    interpolator: Interpolator,
    output: Path,
    options: InterpolateOptions,
    total: int | None,
    reader: VideoReader | None = None,
) -> tuple[RetimeStats, list[str]]:
    """Run ``segments`` (those the journal lacks), join their parts into ``output``; stats and notes."""
    journal, notes = Journal.open(
        output, _job_header(job, segments, options), resume=options.resume, restart=options.restart
    )
    job = replace(job, work=journal.folder)
    bar = (
        _Advance(options.advance_progress)
        if options.advance_progress
        else tqdm(
            total=total,
            unit="frame",
            desc="interpolate",
            disable=None if options.progress else True,
            dynamic_ncols=True,
        )
    )
    done_frames = sum(part["frames"] for part in journal.parts.values())
    bar.update(done_frames)
    try:
        with bar:
            entries = run_segments(
                _runner(options, interpolator),
                run_segment,
                [(s.index, (job, s)) for s in segments],
                journal,
                bar.update,
            )
    except KeyboardInterrupt as interruption:  # Ctrl-C, SIGTERM, SIGHUP: say what is kept, how to go on
        raise Interrupted(
            f"{len(journal.parts)} of {len(segments)} segments are complete in {journal.folder}; "
            "the same command with --resume continues the job",
            signal_number=getattr(interruption, "signal_number", signal.SIGINT),
        ) from None
    started = time.perf_counter()
    files = [(journal.folder / entry["file"], entry) for entry in entries if entry["file"]]
    if job.codec == "png":
        join_png(output, [path for path, _ in files], overwrite=options.overwrite)
        if reader is not None and reader.passthrough:
            notes.append(
                f"{len(reader.passthrough)} other stream(s) (audio, subtitles …) dropped: "
                "a PNG sequence has none"
            )
    else:
        assert reader is not None
        notes += join_video(
            output,
            [Part(path, entry["first"], entry["frames"]) for path, entry in files],
            fps=job.encoding["fps"],
            width=job.width,
            height=job.height,
            codec=job.codec,
            start_time=job.encoding["start_time"],
            source=reader,
            presentation=job.encoding["presentation"],
            container_info=job.encoding["container_info"],
            slow_motion=options.slowmo or 1,
        )
    journal.remove()
    stats = _sum_stats(entries)
    stats.seconds["encode"] += time.perf_counter() - started
    seen = set()
    for entry in entries:
        for note in entry["notes"]:
            if note not in seen:
                seen.add(note)
                notes.append(note)
    if job.variable or (not job.paths and options.fps is not None):
        timelines = [entry["timeline"] for entry in entries if entry["timeline"]]
        gaps = sum(t[0] for t in timelines)
        held = sum(t[1] for t in timelines)
        longest = max((Fraction(t[2]) for t in timelines), default=Fraction(1))
        constant = ConstantRateRetiming(job.ratio, job.max_depth)
        plan = _VideoPlan(
            job.fps_in, job.encoding["fps"], constant, job.variable, options.slowmo or 1, job.encoding,
            job.codec, job.bits,
        )  # fmt: skip
        # The plan's worst case, as VariableRateRetiming.max_error gives it in one pass.
        max_error = constant.max_error
        if job.variable and gaps and job.max_depth is not None:
            max_error = Fraction(1, 2 ** (job.max_depth + 1))
        notes += _video_notes(plan, options, max_error, gaps, held, longest)
    return stats, notes


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
        if source.is_dir() and output.resolve().is_relative_to(source.resolve()):  # it would add to the input
            raise InterpolationError(
                f"output {output} is inside the input folder {source}; choose a path outside it"
            )
    if output.exists() and not (output.is_file() or output.is_dir()):  # the rename would replace it
        raise InterpolationError(
            f"{output} is not a regular file (a FIFO, a device or a socket); "
            "write to a new path or an existing file"
        )
    folder = output.resolve().parent
    if not folder.is_dir():
        raise InterpolationError(f"{output}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InterpolationError(f"{output}: cannot write to folder {folder} (permission denied)")


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def _animated_frames(path: Path) -> tuple[str, int]:
    """(format, frame count) of an image file by Pillow: ("GIF", 24) for an animated GIF;
    ("", 1) if unreadable."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return image.format or "", int(getattr(image, "n_frames", 1))
    except Exception:  # noqa: BLE001 - Pillow raises many kinds; load_image_uint8 says what is wrong
        return "", 1


def run_interpolate(  # noqa: C901  a linear chain of input checks, each with its own error message
    inputs: list[Path],
    output: Path | None,
    options: InterpolateOptions,
    make_interpolator: Callable[[], Interpolator],
    *,
    report: Callable[[BatchOutcome], object] | None = None,
) -> JobResult | BatchResult:
    """Decide what ``inputs`` are (a pair, a folder, a video), check everything, then load the model
    and run.

    Several videos and frame folders, a folder of videos, or no ``output`` (an auto-named one) make
    a batch: :func:`sepgan.batch.run_batch` runs each input through this function, with one model,
    calls ``report`` as each input ends and returns a :class:`~sepgan.batch.BatchResult`.
    """
    from sepgan.batch import is_batch, run_batch  # sepgan.batch imports this module

    inputs = [Path(path) for path in inputs]
    output = None if output is None else Path(output)
    check_factor_or_fps(options.factor, options.fps)
    if options.slowmo is not None:
        check_slowmo(options.slowmo, factor=options.factor, fps=options.fps)
        check_rate(
            Fraction(options.slowmo),  # N× the frames, as N× the rate would make
            parameter="slowmo",
            value=options.slowmo,
            allow_high_fps=options.allow_high_fps,
        )
    if options.factor is not None:
        check_rate(
            Fraction(check_factor(options.factor)),
            parameter="factor",
            value=options.factor,
            allow_high_fps=options.allow_high_fps,
        )
    check_max_depth(options.max_depth)
    codec = check_codec(options.codec)  # "auto": the output's own (H.264's ranges where it has none)
    if codec == "auto" and output is not None and not is_batch(inputs):
        with contextlib.suppress(VideoError):
            codec = output_codec(output)
    check_crf(options.crf, codec)
    check_encoder_preset(options.encoder_preset, codec)
    check_trim(options.start, options.duration)
    check_jobs(options.jobs)
    check_segment_seconds(options.segment_seconds)
    if options.resume and options.restart:
        raise InterpolationError("{resume} and {restart} exclude each other", parameter=("resume", "restart"))
    if (options.jobs > 1 or options.cluster is not None) and options.model is None:
        raise InterpolationError(
            "{jobs} and {cluster} load the model in each worker: give it as options.model (a ModelSpec)",
            parameter=("jobs", "cluster"),
        )
    check_scene_threshold(options.scene_threshold)
    if output is None or is_batch(inputs):
        return run_batch(inputs, output, options, make_interpolator, report=report)
    for path in inputs:
        if not path.exists():
            raise InterpolationError(f"{path}: no such file or folder")
    if options.montage is not None and _same_path(options.montage, output):
        raise InterpolationError(
            "{montage} {path} is also the {output}: give them two different files",
            parameter=("montage", "output"),
            path=options.montage,
        )
    _check_output(inputs + ([options.montage] if options.montage else []), output)
    if options.montage is not None:
        _check_output(inputs, options.montage)
    check_overwrite(output, options.overwrite)
    if options.montage is not None:
        check_overwrite(options.montage, options.overwrite)

    if (options.start > 0 or options.duration is not None) and (len(inputs) == 2 or inputs[0].is_dir()):
        raise InterpolationError(
            "{start} and {duration} trim a video; cut a frame folder by moving its files",
            parameter=("start", "duration"),
        )
    if len(inputs) == 2:
        if not all(path.is_file() for path in inputs):
            raise InterpolationError("two inputs must be two image files (frame0 and frame1)")
        if options.montage is not None:
            raise InterpolationError(
                "{montage} shows a video beside its input; an image pair has no video to show",
                parameter="montage",
            )
        if options.slowmo is not None:
            raise InterpolationError(
                "an image pair gives one middle frame; {slowmo} needs a video (or a frame folder)",
                parameter="slowmo",
            )
        if options.fps is not None or (options.factor or 2) != 2:
            raise InterpolationError(
                "an image pair gives one middle frame; use a frame folder for --factor 3 or more"
            )
        if not _is_image(output):
            raise InterpolationError(f"{output}: the middle frame of a pair is an image; use e.g. mid.png")
        for path in inputs:
            load_image_uint8(path)  # fail on grayscale/RGBA/16-bit before loading the model
        return interpolate_pair(make_interpolator(), inputs[0], inputs[1], output, options)
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
        if options.montage is not None:
            raise InterpolationError(
                "{montage} shows a video beside its input; for a frame folder compare the frames, "
                "or make a video of them first",
                parameter="montage",
            )
        return interpolate_folder(make_interpolator(), source, output, options)
    if _is_image(source):
        image_format, count = _animated_frames(source)
        if count > 1:  # GIF, APNG, animated WebP: FFmpeg reads GIF's alpha as bgra, which sepgan refuses
            example = (
                ""
                if image_format == "WEBP"
                else f", e.g. ffmpeg -i {source.name} -c:v ffv1 -pix_fmt bgr0 clip.mkv"
            )
            raise InterpolationError(
                f"{source}: animated {image_format or 'image'} ({count} frames): "
                f"convert it to a video first{example}"
            )
        raise InterpolationError(f"{source} is a single image; pass two images, a frame folder or a video")
    chosen = output_codec(output, options.codec)  # reject a bad suffix/codec before decoding
    check_crf(options.crf, chosen)
    check_encoder_preset(options.encoder_preset, chosen)
    if options.montage is not None and output_codec(options.montage) == "png":
        raise InterpolationError(
            "{montage} {path}: give a video file name such as montage.mp4",
            parameter="montage",
            path=options.montage,
        )
    with VideoReader(source) as reader:  # opens and describes the container; corrupt files fail here
        if options.fps is not None:
            check_rate(
                options.fps / reader.info.fps,
                parameter="fps",
                value=format_fps(options.fps),
                allow_high_fps=options.allow_high_fps,
            )
    return interpolate_video(make_interpolator(), source, output, options)
