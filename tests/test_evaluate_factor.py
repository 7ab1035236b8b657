"""`sepgan evaluate --factor N`: every Nth frame of a video or frame folder kept, the N − 1 between
rebuilt and scored at t = j/N, overall and per position; ×2 as before; the refusals."""

from __future__ import annotations

import csv
import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from sepgan.evaluation.cli import evaluate_command
from sepgan.evaluation.methods import AverageMethod, FlowMethod
from sepgan.evaluation.metrics import psnr, st_lpips
from sepgan.stlpips import weights_path
from synthetic import moving_frames, write_frame_folder


@pytest.fixture
def app() -> typer.Typer:
    application = typer.Typer()
    application.command("evaluate")(evaluate_command)
    application.command("noop")(lambda: None)  # a second command keeps `evaluate` a subcommand
    return application


@pytest.fixture(scope="module")
def pan(tmp_path_factory) -> tuple[Path, list[np.ndarray]]:
    """A linear pan of 9 frames, 64×48 px, 1 px down and 1 px left a frame: the truth at every t."""
    frames = moving_frames(9, 48, 64, shift=(1, 1), seed=7)
    return write_frame_folder(tmp_path_factory.mktemp("clips") / "pan", frames), frames


def _evaluate(app: typer.Typer, *arguments: object):
    return CliRunner().invoke(app, ["evaluate", *map(str, arguments), "--no-progress"])


def _per_sample(output: Path) -> list[dict[str, str]]:
    with open(output / "per_sample.csv", newline="") as file:
        return list(csv.DictReader(file))


def test_factor_four_scores_three_positions_per_pair_against_the_real_frames(app, pan, tmp_path: Path):
    folder, frames = pan
    output = tmp_path / "report"
    result = _evaluate(app, folder, "-m", "flow-ensemble,average", "--factor", "4", "-o", output)
    assert result.exit_code == 0, result.output
    assert "×4: every 4th frame kept, 3 rebuilt between; 2 pairs" in result.output

    rows = _per_sample(output)
    assert len(rows) == 2 * 3 * 2  # pairs (0, 4) and (4, 8) × 3 positions × 2 methods
    averages = [row for row in rows if row["method"] == "average"]
    assert [(row["sample"], row["time"]) for row in averages] == [
        ("00001", "1/4"), ("00002", "2/4"), ("00003", "3/4"),
        ("00005", "1/4"), ("00006", "2/4"), ("00007", "3/4"),
    ]  # fmt: skip
    # the ground truth of frame k + j is the real frame k + j, rebuilt at t = j/4 from frames k and k + 4
    for row in averages:
        index = int(row["sample"])
        start, j = 4 * (index // 4), index % 4
        (made,) = AverageMethod().at_times(frames[start], frames[start + 4], [Fraction(j, 4)])
        assert float(row["psnr"]) == pytest.approx(psnr(made, frames[index]))

    psnr_tables = result.stdout.split("ST-LPIPS per position")[0]  # with the perceptual extra, a second table
    positions = [line for line in psnr_tables.splitlines() if line.startswith("| pan | ")]
    per_position = [line for line in positions if line.split("|")[2].strip() in ("1/4", "2/4", "3/4")]
    assert len(per_position) == 3
    table = json.loads((output / "table.json").read_text())
    assert table["settings"]["factor"] == 4
    by_position: dict[str, dict[str, float]] = {}
    for entry in table["positions"]:
        by_position.setdefault(entry["time"], {})[entry["method"]] = entry["psnr"]
        assert entry["samples"] == 2
    assert list(by_position) == ["1/4", "2/4", "3/4"]
    for scores in by_position.values():  # the warp beats the blend at every position
        assert scores["flow-ensemble"] > scores["average"] + 5
    assert "PSNR (dB) per position" in (output / "table.md").read_text()
    assert (output / "positions.csv").read_text().startswith("benchmark,time,method,samples,psnr")


@pytest.mark.skipif(
    weights_path() is None, reason="stlpips-pytorch is not installed (pip install 'sepgan[perceptual]')"
)
def test_factor_four_gives_st_lpips_per_position_too(app, pan, tmp_path: Path):
    folder, frames = pan
    output = tmp_path / "report"
    result = _evaluate(app, folder, "-m", "flow,average", "--factor", "4", "-n", "1", "-o", output)
    assert result.exit_code == 0, result.output
    table = (output / "table.md").read_text()
    assert table.index("PSNR (dB) per position") < table.index("ST-LPIPS per position")
    lines = table.split("ST-LPIPS per position")[1].splitlines()
    assert len([line for line in lines if line.startswith("| pan | ")]) == 3
    positions = json.loads((output / "table.json").read_text())["positions"]
    by_position: dict[str, dict[str, float]] = {}
    for entry in positions:
        by_position.setdefault(entry["time"], {})[entry["method"]] = entry["st_lpips"]
    assert list(by_position) == ["1/4", "2/4", "3/4"]
    for scores in by_position.values():  # the blend's ghosts are further from the truth than the warp
        assert 0 <= scores["flow"] < scores["average"]
    middle = [row for row in _per_sample(output) if row["time"] == "2/4" and row["method"] == "average"]
    made = AverageMethod().at_times(frames[0], frames[4], [Fraction(1, 2)])[0]
    assert float(middle[0]["st_lpips"]) == pytest.approx(st_lpips(made, frames[2]), rel=1e-5)


def test_factor_two_scores_the_dropped_frames_as_before(app, pan, tmp_path: Path):
    folder, frames = pan
    outputs = [tmp_path / "default", tmp_path / "two"]
    for output, extra in zip(outputs, ([], ["--factor", "2"]), strict=True):
        result = _evaluate(app, folder, "-m", "average,flow", "-n", "3", "-o", output, *extra)
        assert result.exit_code == 0, result.output
        assert "per position" not in result.stdout
    default, two = (_per_sample(output) for output in outputs)
    scores = [{key: row[key] for key in ("sample", "time", "method", "psnr", "ssim")} for row in default]
    assert scores == [{key: row[key] for key in ("sample", "time", "method", "psnr", "ssim")} for row in two]
    # drop-a-frame: (k, k + 2) → k + 1 for k = 0, 2, 4, each method's plain call
    expected = [
        psnr(method(frames[k], frames[k + 2]), frames[k + 1])
        for k in (0, 2, 4)
        for method in (AverageMethod(), FlowMethod())
    ]
    assert [float(row["psnr"]) for row in default] == pytest.approx(expected, abs=1e-9)
    assert {row["time"] for row in default} == {"1/2"}


def test_a_middle_only_method_is_skipped_at_factor_three(app, pan, tmp_path: Path):
    folder, _ = pan
    output = tmp_path / "report"
    result = _evaluate(
        app, folder, "-m", "flow-ensemble-bisect,average", "--factor", "3", "-n", "1", "-o", output
    )
    assert result.exit_code == 0, result.output
    assert "skipping flow-ensemble-bisect: makes only the middle frame" in result.output
    assert "t = 1/3, 2/3" in result.output
    assert "| flow-ensemble-bisect |" not in result.stdout
    assert {row["time"] for row in _per_sample(output)} == {"1/3", "2/3"}
    assert "flow-ensemble-bisect" in json.loads((output / "table.json").read_text())["skipped"]


def test_factor_four_by_bisection_runs_the_middle_only_method(app, pan, tmp_path: Path):
    folder, _ = pan
    output = tmp_path / "report"
    result = _evaluate(app, folder, "-m", "flow-ensemble-bisect", "--factor", "4", "-n", "1", "-o", output)
    assert result.exit_code == 0, result.output
    assert [row["time"] for row in _per_sample(output)] == ["1/4", "2/4", "3/4"]


@pytest.mark.parametrize(
    ("factor", "message"),
    [("1", "--factor 1: must be a whole number from 2"), ("0", "--factor 0: must be a whole number from 2")],
)
def test_a_factor_below_two_is_one_error_line(app, pan, tmp_path: Path, factor: str, message: str):
    folder, _ = pan
    result = _evaluate(app, folder, "-m", "average", "--factor", factor, "-o", tmp_path / "r")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"error: {message} to 1024"]
    assert not (tmp_path / "r").exists()


def test_a_triplet_layout_at_factor_three_is_one_error_line(app, pan, tmp_path: Path):
    from sepgan.media.frames import from_uint8, save_image

    folder, frames = pan
    for name, frame in zip(("frame10", "frame10i11", "frame11"), frames, strict=False):
        (tmp_path / "middlebury" / "Pan").mkdir(parents=True, exist_ok=True)
        save_image(from_uint8(frame), tmp_path / "middlebury" / "Pan" / f"{name}.png")
    result = _evaluate(app, tmp_path / "middlebury", "-m", "average", "--factor", "3", "-o", tmp_path / "r")
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: --factor 3: ")
    assert "middlebury benchmark" in line and "need a video or a frame folder" in line
    assert "Traceback" not in result.output


@pytest.mark.parametrize("factor", [2, 4])
def test_ours_adapt_learns_from_the_kept_frames_only(monkeypatch, tmp_path: Path, factor: int):
    import sepgan.adapt
    from sepgan.evaluation.methods import OursAdaptMethod

    asked = []

    def adapt(base, root, options, every, progress):
        asked.append(every)
        raise sepgan.adapt.AdaptError("not needed here")

    monkeypatch.setattr(sepgan.adapt, "adapt", adapt)
    method = OursAdaptMethod()
    method.base = object()  # what setup() loads; adapt() is replaced
    method.begin_benchmark("video", tmp_path, lambda message: None, factor=factor)
    assert asked == [factor]  # frames k and k + N only: never a frame it is scored on
