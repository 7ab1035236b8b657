"""Video in and out through PyAV: streaming decode and encode, exact frame rates, passthrough, scene cuts.

Conventions
-----------
* Frames are RGB uint8 arrays, H×W×3, as everywhere outside the network
  (see :mod:`sepgan.frames`).
* **Streaming.** :class:`VideoReader` demuxes the input once, in file order,
  and yields decoded video frames one at a time; packets of the audio and
  subtitle streams are handed to a callback as they come, so the writer can
  copy them straight into the output while video frames are still being
  interpolated. Nothing holds more than a few frames, whatever the length.
* **Frame rates are exact rationals** (:class:`fractions.Fraction`):
  ``60000/1001`` doubled is ``120000/1001``. The output stream's time base is
  ``1/fps``, so MP4 and MOV store it exactly; Matroska stores timestamps in
  milliseconds, so players read 119.88 fps back as an approximation (the
  frames are still evenly spaced to within 1 ms). An input's rate is FFmpeg's
  guess of the real frame rate (``guessed_rate``) unless it disagrees with the
  average rate by more than 1 %; variable-frame-rate input is treated as
  constant-rate at that value.
* **Timing.** The first output frame keeps the input's first timestamp, so
  copied audio stays in sync.
* **Audio and subtitles** are copied packet by packet, unchanged, with their
  timestamps. When the output container cannot hold a codec (MP4 takes only
  ``mov_text`` subtitles, for instance), audio is re-encoded to AAC and
  subtitles are dropped with a note; Matroska (``.mkv``) holds any codec.
* **Encoders.** ``h264``: libx264 with a constant rate factor (CRF, default 18,
  visually near-lossless), ``yuv420p`` for even sizes (plays everywhere) and
  ``yuv444p`` for odd sizes such as 421×239, because 4:2:0 needs even sizes and
  sepgan never resizes or crops behind the user's back (4:4:4 H.264 plays in
  FFmpeg, VLC and mpv but not in every browser). ``ffv1``: lossless RGB
  (``bgr0``) in Matroska. ``png``: a folder of numbered PNG files
  (``000000.png`` ...), lossless, at compression level 1 for speed.
* **Atomic output.** A video is written to a hidden temporary file beside the
  target and renamed onto it by :meth:`VideoWriter.close`; a PNG sequence is
  written into a hidden temporary folder that is renamed at the end. An error
  or Ctrl-C leaves no partial output under the final name.
* **Scene cuts.** :func:`thumbnail` shrinks a frame to 64×36 grayscale by area
  averaging and :func:`scene_score` is the mean absolute difference of two
  thumbnails, from 0 (same) to 1. Shrinking 10–30× makes ordinary motion
  cheap to tolerate: on the real clips in ``shared/data/videos``, consecutive
  frames of one shot score at most 0.07 (a tree in wind at 15 fps; 0.016 in
  Megamind.avi), while Megamind's three hard cuts score 0.16–0.17, hence the
  default threshold of 0.1 (:data:`DEFAULT_SCENE_THRESHOLD`). A cut between
  two shots of the same brightness and layout can score lower and be missed;
  lower the threshold for such footage, raise it for fast hand-held motion.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from sepgan.atomic import AtomicOutput
from sepgan.errors import UserError

__all__ = [
    "CODECS",
    "DEFAULT_CRF",
    "DEFAULT_SCENE_THRESHOLD",
    "PngSequenceWriter",
    "VideoError",
    "VideoInfo",
    "VideoReader",
    "VideoWriter",
    "format_fps",
    "open_writer",
    "output_codec",
    "parse_fps",
    "probe_video",
    "scene_score",
    "thumbnail",
]

logger = logging.getLogger(__name__)

DEFAULT_CRF = 18
DEFAULT_SCENE_THRESHOLD = 0.1
CODECS = ("h264", "ffv1", "png")
THUMBNAIL_SIZE = (64, 36)  # width, height
# Containers each encoder may be written into, by suffix.
_CONTAINERS = {
    "h264": {".mp4", ".mkv", ".mov", ".m4v", ".avi"},
    "ffv1": {".mkv", ".avi", ".nut"},
}
VIDEO_SUFFIXES = {
    ".mp4",
    ".mkv",
    ".mov",
    ".m4v",
    ".avi",
    ".webm",
    ".nut",
    ".mpg",
    ".mpeg",
    ".ts",
    ".flv",
    ".wmv",
}


class VideoError(UserError, ValueError):
    """A video that cannot be read or written; the message names the file and why."""


# ---------------------------------------------------------------------------
# Frame rates
# ---------------------------------------------------------------------------


def parse_fps(text: str | float | Fraction) -> Fraction:
    """Parse a frame rate: ``"120"``, ``"60000/1001"`` or ``"59.94"``.

    Decimal NTSC rates are read as the exact rationals they stand for: a value
    within 0.005 of ``n · 1000/1001`` for a whole ``n`` (23.976, 29.97, 59.94,
    119.88) becomes ``n·1000/1001``.
    """
    try:
        if isinstance(text, str) and "/" in text:
            numerator, denominator = text.split("/")
            fps = Fraction(int(numerator), int(denominator))
        else:
            fps = Fraction(str(text))
    except (ValueError, ZeroDivisionError) as error:
        raise VideoError(f"cannot read frame rate {text!r}: use e.g. 60, 59.94 or 60000/1001") from error
    if fps <= 0:
        raise VideoError(f"frame rate must be positive, got {text!r}")
    if fps.denominator != 1:
        whole = round(fps * Fraction(1001, 1000))
        if abs(float(fps) - whole * 1000 / 1001) < 0.005:
            return Fraction(whole * 1000, 1001)
    return fps


def format_fps(fps: Fraction) -> str:
    """``120`` or ``120000/1001 (119.88)``."""
    if fps.denominator == 1:
        return str(fps.numerator)
    decimal = f"{float(fps):.3f}".rstrip("0").rstrip(".")
    return f"{fps.numerator}/{fps.denominator} ({decimal})"


def _stream_fps(stream: av.video.stream.VideoStream) -> Fraction | None:
    guessed, average = stream.guessed_rate, stream.average_rate
    guessed = Fraction(guessed) if guessed else None
    average = Fraction(average) if average else None
    if guessed and (average is None or abs(guessed / average - 1) < Fraction(1, 100)):
        return guessed
    return average or guessed


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


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

    @property
    def duration(self) -> float | None:
        return None if self.frame_count is None else float(self.frame_count / self.fps)


def _open_input(path: Path) -> av.container.InputContainer:
    if not path.exists():
        raise VideoError(f"{path}: no such file")
    if not path.is_file():
        raise VideoError(f"{path}: not a file")
    try:
        return av.open(str(path), "r")
    except (av.FFmpegError, OSError, UnicodeDecodeError) as error:
        raise VideoError(f"{path}: cannot read video, corrupt or truncated? ({_reason(error)})") from error


def _reason(error: BaseException) -> str:
    return (getattr(error, "strerror", None) or str(error) or type(error).__name__).strip()


def _describe(path: Path, container: av.container.InputContainer) -> VideoInfo:
    if not container.streams.video:
        raise VideoError(f"{path}: no video stream")
    stream = container.streams.video[0]
    fps = _stream_fps(stream)
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
    )


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Size, frame rate, frame count and streams of a video file; raises :class:`VideoError`."""
    path = Path(path)
    with _open_input(path) as container:
        return _describe(path, container)


class VideoReader:
    """Streaming decoder for the first video stream of a file (any container/codec FFmpeg reads).

    ``reader.frames(on_packet)`` yields RGB uint8 H×W×3 frames in display
    order; every packet of the audio and subtitle streams (``reader.passthrough``)
    is given to ``on_packet`` as the demuxer reaches it. Decoding errors, such as
    those of a truncated file, raise :class:`VideoError`.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.container = _open_input(self.path)
        try:
            self.info = _describe(self.path, self.container)
        except BaseException:
            self.container.close()
            raise
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"  # frame/slice threads inside FFmpeg; frames stay in order
        self.passthrough = [*self.container.streams.audio, *self.container.streams.subtitles]

    def frames(self, on_packet: Callable[[av.Packet], None] | None = None) -> Iterator[np.ndarray]:
        streams = [self.stream, *self.passthrough] if on_packet else [self.stream]
        try:
            for packet in self.container.demux(streams):
                if packet.stream is self.stream:
                    for frame in packet.decode():
                        yield frame.to_ndarray(format="rgb24")
                elif packet.dts is not None and on_packet is not None:
                    on_packet(packet)
        except av.FFmpegError as error:
            raise VideoError(f"{self.path}: corrupt or truncated video ({_reason(error)})") from error

    def close(self) -> None:
        self.container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def output_codec(output: str | os.PathLike[str], codec: str = "auto") -> str:
    """The encoder for an output path: ``"h264"``, ``"ffv1"`` or ``"png"`` (a folder of PNG files).

    ``"auto"`` picks h264 for a video suffix and a PNG sequence for a path
    without a suffix (or an existing folder).
    """
    output = Path(output)
    suffix = output.suffix.lower()
    if codec == "auto":
        if output.is_dir() or not suffix:
            return "png"
        if suffix in _CONTAINERS["h264"]:
            return "h264"
        raise VideoError(
            f"{output}: unknown video container {suffix!r}; use .mp4, .mkv or .mov, or a folder for PNG frames"
        )
    if codec not in CODECS:
        raise VideoError(f"unknown codec {codec!r}; choose one of {', '.join(CODECS)}")
    if codec == "png":
        if suffix in VIDEO_SUFFIXES:
            raise VideoError(f"{output}: a PNG sequence is written to a folder, not to a {suffix} file")
        return codec
    if suffix not in _CONTAINERS[codec]:
        allowed = ", ".join(sorted(_CONTAINERS[codec]))
        raise VideoError(f"{output}: {codec} cannot be written into {suffix or 'a folder'}; use {allowed}")
    return codec


class VideoWriter:
    """Encodes RGB uint8 frames to a video file at an exact frame rate, atomically.

    ``write(frame)`` encodes the next frame; ``copy_packet(packet)`` copies a
    packet of one of the ``passthrough`` input streams; ``close()`` flushes and
    renames the temporary file onto ``path``; ``abort()`` deletes it.
    Used as a context manager, an exception aborts.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fps: Fraction,
        width: int,
        height: int,
        codec: str = "h264",
        crf: int = DEFAULT_CRF,
        preset: str = "medium",
        start_time: Fraction = Fraction(0),
        passthrough: Sequence[av.stream.Stream] = (),
    ) -> None:
        self.path = Path(path)
        self.fps = Fraction(fps)
        self.notes: list[str] = []
        self.frames_written = 0
        self._output = AtomicOutput(self.path)  # a hidden temporary beside path, with its suffix
        try:
            self.container = av.open(str(self._output.temporary), "w")
        except (av.FFmpegError, OSError) as error:
            raise VideoError(
                f"{self.path}: cannot write to folder {self.path.parent} ({_reason(error)})"
            ) from error
        try:
            self._add_video_stream(codec, width, height, crf, preset)
            # First output pts: the input's first timestamp, in output frames.
            self._first_pts = round(start_time * self.fps)
            self._copies: dict[int, av.stream.Stream] = {}
            self._transcodes: dict[int, tuple[av.stream.Stream, av.stream.Stream]] = {}
            for stream in passthrough:
                self._add_passthrough(stream)
        except BaseException:
            self.abort()
            raise

    def _add_video_stream(self, codec: str, width: int, height: int, crf: int, preset: str) -> None:
        if codec == "h264":
            pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
            stream = self.container.add_stream("libx264", rate=self.fps)
            stream.options = {"crf": str(crf), "preset": preset}
        elif codec == "ffv1":
            pix_fmt = "bgr0"
            stream = self.container.add_stream("ffv1", rate=self.fps)
        else:
            raise VideoError(f"unknown video codec {codec!r}")
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.time_base = Fraction(self.fps.denominator, self.fps.numerator)
        stream.codec_context.time_base = stream.time_base
        self.video = stream

    def _add_passthrough(self, stream: av.stream.Stream) -> None:
        name = stream.codec_context.name
        if name in self.container.supported_codecs:
            self._copies[stream.index] = self.container.add_stream_from_template(stream)
        elif stream.type == "audio":
            decoder = stream.codec_context
            encoder = self.container.add_stream("aac", rate=decoder.sample_rate, layout=decoder.layout)
            self._transcodes[stream.index] = (stream, encoder)
            self.notes.append(
                f"audio stream {stream.index} ({name}) re-encoded to AAC for {self.path.suffix}"
            )
        else:
            self.notes.append(
                f"{stream.type} stream {stream.index} ({name}) dropped: {self.path.suffix} cannot hold it "
                "(write .mkv to keep it)"
            )

    def write(self, frame: np.ndarray) -> None:
        video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
        video_frame.pts = self._first_pts + self.frames_written
        # The codec's time base is 1/fps; the stream's may be changed by the muxer (MP4 picks 1/60000).
        video_frame.time_base = self.video.codec_context.time_base
        self._mux(self.video.encode(video_frame))
        self.frames_written += 1

    def copy_packet(self, packet: av.Packet) -> None:
        """Copy (or re-encode) a packet of an input audio/subtitle stream given as ``passthrough``."""
        index = packet.stream.index
        if index in self._copies:
            packet.stream = self._copies[index]
            self.container.mux(packet)
        elif index in self._transcodes:
            source, encoder = self._transcodes[index]
            for frame in source.decode(packet):
                self._mux(encoder.encode(frame))

    def _mux(self, packets: Sequence[av.Packet]) -> None:
        try:
            self.container.mux(packets)
        except av.FFmpegError as error:
            raise VideoError(f"{self.path}: cannot write video ({_reason(error)})") from error

    def close(self) -> None:
        """Flush the encoders, finish the file and rename it onto ``path``."""
        try:
            self._mux(self.video.encode(None))
            for source, encoder in self._transcodes.values():
                for frame in source.decode(None):
                    self._mux(encoder.encode(frame))
                self._mux(encoder.encode(None))
            self.container.close()
            self._output.commit()
        except BaseException as error:
            self.abort()
            if isinstance(error, OSError):
                raise VideoError(f"{self.path}: cannot write video ({_reason(error)})") from error
            raise

    def abort(self) -> None:
        # Closing a half-written container may fail too; the temporary file goes anyway.
        with contextlib.suppress(av.FFmpegError, OSError, ValueError):
            self.container.close()
        self._output.discard()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class PngSequenceWriter:
    """Writes frames as ``000000.png``, ``000001.png`` ... into a folder, atomically.

    The frames go into a hidden temporary folder beside ``path``, which is
    renamed onto ``path`` by :meth:`close` (``path`` must not exist or be empty).
    Audio and subtitles cannot be kept; ``notes`` says so.
    """

    def __init__(self, path: str | os.PathLike[str], passthrough: Sequence[av.stream.Stream] = ()) -> None:
        self.path = Path(path)
        self.frames_written = 0
        self.notes = (
            [f"{len(passthrough)} audio/subtitle stream(s) dropped: a PNG sequence has none"]
            if passthrough
            else []
        )
        if self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
            raise VideoError(f"{self.path}: output folder exists and is not empty")
        try:
            self._output = AtomicOutput(self.path, folder=True)
        except OSError as error:
            raise VideoError(
                f"{self.path}: cannot write to folder {self.path.parent} ({_reason(error)})"
            ) from error

    def write(self, frame: np.ndarray) -> None:
        target = self._output.temporary / f"{self.frames_written:06d}.png"
        try:
            Image.fromarray(frame).save(target, format="PNG", compress_level=1)
        except OSError as error:
            self.abort()
            raise VideoError(f"{self.path}: cannot write frame ({_reason(error)})") from error
        self.frames_written += 1

    def copy_packet(self, packet: av.Packet) -> None:
        """Audio and subtitle packets have nowhere to go in a PNG sequence."""

    def close(self) -> None:
        try:
            self._output.commit()  # replaces an empty folder (a non-empty one is refused in __init__)
        except OSError as error:
            self.abort()
            raise VideoError(f"{self.path}: cannot finish the output folder ({_reason(error)})") from error

    def abort(self) -> None:
        self._output.discard()

    def __enter__(self) -> PngSequenceWriter:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def open_writer(
    path: str | os.PathLike[str],
    *,
    fps: Fraction,
    width: int,
    height: int,
    codec: str = "auto",
    crf: int = DEFAULT_CRF,
    preset: str = "medium",
    start_time: Fraction = Fraction(0),
    passthrough: Sequence[av.stream.Stream] = (),
) -> VideoWriter | PngSequenceWriter:
    """A :class:`VideoWriter` or a :class:`PngSequenceWriter`, as :func:`output_codec` decides."""
    chosen = output_codec(path, codec)
    if chosen == "png":
        return PngSequenceWriter(path, passthrough)
    return VideoWriter(
        path,
        fps=fps,
        width=width,
        height=height,
        codec=chosen,
        crf=crf,
        preset=preset,
        start_time=start_time,
        passthrough=passthrough,
    )


# ---------------------------------------------------------------------------
# Scene cuts
# ---------------------------------------------------------------------------


def thumbnail(frame: np.ndarray) -> np.ndarray:
    """A 36×64 float32 grayscale thumbnail in [0, 1], by area averaging (cheap: ~1 ms at 1080p)."""
    image = Image.fromarray(frame).convert("L").resize(THUMBNAIL_SIZE, Image.Resampling.BOX)
    return np.asarray(image, dtype=np.float32) / 255.0


def scene_score(thumbnail0: np.ndarray, thumbnail1: np.ndarray) -> float:
    """Mean absolute difference of two thumbnails: 0 for the same picture, up to 1."""
    return float(np.abs(thumbnail0 - thumbnail1).mean())
