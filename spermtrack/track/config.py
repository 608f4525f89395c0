"""Tracker settings: one dataclass, documented defaults, times in seconds.

Every time-like setting is in **seconds** and every speed in **pixels per
second**; :meth:`TrackerConfig.for_fps` turns them into frame counts and
per-frame noises for one video, so the same settings work at 15, 50 or 100 fps.
Lengths are in pixels of the full-resolution frame.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import FormatError, SpermtrackError, TrackerConfigError  # noqa: F401  (TrackerConfigError: re-exported)
from .costs import COST_KINDS
from .kalman import NAXES, transition, white_noise


@dataclass(frozen=True)
class TrackerConfig:
    """Settings of :class:`~spermtrack.track.Tracker` and :func:`~spermtrack.track.track`.

    The defaults were chosen on simulated VISEM-like videos (5-65 sperm per
    frame at 50 fps, fast cells 10-20 px per frame, crossings, head wobble,
    missed and false boxes; see docs/tracking.md for the sweep), not on any one
    video. Change a value when its "change it when" applies to your data.

    Motion model
    ------------
    motion : {"cv", "ca"}
        Kalman model of each axis: constant velocity (default) or constant
        acceleration. "ca" helps only for smooth curved paths at high fps; it
        reacts more to noise.
    meas_std_px : float
        Standard deviation (pixels) of a detected centre around the true one:
        detector jitter plus the sideways head wobble (ALH) the smooth model
        does not follow. Raise it for wobbly or noisy detections (wider gates),
        lower it for precise ones.
    size_std_px : float
        Standard deviation (pixels) of detected box width and height.
    accel_std_px_s2 : float
        Process noise: standard deviation of the centre's acceleration
        (pixels/s^2). Raise it when cells turn sharply between frames, lower it
        for straight swimmers (tighter gates, fewer swaps at crossings).
    size_rate_std_px_s : float
        Process noise of the box size's rate of change (pixels/s).
    init_speed_std_px_s : float
        Prior standard deviation of a new track's speed (pixels/s). It sets how
        far the second detection of a new track may be: about the fastest
        cells' speed. At 0.25 µm/px, 100 µm/s is 400 px/s.

    Association
    -----------
    cost : {"mahalanobis", "distance", "iou"}
        Pairing cost: squared Mahalanobis distance of the centre (default; the
        gate adapts to each track's uncertainty), squared centre distance in
        box sizes, or ``1 - IoU`` (only for slow cells or high fps).
    gate : float
        Largest cost of an allowed pair, in the units of ``cost``: chi-square
        (2 dof) for "mahalanobis" (9.21 = 99 %), box sizes squared for
        "distance", ``1 - IoU`` for "iou". Raise it when tracks break on fast
        cells; lower it when identities swap between neighbours.
    iou_weight : float
        Weight of ``1 - IoU`` added to the distance costs (a blend). 0 turns
        it off.
    logdet_weight : float
        Weight of ``ln(S_x S_y / R_x R_y)`` added to the Mahalanobis cost (1 makes
        it the negative log-likelihood). It keeps a coasting, uncertain track
        from taking the box of a well-locked one; 0 turns it off.
    size_weight : float
        Weight of the box width and height Mahalanobis distance added to the
        Mahalanobis cost: it helps tell apart neighbours of different sizes
        (a cell and a cluster). 0 turns it off.
    rescue_dist : float
        Confirmed tracks left unmatched by the statistical gate may still take a
        leftover detection whose centre is within this many box sizes of the
        prediction (for erratic head jumps). 0 turns it off.
    high_score : float
        Detections scoring at least this are matched first (ByteTrack's first
        stage) and may start tracks.
    low_score : float
        Detections scoring in ``[low_score, high_score)`` are matched only to
        confirmed tracks left over by the first stage; below ``low_score`` they
        are ignored. Ground-truth or calibrated boxes score 1.
    new_track_score : float
        Lowest score of a detection that may start a new track (it must also reach
        ``high_score``).
    fallback_turn_deg : float
        The turn fallback (degrees; 0 turns it off): a confirmed track matched in the
        previous frame but left unmatched by every gated stage takes the one free
        high-score detection within ``2 sin(fallback_turn_deg / 2) * |step| +
        fallback_heads * box size`` of its prediction (``|step|``: the predicted
        displacement over this frame's true time step; a turn by this angle moves the
        cell that far off the prediction), only when the case is unambiguous (see
        ``fallback_margin``). At low frame rates (5-15 fps) fast cells turn tens of
        degrees between frames and leave the constant-velocity gate, and the track would
        break into two; at 50 fps the steps are short and it rarely fires. Raise it for
        cells that turn more sharply; 0 gives the tracks of the code before 5 December 2026.
    fallback_heads : float
        Box sizes (mean of the predicted width and height) added to the fallback's radius
        (detection jitter and head wobble around a turn). At most 5.
    fallback_margin : float
        Isolation of a fallback link (1-5): no other free high-score detection within
        ``fallback_margin`` radii of the track's prediction, and no other candidate track
        whose radius, times ``fallback_margin``, holds the detection. Besides, no other live
        track may have the detection inside its own gate (``gate``). In crowded fields the
        fallback therefore does almost nothing.

    Lifecycle (seconds)
    -------------------
    confirm_s : float
        A new (tentative) track is confirmed, and gets an identity, once it
        has been matched in ``max(2, round(confirm_s * fps))`` frames (1 frame
        when ``confirm_s`` is 0): 2 frames up to 62 fps, 4 at 100 fps. Raise it to
        suppress tracks of false boxes (offline, ``min_track_s`` removes most of those).
    tentative_lost_s : float
        A tentative track is dropped after being unmatched this long (0: at
        its first miss).
    max_lost_s : float
        A confirmed track that has no detection for longer than this is ended.
        Raise it when detectors miss cells for long stretches; lower it for
        crowded videos where coasting tracks steal other cells' boxes.

    Offline only (:func:`~spermtrack.track.track`)
    ---------------------------------------------
    gap_close_s : float
        Largest gap (seconds) between the end of one tracklet and the start of
        another that a global assignment may link (TrackMate-style gap
        closing). 0 (the default) turns it off: on simulated VISEM-like videos
        almost every link it made joined two different cells (a track ends
        where a cell leaves, another starts where a new one enters), because
        the online pass already bridges gaps up to ``max_lost_s``. Turn it on
        when your detector loses cells for long stretches inside the field.
    gap_gate : float
        Chi-square gate of a gap-closing link (position error against the
        constant-velocity extrapolation, over its growing uncertainty).
    gap_speed_std_px_s : float
        How much a cell's mean velocity may change across a gap (pixels/s,
        standard deviation): the extrapolation's uncertainty grows by this
        times the gap's duration. Raise it for cells that turn a lot.
    min_track_s : float
        Tracks shorter than this (first to last frame, seconds) are dropped:
        they are mostly false boxes.
    min_track_score : float
        Tracks whose detections score less than this on average (0-1; interpolated
        boxes do not count) are dropped: a track of debris is a run of doubted boxes,
        a cell's track a run of mostly confident ones even where single boxes doubt.
        It is what lets a video on which the detector doubts its heads start tracks
        lower (``unsure_start_score``): the debris that then starts tracks averages
        below it (docs/tracking.md, "Track scores"). 0 turns it off.
    interpolate_s : float
        Gaps inside a track up to this long are filled with linearly
        interpolated boxes (score 0). 0 turns it off.
    crossing_heads : float
        Crossing repair (:mod:`spermtrack.track.crossings`): two tracks whose box
        centres come closer than this many head sizes (``sqrt(w h)``) are a close
        encounter, and which track continues which after it is decided again from
        the motion on both sides. 0 (the default) turns it off: on simulated dense
        fast scenes the online pass was already right in almost every encounter it
        can decide, and the exchanges it made lowered IDF1 (docs/tracking.md,
        "Crossings"). At most 5.
    crossing_fit_s : float
        Seconds of track on each side of an encounter fitted with a straight line
        (at least 3 frames; encounters longer than two of these are left alone).
    crossing_margin : float
        How much lower (mean chi-square per axis and link) the crossed continuation
        must cost than the straight one before two tracks are exchanged.

    Self-calibration (:mod:`spermtrack.track.calibrate`)
    ----------------------------------------------------
    unsure_start_score : float
        The start score (``high_score`` and ``new_track_score``, 0-1; never raised by it)
        for a video on which the detector is unsure of its heads: fewer than
        ``sure_share`` of its head-sized boxes score ``high_score`` or more. A detector
        that meets a microscope it was not trained on ranks heads above debris but
        scores them lower; on such videos heads that never reach 0.5 are tracked from
        this score, and ``min_track_score`` drops the debris tracks it lets start. On a
        video the detector is sure of, a doubted box is often an out-of-focus cell that
        the annotators of VISEM-Tracking leave out, and the start score stays.
        Self-calibration only (offline: every box of the video; streaming: the warm-up
        frames). 0 turns it off.
    sure_share : float
        0-1: the share of head-sized boxes (side within 0.8-1.25x the median side of the
        boxes at or above ``high_score``) scoring ``high_score`` or more below which the
        detector counts as unsure (also when fewer than 10 boxes reach ``high_score``).

    self_calibrate : bool
        Measure the head size and the per-frame motion of the cells from the
        detections (offline: the whole video; streaming: the first
        ``warmup_frames`` frames) and convert the settings above with them instead
        of with the fps passed and the pixel scale of VISEM: the same video then
        gives the same tracks whatever fps is passed and whatever the
        magnification. Switch it off (or pin ``motion_fps``) to reproduce the plain
        conversion, when the detections are too few or too odd to measure (it falls
        back to the fps passed when fewer than 20 moving displacements are seen), or
        when you know the true frame rate of a video whose magnification is far from
        VISEM's (the clock then mixes the two; docs/tracking.md).
    motion_fps : float
        Pins the clock the seconds are converted at (frames per second); 0: measured.
    length_scale : float
        Pins the factor the pixel settings are multiplied by (the head size over
        23.7 px, VISEM's); 0: measured.
    warmup_frames : int
        Streaming only: frames buffered before the tracker calibrates and starts
        giving ids (their boxes are returned untracked, then get ids in ``finish``).
    min_lost_frames : int
        Floor (frames) of the coasting time ``max_lost_s`` and of ``interpolate_s``
        (when on): at a low frame rate a setting in seconds would otherwise become
        one or two frames, and a single missed box would end a track.
    refine_clock : bool
        Offline only (:func:`~spermtrack.track.track`), in crowded fields (boxes' median
        spacing below 1.5 head sizes): after a first pass, measure the moving cells'
        median step along the tracks themselves and, when the clock it gives is slower
        than the nearest-neighbour one by more than 10 %, track again with it
        (:func:`~spermtrack.track.calibrate.refine_from_tracks`). Nearest neighbours run
        short there (a clock of 42-47 for a true 30 fps video of 70 cells in 640x384); the
        tracks' steps are within 3 % of the truth. Costs a second kernel run when it
        applies. Not used with ``motion_fps`` pinned or when the first clock was not
        measured ("fallback", "saturated"); the streaming tracker does not use it.
    """

    motion: str = "cv"
    meas_std_px: float = 5.0
    size_std_px: float = 2.0
    accel_std_px_s2: float = 400.0
    size_rate_std_px_s: float = 10.0
    init_speed_std_px_s: float = 600.0
    cost: str = "mahalanobis"
    gate: float = 16.0
    iou_weight: float = 0.0
    logdet_weight: float = 1.0
    size_weight: float = 0.25
    rescue_dist: float = 0.0
    high_score: float = 0.5
    low_score: float = 0.1
    new_track_score: float = 0.5
    confirm_s: float = 0.04
    tentative_lost_s: float = 0.0
    max_lost_s: float = 0.15
    gap_close_s: float = 0.0
    gap_gate: float = 4.0
    gap_speed_std_px_s: float = 50.0
    min_track_s: float = 0.1
    min_track_score: float = 0.4
    interpolate_s: float = 0.1
    self_calibrate: bool = True
    unsure_start_score: float = 0.3
    sure_share: float = 0.75
    motion_fps: float = 0.0
    length_scale: float = 0.0
    warmup_frames: int = 25
    min_lost_frames: int = 3
    refine_clock: bool = True
    crossing_heads: float = 0.0
    crossing_fit_s: float = 0.15
    crossing_margin: float = 4.0
    fallback_turn_deg: float = 60.0
    fallback_heads: float = 0.5
    fallback_margin: float = 1.5

    def __post_init__(self) -> None:
        if self.motion not in ("cv", "ca"):
            raise TrackerConfigError(f"motion must be 'cv' or 'ca', got {self.motion!r}")
        if self.cost not in COST_KINDS:
            raise TrackerConfigError(f"cost must be one of {sorted(COST_KINDS)}, got {self.cost!r}")
        for name in ("self_calibrate", "refine_clock"):
            if not isinstance(getattr(self, name), bool):
                raise TrackerConfigError(f"{name} must be true or false, got {getattr(self, name)!r}")
        for name in ("warmup_frames", "min_lost_frames"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise TrackerConfigError(f"{name} must be a whole number of frames >= 0, got {v!r}")
        for f in dataclasses.fields(self):
            if f.name in ("motion", "cost", "self_calibrate", "refine_clock", "warmup_frames", "min_lost_frames"):
                continue
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise TrackerConfigError(f"{f.name} must be a finite number, got {v!r}")
            if v < 0:
                raise TrackerConfigError(f"{f.name} must be >= 0, got {v}")
        for name in ("meas_std_px", "size_std_px", "gate"):
            if getattr(self, name) <= 0:
                raise TrackerConfigError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.crossing_heads > 5:
            raise TrackerConfigError(f"crossing_heads must be <= 5 head sizes, got {self.crossing_heads}")
        if self.crossing_fit_s <= 0:
            raise TrackerConfigError(f"crossing_fit_s must be > 0 seconds, got {self.crossing_fit_s}")
        if self.fallback_turn_deg > 180:
            raise TrackerConfigError(f"fallback_turn_deg must be <= 180 degrees, got {self.fallback_turn_deg}")
        if self.fallback_heads > 5:
            raise TrackerConfigError(f"fallback_heads must be <= 5 head sizes, got {self.fallback_heads}")
        if not 1 <= self.fallback_margin <= 5:
            raise TrackerConfigError(f"fallback_margin must be between 1 and 5, got {self.fallback_margin}")
        for name in ("min_track_score", "unsure_start_score", "sure_share"):
            if getattr(self, name) > 1:
                raise TrackerConfigError(f"{name} must be <= 1 (a detection score or a share), got {getattr(self, name)}")
        if self.low_score > self.high_score:
            raise TrackerConfigError(f"low_score ({self.low_score}) must be <= high_score ({self.high_score})")

    # ------------------------------------------------------------------ I/O
    def to_dict(self) -> dict:
        """The settings as a JSON-ready dict."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, d: dict) -> TrackerConfig:
        """Build from a dict; unknown keys are an error naming them."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise TrackerConfigError(f"unknown tracker setting(s) {unknown}; known: {sorted(names)}")
        return cls(**d)

    @classmethod
    def from_json(cls, path: str | Path) -> TrackerConfig:
        """Read settings from a JSON file holding one object (missing keys keep their defaults)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise FormatError(f"cannot read tracker config: {exc}", path) from None
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FormatError(f"not valid JSON: {exc.msg}", path, exc.lineno) from None
        if not isinstance(d, dict):
            raise FormatError("a tracker config must be a JSON object of settings", path, 1)
        try:
            return cls.from_dict(d)
        except TrackerConfigError as exc:
            raise FormatError(str(exc), path) from None

    # ------------------------------------------------------------------ per-video numbers
    def for_fps(self, fps: float) -> FrameParams:
        """Frame counts and per-frame matrices for a video at ``fps`` frames per second."""
        return FrameParams(self, check_fps(fps))


def check_fps(fps) -> float:
    """``fps`` as a float (frames per second); a :class:`TrackerConfigError` unless positive and finite."""
    try:
        fps = float(fps)
    except (TypeError, ValueError):
        raise TrackerConfigError(f"fps must be a number, got {fps!r}") from None
    if not math.isfinite(fps) or fps <= 0:
        raise TrackerConfigError(f"fps must be a positive finite number, got {fps}")
    return fps


#: Layout of the packed settings array ``FrameParams.prm`` read by the Numba kernels
#: (:func:`spermtrack.track.core.run`): scalar settings first, then the per-frame Kalman
#: model ``F`` (k, k), ``Q`` (4, k, k), ``R`` (4,) and ``P0`` (4, k, k), flattened.
P_COST, P_CONFIRM, P_TENT_LOST, P_MAX_LOST = 0, 1, 2, 3
P_GATE, P_IOU_W, P_HIGH, P_LOW, P_NEW, P_LOGDET, P_RESCUE, P_SIZE_W = 4, 5, 6, 7, 8, 9, 10, 11
P_ORDER, P_FB_HEADS, P_FB_MARGIN, P_FB_TURN, P_MODEL = 12, 13, 14, 15, 16


class FrameParams:
    """The settings of a :class:`TrackerConfig` converted for one frame rate (internal).

    Attributes hold the Kalman matrices per frame (``F``, ``Q``, ``R``, ``P0``),
    the frame counts of the lifecycle and ``prm``, everything the kernels need
    packed into one float64 array (layout: the ``P_*`` constants of this module).
    """

    def __init__(self, config: TrackerConfig, fps: float) -> None:
        self.config, self.fps = config, fps
        k = 2 if config.motion == "cv" else 3
        self.order = k
        self.F = transition(k)
        # Per-frame noises: a speed in px/s is speed / fps px/frame, an acceleration accel / fps^2.
        acc = config.accel_std_px_s2 / fps**2
        size_rate = config.size_rate_std_px_s / fps
        pos_q = white_noise(k, acc**2) if k == 2 else white_noise(k, (acc / 2.0) ** 2)
        size_q = np.zeros((k, k))
        size_q[1, 1] = size_rate**2
        self.Q = np.stack([pos_q, pos_q, size_q, size_q])
        self.R = np.array([config.meas_std_px**2] * 2 + [config.size_std_px**2] * 2)
        v0 = config.init_speed_std_px_s / fps
        p0 = np.zeros((NAXES, k, k))
        for a in range(NAXES):
            p0[a, 0, 0] = self.R[a]
            p0[a, 1, 1] = v0**2 if a < 2 else size_rate**2 * 4.0
            if k == 3:
                p0[a, 2, 2] = (acc * 4.0) ** 2 if a < 2 else 1e-6
        self.P0 = p0
        self.confirm_frames = 1 if config.confirm_s == 0 else max(2, round(config.confirm_s * fps))
        self.tentative_lost_frames = round(config.tentative_lost_s * fps)
        floor = int(config.min_lost_frames)
        self.max_lost_frames = max(round(config.max_lost_s * fps), floor)
        self.gap_close_frames = round(config.gap_close_s * fps)
        self.min_track_frames = round(config.min_track_s * fps)
        self.min_track_score = float(config.min_track_score)
        self.interpolate_frames = max(round(config.interpolate_s * fps), floor) if config.interpolate_s > 0 else 0
        self.crossing_fit_frames = max(3, round(config.crossing_fit_s * fps))
        head = np.zeros(P_MODEL)
        head[P_COST] = COST_KINDS[config.cost]
        head[P_CONFIRM] = self.confirm_frames
        head[P_TENT_LOST] = self.tentative_lost_frames
        head[P_MAX_LOST] = self.max_lost_frames
        head[P_GATE] = config.gate
        head[P_IOU_W] = config.iou_weight
        head[P_HIGH] = config.high_score
        head[P_LOW] = config.low_score
        head[P_NEW] = config.new_track_score
        head[P_LOGDET] = config.logdet_weight
        head[P_RESCUE] = config.rescue_dist
        head[P_SIZE_W] = config.size_weight
        # fallback stage: on when fallback_turn_deg > 0; a turn by theta moves the cell 2 sin(theta / 2) steps off
        head[P_FB_TURN] = 2.0 * math.sin(math.radians(config.fallback_turn_deg) / 2.0)
        head[P_FB_HEADS] = config.fallback_heads
        head[P_FB_MARGIN] = config.fallback_margin
        head[P_ORDER] = k
        self.prm = np.concatenate([head, self.F.ravel(), self.Q.ravel(), self.R, self.P0.ravel()])


def as_config(config: TrackerConfig | None) -> TrackerConfig:
    """``config``, or the defaults for None; anything else is a :class:`TrackerConfigError`."""
    if config is None:
        return TrackerConfig()
    if not isinstance(config, TrackerConfig):
        raise TrackerConfigError(f"config must be a TrackerConfig (or None), got {type(config).__name__}")
    return config
