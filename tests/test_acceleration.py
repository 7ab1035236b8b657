"""Constant-acceleration motion through four frames (sepgan.flow.flows_at_time with neighbours)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

from sepgan.evaluation.benchmarks import open_benchmark
from sepgan.evaluation.methods import AverageMethod, OursMethod
from sepgan.flow import backward_warp, blend_at_time, ensemble_warps, flows_at_time, neighbour_flows
from sepgan.interpolator import Interpolator
from sepgan.media.frames import from_uint8, to_uint8
from sepgan.models import create_model
from sepgan.retime import RetimeStats, retime
from sepgan.timing import ConstantRateRetiming
from synthetic import moving_frames, texture, write_frame_folder

# The view window's left edge at time k, in constant acceleration. SLOW (8, 8): the picture moves
# by 4, 12 and 20 px over three intervals, and by 5 px (not the linear 6) to t = ½. FAST (32, 32):
# whole pixels at every quarter (9, 20, 33 px into a 48 px interval; linear: 12, 24, 36).
SLOW, FAST = (8, 8), (32, 32)


def window_left(k: float, motion: tuple[int, int] = SLOW) -> float:
    velocity, acceleration = motion
    return velocity * k + acceleration * k * k / 2


def accelerating_pan(
    times: list[float], height: int = 64, width: int = 96, motion: tuple[int, int] = SLOW
) -> list[np.ndarray]:
    """Frames of a texture seen through a window at ``window_left(k)`` (integers at these times)."""
    lefts = [window_left(k, motion) for k in times]
    assert all(left == int(left) for left in lefts)
    origin = -int(min(lefts))
    canvas = texture(height, width + origin + int(max(lefts)) + 1, seed=3)
    return [canvas[:, origin + int(left) : origin + int(left) + width].copy() for left in lefts]


def constant(flow_x: float, height: int, width: int) -> torch.Tensor:
    """A 1×2×H×W flow of ``flow_x`` pixels to the right everywhere."""
    flow = torch.zeros(1, 2, height, width)
    flow[:, 0] = flow_x
    return flow


def pair_flows(step: float, height: int, width: int) -> torch.Tensor:
    """The exact ``cat(flow01, flow10)`` of a pair whose window moved ``step`` px (content moves −step)."""
    return torch.cat([constant(-step, height, width), constant(step, height, width)], dim=1)


def test_neighbours_at_constant_velocity_give_the_linear_flows():
    generator = torch.Generator().manual_seed(0)
    flows = 4 * torch.nn.functional.interpolate(
        torch.randn(2, 4, 6, 8, generator=generator), size=(24, 32), mode="bilinear"
    )
    linear_neighbours = torch.cat([-flows[:, :2], -flows[:, 2:]], dim=1)
    for t in (0.25, 0.5, 0.75):
        for iterations in (0, 1, 2):
            expected = flows_at_time(flows, t, iterations)
            got = flows_at_time(flows, t, iterations, neighbours=linear_neighbours)
            for a, b in zip(expected, got, strict=True):
                assert torch.allclose(a, b, atol=1e-4)
    # and a missing neighbour is exactly that constant-velocity value
    assert torch.equal(neighbour_flows(flows, None, None), linear_neighbours)


@pytest.mark.parametrize("t", [Fraction(1, 2), Fraction(1, 4), Fraction(3, 4)])
def test_a_constant_acceleration_pan_is_rebuilt_exactly_and_linear_motion_is_not(t):
    k = float(t)
    frames = accelerating_pan([-1, 0, k, 1, 2], width=160, motion=FAST)
    frame0, frame1 = from_uint8(frames[1])[None], from_uint8(frames[3])[None]
    height, width = frame0.shape[-2:]

    def step(a: float, b: float) -> float:
        return window_left(b, FAST) - window_left(a, FAST)

    flows = pair_flows(step(0, 1), height, width)
    neighbours = neighbour_flows(
        flows, pair_flows(step(-1, 0), height, width), pair_flows(step(1, 2), height, width)
    )
    inner = (slice(8, -8), slice(56, -56))  # away from what enters at the edges

    def error(neighbours: torch.Tensor | None) -> float:
        warped0, warped1 = ensemble_warps(frame0, frame1, flows, k, 1, neighbours=neighbours)
        made = blend_at_time(warped0, warped1, k)
        return float(np.abs(to_uint8(made)[0].astype(float) - frames[2])[inner].max())

    assert error(neighbours) <= 1.0  # within a grey level of the truth everywhere inside
    assert error(None) > 20.0  # linear motion puts the picture 3–4 px off: far off on a texture


def test_a_neighbour_flow_that_fails_its_round_trip_is_replaced_by_constant_velocity():
    flows = pair_flows(12, 16, 16)
    consistent = pair_flows(4, 16, 16)
    broken = torch.cat([constant(-4, 16, 16), constant(-4, 16, 16)], dim=1)  # round trip: 8 px
    # The window moved 4 then 12 px: acceleration −8 px at frame0. No frame after: 0 at frame1.
    # The two sides share the mean, −4, so frame0's flow to the frame before is −4 − flow01 = 8.
    kept = neighbour_flows(flows, consistent, None)
    assert torch.allclose(kept[:, :2], constant(8, 16, 16), atol=1e-5)
    assert torch.allclose(kept[:, 2:], constant(-16, 16, 16), atol=1e-5)  # −4 − flow10
    # A broken neighbour counts as no neighbour: alone, or beside a good one.
    assert torch.allclose(neighbour_flows(flows, consistent, broken), kept, atol=1e-5)
    replaced = neighbour_flows(flows, broken, broken)
    assert torch.equal(replaced[:, :2], -flows[:, :2])
    assert torch.equal(replaced[:, 2:], -flows[:, 2:])
    with pytest.raises(ValueError, match="do not match"):
        neighbour_flows(flows, pair_flows(4, 8, 8), None)


def test_both_sides_share_one_acceleration():
    # Steps of 4, 12 and 16 px: acceleration −8 px at frame0 (from 4, 12) and −4 at frame1
    # (from 12, 16), where constant acceleration would have them equal. Both sides use −6.
    flows = pair_flows(12, 16, 16)
    neighbours = neighbour_flows(flows, pair_flows(4, 16, 16), pair_flows(16, 16, 16))
    acceleration0 = flows[:, :2] + neighbours[:, :2]
    acceleration1 = flows[:, 2:] + neighbours[:, 2:]
    assert torch.allclose(acceleration0, constant(-6, 16, 16), atol=1e-5)
    assert torch.allclose(acceleration1, constant(-6, 16, 16), atol=1e-5)
    # ... read where each point lands, so a moving object keeps its own acceleration: frame1's
    # estimate for frame0's left half sits 12 px to the left in frame1.
    generator = torch.Generator().manual_seed(1)
    varying = pair_flows(12, 16, 48)
    after = pair_flows(12, 16, 48) + 0.2 * torch.randn(1, 4, 16, 48, generator=generator)
    shared = neighbour_flows(varying, None, after)
    read0 = backward_warp(varying[:, 2:] + shared[:, 2:], varying[:, :2])
    inner = (..., slice(2, -2), slice(16, -2))
    assert torch.allclose((varying[:, :2] + shared[:, :2])[inner], read0[inner], atol=1e-4)


def test_video_pairs_read_their_neighbours_and_a_bisecting_model_does_not():
    frames = moving_frames(6, 48, 64, shift=(0, 2))
    for bisect, expected in ((False, 5), (True, 0)):
        interpolator = Interpolator.from_pretrained(device="cpu", bisect=bisect)
        stats = RetimeStats()
        made = list(
            retime(frames, interpolator, ConstantRateRetiming.for_factor(2), hold_tail=False, stats=stats)
        )
        assert len(made) == 11
        assert stats.accelerated_pairs == expected
    flow_model = Interpolator(create_model("flow-sepconv-tiny"), device="cpu")
    assert not flow_model.reads_neighbours  # its network makes middles from two frames


def test_evaluation_gives_a_frame_folder_pair_its_kept_neighbours(tmp_path):
    frames = accelerating_pan([-1, -0.5, 0, 0.5, 1, 1.5, 2], height=64, width=128)
    benchmark = open_benchmark(write_frame_folder(tmp_path / "pan", frames))
    samples = list(benchmark)
    assert [s.context is not None for s in samples] == [True, True, True]
    before, after = samples[1].context()
    assert before is not None and np.array_equal(before, frames[0])
    assert after is not None and np.array_equal(after, frames[6])
    assert samples[0].context()[0] is None and samples[2].context()[1] is None
    # A two-frame method ignores the context; ours reads it: on this pan it lands nearer the truth.
    frame0, frame1, (truth,) = samples[1].load_group()
    average = AverageMethod()
    assert np.array_equal(
        average.at_times_in_video(frame0, frame1, [Fraction(1, 2)], *samples[1].context())[0],
        average(frame0, frame1),
    )
    ours = OursMethod()
    ours.setup()
    with_context = ours.at_times_in_video(frame0, frame1, [Fraction(1, 2)], *samples[1].context())[0]
    alone = ours(frame0, frame1)
    inner = (slice(8, -8), slice(24, -24))

    def error(made: np.ndarray) -> float:
        return float(np.abs(made.astype(float) - truth)[inner].mean())

    assert error(with_context) < 0.7 * error(alone)  # measured: 5.7 against 11.1 grey levels
