"""Detectors: frames in, :class:`~spermtrack.Boxes` out (classes sperm / cluster / small-or-pinhead).

- :class:`ClassicalDetector`: OpenCV only, no weights, both VISEM looks, hundreds of frames/s.
- :class:`YoloDetector`: ultralytics YOLO models (``.pt`` via torch, ``.onnx`` via OpenCV DNN).
- :class:`GroundTruthDetector`: ground truth with controlled degradation, for tracker studies.
- :func:`get_detector` builds one by name (``"auto"`` picks the best that runs here: the shipped
  default model); :func:`run_detector` runs one over a video with decoding in the background.

Training and detection metrics live in :mod:`spermtrack.detect.train` and
:func:`spermtrack.evaluate.detection`; see docs/detection.md.
"""

from .base import DetectedBatch, Detector, iter_detections, run_detector
from .classical import ClassicalDetector
from .ground_truth import GroundTruthDetector
from .registry import DEFAULT_MODEL, auto_choice, default_weights, get_detector
from .spec import DetectorSpec
from .yolo import YoloDetector, Yolov5Detector

__all__ = [
    "DEFAULT_MODEL",
    "ClassicalDetector",
    "DetectedBatch",
    "Detector",
    "DetectorSpec",
    "GroundTruthDetector",
    "YoloDetector",
    "Yolov5Detector",
    "auto_choice",
    "default_weights",
    "get_detector",
    "iter_detections",
    "run_detector",
]
