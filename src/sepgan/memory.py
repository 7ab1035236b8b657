"""Memory of an interpolate job: what each part holds, and how ``--max-memory-mb`` is shared out.

``--max-memory-mb`` caps the peak resident memory (RSS) of the whole process
that runs a job: Python and its libraries, the model, decoding, the frames in
flight, optical flow, the network and the encoder. :func:`plan_memory` gives
each part its share from the figures below and picks the fastest plan that
fits, giving up, in this order:

1. frame pairs per batch (``--batch``), with flow-ahead kept: the next
   batch's DIS flow in a thread of its own, one batch ahead of the warps and
   the network (:func:`sepgan.retime.retime`);
2. flow-ahead, which holds two batches and runs DIS and the network at the
   same time (the batch size starts again from ``--batch``);
3. DIS threads (``--workers``), each of which holds its own buffers;
4. the whole frame in one network call: tiles, the largest whose call and
   crops fit (the Interpolator's tiling, which changes the frames a little:
   :mod:`sepgan.interpolator`; tiles overlap, so small ones cost more than
   they save).

The frames are the same whatever 1–3 choose. Whether and how 4 tiles depends
on the budget, the frame size, the model, the codec, ``--overlap`` and the
ratio of frame rates, never on the core count, ``--batch`` or ``--workers``,
so every worker of a job (``--jobs``) tiles alike. When even one pair, one
thread and the smallest tile do not fit, an explicit budget is an error that
names what the frame size needs. With no budget given, the plan aims at
:data:`~sepgan.options.DEFAULT_MEMORY_TARGET_MB` by 1 and 2 only (it never
slows DIS down), tiles only a network call over
:data:`~sepgan.options.DEFAULT_MAX_MEMORY_MB` (as before there was a cap),
and where that cannot meet the target it runs at batch 1 without flow-ahead
and says so in a note.

Figures, in bytes per pixel of the frame (P = width × height), measured as
peak RSS above the start of each part on 2 CPU cores (PyTorch 2.13 CPU,
OpenCV 5.1, PyAV's FFmpeg; ``python -m benchmarks.bench_memory``), with a
small margin; none depends on the core count (so neither do the tiles):

================================  ====================================  =========
part                              estimate                              at 1080p
================================  ====================================  =========
the process before the job        270 MB + the model's weights          270 MB
decoding (FFmpeg's threads, at    64 · P                                127 MB
most 16, and reference frames)
encoding: H.264 (x264 preset      228 · P (209–228 measured with 1 to   451 MB
medium: its 40-frame look-ahead)  48 threads) / 86 · P / 0              / 170 MB
/ FFV1 / PNG; HEVC / AV1 / VP9    232 / 240 / 160 / 16 · P (225, 232,   / 459 /
/ ProRes (their defaults)         151 and 13 measured)                  475 / 316
                                                                        / 32 MB
frames in flight (uint8 RGB;      3 · P a frame (6 · P uint16): decode  101 MB
uint16 for video deeper than 8    queue 2·batch + 2, output queue, the
bits whose output keeps it)       cut rule's 5, the batch's intervals
                                  and their copies for DIS
a batch, per pair                 24 · P (its float32 frames) + the     174 MB
                                  model's ``flow_bytes_per_pixel``
                                  (16·V); twice with flow-ahead
optical flow, per DIS thread      the model's                           459 MB
                                  ``flow_thread_bytes_per_pixel``
                                  (232 for DIS "fine")
one network call, per item        the model's                           531 MB
(a pair at one time)              ``inference_bytes_per_pixel`` ·
                                  padded P (272 for flow-ensemble),
                                  + 27 · P a frame made (float32,
                                  stacked, uint8; 30 · P uint16)
================================  ====================================  =========

With flow-ahead DIS and the network run side by side and both count; without
it they run one after the other and the larger counts. So 1080p ×2 with the
default model plans batch 1, no flow-ahead and two DIS threads: 2040 MB,
where 1927 MB was measured (60 output frames, the encoder's look-ahead full).
DIS's buffers and the warps' temporaries are freed after each batch, and
:func:`release_free_memory` hands the freed pages back to the system, so
they do not pile up as fragments of the C heap.

Not planned: ``--adapt`` (training crops, before the job) and the GPU's own
memory (on CUDA the network call's share is device memory; the plan still
counts it against the process).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import os
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from typing import TYPE_CHECKING

from sepgan.errors import InterpolationError
from sepgan.options import DEFAULT_MAX_MEMORY_MB, DEFAULT_MEMORY_TARGET_MB

if TYPE_CHECKING:
    from sepgan.interpolator import Interpolator

__all__ = [
    "MemoryPlan",
    "cpu_count",
    "plan_memory",
    "release_free_memory",
]

MB = 2**20
# The process before the job (Python, PyTorch, OpenCV, PyAV, typer, the model's code): 257 MB measured.
PROCESS_MB = 260.0
# Decoding and encoding do not depend on the core count here, so that neither does the plan's tiling:
# FFmpeg's decoders take at most 16 threads of their own (≈ 1.4 bytes a pixel each; 56 measured with 3
# threads, RGB conversion included), and x264 preset medium held 209-228 bytes a pixel with 1 to 48
# threads (its 40-frame look-ahead dominates).
DECODE_BYTES_PER_PIXEL = 64.0
# The other encoders at their defaults, 1080p (python -m benchmarks.bench_memory --sizes 1080p --encoders
# hevc,av1,vp9,prores --encoded-frames 60; BENCHMARKS.md): x265 medium 225 bytes a pixel (the same at
# 120 frames), SVT-AV1 228 at 60 frames and 232 at 120 (193 at 30: its look-ahead fills later),
# libvpx-vp9 151, ProRes 422 HQ (intra only) 13; each figure below with a small margin.
ENCODE_BYTES_PER_PIXEL = {
    "h264": 228.0,
    "hevc": 232.0,
    "av1": 240.0,
    "vp9": 160.0,
    "prores": 16.0,
    "ffv1": 86.0,
    "png": 0.0,
}
# The parts measured alone add up to less than a job holds: the C heap's fragments across the decode,
# flow, network and encode threads. Peaks of whole jobs were up to 5% above the sum (1080p ×2, batch 2).
SLACK = 0.08
FRAME_BYTES_PER_PIXEL = 3  # uint8 RGB; × the element size: 6 for uint16 RGB (video of more than 8 bits)
FLOAT_FRAME_BYTES_PER_PIXEL = 12  # float32 RGB
CUT_LOOKAHEAD_FRAMES = 5  # the cut rule waits for three more pairs (sepgan.media.scenes)


def cpu_count() -> int:
    """The CPUs this process may run on (its affinity set), as FFmpeg, x264 and DIS count them."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no affinity call on this platform (macOS, Windows)
        return os.cpu_count() or 1


@cache
def _malloc_trim():
    if not os.path.exists("/proc/self"):  # glibc's malloc_trim is a Linux matter
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # musl and other C libraries have no malloc_trim
        return None


def release_free_memory() -> None:
    """Give the pages that the C heap holds free back to the system (glibc's ``malloc_trim``).

    OpenCV's DIS and PyTorch's CPU tensors below 32 MB come from glibc's heaps,
    one per thread that allocates; freed, their pages stay resident. After a
    1080p batch that was 0.3–1 GB, enough to push a job 20% over its budget.
    A call takes 30–90 ms after a 1080p batch (1–2% of its time). A no-op
    where there is no glibc.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@dataclass(frozen=True)
class MemoryPlan:
    """What :func:`plan_memory` chose, and its estimate of each part in MB.

    ``call_memory_mb`` is the network call's share: the Interpolator's
    ``max_memory_mb`` (it batches and tiles within it); ``tile`` whether the
    whole frame did not fit it. ``parts`` are estimates of peak memory (MB),
    whose sum, :attr:`total_mb`, is the expected peak of the process.
    ``fits`` is False when even the leanest plan exceeds the budget.
    """

    budget_mb: float | None
    batch_size: int
    flow_ahead: bool
    workers: int
    call_memory_mb: float
    tile: bool
    parts: dict[str, float] = field(default_factory=dict)
    fits: bool = True

    @property
    def total_mb(self) -> float:
        """The expected peak: every part, with DIS (``flow``) and the network side by side under
        flow-ahead, else one after the other (the larger of the two)."""
        others = sum(mb for part, mb in self.parts.items() if part not in ("flow", "network"))
        flow, network = self.parts.get("flow", 0.0), self.parts.get("network", 0.0)
        return others + (flow + network if self.flow_ahead else max(flow, network))

    def describe(self) -> str:
        """One line: the choices and the estimate, e.g. for a note."""
        ahead = "flow ahead" if self.flow_ahead else "no flow ahead"
        tiles = ", tiled" if self.tile else ""
        return (
            f"batch {self.batch_size}, {ahead}, {self.workers} DIS thread{'s' if self.workers != 1 else ''}"
            f"{tiles}: ≈ {self.total_mb:.0f} MB"
        )


@dataclass(frozen=True)
class _Sizes:
    """The figures of one job that do not depend on the choices."""

    pixels: int
    padded_pixels: int
    flow_bytes: int  # one pair's flows, per pixel
    flow_thread_bytes: int  # one DIS thread, per pixel
    flow_calls: int  # DIS calls per pair (one 2-channel float32 flow, 8 bytes a pixel, each)
    network_bytes: int  # one network call, per padded pixel and item
    weights_mb: float
    decode_bytes: float
    encode_bytes: float
    outputs_per_pair: int  # output frames an input interval holds at most
    made_per_pair: int  # of which the model makes at most (t = 0 is the input frame)
    overlap: bool
    frame_bytes: int = FRAME_BYTES_PER_PIXEL  # one RGB frame array, per pixel: 3 uint8, 6 uint16
    neighbours: bool = False  # constant-acceleration motion: the next batch's flows, the neighbour flows

    def parts(self, batch: int, ahead: bool, workers: int, network_mb: float) -> dict[str, float]:
        """Peak MB of each part for ``batch`` pairs, flow-ahead or not, ``workers`` DIS threads, and
        a network call of ``network_mb`` (tiled: one tile's call and every tile's crops)."""
        pixels = self.pixels / MB
        # Frame arrays (uint8 or uint16): the decode and encode queues (with overlap), the cut rule's
        # look-ahead, the batch's intervals (two batches with flow-ahead) and their copies for DIS.
        queued = (2 * batch + 2) + max(4, 2 * batch * self.outputs_per_pair) if self.overlap else 2
        held = (2 if ahead else 1) + (1 if self.neighbours else 0)  # the next batch waits for the one after
        frames = queued + CUT_LOOKAHEAD_FRAMES + (batch + 1) * held + 2 * batch
        batches = held * batch * (2 * FLOAT_FRAME_BYTES_PER_PIXEL + self.flow_bytes)
        if self.neighbours:  # the batch's neighbour flows (sepgan.flow.neighbour_flows), as big as its flows
            batches += batch * self.flow_bytes
        threads = min(workers, batch * self.flow_calls) if self.flow_calls else 0
        # the frames a batch makes: float32, stacked, then arrays of the frames' dtype
        made = batch * self.made_per_pair * (2 * FLOAT_FRAME_BYTES_PER_PIXEL + self.frame_bytes)
        parts = {
            "process": PROCESS_MB + self.weights_mb,
            "decode": self.decode_bytes * pixels,
            "encode": self.encode_bytes * pixels,
            "frames": frames * self.frame_bytes * pixels,
            "batches": batches * pixels,
            "flow": threads * self.flow_thread_bytes * pixels,
            "network": network_mb + made * pixels,
        }
        flow, network = parts["flow"], parts["network"]
        variable = sum(parts.values()) - parts["process"] - flow - network
        parts["slack"] = SLACK * (variable + (flow + network if ahead else max(flow, network)))
        return parts


def _sizes(
    interpolator: Interpolator,
    height: int,
    width: int,
    *,
    codec: str,
    video: bool,
    overlap: bool,
    ratio: Fraction,
    montage: bool,
    frame_bits: int = 8,
) -> _Sizes:
    ratio = Fraction(ratio)
    model = interpolator.model
    multiple = interpolator.multiple
    padded = (-(-height // multiple) * multiple) * (-(-width // multiple) * multiple)
    flow_bytes = int(model.flow_bytes_per_pixel)
    encode = ENCODE_BYTES_PER_PIXEL[codec]
    if montage:  # a second H.264 encoder, twice as wide
        encode += 2 * ENCODE_BYTES_PER_PIXEL["h264"]
    weights = sum(tensor.numel() * tensor.element_size() for tensor in model.state_dict().values())
    return _Sizes(
        pixels=height * width,
        padded_pixels=padded,
        flow_bytes=flow_bytes,
        flow_thread_bytes=int(model.flow_thread_bytes_per_pixel),
        flow_calls=flow_bytes // 8,
        network_bytes=interpolator.bytes_per_pixel,
        weights_mb=weights / MB,
        decode_bytes=DECODE_BYTES_PER_PIXEL if video else 0.0,
        encode_bytes=encode,
        outputs_per_pair=max(1, math.ceil(ratio)),
        made_per_pair=max(1, ratio - 1 if ratio.denominator == 1 else math.ceil(ratio)),
        overlap=overlap,
        frame_bytes=FRAME_BYTES_PER_PIXEL * frame_bits // 8,
        neighbours=bool(getattr(interpolator, "reads_neighbours", False)) and flow_bytes > 0,
    )


def plan_memory(
    interpolator: Interpolator,
    height: int,
    width: int,
    *,
    budget_mb: float | None,
    codec: str,
    video: bool = True,
    overlap: bool = True,
    ratio: Fraction = Fraction(2),
    montage: bool = False,
    cores: int | None = None,
    frame_bits: int = 8,
) -> MemoryPlan:
    """Batch size, flow-ahead, DIS threads and the network call's share for a job on H×W frames.

    ``interpolator`` gives the model's figures and the upper limits
    (``batch_size``, ``workers``: None is every core); ``budget_mb`` caps the
    process (None: the default, module docstring); ``codec`` is the output's
    (``h264``, ``ffv1`` or ``png``), ``video`` whether frames are decoded,
    ``overlap`` whether decode and encode run in threads with queues
    (``--overlap``; flow-ahead needs it), ``ratio`` output frames per input
    frame, ``montage`` a second, side-by-side H.264 output; ``cores`` the
    CPUs (default :func:`cpu_count`); ``frame_bits`` the frame arrays' bits per
    channel (8: uint8; 16: uint16, twice the frame memory, for video of more than
    8 bits whose output keeps them: :func:`sepgan.media.writer.frame_bits`).

    Raises :class:`~sepgan.errors.InterpolationError` naming ``max_memory_mb``
    when an explicit budget cannot hold (module docstring).
    """
    cores = cpu_count() if cores is None else cores
    workers = interpolator.workers or cores
    sizes = _sizes(
        interpolator, height, width, codec=codec, video=video, overlap=overlap, ratio=ratio,
        montage=montage, frame_bits=frame_bits,
    )  # fmt: skip
    budget = DEFAULT_MEMORY_TARGET_MB if budget_mb is None else budget_mb
    whole = sizes.network_bytes * sizes.padded_pixels / MB  # one item (pair and time), the whole frame
    if budget_mb is None:
        call_limit = float(DEFAULT_MAX_MEMORY_MB)  # the default tiles as before the cap: a call over 4 GB
    else:
        # Without flow-ahead the network runs after DIS, so a call may take what DIS takes; nothing
        # here depends on the core count, so every worker of a job tiles alike.
        common = sizes.parts(1, False, 1, 0.0)  # its network part: the frames a batch makes
        others = sum(mb for part, mb in common.items() if part not in ("process", "flow", "slack"))
        call_limit = max((budget - common["process"]) / (1 + SLACK) - others, 0.0)
    tile = _tile_side(interpolator, height, width, sizes, call_limit) if whole > call_limit else None

    def plan(batch: int, ahead: bool, threads: int, fits: bool = True) -> MemoryPlan:
        if tile is not None:  # one tile a call; the Interpolator's tile from this share is ``tile``
            parts = sizes.parts(batch, ahead, threads, _tiled_mb(interpolator, height, width, sizes, tile))
            share = sizes.network_bytes * (tile + interpolator.multiple / 2) ** 2 / MB
            return MemoryPlan(budget_mb, batch, ahead, threads, share, True, parts, fits)
        # What the budget leaves goes to the network call: as many of the batch's items as fit.
        calls = 1
        while calls < min(batch, call_limit // whole):
            more = MemoryPlan(
                budget_mb,
                batch,
                ahead,
                threads,
                0.0,
                False,
                sizes.parts(batch, ahead, threads, (calls + 1) * whole),
            )
            if more.total_mb > budget:
                break
            calls += 1
        parts = sizes.parts(batch, ahead, threads, calls * whole)
        # Half an item more, so that the Interpolator's rounding down gives ``calls`` items a call.
        return MemoryPlan(budget_mb, batch, ahead, threads, (calls + 0.5) * whole, False, parts, fits)

    # Pairs that give every DIS thread a call; on a CPU more pairs a batch only hold more memory (the
    # network gains nothing from batches there: 0.97-1.15× per pair, sepgan.interpolator).
    needed = -(-workers // sizes.flow_calls) if sizes.flow_calls else 1
    largest = interpolator.batch_size
    if sizes.flow_calls and interpolator.runtime.device.type == "cpu":
        largest = min(largest, needed)
    # The default gives up no DIS thread: it keeps a call for each.
    smallest = min(needed, largest) if budget_mb is None else 1
    threads = min(workers, largest * sizes.flow_calls) if sizes.flow_calls else workers

    def calls_for(batch: int) -> int:
        return min(threads, max(batch * sizes.flow_calls, 1))

    for ahead in (True, False) if overlap else (False,):
        for batch in range(largest, smallest - 1, -1):
            candidate = plan(batch, ahead, calls_for(batch))
            if candidate.total_mb <= budget + 1e-6:  # a tiled plan fills its budget exactly
                return candidate
    if budget_mb is None:  # the default never slows DIS down: it runs as lean as that allows
        return plan(smallest, False, calls_for(smallest), fits=False)
    for fewer in range(calls_for(1), 0, -1):
        candidate = plan(1, False, fewer)
        if candidate.total_mb <= budget + 1e-6:  # a tiled plan fills its budget exactly
            return candidate
    leanest = plan(1, False, 1, fits=False)
    raise InterpolationError(
        "{width}×{height} frames need ≈ {least} MB at the least ({parts}); {max_memory_mb} {budget} "
        "cannot hold them",
        parameter="max_memory_mb",
        width=width,
        height=height,
        least=f"{leanest.total_mb:.0f}",
        parts=_breakdown(leanest),
        budget=f"{budget_mb:g}",
    )


def _breakdown(plan: MemoryPlan) -> str:
    """The parts in MB, e.g. "process 270, …, the larger of DIS flow 459 and network 431"."""
    others = [f"{part} {mb:.0f}" for part, mb in plan.parts.items() if part not in ("flow", "network")]
    flow, network = plan.parts["flow"], plan.parts["network"]
    if plan.flow_ahead:
        return ", ".join([*others, f"DIS flow {flow:.0f}", f"network {network:.0f}"])
    return ", ".join([*others, f"the larger of DIS flow {flow:.0f} and network {network:.0f}"])


def _tiled_mb(interpolator: Interpolator, height: int, width: int, sizes: _Sizes, tile: int) -> float:
    """A tiled network call's MB: one tile's call, and every tile's crops of the frames and flows,
    its made frame and the blend's sums (the Interpolator crops every tile at once)."""
    crops = interpolator.tiled_pixels(height, width, tile)
    per_crop = 3 * FLOAT_FRAME_BYTES_PER_PIXEL + sizes.flow_bytes
    return (sizes.network_bytes * tile**2 + per_crop * crops + 16 * sizes.pixels) / MB


def _tile_side(interpolator: Interpolator, height: int, width: int, sizes: _Sizes, limit_mb: float) -> int:
    """The largest tile whose call and crops fit ``limit_mb`` (the smallest tile when none does: the
    plan then cannot hold). Small tiles cost more than they save: tiles overlap by ``tile_overlap``,
    so their crops grow as (tile / (tile − overlap))²."""
    multiple, least = interpolator.multiple, interpolator.least_tile
    largest = max(least, int(math.sqrt(limit_mb * MB / sizes.network_bytes)) // multiple * multiple)
    for side in range(largest, least - 1, -multiple):
        if _tiled_mb(interpolator, height, width, sizes, side) <= limit_mb:
            return side
    return least
