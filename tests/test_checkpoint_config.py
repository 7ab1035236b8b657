"""Checkpoints rebuild their model alone; configs parse, override and reject bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from sepgan.checkpoint import (
    CheckpointError,
    atomic_write,
    clean_state_dict,
    load_pretrained,
    load_training_state,
    save_pretrained,
    save_training_state,
)
from sepgan.config import ConfigError, LambdaSchedule, load_train_config
from sepgan.models import create_model
from sepgan.runtime import resolve_runtime, rng_state, set_rng_state


def test_pretrained_folder_rebuilds_the_model_alone(tmp_path):
    model = create_model("sepconv-tiny", kernel_size=7, kernel_normalization=True)
    save_pretrained(model, tmp_path / "ckpt")
    spec = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    assert spec["architecture"] == "sepconv" and spec["config"]["kernel_size"] == 7
    rebuilt = load_pretrained(tmp_path / "ckpt")
    assert rebuilt.config == model.config and not rebuilt.training
    frame0, frame1 = torch.rand(2, 1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(rebuilt(frame0, frame1), model.eval()(frame0, frame1))


@pytest.mark.parametrize("with_network", [False, True])
def test_a_config_saved_with_the_old_name_corrections_still_loads(tmp_path, with_network):
    model = create_model("flow-sepconv-tiny", flow_variants=1, with_network=with_network)
    save_pretrained(model, tmp_path / "ckpt")
    spec = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    spec["config"]["corrections"] = spec["config"].pop("with_network")  # as saved before the rename
    (tmp_path / "ckpt" / "config.json").write_text(json.dumps(spec))
    rebuilt = load_pretrained(tmp_path / "ckpt")
    assert rebuilt.config == model.config and rebuilt.with_network is with_network
    # a load-time override may use the new name on an old config
    assert load_pretrained(tmp_path / "ckpt", overrides={"with_network": with_network}).config == model.config
    spec["config"]["with_network"] = with_network  # both names: no guessing which one counts
    (tmp_path / "ckpt" / "config.json").write_text(json.dumps(spec))
    with pytest.raises(CheckpointError, match="both 'corrections' and its new name 'with_network'"):
        load_pretrained(tmp_path / "ckpt")


def test_half_precision_weights_load_as_float32(tmp_path):
    model = create_model("sepconv-tiny")
    save_pretrained(model, tmp_path / "ckpt", half=True)
    size_half = (tmp_path / "ckpt" / "model.safetensors").stat().st_size
    save_pretrained(model, tmp_path / "full")
    assert size_half < 0.6 * (tmp_path / "full" / "model.safetensors").stat().st_size
    rebuilt = load_pretrained(tmp_path / "ckpt")
    weight = next(rebuilt.parameters())
    assert weight.dtype == torch.float32
    assert torch.allclose(weight, next(model.parameters()), atol=1e-3)


def test_wrapped_model_keys_are_cleaned():
    state = {"module._orig_mod.conv.weight": torch.zeros(1), "bias": torch.ones(1)}
    assert set(clean_state_dict(state)) == {"conv.weight", "bias"}


@pytest.mark.parametrize("damage", ["missing_folder", "missing_weights", "bad_json", "wrong_model"])
def test_broken_checkpoints_are_clear_errors(tmp_path, damage):
    folder = tmp_path / "ckpt"
    save_pretrained(create_model("sepconv-tiny"), folder)
    if damage == "missing_folder":
        folder = tmp_path / "nowhere"
    elif damage == "missing_weights":
        (folder / "model.safetensors").unlink()
    elif damage == "bad_json":
        (folder / "config.json").write_text("{not json")
    else:
        spec = json.loads((folder / "config.json").read_text())
        spec["config"]["kernel_size"] = 9
        (folder / "config.json").write_text(json.dumps(spec))
    with pytest.raises(CheckpointError):
        load_pretrained(folder)


def test_atomic_write_leaves_old_file_when_the_writer_crashes(tmp_path):
    target = tmp_path / "state.pt"
    target.write_text("old")

    def crash(temp_path):
        with open(temp_path, "w") as handle:
            handle.write("half")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        atomic_write(target, crash)
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["state.pt"]


def test_training_state_round_trip_with_rng_loads_weights_only(tmp_path):
    torch.manual_seed(3)
    state = {"step": 5, "rng": [rng_state()], "weights": {"a": torch.arange(3)}}
    expected = torch.rand(4)  # the draw that follows the saved state
    save_training_state(tmp_path / "training_state.pt", state)
    loaded = load_training_state(tmp_path / "training_state.pt")
    set_rng_state(loaded["rng"][0])
    assert torch.equal(torch.rand(4), expected)
    assert loaded["step"] == 5


def test_config_file_overrides_and_types(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("mode: dcgan\ndata:\n  batch_size: 16\n")
    config = load_train_config(
        path, ["optim.generator_lr=1e-4", "data.paths=[a, b]", "data.flip_vertical=false"]
    )
    assert config.mode == "dcgan"
    assert config.data.batch_size == 16
    assert config.optim.generator_lr == pytest.approx(1e-4) and isinstance(config.optim.generator_lr, float)
    assert config.data.paths == ["a", "b"] and config.data.flip_vertical is False


def test_exponent_numbers_in_a_config_file_read_as_numbers(tmp_path):
    # PyYAML alone (YAML 1.1) reads 1e-4 as the string "1e-4"; files and overrides share one loader.
    path = tmp_path / "run.yaml"
    path.write_text(
        "max_steps: 2e3\n"
        "optim:\n"
        "  generator_lr: 1e-4\n"
        "  discriminator_lr: -2E-3\n"
        "  gradient_penalty_weight: 5e3\n"
        "  discriminator_betas: [0, 9e-1]\n"
    )
    config = load_train_config(path)
    optim = config.optim
    assert (optim.generator_lr, optim.discriminator_lr, optim.gradient_penalty_weight) == (1e-4, -2e-3, 5e3)
    assert all(isinstance(value, float) for value in (optim.generator_lr, optim.discriminator_lr))
    assert optim.discriminator_betas == [0.0, 0.9] and config.max_steps == 2000
    assert load_train_config(None, ["optim.generator_lr=1e-4"]).optim.generator_lr == optim.generator_lr


@pytest.mark.parametrize("text", ["fast", "1e-4x", "1e"])
def test_a_non_numeric_string_in_a_config_file_is_refused(tmp_path, text):
    path = tmp_path / "run.yaml"
    path.write_text(f"optim:\n  generator_lr: {text}\n")
    with pytest.raises(ConfigError, match=f"optim.generator_lr must be a number, got '{text}'"):
        load_train_config(path)


@pytest.mark.parametrize(
    "overrides,message",
    [
        (["mode=gan"], "mode must be one of"),
        (["data.batchsize=3"], "unknown config key"),
        (["data.batch_size=many"], "must be a number"),
        (["data.batch_size=2.5"], "must be an integer"),
        (["noequals"], "key=value"),
        (["lambda_l1.shape=cosine"], "unknown lambda schedule"),
    ],
)
def test_bad_overrides_are_rejected(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_train_config(None, overrides)


def test_shipped_configs_load_with_seed_defaults():
    from pathlib import Path

    configs = Path(__file__).resolve().parents[1] / "configs"
    dcgan = load_train_config(configs / "dcgan.yaml")
    wgan = load_train_config(configs / "wgan-gp.yaml")
    l1 = load_train_config(configs / "l1.yaml")
    assert (dcgan.data.batch_size, dcgan.data.crop_size) == (128, 64)
    assert dcgan.optim.generator_betas == [0.5, 0.999] and dcgan.optim.generator_lr == 3e-4
    assert wgan.optim.discriminator_betas == [0.0, 0.9] and wgan.optim.n_critic == 5
    assert wgan.optim.gradient_penalty_weight == 10.0
    assert l1.mode == "l1" and wgan.mode == "wgan-gp" and dcgan.mode == "dcgan"


def test_learning_rate_decay_is_cosine_then_flat_and_a_function_of_the_step():
    from sepgan.config import OptimConfig

    assert OptimConfig().lr_scale(12345) == 1.0
    optim = OptimConfig(decay_steps=100, lr_min_ratio=0.1)
    assert optim.lr_scale(0) == pytest.approx(1.0)
    assert optim.lr_scale(50) == pytest.approx(0.55)
    assert optim.lr_scale(100) == optim.lr_scale(5000) == pytest.approx(0.1)
    warm = OptimConfig(warmup_steps=10)
    assert warm.lr_scale(0) == pytest.approx(0.1) and warm.lr_scale(4) == pytest.approx(0.5)
    assert warm.lr_scale(9) == warm.lr_scale(500) == 1.0
    flow = load_train_config(Path(__file__).resolve().parents[1] / "configs" / "flow.yaml")
    assert flow.model.name == "flow-sepconv" and flow.optim.decay_steps == flow.max_steps


def test_lambda_schedule_decays_from_start_to_end():
    schedule = LambdaSchedule(start=100.0, end=0.5, steps=100, shape="exponential")
    assert schedule.value(0) == pytest.approx(100.0)
    assert schedule.value(50) == pytest.approx((100.0 * 0.5) ** 0.5)
    assert schedule.value(100) == schedule.value(10_000) == pytest.approx(0.5)
    assert LambdaSchedule(start=10, end=0, steps=10, shape="linear").value(5) == pytest.approx(5)
    assert LambdaSchedule(start=3, shape="constant").value(99) == 3


def test_runtime_cpu_defaults_and_errors():
    runtime = resolve_runtime("cpu", "auto")
    assert runtime.device.type == "cpu" and runtime.precision == "fp32"
    with pytest.raises(ValueError, match="fp16 is not supported on CPU"):
        resolve_runtime("cpu", "fp16")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_runtime("cuda", "auto")
