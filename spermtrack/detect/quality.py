"""Plausibility checks of a video's detections: say when a result cannot be trusted.

A detector that does not know a microscope's look still returns boxes, and everything
downstream (tracks, speeds, the fastest sperm) is then computed from noise. These checks
look at what a video's detections and its measured look say about themselves and return
plain-language warnings with what to do; ``analyze`` prints them, writes them into
``summary.json`` and shows them at the top of the report.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..boxes import SPERM, Boxes
from ..track.calibrate import head_sized  # the head-sized band, shared with the tracker's sureness

#: Fewer sperm boxes per frame than this (on average) is "almost nothing found".
MIN_BOXES_PER_FRAME = 0.5
#: Median score of the sperm boxes below this means the detector is unsure of most of them.
MIN_MEDIAN_SCORE = 0.35
#: A median score from which the model is sure of its heads: then many more classical blobs than
#: model heads are debris (a sparse or dirty sample), not missed heads.
SURE_MEDIAN_SCORE = 0.5
#: The detected boxes' median side may differ from the measured head size by this factor.
MAX_SIZE_RATIO = 2.0
#: The learnt and the classical detectors' counts may differ by this factor.
MAX_COUNT_RATIO = 3.0
#: A box the detector is sure of scores at least this (0-1): YOLO's usual confidence threshold,
#: and the tracker's start score before tracks were kept by their mean score (TrackerConfig).
SURE_SCORE = 0.5
#: The detector is unsure of many heads when its head-sized boxes below :data:`SURE_SCORE`
#: outnumber those at or above it by more than this factor: the tracks of heads it doubts in
#: most frames fall below the tracker's ``min_track_score`` and are dropped ...
MAX_UNSURE_RATIO = 1.0
#: ... and there are at least this many of them per frame.
MIN_UNSURE_PER_FRAME = 1.0
#: Plausible side of a sperm head's box, µm (geometric mean of width and height). A human
#: head is 4-5 µm long and 2.5-3.5 µm wide (WHO manual, 6th ed.): a tight box is about
#: 3.5 µm, VISEM-Tracking's boxes with their margin 5.7-11.4 µm (docs/calibration.md).
#: Outside this range either the µm-per-pixel calibration is wrong or the boxes are not heads.
HEAD_BOX_UM = (2.5, 15.0)
#: A valid track "moves" when its head gets this many head boxes (the tracked boxes' median side)
#: from where it was within :data:`MOVING_WINDOW_S`, after the field's common drift is taken
#: out. A still object's measured position wanders by well under a box in that time
#: (docs/detection.md); a head box (~5.75 µm at VISEM's scale) per second is a slow
#: progressive cell's speed (WHO: 5-25 µm/s).
MOVING_HEAD_BOXES = 1.0
#: Longest time between the two positions of a track compared by the motion check, seconds.
MOVING_WINDOW_S = 1.0
#: Fewer valid tracks than this say nothing about motion (too few to call the field still).
MIN_TRACKS_FOR_MOTION = 3
#: Tracks whose median velocity counts as the field's drift (fewer: no drift is taken out).
MIN_TRACKS_FOR_DRIFT = 3


@dataclass(frozen=True)
class DetectionCheck:
    """Facts about a video's detections that the warnings are drawn from (all per frame, pixels).

    The score facts (``sure_score``: the score of a box the detector is sure of; ``confident_per_frame``:
    sperm boxes per frame at or above it; ``unsure_per_frame``: head-sized ones below it) are
    filled in when :func:`check_detections` is given the threshold; None otherwise.

    ``median_box_px`` and ``sample_per_frame`` (the count compared with the reference detector's)
    are taken over the sperm boxes scoring ``sized_from_score`` or more: the boxes the tracker
    can start tracks from (None: over all sperm boxes).

    The motion facts (``valid_tracks``: the valid sperm tracks, as ``summary["counts"]``
    counts them; ``moving_tracks``; ``max_travel_head_boxes``: the
    farthest any valid track's head got within :data:`MOVING_WINDOW_S`, in head boxes, net of
    the field's common drift; ``duration_s``: the video's length, seconds) are filled in after
    tracking (:func:`with_motion`); None before.
    """

    frames: int
    sperm_per_frame: float
    median_score: float | None
    median_box_px: float | None
    reference_per_frame: float | None = None
    sample_per_frame: float | None = None
    reference_name: str | None = None
    um_per_px: float | None = None
    um_per_px_source: str | None = None
    sure_score: float | None = None
    sized_from_score: float | None = None
    confident_per_frame: float | None = None
    unsure_per_frame: float | None = None
    valid_tracks: int | None = None
    moving_tracks: int | None = None
    max_travel_head_boxes: float | None = None
    duration_s: float | None = None

    @property
    def median_box_um(self) -> float | None:
        """The median box side in µm (None without boxes or without a µm-per-pixel calibration)."""
        if self.median_box_px is None or self.um_per_px is None:
            return None
        return self.median_box_px * self.um_per_px

    def to_dict(self) -> dict:
        d = {**self.__dict__, "median_box_um": self.median_box_um}
        return {k: (None if v is None else (round(v, 4) if isinstance(v, float) else v)) for k, v in d.items()}


def check_detections(
    detections: Boxes,
    num_frames: int,
    reference: Boxes | None = None,
    reference_name: str | None = None,
    um_per_px: float | None = None,
    um_per_px_source: str | None = None,
    sure_score: float | None = None,
    start_score: float | None = None,
) -> DetectionCheck:
    """Summarise ``detections`` of ``num_frames`` frames.

    ``reference``: a second detector's boxes on the first ``reference.num_frames`` frames,
    compared with ``detections`` on the same frames. ``um_per_px`` (µm per pixel, None:
    uncalibrated) and the phrase saying where it came from let the warnings check the head
    size against a sperm head's physical size (:data:`HEAD_BOX_UM`). ``sure_score``: the
    score of a box the detector is sure of (:data:`SURE_SCORE` in ``analyze``); with it,
    the sperm boxes per frame at or above it (``confident_per_frame``) and the head-sized ones
    below it (``unsure_per_frame``) are counted (:func:`score_split`). ``start_score``: the
    score from which the tracker starts a track (:func:`spermtrack.track.calibrate.start_score`);
    with it, the head size (``median_box_px``) and the count compared with the reference are
    taken over the sperm boxes at or above it, the boxes a result is built from, so that the
    faint specks a model reports far below it (and the tracker never follows) do not make
    the heads look small or many. When no box reaches it, over all sperm boxes.
    """
    sperm = detections.filter(detections.cls == SPERM) if len(detections) else detections
    n = max(int(num_frames), 1)
    sized, sized_from = sperm, None
    startable = sperm.score >= start_score if start_score is not None else None
    if startable is not None and startable.any():
        sized, sized_from = sperm.filter(startable), float(start_score)
    ref = sample = None
    if reference is not None:
        ref_frames = max(int(reference.num_frames), 1)
        ref = float((reference.cls == SPERM).sum()) / ref_frames
        sample = float((sized.frame < ref_frames).sum()) / ref_frames if len(sized) else 0.0
    split = score_split(sperm.replace(num_frames=n), sure_score) if sure_score is not None else None
    confident, doubt = split if split is not None else (None, None)
    return DetectionCheck(
        frames=int(num_frames),
        sperm_per_frame=float(len(sperm)) / n,
        median_score=float(np.median(sperm.score)) if len(sperm) else None,
        median_box_px=float(np.median(sized.side)) if len(sized) else None,
        reference_per_frame=ref,
        sample_per_frame=sample,
        reference_name=reference_name,
        um_per_px=None if um_per_px is None else float(um_per_px),
        um_per_px_source=um_per_px_source,
        sure_score=None if sure_score is None else float(sure_score),
        sized_from_score=sized_from,
        confident_per_frame=confident,
        unsure_per_frame=doubt,
    )


def score_split(boxes: Boxes, threshold: float) -> tuple[float, float] | None:
    """Boxes per frame scored at or above ``threshold``, and head-sized boxes per frame below it.

    Head-sized: :func:`~spermtrack.track.calibrate.head_sized` (a side within 0.8-1.25x the
    median side of the boxes at or above ``threshold``, of all boxes when none is). None
    without boxes. Pass the boxes of one class (the sperm heads) for a count of heads.
    """
    if len(boxes) == 0:
        return None
    n = max(int(boxes.num_frames), 1)
    sure = boxes.score >= threshold
    sized = head_sized(boxes.side, sure)
    return float(sure.sum()) / n, float((sized & ~sure).sum()) / n


def unsure(confident_per_frame: float | None, unsure_per_frame: float | None) -> bool:
    """Whether head-sized boxes below the sure score outnumber those at or above it
    (:data:`MAX_UNSURE_RATIO`; at least :data:`MIN_UNSURE_PER_FRAME` of them per frame)."""
    if confident_per_frame is None or unsure_per_frame is None:
        return False
    return unsure_per_frame >= MIN_UNSURE_PER_FRAME and unsure_per_frame > MAX_UNSURE_RATIO * confident_per_frame


def track_travel(
    tracks: Boxes, times_s: np.ndarray, track_ids: np.ndarray | None = None, window_s: float | None = None
) -> tuple[np.ndarray, np.ndarray, float]:
    """How far each track's head gets within ``window_s`` seconds, net of the field's common drift.

    The drift is taken as one velocity, the median over tracks of their net velocity (first to
    last box), when at least :data:`MIN_TRACKS_FOR_DRIFT` tracks span two frames or more: a
    flow that carries debris and cells alike is not motion of the cells, while cells swimming
    in all directions leave the median near zero. (Summing per-frame median steps instead would
    add up the position jitter of every frame into a random walk of the whole field.) The
    window keeps slow wandering of still things (Brownian debris, jitter) over a long video
    from counting as swimming: a swimming head covers a head box within a second.

    Parameters
    ----------
    tracks : Boxes
        Tracked boxes (pixels, 0-based frames); untracked rows are ignored.
    times_s : float array (num_frames,)
        Time of each frame, seconds (``FrameTimes.times``: repeated frames share their time).
    track_ids : array of int, optional
        The tracks to measure (default: all).
    window_s : float, optional
        Longest time between the two positions compared, seconds (default
        :data:`MOVING_WINDOW_S`).

    Returns
    -------
    ids : int64 array (T,)
        The measured track ids, ascending.
    travel_px : float64 array (T,)
        Largest distance between two of the track's box centres at most ``window_s`` apart,
        net of the drift, pixels.
    head_box_px : float
        The tracked boxes' median side (the unit of :data:`MOVING_HEAD_BOXES`), pixels; NaN without boxes.
    """
    window_s = MOVING_WINDOW_S if window_s is None else float(window_s)
    order, ids, offsets = tracks.by_track()
    if not len(ids):
        return ids, np.zeros(0), float("nan")
    times_s = np.asarray(times_s, np.float64)
    t = times_s[np.minimum(tracks.frame[order], len(times_s) - 1)]
    xy = tracks.centers[order].astype(np.float64)
    first, last = offsets[:-1], offsets[1:] - 1
    span = t[last] - t[first]
    spans = span > 0
    drift = np.zeros(2)
    if spans.sum() >= MIN_TRACKS_FOR_DRIFT:
        drift = np.median((xy[last[spans]] - xy[first[spans]]) / span[spans, None], axis=0)  # px per second
    xy -= t[:, None] * drift
    owner = np.repeat(np.arange(len(ids)), np.diff(offsets))
    keep = np.ones(len(ids), bool) if track_ids is None else np.isin(ids, np.asarray(track_ids))
    rows = keep[owner]  # the drift above is the field's (all tracks); travel only for the tracks asked for
    owner, t, xy = owner[rows], t[rows], xy[rows]
    travel = np.zeros(len(ids))
    lag = 1
    while lag < len(t):  # every pair of a track's points at most window_s apart, one lag at a time
        pair = (owner[lag:] == owner[:-lag]) & (t[lag:] - t[:-lag] <= window_s)
        if not pair.any():
            break
        d = np.hypot(*(xy[lag:] - xy[:-lag])[pair].T)
        np.maximum.at(travel, owner[lag:][pair], d)
        lag += 1
    return ids[keep], travel[keep], float(np.median(tracks.side[order]))


def with_motion(check: DetectionCheck, tracks: Boxes, valid_track_ids: np.ndarray, times_s: np.ndarray) -> DetectionCheck:
    """``check`` with the motion facts of the valid tracks (:func:`track_travel`) filled in.

    ``times_s``: each frame's time, seconds (``FrameTimes.times``).
    """
    ids, travel_px, head_px = track_travel(tracks, times_s, valid_track_ids)
    travel = travel_px / head_px if len(ids) and head_px > 0 else np.zeros(0)
    return replace(
        check,
        valid_tracks=int(len(ids)),
        moving_tracks=int((travel > MOVING_HEAD_BOXES).sum()),
        max_travel_head_boxes=float(travel.max()) if len(travel) else None,
        duration_s=float(times_s[-1]) if len(times_s) else 0.0,
    )


def detection_warnings(check: DetectionCheck, look=None, scored: bool = True) -> list[str]:
    """Warnings (plain sentences, each with what to do) when the detections look implausible.

    Parameters
    ----------
    check : DetectionCheck
    look : LookEstimate, optional
        The video's measured look (:func:`~spermtrack.detect.calibrate.measure_look`).
    scored : bool
        False for detectors whose scores carry no confidence (ground truth).
    """
    todo = "pass --polarity bright|dark and --head-px N, or use a model trained on your recordings (docs/detection.md)"
    out: list[str] = []
    if look is not None:
        out += [f"Self-calibration: {p}." for p in look.problems()]
    if check.sperm_per_frame < MIN_BOXES_PER_FRAME:
        out.append(
            f"Almost no sperm heads were found ({check.sperm_per_frame:.2f} per frame): the field may be empty or "
            f"the detector may not know this microscope's look; {todo}."
        )
        return out
    # the learnt model's own scores when its boxes were fused with the classical detector's (the fusion
    # raises the scores of blobs both see, debris included: it says nothing of whether the model knows the look)
    own_score = getattr(look, "model_median_score", None) if look is not None else None
    median = own_score if own_score is not None else check.median_score
    if scored and median is not None and median < MIN_MEDIAN_SCORE:
        out.append(
            f"The detector is unsure of most heads (median score {median:.2f} < {MIN_MEDIAN_SCORE}); "
            f"tracks and speeds may come from debris or noise; {todo}."
        )
    elif scored and unsure(check.confident_per_frame, check.unsure_per_frame):
        out.append(
            f"The detector is unsure of many heads: {check.unsure_per_frame:.1f} head-sized boxes per frame scored "
            f"below {check.sure_score:g} against {check.confident_per_frame:.1f} at or above it. The tracker drops the "
            "tracks of heads it doubts in most frames (their boxes average below min_track_score), so counts and "
            "shares come from the heads it is sure of. Look at the overlay: if the untracked boxes are heads, keep "
            "tracks of lower scores (min_track_score, new_track_score and high_score in a --tracker-config file, "
            "docs/tracking.md); if they are debris, the result stands; best, use a model trained on your recordings "
            "(docs/detection.md)."
        )
    if look is not None and check.median_box_px is not None:
        # the size the detector ran at: the blobs' measurement as the scale search corrected it
        expected = look.detector_head_box_px
        ratio = check.median_box_px / expected
        if not (1 / MAX_SIZE_RATIO <= ratio <= MAX_SIZE_RATIO):
            searched = f", {look.head_box_px:.0f} px before the scale search" if look.scale_factor != 1.0 else ""
            out.append(
                f"Detected heads ({check.median_box_px:.0f} px) are far from the measured head size "
                f"({expected:.0f} px, {look.head_box_source}{searched}); {todo}."
            )
    size_um = check.median_box_um
    if size_um is not None and not (HEAD_BOX_UM[0] <= size_um <= HEAD_BOX_UM[1]):
        source = f", {check.um_per_px_source}" if check.um_per_px_source else ""
        out.append(
            f"Detected heads are {size_um:.1f} µm across ({check.median_box_px:.0f} px at {check.um_per_px:g} µm/px"
            f"{source}), but a sperm head's box is about {HEAD_BOX_UM[0]:g}-{HEAD_BOX_UM[1]:g} µm: either the µm per "
            f"pixel is wrong (--um-per-px) or the boxes are not sperm heads (debris, noise, an empty field); {todo}."
        )
    if check.um_per_px is None and (check.valid_tracks or 0) >= MIN_TRACKS_FOR_MOTION and check.moving_tracks == 0:
        # calibrated, the head-size check above tells specks from heads; uncalibrated, a field where nothing
        # moves may hold no cells at all, and the result cannot say which
        out.append(
            f"Nothing moves: none of the {check.valid_tracks} valid tracks of this {check.duration_s:.1f}-s video gets more "
            f"than {MOVING_HEAD_BOXES:g} head box from where it was within {MOVING_WINDOW_S:g} s (at most "
            f"{check.max_travel_head_boxes:.2f}, net of the field's drift). These are immotile cells or still objects (debris, specks, an empty field), and without a µm-per-pixel "
            "calibration their size cannot be checked against a sperm head's: pass --um-per-px."
        )
    ref, own = check.reference_per_frame, check.sample_per_frame
    if ref is not None and own is not None:
        hi, lo = max(ref, own), min(ref, own)
        # the classical detector counts every blob, debris included: more blobs than heads is normal in a
        # sparse or dirty sample, and points to missed heads only when the model is unsure of its own
        missed = ref > own and (not scored or median is None or median < SURE_MEDIAN_SCORE)
        if hi >= 2.0 and hi > MAX_COUNT_RATIO * max(lo, 1e-9) and (own > ref or missed):
            out.append(
                f"The detector and the {check.reference_name or 'reference'} detector disagree on how many heads there are "
                f"({own:.1f} against {ref:.1f} per frame on the same frames); {todo}."
            )
    return out
