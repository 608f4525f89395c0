"""Streaming tracker: one frame at a time, as frames arrive from a detector."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..boxes import COLUMNS, Boxes, _FrameRows
from ..errors import BoxesError, ParameterError
from .calibrate import off as calibrate_off
from .calibrate import params_for
from .config import TrackerConfig, as_config
from .core import (
    C_BAD,
    C_END,
    C_ROW,
    C_SHIFT,
    NEED_CAPACITY,
    NO_TSTEPS,
    State,
    assemble,
    check_frame,
    rows_error,
    run_entry,
    run_kernel,
)
from .postprocess import assemble_postprocess as _assemble_postprocess

_make_rows = _FrameRows._make


def _columns_ok(src) -> bool:
    """Whether the 7 input columns of a table (frame .. cls) have the kernel's dtypes and are C-contiguous."""
    return all(a.dtype == dt and a.ndim == 1 and a.flags.c_contiguous for a, dt in zip(src[:7], COLUMNS.values()))


def _untracked(b: Boxes, frame: int) -> Boxes:
    cols = {name: getattr(b, name) for name in COLUMNS}
    cols["track_id"] = np.full(len(b), -1, np.int64)
    return Boxes._trusted(cols, b.num_frames if b.num_frames > frame else frame + 1)


class Tracker:
    """Multi-sperm tracker (Kalman + Hungarian), fed frame by frame.

    Parameters
    ----------
    fps : float
        Frames per second of the video; lifecycle settings are in seconds.
    config : TrackerConfig, optional
        Settings; the documented defaults when omitted.

    Notes
    -----
    :meth:`update` takes the boxes of the next frame and returns them with track
    ids: a box of a confirmed track gets its id (from 1), a box of a tentative
    track or of no track gets -1, and ``cls`` is the track's majority class so
    far. Frames not given are treated as frames without boxes. :meth:`finish`
    returns every box of a confirmed track seen so far, those from before its
    confirmation included, with each track's final majority class;
    ``finish(postprocess=True)`` adds the whole-video clean-up of
    :func:`~spermtrack.track.track` (then the result equals ``track()`` on the
    same detections). :meth:`update_many` tracks a batch of frames of a table in
    one kernel call, with the results of :meth:`update` on each.

    Examples
    --------
    >>> import numpy as np
    >>> from spermtrack import Boxes
    >>> from spermtrack.track import TrackerConfig
    >>> tr = Tracker(fps=50, config=TrackerConfig(self_calibrate=False))
    >>> for f in range(4):
    ...     out = tr.update(Boxes.from_cxcywh([f], [[100 + 10 * f, 50, 20, 20]]))
    >>> out.track_id.tolist(), len(tr.finish()), len(tr.finish(postprocess=True))
    ([1], 4, 0)

    With self-calibration (the default) the first ``config.warmup_frames`` frames come
    back untracked (``track_id`` -1) while the tracker measures the motion; they get
    their ids in :meth:`finish`, and :attr:`calibration` says what was measured.
    """

    def __init__(self, fps: float, config: TrackerConfig | None = None) -> None:
        self.config = as_config(config)
        self._params = self.config.for_fps(fps)
        self.fps = self._params.fps
        # self-calibration: buffer the first warmup_frames frames, then measure (calibrate.py)
        self._warm: list[Boxes] | None = None
        self._calibration = calibrate_off(self.fps)
        c = self.config
        if c.self_calibrate:
            if (c.motion_fps > 0 and c.length_scale > 0) or c.warmup_frames == 0:
                self._params, self._calibration = params_for(c, self.fps, None if c.warmup_frames == 0 else Boxes.empty(0))
            else:
                self._warm = []
        self._prm = self._params.prm
        self._state = State(self._params.order)
        self._frame = -1
        # every row given so far, in order, in buffers the kernel appends to (rows 0 .. _hn-1): frame,
        # x1 y1 x2 y2 score, class; each row's internal and public track id, and its track's majority class
        self._hn = 0
        # the hot path of update(): the source columns of the frames of one table (Boxes.iter_frames),
        # checked once (dtypes, layout), and the compiled kernel's entry point
        self._fast_src = self._fast_in = self._fast_out = None
        self._alloc_history(0)
        self._run = None  # the kernel, loaded (or compiled, once per install) at the first update
        self._ep = None

    def _alloc_history(self, cap: int) -> None:
        """History buffers with room for ``cap`` rows (the first ``_hn`` kept)."""
        n = self._hn
        hf, hb, hc = np.empty(cap, np.int32), np.empty((5, cap), np.float32), np.empty(cap, np.int16)
        hids, hcls = np.empty((2, cap), np.int64), np.empty(cap, np.int16)
        if n:
            hf[:n], hb[:, :n], hc[:n], hids[:, :n], hcls[:n] = (
                self._hf[:n], self._hbox[:, :n], self._hcl[:n], self._hids[:, :n], self._hcls[:n]
            )  # fmt: skip
        self._hcap = cap
        self._hf, self._hbox, self._hcl, self._hids, self._hcls = hf, hb, hc, hids, hcls
        self._hpub = hids[1]  # a view: the public ids, for the outputs of update()
        if self._fast_src is not None:
            self._fast_out = (*self._fast_src[:6], hcls, self._hpub)

    def _track_rows(self, cols, r0: int, m: int, f_end: int, given: Boxes, base: int) -> int:
        """Track rows ``r0 .. r0+m-1`` of the 7 input columns ``cols`` (frame .. cls) up to frame ``f_end - 1``.

        Appends them to the history; returns the history row of the first. On a bad row raises
        the error naming it as row ``i - base`` of ``given`` (the tracker is unchanged then).
        """
        hn = self._hn
        if hn + m > self._hcap:
            self._alloc_history(max(2 * self._hcap, hn + m, 1024))
        st = self._state
        run = self._run
        if run is None:
            run = self._run = run_kernel()
            self._ep = run_entry()
        prm = self._prm
        cnt = st.cnt
        cnt[C_ROW] = r0
        cnt[C_END] = r0 + m
        cnt[C_SHIFT] = hn - r0
        while True:
            status = run(
                st.x, st.P, st.ti, cnt, prm, *cols, f_end, self._hids, self._hcls, NO_TSTEPS, self._hf, self._hbox, self._hcl
            )  # fmt: skip
            if status != NEED_CAPACITY:
                break
            st.grow()
        if status:
            raise rows_error(given, status, int(cnt[C_BAD]) - base, streaming=True)
        self._hn = hn + m
        return hn

    @property
    def frame(self) -> int:
        """The last frame processed (-1 before the first)."""
        return self._frame

    @property
    def params(self):
        """The settings converted for this tracker's fps (:class:`~spermtrack.track.config.FrameParams`)."""
        return self._params

    @property
    def calibration(self):
        """What self-calibration measured and used (:class:`~spermtrack.track.calibrate.MotionCalibration`).

        ``source`` is "warming up" until ``config.warmup_frames`` frames were given;
        ``.to_dict()`` is JSON-ready.
        """
        if self._warm is not None:
            return dataclasses.replace(self._calibration, source="warming up")
        return self._calibration

    @property
    def num_live_tracks(self) -> int:
        """Tracks alive now (tentative, confirmed or lost but not yet ended)."""
        return self._state.num_live

    def update(self, frame_boxes: Boxes) -> Boxes:
        """Track the next frame.

        Parameters
        ----------
        frame_boxes : Boxes
            The detections of one frame (all rows of the same frame, later than the
            previous call's). An empty table stands for the next frame with no boxes.

        Returns
        -------
        Boxes
            ``frame_boxes`` in the same row order with ``track_id`` (-1 for no
            confirmed track) and ``cls`` (the track's majority class). Its columns
            are read when first used (``cls`` and ``track_id`` copied then from the
            tracker's history: the table is the caller's to keep or change).

        Notes
        -----
        The frames of :meth:`Boxes.iter_frames <spermtrack.boxes.Boxes.iter_frames>`
        are tracked in place: the kernel reads the rows from the whole table's
        columns, checked once at the table's first frame (docs/tracking.md, "Speed").

        Raises
        ------
        BoxesError
            On rows of several frames, a frame not after the previous one, NaN
            coordinates or classes out of range (naming the row and frame); the
            tracker is unchanged then.
        """
        b = frame_boxes
        if type(b) is _FrameRows:
            src, r0, h0, m, _, frame = b._rows
            if src is self._fast_src and m and frame > self._frame and self._hn + m <= self._hcap and r0 == h0:
                # the hot path: the next frame of the table whose columns were checked at its first frame,
                # taken in place (nothing sliced); the compiled kernel called without Numba's type dispatch
                hn = self._hn
                st = self._state
                mv = st.cmv
                mv[C_ROW] = r0
                mv[C_END] = r0 + m
                mv[C_SHIFT] = hn - r0
                if not self._ep(
                    st.x, st.P, st.ti, st.cnt, self._prm, *self._fast_in, frame + 1,
                    self._hids, self._hcls, NO_TSTEPS, self._hf, self._hbox, self._hcl,
                ):  # fmt: skip
                    self._hn = hn + m
                    self._frame = frame
                    nf = b.num_frames
                    return _make_rows((self._fast_out, r0, hn, m, True, frame), nf if nf > frame else frame + 1)
                # more tracks than room, or a bad row: the general path below (the kernel changed nothing
                # but frames without boxes before this one, which it does not redo)
        inplace = type(b) is _FrameRows and b._rows[1] == b._rows[2]
        if inplace:
            # a frame of a larger table (Boxes.iter_frames): its rows are taken in place, nothing sliced
            src, r0, _, m, _, _ = b._rows
            cols = src[:7]
            fr = src[0]
        elif isinstance(b, Boxes):
            fr = b.frame
            cols = (fr, b.x1, b.y1, b.x2, b.y2, b.score, b.cls)
            r0, m = 0, fr.shape[0]
        else:
            raise BoxesError(f"detections must be a spermtrack.Boxes table, got {type(b).__name__}")
        if m:
            frame = int(fr[r0])
            if frame <= self._frame:
                if frame < 0:
                    raise BoxesError(f"row 0 has a negative frame index {frame}")
                raise BoxesError(f"frames must increase: got frame {frame} after frame {self._frame}")
        else:
            frame = self._frame + 1
        if self._warm is not None:
            return self._warm_up(b, frame)
        # frames skipped since the last call are tracked as frames without boxes
        h = self._track_rows(cols, r0, m, frame + 1, b, r0)
        self._frame = frame
        if m == 0:
            return b
        if inplace and src is not self._fast_src and _columns_ok(src):
            self._fast_src, self._fast_in = src, src[:7]
            self._fast_out = (*src[:6], self._hcls, self._hpub)
        nf = b.num_frames
        # the input's rows with the kernel's class and public ids (copied from the history when read)
        return _make_rows(((*cols[:6], self._hcls, self._hpub), r0, h, m, True, frame), nf if nf > frame else frame + 1)

    def update_many(self, boxes: Boxes, first: int, count: int) -> Boxes:
        """Track frames ``first .. first+count-1`` of ``boxes`` in one call (a batch of frames).

        The same as :meth:`update` on each of those frames in turn (``boxes.at_frame(f)``),
        with one kernel call for the whole batch once the warm-up is over.

        Parameters
        ----------
        boxes : Boxes
            A table holding (at least) the detections of those frames, numbered as the
            tracker's frames; its other rows are ignored.
        first, count : int
            The first frame and the number of frames; ``first`` must be after the last
            frame processed.

        Returns
        -------
        Boxes
            The rows of those frames with ``track_id`` and ``cls`` as :meth:`update` gives them.
        """
        if not isinstance(boxes, Boxes):
            raise BoxesError(f"detections must be a spermtrack.Boxes table, got {type(boxes).__name__}")
        first, count = int(first), int(count)
        if count < 0:
            raise ParameterError(f"count must be >= 0, got {count}")
        if first <= self._frame:
            raise BoxesError(f"frames must increase: got frame {first} after frame {self._frame}")
        nf_in = boxes.num_frames
        off = boxes.frame_offsets
        lo, hi = max(0, min(first, nf_in)), max(0, min(first + count, nf_in))
        end = first + count
        done = []
        f = first
        while self._warm is not None and f < end:  # the warm-up, frame by frame
            done.append(self.update(boxes.at_frame(f) if f < nf_in else Boxes.empty(f + 1)))
            f += 1
            if len(done[-1]) == 0:
                done.pop()
        if f < end:
            a, c = int(off[min(max(f, lo), hi)]), int(off[hi])
            cols = (boxes.frame, boxes.x1, boxes.y1, boxes.x2, boxes.y2, boxes.score, boxes.cls)
            h = self._track_rows(cols, a, c - a, end, boxes, 0)
            self._frame = end - 1
            if c > a:
                done.append(_make_rows(((*cols[:6], self._hcls, self._hpub), a, h, c - a, True, -1), max(nf_in, end)))
        if not done:
            return Boxes.empty(max(nf_in, end))
        out = done[0] if len(done) == 1 else Boxes.concat(done, max(nf_in, end))
        return Boxes._trusted_columns(*(getattr(out, name) for name in COLUMNS), max(nf_in, end))

    def _warm_up(self, b: Boxes, frame: int) -> Boxes:
        """Buffer a frame while warming up; at the last warm-up frame calibrate and track them all."""
        m = len(b)
        if m:
            check_frame(b, frame)
            self._warm.append(b)
        self._frame = frame
        if frame + 1 < self.config.warmup_frames:
            return b if m == 0 else _untracked(b, frame)
        out = self._calibrate_and_run()
        return out.at_frame(frame) if m else b

    def _calibrate_and_run(self) -> Boxes:
        """Calibrate on the buffered frames and track them (``num_frames`` = frames so far)."""
        nf = self._frame + 1
        parts = self._warm
        self._warm = None
        boxes = (
            Boxes._trusted({name: np.concatenate([getattr(p, name) for p in parts]) for name in COLUMNS}, nf)
            if parts
            else Boxes.empty(nf)
        )
        self._params, self._calibration = params_for(self.config, self.fps, boxes)
        self._prm = self._params.prm
        self._state = State(self._params.order)
        n = len(boxes)
        cols = (boxes.frame, boxes.x1, boxes.y1, boxes.x2, boxes.y2, boxes.score, boxes.cls)
        h = self._track_rows(cols, 0, n, nf, boxes, 0)
        return Boxes._trusted_columns(*cols[:6], self._hcls[h : h + n].copy(), self._hpub[h : h + n].copy(), nf)

    def finish(self, *, postprocess: bool = False) -> Boxes:
        """All boxes of confirmed tracks so far, ids from 1.

        Parameters
        ----------
        postprocess : bool
            False: every box of a confirmed track given so far, the boxes from before
            its confirmation included (back-fill), each track's final majority class,
            ids in order of confirmation. True: then also the whole-video steps of
            :func:`~spermtrack.track.track` (gap closing when on, removal of tracks
            shorter than ``min_track_s`` or scoring below ``min_track_score`` on
            average, interpolation of gaps up to ``interpolate_s``
            with score-0 boxes, ids ``1 .. K`` by first frame): the result equals
            ``track()`` on the same detections.

        Returns
        -------
        Boxes
            ``num_frames`` is the number of frames processed. The tracker can go on
            being updated afterwards.
        """
        if self._warm is not None:  # a video shorter than the warm-up: calibrate on what there is
            self._calibrate_and_run()
        nf = self._frame + 1
        n = self._hn
        if n == 0:
            return Boxes.empty(nf)
        # the rows were checked by the kernel (finite, sorted, sizes, classes): no second validation
        hb = self._hbox
        boxes = Boxes._trusted_columns(
            self._hf[:n], hb[0, :n], hb[1, :n], hb[2, :n], hb[3, :n], hb[4, :n], self._hcl[:n], np.full(n, -1, np.int64), nf
        )  # fmt: skip
        if postprocess:
            return _assemble_postprocess(boxes, self._hids[0, :n], self._hids[1, :n], self._params)
        return assemble(boxes, self._hids[0, :n], self._hids[1, :n])
