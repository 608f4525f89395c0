"""Simulate videos with exact truth, run the whole pipeline on them and measure its errors.

    python examples/simulate_and_benchmark.py [--videos 2] [--frames 150] [--detector classical] [--density 25] [--seed 0]

For each simulated video: the pipeline (detector -> tracker -> kinematics) runs on the
rendered frames exactly as on a real video; then its tracks are scored against the
simulator's true tracks (HOTA, MOTA, IDF1) and each tracked sperm's VCL, VSL, VAP is
compared with the true values of the cell it follows (the simulator computes them
with the same CASA definitions on the noise-free head path). Finally the five fastest
tracks by VSL are checked against the true five fastest. The default detector is the
classical one (no weights); ``--detector auto`` uses the shipped model.
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from spermtrack import Boxes
from spermtrack.evaluate import iou_matrix, tracking_many
from spermtrack.io.visem import write_video
from spermtrack.pipeline import analyze
from spermtrack.simulate import simulate_video


def follow(hyp: Boxes, gt: Boxes, min_share: float = 0.5) -> dict[int, int]:
    """The true track each hypothesis track follows: the one it matches (IoU >= 0.5) in most of its boxes.

    Frame by frame, boxes are paired by maximum total IoU; a hypothesis track is assigned the
    true track it was paired with most often, if that covers at least ``min_share`` of its boxes.
    """
    counts: dict[tuple[int, int], int] = {}
    for f in range(hyp.num_frames):
        h, g = hyp.at_frame(f), gt.at_frame(f)
        if not len(h) or not len(g):
            continue
        iou = iou_matrix(h.xyxy, g.xyxy)
        rows, cols = linear_sum_assignment(-iou)
        for r, c in zip(rows, cols):
            if iou[r, c] >= 0.5:
                key = (int(h.track_id[r]), int(g.track_id[c]))
                counts[key] = counts.get(key, 0) + 1
    best: dict[int, tuple[int, int]] = {}
    for (h, g), n in counts.items():
        if n > best.get(h, (-1, 0))[1]:
            best[h] = (g, n)
    sizes = dict(zip(*np.unique(hyp.track_id, return_counts=True)))
    return {h: g for h, (g, n) in best.items() if n >= min_share * sizes[h]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--videos", type=int, default=2)
    p.add_argument("--frames", type=int, default=150)
    p.add_argument("--density", type=float, default=25.0, help="mean sperm per frame")
    p.add_argument("--detector", default="classical")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    rows, pairs, top_hits, top_total = [], {}, 0, 0
    with tempfile.TemporaryDirectory() as scratch:
        for i in range(args.videos):
            sim = simulate_video(seed=args.seed + i, num_frames=args.frames, density=args.density, look="mixed")
            vid = f"bench{i}"
            folder = write_video(scratch, vid, sim.boxes, frames=sim.frames(), fps=sim.fps, mp4=False)
            result = analyze(folder, detector=args.detector, calibration=sim.calibration)
            pairs[vid] = (sim.boxes, result.tracks)
            truth = sim.tracks_truth.set_index("track_id")
            kin = result.kinematics[result.kinematics.quality == "ok"]
            followed = follow(result.tracks, sim.boxes)
            for _, r in kin.iterrows():
                g = followed.get(int(r.track_id))
                if g is None or g not in truth.index:
                    continue
                t = truth.loc[g]
                rows.append({"video": vid, **{f"{c}_err": (r[c] - t[c]) / t[c] for c in ("vcl", "vsl", "vap") if t[c] > 0}})
            # the true five fastest (by VSL, tracks of >= 1 s) against the pipeline's five fastest
            duration = (truth.last_labelled - truth.first_labelled) / sim.fps
            true_top = truth[(duration >= 1.0) & (truth.cls == 0)].sort_values("vsl", ascending=False).head(5)
            found = [followed.get(int(t)) for t in result.fastest(5).track_id]
            top_hits += len(set(found) & set(true_top.index))
            top_total += len(true_top)
            print(f"{vid}: {len(kin)} valid tracks of {len(result.kinematics)}, detector {result.detector}")
    scores = tracking_many(pairs)
    print("\nTracking against the simulator's truth (all classes):")
    print(scores.table(["HOTA", "MOTA", "IDF1", "IDSW", "FP", "FN"]))
    err = pd.DataFrame(rows)
    print(f"\nKinematics of {len(err)} tracked sperm vs the truth of the cell each follows:")
    for c in ("vcl", "vsl", "vap"):
        e = err[f"{c}_err"].dropna().to_numpy()
        print(f"  {c.upper()}: median relative error {np.median(e):+.1%}, median |error| {np.median(np.abs(e)):.1%} (n={e.size})")
    print(f"\nTop-5 fastest (VSL): {top_hits} of {top_total} true fastest found ({top_hits / max(top_total, 1):.0%})")


if __name__ == "__main__":
    main()
