"""Association costs between predicted tracks and detections (Numba).

Small, fast objects move more than their own size between frames, so box
overlap (IoU) is often zero for a correct match. The default cost is therefore
the squared Mahalanobis distance of the detected centre from the Kalman
prediction, using the innovation covariance ``S = H P H' + R`` of each axis:
a track that moves fast or has been missed for a few frames has a larger ``P``
and so a wider gate, a well-locked slow track a narrow one.

Cost kinds (``kind`` argument, constants below):

``COST_MAHALANOBIS``
    ``dx^2 / S_x + dy^2 / S_y`` (chi-square with 2 degrees of freedom under the
    model; 9.21 is its 99 % quantile).
``COST_DISTANCE``
    ``(|d| / s)^2`` with ``|d|`` the centre distance (pixels) and ``s`` the mean
    of the predicted box's width and height: the distance in box sizes, squared.
``COST_IOU``
    ``1 - IoU`` of the predicted box and the detection
    (:func:`spermtrack.algorithms.iou.box_iou`: 0 for a zero-area box).

``iou_weight`` adds ``iou_weight * (1 - IoU)`` to the first two kinds (a blend).
``logdet_weight`` adds ``logdet_weight * ln(S_x S_y / (R_x R_y))`` to the
Mahalanobis cost: with weight 1 the cost is the negative log-likelihood of the
detection under the track's prediction (up to a constant), which stops an
uncertain (lost, coasting) track from winning a detection that a well-locked
track predicts just as well.
"""

from __future__ import annotations

import numba
import numpy as np

from ..algorithms.iou import box_iou

COST_MAHALANOBIS, COST_DISTANCE, COST_IOU = 0, 1, 2
#: Each track keeps at most this many candidate detections (its cheapest) per stage, so
#: that the pairs of a frame grow with its tracks, not with (boxes per frame)^2 in a crowd.
MAX_PAIRS_PER_TRACK = 32
#: Names accepted by :class:`~spermtrack.track.config.TrackerConfig` ``cost``.
COST_KINDS = {"mahalanobis": COST_MAHALANOBIS, "distance": COST_DISTANCE, "iou": COST_IOU}


# The per-pair and per-track helpers below are inlined into pairs_into (inline="always"):
# as calls they cost a function call and reference counting of the array arguments per pair.
@numba.njit(cache=True, inline="always")
def _track_terms(x, P, R, t, kind, logdet_weight, size_weight):
    px, py = x[t, 0, 0], x[t, 1, 0]
    pw, ph = max(x[t, 2, 0], 1.0), max(x[t, 3, 0], 1.0)
    sx = P[t, 0, 0, 0] + R[0]
    sy = P[t, 1, 0, 0] + R[1]
    logdet = logdet_weight * np.log(sx * sy / (R[0] * R[1])) if kind == COST_MAHALANOBIS else 0.0
    # size term weights: size_weight / S_w, size_weight / S_h (0 when off)
    ww = size_weight / (P[t, 2, 0, 0] + R[2])
    wh = size_weight / (P[t, 3, 0, 0] + R[3])
    return px, py, pw, ph, sx, sy, logdet, ww, wh


@numba.njit(cache=True, inline="always")
def _pair_cost(px, py, pw, ph, sx, sy, logdet, ww, wh, z, d, kind, iou_weight):
    dx = z[d, 0] - px
    dy = z[d, 1] - py
    if kind == COST_MAHALANOBIS:
        c = dx * dx / sx + dy * dy / sy + logdet
        if ww != 0.0:
            dw = z[d, 2] - pw
            dh = z[d, 3] - ph
            c += ww * dw * dw + wh * dh * dh
    elif kind == COST_DISTANCE:
        size = 0.5 * (pw + ph)
        c = (dx * dx + dy * dy) / (size * size)
    else:
        c = 0.0
    if kind == COST_IOU or iou_weight != 0.0:
        hw, hh = 0.5 * z[d, 2], 0.5 * z[d, 3]
        zx, zy = z[d, 0], z[d, 1]
        iou = box_iou(px - 0.5 * pw, py - 0.5 * ph, px + 0.5 * pw, py + 0.5 * ph, zx - hw, zy - hh, zx + hw, zy + hh)
        c += (1.0 if kind == COST_IOU else iou_weight) * (1.0 - iou)
    return c


@numba.njit(cache=True)
def pairs_into(
    x, P, R, slots, ns, z, el, ex, col_of, nd, kind, gate, iou_weight, logdet_weight, size_weight, work, rows, cols, cost
):
    """Write the (track, detection) pairs costing less than ``gate`` into ``rows, cols, cost``.

    Every cost kind bounds the horizontal offset of an allowed pair (Mahalanobis:
    ``dx^2 < gate * S_x``, the other terms being >= 0; distance: ``|dx| < sqrt(gate) * s``;
    IoU: the boxes must overlap when ``gate <= 1``), so each track only looks at the
    detections in an x-window, without a dense matrix. The window's ends are found
    through a bucket table over the sorted ``cx`` (one bucket per detection on
    average, so about one step from the bucket to the end; no binary search).

    Parameters
    ----------
    x, P, R : Kalman state ``(cap, 4, k)``, covariance ``(cap, 4, k, k)`` (predicted) and
        measurement variances (4,) (pixels^2).
    slots : int64, the first ``ns`` entries are the track slots (rows ``0 .. ns-1``).
    z : float64 (m, 4) detections ``cx, cy, w, h`` (pixels).
    el : int64, the first ``nd`` entries are rows of ``z`` sorted by ``cx``; ``ex`` their ``cx``.
    col_of : int64 (m,) column index of each row of ``z`` in the result.
    kind : int, one of ``COST_*``; gate : float, pairs costing at least this are left out.
    iou_weight : float, weight of ``1 - IoU`` added to the distance kinds.
    logdet_weight : float (>= 0), weight of the log-determinant term of the Mahalanobis kind.
    size_weight : float (>= 0), weight of the width and height terms ``dw^2 / S_w + dh^2 / S_h``.
    work : int64, at least ``nd + 1`` entries (the bucket table).
    rows, cols, cost : int64, int64, float64 output buffers (same length).

    Returns
    -------
    int
        Number of pairs written, or -1 when the buffers were too short (call again with longer ones).
        Each track keeps at most :data:`MAX_PAIRS_PER_TRACK` pairs, its cheapest.
    """
    cap = rows.shape[0]
    if nd == 0:
        return 0
    max_w = 0.0
    if kind == COST_IOU:
        for q in range(nd):
            max_w = max(max_w, z[el[q], 2])
    # bucket b holds the x in [x0 + b / inv, x0 + (b + 1) / inv); start[b] = first sorted detection in bucket >= b
    x0, xl = ex[0], ex[nd - 1]
    inv = nd / (xl - x0) if xl > x0 else 0.0
    i = 0
    for b in range(nd + 1):
        while i < nd and _bucket(ex[i], x0, xl, inv, nd) < b:
            i += 1
        work[b] = i
    n = 0
    for a in range(ns):
        px, py, pw, ph, sx, sy, logdet, ww, wh = _track_terms(x, P, R, slots[a], kind, logdet_weight, size_weight)
        if kind == COST_MAHALANOBIS:
            r = np.sqrt(gate * sx)
        elif kind == COST_DISTANCE:
            r = np.sqrt(gate) * 0.5 * (pw + ph)
        elif gate <= 1.0:
            r = 0.5 * (pw + max_w)
        else:
            r = np.inf
        # detections before start[bucket(v)] lie left of v (the buckets are monotone in x)
        lo_x, hi_x = px - r, px + r
        lo = work[_bucket(lo_x, x0, xl, inv, nd)]
        while lo < nd and ex[lo] < lo_x:
            lo += 1
        hi = max(lo, work[_bucket(hi_x, x0, xl, inv, nd)])
        while hi < nd and ex[hi] <= hi_x:
            hi += 1
        # Scan outward from px (nearest |dx| first): once a track holds MAX_PAIRS_PER_TRACK
        # pairs, stop where the horizontal term alone (a lower bound of every kind's cost but
        # IoU's, with the track's constant log-determinant) exceeds its dearest kept pair: in a crowd, work stays near the track.
        base = 0.0
        if kind == COST_MAHALANOBIS:
            lb = 1.0 / sx
            base = logdet
        elif kind == COST_DISTANCE:
            lb = 1.0 / (0.25 * (pw + ph) * (pw + ph))
        else:
            lb = 0.0
        p = max(lo, work[_bucket(px, x0, xl, inv, nd)])
        while p < hi and ex[p] < px:
            p += 1
        left, right = p - 1, p
        n0 = n
        imax = -1
        while left >= lo or right < hi:
            if left < lo or (right < hi and ex[right] - px <= px - ex[left]):
                q = right
                right += 1
            else:
                q = left
                left -= 1
            d = el[q]
            full = n - n0 == MAX_PAIRS_PER_TRACK
            if full:
                if imax < 0:
                    imax = n0
                    for e in range(n0 + 1, n):
                        if cost[e] > cost[imax]:
                            imax = e
                dxq = ex[q] - px
                if base + dxq * dxq * lb >= cost[imax]:
                    break
            c = _pair_cost(px, py, pw, ph, sx, sy, logdet, ww, wh, z, d, kind, iou_weight)
            if c < gate:
                if full:
                    # replace the dearest kept pair when this one is cheaper
                    if c < cost[imax]:
                        cols[imax] = col_of[d]
                        cost[imax] = c
                        imax = -1
                    continue
                if n == cap:
                    return -1
                rows[n] = a
                cols[n] = col_of[d]
                cost[n] = c
                n += 1
    return n


@numba.njit(cache=True, inline="always")
def _bucket(v, x0, xl, inv, nb):
    """Bucket of position ``v`` (0 .. nb), non-decreasing in ``v``."""
    if v <= x0:
        return 0
    if v >= xl:
        return nb
    return min(np.int64((v - x0) * inv), nb)


# Small sorting and searching helpers: NumPy's argsort/searchsorted work in Numba too,
# but cost many seconds of compilation each; these are a few lines.
_SHELL_GAPS = np.array([701, 301, 132, 57, 23, 10, 4, 1], np.int64)


#: Up to this many values :func:`argsort_into` tries an insertion sort first.
_INSERTION_MAX = 96


@numba.njit(cache=True)
def argsort_into(a, n, idx):
    """Write into ``idx[:n]`` the indices that sort ``a[:n]`` ascending.

    The order is the Shell sort's (ties included: it is not stable). Up to
    :data:`_INSERTION_MAX` values an insertion sort runs first, which is faster there and
    gives the same order whenever no two values are equal (the sorted order is then
    unique); with a tie the Shell sort runs, so the order never depends on the path.
    """
    if n <= _INSERTION_MAX:
        for i in range(n):
            v = a[i]
            j = i
            while j > 0 and a[idx[j - 1]] > v:
                idx[j] = idx[j - 1]
                j -= 1
            idx[j] = i
        tie = False
        for i in range(1, n):
            if a[idx[i]] == a[idx[i - 1]]:
                tie = True
                break
        if not tie:
            return
    for i in range(n):
        idx[i] = i
    for gap in _SHELL_GAPS:
        for i in range(gap, n):
            k = idx[i]
            v = a[k]
            j = i
            while j >= gap and a[idx[j - gap]] > v:
                idx[j] = idx[j - gap]
                j -= gap
            idx[j] = k


@numba.njit(cache=True)
def lower_bound(a, v):
    """First index ``i`` of the sorted ``a`` with ``a[i] >= v`` (``len(a)`` if none)."""
    lo, hi = 0, a.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return lo
