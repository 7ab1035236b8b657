"""Static frame borders: letterbox and pillarbox bars, and any uniform band that does not change.

Black bars around a picture do not move when the camera pans, but optical
flow computed over the whole frame drags them along with the picture (DIS's
patches straddle the bar edge and its smoothness term spreads the picture's
motion into them), so the interpolated frame smears dark bands inward. The
fix belongs outside every model: find the bars, pass them through unchanged,
and interpolate only the picture inside (:func:`interpolate_inside_borders`,
used by the Interpolator and the classical ``flow-*`` evaluation methods).
Flow is computed on the frame's own size with the bars filled by the
picture's edge lines, then cropped to the picture (:func:`picture_flows`).

A border row (or column) is one that is uniform in both frames (its values
span at most ``UNIFORM_LEVELS`` grey levels over its pixels and channels)
and the same in both frames (a mean absolute change of at most
``STILL_LEVELS``, so compression noise passes). Bars are grown inward from
each edge while that holds, and a bar then takes in its ragged edge: a few
lines that stay near the bar's level but are not uniform or change (the
compression ringing next to the picture, which a fade brightens too). Left
inside the picture, such a dark line at the picture's edge is warped with
the picture's motion and turns bright (measured on the letterboxed Sintel
clip in ``moviepy/``: errors of 60–110 grey levels in those lines). A
uniform static band that is part of the picture (a clear sky at the top
edge) is detected too, and passing it through is just as right:
it is the same in both frames, so it is the same in between.

Tensor conventions: B×3×H×W float in [0, 1]; borders are pixel counts. For a
batch, each side is the smallest band over its pairs, so a batch of one
video's pairs shares its bars.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

__all__ = ["MIN_PICTURE", "Borders", "interpolate_inside_borders", "picture_flows", "static_borders"]

UNIFORM_LEVELS = 8.0  # grey levels (of 255) a border row may span
STILL_LEVELS = 3.0  # grey levels (of 255) a border row may change between the frames, on average
MIN_PICTURE = 32  # pixels the picture inside must keep on each axis, or nothing is treated as a border
MAX_SIDE_FRACTION = 0.4  # a single bar covers at most this much of its axis
MIN_BAR = 4  # lines of static uniform core before a band counts as a bar with a ragged edge
EDGE_LINES = 4  # lines of ragged edge a bar may take in
EDGE_LEVELS = 24.0  # grey levels (of 255) an edge line may stray from its bar's mean level


@dataclass(frozen=True)
class Borders:
    """Static bands on each side, in pixels."""

    top: int = 0
    bottom: int = 0
    left: int = 0
    right: int = 0

    def __bool__(self) -> bool:
        return any((self.top, self.bottom, self.left, self.right))

    def inner(self, height: int, width: int) -> tuple[slice, slice]:
        """(rows, columns) of the picture inside the bands of an H×W frame."""
        return slice(self.top, height - self.bottom), slice(self.left, width - self.right)

    def crop(self, tensor: torch.Tensor) -> torch.Tensor:
        """The picture inside the bands of a B×C×H×W tensor (frames or flows), contiguous."""
        if not self:
            return tensor
        rows, columns = self.inner(*tensor.shape[-2:])
        return tensor[..., rows, columns].contiguous()

    def fill(self, frames: torch.Tensor) -> torch.Tensor:
        """B×C×H×W frames with each band replaced by the picture's nearest line, repeated.

        This is what flow is computed on (:func:`picture_flows`): the frame's own size, so
        DIS keeps its pyramid, and no bar edge for its patches and smoothness to drag the
        picture's motion to zero.
        """
        if not self:
            return frames
        padding = (self.left, self.right, self.top, self.bottom)
        return torch.nn.functional.pad(self.crop(frames), padding, mode="replicate")


def _static_lines(frame0: torch.Tensor, frame1: torch.Tensor, dim: int) -> torch.Tensor:
    """Bool per row (``dim=2``) or column (``dim=3``): uniform and unchanged in every pair of the batch."""
    reduce = (1, 3) if dim == 2 else (1, 2)  # over channels and the other axis
    both = torch.stack([frame0, frame1])  # 2×B×3×H×W
    over = tuple(r + 1 for r in reduce)
    span = both.amax(dim=over) - both.amin(dim=over)  # 2×B×L
    uniform = (span <= UNIFORM_LEVELS / 255).all(dim=0)  # B×L
    change = (frame1 - frame0).abs().mean(dim=reduce)  # B×L; a mean, so that compression noise passes
    return (uniform & (change <= STILL_LEVELS / 255)).all(dim=0)  # L


def _run_length(lines: torch.Tensor, limit: int) -> int:
    """How many leading entries of a bool vector are true, at most ``limit``."""
    false = (~lines[:limit]).nonzero()
    return int(false[0]) if len(false) else min(limit, len(lines))


def _band(frame0: torch.Tensor, frame1: torch.Tensor, dim: int, limit: int) -> int:
    """Lines of the static band at the start of axis ``dim`` (2: rows from the top, 3: columns from the left).

    The band's core is the run of static uniform lines. A core of at least
    ``MIN_BAR`` lines is a bar, and its ragged edge joins it: up to
    ``EDGE_LINES`` further lines whose every value stays within ``EDGE_LEVELS``
    of the bar's mean level in both frames, changing or not (compression
    ringing, which a fade brightens with the picture).
    """
    core = _run_length(_static_lines(frame0, frame1, dim), limit)
    if core < MIN_BAR:
        return core
    levels = [frame.narrow(dim, 0, core).mean() for frame in (frame0, frame1)]
    edge = 0
    while edge < EDGE_LINES and core + edge < limit:
        lines = [frame.narrow(dim, core + edge, 1) for frame in (frame0, frame1)]
        if any(
            float((line - level).abs().max()) > EDGE_LEVELS / 255
            for line, level in zip(lines, levels, strict=True)
        ):
            break
        edge += 1
    return core + edge


def static_borders(frame0: torch.Tensor, frame1: torch.Tensor) -> Borders:
    """The static uniform bands of a B×3×H×W pair batch (module docstring).

    Empty when there are none or too little picture would be left.
    """
    height, width = frame0.shape[-2:]
    if height < MIN_PICTURE + 1 or width < MIN_PICTURE + 1:
        return Borders()
    # Fast path, the usual case: no outermost line is static, so there are no bands (4 lines, not H + W).
    outermost = (
        _static_lines(frame0[..., :1, :], frame1[..., :1, :], dim=2),
        _static_lines(frame0[..., -1:, :], frame1[..., -1:, :], dim=2),
        _static_lines(frame0[..., :, :1], frame1[..., :, :1], dim=3),
        _static_lines(frame0[..., :, -1:], frame1[..., :, -1:], dim=3),
    )
    if not any(bool(line[0]) for line in outermost):
        return Borders()
    row_limit, column_limit = int(MAX_SIDE_FRACTION * height), int(MAX_SIDE_FRACTION * width)
    flipped0, flipped1 = frame0.flip(2, 3), frame1.flip(2, 3)
    borders = Borders(
        top=_band(frame0, frame1, 2, row_limit),
        bottom=_band(flipped0, flipped1, 2, row_limit),
        left=_band(frame0, frame1, 3, column_limit),
        right=_band(flipped0, flipped1, 3, column_limit),
    )
    if (
        height - borders.top - borders.bottom < MIN_PICTURE
        or width - borders.left - borders.right < MIN_PICTURE
    ):
        return Borders()  # a nearly uniform still frame: nothing to protect, interpolate it whole
    return borders


def picture_flows(
    frame0: torch.Tensor,
    frame1: torch.Tensor,
    estimate: Callable[[torch.Tensor, torch.Tensor], torch.Tensor | None],
    borders: Borders | None = None,
) -> torch.Tensor | None:
    """The flows of the picture inside the static borders, for :func:`interpolate_inside_borders`.

    ``estimate`` maps two B×3×H×W frames to their B×C×H×W flows (or None, a model without
    flow). It runs on the frames with their bands filled by the picture's edge lines
    (:meth:`Borders.fill`), and the flows are cropped to the picture: B×C×h×w.

    Why not the picture alone or the whole frame: measured with ``flow-ensemble`` on
    letterboxed 256×256 clips and on clips with bars at their own size (MODEL.md, "Frame
    borders again"), flow on the cropped picture lost up to 2.5 dB on small letterboxed
    frames (fewer pyramid levels, less support at the picture's edge), and flow on the whole
    frame lost on the bar clips (the bar's edge drags the picture's motion).
    """
    borders = static_borders(frame0, frame1) if borders is None else borders
    flows = estimate(borders.fill(frame0), borders.fill(frame1))
    return None if flows is None else borders.crop(flows)


def interpolate_inside_borders(
    frame0: torch.Tensor,
    frame1: torch.Tensor,
    interpolate: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    time: torch.Tensor | float | None = None,
    borders: Borders | None = None,
) -> torch.Tensor:
    """``interpolate`` run on the picture inside the static borders; the borders pass through.

    ``frame0``, ``frame1``: B×3×H×W in [0, 1]. ``interpolate`` maps two
    B×3×h×w pictures to their B×3×h×w frame at ``time``. The bands take
    ``(1 − t)·frame0 + t·frame1`` (the mean for the middle frame, ``time``
    None or ½), which is each frame exactly where they are identical. ``time``:
    a float or a B-vector. ``borders``: the bands when the caller found them
    already (e.g. on the pairs a batch of times was drawn from); by default
    :func:`static_borders` of this batch.
    """
    borders = static_borders(frame0, frame1) if borders is None else borders
    if not borders:
        return interpolate(frame0, frame1)
    rows, columns = borders.inner(*frame0.shape[-2:])
    inside = interpolate(frame0[..., rows, columns].contiguous(), frame1[..., rows, columns].contiguous())
    if time is None or (not isinstance(time, torch.Tensor) and float(time) == 0.5):
        frame = 0.5 * (frame0.float() + frame1.float())
    else:
        t = torch.as_tensor(time, dtype=torch.float32).reshape(-1, 1, 1, 1)
        frame = (1 - t) * frame0.float() + t * frame1.float()
    frame = frame.to(inside.device, inside.dtype)
    frame[..., rows, columns] = inside
    return frame
