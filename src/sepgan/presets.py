"""Speed presets: ``sepgan interpolate --preset fast|balanced|best``, each a bundled model built with
overrides.

A preset names bundled weights (:mod:`sepgan.weights`) and the load-time
overrides (:func:`sepgan.checkpoint.load_pretrained`) that set the knobs that
cost time: the size of the flow ensemble (``flow_variants``, 2 DIS calls per
variant per pair), the DIS preset (``flow_preset``: "medium" stops at half
resolution, "fine" refines to full resolution, :mod:`sepgan.flow`) and whether
the U-Net runs (``flow-ensemble`` has no network, ``sepgan-flow`` has one).

* ``fast``: one DIS "fine" estimate each way (no mirrored variants),
  fixed-point middle flows, no network: 2 DIS calls per pair instead of 8.
  Measured on the dev sets it is +1.6 / +2.3 dB over ffmpeg minterpolate;
  the cheaper "medium" preset (half-resolution flow) was +1.2 / +2.2 with one
  variant and +1.3 / +2.4 with two, short of the +1.5 dB issue 18 asks of it.
* ``balanced``: the default model, ``flow-ensemble`` as shipped (four
  mirrorings, DIS "fine", no network).
* ``best``: the learned ``sepgan-flow`` on the same four-way ensemble.

Measured dB and seconds per pair are in README.md ("Speed presets") and
BENCHMARKS.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["PRESETS", "Preset", "resolve_preset"]


@dataclass(frozen=True)
class Preset:
    """Bundled ``weights`` and the ``overrides`` they are built with."""

    weights: str
    overrides: dict[str, Any] = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    "fast": Preset("flow-ensemble", {"flow_variants": 1}),
    "balanced": Preset("flow-ensemble"),
    "best": Preset("sepgan-flow", {"flow_variants": 4}),
}


def resolve_preset(name: str) -> Preset:
    """The preset called ``name``; ValueError naming the choices otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {name!r}") from None
