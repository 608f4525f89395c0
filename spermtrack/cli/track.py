"""``spermtrack track``: detections (MOTChallenge file) to tracks (MOTChallenge file)."""

from __future__ import annotations

from . import add_quiet, deprecated_alias


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "track",
        help="link detections into tracks (MOTChallenge file in and out)",
        description="Track detections with the Numba Kalman + Hungarian tracker (offline mode: whole-video gap closing "
        "and interpolation). Input and output are MOTChallenge lines frame,id,x,y,w,h,score,class,-1,-1 with 1-based "
        "frames; the output's ids start at 1 and its 8th column holds each track's majority class.",
        epilog="Example: spermtrack track dets.txt --fps 50 -o tracks.txt",
    )
    p.add_argument("source", nargs="?", default=None, metavar="DETS.txt", help="MOTChallenge file of detections (ids ignored)")
    deprecated_alias(p, "--detections", "source")
    p.add_argument("--fps", required=True, type=float, help="frames per second of the video (lifecycles are in seconds)")
    p.add_argument("-o", "--out", required=True, metavar="TRACKS.txt", help="MOTChallenge file to write (atomically)")
    p.add_argument(
        "--tracker-config",
        default=None,
        metavar="FILE.json",
        help="JSON file holding the tracker settings (docs/tracking.md) (default: TrackerConfig's defaults)",
    )
    deprecated_alias(p, "--config", "--tracker-config")
    p.add_argument(
        "--num-frames", type=int, default=None, metavar="N", help="frames in the video (default: the last frame in the file)"
    )
    p.add_argument("--streaming", action="store_true", help="frame-by-frame mode only (no whole-video gap closing)")
    p.add_argument(
        "--drop-duplicates",
        action="store_true",
        help="drop detections that repeat an earlier one of the same frame (a warning with counts otherwise)",
    )
    add_quiet(p)
    p.set_defaults(func=run)


def run(args) -> int:
    import sys
    import time

    from ..boxes import drop_duplicates, duplicate_rows
    from ..calibration import Calibration
    from ..errors import ParameterError
    from ..io.mot import read_mot, write_mot
    from ..track import Tracker, TrackerConfig, track
    from . import check_output_file, check_positive, load_tracker_config

    if not args.fps > 0 or args.fps != args.fps:
        raise ParameterError(f"--fps must be a positive number, got {args.fps:g}")
    Calibration(None, args.fps)  # the range analyze accepts (0.1-10000 frames per second), with its message
    check_positive(args, "--num-frames")
    check_output_file(args.out, [args.source])
    config = load_tracker_config(args.tracker_config) if args.tracker_config else TrackerConfig()
    dets = read_mot(args.source, num_frames=args.num_frames, score_range=(0.0, 1.0))  # the tracker's scores
    dup = duplicate_rows(dets)
    if dup.any():
        k, frames = int(dup.sum()), len(set(dets.frame[dup].tolist()))
        if args.drop_duplicates:
            dets, _ = drop_duplicates(dets)
            print(f"spermtrack track: warning: dropped {k} duplicate detections in {frames} frames", file=sys.stderr)
        else:
            print(
                f"spermtrack track: warning: {args.source}: {k} detections repeat an earlier one of the same frame "
                f"({frames} frames; a file concatenated twice?); each would start its own track; pass --drop-duplicates",
                file=sys.stderr,
            )
    start = time.perf_counter()
    if args.streaming:
        tracker = Tracker(args.fps, config)
        for _, frame_boxes in dets.iter_frames():
            tracker.update(frame_boxes)
        tracks = tracker.finish().replace(num_frames=dets.num_frames)
    else:
        tracks = track(dets, args.fps, config)
    seconds = time.perf_counter() - start
    write_mot(args.out, tracks, with_class=True)
    if not args.quiet:
        rate = dets.num_frames / seconds if seconds > 0 else float("inf")
        print(
            f"{len(tracks)} boxes in {len(tracks.unique_tracks())} tracks over {dets.num_frames} frames "
            f"({len(dets)} detections, {rate:,.0f} frames/s) -> {args.out}"
        )
    return 0
