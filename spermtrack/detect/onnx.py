"""YOLO models exported to ONNX, run by OpenCV's DNN module: no torch, no onnxruntime.

Ultralytics exports a detection model as one graph ``images (B, 3, H, W) float32 RGB in
[0, 1] -> output0 (B, 4 + nc, N)``: per anchor the box centre, width and height in pixels of
the network input, then one sigmoid score per class. This module does what ultralytics'
predictor does around the network, in NumPy and OpenCV: letterbox, class-aware NMS, scaling
back to the frame. The model's class names and input size are read from the ONNX file's
metadata (written by ultralytics' exporter) with a small protobuf reader, so the ``onnx``
package is not needed either.
"""

from __future__ import annotations

import ast
from pathlib import Path

import cv2
import numpy as np

from ..boxes import Boxes
from ..classes import DROP, class_lookup
from ..errors import FormatError, MissingFileError
from .base import as_batch, boxes_from_lists

#: Offset added to boxes per class so that one NMS call never suppresses across classes
#: (ultralytics' ``max_wh``).
MAX_WH = 7680


# ---------------------------------------------------------------------------------------------- metadata
def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes):
    """Yield ``(field_number, wire_type, value)`` of a protobuf message (values of type 2 as bytes)."""
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == 2:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + size], pos + size
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if pos > len(buf):
            raise ValueError("truncated message")
        yield field, wire, value


def onnx_metadata(path: str | Path) -> dict[str, str]:
    """The ``metadata_props`` of an ONNX model file as a dict of strings.

    Raises :class:`~spermtrack.errors.FormatError` when the file is not a readable ONNX model.
    """
    path = Path(path)
    try:
        buf = path.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot read the ONNX model ({exc})", path) from exc
    meta: dict[str, str] = {}
    try:
        for field, wire, value in _fields(buf):
            if field == 14 and wire == 2:  # ModelProto.metadata_props
                entry = {f: v for f, w, v in _fields(value) if w == 2}
                meta[entry.get(1, b"").decode()] = entry.get(2, b"").decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise FormatError(f"not an ONNX model ({exc})", path) from exc
    return meta


def _literal(meta: dict[str, str], key: str, default):
    try:
        return ast.literal_eval(meta[key]) if key in meta else default
    except (ValueError, SyntaxError):
        return default


# ---------------------------------------------------------------------------------------------- geometry
def letterbox_params(
    shape: tuple[int, int], new_shape: tuple[int, int]
) -> tuple[float, tuple[int, int], tuple[int, int, int, int]]:
    """Ultralytics' letterbox (``auto=False``, centred) for a ``(h, w)`` frame into ``(H, W)``.

    Returns ``(ratio, (new_w, new_h), (top, bottom, left, right))``.

    >>> letterbox_params((480, 640), (640, 640))
    (1.0, (640, 480), (80, 80, 0, 0))
    """
    h, w = shape
    r = min(new_shape[0] / h, new_shape[1] / w)
    new_unpad = max(round(w * r), 1), max(round(h * r), 1)
    dw, dh = (new_shape[1] - new_unpad[0]) / 2, (new_shape[0] - new_unpad[1]) / 2
    return r, new_unpad, (round(dh - 0.1), round(dh + 0.1), round(dw - 0.1), round(dw + 0.1))


def letterbox(frame: np.ndarray, new_shape: tuple[int, int]) -> np.ndarray:
    """Resize (keeping the aspect ratio) and pad with grey 114 to ``(H, W)``, as ultralytics' ``LetterBox``."""
    h, w = frame.shape[:2]
    if (h, w) == tuple(new_shape):
        return frame
    _, new_unpad, (top, bottom, left, right) = letterbox_params((h, w), new_shape)
    if (w, h) != new_unpad:
        frame = cv2.resize(frame, new_unpad, interpolation=cv2.INTER_LINEAR)
    return cv2.copyMakeBorder(frame, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(114, 114, 114))


def scale_back(xyxy: np.ndarray, input_shape: tuple[int, int], frame_shape: tuple[int, int]) -> np.ndarray:
    """Boxes from network-input pixels to frame pixels, clipped to the frame (as ultralytics' ``scale_boxes``)."""
    if tuple(input_shape) != tuple(frame_shape):
        h0, w0 = frame_shape
        gain = min(input_shape[0] / h0, input_shape[1] / w0)
        new_h, new_w = max(round(h0 * gain), 1), max(round(w0 * gain), 1)
        gy, gx = new_h / h0, new_w / w0
        px, py = round((input_shape[1] - new_w) / 2 - 0.1), round((input_shape[0] - new_h) / 2 - 0.1)
        xyxy = (xyxy - np.array([px, py, px, py], xyxy.dtype)) / np.array([gx, gy, gx, gy], xyxy.dtype)
    xyxy[:, 0::2] = np.clip(xyxy[:, 0::2], 0, frame_shape[1])
    xyxy[:, 1::2] = np.clip(xyxy[:, 1::2], 0, frame_shape[0])
    return xyxy


def decode_yolo(
    pred: np.ndarray, conf: float, iou: float, max_det: int = 300, max_nms: int = 30000
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode one image's YOLOv8-style output ``(4 + nc, N)`` as ultralytics' NMS does.

    Best class per anchor, score ``> conf``, class-aware greedy NMS at IoU ``> iou``, at most
    ``max_det`` boxes by descending score.

    Returns
    -------
    xyxy : float32 (n, 4)
        Boxes in pixels of the network input.
    score : float32 (n,)
    cls : int64 (n,)
        The model's class ids.
    """
    scores_all = pred[4:]
    cls = scores_all.argmax(0)
    score = scores_all[cls, np.arange(pred.shape[1])]
    keep = np.flatnonzero(score > conf)
    if keep.size == 0:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
    if keep.size > max_nms:
        keep = keep[np.argsort(-score[keep], kind="stable")[:max_nms]]
    score, cls = score[keep], cls[keep]
    cx, cy, w, h = pred[0, keep], pred[1, keep], pred[2, keep], pred[3, keep]
    xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1).astype(np.float32)
    off = (cls * MAX_WH).astype(np.float32)[:, None]
    shifted = xyxy + off
    rects = np.concatenate([shifted[:, :2], shifted[:, 2:] - shifted[:, :2]], 1)
    idx = cv2.dnn.NMSBoxes(rects.tolist(), score.astype(float).tolist(), float(conf), float(iou))
    idx = np.asarray(idx, np.int64).reshape(-1)[:max_det]
    return xyxy[idx], score[idx].astype(np.float32), cls[idx]


# ---------------------------------------------------------------------------------------------- detector
class OnnxYoloDetector:
    """A YOLO detection model exported by ultralytics to ONNX, run with ``cv2.dnn``.

    Parameters
    ----------
    weights : str or Path
        The ``.onnx`` file (static input shape, as ultralytics exports by default).
    conf : float
        Keep boxes whose best class score is above this (0.25 for tracking, 0.001 for mAP).
    iou : float
        IoU above which a lower-scoring box of the same class is suppressed.
    max_det : int
        At most this many boxes per frame.
    class_map : dict, optional
        ``{model class id: spermtrack class id}``; by default from the model's class names.
    threads : int, optional
        OpenCV threads (``cv2.setNumThreads``); ``None`` leaves OpenCV's setting.

    Notes
    -----
    Each frame is letterboxed to the model's input size (a 640x480 frame into a 480x640
    model needs no resize), converted to RGB in [0, 1] and run; output decoding and NMS
    follow ultralytics (see :func:`decode_yolo`), so boxes equal ultralytics' predictions
    on the same weights to float precision.
    """

    def __init__(
        self,
        weights: str | Path,
        conf: float = 0.25,
        iou: float = 0.7,
        max_det: int = 300,
        class_map: dict[int, int] | None = None,
        threads: int | None = None,
    ) -> None:
        self.weights = Path(weights)
        if not self.weights.is_file():
            raise MissingFileError(f"ONNX model not found: {self.weights}")
        meta = onnx_metadata(self.weights)
        try:
            self.net = cv2.dnn.readNetFromONNX(str(self.weights))
        except cv2.error as exc:
            raise FormatError(f"OpenCV cannot load this ONNX model ({' '.join(str(exc).split())})", self.weights) from exc
        imgsz = _literal(meta, "imgsz", [640, 640])
        if isinstance(imgsz, int):
            imgsz = [imgsz, imgsz]
        self.input_shape = (int(imgsz[0]), int(imgsz[1]))
        self.names: dict[int, str] = _literal(meta, "names", {0: "sperm", 1: "cluster", 2: "small_or_pinhead"})
        self.nc = len(self.names)
        self.conf, self.iou, self.max_det = float(conf), float(iou), int(max_det)
        self.lookup = class_lookup(self.names, self.nc, class_map)
        if threads is not None:
            cv2.setNumThreads(int(threads))
        self.name = f"yolo-onnx:{self.weights.name}"

    def preprocess(self, frame: np.ndarray) -> np.ndarray:
        """One BGR frame -> a ``(1, 3, H, W)`` float32 RGB blob in [0, 1] of the model's input size."""
        return cv2.dnn.blobFromImage(letterbox(frame, self.input_shape), scalefactor=1.0 / 255.0, swapRB=True)

    def forward(self, frame: np.ndarray) -> np.ndarray:
        """The raw network output ``(4 + nc, N)`` for one BGR frame."""
        self.net.setInput(self.preprocess(frame))
        out = self.net.forward()
        return np.asarray(out).reshape(out.shape[-2], out.shape[-1])

    def detect(self, frames: np.ndarray, first_frame: int = 0) -> Boxes:
        """Boxes of a ``(B, H, W, 3)`` BGR batch (frames ``first_frame ..``), pixels of the frame."""
        batch = as_batch(frames, first_frame)
        fr, xyxy, score, cls = [], [], [], []
        for i, frame in enumerate(batch):
            b, s, c = decode_yolo(self.forward(frame), self.conf, self.iou, self.max_det)
            if not len(b):
                continue
            mapped = self.lookup[c]
            ok = mapped != DROP
            fr.append(np.full(int(ok.sum()), first_frame + i, np.int32))
            xyxy.append(scale_back(b[ok], self.input_shape, frame.shape[:2]))
            score.append(s[ok])
            cls.append(mapped[ok])
        return boxes_from_lists(fr, xyxy, score, cls, num_frames=first_frame + len(batch))

    def __repr__(self) -> str:
        return f"OnnxYoloDetector({str(self.weights)!r}, conf={self.conf}, iou={self.iou}, input={self.input_shape})"
