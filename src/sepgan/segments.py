"""Segments: a long job cut into pieces that survive a stop, run side by side and join without re-encoding.

A video (or frame folder) longer than two segments is cut into segments of
about ``segment_seconds`` of input (:func:`plan_segments`), each boundary moved
to a keyframe nearby when there is one, so that a segment's decode starts where
its frames are. Segment ``i`` makes the output frames of its input intervals
``[first, end)`` (the last one also the held tail) and decodes
:data:`CONTEXT_FRAMES` frames on each side of them, so that the scene-cut rule
(:class:`sepgan.media.scenes.CutDetector`, three pairs each way), the held-frame
rule (runs of up to :data:`~sepgan.media.scenes.MAX_HELD_FRAMES` equal frames, a span
on each side) and every other per-frame decision see what a one-pass run sees: the frames it makes are
the one-pass run's, bit for bit (:class:`sepgan.retime.Window`).

Each segment's frames are encoded, with the output's encoder and settings, to a
part file in a **work folder** beside the output (``OUTPUT.sepgan-work/``), and a
**journal** there (``journal.json``, rewritten atomically by
:func:`sepgan.atomic.atomic_write_text`) records each part once it is complete.
After a stop of any kind (Ctrl-C, SIGKILL, power loss) ``--resume`` reads the
journal and runs only the segments it lacks; the parts are then joined
(:mod:`sepgan.media.join`) with the input's audio and subtitles, and the work
folder is removed. The journal also holds the input's identity and the options
that change the output; resuming with others is an error naming the option.

Segments run one after another in this process (:class:`InlineRunner`), in
worker processes on this machine (:class:`ProcessRunner`, ``--jobs N``, each with
its share of the cores and its own copy of the model), or as tasks of Ray actors
on a cluster (:class:`RayRunner`, ``--cluster``; :mod:`ray` is the optional extra
``sepgan[cluster]``), every node seeing the input and the work folder through a
shared file system. Whichever runs them, finished parts are journalled by this
process as they arrive and progress reaches one bar.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sepgan.atomic import atomic_write_text, remove_stale_temporaries
from sepgan.errors import InterpolationError
from sepgan.media.scenes import CUT_NEIGHBOURS, MAX_HELD_FRAMES
from sepgan.memory import cpu_count

__all__ = [
    "CONTEXT_FRAMES",
    "InlineRunner",
    "Journal",
    "ProcessRunner",
    "RayRunner",
    "Segment",
    "plan_segments",
    "work_folder",
]

# Frames read on each side of a segment's intervals: the cut rule's neighbours, beyond a held run that
# crosses the boundary and the span next to it (a model that reads the neighbouring pairs' flows
# needs that span: sepgan.retime). A held run is judged from the pair before it to the pair after.
CONTEXT_FRAMES = CUT_NEIGHBOURS + 2 * MAX_HELD_FRAMES
# Frames decoded before the context and dropped: a deinterlacer (bwdif) reads the frame before.
DECODE_MARGIN = 2
JOURNAL_VERSION = 1


@dataclass(frozen=True)
class Segment:
    """The input intervals ``[first, end)`` (``end`` None: to the end of the input, held tail included).

    ``decode_from`` is the first frame read (context); ``seek`` the keyframe pts a video's
    decode starts at (None: from the start); ``expected`` the pts of frames
    ``decode_from …`` as the frame index lists them, which the decode checks.
    """

    index: int
    first: int
    end: int | None
    decode_from: int
    seek: int | None = None
    expected: tuple[int, ...] | None = None

    @property
    def last_read(self) -> int | None:
        """The last frame read (context after ``end``); None: to the end."""
        return None if self.end is None else self.end + CONTEXT_FRAMES


def plan_segments(
    frame_count: int, length: int, keyframes: Sequence[int] = (), pts: Sequence[int] | None = None
) -> list[Segment]:
    """Cut ``frame_count`` input frames into segments of about ``length`` intervals.

    A boundary moves to a keyframe within a quarter of ``length`` of it, when there is
    one (the decode then starts on it); ``pts`` (a video's :class:`FrameIndex`) lets
    each segment seek to the keyframe before its context and check its frames.
    Fewer than two segments' worth gives one segment.
    """
    intervals = frame_count - 1
    length = max(1, int(length))
    if intervals < 2 * length:
        return [Segment(0, 0, None, 0)]
    count = round(intervals / length)
    bounds = [0]
    for i in range(1, count):
        target = round(i * intervals / count)
        near = [k for k in keyframes if abs(k - target) <= length // 4 and k > bounds[-1]]
        bound = min(near, key=lambda k: abs(k - target)) if near else target
        if bound > bounds[-1] and bound < intervals:
            bounds.append(bound)
    segments = []
    for index, first in enumerate(bounds):
        end = bounds[index + 1] if index + 1 < len(bounds) else None
        decode_from = max(0, first - CONTEXT_FRAMES - (DECODE_MARGIN if pts is not None else 0))
        seek = expected = None
        if pts is not None:
            key = max((k for k in keyframes if k <= decode_from), default=0)
            seek = pts[key]
            stop = len(pts) if end is None else min(len(pts), end + CONTEXT_FRAMES + 1)
            expected = tuple(pts[decode_from:stop])
        segments.append(Segment(index, first, end, decode_from, seek, expected))
    return segments


# ---------------------------------------------------------------------------
# The work folder and its journal
# ---------------------------------------------------------------------------


def work_folder(output: Path) -> Path:
    """The work folder of ``output``: beside it, ``NAME.sepgan-work``."""
    return output.parent / f"{output.name}.sepgan-work"


def input_identity(path: Path) -> dict[str, Any]:
    """What tells a resumed job that its input is the one it started on: path, size, modification time."""
    stat = path.stat()
    return {"path": str(path.resolve()), "bytes": stat.st_size, "modified_ns": stat.st_mtime_ns}


def _describe(value: Any) -> str:
    return "unset" if value is None else str(value)


class Journal:
    """The work folder's record of a segmented job: what it is, and which parts are complete.

    :meth:`open` creates it, or with ``resume`` reads it back; ``parts`` maps a segment
    index to what its runner returned (its part's file name, first output frame,
    frame count and statistics); :meth:`record` adds one and rewrites the journal
    atomically, so a kill at any moment leaves the last complete state.
    """

    def __init__(self, folder: Path, header: dict[str, Any], parts: dict[int, dict[str, Any]]) -> None:
        self.folder = folder
        self.path = folder / "journal.json"
        self.header = header
        self.parts = parts
        self._lock = threading.Lock()

    @classmethod
    def open(
        cls, output: Path, header: dict[str, Any], *, resume: bool, restart: bool
    ) -> tuple[Journal, list[str]]:
        """The journal for ``output``'s job described by ``header``; returns it and notes.

        Raises :class:`InterpolationError` when a work folder exists and neither
        ``resume`` nor ``restart`` is given, when it cannot be read back, and when
        the job it records differs (the input, or an option: named).
        """
        folder = work_folder(output)
        notes: list[str] = []
        if folder.exists() and restart:
            shutil.rmtree(folder)
            notes.append(f"--restart: removed the work folder {folder}")
        if folder.exists() and not resume:
            raise InterpolationError(
                "{output}: the work folder {folder} of a stopped job exists; add {resume} to continue "
                "it or {restart} to start over",
                parameter=("resume", "restart"),
                output=output,
                folder=folder,
            )
        if not folder.exists():
            folder.mkdir(parents=True)
            journal = cls(folder, header, {})
            journal._write()
            return journal, notes
        try:
            saved = json.loads((folder / "journal.json").read_text())
            saved_header, parts = saved["header"], {int(k): v for k, v in saved["parts"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise InterpolationError(
                "{folder}: cannot read the journal of the stopped job ({error}); use {restart} to start over",
                parameter="restart",
                folder=folder,
                error=error,
            ) from None
        _check_same_job(saved_header, header, folder)
        kept = {}
        for index, part in parts.items():
            path = folder / part["file"]
            if path.exists() and _size(path) == part["bytes"]:
                kept[index] = part
        for stale in folder.iterdir():  # temporaries of a killed writer
            if ".sepgan-tmp-" in stale.name:
                remove_stale_temporaries(folder / stale.name.split(".sepgan-tmp-")[0].lstrip("."))
        notes.append(f"--resume: {len(kept)} of {len(header['segments'])} segments were complete in {folder}")
        journal = cls(folder, header, kept)
        journal._write()
        return journal, notes

    def record(self, index: int, part: dict[str, Any]) -> None:
        """Segment ``index`` is complete: its part file exists, whole, in the work folder."""
        with self._lock:
            part = {**part, "bytes": _size(self.folder / part["file"])}
            self.parts[index] = part
            self._write()

    def _write(self) -> None:
        document = {"header": self.header, "parts": {str(k): v for k, v in sorted(self.parts.items())}}
        atomic_write_text(self.path, json.dumps(document, indent=1))

    def remove(self) -> None:
        """The output is complete: the work folder goes."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _size(path: Path) -> int:
    """Bytes of a file, or of the files of a folder (a PNG part)."""
    if path.is_dir():
        return sum(child.stat().st_size for child in path.iterdir() if child.is_file())
    return path.stat().st_size


def _check_same_job(saved: dict[str, Any], wanted: dict[str, Any], folder: Path) -> None:
    if saved.get("version") != wanted.get("version"):
        raise InterpolationError(
            "{folder}: the journal was written by another version of sepgan; use {restart}",
            parameter="restart",
            folder=folder,
        )
    if saved.get("input") != wanted.get("input"):
        raise InterpolationError(
            "{folder}: the input changed since the job started ({path}); use {restart} to start over",
            parameter="restart",
            folder=folder,
            path=saved.get("input", {}).get("path"),
        )
    saved_options, options = saved.get("options", {}), wanted.get("options", {})
    for name in sorted(set(saved_options) | set(options)):
        if saved_options.get(name) != options.get(name):
            flag = "--" + name.replace("_", "-")
            raise InterpolationError(
                "--resume: the stopped job ran with {flag} {saved}, this run asks for {wanted}; "
                "give the same options, or {restart} to start over",
                parameter="restart",
                flag=flag,
                saved=_describe(saved_options.get(name)),
                wanted=_describe(options.get(name)),
            )
    if saved.get("segments") != wanted.get("segments"):
        raise InterpolationError(
            "{folder}: the stopped job cut the input differently; use {restart} to start over",
            parameter="restart",
            folder=folder,
        )


# ---------------------------------------------------------------------------
# Runners: this process, worker processes, a Ray cluster
# ---------------------------------------------------------------------------

# What runs one segment: (interpolator, task, progress) -> the part's journal entry.
SegmentFunction = Callable[[Any, Any, Callable[[int], None]], dict[str, Any]]


@dataclass
class RunState:
    """Where a run stands: finished entries go to ``done`` (and the journal); ``progress`` counts frames."""

    journal: Journal
    progress: Callable[[int], None]
    done: list[dict[str, Any]] = field(default_factory=list)

    def finished(self, index: int, entry: dict[str, Any]) -> None:
        self.journal.record(index, entry)
        self.done.append(entry)


class InlineRunner:
    """Segments one after another in this process, with the model already loaded."""

    def __init__(self, make_interpolator: Callable[[], Any]) -> None:
        self._make = make_interpolator

    def run(self, function: SegmentFunction, tasks: Sequence[tuple[int, Any]], state: RunState) -> None:
        interpolator = self._make() if tasks else None
        for index, task in tasks:
            state.finished(index, function(interpolator, task, state.progress))


_worker: dict[str, Any] = {}


def _start_worker(spec: Any, threads: int, progress: Any) -> None:
    """A worker process's first step: its share of the threads, and its own copy of the model.

    A closed terminal sends SIGHUP to the whole process group: a worker ignores it, and the
    parent, which stops on it as on Ctrl-C, terminates the workers itself (SIGTERM).
    """
    import signal

    import torch

    signal.signal(signal.SIGHUP, signal.SIG_IGN)

    torch.set_num_threads(threads)
    _worker["interpolator"] = spec.load(workers=threads)
    _worker["progress"] = progress


def _in_worker(function: SegmentFunction, task: Any) -> dict[str, Any]:
    progress = _worker["progress"]
    return function(_worker["interpolator"], task, lambda frames: progress.put(frames))


class ProcessRunner:
    """``jobs`` worker processes on this machine, each with ``cores // jobs`` threads and its own model.

    The model is loaded once per worker (``spec``, a :class:`sepgan.loading.ModelSpec`).
    Workers are started with ``spawn``: no thread or lock of this process is inherited.
    """

    def __init__(self, spec: Any, jobs: int) -> None:
        self.spec, self.jobs = spec, jobs

    def run(self, function: SegmentFunction, tasks: Sequence[tuple[int, Any]], state: RunState) -> None:
        import concurrent.futures
        import concurrent.futures.process
        import multiprocessing

        if not tasks:
            return
        context = multiprocessing.get_context("spawn")
        progress = context.Queue()
        jobs = min(self.jobs, len(tasks))
        threads = max(1, cpu_count() // jobs)
        with concurrent.futures.ProcessPoolExecutor(
            jobs, mp_context=context, initializer=_start_worker, initargs=(self.spec, threads, progress)
        ) as pool:
            futures = {pool.submit(_in_worker, function, task): index for index, task in tasks}
            try:
                pending = set(futures)
                while pending:
                    finished, pending = concurrent.futures.wait(pending, timeout=0.2)
                    _drain(progress, state.progress)
                    for future in finished:
                        state.finished(futures[future], future.result())
                _drain(progress, state.progress)
            except concurrent.futures.process.BrokenProcessPool:
                raise InterpolationError(
                    "a worker process died (out of memory? see dmesg); the segments finished before it are "
                    "kept: run the same command with --resume to continue"
                ) from None
            except BaseException:
                for future in futures:
                    future.cancel()
                for process in list(getattr(pool, "_processes", {}).values()):
                    with contextlib.suppress(Exception):
                        process.terminate()
                raise


def _drain(source: Any, progress: Callable[[int], None]) -> None:
    while True:
        try:
            progress(source.get_nowait())
        except (queue.Empty, EOFError, OSError):
            return


class RayRunner:
    """Segments as tasks of Ray actors (one model per actor), on the cluster at ``address``.

    ``address``: ``auto`` (a cluster started with ``ray start`` on this node), ``ray://HOST:PORT``
    or ``HOST:PORT``; ``local`` starts a Ray instance on this machine for this run. Each
    actor takes ``threads`` CPUs; ``actors`` None: as many as the cluster's CPUs allow.
    A failed task is retried by Ray (the actor restarted, up to :attr:`RETRIES` times);
    finished segments stay journalled whatever fails later.
    """

    RETRIES = 3

    def __init__(self, spec: Any, address: str, actors: int | None = None, threads: int = 1) -> None:
        self.spec, self.address, self.actors, self.threads = spec, address, actors, threads

    def run(self, function: SegmentFunction, tasks: Sequence[tuple[int, Any]], state: RunState) -> None:
        try:
            import ray
            from ray.util.queue import Queue
        except ImportError:
            raise InterpolationError(
                "{cluster} needs Ray: pip install {extra}", parameter="cluster", extra="'sepgan[cluster]'"
            ) from None
        if not tasks:
            return
        started_here = not ray.is_initialized()
        if started_here:
            try:
                quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
                if self.address == "local":
                    ray.init(num_cpus=cpu_count(), include_dashboard=False, **quiet)
                else:
                    ray.init(address=self.address, **quiet)
            except (ConnectionError, RuntimeError, ValueError) as error:
                raise InterpolationError(
                    "{cluster} {address}: cannot connect to Ray ({error})",
                    parameter="cluster",
                    address=self.address,
                    error=error,
                ) from None
        try:
            cpus = int(ray.cluster_resources().get("CPU", 1))
            count = min(len(tasks), self.actors or max(1, cpus // self.threads))
            progress, reports = Queue(), SegmentProgress(state.progress)
            actor_class = ray.remote(
                num_cpus=self.threads, max_restarts=self.RETRIES, max_task_retries=self.RETRIES
            )(SegmentActor)
            actors = [actor_class.remote(self.spec, self.threads, progress) for _ in range(count)]
            waiting = list(tasks)
            running: dict[Any, tuple[int, Any]] = {}
            idle = list(actors)
            while waiting or running:
                while idle and waiting:
                    actor = idle.pop()
                    index, task = waiting.pop(0)
                    running[actor.run.remote(function, task, index)] = (index, actor)
                ready, _ = ray.wait(list(running), num_returns=1, timeout=0.2)
                _drain_ray(progress, reports)
                for reference in ready:
                    index, actor = running.pop(reference)
                    try:
                        entry = ray.get(reference)
                    except ray.exceptions.RayTaskError as error:  # the segment's own error, as raised there
                        raise (error.cause or error) from None
                    state.finished(index, entry)
                    idle.append(actor)
            _drain_ray(progress, reports)
        finally:
            if started_here:
                ray.shutdown()


class SegmentProgress:
    """The bar's count from ``(segment index, frames made so far)`` reports.

    A segment that runs again (a Ray task retried after its worker died) reports
    from 0 again. Only the frames beyond its highest report count, so a retry
    pauses the bar instead of counting its frames twice.
    """

    def __init__(self, progress: Callable[[int], None]) -> None:
        self._progress = progress
        self._reported: dict[int, int] = {}

    def __call__(self, report: tuple[int, int]) -> None:
        index, frames = report
        before = self._reported.get(index, 0)
        if frames > before:
            self._reported[index] = frames
            self._progress(frames - before)


def _drain_ray(source: Any, progress: Callable[[Any], None]) -> None:
    while not source.empty():
        try:
            progress(source.get_nowait())
        except Exception:  # noqa: BLE001 - ray.util.queue.Empty; nothing more to take now
            return


class SegmentActor:
    """A Ray actor: one model, loaded once; :meth:`run` makes one segment."""

    def __init__(self, spec: Any, threads: int, progress: Any) -> None:
        import torch

        torch.set_num_threads(threads)
        self.interpolator = spec.load(workers=threads)
        self.progress = progress

    def run(self, function: SegmentFunction, task: Any, index: int) -> dict[str, Any]:
        """Segment ``index``; its progress goes out as (index, frames so far): :class:`SegmentProgress`."""
        made = 0

        def report(frames: int) -> None:
            nonlocal made
            made += frames
            self.progress.put_nowait((index, made))

        return function(self.interpolator, task, report)


def run_segments(
    runner: InlineRunner | ProcessRunner | RayRunner,
    function: SegmentFunction,
    tasks: Sequence[tuple[int, Any]],
    journal: Journal,
    progress: Callable[[int], None],
) -> list[dict[str, Any]]:
    """Run the segments ``tasks`` lacks in ``journal`` and return every segment's entry, in order."""
    state = RunState(journal, progress)
    runner.run(function, [(index, task) for index, task in tasks if index not in journal.parts], state)
    return [journal.parts[index] for index, _ in tasks]
