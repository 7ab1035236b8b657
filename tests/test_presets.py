"""Speed presets: each builds its bundled model with its overrides, for interpolate and evaluate alike."""

from __future__ import annotations

import pytest
from PIL import Image
from typer.testing import CliRunner

from sepgan.cli import app, load_interpolator
from sepgan.evaluation.methods import build_method
from sepgan.options import PRESETS, OptionError, resolve_model, resolve_preset
from synthetic import moving_frames

runner = CliRunner()


@pytest.mark.parametrize(
    "name,variants,dis,network",
    [("fast", 1, "fine", False), ("balanced", 4, "fine", False), ("best", 4, "fine", True)],
)
def test_each_preset_builds_its_model(name, variants, dis, network):
    model = load_interpolator(None, preset=name, device="cpu").model
    assert (model.flow_variants, model.flow_preset, model.with_network) == (variants, dis, network)
    method = build_method(
        "ours", weights=PRESETS[name].weights, device="cpu", overrides=PRESETS[name].overrides
    )
    method.setup()
    assert method.interpolator.model.config == model.config


def test_balanced_is_the_default_model():
    assert (
        load_interpolator(None, device="cpu").model.config
        == load_interpolator(None, preset="balanced", device="cpu").model.config
    )


def test_a_preset_excludes_weights_and_flow_variants_and_names_its_choices():
    with pytest.raises(OptionError, match="use either preset, or weights and flow_variants"):
        load_interpolator("sepgan-flow", preset="fast", device="cpu")
    with pytest.raises(OptionError, match="use either preset"):
        load_interpolator(None, preset="fast", flow_variants=2, device="cpu")
    with pytest.raises(OptionError, match="fast, balanced, best"):
        load_interpolator(None, preset="fastest", device="cpu")
    with pytest.raises(ValueError, match="fast, balanced, best"):
        resolve_preset("quick")


def test_one_resolution_of_preset_against_weights_for_every_caller():
    assert resolve_model(preset="fast") == PRESETS["fast"]
    assert resolve_model("runs/l1", flow_variants=2).overrides == {"flow_variants": 2}
    assert resolve_model(None).weights is None and resolve_model(None).overrides == {}
    with pytest.raises(OptionError) as caught:
        resolve_model("sepgan-flow", preset="best", alternatives=("weights",))
    assert str(caught.value) == "preset chooses the model; use either preset or weights"
    assert caught.value.parameter == ("preset", "weights")
    with pytest.raises(OptionError, match="flow_variants must be between 1 and 4, got 0"):
        resolve_model(None, flow_variants=0)


def test_the_preset_flag_reaches_the_model(tmp_path, monkeypatch):
    import sepgan.interpolator as pipeline

    seen = []
    real = pipeline.Interpolator.from_pretrained

    def spy(path, **kwargs):
        seen.append((path, kwargs.get("overrides")))
        return real(path, **kwargs)

    monkeypatch.setattr(pipeline.Interpolator, "from_pretrained", spy)
    frames = moving_frames(2, 32, 32)
    Image.fromarray(frames[0]).save(tmp_path / "a.png")
    Image.fromarray(frames[1]).save(tmp_path / "b.png")
    arguments = [
        "interpolate",
        str(tmp_path / "a.png"),
        str(tmp_path / "b.png"),
        "--device",
        "cpu",
        "--quiet",
    ]
    result = runner.invoke(app, [*arguments, "-o", str(tmp_path / "mid.png"), "--preset", "fast"])
    assert result.exit_code == 0, result.output
    assert seen == [("flow-ensemble", {"flow_variants": 1})]
    both = runner.invoke(
        app, [*arguments, "-o", str(tmp_path / "x.png"), "--preset", "best", "-w", "sepgan-flow"]
    )
    assert (
        both.exit_code == 2 and "--preset chooses the model; use either --preset, or --weights" in both.output
    )
