"""``spermtrack track``: detections (MOTChallenge file) to tracks (MOTChallenge file)."""

from __future__ import annotations

import argparse

from . import add_quiet


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "track",
        help="link detections into tracks (MOTChallenge file in and out)",
        description="Track detections with the Numba Kalman + Hungarian tracker (offline mode: whole-video gap closing "
        "and interpolation). Input and output are MOTChallenge lines frame,id,x,y,w,h,score,class,-1,-1 with 1-based "
        "frames; the output's ids start at 1 and its 8th column holds each track's majority class.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--detections", required=True, metavar="DETS.txt", help="MOTChallenge file of detections (ids ignored)")
    p.add_argument("--fps", required=True, type=float, help="frames per second of the video (lifecycles are in seconds)")
    p.add_argument("--out", required=True, metavar="TRACKS.txt", help="MOTChallenge file to write (atomically)")
    p.add_argument("--config", default=None, metavar="JSON", help="tracker settings as a JSON object (see docs/tracking.md)")
    p.add_argument("--num-frames", type=int, default=None, help="frames in the video (default: the last frame in the file)")
    p.add_argument("--streaming", action="store_true", help="frame-by-frame mode only (no whole-video gap closing)")
    add_quiet(p)
    p.set_defaults(func=run)


def run(args) -> int:
    import time

    from ..io.mot import read_mot, write_mot
    from ..track import Tracker, TrackerConfig, track

    config = TrackerConfig.from_json(args.config) if args.config else TrackerConfig()
    dets = read_mot(args.detections, num_frames=args.num_frames)
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
