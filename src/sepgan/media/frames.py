"""The one place where images become tensors, and tensors become images.

Conventions
-----------
* A frame tensor is RGB, float32, values in [0, 1], shaped 3×H×W (C×H×W); a
  batch is B×3×H×W. ``load_image`` returns 3×H×W; ``save_image`` accepts
  3×H×W or 1×3×H×W.
* A frame array is RGB uint8 shaped H×W×3 (channels last, as Pillow and PyAV
  give it); a batch of arrays is B×H×W×3. Datasets keep frames as uint8 arrays
  until the last moment because they are 4× smaller and cheaper to crop.
* Float → uint8 rounds to nearest: ``floor(x * 255 + 0.5)`` clamped to
  [0, 255]. Metrics such as PSNR are computed on these rounded values, so
  ``to_uint8`` is the single definition of that rounding.
* Video of more than 8 bits per sample is carried as uint16 H×W×3 arrays
  (``rgb48le``, 0–65535) where the output keeps the depth
  (:func:`sepgan.media.writer.frame_bits`): :func:`from_array` and
  :func:`to_array` take and make either dtype, uint16 rounded as
  ``floor(x * 65535 + 0.5)``; uint8 exactly as ``from_uint8``/``to_uint8``.

What ``load_image`` accepts
---------------------------
8-bit RGB images in any format Pillow reads (PNG, JPEG, BMP, WebP, TIFF, ...),
and palette images without transparency, which are expanded to RGB losslessly,
and RGBA images whose alpha is 255 everywhere (a screenshot), whose alpha is dropped.
Everything else is rejected with a :class:`FrameError` naming the file and the
reason, rather than converted behind the caller's back:

* grayscale (modes 1, L, I;16, I, F), with or without alpha;
* any real transparency (RGBA with an alpha below 255 anywhere, LA, PA, palette
  or RGB with a tRNS key);
* more than 8 bits per channel. Pillow opens a 16-bit RGB PNG as mode "RGB"
  and silently keeps only the high byte of each sample; we detect it from the
  decoder's raw mode (``RGB;16B``) before decoding and reject it;
* CMYK, YCbCr, LAB, HSV;
* animated or multi-page files (which frame would be meant is ambiguous);
* missing, unreadable or corrupt files.

EXIF orientation (a phone's JPEG stored sideways with orientation 6) is
applied, as every viewer applies it (Pillow's ``ImageOps.exif_transpose``): a
64×48 file with orientation 6 is read as the 48×64 picture it shows.

Colour profiles: an embedded ICC profile (a Display P3 photo's) is read by
:func:`read_icc_profile` and written back by ``save_image(..., icc_profile=...)``
in the formats that hold one (:data:`ICC_FORMATS`); the pixels are never
converted. GIF holds 256 colours at most: ``save_image`` leaves Pillow's
palette reduction to it, and callers say so in a note.

Frame folders
-------------
:data:`~sepgan.media.formats.IMAGE_SUFFIXES` are the still-image suffixes every part of sepgan
recognises (training layouts, benchmark layouts, ``sepgan interpolate`` on a
folder). :func:`list_frames` lists a folder's frames in natural order
(:func:`natural_sort_key`: ``frame2`` before ``frame10``, case ignored), the
one order in which training, evaluation and interpolation read a sequence.

Writes are atomic: ``save_image`` writes a temporary file in the destination
folder and renames it over the target, so a crash never leaves a half-written
image under the final name. (It does not fsync; a power loss may still lose
the file, but never leaves a truncated one in its place.)
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import torch
from PIL import ExifTags, Image, ImageOps

from sepgan.atomic import atomic_output
from sepgan.errors import UserError
from sepgan.media.formats import IMAGE_SUFFIXES

__all__ = [
    "ICC_FORMATS",
    "FrameError",
    "from_array",
    "from_uint8",
    "list_frames",
    "load_image",
    "load_image_uint8",
    "image_format",
    "natural_sort_key",
    "read_icc_profile",
    "save_image",
    "to_array",
    "to_uint8",
]

_GRAYSCALE_MODES = {"1", "L", "I", "F", "I;16", "I;16L", "I;16B", "I;16N"}
_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
_OTHER_COLOUR_SPACES = {"CMYK", "YCbCr", "LAB", "HSV"}


class FrameError(UserError, ValueError):
    """An image file cannot be used as an RGB frame; the message names the file and why."""


def natural_sort_key(path: Path) -> list[int | str]:
    """Sort key that orders ``frame2.png`` before ``frame10.png`` (digit runs as numbers, case ignored)."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def list_frames(folder: str | os.PathLike[str]) -> list[Path]:
    """The image files of ``folder`` (by suffix, :data:`IMAGE_SUFFIXES`) in natural order.

    Hidden files (``.name``: macOS ``._*`` companions, temporary files) are skipped.
    """
    return sorted(
        (
            path
            for path in Path(folder).iterdir()
            if path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".") and path.is_file()
        ),
        key=natural_sort_key,
    )


def load_image_uint8(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an 8-bit RGB image as an H×W×3 uint8 array (see the module docstring for what is accepted)."""
    path = Path(path)
    if not path.exists():
        raise FrameError(f"{path}: no such file")
    if not path.is_file():
        raise FrameError(f"{path}: not a file")
    try:
        with Image.open(path) as image:
            _check_rgb8(image, path)
            if image.mode in ("P", "RGBA"):
                image = image.convert("RGB")  # exact: a palette, or an alpha _check_rgb8 found opaque
            if image.getexif().get(ExifTags.Base.Orientation, 1) != 1:
                image = ImageOps.exif_transpose(image)  # as viewers show it: rotated/mirrored, exactly
            array = np.array(image, dtype=np.uint8)  # np.array copies while the file is still open
    except FrameError:
        raise
    except Exception as error:  # Pillow raises OSError, SyntaxError, struct.error, zlib.error, ...
        reason = str(error) or type(error).__name__
        raise FrameError(f"{path}: cannot read image ({reason})") from error
    if array.ndim != 3 or array.shape[2] != 3:
        raise FrameError(f"{path}: decoded to shape {array.shape}, expected H×W×3")
    return array


# Pillow formats that embed an ICC profile on save (``icc_profile=``); GIF and BMP hold none.
ICC_FORMATS = frozenset({"PNG", "JPEG", "WEBP", "TIFF"})


def read_icc_profile(path: str | os.PathLike[str]) -> bytes | None:
    """The ICC colour profile embedded in an image file (PNG iCCP, JPEG APP2, ...), or ``None``."""
    try:
        with Image.open(path) as image:
            return image.info.get("icc_profile") or None
    except Exception:  # noqa: BLE001 - an unreadable file has no profile; load_image reports it
        return None


def image_format(path: str | os.PathLike[str]) -> str | None:
    """Pillow's format name for a file name's suffix (``"PNG"`` for ``mid.png``), or ``None``."""
    return Image.registered_extensions().get(Path(path).suffix.lower())


def load_image(path: str | os.PathLike[str]) -> torch.Tensor:
    """Read an 8-bit RGB image as a 3×H×W float32 tensor in [0, 1]."""
    return from_uint8(load_image_uint8(path))


def save_image(frame: torch.Tensor, path: str | os.PathLike[str], **save_options: object) -> None:
    """Write a 3×H×W or 1×3×H×W float frame in [0, 1] as an 8-bit RGB image, atomically.

    The format follows the suffix (``.png``, ``.jpg``, ...). ``save_options``
    go to Pillow's ``Image.save``; JPEG and WebP default to ``quality=95``
    because Pillow's default of 75 visibly damages interpolated frames.
    """
    path = Path(path)
    format_name = image_format(path)
    if format_name is None:
        raise FrameError(f"{path}: unknown image format for suffix {path.suffix!r}")
    if frame.dim() == 4 and frame.shape[0] == 1:
        frame = frame[0]
    if frame.dim() != 3 or frame.shape[0] != 3:
        raise FrameError(f"{path}: expected a 3×H×W or 1×3×H×W frame, got shape {tuple(frame.shape)}")
    folder = path.parent
    if not folder.is_dir():
        raise FrameError(f"{path}: folder {folder} does not exist")
    if format_name in {"JPEG", "WEBP"}:
        save_options.setdefault("quality", 95)

    image = Image.fromarray(to_uint8(frame))
    try:
        with atomic_output(path) as temporary:
            try:
                # os.open with 0o666 lets the umask decide the final permissions, like a plain open().
                descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except OSError as error:
                reason = error.strerror or error
                raise FrameError(f"{path}: cannot write to folder {folder} ({reason})") from error
            with os.fdopen(descriptor, "wb") as file:
                image.save(file, format=format_name, **save_options)
    except FrameError:
        raise
    except Exception as error:
        raise FrameError(f"{path}: cannot write image ({error})") from error


def to_uint8(frame: torch.Tensor) -> np.ndarray:
    """Round a float frame in [0, 1] to uint8: 3×H×W → H×W×3, B×3×H×W → B×H×W×3.

    Values outside [0, 1] are clamped; NaN is an error (it means the model
    diverged, and a silent 0 would hide that in a metric). The tensor is
    copied to the CPU, which is a sync point when it lives on a GPU.
    """
    if frame.dim() not in (3, 4) or frame.shape[-3] != 3:
        raise FrameError(f"expected a 3×H×W or B×3×H×W frame, got shape {tuple(frame.shape)}")
    frame = frame.detach().to("cpu", torch.float32)
    if torch.isnan(frame).any():
        raise FrameError("frame contains NaN values")
    # Values are ≥ 0 after the clamp, so the truncating cast below is a floor.
    rounded = (frame * 255.0 + 0.5).clamp_(0.0, 255.0).to(torch.uint8)
    return rounded.movedim(-3, -1).contiguous().numpy()


def from_uint8(array: np.ndarray) -> torch.Tensor:
    """Convert uint8 RGB H×W×3 (or B×H×W×3) to float32 3×H×W (or B×3×H×W) in [0, 1]."""
    if array.dtype != np.uint8 or array.ndim not in (3, 4) or array.shape[-1] != 3:
        raise FrameError(f"expected a uint8 H×W×3 or B×H×W×3 array, got {array.dtype} {array.shape}")
    array = np.ascontiguousarray(array)  # flips and channel permutations leave odd strides
    if not array.flags.writeable:  # e.g. a read-only memmap; torch.from_numpy wants writable memory
        array = array.copy()
    return torch.from_numpy(array).movedim(-1, -3).to(torch.float32).div_(255.0).contiguous()


def to_array(frame: torch.Tensor, dtype: np.dtype | type = np.uint8) -> np.ndarray:
    """Round a float frame in [0, 1] to ``dtype`` levels: uint8 as :func:`to_uint8`, uint16 as
    ``floor(x * 65535 + 0.5)`` clamped to [0, 65535]; 3×H×W → H×W×3, B×3×H×W → B×H×W×3.

    Raises :class:`FrameError` for NaN, a shape that is not a frame, or a dtype other than the two.
    """
    dtype = np.dtype(dtype)
    if dtype == np.uint8:
        return to_uint8(frame)
    if dtype != np.uint16:
        raise FrameError(f"frames are uint8 or uint16 arrays, not {dtype}")
    if frame.dim() not in (3, 4) or frame.shape[-3] != 3:
        raise FrameError(f"expected a 3×H×W or B×3×H×W frame, got shape {tuple(frame.shape)}")
    frame = frame.detach().to("cpu", torch.float32)
    if torch.isnan(frame).any():
        raise FrameError("frame contains NaN values")
    rounded = (frame * 65535.0 + 0.5).clamp_(0.0, 65535.0).to(torch.int32)  # ≥ 0: the cast floors
    return rounded.movedim(-3, -1).numpy().astype(np.uint16)


def from_array(array: np.ndarray) -> torch.Tensor:
    """Convert RGB H×W×3 (or B×H×W×3) uint8 or uint16 to float32 3×H×W (or B×3×H×W) in [0, 1]:
    uint8 as :func:`from_uint8`, uint16 divided by 65535 (so a uint8 frame × 257 gives the same values)."""
    if array.dtype == np.uint8:
        return from_uint8(array)
    if array.dtype != np.uint16 or array.ndim not in (3, 4) or array.shape[-1] != 3:
        raise FrameError(
            f"expected a uint8 or uint16 H×W×3 or B×H×W×3 array, got {array.dtype} {array.shape}"
        )
    levels = torch.from_numpy(array.astype(np.float32))  # torch has few uint16 kernels: convert in NumPy
    return levels.movedim(-1, -3).div_(65535.0).contiguous()


def _check_rgb8(image: Image.Image, path: Path) -> None:
    """Raise FrameError unless ``image`` is 8-bit RGB, an opaque palette image or an opaque RGBA one."""
    mode = image.mode
    if getattr(image, "n_frames", 1) > 1:
        raise FrameError(f"{path}: animated or multi-page image with {image.n_frames} frames")
    if mode in _GRAYSCALE_MODES:
        depth = "16-bit " if mode.startswith("I;16") else ""
        raise FrameError(f"{path}: {depth}grayscale image (mode {mode}); sepgan needs RGB")
    if mode in _ALPHA_MODES - {"RGBA"}:
        raise FrameError(f"{path}: image has an alpha channel (mode {mode}); sepgan needs opaque RGB")
    if mode in _OTHER_COLOUR_SPACES:
        raise FrameError(f"{path}: {mode} image; sepgan needs RGB")
    if mode not in {"RGB", "P", "RGBA"}:
        raise FrameError(f"{path}: unsupported image mode {mode}; sepgan needs 8-bit RGB")
    if "transparency" in image.info or (mode == "P" and image.palette and image.palette.mode == "RGBA"):
        raise FrameError(f"{path}: image has transparency (mode {mode}); sepgan needs opaque RGB")
    # Pillow reports a 16-bit RGB PNG (or TIFF) as mode "RGB" and drops the low byte while
    # decoding; the decoder's raw mode, e.g. "RGB;16B", still tells the truth before load().
    for tile in image.tile:
        args = tile.args if hasattr(tile, "args") else tile[3]
        raw_mode = args if isinstance(args, str) else (args[0] if args and isinstance(args[0], str) else "")
        if ";16" in raw_mode:
            raise FrameError(f"{path}: 16 bits per channel ({raw_mode}); sepgan reads 8-bit RGB only")
    # Last, since it decodes the image (and the raw mode above is gone after that).
    if mode == "RGBA" and image.getchannel("A").getextrema() != (255, 255):
        raise FrameError(f"{path}: image has an alpha channel (mode {mode}); sepgan needs opaque RGB")
