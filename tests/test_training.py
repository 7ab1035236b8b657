"""Training: every mode trains, checkpoints, resumes exactly; L1 really compensates motion."""

from __future__ import annotations

import json
import math

import pytest
import torch

from sepgan.checkpoint import load_pretrained, load_training_state
from sepgan.config import load_train_config
from sepgan.training import TrainingError, batch_psnr, train
from synthetic import moving_frames, to_tensor, write_frame_folder

TINY_MODEL = ["model.name=sepconv-tiny"]


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Two folders of frames with different motions."""
    root = tmp_path_factory.mktemp("clips")
    write_frame_folder(root / "a", moving_frames(8, 40, 40, shift=(1, 1), seed=1))
    write_frame_folder(root / "b", moving_frames(8, 40, 40, shift=(0, -1), seed=2))
    return root


def tiny_config(clips, output_dir, mode, steps, extra=()):
    return load_train_config(
        None,
        [
            f"mode={mode}",
            f"output_dir={output_dir}",
            f"data.paths=[{clips}]",
            "data.crop_size=32",
            "data.batch_size=4",
            "data.validation_size=2",
            f"max_steps={steps}",
            "log_every=1",
            "validate_every=2",
            "image_every=4",
            "checkpoint_every=2",
            "optim.generator_lr=1e-3",
            "optim.discriminator_lr=1e-4",
            "discriminator.options={channels: [8, 16, 16, 16]}",
            "lambda_l1.steps=4",
            "device=cpu",
            *TINY_MODEL,
            *extra,
        ],
    )


def state_tensors(path):
    state = load_training_state(path)
    tensors = {f"generator.{k}": v for k, v in state["generator"].items()}
    tensors.update({f"discriminator.{k}": v for k, v in state.get("discriminator", {}).items()})
    return state, tensors


# The patch adversaries with a warm-up that a resume at step 3 has just left, and snapshots.
PATCH_GAN = ["optim.discriminator_warmup_steps=2", "snapshot_every=2"]


@pytest.mark.parametrize(
    ("mode", "extra"),
    [
        pytest.param("l1", [], id="l1"),
        pytest.param("dcgan", [], id="dcgan"),
        pytest.param("wgan-gp", ["optim.n_critic=2"], id="wgan-gp"),
        pytest.param("dcgan", ["discriminator.name=patch-discriminator", *PATCH_GAN], id="dcgan-patch"),
        pytest.param(
            "wgan-gp", ["optim.n_critic=2", "discriminator.name=patch-critic", *PATCH_GAN], id="wgan-gp-patch"
        ),
    ],
)
@pytest.mark.slow
def test_mode_trains_checkpoints_and_resumes_exactly(clips, tmp_path, mode, extra):
    straight = train(tiny_config(clips, tmp_path / "straight", mode, 6, extra), progress=False)
    assert straight.step == 6

    # Every logged loss is finite and the run folder holds all artefacts.
    run = tmp_path / "straight"
    for name in (
        "config.yaml",
        "training_state.pt",
        "metrics.jsonl",
        "generator/model.safetensors",
        "generator/config.json",
        "images/step_000004.png",
    ):
        assert (run / name).exists(), name
    assert any((run / "tensorboard").iterdir())
    if mode != "l1":
        assert (run / "discriminator" / "model.safetensors").exists()
        keys = set(straight.history[-1])
        expected = "discriminator/bce" if mode == "dcgan" else "critic/gradient_penalty"
        assert expected in keys and "generator/adversarial" in keys
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert any("validation/psnr" in line for line in lines)

    # Stop after 3 steps, then resume to 6: identical weights, optimiser moments and discriminator.
    train(tiny_config(clips, tmp_path / "resumed", mode, 3, extra), progress=False)
    resumed = train(tiny_config(clips, tmp_path / "resumed", mode, 6, extra), resume=True, progress=False)
    assert resumed.step == 6
    straight_state, straight_tensors = state_tensors(run / "training_state.pt")
    resumed_state, resumed_tensors = state_tensors(tmp_path / "resumed" / "training_state.pt")
    assert straight_state["step"] == resumed_state["step"] == 6
    assert straight_tensors.keys() == resumed_tensors.keys()
    for key, value in straight_tensors.items():
        assert torch.equal(value, resumed_tensors[key]), key
    moments = zip(
        straight_state["generator_optimizer"]["state"].values(),
        resumed_state["generator_optimizer"]["state"].values(),
        strict=True,
    )
    for a, b in moments:
        assert torch.equal(a["exp_avg_sq"], b["exp_avg_sq"])
    snapshots = sorted(path.name for path in run.glob("generator-step_*"))
    snapshot_steps = (2, 4, 6) if "snapshot_every=2" in extra else ()
    assert snapshots == [f"generator-step_{step:06d}" for step in snapshot_steps]
    for name in snapshots:  # written before and after the resume
        saved = load_pretrained(tmp_path / "resumed" / name).state_dict()
        for key, value in load_pretrained(run / name).state_dict().items():
            assert torch.equal(value, saved[key]), (name, key)

    # The saved generator folder rebuilds the model on its own.
    model = load_pretrained(run / "generator")
    assert sum(p.numel() for p in model.parameters()) > 0


@pytest.mark.slow
def test_l1_loss_goes_down(clips, tmp_path):
    result = train(
        tiny_config(clips, tmp_path / "run", "l1", 40, ["optim.generator_lr=3e-3"]), progress=False
    )
    losses = [entry["generator/l1"] for entry in result.history]
    first, last = sum(losses[:8]) / 8, sum(losses[-8:]) / 8
    assert last < 0.8 * first, (first, last)


def test_resume_refuses_a_different_config_and_a_missing_state(clips, tmp_path):
    with pytest.raises(TrainingError, match="no training state"):
        train(tiny_config(clips, tmp_path / "none", "l1", 2), resume=True, progress=False)
    train(tiny_config(clips, tmp_path / "run", "l1", 2), progress=False)
    with pytest.raises(TrainingError, match="already holds a run"):
        train(tiny_config(clips, tmp_path / "run", "l1", 4), progress=False)
    changed = tiny_config(clips, tmp_path / "run", "l1", 4, ["optim.generator_lr=5e-3"])
    with pytest.raises(TrainingError, match="config differs"):
        train(changed, resume=True, progress=False)


def test_init_from_starts_the_generator_from_pretrained_weights(clips, tmp_path):
    train(tiny_config(clips, tmp_path / "a", "l1", 2), progress=False)
    frozen = ["optim.generator_lr=1e-12"]  # one step that leaves the weights where they started
    init_from = f"model.init_from={tmp_path / 'a' / 'generator'}"
    train(tiny_config(clips, tmp_path / "b", "l1", 1, [*frozen, init_from]), progress=False)
    train(tiny_config(clips, tmp_path / "c", "l1", 1, frozen), progress=False)
    trained, started, fresh = (load_pretrained(tmp_path / run / "generator").state_dict() for run in "abc")
    assert all(torch.allclose(started[key], trained[key], atol=1e-6) for key in trained)
    assert max((fresh[key] - trained[key]).abs().max() for key in trained) > 1e-4
    with pytest.raises(TrainingError, match="init_from: .* is a sepconv, not a flow-sepconv"):
        train(
            tiny_config(clips, tmp_path / "d", "l1", 1, ["model.name=flow-sepconv-tiny", init_from]),
            progress=False,
        )
    with pytest.raises(TrainingError, match="init_from: weights not found"):
        train(
            tiny_config(clips, tmp_path / "e", "l1", 1, ["model.init_from=no-such-weights"]), progress=False
        )


def test_too_little_data_is_a_clear_error(tmp_path):
    write_frame_folder(tmp_path / "clip", moving_frames(3, 40, 40))
    config = tiny_config(tmp_path, tmp_path / "run", "l1", 2, ["data.batch_size=4"])
    with pytest.raises(TrainingError, match="fewer than data.batch_size"):
        train(config, progress=False)


@pytest.mark.slow
def test_overfit_one_translated_triplet_beats_averaging(tmp_path):
    """L1 on one triplet with a 4 px translation: SepConv must move pixels, not average them."""
    frames = moving_frames(3, 64, 64, shift=(2, -2), seed=7)  # frame0 → frame1 moves (4, -4) px
    write_frame_folder(tmp_path / "clip", frames)
    config = load_train_config(
        None,
        [
            f"output_dir={tmp_path / 'run'}",
            f"data.paths=[{tmp_path / 'clip'}]",
            "data.crop_size=64",
            "data.batch_size=1",
            "data.flip_horizontal=false",
            "data.flip_vertical=false",
            "data.temporal_reverse=false",
            "max_steps=150",
            "log_every=10",
            "validate_every=150",
            "image_every=150",
            "checkpoint_every=150",
            "optim.generator_lr=1e-3",
            "optim.generator_betas=[0.9, 0.999]",
            "device=cpu",
            "model.name=sepconv-tiny",
            "model.options={kernel_size: 9, channels: [8, 16, 16, 16, 16]}",
        ],
    )
    result = train(config, progress=False)
    frame0, target, frame1 = (to_tensor(f) for f in frames)
    model = load_pretrained(tmp_path / "run" / "generator")
    with torch.no_grad():
        prediction = model(frame0, frame1)
    model_psnr = batch_psnr(prediction, target)
    average_psnr = batch_psnr(0.5 * (frame0 + frame1), target)
    print(f"overfit: model {model_psnr:.2f} dB vs average {average_psnr:.2f} dB")
    assert result.validation_psnr == pytest.approx(model_psnr, abs=0.05)
    assert model_psnr > average_psnr + 5.0


def test_validation_batch_is_fixed_and_never_flipped_or_reversed(tmp_path):
    from sepgan.training.loop import _build_data, _validation_batch

    frames = moving_frames(5, 40, 40, shift=(1, 2), seed=4)
    write_frame_folder(tmp_path / "clip", frames)
    # A crop as large as the frame leaves only flips and reversal to randomise.
    config = tiny_config(
        tmp_path,
        tmp_path / "run",
        "l1",
        2,
        ["data.crop_size=40", "data.batch_size=1", "data.validation_size=3"],
    )
    dataset, augment, _ = _build_data(config, rank=0, world_size=1)
    batch = _validation_batch(dataset, augment, config)
    again = _validation_batch(dataset, augment, config)
    assert torch.equal(batch.target, again.target)
    for row, start in enumerate([0, 1, 2]):
        assert torch.equal(batch.frame0[row : row + 1], to_tensor(frames[start]))
        assert torch.equal(batch.target[row : row + 1], to_tensor(frames[start + 1]))
        assert torch.equal(batch.frame1[row : row + 1], to_tensor(frames[start + 2]))
    assert augment.flip_horizontal and augment.temporal_reverse  # training augmentation restored


def test_bf16_autocast_training_keeps_the_op_in_float32(clips, tmp_path, monkeypatch):
    """The autocast path (used with bf16/fp16 on GPU) runs on CPU in bf16 too."""
    from sepgan.ops import separable_conv as op

    seen = []
    module = __import__("sepgan.models.sepconv", fromlist=["separable_conv"])

    def spy(frame, kernel_vertical, kernel_horizontal, **kwargs):
        out = op(frame, kernel_vertical, kernel_horizontal, **kwargs)
        seen.append((kernel_vertical.dtype, out.dtype))
        return out

    monkeypatch.setattr(module, "separable_conv", spy)
    result = train(tiny_config(clips, tmp_path / "run", "dcgan", 2, ["precision=bf16"]), progress=False)
    assert result.step == 2 and all(math.isfinite(v) for v in result.history[-1].values())
    assert (torch.bfloat16, torch.float32) in seen  # bf16 kernels in, float32 result out
