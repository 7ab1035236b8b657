"""Interpolator: any size, batching, tiling, memory budget, dyadic retiming and weight resolution."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
import torch

from sepgan.checkpoint import CheckpointError, save_pretrained
from sepgan.interpolator import Interpolator
from sepgan.media.frames import load_image
from sepgan.models import create_model
from sepgan.weights import WeightsError, resolve_weights
from synthetic import AverageGenerator

EVAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "eval" / "middlebury-other"


def test_any_size_is_padded_and_cropped_back():
    frame0, frame1 = torch.rand(3, 239, 421), torch.rand(3, 239, 421)
    middle = Interpolator(AverageGenerator(), device="cpu").interpolate(frame0, frame1)
    assert middle.shape == (3, 239, 421)
    torch.testing.assert_close(middle, (frame0 + frame1) / 2)


def test_batches_match_single_pairs_with_a_real_network():
    torch.manual_seed(0)
    interpolator = Interpolator(create_model("sepconv-tiny"), device="cpu", batch_size=2)
    frame0, frame1 = torch.rand(3, 3, 40, 56), torch.rand(3, 3, 40, 56)
    together = interpolator.interpolate(frame0, frame1)
    alone = torch.stack([interpolator.interpolate(frame0[i], frame1[i]) for i in range(3)])
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=0)


def test_tiles_blend_to_exactly_the_untiled_result_for_a_pointwise_model():
    frame0, frame1 = torch.rand(1, 3, 150, 230), torch.rand(1, 3, 150, 230)
    tiled = Interpolator(AverageGenerator(), device="cpu", tile=64, tile_overlap=16).interpolate(
        frame0, frame1
    )
    torch.testing.assert_close(tiled, (frame0 + frame1) / 2)


@pytest.mark.skipif(not (EVAL / "Beanbags").is_dir(), reason="real evaluation images not present")
def test_tiled_output_matches_untiled_on_a_real_image():
    frame0 = load_image(EVAL / "Beanbags" / "frame10.png")[:, :240, :320]
    frame1 = load_image(EVAL / "Beanbags" / "frame11.png")[:, :240, :320]
    torch.manual_seed(0)
    # Kernel normalisation makes the random network a weighted average of real pixels.
    model = create_model("sepconv-tiny", kernel_normalization=True, input_normalization=True)
    whole = Interpolator(model, device="cpu").interpolate(frame0, frame1)
    tiled_interpolator = Interpolator(model, device="cpu", tile=128, tile_overlap=64)
    assert tiled_interpolator.tile_size(240, 320) == 128
    tiled = tiled_interpolator.interpolate(frame0, frame1)
    difference = (tiled - whole).abs()
    assert difference.mean() < 1 / 255
    assert difference.max() < 16 / 255


def test_auto_tiling_follows_the_memory_budget():
    interpolator = Interpolator(create_model("sepconv"), device="cpu", tile="auto", max_memory_mb=4096)
    assert interpolator.tile_overlap == 64  # 2·ceil(25 / 32)·32 for K = 51
    assert interpolator.tile_size(480, 854) is None
    tile = interpolator.tile_size(2160, 3840)
    assert tile is not None and tile % 32 == 0
    assert tile * tile * interpolator.bytes_per_pixel <= 4096 * 2**20


def test_recursive_bisection_streams_in_time_order():
    interpolator = Interpolator(AverageGenerator(), device="cpu")
    frame0, frame1 = torch.zeros(3, 8, 8), torch.ones(3, 8, 8)
    values = [frame[0, 0, 0].item() for frame in interpolator.interpolate_recursively(frame0, frame1, 3)]
    assert values == [k / 8 for k in range(1, 8)]


def test_dyadic_points_compute_only_their_bisection_paths_in_batches():
    model = AverageGenerator()
    interpolator = Interpolator(model, device="cpu", batch_size=16)
    frame0, frame1 = torch.zeros(2, 3, 8, 8), torch.ones(2, 3, 8, 8)
    result = interpolator.interpolate_dyadic(frame0, frame1, [[Fraction(3, 8)], [Fraction(1, 2)]])
    assert result[0][Fraction(3, 8)][0, 0, 0].item() == pytest.approx(3 / 8)
    assert sorted(result[0]) == [Fraction(1, 4), Fraction(3, 8), Fraction(1, 2)]
    assert model.pairs == 4  # 1/2 (both pairs), then 1/4, then 3/8
    assert model.calls == 3  # one batched call per level


def test_an_any_time_model_makes_each_time_straight_from_its_pair():
    model = AverageGenerator(any_time=True)
    interpolator = Interpolator(model, device="cpu", batch_size=4)
    frame0, frame1 = torch.zeros(2, 3, 8, 8), torch.ones(2, 3, 8, 8)
    wanted = [[Fraction(1, 3), Fraction(2, 3)], [Fraction(1, 5), Fraction(2, 5), Fraction(3, 5)]]
    result = interpolator.interpolate_at(frame0, frame1, wanted)
    assert [sorted(made) for made in result] == wanted  # exactly the times asked for, nothing between
    for made in result:
        for t, frame in made.items():
            torch.testing.assert_close(frame, torch.full((3, 8, 8), float(t)))
    assert model.pairs == 5 and model.calls == 2  # five frames, four per call
    assert sorted(model.times) == pytest.approx(sorted(float(t) for times in wanted for t in times))


def test_a_middle_only_model_bisects_and_refuses_times_that_are_not_dyadic():
    interpolator = Interpolator(AverageGenerator(), device="cpu")
    frame0, frame1 = torch.zeros(1, 3, 8, 8), torch.ones(1, 3, 8, 8)
    result = interpolator.interpolate_at(frame0, frame1, [[Fraction(3, 4)]])
    assert sorted(result[0]) == [Fraction(1, 2), Fraction(3, 4)]
    with pytest.raises(ValueError, match="not a dyadic point"):
        interpolator.interpolate_at(frame0, frame1, [[Fraction(1, 3)]])
    with pytest.raises(ValueError, match="makes only the middle frame"):
        interpolator.interpolate(frame0, frame1, time=0.25)


def test_static_bars_take_the_time_weighted_mean_at_any_time():
    frame0, frame1 = torch.rand(1, 3, 96, 96), torch.rand(1, 3, 96, 96)
    frame0[..., :12, :] = frame1[..., :12, :] = 0.0  # a letterbox bar, the same in both frames
    frame0[..., :12, :] += 0.004  # within the bar's noise: the bar is taken at t's weights
    interpolator = Interpolator(AverageGenerator(any_time=True), device="cpu", tile=64, tile_overlap=16)
    made = interpolator.interpolate_at(frame0, frame1, [[Fraction(1, 4)]])[0][Fraction(1, 4)]
    torch.testing.assert_close(made, (0.75 * frame0 + 0.25 * frame1)[0])  # tiled, inside the bars


def test_missing_default_weights_is_a_clear_error(no_bundled_weights):
    with pytest.raises(
        WeightsError, match=r"default weights \(not-installed\) are not in this install: pass --weights"
    ):
        Interpolator.from_pretrained(None)


def test_weights_resolve_from_a_run_folder_and_reject_a_discriminator(tmp_path):
    save_pretrained(create_model("sepconv-tiny"), tmp_path / "run" / "generator")
    assert resolve_weights(tmp_path / "run") == tmp_path / "run" / "generator"
    assert Interpolator.from_pretrained(tmp_path / "run", device="cpu").model.kernel_size == 5
    save_pretrained(create_model("wgan-critic"), tmp_path / "critic")
    with pytest.raises(CheckpointError, match="not a generator"):
        Interpolator.from_pretrained(tmp_path / "critic", device="cpu")
    with pytest.raises(WeightsError, match="weights not found"):
        resolve_weights(tmp_path / "nowhere")


@pytest.mark.slow
def test_compiled_network_matches_eager_and_leaves_the_model_plain():
    torch.manual_seed(0)
    model = create_model("sepconv-tiny")
    eager = Interpolator(model, device="cpu")
    compiled = Interpolator(model, device="cpu", compile=True)
    assert compiled.model is model and "_estimate_kernels" not in vars(model)
    assert compiled.network.conv1 is model.conv1  # the weights are shared, not copied
    frame0, frame1 = torch.rand(2, 3, 40, 56), torch.rand(2, 3, 40, 56)
    torch.testing.assert_close(
        compiled.interpolate(frame0, frame1), eager.interpolate(frame0, frame1), atol=1e-5, rtol=0
    )


def test_both_generators_keep_the_contract_and_the_interpolator_uses_their_multiple():
    from sepgan.models.protocol import Generator

    sepconv, flow = create_model("sepconv-tiny"), create_model("flow-sepconv-tiny")
    assert isinstance(sepconv, Generator) and isinstance(flow, Generator)
    assert not isinstance(create_model("wgan-critic"), Generator)
    assert (sepconv.multiple, flow.multiple) == (32, 16)
    assert sepconv.estimate_flows(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)) is None
    interpolator = Interpolator(flow, device="cpu", tile=40, tile_overlap=16)
    assert interpolator.multiple == 16 and interpolator.tile == 48  # rounded to 16, not 32
    seen = []
    flow.register_forward_pre_hook(lambda module, inputs: seen.append(tuple(inputs[0].shape[-2:])))
    interpolator.tile = None
    interpolator.interpolate(torch.rand(3, 40, 50), torch.rand(3, 40, 50))
    assert seen == [(48, 64)]  # padded to multiples of 16
