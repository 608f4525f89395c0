"""Load what ``spermtrack evaluate`` compares: MOTChallenge files, VISEM video folders or roots.

A *source* is one of

- a MOTChallenge text file (one video, its stem is the video id; its length
  is unknown, so it is the last frame with a box);
- a VISEM video folder (``labels_ftid/`` for tracks, else ``labels/``; its
  length is known from ``images/`` or the mp4);
- a VISEM root (every video folder below it, at any depth);
- a folder of MOTChallenge files ``<vid>.txt`` (TrackEval's tracker layout),
  one per video;
- a result folder of ``spermtrack analyze`` (its ``tracks.txt``, in pixels; its
  length from its ``summary.json``, key ``video.num_frames``), also as the video
  folders of a root (a ``batch --out`` folder, one result folder per video).

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


#: Files of a ``spermtrack analyze`` result folder that ``evaluate`` reads.
ANALYSIS_TRACKS = "tracks.txt"
ANALYSIS_SUMMARY = "summary.json"


def is_analysis_folder(path: str | os.PathLike) -> bool:
    """True when ``path`` is a result folder of ``spermtrack analyze`` (``tracks.txt`` and ``summary.json``)."""
    p = Path(path)
    return (p / ANALYSIS_TRACKS).is_file() and (p / ANALYSIS_SUMMARY).is_file()


def source_kind(path: str | os.PathLike) -> str:
    """``"mot"``, ``"analysis"``, ``"video"``, ``"root"`` or ``"motdir"`` (see module docstring); raises DatasetError otherwise."""
    from ..io.visem import VisemDataset, is_video_folder

    p = Path(path)
    if p.is_file():
        return "mot"
    if not p.is_dir():
        raise DatasetError(f"{p}: no such file or folder")
    if is_analysis_folder(p):  # before the VISEM test: it holds a labels_ftid/ but no images or size
        return "analysis"
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
    if kind == "analysis":
        vid, boxes = load_analysis(p)
        return {vid: boxes}
    videos = [VisemVideo(p)] if kind == "video" else list(VisemDataset(p))
    out = {}
    for v in videos:
        if is_analysis_folder(v.path):  # a batch --out folder: one analyze result per video, named by its id
            out[v.id] = load_analysis(v.path)[1]
            continue
        boxes = v.tracks() if (v.path / "labels_ftid").is_dir() else v.labels()
        out[v.id] = VideoBoxes(boxes, v.num_frames, v.path)
    return out


def load_analysis(folder: str | os.PathLike) -> tuple[str, VideoBoxes]:
    """The tracks of a ``spermtrack analyze`` result folder and the id of the video it analysed.

    Boxes from ``tracks.txt`` (MOTChallenge, pixels: no image size needed); the number of frames
    from ``summary.json`` (``video.num_frames``, the frames analysed); the id is the source's
    name (``summary.json``'s ``source``: a file's stem, a folder's name), else the folder's.

    Raises
    ------
    FormatError
        ``summary.json`` is not JSON or has no whole ``video.num_frames`` >= 0 (naming the file),
        or ``tracks.txt`` is malformed or has a box beyond that many frames (file and line).
    """
    import json

    from ..errors import FormatError
    from ..io.mot import read_mot

    folder = Path(folder)
    path = folder / ANALYSIS_SUMMARY
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormatError(f"not a JSON summary of spermtrack analyze ({exc})", path) from None
    video = summary.get("video") if isinstance(summary, dict) else None
    n = video.get("num_frames") if isinstance(video, dict) else None
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise FormatError(f"no number of frames (video.num_frames, a whole number >= 0; got {n!r})", path)
    source = summary.get("source")
    vid = folder.name
    if isinstance(source, str) and source.strip():
        src = Path(source)
        vid = (src.stem if src.suffix else src.name) or vid
    tracks = folder / ANALYSIS_TRACKS
    return vid, VideoBoxes(read_mot(tracks, num_frames=n), n, tracks)


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
    from ..errors import EvaluationError

    gt = load_source(gt_path)
    hyp = load_source(hyp_path)
    notes = notes if notes is not None else []
    single = len(gt) == 1 and len(hyp) == 1
    one_file = {source_kind(gt_path), source_kind(hyp_path)} & {"mot", "analysis"}
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
        if g.num_frames is not None and h.num_frames is not None and g.num_frames != h.num_frames:
            raise EvaluationError(
                f"video {vid}: the hypothesis {h.path} covers {h.num_frames} frames but the ground truth {g.path} "
                f"{g.num_frames}: another video, or one cut short? (Scored, the frames one side lacks would count "
                "every box of the other as a miss or a false positive.)"
            )
        if g.num_frames is not None:
            n = g.num_frames
        else:
            n = max(g.boxes.num_frames, h.boxes.num_frames, h.num_frames or 0)
        out[vid] = (g, h, n)
    return out
