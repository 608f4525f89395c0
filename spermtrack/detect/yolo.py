"""YOLO detectors: ultralytics models (YOLOv5u, YOLOv8, YOLO11, ...) from ``.pt`` or ``.onnx``.

``.pt`` weights run through ultralytics and torch (the ``yolo`` extra), batched, on CUDA
in half precision when a GPU is present. ``.onnx`` exports run through OpenCV's DNN module
(:mod:`spermtrack.detect.onnx`), which needs neither torch nor onnxruntime. Checkpoints of
the original YOLOv5 code base (the form the VISEM-Tracking authors released) load through
the ``yolov5`` package (extra ``yolov5``), see :class:`Yolov5Detector`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..boxes import Boxes
from ..classes import DROP, class_lookup
from ..errors import MissingFileError, ParameterError, require
from .base import as_batch, boxes_from_lists
from .spec import require_cpu_device, require_device


def resolve_device(device: str | int | None = "auto") -> str:
    """``"auto"`` -> ``"0"`` (first CUDA GPU) when torch sees one, else ``"mps"`` on Apple GPUs, else ``"cpu"``.

    Any other device is checked (:func:`~spermtrack.detect.spec.check_device`: its form; a CUDA
    GPU index that torch does not see is a :class:`~spermtrack.detect.spec.DetectorSpecError`).
    """
    if device not in (None, "auto", ""):
        require_device(str(device))
        return str(device)
    try:
        import torch
    except ImportError:
        return "cpu"
    if torch.cuda.is_available():
        return "0"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


class YoloDetector:
    """An ultralytics YOLO detection model as a spermtrack :class:`~spermtrack.detect.base.Detector`.

    Parameters
    ----------
    weights : str or Path
        ``.pt`` checkpoint (or a model ``.yaml``, which builds an untrained network: for
        tests and timing), or an exported ``.onnx`` file.
    device : str
        ``"auto"`` (CUDA GPU when available, else CPU), ``"cpu"``, ``"0"``, ``"cuda:1"``, ``"mps"``.
        A CUDA GPU that is not there is an error; an ``.onnx`` model (OpenCV DNN, CPU only)
        takes only ``"auto"`` or ``"cpu"`` (:func:`~spermtrack.detect.spec.require_cpu_device`).
    imgsz : int or (int, int)
        Network input size; frames are letterboxed to it (640 keeps 640x480 frames at full
        resolution, with minimal padding to a multiple of the stride).
    conf : float
        Minimum score kept: 0.25 for tracking, 0.001 to measure mAP (as ultralytics' val).
    iou : float
        NMS IoU threshold.
    half : bool, optional
        Half precision; default True on CUDA, False elsewhere.
    batch : int
        Frames per forward pass.
    max_det : int
        At most this many boxes per frame.
    class_map : dict, optional
        ``{model class id: spermtrack class id}``; by default by the model's class names
        when they are sperm/cluster/small_or_pinhead, else by index (classes >= 3 dropped).
    backend : str
        ``"auto"``: ultralytics for ``.pt``/``.yaml``, OpenCV DNN for ``.onnx``;
        ``"ultralytics"`` forces ultralytics (``.onnx`` then needs onnxruntime).
    """

    def __init__(
        self,
        weights: str | Path,
        device: str = "auto",
        imgsz: int | tuple[int, int] = 640,
        conf: float = 0.25,
        iou: float = 0.7,
        half: bool | None = None,
        batch: int = 16,
        max_det: int = 300,
        class_map: dict[int, int] | None = None,
        backend: str = "auto",
    ) -> None:
        self.weights = Path(weights)
        self.conf, self.iou, self.batch, self.max_det = float(conf), float(iou), int(batch), int(max_det)
        self.imgsz = imgsz
        self.name = f"yolo:{self.weights.name}"
        if backend not in ("auto", "ultralytics", "opencv"):
            raise ParameterError(f"backend must be 'auto', 'ultralytics' or 'opencv', got {backend!r}")
        suffix = self.weights.suffix.lower()
        if backend == "opencv" or (backend == "auto" and suffix == ".onnx"):
            from .onnx import OnnxYoloDetector

            if device not in (None, "auto", ""):  # OpenCV runs it on the CPU: a GPU asked for is an error, not a silent CPU run
                require_cpu_device(str(device), "an ONNX model runs on OpenCV's DNN module")
            self._onnx = OnnxYoloDetector(self.weights, conf=conf, iou=iou, max_det=max_det, class_map=class_map)
            self.device, self.half, self.backend = "cpu", False, "opencv"
            return
        self._onnx = None
        self.backend = "ultralytics"
        if suffix not in (".yaml", ".yml") and not self.weights.is_file():
            raise MissingFileError(f"YOLO weights not found: {self.weights}")
        os.environ.setdefault("YOLO_OFFLINE", "1")
        ultralytics = require("ultralytics", "yolo", "YOLO detection from .pt weights")
        self.device = resolve_device(device)
        self.half = (self.device not in ("cpu", "mps")) if half is None else bool(half)
        self.model = ultralytics.YOLO(str(self.weights), task="detect")
        names = self.model.names
        self.lookup = class_lookup(names, len(names), class_map)

    @classmethod
    def from_model(
        cls,
        model,
        device: str = "auto",
        imgsz: int | tuple[int, int] = 640,
        conf: float = 0.25,
        iou: float = 0.7,
        half: bool | None = None,
        batch: int = 16,
        max_det: int = 300,
        class_map: dict[int, int] | None = None,
    ) -> YoloDetector:
        """Wrap an ultralytics ``YOLO`` object already loaded (``YOLO("best.pt")``, any task with boxes).

        Parameters are those of the constructor; the model is used as it is (not copied,
        not reloaded), so a model trained or fine-tuned in the same session can be passed.

        Raises
        ------
        SpermtrackError
            ``model`` is not an ultralytics model with class names and ``predict``.
        """
        from ..errors import SpermtrackError

        if not (hasattr(model, "predict") and hasattr(model, "names")):
            raise SpermtrackError(f"expected an ultralytics YOLO model (with .predict and .names), got {type(model).__name__}")
        task = getattr(model, "task", "detect")
        if task not in ("detect", "segment", None):
            raise SpermtrackError(
                f"the YOLO model's task is {task!r}; spermtrack needs axis-aligned boxes ('detect' or 'segment')"
            )
        self = object.__new__(cls)
        self.conf, self.iou, self.batch, self.max_det = float(conf), float(iou), int(batch), int(max_det)
        self.imgsz = imgsz
        ckpt = getattr(model, "ckpt_path", None) or getattr(model, "model_name", None) or "model"
        self.weights = Path(str(ckpt))
        self.name = f"yolo:{self.weights.name}"
        self._onnx = None
        self.backend = "ultralytics"
        self.device = resolve_device(device)
        self.half = (self.device not in ("cpu", "mps")) if half is None else bool(half)
        self.model = model
        names = model.names
        self.lookup = class_lookup(names, len(names), class_map)
        return self

    def detect(self, frames: np.ndarray, first_frame: int = 0) -> Boxes:
        """Boxes of a ``(B, H, W, 3)`` BGR batch (frames ``first_frame ..``), pixels of the frame."""
        if self._onnx is not None:
            return self._onnx.detect(frames, first_frame)
        batch = as_batch(frames, first_frame)
        fr, xyxy, score, cls = [], [], [], []
        for start in range(0, len(batch), self.batch):
            chunk = batch[start : start + self.batch]
            results = self.model.predict(
                list(chunk),
                imgsz=self.imgsz,
                conf=self.conf,
                iou=self.iou,
                quantize=16 if self.half else None,
                device=self.device,
                max_det=self.max_det,
                batch=len(chunk),
                verbose=False,
            )
            for i, res in enumerate(results):
                b = res.boxes
                if b is None or len(b) == 0:
                    continue
                c = b.cls.cpu().numpy().astype(np.int64)
                mapped = self.lookup[c]
                ok = mapped != DROP
                fr.append(np.full(int(ok.sum()), first_frame + start + i, np.int32))
                xyxy.append(b.xyxy.cpu().numpy().astype(np.float32)[ok])
                score.append(b.conf.cpu().numpy().astype(np.float32)[ok])
                cls.append(mapped[ok])
        return boxes_from_lists(fr, xyxy, score, cls, num_frames=first_frame + len(batch))

    @property
    def input_size(self) -> tuple[int, int] | None:
        """``(width, height)`` of the network input that frames are letterboxed to, if fixed."""
        if self._onnx is not None:
            h, w = self._onnx.input_shape
            return int(w), int(h)
        if isinstance(self.imgsz, int):
            return self.imgsz, self.imgsz
        h, w = self.imgsz
        return int(w), int(h)

    def __repr__(self) -> str:
        return f"YoloDetector({str(self.weights)!r}, backend={self.backend!r}, device={self.device!r}, conf={self.conf}, iou={self.iou})"


class Yolov5Detector:
    """A checkpoint of the original YOLOv5 code base (``ultralytics/yolov5``), as released by the
    VISEM-Tracking authors, run through the ``yolov5`` package (``pip install 'spermtrack[yolov5]'``).

    Parameters are those of :class:`YoloDetector`; ``imgsz`` is one int (YOLOv5 letterboxes
    to a square of that size, rectangular inference inside).
    """

    def __init__(
        self,
        weights: str | Path,
        device: str = "auto",
        imgsz: int = 640,
        conf: float = 0.25,
        iou: float = 0.45,
        half: bool | None = None,
        batch: int = 16,
        max_det: int = 300,
        class_map: dict[int, int] | None = None,
    ) -> None:
        self.weights = Path(weights)
        if not self.weights.is_file():
            raise MissingFileError(f"YOLOv5 weights not found: {self.weights}")
        yolov5 = require("yolov5", "yolov5", "loading original YOLOv5 checkpoints")
        self.device = resolve_device(device)
        dev = "cpu" if self.device == "cpu" else (f"cuda:{self.device}" if self.device.isdigit() else self.device)
        self.half = (self.device not in ("cpu", "mps")) if half is None else bool(half)
        # An absolute path: yolov5.load first asks the Hugging Face hub about anything that looks like a
        # repo id. YOLOv5 checkpoints are pickled modules, which torch >= 2.6 refuses by default: allow it
        # for this load only (load only checkpoints you trust).
        saved = os.environ.get("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD")
        os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = "1"
        try:
            self.model = yolov5.load(str(self.weights.resolve()), device=dev)
        finally:
            if saved is None:
                os.environ.pop("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", None)
            else:
                os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = saved
        self.model.conf, self.model.iou, self.model.max_det = float(conf), float(iou), int(max_det)
        self.imgsz, self.batch = int(imgsz), int(batch)
        names = getattr(self.model, "names", None)
        nc = len(names) if names is not None else 3
        self.lookup = class_lookup(names, nc, class_map)
        self.name = f"yolov5:{self.weights.name}"

    def detect(self, frames: np.ndarray, first_frame: int = 0) -> Boxes:
        """Boxes of a ``(B, H, W, 3)`` BGR batch (frames ``first_frame ..``), pixels of the frame."""
        batch = as_batch(frames, first_frame)
        fr, xyxy, score, cls = [], [], [], []
        for start in range(0, len(batch), self.batch):
            chunk = [np.ascontiguousarray(f[..., ::-1]) for f in batch[start : start + self.batch]]  # AutoShape takes RGB
            pred = self.model(chunk, size=self.imgsz).xyxy
            for i, p in enumerate(pred):
                p = p.cpu().numpy()
                if not len(p):
                    continue
                mapped = self.lookup[p[:, 5].astype(np.int64)]
                ok = mapped != DROP
                fr.append(np.full(int(ok.sum()), first_frame + start + i, np.int32))
                xyxy.append(p[ok, :4].astype(np.float32))
                score.append(p[ok, 4].astype(np.float32))
                cls.append(mapped[ok])
        return boxes_from_lists(fr, xyxy, score, cls, num_frames=first_frame + len(batch))
