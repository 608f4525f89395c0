"""Streaming tracker: one frame at a time, as frames arrive from a detector."""

from __future__ import annotations

import numpy as np

from ..boxes import Boxes
from ..errors import BoxesError
from .config import TrackerConfig
from .core import grow_state, new_state, step, to_cxcywh
from .offline import as_config, assemble, check_detections


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
    confirmation included, with each track's final majority class. It applies
    none of :func:`~spermtrack.track.track`'s whole-video steps (gap closing,
    short-track removal, interpolation).

    Examples
    --------
    >>> import numpy as np
    >>> from spermtrack import Boxes
    >>> tr = Tracker(fps=50)
    >>> for f in range(4):
    ...     out = tr.update(Boxes.from_cxcywh([f], [[100 + 10 * f, 50, 20, 20]]))
    >>> out.track_id.tolist(), len(tr.finish())
    ([1], 4)
    """

    def __init__(self, fps: float, config: TrackerConfig | None = None) -> None:
        self.config = as_config(config)
        self.params = self.config.for_fps(fps)
        self.fps = self.params.fps
        self._x, self._P, self._ti = new_state(64, self.params.order)
        self._n, self._next_uid, self._next_pub = 0, 0, 1
        self._frame = -1
        self._history: list[tuple[Boxes, np.ndarray, np.ndarray]] = []

    @property
    def frame(self) -> int:
        """The last frame processed (-1 before the first)."""
        return self._frame

    @property
    def num_live_tracks(self) -> int:
        """Tracks alive now (tentative, confirmed or lost but not yet ended)."""
        return self._n

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
        """
        check_detections(frame_boxes)
        if len(frame_boxes) == 0:
            frame = self._frame + 1
        else:
            frame = int(frame_boxes.frame[0])
            if frame_boxes.frame[-1] != frame:
                i = int(np.flatnonzero(frame_boxes.frame != frame)[0])
                raise BoxesError(
                    f"update() takes the boxes of one frame; row {i} has frame {frame_boxes.frame[i]}, row 0 frame {frame}"
                )
            if frame <= self._frame:
                raise BoxesError(f"frames must increase: got frame {frame} after frame {self._frame}")
        for f in range(self._frame + 1, frame):  # frames skipped: nothing detected there
            self._step(f, _EMPTY_BOXES)
        uid, pub, cls = self._step(frame, frame_boxes)
        self._frame = frame
        if len(frame_boxes) == 0:
            return frame_boxes
        self._history.append((frame_boxes, uid, pub))
        b = frame_boxes
        cols = {"frame": b.frame, "x1": b.x1, "y1": b.y1, "x2": b.x2, "y2": b.y2, "score": b.score}
        return Boxes._trusted({**cols, "cls": cls.astype(np.int16), "track_id": pub}, max(b.num_frames, frame + 1))

    def _step(self, frame: int, b: Boxes):
        m = len(b)
        if self._n + m > self._x.shape[0]:
            cap = max(2 * self._x.shape[0], self._n + m)
            self._x, self._P, self._ti = grow_state(self._x, self._P, self._ti, self._n, cap)
        uid = np.empty(m, np.int64)
        pub = np.empty(m, np.int64)
        cls = np.empty(m, np.int64)
        p = self.params
        self._n, self._next_uid, self._next_pub = step(
            self._x, self._P, self._ti, self._n, self._next_uid, self._next_pub,
            to_cxcywh(b.x1, b.y1, b.x2, b.y2), b.score, b.cls, frame,
            p.ip, p.fp, p.F, p.Q, p.R, p.P0, (uid, pub, cls),
        )  # fmt: skip
        return uid, pub, cls

    def finish(self) -> Boxes:
        """All boxes of confirmed tracks so far (pre-confirmation boxes included), ids from 1.

        ``num_frames`` is the number of frames processed. The tracker can go on
        being updated afterwards.
        """
        nf = self._frame + 1
        if not self._history:
            return Boxes.empty(nf)
        boxes = Boxes.concat([h[0] for h in self._history], num_frames=nf)
        uid = np.concatenate([h[1] for h in self._history])
        pub = np.concatenate([h[2] for h in self._history])
        return assemble(boxes, uid, pub)


_EMPTY_BOXES = Boxes.empty(0)
