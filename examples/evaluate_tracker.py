"""Score the tracker on a VISEM-Tracking-layout root: MOTA, IDF1, HOTA per video and combined.

    python examples/evaluate_tracker.py ROOT [--split val] [--detector gt-noisy] [--miss 0.1] [--fp 1] [--jitter 1]

ROOT is the real VISEM-Tracking dataset (any nesting) or a simulated one
(``spermtrack simulate``). Without ROOT the script simulates a small root first
(4 videos of 80 frames), so it runs as written.

Detectors: ``gt`` (the labels themselves: tracking errors only), ``gt-noisy`` (the
labels degraded: --miss, --fp boxes per frame, --jitter px; the public-detections
protocol), or any detector name (``classical``, ``auto``, ``yolo:WEIGHTS``): then the
scores include detection errors.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from spermtrack.detect import GroundTruthDetector, get_detector, run_detector
from spermtrack.evaluate import tracking_many
from spermtrack.io.visem import VisemDataset
from spermtrack.track import TrackerConfig, track


def detections_for(video, detector: str, miss: float, fp: float, jitter: float, seed: int):
    """Detections of one video: degraded ground truth, or a real detector run over its frames."""
    if detector in ("gt", "gt-noisy"):
        noisy = detector == "gt-noisy"
        det = GroundTruthDetector(
            video.labels(),
            miss=miss if noisy else 0.0,
            fp_per_frame=fp if noisy else 0.0,
            jitter_px=jitter if noisy else 0.0,
            seed=seed,
            image_size=video.image_size,
        )
        return det.degrade()
    with video.open_frames() as frames:
        return run_detector(get_detector(detector), frames)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("root", nargs="?", type=Path, help="VISEM-layout root (default: simulate a small one)")
    p.add_argument("--split", default="val", choices=("train", "val", "all"), help="videos to score (default val)")
    p.add_argument("--detector", default="gt-noisy", help="gt, gt-noisy, classical, auto, yolo:WEIGHTS")
    p.add_argument("--miss", type=float, default=0.1, help="gt-noisy: fraction of boxes missed")
    p.add_argument("--fp", type=float, default=1.0, help="gt-noisy: false boxes per frame")
    p.add_argument("--jitter", type=float, default=1.0, help="gt-noisy: centre jitter, px")
    p.add_argument("--config", type=Path, default=None, help="tracker settings (JSON)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        root = args.root
        if root is None:
            from spermtrack.simulate import simulate_dataset

            root = Path(scratch) / "sim"
            simulate_dataset(root, n_videos=4, num_frames=80, seed=args.seed, workers=1, mp4=False, val_fraction=0.5)
            print(f"No root given: simulated 4 videos of 80 frames in {root}")
        ds = VisemDataset(root)
        ids = ds.video_ids if args.split == "all" else ds.split(args.split)
        config = TrackerConfig.from_json(args.config) if args.config else TrackerConfig()
        pairs = {}
        for vid in ids:
            video = ds.video(vid)
            dets = detections_for(video, args.detector, args.miss, args.fp, args.jitter, args.seed)
            hyp = track(dets, video.fps, config)
            pairs[vid] = (video.tracks(), hyp)
        scores = tracking_many(pairs)
    n_frames = sum(gt.num_frames for gt, _ in pairs.values())
    print(f"\nTracker on {len(ids)} {args.split} video(s), detector {args.detector}, {n_frames} frames")
    print(scores.table(["HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDSW", "FP", "FN"]))


if __name__ == "__main__":
    main()
