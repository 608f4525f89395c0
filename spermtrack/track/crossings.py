"""Offline repair of identity swaps where two tracks pass close to each other (crossings).

The online pass commits to an assignment every frame. Where two heads pass within
about a head length of each other, the box a track takes may be the other cell's.
Offline, the whole video is known: :func:`repair_crossings` looks at each **close
encounter** of two tracks (the frames in which their boxes' centres are closer than
``crossing_heads`` head sizes, ``sqrt(w h)`` averaged over the two boxes, allowing
:data:`ENCOUNTER_GAP` frames apart inside one encounter) and decides again which
track leaving the encounter continues which track entering it, from the motion on
**both sides**:

- each track's last ``fit`` rows before the encounter (since its identity last
  changed) and first ``fit`` rows after it are fitted with a straight line
  (constant velocity, least squares);
- the cost of continuing ``a`` into ``b``'s piece after is the mean chi-square
  (per axis) of ``b``'s first rows against ``a``'s forward extrapolation and of
  ``a``'s last rows against ``b``'s backward extrapolation, over the prediction
  variance (measurement noise, the fit's own uncertainty, the process noise over
  the extrapolated time);
- the pieces after are exchanged when the crossed continuation costs less than the
  straight one by more than ``margin``; the rows inside the encounter then go to the
  two identities frame by frame, by distance to the bridge between the fits of the
  two sides.

Encounters are decided in time order (an identity carried on by an exchange is
carried into the track's next encounter). An encounter is left as it is when either
track has fewer than two rows on a side, and when it lasts longer than ``max_len``
frames (cells resting side by side, not crossing).

Off by default (``TrackerConfig.crossing_heads = 0``): on the simulated dense fast
scenes the online pass already continued the right track in almost every encounter
this can decide, so an exchange was more often wrong than right (docs/tracking.md,
"Crossings").

One Numba pass over the tracked rows; the close pairs are found per frame by a scan
over the rows sorted by x (no distance matrix).
"""

from __future__ import annotations

import numba
import numpy as np

from ..boxes import Boxes
from .config import FrameParams

#: Frames in which the two tracks are not close may interrupt an encounter (a missed box,
#: a frame in which the heads separate a little).
ENCOUNTER_GAP = 2
#: Encounters longer than this many fit windows (at least 6 frames) are cells resting side by
#: side, not a crossing: left as they are.
MAX_LEN_FITS = 2


@numba.njit(cache=True)
def fit_line(ff, xx, yy, n):
    """Least-squares line of ``xx, yy`` over ``ff`` (n points): mean frame, means, slopes, sum of squares of frames."""
    mf = 0.0
    mx = 0.0
    my = 0.0
    for i in range(n):
        mf += ff[i]
        mx += xx[i]
        my += yy[i]
    mf /= n
    mx /= n
    my /= n
    sff = 0.0
    sfx = 0.0
    sfy = 0.0
    for i in range(n):
        df = ff[i] - mf
        sff += df * df
        sfx += df * (xx[i] - mx)
        sfy += df * (yy[i] - my)
    if sff > 0:
        return mf, mx, my, sfx / sff, sfy / sff, sff
    return mf, mx, my, 0.0, 0.0, 1.0


@numba.njit(cache=True)
def _side(rows, lo, hi, want_last, fit, frame, cx, cy, ff, xx, yy):
    """Rows of one track piece with ``lo < frame < hi``: the last (or first) ``fit`` of them into ``ff, xx, yy``.

    ``rows`` are the track's rows in frame order. Returns how many.
    """
    n = 0
    m = rows.shape[0]
    if want_last:
        i = m - 1
        while i >= 0 and frame[rows[i]] >= hi:
            i -= 1
        while i >= 0 and n < fit and frame[rows[i]] > lo:
            r = rows[i]
            ff[n], xx[n], yy[n] = frame[r], cx[r], cy[r]
            n += 1
            i -= 1
    else:
        i = 0
        while i < m and frame[rows[i]] <= lo:
            i += 1
        while i < m and n < fit and frame[rows[i]] < hi:
            r = rows[i]
            ff[n], xx[n], yy[n] = frame[r], cx[r], cy[r]
            n += 1
            i += 1
    return n


@numba.njit(cache=True)
def _chi(line, anchor, ff, xx, yy, n, meas_var, acc_var):
    """Mean per-axis chi-square of points ``ff, xx, yy`` (n) against a fitted line extrapolated from frame ``anchor``."""
    mf, mx, my, vx, vy, sff, npts = line
    s = 0.0
    for i in range(n):
        dt = ff[i] - mf
        ext = abs(ff[i] - anchor)
        var = meas_var * (1.0 + 1.0 / npts + dt * dt / sff) + acc_var * ext * ext * ext / 3.0
        ex = xx[i] - (mx + vx * dt)
        ey = yy[i] - (my + vy * dt)
        s += 0.5 * (ex * ex + ey * ey) / var
    return s / max(n, 1)


@numba.njit(cache=True)
def _encounters(frame, cx, cy, size, tid, ntr, close):
    """Close encounters of two tracks: arrays ``(ta, tb, fa, fb)`` with ``ta < tb``, first and last close frame."""
    n = frame.shape[0]
    cap = 1024
    key = np.empty(cap, np.int64)
    kf = np.empty(cap, np.int64)
    nk = 0
    s = 0
    while s < n:
        e = s
        while e < n and frame[e] == frame[s]:
            e += 1
        # tracked rows of this frame, by x
        m = 0
        for r in range(s, e):
            if tid[r] >= 0:
                m += 1
        if m >= 2:
            rr = np.empty(m, np.int64)
            xs = np.empty(m)
            j = 0
            smax = 0.0
            for r in range(s, e):
                if tid[r] >= 0:
                    rr[j] = r
                    xs[j] = cx[r]
                    smax = max(smax, size[r])
                    j += 1
            o = np.argsort(xs)
            reach = close * smax
            for p in range(m):
                a = rr[o[p]]
                for q in range(p + 1, m):
                    b = rr[o[q]]
                    dx = cx[b] - cx[a]
                    if dx > reach:
                        break
                    dy = cy[b] - cy[a]
                    lim = close * 0.5 * (size[a] + size[b])
                    if dx * dx + dy * dy < lim * lim and tid[a] != tid[b]:
                        if nk == cap:
                            cap *= 2
                            k2 = np.empty(cap, np.int64)
                            f2 = np.empty(cap, np.int64)
                            for u in range(nk):
                                k2[u], f2[u] = key[u], kf[u]
                            key, kf = k2, f2
                        ta, tb = min(tid[a], tid[b]), max(tid[a], tid[b])
                        key[nk] = ta * ntr + tb
                        kf[nk] = frame[s]
                        nk += 1
        s = e
    # group by pair (stable: frames stay in order), split where the pair was apart too long
    order = np.argsort(key[:nk], kind="mergesort")
    ea = np.empty(nk, np.int64)
    eb = np.empty(nk, np.int64)
    efa = np.empty(nk, np.int64)
    efb = np.empty(nk, np.int64)
    ne = 0
    i = 0
    while i < nk:
        k0 = key[order[i]]
        f0 = kf[order[i]]
        f1 = f0
        j = i + 1
        while j < nk and key[order[j]] == k0 and kf[order[j]] - f1 <= ENCOUNTER_GAP + 1:
            f1 = kf[order[j]]
            j += 1
        ea[ne], eb[ne], efa[ne], efb[ne] = k0 // ntr, k0 % ntr, f0, f1
        ne += 1
        i = j
    return ea[:ne], eb[:ne], efa[:ne], efb[:ne]


@numba.njit(cache=True)
def _repair(frame, cx, cy, size, tid, close, fit, margin, meas_var, acc_var, max_len):
    """Each row's track id after re-deciding the close encounters; also the encounters decided and exchanged."""
    n = frame.shape[0]
    ntr = 0
    for r in range(n):
        ntr = max(ntr, tid[r] + 1)
    out = tid.copy()
    if ntr < 2:
        return out, 0, 0
    ea, eb, efa, efb = _encounters(frame, cx, cy, size, tid, ntr, close)
    ne = ea.shape[0]
    if ne == 0:
        return out, 0, 0
    # rows of each track, in frame order
    toff = np.zeros(ntr + 1, np.int64)
    for r in range(n):
        if tid[r] >= 0:
            toff[tid[r] + 1] += 1
    for t in range(ntr):
        toff[t + 1] += toff[t]
    trows = np.empty(toff[ntr], np.int64)
    fill = toff[:-1].copy()
    for r in range(n):
        t = tid[r]
        if t >= 0:
            trows[fill[t]] = r
            fill[t] += 1
    # encounters in time order (first close frame, then last)
    span = efb - efa
    order = np.argsort(efa * (np.int64(1) << 20) + np.minimum(span, (np.int64(1) << 20) - 1), kind="mergesort")
    ident = np.arange(ntr)  # the identity each track's rows carry from its last change on
    since = np.full(ntr, -(np.int64(1) << 40))  # the frame of that change
    ch_t = np.empty(2 * ne, np.int64)
    ch_f = np.empty(2 * ne, np.int64)
    ch_i = np.empty(2 * ne, np.int64)
    nch = 0
    override = np.full(n, -1, np.int64)
    ff = np.empty((4, fit))
    xx = np.empty((4, fit))
    yy = np.empty((4, fit))
    lines = np.empty((4, 7))
    cnts = np.zeros(4, np.int64)
    cost = np.empty((2, 2))
    ndone = 0
    nswap = 0
    for p in range(ne):
        e = order[p]
        if span[e] + 1 > max_len:
            continue  # cells resting side by side, not a crossing
        fa, fb = efa[e], efb[e]
        ok = True
        for side in range(2):
            t = ea[e] if side == 0 else eb[e]
            rows = trows[toff[t] : toff[t + 1]]
            # 0, 1: the last rows of a, b before the encounter (since their identity last changed);
            # 2, 3: their first rows after it
            k1 = _side(rows, since[t] - 1, fa, True, fit, frame, cx, cy, ff[side], xx[side], yy[side])
            k2 = _side(rows, fb, np.int64(1) << 40, False, fit, frame, cx, cy, ff[2 + side], xx[2 + side], yy[2 + side])
            if k1 < 2 or k2 < 2:
                ok = False
                break
            cnts[side], cnts[2 + side] = k1, k2
        if not ok:
            continue
        ndone += 1
        for u in range(4):
            mf, mx, my, vx, vy, sff = fit_line(ff[u], xx[u], yy[u], cnts[u])
            lines[u, 0], lines[u, 1], lines[u, 2], lines[u, 3], lines[u, 4], lines[u, 5] = mf, mx, my, vx, vy, sff
            lines[u, 6] = cnts[u]
        # cost[i, j]: the piece of track i before continued by the piece of track j after
        for i in range(2):
            li = (lines[i, 0], lines[i, 1], lines[i, 2], lines[i, 3], lines[i, 4], lines[i, 5], lines[i, 6])
            for j in range(2):
                u = 2 + j
                lj = (lines[u, 0], lines[u, 1], lines[u, 2], lines[u, 3], lines[u, 4], lines[u, 5], lines[u, 6])
                fwd = _chi(li, ff[i, 0], ff[u], xx[u], yy[u], cnts[u], meas_var, acc_var)
                bwd = _chi(lj, ff[u, 0], ff[i], xx[i], yy[i], cnts[i], meas_var, acc_var)
                cost[i, j] = 0.5 * (fwd + bwd)
        swap = cost[0, 1] + cost[1, 0] + margin < cost[0, 0] + cost[1, 1]
        if not swap:
            continue
        nswap += 1
        a, b = ea[e], eb[e]
        ia, ib = ident[a], ident[b]
        ident[a], ident[b] = ib, ia
        since[a] = fb + 1
        since[b] = fb + 1
        ch_t[nch], ch_f[nch], ch_i[nch] = a, fb + 1, ib
        ch_t[nch + 1], ch_f[nch + 1], ch_i[nch + 1] = b, fb + 1, ia
        nch += 2
        # the rows inside the encounter: to the identities by distance to the bridges (the
        # piece before's forward line blended into its continuation's backward line), frame by frame
        ra = trows[toff[a] : toff[a + 1]]
        rb = trows[toff[b] : toff[b + 1]]
        pa = 0
        while pa < ra.shape[0] and frame[ra[pa]] < fa:
            pa += 1
        pb = 0
        while pb < rb.shape[0] and frame[rb[pb]] < fa:
            pb += 1
        bx = np.empty(2)
        by = np.empty(2)
        while True:
            row_a = ra[pa] if pa < ra.shape[0] and frame[ra[pa]] <= fb else -1
            row_b = rb[pb] if pb < rb.shape[0] and frame[rb[pb]] <= fb else -1
            if row_a < 0 and row_b < 0:
                break
            f = frame[row_a] if row_a >= 0 else frame[row_b]
            if row_b >= 0 and frame[row_b] < f:
                f = frame[row_b]
            if row_a >= 0 and frame[row_a] != f:
                row_a = -1
            if row_b >= 0 and frame[row_b] != f:
                row_b = -1
            for i in range(2):
                u = 3 - i  # swapped: a's piece before continues into b's after, and b's into a's
                t0 = ff[i, 0]
                t1 = ff[u, 0]
                w = min(max((f - t0) / max(t1 - t0, 1.0), 0.0), 1.0)
                fx = lines[i, 1] + lines[i, 3] * (f - lines[i, 0])
                fy = lines[i, 2] + lines[i, 4] * (f - lines[i, 0])
                gx = lines[u, 1] + lines[u, 3] * (f - lines[u, 0])
                gy = lines[u, 2] + lines[u, 4] * (f - lines[u, 0])
                bx[i] = (1.0 - w) * fx + w * gx
                by[i] = (1.0 - w) * fy + w * gy
            if row_a >= 0 and row_b >= 0:
                d_keep = (cx[row_a] - bx[0]) ** 2 + (cy[row_a] - by[0]) ** 2 + (cx[row_b] - bx[1]) ** 2 + (cy[row_b] - by[1]) ** 2
                d_swap = (cx[row_a] - bx[1]) ** 2 + (cy[row_a] - by[1]) ** 2 + (cx[row_b] - bx[0]) ** 2 + (cy[row_b] - by[0]) ** 2
                if d_swap < d_keep:
                    override[row_a], override[row_b] = ib, ia
                else:
                    override[row_a], override[row_b] = ia, ib
            else:
                r = row_a if row_a >= 0 else row_b
                d0 = (cx[r] - bx[0]) ** 2 + (cy[r] - by[0]) ** 2
                d1 = (cx[r] - bx[1]) ** 2 + (cy[r] - by[1]) ** 2
                override[r] = ia if d0 <= d1 else ib
            if row_a >= 0:
                pa += 1
            if row_b >= 0:
                pb += 1
    # relabel: each track's rows from a change on carry its new identity; rows inside swapped encounters their own
    corder = np.argsort(ch_t[:nch] * (np.int64(1) << 32) + ch_f[:nch], kind="mergesort")
    c = 0
    for t in range(ntr):
        cur = t
        while c < nch and ch_t[corder[c]] < t:
            c += 1
        for p in range(toff[t], toff[t + 1]):
            r = trows[p]
            while c < nch and ch_t[corder[c]] == t and ch_f[corder[c]] <= frame[r]:
                cur = ch_i[corder[c]]
                c += 1
            out[r] = override[r] if override[r] >= 0 else cur
    return out, ndone, nswap


def repair_crossings(boxes: Boxes, track_id: np.ndarray, params: FrameParams, info: dict | None = None) -> np.ndarray:
    """Each row's track id after re-deciding the close encounters (a new array; -1 rows stay -1).

    Parameters
    ----------
    boxes : Boxes
        The detections, frame-sorted (the rows ``track_id`` refers to).
    track_id : int64 array (len(boxes),)
        Each row's track (0-based or any non-negative id; -1: in no track). At most one
        row per track and frame.
    params : FrameParams
        The settings for the video's (measured) frame rate: ``crossing_heads`` (encounter
        distance, head sizes), ``crossing_fit_frames`` (rows fitted per side),
        ``crossing_margin`` (chi-square) and the Kalman noises (measurement variance
        ``R``, acceleration variance per frame from ``Q``).
    info : dict, optional
        Filled with ``"encounters"`` (decided again) and ``"swapped"`` (exchanged).
    """
    cfg = params.config
    tid = np.ascontiguousarray(track_id, np.int64)
    if cfg.crossing_heads <= 0 or len(boxes) == 0:
        return tid.copy()
    cx = 0.5 * (boxes.x1.astype(np.float64) + boxes.x2.astype(np.float64))
    cy = 0.5 * (boxes.y1.astype(np.float64) + boxes.y2.astype(np.float64))
    w = np.maximum(boxes.x2.astype(np.float64) - boxes.x1.astype(np.float64), 0.0)
    h = np.maximum(boxes.y2.astype(np.float64) - boxes.y1.astype(np.float64), 0.0)
    size = np.sqrt(w * h)
    out, ndone, nswap = _repair(
        np.ascontiguousarray(boxes.frame, np.int64), cx, cy, size, tid, float(cfg.crossing_heads), int(params.crossing_fit_frames),
        float(cfg.crossing_margin), float(params.R[0]), float(params.Q[0, 1, 1]),
        int(max(MAX_LEN_FITS * params.crossing_fit_frames, 6)),
    )  # fmt: skip
    if info is not None:
        info["encounters"], info["swapped"] = int(ndone), int(nswap)
    return out
