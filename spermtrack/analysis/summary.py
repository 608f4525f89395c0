"""The sample summary of an analysis: the content of ``summary.json`` and of the report (:func:`build_summary`).

Other modules (the HTML report, ``batch``'s ``summary.csv``) read its keys: a key is
added, never renamed or removed without a deprecation.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from ..boxes import CLASS_NAMES, SPERM
from ..jsonutil import to_jsonable
from .calibration import VISEM_NOTE

if TYPE_CHECKING:  # pragma: no cover
    from .config import AnalysisConfig
    from .result import Analysis

#: µm³ in one millilitre.
UM3_PER_ML = 1e12


def concentration(analysis: Analysis, chamber_depth_um: float | None) -> dict:
    """Sperm concentration in the chamber, 10^6 cells per mL, from the mean count per frame.

    ``mean_cells_per_frame`` is the mean number of sperm-class boxes of confirmed tracks per
    frame (clusters and pinheads left out); the volume seen is the frame's area (width x
    height x µm per pixel², µm²) times the chamber depth (µm); 1 mL = 10^12 µm³. Computed
    only with a calibration and a depth; otherwise every number is None and ``note`` says
    why. Cells that are never detected or tracked (out of focus, stuck in a cluster) are
    not counted, so the value is a lower bound of what a counting chamber would give.
    """
    cal = analysis.calibration
    w, h = analysis.image_size
    out = {
        "per_ml_millions": None,
        "chamber_depth_um": chamber_depth_um,
        "field_area_um2": None,
        "mean_cells_per_frame": None,
        "note": "",
    }
    n = int(analysis.num_frames)
    if n > 0:
        tracks = analysis.tracks
        sperm = tracks.frame[tracks.cls == SPERM] if len(tracks) else np.zeros(0, np.int32)
        out["mean_cells_per_frame"] = float(len(sperm) / n)
    if not cal.calibrated:
        out["note"] = "not computed: uncalibrated (the field area needs --um-per-px)"
        return out
    out["field_area_um2"] = float(w * h * cal.um_per_px**2)
    if chamber_depth_um is None:
        out["note"] = "not computed: no chamber depth given (--chamber-depth-um, e.g. 10 or 20 µm)"
        return out
    if out["mean_cells_per_frame"] is None:
        out["note"] = "not computed: no frames"
        return out
    volume_um3 = out["field_area_um2"] * float(chamber_depth_um)
    out["per_ml_millions"] = out["mean_cells_per_frame"] / volume_um3 * UM3_PER_ML / 1e6
    out["note"] = "mean sperm heads tracked per frame / (field area x chamber depth); cells never detected are not counted"
    return out


def build_summary(analysis: Analysis, n_fastest: int = 5, config: AnalysisConfig | None = None) -> dict:
    """The sample summary of an analysis: the content of ``summary.json`` and of the report.

    Keys
    ----
    spermtrack_version, created (ISO time), source, detector
    warnings : why the result may be unreliable (plain sentences with what to do)
    look : the measured look of the video (polarity, head size; None without self-calibration)
    detection_check : the facts behind the detection warnings
    calibration : um_per_px, fps, length_unit, speed_unit, calibrated, origin, note
    calibration.fps_source, video.fps_source : how the frame rate was obtained: "user" (--fps),
        "container" (stated by the video file), "timestamps" (derived from its packet times),
        "spermtrack.json" (a written VISEM folder); never guessed (docs/reliability.md)
    video : num_frames, fps, fps_source, duration_s, width, height
    counts : detections, tracked_boxes, tracks, valid_tracks, mean_boxes_per_frame
    counts : detections, tracked_boxes, tracks (all classes), tracks_per_class, graded_tracks
        (the tracks of the graded classes: sperm), valid_tracks (graded tracks with quality "ok"),
        invalid_tracks (per quality flag), mean_boxes_per_frame (detections)
    graded_classes : the classes graded and ranked (sperm; clusters and pinheads are not)
    motility : WHO grade -> {count (tracks), percent (weighted by each track's time in view),
        ci95 ([low, high], 95 %), percent_of_tracks} over the valid sperm tracks (percents
        ``None`` without a calibration: WHO grades are defined in µm/s); see
        :func:`spermtrack.kinematics.summarize`
    progressive_percent, total_motility_percent, immotile_percent : PR, PR + NP, IM (percent or
        None), each with ``..._ci95``
    shares : how the shares were weighted, the effective number of cells of the intervals, and
        the WHO's minimum per assessment (200)
    speeds : each kinematics column -> {mean, median} over the valid tracks, weighted by time in view
    units : length, speed, frequency, angle, ratio units of the kinematics
    kinematics_summary : the full output of :func:`spermtrack.kinematics.summarize`
    fastest_by, fastest_min_duration_s, fastest : the ranked table as a list of rows
        (``n_fastest`` rows at most)
    tracker : the tracker settings
    timings_s : busy seconds per stage and total wall seconds
    frame_times, tracker_calibration : the video's time base and the tracker's motion calibration
    concentration : per_ml_millions (10^6 cells/mL), chamber_depth_um, field_area_um2 (µm²),
        mean_cells_per_frame, note; the numbers are None (and the note says why) without a
        calibration or without ``config.chamber_depth_um`` (see :func:`concentration`)
    config : every setting of the run (:meth:`AnalysisConfig.to_dict`); ``spermtrack analyze
        SOURCE --config summary.json`` reruns it

    Every number comes from :func:`spermtrack.kinematics.summarize` and
    :func:`spermtrack.kinematics.fastest` applied to ``analysis.kinematics`` (the
    rows of ``kinematics.csv``).
    """
    from .._version import __version__
    from ..kinematics import summarize

    config = config or analysis.config
    cal = analysis.calibration
    kin = analysis.kinematics
    ksum = summarize(kin)
    fastest = analysis.fastest(n=n_fastest)
    w, h = analysis.image_size
    counts_per_frame = analysis.detections.counts_per_frame() if analysis.num_frames else np.zeros(0)
    note = VISEM_NOTE if "VISEM" in analysis.calibration_origin else ""
    if not cal.calibrated:
        note = "Uncalibrated: lengths in pixels and speeds in px/s, no WHO grades; pass --um-per-px (see docs/calibration.md)."
    motility = ksum["motility"]
    grades = {g: v for g, v in motility.items() if isinstance(v, Mapping)}
    summary = {
        "spermtrack_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "source": str(analysis.source),
        "detector": analysis.detector,
        "warnings": list(analysis.warnings),
        "look": analysis.look,
        "detection_check": analysis.detection_check,
        "calibration": {
            **cal.to_dict(),
            "calibrated": cal.calibrated,
            "origin": analysis.calibration_origin,
            "fps_source": analysis.fps_source,
            "note": note,
        },
        "video": {
            "num_frames": int(analysis.num_frames),
            "fps": cal.fps,
            "fps_source": analysis.fps_source,
            "duration_s": analysis.num_frames / cal.fps,
            "width": int(w),
            "height": int(h),
        },
        "counts": {
            "detections": len(analysis.detections),
            "tracked_boxes": len(analysis.tracks),
            "tracks": len(kin),
            "tracks_per_class": {name: int((kin["cls"] == c).sum()) for c, name in enumerate(CLASS_NAMES)}
            if "cls" in kin
            else {},
            "graded_tracks": int(ksum["n_tracks"]),
            "valid_tracks": int(ksum["n_valid"]),
            "invalid_tracks": dict(ksum["invalid"]),
            "mean_boxes_per_frame": float(counts_per_frame.mean()) if counts_per_frame.size else 0.0,
        },
        "graded_classes": [CLASS_NAMES[c] if 0 <= c < len(CLASS_NAMES) else str(c) for c in (ksum.get("classes") or [])],
        "motility": {g: {**v, "count": int(v["count"])} for g, v in grades.items()},
        "progressive_percent": motility.get("progressive_percent"),
        "progressive_ci95": motility.get("progressive_ci95"),
        "total_motility_percent": motility.get("total_motility_percent"),
        "total_motility_ci95": motility.get("total_motility_ci95"),
        "immotile_percent": motility.get("immotile_percent"),
        "immotile_ci95": motility.get("immotile_ci95"),
        "shares": ksum["shares"],
        "speeds": {c: {"mean": ksum["mean"].get(c), "median": ksum["median"].get(c)} for c in ksum["mean"]},
        "units": {**ksum["units"], "box": "px", "time": "s"},
        "kinematics_summary": ksum,
        "fastest_by": analysis.fastest_by,
        "fastest_min_duration_s": analysis.fastest_min_duration_s,
        "fastest": fastest.to_dict(orient="records"),
        "tracker": analysis.tracker_config.to_dict()
        if hasattr(analysis.tracker_config, "to_dict")
        else str(analysis.tracker_config),
        "timings_s": dict(analysis.timings),
        # timebase (tracker branch): repeated frames, effective frame rate, how the times were found
        "frame_times": None if analysis.frame_times is None else analysis.frame_times.to_dict(),
        "tracker_calibration": analysis.tracker_calibration,
        "concentration": concentration(analysis, config.chamber_depth_um),
        "config": config.to_dict(),
    }
    return to_jsonable(summary)


__all__ = ["UM3_PER_ML", "build_summary", "concentration"]
