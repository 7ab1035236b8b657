"""SepConv: video frame interpolation by adaptive separable convolution.

Niklaus, Mai and Liu, "Video Frame Interpolation via Adaptive Separable
Convolution" (ICCV 2017), laid out as in the reference sepconv-slomo network,
plus the optional improvements of SepConv++ (Niklaus, Mai and Wang, "Revisiting
Adaptive Convolutions for Video Frame Interpolation", WACV 2021).

Architecture
------------
A U-Net reads ``cat(frame0, frame1)`` (6 channels). The encoder has five blocks
of three 3×3 conv + ReLU layers (widths ``channels``, default 32-64-128-256-512),
each followed by 2×2 average pooling. The decoder mirrors it: three conv layers,
bilinear ×2 upsampling and one conv, then a skip connection that *adds* the
encoder features of the same scale. The decoder stops at H/2; four kernel
subnets (vertical and horizontal, for each input frame) turn those features into
one K-tap 1-D kernel per pixel at full resolution H×W. The middle frame is::

    middle = separable_conv(frame0, kernel_vertical0, kernel_horizontal0)
           + separable_conv(frame1, kernel_vertical1, kernel_horizontal1)

With the defaults (K = 51) the network has exactly 21,675,452 parameters.

Tensor conventions and limits
-----------------------------
* ``frame0`` and ``frame1`` are RGB, float32 in [0, 1], B×3×H×W, same shape;
  the output is the middle frame (t = 0.5), B×3×H×W. It is not clamped.
* H and W must be multiples of 32 (five 2×2 poolings). The model does not pad
  or resize; :class:`sepgan.interpolator.Interpolator` pads arbitrary sizes.
* Kernel size 51 reaches ±25 px per input frame (``max_displacement``), so
  motion larger than about 50 px between frame0 and frame1 cannot be resolved.

Options (all off for the paper network)
---------------------------------------
* ``input_normalization``: the two frames are normalised jointly per sample
  with one mean and one standard deviation over both frames and all three
  channels (global, as in SepConv++; this keeps the relation between colour
  channels that the network sees). The separable convolution is applied to the
  normalised frames and the result is mapped back (× std + mean). The std is
  floored at ``NORMALIZATION_MIN_STD`` so flat frames are not amplified into
  noise. Since the network only ever sees normalised frames, the output is
  equivariant to a brightness change ``a·frame + b`` (a > 0) of both frames.
* ``kernel_normalization``: the output is divided by the sum of kernel weights
  ``S0 + S1 + KERNEL_NORMALIZATION_EPS``, where ``S = (Σ_i kv)(Σ_j kh)`` per
  pixel (equal to separable convolution of an all-ones image). The result is
  then a weighted average of input pixels; for two identical constant frames it
  is that constant. The eps (1e-7, as in SepConv++) only guards an exact zero:
  kernels are unconstrained in sign, so training relies on the weights staying
  away from S0 + S1 ≈ 0.
* ``delayed_padding``: the paper replicate-pads both frames by
  ``p = ceil((K//2) / 16) · 16`` px before the U-Net (p = 32 for K = 51, which
  keeps padded sizes multiples of 32), so the kernels near the border are
  predicted from context that covers their full reach, and then crops the
  centre. With ``delayed_padding=True`` the U-Net runs on the unpadded frames
  and the only padding is the op's own K//2 replicate padding (cheaper,
  SepConv++).

Initialisation: PyTorch's default conv initialisation (Kaiming-uniform with
a = √5, uniform bias), which is what the reference implementation trains from.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from sepgan.models.configurable import ConfigMixin, register_to_config
from sepgan.ops import separable_conv

__all__ = ["KERNEL_NORMALIZATION_EPS", "NORMALIZATION_MIN_STD", "SepConv"]

# Added to S0 + S1 in kernel normalisation; the SepConv++ value.
KERNEL_NORMALIZATION_EPS = 1e-7
# Floor on the std used by input normalisation: frames flatter than this (well
# under one 8-bit level, 1/255 ≈ 0.004) are amplified by at most 1000×.
NORMALIZATION_MIN_STD = 1e-3
# Total downsampling factor of the U-Net (five 2×2 poolings).
SIZE_MULTIPLE = 32

KERNEL_NAMES = ("kernel_vertical0", "kernel_horizontal0", "kernel_vertical1", "kernel_horizontal1")


# The Sequential layouts (conv, relu, ...) match sepconv-slomo module by module,
# so its state dict maps onto this one by renaming prefixes only.
def _basic(in_channels: int, out_channels: int) -> nn.Sequential:
    """Three 3×3 conv + ReLU layers."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1),
        nn.ReLU(inplace=False),
        nn.Conv2d(out_channels, out_channels, 3, padding=1),
        nn.ReLU(inplace=False),
        nn.Conv2d(out_channels, out_channels, 3, padding=1),
        nn.ReLU(inplace=False),
    )


def _upsample(channels: int) -> nn.Sequential:
    """Bilinear ×2 upsampling followed by a 3×3 conv + ReLU."""
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
        nn.Conv2d(channels, channels, 3, padding=1),
        nn.ReLU(inplace=False),
    )


def _kernel_subnet(in_channels: int, kernel_size: int) -> nn.Sequential:
    """Features at H/2 → one K-tap 1-D kernel per pixel at H×W (last layer linear)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, in_channels, 3, padding=1),
        nn.ReLU(inplace=False),
        nn.Conv2d(in_channels, in_channels, 3, padding=1),
        nn.ReLU(inplace=False),
        nn.Conv2d(in_channels, kernel_size, 3, padding=1),
        nn.ReLU(inplace=False),
        nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
        nn.Conv2d(kernel_size, kernel_size, 3, padding=1),
    )


class SepConv(ConfigMixin, nn.Module):
    """The SepConv generator; see the module docstring for the architecture and options.

    Args:
        kernel_size: taps K of each 1-D kernel, odd; reaches ±K//2 px per input frame.
        channels: the five encoder widths; the decoder mirrors them and the kernel
            subnets use ``channels[1]``.
        input_normalization: normalise the two frames jointly (SepConv++).
        kernel_normalization: divide by the kernels' total weight (SepConv++).
        delayed_padding: skip the paper's replicate padding before the U-Net (SepConv++).

    ``model.config`` holds these arguments (JSON-serialisable) and
    ``SepConv(**model.config)`` rebuilds the same network. Implements the
    generator contract, :class:`sepgan.models.protocol.Generator`.
    """

    architecture = "sepconv"
    multiple = SIZE_MULTIPLE
    any_time = False  # the kernels are predicted for the middle frame only (Generator contract)
    reads_neighbours = False  # two frames in, no neighbouring flows (Generator contract)

    @register_to_config
    def __init__(
        self,
        kernel_size: int = 51,
        channels: Sequence[int] = (32, 64, 128, 256, 512),
        input_normalization: bool = False,
        kernel_normalization: bool = False,
        delayed_padding: bool = False,
    ) -> None:
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be a positive odd number, got {kernel_size}")
        channels = [int(width) for width in channels]
        if len(channels) != 5 or min(channels) < 1:
            raise ValueError(f"channels must be five positive encoder widths, got {channels}")
        self.kernel_size = int(kernel_size)
        self.channels = tuple(channels)
        self.input_normalization = bool(input_normalization)
        self.kernel_normalization = bool(kernel_normalization)
        self.delayed_padding = bool(delayed_padding)

        c1, c2, c3, c4, c5 = channels
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)
        self.conv1 = _basic(6, c1)
        self.conv2 = _basic(c1, c2)
        self.conv3 = _basic(c2, c3)
        self.conv4 = _basic(c3, c4)
        self.conv5 = _basic(c4, c5)
        self.deconv5 = _basic(c5, c5)
        self.deconv4 = _basic(c5, c4)
        self.deconv3 = _basic(c4, c3)
        self.deconv2 = _basic(c3, c2)
        self.upsample5 = _upsample(c5)
        self.upsample4 = _upsample(c4)
        self.upsample3 = _upsample(c3)
        self.upsample2 = _upsample(c2)
        self.kernel_vertical0 = _kernel_subnet(c2, kernel_size)
        self.kernel_horizontal0 = _kernel_subnet(c2, kernel_size)
        self.kernel_vertical1 = _kernel_subnet(c2, kernel_size)
        self.kernel_horizontal1 = _kernel_subnet(c2, kernel_size)

    @property
    def max_displacement(self) -> int:
        """Largest offset, in pixels, that a kernel reaches in each input frame (K//2)."""
        return self.kernel_size // 2

    @property
    def context(self) -> int:
        """Pixels around an output pixel that it depends on: the kernel reach (Generator contract)."""
        return self.max_displacement

    @property
    def inference_bytes_per_pixel(self) -> int:
        """Estimated peak inference memory per (padded) pixel of one pair, in bytes.

        Four K-channel kernels at full resolution plus the kernel subnets'
        K-channel intermediates and the first encoder level (``channels[0]``
        wide), all float32; the constant 12 was fitted to peak RSS on CPU with
        margin: ≈ 2.9 kB for K = 51, so 1080p needs ≈ 6.5 GB untiled.
        """
        return 4 * (12 * self.kernel_size + 4 * self.channels[0])

    flow_bytes_per_pixel = 0  # no optical flow (Generator contract)
    flow_thread_bytes_per_pixel = 0

    def estimate_flows(
        self, frame0: torch.Tensor, frame1: torch.Tensor, workers: int | None = None, backend: str = "opencv"
    ) -> None:
        """SepConv uses no optical flow (Generator contract)."""

    def compiled(self) -> nn.Module:
        """This model with its convolutional body compiled by ``torch.compile``; the weights are shared.

        Dynamo cannot trace the separable convolution's dispatch (numba on the
        CPU), so only :meth:`_estimate_kernels` is compiled, on a shallow copy
        that shares the parameters, and the op runs eagerly. Each new input
        size (and each tile size) compiles again: 7–40 s per shape on 2 CPU cores.
        """
        network = copy.copy(self)  # shares _parameters and _modules; only the method is replaced
        network._estimate_kernels = torch.compile(self._estimate_kernels)
        return network

    @property
    def context_padding(self) -> int:
        """Replicate padding added before the U-Net when ``delayed_padding`` is off."""
        return math.ceil(self.max_displacement / 16) * 16

    def _check_frames(self, frame0: torch.Tensor, frame1: torch.Tensor) -> None:
        if frame0.shape != frame1.shape:
            raise ValueError(
                f"frame0 and frame1 must have the same shape, got {tuple(frame0.shape)} and "
                f"{tuple(frame1.shape)}"
            )
        if frame0.dim() != 4 or frame0.shape[1] != 3:
            raise ValueError(f"SepConv expects RGB frames of shape B×3×H×W, got {tuple(frame0.shape)}")
        height, width = frame0.shape[-2:]
        if height % SIZE_MULTIPLE or width % SIZE_MULTIPLE:
            raise ValueError(
                f"SepConv needs a height and width that are multiples of {SIZE_MULTIPLE}, "
                f"got {height}×{width}; use sepgan.interpolator.Interpolator, which pads frames "
                "to a valid size"
            )

    def _estimate_kernels(self, frame0: torch.Tensor, frame1: torch.Tensor) -> dict[str, torch.Tensor]:
        """Run the U-Net and kernel subnets: four B×K×H×W kernels for H×W frames."""
        conv1 = self.conv1(torch.cat([frame0, frame1], dim=1))
        conv2 = self.conv2(self.pool(conv1))
        conv3 = self.conv3(self.pool(conv2))
        conv4 = self.conv4(self.pool(conv3))
        conv5 = self.conv5(self.pool(conv4))

        combined = self.upsample5(self.deconv5(self.pool(conv5))) + conv5
        combined = self.upsample4(self.deconv4(combined)) + conv4
        combined = self.upsample3(self.deconv3(combined)) + conv3
        combined = self.upsample2(self.deconv2(combined)) + conv2  # H/2 × W/2
        return {name: getattr(self, name)(combined) for name in KERNEL_NAMES}

    def forward(
        self, frame0: torch.Tensor, frame1: torch.Tensor, return_kernels: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Interpolate the middle frame.

        Args:
            frame0: B×3×H×W frame at t = 0, RGB in [0, 1]; H and W multiples of 32.
            frame1: B×3×H×W frame at t = 1.
            return_kernels: also return the four B×K×H×W kernels, keyed
                ``kernel_vertical0``, ``kernel_horizontal0``, ``kernel_vertical1``,
                ``kernel_horizontal1`` (for debugging and tests).

        Returns:
            The B×3×H×W middle frame, or ``(middle, kernels)`` with ``return_kernels``.
        """
        self._check_frames(frame0, frame1)
        height, width = frame0.shape[-2:]

        if self.input_normalization:
            both = torch.stack([frame0, frame1], dim=1)  # B×2×3×H×W
            mean = both.mean(dim=(1, 2, 3, 4), keepdim=True)[:, 0]  # B×1×1×1
            std = both.std(dim=(1, 2, 3, 4), unbiased=False, keepdim=True)[:, 0]
            std = std.clamp_min(NORMALIZATION_MIN_STD)
            frame0 = (frame0 - mean) / std
            frame1 = (frame1 - mean) / std

        if self.delayed_padding:
            kernels = self._estimate_kernels(frame0, frame1)
        else:
            pad = self.context_padding
            padded0 = F.pad(frame0, (pad, pad, pad, pad), mode="replicate")
            padded1 = F.pad(frame1, (pad, pad, pad, pad), mode="replicate")
            kernels = self._estimate_kernels(padded0, padded1)
            # Separable convolution of the padded frame, cropped to the centre, equals
            # separable convolution of the unpadded frame with the centre kernels: the
            # op's own K//2 replicate padding reproduces exactly the pixels that the
            # p ≥ K//2 padding would supply. This skips the wasted border work.
            kernels = {
                name: kernel[..., pad : pad + height, pad : pad + width] for name, kernel in kernels.items()
            }

        middle = separable_conv(frame0, kernels["kernel_vertical0"], kernels["kernel_horizontal0"])
        middle = middle + separable_conv(frame1, kernels["kernel_vertical1"], kernels["kernel_horizontal1"])

        if self.kernel_normalization:
            weight = sum(
                kernels[f"kernel_vertical{index}"].sum(dim=1, keepdim=True)
                * kernels[f"kernel_horizontal{index}"].sum(dim=1, keepdim=True)
                for index in (0, 1)
            )
            middle = middle / (weight + KERNEL_NORMALIZATION_EPS)

        if self.input_normalization:
            middle = middle * std + mean

        if return_kernels:
            return middle, kernels
        return middle
