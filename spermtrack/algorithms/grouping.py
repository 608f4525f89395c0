"""Grouping rows by an integer key in O(N) (Numba): the counting sort behind :meth:`Boxes.groups`."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def counting_sort(key, k):
    """Rows sorted by ``key`` (int64, values ``0 .. k-1``), stable, and the group bounds.

    Returns ``order`` (int64 (N,)) and ``offsets`` (int64 (k + 1,)): the rows of key ``g``
    are ``order[offsets[g]:offsets[g+1]]``, in their original order.
    """
    offsets = np.zeros(k + 1, np.int64)
    for i in range(key.shape[0]):
        offsets[key[i] + 1] += 1
    for g in range(k):
        offsets[g + 1] += offsets[g]
    fill = offsets[:-1].copy()
    order = np.empty(key.shape[0], np.int64)
    for i in range(key.shape[0]):
        order[fill[key[i]]] = i
        fill[key[i]] += 1
    return order, offsets
