"""Losses against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sepgan.losses import (
    bce_discriminator_loss,
    bce_generator_loss,
    gradient_penalty,
    l1_loss,
    wasserstein_critic_loss,
    wasserstein_generator_loss,
)
from sepgan.models import WassersteinCritic

SHAPE = (2, 3, 4, 4)  # 48 values per sample


class LinearCritic(nn.Module):
    """score_b = <w, middle_b> + <1, frame0_b>: gradient w.r.t. middle is w for every sample."""

    def __init__(self, norm: float) -> None:
        super().__init__()
        weight = torch.randn(SHAPE[1:], generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        self.weight = nn.Parameter(weight * norm / weight.norm())

    def forward(self, frame0: torch.Tensor, middle: torch.Tensor, frame1: torch.Tensor) -> torch.Tensor:
        return (middle * self.weight).sum((1, 2, 3)) + frame0.sum((1, 2, 3)) - frame1.sum((1, 2, 3))


class PatchLinearCritic(nn.Module):
    """A linear patch critic: map_b[i, j] = <w, patch_ij(middle_b)> over non-overlapping p×p patches.

    Each entry has input gradient w (norm ‖w‖); a sample's value, the mean of its h×w map, has
    input gradient w tiled over the frame / (h·w), of norm ‖w‖ / √(h·w).
    """

    def __init__(self, patch: int, norm: float) -> None:
        super().__init__()
        weight = torch.randn(
            1, SHAPE[1], patch, patch, generator=torch.Generator().manual_seed(2), dtype=torch.float64
        )
        self.patch = patch
        self.weight = nn.Parameter(weight * norm / weight.norm())

    def forward(self, frame0: torch.Tensor, middle: torch.Tensor, frame1: torch.Tensor) -> torch.Tensor:
        return F.conv2d(middle, self.weight, stride=self.patch).squeeze(1)  # B×h×w


def _frames(seed: int = 0) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.rand(SHAPE, generator=generator, dtype=torch.float64) for _ in range(4)]


def test_l1_loss() -> None:
    prediction = torch.tensor([[0.0, 0.5], [1.0, 0.25]])
    target = torch.tensor([[1.0, 0.5], [0.0, 0.75]])
    assert l1_loss(prediction, target).item() == pytest.approx((1 + 0 + 1 + 0.5) / 4)


def test_bce_losses_at_zero_logits() -> None:
    zeros = torch.zeros(5)
    assert bce_discriminator_loss(zeros, zeros).item() == pytest.approx(2 * math.log(2))
    assert bce_generator_loss(zeros).item() == pytest.approx(math.log(2))


def test_bce_losses_hand_computed() -> None:
    # sigmoid(log 3) = 3/4, so BCE(log 3, 1) = log(4/3) and BCE(log 3, 0) = log 4.
    real = torch.tensor([math.log(3), 0.0])
    fake = torch.tensor([math.log(3), -math.log(3)])
    expected_real = (math.log(4 / 3) + math.log(2)) / 2
    expected_fake = (math.log(4) + math.log(4 / 3)) / 2
    assert bce_discriminator_loss(real, fake).item() == pytest.approx(expected_real + expected_fake)
    assert bce_generator_loss(fake).item() == pytest.approx((math.log(4 / 3) + math.log(4)) / 2)


def test_bce_losses_are_stable_for_large_logits() -> None:
    real = torch.tensor([200.0])
    fake = torch.tensor([-200.0])
    assert bce_discriminator_loss(real, fake).item() == pytest.approx(0.0, abs=1e-12)
    assert bce_generator_loss(fake).item() == pytest.approx(200.0)


def test_wasserstein_losses() -> None:
    real = torch.tensor([1.0, 2.0, 3.0])
    fake = torch.tensor([0.5, -1.5])
    assert wasserstein_critic_loss(real, fake).item() == pytest.approx(-0.5 - 2.0)
    assert wasserstein_generator_loss(fake).item() == pytest.approx(0.5)


@pytest.mark.parametrize("norm", [1.0, 3.0, 0.25])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradient_penalty_of_linear_critic_is_independent_of_alpha(norm: float, seed: int) -> None:
    frame0, real, fake, frame1 = _frames(seed)
    critic = LinearCritic(norm)
    generator = torch.Generator().manual_seed(seed)
    penalty = gradient_penalty(critic, frame0, real, fake, frame1, weight=10.0, generator=generator)
    assert penalty.shape == ()
    assert penalty.item() == pytest.approx(10.0 * (norm - 1) ** 2, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(
    ("norm", "expected"),
    [
        (2.0, 0.0),  # ‖w‖ = √(h·w): each sample's mean score is exactly 1-Lipschitz
        (1.0, 2.5),  # every patch 1-Lipschitz, the mean only ½-Lipschitz: 10·(½ - 1)²
        (6.0, 40.0),  # gradient norm 3: 10·(3 - 1)²
    ],
)
def test_gradient_penalty_of_a_patch_map_constrains_each_samples_mean(norm: float, expected: float) -> None:
    frame0, real, fake, frame1 = _frames()
    critic = PatchLinearCritic(patch=2, norm=norm)  # 4×4 frames: a 2×2 map, h·w = 4
    assert critic(frame0, real, frame1).shape == (2, 2, 2)
    penalty = gradient_penalty(critic, frame0, real, fake, frame1, weight=10.0)
    assert penalty.item() == pytest.approx(expected, abs=1e-12)


def test_gradient_penalty_uses_per_sample_alpha_and_norm() -> None:
    # score_b = ½‖x_b‖² has gradient x_b, so the penalty is weight · mean_b (‖x_hat_b‖ - 1)².
    def critic(frame0: torch.Tensor, middle: torch.Tensor, frame1: torch.Tensor) -> torch.Tensor:
        return 0.5 * middle.square().sum((1, 2, 3))

    frame0, real, fake, frame1 = _frames()
    alpha = torch.tensor([0.25, 0.9], dtype=torch.float64).view(2, 1, 1, 1)
    interpolated = alpha * real + (1 - alpha) * fake
    expected = 2.0 * ((interpolated.flatten(1).norm(dim=1) - 1) ** 2).mean()
    penalty = gradient_penalty(critic, frame0, real, fake, frame1, weight=2.0, alpha=alpha)
    assert penalty.item() == pytest.approx(expected.item(), rel=1e-12)


def test_gradient_penalty_backpropagates_into_critic_only() -> None:
    frame0, real, fake, frame1 = _frames()
    fake.requires_grad_(True)  # as if it came from the generator
    norm = 3.0
    critic = LinearCritic(norm)
    weight = 10.0
    penalty = gradient_penalty(critic, frame0, real, fake, frame1, weight=weight)
    penalty.backward()
    # d/dw [λ (‖w‖ - 1)²] = 2λ (‖w‖ - 1) w / ‖w‖; needs create_graph=True to be non-zero.
    expected = 2 * weight * (norm - 1) * critic.weight.detach() / norm
    torch.testing.assert_close(critic.weight.grad, expected)
    assert fake.grad is None


def test_gradient_penalty_is_reproducible_with_a_generator() -> None:
    torch.manual_seed(0)
    critic = WassersteinCritic(image_size=16, channels=(4, 8))
    frame0, real, fake, frame1 = (frame.float().repeat(1, 1, 4, 4) for frame in _frames())
    first = gradient_penalty(critic, frame0, real, fake, frame1, generator=torch.Generator().manual_seed(5))
    second = gradient_penalty(critic, frame0, real, fake, frame1, generator=torch.Generator().manual_seed(5))
    assert torch.isfinite(first)
    assert first.item() == second.item()
    first.backward()
    # Every weight shapes the input gradient; biases of a piecewise-linear net need not.
    for name, parameter in critic.named_parameters():
        if name.endswith("weight"):
            assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_gradient_penalty_rejects_batch_wide_alpha() -> None:
    frame0, real, fake, frame1 = _frames()
    with pytest.raises(ValueError, match="alpha"):
        gradient_penalty(LinearCritic(1.0), frame0, real, fake, frame1, alpha=torch.tensor(0.5))
