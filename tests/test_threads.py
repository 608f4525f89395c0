"""The background-thread helper leaves a stuck producer behind instead of hanging on the way out."""

from __future__ import annotations

import threading
import time

import pytest

from spermtrack import _threads
from spermtrack._threads import background


def test_a_producer_stuck_for_good_does_not_hang_the_consumer_on_ctrl_c(monkeypatch):
    """As when Ctrl-C leaves an import lock held that the producer thread waits on: the consumer
    leaves after STOP_WAIT_S instead of joining the thread for ever."""
    monkeypatch.setattr(_threads, "STOP_WAIT_S", 0.3)
    never = threading.Event()

    def stuck():
        yield 1
        never.wait()  # blocked for good (released below so that the daemon thread ends with the test)
        yield 2

    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        for _ in background(stuck(), name="spermtrack-stuck"):
            time.sleep(0.05)  # let the producer reach its blocking call
            raise KeyboardInterrupt
    waited = time.monotonic() - t0
    assert 0.3 <= waited < 2.0, waited
    assert any(t.name == "spermtrack-stuck" for t in threading.enumerate()), "the stuck thread was left behind"
    never.set()


def test_a_producer_that_stops_is_still_joined():
    """The bound only matters for a stuck producer: a normal one is joined, none left running."""
    before = threading.active_count()
    for i in background(iter(range(1000)), 2):
        if i == 5:
            break
    assert threading.active_count() <= before
