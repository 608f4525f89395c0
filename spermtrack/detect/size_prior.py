"""The size prior: a "sperm" box much smaller than the video's heads is probably not a head.

Within one video every sperm head is seen at the same magnification, and human heads vary
little in size (length about 4-5 µm, WHO manual, 6th ed.), so the boxes of one video's heads
have about the same side. Debris specks, small bright particles and noise blobs that a
detector takes for heads are mostly smaller. On the held-out simulated sets the precision of
the default detector's sperm boxes (score >= 0.25) falls from 0.86 for boxes within
0.8-1.25x the video's typical head box to 0.43 at 0.6-0.8x and 0.03 below 0.6x (`test6`);
on the ten real VISEM frames it is 0.08 below 0.8x.

:func:`size_prior_scores` lowers the score of sperm boxes smaller than
:data:`MIN_SIZE_RATIO` x the video's reference size by ``(ratio / MIN_SIZE_RATIO) **``
:data:`POWER`: it reorders the boxes (what AP measures, and what the tracker's score
threshold sees), and removes none. The reference is the median side
(:attr:`~spermtrack.Boxes.side`, ``sqrt(w h)``) of the video's confident sperm boxes (score
>= :data:`CONFIDENT`), measured on its first batch by :class:`SizeReference`, and at least
:data:`HEAD_SIZE_FLOOR` x the head box side the self-calibration measured on the video's blobs
(or the user gave, ``--head-px``): in a sparse sample the debris specks can outnumber the heads,
and the model's confident boxes are then mostly specks (docs/detection.md). Boxes touching the
frame border are cut by it (their label is cut too) and are neither judged nor used for the
reference.
"""

from __future__ import annotations

import numpy as np

from ..boxes import SPERM, Boxes

#: Sperm boxes whose side is below this fraction of the video's reference side lose score.
MIN_SIZE_RATIO = 0.8
#: Exponent of the score factor ``(side / reference / MIN_SIZE_RATIO) ** POWER`` below the ratio.
POWER = 2.0
#: Score from which a sperm box counts towards the reference size.
CONFIDENT = 0.5
#: Fewest confident boxes for a reference size (fewer: no prior yet).
MIN_BOXES = 3
#: A box within this many pixels of the frame border is taken as cut by it.
BORDER_PX = 1.0
#: The reference is at least this fraction of the head box side the self-calibration measured
#: (or the user gave): in a sparse, dirty field the confident boxes are mostly debris specks.
HEAD_SIZE_FLOOR = 0.7


def inside(boxes: Boxes, width: int, height: int) -> np.ndarray:
    """True for boxes that do not touch the frame border (within :data:`BORDER_PX`)."""
    b = BORDER_PX
    return (boxes.x1 > b) & (boxes.y1 > b) & (boxes.x2 < width - b) & (boxes.y2 < height - b)


def size_prior_scores(boxes: Boxes, reference_px: float | None, width: int, height: int) -> Boxes:
    """``boxes`` with the scores of sperm boxes far smaller than ``reference_px`` lowered.

    Parameters
    ----------
    boxes : Boxes
        Detections of frames ``width`` x ``height`` pixels.
    reference_px : float or None
        The video's typical head box side (pixels); None: the boxes are returned unchanged.
    width, height : int
        Frame size (pixels), to leave boxes cut by the border alone.

    Examples
    --------
    >>> b = Boxes.from_xyxy([0, 0], [[10, 10, 30, 30], [50, 50, 60, 60]], score=[0.8, 0.8])
    >>> size_prior_scores(b, 20.0, 100, 100).score.round(3).tolist()  # a 10-px box among 20-px heads
    [0.8, 0.312]
    """
    if reference_px is None or not len(boxes):
        return boxes
    ratio = boxes.side / float(reference_px)
    judged = (boxes.cls == SPERM) & inside(boxes, width, height) & (ratio < MIN_SIZE_RATIO)
    if not judged.any():
        return boxes
    factor = np.where(judged, (ratio / MIN_SIZE_RATIO) ** POWER, 1.0)
    return boxes.replace(score=(boxes.score * factor).astype(np.float32))


class SizeReference:
    """The video's typical head box side, from the confident sperm boxes of its first batch(es).

    :meth:`update` collects the sides of confident sperm boxes (not cut by the border) until
    at least :data:`MIN_BOXES` are known, then fixes the reference at their median for the
    rest of the video (a sparse video keeps collecting over its next batches);
    :meth:`reset` starts a new video.
    """

    def __init__(self) -> None:
        self.reference_px: float | None = None
        self._sides: list[np.ndarray] = []

    def reset(self) -> None:
        self.reference_px = None
        self._sides = []

    def update(self, boxes: Boxes, width: int, height: int, head_box_px: float | None = None) -> float | None:
        """Take a batch's boxes into account; returns the reference side (pixels) or None while unknown.

        ``head_box_px``: the head box side (pixels) the self-calibration measured or the user
        gave; the reference is at least :data:`HEAD_SIZE_FLOOR` times it.
        """
        if self.reference_px is None and len(boxes):
            ok = (boxes.cls == SPERM) & (boxes.score >= CONFIDENT) & inside(boxes, width, height)
            self._sides.append(boxes.side[ok])
            sides = np.concatenate(self._sides)
            if len(sides) >= MIN_BOXES:
                self.reference_px = float(np.median(sides))
                if head_box_px is not None:
                    self.reference_px = max(self.reference_px, HEAD_SIZE_FLOOR * float(head_box_px))
                self._sides = []
        return self.reference_px


__all__ = ["CONFIDENT", "MIN_SIZE_RATIO", "POWER", "SizeReference", "inside", "size_prior_scores"]
