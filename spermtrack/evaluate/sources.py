"""Load what ``spermtrack evaluate`` compares: MOTChallenge files, VISEM video folders or roots.

A *source* is one of

- a MOTChallenge text file (one video, its stem is the video id; its length
  is unknown, so it is the last frame with a box);
- a VISEM video folder (``labels_ftid/`` for tracks, else ``labels/``; its
  length is known from ``images/`` or the mp4);
- a VISEM root (every video folder below it, at any depth);
- a folder of MOTChallenge files ``<vid>.txt`` (TrackEval's tracker layout),
  one per video.

:func:`pair_sources` matches the videos of a ground-truth source with those of
a hypothesis source by id and decides how many frames each video has.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..boxes import Boxes
from ..errors import DatasetError


@dataclass(frozen=True)
class VideoBoxes:
    """The boxes of one video from a source.

    Attributes
    ----------
    boxes : Boxes
    num_frames : int or None
        The video's length when the source knows it (VISEM folders), else None.
    path : Path
        Where the boxes came from (for messages).
    """

    boxes: Boxes
    num_frames: int | None
    path: Path


def source_kind(path: str | os.PathLike) -> str:
    """``"mot"``, ``"video"``, ``"root"`` or ``"motdir"`` (see module docstring); raises DatasetError otherwise."""
    from ..io.visem import VisemDataset, is_video_folder

    p = Path(path)
    if p.is_file():
        return "mot"
    if not p.is_dir():
        raise DatasetError(f"{p}: no such file or folder")
    if is_video_folder(p):
        return "video"
    try:
        VisemDataset(p)
        return "root"
    except DatasetError:
        pass
    if any(p.glob("*.txt")):
        return "motdir"
    raise DatasetError(f"{p}: neither a MOTChallenge file, a VISEM video folder or root, nor a folder of <video>.txt files")


def load_source(path: str | os.PathLike) -> dict[str, VideoBoxes]:
    """Video id -> :class:`VideoBoxes` of a source (tracks when the source has track ids)."""
    from ..io.mot import read_mot
    from ..io.visem import VisemDataset, VisemVideo

    p = Path(path)
    kind = source_kind(p)
    if kind == "mot":
        return {p.stem: VideoBoxes(read_mot(p), None, p)}
    if kind == "motdir":
        files = sorted(p.glob("*.txt"))
        return {f.stem: VideoBoxes(read_mot(f), None, f) for f in files}
    videos = [VisemVideo(p)] if kind == "video" else list(VisemDataset(p))
    out = {}
    for v in videos:
        boxes = v.tracks() if (v.path / "labels_ftid").is_dir() else v.labels()
        out[v.id] = VideoBoxes(boxes, v.num_frames, v.path)
    return out


def pair_sources(
    gt_path: str | os.PathLike, hyp_path: str | os.PathLike, notes: list[str] | None = None
) -> dict[str, tuple[VideoBoxes, VideoBoxes, int]]:
    """Match ground-truth and hypothesis videos by id: ``vid -> (gt, hyp, num_frames)``.

    Videos are paired by id only. One exception: when each side holds a single
    video and one side is a MOTChallenge *file* (whose name is often not a video
    id, e.g. ``tracks.txt`` written by ``spermtrack analyze``), the two are paired
    and, when the names differ, a note saying so is appended to ``notes``.
    Every ground-truth video needs a hypothesis of the same id (DatasetError
    otherwise); hypothesis videos without ground truth are left out (a note says
    which). ``num_frames`` is the ground truth's known length, else (MOT file
    ground truth) the largest of both sides, so that hypothesis boxes after the
    last ground-truth box count as false positives (py-motmetrics' convention).
    """
    gt = load_source(gt_path)
    hyp = load_source(hyp_path)
    notes = notes if notes is not None else []
    single = len(gt) == 1 and len(hyp) == 1
    one_file = source_kind(gt_path) == "mot" or source_kind(hyp_path) == "mot"
    if single and one_file:
        (g_id, g), (h_id, h) = next(iter(gt.items())), next(iter(hyp.items()))
        if g_id != h_id:
            notes.append(
                f"names differ: paired hypothesis '{h_id}' ({h.path}) with ground-truth video '{g_id}' ({g.path}), "
                "the only video on each side"
            )
        pairs = {g_id: (g, h)}
    else:
        missing = [v for v in gt if v not in hyp]
        if missing:
            raise DatasetError(
                f"{hyp_path}: no hypothesis for video(s) {missing} of the ground truth {gt_path} (hypothesis has "
                f"{sorted(hyp)}); videos are paired by id (folder or file name)"
            )
        extra = sorted(v for v in hyp if v not in gt)
        if extra:
            notes.append(f"hypothesis video(s) {extra} have no ground truth and are not scored")
        pairs = {v: (gt[v], hyp[v]) for v in gt}
    out = {}
    for vid, (g, h) in pairs.items():
        if g.num_frames is not None:
            n = g.num_frames
        else:
            n = max(g.boxes.num_frames, h.boxes.num_frames, h.num_frames or 0)
        out[vid] = (g, h, n)
    return out
