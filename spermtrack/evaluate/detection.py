"""Detection metrics of the VISEM-Tracking paper's Table 2: precision, recall, mAP50, mAP50-95, fitness.

Computed as ultralytics 8.4 validates a detector (``DetectionValidator`` +
``ap_per_class``), so the numbers are the ones ``yolo val`` prints for the same
boxes:

1. per frame, the IoU of every ground-truth and detected box, in float32 as
   ``ultralytics.utils.metrics.box_iou`` (``inter / (area1 + area2 - inter + 1e-7)``),
   zero between different classes;
2. per frame, detections in descending confidence each take the unclaimed
   ground-truth box of highest IoU, separately at each of the 10 IoU thresholds
   0.50, 0.55, ..., 0.95 (``match_predictions``); a detection is a TP at a
   threshold when that IoU reaches it;
3. over all frames, per class with ground truth: the precision-recall curve
   by descending confidence, AP by 101-point interpolation of its envelope
   (COCO), and precision and recall read at the confidence that maximises the
   mean F1 over classes (after smoothing the F1 curve), as ``ap_per_class``;
4. precision, recall, mAP50 and mAP50-95 are means over the classes that have
   ground truth; ``fitness = 0.1 mAP50 + 0.9 mAP50-95`` (the paper's, YOLOv5's;
   ultralytics 8.4 itself now reports fitness = mAP50-95).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numba
import numpy as np

from ..boxes import Boxes
from ._inputs import EvaluationError, class_name, frame_range
from .table import format_value, render

#: IoU thresholds of mAP50-95, bit-identical to ultralytics' ``torch.linspace(0.5, 0.95, 10)``.
IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10).astype(np.float32)

_AP_X = np.linspace(0, 1, 101)  # recall points of the 101-point interpolated AP
_CURVE_X = np.linspace(0, 1, 1000)  # confidence grid of the P, R and F1 curves
_EPS = 1e-16


@numba.njit(cache=True)
def match_detections(off_g, box_g, cls_g, off_d, box_d, cls_d, thresholds):  # pragma: no cover - numba
    """Which detections are true positives at each IoU threshold (ultralytics' greedy matching).

    Parameters
    ----------
    off_g, off_d : int64 arrays (F + 1,)
        Frame offsets of ground truth and detections; within a frame, detections
        must be in descending confidence.
    box_g, box_d : float32 arrays (N, 4)
        Corners ``x1, y1, x2, y2`` in pixels.
    cls_g, cls_d : int64 arrays (N,)
        Classes; boxes of different classes never match.
    thresholds : float32 array (T,)
        IoU thresholds.

    Returns
    -------
    bool array (N_det, T)
        ``correct[j, t]``: detection ``j`` (row of ``box_d``) is a TP at ``thresholds[t]``.
    """
    nt = thresholds.shape[0]
    correct = np.zeros((box_d.shape[0], nt), np.bool_)
    tmin = thresholds[0]
    for t in range(nt):
        tmin = min(tmin, thresholds[t])
    zero = np.float32(0.0)
    eps = np.float32(1e-7)
    for f in range(off_g.shape[0] - 1):
        g0 = off_g[f]
        ng = off_g[f + 1] - g0
        if ng == 0:
            continue
        claimed = np.zeros((ng, nt), np.bool_)
        iou = np.empty(ng, np.float32)
        for j in range(off_d[f], off_d[f + 1]):
            bx1, by1, bx2, by2 = box_d[j, 0], box_d[j, 1], box_d[j, 2], box_d[j, 3]
            area_b = (bx2 - bx1) * (by2 - by1)
            reach = False
            for k in range(ng):
                g = g0 + k
                if cls_g[g] != cls_d[j]:
                    iou[k] = zero
                    continue
                ax1, ay1, ax2, ay2 = box_g[g, 0], box_g[g, 1], box_g[g, 2], box_g[g, 3]
                iw = max(min(ax2, bx2) - max(ax1, bx1), zero)
                ih = max(min(ay2, by2) - max(ay1, by1), zero)
                inter = iw * ih
                iou[k] = inter / ((ax2 - ax1) * (ay2 - ay1) + area_b - inter + eps)
                if iou[k] >= tmin:
                    reach = True
            if not reach:
                continue
            for t in range(nt):
                best = 0  # np.argmax: the first of equal maxima
                best_v = zero if claimed[0, t] else iou[0]
                for k in range(1, ng):
                    v = zero if claimed[k, t] else iou[k]
                    if v > best_v:
                        best_v = v
                        best = k
                if best_v >= thresholds[t]:
                    correct[j, t] = True
                    claimed[best, t] = True
    return correct


def _smooth(y: np.ndarray, f: float = 0.05) -> np.ndarray:
    """Box-filter smoothing of width ``f`` of the length (ultralytics' ``smooth``)."""
    nf = round(len(y) * f * 2) // 2 + 1
    p = np.ones(nf // 2)
    yp = np.concatenate((p * y[0], y, p * y[-1]), 0)
    return np.convolve(yp, np.ones(nf) / nf, mode="valid")


def _average_precision(recall: np.ndarray, precision: np.ndarray) -> float:
    """AP: area under the precision envelope, 101-point interpolation (COCO; ultralytics' ``compute_ap``)."""
    mrec = np.concatenate(([0.0], recall, [recall[-1] if len(recall) else 1.0], [1.0]))
    mpre = np.concatenate(([1.0], precision, [0.0], [0.0]))
    mpre = np.flip(np.maximum.accumulate(np.flip(mpre)))
    return float(np.trapezoid(np.interp(_AP_X, mrec, mpre), _AP_X))


def ap_per_class(tp: np.ndarray, conf: np.ndarray, pred_cls: np.ndarray, target_cls: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall, F1 at the max-mean-F1 confidence and AP at each IoU threshold, per class.

    Parameters
    ----------
    tp : bool array (N, T)
        True-positive flags of the N detections at T IoU thresholds.
    conf : float32 array (N,)
        Confidences.
    pred_cls : int array (N,)
        Detected classes.
    target_cls : int array (M,)
        Class of every ground-truth box.

    Returns
    -------
    dict
        ``classes`` (int64 (C,), the classes with ground truth), ``num_gt`` (C,),
        ``num_det`` (C,), ``precision``, ``recall``, ``f1`` (float64 (C,)) and
        ``ap`` (float64 (C, T)). Same arithmetic as ``ultralytics.utils.metrics.ap_per_class``.
    """
    order = np.argsort(-conf)
    tp, conf, pred_cls = tp[order], conf[order], pred_cls[order]
    classes, nt = np.unique(target_cls, return_counts=True)
    nc = classes.shape[0]
    x = _CURVE_X
    ap = np.zeros((nc, tp.shape[1]))
    p_curve = np.zeros((nc, 1000))
    r_curve = np.zeros((nc, 1000))
    num_det = np.zeros(nc, np.int64)
    for ci, c in enumerate(classes):
        i = pred_cls == c
        n_l = nt[ci]
        n_p = int(i.sum())
        num_det[ci] = n_p
        if n_p == 0 or n_l == 0:
            continue
        fpc = (1 - tp[i]).cumsum(0)
        tpc = tp[i].cumsum(0)
        recall = tpc / (n_l + _EPS)
        r_curve[ci] = np.interp(-x, -conf[i], recall[:, 0], left=0)
        precision = tpc / (tpc + fpc)
        p_curve[ci] = np.interp(-x, -conf[i], precision[:, 0], left=1)
        for j in range(tp.shape[1]):
            ap[ci, j] = _average_precision(recall[:, j], precision[:, j])
    f1_curve = 2 * p_curve * r_curve / (p_curve + r_curve + _EPS)
    k = _smooth(f1_curve.mean(0), 0.1).argmax() if nc else 0
    return {
        "classes": classes.astype(np.int64),
        "num_gt": nt.astype(np.int64),
        "num_det": num_det,
        "precision": p_curve[:, k],
        "recall": r_curve[:, k],
        "f1": f1_curve[:, k],
        "ap": ap,
    }


@dataclass(frozen=True, eq=False)
class DetectionStats:
    """What the detection metrics are computed from (concatenated over frames and videos, in order)."""

    tp: np.ndarray  # bool (N, 10)
    conf: np.ndarray  # float32 (N,)
    pred_cls: np.ndarray  # int64 (N,)
    target_cls: np.ndarray  # int64 (M,)
    num_frames: int

    @staticmethod
    def concat(parts: list[DetectionStats]) -> DetectionStats:
        if not parts:
            return DetectionStats(
                np.zeros((0, 10), bool), np.zeros(0, np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64), 0
            )
        return DetectionStats(
            np.concatenate([p.tp for p in parts]),
            np.concatenate([p.conf for p in parts]),
            np.concatenate([p.pred_cls for p in parts]),
            np.concatenate([p.target_cls for p in parts]),
            sum(p.num_frames for p in parts),
        )


@dataclass(frozen=True, eq=False)
class DetectionScores:
    """Detection scores as the VISEM-Tracking paper's Table 2 (ultralytics' computation).

    Attributes
    ----------
    precision, recall : float
        Means over classes with ground truth of the per-class precision and
        recall at the confidence of maximum mean F1.
    mAP50, mAP50_95 : float
        Mean AP at IoU 0.5, and mean over classes and IoU 0.50:0.95.
    fitness : float
        ``0.1 mAP50 + 0.9 mAP50-95``.
    per_class : dict[str, dict]
        Per class name: ``precision, recall, mAP50, mAP50-95, fitness, num_gt, num_det``.
    per_video : dict[str, DetectionScores]
        Per-video scores when several videos were combined.
    num_gt, num_det, num_frames : int
    name : str
    """

    stats: DetectionStats
    name: str = "all"
    per_video: dict[str, DetectionScores] = field(default_factory=dict)
    _res: dict = field(init=False, repr=False)

    def __post_init__(self):
        s = self.stats
        object.__setattr__(self, "_res", ap_per_class(s.tp, s.conf, s.pred_cls, s.target_cls))

    @property
    def precision(self) -> float:
        """Mean precision over classes with ground truth (0 when there is none)."""
        p = self._res["precision"]
        return float(p.mean()) if len(p) else 0.0

    @property
    def recall(self) -> float:
        """Mean recall over classes with ground truth (0 when there is none)."""
        r = self._res["recall"]
        return float(r.mean()) if len(r) else 0.0

    @property
    def mAP50(self) -> float:
        """Mean AP at IoU 0.5."""
        ap = self._res["ap"]
        return float(ap[:, 0].mean()) if len(ap) else 0.0

    @property
    def mAP50_95(self) -> float:
        """Mean AP over IoU 0.50, 0.55, ..., 0.95."""
        ap = self._res["ap"]
        return float(ap.mean()) if len(ap) else 0.0

    @property
    def fitness(self) -> float:
        """``0.1 mAP50 + 0.9 mAP50-95`` (the paper's fitness)."""
        return 0.1 * self.mAP50 + 0.9 * self.mAP50_95

    @property
    def num_gt(self) -> int:
        """Ground-truth boxes."""
        return len(self.stats.target_cls)

    @property
    def num_det(self) -> int:
        """Detected boxes."""
        return len(self.stats.conf)

    @property
    def num_frames(self) -> int:
        """Frames evaluated."""
        return self.stats.num_frames

    @property
    def per_class(self) -> dict[str, dict]:
        """Per class with ground truth: Table 2's columns plus box counts."""
        r = self._res
        out = {}
        for k, c in enumerate(r["classes"].tolist()):
            ap50, ap = float(r["ap"][k, 0]), float(r["ap"][k].mean())
            out[class_name(c)] = {
                "precision": float(r["precision"][k]),
                "recall": float(r["recall"][k]),
                "mAP50": ap50,
                "mAP50-95": ap,
                "fitness": 0.1 * ap50 + 0.9 * ap,
                "num_gt": int(r["num_gt"][k]),
                "num_det": int(r["num_det"][k]),
            }
        return out

    def metrics(self) -> dict[str, float | int]:
        """Table 2's columns (JSON keys as the paper) and box counts, this level only."""
        return {
            "precision": self.precision,
            "recall": self.recall,
            "mAP50": self.mAP50,
            "mAP50-95": self.mAP50_95,
            "fitness": self.fitness,
            "num_gt": self.num_gt,
            "num_det": self.num_det,
            "num_frames": self.num_frames,
        }

    def to_dict(self) -> dict:
        """Nested dict: ``name``, the metrics, ``per_class``, ``per_video`` (same structure)."""
        out: dict = {"name": self.name, **self.metrics(), "per_class": self.per_class}
        if self.per_video:
            out["per_video"] = {k: v.to_dict() for k, v in self.per_video.items()}
        return out

    def rows(self) -> list[tuple[str, str, dict]]:
        """``(video, class, metrics)`` rows: each video with its classes, then the combined rows."""
        out = []
        for vid, vs in self.per_video.items():
            out.append((vid, "all", vs.metrics()))
            out += [(vid, c, m) for c, m in vs.per_class.items()]
        top = "combined" if self.per_video else self.name
        out.append((top, "all", self.metrics()))
        out += [(top, c, m) for c, m in self.per_class.items()]
        return out

    def table(self) -> str:
        """Readable table of Table 2's columns (x100), per video and class."""
        cols = (("P", "precision", "pct"), ("R", "recall", "pct"), ("mAP50", "mAP50", "pct"))
        cols += (
            ("mAP50-95", "mAP50-95", "pct"),
            ("fitness", "fitness", "pct"),
            ("GT", "num_gt", "int"),
            ("Det", "num_det", "int"),
        )
        header = ["video", "class", *[c[0] for c in cols]]
        body = [[v, c, *[format_value(m[key], kind) for _, key, kind in cols]] for v, c, m in self.rows()]
        return render(header, body, left=2) + "\nfitness = 0.1 mAP50 + 0.9 mAP50-95; P and R at the max mean-F1 confidence"

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return (
            f"DetectionScores(name={self.name!r}, precision={self.precision:.4f}, recall={self.recall:.4f}, "
            f"mAP50={self.mAP50:.4f}, mAP50-95={self.mAP50_95:.4f}, fitness={self.fitness:.4f})"
        )

    def to_series(self):
        """This level's metrics as a pandas Series."""
        import pandas as pd

        return pd.Series(self.metrics(), name=self.name)

    def to_dataframe(self):
        """All levels as a pandas DataFrame indexed by ``(video, class)``."""
        import pandas as pd

        rows = self.rows()
        index = pd.MultiIndex.from_tuples([(v, c) for v, c, _ in rows], names=["video", "class"])
        return pd.DataFrame([m for _, _, m in rows], index=index)

    @staticmethod
    def combine(parts, name: str = "combined") -> DetectionScores:
        """Pool the detections of several videos (as ultralytics pools images) and recompute."""
        return DetectionScores(DetectionStats.concat([p.stats for p in parts]), name=name)


def detection_stats(gt: Boxes, det: Boxes, num_frames: int | None = None, agnostic: bool = False) -> DetectionStats:
    """Match ``det`` to ``gt`` frame by frame (see module docstring); the inputs of :func:`ap_per_class`."""
    n = frame_range(gt, det, num_frames, "detections")
    # within each frame, detections by descending confidence (stable: ties keep the table's order)
    order = np.lexsort((-det.score, det.frame))
    det = det[order]
    cls_g = np.zeros(len(gt), np.int64) if agnostic else gt.cls.astype(np.int64)
    cls_d = np.zeros(len(det), np.int64) if agnostic else det.cls.astype(np.int64)
    frames = np.arange(n + 1)
    off_g = np.searchsorted(gt.frame, frames).astype(np.int64)
    off_d = np.searchsorted(det.frame, frames).astype(np.int64)
    correct = match_detections(
        off_g,
        np.ascontiguousarray(gt.xyxy, np.float32),
        cls_g,
        off_d,
        np.ascontiguousarray(det.xyxy, np.float32),
        cls_d,
        IOU_THRESHOLDS,
    )
    return DetectionStats(correct, det.score.astype(np.float32), cls_d, cls_g, n)


def detection(
    gt: Boxes, det: Boxes, *, num_frames: int | None = None, agnostic: bool = False, name: str = "all"
) -> DetectionScores:
    """Precision, recall, mAP50, mAP50-95 and fitness of detections, per class and overall.

    Parameters
    ----------
    gt : Boxes
        Ground-truth boxes (track ids ignored).
    det : Boxes
        Detections with confidences in ``score``.
    num_frames : int, optional
        Frames to evaluate; default ``gt.num_frames`` (a detection beyond it is an error).
    agnostic : bool
        Ignore classes (match any detection with any ground-truth box).
    name : str
        Name of the result.

    Returns
    -------
    DetectionScores

    Notes
    -----
    Conventions of ultralytics: classes without ground truth are left out (their
    detections count nowhere); with no ground truth at all every score is 0; a
    zero-area box matches nothing.

    Examples
    --------
    One of two sperm found (confidence 0.9), one false positive (0.8). Precision
    is read where the mean F1 is highest on ultralytics' interpolated
    precision-confidence curve (here halfway between the two confidences, 0.75);
    AP is the 101-point trapezoid of the precision envelope (recall 0.5 -> 0.495):

    >>> gt = Boxes([0, 0], [0, 50], [0, 0], [10, 60], [10, 10])
    >>> det = Boxes([0, 0], [0, 200], [0, 0], [10, 210], [10, 10], score=[0.9, 0.8])
    >>> s = detection(gt, det)
    >>> round(s.precision, 2), round(s.recall, 2), round(s.mAP50, 3), round(s.fitness, 3)
    (0.75, 0.5, 0.495, 0.495)
    """
    return DetectionScores(detection_stats(gt, det, num_frames, agnostic), name=name)


def detection_many(
    videos: Mapping[str, tuple[Boxes, Boxes]], *, num_frames: Mapping[str, int] | None = None, agnostic: bool = False
) -> DetectionScores:
    """Detection scores of several videos: per video, and all detections pooled (as ultralytics pools images)."""
    per_video = {}
    for vid, (gt, det) in videos.items():
        nf = None if num_frames is None else num_frames.get(vid)
        try:
            per_video[str(vid)] = detection(gt, det, num_frames=nf, agnostic=agnostic, name=str(vid))
        except EvaluationError as exc:
            raise EvaluationError(f"video {vid}: {exc}") from exc
    combined = DetectionScores.combine(per_video.values())
    return DetectionScores(combined.stats, name="combined", per_video=per_video)
