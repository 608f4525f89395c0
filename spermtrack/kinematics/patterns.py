"""Path pattern of each track, from its kinematics.

Criteria, applied in this order (the first that holds wins):

1. ``immotile``: WHO class immotile.
2. ``hyperactivated``: VCL >= 150 µm/s, LIN < 50 % and ALH >= 7 µm, the human
   hyperactivation criteria of Mortimer et al. (Hum Reprod 1998; 13:2139) for a
   CASA at 60 Hz (ALH here is ``alh_mean``, peak-to-peak). They depend on the frame
   rate through VCL and LIN (Mortimer & Swan, Hum Reprod, on image sampling frequency).
3. ``circular``: the average path keeps turning the same way: its net heading
   change is at least 180 degrees, at least 80 % of all its turning is in that one
   direction, and the circle it describes (average-path length over net turning)
   has a radius of at most 50 µm (about one flagellum length; a larger circle is
   read as a curved progressive path, as the WHO manual does with "large circles"),
   swum at an average-path speed of at least 3 µm/s.
4. ``linear_progressive``: progressive (WHO a or b) with STR >= 80 % (the
   straightness cut-off that Hamilton-Thorne instruments use for progressive cells)
   and WOB >= 50 % (the head oscillation does not dominate the path).
5. ``wobbly_progressive``: progressive otherwise: a strongly oscillating (WOB < 50 %,
   helical or wobbly) or meandering (STR < 80 %) but still progressing cell.
6. ``non_progressive``: WHO class non-progressive.

Tracks without a calibration are ``"uncalibrated"``, and tracks whose values are
missing (too few points) ``"unknown"``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from .motility import IMMOTILE, NON_PROGRESSIVE, RAPID, SLOW

LINEAR, WOBBLY, CIRCULAR, HYPERACTIVATED = "linear_progressive", "wobbly_progressive", "circular", "hyperactivated"
#: Pattern names.
PATTERNS: tuple[str, ...] = (LINEAR, WOBBLY, CIRCULAR, HYPERACTIVATED, NON_PROGRESSIVE, IMMOTILE)


#: The :class:`PatternCriteria` that are fractions (0-1), not percent.
FRACTIONS = frozenset({"ha_lin", "circle_consistency", "linear_str", "linear_wob"})


@dataclass(frozen=True)
class PatternCriteria:
    """Thresholds of the path patterns (µm, µm/s, fractions, degrees).

    Every value is a finite number >= 0; the fractions (``ha_lin``, ``circle_consistency``,
    ``linear_str``, ``linear_wob``) are at most 1 (not percent).

    Parameters
    ----------
    ha_vcl, ha_lin, ha_alh : float
        Hyperactivation: VCL >= ``ha_vcl`` µm/s, LIN < ``ha_lin``, ALH (mean) >= ``ha_alh`` µm.
    circle_turn_deg : float
        Smallest net turning of the average path (degrees) of a circular track.
    circle_consistency : float
        Smallest share of the turning that goes the net way (|net| / total).
    circle_radius : float
        Largest radius (µm) of a circular track's circle.
    circle_min_vap : float
        Smallest average-path speed (µm/s) of a circular track: a head beating in place
        has an average path that only jitters, whose heading turns at random.
    linear_str, linear_wob : float
        Straightness and wobble from which a progressive track is linear.
    """

    ha_vcl: float = 150.0
    ha_lin: float = 0.5
    ha_alh: float = 7.0
    circle_turn_deg: float = 180.0
    circle_consistency: float = 0.8
    circle_radius: float = 50.0
    circle_min_vap: float = 3.0
    linear_str: float = 0.8
    linear_wob: float = 0.5

    def __post_init__(self) -> None:
        from ..errors import ParameterError, shown

        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ParameterError(f"{type(self).__name__}.{f.name} must be a finite number >= 0, got {shown(v)}")
            if f.name in FRACTIONS and v > 1:
                raise ParameterError(f"{type(self).__name__}.{f.name} is a fraction and must be in 0-1, got {v:g} (50 % is 0.5)")

    def to_dict(self) -> dict:
        """The criteria as a plain dict (JSON-ready)."""
        return asdict(self)


def classify_pattern(
    motility: np.ndarray,
    vcl: np.ndarray,
    vap: np.ndarray,
    lin: np.ndarray,
    straightness: np.ndarray,
    wob: np.ndarray,
    alh: np.ndarray,
    turn_deg: np.ndarray,
    turn_abs_deg: np.ndarray,
    radius: np.ndarray,
    criteria: PatternCriteria | None = None,
) -> np.ndarray:
    """Pattern of each track (see the module docstring for the rules).

    Parameters
    ----------
    motility : array of str (n,)
        WHO class of each track (:func:`~spermtrack.kinematics.motility.classify_motility`).
    vcl, vap : arrays (n,)
        Curvilinear and average-path velocities, µm/s.
    lin, straightness, wob : arrays (n,)
        LIN, STR, WOB as fractions.
    alh : array (n,)
        Mean ALH, µm.
    turn_deg, turn_abs_deg : arrays (n,)
        Net and total absolute heading change of the average path, degrees.
    radius : array (n,)
        Average-path length over its net heading change (radians): the radius, µm, of
        the circle it turns on (NaN or inf when it does not turn).
    criteria : PatternCriteria, optional

    Returns
    -------
    numpy.ndarray of str (object), shape (n,)

    Examples
    --------
    >>> classify_pattern(np.array(["rapid_progressive", "non_progressive"], dtype=object),
    ...     vcl=np.array([80.0, 60.0]), vap=np.array([50.0, 40.0]), lin=np.array([0.6, 0.1]),
    ...     straightness=np.array([0.95, 0.1]), wob=np.array([0.62, 0.66]), alh=np.array([3.0, 2.0]),
    ...     turn_deg=np.array([5.0, 700.0]), turn_abs_deg=np.array([40.0, 720.0]),
    ...     radius=np.array([900.0, 6.5])).tolist()
    ['linear_progressive', 'circular']
    """
    c = criteria or PatternCriteria()
    motility = np.asarray(motility, dtype=object)
    vcl, vap, lin, straightness, wob, alh, turn, turn_abs, radius = (
        np.asarray(a, dtype=np.float64) for a in (vcl, vap, lin, straightness, wob, alh, turn_deg, turn_abs_deg, radius)
    )
    out = motility.copy()  # immotile / non_progressive / unknown / uncalibrated stay as they are
    known = np.isin(motility, (RAPID, SLOW, NON_PROGRESSIVE))
    progressive = np.isin(motility, (RAPID, SLOW))
    with np.errstate(invalid="ignore", divide="ignore"):
        hyper = known & (vcl >= c.ha_vcl) & (lin < c.ha_lin) & (alh >= c.ha_alh)
        net = np.abs(turn)
        circular = (
            known
            & ~hyper
            & (net >= c.circle_turn_deg)
            & (net >= c.circle_consistency * turn_abs)
            & (radius <= c.circle_radius)
            & (vap >= c.circle_min_vap)
        )
        linear = progressive & ~hyper & ~circular & (straightness >= c.linear_str) & (wob >= c.linear_wob)
    wobbly = progressive & ~hyper & ~circular & ~linear
    out[hyper] = HYPERACTIVATED
    out[circular] = CIRCULAR
    out[linear] = LINEAR
    out[wobbly] = WOBBLY
    return out
