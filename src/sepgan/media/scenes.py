"""Scene cuts and fades: one rule, in grey levels, for ``interpolate``, ``prepare`` and ``--adapt``.

Unit: **grey levels, 0–255**. Frames are compared through thumbnails
(:func:`thumbnail`): grayscale, longer side 64 (64×36 for 16:9), area-averaged,
float32 in grey levels. :func:`scene_score` is the mean absolute difference of
two thumbnails. Shrinking 10–30× makes ordinary motion cheap to tolerate: on
the real clips in ``shared/data/videos``, consecutive frames of one shot score
at most ~18 levels (a tree in wind at 15 fps; 4 in Megamind.avi), while
Megamind's three hard cuts score 41–43.

**The cut rule** (:class:`CutDetector`, :func:`scene_cuts`): a cut lies between
two frames whose score is

* above ``level`` grey levels (:data:`DEFAULT_SCENE_THRESHOLD`, 12 by default), and
* above :data:`CUT_RATIO` (3) times the median score of the three pairs on
  either side (in a clip of 2 or 3 frames, with fewer than two neighbours, 3
  times ``level``), and
* not a step of a fade (:func:`is_fade`).

The relative test is the rule of content-based shot detectors such as
PySceneDetect's ``AdaptiveDetector`` (which compares a frame's change with the
average of its neighbours', in HSV): a fast pan raises every neighbour too, so
it is not taken for a cut, while a cut stands alone. The absolute level keeps
noise on a still shot from counting. A fade to or from black over 2–5 frames
scores high at every step, but each step is the previous picture under a global
gain and offset (:func:`brightness_ramp`), which a content change is not. A cut
between two shots of the same brightness and layout can score below the level
and be missed; lower the level for such footage.

The decision for a pair needs the three pairs after it, so a streaming caller
(``sepgan interpolate``) holds three frames more than it otherwise would.

Before 2026-12 ``interpolate`` used a different rule (score above 25.5 levels,
no neighbours) from ``prepare`` and ``--adapt`` (this one, without the fade
exemption); MODEL.md records what the change did to a prepared set.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence

import numpy as np
from PIL import Image

from sepgan.media.colour import round_to_8bit
from sepgan.media.reader import fit_within
from sepgan.options import DEFAULT_SCENE_THRESHOLD

__all__ = [
    "CUT_MIN_NEIGHBOURS",
    "CUT_NEIGHBOURS",
    "CUT_RATIO",
    "FADE_MIN_CHANGE",
    "MAX_HELD_FRAMES",
    "CutDetector",
    "brightness_ramp",
    "is_fade",
    "scene_cuts",
    "scene_score",
    "screen_triplet",
    "thumbnail",
]

THUMBNAIL_SIDE = 64  # longer side of the thumbnails: 64×36 for 16:9
CUT_RATIO = 3.0  # ... and a cut scores more than this many times its neighbours' median
CUT_NEIGHBOURS = 3  # pairs on each side whose median is the neighbours' score
CUT_MIN_NEIGHBOURS = 2  # with fewer, the level stands in for the neighbours' median
# Held frames (a cadence: film at 12-24 fps in a 25/30 fps container, animation on twos and threes,
# screen captures): a picture shown for 2 to this many frames between motion on both sides is one
# real step held, whose copies retime drops (sepgan.retime); a longer still stretch is a pause.
MAX_HELD_FRAMES = 3
FADE_MIN_CHANGE = 3.0  # grey levels: a mean brightness change below this is not a brightness ramp
# Two pictures of one fade correlate (a gain keeps the picture; motion during the fade lowers it
# to ~0.85 for a one-pixel shift of the thumbnail), two shots hardly (~0 for unrelated content) ...
FADE_MIN_CORRELATION = 0.5
FADE_FLAT = 2.0  # ... unless one of them is flat (standard deviation below this many levels): black, white
STATIC_LEVEL = 0.5  # grey levels: inputs whose thumbnails differ less than this on average are static


def thumbnail(frame: np.ndarray) -> np.ndarray:
    """A float32 grayscale thumbnail of an RGB H×W×3 frame, in grey levels (0–255).

    Longer side 64 (64×36 for 16:9), aspect kept, area-averaged; frames already
    that small are not enlarged. Cheap: a few ms at 1080p. A uint16 frame (deeper
    video) is first rounded to 8-bit levels (:func:`~sepgan.media.colour.round_to_8bit`),
    so the same picture gets the same thumbnail, and the same verdicts, at either depth.
    """
    grey = Image.fromarray(round_to_8bit(frame)).convert("L")
    size = fit_within(grey.width, grey.height, THUMBNAIL_SIDE)
    if size != grey.size:
        grey = grey.convert("F").resize(size, Image.Resampling.BOX)  # in float: no rounding to levels
    return np.asarray(grey, dtype=np.float32)


def scene_score(thumbnail0: np.ndarray, thumbnail1: np.ndarray) -> float:
    """Mean absolute difference of two thumbnails, in grey levels: 0 for the same picture, up to 255."""
    return float(np.abs(thumbnail0 - thumbnail1).mean())


def brightness_ramp(before: np.ndarray, after: np.ndarray, min_change: float = FADE_MIN_CHANGE) -> bool:
    """Whether ``after`` differs from ``before`` mostly by a global gain and offset of ``min_change`` or more.

    The mean changes by more than ``min_change`` grey levels, and the
    least-squares fit ``after ≈ a · before + b`` leaves less than half of the
    change: a fade, a flash or an exposure step. Motion changes pixels locally,
    so no global fit explains it (and a sliding texture keeps its mean).
    """
    if abs(float(after.mean() - before.mean())) <= min_change:
        return False
    x, y = before.ravel().astype(np.float64), after.ravel().astype(np.float64)
    variance = x.var()
    gain = ((x - x.mean()) * (y - y.mean())).mean() / variance if variance > 1e-8 else 0.0
    offset = y.mean() - gain * x.mean()
    residual = np.abs(gain * x + offset - y).mean()
    return bool(residual < 0.5 * np.abs(y - x).mean())


def is_fade(thumbnail0: np.ndarray, thumbnail1: np.ndarray) -> bool:
    """Whether two thumbnails (:func:`thumbnail`) are steps of one fade, not two shots.

    One is a :func:`brightness_ramp` of the other, either way (a fade in from
    black is a ramp from the lit frame back to black), and the two are the same
    picture: correlated by at least ``FADE_MIN_CORRELATION``, or one is flat
    (black, white or any uniform colour, where a fade starts or ends). A cut to
    or from a uniform frame thus counts as a fade, and its in-between frames are
    blended: at most one output interval of a dissolve to black.
    """
    if not (brightness_ramp(thumbnail0, thumbnail1) or brightness_ramp(thumbnail1, thumbnail0)):
        return False
    deviation0, deviation1 = float(thumbnail0.std()), float(thumbnail1.std())
    if min(deviation0, deviation1) < FADE_FLAT:
        return True
    correlation = float(((thumbnail0 - thumbnail0.mean()) * (thumbnail1 - thumbnail1.mean())).mean())
    return correlation / (deviation0 * deviation1) >= FADE_MIN_CORRELATION


class CutDetector:
    """The cut rule on a stream of thumbnails: push them in order, get each pair's verdict when it is known.

    ``level`` is the absolute part of the rule in grey levels (:data:`DEFAULT_SCENE_THRESHOLD`);
    None turns cut detection off (every verdict is "no cut"). The verdict for the
    pair (k, k + 1) is known once the :data:`CUT_NEIGHBOURS` pairs after it have
    been seen, or at :meth:`finish`. Memory: the scores of the last 2 × 3 + 1
    pairs, and the last thumbnail.

    Example::

        detector = CutDetector()
        for frame in frames:
            for score, cut in detector.push(thumbnail(frame)):
                ...  # the next pair's verdict, in order
        for score, cut in detector.finish():
            ...
    """

    def __init__(self, level: float | None = DEFAULT_SCENE_THRESHOLD) -> None:
        self.level = level
        self._previous: np.ndarray | None = None
        self._scores: deque[float] = deque(maxlen=2 * CUT_NEIGHBOURS + 1)  # pairs first - 3 … newest
        self._waiting: deque[tuple[float, bool]] = deque()  # pairs without a verdict: (score, fade)
        self._first = 0  # index into _scores of the oldest pair awaiting its verdict

    def push(self, thumbnail: np.ndarray) -> list[tuple[float, bool]]:
        """Add the next frame's thumbnail; returns (score, cut) of each pair whose verdict is now known."""
        if self._previous is not None:
            score = scene_score(self._previous, thumbnail)
            possible = self.level is not None and score > self.level
            fade = possible and is_fade(self._previous, thumbnail)  # costly: only for candidates
            if len(self._scores) == self._scores.maxlen:
                self._first -= 1
            self._scores.append(score)
            self._waiting.append((score, fade))
        self._previous = thumbnail
        verdicts = []
        while self._waiting and len(self._scores) - 1 - self._first >= CUT_NEIGHBOURS:
            verdicts.append(self._verdict())
        return verdicts

    def finish(self) -> list[tuple[float, bool]]:
        """The verdicts still owed at the end of the stream, judged on the neighbours there are."""
        verdicts = []
        while self._waiting:
            verdicts.append(self._verdict())
        return verdicts

    def _verdict(self) -> tuple[float, bool]:
        score, fade = self._waiting.popleft()
        scores = list(self._scores)
        neighbours = scores[max(0, self._first - CUT_NEIGHBOURS) : self._first] + scores[self._first + 1 :]
        self._first += 1
        return score, _is_cut(score, neighbours, fade, self.level)


def _is_cut(score: float, neighbours: Sequence[float], fade: bool, level: float | None) -> bool:
    if level is None or score <= level or fade:
        return False
    # Too few neighbours to say what this shot's motion scores (a clip of 2 or 3 frames): take the
    # level itself, so that only a change of 3× the level (36 grey levels by default) is a cut.
    typical = float(np.median(neighbours)) if len(neighbours) >= CUT_MIN_NEIGHBOURS else level
    return score > CUT_RATIO * typical


def scene_cuts(thumbnails: Iterable[np.ndarray], level: float | None = DEFAULT_SCENE_THRESHOLD) -> list[int]:
    """Indices k where a cut lies between frame k and k + 1, by :class:`CutDetector`'s rule."""
    detector = CutDetector(level)
    verdicts = [verdict for thumb in thumbnails for verdict in detector.push(thumb)] + detector.finish()
    return [index for index, (_, cut) in enumerate(verdicts) if cut]


def screen_triplet(
    thumbnail0: np.ndarray, thumbnail_target: np.ndarray, thumbnail1: np.ndarray
) -> str | None:
    """Why a triplet is unfit to learn from (``sepgan prepare``, ``--adapt``), or None if it passes.

    From the thumbnails of frame0, the target and frame1 (:func:`thumbnail`, grey levels).
    "static": the inputs differ by less than :data:`STATIC_LEVEL` on average.
    "fade": frame1 is a global :func:`brightness_ramp` of frame0, or the target
    one of the inputs' mean: a fade, a flash, an exposure step, where the middle
    frame is no motion between the two. Cuts are :class:`CutDetector`'s to find.
    """
    if scene_score(thumbnail0, thumbnail1) < STATIC_LEVEL:
        return "static"
    midpoint = 0.5 * (thumbnail0 + thumbnail1)
    if brightness_ramp(thumbnail0, thumbnail1) or brightness_ramp(midpoint, thumbnail_target):
        return "fade"
    return None
