"""Test-time adaptation on tiny models and clips.

``sepgan.adapt``, ``interpolate --adapt`` and ``evaluate --adapt``.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest
import torch

from sepgan.adapt import AdaptError, AdaptOptions, adapt, save_adapted
from sepgan.checkpoint import load_pretrained, save_pretrained
from sepgan.interpolator import Interpolator
from sepgan.models import create_model
from sepgan.options import OptionError
from synthetic import moving_frames, write_frame_folder

# Small and quick: 64×64 frames (32×32 at the training scale), a few steps.
QUICK = AdaptOptions(steps=3, seconds=60, batch_size=2, crop_size=32, triplets=8, holdout=2, seed=1)


def _tiny_interpolator(seed: int = 0) -> Interpolator:
    torch.manual_seed(seed)
    model = create_model("flow-sepconv-tiny", flow_variants=1)
    return Interpolator(model, device="cpu", precision="fp32")


@pytest.fixture
def clip(tmp_path):
    return write_frame_folder(tmp_path / "clip", moving_frames(11, 64, 64, shift=(1, 2), seed=3))


def _parameters(interpolator) -> torch.Tensor:
    return torch.cat([p.detach().flatten().float() for p in interpolator.model.parameters()])


@pytest.mark.slow
def test_adaptation_changes_the_network_and_keeps_the_original(clip):
    base = _tiny_interpolator()
    before = _parameters(base).clone()
    # A budget no loaded machine reaches: the 3 steps, not the clock, end this run (under a load
    # of 7 on 2 cores, 60 s allowed only one step).
    options = dataclasses.replace(QUICK, guard=False, seconds=3600)
    result = adapt(base, clip, options, progress=False)
    assert result.adapted and result.steps == 3
    assert result.train_triplets >= 1 and result.holdout_triplets >= 1
    assert not torch.equal(_parameters(result.interpolator), before)
    assert torch.equal(_parameters(base), before)  # the loaded model itself is untouched
    assert result.psnr_before is not None and result.psnr_after is not None


def test_both_scales_train_together(clip):
    # Full-size frames allow 64-px crops, half-size ones only 32: a batch mixing them must still stack.
    options = dataclasses.replace(QUICK, scales=(1, 2), crop_size=64, batch_size=4, guard=False)
    result = adapt(_tiny_interpolator(), clip, options, progress=False)
    assert result.adapted and result.steps == QUICK.steps


def test_held_out_middles_are_never_trained_on(clip):
    from sepgan.adapt import _split, _Window

    windows = [_Window(centre, {}) for centre in range(1, 10)]
    import numpy as np

    training, holdout = _split(windows, QUICK, np.random.default_rng(0))
    held = {w.centre for w in holdout}
    for window in training:
        assert {window.centre - 1, window.centre, window.centre + 1}.isdisjoint(held)


def test_guard_falls_back_when_adaptation_hurts(clip):
    base = _tiny_interpolator()
    destructive = dataclasses.replace(QUICK, learning_rate=0.5, steps=4)
    result = adapt(base, clip, destructive, progress=False)
    assert result.psnr_after < result.psnr_before
    assert not result.adapted
    assert result.interpolator is base
    assert any("did not help" in note for note in result.notes)


@pytest.mark.slow
def test_adaptation_is_deterministic_with_a_seed(clip):
    first = adapt(_tiny_interpolator(), clip, dataclasses.replace(QUICK, guard=False), progress=False)
    second = adapt(_tiny_interpolator(), clip, dataclasses.replace(QUICK, guard=False), progress=False)
    other = adapt(_tiny_interpolator(), clip, dataclasses.replace(QUICK, guard=False, seed=2), progress=False)
    assert torch.equal(_parameters(first.interpolator), _parameters(second.interpolator))
    assert first.psnr_after == second.psnr_after
    assert not torch.equal(_parameters(first.interpolator), _parameters(other.interpolator))


def test_too_short_input_is_one_clear_error(tmp_path):
    folder = write_frame_folder(tmp_path / "short", moving_frames(4, 64, 64))
    with pytest.raises(AdaptError, match="at least 5 frames"):
        adapt(_tiny_interpolator(), folder, QUICK, progress=False)
    # every=2 (drop-a-frame evaluation) keeps 5 of 9 frames: enough; of 8 frames, 4: not.
    folder8 = write_frame_folder(tmp_path / "eight", moving_frames(8, 64, 64))
    with pytest.raises(AdaptError, match="the input has 4"):
        adapt(_tiny_interpolator(), folder8, QUICK, every=2, progress=False)


def test_bad_options_name_the_setting():
    with pytest.raises(AdaptError, match="learning_rate"):
        AdaptOptions(learning_rate=0).check()
    with pytest.raises(OptionError, match="adapt_steps must be at least 1, got 0") as caught:
        AdaptOptions(steps=0).check()
    assert caught.value.parameter == "adapt_steps"  # shown as --adapt-steps on the command line
    with pytest.raises(OptionError, match="adapt_seconds"):
        AdaptOptions(seconds=float("nan")).check()


def test_a_model_without_a_network_starts_from_the_bundled_one(clip):
    classical = create_model("flow-sepconv", flow_variants=1, with_network=False)
    assert not list(classical.parameters())
    base = Interpolator(classical, device="cpu", precision="fp32")
    result = adapt(base, clip, dataclasses.replace(QUICK, steps=1, guard=False), progress=False)
    network = result.interpolator.model
    assert network.with_network and network.flow_variants == 1  # the loaded model's classical settings
    bundled = load_pretrained(__import__("sepgan.weights", fromlist=["x"]).resolve_weights("sepgan-flow"))
    assert network.channels == bundled.channels


def test_saved_adapted_weights_reload(clip, tmp_path):
    result = adapt(_tiny_interpolator(), clip, dataclasses.replace(QUICK, guard=False), progress=False)
    assert save_adapted(result, tmp_path / "adapted", clip, seed=1)
    reloaded = load_pretrained(tmp_path / "adapted")
    assert torch.equal(
        torch.cat([p.flatten() for p in reloaded.parameters()]), _parameters(result.interpolator)
    )
    not_kept = dataclasses.replace(result, adapted=False)
    assert not save_adapted(not_kept, tmp_path / "none", clip, seed=1)
    assert not (tmp_path / "none").exists()


def _sepgan(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sepgan", *arguments], capture_output=True, text=True)


@pytest.mark.slow
def test_cli_adapt_errors_are_one_line(tmp_path, clip):
    frames = sorted(clip.iterdir())
    pair = _sepgan("interpolate", str(frames[0]), str(frames[1]), "-o", str(tmp_path / "mid.png"), "--adapt")
    assert pair.returncode == 2 and pair.stderr.strip().splitlines() == [
        "error: --adapt learns from a video or a frame folder; an image pair has no triplets"
    ]
    short = write_frame_folder(tmp_path / "short", moving_frames(4, 64, 64))
    result = _sepgan("interpolate", str(short), "-o", str(tmp_path / "out"), "--adapt", "-q")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: adaptation needs at least 5 frames")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_cli_interpolate_and_evaluate_with_adapt(tmp_path, clip):
    weights = save_pretrained(_tiny_interpolator().model, tmp_path / "tiny")
    out = tmp_path / "out"
    result = _sepgan(
        "interpolate",
        str(clip),
        "-o",
        str(out),
        "--weights",
        str(weights),
        "--adapt",
        "--adapt-steps",
        "2",
        "--adapt-save",
        str(tmp_path / "adapted"),
        "-q",
    )
    assert result.returncode == 0, result.stderr
    assert len(list(out.iterdir())) == 21
    assert "held-out triplets" in result.stderr
    assert (tmp_path / "adapted" / "config.json").exists() or "nothing saved" in result.stderr
    report = _sepgan(
        "evaluate",
        str(clip),
        "-m",
        "ours",
        "--weights",
        str(weights),
        "--adapt",
        "--adapt-steps",
        "2",
        "-o",
        str(tmp_path / "eval"),
        "--no-progress",
    )
    assert report.returncode == 0, report.stderr
    rows = [line for line in report.stdout.splitlines() if line.startswith("| clip")]
    assert [row.split("|")[2].strip() for row in rows] == ["ours", "ours-adapt"]
    assert "held-out triplets" in report.stderr


def test_triplets_across_a_cut_are_skipped_by_the_one_rule_and_its_threshold():
    from sepgan.adapt import _read_windows

    frames = moving_frames(8, 64, 64, shift=(0, 1), seed=1) + moving_frames(8, 64, 64, shift=(1, 0), seed=2)

    def read(threshold):
        rng = np.random.default_rng(0)
        return _read_windows(lambda: iter(frames), len(frames), 20, (1,), rng, threshold)

    windows, skipped = read(12.0)
    assert skipped.get("cut") == 2  # the two windows whose pairs span the cut between frames 7 and 8
    assert all(window.centre not in (7, 8) for window in windows)
    windows_off, skipped_off = read(None)
    assert "cut" not in skipped_off and len(windows_off) == len(windows) + 2


def test_adaptation_computes_flow_with_the_interpolators_backend(clip, monkeypatch):
    import sepgan.flow as flow

    torch.manual_seed(0)
    model = create_model("flow-sepconv-tiny", flow_variants=1)
    interpolator = Interpolator(model, device="cpu", precision="fp32", flow_backend="torch")
    backends: list[str] = []
    estimate = flow.estimate_flows

    def recording(frame0, frame1, preset, variants=1, workers=None, backend="opencv"):
        backends.append(backend)
        assert frame0.device == interpolator.runtime.device
        return estimate(frame0, frame1, preset, variants, workers, "opencv")  # the fast one on 64×64

    monkeypatch.setattr(flow, "estimate_flows", recording)
    options = dataclasses.replace(QUICK, steps=1, triplets=2, holdout=1, scales=(2,), guard=False)
    adapt(interpolator, clip, options, progress=False)
    assert backends and set(backends) == {"torch"}


def test_interpolate_adapt_with_an_unknown_flow_backend_is_one_error_line(clip, tmp_path):
    from synthetic import run_interpolate_cli

    result = run_interpolate_cli(clip, "-o", tmp_path / "out", "--adapt", "--flow-backend", "gpu")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: --flow-backend must be one of auto, opencv, torch, got 'gpu'"
    ]
