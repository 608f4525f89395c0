"""Detectors by name, and the choice of the best one that runs here (``"auto"``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from ..boxes import Boxes
from ..errors import ParameterError
from .spec import LOOK_SWITCHES, SELF_CALIBRATED_KINDS, SWITCH_DEFAULTS, DetectorSpec, require_cpu_device, split_spec

#: Folder of the weights shipped inside the package.
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
#: Stem of the shipped default model (``.onnx`` always, ``.pt`` when small enough to ship).
DEFAULT_MODEL = "spermyolo_p3"
#: On/off settings of the fused default detector and their defaults (``get_detector("auto", size_prior=False)``).
FUSED_SWITCHES = {k: on for k, on in SWITCH_DEFAULTS.items() if k != "scale_search" and k not in LOOK_SWITCHES}
#: Kinds whose self-calibrated learnt model is fused with the classical detector (``fuse``, ``tta``, ``hedge``, ``size_prior``).
LEARNT_SELF_CALIBRATED = ("auto", "default")
#: Head box side (pixels at the network input) the self-calibration brings the shipped model's input to.
DEFAULT_MODEL_HEAD_PX = 17.0
#: Candidate factors of ``scale_search=True`` (on the blob-based mapping scale): log-spaced, 2^(k/4)
#: for k = -3..3, so that a blob estimate off by up to 1.7x either way is recovered.
SCALE_SEARCH_FACTORS = (0.6, 0.71, 0.84, 1.0, 1.19, 1.41, 1.68)
#: The scale search keeps the blob-based scale without looking further when the model's own boxes
#: there are within this factor of its trained size. 1: every video walks the candidates from the
#: blob scale towards the trained size (1-3 model passes over 4 frames; 1.4 until stage 6 of the
#: model, whose dark-look boxes no longer argued against it: docs/detection.md).
SCALE_SEARCH_TOLERANCE = 1.0


def default_weights(kind: str = "onnx") -> Path | None:
    """Path of the shipped default model in the given format (``"onnx"`` or ``"pt"``), or None."""
    path = DATA_DIR / f"{DEFAULT_MODEL}.{kind}"
    return path if path.is_file() else None


def torch_available() -> bool:
    """True when ultralytics and torch can be imported (the ``yolo`` extra)."""
    return importlib.util.find_spec("torch") is not None and importlib.util.find_spec("ultralytics") is not None


def cuda_available() -> bool:
    """True when torch is installed and sees a CUDA GPU."""
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def auto_choice() -> tuple[str, Path | None]:
    """The detector ``"auto"`` picks here: ``("yolo-torch", pt)``, ``("yolo-onnx", onnx)`` or ``("classical", None)``.

    The shipped model through ultralytics and torch when they are installed and a GPU is
    present (batched half precision), else the same model exported to ONNX through OpenCV's
    DNN module (as fast as torch on a CPU, see docs/detection.md, and needing no torch),
    else the classical detector.
    """
    pt, onnx = default_weights("pt"), default_weights("onnx")
    if pt is not None and torch_available() and cuda_available():
        return "yolo-torch", pt
    if onnx is not None:
        return "yolo-onnx", onnx
    if pt is not None and torch_available():
        return "yolo-torch", pt
    return "classical", None


def get_detector(spec="auto", gt: Boxes | None = None, **kwargs):
    """A detector from a name (or from an ultralytics ``YOLO`` object).

    Parameters
    ----------
    spec : str, DetectorSpec or ultralytics.YOLO
        A :class:`~spermtrack.detect.spec.DetectorSpec` (its options are used, ``kwargs`` on top); a loaded ``YOLO`` model is wrapped as it is (:meth:`YoloDetector.from_model`); or
        ``"auto"`` (the best that runs here, see :func:`auto_choice`), ``"default"`` (the
        shipped model, ONNX through OpenCV), ``"classical"``, ``"gt"`` (needs ``gt``),
        ``"yolo:PATH"`` (``.pt`` through ultralytics, ``.onnx`` through OpenCV),
        ``"onnx:PATH"`` (OpenCV DNN), ``"yolov5:PATH"`` (original YOLOv5 checkpoint).
    gt : Boxes, optional
        Ground truth for ``"gt"``.
    **kwargs
        Passed to the detector's constructor (e.g. ``conf=0.001``, ``device="cpu"``,
        ``miss=0.1`` for ``gt``). Keywords a detector does not take are an error.
        ``polarity`` (``"auto"``, ``"bright"``, ``"dark"``) and ``head_px`` (head box side in
        pixels, None: measured) pin the per-video self-calibration of ``auto``, ``default``
        and ``classical`` (:class:`~spermtrack.detect.normalize.CalibratedDetector`), and
        ``mask_overlays=False`` lets it leave burnt-in panels alone (:mod:`spermtrack.detect.overlay`);
        ``calibrate=False`` switches it off. ``fuse`` (default True) fuses the learnt model's
        boxes with the classical detector's (:class:`~spermtrack.detect.normalize.FusedDetector`,
        :mod:`spermtrack.detect.fusion`); ``tta`` (default False) also runs the model on
        mirrored frames (twice the model's time); ``hedge`` (default True) reads a video whose
        measured polarity is unclear both ways and keeps the boxes of both readings;
        ``size_prior`` (default True) lowers the scores of sperm boxes far smaller than the
        video's heads (:mod:`spermtrack.detect.size_prior`): these four for ``auto`` and
        ``default`` only.
        ``scale_search`` (default True) runs the model at the blob-based scale on the first
        batch and, when its own boxes are more than :data:`SCALE_SEARCH_TOLERANCE` off the
        trained size (by default: on every video), walks :data:`SCALE_SEARCH_FACTORS` x the
        blob-based scale towards the factor at which its boxes come out at the trained size;
        ``scale_search=False`` switches it off
        (``scale_factors``, ``scale_rule``, ``scale_margin``, ``scale_tolerance`` of
        :class:`~spermtrack.detect.normalize.CalibratedDetector` set it in detail); ``auto``
        and ``default`` only.

    Examples
    --------
    >>> get_detector("classical").name
    'classical'
    """
    if not isinstance(spec, str) and type(spec).__module__.startswith("ultralytics"):  # a YOLO object
        from .yolo import YoloDetector

        return YoloDetector.from_model(spec, **kwargs)
    if isinstance(spec, DetectorSpec):
        kwargs = {**spec.kwargs(), **kwargs}
        spec = spec.name
    kind, arg = split_spec(spec)
    look = {k: kwargs.pop(k) for k in ("polarity", "head_px", *LOOK_SWITCHES) if k in kwargs}
    search = {k: kwargs.pop(k) for k in ("scale_factors", "scale_margin", "scale_rule", "scale_tolerance") if k in kwargs}
    if "scale_search" in kwargs:
        on = kwargs.pop("scale_search")
        if not isinstance(on, (bool, np.bool_)):
            raise ParameterError(f"scale_search must be True or False, got {on!r}")
        if on and "scale_factors" in search:
            raise ParameterError("give scale_search=True or scale_factors, not both")
        search.setdefault("scale_factors", SCALE_SEARCH_FACTORS if on else (1.0,))
    calibrate = bool(kwargs.pop("calibrate", True))
    fusion = {k: kwargs.pop(k) for k in FUSED_SWITCHES if k in kwargs}
    for k, v in fusion.items():
        if not isinstance(v, (bool, np.bool_)):
            raise ParameterError(f"{k} must be True or False, got {v!r}")
    if search and (kind not in LEARNT_SELF_CALIBRATED or not calibrate):
        raise ParameterError(
            f"scale_factors, scale_margin, scale_rule and scale_tolerance apply to the self-calibrated auto and default detectors, not to {spec!r}"
        )
    if fusion and (kind not in LEARNT_SELF_CALIBRATED or not calibrate):
        raise ParameterError(
            f"{', '.join(list(FUSED_SWITCHES)[:-1])} and {list(FUSED_SWITCHES)[-1]} apply to the self-calibrated auto and "
            f"default detectors, not to {spec!r}" + ("" if calibrate else " with calibrate=False")
        )
    if kind in SELF_CALIBRATED_KINDS and calibrate:
        from .normalize import FusedDetector

        inner = get_detector(spec, gt, calibrate=False, **kwargs)
        if inner.name == "classical":  # the calibration inverts dark-head videos: the inner one sees bright heads
            return _calibrated_classical(inner, look)
        # a model trained with scale augmentation takes heads within 1.4x of its size
        switches = {k: bool(fusion.get(k, on)) for k, on in FUSED_SWITCHES.items()}
        # the fusion's classical detector keeps VISEM's halo-sized boxes on every look (its boxes
        # lend their centres; tight dark-head boxes cost the fused model 0.018 on the inverted real frames)
        companion = _calibrated_classical(_classical({"dark_min_box": 1.0}), look) if switches["fuse"] else None
        return FusedDetector(
            inner,
            companion=companion,
            tta=switches["tta"],
            hedge=switches["hedge"],
            size_prior=switches["size_prior"],
            inner_head_px=DEFAULT_MODEL_HEAD_PX,
            size_tolerance=1.4,
            **look,
            **{"scale_factors": SCALE_SEARCH_FACTORS, "scale_tolerance": SCALE_SEARCH_TOLERANCE, **search},
        )
    if look and kind not in SELF_CALIBRATED_KINDS:
        raise ParameterError(
            f"polarity, head_px and mask_overlays apply to the auto, default and classical detectors, not to {spec!r}"
        )
    if kind == "auto":
        choice, weights = auto_choice()
        if choice == "classical":
            if kwargs.get("device") not in (None, "auto", ""):
                require_cpu_device(str(kwargs["device"]), "no model is shipped here: auto is the classical detector")
            return _classical({k: v for k, v in kwargs.items() if k not in _YOLO_ONLY})
        if choice == "yolo-onnx":
            return _yolo(weights, {**kwargs, "backend": "opencv"})
        return _yolo(weights, kwargs)
    if kind == "default":
        weights = default_weights("onnx")
        if weights is None:
            raise FileNotFoundError(f"the default model {DEFAULT_MODEL}.onnx is not in {DATA_DIR}")
        return _yolo(weights, {**kwargs, "backend": "opencv"})
    if kind == "classical":
        return _classical(kwargs)
    if kind in ("gt", "gt-noisy"):
        if gt is None:
            raise ParameterError(f"detector {spec!r} needs the ground truth: get_detector({spec!r}, gt=boxes)")
        from .ground_truth import GroundTruthDetector

        det = GroundTruthDetector(gt, **kwargs)
        if kind == "gt-noisy" and det.name != "gt-noisy":  # no noise asked for: it would silently be 'gt'
            raise ParameterError(
                "detector 'gt-noisy' needs its noise (miss, jitter_px, fp_per_frame or size_jitter), and spermtrack "
                "analyze has no flags for it: use --detector gt, or spermtrack detect-eval --detector gt-noisy --miss P --jitter-px S "
                "--fp-per-frame N, or in Python DetectorSpec.parse('gt-noisy', miss=0.1, jitter_px=1.5) as the detector"
            )
        return det
    if kind in ("yolo", "onnx", "yolov5"):
        if not arg:
            raise ParameterError(f"detector {spec!r} needs a weights path, e.g. '{kind}:runs/best.pt'")
        if kind == "yolov5":
            from .yolo import Yolov5Detector

            return Yolov5Detector(arg, **kwargs)
        return _yolo(Path(arg), {**kwargs, "backend": "opencv"} if kind == "onnx" else kwargs)
    raise ParameterError(f"unknown detector {spec!r}: use auto, default, classical, gt, yolo:PATH, onnx:PATH or yolov5:PATH")


def _calibrated_classical(inner, look: dict):
    """The classical detector behind the self-calibration: it sees bright heads near VISEM's size."""
    from .normalize import CalibratedDetector

    inner.polarity = "bright"
    inner.reset()
    return CalibratedDetector(inner, inner_head_px=23.0, size_tolerance=1.25, **look)  # its box sizes are fixed near VISEM's


def _classical(kwargs: dict):
    from .classical import ClassicalDetector

    return ClassicalDetector(**kwargs)


def _yolo(weights: Path, kwargs: dict):
    from .yolo import YoloDetector

    return YoloDetector(weights, **kwargs)


#: Keywords meaningful only to YOLO detectors, ignored by ``auto`` when it falls back to classical.
_YOLO_ONLY = frozenset({"conf", "iou", "device", "imgsz", "half", "batch", "max_det", "class_map", "backend"})
