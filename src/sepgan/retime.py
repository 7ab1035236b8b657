"""Retiming: the streaming core of the interpolate job, input frames in, output frames out.

:func:`retime` reads frames one at a time and keeps only the few the scene-cut
rule looks ahead to, plus a batch of pairs: it collects intervals until ``batch_size`` of them need the
network, so that every network call gets ``--batch`` pairs (static and cut
intervals ride along without counting; at most ``4 · batch_size`` intervals are
held). Each pair is classified first:

* a **scene cut** (the one rule of :mod:`sepgan.media.scenes`, whose absolute
  level in grey levels is ``scene_threshold``; it looks three pairs ahead, so
  three more frames are held): no blending across it; every in-between frame
  repeats the frame before the cut, so the cut stays at its original time.
  Fades of any length are interpolated;
* **static** (no pixel differs by more than ``static_tolerance`` levels):
  in-between frames repeat the frame without running the network;
* otherwise the wanted dyadic points are interpolated
  (:meth:`sepgan.interpolator.Interpolator.interpolate_dyadic`).

Each batch's flow (:meth:`sepgan.interpolator.Interpolator.estimate_flows`,
DIS on CPU threads for the flow-guided models) is computed before the batch
reaches the network. With ``flow_ahead`` that runs in a thread of its own
(``sepgan-flow``), one batch ahead: the next batch's flow is computed while the
network and warps run on the current one, and the output is the same bit for
bit. It then holds the flows of two batches at once (at 1080p with a four-way
ensemble, 133 MB per pair).

Which output frame sits at which input time is :class:`sepgan.interpolator.Retiming`'s
job, or for video :class:`TimedRetiming`'s, which follows the input's timestamps
(variable frame rate: a 0.4 s stall is filled at the output rate); the inputs
(a pair, a folder, a video) and the threads around this core are
:mod:`sepgan.jobs` and :mod:`sepgan.stages`. Frames are RGB uint8 H×W×3 arrays.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import torch

from sepgan.errors import UserError
from sepgan.interpolator import Interpolator, Retiming
from sepgan.media.frames import from_uint8, to_uint8
from sepgan.media.scenes import CUT_LEVEL, CutDetector, thumbnail
from sepgan.stages import ReadAhead

__all__ = ["InterpolationError", "RetimeStats", "TimedRetiming", "retime"]


class InterpolationError(UserError, ValueError):
    """The job cannot run as asked: bad paths, mismatched sizes, too few frames, bad options."""


@dataclass
class RetimeStats:
    """Counters and timings filled in by :func:`retime` and the jobs.

    ``seconds`` holds the busy time of each stage; with overlap the stages run
    at the same time, so their sum exceeds the wall time. ``flow`` is the
    first-level flow of each batch (plus the batch's conversion to tensors);
    ``inference`` is the rest: the network, the warps, and the flow of deeper
    bisection levels (×4 and up).
    """

    frames_in: int = 0
    frames_out: int = 0
    interpolated: int = 0  # output frames made by the network
    network_midpoints: int = 0  # midpoints computed, including intermediate bisection levels
    scene_cuts: int = 0
    static_pairs: int = 0
    max_error: Fraction = Fraction(0)  # in input frame intervals
    seconds: dict[str, float] = field(
        default_factory=lambda: {"decode": 0.0, "flow": 0.0, "inference": 0.0, "encode": 0.0}
    )


# The longest gap TimedRetiming interpolates, in output frames (0.53 s at 30 → 60 fps).
MAX_FILLED_OUTPUTS = 32


class TimedRetiming:
    """A :class:`Retiming` whose input frames sit at their own timestamps: variable frame rate.

    Times are counted in *slots*, frames of the nominal input rate ``fps``
    (:func:`sepgan.media.fps.nominal_fps`), from the first frame. Output frame k
    sits at slot ``k / ratio`` whatever the input does, so output timestamps
    follow the input's: across a stall (a 0.4 s gap between two frames) the
    output goes on at its own rate, and the frames in the gap are interpolated
    between the two frames around it (or hold the first, across a scene cut).
    A timestamp within 1 ms (at most 1/8 slot) of a whole slot is taken as that
    slot, so constant-rate input, Matroska's millisecond timestamps included,
    gives exactly :class:`Retiming`'s positions. Within a gap of L slots the time
    is snapped to a finer dyadic grid (``max_depth + ⌈log2 L⌉``, at most 10),
    so the timing error stays ≤ 1/2^(max_depth + 1) slot, as between regular frames.
    A gap of more than :data:`MAX_FILLED_OUTPUTS` output frames is not
    interpolated: its frames hold the frame before, as a player shows a stall
    (filling it would hold that many frames in memory at once); ``held`` counts them.

    :meth:`add` records each input frame's timestamp as it is decoded (before
    :func:`retime` sees the frame); :meth:`finish` the end of the last one.
    Only the timestamps from the current interval on are kept.
    """

    def __init__(self, retiming: Retiming, fps: Fraction) -> None:
        self.ratio, self.max_depth = retiming.ratio, retiming.max_depth
        self.fps = Fraction(fps)
        self._base_max_error = retiming.max_error
        self._first: Fraction | None = None  # the first frame's time, seconds
        self._slots: list[Fraction] = []  # slots of frames _offset, _offset + 1, ...
        self._offset = 0
        self._last = Fraction(-1)
        self._end: Fraction | None = None  # where the last frame's display ends, once known
        self._duration: Fraction | None = None  # the last frame's display duration, seconds
        self.gaps = 0  # intervals longer than 1.5 slots
        self.held = 0  # of which too long to fill (MAX_FILLED_OUTPUTS)
        self.longest = Fraction(1)  # the longest interval, in slots

    def _slot(self, seconds: Fraction) -> Fraction:
        slot = (seconds - self._first) * self.fps
        whole = round(slot)
        return Fraction(whole) if abs(slot - whole) <= min(Fraction(1, 8), self.fps / 1000) else slot

    def add(self, seconds: Fraction | None, duration: Fraction | None = None) -> None:
        """The next input frame's timestamp and display duration, in seconds (None: unknown)."""
        if seconds is not None and self._first is None:
            self._first = seconds
        slot = self._last + 1 if seconds is None or self._first is None else self._slot(seconds)
        if slot <= self._last:  # out of order or repeated: one slot on, as a constant rate would have it
            slot = self._last + 1
        if self._slots or self._offset:
            step = slot - self._last
            self.gaps += step > Fraction(3, 2)
            self.held += self._held(step)
            self.longest = max(self.longest, step)
        self._slots.append(slot)
        self._last = slot
        self._duration = duration

    def finish(self) -> None:
        """No more frames: the last one is shown for its duration (one slot if unknown)."""
        length = Fraction(1)
        if self._duration and self._duration > 0:
            length = self._duration * self.fps
            whole = round(length)
            if abs(length - whole) <= min(Fraction(1, 8), self.fps / 1000):
                length = Fraction(whole)
            length = max(Fraction(1, 8), length)
        self._end = self._last + length

    def _interval(self, index: int) -> tuple[Fraction, Fraction]:
        """(start, length) in slots of the interval after input frame ``index``."""
        start = self._slots[index - self._offset]
        if index + 1 - self._offset < len(self._slots):
            return start, self._slots[index + 1 - self._offset] - start
        return start, (self._end if self._end is not None else start + 1) - start

    def position(self, index: int) -> Fraction:
        """Input position (frame index plus fraction of its interval) of output frame ``index``.

        Past the last frame decoded so far it returns the number of frames known,
        which :func:`retime` reads as "not yet"; once :meth:`finish` was called,
        positions run on past the last frame at its duration.
        """
        slot = index / self.ratio
        slots = self._slots
        # The cursor is the first kept frame; output positions only grow, so earlier ones go.
        while len(slots) > 1 and slots[1] <= slot:
            slots.pop(0)
            self._offset += 1
        if len(slots) > 1 or self._end is not None:
            start, length = self._interval(self._offset)
            return self._offset + (slot - start) / length
        return Fraction(self._offset + len(slots))

    def _held(self, length: Fraction) -> bool:
        return length * self.ratio > MAX_FILLED_OUTPUTS

    def snap(self, position: Fraction) -> tuple[int, Fraction]:
        interval = math.floor(position)
        _, length = self._interval(interval)
        if self._held(length):
            return interval, Fraction(0)  # the frame before, until the next one's time
        depth = self.max_depth + (math.ceil(math.log2(length)) if length > 1 else 0)
        steps = 2 ** min(10, depth)
        return interval, Fraction(round((position - interval) * steps), steps)

    def error(self, position: Fraction, interval: int, t: Fraction) -> Fraction:
        """Timing error in slots (input frames at the nominal rate); 0 in a held gap (the stall's own)."""
        length = self._interval(interval)[1]
        return Fraction(0) if self._held(length) else abs(position - interval - t) * length

    @property
    def max_error(self) -> Fraction:
        """Worst-case timing error in slots: :class:`Retiming`'s, or 1/2^(depth+1) once there are gaps."""
        return self._base_max_error if not self.gaps else Fraction(1, 2 ** (self.max_depth + 1))


@dataclass
class _Interval:
    index: int  # between input frames index and index + 1
    frame0: np.ndarray
    frame1: np.ndarray
    times: list[Fraction]  # snapped time of each output frame in this interval, 0 ≤ t ≤ 1
    mode: str  # "interpolate", "cut", "static" or "hold" (the video's tail: the last frame repeated)


@dataclass
class _Batch:
    """Intervals flushed together, with the network's inputs once :func:`_prepare` has run."""

    intervals: list[_Interval]
    jobs: list[int] = field(default_factory=list)  # indices of the intervals that need the network
    frame0: torch.Tensor | None = None  # B×3×H×W, B = len(jobs)
    frame1: torch.Tensor | None = None
    flows: torch.Tensor | None = None  # Interpolator.estimate_flows of frame0, frame1


def _classify(frame0: np.ndarray, frame1: np.ndarray, score: float, cut: bool, static_tolerance: int) -> str:
    """The interval's mode from the cut rule's verdict and the thumbnails' ``score`` (grey levels)."""
    if cut:
        return "cut"
    # The full-resolution check only runs when the thumbnails are (nearly) equal.
    if score < 1 and int(np.abs(frame0.astype(np.int16) - frame1).max()) <= static_tolerance:
        return "static"
    return "interpolate"


def _judged_pairs(
    frames: Iterable[np.ndarray],
    scene_threshold: float | None,
    static_tolerance: int,
    stats: RetimeStats,
    source: str,
) -> Iterator[tuple[np.ndarray, np.ndarray, str]]:
    """(frame0, frame1, mode) of each consecutive pair, in order, once the cut rule has judged it.

    Counts the frames read in ``stats.frames_in``. Raises :class:`InterpolationError` when a
    frame's size differs from the first's.
    """
    detector = CutDetector(scene_threshold)
    waiting: deque[tuple[np.ndarray, np.ndarray]] = deque()  # pairs whose verdict is not known yet
    previous: np.ndarray | None = None
    for count, frame in enumerate(frames):
        if previous is not None and frame.shape != previous.shape:
            height, width = frame.shape[:2]
            raise InterpolationError(
                f"{source}: frame {count} is {width}×{height}, but frame 0 is "
                f"{previous.shape[1]}×{previous.shape[0]}; all frames must have one size"
            )
        if previous is not None:
            waiting.append((previous, frame))
        for score, cut in detector.push(thumbnail(frame)):
            frame0, frame1 = waiting.popleft()
            yield frame0, frame1, _classify(frame0, frame1, score, cut, static_tolerance)
        previous = frame
        stats.frames_in = count + 1
    for score, cut in detector.finish():
        frame0, frame1 = waiting.popleft()
        yield frame0, frame1, _classify(frame0, frame1, score, cut, static_tolerance)


def retime(
    frames: Iterable[np.ndarray],
    interpolator: Interpolator,
    retiming: Retiming,
    *,
    hold_tail: bool,
    scene_threshold: float | None = CUT_LEVEL,
    static_tolerance: int = 1,
    stats: RetimeStats | None = None,
    source: str = "input",
    flow_ahead: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(output frame, original frame shown at that time)`` for every output frame, in order.

    ``frames`` are RGB uint8 H×W×3 arrays of one size. ``hold_tail`` extends the
    output to the end of the last frame's display time (videos); without it the
    output ends on the last input frame (frame folders). ``flow_ahead`` reads the
    frames and computes each batch's flow in a thread, one batch ahead of the
    network (module docstring). Raises :class:`InterpolationError` for fewer
    than two frames or a size change.
    """
    stats = stats if stats is not None else RetimeStats()
    batches = _batches(
        frames, interpolator, retiming, hold_tail=hold_tail, scene_threshold=scene_threshold,
        static_tolerance=static_tolerance, stats=stats, source=source,
    )  # fmt: skip
    prepared = (_prepare(batch, interpolator, stats) for batch in batches)
    if not flow_ahead:
        for batch in prepared:
            yield from _flush(batch, interpolator, stats)
        return
    ahead = ReadAhead(prepared, maxsize=1, name="sepgan-flow", lockstep=True)
    try:
        for batch in ahead:
            yield from _flush(batch, interpolator, stats)
    finally:
        ahead.close()


def _batches(
    frames: Iterable[np.ndarray],
    interpolator: Interpolator,
    retiming: Retiming,
    *,
    hold_tail: bool,
    scene_threshold: float | None,
    static_tolerance: int,
    stats: RetimeStats,
    source: str,
) -> Iterator[_Batch]:
    """The intervals in batches to flush together, the held tail (if any) last."""
    batch = max(1, interpolator.batch_size)
    next_output = 0
    count = 1  # frames read so far, once a pair is judged: its second frame is frame ``count - 1``
    network_pairs = 0  # pending intervals that need the network
    previous: np.ndarray | None = None  # the last frame read
    stats.frames_in = 0
    pending: list[_Interval] = []
    for frame0, frame1, mode in _judged_pairs(frames, scene_threshold, static_tolerance, stats, source):
        times = []
        while (position := retiming.position(next_output)) < count:
            interval, t = retiming.snap(position)
            stats.max_error = max(stats.max_error, retiming.error(position, interval, t))
            times.append(t)
            next_output += 1
        stats.scene_cuts += mode == "cut"
        stats.static_pairs += mode == "static"
        interval = _Interval(count - 1, frame0, frame1, times, mode)
        pending.append(interval)
        network_pairs += _needs_network(interval)
        # Flush once a full batch needs the network; the cap bounds memory in long static runs.
        if network_pairs >= batch or len(pending) >= 4 * batch:
            yield _Batch(pending)
            pending, network_pairs = [], 0
        previous = frame1
        count += 1
    count = stats.frames_in
    if count < 2:
        raise InterpolationError(
            f"{source} has {count} frame{'s' if count != 1 else ''}; interpolation needs at least 2"
        )
    last = count - 1
    held = []  # output times past the last frame: it is repeated
    while True:
        position = retiming.position(next_output)
        if position >= count if hold_tail else position > last:
            break
        held.append(Fraction(0))
        next_output += 1
    if held:
        pending.append(_Interval(last, previous, previous, held, "hold"))
    yield _Batch(pending)


def _needs_network(interval: _Interval) -> bool:
    return interval.mode == "interpolate" and any(0 < t < 1 for t in interval.times)


def _prepare(batch: _Batch, interpolator: Interpolator, stats: RetimeStats) -> _Batch:
    """The batch's network pairs as tensors, and their flow (the part that can run ahead of the network)."""
    started = time.perf_counter()
    batch.jobs = [i for i, interval in enumerate(batch.intervals) if _needs_network(interval)]
    if batch.jobs:
        batch.frame0 = from_uint8(np.stack([batch.intervals[i].frame0 for i in batch.jobs]))
        batch.frame1 = from_uint8(np.stack([batch.intervals[i].frame1 for i in batch.jobs]))
        batch.flows = interpolator.estimate_flows(batch.frame0, batch.frame1)
    stats.seconds["flow"] += time.perf_counter() - started
    return batch


def _flush(
    batch: _Batch, interpolator: Interpolator, stats: RetimeStats
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Interpolate a prepared batch in one batched pass and yield its output frames in order."""
    pending, jobs = batch.intervals, batch.jobs
    made: dict[tuple[int, Fraction], np.ndarray] = {}
    if jobs:
        started = time.perf_counter()
        wanted = [[t for t in pending[i].times if 0 < t < 1] for i in jobs]
        computed = interpolator.interpolate_dyadic(batch.frame0, batch.frame1, wanted, flows=batch.flows)
        stats.network_midpoints += sum(len(frames) for frames in computed)
        keys = [(i, t) for i, times in zip(jobs, wanted, strict=False) for t in times]
        if keys:
            arrays = to_uint8(torch.stack([computed[jobs.index(i)][t] for i, t in keys]))
            made = dict(zip(keys, arrays, strict=False))
        stats.seconds["inference"] += time.perf_counter() - started
    for i, interval in enumerate(pending):
        for t in interval.times:
            stats.frames_out += 1
            if t == 1:
                yield interval.frame1, interval.frame0
            elif (i, t) in made:
                stats.interpolated += 1
                yield made[(i, t)], interval.frame0
            else:  # t == 0, a scene cut, a static pair or the held tail: repeat the frame before
                yield interval.frame0, interval.frame0
