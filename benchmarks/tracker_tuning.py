"""How were TrackerConfig's defaults chosen? One-at-a-time changes from the defaults, on simulated videos.

For each variant (the defaults with one or two settings changed) the offline
tracker runs on simulated VISEM-like videos (``spermtrack.simulate``, densities
5, 30 and 65, ``--seeds`` each, ``--frames`` frames at 50 fps) under three
detection conditions (perfect boxes; 10 % missed + 1 false box per frame + 1 px
jitter; 25 % missed + 3 false + 2 px; noisy scores as in tracker_accuracy.py), and
prints IDF1, MOTA and ID switches (spermtrack.evaluate, IoU 0.5, videos combined).
With ``--fps`` it instead checks that the defaults hold at 15, 30, 50 and 100 fps
(the same physical motion simulated at each frame rate, 8 s per video).

Writes benchmarks/results/tracker_tuning.json.

    python benchmarks/tracker_tuning.py [--frames 400] [--seeds 2] [--fps] [--variants '[{}, {"gate": 11}]']
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from spermtrack import Calibration
from spermtrack.atomic import atomic_open
from spermtrack.detect.ground_truth import GroundTruthDetector
from spermtrack.evaluate import tracking_many
from spermtrack.simulate import simulate_video
from spermtrack.track import TrackerConfig, track

CONDITIONS = {
    "perfect": {},
    "10% miss, 1 FP": {"miss": 0.10, "fp_per_frame": 1.0, "jitter_px": 1.0, "score_noise": 0.2},
    "25% miss, 3 FP": {"miss": 0.25, "fp_per_frame": 3.0, "jitter_px": 2.0, "score_noise": 0.2},
}
VARIANTS = [
    {},
    {"accel_std_px_s2": 200.0},
    {"accel_std_px_s2": 1500.0},
    {"accel_std_px_s2": 3000.0},
    {"meas_std_px": 3.0},
    {"meas_std_px": 7.0},
    {"gate": 11.0},
    {"gate": 25.0},
    {"logdet_weight": 0.0},
    {"logdet_weight": 2.0},
    {"rescue_dist": 1.0},
    {"size_weight": 0.0},
    {"size_weight": 0.5},
    {"size_weight": 1.0},
    {"max_lost_s": 0.3},
    {"max_lost_s": 0.6},
    {"confirm_s": 0.1},
    {"interpolate_s": 0.0},
    {"interpolate_s": 0.3},
    {"gap_close_s": 0.5},
    {"gap_close_s": 0.5, "gap_gate": 9.0, "gap_speed_std_px_s": 150.0},
    {"cost": "distance", "gate": 1.0},
    {"cost": "iou", "gate": 0.95},
]


def degrade(gt, seed, kw):
    return GroundTruthDetector(gt, seed=seed, **kw).degrade() if kw else gt.replace(track_id=np.full(len(gt), -1, np.int64))


def sweep(args) -> dict:
    videos = {}
    for density in (5, 30, 65):
        for s in range(args.seeds):
            seed = 500 + 10 * density + s
            videos[f"d{density}s{s}"] = (seed, simulate_video(seed=seed, num_frames=args.frames, density=density).boxes)
    dets = {cond: {vid: degrade(gt, seed, kw) for vid, (seed, gt) in videos.items()} for cond, kw in CONDITIONS.items()}
    rows = []
    print("| variant | " + " | ".join(f"{c}: IDF1 / MOTA / IDSW" for c in CONDITIONS) + " |")
    print("|---|" + "---:|" * len(CONDITIONS))
    for v in args.variants:
        cfg = TrackerConfig(**v)
        row = {"variant": v or "defaults"}
        cells = []
        for cond in CONDITIONS:
            sc = tracking_many({vid: (gt, track(dets[cond][vid], 50.0, cfg)) for vid, (_, gt) in videos.items()}, per_class=False)
            row[cond] = {"IDF1": sc.idf1, "MOTA": sc.mota, "IDSW": int(sc.idsw)}
            cells.append(f"{sc.idf1:.3f} / {sc.mota:.3f} / {sc.idsw}")
        rows.append(row)
        name = ", ".join(f"{k}={val}" for k, val in v.items()) or "**defaults**"
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    return {"frames": args.frames, "seeds": args.seeds, "rows": rows}


def fps_check(args) -> dict:
    rows = []
    print("| fps | frames | perfect IDF1 / MOTA | 10% miss, 1 FP IDF1 / MOTA |")
    print("|---:|---:|---:|---:|")
    for fps in (15.0, 30.0, 50.0, 100.0):
        nf = int(8 * fps)
        perfect, noisy = {}, {}
        for s in range(args.seeds):
            for density in (30, 65):
                seed = 900 + s + density
                gt = simulate_video(seed=seed, num_frames=nf, density=density, calibration=Calibration(0.25, fps)).boxes
                perfect[f"{s}{density}"] = (gt, track(degrade(gt, seed, {}), fps))
                noisy[f"{s}{density}"] = (gt, track(degrade(gt, seed, CONDITIONS["10% miss, 1 FP"]), fps))
        a, b = tracking_many(perfect, per_class=False), tracking_many(noisy, per_class=False)
        rows.append(
            {"fps": fps, "frames": nf, "perfect": {"IDF1": a.idf1, "MOTA": a.mota}, "noisy": {"IDF1": b.idf1, "MOTA": b.mota}}
        )
        print(f"| {fps:.0f} | {nf} | {a.idf1:.3f} / {a.mota:.3f} | {b.idf1:.3f} / {b.mota:.3f} |", flush=True)
    return {"seeds": args.seeds, "rows": rows}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=400)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--fps", action="store_true", help="check the defaults at 15, 30, 50, 100 fps instead of sweeping")
    ap.add_argument(
        "--variants", type=json.loads, default=VARIANTS, help="JSON list of setting dicts to try instead of the built-in list"
    )
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    result = {"benchmark": "tracker_tuning", "defaults": TrackerConfig().to_dict()}
    if args.fps:
        result["fps_check"] = fps_check(args)
    else:
        result["sweep"] = sweep(args)
    name = "tracker_tuning_fps.json" if args.fps else "tracker_tuning.json"
    out = Path(args.out) if args.out else Path(__file__).resolve().parent / "results" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(out) as fh:
        json.dump(result, fh, indent=2)
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
