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


def test_any_whole_factor_from_2_to_1024_lands_on_exact_times():
    retiming = ConstantRateRetiming.for_factor(3)
    assert retiming.max_depth is None and retiming.max_error == 0
    assert [retiming.snap(retiming.position(k)) for k in range(4)] == [
        (0, 0), (0, Fraction(1, 3)), (0, Fraction(2, 3)), (1, 0),
    ]  # fmt: skip
    assert ConstantRateRetiming.for_factor(1024).ratio == 1024
    for factor in (0, 1, 2048):
        with pytest.raises(OptionError, match=f"factor {factor}: must be a whole number") as caught:
            ConstantRateRetiming.for_factor(factor)
        assert caught.value.parameter == "factor"


def test_a_model_that_makes_only_the_middle_needs_a_power_of_two():
    assert ConstantRateRetiming.for_factor(8, any_time=False).max_depth == 3
    assert ConstantRateRetiming.for_factor(1024, any_time=False).max_depth == 10
    for factor in (3, 6, 1000):
        with pytest.raises(OptionError, match=f"factor {factor}: this model makes only the middle frame"):
            ConstantRateRetiming.for_factor(factor, any_time=False)


@pytest.mark.parametrize(
    "fps_in,fps_out",
    [(Fraction(25), Fraction(60)), (Fraction(24000, 1001), Fraction(60)), (Fraction(24), Fraction(60))],
)
def test_exact_times_have_no_timing_error(fps_in, fps_out):
    retiming = ConstantRateRetiming.for_fps(fps_in, fps_out, max_depth=None)
    assert retiming.max_error == 0
    for index in range(300):
        position = retiming.position(index)
        interval, t = retiming.snap(position)
        assert 0 <= t < 1 and interval + t == position == index * fps_in / fps_out
        assert retiming.error(position, interval, t) == 0


def test_variable_rate_exact_times_fill_a_gap_with_no_error():
    timeline = VariableRateRetiming(
        ConstantRateRetiming.for_fps(Fraction(25), Fraction(60), None), Fraction(25)
    )
    slots = [0, 1, 2, 9, 10]  # a 7-slot stall after frame 2
    for slot in slots:
        timeline.add(Fraction(slot, 25), Fraction(1, 25))
    timeline.finish()
    for k in range(26):  # 11 slots at 60/25
        position = timeline.position(k)
        interval, t = timeline.snap(position)
        shown = slots[interval] + t * ((slots + [11])[interval + 1] - slots[interval])
        assert shown == Fraction(k * 25, 60)
        assert timeline.error(position, interval, t) == 0
    assert timeline.max_error == 0 and timeline.gaps == 1


def test_variable_rate_retiming_fills_a_gap_within_half_an_output_frame():
    timeline = VariableRateRetiming(ConstantRateRetiming.for_factor(2, any_time=False), Fraction(30))
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
    timeline = VariableRateRetiming(ConstantRateRetiming.for_factor(2, any_time=False), Fraction(30))
    for slot in (0, 1, 31, 32):  # a 1 s stall: 60 output frames, more than MAX_FILLED_OUTPUTS
        timeline.add(Fraction(slot, 30))
    timeline.finish()
    snapped = [timeline.snap(timeline.position(k)) for k in range(66)]
    assert snapped[2:62] == [(1, Fraction(0))] * 60  # frame 1 held until frame 2's time
    assert snapped[62] == (2, Fraction(0)) and snapped[63] == (2, Fraction(1, 2))
    assert timeline.held == 1 and timeline.gaps == 1
