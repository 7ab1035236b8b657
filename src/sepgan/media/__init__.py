"""Media: video and images in and out, frame rates, colour, presentation and scene cuts.

Frames are RGB uint8 arrays, H×W×3, at this layer's edges (uint16 for video of
more than 8 bits whose output keeps them: :func:`.writer.frame_bits`); :mod:`.frames`
is the one place where they become float tensors (RGB, [0, 1], B×3×H×W) and back.

=====================  =============================================================
module                 what it holds
=====================  =============================================================
:mod:`.formats`        video and image suffixes, encoders and containers, ``VideoError``
:mod:`.fps`            frame rates as exact rationals: parse, print, a stream's rate
:mod:`.reader`         probe, the one decode loop (``VideoReader``), ``iter_frames``,
                       the one shrink (swscale's area average)
:mod:`.deinterlace`    bwdif, one frame per frame
:mod:`.colour`         YUV ↔ RGB matrices and ranges, colour tags, HDR and alpha refusal
:mod:`.presentation`   display matrix (rotation, mirroring), pixel aspect, stream tags
:mod:`.writer`         H.264, FFV1 and PNG-sequence writers, stream copy, atomic output
:mod:`.stretch`        slow motion's audio (atempo, pitch kept) and subtitle retiming
:mod:`.frames`         image files ↔ uint8 arrays ↔ tensors, frame folders
:mod:`.scenes`         the one scene-cut and fade rule, in grey levels
=====================  =============================================================

The names most callers need are importable from here (``from sepgan.media
import iter_frames``); each is loaded on first use, so that ``import
sepgan.media`` loads neither FFmpeg nor torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "VIDEO_SUFFIXES": "formats",
    "IMAGE_SUFFIXES": "formats",
    "VideoError": "formats",
    "output_codec": "formats",
    "parse_fps": "fps",
    "format_fps": "fps",
    "VideoReader": "reader",
    "probe_video": "reader",
    "iter_frames": "reader",
    "VideoWriter": "writer",
    "open_writer": "writer",
    "FrameError": "frames",
    "list_frames": "frames",
    "load_image_uint8": "frames",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'sepgan.media' has no attribute {name!r}")
    return getattr(importlib.import_module(f"sepgan.media.{_EXPORTS[name]}"), name)
