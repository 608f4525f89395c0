"""SORT written with filterpy and SciPy, and the same SORT vectorised in NumPy: the tracker references.

Bewley et al.'s SORT (ICIP 2016) as it is usually written: one
``filterpy.kalman.KalmanFilter`` per track on ``[cx, cy, area, aspect, vx, vy,
v_area]``, IoU costs, ``scipy.optimize.linear_sum_assignment``, ``max_age`` and
``min_hits`` in frames. Python loops over tracks, as the original
(:func:`sort_reference`).

:func:`sort_reference_vectorised` is the same algorithm as a competent NumPy user
would write it for speed: the Kalman predict and update steps of all tracks at once
(state ``(T, 7)``, covariances ``(T, 7, 7)``, batched ``@`` and ``np.linalg.inv``),
the filterpy formulas term for term (Joseph-form covariance update), so it gives
the same identities on the same detections (the benchmarks assert it). It is the
fair reference for spermtrack's speed; the filterpy one is the idiomatic one.
"""

from __future__ import annotations

import numpy as np
from filterpy.kalman import KalmanFilter
from scipy.optimize import linear_sum_assignment

from spermtrack import Boxes


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` (N, 4) with every box in ``b`` (M, 4), corners in pixels."""
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def _to_z(box):
    w, h = box[2] - box[0], box[3] - box[1]
    return np.array([box[0] + w / 2.0, box[1] + h / 2.0, w * h, w / max(h, 1e-6)]).reshape(4, 1)


def _to_box(x):
    area, ratio = max(float(x[2, 0]), 1e-6), float(x[3, 0])
    w = np.sqrt(area * ratio)
    h = area / max(w, 1e-6)
    return np.array([x[0, 0] - w / 2.0, x[1, 0] - h / 2.0, x[0, 0] + w / 2.0, x[1, 0] + h / 2.0])


class _Track:
    count = 0

    def __init__(self, box):
        kf = KalmanFilter(dim_x=7, dim_z=4)
        kf.F = np.eye(7)
        kf.F[0, 4] = kf.F[1, 5] = kf.F[2, 6] = 1.0
        kf.H = np.eye(4, 7)
        kf.R[2:, 2:] *= 10.0
        kf.P[4:, 4:] *= 1000.0
        kf.P *= 10.0
        kf.Q[-1, -1] *= 0.01
        kf.Q[4:, 4:] *= 0.01
        kf.x[:4] = _to_z(box)
        self.kf = kf
        _Track.count += 1
        self.id = _Track.count
        self.time_since_update = 0
        self.hits = 0
        self.hit_streak = 0

    def predict(self):
        if self.kf.x[6, 0] + self.kf.x[2, 0] <= 0:
            self.kf.x[6, 0] = 0.0
        self.kf.predict()
        if self.time_since_update > 0:
            self.hit_streak = 0
        self.time_since_update += 1
        return _to_box(self.kf.x)

    def update(self, box):
        self.time_since_update = 0
        self.hits += 1
        self.hit_streak += 1
        self.kf.update(_to_z(box))


class SortReference:
    """SORT: filterpy Kalman filters, IoU, SciPy's Hungarian solver.

    Parameters
    ----------
    max_age : int
        Frames a track survives without a detection.
    min_hits : int
        Matched frames before a track is reported.
    iou_threshold : float
        Lowest IoU of a match.
    """

    def __init__(self, max_age: int = 1, min_hits: int = 3, iou_threshold: float = 0.3) -> None:
        self.max_age, self.min_hits, self.iou_threshold = max_age, min_hits, iou_threshold
        self.tracks: list[_Track] = []
        self.frame_count = 0
        _Track.count = 0

    def update(self, dets: np.ndarray) -> np.ndarray:
        """Track one frame: ``dets`` (N, 4) corners; returns the track id of each row (-1 if unreported)."""
        self.frame_count += 1
        preds = np.array([t.predict() for t in self.tracks]).reshape(-1, 4)
        ok = np.all(np.isfinite(preds), axis=1)
        self.tracks = [t for t, k in zip(self.tracks, ok) if k]
        preds = preds[ok]
        out = np.full(len(dets), -1, np.int64)
        matched_d = set()
        if len(self.tracks) and len(dets):
            iou = _iou(dets, preds)
            r, c = linear_sum_assignment(-iou)
            for d, t in zip(r, c):
                if iou[d, t] >= self.iou_threshold:
                    self.tracks[t].update(dets[d])
                    matched_d.add(int(d))
                    trk = self.tracks[t]
                    if trk.hit_streak >= self.min_hits or self.frame_count <= self.min_hits:
                        out[d] = trk.id
        for d in range(len(dets)):
            if d not in matched_d:
                self.tracks.append(_Track(dets[d]))
        self.tracks = [t for t in self.tracks if t.time_since_update <= self.max_age]
        return out


def sort_reference(detections: Boxes, max_age: int = 1, min_hits: int = 3, iou_threshold: float = 0.3) -> Boxes:
    """Run :class:`SortReference` over a whole video; returns the reported boxes with their ids."""
    tracker = SortReference(max_age, min_hits, iou_threshold)
    ids = np.full(len(detections), -1, np.int64)
    off = detections.frame_offsets
    xyxy = detections.xyxy.astype(np.float64)
    for f in range(detections.num_frames):
        a, b = int(off[f]), int(off[f + 1])
        ids[a:b] = tracker.update(xyxy[a:b])
    keep = ids >= 0
    return detections[keep].replace(track_id=ids[keep])


# ----------------------------------------------------------------------------- vectorised NumPy SORT
_F = np.eye(7)
_F[0, 4] = _F[1, 5] = _F[2, 6] = 1.0
_H = np.eye(4, 7)
_R = np.eye(4)
_R[2:, 2:] *= 10.0
_Q = np.eye(7)
_Q[-1, -1] *= 0.01
_Q[4:, 4:] *= 0.01
_P0 = np.eye(7)
_P0[4:, 4:] *= 1000.0
_P0 *= 10.0
_I7 = np.eye(7)


def _to_z_rows(boxes: np.ndarray) -> np.ndarray:
    """``_to_z`` of every row of ``boxes`` (N, 4) at once: (N, 4) ``[cx, cy, area, aspect]``."""
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    return np.stack([boxes[:, 0] + w / 2.0, boxes[:, 1] + h / 2.0, w * h, w / np.maximum(h, 1e-6)], axis=1)


class VectorSortReference:
    """SORT with the Kalman steps of all tracks batched in NumPy; same parameters and results as :class:`SortReference`."""

    def __init__(self, max_age: int = 1, min_hits: int = 3, iou_threshold: float = 0.3) -> None:
        self.max_age, self.min_hits, self.iou_threshold = max_age, min_hits, iou_threshold
        self.x = np.zeros((0, 7))
        self.P = np.zeros((0, 7, 7))
        self.ids = np.zeros(0, np.int64)
        self.since = np.zeros(0, np.int64)  # frames since the last update
        self.streak = np.zeros(0, np.int64)
        self.count = 0
        self.frame_count = 0

    def _keep(self, mask: np.ndarray) -> None:
        self.x, self.P, self.ids, self.since, self.streak = (
            self.x[mask],
            self.P[mask],
            self.ids[mask],
            self.since[mask],
            self.streak[mask],
        )

    def update(self, dets: np.ndarray) -> np.ndarray:
        """Track one frame: ``dets`` (N, 4) corners; returns the track id of each row (-1 if unreported)."""
        self.frame_count += 1
        x, P = self.x, self.P
        # predict: x = F x, P = F P F' + Q (F adds the velocities; written as filterpy's products)
        x[x[:, 6] + x[:, 2] <= 0, 6] = 0.0
        x = x @ _F.T
        P = _F @ P @ _F.T + _Q
        self.streak[self.since > 0] = 0
        self.since += 1
        area = np.maximum(x[:, 2], 1e-6)
        with np.errstate(invalid="ignore"):
            w = np.sqrt(area * x[:, 3])
        h = area / np.maximum(w, 1e-6)
        preds = np.stack([x[:, 0] - w / 2.0, x[:, 1] - h / 2.0, x[:, 0] + w / 2.0, x[:, 1] + h / 2.0], axis=1)
        self.x, self.P = x, P
        ok = np.all(np.isfinite(preds), axis=1)
        if not ok.all():
            self._keep(ok)
            preds = preds[ok]
        out = np.full(len(dets), -1, np.int64)
        matched = np.zeros(len(dets), bool)
        if len(self.ids) and len(dets):
            iou = _iou(dets, preds)
            r, c = linear_sum_assignment(-iou)
            good = iou[r, c] >= self.iou_threshold
            d, t = r[good], c[good]
            if len(t):
                # update, all matched tracks at once (filterpy's formulas, Joseph form)
                xt, Pt = self.x[t], self.P[t]
                y = _to_z_rows(dets[d]) - xt @ _H.T
                PHT = Pt @ _H.T
                S = _H @ PHT + _R
                K = PHT @ np.linalg.inv(S)
                self.x[t] = xt + (K @ y[:, :, None])[:, :, 0]
                I_KH = _I7 - K @ _H
                self.P[t] = I_KH @ Pt @ I_KH.transpose(0, 2, 1) + K @ _R @ K.transpose(0, 2, 1)
                self.since[t] = 0
                self.streak[t] += 1
                matched[d] = True
                report = (self.streak[t] >= self.min_hits) | (self.frame_count <= self.min_hits)
                out[d[report]] = self.ids[t[report]]
        new = np.flatnonzero(~matched)
        if len(new):
            n = len(new)
            x0 = np.zeros((n, 7))
            x0[:, :4] = _to_z_rows(dets[new])
            self.x = np.concatenate([self.x, x0])
            self.P = np.concatenate([self.P, np.broadcast_to(_P0, (n, 7, 7))])
            self.ids = np.concatenate([self.ids, np.arange(self.count + 1, self.count + n + 1)])
            self.count += n
            self.since = np.concatenate([self.since, np.zeros(n, np.int64)])
            self.streak = np.concatenate([self.streak, np.zeros(n, np.int64)])
        alive = self.since <= self.max_age
        if not alive.all():
            self._keep(alive)
        return out


def sort_reference_vectorised(detections: Boxes, max_age: int = 1, min_hits: int = 3, iou_threshold: float = 0.3) -> Boxes:
    """Run :class:`VectorSortReference` over a whole video; returns the reported boxes with their ids."""
    tracker = VectorSortReference(max_age, min_hits, iou_threshold)
    ids = np.full(len(detections), -1, np.int64)
    off = detections.frame_offsets
    xyxy = detections.xyxy.astype(np.float64)
    for f in range(detections.num_frames):
        a, b = int(off[f]), int(off[f + 1])
        ids[a:b] = tracker.update(xyxy[a:b])
    keep = ids >= 0
    return detections[keep].replace(track_id=ids[keep])
