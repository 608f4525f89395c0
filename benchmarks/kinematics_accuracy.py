"""Accuracy of CASA kinematics from tracked detections, against the simulator's truth.

For each simulated video (VISEM densities: the per-frame counts of real VISEM videos), the
ground-truth boxes are degraded (``GroundTruthDetector``: centre jitter, misses, false
positives), tracked with ``spermtrack.track.track`` and measured with
``spermtrack.kinematics.casa``. Each tracked track is matched, frame by frame, to the true
cell it follows (Hungarian assignment on centre distance), and compared with

* the **same-frames truth**: ``casa`` on the noise-free head path of that cell over the
  tracked track's frames (what the estimate should read; isolates detection noise and
  identity errors from fragmentation), and
* the **whole-track truth**: the simulator's ``tracks_truth`` (``casa`` on the noise-free
  path over all the frames the cell is labelled), for the longest tracked track of the
  cell.

Reported: median relative error of VCL, VSL and VAP over valid tracks of motile cells
(relative errors of an immotile cell's ~0 µm/s speeds mean nothing; their absolute errors
are reported apart), agreement of the WHO motility class, and the precision of the top-10
fastest (``fastest(by="vsl", n=10)``) against the true top 10 (by true whole-track VSL among
sperm cells labelled over at least ``fastest``'s default gate, CASA's 0.5-s validity gate); a video with fewer than 10 progressive cells gets a top-k list,
k = its number of progressive cells (below them the ranking would order immotile cells by
noise), and precisions are pooled over videos (hits / list lengths).

    python benchmarks/kinematics_accuracy.py [--videos 24 13 11 35 21 30 47] [--frames 1470]
        [--levels clean realistic noisy] [--seed 0] [--motility R S N I]
        [--no-image-size] [--out NAME.json]

By default each video has the simulator's VISEM-like motility (a donor's mix, with the
progressive cells made rare in focus: mostly immotile cells, as in VISEM); ``--motility``
gives the WHO class mix (rapid, slow, non-progressive, immotile) of every video instead,
for example ``--motility 0.5 0.2 0.1 0.2`` for a motile-rich sample.

Writes benchmarks/results/kinematics_accuracy.json (``--out`` to change the name).
"""

from __future__ import annotations

import argparse
import inspect
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from spermtrack import Boxes
from spermtrack.atomic import atomic_open
from spermtrack.detect import GroundTruthDetector
from spermtrack.kinematics import casa, fastest
from spermtrack.simulate import simulate_video
from spermtrack.track import track

RESULTS = Path(__file__).resolve().parent / "results"
#: The shortest true cell (seconds labelled, first to last) that may be among the true fastest:
#: the gate :func:`~spermtrack.kinematics.fastest` ranks tracks behind by default.
RANK_MIN_S = inspect.signature(fastest).parameters["min_duration_s"].default
#: Detection degradation levels: centre jitter (px, per coordinate), miss rate, false positives per frame.
LEVELS = {
    "clean": {"jitter_px": 0.0, "miss": 0.0, "fp_per_frame": 0.0},
    "realistic": {"jitter_px": 0.7, "miss": 0.05, "fp_per_frame": 0.5},
    "noisy": {"jitter_px": 1.5, "miss": 0.10, "fp_per_frame": 2.0},
}
#: VISEM videos whose per-frame counts set the densities (2.2 to 62 sperm per frame).
DEFAULT_VIDEOS = ("24", "13", "11", "35", "21", "30", "47")
GATE_PX = 10.0
#: Pass the frame size to casa() so that boxes cut by the border are re-centred (--no-image-size: off).
USE_IMAGE_SIZE = True
SPEEDS = ("vcl", "vsl", "vap")
RATIOS = ("lin", "str", "wob")


def match_rows(hyp: Boxes, gt: Boxes) -> np.ndarray:
    """GT track id followed by each tracked row (-1 when none within ``GATE_PX``), per frame by
    Hungarian assignment on centre distance."""
    out = np.full(len(hyp), -1, np.int64)
    ho, go = hyp.frame_offsets, gt.frame_offsets
    hc, gc = hyp.centers.astype(np.float64), gt.centers.astype(np.float64)
    for f in range(min(hyp.num_frames, gt.num_frames)):
        a, b = int(ho[f]), int(ho[f + 1])
        c, d = int(go[f]), int(go[f + 1])
        if a == b or c == d:
            continue
        dist = np.linalg.norm(hc[a:b, None, :] - gc[None, c:d, :], axis=2)
        r, k = linear_sum_assignment(np.where(dist <= GATE_PX, dist, 1e6))
        ok = dist[r, k] <= GATE_PX
        out[a + r[ok]] = gt.track_id[c + k[ok]]
    return out


def majority(hyp: Boxes, matched: np.ndarray) -> pd.DataFrame:
    """Per tracked track: the GT id it follows most and the share of its rows on it (purity)."""
    df = pd.DataFrame({"track_id": hyp.track_id, "cell": matched})
    df = df[df.track_id >= 0]
    counts = df[df.cell >= 0].groupby(["track_id", "cell"]).size().rename("n").reset_index()
    best = counts.sort_values(["track_id", "n"], ascending=[True, False]).drop_duplicates("track_id")
    total = df.groupby("track_id").size().rename("total")
    best = best.join(total, on="track_id")
    best["purity"] = best["n"] / best["total"]
    return best.set_index("track_id")[["cell", "purity"]]


def same_frames_truth(video, kin: pd.DataFrame, owner: pd.DataFrame) -> pd.DataFrame:
    """``casa`` on the noise-free head path of each tracked track's cell over the track's frames."""
    heads = video.heads[video.heads.labelled]
    parts = []
    new_id = 0
    ids = {}
    for tid, row in kin.set_index("track_id").iterrows():
        if tid not in owner.index:
            continue
        gt = int(owner.loc[tid, "cell"])
        h = heads[(heads.track_id == gt) & (heads.frame >= row.first_frame) & (heads.frame <= row.last_frame)]
        if len(h) < 2:
            continue
        new_id += 1
        ids[new_id] = tid
        parts.append(pd.DataFrame({"frame": h.frame.to_numpy(), "x": h.x_px.to_numpy(), "y": h.y_px.to_numpy(), "id": new_id}))
    if not parts:
        return pd.DataFrame()
    p = pd.concat(parts).sort_values("frame", kind="stable")
    wh = np.full(len(p), 20.0)
    b = Boxes.from_cxcywh(
        p.frame.to_numpy(), np.stack([p.x, p.y, wh, wh], 1), track_id=p.id.to_numpy(), num_frames=video.num_frames
    )
    truth = casa(b, video.calibration)
    truth["track_id"] = truth["track_id"].map(ids)
    return truth.set_index("track_id")


def rel_err(est: pd.Series, true: pd.Series) -> np.ndarray:
    return (np.abs(est.to_numpy() - true.to_numpy()) / np.abs(true.to_numpy())).astype(float)


def run_video(vid: str, level: str, seed: int, frames: int, motility=None) -> list[dict]:
    """Both trackers on one simulated video at one degradation level (``motility``: the WHO
    class mix, or None for the simulator's VISEM-like default)."""
    video = simulate_video(seed=seed, num_frames=frames, like=vid, motility=motility)
    gt = video.boxes
    det = GroundTruthDetector(gt, seed=seed, **LEVELS[level]).degrade()
    t0 = time.perf_counter()
    tracked = track(det, video.fps)
    t_track = time.perf_counter() - t0
    # the oracle: every detection gets the id of the true cell it was made from (false
    # positives stay untracked), so only detection noise and the estimator remain
    oracle = det.with_track_ids(match_rows(det, gt))
    return [
        compare(video, gt, tracked, vid, level, seed, "spermtrack", t_track),
        compare(video, gt, oracle, vid, level, seed, "oracle", 0.0),
    ]


def compare(video, gt: Boxes, hyp: Boxes, vid: str, level: str, seed: int, tracker: str, t_track: float) -> dict:
    """Kinematics of ``hyp`` against the truth of ``video``."""
    fps = video.fps
    t0 = time.perf_counter()
    kin = casa(hyp, video.calibration, image_size=video.image_size if USE_IMAGE_SIZE else None)
    t_casa = time.perf_counter() - t0
    owner = majority(hyp, match_rows(hyp, gt))
    truth_tracks = video.tracks_truth.set_index("track_id")
    sperm_ids = set(truth_tracks.index[truth_tracks.cls == 0])

    # ---- same-frames comparison
    k = kin.set_index("track_id")
    k = k[k.index.isin(owner.index)]
    k = k[[owner.loc[t, "cell"] in sperm_ids for t in k.index]]
    same = same_frames_truth(video, k.reset_index(), owner)
    both = k.join(same.add_suffix("_true"), how="inner")
    valid = both[(both.quality == "ok") & (both.quality_true == "ok")]
    motile = valid[valid.motility_true != "immotile"]
    still = valid[valid.motility_true == "immotile"]
    out = {
        "video_like": vid,
        "level": level,
        "tracker": tracker,
        "median_purity": float(owner.purity.median()) if len(owner) else float("nan"),
        "seed": seed,
        "mean_sperm_per_frame": float(video.params["realised"]["mean_sperm_per_frame"]),
        "motility_mix": video.params["motility_mix"],
        "true_classes": truth_tracks.loc[sorted(sperm_ids), "motility"].value_counts().to_dict(),
        "gt_tracks": len(sperm_ids),
        "tracked_tracks": len(kin),
        "valid_tracked": int((kin.quality == "ok").sum()),
        "matched_valid": len(valid),
        "motile_matched_valid": len(motile),
        "track_s": t_track,
        "casa_s": t_casa,
    }
    for c in SPEEDS:
        out[f"{c}_rel_err"] = rel_err(motile[c], motile[f"{c}_true"]).tolist()
        out[f"{c}_abs_err_immotile"] = np.abs(still[c] - still[f"{c}_true"]).tolist()
    out["class_agree"] = (valid.motility == valid.motility_true).tolist()
    model_class = truth_tracks.loc[[int(owner.loc[t, "cell"]) for t in valid.index], "who_class"].to_numpy()
    out["class_agree_model"] = (valid.motility.to_numpy() == model_class).tolist()
    out["confusion"] = pd.crosstab(valid.motility_true, valid.motility).to_dict()
    # LIN, STR, WOB are <= 1 by construction: the largest over every tracked track (any
    # quality flag; a 2-point track has all three = 1), over the valid ones, and over the
    # noise-free truth of the same frames (valid); and how many tracks exceed 1
    ok = kin[kin.quality == "ok"]
    ok_true = same[same.quality == "ok"] if len(same) else same
    out["ratio_max"] = {c: float(kin[c].max()) if len(kin) else float("nan") for c in RATIOS}
    out["ratio_max_valid"] = {c: float(ok[c].max()) if len(ok) else float("nan") for c in RATIOS}
    out["ratio_max_truth"] = {c: float(ok_true[c].max()) if len(ok_true) else float("nan") for c in RATIOS}
    out["ratio_above_one"] = int((kin[list(RATIOS)] > 1.0).any(axis=1).sum())

    # ---- whole-track comparison: longest tracked track of each cell vs tracks_truth
    span = kin.set_index("track_id").join(owner, how="inner")
    span = span[span.cell.isin(sperm_ids)].sort_values("n_points", ascending=False).drop_duplicates("cell")
    w = span.join(truth_tracks[[*SPEEDS, "motility", "quality"]].add_suffix("_true"), on="cell")
    w = w[(w.quality == "ok") & (w.quality_true == "ok") & (w.motility_true != "immotile")]
    for c in SPEEDS:
        out[f"{c}_rel_err_whole"] = rel_err(w[c], w[f"{c}_true"]).tolist()

    # ---- fastest 10
    # the same gates as fastest(): sperm, labelled over >= its default min_duration_s (CASA's
    # validity gate, 0.5 s; and >= 10 points). Not the
    # other quality flags of the truth: a cell that leaves the focus for more than 0.5 s and
    # comes back has a `long_gap` truth but is a cell like any other. The fastest are
    # sought among progressive cells: where a video has fewer than 10 (VISEM-like samples are
    # mostly immotile), the ranks below them would order immotile cells by noise-level VSL
    # differences (0.2 vs 0.3 µm/s), so the list is k = min(10, progressive cells) long.
    span_s = (truth_tracks.last_labelled - truth_tracks.first_labelled) / fps
    eligible = ~truth_tracks.quality.fillna("too_short").str.contains("too_short")
    tt = truth_tracks[(truth_tracks.cls == 0) & (span_s >= RANK_MIN_S) & eligible]
    n_prog = int(tt.motility.isin(["rapid_progressive", "slow_progressive"]).sum())
    k_top = min(10, n_prog)
    out["top_k"] = k_top
    out["top10_hits"] = out["top10_hits_vprog"] = out["top10_hits_vcl_ungated"] = out["top10_in_true_top15_hits"] = 0
    out["top10_precision"] = out["top10_precision_vprog"] = out["top10_precision_vcl_ungated"] = float("nan")
    out["top10_in_true_top15"] = float("nan")
    out["true_vsl_10th_15th"] = []
    out["top10_true"] = out["top10_est"] = []
    if k_top == 0:
        return out

    def cells(picked) -> list[int]:
        return [int(owner.loc[t, "cell"]) if t in owner.index else -1 for t in picked.track_id]

    ranked = tt.sort_values("vsl", ascending=False).index
    true_top = set(ranked[:k_top])
    est_ids = cells(fastest(kin, by="vsl", n=k_top))
    out["top10_hits"] = len(set(est_ids) & true_top)
    out["top10_precision"] = out["top10_hits"] / k_top
    # near-ties: the share of the picks whose true VSL rank is within the top k + 5
    out["top10_in_true_top15_hits"] = len(set(est_ids) & set(ranked[: k_top + 5]))
    out["top10_in_true_top15"] = out["top10_in_true_top15_hits"] / k_top
    if len(ranked) >= k_top + 5:
        out["true_vsl_10th_15th"] = [float(tt.loc[ranked[k_top - 1], "vsl"]), float(tt.loc[ranked[k_top + 4], "vsl"])]
    out["top10_true"] = sorted(int(i) for i in true_top)
    out["top10_est"] = est_ids
    # by progressive velocity (1-s windows: does not depend on how long the track is)
    true_top_p = set(tt.sort_values("vprog", ascending=False).index[:k_top])
    out["top10_hits_vprog"] = len(set(cells(fastest(kin, by="vprog", n=k_top))) & true_top_p)
    out["top10_precision_vprog"] = out["top10_hits_vprog"] / k_top
    # without the quality gates (VCL ranking, no duration / jump gates), for comparison
    loose = fastest(kin, by="vcl", n=k_top, min_duration_s=0.0, only_valid=False)
    out["top10_hits_vcl_ungated"] = len(set(cells(loose)) & true_top)
    out["top10_precision_vcl_ungated"] = out["top10_hits_vcl_ungated"] / k_top
    return out


def summarise(rows: list[dict]) -> dict:
    def cat(key):
        return np.concatenate([np.asarray(r[key], float) for r in rows]) if rows else np.zeros(0)

    s = {f"median_{c}_rel_err": float(np.median(cat(f"{c}_rel_err"))) for c in SPEEDS}
    s.update({f"median_{c}_rel_err_whole": float(np.median(cat(f"{c}_rel_err_whole"))) for c in SPEEDS})
    s.update({f"median_{c}_abs_err_immotile": float(np.median(cat(f"{c}_abs_err_immotile"))) for c in SPEEDS})
    s["class_agreement"] = float(np.mean(cat("class_agree")))
    s["class_agreement_model"] = float(np.mean(cat("class_agree_model")))
    # pooled over videos: hits / list length (k = min(10, progressive cells) per video)
    k_sum = max(sum(r["top_k"] for r in rows), 1)
    s["top10_precision"] = sum(r["top10_hits"] for r in rows) / k_sum
    s["top10_precision_vcl_ungated"] = sum(r["top10_hits_vcl_ungated"] for r in rows) / k_sum
    s["top10_precision_vprog"] = sum(r["top10_hits_vprog"] for r in rows) / k_sum
    s["top10_in_true_top15"] = sum(r["top10_in_true_top15_hits"] for r in rows) / k_sum
    s["top_k"] = [r["top_k"] for r in rows]
    s["median_purity"] = float(np.median([r["median_purity"] for r in rows]))
    s["n_tracks_compared"] = int(sum(r["matched_valid"] for r in rows))
    s["n_motile_compared"] = int(sum(r["motile_matched_valid"] for r in rows))
    for key in ("ratio_max", "ratio_max_valid", "ratio_max_truth"):
        s[key] = {c: float(np.nanmax([r[key][c] for r in rows])) for c in RATIOS}
    s["ratio_above_one"] = int(sum(r["ratio_above_one"] for r in rows))
    return s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--videos", nargs="+", default=list(DEFAULT_VIDEOS), help="VISEM video ids whose densities to use")
    ap.add_argument("--frames", type=int, default=1470)
    ap.add_argument("--levels", nargs="+", default=list(LEVELS), choices=list(LEVELS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--motility",
        nargs=4,
        type=float,
        metavar=("RAPID", "SLOW", "NONPROG", "IMMOTILE"),
        help="WHO class mix of every video (default: the simulator's VISEM-like mix per video)",
    )
    ap.add_argument("--no-image-size", action="store_true", help="do not re-centre boxes cut by the image border")
    ap.add_argument("--out", default="kinematics_accuracy.json", help="file name under benchmarks/results/, or a path")
    args = ap.parse_args()
    global USE_IMAGE_SIZE
    USE_IMAGE_SIZE = not args.no_image_size

    motility = tuple(args.motility) if args.motility else None
    mix = (
        "simulator default (VISEM-like, per video)"
        if motility is None
        else f"explicit {motility} (rapid, slow, non-progressive, immotile)"
    )
    print(f"motility mix: {mix}")
    per_level = {}
    rows_all = []
    for level in args.levels:
        rows = [r for i, v in enumerate(args.videos) for r in run_video(v, level, args.seed + i, args.frames, motility)]
        rows_all += rows
        for tracker in ("spermtrack", "oracle"):
            per_level[f"{level}/{tracker}"] = summarise([r for r in rows if r["tracker"] == tracker])

    print(f"\nCASA kinematics from tracked detections vs simulator truth ({len(args.videos)} videos x {args.frames} frames)")
    print(f"motility mix: {mix}")
    head = f"{'level/tracker':<22} {'purity':>6} {'tracks':>6} {'VCL err':>8} {'VSL err':>8} {'VAP err':>8} {'class':>7} {'top10':>6} {'top15':>6} {'vprog':>6} {'VCL*':>6}"
    print(head)
    print("(median relative errors over valid tracks of motile cells, same-frames truth; class: WHO class agreement;")
    print(" top10: precision of fastest(by='vsl', n=k) against the true top k, k = min(10, progressive cells),")
    print(" pooled over videos; top15: share of its picks in the true top k + 5;")
    print(" vprog: top10 by progressive velocity; VCL*: top10 by VCL without gates)")
    for level, s in per_level.items():
        print(
            f"{level:<22} {s['median_purity']:6.2f} {s['n_motile_compared']:>6} {100 * s['median_vcl_rel_err']:7.1f}% {100 * s['median_vsl_rel_err']:7.1f}% "
            f"{100 * s['median_vap_rel_err']:7.1f}% {100 * s['class_agreement']:6.1f}% {s['top10_precision']:6.2f} "
            f"{s['top10_in_true_top15']:6.2f} {s['top10_precision_vprog']:6.2f} {s['top10_precision_vcl_ungated']:6.2f}"
        )
    print("\nwhole-track truth (longest tracked track per cell), class vs the simulator's model class:")
    for level, s in per_level.items():
        print(
            f"{level:<22} VCL {100 * s['median_vcl_rel_err_whole']:.1f}%  VSL {100 * s['median_vsl_rel_err_whole']:.1f}%  "
            f"VAP {100 * s['median_vap_rel_err_whole']:.1f}%  class vs model {100 * s['class_agreement_model']:.1f}%  "
            f"immotile abs err VCL/VSL/VAP {s['median_vcl_abs_err_immotile']:.2f}/{s['median_vsl_abs_err_immotile']:.2f}/"
            f"{s['median_vap_abs_err_immotile']:.2f} µm/s"
        )
    print("\nlargest LIN / STR / WOB: all tracked tracks (any quality), valid ones, valid noise-free truth;")
    print("tracks with any of the three above 1:")
    for level, s in per_level.items():
        m, mv, mt = s["ratio_max"], s["ratio_max_valid"], s["ratio_max_truth"]
        print(
            f"{level:<22} all {'/'.join(f'{m[c]:.6f}' for c in RATIOS)}  valid {'/'.join(f'{mv[c]:.4f}' for c in RATIOS)}  "
            f"truth {'/'.join(f'{mt[c]:.4f}' for c in RATIOS)}  above 1: {s['ratio_above_one']}"
        )
    print("\nper video:")
    for r in rows_all:
        tc = r["true_classes"]
        progressive = tc.get("rapid_progressive", 0) + tc.get("slow_progressive", 0)
        print(
            f"  {r['level']:<9} {r['tracker']:<10} like {r['video_like']:>3}: {r['mean_sperm_per_frame']:5.1f}/frame, "
            f"{progressive:3d}/{sum(tc.values()):3d} cells progressive, {r['motile_matched_valid']:4d} motile tracks, "
            f"VSL err {100 * np.median(r['vsl_rel_err']):5.1f}%, class {100 * np.mean(r['class_agree']):5.1f}%, "
            f"top-{r['top_k']} {r['top10_precision']:.2f} (VCL ungated {r['top10_precision_vcl_ungated']:.2f}; "
            f"true VSL 10th/15th {'/'.join(f'{v:.0f}' for v in r['true_vsl_10th_15th'])} µm/s)"
        )
    result = {
        "benchmark": "kinematics_accuracy",
        "levels": {k: LEVELS[k] for k in args.levels},
        "videos_like": args.videos,
        "frames": args.frames,
        "motility": None if motility is None else list(motility),
        "summary": per_level,
        "per_video": [
            {k: v for k, v in r.items() if not isinstance(v, list) or k.startswith(("top10", "true_vsl"))} for r in rows_all
        ],
    }
    out = Path(args.out) if Path(args.out).parent != Path() else RESULTS / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    result["image_size"] = USE_IMAGE_SIZE
    with atomic_open(out) as fh:
        json.dump(result, fh, indent=2, default=str)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
