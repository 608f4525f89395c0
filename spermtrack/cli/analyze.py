"""``spermtrack analyze SOURCE --out DIR``: a video to tracks, kinematics, the fastest sperm and a report."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from . import add_quiet
from .detect import look_kwargs, look_options


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "analyze",
        help="detect, track and measure the sperm of a video; write tracks, kinematics, an overlay video and a report",
        description=(
            "Analyse a video file, an image folder or a VISEM-Tracking video folder: detection, tracking, CASA "
            "kinematics (VCL, VSL, VAP, LIN, ALH, BCF, WHO motility grades), the fastest sperm. Writes tracks.txt "
            "(MOTChallenge), labels_ftid/ (VISEM), kinematics.csv, summary.json, overlay.mp4, plots/ and report.html."
        ),
        epilog=(
            "Without --um-per-px results are in pixels (px/s) and every output says so; see docs/calibration.md "
            "for measuring µm per pixel with a stage micrometer. Example: "
            "spermtrack analyze sample.mp4 --out results --um-per-px 0.25"
        ),
    )
    p.add_argument("source", type=Path, help="video file, image folder or VISEM video folder")
    p.add_argument("--out", "-o", type=Path, default=None, help="output folder (default: out/<source name>)")
    p.add_argument(
        "--detector",
        default="auto",
        help="auto (the shipped model; default), classical, yolo:WEIGHTS (.pt or .onnx), gt (labels of a VISEM folder)",
    )
    look_options(p)
    p.add_argument("--um-per-px", type=float, default=None, metavar="X", help="µm per pixel of the specimen plane (calibration)")
    p.add_argument(
        "--fps", type=float, default=None, metavar="F", help="frames per second (default: the video's; needed for image folders)"
    )
    p.add_argument(
        "--visem-calibration",
        action="store_true",
        help="use the VISEM-Tracking estimate of 0.25 µm/px (an estimate, not a measurement; see docs/calibration.md)",
    )
    p.add_argument(
        "--tracker-config",
        type=Path,
        default=None,
        metavar="FILE.json",
        help="path of a JSON file holding the tracker settings as one object (see docs/tracking.md)",
    )
    p.add_argument(
        "--opacity", type=float, default=0.85, metavar="A", help="opacity of the overlay drawing, 0 to 1 (default 0.85)"
    )
    p.add_argument("--trail", type=float, default=1.0, metavar="S", help="trail length in the overlay video, seconds (default 1)")
    p.add_argument("--top", type=int, default=5, metavar="N", help="number of fastest sperm to print (default 5)")
    p.add_argument(
        "--rank-by", choices=("vsl", "vcl", "vap"), default="vsl", help="speed that ranks the fastest sperm (default vsl)"
    )
    p.add_argument("--max-frames", type=int, default=None, metavar="N", help="analyse only the first N frames")
    p.add_argument("--batch-size", type=int, default=8, metavar="B", help="frames per detector call (default 8)")
    p.add_argument("--no-video", action="store_true", help="skip the overlay video (the slowest output)")
    p.add_argument("--no-report", action="store_true", help="skip plots/ and report.html")
    p.add_argument("--link-video", action="store_true", help="link overlay.mp4 from the report instead of embedding it")
    p.add_argument(
        "--rerun",
        action="store_true",
        help="analyse again even when --out holds a complete result of the same source and settings (skipped otherwise)",
    )
    p.add_argument("--force", action="store_true", help="replace an --out folder that holds the result of another source")
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


def run(args: argparse.Namespace) -> int:
    from .. import jit_warmup
    from ..errors import SpermtrackError
    from ..pipeline import analyze
    from ..viz.overlay import OverlayStyle

    if not 0.0 <= args.opacity <= 1.0:
        raise SpermtrackError(f"--opacity must be between 0 and 1, got {args.opacity}")
    if args.top < 0:
        raise SpermtrackError(f"--top must be >= 0, got {args.top}")
    from ..pipeline import analysis_settings, output_settings
    from ..results import preflight, resolve_path, up_to_date
    from . import load_tracker_config

    source = resolve_path(args.source)
    if not source.exists():
        raise SpermtrackError(f"{args.source}: no such video file or folder")
    out = args.out or Path("out") / (source.stem if source.is_file() else source.name)
    progress = not args.quiet
    tracker = load_tracker_config(args.tracker_config)
    style = OverlayStyle(opacity=args.opacity, trail_s=args.trail)
    embed = False if args.link_video else None
    preflight(out, args.source, force=args.force)  # refuse a bad --out before minutes of work
    settings = {
        **analysis_settings(
            args.detector,
            None,
            tracker,
            detector_options=look_kwargs(args),
            um_per_px=args.um_per_px,
            fps=args.fps,
            visem_calibration=args.visem_calibration,
            batch_size=args.batch_size,
            max_frames=args.max_frames,
            fastest_by=args.rank_by,
        ),
        "outputs": output_settings(not args.no_video, not args.no_report, style, embed),
    }
    why = up_to_date(out, args.source, settings)
    if why is None and not args.rerun:
        print(f"{out}: up to date (a complete result of this source with these settings); pass --rerun to redo it")
        return 0
    if out.exists() and not args.quiet:
        print(f"{out}: analysing again: {why}", file=sys.stderr)
    warmup = jit_warmup.start()  # first run after install: kinematics kernels compile on another core
    try:
        result = analyze(
            args.source,
            detector=args.detector,
            detector_options=look_kwargs(args),
            tracker=tracker,
            um_per_px=args.um_per_px,
            fps=args.fps,
            visem_calibration=args.visem_calibration,
            batch_size=args.batch_size,
            max_frames=args.max_frames,
            progress=progress,
            fastest_by=args.rank_by,
        )
    finally:
        jit_warmup.finish(warmup)
    with writable(out):
        paths = result.save(
            out,
            overlay=not args.no_video,
            report=not args.no_report,
            style=style,
            embed_video=embed,
            progress=progress,
            force=args.force,
        )
    cal = result.calibration
    s = result.summary
    if not args.quiet:
        print(
            f"{result.num_frames} frames, {s['counts']['tracks']} tracks ({s['counts']['valid_tracks']} valid sperm tracks), "
            f"detector {result.detector}, {result.timings['total']:.1f} s",
            file=sys.stderr,
        )
        print(f"frame rate {cal.fps:g} frames/s ({_FPS_WORDS.get(result.fps_source, result.fps_source)})", file=sys.stderr)
        for warning in result.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if not cal.calibrated:
            print("note: uncalibrated, speeds in px/s; pass --um-per-px X (see docs/calibration.md)", file=sys.stderr)
    if args.top:
        print(f"Fastest {args.top} sperm by {args.rank_by.upper()} ({cal.speed_unit}):")
        print_fastest(result.fastest(args.top), cal.speed_unit, args.rank_by)
    where = paths.get("report.html") or paths.get("summary.json")
    print(f"Report: {where}")
    return 0
