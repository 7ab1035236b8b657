"""Output timing: the constant-rate and variable-rate retiming plans (sepgan.timing), no model needed."""

from __future__ import annotations

from fractions import Fraction

import pytest

from sepgan.options import OptionError
from sepgan.timing import ConstantRateRetiming, VariableRateRetiming


@pytest.mark.parametrize(
    "fps_in,fps_out,exact",
    [
        (Fraction(24), Fraction(60), False),
        (Fraction(25), Fraction(50), True),
        (Fraction(30), Fraction(60), True),
        (Fraction(60), Fraction(120), True),
        (Fraction(60000, 1001), Fraction(120000, 1001), True),
    ],
)
def test_target_fps_snaps_to_the_nearest_dyadic_point(fps_in, fps_out, exact):
    retiming = ConstantRateRetiming.for_fps(fps_in, fps_out, max_depth=3)
    worst = Fraction(0)
    for index in range(200):
        position = retiming.position(index)
        assert position == index * fps_in / fps_out
        interval, t = retiming.snap(position)
        assert 0 <= t <= 1 and (t * 8).denominator == 1
        worst = max(worst, abs(position - interval - t))
    assert worst <= retiming.max_error <= Fraction(1, 16)
    assert (worst == 0) == exact


def test_factor_must_be_a_power_of_two_from_2_to_1024():
    assert ConstantRateRetiming.for_factor(8).max_error == 0
    assert ConstantRateRetiming.for_factor(1024).max_depth == 10
    for factor in (0, 1, 3, 2048):
        with pytest.raises(OptionError, match=f"factor {factor}: must be a power of two") as caught:
            ConstantRateRetiming.for_factor(factor)
        assert caught.value.parameter == "factor"


def test_variable_rate_retiming_fills_a_gap_within_half_an_output_frame():
    timeline = VariableRateRetiming(ConstantRateRetiming.for_factor(2), Fraction(30))
    slots = [0, 1, 2, 15, 16]  # a 13-slot (0.433 s) stall after frame 2
    for slot in slots:
        timeline.add(Fraction(slot, 30) + Fraction(7, 10), Fraction(1, 30))  # the clip starts at 0.7 s
    timeline.finish()
    worst = Fraction(0)
    for k in range(34):  # 17 slots × 2
        position = timeline.position(k)
        interval, t = timeline.snap(position)
        shown = slots[interval] + t * ((slots + [17])[interval + 1] - slots[interval])  # slot actually shown
        worst = max(worst, abs(shown - Fraction(k, 2)))
        assert timeline.error(position, interval, t) == abs(shown - Fraction(k, 2))
    assert timeline.position(34) >= len(slots)  # the end: 17 slots, as the last frame lasts one
    assert worst <= Fraction(1, 4)  # half an output frame, in input slots
    assert worst > 0 and timeline.gaps == 1 and timeline.longest == 13


def test_variable_rate_retiming_holds_a_gap_too_long_to_fill():
    timeline = VariableRateRetiming(ConstantRateRetiming.for_factor(2), Fraction(30))
    for slot in (0, 1, 31, 32):  # a 1 s stall: 60 output frames, more than MAX_FILLED_OUTPUTS
        timeline.add(Fraction(slot, 30))
    timeline.finish()
    snapped = [timeline.snap(timeline.position(k)) for k in range(66)]
    assert snapped[2:62] == [(1, Fraction(0))] * 60  # frame 1 held until frame 2's time
    assert snapped[62] == (2, Fraction(0)) and snapped[63] == (2, Fraction(1, 2))
    assert timeline.held == 1 and timeline.gaps == 1
