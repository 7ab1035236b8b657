"""One optimisation step of each network, for the three training modes.

Modes (``TrainConfig.mode``; each is an object of :mod:`sepgan.training.objectives`
that holds its losses):

* ``l1``: the generator minimises L1 to the ground-truth middle frame.
* ``dcgan``: a conditional discriminator D(frame0, middle, frame1) is trained
  with BCE; the generator minimises the non-saturating BCE loss plus λ·L1.
* ``wgan-gp``: a critic is trained with the Wasserstein loss plus a gradient
  penalty; the generator minimises -critic + λ·L1. The loop runs ``n_critic``
  critic steps per generator step.

The shape of a step is fixed (see STYLE.md): :func:`generator_step` runs with the
discriminator frozen, :func:`discriminator_step` judges ``fake.detach()``, and
each network has its own optimiser. Every step returns its losses as a dict of
floats for logging.

Tensors: frame0, frame1, target are B×3×h×w RGB in [0, 1].
"""

from __future__ import annotations

import torch

from sepgan import losses
from sepgan.runtime import Runtime
from sepgan.training.batch import Batch
from sepgan.training.objectives import Objective, objective


def _set_requires_grad(module: torch.nn.Module, flag: bool) -> None:
    for parameter in module.parameters():
        parameter.requires_grad_(flag)


def _optimise(
    loss: torch.Tensor,
    module: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler | None,
    grad_clip: float | None,
) -> None:
    optimizer.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(loss).backward()
        if grad_clip:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(module.parameters(), grad_clip)
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward()
        if grad_clip:
            torch.nn.utils.clip_grad_norm_(module.parameters(), grad_clip)
        optimizer.step()


def generator_step(
    mode: str | Objective,
    generator: torch.nn.Module,
    discriminator: torch.nn.Module | None,
    optimizer: torch.optim.Optimizer,
    batch: Batch,
    *,
    lambda_l1: float,
    runtime: Runtime,
    scaler: torch.amp.GradScaler | None = None,
    grad_clip: float | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Update the generator once; returns its (detached) output and the losses."""
    mode = objective(mode)
    with runtime.autocast():
        fake = batch.generate(generator)
    fake = fake.float()
    l1 = losses.l1_loss(fake, batch.target)
    logs = {"generator/l1": l1.item()}
    if not mode.adversarial:
        total = l1
    else:
        assert discriminator is not None
        _set_requires_grad(discriminator, False)  # frozen: no gradient accumulates in D
        try:
            with runtime.autocast():
                score = discriminator(batch.frame0, fake, batch.frame1).float()
        finally:
            _set_requires_grad(discriminator, True)
        adversarial = mode.generator_adversarial_loss(score)
        total = adversarial + lambda_l1 * l1
        logs.update({"generator/adversarial": adversarial.item(), "generator/lambda_l1": lambda_l1})
    logs["generator/total"] = total.item()
    _optimise(total, generator, optimizer, scaler, grad_clip)
    return fake.detach(), logs


def discriminator_step(
    mode: str | Objective,
    generator: torch.nn.Module,
    discriminator: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    batch: Batch,
    *,
    runtime: Runtime,
    gradient_penalty_weight: float = 10.0,
    fake: torch.Tensor | None = None,
    scaler: torch.amp.GradScaler | None = None,
    grad_clip: float | None = None,
) -> dict[str, float]:
    """Update the discriminator (dcgan) or critic (wgan-gp) once on ``fake.detach()``."""
    mode = objective(mode)
    if not mode.adversarial:
        raise ValueError(f"discriminator_step has nothing to do in mode {mode.name!r}")
    if fake is None:
        with torch.no_grad(), runtime.autocast():
            fake = batch.generate(generator)
    fake = fake.detach().float()
    with runtime.autocast():
        real_score = discriminator(batch.frame0, batch.target, batch.frame1).float()
        fake_score = discriminator(batch.frame0, fake, batch.frame1).float()
    loss, logs = mode.discriminator_loss(
        discriminator, batch, fake, real_score, fake_score, gradient_penalty_weight=gradient_penalty_weight
    )
    _optimise(loss, discriminator, optimizer, scaler, grad_clip)
    return logs
