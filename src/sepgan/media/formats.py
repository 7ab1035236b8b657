"""What sepgan reads and writes, by name: file suffixes, encoders, containers, and the video error.

Torch-free and FFmpeg-free at import, so the command line can list what it
accepts without loading either.

* :data:`VIDEO_SUFFIXES` are taken for video without asking FFmpeg (which reads
  many more; :func:`sepgan.media.reader.has_video_stream` asks it).
* :data:`IMAGE_SUFFIXES` are the still-image suffixes every part of sepgan
  recognises (training and benchmark layouts, ``sepgan interpolate`` on a folder),
  the common ones first: that order is the preference when one frame exists in
  several formats (``frame1.png`` and ``frame1.jpg``).
* :data:`CODECS` are the output codecs: ``h264`` (libx264), ``hevc`` (H.265,
  libx265), ``av1`` (SVT-AV1, libaom or rav1e, whichever FFmpeg has: :data:`ENCODERS`),
  ``vp9`` (libvpx-vp9), ``prores`` (Apple ProRes 422 HQ, prores_ks), ``ffv1``
  (lossless RGB) and ``png`` (a folder of numbered PNG files); :data:`CONTAINERS`
  the suffixes each video codec may be written into (:data:`OUTPUT_VIDEO_SUFFIXES`
  all of them, for help texts and errors); :func:`output_codec` picks one for an
  output path (``.webm`` → VP9, other video suffixes → H.264). A path with a video
  suffix is always a video file, even where a folder of that name exists.
"""

from __future__ import annotations

import os
from pathlib import Path

from sepgan.errors import UserError

__all__ = [
    "ATTACHING_CONTAINERS",
    "CODECS",
    "CONTAINERS",
    "COVER_ART_CONTAINERS",
    "ENCODERS",
    "IMAGE_SUFFIXES",
    "OUTPUT_VIDEO_SUFFIXES",
    "ROTATING_CONTAINERS",
    "VIDEO_SUFFIXES",
    "VideoError",
    "check_codec",
    "ffmpeg_reason",
    "output_codec",
]

CODECS = ("h264", "hevc", "av1", "vp9", "prores", "ffv1", "png")
# FFmpeg's encoders for each video codec, the preferred first (AV1: the first one FFmpeg was built with).
ENCODERS = {
    "h264": ("libx264",),
    "hevc": ("libx265",),
    "av1": ("libsvtav1", "libaom-av1", "librav1e"),
    "vp9": ("libvpx-vp9",),
    "prores": ("prores_ks",),
    "ffv1": ("ffv1",),
}
# Containers each codec may be written into, by suffix.
CONTAINERS = {
    "h264": {".mp4", ".mkv", ".mov", ".m4v", ".avi"},
    "hevc": {".mp4", ".mkv", ".mov", ".m4v"},
    "av1": {".mp4", ".mkv", ".webm"},
    "vp9": {".webm", ".mkv", ".mp4"},
    "prores": {".mov", ".mkv"},
    "ffv1": {".mkv", ".avi", ".nut"},
}
# The codec a suffix gets when none is asked for (a video suffix not listed: h264).
_SUFFIX_CODECS = {".webm": "vp9"}
# Every suffix some encoder writes a video into, in the order help texts list them.
OUTPUT_VIDEO_SUFFIXES = tuple(sorted(set().union(*CONTAINERS.values()), key=lambda s: (s != ".mp4", s)))
# Containers whose muxers write a display matrix (MP4/MOV: tkhd matrix; Matroska and WebM: projection).
ROTATING_CONTAINERS = {".mp4", ".m4v", ".mov", ".mkv", ".webm"}
# Containers that hold attachments (an MKV's fonts for ASS subtitles).
ATTACHING_CONTAINERS = {".mkv"}
# Containers whose muxers store cover art (an attached picture) as such (MP4/MOV: the covr atom).
COVER_ART_CONTAINERS = {".mp4", ".m4v", ".mov"}
# Suffixes taken for video files without asking FFmpeg (which reads many more).
VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".nut", ".mpg", ".mpeg", ".ts", ".flv", ".wmv", ".y4m"}
)


class VideoError(UserError, ValueError):
    """A video that cannot be read or written; the message names the file and why."""


# Still-image formats Pillow reads, the common ones first. No video suffix
# (Pillow also registers .mpg and .mpeg, which are video to FFmpeg and to sepgan).
IMAGE_SUFFIXES = (
    ".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff",
    ".avif", ".dib", ".gif", ".j2k", ".jfif", ".jp2", ".jpe", ".jpx",
    ".pbm", ".pcx", ".pgm", ".pnm", ".ppm", ".qoi", ".ras", ".sgi", ".tga",
)  # fmt: skip


def ffmpeg_reason(error: BaseException) -> str:
    """The short reason of an FFmpeg or OS error, for an ``error:`` line ("Invalid argument")."""
    return (getattr(error, "strerror", None) or str(error) or type(error).__name__).strip()


def check_codec(codec: str) -> str:
    """``codec`` when it is one of :data:`CODECS` or ``"auto"``; else :class:`VideoError`."""
    if codec != "auto" and codec not in CODECS:
        raise VideoError(f"unknown codec {codec!r}; choose one of {', '.join(CODECS)}")
    return codec


def output_codec(output: str | os.PathLike[str], codec: str = "auto") -> str:
    """The codec for an output path: one of :data:`CODECS` (``"png"``: a folder of PNG files).

    ``"auto"`` picks VP9 for ``.webm``, h264 for the other video suffixes and a PNG sequence for a path
    without a suffix (or an existing folder without a video suffix). Raises
    :class:`VideoError` for a suffix no encoder writes, for a folder named like a
    video file (``out.mp4/``: a video suffix means a video) and for a codec the
    suffix cannot hold.
    """
    output = Path(output)
    suffix = output.suffix.lower()
    if suffix in VIDEO_SUFFIXES and output.is_dir():
        raise VideoError(
            f"{output} is a folder, but a {suffix} output is a video file; "
            "remove the folder, or choose a name without a video suffix for PNG frames"
        )
    if codec == "auto":
        if output.is_dir() or not suffix:
            return "png"
        if suffix in _SUFFIX_CODECS:
            return _SUFFIX_CODECS[suffix]
        if suffix in CONTAINERS["h264"]:
            return "h264"
        raise VideoError(
            f"{output}: unknown video container {suffix!r}; "
            f"use {', '.join(OUTPUT_VIDEO_SUFFIXES)}, or a folder for PNG frames"
        )
    check_codec(codec)
    if codec == "png":
        if suffix in VIDEO_SUFFIXES:
            raise VideoError(f"{output}: a PNG sequence is written to a folder, not to a {suffix} file")
        return codec
    if suffix not in CONTAINERS[codec]:
        allowed = ", ".join(sorted(CONTAINERS[codec]))
        raise VideoError(f"{output}: {codec} cannot be written into {suffix or 'a folder'}; use {allowed}")
    return codec
