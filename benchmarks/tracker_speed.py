"""How fast is spermtrack's tracker, against a plain filterpy + SciPy SORT, in the same run?

Simulated VISEM-like videos (spermtrack.simulate) at 5, 30 and 65 sperm per
frame, 1,470 frames (30 s at 49 fps), detections made from the true boxes with
spermtrack.detect.GroundTruthDetector (10 % missed, 1 false box per frame,
1 px centre jitter, noisy scores). Timed, on one core after JIT warm-up:

- ``track()``: the offline tracker (online pass in Numba + gap closing,
  short-track removal, interpolation), best of ``--repeats``;
- ``Tracker.update``: the streaming tracker called once per frame from Python,
  ``finish()`` included, best of ``--repeats``;
- the reference: :mod:`tracker_reference` (filterpy KalmanFilter per track,
  IoU, ``scipy.optimize.linear_sum_assignment``), best of ``--ref-repeats``.

Prints a table with frames per second and the ratios, writes
benchmarks/results/tracker_speed.json. Targets (issue 4): >= 10,000 frames/s
at 65 boxes per frame and >= 40x the reference.

    python benchmarks/tracker_speed.py [--frames 1470] [--repeats 5] [--ref-frames 1470] [--ref-repeats 3]
"""

from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core for everyone

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tracker_reference import sort_reference  # noqa: E402

from spermtrack.atomic import atomic_open  # noqa: E402
from spermtrack.detect.ground_truth import GroundTruthDetector  # noqa: E402
from spermtrack.simulate import simulate_video  # noqa: E402
from spermtrack.track import Tracker, track  # noqa: E402

DENSITIES = (5, 30, 65)
FPS = 50.0


def detections(density: int, num_frames: int, seed: int):
    video = simulate_video(seed=seed, num_frames=num_frames, density=density)
    return GroundTruthDetector(video.boxes, miss=0.1, fp_per_frame=1.0, jitter_px=1.0, score_noise=0.2, seed=seed).degrade()


def best_time(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def streaming(dets) -> None:
    tracker = Tracker(FPS)
    for _, frame_boxes in dets.iter_frames():
        tracker.update(frame_boxes)
    tracker.finish()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=1470)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--ref-frames", type=int, default=1470, help="frames given to the (slow) reference")
    ap.add_argument("--ref-repeats", type=int, default=3, help="timings of the reference (best kept)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "tracker_speed.json"))
    args = ap.parse_args(argv)

    # JIT warm-up (compilation is cached on disk, loading is not free)
    warm = detections(5, 50, 0)
    track(warm, FPS)
    streaming(warm)

    rows = []
    for density in DENSITIES:
        dets = detections(density, args.frames, args.seed + density)
        nf = dets.num_frames
        per_frame = len(dets) / nf
        t_off = best_time(lambda d=dets: track(d, FPS), args.repeats)
        t_stream = best_time(lambda d=dets: streaming(d), args.repeats)
        ref_dets = dets.select_frames(0, args.ref_frames)
        t_ref = best_time(lambda d=ref_dets: sort_reference(d), args.ref_repeats)
        ref_fps = ref_dets.num_frames / t_ref
        row = {
            "density": density,
            "boxes_per_frame": round(per_frame, 1),
            "frames": nf,
            "offline_fps": nf / t_off,
            "streaming_fps": nf / t_stream,
            "reference_fps": ref_fps,
            "reference_frames": ref_dets.num_frames,
            "offline_vs_reference": nf / t_off / ref_fps,
            "streaming_vs_reference": nf / t_stream / ref_fps,
        }
        rows.append(row)
        print(
            f"density {density:>2}: {per_frame:5.1f} boxes/frame  track() {row['offline_fps']:>9,.0f} fps  "
            f"Tracker.update {row['streaming_fps']:>8,.0f} fps  reference {ref_fps:>6,.0f} fps  "
            f"ratios {row['offline_vs_reference']:6.1f}x / {row['streaming_vs_reference']:6.1f}x",
            flush=True,
        )

    print()
    print(
        "| boxes/frame | track() frames/s | Tracker.update frames/s | filterpy+SciPy SORT frames/s | track() / SORT | update / SORT |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['boxes_per_frame']:.1f} | {r['offline_fps']:,.0f} | {r['streaming_fps']:,.0f} | {r['reference_fps']:,.0f} | "
            f"{r['offline_vs_reference']:.1f}x | {r['streaming_vs_reference']:.1f}x |"
        )
    result = {
        "benchmark": "tracker_speed",
        "machine": {"python": platform.python_version(), "processor": platform.processor() or platform.machine(), "threads": 1},
        "frames": args.frames,
        "repeats": args.repeats,
        "reference_repeats": args.ref_repeats,
        "detections": "simulate_video + GroundTruthDetector(miss=0.1, fp_per_frame=1, jitter_px=1, score_noise=0.2)",
        "rows": rows,
        "targets": {"fps_at_65": 10_000, "ratio": 40},
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(out) as fh:
        json.dump(result, fh, indent=2)
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
