"""Linear assignment (rectangular, min-cost) in Numba.

:func:`lsap` is the shortest-augmenting-path algorithm of Jonker and
Volgenant in Crouse's form (D. F. Crouse, "On implementing 2D rectangular
assignment algorithms", IEEE TAES 2016), the algorithm SciPy's
``linear_sum_assignment`` uses, with the same tie-breaking, so the two return the
same assignment (the test suite checks this on random and degenerate
matrices). ``+inf`` marks a forbidden pair; NaN and ``-inf`` are invalid.

Shared by the tracker (:mod:`spermtrack.track`) and the metrics
(:mod:`spermtrack.evaluate`), which both import it from here (the bottom layer:
NumPy and Numba only). The tracker calls :func:`assign_sparse` with the allowed pairs of a frame
(:func:`assign_gated` is the same for a dense matrix): pairs costing at least
``threshold`` may not match. It clips the matrix at ``threshold`` and solves
the rectangular problem; a clipped pair "matched" at the threshold is the same
as leaving both ends unmatched, so the result is the optimal partial matching
of the gated problem (minimum of matched costs plus ``threshold / 2`` per
unmatched row or column), without padding the matrix with dummy rows and
columns. It solves each connected group of allowed pairs on its own.
"""

from __future__ import annotations

import numba
import numpy as np

#: Largest group (rows x columns of its sub-matrix) solved exactly; a larger connected
#: group of candidate pairs (only in crowds far denser than any sperm video: thousands of
#: boxes within one gate of each other) is matched greedily, cheapest pairs first, so that
#: memory and time stay bounded.
MAX_EXACT_CELLS = 1 << 16

#: Status codes of :func:`lsap`.
LSAP_OK, LSAP_INFEASIBLE, LSAP_INVALID = 0, 1, 2


@numba.njit(cache=True)
def _lsap_core(c, u, v, spc, path, col4row, row4col, SR, SC, remaining):
    """Solve the assignment of ``c`` (nr, nc) with ``nr <= nc`` into ``col4row``; returns a status.

    ``c`` holds finite values or ``+inf`` (checked by the caller). The other arguments are
    work buffers of at least ``nr`` (``u``, ``col4row``, ``SR``) or ``nc`` entries (the rest).
    Each row in turn is joined to the matching by a shortest augmenting path (Dijkstra over
    reduced costs), as in Crouse's paper and SciPy.
    """
    nr, nc = c.shape
    for i in range(nr):
        u[i] = 0.0
        col4row[i] = -1
    for j in range(nc):
        v[j] = 0.0
        path[j] = -1
        row4col[j] = -1
    for cur in range(nr):
        min_val = 0.0
        num_remaining = nc
        for it in range(nc):
            # Reverse order: a constant matrix gives the identity (as SciPy).
            remaining[it] = nc - it - 1
        for i in range(nr):
            SR[i] = False
        for j in range(nc):
            SC[j] = False
            spc[j] = np.inf
        sink = -1
        i = cur
        while sink == -1:
            index = -1
            lowest = np.inf
            SR[i] = True
            ui = u[i]
            for it in range(num_remaining):
                j = remaining[it]
                r = min_val + c[i, j] - ui - v[j]
                if r < spc[j]:
                    path[j] = i
                    spc[j] = r
                if spc[j] < lowest or (spc[j] == lowest and row4col[j] == -1):
                    lowest = spc[j]
                    index = it
            min_val = lowest
            if min_val == np.inf:
                return LSAP_INFEASIBLE
            j = remaining[index]
            if row4col[j] == -1:
                sink = j
            else:
                i = row4col[j]
            SC[j] = True
            num_remaining -= 1
            remaining[index] = remaining[num_remaining]
        u[cur] += min_val
        for i in range(nr):
            if SR[i] and i != cur:
                u[i] += min_val - spc[col4row[i]]
        for j in range(nc):
            if SC[j]:
                v[j] -= min_val - spc[j]
        j = sink
        while True:
            i = path[j]
            row4col[j] = i
            tmp = col4row[i]
            col4row[i] = j
            j = tmp
            if i == cur:
                break
    return LSAP_OK


@numba.njit(cache=True)
def lsap(cost):
    """Minimum-cost assignment of a rectangular matrix (Numba; SciPy's algorithm).

    Parameters
    ----------
    cost : float64 array (nr, nc)
        Cost of assigning row ``i`` to column ``j``; ``+inf`` forbids the pair.

    Returns
    -------
    rows, cols : int64 arrays (min(nr, nc),)
        The assignment, sorted by row, as ``scipy.optimize.linear_sum_assignment``.
    status : int
        ``LSAP_OK``, ``LSAP_INFEASIBLE`` (no complete assignment avoids the
        forbidden pairs) or ``LSAP_INVALID`` (NaN or ``-inf`` entries).
    """
    nr0, nc0 = cost.shape
    if nr0 == 0 or nc0 == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), LSAP_OK
    transpose = nc0 < nr0
    c = cost.T.copy() if transpose else cost
    nr, nc = c.shape
    for i in range(nr):
        for j in range(nc):
            e = c[i, j]
            if e != e or e == -np.inf:
                return np.zeros(0, np.int64), np.zeros(0, np.int64), LSAP_INVALID
    fw = np.empty(nr + 2 * nc)
    iw = np.empty(nr + 3 * nc, np.int64)
    bw = np.empty(nr + nc, np.bool_)
    col4row = iw[:nr]
    status = _lsap_core(
        c, fw[:nr], fw[nr : nr + nc], fw[nr + nc :], iw[nr : nr + nc], col4row, iw[nr + nc : nr + 2 * nc],
        bw[:nr], bw[nr:], iw[nr + 2 * nc :],
    )  # fmt: skip
    if status != LSAP_OK:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), status
    rows = np.empty(nr, np.int64)
    cols = np.empty(nr, np.int64)
    if transpose:
        # rows of the original matrix in ascending order (as SciPy's argsort of col4row)
        col_of = np.full(nc, -1, np.int64)
        for i in range(nr):
            col_of[col4row[i]] = i
        t = 0
        for j in range(nc):
            if col_of[j] >= 0:
                rows[t] = j
                cols[t] = col_of[j]
                t += 1
    else:
        for t in range(nr):
            rows[t] = t
            cols[t] = col4row[t]
    return rows, cols, LSAP_OK


@numba.njit(cache=True)
def assign_sparse(nr, nc, rows, cols, cost, threshold):
    """Optimal partial matching given the allowed pairs only (all costing ``< threshold``).

    Parameters
    ----------
    nr, nc : numbers of rows and columns.
    rows, cols : int64 (E,) the allowed pairs (each pair at most once).
    cost : float64 (E,) their costs, each ``< threshold``.
    threshold : float
        Cost of leaving a row and a column unmatched (``threshold / 2`` each).

    Returns
    -------
    int64 (nr,)
        Column matched to each row, ``-1`` where the row stays unmatched.

    Notes
    -----
    The pairs split the problem into independent groups (connected components); a
    group of one row and one column is matched directly, larger ones by the
    :func:`lsap` solver on their sub-matrix, pairs not allowed set to ``threshold``
    (the sub-matrix is built transposed when it has more rows than columns, as
    :func:`lsap` does). A group larger than :data:`MAX_EXACT_CELLS` is matched
    greedily (cheapest pairs first, costs binned finely). Work arrays are carved from a
    few allocations: this runs several times per frame.
    """
    out = np.full(nr, -1, np.int64)
    ne = rows.shape[0]
    if ne == 0:
        return out
    nn = nr + nc
    iw = np.empty(9 * nn + 2 + ne, np.int64)
    parent = iw[0:nn]
    root = iw[nn : 2 * nn]
    size_r = iw[2 * nn : 3 * nn]
    size_c = iw[3 * nn : 4 * nn]
    local = iw[4 * nn : 5 * nn]
    start = iw[5 * nn : 6 * nn + 1]
    fill = iw[6 * nn + 1 : 7 * nn + 1]
    members = iw[7 * nn + 1 : 8 * nn + 1]
    estart = iw[8 * nn + 1 : 9 * nn + 2]
    eorder = iw[9 * nn + 2 :]
    for v in range(nn):
        parent[v] = v
        root[v] = -1
        size_r[v] = 0
        size_c[v] = 0
        estart[v] = 0
    estart[nn] = 0
    # union-find over the pairs (path halving)
    for e in range(ne):
        ra = rows[e]
        while parent[ra] != ra:
            parent[ra] = parent[parent[ra]]
            ra = parent[ra]
        rb = nr + cols[e]
        while parent[rb] != rb:
            parent[rb] = parent[parent[rb]]
            rb = parent[rb]
        if ra != rb:
            parent[rb] = ra
        root[rows[e]] = 0  # marks "has a pair"; the root is set below
        root[nr + cols[e]] = 0
    for v in range(nn):
        if root[v] >= 0:
            r = v
            while parent[r] != r:
                parent[r] = parent[parent[r]]
                r = parent[r]
            root[v] = r
            if v < nr:
                size_r[r] += 1
            else:
                size_c[r] += 1
    # members of each component, rows first then columns (nodes in index order), and local indices
    start[0] = 0
    big_sub, big_dim = 0, 0
    for v in range(nn):
        start[v + 1] = start[v] + size_r[v] + size_c[v]
        fill[v] = start[v]
        if size_r[v] > 0 and size_r[v] + size_c[v] > 2 and size_r[v] * size_c[v] <= MAX_EXACT_CELLS:
            big_sub = max(big_sub, size_r[v] * size_c[v])
            big_dim = max(big_dim, max(size_r[v], size_c[v]))
    for v in range(nn):
        r = root[v]
        if r >= 0:
            local[v] = fill[r] - start[r] - (0 if v < nr else size_r[r])
            members[fill[r]] = v
            fill[r] += 1
    # pairs of each component
    for e in range(ne):
        estart[root[rows[e]] + 1] += 1
    for v in range(nn):
        estart[v + 1] += estart[v]
        fill[v] = estart[v]
    for e in range(ne):
        r = root[rows[e]]
        eorder[fill[r]] = e
        fill[r] += 1
    fw = np.empty(big_sub + 3 * big_dim)
    lw = np.empty(4 * big_dim, np.int64)
    bw = np.empty(2 * big_dim, np.bool_)
    u, v_, spc = fw[big_sub : big_sub + big_dim], fw[big_sub + big_dim : big_sub + 2 * big_dim], fw[big_sub + 2 * big_dim :]
    path, col4row, row4col, remaining = lw[:big_dim], lw[big_dim : 2 * big_dim], lw[2 * big_dim : 3 * big_dim], lw[3 * big_dim :]
    SR, SC = bw[:big_dim], bw[big_dim:]
    for r in range(nn):
        k_r, k_c = size_r[r], size_c[r]
        if k_r == 0:
            continue
        s = start[r]
        if k_r == 1 and k_c == 1:
            out[members[s]] = members[s + 1] - nr
            continue
        if k_r * k_c > MAX_EXACT_CELLS:
            _greedy(out, nr, rows, cols, cost, eorder[estart[r] : estart[r + 1]], threshold)
            continue
        transpose = k_c < k_r
        sub = fw[: k_r * k_c].reshape((k_c, k_r) if transpose else (k_r, k_c))
        for i in range(sub.shape[0]):
            for j in range(sub.shape[1]):
                sub[i, j] = threshold
        for q in range(estart[r], estart[r + 1]):
            e = eorder[q]
            if transpose:
                sub[local[nr + cols[e]], local[rows[e]]] = cost[e]
            else:
                sub[local[rows[e]], local[nr + cols[e]]] = cost[e]
        _lsap_core(sub, u, v_, spc, path, col4row, row4col, SR, SC, remaining)
        for i in range(sub.shape[0]):
            j = col4row[i]
            if sub[i, j] < threshold:
                if transpose:
                    out[members[s + j]] = members[s + k_r + i] - nr
                else:
                    out[members[s + i]] = members[s + k_r + j] - nr
    return out


@numba.njit(cache=True)
def _greedy(out, nr, rows, cols, cost, edges, threshold):
    """Match the pairs ``edges`` greedily, cheapest first (costs binned into 4096 levels), into ``out``."""
    nb = 4096
    lo = np.inf
    hi = -np.inf
    for e in edges:
        lo = min(lo, cost[e])
        hi = max(hi, cost[e])
    scale = (nb - 1) / (hi - lo) if hi > lo else 0.0
    start = np.zeros(nb + 1, np.int64)
    for e in edges:
        start[np.int64((cost[e] - lo) * scale) + 1] += 1
    for b in range(nb):
        start[b + 1] += start[b]
    order = np.empty(edges.shape[0], np.int64)
    for e in edges:
        b = np.int64((cost[e] - lo) * scale)
        order[start[b]] = e
        start[b] += 1
    col_used = np.zeros(cols.max() + 1 if cols.shape[0] else 1, np.bool_)
    for e in order:
        i, j = rows[e], cols[e]
        if out[i] < 0 and not col_used[j] and cost[e] < threshold:
            out[i] = j
            col_used[j] = True


@numba.njit(cache=True)
def assign_gated(cost, threshold):
    """Optimal partial matching where pairs costing ``>= threshold`` may not match.

    Parameters
    ----------
    cost : float64 array (nr, nc), finite or ``+inf``.
    threshold : float
        The gate (same units as ``cost``); must be finite.

    Returns
    -------
    int64 (nr,)
        Column matched to each row, ``-1`` where the row stays unmatched
        (see :func:`assign_sparse`).
    """
    nr, nc = cost.shape
    ne = 0
    for i in range(nr):
        for j in range(nc):
            if cost[i, j] < threshold:
                ne += 1
    rows = np.empty(ne, np.int64)
    cols = np.empty(ne, np.int64)
    vals = np.empty(ne)
    e = 0
    for i in range(nr):
        for j in range(nc):
            if cost[i, j] < threshold:
                rows[e], cols[e], vals[e] = i, j, cost[i, j]
                e += 1
    return assign_sparse(nr, nc, rows, cols, vals, threshold)


def linear_sum_assignment(cost) -> tuple[np.ndarray, np.ndarray]:
    """Drop-in for ``scipy.optimize.linear_sum_assignment`` (minimisation), backed by :func:`lsap`.

    Parameters
    ----------
    cost : array_like (nr, nc)
        Cost matrix; ``+inf`` forbids a pair.

    Returns
    -------
    rows, cols : int64 arrays, sorted by row.

    Raises
    ------
    ParameterError
        (a ``ValueError``, as SciPy raises) when the matrix has NaN or ``-inf`` entries,
        is not 2-D, or no complete assignment avoids the ``+inf`` entries (the messages
        SciPy gives).

    Examples
    --------
    >>> linear_sum_assignment([[4.0, 1.0, 3.0], [2.0, 0.0, 5.0], [3.0, 2.0, 2.0]])
    (array([0, 1, 2]), array([1, 0, 2]))
    """
    from ..errors import ParameterError

    c = np.asarray(cost, dtype=np.float64)
    if c.ndim != 2:
        raise ParameterError(f"expected a matrix (2-D array), got a {c.ndim}-D array")
    rows, cols, status = lsap(np.ascontiguousarray(c))
    if status == LSAP_INVALID:
        raise ParameterError("matrix contains invalid numeric entries")
    if status == LSAP_INFEASIBLE:
        raise ParameterError("cost matrix is infeasible")
    return rows, cols
