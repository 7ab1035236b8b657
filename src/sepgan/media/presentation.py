"""Presentation: how a video stream is shown and labelled, apart from its pixels.

The input's display matrix (rotation by any angle, mirroring), sample aspect
ratio (non-square pixels) and stream tags (language, title, disposition of
every stream) are written to the output (:class:`Presentation`), so a phone
video still plays upright. A PNG sequence cannot hold them: rotations by
multiples of 90° and mirrors are applied to its pixels
(:meth:`Presentation.orient`), and a note says what is not kept. AVI holds no
display matrix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

__all__ = [
    "Chapter",
    "ContainerInfo",
    "Presentation",
    "container_info",
    "frame_display_matrix",
    "stream_tags",
]

# Stream tags the muxer writes itself; copying the input's would state stale values.
_MUXER_TAGS = {"duration", "encoder", "handler_name", "vendor_id"}
_IDENTITY_MATRIX = (65536, 0, 0, 0, 65536, 0, 0, 0, 1 << 30)
# File tags a muxer writes itself (MP4's brands, the writing library).
_FILE_MUXER_TAGS = {"encoder", "major_brand", "minor_version", "compatible_brands", "duration"}


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


def stream_tags(stream: av.stream.Stream) -> dict[str, str]:
    return {key: value for key, value in stream.metadata.items() if key.lower() not in _MUXER_TAGS}


def frame_display_matrix(frame: av.VideoFrame) -> tuple[int, ...] | None:
    # A lookup by type, not iteration: PyAV 18.1.1 made iterating side data yield its types
    # (a mapping's keys) where earlier releases yielded the side data itself.
    side_data = frame.side_data.get(av.sidedata.sidedata.Type.DISPLAYMATRIX)
    if side_data is None:
        return None
    matrix = tuple(int(value) for value in np.frombuffer(bytes(side_data), dtype=np.int32)[:9])
    return None if matrix == _IDENTITY_MATRIX else matrix


@dataclass(frozen=True)
class Chapter:
    """A chapter of the input: ``start`` and ``end`` in seconds from its origin; ``tags`` (title, …)."""

    start: Fraction
    end: Fraction
    tags: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ContainerInfo:
    """What the input file carries beside its streams: file tags (title, artist, creation time, …)
    and chapters; an output keeps them (:class:`sepgan.media.writer.VideoWriter`)."""

    tags: tuple[tuple[str, str], ...] = ()
    chapters: tuple[Chapter, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.tags or self.chapters)

    def describe(self) -> str:
        """E.g. "3 chapters and 2 file tags"."""
        parts = []
        if self.chapters:
            parts.append(f"{len(self.chapters)} chapter{'s' if len(self.chapters) != 1 else ''}")
        if self.tags:
            parts.append(f"{len(self.tags)} file tag{'s' if len(self.tags) != 1 else ''}")
        return " and ".join(parts)


def container_info(container: av.container.InputContainer, origin: Fraction = Fraction(0)) -> ContainerInfo:
    """The file tags and chapters of an opened input, chapter times counted from ``origin`` (seconds)."""
    tags = tuple(
        (key, value) for key, value in container.metadata.items() if key.lower() not in _FILE_MUXER_TAGS
    )
    chapters = []
    for chapter in container.chapters():
        time_base = Fraction(chapter["time_base"])
        chapters.append(
            Chapter(
                start=max(Fraction(0), chapter["start"] * time_base - origin),
                end=max(Fraction(0), chapter["end"] * time_base - origin),
                tags=tuple(chapter.get("metadata", {}).items()),
            )
        )
    return ContainerInfo(tags, tuple(chapters))
