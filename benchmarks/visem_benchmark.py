"""Detection + tracking scores on a VISEM-Tracking copy: the paper's Table 2 columns and the tracking columns.

For every evaluated video: run the detector, score the detections against ``labels/``
(precision, recall, mAP50, mAP50-95, fitness, as ultralytics computes them), track them
with :func:`spermtrack.track.track`, and score the tracks against ``labels_ftid/``
(HOTA, DetA, AssA, MOTA, IDF1, ID switches, ... equal to TrackEval / py-motmetrics).
Prints one row per video and the overall row (detections pooled over all videos as
ultralytics pools images; tracking counts summed as motmetrics/TrackEval combine
sequences), and writes JSON.

    python benchmarks/visem_benchmark.py [ROOT] [--split official|folds|all] [--folds 5]
        [--detector gt|gt-noisy|classical|yolo:WEIGHTS] [--max-frames N] [--out FILE]

- ``ROOT``: a VISEM-Tracking copy (the released archive, any nesting) or a simulated one.
  Without it, a small VISEM-like dataset is simulated first (``--sim-videos`` videos of
  ``--sim-frames`` frames, seed 0), so the script runs anywhere.
- ``--split official``: the paper's validation videos 52, 54, 60, 82 (or the root's
  ``split.json`` "val"). ``folds``: ``--folds`` leave-videos-out folds; every video is
  evaluated once, with the weights of its fold when the detector spec contains
  ``{fold}`` (``yolo:runs/fold{fold}/weights/best.pt``). ``all``: every video.
- ``--detector``: ``gt`` (the labels themselves: an upper bound that measures the tracker
  alone), ``gt-noisy`` (labels with 10 % misses, 1.5 px jitter, 1 false positive per frame),
  ``classical`` (OpenCV), ``yolo:WEIGHTS`` (run at conf 0.001 as ultralytics validates; the
  tracker ignores boxes below its own ``low_score``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

COLUMNS = (  # header, where, key, kind
    ("P", "det", "precision", "pct"),
    ("R", "det", "recall", "pct"),
    ("mAP50", "det", "mAP50", "pct"),
    ("mAP50-95", "det", "mAP50-95", "pct"),
    ("fitness", "det", "fitness", "pct"),
    ("HOTA", "trk", "hota", "pct"),
    ("DetA", "trk", "deta", "pct"),
    ("AssA", "trk", "assa", "pct"),
    ("MOTA", "trk", "mota", "pct"),
    ("IDF1", "trk", "idf1", "pct"),
    ("IDSW", "trk", "idsw", "int"),
    ("FP", "trk", "fp", "int"),
    ("FN", "trk", "fn", "int"),
)


def simulate_root(n_videos: int, num_frames: int, seed: int = 0) -> Path:
    """A small VISEM-like dataset in a temporary folder (images and labels, no mp4)."""
    from spermtrack.simulate import simulate_dataset

    root = Path(tempfile.mkdtemp(prefix="visem_sim_"))
    print(f"simulating {n_videos} videos x {num_frames} frames into {root} ...", flush=True)
    t0 = time.perf_counter()
    simulate_dataset(root, n_videos=n_videos, num_frames=num_frames, seed=seed, mp4=False, val_fraction=0.4)
    print(f"  done in {time.perf_counter() - t0:.1f} s", flush=True)
    return root


def detect_video(video, spec: str, max_frames: int | None, batch_size: int):
    """Detections of one video (Boxes) and the seconds they took."""
    from spermtrack.detect import get_detector
    from spermtrack.detect.base import run_detector
    from spermtrack.detect.ground_truth import GroundTruthDetector

    t0 = time.perf_counter()
    from spermtrack.detect.spec import detector_kind, is_ground_truth

    kind = detector_kind(spec)
    if is_ground_truth(spec):
        gt = video.labels()
        if max_frames is not None:
            gt = gt.select_frames(0, max_frames)
        noise = dict(miss=0.1, jitter_px=1.5, fp_per_frame=1.0, score_noise=0.1) if kind == "gt-noisy" else {}
        det = GroundTruthDetector(gt, image_size=video.image_size, seed=zlib.crc32(video.id.encode()), **noise).degrade()
    else:
        kwargs = {"conf": 0.001} if kind in ("yolo", "onnx", "yolov5", "default", "auto") else {}
        detector = get_detector(spec, **kwargs)
        with video.open_frames() as source:
            det = run_detector(detector, source, batch_size=batch_size, max_frames=max_frames)
    return det, time.perf_counter() - t0


def evaluate_videos(ds, vids, spec: str, args) -> dict:
    """Detection and tracking scores of the videos ``vids`` (per video)."""
    from spermtrack import Boxes
    from spermtrack.evaluate import detection, tracking
    from spermtrack.track import track

    out = {}
    warm = Boxes.from_xyxy([0, 1], [[10, 10, 30, 30], [11, 10, 31, 30]], score=[0.9, 0.9])
    track(warm, 50.0)  # compile the tracker before timing it
    for vid in vids:
        video = ds.video(vid)
        n = video.num_frames if args.max_frames is None else min(video.num_frames, args.max_frames)
        gt_det, gt_trk = video.labels().select_frames(0, n), video.tracks().select_frames(0, n)
        det, det_s = detect_video(video, spec, args.max_frames, args.batch_size)
        det = det.select_frames(0, n).replace(num_frames=n)
        t0 = time.perf_counter()
        tracks = track(det, video.fps)
        trk_s = time.perf_counter() - t0
        out[vid] = {
            "det": detection(gt_det, det, name=vid),
            "trk": tracking(gt_trk, tracks.replace(num_frames=n), args.iou, name=vid),
            "frames": n,
            "detect_s": det_s,
            "track_s": trk_s,
        }
        row = out[vid]
        print(
            f"  {vid}: {n} frames, {len(det)} detections ({n / det_s:.0f} frames/s), "
            f"{len(tracks.unique_tracks())} tracks ({n / trk_s:.0f} frames/s): "
            f"mAP50 {row['det'].mAP50:.3f}, HOTA {row['trk'].hota:.3f}, MOTA {row['trk'].mota:.3f}",
            flush=True,
        )
    return out


def combine(rows: dict, name: str) -> dict:
    from spermtrack.evaluate import DetectionScores, TrackingScores

    return {
        "det": DetectionScores.combine([r["det"] for r in rows.values()], name=name),
        "trk": TrackingScores.combine([r["trk"] for r in rows.values()], name=name),
        "frames": sum(r["frames"] for r in rows.values()),
        "detect_s": sum(r["detect_s"] for r in rows.values()),
        "track_s": sum(r["track_s"] for r in rows.values()),
    }


def cells(row: dict) -> list[str]:
    from spermtrack.evaluate.table import format_value

    vals = {"det": row["det"].metrics(), "trk": row["trk"].metrics()}
    return [format_value(vals[where][key], kind) for _, where, key, kind in COLUMNS]


def as_json(row: dict) -> dict:
    return {
        "frames": row["frames"],
        "detect_s": round(row["detect_s"], 3),
        "track_s": round(row["track_s"], 3),
        "detection": row["det"].to_dict(),
        "tracking": row["trk"].to_dict(),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", nargs="?", type=Path, help="VISEM-layout root; simulated when omitted")
    ap.add_argument("--split", choices=("official", "folds", "all"), default="official")
    ap.add_argument("--folds", type=int, default=5, help="number of folds with --split folds")
    ap.add_argument("--detector", default="gt-noisy", help="gt, gt-noisy, classical or yolo:WEIGHTS (may contain {fold})")
    ap.add_argument("--max-frames", type=int, default=None, help="only the first N frames of each video")
    ap.add_argument("--iou", type=float, default=0.5, help="IoU threshold of MOTA/IDF1")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--sim-videos", type=int, default=5)
    ap.add_argument("--sim-frames", type=int, default=150)
    ap.add_argument(
        "--out", type=Path, default=None, help="JSON file (default benchmarks/results/visem_benchmark_<detector>.json)"
    )
    args = ap.parse_args(argv)

    from spermtrack.evaluate import json_safe
    from spermtrack.evaluate.table import render
    from spermtrack.io.visem import VisemDataset

    simulated = args.root is None
    root = simulate_root(args.sim_videos, args.sim_frames) if simulated else args.root
    ds = VisemDataset(root)
    if args.split == "folds":
        plan = [(f"fold{k}", val, args.detector.replace("{fold}", str(k))) for k, (_, val) in enumerate(ds.folds(args.folds))]
    else:
        vids = ds.split("val") if args.split == "official" else list(ds.video_ids)
        if not vids:
            raise SystemExit(f"{root}: split {args.split!r} has no videos")
        plan = [(args.split, vids, args.detector)]
    print(f"{root}: {len(ds)} videos; split {args.split}; detector {args.detector}", flush=True)

    per_video, groups = {}, {}
    for group, vids, spec in plan:
        print(f"{group}: videos {vids}", flush=True)
        rows = evaluate_videos(ds, vids, spec, args)
        per_video.update(rows)
        groups[group] = combine(rows, group)
    overall = combine(per_video, "overall")

    header = ["video", "frames", *[c[0] for c in COLUMNS]]
    body = [[vid, str(r["frames"]), *cells(r)] for vid, r in per_video.items()]
    if len(groups) > 1:
        body += [[g, str(r["frames"]), *cells(r)] for g, r in groups.items()]
    body.append(["overall", str(overall["frames"]), *cells(overall)])
    print()
    print(render(header, body, left=1))
    print(
        f"detection {overall['frames'] / overall['detect_s']:.0f} frames/s, tracking {overall['frames'] / overall['track_s']:.0f} "
        f"frames/s; P/R at the max mean-F1 confidence; fitness = 0.1 mAP50 + 0.9 mAP50-95; MOTA/IDF1 at IoU {args.iou:g}"
    )

    result = {
        "root": str(root),
        "simulated": simulated,
        "split": args.split,
        "detector": args.detector,
        "iou_threshold": args.iou,
        "max_frames": args.max_frames,
        "overall": as_json(overall),
        "groups": {g: {"videos": list(v), **as_json(groups[g])} for g, v, _ in plan},
        "videos": {v: as_json(r) for v, r in per_video.items()},
    }
    name = args.detector.split(":")[0].replace("-", "_")
    out = args.out or RESULTS / f"visem_benchmark_{name}{'_sim' if simulated else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    from spermtrack.atomic import atomic_open

    with atomic_open(out) as fh:
        json.dump(json_safe(result), fh, indent=1)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
