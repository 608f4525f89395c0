"""CASA kinematics: speeds in µm/s, WHO motility classes, path patterns, the fastest sperm.

- :func:`casa` (tracks, calibration) -> DataFrame, one row per track;
- :func:`summarize` (kinematics) -> dict: WHO class percentages, mean/median kinematics;
- :func:`fastest` (kinematics, by="vsl", n=10) -> the fastest tracks behind quality gates;
- :func:`write_kinematics_csv` / :func:`read_kinematics_csv` -> ``kinematics.csv`` with units in the headers;
- :func:`average_path` (t, x, y) -> the smoothed path CASA measures VAP, ALH, BCF against.

Definitions, conventions, sources and measured accuracy: docs/kinematics.md.
"""

from .casa import COLUMNS, casa, median_box_px, uncalibrated_warning
from .config import HEAD_BOX_UM, CasaConfig, CasaConfigError, UncalibratedWarning
from .export import read_kinematics_csv, write_kinematics_csv
from .motility import MOTILITY_CLASSES, MotilityThresholds, classify_motility
from .patterns import PATTERNS, PatternCriteria, classify_pattern
from .ranking import fastest
from .smoothing import DEFAULT_SMOOTHING_S, average_path
from .summary import summarize

__all__ = [
    "casa",
    "CasaConfig",
    "CasaConfigError",
    "UncalibratedWarning",
    "HEAD_BOX_UM",
    "median_box_px",
    "uncalibrated_warning",
    "summarize",
    "fastest",
    "write_kinematics_csv",
    "read_kinematics_csv",
    "average_path",
    "COLUMNS",
    "MOTILITY_CLASSES",
    "PATTERNS",
    "MotilityThresholds",
    "PatternCriteria",
    "classify_motility",
    "classify_pattern",
    "DEFAULT_SMOOTHING_S",
]
