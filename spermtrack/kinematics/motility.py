"""WHO 6th-edition motility classes from CASA kinematics.

The WHO laboratory manual (6th ed., 2021, §2.4.4) grades each spermatozoon as

* **rapidly progressive** (a): moving actively, linearly or in a large circle,
  covering a distance from the starting point to the end point of at least 25 µm
  (half a tail length) in 1 s;
* **slowly progressive** (b): the same, covering 5 to < 25 µm in 1 s;
* **non-progressive** (c): all other patterns of active movement with no progression,
  the head displaced less than 5 µm (one head length) in 1 s;
* **immotile** (d): no active movement.

Progressive velocity here is ``vprog``: the net displacement of the *average path*
over every 1-s window of the track, averaged (the WHO wording, read literally; a track
shorter than 1 s uses its own span). Unlike VSL over a 30-s track it does not call a
cell swimming in a large circle non-progressive, and unlike VAP it does not call a cell
circling in place progressive.

"Immotile" cannot be read from the tail in box tracks, so it is read from the head:
a cell is immotile when it neither progresses (``vprog`` below the slow threshold) nor
moves along its average path (``vap`` below ``active_vap``) nor beats around it
(``beat_rms`` below ``active_wobble``: the rms excursion of the head about its average
path that persists from one frame to the next, so that detection jitter, independent
from frame to frame, is averaged out of it). Detection jitter inflates VCL by tens of
µm/s and the plain rms excursion ``wobble_rms`` by about 1.35 sigma (see
docs/kinematics.md), which is why neither is used.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

RAPID, SLOW, NON_PROGRESSIVE, IMMOTILE = "rapid_progressive", "slow_progressive", "non_progressive", "immotile"
#: WHO class names, fastest first.
MOTILITY_CLASSES: tuple[str, ...] = (RAPID, SLOW, NON_PROGRESSIVE, IMMOTILE)
#: Label of tracks whose class cannot be given: no calibration (µm unknown) or too few points.
UNCALIBRATED, UNKNOWN = "uncalibrated", "unknown"


@dataclass(frozen=True)
class MotilityThresholds:
    """Thresholds of the WHO classes, in µm and µm/s.

    Parameters
    ----------
    rapid : float
        Progressive velocity (µm/s) from which a cell is rapidly progressive (WHO: 25).
    progressive : float
        Progressive velocity (µm/s) from which a cell is progressive at all (WHO: 5);
        at most ``rapid``.
    active_vap : float
        Average-path speed (µm/s) from which a non-progressing cell counts as moving.
        3 µm/s sits above the apparent speed that 1 px of detection jitter gives a
        still cell (1.3 µm/s at 0.25 µm/px and 50 fps, benchmarks/kinematics_response.py)
        and below a cell circling in place.
    active_wobble : float
        Beat amplitude ``beat_rms`` (µm, rms excursion of the head about its average
        path that persists from frame to frame) from which a non-moving cell counts as
        beating in place: 0.5 µm, a beat of +-0.7 µm. Jitter is averaged out of
        ``beat_rms``: a still cell reads 0.06, 0.11 and 0.17 µm with 0.5, 1 and 1.5 px of
        jitter (medians of 3-s tracks, 0.25 µm/px, 50 fps; benchmarks/kinematics_response.py,
        docs/kinematics.md).
    """

    rapid: float = 25.0
    progressive: float = 5.0
    active_vap: float = 3.0
    active_wobble: float = 0.5

    def __post_init__(self) -> None:
        from ..errors import ParameterError, shown

        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ParameterError(f"{type(self).__name__}.{f.name} must be a finite number >= 0, got {shown(v)}")
        if self.rapid < self.progressive:
            raise ParameterError(
                f"{type(self).__name__}.rapid ({self.rapid:g} µm/s) must be >= progressive ({self.progressive:g} µm/s): "
                "a rapidly progressive cell is progressive (WHO: rapid 25, progressive 5)"
            )

    def to_dict(self) -> dict:
        """The thresholds as a plain dict (JSON-ready)."""
        return asdict(self)


def classify_motility(
    vprog: np.ndarray,
    vap: np.ndarray,
    beat_rms: np.ndarray,
    thresholds: MotilityThresholds | None = None,
) -> np.ndarray:
    """WHO motility class of each track.

    Parameters
    ----------
    vprog : array (n,)
        Progressive velocity, µm/s (net displacement of the average path per 1 s).
    vap : array (n,)
        Average-path velocity, µm/s.
    beat_rms : array (n,)
        RMS excursion of the head about its average path that persists from frame to
        frame, µm (the ``beat_rms`` column of :func:`~spermtrack.kinematics.casa`).
    thresholds : MotilityThresholds, optional
        WHO 6th-edition defaults.

    Returns
    -------
    numpy.ndarray of str (object), shape (n,)
        One of :data:`MOTILITY_CLASSES`, or ``"unknown"`` where a value is NaN.

    Examples
    --------
    >>> classify_motility(np.array([40.0, 10.0, 1.0, 0.2]), np.array([45.0, 12.0, 20.0, 0.5]),
    ...                   np.array([1.0, 0.8, 1.5, 0.1])).tolist()
    ['rapid_progressive', 'slow_progressive', 'non_progressive', 'immotile']
    """
    th = thresholds or MotilityThresholds()
    vprog, vap, beat_rms = (np.asarray(a, dtype=np.float64) for a in (vprog, vap, beat_rms))
    out = np.full(vprog.shape, UNKNOWN, dtype=object)
    known = np.isfinite(vprog) & np.isfinite(vap) & np.isfinite(beat_rms)
    rapid = known & (vprog >= th.rapid)
    slow = known & (vprog >= th.progressive) & ~rapid
    active = (vap >= th.active_vap) | (beat_rms >= th.active_wobble)
    non_prog = known & ~rapid & ~slow & active
    still = known & ~rapid & ~slow & ~active
    out[rapid] = RAPID
    out[slow] = SLOW
    out[non_prog] = NON_PROGRESSIVE
    out[still] = IMMOTILE
    return out
