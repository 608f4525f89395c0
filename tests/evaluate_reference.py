"""Reference implementations for the evaluation tests: py-motmetrics and TrackEval driven on our boxes.

py-motmetrics 1.4's ``iou_matrix`` calls ``np.asfarray``, which NumPy 2 removed, so the
distances are computed here (TrackEval's IoU formula, float64 from the boxes' float32
corners) and fed to ``MOTAccumulator.update`` frame by frame, as
``motmetrics.utils.compare_to_groundtruth`` does. TrackEval's metric classes are called
directly on the data dict its datasets build (ids relabelled 0..n-1, one similarity
matrix per frame).

py-motmetrics picks its assignment solver at import: the first of lapsolver, lap, scipy,
munkres, ortools that is installed. Where several assignments have the same total cost
(exact IoU ties) the solvers pick different ones, and the CLEAR counts that follow can
differ (``lap`` on ``tie_case(13)`` gives 7 matches, SciPy 6). spermtrack reproduces
SciPy's ``linear_sum_assignment`` on motmetrics' own matrix, so the references here run
motmetrics with its ``"scipy"`` solver pinned (:func:`motmetrics_scipy_solver`), whatever
else is installed.
"""

from __future__ import annotations

import contextlib

import numpy as np

from spermtrack import Boxes

MM_METRICS = [
    "num_frames",
    "num_objects",
    "num_predictions",
    "num_unique_objects",
    "num_matches",
    "num_switches",
    "num_transfer",
    "num_ascend",
    "num_migrate",
    "num_false_positives",
    "num_misses",
    "num_fragmentations",
    "mostly_tracked",
    "partially_tracked",
    "mostly_lost",
    "idtp",
    "idfp",
    "idfn",
    "mota",
    "motp",
    "idf1",
    "idp",
    "idr",
    "precision",
    "recall",
]

#: motmetrics metric name -> TrackingScores attribute.
MM_TO_OURS = {
    "num_frames": "num_frames",
    "num_objects": "num_gt",
    "num_predictions": "num_hyp",
    "num_unique_objects": "num_gt_ids",
    "num_matches": "num_matches",
    "num_switches": "idsw",
    "num_transfer": "num_transfer",
    "num_ascend": "num_ascend",
    "num_migrate": "num_migrate",
    "num_false_positives": "fp",
    "num_misses": "fn",
    "num_fragmentations": "frag",
    "mostly_tracked": "mt",
    "partially_tracked": "pt",
    "mostly_lost": "ml",
    "idtp": "idtp",
    "idfp": "idfp",
    "idfn": "idfn",
    "mota": "mota",
    "motp": "motp",
    "idf1": "idf1",
    "idp": "idp",
    "idr": "idr",
    "precision": "precision",
    "recall": "recall",
}

#: TrackEval HOTA field -> TrackingScores attribute (means over alphas).
TE_TO_OURS = {
    "HOTA": "hota",
    "DetA": "deta",
    "AssA": "assa",
    "LocA": "loca",
    "DetRe": "detre",
    "DetPr": "detpr",
    "AssRe": "assre",
    "AssPr": "asspr",
}


def ious_reference(a: Boxes, b: Boxes) -> np.ndarray:
    """TrackEval's own ``_calculate_box_ious`` (x0y0x1y1) on float64 copies of the corners."""
    from trackeval.datasets._base_dataset import _BaseDataset

    aa = np.stack([a.x1, a.y1, a.x2, a.y2], axis=1).astype(np.float64).reshape(-1, 4)
    bb = np.stack([b.x1, b.y1, b.x2, b.y2], axis=1).astype(np.float64).reshape(-1, 4)
    return _BaseDataset._calculate_box_ious(aa, bb, box_format="x0y0x1y1")


#: The motmetrics solver whose tie-breaking spermtrack reproduces.
MM_SOLVER = "scipy"


@contextlib.contextmanager
def motmetrics_scipy_solver(solver: str = MM_SOLVER):
    """Run motmetrics with ``solver`` (default SciPy's ``linear_sum_assignment``) instead of its import-time pick."""
    import motmetrics as mm

    if solver not in mm.lap.solver_map:
        raise ValueError(f"unknown motmetrics solver {solver!r}")
    with mm.lap.set_default_solver(solver):
        yield


def motmetrics_accumulator(
    gt: Boxes, hyp: Boxes, iou_threshold: float = 0.5, num_frames: int | None = None, solver: str = MM_SOLVER
):
    """A ``MOTAccumulator`` fed frame by frame with distances ``1 - IoU`` (NaN beyond ``1 - iou_threshold``).

    The frame assignments run on motmetrics' ``solver`` (default ``"scipy"``, see the module docstring).
    """
    import motmetrics as mm

    n = gt.num_frames if num_frames is None else num_frames
    acc = mm.MOTAccumulator()
    max_d = 1.0 - iou_threshold
    with motmetrics_scipy_solver(solver):
        for f in range(n):
            g, h = gt.at_frame(f), hyp.at_frame(f)
            if len(g) and len(h):
                d = 1.0 - ious_reference(g, h)
                d = np.where(d > max_d, np.nan, d)
            else:
                d = np.empty((0, 0))
            acc.update(g.track_id.tolist(), h.track_id.tolist(), d, frameid=f)
    return acc


def motmetrics_reference(
    gt: Boxes, hyp: Boxes, iou_threshold: float = 0.5, num_frames: int | None = None, solver: str = MM_SOLVER
) -> dict:
    """py-motmetrics' metrics (:data:`MM_METRICS`) of one sequence, its assignments on ``solver``."""
    import motmetrics as mm

    acc = motmetrics_accumulator(gt, hyp, iou_threshold, num_frames, solver)
    with motmetrics_scipy_solver(solver):
        return mm.metrics.create().compute(acc, metrics=MM_METRICS, return_dataframe=False)


def trackeval_data(gt: Boxes, hyp: Boxes, num_frames: int | None = None) -> dict:
    """The data dict TrackEval's datasets give its metrics (ids relabelled 0..n-1 as TrackEval does)."""
    n = gt.num_frames if num_frames is None else num_frames
    g_u, g_ids = np.unique(gt.track_id, return_inverse=True)
    h_u, h_ids = np.unique(hyp.track_id, return_inverse=True)
    data = {"gt_ids": [], "tracker_ids": [], "similarity_scores": []}
    for f in range(n):
        gs, hs = gt.frame_slice(f), hyp.frame_slice(f)
        data["gt_ids"].append(g_ids.reshape(-1)[gs].astype(int))
        data["tracker_ids"].append(h_ids.reshape(-1)[hs].astype(int))
        data["similarity_scores"].append(ious_reference(gt[gs], hyp[hs]))
    data.update(
        num_timesteps=n,
        num_gt_ids=len(g_u),
        num_tracker_ids=len(h_u),
        num_gt_dets=len(gt),
        num_tracker_dets=len(hyp),
        seq="seq",
    )
    return data


def trackeval_hota(gt: Boxes, hyp: Boxes, num_frames: int | None = None) -> dict:
    """TrackEval's ``HOTA.eval_sequence`` result for one sequence."""
    from trackeval.metrics import HOTA

    return HOTA().eval_sequence(trackeval_data(gt, hyp, num_frames))


def assert_equal_to_references(scores, gt: Boxes, hyp: Boxes, iou_threshold: float = 0.5, num_frames=None, tol=1e-9):
    """Every CLEAR/identity value equals py-motmetrics and every HOTA value equals TrackEval (to ``tol``)."""
    ref = motmetrics_reference(gt, hyp, iou_threshold, num_frames)
    for mm_name, ours in MM_TO_OURS.items():
        _check(mm_name, getattr(scores, ours), ref[mm_name], tol)
    te = trackeval_hota(gt, hyp, num_frames)
    for te_name, ours in TE_TO_OURS.items():
        _check(te_name, getattr(scores, ours), float(np.mean(te[te_name])), tol)
    for k in ("HOTA_TP", "HOTA_FN", "HOTA_FP"):
        np.testing.assert_array_equal(scores.hota_fields[k], te[k], err_msg=k)
    for k in ("AssA", "AssRe", "AssPr", "LocA"):
        np.testing.assert_allclose(scores.hota_fields[k], te[k], rtol=0, atol=tol, err_msg=k)


def _check(name, ours, ref, tol):
    ours, ref = float(ours), float(ref)
    if np.isnan(ref):
        assert np.isnan(ours), f"{name}: ours {ours}, reference NaN"
    elif np.isinf(ref):
        assert ours == ref, f"{name}: ours {ours}, reference {ref}"
    else:
        assert abs(ours - ref) <= tol, f"{name}: ours {ours!r}, reference {ref!r}"


def ultralytics_reference(gt: Boxes, det: Boxes, num_frames: int | None = None, agnostic: bool = False):
    """ultralytics' own validation arithmetic on our boxes: ``box_iou`` + ``match_predictions`` + ``DetMetrics``.

    Detections are given per frame in descending confidence (stable), as NMS hands them to the validator.
    Returns the processed ``DetMetrics``.
    """
    import torch
    from ultralytics.models.yolo.detect.val import DetectionValidator
    from ultralytics.utils.metrics import DetMetrics, box_iou

    class _Validator:  # the attributes match_predictions reads
        iouv = torch.linspace(0.5, 0.95, 10)

    n = gt.num_frames if num_frames is None else num_frames
    metrics = DetMetrics(names={0: "sperm", 1: "cluster", 2: "small_or_pinhead"})
    for f in range(n):
        g, d = gt.at_frame(f), det.at_frame(f)
        d = d[np.argsort(-d.score, kind="stable")]
        gcls = np.zeros(len(g), np.float32) if agnostic else g.cls.astype(np.float32)
        dcls = np.zeros(len(d), np.float32) if agnostic else d.cls.astype(np.float32)
        if len(g) == 0 or len(d) == 0:
            tp = np.zeros((len(d), 10), dtype=bool)
        else:
            iou = box_iou(torch.from_numpy(g.xyxy), torch.from_numpy(d.xyxy))
            tp = DetectionValidator.match_predictions(_Validator(), torch.from_numpy(dcls), torch.from_numpy(gcls), iou).numpy()
        metrics.update_stats(
            {
                "tp": tp,
                "conf": d.score.astype(np.float32),
                "pred_cls": dcls,
                "target_cls": gcls,
                "target_img": np.unique(gcls),
                "im_name": f"{f}.jpg",
            }
        )
    metrics.process()
    return metrics
