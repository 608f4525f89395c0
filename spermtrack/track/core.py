"""The tracking kernel: any number of frames in one Numba call, streaming and offline alike.

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
``cnt``
    int64 ``(NCNT,)``: ``C_N`` live tracks, ``C_UID`` / ``C_PUB`` the next
    internal / public id, ``C_LAST`` the last frame done (-1 before the first),
    ``C_ROW`` the first row of the given columns not yet done (0 after a call
    that finished), ``C_BAD`` the row an error code refers to, ``C_END`` one
    past the last row of the given columns to track (-1: all of them) and
    ``C_SHIFT`` where row ``i``'s outputs go (index ``i + cnt[C_SHIFT]``): the
    streaming tracker hands the kernel a frame's rows inside a larger table
    (:meth:`Boxes.iter_frames <spermtrack.boxes.Boxes.iter_frames>`) and its
    growing history buffers as outputs, so that nothing is sliced or copied in
    Python per frame.

One frame (inside :func:`run`): predict every track; match confirmed tracks to
high-score detections; the confirmed tracks left to low-score detections
(ByteTrack's second stage); optionally, the confirmed tracks still left to the
high-score detections left by centre distance (a rescue); tentative tracks to
the high-score detections left. Each stage is an optimal gated assignment over
the pairs inside the gate (:func:`.costs.pairs_into`,
:func:`spermtrack.algorithms.assignment.assign_sparse`). Then the turn fallback
(:func:`fallback`, ``TrackerConfig.fallback_turn_deg``): confirmed tracks that lost
their cell this frame take an isolated free detection within a turn's reach of
their prediction.
Matched tracks are updated; unmatched ones age and are removed after their
lost time; unmatched high-score detections start tentative tracks.

The steps of a frame are named functions (:func:`check_rows`, :func:`step_model`,
:func:`load_frame`, :func:`stage_tracks`, :func:`stage_detections`,
:func:`apply_matches`, :func:`fallback`, :func:`end_lost`, :func:`births`), inlined into :func:`run`
(``inline="always"``: no call overhead per frame, so the streaming tracker's
one-frame calls cost what they did before the split).

Compilation. :func:`run` is the only kernel a run of the tracker needs (plus the
small leaves it calls): one function, called with one signature (see
:func:`run_kernel`), so that a fresh install compiles it once, in a few seconds.
:func:`check_rows` is also called from Python (:func:`check_frame`), for one
signature too (:data:`CHECK_SIGNATURE`).
Its callees are never given literal constants (``np.int64(...)`` or values read
from arrays instead): Numba would compile a separate copy of a callee for each
literal it sees.
"""

from __future__ import annotations

import threading

import numba
import numpy as np
from numba import types as nt

from ..algorithms.assignment import assign_sparse
from ..boxes import COLUMNS, Boxes, TrackGroups, majority_class, row_error
from ..errors import BoxesError
from .config import (
    P_CONFIRM,
    P_COST,
    P_FB_HEADS,
    P_FB_MARGIN,
    P_FB_TURN,
    P_GATE,
    P_HIGH,
    P_IOU_W,
    P_LOGDET,
    P_LOW,
    P_MAX_LOST,
    P_MODEL,
    P_NEW,
    P_RESCUE,
    P_SIZE_W,
    P_TENT_LOST,
)
from .costs import COST_DISTANCE, argsort_into, lower_bound, pairs_into
from .kalman import kf_init, kf_predict, kf_update_row

UID, STATE, HITS, MISSES, PUB, VOTES = 0, 1, 2, 3, 4, 5
#: Classes that take part in the majority vote: ``0 .. NCLASSES-1``.
NCLASSES = 16
NCOLS = VOTES + NCLASSES
TENTATIVE, CONFIRMED = 0, 1

#: Slots of the counters array ``cnt``.
C_N, C_UID, C_PUB, C_LAST, C_ROW, C_BAD, C_END, C_SHIFT = 0, 1, 2, 3, 4, 5, 6, 7
NCNT = 8

#: Status codes of :func:`run`.
OK, NEED_CAPACITY, BAD_VALUE, BAD_SIZE, BAD_ORDER, BAD_FRAME, BAD_CLASS, BAD_BEYOND = 0, 1, 2, 3, 4, 5, 6, 7
TOO_MANY_BOXES = 8

#: Most boxes one frame may hold (a documented limit: beyond it :func:`run` refuses the
#: frame at once, before any work, with ``TOO_MANY_BOXES``). Memory and time per frame
#: stay bounded below it: each track keeps at most :data:`MAX_PAIRS_PER_TRACK` candidate
#: detections, and a group of candidates too large for the exact assignment is matched
#: greedily (:func:`.assignment.assign_sparse`).
MAX_BOXES_PER_FRAME = 20_000


def new_state(cap: int, order: int):
    """Empty track state ``(x, P, ti)`` with room for ``cap`` tracks, and fresh counters ``cnt``."""
    cnt = np.zeros(NCNT, np.int64)
    cnt[C_PUB] = 1
    cnt[C_LAST] = -1
    cnt[C_END] = -1
    return np.zeros((cap, 4, order)), np.zeros((cap, 4, order, order)), np.zeros((cap, NCOLS), np.int64), cnt


def grow_state(x, P, ti, n: int, cap: int):
    """Copies of the state with room for ``cap`` tracks (the first ``n`` kept)."""
    x2, P2, ti2, _ = new_state(cap, x.shape[2])
    x2[:n] = x[:n]
    P2[:n] = P[:n]
    ti2[:n] = ti[:n]
    return x2, P2, ti2


@numba.njit(cache=True, inline="always")
def check_rows(frame, x1, y1, x2, y2, score, cls, r0, N, f, f_end, cnt):
    """Check rows ``r0:N`` before any work; returns ``(status, most boxes in one frame)``.

    The one row validation of the tracker (the kernel, and the streaming tracker's
    warm-up frames through :func:`check_frame`): finite corners and score, ``x2 >= x1``,
    ``y2 >= y1``, frames sorted, not before ``f`` and not negative, classes
    ``0 .. NCLASSES-1``, at most :data:`MAX_BOXES_PER_FRAME` boxes per frame, and no
    frame at or beyond ``f_end`` (``BAD_BEYOND``, reported only when no row has another
    fault: those name the real cause). The faulty row goes to ``cnt[C_BAD]``.
    """
    mmax = np.int64(0)
    run_len = np.int64(0)
    beyond = np.int64(-1)
    for r in range(r0, N):
        if not (np.isfinite(x1[r]) and np.isfinite(y1[r]) and np.isfinite(x2[r]) and np.isfinite(y2[r])):
            cnt[C_BAD] = r
            return BAD_VALUE, mmax
        if not np.isfinite(score[r]):
            cnt[C_BAD] = r
            return BAD_VALUE, mmax
        if x2[r] < x1[r] or y2[r] < y1[r]:
            cnt[C_BAD] = r
            return BAD_SIZE, mmax
        fr = frame[r]
        if r > r0 and fr < frame[r - 1]:
            cnt[C_BAD] = r
            return BAD_ORDER, mmax
        if fr < 0:
            cnt[C_BAD] = r
            return BAD_FRAME, mmax
        if fr < f:
            cnt[C_BAD] = r
            return BAD_ORDER, mmax
        if cls[r] < 0 or cls[r] >= NCLASSES:
            cnt[C_BAD] = r
            return BAD_CLASS, mmax
        if fr >= f_end and beyond < 0:
            beyond = r
        if r > r0 and fr == frame[r - 1]:
            run_len += 1
        else:
            run_len = np.int64(1)
        mmax = max(mmax, run_len)
        if run_len > MAX_BOXES_PER_FRAME:
            cnt[C_BAD] = r
            return TOO_MANY_BOXES, mmax
    if beyond >= 0:
        cnt[C_BAD] = beyond
        return BAD_BEYOND, mmax
    return OK, mmax


@numba.njit(cache=True, inline="always")
def step_model(F, Q, dt, Fd, Qd):
    """The transition ``Fd`` and process noise ``Qd`` over ``dt`` nominal frames (an uneven time step).

    ``Fd[i, j] = dt^(j-i) / (j-i)!`` (orders up to 2), ``Qd = Q(1) * dt^(4-i-j)``.
    """
    k = F.shape[0]
    for i in range(k):
        for j in range(k):
            Fd[i, j] = 0.0 if j < i else (1.0 if j == i else (dt if j == i + 1 else 0.5 * dt * dt))
            for a in range(4):
                Qd[a, i, j] = Q[a, i, j] * dt ** (4 - i - j)


@numba.njit(cache=True, inline="always")
def load_frame(frame, x1, y1, x2, y2, score, cls, s, m, z, xs, used, out_ids, out_cls, sh, hframe, hbox, hcls):
    """Rows ``s .. s+m-1`` as measurements ``z`` (cx, cy, w, h in float64 pixels), ``xs`` their cx; outputs reset.

    With history buffers (``hframe`` not empty) the rows are also copied into them, at ``i + sh``.
    """
    if hframe.shape[0] > 0:
        for q in range(m):
            i = s + q
            o = i + sh
            hframe[o] = frame[i]
            hbox[0, o] = x1[i]
            hbox[1, o] = y1[i]
            hbox[2, o] = x2[i]
            hbox[3, o] = y2[i]
            hbox[4, o] = score[i]
            hcls[o] = cls[i]
    for q in range(m):
        i = s + q
        o = i + sh
        z[q, 0] = 0.5 * (np.float64(x1[i]) + np.float64(x2[i]))
        z[q, 1] = 0.5 * (np.float64(y1[i]) + np.float64(y2[i]))
        z[q, 2] = np.float64(x2[i]) - np.float64(x1[i])
        z[q, 3] = np.float64(y2[i]) - np.float64(y1[i])
        xs[q] = z[q, 0]
        used[q] = False
        out_ids[0, o] = -1
        out_ids[1, o] = -1
        out_cls[o] = cls[i]


@numba.njit(cache=True, inline="always")
def stage_tracks(ti, n, want, missed_only, slots):
    """Slots of the live tracks in state ``want`` (only those unmatched this frame when ``missed_only``); returns how many."""
    ns = np.int64(0)
    for t in range(n):
        if ti[t, STATE] == want and (not missed_only or ti[t, MISSES] > 0):
            slots[ns] = t
            ns += 1
    return ns


@numba.njit(cache=True, inline="always")
def stage_detections(score, s, m, used, lo_s, hi_s, xo, xs, col_of, free, el, ex):
    """The detections still free with ``lo_s <= score < hi_s``: columns ``col_of`` / ``free``, and in x order ``el, ex``.

    Returns how many.
    """
    nd = np.int64(0)
    for q in range(m):
        sc = score[s + q]
        if not used[q] and lo_s <= sc and sc < hi_s:
            col_of[q] = nd
            free[nd] = q
            nd += 1
        else:
            col_of[q] = -1
    j = 0
    for p in range(m):
        q = xo[p]
        if col_of[q] >= 0:
            el[j] = q
            ex[j] = xs[q]
            j += 1
    return nd


@numba.njit(cache=True, inline="always")
def majority_vote(ti, t):
    """The class with the most matched detections of track slot ``t`` so far (ties: the lower class)."""
    best, arg = ti[t, VOTES], 0
    for cl in range(1, NCLASSES):
        if ti[t, VOTES + cl] > best:
            best, arg = ti[t, VOTES + cl], cl
    return arg


@numba.njit(cache=True, inline="always")
def apply_matches(x, P, ti, R, z, cls, s, match, ns, slots, free, used, confirm, next_pub, out_ids, out_cls, sh):
    """Update the matched tracks (Kalman update, hits, votes, confirmation) and write their rows' outputs.

    Returns the next public id.
    """
    for a in range(ns):
        c = match[a]
        if c < 0:
            continue
        t = slots[a]
        q = free[c]
        i = s + q
        used[q] = True
        kf_update_row(x, P, t, z, q, R)
        ti[t, MISSES] = 0
        ti[t, HITS] += 1
        ti[t, VOTES + cls[i]] += 1
        if ti[t, STATE] == TENTATIVE and ti[t, HITS] >= confirm:
            ti[t, STATE] = CONFIRMED
            ti[t, PUB] = next_pub
            next_pub += 1
        out_ids[0, i + sh] = ti[t, UID]
        out_ids[1, i + sh] = ti[t, PUB]
        out_cls[i + sh] = majority_vote(ti, t)
    return next_pub


@numba.njit(cache=True, inline="always")
def fallback(
    x, P, ti, n, R, z, cls, score, s, m, used, xo, xs, lo_s, fb, dt,
    fbx, fbm, fbo, slots, col_of, free, el, ex, confirm, next_pub, out_ids, out_cls, sh,
):  # fmt: skip
    """The turn fallback: confirmed tracks that lost their cell this frame take an isolated leftover detection.

    After the gated stages, each confirmed track matched in the previous frame but not in
    this one (a turn between frames, at a low frame rate, leaves the constant-velocity
    gate) gets a disc around its prediction of radius ``fb_turn * |step| + fb_heads *
    box size`` (pixels): ``|step|`` is the predicted displacement over this frame's time
    step ``dt`` (nominal frames), ``fb_turn = 2 sin(theta / 2)`` how far a turn by the
    largest angle ``theta`` moves the cell off the prediction, in steps; the box size is
    the mean of the predicted width and height. It takes the one high-score detection
    still free inside the disc, only when no other such detection lies within
    ``fb_margin`` radii of the track's centre, no other candidate track's disc, grown
    by ``fb_margin``, holds the detection, and no other live track (matched, coasting or
    tentative) has it inside its own gate (chi-square of the centre below ``gate``):
    unambiguous cases only, so that in crowds it does almost nothing. The first two
    searches run over x-sorted lists (detections and candidate tracks) inside the x-window
    of the grown disc; the last one over the live tracks, for the few links accepted.
    Returns the next public id.

    ``fb`` is ``(fb_heads, fb_margin, fb_turn, gate)``; ``lo_s`` the lowest score taken (that of a
    new track). ``fbx`` float64 (3, cap): the candidates' centre x, y and radius; ``fbm``,
    ``fbo`` int64 (cap,): their matches and x order (work arrays). (At most 29 arguments:
    CPython passes more as ``*args``, which Numba cannot inline.)
    """
    fb_heads, fb_margin, fb_turn, gate = fb
    k = x.shape[2]
    nc = np.int64(0)
    rmax = 0.0
    for t in range(n):
        if ti[t, STATE] != CONFIRMED or ti[t, MISSES] != 1:
            continue
        sx, sy = x[t, 0, 1] * dt, x[t, 1, 1] * dt  # the predicted step (pixels)
        if k == 3:
            sx -= 0.5 * x[t, 0, 2] * dt * dt
            sy -= 0.5 * x[t, 1, 2] * dt * dt
        slots[nc] = t
        fbx[0, nc] = x[t, 0, 0]
        fbx[1, nc] = x[t, 1, 0]
        r = fb_turn * np.sqrt(sx * sx + sy * sy) + fb_heads * 0.5 * (max(x[t, 2, 0], 1.0) + max(x[t, 3, 0], 1.0))
        fbx[2, nc] = r
        rmax = max(rmax, r)
        nc += 1
    if nc == 0:
        return next_pub
    nd = stage_detections(score, s, m, used, lo_s, np.inf, xo, xs, col_of, free, el, ex)
    if nd == 0:
        return next_pub
    argsort_into(fbx[0], nc, fbo)
    mg2 = fb_margin * fb_margin
    for a in range(nc):
        fbm[a] = -1
        cx, cy, r = fbx[0, a], fbx[1, a], fbx[2, a]
        wide = fb_margin * r
        near, best, bd = 0, np.int64(-1), np.inf
        j = lower_bound(ex[:nd], cx - wide)
        while j < nd and ex[j] <= cx + wide and near < 2:
            q = el[j]
            d2 = (z[q, 0] - cx) ** 2 + (z[q, 1] - cy) ** 2
            if d2 < mg2 * r * r:
                near += 1
                if d2 < r * r and d2 < bd:
                    best, bd = q, d2
            j += 1
        if near != 1 or best < 0:
            continue
        q = best
        qx, qy = z[q, 0], z[q, 1]
        # other candidates whose grown disc holds q: their x is within fb_margin * rmax of q's
        lo = np.int64(0)
        hi = nc
        while lo < hi:  # first candidate (in x order) with x >= qx - fb_margin * rmax
            mid = (lo + hi) >> 1
            if fbx[0, fbo[mid]] < qx - fb_margin * rmax:
                lo = mid + 1
            else:
                hi = mid
        alone = True
        while lo < nc and fbx[0, fbo[lo]] <= qx + fb_margin * rmax:
            b = fbo[lo]
            if b != a and (qx - fbx[0, b]) ** 2 + (qy - fbx[1, b]) ** 2 < mg2 * fbx[2, b] ** 2:
                alone = False
                break
            lo += 1
        if alone:
            # and no other live track (any state, matched or not) has the box inside its own gate
            ta = slots[a]
            for t in range(n):
                if t != ta:
                    c2 = (qx - x[t, 0, 0]) ** 2 / (P[t, 0, 0, 0] + R[0]) + (qy - x[t, 1, 0]) ** 2 / (P[t, 1, 0, 0] + R[1])
                    if c2 < gate:
                        alone = False
                        break
        if alone:
            fbm[a] = col_of[q]
    return apply_matches(x, P, ti, R, z, cls, s, fbm, nc, slots, free, used, confirm, next_pub, out_ids, out_cls, sh)


@numba.njit(cache=True, inline="always")
def end_lost(x, P, ti, n, tent_lost, max_lost):
    """End the tracks unmatched for too long (compact: the last live slot fills the hole); returns the live count."""
    k = x.shape[2]
    t = 0
    while t < n:
        limit = tent_lost if ti[t, STATE] == TENTATIVE else max_lost
        if ti[t, MISSES] > limit:
            n -= 1
            if t != n:
                for a in range(4):
                    for u in range(k):
                        x[t, a, u] = x[n, a, u]
                        for v in range(k):
                            P[t, a, u, v] = P[n, a, u, v]
                for col in range(NCOLS):
                    ti[t, col] = ti[n, col]
            continue
        t += 1
    return n


@numba.njit(cache=True, inline="always")
def births(x, P, ti, n, z, score, cls, s, m, used, high, new_score, P0, confirm, next_uid, next_pub, out_ids, sh):
    """Start tentative tracks at the unmatched high-score detections; returns ``(n, next_uid, next_pub)``."""
    for q in range(m):
        i = s + q
        if used[q] or score[i] < high or score[i] < new_score:
            continue
        kf_init(x, P, n, z[q], P0)
        for col in range(NCOLS):
            ti[n, col] = 0
        ti[n, UID] = next_uid
        ti[n, STATE] = TENTATIVE
        ti[n, HITS] = 1
        ti[n, PUB] = -1
        ti[n, VOTES + cls[i]] = 1
        if confirm <= 1:
            ti[n, STATE] = CONFIRMED
            ti[n, PUB] = next_pub
            next_pub += 1
        out_ids[0, i + sh] = next_uid
        out_ids[1, i + sh] = ti[n, PUB]
        next_uid += 1
        n += 1
    return n, next_uid, next_pub


@numba.njit(cache=True)
def run(x, P, ti, cnt, prm, frame, x1, y1, x2, y2, score, cls, f_end, out_ids, out_cls, tsteps, hframe, hbox, hcls):
    """Track the frames ``cnt[C_LAST] + 1 .. f_end - 1``, whose detections are rows ``cnt[C_ROW]:cnt[C_END]``.

    Parameters
    ----------
    x, P, ti, cnt : track state and counters (module docstring), changed in place.
    prm : float64, the packed settings (:attr:`FrameParams.prm <spermtrack.track.config.FrameParams>`).
    frame, x1, y1, x2, y2, score, cls : the ``Boxes`` columns (int32 frame, float32 corners in
        pixels and score, int16 class), frame-sorted; rows from ``cnt[C_ROW]`` on must all
        belong to the frames tracked.
    f_end : int, one past the last frame to track.
    out_ids : int64 (2, M), filled for the rows tracked (row ``i`` at column ``i + cnt[C_SHIFT]``):
        each detection's internal track id (-1 none) and public id at that frame (-1 while
        tentative or none).
    out_cls : int16 (M,), filled (same index): the majority class of each detection's track so far.
    tsteps : float64, empty for frames evenly spaced in time; else ``tsteps[f]`` is the time
        from frame ``f - 1`` to frame ``f`` in units of the nominal frame interval (1 / fps):
        the prediction into frame ``f`` runs over that time (a true time base, see
        :mod:`spermtrack.timebase`). Must cover every frame tracked.
    hframe, hbox, hcls : int32 (M,), float32 (5, M), int16 (M,): empty, or history buffers
        into which the rows tracked are copied (same index as the outputs): frame,
        ``x1, y1, x2, y2, score``, class (the streaming tracker's history).

    Frames with no box while no track is alive are skipped without work (sparse frame
    numbers cost nothing).

    Returns
    -------
    int
        ``OK``; ``NEED_CAPACITY`` when a frame does not fit into the state's capacity
        (the frames before it are done, ``cnt`` says where to resume: grow the state and
        call again); or an error code (``BAD_*`` or ``TOO_MANY_BOXES``, the row in ``cnt[C_BAD]``). Every row
        is checked before anything changes, so an error leaves the state as it was.
    """
    N = frame.shape[0] if cnt[C_END] < 0 else cnt[C_END]
    r0 = cnt[C_ROW]
    sh = cnt[C_SHIFT]
    f = cnt[C_LAST] + 1
    # Check every row first (nothing changes before they all pass); the largest frame.
    status, mmax = check_rows(frame, x1, y1, x2, y2, score, cls, r0, N, f, f_end, cnt)
    if status != OK:
        return status

    k = x.shape[2]
    kind = np.int64(prm[P_COST])
    confirm = np.int64(prm[P_CONFIRM])
    tent_lost = np.int64(prm[P_TENT_LOST])
    max_lost = np.int64(prm[P_MAX_LOST])
    gate, iou_w, logdet_w, size_w = prm[P_GATE], prm[P_IOU_W], prm[P_LOGDET], prm[P_SIZE_W]
    high, low, new_score, rescue = prm[P_HIGH], prm[P_LOW], prm[P_NEW], prm[P_RESCUE]
    fb_heads, fb_margin, fb_turn = prm[P_FB_HEADS], prm[P_FB_MARGIN], prm[P_FB_TURN]
    o = P_MODEL
    F = prm[o : o + k * k].reshape((k, k))
    o += k * k
    Q = prm[o : o + 4 * k * k].reshape((4, k, k))
    o += 4 * k * k
    R = prm[o : o + 4]
    o += 4
    P0 = prm[o : o + 4 * k * k].reshape((4, k, k))
    dist_kind = np.int64(COST_DISTANCE)
    # per-frame model for an uneven time step (step_model)
    uneven = tsteps.shape[0] > 0
    Fd = np.empty((k, k))
    Qd = np.empty((4, k, k))

    cap = x.shape[0]
    # work arrays, for the largest frame (a few allocations per call, none per frame)
    mw = max(mmax, np.int64(1))
    z = np.empty((mw, 4))
    used = np.zeros(mw, np.bool_)
    # (the fallback stage's work arrays share these two allocations: a kernel call per frame, streaming)
    fw = np.empty(2 * mw + 3 * cap)
    xs, ex = fw[:mw], fw[mw : 2 * mw]
    fbx = fw[2 * mw :].reshape((3, cap))  # fallback: each candidate track's centre x, y and radius (pixels)
    iw = np.empty(5 * mw + 1 + 3 * cap, np.int64)
    xo, col_of, free, el = iw[:mw], iw[mw : 2 * mw], iw[2 * mw : 3 * mw], iw[3 * mw : 4 * mw]
    i0 = 5 * mw + 1
    bucket, slots, fbm, fbo = iw[4 * mw : i0], iw[i0 : i0 + cap], iw[i0 + cap : i0 + 2 * cap], iw[i0 + 2 * cap :]
    npairs = 4 * (cap + mw) + 8
    prow = np.empty(npairs, np.int64)
    pcol = np.empty(npairs, np.int64)
    pcost = np.empty(npairs)

    n = cnt[C_N]
    next_uid = cnt[C_UID]
    next_pub = cnt[C_PUB]
    r = r0
    while f < f_end:
        if n == 0:
            # nothing alive: jump over the frames without boxes (sparse frame numbers)
            nxt = np.int64(frame[r]) if r < N else f_end
            if nxt > f:
                f = min(nxt, f_end)
                continue
        s = r
        while r < N and frame[r] == f:
            r += 1
        m = r - s
        if n + m > cap:
            cnt[C_N], cnt[C_UID], cnt[C_PUB], cnt[C_LAST], cnt[C_ROW] = n, next_uid, next_pub, f - 1, s
            return NEED_CAPACITY
        dt = tsteps[f] if uneven else 1.0
        if uneven and tsteps[f] != 1.0:
            step_model(F, Q, tsteps[f], Fd, Qd)
            kf_predict(x, P, n, Fd, Qd)
        else:
            kf_predict(x, P, n, F, Q)
        for t in range(n):
            ti[t, MISSES] += 1
        load_frame(frame, x1, y1, x2, y2, score, cls, s, m, z, xs, used, out_ids, out_cls, sh, hframe, hbox, hcls)
        argsort_into(xs, m, xo)  # detections by x, once per frame, for the gating windows

        for stage in range(4):
            # Stage 0: confirmed (incl. coasting) tracks <- high-score detections.
            # Stage 1: confirmed tracks still unmatched <- low-score detections (ByteTrack's second stage).
            # Stage 2 (optional): confirmed tracks still unmatched <- high-score detections left, by centre
            #   distance in box sizes (a rescue for erratic heads whose jump left the statistical gate).
            # Stage 3: tentative tracks <- high-score detections left.
            want, missed_only, lo_s, hi_s, skind, sgate = np.int64(CONFIRMED), False, high, np.inf, kind, gate
            if stage == 1:
                missed_only, lo_s, hi_s = True, low, high
            elif stage == 2:
                if rescue <= 0.0:
                    continue
                missed_only, skind, sgate = True, dist_kind, rescue * rescue
            elif stage == 3:
                want = np.int64(TENTATIVE)
            ns = stage_tracks(ti, n, want, missed_only, slots)
            if ns == 0:
                continue
            nd = stage_detections(score, s, m, used, lo_s, hi_s, xo, xs, col_of, free, el, ex)
            if nd == 0:
                continue
            while True:
                npr = pairs_into(
                    x, P, R, slots, ns, z, el, ex, col_of, nd, skind, sgate, iou_w, logdet_w, size_w, bucket, prow, pcol, pcost
                )
                if npr >= 0:
                    break
                npairs *= 2
                prow = np.empty(npairs, np.int64)
                pcol = np.empty(npairs, np.int64)
                pcost = np.empty(npairs)
            match = assign_sparse(ns, nd, prow[:npr], pcol[:npr], pcost[:npr], sgate)
            next_pub = apply_matches(
                x, P, ti, R, z, cls, s, match, ns, slots, free, used, confirm, next_pub, out_ids, out_cls, sh
            )

        if fb_turn > 0.0:
            next_pub = fallback(
                x, P, ti, n, R, z, cls, score, s, m, used, xo, xs, max(high, new_score), (fb_heads, fb_margin, fb_turn, gate), dt,
                fbx, fbm, fbo, slots, col_of, free, el, ex, confirm, next_pub, out_ids, out_cls, sh,
            )  # fmt: skip
        n = end_lost(x, P, ti, n, tent_lost, max_lost)
        n, next_uid, next_pub = births(
            x, P, ti, n, z, score, cls, s, m, used, high, new_score, P0, confirm, next_uid, next_pub, out_ids, sh
        )
        f += 1
    cnt[C_N], cnt[C_UID], cnt[C_PUB], cnt[C_LAST], cnt[C_ROW] = n, next_uid, next_pub, f_end - 1, 0
    return OK


#: The ``tsteps`` argument of :func:`run` for evenly spaced frames.
NO_TSTEPS = np.zeros(0, np.float64)
#: The history arguments of :func:`run` when no history is kept (``hframe, hbox, hcls``).
NO_HISTORY = (np.zeros(0, np.int32), np.zeros((5, 0), np.float32), np.zeros(0, np.int16))


def _array(dtype, ndim: int, readonly: bool = False):
    return nt.Array(dtype, ndim, "C", readonly=readonly)


#: The one signature :func:`run` is compiled for. Input columns are typed read-only, so
#: that writable and read-only columns (a pandas view, say) both convert to it.
RUN_SIGNATURE = (
    _array(nt.float64, 3),
    _array(nt.float64, 4),
    _array(nt.int64, 2),
    _array(nt.int64, 1),
    _array(nt.float64, 1),
    _array(nt.int32, 1, True),
    *[_array(nt.float32, 1, True)] * 5,
    _array(nt.int16, 1, True),
    nt.int64,
    _array(nt.int64, 2),
    _array(nt.int16, 1),
    _array(nt.float64, 1, True),
    _array(nt.int32, 1),
    _array(nt.float32, 2),
    _array(nt.int16, 1),
)


class SingleSignature:
    """A Numba function compiled (or loaded from Numba's cache) for one signature, then no more.

    Calling the object returns the dispatcher, compiled on the first call (thread-safe).
    Compiling for one explicit signature, then no more, means one compilation per install
    whatever arrays the callers pass (C-contiguous columns of the ``Boxes`` dtypes, which
    ``Boxes`` guarantees; writable or not).
    """

    def __init__(self, dispatcher, signature: tuple, doc: str = "") -> None:
        self.dispatcher = dispatcher
        self.signature = signature
        self.__doc__ = doc or self.__doc__
        self._lock = threading.Lock()
        self._ready = False

    def __call__(self):
        if not self._ready:
            with self._lock:
                if not self._ready:
                    self.dispatcher.compile(self.signature)
                    self.dispatcher.disable_compile()
                    self._ready = True
        return self.dispatcher


#: :func:`run`, compiled (or loaded from Numba's cache) for :data:`RUN_SIGNATURE` only.
run_kernel = SingleSignature(run, RUN_SIGNATURE, ":func:`run`, compiled for :data:`RUN_SIGNATURE` only.")


def run_entry():
    """The compiled :func:`run`'s own entry point: called without Numba's type dispatch.

    For a caller that has checked its arguments against :data:`RUN_SIGNATURE` once (the
    streaming tracker's hot path: its own state and the columns of one table, checked at
    its first frame); it saves the dispatcher's typing of 19 arguments per call. Falls back
    to the dispatcher where this Numba keeps no such entry point.
    """
    kernel = run_kernel()
    try:
        return kernel.overloads[kernel.signatures[0]].entry_point
    except (AttributeError, IndexError, KeyError):  # pragma: no cover - another Numba
        return kernel


class State:
    """The arrays of a tracker's live tracks (``x, P, ti, cnt``, see the module docstring); ``cmv`` views ``cnt``."""

    __slots__ = ("x", "P", "ti", "cnt", "cmv")

    def __init__(self, order: int, cap: int = 64) -> None:
        self.x, self.P, self.ti, self.cnt = new_state(cap, order)
        self.cmv = memoryview(self.cnt)  # item writes from Python, cheaper than the array's

    @property
    def num_live(self) -> int:
        return int(self.cnt[C_N])

    def grow(self) -> None:
        """Double the capacity (:func:`run` returned ``NEED_CAPACITY``)."""
        self.x, self.P, self.ti = grow_state(self.x, self.P, self.ti, int(self.cnt[C_N]), 2 * self.x.shape[0])

    def advance(self, prm, b, f_end: int, out_ids, out_cls, tsteps=None) -> int:
        """Track the rows of ``b`` (a ``Boxes``) up to frame ``f_end - 1``, growing as needed; returns the status.

        ``out_ids`` int64 (2, len(b)) and ``out_cls`` int16 (len(b),) receive the outputs
        of :func:`run` (internal and public ids, majority class); ``tsteps``: the time step
        into each frame in nominal frames (see :func:`run`); None: even.
        """
        run = run_kernel()
        ts = NO_TSTEPS if tsteps is None else tsteps
        cnt = self.cnt
        cnt[C_ROW], cnt[C_END], cnt[C_SHIFT] = 0, -1, 0
        while True:
            status = run(
                self.x, self.P, self.ti, cnt, prm, b.frame, b.x1, b.y1, b.x2, b.y2, b.score, b.cls, f_end,
                out_ids, out_cls, ts, *NO_HISTORY,
            )  # fmt: skip
            if status != NEED_CAPACITY:
                return status
            self.grow()


# ---------------------------------------------------------------------- shared by offline and streaming
def check_frame(b: Boxes, frame: int) -> None:
    """The kernel's row checks (:func:`check_rows`) on the boxes of one frame, before any tracking.

    For the streaming tracker's buffered warm-up frames: the same checks and messages
    as a tracked frame's (:func:`rows_error`).
    """
    cnt = np.zeros(NCNT, np.int64)
    status, _ = check_rows_kernel()(b.frame, b.x1, b.y1, b.x2, b.y2, b.score, b.cls, 0, len(b), frame, frame + 1, cnt)
    if status != OK:
        raise rows_error(b, status, int(cnt[C_BAD]), streaming=True)


#: The one signature :func:`check_rows` is compiled for when called from Python.
CHECK_SIGNATURE = (
    _array(nt.int32, 1, True),
    *[_array(nt.float32, 1, True)] * 5,
    _array(nt.int16, 1, True),
    nt.int64,
    nt.int64,
    nt.int64,
    nt.int64,
    _array(nt.int64, 1),
)
#: :func:`check_rows`, compiled for :data:`CHECK_SIGNATURE` only (as :data:`run_kernel`).
check_rows_kernel = SingleSignature(check_rows, CHECK_SIGNATURE, ":func:`check_rows`, compiled for :data:`CHECK_SIGNATURE` only.")


def rows_error(b: Boxes, status: int, row: int, streaming: bool = False) -> BoxesError:
    """The :class:`~spermtrack.errors.BoxesError` for a row :func:`run` refused (names row and frame).

    The wording of :meth:`Boxes.validate <spermtrack.boxes.Boxes.validate>` where the
    checks are the same (:func:`spermtrack.boxes.row_error`), plus the tracker's own.
    """
    i = row
    if status == BAD_VALUE:
        return row_error(b, "value", i)
    if status == BAD_SIZE:
        return row_error(b, "size", i)
    if status == BAD_ORDER and i > 0:
        return row_error(b, "order", i)
    if status in (BAD_ORDER, BAD_FRAME):
        return row_error(b, "negative", i)
    if status == BAD_CLASS:
        return BoxesError(f"row {i} (frame {b.frame[i]}) has class {b.cls[i]}; the tracker takes classes 0..{NCLASSES - 1}")
    if status == TOO_MANY_BOXES:
        return BoxesError(
            f"frame {b.frame[i]} has more than {MAX_BOXES_PER_FRAME:,} boxes (row {i}): beyond the tracker's limit "
            "of boxes per frame (spermtrack.track.core.MAX_BOXES_PER_FRAME); split the field or filter the detections"
        )
    if status == BAD_BEYOND and streaming:
        return BoxesError(f"update() takes the boxes of one frame; row {i} has frame {b.frame[i]}, row 0 frame {b.frame[0]}")
    if status == BAD_BEYOND:
        return row_error(b, "beyond", i)
    return BoxesError(f"row {i}: the tracker cannot take this row (code {status})")  # pragma: no cover


def assemble(dets: Boxes, uid: np.ndarray, pub: np.ndarray) -> Boxes:
    """Detections that belong to confirmed tracks, with their track ids and majority classes.

    ``uid`` is each row's internal track id (-1 none), ``pub`` its public id at that
    frame (-1 while the track was tentative): every row of a track that was ever
    confirmed gets that track's public id (back-fill).
    """
    tid = _backfill(np.ascontiguousarray(uid, np.int64), np.ascontiguousarray(pub, np.int64))
    keep = tid >= 0
    return with_majority_class(take_rows(dets, keep, track_id=tid[keep]))


@numba.njit(cache=True)
def _backfill(uid, pub):
    n = uid.shape[0]
    m = 0
    for i in range(n):
        m = max(m, uid[i] + 1)
    pub_of = np.full(m, -1, np.int64)
    for i in range(n):
        if uid[i] >= 0 and pub[i] > pub_of[uid[i]]:
            pub_of[uid[i]] = pub[i]
    out = np.full(n, -1, np.int64)
    for i in range(n):
        if uid[i] >= 0:
            out[i] = pub_of[uid[i]]
    return out


def take_rows(b: Boxes, rows=None, **columns) -> Boxes:
    """Rows of ``b`` (mask, indices or all) with some columns replaced, without re-validating."""
    cols = {name: (getattr(b, name) if rows is None else getattr(b, name)[rows]) for name in COLUMNS}
    cols.update(columns)
    return Boxes(**cols, num_frames=b.num_frames, validate=False)


def with_majority_class(tracks: Boxes, groups: TrackGroups | None = None) -> Boxes:
    """``tracks`` with each row's ``cls`` the majority class of its track (:func:`~spermtrack.boxes.majority_class`)."""
    if len(tracks) == 0:
        return tracks
    g = tracks.groups() if groups is None else groups
    return take_rows(tracks, cls=majority_class(g, tracks.cls)[g.dense])
