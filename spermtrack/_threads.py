"""The one background-thread helper of spermtrack: iterate something in another thread.

:func:`background` runs the iteration of an iterable in a daemon thread and keeps up
to ``depth`` items ready for the consumer. Stages chain: ``background(detect(background(decode)))``
decodes, detects and lets the caller track, three threads overlapping (OpenCV, PyAV,
ONNX and the Numba kernels release the GIL). :class:`Stopwatch` adds up each stage's
busy seconds from any thread.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable, Iterator

_DONE = object()

#: Seconds the consumer waits, when it leaves, for the producer thread to stop. Past it the
#: (daemon) thread is left behind: a producer stuck for good, e.g. on an import lock that an
#: interrupt (Ctrl-C) left held in another thread, must not hang the process on its way out.
STOP_WAIT_S = 10.0


class _Failure:
    """An exception raised by the producer, carried to the consumer."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def background(items: Iterable, depth: int = 2, name: str = "spermtrack-background") -> Iterator:
    """Iterate ``items`` in a background thread, keeping up to ``depth`` items ready.

    An exception raised while producing an item is re-raised in the consumer; leaving the
    loop early (``break``, an exception, closing the generator) stops the producer and
    closes ``items`` when it is a generator, so chained stages all stop. The consumer waits
    at most :data:`STOP_WAIT_S` seconds for that; a producer that does not stop by then is
    left behind as a daemon thread.

    >>> list(background(range(5)))
    [0, 1, 2, 3, 4]
    >>> list(background(background(iter("abc"), 1), 1))
    ['a', 'b', 'c']
    """
    q: queue.Queue = queue.Queue(maxsize=max(1, int(depth)))
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        it = iter(items)
        try:
            for item in it:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # re-raised in the consumer
            put(_Failure(exc))
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # pragma: no cover - a stage that fails while stopping
                    pass

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stop.set()
        deadline = time.monotonic() + STOP_WAIT_S
        while thread.is_alive() and time.monotonic() < deadline:  # unblock a producer waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)


class Stopwatch:
    """Busy seconds per stage, safe to add to from several threads."""

    def __init__(self, stages: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self.seconds: dict[str, float] = dict.fromkeys(stages, 0.0)

    def add(self, stage: str, seconds: float) -> None:
        """Add ``seconds`` of work to ``stage``."""
        with self._lock:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    def timed(self, items: Iterable, stage: str) -> Iterator:
        """Yield from ``items``, adding the time spent producing each item to ``stage``."""
        it = iter(items)
        while True:
            t0 = time.perf_counter()
            try:
                item = next(it)
            except StopIteration:
                self.add(stage, time.perf_counter() - t0)
                return
            self.add(stage, time.perf_counter() - t0)
            yield item
