"""Is the measured look steady? Polarity and head size from the first 1, 8, 16 and 32 frames of a video.

The self-calibration (:func:`spermtrack.detect.calibrate.measure_look`) measures a video on its
first batch (``CalibratedDetector``, up to ``CALIBRATION_FRAMES`` of it): 8 frames in
``analyze`` and ``detector_random_looks.py``, 16 in ``detect-eval``, one on a single image. A
user's answer must not depend on that number. This script simulates ``--seeds`` videos per look (32 frames at 50 fps, ``--density``
sperm per frame; ``look="random"`` draws a random microscope), measures each on its first 1, 8,
16 and 32 frames and prints, per look and over all videos, how often the polarity is wrong
(against the simulator's ``Look.dark_heads``), how often it is unsure (confidence below
``MIN_POLARITY_CONFIDENCE``, when ``analyze`` reads the video both ways and warns), how often it
is wrong without being unsure (read one way only, without a warning), and on how many videos 8
and 16 frames disagree (another polarity, or head boxes more than 1.35x apart). Each row holds
the votes (``LookEstimate.polarity_votes``). ``--density 4`` makes sparse fields, in which the
specks of debris outnumber the heads (``results/look_steadiness_sparse.json``).

    python benchmarks/look_steadiness.py [--seeds 20] [--base-seed 500] [--density 25] [--out results/look_steadiness.json]
    python benchmarks/look_steadiness.py --density 4 --out benchmarks/results/look_steadiness_sparse.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from spermtrack.atomic import atomic_open
from spermtrack.detect.calibrate import MIN_POLARITY_CONFIDENCE, measure_look
from spermtrack.simulate import simulate_video

RESULTS = Path(__file__).resolve().parent / "results" / "look_steadiness.json"
LOOKS = ("phase", "bright", "brightfield", "negative-phase", "random")
FIRST_FRAMES = (1, 8, 16, 32)
#: Head box sides (px) further apart than this factor count as a different measurement.
SIZE_CHANGE = 1.35


def measure_video(look: str, seed: int, density: float, frames: int) -> dict:
    """One simulated video measured on its first ``n`` frames for each ``n`` of :data:`FIRST_FRAMES`."""
    v = simulate_video(seed=seed, num_frames=frames, look=look, density=density)
    stack = np.stack(list(v.frames()))
    truth = "dark" if v.look.dark_heads else "bright"
    row = {"look": look, "seed": seed, "true_polarity": truth, "true_head_px": round(float(v.head_px), 2)}
    for n in FIRST_FRAMES:
        if n > len(stack):
            continue
        t0 = time.process_time()
        est = measure_look(stack[:n])
        row[str(n)] = {
            "polarity": est.polarity,
            "right": est.polarity == truth,
            "confidence": est.polarity_confidence,
            "head_box_px": est.head_box_px,
            "motion": est.motion,
            "votes": [list(v) for v in est.polarity_votes],
            "cpu_s": round(time.process_time() - t0, 3),
        }
    return row


def changed(a: dict, b: dict) -> bool:
    """Another polarity, or head boxes more than :data:`SIZE_CHANGE` apart."""
    return bool(a["polarity"] != b["polarity"] or abs(np.log(a["head_box_px"] / b["head_box_px"])) > np.log(SIZE_CHANGE))


def summarise(rows: list[dict]) -> dict:
    ns = [str(n) for n in FIRST_FRAMES if all(str(n) in r for r in rows)]
    return {
        "videos": len(rows),
        "wrong": {n: sum(not r[n]["right"] for r in rows) for n in ns},
        "unsure": {n: sum(r[n]["confidence"] < MIN_POLARITY_CONFIDENCE for r in rows) for n in ns},
        # wrong and not unsure: read one way only, without a warning
        "silent": {n: sum(not r[n]["right"] and r[n]["confidence"] >= MIN_POLARITY_CONFIDENCE for r in rows) for n in ns},
        "changed_8_vs_16": sum(changed(r["8"], r["16"]) for r in rows) if {"8", "16"} <= set(ns) else None,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20, help="videos per look")
    ap.add_argument("--base-seed", type=int, default=500, help="look k's videos have seeds base .. base + seeds - 1")
    ap.add_argument("--density", type=float, default=25.0, help="labelled sperm per frame")
    ap.add_argument("--frames", type=int, default=32, help="frames simulated per video (the largest first-frames count used)")
    ap.add_argument("--looks", default=",".join(LOOKS), help=f"comma-separated, of {LOOKS}")
    ap.add_argument("--out", type=Path, default=RESULTS, help="results JSON")
    args = ap.parse_args(argv)
    looks = [x for x in args.looks.split(",") if x]
    if unknown := set(looks) - set(LOOKS):
        ap.error(f"--looks: unknown {sorted(unknown)}; choose from {LOOKS}")
    if args.seeds < 1 or args.frames < 1:
        ap.error("--seeds and --frames must be >= 1")
    rows = []
    for look in looks:
        for seed in range(args.base_seed, args.base_seed + args.seeds):
            row = measure_video(look, seed, args.density, args.frames)
            rows.append(row)
            cells = " ".join(
                f"{n}:{'ok' if m['right'] else 'WRONG'} {m['confidence']:.2f}/{m['head_box_px']:.0f}px{' moving' if m['motion'] else ''}"
                for n, m in ((str(n), row.get(str(n))) for n in FIRST_FRAMES)
                if m is not None
            )
            print(f"{look:>14} {seed}: true {row['true_polarity']} {row['true_head_px']:.0f}px | {cells}", flush=True)
    summary = {look: summarise([r for r in rows if r["look"] == look]) for look in looks}
    summary["all"] = summarise(rows)
    print(f"\n{'look':>14} | videos | wrong polarity (first 1/8/16/32 frames) | unsure | wrong, not unsure | 8 vs 16 changed")
    for look, s in summary.items():
        print(f"{look:>14} | {s['videos']:6d} | {s['wrong']} | {s['unsure']} | {s['silent']} | {s['changed_8_vs_16']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(args.out, "w") as fh:
        json.dump({"settings": vars(args) | {"out": str(args.out)}, "summary": summary, "rows": rows}, fh, indent=1)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
