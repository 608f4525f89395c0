"""How fast is spermtrack's tracker against the fastest fair reference, in the same run?

Simulated VISEM-like videos (spermtrack.simulate) at 5, 30 and 65 sperm per
frame (about 6, 33 and 65 boxes per frame), 1,470 frames (30 s at 50 fps),
detections made from the true boxes with spermtrack.detect.GroundTruthDetector
(10 % missed, 1 false box per frame, 1 px centre jitter, noisy scores). On one
core, after JIT warm-up, in interleaved rounds (benchmarks/_timing.py: medians
of CPU and wall time, machine load printed, tables marked LOADED on a busy
machine):

- ``track()``: the offline tracker (online pass in Numba + gap closing,
  short-track removal, interpolation);
- ``Tracker.update``: the streaming tracker called once per frame from Python
  (the frames of ``Boxes.iter_frames``), ``finish()`` included;
- ``update_many(16)``: the streaming tracker fed batches of 16 frames
  (``Tracker.update_many``, one kernel call per batch), ``finish()`` included
  (not a reference; shown for the pipelines that feed batches);
- references, all given the same detections and the same lost-track lifetime
  as ours (``TrackerConfig().max_lost_s``):

  * SORT, filterpy + SciPy (:func:`tracker_reference.sort_reference`): one
    ``KalmanFilter`` per track, as SORT is usually written;
  * SORT vectorised in NumPy (:func:`tracker_reference.sort_reference_vectorised`):
    the Kalman steps of all tracks at once; the script asserts that it gives the
    filterpy SORT's identities exactly;
  * trackpy ``link`` (nearest-neighbour linking of the box centres, scores >= 0.5,
    search range 30 px), when trackpy is installed;
  * ByteTrack from ``trackers`` (Roboflow), when installed.

The headline is the ratio of CPU times to the **fastest** of these references.
Targets: ``track()`` >= 10x the fastest fair reference at 33-65 boxes per frame
(issue 18); ``Tracker.update`` >= 40x the filterpy+SciPy SORT at 6 boxes per
frame (issue 14).

    python benchmarks/tracker_speed.py [--frames 1470] [--repeats 5] [--smoke] [--out PATH]

Writes benchmarks/results/tracker_speed.json (or ``--out``).
"""

from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core for everyone

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import interleaved, load_average, load_report  # noqa: E402
from tracker_reference import sort_reference, sort_reference_vectorised  # noqa: E402

from spermtrack.atomic import atomic_open  # noqa: E402
from spermtrack.detect.ground_truth import GroundTruthDetector  # noqa: E402
from spermtrack.simulate import simulate_video  # noqa: E402
from spermtrack.track import Tracker, TrackerConfig, track  # noqa: E402

DENSITIES = (5, 30, 65)
FPS = 50.0
POINT_MIN_SCORE = 0.5
SEARCH_RANGE_PX = 30.0


def detections(density: int, num_frames: int, seed: int):
    video = simulate_video(seed=seed, num_frames=num_frames, density=density)
    return GroundTruthDetector(video.boxes, miss=0.1, fp_per_frame=1.0, jitter_px=1.0, score_noise=0.2, seed=seed).degrade()


def streaming(dets) -> None:
    tracker = Tracker(FPS)
    for _, frame_boxes in dets.iter_frames():
        tracker.update(frame_boxes)
    return tracker.finish()


def streaming_batched(dets, batch: int = 16):
    tracker = Tracker(FPS)
    for first in range(0, dets.num_frames, batch):
        tracker.update_many(dets, first, min(batch, dets.num_frames - first))
    return tracker.finish()


OURS = ("track()", "Tracker.update", "update_many(16)")


def trackpy_runner(dets, memory: int):
    """trackpy ``link`` on the centres of the boxes with score >= 0.5 (the DataFrame is built untimed)."""
    import pandas as pd
    import trackpy

    logging.getLogger("trackpy").setLevel(logging.WARNING)
    trackpy.quiet()
    keep = dets.score >= POINT_MIN_SCORE
    df = pd.DataFrame({"frame": dets.frame[keep].astype(int), "x": dets.cx[keep].astype(float), "y": dets.cy[keep].astype(float)})

    def run():
        return trackpy.link(df, search_range=SEARCH_RANGE_PX, memory=memory, adaptive_stop=5.0, adaptive_step=0.9)

    return run


def bytetrack_runner(dets, lost_frames: int):
    """``trackers.ByteTrackTracker`` over the video (the per-frame ``sv.Detections`` are built untimed)."""
    import supervision as sv
    from trackers import ByteTrackTracker

    frames = [
        sv.Detections(xyxy=b.xyxy.astype(np.float32), confidence=b.score.astype(np.float32), class_id=b.cls.astype(int))
        for _, b in dets.iter_frames()
    ]
    # trackers keeps a lost track int(frame_rate / 30 * lost_track_buffer) frames
    buffer = max(1, round(lost_frames * 30.0 / FPS))

    def run():
        tracker = ByteTrackTracker(
            lost_track_buffer=buffer,
            frame_rate=FPS,
            track_activation_threshold=0.5,
            minimum_consecutive_frames=2,
            minimum_iou_threshold=0.05,
            high_conf_det_threshold=0.5,
        )
        n = 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for d in frames:
                out = tracker.update(d)
                n += int((np.asarray(out.tracker_id) >= 0).sum()) if out.tracker_id is not None else 0
        return n

    return run


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=1470)
    ap.add_argument("--repeats", type=int, default=5, help="interleaved rounds (medians are reported)")
    ap.add_argument("--densities", type=int, nargs="+", default=list(DENSITIES))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-peers", action="store_true", help="SORT references only (no trackpy, no ByteTrack)")
    ap.add_argument("--smoke", action="store_true", help="60 frames, densities 5 and 30, one round: checks, not numbers")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "tracker_speed.json"))
    args = ap.parse_args(argv)
    if args.smoke:
        args.frames, args.repeats, args.densities = 60, 1, [5, 30]

    lost_frames = max(1, round(TrackerConfig().max_lost_s * FPS))
    peers = {}
    if not args.no_peers and importlib.util.find_spec("trackpy"):
        peers["trackpy link"] = lambda d: trackpy_runner(d, lost_frames)
    if not args.no_peers and importlib.util.find_spec("trackers") and importlib.util.find_spec("supervision"):
        peers["ByteTrack (trackers)"] = lambda d: bytetrack_runner(d, lost_frames)
    sort_kw = {"max_age": lost_frames, "min_hits": 3, "iou_threshold": 0.05}

    # JIT warm-up (compilation is cached on disk, loading is not free)
    warm = detections(5, 50, 0)
    track(warm, FPS)
    streaming(warm)

    load_start = load_average()
    rows, all_timings = [], []
    for density in args.densities:
        dets = detections(density, args.frames, args.seed + density)
        nf = dets.num_frames
        fns = {
            "track()": lambda d=dets: track(d, FPS),
            "Tracker.update": lambda d=dets: streaming(d),
            "SORT filterpy+SciPy": lambda d=dets: sort_reference(d, **sort_kw),
            "SORT vectorised NumPy": lambda d=dets: sort_reference_vectorised(d, **sort_kw),
        }
        if hasattr(Tracker, "update_many"):  # beside update (the branch point had no batch API)
            fns = {
                **dict(list(fns.items())[:2]),
                "update_many(16)": lambda d=dets: streaming_batched(d),
                **dict(list(fns.items())[2:]),
            }
        for name, make in peers.items():
            fns[name] = make(dets)
        timing = interleaved(fns, args.repeats)
        all_timings.append(timing)
        a, b = timing["SORT filterpy+SciPy"].result, timing["SORT vectorised NumPy"].result
        if not (a.equals(b) and len(a) > 0):
            raise SystemExit(f"density {density}: the vectorised SORT's identities differ from the filterpy SORT's")
        refs = [name for name in fns if name not in OURS]
        if "update_many(16)" in timing and not timing["update_many(16)"].result.equals(timing["Tracker.update"].result):
            raise SystemExit(f"density {density}: update_many gives other tracks than update")
        fastest = min(refs, key=lambda n: timing[n].cpu)
        row = {
            "density": density,
            "boxes_per_frame": round(len(dets) / nf, 1),
            "frames": nf,
            "fps_cpu": {name: nf / t.cpu for name, t in timing.items()},
            "fps_wall": {name: nf / t.wall for name, t in timing.items()},
            "timings": {name: t.as_dict() for name, t in timing.items()},
            "fastest_reference": fastest,
            "offline_vs_fastest": timing[fastest].cpu / timing["track()"].cpu,
            "streaming_vs_fastest": timing[fastest].cpu / timing["Tracker.update"].cpu,
            "streaming_vs_filterpy": timing["SORT filterpy+SciPy"].cpu / timing["Tracker.update"].cpu,
            "offline_vs_fastest_wall": timing[fastest].wall / timing["track()"].wall,
            "offline_vs": {name: timing[name].cpu / timing["track()"].cpu for name in refs},
            "streaming_vs": {name: timing[name].cpu / timing["Tracker.update"].cpu for name in refs},
            "sort_identities_equal": True,
        }
        rows.append(row)
        print(
            f"density {density:>2}: {row['boxes_per_frame']:5.1f} boxes/frame, fastest reference {fastest}: "
            f"track() {row['offline_vs_fastest']:.1f}x, Tracker.update {row['streaming_vs_fastest']:.1f}x "
            f"(filterpy SORT: {row['streaming_vs_filterpy']:.1f}x) (CPU time)",
            flush=True,
        )

    load = load_report(load_start, all_timings)
    names = list(all_timings[0])
    print()
    print(f"Tracker speed, {args.frames} frames, medians of {args.repeats} interleaved rounds, frames/s of CPU time (wall)")
    print(load.banner())
    print("| boxes/frame | " + " | ".join(names) + " | track() / fastest ref | update / fastest ref | update / filterpy SORT |")
    print("|---:|" + "---:|" * (len(names) + 3))
    for r in rows:
        cells = " | ".join(f"{r['fps_cpu'][n]:,.0f} ({r['fps_wall'][n]:,.0f})" for n in names)
        print(
            f"| {r['boxes_per_frame']:.1f} | {cells} | **{r['offline_vs_fastest']:.1f}x** vs {r['fastest_reference']} | "
            f"{r['streaming_vs_fastest']:.1f}x | {r['streaming_vs_filterpy']:.1f}x |"
        )
    if load.loaded:
        print("LOADED: the machine was busy during this run (see above); rerun on a quiet machine for the headline")
    result = {
        "benchmark": "tracker_speed",
        "command": " ".join(["python benchmarks/tracker_speed.py", *(sys.argv[1:] if argv is None else argv)]),
        "machine": {"python": platform.python_version(), "processor": platform.processor() or platform.machine(), "threads": 1},
        "load": load.as_dict(),
        "frames": args.frames,
        "repeats": args.repeats,
        "timing": "medians of interleaved rounds; ratios on CPU time (time.process_time)",
        "detections": "simulate_video + GroundTruthDetector(miss=0.1, fp_per_frame=1, jitter_px=1, score_noise=0.2)",
        "reference_settings": {
            "lost_frames": lost_frames,
            "sort": sort_kw,
            "trackpy": {"search_range_px": SEARCH_RANGE_PX, "memory": lost_frames, "min_score": POINT_MIN_SCORE},
            "bytetrack": {"minimum_iou_threshold": 0.05, "high_conf_det_threshold": 0.5},
        },
        "rows": rows,
        "targets": {"offline_vs_fastest_at_33_65_boxes": 10, "streaming_vs_filterpy_at_6_boxes": 40},
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(out) as fh:
        json.dump(result, fh, indent=2)
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
