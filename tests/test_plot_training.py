"""scripts/plot_training.py: panels chosen by the logged keys, runs overlaid, clear errors."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "plot_training.py"


@pytest.fixture(scope="module")
def plot_training():
    spec = importlib.util.spec_from_file_location("plot_training", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the script loads
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


def write_metrics(folder: Path, records: list[dict], tail: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(record) + "\n" for record in records) + tail
    (folder / "metrics.jsonl").write_text(text)
    return folder


def validation(step: int, psnr: float, baseline: bool = True) -> dict:
    record = {"step": step, "validation/psnr": psnr, "validation/sharpness_ratio": 0.6 + 0.01 * step}
    if baseline:
        record["validation/psnr_average_baseline"] = 27.4
    return record


def dcgan_run(folder: Path) -> Path:
    records = [validation(0, 30.0)]
    for step in range(1, 9):
        record = {"step": step, "discriminator/bce": 1.4 - 0.05 * step,
                  "discriminator/real_probability": 0.5 + 0.02 * step,
                  "discriminator/fake_probability": 0.5 - 0.02 * step}  # fmt: skip
        if step > 2:  # after a warm-up of 2 steps
            record.update(
                {"generator/l1": 0.03, "generator/adversarial": 0.8, "generator/lambda_l1": 100.0 / step}
            )
        records.append(record)
        if step % 4 == 0:
            records.append(validation(step, 30.0 + 0.1 * step))
    return write_metrics(folder, records)


def wgan_run(folder: Path) -> Path:
    records = [validation(0, 30.0, baseline=False)]
    for step in range(1, 9):
        records.append({"step": step, "critic/loss": -0.1 * step, "critic/wasserstein_estimate": 0.2 * step,
                        "critic/gradient_penalty": 0.01, "generator/l1": 0.03, "generator/adversarial": -0.5,
                        "generator/lambda_l1": 50.0})  # fmt: skip
    records.append(validation(8, 29.0, baseline=False))
    # A run being written: its last line may be cut off.
    return write_metrics(folder, records, tail='{"step": 9, "critic/lo')


@pytest.mark.slow
def test_two_runs_overlay_in_one_png_with_every_panel(plot_training, tmp_path):
    runs = [dcgan_run(tmp_path / "dcgan"), wgan_run(tmp_path / "wgan")]
    output = tmp_path / "plot.png"
    names = plot_training.plot_runs(runs, output, labels=["d", "w"], smooth=3)
    assert output.read_bytes().startswith(b"\x89PNG")
    assert names == [panel.title for panel in plot_training.PANELS]  # both modes together fill all nine
    assert not [path.name for path in tmp_path.iterdir() if ".sepgan-tmp-" in path.name]

    figure = plot_training.build_figure(plot_training.load_runs(runs, ["d", "w"]), smooth=3)
    axes = figure.axes
    assert [a.get_title().split(" (moving")[0] for a in axes] == names
    by_title = dict(zip(names, axes, strict=True))
    assert by_title["λ (weight of L1)"].get_yscale() == "log"
    legend = figure.legends[0]
    assert [text.get_text() for text in legend.get_texts()] == ["d", "w"]
    # Smoothed losses: a faint raw line under each smoothed line (two runs: four lines).
    assert len(by_title["generator L1"].get_lines()) == 4
    assert "moving average of 3" in by_title["generator L1"].get_title()
    assert "moving" not in by_title["validation PSNR (dB)"].get_title()
    # The dcgan run's baseline is dashed at 27.4; the wgan run has none, so its step-0 PSNR is dotted.
    psnr_lines = by_title["validation PSNR (dB)"].get_lines()
    references = {
        line.get_linestyle(): line.get_ydata()[0] for line in psnr_lines if line.get_linestyle() != "-"
    }
    assert references == {"--": 27.4, ":": 30.0}
    sharpness = [line.get_ydata() for line in by_title["validation sharpness ratio"].get_lines()]
    assert any(np.allclose(ydata, 1.0) for ydata in sharpness)


def test_panels_without_data_are_left_out(plot_training, tmp_path):
    run = write_metrics(tmp_path / "l1", [validation(0, 30.0), {"step": 1, "generator/l1": 0.05}])
    names = plot_training.plot_runs([run], tmp_path / "l1.png")
    assert names == ["generator L1", "validation PSNR (dB)", "validation sharpness ratio"]
    assert (tmp_path / "l1.png").is_file()


def test_moving_average_is_trailing_and_keeps_length(plot_training):
    values = np.array([1.0, 3.0, 5.0, 7.0])
    np.testing.assert_allclose(plot_training.moving_average(values, 2), [1.0, 2.0, 4.0, 6.0])
    np.testing.assert_allclose(plot_training.moving_average(values, 1), values)


def one_line_error(excinfo) -> str:
    message = excinfo.value.code
    assert isinstance(message, str) and message.startswith("error: ") and "\n" not in message
    return message


def test_missing_or_empty_metrics_is_a_one_line_error(plot_training, tmp_path):
    (tmp_path / "missing").mkdir()
    with pytest.raises(SystemExit) as excinfo:
        plot_training.main([str(tmp_path / "missing"), "-o", str(tmp_path / "out.png")])
    assert "metrics.jsonl not found" in one_line_error(excinfo)

    empty = write_metrics(tmp_path / "empty", [], tail="\n")
    with pytest.raises(SystemExit) as excinfo:
        plot_training.main([str(empty), "-o", str(tmp_path / "out.png")])
    assert "is empty" in one_line_error(excinfo)

    corrupt = write_metrics(tmp_path / "corrupt", [{"step": 1}], tail='not json\n{"step": 2}\n')
    with pytest.raises(SystemExit) as excinfo:
        plot_training.read_metrics(corrupt)
    assert "line 2" in one_line_error(excinfo)

    run = dcgan_run(tmp_path / "run")
    with pytest.raises(SystemExit) as excinfo:
        plot_training.main([str(run), "-o", str(tmp_path / "out.png"), "--labels", "a,b"])
    assert "--labels" in one_line_error(excinfo)
    assert not (tmp_path / "out.png").exists()


def test_main_writes_the_png_and_names_its_panels(plot_training, tmp_path, capsys):
    run = dcgan_run(tmp_path / "run")
    assert plot_training.main([str(run), "-o", str(tmp_path / "out.png"), "--smooth", "2"]) == 0
    assert (tmp_path / "out.png").read_bytes().startswith(b"\x89PNG")
    assert "7 panels" in capsys.readouterr().out  # no critic panels for a dcgan run
