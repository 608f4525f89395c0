"""Ground-truth boxes as detections, with controlled degradation (the public-detections protocol).

Tracker studies separate tracking errors from detection errors by feeding the tracker the
ground truth, optionally degraded in known ways: missed boxes, jittered centres, false
positives, noisy scores. :class:`GroundTruthDetector` does that reproducibly: the degradation
of frame ``f`` depends only on ``(seed, f)``, so any batching gives the same boxes.
"""

from __future__ import annotations

import numpy as np

from ..boxes import SPERM, Boxes
from ..errors import ParameterError
from .base import as_batch, boxes_from_lists


class GroundTruthDetector:
    """Detections made from ground-truth boxes.

    Parameters
    ----------
    gt : Boxes
        The ground truth of one video (pixels; track ids are dropped from the output).
    miss : float
        Probability that a ground-truth box is missed, independently per box, in [0, 1].
    jitter_px : float
        Standard deviation in pixels of the Gaussian noise added to each box centre, in x and
        in y independently (the box size is kept unless ``size_jitter`` > 0).
    fp_per_frame : float
        Mean number of false positives per frame (Poisson). Each is a box with the size of a
        randomly chosen ground-truth box of the video (23x23 px, VISEM's average sperm box,
        when the video has none), placed uniformly inside the image, class sperm.
    seed : int
        Seed of the degradation; frame ``f`` uses the generator ``default_rng([seed, f])``.
    score_noise : float
        Spread of the scores: true positives get ``clip(N(0.9, score_noise), 0.01, 1)``,
        false positives ``clip(N(0.3, score_noise), 0.01, 1)``. With ``score_noise=0`` true
        positives score 0.9 and false positives 0.3.
    size_jitter : float
        Standard deviation of the log-scale factor applied to width and height (0: none).
    image_size : (int, int)
        ``(width, height)`` in pixels used by :meth:`degrade` to place false positives and to
        clip boxes; :meth:`detect` takes it from the frames.

    Examples
    --------
    >>> gt = Boxes.from_xyxy([0, 1], [[10, 10, 30, 30], [12, 10, 32, 30]])
    >>> GroundTruthDetector(gt).degrade().equals(gt.replace(score=np.full(2, 0.9, np.float32)))
    True
    """

    def __init__(
        self,
        gt: Boxes,
        miss: float = 0.0,
        jitter_px: float = 0.0,
        fp_per_frame: float = 0.0,
        seed: int = 0,
        score_noise: float = 0.0,
        size_jitter: float = 0.0,
        image_size: tuple[int, int] = (640, 480),
    ) -> None:
        for label, value, upper in (
            ("miss", miss, 1.0),
            ("jitter_px", jitter_px, np.inf),
            ("fp_per_frame", fp_per_frame, np.inf),
            ("score_noise", score_noise, np.inf),
            ("size_jitter", size_jitter, np.inf),
        ):
            if not np.isfinite(value) or not 0.0 <= value <= upper:
                raise ParameterError(f"{label} must be finite and in [0, {upper}], got {value}")
        self.gt = gt
        self.miss = float(miss)
        self.jitter_px = float(jitter_px)
        self.fp_per_frame = float(fp_per_frame)
        self.seed = int(seed)
        self.score_noise = float(score_noise)
        self.size_jitter = float(size_jitter)
        self.image_size = (int(image_size[0]), int(image_size[1]))
        self.name = "gt" if not (miss or jitter_px or fp_per_frame or size_jitter) else "gt-noisy"
        w, h = gt.width, gt.height
        self._sizes = np.stack([w, h], 1).astype(np.float64) if len(gt) else np.array([[23.0, 23.0]])

    # ------------------------------------------------------------------ API
    def detect(self, frames: np.ndarray, first_frame: int = 0) -> Boxes:
        """Degraded ground truth of frames ``first_frame .. first_frame + B - 1`` (pixels)."""
        batch = as_batch(frames, first_frame)
        h, w = batch.shape[1:3]
        return self._frames(first_frame, first_frame + len(batch), (w, h))

    def degrade(self) -> Boxes:
        """Degraded ground truth of the whole video (``num_frames`` of the ground truth)."""
        return self._frames(0, self.gt.num_frames, self.image_size)

    # ------------------------------------------------------------------ internals
    def _frames(self, start: int, stop: int, image_size: tuple[int, int]) -> Boxes:
        width, height = image_size
        fr, xyxy, score, cls = [], [], [], []
        for f in range(start, stop):
            rng = np.random.default_rng([self.seed, f])
            part = self.gt.at_frame(f)
            n = len(part)
            keep = rng.random(n) >= self.miss
            cx = part.cx[keep].astype(np.float64)
            cy = part.cy[keep].astype(np.float64)
            bw = part.width[keep].astype(np.float64)
            bh = part.height[keep].astype(np.float64)
            m = len(cx)
            if self.jitter_px:
                cx = cx + rng.normal(0.0, self.jitter_px, m)
                cy = cy + rng.normal(0.0, self.jitter_px, m)
            if self.size_jitter:
                bw = bw * np.exp(rng.normal(0.0, self.size_jitter, m))
                bh = bh * np.exp(rng.normal(0.0, self.size_jitter, m))
            sc = np.clip(0.9 + self.score_noise * rng.standard_normal(m), 0.01, 1.0)
            c = part.cls[keep]
            n_fp = int(rng.poisson(self.fp_per_frame)) if self.fp_per_frame else 0
            if n_fp:
                size = self._sizes[rng.integers(0, len(self._sizes), n_fp)]
                cx = np.concatenate([cx, rng.uniform(0, width, n_fp)])
                cy = np.concatenate([cy, rng.uniform(0, height, n_fp)])
                bw = np.concatenate([bw, size[:, 0]])
                bh = np.concatenate([bh, size[:, 1]])
                sc = np.concatenate([sc, np.clip(0.3 + self.score_noise * rng.standard_normal(n_fp), 0.01, 1.0)])
                c = np.concatenate([c, np.full(n_fp, SPERM, np.int16)])
            if not len(cx):
                continue
            box = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1)
            if self.jitter_px or n_fp or self.size_jitter:
                box[:, 0::2] = np.clip(box[:, 0::2], 0, width)
                box[:, 1::2] = np.clip(box[:, 1::2], 0, height)
            fr.append(np.full(len(box), f, np.int32))
            xyxy.append(box)
            score.append(sc)
            cls.append(c)
        return boxes_from_lists(fr, xyxy, score, cls, num_frames=stop)
