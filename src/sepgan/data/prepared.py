"""Prepared triplet datasets: crops of real footage with DIS flow computed on the whole frames.

``sepgan prepare`` (:func:`prepare_dataset`) turns videos and frame folders
into a training set for the flow-guided model. For every triplet of frames
(k, k + g, k + 2g) it computes DIS optical flow both ways between the two
inputs **on the whole frames** (so flow near a crop's edge sees the motion
that leaves the crop, as it will at inference), then stores one square crop of
the three frames and of the flows. Storing crops keeps the set small (one
192×192 crop is 0.6 MB) and makes training read-only and fast.

Crop choice: of ``candidates`` random windows, the one where the flow
baseline (half-flow warps, averaged) is furthest from the true middle frame
is kept with probability ``hard_fraction``, otherwise the first random window.
Half of the set thus shows where flow fails (the model's job), and half shows
ordinary footage, so the model does not learn to distrust flow everywhere.

On disk (a folder)::

    prepared.json   format version, count, crop size, flow preset, sources, one record per triplet
    frames.u8       count × 3 × S × S × 3 uint8 (frame0, frame1, target; RGB, H×W×3)
    flows.f16       count × 4V × S × S float16 (flow01 x, y, flow10 x, y; pixels), V flow
                    variants (``flow_variants``, 1 by default; see sepgan.flow's flow ensemble)

:class:`PreparedTriplets` reads it and yields ``(frame0, frame1, target,
flows)``: three 3×h×w float32 tensors in [0, 1] and a 4V×h×w float32 flow
tensor, after a paired augmentation that transforms the flows with the frames
(flips negate a component, temporal reversal swaps the two flows).
"""

from __future__ import annotations

import json
import os
import shutil
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from sepgan.data.augment import PairedAugment
from sepgan.data.layouts import _image_files, natural_sort_key
from sepgan.data.triplets import DatasetError, check_gaps
from sepgan.data.video_triplets import VIDEO_SUFFIXES
from sepgan.flow import DIS_PRESETS, backward_warp_numpy, check_variants, flow_ensemble_numpy
from sepgan.frames import FrameError, from_uint8, load_image_uint8

__all__ = ["FORMAT_VERSION", "PrepareSummary", "PreparedTriplets", "is_prepared", "prepare_dataset"]

FORMAT_VERSION = 1
INDEX_FILE = "prepared.json"


def is_prepared(path: Path) -> bool:
    return (Path(path) / INDEX_FILE).is_file()


# ---------------------------------------------------------------------------
# Reading sources.
# ---------------------------------------------------------------------------


def _list_sources(paths: Sequence[Path]) -> list[Path]:
    """Videos and frame folders under ``paths`` (a folder of videos expands to its videos and subfolders)."""
    sources: list[Path] = []
    for path in paths:
        if path.is_file():
            if path.suffix.lower() not in VIDEO_SUFFIXES:
                raise DatasetError(f"{path}: not a video file (suffixes: {', '.join(sorted(VIDEO_SUFFIXES))})")
            sources.append(path)
        elif path.is_dir():
            children = sorted(path.iterdir(), key=natural_sort_key)
            if _image_files(path):
                sources.append(path)  # a frame sequence
            else:
                videos = [c for c in children if c.is_file() and c.suffix.lower() in VIDEO_SUFFIXES]
                folders = [c for c in children if c.is_dir()]
                sources.extend(videos)
                sources.extend(_list_sources(folders) if folders else [])
        else:
            raise DatasetError(f"{path}: no such file or folder")
    return sources


def _resize(frame: np.ndarray, max_side: int | None) -> np.ndarray:
    if max_side is None or max(frame.shape[:2]) <= max_side:
        return frame
    import cv2

    scale = max_side / max(frame.shape[:2])
    size = (max(1, round(frame.shape[1] * scale)), max(1, round(frame.shape[0] * scale)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def _frames_of(source: Path, max_side: int | None) -> Iterator[np.ndarray]:
    """RGB uint8 H×W×3 frames of a video or a folder of images, in order."""
    if source.is_file():
        from sepgan.video import VideoError, VideoReader

        try:
            with VideoReader(source) as reader:
                for frame in reader.frames():
                    yield _resize(frame, max_side)
        except VideoError as error:
            raise DatasetError(str(error)) from error
        return
    for image in _image_files(source):
        try:
            yield _resize(load_image_uint8(image), max_side)
        except FrameError as error:
            raise DatasetError(str(error)) from error


# ---------------------------------------------------------------------------
# Preparing.
# ---------------------------------------------------------------------------


@dataclass
class PrepareSummary:
    output: Path
    count: int
    per_source: dict[str, int]
    skipped: dict[str, str]
    seconds: float


def _choose_crop(
    frames: tuple[np.ndarray, np.ndarray, np.ndarray],
    flows: tuple[np.ndarray, np.ndarray],
    crop_size: int,
    rng: np.random.Generator,
    candidates: int,
    hard_fraction: float,
) -> tuple[int, int]:
    height, width = frames[0].shape[:2]
    windows = [
        (int(rng.integers(0, height - crop_size + 1)), int(rng.integers(0, width - crop_size + 1)))
        for _ in range(candidates)
    ]
    if rng.random() >= hard_fraction or candidates == 1:
        return windows[0]
    frame0, frame1, target = (f.astype(np.float32) for f in frames)
    flow01, flow10 = flows
    baseline = 0.5 * (backward_warp_numpy(frame0, 0.5 * flow10) + backward_warp_numpy(frame1, 0.5 * flow01))
    error = np.abs(baseline - target).mean(axis=2)
    scores = [error[t : t + crop_size, l : l + crop_size].mean() for t, l in windows]
    return windows[int(np.argmax(scores))]


def prepare_dataset(
    sources: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    gaps: int | Sequence[int] = (1, 2, 3),
    crop_size: int = 192,
    stride: int = 2,
    candidates: int = 4,
    hard_fraction: float = 0.5,
    flow_preset: str = "fine",
    flow_variants: int = 1,
    max_side: int | None = None,
    seed: int = 0,
    exclude: Sequence[str | os.PathLike[str]] = (),
    on_triplet: Callable[[str], None] | None = None,
) -> PrepareSummary:
    """Write a prepared dataset folder (module docstring) and return what went in.

    Args:
        sources: videos, frame folders, or folders of either (searched recursively).
        output: the folder to create; it must not exist (it is written under a
            temporary name and renamed, so a crash leaves no half dataset).
        gaps: temporal gaps g of the triplets (k, k + g, k + 2g).
        crop_size: side of the square crops; sources smaller than that are skipped.
        stride: take triplets starting at every ``stride``-th frame (neighbouring
            triplets are near duplicates).
        candidates, hard_fraction: the crop choice (module docstring).
        flow_preset: DIS preset (:data:`sepgan.flow.DIS_PRESETS`); use the one the model runs
            with: "fine", the default of ``flow-sepconv``.
        flow_variants: store a flow ensemble of this many mirrorings (1 to 4) per
            triplet, as ``flow-sepconv`` computes at inference (its default is 4;
            a model trained on V = 1 runs on any V). Costs V times the DIS time.
        max_side: downscale frames whose longer side exceeds this, before anything else.
        exclude: paths never to read (``sepgan prepare`` passes evaluation folders here).
        on_triplet: called with the source name after each stored triplet (progress).
    """
    import time

    started = time.perf_counter()
    gaps = check_gaps(gaps)
    if crop_size < 16 or crop_size % 16:
        raise ValueError(f"crop_size must be a positive multiple of 16, got {crop_size}")
    if stride < 1 or candidates < 1 or not 0.0 <= hard_fraction <= 1.0:
        raise ValueError("stride and candidates must be ≥ 1 and hard_fraction in [0, 1]")
    if flow_preset not in DIS_PRESETS:
        raise ValueError(f"unknown flow preset {flow_preset!r}; choose from {', '.join(DIS_PRESETS)}")
    check_variants(flow_variants, "flow_variants")
    output = Path(output)
    if output.exists():
        raise DatasetError(f"{output} already exists; choose a new folder")
    excluded = [Path(p).resolve() for p in exclude]
    found = _list_sources([Path(s) for s in sources])
    found = [s for s in found if not any(s.resolve().is_relative_to(e) for e in excluded)]
    if not found:
        raise DatasetError("no videos or frame folders to prepare")

    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(f".{output.name}.partial-{os.getpid()}")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir()
    rng = np.random.default_rng(seed)
    records: list[dict[str, object]] = []
    per_source: dict[str, int] = {}
    skipped: dict[str, str] = {}
    longest = 2 * max(gaps) + 1
    try:
        with open(temporary / "frames.u8", "wb") as frames_file, open(temporary / "flows.f16", "wb") as flows_file:
            for source in found:
                name = str(source)
                per_source[name] = 0
                window: deque[np.ndarray] = deque(maxlen=longest)
                for index, frame in enumerate(_frames_of(source, max_side)):
                    if min(frame.shape[:2]) < crop_size:
                        skipped[name] = f"frames {frame.shape[1]}×{frame.shape[0]} are smaller than the crop {crop_size}"
                        break
                    if window and window[-1].shape != frame.shape:
                        raise DatasetError(f"{source}: frame {index} changes size")
                    window.append(frame)
                    for gap in gaps:
                        first = index - 2 * gap
                        if first < 0 or first % stride:
                            continue
                        frame0, target, frame1 = window[-1 - 2 * gap], window[-1 - gap], window[-1]
                        flows = flow_ensemble_numpy(frame0, frame1, flow_preset, flow_variants)  # 4V×H×W
                        flow01, flow10 = flows[0:2].transpose(1, 2, 0), flows[2:4].transpose(1, 2, 0)
                        top, left = _choose_crop(
                            (frame0, frame1, target), (flow01, flow10), crop_size, rng, candidates, hard_fraction
                        )
                        rows, columns = slice(top, top + crop_size), slice(left, left + crop_size)
                        crops = np.stack([frame0[rows, columns], frame1[rows, columns], target[rows, columns]])
                        frames_file.write(np.ascontiguousarray(crops, dtype=np.uint8).tobytes())
                        flows_file.write(np.ascontiguousarray(flows[:, rows, columns], dtype=np.float16).tobytes())
                        records.append({"source": name, "frame": first, "gap": gap, "top": top, "left": left})
                        per_source[name] += 1
                        if on_triplet is not None:
                            on_triplet(source.name)
                if per_source[name] == 0 and name not in skipped:
                    skipped[name] = "too few frames for the requested gaps"
        if not records:
            raise DatasetError("no triplets could be prepared: " + "; ".join(f"{k}: {v}" for k, v in skipped.items()))
        index = {
            "format": FORMAT_VERSION,
            "count": len(records),
            "crop_size": crop_size,
            "flow_preset": flow_preset,
            "flow_variants": flow_variants,
            "gaps": list(gaps),
            "stride": stride,
            "max_side": max_side,
            "seed": seed,
            "sources": per_source,
            "skipped": skipped,
            "triplets": records,
        }
        (temporary / INDEX_FILE).write_text(json.dumps(index, indent=1))
        os.replace(temporary, output)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return PrepareSummary(output, len(records), per_source, skipped, time.perf_counter() - started)


# ---------------------------------------------------------------------------
# Reading.
# ---------------------------------------------------------------------------


class PreparedTriplets(torch.utils.data.Dataset):
    """A prepared folder as a dataset of ``(frame0, frame1, target, flows)`` (module docstring)."""

    def __init__(self, root: str | os.PathLike[str], augment: PairedAugment | None = None) -> None:
        self.root = Path(root)
        self.augment = augment
        try:
            index = json.loads((self.root / INDEX_FILE).read_text())
        except (OSError, ValueError) as error:
            raise DatasetError(f"{self.root}: not a prepared dataset ({error})") from error
        if index.get("format") != FORMAT_VERSION:
            raise DatasetError(f"{self.root}: prepared format {index.get('format')}, expected {FORMAT_VERSION}")
        self.count, size = int(index["count"]), int(index["crop_size"])
        self.crop_size = size
        self.flow_preset = index.get("flow_preset")
        self.flow_variants = int(index.get("flow_variants", 1))
        self.records = index["triplets"]
        self._open()

    def _open(self) -> None:
        size = self.crop_size
        try:
            self._frames = np.memmap(self.root / "frames.u8", np.uint8, "r", shape=(self.count, 3, size, size, 3))
            self._flows = np.memmap(self.root / "flows.f16", np.float16, "r", shape=(self.count, 4 * self.flow_variants, size, size))
        except (OSError, ValueError) as error:
            raise DatasetError(f"{self.root}: prepared data files are missing or truncated ({error})") from error

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int):
        if not -self.count <= index < self.count:
            raise IndexError(f"triplet index {index} out of range for {self.count} triplets")
        frame0, frame1, target = np.asarray(self._frames[index])
        flows = np.asarray(self._flows[index], dtype=np.float32)
        if self.augment is not None:
            frame0, frame1, target, flows = self.augment(frame0, frame1, target, flows=flows)
        return from_uint8(frame0), from_uint8(frame1), from_uint8(target), torch.from_numpy(np.ascontiguousarray(flows))

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        state["_frames"] = state["_flows"] = None
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._open()

    def __repr__(self) -> str:
        return f"PreparedTriplets({str(self.root)!r}, {self.count} triplets of {self.crop_size}², flow {self.flow_preset} ×{self.flow_variants})"
