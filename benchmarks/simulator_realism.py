"""How close are simulated videos to VISEM-Tracking? Side-by-side statistics and a picture.

Labels: the simulator mimics the 20 annotated videos (their ids, lengths and per-video counts,
``simulate_video(like=vid)``) and its boxes are compared with the real reference data of
``shared/reference/visem`` (per-frame counts of all 29,196 annotated frames, box sizes per
class):

- boxes per frame: distribution over all frames, per-video mean, within-video standard
  deviation (also without the real annotation's batch steps of >= 3 boxes at once), fraction
  of frames where the count changes from the previous frame;
- turnover, per video: the distribution over the 20 real videos of the fraction of frames
  where the sperm count changes, against ``--turnover-seeds`` simulated VISEM-like sets (20
  videos each), side by side (quantiles, sorted values, Kolmogorov-Smirnov distance), and the
  number of changes of the cluster and small-or-pinhead counts per video; picture
  benchmarks/results/sim_turnover.png;
- box width and height per class (the real data gives mean, min and max);
- fraction of each class among all boxes.

Pixels: the eight real frames of ``frames_grid_clean.png`` against simulated frames of both
looks, measured the same way at the same scale (the real frames are stored downscaled to
446x344): background level, bright blobs (heads with their halo: count, median size), dark
specks, fine texture, and the radial profile of the heads (halo radius at 50/25/10 % of the
peak, the darkest pixel near a head). Writes benchmarks/results/simulator_realism.json and
benchmarks/results/sim_vs_real.png (real frames on top, simulated below, then 3x zooms).

    python benchmarks/simulator_realism.py [--reference ../shared/reference/visem] [--frames 1470] [--seed 0]
                                           [--um-per-px 0.25] [--turnover-seeds 3] [--no-pixels]

Also printed: the true kinematics of the motion model per WHO class (CASA on noise-free
paths), the fastest VCL, and how often the model's WHO class equals CASA's.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from spermtrack import Calibration
from spermtrack.simulate import simulate_video
from spermtrack.simulate.params import VISEM_CLASS_TOTALS, VISEM_VIDEOS, WHO_CLASSES

RESULTS = Path(__file__).resolve().parent / "results"
CLASSES = ("sperm", "cluster", "small_or_pinhead")
#: Tiles of frames_grid_clean.png (x0, x1, y0, y1): 4 x 2 frames of ~446x344 px.
GRID_X = ((2, 446), (449, 893), (896, 1340), (1343, 1788))
GRID_Y = ((0, 344), (347, 690))
TILE = (446, 344)


def default_reference() -> Path:
    here = Path(__file__).resolve().parent.parent
    for p in (here.parent / "shared" / "reference" / "visem", here / "shared" / "reference" / "visem"):
        if p.is_dir():
            return p
    return here.parent / "shared" / "reference" / "visem"


# ---------------------------------------------------------------------------- real data
def real_counts(ref: Path) -> pd.DataFrame:
    df = pd.read_csv(ref / "sperm_counts_per_frame.csv", skipinitialspace=True)
    df.columns = [c.strip() for c in df.columns]
    parts = df["frame_name"].str.rsplit("_frame_", n=1, expand=True)
    df["vid"] = parts[0]
    df["frame"] = parts[1].astype(int)
    return df.rename(columns={"sperm_count": "sperm", "cluster_count": "cluster", "small_or_pinhead_count": "small_or_pinhead"})


def real_sizes(ref: Path) -> dict:
    data = json.loads((ref / "class_sizes.json").read_text())
    out = {}
    for row in data["data"]:
        name = row[0].replace(" ", "_")
        # columns: Class, count, avg/max/min area %, min h px, %, max h px, %, avg h px, %, min w px, %, max w px, %, avg w px, %
        out[name] = {
            "count": row[1],
            "h": {"min": row[5], "max": row[7], "mean": row[9]},
            "w": {"min": row[11], "max": row[13], "mean": row[15]},
        }
    return out


def per_video_changes(df: pd.DataFrame, col: str) -> pd.Series:
    """Per video: the fraction of consecutive annotated frames where the count of ``col`` changes."""

    def frac(g: pd.DataFrame) -> float:
        c, f = g[col].to_numpy(), g["frame"].to_numpy()
        consecutive = np.diff(f) == 1  # video 23 has gaps in its annotation
        return float((np.diff(c)[consecutive] != 0).mean()) if consecutive.any() else float("nan")

    return df.sort_values(["vid", "frame"]).groupby("vid")[["frame", col]].apply(frac)


def n_changes(df: pd.DataFrame, col: str) -> pd.Series:
    """Per video: how many times the count of ``col`` changes."""
    return df.sort_values(["vid", "frame"]).groupby("vid")[col].apply(lambda s: int((np.diff(s.to_numpy()) != 0).sum()))


def jump_free_std(counts: np.ndarray, jump: int = 3) -> float:
    """Standard deviation of a count series once steps of ``jump`` or more at once are removed
    (the real annotation has a few: whole groups of cells stop or start being labelled)."""
    d = np.diff(counts.astype(float))
    d[np.abs(d) >= jump] = 0.0
    return float(np.concatenate(([0.0], np.cumsum(d))).std(ddof=1)) if len(counts) > 1 else 0.0


def count_stats(df: pd.DataFrame, col: str) -> dict:
    per_video = df.groupby("vid")[col]
    changes = per_video_changes(df, col)
    x = df[col].to_numpy()
    return {
        "mean": float(x.mean()),
        "p5": float(np.percentile(x, 5)),
        "p50": float(np.percentile(x, 50)),
        "p95": float(np.percentile(x, 95)),
        "max": float(x.max()),
        "video_mean_min": float(per_video.mean().min()),
        "video_mean_max": float(per_video.mean().max()),
        "within_video_std": float(per_video.std().mean()),
        "within_video_std_no_jumps": float(
            df.sort_values(["vid", "frame"]).groupby("vid")[col].apply(lambda s: jump_free_std(s.to_numpy())).mean()
        ),
        "frames_with_change": float(changes.median()),
        "changes_per_video": float(n_changes(df, col).mean()),
    }


# ---------------------------------------------------------------------------- simulated labels
def simulate_like_visem(num_frames: int | None, seed: int, calibration=None):
    rows, sizes = [], {c: {"w": [], "h": []} for c in CLASSES}
    totals = np.zeros(3, np.int64)
    fast, mixes = [], []
    for i, row in enumerate(VISEM_VIDEOS):
        vid, frames = row[0], (num_frames or row[1])
        v = simulate_video(seed=seed * 1000 + i, num_frames=frames, like=vid, look="mixed", calibration=calibration)
        mixes.append([v.params["motility_mix"][k] for k in WHO_CLASSES])
        b = v.boxes
        cnt = np.zeros((3, frames), np.int64)
        np.add.at(cnt, (b.cls.astype(int), b.frame.astype(int)), 1)
        totals += cnt.sum(axis=1)
        rows.append(
            pd.DataFrame({"vid": vid, "frame": np.arange(frames), "sperm": cnt[0], "cluster": cnt[1], "small_or_pinhead": cnt[2]})
        )
        for c, name in enumerate(CLASSES):
            sel = b.cls == c
            sizes[name]["w"].append(b.width[sel])
            sizes[name]["h"].append(b.height[sel])
        if i < 6:  # per-frame displacement of the heads of fast cells, px
            h = v.heads[v.heads["labelled"] & (v.heads["cls"] == 0)].sort_values(["track_id", "frame"])
            d = np.hypot(np.diff(h["x_px"].to_numpy()), np.diff(h["y_px"].to_numpy()))
            same = (np.diff(h["track_id"].to_numpy()) == 0) & (np.diff(h["frame"].to_numpy()) == 1)
            fast.append(d[same])
    df = pd.concat(rows, ignore_index=True)
    size_stats = {}
    for name in CLASSES:
        w = np.concatenate(sizes[name]["w"]) if sizes[name]["w"] else np.zeros(0)
        h = np.concatenate(sizes[name]["h"]) if sizes[name]["h"] else np.zeros(0)
        size_stats[name] = {
            "count": int(len(w)),
            "w": _dist(w),
            "h": _dist(h),
        }
    steps = np.concatenate(fast) if fast else np.zeros(1)
    motion = {
        "step_px_p50": float(np.percentile(steps, 50)),
        "step_px_p95": float(np.percentile(steps, 95)),
        "step_px_p99": float(np.percentile(steps, 99)),
        "step_px_max": float(steps.max()),
        "in_focus_mix": np.asarray(mixes).tolist(),
    }
    return df, size_stats, totals, motion


def _dist(x: np.ndarray) -> dict:
    if not len(x):
        return {"mean": float("nan"), "min": float("nan"), "max": float("nan")}
    return {
        "mean": float(x.mean()),
        "min": float(x.min()),
        "p5": float(np.percentile(x, 5)),
        "p50": float(np.percentile(x, 50)),
        "p95": float(np.percentile(x, 95)),
        "max": float(x.max()),
    }


def kinematics_truth(seed: int, calibration) -> dict:
    """Medians of the true CASA values per model WHO class, the fastest VCL, class agreement."""
    frames, per, fastest, agree = [], [], [], []
    for k in range(3):
        v = simulate_video(
            seed=seed * 10 + 4 + k, num_frames=250, density=40, motility=(0.5, 0.2, 0.1, 0.2), clusters=0, pinheads=0,
            calibration=calibration,
        )  # fmt: skip
        t = v.tracks_truth
        long = t[(t["n_labelled"] >= 100) & (t["quality"] == "ok")]
        frames.append(long)
        fastest.append(float(long.loc[long["who_class"] == "rapid_progressive", "vcl"].max()))
        agree.append(float((long["who_class"] == long["motility"]).mean()))
    allt = pd.concat(frames)
    for name, g in allt.groupby("who_class"):
        per.append(
            (name, {"n": int(len(g)), **{c: float(g[c].median()) for c in ("vcl", "vsl", "vap", "lin", "alh_mean", "bcf")}})
        )
    return {"per_class": dict(per), "fastest_vcl": fastest, "agreement": agree}


# ---------------------------------------------------------------------------- turnover
QUANTILES = (10, 25, 50, 75, 90)


def turnover(real_df: pd.DataFrame, sim_dfs: list[pd.DataFrame]) -> dict:
    """Per-video distributions of count changes, real (20 videos) against simulated sets."""
    from scipy.stats import ks_2samp

    out = {}
    for col in CLASSES:
        r = per_video_changes(real_df, col)
        s = pd.concat([per_video_changes(d, col) for d in sim_dfs])
        rn = n_changes(real_df, col)
        sn = pd.concat([n_changes(d, col) for d in sim_dfs])
        ks = ks_2samp(r.to_numpy(), s.to_numpy())
        out[col] = {
            "real_per_video": {k: float(v) for k, v in r.items()},
            "sim_per_video_first_set": {k: float(v) for k, v in per_video_changes(sim_dfs[0], col).items()},
            "real_quantiles": [float(np.percentile(r, q)) for q in QUANTILES],
            "sim_quantiles": [float(np.percentile(s, q)) for q in QUANTILES],
            "real_max": float(r.max()),
            "sim_max": float(s.max()),
            "ks_statistic": float(ks.statistic),
            "ks_pvalue": float(ks.pvalue),
            "real_changes_per_video": [int(v) for v in rn],
            "sim_changes_per_video_quantiles": [float(np.percentile(sn, q)) for q in QUANTILES],
            "real_changes_per_video_quantiles": [float(np.percentile(rn, q)) for q in QUANTILES],
            "n_sim_videos": int(len(s)),
        }
    return out


def turnover_picture(real_df: pd.DataFrame, sim_dfs: list[pd.DataFrame], path: Path) -> None:
    """ECDF of the per-video fraction of frames with a sperm-count change, and that fraction
    against the video's density, real against simulated."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r = per_video_changes(real_df, "sperm")
    rd = real_df.groupby("vid")["sperm"].mean().reindex(r.index)
    s = pd.concat([per_video_changes(d, "sperm") for d in sim_dfs])
    sd = pd.concat([d.groupby("vid")["sperm"].mean() for d in sim_dfs])
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    for vals, label, style in ((r, f"real ({len(r)} videos)", "-"), (s, f"simulated ({len(s)} videos)", "--")):
        x = np.sort(vals.to_numpy())
        ax[0].step(x, np.arange(1, len(x) + 1) / len(x), style, where="post", label=label)
    ax[0].set_xscale("symlog", linthresh=0.01)
    ax[0].set_xlabel("fraction of frames where the sperm count changes")
    ax[0].set_ylabel("fraction of videos")
    ax[0].legend()
    ax[1].scatter(sd, s, s=14, alpha=0.5, marker="x", label="simulated")
    ax[1].scatter(rd, r, s=22, label="real")
    ax[1].set_xlabel("mean sperm per frame of the video")
    ax[1].set_ylabel("fraction of frames with a change")
    ax[1].legend()
    fig.suptitle("Turnover per video: VISEM-Tracking vs simulated VISEM-like videos")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------- pixels
def real_tiles(ref: Path) -> list[np.ndarray]:
    grid = cv2.imread(str(ref / "frames_grid_clean.png"))
    tiles = []
    for y0, y1 in GRID_Y:
        for x0, x1 in GRID_X:
            tiles.append(cv2.resize(grid[y0:y1, x0:x1], TILE, interpolation=cv2.INTER_AREA))
    return tiles


def pixel_stats(tile: np.ndarray) -> dict:
    """Statistics of one 446x344 tile; sizes are converted back to 640x480 pixels."""
    s = 640.0 / TILE[0]
    g = tile.astype(np.float32).mean(axis=2)
    bg = float(np.median(g))
    bright = (g > bg + 35).astype(np.uint8)
    _, _, st, _ = cv2.connectedComponentsWithStats(bright)
    keep = st[1:, 4] * s * s > 6
    w = st[1:, 2][keep] * s
    area = st[1:, 4][keep] * s * s
    dark = (g < bg - 20).astype(np.uint8)
    nd, _, _, _ = cv2.connectedComponentsWithStats(dark)
    fine = g - cv2.GaussianBlur(g, (0, 0), 1.0)
    mid = cv2.GaussianBlur(g, (0, 0), 1.0) - cv2.GaussianBlur(g, (0, 0), 15)
    return {
        "background": bg,
        "blue_minus_red": float(np.median(tile[..., 0].astype(float) - tile[..., 2])),
        "bright_blobs": int(keep.sum()),
        "blob_width_px": float(np.median(w)) if len(w) else float("nan"),
        "blob_area_px2": float(np.median(area)) if len(area) else float("nan"),
        "dark_specks": int(nd - 1),
        "fine_texture": float(1.4826 * np.median(np.abs(fine))),
        "mid_texture": float(1.4826 * np.median(np.abs(mid))),
        "p99_5_above_bg": float(np.percentile(g, 99.5) - bg),
    }


def head_profiles(tiles: list[np.ndarray], threshold: float = 70.0, radius: int = 18) -> dict:
    """Median radial profile (grey levels above background) around the bright peaks of heads
    (local maxima more than ``threshold`` above the background) of tiles at 446x344; radii
    where it falls to 50/25/10 % of the peak and the darkest pixel within 6 tile px, converted
    to 640x480 pixels."""
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    rr = np.hypot(yy, xx)
    profiles, mins = [], []
    for tile in tiles:
        g = tile.astype(np.float32).mean(axis=2)
        bg = float(np.median(g))
        peak = (g == cv2.dilate(g, np.ones((9, 9), np.uint8))) & (g > bg + threshold)
        for y, x in zip(*np.nonzero(peak)):
            if radius <= y < g.shape[0] - radius and radius <= x < g.shape[1] - radius:
                patch = g[y - radius : y + radius + 1, x - radius : x + radius + 1] - bg
                profiles.append([patch[(rr >= k - 0.5) & (rr < k + 0.5)].mean() for k in range(radius + 1)])
                mins.append(patch[rr <= 6].min())
    if not profiles:
        return {"n": 0}
    med = np.median(np.asarray(profiles), axis=0)
    s = 640.0 / TILE[0]

    def fall(frac: float) -> float:
        below = np.flatnonzero(med < frac * med[0])
        return float(below[0] * s) if len(below) else float("nan")

    return {
        "n": len(profiles),
        "peak": float(med[0]),
        "r50_px": fall(0.5),
        "r25_px": fall(0.25),
        "r10_px": fall(0.1),
        "darkest_within_8px": float(np.median(mins)),
        "profile": [float(v) for v in med],
    }


def simulated_tiles(seed: int, n: int = 8) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    """``n`` simulated frames at VISEM densities: per 8, 6 phase-contrast and 2 light ones, like the real grid."""
    looks = (["phase", "phase", "bright", "bright", "phase", "phase", "phase", "phase"] * (n // 8 + 1))[:n]
    like = ["13", "12", "24", "21", "11", "22", "30", "36", "19", "54", "12", "36", "82", "60", "35", "15"]
    full, tiles = [], []
    for i, look in enumerate(looks):
        v = simulate_video(seed=seed * 100 + i, num_frames=60, like=like[i % len(like)], look=look)
        f = v.frame(50)
        full.append(f)
        tiles.append(cv2.resize(f, TILE, interpolation=cv2.INTER_AREA))
    return tiles, full, looks


def picture(real: list[np.ndarray], sim: list[np.ndarray], path: Path) -> None:
    """Real tiles (top), simulated tiles (bottom), then 3x zooms of a corner of each."""
    sep = 6

    def row(tiles):
        out = []
        for t in tiles:
            out += [t, np.full((t.shape[0], sep, 3), 255, np.uint8)]
        return np.concatenate(out[:-1], axis=1)

    def zoom(t):
        return cv2.resize(t[60:175, 40:190], None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)

    order = [0, 2, 5, 6]
    top = row([real[i] for i in order])
    bottom = row([sim[i] for i in order])
    z1 = row([zoom(real[i]) for i in order])
    z2 = row([zoom(sim[i]) for i in order])
    w = max(top.shape[1], z1.shape[1])

    def pad(a):
        return np.pad(a, ((0, 0), (0, w - a.shape[1]), (0, 0)), constant_values=255)

    band = np.full((sep, w, 3), 255, np.uint8)
    img = np.concatenate([pad(top), band, pad(bottom), band, band, pad(z1), band, pad(z2)], axis=0)
    for y, text in ((22, "real VISEM-Tracking"), (top.shape[0] + sep + 22, "simulated")):
        cv2.putText(img, text, (8, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(img, text, (8, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), img)


# ---------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", type=Path, default=default_reference(), help="folder with the VISEM reference data")
    ap.add_argument("--frames", type=int, default=None, help="frames per simulated video (default: each real video's length)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--um-per-px", type=float, default=0.25, help="calibration of the motion model (default 0.25)")
    ap.add_argument("--turnover-seeds", type=int, default=3, help="simulated VISEM-like sets for the turnover distribution")
    ap.add_argument("--no-pixels", action="store_true", help="labels and motion only (no frames, no picture)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    ref = args.reference
    if not (ref / "sperm_counts_per_frame.csv").is_file():
        raise SystemExit(f"no VISEM reference data in {ref} (pass --reference)")
    t0 = time.perf_counter()
    real_df = real_counts(ref)
    sizes_real = real_sizes(ref)
    cal = Calibration(args.um_per_px, 50.0)
    sim_df, sizes_sim, totals, motion = simulate_like_visem(args.frames, args.seed, cal)
    sim_sets = [sim_df] + [simulate_like_visem(args.frames, args.seed + k, cal)[0] for k in range(1, max(1, args.turnover_seeds))]
    t_labels = time.perf_counter() - t0

    report: dict = {
        "seed": args.seed,
        "frames": args.frames,
        "um_per_px": args.um_per_px,
        "counts": {},
        "sizes": {},
        "fractions": {},
        "pixels": {},
        "motion_sim": motion,
    }
    print("\nBoxes per frame (20 videos; simulated with the real videos' per-video counts)")
    print(f"{'class':<18}{'statistic':<20}{'real':>10}{'simulated':>12}")
    for col in CLASSES:
        r, s = count_stats(real_df, col), count_stats(sim_df, col)
        report["counts"][col] = {"real": r, "simulated": s}
        for k in (
            "mean",
            "p5",
            "p50",
            "p95",
            "max",
            "video_mean_min",
            "video_mean_max",
            "within_video_std",
            "within_video_std_no_jumps",
            "frames_with_change",
            "changes_per_video",
        ):
            if col != "sperm" and k in ("p5", "p50", "video_mean_min"):
                continue
            print(f"{col:<18}{k:<20}{r[k]:>10.3f}{s[k]:>12.3f}")

    tv = turnover(real_df, sim_sets)
    report["turnover"] = tv
    n_sim = tv["sperm"]["n_sim_videos"]
    print(
        f"\nTurnover per video (20 real videos vs {n_sim} simulated: {len(sim_sets)} VISEM-like sets, seeds "
        f"{args.seed}..{args.seed + len(sim_sets) - 1}); quantiles over videos p10 / p25 / p50 / p75 / p90, max"
    )
    for col in CLASSES:
        t = tv[col]
        what = "fraction of frames where the count changes"
        print(f"{col:<18}{what}")
        print(f"{'':<18}real      {' / '.join(f'{v:.4f}' for v in t['real_quantiles'])}, max {t['real_max']:.4f}")
        print(f"{'':<18}simulated {' / '.join(f'{v:.4f}' for v in t['sim_quantiles'])}, max {t['sim_max']:.4f}")
        print(f"{'':<18}Kolmogorov-Smirnov distance {t['ks_statistic']:.3f} (p = {t['ks_pvalue']:.2f})")
        print(
            f"{'':<18}changes per video: real {' / '.join(f'{v:.0f}' for v in t['real_changes_per_video_quantiles'])}, "
            f"simulated {' / '.join(f'{v:.0f}' for v in t['sim_changes_per_video_quantiles'])}"
        )
    r, s1 = tv["sperm"]["real_per_video"], tv["sperm"]["sim_per_video_first_set"]
    dens = real_df.groupby("vid")["sperm"].mean()
    print("per video (sperm; simulated: the first set, same ids and densities):")
    print(f"{'video':<10}" + "".join(f"{v:>7}" for v in r))
    print(f"{'density':<10}" + "".join(f"{dens[v]:>7.1f}" for v in r))
    print(f"{'real':<10}" + "".join(f"{r[v]:>7.3f}" for v in r))
    print(f"{'simulated':<10}" + "".join(f"{s1.get(v, float('nan')):>7.3f}" for v in r))
    mixes = np.asarray(motion["in_focus_mix"])
    prog = mixes[:, 0] + mixes[:, 1]
    print(
        f"in-focus motility mix of the 20 simulated videos (medians): rapid {np.median(mixes[:, 0]):.2f}, slow "
        f"{np.median(mixes[:, 1]):.2f}, non-progressive {np.median(mixes[:, 2]):.2f}, immotile {np.median(mixes[:, 3]):.2f}; "
        f"progressive share {np.min(prog):.2f}-{np.max(prog):.2f}"
    )
    suffix = "" if args.um_per_px == 0.25 else f"_{args.um_per_px:g}"
    turnover_picture(real_df, sim_sets, args.out / f"sim_turnover{suffix}.png")

    print("\nBox width x height per class, pixels (real: dataset-ninja statistics of all boxes)")
    print(
        f"{'class':<18}{'':<6}{'real mean':>10}{'sim mean':>10}{'real min':>10}{'sim min':>9}{'sim p5':>8}{'sim p95':>8}{'real max':>10}{'sim max':>9}"
    )
    for name in CLASSES:
        r, s = sizes_real.get(name), sizes_sim[name]
        report["sizes"][name] = {"real": r, "simulated": s}
        for dim in ("w", "h"):
            rd, sd = r[dim], s[dim]
            print(
                f"{name:<18}{dim:<6}{rd['mean']:>10.1f}{sd['mean']:>10.1f}{rd['min']:>10.1f}{sd['min']:>9.1f}"
                f"{sd.get('p5', float('nan')):>8.1f}{sd.get('p95', float('nan')):>8.1f}{rd['max']:>10.1f}{sd['max']:>9.1f}"
            )

    print("\nFraction of each class among all boxes")
    real_tot = np.asarray(VISEM_CLASS_TOTALS, float)
    for c, name in enumerate(CLASSES):
        fr, fs = real_tot[c] / real_tot.sum(), totals[c] / max(totals.sum(), 1)
        report["fractions"][name] = {"real": fr, "simulated": float(fs)}
        print(f"{name:<18}{fr:>10.4f}{fs:>12.4f}")
    print(f"(real {int(real_tot.sum()):,} boxes, simulated {int(totals.sum()):,})")
    print(
        "\nSimulated head displacement between consecutive frames, px (labelled sperm): "
        f"median {motion['step_px_p50']:.2f}, p95 {motion['step_px_p95']:.2f}, p99 {motion['step_px_p99']:.2f}, max {motion['step_px_max']:.2f}"
    )

    kin = kinematics_truth(args.seed, cal)
    report["kinematics_truth"] = kin
    print("\nTrue kinematics of the model (CASA on the noise-free paths; 3 videos of 250 frames, density 40, mix 50/20/10/20 %)")
    print(f"{'WHO class':<20}{'n':>5}{'VCL':>8}{'VSL':>8}{'VAP':>8}{'LIN':>7}{'ALH':>7}{'BCF':>7}   (medians; µm/s, µm p-p, Hz)")
    for name, r in kin["per_class"].items():
        print(
            f"{name:<20}{r['n']:>5}{r['vcl']:>8.1f}{r['vsl']:>8.1f}{r['vap']:>8.1f}{r['lin']:>7.2f}{r['alh_mean']:>7.2f}{r['bcf']:>7.1f}"
        )
    print(
        f"fastest VCL per video: {', '.join(f'{v:.0f}' for v in kin['fastest_vcl'])} µm/s; "
        f"model WHO class = CASA motility on {', '.join(f'{100 * a:.0f}' for a in kin['agreement'])} % of long valid tracks"
    )
    if args.no_pixels:
        args.out.mkdir(parents=True, exist_ok=True)
        with open(args.out / f"simulator_realism_labels_{args.um_per_px:g}.json", "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=1)
        return 0

    t1 = time.perf_counter()
    real = real_tiles(ref)
    sim, _, looks = simulated_tiles(args.seed, n=24)
    print("\nPixels of the 8 real frames vs 24 simulated (same scale; sizes in 640x480 pixels; medians over frames)")
    keys = list(pixel_stats(real[0]))
    pr = [pixel_stats(t) for t in real]
    ps = [pixel_stats(t) for t in sim]
    light_r = [i for i in range(8) if pr[i]["background"] > 140]
    light_s = [i for i in range(len(sim)) if looks[i] == "bright"]
    print(f"{'statistic':<18}{'real dark':>11}{'sim dark':>10}{'real light':>12}{'sim light':>11}")
    for k in keys:
        vals = []
        for stats, idx in (
            (pr, [i for i in range(8) if i not in light_r]),
            (ps, [i for i in range(len(sim)) if i not in light_s]),
            (pr, light_r),
            (ps, light_s),
        ):
            vals.append(float(np.median([stats[i][k] for i in idx])) if idx else float("nan"))
        report["pixels"][k] = dict(zip(("real_dark", "sim_dark", "real_light", "sim_light"), vals))
        print(f"{k:<18}{vals[0]:>11.2f}{vals[1]:>10.2f}{vals[2]:>12.2f}{vals[3]:>11.2f}")
    groups = (
        [real[i] for i in range(8) if i not in light_r],
        [sim[i] for i in range(len(sim)) if i not in light_s],
        [real[i] for i in light_r],
        [sim[i] for i in light_s],
    )
    hp = [head_profiles(g) for g in groups]
    report["heads"] = dict(zip(("real_dark", "sim_dark", "real_light", "sim_light"), hp))
    print("heads (median radial profile around bright peaks > background + 70; radii in 640x480 px)")
    for k in ("n", "peak", "r50_px", "r25_px", "r10_px", "darkest_within_8px"):
        print(f"{k:<18}" + "".join(f"{h.get(k, float('nan')):>{w}.2f}" for h, w in zip(hp, (11, 10, 12, 11))))
    pic = args.out / "sim_vs_real.png"
    picture(real, sim, pic)
    report["timing_s"] = {"labels_20_videos": t_labels, "pixels": time.perf_counter() - t1}
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "simulator_realism.json", "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=1)
    print(f"\nwrote {args.out / 'simulator_realism.json'} and {pic} ({t_labels:.0f} s for the labels of 20 videos)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
