"""Options: one torch-free module of defaults, ranges and checks, whose errors name their parameter as data.

Every option error reaches the user as one ``error:`` line naming the flag, with exit code 2, through
the flag table of the command (sepgan.errors.reports_user_errors), never by parsing the message.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from sepgan import options
from sepgan.cli import app
from sepgan.options import OptionError

runner = CliRunner()


def test_importing_the_options_loads_no_torch():
    code = (
        "import sys, sepgan.options; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'av')))"
    )
    process = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert process.stdout.strip() == "[]", process.stdout


def test_the_flow_ensemble_range_is_the_mirrorings_flow_defines():
    from sepgan.flow import FLOW_VARIANTS

    assert len(FLOW_VARIANTS) == options.MAX_FLOW_VARIANTS


def test_library_defaults_are_the_options_defaults():
    import inspect

    from sepgan.adapt import AdaptOptions
    from sepgan.interpolator import Interpolator
    from sepgan.jobs import InterpolateOptions

    interpolator = inspect.signature(Interpolator).parameters
    assert interpolator["batch_size"].default == options.DEFAULT_BATCH_SIZE
    assert interpolator["max_memory_mb"].default == options.DEFAULT_MAX_MEMORY_MB
    job = InterpolateOptions()
    assert (options.check_crf(job.crf), job.max_depth, job.scene_threshold) == (
        options.DEFAULT_CRF, options.DEFAULT_MAX_DEPTH, options.DEFAULT_SCENE_THRESHOLD,
    )  # fmt: skip
    assert (AdaptOptions().steps, AdaptOptions().seconds) == (
        options.DEFAULT_ADAPT_STEPS,
        options.DEFAULT_ADAPT_SECONDS,
    )


@pytest.mark.parametrize(
    ("check", "arguments", "parameter"),
    [
        (options.check_interpolator_options, {"batch_size": 0}, "batch_size"),
        (options.check_interpolator_options, {"tile_overlap": -1}, "tile_overlap"),
        (options.check_interpolator_options, {"max_memory_mb": float("nan")}, "max_memory_mb"),
        (options.check_interpolator_options, {"workers": 0}, "workers"),
        (options.check_factor, {"factor": 1}, "factor"),
        (options.check_dyadic_factor, {"factor": 6}, "factor"),
        (options.check_max_depth, {"max_depth": -1}, "max_depth"),
        (options.check_crf, {"crf": 52}, "crf"),
        (options.check_scene_threshold, {"scene_threshold": 255.5}, "scene_threshold"),
        (options.check_limit, {"limit": 0}, "limit"),
        (options.check_flow_variants, {"variants": 5}, "flow_variants"),
        (options.parse_tile, {"text": "big"}, "tile"),
        (options.resolve_preset, {"name": "quick"}, "preset"),
    ],
)
def test_each_check_names_its_parameter_as_data(check, arguments, parameter):
    with pytest.raises(OptionError) as caught:
        check(**arguments)
    assert caught.value.parameters[0] == parameter
    assert str(caught.value).startswith(parameter)  # the library speaks in its own names


def test_a_target_rate_is_checked_against_the_input_rate():
    options.check_rate(options.HIGH_RATE_RATIO, parameter="factor", value=16, allow_high_fps=False)
    with pytest.raises(OptionError, match="more than 16× needs allow_high_fps") as caught:
        options.check_rate(32, parameter="fps", value="960", allow_high_fps=False)
    assert caught.value.parameter == ("fps", "allow_high_fps")
    options.check_rate(32, parameter="fps", value="960", allow_high_fps=True)
    with pytest.raises(OptionError, match="at most 1024× is supported"):
        options.check_rate(2048, parameter="factor", value=2048, allow_high_fps=True)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pair")
    for name in ("a.png", "b.png"):
        Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(folder / name)
    return folder


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--batch", "0"], "--batch must be at least 1, got 0"),
        (["--tile-overlap", "-1"], "--tile-overlap must be ≥ 0, got -1"),
        (["--max-memory-mb", "0"], "--max-memory-mb must be a positive number of MB, got 0.0"),
        (["--workers", "0"], "--workers must be at least 1, got 0"),
        (["--flow-variants", "5"], "--flow-variants must be between 1 and 4, got 5"),
        (["--preset", "quick"], "--preset must be one of fast, balanced, best, got 'quick'"),
        (["--preset", "fast", "--flow-variants", "1"],
         "--preset chooses the model; use either --preset, or --weights and --flow-variants"),
        (["--tile", "abc"], "--tile abc: use 'auto', 'none' or a size in pixels"),
        (["--tile", "40"], "--tile 64 px is too small for an overlap of 64 px; use at least 96"),
        (["--factor", "1"], "--factor 1: must be a whole number from 2 to 1024"),
        (["--factor", "0"], "--factor 0: must be a whole number from 2 to 1024"),
        (["--factor", "32"],
         "--factor 32 is 32× the input's frame rate; more than 16× needs --allow-high-fps"),
        (["--max-depth", "11"], "--max-depth must be between 0 and 10, got 11"),
        (["--crf", "52"], "--crf of h264 must be between 0 (best) and 51, got 52"),
        (["--scene-threshold", "256"], "--scene-threshold must be between 0 and 255 grey levels, got 256.0"),
        (["--device", "bogus"], "--device 'bogus': use auto, cpu, cuda or cuda:N"),
    ],
)  # fmt: skip
def test_each_interpolate_option_error_is_one_line_naming_its_flag(pair, weights, arguments, message):
    result = runner.invoke(
        app,
        ["interpolate", str(pair / "a.png"), str(pair / "b.png"), "-o", str(pair / "mid.png"), "--quiet",
         *(["--weights", str(weights)] if "--preset" not in arguments else []), *arguments],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert result.output == f"error: {message}\n"
    assert not (pair / "mid.png").exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["evaluate", "{folder}", "--limit", "0"], "--limit must be at least 1, got 0"),
        (["evaluate", "{folder}", "--preset", "fast", "-w", "{folder}"],
         "--preset chooses the model; use either --preset or --weights"),
        (["prepare", "{folder}", "-o", "{folder}/set", "--crop-size", "20"],
         "--crop-size must be a positive multiple of 16, got 20"),
        (["prepare", "{folder}", "-o", "{folder}/set", "--gaps", "0"],
         "--gaps must be distinct positive integers, got (0,)"),
        (["prepare", "{folder}", "-o", "{folder}/set", "--flow-variants", "9"],
         "--flow-variants must be between 1 and 4, got 9"),
        (["prepare", "{folder}", "-o", "{folder}/set", "--max-per-source", "0"],
         "--max-per-source must be ≥ 1, got 0"),
    ],
)  # fmt: skip
def test_evaluate_and_prepare_option_errors_name_their_flags(tmp_path, arguments, message):
    filled = [argument.format(folder=tmp_path) for argument in arguments]
    result = runner.invoke(app, [*filled, "--no-progress"])
    assert result.exit_code == 2, result.output
    assert result.output == f"error: {message}\n"
