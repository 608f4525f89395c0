"""Writing an :class:`~spermtrack.analysis.result.Analysis` to disk: :func:`save` and its writers.

One result folder, written as one transaction (:func:`spermtrack.results.result_dir`)::

    tracks.txt        MOTChallenge lines, class in the 8th column (1-based frames)
    labels_ftid/      VISEM-Tracking track labels, one file per frame with boxes
    track_ids.csv     track_id (tracks.txt, kinematics.csv, the report) -> labels_ftid id
    kinematics.csv    one row per track (spermtrack.kinematics.casa)
    summary.json      spermtrack.analysis.summary.build_summary, with the whole config
    overlay.mp4       the tracks drawn over the video (a second pass over the source)
    plots/, report.html
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from dataclasses import replace
from pathlib import Path

from ..atomic import atomic_dir, atomic_open
from ..errors import SpermtrackError
from ..jsonutil import to_jsonable
from .config import AnalysisConfig

#: Every file and folder :func:`save` writes (with the overlay and report on).
OUTPUT_FILES = (
    "tracks.txt",
    "labels_ftid",
    "track_ids.csv",
    "kinematics.csv",
    "summary.json",
    "overlay.mp4",
    "plots",
    "report.html",
)


def effective_config(
    config: AnalysisConfig,
    overlay: bool | None = None,
    report: bool | None = None,
    style=None,
    embed_video: bool | None = None,
    highlight: int | None = None,
) -> AnalysisConfig:
    """``config`` with the output options of a :func:`save` call applied (None keeps the config's)."""
    changes: dict = {}
    if overlay is not None:
        changes["overlay"] = bool(overlay)
    if report is not None:
        changes["report"] = bool(report)
    if highlight is not None:
        changes["highlight"] = highlight
    if embed_video is False:
        changes["link_video"] = True
    if style is not None:
        changes["opacity"] = float(style.opacity)
        changes["trail_s"] = float(style.trail_s)
    return config.updated({"outputs": changes}) if changes else config


def save(
    analysis,
    out_dir: str | Path,
    overlay: bool | None = None,
    report: bool | None = None,
    style=None,
    embed_video: bool | None = None,
    progress: bool = False,
    highlight: int | None = None,
    force: bool = False,
) -> dict[str, Path]:
    """Write every output of ``analysis`` into ``out_dir`` as one transaction (docs/reliability.md).

    Writes ``tracks.txt`` (MOTChallenge, class in the 8th column), ``labels_ftid/``
    (VISEM-Tracking track labels, one file per frame with boxes), ``track_ids.csv`` (the
    labels' string id of each track number), ``kinematics.csv``, ``summary.json``,
    ``overlay.mp4`` (H.264, drawn in a second pass over the source), ``plots/*.png``,
    ``report.html`` and the completion marker ``.spermtrack.json`` (source fingerprint,
    spermtrack version, the whole config, every file's size and SHA-256). The folder is
    built under a hidden temporary name and swapped into place in one rename at the end,
    so ``out_dir`` always holds either the complete previous result or the complete new
    one, never a mix; a second process writing the same folder is refused.

    Parameters
    ----------
    analysis : Analysis
    out_dir : path
        Output folder: new, empty, or an earlier spermtrack result (replaced whole). It must
        not be, contain or lie inside the source.
    overlay, report : bool, optional
        Render ``overlay.mp4`` / write ``plots/`` and ``report.html`` (default: the config's
        ``outputs``).
    style : spermtrack.viz.overlay.OverlayStyle, optional
        Look of the overlay (default: opacity and trail length of the config).
    embed_video : bool or None
        ``False`` links the video from the report instead of embedding it.
    progress : bool
        Progress bars on stderr.
    highlight : int, optional
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
        ``out_dir`` overlaps the source, holds files spermtrack did not write, or holds the
        result of another source (without ``force``).
    spermtrack.results.ResultLockedError
        Another process is writing ``out_dir``.
    """
    from ..results import result_dir

    config = effective_config(analysis.config, overlay, report, style, embed_video, highlight)
    on_disk = analysis._frames is None  # frames in memory have no file to fingerprint or protect
    if config.outputs.overlay and not on_disk and not hasattr(analysis._frames, "__len__"):
        raise SpermtrackError(
            f"{analysis.source}: the overlay video needs a second pass over the frames, which a one-pass iterable cannot "
            "give: save with overlay=False, or analyse an array or a file"
        )
    source = analysis.source if on_disk else None
    with result_dir(out_dir, kind="analysis", source=source, settings=config.to_dict(), force=force) as tmp:
        written = write_outputs(analysis, tmp, config, progress=progress, style=style)
    return {name: Path(out_dir) / p.relative_to(tmp) for name, p in written.items()}


def write_outputs(
    analysis, out: Path, config: AnalysisConfig | None = None, progress: bool = False, style=None, summary: dict | None = None
) -> dict[str, Path]:
    """Write every output into the (temporary) folder ``out``; the report last.

    ``summary`` replaces the summary built from ``analysis`` and ``config`` (the demo names
    its clip where it will be).
    """
    from ..io.mot import write_mot
    from ..results import checkpoint
    from .summary import build_summary

    config = config or analysis.config
    opts = config.outputs
    paths: dict[str, Path] = {}
    paths["tracks.txt"] = write_mot(out / "tracks.txt", analysis.tracks, with_class=True)
    checkpoint("tracks.txt written")
    paths["labels_ftid"], names = write_labels_ftid(analysis, out / "labels_ftid")
    paths["track_ids.csv"] = write_track_ids(out / "track_ids.csv", names)
    checkpoint("labels_ftid written")
    from ..kinematics import write_kinematics_csv

    paths["kinematics.csv"] = write_kinematics_csv(out / "kinematics.csv", analysis.kinematics)
    checkpoint("kinematics.csv written")
    if summary is None:
        summary = analysis.summary if config == analysis.config else build_summary(analysis, config=config)
    top_ids = fastest_ids(analysis, opts.highlight)
    if opts.overlay:
        look = opts.style() if style is None else replace(style, highlight=opts.highlight)
        paths["overlay.mp4"] = render_overlay(analysis, out / "overlay.mp4", style=look, progress=progress)
        checkpoint("overlay.mp4 written")
    plots = {}
    if opts.report:
        from ..viz.plots import save_plots

        with atomic_dir(out / "plots", overwrite=True) as tmp:
            plots = save_plots(
                tmp,
                analysis.tracks,
                analysis.valid_kinematics(),
                summary["motility"],
                analysis.image_size,
                analysis.calibration,
                analysis.first_frame,
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
    if opts.report:
        from ..viz.report import write_report

        files = [n for n in ("tracks.txt", "kinematics.csv", "summary.json", "overlay.mp4") if n in paths]
        paths["report.html"] = write_report(
            out / "report.html",
            summary,
            plots=plots,
            video=paths.get("overlay.mp4"),
            embed_video=opts.embed_video,
            files=files,
            kinematics=analysis.kinematics,
        )
        checkpoint("report.html written")
    return paths


def render_overlay(analysis, path: str | Path, style=None, progress: bool = False, highlight: int | None = None) -> Path:
    """Draw the tracks over the source's frames into an H.264 MP4 (a second pass over the source).

    The ``highlight`` fastest sperm (default: ``style.highlight``, else the config's) are
    labelled with their rank and speed.
    """
    from ..io.frames import open_frames
    from ..viz.overlay import render_overlay as _render

    style = style or analysis.config.outputs.style()
    if highlight is not None:
        style = replace(style, highlight=highlight)
    n = style.highlight
    by, unit = analysis.fastest_by, analysis.calibration.speed_unit
    top = analysis.fastest(n=n) if n > 0 else None
    labels = (
        {}
        if top is None
        else {int(t): f"#{r} {by.upper()} {v:.0f} {unit}" for t, r, v in zip(top.track_id, top["rank"], top[by])}
    )
    frames = analysis.source if analysis._frames is None else analysis._frames
    with open_frames(frames, fps=analysis.calibration.fps) as src:
        return _render(
            itertools.islice(src, analysis.num_frames),
            analysis.tracks,
            path,
            analysis.calibration,
            fastest=list(labels),
            fastest_labels=labels,
            style=style,
            size=analysis.image_size,
            total=analysis.num_frames,
            progress=progress,
        )


def fastest_ids(analysis, n: int) -> list[int]:
    """Track ids of the ``n`` fastest sperm (none when ``n`` is 0)."""
    return [int(t) for t in analysis.fastest(n=n)["track_id"]] if n > 0 else []


def video_id(source: str) -> str:
    """A VISEM-style video id for file names: the folder or file stem (``frames`` for frames in memory)."""
    if source.startswith("<"):  # "<array (T, H, W) uint8>" and the like (spermtrack.io.stack)
        return "frames"
    p = Path(source)
    return p.stem if p.is_file() else p.name


def write_labels_ftid(analysis, folder: Path) -> tuple[Path, dict[int, str]]:
    """``labels_ftid/<vid>_frame_<i>_with_ftid.txt`` as VISEM-Tracking has them (one file per frame with boxes).

    Returns the folder and the string id written for each track number (see :func:`write_track_ids`).
    """
    from ..io.labels import format_label_lines, track_names_for, write_label_files

    vid = video_id(analysis.source)
    names = track_names_for(vid, analysis.tracks)
    _, lines = format_label_lines(analysis.tracks, analysis.image_size, names)
    with atomic_dir(folder, overwrite=True) as tmp:
        write_label_files(tmp, vid, analysis.tracks, lines, "{vid}_frame_{i}_with_ftid.txt")
    return folder, names


def write_track_ids(path: Path, names: dict[int, str]) -> Path:
    """``track_ids.csv``: ``track_id`` (the number in tracks.txt, kinematics.csv and the report) -> ``labels_ftid_id``.

    VISEM-Tracking's ``labels_ftid`` files name a track by an opaque string (a Labelbox
    feature id); spermtrack writes a stable id derived from the video and the track number,
    and this table maps one to the other.
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["track_id", "labels_ftid_id"])
    for tid in sorted(names):
        w.writerow([int(tid), names[tid]])
    with atomic_open(path, "w", newline="") as fh:
        fh.write(buf.getvalue())
    return path


def output_settings(overlay: bool = True, report: bool = True, style=None, embed_video=None, highlight: int = 3) -> dict:
    """The output options of a :func:`save` call as the config records them (``config.outputs.to_dict()``-like).

    Kept for code that built completion-marker settings by hand; the marker now records
    ``AnalysisConfig.to_dict()`` whole.
    """
    from dataclasses import asdict

    config = effective_config(AnalysisConfig(), overlay, report, style, embed_video, highlight)
    return asdict(config.outputs)


__all__ = [
    "OUTPUT_FILES",
    "effective_config",
    "output_settings",
    "render_overlay",
    "save",
    "write_labels_ftid",
    "write_outputs",
    "write_track_ids",
]
