"""Scoring a detector on a VISEM-layout root: the paper's Table 2 columns per video and overall.

``evaluate_detector(root, "classical", split="val")`` runs the detector over every video of
the split, compares with each video's ``labels/`` boxes through
:func:`spermtrack.evaluate.detection` (computed as ultralytics computes them) and returns
precision, recall, mAP50, mAP50-95 and fitness, overall (all frames of all videos pooled,
as YOLO's validation does) and per video.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..boxes import Boxes
from ..errors import ParameterError
from .spec import detector_kind, is_ground_truth

#: Keys of the scores, named as the paper's Table 2.
TABLE2_KEYS = ("precision", "recall", "mAP50", "mAP50-95", "fitness")


@dataclass
class DetectorEvaluation:
    """Scores of one detector on a set of videos.

    Attributes
    ----------
    detector : str
        The detector's name.
    overall : dict
        ``precision, recall, mAP50, mAP50-95, fitness`` over all frames of all videos.
    per_video : dict
        Video id -> the same keys for that video alone, plus ``frames``, ``gt_boxes``, ``det_boxes``.
    per_class : dict
        Class name -> the same keys over all videos (classes present in the ground truth).
    frames : int
        Frames evaluated.
    seconds : float
        Wall time of detection (decoding included), for the frames/s column.
    looks : dict
        Video id -> what the self-calibration measured on it (``LookEstimate.to_dict()`` plus
        ``"problems"``: why it is unsure, empty when reliable); only for self-calibrated detectors.
    """

    detector: str
    overall: dict
    per_video: dict = field(default_factory=dict)
    per_class: dict = field(default_factory=dict)
    frames: int = 0
    seconds: float = 0.0
    looks: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Everything as plain JSON-ready types; the Table 2 keys at the top level."""
        return {
            **{k: float(self.overall[k]) for k in TABLE2_KEYS},
            "detector": self.detector,
            "frames": self.frames,
            "seconds": round(self.seconds, 3),
            "frames_per_s": round(self.frames / self.seconds, 2) if self.seconds > 0 else None,
            "per_class": self.per_class,
            "per_video": self.per_video,
            "looks": self.looks,
        }

    def table(self) -> str:
        """A readable table: one row per video and an overall row."""
        head = f"{'video':>10} {'frames':>7} {'gt':>7} {'det':>7} " + " ".join(f"{k:>9}" for k in TABLE2_KEYS)
        rows = [head, "-" * len(head)]
        for vid, s in self.per_video.items():
            rows.append(
                f"{vid:>10} {s['frames']:>7} {s['gt_boxes']:>7} {s['det_boxes']:>7} "
                + " ".join(f"{s[k]:>9.4f}" for k in TABLE2_KEYS)
            )
        rows.append("-" * len(head))
        for name, s in self.per_class.items():
            rows.append(
                f"{name[:10]:>10} {'':>7} {s['gt_boxes']:>7} {s['det_boxes']:>7} "
                + " ".join(f"{s[k]:>9.4f}" for k in TABLE2_KEYS)
            )
        rows.append(f"{'all':>10} {self.frames:>7} {'':>7} {'':>7} " + " ".join(f"{self.overall[k]:>9.4f}" for k in TABLE2_KEYS))
        fps = self.frames / self.seconds if self.seconds > 0 else float("nan")
        rows.append(
            f"detector {self.detector}: {self.frames} frames in {self.seconds:.1f} s ({fps:.1f} frames/s, decoding included)"
        )
        if self.looks:
            pol = [look["polarity"] for look in self.looks.values()]
            unsure = {vid: look["problems"] for vid, look in self.looks.items() if look["problems"]}
            rows.append(
                f"self-calibration: {pol.count('bright')} video(s) with bright heads, {pol.count('dark')} with dark heads; "
                f"{len(unsure)} unsure"
            )
            rows += [f"  {vid}: {'; '.join(problems)}" for vid, problems in unsure.items()]
        return "\n".join(rows)


def table2(scores) -> dict:
    """The Table 2 keys of a :class:`spermtrack.evaluate.DetectionScores` as floats."""
    m = scores.metrics()
    return {k: float(m[k]) for k in TABLE2_KEYS}


def evaluate_detector(
    root,
    detector: str = "auto",
    split: str = "val",
    batch_size: int = 16,
    max_frames: int | None = None,
    progress: bool = False,
    **detector_kwargs,
) -> DetectorEvaluation:
    """Run a detector over the videos of a split of a VISEM-layout root and score it.

    Parameters
    ----------
    root : path
        VISEM-layout root (real or simulated).
    detector : str
        A :func:`~spermtrack.detect.get_detector` name: ``auto``, ``default``, ``classical``,
        ``gt`` (the labels themselves, degraded by ``miss``, ``jitter_px``... keywords),
        ``yolo:PATH``...
    split : str
        ``"val"``, ``"train"`` (the root's split, official by default) or ``"all"``.
    batch_size : int
        Frames per detector call.
    max_frames : int, optional
        Evaluate only the first ``max_frames`` frames of each video.
    **detector_kwargs
        Passed to the detector (YOLO detectors default to ``conf=0.001`` here, as ultralytics'
        validation, so that mAP sees the whole precision-recall curve).
    """
    from ..evaluate import detection_many
    from ..io.visem import VisemDataset
    from .base import run_detector
    from .registry import get_detector

    ds = VisemDataset(root)
    if split == "all":
        ids = list(ds.video_ids)
    elif split in ("train", "val"):
        ids = list(ds.split(split))
    else:
        raise ParameterError(f"split must be 'train', 'val' or 'all', got {split!r}")
    kind = detector_kind(detector)
    if kind in ("auto", "default", "yolo", "onnx", "yolov5"):
        detector_kwargs.setdefault("conf", 0.001)
    det_obj = None if is_ground_truth(detector) else get_detector(detector, **detector_kwargs)
    videos, counts, looks, frames, seconds = {}, {}, {}, 0, 0.0
    name = detector
    for vid in ids:
        video = ds.video(vid)
        gt = video.labels()
        if max_frames is not None:
            gt = gt.select_frames(0, max_frames)
        t0 = time.perf_counter()
        if det_obj is None:
            from .ground_truth import GroundTruthDetector

            gdet = GroundTruthDetector(gt, image_size=video.image_size, **detector_kwargs)
            det = gdet.degrade()
            name = gdet.name
        else:
            with video.open_frames() as source:
                det = run_detector(det_obj, source, batch_size=batch_size, progress=progress, max_frames=max_frames)
            name = det_obj.name
            look = getattr(det_obj, "look", None)
            if look is not None:  # the self-calibration's reading of this video
                looks[str(vid)] = {**look.to_dict(), "problems": look.problems()}
        seconds += time.perf_counter() - t0
        n = max(gt.num_frames, det.num_frames)
        videos[str(vid)] = (gt.replace(num_frames=n), det.replace(num_frames=n))
        counts[str(vid)] = {"frames": n, "gt_boxes": len(gt), "det_boxes": len(det)}
        frames += n
    if not videos:
        raise ParameterError(f"{root}: split {split!r} has no videos")
    scores = detection_many(videos)
    per_class = {
        c: {**{k: float(m[k]) for k in TABLE2_KEYS}, "gt_boxes": int(m["num_gt"]), "det_boxes": int(m["num_det"])}
        for c, m in scores.per_class.items()
    }
    return DetectorEvaluation(
        detector=name,
        overall=table2(scores),
        per_video={vid: {**table2(scores.per_video[vid]), **counts[vid]} for vid in videos},
        per_class=per_class,
        frames=frames,
        seconds=seconds,
        looks=looks,
    )


def ap50(gt: Boxes, det: Boxes, agnostic: bool = False) -> float:
    """mAP@0.5 of ``det`` against ``gt`` via :func:`spermtrack.evaluate.detection` (``agnostic``: classes ignored)."""
    from ..evaluate import detection

    return float(detection(gt, det, agnostic=agnostic).mAP50)


__all__ = ["TABLE2_KEYS", "DetectorEvaluation", "ap50", "evaluate_detector", "table2"]
