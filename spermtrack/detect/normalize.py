"""Run a detector made for one look on any video: measure the video, map its frames, map the boxes back.

:class:`CalibratedDetector` wraps a detector that knows one look (the shipped model and the
classical detector know bright heads of VISEM-Tracking's size: 23-pixel boxes). On the
first batch of each video it measures the video's look (:func:`~spermtrack.detect.calibrate.measure_look`:
head polarity and head size), then for every batch

1. inverts the grey levels when the video's heads are dark and the detector expects bright ones;
2. rescales the frames when the video's heads fall outside the size range the detector was
   made for (``head_box_px`` / ``size_tolerance`` .. ``head_box_px`` x ``size_tolerance``),
   just enough to bring them to the nearest edge of that range (a model trained with scale
   augmentation needs no rescaling inside it, and every resampling blurs);
3. runs the detector, and maps its boxes back to the pixels of the original frame.

The measured look is kept in :attr:`CalibratedDetector.look` (and reported by ``analyze`` in
``summary.json``); ``polarity`` and ``head_px`` pin either value.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..boxes import Boxes
from .base import as_batch
from .calibrate import VISEM_BOX_PX, LookEstimate, check_head_px, check_polarity, measure_look

#: Frames of the first batch used to measure a video's look.
CALIBRATION_FRAMES = 16


class CalibratedDetector:
    """A detector adapted to each video's head polarity and head size.

    Parameters
    ----------
    inner : Detector
        The detector to run on mapped frames (anything with ``name`` and ``detect``).
    inner_polarity : {"bright", "dark"}
        Head polarity ``inner`` was made for.
    inner_head_px : float
        Head box side (pixels) ``inner`` was made for (23 px: VISEM-Tracking at 640x480).
    polarity : {"auto", "bright", "dark"}
        The videos' head polarity; ``"auto"`` measures it per video.
    head_px : float, optional
        The videos' head box side in pixels; None measures it per video.
    size_tolerance : float
        Heads within ``inner_head_px / size_tolerance .. inner_head_px * size_tolerance`` are
        not rescaled.
    """

    def __init__(
        self,
        inner,
        inner_polarity: str = "bright",
        inner_head_px: float = VISEM_BOX_PX,
        polarity: str = "auto",
        head_px: float | None = None,
        size_tolerance: float = 1.4,
    ) -> None:
        self.inner = inner
        self.inner_polarity = check_polarity(inner_polarity)
        if self.inner_polarity == "auto":
            raise ValueError("inner_polarity must be 'bright' or 'dark'")
        self.inner_head_px = float(check_head_px(inner_head_px))
        self.polarity = check_polarity(polarity)
        self.head_px = check_head_px(head_px)
        if not size_tolerance >= 1.0:
            raise ValueError(f"size_tolerance must be >= 1, got {size_tolerance!r}")
        self.size_tolerance = float(size_tolerance)
        self.name = inner.name
        #: The look of the current video (set on its first batch, or by :meth:`set_look`).
        self.look: LookEstimate | None = None
        self._pinned = False

    # ------------------------------------------------------------------ public API
    def set_look(self, look: LookEstimate) -> None:
        """Use ``look`` for the coming video instead of measuring it on its first batch."""
        self.look, self._pinned = look, True

    def reset(self) -> None:
        """Forget the look of the previous video."""
        self.look, self._pinned = None, False

    @property
    def invert(self) -> bool:
        """True when the current video's frames are inverted before detection."""
        return self.look is not None and self.look.polarity != self.inner_polarity

    @property
    def scale(self) -> float:
        """Factor by which the current video's frames are resized before detection (1: none)."""
        if self.look is None:
            return 1.0
        lo, hi = self.inner_head_px / self.size_tolerance, self.inner_head_px * self.size_tolerance
        target = min(max(self.look.head_box_px, lo), hi)
        s = target / self.look.head_box_px
        return 1.0 if abs(math.log(s)) < 1e-3 else float(s)

    def detect(self, frames: np.ndarray, first_frame: int = 0) -> Boxes:
        """Boxes of a ``(B, H, W, 3)`` BGR batch, in pixels of the original frames."""
        batch = as_batch(frames, first_frame)
        if first_frame == 0 and not self._pinned:
            self.look = None
            if hasattr(self.inner, "reset"):
                self.inner.reset()
        if self.look is None:
            pick = np.linspace(0, len(batch) - 1, min(len(batch), CALIBRATION_FRAMES)).round().astype(int)
            self.look = measure_look(batch[pick], polarity=self.polarity, head_px=self.head_px)
        self._pinned = False if first_frame == 0 else self._pinned
        mapped = self.map_frames(batch)
        boxes = self.inner.detect(mapped, first_frame)
        return self.map_boxes(boxes, batch.shape[2], batch.shape[1])

    def map_frames(self, batch: np.ndarray) -> np.ndarray:
        """The batch as the inner detector expects it (inverted and resized as needed)."""
        out = batch
        if self.invert:
            out = 255 - out
        s = self.scale
        if s != 1.0:
            h, w = batch.shape[1:3]
            size = (max(8, round(w * s)), max(8, round(h * s)))
            interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
            out = np.stack([cv2.resize(f, size, interpolation=interp) for f in out])
        return np.ascontiguousarray(out)

    def map_boxes(self, boxes: Boxes, width: int, height: int) -> Boxes:
        """Boxes found on mapped frames, in pixels of the original ``width`` x ``height`` frames."""
        s = self.scale
        if s == 1.0 or len(boxes) == 0:
            return boxes
        x1 = np.clip(boxes.x1 / s, 0, width).astype(np.float32)
        x2 = np.clip(boxes.x2 / s, 0, width).astype(np.float32)
        y1 = np.clip(boxes.y1 / s, 0, height).astype(np.float32)
        y2 = np.clip(boxes.y2 / s, 0, height).astype(np.float32)
        return boxes.replace(x1=x1, y1=y1, x2=x2, y2=y2)

    def __getattr__(self, name):
        # conf, iou, imgsz, device, ... of the inner detector
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __repr__(self) -> str:
        return f"CalibratedDetector({self.inner!r}, polarity={self.polarity!r}, head_px={self.head_px!r})"
