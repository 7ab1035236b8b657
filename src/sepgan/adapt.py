"""Test-time adaptation: fine-tune the network on the input's own frames before interpolating it.

Any three consecutive frames (t−1, t, t+1) of a video form a triplet whose
middle is known. :func:`adapt` draws such triplets from the very video (or
frame folder) it is about to interpolate, fine-tunes a copy of the network on
them with L1 for a few hundred steps, and keeps the result only if it beats the
unadapted model on triplets held out of that training. The idea is
scene-adaptive frame interpolation (Choi et al., "Scene-Adaptive Video Frame
Interpolation via Meta-Learning", CVPR 2020, which reports 0.3–1 dB); here
without the meta-learning: plain fine-tuning from the shipped weights.

Steps
-----
1. **Triplets.** Up to ``triplets + holdout`` windows (centres spread over the
   input) are decoded. Windows across a scene cut, static ones and fades are
   skipped (the rules of :mod:`sepgan.media.scenes`, as ``sepgan prepare``
   and ``interpolate`` apply them), and so are flow failures
   (:func:`sepgan.flow.flow_failed`), with DIS flow on whole frames.
2. **Motion scale.** A triplet spans two input intervals; the pairs to
   interpolate span one. Triplets downscaled by 2 halve their motion in
   pixels, so it matches; full-size ones keep the footage's own texture and
   compression. The default trains on both (``scales=(1, 2)``), with the flow
   ensemble the model runs with (``flow_variants=None``): on six held-out
   clips that gained +0.12 dB on average with no clip worse, against +0.03 dB
   and one clip 0.15 dB worse for half-size triplets with single flows
   (BENCHMARKS.md, "Test-time adaptation").
3. **Fine-tuning** a copy of the network: random crops, flips and temporal
   reversal (:class:`~sepgan.data.augment.PairedAugment`), Adam, L1, for
   ``steps`` steps or ``seconds`` seconds, whichever comes first. A model
   without a network (the classical ``flow-ensemble``) starts from the
   bundled ``sepgan-flow`` network with the same classical settings.
4. **Guard.** Held-out triplets (their middle frames are never shown to
   training, not even as an input) are interpolated by the unadapted and the
   adapted model at the training scale; unless the adapted one scores a higher
   mean PSNR, the unadapted model is kept and a note says so.

Everything is deterministic for a given ``seed`` on a given machine.
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from sepgan.errors import UserError
from sepgan.options import (
    DEFAULT_ADAPT_SECONDS,
    DEFAULT_ADAPT_STEPS,
    DEFAULT_SCENE_THRESHOLD,
    DEFAULT_SEED,
    check_adapt_budget,
    check_seed,
)

__all__ = ["MIN_FRAMES", "AdaptError", "AdaptOptions", "AdaptResult", "adapt", "input_frames", "save_adapted"]

MIN_FRAMES = 5  # two training windows can stay clear of a held-out one only from five frames on
NETWORK_WEIGHTS = "sepgan-flow"  # the bundled network a model without one starts from
MIN_CROP = 32  # pixels: frames smaller than this at the training scale give nothing to learn from


class AdaptError(UserError, ValueError):
    """An input or option that adaptation cannot work with; the message is one line."""


@dataclass(frozen=True)
class AdaptOptions:
    """Settings of :func:`adapt`.

    Args:
        steps: optimiser steps at most.
        seconds: wall-clock budget of the whole adaptation (reading the triplets,
            flow and training; the final check on the held-out triplets comes on top).
        learning_rate: Adam's step size.
        batch_size: triplets per step.
        crop_size: side of the square training crops in pixels (at the training scale);
            smaller frames use their whole size, rounded down to a multiple of 16.
        scales: downscale factors of the training triplets (1 = full size, 2 = half).
        triplets: training triplets drawn from the input at most.
        holdout: triplets held out to decide whether adaptation helped.
        seed: seeds the choice of triplets, crops and flips.
        flow_variants: mirrorings in the training triplets' flow (None: the model's own,
            as it runs; 1, as the shipped network was trained).
        guard: keep the adapted network only if it beats the unadapted model on the
            held-out triplets (False keeps it anyway: for measuring adaptation itself).
        scene_threshold: the scene-cut level in grey levels (:mod:`sepgan.media.scenes`,
            ``interpolate --scene-threshold``); triplets across a cut are skipped. None: no cuts.
    """

    steps: int = DEFAULT_ADAPT_STEPS
    seconds: float = DEFAULT_ADAPT_SECONDS
    learning_rate: float = 1e-4
    batch_size: int = 4
    crop_size: int = 128
    scales: tuple[int, ...] = (1, 2)
    triplets: int = 48
    holdout: int = 8
    seed: int = DEFAULT_SEED
    guard: bool = True
    flow_variants: int | None = None
    scene_threshold: float | None = DEFAULT_SCENE_THRESHOLD

    def check(self) -> None:
        """Raise :class:`~sepgan.options.OptionError` (``steps``, ``seconds``: the command line's
        ``--adapt-steps``, ``--adapt-seconds``) or :class:`AdaptError` naming the first bad setting."""
        check_adapt_budget(self.steps, self.seconds)
        check_seed(self.seed)
        problems = {
            "learning_rate": not (0 < self.learning_rate < 1),
            "batch_size": self.batch_size < 1,
            "crop_size": self.crop_size < MIN_CROP,
            "scales": not self.scales or any(s not in (1, 2, 4) for s in self.scales),
            "triplets": self.triplets < 1,
            "holdout": self.holdout < 1,
        }
        for name, bad in problems.items():
            if bad:
                raise AdaptError(f"adaptation setting {name}={getattr(self, name)!r} is out of range")


@dataclass
class AdaptResult:
    """What :func:`adapt` did. ``interpolator`` is the one to use: adapted, or the one passed in."""

    interpolator: object
    adapted: bool
    candidate: object | None = None  # the Interpolator with the adapted network, kept or not
    steps: int = 0
    seconds: float = 0.0
    train_triplets: int = 0
    holdout_triplets: int = 0
    psnr_before: float | None = None  # mean PSNR (dB) of the held-out triplets, unadapted
    psnr_after: float | None = None  # the same, adapted
    skipped: dict[str, int] = field(default_factory=dict)  # triplets screened out, by reason
    timings: dict[str, float] = field(default_factory=dict)  # seconds: "read", "flow", "train", "check"
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.psnr_before is None or self.psnr_after is None:
            return "adaptation: " + (self.notes[-1] if self.notes else "not run")
        verdict = "kept" if self.adapted else "not kept"
        return (
            f"adaptation {verdict}: {self.steps} steps on {self.train_triplets} triplets "
            f"in {self.seconds:.0f} s; "
            f"{self.holdout_triplets} held-out triplets {self.psnr_before:.2f} → {self.psnr_after:.2f} dB"
        )


# ---------------------------------------------------------------------------
# Reading the input's triplets
# ---------------------------------------------------------------------------


def input_frames(
    source: str | os.PathLike[str], every: int = 1
) -> tuple[Callable[[], Iterator[np.ndarray]], int | None]:
    """(a function that yields the frames, the frame count if known) of a video or a frame folder.

    Frames are H×W×3 RGB uint8, in order; ``every`` = 2 keeps frames 0, 2, 4, …
    (the inputs of a drop-a-frame evaluation). The count comes from the container
    for videos and may be missing (None) or approximate.

    Raises:
        AdaptError: ``source`` is neither a readable video nor a folder of images.
    """
    from sepgan.media.formats import VideoError
    from sepgan.media.frames import FrameError, list_frames
    from sepgan.media.reader import iter_frames, probe_video

    source = Path(source)
    try:
        count = len(list_frames(source)[::every]) if source.is_dir() else probe_video(source).frame_count
    except VideoError as error:
        raise AdaptError(str(error)) from error

    def frames() -> Iterator[np.ndarray]:
        try:
            yield from iter_frames(source, every)
        except (VideoError, FrameError) as error:
            raise AdaptError(str(error)) from error

    return frames, (count if source.is_dir() else None if not count else math.ceil(count / every))


def _downscale(frame: np.ndarray, factor: int) -> np.ndarray:
    """``frame`` (H×W×3 uint8) shrunk ``factor`` times, area-averaged (sepgan's one shrink)."""
    from sepgan.media.reader import resize_area

    height, width = frame.shape[:2]
    return resize_area(frame, (max(1, round(width / factor)), max(1, round(height / factor))))


def _spread(candidates: Sequence[int], count: int, rng: np.random.Generator) -> list[int]:
    """``count`` of ``candidates`` (sorted), evenly spread with a random phase; all of them when fewer."""
    if len(candidates) <= count:
        return list(candidates)
    step = len(candidates) / count
    offset = rng.uniform(0, step)
    return sorted({candidates[min(len(candidates) - 1, int(offset + i * step))] for i in range(count)})


@dataclass
class _Window:
    centre: int  # index of the middle frame in the input (after ``every``)
    frames: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]  # scale → (frame0, frame1, target) uint8
    flows: dict[int, torch.Tensor] = field(default_factory=dict)  # scale → 4V×H×W float32 pixels


def _read_windows(
    frames: Callable[[], Iterator[np.ndarray]],
    count: int | None,
    wanted: int,
    scales: Sequence[int],
    rng: np.random.Generator,
    scene_threshold: float | None,
) -> tuple[list[_Window], dict[str, int]]:
    """Decode the input once: (screened windows, skipped by reason); cuts by ``scene_threshold``."""
    from sepgan.media.scenes import scene_cuts, screen_triplet, thumbnail

    if count is None:  # a container without a frame count: count by decoding
        count = sum(1 for _ in frames())
    if count < MIN_FRAMES:
        raise AdaptError(
            f"adaptation needs at least {MIN_FRAMES} frames to learn from; the input has {count}"
        )
    centres = _spread(range(1, count - 1), math.ceil(1.5 * wanted), rng)
    needed = {index for centre in centres for index in (centre - 1, centre, centre + 1)}
    thumbnails: list[np.ndarray] = []
    kept: dict[int, np.ndarray] = {}
    for index, frame in enumerate(frames()):
        thumbnails.append(thumbnail(frame))
        if index in needed:
            kept[index] = frame
    read = len(thumbnails)
    if read < MIN_FRAMES:
        raise AdaptError(f"adaptation needs at least {MIN_FRAMES} frames to learn from; the input has {read}")
    cuts = set(scene_cuts(thumbnails, scene_threshold))
    skipped: dict[str, int] = {}
    windows = []
    for centre in centres:
        if centre + 1 >= read:
            continue  # the container's count was too high
        reason = (
            "cut"
            if {centre - 1, centre} & cuts
            else screen_triplet(thumbnails[centre - 1], thumbnails[centre], thumbnails[centre + 1])
        )
        if reason:
            skipped[reason] = skipped.get(reason, 0) + 1
            continue
        frame0, target, frame1 = (kept[centre + offset] for offset in (-1, 0, 1))
        windows.append(_Window(centre, {
            scale: tuple(_downscale(f, scale) for f in (frame0, frame1, target))
            for scale in sorted({2, *scales})
        }))  # fmt: skip
    return windows, skipped


def _add_flows(
    windows: list[_Window],
    preset: str,
    variants: int,
    skipped: dict[str, int],
    deadline: float,
    backend: str = "opencv",
    device: str | torch.device = "cpu",
) -> list[_Window]:
    """Whole-frame DIS flow (``variants`` mirrorings) of every window and scale, until ``deadline``.

    ``backend`` and ``device``: who computes it, as the Interpolator does
    (:func:`sepgan.flow.flow_ensemble_numpy`). Drops the windows whose flow fails
    (``sepgan prepare``'s rule, on the first variant), and those not reached by
    ``deadline`` (``time.perf_counter()`` seconds).
    """
    from sepgan.flow import flow_ensemble_numpy, flow_failed

    usable = []
    for window in windows:
        if time.perf_counter() > deadline:
            skipped["time"] = skipped.get("time", 0) + 1
            continue
        failed = False
        for scale, (frame0, frame1, target) in window.frames.items():
            flows = flow_ensemble_numpy(frame0, frame1, preset, variants, backend=backend, device=device)
            window.flows[scale] = torch.from_numpy(flows)
            if scale == 2:
                failed = flow_failed(
                    (frame0, frame1, target), (flows[0:2].transpose(1, 2, 0), flows[2:4].transpose(1, 2, 0))
                )[0]
        if failed:
            skipped["flow"] = skipped.get("flow", 0) + 1
        else:
            usable.append(window)
    return usable


def _split(
    windows: list[_Window], options: AdaptOptions, rng: np.random.Generator
) -> tuple[list[_Window], list[_Window]]:
    """(training, held out): held-out windows spread over the input.

    No training window touches a held-out window's middle frame.
    """
    count = min(options.holdout, max(1, len(windows) // 5))
    picks = (
        sorted({round(i * (len(windows) - 1) / max(count - 1, 1)) for i in range(count)})
        if count > 1
        else [0]
    )
    holdout = [windows[i] for i in picks]
    held = {window.centre for window in holdout}
    training = [w for w in windows if all(abs(w.centre - centre) > 1 for centre in held)]
    chosen = set(_spread([w.centre for w in training], options.triplets, rng))
    return [w for w in training if w.centre in chosen], holdout


# ---------------------------------------------------------------------------
# The network to fine-tune
# ---------------------------------------------------------------------------


def _trainable_copy(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """A copy of ``model`` to fine-tune; a model without parameters gets the bundled network."""
    if any(True for _ in model.parameters()):
        # Training runs faster in the default memory format than in the Interpolator's channels-last.
        return copy.deepcopy(model).to(memory_format=torch.contiguous_format)
    from sepgan.checkpoint import load_pretrained
    from sepgan.weights import resolve_weights

    # The classical part stays the loaded model's (DIS preset, variants, middle flows);
    # the network is sepgan-flow's.
    classical = {
        key: model.config[key] for key in ("flow_preset", "flow_scale", "middle_iterations", "flow_variants")
    }
    return load_pretrained(resolve_weights(NETWORK_WEIGHTS), overrides=classical).to(device)


def _batch(
    windows: list[_Window],
    picks: Sequence[tuple[int, int]],
    crop: dict[int, int],
    options: AdaptOptions,
    step: int,
    device: torch.device,
) -> tuple[torch.Tensor, ...]:
    from sepgan.data.augment import PairedAugment
    from sepgan.media.frames import from_uint8

    items = []
    for index, scale in picks:
        window = windows[index]
        augment = PairedAugment(crop_size=crop[scale])
        augment.reseed((options.seed, step, index, scale))
        frame0, frame1, target, flows = augment(*window.frames[scale], flows=window.flows[scale])
        items.append((from_uint8(np.ascontiguousarray(frame0)), from_uint8(np.ascontiguousarray(frame1)),
                      from_uint8(np.ascontiguousarray(target)), flows.contiguous()))  # fmt: skip
    return tuple(torch.stack(column).to(device) for column in zip(*items, strict=True))


def _fine_tune(
    network: torch.nn.Module,
    windows: list[_Window],
    options: AdaptOptions,
    deadline: float,
    rng: np.random.Generator,
    progress: bool,
) -> int:
    """Adam + L1 on random crops of ``windows``; returns the steps taken."""
    from tqdm import tqdm

    from sepgan.losses import l1_loss

    device = next(network.parameters()).device
    # One crop size for every scale, so that a batch mixing scales stacks.
    side = min(min(windows[0].frames[scale][0].shape[:2]) for scale in options.scales)
    crop = dict.fromkeys(options.scales, min(options.crop_size, side // 16 * 16))
    network.train()
    optimizer = torch.optim.Adam(network.parameters(), lr=options.learning_rate)
    bar = tqdm(
        total=options.steps,
        desc="adapting",
        unit="step",
        disable=None if progress else True,
        dynamic_ncols=True,
    )
    steps = 0
    try:
        while steps < options.steps and time.perf_counter() < deadline:
            picks = [(int(rng.integers(len(windows))), int(options.scales[rng.integers(len(options.scales))]))
                     for _ in range(options.batch_size)]  # fmt: skip
            frame0, frame1, target, flows = _batch(windows, picks, crop, options, steps, device)
            loss = l1_loss(network(frame0, frame1, flows=flows).float(), target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            steps += 1
            bar.update(1)
            bar.set_postfix(l1=f"{loss.item():.4f}")
    finally:
        bar.close()
        network.eval()
    return steps


def _holdout_psnr(interpolator, windows: list[_Window]) -> float:
    """Mean PSNR (dB) of ``interpolator`` on the held-out windows at half size.

    Half size: the motion of one input interval.
    """
    from sepgan.media.frames import from_uint8, to_uint8
    from sepgan.metrics import psnr

    scores = []
    for window in windows:
        frame0, frame1, target = window.frames[2]
        middle = interpolator.interpolate(from_uint8(frame0), from_uint8(frame1))
        scores.append(psnr(to_uint8(middle), target))
    return float(np.mean(scores))


# ---------------------------------------------------------------------------
# The whole adaptation
# ---------------------------------------------------------------------------


def adapt(
    interpolator,
    source: str | os.PathLike[str],
    options: AdaptOptions | None = None,
    *,
    every: int = 1,
    progress: bool = True,
) -> AdaptResult:
    """Fine-tune ``interpolator``'s network on triplets of ``source`` (module docstring).

    Args:
        interpolator: a :class:`~sepgan.interpolator.Interpolator` of a flow-guided model.
        source: the video file or frame folder about to be interpolated.
        options: :class:`AdaptOptions` (None: the defaults).
        every: read every n-th frame only (2 for a drop-a-frame evaluation, so
            adaptation never sees the frames it is scored on).
        progress: show a progress bar (hidden anyway when stderr is not a terminal).

    Returns:
        :class:`AdaptResult`; its ``interpolator`` is a new Interpolator with the
        adapted network and the same settings, or the one passed in when
        adaptation did not help or could not run (``notes`` says why).

    Raises:
        AdaptError: fewer than :data:`MIN_FRAMES` frames, an unreadable input,
            bad options, or a model that cannot be adapted.
    """
    options = options or AdaptOptions()
    options.check()
    model = interpolator.model
    if getattr(model, "flow_preset", None) is None:
        raise AdaptError(
            f"adaptation needs a flow-guided model; {getattr(model, 'architecture', 'this model')} is not one"
        )
    started = time.perf_counter()
    rng = np.random.default_rng(options.seed)
    frames, count = input_frames(source, every)
    wanted = options.triplets + options.holdout
    windows, skipped = _read_windows(frames, count, wanted, options.scales, rng, options.scene_threshold)
    result = AdaptResult(interpolator, adapted=False, skipped=skipped)
    result.timings["read"] = time.perf_counter() - started
    # Screening kept more windows than needed in case some fail; flow only for those to be used,
    # in spread order, within half of the time budget (the rest is for training).
    chosen = set(_spread([w.centre for w in windows], wanted, rng))
    windows = [w for w in windows if w.centre in chosen]
    variants = options.flow_variants or model.flow_variants
    # The flow the model sees at inference: the Interpolator's backend (--flow-backend) on its device.
    windows = _add_flows(
        windows,
        model.flow_preset,
        variants,
        skipped,
        started + options.seconds / 2,
        interpolator.flow_backend,  # already resolved against the runtime ("auto" is gone)
        interpolator.runtime.device,
    )
    result.timings["flow"] = time.perf_counter() - started - result.timings["read"]
    training, holdout = _split(windows, options, rng) if len(windows) >= 2 else ([], windows)
    small = min(windows[0].frames[s][0].shape[:2] for s in options.scales) if windows else (0, 0)
    if not training or min(small) < MIN_CROP:
        reason = (
            f"frames under {MIN_CROP} px at the training scale"
            if training
            else (
                f"only {len(windows)} usable triplets "
                f"({', '.join(f'{n} {r}' for r, n in skipped.items()) or 'none skipped'})"
            )
        )
        result.notes.append(f"adaptation skipped: {reason}; using the unadapted model")
        result.seconds = time.perf_counter() - started
        return result
    network = _trainable_copy(model, interpolator.runtime.device)
    training_started = time.perf_counter()
    result.steps = _fine_tune(network, training, options, started + options.seconds, rng, progress)
    result.timings["train"] = time.perf_counter() - training_started
    result.train_triplets, result.holdout_triplets = len(training), len(holdout)
    if result.steps == 0:
        result.notes.append(
            "adaptation skipped: the time budget ran out before training (raise --adapt-seconds); "
            "using the unadapted model"
        )
        result.seconds = time.perf_counter() - started
        return result
    result.candidate = candidate = interpolator.with_model(network)
    result.psnr_before = _holdout_psnr(interpolator, holdout)
    result.psnr_after = _holdout_psnr(candidate, holdout)
    result.seconds = time.perf_counter() - started
    result.timings["check"] = result.seconds - (training_started - started) - result.timings["train"]
    if result.psnr_after > result.psnr_before or not options.guard:
        result.interpolator, result.adapted = candidate, True
    else:
        result.notes.append(
            f"adaptation did not help on {len(holdout)} held-out triplets of the input "
            f"({result.psnr_before:.2f} dB unadapted, {result.psnr_after:.2f} dB adapted); "
            "using the unadapted model"
        )
    return result


def save_adapted(
    result: AdaptResult, folder: str | os.PathLike[str], source: str | os.PathLike[str], seed: int
) -> bool:
    """Save the adapted network to ``folder`` (a weights folder for ``--weights``).

    Returns False, saving nothing, when the adaptation was not kept.
    """
    from sepgan.checkpoint import save_pretrained

    if not result.adapted:
        return False
    metadata = {
        "adapted_on": str(source),
        "steps": result.steps,
        "seed": seed,
        "holdout_psnr_before_after": [
            round(result.psnr_before or 0.0, 3),
            round(result.psnr_after or 0.0, 3),
        ],
    }
    save_pretrained(result.interpolator.model, folder, metadata=metadata)
    return True
