"""``spermtrack batch``, ``spermtrack pseudo-label`` and ``spermtrack clip``: many videos at once."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import add_quiet


def _analysis_options(p: argparse.ArgumentParser, exclude: tuple[str, ...] = ()) -> None:
    from ..analysis.config import AnalysisConfig
    from ..analysis.options import add_config_arguments

    p.add_argument("inputs", nargs="+", type=Path, help="videos, image folders, VISEM video folders, or folders of them")
    p.add_argument("-o", "--out", type=Path, required=True, help="output folder (one sub-folder per video; required)")
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="address of a running Dask scheduler, tcp://host:8786 (default: a local cluster)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="processes of the local Dask cluster, one video each at a time (default: the CPU cores)",
    )
    add_config_arguments(p, AnalysisConfig, exclude=exclude)
    p.add_argument(
        "--rerun",
        action="store_true",
        help="redo videos whose complete results (same source and settings) exist; only folders spermtrack wrote are "
        "replaced (default: skip them)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace job folders that hold the result of another source of the same name (default: off)",
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
        epilog="Example: spermtrack batch recordings/*.mp4 -o results --workers 4 --um-per-px 0.25",
    )
    _analysis_options(p)
    p.set_defaults(func=run_batch_cmd)

    p = subparsers.add_parser(
        "pseudo-label",
        help="detect and track unlabelled clips and write them in the VISEM-Tracking layout for review and training",
        description=(
            "Run detection and tracking on unlabelled clips and write each in the VISEM-Tracking layout (images/, labels/, "
            "labels_ftid/, <vid>.mp4) with the detection scores kept alongside in pseudo_labels.csv, ready for an expert's "
            "review and for training (the semi-supervised loop of the VISEM-Tracking paper). Runs on Dask like `batch`."
        ),
        epilog="Example: spermtrack pseudo-label unlabelled/ -o pseudo_root --detector yolo:best.pt",
    )
    _analysis_options(p, exclude=("outputs",))
    p.set_defaults(func=run_pseudo_label)

    p = subparsers.add_parser(
        "clip",
        help="cut a long recording into 30-s clips (the shorter tail is dropped), as VISEM-Tracking was prepared",
        description="Cut a recording into consecutive clips of --seconds seconds, re-encoded as H.264; writes clips.csv.",
        epilog="Example: spermtrack clip recording.avi --seconds 30 --out clips/",
    )
    p.add_argument("video", type=Path, help="video file, image folder or VISEM video folder")
    p.add_argument("--seconds", type=float, default=30.0, metavar="S", help="clip length in seconds (default: 30)")
    p.add_argument("-o", "--out", type=Path, required=True, help="output folder (required)")
    p.add_argument(
        "--fps", type=float, default=None, metavar="F", help="frame rate (default: the video's; needed for image folders)"
    )
    p.add_argument(
        "--force", action="store_true", help="replace an --out folder holding the clips of another source (default: off)"
    )
    p.add_argument("--keep-tail", action="store_true", help="keep the last, shorter clip (default: drop it)")
    add_quiet(p)
    p.set_defaults(func=run_clip)


def _config(args: argparse.Namespace, exclude: tuple[str, ...] = ()):
    """The AnalysisConfig of the command line; a bad setting or file fails here, not on every worker."""
    from ..analysis.options import config_from_args
    from ..errors import ParameterError

    if args.workers is not None and args.workers < 1:
        raise ParameterError(f"--workers must be >= 1, got {args.workers}")
    return config_from_args(args, exclude=exclude)


def _run(args: argparse.Namespace, task: str, config) -> int:
    from ..batch import describe, run_batch
    from .analyze import progress_wanted

    result = run_batch(
        args.inputs,
        args.out,
        config,
        scheduler=args.scheduler,
        workers=args.workers,
        task=task,
        rerun=args.rerun,
        progress=progress_wanted(args),
        force=args.force,
    )
    print(describe(result))
    return 1 if result.counts.get("failed") else 0


def run_batch_cmd(args: argparse.Namespace) -> int:
    return _run(args, "analyze", _config(args))


def run_pseudo_label(args: argparse.Namespace) -> int:
    return _run(args, "pseudo-label", _config(args, exclude=("outputs",)))


def run_clip(args: argparse.Namespace) -> int:
    from ..clip import clip_video
    from .analyze import progress_wanted

    clips = clip_video(
        args.video,
        args.out,
        seconds=args.seconds,
        fps=args.fps,
        keep_tail=args.keep_tail,
        progress=progress_wanted(args),
        force=args.force,
    )
    for c in clips:
        print(f"{c.path}  frames {c.first_frame}-{c.last_frame}  ({c.start_s:.2f}-{c.end_s:.2f} s)")
    print(f"{len(clips)} clips written to {args.out} (index: {Path(args.out) / 'clips.csv'})")
    return 0
