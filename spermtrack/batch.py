"""Many videos at once, on Dask distributed: batch analysis and pseudo-labelling.

One task per video runs on a Dask worker: a local cluster by default, or a
running Dask scheduler given by its address (``tcp://host:8786``), so the same
command scales from a laptop to many machines (docs/batch.md).

Every video writes its outputs through :func:`spermtrack.results.result_dir`:
built in a hidden temporary folder, swapped into place in one rename, with a
completion marker recording the source and every setting. A rerun skips a
video only when its folder's marker matches the source and the settings (and
says why it redoes the others); leftovers of interrupted runs are cleaned. A
video that fails is reported with its error in ``summary.csv`` and the others
finish. Inputs are resolved (``.``, ``..``, symbolic links) before jobs are
named, and no output may lie inside an input.
"""

from __future__ import annotations

import contextlib
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

from .atomic import atomic_open
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
    "progressive_ci95_low",
    "progressive_ci95_high",
    "motile_pct",
    "vcl_mean",
    "vsl_mean",
    "vap_mean",
    "speed_unit",
    "worker",
)


@dataclass(frozen=True)
class AnalysisOptions:
    """Deprecated: the few settings ``batch`` used to ship to its workers; pass an
    :class:`~spermtrack.analysis.AnalysisConfig` to :func:`run_batch` instead (every setting).

    :meth:`to_config` gives the equivalent config; ``force`` became an argument of :func:`run_batch`.
    """

    detector: str = "auto"
    um_per_px: float | None = None
    fps: float | None = None
    visem_calibration: bool = False
    tracker: str | None = None
    max_frames: int | None = None
    overlay: bool = True
    report: bool = True
    force: bool = False

    def to_config(self):
        """The :class:`~spermtrack.analysis.AnalysisConfig` of these options."""
        from .analysis.config import AnalysisConfig, _load_tracker

        return AnalysisConfig(
            detector=self.detector,
            tracker=None if self.tracker is None else _load_tracker(self.tracker),
            calibration={"um_per_px": self.um_per_px, "fps": self.fps, "visem_calibration": self.visem_calibration},
            max_frames=self.max_frames,
            outputs={"overlay": self.overlay, "report": self.report},
        )

    def settings(self, task: str = "analyze") -> dict:
        """Every setting of one video's job, as recorded in its completion marker."""
        return job_settings(self.to_config(), task)

    def analyze_kwargs(self) -> dict:
        """Keyword arguments for :func:`spermtrack.analyze` (``config=``)."""
        return {"config": self.to_config()}


def job_settings(config, task: str = "analyze") -> dict:
    """The settings a job's completion marker records: the whole config (less the outputs for pseudo-labels)."""
    settings = config.to_dict()
    if task != "analyze":
        settings.pop("outputs", None)
        settings["task"] = task
    return settings


def _as_config(options):
    """An AnalysisConfig from a config, None (defaults) or the deprecated :class:`AnalysisOptions`."""
    import warnings

    from .analysis.config import AnalysisConfig

    if options is None:
        return AnalysisConfig(), False
    if isinstance(options, AnalysisOptions):
        warnings.warn(
            "spermtrack.batch.AnalysisOptions is deprecated: pass a spermtrack.AnalysisConfig (and force=) to run_batch",
            DeprecationWarning,
            stacklevel=3,
        )
        return options.to_config(), options.force
    if not isinstance(options, AnalysisConfig):
        from .errors import ParameterTypeError

        raise ParameterTypeError(f"config must be a spermtrack.AnalysisConfig, got {type(options).__name__}")
    return options, False


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
        (a complete result of the same source and settings found), ``failed`` (``error``
        says why) or ``interrupted`` (Ctrl-C came first; written before the interrupt goes on).
    summary_path : Path
        ``summary.csv``.
    seconds : float
        Wall time of the run.
    counts : dict status -> int
    notes : dict video -> str
        Why each video whose folder existed was redone (settings or source changed, incomplete, ``--rerun``).
    """

    summary: Any
    summary_path: Path
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


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
    from .results import resolve_path

    out: list[Path] = []
    seen: set[Path] = set()
    for item in inputs:
        p = resolve_path(item)  # '.', '..' and links resolved: a job is named after the real folder
        if not p.exists():
            raise SpermtrackError(f"{item}: no such file or folder")
        found = _sources_in(p, set())
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


def _sources_in(p: Path, visited: set[Path]) -> list[Path]:
    if p.is_file():
        return [p] if p.suffix.lower() in VIDEO_EXTENSIONS else []
    if not p.is_dir():  # a broken link or a link loop
        return []
    real = p.resolve()
    if real in visited:  # a link back to a folder already searched
        return []
    visited.add(real)
    if is_video_folder(p):
        return [p]
    try:
        entries = sorted(p.iterdir(), key=lambda e: _natural(e.name))
    except OSError as exc:
        raise SpermtrackError(f"{p}: cannot list the folder ({exc.strerror or exc})") from None
    if any(e.is_file() and e.suffix.lower() in IMAGE_EXTENSIONS for e in entries):
        return [p]
    found: list[Path] = []
    for e in entries:
        if e.name.startswith("."):
            continue
        found.extend(_sources_in(e, visited))
    return found


def _natural(name: str):
    from .io.frames import natural_key

    return natural_key(name)


def plan_jobs(sources: Sequence[Path], out_dir: Path) -> list[Job]:
    """One job per source, each with its own output folder named after the source (made unique).

    Sources are resolved first (``.`` is named after the folder it stands for); a
    name is never empty nor hidden, and at most 200 bytes.
    """
    from .results import resolve_path

    jobs, used = [], set()
    out_dir = Path(out_dir)
    for src in sources:
        src = resolve_path(src)
        base = src.stem if src.suffix.lower() in VIDEO_EXTENSIONS else src.name
        base = base.lstrip(".") or "video"
        base = base.encode("utf-8", "surrogateescape")[:200].decode("utf-8", "ignore") or "video"
        name, k = base, 1
        while name in used:
            k += 1
            name = f"{base}_{k}"
        used.add(name)
        jobs.append(Job(name=name, source=str(src), output=str(out_dir / name)))
    return jobs


def is_complete(output: str | os.PathLike, source=None, settings=None) -> bool:
    """True when a job's output folder is a complete result of ``source`` with ``settings`` (its marker matches)."""
    return why_redo(output, source, settings) is None


def why_redo(output: str | os.PathLike, source=None, settings=None) -> str | None:
    """None when ``output`` is up to date, else why the job must run (see :func:`spermtrack.results.up_to_date`)."""
    from .results import up_to_date

    return up_to_date(output, source, settings)


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
def analyze_task(job: Job, config, force: bool = False) -> dict:
    """Analyse one video with ``config`` (an AnalysisConfig) and save every output into ``job.output``
    (atomically); returns a summary row.

    Never raises for a bad video: the error goes into the row (``status='failed'``).
    """
    config, old_force = _as_config(config)
    return _guarded(job, lambda: _analyze_and_save(job, config, force or old_force))


def pseudo_label_task(job: Job, config, force: bool = False) -> dict:
    """Detect and track one clip and write it in the VISEM-Tracking layout; returns a summary row."""
    config, old_force = _as_config(config)
    return _guarded(job, lambda: _pseudo_label(job, config, force or old_force))


def _guarded(job: Job, work: Callable[[], dict]) -> dict:
    t0 = time.perf_counter()
    row = {c: None for c in SUMMARY_COLUMNS}
    row.update(video=job.name, source=job.source, output=job.output, worker=_worker_name())
    try:
        row.update(work())
        row["status"] = "done"
    except Exception as exc:  # a failed video must not stop the others
        row["status"] = "failed"
        row["output"] = None  # the job left no result (an older one there is not of this run)
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


def _analyze_and_save(job: Job, config, force: bool) -> dict:
    from .analysis import analyze
    from .results import preflight

    preflight(job.output, job.source, force=force)  # refuse a foreign folder before the work
    analysis = analyze(job.source, config)
    analysis.save(job.output, force=force)
    return _row_from_analysis(analysis)


def _row_from_analysis(analysis) -> dict:
    """The summary-table columns of one analysis, read from its sample summary (summary.json)."""
    return _row_from_summary(analysis.summary)


def _row_from_summary(s: dict) -> dict:
    """The summary-table columns of a sample summary (the content of summary.json)."""
    speeds = s.get("speeds", {})
    low, high = s.get("progressive_ci95") or (None, None)
    return {
        "frames": int(s["video"]["num_frames"]),
        "tracks": int(s["counts"]["tracks"]),
        "valid_tracks": int(s["counts"]["valid_tracks"]),
        "progressive_pct": s.get("progressive_percent"),
        "progressive_ci95_low": low,
        "progressive_ci95_high": high,
        "motile_pct": s.get("total_motility_percent"),
        **{f"{c}_mean": (speeds.get(c) or {}).get("mean") for c in ("vcl", "vsl", "vap")},
        "speed_unit": s.get("calibration", {}).get("speed_unit"),
    }


def _pseudo_label(job: Job, config, force: bool) -> dict:
    import warnings

    from .analysis import analyze
    from .errors import UncalibratedWarning
    from .results import preflight, result_dir

    preflight(job.output, job.source, force=force)
    with warnings.catch_warnings():  # pseudo-labels hold boxes and tracks, no speeds or grades to compare with WHO's
        warnings.simplefilter("ignore", UncalibratedWarning)
        analysis = analyze(job.source, config)
    settings = job_settings(config, "pseudo-label")
    with result_dir(job.output, kind="pseudo-label", source=job.source, settings=settings, force=force) as tmp:
        _write_pseudo_labels(job, config, analysis, tmp)
    return _row_from_analysis(analysis)


def _write_pseudo_labels(job: Job, config, analysis, tmp: Path) -> None:
    """Write the VISEM layout of one pseudo-labelled clip into the (temporary) folder ``tmp``."""
    import numpy as np

    from .boxes import UNTRACKED
    from .io.frames import open_frames
    from .io.visem import write_video

    tracks = analysis.tracks
    with open_frames(job.source, fps=config.calibration.fps) as src:
        n = tracks.num_frames
        frames = _first(src, n)
        built = write_video(tmp, job.name, tracks, frames=frames, fps=analysis.calibration.fps, image_size=src.size)
    for entry in list(built.iterdir()):  # the video folder's content becomes the result folder's
        os.replace(entry, tmp / entry.name)
    built.rmdir()
    folder = tmp
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
    config=None,
    scheduler: str | None = None,
    workers: int | None = None,
    task: str = "analyze",
    rerun: bool = False,
    progress: bool = True,
    force: bool = False,
) -> BatchResult:
    """Process many videos in parallel on Dask distributed.

    Parameters
    ----------
    inputs : paths
        Videos, image folders, VISEM video folders or folders of them (see :func:`expand_inputs`).
    out_dir : path
        One sub-folder per video plus ``summary.csv``.
    config : AnalysisConfig
        Every analysis setting (detector, tracker, CASA, calibration, outputs, ...), shipped
        whole to the workers and recorded in each video's ``summary.json`` (the deprecated
        :class:`AnalysisOptions` is still taken). Pseudo-labelling writes no overlay or report.
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
    force : bool
        Replace job folders that hold the result of another source of the same name.

    Returns
    -------
    BatchResult
    """
    config, old_force = _as_config(config)
    force = force or old_force
    if task == "pseudo-label":
        config = config.updated({"outputs": {"overlay": False, "report": False}})
    fn = {"analyze": analyze_task, "pseudo-label": pseudo_label_task}.get(task)
    if fn is None:
        raise SpermtrackError(f"task must be 'analyze' or 'pseudo-label', got {task!r}")
    from .results import check_output

    sources = expand_inputs(inputs)
    out = check_output(out_dir, [p for p in (resolve_input(i) for i in inputs) if p.is_dir()], what="--out")
    _check_summary(out / "summary.csv")
    jobs = plan_jobs(sources, out)
    for job in jobs:
        check_output(job.output, [job.source])
    made = [p for p in (out, *out.parents) if not p.exists()]  # removed again when the run fails with them empty
    out.mkdir(parents=True, exist_ok=True)
    try:
        return _run_locked(out, jobs, fn, config, task, rerun, force, scheduler, workers, progress)
    except BaseException:
        for p in made:
            try:
                p.rmdir()
            except OSError:
                break
        raise


def _check_summary(path: Path) -> None:
    """Refuse a ``summary.csv`` spermtrack did not write (a user's file): it would be replaced."""
    from .errors import OutputError

    if not path.exists() and not path.is_symlink():
        return
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            header = next(csv.reader([fh.readline()]), [])
    except (OSError, UnicodeDecodeError):
        header = []
    if header[:3] != list(SUMMARY_COLUMNS[:3]) or not set(header) <= set(SUMMARY_COLUMNS):
        raise OutputError(
            f"{path}: exists and is not a summary written by spermtrack batch (its header differs); spermtrack "
            "replaces only its own files: choose another --out"
        )


def _run_locked(out: Path, jobs: list[Job], fn, config, task, rerun, force, scheduler, workers, progress) -> BatchResult:
    from .results import lock

    settings = job_settings(config, task)
    with lock(out):
        clean_partials(out, [j.name for j in jobs])
        _recover_jobs(jobs)
        rows: dict[str, dict] = {}
        notes: dict[str, str] = {}
        todo = []
        for job in jobs:
            why = why_redo(job.output, job.source, settings)
            if not rerun and why is None:
                rows[job.name] = {**{c: None for c in SUMMARY_COLUMNS}, **_previous_row(out, job), "status": "skipped"}
            else:
                todo.append(job)
                if Path(job.output).exists():
                    notes[job.name] = "--rerun" if why is None else why
        t0 = time.perf_counter()
        try:
            if todo:
                for row in _run_on_dask(fn, todo, config, force, scheduler, workers, progress):
                    rows[row["video"]] = row
        except KeyboardInterrupt:  # keep what finished: summary.csv lists it, the rest as interrupted
            for job in jobs:
                if job.name not in rows:
                    done = why_redo(job.output, job.source, settings) is None
                    rows[job.name] = {**_interrupted_row(job), **(_finished_row(out, job) if done else {})}
            _write_summary(out, jobs, rows)
            raise
        seconds = time.perf_counter() - t0
        table = _write_summary(out, jobs, rows)
    counts = table["status"].value_counts().to_dict()
    return BatchResult(table, out / "summary.csv", seconds, {k: int(v) for k, v in counts.items()}, notes)


def resolve_input(item: str | os.PathLike) -> Path:
    """An input path with ``.``, ``..`` and links resolved (:func:`spermtrack.results.resolve_path`)."""
    from .results import resolve_path

    return resolve_path(item)


def _recover_jobs(jobs: list[Job]) -> None:
    """Repair what interrupted writes left beside each job folder (even one that will be skipped).

    A job folder another process is writing right now is left alone.
    """
    from .results import ResultLockedError, lock, recover

    for job in jobs:
        try:
            with lock(Path(job.output)):
                recover(job.output)
        except ResultLockedError:
            continue


def _finished_row(out: Path, job: Job) -> dict:
    """The row of a video whose worker finished although its result had not reached us before Ctrl-C."""
    return {**_previous_row(out, job), "status": "done", "error": None}


def _interrupted_row(job: Job) -> dict:
    row = {c: None for c in SUMMARY_COLUMNS}
    row.update(video=job.name, source=job.source, output=None, status="interrupted")
    row["error"] = "interrupted before this video finished (Ctrl-C); a rerun does it"
    return row


def _write_summary(out: Path, jobs: list[Job], rows: dict[str, dict]):
    import pandas as pd

    table = pd.DataFrame([rows[j.name] for j in jobs], columns=list(SUMMARY_COLUMNS))
    for col in ("frames", "tracks", "valid_tracks"):
        table[col] = pd.to_numeric(table[col]).astype("Int64")
    with atomic_open(out / "summary.csv", newline="") as fh:
        table.to_csv(fh, index=False, lineterminator="\n")
    return table


#: Statuses of ``summary.csv`` whose job left a complete result folder.
COMPLETE_STATUSES = ("done", "skipped")


def is_batch_folder(folder: str | os.PathLike) -> bool:
    """True when ``folder`` is a ``batch`` / ``pseudo-label`` ``--out`` folder: a ``summary.csv`` with
    batch's header and no completion marker of its own."""
    from .errors import OutputError
    from .results import MARKER

    folder = Path(folder)
    if (folder / MARKER).exists() or not (folder / "summary.csv").is_file():
        return False
    try:
        _check_summary(folder / "summary.csv")
    except OutputError:
        return False
    return True


def verify_batch(out: str | os.PathLike, hashes: bool = True) -> list:
    """Check a batch ``--out`` folder job by job (``spermtrack verify``); one
    :class:`~spermtrack.results.Verification` per job.

    A job that ``summary.csv`` lists ``done`` or ``skipped`` must be a complete result folder
    (``<out>/<video>``, :func:`spermtrack.results.verify`); a job listed ``failed`` or
    ``interrupted`` is incomplete, with its error (the batch left no result for it); a job
    folder the summary does not list is checked as well.
    """
    from .results import Verification, verify

    out = Path(out)
    checks = []
    listed = set()
    with open(out / "summary.csv", newline="", encoding="utf-8", errors="replace") as fh:
        rows = list(csv.DictReader(fh))
    for k, row in enumerate(rows, start=2):  # line 1 is the header
        name = row.get("video") or ""
        folder = out / name
        if not name or Path(name).name != name or name.startswith("."):
            checks.append(
                Verification(out / "summary.csv", False, [f"{out / 'summary.csv'}, line {k}: no usable video name ({name!r})"])
            )
            continue
        listed.add(name)
        status = row.get("status") or ""
        if status in COMPLETE_STATUSES:
            checks.append(verify(folder, hashes=hashes))
            continue
        error = " ".join((row.get("error") or "no error recorded").split())
        error = error if len(error) <= 300 else error[:300] + "..."
        checks.append(
            Verification(folder, False, [f"summary.csv lists the batch job {name} as {status or 'without a status'}: {error}"])
        )
    for job in sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name not in listed):
        checks.append(verify(job, hashes=hashes))
    return checks


def _previous_row(out: Path, job: Job) -> dict:
    """The row of a skipped video: its numbers from its own summary.json, else from the old summary.csv."""
    import json

    base = {"video": job.name, "source": job.source, "output": job.output}
    try:
        summary = json.loads((Path(job.output) / "summary.json").read_text(encoding="utf-8"))
        return {**_row_from_summary(summary), **base}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    path = out / "summary.csv"
    if path.is_file():
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row.get("video") == job.name and row.get("status") in COMPLETE_STATUSES:
                    return {**{k: (v if v != "" else None) for k, v in row.items()}, **base}
    return base


def _run_on_dask(fn, jobs: list[Job], config, force: bool, scheduler: str | None, workers: int | None, progress: bool):
    distributed = require("distributed", "dist", "batch processing on Dask")
    from tqdm.auto import tqdm

    if scheduler:
        client = distributed.Client(scheduler, timeout="30s")
        cluster = None
    else:
        n = workers or os.cpu_count() or 1
        with _workers_ignore_sigint():
            cluster = distributed.LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=50,
            )
        client = distributed.Client(cluster)
    try:
        futures = {
            client.submit(fn, job, config, force, key=f"{fn.__name__}-{job.name}-{time.time_ns()}", pure=False): job
            for job in jobs
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
                    row.update(video=job.name, source=job.source, output=None, status="failed")
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


@contextlib.contextmanager
def _workers_ignore_sigint():
    """Start worker processes with Ctrl-C ignored: this process handles it and closes them (no worker tracebacks)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


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
    for video, why in result.notes.items():
        lines.append(f"  redone {video}: {why}")
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
    "job_settings",
    "is_complete",
    "plan_jobs",
    "pseudo_label_task",
    "run_batch",
    "verify_batch",
]
