"""CASA kinematics: speeds in µm/s, WHO motility classes, path patterns, the fastest sperm.

- :func:`casa` (tracks, calibration) -> DataFrame, one row per track;
- :func:`summarize` (kinematics) -> dict: WHO class percentages, mean/median kinematics;
- :func:`fastest` (kinematics, by="vsl", n=10) -> the fastest tracks behind quality gates;
- :func:`average_path` (t, x, y) -> the smoothed path CASA measures VAP, ALH, BCF against.

Definitions, conventions, sources and measured accuracy: docs/kinematics.md.
"""

from .casa import COLUMNS, casa
from .config import CasaConfig, CasaConfigError
from .motility import MOTILITY_CLASSES, MotilityThresholds, classify_motility
from .patterns import PATTERNS, PatternCriteria, classify_pattern
from .ranking import fastest
from .smoothing import DEFAULT_SMOOTHING_S, average_path
from .summary import summarize

__all__ = [
    "casa",
    "CasaConfig",
    "CasaConfigError",
    "summarize",
    "fastest",
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
