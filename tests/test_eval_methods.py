"""Baselines on known inputs, peers when installed, and `ours` through the Interpolator on a tiny model."""

from __future__ import annotations

import shutil
from fractions import Fraction

import numpy as np
import pytest

from sepgan.evaluation.methods import (
    AverageMethod,
    FlowFineMethod,
    FlowMethod,
    Method,
    MethodUnavailable,
    MinterpolateMethod,
    OursMethod,
    RepeatMethod,
    RifeMethod,
    build_method,
)
from sepgan.evaluation.metrics import psnr


def _textured(height: int = 64, width: int = 80, shift: int = 0) -> np.ndarray:
    """A smooth random texture, shifted right by ``shift`` px: a pure horizontal motion."""
    rng = np.random.default_rng(0)
    coarse = rng.random((height // 8 + 2, (width + 16) // 8 + 2, 3))
    yy, xx = np.mgrid[0:height, 0 : width + 16] / 8.0
    y0, x0 = yy.astype(int), xx.astype(int)
    fy, fx = (yy - y0)[..., None], (xx - x0)[..., None]
    image = (
        coarse[y0, x0] * (1 - fy) * (1 - fx) + coarse[y0 + 1, x0] * fy * (1 - fx)
        + coarse[y0, x0 + 1] * (1 - fy) * fx + coarse[y0 + 1, x0 + 1] * fy * fx
    )  # fmt: skip
    return (image[:, 8 - shift : 8 - shift + width] * 255).round().astype(np.uint8)


def test_repeat_and_average_are_exact():
    frame0 = np.full((4, 4, 3), 10, np.uint8)
    frame1 = np.full((4, 4, 3), 21, np.uint8)
    assert (RepeatMethod()(frame0, frame1) == frame0).all()
    assert (AverageMethod()(frame0, frame1) == 16).all()  # 15.5 rounds half up, as frames.to_uint8 does


@pytest.mark.parametrize("occlusion_aware", [True, False])
def test_flow_beats_average_on_a_translation(occlusion_aware: bool):
    frame0, target, frame1 = _textured(shift=0), _textured(shift=2), _textured(shift=4)
    method = FlowMethod(occlusion_aware=occlusion_aware)
    method.setup()
    output = method(frame0, frame1)
    assert output.shape == target.shape and output.dtype == np.uint8
    assert psnr(output, target) > psnr(AverageMethod()(frame0, frame1), target) + 5


@pytest.mark.skipif(
    shutil.which("ffmpeg") is None, reason="ffmpeg binary not installed (apt-get install ffmpeg)"
)
def test_minterpolate_peer_runs():
    frame0, target, frame1 = _textured(shift=0), _textured(shift=2), _textured(shift=4)
    method = MinterpolateMethod()
    method.setup()
    output = method(frame0, frame1)
    assert output.shape == target.shape
    assert psnr(output, target) > psnr(frame0, target)
    assert method.child_peak_bytes() > 0


def test_minterpolate_without_ffmpeg_is_skipped(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(MethodUnavailable, match="ffmpeg"):
        MinterpolateMethod().setup()


def test_rife_peer_runs_when_installed():
    method = RifeMethod("cpu")
    try:
        method.setup()
    except MethodUnavailable as reason:
        pytest.skip(str(reason))
    frame0, target, frame1 = _textured(shift=0), _textured(shift=2), _textured(shift=4)
    output = method(frame0, frame1)  # 64×80 is padded to 64×96 and cropped back
    assert output.shape == target.shape
    assert psnr(output, target) > psnr(AverageMethod()(frame0, frame1), target)
    import sys

    assert "model" not in sys.modules  # RIFE's generic top-level package name does not leak


def test_ours_without_any_weights_is_unavailable_not_untrained(no_bundled_weights):
    with pytest.raises(MethodUnavailable, match="--weights"):
        OursMethod(weights=None).setup()


def test_ours_runs_a_tiny_model_through_the_interpolator():
    models = pytest.importorskip("sepgan.models")
    interpolator_module = pytest.importorskip("sepgan.interpolator")
    import torch

    torch.manual_seed(0)
    model = models.create_model("sepconv-tiny")
    method = OursMethod(interpolator=interpolator_module.Interpolator(model, device="cpu"))
    method.setup()
    frame0, frame1 = _textured(40, 50), _textured(40, 50, shift=4)  # not multiples of 32: padded and cropped
    output = method(frame0, frame1)
    assert output.shape == frame0.shape and output.dtype == np.uint8


def test_unknown_method_name():
    with pytest.raises(ValueError, match="unknown method"):
        build_method("sepconv-magic")


def test_flow_ensemble_on_given_flows_is_the_same_as_on_its_own():
    """The flows a flow-sepconv model with the same settings estimates are the method's own, so a
    comparison can estimate them once for both (sepgan.evaluation.compare)."""
    from sepgan.interpolator import Interpolator
    from sepgan.media.frames import from_uint8

    frame0, frame1 = _textured(shift=0), _textured(shift=4)
    frame0[:8] = frame1[:8] = 0  # a static bar: the flows belong to the picture inside it
    flows = Interpolator.from_pretrained("flow-ensemble", device="cpu", workers=1).estimate_flows(
        from_uint8(frame0)[None], from_uint8(frame1)[None]
    )
    method = FlowFineMethod(variants=4, workers=1)
    assert np.array_equal(method(frame0, frame1, flows=flows), method(frame0, frame1))
    with pytest.raises(ValueError, match="do not belong"):
        method(frame0, frame1, flows=flows[..., 1:, :])


# --- other times (sepgan evaluate --factor N) -------------------------------------------------

THIRDS = [Fraction(1, 3), Fraction(2, 3)]
QUARTERS = [Fraction(1, 4), Fraction(1, 2), Fraction(3, 4)]


@pytest.mark.parametrize(
    "method",
    [
        AverageMethod(),
        RepeatMethod(),
        FlowMethod(occlusion_aware=True),
        FlowMethod(occlusion_aware=False),
        FlowFineMethod(variants=1, workers=1),
        FlowFineMethod(variants=4, workers=1, bisect=True),
    ],
    ids=lambda method: method.name,
)
def test_at_the_middle_time_every_method_is_its_plain_call(method):
    frame0, frame1 = _textured(48, 64, shift=0), _textured(48, 64, shift=3)
    frame0[:6] = frame1[:6] = 0  # a static bar, which passes through
    (middle,) = method.at_times(frame0, frame1, [Fraction(1, 2)])
    assert np.array_equal(middle, method(frame0, frame1))


def test_average_and_repeat_at_any_time_are_exact():
    frame0 = np.full((4, 4, 3), 10, np.uint8)
    frame1 = np.full((4, 4, 3), 21, np.uint8)
    made = AverageMethod().at_times(frame0, frame1, [*THIRDS, Fraction(1, 22)])
    assert [int(frame[0, 0, 0]) for frame in made] == [14, 17, 11]  # 13.67, 17.33, 10.5 rounded half up
    repeated = RepeatMethod().at_times(frame0, frame1, QUARTERS)
    assert [int(frame[0, 0, 0]) for frame in repeated] == [10, 10, 21]  # the nearer input; frame0 at ½


class _MiddleOnly(AverageMethod):
    """The average, made t = ½ only, so other times go through the default bisection."""

    name = "middle-only"
    any_time = False

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, frame0, frame1):
        self.calls += 1
        return super().__call__(frame0, frame1)

    at_times = Method.at_times


def test_a_middle_only_method_bisects_to_dyadic_times_and_cannot_make_thirds():
    frame0 = np.full((2, 2, 3), 0, np.uint8)
    frame1 = np.full((2, 2, 3), 200, np.uint8)
    method = _MiddleOnly()
    made = method.at_times(frame0, frame1, [Fraction(3, 4), Fraction(1, 4), Fraction(1, 8)])
    assert [int(frame[0, 0, 0]) for frame in made] == [150, 50, 25]  # in the order asked
    assert method.calls == 4  # 1/2, then 3/4 and 1/4, then 1/8: each made once
    assert method.unreachable_times([*THIRDS, Fraction(1, 2)]) == THIRDS
    assert AverageMethod().unreachable_times(THIRDS) == []
    with pytest.raises(ValueError, match="dyadic"):
        method.at_times(frame0, frame1, THIRDS)


@pytest.mark.parametrize(
    "method",
    [
        FlowMethod(occlusion_aware=True),
        FlowMethod(occlusion_aware=False),
        FlowFineMethod(variants=4, workers=1),
    ],
    ids=lambda method: method.name,
)
def test_flow_methods_warp_straight_to_a_third_of_a_translation(method):
    frame0, frame1 = _textured(shift=0), _textured(shift=6)
    truths = [_textured(shift=2), _textured(shift=4)]
    assert method.any_time
    made = method.at_times(frame0, frame1, THIRDS)
    blends = AverageMethod().at_times(frame0, frame1, THIRDS)
    for output, blend, truth in zip(made, blends, truths, strict=True):
        assert psnr(output, truth) > psnr(blend, truth) + 5


def test_flow_ensemble_bisect_makes_quarters_from_its_own_middles():
    frame0, frame1 = _textured(48, 64, shift=0), _textured(48, 64, shift=4)
    method = FlowFineMethod(variants=4, workers=1, bisect=True)
    assert method.name == "flow-ensemble-bisect" and not method.any_time
    assert build_method("flow-ensemble-bisect").name == "flow-ensemble-bisect"
    quarter, middle, _ = method.at_times(frame0, frame1, QUARTERS)
    assert np.array_equal(middle, method(frame0, frame1))
    # ¼ is the middle of frame0 and the float middle frame, so within a grey level of bisecting
    # through the rounded middle
    assert np.abs(quarter.astype(int) - method(frame0, middle).astype(int)).max() <= 1
    assert method.unreachable_times(THIRDS) == THIRDS


def test_ours_warps_straight_to_any_time_or_bisects_by_its_model():
    from sepgan.interpolator import Interpolator
    from synthetic import AverageGenerator

    frame0 = np.full((40, 50, 3), 30, np.uint8)
    frame1 = np.full((40, 50, 3), 90, np.uint8)
    any_time = OursMethod(interpolator=Interpolator(AverageGenerator(any_time=True), device="cpu"))
    any_time.setup()
    assert any_time.any_time and any_time.unreachable_times(THIRDS) == []
    assert [int(f[0, 0, 0]) for f in any_time.at_times(frame0, frame1, THIRDS)] == [50, 70]
    middle_only = OursMethod(interpolator=Interpolator(AverageGenerator(), device="cpu"))
    middle_only.setup()
    assert not middle_only.any_time and middle_only.unreachable_times(THIRDS) == THIRDS
    assert [int(f[0, 0, 0]) for f in middle_only.at_times(frame0, frame1, QUARTERS)] == [45, 60, 75]
