"""Checks and conversion of :class:`~spermtrack.Boxes` into the arrays the metric kernels read."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..boxes import CLASS_NAMES, UNTRACKED, Boxes
from ..errors import EvaluationError, SpermtrackError  # noqa: F401  (EvaluationError: re-exported)


@dataclass(frozen=True)
class FrameArrays:
    """One side (ground truth or hypothesis) of one sequence, ready for the kernels.

    Attributes
    ----------
    off : int64 array (F + 1,)
        Frame offsets over the evaluated frames.
    box : float64 array (N, 4)
        Corners ``x1, y1, x2, y2`` in pixels (the float32 values of the Boxes).
    ids : int64 array (N,)
        Track ids relabelled ``0 .. n_ids - 1`` (in the order of the original ids).
    n_ids : int
        Number of distinct track ids.
    """

    off: np.ndarray
    box: np.ndarray
    ids: np.ndarray
    n_ids: int


def frame_text(f: int) -> str:
    """A frame index for messages, in both numberings.

    >>> frame_text(0)
    'frame 0 (0-based; 1 in MOTChallenge files)'
    """
    return f"frame {int(f)} (0-based; {int(f) + 1} in MOTChallenge files)"


def frame_range(gt: Boxes, other: Boxes, num_frames: int | None, other_name: str) -> int:
    """The number of frames to evaluate, or a :class:`EvaluationError` when the tables do not fit in it.

    With ``num_frames=None`` the ground truth's ``num_frames`` is used and a box
    of ``other`` beyond it is an error (a sign of comparing different videos).
    """
    if num_frames is None:
        n = gt.num_frames
        if len(other) and int(other.frame[-1]) >= n:
            raise EvaluationError(
                f"the {other_name} has boxes in {frame_text(other.frame[-1])} but the ground truth covers frames "
                f"0..{n - 1}: different videos? If the ground truth simply ends early, pass num_frames="
                f"{int(other.frame[-1]) + 1} (frames without ground truth then count every {other_name} box as a false positive)"
            )
        return n
    n = int(num_frames)
    if n < 0:
        raise EvaluationError(f"num_frames must be >= 0, got {num_frames}")
    for boxes, name in ((gt, "ground truth"), (other, other_name)):
        if len(boxes) and int(boxes.frame[-1]) >= n:
            raise EvaluationError(f"the {name} has boxes in {frame_text(boxes.frame[-1])}, beyond num_frames={n}")
    return n


def frame_arrays(boxes: Boxes, num_frames: int, name: str) -> FrameArrays:
    """Convert ``boxes`` (named ``name`` in messages) for the kernels: offsets, float64 corners, relabelled ids.

    Raises
    ------
    EvaluationError
        When a box has no track id (``-1``), or an id occurs twice in one frame
        (naming the frame and the id).
    """
    off = np.searchsorted(boxes.frame, np.arange(num_frames + 1), side="left").astype(np.int64)
    box = np.ascontiguousarray(np.stack([boxes.x1, boxes.y1, boxes.x2, boxes.y2], axis=1), dtype=np.float64)
    tid = boxes.track_id
    untracked = np.flatnonzero(tid == UNTRACKED)
    if untracked.size:
        r = int(untracked[0])
        raise EvaluationError(
            f"the {name} has a box without a track id in {frame_text(boxes.frame[r])}; tracking metrics need "
            "an id on every box (for ground truth read labels_ftid/ or a MOT file, or use evaluate.detection for untracked boxes)"
        )
    uniq, ids = np.unique(tid, return_inverse=True)
    ids = ids.astype(np.int64).reshape(-1)
    if len(ids) > 1:
        key = boxes.frame.astype(np.int64) * len(uniq) + ids
        order = np.argsort(key, kind="stable")
        dup = np.flatnonzero(key[order][1:] == key[order][:-1])
        if dup.size:
            r = int(order[dup[0] + 1])
            raise EvaluationError(
                f"the {name} has track id {int(tid[r])} twice in {frame_text(boxes.frame[r])}; an identity can be "
                "in one place per frame (TrackEval rejects such files too)"
            )
    return FrameArrays(off, box.reshape(-1, 4), ids, len(uniq))


def check_threshold(iou_threshold: float) -> float:
    """``iou_threshold`` as a float in (0, 1], or a :class:`EvaluationError`."""
    t = float(iou_threshold)
    if not 0.0 < t <= 1.0:
        raise EvaluationError(f"iou_threshold must be in (0, 1], got {iou_threshold}")
    return t


def class_name(c: int) -> str:
    """Name of class id ``c`` (:data:`~spermtrack.CLASS_NAMES`), or ``"class<c>"`` beyond them.

    >>> class_name(2), class_name(7)
    ('small_or_pinhead', 'class7')
    """
    return CLASS_NAMES[c] if 0 <= c < len(CLASS_NAMES) else f"class{c}"
