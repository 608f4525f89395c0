"""The Numba assignment solver equals scipy.optimize.linear_sum_assignment."""

import numpy as np
import pytest
import scipy.optimize
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from spermtrack.track import linear_sum_assignment
from spermtrack.track.assignment import assign_gated


def _check_same(cost):
    r_ref, c_ref = scipy.optimize.linear_sum_assignment(cost)
    r, c = linear_sum_assignment(cost)
    assert r.shape == r_ref.shape
    if len(r):
        assert cost[r, c].sum() == pytest.approx(cost[r_ref, c_ref].sum(), rel=1e-12, abs=1e-12)
    # same algorithm and tie-breaking as SciPy: the same assignment even when it is not unique
    np.testing.assert_array_equal(r, r_ref)
    np.testing.assert_array_equal(c, c_ref)
    return r, c


@pytest.mark.parametrize("shape", [(1, 1), (5, 5), (7, 3), (3, 7), (30, 30), (65, 70), (70, 65)])
@pytest.mark.parametrize("seed", range(5))
def test_random_matrices(shape, seed):
    rng = np.random.default_rng(seed)
    _check_same(rng.random(shape) * 100)


@pytest.mark.parametrize("seed", range(5))
def test_integer_costs_with_many_ties(seed):
    rng = np.random.default_rng(seed)
    for shape in [(4, 4), (6, 9), (9, 6), (20, 20)]:
        _check_same(rng.integers(0, 3, size=shape).astype(float))


def test_degenerate_matrices():
    for cost in [np.zeros((6, 6)), np.ones((4, 7)), np.full((7, 4), 3.5), np.eye(5), -np.eye(5), np.zeros((1, 1))]:
        _check_same(cost)
    _, c = _check_same(np.ones((5, 5)))
    np.testing.assert_array_equal(c, np.arange(5))  # a constant matrix gives the identity


@pytest.mark.parametrize("shape", [(0, 0), (0, 5), (5, 0)])
def test_empty_matrices(shape):
    r, c = linear_sum_assignment(np.zeros(shape))
    assert r.shape == (0,) and c.shape == (0,)
    r_ref, _ = scipy.optimize.linear_sum_assignment(np.zeros(shape))
    assert r_ref.shape == (0,)


def test_forbidden_entries():
    rng = np.random.default_rng(3)
    for _ in range(20):
        cost = rng.random((8, 10))
        cost[rng.random(cost.shape) < 0.4] = np.inf
        try:
            scipy.optimize.linear_sum_assignment(cost)
        except ValueError:
            with pytest.raises(ValueError, match="infeasible"):
                linear_sum_assignment(cost)
            continue
        _check_same(cost)


def test_invalid_entries_raise_like_scipy():
    for bad in (np.nan, -np.inf):
        cost = np.ones((3, 3))
        cost[1, 2] = bad
        with pytest.raises(ValueError):
            scipy.optimize.linear_sum_assignment(cost)
        with pytest.raises(ValueError, match="invalid"):
            linear_sum_assignment(cost)
    with pytest.raises(ValueError, match="infeasible"):
        linear_sum_assignment(np.full((2, 2), np.inf))
    with pytest.raises(ValueError, match="2-D"):
        linear_sum_assignment(np.ones(3))


@settings(max_examples=150, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 8), st.integers(1, 8)),
        elements=st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.sampled_from([0.0, 1.0, np.inf])),
    )
)
def test_property_same_total_as_scipy(cost):
    try:
        r_ref, c_ref = scipy.optimize.linear_sum_assignment(cost)
    except ValueError:
        with pytest.raises(ValueError):
            linear_sum_assignment(cost)
        return
    r, c = linear_sum_assignment(cost)
    assert cost[r, c].sum() == pytest.approx(cost[r_ref, c_ref].sum(), rel=1e-9, abs=1e-6)


def _padded_reference(cost, threshold):
    """Jaqaman-style padded LAP: each row and column may stay unmatched at threshold / 2."""
    nr, nc = cost.shape
    top = np.hstack([np.where(cost < threshold, cost, np.inf), np.where(np.eye(nr, dtype=bool), threshold / 2, np.inf)])
    bottom = np.hstack([np.where(np.eye(nc, dtype=bool), threshold / 2, np.inf), np.zeros((nc, nr))])
    full = np.vstack([top, bottom])
    r, c = scipy.optimize.linear_sum_assignment(full)
    return full[r, c].sum()


@pytest.mark.parametrize("seed", range(20))
def test_gated_assignment_is_optimal_partial_matching(seed):
    rng = np.random.default_rng(seed)
    nr, nc = rng.integers(1, 12, size=2)
    cost = rng.random((nr, nc)) * 20
    threshold = 9.0
    match = assign_gated(cost, threshold)
    matched = match >= 0
    assert np.all(cost[np.flatnonzero(matched), match[matched]] < threshold)
    assert len(set(match[matched].tolist())) == matched.sum()  # one row per column
    n_match = int(matched.sum())
    ours = cost[np.flatnonzero(matched), match[matched]].sum() + (nr - n_match + nc - n_match) * threshold / 2
    assert ours == pytest.approx(_padded_reference(cost, threshold), rel=1e-12)


def test_gated_assignment_prefers_leaving_pairs_unmatched_over_a_costly_swap():
    # row 0 fits column 0 well; forcing two matches would pair row 1 with column 0 at a high cost
    cost = np.array([[0.1, 8.0], [8.5, 50.0]])
    np.testing.assert_array_equal(assign_gated(cost, 9.0), [0, -1])
    assert (assign_gated(np.full((3, 2), 20.0), 9.0) == -1).all()
    assert assign_gated(np.zeros((0, 4)), 9.0).shape == (0,)


@pytest.mark.parametrize("seed", range(4))
def test_gated_assignment_on_large_sparse_matrices(seed):
    # many small groups, as in a crowded frame: the result is still the optimal partial matching
    rng = np.random.default_rng(seed)
    nr, nc = 40, 45
    cost = np.full((nr, nc), 100.0)
    near = rng.random((nr, nc)) < 0.06
    cost[near] = rng.random(near.sum()) * 12
    match = assign_gated(cost, 9.0)
    matched = match >= 0
    n_match = int(matched.sum())
    ours = cost[np.flatnonzero(matched), match[matched]].sum() + (nr - n_match + nc - n_match) * 4.5
    assert ours == pytest.approx(_padded_reference(cost, 9.0), rel=1e-12)


@pytest.mark.parametrize("kind", [0, 1, 2])
def test_sparse_pairs_equal_the_dense_matrix_below_the_gate(kind):
    from track_reference import cost_matrix, gated_pairs

    rng = np.random.default_rng(kind)
    nt, m = 30, 40
    x = np.zeros((nt + 5, 4, 2))
    x[:nt, 0, 0], x[:nt, 1, 0] = rng.uniform(0, 200, nt), rng.uniform(0, 200, nt)
    x[:nt, 2, 0], x[:nt, 3, 0] = rng.uniform(10, 30, nt), rng.uniform(10, 30, nt)
    P = np.zeros((nt + 5, 4, 2, 2))
    P[:, :, 0, 0] = rng.uniform(1, 200, (nt + 5, 4))
    R = np.array([25.0, 25.0, 4.0, 4.0])
    z = np.column_stack([rng.uniform(0, 200, m), rng.uniform(0, 200, m), rng.uniform(10, 30, (m, 2))])
    slots = rng.permutation(nt + 5)[:nt].astype(np.int64)
    dets = rng.permutation(m)[:35].astype(np.int64)
    gate = {0: 16.0, 1: 1.5, 2: 0.9}[kind]
    dense = cost_matrix(x, P, R, slots, z, dets, kind, 0.5, 1.0, 0.7)
    rows, cols, cost = gated_pairs(x, P, R, slots, z, dets, kind, gate, 0.5, 1.0, 0.7)
    want = {(int(i), int(j)) for i, j in zip(*np.nonzero(dense < gate))}
    assert {(int(i), int(j)) for i, j in zip(rows, cols)} == want
    np.testing.assert_allclose(cost, dense[rows, cols], rtol=1e-12)
    assert 0 < len(want) < dense.size
