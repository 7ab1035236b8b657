"""Can a discriminator tell the L1 model's frames from real ones? A probe behind docs/gan.md.

Trains each adversary on its own, the generator frozen, on crops of the footage training set
(``configs/flow-dcgan.yaml``'s data), then scores it on batches it never saw:

* ``fakes=l1``: the middle frames of the bundled L1 model (``sepgan-flow``), what adversarial
  fine-tuning starts from;
* ``fakes=average``: the average of the two inputs, a fake that any useful discriminator must
  catch (it is exactly (frame0 + frame1) / 2, which the conditional input shows).

For a DCGAN discriminator it prints the BCE over the last 50 training steps (2·log 2 = 1.386 is
chance) and the held-out gap mean P(real) − mean P(fake); for a critic, the held-out Wasserstein
estimate mean critic(real) − mean critic(fake). Everything is seeded; on 2 CPU cores it takes a
few minutes.

Usage: python scripts/probe_discriminator.py [--steps 300] [--fakes l1,average]
"""

from __future__ import annotations

import argparse
import time

import torch

from sepgan import losses
from sepgan.checkpoint import load_pretrained
from sepgan.config import load_train_config
from sepgan.models import create_model
from sepgan.training.loop import _build_data, _collate
from sepgan.weights import resolve_weights

TRAIN_BATCHES, HELD_OUT_BATCHES = 40, 6

# name, registry name, options, Adam learning rate and betas, loss
ADVERSARIES = [
    ("global, batch norm (seed)", "dcgan-discriminator", {"image_size": 96}, 2e-4, (0.5, 0.999), "bce"),
    ("patch, spectral norm", "patch-discriminator", {}, 2e-4, (0.5, 0.999), "bce"),
    ("patch, no normalisation", "patch-discriminator", {"spectral_norm": False}, 2e-4, (0.5, 0.999), "bce"),
    ("global critic", "wgan-critic", {"image_size": 96}, 1e-4, (0.0, 0.9), "wasserstein"),
    ("patch critic", "patch-critic", {}, 2e-4, (0.0, 0.9), "wasserstein"),
]


def batches(fakes: str) -> list[tuple[torch.Tensor, ...]]:
    """(frame0, fake, frame1, real) batches of 8 crops of 96², the first TRAIN_BATCHES for training."""
    config = load_train_config("configs/flow-dcgan.yaml")
    dataset, augment, _ = _build_data(config, rank=0, world_size=1)
    generator = load_pretrained(resolve_weights("sepgan-flow")).eval()
    result = []
    with torch.no_grad():
        for index in range(TRAIN_BATCHES + HELD_OUT_BATCHES):
            items = []
            for item in range(8):
                key = index * 8 + item
                augment.reseed([0, 1, key])
                items.append(dataset[key * 13 % len(dataset)])
            batch = _collate(items)
            if fakes == "l1":
                fake = batch.generate(generator).clamp(0, 1)
            else:
                fake = 0.5 * (batch.frame0 + batch.frame1)
            result.append((batch.frame0, fake, batch.frame1, batch.target))
    return result


def probe(data, registry_name, options, lr, betas, loss, steps) -> str:
    torch.manual_seed(0)
    adversary = create_model(registry_name, **options)
    optimizer = torch.optim.Adam(adversary.parameters(), lr=lr, betas=betas)
    history = []
    for step in range(steps):
        frame0, fake, frame1, real = data[step % TRAIN_BATCHES]
        real_score, fake_score = adversary(frame0, real, frame1), adversary(frame0, fake, frame1)
        if loss == "bce":
            value = losses.bce_discriminator_loss(real_score, fake_score)
        else:
            value = losses.wasserstein_critic_loss(real_score, fake_score) + losses.gradient_penalty(
                adversary, frame0, real, fake, frame1
            )
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
        history.append(value.item())
    gaps = []
    with torch.no_grad():
        for frame0, fake, frame1, real in data[TRAIN_BATCHES:]:
            real_score, fake_score = adversary(frame0, real, frame1), adversary(frame0, fake, frame1)
            if loss == "bce":
                real_score, fake_score = torch.sigmoid(real_score), torch.sigmoid(fake_score)
            gaps.append((real_score.mean() - fake_score.mean()).item())
    last = sum(history[-50:]) / len(history[-50:])
    gap = sum(gaps) / len(gaps)
    if loss == "bce":
        return f"BCE (last 50 steps) {last:.3f}, held-out P(real) - P(fake) {gap:+.3f}"
    return f"loss (last 50 steps) {last:+.3f}, held-out Wasserstein estimate {gap:+.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--fakes", default="l1,average")
    arguments = parser.parse_args()
    for fakes in arguments.fakes.split(","):
        data = batches(fakes)
        for name, registry_name, options, lr, betas, loss in ADVERSARIES:
            started = time.perf_counter()
            line = probe(data, registry_name, options, lr, betas, loss, arguments.steps)
            print(f"fakes={fakes:8s} {name:28s} {line}  ({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
