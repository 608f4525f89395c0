"""Does a hypothesis belong to its ground truth at all? Shared frames and overlapping boxes.

Scoring tracks of one video against the labels of another gives numbers that
look like a very bad tracker (MOTA of -1000 and worse) rather than a mistake.
:func:`overlap_check` measures, before any matching, how many ground-truth frames
the hypothesis has boxes in and how many ground-truth boxes some hypothesis box
of the same frame overlaps (IoU > :data:`OVERLAP_IOU`); :meth:`Overlap.warnings`
turns too little of either into one-line warnings, which :func:`~spermtrack.evaluate.tracking`
keeps in :attr:`TrackingScores.warnings` and ``spermtrack evaluate`` prints and
writes into its JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: IoU above which a ground-truth box counts as overlapped by a hypothesis box (fixed, not the evaluation's threshold).
OVERLAP_IOU = 0.5
#: Fewest ground-truth frames (fraction of those with a box) that should also hold a hypothesis box.
MIN_SHARED_FRAMES = 0.5
#: Fewest ground-truth boxes (fraction) that should be overlapped by some hypothesis box.
MIN_OVERLAPPED_BOXES = 0.05


@dataclass(frozen=True)
class Overlap:
    """How much a hypothesis covers its ground truth, before any matching.

    Attributes
    ----------
    gt_frames : int
        Frames with at least one ground-truth box.
    shared_frames : int
        Of those, frames where the hypothesis has at least one box too.
    gt_boxes : int
        Ground-truth boxes.
    overlapped_boxes : int
        Ground-truth boxes that some hypothesis box of the same frame overlaps with IoU > :data:`OVERLAP_IOU`.
    """

    gt_frames: int
    shared_frames: int
    gt_boxes: int
    overlapped_boxes: int

    @property
    def shared_fraction(self) -> float:
        """``shared_frames / gt_frames`` (1 without ground truth: nothing to compare)."""
        return self.shared_frames / self.gt_frames if self.gt_frames else 1.0

    @property
    def overlapped_fraction(self) -> float:
        """``overlapped_boxes / gt_boxes`` (1 without ground truth)."""
        return self.overlapped_boxes / self.gt_boxes if self.gt_boxes else 1.0

    def warnings(self) -> list[str]:
        """One line per problem: few shared frames, or almost no overlapping box (empty when all is well)."""
        out = []
        hint = "are ground truth and hypothesis from the same video?"
        if self.shared_fraction < MIN_SHARED_FRAMES:
            out.append(
                f"the hypothesis has boxes in only {self.shared_frames} of the {self.gt_frames} ground-truth frames "
                f"({100 * self.shared_fraction:.0f} % < {100 * MIN_SHARED_FRAMES:.0f} %); {hint}"
            )
        if self.shared_frames and self.overlapped_fraction < MIN_OVERLAPPED_BOXES:  # no shared frame: said above
            out.append(
                f"only {self.overlapped_boxes} of {self.gt_boxes} ground-truth boxes "
                f"({100 * self.overlapped_fraction:.1f} % < {100 * MIN_OVERLAPPED_BOXES:.0f} %) overlap a hypothesis box "
                f"(IoU > {OVERLAP_IOU}); {hint}"
            )
        return out


def overlap_from_ious(off_g: np.ndarray, off_h: np.ndarray, block: np.ndarray, ious: np.ndarray) -> Overlap:
    """:class:`Overlap` from the per-frame IoU blocks of :func:`~spermtrack.evaluate.matching.frame_ious`.

    ``off_g`` and ``off_h`` are the frame offsets (F + 1,) of the ground truth and
    the hypothesis; ``ious[block[f]:block[f + 1]]`` is frame ``f``'s (n_g, n_h) block, row-major.
    """
    n_g = np.diff(off_g)
    n_h = np.diff(off_h)
    has_g = n_g > 0
    overlapped = 0
    for f in np.flatnonzero(has_g & (n_h > 0)).tolist():
        m = ious[block[f] : block[f + 1]].reshape(int(n_g[f]), int(n_h[f]))
        overlapped += int((m.max(axis=1) > OVERLAP_IOU).sum())
    return Overlap(
        gt_frames=int(has_g.sum()),
        shared_frames=int((has_g & (n_h > 0)).sum()),
        gt_boxes=int(n_g.sum()),
        overlapped_boxes=overlapped,
    )
