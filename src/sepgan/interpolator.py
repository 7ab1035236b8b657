"""Interpolator: runs a generator on frames of any size, at any time between two frames.

The network only accepts sizes that are multiples of its ``multiple`` (32 for
SepConv's five 2× poolings, 16 for the flow model's four) and only predicts
the middle frame (t = 0.5). What the interpolator may rely on in a model is
the generator contract, :class:`sepgan.models.protocol.Generator` (size
multiple, context, bytes per pixel, optional flow estimation). The
interpolator owns everything around the network:

* **Padding.** Frames are replicate-padded on the bottom and right to the next
  multiple of the model's ``multiple`` and the result is cropped back, so any
  size works (421×239 included). Nothing is ever resized.
* **Tiling.** A large frame can be split into overlapping tiles (``tile``, a
  multiple of the model's ``multiple``) that go through the network as a batch; the tiles are blended
  with a feathered weight that ramps linearly across each ``overlap`` band, so
  no seam is visible. A tile sees less context than the whole frame, so tiled
  output matches untiled output closely but not bit for bit: the overlap should
  be at least twice the model's ``context`` (the kernel reach K//2 for SepConv,
  50 px for K = 51), which is why the default is ``2·ceil(context / multiple)·multiple``
  (64 px for K = 51, 128 px for the flow model). ``tile="auto"`` tiles only when one frame would not fit the
  memory budget ``max_memory_mb``.
* **Memory.** ``max_memory_mb`` is what ONE network call may use, estimated as
  ``model.inference_bytes_per_pixel · batch · padded pixels``. For SepConv it is
  ``4 · (12·K + 4·channels[0])`` bytes per pixel (≈ 2.9 kB for K = 51, measured
  as ≈ 2.4 kB of peak RSS on CPU), so 1080p needs ≈ 6.5 GB untiled and a 4K
  frame ≈ 26 GB; with the default 4 GB budget 1080p is tiled in 2–4 tiles and
  batches shrink so that one call stays inside the budget. A job
  (``sepgan interpolate``) caps the whole process instead: :mod:`sepgan.memory`
  shares its ``--max-memory-mb`` out and gives the network call its part
  (:meth:`Interpolator.with_settings`).
* **Static borders.** Letterbox and pillarbox bars (uniform bands that are
  the same in both frames) pass through unchanged, and flow, padding, tiling
  and the network see only the picture inside (:mod:`sepgan.borders`).
* **Device and precision** come from :func:`sepgan.runtime.resolve_runtime`:
  CPU in float32; CUDA with bf16 or fp16 autocast for the U-Net, while the
  separable convolution itself always runs in float32.
* **Whole-model options**, measured on a 640×480 pair with 2 CPU cores
  (``benchmarks/bench_model_options.py``; time per pair against fp32 +
  ``no_grad`` + batch 1, paper SepConv / sepconv-lite): ``channels_last``
  0.87× / 0.84×, so the network runs in channels_last memory format on the
  CPU (``channels_last=None``; unmeasured on GPUs, so left off there);
  ``torch.compile`` 0.76× / 0.66× after a compile of 7–25 s per input shape
  (every new frame, tile or batch size compiles again), so it is opt-in
  (``compile=True``); ``inference_mode`` 1.00× / 0.96× against ``no_grad``
  (used anyway, it is free); batch 2 1.15× / 0.97× per pair (the full-
  resolution kernels outgrow the caches), so on the CPU ``--batch`` buys
  nothing (it is meant for GPUs; unmeasured here); bf16 autocast more than
  30× slower on a CPU without native bf16
  instructions (PyTorch falls back to a naive single-threaded convolution),
  so bf16 stays a request (``precision="bf16"``), never a CPU default, also
  because it changes numerics.
* **Other times.** :meth:`Interpolator.interpolate_at` makes the frames at
  any times between each pair. A model that warps to any time (``any_time``
  in the generator contract: the classical ``flow-ensemble``) makes each one
  straight from the pair, from the pair's one flow estimate, so ×3 or
  25 → 60 fps costs one flow per pair however many frames are made, and no
  frame is made from made frames. A model that makes only t = ½ reaches
  other times by recursive bisection: the midpoint of (0, 1) is 1/2, then
  1/4 = mid(0, 1/2) and 3/4 = mid(1/2, 1), and so on; the frames at
  t = m/2^d are *dyadic* points, the only ones it can make.
  :meth:`Interpolator.interpolate_recursively` yields them in time order
  (FILM-style), and :meth:`Interpolator.interpolate_dyadic` computes only the
  points a caller needs, level by level, batched across many pairs. Which
  time each output frame of a target frame rate takes is :mod:`sepgan.timing`'s.

Tensor conventions: RGB, float32 in [0, 1]; ``frame0`` and ``frame1`` are
3×H×W or B×3×H×W, and the result has the same layout as the input. Outputs are
clamped to [0, 1] and returned on the CPU.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Iterator, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from sepgan.borders import interpolate_inside_borders, picture_flows, static_borders
from sepgan.options import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_FLOW_BACKEND,
    DEFAULT_MAX_MEMORY_MB,
    DEFAULT_TILE,
    check_interpolator_options,
    check_tile,
    resolve_flow_backend,
)
from sepgan.runtime import Runtime, resolve_runtime
from sepgan.timing import is_dyadic

if TYPE_CHECKING:  # the interpolator imports no model; the contract is structural
    from sepgan.models.protocol import Generator

__all__ = ["Interpolator", "pad_to_multiple"]


def pad_to_multiple(frames: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Replicate-pad B×C×H×W on the bottom and right to a multiple; returns the original (H, W)."""
    height, width = frames.shape[-2:]
    pad_bottom = (-height) % multiple
    pad_right = (-width) % multiple
    if pad_bottom or pad_right:
        frames = F.pad(frames, (0, pad_right, 0, pad_bottom), mode="replicate")
    return frames, (height, width)


def _ramp(length: int, start: int, overlap: int, total: int) -> torch.Tensor:
    """1-D feather weight of a tile [start, start + length) inside [0, total).

    Linear ramps over ``overlap`` px on every side that borders another tile
    (not on the frame's own borders); neighbouring ramps sum to one, and the
    blend divides by the summed weights anyway, so irregular last tiles are fine.
    """
    weight = torch.ones(length)
    if overlap <= 0:
        return weight
    ramp = torch.arange(1, overlap + 1, dtype=torch.float32) / (overlap + 1)
    width = min(overlap, length)
    if start > 0:
        weight[:width] = torch.minimum(weight[:width], ramp[:width])
    if start + length < total:
        weight[length - width :] = torch.minimum(weight[length - width :], ramp[:width].flip(0))
    return weight


def _rows(tensor: torch.Tensor, rows: list[int]) -> torch.Tensor:
    """``tensor[rows]``: a view when the rows are consecutive, else a copy.

    A batch's flow ensemble is 133 MB per 1080p pair (B×16×H×W float32), so the
    usual case (×2: pairs 0, 1, 2, … each once) is not copied.
    """
    first = rows[0]
    if rows == list(range(first, first + len(rows))):
        return tensor[first : first + len(rows)]
    return tensor[torch.tensor(rows)]


def _tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    if length <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, length - tile, stride))
    starts.append(length - tile)
    return starts


class Interpolator:
    """Wraps a generator ``model(frame0, frame1) -> middle`` for frames of any size and any dyadic time.

    Args:
        model: a generator (:class:`sepgan.models.protocol.Generator`): two B×3×H×W frames
            (H, W multiples of ``model.multiple``) in, the middle frame out.
        device, precision: see :func:`sepgan.runtime.resolve_runtime` ("auto" picks CUDA+bf16 or CPU+fp32).
        batch_size: pairs per network call (fewer when ``max_memory_mb`` demands it).
        tile: ``"auto"`` (the default: tile only when a frame does not fit ``max_memory_mb``),
            ``None`` (whole frames), or a tile size in pixels (rounded up to a multiple of
            ``model.multiple``, at least ``tile_overlap + multiple``: :func:`sepgan.options.check_tile`,
            which needs the model, so it runs here).
        tile_overlap: feathered overlap between tiles in pixels;
            default ``2·ceil(model.context / multiple)·multiple``.
        max_memory_mb: budget for one network call, in MB (see the module docstring);
            ``None`` for no limit. A job's budget for the whole process is :mod:`sepgan.memory`'s.
        compile: ``torch.compile`` the network body (U-Net and kernel subnets; the separable
            convolution stays eager). Opt-in: see "Whole-model options" in the module docstring.
        channels_last: run the network in NHWC memory format; ``None`` chooses it on the CPU,
            where it is faster (module docstring). The model's weights are converted in place.
        workers: CPU threads for a flow-guided model's DIS calls (``model.estimate_flows``);
            ``None``: one per CPU this process may use (:func:`sepgan.flow.flow_workers`).
        flow_backend: who computes that flow (:data:`sepgan.options.FLOW_BACKENDS`): "opencv"
            on the CPU, "torch" on the runtime's device (:mod:`sepgan.dis_torch`), "auto" torch
            on CUDA and MPS and OpenCV on the CPU (:func:`sepgan.options.resolve_flow_backend`).
        bisect: reach times other than ½ by recursive bisection even when the model warps to
            any time (what every model did before any-time warps; for comparisons and benchmarks).

    Defaults and checks are :mod:`sepgan.options`'; a value out of range raises
    :class:`sepgan.options.OptionError` (a ``ValueError``) naming its parameter.
    """

    def __init__(
        self,
        model: Generator,
        *,
        device: str | torch.device = "auto",
        precision: str = "auto",
        batch_size: int = DEFAULT_BATCH_SIZE,
        tile: int | str | None = DEFAULT_TILE,
        tile_overlap: int | None = None,
        max_memory_mb: float | None = DEFAULT_MAX_MEMORY_MB,
        compile: bool = False,
        channels_last: bool | None = None,
        workers: int | None = None,
        flow_backend: str = DEFAULT_FLOW_BACKEND,
        bisect: bool = False,
    ) -> None:
        check_interpolator_options(
            batch_size=batch_size, tile_overlap=tile_overlap, max_memory_mb=max_memory_mb, workers=workers
        )
        self._settings = {
            "device": device, "precision": precision, "batch_size": batch_size, "tile": tile,
            "tile_overlap": tile_overlap, "max_memory_mb": max_memory_mb, "compile": compile,
            "channels_last": channels_last, "workers": workers, "flow_backend": flow_backend,
            "bisect": bisect,
        }  # fmt: skip
        self.bisect = bool(bisect)
        self.workers = workers
        self.runtime: Runtime = resolve_runtime(str(device), precision)
        self.flow_backend = resolve_flow_backend(flow_backend, self.runtime.device.type)
        self.model = model.to(self.runtime.device).eval()
        self.channels_last = self.runtime.device.type == "cpu" if channels_last is None else channels_last
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
        # self.model stays the plain module (to save, to inspect); self.network is what runs.
        self.network = self.model.compiled() if compile else self.model
        self.batch_size = batch_size
        # The figures below come from the model's configuration, fixed when it was built
        # (load-time overrides, sepgan.checkpoint.load_pretrained), so they cannot go stale.
        self.multiple = int(model.multiple)
        self.bytes_per_pixel = int(model.inference_bytes_per_pixel)
        self.tile_overlap = (
            int(tile_overlap) if tile_overlap is not None else 2 * self._round_up(max(int(model.context), 1))
        )
        if tile is not None and tile != "auto":
            tile = check_tile(int(tile), overlap=self.tile_overlap, multiple=self.multiple)
        self.tile = tile
        self.max_memory_mb = max_memory_mb

    @property
    def any_time(self) -> bool:
        """Whether the model warps straight to any time (module docstring) and ``bisect`` is off;
        False: t = ½ only, other times by bisection."""
        return bool(self.model.any_time) and not self.bisect

    @property
    def reads_neighbours(self) -> bool:
        """Whether :meth:`interpolate_at` takes the neighbouring pairs' flows (``neighbours=``) for
        constant-acceleration motion: a model that reads them (Generator contract), without ``bisect``."""
        return bool(getattr(self.model, "reads_neighbours", False)) and self.any_time

    @classmethod
    def from_pretrained(
        cls, path_or_name: str | os.PathLike | None = None, *, overrides: dict | None = None, **kwargs
    ) -> Interpolator:
        """Load a weights folder or a bundled name (``None``: the bundled default; see sepgan.weights).

        ``overrides`` change model options as it is built (:func:`sepgan.checkpoint.load_pretrained`),
        e.g. ``{"flow_variants": 1}``; the other keyword arguments go to the constructor.
        """
        from sepgan.checkpoint import CheckpointError, load_pretrained
        from sepgan.models.protocol import Generator
        from sepgan.weights import resolve_weights

        folder = resolve_weights(path_or_name)
        model = load_pretrained(folder, overrides=overrides)
        if not isinstance(model, Generator):
            raise CheckpointError(
                f"{folder} holds a {model.architecture}, not a generator; "
                "pass the generator folder of a training run"
            )
        return cls(model, **kwargs)

    def with_model(self, model: torch.nn.Module) -> Interpolator:
        """A new Interpolator with this one's settings around another model (e.g. an adapted copy)."""
        return type(self)(model, **self._settings)

    def with_settings(
        self, *, batch_size: int, workers: int | None, max_memory_mb: float | None
    ) -> Interpolator:
        """A copy with other run settings around the same model and network (compiled or not),
        e.g. the share of a job's memory that :func:`sepgan.memory.plan_memory` gives it.

        They change speed and memory, and ``max_memory_mb`` the tiling; checked as the
        constructor checks them (:class:`sepgan.options.OptionError`).
        """
        changes = {"batch_size": batch_size, "workers": workers, "max_memory_mb": max_memory_mb}
        check_interpolator_options(tile_overlap=self.tile_overlap, **changes)
        clone = copy.copy(self)  # shallow: the model and the network are shared
        clone._settings = {**self._settings, **changes}
        clone.batch_size, clone.workers, clone.max_memory_mb = batch_size, workers, max_memory_mb
        return clone

    # ------------------------------------------------------------------ sizes and memory

    def _round_up(self, value: int) -> int:
        return -(-value // self.multiple) * self.multiple

    @property
    def least_tile(self) -> int:
        """The smallest tile, in pixels a side: the overlap and one size multiple."""
        return self.tile_overlap + self.multiple

    def tiled_pixels(self, height: int, width: int, tile: int) -> int:
        """Pixels of all tiles of an H×W frame cut into ``tile``-pixel tiles with this overlap: what
        tiling crops at once (the frame's own pixels and their overlaps)."""
        tile_height, tile_width = min(tile, height), min(tile, width)
        rows = len(_tile_starts(height, tile_height, self.tile_overlap))
        columns = len(_tile_starts(width, tile_width, self.tile_overlap))
        return rows * columns * tile_height * tile_width

    def _budget_pixels(self) -> float:
        if self.max_memory_mb is None:
            return math.inf
        return self.max_memory_mb * 2**20 / self.bytes_per_pixel

    def tile_size(self, height: int, width: int) -> int | None:
        """The tile size used for H×W frames, or ``None`` when whole frames go through the network."""
        if self.tile is None:
            return None
        if self.tile != "auto":
            return int(self.tile)
        budget = self._budget_pixels()
        if self._round_up(height) * self._round_up(width) <= budget:
            return None
        tile = int(math.sqrt(budget)) // self.multiple * self.multiple
        return max(tile, self.least_tile)

    def _call_batch(self, pixels: int) -> int:
        """Pairs per network call for items of ``pixels`` padded pixels, within the memory budget."""
        return max(1, min(self.batch_size, int(self._budget_pixels() // max(pixels, 1))))

    # ------------------------------------------------------------------ the middle frame

    @torch.inference_mode()
    def estimate_flows(self, frame0: torch.Tensor, frame1: torch.Tensor) -> torch.Tensor | None:
        """The flows :meth:`interpolate` would compute for this B×3×H×W batch, or None for a model
        without flow.

        They are the model's flows (B×4V×h×w) of the picture inside the batch's
        static borders, computed at the frames' size with the bars filled by the
        picture's edge lines (:func:`sepgan.borders.picture_flows`). Computed on
        the CPU in ``workers`` threads (OpenCV) or on the runtime's device (torch
        backend). Pass them back as ``interpolate(frame0, frame1,
        flows=...)`` with the same frames, e.g. from another thread, so that
        the next pairs' flow runs while the network runs the current ones
        (:func:`sepgan.retime.retime`); the output is the same bit for bit.
        """
        if frame0.shape != frame1.shape or frame0.dim() != 4 or frame0.shape[1] != 3:
            raise ValueError(
                f"expected two B×3×H×W frames of one shape, got {tuple(frame0.shape)}, {tuple(frame1.shape)}"
            )
        # The picture interpolate_inside_borders hands to _interpolate_picture.
        return picture_flows(frame0, frame1, self._model_flows)

    def _model_flows(self, frame0: torch.Tensor, frame1: torch.Tensor) -> torch.Tensor | None:
        """The model's flows with this Interpolator's backend: the torch backend runs on the runtime's
        device (frames are moved there), OpenCV on the CPU in ``workers`` threads."""
        if self.flow_backend == "torch":
            frame0, frame1 = frame0.to(self.runtime.device), frame1.to(self.runtime.device)
        return self.model.estimate_flows(frame0, frame1, workers=self.workers, backend=self.flow_backend)

    @torch.inference_mode()
    def interpolate(
        self,
        frame0: torch.Tensor,
        frame1: torch.Tensor,
        flows: torch.Tensor | None = None,
        time: torch.Tensor | float | None = None,
    ) -> torch.Tensor:
        """The frame halfway between ``frame0`` and ``frame1`` (3×H×W or B×3×H×W, CPU float in [0, 1]),
        or the frame at ``time``.

        ``flows``: what :meth:`estimate_flows` returned for these frames (as a
        batch of one for 3×H×W frames); None computes them here. ``time``: t in
        (0, 1), a float or a B-vector (one per pair); None is ½. A t other than ½
        needs a model that warps to any time (:attr:`any_time`; ValueError otherwise).
        """
        if frame0.shape != frame1.shape:
            raise ValueError(
                f"frame0 and frame1 differ in size: {tuple(frame0.shape)} vs {tuple(frame1.shape)}"
            )
        single = frame0.dim() == 3
        if single:
            frame0, frame1 = frame0[None], frame1[None]
        if frame0.dim() != 4 or frame0.shape[1] != 3:
            raise ValueError(f"frames must be 3×H×W or B×3×H×W RGB, got {tuple(frame0.shape)}")
        time = self._check_time(time, frame0.shape[0])
        # Static bars (letterbox, pillarbox) pass through; only the picture inside is interpolated.
        borders = static_borders(frame0, frame1)
        if flows is None:
            flows = picture_flows(frame0, frame1, self._model_flows, borders)  # what estimate_flows gives
        result = interpolate_inside_borders(
            frame0,
            frame1,
            lambda picture0, picture1: self._interpolate_picture(picture0, picture1, flows, time),
            time=time,
            borders=borders,
        )
        return result[0] if single else result

    def _check_time(self, time: torch.Tensor | float | None, batch: int) -> torch.Tensor | None:
        """``time`` as a B-vector of float32, or None for the middle frame (every t = ½)."""
        if time is None:
            return None
        time = torch.as_tensor(time, dtype=torch.float32).reshape(-1)
        if time.numel() == 1:
            time = time.expand(batch)
        if time.numel() != batch:
            raise ValueError(f"got {time.numel()} times for {batch} pairs")
        if not bool(((time > 0) & (time < 1)).all()):
            raise ValueError(f"times must lie strictly between 0 and 1, got {time.tolist()}")
        if bool((time == 0.5).all()):
            return None  # the middle frame: the path every model takes, bit for bit
        if not self.any_time:
            raise ValueError(
                f"this {self.model.architecture} model makes only the middle frame (t = 0.5); "
                "use interpolate_at, which bisects"
            )
        return time.contiguous()

    def _interpolate_picture(
        self,
        frame0: torch.Tensor,
        frame1: torch.Tensor,
        flows: torch.Tensor | None = None,
        time: torch.Tensor | None = None,
        neighbours: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """B×3×H×W pairs → frames at ``time`` (a B-vector; None: the middle): padding, tiling and
        the network. ``flows``: the pictures' flows, from the unpadded frames before padding and
        tiling (:func:`sepgan.borders.picture_flows`, which :meth:`interpolate` and
        :meth:`interpolate_at` call); None for a model without flow. ``neighbours``: B×4V×H×W,
        see :meth:`interpolate_at`."""
        height, width = frame0.shape[-2:]
        if flows is not None and (flows.shape[0] != frame0.shape[0] or flows.shape[-2:] != frame0.shape[-2:]):
            raise ValueError(
                f"flows of shape {tuple(flows.shape)} do not belong to these {tuple(frame0.shape)} frames "
                "(inside their static borders); pass what estimate_flows returned for them"
            )
        if neighbours is not None and (flows is None or neighbours.shape != flows.shape):
            raise ValueError(
                f"neighbour flows of shape {tuple(neighbours.shape)} do not match the pairs' flows "
                f"({None if flows is None else tuple(flows.shape)})"
            )
        tile = self.tile_size(height, width)
        if tile is None or (height <= tile and width <= tile):
            return self._run_batched(frame0, frame1, flows, time, neighbours)
        return torch.cat(
            [
                self._run_tiled(
                    frame0[i : i + 1],
                    frame1[i : i + 1],
                    tile,
                    None if flows is None else flows[i : i + 1],
                    None if time is None else time[i : i + 1],
                    None if neighbours is None else neighbours[i : i + 1],
                )
                for i in range(frame0.shape[0])
            ]
        )

    def _run_batched(
        self,
        frame0: torch.Tensor,
        frame1: torch.Tensor,
        flows: torch.Tensor | None = None,
        time: torch.Tensor | None = None,
        neighbours: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Whole frames (and their B×4V×H×W flows and neighbour flows and B times, if any) through the
        network in batches; B×3×H×W out, on the CPU."""
        height, width = frame0.shape[-2:]
        step = self._call_batch(self._round_up(height) * self._round_up(width))
        outputs = []
        for start in range(0, frame0.shape[0], step):
            chunk0 = frame0[start : start + step].to(self.runtime.device, torch.float32)
            chunk1 = frame1[start : start + step].to(self.runtime.device, torch.float32)
            # Padded one by one (a cat of the two would be one more copy of both).
            padded0, (height, width) = pad_to_multiple(chunk0, self.multiple)
            padded1 = pad_to_multiple(chunk1, self.multiple)[0]
            if self.channels_last:
                padded0 = padded0.contiguous(memory_format=torch.channels_last)
                padded1 = padded1.contiguous(memory_format=torch.channels_last)
            extra = {}
            if flows is not None:
                flow_chunk = flows[start : start + step].to(self.runtime.device, torch.float32)
                extra["flows"] = pad_to_multiple(flow_chunk, self.multiple)[0]
            if neighbours is not None:
                chunk = neighbours[start : start + step].to(self.runtime.device, torch.float32)
                extra["neighbours"] = pad_to_multiple(chunk, self.multiple)[0]
            if time is not None:
                extra["time"] = time[start : start + step].to(self.runtime.device)
            with self.runtime.autocast():
                middle = self.network(padded0, padded1, **extra)
            # .cpu() is a sync point on a GPU; it also bounds device memory to one batch.
            outputs.append(middle[..., :height, :width].float().clamp(0, 1).contiguous().cpu())
        return torch.cat(outputs)

    def _run_tiled(
        self,
        frame0: torch.Tensor,
        frame1: torch.Tensor,
        tile: int,
        flows: torch.Tensor | None = None,
        time: torch.Tensor | None = None,
        neighbours: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """One 1×3×H×W pair (at one time, or the middle) as overlapping tiles, blended with feathered
        weights."""
        height, width = frame0.shape[-2:]
        tile_height, tile_width = min(tile, height), min(tile, width)
        boxes = [
            (top, left)
            for top in _tile_starts(height, tile_height, self.tile_overlap)
            for left in _tile_starts(width, tile_width, self.tile_overlap)
        ]
        crops0 = torch.cat(
            [frame0[..., top : top + tile_height, left : left + tile_width] for top, left in boxes]
        )
        crops1 = torch.cat(
            [frame1[..., top : top + tile_height, left : left + tile_width] for top, left in boxes]
        )
        crop_flows = None
        if flows is not None:
            crop_flows = torch.cat(
                [flows[..., top : top + tile_height, left : left + tile_width] for top, left in boxes]
            )
        crop_neighbours = None
        if neighbours is not None:
            crop_neighbours = torch.cat(
                [neighbours[..., top : top + tile_height, left : left + tile_width] for top, left in boxes]
            )
        crop_time = None if time is None else time.expand(len(boxes)).contiguous()
        middles = self._run_batched(crops0, crops1, crop_flows, crop_time, crop_neighbours)
        total = torch.zeros(1, 3, height, width)
        weights = torch.zeros(1, 1, height, width)
        for (top, left), middle in zip(boxes, middles, strict=False):
            weight = _ramp(tile_height, top, self.tile_overlap, height)[:, None] * _ramp(
                tile_width, left, self.tile_overlap, width
            )
            total[..., top : top + tile_height, left : left + tile_width] += middle * weight
            weights[..., top : top + tile_height, left : left + tile_width] += weight
        return total / weights

    # ------------------------------------------------------------------ other times

    def interpolate_recursively(
        self, frame0: torch.Tensor, frame1: torch.Tensor, depth: int
    ) -> Iterator[torch.Tensor]:
        """Yield the 2^depth − 1 frames at t = 1/2^depth, 2/2^depth, ... in time order (3×H×W each).

        A streaming generator: each midpoint is computed when it is next in time,
        and only the frames on the current bisection path are kept.
        """
        if depth <= 0:
            return
        middle = self.interpolate(frame0, frame1)
        yield from self.interpolate_recursively(frame0, middle, depth - 1)
        yield middle
        yield from self.interpolate_recursively(middle, frame1, depth - 1)

    @torch.inference_mode()
    def interpolate_dyadic(
        self,
        frame0: torch.Tensor,
        frame1: torch.Tensor,
        times: Sequence[Sequence[Fraction]],
        flows: torch.Tensor | None = None,
    ) -> list[dict[Fraction, torch.Tensor]]:
        """Frames at dyadic times ``m/2^d`` strictly between each pair, computed level by level.

        ``frame0`` and ``frame1`` are B×3×H×W; ``times[b]`` lists the times wanted
        for pair ``b``. Only the midpoints on the bisection paths to those times
        are computed (t = 3/8 needs 1/2, 1/4 and 3/8), and every level is one
        batched call across all pairs. Returns, per pair, ``{t: 3×H×W frame}``
        holding every computed time (including the intermediate ones).
        ``flows``: :meth:`estimate_flows` of ``frame0`` and ``frame1``, used for
        the first level (t = 1/2) when every pair wants a time; deeper levels
        need the network's own middles, so their flows are computed here.
        """
        if len(times) != frame0.shape[0]:
            raise ValueError(f"got {len(times)} time lists for {frame0.shape[0]} pairs")
        needed: list[set[Fraction]] = []
        for pair_times in times:
            wanted: set[Fraction] = set()
            stack = [Fraction(t) for t in pair_times]
            while stack:
                t = stack.pop()
                if t in wanted or t in (0, 1):
                    continue
                if not 0 < t < 1 or not is_dyadic(t):
                    raise ValueError(f"time {t} is not a dyadic point strictly between 0 and 1")
                wanted.add(t)
                half = Fraction(1, t.denominator)
                stack.extend((t - half, t + half))
            needed.append(wanted)
        known: list[dict[Fraction, torch.Tensor]] = [
            {Fraction(0): frame0[b], Fraction(1): frame1[b]} for b in range(frame0.shape[0])
        ]
        levels = sorted({t.denominator for wanted in needed for t in wanted})
        for denominator in levels:
            jobs = [
                (b, t)
                for b, wanted in enumerate(needed)
                for t in sorted(wanted)
                if t.denominator == denominator
            ]
            half = Fraction(1, denominator)
            left = torch.stack([known[b][t - half] for b, t in jobs])
            right = torch.stack([known[b][t + half] for b, t in jobs])
            # The given flows belong to the whole batch (its static borders too), so only the
            # first level with every pair in it, the same frames in the same order, can use them.
            given = flows if denominator == 2 and len(jobs) == frame0.shape[0] else None
            middles = self.interpolate(left, right, flows=given)
            for (b, t), middle in zip(jobs, middles, strict=False):
                known[b][t] = middle
        for entry in known:
            del entry[Fraction(0)], entry[Fraction(1)]
        return known

    @torch.inference_mode()
    def interpolate_at(
        self,
        frame0: torch.Tensor,
        frame1: torch.Tensor,
        times: Sequence[Sequence[Fraction]],
        flows: torch.Tensor | None = None,
        neighbours: torch.Tensor | None = None,
    ) -> list[dict[Fraction, torch.Tensor]]:
        """Frames at the given times strictly between each pair: ``{t: 3×H×W frame}`` per pair.

        ``frame0`` and ``frame1`` are B×3×H×W; ``times[b]`` lists the times
        (exact Fractions in (0, 1)) wanted for pair ``b``. ``flows``:
        :meth:`estimate_flows` of ``frame0`` and ``frame1`` (None computes them).

        A model that warps to any time (:attr:`any_time`) makes every frame
        straight from its pair with the pair's one flow estimate, ``batch_size``
        frames per network call, and the result holds exactly the times asked
        for. Any other model goes through :meth:`interpolate_dyadic` (recursive
        bisection; the result then also holds the intermediate midpoints), and a
        time that is not dyadic raises ValueError.

        ``neighbours``: for a model that reads them (:attr:`reads_neighbours`),
        the B×4V×H×W flows :func:`sepgan.flow.neighbour_flows` makes from the
        pairs before and after each pair (video and frame-folder inputs), shaped
        like ``flows``, which must then be given: the frames then move by
        constant-acceleration motion through four frames (the half-time frame
        too). Ignored (linear motion) by other models.
        """
        if len(times) != frame0.shape[0]:
            raise ValueError(f"got {len(times)} time lists for {frame0.shape[0]} pairs")
        if not self.reads_neighbours:
            neighbours = None
        if not self.any_time:
            return self.interpolate_dyadic(frame0, frame1, times, flows=flows)
        jobs = [(b, Fraction(t)) for b, pair_times in enumerate(times) for t in sorted(set(pair_times))]
        for _, t in jobs:  # before any flow is estimated (each chunk's times are checked again as floats)
            if not 0 < t < 1:
                raise ValueError(f"time {t} is not strictly between 0 and 1")
        result: list[dict[Fraction, torch.Tensor]] = [{} for _ in times]
        if not jobs:
            return result
        # The pairs' bands and flows, found once: every frame drawn from a pair shares them.
        borders = static_borders(frame0, frame1)
        if flows is None:
            flows = picture_flows(frame0, frame1, self._model_flows, borders)  # what estimate_flows gives
        step = max(1, self.batch_size)
        for start in range(0, len(jobs), step):
            chunk = jobs[start : start + step]
            pairs = [b for b, _ in chunk]
            time = self._check_time(torch.tensor([float(t) for _, t in chunk]), len(chunk))
            chunk_flows = None if flows is None else _rows(flows, pairs)
            chunk_neighbours = None if neighbours is None else _rows(neighbours, pairs)
            made = interpolate_inside_borders(
                _rows(frame0, pairs),
                _rows(frame1, pairs),
                lambda picture0, picture1, f=chunk_flows, t=time, n=chunk_neighbours: (
                    self._interpolate_picture(picture0, picture1, f, t, n)
                ),
                time=time,
                borders=borders,
            )
            for (b, t), frame in zip(chunk, made, strict=True):
                result[b][t] = frame
        return result
