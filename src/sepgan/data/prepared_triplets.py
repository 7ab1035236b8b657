"""Reading a folder written by ``sepgan prepare`` (:mod:`sepgan.data.prepared`) as a dataset.

On disk (a folder)::

    prepared.json   format version, count, crop size, flow preset, sources, one record per triplet
    frames.u8       count × 3 × S × S × 3 uint8 (frame0, frame1, target; RGB, H×W×3)
    flows.f16       count × 4V × S × S float16 (flow01 x, y, flow10 x, y; pixels), V flow variants

:class:`PreparedTriplets` memory-maps both files and yields ``(frame0, frame1,
target, flows)``: three 3×h×w float32 tensors in [0, 1] and a 4V×h×w float32
flow tensor, after a paired augmentation that transforms the flows with the
frames (flips negate a component, temporal reversal swaps the two flows).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from sepgan.data.augment import PairedAugment
from sepgan.datasets import DatasetError
from sepgan.media.frames import from_uint8

__all__ = ["FORMAT_VERSION", "INDEX_FILE", "PreparedTriplets", "is_prepared"]

FORMAT_VERSION = 1
INDEX_FILE = "prepared.json"


def is_prepared(path: Path) -> bool:
    return (Path(path) / INDEX_FILE).is_file()


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
            raise DatasetError(
                f"{self.root}: prepared format {index.get('format')}, expected {FORMAT_VERSION}"
            )
        self.count, size = int(index["count"]), int(index["crop_size"])
        self.crop_size = size
        self.flow_preset = index.get("flow_preset")
        self.flow_variants = int(index.get("flow_variants", 1))
        self.records = index["triplets"]
        self._open()

    def _open(self) -> None:
        size = self.crop_size
        try:
            self._frames = np.memmap(
                self.root / "frames.u8", np.uint8, "r", shape=(self.count, 3, size, size, 3)
            )
            self._flows = np.memmap(
                self.root / "flows.f16",
                np.float16,
                "r",
                shape=(self.count, 4 * self.flow_variants, size, size),
            )
        except (OSError, ValueError) as error:
            raise DatasetError(
                f"{self.root}: prepared data files are missing or truncated ({error})"
            ) from error

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int):
        if not -self.count <= index < self.count:
            raise IndexError(f"triplet index {index} out of range for {self.count} triplets")
        frame0, frame1, target = np.asarray(self._frames[index])
        flows = np.asarray(self._flows[index], dtype=np.float32)
        if self.augment is not None:
            frame0, frame1, target, flows = self.augment(frame0, frame1, target, flows=flows)
        return (
            from_uint8(frame0),
            from_uint8(frame1),
            from_uint8(target),
            torch.from_numpy(np.ascontiguousarray(flows)),
        )

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        state["_frames"] = state["_flows"] = None
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._open()

    def __repr__(self) -> str:
        return (
            f"PreparedTriplets({str(self.root)!r}, {self.count} triplets of {self.crop_size}², "
            f"flow {self.flow_preset} ×{self.flow_variants})"
        )
