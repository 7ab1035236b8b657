"""Loading a model for the interpolate job: by name, preset and options, in this process or a worker.

:func:`load_interpolator` builds the :class:`~sepgan.interpolator.Interpolator` of the
model :func:`sepgan.options.resolve_model` picks. :class:`ModelSpec` holds the same
arguments as data, so a worker process or a Ray actor (:mod:`sepgan.segments`)
loads the same model, and a resumed job can tell whether it was asked for the same
one. Nothing here imports torch until a model is loaded.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from sepgan.errors import InterpolationError, UserError
from sepgan.options import DEFAULT_BATCH_SIZE, DEFAULT_FLOW_BACKEND, resolve_model

if TYPE_CHECKING:
    from sepgan.interpolator import Interpolator

__all__ = ["ModelSpec", "load_interpolator"]


def load_interpolator(
    weights: str | os.PathLike[str] | None,
    *,
    flow_variants: int | None = None,
    preset: str | None = None,
    **options: Any,
) -> Interpolator:
    """:meth:`Interpolator.from_pretrained` of the model :func:`sepgan.options.resolve_model` picks.

    ``options`` go to the :class:`~sepgan.interpolator.Interpolator` (device, precision,
    batch_size, tile, tile_overlap, max_memory_mb, compile, workers), whose defaults are
    :mod:`sepgan.options`'. ``flow_variants`` overrides a flow-guided model's flow-ensemble size
    (1–4, :mod:`sepgan.flow`): fewer variants, less DIS time, a little less quality.
    It is given when the model is built, so its memory estimate (and with it the
    tiling under ``max_memory_mb``) is the one of the ensemble that runs.
    ``preset`` (:data:`sepgan.options.PRESETS`) picks bundled weights and their overrides
    instead of ``weights`` and ``flow_variants``.

    Raises :class:`sepgan.options.OptionError` naming the option at fault, and
    :class:`InterpolationError` for other values the runtime refuses (a precision).
    """
    from sepgan.checkpoint import UnknownOverride
    from sepgan.interpolator import Interpolator
    from sepgan.options import OptionError

    model = resolve_model(weights, preset=preset, flow_variants=flow_variants)
    try:
        return Interpolator.from_pretrained(model.weights, overrides=model.overrides, **options)
    except UnknownOverride as error:
        raise OptionError(
            "{flow_variants} applies to flow-guided models; {architecture} computes no flow",
            parameter="flow_variants",
            architecture=error.architecture,
        ) from None
    except UserError:  # option and checkpoint errors name what is wrong already
        raise
    except ValueError as error:  # e.g. an unknown precision (sepgan.runtime)
        raise InterpolationError(str(error)) from error


# The arguments that change what the model outputs (the rest change only speed and memory).
_OUTPUT_ARGUMENTS = (
    "weights",
    "preset",
    "flow_variants",
    "precision",
    "tile",
    "tile_overlap",
    "flow_backend",  # torch DIS and OpenCV DIS give slightly different flows
)


@dataclass(frozen=True)
class ModelSpec:
    """The arguments of :func:`load_interpolator`, as data (picklable: worker processes, Ray actors).

    ``weights`` is a bundled name, a folder, or None for the default; ``tile`` a size in
    pixels, ``"auto"`` or None; ``workers`` the CPU threads for optical flow (None: every CPU);
    ``flow_backend`` who computes that flow (:data:`sepgan.options.FLOW_BACKENDS`).
    """

    weights: str | None = None
    preset: str | None = None
    flow_variants: int | None = None
    device: str = "auto"
    precision: str = "auto"
    batch_size: int = DEFAULT_BATCH_SIZE
    tile: int | str | None = "auto"
    tile_overlap: int | None = None
    compile: bool = False
    workers: int | None = None
    flow_backend: str = DEFAULT_FLOW_BACKEND

    def load(self, **changes: Any) -> Interpolator:
        """The Interpolator, with ``changes`` to the spec (e.g. ``workers=1`` for one of several workers)."""
        spec = replace(self, **changes)
        options = {
            name: value
            for name, value in asdict(spec).items()
            if name not in ("weights", "preset", "flow_variants")
        }
        return load_interpolator(
            spec.weights, flow_variants=spec.flow_variants, preset=spec.preset, **options
        )

    def identity(self) -> dict[str, Any]:
        """The arguments that change the output frames, as JSON-ready values (a resume compares them)."""
        return {name: getattr(self, name) for name in _OUTPUT_ARGUMENTS}
