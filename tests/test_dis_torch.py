"""The PyTorch DIS (sepgan.dis_torch) against OpenCV's DIS and known motions, and the flow backends."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from sepgan import dis_torch
from sepgan.dis_torch import dense_inverse_search, grey_levels
from sepgan.flow import FLOW_VARIANTS, backward_warp_numpy, dis_flow, estimate_flows, grey
from sepgan.media.frames import from_uint8
from sepgan.options import OptionError, resolve_flow_backend
from synthetic import texture

ASSETS = Path(__file__).parent / "assets"


def endpoint_error(flow: np.ndarray, truth: np.ndarray) -> float:
    return float(np.sqrt(((flow - truth) ** 2).sum(-1)).mean())


def torch_flow(image0: np.ndarray, image1: np.ndarray, preset: str) -> np.ndarray:
    """H×W×3 uint8 pair → H×W×2, through the torch backend."""
    grey0 = torch.from_numpy(grey(image0)).float()[None, None]
    grey1 = torch.from_numpy(grey(image1)).float()[None, None]
    return dense_inverse_search(grey0, grey1, preset)[0].permute(1, 2, 0).numpy()


def translation(height=96, width=128, dx=-5, dy=2, seed=0):
    canvas = texture(height + 40, width + 40, seed)
    frame0 = canvas[20 : 20 + height, 20 : 20 + width]
    frame1 = canvas[20 - dy : 20 - dy + height, 20 - dx : 20 - dx + width]  # content moves by (dx, dy)
    return frame0, frame1, np.broadcast_to(np.float32([dx, dy]), (height, width, 2))


def rotation(height=96, width=128, degrees=6.0, seed=1):
    """A textured canvas turned by ``degrees`` about its centre; the frames are its middle."""
    canvas = texture(2 * height, 2 * width, seed).astype(np.float32)
    centre = np.array([width, height], np.float64)
    angle = np.deg2rad(degrees)
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    points = np.stack([xs + width / 2, ys + height / 2], -1)  # canvas coordinates of the frame's pixels
    source = ((points - centre) @ turn + centre).astype(np.float32)  # frame1(q) = canvas(turn⁻¹ q)
    frame1 = cv2.remap(canvas, source[..., 0], source[..., 1], cv2.INTER_CUBIC)
    frame0 = canvas[height // 2 : height // 2 + height, width // 2 : width // 2 + width]
    truth = ((points - centre) @ turn.T + centre - points).astype(np.float32)
    as_uint8 = [np.clip(frame + 0.5, 0, 255).astype(np.uint8) for frame in (frame0, frame1)]
    return as_uint8[0], as_uint8[1], truth


def moving_square(height=96, width=128, background=(2, 1), square=(-4, 3), seed=2):
    """A textured square moving over a background that moves another way."""
    canvas, patch = (
        texture(height + 40, width + 40, seed),
        texture(height // 2, width // 3, seed + 10, detail=4),
    )
    (bx, by), (sx, sy) = background, square
    frame0 = canvas[20 : 20 + height, 20 : 20 + width].copy()
    frame1 = canvas[20 - by : 20 - by + height, 20 - bx : 20 - bx + width].copy()
    top, left = height // 4, width // 3
    rows, columns = patch.shape[:2]
    frame0[top : top + rows, left : left + columns] = patch
    frame1[top + sy : top + sy + rows, left + sx : left + sx + columns] = patch
    truth = np.empty((height, width, 2), np.float32)
    truth[...] = (bx, by)
    truth[top : top + rows, left : left + columns] = (sx, sy)
    return frame0, frame1, truth


MOTIONS = {"translation": translation, "rotation": rotation, "moving square": moving_square}


@pytest.mark.parametrize("preset", ["medium", "fine"])
@pytest.mark.parametrize("motion", MOTIONS)
def test_endpoint_error_within_ten_percent_of_opencv(motion, preset):
    frame0, frame1, truth = MOTIONS[motion]()
    opencv = endpoint_error(dis_flow(frame0, frame1, preset), truth)
    ours = endpoint_error(torch_flow(frame0, frame1, preset), truth)
    assert opencv < 1.0  # the motion is one DIS resolves
    assert ours <= 1.1 * opencv, (ours, opencv)


@pytest.mark.parametrize("preset", ["medium", "fine"])
def test_real_pair_matches_opencv(preset):
    """A 128×96 crop of two frames of examples/carphone.mp4: the two flows agree, and warp as well."""
    frame0, frame1 = (np.asarray(Image.open(ASSETS / f"carphone-{k}.png").convert("RGB")) for k in (30, 31))
    opencv, ours = dis_flow(frame0, frame1, preset), torch_flow(frame0, frame1, preset)
    assert endpoint_error(ours, opencv) < 0.3

    def warp_error(flow):
        warped = backward_warp_numpy(frame1.astype(np.float32), flow)
        return float(np.abs(warped - frame0).mean())

    assert warp_error(ours) <= 1.05 * warp_error(opencv)


def test_grey_levels_are_opencvs():
    generator = torch.Generator().manual_seed(0)
    frames = torch.rand(2, 3, 17, 23, generator=generator)
    images = (frames * 255 + 0.5).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    expected = np.stack([grey(image) for image in images])
    assert np.array_equal(grey_levels(frames)[:, 0].numpy().astype(np.uint8), expected)


def test_batched_equals_one_by_one_and_is_deterministic():
    """The whole batch in one search (as on GPUs; the CPU runs one item at a time) gives each item's
    own flow, and a second run gives the same bits."""
    pairs = [translation(48, 64, 3, -2, seed) for seed in range(2)]
    sources = torch.cat([torch.from_numpy(grey(a)).float()[None, None] for a, _, _ in pairs])
    destinations = torch.cat([torch.from_numpy(grey(b)).float()[None, None] for _, b, _ in pairs])
    batched = dis_torch._coarse_to_fine(sources, destinations, dis_torch.dis_parameters("medium"))
    one_by_one = dense_inverse_search(sources, destinations, "medium")
    assert one_by_one.shape == (2, 2, 48, 64) and one_by_one.dtype == torch.float32
    torch.testing.assert_close(batched, one_by_one, atol=1e-4, rtol=0)
    assert torch.equal(one_by_one, dense_inverse_search(sources, destinations, "medium"))


def test_small_frames_are_padded_like_opencvs():
    frame = torch.full((1, 1, 5, 40), 128.0)
    flow = dense_inverse_search(frame, frame, "fine")
    assert flow.shape == (1, 2, 5, 40) and torch.isfinite(flow).all()


def test_bad_preset_shape_or_size_is_a_clear_error():
    frame = torch.zeros(1, 1, 32, 32)
    with pytest.raises(ValueError, match="unknown DIS preset 'slow'"):
        dense_inverse_search(frame, frame, "slow")
    with pytest.raises(ValueError, match="B×1×H×W"):
        dense_inverse_search(torch.zeros(1, 3, 32, 32), torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match="at least 1×1"):
        dense_inverse_search(torch.zeros(1, 1, 0, 32), torch.zeros(1, 1, 0, 32))


def test_torch_ensemble_matches_opencv_ensemble():
    """The four mirrorings × both directions of two pairs in one call, unmirrored as OpenCV's are."""
    pairs = [translation(48, 64, -3, 2, seed) for seed in range(2)]
    frame0 = from_uint8(np.stack([a for a, _, _ in pairs]))
    frame1 = from_uint8(np.stack([b for _, b, _ in pairs]))
    variants = len(FLOW_VARIANTS)
    opencv = estimate_flows(frame0, frame1, "medium", variants, workers=1, backend="opencv")
    ours = estimate_flows(frame0, frame1, "medium", variants, backend="torch")
    assert ours.shape == opencv.shape == (2, 4 * variants, 48, 64)
    assert (ours - opencv).abs().mean() < 0.1
    expected = torch.tensor([-3.0, 2.0, 3.0, -2.0] * variants)  # flow01 = (dx, dy), flow10 its opposite
    torch.testing.assert_close(ours.mean(dim=(0, 2, 3)), expected, atol=0.15, rtol=0)


def test_auto_backend_is_torch_on_gpus_and_opencv_on_the_cpu():
    assert resolve_flow_backend("auto", "cpu") == "opencv"
    assert resolve_flow_backend("auto", "cuda") == resolve_flow_backend("auto", "mps") == "torch"
    assert resolve_flow_backend("opencv", "cuda") == "opencv"
    with pytest.raises(OptionError, match="flow_backend must be one of auto, opencv, torch"):
        resolve_flow_backend("cuda", "cuda")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu_and_is_deterministic():
    frame0, frame1, truth = moving_square()
    grey0 = torch.from_numpy(grey(frame0)).float()[None, None]
    grey1 = torch.from_numpy(grey(frame1)).float()[None, None]
    on_cpu = dense_inverse_search(grey0, grey1, "fine")
    on_cuda = dense_inverse_search(grey0.cuda(), grey1.cuda(), "fine")
    assert on_cuda.device.type == "cuda"
    assert torch.equal(on_cuda, dense_inverse_search(grey0.cuda(), grey1.cuda(), "fine"))
    assert (on_cuda.cpu() - on_cpu).abs().mean() < 0.05
    ours = endpoint_error(on_cuda[0].permute(1, 2, 0).cpu().numpy(), truth)
    assert ours <= 1.1 * endpoint_error(dis_flow(frame0, frame1, "fine"), truth)
