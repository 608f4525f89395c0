"""Repeated frames in simulated videos: a camera slower than its container, or a frame-rate conversion.

Many real recordings repeat frames: the image changes only every second to fourth frame
(frame-rate conversion, phone or screen recordings, some camera drivers; issue 14). A
simulated video with ``hold_frames=(lo, hi)`` shows each captured image for ``lo`` to ``hi``
consecutive frames (uniform, seeded): frame ``i`` shows the scene at the simulated frame
``shown[i]``, the first frame of its hold, so its true time is ``shown[i] / fps`` seconds.
Labels, head positions and frames all follow ``shown``; the true times are the ground truth
that :mod:`spermtrack.timebase` must recover.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..boxes import Boxes
from ..errors import ParameterError

#: Longest hold :func:`hold_schedule` accepts, frames.
MAX_HOLD = 100


def check_hold(hold_frames) -> tuple[int, int] | None:
    """``hold_frames`` as ``(lo, hi)`` whole frames with ``1 <= lo <= hi <= MAX_HOLD``, or None."""
    if hold_frames is None:
        return None
    try:
        lo, hi = (int(v) for v in hold_frames)
        ok = all(float(v) == int(v) for v in hold_frames)
    except (TypeError, ValueError):
        ok = False
    if not ok or not 1 <= lo <= hi <= MAX_HOLD:
        raise ParameterError(
            f"hold_frames must be two whole numbers 1 <= lo <= hi <= {MAX_HOLD} (frames each image is shown), got {hold_frames!r}"
        )
    return lo, hi


def hold_schedule(num_frames: int, hold_frames: tuple[int, int], seed: int) -> np.ndarray:
    """For each of ``num_frames`` frames, the simulated frame whose image it shows (int64, non-decreasing).

    Each image is shown for a number of frames drawn uniformly from ``lo .. hi`` (inclusive), from
    a random stream of its own (the seed and the number 14), so the scene is the same as without holds.

    >>> hold_schedule(8, (2, 2), seed=0).tolist()
    [0, 0, 2, 2, 4, 4, 6, 6]
    """
    lo, hi = hold_frames
    rng = np.random.default_rng([int(seed), 14])
    holds = rng.integers(lo, hi + 1, size=num_frames // lo + 1)
    starts = np.concatenate([[0], np.cumsum(holds)])
    starts = starts[starts < num_frames]
    lengths = np.diff(np.append(starts, num_frames))
    return np.repeat(starts, lengths).astype(np.int64)


def _rows_shown(frame_offsets: np.ndarray, shown: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, new_frame)``: the rows of a frame-sorted table that each shown frame repeats, and their frame."""
    counts = frame_offsets[shown + 1] - frame_offsets[shown]
    new_frame = np.repeat(np.arange(len(shown), dtype=np.int64), counts)
    first = np.repeat(frame_offsets[shown], counts)
    within = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    return first + within, new_frame


def boxes_shown(boxes: Boxes, shown: np.ndarray) -> Boxes:
    """The labels of a video whose frame ``i`` shows simulated frame ``shown[i]`` (same boxes, same ids)."""
    rows, new_frame = _rows_shown(boxes.frame_offsets, shown)
    cols = {c: getattr(boxes, c)[rows] for c in ("x1", "y1", "x2", "y2", "score", "cls", "track_id")}
    return Boxes(new_frame.astype(np.int32), **cols, num_frames=len(shown))


def heads_shown(heads: pd.DataFrame, num_frames: int, shown: np.ndarray) -> pd.DataFrame:
    """The true head table (one row per cell and frame) of the same video, ``frame`` renumbered."""
    order = np.argsort(heads["frame"].to_numpy(), kind="stable")
    sorted_heads = heads.iloc[order]
    offsets = np.searchsorted(sorted_heads["frame"].to_numpy(), np.arange(num_frames + 1), side="left")
    rows, new_frame = _rows_shown(offsets, shown)
    out = sorted_heads.iloc[rows].reset_index(drop=True)
    out["frame"] = new_frame.astype(heads["frame"].dtype)
    return out


class HeldRenderer:
    """A renderer whose frame ``i`` is its inner renderer's frame ``shown[i]``."""

    def __init__(self, inner, shown: np.ndarray) -> None:
        self.inner, self.shown = inner, shown

    def render(self, i: int) -> np.ndarray:
        """Frame ``i`` as a new (H, W, 3) uint8 BGR array."""
        return self.inner.render(int(self.shown[int(i)]))

    def __getattr__(self, name):
        return getattr(self.inner, name)


__all__ = ["MAX_HOLD", "HeldRenderer", "boxes_shown", "check_hold", "heads_shown", "hold_schedule"]
