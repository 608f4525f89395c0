"""Two readings of one head: fuse the learnt model's boxes with the classical detector's.

The shipped model finds heads well but, on real frames that are blurrier than its
simulated training data, places its boxes a few pixels off; the classical detector (a
threshold on the background-flattened frame) measures where the bright blob is, but finds
debris too and sizes its boxes by a fixed convention. Where both see the same head, the
two are independent readings of it. :func:`fuse_boxes` combines them (a score-aware merge
in the spirit of weighted box fusion):

- each learnt sperm box is matched (greedily, highest score first, one to one) to the
  classical sperm box it overlaps most, when their IoU is at least ``match_iou``;
- a matched box keeps the model's width and height (the classical boxes are sized by a
  fixed convention, the model's follow the head), and its centre moves towards the
  classical centre by ``weight`` (0: the model's, 0.5: the midpoint);
- its score rises as two independent detections warrant: ``s + boost x (1 - s) x c``,
  ``c`` the classical score (a noisy-or damped by ``boost``);
- unmatched learnt boxes are kept as they are; unmatched classical boxes are not added
  (the classical detector's false positives are what makes it weaker on most looks).

How much the classical detector is trusted is chosen per video by the self-calibration
(:func:`agreement`, on the first batch of each video): the share of the model's confident
heads that the classical detector confirms and the share of the classical heads that the
model confirms, the smaller of the two. ``weight`` and ``boost`` are
:attr:`FusionConfig.centre_weight` and :attr:`FusionConfig.boost` times that agreement, so
on a look where the classical detector reads something else than the model (debris, wrong
polarity, a frame size it does not know) the fusion fades out by itself.

:func:`merge_flipped` is the weighted box fusion of two passes of one detector (the frame
and its mirror image: test-time augmentation, opt-in, since it doubles the model's time).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..algorithms.iou import iou_matrix  # the project's one IoU (zero-area rule included)
from ..boxes import SPERM, Boxes
from ..errors import ParameterError


@dataclass(frozen=True)
class FusionConfig:
    """Settings of the model + classical fusion (dimensionless; boxes in pixels of the frame).

    Attributes
    ----------
    centre_weight : float
        0-1: how far a matched box's centre moves towards the classical centre when the two
        detectors agree on every head of the video (0.5: the midpoint, the two readings
        weighted equally); scaled by the video's agreement.
    boost : float
        0-1: score increase of a box both detectors see, ``boost x (1 - s) x c`` at full
        agreement (``s`` the model's score, ``c`` the classical one); scaled by the agreement.
    match_iou : float
        0-1: a learnt and a classical box with at least this IoU are one head.
    confident : float
        0-1: model boxes with at least this score are the "confident heads" the agreement
        is measured on (the score a tracker keeps, 0.25).
    """

    centre_weight: float = 0.5
    boost: float = 0.3
    match_iou: float = 0.3
    confident: float = 0.25

    def __post_init__(self) -> None:
        for name in ("centre_weight", "boost", "match_iou", "confident"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= float(v) <= 1.0:
                raise ParameterError(f"fusion {name} must be a number from 0 to 1, got {v!r}")
            object.__setattr__(self, name, float(v))
        if self.match_iou == 0.0:
            raise ParameterError("fusion match_iou must be > 0 (0 would match boxes that do not overlap)")

    def to_dict(self) -> dict:
        return asdict(self)


def _xyxy(b: Boxes, idx: np.ndarray) -> np.ndarray:
    return np.stack([b.x1[idx], b.y1[idx], b.x2[idx], b.y2[idx]], 1).astype(np.float64)


def _frame_groups(frame: np.ndarray) -> dict[int, np.ndarray]:
    order = np.argsort(frame, kind="stable")
    frames, starts = np.unique(frame[order], return_index=True)
    return dict(zip(frames.tolist(), np.split(order, starts[1:])))


def _greedy_pairs(iou: np.ndarray, order: np.ndarray, thr: float) -> list[tuple[int, int]]:
    """One-to-one pairs (row, column) with IoU >= ``thr``, rows taken in ``order``, each its best free column."""
    pairs = []
    if iou.size == 0:
        return pairs
    free = np.ones(iou.shape[1], bool)
    for r in order:
        cand = np.where(free, iou[r], -1.0)
        c = int(np.argmax(cand))
        if cand[c] >= thr:
            pairs.append((int(r), c))
            free[c] = False
    return pairs


def agreement(model: Boxes, classical: Boxes, match_iou: float = 0.3, confident: float = 0.25) -> tuple[float, int, int]:
    """How far two detectors agree on the sperm heads of some frames: ``(agreement, n_model, n_classical)``.

    ``agreement`` (0-1) is the smaller of: the share of the model's sperm boxes scoring at
    least ``confident`` that overlap a classical sperm box by IoU >= ``match_iou``, and the
    share of the classical sperm boxes that overlap such a model box. 0 when either has none.
    """
    m = model.filter((model.cls == SPERM) & (model.score >= confident)) if len(model) else model
    c = classical.filter(classical.cls == SPERM) if len(classical) else classical
    if len(m) == 0 or len(c) == 0:
        return 0.0, len(m), len(c)
    hit_m = hit_c = 0
    groups_c = _frame_groups(c.frame)
    for f, im in _frame_groups(m.frame).items():
        ic = groups_c.get(f)
        if ic is None:
            continue
        iou = iou_matrix(_xyxy(m, im), _xyxy(c, ic)) >= match_iou
        hit_m += int(iou.any(1).sum())
        hit_c += int(iou.any(0).sum())
    return float(min(hit_m / len(m), hit_c / len(c))), len(m), len(c)


def fuse_boxes(model: Boxes, classical: Boxes, weight: float, boost: float, match_iou: float = 0.3) -> Boxes:
    """The model's boxes, those matched by a classical box moved and re-scored (see the module doc).

    Parameters
    ----------
    model, classical : Boxes
        Boxes of the same frames, pixels of the frame.
    weight : float
        0-1: share of the classical centre in a matched box's centre.
    boost : float
        0-1: a matched box's score becomes ``s + boost x (1 - s) x c``.
    match_iou : float
        Least IoU of a matched pair.

    Returns
    -------
    Boxes
        Same rows, frames, classes and sizes as ``model``; only the centres and scores of
        matched sperm boxes change.
    """
    if len(model) == 0 or len(classical) == 0 or (weight <= 0 and boost <= 0):
        return model
    cs = classical.filter(classical.cls == SPERM)
    if len(cs) == 0:
        return model
    x1, y1, x2, y2 = (np.asarray(v, np.float64).copy() for v in (model.x1, model.y1, model.x2, model.y2))
    score = np.asarray(model.score, np.float64).copy()
    groups_c = _frame_groups(cs.frame)
    sperm = model.cls == SPERM
    for f, im in _frame_groups(model.frame).items():
        ic = groups_c.get(f)
        if ic is None:
            continue
        im = im[sperm[im]]
        if len(im) == 0:
            continue
        iou = iou_matrix(_xyxy(model, im), _xyxy(cs, ic))
        order = np.argsort(-score[im], kind="stable")
        for r, c in _greedy_pairs(iou, order, match_iou):
            i, j = im[r], ic[c]
            dx = weight * (0.5 * (cs.x1[j] + cs.x2[j]) - 0.5 * (x1[i] + x2[i]))
            dy = weight * (0.5 * (cs.y1[j] + cs.y2[j]) - 0.5 * (y1[i] + y2[i]))
            x1[i] += dx
            x2[i] += dx
            y1[i] += dy
            y2[i] += dy
            score[i] += boost * (1.0 - score[i]) * float(cs.score[j])
    return model.replace(
        x1=x1.astype(np.float32),
        y1=y1.astype(np.float32),
        x2=x2.astype(np.float32),
        y2=y2.astype(np.float32),
        score=np.clip(score, 0.0, 1.0).astype(np.float32),
    )


def mirror(boxes: Boxes, width: int) -> Boxes:
    """Boxes found on horizontally mirrored frames of ``width`` pixels, in the original frames' pixels."""
    if len(boxes) == 0:
        return boxes
    return boxes.replace(x1=(width - boxes.x2).astype(np.float32), x2=(width - boxes.x1).astype(np.float32))


def merge_flipped(a: Boxes, b: Boxes, match_iou: float = 0.55) -> Boxes:
    """Weighted box fusion of two passes of one detector over the same frames (e.g. frame and mirror).

    Same-class boxes of the two passes with IoU >= ``match_iou`` (greedy, highest score
    first, one to one) become one box: coordinates averaged with the scores as weights,
    score the mean of the two. A box only one pass found keeps its coordinates with half its
    score (the other pass gave it 0), as weighted box fusion scores a box by the share of
    passes that found it.
    """
    n = max(a.num_frames, b.num_frames)
    if len(a) == 0 and len(b) == 0:
        return Boxes.empty(n)
    rows_f, rows_xy, rows_s, rows_c = [], [], [], []
    ga, gb = _frame_groups(a.frame), _frame_groups(b.frame)
    for f in sorted(set(ga) | set(gb)):
        ia = ga.get(f, np.zeros(0, np.int64))
        ib = gb.get(f, np.zeros(0, np.int64))
        xa, xb = _xyxy(a, ia), _xyxy(b, ib)
        sa, sb = a.score[ia].astype(np.float64), b.score[ib].astype(np.float64)
        iou = iou_matrix(xa, xb)
        if iou.size:
            iou[a.cls[ia][:, None] != b.cls[ib][None, :]] = -1.0
        pairs = _greedy_pairs(iou, np.argsort(-sa, kind="stable"), match_iou)
        used_a, used_b = np.zeros(len(ia), bool), np.zeros(len(ib), bool)
        for r, c in pairs:
            used_a[r] = used_b[c] = True
            w = sa[r] + sb[c]
            box = (sa[r] * xa[r] + sb[c] * xb[c]) / w if w > 0 else 0.5 * (xa[r] + xb[c])
            rows_xy.append(box[None])
            rows_s.append([0.5 * w])
            rows_c.append([a.cls[ia[r]]])
            rows_f.append([f])
        for x, s, idx, cls, used in ((xa, sa, ia, a.cls, used_a), (xb, sb, ib, b.cls, used_b)):
            keep = ~used
            if keep.any():
                rows_xy.append(x[keep])
                rows_s.append(0.5 * s[keep])
                rows_c.append(cls[idx[keep]])
                rows_f.append(np.full(int(keep.sum()), f))
    xy = np.concatenate(rows_xy).astype(np.float32)
    f = np.concatenate([np.asarray(r, np.int64) for r in rows_f]).astype(np.int32)
    order = np.argsort(f, kind="stable")
    return Boxes(
        f[order],
        xy[order, 0],
        xy[order, 1],
        xy[order, 2],
        xy[order, 3],
        score=np.concatenate([np.asarray(s, np.float64) for s in rows_s])[order].astype(np.float32),
        cls=np.concatenate([np.asarray(c, np.int64) for c in rows_c])[order].astype(np.int16),
        num_frames=n,
    )
