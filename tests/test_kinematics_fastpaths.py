"""The fast paths of the kinematics kernel give what the general ones give, to the bit.

- ``_group_tracks`` (one Numba pass, counting sort by track id) against the sorting path
  (``Boxes.by_track``, NumPy), on tables with untracked rows, interpolated rows, duplicate
  frames, mixed classes, huge track ids (the Numba sort instead of the counting sort) and
  rows out of frame order (the sorting path itself);
- ``_beat_rms`` on a track without gaps (all lags in one pass) against the definition
  (pairs of points exactly k frames apart, found by time), written here in Python.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from spermtrack import Boxes
from spermtrack.kinematics import _kernel as K
from spermtrack.kinematics.casa import _group_tracks, _group_tracks_sorting


def _table(rng, n, big_ids, n_frames=40):
    frame = np.sort(rng.integers(0, n_frames, n)).astype(np.int32)
    tid = rng.integers(-1, 7, n).astype(np.int64)
    tid[tid >= 0] *= 10**12 if big_ids else 3
    xy = rng.uniform(0, 100, (n, 2))
    wh = rng.uniform(1, 20, (n, 2))
    return Boxes(
        frame=frame,
        x1=xy[:, 0],
        y1=xy[:, 1],
        x2=xy[:, 0] + wh[:, 0],
        y2=xy[:, 1] + wh[:, 1],
        score=rng.choice([0.0, 0.5, 1.0], n),
        cls=rng.integers(0, 3, n).astype(np.int16),
        track_id=tid,
        num_frames=n_frames,
    )


@pytest.mark.parametrize("big_ids", [False, True])
@pytest.mark.parametrize("observed_only", [False, True])
@pytest.mark.parametrize("image_size", [None, (60, 60)])
def test_grouping_matches_the_sorting_path(big_ids, observed_only, image_size):
    rng = np.random.default_rng(7 + big_ids + 2 * observed_only)
    for n in (0, 1, 5, 300):
        b = _table(rng, n, big_ids)
        got = _group_tracks(b, image_size, observed_only)
        want = _group_tracks_sorting(b.filter(b.score > 0) if observed_only else b, image_size)
        names = ("ids", "offsets", "frame", "cx", "cy", "cls_major", "dup_tracks")
        for name, g, w in zip(names, got, want, strict=True):
            assert g.dtype.kind == w.dtype.kind, name
            assert np.array_equal(g, w), (n, name)


def test_grouping_of_rows_out_of_frame_order():
    rng = np.random.default_rng(3)
    b = _table(rng, 200, False)
    shuffled = rng.permutation(len(b))
    bad = Boxes(
        **{c: getattr(b, c)[shuffled] for c in ("frame", "x1", "y1", "x2", "y2", "score", "cls", "track_id")},
        num_frames=b.num_frames,
        validate=False,
    )
    got = _group_tracks(bad, None, True)
    want = _group_tracks_sorting(bad.filter(bad.score > 0), None)
    for g, w in zip(got, want, strict=True):
        assert np.array_equal(g, w)


def _beat_rms_definition(t, x, y, ax, ay, frame_dt, max_lag):
    n = len(t)
    rx, ry = x - ax, y - ay
    best = -math.inf
    for k in range(1, max_lag + 1):
        acc, m = 0.0, 0
        for i in range(n):
            j = np.flatnonzero(np.abs(t - (t[i] + k * frame_dt)) <= 0.25 * frame_dt)
            if len(j):
                acc += rx[i] * rx[j[0]] + ry[i] * ry[j[0]]
                m += 1
        if m:
            best = max(best, acc / m)
    if best == -math.inf:
        return math.sqrt(np.mean(rx * rx + ry * ry))
    return math.sqrt(best) if best > 0 else 0.0


@pytest.mark.parametrize("n", [1, 2, 7, 60])
@pytest.mark.parametrize("fps", [50.0, 100.0])
def test_beat_rms_without_gaps_is_the_definition(n, fps):
    rng = np.random.default_rng(n)
    t = np.arange(n) / fps
    x, y = rng.normal(0, 1, n), rng.normal(0, 1, n)
    ax, ay = rng.normal(0, 0.2, n), rng.normal(0, 0.2, n)
    max_lag = int(0.25 * fps)
    got = K._beat_rms(t, x, y, ax, ay, 1 / fps, max_lag)
    assert got == _beat_rms_definition(t, x, y, ax, ay, 1 / fps, max_lag)
    # with a gap the general path runs: still the definition
    if n > 3:
        tg = np.concatenate([t[:2], t[2:] + 3 / fps])
        assert K._beat_rms(tg, x, y, ax, ay, 1 / fps, max_lag) == pytest.approx(
            _beat_rms_definition(tg, x, y, ax, ay, 1 / fps, max_lag), rel=1e-12
        )
