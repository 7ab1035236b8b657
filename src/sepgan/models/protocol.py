"""The generator contract: what :class:`sepgan.interpolator.Interpolator` may rely on in a model.

A generator is an ``nn.Module`` called as ``model(frame0, frame1, **extra)`` on
two B×3×H×W RGB frames in [0, 1] whose H and W are multiples of ``multiple``;
it returns the middle frame (t = 0.5), B×3×H×W, not clamped (or, for an
``any_time`` model called with ``time=``, the frame at that time). Besides that call
it states, as plain attributes, the figures the Interpolator plans with:

* ``multiple``: H and W must be multiples of this (the U-Net's total
  downsampling: 32 for SepConv's five poolings, 16 for FlowSepConv's four).
  The Interpolator pads to it and rounds tile sizes to it.
* ``context``: pixels around an output pixel that its value depends on
  (SepConv: the kernel reach K//2; FlowSepConv: 64, as flow reaches far).
  Tiles overlap by about twice this, so tiled and whole-frame output agree.
* ``inference_bytes_per_pixel``: estimated peak inference memory per padded
  pixel of one pair, in bytes; the Interpolator's memory budget divides by it
  to choose tile and batch sizes. It must follow the model's configuration
  (FlowSepConv's grows with ``flow_variants``), which is why options that
  change it are given when the model is built
  (:func:`sepgan.checkpoint.load_pretrained` ``overrides``), never set after.
* ``flow_bytes_per_pixel`` and ``flow_thread_bytes_per_pixel``: what
  ``estimate_flows`` holds, per pixel of the whole frame in bytes: the flows
  of one pair (kept until the network has used them; one DIS call makes each
  2-channel float32 flow, 8 bytes a pixel) and the working memory of one of
  its threads. Both 0 for a model without flow. :mod:`sepgan.memory` plans
  a job's memory with them and ``inference_bytes_per_pixel``.
* ``estimate_flows(frame0, frame1, workers=None)``: flows to compute on whole, unpadded
  frames before padding and tiling, passed back as ``model(..., flows=...)``
  (B×4V×H×W); ``None`` for models that use no flow. ``workers`` caps the CPU
  threads it may use (None: one per usable CPU).
* ``any_time``: whether the call takes ``time=t`` (a float in (0, 1), or a
  B-vector, one t per pair) and returns the frame at that time, warped
  straight from the pair. Models that make only t = ½ (SepConv, FlowSepConv
  with its network) say False, and the Interpolator reaches other times by
  recursive bisection (dyadic times only).
* ``reads_neighbours``: whether the call takes ``neighbours=`` (B×4V×H×W, the
  neighbouring pairs' flows, :func:`sepgan.flow.neighbour_flows`) and moves
  pixels by constant-acceleration motion through four frames. Only a model
  that reads ``flows`` can; the Interpolator passes them for video and frame
  folder inputs, never for an image pair.
* ``compiled()``: the module to run when ``torch.compile`` is asked for,
  sharing the weights (a model compiles the parts that Dynamo can trace).

Both :class:`~sepgan.models.sepconv.SepConv` and
:class:`~sepgan.models.flow_sepconv.FlowSepConv` implement it; the
discriminators do not, which is how a discriminator folder is told apart
(``isinstance(model, Generator)``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = ["Generator"]


@runtime_checkable
class Generator(Protocol):
    """Structural type of a generator (module docstring)."""

    architecture: str
    multiple: int

    @property
    def any_time(self) -> bool: ...

    @property
    def reads_neighbours(self) -> bool: ...

    @property
    def context(self) -> int: ...

    @property
    def inference_bytes_per_pixel(self) -> int: ...

    @property
    def flow_bytes_per_pixel(self) -> int: ...

    @property
    def flow_thread_bytes_per_pixel(self) -> int: ...

    def estimate_flows(
        self, frame0: torch.Tensor, frame1: torch.Tensor, workers: int | None = None, backend: str = "opencv"
    ) -> torch.Tensor | None: ...

    def compiled(self) -> nn.Module: ...

    def __call__(self, frame0: torch.Tensor, frame1: torch.Tensor, **extra: torch.Tensor) -> torch.Tensor: ...
