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
* **static** (no pixel differs by more than ``static_tolerance`` 8-bit levels,
  × 257 in uint16 frames): in-between frames repeat the frame without running the network;
* **held** (a cadence: film at 12–24 fps in a 25/30 fps container, animation on
  twos and threes, screen captures): a run of 2 to
  :data:`~sepgan.media.scenes.MAX_HELD_FRAMES` equal frames (static pairs)
  after a pair that is not static (or the input's first frame) and before one
  that is interpolated is one real step held. Its copies are dropped: the run's
  intervals and the moving pair after them make one *span* from the step to
  the next real step, and the output frames in it are interpolated between the
  two at their positions in the span, so the motion is even (no freeze, then a
  jump). Each real step keeps the time of its first frame, and positions inside
  a span are spread evenly over its input frames (a variable-rate input's
  uneven intervals inside a span are not followed). A longer still stretch is a
  pause and stays static; so does a whole still shot, and a hold at the end
  (nothing moves after it). ``stats.held_frames`` counts the copies. Limit: the
  cut rule's neighbours include the held copies (scores of 0), so in a 3:2
  cadence a real step scoring above ``scene_threshold`` can be judged a cut,
  and its hold then stays static;
* otherwise the wanted times are interpolated
  (:meth:`sepgan.interpolator.Interpolator.interpolate_at`): straight from the
  pair with its one flow estimate for a model that warps to any time, by
  recursive bisection (dyadic times) for one that makes only t = ½.

Each batch's flow (:meth:`sepgan.interpolator.Interpolator.estimate_flows`,
DIS on CPU threads for the flow-guided models) is computed before the batch
reaches the network. With ``flow_ahead`` that runs in a thread of its own
(``sepgan-flow``), one batch ahead: the next batch's flow is computed while the
network and warps run on the current one, and the output is the same bit for
bit. It then holds the flows of two batches at once (at 1080p with a four-way
ensemble, 133 MB per pair), and runs DIS while the network runs: the job turns
it off when its memory budget demands (:mod:`sepgan.memory`). After each
batch's flow and each batch's frames, freed memory is handed back to the
system (:func:`sepgan.memory.release_free_memory`).

Which output frame sits at which input time is a plan's job (:mod:`sepgan.timing`:
:class:`~sepgan.timing.ConstantRateRetiming`, or for video
:class:`~sepgan.timing.VariableRateRetiming`, which follows the input's timestamps:
a 0.4 s stall is filled at the output rate); the inputs
(a pair, a folder, a video) and the threads around this core are
:mod:`sepgan.jobs` and :mod:`sepgan.stages`. Frames are RGB H×W×3 arrays, uint8,
or uint16 for video of more than 8 bits per sample whose output keeps them
(:func:`sepgan.media.writer.frame_bits`); the frames made have the inputs' dtype,
and the judges (cuts, static pairs, DIS's grey) give the same verdicts at either depth.
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

from sepgan.borders import Borders, static_borders
from sepgan.errors import InterpolationError
from sepgan.flow import neighbour_flows
from sepgan.interpolator import Interpolator
from sepgan.media.colour import level_scale
from sepgan.media.frames import from_array, to_array
from sepgan.media.scenes import MAX_HELD_FRAMES, CutDetector, thumbnail
from sepgan.memory import release_free_memory
from sepgan.options import DEFAULT_SCENE_THRESHOLD, DEFAULT_STATIC_TOLERANCE
from sepgan.stages import ReadAhead
from sepgan.timing import Retiming

__all__ = ["RetimeStats", "Window", "is_static_pair", "retime"]


@dataclass
class RetimeStats:
    """Counters and timings filled in by :func:`retime` and the jobs.

    ``seconds`` holds the busy time of each stage; with overlap the stages run
    at the same time, so their sum exceeds the wall time. ``flow`` is the
    first-level flow of each batch (plus the batch's conversion to tensors);
    ``inference`` is the rest: the network, the warps, and the flow of deeper
    bisection levels (×4 and up, for models that make only t = ½).
    """

    frames_in: int = 0
    frames_out: int = 0
    interpolated: int = 0  # output frames made by the model
    network_midpoints: int = 0  # frames the model made, including intermediate bisection levels
    scene_cuts: int = 0
    static_pairs: int = 0
    held_frames: int = 0  # held copies of a real step, dropped (interpolated through: module docstring)
    accelerated_pairs: int = 0  # pairs whose motion read a neighbouring pair's flows (constant acceleration)
    max_error: Fraction = Fraction(0)  # in input frame intervals
    first_output: int | None = None  # the index of the first output frame made (a segment's first)
    seconds: dict[str, float] = field(
        default_factory=lambda: {"decode": 0.0, "flow": 0.0, "inference": 0.0, "encode": 0.0}
    )


@dataclass(frozen=True)
class Window:
    """One segment of a longer run (:mod:`sepgan.segments`), in input frame indices.

    ``frames`` starts at input frame ``first_frame``; the output frames of the intervals
    ``[first, end)`` are made (``end`` None: to the end, the held tail included). The
    frames before ``first`` and after ``end`` are context: the scene-cut rule looks
    :data:`~sepgan.media.scenes.CUT_NEIGHBOURS` pairs to each side, so with that many
    frames around it a segment's verdicts, and so its frames, are the whole run's. A held
    span (module docstring) that crosses ``first`` or ``end`` is judged from the context
    frames too, and each segment makes the span's output frames in its own intervals.
    """

    first_frame: int = 0
    first: int = 0
    end: int | None = None


@dataclass
class _Interval:
    index: int  # between input frames index and index + length
    frame0: np.ndarray
    frame1: np.ndarray
    times: list[Fraction]  # snapped time of each output frame in this interval, 0 ≤ t ≤ 1
    mode: str  # "interpolate", "cut", "static" or "hold" (the video's tail: the last frame repeated)
    length: int = 1  # input intervals spanned: more than 1 for a held run (the copies dropped)
    # Whether the pair runs the network: some time of the whole span is strictly inside (a segment
    # may make only part of a span's frames, but its flows are the whole run's neighbours).
    network: bool = False

    def __post_init__(self) -> None:
        self.network = self.network or (self.mode == "interpolate" and any(0 < t < 1 for t in self.times))


@dataclass(frozen=True)
class _PairFlows:
    """One pair's flows (1×4V×h×w) and the static borders of the crop they were computed on."""

    index: int  # the interval, between input frames index and index + length
    flows: torch.Tensor
    borders: Borders
    length: int = 1


@dataclass
class _Batch:
    """Intervals flushed together, with the network's inputs once :func:`_estimate_flows` has run."""

    intervals: list[_Interval]
    jobs: list[int] = field(default_factory=list)  # indices of the intervals that need the network
    frame0: torch.Tensor | None = None  # B×3×H×W, B = len(jobs)
    frame1: torch.Tensor | None = None
    flows: torch.Tensor | None = None  # Interpolator.estimate_flows of frame0, frame1
    borders: Borders = Borders()  # the static borders those flows were computed inside
    neighbours: torch.Tensor | None = None  # B×4V×h×w: sepgan.flow.neighbour_flows of each job
    # A segment's context (Window): the intervals just before its first and after its last, judged
    # as in the whole run, whose flows are the neighbours of its first and last pairs.
    context_before: _Interval | None = None
    context_after: _Interval | None = None
    flows_before: _PairFlows | None = None  # their flows, when they need the network
    flows_after: _PairFlows | None = None


def _classify(frame0: np.ndarray, frame1: np.ndarray, score: float, cut: bool, static_tolerance: int) -> str:
    """The interval's mode from the cut rule's verdict and the thumbnails' ``score`` (grey levels).

    ``static_tolerance`` is in 8-bit levels, × 257 for uint16 frames (:func:`level_scale`)."""
    if cut:
        return "cut"
    # The full-resolution check only runs when the thumbnails are (nearly) equal.
    if score < 1 and is_static_pair(frame0, frame1, static_tolerance):
        return "static"
    return "interpolate"


def is_static_pair(
    frame0: np.ndarray, frame1: np.ndarray, static_tolerance: int = DEFAULT_STATIC_TOLERANCE
) -> bool:
    """Whether no pixel of two H×W×3 frames (uint8, or uint16 at × 257) differs by more than
    ``static_tolerance`` 8-bit levels: a held frame, which the job repeats instead of interpolating."""
    wide = np.int16 if frame0.dtype == np.uint8 else np.int32  # room for the signed difference
    tolerance = static_tolerance * level_scale(frame0.dtype)
    return int(np.abs(frame0.astype(wide) - frame1).max()) <= tolerance


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
    stats.frames_in = 0
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


def _held_spans(
    judged: Iterable[tuple[np.ndarray, np.ndarray, str]], first_index: int
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray, str]]:
    """``(index, length, frame0, frame1, mode)`` for each judged pair, and one item for each held
    run with the pair after it (``length`` intervals from frame ``index``; module docstring).

    ``first_index`` is the index of the first frame (a segment's first context frame); the
    input's first frame (0) counts as motion before it. The verdict on a run waits for the
    pair after it, so at most :data:`MAX_HELD_FRAMES` pairs are held back.
    """
    run: list[tuple[int, np.ndarray, np.ndarray]] = []  # static pairs that may be a held run
    moved_before = first_index == 0  # the pair before the run is not static (or there is none)
    for index, (frame0, frame1, mode) in enumerate(judged, first_index):
        if mode == "static" and (run or moved_before) and len(run) < MAX_HELD_FRAMES - 1:
            run.append((index, frame0, frame1))
            continue
        if run and mode == "interpolate":  # a held run: its copies dropped
            yield run[0][0], len(run) + 1, run[0][1], frame1, mode
            run, moved_before = [], True
            continue
        for static in run:  # a pause, or a hold before a cut: as before
            yield static[0], 1, static[1], static[2], "static"
        run = []
        yield index, 1, frame0, frame1, mode
        moved_before = mode != "static"
    for static in run:  # a hold at the end: nothing moves after it
        yield static[0], 1, static[1], static[2], "static"


def retime(
    frames: Iterable[np.ndarray],
    interpolator: Interpolator,
    retiming: Retiming,
    *,
    hold_tail: bool,
    scene_threshold: float | None = DEFAULT_SCENE_THRESHOLD,
    static_tolerance: int = DEFAULT_STATIC_TOLERANCE,
    stats: RetimeStats | None = None,
    source: str = "input",
    flow_ahead: bool = False,
    window: Window | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(output frame, original frame shown at that time)`` for every output frame, in order.

    ``frames`` are RGB H×W×3 arrays of one size and dtype (uint8, or uint16: deeper video; the
    output frames made have it too). ``hold_tail`` extends the
    output to the end of the last frame's display time (videos); without it the
    output ends on the last input frame (frame folders). ``flow_ahead`` reads the
    frames and computes each batch's flow in a thread, one batch ahead of the
    network (module docstring). ``window`` makes one segment of a longer run
    (:class:`Window`): only its intervals' output frames, the same frames the
    whole run makes there; ``stats.first_output`` is then the index of its
    first. Raises :class:`InterpolationError` for fewer than two frames or a size change.
    """
    stats = stats if stats is not None else RetimeStats()
    batches = _batches(
        frames, interpolator, retiming, hold_tail=hold_tail, scene_threshold=scene_threshold,
        static_tolerance=static_tolerance, stats=stats, source=source, window=window or Window(),
    )  # fmt: skip
    with_flows: Iterator[_Batch] = (_estimate_flows(batch, interpolator, stats) for batch in batches)
    if interpolator.reads_neighbours:
        with_flows = _with_neighbours(with_flows, stats)
    if not flow_ahead:
        for batch in with_flows:
            yield from _flush(batch, interpolator, stats)
        return
    ahead = ReadAhead(with_flows, maxsize=1, name="sepgan-flow", lockstep=True)
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
    window: Window,
) -> Iterator[_Batch]:
    """The intervals in batches to flush together, the held tail (if any) last."""
    batch = max(1, interpolator.batch_size)
    next_output: int | None = None
    network_pairs = 0  # pending intervals that need the network
    previous: np.ndarray | None = None  # the second frame of the last judged pair: at the end, the last frame
    pending: list[_Interval] = []
    # A segment's context pairs next to its own, whose flows its first and last pairs' motion reads.
    context_before: _Interval | None = None
    context_after: _Interval | None = None
    judged = _judged_pairs(frames, scene_threshold, static_tolerance, stats, source)
    for index, length, frame0, frame1, mode in _held_spans(judged, window.first_frame):
        # The pair (index, index + length): one interval, or a held run's span.
        if window.end is not None and index >= window.end:
            # The context after the segment has been judged with it.
            if next_output is not None and interpolator.reads_neighbours:
                times = _span_times(retiming, next_output, index, length, RetimeStats())[0]
                context_after = _Interval(index, frame0, frame1, [t for _, t in times], mode, length)
            break
        if next_output is None:
            next_output = retiming.first_output(index)
        first_number = next_output
        times, next_output = _span_times(retiming, next_output, index, length, stats)
        own = [t for interval, t in times if _in_window(interval, window)]
        if index + length <= window.first:
            # Context before the segment: its output frames are the segment before's.
            if interpolator.reads_neighbours:
                context_before = _Interval(index, frame0, frame1, [t for _, t in times], mode, length)
            continue
        if stats.first_output is None:
            stats.first_output = first_number + sum(interval < window.first for interval, _ in times)
        stats.scene_cuts += mode == "cut"
        stats.static_pairs += mode == "static"
        stats.held_frames += sum(_in_window(i, window) for i in range(index, index + length - 1))
        span_network = mode == "interpolate" and any(0 < t < 1 for _, t in times)
        interval = _Interval(index, frame0, frame1, own, mode, length, span_network)
        pending.append(interval)
        network_pairs += _needs_network(interval)
        # Flush once a full batch needs the network; the cap bounds memory in long static runs.
        if network_pairs >= batch or len(pending) >= 4 * batch:
            yield _Batch(pending, context_before=context_before)
            pending, network_pairs, context_before = [], 0, None
        previous = frame1
    if window.end is not None:
        yield _Batch(pending, context_before=context_before, context_after=context_after)
        return
    count = stats.frames_in
    if count < 2 and not window.first_frame:
        raise InterpolationError(
            f"{source} has {count} frame{'s' if count != 1 else ''}; interpolation needs at least 2"
        )
    count += window.first_frame  # frames of the whole input
    last = count - 1
    assert next_output is not None  # two frames or more: one pair at least was judged
    if stats.first_output is None:
        stats.first_output = next_output
    held = []  # output times past the last frame: it is repeated
    while True:
        position = retiming.position(next_output)
        if position >= count if hold_tail else position > last:
            break
        held.append(Fraction(0))
        next_output += 1
    if held:
        pending.append(_Interval(last, previous, previous, held, "hold"))
    yield _Batch(pending, context_before=context_before)


def _output_times(
    retiming: Retiming, next_output: int, index: int, stats: RetimeStats
) -> tuple[list[Fraction], int]:
    """The times in interval ``index`` of the output frames from ``next_output`` on, and the next
    output frame after them; the worst timing error goes to ``stats``."""
    times = []
    while (position := retiming.position(next_output)) < index + 1:
        interval, t = retiming.snap(position)
        stats.max_error = max(stats.max_error, retiming.error(position, interval, t))
        times.append(t)
        next_output += 1
    return times, next_output


def _in_window(interval: int, window: Window) -> bool:
    """Whether the output frames of input interval ``interval`` are the window's own."""
    return interval >= window.first and (window.end is None or interval < window.end)


def _span_times(
    retiming: Retiming, next_output: int, index: int, length: int, stats: RetimeStats
) -> tuple[list[tuple[int, Fraction]], int]:
    """``(input interval, time in the span)`` of the output frames from ``next_output`` on in the
    ``length`` intervals from frame ``index`` (a held run's span, or one interval), and the next
    output frame after them; the worst timing error goes to ``stats``.

    In a span of L intervals the time of interval ``index + j`` at t is (j + t) / L: the positions
    spread evenly between the two real steps. A model that makes dyadic times only gets it snapped
    to a grid ⌈log2 L⌉ levels finer (at most 2^10 steps), as :class:`~sepgan.timing.VariableRateRetiming`
    does in a gap, so its error stays within half a step of the input interval.
    """
    if length == 1:
        times, next_output = _output_times(retiming, next_output, index, stats)
        return [(index, t) for t in times], next_output
    spread = []
    steps = (
        None
        if retiming.max_depth is None
        else 2 ** min(10, retiming.max_depth + math.ceil(math.log2(length)))
    )
    for interval in range(index, index + length):
        times, next_output = _output_times(retiming, next_output, interval, stats)
        for t in times:
            exact = (interval - index + t) / length
            span_t = exact if steps is None else Fraction(round(exact * steps), steps)
            stats.max_error = max(stats.max_error, abs(span_t - exact) * length)
            spread.append((interval, span_t))
    return spread, next_output


def _needs_network(interval: _Interval) -> bool:
    return interval.network


def _estimate_flows(batch: _Batch, interpolator: Interpolator, stats: RetimeStats) -> _Batch:
    """The batch's network pairs as tensors, and their flow (the part that can run ahead of the network)."""
    started = time.perf_counter()
    batch.jobs = [i for i, interval in enumerate(batch.intervals) if _needs_network(interval)]
    if batch.jobs:
        batch.frame0 = from_array(np.stack([batch.intervals[i].frame0 for i in batch.jobs]))
        batch.frame1 = from_array(np.stack([batch.intervals[i].frame1 for i in batch.jobs]))
        batch.flows = interpolator.estimate_flows(batch.frame0, batch.frame1)
        if interpolator.reads_neighbours:
            batch.borders = static_borders(batch.frame0, batch.frame1)
        release_free_memory()  # DIS's buffers, freed, back to the system (sepgan.memory)
    if interpolator.reads_neighbours:
        batch.flows_before = _context_flows(batch.context_before, interpolator)
        batch.flows_after = _context_flows(batch.context_after, interpolator)
        batch.context_before = batch.context_after = None
    stats.seconds["flow"] += time.perf_counter() - started
    return batch


def _context_flows(interval: _Interval | None, interpolator: Interpolator) -> _PairFlows | None:
    """A segment's context pair's flows, computed as the whole run computes them, when it needs them."""
    if interval is None or not _needs_network(interval):
        return None
    frame0, frame1 = from_array(interval.frame0[None]), from_array(interval.frame1[None])
    flows = interpolator.estimate_flows(frame0, frame1)
    return _PairFlows(interval.index, flows, static_borders(frame0, frame1), interval.length)


def _job_flows(batch: _Batch, position: int) -> _PairFlows | None:
    """The flows of the batch's job at ``position`` (−1: the last), or None when it has none."""
    if not batch.jobs or batch.flows is None:
        return None
    position = position % len(batch.jobs)
    interval = batch.intervals[batch.jobs[position]]
    return _PairFlows(interval.index, batch.flows[position : position + 1], batch.borders, interval.length)


def _with_neighbours(batches: Iterable[_Batch], stats: RetimeStats) -> Iterator[_Batch]:
    """The batches with each job's neighbour flows (:func:`sepgan.flow.neighbour_flows`).

    A pair's neighbours are the pairs just before and after it when those are
    interpolated too (not a cut, a static pair or the tail) and their flows were
    computed inside the same static borders; otherwise that side's motion stays
    linear. So each batch waits for the next one's flows: the flows of one more
    batch are held (:mod:`sepgan.memory` counts them). No DIS call is added,
    except for a segment's two context pairs (:class:`Window`).
    """
    before: _PairFlows | None = None  # the last job of the batch before
    waiting: _Batch | None = None
    for batch in batches:
        if waiting is not None:
            last = _job_flows(waiting, -1) if waiting.intervals else before or waiting.flows_before
            # A batch without intervals (a segment's end, right after a full batch) still carries
            # the flows of the segment's context pair after.
            after = _job_flows(batch, 0) if batch.intervals else batch.flows_after
            yield _attach_neighbours(waiting, before, after, stats)
            before = last
        waiting = batch
    if waiting is not None:
        yield _attach_neighbours(waiting, before, None, stats)


def _attach_neighbours(
    batch: _Batch, before: _PairFlows | None, after: _PairFlows | None, stats: RetimeStats
) -> _Batch:
    if not batch.jobs or batch.flows is None:
        return batch
    before = before if before is not None else batch.flows_before
    after = after if after is not None else batch.flows_after
    pairs = [_job_flows(batch, position) for position in range(len(batch.jobs))]
    items = []
    for position, pair in enumerate(pairs):
        assert pair is not None
        previous = pairs[position - 1] if position > 0 else before
        following = pairs[position + 1] if position + 1 < len(pairs) else after
        flows_before = _adjacent(pair, previous, -1)
        flows_after = _adjacent(pair, following, 1)
        stats.accelerated_pairs += flows_before is not None or flows_after is not None
        items.append(neighbour_flows(pair.flows, flows_before, flows_after))
    batch.neighbours = torch.cat(items)
    batch.flows_before = batch.flows_after = None
    return batch


def _adjacent(pair: _PairFlows, other: _PairFlows | None, step: int) -> torch.Tensor | None:
    """``other``'s flows if it is the pair just before (``step`` −1) or after (1), as long as
    ``pair`` (held spans: constant acceleration needs evenly spaced steps), computed inside the
    same borders."""
    if other is None or other.borders != pair.borders or other.length != pair.length:
        return None
    if (other.index + other.length if step < 0 else other.index) != (
        pair.index if step < 0 else pair.index + pair.length
    ):
        return None
    if other.flows.shape != pair.flows.shape:
        return None
    return other.flows


def _flush(
    batch: _Batch, interpolator: Interpolator, stats: RetimeStats
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Interpolate a batch with its flows in one batched pass and yield its output frames in order."""
    pending, jobs = batch.intervals, batch.jobs
    made: dict[tuple[int, Fraction], np.ndarray] = {}
    if jobs:
        started = time.perf_counter()
        wanted = [[t for t in pending[i].times if 0 < t < 1] for i in jobs]
        computed = interpolator.interpolate_at(
            batch.frame0, batch.frame1, wanted, flows=batch.flows, neighbours=batch.neighbours
        )
        stats.network_midpoints += sum(len(frames) for frames in computed)
        keys = [(i, t) for i, times in zip(jobs, wanted, strict=False) for t in times]
        if keys:
            made_frames = torch.stack([computed[jobs.index(i)][t] for i, t in keys])
            arrays = to_array(made_frames, pending[jobs[0]].frame0.dtype)  # the inputs' depth
            made = dict(zip(keys, arrays, strict=False))
        # The batch's tensors go now, not when the next batch replaces it: without flow-ahead the
        # next batch's DIS would otherwise run beside them (183 MB a 1080p pair).
        del computed
        batch.frame0 = batch.frame1 = batch.flows = batch.neighbours = None
        release_free_memory()  # the warps' and the network's temporaries
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
