"""HOTA (Luiten et al., IJCV 2021) as TrackEval 1.3 computes it.

For each localisation threshold ``alpha`` in 0.05, 0.10, ..., 0.95:

- detections are matched per frame by a maximum-score assignment where the
  score of a pair is its IoU times the *global alignment* of the two
  identities (how much the two tracks overlap over the whole video, as a
  Jaccard index of soft per-frame overlaps); a pair counts as TP when its
  IoU is ``>= alpha``;
- ``DetA = TP / (TP + FN + FP)``;
- ``AssA = (1 / TP) sum over TP of TPA / (TPA + FNA + FPA)``, where for the
  pair of identities of a TP, TPA counts the frames they are matched,
  FNA/FPA the other frames of each;
- ``HOTA = sqrt(DetA * AssA)``; ``LocA`` the mean IoU of the TPs.

The reported values are the means over the 19 alphas. This is a line-by-line
port of ``trackeval.metrics.HOTA.eval_sequence`` to Numba, with sparse
storage of the identity pairs (only pairs that ever overlap) instead of
TrackEval's dense ``n_gt_ids x n_hyp_ids`` matrices (19 of them). The
per-frame sums are done in NumPy's summation order and the assignment is
SciPy's algorithm, so ties between equal scores are broken as TrackEval
breaks them.
"""

from __future__ import annotations

import numba
import numpy as np

from ..algorithms.assignment import lsap
from .matching import EPS

#: The localisation thresholds of HOTA (TrackEval's ``np.arange(0.05, 0.99, 0.05)``).
ALPHAS = np.arange(0.05, 0.99, 0.05)

#: Per-alpha arrays kept for each sequence (TrackEval's field names).
FIELDS = ("HOTA_TP", "HOTA_FN", "HOTA_FP", "AssA", "AssRe", "AssPr", "LocA")


@numba.njit(cache=True)
def _pairwise_sum(a, lo, n):  # pragma: no cover - numba
    """Sum of ``a[lo:lo + n]`` in NumPy's pairwise order (``np.add.reduce`` on a contiguous run)."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[lo + i]
        return res
    if n <= 128:
        r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
        r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
        i = 8
        stop = n - n % 8
        while i < stop:
            r0 += a[lo + i]
            r1 += a[lo + i + 1]
            r2 += a[lo + i + 2]
            r3 += a[lo + i + 3]
            r4 += a[lo + i + 4]
            r5 += a[lo + i + 5]
            r6 += a[lo + i + 6]
            r7 += a[lo + i + 7]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += a[lo + i]
            i += 1
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return _pairwise_sum(a, lo, n2) + _pairwise_sum(a, lo + n2, n - n2)


@numba.njit(cache=True)
def _soft_overlaps(off_g, id_g, n_g, off_h, id_h, n_h, block, ious):  # pragma: no cover - numba
    """First pass: per-frame normalised overlaps ``sim / (row sum + column sum - sim)`` and id counts."""
    gt_count = np.zeros(n_g, np.float64)
    hyp_count = np.zeros(n_h, np.float64)
    n = 0
    for k in range(ious.shape[0]):
        if ious[k] != 0.0:
            n += 1
    keys = np.empty(n, np.int64)  # at most one entry per non-zero IoU
    vals = np.empty(n, np.float64)
    n = 0
    for f in range(off_g.shape[0] - 1):
        g0 = off_g[f]
        h0 = off_h[f]
        ng = off_g[f + 1] - g0
        nh = off_h[f + 1] - h0
        for i in range(ng):
            gt_count[id_g[g0 + i]] += 1.0
        for j in range(nh):
            hyp_count[id_h[h0 + j]] += 1.0
        if ng == 0 or nh == 0:
            continue
        base = block[f]
        # similarity.sum(1): pairwise over each row; similarity.sum(0): row by row, or pairwise for one column
        row_sum = np.empty(ng)
        for i in range(ng):
            row_sum[i] = _pairwise_sum(ious, base + i * nh, nh)
        col_sum = np.zeros(nh)
        if nh == 1:
            col_sum[0] = _pairwise_sum(ious, base, ng)
        else:
            for i in range(ng):
                for j in range(nh):
                    col_sum[j] += ious[base + i * nh + j]
        for i in range(ng):
            for j in range(nh):
                s = ious[base + i * nh + j]
                denom = col_sum[j] + row_sum[i] - s
                if denom > EPS:
                    v = s / denom
                    if v != 0.0:
                        keys[n] = id_g[g0 + i] * n_h + id_h[h0 + j]
                        vals[n] = v
                        n += 1
    return gt_count, hyp_count, keys[:n], vals[:n]


@numba.njit(cache=True)
def _alignment(keys, vals, order, gt_count, hyp_count, n_h):  # pragma: no cover - numba
    """Unique pair keys and their global alignment ``P / (n_gt + n_hyp - P)`` (P summed in frame order)."""
    n = order.shape[0]
    ukeys = np.empty(n, np.int64)
    score = np.empty(n, np.float64)
    m = 0
    t = 0
    while t < n:
        k = keys[order[t]]
        acc = 0.0
        while t < n and keys[order[t]] == k:
            acc += vals[order[t]]
            t += 1
        ukeys[m] = k
        score[m] = acc / (gt_count[k // n_h] + hyp_count[k % n_h] - acc)
        m += 1
    return ukeys[:m], score[:m]


@numba.njit(cache=True)
def _match_frames(off_g, id_g, off_h, id_h, n_h, block, ious, ukeys, align, alphas):  # pragma: no cover - numba
    """Second pass: per-frame assignment; TP/FN/FP, summed IoU of TPs and TP counts per pair, per alpha."""
    na = alphas.shape[0]
    tp = np.zeros(na)
    fn = np.zeros(na)
    fp = np.zeros(na)
    loc = np.zeros(na)
    pair_tp = np.zeros((na, ukeys.shape[0]))
    for f in range(off_g.shape[0] - 1):
        g0 = off_g[f]
        h0 = off_h[f]
        ng = off_g[f + 1] - g0
        nh = off_h[f + 1] - h0
        if ng == 0:
            for a in range(na):
                fp[a] += nh
            continue
        if nh == 0:
            for a in range(na):
                fn[a] += ng
            continue
        base = block[f]
        cost = np.empty((ng, nh))
        kidx = np.full((ng, nh), -1, np.int64)
        for i in range(ng):
            for j in range(nh):
                s = ious[base + i * nh + j]
                g = 0.0
                if s != 0.0:
                    k = id_g[g0 + i] * n_h + id_h[h0 + j]
                    p = np.searchsorted(ukeys, k)
                    if p < ukeys.shape[0] and ukeys[p] == k:
                        g = align[p]
                        kidx[i, j] = p
                cost[i, j] = -(g * s)
        rows, cols, _ = lsap(cost)
        for a in range(na):
            thr = alphas[a] - EPS
            nm = 0
            acc = 0.0
            for t in range(rows.shape[0]):
                s = ious[base + rows[t] * nh + cols[t]]
                if s >= thr:
                    nm += 1
                    acc += s
                    pair_tp[a, kidx[rows[t], cols[t]]] += 1.0
            tp[a] += nm
            fn[a] += ng - nm
            fp[a] += nh - nm
            if nm > 0:
                loc[a] += acc
    return tp, fn, fp, loc, pair_tp


def hota_fields(off_g, id_g, n_g, off_h, id_h, n_h, block, ious) -> dict[str, np.ndarray]:
    """TrackEval's per-sequence HOTA fields, arrays over :data:`ALPHAS`.

    Arguments as :func:`~spermtrack.evaluate.clear.clear_events` (no threshold:
    HOTA sweeps its own). Returns a dict with the keys of :data:`FIELDS`
    (float64 arrays of shape (19,)).
    """
    na = len(ALPHAS)
    num_gt, num_hyp = int(off_g[-1]), int(off_h[-1])
    if num_hyp == 0 or num_gt == 0:  # TrackEval's early return
        res = {k: np.zeros(na) for k in FIELDS}
        res["HOTA_FN" if num_hyp == 0 else "HOTA_FP"] = np.full(na, float(num_gt if num_hyp == 0 else num_hyp))
        res["LocA"] = np.ones(na)
        return res
    gt_count, hyp_count, keys, vals = _soft_overlaps(off_g, id_g, n_g, off_h, id_h, n_h, block, ious)
    order = np.argsort(keys, kind="stable")
    ukeys, align = _alignment(keys, vals, order, gt_count, hyp_count, n_h)
    tp, fn, fp, loc, pair_tp = _match_frames(off_g, id_g, off_h, id_h, n_h, block, ious, ukeys, align, ALPHAS)
    union = gt_count[ukeys // n_h] + hyp_count[ukeys % n_h]  # per pair: n_gt(o) + n_hyp(h)
    denom = np.maximum(1.0, tp)
    res = {"HOTA_TP": tp, "HOTA_FN": fn, "HOTA_FP": fp}
    res["AssA"] = (pair_tp * (pair_tp / np.maximum(1.0, union - pair_tp))).sum(axis=1) / denom
    res["AssRe"] = (pair_tp * (pair_tp / np.maximum(1.0, gt_count[ukeys // n_h]))).sum(axis=1) / denom
    res["AssPr"] = (pair_tp * (pair_tp / np.maximum(1.0, hyp_count[ukeys % n_h]))).sum(axis=1) / denom
    res["LocA"] = np.maximum(1e-10, loc) / np.maximum(1e-10, tp)
    return res


def combine_hota(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Combine per-sequence HOTA fields as TrackEval's ``HOTA.combine_sequences`` does.

    TP, FN and FP are summed; AssA, AssRe, AssPr and LocA are averaged with
    weights TP (per alpha). Combining combined results gives the same as
    combining all sequences at once (up to rounding).
    """
    na = len(ALPHAS)
    res = {k: sum((p[k] for p in parts), np.zeros(na)) for k in ("HOTA_TP", "HOTA_FN", "HOTA_FP")}
    for k in ("AssRe", "AssPr", "AssA"):
        res[k] = sum((p[k] * p["HOTA_TP"] for p in parts), np.zeros(na)) / np.maximum(1.0, res["HOTA_TP"])
    loc = sum((p["LocA"] * p["HOTA_TP"] for p in parts), np.zeros(na))
    res["LocA"] = np.maximum(1e-10, loc) / np.maximum(1e-10, res["HOTA_TP"])
    return res


def final_fields(res: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """DetRe, DetPr, DetA, HOTA (per alpha) from the TP/FN/FP and AssA arrays (TrackEval's ``_compute_final_fields``)."""
    tp, fn, fp = res["HOTA_TP"], res["HOTA_FN"], res["HOTA_FP"]
    out = dict(res)
    out["DetRe"] = tp / np.maximum(1.0, tp + fn)
    out["DetPr"] = tp / np.maximum(1.0, tp + fp)
    out["DetA"] = tp / np.maximum(1.0, tp + fn + fp)
    out["HOTA"] = np.sqrt(out["DetA"] * res["AssA"])
    return out
