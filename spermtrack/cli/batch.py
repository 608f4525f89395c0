"""``spermtrack batch``, ``spermtrack pseudo-label`` and ``spermtrack clip``: many videos at once."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import add_quiet


def _analysis_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", type=Path, help="videos, image folders, VISEM video folders, or folders of them")
    p.add_argument("--out", "-o", type=Path, required=True, help="output folder (one sub-folder per video)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="address of a running Dask scheduler (tcp://host:8786)")
    p.add_argument(
        "--workers", type=int, default=None, metavar="N", help="workers of the local Dask cluster (default: CPU cores)"
    )
    p.add_argument("--detector", default="auto", help="auto (default), classical, yolo:WEIGHTS, gt")
    p.add_argument("--um-per-px", type=float, default=None, metavar="X", help="µm per pixel (calibration)")
    p.add_argument("--fps", type=float, default=None, metavar="F", help="frames per second (default: each video's)")
    p.add_argument("--visem-calibration", action="store_true", help="use the VISEM-Tracking estimate of 0.25 µm/px")
    p.add_argument(
        "--tracker-config", type=Path, default=None, metavar="FILE.json", help="path of a JSON file of tracker settings"
    )
    p.add_argument("--max-frames", type=int, default=None, metavar="N", help="analyse only the first N frames of each video")
    p.add_argument(
        "--rerun",
        action="store_true",
        help="redo videos whose complete results (same source and settings) exist; only folders spermtrack wrote are replaced",
    )
    p.add_argument(
        "--force", action="store_true", help="replace job folders that hold the result of another source of the same name"
    )
    add_quiet(p)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "batch",
        help="analyse many videos in parallel on Dask (a local cluster, or a scheduler's address)",
        description=(
            "Analyse many videos in parallel with Dask distributed: one output folder per video (as `spermtrack analyze`) "
            "and DIR/summary.csv with one row per video and its status. A failed video is reported and the others finish; "
            "a rerun skips videos whose outputs are complete and redoes the rest."
        ),
        epilog="Example: spermtrack batch recordings/*.mp4 --out results --workers 4 --um-per-px 0.25",
    )
    _analysis_options(p)
    p.add_argument("--no-video", action="store_true", help="skip the overlay videos")
    p.add_argument("--no-report", action="store_true", help="skip plots and report.html")
    p.set_defaults(func=run_batch_cmd)

    p = subparsers.add_parser(
        "pseudo-label",
        help="detect and track unlabelled clips and write them in the VISEM-Tracking layout for review and training",
        description=(
            "Run detection and tracking on unlabelled clips and write each in the VISEM-Tracking layout (images/, labels/, "
            "labels_ftid/, <vid>.mp4) with the detection scores kept alongside in pseudo_labels.csv, ready for an expert's "
            "review and for training (the semi-supervised loop of the VISEM-Tracking paper). Runs on Dask like `batch`."
        ),
        epilog="Example: spermtrack pseudo-label unlabelled/ --out pseudo_root --detector yolo:best.pt",
    )
    _analysis_options(p)
    p.set_defaults(func=run_pseudo_label)

    p = subparsers.add_parser(
        "clip",
        help="cut a long recording into 30-s clips (the shorter tail is dropped), as VISEM-Tracking was prepared",
        description="Cut a recording into consecutive clips of --seconds seconds, re-encoded as H.264; writes clips.csv.",
        epilog="Example: spermtrack clip recording.avi --seconds 30 --out clips/",
    )
    p.add_argument("video", type=Path, help="video file, image folder or VISEM video folder")
    p.add_argument("--seconds", type=float, default=30.0, help="clip length in seconds (default 30)")
    p.add_argument("--out", "-o", type=Path, required=True, help="output folder")
    p.add_argument("--fps", type=float, default=None, metavar="F", help="frame rate (needed for image folders)")
    p.add_argument("--force", action="store_true", help="replace an --out folder holding the clips of another source")
    p.add_argument("--keep-tail", action="store_true", help="keep the last, shorter clip")
    add_quiet(p)
    p.set_defaults(func=run_clip)


def _options(args: argparse.Namespace, **extra):
    from ..batch import AnalysisOptions
    from ..errors import SpermtrackError
    from . import load_tracker_config

    load_tracker_config(args.tracker_config)  # a missing or malformed file fails here, not on every worker
    if args.workers is not None and args.workers < 1:
        raise SpermtrackError(f"--workers must be >= 1, got {args.workers}")
    return AnalysisOptions(
        detector=args.detector,
        um_per_px=args.um_per_px,
        fps=args.fps,
        visem_calibration=args.visem_calibration,
        tracker=None if args.tracker_config is None else str(args.tracker_config),
        max_frames=args.max_frames,
        force=args.force,
        **extra,
    )


def _run(args: argparse.Namespace, task: str, options) -> int:
    from ..batch import describe, run_batch

    result = run_batch(
        args.inputs,
        args.out,
        options,
        scheduler=args.scheduler,
        workers=args.workers,
        task=task,
        rerun=args.rerun,
        progress=not args.quiet,
    )
    print(describe(result))
    return 1 if result.counts.get("failed") else 0


def run_batch_cmd(args: argparse.Namespace) -> int:
    return _run(args, "analyze", _options(args, overlay=not args.no_video, report=not args.no_report))


def run_pseudo_label(args: argparse.Namespace) -> int:
    return _run(args, "pseudo-label", _options(args, overlay=False, report=False))


def run_clip(args: argparse.Namespace) -> int:
    from ..clip import clip_video

    clips = clip_video(
        args.video,
        args.out,
        seconds=args.seconds,
        fps=args.fps,
        keep_tail=args.keep_tail,
        progress=not args.quiet,
        force=args.force,
    )
    for c in clips:
        print(f"{c.path}  frames {c.first_frame}-{c.last_frame}  ({c.start_s:.2f}-{c.end_s:.2f} s)")
    print(f"{len(clips)} clips written to {args.out} (index: {Path(args.out) / 'clips.csv'})")
    return 0
