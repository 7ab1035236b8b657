"""Losses for training the interpolator: L1, adversarial BCE, Wasserstein and gradient penalty.

Every function returns a scalar tensor (a mean over the batch). Conventions:

* ``prediction``, ``target`` and the frames are B×3×H×W, RGB in [0, 1].
* ``*_logits`` are raw discriminator outputs of shape (B,) (no sigmoid; the BCE
  losses apply it internally through ``binary_cross_entropy_with_logits``,
  which is stable where sigmoid-then-log would underflow).
* ``*_scores`` are WGAN critic outputs of shape (B,), unbounded.
* A patch adversary (:class:`~sepgan.models.discriminators.PatchDiscriminator`)
  returns a B×h×w map instead; every loss here averages over all its entries,
  which for a critic is the mean of the per-sample values (a sample's value is
  the mean of its map).

The GAN step combines them; see :mod:`sepgan.training`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

__all__ = [
    "bce_discriminator_loss",
    "bce_generator_loss",
    "gradient_penalty",
    "l1_loss",
    "wasserstein_critic_loss",
    "wasserstein_generator_loss",
]


def l1_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over all elements."""
    return F.l1_loss(prediction, target)


def bce_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """DCGAN discriminator loss: BCE(real, 1) + BCE(fake, 0).

    Each term is a mean over its batch and the two terms are *summed* (not
    averaged, unlike pix2pix's halving), so logits of 0 give 2·log 2 ≈ 1.386.
    """
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def bce_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss: BCE(fake, 1) = mean(-log sigmoid(fake))."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def wasserstein_critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """WGAN critic loss mean(fake) - mean(real), without the gradient penalty."""
    return fake_scores.mean() - real_scores.mean()


def wasserstein_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """WGAN generator loss -mean(fake)."""
    return -fake_scores.mean()


def gradient_penalty(
    critic: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
    frame0: torch.Tensor,
    real_middle: torch.Tensor,
    fake_middle: torch.Tensor,
    frame1: torch.Tensor,
    weight: float = 10.0,
    *,
    alpha: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017) for a conditional critic.

    Only the middle frame is interpolated, per sample::

        x_hat = alpha · real_middle + (1 - alpha) · fake_middle,  alpha ~ U(0, 1), shape B×1×1×1
        penalty = weight · mean_b (‖∂ critic(frame0, x_hat, frame1)_b / ∂ x_hat_b‖₂ - 1)²

    The conditioning frames stay fixed. ``x_hat`` is detached from the
    generator, so the penalty trains the critic only; the gradient is taken
    with ``create_graph=True`` so the penalty backpropagates into the critic's
    parameters (a second-order pass, about twice the cost of a critic step).
    The critic must have no batch norm: it would mix samples and make the
    per-sample gradient meaningless.

    A patch critic's map (B×h×w) is first averaged per sample: the penalty
    constrains the gradient of the sample's critic value, the mean of its map.

    Args:
        critic: called as ``critic(frame0, middle, frame1)``, returning scores (B,) or B×h×w.
        frame0, real_middle, fake_middle, frame1: B×3×H×W.
        weight: λ, 10 in the paper.
        alpha: B×1×1×1 interpolation weights; drawn from ``generator`` when omitted.
        generator: source of ``alpha``; must live on the frames' device.
    """
    if real_middle.shape != fake_middle.shape:
        raise ValueError(
            f"real_middle and fake_middle must have the same shape, got {tuple(real_middle.shape)} "
            f"and {tuple(fake_middle.shape)}"
        )
    batch = real_middle.shape[0]
    if alpha is None:
        alpha = torch.rand(
            (batch, 1, 1, 1), generator=generator, device=real_middle.device, dtype=real_middle.dtype
        )
    elif alpha.shape != (batch, 1, 1, 1):
        raise ValueError(f"alpha must have shape {(batch, 1, 1, 1)}, got {tuple(alpha.shape)}")
    interpolated = (alpha * real_middle.detach() + (1 - alpha) * fake_middle.detach()).requires_grad_(True)
    scores = critic(frame0, interpolated, frame1)
    scores = scores.reshape(batch, -1).mean(1)  # (B,): a patch map is averaged per sample
    (gradient,) = torch.autograd.grad(scores.sum(), interpolated, create_graph=True)
    gradient_norm = gradient.flatten(1).norm(2, dim=1)
    return weight * (gradient_norm - 1).square().mean()
