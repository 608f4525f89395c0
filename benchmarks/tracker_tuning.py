"""How were TrackerConfig's defaults chosen? One-at-a-time changes from the defaults, on simulated videos.

For each variant (the defaults with one or two settings changed) the offline
tracker runs on simulated VISEM-like videos (``spermtrack.simulate``, densities
5, 30 and 65, ``--seeds`` each, ``--frames`` frames at 50 fps; the simulator's
default per-donor motility mixes, mostly immotile cells in focus as in VISEM, or
``--motility R,S,N,I`` for a fixed mix of rapid, slow, non-progressive and
immotile sperm, e.g. the motile-rich stress mix ``0.5,0.2,0.1,0.2``) under three
detection conditions (perfect boxes; 10 % missed + 1 false box per frame + 1 px
jitter; 25 % missed + 3 false + 2 px; noisy scores as in tracker_accuracy.py), and
prints IDF1, MOTA and ID switches (spermtrack.evaluate, IoU 0.5, videos combined).
With ``--fps`` it instead checks that the defaults hold at 15, 30, 50 and 100 fps
(the same physical motion simulated at each frame rate, 8 s per video). With
``--true-fps``: self-calibration against the plain conversion at true 9, 15, 30 and
50 fps, and with the fps passed halved or doubled (docs/tracking.md, low true frame
rates). With ``--dense``: dense fast scenes (640x384 frames, 70 cells, motile-rich,
true 25 and 30 fps: fast cells 10-20 px per frame, many crossings) and the true 9 fps
videos of ``--true-fps``, for the defaults and the crossing repair
(docs/tracking.md, "Crossings"; ``--variants`` replaces the variants).

Writes benchmarks/results/tracker_tuning[_fps|_true_fps|_dense][_motile].json (``_motile`` with ``--motility``).

    python benchmarks/tracker_tuning.py [--frames 400] [--seeds 2] [--fps | --true-fps | --dense] [--motility 0.5,0.2,0.1,0.2] [--seed0 500]
                                        [--variants '[{}, {"gate": 11}]']
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
    {"accel_std_px_s2": 800.0},
    {"accel_std_px_s2": 1500.0},
    {"accel_std_px_s2": 3000.0},
    {"meas_std_px": 3.0},
    {"meas_std_px": 4.0},
    {"meas_std_px": 6.0},
    {"meas_std_px": 7.0},
    {"gate": 11.0},
    {"gate": 25.0},
    {"logdet_weight": 0.0},
    {"logdet_weight": 2.0},
    {"rescue_dist": 1.0},
    {"size_weight": 0.0},
    {"size_weight": 0.5},
    {"size_weight": 1.0},
    {"max_lost_s": 0.1},
    {"max_lost_s": 0.3},
    {"max_lost_s": 0.6},
    {"confirm_s": 0.06},
    {"confirm_s": 0.1},
    {"min_track_s": 0.2},
    {"interpolate_s": 0.0},
    {"interpolate_s": 0.3},
    {"gap_close_s": 0.5},
    {"gap_close_s": 0.5, "gap_gate": 9.0, "gap_speed_std_px_s": 150.0},
    {"cost": "distance", "gate": 1.0},
    {"cost": "iou", "gate": 0.95},
]


def motility_arg(text: str) -> list[float]:
    """``"0.5,0.2,0.1,0.2"`` -> the four WHO fractions (rapid, slow, non-progressive, immotile)."""
    vals = [float(v) for v in text.split(",")]
    if len(vals) != 4 or min(vals) < 0 or sum(vals) <= 0:
        raise argparse.ArgumentTypeError("--motility takes four non-negative fractions R,S,N,I")
    return vals


def degrade(gt, seed, kw):
    return GroundTruthDetector(gt, seed=seed, **kw).degrade() if kw else gt.replace(track_id=np.full(len(gt), -1, np.int64))


def sweep(args) -> dict:
    videos = {}
    for density in (5, 30, 65):
        for s in range(args.seeds):
            seed = args.seed0 + 10 * density + s
            video = simulate_video(seed=seed, num_frames=args.frames, density=density, motility=args.motility)
            videos[f"d{density}s{s}"] = (seed, video.boxes)
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
    return {"frames": args.frames, "seeds": args.seeds, "seed0": args.seed0, "rows": rows}


def fps_check(args) -> dict:
    """The defaults (or each of ``--variants``) at 15, 30, 50 and 100 fps."""
    variants = args.variants if args.variants is not VARIANTS else [{}]
    rows = []
    print("| variant | fps | frames | perfect IDF1 / MOTA | 10% miss, 1 FP IDF1 / MOTA |")
    print("|---|---:|---:|---:|---:|")
    videos = {}
    for fps in (15.0, 30.0, 50.0, 100.0):
        nf = int(8 * fps)
        for s in range(args.seeds):
            for density in (30, 65):
                seed = 900 + s + density
                cal = Calibration(0.25, fps)
                gt = simulate_video(seed=seed, num_frames=nf, density=density, calibration=cal, motility=args.motility).boxes
                videos[fps, f"{s}{density}"] = (gt, degrade(gt, seed, {}), degrade(gt, seed, CONDITIONS["10% miss, 1 FP"]))
    for v in variants:
        cfg = TrackerConfig(**v)
        name = ", ".join(f"{k}={val}" for k, val in v.items()) or "defaults"
        for fps in (15.0, 30.0, 50.0, 100.0):
            nf = int(8 * fps)
            vids = {key: val for (f, key), val in videos.items() if f == fps}
            a = tracking_many({k: (gt, track(p, fps, cfg)) for k, (gt, p, _) in vids.items()}, per_class=False)
            b = tracking_many({k: (gt, track(n, fps, cfg)) for k, (gt, _, n) in vids.items()}, per_class=False)
            rows.append(
                {
                    "variant": v or "defaults",
                    "fps": fps,
                    "frames": nf,
                    "perfect": {"IDF1": a.idf1, "MOTA": a.mota},
                    "noisy": {"IDF1": b.idf1, "MOTA": b.mota},
                }
            )
            print(f"| {name} | {fps:.0f} | {nf} | {a.idf1:.3f} / {a.mota:.3f} | {b.idf1:.3f} / {b.mota:.3f} |", flush=True)
    return {"seeds": args.seeds, "rows": rows}


def true_fps_check(args) -> dict:
    """Self-calibration vs the plain conversion at true 9, 15, 30 and 50 fps (docs/tracking.md).

    Density 30, ``--motility`` (default the motile-rich mix), max(150, 10 x fps) frames,
    seeds 700...; perfect boxes and 10 % missed + 1 false box per frame + 1 px jitter.
    Columns: plain at the true fps, calibrated at the true fps and with the fps passed
    halved / doubled, and the clocks the calibration used.
    """
    from spermtrack.track.calibrate import measure_motion

    mix = args.motility or [0.5, 0.2, 0.1, 0.2]
    noisy = {"miss": 0.1, "fp_per_frame": 1.0, "jitter_px": 1.0}
    rows = []
    print("| true fps | boxes | plain | calibrated | x0.5 | x2 | clocks |")
    print("|---:|---|---:|---:|---:|---:|---|")
    for fps in (9.0, 15.0, 30.0, 50.0):
        vids = {}
        for s in range(args.seeds):
            seed = 700 + s
            cal = Calibration(0.25, fps)
            gt = simulate_video(seed=seed, num_frames=max(150, int(10 * fps)), density=30, calibration=cal, motility=mix).boxes
            vids[str(s)] = (gt, degrade(gt, seed, {}), degrade(gt, seed, noisy))
        for ci, cond in ((1, "perfect"), (2, "10% miss, 1 FP")):
            r = {}
            for name, cfg, f in (
                ("plain", TrackerConfig(self_calibrate=False), fps),
                ("calibrated", TrackerConfig(), fps),
                ("x0.5", TrackerConfig(), fps / 2),
                ("x2", TrackerConfig(), fps * 2),
            ):
                r[name] = tracking_many({k: (v[0], track(v[ci], f, cfg)) for k, v in vids.items()}, per_class=False).idf1
            clocks = [round(measure_motion(v[ci], fps).motion_fps, 1) for v in vids.values()]
            rows.append({"true_fps": fps, "boxes": cond, **r, "clocks": clocks})
            print(
                f"| {fps:.0f} | {cond} | {r['plain']:.3f} | {r['calibrated']:.3f} | {r['x0.5']:.3f} | {r['x2']:.3f} | {clocks} |",
                flush=True,
            )
    return {"seeds": args.seeds, "motility": mix, "rows": rows}


def _frame_matches(gt, hyp) -> np.ndarray:
    """Per ground-truth row: the id of the tracked box it matches in its frame (IoU >= 0.5, optimal), -1 none."""
    from scipy.optimize import linear_sum_assignment

    out = np.full(len(gt), -1, np.int64)
    go, ho = gt.frame_offsets, hyp.frame_offsets
    g = np.column_stack([gt.x1, gt.y1, gt.x2, gt.y2]).astype(np.float64)
    h = np.column_stack([hyp.x1, hyp.y1, hyp.x2, hyp.y2]).astype(np.float64)
    for f in range(min(gt.num_frames, hyp.num_frames)):
        a, b, c, d = go[f], go[f + 1], ho[f], ho[f + 1]
        if b == a or d == c:
            continue
        A, B = g[a:b], h[c:d]
        iw = np.clip(np.minimum(A[:, None, 2], B[None, :, 2]) - np.maximum(A[:, None, 0], B[None, :, 0]), 0, None)
        ih = np.clip(np.minimum(A[:, None, 3], B[None, :, 3]) - np.maximum(A[:, None, 1], B[None, :, 1]), 0, None)
        inter = iw * ih
        area_a = (A[:, 2] - A[:, 0]) * (A[:, 3] - A[:, 1])
        area_b = (B[:, 2] - B[:, 0]) * (B[:, 3] - B[:, 1])
        iou = inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-12)
        r, k = linear_sum_assignment(np.where(iou >= 0.5, 1.0 - iou, 1e3))
        ok = iou[r, k] >= 0.5
        out[a + r[ok]] = hyp.track_id[c + k[ok]]
    return out


def switch_sites(gt, hyp) -> list[dict]:
    """Where a ground-truth cell's matched track id changes: one dict per change.

    ``heads``: the smallest distance from the cell to its nearest other cell (centres, in mean
    head sizes ``sqrt(w h)``) over the last matched frame before the change (minus 2) to the
    change; ``gap``: frames without a match just before it; ``kind``: "brief" (the new id
    holds for at most 2 matched frames, then the old one is back: a short exchange at the
    closest approach), "new track" (the new id's track starts at most one frame before the
    change: the cell's track broke) or "other track" (a track that followed another cell).
    """
    m = _frame_matches(gt, hyp)
    go = gt.frame_offsets
    cx, cy = gt.cx.astype(np.float64), gt.cy.astype(np.float64)
    size = np.sqrt(np.maximum((gt.x2 - gt.x1) * (gt.y2 - gt.y1), 1e-6)).astype(np.float64)
    near = np.full(len(gt), np.inf)
    for f in range(gt.num_frames):
        a, b = go[f], go[f + 1]
        if b - a < 2:
            continue
        d = np.hypot(cx[a:b, None] - cx[None, a:b], cy[a:b, None] - cy[None, a:b]) / (0.5 * (size[a:b, None] + size[None, a:b]))
        np.fill_diagonal(d, np.inf)
        near[a:b] = d.min(1)
    first = {}
    for t, f in zip(hyp.track_id.tolist(), hyp.frame.tolist()):
        first.setdefault(t, f)
    _, _, order, off = gt.groups()
    out = []
    for k in range(len(off) - 1):
        rows = order[off[k] : off[k + 1]]
        seq = [(int(gt.frame[r]), int(m[r]), r) for r in rows if m[r] >= 0]
        for i in range(1, len(seq)):
            (f0, p, _), (f1, q, _) = seq[i - 1], seq[i]
            if q == p:
                continue
            run = 0
            while i + run < len(seq) and seq[i + run][1] == q:
                run += 1
            back = i + run < len(seq) and seq[i + run][1] == p
            window = [r for f, _, r in seq[max(0, i - 1) : i + 1]]
            heads = float(min(near[w] for w in window))
            kind = "brief" if (run <= 2 and back) else ("new track" if first[q] >= f0 - 1 else "other track")
            out.append({"heads": heads, "gap": f1 - f0 - 1, "kind": kind})
    return out


def print_switch_sites(label: str, sites: list[dict]) -> dict:
    """One table row per distance bin: how many changes of each kind."""
    kinds = ("brief", "other track", "new track")
    bins = ((0.0, 0.5), (0.5, 1.0), (1.0, 2.0), (2.0, np.inf))
    table = {}
    for lo, hi in bins:
        sel = [s for s in sites if lo <= s["heads"] < hi]
        key = f"{lo:g}-{hi:g}" if np.isfinite(hi) else f">= {lo:g}"
        table[key] = {k: sum(s["kind"] == k for s in sel) for k in kinds}
        print(f"| {label} | {key} | " + " | ".join(str(table[key][k]) for k in kinds) + " |")
    gaps = np.array([s["gap"] for s in sites])
    table["gap 0 / 1-2 / 3+"] = [int((gaps == 0).sum()), int(((gaps >= 1) & (gaps <= 2)).sum()), int((gaps >= 3).sum())]
    print(f"| {label} | gaps before the change: 0 / 1-2 / 3+ frames | {' / '.join(map(str, table['gap 0 / 1-2 / 3+']))} | | |")
    return table


DENSE_VARIANTS = [
    {},
    {"refine_clock": False},
    {"crossing_heads": 1.0},
    {"crossing_heads": 1.0, "crossing_margin": 1.0},
    {"crossing_heads": 0.6, "crossing_margin": 1.0},
]


def dense_check(args) -> dict:
    """IDF1 / ID switches of the variants on dense fast scenes and on true 9 fps videos.

    Dense: ``simulate_video(seed=1000+s, density=70, image_size=(640, 384), calibration=Calibration(0.25, fps),
    motility=--motility or 0.5,0.2,0.1,0.2)``, 200 frames, fps 25 and 30, ``--seeds`` videos each. 9 fps: the
    videos of :func:`true_fps_check`. Perfect boxes and 10 % missed + 1 false box per frame + 1 px jitter.
    """
    mix = args.motility or [0.5, 0.2, 0.1, 0.2]
    variants = args.variants if args.variants is not VARIANTS else DENSE_VARIANTS
    noisy = {"miss": 0.1, "fp_per_frame": 1.0, "jitter_px": 1.0}
    scenes = {}
    for fps in (25.0, 30.0):
        vids = {}
        for s in range(args.seeds):
            cal = Calibration(0.25, fps)
            gt = simulate_video(
                seed=1000 + s, num_frames=200, density=70, calibration=cal, motility=mix, image_size=(640, 384)
            ).boxes
            vids[str(s)] = (gt, degrade(gt, 1000 + s, {}), degrade(gt, 1000 + s, noisy))
        scenes[f"dense 70 cells, {fps:.0f} fps"] = (fps, vids)
    vids = {}
    for s in range(args.seeds):
        gt = simulate_video(seed=700 + s, num_frames=150, density=30, calibration=Calibration(0.25, 9.0), motility=mix).boxes
        vids[str(s)] = (gt, degrade(gt, 700 + s, {}), degrade(gt, 700 + s, noisy))
    scenes["30 cells, true 9 fps"] = (9.0, vids)
    sites = {}
    if args.switches:
        print("Where the identity of a cell changes, the defaults (nearest other head, head sizes; kinds in switch_sites):\n")
        print("| scene, boxes | nearest other head | brief exchange | to another cell's track | to a new track |")
        print("|---|---|---:|---:|---:|")
        for scene, (fps, vids) in scenes.items():
            for ci, cond in ((1, "perfect"), (2, "10% miss, 1 FP")):
                found = [x for val in vids.values() for x in switch_sites(val[0], track(val[ci], fps))]
                sites[f"{scene}, {cond}"] = print_switch_sites(f"{scene}, {cond}", found)
        print()
    rows = []
    print("| scene | variant | perfect: IDF1 / IDSW | 10% miss, 1 FP: IDF1 / IDSW |")
    print("|---|---|---:|---:|")
    for scene, (fps, vids) in scenes.items():
        for v in variants:
            cfg = TrackerConfig(**v)
            row = {"scene": scene, "variant": v or "defaults"}
            cells = []
            for ci, cond in ((1, "perfect"), (2, "10% miss, 1 FP")):
                sc = tracking_many({k: (val[0], track(val[ci], fps, cfg)) for k, val in vids.items()}, per_class=False)
                row[cond] = {"IDF1": sc.idf1, "IDSW": int(sc.idsw)}
                cells.append(f"{sc.idf1:.4f} / {sc.idsw}")
            rows.append(row)
            name = ", ".join(f"{k}={val}" for k, val in v.items()) or "defaults"
            print(f"| {scene} | {name} | " + " | ".join(cells) + " |", flush=True)
    return {"seeds": args.seeds, "motility": mix, "rows": rows, "switch_sites": sites}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=400)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--fps", action="store_true", help="check the defaults at 15, 30, 50, 100 fps instead of sweeping")
    ap.add_argument("--true-fps", action="store_true", help="self-calibration vs plain at true 9, 15, 30, 50 fps (motile-rich)")
    ap.add_argument("--dense", action="store_true", help="dense fast scenes and true 9 fps: the crossing repair")
    ap.add_argument("--switches", action="store_true", help="with --dense: also where the identity switches happen")
    ap.add_argument(
        "--variants", type=json.loads, default=VARIANTS, help="JSON list of setting dicts to try instead of the built-in list"
    )
    ap.add_argument("--seed0", type=int, default=500, help="first seed (others for a confirmation run on new videos)")
    ap.add_argument("--motility", type=motility_arg, default=None, help="R,S,N,I fractions of the sperm in focus")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    mix = "simulate's default per-donor mixes (VISEM-like)" if args.motility is None else f"fixed {args.motility}"
    if (args.dense or args.true_fps) and args.motility is None:
        mix = "fixed [0.5, 0.2, 0.1, 0.2] (motile-rich)"
    print(f"motility (rapid, slow, non-progressive, immotile): {mix}\n")
    result = {"benchmark": "tracker_tuning", "defaults": TrackerConfig().to_dict(), "motility": args.motility}
    if args.dense:
        result["dense_check"] = dense_check(args)
    elif args.true_fps:
        result["true_fps_check"] = true_fps_check(args)
    elif args.fps:
        result["fps_check"] = fps_check(args)
    else:
        result["sweep"] = sweep(args)
    name = (
        "tracker_tuning"
        + ("_dense" if args.dense else "_true_fps" if args.true_fps else "_fps" if args.fps else "")
        + ("_motile" if args.motility else "")
        + ".json"
    )
    out = Path(args.out) if args.out else Path(__file__).resolve().parent / "results" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(out) as fh:
        json.dump(result, fh, indent=2)
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
