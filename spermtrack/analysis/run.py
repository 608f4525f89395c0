"""From a video to tracks, kinematics, the fastest sperm and a report: :func:`analyze`.

``analyze`` streams the source once, in three overlapped stages (threads of
:func:`spermtrack._threads.background`):

1. **decode** -- a background thread reads batches of frames and keeps a few ready;
2. **detect** -- a second background thread runs the detector on each batch
   (:func:`spermtrack.detect.iter_detections`, the one detection loop);
3. **track** -- the calling thread feeds each frame's boxes to a streaming
   :class:`~spermtrack.track.Tracker`.

No frame is kept (memory is bounded by a few batches whatever the length of the
video); then the whole-video clean-up of the tracker and the CASA kinematics run on
the tracks. Each stage's busy time is measured (``Analysis.timings``, seconds); the
stages overlap, so their sum can exceed the wall time (``timings["total"]``).
"""

from __future__ import annotations

import math
import time
import warnings as _warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._threads import Stopwatch, background
from ..boxes import Boxes
from ..calibration import Calibration
from ..errors import (
    CalibrationError,
    ParameterError,
    ParameterTypeError,
    SpermtrackError,
    SpermtrackWarning,
    StateError,
    VideoError,
)
from .calibration import fps_source_of, resolve_calibration, resolve_request, visem_frame_warning
from .config import AnalysisConfig, CalibrationRequest
from .result import Analysis, valid_sperm_rows

#: Names of the timed stages, in pipeline order.
STAGES = ("decode", "detect", "track", "kinematics")

#: Keywords of the old ``analyze`` signature that map onto a field of the config.
_SIMPLE = {
    "batch_size": "batch_size",
    "max_frames": "max_frames",
    "fastest_by": "fastest_by",
    "min_duration_s": "min_duration_s",
}


def analyze(
    source,
    config: AnalysisConfig | Mapping | str | Path | None = None,
    *,
    detector=None,
    calibration: Calibration | None = None,
    tracker=None,
    detector_options: Mapping[str, Any] | None = None,
    um_per_px: float | None = None,
    fps: float | None = None,
    visem_calibration: bool | None = None,
    kinematics_options: Mapping[str, Any] | None = None,
    progress: bool = False,
    **overrides: Any,
) -> Analysis:
    """Detect, track and measure every sperm in a video.

    Parameters
    ----------
    source : path, array or iterable of frames
        A video file, a folder of images (natural order), a VISEM-Tracking video folder
        (``images/``, else its ``.mp4``), a multi-page TIFF stack, or frames in memory: a
        NumPy array ``(T, H, W)`` / ``(T, H, W, 3)``, a list or iterable of frames (grey and
        16-bit frames are converted, see :mod:`spermtrack.io.stack`); frames in memory need ``fps``.
    config : AnalysisConfig, dict or JSON path, optional
        Every setting (:class:`~spermtrack.analysis.config.AnalysisConfig`; a dict is read
        with ``from_dict``, a path with ``from_json``, which also reads a previous result's
        ``summary.json``). The keywords below are applied on top of it.
    detector : str, DetectorSpec or Detector, optional
        ``"auto"`` (the best that runs here: the shipped model), ``"classical"``,
        ``"yolo:WEIGHTS"``, ``"gt"`` (the labels of a VISEM video folder), a
        :class:`~spermtrack.detect.spec.DetectorSpec`, a detector object, or an ultralytics
        ``YOLO`` object.
    calibration : Calibration, optional
        µm per pixel and frames per second, used as given (recorded in the config as
        ``um_per_px`` and ``fps``).
    tracker : TrackerConfig, dict, JSON path or Tracker, optional
        Tracker settings (a fresh ``Tracker`` made for the video's frame rate is used as it is).
    detector_options : mapping, optional
        Keywords of :func:`spermtrack.detect.get_detector`, e.g. ``{"polarity": "dark", "head_px": 17}``.
    um_per_px, fps, visem_calibration
        The calibration request (µm per pixel of the specimen plane; frames per second,
        overriding the video's; the VISEM-Tracking estimate of 0.25 µm/px).
    kinematics_options : mapping, optional
        Settings of :class:`~spermtrack.kinematics.CasaConfig` by name (``smoothing_s``, ...).
    progress : bool
        A progress bar on stderr.
    **overrides
        Any other field of the config by name: ``batch_size``, ``max_frames``,
        ``fastest_by``, ``min_duration_s``, ``top``, ``chamber_depth_um``, ``casa``, ``outputs``.

    Returns
    -------
    Analysis

    Raises
    ------
    VideoError
        The source is missing, unreadable or has no frames (names the path and frame).
    CalibrationError
        No frame rate is known (image folder without ``fps``) or a value is implausible.
    ParameterError
        A setting is out of range or unknown (names it and its command-line flag).
    """
    from ..detect.quality import SURE_SCORE, check_detections, detection_warnings, with_motion
    from ..io.frames import open_frames
    from ..track.calibrate import start_score

    if (isinstance(config, str) and not Path(config).suffix.lower() == ".json") or hasattr(config, "detect"):
        detector, config = config, None  # the old signature: analyze(source, detector)
    config, det, trk, casa_extra = _settle(
        config, detector, calibration, tracker, detector_options, um_per_px, fps, visem_calibration, kinematics_options, overrides
    )
    frames, in_memory, source_path = _open_source(source, config, calibration)
    t_start = time.perf_counter()
    det = det if det is not None else config.detector.build(source_path)
    watch = Stopwatch(STAGES)
    with open_frames(frames, fps=config.calibration.fps) as src:
        if calibration is not None:
            cal, origin = resolve_calibration(src.fps, calibration, source=source_path)
        else:
            cal, origin = resolve_request(config.calibration, src.fps, source=source_path, fps_source=src.fps_source)
        trk = _fresh_tracker(trk, cal.fps) if trk is not None else _new_tracker(cal.fps, config.tracker)
        stream = _Stream(det, trk, watch)
        stream.run(src, config.batch_size, config.max_frames, progress)
        # a rate given by the user wins; else a variable-rate container's own clock
        stamps = (
            src.timestamps() if calibration is None and config.calibration.fps is None and hasattr(src, "timestamps") else None
        )
        stamps_source, number_gaps = "container", src.number_gaps(stream.n) if hasattr(src, "number_gaps") else []
        if stamps is None and number_gaps:  # an image folder with frames missing: the times of their numbers
            stamps, stamps_source = src.number_times(cal.fps), "numbers"
    if stream.n == 0:
        raise VideoError(f"{source_path}: the source has no frames")
    n, first_frame = stream.n, stream.first_frame
    image_size = (int(first_frame.shape[1]), int(first_frame.shape[0]))
    detections = Boxes.concat(stream.parts, num_frames=n)
    look = getattr(det, "look", None)
    tracks, frame_times, tracker_calibration = _finish_tracks(stream, detections, cal, config, watch, stamps, stamps_source)
    check = check_detections(
        detections,
        n,
        stream.reference,
        "classical" if stream.reference is not None else None,
        um_per_px=cal.um_per_px,
        um_per_px_source=origin.um_per_px if cal.calibrated else None,
        sure_score=SURE_SCORE,
        start_score=start_score(config.tracker, tracker_calibration.get("start_score")),
    )
    kin, kin_notes = _kinematics(tracks, cal, config, image_size, frame_times, casa_extra, watch)
    check = with_motion(check, tracks, valid_sperm_rows(kin)["track_id"].to_numpy(), frame_times.times)
    warnings = detection_warnings(check, look, scored=not str(getattr(det, "name", "")).startswith("gt"))
    if number_gaps and frame_times.source == "numbers":
        warnings.append(_number_gap_warning(source_path, number_gaps))
    visem_note = visem_frame_warning(origin, image_size)
    if visem_note is not None:
        warnings.append(visem_note)
    for note in kin_notes:  # uncalibrated or a low image rate: which numbers cannot be compared
        warnings.append(str(note.message))
        _warnings.warn(str(note.message), note.category, stacklevel=2)
    return Analysis(
        source=str(source_path),
        tracks=tracks,
        detections=detections,
        kinematics=kin,
        calibration=cal,
        calibration_origin=origin,
        detector=str(getattr(det, "name", type(det).__name__)),
        config=config,
        image_size=image_size,
        num_frames=n,
        first_frame=first_frame,
        timings={**watch.seconds, "total": time.perf_counter() - t_start},
        fps_source="user" if calibration is not None else fps_source_of(config.calibration.fps, src.fps_source),
        look=look.to_dict() if look is not None else None,
        detection_check=check.to_dict(),
        warnings=warnings,
        frame_times=frame_times,
        tracker_calibration=tracker_calibration,
        _frames=in_memory,
    )


# ---------------------------------------------------------------------------- the stages
class _Stream:
    """The streaming part of :func:`analyze`: detections in the background, tracking in this thread."""

    def __init__(self, detector, tracker, watch: Stopwatch) -> None:
        from ..timebase import RepeatDetector

        self.detector, self.tracker, self.watch = detector, tracker, watch
        self.parts: list[Boxes] = []
        self.reference: Boxes | None = None
        self.first_frame = None
        self.repeats = RepeatDetector()  # consecutive-frame differences: repeated frames (spermtrack.timebase)
        self._max_frames: int | None = None
        self.n = 0

    def run(self, src, batch_size: int, max_frames: int | None, progress: bool) -> None:
        """Detect in a background thread (frames decoded in another), track here, batch by batch."""
        from ..detect.base import iter_detections
        from ..results import checkpoint

        _import_stage_modules(progress)
        self._max_frames = max_frames
        batches = iter_detections(
            self.detector,
            src,
            batch_size,
            max_frames,
            prefetch_batches=3,
            progress=progress,
            stopwatch=self.watch,
            on_decoded=self._decoded,
        )
        for first, end, boxes in background(self._look_at(batches), depth=8, name="spermtrack-detect"):
            t0 = time.perf_counter()
            self.tracker.update_many(boxes, first, end - first)  # one kernel call per batch of frames
            self.watch.add("track", time.perf_counter() - t0)
            self.parts.append(boxes)
            self.n = end
            checkpoint("batch detected")

    def _decoded(self, first: int, frames) -> None:
        """In the decoding thread: compare consecutive frames (repeats), up to ``max_frames``."""
        stop = len(frames) if self._max_frames is None else max(0, min(len(frames), self._max_frames - first))
        for frame in frames[:stop]:
            self.repeats.add(frame)

    def _look_at(self, batches):
        """In the detection thread: keep frame 0 and pass on only the boxes, so that the queue to the
        tracker holds no frames."""
        for item in batches:
            if self.first_frame is None:
                self.first_frame = item.frames[0].copy()
            if item.first == 0:
                self.reference = _reference_detections(self.detector, item.frames)
            yield item.first, item.end, item.boxes


def _import_stage_modules(progress: bool) -> None:
    """Import here, in the calling thread, what the stages import lazily, before any thread starts.

    A Ctrl-C that lands while two threads import at once can leave one of Python's module
    locks held, and the other thread then waits for it for good (the interrupted run would
    hang on its way out). With every module imported up front no import runs concurrently.
    """
    import importlib

    for name in ("detect", "detect.normalize", "detect.classical", "kinematics", "track", "timebase"):
        importlib.import_module(f"{__package__.rpartition('.')[0]}.{name}")
    if progress:
        importlib.import_module("tqdm.auto")


def _number_gap_warning(folder, gaps: list[tuple[int, int]]) -> str:
    """The warning for an image folder whose frame numbers jump (frames missing)."""
    shown = ", ".join(f"{a} -> {b}" for a, b in gaps[:3]) + (f" and {len(gaps) - 3} more" if len(gaps) > 3 else "")
    return (
        f"{folder}: the image files' frame numbers jump {len(gaps)} time{'s' if len(gaps) > 1 else ''} ({shown}): "
        "frames are missing. Each image is tracked and measured at the time of its number (the usual step between "
        "numbers is one frame), and the outputs number the images present 0, 1, 2, ... in order "
        '(summary.json frame_times: source "numbers").'
    )


def _finish_tracks(
    stream: _Stream,
    detections: Boxes,
    cal: Calibration,
    config: AnalysisConfig,
    watch: Stopwatch,
    stamps=None,
    stamps_source: str = "container",
):
    """The tracker's whole-video clean-up (gap closing, short-track removal, interpolation).

    With repeated frames, or irregular time stamps (``stamps``, s: a variable-rate container's,
    ``stamps_source`` "container", or an image folder's frame numbers, "numbers"), the
    distinct frames are re-tracked at their true times; with the tracker's self-calibration
    the tracks are re-made offline so the motion is measured over the whole video (cheap).
    Returns ``(tracks, frame_times, tracker_calibration)``.
    """
    from ..results import checkpoint
    from ..timebase import with_container_times

    t0 = time.perf_counter()
    n = stream.n
    tracks = stream.tracker.finish(postprocess=True)
    tracks = tracks.replace(num_frames=n) if tracks.num_frames != n else tracks
    frame_times = with_container_times(stream.repeats.result(cal.fps), stamps, source=stamps_source)
    info: dict = {"calibration": stream.tracker.calibration.to_dict()}
    if not frame_times.is_regular or config.tracker.self_calibrate:
        from ..track import track as track_offline

        tracks = track_offline(detections, cal.fps, config.tracker, timestamps=frame_times, info=info)
    watch.add("track", time.perf_counter() - t0)
    checkpoint("tracks finished")
    return tracks, frame_times, info["calibration"]


def _kinematics(tracks, cal, config, image_size, frame_times, casa_extra, watch):
    """CASA kinematics of the tracks; boxes clipped at the image border are re-centred on the cell."""
    from ..kinematics import casa

    t0 = time.perf_counter()
    with _warnings.catch_warnings(record=True) as caught:  # analyze() warns once with each, after the detection warnings
        _warnings.simplefilter("always", SpermtrackWarning)
        kin = casa(tracks, cal, config.casa, image_size=image_size, frame_times=frame_times, **casa_extra)
    watch.add("kinematics", time.perf_counter() - t0)
    notes = [w for w in caught if issubclass(w.category, SpermtrackWarning)]
    for w in caught:  # anything else (e.g. a library's own warning) goes on as it came
        if not issubclass(w.category, SpermtrackWarning):
            _warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return kin, notes


def _reference_detections(det, batch) -> Boxes | None:
    """The classical detector's boxes on ``batch`` (the first frames), with ``det``'s measured look.

    Compared with a learnt detector's count to warn when the two disagree strongly; None when
    ``det`` is not a self-calibrated learnt detector. The classical detector runs at the head
    size the learnt one settled on (the blob measurement as the scale search corrected it), so
    that both count at one scale: at a blob size measured on debris (a sparse sample's specks
    outnumber its heads) it would count the specks.
    """
    import dataclasses

    from ..detect import get_detector
    from ..detect.normalize import CalibratedDetector

    if not isinstance(det, CalibratedDetector) or det.inner.name == "classical" or det.look is None:
        return None
    ref = get_detector("classical")
    ref.set_look(dataclasses.replace(det.look, head_box_px=det.look.detector_head_box_px, scale_factor=1.0))
    return ref.detect(batch, 0)


# ---------------------------------------------------------------------------- settling the arguments
def _settle(config, detector, calibration, tracker, detector_options, um_per_px, fps, visem, kinematics_options, overrides):
    """The config of a call (keywords applied), and the runtime objects that are not settings.

    Returns ``(config, detector_object_or_None, tracker_object_or_None, casa_runtime_keywords)``.
    """
    from ..track import Tracker, TrackerConfig

    config = _as_config(config)
    changes: dict[str, Any] = {}
    unknown = sorted(set(overrides) - {f for f in AnalysisConfig.__dataclass_fields__})
    if unknown:
        raise ParameterTypeError(
            f"analyze() got unknown setting(s) {unknown}; known: {sorted(AnalysisConfig.__dataclass_fields__)}"
        )
    changes.update({k: v for k, v in overrides.items() if v is not None or k in ("max_frames", "chamber_depth_um")})
    det_obj = None
    if detector is not None or detector_options:
        from ..detect.spec import DetectorSpec

        options = dict(detector_options or {})
        if detector is None:
            changes["detector"] = config.detector.replace(**options)
        elif isinstance(detector, (str, DetectorSpec)):
            changes["detector"] = DetectorSpec.parse(detector, **options)
        elif type(detector).__module__.startswith("ultralytics"):  # a YOLO object
            from ..detect import get_detector

            det_obj = get_detector(detector, **options)
            changes["detector"] = DetectorSpec.for_object(det_obj)
        elif hasattr(detector, "detect"):
            if options:
                raise ParameterError("detector_options apply to a detector given by name, not to a detector object")
            det_obj = detector
            changes["detector"] = DetectorSpec.for_object(detector)
        else:
            raise ParameterTypeError(
                f"detector must be a name such as 'auto' or an object with .detect(), got {type(detector).__name__}"
            )
    trk_obj = None
    if tracker is not None:
        if isinstance(tracker, Tracker):
            trk_obj, changes["tracker"] = tracker, tracker.config
        elif isinstance(tracker, (TrackerConfig, Mapping)):
            changes["tracker"] = tracker if isinstance(tracker, TrackerConfig) else TrackerConfig.from_dict(dict(tracker))
        elif isinstance(tracker, (str, Path)):
            changes["tracker"] = TrackerConfig.from_json(tracker)
        else:
            raise ParameterTypeError(
                f"tracker must be None, a TrackerConfig, a dict, a JSON path or a Tracker, got {type(tracker).__name__}"
            )
    request = {k: v for k, v in (("um_per_px", um_per_px), ("fps", fps), ("visem_calibration", visem)) if v is not None}
    if calibration is not None:
        if request:
            raise CalibrationError("give either a Calibration or um_per_px/fps/visem_calibration, not both")
        if not isinstance(calibration, Calibration):
            raise CalibrationError(f"calibration must be a spermtrack.Calibration, got {type(calibration).__name__}")
        changes["calibration"] = CalibrationRequest.of(calibration)
    elif request:
        changes["calibration"] = request
    casa_extra: dict[str, Any] = {}
    if kinematics_options:
        opts = dict(kinematics_options)
        casa_extra = {k: opts.pop(k) for k in ("image_size", "frame_times") if k in opts}
        if opts:
            changes["casa"] = config.casa.replace(**opts)
    return (config.updated(changes) if changes else config), det_obj, trk_obj, casa_extra


def _as_config(config) -> AnalysisConfig:
    if config is None:
        return AnalysisConfig()
    if isinstance(config, AnalysisConfig):
        return config
    if isinstance(config, Mapping):
        return AnalysisConfig.from_dict(dict(config))
    if isinstance(config, (str, Path)):
        return AnalysisConfig.from_json(config)
    raise ParameterTypeError(f"config must be an AnalysisConfig, a dict or a JSON path, got {type(config).__name__}")


def _open_source(source, config: AnalysisConfig, calibration):
    """``(what open_frames takes, the frames in memory or None, the source's path or description)``."""
    from ..io.frames import open_frames

    if not isinstance(source, str) and not hasattr(source, "__fspath__"):  # frames in memory (spermtrack.io.stack)
        frames = open_frames(source, fps=config.calibration.fps)
        if frames.fps is None and calibration is None:
            raise CalibrationError(
                f"{frames.path}: frames in memory have no frame rate: pass fps=F (frames per second of the camera)"
            )
        return frames, frames, frames.path
    path = Path(source)
    if not path.exists():
        raise VideoError(f"{path}: no such video file or folder")
    return path, None, path


def _new_tracker(fps: float, config):
    from ..track import Tracker

    return Tracker(fps, config)


def _fresh_tracker(tracker, fps: float):
    """A Tracker given by the caller, checked: made for this frame rate and not used yet."""
    if not math.isclose(tracker.fps, fps, rel_tol=1e-9):
        raise ParameterError(f"the tracker was made for {tracker.fps} frames/s but the video runs at {fps}")
    if tracker.frame >= 0:
        raise StateError("the tracker has already been used; pass a new Tracker or a TrackerConfig")
    return tracker


__all__ = ["STAGES", "SpermtrackError", "analyze"]
