"""`sepgan evaluate` end to end on a generated Middlebury-layout fixture, and its user errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from sepgan.evaluation.cli import evaluate_command
from sepgan.evaluation.methods import AverageMethod, RepeatMethod
from sepgan.media.frames import from_uint8, load_image_uint8, save_image
from sepgan.metrics import st_lpips
from sepgan.stlpips import weights_path


@pytest.fixture
def app() -> typer.Typer:
    application = typer.Typer()
    application.command("evaluate")(evaluate_command)
    application.command("noop")(lambda: None)  # a second command keeps `evaluate` a subcommand
    return application


@pytest.fixture
def benchmark(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    root = tmp_path / "tiny-middlebury"
    for name in ("One", "Two"):
        for frame in ("frame10", "frame11", "frame10i11"):
            (root / name).mkdir(parents=True, exist_ok=True)
            image = rng.integers(0, 256, (32, 40, 3), dtype=np.uint8)
            save_image(from_uint8(image), root / name / f"{frame}.png")
    return root


def test_evaluate_writes_every_report_file(app: typer.Typer, benchmark: Path, tmp_path: Path):
    output = tmp_path / "report"
    result = CliRunner().invoke(
        app, ["evaluate", str(benchmark), "--methods", "average,repeat", "-o", str(output), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert "| tiny-middlebury | average | 2 |" in result.stdout
    for name in ("table.csv", "table.json", "table.md", "per_sample.csv", "psnr_tiny-middlebury.png"):
        assert (output / name).is_file(), name
    assert (output / "montages" / "tiny-middlebury" / "average.png").is_file()
    table = json.loads((output / "table.json").read_text())
    assert [row["method"] for row in table["results"]] == ["average", "repeat"]
    assert table["settings"]["layouts"] == {"tiny-middlebury": "middlebury"}
    assert len((output / "per_sample.csv").read_text().splitlines()) == 1 + 2 * 2


def test_without_the_perceptual_extra_st_lpips_is_left_out_with_one_note(
    app: typer.Typer, benchmark: Path, tmp_path: Path, monkeypatch
):
    from sepgan import metrics

    note = metrics.OPTIONAL_METRICS["st_lpips"][1]
    monkeypatch.setitem(metrics.OPTIONAL_METRICS, "st_lpips", ("sepgan_no_such_package", note))
    output = tmp_path / "report"
    result = CliRunner().invoke(
        app, ["evaluate", str(benchmark), "-m", "average", "-o", str(output), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert [line for line in result.output.splitlines() if "ST-LPIPS" in line] == [f"note: {note}"]
    assert "pip install 'sepgan[perceptual]'" in note
    assert "st_lpips" not in (output / "table.csv").read_text() + (output / "per_sample.csv").read_text()
    table = json.loads((output / "table.json").read_text())
    assert "st_lpips" not in table["metrics"] and "st_lpips" not in table["conventions"]
    assert "st_lpips" not in table["results"][0]


@pytest.mark.skipif(
    weights_path() is None, reason="stlpips-pytorch is not installed (pip install 'sepgan[perceptual]')"
)
def test_st_lpips_is_reported_beside_psnr_and_ssim(app: typer.Typer, benchmark: Path, tmp_path: Path):
    output = tmp_path / "report"
    result = CliRunner().invoke(
        app, ["evaluate", str(benchmark), "-m", "average,repeat", "-o", str(output), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert "| PSNR (dB) ↑ | SSIM ↑ | ST-LPIPS ↓ | IE ↓ |" in result.stdout
    assert "note:" not in result.output
    table = json.loads((output / "table.json").read_text())
    assert "st_lpips" in table["metrics"] and "ST-LPIPS" in table["conventions"]["st_lpips"]
    assert table["settings"]["metric_device"] == "cpu"
    with open(output / "per_sample.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    for row in rows:  # each frame's figure is the metric of its output, against its truth
        sample = benchmark / row["sample"]
        frame0, frame1, truth = (
            load_image_uint8(sample / f"{name}.png") for name in ("frame10", "frame11", "frame10i11")
        )
        made = (
            AverageMethod()(frame0, frame1) if row["method"] == "average" else RepeatMethod()(frame0, frame1)
        )
        assert float(row["st_lpips"]) == pytest.approx(st_lpips(made, truth), rel=1e-5)
    means = {r["method"]: r["st_lpips"] for r in table["results"]}
    assert means["average"] == pytest.approx(
        np.mean([float(r["st_lpips"]) for r in rows if r["method"] == "average"])
    )


@pytest.mark.skipif(
    weights_path() is None, reason="stlpips-pytorch is not installed (pip install 'sepgan[perceptual]')"
)
def test_frames_too_small_for_st_lpips_are_one_error_line(app: typer.Typer, tmp_path: Path):
    from synthetic import moving_frames, write_frame_folder

    folder = write_frame_folder(tmp_path / "small", moving_frames(3, 16, 24))
    result = CliRunner().invoke(app, ["evaluate", str(folder), "-m", "average", "-o", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == (
        "error: small 00001: ST-LPIPS needs images of at least 21×21, got (16, 24, 3)"
    )
    assert "Traceback" not in result.output


def test_ours_without_weights_is_skipped_with_a_message(
    app: typer.Typer, benchmark: Path, tmp_path: Path, no_bundled_weights
):
    result = CliRunner().invoke(
        app, ["evaluate", str(benchmark), "-m", "ours,average", "-o", str(tmp_path / "r"), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert "skipping ours" in result.output
    assert "| ours |" not in result.stdout


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["{missing}"], "no such file"),
        (["{benchmark}", "-m", "average,telepathy"], "unknown method telepathy"),
        (["{benchmark}", "-m", "ours"], "no method can run here"),
        (["{benchmark}", "--layout", "vimeo90k"], "no vimeo90k samples"),
    ],
)
def test_user_errors_are_one_line_without_traceback(
    app: typer.Typer, benchmark: Path, tmp_path: Path, arguments: list[str], message: str, no_bundled_weights
):
    filled = [a.format(missing=tmp_path / "absent", benchmark=benchmark) for a in arguments]
    result = CliRunner().invoke(app, ["evaluate", *filled, "-o", str(tmp_path / "r"), "--no-progress"])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_flow_backend_reaches_the_flow_methods_and_ours(
    app: typer.Typer, benchmark: Path, tmp_path: Path, monkeypatch
):
    import sepgan.evaluation.methods as methods
    from sepgan.interpolator import Interpolator

    backends: list[str] = []
    estimate = methods.estimate_flows

    def recording(frame0, frame1, preset, variants, workers=None, backend="opencv"):
        backends.append(backend)
        return estimate(frame0, frame1, preset, variants, workers, "opencv")  # the fast one, on a 40×32 pair

    loaded: list[str] = []

    def from_pretrained(weights=None, *, overrides=None, **settings):
        loaded.append(settings["flow_backend"])
        raise methods.MethodUnavailable("no weights in this test")

    monkeypatch.setattr(methods, "estimate_flows", recording)
    monkeypatch.setattr(Interpolator, "from_pretrained", from_pretrained)
    output = tmp_path / "report"
    result = CliRunner().invoke(
        app,
        ["evaluate", str(benchmark), "-m", "flow-fine,ours", "--flow-backend", "torch", "--device", "cpu",
         "-n", "1", "-o", str(output), "--no-progress"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert backends == ["torch"] and loaded == ["torch"]
    assert json.loads((output / "table.json").read_text())["settings"]["flow_backend"] == "torch"


def test_an_unknown_flow_backend_is_one_error_line(app: typer.Typer, benchmark: Path, tmp_path: Path):
    result = CliRunner().invoke(
        app,
        ["evaluate", str(benchmark), "-m", "flow-fine", "--flow-backend", "cuda", "-o", str(tmp_path / "r")],
    )
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: --flow-backend must be one of auto, opencv, torch, got 'cuda'"
    ]
    assert not (tmp_path / "r").exists()
