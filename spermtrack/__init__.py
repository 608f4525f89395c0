"""spermtrack: multi-object tracking of human spermatozoa in microscope videos.

The main objects are :class:`Boxes` (the one table of boxes every stage reads
and writes) and :class:`Calibration` (µm per pixel and frames per second).
Sub-packages: :mod:`spermtrack.io` (VISEM-Tracking, MOTChallenge, frame
sources), :mod:`spermtrack.detect`, :mod:`spermtrack.track`,
:mod:`spermtrack.kinematics`, :mod:`spermtrack.evaluate`,
:mod:`spermtrack.simulate`, :mod:`spermtrack.viz`; :func:`analyze` and its
:class:`AnalysisConfig` live in :mod:`spermtrack.analysis`.
"""

from ._version import __version__
from .boxes import CLASS_NAMES, CLUSTER, PINHEAD, SPERM, UNTRACKED, Boxes
from .calibration import Calibration
from .errors import (
    BoxesError,
    CalibrationError,
    DatasetError,
    FormatError,
    MissingDependencyError,
    SpermtrackError,
    VideoError,
)
from .pipeline import Analysis, analyze

__all__ = [
    "Analysis",
    "AnalysisConfig",
    "analyze",
    "Boxes",
    "Calibration",
    "CLASS_NAMES",
    "SPERM",
    "CLUSTER",
    "PINHEAD",
    "UNTRACKED",
    "SpermtrackError",
    "BoxesError",
    "CalibrationError",
    "DatasetError",
    "FormatError",
    "MissingDependencyError",
    "VideoError",
    "__version__",
]


def __getattr__(name: str):
    """:class:`~spermtrack.analysis.config.AnalysisConfig`, read from :mod:`spermtrack.analysis` on first use."""
    if name == "AnalysisConfig":
        from .analysis import AnalysisConfig

        return AnalysisConfig
    raise AttributeError(f"module 'spermtrack' has no attribute {name!r}")
