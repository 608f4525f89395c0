"""``spermtrack analyze SOURCE --out DIR``: a video to tracks, kinematics, the fastest sperm and a report."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from . import add_quiet
from ._warnings import held_reading_notes, result_warnings


def register(subparsers) -> None:
    from ..analysis.config import AnalysisConfig
    from ..analysis.options import add_config_arguments

    p = subparsers.add_parser(
        "analyze",
        aliases=["analyse"],
        help="detect, track and measure the sperm of a video; write tracks, kinematics, an overlay video and a report",
        description=(
            "Analyse a video file, an image folder or a VISEM-Tracking video folder: detection, tracking, CASA "
            "kinematics (VCL, VSL, VAP, LIN, ALH, BCF, WHO motility grades), the fastest sperm. Writes tracks.txt "
            "(MOTChallenge), labels_ftid/ (VISEM) with track_ids.csv, kinematics.csv, summary.json (with every "
            "setting), overlay.mp4, plots/ and report.html."
        ),
        epilog=(
            "Without --um-per-px results are in pixels (px/s) and every output says so; see docs/calibration.md "
            "for measuring µm per pixel with a stage micrometer. Rerun a result with its settings: "
            "spermtrack analyze SOURCE --config results/summary.json. Example: "
            "spermtrack analyze sample.mp4 -o results --um-per-px 0.25"
        ),
    )
    p.add_argument("source", type=Path, help="video file, image folder or VISEM video folder")
    p.add_argument("-o", "--out", type=Path, default=None, help="output folder (default: out/<source name>)")
    add_config_arguments(p, AnalysisConfig)
    p.add_argument(
        "--rerun",
        action="store_true",
        help="analyse again even when --out holds a complete result of the same source and settings (default: skip it)",
    )
    p.add_argument(
        "--force", action="store_true", help="replace an --out folder that holds the result of another source (default: off)"
    )
    add_quiet(p)
    p.set_defaults(func=run)


@contextlib.contextmanager
def writable(out: Path):
    """Turn a failure to write into ``out`` (permissions, full disk) into an error that says what to do."""
    from ..errors import SpermtrackError

    try:
        yield
    except SpermtrackError:
        raise
    except OSError as exc:
        raise SpermtrackError(
            f"cannot write the outputs to {out}: {exc.strerror or exc}; choose another folder with --out"
        ) from exc


def motility_line(summary: dict) -> str | None:
    """The WHO shares of a summary in one line, with their 95 % intervals (None when not graded).

    The shares weigh each track by its time in view (``spermtrack.kinematics.summarize``).
    """
    shares = summary.get("shares") or {}
    tracks = int(shares.get("tracks") or 0)
    if summary.get("progressive_percent") is None or not tracks:
        return None

    def part(label: str, percent, ci) -> str:
        return f"{label} {percent:.1f} % ({ci[0]:.0f}-{ci[1]:.0f})" if ci else f"{label} {percent:.1f} %"

    np_entry = (summary.get("motility") or {}).get("non_progressive") or {}
    parts = [
        part("PR", summary["progressive_percent"], summary.get("progressive_ci95")),
        part("NP", np_entry.get("percent", 0.0), np_entry.get("ci95")),
        part("IM", summary["immotile_percent"], summary.get("immotile_ci95")),
    ]
    minimum = int(shares.get("who_minimum") or 0)
    few = f"; fewer than the {minimum} sperm the WHO asks for" if tracks < minimum else ""
    return f"WHO motility of {tracks} valid sperm tracks, weighted by time in view (95 % intervals{few}): " + ", ".join(parts)


def print_fastest(table, unit: str, by: str, file=None) -> None:
    """Print the fastest-sperm table in a readable form."""
    file = file or sys.stdout
    if table is None or not len(table):
        print("no track passed the quality gates for the fastest-sperm ranking (too short, or implausible jumps)", file=file)
        return
    cols = [c for c in ("vsl", "vcl", "vap") if c in table]
    head = f"{'rank':>4}  {'track':>5}  " + "  ".join(f"{c.upper() + ' (' + unit + ')':>14}" for c in cols)
    extra = [c for c in ("lin", "duration_s", "motility") if c in table]
    head += "".join(f"  {c:>17}" if c == "motility" else f"  {c:>10}" for c in extra)
    print(head, file=file)
    for i, r in enumerate(table.to_dict(orient="records"), start=1):
        line = f"{i:>4}  {int(r['track_id']):>5}  " + "  ".join(f"{float(r[c]):>14.1f}" for c in cols)
        for c in extra:
            v = r[c]
            line += f"  {v!s:>17}" if c == "motility" else f"  {float(v):>10.2f}"
        print(line, file=file)


_FPS_WORDS = {
    "user": "given with --fps",
    "container": "stated by the video file",
    "timestamps": "derived from the video's timestamps",
}


def progress_wanted(args: argparse.Namespace) -> bool:
    """Progress bars only when asked (no ``--quiet``) and stderr is a terminal (no carriage returns in log files)."""
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


def run(args: argparse.Namespace) -> int:
    from .. import jit_warmup
    from ..analysis import analyze
    from ..analysis.options import config_from_args
    from ..errors import SpermtrackError
    from ..results import preflight, resolve_path, up_to_date

    config = config_from_args(args)
    source = resolve_path(args.source)
    if not source.exists():
        raise SpermtrackError(f"{args.source}: no such video file or folder")
    out = args.out or Path("out") / (source.stem if source.is_file() else source.name)
    progress = progress_wanted(args)
    preflight(out, args.source, force=args.force)  # refuse a bad --out before minutes of work
    why = up_to_date(out, args.source, config.to_dict())
    if why is None and not args.rerun:
        print(f"{out}: up to date (a complete result of this source with these settings); pass --rerun to redo it")
        return 0
    if out.exists() and not args.quiet:
        print(f"{out}: analysing again: {why}", file=sys.stderr)
    warmup = jit_warmup.start()  # first run after install: kinematics kernels compile on another core
    try:
        with held_reading_notes() as notes:  # printed below from result.warnings, as one line each
            result = analyze(args.source, config, progress=progress)
    finally:
        jit_warmup.finish(warmup)
    with writable(out):
        paths = result.save(out, progress=progress, force=args.force)
    cal = result.calibration
    s = result.summary
    if not args.quiet:
        print(
            f"{result.num_frames} frames, {s['counts']['tracks']} tracks ({s['counts']['valid_tracks']} valid sperm tracks), "
            f"detector {result.detector}, {result.timings['total']:.1f} s",
            file=sys.stderr,
        )
        print(f"frame rate {cal.fps:g} frames/s ({_FPS_WORDS.get(result.fps_source, result.fps_source)})", file=sys.stderr)
        from ..viz.report import describe_overlays

        panels = describe_overlays((s.get("look") or {}).get("overlays"))
        if panels:
            print(f"burnt-in panels left out of detection: {panels} (--no-mask-overlays keeps them)", file=sys.stderr)
    result_warnings(args.verb, result.warnings, notes, args.quiet)  # -q hides only the reading notes
    if not args.quiet:
        if not cal.calibrated:
            print("note: see docs/calibration.md for measuring µm per pixel with a stage micrometer", file=sys.stderr)
        conc = s.get("concentration") or {}
        if conc.get("per_ml_millions") is not None:
            print(
                f"concentration {conc['per_ml_millions']:.1f} x10^6/mL ({conc['mean_cells_per_frame']:.1f} sperm per frame, "
                f"{conc['chamber_depth_um']:g} µm deep chamber)",
                file=sys.stderr,
            )
    line = motility_line(s)
    if line:
        print(line)
    if config.top:
        print(f"Fastest {config.top} sperm by {config.fastest_by.upper()} ({cal.speed_unit}):")
        print_fastest(result.fastest(config.top), cal.speed_unit, config.fastest_by)
    if "report.html" in paths:
        print(f"Report: {paths['report.html']}")
    else:
        print(f"Results: {out}")
    return 0
