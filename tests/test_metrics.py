"""Metrics against known values: caps, closed forms, scikit-image, pytorch_msssim, and blur and noise."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from sepgan.metrics import (
    PSNR_CAP,
    edge_error,
    interpolation_error,
    moving_edge_mask,
    moving_edge_similarity,
    ms_ssim,
    psnr,
    sharpness_ratio,
    ssim,
    vif,
)
from synthetic import texture


def _pair(height: int = 48, width: int = 56, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    noisy = np.clip(base.astype(int) + rng.integers(-20, 21, base.shape), 0, 255).astype(np.uint8)
    return noisy, base


def test_psnr_of_identical_images_is_the_cap():
    image, _ = _pair()
    assert psnr(image, image) == PSNR_CAP


def test_psnr_known_value():
    target = np.full((8, 8, 3), 100, np.uint8)
    prediction = target + np.uint8(1)  # MSE = 1
    assert psnr(prediction, target) == pytest.approx(10 * math.log10(255**2))
    prediction = target + np.uint8(16)  # MSE = 256
    assert psnr(prediction, target) == pytest.approx(10 * math.log10(255**2 / 256))


def test_interpolation_error_known_value():
    target = np.zeros((4, 4, 3), np.uint8)
    prediction = target.copy()
    prediction[:2] = 10  # half the samples off by 10
    assert interpolation_error(prediction, target) == pytest.approx(5.0)
    assert interpolation_error(target, target) == 0.0


def test_ssim_matches_scikit_image():
    from skimage.metrics import structural_similarity

    prediction, target = _pair()
    expected = structural_similarity(
        target, prediction, channel_axis=-1, data_range=255, gaussian_weights=True, sigma=1.5,
        use_sample_covariance=False,
    )  # fmt: skip
    assert ssim(prediction, target) == pytest.approx(expected, abs=1e-12)
    assert ssim(target, target) == pytest.approx(1.0)
    assert 0.0 < ssim(prediction, target) < 0.99


def test_ms_ssim_identical_is_one_and_noise_lowers_it():
    prediction, target = _pair()
    assert ms_ssim(target, target) == pytest.approx(1.0)
    assert ms_ssim(prediction, target) < 0.99


def test_ms_ssim_matches_pytorch_msssim():
    pytorch_msssim = pytest.importorskip("pytorch_msssim")
    import torch

    prediction, target = _pair(171, 180, seed=1)  # odd side: exercises the padded pooling; 5 scales

    def as_tensor(array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array).permute(2, 0, 1)[None].double()

    expected = float(pytorch_msssim.ms_ssim(as_tensor(prediction), as_tensor(target), data_range=255))
    assert ms_ssim(prediction, target) == pytest.approx(expected, abs=1e-4)


def test_metrics_reject_mismatched_or_float_input():
    image, _ = _pair()
    with pytest.raises(ValueError, match="shape mismatch"):
        psnr(image, image[:-1])
    with pytest.raises(ValueError, match="uint8"):
        ssim(image.astype(np.float32), image)


def _blurred(image: np.ndarray) -> np.ndarray:
    """A 3×3 box blur (edges replicated): what an L1-hedged interpolation does to detail."""
    padded = np.pad(image.astype(np.float64), ((1, 1), (1, 1), (0, 0)), mode="edge")
    height, width = image.shape[:2]
    total = sum(padded[dy : dy + height, dx : dx + width] for dy in range(3) for dx in range(3))
    return np.floor(total / 9 + 0.5).astype(np.uint8)


def _moving_scene(height: int = 64, width: int = 72) -> tuple[np.ndarray, np.ndarray]:
    """A textured target, and a reference that got one square wrong (shifted by 3 px), as flow does."""
    target = texture(height, width, seed=3, detail=3)
    reference = target.copy()
    reference[16:40, 20:44] = target[19:43, 23:47]
    return target, reference


def test_vif_is_one_for_the_same_image_and_lower_for_blur():
    pytest.importorskip("torchmetrics")
    target, _ = _moving_scene()
    assert vif(target, target) == pytest.approx(1.0, abs=1e-4)
    assert vif(_blurred(target), target) < 0.9


def test_vif_rejects_images_below_its_window():
    pytest.importorskip("torchmetrics")
    small = np.zeros((40, 64, 3), np.uint8)
    with pytest.raises(ValueError, match="41"):
        vif(small, small)


def test_moving_edge_mask_covers_where_the_reference_fails():
    target, reference = _moving_scene()
    mask = moving_edge_mask(reference, target)
    assert mask[16:40, 20:44].mean() > mask.mean()  # the wrong square is where the mask is
    assert not mask[:8].any() and not mask[:, -8:].any()  # far from it: nothing
    assert not moving_edge_mask(target, target).any()


def test_moving_edge_similarity_is_one_for_the_truth_and_lower_for_blur():
    target, reference = _moving_scene()
    assert moving_edge_similarity(target, target, reference) == pytest.approx(1.0)
    blurred = moving_edge_similarity(_blurred(target), target, reference)
    assert blurred < 0.95
    assert moving_edge_similarity(reference, target, reference) < 1.0
    # A reference without errors scores the whole frame: still defined, still lower for blur.
    assert moving_edge_similarity(_blurred(target), target, target) < 0.95


def test_sharpness_ratio_is_below_one_for_blur_and_above_for_noise():
    target, _ = _moving_scene()
    assert sharpness_ratio(target, target) == pytest.approx(1.0)
    assert sharpness_ratio(_blurred(target), target) < 0.5
    rng = np.random.default_rng(1)
    grainy = np.clip(target.astype(int) + rng.integers(-20, 21, target.shape), 0, 255).astype(np.uint8)
    assert sharpness_ratio(grainy, target) > 1.0


@pytest.mark.parametrize("name", ["vif", "moving_edge_similarity", "sharpness_ratio"])
def test_new_metrics_reject_wrong_shapes_and_dtypes(name):
    target, reference = _moving_scene()

    def score(prediction: np.ndarray, truth: np.ndarray) -> float:
        if name == "vif":
            pytest.importorskip("torchmetrics")
            return vif(prediction, truth)
        if name == "moving_edge_similarity":
            return moving_edge_similarity(prediction, truth, reference[: truth.shape[0], : truth.shape[1]])
        return sharpness_ratio(prediction, truth)

    with pytest.raises(ValueError, match="shape mismatch"):
        score(target[:-1], target)
    with pytest.raises(ValueError, match="uint8"):
        score(target.astype(np.float32), target)
    with pytest.raises(ValueError, match="uint8"):
        score(target[..., 0], target[..., 0])


def test_moving_edge_similarity_rejects_a_reference_of_another_shape():
    target, reference = _moving_scene()
    with pytest.raises(ValueError, match="shape mismatch"):
        moving_edge_similarity(target, target, reference[:-1])


def test_edge_error_scores_only_the_outer_band():
    target = np.full((64, 80, 3), 100, np.uint8)
    inside = target.copy()
    inside[16:-16, 16:-16] = 0  # wrong only inside the band
    assert edge_error(inside, target) == 0.0 and interpolation_error(inside, target) > 0
    border = target.copy()
    border[:, :16] = 110  # the left band 10 levels off
    band_pixels = 64 * 80 - (64 - 32) * (80 - 32)
    assert edge_error(border, target) == pytest.approx(10 * 64 * 16 / band_pixels)


@pytest.mark.slow
def test_training_and_metrics_do_not_import_the_evaluation_package():
    code = (
        "import sys, sepgan.metrics, sepgan.training; "
        "loaded = sorted(m for m in sys.modules if m.startswith('sepgan.evaluation')); "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_evaluation_metrics_names_are_the_shared_ones():
    from sepgan import metrics
    from sepgan.evaluation import metrics as evaluation_metrics

    assert evaluation_metrics.psnr is metrics.psnr and evaluation_metrics.METRICS is metrics.METRICS
