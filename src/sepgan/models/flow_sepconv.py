"""Flow-guided SepConv: classical optical flow aligns the inputs, adaptive separable kernels correct it.

Pipeline for one pair (t = 0.5)
-------------------------------
1. **Flow.** OpenCV DIS flow both ways, ``flows = cat(flow01, flow10)``
   (B×4×H×W, pixels; see :mod:`sepgan.flow`), by default as an ensemble of
   ``flow_variants`` = 4 estimates on the mirrored pair (B×16×H×W; mirroring
   changes DIS's errors, and averaging the variants' warps gained +0.15 /
   +0.32 dB on middlebury-other / davis). It is computed outside the
   network on whole frames (:meth:`FlowSepConv.estimate_flows`), so the
   :class:`~sepgan.interpolator.Interpolator` can compute it once before
   padding or tiling and training data can carry flow computed on whole frames
   before cropping. ``forward`` computes it itself when ``flows`` is None.
2. **Pre-alignment.** Half-flow backward warps bring both inputs to the middle
   time: ``warped0 = warp(frame0, flow10 / 2)``, ``warped1 = warp(frame1, flow01 / 2)``,
   with the middle flows refined by ``middle_iterations`` fixed-point steps
   (:func:`sepgan.flow.middle_flows`); each is the average of its V variants'
   warps (:func:`sepgan.flow.ensemble_warps`). The number of variants
   is read from the flows passed in, so a model trained on single flows
   (a V = 1 prepared set) runs on an ensemble unchanged.
3. **U-Net.** A 5-level U-Net (He-initialised) (widths ``channels``; two 3×3 conv + LeakyReLU
   per level, average pooling down, bilinear upsampling and concatenated skips
   up) reads everything it needs to see where flow went wrong: both original
   frames, both warped frames, the two middle flows (divided by ``flow_scale``)
   and the forward–backward consistency error of each (as ``log1p`` of pixels),
   flows and errors averaged over the ensemble's variants.
4. **Corrections**, all from zero-initialised output layers; the full-resolution
   head reads the U-Net's last features and the raw inputs:
   * ``flow_residual``: a correction to each middle flow, predicted at 1/4
     resolution and upsampled (smooth, cheap); the inputs are warped again
     with the corrected flows;
   * per-pixel separable kernels (K×1 and 1×K, ``kernel_size`` taps) for each
     warped frame, each a centred delta plus a learned correction: sub-pixel
     shifts, blur and sharpening that flow cannot express;
   * ``blend``: a sigmoid mask choosing between the two warped frames
     (occlusions: a pixel hidden in one input is taken from the other);
   * ``residual``: an RGB correction added at the end.
5. ``middle = blend · sepconv(warped0, k0) + (1 − blend) · sepconv(warped1, k1) + residual``.

With every output layer at zero, the kernels are deltas, the mask is 0.5 and
the residuals vanish, so the untrained model reproduces its classical flow
baseline exactly (``flow-ensemble`` in :mod:`sepgan.evaluation.methods`: DIS
at full resolution on four mirrorings, fixed-point middle flows, averaged; with
one variant it is ``flow-fine``, and with ``flow_preset="medium",
middle_iterations=0`` too it is ``flow-simple``): training
starts from classical flow warping and learns to improve it.

**Any time.** Without the network (``with_network=False``, the bundled
``flow-ensemble``) the model makes the frame at any t in (0, 1) from the
pair's one flow estimate: steps 1–2 with :func:`sepgan.flow.flows_at_time`,
blended by nearness in time (:func:`sepgan.flow.blend_at_time`). It states
that as ``any_time`` (the generator contract), and the Interpolator then
warps straight to each output time instead of bisecting. The network was
trained on middle frames only, so a model with it makes t = ½ alone and
×3 or 25 → 60 fps go through recursive bisection.

Tensor conventions: RGB, float32 in [0, 1], B×3×H×W with H and W multiples of
16 (four poolings); the Interpolator pads any size. The output is not clamped.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from sepgan.flow import (
    DIS_PRESETS,
    blend_at_time,
    check_warp_interpolation,
    consistency_error,
    ensemble_warps,
    estimate_flows,
    mean_over_variants,
    middle_flows,
    stack_variants,
)
from sepgan.models.configurable import ConfigMixin, register_to_config
from sepgan.ops.separable_conv import separable_conv
from sepgan.options import check_flow_variants

__all__ = ["FlowSepConv"]

IN_CHANNELS = 3 * 4 + 2 * 2 + 2  # frames and warps, two middle flows, two consistency errors
HEAD_CHANNELS = 32


def _block(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1),
        nn.LeakyReLU(0.1, inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1),
        nn.LeakyReLU(0.1, inplace=True),
    )


def _unit_gain(kernel: torch.Tensor) -> torch.Tensor:
    """B×K×H×W per-pixel 1-D kernels scaled so that their taps sum to 1.

    Brightness is then the warps' and the residual's job: unnormalised kernels
    of the first shipped weights summed to ≈ 0.996 on real frames, which made
    every output 0.12–0.17 grey levels darker than its flow baseline. The
    divisor is kept ≥ 0.25, so a degenerate kernel (taps summing to 0.25 or
    less) is amplified at most 4× rather than without bound.
    """
    return kernel / kernel.sum(dim=1, keepdim=True).clamp_min(0.25)


def _zero_conv(in_channels: int, out_channels: int, kernel: int) -> nn.Conv2d:
    conv = nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2)
    nn.init.zeros_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


class FlowSepConv(ConfigMixin, nn.Module):
    """Flow-guided SepConv (module docstring).

    Args:
        kernel_size: taps of each 1-D kernel (odd); the kernels reach ±K//2 px
            around the flow-aligned position.
        channels: U-Net widths of the five levels, full resolution first.
        flow_preset: DIS preset used when the model computes flow itself
            ("ultrafast", "fast", "medium", "fine"; see :mod:`sepgan.flow`).
            Train on flow from the same preset (``sepgan prepare --flow-preset``).
        flow_scale: pixels that map to 1.0 in the network's flow inputs and
            that one unit of the flow-residual output moves.
        middle_iterations: fixed-point refinements of the half-flow middle
            flows (:func:`sepgan.flow.middle_flows`).
        flow_variants: size V of the flow ensemble that :meth:`estimate_flows`
            computes (1 to 4 mirrorings, :data:`sepgan.flow.FLOW_VARIANTS`).
        warp_interpolation: how the frames are sampled when warped,
            "bilinear" or "bicubic" (:data:`sepgan.flow.WARP_INTERPOLATIONS`).
            The bundled ``flow-ensemble`` uses "bicubic" (sharper: MODEL.md,
            "Sharper warps"); checkpoints without the option keep "bilinear",
            which is what the learned models were trained with.
        with_network: build the network (steps 3–5). ``False`` keeps only the
            classical part (steps 1–2 averaged: what the untrained model outputs,
            the ``flow-ensemble`` method) with no parameters and none of the
            network's time; the bundled ``flow-ensemble`` weights are this.
            Checkpoints saved before the rename call it ``corrections``
            (:data:`sepgan.models.registry.RENAMED_OPTIONS`).

    Implements the generator contract, :class:`sepgan.models.protocol.Generator`.
    """

    architecture = "flow-sepconv"
    multiple = 16

    @register_to_config
    def __init__(
        self,
        kernel_size: int = 7,
        channels: Sequence[int] = (16, 32, 48, 64, 96),
        flow_preset: str = "fine",
        flow_scale: float = 16.0,
        middle_iterations: int = 1,
        flow_variants: int = 4,
        with_network: bool = True,
        warp_interpolation: str = "bilinear",
    ) -> None:
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd and positive, got {kernel_size}")
        channels = tuple(int(c) for c in channels)
        if len(channels) != 5:
            raise ValueError(f"channels needs five widths (one per level), got {channels}")
        if flow_preset not in DIS_PRESETS:
            raise ValueError(f"unknown flow_preset {flow_preset!r}; choose from {', '.join(DIS_PRESETS)}")
        self.kernel_size = kernel_size
        self.channels = channels
        self.flow_preset = flow_preset
        self.flow_scale = float(flow_scale)
        self.middle_iterations = int(middle_iterations)
        self.flow_variants = check_flow_variants(int(flow_variants))
        self.with_network = bool(with_network)
        self.warp_interpolation = check_warp_interpolation(warp_interpolation)
        if not self.with_network:
            return  # the classical part alone: no network, no parameters

        widths = (IN_CHANNELS, *channels)
        self.encoders = nn.ModuleList(_block(widths[i], widths[i + 1]) for i in range(5))
        self.decoders = nn.ModuleList(_block(channels[i] + channels[i + 1], channels[i]) for i in range(4))
        self.flow_head = _zero_conv(channels[2], 4, 3)  # at 1/4 resolution
        # The head also reads the raw inputs: simple rules (trust the warp whose flow is
        # consistent) stay one layer away from the output whatever the trunk is doing.
        self.head = nn.Sequential(
            nn.Conv2d(channels[0] + IN_CHANNELS, HEAD_CHANNELS, 3, padding=1),
            nn.LeakyReLU(0.1, inplace=True),
            _zero_conv(HEAD_CHANNELS, 4 * kernel_size + 1 + 3, 1),
        )
        # He initialisation for LeakyReLU keeps the activations at unit scale through the ~20
        # layers. With PyTorch's default (variance 1/3 per layer) the features reaching the
        # zero-initialised heads were ~0.003, so Adam's bounded steps on the head weights moved
        # the outputs by ~1e-4 per 1000 steps and the model stayed at its flow baseline (MODEL.md).
        for module in [*self.encoders.modules(), *self.decoders.modules(), self.head[0]]:
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, a=0.1, nonlinearity="leaky_relu")
                nn.init.zeros_(module.bias)
        delta = torch.zeros(kernel_size)
        delta[kernel_size // 2] = 1.0
        self.register_buffer("delta", delta.view(1, -1, 1, 1), persistent=False)

    @property
    def any_time(self) -> bool:
        """Whether ``forward`` takes a ``time`` other than ½ (Generator contract): the classical part
        warps to any t from one pair of flows; the network was trained on middle frames only."""
        return not self.with_network

    @property
    def reads_neighbours(self) -> bool:
        """Whether ``forward`` takes ``neighbours``, the neighbouring pairs' flows (Generator contract):
        the classical part then warps by constant-acceleration motion through four frames."""
        return not self.with_network

    @property
    def context(self) -> int:
        """Context a tile needs: flow can reach far, so tiles overlap by 2 × this (128 px)."""
        return 64

    def compiled(self) -> nn.Module:
        """The whole model through ``torch.compile`` (Generator contract); DIS stays outside,
        in estimate_flows."""
        return torch.compile(self)

    @property
    def inference_bytes_per_pixel(self) -> int:
        """Peak CPU inference memory per padded pixel of one item (a pair at one time), for the
        Interpolator's tiling budget.

        With the network, full-resolution tensors dominate: the 18-channel input,
        the level-0 encoder and decoder activations, the head and the warps; each
        further flow variant adds its flows, middle flows and warps (≈ 22 floats).
        Fitted to measured peaks of ``sepgan interpolate`` at 1080p (2.09 M
        padded pixels) above the start-up RSS: 2.3 GB (≈ 1.1 kB per pixel) with
        one variant, 2.86 GB (≈ 1.37 kB) with four, which is what this gives
        for the default widths. Without it (the classical part: the padded
        flows, then one variant's flows, sample positions and warps at a time,
        :func:`sepgan.flow.ensemble_warps`) 153 and 246 bytes per pixel were
        measured for one pair with V = 1 and 4 at 1080p (``benchmarks/bench_memory.py``);
        this gives 176 and 272.
        """
        if not self.with_network:
            return 4 * (36 + 8 * self.flow_variants)
        return 4 * (150 + 6 * self.channels[0] + 4 * self.kernel_size + 22 * (self.flow_variants - 1))

    @property
    def flow_bytes_per_pixel(self) -> int:
        """One pair's flows as :meth:`estimate_flows` returns them, 4V float32 channels (Generator
        contract)."""
        return 16 * self.flow_variants

    @property
    def flow_thread_bytes_per_pixel(self) -> int:
        """Peak working memory of one DIS thread per pixel (Generator contract): OpenCV's pyramids,
        the variational refinement's derivatives and weights and the mirrored copies; measured for
        "fine" (refined at full resolution) as 229–232 bytes a thread at 1080p (8 to 32 calls on 2
        threads) and 260 for one call at 540p, 63 for "medium", 23 for "fast", 12 for "ultrafast"
        (``benchmarks/bench_memory.py``)."""
        return {"fine": 236, "medium": 66, "fast": 26, "ultrafast": 14}[self.flow_preset]

    def estimate_flows(
        self, frame0: torch.Tensor, frame1: torch.Tensor, workers: int | None = None, backend: str = "opencv"
    ) -> torch.Tensor:
        """DIS flow both ways, B×4V×H×W: V = ``flow_variants`` groups of ``cat(flow01, flow10)`` in pixels.

        ``workers``: threads for OpenCV's DIS calls (None: one per usable CPU); ``backend``:
        "opencv", "torch" (on the frames' device) or "auto". Not differentiable; see
        :func:`sepgan.flow.estimate_flows`.
        """
        return estimate_flows(frame0, frame1, self.flow_preset, self.flow_variants, workers, backend)

    def _features(
        self, frame0: torch.Tensor, frame1: torch.Tensor, flows: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Head input (decoder features and the network inputs), flow residual, per-variant middle flows."""
        variants = flows.shape[1] // 4
        stacked = stack_variants(flows)  # every variant in one batch
        middles = middle_flows(stacked, self.middle_iterations)
        flow_to0, flow_to1 = (mean_over_variants(to, variants) for to in middles)
        error = mean_over_variants(consistency_error(stacked), variants)
        warped0, warped1 = ensemble_warps(
            frame0, frame1, flows, time_flows=middles, interpolation=self.warp_interpolation
        )
        inputs = torch.cat(
            [
                frame0 - 0.5, frame1 - 0.5, warped0 - 0.5, warped1 - 0.5,
                flow_to0 / self.flow_scale, flow_to1 / self.flow_scale,
                torch.log1p(error),
            ],
            dim=1,
        )  # fmt: skip
        skips = []
        features = inputs
        for level, encoder in enumerate(self.encoders):
            if level > 0:
                features = F.avg_pool2d(features, 2)
            features = encoder(features)
            skips.append(features)
        quarter = None
        for level in (3, 2, 1, 0):
            upsampled = F.interpolate(features, scale_factor=2.0, mode="bilinear", align_corners=False)
            features = self.decoders[level](torch.cat([skips[level], upsampled], dim=1))
            if level == 2:
                quarter = features
        assert quarter is not None
        flow_residual = F.interpolate(
            self.flow_head(quarter), scale_factor=4.0, mode="bilinear", align_corners=False
        )
        return torch.cat([features, inputs], dim=1), flow_residual, middles

    def forward(
        self,
        frame0: torch.Tensor,
        frame1: torch.Tensor,
        flows: torch.Tensor | None = None,
        time: torch.Tensor | float | None = None,
        return_parts: bool = False,
        neighbours: torch.Tensor | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Interpolate the frame at ``time`` (the middle frame by default).

        Args:
            frame0, frame1: B×3×H×W RGB in [0, 1]; H and W multiples of 16.
            flows: B×4V×H×W, V ≥ 1 groups of ``cat(flow01, flow10)`` in pixels (a flow
                ensemble, :meth:`estimate_flows`), or None to run DIS here.
            time: t in (0, 1), a float or a B-vector (one per pair); None is ½. Only the
                classical part (``with_network=False``, :attr:`any_time`) takes t ≠ ½;
                the network raises ValueError for it.
            return_parts: also return the intermediate tensors (refined flows,
                warps, kernels, blend mask, residual) for tests and inspection.
            neighbours: B×4V×H×W flows of the neighbouring pairs
                (:func:`sepgan.flow.neighbour_flows`), for constant-acceleration
                motion; only the classical part (:attr:`reads_neighbours`) takes
                them, the network raises ValueError.
        """
        if frame0.shape != frame1.shape or frame0.dim() != 4 or frame0.shape[1] != 3:
            raise ValueError(
                f"expected two B×3×H×W frames of one shape, got {tuple(frame0.shape)}, {tuple(frame1.shape)}"
            )
        height, width = frame0.shape[-2:]
        if height % self.multiple or width % self.multiple:
            raise ValueError(
                f"frame size {height}×{width} is not a multiple of {self.multiple}; pad it first"
            )
        if time is not None and not self.any_time and bool((torch.as_tensor(time) != 0.5).any()):
            raise ValueError("this model's network makes only the middle frame (t = 0.5)")
        if neighbours is not None and not self.reads_neighbours:
            raise ValueError("this model's network reads no neighbouring flows")
        if flows is None:
            flows = self.estimate_flows(frame0, frame1)
        flows = flows.to(frame0.device, torch.float32)
        frame0, frame1 = frame0.float(), frame1.float()
        if not self.with_network:
            time = 0.5 if time is None else time
            # One variant at a time (ensemble_warps): a quarter of the working set of all four at once.
            warped0, warped1 = ensemble_warps(
                frame0,
                frame1,
                flows,
                time,
                self.middle_iterations,
                neighbours=neighbours,
                interpolation=self.warp_interpolation,
            )
            middle = blend_at_time(warped0, warped1, time)
            return (middle, {"warped0": warped0, "warped1": warped1}) if return_parts else middle
        features, flow_residual, middles = self._features(frame0, frame1, flows)
        residual0 = self.flow_scale * flow_residual[:, :2].float()
        residual1 = self.flow_scale * flow_residual[:, 2:].float()
        warped0, warped1 = ensemble_warps(
            frame0,
            frame1,
            flows,
            residual0=residual0,
            residual1=residual1,
            time_flows=middles,
            interpolation=self.warp_interpolation,
        )

        out = self.head(features).float()
        k = self.kernel_size
        kernel_vertical0, kernel_horizontal0, kernel_vertical1, kernel_horizontal1 = (
            _unit_gain(self.delta + out[:, i * k : (i + 1) * k]) for i in range(4)
        )
        blend = torch.sigmoid(out[:, 4 * k : 4 * k + 1])
        residual = out[:, 4 * k + 1 :]

        filtered0 = separable_conv(warped0, kernel_vertical0.contiguous(), kernel_horizontal0.contiguous())
        filtered1 = separable_conv(warped1, kernel_vertical1.contiguous(), kernel_horizontal1.contiguous())
        middle = blend * filtered0 + (1.0 - blend) * filtered1 + residual
        if not return_parts:
            return middle
        variants = flows.shape[1] // 4
        parts = {
            "flow_to0": mean_over_variants(middles[0], variants) + residual0,  # mean over the variants
            "flow_to1": mean_over_variants(middles[1], variants) + residual1,
            "warped0": warped0, "warped1": warped1,
            "kernel_vertical0": kernel_vertical0, "kernel_horizontal0": kernel_horizontal0,
            "kernel_vertical1": kernel_vertical1, "kernel_horizontal1": kernel_horizontal1,
            "blend": blend, "residual": residual,
        }  # fmt: skip
        return middle, parts
