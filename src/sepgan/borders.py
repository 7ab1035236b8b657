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

Inside the picture, the outermost line or two of a side can be an edge
artefact rather than picture: a scaler that treats the outside as black
leaves a darkened copy of the picture's edge (0.1–0.9 of its level), and a
crop can leave a dark line. Such a line keeps its place and its gain while the
picture moves, so warping it with the picture puts picture where the truth
still has the line (davis: errors of 75–105 grey levels in the edge columns of
speed-skating, 20–30 in dolphins). :func:`edge_artefacts` finds them as lines
unlike the line inside them but explained by a gain and offset of it in both
frames, and :func:`interpolate_inside_borders` rebuilds them in the frame it
makes: by that gain and offset from the made line inside, or, where they
barely change, from the inputs weighed by time, as it does the bands
(MODEL.md, "Edge artefact lines").

Tensor conventions: B×3×H×W float in [0, 1]; borders are pixel counts. For a
batch, each side is the smallest band over its pairs, so a batch of one
video's pairs shares its bars.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

__all__ = [
    "MIN_PICTURE",
    "Borders",
    "edge_artefacts",
    "interpolate_inside_borders",
    "picture_flows",
    "static_borders",
]

UNIFORM_LEVELS = 8.0  # grey levels (of 255) a border row may span
STILL_LEVELS = 3.0  # grey levels (of 255) a border row may change between the frames, on average
MIN_PICTURE = 32  # pixels the picture inside must keep on each axis, or nothing is treated as a border
MAX_SIDE_FRACTION = 0.4  # a single bar covers at most this much of its axis
MIN_BAR = 4  # lines of static uniform core before a band counts as a bar with a ragged edge
EDGE_LINES = 4  # lines of ragged edge a bar may take in
EDGE_LEVELS = 24.0  # grey levels (of 255) an edge line may stray from its bar's mean level
ARTEFACT_LINES = 2  # outermost lines of each side of the picture tested as edge artefacts
# An artefact line differs from the line inside it by this many grey levels (rms, of 255) in both
# frames, while a gain and offset of that line reproduce it within ARTEFACT_FIT of the difference.
ARTEFACT_LEVELS = 4.0
ARTEFACT_FIT = 0.5
ARTEFACT_GAIN_MARGIN = 4.0  # rebuild by the gain model where the line changes this many times its fit error


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


def _line(frames: torch.Tensor, side: str, index: int) -> torch.Tensor:
    """Line ``index`` from the ``side`` edge of B×C×H×W frames: a B×C×L view."""
    if side == "top":
        return frames[..., index, :]
    if side == "bottom":
        return frames[..., frames.shape[-2] - 1 - index, :]
    if side == "left":
        return frames[..., index]
    return frames[..., frames.shape[-1] - 1 - index]


@dataclass(frozen=True)
class _ArtefactLine:
    """An edge artefact line: ``index`` lines in from ``side``, ≈ ``gain · inner + offset`` (B×C×1 each,
    ``inner`` the line inside it), rebuilt that way where ``by_gain`` (B×1×1), else taken from the inputs."""

    side: str
    index: int
    gain: torch.Tensor
    offset: torch.Tensor
    by_gain: torch.Tensor


def _rms(difference: torch.Tensor) -> torch.Tensor:
    """Root mean square over channels and the line of a B×C×L difference: B."""
    return difference.square().mean(dim=(1, 2)).sqrt()


def _artefact_line(frame0: torch.Tensor, frame1: torch.Tensor, side: str, index: int) -> _ArtefactLine | None:
    """The line's gain model when it is an edge artefact in every pair (:func:`edge_artefacts`), else None."""
    edge0, inner0 = _line(frame0, side, index).double(), _line(frame0, side, index + 1).double()
    edge1, inner1 = _line(frame1, side, index).double(), _line(frame1, side, index + 1).double()
    edge, inner = torch.cat([edge0, edge1], dim=-1), torch.cat([inner0, inner1], dim=-1)
    inner_mean, edge_mean = inner.mean(-1, keepdim=True), edge.mean(-1, keepdim=True)
    centred = inner - inner_mean
    covariance = (centred * (edge - edge_mean)).mean(-1, keepdim=True)
    gain = covariance / centred.square().mean(-1, keepdim=True).clamp_min(1e-12)  # least squares, per channel
    offset = edge_mean - gain * inner_mean
    fit = torch.maximum(_rms(gain * inner0 + offset - edge0), _rms(gain * inner1 + offset - edge1))
    unlike = torch.minimum(_rms(inner0 - edge0), _rms(inner1 - edge1))
    if not bool(((unlike >= ARTEFACT_LEVELS / 255) & (fit <= ARTEFACT_FIT * unlike)).all()):
        return None
    by_gain = (ARTEFACT_GAIN_MARGIN * fit <= _rms(edge1 - edge0)).view(-1, 1, 1)
    return _ArtefactLine(side, index, gain.float(), offset.float(), by_gain)


def _artefact_lines(frame0: torch.Tensor, frame1: torch.Tensor) -> list[_ArtefactLine]:
    """Every edge artefact line of a B×3×H×W pair batch, each side's from the edge inwards."""
    height, width = frame0.shape[-2:]
    if height < MIN_PICTURE + 1 or width < MIN_PICTURE + 1:
        return []
    lines = []
    for side in ("top", "bottom", "left", "right"):
        for index in range(ARTEFACT_LINES):
            line = _artefact_line(frame0, frame1, side, index)
            if line is None:
                break
            lines.append(line)
    return lines


def edge_artefacts(frame0: torch.Tensor, frame1: torch.Tensor) -> Borders:
    """How many lines at each edge of a B×3×H×W pair batch are edge artefacts, not picture (module docstring).

    A line counts, from the edge inwards (at most ``ARTEFACT_LINES`` a side), when in both
    frames of every pair it differs from the line inside it by at least ``ARTEFACT_LEVELS``
    (rms), yet a gain and offset per channel of that line, fitted over both frames,
    reproduces it to within ``ARTEFACT_FIT`` of that difference: the mark of a scaler's
    darkened edge or a dark crop line. A picture's own edge is like the line inside it, or
    unlike it in a way no gain explains. Empty for frames too small to hold a picture.
    Chosen on the davis dev set and checked on training clips (MODEL.md, "Edge artefact lines").
    """
    counts = {"top": 0, "bottom": 0, "left": 0, "right": 0}
    for line in _artefact_lines(frame0, frame1):
        counts[line.side] += 1
    return Borders(**counts)


def _between(frame0: torch.Tensor, frame1: torch.Tensor, time: torch.Tensor | float | None) -> torch.Tensor:
    """``(1 − t)·frame0 + t·frame1`` in float (the mean for ``time`` None or ½), for B×… frames or lines.

    :func:`sepgan.flow.blend_at_time` is the same blend, but it does a float ``time`` in double
    precision where this rounds it to float32 first, as the bands always have (1 ulp apart at ⅓).
    """
    if time is None or (not isinstance(time, torch.Tensor) and float(time) == 0.5):
        return 0.5 * (frame0.float() + frame1.float())
    t = torch.as_tensor(time, dtype=torch.float32, device=frame0.device).reshape(
        -1, *[1] * (frame0.dim() - 1)
    )
    return (1 - t) * frame0.float() + t * frame1.float()


def _rebuild_edge_artefacts(
    frame: torch.Tensor, frame0: torch.Tensor, frame1: torch.Tensor, time: torch.Tensor | float | None
) -> torch.Tensor:
    """``frame`` (B×3×H×W, made from the pair) with the pair's edge artefact lines rebuilt.

    Each line is its gain model applied to the made frame's line inside it (the picture moved
    under a fixed darkening), or, where the line barely changes between the inputs compared
    with how well the model fits them (``ARTEFACT_GAIN_MARGIN``), the inputs' line weighed by
    time. Innermost lines first, so a line's model reads the rebuilt line inside it.
    """
    lines = _artefact_lines(frame0, frame1)
    if not lines:
        return frame
    frame = frame.clone()
    for line in reversed(lines):
        inner = _line(frame, line.side, line.index + 1).float()
        modelled = line.gain.to(frame.device) * inner + line.offset.to(frame.device)
        between = _between(_line(frame0, line.side, line.index), _line(frame1, line.side, line.index), time)
        rebuilt = torch.where(line.by_gain.to(frame.device), modelled, between.to(frame.device))
        _line(frame, line.side, line.index).copy_(rebuilt.clamp(0, 1).to(frame.dtype))
    return frame


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
    None or ½), which is each frame exactly where they are identical. The
    picture's edge artefact lines (:func:`edge_artefacts`) are rebuilt in the
    made picture (:func:`_rebuild_edge_artefacts`). ``time``:
    a float or a B-vector. ``borders``: the bands when the caller found them
    already (e.g. on the pairs a batch of times was drawn from); by default
    :func:`static_borders` of this batch.
    """
    borders = static_borders(frame0, frame1) if borders is None else borders
    if not borders:
        return _rebuild_edge_artefacts(interpolate(frame0, frame1), frame0, frame1, time)
    rows, columns = borders.inner(*frame0.shape[-2:])
    picture0, picture1 = frame0[..., rows, columns].contiguous(), frame1[..., rows, columns].contiguous()
    inside = _rebuild_edge_artefacts(interpolate(picture0, picture1), picture0, picture1, time)
    frame = _between(frame0, frame1, time).to(inside.device, inside.dtype)
    frame[..., rows, columns] = inside
    return frame
