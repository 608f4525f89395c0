"""Many videos at once, on Dask distributed: batch analysis and pseudo-labelling.

One task per video runs on a Dask worker: a local cluster by default, or a
running Dask scheduler given by its address (``tcp://host:8786``), so the same
command scales from a laptop to many machines (docs/batch.md).

Every video writes its outputs into a hidden temporary folder that is renamed
to its final name only when complete, so a visible output folder is always a
complete one. A rerun skips those and redoes the rest (leftover temporary
folders of interrupted runs are removed). A video that fails is reported with
its error in ``summary.csv`` and the others finish.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .atomic import atomic_dir, atomic_open
from .errors import SpermtrackError, require
from .io.frames import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from .io.visem import is_video_folder

#: Columns of ``summary.csv``, in order.
SUMMARY_COLUMNS = (
    "video",
    "source",
    "status",
    "error",
    "output",
    "frames",
    "seconds",
    "frames_per_s",
    "tracks",
    "valid_tracks",
    "progressive_pct",
    "motile_pct",
    "vcl_mean",
    "vsl_mean",
    "vap_mean",
    "speed_unit",
    "worker",
)


@dataclass(frozen=True)
class AnalysisOptions:
    """Settings of each video's analysis (the arguments of :func:`spermtrack.analyze`).

    Attributes
    ----------
    detector : str
        Detector name (``auto``, ``classical``, ``yolo:WEIGHTS``, ...).
    um_per_px : float, optional
        µm per pixel; without it results are in pixels.
    fps : float, optional
        Frame rate override (needed for image folders).
    visem_calibration : bool
        Use the VISEM-Tracking estimate of 0.25 µm/px.
    tracker : str, optional
        Path of a tracker configuration JSON.
    max_frames : int, optional
        Analyse only the first frames of each video.
    overlay : bool
        Render ``overlay.mp4`` (batch only).
    report : bool
        Write plots and ``report.html`` (batch only).
    """

    detector: str = "auto"
    um_per_px: float | None = None
    fps: float | None = None
    visem_calibration: bool = False
    tracker: str | None = None
    max_frames: int | None = None
    overlay: bool = True
    report: bool = True

    def analyze_kwargs(self) -> dict:
        """Keyword arguments for :func:`spermtrack.analyze`."""
        return {
            "detector": self.detector,
            "um_per_px": self.um_per_px,
            "fps": self.fps,
            "visem_calibration": self.visem_calibration,
            "tracker": self.tracker,
            "max_frames": self.max_frames,
        }


@dataclass(frozen=True)
class Job:
    """One video to process: its source and the output folder it owns."""

    name: str
    source: str
    output: str


@dataclass
class BatchResult:
    """What a batch run did.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per video (``SUMMARY_COLUMNS``); ``status`` is ``done``, ``skipped``
        (complete outputs found) or ``failed`` (``error`` says why).
    summary_path : Path
        ``summary.csv``.
    seconds : float
        Wall time of the run.
    """

    summary: Any
    summary_path: Path
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)


# ---------------------------------------------------------------------------- inputs
def expand_inputs(inputs: Iterable[str | os.PathLike]) -> list[Path]:
    """Turn command-line inputs into video sources.

    Each input may be a video file, an image folder, a VISEM video folder, or a
    folder holding any of those (searched recursively; e.g. a VISEM-Tracking
    root or a folder of clips). Order is kept; duplicates are dropped.

    Raises
    ------
    SpermtrackError
        An input does not exist or holds no video.
    """
    out: list[Path] = []
    seen: set[Path] = set()
    for item in inputs:
        p = Path(item)
        if not p.exists():
            raise SpermtrackError(f"{p}: no such file or folder")
        found = _sources_in(p)
        if not found:
            raise SpermtrackError(
                f"{p}: no video here (expected a video file {VIDEO_EXTENSIONS}, an image folder or a VISEM video folder)"
            )
        for f in found:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out


def _sources_in(p: Path) -> list[Path]:
    if p.is_file():
        return [p] if p.suffix.lower() in VIDEO_EXTENSIONS else []
    if is_video_folder(p):
        return [p]
    entries = sorted(p.iterdir(), key=lambda e: _natural(e.name))
    if any(e.is_file() and e.suffix.lower() in IMAGE_EXTENSIONS for e in entries):
        return [p]
    found: list[Path] = []
    for e in entries:
        if e.name.startswith("."):
            continue
        found.extend(_sources_in(e))
    return found


def _natural(name: str):
    from .io.frames import natural_key

    return natural_key(name)


def plan_jobs(sources: Sequence[Path], out_dir: Path) -> list[Job]:
    """One job per source, each with its own output folder named after the source (made unique)."""
    jobs, used = [], set()
    for src in sources:
        base = src.stem if src.suffix.lower() in VIDEO_EXTENSIONS else src.name
        name, k = base, 1
        while name in used:
            k += 1
            name = f"{base}_{k}"
        used.add(name)
        jobs.append(Job(name=name, source=str(src), output=str(out_dir / name)))
    return jobs


def is_complete(output: str | os.PathLike) -> bool:
    """True when a job's output folder exists: folders appear only when complete (atomic rename)."""
    return Path(output).is_dir()


def clean_partials(out_dir: Path, names: Iterable[str]) -> int:
    """Remove temporary folders left by interrupted runs for these job names; returns how many."""
    removed = 0
    if not out_dir.is_dir():
        return 0
    names = set(names)
    for entry in out_dir.iterdir():
        if entry.is_dir() and entry.name.startswith(".") and entry.name.endswith(".part"):
            stem = entry.name[1:].rsplit(".", 2)[0]
            if stem in names:
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
    return removed


# ---------------------------------------------------------------------------- tasks (run on workers)
def analyze_task(job: Job, options: AnalysisOptions) -> dict:
    """Analyse one video and save every output into ``job.output`` (atomically); returns a summary row.

    Never raises for a bad video: the error goes into the row (``status='failed'``).
    """
    return _guarded(job, lambda: _analyze_and_save(job, options))


def pseudo_label_task(job: Job, options: AnalysisOptions) -> dict:
    """Detect and track one clip and write it in the VISEM-Tracking layout; returns a summary row."""
    return _guarded(job, lambda: _pseudo_label(job, options))


def _guarded(job: Job, work: Callable[[], dict]) -> dict:
    t0 = time.perf_counter()
    row = {c: None for c in SUMMARY_COLUMNS}
    row.update(video=job.name, source=job.source, output=job.output, worker=_worker_name())
    try:
        row.update(work())
        row["status"] = "done"
    except Exception as exc:  # a failed video must not stop the others
        row["status"] = "failed"
        row["error"] = f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, SpermtrackError):
            row["error"] += " | " + traceback.format_exc(limit=3).strip().splitlines()[-2].strip()
    row["seconds"] = round(time.perf_counter() - t0, 3)
    if row.get("frames"):
        row["frames_per_s"] = round(row["frames"] / max(row["seconds"], 1e-9), 2)
    return row


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return "local"


def _analyze_and_save(job: Job, options: AnalysisOptions) -> dict:
    from .pipeline import analyze

    analysis = analyze(job.source, **options.analyze_kwargs())
    with atomic_dir(job.output, overwrite=True) as tmp:
        analysis.save(tmp, overlay=options.overlay, report=options.report)
    return _row_from_analysis(analysis)


def _row_from_analysis(analysis) -> dict:
    """The summary-table columns of one analysis, read from its sample summary (summary.json)."""
    s = analysis.summary
    speeds = s.get("speeds", {})
    return {
        "frames": int(analysis.num_frames),
        "tracks": int(s["counts"]["tracks"]),
        "valid_tracks": int(s["counts"]["valid_tracks"]),
        "progressive_pct": s.get("progressive_percent"),
        "motile_pct": s.get("total_motility_percent"),
        **{f"{c}_mean": (speeds.get(c) or {}).get("mean") for c in ("vcl", "vsl", "vap")},
        "speed_unit": analysis.calibration.speed_unit,
    }


def _pseudo_label(job: Job, options: AnalysisOptions) -> dict:
    import numpy as np

    from .boxes import UNTRACKED
    from .io.frames import open_frames
    from .io.visem import write_video
    from .pipeline import analyze

    analysis = analyze(job.source, **options.analyze_kwargs())
    tracks = analysis.tracks
    out = Path(job.output)
    with open_frames(job.source, fps=options.fps) as src:
        n = tracks.num_frames
        frames = _first(src, n)
        folder = write_video(
            out.parent, out.name, tracks, frames=frames, fps=analysis.calibration.fps, image_size=src.size, overwrite=True
        )
    # Scores and per-track confidence next to the labels, for the expert's review.
    w, h = analysis.image_size
    names = _read_track_names(folder)
    order, ids, offsets = tracks.by_track()
    mean_score = np.zeros(len(tracks), np.float64)
    for k in range(len(ids)):
        rows = order[offsets[k] : offsets[k + 1]]
        mean_score[rows] = tracks.score[rows].mean()
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\n")
    wr.writerow(["frame", "track_id", "track_name", "class", "cx", "cy", "w", "h", "score", "track_mean_score"])
    cx, cy = tracks.cx / w, tracks.cy / h
    bw, bh = tracks.width / w, tracks.height / h
    for i in range(len(tracks)):
        tid = int(tracks.track_id[i])
        wr.writerow(
            [
                int(tracks.frame[i]),
                tid,
                names.get(tid, "") if tid != UNTRACKED else "",
                int(tracks.cls[i]),
                f"{cx[i]:.6f}",
                f"{cy[i]:.6f}",
                f"{bw[i]:.6f}",
                f"{bh[i]:.6f}",
                f"{tracks.score[i]:.4f}",
                f"{mean_score[i]:.4f}",
            ]
        )
    with atomic_open(folder / "pseudo_labels.csv") as fh:
        fh.write(buf.getvalue())
    row = _row_from_analysis(analysis)
    row["output"] = str(folder)
    return row


def _first(src, n: int):
    for i, frame in enumerate(src):
        if i >= n:
            return
        yield frame


def _read_track_names(folder: Path) -> dict[int, str]:
    import json

    meta = json.loads((folder / "spermtrack.json").read_text(encoding="utf-8"))
    return {int(k): v for k, v in meta.get("track_names", {}).items()}


# ---------------------------------------------------------------------------- running
def run_batch(
    inputs: Iterable[str | os.PathLike],
    out_dir: str | os.PathLike,
    options: AnalysisOptions | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    task: str = "analyze",
    rerun: bool = False,
    progress: bool = True,
) -> BatchResult:
    """Process many videos in parallel on Dask distributed.

    Parameters
    ----------
    inputs : paths
        Videos, image folders, VISEM video folders or folders of them (see :func:`expand_inputs`).
    out_dir : path
        One sub-folder per video plus ``summary.csv``.
    options : AnalysisOptions
        Analysis settings (detector, calibration, ...).
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``); a local cluster when omitted.
    workers : int, optional
        Workers of the local cluster (one process per worker, one thread each); the
        number of CPU cores by default. Ignored with ``scheduler``.
    task : {"analyze", "pseudo-label"}
        What to do with each video.
    rerun : bool
        Redo videos whose complete outputs exist (they are skipped by default).
    progress : bool
        Progress bar with videos done and frames per second.

    Returns
    -------
    BatchResult
    """
    import pandas as pd

    options = options or AnalysisOptions()
    fn = {"analyze": analyze_task, "pseudo-label": pseudo_label_task}.get(task)
    if fn is None:
        raise SpermtrackError(f"task must be 'analyze' or 'pseudo-label', got {task!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jobs = plan_jobs(expand_inputs(inputs), out)
    clean_partials(out, [j.name for j in jobs])
    rows: dict[str, dict] = {}
    todo = []
    for job in jobs:
        if not rerun and is_complete(job.output):
            rows[job.name] = {**{c: None for c in SUMMARY_COLUMNS}, **_previous_row(out, job), "status": "skipped"}
        else:
            todo.append(job)
    t0 = time.perf_counter()
    if todo:
        for row in _run_on_dask(fn, todo, options, scheduler, workers, progress):
            rows[row["video"]] = row
    seconds = time.perf_counter() - t0
    table = pd.DataFrame([rows[j.name] for j in jobs], columns=list(SUMMARY_COLUMNS))
    for col in ("frames", "tracks", "valid_tracks"):
        table[col] = pd.to_numeric(table[col]).astype("Int64")
    summary_path = out / "summary.csv"
    with atomic_open(summary_path, newline="") as fh:
        table.to_csv(fh, index=False, lineterminator="\n")
    counts = table["status"].value_counts().to_dict()
    return BatchResult(table, summary_path, seconds, {k: int(v) for k, v in counts.items()})


def _previous_row(out: Path, job: Job) -> dict:
    """The row of an earlier run for a skipped video (from the old summary.csv), else the basics."""
    base = {"video": job.name, "source": job.source, "output": job.output}
    path = out / "summary.csv"
    if path.is_file():
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row.get("video") == job.name and row.get("status") in ("done", "skipped"):
                    return {**{k: (v if v != "" else None) for k, v in row.items()}, **base}
    return base


def _run_on_dask(fn, jobs: list[Job], options: AnalysisOptions, scheduler: str | None, workers: int | None, progress: bool):
    distributed = require("distributed", "dist", "batch processing on Dask")
    from tqdm.auto import tqdm

    if scheduler:
        client = distributed.Client(scheduler, timeout="30s")
        cluster = None
    else:
        n = workers or os.cpu_count() or 1
        cluster = distributed.LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,
        )
        client = distributed.Client(cluster)
    try:
        futures = {
            client.submit(fn, job, options, key=f"{fn.__name__}-{job.name}-{time.time_ns()}", pure=False): job for job in jobs
        }
        bar = tqdm(total=len(jobs), unit="video", desc="videos", disable=not progress)
        frames, failed, t0 = 0, 0, time.perf_counter()
        try:
            for fut in distributed.as_completed(futures):
                job = futures[fut]
                try:
                    row = fut.result()
                except Exception as exc:  # the worker itself died (KilledWorker) or similar
                    row = {c: None for c in SUMMARY_COLUMNS}
                    row.update(video=job.name, source=job.source, output=job.output, status="failed")
                    row["error"] = f"{type(exc).__name__}: {exc}"
                frames += int(row.get("frames") or 0) if row["status"] == "done" else 0
                failed += row["status"] == "failed"
                bar.update(1)
                bar.set_postfix(frames_per_s=f"{frames / max(time.perf_counter() - t0, 1e-9):.1f}", failed=failed)
                yield row
        finally:
            bar.close()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def describe(result: BatchResult) -> str:
    """One-paragraph text summary of a batch run."""
    c = result.counts
    lines = [
        f"{len(result.summary)} videos: {c.get('done', 0)} done, {c.get('skipped', 0)} skipped (complete), "
        f"{c.get('failed', 0)} failed in {result.seconds:.1f} s; summary: {result.summary_path}"
    ]
    failed = result.summary[result.summary["status"] == "failed"]
    for r in failed.itertuples(index=False):
        lines.append(f"  FAILED {r.video}: {r.error}")
    return "\n".join(lines)


__all__ = [
    "SUMMARY_COLUMNS",
    "AnalysisOptions",
    "BatchResult",
    "Job",
    "analyze_task",
    "clean_partials",
    "describe",
    "expand_inputs",
    "is_complete",
    "plan_jobs",
    "pseudo_label_task",
    "run_batch",
]
