"""Run a detector made for one look on any video: measure the video, map its frames, map the boxes back.

:class:`CalibratedDetector` wraps a detector that knows one look: the shipped model and the
classical detector know bright heads of a given size (VISEM-Tracking's 23-pixel boxes, or
the 16-pixel heads the shipped model runs at). On the first batch of each video it measures
the video's look (:func:`~spermtrack.detect.calibrate.measure_look`: burnt-in panels, head
polarity and head size), then for every batch

0. paints the video's burnt-in panels in its background grey (:mod:`spermtrack.detect.overlay`;
   the boxes whose centre lies in one are dropped at the end);
1. inverts the grey levels when the video's heads are dark and the detector expects bright ones;
2. picks the scale: for a detector with a fixed network input (YOLO), the scale that fits the
   frame into the input (no tiling, as ultralytics' letterbox would) as long as the heads
   then stay within ``inner_head_px / size_tolerance .. inner_head_px x size_tolerance``,
   else the nearest scale that keeps them there; for other detectors, 1 unless the heads
   fall outside that range;
3. resizes the frames by that scale, and either pads them to the network input (so that the
   letterbox does not resize them again) or cuts them into overlapping tiles of the input's
   size when they are larger;
4. runs the detector, and maps its boxes back to the pixels of the original frame (boxes cut
   by an inner tile border are dropped: the overlap holds the whole head in the next tile;
   duplicates in the overlap are merged by non-maximum suppression).

The measured look is kept in :attr:`CalibratedDetector.look` (and reported by ``analyze`` in
``summary.json``); ``polarity`` and ``head_px`` pin either value.
"""

from __future__ import annotations

import copy
import dataclasses

import cv2
import numpy as np

from ..boxes import SPERM, Boxes
from ..errors import ParameterError
from .base import as_batch
from .calibrate import VISEM_BOX_PX, LookEstimate, check_head_px, check_polarity, measure_look
from .overlay import drop_boxes_in_overlays, fill_overlays

#: Frames of the first batch used to measure a video's look.
CALIBRATION_FRAMES = 16
#: IoU above which two boxes of one class from overlapping tiles are one head.
TILE_NMS_IOU = 0.5
#: IoU above which a box of the bright-head reading and one of the dark-head reading of a video
#: whose polarity is unclear are one object (:class:`FusedDetector` ``hedge``; the higher score stays).
READINGS_NMS_IOU = 0.5
#: Frames of the first batch the scale search runs the model on (each candidate once).
SEARCH_FRAMES = 4
#: Score from which a box counts as confident in the scale search's confidence score.
SEARCH_CONFIDENT = 0.5
#: How the scale search picks among its candidates (:func:`choose_factor`).
SCALE_RULES = ("size", "confidence")
#: Bins of the histogram of the model's own scores (0-1) kept per video by :class:`FusedDetector`.
SCORE_BINS = 1000


class CalibratedDetector:
    """A detector adapted to each video's head polarity and head size.

    Parameters
    ----------
    inner : Detector
        The detector to run on mapped frames (anything with ``name`` and ``detect``; an
        ``input_size`` attribute ``(width, height)`` marks a fixed network input).
    inner_polarity : {"bright", "dark"}
        Head polarity ``inner`` was made for.
    inner_head_px : float
        Head box side (pixels) ``inner`` works best at (23 px: VISEM-Tracking at 640x480).
    polarity : {"auto", "bright", "dark"}
        The videos' head polarity; ``"auto"`` measures it per video.
    head_px : float, optional
        The videos' head box side in pixels; None measures it per video.
    size_tolerance : float
        Heads within ``inner_head_px / size_tolerance .. inner_head_px * size_tolerance`` (at
        the detector's input) need no rescaling.
    scale_factors : tuple of float
        Scale search: on the first batch of each video, the model runs at each of these
        factors times the blob-based mapping scale, on up to :data:`SEARCH_FRAMES` frames,
        and the video is detected at the factor ``scale_rule`` picks (:func:`choose_factor`);
        ``(1.0,)`` (the default) is no search, one other value is that fixed factor. Skipped
        when ``head_px`` is pinned.
    scale_margin : float
        ``scale_rule="confidence"`` only: a factor other than 1 is chosen only when its
        confidence exceeds factor 1's by more than this ratio (1.1: 10 %).
    scale_rule : {"size", "confidence"}
        ``"size"``: the factor where the model's own confident boxes come out closest to
        ``inner_head_px`` at its input; ``"confidence"``: the factor where the model is most
        confident (:func:`scale_confidence`).
    scale_tolerance : float
        ``scale_rule="size"`` only: the model runs at factor 1 first, and when its own boxes
        there are within ``inner_head_px / scale_tolerance .. inner_head_px x scale_tolerance``
        the blob-based scale is kept and the other candidates are not run (1: always search).
    mask_overlays : bool
        Find burnt-in panels on the first batch (:mod:`spermtrack.detect.overlay`; recorded
        in ``look.overlays``), show the detector the frames with the panels painted in the
        background grey, and drop the boxes whose centre lies in one.
    """

    def __init__(
        self,
        inner,
        inner_polarity: str = "bright",
        inner_head_px: float = VISEM_BOX_PX,
        polarity: str = "auto",
        head_px: float | None = None,
        size_tolerance: float = 1.4,
        scale_factors: tuple[float, ...] = (1.0,),
        scale_margin: float = 1.1,
        scale_rule: str = "size",
        scale_tolerance: float = 1.0,
        mask_overlays: bool = True,
    ) -> None:
        self.inner = inner
        if inner_polarity not in ("bright", "dark"):
            raise ParameterError(f"inner_polarity must be 'bright' or 'dark', got {inner_polarity!r}")
        self.inner_polarity = inner_polarity
        self.inner_head_px = float(check_head_px(inner_head_px))
        self.polarity = check_polarity(polarity)
        self.head_px = check_head_px(head_px)
        if not size_tolerance >= 1.0:
            raise ParameterError(f"size_tolerance must be >= 1, got {size_tolerance!r}")
        self.size_tolerance = float(size_tolerance)
        self.scale_factors = check_scale_factors(scale_factors)
        if not (isinstance(scale_margin, (int, float)) and 1.0 <= scale_margin <= 10.0):
            raise ParameterError(f"scale_margin must be a number in 1-10, got {scale_margin!r}")
        self.scale_margin = float(scale_margin)
        if scale_rule not in SCALE_RULES:
            raise ParameterError(f"scale_rule must be 'size' or 'confidence', got {scale_rule!r}")
        self.scale_rule = scale_rule
        if not (isinstance(scale_tolerance, (int, float)) and 1.0 <= scale_tolerance <= 4.0):
            raise ParameterError(f"scale_tolerance must be a number in 1-4, got {scale_tolerance!r}")
        self.scale_tolerance = float(scale_tolerance)
        if not isinstance(mask_overlays, (bool, np.bool_)):
            raise ParameterError(f"mask_overlays must be True or False, got {mask_overlays!r}")
        self.mask_overlays = bool(mask_overlays)
        #: Factor on the blob-based scale chosen by the scale search for the current video.
        self._factor = 1.0
        self.input_size: tuple[int, int] | None = getattr(inner, "input_size", None)
        self.name = inner.name
        #: The look of the current video (set on its first batch, or by :meth:`set_look`).
        self.look: LookEstimate | None = None
        self._pinned = False
        self._frame_size: tuple[int, int] | None = None

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
        if self.look is None or self._frame_size is None:
            return 1.0
        return self.scale_for(*self._frame_size)

    def scale_for(self, width: int, height: int) -> float:
        """The resize factor for frames of ``width`` x ``height`` pixels with the current look."""
        if self.look is None:
            return 1.0
        fit = 1.0 if self.input_size is None else min(self.input_size[0] / width, self.input_size[1] / height)
        lo = self.inner_head_px / self.size_tolerance / self.look.head_box_px
        hi = self.inner_head_px * self.size_tolerance / self.look.head_box_px
        return float(min(max(fit, lo), hi) * self._factor)

    def detect(self, frames: np.ndarray, first_frame: int = 0) -> Boxes:
        """Boxes of a ``(B, H, W, 3)`` BGR batch, in pixels of the original frames."""
        batch = as_batch(frames, first_frame)
        self._calibrate(batch, first_frame)
        return drop_boxes_in_overlays(self._detect_mapped(self.masked(batch), first_frame), self.look.overlays)

    def masked(self, batch: np.ndarray) -> np.ndarray:
        """``batch`` with the current video's burnt-in panels painted in its background grey (a copy when there are any)."""
        return fill_overlays(batch, self.look.overlays, self.look.background) if self.look is not None else batch

    def _calibrate(self, batch: np.ndarray, first_frame: int) -> None:
        """Measure the look on the first batch of a video (unless pinned by :meth:`set_look`)."""
        height, width = batch.shape[1:3]
        self._frame_size = (width, height)
        if first_frame == 0 and not self._pinned:
            self.look = None
            if hasattr(self.inner, "reset"):
                self.inner.reset()
        if self.look is None:
            self._factor = 1.0
            pick = np.linspace(0, len(batch) - 1, min(len(batch), CALIBRATION_FRAMES)).round().astype(int)
            self.look = measure_look(batch[pick], polarity=self.polarity, head_px=self.head_px, mask_overlays=self.mask_overlays)
            if self.look.head_box_source == "user":
                pass  # --head-px pins the scale
            elif len(self.scale_factors) > 1:
                self._search_scale(self.masked(batch))
            elif self.scale_factors[0] != 1.0:
                self._factor = self.scale_factors[0]
                self.look = dataclasses.replace(self.look, scale_factor=round(self._factor, 4))
        elif self._pinned:
            self._factor = 1.0  # a look given by set_look (FusedDetector's companion): the blob-based scale
        if first_frame == 0:
            self._pinned = False  # a pinned look holds for one video
            adapt = getattr(self.inner, "adapt_to_look", None)
            if adapt is not None:  # what the mapped frames no longer show (the classical detector: dark heads)
                adapt(self.look)

    def _search_scale(self, batch: np.ndarray) -> None:
        """Run the model at candidate factors on a few frames of the first batch and keep one (:attr:`scale_rule`).

        Size rule: factor 1 first (within :attr:`scale_tolerance` of the trained size it is
        kept), then the sorted candidates are walked from 1 towards the trained size, one step at
        a time, while the model's boxes come out closer to it (the boxes grow with the factor,
        so the walk ends at the closest candidate the full sweep would pick, in 1-3 passes
        instead of 7). Without confident boxes at factor 1, and with the confidence rule, every
        candidate runs.
        """
        pick = np.unique(np.linspace(0, len(batch) - 1, min(len(batch), SEARCH_FRAMES)).round().astype(int))
        frames = batch[pick]
        factors = self.scale_factors
        conf, side = [np.nan] * len(factors), [np.nan] * len(factors)
        done: list[int] = []

        def run(i: int) -> float:
            """Run candidate ``i``; its log distance to the trained size (inf: no confident box)."""
            self._factor = factors[i]
            found = self._detect_mapped(frames, 0)
            conf[i], side[i] = scale_confidence(found, len(frames)), model_box_px(found) * self.scale
            done.append(i)
            return abs(float(np.log(side[i] / self.inner_head_px))) if side[i] == side[i] and side[i] > 0 else np.inf

        rest = list(range(len(factors)))
        if self.scale_rule == "size" and 1.0 in factors:
            one = factors.index(1.0)
            dist = run(one)
            rest.remove(one)
            if dist <= np.log(self.scale_tolerance):
                rest = []
            elif np.isfinite(dist):
                by_factor = sorted(range(len(factors)), key=lambda i: factors[i])
                k = by_factor.index(one)
                step = 1 if side[one] < self.inner_head_px else -1  # heads too small at the input: enlarge
                k += step
                while 0 <= k < len(by_factor):
                    d = run(by_factor[k])
                    if not d < dist:
                        break
                    dist, k = d, k + step
                rest = []
        for i in rest:
            run(i)
        if len(done) == 1 and self.scale_factors[done[0]] == 1.0:
            chosen = 1.0
        else:
            chosen = choose_factor(self.scale_factors, conf, side, self.inner_head_px, self.scale_rule, self.scale_margin)
        self._factor = float(chosen)
        self.look = dataclasses.replace(
            self.look,
            scale_factor=round(self._factor, 4),
            scale_search=tuple(
                (
                    round(float(self.scale_factors[i]), 4),
                    round(float(conf[i]), 3),
                    None if side[i] != side[i] else round(float(side[i]), 2),
                )
                for i in sorted(done)
            ),
        )

    def _detect_mapped(self, batch: np.ndarray, first_frame: int) -> Boxes:
        """Map ``batch`` with the current look, run the inner detector, map its boxes back."""
        height, width = batch.shape[1:3]
        mapped = self.map_frames(batch)
        s = self.scale
        if self.input_size is None:
            return self.map_boxes(self.inner.detect(mapped, first_frame), width, height, s)
        return self._detect_tiled(mapped, first_frame, width, height, s)

    def map_frames(self, batch: np.ndarray) -> np.ndarray:
        """The batch inverted and resized as the inner detector expects it (no padding or tiling)."""
        out = batch
        if self.invert:
            out = 255 - out
        h, w = batch.shape[1:3]
        s = self.scale_for(w, h)
        if abs(s - 1.0) > 1e-3:
            size = (max(8, round(w * s)), max(8, round(h * s)))
            interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
            out = np.stack([cv2.resize(f, size, interpolation=interp) for f in out])
        return np.ascontiguousarray(out)

    def map_boxes(self, boxes: Boxes, width: int, height: int, scale: float | None = None) -> Boxes:
        """Boxes found on mapped frames, in pixels of the original ``width`` x ``height`` frames."""
        s = self.scale_for(width, height) if scale is None else scale
        if abs(s - 1.0) <= 1e-3 or len(boxes) == 0:
            return boxes
        return boxes.replace(
            x1=np.clip(boxes.x1 / s, 0, width).astype(np.float32),
            y1=np.clip(boxes.y1 / s, 0, height).astype(np.float32),
            x2=np.clip(boxes.x2 / s, 0, width).astype(np.float32),
            y2=np.clip(boxes.y2 / s, 0, height).astype(np.float32),
        )

    # ------------------------------------------------------------------ tiles
    def _detect_tiled(self, mapped: np.ndarray, first_frame: int, width: int, height: int, s: float) -> Boxes:
        """Pad or tile ``mapped`` to the inner detector's input, detect, stitch, map back."""
        tw, th = self.input_size
        b, mh, mw = mapped.shape[:3]
        overlap = int(np.ceil(3 * self.inner_head_px))
        xs, ys = _tile_starts(mw, tw, overlap), _tile_starts(mh, th, overlap)
        tiles = []
        fill = [int(v) for v in np.median(mapped[:, ::8, ::8].reshape(-1, 3), axis=0)]
        for f in mapped:
            for y0 in ys:
                for x0 in xs:
                    crop = f[y0 : y0 + th, x0 : x0 + tw]
                    if crop.shape[:2] != (th, tw):
                        crop = cv2.copyMakeBorder(
                            crop, 0, th - crop.shape[0], 0, tw - crop.shape[1], cv2.BORDER_CONSTANT, value=fill
                        )
                    tiles.append(crop)
        found = self.inner.detect(np.stack(tiles), 0)
        per_frame = len(xs) * len(ys)
        tile = found.frame.astype(np.int64)
        fi, ti = tile // per_frame, tile % per_frame
        ox = np.asarray(xs, np.float32)[ti % len(xs)]
        oy = np.asarray(ys, np.float32)[ti // len(xs)]
        x1, y1, x2, y2 = found.x1 + ox, found.y1 + oy, found.x2 + ox, found.y2 + oy
        keep = np.ones(len(found), bool)
        if per_frame > 1:  # drop boxes cut by an inner tile border: the overlap shows the whole head elsewhere
            m = 2.0
            keep &= ~((found.x1 <= m) & (ox > 0)) & ~((found.y1 <= m) & (oy > 0))
            keep &= ~((found.x2 >= tw - m) & (ox + tw < mw)) & ~((found.y2 >= th - m) & (oy + th < mh))
        boxes = Boxes(
            (fi[keep] + first_frame).astype(np.int32),
            x1[keep],
            y1[keep],
            x2[keep],
            y2[keep],
            score=found.score[keep],
            cls=found.cls[keep],
            num_frames=first_frame + b,
        ) if keep.any() else Boxes.empty(first_frame + b)  # fmt: skip
        if per_frame > 1 and len(boxes):
            boxes = _nms_per_frame(boxes, TILE_NMS_IOU)
        boxes = boxes.replace(
            x1=np.minimum(boxes.x1, mw), y1=np.minimum(boxes.y1, mh), x2=np.minimum(boxes.x2, mw), y2=np.minimum(boxes.y2, mh)
        )
        return self.map_boxes(boxes, width, height, s)

    def __getattr__(self, name):
        # conf, iou, imgsz, device, ... of the inner detector
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __repr__(self) -> str:
        return f"CalibratedDetector({self.inner!r}, polarity={self.polarity!r}, head_px={self.head_px!r})"


class FusedDetector(CalibratedDetector):
    """The self-calibrated learnt detector, its boxes fused with the classical detector's.

    Runs ``inner`` as :class:`CalibratedDetector` does, then the ``companion`` (a
    :class:`CalibratedDetector` around the classical detector, given this detector's
    measured look so the video is measured once) on the same frames, and merges the two with
    :func:`~spermtrack.detect.fusion.fuse_boxes`: matched boxes move towards the classical
    centre and gain score, by :attr:`fusion` x the two detectors' agreement on the video's
    first batch (:func:`~spermtrack.detect.fusion.agreement`, recorded in
    ``look.detector_agreement``). With ``tta`` the learnt model also runs on the mirrored
    frames and the two passes are merged by weighted box fusion
    (:func:`~spermtrack.detect.fusion.merge_flipped`) before the fusion: better boxes, twice
    the model's time.

    With ``hedge`` (the default), a video whose measured head polarity is unclear (confidence
    below :data:`~spermtrack.detect.calibrate.MIN_POLARITY_CONFIDENCE`) is read both ways: a
    second reading (:attr:`other_reading`, the same model and fusion with the other polarity
    pinned, its own head size and scale search) runs on every batch, and the boxes of the two
    readings are merged by non-maximum suppression (:data:`READINGS_NMS_IOU`, class-blind).
    A wrong guess would otherwise lose almost every head (sperm AP@0.5 0.00-0.13 on 5 of 20
    such simulated videos; docs/detection.md); reading both ways costs twice the time on those
    videos only, and keeps the other reading's false positives (``look.both_polarities``
    records it, and the polarity warning still asks for ``--polarity``). A polarity given by
    the user, or measured with confidence, is never hedged.

    Parameters
    ----------
    inner : Detector
        The learnt detector (see :class:`CalibratedDetector`).
    companion : CalibratedDetector or None
        The self-calibrated classical detector; None: no fusion (``tta`` alone).
    fusion : FusionConfig, optional
        Weights of the fusion (default :class:`~spermtrack.detect.fusion.FusionConfig()`).
    tta : bool
        Also run the model on horizontally mirrored frames and merge the two passes.
    hedge : bool
        Read a video of unclear polarity both ways and keep the boxes of both readings.
    size_prior : bool
        Lower the scores of sperm boxes far smaller than the video's typical head box
        (:mod:`spermtrack.detect.size_prior`; the reference is recorded in
        ``look.size_reference_px``).
    **kwargs
        Of :class:`CalibratedDetector`.
    """

    def __init__(
        self, inner, companion=None, fusion=None, tta: bool = False, hedge: bool = True, size_prior: bool = True, **kwargs
    ) -> None:
        from .fusion import FusionConfig
        from .size_prior import SizeReference

        super().__init__(inner, **kwargs)
        self._settings = dict(kwargs)  # what the other reading of an unclear video is built from
        if fusion is None:
            fusion = FusionConfig()
        if not isinstance(fusion, FusionConfig):
            raise ParameterError(f"fusion must be a FusionConfig, got {type(fusion).__name__}")
        self.companion = companion
        self.fusion = fusion
        self.tta = bool(tta)
        self.hedge = bool(hedge)
        self.size_prior = bool(size_prior)
        self._size_reference = SizeReference()
        #: The reading with the other polarity while the current video's polarity is unclear (``hedge``), else None.
        self.other_reading: FusedDetector | None = None
        #: Agreement of the learnt and classical detectors on the current video's first batch (0-1).
        self.agreement: float | None = None
        self._score_hist = np.zeros(SCORE_BINS, np.int64)

    def reset(self) -> None:
        super().reset()
        self.agreement = None
        self._score_hist[:] = 0
        self.other_reading = None
        self._size_reference.reset()

    def _new_other_reading(self) -> FusedDetector:
        """The same model, fusion and settings with the other polarity pinned (no hedge of its own)."""
        other = "dark" if self.look.polarity == "bright" else "bright"
        return FusedDetector(
            self.inner,
            companion=copy.deepcopy(self.companion),
            fusion=self.fusion,
            tta=self.tta,
            hedge=False,
            size_prior=False,  # judged once, on the merged boxes of both readings
            **{**self._settings, "polarity": other},
        )

    def _record_scores(self, boxes: Boxes, first_frame: int) -> None:
        """Add the model's own sperm scores (one pass, before any merge) to the video's histogram; its median goes into the look."""
        if first_frame == 0:
            self._score_hist[:] = 0
        s = boxes.score[boxes.cls == SPERM] if len(boxes) else np.zeros(0, np.float32)
        if len(s):
            self._score_hist += np.bincount(np.clip((s * SCORE_BINS).astype(np.int64), 0, SCORE_BINS - 1), minlength=SCORE_BINS)
        n = int(self._score_hist.sum())
        median = None
        if n:
            k = int(np.searchsorted(np.cumsum(self._score_hist), (n + 1) / 2))
            median = round((k + 0.5) / SCORE_BINS, 3)
        self.look = dataclasses.replace(self.look, model_median_score=median)

    def detect(self, frames: np.ndarray, first_frame: int = 0) -> Boxes:
        """Boxes of a ``(B, H, W, 3)`` BGR batch, in pixels of the original frames."""
        batch = as_batch(frames, first_frame)
        new_video = first_frame == 0 or self.look is None
        self._calibrate(batch, first_frame)
        batch = self.masked(batch)
        boxes = self._fused(batch, first_frame)
        if new_video:
            self.other_reading = self._new_other_reading() if self.hedge and self.look.polarity_unclear else None
            self.look = dataclasses.replace(self.look, both_polarities=self.other_reading is not None)
        if self.other_reading is not None:
            other = self.other_reading.detect(batch, first_frame)
            both = Boxes.concat([boxes, other]).replace(num_frames=boxes.num_frames)
            boxes = _nms_per_frame(both, READINGS_NMS_IOU, by_class=False) if len(both) else both
        boxes = drop_boxes_in_overlays(boxes, self.look.overlays)
        return self._with_size_prior(boxes, batch, new_video)

    def _with_size_prior(self, boxes: Boxes, batch: np.ndarray, new_video: bool) -> Boxes:
        """The batch's boxes with the size prior applied (``size_prior``); the reference goes into the look."""
        from .size_prior import size_prior_scores

        if not self.size_prior:
            return boxes
        if new_video:
            self._size_reference.reset()
        height, width = batch.shape[1:3]
        # floored by the head size the calibration measured (or the user gave): debris can outnumber heads
        reference = self._size_reference.update(boxes, width, height, self.look.head_box_px)
        if reference is not None and self.look.size_reference_px is None:
            self.look = dataclasses.replace(self.look, size_reference_px=round(reference, 2))
        return size_prior_scores(boxes, reference, width, height)

    def _fused(self, batch: np.ndarray, first_frame: int) -> Boxes:
        """The model's boxes of a calibrated batch, mirrored pass merged (``tta``), fused with the companion's."""
        from .fusion import agreement, fuse_boxes, merge_flipped, mirror

        boxes = self._detect_mapped(batch, first_frame)
        self._record_scores(boxes, first_frame)
        if self.tta:
            flipped = self._detect_mapped(np.ascontiguousarray(batch[:, :, ::-1]), first_frame)
            boxes = merge_flipped(boxes, mirror(flipped, batch.shape[2]))
        if self.companion is None:
            return boxes
        if first_frame == 0 or self.companion.look is None:
            self.companion.set_look(self.look)
        found = self.companion.detect(batch, first_frame)
        if first_frame == 0 or self.agreement is None:
            self.agreement = agreement(boxes, found, self.fusion.match_iou, self.fusion.confident)[0]
            self.look = dataclasses.replace(self.look, detector_agreement=round(self.agreement, 3))
        a = self.agreement
        return fuse_boxes(boxes, found, self.fusion.centre_weight * a, self.fusion.boost * a, self.fusion.match_iou)

    def __repr__(self) -> str:
        return (
            f"FusedDetector({self.inner!r}, polarity={self.polarity!r}, head_px={self.head_px!r}, "
            f"fusion={self.fusion if self.companion is not None else None!r}, tta={self.tta})"
        )


def scale_confidence(boxes: Boxes, frames: int) -> float:
    """The model's confidence in a scale: the sum of its sperm scores >= :data:`SEARCH_CONFIDENT`, per frame.

    Counts heads found with confidence, each weighted by how sure the model is; per frame of
    the *original* video, so it does not depend on the size of the resized frames (the same
    heads are in view at every scale).
    """
    if len(boxes) == 0 or frames <= 0:
        return 0.0
    s = boxes.score[(boxes.cls == SPERM) & (boxes.score >= SEARCH_CONFIDENT)]
    return float(s.sum()) / frames


def model_box_px(boxes: Boxes) -> float:
    """Median side (geometric mean of width and height, pixels) of the sperm boxes scored >= :data:`SEARCH_CONFIDENT`; NaN if none."""
    m = (boxes.cls == SPERM) & (boxes.score >= SEARCH_CONFIDENT) if len(boxes) else np.zeros(0, bool)
    if not m.any():
        return float("nan")
    return float(np.median(np.sqrt((boxes.x2[m] - boxes.x1[m]) * (boxes.y2[m] - boxes.y1[m]))))


def choose_factor(factors, confidence, side_px, target_px: float, rule: str = "size", margin: float = 1.1) -> float:
    """The scale factor a search keeps, from each candidate's model confidence and model box side.

    Parameters
    ----------
    factors : sequence of float
        The candidate factors (on the blob-based mapping scale).
    confidence : sequence of float
        :func:`scale_confidence` at each factor.
    side_px : sequence of float
        Median side of the model's confident sperm boxes at the model's input (pixels) at each
        factor (NaN: none found).
    target_px : float
        Head box side the model was trained at (pixels at its input).
    rule : {"size", "confidence"}
        ``"size"``: the factor at which the model's own boxes come out closest (in log
        ratio) to ``target_px``: the scale the model itself says maps the heads to its
        trained size. ``"confidence"``: the factor with the highest confidence, when it beats
        factor 1's by more than ``margin`` (else 1).
    margin : float
        See ``rule``.
    """
    factors = [float(f) for f in factors]
    if rule == "confidence":
        ref = confidence[factors.index(1.0)] if 1.0 in factors else 0.0
        best = int(np.argmax(confidence))
        if 1.0 in factors and not confidence[best] > ref * margin:
            return 1.0
        return factors[best]
    if rule != "size":
        raise ParameterError(f"scale rule must be 'size' or 'confidence', got {rule!r}")
    dist = [abs(np.log(s / target_px)) if s == s and s > 0 else np.inf for s in side_px]
    if not np.isfinite(min(dist)):
        return 1.0 if 1.0 in factors else factors[int(np.argmin(np.abs(np.log(factors))))]
    return factors[int(np.argmin(dist))]


def check_scale_factors(factors) -> tuple[float, ...]:
    """Validate the candidate factors of the scale search: positive numbers in 0.25-4, at least one."""
    try:
        out = tuple(float(f) for f in factors)
    except (TypeError, ValueError):
        raise ParameterError(f"scale_factors must be numbers, got {factors!r}") from None
    if not out or not all(0.25 <= f <= 4.0 for f in out):
        raise ParameterError(f"scale_factors must be one or more numbers in 0.25-4, got {factors!r}")
    return out


def _tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of ``tile`` pixels covering ``size`` pixels, neighbours overlapping by >= ``overlap``."""
    if size <= tile:
        return [0]
    step = max(1, tile - overlap)
    n = int(np.ceil((size - tile) / step)) + 1
    return [int(round(i * (size - tile) / (n - 1))) for i in range(n)]


def _nms_per_frame(boxes: Boxes, iou: float, by_class: bool = True) -> Boxes:
    """Non-maximum suppression within each frame (boxes from overlapping tiles, or two readings):
    class-aware, or across classes with ``by_class=False``."""
    xyxy = np.stack([boxes.x1, boxes.y1, boxes.x2, boxes.y2], 1).astype(np.float64)
    # each (frame, class) gets its own stretch of the x axis, wider than any frame: no suppression
    # across frames or classes (float64: exact for any frame count and width)
    span = float(xyxy[:, 2].max() - min(xyxy[:, 0].min(), 0.0)) + 1.0
    key = (boxes.frame - boxes.frame.min()).astype(np.float64)
    if by_class:
        key = key * (int(boxes.cls.max()) + 1) + boxes.cls
    rects = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], 1)
    rects[:, 0] += key * span
    keep = cv2.dnn.NMSBoxes(rects.tolist(), boxes.score.tolist(), 0.0, iou)
    keep = np.sort(np.asarray(keep, np.int64).reshape(-1))
    return boxes[keep]
