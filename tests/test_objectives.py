"""Training objectives: one object per mode, and one place that refuses an unknown mode."""

from __future__ import annotations

import pytest
import torch

from sepgan.config import ConfigError, TrainConfig
from sepgan.models import create_model
from sepgan.runtime import resolve_runtime
from sepgan.training import Batch, discriminator_step, generator_step
from sepgan.training.objectives import OBJECTIVES, objective


def test_each_mode_states_its_adversary_and_critic_steps():
    table = {name: (o.discriminator, o.critic_steps(n_critic=5)) for name, o in OBJECTIVES.items()}
    assert table == {"l1": (None, 0), "dcgan": ("dcgan-discriminator", 1), "wgan-gp": ("wgan-critic", 5)}


def test_an_unknown_mode_is_refused_by_the_config_and_by_both_steps():
    with pytest.raises(ValueError, match="mode must be one of l1, dcgan, wgan-gp"):
        objective("gan")
    with pytest.raises(ConfigError, match="mode must be one of"):
        TrainConfig(mode="gan").validate()
    generator = create_model("sepconv-tiny")
    critic = create_model("wgan-critic", image_size=32)
    batch = Batch(*(torch.rand(1, 3, 32, 32) for _ in range(3)))
    runtime = resolve_runtime("cpu", "fp32")
    optimizer = torch.optim.Adam(generator.parameters())
    with pytest.raises(ValueError, match="mode must be one of"):  # was silently treated as WGAN
        generator_step("gan", generator, critic, optimizer, batch, lambda_l1=1.0, runtime=runtime)
    with pytest.raises(ValueError, match="nothing to do in mode 'l1'"):
        discriminator_step("l1", generator, critic, optimizer, batch, runtime=runtime)
