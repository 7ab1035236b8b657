"""Baselines on known inputs, peers when installed, and `ours` through the Interpolator on a tiny model."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from sepgan.evaluation.methods import (
    AverageMethod,
    FlowFineMethod,
    FlowMethod,
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
