"""``sepgan study create``: turn an original and its candidates into browser-ready study clips.

What it does to every source video, through PyAV (no ffmpeg command line):

1. *Trim*: every source is cut to the same time span, ``[start, start + duration)``
   seconds from its own first frame, so clips of different frame rates (30 vs 60
   vs 120000/1001) show the same moment. Frame times come from the timestamps;
   variable-rate sources (AVI with dropped-frame markers) are resampled to their
   nominal rate by holding each frame until the next, as a player shows them.
   The span can be split into ``segments`` clips.
   *Same duration, same start*: every arm of a clip starts at time 0 and lasts
   exactly the span (an exact rational, within 1 ms of what was asked), whatever
   its frame rate: each arm shows the frames whose whole period fits, and its last
   frame is held to the end of the span. Otherwise the arm with the longest frame
   period outlasts the others (59 frames at 25 fps last 2.36 s, 140 at 60 fps
   2.333 s) and, side by side, the original is the clip that keeps playing.
2. *Align* sizes: all clips get the original's size, cropped to even width and
   height (H.264 4:2:0 needs even sizes). A candidate with a different size but
   the same aspect ratio is scaled to it, and the config records ``scaled_from``;
   a different aspect ratio is an error, not a silent stretch.
3. *Encode* H.264 through sepgan's one writer (libx264, yuv420p, the colour
   matrix players assume at the clips' size, tagged; CRF 14 by default: visually
   near-lossless, so the study judges the method, not our encoder), in MP4 with ``+faststart``
   so playback starts before the whole file arrives, at the source's true frame
   rate as an exact rational. Audio is dropped: the study is about motion.
4. *Slow motion* (optional): ½ and ¼ speed copies by frame retiming, i.e. the
   same frames, each shown 2× or 4× as long (a 120 fps clip at ½ speed plays at
   60 fps). This lets 120 fps content be judged on a 60 Hz display.

Limits: when a source's timestamps are missing or out of order, frame i is taken
to be at i / fps (recorded as ``timing`` in the config notes). Frames stream
from decoder to encoder one at a time (each source is decoded once per speed),
so memory stays small, but CRF 14 encoding of long, large clips is slow: studies
use a few seconds per clip.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from sepgan.atomic import atomic_output, check_overwrite
from sepgan.media.formats import VideoError
from sepgan.media.reader import VideoReader, to_rgb
from sepgan.media.writer import VideoWriter
from sepgan.options import (
    DEFAULT_X264_PRESET,
    STUDY_ATTENTION_CHECKS,
    STUDY_CONSENT,
    STUDY_CRF,
    STUDY_LAYOUT,
    STUDY_SECONDS_PER_ANSWER,
    STUDY_TITLE,
    check_completion_code,
)
from sepgan.study.config import (
    Clip,
    Comparison,
    Media,
    Method,
    StudyConfig,
    StudyError,
    save_config,
)

logger = logging.getLogger(__name__)

SLOW_MOTION_SPEEDS = (0.5, 0.25)
_EPS = 1e-6  # seconds; absorbs float error when a frame time equals a span boundary


@dataclass(frozen=True)
class SourceInfo:
    path: Path
    fps: Fraction  # the output rate: the stream's nominal rate, exact
    times: tuple[float, ...]  # presentation time of each decoded frame, from the first, seconds
    width: int
    height: int
    timing: str  # "timestamps" (VFR-safe) or "frame index" (timestamps unusable: i / fps)

    @property
    def frames(self) -> int:
        return len(self.times)

    @property
    def duration(self) -> float:
        return self.times[-1] + float(1 / self.fps)


def probe(path: Path) -> SourceInfo:
    """Frame rate (exact), per-frame times and size of a video file's first video stream.

    Decodes the whole stream: container frame counts are missing or wrong in some
    formats (AVI with dropped-frame markers, raw streams), and decoding also proves
    that the file is sound.
    """
    if path.is_dir():
        raise StudyError(f"{path}: is a folder, not a video file")
    if not path.is_file():
        raise StudyError(f"{path}: no such file")
    try:
        with VideoReader(path) as reader:
            fps = reader.info.nominal_fps
            width, height = reader.info.width, reader.info.height
            stamps = [frame.time for frame in reader.decoded()]
    except VideoError as exc:
        raise StudyError(f"cannot decode video: {exc}") from exc
    if not fps:
        raise StudyError(f"{path}: unknown frame rate")
    if not stamps:
        raise StudyError(f"{path}: contains no decodable frames")
    # Timestamps are trusted only when present and strictly increasing in decode output
    # order; some muxers write them scrambled, and then frame i is taken to be at i / fps.
    usable = all(t is not None for t in stamps) and all(b > a for a, b in itertools.pairwise(stamps))
    if usable:
        times = tuple(float(t) - float(stamps[0]) for t in stamps)
        timing = "timestamps"
    else:
        times = tuple(float(i / fps) for i in range(len(stamps)))
        timing = "frame index"
    return SourceInfo(path=path, fps=fps, times=times, width=width, height=height, timing=timing)


def _slot_times(fps: Fraction, start: float, span: Fraction) -> list[float]:
    """Source times (seconds) of one arm's output frames: ``start + k / fps`` for every frame
    whose whole period fits in the span (at least one).

    The last frame is then held until the span ends (:class:`VideoWriter`'s
    ``duration``), so every arm lasts exactly ``span`` and starts at the same
    moment, whatever its rate (25 fps: 58 frames in 7/3 s, the last held 2/3 of
    a period longer; 60 fps: 140). A frame that would start in the last partial
    period is not shown, as a player holding the previous frame would not.
    """
    count = max(1, math.floor(span * fps + _EPS))
    return [start + float(k / fps) for k in range(count)]


def _decode_rgb(info: SourceInfo, slots: Sequence[float], width: int, height: int) -> Iterator[np.ndarray]:
    """Yield one H×W×3 uint8 RGB frame per output slot (a source time, seconds), scaled then cropped.

    Each slot shows the latest source frame whose time is <= the slot's time, as a
    player would (sample and hold). For constant-rate sources on the slot grid that
    is frame i itself; for variable-rate sources (AVI with dropped frames) frames
    are repeated.
    """
    with VideoReader(info.path) as reader:
        source_w, source_h = reader.info.width, reader.info.height
        # Scale so the short side fits, then crop the (at most 1 px) remainder to even size.
        scale = max(width / source_w, height / source_h)
        scaled_w, scaled_h = max(width, round(source_w * scale)), max(height, round(source_h * scale))
        decoded = enumerate(reader.decoded())
        current_index, current_frame = next(decoded)
        upcoming = next(decoded, None)
        cached: tuple[int, np.ndarray] | None = None
        for slot in slots:
            slot_time = slot + _EPS
            while upcoming is not None and info.times[upcoming[0]] <= slot_time:
                current_index, current_frame = upcoming
                upcoming = next(decoded, None)
            if cached is None or cached[0] != current_index:
                rgb = to_rgb(current_frame, (scaled_w, scaled_h), colour=reader.colour)
                cached = (current_index, np.ascontiguousarray(rgb[:height, :width]))
            yield cached[1]


def _encode(
    frames: Iterator[np.ndarray],
    size: tuple[int, int],
    fps: Fraction,
    duration: Fraction,
    out_path: Path,
    crf: int,
    preset: str,
) -> int:
    """Encode RGB frames as H.264 yuv420p MP4 (+faststart) at exactly ``fps``, lasting exactly
    ``duration`` seconds from time 0; returns the frame count.

    Through sepgan's one writer (:class:`sepgan.media.writer.VideoWriter`): every
    arm of a study gets the same size, so the same colour matrix (BT.709 for HD,
    BT.601 below) and the same colour tags, and a one-second GOP keeps seeking cheap.
    """
    width, height = size
    first = next(frames, None)
    if first is None:
        return 0
    with VideoWriter(
        out_path, fps=fps, width=width, height=height, crf=crf, preset=preset,
        keyframe_interval=max(1, round(fps)), faststart=True, duration=duration,
    ) as writer:  # fmt: skip
        for rgb in itertools.chain([first], frames):
            writer.write(rgb)
    return writer.frames_written


def _exact_span(seconds: float) -> Fraction:
    """A clip's span as an exact rational with a denominator of at most 1000 (7/3 for 2.333…),
    so that every arm's file can last exactly as long (within 1 ms of what was asked)."""
    return Fraction(seconds).limit_denominator(1000)


def _check_participant_texts(consent: str, minutes: int | None, completion_code: str | None) -> None:
    if minutes is not None and minutes < 1:
        raise StudyError("{minutes} must be at least 1, got {value}", parameter="minutes", value=minutes)
    if not consent.strip():
        raise StudyError(
            "{consent} is empty: participants must be told what is recorded", parameter="consent"
        )
    check_completion_code(completion_code)


def _check_output_dir(out_dir: Path, inputs: Sequence[Path], overwrite: bool) -> None:
    resolved_out = out_dir.resolve()
    for source in inputs:
        if resolved_out == source.resolve().parent or resolved_out in source.resolve().parents:
            raise StudyError(f"{out_dir}: output folder contains the input {source}; choose another folder")
    if out_dir.exists():
        if not out_dir.is_dir():
            raise StudyError(f"{out_dir}: exists and is not a folder")
        check_overwrite(out_dir, overwrite)  # a folder with files in it is replaced only when asked
    parent = resolved_out.parent
    if not parent.is_dir():
        raise StudyError(f"{parent}: parent folder does not exist")
    if not os.access(parent, os.W_OK):
        raise StudyError(f"{parent}: not writable")


def _method_names(original: Path, candidates: Sequence[Path], names: Sequence[str] | None) -> list[str]:
    if names:
        if len(names) != len(candidates):
            raise StudyError(f"got {len(names)} --name values for {len(candidates)} candidates")
        chosen = ["original", *names]
    else:
        chosen = ["original", *(path.stem for path in candidates)]
    # Disambiguate repeated names (e.g. two files called out.mp4) with a suffix.
    seen: dict[str, int] = {}
    unique = []
    for name in chosen:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return unique


def _methods(
    infos: list[SourceInfo], names: list[str], width: int, height: int, notes: list[str]
) -> dict[str, Method]:
    """The study's methods (``m0`` the original), each shown at ``width`` × ``height``.

    A source whose aspect ratio differs from the original's raises; what will be
    scaled or resampled is appended to ``notes``.
    """
    reference = infos[0]
    methods: dict[str, Method] = {}
    for index, (info, name) in enumerate(zip(infos, names, strict=True)):
        aspect_gap = abs(info.width / info.height - reference.width / reference.height)
        if aspect_gap > 0.01 * reference.width / reference.height:
            raise StudyError(
                f"{info.path}: aspect ratio {info.width}×{info.height} differs from the original's "
                f"{reference.width}×{reference.height}"
            )
        scaled = (info.width, info.height) != (width, height) and (
            abs(info.width - width) > 1 or abs(info.height - height) > 1
        )
        if scaled:
            notes.append(f"{name}: scaled from {info.width}×{info.height} to {width}×{height}")
            logger.info(notes[-1])
        if info.timing != "timestamps":
            notes.append(f"{name}: timestamps unusable, frame i taken to be at i/{info.fps} s")
        elif info.frames < round(info.duration * info.fps) - 1:
            notes.append(
                f"{name}: variable frame rate ({info.frames} frames in {info.duration:.2f} s), resampled"
            )
        methods[f"m{index}"] = Method(
            name=name,
            role="original" if index == 0 else "candidate",
            source=str(info.path.resolve()),
            fps=str(info.fps),
            width=width,
            height=height,
            scaled_from=[info.width, info.height] if scaled else None,
        )
    return methods


def _encode_media(
    building: Path,
    methods: dict[str, Method],
    infos: list[SourceInfo],
    clips: dict[str, Clip],
    size: tuple[int, int],
    crf: int,
    preset: str,
) -> dict[str, Media]:
    """Transcode every method × clip into ``building/media`` under a random token; return them by token."""
    width, height = size
    media: dict[str, Media] = {}
    for method_key, info in zip(methods, infos, strict=True):
        for clip_key, clip in clips.items():
            span = _exact_span(clip.duration)
            slots = _slot_times(info.fps, clip.start, span)
            speed = Fraction(clip.speed)
            playback_fps = info.fps * speed
            token = secrets.token_urlsafe(16)
            relative = f"media/{token}.mp4"
            frames = _decode_rgb(info, slots, width, height)
            try:
                count = _encode(
                    frames, (width, height), playback_fps, span / speed, building / relative, crf, preset
                )
            except (av.FFmpegError, VideoError) as exc:
                raise StudyError(f"{info.path}: cannot transcode ({exc})") from exc
            if count == 0:
                raise StudyError(f"{info.path}: no frames in {clip.label}")
            media[token] = Media(
                method=method_key,
                clip=clip_key,
                path=relative,
                fps=str(info.fps),
                playback_fps=str(playback_fps),
                frames=count,
                width=width,
                height=height,
            )
    return media


def create_study(
    original: Path,
    candidates: Sequence[Path],
    out_dir: Path,
    *,
    names: Sequence[str] | None = None,
    start: float = 0.0,
    duration: float | None = None,
    segments: int = 1,
    slow_motion: bool = False,
    ask_artifacts: bool = False,
    layout: str = STUDY_LAYOUT,
    attention_checks: int = STUDY_ATTENTION_CHECKS,
    max_height: int | None = None,
    crf: int = STUDY_CRF,
    encoder_preset: str = DEFAULT_X264_PRESET,
    title: str = STUDY_TITLE,
    overwrite: bool = False,
    consent: str = STUDY_CONSENT,
    minutes: int | None = None,
    completion_code: str | None = None,
) -> StudyConfig:
    """Prepare a study folder: ``study.json`` plus ``media/<token>.mp4`` for every method × clip.

    The first page shows ``consent`` (the privacy text; the participant agrees before
    starting) and ``minutes``, the time taking part takes (None: estimated,
    :func:`estimate_minutes`); the last shows ``completion_code`` if given (for
    crowd-sourcing platforms; :func:`sepgan.options.check_completion_code`).

    ``encoder_preset``: x264's speed against size. An ``out_dir`` with files in it is refused
    unless ``overwrite`` (:func:`sepgan.atomic.check_overwrite`), and then replaced whole.

    The folder is built next to ``out_dir`` and renamed into place at the end, so an
    interrupted run leaves no half-made study behind.
    """
    original, out_dir = Path(original), Path(out_dir)
    candidates = [Path(path) for path in candidates]
    if not candidates:
        raise StudyError("need at least one --candidate")
    if layout not in ("side-by-side", "sequential"):
        raise StudyError(f"layout must be 'side-by-side' or 'sequential', got {layout!r}")
    if (
        not (math.isfinite(start) and start >= 0)  # nan and inf pass a plain comparison
        or (duration is not None and not (math.isfinite(duration) and duration > 0))
        or segments < 1
        or attention_checks < 0
    ):
        raise StudyError(
            "need {start} ≥ 0 and {duration} > 0 (finite seconds), {segments} ≥ 1, {attention_checks} ≥ 0",
            parameter=("start", "duration", "segments", "attention_checks"),
        )
    if max_height is not None and max_height < 2:
        raise StudyError("{max_height} must be at least 2", parameter="max_height")
    _check_participant_texts(consent, minutes, completion_code)
    sources = [original, *candidates]
    _check_output_dir(out_dir, sources, overwrite)
    method_names = _method_names(original, candidates, names)

    infos = [probe(path) for path in sources]
    available = min(info.duration for info in infos) - start
    if available <= 0:
        raise StudyError(
            "{start} {value:g}s is past the end of the shortest clip", parameter="start", value=start
        )
    if duration is None:
        duration = available
    elif duration > available + _EPS:
        raise StudyError(
            "{duration} {value:g}s is longer than the {available:g}s all clips share",
            parameter="duration",
            value=duration,
            available=available,
        )

    # Target size: the original's, optionally scaled down, then cropped to even numbers.
    reference = infos[0]
    ref_w, ref_h = reference.width, reference.height
    if max_height is not None and ref_h > max_height:
        ref_w, ref_h = round(ref_w * max_height / ref_h), max_height
    width, height = ref_w - ref_w % 2, ref_h - ref_h % 2
    if width < 2 or height < 2:
        raise StudyError(f"{original}: too small to encode ({reference.width}×{reference.height})")
    notes: list[str] = []
    methods = _methods(infos, method_names, width, height, notes)

    speeds = (1.0, *SLOW_MOTION_SPEEDS) if slow_motion else (1.0,)
    segment_length = float(_exact_span(duration / segments))
    clips: dict[str, Clip] = {}
    for segment in range(segments):
        for speed in speeds:
            clips[f"c{len(clips)}"] = Clip(
                segment=segment, start=start + segment * segment_length, duration=segment_length, speed=speed
            )

    comparisons: dict[str, Comparison] = {}
    for index in range(1, len(sources)):
        comparisons[f"k{len(comparisons)}"] = Comparison(a=f"m{index}", b="m0")
    for i in range(1, len(sources)):
        for j in range(i + 1, len(sources)):
            comparisons[f"k{len(comparisons)}"] = Comparison(a=f"m{i}", b=f"m{j}")

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # Built under a temporary name; an old folder (--force) is replaced only once the new one is complete.
    with atomic_output(out_dir.resolve(), folder=True, replace=True) as building:
        (building / "media").mkdir()
        media = _encode_media(building, methods, infos, clips, (width, height), crf, encoder_preset)
        config = StudyConfig(
            title=title,
            methods=methods,
            clips=clips,
            media=media,
            comparisons=comparisons,
            ask_artifacts=ask_artifacts,
            layout=layout,
            attention_checks=attention_checks,
            created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            notes=notes,
            consent=consent.strip(),
            completion_code=completion_code,
        )
        config.minutes = minutes if minutes is not None else estimate_minutes(config)
        save_config(config, building)
    return config


def estimate_minutes(config: StudyConfig, seconds_per_answer: float = STUDY_SECONDS_PER_ANSWER) -> int:
    """Whole minutes (at least 1) one participant needs: every trial's clips played once in full
    (twice as long one after the other), plus ``seconds_per_answer`` for each answer."""
    views = 2 if config.layout == "sequential" else 1
    seconds = 0.0
    for clip in config.clips.values():
        seconds += len(config.comparisons) * (clip.duration / clip.speed * views + seconds_per_answer)
    full_speed = [clip.duration for clip in config.clips.values() if clip.speed == 1.0] or [0.0]
    seconds += config.attention_checks * (max(full_speed) * views + seconds_per_answer)
    return max(1, math.ceil(seconds / 60))
