"""Multi-sperm tracking: Numba Kalman filter + Hungarian assignment.

- :func:`track` tracks a whole video (offline; gap closing, interpolation).
- :class:`Tracker` tracks frame by frame (streaming).
- :class:`TrackerConfig` holds the settings (times in seconds, see docs/tracking.md).
- :func:`linear_sum_assignment` is the Numba assignment solver, a drop-in for SciPy's.
"""

from .assignment import linear_sum_assignment
from .config import TrackerConfig, TrackerConfigError
from .offline import track
from .tracker import Tracker

__all__ = ["Tracker", "TrackerConfig", "TrackerConfigError", "linear_sum_assignment", "track"]
