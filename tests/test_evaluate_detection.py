"""Detection metrics (the paper's Table 2) equal ultralytics' own computation on the same boxes.

The reference (tests/evaluate_reference.py) runs ultralytics' ``box_iou``,
``DetectionValidator.match_predictions`` and ``DetMetrics`` frame by frame, as
``yolo val`` does image by image. The values must be identical, not close.
"""

from __future__ import annotations

import doctest
import importlib
import json

import numpy as np
import pytest
from evaluate_cases import stack, swimming_case, tie_case

from spermtrack import Boxes
from spermtrack.evaluate import EvaluationError, detection, detection_many, json_safe
from spermtrack.evaluate.detection import IOU_THRESHOLDS, ap_per_class, match_detections

CLASSES = ("sperm", "cluster", "small_or_pinhead")


@pytest.fixture(scope="module")
def ultra():
    pytest.importorskip("torch")
    pytest.importorskip("ultralytics")
    from evaluate_reference import ultralytics_reference

    return ultralytics_reference


def assert_same_as_ultralytics(scores, ref):
    mp, mr, map50, map5095 = (float(v) for v in ref.mean_results())
    assert (scores.precision, scores.recall, scores.mAP50, scores.mAP50_95) == (mp, mr, map50, map5095)
    assert scores.fitness == pytest.approx(0.1 * map50 + 0.9 * map5095, abs=1e-15)
    per_class = list(scores.per_class.values())
    assert [c for c in scores.per_class] == [CLASSES[int(i)] for i in ref.ap_class_index]
    for i in range(len(ref.ap_class_index)):
        p, r, ap50, ap = (float(v) for v in ref.class_result(i))
        pc = per_class[i]
        assert (pc["precision"], pc["recall"], pc["mAP50"], pc["mAP50-95"]) == (p, r, ap50, ap)


def noisy_detections(seed: int, num_frames: int = 30, n_tracks: int = 10):
    gt, hyp = swimming_case(seed, num_frames=num_frames, n_tracks=n_tracks)
    return gt, hyp  # hyp: jittered boxes with confidences, misses, false positives, class confusions


@pytest.mark.yolo
@pytest.mark.parametrize("seed", range(10))
def test_random_detections_equal_ultralytics(ultra, seed):
    gt, det = noisy_detections(seed)
    assert_same_as_ultralytics(detection(gt, det), ultra(gt, det))


@pytest.mark.yolo
@pytest.mark.parametrize("seed", range(10))
def test_tied_ious_and_confidences_equal_ultralytics(ultra, seed):
    gt, det = tie_case(seed, num_frames=15, n_gt=6, n_hyp=8)  # equal IoUs, equal confidences, zero-area boxes
    assert_same_as_ultralytics(detection(gt, det), ultra(gt, det))


@pytest.mark.yolo
@pytest.mark.parametrize("seed", range(3))
def test_class_agnostic_equals_ultralytics_single_class(ultra, seed):
    gt, det = noisy_detections(50 + seed)
    s = detection(gt, det, agnostic=True)
    assert list(s.per_class) == ["sperm"]  # everything is class 0
    assert_same_as_ultralytics(s, ultra(gt, det, agnostic=True))


@pytest.mark.yolo
def test_iou_thresholds_are_ultralytics_bit_for_bit():
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(IOU_THRESHOLDS, torch.linspace(0.5, 0.95, 10).numpy())
    assert IOU_THRESHOLDS.dtype == np.float32


@pytest.mark.yolo
@pytest.mark.parametrize("seed", range(6))
def test_matching_equals_match_predictions(seed):
    torch = pytest.importorskip("torch")
    pytest.importorskip("ultralytics")
    from ultralytics.models.yolo.detect.val import DetectionValidator
    from ultralytics.utils.metrics import box_iou

    class V:
        iouv = torch.linspace(0.5, 0.95, 10)

    rng = np.random.default_rng(seed)
    ng, nd = int(rng.integers(1, 15)), int(rng.integers(1, 25))
    xy = rng.integers(0, 8, (ng, 2)) * 4.0
    g = np.concatenate([xy, xy + rng.choice([8.0, 12.0, 0.0], (ng, 2))], 1).astype(np.float32)
    pick = rng.integers(0, ng, nd)
    d = (g[pick] + rng.integers(-1, 2, (nd, 4)) * 2.0).astype(np.float32)
    d[:, 2:] = np.maximum(d[:, 2:], d[:, :2])
    gc, dc = rng.integers(0, 2, ng), rng.integers(0, 2, nd)
    ref = DetectionValidator.match_predictions(
        V(),
        torch.from_numpy(dc.astype(np.float32)),
        torch.from_numpy(gc.astype(np.float32)),
        box_iou(torch.from_numpy(g), torch.from_numpy(d)),
    ).numpy()
    ours = match_detections(np.array([0, ng]), g, gc.astype(np.int64), np.array([0, nd]), d, dc.astype(np.int64), IOU_THRESHOLDS)
    np.testing.assert_array_equal(ours, ref)


@pytest.mark.yolo
@pytest.mark.parametrize("seed", range(4))
def test_ap_per_class_equals_ultralytics(seed):
    pytest.importorskip("ultralytics")
    from ultralytics.utils.metrics import ap_per_class as ref_ap_per_class

    rng = np.random.default_rng(seed)
    n = 300
    tp = np.sort(rng.random((n, 10)) < rng.uniform(0.3, 0.9), axis=1)[:, ::-1]  # TP at a high threshold => at lower ones
    conf = rng.choice([0.1, 0.5, 0.9, 0.95], n).astype(np.float32) if seed % 2 else rng.random(n).astype(np.float32)
    pred_cls = rng.integers(0, 3, n)
    target_cls = rng.integers(0, 3 if seed < 3 else 2, 250)
    ours = ap_per_class(tp, conf, pred_cls, target_cls)
    _, _, p, r, f1, ap, classes, *_ = ref_ap_per_class(tp, conf, pred_cls.astype(np.float32), target_cls.astype(np.float32))
    np.testing.assert_array_equal(ours["classes"], classes)
    for name, ref in (("precision", p), ("recall", r), ("f1", f1), ("ap", ap)):
        np.testing.assert_array_equal(ours[name], ref, err_msg=name)


# ---------------------------------------------------------------------------------------------- analytic cases
def test_perfect_detections_score_one():
    gt, _ = noisy_detections(3)
    s = detection(gt, gt.replace(score=np.linspace(1.0, 0.5, len(gt), dtype=np.float32)))
    assert s.precision == pytest.approx(1.0, abs=1e-3) and s.recall == pytest.approx(1.0, abs=1e-3)
    # 101-point trapezoid: the envelope drops to 0 at recall 1.0 itself, so a perfect AP is 1 - 0.005
    assert s.mAP50 == pytest.approx(0.995, abs=1e-12) and s.mAP50_95 == pytest.approx(0.995, abs=1e-12)
    assert s.fitness == pytest.approx(0.995, abs=1e-12)


def test_half_found_and_localisation_quality():
    # 4 objects; 2 found exactly (IoU 1), 1 found at IoU 0.58 (TP at 0.50 and 0.55 only), 1 missed.
    # Precision stays 1, so AP = recall - 0.005 (101-point trapezoid): 0.745 at IoU 0.50 and 0.55, 0.495 above.
    gt = Boxes([0, 0, 0, 0], [0, 100, 200, 300], [0, 0, 0, 0], [20, 120, 220, 320], [20, 20, 20, 20])
    det = Boxes([0, 0, 0], [0, 100, 200], [0, 0, 0], [20, 120, 220], [20, 20, 20 * 0.58], score=[0.9, 0.8, 0.7])
    s = detection(gt, det)
    ap = s._res["ap"][0]
    np.testing.assert_allclose(ap, [0.745, 0.745] + [0.495] * 8, atol=1e-12)
    assert s.mAP50 == pytest.approx(0.745, abs=1e-12) and s.mAP50_95 == pytest.approx(np.mean(ap), abs=1e-15)
    assert s.recall == pytest.approx(0.75, abs=1e-9)


def test_no_ground_truth_scores_zero_and_foreign_classes_are_ignored():
    det = Boxes([0], [0], [0], [10], [10], score=[0.9], cls=[1])
    s = detection(Boxes.empty(1), det)
    assert (s.precision, s.recall, s.mAP50, s.mAP50_95, s.fitness) == (0.0, 0.0, 0.0, 0.0, 0.0) and s.per_class == {}
    gt = Boxes([0], [0], [0], [10], [10], cls=[0])
    s = detection(gt, det.replace(cls=np.array([1]), x1=np.array([50.0]), x2=np.array([60.0])))
    assert list(s.per_class) == ["sperm"] and s.mAP50 == 0.0  # the cluster detection counts nowhere


def test_no_detections_scores_zero():
    gt, _ = noisy_detections(4)
    s = detection(gt, Boxes.empty(gt.num_frames))
    assert (s.precision, s.recall, s.mAP50, s.mAP50_95) == (0.0, 0.0, 0.0, 0.0)
    assert all(c["num_det"] == 0 for c in s.per_class.values())


def test_zero_area_boxes_never_match():
    gt = Boxes([0], [5], [5], [5], [15])
    s = detection(gt, gt.replace(score=np.array([0.9], np.float32)))
    assert s.mAP50 == 0.0 and s.recall == 0.0


def test_detections_beyond_ground_truth_frames_are_an_error():
    gt = Boxes([0, 1], [0, 0], [0, 0], [10, 10], [10, 10])
    det = Boxes([4], [0], [0], [10], [10], score=[0.5])
    with pytest.raises(EvaluationError, match="detections has boxes in frame 4"):
        detection(gt, det)
    assert detection(gt, det, num_frames=5).num_frames == 5


# ---------------------------------------------------------------------------------------------- several videos, outputs
def test_several_videos_pool_detections_like_one_long_video():
    videos = {f"{k}": noisy_detections(10 + k) for k in range(3)}
    s = detection_many(videos)
    one = detection(*stack(list(videos.values())))
    assert (s.precision, s.recall, s.mAP50, s.mAP50_95) == (one.precision, one.recall, one.mAP50, one.mAP50_95)
    assert set(s.per_video) == set(videos) and s.num_gt == sum(len(g) for g, _ in videos.values())


def test_outputs_are_named_as_table_2():
    videos = {"52": noisy_detections(20), "54": noisy_detections(21)}
    s = detection_many(videos)
    d = s.to_dict()
    for key in ("precision", "recall", "mAP50", "mAP50-95", "fitness"):
        assert key in d and key in d["per_video"]["52"] and key in d["per_class"]["sperm"]
    json.dumps(json_safe(d), allow_nan=False)
    assert d["fitness"] == pytest.approx(0.1 * d["mAP50"] + 0.9 * d["mAP50-95"])
    text = s.table()
    assert "mAP50-95" in text and "combined" in text and "52" in text
    df = s.to_dataframe()
    assert df.loc[("combined", "all"), "mAP50"] == pytest.approx(s.mAP50)
    assert s.to_series()["fitness"] == pytest.approx(s.fitness)
    assert "mAP50-95=" in repr(s)


def test_docstring_examples():
    mod = importlib.import_module("spermtrack.evaluate.detection")
    failed, tried = doctest.testmod(mod)
    assert tried > 0 and failed == 0
