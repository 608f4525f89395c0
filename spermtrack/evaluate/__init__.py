"""Evaluation: tracking metrics equal to py-motmetrics and TrackEval, detection metrics equal to ultralytics.

- :func:`tracking` / :func:`tracking_many` -> :class:`TrackingScores`: MOTA, MOTP,
  IDF1, IDP, IDR, ID switches, fragmentations, FP, FN, MT/PT/ML (py-motmetrics 1.4)
  and HOTA, DetA, AssA, LocA, DetRe, DetPr, AssRe, AssPr (TrackEval 1.3); per class
  and class-agnostic; several videos combined as those libraries combine sequences.
- :func:`detection` / :func:`detection_many` -> :class:`DetectionScores`: precision,
  recall, mAP50, mAP50-95 and fitness of the VISEM-Tracking paper's Table 2, as
  ultralytics computes them.
- :func:`iou_matrix`: the IoU used by the tracking metrics.
- A hypothesis that hardly overlaps its ground truth (another video's tracks?) gives
  an :class:`EvaluationWarning` and lines in ``TrackingScores.warnings`` (evaluate/overlap.py).

Definitions, edge-case conventions and the equality checks: docs/metrics.md.
"""

from ..errors import EvaluationWarning
from ._inputs import EvaluationError
from .detection import DetectionScores, detection, detection_many
from .matching import iou_matrix
from .scores import TrackingScores, json_safe
from .tracking import tracking, tracking_many

__all__ = [
    "DetectionScores",
    "EvaluationError",
    "EvaluationWarning",
    "TrackingScores",
    "detection",
    "detection_many",
    "iou_matrix",
    "json_safe",
    "tracking",
    "tracking_many",
]
