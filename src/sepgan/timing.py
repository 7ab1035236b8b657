"""Output timing: which input time each output frame shows, exactly or snapped to the dyadic
points a bisecting model can make.

An output frame ``k`` sits at an input *position*: a frame index plus a
fraction of the interval after it (frame 0 at position 0). A plan maps ``k``
to its position and turns the position into ``(interval, t)``, ``t`` a
Fraction in [0, 1]. With ``max_depth=None`` t is the exact time, for models
that warp to any time (:attr:`sepgan.interpolator.Interpolator.any_time`):
the timing error is 0. With a ``max_depth`` t is snapped to a dyadic
Fraction ``m / 2^d``, because recursive bisection
(:meth:`sepgan.interpolator.Interpolator.interpolate_dyadic`) makes frames at
those times only. Two plans, one interface (:class:`Retiming`):

* :class:`ConstantRateRetiming`: the input's frames are evenly spaced (a frame
  folder, a raw stream). Output frame ``k`` sits at ``k · fps_in / fps_out``
  (exact rationals). Snapped, it takes the nearest dyadic point with
  denominator at most ``2^max_depth``, so the timing error is at most half a
  step, ``1 / 2^(max_depth + 1)`` of an input frame interval (2.6 ms for 24 fps
  input with max_depth = 3), and exactly zero when ``fps_out / fps_in`` is a
  power of two (×2, ×4, ×8).
* :class:`VariableRateRetiming`: the input's frames sit at their own
  timestamps (video), so variable-rate input (a phone clip with a 0.4 s stall)
  gives output at the full rate whose timestamps follow the input's, with the
  gaps interpolated.

:func:`sepgan.retime.retime` runs a plan; the defaults and ranges of ``factor``
and ``max_depth`` are :mod:`sepgan.options`'. Nothing here imports torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

from sepgan.options import DEFAULT_MAX_DEPTH, check_dyadic_factor, check_factor, check_max_depth

__all__ = ["MAX_FILLED_OUTPUTS", "ConstantRateRetiming", "Retiming", "VariableRateRetiming", "is_dyadic"]


def is_dyadic(t: Fraction) -> bool:
    """Whether ``t`` is m/2^d, a time that recursive bisection reaches (the only times a model that
    makes t = ½ alone can make)."""
    denominator = Fraction(t).denominator
    return not denominator & (denominator - 1)


class Retiming(Protocol):
    """What :func:`sepgan.retime.retime` needs of a plan; times in input frame intervals."""

    ratio: Fraction  # fps_out / fps_in
    max_depth: int | None  # None: exact times

    def position(self, index: int) -> Fraction:
        """The input position of output frame ``index``."""
        ...

    def snap(self, position: Fraction) -> tuple[int, Fraction]:
        """``(interval, t)`` for ``position``: t a Fraction in [0, 1] (dyadic unless exact)."""
        ...

    def error(self, position: Fraction, interval: int, t: Fraction) -> Fraction:
        """Timing error of showing ``(interval, t)`` for ``position``."""
        ...

    def first_output(self, index: int) -> int:
        """The first output frame at or after input frame ``index`` (whose time is known): the
        number of output frames before it. A segment that starts there numbers its frames from it."""
        ...

    @property
    def max_error(self) -> Fraction:
        """Worst-case timing error."""
        ...


@dataclass(frozen=True)
class ConstantRateRetiming:
    """Input frames evenly spaced (frame folders, streams without timestamps): output index → position.

    ``ratio`` is ``fps_out / fps_in`` as an exact :class:`~fractions.Fraction`.
    Output frame ``k`` sits at input position ``k / ratio`` (frame index units,
    frame 0 at position 0). :meth:`snap` returns ``(interval, t)`` with ``t`` the
    exact Fraction in [0, 1] (``max_depth=None``) or the nearest dyadic one with
    denominator at most ``2**max_depth``; the frame is then frame ``interval``
    (t = 0), frame ``interval + 1`` (t = 1) or the interpolation at ``t`` between them.
    """

    ratio: Fraction
    max_depth: int | None = DEFAULT_MAX_DEPTH

    def __post_init__(self) -> None:
        if self.ratio <= 0:
            raise ValueError(f"the frame-rate ratio must be positive, got {self.ratio}")
        if self.max_depth is not None:
            check_max_depth(self.max_depth)

    @classmethod
    def for_factor(cls, factor: int, any_time: bool = True) -> ConstantRateRetiming:
        """×factor, any integer from 2 (:func:`sepgan.options.check_factor`); every output lands
        exactly on its time.

        ``any_time=False`` (a model that makes only t = ½) needs a power of two,
        whose times are dyadic (:func:`sepgan.options.check_dyadic_factor`).
        """
        check_factor(factor)
        if any_time:
            return cls(Fraction(factor), None)
        check_dyadic_factor(factor)
        return cls(Fraction(factor), factor.bit_length() - 1)

    @classmethod
    def for_fps(
        cls, fps_in: Fraction, fps_out: Fraction, max_depth: int | None = DEFAULT_MAX_DEPTH
    ) -> ConstantRateRetiming:
        """``fps_in`` → ``fps_out``; ``max_depth=None`` for exact times (models that warp to any time)."""
        return cls(Fraction(fps_out) / Fraction(fps_in), max_depth)

    def position(self, index: int) -> Fraction:
        """Exact input position (in input frames) of output frame ``index``."""
        return index / self.ratio

    def snap(self, position: Fraction) -> tuple[int, Fraction]:
        interval = math.floor(position)
        if self.max_depth is None:
            return interval, position - interval
        steps = 2**self.max_depth
        # round() on a Fraction rounds half to even, which keeps the choice deterministic.
        return interval, Fraction(round((position - interval) * steps), steps)

    def error(self, position: Fraction, interval: int, t: Fraction) -> Fraction:
        """Timing error of showing ``(interval, t)`` for ``position``, in input frame intervals."""
        return abs(position - interval - t)

    def first_output(self, index: int) -> int:
        return math.ceil(index * self.ratio)

    @property
    def max_error(self) -> Fraction:
        """Worst-case timing error in input frame intervals (0 for exact times, or when the ratio is
        a power of two)."""
        if self.max_depth is None:
            return Fraction(0)
        numerator = self.ratio.numerator
        if (
            self.ratio.denominator == 1
            and numerator & (numerator - 1) == 0
            and numerator <= 2**self.max_depth
        ):
            return Fraction(0)
        return Fraction(1, 2 ** (self.max_depth + 1))


# The longest gap VariableRateRetiming interpolates, in output frames (0.53 s at 30 → 60 fps).
MAX_FILLED_OUTPUTS = 32


class VariableRateRetiming:
    """Input frames at their own timestamps (video; variable frame rate followed): output index → input
    position.

    Times are counted in *slots*, frames of the nominal input rate ``fps``
    (:func:`sepgan.media.fps.nominal_fps`), from the first frame. Output frame k
    sits at slot ``k / ratio`` whatever the input does, so output timestamps
    follow the input's: across a stall (a 0.4 s gap between two frames) the
    output goes on at its own rate, and the frames in the gap are interpolated
    between the two frames around it (or hold the first, across a scene cut).
    A timestamp within 1 ms (at most 1/8 slot) of a whole slot is taken as that
    slot, so constant-rate input, Matroska's millisecond timestamps included,
    gives exactly :class:`ConstantRateRetiming`'s positions. Within a gap of L slots the time
    is snapped to a finer dyadic grid (``max_depth + ⌈log2 L⌉``, at most 10),
    so the timing error stays ≤ 1/2^(max_depth + 1) slot, as between regular frames;
    with ``max_depth=None`` times are exact everywhere and the error is 0.
    A gap of more than :data:`MAX_FILLED_OUTPUTS` output frames is not
    interpolated: its frames hold the frame before, as a player shows a stall
    (filling it would hold that many frames in memory at once); ``held`` counts them.

    :meth:`add` records each input frame's timestamp as it is decoded (before
    :func:`retime` sees the frame); :meth:`finish` the end of the last one.
    Only the timestamps from the current interval on are kept. A segment of a
    longer video (:mod:`sepgan.segments`) starts at frame ``first_index`` and
    gives ``first_time``, the video's first frame's time, so that its slots are
    the whole video's; ``counted`` limits ``gaps``/``held``/``longest`` to its own intervals.
    """

    def __init__(
        self,
        retiming: ConstantRateRetiming,
        fps: Fraction,
        *,
        first_time: Fraction | None = None,
        first_index: int = 0,
        counted: tuple[int, int | None] = (0, None),
    ) -> None:
        self.ratio, self.max_depth = retiming.ratio, retiming.max_depth
        self.fps = Fraction(fps)
        self._base_max_error = retiming.max_error
        # A segment of a longer video starts at input frame first_index; its slots still count from
        # the video's first frame, whose time (seconds) is first_time.
        self._first: Fraction | None = first_time  # the first frame's time, seconds
        self._slots: list[Fraction] = []  # slots of frames _offset, _offset + 1, ...
        self._offset = first_index
        self._added = 0  # frames added so far
        self._first_index = first_index
        self._counted = counted  # the intervals [first, end) whose gaps count (a segment's own)
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
        interval = self._first_index + self._added - 1  # the interval this frame ends
        first, end = self._counted
        if self._added and interval >= first and (end is None or interval < end):
            step = slot - self._last
            self.gaps += step > Fraction(3, 2)
            self.held += self._held(step)
            self.longest = max(self.longest, step)
        self._added += 1
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

    def first_output(self, index: int) -> int:
        return math.ceil(self._slots[index - self._offset] * self.ratio)

    def _held(self, length: Fraction) -> bool:
        return length * self.ratio > MAX_FILLED_OUTPUTS

    def snap(self, position: Fraction) -> tuple[int, Fraction]:
        interval = math.floor(position)
        _, length = self._interval(interval)
        if self._held(length):
            return interval, Fraction(0)  # the frame before, until the next one's time
        if self.max_depth is None:
            return interval, position - interval
        depth = self.max_depth + (math.ceil(math.log2(length)) if length > 1 else 0)
        steps = 2 ** min(10, depth)
        return interval, Fraction(round((position - interval) * steps), steps)

    def error(self, position: Fraction, interval: int, t: Fraction) -> Fraction:
        """Timing error in slots (input frames at the nominal rate); 0 in a held gap (the stall's own)."""
        length = self._interval(interval)[1]
        return Fraction(0) if self._held(length) else abs(position - interval - t) * length

    @property
    def max_error(self) -> Fraction:
        """Worst-case timing error in slots: :class:`ConstantRateRetiming`'s, or 1/2^(depth+1) once
        there are gaps."""
        if self.max_depth is None or not self.gaps:
            return self._base_max_error
        return Fraction(1, 2 ** (self.max_depth + 1))
