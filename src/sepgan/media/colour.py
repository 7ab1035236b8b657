"""Colour: how YUV samples become RGB and back, and the tags that say so.

YUV is converted to RGB and back with the input's matrix and range (BT.601,
BT.709, BT.2020; tv or pc), or for untagged input with what players assume:
BT.709 for HD (width ≥ 1280 or height > 576), BT.601 below, tv range
(:class:`Colour`). The output carries the input's tags (matrix, primaries,
transfer, range), so a pass-through frame decodes within 1–2 levels of the
input. Input of more than 8 bits per sample (``Colour.bits``) is read as 16-bit
RGB (``rgb48le``, uint16) where the output keeps more than 8 bits
(:func:`sepgan.media.writer.frame_bits`), else as 8-bit (``rgb24``, uint8);
HDR (PQ or HLG transfer) and video with alpha are refused
(:func:`stream_colour`), since sepgan works in SDR opaque RGB. What judges
frames in grey levels (scene cuts, the static check, DIS's grey) works in 8-bit
levels whatever the depth: :func:`round_to_8bit`, :func:`level_scale`.
Full-range (pc, JPEG, ``yuvj420p``) 8-bit output is converted by NumPy
(:func:`full_range_yuv`), not swscale, whose full-range chroma is floored.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import av
import numpy as np

from sepgan.media.formats import VideoError

__all__ = [
    "RANGE_PC",
    "RANGE_TV",
    "SWS_FLAGS",
    "SWS_PRECISION",
    "Colour",
    "full_range_yuv",
    "level_scale",
    "output_colour",
    "round_to_8bit",
    "stream_colour",
]

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
RANGE_TV, RANGE_PC = 1, 2
_UNSPECIFIED = 2
_HDR_TRANSFERS = {16: "PQ (smpte2084)", 18: "HLG (arib-std-b67)"}
# Accurate rounding and full chroma resolution: flat colours survive a YUV→RGB→YUV
# round trip within one level (plain bilinear is off by up to 2); ~3× the cost of
# bilinear, 9 ms per 1280×720 frame, small next to interpolation.
# SWS_PRECISION is added to whichever scaling filter is used: two filters at once (bilinear and area)
# make swscale refuse to convert YUV input (EINVAL).
SWS_PRECISION = (
    av.video.reformatter.Interpolation.ACCURATE_RND
    | av.video.reformatter.Interpolation.FULL_CHR_H_INT
    | av.video.reformatter.Interpolation.FULL_CHR_H_INP
)
SWS_FLAGS = av.video.reformatter.Interpolation.BILINEAR | SWS_PRECISION


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
    range: int = RANGE_TV
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
        return {"src_colorspace": matrix, "dst_colorspace": matrix, "interpolation": SWS_FLAGS}


def stream_colour(path: Path, stream: av.video.stream.VideoStream) -> Colour:
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
            "sepgan interpolates SDR and would lose the HDR picture; tone-map it to SDR first "
            "(e.g. with ffmpeg's zscale and tonemap filters)"
        )
    rgb = bool(video_format and (video_format.is_rgb or video_format.has_palette))
    if rgb:
        return Colour(
            matrix=0,
            range=RANGE_PC,
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
    full = context.color_range == RANGE_PC or (pix_fmt or "").startswith("yuvj")
    return Colour(
        matrix=matrix,
        range=RANGE_PC if full else RANGE_TV,
        primaries=context.color_primaries,
        transfer=context.color_trc,
        bits=bits,
        guessed=context.colorspace != matrix,
    )


def output_colour(colour: Colour | None, codec: str, width: int, height: int) -> Colour:
    """The colour a :class:`VideoWriter` writes with: the input's, in the samples ``codec`` stores."""
    if colour is None:
        colour = Colour.untagged(width, height)
    if codec == "ffv1":
        return replace(colour, matrix=0, range=RANGE_PC, rgb=True, guessed=False)
    if colour.rgb:  # RGB input to a YUV encoder: the matrix players assume at this size
        return replace(colour, matrix=Colour.untagged(width, height).matrix, range=RANGE_TV, rgb=False)
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


def full_range_yuv(frame: np.ndarray, matrix: int, pix_fmt: str) -> np.ndarray:
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


def level_scale(dtype: np.dtype | type) -> int:
    """How many levels of an RGB frame's ``dtype`` one 8-bit level spans: 1 for uint8, 257 for uint16
    (65535 / 255), so that a tolerance in 8-bit levels × this is the same tolerance."""
    return int(np.iinfo(dtype).max) // 255


def round_to_8bit(frame: np.ndarray) -> np.ndarray:
    """A uint8 or uint16 RGB frame (H×W×3, or any shape) in 8-bit levels: uint8 as it is, uint16 rounded
    to the nearest 8-bit level, ``(v · 255 + 32767) // 65535``, so that a uint8 frame × 257 comes back
    exactly. What judges frames in grey levels sees the same picture at either depth (scene cuts,
    :mod:`sepgan.media.scenes`; DIS's grey, :func:`sepgan.flow.grey`). ValueError for another dtype."""
    if frame.dtype == np.uint8:
        return frame
    if frame.dtype != np.uint16:
        raise ValueError(f"expected a uint8 or uint16 frame, got {frame.dtype}")
    return ((frame.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
