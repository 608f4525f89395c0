"""Bounded tracker memory and time: sparse frame numbers, crowds, a documented per-frame limit (issue 17 item 6)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from track_reference import gated_pairs

from spermtrack import Boxes
from spermtrack.errors import SpermtrackError
from spermtrack.track import Tracker, TrackerConfig, track
from spermtrack.track.assignment import MAX_EXACT_CELLS, assign_sparse
from spermtrack.track.core import MAX_BOXES_PER_FRAME
from spermtrack.track.costs import MAX_PAIRS_PER_TRACK


def random_boxes(n: int, frames: int, seed: int = 0, size: float = 12.0) -> Boxes:
    rng = np.random.default_rng(seed)
    f = np.repeat(np.arange(frames), n)
    c = np.column_stack([rng.uniform(0, 640, n * frames), rng.uniform(0, 480, n * frames)])
    return Boxes.from_cxcywh(f, np.column_stack([c, np.full((n * frames, 2), size)]))


def test_sparse_frame_numbers_do_not_visit_empty_frames():
    b = Boxes.from_cxcywh([0, 10**9], [[10, 10, 10, 10], [12, 12, 10, 10]])
    t0 = time.process_time()
    assert len(track(b, 50)) == 0
    tr = Tracker(50, TrackerConfig(self_calibrate=False))
    tr.update(Boxes.from_cxcywh([0], [[10, 10, 10, 10]]))
    tr.update(Boxes.from_cxcywh([10**9], [[12, 12, 10, 10]]))
    assert tr.frame == 10**9
    assert time.process_time() - t0 < 5.0  # was 35-74 s of CPU


def test_too_many_boxes_in_one_frame_stops_at_once_naming_the_limit():
    b = random_boxes(MAX_BOXES_PER_FRAME + 1, 1)
    t0 = time.process_time()
    with pytest.raises(SpermtrackError, match="MAX_BOXES_PER_FRAME"):
        track(b, 50)
    with pytest.raises(SpermtrackError, match="20,000 boxes"):
        Tracker(50, TrackerConfig(self_calibrate=False)).update(b)
    assert time.process_time() - t0 < 5.0


def test_pairs_per_track_are_capped_and_match_the_dense_result_when_few():
    rng = np.random.default_rng(0)
    n = 400
    z = np.column_stack([rng.uniform(0, 60, n), rng.uniform(0, 60, n), np.full(n, 12.0), np.full(n, 12.0)])
    x = np.zeros((n, 4, 2))
    x[:, :, 0] = z + rng.normal(0, 1, z.shape)
    P = np.zeros((n, 4, 2, 2))
    P[:, :, 0, 0], P[:, :, 1, 1] = 25.0, 100.0
    R = np.array([25.0, 25.0, 4.0, 4.0])
    rows, _, cost = gated_pairs(x, P, R, np.arange(n), z, np.arange(n), 0, 16.0, 0.0, 1.0, 0.25)
    assert np.bincount(rows).max() == MAX_PAIRS_PER_TRACK
    # the pairs kept are each track's cheapest
    for a in range(0, n, 37):  # against the same track alone with no gate (its 32 cheapest of all 400)
        _, _, c1 = gated_pairs(x[a : a + 1], P[a : a + 1], R, [0], z, np.arange(n), 0, 1e9, 0.0, 1.0, 0.25)
        best = np.sort(c1)[:MAX_PAIRS_PER_TRACK]
        np.testing.assert_allclose(np.sort(cost[rows == a]), best[best < 16.0])


def test_huge_groups_are_matched_greedily_and_validly():
    k = int(np.sqrt(MAX_EXACT_CELLS)) + 20  # one connected group larger than the exact limit
    rng = np.random.default_rng(1)
    rows = np.repeat(np.arange(k), 8)
    cols = (rows + rng.integers(0, 20, len(rows))) % k
    pairs = np.unique(np.column_stack([rows, cols]), axis=0)
    cost = rng.uniform(0, 5, len(pairs))
    out = assign_sparse(k, k, pairs[:, 0].copy(), pairs[:, 1].copy(), cost, 9.0)
    matched = out[out >= 0]
    assert len(np.unique(matched)) == len(matched) > 0.8 * k  # each column once, most rows matched
    allowed = set(map(tuple, pairs.tolist()))
    assert all((i, j) in allowed for i, j in enumerate(out) if j >= 0)


_DENSE_CROWD = """
import sys, time
sys.path.insert(0, {tests!r})
from test_track_limits import random_boxes
from spermtrack.track import TrackerConfig, track
track(random_boxes(50, 3), 50, TrackerConfig(self_calibrate=False))  # compile or load the kernels first
with open("/proc/self/clear_refs", "w") as fh:  # reset the peak resident size (VmHWM) to the current one
    fh.write("5")
b = random_boxes(15000, 3)
t0 = time.process_time()
track(b, 50, TrackerConfig(self_calibrate=False))
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(time.process_time() - t0, hwm)
"""


@pytest.mark.slow
def test_dense_crowd_time_and_memory_stay_bounded():
    """15,000 boxes in each of 3 frames: under 30 s of CPU and 2 GB, measured in a fresh process.

    A process of its own, so that what other tests loaded (torch, ultralytics) does not count,
    and the peak is taken after the kernels are compiled (a fresh Numba cache compiles them here:
    LLVM's memory is not the tracker's). Linux only (/proc).
    """
    import subprocess
    import sys
    from pathlib import Path

    code = _DENSE_CROWD.format(tests=str(Path(__file__).parent))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    cpu_s, maxrss_kb = float(out[-2]), int(out[-1])
    assert cpu_s < 30.0
    assert maxrss_kb < 2 * 1024 * 1024  # KB: under 2 GB
