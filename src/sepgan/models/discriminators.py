"""Conditional discriminators for adversarial training of the interpolator.

Both networks judge a candidate middle frame *together with* its two input
frames, so they can penalise a middle frame that is sharp but inconsistent
with its neighbours. Input: ``cat(frame0, middle, frame1)`` (9 channels).

Body (DCGAN style): ``len(channels)`` blocks of 4×4 conv with stride 2 and
padding 1 (default widths 64-128-256-512), each followed by LeakyReLU(0.2),
then a flatten and one linear layer to a single number per sample.

* :class:`ConditionalDiscriminator` (DCGAN): BatchNorm after every conv except
  the first. It returns *logits*, not probabilities: the losses use
  ``binary_cross_entropy_with_logits``, which is the same maths as a sigmoid
  followed by BCE but does not saturate to log(0) in float32.
* :class:`WassersteinCritic` (WGAN-GP): the same body without any
  normalisation, because batch norm couples the samples of a batch and breaks
  the per-sample gradient penalty. It returns unbounded scores.

Tensor conventions and limits
-----------------------------
* Frames are RGB, float32 in [0, 1], B×3×S×S, all three with the same shape.
* The linear layer fixes the input size: ``image_size`` (square, default 64)
  must be divisible by 2**len(channels); any other size raises ``ValueError``.
  Train the discriminator on crops of that size.
* Output: shape (B,).

Initialisation: DCGAN (Radford et al. 2016): conv and linear weights
N(0, 0.02), batch-norm scales N(1, 0.02), biases zero.

Patch adversaries
-----------------
:class:`PatchDiscriminator` (PatchGAN, Isola et al. 2017, "Image-to-Image
Translation with Conditional Adversarial Networks") is fully convolutional: the
same stride-2 body, then a 3×3 conv to one channel, so it scores every
overlapping patch (receptive field 78 px for four layers) and returns a B×h×w
map (h = H / 2**len(channels)). It accepts any frame size that is a multiple of
2**len(channels), as the generator does, and the losses average over the map.
Options: ``spectral_norm`` (Miyato et al. 2018) bounds every layer's Lipschitz
constant, the usual cure for a DCGAN discriminator that overpowers its
generator; ``normalization`` "none" (default; a WGAN-GP critic must have none)
or "batch". Registered as ``patch-discriminator`` (spectral norm on, for
``dcgan``) and ``patch-critic`` (no normalisation at all, for ``wgan-gp``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from sepgan.models.configurable import ConfigMixin, register_to_config

__all__ = ["ConditionalDiscriminator", "PatchDiscriminator", "WassersteinCritic"]

INPUT_CHANNELS = 9  # frame0, middle, frame1


class _ConditionalConvNet(ConfigMixin, nn.Module):
    """The body shared by both discriminators; ``batch_norm`` is the only difference."""

    def __init__(self, image_size: int, channels: Sequence[int], batch_norm: bool) -> None:
        super().__init__()
        channels = [int(width) for width in channels]
        if not channels or min(channels) < 1:
            raise ValueError(f"channels must be a non-empty list of positive widths, got {channels}")
        downsampling = 2 ** len(channels)
        if image_size < downsampling or image_size % downsampling:
            raise ValueError(
                f"image_size must be a positive multiple of {downsampling} for {len(channels)} "
                f"stride-2 layers, got {image_size}"
            )
        self.image_size = int(image_size)
        self.batch_norm = bool(batch_norm)

        layers: list[nn.Module] = []
        in_channels = INPUT_CHANNELS
        for index, out_channels in enumerate(channels):
            normalise = batch_norm and index > 0
            # A conv feeding batch norm needs no bias: the norm's shift replaces it.
            layers.append(nn.Conv2d(in_channels, out_channels, 4, stride=2, padding=1, bias=not normalise))
            if normalise:
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            in_channels = out_channels
        self.features = nn.Sequential(*layers)
        final_size = image_size // downsampling
        self.head = nn.Linear(in_channels * final_size * final_size, 1)
        self._init_weights()

    def _init_weights(self) -> None:
        for module in self.modules():
            _init_dcgan(module)

    def forward(self, frame0: torch.Tensor, middle: torch.Tensor, frame1: torch.Tensor) -> torch.Tensor:
        """Judge ``middle`` between ``frame0`` and ``frame1``; returns shape (B,)."""
        if not (frame0.shape == middle.shape == frame1.shape):
            raise ValueError(
                "frame0, middle and frame1 must have the same shape, got "
                f"{tuple(frame0.shape)}, {tuple(middle.shape)} and {tuple(frame1.shape)}"
            )
        expected = (3, self.image_size, self.image_size)
        if middle.dim() != 4 or tuple(middle.shape[1:]) != expected:
            raise ValueError(
                f"{type(self).__name__} was built for B×3×{self.image_size}×{self.image_size} frames, "
                f"got {tuple(middle.shape)}; crop to image_size or build it with another image_size"
            )
        features = self.features(torch.cat([frame0, middle, frame1], dim=1))
        return self.head(features.flatten(1)).squeeze(1)


class ConditionalDiscriminator(_ConditionalConvNet):
    """DCGAN discriminator over (frame0, middle, frame1); returns logits of shape (B,).

    Args:
        image_size: side S of the square B×3×S×S frames it accepts.
        channels: widths of the stride-2 conv layers.
        batch_norm: batch norm after every conv but the first (DCGAN).
    """

    architecture = "dcgan-discriminator"

    @register_to_config
    def __init__(
        self,
        image_size: int = 64,
        channels: Sequence[int] = (64, 128, 256, 512),
        batch_norm: bool = True,
    ) -> None:
        super().__init__(image_size, channels, batch_norm)


class WassersteinCritic(_ConditionalConvNet):
    """WGAN-GP critic over (frame0, middle, frame1); returns scores of shape (B,).

    No normalisation layers, so the gradient penalty stays per sample.

    Args:
        image_size: side S of the square B×3×S×S frames it accepts.
        channels: widths of the stride-2 conv layers.
    """

    architecture = "wgan-critic"

    @register_to_config
    def __init__(self, image_size: int = 64, channels: Sequence[int] = (64, 128, 256, 512)) -> None:
        super().__init__(image_size, channels, batch_norm=False)


class PatchDiscriminator(ConfigMixin, nn.Module):
    """PatchGAN adversary over (frame0, middle, frame1); returns a B×(H/2**n)×(W/2**n) map of scores.

    Logits for ``dcgan``, critic values for ``wgan-gp`` (a sample's critic value
    is the mean of its map; :func:`sepgan.losses.gradient_penalty` takes it so).

    Args:
        channels: widths of the n stride-2 4×4 conv layers (LeakyReLU 0.2 after each).
        spectral_norm: spectral normalisation of every conv (Miyato et al. 2018).
        normalization: "none" or "batch" (batch norm after every conv but the first).
        image_size: the training crop side, only checked (a multiple of 2**n); None: unchecked.

    Raises:
        ValueError: empty or non-positive widths, an unknown normalisation, or frames whose
            sides are not multiples of 2**n (in ``forward``).
    """

    architecture = "patch-discriminator"

    @register_to_config
    def __init__(
        self,
        channels: Sequence[int] = (32, 64, 128, 256),
        spectral_norm: bool = True,
        normalization: str = "none",
        image_size: int | None = None,
    ) -> None:
        super().__init__()
        channels = [int(width) for width in channels]
        if not channels or min(channels) < 1:
            raise ValueError(f"channels must be a non-empty list of positive widths, got {channels}")
        if normalization not in ("none", "batch"):
            raise ValueError(f"normalization must be 'none' or 'batch', got {normalization!r}")
        self.multiple = 2 ** len(channels)
        if image_size is not None and (image_size < self.multiple or image_size % self.multiple):
            raise ValueError(
                f"image_size must be a positive multiple of {self.multiple} for {len(channels)} "
                f"stride-2 layers, got {image_size}"
            )
        wrap = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda module: module)
        layers: list[nn.Module] = []
        in_channels = INPUT_CHANNELS
        for index, out_channels in enumerate(channels):
            normalise = normalization == "batch" and index > 0
            conv = nn.Conv2d(in_channels, out_channels, 4, stride=2, padding=1, bias=not normalise)
            _init_dcgan(conv)  # before spectral norm wraps the weight
            layers.append(wrap(conv))
            if normalise:
                norm = nn.BatchNorm2d(out_channels)
                _init_dcgan(norm)
                layers.append(norm)
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            in_channels = out_channels
        head = nn.Conv2d(in_channels, 1, 3, padding=1)
        _init_dcgan(head)
        layers.append(wrap(head))
        self.layers = nn.Sequential(*layers)

    def forward(self, frame0: torch.Tensor, middle: torch.Tensor, frame1: torch.Tensor) -> torch.Tensor:
        """Score every patch of ``middle`` between ``frame0`` and ``frame1``; returns B×h×w."""
        if not (frame0.shape == middle.shape == frame1.shape):
            raise ValueError(
                "frame0, middle and frame1 must have the same shape, got "
                f"{tuple(frame0.shape)}, {tuple(middle.shape)} and {tuple(frame1.shape)}"
            )
        height, width = middle.shape[-2:]
        if middle.dim() != 4 or middle.shape[1] != 3 or height % self.multiple or width % self.multiple:
            raise ValueError(
                f"{type(self).__name__} takes B×3×H×W frames with H and W multiples of {self.multiple}, "
                f"got {tuple(middle.shape)}"
            )
        return self.layers(torch.cat([frame0, middle, frame1], dim=1)).squeeze(1)


def _init_dcgan(module: nn.Module) -> None:
    """DCGAN initialisation (Radford et al. 2016): conv and linear weights N(0, 0.02), batch-norm
    scales N(1, 0.02), biases zero; other modules are left as they are."""
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
