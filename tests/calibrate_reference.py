"""k-d tree reference for the nearest-neighbour searches of :mod:`spermtrack.track.calibrate`.

The implementation the package used before its Numba search (SciPy's ``cKDTree`` on all
sampled frames at once, frames kept apart by a third coordinate): tests and
benchmarks check that :func:`~spermtrack.track.calibrate.displacements` and
:func:`~spermtrack.track.calibrate.spacing` give the same numbers.
"""

from __future__ import annotations

import numpy as np

from spermtrack.boxes import Boxes


def displacements_kdtree(boxes: Boxes, max_pairs: int = 300) -> tuple[np.ndarray, np.ndarray, int]:
    """Mutual nearest-neighbour displacements (pixels) between the boxes of consecutive frames.

    Uses up to ``max_pairs`` runs of three consecutive frames with boxes, spread over the
    video. Returns the displacements ``f -> f+1``, whether each continues smoothly into
    ``f+2`` (a mutual pair there too, whose step differs from the first by less than 0.8
    of it: a real moving cell, not a missed or a false box) and the number of runs used.
    Nearest neighbours cannot follow cells that move further than the spacing between
    cells in one frame (very low frame rates in dense fields): the motion scale is then
    underestimated (docs/tracking.md).
    """
    from scipy.spatial import cKDTree

    # frames present and their row bounds (never an array over all frame numbers: they may be sparse)
    if len(boxes) == 0:
        return np.zeros(0), np.zeros(0, bool), 0
    frames, first = np.unique(boxes.frame, return_index=True)
    bounds = np.append(first, len(boxes))
    k = np.flatnonzero((frames[1:-1] == frames[:-2] + 1) & (frames[2:] == frames[:-2] + 2)) if len(frames) > 2 else []
    f = np.asarray(k, np.int64)
    if len(f) == 0:
        return np.zeros(0), np.zeros(0, bool), 0
    if len(f) > max_pairs:
        f = f[np.linspace(0, len(f) - 1, max_pairs).round().astype(np.int64)]
    # All sampled frames at once: one k-d tree per role, frames kept apart by a third
    # coordinate (frame x a huge stride), so a nearest neighbour always lies in the frame asked.
    rows, key = zip(*(_ranges(bounds[f + j], bounds[f + j + 1]) for j in range(3)))
    pts = np.column_stack([boxes.cx, boxes.cy]).astype(np.float64)
    P = [np.column_stack([pts[r], k * _STRIDE]) for r, k in zip(rows, key)]

    def nearest(src, dst):
        d, i = cKDTree(P[dst]).query(P[src], k=1)
        return i, d

    ib, d = nearest(0, 1)
    ia, _ = nearest(1, 0)
    ic, _ = nearest(1, 2)
    ib2, _ = nearest(2, 1)
    mutual_ab = ia[ib] == np.arange(len(ib))
    mutual_bc = ib2[ic] == np.arange(len(ic))
    a_i = np.flatnonzero(mutual_ab)
    b_i = ib[a_i]
    c_ok = mutual_bc[b_i]
    c_i = ic[b_i]
    v1 = P[1][b_i, :2] - P[0][a_i, :2]
    v2 = P[2][c_i, :2] - P[1][b_i, :2]
    dv = np.hypot(*(v2 - v1).T)
    dist = d[a_i]
    return dist, c_ok & (dv < 0.8 * dist), len(f)


_STRIDE = 1e9  # pixels between frames in the stacked k-d trees (far beyond any image)


def _ranges(starts: np.ndarray, stops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows ``starts[i]:stops[i]`` of every ``i`` concatenated, and each row's ``i``."""
    lens = (stops - starts).astype(np.int64)
    key = np.repeat(np.arange(len(lens)), lens)
    first = np.cumsum(lens) - lens
    return np.arange(int(lens.sum())) - first[key] + starts[key], key


def spacing_kdtree(boxes: Boxes, max_frames: int = 100) -> float | None:
    """Median distance (pixels) from a box to its nearest neighbour in the same frame."""
    from scipy.spatial import cKDTree

    if len(boxes) < 2:
        return None
    _, first, counts = np.unique(boxes.frame, return_index=True, return_counts=True)
    sel = np.flatnonzero(counts >= 2)
    if len(sel) == 0:
        return None
    sel = sel[np.linspace(0, len(sel) - 1, min(max_frames, len(sel))).round().astype(np.int64)]
    rows, rank = _ranges(first[sel], first[sel] + counts[sel])
    z = rank.astype(np.float64) * _STRIDE  # frame rank, not number
    p = np.column_stack([boxes.cx[rows], boxes.cy[rows], z]).astype(np.float64)
    d, _ = cKDTree(p).query(p, k=2)
    return float(np.median(d[:, 1]))
