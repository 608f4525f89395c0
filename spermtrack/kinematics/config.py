"""CASA settings: one frozen, validated dataclass in physical units (:class:`CasaConfig`).

Built like :class:`~spermtrack.track.TrackerConfig`: every time in seconds, every speed
in µm/s, every length in µm unless the name says pixels; ``to_dict``/``from_dict``
round-trip through JSON, so the settings of a result can be stored in ``summary.json``
and read back. :func:`spermtrack.kinematics.casa` takes one.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from ..errors import ParameterError, UncalibratedWarning, shown  # noqa: F401 (UncalibratedWarning re-exported: its old home)
from .motility import MotilityThresholds
from .patterns import PatternCriteria
from .smoothing import DEFAULT_SMOOTHING_S, method_code

#: Side of a sperm head's box, µm: the mean sperm box of VISEM-Tracking, 23 x 23 px
#: (612,377 boxes; shared/reference/visem/class_sizes.json) at its 0.25 µm per pixel.
#: Without a calibration :func:`~spermtrack.kinematics.casa` reads the video's own scale
#: from it: ``µm per pixel ~= HEAD_BOX_UM / median box size (px)``, so the 150 µm/s floor
#: of the jump test is 150 / 5.75 = 26.1 head boxes per second (600 px/s for 23-px heads)
#: and the 200 µm/s ``max_vap`` is 34.8 head boxes per second.
HEAD_BOX_UM = 5.75


#: Longest average-path window ``smoothing_s``, s: ten times the default 0.5 s, beyond the 0.75-1 s
#: docs/kinematics.md advises for slow beats; a longer window turns every path into its chord.
MAX_SMOOTHING_S = 5.0
#: Longest window of the progressive velocity ``progressive_window_s``, s (WHO: 1 s).
MAX_PROGRESSIVE_WINDOW_S = 10.0


class CasaConfigError(ParameterError):
    """A CASA setting is out of range or of the wrong type."""


@dataclass(frozen=True)
class CasaConfig:
    """Settings of :func:`~spermtrack.kinematics.casa` (docs/kinematics.md).

    Attributes
    ----------
    smoothing_s : float
        Average-path window in seconds (full width), default 0.5 s, at most
        :data:`MAX_SMOOTHING_S` (5 s); see :mod:`spermtrack.kinematics.smoothing` for its choice.
    average : {"loess", "mean"}
        Average-path smoother: local quadratic tricube regression (default) or the
        classic CASA running average.
    min_points : int
        Tracks with fewer detected points are flagged ``too_short``.
    min_duration_s : float
        Tracks shorter than this (seconds, first to last point) are flagged ``too_short``.
    max_gap_s : float
        Tracks missing more than this many seconds in a row are flagged ``long_gap``.
    jump_factor : float
        A step is an implausible jump (flag ``jump``) when its speed exceeds both
        ``jump_factor`` x the track's median step speed and the absolute floor
        ``jump_speed``.
    jump_speed : float or None
        Absolute floor of the jump test, µm/s (None: only the relative test).
    max_vap : float or None
        Tracks whose average-path speed exceeds this (µm/s) are flagged
        ``implausible_speed`` (None turns the check off).
    interpolated : bool
        Use the boxes the tracker interpolated across short gaps (``score == 0``).
    bcf_hysteresis_px : float
        A crossing of the average path counts only once the head is this many pixels
        on the other side (pixels of the frame).
    progressive_window_s : float
        Window of the progressive velocity ``vprog`` in seconds (WHO: 1 s), at most
        :data:`MAX_PROGRESSIVE_WINDOW_S` (10 s).
    thresholds : MotilityThresholds
        WHO class thresholds (µm/s, µm).
    criteria : PatternCriteria
        Path pattern criteria (µm, µm/s, fractions, degrees).
    head_box_um : float
        Side of a sperm head's box in µm (:data:`HEAD_BOX_UM`, 5.75). Used only without a
        calibration: the speed gates (``jump_speed``, ``max_vap``) and the still-path test
        of ``turn_deg`` are converted to px/s with ``head_box_um / median box size`` as
        the µm per pixel, instead of being switched off.
    min_image_rate : float
        New images per second (the frame rate; when frames repeat, the rate of new images over
        their usual intervals, ``FrameTimes.sampling_fps``) below which the result carries a
        :class:`~spermtrack.errors.LowImageRateWarning`: VCL, LIN, WOB, MAD, BCF and the path
        patterns depend on the image rate (docs/kinematics.md, "The image rate"); VISEM-Tracking
        and CASA practice record at 50-60. Default 45; 0 switches the warning off.

    >>> CasaConfig(smoothing_s=0.3).replace(jump_speed=None).to_dict()["jump_speed"] is None
    True
    >>> CasaConfig.from_dict(CasaConfig().to_dict()) == CasaConfig()
    True
    """

    smoothing_s: float = DEFAULT_SMOOTHING_S
    average: str = "loess"
    min_points: int = 10
    min_duration_s: float = 0.5
    max_gap_s: float = 0.5
    jump_factor: float = 4.0
    jump_speed: float | None = 150.0
    max_vap: float | None = 200.0
    interpolated: bool = False
    bcf_hysteresis_px: float = 0.5
    progressive_window_s: float = 1.0
    thresholds: MotilityThresholds = field(default_factory=MotilityThresholds)
    criteria: PatternCriteria = field(default_factory=PatternCriteria)
    head_box_um: float = HEAD_BOX_UM
    min_image_rate: float = 45.0

    def __post_init__(self) -> None:
        try:
            method_code(self.average)
        except ValueError as exc:
            raise CasaConfigError(f"average: {exc}") from None
        if isinstance(self.min_points, bool) or not isinstance(self.min_points, int) or self.min_points < 0:
            raise CasaConfigError(f"min_points must be a whole number >= 0, got {shown(self.min_points)}")
        if not isinstance(self.interpolated, bool):
            raise CasaConfigError(f"interpolated must be true or false, got {shown(self.interpolated)}")
        for name, allow_zero in (
            ("smoothing_s", True),
            ("min_duration_s", True),
            ("max_gap_s", True),
            ("jump_factor", False),
            ("bcf_hysteresis_px", True),
            ("progressive_window_s", False),
            ("head_box_um", False),
            ("min_image_rate", True),
        ):
            _check_number(name, getattr(self, name), allow_zero)
        for name, top in (("smoothing_s", MAX_SMOOTHING_S), ("progressive_window_s", MAX_PROGRESSIVE_WINDOW_S)):
            if float(getattr(self, name)) > top:
                raise CasaConfigError(
                    f"{name} must be at most {top:g} s, got {float(getattr(self, name)):g} "
                    f"(a window in seconds, default {getattr(type(self), name):g} s)"
                )
        for name in ("jump_speed", "max_vap"):
            if getattr(self, name) is not None:
                _check_number(name, getattr(self, name), False)
        if not isinstance(self.thresholds, MotilityThresholds):
            raise CasaConfigError(f"thresholds must be a MotilityThresholds, got {type(self.thresholds).__name__}")
        if not isinstance(self.criteria, PatternCriteria):
            raise CasaConfigError(f"criteria must be a PatternCriteria, got {type(self.criteria).__name__}")

    def replace(self, **changes: Any) -> CasaConfig:
        """A copy with some settings changed (validated)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Every setting as plain JSON-ready values (thresholds and criteria as nested dicts)."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["thresholds"] = self.thresholds.to_dict()
        d["criteria"] = self.criteria.to_dict()
        for k in (
            "smoothing_s",
            "min_duration_s",
            "max_gap_s",
            "jump_factor",
            "bcf_hysteresis_px",
            "progressive_window_s",
            "head_box_um",
        ):
            d[k] = float(d[k])
        for k in ("jump_speed", "max_vap"):
            d[k] = None if d[k] is None else float(d[k])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> CasaConfig:
        """The inverse of :meth:`to_dict`; unknown keys are refused with the known ones named."""
        if not isinstance(d, dict):
            raise CasaConfigError(f"CASA settings must be a mapping of settings, got {type(d).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise CasaConfigError(f"unknown CASA setting(s) {unknown}; known: {sorted(names)}")
        d = dict(d)
        if isinstance(d.get("thresholds"), dict):
            d["thresholds"] = _nested(MotilityThresholds, d["thresholds"], "thresholds")
        if isinstance(d.get("criteria"), dict):
            d["criteria"] = _nested(PatternCriteria, d["criteria"], "criteria")
        return cls(**d)


def _nested(kind, d: dict, name: str):
    known = {f.name for f in dataclasses.fields(kind)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise CasaConfigError(f"unknown {name} setting(s) {unknown}; known: {sorted(known)}")
    return kind(**d)


def _check_number(name: str, value, allow_zero: bool) -> None:
    if isinstance(value, bool):
        raise CasaConfigError(f"{name} must be a number, got {shown(value)}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise CasaConfigError(f"{name} must be a number, got {shown(value)}") from None
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise CasaConfigError(f"{name} must be a finite number {'>=' if allow_zero else '>'} 0, got {shown(value)}")
