"""`sepgan compare` and sepgan.evaluation.compare: tiny models, two tiny benchmarks, every output."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from sepgan.checkpoint import save_pretrained
from sepgan.cli import app
from sepgan.evaluation.compare import COLUMNS, HELD_OUT_ROW, REFERENCE_ROW, CompareError, parse_named_weights
from sepgan.models import create_model
from synthetic import moving_frames, write_frame_folder

pytest.importorskip("torchmetrics")


def _compare(arguments: list[str]):
    return CliRunner().invoke(app, ["compare", *arguments])


def _perturbed(seed: int, **options) -> torch.nn.Module:
    """A flow-sepconv-tiny whose every weight is moved at random (fresh, its heads are zero: the flow
    ensemble exactly), so two seeds give two different models."""
    model = create_model("flow-sepconv-tiny", **options)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn(parameter.shape, generator=generator))
    return model


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("compare")
    middlebury = root / "tiny-middlebury"
    for index, shift in enumerate([(1, 2), (-2, 1)]):
        frame0, target, frame1 = moving_frames(3, 64, 80, shift=shift, seed=index)
        folder = middlebury / f"Scene{index}"
        folder.mkdir(parents=True)
        for name, frame in (("frame10", frame0), ("frame11", frame1), ("frame10i11", target)):
            Image.fromarray(frame).save(folder / f"{name}.png")
    return {
        "middlebury": middlebury,
        "clip": write_frame_folder(root / "clip", moving_frames(5, 64, 80, shift=(2, 3), seed=7)),
        "a": save_pretrained(_perturbed(1), root / "a"),
        # One flow estimate instead of four: its own flow group.
        "b": save_pretrained(_perturbed(2, flow_variants=1), root / "b"),
        "out": root / "out",
    }


@pytest.fixture(scope="module")
def run(setup) -> tuple[object, dict]:
    arguments = [
        str(setup["middlebury"]), str(setup["clip"]), "-o", str(setup["out"]),
        "--model", f"a={setup['a']}", "--model", f"b={setup['b']}", "--model", "ens=flow-ensemble",
        "--device", "cpu", "--workers", "1", "--limit", "2", "--crop-size", "24", "--crops", "2",
        "--no-progress",
    ]  # fmt: skip
    result = _compare(arguments)
    assert result.exit_code == 0, result.output
    return result, json.loads((setup["out"] / "results.json").read_text())


def test_the_table_has_every_model_metric_and_benchmark(setup, run):
    result, results = run
    table = (setup["out"] / "results.md").read_text()
    assert result.stdout == table  # the command prints the table it wrote
    assert f"results written to {setup['out']}" in result.stderr
    for name in ("a", "b", "ens", REFERENCE_ROW, HELD_OUT_ROW, "tiny-middlebury", "clip"):
        assert f"| {name} |" in table
    for title, _ in COLUMNS.values():
        assert title in table
    rows = results["results"]
    assert [(row["benchmark"], row["row"]) for row in rows] == [
        (benchmark, row)
        for benchmark in ("tiny-middlebury", "clip", HELD_OUT_ROW)
        for row in ("a", "b", "ens", REFERENCE_ROW)
    ]
    for row in rows:
        assert row["samples"] == 2
        assert all(math.isfinite(row[key]) for key in COLUMNS), row
    csv_lines = (setup["out"] / "results.csv").read_text().splitlines()
    assert csv_lines[0] == "benchmark,row,samples," + ",".join(COLUMNS) and len(csv_lines) == 1 + len(rows)
    assert len(results["samples"]) == 2 * 2 * 4  # benchmarks × samples × rows


def test_flows_are_shared_by_models_with_the_same_flow_settings(run):
    _, results = run
    assert results["flow_groups"] == [["a", "ens"], ["b"]]
    # ens is the flow ensemble itself: on the shared flows it is the reference, bit for bit.
    by_row = {(row["benchmark"], row["row"]): row for row in results["results"]}
    for benchmark in ("tiny-middlebury", "clip"):
        assert by_row[(benchmark, "ens")] == {**by_row[(benchmark, REFERENCE_ROW)], "row": "ens"}
        assert by_row[(benchmark, "a")]["psnr"] != by_row[(benchmark, "b")]["psnr"]


def test_montages_show_inputs_models_and_truth_at_twice_the_size(setup, run):
    _, results = run
    for benchmark in ("tiny-middlebury", "clip"):
        picture = np.asarray(Image.open(setup["out"] / "montages" / f"{benchmark}.png"))
        crops = results["montages"][benchmark]
        assert len(crops) == 2
        # Rows: 16 px caption + 2 × 24 px; columns: frame0, frame1, a, b, ens, truth.
        assert picture.shape == (2 * (16 + 48), 6 * 48, 3)
        assert crops[0]["disagreement"] >= crops[1]["disagreement"] > 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--model", "L1"], "error: expected NAME=WEIGHTS, got 'L1'"),
        (["--model", "x=flow-ensemble", "--model", "x=flow-ensemble"], "error: --model names must differ"),
        (["--model", "x=flow-ensemble", "--limit", "0"], "error: --limit must be at least 1, got 0"),
        (["--model", "x=no-such-weights"], "error: "),
    ],
)
def test_mistakes_in_the_arguments_are_one_line_errors(setup, tmp_path, extra, message):
    result = _compare([str(setup["middlebury"]), "-o", str(tmp_path / "out"), *extra])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(message), result.stderr
    assert result.stderr.splitlines()[-1] == errors[0] and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_parse_named_weights():
    parsed = parse_named_weights("dcgan=runs/flow-dcgan/generator-step_001000")
    assert (parsed.name, parsed.weights) == ("dcgan", "runs/flow-dcgan/generator-step_001000")
    with pytest.raises(CompareError):
        parse_named_weights("=weights")
