"""CLEAR MOT events (MOTA, MOTP, ID switches, fragmentations, MT/PT/ML) as py-motmetrics counts them.

One Numba pass over the frames replays ``motmetrics.MOTAccumulator.update``
(py-motmetrics 1.4) event for event, so every count equals the reference:

1. an object matched earlier to a hypothesis that is present in this frame and
   still overlaps it (distance ``1 - IoU <= 1 - threshold``) keeps it (MATCH);
2. the remaining objects and hypotheses are paired by a minimum-cost
   assignment of the distances (the SciPy algorithm, on the same matrix
   motmetrics builds: already-matched rows and columns and pairs below the
   threshold replaced by its large constant ``2 r c + 1``), so that exact ties
   fall as they do in motmetrics; a pair whose object was last matched to
   another hypothesis is a SWITCH (also ASCEND when the hypothesis is new), a
   pair whose hypothesis was last matched to another object is a TRANSFER
   (also MIGRATE when the object was never matched);
3. unpaired objects are misses (FN), unpaired hypotheses false positives (FP).

A fragmentation is a tracked -> missed transition of an object that is tracked
again later (motmetrics' ``num_fragmentations``); an object is mostly tracked
when matched in at least 80 % of the frames it is present in, mostly lost
below 20 %.
"""

from __future__ import annotations

import numba
import numpy as np

from ..algorithms.assignment import lsap

#: Order of the counters returned by :func:`clear_events`.
COUNTERS = (
    "num_matches",
    "num_switches",
    "num_transfer",
    "num_ascend",
    "num_migrate",
    "num_misses",
    "num_false_positives",
    "num_fragmentations",
)


@numba.njit(cache=True)
def clear_events(off_g, id_g, n_g, off_h, id_h, n_h, block, ious, max_dist):  # pragma: no cover - numba
    """Replay motmetrics' accumulator over all frames.

    Parameters
    ----------
    off_g, off_h : int64 arrays (F + 1,)
        Frame offsets of the ground-truth and hypothesis boxes.
    id_g, id_h : int64 arrays
        Identities relabelled ``0 .. n_g - 1`` and ``0 .. n_h - 1``, unique within a frame.
    n_g, n_h : int
        Number of distinct identities.
    block, ious : from :func:`~spermtrack.evaluate.matching.frame_ious` (ground truth rows).
    max_dist : float
        Largest distance ``1 - IoU`` that may pair (``1 - iou_threshold``).

    Returns
    -------
    counts : int64 array (8,)
        In the order of :data:`COUNTERS`.
    dist_sum : float
        Sum of ``1 - IoU`` over matches and switches (numerator of MOTP).
    present, tracked : int64 arrays (n_g,)
        Frames each object is present in, and matched in.
    """
    nf = off_g.shape[0] - 1
    last_hyp = np.full(n_g, -1, np.int64)  # motmetrics' m: object -> last paired hypothesis
    last_obj = np.full(n_h, -1, np.int64)  # res_m: hypothesis -> last paired object (assignment step only)
    hyp_seen = np.zeros(n_h, np.bool_)  # hypHistory
    obj_seen = np.zeros(n_g, np.bool_)  # last_match
    prev_tracked = np.zeros(n_g, np.bool_)
    gap_open = np.zeros(n_g, np.bool_)
    present = np.zeros(n_g, np.int64)
    tracked = np.zeros(n_g, np.int64)
    hpos = np.full(n_h, -1, np.int64)
    counts = np.zeros(8, np.int64)
    dist_sum = 0.0
    for f in range(nf):
        g0 = off_g[f]
        h0 = off_h[f]
        no = off_g[f + 1] - g0
        nh = off_h[f + 1] - h0
        base = block[f]
        omask = np.zeros(no, np.bool_)
        hmask = np.zeros(nh, np.bool_)
        if no > 0 and nh > 0:
            for j in range(nh):
                hpos[id_h[h0 + j]] = j
            # 1. keep established pairs
            for i in range(no):
                o = id_g[g0 + i]
                h = last_hyp[o]
                if h < 0:
                    continue
                j = hpos[h]
                if j < 0 or hmask[j]:
                    continue
                d = 1.0 - ious[base + i * nh + j]
                if d <= max_dist:
                    omask[i] = True
                    hmask[j] = True
                    counts[0] += 1
                    dist_sum += d
                    obj_seen[o] = True
                    hyp_seen[h] = True
            # 2. minimum-cost assignment of the rest, on motmetrics' matrix
            valid = np.zeros((no, nh), np.bool_)
            c = -1.0
            for i in range(no):
                if omask[i]:
                    continue
                for j in range(nh):
                    if hmask[j]:
                        continue
                    d = 1.0 - ious[base + i * nh + j]
                    if d <= max_dist:
                        valid[i, j] = True
                        c = max(c, abs(d))
            if c >= 0.0:
                large = 2 * min(no, nh) * (c + 1) + 1
                cost = np.empty((no, nh), np.float64)
                for i in range(no):
                    for j in range(nh):
                        cost[i, j] = 1.0 - ious[base + i * nh + j] if valid[i, j] else large
                rows, cols, _ = lsap(cost)
                for t in range(rows.shape[0]):
                    i = rows[t]
                    j = cols[t]
                    if not valid[i, j]:
                        continue
                    o = id_g[g0 + i]
                    h = id_h[h0 + j]
                    if last_hyp[o] >= 0 and last_hyp[o] != h:
                        counts[1] += 1  # SWITCH
                        if not hyp_seen[h]:
                            counts[3] += 1  # ASCEND
                    else:
                        counts[0] += 1
                    if last_obj[h] >= 0 and last_obj[h] != o:
                        counts[2] += 1  # TRANSFER
                        if not obj_seen[o]:
                            counts[4] += 1  # MIGRATE
                    hyp_seen[h] = True
                    obj_seen[o] = True
                    dist_sum += cost[i, j]
                    omask[i] = True
                    hmask[j] = True
                    last_hyp[o] = h
                    last_obj[h] = o
            for j in range(nh):
                hpos[id_h[h0 + j]] = -1
        # 3. misses and false positives; track-level bookkeeping
        for i in range(no):
            o = id_g[g0 + i]
            present[o] += 1
            if omask[i]:
                tracked[o] += 1
                if gap_open[o]:
                    counts[7] += 1
                    gap_open[o] = False
                prev_tracked[o] = True
            else:
                counts[5] += 1
                if prev_tracked[o]:
                    gap_open[o] = True
                prev_tracked[o] = False
        for j in range(nh):
            if not hmask[j]:
                counts[6] += 1
    return counts, dist_sum, present, tracked


def track_coverage(present: np.ndarray, tracked: np.ndarray) -> tuple[int, int, int]:
    """Mostly tracked, partially tracked and mostly lost objects (motmetrics' 80 % / 20 % rule).

    Parameters
    ----------
    present, tracked : int arrays (n_objects,)
        Frames each object is present in, and matched (MATCH or SWITCH) in.

    Returns
    -------
    (mt, pt, ml) : tuple of int

    Examples
    --------
    >>> track_coverage(np.array([10, 10, 10, 5]), np.array([8, 7, 1, 0]))
    (1, 1, 2)
    """
    keep = present > 0
    ratio = tracked[keep] / present[keep]
    mt = int(np.count_nonzero(ratio >= 0.8))
    pt = int(np.count_nonzero((ratio >= 0.2) & (ratio < 0.8)))
    ml = int(np.count_nonzero(ratio < 0.2))
    return mt, pt, ml
