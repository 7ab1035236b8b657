"""The memory plan (sepgan.memory): how --max-memory-mb is shared out, and that jobs follow it."""

from __future__ import annotations

from fractions import Fraction

import pytest

from sepgan.errors import InterpolationError
from sepgan.interpolator import Interpolator
from sepgan.jobs import InterpolateOptions, interpolate_folder
from sepgan.memory import PROCESS_MB, plan_memory, release_free_memory
from sepgan.models import create_model
from sepgan.options import DEFAULT_MAX_MEMORY_MB, OptionError
from synthetic import AverageGenerator, moving_frames, run_interpolate_cli, write_frame_folder


def _flow_ensemble(batch_size: int = 4, workers: int | None = None) -> Interpolator:
    """The bundled default's configuration (the classical flow ensemble: no weights to load)."""
    model = create_model("flow-sepconv", with_network=False)
    return Interpolator(model, device="cpu", batch_size=batch_size, workers=workers)


def _flow_sepconv(batch_size: int = 4, workers: int | None = None) -> Interpolator:
    """sepgan-flow's configuration (with its network: ≈ 1.4 kB a pixel in one call), random weights."""
    return Interpolator(create_model("flow-sepconv"), device="cpu", batch_size=batch_size, workers=workers)


def _plans(interpolator: Interpolator, budgets, cores: int = 2, **kwargs):
    for budget in budgets:
        try:
            yield (
                budget,
                plan_memory(interpolator, 1080, 1920, budget_mb=budget, codec="h264", cores=cores, **kwargs),
            )
        except InterpolationError:
            yield budget, None


@pytest.mark.parametrize("interpolator", [_flow_ensemble(workers=32), _flow_sepconv(workers=32)])
def test_a_shrinking_budget_gives_up_batch_then_flow_ahead_then_threads_and_tiles_then_refuses(interpolator):
    steps = []
    for budget, plan in _plans(interpolator, range(24000, 1000, -25), cores=32):
        if plan is None:
            steps.append("refused")
            continue
        assert plan.total_mb <= budget + 1e-6 and plan.fits
        steps.append((plan.flow_ahead, plan.batch_size, plan.workers, plan.tile))
    chosen = [step for step in steps if step != "refused"]
    assert steps == [*chosen, *["refused"] * (len(steps) - len(chosen))]  # once refused, refused for good
    # Each smaller budget gives something up: pairs a batch with flow-ahead kept, then flow-ahead, then
    # DIS threads, with tiles once the whole frame's call cannot fit.
    ranks = [(ahead, batch, workers, not tile) for ahead, batch, workers, tile in chosen]
    assert ranks == sorted(ranks, reverse=True)
    assert chosen[0] == (True, 4, 32, False) and chosen[-1] == (False, 1, 1, True)
    assert {(True, 1, 8, False), (False, 1, 8, False)} <= set(chosen)  # 8 DIS calls a pair: 8 threads


def test_a_budget_too_small_is_one_error_naming_the_option_and_what_the_frames_need():
    with pytest.raises(InterpolationError, match=r"1920×1080 frames need ≈ \d+ MB at the least") as caught:
        plan_memory(_flow_ensemble(), 1080, 1920, budget_mb=500, codec="h264", cores=2)
    assert caught.value.parameter == "max_memory_mb"
    assert "{max_memory_mb} {budget} cannot hold them" in caught.value.template
    assert str(caught.value).endswith("max_memory_mb 500 cannot hold them")


def test_tiles_do_not_depend_on_the_core_count():
    budgets = range(6000, 1000, -50)
    two, many = _plans(_flow_sepconv(), budgets), _plans(_flow_sepconv(), budgets, cores=32)
    for (_, few), (_, more) in zip(two, many, strict=True):
        if few is not None and more is not None:
            assert few.tile == more.tile
            assert not few.tile or few.call_memory_mb == more.call_memory_mb


def test_the_default_aims_at_its_target_without_slowing_dis_or_refusing():
    interpolator = _flow_ensemble()
    small = plan_memory(interpolator, 540, 960, budget_mb=None, codec="h264", cores=2)
    # on a CPU one pair gives both DIS threads calls (8 a pair): more pairs would only hold memory
    assert small.fits and (small.batch_size, small.flow_ahead, small.workers) == (1, True, 2)
    assert plan_memory(interpolator, 540, 960, budget_mb=None, codec="h264", cores=16).batch_size == 2
    huge = plan_memory(interpolator, 4320, 7680, budget_mb=None, codec="h264", cores=16)
    assert not huge.fits and (huge.batch_size, huge.flow_ahead, huge.workers) == (2, False, 16)
    # tiles as before there was a cap: only a network call over DEFAULT_MAX_MEMORY_MB
    whole = interpolator.bytes_per_pixel * 4320 * 7680 / 2**20
    assert huge.tile == (whole > DEFAULT_MAX_MEMORY_MB)
    assert InterpolateOptions().max_memory_mb is None  # the default


def test_a_job_runs_with_the_plans_batch(tmp_path, monkeypatch):
    write_frame_folder(tmp_path / "in", moving_frames(7, 32, 32))
    interpolator = Interpolator(AverageGenerator(), device="cpu", batch_size=3)
    budgets = [PROCESS_MB + step / 500 for step in range(1000)]  # the process alone is PROCESS_MB
    plans = {}
    for budget in budgets:
        if _fits(interpolator, budget):
            plan = plan_memory(interpolator, 32, 32, budget_mb=budget, codec="png", video=False)
            plans.setdefault(plan.batch_size, (budget, plan))
    assert set(plans) == {1, 2, 3}
    batches = []
    real = Interpolator.interpolate_at

    def recording(self, frame0, frame1, times, flows=None, neighbours=None):
        batches.append(len(times))
        return real(self, frame0, frame1, times, flows=flows, neighbours=neighbours)

    monkeypatch.setattr(Interpolator, "interpolate_at", recording)
    for batch, (budget, plan) in plans.items():
        batches.clear()
        model = AverageGenerator()
        options = InterpolateOptions(progress=False, scene_threshold=None, max_memory_mb=budget)
        interpolate_folder(interpolator.with_model(model), tmp_path / "in", tmp_path / f"out{batch}", options)
        assert max(batches) == batch and sum(batches) == model.pairs == 6
        # each network call takes what the plan left it (at least one pair)
        items = int(plan.call_memory_mb * 2**20 / interpolator.bytes_per_pixel // (32 * 32))
        assert max(model.batches) == min(batch, items)


def _fits(interpolator: Interpolator, budget: float) -> bool:
    try:
        plan_memory(interpolator, 32, 32, budget_mb=budget, codec="png", video=False)
    except InterpolationError:
        return False
    return True


def test_the_command_refuses_a_budget_that_cannot_hold_in_one_error_line(tmp_path):
    write_frame_folder(tmp_path / "in", moving_frames(3, 32, 48))
    result = run_interpolate_cli(tmp_path / "in", "-o", tmp_path / "out", "--max-memory-mb", "100")
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: 48×32 frames need ≈ "), result.output
    assert lines[0].endswith("--max-memory-mb 100 cannot hold them"), result.output
    assert not (tmp_path / "out").exists()


def test_with_settings_shares_the_model_and_checks_its_values():
    interpolator = Interpolator(AverageGenerator(), device="cpu", batch_size=3)
    planned = interpolator.with_settings(batch_size=1, workers=2, max_memory_mb=10.0)
    assert planned.model is interpolator.model and planned.network is interpolator.network
    assert (planned.batch_size, planned.workers, planned.max_memory_mb) == (1, 2, 10.0)
    assert (interpolator.batch_size, interpolator.workers) == (3, None)  # the original is unchanged
    assert planned.with_model(AverageGenerator()).batch_size == 1
    with pytest.raises(OptionError, match="batch_size must be at least 1"):
        interpolator.with_settings(batch_size=0, workers=None, max_memory_mb=None)


def test_release_free_memory_runs_anywhere():
    release_free_memory()  # glibc's malloc_trim, or nothing


def test_a_montage_and_more_frames_per_pair_cost_more():
    interpolator = _flow_ensemble()
    plain = plan_memory(interpolator, 720, 1280, budget_mb=None, codec="h264", cores=2)
    montage = plan_memory(interpolator, 720, 1280, budget_mb=None, codec="h264", cores=2, montage=True)
    times_eight = plan_memory(
        interpolator, 720, 1280, budget_mb=None, codec="h264", cores=2, ratio=Fraction(8)
    )
    assert montage.parts["encode"] > 2 * plain.parts["encode"]
    assert times_eight.parts["frames"] > plain.parts["frames"]


def test_a_tiled_plan_counts_every_tiles_crops_and_the_interpolator_tiles_as_planned():
    interpolator = _flow_sepconv()
    tiled = 0
    for _, plan in _plans(interpolator, range(4400, 1500, -100)):
        if plan is None or not plan.tile:
            continue
        planned = interpolator.with_settings(
            batch_size=plan.batch_size, workers=plan.workers, max_memory_mb=plan.call_memory_mb
        )
        tile = planned.tile_size(1080, 1920)
        crops = interpolator.tiled_pixels(1080, 1920, tile)
        # never thousands of tiles of the smallest size, whose overlaps would hold many frames' worth
        assert crops < 3 * 1080 * 1920
        crop_bytes = (2 * 12 + 12 + interpolator.model.flow_bytes_per_pixel) * crops
        assert plan.parts["network"] * 2**20 >= interpolator.bytes_per_pixel * tile**2 + crop_bytes
        assert planned._call_batch(tile * tile) == 1  # one tile a call
        tiled += 1
    assert tiled


def test_uint16_frames_count_twice_the_frame_memory():
    # Video of more than 8 bits carries its frames as uint16 (sepgan.media.writer.frame_bits).
    interpolator = _flow_ensemble()
    eight = plan_memory(interpolator, 720, 1280, budget_mb=None, codec="hevc", cores=2)
    sixteen = plan_memory(interpolator, 720, 1280, budget_mb=None, codec="hevc", cores=2, frame_bits=16)
    assert sixteen.parts["frames"] == pytest.approx(2 * eight.parts["frames"])
    assert sixteen.parts["network"] > eight.parts["network"]  # the frames made, as uint16
    assert sixteen.parts["decode"] == eight.parts["decode"]
