"""Spatial and temporal calibration: micrometres per pixel and frames per second."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import CalibrationError

#: Estimated µm per pixel of VISEM-Tracking videos: the UEye UI-2210C camera's 9.9 µm
#: pixels behind a 40x objective (Olympus CX31 at 400x). Not a measured calibration;
#: see docs/calibration.md for its uncertainty.
VISEM_UM_PER_PX = 0.25
#: Nominal frame rate of VISEM-Tracking videos (1470 frames in 30 s; some have 1440 or 1500).
VISEM_FPS = 50.0

# Plausible ranges. Outside them a value is almost certainly a unit mistake (µm/px given
# as px/µm, a magnification typed as µm/px, milliseconds per frame typed as fps).
_UM_PER_PX_RANGE = (0.01, 20.0)
_FPS_RANGE = (0.1, 10_000.0)


@dataclass(frozen=True)
class Calibration:
    """How to turn pixels and frames into micrometres and seconds.

    Parameters
    ----------
    um_per_px : float or None
        Size of one pixel in the specimen plane, in µm. ``None`` means uncalibrated:
        lengths stay in pixels and speeds in pixels per second.
    fps : float
        Frames per second of the video.
    strict : bool
        Reject values outside plausible ranges (µm/px in [0.01, 20], fps in [0.1, 10000])
        as probable unit mistakes. Set False for unusual set-ups.

    Examples
    --------
    >>> c = Calibration(0.25, 50.0)
    >>> c.px_to_um(40.0), c.frames_to_s(25), c.speed_unit
    (10.0, 0.5, 'µm/s')
    >>> Calibration(None, 50.0).speed_unit
    'px/s'
    """

    um_per_px: float | None
    fps: float
    strict: bool = True

    def __post_init__(self) -> None:
        fps = _number("fps", self.fps)
        if fps <= 0:
            raise CalibrationError(f"fps must be > 0, got {fps:g}")
        if self.strict and not _FPS_RANGE[0] <= fps <= _FPS_RANGE[1]:
            raise CalibrationError(
                f"fps={fps:g} is outside the plausible range {_FPS_RANGE[0]:g}-{_FPS_RANGE[1]:g} frames per second; "
                "check the value (in Python, Calibration(..., strict=False) accepts it if it really is your camera's rate)"
            )
        object.__setattr__(self, "fps", fps)
        if self.um_per_px is not None:
            um = _number("um_per_px", self.um_per_px)
            if um <= 0:
                raise CalibrationError(f"um_per_px must be > 0, got {um:g}")
            if self.strict and not _UM_PER_PX_RANGE[0] <= um <= _UM_PER_PX_RANGE[1]:
                raise CalibrationError(
                    f"um_per_px={um:g} µm per pixel is outside the plausible range "
                    f"{_UM_PER_PX_RANGE[0]:g}-{_UM_PER_PX_RANGE[1]:g} for a sperm microscope (did you pass pixels per µm, "
                    "or the magnification?); in Python, Calibration(..., strict=False) accepts it"
                )
            object.__setattr__(self, "um_per_px", um)

    @classmethod
    def visem(cls, fps: float = VISEM_FPS) -> Calibration:
        """The estimated VISEM-Tracking calibration (0.25 µm/px, an estimate) at ``fps``."""
        return cls(VISEM_UM_PER_PX, fps)

    @property
    def calibrated(self) -> bool:
        """True when lengths can be given in µm."""
        return self.um_per_px is not None

    @property
    def scale(self) -> float:
        """Length units per pixel: µm per pixel, or 1 when uncalibrated."""
        return 1.0 if self.um_per_px is None else self.um_per_px

    @property
    def length_unit(self) -> str:
        """'µm' or 'px'."""
        return "µm" if self.calibrated else "px"

    @property
    def speed_unit(self) -> str:
        """'µm/s' or 'px/s'."""
        return f"{self.length_unit}/s"

    @property
    def dt(self) -> float:
        """Seconds per frame."""
        return 1.0 / self.fps

    def px_to_um(self, value):
        """Pixels to µm (identity when uncalibrated); works on scalars and arrays."""
        return value * self.scale

    def um_to_px(self, value):
        """µm to pixels; raises when uncalibrated."""
        if self.um_per_px is None:
            raise CalibrationError("cannot convert µm to pixels without um_per_px")
        return value / self.um_per_px

    def frames_to_s(self, frames):
        """Frame counts (or indices) to seconds."""
        return frames / self.fps

    def s_to_frames(self, seconds: float) -> int:
        """Seconds to a whole number of frames (rounded, at least 1)."""
        return max(1, int(round(seconds * self.fps)))

    def to_dict(self) -> dict:
        """JSON-ready dict with units."""
        return {"um_per_px": self.um_per_px, "fps": self.fps, "length_unit": self.length_unit, "speed_unit": self.speed_unit}


def _number(name: str, value) -> float:
    if isinstance(value, bool):  # True would pass as 1.0
        raise CalibrationError(f"{name} must be a number, got {value!r}")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise CalibrationError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(out):
        raise CalibrationError(f"{name} must be finite, got {value!r}")
    return out
