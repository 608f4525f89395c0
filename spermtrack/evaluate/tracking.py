"""Tracking metrics: :func:`tracking` for one video, :func:`tracking_many` for several.

CLEAR MOT and identity metrics equal py-motmetrics 1.4, HOTA equals TrackEval
1.3, on the same boxes (see docs/metrics.md for definitions, conventions and
the equality checks). The per-frame IoUs are computed once and shared by the
three Numba kernels.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from ..boxes import Boxes
from ..errors import EvaluationWarning
from ._inputs import EvaluationError, check_threshold, class_name, frame_arrays, frame_range
from .clear import clear_events, track_coverage
from .hota import hota_fields
from .identity import identity_tp
from .matching import frame_ious
from .overlap import overlap_from_ious
from .scores import TrackingScores


def _sequence_scores(
    gt: Boxes, hyp: Boxes, num_frames: int, iou_threshold: float, name: str, check_overlap: bool = False
) -> TrackingScores:
    """Class-agnostic scores of one sequence (``gt`` and ``hyp`` already cover ``num_frames``).

    With ``check_overlap``, :attr:`TrackingScores.warnings` says when the two hardly overlap (see evaluate/overlap.py).
    """
    g = frame_arrays(gt, num_frames, "ground truth")
    h = frame_arrays(hyp, num_frames, "hypothesis")
    block, ious = frame_ious(g.off, g.box, h.off, h.box)
    notes = tuple(overlap_from_ious(g.off, h.off, block, ious).warnings()) if check_overlap else ()
    max_dist = 1.0 - iou_threshold
    counts, dist_sum, present, tracked = clear_events(g.off, g.ids, g.n_ids, h.off, h.ids, h.n_ids, block, ious, max_dist)
    mt, pt, ml = track_coverage(present, tracked)
    idtp = identity_tp(g.off, g.ids, g.n_ids, h.off, h.ids, h.n_ids, block, ious, max_dist)
    hf = hota_fields(g.off, g.ids, g.n_ids, h.off, h.ids, h.n_ids, block, ious)
    c = [int(x) for x in counts]
    return TrackingScores(
        num_frames=num_frames,
        num_gt=len(gt),
        num_hyp=len(hyp),
        num_gt_ids=g.n_ids,
        num_hyp_ids=h.n_ids,
        num_matches=c[0],
        idsw=c[1],
        num_transfer=c[2],
        num_ascend=c[3],
        num_migrate=c[4],
        fn=c[5],
        fp=c[6],
        frag=c[7],
        mt=mt,
        pt=pt,
        ml=ml,
        idtp=idtp,
        dist_sum=float(dist_sum),
        hota_fields=hf,
        iou_threshold=iou_threshold,
        name=name,
        warnings=notes,
    )


def tracking(
    gt: Boxes,
    hyp: Boxes,
    iou_threshold: float = 0.5,
    *,
    per_class: bool = True,
    num_frames: int | None = None,
    name: str = "all",
) -> TrackingScores:
    """Score tracks against ground truth: CLEAR MOT, identity and HOTA metrics.

    Parameters
    ----------
    gt : Boxes
        Ground-truth boxes with track ids (pixels; frames 0-based).
    hyp : Boxes
        Tracker output with track ids, same frame numbering.
    iou_threshold : float
        Smallest IoU at which a ground-truth and a hypothesis box may match, for
        the CLEAR MOT (MOTA, ...) and identity (IDF1, ...) metrics; HOTA sweeps
        its own thresholds 0.05..0.95.
    per_class : bool
        Also score each class separately (boxes match only within their class,
        as TrackEval's class-wise evaluation); classes present in either table.
    num_frames : int, optional
        Frames to evaluate, ``0 .. num_frames - 1``. Default: ``gt.num_frames``,
        and a hypothesis box beyond it is an error (different videos?). Frames
        with no box on either side count for nothing except ``num_frames``.
    name : str
        Name of the result (a video id, say).

    Returns
    -------
    TrackingScores
        Class-agnostic scores as attributes, class-wise ones in ``per_class``.

    Raises
    ------
    EvaluationError
        A box without a track id, an id twice in one frame, boxes beyond the
        frame range, or a threshold outside (0, 1].

    Warns
    -----
    EvaluationWarning
        When the hypothesis has boxes in fewer than half of the ground truth's
        frames, or overlaps (IoU > 0.5) fewer than 5 % of its boxes: tracks of
        another video, most likely. The same lines are kept in the result's
        ``warnings`` (and its ``to_dict()``).

    Notes
    -----
    Zero-area boxes match nothing (their IoU is 0): a zero-area ground-truth
    box is a miss, a zero-area hypothesis box a false positive. Empty ground
    truth or hypothesis give the reference libraries' values (e.g. MOTA is
    ``1 - FP/0 = -inf`` and IDF1 0 with false positives only; HOTA 0).

    Examples
    --------
    >>> gt = Boxes([0, 0, 1, 1], [0, 20, 1, 21], [0, 0, 0, 0], [10, 30, 11, 31], [10, 10, 10, 10], track_id=[1, 2, 1, 2])
    >>> hyp = gt.replace(track_id=np.array([7, 8, 8, 7]))  # identities swapped in frame 1
    >>> s = tracking(gt, hyp)
    >>> s.idsw, s.fp, s.fn, round(s.mota, 3), round(s.idf1, 3)
    (2, 0, 0, 0.5, 0.5)
    """
    t = check_threshold(iou_threshold)
    n = frame_range(gt, hyp, num_frames, "hypothesis")
    gt = gt.replace(num_frames=n)
    hyp = hyp.replace(num_frames=n)
    classes: dict[str, TrackingScores] = {}
    if per_class:
        for c in np.union1d(np.unique(gt.cls), np.unique(hyp.cls)).tolist():
            cname = class_name(int(c))
            classes[cname] = _sequence_scores(gt.filter(gt.cls == c), hyp.filter(hyp.cls == c), n, t, cname)
    scores = replace(_sequence_scores(gt, hyp, n, t, name, check_overlap=True), per_class=classes)
    for line in scores.warnings:
        warnings.warn(f"{name}: {line}" if name != "all" else line, EvaluationWarning, stacklevel=2)
    return scores


def tracking_many(
    videos: Mapping[str, tuple[Boxes, Boxes]],
    iou_threshold: float = 0.5,
    *,
    per_class: bool = True,
    num_frames: Mapping[str, int] | None = None,
) -> TrackingScores:
    """Score several videos and combine them as py-motmetrics and TrackEval combine sequences.

    Parameters
    ----------
    videos : mapping of video id -> (gt, hyp)
        The ground truth and tracker output of each video.
    iou_threshold, per_class : as :func:`tracking`.
    num_frames : mapping of video id -> int, optional
        Frame counts where the ground truth does not give them (see :func:`tracking`).

    Returns
    -------
    TrackingScores
        Combined scores (sums of counts, ratios recomputed; HOTA combined as
        TrackEval), with ``per_video`` holding each video's scores and
        ``per_class`` the class-wise scores combined over videos.
    """
    t = check_threshold(iou_threshold)
    per_video = {}
    for vid, (gt, hyp) in videos.items():
        nf = None if num_frames is None else num_frames.get(vid)
        try:
            per_video[str(vid)] = tracking(gt, hyp, t, per_class=per_class, num_frames=nf, name=str(vid))
        except EvaluationError as exc:
            raise EvaluationError(f"video {vid}: {exc}") from exc
    combined = TrackingScores.combine(per_video.values(), name="combined")
    notes = tuple(f"video {vid}: {line}" for vid, s in per_video.items() for line in s.warnings)
    return replace(combined, iou_threshold=t, per_video=per_video, warnings=notes)
