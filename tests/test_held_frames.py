"""Held frames (a cadence): retime drops the copies and interpolates between the real steps.

The clips are a low-contrast texture panned 12 px a real step (scene scores of ~10 grey
levels, under the cut level), each step held for a number of frames: 2:2, 3:2 pulldown,
2:3:3:2 and irregular holds. 12 px a step puts the true frame of every ×2 output position
in a span of 2 or 3 frames on a whole pixel, so it is a crop of the canvas.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import sepgan.retime
from sepgan.interpolator import Interpolator
from sepgan.jobs import JobResult
from sepgan.retime import RetimeStats, Window, retime
from sepgan.segments import CONTEXT_FRAMES
from sepgan.timing import ConstantRateRetiming
from synthetic import AverageGenerator, moving_frames, texture

STEP = 12  # pixels the view moves a real step
HEIGHT, WIDTH = 48, 64
CADENCES = {
    "2:2": [2] * 6,
    "3:2": [3, 2] * 3,
    "2:3:3:2": [2, 3, 3, 2, 2, 3],
    "irregular": [2, 1, 3, 1, 2, 3, 1],
}


class Cadence:
    """A pan whose real step ``k`` is shown for ``holds[k]`` frames (uint8 H×W×3)."""

    def __init__(self, holds: list[int]) -> None:
        canvas = texture(HEIGHT, WIDTH + STEP * (len(holds) + 1), seed=5, detail=24)
        self.canvas = (canvas * 0.25 + 96).astype(np.uint8)  # scene scores under the cut level
        self.holds = holds
        self.starts = [int(s) for s in np.cumsum([0, *holds[:-1]])]  # each real step's first frame
        self.frames = [self.view(STEP * k) for k, hold in enumerate(holds) for _ in range(hold)]

    def view(self, left: int) -> np.ndarray:
        return self.canvas[:, left : left + WIDTH].copy()

    def true_frame(self, position: Fraction) -> np.ndarray:
        """The even motion at an input position: the view between the real steps around it."""
        k = max(i for i, start in enumerate(self.starts) if start <= position)
        left = STEP * (k + (position - self.starts[k]) / self.holds[k])
        assert left.denominator == 1
        return self.view(int(left))


def run(frames, interpolator, stats=None, window=None, factor=2):
    retiming = ConstantRateRetiming.for_factor(factor, any_time=interpolator.any_time)
    made = retime(frames, interpolator, retiming, hold_tail=False, stats=stats, window=window)
    return [frame for frame, _ in made]


@pytest.fixture(scope="module")
def ours():
    return Interpolator.from_pretrained(device="cpu")  # flow-ensemble: any time, reads neighbours


@pytest.mark.parametrize("name", CADENCES)
def test_a_cadence_is_interpolated_between_its_real_steps_without_a_freeze(name, ours):
    clip = Cadence(CADENCES[name])
    stats = RetimeStats()
    made = run(clip.frames, ours, stats)
    count = len(clip.frames)
    assert len(made) == 2 * count - 1 and stats.frames_out == len(made)  # the output timeline is kept
    # Every hold but the last (nothing moves after it) is dropped: its copies counted.
    assert stats.held_frames == sum(hold - 1 for hold in clip.holds[:-1])
    assert stats.static_pairs == clip.holds[-1] - 1 and stats.scene_cuts == 0
    moving = 2 * clip.starts[-1]  # output frames up to the last real step
    for k in range(moving):
        assert np.abs(made[k + 1].astype(int) - made[k]).max() > 3, f"frame {k + 1} repeats frame {k}"
    for k in range(moving + 1):
        true = clip.true_frame(Fraction(k, 2))
        error = np.abs(made[k][:, STEP:-STEP].astype(int) - true[:, STEP:-STEP])  # entering edge aside
        assert error.mean() < 1 and np.percentile(error, 99) <= 2, f"frame {k}"


def test_equal_spans_read_their_neighbours_and_unequal_ones_stay_linear(ours):
    stats = RetimeStats()
    run(Cadence(CADENCES["2:2"]).frames, ours, stats)
    assert stats.accelerated_pairs == 5  # the five spans of 2, each beside another
    stats = RetimeStats()
    run(Cadence([3, 2, 3]).frames, ours, stats)
    assert stats.accelerated_pairs == 0  # 3 then 2: constant acceleration needs even steps


def test_a_bisecting_model_gets_dyadic_times_in_a_span_of_three():
    model = AverageGenerator(any_time=False)
    stats = RetimeStats()
    clip = Cadence([3, 2, 3])
    made = run(clip.frames, Interpolator(model, device="cpu"), stats)
    assert len(made) == 2 * len(clip.frames) - 1 and stats.held_frames == 3
    # ×2 bisects once (max_depth 1): in a span of three, t = 1/6, 1/3, 2/3, 5/6 snap to eighths (1 + 2
    # levels), 1/24 of the span off, 1/8 of an input interval: within half a step, 1/4, as elsewhere.
    assert stats.max_error == Fraction(1, 8)


def test_a_still_clip_and_a_pause_keep_the_output_without_held_frames(ours, monkeypatch):
    still = [moving_frames(1, HEIGHT, WIDTH)[0]] * 6
    pan = Cadence([1] * 12).frames
    paused = pan[:5] + [pan[5]] * 5 + pan[6:]  # five equal frames: a pause, not a hold
    outputs = {}
    for name, frames in (("still", still), ("paused", paused)):
        stats = RetimeStats()
        outputs[name] = run(frames, ours, stats)
        assert stats.held_frames == 0
    monkeypatch.setattr(sepgan.retime, "MAX_HELD_FRAMES", 1)  # no run is ever a hold: as before
    for name, frames in (("still", still), ("paused", paused)):
        before = run(frames, ours)
        assert all(np.array_equal(a, b) for a, b in zip(outputs[name], before, strict=True)), name
    assert all(np.array_equal(frame, paused[5]) for frame in outputs["paused"][10:18])  # it stays still


@pytest.mark.parametrize("bounds", [(5, 10), (6, 9), (4, 11)])
def test_segments_cut_inside_held_runs_make_the_one_pass_frames(ours, bounds):
    frames = Cadence(CADENCES["2:3:3:2"] + [2, 2]).frames  # 19 frames
    whole = run(frames, ours)
    parts = []
    firsts, ends = (0, *bounds), (*bounds, None)
    for first, end in zip(firsts, ends, strict=True):
        first_frame = max(0, first - CONTEXT_FRAMES)
        last = len(frames) if end is None else end + CONTEXT_FRAMES + 1
        stats = RetimeStats()
        parts += run(frames[first_frame:last], ours, stats, Window(first_frame, first, end))
    assert len(parts) == len(whole)
    assert all(np.array_equal(a, b) for a, b in zip(parts, whole, strict=True))


def test_the_report_line_counts_held_frames():
    stats = RetimeStats(frames_in=12, frames_out=23, interpolated=17, held_frames=5)
    result = JobResult(output="out.mkv", kind="video", stats=stats)
    assert result.summary().endswith("0 scene cuts, 0 static pairs, 5 held frames")
    assert "held" not in JobResult(output="out.mkv", kind="video", stats=RetimeStats()).summary()
