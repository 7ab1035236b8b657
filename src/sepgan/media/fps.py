"""Frame rates as exact rationals: parsing, printing, and the rate a stream is read at.

Frame rates are :class:`fractions.Fraction`: ``60000/1001`` doubled is
``120000/1001``. An input's rate is FFmpeg's guess of the real frame rate
(``guessed_rate``) unless it disagrees with the average rate by more than 1 %;
variable-frame-rate input is then read as constant-rate at the average
(``sepgan interpolate`` instead follows each frame's timestamp,
:class:`sepgan.timing.VariableRateRetiming`). Torch-free, and FFmpeg is loaded only
to inspect a stream.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

from sepgan.media.formats import VideoError

if TYPE_CHECKING:
    import av

__all__ = ["decimal_fps", "format_fps", "has_timestamps", "nominal_fps", "parse_fps", "stream_fps"]


# The frame rates a user may ask for: one frame a thousand seconds to a million a second.
MIN_FPS = Fraction(1, 1000)
MAX_FPS = 1_000_000


def parse_fps(text: str | float | Fraction) -> Fraction:
    """Parse a frame rate: ``"120"``, ``"60000/1001"`` or ``"59.94"``; :class:`VideoError` for text
    that is not one, or a rate outside :data:`MIN_FPS` … :data:`MAX_FPS` (the message quotes the text).

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
    if not MIN_FPS <= fps <= MAX_FPS:  # exact: 1e400 and 1e-9 stay what was typed, never inf or 0
        raise VideoError(
            f"frame rate {text!r} is out of range: use a rate from {MIN_FPS} to {MAX_FPS:,} frames per second"
        )
    if fps.denominator != 1:
        whole = round(fps * Fraction(1001, 1000))
        if whole >= 1 and abs(fps - Fraction(whole * 1000, 1001)) < Fraction(5, 1000):
            return Fraction(whole * 1000, 1001)
    return fps


def decimal_fps(fps: Fraction) -> str:
    """A rate as a short decimal, to three places at most: ``120``, ``119.88``, ``23.976``."""
    return f"{float(fps):.3f}".rstrip("0").rstrip(".")


def format_fps(fps: Fraction) -> str:
    """``120`` or ``120000/1001 (119.88)``."""
    if fps.denominator == 1:
        return str(fps.numerator)
    return f"{fps.numerator}/{fps.denominator} ({decimal_fps(fps)})"


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
    import av  # here, so that parsing a rate on the command line loads no FFmpeg

    return not stream.container.format.flags & av.format.Flags.no_timestamps.value


def stream_fps(stream: av.video.stream.VideoStream) -> Fraction | None:
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
