"""The options of every command in one place: defaults, ranges, checks, and the speed presets.

Each default is defined here once and used by the command line (Typer's
defaults and ``--help``), the library (:class:`~sepgan.interpolator.Interpolator`,
:mod:`sepgan.jobs`, :mod:`sepgan.timing`, the writers) and the benchmarks, so
the two can never disagree. Each check is written here once and called where
a value enters: the CLI runs them before an input is read or a model loads, and
the library runs the same ones for its own callers.

Errors name their parameter as data. A check raises :class:`OptionError` with
``parameter="tile_overlap"`` and a message whose ``{tile_overlap}`` field
(or ``{parameter}``) stands for it: ``str(error)`` reads "tile_overlap must be
≥ 0, got -1", and the command line, which maps each parameter to its flag from
a table (:func:`sepgan.errors.reports_user_errors`), prints "--tile-overlap must
be ≥ 0, got -1". No message is ever parsed.

Speed presets (``--preset fast|balanced|best``) name bundled weights
(:mod:`sepgan.weights`) and the load-time overrides
(:func:`sepgan.checkpoint.load_pretrained`) that set the knobs that cost time:
the size of the flow ensemble (``flow_variants``, 2 DIS calls per variant per
pair), the DIS preset (``flow_preset``: "medium" stops at half resolution,
"fine" refines to full resolution, :mod:`sepgan.flow`) and whether the U-Net
runs (``flow-ensemble`` has no network, ``sepgan-flow`` has one):

* ``fast``: one DIS "fine" estimate each way (no mirrored variants),
  fixed-point middle flows, no network: 2 DIS calls per pair instead of 8.
  Measured on the dev sets it is +1.6 / +2.3 dB over ffmpeg minterpolate;
  the cheaper "medium" preset (half-resolution flow) was +1.2 / +2.2 with one
  variant and +1.3 / +2.4 with two, short of the +1.5 dB issue 18 asks of it.
* ``balanced``: the default model, ``flow-ensemble`` as shipped (four
  mirrorings, DIS "fine", no network).
* ``best``: the learned ``sepgan-flow`` on the same four-way ensemble.

Measured dB and seconds per pair are in README.md ("Speed presets") and
BENCHMARKS.md. :func:`resolve_model` is the one place that decides between a
preset and ``weights`` (with ``flow_variants``).

This module imports nothing heavy (no torch, no PyAV), so ``import sepgan.cli``
stays fast; tests/test_options.py checks it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from sepgan.errors import UserError

__all__ = [
    "DEFAULT_ADAPT_SECONDS",
    "DEFAULT_ADAPT_STEPS",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CODEC",
    "DEFAULT_CRF",
    "DEFAULT_FACTOR",
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_MEMORY_MB",
    "DEFAULT_MEMORY_TARGET_MB",
    "DEFAULT_PREPARE_CROP_SIZE",
    "DEFAULT_PREPARE_FLOW_PRESET",
    "DEFAULT_PREPARE_FLOW_VARIANTS",
    "DEFAULT_PREPARE_GAPS",
    "DEFAULT_PREPARE_STRIDE",
    "DEFAULT_PREPARE_WORKERS",
    "DEFAULT_SCENE_THRESHOLD",
    "DEFAULT_SEED",
    "DEFAULT_STATIC_TOLERANCE",
    "DEFAULT_TILE",
    "DEFAULT_X264_PRESET",
    "ENCODER_QUALITY",
    "EncoderQuality",
    "HIGH_RATE_RATIO",
    "MAX_CRF",
    "MAX_DEPTH",
    "MAX_FLOW_VARIANTS",
    "FLOW_BACKENDS",
    "DEFAULT_FLOW_BACKEND",
    "MAX_SEED",
    "PRESETS",
    "STUDY_ATTENTION_CHECKS",
    "STUDY_CONSENT",
    "STUDY_DESKTOP_WIDTH",
    "STUDY_SECONDS_PER_ANSWER",
    "STUDY_CRF",
    "STUDY_HOST",
    "STUDY_LAYOUT",
    "STUDY_PORT",
    "STUDY_SESSIONS_PER_HOUR",
    "STUDY_TITLE",
    "OptionError",
    "Preset",
    "check_adapt_budget",
    "check_completion_code",
    "check_crf",
    "check_encoder_preset",
    "check_trim",
    "check_dyadic_factor",
    "check_factor",
    "check_factor_or_fps",
    "check_flow_backend",
    "resolve_flow_backend",
    "check_flow_variants",
    "check_fps",
    "check_interpolator_options",
    "check_limit",
    "check_max_side",
    "check_max_depth",
    "check_rate",
    "check_scene_threshold",
    "check_seed",
    "check_slowmo",
    "check_tile",
    "check_workers",
    "parse_tile",
    "resolve_model",
    "resolve_preset",
]


class OptionError(UserError, ValueError):
    """An option value out of its range, or in conflict with another; ``parameter`` names it."""


# ---------------------------------------------------------------------------
# Defaults and ranges
# ---------------------------------------------------------------------------

# The network call (sepgan.interpolator.Interpolator).
DEFAULT_BATCH_SIZE = 4  # frame pairs per network call (fewer when the memory budget demands it)
DEFAULT_TILE = "auto"  # tile only when one frame does not fit the memory budget
DEFAULT_MAX_MEMORY_MB = 4096  # budget of ONE network call, MB (the Interpolator's docstring)
# A job's memory (sepgan.memory): with no --max-memory-mb, batch size and flow-ahead aim at this estimate
# of the whole process's peak RSS, MB (a frame size that needs more runs without them, with a note). The
# estimates keep a margin: 1080p ×2 with the default model is estimated at 2.2 GB and peaked at 1.9 GB.
DEFAULT_MEMORY_TARGET_MB = 2304

# Output timing (sepgan.timing): ×2 unless told otherwise, bisection depth for a target fps.
DEFAULT_FACTOR = 2
DEFAULT_MAX_DEPTH = 3  # deepest bisection used to approximate a target frame rate: 1/8 of an interval
MAX_DEPTH = 10  # deepest bisection allowed: 1/1024 of an input interval, finer than any frame rate needs
# A target rate above this multiple of the input's (by --fps or --factor) needs allow_high_fps:
# --fps 1e9 on a 24 fps clip once ran for minutes with memory rising and no frame written.
HIGH_RATE_RATIO = 16

# The output video (sepgan.media.writer) and the pairs the network is spared.
DEFAULT_CODEC = "auto"
DEFAULT_CRF = 18  # H.264 quality: 0 lossless … 51 worst
MAX_CRF = 51
DEFAULT_X264_PRESET = "medium"  # x264's speed against size
_X26X_PRESETS = (
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo",
)  # fmt: skip


@dataclass(frozen=True)
class EncoderQuality:
    """One codec's quality and speed knobs: its CRF range and default (None: the codec has no CRF),
    and the encoder presets it takes, fastest first (empty: none), with the default one."""

    crf: tuple[int, int, int] | None  # (lowest, highest, default); lower is better
    presets: tuple[str, ...] = ()
    default_preset: str | None = None


# Per output codec (sepgan.media.formats.CODECS). The CRF defaults aim at visually near-lossless, as
# H.264's 18 does: x265's 20 (its scale sits ~2 above x264's), SVT-AV1's and libvpx-vp9's 0–63 scales
# at 28 and 24. Presets: x264/x265 by name; SVT-AV1 0 (slowest) … 13 (fastest; libaom's cpu-used and
# rav1e's speed take the same number, capped at their own 8 and 10); libvpx-vp9's cpu-used 0 … 8
# (deadline good). ProRes (422 HQ, 10-bit), FFV1 and PNG have neither (PNG and FFV1 are lossless).
ENCODER_QUALITY: dict[str, EncoderQuality] = {
    "h264": EncoderQuality((0, MAX_CRF, DEFAULT_CRF), _X26X_PRESETS, DEFAULT_X264_PRESET),
    "hevc": EncoderQuality((0, 51, 20), _X26X_PRESETS, "medium"),
    "av1": EncoderQuality((0, 63, 28), tuple(str(n) for n in range(13, -1, -1)), "8"),
    "vp9": EncoderQuality((0, 63, 24), tuple(str(n) for n in range(8, -1, -1)), "2"),
    "prores": EncoderQuality(None),
    "ffv1": EncoderQuality(None),
    "png": EncoderQuality(None),
}
# Scene cuts (sepgan.media.scenes): the rule's absolute level, a mean thumbnail change in grey levels
# (0-255); a cut must also stand 3x above its neighbours' changes. 255 turns detection off.
# Long jobs (sepgan.segments): input seconds per segment, the unit of --resume, --jobs and --cluster.
DEFAULT_SEGMENT_SECONDS = 10.0
MAX_JOBS = 1024

DEFAULT_SCENE_THRESHOLD = 12.0
DEFAULT_STATIC_TOLERANCE = 1  # grey levels a pixel may differ by in a static pair

# Flow ensembles (sepgan.flow): at most one estimate per mirroring of sepgan.flow.FLOW_VARIANTS.
MAX_FLOW_VARIANTS = 4
# Who computes DIS flow: OpenCV on the CPU, sepgan.dis_torch on the runtime's device, or "auto": torch
# on CUDA and MPS, OpenCV on the CPU (so CPU output is unchanged). resolve_flow_backend decides.
FLOW_BACKENDS = ("auto", "opencv", "torch")
DEFAULT_FLOW_BACKEND = "auto"

# Test-time adaptation (sepgan.adapt.AdaptOptions), for interpolate --adapt and evaluate --adapt.
DEFAULT_ADAPT_STEPS = 300  # optimiser steps at most
DEFAULT_ADAPT_SECONDS = 150.0  # wall-clock budget, whichever comes first
DEFAULT_SEED = 0  # the triplets, crops and flips of adaptation; the draw and crops of prepare

# sepgan prepare (sepgan.data.prepared.prepare_dataset).
DEFAULT_PREPARE_GAPS = (1, 2, 3)  # temporal gaps g of the triplets (k, k + g, k + 2g)
DEFAULT_PREPARE_CROP_SIZE = 192  # side of the square crops, a multiple of 16
DEFAULT_PREPARE_STRIDE = 2  # a triplet at every n-th frame
DEFAULT_PREPARE_FLOW_PRESET = "fine"  # the DIS preset flow-sepconv runs with
DEFAULT_PREPARE_FLOW_VARIANTS = 1  # flow estimates stored per triplet
DEFAULT_PREPARE_WORKERS = 1  # processes preparing sources in parallel

# sepgan study (sepgan.study.clips.create_study, sepgan.study.server.serve).
STUDY_CRF = 14  # x264 quality of the study clips: visually near-lossless
STUDY_LAYOUT = "side-by-side"
STUDY_ATTENTION_CHECKS = 1  # trials of two identical clips per participant
STUDY_TITLE = "Which clip looks smoother?"
STUDY_HOST = "127.0.0.1"  # loopback unless the study is meant to be shared
STUDY_PORT = 8000
STUDY_SESSIONS_PER_HOUR = 20  # new participants one client address may start per hour (0: no limit)
STUDY_SECONDS_PER_ANSWER = 10  # added to each trial's viewing time in the estimated duration
STUDY_DESKTOP_WIDTH = 900  # CSS pixels: a narrower window gets the "desktop or laptop" warning
# What the page says before the first trial (replace it with --consent-file). It says what
# sepgan.study.storage records: nothing more, nothing less.
STUDY_CONSENT = (
    "Taking part is voluntary and you may stop at any time; answers given until then are kept. "
    "We record your answers, how long each took, your display's measured refresh rate and your "
    "browser's user-agent string, under a random identifier kept in a cookie. We do not record "
    "your name, e-mail or network address. The answers are used only to compare video methods "
    "and are reported only as totals."
)
COMPLETION_CODE_MAX_LENGTH = 64


# ---------------------------------------------------------------------------
# The network call
# ---------------------------------------------------------------------------


def check_completion_code(code: str | None) -> str | None:
    """``--completion-code``: shown once every trial is answered (crowd-sourcing platforms ask for
    one); None: none. 1 to 64 printable characters without spaces at either end."""
    if code is None:
        return None
    if not (0 < len(code) <= COMPLETION_CODE_MAX_LENGTH and code.isprintable() and code == code.strip()):
        raise OptionError(
            "{completion_code} must be 1 to {maximum} printable characters without leading or trailing "
            "spaces",
            parameter="completion_code",
            maximum=COMPLETION_CODE_MAX_LENGTH,
        )
    return code


def check_jobs(jobs: int) -> int:
    """``--jobs``: segments run at once, from 1 to :data:`MAX_JOBS`; :class:`OptionError` otherwise."""
    if not 1 <= jobs <= MAX_JOBS:
        raise OptionError(
            "{jobs} must be a whole number from 1 to {maximum}, got {value}",
            parameter="jobs",
            maximum=MAX_JOBS,
            value=jobs,
        )
    return jobs


def check_segment_seconds(seconds: float) -> float:
    """``--segment-seconds``: input seconds per segment, a finite number > 0."""
    if not (math.isfinite(seconds) and seconds > 0):
        raise OptionError(
            "{segment_seconds} must be a positive number of seconds, got {value}",
            parameter="segment_seconds",
            value=seconds,
        )
    return seconds


def check_interpolator_options(
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    tile_overlap: int | None = None,
    max_memory_mb: float | None = DEFAULT_MAX_MEMORY_MB,
    workers: int | None = None,
) -> None:
    """The Interpolator's numbers; :class:`OptionError` naming the first one out of range.

    ``tile_overlap``, ``max_memory_mb`` and ``workers`` may be ``None`` (the model's
    overlap, no memory limit, one thread per CPU).
    """
    if batch_size < 1:
        raise OptionError(
            "{batch_size} must be at least 1, got {value}", parameter="batch_size", value=batch_size
        )
    if tile_overlap is not None and tile_overlap < 0:
        raise OptionError(
            "{tile_overlap} must be ≥ 0, got {value}", parameter="tile_overlap", value=tile_overlap
        )
    if max_memory_mb is not None and not (math.isfinite(max_memory_mb) and max_memory_mb > 0):
        raise OptionError(
            "{max_memory_mb} must be a positive number of MB, got {value}",
            parameter="max_memory_mb",
            value=max_memory_mb,
        )
    if workers is not None:
        check_workers(workers)


def check_workers(workers: int) -> int:
    """``workers`` (CPU threads for DIS) if at least 1; else :class:`OptionError`."""
    if workers < 1:
        raise OptionError("{workers} must be at least 1, got {value}", parameter="workers", value=workers)
    return workers


def parse_tile(text: str) -> int | str | None:
    """``--tile``: ``"auto"``, ``"none"`` (``None``) or a size in pixels, which :func:`check_tile` checks."""
    if text.lower() in ("auto", "none"):
        return None if text.lower() == "none" else "auto"
    if not text.isdigit():
        raise OptionError(
            "{tile} {text}: use 'auto', 'none' or a size in pixels", parameter="tile", text=text
        )
    return int(text)


def check_tile(tile: int, *, overlap: int, multiple: int) -> int:
    """A tile size in pixels rounded up to ``multiple``; :class:`OptionError` if it leaves no room
    inside ``overlap`` (it must be at least ``overlap + multiple``)."""
    rounded = -(-int(tile) // multiple) * multiple
    if rounded < overlap + multiple:
        raise OptionError(
            "{tile} {size} px is too small for an overlap of {overlap} px; use at least {least}",
            parameter="tile",
            size=rounded,
            overlap=overlap,
            least=overlap + multiple,
        )
    return rounded


def check_flow_variants(variants: int, parameter: str = "flow_variants") -> int:
    """``variants`` if it is a flow-ensemble size (1 to :data:`MAX_FLOW_VARIANTS`); else
    :class:`OptionError` naming ``parameter``."""
    if not 1 <= variants <= MAX_FLOW_VARIANTS:
        raise OptionError(
            "{parameter} must be between 1 and {most}, got {value}",
            parameter=parameter,
            most=MAX_FLOW_VARIANTS,
            value=variants,
        )
    return variants


def check_flow_backend(backend: str) -> str:
    """``backend`` if it is one of :data:`FLOW_BACKENDS`; else :class:`OptionError`."""
    if backend not in FLOW_BACKENDS:
        raise OptionError(
            "{flow_backend} must be one of {choices}, got {value!r}",
            parameter="flow_backend",
            choices=", ".join(FLOW_BACKENDS),
            value=backend,
        )
    return backend


def resolve_flow_backend(backend: str, device_type: str) -> str:
    """The DIS backend that runs for ``backend`` on a device of ``device_type`` ("cpu", "cuda",
    "mps", …): "auto" is "torch" on CUDA and MPS and "opencv" elsewhere; the others are themselves."""
    check_flow_backend(backend)
    if backend != "auto":
        return backend
    return "torch" if device_type in ("cuda", "mps") else "opencv"


# ---------------------------------------------------------------------------
# Output timing and the output video
# ---------------------------------------------------------------------------


def check_factor(factor: int, parameter: str = "factor") -> int:
    """``factor`` if it is an integer from 2 to ``2**MAX_DEPTH``; else :class:`OptionError` naming
    ``parameter`` (``"slowmo"`` for ``--slowmo``, which has the factor's range).

    Any such integer works with a model that warps to any time; a model that
    makes only t = ½ needs a power of two as well (:func:`check_dyadic_factor`).
    """
    if isinstance(factor, bool) or not isinstance(factor, int) or not 2 <= factor <= 2**MAX_DEPTH:
        raise OptionError(
            "{parameter} {value}: must be a whole number from 2 to {most}",
            parameter=parameter,
            value=factor,
            most=2**MAX_DEPTH,
        )
    return factor


def check_dyadic_factor(factor: int, model: str = "this model", parameter: str = "factor") -> int:
    """``factor`` if it is a power of two, which a model that makes only t = ½ reaches by bisection;
    else :class:`OptionError` naming ``model`` and ``parameter``."""
    if factor & (factor - 1):
        raise OptionError(
            "{parameter} {value}: {model} makes only the middle frame, so it needs a power of two "
            "(2, 4, 8, ...); flow-ensemble, the default model, warps to any time and takes any whole number",
            parameter=parameter,
            value=factor,
            model=model,
        )
    return factor


def check_factor_or_fps(factor: int | None, fps: Fraction | None) -> None:
    """At most one of ``factor`` and ``fps``; each checked (:func:`check_factor`, :func:`check_fps`)."""
    if factor is not None and fps is not None:
        raise OptionError("use either {factor} or {fps}, not both", parameter=("factor", "fps"))
    if fps is not None:
        check_fps(fps)
    if factor is not None:
        check_factor(factor)


def check_slowmo(slowmo: int, *, factor: int | None = None, fps: Fraction | None = None) -> int:
    """``slowmo`` (N× slow motion) if it is a number :func:`check_factor` accepts, and neither ``factor``
    nor ``fps`` is given; else :class:`OptionError` naming ``slowmo``.

    N× slow motion makes the frames of ×N and keeps the input's frame rate, so it excludes both
    a factor and a target rate, and N has the factor's range.
    """
    if fps is not None:
        raise OptionError(
            "{slowmo} keeps the input's frame rate; use either {slowmo} or {fps}, not both",
            parameter=("slowmo", "fps"),
        )
    if factor is not None:
        raise OptionError(
            "use either {slowmo} or {factor}, not both ({slowmo} N makes the frames of {factor} N "
            "at the input's frame rate)",
            parameter=("slowmo", "factor"),
        )
    check_factor(slowmo, parameter="slowmo")
    return slowmo


def check_fps(fps: Fraction) -> Fraction:
    """A target frame rate if positive; else :class:`OptionError`."""
    if fps <= 0:
        raise OptionError("{fps} must be positive, got {value}", parameter="fps", value=fps)
    return fps


def check_max_depth(max_depth: int) -> int:
    """The bisection depth for a target fps, 0 to :data:`MAX_DEPTH`; else :class:`OptionError`."""
    if not 0 <= max_depth <= MAX_DEPTH:
        raise OptionError(
            "{max_depth} must be between 0 and {most}, got {value}",
            parameter="max_depth",
            most=MAX_DEPTH,
            value=max_depth,
        )
    return max_depth


def check_rate(ratio: Fraction, *, parameter: str, value: object, allow_high_fps: bool) -> None:
    """Refuse a target rate of ``ratio`` times the input's when it is absurd, or high and not allowed.

    ``parameter`` (``"factor"`` or ``"fps"``) and its ``value`` say how the target was asked for.
    Over ``2**MAX_DEPTH`` times is never possible (finer steps would only repeat frames); over
    :data:`HIGH_RATE_RATIO` times needs ``allow_high_fps``. Under 1× (``--fps 24`` on a 30 fps
    clip) is refused: interpolation adds frames, and every output frame would be a synthesised one
    where dropping input frames (ffmpeg's fps filter) keeps them all original.
    """
    if ratio < 1:
        raise OptionError(
            "{parameter} {value} is lower than the input's frame rate ({ratio:.4g}×): sepgan adds frames "
            "and does not drop them; lower a frame rate with ffmpeg's fps filter (-vf fps=...)",
            parameter=parameter,
            value=value,
            ratio=float(ratio),
        )
    if ratio > 2**MAX_DEPTH:
        raise OptionError(
            "{parameter} {value} is {ratio:.4g}× the input's frame rate; at most {most}× is supported",
            parameter=parameter,
            value=value,
            ratio=float(ratio),
            most=2**MAX_DEPTH,
        )
    if ratio > HIGH_RATE_RATIO and not allow_high_fps:
        raise OptionError(
            "{parameter} {value} is {ratio:.4g}× the input's frame rate; more than {high}× "
            "needs {allow_high_fps}",
            parameter=(parameter, "allow_high_fps"),
            value=value,
            ratio=float(ratio),
            high=HIGH_RATE_RATIO,
        )


def check_crf(crf: int | None, codec: str = "h264") -> int | None:
    """``codec``'s constant rate factor (:data:`ENCODER_QUALITY`): ``crf``, or the codec's default for
    None (None for a codec without one). :class:`OptionError` outside the codec's range, or for a CRF
    given to a codec that has none (ProRes, FFV1, PNG). ``"auto"`` checks H.264's range."""
    quality = ENCODER_QUALITY["h264" if codec == "auto" else codec]
    if quality.crf is None:
        if crf is None:
            return None
        raise OptionError(
            "{crf} does not apply to {codec}, which has no constant rate factor", parameter="crf", codec=codec
        )
    lowest, highest, default = quality.crf
    if crf is None:
        return default
    if not lowest <= crf <= highest:
        raise OptionError(
            "{crf} of {codec} must be between {lowest} (best) and {most}, got {value}",
            parameter="crf",
            codec="h264" if codec == "auto" else codec,
            lowest=lowest,
            most=highest,
            value=crf,
        )
    return crf


def check_encoder_preset(preset: str | None, codec: str = "h264") -> str | None:
    """``codec``'s encoder speed preset (:data:`ENCODER_QUALITY`): ``preset``, or the codec's default for
    None; :class:`OptionError` for a name the codec does not take, or a preset for a codec with none."""
    quality = ENCODER_QUALITY["h264" if codec == "auto" else codec]
    if preset is None:
        return quality.default_preset
    if preset not in quality.presets:
        if not quality.presets:
            raise OptionError(
                "{encoder_preset} does not apply to {codec}, which has no speed preset",
                parameter="encoder_preset",
                codec=codec,
            )
        raise OptionError(
            "{encoder_preset} of {codec} must be one of {choices} (fastest first), got {value!r}",
            parameter="encoder_preset",
            codec="h264" if codec == "auto" else codec,
            choices=", ".join(quality.presets),
            value=preset,
        )
    return preset


def check_trim(start: float, duration: float | None) -> None:
    """``start`` (seconds skipped, ≥ 0) and ``duration`` (seconds kept, > 0, or None: to the end),
    as ffmpeg's ``-ss``/``-t``; else :class:`OptionError`."""
    if not start >= 0:
        raise OptionError("{start} must be 0 or more seconds, got {value:g}", parameter="start", value=start)
    if duration is not None and not duration > 0:
        raise OptionError(
            "{duration} must be more than 0 seconds, got {value:g}", parameter="duration", value=duration
        )


def check_adapt_budget(steps: int, seconds: float) -> None:
    """Test-time adaptation's budget (sepgan.adapt): at least one step and a positive number of seconds."""
    if steps < 1:
        raise OptionError(
            "{adapt_steps} must be at least 1, got {value}", parameter="adapt_steps", value=steps
        )
    if not seconds > 0:  # inf is no time budget: the steps alone bound it
        raise OptionError(
            "{adapt_seconds} must be a positive number of seconds, got {value}",
            parameter="adapt_seconds",
            value=seconds,
        )


MAX_SEED = 2**64 - 1  # the largest seed torch.manual_seed takes; NumPy's SeedSequence takes any n ≥ 0


def check_seed(seed: int) -> int:
    """A random seed: a whole number from 0 to :data:`MAX_SEED`; :class:`OptionError` otherwise
    (NumPy refuses a negative seed, torch one above 2^64 − 1)."""
    if not 0 <= seed <= MAX_SEED:
        raise OptionError(
            "{seed} must be a whole number from 0 to 2^64 - 1, got {value}", parameter="seed", value=seed
        )
    return seed


def check_max_side(max_side: int | None) -> int | None:
    """A frame's longer side after downscaling, in pixels (``None``: no downscaling); at least 2."""
    if max_side is not None and max_side < 2:
        raise OptionError(
            "{max_side} must be at least 2 px, got {value}", parameter="max_side", value=max_side
        )
    return max_side


def check_scene_threshold(scene_threshold: float | None) -> float | None:
    """A scene-cut level in grey levels, 0–255, or ``None`` (no cut detection); else :class:`OptionError`."""
    if scene_threshold is not None and not 0 <= scene_threshold <= 255:
        raise OptionError(
            "{scene_threshold} must be between 0 and 255 grey levels, got {value}",
            parameter="scene_threshold",
            value=scene_threshold,
        )
    return scene_threshold


def check_limit(limit: int | None) -> int | None:
    """Samples per benchmark at most (``None``: all); :class:`OptionError` below 1."""
    if limit is not None and limit < 1:
        raise OptionError("{limit} must be at least 1, got {value}", parameter="limit", value=limit)
    return limit


# ---------------------------------------------------------------------------
# Which model: a speed preset, or weights with flow_variants
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Preset:
    """Bundled ``weights`` (or a folder; ``None``: the default model) and the ``overrides`` they are
    built with."""

    weights: str | os.PathLike[str] | None
    overrides: dict[str, Any] = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    "fast": Preset("flow-ensemble", {"flow_variants": 1}),
    "balanced": Preset("flow-ensemble"),
    "best": Preset("sepgan-flow", {"flow_variants": 4}),
}


def resolve_preset(name: str) -> Preset:
    """The preset called ``name``; :class:`OptionError` naming the choices otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise OptionError(
            "{preset} must be one of {choices}, got {value!r}",
            parameter="preset",
            choices=", ".join(PRESETS),
            value=name,
        ) from None


def resolve_model(
    weights: str | os.PathLike[str] | None = None,
    *,
    preset: str | None = None,
    flow_variants: int | None = None,
    alternatives: Sequence[str] = ("weights", "flow_variants"),
) -> Preset:
    """The weights to load and their load-time overrides: ``preset``'s, or ``weights`` (``None``: the
    default model) with ``flow_variants`` as an override.

    A preset chooses the model, so it excludes ``weights`` and ``flow_variants``; ``alternatives``
    are the caller's parameters that it replaces, named in that error (``evaluate`` has no
    ``flow_variants``). Raises :class:`OptionError` for a conflict, an unknown preset or a
    ``flow_variants`` out of range.
    """
    if preset is not None:
        if weights is not None or flow_variants is not None:
            fields = " and ".join("{" + name + "}" for name in alternatives)
            raise OptionError(
                "{preset} chooses the model; use either {preset}" + ("," if len(alternatives) > 1 else "")
                + " or " + fields,
                parameter=("preset", *alternatives),
            )  # fmt: skip
        return resolve_preset(preset)
    overrides = {} if flow_variants is None else {"flow_variants": check_flow_variants(flow_variants)}
    return Preset(weights, overrides)
