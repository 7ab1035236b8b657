"""A training batch: the input frames, the ground-truth middle frame and, optionally, precomputed flow.

Its own module so that :mod:`sepgan.training.objectives` (whose losses read
batches) and :mod:`sepgan.training.gan` (whose steps pass them) both import it
one way.

Tensors: frame0, frame1, target are B×3×h×w RGB in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["Batch"]


@dataclass
class Batch:
    """Training tensors.

    ``flows`` (B×4V×h×w, pixels; V flow variants) is present when the dataset
    carries precomputed flow.
    """

    frame0: torch.Tensor
    frame1: torch.Tensor
    target: torch.Tensor
    flows: torch.Tensor | None = None

    def to(self, device: torch.device) -> Batch:
        return Batch(
            *(
                None if t is None else t.to(device, non_blocking=True)
                for t in (self.frame0, self.frame1, self.target, self.flows)
            )
        )

    def chunks(self, size: int) -> list[Batch]:
        """The batch as consecutive batches of at most ``size`` items."""
        return [
            Batch(
                *(
                    None if t is None else t[start : start + size]
                    for t in (self.frame0, self.frame1, self.target, self.flows)
                )
            )
            for start in range(0, self.target.shape[0], size)
        ]

    def generate(self, generator: torch.nn.Module) -> torch.Tensor:
        """The generator's middle frame, passing the precomputed flows when there are any."""
        if self.flows is None:
            return generator(self.frame0, self.frame1)
        return generator(self.frame0, self.frame1, flows=self.flows)
