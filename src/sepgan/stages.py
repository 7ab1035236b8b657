"""Overlap: decode, flow and encode threads around the calling (inference) thread.

``reader → flow → network → writer`` run as four threads (:func:`overlapped` with
``overlap=True``, the default of ``sepgan interpolate``): a decode thread fills a
bounded queue of input frames (``2 · batch + 2``), a flow thread computes the
next batch's optical flow (DIS, on CPU threads of its own) in lockstep, one batch
ahead (:func:`sepgan.retime.retime` with ``flow_ahead``), the calling thread runs the
network, and an encode thread drains a bounded queue of output frames
(``2 · batch · ⌈min(ratio, 8)⌉``), so memory stays at a few batches of frames
whatever the length. PyAV releases the GIL while decoding and encoding and
PyTorch while computing, so the stages run at the same time; the output is the
same frames in the same order as without overlap (only the interleaving of
audio and video packets in the container may differ). An exception in any
thread is re-raised in the calling thread, which stops and joins the others
before the writer removes its temporary output; signals (Ctrl-C, SIGTERM, SIGHUP)
arrive in the calling thread as before. On a 2-core CPU the network takes
seconds per frame and decode and encode tens of milliseconds, so overlap saves
little there (see ``benchmarks/bench_interpolate.py``); it is meant for fast
inference (a GPU), where decode and encode are a larger share of the time.
"""

from __future__ import annotations

import contextlib
import math
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from fractions import Fraction

import numpy as np

__all__ = ["ReadAhead", "WriteBehind", "overlapped"]

_DONE = object()
_POLL_SECONDS = 0.1  # how often a blocked thread looks at the stop flag


class ReadAhead:
    """Iterates ``items`` in a daemon thread, at most ``maxsize`` items ahead of the consumer.

    Iterating the object yields the items in order and re-raises, in the
    consumer's thread, any exception the producer met. :meth:`close` stops the
    producer after its current item and joins it. With ``lockstep`` the
    producer starts on the next item only once the consumer has taken the one
    before: exactly one item is made ahead of the one in use, so a stage whose
    items are large (a batch's flows, :func:`sepgan.retime.retime`) holds two,
    not ``maxsize + 2``.
    """

    def __init__(
        self, items: Iterable, maxsize: int, name: str = "sepgan-decode", lockstep: bool = False
    ) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize)
        self._lockstep = lockstep
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(iter(items),), name=name, daemon=True)
        self._thread.start()

    def _run(self, iterator: Iterator) -> None:
        try:
            for item in iterator:
                if not self._put((True, item)) or (self._lockstep and not self._wait_until_taken()):
                    return
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, which re-raises it
            self._put((False, error))
            return
        self._put((False, None))

    def _put(self, entry: tuple[bool, object]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def _wait_until_taken(self) -> bool:
        with self._queue.all_tasks_done:  # task_done() in __iter__ wakes this as soon as the item is taken
            while self._queue.unfinished_tasks:
                if self._stop.is_set():
                    return False
                self._queue.all_tasks_done.wait(_POLL_SECONDS)
        return True

    def __iter__(self) -> Iterator:
        while True:
            # A blocking get: Ctrl-C and SIGTERM still interrupt it (lock waits are interruptible on POSIX).
            is_item, value = self._queue.get()
            self._queue.task_done()
            if is_item:
                yield value
            elif value is None:
                return
            else:
                raise value

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


class WriteBehind:
    """Calls ``write(item)`` for every :meth:`put` item in a daemon thread, through a bounded queue.

    :meth:`put` blocks while ``maxsize`` items wait and re-raises an error of
    the writer thread; :meth:`finish` waits until everything is written.
    :meth:`close` drops what is still queued and joins the thread.
    """

    def __init__(self, write: Callable[[object], None], maxsize: int, name: str = "sepgan-encode") -> None:
        self._write = write
        self._queue: queue.Queue = queue.Queue(maxsize)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    item = self._queue.get(timeout=_POLL_SECONDS)
                except queue.Empty:
                    continue
                if item is _DONE:
                    return
                self._write(item)
        except BaseException as error:  # noqa: BLE001 - re-raised by put() and finish()
            self._error = error

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def put(self, item: object) -> None:
        while True:
            self._raise_if_failed()
            try:
                self._queue.put(item, timeout=_POLL_SECONDS)
                return
            except queue.Full:
                continue

    def finish(self) -> None:
        self.put(_DONE)
        self._thread.join()
        self._raise_if_failed()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


@contextlib.contextmanager
def overlapped(
    frames: Iterable[np.ndarray],
    write: Callable[[tuple[np.ndarray, np.ndarray]], None],
    *,
    overlap: bool,
    batch: int,
    ratio: Fraction,
) -> Iterator[
    tuple[Iterable[np.ndarray], Callable[[tuple[np.ndarray, np.ndarray]], None], Callable[[], None]]
]:
    """``(frames, write, finish)``: in threads with bounded queues when ``overlap``, else as given.

    The caller writes every output with ``write`` and then calls ``finish``
    before closing its writer. On leaving, the threads are stopped and joined,
    so a writer can be aborted (or a reader closed) safely afterwards.
    """
    if not overlap:
        yield frames, write, lambda: None
        return
    reader = ReadAhead(frames, maxsize=2 * batch + 2)
    writer = WriteBehind(write, maxsize=max(4, 2 * batch * math.ceil(min(ratio, 8))))
    try:
        yield reader, writer.put, writer.finish
    finally:
        writer.close()
        reader.close()
