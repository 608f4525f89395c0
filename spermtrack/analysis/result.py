"""The result of :func:`spermtrack.analyze`: :class:`Analysis`, plain data.

Writing it is :mod:`spermtrack.analysis.outputs`' job and its ``summary.json``
:mod:`spermtrack.analysis.summary`'s; the methods here only delegate to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..boxes import Boxes
from ..calibration import Calibration
from .config import AnalysisConfig

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


@dataclass
class Analysis:
    """The result of :func:`~spermtrack.analyze`.

    Attributes
    ----------
    source : str
        What was analysed (path, or a description of frames in memory).
    tracks : Boxes
        Boxes of confirmed tracks (``track_id`` from 1), pixels, 0-based frames.
    detections : Boxes
        Every detection, untracked.
    kinematics : pandas.DataFrame
        One row per track (:func:`spermtrack.kinematics.casa`), units in ``attrs``.
    calibration : Calibration
    calibration_origin : str
        Where the calibration came from (user, video, VISEM estimate, ...).
    detector : str
        Name of the detector used.
    config : AnalysisConfig
        Every setting of the run; ``summary.json`` records it and ``--config`` reads it back.
    image_size : (width, height)
        Frame size in pixels.
    num_frames : int
        Frames analysed.
    first_frame : ndarray (H, W, 3) uint8 BGR or None
        Frame 0 (the background of the trajectory plot); no other frame is kept.
    timings : dict str -> float
        Busy seconds of each stage (``decode``, ``detect``, ``track``, ``kinematics``) and
        ``total`` wall seconds.
    fps_source : str
        How the frame rate was obtained: ``"user"``, ``"container"``, ``"timestamps"``
        (docs/reliability.md), or ``"spermtrack.json"`` for a written VISEM folder.
    look : dict or None
        The video's look as the detector's self-calibration measured it (head polarity, head
        box size in pixels, where each value came from), None for detectors that do not calibrate.
    detection_check : dict or None
        Facts the plausibility warnings are drawn from (:class:`~spermtrack.detect.quality.DetectionCheck`).
    warnings : list of str
        Why the result may be unreliable, each with what to do (empty when nothing is suspect).
    frame_times : spermtrack.timebase.FrameTimes or None
        The video's true time base (repeated frames, effective frame rate).
    tracker_calibration : dict or None
        The tracker's motion self-calibration.
    """

    source: str
    tracks: Boxes
    detections: Boxes
    kinematics: pd.DataFrame
    calibration: Calibration
    calibration_origin: str
    detector: str
    config: AnalysisConfig
    image_size: tuple[int, int]
    num_frames: int
    first_frame: np.ndarray | None = None
    timings: dict[str, float] = field(default_factory=dict)
    fps_source: str = "unknown"
    look: dict | None = None
    detection_check: dict | None = None
    warnings: list[str] = field(default_factory=list)
    frame_times: Any = None
    tracker_calibration: dict | None = None
    _summary: dict | None = field(default=None, repr=False)
    #: The frames of an in-memory source (array, list; spermtrack.io.stack), for the overlay's second pass.
    _frames: Any = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (
            f"Analysis(source={self.source!r}, frames={self.num_frames}, tracks={len(self.tracks.unique_tracks())}, "
            f"detector={self.detector!r}, speed_unit={self.calibration.speed_unit!r})"
        )

    # ------------------------------------------------------------------ settings, read from the config
    @property
    def tracker_config(self):
        """The :class:`~spermtrack.track.TrackerConfig` the tracks were made with."""
        return self.config.tracker

    @property
    def max_frames(self) -> int | None:
        """The frame limit the analysis ran with (the overlay pass stops there too)."""
        return self.config.max_frames

    @property
    def fastest_by(self) -> str:
        """Default ranking speed of :meth:`fastest` (``config.fastest_by``)."""
        return self.config.fastest_by

    @property
    def fastest_min_duration_s(self) -> float:
        """Default shortest ranked track of :meth:`fastest`, seconds (``config.min_duration_s``)."""
        return self.config.min_duration_s

    @property
    def settings(self) -> dict:
        """Every setting of the run as JSON values (``config.to_dict()``), as the completion marker records it."""
        return self.config.to_dict()

    # ------------------------------------------------------------------ results
    def fastest(self, n: int | None = None, by: str | None = None, min_duration_s: float | None = None) -> pd.DataFrame:
        """The ``n`` fastest sperm (``config.top`` by default), ranked by ``by`` (``config.fastest_by``)
        among tracks passing the quality gates.

        See :func:`spermtrack.kinematics.fastest`; speeds are in ``self.calibration.speed_unit``.
        """
        from ..kinematics import fastest

        return fastest(
            self.kinematics,
            by=by or self.fastest_by,
            n=self.config.top if n is None else n,
            min_duration_s=self.fastest_min_duration_s if min_duration_s is None else min_duration_s,
        )

    @property
    def summary(self) -> dict:
        """The sample summary (the content of ``summary.json``; see :func:`~spermtrack.analysis.summary.build_summary`)."""
        if self._summary is None:
            from .summary import build_summary

            self._summary = build_summary(self)
        return self._summary

    # ------------------------------------------------------------------ outputs (spermtrack.analysis.outputs)
    def save(
        self,
        out_dir: str | Path,
        overlay: bool | None = None,
        report: bool | None = None,
        style=None,
        embed_video: bool | None = None,
        progress: bool = False,
        highlight: int | None = None,
        force: bool = False,
    ) -> dict[str, Path]:
        """Write every output into ``out_dir`` as one transaction: :func:`spermtrack.analysis.outputs.save`.

        Output options left at None come from ``config.outputs``.
        """
        from .outputs import save

        return save(self, out_dir, overlay, report, style, embed_video, progress, highlight, force)

    def render_overlay(self, path: str | Path, style=None, progress: bool = False, highlight: int | None = None) -> Path:
        """Draw the tracks over the source's frames into an H.264 MP4: :func:`spermtrack.analysis.outputs.render_overlay`."""
        from .outputs import render_overlay

        return render_overlay(self, path, style=style, progress=progress, highlight=highlight)

    def valid_kinematics(self) -> pd.DataFrame:
        """Rows of the graded (sperm) tracks that pass the quality gates, as the summary counts them."""
        return valid_sperm_rows(self.kinematics)


def valid_sperm_rows(kin: pd.DataFrame) -> pd.DataFrame:
    """Rows of a kinematics table (:func:`spermtrack.kinematics.casa`) of the graded (sperm) tracks
    that pass the quality gates, as ``summary["counts"]["valid_tracks"]`` counts them."""
    from ..boxes import SPERM

    keep = np.ones(len(kin), bool)
    if "quality" in kin:
        keep &= (kin["quality"] == "ok").to_numpy()
    if "cls" in kin:
        keep &= (kin["cls"] == SPERM).to_numpy()
    return kin[keep]
