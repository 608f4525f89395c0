"""Scale search by the model's own confidence: sperm AP@0.5 at each fixed scale factor, and the search's choice.

For every row of ``benchmarks/detector_looks.py`` (simulated looks and the real VISEM frames
as recorded, inverted and rescaled) this runs the default detector (``auto``: shipped model,
self-calibration, fusion) with the mapping scale multiplied by each factor of ``--factors``
(no search: the blob-based scale x factor), and records the model's confidence score at each
factor on the first frames of each video (:func:`spermtrack.detect.normalize.scale_confidence`,
what the search compares). It then prints, for candidate sets and margins, the AP a search
would reach (each video's detections taken at the factor the rule chooses: ``"confidence"``,
the model most confident; ``"size"``, the model's own boxes closest to its trained size, see
:func:`spermtrack.detect.normalize.choose_factor`), next to the blob-based scale (factor 1)
and each fixed factor.

    python benchmarks/detector_scale.py [--frames 20] [--videos 2] [--cases ...] [--cache PICKLE] [--quick]
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
from pathlib import Path

import numpy as np
from detector_looks import SIM_CASES, _shifted, default_real, real_cases, sperm_ap50

from spermtrack.boxes import Boxes
from spermtrack.detect import get_detector, run_detector
from spermtrack.detect.normalize import choose_factor
from spermtrack.detect.registry import DEFAULT_MODEL_HEAD_PX

RESULTS = Path(__file__).resolve().parent / "results"
FACTORS = (0.6, 0.71, 0.84, 1.0, 1.19, 1.41, 1.68)
#: (label, candidate factors, rule, margin[, tolerance]) of the search rules compared.
RULES = [
    ("confidence, x0.71/x1/x1.41, margin 1.1", (0.71, 1.0, 1.41), "confidence", 1.1),
    ("confidence, x0.71/x1/x1.41, margin 1.0", (0.71, 1.0, 1.41), "confidence", 1.0),
    ("confidence, x0.71/x1/x1.41, margin 1.25", (0.71, 1.0, 1.41), "confidence", 1.25),
    ("confidence, x0.84/x1/x1.19, margin 1.1", (0.84, 1.0, 1.19), "confidence", 1.1),
    ("confidence, 5 log-spaced x0.71-x1.41, margin 1.1", (0.71, 0.84, 1.0, 1.19, 1.41), "confidence", 1.1),
    ("confidence, 7 log-spaced x0.6-x1.68, margin 1.1", FACTORS, "confidence", 1.1),
    ("size, x0.71/x1/x1.41", (0.71, 1.0, 1.41), "size", 1.0),
    ("size, 5 log-spaced x0.71-x1.41", (0.71, 0.84, 1.0, 1.19, 1.41), "size", 1.0),
    ("size, 7 log-spaced x0.6-x1.68 (the default since stage 6: the walk ends there too)", FACTORS, "size", 1.0),
    ("size, 7, only when > 1.4x off (the default before stage 6)", FACTORS, "size", 1.0, 1.4),
    ("size, 7, only when > 1.3x off", FACTORS, "size", 1.0, 1.3),
    ("size, 7, only when > 1.25x off", FACTORS, "size", 1.0, 1.25),
    ("size, 7, only when > 1.15x off", FACTORS, "size", 1.0, 1.15),
]


def collect(videos, factors) -> list[dict]:
    """Per video: the search scores at every factor and the fused detections at every fixed factor."""
    out = []
    for frames, gt in videos:
        # the confidence rule runs every candidate (the size rule walks from x1 and stops early);
        # each candidate's confidence and model box side are what both rules read
        d = get_detector(
            "auto", conf=0.001, scale_factors=factors, scale_rule="confidence", scale_margin=1.0, scale_tolerance=1.0
        )
        run_detector(d, frames[: min(len(frames), 8)], batch_size=8)
        scores = {f: c for f, c, _ in d.look.scale_search}
        sides = {f: (np.nan if s is None else s) for f, _, s in d.look.scale_search}
        dets = {}
        for f in factors:
            dets[f] = run_detector(get_detector("auto", conf=0.001, scale_factors=(f,)), frames, batch_size=8)
        out.append({"gt": gt.replace(num_frames=len(frames)), "n": len(frames), "scores": scores, "sides": sides, "dets": dets})
    return out


def pooled_ap(vids: list[dict], pick) -> float:
    gts, dets, off = [], [], 0
    for v in vids:
        f = pick(v)
        gts.append(_shifted(v["gt"], off))
        dets.append(_shifted(v["dets"][f].replace(num_frames=v["n"]), off))
        off += v["n"]
    return sperm_ap50(Boxes.concat(gts, num_frames=off), Boxes.concat(dets, num_frames=off))


def choose(v: dict, cands, rule: str, margin: float, tol: float = 1.0) -> float:
    """The factor a search over ``cands`` would keep for video ``v`` (the detector's own rule).

    ``tol`` > 1: the size rule's check first (keep factor 1 when the model's boxes there are
    within ``tol`` of its trained size), as :class:`~spermtrack.detect.normalize.CalibratedDetector`.
    """
    s1 = v["sides"].get(1.0, np.nan)
    if rule == "size" and tol > 1.0 and s1 == s1 and abs(np.log(s1 / DEFAULT_MODEL_HEAD_PX)) <= np.log(tol):
        return 1.0
    return choose_factor(
        cands, [v["scores"][f] for f in cands], [v["sides"][f] for f in cands], DEFAULT_MODEL_HEAD_PX, rule, margin
    )


def _load(path: Path) -> dict:
    """The pickled cache (Boxes refuse attribute setting, which unpickling does)."""
    keep = Boxes.__setattr__
    Boxes.__setattr__ = object.__setattr__
    try:
        return pickle.loads(path.read_bytes())
    finally:
        Boxes.__setattr__ = keep


def main(argv=None) -> int:
    from spermtrack.simulate import simulate_video

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--videos", type=int, default=2)
    ap.add_argument("--cases", default=None, help="comma-separated substrings: only the cases whose label holds one")
    ap.add_argument("--quick", action="store_true", help="smoke run: one simulated case, 4 frames, 1 video, no real rows")
    ap.add_argument("--cache", type=Path, default=None, help="pickle of the collected detections (reused when present)")
    ap.add_argument("--out", type=Path, default=RESULTS / "detector_scale.json")
    args = ap.parse_args(argv)
    if args.quick:
        args.cases, args.frames, args.videos = "phase 12px", 4, 1
    wanted = [c.strip() for c in args.cases.split(",")] if args.cases else None
    data = _load(args.cache) if args.cache and args.cache.is_file() else {}
    rows = [(label, "sim", (look, hp, size)) for label, look, hp, size, _ in SIM_CASES]
    real = {} if args.quick else real_cases(default_real())
    rows += [(label, "real", None) for label in real]
    for label, kind, spec in rows:
        if (wanted and not any(w in label for w in wanted)) or label in data:
            continue
        t0 = time.process_time()
        if kind == "sim":
            look, hp, size = spec
            vids = []
            for k in range(args.videos):
                v = simulate_video(seed=900 + 17 * k, num_frames=args.frames, look=look, head_px=hp, image_size=size)
                vids.append((np.stack(list(v.frames())), v.boxes))
        else:
            vids = real[label][0]
        data[label] = collect(vids, FACTORS)
        print(label, f"{time.process_time() - t0:.0f} s CPU", flush=True)
        if args.cache:
            args.cache.write_bytes(pickle.dumps(data))
    table = {}
    for label, vids in data.items():
        r = {f"x{f}": round(pooled_ap(vids, lambda v, f=f: f), 3) for f in FACTORS}
        for name, cands, rule, margin, *tol in RULES:
            t = tol[0] if tol else 1.0
            r[name] = round(pooled_ap(vids, lambda v, c=cands, ru=rule, m=margin, t=t: choose(v, c, ru, m, t)), 3)
            r[name + " (choices)"] = [choose(v, cands, rule, margin, t) for v in vids]
        table[label] = r
        print(label, r, flush=True)
    sims = [k for k in table if not k.startswith("real")]
    for col in [f"x{f}" for f in FACTORS] + [r[0] for r in RULES]:
        sm = np.mean([table[k][col] for k in sims])
        worst = min(table[k][col] - table[k]["x1.0"] for k in sims)
        reals = " ".join(f"{table[k][col]:.3f}" for k in table if k.startswith("real"))
        print(f"| {col} | sim mean {sm:.3f} | worst {worst:+.3f} | real {reals} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(table, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
