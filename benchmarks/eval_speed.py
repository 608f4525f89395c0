"""Speed of spermtrack.evaluate against py-motmetrics, TrackEval and ultralytics, in one run.

The data is one VISEM-sized video: 1,470 frames of the simulator's ground truth at about
60 boxes per frame (640x480, three classes), and a tracker-like hypothesis made from it
(7 % misses, 1.5 px jitter, identity breaks, 2 false positives per frame, class
confusions). Timed, each on the same boxes:

- ``tracking(gt, hyp, per_class=False)`` (CLEAR MOT + identity + HOTA, class-agnostic) and
  ``tracking(gt, hyp)`` (also per class);
- py-motmetrics 1.4: distances per frame, ``MOTAccumulator.update`` per frame and
  ``metrics.compute`` of the CLEAR and identity metrics (the reference harness of
  tests/evaluate_reference.py; motmetrics' own ``iou_matrix`` does not run on NumPy 2);
- TrackEval 1.3: building its data dict (its own IoU function) and ``HOTA.eval_sequence``;
- ``detection(gt, det)`` against ultralytics' ``box_iou`` + ``match_predictions`` +
  ``DetMetrics`` frame by frame (skipped without ultralytics).

Before timing, every value is checked against the references (max abs difference printed).
Times are the median of ``--repeats`` runs (the references: ``--ref-repeats``), after one
warm-up of ours (Numba compilation is not timed).

    python benchmarks/eval_speed.py [--frames 1470] [--objects 60] [--repeats 5] [--ref-repeats 2]

Prints a table and writes benchmarks/results/eval_speed.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE.parent / "tests"))  # the reference harness shared with the tests

from evaluate_reference import (  # noqa: E402
    MM_TO_OURS,
    TE_TO_OURS,
    motmetrics_reference,
    trackeval_hota,
    ultralytics_reference,
)

from spermtrack import Boxes  # noqa: E402
from spermtrack.evaluate import detection, tracking  # noqa: E402


def make_video(num_frames: int, objects: float, seed: int = 0) -> tuple[Boxes, Boxes]:
    """Simulated ground truth (about ``objects`` boxes per frame) and a tracker-like hypothesis."""
    from spermtrack.simulate import simulate_video

    gt = simulate_video(seed=seed, num_frames=num_frames, density=objects).boxes
    rng = np.random.default_rng(seed)
    # clusters and pinheads come on top of the sperm density: drop whole tracks down to ~objects per frame
    tracks = rng.permutation(gt.unique_tracks())
    sizes = np.array([np.count_nonzero(gt.track_id == t) for t in tracks])
    n_drop = int(np.searchsorted(np.cumsum(sizes), len(gt) - objects * num_frames))
    gt = gt.filter(~np.isin(gt.track_id, tracks[:n_drop]))
    keep = rng.random(len(gt)) >= 0.07
    h = gt.filter(keep)
    tid = h.track_id.copy()
    for t in np.unique(tid):  # identity breaks: 30 % of tracks get a new id from a random frame on
        if rng.random() < 0.3:
            m = tid == t
            cut = np.quantile(h.frame[m], rng.random())
            tid[m & (h.frame > cut)] = 10**6 + t
    j = rng.normal(0, 1.5, (len(h), 2)).astype(np.float32)
    cls = np.where(rng.random(len(h)) < 0.03, rng.integers(0, 3, len(h)), h.cls)
    score = rng.uniform(0.3, 1.0, len(h))
    n_fp = 2 * num_frames
    fxy = rng.uniform(0, 620, (n_fp, 2)).astype(np.float32)
    fp = Boxes.from_unsorted(
        rng.integers(0, num_frames, n_fp),
        fxy[:, 0],
        fxy[:, 1] * 0.75,
        fxy[:, 0] + 20,
        fxy[:, 1] * 0.75 + 20,
        score=rng.uniform(0, 0.6, n_fp),
        cls=np.zeros(n_fp),
        track_id=2 * 10**6 + np.arange(n_fp),
        num_frames=num_frames,
    )
    hyp = h.replace(
        x1=h.x1 + j[:, 0], x2=h.x2 + j[:, 0], y1=h.y1 + j[:, 1], y2=h.y2 + j[:, 1], track_id=tid, cls=cls, score=score
    )
    return gt, Boxes.concat([hyp, fp], num_frames=num_frames)


def timed(fn, repeats: int) -> tuple[float, list[float], object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=1470)
    ap.add_argument("--objects", type=float, default=60.0, help="mean boxes per frame")
    ap.add_argument("--repeats", type=int, default=5, help="timed runs of ours (median)")
    ap.add_argument("--ref-repeats", type=int, default=2, help="timed runs of each reference (median)")
    ap.add_argument("--no-detection", action="store_true", help="skip the detection comparison with ultralytics")
    ap.add_argument("--out", type=Path, default=RESULTS / "eval_speed.json")
    args = ap.parse_args(argv)

    gt, hyp = make_video(args.frames, args.objects)
    per_frame = float(gt.counts_per_frame().mean())
    print(
        f"video: {args.frames} frames, {len(gt)} ground-truth boxes ({per_frame:.1f}/frame, {len(gt.unique_tracks())} tracks), "
        f"{len(hyp)} hypothesis boxes ({len(hyp.unique_tracks())} tracks)"
    )
    tracking(gt.select_frames(0, 3), hyp.select_frames(0, 3))  # compile (not timed)
    detection(gt.select_frames(0, 3), hyp.select_frames(0, 3))

    rows = []
    t_ours, ours_times, scores = timed(lambda: tracking(gt, hyp, per_class=False), args.repeats)
    t_ours_cls, ours_cls_times, _ = timed(lambda: tracking(gt, hyp), args.repeats)
    t_mm, mm_times, mm = timed(lambda: motmetrics_reference(gt, hyp), args.ref_repeats)
    t_te, te_times, te = timed(lambda: trackeval_hota(gt, hyp), args.ref_repeats)
    diff_mm = max(abs(float(getattr(scores, ours)) - float(mm[name])) for name, ours in MM_TO_OURS.items())
    diff_te = max(abs(getattr(scores, ours) - float(np.mean(te[name]))) for name, ours in TE_TO_OURS.items())
    rows.append(("CLEAR+identity+HOTA (ours) vs motmetrics (CLEAR+identity)", t_ours, t_mm, diff_mm))
    rows.append(("CLEAR+identity+HOTA (ours) vs motmetrics + TrackEval HOTA", t_ours, t_mm + t_te, max(diff_mm, diff_te)))
    rows.append(("ours (all metrics) vs TrackEval HOTA alone", t_ours, t_te, diff_te))
    rows.append(("ours with per-class scores vs motmetrics + TrackEval", t_ours_cls, t_mm + t_te, float("nan")))
    result = {
        "frames": args.frames,
        "gt_boxes": len(gt),
        "hyp_boxes": len(hyp),
        "gt_boxes_per_frame": per_frame,
        "ours_tracking_s": t_ours,
        "ours_tracking_runs_s": ours_times,
        "ours_tracking_per_class_s": t_ours_cls,
        "ours_tracking_per_class_runs_s": ours_cls_times,
        "motmetrics_s": t_mm,
        "motmetrics_runs_s": mm_times,
        "trackeval_hota_s": t_te,
        "trackeval_hota_runs_s": te_times,
        "speedup_vs_motmetrics": t_mm / t_ours,
        "speedup_vs_motmetrics_plus_trackeval": (t_mm + t_te) / t_ours,
        "max_abs_diff_vs_motmetrics": diff_mm,
        "max_abs_diff_vs_trackeval": diff_te,
        "scores": {k: float(v) for k, v in scores.metrics().items()},
    }
    if not args.no_detection:
        try:
            import ultralytics  # noqa: F401
        except ImportError:
            print("ultralytics not installed: detection comparison skipped")
        else:
            t_det, det_times, det = timed(lambda: detection(gt, hyp), args.repeats)
            t_ul, ul_times, ul = timed(lambda: ultralytics_reference(gt, hyp), args.ref_repeats)
            ref = [float(v) for v in ul.mean_results()]
            diff = max(abs(a - b) for a, b in zip((det.precision, det.recall, det.mAP50, det.mAP50_95), ref))
            rows.append(("detection P/R/mAP (ours) vs ultralytics", t_det, t_ul, diff))
            result.update(
                ours_detection_s=t_det,
                ours_detection_runs_s=det_times,
                ultralytics_s=t_ul,
                ultralytics_runs_s=ul_times,
                speedup_vs_ultralytics=t_ul / t_det,
                max_abs_diff_vs_ultralytics=diff,
            )

    w = max(len(r[0]) for r in rows)
    print(f"\n{'task':<{w}}  {'ours s':>8}  {'ref s':>8}  {'speed-up':>8}  {'max |diff|':>10}")
    for name, a, b, d in rows:
        print(f"{name:<{w}}  {a:8.3f}  {b:8.3f}  {b / a:7.1f}x  {d:10.1e}")
    result["machine"] = {"cpu": platform.processor() or platform.machine(), "python": platform.python_version()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    from spermtrack.atomic import atomic_open

    with atomic_open(args.out) as fh:
        json.dump(result, fh, indent=2)
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
