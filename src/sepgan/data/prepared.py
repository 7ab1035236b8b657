"""Prepared triplet datasets: crops of real footage with DIS flow computed on the whole frames.

``sepgan prepare`` (:func:`prepare_dataset`) turns videos and frame folders
into a training set for the flow-guided model. For every triplet of frames
(k, k + g, k + 2g) it computes DIS optical flow both ways between the two
inputs **on the whole frames** (so flow near a crop's edge sees the motion
that leaves the crop, as it will at inference), then stores one square crop of
the three frames and of the flows. Storing crops keeps the set small (one
192×192 crop is 0.6 MB) and makes training read-only and fast.

Crop choice: of ``candidates`` random windows, the one where the flow
baseline (half-flow warps, averaged) is furthest from the true middle frame
is kept with probability ``hard_fraction``, otherwise the first random window.
Half of the set thus shows where flow fails (the model's job), and half shows
ordinary footage, so the model does not learn to distrust flow everywhere.

On disk (a folder)::

    prepared.json   format version, count, crop size, flow preset, sources, one record per triplet
    frames.u8       count × 3 × S × S × 3 uint8 (frame0, frame1, target; RGB, H×W×3)
    flows.f16       count × 4V × S × S float16 (flow01 x, y, flow10 x, y; pixels), V flow
                    variants (``flow_variants``, 1 by default; see sepgan.flow's flow ensemble)

:class:`sepgan.data.prepared_triplets.PreparedTriplets` reads it and yields ``(frame0, frame1, target,
flows)``: three 3×h×w float32 tensors in [0, 1] and a 4V×h×w float32 flow
tensor, after a paired augmentation that transforms the flows with the frames
(flips negate a component, temporal reversal swaps the two flows).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import zlib
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from sepgan.atomic import atomic_output, check_overwrite
from sepgan.data.prepared_triplets import FORMAT_VERSION, INDEX_FILE
from sepgan.data.sources import list_sources
from sepgan.data.triplets import DatasetError, check_gaps
from sepgan.flow import DIS_PRESETS, flow_ensemble_numpy, flow_failed
from sepgan.media.formats import VideoError
from sepgan.media.frames import FrameError
from sepgan.media.reader import iter_frames
from sepgan.media.scenes import scene_cuts, screen_triplet, thumbnail
from sepgan.options import (
    DEFAULT_FLOW_BACKEND,
    DEFAULT_PREPARE_CROP_SIZE,
    DEFAULT_PREPARE_FLOW_PRESET,
    DEFAULT_PREPARE_FLOW_VARIANTS,
    DEFAULT_PREPARE_GAPS,
    DEFAULT_PREPARE_STRIDE,
    DEFAULT_PREPARE_WORKERS,
    DEFAULT_SEED,
    OptionError,
    check_flow_backend,
    check_flow_variants,
    check_max_side,
    check_seed,
    resolve_flow_backend,
)
from sepgan.runtime import resolve_runtime

__all__ = [
    "SKIP_REASONS",
    "PrepareSummary",
    "SourceReport",
    "prepare_dataset",
]

# ---------------------------------------------------------------------------
# Screening triplets: scene cuts, fades, static shots, flow failures.
# ---------------------------------------------------------------------------

SKIP_REASONS = {
    "static": "static (nothing moves)",
    "fade": "brightness change across the frame (fade, flash or exposure)",
    "cut": "across a scene cut",
    "flow": "flow failure (the middle frame is further from the flow-warped middle than the ends are apart)",
    "cap": "over the per-source cap",
}


# ---------------------------------------------------------------------------
# Preparing.
# ---------------------------------------------------------------------------


@dataclass
class SourceReport:
    """What one source gave: frames read, triplets kept, triplets skipped by reason (``SKIP_REASONS``)."""

    name: str
    clips: int = 0
    frames: int = 0
    kept: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    note: str | None = None  # why a clip or the whole source gave nothing (size, length, decode error)


@dataclass
class PrepareSummary:
    output: Path
    count: int
    sources: list[SourceReport]
    seconds: float

    @property
    def per_source(self) -> dict[str, int]:
        return {report.name: report.kept for report in self.sources}

    @property
    def skipped(self) -> dict[str, str]:
        """Sources (or their clips) that gave nothing, with the reason."""
        return {report.name: report.note for report in self.sources if report.note}


@dataclass
class _Options:
    gaps: tuple[int, ...]
    crop_size: int
    stride: int
    candidates: int
    hard_fraction: float
    flow_preset: str
    flow_variants: int
    max_side: int | None
    max_per_source: int | None
    screen: bool
    seed: int
    flow_backend: str = "opencv"  # resolved: "opencv" or "torch"
    flow_device: str = "cpu"  # where the torch backend runs


def _choose_crop(
    error: np.ndarray | None,
    shape: tuple[int, int],
    crop_size: int,
    rng: np.random.Generator,
    candidates: int,
    hard_fraction: float,
) -> tuple[int, int]:
    """(top, left) of a crop: the window where ``error`` (the flow baseline's, H×W) is largest, or random."""
    height, width = shape
    windows = [
        (int(rng.integers(0, height - crop_size + 1)), int(rng.integers(0, width - crop_size + 1)))
        for _ in range(candidates)
    ]
    if rng.random() >= hard_fraction or candidates == 1 or error is None:
        return windows[0]
    scores = [error[top : top + crop_size, left : left + crop_size].mean() for top, left in windows]
    return windows[int(np.argmax(scores))]


def _candidates(
    clip_index: int, thumbnails: list[np.ndarray], options: _Options, report: SourceReport
) -> list[tuple[int, int, int]]:
    """(clip, first frame, gap) of the triplets of one clip that pass the thumbnail screens."""
    cuts = scene_cuts(thumbnails) if options.screen else []
    found = []
    for gap in options.gaps:
        for first in range(0, len(thumbnails) - 2 * gap, options.stride):
            reason = None
            if options.screen:
                if any(first <= cut < first + 2 * gap for cut in cuts):
                    reason = "cut"
                else:
                    reason = screen_triplet(
                        thumbnails[first], thumbnails[first + gap], thumbnails[first + 2 * gap]
                    )
            if reason:
                report.skipped[reason] = report.skipped.get(reason, 0) + 1
            else:
                found.append((clip_index, first, gap))
    return found


def _thumbnails(clip: Path, options: _Options, notes: list[str]) -> list[np.ndarray]:
    """Pass 1 over one clip: its frames' grey thumbnails, or none when it is skipped (why: in ``notes``)."""
    crop = options.crop_size
    thumbnails: list[np.ndarray] = []
    shape = None
    try:
        for frame in iter_frames(clip, max_side=options.max_side):
            if shape is None and min(frame.shape[:2]) < crop:
                notes.append(
                    f"{clip.name}: frames {frame.shape[1]}×{frame.shape[0]} are smaller than the crop {crop}"
                )
                break
            if shape is not None and frame.shape != shape:
                notes.append(f"{clip.name}: frame {len(thumbnails)} changes size; clip skipped")
                thumbnails = []
                break
            shape = frame.shape
            thumbnails.append(thumbnail(frame))
    except (VideoError, FrameError) as error:
        notes.append(f"{clip.name}: {error}")
        thumbnails = []
    return thumbnails


def _draw(
    candidates: list[tuple[int, int, int]], options: _Options, rng, report: SourceReport
) -> dict[tuple[int, int, int], int]:
    """The draw: a random order over the screened triplets, as {triplet: rank}.

    With a cap, a fifth more than it are drawn; :func:`_apply_cap` keeps the
    first ones that pass the flow screen.
    """
    order = rng.permutation(len(candidates))
    if options.max_per_source is not None:
        drawn = order[: int(np.ceil(options.max_per_source * 1.2))]
        if len(candidates) > len(drawn):
            report.skipped["cap"] = len(candidates) - len(drawn)
    else:
        drawn = order
    return {candidates[i]: rank for rank, i in enumerate(drawn)}


def _apply_cap(records: list[dict[str, object]], options: _Options, report: SourceReport) -> None:
    """Keep the best-ranked (earliest drawn) triplets that passed the flow screen; mark the rest dropped."""
    if options.max_per_source is not None and len(records) > options.max_per_source:
        ranks = sorted(record["rank"] for record in records)
        limit = ranks[options.max_per_source - 1]
        for record in records:
            record["dropped"] = record["rank"] > limit
        report.skipped["cap"] = report.skipped.get("cap", 0) + len(records) - options.max_per_source


def _crop_triplet(
    frame0: np.ndarray, target: np.ndarray, frame1: np.ndarray, options: _Options, rng, report: SourceReport
) -> tuple[int, int, np.ndarray, np.ndarray] | None:
    """Pass 2 for one triplet: flow, screen and crop it.

    Returns (top, left, the 3×c×c×3 frame crops, the 4V×c×c flow crops), or None
    when the flow screen drops it (counted in ``report``).
    """
    crop = options.crop_size
    flows = flow_ensemble_numpy(
        frame0,
        frame1,
        options.flow_preset,
        options.flow_variants,
        backend=options.flow_backend,
        device=options.flow_device,
    )  # 4V×H×W
    flow01, flow10 = flows[0:2].transpose(1, 2, 0), flows[2:4].transpose(1, 2, 0)
    error = None
    if options.screen or (options.candidates > 1 and options.hard_fraction > 0):
        failed, error = flow_failed((frame0, frame1, target), (flow01, flow10))
        if failed and options.screen:
            report.skipped["flow"] = report.skipped.get("flow", 0) + 1
            return None
    top, left = _choose_crop(error, frame0.shape[:2], crop, rng, options.candidates, options.hard_fraction)
    rows, columns = slice(top, top + crop), slice(left, left + crop)
    crops = np.stack([frame0[rows, columns], frame1[rows, columns], target[rows, columns]])
    return top, left, crops, flows[:, rows, columns]


def _prepare_source(
    name: str, clips: Sequence[Path], shard: Path, options: _Options, on_triplet=None
) -> SourceReport:
    """Write one source's triplets into ``shard`` (frames.u8, flows.f16, records.json); return its report.

    Pass 1 decodes every clip for grey thumbnails, screens the triplets on
    them and, with a cap, draws the ones to keep (plus a fifth more, for those
    the flow screen will drop); pass 2 decodes again and computes DIS flow only
    for the drawn triplets. Random draws depend on (seed, source name), not on
    which worker runs the source.
    """
    report = SourceReport(name, clips=len(clips))
    rng = np.random.default_rng([options.seed, zlib.crc32(name.encode())])
    lengths: list[int] = []
    candidates: list[tuple[int, int, int]] = []
    notes = []
    for clip_index, clip in enumerate(clips):
        thumbnails = _thumbnails(clip, options, notes)
        lengths.append(len(thumbnails))
        report.frames += len(thumbnails)
        if thumbnails and len(thumbnails) <= 2 * min(options.gaps):
            notes.append(
                f"{clip.name}: {len(thumbnails)} frames are too few for the gaps {list(options.gaps)}"
            )
        candidates.extend(_candidates(clip_index, thumbnails, options, report) if thumbnails else [])

    rank_of = _draw(candidates, options, rng, report)

    records: list[dict[str, object]] = []
    shard.mkdir(parents=True, exist_ok=True)
    with open(shard / "frames.u8", "wb") as frames_file, open(shard / "flows.f16", "wb") as flows_file:
        for clip_index, clip in enumerate(clips):
            wanted = {(first, gap) for c, first, gap in rank_of if c == clip_index}
            if not wanted:
                continue
            window: deque[np.ndarray] = deque(maxlen=2 * max(options.gaps) + 1)
            frames = iter_frames(clip, max_side=options.max_side)
            for index in range(lengths[clip_index]):
                try:
                    frame = next(frames)
                except (StopIteration, VideoError, FrameError) as error:  # a second read failed
                    notes.append(
                        f"{clip.name}: decoding stopped at frame {index} on the second read ({error})"
                    )
                    break
                window.append(frame)
                for gap in options.gaps:
                    first = index - 2 * gap
                    if (first, gap) not in wanted:
                        continue
                    cropped = _crop_triplet(
                        window[-1 - 2 * gap], window[-1 - gap], window[-1], options, rng, report
                    )
                    if cropped is None:
                        continue
                    top, left, crops, flow_crops = cropped
                    frames_file.write(np.ascontiguousarray(crops, dtype=np.uint8).tobytes())
                    flows_file.write(np.ascontiguousarray(flow_crops, dtype=np.float16).tobytes())
                    clip_name = clip.name if len(clips) > 1 else None
                    rank = rank_of[(clip_index, first, gap)]
                    records.append({"source": name, "clip": clip_name, "frame": first, "gap": gap,
                                    "top": top, "left": left, "rank": rank})  # fmt: skip
                    if on_triplet is not None:
                        on_triplet(clip.name)
            frames.close()  # closes the video now, not at garbage collection
    _apply_cap(records, options, report)
    report.kept = sum(1 for record in records if not record.get("dropped"))
    if report.kept == 0:
        report.note = "; ".join(notes) if notes else "no triplet passed the screens"
    elif notes:
        report.note = "; ".join(notes)
    (shard / "records.json").write_text(json.dumps(records))
    return report


def _prepare_source_job(arguments) -> SourceReport:
    """Process-pool entry point (top level, so that it pickles)."""
    return _prepare_source(*arguments)


def prepare_dataset(
    sources: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    gaps: int | Sequence[int] = DEFAULT_PREPARE_GAPS,
    crop_size: int = DEFAULT_PREPARE_CROP_SIZE,
    stride: int = DEFAULT_PREPARE_STRIDE,
    candidates: int = 4,
    hard_fraction: float = 0.5,
    flow_preset: str = DEFAULT_PREPARE_FLOW_PRESET,
    flow_variants: int = DEFAULT_PREPARE_FLOW_VARIANTS,
    max_side: int | None = None,
    max_per_source: int | None = None,
    screen: bool = True,
    workers: int = DEFAULT_PREPARE_WORKERS,
    seed: int = DEFAULT_SEED,
    exclude: Sequence[str | os.PathLike[str]] = (),
    on_triplet: Callable[[str], None] | None = None,
    on_source: Callable[[SourceReport], None] | None = None,
    overwrite: bool = False,
    flow_backend: str = DEFAULT_FLOW_BACKEND,
) -> PrepareSummary:
    """Write a prepared dataset folder (module docstring) and return what went in.

    Args:
        sources: videos, frame folders, or folders of either (searched
            recursively; a clip is any file FFmpeg reads a video stream from).
            Each entry directly inside a folder is one source (:func:`_list_sources`).
        output: the folder to create; it must not exist or be empty, unless ``overwrite``
            (then it is replaced whole). It is written under a temporary name and
            renamed, so a crash leaves no half dataset.
        gaps: temporal gaps g of the triplets (k, k + g, k + 2g).
        crop_size: side of the square crops; clips smaller than that are skipped.
        stride: take triplets starting at every ``stride``-th frame (neighbouring
            triplets are near duplicates).
        candidates, hard_fraction: the crop choice (module docstring).
        flow_preset: DIS preset (:data:`sepgan.flow.DIS_PRESETS`); use the one the model runs
            with: "fine", the default of ``flow-sepconv``.
        flow_variants: store a flow ensemble of this many mirrorings (1 to 4) per
            triplet, as ``flow-sepconv`` computes at inference (its default is 4;
            a model trained on V = 1 runs on any V). Costs V times the DIS time.
        max_side: downscale frames whose longer side exceeds this (pixels,
            area-averaged), before anything else.
        max_per_source: keep at most this many triplets per source, drawn at
            random over its clips and gaps (None: all), so long sources do not dominate.
        screen: skip triplets across scene cuts, fades and flashes, static
            ones, and those where flow fails (:data:`SKIP_REASONS`).
        workers: processes that prepare sources in parallel (DIS is most of
            the time; one process per core).
        exclude: paths never to read (``sepgan prepare`` passes evaluation folders here).
        on_triplet: called with the clip name after each stored triplet (progress; ``workers=1`` only).
        on_source: called with each source's report as it finishes.
        overwrite: replace an existing prepared set.
        flow_backend: who computes the flow (:data:`sepgan.options.FLOW_BACKENDS`): "opencv"
            (CPU threads), "torch" (:mod:`sepgan.dis_torch` on CUDA when there is one, else
            the CPU), "auto" (torch on CUDA, OpenCV without one). Recorded in ``prepared.json``.

    Raises:
        DatasetError: the output exists, or no source gives a triplet.
        OptionError: an option out of range (a ``ValueError``), naming its parameter.
        ValueError: an unknown flow preset.
    """
    started = time.perf_counter()
    gaps = check_gaps(gaps)
    if crop_size < 16 or crop_size % 16:
        raise OptionError(
            "{crop_size} must be a positive multiple of 16, got {value}",
            parameter="crop_size",
            value=crop_size,
        )
    if stride < 1 or candidates < 1 or not 0.0 <= hard_fraction <= 1.0:
        raise OptionError(
            "{stride} and {candidates} must be ≥ 1 and {hard_fraction} in [0, 1]",
            parameter=("stride", "candidates", "hard_fraction"),
        )
    if max_per_source is not None and max_per_source < 1:
        raise OptionError(
            "{max_per_source} must be ≥ 1, got {value}", parameter="max_per_source", value=max_per_source
        )
    if workers < 1:
        raise OptionError("{workers} must be ≥ 1, got {value}", parameter="workers", value=workers)
    check_max_side(max_side)
    check_seed(seed)
    if flow_preset not in DIS_PRESETS:
        raise ValueError(f"unknown flow preset {flow_preset!r}; choose from {', '.join(DIS_PRESETS)}")
    check_flow_variants(flow_variants)
    check_flow_backend(flow_backend)
    # prepare has no --device: torch DIS runs on CUDA when there is one (fp32: no bf16 probe here).
    flow_device = "cpu" if flow_backend == "opencv" else str(resolve_runtime("auto", "fp32").device)
    flow_backend = resolve_flow_backend(flow_backend, flow_device.split(":")[0])
    output = Path(output)
    check_overwrite(output, overwrite)  # an existing prepared set is replaced only when asked
    excluded = [Path(p).resolve() for p in exclude]

    def allowed(path: Path) -> bool:
        return not any(path.resolve().is_relative_to(e) for e in excluded)

    found = []
    for name, clips in list_sources([Path(s) for s in sources]):
        clips = [clip for clip in clips if allowed(clip)]
        if clips:
            found.append((name, clips))
    if not found:
        raise DatasetError("no videos or frame folders to prepare")
    options = _Options(gaps, crop_size, stride, candidates, hard_fraction, flow_preset, flow_variants,
                       max_side, max_per_source, screen, seed, flow_backend, flow_device)  # fmt: skip

    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(output, folder=True, replace=overwrite) as temporary:
        jobs = [
            (name, clips, temporary / "shards" / f"{i:04d}", options) for i, (name, clips) in enumerate(found)
        ]
        reports = _run_sources(jobs, workers, on_triplet, on_source)
        count = _merge_shards(temporary, [job[2] for job in jobs])
        if count == 0:
            reasons = "; ".join(f"{r.name}: {r.note}" for r in reports if r is not None and r.note)
            raise DatasetError(
                f"no triplets could be prepared: {reasons or 'every triplet was screened out'}"
            )
        records = json.loads((temporary / "records.json").read_text())
        (temporary / "records.json").unlink()
        index = {
            "format": FORMAT_VERSION,
            "count": count,
            "crop_size": crop_size,
            "flow_preset": flow_preset,
            "flow_variants": flow_variants,
            "flow_backend": flow_backend,
            "gaps": list(gaps),
            "stride": stride,
            "max_side": max_side,
            "max_per_source": max_per_source,
            "screen": screen,
            "seed": seed,
            "sources": {r.name: r.kept for r in reports if r is not None},
            "reports": [asdict(r) for r in reports if r is not None],
            "triplets": records,
        }
        (temporary / INDEX_FILE).write_text(json.dumps(index, indent=1))
    return PrepareSummary(output, count, [r for r in reports if r is not None], time.perf_counter() - started)


def _run_sources(
    jobs: list[tuple],
    workers: int,
    on_triplet: Callable[[str], None] | None,
    on_source: Callable[[SourceReport], None] | None,
) -> list[SourceReport | None]:
    """Run :func:`_prepare_source` on every job, in this process or in ``workers`` processes."""
    reports: list[SourceReport | None] = [None] * len(jobs)
    if workers == 1 or len(jobs) == 1:
        for i, job in enumerate(jobs):
            reports[i] = _prepare_source(*job, on_triplet=on_triplet)
            if on_source is not None:
                on_source(reports[i])
        return reports
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn: a forked child would inherit torch's and OpenCV's thread pools mid-state.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context) as pool:
        futures = {pool.submit(_prepare_source_job, job): i for i, job in enumerate(jobs)}
        try:
            for future in as_completed(futures):
                reports[futures[future]] = future.result()
                if on_source is not None:
                    on_source(reports[futures[future]])
        except BaseException:  # an error (or Ctrl-C) stops the queued sources too
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return reports


def _merge_shards(folder: Path, shards: Sequence[Path]) -> int:
    """Concatenate the kept triplets of ``shards`` (in order) into ``folder``; remove the shards."""
    records: list[dict[str, object]] = []
    with open(folder / "frames.u8", "wb") as frames_out, open(folder / "flows.f16", "wb") as flows_out:
        for shard in shards:
            shard_records = json.loads((shard / "records.json").read_text())
            if shard_records:
                frame_bytes = (shard / "frames.u8").stat().st_size // len(shard_records)
                flow_bytes = (shard / "flows.f16").stat().st_size // len(shard_records)
                with (
                    open(shard / "frames.u8", "rb") as frames_in,
                    open(shard / "flows.f16", "rb") as flows_in,
                ):
                    for record in shard_records:
                        frame_data, flow_data = frames_in.read(frame_bytes), flows_in.read(flow_bytes)
                        if record.pop("dropped", False):
                            continue
                        record.pop("rank", None)
                        frames_out.write(frame_data)
                        flows_out.write(flow_data)
                        records.append(record)
            shutil.rmtree(shard)
    shutil.rmtree(folder / "shards", ignore_errors=True)
    (folder / "records.json").write_text(json.dumps(records))
    return len(records)
