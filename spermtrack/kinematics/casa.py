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

One rule for units: with a calibration every length is in µm and every speed in µm/s;
without one (``um_per_px=None``) every length is in pixels and every speed in px/s, the
DataFrame's ``attrs`` say so, the WHO class and pattern are ``"uncalibrated"``, and an
:class:`~spermtrack.kinematics.config.UncalibratedWarning` says which numbers cannot be
compared with WHO thresholds. The quality gates that need physical units (the 150 µm/s
floor of the jump test, ``max_vap``) are then not switched off but converted with the
video's own scale: the median box size of the tracked sperm stands for
:data:`~spermtrack.kinematics.config.HEAD_BOX_UM` (5.75 µm, a VISEM-Tracking head box), so
that a track is valid or not whether or not the calibration is known. ``attrs["gates"]``
records the thresholds used and where they came from.

``casa`` runs in named steps: ``_settings`` (inputs and settings), ``_points``
(grouping by track), ``_gates`` (speed gates in the output unit), ``_kernel``
(the compiled per-track kinematics), ``_classify`` (WHO class, pattern),
``_quality_flags``, ``_turn`` and ``_frame`` (the DataFrame and its attrs).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from ..boxes import SPERM, Boxes
from ..calibration import Calibration
from ..errors import BoxesError, CalibrationError, LowImageRateWarning, ParameterError, ParameterTypeError
from . import _kernel as K
from .config import CasaConfig, UncalibratedWarning
from .motility import UNCALIBRATED, classify_motility
from .patterns import classify_pattern
from .smoothing import method_code

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

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
    tracks: Boxes | pd.DataFrame,
    calibration: Calibration,
    config: CasaConfig | None = None,
    *,
    image_size: tuple[int, int] | None = None,
    frame_times=None,
    **settings,
):
    """CASA kinematics, WHO class and path pattern of every track.

    Parameters
    ----------
    tracks : Boxes or pandas.DataFrame
        Boxes with track ids (rows with ``track_id == -1`` are ignored), any class
        (``summarize`` and ``fastest`` keep sperm only by default), or a trackpy-style table
        of points with columns ``frame, x, y, particle`` (centres in pixels, 0-based frames;
        converted by :func:`spermtrack.interop.from_trackpy`, boxes of 23 px). The head position is
        the box centre, in pixels.
    calibration : Calibration
        µm per pixel (or ``None``: results in pixels) and frames per second.
    config : CasaConfig, optional
        Every CASA setting (smoothing window, quality gates, WHO thresholds, pattern
        criteria; :class:`~spermtrack.kinematics.config.CasaConfig`, documented
        defaults when omitted).
    **settings
        Single settings of :class:`CasaConfig` by name (``smoothing_s=0.3``,
        ``jump_speed=None``, ...), applied on top of ``config``.
    image_size : (int, int), optional
        ``(width, height)`` of the frames in pixels. When given, boxes cut by the image
        border are re-centred: a cell entering or leaving the field has a clipped box
        whose centre is not its head (up to half a box off), which biases VSL of the
        short, fast tracks that cross the field. The clipped side is moved out to the
        track's median box width (height) from the side that is not clipped. Without it
        box centres are used as they are.
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
          path, degrees, counter-clockwise positive in image coordinates; NaN for
          tracks flagged ``too_short`` and for tracks whose average path stands still,
          ``vprog`` < 5 µm/s and ``vap`` < ``thresholds.active_vap``, where it only sums
          the turns of the detection jitter),
          ``n_jumps``, ``max_step_speed`` (µm/s), ``max_gap_s`` (longest run of missing
          frames, s).

        ALH and BCF are NaN for immotile tracks (no direction to oscillate about).
        ``df.attrs`` holds ``length_unit``, ``speed_unit``, ``frequency_unit``,
        ``angle_unit``, ``ratio_unit``, ``calibration``, ``parameters``, ``gates`` (the
        speed gates used, in the output unit, with ``basis`` "calibrated", "derived" or
        "none" and a ``source`` sentence such as "derived from the median box size 23.0
        px ...") and ``warnings`` (sentences; the uncalibrated warning).

    Raises
    ------
    BoxesError
        ``tracks`` is not a :class:`~spermtrack.Boxes`.
    CalibrationError
        ``calibration`` is not a :class:`~spermtrack.Calibration`.
    ParameterError
        A setting is out of range (also a ``ValueError``).

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
    if not isinstance(tracks, Boxes) and hasattr(tracks, "columns"):  # a table of points (trackpy's layout)
        from ..interop import from_trackpy

        tracks = from_trackpy(tracks)
    config = _settings(tracks, calibration, config, settings)
    points = _points(tracks, calibration, config, image_size, frame_times)
    gates = _gates(points, calibration, config)
    res = _kernel(points, calibration, config, gates)
    motility, pattern, alh_mean, alh_max, bcf = _classify(res, calibration, config)
    quality = _quality_flags(points, res, gates, config)
    turn = _turn(res, np.diff(points.offsets), gates, config)
    return _frame(
        points, res, motility, pattern, alh_mean, alh_max, bcf, quality, turn, calibration, config, gates, image_size, frame_times
    )


# ---------------------------------------------------------------------------- the steps of casa()
class _Points:
    """The head positions of every track, grouped (step 2 of :func:`casa`).

    ``ids (T,)``, ``offsets (T+1,)``, ``frame``, ``cx``, ``cy`` (pixels), ``t`` (s from
    each track's first point), ``frame_dt`` (s), ``cls_major``, ``dup_tracks``,
    ``max_gap`` (longest run of missing frames per track, s, set by :func:`_kernel`),
    ``box_px`` (median box size of the tracked sperm boxes, pixels; NaN without boxes, and with a
    calibration, where no gate needs it).
    """

    __slots__ = (
        "ids",
        "offsets",
        "frame",
        "cx",
        "cy",
        "t",
        "frame_dt",
        "cls_major",
        "dup_tracks",
        "box_px",
        "frame_times",
        "fps",
        "max_gap",
    )


def _settings(tracks, calibration, config, settings) -> CasaConfig:
    """Step 1: check the inputs and resolve the settings (``config`` with ``settings`` on top)."""
    if not isinstance(tracks, Boxes):
        raise BoxesError(f"casa() needs a Boxes table of tracks, got {type(tracks).__name__}")
    if not isinstance(calibration, Calibration):
        raise CalibrationError(
            f"casa() needs a spermtrack.Calibration(um_per_px, fps), got {type(calibration).__name__}; "
            "use Calibration(None, fps) for results in pixels"
        )
    if config is None:
        config = CasaConfig()
    elif not isinstance(config, CasaConfig):
        raise ParameterTypeError(f"config must be a spermtrack.kinematics.CasaConfig, got {type(config).__name__}")
    if settings:
        names = {f.name for f in dataclasses.fields(CasaConfig)}
        unknown = sorted(set(settings) - names)
        if unknown:
            raise ParameterError(f"casa() got unknown setting(s) {unknown}; CasaConfig has: {sorted(names)}")
        if settings.get("thresholds") is None:
            settings.pop("thresholds", None)
        if settings.get("criteria") is None:
            settings.pop("criteria", None)
        config = config.replace(**settings)
    return config


def _points(tracks: Boxes, calibration: Calibration, config: CasaConfig, image_size, frame_times) -> _Points:
    """Step 2: group the tracked boxes by track, in frame order, with each point's time."""
    fps = calibration.fps
    observed_only = not config.interpolated  # the boxes the tracker interpolated (score 0) are left out
    frame_dt = 1.0 / fps
    if frame_times is not None:
        if observed_only and len(tracks):
            tracks = tracks.filter(tracks.score > 0)
        observed_only = False
        from ..timebase import FrameTimes

        if not isinstance(frame_times, FrameTimes):
            raise ParameterError(f"frame_times must be a spermtrack.timebase.FrameTimes, got {type(frame_times).__name__}")
        if len(tracks) and int(tracks.frame.max()) >= frame_times.num_frames:
            raise ParameterError(
                f"frame_times cover {frame_times.num_frames} frames but a track has frame {int(tracks.frame.max())}"
            )
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
    p = _Points()
    p.ids, p.offsets, p.frame, p.cx, p.cy, p.t = ids, offsets, frame, cx, cy, t
    p.frame_dt, p.cls_major, p.dup_tracks = frame_dt, cls_major, dup_tracks
    p.box_px = math.nan if calibration.calibrated else median_box_px(tracks)  # only the uncalibrated gates need it
    p.frame_times, p.fps = frame_times, fps
    return p


def median_box_px(tracks: Boxes) -> float:
    """Median box size of the tracked sperm boxes, pixels (NaN when there is none).

    The size of a box is the mean of its width and height; the boxes of class sperm
    (``cls == 0``) with a track id are used, or every tracked box when no sperm box is
    tracked. This is the video's own length scale, used by :func:`casa` for the speed
    gates when there is no calibration (see :data:`~spermtrack.kinematics.config.HEAD_BOX_UM`).

    >>> b = Boxes([0, 1, 2], [0, 0, 0], [0, 0, 0], [20, 22, 30], [20, 22, 30], track_id=[1, 1, 1])
    >>> median_box_px(b)
    22.0
    """
    if not len(tracks):
        return math.nan
    tracked = tracks.track_id >= 0
    sperm = tracked & (tracks.cls == SPERM)
    keep = sperm if sperm.any() else tracked
    if not keep.any():
        return math.nan
    rows = np.flatnonzero(keep)
    if len(rows) > _MEDIAN_ROWS:  # a scale, not a statistic: 20,000 evenly spread boxes are plenty
        rows = rows[np.linspace(0, len(rows) - 1, _MEDIAN_ROWS).astype(np.int64)]
    size = 0.5 * ((tracks.x2[rows] - tracks.x1[rows]).astype(np.float64) + (tracks.y2[rows] - tracks.y1[rows]).astype(np.float64))
    return float(np.median(size))


#: Most boxes :func:`median_box_px` reads (evenly spread over the table).
_MEDIAN_ROWS = 20_000


def _gates(points: _Points, calibration: Calibration, config: CasaConfig) -> dict:
    """Step 3: the speed gates in the output unit (µm/s, or px/s derived from the box size).

    Returns ``{"basis", "jump_speed", "max_vap", "progressive", "active_vap", "speed_unit",
    "median_box_px", "head_box_um", "um_per_px_equivalent", "source"}``; the speeds are
    in the output speed unit (None where the gate is off).
    """
    box = points.box_px
    if calibration.calibrated:
        unit_per_um = 1.0  # the output is in µm
        basis = "calibrated"
        source = f"calibrated: {float(calibration.um_per_px):g} µm per pixel"
        equivalent = float(calibration.um_per_px)
    elif math.isfinite(box) and box > 0:
        equivalent = config.head_box_um / box  # µm per pixel the head size implies
        unit_per_um = 1.0 / equivalent  # px per µm
        basis = "derived"
        source = (
            f"derived from the median box size {box:.1f} px (1 head box = {config.head_box_um:g} µm as in "
            f"VISEM-Tracking, so {unit_per_um:.3g} px stand for 1 µm)"
        )
    else:
        return {
            "basis": "none",
            "source": "off: there is no calibration and no tracked box to derive a scale from",
            "speed_unit": calibration.speed_unit,
            "median_box_px": None,
            "head_box_um": config.head_box_um,
            "um_per_px_equivalent": None,
            "jump_speed": None,
            "max_vap": None,
            "progressive": None,
            "active_vap": None,
        }

    def conv(v):
        return None if v is None else float(v) * unit_per_um

    return {
        "basis": basis,
        "source": source,
        "speed_unit": calibration.speed_unit,
        "median_box_px": None if not math.isfinite(box) else float(box),
        "head_box_um": config.head_box_um,
        "um_per_px_equivalent": equivalent,
        "jump_speed": conv(config.jump_speed),
        "max_vap": conv(config.max_vap),
        "progressive": conv(config.thresholds.progressive),
        "active_vap": conv(config.thresholds.active_vap),
    }


def _kernel(points: _Points, calibration: Calibration, config: CasaConfig, gates: dict) -> np.ndarray:
    """Step 4: the compiled per-track kernel; returns ``(T, N_RESULTS)`` and sets ``points.max_gap``."""
    scale = calibration.scale
    floor = gates["jump_speed"] or 0.0
    res = K.all_tracks(
        points.t,
        points.cx * scale,
        points.cy * scale,
        points.offsets,
        float(config.smoothing_s),
        method_code(config.average),
        float(config.bcf_hysteresis_px) * scale,
        float(config.progressive_window_s),
        float(config.jump_factor),
        float(floor),
        points.frame_dt,
    )
    # longest run of missing frames (frames are whole numbers: no float residue)
    n_points = np.diff(points.offsets)
    frame_times, fps = points.frame_times, points.fps
    if frame_times is not None and not frame_times.is_regular:
        # uneven clock: the longest interval beyond the video's longest step between new images
        steps = np.diff(frame_times.times[frame_times.distinct])
        longest = float(steps.max()) if len(steps) else 0.0
        max_gap = np.where(n_points > 1, np.maximum(np.nan_to_num(res[:, K.K_MAX_GAP]) - longest, 0.0), 0.0)
    else:
        missing = np.where(n_points > 1, np.round(np.nan_to_num(res[:, K.K_MAX_GAP]) * fps) - 1.0, 0.0)
        max_gap = np.maximum(missing, 0.0) / fps
    points.max_gap = max_gap
    return res


def _classify(res: np.ndarray, calibration: Calibration, config: CasaConfig):
    """Step 5: WHO class and path pattern (calibrated only); ALH and BCF NaN for immotile tracks."""
    vcl, vsl, vap = res[:, K.K_VCL], res[:, K.K_VSL], res[:, K.K_VAP]
    alh_mean = res[:, K.K_ALH_MEAN].copy()
    alh_max = res[:, K.K_ALH_MAX].copy()
    bcf = res[:, K.K_BCF].copy()
    if not calibration.calibrated:
        motility = np.full(len(res), UNCALIBRATED, dtype=object)
        return motility, motility.copy(), alh_mean, alh_max, bcf
    motility = classify_motility(res[:, K.K_VPROG], vap, res[:, K.K_BEAT], config.thresholds)
    still = motility == "immotile"
    alh_mean[still] = np.nan
    alh_max[still] = np.nan
    bcf[still] = np.nan
    lin = _ratio(vsl, vcl)
    pattern = classify_pattern(
        motility,
        vcl,
        vap,
        lin,
        _ratio(vsl, vap),
        _ratio(vap, vcl),
        alh_mean,
        res[:, K.K_TURN],
        res[:, K.K_TURN_ABS],
        res[:, K.K_RADIUS],
        config.criteria,
    )
    return motility, pattern, alh_mean, alh_max, bcf


def _quality_flags(points: _Points, res: np.ndarray, gates: dict, config: CasaConfig) -> np.ndarray:
    """Step 6: the quality flags of every track ("ok" or flags joined by ";")."""
    too_fast = np.zeros(len(points.ids), bool)
    if gates["max_vap"] is not None:
        too_fast = res[:, K.K_VAP] > gates["max_vap"]
    return _quality(
        np.diff(points.offsets),
        res[:, K.K_DURATION],
        res[:, K.K_JUMPS],
        too_fast,
        points.max_gap,
        points.dup_tracks,
        config.min_points,
        config.min_duration_s,
        config.max_gap_s,
    )


def _turn(res: np.ndarray, n_points: np.ndarray, gates: dict, config: CasaConfig) -> np.ndarray:
    """Net heading change of the average path, degrees; NaN where it has no meaning.

    A heading needs an average path that moves: on a track flagged ``too_short``, or one
    whose average path neither progresses (``vprog`` below the WHO progressive threshold)
    nor moves along itself (``vap`` below ``thresholds.active_vap``), the average path
    only follows the detection jitter and its summed heading changes are noise (an
    immotile track read -1035 degrees). Without a calibration the two thresholds are
    converted with the scale derived from the box size (``_gates``).
    """
    turn = res[:, K.K_TURN].copy()
    short = (n_points < config.min_points) | ~(res[:, K.K_DURATION] >= config.min_duration_s)  # the too_short flag
    undefined = short | ~np.isfinite(turn)
    if gates["progressive"] is not None:
        vprog = np.nan_to_num(res[:, K.K_VPROG], nan=0.0)
        vap = np.nan_to_num(res[:, K.K_VAP], nan=0.0)
        undefined |= (vprog < gates["progressive"]) & (vap < gates["active_vap"])
    turn[undefined] = np.nan
    return turn


def _frame(
    points, res, motility, pattern, alh_mean, alh_max, bcf, quality, turn, calibration, config, gates, image_size, frame_times
):
    """Step 7: the DataFrame of :data:`COLUMNS` with its ``attrs`` (units, settings, gates, warnings)."""
    import pandas as pd

    ids, offsets, frame = points.ids, points.offsets, points.frame
    n_points = np.diff(offsets)
    first = frame[offsets[:-1]] if len(ids) else np.zeros(0, np.int64)
    last = frame[offsets[1:] - 1] if len(ids) else np.zeros(0, np.int64)
    vcl, vsl, vap = res[:, K.K_VCL], res[:, K.K_VSL], res[:, K.K_VAP]
    df = pd.DataFrame(
        {
            "track_id": ids.astype(np.int64),
            "cls": points.cls_major.astype(np.int16),
            "first_frame": first.astype(np.int64),
            "last_frame": last.astype(np.int64),
            "duration_s": res[:, K.K_DURATION],
            "n_points": n_points.astype(np.int64),
            "vcl": vcl,
            "vsl": vsl,
            "vap": vap,
            "lin": _ratio(vsl, vcl),
            "str": _ratio(vsl, vap),
            "wob": _ratio(vap, vcl),
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
            "turn_deg": turn,
            "n_jumps": res[:, K.K_JUMPS].astype(np.int64),
            "max_step_speed": res[:, K.K_MAX_STEP],
            "max_gap_s": points.max_gap,
        },
        columns=list(COLUMNS),
    )
    notes = [] if calibration.calibrated else [(uncalibrated_warning(gates), UncalibratedWarning)]
    rate = calibration.fps if frame_times is None else frame_times.sampling_fps
    if len(ids) and rate < config.min_image_rate:
        notes.append(
            (low_image_rate_warning(rate, frame_times is not None and frame_times.num_repeated > 0), LowImageRateWarning)
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
                **config.to_dict(),
                "image_size": None if image_size is None else list(_image_size(image_size)),
                "frame_times": None if frame_times is None else frame_times.to_dict(),
            },
            "gates": gates,
            "warnings": [text for text, _ in notes],
        }
    )
    for text, category in notes:
        warnings.warn(text, category, stacklevel=3)
    return df


def uncalibrated_warning(gates: Mapping) -> str:
    """The sentence saying which numbers of an uncalibrated result cannot be compared with WHO values."""
    return (
        "Uncalibrated (no µm per pixel): VCL, VSL, VAP, vprog, ALH, wobble and beat amplitudes are in pixels and px/s "
        "and cannot be compared with WHO thresholds or other samples, and no WHO grade or path pattern is given "
        "(LIN, STR, WOB, BCF and MAD are unit-free and comparable). The speed thresholds of the quality gates are "
        + str(gates.get("source", "derived from the video"))
        + ". Give the microscope's µm per pixel (--um-per-px)."
    )


def low_image_rate_warning(rate: float, repeats: bool) -> str:
    """The sentence saying which numbers of a result from ``rate`` new images per second depend on the rate."""
    shown = " (frames repeat: the rate of new images, not the file's frame rate)" if repeats else ""
    return (
        f"Low image rate: {rate:.3g} new images/s{shown}, where CASA practice and VISEM-Tracking record 50-60. "
        "VCL, LIN, WOB, MAD, BCF and the path patterns depend on the image rate (VCL reads lower, LIN higher, "
        f"and beats faster than {rate / 2:.3g} Hz cannot be resolved): compare them only with results at the same "
        'rate. VSL, VAP and the WHO grades hardly depend on it (docs/kinematics.md, "The image rate").'
    )


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
        frame, cx, cy, offsets = _merge_duplicate_frames(~dup, frame, cx, cy, row_track, n_tracks)
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
            frame, cx, cy, offsets = _merge_duplicate_frames(start, frame, cx, cy, row_track, n_tracks)
    return ids, offsets, frame, cx, cy, cls_major, dup_tracks


def _merge_duplicate_frames(start, frame, cx, cy, row_track, n_tracks: int):
    """One point per (track, frame): the centres of a track's boxes in one frame averaged.

    ``start`` marks the first row of each run of equal (track, frame) in track-then-frame
    order. Returns ``frame, cx, cy, offsets`` of the merged points.
    """
    group = np.cumsum(start) - 1
    size = np.bincount(group).astype(np.float64)
    cx = np.bincount(group, weights=cx) / size
    cy = np.bincount(group, weights=cy) / size
    row_track = row_track[start]
    offsets = np.searchsorted(row_track, np.arange(n_tracks + 1)).astype(np.int64)
    return frame[start], cx, cy, offsets


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
        raise ParameterError(f"image_size must be (width, height) in pixels, got {image_size!r}") from None
    if width <= 0 or height <= 0:
        raise ParameterError(f"image_size must be positive, got {image_size!r}")
    return width, height
