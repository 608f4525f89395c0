"""Test-only references for the tracker's kernels (moved out of the package).

- :func:`cost_matrix`: the dense cost of every (track, detection) pair, the reference for
  the sparse, windowed :func:`spermtrack.track.costs.pairs_into`;
- :func:`gated_pairs`: :func:`~spermtrack.track.costs.pairs_into` called from Python;
- :func:`full_model`: the full ``4k``-state Kalman model equivalent to the per-axis one
  (compared with ``filterpy``);
- :func:`kf_update`: :func:`~spermtrack.track.kalman.kf_update_one` over several tracks.
"""

from __future__ import annotations

import numba
import numpy as np

from spermtrack.track.costs import _pair_cost, _track_terms, pairs_into
from spermtrack.track.kalman import NAXES, kf_update_one


@numba.njit(cache=True)
def cost_matrix(x, P, R, slots, z, dets, kind, iou_weight, logdet_weight, size_weight):
    """Cost of each (track slot, detection) pair.

    Parameters
    ----------
    x, P : Kalman state ``(cap, 4, k)`` and covariance ``(cap, 4, k, k)`` (predicted).
    R : float64 (4,) measurement variances (pixels^2).
    slots : int64 (nt,) track slots (rows of the result).
    z : float64 (m, 4) detections of the frame as ``cx, cy, w, h`` pixels.
    dets : int64 (nd,) rows of ``z`` to use (columns of the result).
    kind : int, one of ``COST_*``.
    iou_weight : float, weight of ``1 - IoU`` added to the distance kinds.
    logdet_weight : float (>= 0), weight of the log-determinant term of the Mahalanobis kind.
    size_weight : float (>= 0), weight of the width and height Mahalanobis terms
        ``dw^2 / S_w + dh^2 / S_h`` added to the Mahalanobis kind.

    Returns
    -------
    float64 (nt, nd)
    """
    nt, nd = slots.shape[0], dets.shape[0]
    out = np.empty((nt, nd))
    for a in range(nt):
        px, py, pw, ph, sx, sy, logdet, ww, wh = _track_terms(x, P, R, slots[a], kind, logdet_weight, size_weight)
        for b in range(nd):
            out[a, b] = _pair_cost(px, py, pw, ph, sx, sy, logdet, ww, wh, z, dets[b], kind, iou_weight)
    return out


def gated_pairs(x, P, R, slots, z, dets, kind, gate, iou_weight, logdet_weight, size_weight):
    """The (track, detection) pairs costing less than ``gate`` (the sparse form of :func:`cost_matrix`).

    Same arguments as :func:`cost_matrix` plus ``gate``; see :func:`pairs_into`.

    Returns
    -------
    rows, cols : int64 (E,) indices into ``slots`` and ``dets``; cost : float64 (E,).
    """
    slots = np.ascontiguousarray(slots, np.int64)
    dets = np.ascontiguousarray(dets, np.int64)
    z = np.ascontiguousarray(z, np.float64)
    col_of = np.full(z.shape[0], -1, np.int64)
    col_of[dets] = np.arange(len(dets))
    xs = z[dets, 0]
    order = np.argsort(xs, kind="stable")
    el, ex = dets[order], np.ascontiguousarray(xs[order])
    cap = 4 * (len(slots) + len(dets)) + 8
    work = np.empty(len(dets) + 1, np.int64)
    while True:
        rows, cols, cost = np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap)
        n = pairs_into(
            x, P, R, slots, len(slots), z, el, ex, col_of, len(dets), int(kind), float(gate),
            float(iou_weight), float(logdet_weight), float(size_weight), work, rows, cols, cost,
        )  # fmt: skip
        if n >= 0:
            return rows[:n], cols[:n], cost[:n]
        cap *= 2


def full_model(F: np.ndarray, Q: np.ndarray, R: np.ndarray, P0: np.ndarray):
    """The equivalent full filter ``(F, H, Q, R, P0)`` of the per-axis model (for tests and references).

    Parameters
    ----------
    F : (k, k) transition of one axis.
    Q : (4, k, k) process noise per axis.
    R : (4,) measurement variance per axis (pixels^2).
    P0 : (4, k, k) initial covariance per axis.

    Returns
    -------
    F_full (4k, 4k), H (4, 4k), Q_full (4k, 4k), R_full (4, 4), P0_full (4k, 4k); the full
    state is axis-major: ``cx, vcx, [acx], cy, vcy, ..., h, vh, [ah]``.
    """
    k = F.shape[0]
    n = NAXES * k
    Ff, Qf, Pf = np.zeros((n, n)), np.zeros((n, n)), np.zeros((n, n))
    H = np.zeros((NAXES, n))
    for a in range(NAXES):
        s = slice(a * k, (a + 1) * k)
        Ff[s, s] = F
        Qf[s, s] = Q[a]
        Pf[s, s] = P0[a]
        H[a, a * k] = 1.0
    return Ff, H, Qf, np.diag(np.asarray(R, dtype=np.float64)), Pf


@numba.njit(cache=True)
def kf_update(x, P, slots, z, R):
    """Update track ``slots[i]`` with measurement row ``z[i]`` (shape (m, 4)) for every ``i``."""
    for i in range(slots.shape[0]):
        kf_update_one(x, P, slots[i], z[i], R)
