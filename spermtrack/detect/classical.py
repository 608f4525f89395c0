"""A detector that needs no weights: OpenCV image processing tuned to VISEM-Tracking frames.

Per frame (640x480, about 2-3 ms on one core):

1. grey level; background = the frame shrunk 8x (area average), box-blurred and enlarged
   again (illumination normalisation: uneven lighting and vignetting are removed);
2. contrast = smoothed frame minus background (bright heads on the dark phase-contrast look)
   or background minus smoothed frame (dark heads on a light look); the polarity is
   chosen once per video from the first frames (``polarity="auto"``);
3. threshold at ``k`` robust noise sigmas (median absolute deviation), never below
   ``min_contrast`` grey levels;
4. connected components of the mask, and local maxima of the contrast (grey-level
   dilation) inside them: one candidate per maximum, close maxima merged by non-maximum
   suppression; components holding several maxima are split into one box per maximum
   (touching heads), a large component with many maxima becomes one ``cluster`` box;
5. boxes sized like VISEM's (about 23x23 px for a sperm head with its halo), class
   ``small_or_pinhead`` for faint, small blobs, score from the contrast-to-noise ratio.
   Where the heads are dark (bright field, negative phase contrast) a blob's box follows
   its own extent down to ``dark_min_box`` x ``box_size``: labels there frame the dark head
   itself (a 4.5-µm head fills about 0.78 of a 5.75-µm box), not a bright halo around a
   small core as in phase contrast (docs/detection.md, "The classical detector").
"""

from __future__ import annotations

import cv2
import numpy as np

from ..boxes import CLUSTER, PINHEAD, SPERM, Boxes
from ..errors import ParameterError
from .base import as_batch, boxes_from_lists

#: ``polarity="auto"`` picks dark heads only when the darkest deviations are this many times the brightest.
DARK_MARGIN = 2.0
#: Smallest box side of a single dark-head blob, as a fraction of ``box_size`` (docs/detection.md).
DARK_MIN_BOX = 0.6


class ClassicalDetector:
    """Threshold-and-components detector for phase-contrast sperm videos (OpenCV only).

    Parameters
    ----------
    polarity : {"auto", "bright", "dark"}
        ``"bright"``: heads brighter than the background (VISEM's dark phase-contrast look);
        ``"dark"``: heads darker (a light background with dark heads); ``"auto"``: decided
        per video on its first frames (a batch with ``first_frame == 0`` starts a new video).
    k : float
        Threshold in robust noise sigmas. Raise it when noise makes false positives, lower
        it when faint heads are missed.
    min_contrast : float
        Lowest threshold in grey levels (0-255), whatever the noise estimate.
    smooth_sigma : float
        Gaussian smoothing in pixels before thresholding (about a third of a head's width).
    background_scale : int
        The background is estimated at ``1 / background_scale`` resolution and blurred with a
        5x5 box there, i.e. over ~``5 * background_scale`` px: larger than a head (~12 px),
        smaller than the illumination changes.
    peak_window : int
        Side in pixels of the window in which a local maximum must be the largest (odd).
    min_area : int
        Components with fewer thresholded pixels are noise.
    box_size : float
        Side in pixels of the box of a head found by splitting, and the smallest box side
        (VISEM's average sperm box is 23 px at 640x480).
    max_box : float
        Largest side of a sperm box; larger components are clipped to it around their peak.
    merge_iou : float
        Candidates (``box_size`` boxes on local maxima) overlapping more than this are merged.
    cluster_area : int
        A component with at least this many thresholded pixels and ``cluster_peaks`` maxima
        is one cluster box (VISEM's clusters are 24-98 px, 58x52 px on average).
    cluster_peaks : int
        See ``cluster_area``.
    pinhead_area : int
        A single-maximum component smaller than this, with contrast below ``pinhead_snr``
        sigmas, is labelled small-or-pinhead.
    pinhead_snr : float
        See ``pinhead_area``.
    score_scale : float
        Score = ``snr / (snr + score_scale)`` where ``snr`` is the peak contrast in noise sigmas.
    dark_min_box : float
        0-1. In videos whose heads are dark (``polarity="dark"``, or told by the
        self-calibration through :meth:`adapt_to_look` when it inverted the frames), the
        smallest side of a single blob's box as a fraction of ``box_size``.
    """

    name = "classical"

    def __init__(
        self,
        polarity: str = "auto",
        k: float = 8.0,
        min_contrast: float = 10.0,
        smooth_sigma: float = 4.0,
        background_scale: int = 8,
        peak_window: int = 11,
        min_area: int = 6,
        box_size: float = 23.0,
        max_box: float = 40.0,
        merge_iou: float = 0.3,
        cluster_area: int = 500,
        cluster_peaks: int = 3,
        pinhead_area: int = 20,
        pinhead_snr: float = 8.0,
        score_scale: float = 10.0,
        dark_min_box: float = DARK_MIN_BOX,
    ) -> None:
        if polarity not in ("auto", "bright", "dark", "abs"):
            raise ParameterError(f"polarity must be 'auto', 'bright', 'dark' or 'abs', got {polarity!r}")
        if peak_window < 3 or peak_window % 2 == 0:
            raise ParameterError(f"peak_window must be an odd number >= 3, got {peak_window}")
        if background_scale < 2:
            raise ParameterError(f"background_scale must be >= 2, got {background_scale}")
        self.polarity = polarity
        self.k, self.min_contrast = float(k), float(min_contrast)
        self.smooth_sigma = float(smooth_sigma)
        self.background_scale = int(background_scale)
        self.peak_window = int(peak_window)
        self.min_area = int(min_area)
        self.box_size, self.max_box = float(box_size), float(max_box)
        self.merge_iou = float(merge_iou)
        self.cluster_area, self.cluster_peaks = int(cluster_area), int(cluster_peaks)
        self.pinhead_area, self.pinhead_snr = int(pinhead_area), float(pinhead_snr)
        self.score_scale = float(score_scale)
        if isinstance(dark_min_box, bool) or not (isinstance(dark_min_box, (int, float)) and 0.0 < dark_min_box <= 1.0):
            raise ParameterError(f"dark_min_box must be a number in (0, 1], got {dark_min_box!r}")
        self.dark_min_box = float(dark_min_box)
        #: Whether the current video's heads are dark in the original frames (set by :meth:`adapt_to_look`;
        #: None: this detector's own polarity says).
        self.source_dark: bool | None = None
        self._kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (self.peak_window, self.peak_window))
        ks = max(3, int(round(self.smooth_sigma * 3)) * 2 + 1)
        self._smooth_ksize = (ks, ks)
        #: The polarity in use for the current video (``"bright"`` or ``"dark"``), set on its first batch.
        self.video_polarity: str | None = None if polarity == "auto" else polarity

    # ------------------------------------------------------------------ public API
    def reset(self) -> None:
        """Forget the polarity chosen for the previous video."""
        self.video_polarity = None if self.polarity == "auto" else self.polarity
        self.source_dark = None

    def adapt_to_look(self, look) -> None:
        """Told by the self-calibration what the video looks like before its frames were mapped
        (:class:`~spermtrack.detect.normalize.CalibratedDetector`): dark heads get boxes that
        follow their own extent (``dark_min_box``), even on the inverted frames this detector sees."""
        self.source_dark = None if look is None else look.polarity == "dark"

    def detect(self, frames: np.ndarray, first_frame: int = 0) -> Boxes:
        """Boxes of a ``(B, H, W, 3)`` BGR batch (frames ``first_frame ..``), pixels of the frame."""
        batch = as_batch(frames, first_frame)
        if first_frame == 0 and self.polarity == "auto":
            self.video_polarity = None
        fr, xyxy, score, cls = [], [], [], []
        sigma = None
        for i, frame in enumerate(batch):
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            sm, bg = self._smooth_and_background(gray)
            if self.video_polarity is None:
                self.video_polarity = self.choose_polarity(sm, bg)
            if sigma is None:  # noise level: once per batch (it changes slowly within a video)
                sigma = noise_sigma(sm, bg)
            b, s, c = self._detect_gray(sm, bg, sigma)
            if len(b):
                fr.append(np.full(len(b), first_frame + i, np.int32))
                xyxy.append(b)
                score.append(s)
                cls.append(c)
        return boxes_from_lists(fr, xyxy, score, cls, num_frames=first_frame + len(batch))

    def choose_polarity(self, sm: np.ndarray, bg: np.ndarray) -> str:
        """``"dark"`` only when dark deviations from the background clearly dominate, else ``"bright"``.

        Compares the 99.95th percentile of ``frame - background`` with that of
        ``background - frame``. In both VISEM looks heads (or their halos) are brighter
        than the background and dark debris is common, so dark must win by ``DARK_MARGIN``.
        """
        diff = sm[::2, ::2].astype(np.int16) - bg[::2, ::2].astype(np.int16)
        hi = float(np.percentile(diff, 99.95))
        lo = -float(np.percentile(diff, 0.05))
        return "dark" if lo > DARK_MARGIN * max(hi, 1.0) else "bright"

    # ------------------------------------------------------------------ internals
    def _smooth_and_background(self, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h, w = gray.shape
        s = self.background_scale
        small = cv2.resize(gray, (max(1, w // s), max(1, h // s)), interpolation=cv2.INTER_AREA)
        small = cv2.blur(small, (5, 5))
        bg = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        sm = cv2.GaussianBlur(gray, self._smooth_ksize, self.smooth_sigma)
        return sm, bg

    def _detect_gray(self, sm: np.ndarray, bg: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        h, w = sm.shape
        if self.video_polarity == "bright":
            contrast = cv2.subtract(sm, bg)
        elif self.video_polarity == "dark":
            contrast = cv2.subtract(bg, sm)
        else:
            contrast = cv2.absdiff(sm, bg)
        thr = max(self.k * sigma, self.min_contrast)
        _, mask = cv2.threshold(contrast, thr, 255, cv2.THRESH_BINARY)
        # Grana's algorithm: 4x faster than OpenCV's default on one thread
        n, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(mask, 8, cv2.CV_32S, cv2.CCL_GRANA)
        if n <= 1:
            return _none()
        dil = cv2.dilate(contrast, self._kernel)
        peaks = cv2.findNonZero(cv2.bitwise_and(cv2.compare(contrast, dil, cv2.CMP_EQ), mask))
        if peaks is None:
            return _none()
        peaks = peaks.reshape(-1, 2)
        px, py = peaks[:, 0], peaks[:, 1]
        comp = labels[py, px]
        area = stats[:, cv2.CC_STAT_AREA]
        ok = area[comp] >= self.min_area
        px, py, comp = px[ok], py[ok], comp[ok]
        if px.size == 0:
            return _none()
        peak = contrast[py, px].astype(np.float32)
        # merge maxima closer than a head (plateaus, double maxima of one head)
        half = self.box_size / 2
        rects = np.stack([px - half, py - half, np.full(px.size, self.box_size), np.full(px.size, self.box_size)], 1)
        keep = cv2.dnn.NMSBoxes(rects.tolist(), peak.tolist(), 0.0, self.merge_iou)
        keep = np.sort(np.asarray(keep, np.int64).reshape(-1))
        px, py, comp, peak = px[keep], py[keep], comp[keep], peak[keep]
        peaks_per_comp = np.bincount(comp, minlength=n)
        npk = peaks_per_comp[comp]
        cw = stats[comp, cv2.CC_STAT_WIDTH].astype(np.float32)
        ch = stats[comp, cv2.CC_STAT_HEIGHT].astype(np.float32)
        cx0 = stats[comp, cv2.CC_STAT_LEFT].astype(np.float32)
        cy0 = stats[comp, cv2.CC_STAT_TOP].astype(np.float32)
        carea = area[comp]
        snr = peak / sigma
        is_cluster = (carea >= self.cluster_area) & (npk >= self.cluster_peaks)
        # single-maximum components: box around the component, at least box_size, at most max_box
        single = (npk == 1) & ~is_cluster
        dark = self.source_dark if self.source_dark is not None else self.video_polarity == "dark"
        low = self.box_size * (self.dark_min_box if dark else 1.0)
        bw = np.where(single, np.clip(cw + 6, low, self.max_box), self.box_size)
        bh = np.where(single, np.clip(ch + 6, low, self.max_box), self.box_size)
        ccx = np.where(single, cx0 + cw / 2, px.astype(np.float32))
        ccy = np.where(single, cy0 + ch / 2, py.astype(np.float32))
        # keep the peak inside a clipped box
        ccx = np.clip(ccx, px - bw / 2 + 2, px + bw / 2 - 2)
        ccy = np.clip(ccy, py - bh / 2 + 2, py + bh / 2 - 2)
        cls = np.where((carea < self.pinhead_area) & (snr < self.pinhead_snr) & single, PINHEAD, SPERM).astype(np.int16)
        score = (snr / (snr + self.score_scale)).astype(np.float32)
        boxes = np.stack([ccx - bw / 2, ccy - bh / 2, ccx + bw / 2, ccy + bh / 2], 1).astype(np.float32)
        # clusters: one box per cluster component, replacing its maxima
        if is_cluster.any():
            cl_ids = np.unique(comp[is_cluster])
            x0 = stats[cl_ids, cv2.CC_STAT_LEFT].astype(np.float32) - 3
            y0 = stats[cl_ids, cv2.CC_STAT_TOP].astype(np.float32) - 3
            x1 = x0 + stats[cl_ids, cv2.CC_STAT_WIDTH] + 6
            y1 = y0 + stats[cl_ids, cv2.CC_STAT_HEIGHT] + 6
            best = np.zeros(n, np.float32)
            np.maximum.at(best, comp[is_cluster], score[is_cluster])
            boxes = np.concatenate([boxes[~is_cluster], np.stack([x0, y0, x1, y1], 1)])
            score = np.concatenate([score[~is_cluster], best[cl_ids]])
            cls = np.concatenate([cls[~is_cluster], np.full(len(cl_ids), CLUSTER, np.int16)])
        boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, w)
        boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, h)
        return boxes, score, cls


def noise_sigma(sm: np.ndarray, bg: np.ndarray) -> float:
    """Robust noise level (grey levels) of ``sm - bg``: 1.4826 x median absolute deviation on a 4x subsample."""
    sub = sm[::4, ::4].astype(np.int16) - bg[::4, ::4].astype(np.int16)
    med = np.median(sub)
    return max(1.4826 * float(np.median(np.abs(sub - med))), 0.5)


def _none() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int16)
