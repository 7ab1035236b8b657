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
  average rate by more than 1 %; variable-frame-rate input is then treated as
  constant-rate at the average. ``sepgan interpolate`` instead follows each
  frame's timestamp (:class:`sepgan.retime.TimedRetiming`).
* **Timing.** Timestamps are counted from the input's origin, the earliest
  start of its streams, as a stream copy counts them: MPEG-TS input (which
  starts at ~1.4 s) gives output that starts at 0, and the first video frame
  and the copied audio keep their offsets from it, so they stay in sync.
* **Colour.** YUV is converted to RGB and back with the input's matrix and
  range (BT.601, BT.709, BT.2020; tv or pc), or for untagged input with what
  players assume: BT.709 for HD (width ≥ 1280 or height > 576), BT.601 below,
  tv range (:class:`Colour`). The output carries the input's tags (matrix,
  primaries, transfer, range), so a pass-through frame decodes within 1–2
  levels of the input. Input of more than 8 bits is read as 8-bit with a note;
  HDR (PQ or HLG transfer) and video with alpha are refused, since sepgan
  works in 8-bit opaque RGB. Full-range (pc, JPEG, ``yuvj420p``) output is
  converted by NumPy, not swscale, whose full-range chroma is floored.
* **Interlaced input** (a stream whose field order is tt, bb, tb or bt, or
  frames flagged interlaced) is deinterlaced as it is decoded, by FFmpeg's
  ``bwdif`` in a filter graph, one frame per frame: the frame count, rate and
  timestamps are the input's, and a note says so. Read as progressive, every
  frame would be combed (alternate rows from two instants).
* **Geometry and tags.** The input's display matrix (rotation by any angle,
  mirroring), sample aspect ratio (non-square pixels) and stream tags
  (language, title, disposition of every stream) are written to the output
  (:class:`Presentation`), so a phone video still plays upright. A PNG
  sequence cannot hold them: rotations by multiples of 90° and mirrors are
  applied to its pixels, and a note says what is not kept. AVI holds no display matrix.
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
* **Scene cuts.** :func:`thumbnail` shrinks a frame to grayscale, longer side
  64 (64×36 for 16:9), by area averaging and :func:`scene_score` is the mean
  absolute difference of two thumbnails, from 0 (same) to 1. Shrinking 10–30× makes ordinary motion
  cheap to tolerate: on the real clips in ``shared/data/videos``, consecutive
  frames of one shot score at most 0.07 (a tree in wind at 15 fps; 0.016 in
  Megamind.avi), while Megamind's three hard cuts score 0.16–0.17, hence the
  default threshold of 0.1 (:data:`DEFAULT_SCENE_THRESHOLD`). A cut between
  two shots of the same brightness and layout can score lower and be missed;
  lower the threshold for such footage, raise it for fast hand-held motion.
  A fade is not a cut (:func:`is_fade`): a fade to or from black over 2–5
  frames scores above the threshold at every step, but each step is the
  previous picture under a global gain and offset, which a content change is not.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
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
    "VIDEO_SUFFIXES",
    "PngSequenceWriter",
    "Presentation",
    "VideoError",
    "VideoInfo",
    "VideoReader",
    "VideoWriter",
    "brightness_ramp",
    "fit_within",
    "format_fps",
    "has_timestamps",
    "has_video_stream",
    "is_fade",
    "nominal_fps",
    "open_writer",
    "output_codec",
    "parse_fps",
    "probe_video",
    "scene_score",
    "thumbnail",
    "to_rgb",
]

logger = logging.getLogger(__name__)

DEFAULT_CRF = 18
DEFAULT_SCENE_THRESHOLD = 0.1
CODECS = ("h264", "ffv1", "png")
THUMBNAIL_SIDE = 64  # longer side of the scene-cut thumbnails: 64×36 for 16:9
# Containers each encoder may be written into, by suffix.
_CONTAINERS = {
    "h264": {".mp4", ".mkv", ".mov", ".m4v", ".avi"},
    "ffv1": {".mkv", ".avi", ".nut"},
}
# Containers whose muxers write a display matrix (MP4/MOV: tkhd matrix; Matroska: projection).
_ROTATING_CONTAINERS = {".mp4", ".m4v", ".mov", ".mkv"}
# Stream tags the muxer writes itself; copying the input's would state stale values.
_MUXER_TAGS = {"duration", "encoder", "handler_name", "vendor_id"}
# Suffixes taken for video files without asking FFmpeg (which reads many more).
VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".nut", ".mpg", ".mpeg", ".ts", ".flv", ".wmv", ".y4m"}
)


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


def nominal_fps(stream: av.video.stream.VideoStream) -> Fraction | None:
    """The rate a stream's frames were shot at, as an exact rational: FFmpeg's guess of the real rate.

    FFmpeg's guess (``guessed_rate``, from the rate at which every timestamp is
    representable) is preferred to the average rate (frames / duration): MP4
    files often report the average as an odd fraction (456000/15217 for
    30000/1001), and a variable-rate source's average is lower than the rate its
    frames were shot at. The guess is rejected when it is implausible (below the
    average, or above 240 fps, e.g. a 90 kHz clock), and the average is used instead.
    """
    average, nominal = stream.average_rate, stream.guessed_rate or stream.base_rate
    if nominal and nominal <= 240 and (not average or nominal >= average * Fraction(998, 1000)):
        return Fraction(nominal)
    rate = average or nominal
    return Fraction(rate) if rate else None


def has_timestamps(stream: av.video.stream.VideoStream) -> bool:
    """Whether the container stores frame timestamps; raw elementary streams (.h264, .hevc, .m2v) do not.

    Their demuxers invent timestamps and an average rate at a default 25 fps;
    the rate is then the one the bitstream states (its VUI or sequence header),
    which FFmpeg's guess and ffprobe's ``r_frame_rate`` report.
    """
    return not stream.container.format.flags & av.format.Flags.no_timestamps.value


def _stream_fps(stream: av.video.stream.VideoStream) -> Fraction | None:
    """The constant rate sepgan reads a stream at: the nominal rate, or the average for variable-rate input.

    Variable-rate input (the nominal and average rates more than 1 % apart) is
    read as constant-rate at its average, so the output lasts as long as the input.
    A raw elementary stream is read at its nominal rate (:func:`has_timestamps`).
    """
    nominal = nominal_fps(stream)
    if nominal and not has_timestamps(stream):
        return nominal
    average = Fraction(stream.average_rate) if stream.average_rate else None
    if nominal and (average is None or abs(nominal / average - 1) < Fraction(1, 100)):
        return nominal
    return average or nominal


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
    nominal_fps: Fraction | None = None  # the rate the frames were shot at (:func:`nominal_fps`)

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
        nominal_fps=nominal_fps(stream),
    )


def has_video_stream(path: str | os.PathLike[str]) -> bool:
    """Whether FFmpeg reads a video stream from ``path``, whatever its suffix (False for any error)."""
    try:
        with av.open(str(path), "r") as container:
            return bool(container.streams.video)
    except (av.FFmpegError, OSError, ValueError):
        return False


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Size, frame rate, frame count and streams of a video file; raises :class:`VideoError`."""
    path = Path(path)
    with _open_input(path) as container:
        return _describe(path, container)


# ---------------------------------------------------------------------------
# Colour: how YUV samples become RGB and back, and the tags that say so
# ---------------------------------------------------------------------------

# FFmpeg's colour codes (AVColorSpace, AVColorRange, AVColorTransferCharacteristic,
# AVColorPrimaries), named as ffprobe names them; 2 is "unspecified" in all but the range.
_MATRIX_NAMES = {
    0: "gbr",
    1: "bt709",
    2: "unknown",
    4: "fcc",
    5: "bt470bg",
    6: "smpte170m",
    7: "smpte240m",
    8: "ycgco",
    9: "bt2020nc",
    10: "bt2020c",
    11: "smpte2085",
    12: "chroma-derived-nc",
    13: "chroma-derived-c",
    14: "ictcp",
}
# The matrices swscale converts with, by AVColorSpace (bt470bg and smpte170m are both BT.601).
_SWS_MATRIX = {1: "ITU709", 4: "FCC", 5: "ITU601", 6: "ITU601", 7: "SMPTE240M", 9: "BT2020"}
_MATRIX_BT709, _MATRIX_BT601 = 1, 6
_RANGE_TV, _RANGE_PC = 1, 2
_UNSPECIFIED = 2
_HDR_TRANSFERS = {16: "PQ (smpte2084)", 18: "HLG (arib-std-b67)"}
# Accurate rounding and full chroma resolution: flat colours survive a YUV→RGB→YUV
# round trip within one level (plain bilinear is off by up to 2); ~3× the cost of
# bilinear, 9 ms per 1280×720 frame, small next to interpolation.
_SWS_FLAGS = (
    av.video.reformatter.Interpolation.BILINEAR
    | av.video.reformatter.Interpolation.ACCURATE_RND
    | av.video.reformatter.Interpolation.FULL_CHR_H_INT
    | av.video.reformatter.Interpolation.FULL_CHR_H_INP
)


@dataclass(frozen=True)
class Colour:
    """How a video's samples map to RGB, and the colour tags an output should carry.

    The values are FFmpeg's codes (``AVColorSpace`` for ``matrix``, and so on).
    ``matrix`` and ``range`` are the ones sepgan converts with: the input's tags,
    or for untagged YUV what players assume, BT.709 for HD (width ≥ 1280 or
    height > 576, mpv's and libplacebo's test) and BT.601 below, limited (tv)
    range; ``guessed`` says so.
    ``primaries`` and ``transfer`` are tags only, copied to the output
    (2: unspecified). ``rgb``: the samples are RGB already (gbrp, bgr0, a
    palette), so no matrix applies. ``bits``: the input's bits per sample.
    """

    matrix: int = _MATRIX_BT601
    range: int = _RANGE_TV
    primaries: int = _UNSPECIFIED
    transfer: int = _UNSPECIFIED
    rgb: bool = False
    bits: int = 8
    guessed: bool = True

    @classmethod
    def untagged(cls, width: int, height: int) -> Colour:
        """What players assume for untagged YUV video of this size."""
        hd = width >= 1280 or height > 576
        return cls(matrix=_MATRIX_BT709 if hd else _MATRIX_BT601)

    @property
    def matrix_name(self) -> str:
        return _MATRIX_NAMES.get(self.matrix, str(self.matrix))

    def sws_arguments(self) -> dict[str, object]:
        """:meth:`av.VideoFrame.reformat` arguments for RGB ↔ YUV with this matrix (not the ranges)."""
        matrix = _SWS_MATRIX[self.matrix]
        return {"src_colorspace": matrix, "dst_colorspace": matrix, "interpolation": _SWS_FLAGS}


def _stream_colour(path: Path, stream: av.video.stream.VideoStream) -> Colour:
    """The :class:`Colour` of a video stream; raises :class:`VideoError` for alpha, HDR and
    unknown matrices."""
    context = stream.codec_context
    pix_fmt = context.pix_fmt
    video_format = av.VideoFormat(pix_fmt) if pix_fmt else None
    components = video_format.components if video_format else ()
    if any(component.is_alpha for component in components) or stream.metadata.get("alpha_mode") == "1":
        # VP9/WebM keeps alpha beside the picture (Matroska's alpha_mode); FFmpeg's decoder drops it.
        kind = pix_fmt if any(component.is_alpha for component in components) else "alpha_mode=1"
        raise VideoError(f"{path}: video has an alpha channel ({kind}); sepgan needs opaque RGB")
    bits = max((component.bits for component in components), default=8)
    if context.color_trc in _HDR_TRANSFERS:
        raise VideoError(
            f"{path}: HDR video ({_HDR_TRANSFERS[context.color_trc]} transfer, {bits}-bit) is not supported: "
            "sepgan interpolates 8-bit SDR and would lose the HDR picture; tone-map it to SDR first "
            "(e.g. with ffmpeg's zscale and tonemap filters)"
        )
    rgb = bool(video_format and (video_format.is_rgb or video_format.has_palette))
    if rgb:
        return Colour(
            matrix=0,
            range=_RANGE_PC,
            primaries=context.color_primaries,
            transfer=context.color_trc,
            rgb=True,
            bits=bits,
            guessed=False,
        )
    guess = Colour.untagged(stream.width, stream.height)
    matrix = context.colorspace
    if matrix in (_UNSPECIFIED, 3):  # 3: reserved, as good as untagged
        matrix = guess.matrix
    elif matrix not in _SWS_MATRIX:
        raise VideoError(
            f"{path}: colour matrix {_MATRIX_NAMES.get(matrix, matrix)} is not supported; "
            "convert to bt709 first (e.g. ffmpeg -vf colorspace=all=bt709)"
        )
    full = context.color_range == _RANGE_PC or (pix_fmt or "").startswith("yuvj")
    return Colour(
        matrix=matrix,
        range=_RANGE_PC if full else _RANGE_TV,
        primaries=context.color_primaries,
        transfer=context.color_trc,
        bits=bits,
        guessed=context.colorspace != matrix,
    )


_IDENTITY_MATRIX = (65536, 0, 0, 0, 65536, 0, 0, 0, 1 << 30)


@dataclass(frozen=True)
class Presentation:
    """How a video stream is shown and labelled, apart from its pixels; an output keeps the input's.

    ``display_matrix``: FFmpeg's 3×3 ``DISPLAYMATRIX`` (nine int32, 16.16 fixed
    point), which players apply to rotate or mirror the stored picture; None when
    the picture is shown as stored. ``sample_aspect_ratio``: the shape of a pixel
    (4/3: each pixel is shown a third wider than tall); None for square pixels.
    ``tags``: the video stream's tags (language, title ...), as (key, value) pairs.
    """

    display_matrix: tuple[int, ...] | None = None
    sample_aspect_ratio: Fraction | None = None
    tags: tuple[tuple[str, str], ...] = ()

    @property
    def rotation(self) -> float:
        """Counter-clockwise rotation in degrees that players apply, as ffprobe reports it (0 if none).

        Mirroring shows in :attr:`display_matrix` only (its determinant is negative).
        """
        if self.display_matrix is None:
            return 0.0
        a, b, _, c, d, *_ = self.display_matrix
        degrees = round(-math.degrees(math.atan2(b / math.hypot(b, d), a / math.hypot(a, c))), 3) + 0.0
        return 180.0 if degrees == -180 else degrees  # in (-180, 180]

    @property
    def turn(self) -> str:
        """The display matrix in words: "rotation 90°", or "mirroring (ffprobe: rotation 180°)"
        ("" without one).

        A mirror has no rotation of its own; ffprobe's angle is given to identify the matrix.
        """
        if self.display_matrix is None:
            return ""
        a, b, _, c, d, *_ = self.display_matrix
        if a * d - b * c < 0:
            return f"mirroring (ffprobe: rotation {self.rotation:g}°)"
        return f"rotation {self.rotation:g}°"

    def orient(self, frame: np.ndarray) -> np.ndarray | None:
        """``frame`` (H×W×3) as players show it, for a rotation by a multiple of 90° with or without a mirror.

        None when the display matrix turns by another angle (that needs resampling).
        The matrix maps stored pixel (p, q) to shown pixel (a·p + c·q, b·p + d·q).
        """
        if self.display_matrix is None:
            return frame
        a, b, _, c, d, *_ = self.display_matrix
        largest = max(abs(a), abs(b), abs(c), abs(d))
        a, b, c, d = (0 if abs(value) < largest / 100 else (1 if value > 0 else -1) for value in (a, b, c, d))
        if (a == 0) != (d == 0) or (b == 0) != (c == 0) or (a == 0) == (b == 0):
            return None
        rows, columns = np.indices(frame.shape[:2])
        shown_columns, shown_rows = a * columns + c * rows, b * columns + d * rows
        height, width = frame.shape[:2] if a else frame.shape[1::-1]
        shown = np.empty((height, width, frame.shape[2]), frame.dtype)
        shown[shown_rows - shown_rows.min(), shown_columns - shown_columns.min()] = frame
        return shown

    def describe(self) -> str:
        """What a player would lose without it, e.g. "rotation 90°, sample aspect ratio 4:3"."""
        parts = []
        if self.display_matrix is not None:
            parts.append(self.turn)
        if (aspect := self.sample_aspect_ratio) is not None:
            parts.append(f"sample aspect ratio {aspect.numerator}:{aspect.denominator}")
        return ", ".join(parts)


def _stream_tags(stream: av.stream.Stream) -> dict[str, str]:
    return {key: value for key, value in stream.metadata.items() if key.lower() not in _MUXER_TAGS}


def _frame_display_matrix(frame: av.VideoFrame) -> tuple[int, ...] | None:
    for side_data in frame.side_data:
        if side_data.type == av.sidedata.sidedata.Type.DISPLAYMATRIX:
            matrix = tuple(int(value) for value in np.frombuffer(bytes(side_data), dtype=np.int32)[:9])
            return None if matrix == _IDENTITY_MATRIX else matrix
    return None


# AVFieldOrder codes of interlaced video, named as ffprobe names them: the field coded first, then the one
# shown first (t: top, b: bottom); the one shown first is bwdif's parity.
_INTERLACED_FIELD_ORDERS = {2: "tt", 3: "bb", 4: "tb", 5: "bt"}


class _Deinterlacer:
    """FFmpeg's ``bwdif`` in a filter graph: one progressive frame out per interlaced frame in.

    Mode ``send_frame`` keeps the frame count, rate and timestamps (``send_field``
    would double the rate from the fields, a job for the interpolator).
    ``deint`` is ``all`` or ``interlaced`` (only the frames flagged so; the others
    pass unchanged), ``parity`` ``auto`` (each frame's flag), ``tff`` or ``bff``.
    bwdif looks one frame ahead, so :meth:`push` returns the frames that are
    ready and :meth:`flush` the last. A change of size or pixel format mid-stream
    starts a new graph. Cheap: a few ms per 1920×1080 frame, small next to interpolation.
    """

    def __init__(self, options: str) -> None:
        self.options = options
        self.graph: av.filter.Graph | None = None
        self.layout: tuple[int, int, str] | None = None

    def push(self, frame: av.VideoFrame) -> list[av.VideoFrame]:
        ready = []
        layout = (frame.width, frame.height, frame.format.name)
        if layout != self.layout:
            ready = self.flush()
            self.graph, self.layout = av.filter.Graph(), layout
            source = self.graph.add_buffer(template=frame, time_base=frame.time_base or Fraction(1, 1000))
            bwdif = self.graph.add("bwdif", self.options)
            sink = self.graph.add("buffersink")
            source.link_to(bwdif)
            bwdif.link_to(sink)
            self.graph.configure()
        self.graph.vpush(frame)
        return ready + self._pull()

    def flush(self) -> list[av.VideoFrame]:
        if self.graph is None:
            return []
        self.graph.vpush(None)
        frames = self._pull()
        self.graph = self.layout = None
        return frames

    def _pull(self) -> list[av.VideoFrame]:
        frames = []
        while True:
            try:
                frames.append(self.graph.vpull())
            except (av.BlockingIOError, av.EOFError):
                return frames


class VideoReader:
    """Streaming decoder for the first video stream of a file (any container/codec FFmpeg reads).

    ``reader.frames(on_packet)`` yields RGB uint8 H×W×3 frames in display
    order (``max_side`` downscales them); every packet of the audio and subtitle
    streams (``reader.passthrough``) is given to ``on_packet`` as the demuxer
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
    on opening; input of more than 8 bits is read as 8-bit, ``reader.notes`` says so.
    Interlaced video is deinterlaced in the loop (bwdif, one frame per frame), with a note.
    ``reader.presentation`` (rotation, pixel aspect, tags) goes to the writer the same way.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.container = _open_input(self.path)
        try:
            self.info = _describe(self.path, self.container)
            self.colour = _stream_colour(self.path, self.container.streams.video[0])
        except BaseException:
            self.container.close()
            raise
        self.stream = self.container.streams.video[0]
        self.notes: list[str] = []
        if self.colour.bits > 8:
            self.notes.append(
                f"{self.path.name} is {self.colour.bits}-bit ({self.stream.codec_context.pix_fmt}); sepgan "
                "works in 8 bits per channel, so the output is 8-bit (its colour tags are kept)"
            )
        self.stream.thread_type = "AUTO"  # frame/slice threads inside FFmpeg; frames stay in order
        self.passthrough = [*self.container.streams.audio, *self.container.streams.subtitles]
        # The file's time origin: the earliest start of the streams read. MPEG-TS starts at ~1.4 s;
        # like a stream copy, the output starts at 0 and keeps each stream's offset from the origin.
        starts = [
            stream.start_time * Fraction(stream.time_base)
            for stream in (self.stream, *self.passthrough)
            if stream.start_time is not None and stream.time_base is not None
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
            matrix = _frame_display_matrix(next(container.decode(video=0)))
        aspect = self.stream.sample_aspect_ratio
        return Presentation(
            display_matrix=matrix,
            sample_aspect_ratio=Fraction(aspect) if aspect and aspect != 1 else None,
            tags=tuple(_stream_tags(self.stream).items()),
        )

    def decoded(self, on_packet: Callable[[av.Packet], None] | None = None) -> Iterator[av.VideoFrame]:
        """The decoded video frames (PyAV frames, with their timestamps), in display order.

        A file that ends early (fewer frames than its container lists, frames
        ending well before its duration, or a last packet cut short) gives the
        frames up to there and a note in ``notes``; a packet that cannot be
        decoded elsewhere raises :class:`VideoError`.
        """
        streams = [self.stream, *self.passthrough] if on_packet else [self.stream]
        count, packets, cut_short, last_time = 0, 0, None, None
        deinterlacer: _Deinterlacer | None = None
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
                        cut_short = _reason(error)
                        frames = self.stream.codec_context.decode(None)  # the frames still in the decoder
                    for frame in frames:
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
                elif packet.dts is not None and on_packet is not None:
                    if self.origin:
                        shift = round(self.origin / packet.time_base)
                        packet.dts -= shift
                        if packet.pts is not None:
                            packet.pts -= shift
                    on_packet(packet)
            if deinterlacer is not None:
                yield from deinterlacer.flush()
        except av.FFmpegError as error:
            raise VideoError(
                f"{self.path}: corrupt or truncated video at frame {count} ({_reason(error)})"
            ) from error
        note = self._early_end(count, packets, last_time, cut_short)
        if note is not None:
            self.notes.append(note)

    def _deinterlacer(self, frame: av.VideoFrame) -> _Deinterlacer | None:
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
        return _Deinterlacer(f"mode=send_frame:parity={parity}:deint={every}")

    @property
    def field_order(self) -> str | None:
        """The field order if the stream says interlaced: "tt", "bb", "tb" or "bt" (as ffprobe); else None."""
        return _INTERLACED_FIELD_ORDERS.get(self.stream.codec_context.field_order)

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
        tolerance = 1.0 if self.passthrough else 2 * float(1 / self.info.fps)
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
        self, on_packet: Callable[[av.Packet], None] | None = None, *, max_side: int | None = None
    ) -> Iterator[np.ndarray]:
        """RGB uint8 H×W×3 frames; with ``max_side``, downscaled (area-averaged) to fit :func:`fit_within`."""
        for frame in self.decoded(on_packet):
            yield to_rgb(frame, fit_within(frame.width, frame.height, max_side), "AREA", self.colour)

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
) -> np.ndarray:
    """A decoded frame as RGB uint8 H×W×3, scaled by FFmpeg's swscale to ``size`` (width, height) if given.

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
        arguments.update(src_color_range=colour.range, dst_color_range=_RANGE_PC, **colour.sws_arguments())
        if interpolation is not None and "width" in arguments:  # the scaling filter, with accurate rounding
            arguments["interpolation"] = (
                getattr(av.video.reformatter.Interpolation, interpolation) | _SWS_FLAGS
            )
    return frame.to_ndarray(format="rgb24", **arguments)


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
            f"{output}: unknown video container {suffix!r}; "
            "use .mp4, .mkv or .mov, or a folder for PNG frames"
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


def _output_colour(colour: Colour | None, codec: str, width: int, height: int) -> Colour:
    """The colour a :class:`VideoWriter` writes with: the input's, in the samples ``codec`` stores."""
    if colour is None:
        colour = Colour.untagged(width, height)
    if codec == "ffv1":
        return replace(colour, matrix=0, range=_RANGE_PC, rgb=True, guessed=False)
    if colour.rgb:  # RGB input to a YUV encoder: the matrix players assume at this size
        return replace(colour, matrix=Colour.untagged(width, height).matrix, range=_RANGE_TV, rgb=False)
    return colour


# (Kr, Kb) of each matrix sepgan converts with, by AVColorSpace: Y = Kr·R + (1 − Kr − Kb)·G + Kb·B.
_LUMA_WEIGHTS = {
    1: (0.2126, 0.0722),
    4: (0.30, 0.11),
    5: (0.299, 0.114),
    6: (0.299, 0.114),
    7: (0.212, 0.087),
    9: (0.2627, 0.0593),
}


def _full_range_yuv(frame: np.ndarray, matrix: int, pix_fmt: str) -> np.ndarray:
    """RGB uint8 H×W×3 as full-range (pc, JPEG) YUV in ``matrix``, rounded to the nearest level.

    Laid out as :meth:`av.VideoFrame.from_ndarray` wants it: ``yuv420p`` as
    H·3/2 × W, ``yuv444p`` as 3×H×W. Not done by swscale, which (in FFmpeg 8.1)
    floors the chroma of full-range output where it rounds tv-range output: U and
    V come out half a level low on average (measured over 256 random colours), so
    a grey (127, 129, 126) gets U = 126 for 126.84 and decodes 2 levels less blue,
    3 after the lossy encode. Costs 13–30 ms per 1920×1080 frame on 2 busy cores,
    against swscale's 5.
    """
    kr, kb = _LUMA_WEIGHTS[matrix]
    weights = np.array([kr, 1 - kr - kb, kb], np.float32)
    rgb = frame.astype(np.float32)
    luma = rgb @ weights
    height, width = luma.shape
    if pix_fmt == "yuv420p":  # U and V are linear in RGB: subsampling RGB first is the same, and 4× cheaper
        # H.264's chroma siting, which the reader's swscale upsampling assumes: each chroma sample sits on
        # an even column, between two rows. Taking those columns makes a pass-through frame's chroma the
        # input's again; a 2×2 mean blurs each chroma edge by a sample, which x264 then rings on.
        rgb = rgb[:, ::2].reshape(height // 2, 2, width // 2, 3).mean(axis=1)
    chroma_luma = luma if pix_fmt != "yuv420p" else rgb @ weights
    u = (rgb[..., 2] - chroma_luma) / (2 * (1 - kb)) + 128
    v = (rgb[..., 0] - chroma_luma) / (2 * (1 - kr)) + 128
    planes = [np.clip(np.rint(plane), 0, 255).astype(np.uint8) for plane in (luma, u, v)]
    if pix_fmt == "yuv420p":
        return np.concatenate([planes[0], planes[1].reshape(-1, width), planes[2].reshape(-1, width)])
    return np.stack(planes)


class VideoWriter:
    """Encodes RGB uint8 frames to a video file at an exact frame rate, atomically.

    ``write(frame)`` encodes the next frame; ``copy_packet(packet)`` copies a
    packet of one of the ``passthrough`` input streams; ``close()`` flushes and
    renames the temporary file onto ``path``; ``abort()`` deletes it.
    Used as a context manager, an exception aborts.

    ``colour`` (a reader's :attr:`VideoReader.colour`) sets how RGB becomes YUV
    and the colour tags written: the input's matrix, range, primaries and
    transfer. Without it, untagged-input rules apply (BT.709 for HD, BT.601
    below, tv range). The matrix is always tagged, also when it was guessed, so
    no player has to guess again. FFV1 stores RGB, tagged ``gbr``.

    ``presentation`` (a reader's :attr:`VideoReader.presentation`) is written
    to the video stream: display matrix, sample aspect ratio and tags. Copied
    audio and subtitle streams keep their tags and disposition.
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
        colour: Colour | None = None,
        presentation: Presentation | None = None,
    ) -> None:
        self.path = Path(path)
        self.fps = Fraction(fps)
        self.colour = _output_colour(colour, codec, width, height)
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
            self._present(presentation or Presentation())
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
        # The encoder writes these into the bitstream (H.264 VUI) and the muxer into the container.
        context = stream.codec_context
        context.colorspace, context.color_range = self.colour.matrix, self.colour.range
        context.color_primaries, context.color_trc = self.colour.primaries, self.colour.transfer
        stream.time_base = Fraction(self.fps.denominator, self.fps.numerator)
        stream.codec_context.time_base = stream.time_base
        self.video = stream

    def _present(self, presentation: Presentation) -> None:
        """Write the input's display matrix, sample aspect ratio and tags to the video stream."""
        if presentation.display_matrix is not None:
            if self.path.suffix.lower() in _ROTATING_CONTAINERS:
                self.video.set_display_matrix(presentation.display_matrix)
            else:
                self.notes.append(
                    f"{presentation.turn} dropped: {self.path.suffix} cannot hold a display "
                    "matrix (write .mp4, .mov or .mkv to keep it)"
                )
        if presentation.sample_aspect_ratio is not None:
            # On the codec context: the encoder writes it into the bitstream, the muxer into the container.
            self.video.codec_context.sample_aspect_ratio = presentation.sample_aspect_ratio
        self.video.metadata.update(dict(presentation.tags))

    def _add_passthrough(self, stream: av.stream.Stream) -> None:
        name = stream.codec_context.name
        if name in self.container.supported_codecs:
            copy = self._copies[stream.index] = self.container.add_stream_from_template(stream)
            copy.metadata.update(_stream_tags(stream))
            copy.disposition = stream.disposition
        elif stream.type == "audio":
            decoder = stream.codec_context
            encoder = self.container.add_stream("aac", rate=decoder.sample_rate, layout=decoder.layout)
            encoder.metadata.update(_stream_tags(stream))
            encoder.disposition = stream.disposition
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
        pix_fmt = self.video.codec_context.pix_fmt
        if self.colour.rgb:
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
        elif self.colour.range == _RANGE_PC:  # not by swscale, which floors full-range chroma
            samples = _full_range_yuv(frame, self.colour.matrix, pix_fmt)
            video_frame = av.VideoFrame.from_ndarray(samples, format=pix_fmt)
            video_frame.color_range, video_frame.colorspace = self.colour.range, self.colour.matrix
        else:
            # Converted here, not by the encoder, whose conversion would use BT.601 whatever the tags.
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24").reformat(
                format=pix_fmt,
                src_color_range=_RANGE_PC,
                dst_color_range=self.colour.range,
                **self.colour.sws_arguments(),
            )
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
    Audio, subtitles and pixel aspect cannot be kept, nor rotations other than
    by multiples of 90°, which are applied to the pixels; ``notes`` says so.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        passthrough: Sequence[av.stream.Stream] = (),
        presentation: Presentation | None = None,
    ) -> None:
        self.path = Path(path)
        self.frames_written = 0
        self.notes = (
            [f"{len(passthrough)} audio/subtitle stream(s) dropped: a PNG sequence has none"]
            if passthrough
            else []
        )
        self.presentation = presentation or Presentation()
        # A PNG has no display matrix: rotations by multiples of 90° (and mirrors) are applied to the pixels.
        self._oriented = (
            self.presentation.display_matrix is not None
            and self.presentation.orient(np.zeros((2, 3, 1), np.uint8)) is not None
        )
        if self._oriented:
            self.notes.append(
                f"{self.presentation.turn} applied to the PNG frames (a PNG has no display matrix)"
            )
        lost = replace(self.presentation, display_matrix=None) if self._oriented else self.presentation
        if lost.describe():
            self.notes.append(
                f"{lost.describe()} not kept: "
                "PNG frames are stored as decoded (write a video file to keep it)"
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
        if self._oriented:
            frame = self.presentation.orient(frame)
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
    colour: Colour | None = None,
    presentation: Presentation | None = None,
) -> VideoWriter | PngSequenceWriter:
    """A :class:`VideoWriter` or a :class:`PngSequenceWriter`, as :func:`output_codec` decides."""
    chosen = output_codec(path, codec)
    if chosen == "png":
        return PngSequenceWriter(path, passthrough, presentation)
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
        colour=colour,
        presentation=presentation,
    )


# ---------------------------------------------------------------------------
# Scene cuts
# ---------------------------------------------------------------------------


def thumbnail(frame: np.ndarray) -> np.ndarray:
    """A float32 grayscale thumbnail in [0, 1], longer side 64 (64×36 for 16:9), aspect kept, area-averaged.

    Frames already that small are not enlarged. Cheap: a few ms at 1080p.
    """
    grey = Image.fromarray(frame).convert("L")
    size = fit_within(grey.width, grey.height, THUMBNAIL_SIDE)
    if size != grey.size:
        grey = grey.convert("F").resize(size, Image.Resampling.BOX)  # in float: no rounding to levels
    return np.asarray(grey, dtype=np.float32) / 255.0


def scene_score(thumbnail0: np.ndarray, thumbnail1: np.ndarray) -> float:
    """Mean absolute difference of two thumbnails: 0 for the same picture, up to 1."""
    return float(np.abs(thumbnail0 - thumbnail1).mean())


FADE_MIN_CHANGE = 3 / 255  # mean brightness change below which a pair is not a brightness ramp
# Two pictures of one fade correlate (a gain keeps the picture; motion during the fade lowers it
# to ~0.85 for a one-pixel shift of the thumbnail), two shots hardly (~0 for unrelated content) ...
FADE_MIN_CORRELATION = 0.5
FADE_FLAT = 2 / 255  # ... unless one of them is flat (standard deviation below this): black, white


def brightness_ramp(before: np.ndarray, after: np.ndarray, min_change: float = FADE_MIN_CHANGE) -> bool:
    """Whether ``after`` differs from ``before`` mostly by a global gain and offset of ``min_change`` or more.

    The mean changes by more than ``min_change`` (in the arrays' units), and the
    least-squares fit ``after ≈ a · before + b`` leaves less than half of the
    change: a fade, a flash or an exposure step. Motion changes pixels locally,
    so no global fit explains it (and a sliding texture keeps its mean).
    """
    if abs(float(after.mean() - before.mean())) <= min_change:
        return False
    x, y = before.ravel().astype(np.float64), after.ravel().astype(np.float64)
    variance = x.var()
    gain = ((x - x.mean()) * (y - y.mean())).mean() / variance if variance > 1e-12 else 0.0
    offset = y.mean() - gain * x.mean()
    residual = np.abs(gain * x + offset - y).mean()
    return bool(residual < 0.5 * np.abs(y - x).mean())


def is_fade(thumbnail0: np.ndarray, thumbnail1: np.ndarray) -> bool:
    """Whether two thumbnails (:func:`thumbnail`) are steps of one fade, not two shots.

    One is a :func:`brightness_ramp` of the other, either way (a fade in from
    black is a ramp from the lit frame back to black), and the two are the same
    picture: correlated by at least ``FADE_MIN_CORRELATION``, or one is flat
    (black, white or any uniform colour, where a fade starts or ends). A cut to
    or from a uniform frame thus counts as a fade, and its in-between frames are
    blended: at most one output interval of a dissolve to black.
    """
    if not (brightness_ramp(thumbnail0, thumbnail1) or brightness_ramp(thumbnail1, thumbnail0)):
        return False
    deviation0, deviation1 = float(thumbnail0.std()), float(thumbnail1.std())
    if min(deviation0, deviation1) < FADE_FLAT:
        return True
    correlation = float(((thumbnail0 - thumbnail0.mean()) * (thumbnail1 - thumbnail1.mean())).mean())
    return correlation / (deviation0 * deviation1) >= FADE_MIN_CORRELATION
