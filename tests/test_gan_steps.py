"""The adversarial steps learn in the right direction: D separates, G fools a frozen D, the critic widens W.

Tiny networks on a fixed batch of four 16×16 synthetic triplets (flow-sepconv-tiny,
two-layer adversaries), CPU fp32; each test runs a handful of steps. The
``discriminator_warmup_steps`` test runs the real training loop.
"""

from __future__ import annotations

import copy

import pytest
import torch

from sepgan import losses
from sepgan.checkpoint import load_pretrained, load_training_state
from sepgan.config import load_train_config
from sepgan.models import create_model
from sepgan.runtime import resolve_runtime
from sepgan.training import Batch, discriminator_step, generator_step, train
from synthetic import moving_frames, to_tensor, write_frame_folder

CPU = resolve_runtime("cpu", "fp32")
SIZE = 16
TINY_ADVERSARY = {"image_size": SIZE, "channels": (4, 8)}

# (adversary, steps, learning rate) that separate this batch. Spectral norm makes the patch
# discriminator slow to separate (every layer's gain is at most 1, so it must first turn its
# top singular directions towards what tells real from fake), and its one power iteration per
# forward makes larger rates oscillate.
DCGAN_ADVERSARIES = [
    pytest.param("dcgan-discriminator", 8, 1e-3, id="global"),
    pytest.param("patch-discriminator", 24, 5e-4, id="patch"),
]
# The DCGAN initialisation (N(0, 0.02)) starts a critic with an input gradient near 0, so its
# first steps mostly grow that gradient towards norm 1 (the penalty starts near its weight, 10).
CRITICS = [
    pytest.param("wgan-critic", 20, 3e-3, id="global"),
    pytest.param("patch-critic", 20, 5e-3, id="patch"),
]


def triplets(count: int = 4) -> Batch:
    """``count`` triplets of textures moving by one pixel a frame (the target is the true middle)."""
    frames = [moving_frames(3, SIZE, SIZE, shift=(1, -1), seed=seed) for seed in range(count)]
    return Batch(*(torch.cat([to_tensor(clip[index]) for clip in frames]) for index in range(3)))


def networks(adversary: str):
    torch.manual_seed(0)
    generator = create_model("flow-sepconv-tiny")
    return generator, create_model(adversary, **TINY_ADVERSARY)


def parameters(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: parameter.detach().clone() for name, parameter in module.named_parameters()}


def assert_unchanged(module: torch.nn.Module, before: dict[str, torch.Tensor]) -> None:
    for name, parameter in module.named_parameters():
        assert torch.equal(parameter, before[name]), name
        assert parameter.grad is None, name  # no gradient accumulated for the frozen network


def discriminator_steps(mode, generator, adversary, batch, steps, lr, betas=(0.5, 0.999)):
    optimizer = torch.optim.Adam(adversary.parameters(), lr=lr, betas=betas)
    return [
        discriminator_step(mode, generator, adversary, optimizer, batch, runtime=CPU) for _ in range(steps)
    ]


def probability_gap(logs: dict[str, float]) -> float:
    return logs["discriminator/real_probability"] - logs["discriminator/fake_probability"]


@pytest.mark.parametrize(("adversary", "steps", "lr"), DCGAN_ADVERSARIES)
@pytest.mark.slow
def test_discriminator_steps_separate_real_from_fake(adversary, steps, lr):
    generator, discriminator = networks(adversary)
    batch, generator_before = triplets(), parameters(generator)
    logs = discriminator_steps("dcgan", generator, discriminator, batch, steps, lr)
    # Each step logs its losses before its update: the last entry has seen steps - 1 updates.
    assert logs[-1]["discriminator/bce"] < logs[0]["discriminator/bce"] - 0.05, logs
    assert probability_gap(logs[-1]) > probability_gap(logs[0]) + 0.02, logs
    assert_unchanged(generator, generator_before)  # D's step judges fake.detach()


@pytest.mark.parametrize(("adversary", "steps", "lr"), DCGAN_ADVERSARIES)
@pytest.mark.slow
def test_generator_steps_raise_a_frozen_discriminators_fake_score(adversary, steps, lr):
    generator, discriminator = networks(adversary)
    batch = triplets()
    discriminator_steps("dcgan", generator, discriminator, batch, steps, lr)  # one with an opinion
    discriminator.zero_grad(set_to_none=True)
    discriminator.eval()  # frozen as a function too: no batch statistics, no power iteration

    def fake_score() -> float:
        with torch.no_grad():
            return discriminator(batch.frame0, batch.generate(generator), batch.frame1).mean().item()

    discriminator_before, score_before = parameters(discriminator), fake_score()
    optimizer = torch.optim.Adam(generator.parameters(), lr=2e-3, betas=(0.5, 0.999))
    adversarial = []
    for _ in range(8):
        _, logs = generator_step(
            "dcgan", generator, discriminator, optimizer, batch, lambda_l1=0.0, runtime=CPU
        )
        adversarial.append(logs["generator/adversarial"])
    assert adversarial[-1] < adversarial[0], adversarial
    assert fake_score() > score_before
    assert_unchanged(discriminator, discriminator_before)
    assert all(parameter.requires_grad for parameter in discriminator.parameters())  # unfrozen after


@pytest.mark.parametrize(("adversary", "steps", "lr"), CRITICS)
@pytest.mark.slow
def test_critic_steps_raise_the_wasserstein_estimate(adversary, steps, lr):
    generator, critic = networks(adversary)
    batch, generator_before = triplets(), parameters(generator)
    torch.manual_seed(1)  # the gradient penalty's alphas
    logs = discriminator_steps("wgan-gp", generator, critic, batch, steps, lr, betas=(0.0, 0.9))
    estimates = [entry["critic/wasserstein_estimate"] for entry in logs]
    assert estimates[-1] > estimates[0] + 0.01, estimates
    penalties = [entry["critic/gradient_penalty"] for entry in logs]
    assert min(penalties) >= 0 and penalties[-1] < penalties[0] / 2, penalties
    assert_unchanged(generator, generator_before)


def test_patch_critic_gradient_penalty_is_that_of_each_samples_mean_score():
    """The penalty of a real patch critic, against its definition computed one sample at a time."""
    generator, critic = networks("patch-critic")
    batch = triplets(3)
    with torch.no_grad():
        fake = batch.generate(generator)
    alpha = torch.tensor([0.2, 0.5, 0.9]).view(3, 1, 1, 1)
    penalty = losses.gradient_penalty(critic, batch.frame0, batch.target, fake, batch.frame1, alpha=alpha)
    expected = []
    for index in range(3):
        sample = slice(index, index + 1)
        middle = alpha[sample] * batch.target[sample] + (1 - alpha[sample]) * fake[sample]
        middle.requires_grad_(True)
        value = critic(batch.frame0[sample], middle, batch.frame1[sample]).mean()
        (gradient,) = torch.autograd.grad(value, middle)
        expected.append((gradient.norm() - 1) ** 2)
    torch.testing.assert_close(penalty, 10.0 * torch.stack(expected).mean())


# --- The loop: the adversary's warm-up on the frozen generator -----------------------------------


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    root = tmp_path_factory.mktemp("clip")
    write_frame_folder(root / "a", moving_frames(7, 24, 24, shift=(1, 1), seed=1))
    return root


def gan_config(clip, output_dir, steps, extra=()):
    return load_train_config(
        None,
        [
            "mode=dcgan",
            f"output_dir={output_dir}",
            f"data.paths=[{clip}]",
            f"data.crop_size={SIZE}",
            "data.batch_size=2",
            "data.validation_size=2",
            f"max_steps={steps}",
            "log_every=1",
            "validate_every=2",
            "image_every=4",
            "checkpoint_every=2",
            "snapshot_every=1",
            "optim.generator_lr=1e-3",
            "optim.discriminator_lr=1e-3",
            "optim.discriminator_warmup_steps=2",
            "discriminator.name=patch-discriminator",
            "discriminator.options={channels: [4, 8]}",
            "lambda_l1.start=50.0",
            "lambda_l1.steps=4",
            "device=cpu",
            "model.name=flow-sepconv-tiny",
            *extra,
        ],
    )


def test_discriminator_warmup_trains_only_the_adversary_then_starts_lambda(clip, tmp_path, monkeypatch):
    import sepgan.training.loop as loop

    initial = {}  # the networks as built, before any step
    build = loop.create_model

    def recording_create_model(name, **options):
        model = build(name, **options)
        initial.setdefault(name, copy.deepcopy(model.state_dict()))  # the first run's
        return model

    monkeypatch.setattr(loop, "create_model", recording_create_model)
    run = tmp_path / "run"
    warm = train(gan_config(clip, run, 2), progress=False)  # the warm-up only
    for step in (1, 2):
        snapshot = load_pretrained(run / f"generator-step_{step:06d}").state_dict()
        assert snapshot.keys() == initial["flow-sepconv-tiny"].keys()
        for key, value in snapshot.items():
            assert torch.equal(value, initial["flow-sepconv-tiny"][key]), (step, key)
    state = load_training_state(run / "training_state.pt")
    assert state["generator_optimizer"]["state"] == {}  # Adam never stepped the generator
    changed = [
        key
        for key, value in state["discriminator"].items()
        if not torch.equal(value, initial["patch-discriminator"][key])
    ]
    assert any(key.endswith("original") for key in changed)  # the conv weights themselves trained
    assert [sorted(key.split("/")[0] for key in entry if "/" in key) for entry in warm.history] == [
        ["discriminator"] * 3 + ["optim", "train"]
    ] * 2  # no generator losses during the warm-up

    resumed = train(gan_config(clip, run, 4), resume=True, progress=False)
    third, fourth = resumed.history
    assert third["step"] == 3
    assert third["generator/lambda_l1"] == pytest.approx(50.0, rel=1e-12)  # λ's schedule starts after
    assert fourth["generator/lambda_l1"] < 50.0
    after = load_pretrained(run / "generator-step_000003").state_dict()
    assert any(not torch.equal(value, initial["flow-sepconv-tiny"][key]) for key, value in after.items())
