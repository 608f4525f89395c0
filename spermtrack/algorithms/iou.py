"""Intersection over union of axis-aligned boxes: one definition for the tracker and the metrics.

:func:`box_iou` is the scalar kernel (Numba, inlined into its callers): the tracker's
IoU cost (:mod:`spermtrack.track.costs`) and the per-frame overlaps of the tracking
metrics (:mod:`spermtrack.evaluate.matching`) both call it. It is computed in float64
with the arithmetic of TrackEval's ``_calculate_box_ious``, in that order, so the
values are TrackEval's to the last bit; py-motmetrics' ``boxiou`` gives the same
values for every box larger than :data:`EPS`.

Zero-area rule (decided once, here): a box whose area is at most :data:`EPS`
(2.2e-16 px², i.e. an empty or degenerate box) overlaps nothing: the IoU is 0, never
NaN, whatever the other box. Boxes that only touch (no interior in common) have IoU 0.
"""

from __future__ import annotations

import numba
import numpy as np

#: float64 machine epsilon (px²): boxes of no larger area overlap nothing (TrackEval's tolerance).
EPS = float(np.finfo(np.float64).eps)


@numba.njit(cache=True, inline="always")
def box_iou(ax1, ay1, ax2, ay2, bx1, by1, bx2, by2):  # pragma: no cover - numba
    """IoU of two boxes given by their corners (float64, pixels); 0 when either has zero area."""
    iw = min(ax2, bx2) - max(ax1, bx1)
    ih = min(ay2, by2) - max(ay1, by1)
    inter = max(iw, 0.0) * max(ih, 0.0)
    area_a = (ax2 - ax1) * (ay2 - ay1)
    area_b = (bx2 - bx1) * (by2 - by1)
    union = area_a + area_b - inter
    if area_a <= EPS or area_b <= EPS or union <= EPS:
        return 0.0
    return inter / union


@numba.njit(cache=True)
def _iou_block(a, b, out):  # pragma: no cover - numba
    for i in range(a.shape[0]):
        for j in range(b.shape[0]):
            out[i, j] = box_iou(a[i, 0], a[i, 1], a[i, 2], a[i, 3], b[j, 0], b[j, 1], b[j, 2], b[j, 3])


def iou_matrix(a, b) -> np.ndarray:
    """IoU of every box of ``a`` with every box of ``b``.

    Parameters
    ----------
    a, b : array_like (N, 4) and (M, 4)
        Corners ``x1, y1, x2, y2`` in pixels (any float dtype; computed in float64).

    Returns
    -------
    float64 array (N, M)
        IoU in [0, 1]; 0 for a zero-area box.

    Examples
    --------
    >>> iou_matrix([[0, 0, 10, 10]], [[5, 0, 15, 10], [0, 0, 0, 10]]).round(4).tolist()
    [[0.3333, 0.0]]
    """
    a = np.ascontiguousarray(np.asarray(a, dtype=np.float64).reshape(-1, 4))
    b = np.ascontiguousarray(np.asarray(b, dtype=np.float64).reshape(-1, 4))
    out = np.empty((len(a), len(b)))
    _iou_block(a, b, out)
    return out
