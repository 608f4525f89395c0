"""From a video to tracks, kinematics, the fastest sperm and a report: :func:`analyze`.

``analyze`` streams the source once, in three overlapped stages:

1. **decode** -- a background thread reads batches of frames from the
   :class:`~spermtrack.io.frames.FrameSource` and keeps a few ready;
2. **detect** -- the detector takes each batch as it comes (this thread);
3. **track** -- a second background thread feeds each frame's boxes to a
   streaming :class:`~spermtrack.track.Tracker`.

No frame is kept (memory is bounded by a few batches whatever the length of the
video); then the whole-video clean-up of the tracker (gap closing, short-track
removal, interpolation; as :func:`spermtrack.track.track`) and the CASA
kinematics run on the tracks. :meth:`Analysis.save` writes every output; the
overlay video is drawn in a second pass over the source.

Each stage's busy time is measured (``Analysis.timings``, seconds). The stages
overlap, so their sum can exceed the wall time (``timings["total"]``).
"""

from __future__ import annotations

import datetime as _dt
import itertools
import json
import math
import queue
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .atomic import atomic_dir, atomic_open
from .boxes import CLASS_NAMES, SPERM, Boxes
from .calibration import VISEM_UM_PER_PX, Calibration
from .errors import CalibrationError, SpermtrackError, VideoError
from .jsonutil import to_jsonable

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: Names of the timed stages, in pipeline order.
STAGES = ("decode", "detect", "track", "kinematics")

#: Every file and folder :meth:`Analysis.save` writes (with the overlay and report on).
OUTPUT_FILES = ("tracks.txt", "labels_ftid", "kinematics.csv", "summary.json", "overlay.mp4", "plots", "report.html")

VISEM_NOTE = (
    "Calibration is the VISEM-Tracking estimate (9.9 µm camera pixels behind a 40x objective = 0.25 µm/px), "
    "not a measurement: the camera adapter's magnification is unknown, so µm values may be off by a constant "
    "factor (see docs/calibration.md)."
)


# ---------------------------------------------------------------------------- calibration
#: How a source's frame rate was obtained -> the words added to the calibration's origin.
_FPS_ORIGINS = {
    "container": " (stated by its container)",
    "timestamps": " (derived from its packet timestamps)",
    "spermtrack.json": " (from its spermtrack.json)",
}


def fps_source_of(fps: float | None, source_fps_source: str | None) -> str:
    """``"user"`` when the user gave the rate, else how the source's was obtained (``"container"``, ...)."""
    return "user" if fps is not None else (source_fps_source or "unknown")


def resolve_calibration(
    source_fps: float | None,
    calibration: Calibration | None = None,
    um_per_px: float | None = None,
    fps: float | None = None,
    visem_calibration: bool = False,
    source: object = "the source",
    fps_source: str | None = None,
) -> tuple[Calibration, str]:
    """The calibration of an analysis and a phrase saying where it came from.

    Priority: an explicit ``calibration``; else ``um_per_px``/``fps`` given by the
    user, the frame rate of the video otherwise; µm per pixel from the user, the
    VISEM-Tracking estimate only when ``visem_calibration`` is asked for, and
    otherwise none (results in pixels, said everywhere). ``fps_source`` says how
    the source's rate was obtained (``"container"``, ``"timestamps"``, ...; see
    :func:`spermtrack.io.frames.probe_video`); it is named in the phrase.

    >>> resolve_calibration(50.0)
    (Calibration(um_per_px=None, fps=50.0, strict=True), 'uncalibrated; frame rate of the video')
    >>> resolve_calibration(None, um_per_px=0.5, fps=25)[1]
    'µm per pixel given by the user; frame rate given by the user'
    """
    if calibration is not None:
        if um_per_px is not None or fps is not None or visem_calibration:
            raise CalibrationError("give either a Calibration or um_per_px/fps/visem_calibration, not both")
        if not isinstance(calibration, Calibration):
            raise CalibrationError(f"calibration must be a spermtrack.Calibration, got {type(calibration).__name__}")
        return calibration, "given by the user"
    if um_per_px is not None and visem_calibration:
        raise CalibrationError("give either um_per_px (--um-per-px) or the VISEM estimate (--visem-calibration), not both")
    if fps is not None:
        rate, fps_origin = float(fps), "frame rate given by the user"
    elif source_fps:
        rate, fps_origin = float(source_fps), "frame rate of the video" + _FPS_ORIGINS.get(fps_source or "", "")
    else:
        raise CalibrationError(
            f"{source}: the frame rate is unknown (an image folder, a raw stream, or a container that states none and "
            "has no timestamps); pass --fps F (API: fps=F), the camera's frames per second; VISEM-Tracking videos "
            "run at about 50"
        )
    if um_per_px is not None:
        return Calibration(um_per_px, rate), f"µm per pixel given by the user; {fps_origin}"
    if visem_calibration:
        return Calibration(VISEM_UM_PER_PX, rate), f"VISEM-Tracking estimate of µm per pixel; {fps_origin}"
    return Calibration(None, rate), f"uncalibrated; {fps_origin}"


# ---------------------------------------------------------------------------- the result
@dataclass
class Analysis:
    """The result of :func:`analyze`.

    Attributes
    ----------
    source : str
        What was analysed (path).
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
    tracker_config : TrackerConfig
    image_size : (width, height)
        Frame size in pixels.
    num_frames : int
        Frames analysed.
    first_frame : ndarray (H, W, 3) uint8 BGR or None
        Frame 0 (the background of the trajectory plot); no other frame is kept.
    timings : dict str -> float
        Busy seconds of each stage (:data:`STAGES`) and ``total`` wall seconds.
    max_frames : int or None
        The frame limit the analysis ran with (the overlay pass stops there too).
    fastest_by, fastest_min_duration_s
        Defaults of :meth:`fastest` (VSL, tracks of at least 1 s).
    fps_source : str
        How the frame rate was obtained: ``"user"``, ``"container"``, ``"timestamps"``
        (docs/reliability.md), or ``"spermtrack.json"`` for a written VISEM folder.
    settings : dict
        Every setting of the run (:func:`analysis_settings`), recorded in the
        completion marker of a saved result.
    look : dict or None
        The video's look as the detector's self-calibration measured it (head polarity, head
        box size in pixels, where each value came from; :class:`~spermtrack.detect.calibrate.LookEstimate`),
        None for detectors that do not calibrate.
    detection_check : dict or None
        Facts the plausibility warnings are drawn from (:class:`~spermtrack.detect.quality.DetectionCheck`).
    warnings : list of str
        Why the result may be unreliable, each with what to do (empty when nothing is suspect).
    """

    source: str
    tracks: Boxes
    detections: Boxes
    kinematics: pd.DataFrame
    calibration: Calibration
    calibration_origin: str
    detector: str
    tracker_config: Any
    image_size: tuple[int, int]
    num_frames: int
    first_frame: np.ndarray | None = None
    timings: dict[str, float] = field(default_factory=dict)
    max_frames: int | None = None
    fastest_by: str = "vsl"
    fastest_min_duration_s: float = 1.0
    fps_source: str = "unknown"
    settings: dict = field(default_factory=dict)
    look: dict | None = None
    detection_check: dict | None = None
    warnings: list[str] = field(default_factory=list)
    frame_times: Any = None  # timebase (tracker branch): spermtrack.timebase.FrameTimes of the video
    tracker_calibration: dict | None = None  # tracker branch: the tracker's motion self-calibration
    _summary: dict | None = field(default=None, repr=False)
    #: The frames of an in-memory source (array, list; spermtrack.io.stack), for the overlay's second pass.
    _frames: Any = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (
            f"Analysis(source={self.source!r}, frames={self.num_frames}, tracks={len(self.tracks.unique_tracks())}, "
            f"detector={self.detector!r}, speed_unit={self.calibration.speed_unit!r})"
        )

    # ------------------------------------------------------------------ results
    def fastest(self, n: int = 5, by: str | None = None, min_duration_s: float | None = None) -> pd.DataFrame:
        """The ``n`` fastest sperm, ranked by ``by`` (VSL by default) among tracks passing the quality gates.

        See :func:`spermtrack.kinematics.fastest`; speeds are in ``self.calibration.speed_unit``.
        """
        from .kinematics import fastest

        return fastest(
            self.kinematics,
            by=by or self.fastest_by,
            n=n,
            min_duration_s=self.fastest_min_duration_s if min_duration_s is None else min_duration_s,
        )

    @property
    def summary(self) -> dict:
        """The sample summary (the content of ``summary.json``; see :func:`build_summary`)."""
        if self._summary is None:
            self._summary = build_summary(self)
        return self._summary

    # ------------------------------------------------------------------ outputs
    def save(
        self,
        out_dir: str | Path,
        overlay: bool = True,
        report: bool = True,
        style=None,
        embed_video: bool | None = None,
        progress: bool = False,
        highlight: int = 3,
        force: bool = False,
    ) -> dict[str, Path]:
        """Write every output into ``out_dir`` as one transaction (docs/reliability.md).

        Writes ``tracks.txt`` (MOTChallenge, class in the 8th column),
        ``labels_ftid/`` (VISEM-Tracking track labels, one file per frame with
        boxes), ``kinematics.csv``, ``summary.json``, ``overlay.mp4`` (H.264,
        drawn in a second pass over the source), ``plots/*.png``,
        ``report.html`` and the completion marker ``.spermtrack.json`` (source
        fingerprint, spermtrack version, every setting, every file's size and
        SHA-256). The folder is built under a hidden temporary name and swapped
        into place in one rename at the end, so ``out_dir`` always holds either
        the complete previous result or the complete new one, never a mix; a
        second process writing the same folder is refused.

        Parameters
        ----------
        out_dir : path
            Output folder: new, empty, or an earlier spermtrack result (replaced
            whole). It must not be, contain or lie inside the source.
        overlay : bool
            Render ``overlay.mp4`` (the slowest output: it decodes the video again).
        report : bool
            Write ``plots/`` and ``report.html``.
        style : spermtrack.viz.overlay.OverlayStyle, optional
            Look of the overlay (opacity, trail length, ...).
        embed_video : bool or None
            Embed the video in the report (see :mod:`spermtrack.viz.report`).
        progress : bool
            Progress bars on stderr.
        highlight : int
            Number of fastest sperm highlighted in the video and the trajectory plot.
        force : bool
            Replace a result made from another source.

        Returns
        -------
        dict name -> Path
            Every output written (final paths).

        Raises
        ------
        spermtrack.results.OutputError
            ``out_dir`` overlaps the source, holds files spermtrack did not write,
            or holds the result of another source (without ``force``).
        spermtrack.results.ResultLockedError
            Another process is writing ``out_dir``.
        """
        from .results import result_dir

        settings = {**self.settings, "outputs": output_settings(overlay, report, style, embed_video, highlight)}
        on_disk = self._frames is None  # frames in memory have no file to fingerprint or protect
        if overlay and not on_disk and not hasattr(self._frames, "__len__"):
            raise SpermtrackError(
                f"{self.source}: the overlay video needs a second pass over the frames, which a one-pass iterable cannot give: "
                "save with overlay=False, or analyse an array or a file"
            )
        source = self.source if on_disk else None
        with result_dir(out_dir, kind="analysis", source=source, settings=settings, force=force) as tmp:
            written = self._write_outputs(tmp, overlay, report, style, embed_video, progress, highlight)
        return {name: Path(out_dir) / p.relative_to(tmp) for name, p in written.items()}

    def _write_outputs(self, out: Path, overlay, report, style, embed_video, progress, highlight) -> dict[str, Path]:
        """Write every output into the (temporary) folder ``out``; the report last."""
        from .io.mot import write_mot
        from .results import checkpoint

        paths: dict[str, Path] = {}
        paths["tracks.txt"] = write_mot(out / "tracks.txt", self.tracks, with_class=True)
        checkpoint("tracks.txt written")
        paths["labels_ftid"] = self._write_labels_ftid(out / "labels_ftid")
        checkpoint("labels_ftid written")
        with atomic_open(out / "kinematics.csv", "w", newline="") as fh:
            self.kinematics.to_csv(fh, index=False, float_format="%.6g", lineterminator="\n")
        paths["kinematics.csv"] = out / "kinematics.csv"
        checkpoint("kinematics.csv written")
        summary = self.summary
        top_ids = self._fastest_ids(highlight)
        if overlay:
            paths["overlay.mp4"] = self.render_overlay(out / "overlay.mp4", style=style, progress=progress, highlight=highlight)
            checkpoint("overlay.mp4 written")
        if report:
            from .viz.plots import save_plots
            from .viz.report import write_report

            valid = self._valid_kinematics()
            with atomic_dir(out / "plots", overwrite=True) as tmp:
                plots = save_plots(
                    tmp,
                    self.tracks,
                    valid,
                    {g: v["count"] for g, v in summary["motility"].items()},
                    self.image_size,
                    self.calibration,
                    self.first_frame,
                    top_ids,
                )
            plots = {k: out / "plots" / p.name for k, p in plots.items()}
            paths["plots"] = out / "plots"
            checkpoint("plots written")
        with atomic_open(out / "summary.json", "w") as fh:
            json.dump(to_jsonable(summary), fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        paths["summary.json"] = out / "summary.json"
        checkpoint("summary.json written")
        if report:
            files = [n for n in ("tracks.txt", "kinematics.csv", "summary.json", "overlay.mp4") if n in paths]
            paths["report.html"] = write_report(
                out / "report.html", summary, plots=plots, video=paths.get("overlay.mp4"), embed_video=embed_video, files=files
            )
            checkpoint("report.html written")
        return paths

    def render_overlay(self, path: str | Path, style=None, progress: bool = False, highlight: int = 3) -> Path:
        """Draw the tracks over the source's frames into an H.264 MP4 (a second pass over the source)."""
        from dataclasses import replace

        from .io.frames import open_frames
        from .viz.overlay import OverlayStyle, render_overlay

        style = replace(style or OverlayStyle(), highlight=highlight)
        by, unit = self.fastest_by, self.calibration.speed_unit
        top = self.fastest(n=highlight) if highlight > 0 else None
        labels = (
            {}
            if top is None
            else {int(t): f"#{r} {by.upper()} {v:.0f} {unit}" for t, r, v in zip(top.track_id, top["rank"], top[by])}
        )
        with open_frames(self.source if self._frames is None else self._frames, fps=self.calibration.fps) as src:
            return render_overlay(
                itertools.islice(src, self.num_frames),
                self.tracks,
                path,
                self.calibration,
                fastest=list(labels),
                fastest_labels=labels,
                style=style,
                size=self.image_size,
                total=self.num_frames,
                progress=progress,
            )

    def _fastest_ids(self, n: int) -> list[int]:
        """Track ids of the ``n`` fastest sperm (none when ``n`` is 0)."""
        return [int(t) for t in self.fastest(n=n)["track_id"]] if n > 0 else []

    def _valid_kinematics(self) -> pd.DataFrame:
        """Rows of the graded (sperm) tracks that pass the quality gates, as the summary counts them."""
        kin = self.kinematics
        keep = np.ones(len(kin), bool)
        if "quality" in kin:
            keep &= (kin["quality"] == "ok").to_numpy()
        if "cls" in kin:
            keep &= (kin["cls"] == SPERM).to_numpy()
        return kin[keep]

    def _write_labels_ftid(self, folder: Path) -> Path:
        """``labels_ftid/<vid>_frame_<i>_with_ftid.txt`` as VISEM-Tracking has them (one file per frame with boxes)."""
        from .io.labels import format_label_lines, track_names_for, write_label_files

        vid = _video_id(self.source)
        names = track_names_for(vid, self.tracks)
        _, lines = format_label_lines(self.tracks, self.image_size, names)
        with atomic_dir(folder, overwrite=True) as tmp:
            write_label_files(tmp, vid, self.tracks, lines, "{vid}_frame_{i}_with_ftid.txt")
        return folder


def output_settings(overlay: bool = True, report: bool = True, style=None, embed_video=None, highlight: int = 3) -> dict:
    """The output options of :meth:`Analysis.save` as recorded in the completion marker."""
    from dataclasses import asdict, is_dataclass, replace

    look = None
    if overlay:  # the look of the overlay as render_overlay draws it (defaults filled in)
        from .viz.overlay import OverlayStyle

        style = style if style is not None else OverlayStyle()
        look = asdict(replace(style, highlight=highlight)) if is_dataclass(style) else str(style)
    return {
        "overlay": bool(overlay),
        "report": bool(report),
        "style": look,
        "embed_video": embed_video,
        "highlight": int(highlight),
    }


def tracker_settings(tracker) -> dict:
    """The tracker settings (``TrackerConfig.to_dict()``) of anything :func:`analyze` takes as ``tracker``."""
    from .track import Tracker

    if isinstance(tracker, Tracker):
        return tracker.config.to_dict()
    return _tracker_config(tracker).to_dict()


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
    min_duration_s: float = 1.0,
    kinematics_options: Mapping[str, Any] | None = None,
) -> dict:
    """Every setting of an :func:`analyze` run as one JSON-able dict (the arguments, resolved).

    ``analyze`` stores it in :attr:`Analysis.settings`; :meth:`Analysis.save`
    records it (with the output options) in the completion marker, and
    ``batch``/``analyze`` compare it to decide whether a result is up to date.
    The tracker is recorded as its full configuration, a detector object by its name.
    """
    det = detector if isinstance(detector, str) else str(getattr(detector, "name", type(detector).__name__))
    return to_jsonable(
        {
            "detector": det.strip(),
            "detector_options": dict(detector_options or {}),
            "calibration": None if calibration is None else calibration.to_dict(),
            "um_per_px": um_per_px,
            "fps": fps,
            "visem_calibration": bool(visem_calibration),
            "tracker": tracker_settings(tracker),
            "batch_size": int(batch_size),
            "max_frames": max_frames,
            "fastest_by": fastest_by,
            "min_duration_s": float(min_duration_s),
            "kinematics_options": dict(kinematics_options or {}),
        }
    )


def _video_id(source: str) -> str:
    """A VISEM-style video id for file names: the folder or file stem (``frames`` for frames in memory)."""
    if source.startswith("<"):  # "<array (T, H, W) uint8>" and the like (spermtrack.io.stack)
        return "frames"
    p = Path(source)
    return p.stem if p.is_file() else p.name


# ---------------------------------------------------------------------------- summary
def build_summary(analysis: Analysis, n_fastest: int = 5) -> dict:
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
    motility : WHO grade -> {count, percent} over the valid sperm tracks (percent ``None``
        without a calibration: WHO grades are defined in µm/s)
    progressive_percent, total_motility_percent, immotile_percent : PR, PR + NP, IM (percent or None)
    speeds : each kinematics column -> {mean, median} over the valid tracks
    units : length, speed, frequency, angle, ratio units of the kinematics
    kinematics_summary : the full output of :func:`spermtrack.kinematics.summarize`
    fastest_by, fastest_min_duration_s, fastest : the ranked table as a list of rows
    tracker : the tracker settings
    timings_s : busy seconds per stage and total wall seconds

    Every number comes from :func:`spermtrack.kinematics.summarize` and
    :func:`spermtrack.kinematics.fastest` applied to ``analysis.kinematics`` (the
    rows of ``kinematics.csv``).
    """
    from . import __version__
    from .kinematics import summarize

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
        "motility": {g: {"count": int(v["count"]), "percent": v["percent"]} for g, v in grades.items()},
        "progressive_percent": motility.get("progressive_percent"),
        "total_motility_percent": motility.get("total_motility_percent"),
        "immotile_percent": motility.get("immotile_percent"),
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
    }
    return to_jsonable(summary)


# ---------------------------------------------------------------------------- analyze
class _Stopwatch:
    """Busy seconds per stage, safe to add to from several threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seconds = dict.fromkeys(STAGES, 0.0)

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds


def _timed(items: Iterable, watch: _Stopwatch, stage: str) -> Iterator:
    """Yield from ``items``, adding the time spent producing each item to ``stage``."""
    it = iter(items)
    while True:
        t0 = time.perf_counter()
        try:
            item = next(it)
        except StopIteration:
            watch.add(stage, time.perf_counter() - t0)
            return
        watch.add(stage, time.perf_counter() - t0)
        yield item


class _TrackingThread(threading.Thread):
    """Feeds each frame's detections to a streaming tracker, in the background."""

    def __init__(self, tracker, watch: _Stopwatch, depth: int = 8) -> None:
        super().__init__(name="spermtrack-track", daemon=True)
        self.tracker = tracker
        self.watch = watch
        self.queue: queue.Queue = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self._halt = threading.Event()

    def put(self, item) -> None:
        while True:
            if self.error is not None:
                raise self.error
            try:
                self.queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def stop(self) -> None:
        self._halt.set()

    def run(self) -> None:
        try:
            while not self._halt.is_set():
                try:
                    item = self.queue.get(timeout=0.1)
                except queue.Empty:
                    continue
                if item is None:
                    return
                boxes, first, count = item
                t0 = time.perf_counter()
                for f in range(first, first + count):
                    self.tracker.update(boxes.at_frame(f))
                self.watch.add("track", time.perf_counter() - t0)
        except BaseException as exc:
            self.error = exc


def _make_tracker(tracker, fps: float):
    """A streaming Tracker and its config from ``None``, a TrackerConfig, a dict, a JSON path or a Tracker."""
    from .track import Tracker

    if isinstance(tracker, Tracker):
        if not math.isclose(tracker.fps, fps, rel_tol=1e-9):
            raise SpermtrackError(f"the tracker was made for {tracker.fps} frames/s but the video runs at {fps}")
        if tracker.frame >= 0:
            raise SpermtrackError("the tracker has already been used; pass a new Tracker or a TrackerConfig")
        return tracker, tracker.config
    config = _tracker_config(tracker)
    return Tracker(fps, config), config


def _tracker_config(tracker):
    """The TrackerConfig of ``None``, a TrackerConfig, a dict or a JSON path."""
    from .track import TrackerConfig

    if tracker is None:
        return TrackerConfig()
    if isinstance(tracker, TrackerConfig):
        return tracker
    if isinstance(tracker, Mapping):
        return TrackerConfig.from_dict(dict(tracker))
    if isinstance(tracker, (str, Path)):
        return TrackerConfig.from_json(tracker)
    raise SpermtrackError(
        f"tracker must be None, a TrackerConfig, a dict, a JSON path or a Tracker, got {type(tracker).__name__}"
    )


def _make_detector(detector, source_path: Path, options: dict | None = None):
    """A detector object from a name or an object; ``"gt"`` reads the labels of a VISEM video folder."""
    options = options or {}
    if not isinstance(detector, str) and type(detector).__module__.startswith("ultralytics"):  # a YOLO object
        from .detect import get_detector

        return get_detector(detector, **options)
    if not isinstance(detector, str):
        if options:
            raise SpermtrackError("detector_options apply to a detector given by name, not to a detector object")
        if not hasattr(detector, "detect"):
            raise SpermtrackError(
                f"detector must be a name such as 'auto' or an object with .detect(), got {type(detector).__name__}"
            )
        return detector
    from .detect import get_detector

    spec = detector.strip()
    kind = spec.partition(":")[0].lower()
    try:
        if kind in ("gt", "gt-noisy"):
            from .io.visem import VisemVideo

            try:
                gt = VisemVideo(source_path).labels()
            except Exception as exc:
                raise SpermtrackError(
                    f"detector 'gt' reads the labels/ of a VISEM video folder, which {source_path} is not ({exc})"
                ) from None
            return get_detector(spec, gt=gt, **options)
        return get_detector(spec, **options)
    except SpermtrackError:
        raise
    except (ValueError, FileNotFoundError) as exc:
        raise SpermtrackError(f"detector {spec!r}: {exc}") from None


def analyze(
    source: str | Path,
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
    progress: bool = False,
    fastest_by: str = "vsl",
    min_duration_s: float = 1.0,
    kinematics_options: Mapping[str, Any] | None = None,
) -> Analysis:
    """Detect, track and measure every sperm in a video.

    Parameters
    ----------
    source : path, array or iterable of frames
        A video file, a folder of images (natural order), a VISEM-Tracking
        video folder (``images/``, else its ``.mp4``), a multi-page TIFF stack, or frames
        in memory: a NumPy array ``(T, H, W)`` / ``(T, H, W, 3)``, a list or iterable of
        frames (grey and 16-bit frames are converted, see :mod:`spermtrack.io.stack`);
        frames in memory need ``fps``.
    detector : str or Detector
        ``"auto"`` (the best that runs here: the shipped model), ``"classical"``,
        ``"yolo:WEIGHTS"``, ``"gt"`` (the labels of a VISEM video folder), any name
        :func:`spermtrack.detect.get_detector` knows, a detector object, or an ultralytics
        ``YOLO`` object (wrapped by :meth:`~spermtrack.detect.yolo.YoloDetector.from_model`).
    detector_options : mapping, optional
        Keywords of :func:`spermtrack.detect.get_detector` for a detector given by name, e.g.
        ``{"polarity": "dark", "head_px": 17}`` to pin the per-video self-calibration (heads
        darker than the background, 17-pixel head boxes) instead of measuring it.
    calibration : Calibration, optional
        µm per pixel and frames per second. Without it: ``um_per_px`` / ``fps``
        if given, the video's frame rate, and pixels (uncalibrated, said in every
        output) unless ``visem_calibration``.
    tracker : TrackerConfig, dict, JSON path or Tracker, optional
        Tracker settings (the documented defaults when omitted).
    um_per_px : float, optional
        Size of a pixel in the specimen plane (µm), from a stage micrometer
        (docs/calibration.md).
    fps : float, optional
        Frame rate; overrides the video's (needed for image folders).
    visem_calibration : bool
        Use the VISEM-Tracking estimate of 0.25 µm/px (an estimate, see docs/calibration.md).
    batch_size : int
        Frames per detector call (memory is a few batches).
    max_frames : int, optional
        Analyse only the first ``max_frames`` frames.
    progress : bool
        A progress bar on stderr.
    fastest_by : str
        Kinematics column that ranks the fastest sperm (``vsl``, ``vcl`` or ``vap``).
    min_duration_s : float
        Shortest track (seconds) that may rank among the fastest.
    kinematics_options : mapping, optional
        Keyword arguments of :func:`spermtrack.kinematics.casa` (smoothing window, ...);
        ``image_size`` defaults to the frame size (boxes clipped at the border are re-centred).

    Returns
    -------
    Analysis

    Raises
    ------
    VideoError
        The source is missing, unreadable or has no frames (names the path and frame).
    CalibrationError
        No frame rate is known (image folder without ``fps``) or a value is implausible.
    """
    from tqdm.auto import tqdm

    from .detect.base import prefetch
    from .detect.quality import check_detections, detection_warnings
    from .io.frames import open_frames
    from .kinematics import casa
    from .results import checkpoint
    from .timebase import RepeatDetector

    if batch_size < 1:
        raise SpermtrackError(f"batch_size must be >= 1, got {batch_size}")
    if max_frames is not None and max_frames < 1:
        raise SpermtrackError(f"max_frames must be >= 1, got {max_frames}")
    if not isinstance(source, str) and not hasattr(source, "__fspath__"):  # frames in memory (spermtrack.io.stack)
        frames = in_memory = open_frames(source, fps=fps)
        if frames.fps is None and calibration is None:
            raise SpermtrackError(
                f"{frames.path}: frames in memory have no frame rate: pass fps=F (frames per second of the camera)"
            )
        source_path = frames.path
    else:
        source_path = Path(source)
        if not source_path.exists():
            raise VideoError(f"{source_path}: no such video file or folder")
        frames, in_memory = source_path, None
    t_start = time.perf_counter()
    det = _make_detector(detector, source_path, dict(detector_options or {}))
    watch = _Stopwatch()
    with open_frames(frames, fps=fps) as src:
        cal, origin = resolve_calibration(
            src.fps, calibration, um_per_px, fps, visem_calibration, source=source_path, fps_source=src.fps_source
        )
        trk, config = _make_tracker(tracker, cal.fps)
        total = src.num_frames if max_frames is None else min(max_frames, src.num_frames or max_frames)
        worker = _TrackingThread(trk, watch)
        worker.start()
        parts: list[Boxes] = []
        reference = None
        repeats = RepeatDetector()  # timebase (tracker branch): consecutive-frame MAD while decoding
        first_frame = None
        n = 0
        bar = tqdm(total=total, desc="analyze", unit="frame", disable=not progress, leave=False)
        try:
            batches = _timed(src.batches(batch_size), watch, "decode")
            for first, batch in prefetch(batches, depth=3):
                if first != n:
                    raise VideoError(f"{source_path}: frame source skipped frames (expected frame {n}, got {first})")
                if max_frames is not None and n + len(batch) > max_frames:
                    batch = batch[: max_frames - n]
                if first_frame is None:
                    first_frame = batch[0].copy()
                for fr in batch:  # timebase (tracker branch)
                    repeats.add(fr)
                t0 = time.perf_counter()
                boxes = det.detect(batch, first_frame=first)
                watch.add("detect", time.perf_counter() - t0)
                if first == 0:
                    reference = _reference_detections(det, batch)
                n = first + len(batch)
                boxes = boxes.replace(num_frames=n) if boxes.num_frames != n else boxes
                parts.append(boxes)
                checkpoint("batch detected")
                worker.put((boxes, first, len(batch)))
                bar.update(len(batch))
                if max_frames is not None and n >= max_frames:
                    break
            worker.put(None)
            worker.join()
            if worker.error is not None:
                raise worker.error
        finally:
            bar.close()
            worker.stop()
        if n == 0:
            raise VideoError(f"{source_path}: the source has no frames")
        image_size = (int(first_frame.shape[1]), int(first_frame.shape[0]))
    detections = Boxes.concat(parts, num_frames=n)
    look = getattr(det, "look", None)
    check = check_detections(detections, n, reference, "classical" if reference is not None else None)
    warnings = detection_warnings(check, look, scored=not str(getattr(det, "name", "")).startswith("gt"))
    t0 = time.perf_counter()
    tracks = trk.finish(postprocess=True)
    tracks = tracks.replace(num_frames=n) if tracks.num_frames != n else tracks
    # timebase (tracker branch): with repeated frames, track the distinct frames at their true times;
    # with self-calibration, re-track offline so the motion is measured over the whole video (cheap)
    frame_times = repeats.result(cal.fps)
    track_info: dict = {"calibration": trk.calibration.to_dict()}
    if frame_times.num_repeated or config.self_calibrate:
        from .track import track as _track_offline

        tracks = _track_offline(detections, cal.fps, config, timestamps=frame_times, info=track_info)
    watch.add("track", time.perf_counter() - t0)
    checkpoint("tracks finished")
    t0 = time.perf_counter()
    # boxes clipped at the image border are re-centred on the cell (casa's image_size)
    kin = casa(tracks, cal, **{"image_size": image_size, "frame_times": frame_times, **dict(kinematics_options or {})})
    watch.add("kinematics", time.perf_counter() - t0)
    timings = {**watch.seconds, "total": time.perf_counter() - t_start}
    return Analysis(
        source=str(source_path),
        tracks=tracks,
        detections=detections,
        kinematics=kin,
        calibration=cal,
        calibration_origin=origin,
        detector=str(getattr(det, "name", type(det).__name__)),
        tracker_config=config,
        image_size=image_size,
        num_frames=n,
        first_frame=first_frame,
        timings=timings,
        max_frames=max_frames,
        fastest_by=fastest_by,
        fastest_min_duration_s=min_duration_s,
        look=look.to_dict() if look is not None else None,
        detection_check=check.to_dict(),
        warnings=warnings,
        _frames=in_memory,
        fps_source=fps_source_of(fps, src.fps_source) if calibration is None else "user",
        settings=analysis_settings(
            detector,
            calibration,
            config,
            detector_options=detector_options,
            um_per_px=um_per_px,
            fps=fps,
            visem_calibration=visem_calibration,
            batch_size=batch_size,
            max_frames=max_frames,
            fastest_by=fastest_by,
            min_duration_s=min_duration_s,
            kinematics_options=kinematics_options,
        ),
        frame_times=frame_times,
        tracker_calibration=track_info["calibration"],
    )


def _reference_detections(det, batch: np.ndarray) -> Boxes | None:
    """The classical detector's boxes on ``batch`` (the first frames), with ``det``'s measured look.

    Compared with a learnt detector's count to warn when the two disagree strongly; None when
    ``det`` is not a self-calibrated learnt detector.
    """
    from .detect import get_detector
    from .detect.normalize import CalibratedDetector

    if not isinstance(det, CalibratedDetector) or det.inner.name == "classical" or det.look is None:
        return None
    ref = get_detector("classical")
    ref.set_look(det.look)
    return ref.detect(batch, 0)
