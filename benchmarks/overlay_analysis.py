"""What a burnt-in overlay does to ``analyze``, with and without the overlay mask, against the truth.

Simulated videos (``--frames`` frames at 50 fps, 25 sperm per frame; ``--seeds`` per look) get
each overlay of ``detector_robustness.py`` drawn over every frame (a white text panel with a
logo, a black time-stamp box with a scale bar, letterbox bars) and are analysed by
``spermtrack.analyze`` at the true µm per pixel and frame rate, with the default detector as
shipped (overlays found and masked) and with ``mask_overlays=False``; the clean video is the
reference. Per run: the valid sperm tracks, the true cells a user should count
(``motility_share.true_cells``) among those the panel leaves visible (the median of their
labelled head centres outside every panel), the valid tracks that lie in a panel (median
centre inside: tracks of its letters or edges) and the progressive share's error against the
truth at each moment (``motility_share.truth_shares``; percentage points).

    python benchmarks/overlay_analysis.py [--seeds 2] [--frames 100] [--out results/overlay_analysis.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

from spermtrack import analyze
from spermtrack.atomic import atomic_open
from spermtrack.detect import DetectorSpec
from spermtrack.simulate import simulate_video

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detector_robustness import BurntInPanel
from motility_share import true_cells, truth_shares

RESULTS = Path(__file__).resolve().parent / "results" / "overlay_analysis.json"
LOOKS = ("phase", "brightfield", "negative-phase", "bright")
PANELS = ("text panel", "time stamp", "letterbox")


def _inside(x: np.ndarray, y: np.ndarray, rects) -> np.ndarray:
    out = np.zeros(len(x), bool)
    for rx, ry, rw, rh in rects:
        out |= (x >= rx) & (x < rx + rw) & (y >= ry) & (y < ry + rh)
    return out


def visible_cells(v, rects) -> int:
    """True cells (``true_cells``) whose labelled head centres lie, in the median, outside every panel."""
    cells = true_cells(v)
    heads = v.heads[v.heads["labelled"] & v.heads["track_id"].isin(cells["track_id"])]
    centre = heads.groupby("track_id")[["x_px", "y_px"]].median()
    return int((~_inside(centre["x_px"].to_numpy(), centre["y_px"].to_numpy(), rects)).sum())


def run(frames: np.ndarray, v, mask: bool, rects) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = analyze(frames, fps=float(v.fps), um_per_px=float(v.calibration.um_per_px), detector=DetectorSpec(mask_overlays=mask))
    k = a.kinematics
    valid = k[(k["quality"] == "ok") & (k["cls"] == 0)]
    tr = a.tracks.filter(np.isin(a.tracks.track_id, valid["track_id"].to_numpy()))
    cx, cy = (np.asarray(tr.x1) + np.asarray(tr.x2)) / 2, (np.asarray(tr.y1) + np.asarray(tr.y2)) / 2
    ids = np.asarray(tr.track_id)
    in_panel = 0
    for t in np.unique(ids):
        sel = ids == t
        in_panel += int(_inside(np.array([np.median(cx[sel])]), np.array([np.median(cy[sel])]), rects)[0])
    p = a.summary.get("progressive_percent")
    return {
        "valid_tracks": int(len(valid)),
        "valid_tracks_in_panel": in_panel,
        "progressive_percent": None if p is None else round(float(p), 1),
        "overlays": a.summary["look"]["overlays"],
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=2, help="videos per look")
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    rows = []
    for k, look in enumerate(LOOKS):
        for i in range(args.seeds):
            seed = 500 + 10 * k + i
            v = simulate_video(seed=seed, num_frames=args.frames, look=look, density=25)
            frames = np.stack(list(v.frames()))
            truth = truth_shares(v)["at_each_moment"]
            clean = run(frames, v, True, [])
            for kind in PANELS:
                panel = BurntInPanel(kind)
                rects = panel.rects(frames.shape[2], frames.shape[1])
                drawn = np.stack([panel(f) for f in frames])
                row = {"look": look, "seed": seed, "overlay": kind, "true_cells_visible": visible_cells(v, rects)}
                row["true_cells"] = len(true_cells(v))
                row["truth_progressive_percent"] = truth
                row["clean"] = clean
                row["masked"] = run(drawn, v, True, rects)
                row["unmasked"] = run(drawn, v, False, rects)
                rows.append(row)
                m, u = row["masked"], row["unmasked"]
                print(
                    f"{look:>14} seed {seed} {kind:>10}: visible cells {row['true_cells_visible']:3d} of {row['true_cells']:3d}; "
                    f"valid tracks clean {clean['valid_tracks']:3d}, masked {m['valid_tracks']:3d} ({m['valid_tracks_in_panel']} in the "
                    f"panel), unmasked {u['valid_tracks']:3d} ({u['valid_tracks_in_panel']} in the panel); progressive % truth "
                    f"{truth}, clean {clean['progressive_percent']}, masked {m['progressive_percent']}, unmasked {u['progressive_percent']}",
                    flush=True,
                )
    summary = {}
    for kind in PANELS:
        rs = [r for r in rows if r["overlay"] == kind]

        def med(f, rs=rs):
            return round(float(np.median([f(r) for r in rs])), 3)

        summary[kind] = {
            "videos": len(rs),
            "median valid / visible true cells, masked": med(
                lambda r: r["masked"]["valid_tracks"] / max(r["true_cells_visible"], 1)
            ),
            "median valid / visible true cells, unmasked": med(
                lambda r: r["unmasked"]["valid_tracks"] / max(r["true_cells_visible"], 1)
            ),
            "median valid / true cells, clean video": med(lambda r: r["clean"]["valid_tracks"] / max(r["true_cells"], 1)),
            "valid tracks in the panel, masked": sum(r["masked"]["valid_tracks_in_panel"] for r in rs),
            "valid tracks in the panel, unmasked": sum(r["unmasked"]["valid_tracks_in_panel"] for r in rs),
            "panels found (masked runs)": sum(bool(r["masked"]["overlays"]) for r in rs),
        }
    print(json.dumps(summary, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(args.out, "w") as fh:
        json.dump({"frames": args.frames, "seeds": args.seeds, "summary": summary, "rows": rows}, fh, indent=1)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
