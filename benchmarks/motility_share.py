"""The WHO motility shares against the simulator's truth: shares of tracks, or weighted by time in view.

The WHO grades a sample by the share of the sperm *present at one moment* that are
progressive (the manual counts a field at once; CASA instruments record 0.5-1 s per field).
Over a longer recording a still cell stays one track while swimmers keep passing, each a new
track, so the share of tracks rises with the recording's length. This script measures it.

For each simulated video (three motility mixes in focus x three lengths x ``--seeds`` seeds,
640x480 at 50 fps and 0.25 µm/px, the default look) it runs ``spermtrack.analyze`` with the
default detector at the true scale and frame rate and compares with the simulator's truth:

* **truth, at each moment**: in each frame, the share of the labelled sperm heads (those an
  annotator boxes: in view and in focus) whose cell's true grade (``tracks_truth``, ``casa``
  on the noise-free path) is progressive, averaged over the frames: what a snapshot count
  estimates, and the quantity ``summary["progressive_percent"]`` now estimates;
* **truth, per cell**: the share of the true cells (labelled >= 0.5 s, CASA "ok") that are
  progressive: what counting tracks estimates;
* **time-weighted** (``summary["progressive_percent"]``) and its 95 % interval
  (``progressive_ci95``), and **per track** (``motility[...]["percent_of_tracks"]``, the
  share of valid tracks, what ``analyze`` reported before 2026-12-06);
* the **median VSL**: of the labelled heads in view (the true VSL of their cells, pooled over
  the frames), ``summary["speeds"]["vsl"]["median"]`` (weighted by time in view) and the
  median over the valid tracks, each once (before).

    python benchmarks/motility_share.py [--seeds 2] [--frames 150 500 1470] [--out NAME.json]

Writes benchmarks/results/motility_share.json. About 8 min on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

from spermtrack import analyze
from spermtrack.atomic import atomic_open
from spermtrack.simulate import simulate_video

RESULTS = Path(__file__).resolve().parent / "results"
PROGRESSIVE = ("rapid_progressive", "slow_progressive")
#: Motility mixes in focus (rapid, slow, non-progressive, immotile); None: the simulator's VISEM-like mix per donor.
MIXES = {"VISEM-like": None, "normal": (0.35, 0.20, 0.10, 0.35), "motile": (0.5, 0.2, 0.1, 0.2)}
DENSITY = 25.0


def true_cells(v, min_duration_s: float = 0.5):
    """The simulator's true sperm cells a user's analysis should count: labelled for at least
    ``min_duration_s`` seconds, their true path graded "ok" by CASA (rows of ``v.tracks_truth``)."""
    tt = v.tracks_truth
    sperm = tt[tt["kind"] == "sperm"]
    seen_s = (sperm["last_labelled"] - sperm["first_labelled"]) / v.fps
    return sperm[(seen_s >= min_duration_s) & (sperm["quality"] == "ok")]


def truth_shares(v, min_duration_s: float = 0.5) -> dict:
    """Progressive and immotile shares at each moment (means over frames) and per cell, from the simulator's truth.

    At each moment: the labelled sperm heads of each frame whose cell has a true grade. Per
    cell: the true cells labelled for at least ``min_duration_s`` whose true path CASA grades "ok".
    """
    tt = v.tracks_truth
    sperm = tt[tt["kind"] == "sperm"]
    grade = dict(zip(sperm["track_id"], sperm["motility"]))
    heads = v.heads[v.heads["labelled"] & v.heads["track_id"].isin(sperm["track_id"][sperm["motility"].notna()])]
    grades = heads["track_id"].map(grade)
    frames = heads["frame"]
    progressive = grades.isin(PROGRESSIVE).astype(float).groupby(frames).mean()
    immotile = (grades == "immotile").astype(float).groupby(frames).mean()
    cells = true_cells(v, min_duration_s)
    n = len(heads)
    vsl = heads["track_id"].map(dict(zip(sperm["track_id"], sperm["vsl"])))
    return {
        "median_vsl_in_view": round(float(vsl.median()), 2) if n else None,
        "at_each_moment": round(100.0 * float(progressive.mean()), 1) if n else None,
        "immotile_at_each_moment": round(100.0 * float(immotile.mean()), 1) if n else None,
        "per_cell": round(100.0 * float(cells["motility"].isin(PROGRESSIVE).mean()), 1) if len(cells) else None,
        "cells": int(len(cells)),
        "sperm_in_view_per_frame": round(float(heads.groupby("frame").size().mean()), 1) if n else 0.0,
    }


def run_one(mix: str, frames: int, seed: int) -> dict:
    v = simulate_video(seed=seed, num_frames=frames, density=DENSITY, motility=MIXES[mix])
    t0 = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = analyze(np.stack(list(v.frames())), um_per_px=float(v.calibration.um_per_px), fps=float(v.fps))
    s = a.summary
    truth = truth_shares(v)
    weighted = s["progressive_percent"]
    ci = s["progressive_ci95"]
    tracks = sum(s["motility"][g]["percent_of_tracks"] for g in PROGRESSIVE) if weighted is not None else None
    valid = a.kinematics[(a.kinematics["quality"] == "ok") & (a.kinematics["cls"] == 0)]
    row = {
        "median_vsl": None if s["speeds"]["vsl"]["median"] is None else round(s["speeds"]["vsl"]["median"], 2),
        "median_vsl_per_track": round(float(valid["vsl"].median()), 2) if len(valid) else None,
        "mix": mix,
        "frames": frames,
        "seed": seed,
        "truth": truth,
        "valid_tracks": int(s["counts"]["valid_tracks"]),
        "effective_cells": s["shares"]["effective_cells"],
        "time_weighted": None if weighted is None else round(weighted, 1),
        "ci95": None if ci is None else [round(ci[0], 1), round(ci[1], 1)],
        "per_track": None if tracks is None else round(tracks, 1),
        "cpu_s": round(time.process_time() - t0, 1),
    }
    m = truth["at_each_moment"]
    row["time_weighted_error"] = None if weighted is None else round(weighted - m, 1)
    row["per_track_error"] = None if tracks is None else round(tracks - m, 1)
    row["truth_in_ci"] = None if ci is None else bool(ci[0] <= m <= ci[1])
    return row


def _median_abs(rows: list[dict], key: str) -> float | None:
    """Median absolute difference (µm/s) of ``row[key]`` from the median VSL of the heads in view."""
    d = [
        abs(r[key] - r["truth"]["median_vsl_in_view"])
        for r in rows
        if r[key] is not None and r["truth"]["median_vsl_in_view"] is not None
    ]
    return round(float(np.median(d)), 2) if d else None


def summarise(rows: list[dict]) -> dict:
    """Per recording length: median absolute error (points) of each estimate against the truth at each moment."""
    out = {}
    for frames in sorted({r["frames"] for r in rows}):
        rs = [r for r in rows if r["frames"] == frames and r["time_weighted"] is not None]
        out[str(frames)] = {
            "videos": len(rs),
            "median_abs_error_time_weighted": round(float(np.median([abs(r["time_weighted_error"]) for r in rs])), 1),
            "median_abs_error_per_track": round(float(np.median([abs(r["per_track_error"]) for r in rs])), 1),
            "truth_in_ci": sum(r["truth_in_ci"] for r in rs),
            "median_abs_error_median_vsl_time_weighted": _median_abs(rs, "median_vsl"),
            "median_abs_error_median_vsl_per_track": _median_abs(rs, "median_vsl_per_track"),
        }
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=2, help="videos per mix and length")
    ap.add_argument("--frames", type=int, nargs="+", default=[150, 500, 1470], help="recording lengths, frames at 50 fps")
    ap.add_argument("--out", default="motility_share.json", help="file name under benchmarks/results/, or a path")
    args = ap.parse_args(argv)
    rows = []
    print(
        "| mix | frames | seed | truth at each moment | truth per cell | valid tracks | effective cells | time-weighted (95 % CI) "
        "| per track | median VSL: in view | time-weighted | per track |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for frames in args.frames:
        for mix in MIXES:
            for i in range(args.seeds):
                r = run_one(mix, frames, 500 + 10 * i)
                rows.append(r)
                t = r["truth"]
                ci = "" if r["ci95"] is None else f" ({r['ci95'][0]:.0f}-{r['ci95'][1]:.0f})"
                print(
                    f"| {mix} | {frames} | {r['seed']} | {t['at_each_moment']} | {t['per_cell']} | {r['valid_tracks']} | "
                    f"{r['effective_cells']} | {r['time_weighted']}{ci} | {r['per_track']} | {t['median_vsl_in_view']} | "
                    f"{r['median_vsl']} | {r['median_vsl_per_track']} |",
                    flush=True,
                )
    summary = summarise(rows)
    print(
        "\n| frames | videos | median abs. error, time-weighted (points) | per track | truth inside the 95 % interval "
        "| median VSL's median abs. error, time-weighted (µm/s) | per track |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for frames, s in summary.items():
        print(
            f"| {frames} | {s['videos']} | {s['median_abs_error_time_weighted']} | {s['median_abs_error_per_track']} | "
            f"{s['truth_in_ci']} of {s['videos']} | {s['median_abs_error_median_vsl_time_weighted']} | "
            f"{s['median_abs_error_median_vsl_per_track']} |"
        )
    out = Path(args.out) if Path(args.out).parent != Path() else RESULTS / args.out
    with atomic_open(out, "w") as fh:
        json.dump({"mixes": {k: v for k, v in MIXES.items()}, "density": DENSITY, "summary": summary, "rows": rows}, fh, indent=1)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
