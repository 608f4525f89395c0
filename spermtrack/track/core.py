"""The per-frame tracking step and the whole-video loop (Numba).

State of the live tracks, compact in slots ``0 .. n-1`` (a removed track's slot
is filled with the last live one):

``x, P``
    Kalman state ``(cap, 4, k)`` and covariance ``(cap, 4, k, k)`` (see :mod:`.kalman`).
``ti``
    int64 ``(cap, NCOLS)``: the columns ``UID`` (internal id, unique for the
    tracker's life, tentative tracks included), ``STATE`` (``TENTATIVE`` or
    ``CONFIRMED``), ``HITS`` (matched frames), ``MISSES`` (consecutive
    unmatched frames), ``PUB`` (public id, >= 1, given at confirmation; -1
    before) and ``VOTES + c`` (detections of class ``c`` matched, for the
    majority vote).

One frame (:func:`step`): predict every track; match confirmed tracks to
high-score detections; the confirmed tracks left to low-score detections
(ByteTrack's second stage); optionally, the confirmed tracks still left to the
high-score detections left by centre distance (a rescue); tentative tracks to
the high-score detections left; each stage is an optimal gated assignment over the pairs inside the gate
(:func:`.costs.gated_pairs`, :func:`.assignment.assign_sparse`).
Matched tracks are updated; unmatched ones age and are removed after their
lost time; unmatched high-score detections start tentative tracks.
"""

from __future__ import annotations

import numba
import numpy as np

from .assignment import assign_sparse
from .costs import COST_DISTANCE, gated_pairs
from .kalman import kf_init, kf_predict, kf_update_one

UID, STATE, HITS, MISSES, PUB, VOTES = 0, 1, 2, 3, 4, 5
#: Classes that take part in the majority vote: ``0 .. NCLASSES-1``.
NCLASSES = 16
NCOLS = VOTES + NCLASSES
TENTATIVE, CONFIRMED = 0, 1

# Mirrors FrameParams' indices (kept as literals for Numba).
_I_COST, _I_CONFIRM, _I_TENT_LOST, _I_MAX_LOST = 0, 1, 2, 3
_F_GATE, _F_IOU_W, _F_HIGH, _F_LOW, _F_NEW, _F_LOGDET, _F_RESCUE, _F_SIZE_W = 0, 1, 2, 3, 4, 5, 6, 7


@numba.njit(cache=True)
def new_state(cap, order):
    """Empty track state with room for ``cap`` tracks."""
    return np.zeros((cap, 4, order)), np.zeros((cap, 4, order, order)), np.zeros((cap, NCOLS), np.int64)


@numba.njit(cache=True)
def grow_state(x, P, ti, n, cap):
    """Copies of the state with room for ``cap`` tracks (the first ``n`` kept)."""
    x2, P2, ti2 = new_state(cap, x.shape[2])
    x2[:n] = x[:n]
    P2[:n] = P[:n]
    ti2[:n] = ti[:n]
    return x2, P2, ti2


@numba.njit(cache=True)
def _majority(ti, t):
    best, arg = -1, 0
    for c in range(NCLASSES):
        if ti[t, VOTES + c] > best:
            best, arg = ti[t, VOTES + c], c
    return arg


@numba.njit(cache=True)
def _match_stage(x, P, R, ti, slots, z, cls, dets, used, kind, gate, fp, confirm, next_pub, outs):
    """Assign track ``slots`` to the unused detections among ``dets`` (cost ``kind``, gate ``gate``).

    Matched tracks are updated (Kalman, hits, class votes, confirmation after
    ``confirm`` hits) and ``outs = (uid, pub, cls)`` filled for their detections.
    Returns the next public id.
    """
    out_uid, out_pub, out_cls = outs
    nd = 0
    for d in dets:
        if not used[d]:
            nd += 1
    if slots.shape[0] == 0 or nd == 0:
        return next_pub
    free = np.empty(nd, np.int64)
    nd = 0
    for d in dets:
        if not used[d]:
            free[nd] = d
            nd += 1
    rows, cols, cost = gated_pairs(x, P, R, slots, z, free, kind, gate, fp[_F_IOU_W], fp[_F_LOGDET], fp[_F_SIZE_W])
    match = assign_sparse(slots.shape[0], nd, rows, cols, cost, gate)
    for r in range(slots.shape[0]):
        c = match[r]
        if c < 0:
            continue
        t, d = slots[r], free[c]
        used[d] = True
        kf_update_one(x, P, t, z[d], R)
        ti[t, MISSES] = 0
        ti[t, HITS] += 1
        ti[t, VOTES + cls[d]] += 1
        if ti[t, STATE] == TENTATIVE and ti[t, HITS] >= confirm:
            ti[t, STATE] = CONFIRMED
            ti[t, PUB] = next_pub
            next_pub += 1
        out_uid[d] = ti[t, UID]
        out_pub[d] = ti[t, PUB]
        out_cls[d] = _majority(ti, t)
    return next_pub


@numba.njit(cache=True)
def _slots(ti, n, state, missed_only):
    """Slots of live tracks in ``state`` (only those unmatched so far this frame when ``missed_only``)."""
    cnt = 0
    for t in range(n):
        if ti[t, STATE] == state and (not missed_only or ti[t, MISSES] > 0):
            cnt += 1
    out = np.empty(cnt, np.int64)
    cnt = 0
    for t in range(n):
        if ti[t, STATE] == state and (not missed_only or ti[t, MISSES] > 0):
            out[cnt] = t
            cnt += 1
    return out


@numba.njit(cache=True)
def _by_score(score, lo, hi):
    """Detections with ``lo <= score < hi``, in order."""
    cnt = 0
    for d in range(score.shape[0]):
        if lo <= score[d] < hi:
            cnt += 1
    out = np.empty(cnt, np.int64)
    cnt = 0
    for d in range(score.shape[0]):
        if lo <= score[d] < hi:
            out[cnt] = d
            cnt += 1
    return out


@numba.njit(cache=True)
def step(x, P, ti, n, next_uid, next_pub, z, score, cls, frame, ip, fp, F, Q, R, P0, outs):
    """Track one frame.

    Parameters
    ----------
    x, P, ti : track state (capacity at least ``n + len(z)``), changed in place.
    n : number of live tracks.
    next_uid, next_pub : next internal id and next public id.
    z : float64 (m, 4) detections of the frame, ``cx, cy, w, h`` pixels.
    score : float (m,) detection scores; cls : int (m,) classes in ``0 .. NCLASSES-1``.
    frame : the frame index.
    ip, fp : integer and float settings (:class:`~spermtrack.track.config.FrameParams`).
    F, Q, R, P0 : per-frame Kalman matrices.
    outs : tuple of three int64 (m,) arrays, filled: each detection's internal track id
        (-1 none), public id (-1 while tentative or none) and the track's majority class.

    Returns
    -------
    (n, next_uid, next_pub) after the frame.
    """
    out_uid, out_pub, out_cls = outs
    m = z.shape[0]
    kf_predict(x, P, n, F, Q)
    for t in range(n):
        ti[t, MISSES] += 1
    for d in range(m):
        out_uid[d] = -1
        out_pub[d] = -1
        out_cls[d] = cls[d]
    high = _by_score(score, fp[_F_HIGH], np.inf)
    low = _by_score(score, fp[_F_LOW], fp[_F_HIGH])
    used = np.zeros(m, np.bool_)
    kind, gate, confirm = ip[_I_COST], fp[_F_GATE], ip[_I_CONFIRM]
    # Stage 1: confirmed (incl. coasting) tracks <- high-score detections.
    conf = _slots(ti, n, CONFIRMED, False)
    next_pub = _match_stage(x, P, R, ti, conf, z, cls, high, used, kind, gate, fp, confirm, next_pub, outs)
    # Stage 2: confirmed tracks still unmatched <- low-score detections (ByteTrack's second stage).
    if low.shape[0] > 0:
        conf = _slots(ti, n, CONFIRMED, True)
        next_pub = _match_stage(x, P, R, ti, conf, z, cls, low, used, kind, gate, fp, confirm, next_pub, outs)
    # Stage 3 (optional): confirmed tracks still unmatched <- high-score detections left, by centre
    # distance in box sizes (a rescue for erratic heads whose jump left the statistical gate).
    rescue = fp[_F_RESCUE]
    if rescue > 0.0:
        conf = _slots(ti, n, CONFIRMED, True)
        next_pub = _match_stage(x, P, R, ti, conf, z, cls, high, used, COST_DISTANCE, rescue**2, fp, confirm, next_pub, outs)
    # Stage 4: tentative tracks <- high-score detections left.
    tent = _slots(ti, n, TENTATIVE, False)
    next_pub = _match_stage(x, P, R, ti, tent, z, cls, high, used, kind, gate, fp, confirm, next_pub, outs)
    # Lifecycle: end tracks unmatched for too long (compact: last live slot fills the hole).
    t = 0
    while t < n:
        limit = ip[_I_TENT_LOST] if ti[t, STATE] == TENTATIVE else ip[_I_MAX_LOST]
        if ti[t, MISSES] > limit:
            n -= 1
            if t != n:
                x[t] = x[n]
                P[t] = P[n]
                ti[t] = ti[n]
            continue
        t += 1
    # Births: unmatched high-score detections start tentative tracks.
    for d in high:
        if used[d] or score[d] < fp[_F_NEW]:
            continue
        kf_init(x, P, n, z[d], P0)
        ti[n, :] = 0
        ti[n, UID] = next_uid
        ti[n, STATE] = TENTATIVE
        ti[n, HITS] = 1
        ti[n, PUB] = -1
        ti[n, VOTES + cls[d]] = 1
        if confirm <= 1:
            ti[n, STATE] = CONFIRMED
            ti[n, PUB] = next_pub
            next_pub += 1
        out_uid[d] = next_uid
        out_pub[d] = ti[n, PUB]
        next_uid += 1
        n += 1
    return n, next_uid, next_pub


@numba.njit(cache=True)
def to_cxcywh(x1, y1, x2, y2):
    """float64 (m, 4) of centre and size from corner columns."""
    m = x1.shape[0]
    z = np.empty((m, 4))
    for i in range(m):
        z[i, 0] = 0.5 * (np.float64(x1[i]) + np.float64(x2[i]))
        z[i, 1] = 0.5 * (np.float64(y1[i]) + np.float64(y2[i]))
        z[i, 2] = np.float64(x2[i]) - np.float64(x1[i])
        z[i, 3] = np.float64(y2[i]) - np.float64(y1[i])
    return z


@numba.njit(cache=True)
def run_video(offsets, x1, y1, x2, y2, score, cls, ip, fp, F, Q, R, P0):
    """Track a whole video in one call.

    Parameters
    ----------
    offsets : int64 (num_frames + 1,) ``Boxes.frame_offsets``.
    x1, y1, x2, y2, score, cls : the ``Boxes`` columns (frame-sorted).
    ip, fp, F, Q, R, P0 : settings (see :func:`step`).

    Returns
    -------
    uid, pub, vote : int64 (N,) internal id, public id at that frame (-1 while tentative)
        and running majority class of each detection's track.
    """
    N = x1.shape[0]
    z_all = to_cxcywh(x1, y1, x2, y2)
    out_uid = np.full(N, -1, np.int64)
    out_pub = np.full(N, -1, np.int64)
    out_cls = np.zeros(N, np.int64)
    cap = 64
    x, P, ti = new_state(cap, F.shape[0])
    n, next_uid, next_pub = 0, 0, 1
    for f in range(offsets.shape[0] - 1):
        a, b = offsets[f], offsets[f + 1]
        if n + (b - a) > cap:
            cap = max(2 * cap, n + (b - a))
            x, P, ti = grow_state(x, P, ti, n, cap)
        n, next_uid, next_pub = step(
            x, P, ti, n, next_uid, next_pub, z_all[a:b], score[a:b], cls[a:b], f, ip, fp, F, Q, R, P0,
            (out_uid[a:b], out_pub[a:b], out_cls[a:b]),
        )  # fmt: skip
    return out_uid, out_pub, out_cls
