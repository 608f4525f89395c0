"""Streaming tracker: one frame at a time, as frames arrive from a detector."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..boxes import COLUMNS, Boxes
from ..errors import BoxesError
from .calibrate import off as calibrate_off
from .calibrate import params_for
from .config import TrackerConfig, as_config
from .core import C_BAD, NEED_CAPACITY, NO_TSTEPS, State, assemble, check_frame, rows_error, run_kernel
from .postprocess import postprocess as _postprocess


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
    same detections).

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
        # every row given so far: (table, each row's internal track id, its public id) per call, in order
        self._history: list[tuple[Boxes, np.ndarray, np.ndarray]] = []
        self._run = None  # the kernel, loaded (or compiled, once per install) at the first update

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
            confirmed track) and ``cls`` (the track's majority class).

        Raises
        ------
        BoxesError
            On rows of several frames, a frame not after the previous one, NaN
            coordinates or classes out of range (naming the row and frame); the
            tracker is unchanged then.
        """
        b = frame_boxes
        if not isinstance(b, Boxes):
            raise BoxesError(f"detections must be a spermtrack.Boxes table, got {type(b).__name__}")
        fr = b.frame
        m = fr.shape[0]
        if m:
            frame = int(fr[0])
            if frame <= self._frame:
                if frame < 0:
                    raise BoxesError(f"row 0 has a negative frame index {frame}")
                raise BoxesError(f"frames must increase: got frame {frame} after frame {self._frame}")
        else:
            frame = self._frame + 1
        if self._warm is not None:
            return self._warm_up(b, frame)
        # fresh output arrays (no copies: the returned ones are the caller's, the tracker keeps uid, pub)
        uid, pub, cls = np.empty(m, np.int64), np.empty(m, np.int64), np.empty(m, np.int16)
        st = self._state
        run = self._run
        if run is None:
            run = self._run = run_kernel()
        # frames skipped since the last call are tracked as frames without boxes
        prm = self._prm
        status = run(
            st.x, st.P, st.ti, st.cnt, prm, fr, b.x1, b.y1, b.x2, b.y2, b.score, b.cls, frame + 1, uid, pub, cls, NO_TSTEPS
        )
        if status:
            status = st.advance(prm, b, frame + 1, uid, pub, cls) if status == NEED_CAPACITY else status
            if status:
                raise rows_error(b, status, int(st.cnt[C_BAD]), streaming=True)
        self._frame = frame
        if m == 0:
            return b
        self._history.append((b, uid, pub))
        nf = b.num_frames
        return Boxes._trusted_columns(
            fr, b.x1, b.y1, b.x2, b.y2, b.score, cls, pub.copy(), nf if nf > frame else frame + 1
        )  # fmt: skip

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
        uid, pub, cls = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int16)
        status = self._state.advance(self._prm, boxes, nf, uid, pub, cls)
        if status:
            raise rows_error(boxes, status, int(self._state.cnt[C_BAD]), streaming=True)
        if n:
            self._history = [(boxes, uid, pub)]
        return Boxes._trusted({**{name: getattr(boxes, name) for name in COLUMNS}, "cls": cls, "track_id": pub.copy()}, nf)

    def finish(self, *, postprocess: bool = False) -> Boxes:
        """All boxes of confirmed tracks so far, ids from 1.

        Parameters
        ----------
        postprocess : bool
            False: every box of a confirmed track given so far, the boxes from before
            its confirmation included (back-fill), each track's final majority class,
            ids in order of confirmation. True: then also the whole-video steps of
            :func:`~spermtrack.track.track` (gap closing when on, removal of tracks
            shorter than ``min_track_s``, interpolation of gaps up to ``interpolate_s``
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
        if not self._history:
            return Boxes.empty(nf)
        # the rows were checked by the kernel (finite, sorted, sizes, classes): no second validation
        hist = self._history
        if len(hist) > 1:  # one concatenation per column (track_id is replaced by assemble)
            parts = [(b.frame, b.x1, b.y1, b.x2, b.y2, b.score, b.cls, u, p) for b, u, p in hist]
            *cols, uid, pub = [np.concatenate(c) for c in zip(*parts)]
            boxes = Boxes._trusted_columns(*cols, np.full(len(uid), -1, np.int64), nf)
            self._history = [(boxes, uid, pub)]  # kept merged: a later finish() adds only the frames given since
        else:
            b, uid, pub = hist[0]
            boxes = Boxes._trusted_columns(b.frame, b.x1, b.y1, b.x2, b.y2, b.score, b.cls, b.track_id, nf)
        tracks = assemble(boxes, uid, pub)
        return _postprocess(tracks, self._params) if postprocess else tracks
