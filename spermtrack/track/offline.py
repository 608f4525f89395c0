"""Offline tracking of a whole video: the online pass, then whole-video clean-up.

:func:`track` runs the streaming tracker over every frame in one Numba call,
then uses what only the whole video shows:

1. **back-fill**: the boxes a track had while it was tentative get its identity;
2. **gap closing** (off by default): tracklets that end and tracklets that start up to
   ``gap_close_s`` later are linked by one global assignment (as TrackMate's
   LAP tracker does), the cost being the chi-square distance between each
   end's constant-velocity extrapolation and the other's start, both ways;
3. **short tracks** (below ``min_track_s``) and **doubted tracks** (detections scoring
   below ``min_track_score`` on average) are dropped: most are false boxes;
4. **interpolation** of gaps up to ``interpolate_s`` inside a track
   (linear, score 0, marked by that score);
5. ids are renumbered ``1 .. K`` by first frame, and each track's class is the
   majority of its detections' classes.

Rows stay in frame order, and inside a frame in the detections' order.
"""

from __future__ import annotations

import numpy as np

from ..boxes import COLUMNS, Boxes
from ..errors import BoxesError
from .calibrate import params_for, refine_from_tracks
from .config import FrameParams, TrackerConfig, as_config
from .core import C_BAD, OK, State, assemble, rows_error
from .postprocess import assemble_postprocess, close_gaps, drop_short, interpolate, postprocess, renumber

# re-exported for code that imported them from here before track/core.py and track/postprocess.py
__all__ = ["as_config", "assemble", "close_gaps", "drop_short", "interpolate", "postprocess", "renumber", "rows_error", "track"]


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
    out = _track_frames(d, params)
    again = refine_from_tracks(config, cal, out)
    if again is not None:
        params, cal = again
        out = _track_frames(d, params)
    if info is not None:
        info["calibration"] = cal.to_dict()
    return out


def _track_frames(d: Boxes, params: FrameParams, tsteps=None) -> Boxes:
    n = len(d)
    if n == 0:
        return d
    ids, cls = np.empty((2, n), np.int64), np.empty(n, np.int16)
    # room for about twice the mean boxes per frame from the start (the kernel grows the state when
    # a frame needs more; each growth re-enters it): the capacity never changes the tracks
    cap = 64
    while cap < 2 * n / max(d.num_frames, 1):
        cap *= 2
    state = State(params.order, cap)
    status = state.advance(params.prm, d, d.num_frames, ids, cls, tsteps)
    if status != OK:
        raise rows_error(d, status, int(state.cnt[C_BAD]))
    return assemble_postprocess(d, ids[0], ids[1], params)


def _track_timed(d: Boxes, config: TrackerConfig, ft, info: dict | None = None) -> Boxes:
    """:func:`track` on the distinct frames of ``ft`` at their true times; repeats get the same ids."""
    from ..timebase import distinct_boxes

    sub, keep = distinct_boxes(d, ft)
    eff = ft.effective_fps
    td = ft.times[keep]
    tsteps = np.ones(len(keep))
    tsteps[1:] = np.diff(td) * eff  # time steps in units of the mean distinct-frame interval
    params, cal = params_for(config, eff, sub)
    try:
        tracked = _track_frames(sub, params, tsteps)
    except BoxesError as exc:
        raise BoxesError(f"{exc} (frames counted among the distinct frames only)") from None
    again = refine_from_tracks(config, cal, tracked)
    if again is not None:
        params, cal = again
        tracked = _track_frames(sub, params, tsteps)
    if info is not None:
        info["calibration"] = cal.to_dict()
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
