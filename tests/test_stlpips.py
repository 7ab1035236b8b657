"""ST-LPIPS (sepgan.stlpips, sepgan.metrics.st_lpips): the wheel's distance without torchvision, 0 for
identical images, growing with blur, tolerant to a 1-px shift where L2 is not; left out with a note
when the `perceptual` extra is missing. Tests that need the wheel skip cleanly without it."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from sepgan import metrics
from sepgan.media.frames import load_image_uint8
from sepgan.stlpips import MIN_SIDE, STLPIPSScorer, load_stlpips, weights_path

needs_weights = pytest.mark.skipif(
    weights_path() is None, reason="stlpips-pytorch is not installed (pip install 'sepgan[perceptual]')"
)
ASSET = Path(__file__).parent / "assets" / "carphone-30.png"


@pytest.fixture(scope="module")
def model():
    if weights_path() is None:
        pytest.skip("stlpips-pytorch is not installed (pip install 'sepgan[perceptual]')")
    return load_stlpips("cpu")


@pytest.fixture(scope="module")
def picture() -> np.ndarray:
    """A real frame (carphone, H×W×3 uint8), so that blur and shifts act on natural detail."""
    return load_image_uint8(ASSET)


def _crop(image: np.ndarray, top: int = 8, left: int = 8, height: int = 48, width: int = 64) -> np.ndarray:
    return np.ascontiguousarray(image[top : top + height, left : left + width])


def _blurred(image: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)


def _squared_error(prediction: np.ndarray, target: np.ndarray) -> float:
    return float(np.mean((prediction.astype(np.float64) - target) ** 2))


@pytest.fixture
def original_stlpips(monkeypatch):
    """The wheel's own ``stlpips.LPIPS`` module, imported with empty stand-ins for the three modules it
    imports but does not use for the shift-tolerant AlexNet (torchvision, IPython, torchsummary)."""
    if weights_path() is None:
        pytest.skip("stlpips-pytorch is not installed (pip install 'sepgan[perceptual]')")
    stand_ins = {
        "torchvision": {"models": types.ModuleType("torchvision.models")},
        "IPython": {"embed": None},
        "torchsummary": {"summary": None},
    }
    for name, attributes in stand_ins.items():
        module = types.ModuleType(name)
        for attribute, value in attributes.items():
            setattr(module, attribute, value)
        monkeypatch.setitem(sys.modules, name, module)
    before = set(sys.modules)
    from stlpips_pytorch import stlpips

    yield stlpips
    for name in set(sys.modules) - before:  # the wheel's modules hold the stand-ins: not for later tests
        if name.split(".")[0] == "stlpips_pytorch":
            del sys.modules[name]


def test_matches_the_wheels_own_stlpips(model, original_stlpips):
    original = original_stlpips.LPIPS(net="alex", variant="shift_tolerant", verbose=False)
    generator = torch.Generator().manual_seed(0)
    for height, width in ((48, 64), (MIN_SIDE, 37)):
        image0 = torch.rand(2, 3, height, width, generator=generator)
        image1 = (image0 + 0.2 * torch.rand(2, 3, height, width, generator=generator)).clamp(0, 1)
        with torch.no_grad():
            expected = original(image0, image1, normalize=True).flatten()
            ours = model(image0, image1)
        assert expected.min() > 0
        torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-7)


@needs_weights
def test_identical_images_score_zero(picture):
    image = _crop(picture)
    assert metrics.st_lpips(image, image) == 0.0
    assert metrics.st_lpips(_blurred(image, 1.0), image) > 0.0


@needs_weights
def test_distance_grows_with_blur(picture):
    target = _crop(picture)
    distances = [metrics.st_lpips(_blurred(target, sigma), target) for sigma in (0.5, 1.0, 2.0, 4.0)]
    assert distances == sorted(distances) and len(set(distances)) == 4, distances
    assert distances[-1] > 4 * distances[0]


@needs_weights
def test_a_one_pixel_shift_costs_less_than_noise_or_blur_of_the_same_squared_error(picture):
    """Shift tolerance: to L2 a 1-px shift of real detail is as bad as noise of the same squared
    error, and worse than a blur of σ = 1 px, which nobody would mistake for it; ST-LPIPS scores the
    shift far lower than either."""
    target = _crop(picture)
    shifted = _crop(picture, left=9)  # the same frame, one pixel to the side (no border invented)
    shift_error = _squared_error(shifted, target)
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(target.shape) * np.sqrt(shift_error)
    noisy = np.clip(np.rint(target + noise), 0, 255).astype(np.uint8)
    assert _squared_error(noisy, target) == pytest.approx(shift_error, rel=0.15)
    assert metrics.st_lpips(shifted, target) < 0.2 * metrics.st_lpips(noisy, target)
    blurred = _blurred(target, 1.0)  # less squared error than the shift, and plainly softer
    assert _squared_error(blurred, target) < shift_error
    assert metrics.st_lpips(shifted, target) < 0.2 * metrics.st_lpips(blurred, target)


@needs_weights
def test_the_scorer_reuses_a_targets_features_only_while_it_is_the_same_image(model, picture):
    target, other = _crop(picture), _crop(picture, top=20)
    prediction = _blurred(target, 1.0)
    scorer = STLPIPSScorer(model)
    fresh = float(
        model(*(torch.from_numpy(x).permute(2, 0, 1)[None].float() / 255 for x in (prediction, target)))
    )
    assert scorer(prediction, target) == pytest.approx(fresh, rel=1e-6)
    assert scorer(_blurred(target, 2.0), target) > fresh  # the cached target, another prediction
    buffer = target.copy()
    scorer(prediction, buffer)
    buffer[:] = other  # refilled in place: the cached features must not be used
    assert scorer(prediction, buffer) == pytest.approx(STLPIPSScorer(model)(prediction, other), rel=1e-6)


@needs_weights
def test_images_under_the_minimum_side_are_refused(picture):
    small = _crop(picture, height=MIN_SIDE, width=MIN_SIDE)
    assert metrics.st_lpips(_blurred(small, 1.0), small) > 0
    tiny = _crop(picture, height=MIN_SIDE - 1, width=40)
    with pytest.raises(ValueError, match="at least 21×21"):
        metrics.st_lpips(tiny, tiny)


def test_without_the_extra_evaluation_leaves_it_out_with_one_note(monkeypatch):
    note = metrics.OPTIONAL_METRICS["st_lpips"][1]
    monkeypatch.setitem(metrics.OPTIONAL_METRICS, "st_lpips", ("sepgan_no_such_package", note))
    functions, notes = metrics.metric_functions()
    assert "st_lpips" not in functions and list(functions) == [n for n in metrics.METRICS if n != "st_lpips"]
    assert notes == [note] and "pip install 'sepgan[perceptual]'" in note


@needs_weights
def test_with_the_extra_evaluation_scores_it_on_the_device_given():
    functions, notes = metrics.metric_functions("cpu")
    assert notes == [] and list(functions) == list(metrics.METRICS)
    image = np.full((32, 32, 3), 128, np.uint8)
    assert functions["st_lpips"](image, image) == 0.0
