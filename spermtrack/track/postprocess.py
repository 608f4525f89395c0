"""Whole-video clean-up of tracked boxes: gap closing, short-track removal, interpolation.

What only the whole video shows, after the online pass (:func:`spermtrack.track.track`,
``Tracker.finish(postprocess=True)``):

1. **gap closing** (off by default): tracklets that end and tracklets that start up to
   ``gap_close_s`` later are linked by one global assignment (as TrackMate's LAP
   tracker does), the cost being the chi-square distance between each end's
   constant-velocity extrapolation and the other's start, both ways;
2. **short tracks** (below ``min_track_s``) and **doubted tracks** (detections scoring
   below ``min_track_score`` on average) are dropped: most are false boxes;
3. **interpolation** of gaps up to ``interpolate_s`` inside a track (linear, score 0,
   marked by that score);
4. ids are renumbered ``1 .. K`` by first frame, and each track's class is the majority
   of its detections' classes.

Rows stay in frame order, and inside a frame in the detections' order.
"""

from __future__ import annotations

import numba
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..algorithms.assignment import assign_gated
from ..boxes import COLUMNS, Boxes, majority_class
from .config import FrameParams
from .core import SingleSignature, _backfill, assemble, take_rows
from .costs import lower_bound
from .crossings import fit_line, repair_crossings

#: Number of boxes at a tracklet's end (start) used to estimate its velocity.
_VELOCITY_WINDOW = 5


def postprocess(tracks: Boxes, params: FrameParams) -> Boxes:
    """The whole-video steps of :func:`track` on tracked boxes (public: ``Tracker.finish(postprocess=True)``).

    Gap closing (when on), short-track and doubted-track removal, interpolation of short
    gaps, majority classes and ids ``1 .. K`` by first frame.
    """
    if len(tracks) == 0:
        return tracks
    if params.gap_close_frames > 0:
        tracks = close_gaps(tracks, params)
    if params.min_track_frames > 1:
        tracks = drop_short(tracks, params.min_track_frames)
    if params.min_track_score > 0:
        tracks = drop_doubted(tracks, params.min_track_score)
    if params.interpolate_frames > 0:
        tracks = interpolate(tracks, params.interpolate_frames)
    return renumber(tracks, majority=True)


def assemble_postprocess(dets: Boxes, uid: np.ndarray, pub: np.ndarray, params: FrameParams) -> Boxes:
    """``postprocess(assemble(dets, uid, pub), params)`` in one Numba pass (the same table, bit for bit).

    Without gap closing (the default) the steps only pick rows, add interpolated ones and
    renumber, so they run together (:func:`_assemble_post_kernel`): no table per step, no
    grouping in NumPy. With gap closing on (or frame numbers far sparser than the rows), the
    steps run one after the other.
    """
    if params.config.crossing_heads > 0:
        # re-decide the close encounters (off by default: docs/tracking.md, "Crossings")
        tid = repair_crossings(dets, _backfill(np.ascontiguousarray(uid, np.int64), np.ascontiguousarray(pub, np.int64)), params)
        uid = pub = tid
    if params.gap_close_frames > 0 or len(dets) == 0 or dets.num_frames > 4 * len(dets) + 1024:
        # (the kernel keeps arrays over the frame numbers: sparse frame numbers take the steps)
        return postprocess(assemble(dets, uid, pub), params)
    cols = _post_kernel()(
        dets.frame, dets.x1, dets.y1, dets.x2, dets.y2, dets.score, dets.cls,
        np.ascontiguousarray(uid, np.int64), np.ascontiguousarray(pub, np.int64),
        np.int64(params.min_track_frames), np.float64(params.min_track_score), np.int64(params.interpolate_frames),
        np.int64(dets.num_frames),
    )  # fmt: skip
    return Boxes._trusted_columns(*cols, dets.num_frames)


def _ro(dtype):
    return numba.types.Array(dtype, 1, "C", readonly=True)


#: The one signature :func:`_assemble_post_kernel` is compiled for (input columns read-only,
#: so that writable and read-only ones both convert to it).
POST_SIGNATURE = (
    _ro(numba.types.int32), *[_ro(numba.types.float32)] * 5, _ro(numba.types.int16),
    numba.types.Array(numba.types.int64, 1, "C"), numba.types.Array(numba.types.int64, 1, "C"),
    numba.types.int64, numba.types.float64, numba.types.int64, numba.types.int64,
)  # fmt: skip


@numba.njit(cache=True)
def _assemble_post_kernel(frame, x1, y1, x2, y2, score, cls, uid, pub, min_frames, min_score, max_gap, num_frames):
    """The columns of ``postprocess(assemble(...))`` without gap closing (see :func:`assemble_postprocess`).

    Back-fill (every row of a track ever confirmed gets its public id); tracks spanning fewer
    than ``min_frames`` frames dropped (when ``min_frames > 1``), and those whose rows score
    below ``min_score`` on average (when ``min_score > 0``; as :func:`drop_doubted`); gaps of up to ``max_gap``
    frames filled with linear boxes of score 0 (as :func:`interpolate`: within a frame after
    the detections, by track id); ids ``1 .. K`` by first frame, ties by id; each row's
    class its track's majority (ties: the lower class).
    """
    n = frame.shape[0]
    tid = _backfill(uid, pub)
    nt = 1
    ncls = 1
    for i in range(n):
        if tid[i] >= 0:
            nt = max(nt, tid[i] + 1)
            ncls = max(ncls, np.int64(cls[i]) + 1)
    count = np.zeros(nt, np.int64)
    ff = np.zeros(nt, np.int64)
    lf = np.zeros(nt, np.int64)
    votes = np.zeros((nt, ncls), np.int64)
    ssum = np.zeros(nt, np.float64)
    for i in range(n):
        t = tid[i]
        if t < 0:
            continue
        if count[t] == 0:
            ff[t] = frame[i]
        lf[t] = frame[i]
        count[t] += 1
        votes[t, cls[i]] += 1
        ssum[t] += np.float64(score[i])
    keep = np.zeros(nt, np.bool_)
    maj = np.zeros(nt, np.int16)
    for t in range(nt):
        long_enough = min_frames <= 1 or lf[t] - ff[t] + 1 >= min_frames
        if count[t] > 0 and long_enough and (min_score <= 0 or ssum[t] >= min_score * count[t]):
            keep[t] = True
            best, arg = votes[t, 0], 0
            for c in range(1, ncls):
                if votes[t, c] > best:
                    best, arg = votes[t, c], c
            maj[t] = arg
    # ids 1 .. K by first frame, ties by id (a stable counting sort of the kept ids by first frame)
    per = np.zeros(num_frames + 1, np.int64)
    for t in range(nt):
        if keep[t]:
            per[ff[t] + 1] += 1
    for f in range(num_frames):
        per[f + 1] += per[f]
    rank = np.zeros(nt, np.int64)
    for t in range(nt):
        if keep[t]:
            per[ff[t]] += 1
            rank[t] = per[ff[t]]
    # kept rows per frame, and the interpolated boxes (one per track and missing frame)
    out_per = np.zeros(num_frames + 1, np.int64)
    prev = np.full(nt, -1, np.int64)
    nnew = 0
    for i in range(n):
        t = tid[i]
        if t < 0 or not keep[t]:
            continue
        out_per[frame[i] + 1] += 1
        p = prev[t]
        if max_gap > 0 and p >= 0:
            g = np.int64(frame[i]) - np.int64(frame[p]) - 1
            if 0 < g <= max_gap:
                nnew += g
        prev[t] = i
    na = np.empty(nnew, np.int64)  # each new box: rows before and after the gap, step into it
    nb = np.empty(nnew, np.int64)
    ns = np.empty(nnew, np.int64)
    ng = np.empty(nnew, np.int64)
    k = 0
    if nnew:
        prev[:] = -1
        for i in range(n):
            t = tid[i]
            if t < 0 or not keep[t]:
                continue
            p = prev[t]
            if p >= 0:
                g = np.int64(frame[i]) - np.int64(frame[p]) - 1
                if 0 < g <= max_gap:
                    for st in range(1, g + 1):
                        na[k], nb[k], ns[k], ng[k] = p, i, st, g + 1
                        k += 1
            prev[t] = i
    # new boxes ordered by frame, then track id (two stable counting sorts)
    by_t = np.zeros(nt + 1, np.int64)
    for q in range(nnew):
        by_t[tid[na[q]] + 1] += 1
    for t in range(nt):
        by_t[t + 1] += by_t[t]
    o1 = np.empty(nnew, np.int64)
    for q in range(nnew):
        t = tid[na[q]]
        o1[by_t[t]] = q
        by_t[t] += 1
    new_per = np.zeros(num_frames + 1, np.int64)
    for q in range(nnew):
        new_per[frame[na[q]] + ns[q] + 1] += 1
    nfill = np.zeros(num_frames, np.int64)
    for f in range(num_frames):
        out_per[f + 1] += out_per[f] + new_per[f + 1]
        nfill[f] = out_per[f + 1] - new_per[f + 1]  # new boxes of frame f go after its detections
    m = out_per[num_frames]
    of = np.empty(m, np.int32)
    ox1 = np.empty(m, np.float32)
    oy1 = np.empty(m, np.float32)
    ox2 = np.empty(m, np.float32)
    oy2 = np.empty(m, np.float32)
    osc = np.empty(m, np.float32)
    ocl = np.empty(m, np.int16)
    oid = np.empty(m, np.int64)
    for i in range(n):
        t = tid[i]
        if t < 0 or not keep[t]:
            continue
        o = out_per[frame[i]]
        out_per[frame[i]] += 1
        of[o], ox1[o], oy1[o], ox2[o], oy2[o], osc[o] = frame[i], x1[i], y1[i], x2[i], y2[i], score[i]
        ocl[o], oid[o] = maj[t], rank[t]
    for r in range(nnew):
        q = o1[r]
        a, b, st = na[q], nb[q], ns[q]
        w = st / np.float64(ng[q])
        f = np.int64(frame[a]) + st
        o = nfill[f]
        nfill[f] += 1
        t = tid[a]
        of[o] = f
        ox1[o] = np.float32(np.float64(x1[a]) + w * (np.float64(x1[b]) - np.float64(x1[a])))
        oy1[o] = np.float32(np.float64(y1[a]) + w * (np.float64(y1[b]) - np.float64(y1[a])))
        ox2[o] = np.float32(np.float64(x2[a]) + w * (np.float64(x2[b]) - np.float64(x2[a])))
        oy2[o] = np.float32(np.float64(y2[a]) + w * (np.float64(y2[b]) - np.float64(y2[a])))
        osc[o] = 0.0
        ocl[o], oid[o] = maj[t], rank[t]
    return of, ox1, oy1, ox2, oy2, osc, ocl, oid


#: :func:`_assemble_post_kernel`, compiled (or loaded from the cache) for :data:`POST_SIGNATURE` only.
_post_kernel = SingleSignature(_assemble_post_kernel, POST_SIGNATURE)


def _endpoints(tracks: Boxes, order: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per track (float64 (K, 10)): first and last frame, first and last centre, start and end velocity (px/frame)."""
    f = tracks.frame[order].astype(np.float64)
    c = np.column_stack([tracks.cx[order], tracks.cy[order]]).astype(np.float64)
    return _endpoint_kernel(offsets, f, c, _VELOCITY_WINDOW)


@numba.njit(cache=True)
def _fit_velocity(f, c, a, b):
    # least-squares slope of c over f for rows a..b-1 (0 with one row)
    n = b - a
    if n < 2:
        return 0.0, 0.0
    _, _, _, vx, vy, _ = fit_line(f[a:b], c[a:b, 0], c[a:b, 1], n)
    return vx, vy


@numba.njit(cache=True)
def _endpoint_kernel(off, f, c, window):
    k = off.shape[0] - 1
    out = np.empty((k, 10))  # first, last, sx, sy, ex, ey, svx, svy, evx, evy
    for t in range(k):
        a, b = off[t], off[t + 1]
        out[t, 0] = f[a]
        out[t, 1] = f[b - 1]
        out[t, 2] = c[a, 0]
        out[t, 3] = c[a, 1]
        out[t, 4] = c[b - 1, 0]
        out[t, 5] = c[b - 1, 1]
        out[t, 6], out[t, 7] = _fit_velocity(f, c, a, min(b, a + window))
        out[t, 8], out[t, 9] = _fit_velocity(f, c, max(a, b - window), b)
    return out


@numba.njit(cache=True)
def _gap_pairs(ep, end_order, start_sorted, start_order, max_gap, meas_var, vel_var, gate):
    """Candidate links (end track, start track, chi-square cost) within ``max_gap`` frames and the gate."""
    k = ep.shape[0]
    cap = 16 * k + 16
    ia = np.empty(cap, np.int64)
    ib = np.empty(cap, np.int64)
    cc = np.empty(cap)
    n = 0
    for ai in range(k):
        a = end_order[ai]
        end = ep[a, 1]
        lo = lower_bound(start_sorted, end + 0.5)
        hi = lower_bound(start_sorted, end + max_gap + 0.5)
        for bi in range(lo, hi):
            b = start_order[bi]
            g = ep[b, 0] - end
            var = 2.0 * meas_var + vel_var * g * g
            fx = ep[a, 4] + ep[a, 8] * g - ep[b, 2]
            fy = ep[a, 5] + ep[a, 9] * g - ep[b, 3]
            bx = ep[b, 2] - ep[b, 6] * g - ep[a, 4]
            by = ep[b, 3] - ep[b, 7] * g - ep[a, 5]
            cost = 0.5 * (fx * fx + fy * fy + bx * bx + by * by) / var
            if cost >= gate:
                continue
            if n == cap:
                cap *= 2
                ia2 = np.empty(cap, np.int64)
                ib2 = np.empty(cap, np.int64)
                cc2 = np.empty(cap)
                for q in range(n):  # element loops: a slice copy compiles a costly shape check
                    ia2[q], ib2[q], cc2[q] = ia[q], ib[q], cc[q]
                ia, ib, cc = ia2, ib2, cc2
            ia[n] = a
            ib[n] = b
            cc[n] = cost
            n += 1
    return ia[:n], ib[:n], cc[:n]


def close_gaps(tracks: Boxes, params: FrameParams) -> Boxes:
    """Link tracklets across gaps of up to ``params.gap_close_frames`` frames by a global assignment."""
    if len(tracks) == 0:
        return tracks
    ids, dense, order, offsets = tracks.groups()
    k = len(ids)
    if k < 2:
        return tracks
    ep = _endpoints(tracks, order, offsets)
    start_order = np.argsort(ep[:, 0], kind="stable")
    end_order = np.argsort(ep[:, 1], kind="stable")
    meas_var = float(params.R[0])
    # extrapolation error: the velocity estimated from a few noisy points (variance ~ meas_var / window)
    # plus the change of the cell's mean velocity during the gap, both growing linearly with the gap
    vel_var = meas_var / _VELOCITY_WINDOW + (params.config.gap_speed_std_px_s / params.fps) ** 2
    gate = float(params.config.gap_gate)
    ia, ib, cc = _gap_pairs(ep, end_order, ep[start_order, 0], start_order, params.gap_close_frames, meas_var, vel_var, gate)
    if len(ia) == 0:
        return tracks
    # Independent sub-problems: connected components of the candidate graph (ends 0..k-1, starts k..2k-1).
    graph = coo_matrix((np.ones(len(ia)), (ia, ib + k)), shape=(2 * k, 2 * k))
    _, comp = connected_components(graph, directed=False)
    nxt = np.full(k, -1, np.int64)
    comp_of_pair = comp[ia]
    by_comp = np.argsort(comp_of_pair, kind="stable")
    bounds = np.flatnonzero(np.diff(comp_of_pair[by_comp])) + 1
    for grp in np.split(by_comp, bounds):
        rows, rinv = np.unique(ia[grp], return_inverse=True)
        cols, cinv = np.unique(ib[grp], return_inverse=True)
        C = np.full((len(rows), len(cols)), np.inf)
        C[rinv, cinv] = cc[grp]
        match = assign_gated(C, gate)
        ok = match >= 0
        nxt[rows[ok]] = cols[match[ok]]
    head = _chain_heads(nxt)
    return take_rows(tracks, track_id=ids[head][dense])


@numba.njit(cache=True)
def _chain_heads(nxt):
    """For links ``t -> nxt[t]`` (chains, no cycles): the first track of each track's chain."""
    k = nxt.shape[0]
    has_prev = np.zeros(k, np.bool_)
    for t in range(k):
        if nxt[t] >= 0:
            has_prev[nxt[t]] = True
    head = np.arange(k)
    for h in range(k):
        if not has_prev[h]:
            t = nxt[h]
            while t >= 0:
                head[t] = h
                t = nxt[t]
    return head


def drop_short(tracks: Boxes, min_frames: int) -> Boxes:
    """Remove tracks spanning fewer than ``min_frames`` frames (first to last, inclusive)."""
    if len(tracks) == 0:
        return tracks
    _, dense, order, off = tracks.groups()
    f = tracks.frame[order]
    span = f[off[1:] - 1] - f[off[:-1]] + 1
    return take_rows(tracks, (span >= min_frames)[dense])


def drop_doubted(tracks: Boxes, min_score: float) -> Boxes:
    """Remove tracks whose detections score below ``min_score`` on average (0-1).

    Interpolated boxes (score 0, added after this step by :func:`postprocess`) are not
    detections; call it on tracked detections only.
    """
    if len(tracks) == 0:
        return tracks
    _, dense, _, off = tracks.groups()
    total = np.bincount(dense, weights=tracks.score.astype(np.float64), minlength=len(off) - 1)
    return take_rows(tracks, (total >= min_score * np.diff(off))[dense])


def interpolate(tracks: Boxes, max_gap: int) -> Boxes:
    """Fill gaps of up to ``max_gap`` missing frames inside each track with linear boxes of score 0."""
    if len(tracks) == 0:
        return tracks
    _, dense, order, _ = tracks.groups()
    g = dense[order]
    f = tracks.frame[order]
    gap = f[1:] - f[:-1] - 1
    sel = np.flatnonzero((g[1:] == g[:-1]) & (gap > 0) & (gap <= max_gap))
    if len(sel) == 0:
        return tracks
    reps = gap[sel]
    a = np.repeat(order[sel], reps)
    b = np.repeat(order[sel + 1], reps)
    step = np.arange(len(a)) - np.repeat(np.cumsum(reps) - reps, reps) + 1
    w = step / np.repeat(reps + 1, reps).astype(np.float64)
    new = {name: getattr(tracks, name)[a] for name in COLUMNS}
    for name in ("x1", "y1", "x2", "y2"):
        col = getattr(tracks, name).astype(np.float64)
        new[name] = (col[a] + w * (col[b] - col[a])).astype(np.float32)
    new["frame"] = (tracks.frame[a] + step).astype(np.int32)
    new["score"] = np.zeros(len(a), np.float32)
    merged = {name: np.concatenate([getattr(tracks, name), new[name]]) for name in COLUMNS}
    by_frame = np.argsort(merged["frame"], kind="stable")
    return Boxes(**{k: v[by_frame] for k, v in merged.items()}, num_frames=tracks.num_frames, validate=False)


def renumber(tracks: Boxes, *, majority: bool = False) -> Boxes:
    """Ids ``1 .. K`` in order of each track's first frame (ties by old id); row order kept.

    ``majority``: also set each row's ``cls`` to its track's majority class (one grouping for both).
    """
    if len(tracks) == 0:
        return tracks
    g = tracks.groups()
    _, dense, order, off = g
    first = tracks.frame[order[off[:-1]]]
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(1, len(first) + 1)
    if majority:
        return take_rows(tracks, track_id=rank[dense], cls=majority_class(g, tracks.cls)[dense])
    return take_rows(tracks, track_id=rank[dense])
