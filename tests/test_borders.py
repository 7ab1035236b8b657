"""Frame borders.

Static bars pass through, and content entering at an edge is taken from the
frame that has it.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sepgan import borders as borders_module
from sepgan.borders import Borders, edge_artefacts, interpolate_inside_borders, static_borders
from sepgan.evaluation.methods import FlowFineMethod
from sepgan.flow import backward_warp, fill_out_of_frame, inside_frame
from sepgan.interpolator import Interpolator
from sepgan.models import create_model
from synthetic import moving_frames, texture, to_tensor


def psnr(output: np.ndarray, truth: np.ndarray) -> float:
    error = ((output.astype(np.float64) - truth.astype(np.float64)) ** 2).mean()
    return float(10 * np.log10(255**2 / max(error, 1e-10)))


def with_bars(
    frames: list[np.ndarray], top: int, bottom: int, left: int = 0, right: int = 0
) -> list[np.ndarray]:
    barred = []
    for frame in frames:
        frame = frame.copy()
        frame[:top], frame[frame.shape[0] - bottom :] = 0, 0
        frame[:, :left], frame[:, frame.shape[1] - right :] = 0, 0
        barred.append(frame)
    return barred


def test_static_borders_finds_letterbox_and_pillarbox_bars():
    frames = with_bars(moving_frames(2, 96, 128, shift=(0, 4), seed=1), top=12, bottom=10, left=6, right=0)
    frame0, frame1 = (to_tensor(f) for f in frames)
    assert static_borders(frame0, frame1) == Borders(top=12, bottom=10, left=6, right=0)
    # compression-like noise in the bars is still a bar
    noisy = [f.copy() for f in frames]
    rng = np.random.default_rng(0)
    for frame in noisy:
        frame[:12] = rng.integers(0, 4, size=frame[:12].shape)
    assert static_borders(to_tensor(noisy[0]), to_tensor(noisy[1])).top == 12
    # a moving picture has no border; a bar that changes between the frames is not static
    plain = moving_frames(2, 96, 128, shift=(0, 4), seed=1)
    assert not static_borders(to_tensor(plain[0]), to_tensor(plain[1]))
    flashed = [frames[0], frames[1].copy()]
    flashed[1][:12] = 40
    assert static_borders(to_tensor(flashed[0]), to_tensor(flashed[1])).top == 0
    # a uniform still frame keeps no picture inside: treated as having no borders
    grey = torch.full((1, 3, 64, 64), 0.5)
    assert not static_borders(grey, grey)


def test_a_bar_takes_in_its_ragged_edge_even_in_a_fade():
    # Compression ringing: two dark, noisy rows between each bar and the picture, brighter in the
    # second frame (a fade-in). They are not uniform and they change, yet they belong to the bar;
    # left in the picture they would be warped with its motion and turn bright.
    frames = with_bars(moving_frames(2, 96, 128, shift=(3, 0), seed=6), top=14, bottom=14)
    rng = np.random.default_rng(1)
    for frame, ceiling in zip(frames, (15, 22), strict=True):
        for rows in (slice(14, 16), slice(80, 82)):
            frame[rows] = rng.integers(0, ceiling, size=frame[rows].shape)
    borders = static_borders(to_tensor(frames[0]), to_tensor(frames[1]))
    assert (borders.top, borders.bottom) == (16, 16)
    # but a bright picture line next to a bar stays in the picture
    assert (
        static_borders(*(to_tensor(f) for f in with_bars(moving_frames(2, 96, 128, seed=7), 14, 14))).top
        == 14
    )


@pytest.mark.parametrize("variants", [1, 4])
def test_a_pan_inside_black_bars_keeps_the_bars_exact(variants):
    plain = moving_frames(3, 112, 160, shift=(0, 5), seed=3)
    barred = with_bars(plain, top=16, bottom=16)
    method = FlowFineMethod(variants)
    middle = method(barred[0], barred[2])
    assert np.array_equal(middle[:16], barred[1][:16]) and np.array_equal(middle[-16:], barred[1][-16:])
    inside = slice(16, -16)
    # Inside, the picture is nearly as good as the same pan without bars, scored on the same region
    # (flow sees the bands filled with the picture's edge rows, not the picture alone: on real
    # letterboxed clips that was better; MODEL.md, "Frame borders again")
    unbarred = method(plain[0], plain[2])
    assert psnr(middle[inside], barred[1][inside]) >= psnr(unbarred[inside], plain[1][inside]) - 1.0
    assert psnr(middle[inside], barred[1][inside]) > 40


def test_flow_is_computed_at_the_frames_size_with_the_bars_filled_and_cropped_to_the_picture():
    frames = with_bars(moving_frames(2, 96, 128, shift=(2, 3), seed=8), top=12, bottom=12)
    frame0, frame1 = to_tensor(frames[0]), to_tensor(frames[1])
    borders = static_borders(frame0, frame1)
    assert borders == Borders(top=12, bottom=12)
    filled = borders.fill(frame0)
    assert filled.shape == frame0.shape and torch.equal(borders.crop(filled), borders.crop(frame0))
    assert torch.equal(filled[..., :12, :], frame0[..., 12:13, :].expand(-1, -1, 12, -1))
    assert torch.equal(filled[..., -12:, :], frame0[..., -13:-12, :].expand(-1, -1, 12, -1))
    interpolator = Interpolator.from_pretrained("flow-ensemble", device="cpu")
    flows = interpolator.estimate_flows(frame0, frame1)
    assert flows.shape[-2:] == (72, 128)
    expected = interpolator.model.estimate_flows(borders.fill(frame0), borders.fill(frame1))[..., 12:-12, :]
    assert torch.equal(flows, expected)
    # neither the picture alone nor the whole frame with its bars
    for first, second in ((frame0[..., 12:-12, :], frame1[..., 12:-12, :]), (frame0, frame1)):
        other = interpolator.model.estimate_flows(first.contiguous(), second.contiguous())
        assert not torch.equal(flows, borders.crop(other) if other.shape[-2] == 96 else other)
    # and the frame made with them is the one interpolate makes by itself
    assert torch.equal(
        interpolator.interpolate(frame0, frame1, flows=flows), interpolator.interpolate(frame0, frame1)
    )
    # without bands, fill and crop hand the frames back
    assert Borders().fill(frame0) is frame0 and Borders().crop(frame0) is frame0


def test_the_interpolator_passes_bars_through_for_any_model():
    frames = with_bars(moving_frames(3, 96, 128, shift=(2, 3), seed=4), top=0, bottom=0, left=20, right=20)
    torch.manual_seed(0)
    interpolator = Interpolator(create_model("sepconv-tiny"), device="cpu")
    middle = interpolator.interpolate(to_tensor(frames[0])[0], to_tensor(frames[2])[0])
    middle = (middle.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    assert np.array_equal(middle[:, :20], frames[1][:, :20]) and np.array_equal(
        middle[:, -20:], frames[1][:, -20:]
    )
    seen = []
    interpolate_inside_borders(
        to_tensor(frames[0]), to_tensor(frames[2]), lambda a, b: seen.append(a.shape) or a
    )
    assert seen == [(1, 3, 96, 88)]  # the model saw only the picture


def test_out_of_frame_samples_come_from_the_other_frame():
    # Samples of warp0 that fall outside the frame take warp1's value, and the other way round.
    warped0, warped1 = torch.zeros(1, 3, 4, 6), torch.ones(1, 3, 4, 6)
    to0, to1 = torch.zeros(1, 2, 4, 6), torch.zeros(1, 2, 4, 6)
    to0[:, 0, :, -1] = 3.0  # the last column of frame0's warp reads beyond the right edge
    to1[:, 1, 0] = -2.0  # the first row of frame1's warp reads above the top edge
    assert inside_frame(to0)[0, 0, :, -1].logical_not().all() and inside_frame(to0)[0, 0, :, :-1].all()
    fixed0, fixed1 = fill_out_of_frame(warped0, warped1, to0, to1)
    assert (fixed0[..., 1:, -1] == 1).all() and (fixed1[..., 1:, -1] == 1).all()  # taken from warp1
    assert (fixed1[..., 0, :-1] == 0).all() and (fixed0[..., 0, :-1] == 0).all()  # taken from warp0
    assert (fixed0[..., 0, -1] == 0).all() and (fixed1[..., 0, -1] == 1).all()  # both outside: unchanged
    assert (fixed0[..., 1:, :-1] == 0).all() and (fixed1[..., 1:, :-1] == 1).all()  # both inside: unchanged


def test_content_entering_at_the_edge_of_a_pan_is_not_ghosted():
    # The view pans right by 6 px a frame, so new content enters at the right edge; frame0 has
    # nothing to warp from in the last columns, and border replication there used to give a smear
    # averaged 50/50 with the true content from frame1.
    frames = moving_frames(3, 96, 128, shift=(0, 6), seed=5)
    middle = FlowFineMethod(1)(frames[0], frames[2])
    edge = (slice(8, -8), slice(-6, None))
    error = np.abs(middle[edge].astype(float) - frames[1][edge]).mean()
    image0, image1 = to_tensor(frames[0]), to_tensor(frames[2])
    flow = torch.zeros(1, 2, 96, 128)
    flow[:, 0] = 6.0  # the true middle flow to frame0 (and −6 to frame1)
    blend = 0.5 * (backward_warp(image0, flow) + backward_warp(image1, -flow))  # the plain average
    ghost = (blend[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    ghost_error = np.abs(ghost[edge].astype(float) - frames[1][edge]).mean()
    assert error < 3.0 and ghost_error > 3 * error


def test_an_object_entering_from_the_bottom_is_rendered_not_blended():
    # A dark textured object rises 4 px a frame from below the frame; its lower part carries a
    # bright band that frame0 does not show yet. In the middle frame the band's first rows have
    # appeared at the bottom edge: frame1 has them, frame0 has nothing to warp from there.
    height, width = 160, 224
    background = texture(height, width, seed=5, detail=16)
    thing = (texture(64, 64, seed=6, detail=6) // 2).astype(np.uint8)
    thing[24:40] = 230  # the band

    def frame(top: int) -> np.ndarray:
        image = background.copy()
        image[top : min(height, top + 64), 80:144] = thing[: min(height, top + 64) - top]
        return image

    frame0, truth, frame1 = frame(height - 24), frame(height - 28), frame(height - 32)
    rows, columns = slice(height - 2, height), slice(90, 134)  # band rows in the middle frame, not in frame0
    for variants in (1, 4):
        middle = FlowFineMethod(variants)(frame0, frame1)
        assert abs(middle[rows, columns].mean() - truth[rows, columns].mean()) < 8.0
        blend = 0.5 * (
            truth[rows, columns].astype(float) + frame0[rows, columns]
        )  # band averaged with frame0
        assert abs(middle[rows, columns].mean() - blend.mean()) > 40


def with_edge_artefacts(frames: list[np.ndarray]) -> list[np.ndarray]:
    """A scaler's darkened edges, fixed to the frame: the left column at 0.4 of the picture, the two
    bottom rows at 0.15 and 0.7 (plus a small offset), like davis speed-skating's and dolphins'."""
    marked = []
    for frame in frames:
        frame = frame.astype(np.float64)
        frame[:, 0] = 0.4 * frame[:, 0]
        frame[-1] = 0.15 * frame[-1] + 6
        frame[-2] = 0.7 * frame[-2]
        marked.append((frame + 0.5).astype(np.uint8))
    return marked


def test_edge_artefact_lines_are_found_and_picture_edges_are_not():
    plain = moving_frames(2, 96, 128, shift=(2, 5), seed=11)
    frame0, frame1 = (to_tensor(f) for f in with_edge_artefacts(plain))
    assert edge_artefacts(frame0, frame1) == Borders(bottom=2, left=1)
    assert not edge_artefacts(*(to_tensor(f) for f in plain))  # a picture's own edges
    # an edge line unlike the picture in a way no gain explains (noise) is left to the picture
    noisy = [f.copy() for f in plain]
    rng = np.random.default_rng(2)
    for frame in noisy:
        frame[:, 0] = rng.integers(0, 256, size=frame[:, 0].shape)
    assert not edge_artefacts(*(to_tensor(f) for f in noisy))
    # a darkening in one frame only (a flash, a fade at the edge) is not fixed to the frame
    assert not edge_artefacts(to_tensor(with_edge_artefacts(plain)[0]), to_tensor(plain[1]))


@pytest.mark.parametrize("variants", [1, 4])
def test_edge_artefact_lines_are_rebuilt_not_warped(variants, monkeypatch):
    # The view pans sideways, so warping carries bright picture into the darkened left column,
    # which the truth still has (davis speed-skating: 75–105 grey levels off in its edge columns).
    # The lines change between the inputs, so each is rebuilt as its gain model of the line inside.
    frames = with_edge_artefacts(moving_frames(3, 96, 128, shift=(0, 5), seed=12))
    method = FlowFineMethod(variants)
    middle = method(frames[0], frames[2]).astype(np.float64)
    monkeypatch.setattr(borders_module, "ARTEFACT_LINES", 0)
    warped = method(frames[0], frames[2]).astype(np.float64)

    def error(made: np.ndarray, line) -> float:
        return float(np.abs(made[line] - frames[1][line]).mean())

    column = (slice(None), 0)  # across the motion: the warp carries picture into it
    assert error(middle, column) < 8.0 and error(warped, column) > 8 * error(middle, column)
    for row in (-1, -2):  # along the motion the warp keeps a row's darkening; the model does as well
        assert error(middle, row) < 2.5 and error(warped, row) < 2.5
    assert np.array_equal(middle[:-2, 1:], warped[:-2, 1:])  # everything else is the same frame


def test_still_edge_artefact_lines_take_the_inputs_weighed_by_time_inside_bars_too():
    # Lines that barely change between the inputs are taken from them, like the bars.
    still = with_edge_artefacts(moving_frames(1, 96, 128, seed=13)) * 2
    rng = np.random.default_rng(3)
    still[1] = np.clip(still[1].astype(int) + rng.integers(-1, 2, size=still[1].shape), 0, 255).astype(
        np.uint8
    )
    frame0, frame1 = (to_tensor(f) for f in with_bars(still, top=10, bottom=0))
    assert static_borders(frame0, frame1) == Borders(top=10)
    assert edge_artefacts(frame0[..., 10:, :], frame1[..., 10:, :]) == Borders(bottom=2, left=1)
    time = torch.tensor([0.25])
    made = interpolate_inside_borders(frame0, frame1, lambda a, b: torch.full_like(a, 0.5), time=time)
    expected = 0.75 * frame0 + 0.25 * frame1
    assert torch.allclose(made[..., :10, :], expected[..., :10, :])  # the bar
    assert torch.allclose(made[..., 10:, 0], expected[..., 10:, 0])  # the darkened column of the picture
    assert torch.allclose(made[..., -2:, :], expected[..., -2:, :])  # the darkened rows
    assert (made[..., 10:-2, 1:] == 0.5).all()  # the picture is the model's
