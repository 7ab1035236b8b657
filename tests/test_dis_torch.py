"""The PyTorch DIS (sepgan.dis_torch) against OpenCV's DIS and known motions, and the flow backends."""

from __future__ import annotations

import dataclasses
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
    """The whole batch in one search (as on GPUs, and on the CPU up to a memory bound) gives each
    item's own flow, and a second run gives the same bits."""
    pairs = [translation(48, 64, 3, -2, seed) for seed in range(2)]
    sources = torch.cat([torch.from_numpy(grey(a)).float()[None, None] for a, _, _ in pairs])
    destinations = torch.cat([torch.from_numpy(grey(b)).float()[None, None] for _, b, _ in pairs])
    batched = dense_inverse_search(sources, destinations, "medium")
    one_by_one = torch.cat(
        [dense_inverse_search(sources[k : k + 1], destinations[k : k + 1], "medium") for k in range(2)]
    )
    assert batched.shape == (2, 2, 48, 64) and batched.dtype == torch.float32
    torch.testing.assert_close(batched, one_by_one, atol=1e-4, rtol=0)
    assert torch.equal(batched, dense_inverse_search(sources, destinations, "medium"))


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


def _level_grid(source: np.ndarray, destination: np.ndarray, preset: str = "medium"):
    """The inverse search's inputs for one pyramid level made of two H×W×3 frames (grey levels)."""
    grey0 = torch.from_numpy(grey(source)).float()[None, None]
    grey1 = torch.from_numpy(grey(destination)).float()[None, None]
    return grey0, grey1, dis_torch.dis_parameters(preset)


def test_propagation_carries_a_vector_across_a_row_in_one_pass():
    """A fine texture moved 10 px, the start flow right only in the first 8 columns: the descent
    alone cannot reach 10 px from 0 in such texture, so only propagation fixes the rest. OpenCV's
    raster order (which the wavefronts reproduce) carries the vector along all 51 patches of a row
    in the forward pass; neighbours compared all at once (Jacobi) move it one patch per round."""
    canvas = texture(64, 240, seed=3, detail=2)
    frame0, frame1 = canvas[20:44, 40:200], canvas[20:44, 30:190]  # content moves 10 px right
    source, destination, parameters = _level_grid(frame0, frame1)
    start = torch.zeros(1, 2, 24, 160)
    start[:, 0, :, :8] = 10.0
    sparse = dis_torch._inverse_search(source, destination, start, parameters)
    columns = 1 + (160 - 8) // 3
    assert sparse.shape == (1, (1 + (24 - 8) // 3) * columns, 2)
    correct = ((sparse - torch.tensor([10.0, 0.0])).norm(dim=-1) < 0.25).reshape(-1, columns)
    assert correct.float().mean() > 0.95, correct.float().mean(dim=0)
    without_start = dis_torch._inverse_search(source, destination, torch.zeros_like(start), parameters)
    assert ((without_start - torch.tensor([10.0, 0.0])).norm(dim=-1) < 0.25).float().mean() < 0.2


def _sequential_search(source, destination, flow, parameters):
    """OpenCV's loop, one patch at a time in raster order within each of 8 stripes (the reference
    the batched wavefronts must equal): B = 1."""
    grid = dis_torch._patch_grid(source, destination, parameters)
    size, stride, steps = (
        parameters.patch_size,
        parameters.patch_stride,
        parameters.gradient_descent_iterations // 2,
    )
    rows, columns = grid.rows, grid.columns
    vectors = flow[0, :, size // 2 :: stride, size // 2 :: stride][:, :rows, :columns].flatten(1).T.clone()
    stripe = -(-rows // 8)

    def one(p):
        return dataclasses.replace(
            grid,
            corners=grid.corners[p : p + 1],
            source=grid.source[:, p : p + 1],
            gradient_x=grid.gradient_x[:, p : p + 1],
            gradient_y=grid.gradient_y[:, p : p + 1],
            inverse_hessian=tuple(part[:, p : p + 1] for part in grid.inverse_hessian),
            scratch=dis_torch._Scratch(
                window=torch.empty(1, 1, size + 1, size + 1),
                columns=torch.empty(1, 1, size, size + 1),
                differences=torch.empty(1, 1, size * size),
                products=torch.empty(1, 1, size * size),
            ),
        )

    def ssd(patch, vector):
        return float(
            dis_torch._mean_normalised_ssd(
                dis_torch._patch_differences(patch, vector[None, None]), patch.scratch.products
            )
        )

    for direction in (1, -1):
        for first in range(0, rows, stripe):
            stripe_rows = range(first, min(first + stripe, rows))
            for r in stripe_rows if direction == 1 else reversed(stripe_rows):
                for c in range(columns) if direction == 1 else reversed(range(columns)):
                    p, patch = r * columns + c, one(r * columns + c)
                    best, best_ssd = vectors[p].clone(), ssd(patch, vectors[p])
                    neighbours = [(r, c - direction), (r - direction, c)]
                    for nr, nc in neighbours:
                        if nr in stripe_rows and 0 <= nc < columns:
                            candidate = vectors[nr * columns + nc]
                            candidate_ssd = ssd(patch, candidate)
                            if candidate_ssd < best_ssd:
                                best, best_ssd = candidate.clone(), candidate_ssd
                    descended = dis_torch._descend(patch, best[None, None], steps)[0, 0]
                    vectors[p] = descended if (descended - best).norm() <= size else best
    return vectors[None]


def test_wavefronts_equal_opencvs_sequential_order():
    """The anti-diagonal batches give what OpenCV's patch-by-patch loop gives, bit for bit up to
    float rounding, on a level of 13×13 patches (stripes of 2 rows) with a rough start flow."""
    frame0, frame1, _ = rotation(44, 44, degrees=8.0, seed=4)
    source, destination, parameters = _level_grid(frame0, frame1)
    generator = torch.Generator().manual_seed(0)
    start = torch.randn(1, 2, 44, 44, generator=generator) * 2
    batched = dis_torch._inverse_search(source, destination, start, parameters)
    torch.testing.assert_close(
        batched, _sequential_search(source, destination, start, parameters), atol=1e-4, rtol=0
    )
