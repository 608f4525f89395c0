"""Cut a long recording into fixed-length clips, as VISEM-Tracking was prepared.

The dataset's videos are 30-s clips of longer recordings; the shorter tail of a
recording is dropped. :func:`clip_video` does the same: it streams the source
once (memory bounded by one frame), re-encodes each clip as browser-playable
H.264 and writes a ``clips.csv`` index. The output folder is one transaction
(:func:`spermtrack.results.result_dir`): built under a temporary name with a
completion marker and swapped into place at the end, never inside the source.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass, replace
from pathlib import Path

from .atomic import atomic_open
from .calibration import Calibration
from .errors import ParameterError, SpermtrackError, VideoError
from .io.frames import open_frames
from .io.video import VideoWriter


@dataclass(frozen=True)
class Clip:
    """One clip cut from a recording.

    Attributes
    ----------
    path : Path
        The clip's ``.mp4``.
    index : int
        0-based clip number.
    first_frame, last_frame : int
        0-based frame range of the source covered by the clip (inclusive).
    start_s, end_s : float
        The same range in seconds of the source (``end_s`` exclusive).
    """

    path: Path
    index: int
    first_frame: int
    last_frame: int
    start_s: float
    end_s: float


class _DropTail(Exception):
    """Raised into the writer of an incomplete last clip so that it is discarded."""


def clip_video(
    video: str | os.PathLike,
    out_dir: str | os.PathLike,
    seconds: float = 30.0,
    fps: float | None = None,
    prefix: str | None = None,
    keep_tail: bool = False,
    crf: int = 18,
    progress: bool = False,
    force: bool = False,
) -> list[Clip]:
    """Cut ``video`` into consecutive clips of ``seconds`` seconds.

    Parameters
    ----------
    video : path-like
        A video file, an image folder or a VISEM video folder.
    out_dir : path-like
        Where ``<prefix>_clip_<k>.mp4`` and ``clips.csv`` are written: a new or
        empty folder, or an earlier clip folder of the same source (replaced whole).
    seconds : float
        Clip length in seconds (30 in VISEM-Tracking). Each clip has
        ``round(seconds * fps)`` frames.
    fps : float, optional
        Frame rate in frames per second (0.1-10000, as ``analyze --fps``); needed for an
        image folder, else read from the video.
    prefix : str, optional
        File name prefix; the source's stem by default.
    keep_tail : bool
        Keep a last clip shorter than ``seconds`` (dropped by default, as the dataset was prepared).
    crf : int
        x264 quality of the re-encoded clips (18: visually lossless).
    progress : bool
        Show a progress bar.
    force : bool
        Replace an ``out_dir`` holding the clips of another source.

    Returns
    -------
    list of Clip
        The clips written, in order.

    Raises
    ------
    VideoError
        The source is missing or unreadable (names the path and frame).
    CalibrationError
        ``fps`` is outside 0.1-10000 frames per second (as :class:`~spermtrack.Calibration`).
    SpermtrackError
        No frame rate is known, ``seconds`` is not positive and finite (a
        :class:`~spermtrack.errors.ParameterError`), or the recording is shorter than
        one clip (and ``keep_tail`` is False).
    """
    from .results import preflight, result_dir

    try:
        seconds = float(seconds)
    except (TypeError, ValueError):
        raise ParameterError(f"seconds must be a number (--seconds S), got {seconds!r}") from None
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ParameterError(f"seconds must be a positive finite number (--seconds S), got {seconds:g}")
    if fps is not None:
        fps = Calibration(None, fps).fps  # the range analyze accepts (0.1-10000 frames per second)
    if not Path(video).exists():
        raise VideoError(f"{video}: no such file or folder")
    preflight(out_dir, video, force=force)
    settings = {"seconds": float(seconds), "fps": fps, "prefix": prefix, "keep_tail": bool(keep_tail), "crf": int(crf)}
    with result_dir(out_dir, kind="clips", source=video, settings=settings, force=force) as tmp:
        clips, rate = _cut(video, tmp, seconds, fps, prefix, keep_tail, crf, progress)
        _write_index(tmp / "clips.csv", clips, video, rate)
    final = Path(out_dir)
    return [replace(c, path=final / c.path.name) for c in clips]


def _cut(video, out_dir: Path, seconds, fps, prefix, keep_tail, crf, progress) -> tuple[list[Clip], float]:
    clips: list[Clip] = []
    with open_frames(video, fps=fps) as src:
        rate = src.fps
        if not rate:
            raise SpermtrackError(
                f"{src.path}: the frame rate is unknown (not stated by the file, no timestamps); pass fps (--fps F)"
            )
        per_clip = max(1, round(seconds * rate))
        stem = prefix or Path(video).stem
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=src.num_frames, unit="frame", desc=f"clip {Path(video).name}")
        writer: VideoWriter | None = None
        n_in_clip = 0
        frame_index = -1
        try:
            for frame_index, frame in enumerate(src):
                if writer is None:
                    k = len(clips)
                    path = out_dir / f"{stem}_clip_{k:03d}.mp4"
                    writer = VideoWriter(path, rate, src.size, crf=crf)
                    n_in_clip = 0
                writer.write(frame)
                n_in_clip += 1
                if n_in_clip == per_clip:
                    writer.close()
                    first = frame_index + 1 - per_clip
                    clips.append(Clip(writer.path, len(clips), first, frame_index, first / rate, (frame_index + 1) / rate))
                    writer = None
                if bar is not None:
                    bar.update(1)
            if writer is not None:
                if keep_tail:
                    writer.close()
                    first = frame_index + 1 - n_in_clip
                    clips.append(Clip(writer.path, len(clips), first, frame_index, first / rate, (frame_index + 1) / rate))
                else:
                    writer.__exit__(_DropTail, _DropTail(), None)
                writer = None
        except BaseException as exc:
            if writer is not None:
                writer.__exit__(type(exc), exc, exc.__traceback__)
            raise
        finally:
            if bar is not None:
                bar.close()
        if frame_index < 0:
            raise VideoError(f"{src.path}: no frames")
        if not clips:
            raise SpermtrackError(
                f"{src.path}: {frame_index + 1} frames ({(frame_index + 1) / rate:.1f} s) is shorter than one "
                f"{seconds:g}-s clip; use keep_tail (--keep-tail) to keep it"
            )
    return clips, rate


def _write_index(path: Path, clips: list[Clip], source, fps: float) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["clip", "file", "source", "fps", "first_frame", "last_frame", "start_s", "end_s"])
    for c in clips:
        w.writerow(
            [c.index, c.path.name, str(source), f"{fps:g}", c.first_frame, c.last_frame, f"{c.start_s:.6g}", f"{c.end_s:.6g}"]
        )
    with atomic_open(path) as fh:
        fh.write(buf.getvalue())
