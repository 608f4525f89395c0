"""CASA kinematics of every track: VCL, VSL, VAP, LIN, STR, WOB, ALH, BCF, MAD, WHO class.

Definitions follow the WHO laboratory manual (6th ed., 2021, §3.5 "CASA") and
Mortimer (1997, 2000); docs/kinematics.md states each formula with its source. For a
track with points ``p_0 .. p_{n-1}`` (box centres) at times ``t_i = frame_i / fps``
(gaps keep their real time) and duration ``T = t_{n-1} - t_0``:

* VCL = sum |p_{i+1} - p_i| / T (curvilinear velocity)
* VSL = |p_{n-1} - p_0| / T (straight-line velocity)
* VAP = min(sum |a_{i+1} - a_i|, VCL T) / T, with ``a`` the average path
  (:mod:`spermtrack.kinematics.smoothing`, window in seconds) moved onto the track's
  first and last points, so that the three speeds share one span and one duration
* LIN = VSL / VCL, STR = VSL / VAP, WOB = VAP / VCL (fractions, not %); since
  VSL <= VAP <= VCL on every track (a chord is no longer than the path it joins, and an
  average path is no longer than the path it averages), all three are <= 1
* ALH: lateral distance of the head from the average path; for each half beat
  (between two crossings of the average path) its amplitude, read from a sinusoid
  fitted through the half beat's samples (so a peak between two frames is not
  missed); ``alh_mean`` / ``alh_max`` are 2 x the mean / largest amplitude
  (peak-to-peak width, the Hamilton-Thorne convention), measured where the
  smoothing window fits whole
* BCF: crossings of the curvilinear path over the average path per second (both
  directions count, so a sinusoidal beat at f Hz gives BCF = 2 f)
* MAD: mean absolute turning angle between successive steps, degrees

Without a calibration (``um_per_px=None``) lengths stay in pixels and speeds in px/s,
the DataFrame's ``attrs`` say so, and the WHO class is ``"uncalibrated"``.
"""

from __future__ import annotations

import numpy as np

from ..boxes import Boxes
from ..calibration import Calibration
from ..errors import BoxesError, CalibrationError
from . import _kernel as K
from .motility import UNCALIBRATED, MotilityThresholds, classify_motility
from .patterns import PatternCriteria, classify_pattern
from .smoothing import DEFAULT_SMOOTHING_S, method_code

#: Columns of :func:`casa`'s DataFrame, in order.
COLUMNS: tuple[str, ...] = (
    "track_id",
    "cls",
    "first_frame",
    "last_frame",
    "duration_s",
    "n_points",
    "vcl",
    "vsl",
    "vap",
    "lin",
    "str",
    "wob",
    "alh_mean",
    "alh_max",
    "bcf",
    "mad",
    "motility",
    "pattern",
    "quality",
    "valid",
    "vprog",
    "wobble_rms",
    "beat_rms",
    "turn_deg",
    "n_jumps",
    "max_step_speed",
    "max_gap_s",
)

#: Quality flags (joined by ";" in the ``quality`` column; "ok" when there is none).
TOO_SHORT, JUMP, TOO_FAST, LONG_GAP, DUPLICATES = "too_short", "jump", "implausible_speed", "long_gap", "duplicate_frames"
OK = "ok"


def casa(
    tracks: Boxes,
    calibration: Calibration,
    *,
    smoothing_s: float = DEFAULT_SMOOTHING_S,
    average: str = "loess",
    min_points: int = 10,
    min_duration_s: float = 0.5,
    max_gap_s: float = 0.5,
    jump_factor: float = 4.0,
    jump_speed: float | None = 150.0,
    max_vap: float | None = 200.0,
    interpolated: bool = False,
    image_size: tuple[int, int] | None = None,
    bcf_hysteresis_px: float = 0.5,
    progressive_window_s: float = 1.0,
    thresholds: MotilityThresholds | None = None,
    criteria: PatternCriteria | None = None,
    frame_times=None,
):
    """CASA kinematics, WHO class and path pattern of every track.

    Parameters
    ----------
    tracks : Boxes
        Boxes with track ids (rows with ``track_id == -1`` are ignored), any class
        (``summarize`` and ``fastest`` keep sperm only by default). The head position is
        the box centre, in pixels.
    calibration : Calibration
        µm per pixel (or ``None``: results in pixels) and frames per second.
    smoothing_s : float
        Average-path window in seconds (full width), default 0.5 s; see
        :mod:`spermtrack.kinematics.smoothing` and docs/kinematics.md for its choice.
    average : {"loess", "mean"}
        Average-path smoother: local quadratic tricube regression (default) or the
        classic CASA running average.
    min_points : int
        Tracks with fewer detected points are flagged ``too_short``.
    min_duration_s : float
        Tracks shorter than this (seconds, first to last point) are flagged ``too_short``.
    max_gap_s : float
        Tracks missing more than this many seconds in a row are flagged ``long_gap``
        (their kinematics still use the real time stamps; the path inside the gap is
        unknown).
    jump_factor, jump_speed : float
        A step is an implausible jump (flag ``jump``, typical of an identity switch or a
        detection landing on a neighbour) when its speed exceeds both ``jump_factor`` x
        the track's median step speed and ``jump_speed`` µm/s. ``jump_speed`` is ignored
        without a calibration (only the relative test applies) and may be ``None``.
    max_vap : float or None
        Tracks whose average-path speed exceeds this (µm/s) are flagged
        ``implausible_speed``: no human spermatozoon sustains it (the fastest swim at
        about 150 µm/s), so the track links different cells. Ignored without a
        calibration; ``None`` turns the check off.
    interpolated : bool
        Use the boxes the tracker interpolated across short gaps (``score == 0``, see
        :func:`spermtrack.track.track`). Off by default: they are not observations, and
        a wrong gap closing would otherwise look like a smooth fast path. The
        kinematics then span the gap with the real time stamps.
    image_size : (int, int), optional
        ``(width, height)`` of the frames in pixels. When given, boxes cut by the image
        border are re-centred: a cell entering or leaving the field has a clipped box
        whose centre is not its head (up to half a box off), which biases VSL of the
        short, fast tracks that cross the field. The clipped side is moved out to the
        track's median box width (height) from the side that is not clipped. Without it
        box centres are used as they are.
    bcf_hysteresis_px : float
        A crossing of the average path counts only once the head is this many pixels
        on the other side, so that detection jitter does not make crossings.
    progressive_window_s : float
        Window of the progressive velocity ``vprog`` (WHO: 1 s).
    thresholds : MotilityThresholds, optional
        WHO class thresholds (µm/s, µm).
    criteria : PatternCriteria, optional
        Path pattern criteria.
    frame_times : spermtrack.timebase.FrameTimes, optional
        The video's true time base (repeated frames, real time stamps; see
        :mod:`spermtrack.timebase`). Boxes on repeated frames are left out (they show
        an image already counted) and every point gets its frame's true time, so that
        VCL, BCF and ALH are not distorted by heads that "stand still" on repeats and
        jump on the next new image. None: frame ``i`` is at ``i / fps``.

    Returns
    -------
    pandas.DataFrame
        One row per track, sorted by ``track_id``, with the columns :data:`COLUMNS`:

        - ``track_id`` (int64), ``cls`` (int16, majority class of the track's boxes),
          ``first_frame``, ``last_frame`` (int64), ``duration_s`` (s), ``n_points``
          (detected points; duplicate boxes of one frame count once, interpolated
          boxes only with ``interpolated=True``);
        - ``vcl, vsl, vap`` (µm/s, or px/s), ``lin, str, wob`` (fractions 0..1),
          ``alh_mean, alh_max`` (µm or px, peak-to-peak), ``bcf`` (Hz), ``mad``
          (degrees per step);
        - ``motility`` (WHO class, :data:`~spermtrack.kinematics.motility.MOTILITY_CLASSES`),
          ``pattern`` (:data:`~spermtrack.kinematics.patterns.PATTERNS`),
          ``quality`` ("ok" or flags joined by ";": ``too_short``, ``jump``,
          ``implausible_speed``, ``long_gap``, ``duplicate_frames``), ``valid``
          (quality is "ok");
        - ``vprog`` (progressive velocity, µm/s: mean net displacement of the average
          path per ``progressive_window_s``), ``wobble_rms`` (rms distance of the head
          from its average path, µm; detection jitter included), ``beat_rms`` (the part
          of it that persists from frame to frame, µm: the head's own movement about the
          average path, with the frame-to-frame detection jitter averaged out; the WHO
          class reads it), ``turn_deg`` (net heading change of the average
          path, degrees, counter-clockwise positive in image coordinates),
          ``n_jumps``, ``max_step_speed`` (µm/s), ``max_gap_s`` (longest run of missing
          frames, s).

        ALH and BCF are NaN for immotile tracks (no direction to oscillate about).
        ``df.attrs`` holds ``length_unit``, ``speed_unit``, ``frequency_unit``,
        ``angle_unit``, ``ratio_unit``, ``calibration`` and ``parameters``.

    Raises
    ------
    BoxesError
        ``tracks`` is not a :class:`~spermtrack.Boxes`.
    CalibrationError
        ``calibration`` is not a :class:`~spermtrack.Calibration`.
    ValueError
        A parameter is out of range.

    Examples
    --------
    A cell swimming straight at 40 µm/s for 2 s at 50 fps:

    >>> from spermtrack import Boxes, Calibration
    >>> f = np.arange(101)
    >>> cx = 100 + 160 * f / 50  # 160 px/s = 40 µm/s at 0.25 µm/px
    >>> b = Boxes.from_cxcywh(f, np.stack([cx, np.full(101, 200.0), np.full(101, 20.0), np.full(101, 20.0)], 1),
    ...                       track_id=np.ones(101, int))
    >>> df = casa(b, Calibration(0.25, 50.0))
    >>> df[["vcl", "vsl", "vap", "lin"]].round(2).values.tolist()
    [[40.0, 40.0, 40.0, 1.0]]
    >>> df.loc[0, "motility"], df.loc[0, "pattern"], df.loc[0, "quality"], df.attrs["speed_unit"]
    ('rapid_progressive', 'linear_progressive', 'ok', 'µm/s')
    """
    import pandas as pd

    if not isinstance(tracks, Boxes):
        raise BoxesError(f"casa() needs a Boxes table of tracks, got {type(tracks).__name__}")
    if not isinstance(calibration, Calibration):
        raise CalibrationError(
            f"casa() needs a spermtrack.Calibration(um_per_px, fps), got {type(calibration).__name__}; "
            "use Calibration(None, fps) for results in pixels"
        )
    if isinstance(min_points, bool) or not isinstance(min_points, (int, np.integer)) or min_points < 0:
        raise ValueError(f"min_points must be a whole number >= 0, got {min_points!r}")
    _check_positive("smoothing_s", smoothing_s, allow_zero=True)
    _check_positive("min_duration_s", min_duration_s, allow_zero=True)
    _check_positive("max_gap_s", max_gap_s, allow_zero=True)
    _check_positive("jump_factor", jump_factor)
    _check_positive("bcf_hysteresis_px", bcf_hysteresis_px, allow_zero=True)
    _check_positive("progressive_window_s", progressive_window_s)
    if jump_speed is not None:
        _check_positive("jump_speed", jump_speed)
    if max_vap is not None:
        _check_positive("max_vap", max_vap)
    method = method_code(average)
    thresholds = thresholds or MotilityThresholds()
    criteria = criteria or PatternCriteria()
    scale = calibration.scale
    fps = calibration.fps

    observed_only = not interpolated  # the boxes the tracker interpolated (score 0) are left out
    frame_dt = 1.0 / fps
    if frame_times is not None:
        if observed_only and len(tracks):
            tracks = tracks.filter(tracks.score > 0)
        observed_only = False
        from ..timebase import FrameTimes

        if not isinstance(frame_times, FrameTimes):
            raise ValueError(f"frame_times must be a spermtrack.timebase.FrameTimes, got {type(frame_times).__name__}")
        if len(tracks) and int(tracks.frame.max()) >= frame_times.num_frames:
            raise ValueError(f"frame_times cover {frame_times.num_frames} frames but a track has frame {int(tracks.frame.max())}")
        if len(tracks) and frame_times.num_repeated:
            tracks = tracks.filter(frame_times.distinct[tracks.frame])
    ids, offsets, frame, cx, cy, cls_major, dup_tracks = _group_tracks(
        tracks, None if image_size is None else _image_size(image_size), observed_only
    )
    # time from each track's first frame: durations are whole frames / fps with one rounding
    start = np.repeat(frame[offsets[:-1]], np.diff(offsets)) if len(ids) else frame
    if frame_times is not None and not frame_times.is_regular:
        t = frame_times.times[frame] - frame_times.times[start]
        frame_dt = 1.0 / frame_times.effective_fps
    else:
        t = (frame - start).astype(np.float64) / fps
    x = cx * scale
    y = cy * scale
    floor = float(jump_speed) if (jump_speed is not None and calibration.calibrated) else 0.0
    res = K.all_tracks(
        t,
        x,
        y,
        offsets,
        float(smoothing_s),
        method,
        float(bcf_hysteresis_px) * scale,
        float(progressive_window_s),
        float(jump_factor),
        floor,
        frame_dt,
    )

    n_points = np.diff(offsets)
    first = frame[offsets[:-1]] if len(ids) else np.zeros(0, np.int64)
    last = frame[offsets[1:] - 1] if len(ids) else np.zeros(0, np.int64)
    vcl, vsl, vap = res[:, K.K_VCL], res[:, K.K_VSL], res[:, K.K_VAP]
    lin = _ratio(vsl, vcl)
    straightness = _ratio(vsl, vap)
    wob = _ratio(vap, vcl)
    duration = res[:, K.K_DURATION]
    # longest run of missing frames (frames are whole numbers: no float residue)
    if frame_times is not None and not frame_times.is_regular:
        # uneven clock: the longest interval beyond the video's longest step between new images
        steps = np.diff(frame_times.times[frame_times.distinct])
        longest = float(steps.max()) if len(steps) else 0.0
        max_gap = np.where(n_points > 1, np.maximum(np.nan_to_num(res[:, K.K_MAX_GAP]) - longest, 0.0), 0.0)
    else:
        missing = np.where(n_points > 1, np.round(np.nan_to_num(res[:, K.K_MAX_GAP]) * fps) - 1.0, 0.0)
        max_gap = np.maximum(missing, 0.0) / fps
    jumps = res[:, K.K_JUMPS]

    alh_mean = res[:, K.K_ALH_MEAN].copy()
    alh_max = res[:, K.K_ALH_MAX].copy()
    bcf = res[:, K.K_BCF].copy()
    if calibration.calibrated:
        motility = classify_motility(res[:, K.K_VPROG], vap, res[:, K.K_BEAT], thresholds)
        still = motility == "immotile"
        alh_mean[still] = np.nan
        alh_max[still] = np.nan
        bcf[still] = np.nan
        pattern = classify_pattern(
            motility,
            vcl,
            vap,
            lin,
            straightness,
            wob,
            alh_mean,
            res[:, K.K_TURN],
            res[:, K.K_TURN_ABS],
            res[:, K.K_RADIUS],
            criteria,
        )
    else:
        motility = np.full(len(ids), UNCALIBRATED, dtype=object)
        pattern = motility.copy()

    too_fast = np.zeros(len(ids), bool)
    if max_vap is not None and calibration.calibrated:
        too_fast = vap > float(max_vap)
    quality = _quality(n_points, duration, jumps, too_fast, max_gap, dup_tracks, min_points, min_duration_s, max_gap_s)

    df = pd.DataFrame(
        {
            "track_id": ids.astype(np.int64),
            "cls": cls_major.astype(np.int16),
            "first_frame": first.astype(np.int64),
            "last_frame": last.astype(np.int64),
            "duration_s": duration,
            "n_points": n_points.astype(np.int64),
            "vcl": vcl,
            "vsl": vsl,
            "vap": vap,
            "lin": lin,
            "str": straightness,
            "wob": wob,
            "alh_mean": alh_mean,
            "alh_max": alh_max,
            "bcf": bcf,
            "mad": res[:, K.K_MAD],
            "motility": pd.Series(motility, dtype=object),
            "pattern": pd.Series(pattern, dtype=object),
            "quality": pd.Series(quality, dtype=object),
            "valid": quality == OK,
            "vprog": res[:, K.K_VPROG],
            "wobble_rms": res[:, K.K_WOBBLE],
            "beat_rms": res[:, K.K_BEAT],
            "turn_deg": res[:, K.K_TURN],
            "n_jumps": jumps.astype(np.int64),
            "max_step_speed": res[:, K.K_MAX_STEP],
            "max_gap_s": max_gap,
        },
        columns=list(COLUMNS),
    )
    df.attrs.update(
        {
            "length_unit": calibration.length_unit,
            "speed_unit": calibration.speed_unit,
            "frequency_unit": "Hz",
            "angle_unit": "degrees",
            "ratio_unit": "fraction",
            "calibration": calibration.to_dict(),
            "parameters": {
                "smoothing_s": float(smoothing_s),
                "average": average,
                "min_points": int(min_points),
                "min_duration_s": float(min_duration_s),
                "max_gap_s": float(max_gap_s),
                "jump_factor": float(jump_factor),
                "jump_speed": None if jump_speed is None else float(jump_speed),
                "max_vap": None if max_vap is None else float(max_vap),
                "interpolated": bool(interpolated),
                "image_size": None if image_size is None else list(_image_size(image_size)),
                "bcf_hysteresis_px": float(bcf_hysteresis_px),
                "progressive_window_s": float(progressive_window_s),
                "thresholds": thresholds.to_dict(),
                "criteria": criteria.to_dict(),
                "frame_times": None if frame_times is None else frame_times.to_dict(),
            },
        }
    )
    return df


def _group_tracks(tracks: Boxes, image_size: tuple[int, int] | None = None, observed_only: bool = False):
    """Tracked rows grouped by track and sorted by frame, duplicate frames averaged.

    With ``observed_only`` the rows with ``score == 0`` (interpolated) are left out.
    Returns ``ids (T,)``, ``offsets (T+1,)``, ``frame``, ``cx``, ``cy`` (float64 pixels,
    clipped boxes re-centred when ``image_size`` is given), the majority class of each
    track and a boolean array marking tracks that had two boxes in one frame.
    """
    ok, order, ids, offsets, frame, cx, cy, cls_major, dup = K.group_rows(
        tracks.frame, tracks.track_id, tracks.score, observed_only, tracks.x1, tracks.y1, tracks.x2, tracks.y2, tracks.cls
    )
    if not ok:  # rows not in frame order (a table built without validation): the general way
        if observed_only:
            tracks = tracks.filter(tracks.score > 0)
        return _group_tracks_sorting(tracks, image_size)
    n_tracks = len(ids)
    if image_size is not None and len(frame):
        row_track = np.repeat(np.arange(n_tracks), np.diff(offsets))
        x1, x2 = tracks.x1[order].astype(np.float64), tracks.x2[order].astype(np.float64)
        y1, y2 = tracks.y1[order].astype(np.float64), tracks.y2[order].astype(np.float64)
        x1, x2 = _unclip(x1, x2, 0.0, float(image_size[0]), row_track, n_tracks)
        y1, y2 = _unclip(y1, y2, 0.0, float(image_size[1]), row_track, n_tracks)
        cx = 0.5 * (x1 + x2)
        cy = 0.5 * (y1 + y2)
    dup_tracks = np.zeros(n_tracks, bool)
    if dup.any():
        row_track = np.repeat(np.arange(n_tracks), np.diff(offsets))
        dup_tracks[row_track[dup]] = True
        start = ~dup
        group = np.cumsum(start) - 1
        size = np.bincount(group).astype(np.float64)
        cx = np.bincount(group, weights=cx) / size
        cy = np.bincount(group, weights=cy) / size
        frame = frame[start]
        row_track = row_track[start]
        offsets = np.searchsorted(row_track, np.arange(n_tracks + 1)).astype(np.int64)
    return ids, offsets, frame, cx, cy, cls_major, dup_tracks


def _group_tracks_sorting(tracks: Boxes, image_size: tuple[int, int] | None = None):
    """:func:`_group_tracks` by sorting (``Boxes.by_track``), for tables whose rows are not in frame order."""
    order, ids, offsets = tracks.by_track()
    frame = tracks.frame[order].astype(np.int64)
    x1, x2 = tracks.x1[order].astype(np.float64), tracks.x2[order].astype(np.float64)
    y1, y2 = tracks.y1[order].astype(np.float64), tracks.y2[order].astype(np.float64)
    cls = tracks.cls[order]
    tid = tracks.track_id[order]
    n_tracks = len(ids)
    row_track = np.repeat(np.arange(n_tracks), np.diff(offsets))
    if image_size is not None and len(frame):
        x1, x2 = _unclip(x1, x2, 0.0, float(image_size[0]), row_track, n_tracks)
        y1, y2 = _unclip(y1, y2, 0.0, float(image_size[1]), row_track, n_tracks)
    cx = 0.5 * (x1 + x2)
    cy = 0.5 * (y1 + y2)
    # majority class per track (ties go to the smallest class id)
    if n_tracks:
        values, inverse = np.unique(cls, return_inverse=True)
        counts = np.bincount(row_track * len(values) + inverse, minlength=n_tracks * len(values))
        cls_major = values[np.argmax(counts.reshape(n_tracks, len(values)), axis=1)]
    else:
        cls_major = np.zeros(0, np.int16)
    dup_tracks = np.zeros(n_tracks, bool)
    if len(frame) > 1:
        dup = (tid[1:] == tid[:-1]) & (frame[1:] == frame[:-1])
        if dup.any():
            dup_tracks[row_track[1:][dup]] = True
            start = np.concatenate([[True], ~dup])
            group = np.cumsum(start) - 1
            size = np.bincount(group).astype(np.float64)
            cx = np.bincount(group, weights=cx) / size
            cy = np.bincount(group, weights=cy) / size
            frame = frame[start]
            row_track = row_track[start]
            offsets = np.searchsorted(row_track, np.arange(n_tracks + 1)).astype(np.int64)
    return ids, offsets, frame, cx, cy, cls_major, dup_tracks


def _unclip(lo, hi, low_edge, high_edge, row_track, n_tracks, tol=0.5):
    """Move the clipped side of boxes cut by an image edge out to the track's median size.

    ``lo, hi``: box sides along one axis (pixels, rows grouped by track); rows touching
    ``low_edge`` get ``lo = hi - size``, rows touching ``high_edge`` get ``hi = lo + size``,
    with ``size`` the median extent of the track's boxes that touch neither edge (all its
    boxes when every one does).
    """
    at_low = lo <= low_edge + tol
    at_high = hi >= high_edge - tol
    cut = at_low | at_high
    if not cut.any():
        return lo, hi
    size = hi - lo
    import pandas as pd

    whole = pd.Series(np.where(cut, np.nan, size)).groupby(row_track).median().reindex(range(n_tracks))
    fallback = pd.Series(size).groupby(row_track).median().reindex(range(n_tracks))
    med = whole.fillna(fallback).to_numpy()[row_track]
    lo = np.where(at_low & ~at_high, np.minimum(lo, hi - med), lo)
    hi = np.where(at_high & ~at_low, np.maximum(hi, lo + med), hi)
    return lo, hi


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.full(num.shape, np.nan)
    ok = np.isfinite(num) & np.isfinite(den) & (den > 0)
    out[ok] = num[ok] / den[ok]
    return out


def _quality(n_points, duration, jumps, too_fast, max_gap, dup_tracks, min_points, min_duration_s, max_gap_s) -> np.ndarray:
    flags = (
        (TOO_SHORT, (n_points < min_points) | ~(duration >= min_duration_s)),
        (JUMP, jumps > 0),
        (TOO_FAST, too_fast),
        (LONG_GAP, max_gap > max_gap_s),
        (DUPLICATES, dup_tracks),
    )
    out = np.full(len(n_points), "", dtype=object)
    for name, mask in flags:
        out[mask] = out[mask] + (";" + name)
    out = np.array([s[1:] if s else OK for s in out], dtype=object)
    return out


def _image_size(image_size) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in image_size)
    except (TypeError, ValueError):
        raise ValueError(f"image_size must be (width, height) in pixels, got {image_size!r}") from None
    if width <= 0 or height <= 0:
        raise ValueError(f"image_size must be positive, got {image_size!r}")
    return width, height


def _check_positive(name: str, value, allow_zero: bool = False) -> None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name} must be a finite number {'>=' if allow_zero else '>'} 0, got {value!r}")
