"""Reading: probing a video, the one decode loop, and the one frame iterator.

* **Streaming.** :class:`VideoReader` demuxes the input once, in file order,
  and yields decoded video frames one at a time; packets of the audio and
  subtitle streams are handed to a callback as they come, so the writer can
  copy them straight into the output while video frames are still being
  interpolated. Nothing holds more than a few frames, whatever the length.
* **Timing.** Timestamps are counted from the input's origin, the earliest
  start of its streams, as a stream copy counts them: MPEG-TS input (which
  starts at ~1.4 s) gives output that starts at 0, and the first video frame
  and the copied audio keep their offsets from it, so they stay in sync.
* **Colour, geometry, interlacing**: :mod:`sepgan.media.colour`,
  :mod:`sepgan.media.presentation`, :mod:`sepgan.media.deinterlace`.
* **Depth.** Frames are RGB uint8 H×W×3 (``rgb24``); ``bits=16`` reads
  uint16 (``rgb48le``, 0–65535) instead, for input of more than 8 bits per
  sample whose output keeps them (:func:`sepgan.media.writer.frame_bits`).
* **Frames of a video or a frame folder** (:func:`iter_frames`): RGB uint8
  H×W×3, in order, optionally every n-th and shrunk to a longest side, the
  one path by which ``--adapt``, ``sepgan prepare`` and evaluation read
  footage. Every shrink in sepgan is swscale's area average (:func:`to_rgb`,
  :func:`resize_area`), for decoded and loaded frames alike.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from sepgan.media.audio import has_parameters
from sepgan.media.colour import RANGE_PC, SWS_PRECISION, Colour, stream_colour
from sepgan.media.deinterlace import INTERLACED_FIELD_ORDERS, Deinterlacer
from sepgan.media.formats import VideoError, ffmpeg_reason
from sepgan.media.fps import nominal_fps, stream_fps
from sepgan.media.presentation import (
    ContainerInfo,
    Presentation,
    container_info,
    frame_display_matrix,
    stream_tags,
)

__all__ = [
    "FrameIndex",
    "VideoInfo",
    "VideoReader",
    "fit_within",
    "has_video_stream",
    "iter_frames",
    "main_video_stream",
    "moving_video_streams",
    "probe_video",
    "resize_area",
    "to_rgb",
]


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe_video` learns from the container without decoding."""

    path: Path
    width: int
    height: int
    fps: Fraction
    frame_count: int | None  # from the container; may be missing or approximate
    codec: str
    start_time: Fraction  # seconds, the first video timestamp
    audio_streams: int
    subtitle_streams: int
    nominal_fps: Fraction | None = None  # the rate the frames were shot at (:func:`nominal_fps`)

    @property
    def duration(self) -> float | None:
        return None if self.frame_count is None else float(self.frame_count / self.fps)


@dataclass(frozen=True)
class FrameIndex:
    """Where each video frame is, from the packets alone (no decoding): what a segment seeks by.

    ``pts``: every frame's presentation timestamp in display order, in ``time_base``
    units (seconds = pts × time_base), strictly increasing; ``keyframes``: the
    indices into ``pts`` of the frames a decoder can start from. Frame ``i`` of
    :meth:`VideoReader.decoded` is the frame at ``pts[i]``; a decode that starts at a
    keyframe checks that it is (:meth:`VideoReader.decoded` with ``start``).
    """

    pts: tuple[int, ...]
    keyframes: tuple[int, ...]
    time_base: Fraction
    durations_known: bool = True

    def __len__(self) -> int:
        return len(self.pts)

    def keyframe_before(self, index: int) -> int:
        """The last keyframe at or before frame ``index`` (0 if none is)."""
        import bisect

        position = bisect.bisect_right(self.keyframes, index)
        return self.keyframes[position - 1] if position else 0

    def seconds(self, index: int) -> Fraction:
        return self.pts[index] * self.time_base


def _open_input(path: Path) -> av.container.InputContainer:
    if not path.exists():
        raise VideoError(f"{path}: no such file")
    if not path.is_file():
        raise VideoError(f"{path}: not a file")
    try:
        return av.open(str(path), "r")
    except (av.FFmpegError, OSError, UnicodeDecodeError) as error:
        raise VideoError(
            f"{path}: cannot read video, corrupt or truncated? ({ffmpeg_reason(error)})"
        ) from error


# The RGB formats frames are read in, by bits per channel: uint8 and uint16 H×W×3 arrays.
_RGB_FORMATS = {8: "rgb24", 16: "rgb48le"}
# A picture, not a moving video: cover art (MP4's covr, an ID3 APIC) or a still image.
_PICTURE_DISPOSITIONS = av.stream.Disposition.attached_pic | av.stream.Disposition.still_image
# The stream types copied beside the interpolated video (reader.passthrough).
_PASSTHROUGH_TYPES = ("audio", "subtitle", "video", "attachment")
# Packets demuxed at most to tell a one-frame thumbnail track from the real video.
_STILL_SCAN_PACKETS = 1000


def moving_video_streams(container: av.container.InputContainer) -> list[av.video.stream.VideoStream]:
    """The video streams of ``container`` that are not cover art or marked as still images."""
    return [stream for stream in container.streams.video if not stream.disposition & _PICTURE_DISPOSITIONS]


def main_video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream:
    """The video stream sepgan interpolates: FFmpeg's choice (``av_find_best_stream``), never cover
    art and never a one-frame track (a Matroska thumbnail track before the real video).

    With several candidates, their first packets are counted (:func:`_packet_counts`) and those
    with one packet, stills, are passed over; of the rest, FFmpeg's choice, else the one with the
    most packets.
    Raises :class:`VideoError` when there is no video stream, or only cover art.
    """
    path = container.name
    candidates = moving_video_streams(container)
    if not candidates:
        pictures = " (only cover art, an attached picture)" if container.streams.video else ""
        raise VideoError(f"{path}: no video stream{pictures}")
    if len(candidates) == 1:
        return candidates[0]
    best = container.streams.best("video")
    counts = _packet_counts(path, [stream.index for stream in candidates])
    moving = [stream for stream in candidates if counts[stream.index] >= 2] or candidates
    if best in moving:
        return best
    return max(moving, key=lambda stream: counts[stream.index])


def _packet_counts(path: str, indices: list[int]) -> dict[int, int]:
    """Packets of the streams ``indices`` among the first 1000 of the file (until each has two), from
    a second opening (a demux, no decoding; the caller's container is not moved)."""
    counts = dict.fromkeys(indices, 0)
    try:
        with av.open(path, "r") as container:
            streams = [container.streams[index] for index in indices]
            for seen, packet in enumerate(container.demux(streams)):
                if packet.size:
                    counts[packet.stream.index] += 1
                if seen >= _STILL_SCAN_PACKETS or min(counts.values()) >= 2:
                    break
    except av.FFmpegError as error:
        raise VideoError(f"{path}: corrupt or truncated video ({ffmpeg_reason(error)})") from error
    return counts


def _describe(
    path: Path, container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> VideoInfo:
    fps = stream_fps(stream)
    if not fps or not stream.width or not stream.height:
        raise VideoError(f"{path}: video stream has no frame rate or size (corrupt or truncated?)")
    start = Fraction(0)
    if stream.start_time is not None and stream.time_base is not None:
        start = stream.start_time * Fraction(stream.time_base)
    return VideoInfo(
        path=path,
        width=stream.width,
        height=stream.height,
        fps=fps,
        frame_count=stream.frames or None,
        codec=stream.codec_context.name,
        start_time=start,
        audio_streams=len(container.streams.audio),
        subtitle_streams=len(container.streams.subtitles),
        nominal_fps=nominal_fps(stream),
    )


def has_video_stream(path: str | os.PathLike[str]) -> bool:
    """Whether FFmpeg reads a video stream from ``path``, whatever its suffix, cover art aside
    (False for any error)."""
    try:
        with av.open(str(path), "r") as container:
            return bool(moving_video_streams(container))
    except (av.FFmpegError, OSError, ValueError):
        return False


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Size, frame rate, frame count and streams of a video file; raises :class:`VideoError`."""
    path = Path(path)
    with _open_input(path) as container:
        return _describe(path, container, main_video_stream(container))


class VideoReader:
    """Streaming decoder for the main video stream of a file (:func:`main_video_stream`; any
    container/codec FFmpeg reads).

    ``reader.frames(on_packet)`` yields RGB uint8 H×W×3 frames in display
    order; every packet of the other streams (``reader.passthrough``: audio,
    subtitles, other video such as cover art; attachments have none) is given to ``on_packet`` as the demuxer
    reaches it, its timestamps counted from ``reader.origin`` (the earliest stream
    start, in seconds; pass ``start_time=info.start_time - reader.origin`` to the
    writer), so output starts at 0 as a stream copy does. ``reader.decoded()`` is the same loop
    yielding PyAV frames, for callers that need timestamps or convert later (:func:`to_rgb`). This is
    sepgan's one decode loop: training's frame cache, video benchmarks, the
    study's clips and ``sepgan prepare`` all read through it. Decoding errors,
    such as those of a truncated file, raise :class:`VideoError`.

    YUV is converted with the input's matrix and range (``reader.colour``, see
    :class:`Colour`); pass ``colour=reader.colour`` to the writer so the output
    is converted back the same way and carries the same tags. Video with alpha,
    HDR (PQ or HLG transfer) or an unsupported matrix raises :class:`VideoError`
    on opening. ``reader.colour.bits`` is the input's bits per sample: deeper input is read in
    16 bits (``frames(bits=16)``, :func:`to_rgb`) where the output keeps them
    (:func:`sepgan.media.writer.frame_bits`); the writer says when it does not.
    Interlaced video is deinterlaced in the loop (bwdif, one frame per frame), with a note.
    ``reader.presentation`` (rotation, pixel aspect, tags) goes to the writer the same way.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.container = _open_input(self.path)
        try:
            self.stream = main_video_stream(self.container)
            self.info = _describe(self.path, self.container, self.stream)
            self.colour = stream_colour(self.path, self.stream)
        except BaseException:
            self.container.close()
            raise
        self.notes: list[str] = []
        self.stream.thread_type = "AUTO"  # frame/slice threads inside FFmpeg; frames stay in order
        # Every other stream a stream copy keeps, in the input's order: audio, subtitles, other video
        # (a second angle, cover art) and attachments (an MKV's fonts); data streams are not read.
        self.passthrough = [
            stream
            for stream in self.container.streams
            if stream is not self.stream and stream.type in _PASSTHROUGH_TYPES
        ]
        # The file's time origin: the earliest start of the streams read. MPEG-TS starts at ~1.4 s;
        # like a stream copy, the output starts at 0 and keeps each stream's offset from the origin.
        starts = [
            stream.start_time * Fraction(stream.time_base)
            for stream in (self.stream, *self.passthrough)
            if stream.start_time is not None
            and stream.time_base is not None
            and has_parameters(stream)
            and stream.type != "attachment"
            and not stream.disposition & _PICTURE_DISPOSITIONS
        ]
        self.origin = min(starts, default=Fraction(0))

    @functools.cached_property
    def presentation(self) -> Presentation:
        """The video stream's :class:`Presentation`: display matrix, sample aspect ratio and tags.

        FFmpeg hands the display matrix to the decoded frames, not to the stream,
        so this decodes the first frame of a second opening of the file (cheap;
        the main decode loop is not disturbed).
        """
        matrix = None
        with contextlib.suppress(av.FFmpegError, StopIteration), av.open(str(self.path), "r") as container:
            matrix = frame_display_matrix(next(container.decode(container.streams[self.stream.index])))
        aspect = self.stream.sample_aspect_ratio
        return Presentation(
            display_matrix=matrix,
            sample_aspect_ratio=Fraction(aspect) if aspect and aspect != 1 else None,
            tags=tuple(stream_tags(self.stream).items()),
        )

    @functools.cached_property
    def container_info(self) -> ContainerInfo:
        """The file's tags and chapters (times from :attr:`origin`), for the writer to keep."""
        try:
            return container_info(self.container, self.origin)
        except (av.FFmpegError, ValueError, KeyError, TypeError):
            return ContainerInfo()

    def decoded(
        self, on_packet: Callable[[av.Packet], None] | None = None, start: int | None = None
    ) -> Iterator[av.VideoFrame]:
        """The decoded video frames (PyAV frames, with their timestamps), in display order.

        A file that ends early (fewer frames than its container lists, frames
        ending well before its duration, or a last packet cut short) gives the
        frames up to there and a note in ``notes``; a packet that cannot be
        decoded elsewhere raises :class:`VideoError`.

        ``start`` (a keyframe's pts, :class:`FrameIndex`) seeks there first: decoding
        starts at that keyframe, and frames before it (an open GOP's leading
        frames) are dropped. The caller skips what it does not need and checks the
        timestamps; the early-end note is then not made.
        """
        streams = [self.stream, *self.passthrough] if on_packet else [self.stream]
        if start is not None:
            self._seek(start)
        count, packets, cut_short, last_time = 0, 0, None, None
        deinterlacer: Deinterlacer | None = None
        interlacing_seen = False
        try:
            for packet in self.container.demux(streams):
                if packet.stream is self.stream:
                    packets += packet.pts is not None or packet.size > 0  # not the final flush packet
                    try:
                        frames = packet.decode()
                    except av.FFmpegError as error:
                        if not self._ends_file(packet):
                            raise
                        cut_short = ffmpeg_reason(error)
                        frames = self.stream.codec_context.decode(None)  # the frames still in the decoder
                    for frame in frames:
                        if start is not None and (frame.pts is None or frame.pts < start):
                            continue
                        count += 1
                        last_time = frame.time if frame.time is not None else last_time
                        if not interlacing_seen and (frame.interlaced_frame or self.field_order):
                            interlacing_seen, deinterlacer = True, self._deinterlacer(frame)
                        if deinterlacer is None:
                            yield frame
                        else:
                            yield from deinterlacer.push(frame)
                    if cut_short is not None:
                        break
                elif on_packet is not None and (copied := self._passed_on(packet)) is not None:
                    on_packet(copied)
            if deinterlacer is not None:
                yield from deinterlacer.flush()
        except av.FFmpegError as error:
            raise VideoError(
                f"{self.path}: corrupt or truncated video at frame {count} ({ffmpeg_reason(error)})"
            ) from error
        note = None if start is not None else self._early_end(count, packets, last_time, cut_short)
        if note is not None:
            self.notes.append(note)

    def _seek(self, pts: int) -> None:
        """Move the demuxer to the keyframe at or before ``pts`` (the video stream's time base)."""
        try:
            self.container.seek(pts, stream=self.stream, backward=True, any_frame=False)
        except av.FFmpegError as error:
            raise VideoError(f"{self.path}: cannot seek ({ffmpeg_reason(error)})") from error

    def _passed_on(self, packet: av.Packet) -> av.Packet | None:
        """A packet of a ``passthrough`` stream as the writer takes it (:meth:`_from_origin`), or None
        for one a stream copy skips (the demuxer's flush packets, no timestamp). Cover art's one
        picture has no timestamp: it is given time 0."""
        if packet.stream.disposition & av.stream.Disposition.attached_pic:
            if not packet.size:
                return None
            packet.pts = packet.dts = 0
            return packet
        return self._from_origin(packet) if packet.dts is not None else None

    def _from_origin(self, packet: av.Packet) -> av.Packet:
        """``packet`` with its timestamps counted from :attr:`origin` (as a stream copy counts them)."""
        if self.origin:
            shift = round(self.origin / packet.time_base)
            packet.dts -= shift
            if packet.pts is not None:
                packet.pts -= shift
        return packet

    def other_packets(self) -> Iterator[av.Packet]:
        """The packets of the other streams (``passthrough``: audio, subtitles …), in file order, counted from
        :attr:`origin`, without decoding any video: what a join of video parts muxes beside them."""
        if not self.passthrough:
            return
        try:
            for packet in self.container.demux(self.passthrough):
                if (copied := self._passed_on(packet)) is not None:
                    yield copied
        except av.FFmpegError as error:
            raise VideoError(f"{self.path}: corrupt or truncated ({ffmpeg_reason(error)})") from error

    def frame_index(self) -> FrameIndex | None:
        """Every frame's timestamp and the keyframes, from a demux of the video stream (no decoding);
        None when frames cannot be found by timestamp: a packet without one, or two at one time.

        Reads a second opening of the file, so the main decode loop is not disturbed.
        """
        pts: list[int] = []
        keys: set[int] = set()
        try:
            with av.open(str(self.path), "r") as container:
                stream = container.streams[self.stream.index]
                for packet in container.demux(stream):
                    if packet.pts is None and packet.size == 0:
                        continue  # the demuxer's final flush packet
                    if packet.pts is None:
                        return None
                    if packet.is_discard:  # outside an edit list: the decoder drops it
                        continue
                    pts.append(packet.pts)
                    if packet.is_keyframe:
                        keys.add(packet.pts)
                time_base = Fraction(stream.time_base)
        except (av.FFmpegError, OSError):
            return None
        ordered = sorted(pts)
        if not ordered or any(a == b for a, b in zip(ordered, ordered[1:], strict=False)):
            return None
        keyframes = tuple(i for i, value in enumerate(ordered) if value in keys)
        if not keyframes or keyframes[0] != 0:
            return None  # a stream that does not start on a keyframe
        return FrameIndex(tuple(ordered), keyframes, time_base)

    def _deinterlacer(self, frame: av.VideoFrame) -> Deinterlacer | None:
        """The deinterlacer for interlaced video, first seen at ``frame``, with its note; None if too small.

        A stream whose field order says interlaced (tt, bb, tb, bt: the MP4/MOV
        ``fiel`` atom, Matroska's FieldOrder, or the decoder's word) has every
        frame deinterlaced, in that order unless the frames carry their own flags;
        otherwise only the frames flagged interlaced are (MPEG-2 and H.264 flag each
        picture, and may mix progressive and interlaced ones).
        """
        if frame.width < 3 or frame.height < 4:  # bwdif's minimum
            self.notes.append(
                f"{self.path.name} is interlaced but only {frame.width}×{frame.height}, too small to "
                "deinterlace: read as progressive"
            )
            return None
        order = self.field_order
        # A flagged frame carries its own field order; the stream's can be wrong (MP4 says tt for bff H.264).
        if frame.interlaced_frame:
            parity, how = "auto", "in each frame's field order"
        else:
            parity, how = ("tff" if order[1] == "t" else "bff"), f"in the stream's field order, {order}"
        every = "all" if order is not None else "interlaced"  # else only the frames flagged interlaced
        self.notes.append(
            f"{self.path.name} is interlaced: deinterlaced with bwdif {how}, one frame per frame, so the "
            "frame count and rate are unchanged"
        )
        return Deinterlacer(f"mode=send_frame:parity={parity}:deint={every}")

    @property
    def field_order(self) -> str | None:
        """The field order if the stream says interlaced: "tt", "bb", "tb" or "bt" (as ffprobe); else None."""
        return INTERLACED_FIELD_ORDERS.get(self.stream.codec_context.field_order)

    def _early_end(
        self, count: int, packets: int, last_time: float | None, cut_short: str | None
    ) -> str | None:
        """The note for a stream that ended before its container says it should, or None.

        Two signs of a truncated file: fewer packets than the frames the container
        lists (MP4, MOV, AVI list them; a packet that is there but does not decode
        is not a truncation), or the last frame ending well before the duration
        (Matroska, WebM). The duration covers every stream, so with audio beside
        the video a gap under a second is taken for a longer audio track.
        """
        where = f"input ends early (decoding stopped at frame {count}"
        listed = self.info.frame_count
        if cut_short is not None:
            return f"{where}: its last packet is cut short, {cut_short})"
        if listed:
            return (
                f"{where} of the {listed} its container lists: a truncated file?)"
                if packets < listed
                else None
            )
        if not self.container.duration:
            return None
        start = (self.container.start_time or 0) / av.time_base
        end = 0.0 if last_time is None else last_time - start + float(1 / self.info.fps)
        total = self.container.duration / av.time_base
        others = any(stream.type in ("audio", "subtitle") for stream in self.passthrough)
        tolerance = 1.0 if others else 2 * float(1 / self.info.fps)
        if total - end > tolerance:
            return f"{where}, {end:.3f} s into a file of {total:.3f} s: a truncated file?)"
        return None

    def _ends_file(self, packet: av.Packet) -> bool:
        """Whether ``packet`` runs to the end of the file: a packet the file was cut in the middle of."""
        try:
            return (
                packet.pos is not None
                and packet.pos >= 0
                and packet.pos + packet.size >= self.path.stat().st_size
            )
        except OSError:
            return False

    def frames(
        self, on_packet: Callable[[av.Packet], None] | None = None, bits: int = 8
    ) -> Iterator[np.ndarray]:
        """RGB H×W×3 frames at the stream's size (to shrink them: :func:`iter_frames`): uint8, or uint16
        for ``bits`` 16 (:func:`to_rgb`)."""
        for frame in self.decoded(on_packet):
            yield to_rgb(frame, colour=self.colour, bits=bits)

    def close(self) -> None:
        self.container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def fit_within(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """(width, height) scaled down, aspect kept, so the longer side is at most ``max_side`` (None: as is)."""
    if max_side is None or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def to_rgb(
    frame: av.VideoFrame,
    size: tuple[int, int] | None = None,
    interpolation: str | None = None,
    colour: Colour | None = None,
    bits: int = 8,
) -> np.ndarray:
    """A decoded frame as RGB H×W×3, scaled by FFmpeg's swscale to ``size`` (width, height) if given:
    uint8 (``rgb24``) for ``bits`` 8, uint16 (``rgb48le``, 0–65535) for 16, what a frame of more than 8
    bits per sample keeps its precision in (ValueError for other ``bits``).

    ``interpolation`` is swscale's filter for the scaling ("AREA" averages;
    None is bilinear); it does not matter at the frame's own size. YUV is
    converted with ``colour``'s matrix and range (``VideoReader.colour``), or
    with FFmpeg's own guess from the frame's tags when ``colour`` is None.
    """
    arguments: dict[str, object] = {}
    if size is not None and size != (frame.width, frame.height):
        arguments.update(width=size[0], height=size[1], interpolation=interpolation)
    if colour is not None and not (frame.format.is_rgb or frame.format.has_palette):
        if colour.rgb:  # the stream said RGB, this frame is YUV: what a player would assume
            colour = Colour.untagged(frame.width, frame.height)
        arguments.update(src_color_range=colour.range, dst_color_range=RANGE_PC, **colour.sws_arguments())
        if interpolation is not None and "width" in arguments:  # the scaling filter, with accurate rounding
            arguments["interpolation"] = (
                getattr(av.video.reformatter.Interpolation, interpolation) | SWS_PRECISION
            )
    if bits not in _RGB_FORMATS:
        raise ValueError(f"RGB frames have 8 or 16 bits per channel, not {bits}")
    if bits == 16 and "src_color_range" in arguments:
        # YUV in 16 bits through swscale's planar RGB output: its packed rgb48 output with full chroma
        # interpolation (SWS_PRECISION) garbles 4:2:0 chroma (FFmpeg 8.1: a smooth 64×48 gradient off
        # by up to 624 of 1023 levels, the planar output by 9; both come back as H×W×3, R, G, B).
        return frame.to_ndarray(format="gbrp16le", **arguments)
    return frame.to_ndarray(format=_RGB_FORMATS[bits], **arguments)


def resize_area(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An RGB uint8 H×W×3 frame shrunk to ``size`` (width, height) by swscale's area average.

    The same filter :meth:`VideoReader.frames` shrinks decoded frames with
    (:func:`to_rgb`), so an image sequence and its video shrink alike.
    """
    height, width = frame.shape[:2]
    if size == (width, height):
        return frame
    return to_rgb(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24"), size, "AREA")


def iter_frames(
    source: str | os.PathLike[str], every: int = 1, max_side: int | None = None
) -> Iterator[np.ndarray]:
    """The frames of a video file or a folder of images: RGB uint8 H×W×3, in order.

    ``every`` = n keeps frames 0, n, 2n, … (n = 2: the inputs of a drop-a-frame
    evaluation). ``max_side`` shrinks each frame, aspect kept, so that its longer
    side is at most that many pixels (:func:`fit_within`, area-averaged; never
    enlarged). A folder is read in natural order (:func:`sepgan.media.frames.list_frames`).

    Raises:
        VideoError: the video cannot be read, or ends in a decoding error.
        FrameError: an image of the folder cannot be used as an RGB frame.
        ValueError: ``every`` < 1.
    """
    from sepgan.media.frames import list_frames, load_image_uint8  # images ↔ tensors: loads torch

    if every < 1:
        raise ValueError(f"every must be at least 1, got {every}")
    source = Path(source)
    if source.is_dir():
        for path in list_frames(source)[::every]:
            frame = load_image_uint8(path)
            yield resize_area(frame, fit_within(frame.shape[1], frame.shape[0], max_side))
        return
    with VideoReader(source) as reader:
        for index, frame in enumerate(reader.decoded()):
            if index % every == 0:  # frames skipped by ``every`` are decoded but not converted
                size = fit_within(frame.width, frame.height, max_side)
                yield to_rgb(frame, size, "AREA", reader.colour)
