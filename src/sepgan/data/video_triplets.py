"""Triplets from video files, decoded once into a uint8 frame cache.

Items are (frame0, frame1, target): float32 3×h×w tensors in [0, 1], with
gap g giving frames (k, k + 2g) → k + g of each video.

Why a cache: seeking in a compressed video decodes from the previous key
frame, so random access during training would cost tens of frames per item.
Instead each video is decoded once, with PyAV, into an ``.npy`` file of shape
N×H×W×3 uint8 that ``__getitem__`` reads through a memory map. The cache file
is keyed by the video's resolved path, size, modification time and
``max_side``, so an edited video is decoded again. The cost is disk space:
N·H·W·3 bytes, e.g. 1.05 GB for 795 frames of 768×576, which is what
``max_side`` is for (a downscale at decode time, area-averaged, keeping the
aspect ratio).

Decoding (:func:`sepgan.media.reader.iter_frames`) uses the first video stream, converted to RGB
by FFmpeg's swscale.
All frames of one video must share a size. The cache directory defaults to
``$XDG_CACHE_HOME/sepgan/frames`` (``~/.cache/sepgan/frames``). Cache files are
written atomically, so concurrent processes building the same cache are safe
(both decode; the last rename wins).
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sepgan.atomic import atomic_output
from sepgan.data.augment import PairedAugment
from sepgan.data.triplets import DatasetError, TripletDataset, check_gaps
from sepgan.media.formats import VideoError
from sepgan.media.reader import iter_frames

__all__ = ["VideoTriplets", "decode_to_cache", "default_cache_dir"]

# numpy pads a format-1.0 header to a multiple of 64 bytes; any 4-D uint8 shape fits in 128.
_NPY_HEADER_BYTES = 128


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/sepgan/frames``, falling back to ``~/.cache/sepgan/frames``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "sepgan" / "frames"


def decode_to_cache(video: Path, cache_dir: Path, max_side: int | None = None) -> Path:
    """Return the ``.npy`` cache of ``video``'s frames (N×H×W×3 uint8), decoding it if needed."""
    try:
        stat = video.stat()
    except OSError as error:
        raise DatasetError(f"{video}: cannot open video ({error.strerror or error})") from error
    key = f"{video.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{max_side}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    cache_file = cache_dir / f"{video.stem}-{digest}.npy"
    if cache_file.is_file():
        return cache_file

    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = error.strerror or error
        raise DatasetError(f"{cache_dir}: cannot create frame cache folder ({reason})") from error
    with atomic_output(cache_file) as temporary, open(temporary, "wb") as file:
        file.seek(_NPY_HEADER_BYTES)  # the header needs the frame count, known only at the end
        count, height, width = _decode_frames(video, file, max_side)
        header = io.BytesIO()
        shape = (count, height, width, 3)
        np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": shape})
        if len(header.getvalue()) != _NPY_HEADER_BYTES:
            raise DatasetError(f"{video}: cannot cache frames of shape {shape}")
        file.seek(0)
        file.write(header.getvalue())
    return cache_file


def _decode_frames(video: Path, file: io.BufferedWriter, max_side: int | None) -> tuple[int, int, int]:
    """Decode every frame of ``video`` as RGB uint8 into ``file``; return (count, height, width)."""
    count, shape = 0, None
    try:
        for rgb in iter_frames(video, max_side=max_side):
            if shape is None:
                shape = rgb.shape
            elif shape != rgb.shape:
                raise DatasetError(
                    f"{video}: frame {count} is {rgb.shape[1]}×{rgb.shape[0]}, "
                    f"earlier frames are {shape[1]}×{shape[0]}"
                )
            file.write(np.ascontiguousarray(rgb, dtype=np.uint8).tobytes())
            count += 1
    except VideoError as error:
        raise DatasetError(str(error)) from error
    except (OSError, ValueError) as error:
        raise DatasetError(f"{video}: cannot decode video ({error})") from error
    if shape is None:
        raise DatasetError(f"{video}: no video frames could be decoded")
    return count, shape[0], shape[1]


def _open_cache(cache_file: Path) -> np.ndarray:
    try:
        frames = np.load(cache_file, mmap_mode="r")
    except (OSError, ValueError) as error:
        reason = f"unreadable frame cache, delete it to decode again ({error})"
        raise DatasetError(f"{cache_file}: {reason}") from error
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[3] != 3:
        raise DatasetError(f"{cache_file}: not a frame cache ({frames.dtype} {frames.shape}); delete it")
    return frames


class VideoTriplets(TripletDataset):
    """Triplets of consecutive frames from one or more videos.

    Args:
        paths: a video file or a list of them.
        gaps: temporal gaps in source frames; gap g uses frames (k, k+g, k+2g).
        cache_dir: where decoded frames are kept; defaults to ``default_cache_dir()``.
        max_side: downscale at decode time so the longer side is at most this
            many pixels (never upscales). None keeps the native size.
        augment: paired augmentation applied to each triplet, or None.

    Construction decodes every video not yet cached, which takes about as long
    as playing it back at full speed on one core.
    """

    def __init__(
        self,
        paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        gaps: int | Sequence[int] = (1,),
        cache_dir: str | os.PathLike[str] | None = None,
        max_side: int | None = None,
        augment: PairedAugment | None = None,
    ) -> None:
        super().__init__(augment)
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        self.videos = [Path(path) for path in paths]
        if not self.videos:
            raise DatasetError("VideoTriplets: no video paths given")
        if max_side is not None and max_side < 1:
            raise ValueError(f"max_side must be positive, got {max_side}")
        self.gaps = check_gaps(gaps)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.max_side = max_side
        self.cache_files = [decode_to_cache(video, self.cache_dir, max_side) for video in self.videos]

        index = []  # rows of (video, frame0, frame1, target)
        self.frame_counts = []
        for number, cache_file in enumerate(self.cache_files):
            count = len(_open_cache(cache_file))
            self.frame_counts.append(count)
            for gap in self.gaps:
                k = np.arange(count - 2 * gap)
                index.append(np.stack([np.full_like(k, number), k, k + 2 * gap, k + gap], axis=1))
        self.index = np.concatenate(index) if index else np.empty((0, 4), dtype=np.int64)
        if len(self.index) == 0:
            videos = ", ".join(
                f"{v} ({n} frames)" for v, n in zip(self.videos, self.frame_counts, strict=True)
            )
            needed = 2 * min(self.gaps) + 1
            raise DatasetError(f"no triplets: gaps {self.gaps} need {needed} frames; {videos}")
        self._frames: dict[int, np.ndarray] = {}  # memory maps, opened per process

    def __len__(self) -> int:
        return len(self.index)

    def describe(self, index: int) -> str:
        video, frame0, frame1, target = self.index[index]
        return f"{self.videos[video]} frames ({frame0}, {target}, {frame1})"

    def read_uint8(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        video, frame0, frame1, target = (int(value) for value in self.index[index])
        frames = self._frames.get(video)
        if frames is None:
            frames = self._frames[video] = _open_cache(self.cache_files[video])
        return frames[frame0], frames[frame1], frames[target]

    def __getstate__(self) -> dict[str, object]:
        # Pickling a memmap copies its whole contents; DataLoader workers reopen the maps instead.
        state = self.__dict__.copy()
        state["_frames"] = {}
        return state

    def __repr__(self) -> str:
        names = [str(video) for video in self.videos]
        return f"VideoTriplets({names!r}, gaps={self.gaps}, triplets={len(self)}, augment={self.augment!r})"
