"""The analysis of one video: settings, the streaming loop, the result, its summary and its files.

One module per job:

- :mod:`~spermtrack.analysis.config`: :class:`AnalysisConfig`, every setting of a run (detector
  spec, tracker, CASA, calibration request, frame limits, ranking, chamber depth, outputs), frozen,
  validated, JSON round-trip; the CLI builds its flags from its fields
  (:mod:`~spermtrack.analysis.options`);
- :mod:`~spermtrack.analysis.calibration`: which µm per pixel and frame rate, and where they came from;
- :mod:`~spermtrack.analysis.run`: :func:`analyze`, the streaming loop (decode, detect, track overlapped);
- :mod:`~spermtrack.analysis.result`: :class:`Analysis`, the result as plain data;
- :mod:`~spermtrack.analysis.summary`: the ``summary.json`` schema (:func:`build_summary`);
- :mod:`~spermtrack.analysis.outputs`: the files of a result (:func:`save`).
"""

from .calibration import VISEM_NOTE, fps_source_of, resolve_calibration
from .config import AnalysisConfig, AnalysisConfigError, CalibrationRequest, OutputOptions
from .options import add_config_arguments, config_from_args
from .outputs import OUTPUT_FILES, save
from .result import Analysis
from .run import STAGES, analyze
from .summary import build_summary, concentration

__all__ = [
    "OUTPUT_FILES",
    "STAGES",
    "VISEM_NOTE",
    "Analysis",
    "AnalysisConfig",
    "AnalysisConfigError",
    "CalibrationRequest",
    "OutputOptions",
    "add_config_arguments",
    "analyze",
    "build_summary",
    "concentration",
    "config_from_args",
    "fps_source_of",
    "resolve_calibration",
    "save",
]
