"""Tracking metrics equal py-motmetrics 1.4 (CLEAR, identity) and TrackEval 1.3 (HOTA) to 1e-9.

The references run on the same boxes (tests/evaluate_reference.py): motmetrics'
MOTAccumulator fed frame by frame with 1 - IoU distances, TrackEval's HOTA
metric class on the data dict its datasets build.
"""

from __future__ import annotations

import doctest
import importlib
import json
import math
import os

import numpy as np
import pytest
from evaluate_cases import stack, swimming_case, tie_case
from evaluate_reference import (
    MM_METRICS,
    MM_TO_OURS,
    TE_TO_OURS,
    assert_equal_to_references,
    motmetrics_accumulator,
    motmetrics_reference,
    motmetrics_scipy_solver,
    trackeval_data,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spermtrack import Boxes
from spermtrack.evaluate import EvaluationError, TrackingScores, iou_matrix, json_safe, tracking, tracking_many

mm = pytest.importorskip("motmetrics")
trackeval = pytest.importorskip("trackeval")


@pytest.fixture(autouse=True)
def _pin_motmetrics_solver():
    """motmetrics' assignments on SciPy in every test here, whether or not ``lap`` is installed (docs/metrics.md)."""
    with motmetrics_scipy_solver():
        yield


def boxes(rows, num_frames=None, cls=None):
    """Boxes from rows ``(frame, id, x1, y1, x2, y2)``."""
    a = np.asarray(rows, np.float64).reshape(-1, 6)
    return Boxes.from_unsorted(a[:, 0], a[:, 2], a[:, 3], a[:, 4], a[:, 5], track_id=a[:, 1], cls=cls, num_frames=num_frames)


# ---------------------------------------------------------------------------------------------- random cases
@pytest.mark.parametrize("seed", range(12))
def test_random_sequences_equal_references(seed):
    gt, hyp = swimming_case(seed, num_frames=40, n_tracks=8)
    s = tracking(gt, hyp, per_class=False)
    assert_equal_to_references(s, gt, hyp)


def test_motmetrics_lap_solver_differs_from_scipy_only_in_tie_breaking(monkeypatch):
    """With ``lap`` installed, motmetrics 1.4 assigns with ``lap.lapjv`` instead of SciPy (docs/metrics.md).

    Without exact ties both solvers give every metric equal; on ``tie_case(13)`` lapjv picks
    another assignment of the same total cost in one frame and the counts that follow differ
    (7 matches against SciPy's 6). spermtrack equals motmetrics on SciPy.
    """
    pytest.importorskip("lap", reason="the test extra installs lap")
    import motmetrics.mot as mm_mot

    def same(a, b):
        return all(a[k] == b[k] or (np.isnan(a[k]) and np.isnan(b[k])) for k in MM_METRICS)

    for seed in range(3):
        gt, hyp = swimming_case(seed, num_frames=40, n_tracks=8)
        assert same(motmetrics_reference(gt, hyp, solver="lap"), motmetrics_reference(gt, hyp, solver="scipy")), seed

    matrices = []
    solve = mm_mot.linear_sum_assignment
    monkeypatch.setattr(
        mm_mot, "linear_sum_assignment", lambda costs, solver=None: (matrices.append(costs), solve(costs, solver))[1]
    )
    rng = np.random.default_rng(13)
    gt, hyp = tie_case(13, n_gt=int(rng.integers(1, 7)), n_hyp=int(rng.integers(1, 8)))
    ref_lap, ref_scipy = motmetrics_reference(gt, hyp, 0.3, solver="lap"), motmetrics_reference(gt, hyp, 0.3, solver="scipy")
    assert tracking(gt, hyp, 0.3, per_class=False).num_matches == ref_scipy["num_matches"] == 6
    assert ref_lap["num_matches"] == 7
    differ = 0
    for costs in matrices:
        a, b = mm.lap.linear_sum_assignment(costs, solver="scipy"), mm.lap.linear_sum_assignment(costs, solver="lap")
        assert len(a[0]) == len(b[0]) and costs[a].sum() == pytest.approx(costs[b].sum(), abs=1e-12)
        differ += not (np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]))
    assert differ >= 1, "lapjv and SciPy broke a tie differently"


@pytest.mark.parametrize("seed", range(24))
def test_exact_ties_empty_frames_zero_area_equal_references(seed):
    """Coarse-grid boxes: many exactly equal IoUs, so the assignment's tie-breaking must be the references'."""
    rng = np.random.default_rng(seed)
    gt, hyp = tie_case(seed, n_gt=int(rng.integers(1, 7)), n_hyp=int(rng.integers(1, 8)))
    thr = (0.5, 0.3, 0.75, 1.0)[seed % 4]
    s = tracking(gt, hyp, thr, per_class=False)
    assert_equal_to_references(s, gt, hyp, thr)


@pytest.mark.parametrize("seed", range(4))
def test_per_class_scores_are_class_wise_evaluations(seed):
    """Each class is evaluated alone (matching only within the class), as TrackEval's class-wise evaluation."""
    gt, hyp = swimming_case(100 + seed, num_frames=30, n_tracks=12)
    s = tracking(gt, hyp)
    names = ("sperm", "cluster", "small_or_pinhead")
    present = sorted(set(gt.cls.tolist()) | set(hyp.cls.tolist()))
    assert list(s.per_class) == [names[c] for c in present]
    for c in present:
        g, h = gt.filter(gt.cls == c), hyp.filter(hyp.cls == c)
        assert_equal_to_references(s.per_class[names[c]], g, h, num_frames=gt.num_frames)
    # class-agnostic scores match across classes: a class confusion is not an error there
    assert_equal_to_references(s, gt, hyp)


def test_longer_sequence_equal_references():
    gt, hyp = swimming_case(7, num_frames=150, n_tracks=40, size=24.0)
    assert gt.counts_per_frame().max() > 10
    assert_equal_to_references(tracking(gt, hyp, per_class=False), gt, hyp)


_box = st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 3), st.integers(0, 3))  # x, y, w, h in 5 px units
_side = st.dictionaries(st.integers(0, 4), _box, max_size=4)  # track id -> box, one frame


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_side, _side), min_size=1, max_size=6), st.sampled_from([0.3, 0.5, 0.8]))
def test_any_small_input_equals_references(frames, thr):
    """Hypothesis-generated frames: tiny grids, zero sizes, repeated boxes, empty frames."""
    sides = ([], [])
    for f, pair in enumerate(frames):
        for side, content in zip(sides, pair):
            side += [(f, tid, 5 * x, 5 * y, 5 * (x + w), 5 * (y + h)) for tid, (x, y, w, h) in content.items()]
    gt, hyp = (boxes(rows, num_frames=len(frames)) for rows in sides)
    assert_equal_to_references(tracking(gt, hyp, thr, per_class=False), gt, hyp, thr)


# ---------------------------------------------------------------------------------------------- adversarial
def test_identity_swap():
    # two objects side by side; the tracker swaps their identities for frames 2-3
    gt = boxes([(f, i, 30 * i, 0, 30 * i + 20, 20) for f in range(6) for i in (1, 2)])
    hyp_id = {1: [7, 7, 8, 8, 7, 7], 2: [8, 8, 7, 7, 8, 8]}
    hyp = boxes([(f, hyp_id[i][f], 30 * i, 0, 30 * i + 20, 20) for f in range(6) for i in (1, 2)])
    s = tracking(gt, hyp)
    assert (s.idsw, s.fp, s.fn, s.tp) == (4, 0, 0, 12)  # switch at frame 2 and back at frame 4, both objects
    assert s.mota == pytest.approx(1 - 4 / 12)
    assert s.idtp == 8 and s.idf1 == pytest.approx(8 / 12)
    assert s.deta == pytest.approx(1.0) and s.assa < 1.0
    assert_equal_to_references(s, gt, hyp)


def test_crossing_tracks():
    # two objects cross (x swaps over 11 frames); the tracker follows positions but keeps ids by nearest box
    rows, hyp_rows = [], []
    for f in range(11):
        xa, xb = 10 * f, 100 - 10 * f
        rows += [(f, 1, xa, 0, xa + 30, 30), (f, 2, xb, 5, xb + 30, 35)]
        if f < 5:
            hyp_rows += [(f, 10, xa, 0, xa + 30, 30), (f, 20, xb, 5, xb + 30, 35)]
        else:  # after the crossing the tracker's ids follow the wrong objects
            hyp_rows += [(f, 20, xa + 1, 0, xa + 31, 30), (f, 10, xb + 1, 5, xb + 31, 35)]
    gt, hyp = boxes(rows), boxes(hyp_rows)
    s = tracking(gt, hyp)
    assert s.idsw >= 2 and s.fn + s.fp == 0
    assert_equal_to_references(s, gt, hyp)


def test_fragmented_track():
    # one object over 10 frames; the hypothesis misses frames 3-4 and 7 -> 2 fragmentations
    gt = boxes([(f, 1, 0, 0, 10, 10) for f in range(10)])
    hyp = boxes([(f, 5, 0, 0, 10, 10) for f in range(10) if f not in (3, 4, 7)])
    s = tracking(gt, hyp)
    assert (s.frag, s.fn, s.idsw, s.mt) == (2, 3, 0, 0)
    assert s.pt == 1  # 7/10 tracked
    assert_equal_to_references(s, gt, hyp)


def test_exactly_tied_ious_two_hypotheses_one_object():
    # both hypotheses overlap the object with the same IoU; the first frame decides, later frames keep it
    gt = boxes([(f, 1, 10, 10, 30, 30) for f in range(4)])
    hyp = boxes([(f, k, 10 + d, 10, 30 + d, 30) for f in range(4) for k, d in ((3, -5), (4, 5))])
    s = tracking(gt, hyp)
    assert (s.tp, s.fp, s.idsw) == (4, 4, 0)
    assert_equal_to_references(s, gt, hyp)


def test_zero_area_boxes_never_match():
    gt = boxes([(0, 1, 5, 5, 5, 15), (1, 1, 5, 5, 15, 15)])  # zero width in frame 0
    hyp = boxes([(0, 2, 5, 5, 5, 15), (1, 2, 5, 5, 15, 15)])  # the same zero-area box
    assert iou_matrix([[5, 5, 5, 15]], [[5, 5, 5, 15]])[0, 0] == 0.0
    s = tracking(gt, hyp)
    assert (s.tp, s.fn, s.fp) == (1, 1, 1)
    assert_equal_to_references(s, gt, hyp)


def test_empty_frames_count_only_as_frames():
    gt = boxes([(0, 1, 0, 0, 10, 10), (9, 1, 0, 0, 10, 10)], num_frames=12)
    hyp = boxes([(0, 1, 0, 0, 10, 10), (9, 1, 0, 0, 10, 10)], num_frames=12)
    s = tracking(gt, hyp)
    assert (s.num_frames, s.mota, s.idf1, s.hota) == (12, 1.0, 1.0, 1.0)
    assert_equal_to_references(s, gt, hyp)


@pytest.mark.parametrize("which", ["gt", "hyp", "both"])
def test_empty_ground_truth_or_hypothesis_follow_the_references(which):
    some = boxes([(f, 1, 0, 0, 10, 10) for f in range(5)], num_frames=5)
    none = Boxes.empty(5)
    gt, hyp = (none, some) if which == "gt" else (some, none) if which == "hyp" else (none, none)
    s = tracking(gt, hyp)
    assert_equal_to_references(s, gt, hyp)
    if which == "gt":
        assert (s.fp, s.mota, s.idf1, s.hota, s.loca) == (5, -math.inf, 0.0, 0.0, 1.0)
        assert math.isnan(s.motp) and math.isnan(s.recall)
    elif which == "hyp":
        assert (s.fn, s.mota, s.recall, s.idf1, s.hota) == (5, 0.0, 0.0, 0.0, 0.0)
    else:
        assert math.isnan(s.mota) and math.isnan(s.idf1) and s.hota == 0.0


# ---------------------------------------------------------------------------------------------- MOT15 data of motmetrics
MOTMETRICS_EXPECTED = {
    # motmetrics/tests/test_metrics.py::test_motchallenge_files (py-motmetrics 1.4.0), columns:
    # idf1 idp idr recall precision num_unique_objects mostly_tracked partially_tracked mostly_lost
    # num_false_positives num_misses num_switches num_fragmentations mota motp
    "TUD-Campus": [0.557659, 0.729730, 0.451253, 0.582173, 0.941441, 8, 1, 6, 1, 13, 150, 7, 7, 0.526462, 0.277201],
    "TUD-Stadtmitte": [0.644619, 0.819760, 0.531142, 0.608997, 0.939920, 10, 5, 4, 1, 45, 452, 7, 6, 0.564014, 0.345904],
    "OVERALL": [0.624296, 0.799176, 0.512211, 0.602640, 0.940268, 18, 6, 10, 2, 58, 602, 14, 13, 0.555116, 0.330177],
}
EXPECTED_COLUMNS = ["idf1", "idp", "idr", "recall", "precision", "num_unique_objects", "mostly_tracked", "partially_tracked"]
EXPECTED_COLUMNS += ["mostly_lost", "num_false_positives", "num_misses", "num_switches", "num_fragmentations", "mota", "motp"]


@pytest.fixture(scope="module")
def mot15():
    from spermtrack.io.mot import read_mot

    data = os.path.join(os.path.dirname(mm.__file__), "data")
    out = {}
    for name in ("TUD-Campus", "TUD-Stadtmitte"):
        gt, hyp = read_mot(os.path.join(data, name, "gt.txt")), read_mot(os.path.join(data, name, "test.txt"))
        out[name] = (gt, hyp, max(gt.num_frames, hyp.num_frames), os.path.join(data, name))
    return out


def test_mot15_sequences_reproduce_motmetrics_expected_table(mot15):
    s = tracking_many({k: v[:2] for k, v in mot15.items()}, num_frames={k: v[2] for k, v in mot15.items()}, per_class=False)
    for name, expected in MOTMETRICS_EXPECTED.items():
        ours = s if name == "OVERALL" else s.per_video[name]
        for col, exp in zip(EXPECTED_COLUMNS, expected):
            value = getattr(ours, MM_TO_OURS[col])
            if isinstance(exp, int):
                assert value == exp, (name, col)
            else:  # the expected values are printed to 6 decimals
                assert value == pytest.approx(exp, abs=5e-7), (name, col)


def test_mot15_sequences_equal_motmetrics_own_pipeline(mot15, monkeypatch):
    """motmetrics' own loader and IoU (float64 from the text) on the same files: every count equal."""
    monkeypatch.setattr(np, "asfarray", lambda a, dtype=np.float64: np.asarray(a, dtype=dtype), raising=False)
    accs, names = [], list(mot15)
    for name in names:
        d = mot15[name][3]
        gt_df, hyp_df = mm.io.loadtxt(os.path.join(d, "gt.txt")), mm.io.loadtxt(os.path.join(d, "test.txt"))
        accs.append(mm.utils.compare_to_groundtruth(gt_df, hyp_df, "iou", distth=0.5))
    mh = mm.metrics.create()
    metrics = [m for m in MM_METRICS if m != "num_frames"]  # motmetrics counts only frames with a box
    summary = mh.compute_many(accs, metrics=metrics, names=names, generate_overall=True)
    s = tracking_many({k: v[:2] for k, v in mot15.items()}, num_frames={k: v[2] for k, v in mot15.items()}, per_class=False)
    for row, ours in [(n, s.per_video[n]) for n in names] + [("OVERALL", s)]:
        for m in metrics:
            tol = 1e-6 if m == "motp" else 1e-12  # our boxes are float32, motmetrics' float64
            assert getattr(ours, MM_TO_OURS[m]) == pytest.approx(summary.loc[row, m], abs=tol), (row, m)


def test_mot15_sequences_equal_references_exactly(mot15):
    for gt, hyp, n, _ in mot15.values():
        assert_equal_to_references(tracking(gt, hyp, num_frames=n, per_class=False), gt, hyp, num_frames=n)


# ---------------------------------------------------------------------------------------------- combining videos
def test_combined_videos_equal_motmetrics_overall_and_trackeval_combine():
    from trackeval.metrics import HOTA

    videos = {f"v{k}": swimming_case(200 + k, num_frames=25, n_tracks=6) for k in range(3)}
    s = tracking_many(videos, per_class=False)
    mh = mm.metrics.create()
    accs = [motmetrics_accumulator(g, h) for g, h in videos.values()]
    summary = mh.compute_many(accs, metrics=MM_METRICS, names=list(videos), generate_overall=True)
    for m in MM_METRICS:
        assert getattr(s, MM_TO_OURS[m]) == pytest.approx(summary.loc["OVERALL", m], abs=1e-9, nan_ok=True), m
    metric = HOTA()
    per_seq = {v: metric.eval_sequence(trackeval_data(g, h)) for v, (g, h) in videos.items()}
    comb = metric.combine_sequences(per_seq)
    for te, ours in TE_TO_OURS.items():
        assert getattr(s, ours) == pytest.approx(float(np.mean(comb[te])), abs=1e-9), te
    # a combination is not a mean of ratios
    assert s.mota != pytest.approx(np.mean([v.mota for v in s.per_video.values()]), abs=1e-12)
    # combining is associative: (a + b) + c == a + (b + c) == all at once
    a, b, c = s.per_video.values()
    for x in ((a + b) + c, a + (b + c)):
        for k in ("mota", "idf1", "hota", "assa", "loca", "motp"):
            assert getattr(x, k) == pytest.approx(getattr(s, k), abs=1e-12)


def test_combined_per_class_is_the_class_combined_over_videos():
    videos = {f"v{k}": swimming_case(300 + k, num_frames=20, n_tracks=10) for k in range(2)}
    s = tracking_many(videos)
    for cname, cs in s.per_class.items():
        parts = [v.per_class[cname] for v in s.per_video.values() if cname in v.per_class]
        ref = TrackingScores.combine(parts)
        assert (cs.fp, cs.fn, cs.idsw, cs.idtp) == (ref.fp, ref.fn, ref.idsw, ref.idtp)
        assert cs.hota == pytest.approx(ref.hota, abs=1e-12)


def test_a_long_video_equals_its_videos_stacked_for_counts():
    videos = [swimming_case(400 + k, num_frames=20, n_tracks=5, classes=False) for k in range(2)]
    s = tracking_many(dict(enumerate(videos)), per_class=False)
    # with identities kept apart per video, one stacked sequence gives the same counts
    shifted = [
        (g.replace(track_id=g.track_id + 10**6 * k), h.replace(track_id=h.track_id + 10**6 * k))
        for k, (g, h) in enumerate(videos)
    ]
    one = tracking(*stack(shifted), per_class=False)
    for k in ("num_gt", "num_hyp", "fp", "fn", "idsw", "frag", "mt", "pt", "ml", "idtp", "num_frames"):
        assert getattr(one, k) == getattr(s, k), k


# ---------------------------------------------------------------------------------------------- bad input
def test_duplicate_id_in_a_frame_is_an_error_naming_frame_and_id():
    gt = boxes([(0, 1, 0, 0, 10, 10), (3, 4, 0, 0, 10, 10), (3, 4, 20, 0, 30, 10)])
    with pytest.raises(EvaluationError, match=r"track id 4 twice in frame 3"):
        tracking(gt, gt.replace(track_id=np.array([1, 2, 3])))
    with pytest.raises(EvaluationError, match=r"hypothesis has track id 4 twice in frame 3"):
        tracking(gt.replace(track_id=np.array([1, 2, 3])), gt)


def test_untracked_boxes_are_an_error():
    gt = boxes([(0, 1, 0, 0, 10, 10)])
    with pytest.raises(EvaluationError, match="without a track id in frame 0"):
        tracking(gt, gt.replace(track_id=np.array([-1])))


def test_hypothesis_beyond_ground_truth_is_an_error_unless_num_frames_is_given():
    gt = boxes([(f, 1, 0, 0, 10, 10) for f in range(5)])
    hyp = boxes([(f, 1, 0, 0, 10, 10) for f in range(8)])
    with pytest.raises(EvaluationError, match=r"frame 7 .*covers frames 0..4.*num_frames=8"):
        tracking(gt, hyp)
    s = tracking(gt, hyp, num_frames=8)  # frames 5-7 have no ground truth: 3 false positives
    assert (s.num_frames, s.fp, s.tp) == (8, 3, 5)
    assert_equal_to_references(s, gt, hyp, num_frames=8)
    with pytest.raises(EvaluationError, match="beyond num_frames=6"):
        tracking(gt, hyp, num_frames=6)
    # a hypothesis that ends early is fine: the missing frames are empty
    assert tracking(hyp, gt).fn == 3


@pytest.mark.parametrize("thr", [0.0, -0.1, 1.5, float("nan")])
def test_bad_threshold(thr):
    gt = boxes([(0, 1, 0, 0, 10, 10)])
    with pytest.raises(EvaluationError, match="iou_threshold"):
        tracking(gt, gt, thr)


# ---------------------------------------------------------------------------------------------- results object
def test_results_object_outputs():
    videos = {"11": swimming_case(1, num_frames=20), "12": swimming_case(2, num_frames=20)}
    s = tracking_many(videos)
    d = s.to_dict(alpha=True)
    assert d["name"] == "combined" and set(d["per_video"]) == {"11", "12"}
    for k in ("hota", "deta", "assa", "loca", "mota", "motp", "idf1", "idp", "idr", "idsw", "frag", "fp", "fn", "mt", "pt", "ml"):
        assert k in d and k in d["per_video"]["11"]
    assert len(d["hota_alpha"]["HOTA"]) == 19 and d["hota_alpha"]["alpha"][0] == pytest.approx(0.05)
    assert np.mean(d["hota_alpha"]["HOTA"]) == pytest.approx(s.hota)
    json.dumps(json_safe(d), allow_nan=False)
    text = s.table()
    assert "HOTA" in text and "combined" in text and "11" in text and "sperm" in text
    df = s.to_dataframe()
    assert ("combined", "all") in df.index and ("11", "sperm") in df.index
    assert df.loc[("combined", "all"), "mota"] == pytest.approx(s.mota)
    row = s.per_video["11"].to_series()
    assert row.name == "11" and row["idf1"] == pytest.approx(s.per_video["11"].idf1)
    assert "MOTA=" in repr(s)


def test_combining_different_thresholds_is_an_error():
    gt, hyp = swimming_case(5, num_frames=10)
    with pytest.raises(EvaluationError, match="different IoU thresholds"):
        tracking(gt, hyp, 0.5) + tracking(gt, hyp, 0.6)


def test_empty_combination():
    s = tracking_many({})
    assert s.num_gt == 0 and s.hota == 0.0 and math.isnan(s.mota)


@pytest.mark.parametrize("name", ["tracking", "clear", "table", "_inputs"])  # iou_matrix: tests/test_algorithms.py
def test_docstring_examples(name):
    mod = importlib.import_module(f"spermtrack.evaluate.{name}")  # the package's 'tracking' attribute is the function
    failed, tried = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 0 and failed == 0, mod.__name__


# ---------------------------------------------------------------------------------------------- kernels on given IoUs
def _random_similarity_sequence(rng, num_frames=5, n_g=5, n_h=5):
    """Frames of (gt ids, hyp ids, IoU matrix) with IoUs from a few values: ties everywhere."""
    frames = []
    for _ in range(num_frames):
        g = rng.choice(n_g, int(rng.integers(0, n_g + 1)), replace=False)
        h = rng.choice(n_h, int(rng.integers(0, n_h + 1)), replace=False)
        frames.append((g, h, rng.choice([1.0, 0.9, 0.75, 0.5, 0.3, 0.0, 0.0], (len(g), len(h)))))
    return frames


def _kernel_inputs(frames):
    off_g, off_h, block = [0], [0], [0]
    for g, h, s in frames:
        off_g.append(off_g[-1] + len(g))
        off_h.append(off_h[-1] + len(h))
        block.append(block[-1] + s.size)
    id_g = np.concatenate([g for g, _, _ in frames]).astype(np.int64)
    id_h = np.concatenate([h for _, h, _ in frames]).astype(np.int64)
    ious = np.concatenate([s.ravel() for _, _, s in frames]).astype(np.float64)
    return np.array(off_g), id_g, np.array(off_h), id_h, np.array(block), ious


def test_kernels_equal_references_on_tied_similarity_matrices():
    """The kernels fed IoU matrices directly (values from a small set), 80 random sequences and a crafted one.

    Exact ties between assignments of equal cost are common here; they fall as in motmetrics
    only if the assignment runs on motmetrics' own matrix (its large constant included).
    """
    from trackeval.metrics import HOTA

    from spermtrack.evaluate.clear import COUNTERS, clear_events, track_coverage
    from spermtrack.evaluate.hota import hota_fields
    from spermtrack.evaluate.identity import identity_tp

    mm_name = {  # our counter -> motmetrics metric
        "num_matches": "num_matches",
        "num_switches": "num_switches",
        "num_transfer": "num_transfer",
        "num_ascend": "num_ascend",
        "num_migrate": "num_migrate",
        "num_misses": "num_misses",
        "num_false_positives": "num_false_positives",
        "num_fragmentations": "num_fragmentations",
    }
    rng = np.random.default_rng(0)
    mh = mm.metrics.create()
    # Two assignments of equal cost in frame 0; which one motmetrics takes depends on its exact
    # matrix (large constant 2 r (max d + 1) + 1 for forbidden pairs) and shows as switches in frame 1.
    tied = 1.0 - np.array([[0.25, 1, 0.5, 0.25], [1, 1, 1, 1], [0.25, 0.25, 1, 1], [1, 0.1, 0.1, 1]])
    ids = np.arange(4)
    fixed = [(ids, ids, np.where(tied < 0.5, 0.0, tied)), (ids, ids, np.eye(4))]
    for k in range(81):
        frames = fixed if k == 0 else _random_similarity_sequence(rng)
        off_g, id_g, off_h, id_h, block, ious = _kernel_inputs(frames)
        n_g, n_h = int(id_g.max(initial=-1)) + 1, int(id_h.max(initial=-1)) + 1
        counts, dist_sum, present, tracked = clear_events(off_g, id_g, n_g, off_h, id_h, n_h, block, ious, 0.5)
        acc = mm.MOTAccumulator(auto_id=True)
        for g, h, s in frames:
            d = 1.0 - s
            acc.update(g.tolist(), h.tolist(), np.where(d > 0.5, np.nan, d))
        ref = mh.compute(
            acc, metrics=[*mm_name.values(), "mostly_tracked", "mostly_lost", "idtp", "motp"], return_dataframe=False
        )
        for counter, value in zip(COUNTERS, counts.tolist()):
            assert value == ref[mm_name[counter]], counter
        mt, _, ml = track_coverage(present, tracked)
        assert (mt, ml) == (ref["mostly_tracked"], ref["mostly_lost"])
        assert identity_tp(off_g, id_g, n_g, off_h, id_h, n_h, block, ious, 0.5) == ref["idtp"]
        tp = counts[0] + counts[1]
        if tp:
            assert dist_sum / tp == pytest.approx(ref["motp"], abs=1e-12)
        if id_g.size and id_h.size:
            # TrackEval needs contiguous ids: relabel both sides
            ug, gi = np.unique(id_g, return_inverse=True)
            uh, hi = np.unique(id_h, return_inverse=True)
            data = {"gt_ids": [], "tracker_ids": [], "similarity_scores": []}
            for f, (_, _, s) in enumerate(frames):
                data["gt_ids"].append(gi.reshape(-1)[off_g[f] : off_g[f + 1]])
                data["tracker_ids"].append(hi.reshape(-1)[off_h[f] : off_h[f + 1]])
                data["similarity_scores"].append(s)
            data.update(num_gt_ids=len(ug), num_tracker_ids=len(uh), num_gt_dets=id_g.size, num_tracker_dets=id_h.size)
            te = HOTA().eval_sequence(data)
            ours = hota_fields(
                off_g, gi.reshape(-1).astype(np.int64), len(ug), off_h, hi.reshape(-1).astype(np.int64), len(uh), block, ious
            )
            for k in ("HOTA_TP", "HOTA_FN", "HOTA_FP"):
                np.testing.assert_array_equal(ours[k], te[k], err_msg=k)
            for k in ("AssA", "AssRe", "AssPr", "LocA"):
                np.testing.assert_allclose(ours[k], te[k], rtol=0, atol=1e-12, err_msg=k)


def test_row_sums_follow_numpy_summation_order():
    """HOTA's per-frame sums are bit-identical to NumPy's (pairwise) ``sum``, so tied scores stay tied as in TrackEval."""
    from spermtrack.evaluate.hota import _pairwise_sum

    rng = np.random.default_rng(0)
    for n in [*range(1, 40), 127, 128, 129, 300, 1000]:
        a = rng.random(n) * 10.0 ** rng.integers(-3, 3, n)
        assert _pairwise_sum(a, 0, n) == a.sum(), n
        assert _pairwise_sum(np.concatenate([[5.0], a]), 1, n) == a.sum(), n
