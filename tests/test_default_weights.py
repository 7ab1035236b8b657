"""The bundled default weights: they load with no arguments, are small, and really move pixels."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sepgan.evaluation.methods import AverageMethod, OursMethod
from sepgan.evaluation.metrics import psnr
from sepgan.interpolator import Interpolator
from sepgan.weights import DEFAULT_WEIGHTS, bundled_weights, resolve_weights
from synthetic import moving_frames


def test_the_default_is_the_flow_ensemble_and_the_learned_model_ships_in_fp16():
    assert DEFAULT_WEIGHTS == "flow-ensemble" and {"flow-ensemble", "sepgan-flow"} <= set(bundled_weights())
    default = Interpolator.from_pretrained(None, device="cpu").model
    assert default.architecture == "flow-sepconv" and not default.with_network
    assert sum(p.numel() for p in default.parameters()) == 0  # the classical part alone
    assert (resolve_weights("sepgan-flow") / "model.safetensors").stat().st_size < 4 * 2**20
    learned = Interpolator.from_pretrained("sepgan-flow", device="cpu").model
    assert learned.with_network and learned.flow_variants == 4
    assert all(p.dtype == torch.float32 for p in learned.parameters())  # fp16 on disk only


def test_default_model_moves_pixels_on_a_pan():
    frames = moving_frames(3, 96, 128, shift=(2, 3), seed=21)
    ours = OursMethod(None, device="cpu")
    ours.setup()
    middle = ours(frames[0], frames[2])
    target = frames[1]
    average = AverageMethod()(frames[0], frames[2])
    crop = (slice(8, -8), slice(8, -8))  # content entering at the borders has no true answer
    assert psnr(middle[crop], target[crop]) > psnr(average[crop], target[crop]) + 8
    # An integer pan is exact for flow alone (PSNR capped at 100 dB); the learned model's
    # corrections add about one grey level of error where nothing needs correcting
    # (52.3 dB when measured; MODEL.md).
    assert psnr(middle[crop], target[crop]) > 60
    learned = OursMethod("sepgan-flow", device="cpu")
    learned.setup()
    assert psnr(learned(frames[0], frames[2])[crop], target[crop]) > 45


@pytest.mark.parametrize("size", [(61, 45), (144, 176)])
def test_default_model_keeps_any_size(size):
    frames = moving_frames(2, *size, shift=(1, 1), seed=22)
    interpolator = Interpolator.from_pretrained(None, device="cpu")
    frame0 = torch.from_numpy(frames[0]).permute(2, 0, 1).float() / 255
    frame1 = torch.from_numpy(frames[1]).permute(2, 0, 1).float() / 255
    middle = interpolator.interpolate(frame0, frame1)
    assert middle.shape == (3, *size)
    assert np.isfinite(middle.numpy()).all()


def test_default_runs_a_four_way_flow_ensemble_and_flow_variants_overrides_it(tmp_path):
    from sepgan.checkpoint import save_pretrained
    from sepgan.cli import load_interpolator
    from sepgan.models import create_model
    from sepgan.options import OptionError

    assert load_interpolator(None, device="cpu").model.flow_variants == 4
    frames = moving_frames(2, 64, 96, shift=(1, 2), seed=23)
    frame0, frame1 = (torch.from_numpy(f).permute(2, 0, 1).float()[None] / 255 for f in frames)
    fast = load_interpolator(None, device="cpu", flow_variants=1)
    assert fast.model.estimate_flows(frame0, frame1).shape == (1, 4, 64, 96)
    with pytest.raises(OptionError, match="between 1 and 4"):
        load_interpolator(None, device="cpu", flow_variants=5)
    save_pretrained(create_model("sepconv-tiny"), tmp_path / "plain")
    with pytest.raises(OptionError, match="flow-guided models; sepconv computes no flow"):
        load_interpolator(tmp_path / "plain", device="cpu", flow_variants=2)


def test_flow_variants_is_given_at_load_time_so_the_memory_estimate_and_tiling_follow_it(
    tmp_path, monkeypatch
):
    from sepgan.checkpoint import save_pretrained
    from sepgan.cli import load_interpolator
    from sepgan.models import create_model, registry

    folder = save_pretrained(create_model("flow-sepconv-tiny", flow_variants=1), tmp_path / "v1")
    one = create_model("flow-sepconv-tiny", flow_variants=1).inference_bytes_per_pixel
    four = create_model("flow-sepconv-tiny", flow_variants=4).inference_bytes_per_pixel
    padded = 1088 * 1920  # 1080p padded to the model's multiple of 16
    budget_mb = (one + four) / 2 * padded / 2**20  # the V = 1 model fits, the V = 4 one does not
    built = []
    monkeypatch.setattr(
        registry, "create_model", lambda name, **config: built.append(config) or create_model(name, **config)
    )
    interpolator = load_interpolator(folder, device="cpu", flow_variants=4, max_memory_mb=budget_mb)
    assert [config["flow_variants"] for config in built] == [4]  # built once, with the final config
    assert interpolator.model.flow_variants == 4
    assert interpolator.bytes_per_pixel == interpolator.model.inference_bytes_per_pixel == four
    assert interpolator.tile_size(1080, 1920) is not None  # tiles: V = 4 exceeds the budget
    assert load_interpolator(folder, device="cpu", max_memory_mb=budget_mb).tile_size(1080, 1920) is None


def test_the_gan_model_ships_and_interpolates_a_pair_from_the_command_line(tmp_path):
    """Issue 16: `sepgan interpolate a.png b.png -o mid.png --weights sepgan-gan`."""
    from typer.testing import CliRunner

    from sepgan.checkpoint import load_pretrained
    from sepgan.cli import app
    from sepgan.media.frames import load_image, save_image

    assert "sepgan-gan" in bundled_weights()
    folder = resolve_weights("sepgan-gan")
    assert (folder / "model.safetensors").stat().st_size < 4 * 2**20
    gan = load_pretrained(folder)
    assert gan.architecture == "flow-sepconv" and gan.with_network and gan.flow_variants == 4
    metadata = json.loads((folder / "config.json").read_text())["metadata"]
    assert metadata["mode"] in ("dcgan", "wgan-gp")  # an adversarial fine-tune, not the L1 weights
    l1 = load_pretrained(resolve_weights("sepgan-flow"))
    pairs = zip(gan.state_dict().values(), l1.state_dict().values(), strict=True)
    assert any(not torch.equal(a, b) for a, b in pairs)

    frames = moving_frames(3, 64, 80, shift=(2, 1), seed=23)
    for index in (0, 2):
        save_image(torch.from_numpy(frames[index]).permute(2, 0, 1).float() / 255, tmp_path / f"{index}.png")
    arguments = ["interpolate", str(tmp_path / "0.png"), str(tmp_path / "2.png")]
    arguments += ["-o", str(tmp_path / "mid.png"), "--weights", "sepgan-gan", "--quiet"]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    middle = (load_image(tmp_path / "mid.png").permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    average = AverageMethod()(frames[0], frames[2])
    crop = (slice(8, -8), slice(8, -8))
    assert psnr(middle[crop], frames[1][crop]) > psnr(average[crop], frames[1][crop]) + 8
