"""sepgan.media.scenes: the one cut and fade rule, streaming and whole, and its users.

``interpolate`` (through :func:`sepgan.retime.retime`), ``prepare`` and ``--adapt``
all judge cuts by :class:`~sepgan.media.scenes.CutDetector`; these tests pin the
rule itself, that its streaming form equals the whole-sequence form, and that
``interpolate`` and ``prepare`` find the same cut in the same footage.
"""

from __future__ import annotations

import numpy as np
import pytest

from sepgan.media.reader import VideoReader
from sepgan.media.scenes import (
    CutDetector,
    is_fade,
    scene_cuts,
    scene_score,
    screen_triplet,
    thumbnail,
)
from sepgan.options import DEFAULT_SCENE_THRESHOLD
from synthetic import REAL_VIDEOS, faded, moving_frames, texture


def test_thumbnail_is_in_grey_levels_and_keeps_the_aspect():
    frame = np.full((288, 512, 3), 200, np.uint8)
    small = thumbnail(frame)
    assert small.shape == (36, 64) and small.dtype == np.float32
    assert np.allclose(small, 200.0)  # grey levels, not [0, 1]
    assert thumbnail(np.zeros((20, 30, 3), np.uint8)).shape == (20, 30)  # never enlarged


def test_a_cut_stands_out_from_motion():
    # 288×512 shrinks 8× to the thumbnail; a detailed texture moving 1 px a frame still changes it.
    frames = moving_frames(8, 288, 512, shift=(1, 1))
    other = moving_frames(8, 288, 512, shift=(1, 1), seed=7)
    same_shot = scene_score(thumbnail(frames[0]), thumbnail(frames[1]))
    cut = scene_score(thumbnail(frames[-1]), thumbnail(other[0]))
    assert scene_score(thumbnail(frames[0]), thumbnail(frames[0])) == 0
    assert same_shot < cut / 3 and cut > DEFAULT_SCENE_THRESHOLD
    assert scene_cuts(thumbnail(frame) for frame in frames + other) == [7]


def test_scene_cuts_finds_the_cut_and_not_the_pan():
    shot_a = moving_frames(8, 72, 96, shift=(0, 1), seed=1)
    shot_b = moving_frames(8, 72, 96, shift=(-1, 0), seed=2)
    assert scene_cuts(thumbnail(frame) for frame in shot_a + shot_b) == [7]  # between frames 7 and 8
    fast_pan = [thumbnail(frame) for frame in moving_frames(12, 72, 96, shift=(0, 9), seed=3)]
    steps = [scene_score(a, b) for a, b in zip(fast_pan, fast_pan[1:], strict=False)]
    assert min(steps) > DEFAULT_SCENE_THRESHOLD
    assert scene_cuts(fast_pan) == []  # every pair scores high: no pair stands out
    assert scene_cuts([thumbnail(frame) for frame in shot_a + shot_b], level=None) == []


def test_a_fade_to_black_is_not_a_cut():
    shot = moving_frames(10, 72, 96, shift=(0, 1), seed=4)
    thumbnails = [thumbnail(frame) for frame in faded(shot, start=4, step=0.3)]  # black by frame 7
    steps = [scene_score(a, b) for a, b in zip(thumbnails, thumbnails[1:], strict=False)]
    assert max(steps) > DEFAULT_SCENE_THRESHOLD  # a step of the fade scores like a cut ...
    assert is_fade(thumbnails[4], thumbnails[5])
    assert scene_cuts(thumbnails) == []  # ... but is a brightness ramp of the same picture


def test_a_clip_too_short_for_neighbours_needs_three_times_the_level():
    shot_a, shot_b = moving_frames(1, 72, 96, seed=1), moving_frames(1, 72, 96, seed=2)
    different_shots = scene_score(thumbnail(shot_a[0]), thumbnail(shot_b[0]))
    assert different_shots > 3 * DEFAULT_SCENE_THRESHOLD
    assert scene_cuts([thumbnail(shot_a[0]), thumbnail(shot_b[0])]) == [0]
    # Fast motion of one shot: above the level, but a pair alone cannot show it stands out.
    pan = [thumbnail(frame) for frame in moving_frames(3, 72, 96, shift=(0, 3), seed=3)]
    assert DEFAULT_SCENE_THRESHOLD < scene_score(pan[0], pan[1]) < 3 * DEFAULT_SCENE_THRESHOLD
    assert scene_cuts(pan[:2]) == [] and scene_cuts(pan) == []
    assert scene_cuts([thumbnail(shot_a[0])]) == []
    assert scene_cuts([]) == []


def test_streaming_verdicts_equal_the_whole_sequence_rule():
    rng = np.random.default_rng(0)
    # Shots that change now and then, with content changes of random sizes inside a shot, so
    # that many pairs fall near the level and near the ratio.
    shots = [texture(36, 64, seed=seed).astype(np.float32) for seed in range(8)]
    thumbnails, shot = [], 0
    for _ in range(80):
        shot = (shot + 1) % len(shots) if rng.random() < 0.12 else shot
        change = rng.choice([0.0, 0.05, 0.15, 0.3])
        noise = texture(36, 64, seed=int(rng.integers(1000))).astype(np.float32)
        thumbnails.append((1 - change) * shots[shot] + change * noise)
    scores = [scene_score(a, b) for a, b in zip(thumbnails, thumbnails[1:], strict=False)]
    expected = []
    for k, score in enumerate(scores):
        neighbours = scores[max(0, k - 3) : k] + scores[k + 1 : k + 4]
        fade = is_fade(thumbnails[k], thumbnails[k + 1])
        if score > DEFAULT_SCENE_THRESHOLD and not fade and score > 3 * float(np.median(neighbours)):
            expected.append(k)
    detector = CutDetector()
    verdicts, lags = [], []
    for index, small in enumerate(thumbnails):
        for verdict in detector.push(small):
            lags.append(index - len(verdicts) - 1)  # frames read past the pair's second frame
            verdicts.append(verdict)
    verdicts += detector.finish()
    assert [score for score, _ in verdicts] == pytest.approx(scores)
    assert [k for k, (_, cut) in enumerate(verdicts) if cut] == expected == scene_cuts(thumbnails)
    assert expected  # the sequence does hold cuts
    assert set(lags) == {3}  # a verdict comes three frames after its pair


def test_screen_triplet_tells_fades_and_still_shots_from_motion():
    moving = [thumbnail(frame) for frame in moving_frames(3, 72, 96, shift=(1, 2), seed=4)]
    assert screen_triplet(*moving) is None
    fade = [
        thumbnail(frame) for frame in faded([moving_frames(1, 72, 96, seed=4)[0]] * 3, start=1, step=0.12)
    ]
    assert screen_triplet(*fade) == "fade"
    moving_fade = [
        thumbnail(f) for f in faded(moving_frames(3, 72, 96, shift=(0, 1), seed=4), start=1, step=0.15)
    ]
    assert screen_triplet(*moving_fade) == "fade"
    still = [thumbnail(moving_frames(1, 72, 96, seed=5)[0])] * 3
    assert screen_triplet(*still) == "static"
    flash = [moving[0], np.clip(moving[1] + 60, 0, 255), moving[2]]
    assert screen_triplet(*flash) == "fade"


def test_interpolate_and_prepare_find_the_same_cut(tmp_path):
    """One rule: the retime core and the training-set screen agree on a clip with a cut."""
    from sepgan.interpolator import Interpolator
    from sepgan.models import model_from_config
    from sepgan.retime import RetimeStats, retime
    from sepgan.timing import ConstantRateRetiming

    frames = moving_frames(6, 48, 64, shift=(0, 1), seed=1) + moving_frames(6, 48, 64, shift=(1, 0), seed=2)
    assert scene_cuts(thumbnail(frame) for frame in frames) == [5]
    model = model_from_config("flow-sepconv", {"with_network": False, "flow_variants": 1})
    stats = RetimeStats()
    retiming = ConstantRateRetiming.for_factor(2)
    outputs = list(retime(frames, Interpolator(model), retiming, hold_tail=False, stats=stats))
    assert stats.scene_cuts == 1
    assert len(outputs) == 2 * len(frames) - 1
    # Across the cut the in-between frame repeats the frame before it: no blend of two shots.
    assert np.array_equal(outputs[2 * 5 + 1][0], frames[5])


@pytest.mark.skipif(not (REAL_VIDEOS / "Megamind.avi").is_file(), reason="real clips not present")
def test_the_real_cuts_in_megamind_are_found():
    with VideoReader(REAL_VIDEOS / "Megamind.avi") as reader:
        thumbnails = [thumbnail(frame) for _, frame in zip(range(161), reader.frames(), strict=False)]
    # Frame 0 is flat (black): 0→1 scores 35 levels but is a fade in, as it was for interpolate before.
    assert scene_cuts(thumbnails) == [97, 153]
