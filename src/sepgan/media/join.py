"""Joining the parts of a segmented run into one output, without re-encoding.

A long job is cut into segments (:mod:`sepgan.segments`), each encoded to a
part file of its own with the output's encoder and settings. :func:`join_video`
copies their packets, in order, into the final file and muxes the input's audio
and subtitles once, beside them (:meth:`sepgan.media.reader.VideoReader.other_packets`,
through the same :class:`~sepgan.media.writer.VideoWriter` as a one-pass run, so
stream copy, AAC fallback, slow motion's stretch and the notes are the same).

Timestamps are the output's own, not the parts' containers': a part holds
output frames ``first … first + frames − 1``, so each packet's presentation time
is its place among the part's frames (read back from the part, whatever its
container rounded) plus ``first``, exact at any rate. Decode timestamps follow
the packets' order, ``first + j − delay``, with one reorder delay for the whole
file (the largest any part needs: x264's B-frames), so they only grow across
joins. Every part starts with a keyframe (an encoder's first frame is one), so
the joined stream decodes as one.

:func:`join_png` links the files of PNG-sequence parts, numbered by output frame
already, into one folder.
"""

from __future__ import annotations

import heapq
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from sepgan.atomic import AtomicOutput
from sepgan.media.formats import VideoError, ffmpeg_reason
from sepgan.media.presentation import ContainerInfo, Presentation
from sepgan.media.reader import VideoReader
from sepgan.media.writer import VideoWriter

__all__ = ["Part", "join_png", "join_video"]


@dataclass(frozen=True)
class Part:
    """One segment's encoded output: ``frames`` output frames from index ``first`` on."""

    path: Path
    first: int
    frames: int


def _frame_order(part: Part, fps: Fraction) -> list[int]:
    """The frame number (0 … frames − 1 within the part) of each video packet, in decode order.

    Raises :class:`VideoError` when the part does not hold exactly its frames (a damaged part).
    """
    try:
        with av.open(str(part.path), "r") as container:
            stream = container.streams.video[0]
            time_base = Fraction(stream.time_base)
            pts = [packet.pts for packet in container.demux(stream) if packet.size]
    except (av.FFmpegError, OSError, IndexError) as error:
        raise VideoError(f"{part.path}: cannot read the part ({ffmpeg_reason(error)})") from error
    if any(value is None for value in pts):
        raise VideoError(f"{part.path}: a packet without a timestamp")
    frames = [round(value * time_base * fps) for value in pts]
    start = min(frames, default=0)
    order = [frame - start for frame in frames]
    if sorted(order) != list(range(part.frames)):
        raise VideoError(f"{part.path}: {len(order)} frames where {part.frames} were written")
    return order


def _video_packets(
    parts: Sequence[Part], orders: Sequence[list[int]], delay: int
) -> Iterator[tuple[Fraction, int, av.Packet, int, int]]:
    """(decode time in output frames, 0, packet, pts, dts) of every part's packets, in order."""
    for part, order in zip(parts, orders, strict=True):
        with av.open(str(part.path), "r") as container:
            stream = container.streams.video[0]
            packets = (packet for packet in container.demux(stream) if packet.size)
            for j, (packet, frame) in enumerate(zip(packets, order, strict=False)):
                dts = part.first + j - delay
                yield Fraction(dts), 0, packet, part.first + frame, dts


def join_video(
    path: str | os.PathLike[str],
    parts: Sequence[Part],
    *,
    fps: Fraction,
    width: int,
    height: int,
    codec: str,
    start_time: Fraction = Fraction(0),
    source: VideoReader | None = None,
    presentation: Presentation | None = None,
    slow_motion: int = 1,
    container_info: ContainerInfo | None = None,
) -> list[str]:
    """Write ``parts`` (in order, encoded by :class:`VideoWriter` with ``codec``) to ``path`` as one
    video at ``fps``, with ``source``'s audio and subtitles; returns the writer's notes.

    ``start_time`` (seconds) is the output's first timestamp, as for the one-pass writer;
    ``presentation`` and ``container_info`` (file tags, chapters) are the input's.
    The output is written atomically. Raises :class:`VideoError` for a damaged part.
    """
    parts = [part for part in parts if part.frames]
    if not parts:
        raise VideoError(f"{path}: no frames to join")
    orders = [_frame_order(part, fps) for part in parts]
    delay = max(max(j - frame for j, frame in enumerate(order)) for order in orders)
    with av.open(str(parts[0].path), "r") as first:
        writer = VideoWriter(
            path,
            fps=fps,
            width=width,
            height=height,
            codec=codec,
            start_time=start_time,
            passthrough=source.passthrough if source is not None else (),
            presentation=presentation,
            slow_motion=slow_motion,
            template=first.streams.video[0],
            container_info=container_info,
        )
    try:
        video = _video_packets(parts, orders, delay)
        first_pts = round(start_time * fps)
        # The input's other packets on the same clock, in output frames (slowed down N× with slow motion).
        others = (
            (
                (packet.dts * Fraction(packet.time_base) * slow_motion) * fps - first_pts,
                1,
                packet,
                0,
                0,
            )
            for packet in (source.other_packets() if source is not None else ())
        )
        for _, kind, packet, pts, dts in heapq.merge(video, others, key=lambda item: (item[0], item[1])):
            if kind == 0:
                writer.copy_video_packet(packet, pts, dts)
            else:
                writer.copy_packet(packet)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    return writer.notes


def join_png(path: str | os.PathLike[str], parts: Sequence[Path], *, overwrite: bool = False) -> int:
    """Link (or copy) the PNG files of the part folders ``parts`` (named by output frame) into the new
    folder ``path`` (``overwrite``: or in place of a folder with files in it), atomically; returns the
    number of frames. Raises :class:`VideoError`."""
    path = Path(path)
    try:
        output = AtomicOutput(path, folder=True, replace=overwrite)
        count = 0
        for part in parts:
            for frame in sorted(part.glob("*.png")):
                # A link, not a move: a stop here leaves the parts whole for --resume.
                try:
                    os.link(frame, output.temporary / frame.name)
                except OSError:
                    shutil.copy2(frame, output.temporary / frame.name)
                count += 1
        output.commit()
    except OSError as error:
        raise VideoError(f"{path}: cannot finish the output folder ({ffmpeg_reason(error)})") from error
    return count
