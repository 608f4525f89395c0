"""Offline tracking of a whole video: the online pass, then whole-video clean-up.

:func:`track` runs the streaming tracker over every frame in one Numba call,
then uses what only the whole video shows:

1. **back-fill**: the boxes a track had while it was tentative get its identity;
2. **gap closing** (off by default): tracklets that end and tracklets that start up to
   ``gap_close_s`` later are linked by one global assignment (as TrackMate's
   LAP tracker does), the cost being the chi-square distance between each
   end's constant-velocity extrapolation and the other's start, both ways;
3. **short tracks** (below ``min_track_s``) are dropped: most are false boxes;
4. **interpolation** of gaps up to ``interpolate_s`` inside a track
   (linear, score 0, marked by that score);
5. ids are renumbered ``1 .. K`` by first frame, and each track's class is the
   majority of its detections' classes.

Rows stay in frame order, and inside a frame in the detections' order.
"""

from __future__ import annotations

import numba
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..boxes import COLUMNS, Boxes
from ..errors import BoxesError
from .assignment import assign_gated
from .calibrate import params_for
from .config import FrameParams, TrackerConfig, TrackerConfigError
from .core import (
    BAD_BEYOND,
    BAD_CLASS,
    BAD_FRAME,
    BAD_ORDER,
    BAD_SIZE,
    BAD_VALUE,
    C_BAD,
    MAX_BOXES_PER_FRAME,
    NCLASSES,
    OK,
    TOO_MANY_BOXES,
    State,
)
from .costs import lower_bound

#: Number of boxes at a tracklet's end (start) used to estimate its velocity.
_VELOCITY_WINDOW = 5


def as_config(config: TrackerConfig | None) -> TrackerConfig:
    """``config``, or the defaults for None; anything else is a :class:`TrackerConfigError`."""
    if config is None:
        return TrackerConfig()
    if not isinstance(config, TrackerConfig):
        raise TrackerConfigError(f"config must be a TrackerConfig (or None), got {type(config).__name__}")
    return config


def rows_error(b: Boxes, status: int, row: int, streaming: bool = False) -> BoxesError:
    """The :class:`~spermtrack.errors.BoxesError` for a row :func:`.core.run` refused (names row and frame)."""
    i = row
    if status == BAD_VALUE:
        vals = [float(getattr(b, c)[i]) for c in ("x1", "y1", "x2", "y2", "score")]
        return BoxesError(f"row {i} (frame {b.frame[i]}) has a non-finite value: x1,y1,x2,y2,score = {vals}")
    if status == BAD_SIZE:
        return BoxesError(
            f"row {i} (frame {b.frame[i]}) has a negative size: x1={b.x1[i]}, x2={b.x2[i]}, y1={b.y1[i]}, y2={b.y2[i]}"
        )
    if status == BAD_ORDER and i > 0:
        return BoxesError(
            f"frames are not sorted: row {i} has frame {b.frame[i]} after frame {b.frame[i - 1]} "
            "(use Boxes.from_unsorted or Boxes.concat to sort)"
        )
    if status in (BAD_ORDER, BAD_FRAME):
        return BoxesError(f"row {i} has a negative frame index {b.frame[i]}")
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
        return BoxesError(f"row {i} has frame {b.frame[i]} but num_frames is {b.num_frames}")
    return BoxesError(f"row {i}: the tracker cannot take this row (code {status})")  # pragma: no cover


def assemble(dets: Boxes, uid: np.ndarray, pub: np.ndarray) -> Boxes:
    """Detections that belong to confirmed tracks, with their track ids and majority classes.

    ``uid`` is each row's internal track id (-1 none), ``pub`` its public id at that
    frame (-1 while the track was tentative): every row of a track that was ever
    confirmed gets that track's public id (back-fill).
    """
    tid = _backfill(np.ascontiguousarray(uid, np.int64), np.ascontiguousarray(pub, np.int64))
    keep = tid >= 0
    return _majority_class(_rows(dets, keep, track_id=tid[keep]))


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


def _rows(b: Boxes, rows=None, **columns) -> Boxes:
    """Rows of ``b`` (mask, indices or all) with some columns replaced, without re-validating."""
    cols = {name: (getattr(b, name) if rows is None else getattr(b, name)[rows]) for name in COLUMNS}
    cols.update(columns)
    return Boxes(**cols, num_frames=b.num_frames, validate=False)


def _groups(track_id: np.ndarray):
    """Group rows by track, keeping row order inside a track (frame order).

    Returns ``(ids, dense, order, offsets)``: sorted unique ids, each row's index into
    ``ids``, rows sorted by track (stable) and the group bounds into ``order``.
    """
    tid = np.ascontiguousarray(track_id, np.int64)
    if len(tid) and 0 <= tid.min() and tid.max() <= 4 * len(tid) + 1024:
        present = np.zeros(int(tid.max()) + 1, bool)
        present[tid] = True
        ids = np.flatnonzero(present).astype(np.int64)
        dense = (np.cumsum(present) - 1)[tid]
    else:
        ids, dense = np.unique(tid, return_inverse=True)
    order, offsets = _counting_sort(dense.astype(np.int64), len(ids))
    return ids, dense, order, offsets


@numba.njit(cache=True)
def _counting_sort(key, k):
    offsets = np.zeros(k + 1, np.int64)
    for i in range(key.shape[0]):
        offsets[key[i] + 1] += 1
    for g in range(k):
        offsets[g + 1] += offsets[g]
    fill = offsets[:-1].copy()
    order = np.empty(key.shape[0], np.int64)
    for i in range(key.shape[0]):
        order[fill[key[i]]] = i
        fill[key[i]] += 1
    return order, offsets


def _majority_class(tracks: Boxes) -> Boxes:
    if len(tracks) == 0:
        return tracks
    ids, dense, _, _ = _groups(tracks.track_id)
    votes = np.bincount(dense * NCLASSES + tracks.cls.astype(np.int64), minlength=len(ids) * NCLASSES).reshape(len(ids), NCLASSES)
    return _rows(tracks, cls=votes.argmax(axis=1)[dense].astype(np.int16))


def track(
    detections: Boxes, fps: float, config: TrackerConfig | None = None, *, timestamps=None, info: dict | None = None
) -> Boxes:
    """Track a whole video (offline): returns the boxes of confirmed tracks with their ids.

    Parameters
    ----------
    detections : Boxes
        Detections of all frames (any ``track_id`` is ignored). Scores decide the
        association stage (see :class:`TrackerConfig`); classes must be ``0..15``.
    fps : float
        Frames per second of the video (the lifecycle settings are in seconds).
    config : TrackerConfig, optional
        Settings; the documented defaults when omitted.
    timestamps : FrameTimes or array of float (num_frames,), optional
        The true time of each frame in seconds (:mod:`spermtrack.timebase`): frames
        with the same time as the previous one are repeats. Only the distinct frames
        are tracked, each prediction runs over the true time step, the lifecycle
        settings use the effective frame rate, and every repeated frame's boxes get
        the identities of the frame they repeat (matched by position). None: every
        frame is ``1 / fps`` after the last.
    info : dict, optional
        Filled with ``"calibration"`` (the :class:`~spermtrack.track.calibrate.MotionCalibration`
        as a dict: head size, motion scale, noise, the clock used) and, with
        ``timestamps``, ``"frame_times"`` (:meth:`FrameTimes.to_dict`).

    Returns
    -------
    Boxes
        The detections that belong to confirmed tracks, ``track_id`` from 1 in order
        of first appearance, ``cls`` the track's majority class, plus interpolated
        boxes (``score`` 0) in short gaps; same ``num_frames``. Detections that
        belong to no track are left out.

    Raises
    ------
    BoxesError
        On NaN coordinates, unsorted frames or classes out of range (naming row and frame).

    Examples
    --------
    Two cells crossing paths keep their identities:

    >>> import numpy as np
    >>> from spermtrack import Boxes
    >>> f = np.repeat(np.arange(30), 2)
    >>> t = f.astype(float)
    >>> cx = np.where(np.arange(60) % 2 == 0, 10 + 12 * t, 358 - 12 * t)
    >>> cy = np.where(np.arange(60) % 2 == 0, 100 + 2 * t, 160 - 2 * t)
    >>> dets = Boxes.from_cxcywh(f, np.stack([cx, cy, np.full(60, 20.0), np.full(60, 20.0)], 1))
    >>> out = track(dets, fps=50)
    >>> out.unique_tracks().tolist(), [bool(np.all(np.diff(out.track(i).cx) > 0)) for i in (1, 2)]
    ([1, 2], [True, False])
    """
    config = as_config(config)
    d = detections
    if not isinstance(d, Boxes):
        raise BoxesError(f"detections must be a spermtrack.Boxes table, got {type(d).__name__}")
    if timestamps is not None:
        from ..timebase import FrameTimes

        ft = timestamps if isinstance(timestamps, FrameTimes) else FrameTimes.from_timestamps(timestamps, fps)
        if ft.num_frames != d.num_frames:
            raise BoxesError(f"timestamps cover {ft.num_frames} frames but the detections {d.num_frames}")
        if info is not None:
            info["frame_times"] = ft.to_dict()
        if not ft.is_regular:
            return _track_timed(d, config, ft, info)
    params, cal = params_for(config, fps, d)
    if info is not None:
        info["calibration"] = cal.to_dict()
    return _track_frames(d, params)


def _track_frames(d: Boxes, params: FrameParams, tsteps=None) -> Boxes:
    n = len(d)
    if n == 0:
        return d
    uid, pub, cls = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int16)
    state = State(params.order)
    status = state.advance(params.prm, d, d.num_frames, uid, pub, cls, tsteps)
    if status != OK:
        raise rows_error(d, status, int(state.cnt[C_BAD]))
    return postprocess(assemble(d, uid, pub), params)


def _track_timed(d: Boxes, config: TrackerConfig, ft, info: dict | None = None) -> Boxes:
    """:func:`track` on the distinct frames of ``ft`` at their true times; repeats get the same ids."""
    from ..timebase import distinct_boxes

    sub, keep = distinct_boxes(d, ft)
    eff = ft.effective_fps
    td = ft.times[keep]
    tsteps = np.ones(len(keep))
    tsteps[1:] = np.diff(td) * eff  # time steps in units of the mean distinct-frame interval
    params, cal = params_for(config, eff, sub)
    if info is not None:
        info["calibration"] = cal.to_dict()
    try:
        tracked = _track_frames(sub, params, tsteps)
    except BoxesError as exc:
        raise BoxesError(f"{exc} (frames counted among the distinct frames only)") from None
    # back to the original frame numbers
    tracked = Boxes(
        keep[tracked.frame].astype(np.int32), tracked.x1, tracked.y1, tracked.x2, tracked.y2, tracked.score,
        tracked.cls, tracked.track_id, num_frames=d.num_frames, validate=False,
    )  # fmt: skip
    if ft.num_repeated == 0 or len(tracked) == 0:
        return tracked
    return _fill_repeats(d, tracked, ft)


def _fill_repeats(d: Boxes, tracked: Boxes, ft) -> Boxes:
    """Boxes of the repeated frames with the ids of the tracked boxes of the frame they repeat.

    Each detection of a repeated frame takes the id of the nearest tracked box (centre) of
    its source frame within a quarter of the box's size (one box per id); interpolated
    boxes (score 0) of the source frame are copied.
    """
    from scipy.spatial import cKDTree

    src = ft.source_of_distinct()
    toff = tracked.frame_offsets
    doff = d.frame_offsets
    parts_rows, parts_ids, parts_frame = [], [], []
    copy_rows, copy_frame = [], []
    tcx, tcy = tracked.cx.astype(np.float64), tracked.cy.astype(np.float64)
    dcx, dcy = d.cx.astype(np.float64), d.cy.astype(np.float64)
    size = 0.5 * ((d.x2 - d.x1) + (d.y2 - d.y1)).astype(np.float64)
    for j in np.flatnonzero(~ft.distinct):
        s = src[j]
        t0, t1 = toff[s], toff[s + 1]
        if t1 == t0:
            continue
        live = np.arange(t0, t1)
        taken = np.zeros(len(live), bool)
        d0, d1 = doff[j], doff[j + 1]
        if d1 > d0:
            tree = cKDTree(np.column_stack([tcx[live], tcy[live]]))
            rows = np.arange(d0, d1)
            dist, idx = tree.query(np.column_stack([dcx[rows], dcy[rows]]), k=1)
            ok = dist <= np.maximum(0.25 * size[rows], 0.5)
            order = np.argsort(dist, kind="stable")
            sel = []
            for q in order:
                if ok[q] and not taken[idx[q]]:
                    taken[idx[q]] = True
                    sel.append(q)
            if sel:
                sel = np.sort(np.asarray(sel))
                parts_rows.append(rows[sel])
                parts_ids.append(tracked.track_id[live[idx[sel]]])
                parts_frame.append(np.full(len(sel), j))
        # interpolated boxes of the source frame whose id no detection of this frame took
        # (copying those too would put one id twice in the frame)
        interp = live[(tracked.score[live] == 0) & ~taken]
        if len(interp):
            copy_rows.append(interp)
            copy_frame.append(np.full(len(interp), j))
    cols = {name: [getattr(tracked, name)] for name in COLUMNS}
    if parts_rows:
        r = np.concatenate(parts_rows)
        for name in COLUMNS:
            cols[name].append(getattr(d, name)[r])
        cols["track_id"][-1] = np.concatenate(parts_ids)
        cols["cls"][-1] = np.zeros(len(r), np.int16)  # replaced by the track's majority below
    if copy_rows:
        r = np.concatenate(copy_rows)
        for name in COLUMNS:
            cols[name].append(getattr(tracked, name)[r])
        cols["frame"][-1] = np.concatenate(copy_frame).astype(np.int32)
    merged = {name: np.concatenate(v) for name, v in cols.items()}
    cls_of = dict(zip(tracked.track_id.tolist(), tracked.cls.tolist()))
    merged["cls"] = np.array([cls_of[t] for t in merged["track_id"].tolist()], np.int16)
    order = np.argsort(merged["frame"], kind="stable")
    return Boxes(**{k: v[order].astype(COLUMNS[k]) for k, v in merged.items()}, num_frames=d.num_frames, validate=False)


def postprocess(tracks: Boxes, params: FrameParams) -> Boxes:
    """The whole-video steps of :func:`track` on tracked boxes (public: ``Tracker.finish(postprocess=True)``).

    Gap closing (when on), short-track removal, interpolation of short gaps,
    majority classes and ids ``1 .. K`` by first frame.
    """
    if len(tracks) == 0:
        return tracks
    if params.gap_close_frames > 0:
        tracks = close_gaps(tracks, params)
    if params.min_track_frames > 1:
        tracks = drop_short(tracks, params.min_track_frames)
    if params.interpolate_frames > 0:
        tracks = interpolate(tracks, params.interpolate_frames)
    return renumber(_majority_class(tracks))


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
    mf = 0.0
    mx = 0.0
    my = 0.0
    for i in range(a, b):
        mf += f[i]
        mx += c[i, 0]
        my += c[i, 1]
    mf /= n
    mx /= n
    my /= n
    sff = 0.0
    sfx = 0.0
    sfy = 0.0
    for i in range(a, b):
        df = f[i] - mf
        sff += df * df
        sfx += df * (c[i, 0] - mx)
        sfy += df * (c[i, 1] - my)
    return sfx / sff, sfy / sff


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
    ids, dense, order, offsets = _groups(tracks.track_id)
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
    return _rows(tracks, track_id=ids[head][dense])


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
    _, dense, order, off = _groups(tracks.track_id)
    f = tracks.frame[order]
    span = f[off[1:] - 1] - f[off[:-1]] + 1
    return _rows(tracks, (span >= min_frames)[dense])


def interpolate(tracks: Boxes, max_gap: int) -> Boxes:
    """Fill gaps of up to ``max_gap`` missing frames inside each track with linear boxes of score 0."""
    if len(tracks) == 0:
        return tracks
    _, dense, order, _ = _groups(tracks.track_id)
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


def renumber(tracks: Boxes) -> Boxes:
    """Ids ``1 .. K`` in order of each track's first frame (ties by old id); row order kept."""
    if len(tracks) == 0:
        return tracks
    _, dense, order, off = _groups(tracks.track_id)
    first = tracks.frame[order[off[:-1]]]
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(1, len(first) + 1)
    return _rows(tracks, track_id=rank[dense])
