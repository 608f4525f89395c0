"""End to end on randomly drawn microscopes: what a user reads from ``analyze``, against the truth.

``detector_random_looks.py`` scores the boxes (AP) of single frames. A user reads something
else: how many sperm were tracked, what share is progressive, how fast they swim, and whether
a warning said the result cannot be trusted. This script draws the same microscopes (the same
``draw``, the same seeds: family k's video i has seed ``--base-seed`` + 1000 k + i), renders
each for ``--frames`` frames (2 s at 50 fps by default, enough for CASA's 1-s windows), runs
``spermtrack.analyze`` at the true µm per pixel and frame rate, with the default detector and
with the classical detector (the weight-free reference), and compares with the simulator's
truth:

* **HOTA / IDF1** of the sperm tracks against the true track ids (``spermtrack.evaluate``,
  equal to TrackEval / py-motmetrics);
* **valid tracks / true cells**: ``summary["counts"]["valid_tracks"]`` against the true sperm
  cells that are in view for at least the analysis' ``min_duration_s`` (and whose true path
  CASA grades "ok");
* **progressive % error** and **immotile % error**, in percentage points:
  ``summary["progressive_percent"]`` and ``summary["immotile_percent"]`` (weighted by each
  track's time in view) against the same shares of the labelled sperm in view at each moment,
  averaged over the frames (their true grades: the simulator's CASA on the noise-free head
  paths; ``motility_share.truth_shares``);
* **fastest error**: the speed of the fastest sperm ``analyze`` reports (``Analysis.fastest``,
  ranked by ``config.fastest_by``, VSL by default) against the fastest of those true cells,
  relative (the median VCL is not compared: in immotile-rich samples it is mostly detection
  jitter, docs/kinematics.md);
* the **warnings** ``analyze`` gave (the uncalibrated-scale notes excluded: the scale is given).

A video's result is **wrong** when its progressive share is off by more than
:data:`WRONG_PERCENT` points or its valid-track count by more than :data:`WRONG_COUNT` x
either way: what a lab report would get wrong. The summary counts, per family, how many wrong
results were warned and how many right ones were (false alarms).

    python benchmarks/analysis_random_looks.py [--videos 8] [--frames 100] [--families ...]
        [--base-seed 71000] [--head-px 11,22] [--out NAME.json]

Writes benchmarks/results/analysis_random_looks.json (``--out`` to change the name). About
25 min on 2 cores for 8 videos per family (1280x1024 videos are tiled: down to 0.5 frames/s).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from spermtrack import analyze
from spermtrack.atomic import atomic_open
from spermtrack.boxes import SPERM
from spermtrack.evaluate import tracking
from spermtrack.simulate import simulate_video
from spermtrack.simulate.look import LOOKS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detector_random_looks import BASE_SEED, draw
from motility_share import true_cells, truth_shares

RESULTS = Path(__file__).resolve().parent / "results" / "analysis_random_looks.json"
#: A progressive share off by more than this many percentage points is a wrong result.
WRONG_PERCENT = 15.0
#: A valid-track count off by more than this factor (either way) is a wrong result.
WRONG_COUNT = 2.0
#: The detectors compared: the default (``auto``) and the weight-free reference.
DETECTORS = ("auto", "classical")


def truth_of(v, min_duration_s: float, by: str) -> dict:
    """What a user's analysis should report: the true cells (sperm in view >= ``min_duration_s``,
    CASA "ok"), their fastest, and the shares of the sperm in view at each moment (as ``analyze``
    weighs its shares, by time in view; ``motility_share.truth_shares``)."""
    cells = true_cells(v, min_duration_s)
    n = len(cells)
    shares = truth_shares(v, min_duration_s)
    return {
        "cells": int(n),
        "progressive_percent": shares["at_each_moment"] if n else None,
        "immotile_percent": shares["immotile_at_each_moment"] if n else None,
        "fastest": round(float(cells[by].max()), 2) if n else None,
    }


def score_analysis(a, v, truth: dict) -> dict:
    """What the analysis reports, and how far it is from ``truth``."""
    s = a.summary
    gt = v.boxes.filter(v.boxes.cls == SPERM)
    hyp = a.tracks.filter(a.tracks.cls == SPERM)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "the hypothesis hardly overlaps" is what a poor result is
        t = tracking(gt, hyp, num_frames=v.num_frames, per_class=False)
    valid = int(s["counts"]["valid_tracks"])
    top = a.fastest(n=1)
    fastest = float(top[a.fastest_by].iloc[0]) if len(top) else None
    out = {
        "hota": round(float(t.hota), 3),
        "idf1": round(float(t.idf1), 3),
        "valid_tracks": valid,
        "count_ratio": round(valid / truth["cells"], 3) if truth["cells"] else None,
        "progressive_percent": _number(s.get("progressive_percent")),
        "immotile_percent": _number(s.get("immotile_percent")),
        "fastest": None if fastest is None else round(fastest, 2),
        "warnings": [w for w in a.warnings if "ncalibrated" not in w],
        # head-sized boxes per frame below / at or above the tracker's start threshold (the "unsure" warning)
        "unsure_per_frame": (a.detection_check or {}).get("unsure_per_frame"),
        "confident_per_frame": (a.detection_check or {}).get("confident_per_frame"),
    }
    p, q = out["progressive_percent"], truth["progressive_percent"]
    out["progressive_error"] = None if p is None or q is None else round(p - q, 1)
    p, q = out["immotile_percent"], truth["immotile_percent"]
    out["immotile_error"] = None if p is None or q is None else round(p - q, 1)
    p, q = out["fastest"], truth["fastest"]
    out["fastest_error"] = None if p is None or not q else round(p / q - 1.0, 3)
    out["wrong"] = is_wrong(out)
    return out


def _number(x) -> float | None:
    """A summary's percentage as a rounded float (None stays None)."""
    return None if x is None else round(float(x), 1)


def is_wrong(r: dict) -> bool:
    """A lab report from this result would be wrong: progressive share or count far off (or nothing to report)."""
    if r["count_ratio"] is None:
        return r["valid_tracks"] > 0  # tracks where no cell is
    if r["progressive_error"] is None:
        return True  # cells there, no share reported
    return bool(abs(r["progressive_error"]) > WRONG_PERCENT or not (1 / WRONG_COUNT <= r["count_ratio"] <= WRONG_COUNT))


def run_video(params: dict, n_frames: int) -> dict:
    """Render one drawn microscope and analyse it with each detector."""
    v = simulate_video(
        seed=params["seed"], num_frames=n_frames, look=params["look"], head_px=params["head_px"],
        image_size=params["size"], density=params["density"],
    )  # fmt: skip
    frames = np.stack(list(v.frames()))
    um, fps = float(v.calibration.um_per_px), float(v.fps)
    row = {k: params[k] for k in ("seed", "family")}
    row.update(size=list(params["size"]), head_px=round(params["head_px"], 1), density=round(params["density"], 1))
    truth = None
    for name in DETECTORS:
        t0 = time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = analyze(frames, detector=name, um_per_px=um, fps=fps)
        if truth is None:
            truth = truth_of(v, a.config.casa.min_duration_s, a.fastest_by)
            row["truth"] = truth
        row[name] = score_analysis(a, v, truth)
        row[name]["cpu_s"] = round(time.process_time() - t0, 1)
    return row


def _median(xs) -> float | None:
    xs = [x for x in xs if x is not None]
    return round(float(np.median(xs)), 3) if xs else None


def summarise(rows: list[dict]) -> dict:
    """Per family and overall, per detector: medians and how the warnings met the wrong results."""
    out = {}
    for fam in [*dict.fromkeys(r["family"] for r in rows), "all"]:
        rs = [r for r in rows if fam in ("all", r["family"])]
        fs = {"videos": len(rs)}
        for name in DETECTORS:
            d = [r[name] for r in rs]
            wrong = [x for x in d if x["wrong"]]
            right = [x for x in d if not x["wrong"]]
            fs[name] = {
                "hota": _median(x["hota"] for x in d),
                "idf1": _median(x["idf1"] for x in d),
                "count_ratio": _median(x["count_ratio"] for x in d),
                "abs_progressive_error": _median(
                    None if x["progressive_error"] is None else abs(x["progressive_error"]) for x in d
                ),
                "abs_fastest_error": _median(None if x["fastest_error"] is None else abs(x["fastest_error"]) for x in d),
                "wrong": len(wrong),
                "wrong_warned": sum(bool(x["warnings"]) for x in wrong),
                "right_warned": sum(bool(x["warnings"]) for x in right),
                "right": len(right),
            }
        out[fam] = fs
    return out


def print_summary(summary: dict) -> None:
    head = "| family | videos | detector | HOTA | IDF1 | valid tracks / true cells | progressive % error (points) | fastest sperm's speed error | wrong results: warned | right results: warned |"
    print(head)
    print("|" + " --- |" * 2 + " --- |" + " ---: |" * 7)
    for fam, fs in summary.items():
        for name in DETECTORS:
            s = fs[name]
            print(
                f"| {fam} | {fs['videos']} | {name} | {s['hota']} | {s['idf1']} | {s['count_ratio']} | "
                f"{s['abs_progressive_error']} | {s['abs_fastest_error']} | {s['wrong_warned']} of {s['wrong']} | "
                f"{s['right_warned']} of {s['right']} |"
            )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--videos", type=int, default=8, help="videos per look family")
    ap.add_argument("--frames", type=int, default=100, help="frames per video (the simulator's 50 fps)")
    ap.add_argument("--families", default=",".join(LOOKS), help=f"comma-separated, of {LOOKS}")
    ap.add_argument("--head-px", default="11,22", help="range of the head box side, px (log-uniform)")
    ap.add_argument("--base-seed", type=int, default=BASE_SEED, help="family k's video i has this seed + 1000 k + i")
    ap.add_argument("--out", type=Path, default=None, help=f"results JSON (default {RESULTS.name})")
    args = ap.parse_args(argv)
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    unknown = sorted(set(families) - set(LOOKS))
    if unknown:
        ap.error(f"unknown families {unknown}; choose from {list(LOOKS)}")
    lo, hi = (float(x) for x in args.head_px.split(","))
    rows = []
    for k, fam in enumerate(LOOKS):
        if fam not in families:
            continue
        for i in range(args.videos):
            row = run_video(draw(args.base_seed + 1000 * k + i, fam, (lo, hi)), args.frames)
            rows.append(row)
            a, c = row["auto"], row["classical"]
            print(
                f"{row['seed']} {fam:>13} {row['size'][0]}x{row['size'][1]} head {row['head_px']:4.1f} px "
                f"cells {row['truth']['cells']:3d} prog {row['truth']['progressive_percent']} | "
                f"auto HOTA {a['hota']:.3f} tracks {a['valid_tracks']:3d} prog {a['progressive_percent']} "
                f"{'WRONG' if a['wrong'] else 'ok'} warned {len(a['warnings'])} ({a['cpu_s']} s) | "
                f"classical HOTA {c['hota']:.3f} tracks {c['valid_tracks']:3d} {'WRONG' if c['wrong'] else 'ok'}",
                flush=True,
            )
    summary = summarise(rows)
    print_summary(summary)
    out = args.out or RESULTS
    payload = {
        "videos_per_family": args.videos,
        "frames": args.frames,
        "head_px": [lo, hi],
        "base_seed": args.base_seed,
        "wrong_percent": WRONG_PERCENT,
        "wrong_count": WRONG_COUNT,
        "summary": summary,
        "rows": rows,
    }
    with atomic_open(out, "w") as fh:
        json.dump(payload, fh, indent=1)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
