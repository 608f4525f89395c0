"""The algorithms shared by the tracker and the metrics: IoU (one zero-area rule), assignment, grouping."""

from __future__ import annotations

import numpy as np
import pytest

from spermtrack.algorithms import assignment, iou
from spermtrack.algorithms.grouping import counting_sort
from spermtrack.algorithms.iou import EPS, box_iou, iou_matrix


def naive_iou(a, b) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[2] - b[0]) * (b[3] - b[1])
    if area_a <= EPS or area_b <= EPS:
        return 0.0
    return iw * ih / (area_a + area_b - iw * ih)


def test_iou_values_and_the_zero_area_rule():
    rng = np.random.default_rng(0)
    a = np.sort(rng.uniform(0, 50, (30, 2, 2)), axis=1).transpose(0, 2, 1).reshape(30, 4)[:, [0, 2, 1, 3]]
    b = np.sort(rng.uniform(0, 50, (20, 2, 2)), axis=1).transpose(0, 2, 1).reshape(20, 4)[:, [0, 2, 1, 3]]
    got = iou_matrix(a, b)
    want = np.array([[naive_iou(p, q) for q in b] for p in a])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    assert got.max() > 0.1 and (got == 0).any()
    box = (0.0, 0.0, 10.0, 10.0)
    # empty boxes (a point, a line, a box thinner than EPS) overlap nothing, never NaN, even themselves
    for empty in ((5.0, 5.0, 5.0, 5.0), (0.0, 0.0, 0.0, 10.0), (2.0, 2.0, 2.0 + 1e-9, 2.0 + 1e-9)):
        assert box_iou(*box, *empty) == 0.0 and box_iou(*empty, *empty) == 0.0 and box_iou(*empty, *box) == 0.0
    assert box_iou(*box, 10.0, 0.0, 20.0, 10.0) == 0.0  # touching
    assert box_iou(*box, *box) == 1.0
    assert iou_matrix(np.zeros((0, 4)), [box]).shape == (0, 1)


def test_tracker_and_metrics_share_one_iou_and_one_solver():
    from spermtrack.evaluate import clear, hota, identity, matching
    from spermtrack.track import assignment as track_assignment
    from spermtrack.track import costs

    assert costs.box_iou is iou.box_iou and matching.box_iou is iou.box_iou and matching.iou_matrix is iou.iou_matrix
    assert clear.lsap is hota.lsap is identity.lsap is assignment.lsap
    # the old import path keeps working
    assert track_assignment.linear_sum_assignment is assignment.linear_sum_assignment
    assert track_assignment.assign_sparse is assignment.assign_sparse


def test_linear_sum_assignment_errors_are_parameter_errors():
    from spermtrack.errors import ParameterError

    with pytest.raises(ParameterError, match="infeasible"):
        assignment.linear_sum_assignment([[np.inf]])
    with pytest.raises(ValueError, match="2-D"):  # still a ValueError, as SciPy's
        assignment.linear_sum_assignment([1.0, 2.0])


def test_counting_sort_is_stable():
    key = np.array([2, 0, 2, 1, 0, 2], np.int64)
    order, off = counting_sort(key, np.int64(3))
    assert order.tolist() == [1, 4, 3, 0, 2, 5] and off.tolist() == [0, 2, 3, 6]
    order, off = counting_sort(np.zeros(0, np.int64), np.int64(0))
    assert len(order) == 0 and off.tolist() == [0]


@pytest.mark.parametrize("mod", [iou, assignment])
def test_docstring_examples(mod):
    import doctest

    failed, tried = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 0 and failed == 0, mod.__name__
