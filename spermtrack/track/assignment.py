"""Linear assignment (rectangular, min-cost) in Numba.

:func:`lsap` is the shortest-augmenting-path algorithm of Jonker and
Volgenant in Crouse's form (D. F. Crouse, "On implementing 2D rectangular
assignment algorithms", IEEE TAES 2016), the algorithm SciPy's
``linear_sum_assignment`` uses, with the same tie-breaking, so the two return the
same assignment (the test suite checks this on random and degenerate
matrices). ``+inf`` marks a forbidden pair; NaN and ``-inf`` are invalid.

The tracker calls :func:`assign_gated`: pairs costing at least ``threshold`` are
not allowed to match. It clips the matrix at ``threshold`` and solves the
rectangular problem; a clipped pair "matched" at the threshold is the same as
leaving both ends unmatched, so the result is the optimal partial matching of
the gated problem (minimum of matched costs plus ``threshold / 2`` per
unmatched row or column), without padding the matrix with dummy rows and
columns. It solves each connected group of allowed pairs on its own.
"""

from __future__ import annotations

import numba
import numpy as np

#: Status codes of :func:`lsap`.
LSAP_OK, LSAP_INFEASIBLE, LSAP_INVALID = 0, 1, 2


@numba.njit(cache=True)
def _augment(cost, nc, u, v, path, row4col, spc, i, SR, SC, remaining):
    """Dijkstra from free row ``i`` over reduced costs; returns (sink column or -1, path length)."""
    min_val = 0.0
    num_remaining = nc
    for it in range(nc):
        # Reverse order: a constant matrix gives the identity (as SciPy).
        remaining[it] = nc - it - 1
    SR[:] = False
    SC[:] = False
    spc[:] = np.inf
    sink = -1
    while sink == -1:
        index = -1
        lowest = np.inf
        SR[i] = True
        ui = u[i]
        for it in range(num_remaining):
            j = remaining[it]
            r = min_val + cost[i, j] - ui - v[j]
            if r < spc[j]:
                path[j] = i
                spc[j] = r
            if spc[j] < lowest or (spc[j] == lowest and row4col[j] == -1):
                lowest = spc[j]
                index = it
        min_val = lowest
        if min_val == np.inf:
            return -1, min_val
        j = remaining[index]
        if row4col[j] == -1:
            sink = j
        else:
            i = row4col[j]
        SC[j] = True
        num_remaining -= 1
        remaining[index] = remaining[num_remaining]
    return sink, min_val


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
    u = np.zeros(nr)
    v = np.zeros(nc)
    spc = np.empty(nc)
    path = np.full(nc, -1, np.int64)
    col4row = np.full(nr, -1, np.int64)
    row4col = np.full(nc, -1, np.int64)
    SR = np.zeros(nr, np.bool_)
    SC = np.zeros(nc, np.bool_)
    remaining = np.empty(nc, np.int64)
    for cur in range(nr):
        sink, min_val = _augment(c, nc, u, v, path, row4col, spc, cur, SR, SC, remaining)
        if sink < 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), LSAP_INFEASIBLE
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
def _find(parent, i):
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


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
    group of one row and one column is matched directly, larger ones by :func:`lsap`
    on their sub-matrix, pairs not allowed set to ``threshold``.
    """
    out = np.full(nr, -1, np.int64)
    ne = rows.shape[0]
    if ne == 0:
        return out
    nn = nr + nc
    parent = np.arange(nn)
    for e in range(ne):
        ra, rb = _find(parent, rows[e]), _find(parent, nr + cols[e])
        if ra != rb:
            parent[rb] = ra
    has_edge = np.zeros(nn, np.bool_)
    for e in range(ne):
        has_edge[rows[e]] = True
        has_edge[nr + cols[e]] = True
    root = np.full(nn, -1, np.int64)
    size_r = np.zeros(nn, np.int64)
    size_c = np.zeros(nn, np.int64)
    for v in range(nn):
        if has_edge[v]:
            r = _find(parent, v)
            root[v] = r
            if v < nr:
                size_r[r] += 1
            else:
                size_c[r] += 1
    # members of each component, rows first then columns (nodes in index order), and local indices
    start = np.zeros(nn + 1, np.int64)
    for v in range(nn):
        start[v + 1] = start[v] + size_r[v] + size_c[v]
    fill = start[:-1].copy()
    members = np.empty(start[-1], np.int64)
    local = np.empty(nn, np.int64)
    for v in range(nn):
        if has_edge[v]:
            r = root[v]
            local[v] = fill[r] - start[r] - (0 if v < nr else size_r[r])
            members[fill[r]] = v
            fill[r] += 1
    # edges of each component
    estart = np.zeros(nn + 1, np.int64)
    for e in range(ne):
        estart[root[rows[e]] + 1] += 1
    for v in range(nn):
        estart[v + 1] += estart[v]
    efill = estart[:-1].copy()
    eorder = np.empty(ne, np.int64)
    for e in range(ne):
        r = root[rows[e]]
        eorder[efill[r]] = e
        efill[r] += 1
    for r in range(nn):
        k_r, k_c = size_r[r], size_c[r]
        if k_r == 0:
            continue
        s = start[r]
        if k_r == 1 and k_c == 1:
            out[members[s]] = members[s + 1] - nr
            continue
        sub = np.full((k_r, k_c), threshold)
        for q in range(estart[r], estart[r + 1]):
            e = eorder[q]
            sub[local[rows[e]], local[nr + cols[e]]] = cost[e]
        rr, cc, _ = lsap(sub)
        for t in range(rr.shape[0]):
            if sub[rr[t], cc[t]] < threshold:
                out[members[s + rr[t]]] = members[s + k_r + cc[t]] - nr
    return out


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
    ValueError
        When the matrix has NaN or ``-inf`` entries, is not 2-D, or no complete
        assignment avoids the ``+inf`` entries (the messages SciPy gives).

    Examples
    --------
    >>> linear_sum_assignment([[4.0, 1.0, 3.0], [2.0, 0.0, 5.0], [3.0, 2.0, 2.0]])
    (array([0, 1, 2]), array([1, 0, 2]))
    """
    c = np.asarray(cost, dtype=np.float64)
    if c.ndim != 2:
        raise ValueError(f"expected a matrix (2-D array), got a {c.ndim}-D array")
    rows, cols, status = lsap(np.ascontiguousarray(c))
    if status == LSAP_INVALID:
        raise ValueError("matrix contains invalid numeric entries")
    if status == LSAP_INFEASIBLE:
        raise ValueError("cost matrix is infeasible")
    return rows, cols
