"""Training objectives: one object per mode says what the mode trains and with which losses.

==========  =====================  ============  ==========================================
mode        adversary              critic steps  losses
==========  =====================  ============  ==========================================
``l1``      none                   0             generator: L1
``dcgan``   dcgan-discriminator    1             generator: BCE (non-saturating) + λ·L1;
                                                 discriminator: BCE on real and fake
``wgan-gp`` wgan-critic            n_critic      generator: −critic + λ·L1;
                                                 critic: Wasserstein + gradient penalty
==========  =====================  ============  ==========================================

:func:`objective` is the one place that turns a mode name into its object and
the one place an unknown mode is refused (``TrainConfig.validate`` asks it).
The step functions in :mod:`sepgan.training.gan` and the loop only ask the
object; none compares mode strings.

Tensors: scores are the discriminator's raw outputs (logits for DCGAN, critic
values for WGAN), B×1 or B; frames are B×3×h×w RGB in [0, 1].
"""

from __future__ import annotations

import torch

from sepgan import losses
from sepgan.training.batch import Batch

__all__ = ["DCGAN", "L1", "OBJECTIVES", "WGANGP", "Objective", "objective"]


class Objective:
    """A training mode. The base class is the plain L1 objective: no adversary."""

    name = "l1"
    discriminator: str | None = None  # registry name of the adversary built for ``discriminator.name: auto``

    @property
    def adversarial(self) -> bool:
        return self.discriminator is not None

    def critic_steps(self, n_critic: int) -> int:
        """Discriminator (critic) updates per generator update, each on its own batch.

        ``n_critic`` is the configured ``optim.n_critic``; only ``wgan-gp`` follows it.
        """
        return 0

    def generator_adversarial_loss(self, fake_score: torch.Tensor) -> torch.Tensor:
        """The generator's adversarial term (added to λ·L1)."""
        raise NotImplementedError(f"mode {self.name} has no adversary")

    def discriminator_loss(
        self,
        discriminator: torch.nn.Module,
        batch: Batch,
        fake: torch.Tensor,
        real_score: torch.Tensor,
        fake_score: torch.Tensor,
        *,
        gradient_penalty_weight: float,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The adversary's loss on a real and a (detached) fake batch, and its logs."""
        raise NotImplementedError(f"mode {self.name} has no adversary")


class DCGAN(Objective):
    name = "dcgan"
    discriminator = "dcgan-discriminator"

    def critic_steps(self, n_critic: int) -> int:
        return 1

    def generator_adversarial_loss(self, fake_score: torch.Tensor) -> torch.Tensor:
        return losses.bce_generator_loss(fake_score)

    def discriminator_loss(
        self, discriminator, batch, fake, real_score, fake_score, *, gradient_penalty_weight
    ):
        loss = losses.bce_discriminator_loss(real_score, fake_score)
        return loss, {
            "discriminator/bce": loss.item(),
            "discriminator/real_probability": torch.sigmoid(real_score).mean().item(),
            "discriminator/fake_probability": torch.sigmoid(fake_score).mean().item(),
        }


class WGANGP(Objective):
    name = "wgan-gp"
    discriminator = "wgan-critic"

    def critic_steps(self, n_critic: int) -> int:
        return n_critic

    def generator_adversarial_loss(self, fake_score: torch.Tensor) -> torch.Tensor:
        return losses.wasserstein_generator_loss(fake_score)

    def discriminator_loss(
        self, discriminator, batch, fake, real_score, fake_score, *, gradient_penalty_weight
    ):
        wasserstein = losses.wasserstein_critic_loss(real_score, fake_score)
        # The penalty's double backward runs in float32: autocast would round the
        # gradient norm it constrains.
        penalty = losses.gradient_penalty(
            discriminator, batch.frame0, batch.target, fake, batch.frame1, weight=gradient_penalty_weight
        )
        loss = wasserstein + penalty
        return loss, {
            "critic/loss": loss.item(),
            "critic/wasserstein_estimate": -wasserstein.item(),
            "critic/gradient_penalty": penalty.item(),
        }


L1 = Objective()
OBJECTIVES: dict[str, Objective] = {o.name: o for o in (L1, DCGAN(), WGANGP())}


def objective(mode: str | Objective) -> Objective:
    """The objective of ``mode`` (``l1``, ``dcgan`` or ``wgan-gp``); ValueError for any other."""
    if isinstance(mode, Objective):
        return mode
    if mode not in OBJECTIVES:
        raise ValueError(f"mode must be one of {', '.join(OBJECTIVES)}, got {mode!r}")
    return OBJECTIVES[mode]
