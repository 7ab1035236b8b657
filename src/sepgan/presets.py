"""Speed presets: ``sepgan interpolate --preset fast|balanced|best``, each a bundled model built with overrides.

A preset names bundled weights (:mod:`sepgan.weights`) and the load-time
overrides (:func:`sepgan.checkpoint.load_pretrained`) that set the knobs that
cost time: the size of the flow ensemble (``flow_variants``, 2 DIS calls per
variant per pair), the DIS preset (``flow_preset``: "medium" stops at half
resolution, "fine" refines to full resolution, :mod:`sepgan.flow`) and whether
the U-Net runs (``flow-ensemble`` has no network, ``sepgan-flow`` has one).

* ``fast``: one DIS "medium" estimate each way, fixed-point middle flows, no
  network; 2 half-resolution DIS calls per pair instead of 8 full-resolution ones.
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
    "fast": Preset("flow-ensemble", {"flow_variants": 1, "flow_preset": "medium"}),
    "balanced": Preset("flow-ensemble"),
    "best": Preset("sepgan-flow", {"flow_variants": 4}),
}


def resolve_preset(name: str) -> Preset:
    """The preset called ``name``; ValueError naming the choices otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {name!r}") from None
