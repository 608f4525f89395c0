"""Former home of :func:`analyze` and its result; the code now lives in :mod:`spermtrack.analysis`.

This module re-exports the old names so that ``from spermtrack.pipeline import analyze``
keeps working: :func:`analyze`, :class:`Analysis`, :func:`build_summary`,
:func:`resolve_calibration`, :func:`fps_source_of`, :data:`STAGES`, :data:`OUTPUT_FILES`,
:data:`VISEM_NOTE`, and :func:`analysis_settings` / :func:`output_settings` /
:func:`tracker_settings`, which now return parts of :meth:`AnalysisConfig.to_dict`.
New code imports from :mod:`spermtrack.analysis`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .analysis.calibration import VISEM_NOTE, fps_source_of, resolve_calibration
from .analysis.config import AnalysisConfig
from .analysis.outputs import OUTPUT_FILES, output_settings
from .analysis.result import Analysis
from .analysis.run import STAGES, analyze
from .analysis.summary import build_summary
from .calibration import Calibration


def analysis_settings(
    detector="auto",
    calibration: Calibration | None = None,
    tracker=None,
    *,
    detector_options: Mapping[str, Any] | None = None,
    um_per_px: float | None = None,
    fps: float | None = None,
    visem_calibration: bool = False,
    batch_size: int = 8,
    max_frames: int | None = None,
    fastest_by: str = "vsl",
    min_duration_s: float = AnalysisConfig.min_duration_s,
    kinematics_options: Mapping[str, Any] | None = None,
) -> dict:
    """The settings of an :func:`analyze` call with these arguments: its config's ``to_dict()``."""
    return analysis_config(
        detector,
        calibration,
        tracker,
        detector_options=detector_options,
        um_per_px=um_per_px,
        fps=fps,
        visem_calibration=visem_calibration or None,
        batch_size=batch_size,
        max_frames=max_frames,
        fastest_by=fastest_by,
        min_duration_s=min_duration_s,
        kinematics_options=kinematics_options,
    ).to_dict()


def analysis_config(detector="auto", calibration: Calibration | None = None, tracker=None, **keywords: Any) -> AnalysisConfig:
    """The :class:`AnalysisConfig` that :func:`analyze` builds from its old keywords."""
    from .analysis.run import _settle

    names = ("detector_options", "um_per_px", "fps", "visem_calibration", "kinematics_options")
    known = {k: keywords.pop(k, None) for k in names}
    config, _, _, _ = _settle(
        None,
        detector,
        calibration,
        tracker,
        known["detector_options"],
        known["um_per_px"],
        known["fps"],
        known["visem_calibration"],
        known["kinematics_options"],
        keywords,
    )
    return config


def tracker_settings(tracker) -> dict:
    """The tracker settings (``TrackerConfig.to_dict()``) of anything :func:`analyze` takes as ``tracker``."""
    return analysis_config(tracker=tracker).tracker.to_dict()


__all__ = [
    "OUTPUT_FILES",
    "STAGES",
    "VISEM_NOTE",
    "Analysis",
    "analysis_config",
    "analysis_settings",
    "analyze",
    "build_summary",
    "fps_source_of",
    "output_settings",
    "resolve_calibration",
    "tracker_settings",
]
