"""Per-frame box overlaps for the tracking metrics, computed once and shared.

Every tracking metric (CLEAR MOT, identity, HOTA) looks at the same thing: in
each frame, the intersection over union (IoU) of every ground-truth box with
every hypothesis box. :func:`frame_ious` computes all of them in one Numba pass
and stores them frame after frame in one flat array (a dense block of
``n_gt x n_hyp`` values per frame); the metric kernels read those blocks.

The IoU is :func:`spermtrack.algorithms.iou.box_iou` (shared with the tracker),
computed in float64 from the boxes' float32 corners with the arithmetic of
TrackEval's ``_calculate_box_ious`` (the same values to the last bit): a box whose
area is at most machine epsilon (2.2e-16 px²), i.e. a zero-area box, overlaps
nothing (IoU 0). py-motmetrics' ``boxiou`` gives the same values for every box
larger than that.

The within-frame order of the boxes is kept: it decides, as in the reference
libraries, which of two exactly tied assignments is taken.
"""

from __future__ import annotations

import numba
import numpy as np

from ..algorithms.iou import EPS, box_iou, iou_matrix

__all__ = ["EPS", "box_iou", "frame_ious", "iou_matrix"]


@numba.njit(cache=True)
def frame_ious(off_a, box_a, off_b, box_b):  # pragma: no cover - numba
    """IoU of every pair of boxes of ``a`` and ``b`` in the same frame.

    Parameters
    ----------
    off_a, off_b : int64 arrays (F + 1,)
        Frame offsets: the boxes of frame ``f`` are rows ``off[f]:off[f + 1]``.
    box_a, box_b : float64 arrays (N, 4)
        Corners ``x1, y1, x2, y2`` in pixels.

    Returns
    -------
    block : int64 array (F + 1,)
        Frame ``f``'s IoU block starts at ``ious[block[f]]``.
    ious : float64 array (sum over frames of n_a * n_b,)
        Row-major blocks: ``ious[block[f] + i * n_b + j]`` is the IoU of box
        ``i`` of ``a`` and box ``j`` of ``b`` in frame ``f`` (local indices).
    """
    nf = off_a.shape[0] - 1
    block = np.zeros(nf + 1, np.int64)
    for f in range(nf):
        block[f + 1] = block[f] + (off_a[f + 1] - off_a[f]) * (off_b[f + 1] - off_b[f])
    ious = np.empty(block[nf], np.float64)
    for f in range(nf):
        k = block[f]
        for i in range(off_a[f], off_a[f + 1]):
            ax1, ay1, ax2, ay2 = box_a[i, 0], box_a[i, 1], box_a[i, 2], box_a[i, 3]
            for j in range(off_b[f], off_b[f + 1]):
                ious[k] = box_iou(ax1, ay1, ax2, ay2, box_b[j, 0], box_b[j, 1], box_b[j, 2], box_b[j, 3])
                k += 1
    return block, ious
