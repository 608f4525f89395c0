"""How widely does detection hold? Sperm AP@0.5 over many randomly drawn microscopes, and the warnings.

``detector_looks.py`` scores 8 fixed looks; a lab's microscope is one draw from a much wider
space. This script draws ``--videos`` videos per look family of the simulator (phase contrast,
VISEM's light look, bright field, negative phase contrast), each with its own random look and
camera (:func:`spermtrack.simulate.look.random_look`: optics, noise, vignetting, tone curve,
colour cast, resampling, H.264, distractors), a frame size drawn as ``look="random"`` draws it
(:data:`~spermtrack.simulate.video.RANDOM_SIZES`), a head box side log-uniform in
``--head-px`` (default 11-22 px, around the 15-17-px heads of the other labs' bright-field
recordings of issue 13) and a density log-uniform in 5-70 sperm per frame, and prints for each

- the sperm AP@0.5 (every frame, conf 0.001) of the default detector (``--detector auto``), the
  classical detector and the threshold baseline of ``detector_looks.py`` (told the polarity);
- ``default_centres``: the default's AP with every box, label and detection, replaced by a
  square of the video's median label side around its centre, so that only where it puts the
  heads counts, not how large it boxes them (what tracking and kinematics use: a head found
  at the right place in a box 1.5x too large fails IoU 0.5 but tracks as well);
- the warnings ``analyze`` gives on the same frames at the video's true µm per pixel (so the
  physical head-size check runs and the uncalibrated motion check does not): does the "never
  silently wrong" promise hold, i.e. do the poorly read videos warn and the well read ones not?

and per family the mean, 10th percentile and minimum of each detector, how often the default
loses to the threshold baseline, the median ratio of the default's box side to the label's (on
its confident boxes that overlap a label) and on how many videos it is off by more than 1.25x
either way (boxes that size a head wrongly fail IoU 0.5 wherever they are), and how often a
warning fired among the videos the default reads poorly (AP < 0.6) and well (AP >= 0.8). The worst videos are listed with their seeds;
``--seeds S1,S2`` re-runs only those (same draws), ``--frame-png DIR`` writes their first frame
with the labels (green) and the default's boxes of score >= 0.3 (blue).

``--model PATH.onnx`` scores a candidate model in the "default" column instead of the shipped
one, behind the same self-calibration, scale search, fusion, hedge and size prior (as
``detector_looks.py --model`` does, so compare it with the shipped model run the same way:
``--model spermtrack/data/spermyolo_p3.onnx``); the warnings are not measured then (``analyze``
runs the shipped model), and the results go to ``--out`` (default
``results/detector_random_looks_<model name>.json``).

    python benchmarks/detector_random_looks.py [--videos 24] [--frames 8] [--base-seed 71000] [--quick]
    python benchmarks/detector_random_looks.py --model runs/stage10/best.onnx --out /tmp/stage10.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import cv2
import numpy as np

from spermtrack.algorithms.iou import iou_matrix
from spermtrack.analysis import analyze
from spermtrack.boxes import SPERM
from spermtrack.detect import get_detector, run_detector
from spermtrack.simulate import simulate_video
from spermtrack.simulate.look import DARK_HEAD_LOOKS, LOOKS, random_look
from spermtrack.simulate.video import RANDOM_SIZES

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detector_looks import MODEL, ThresholdBaseline, add_model_arguments, default_detector, sperm_ap50, use_model

RESULTS = Path(__file__).resolve().parent / "results" / "detector_random_looks.json"
#: A video the default reads with AP below this is "poor", at or above GOOD "good".
POOR, GOOD = 0.6, 0.8
#: Seeds: family k's video i has seed BASE_SEED + 1000 k + i (``--base-seed`` draws another set).
BASE_SEED = 71000


def draw(seed: int, family: str, head_px: tuple[float, float]) -> dict:
    """The random parameters of one video (a pure function of its seed and family)."""
    rng = np.random.default_rng(seed)
    sizes = list(RANDOM_SIZES)
    size = sizes[int(rng.choice(len(sizes), p=np.array([RANDOM_SIZES[s] for s in sizes])))]
    hp = float(np.exp(rng.uniform(np.log(head_px[0]), np.log(head_px[1]))))
    density = float(np.exp(rng.uniform(np.log(5.0), np.log(70.0))))
    return {
        "seed": seed,
        "family": family,
        "size": size,
        "head_px": hp,
        "density": density,
        "look": random_look(rng, size, family),
    }


def warnings_of(frames: np.ndarray, um_per_px: float, fps: float) -> list[str]:
    """The detection warnings ``analyze`` gives on ``frames`` at the true scale (not the uncalibrated notes)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = analyze(frames, um_per_px=um_per_px, fps=fps)
    return [w for w in a.warnings if "ncalibrated" not in w]


def score_video(params: dict, n_frames: int) -> tuple[dict, np.ndarray, object]:
    """AP of the three detectors and the warnings on one drawn video (no warnings, None, with ``--model``)."""
    v = simulate_video(
        seed=params["seed"], num_frames=n_frames, look=params["look"], head_px=params["head_px"],
        image_size=params["size"], density=params["density"],
    )  # fmt: skip
    frames = np.stack(list(v.frames()))
    gt = v.boxes.replace(num_frames=len(frames))
    dark = params["family"] in DARK_HEAD_LOOKS
    row = {k: params[k] for k in ("seed", "family", "density")}
    row.update(size=list(params["size"]), head_px=round(params["head_px"], 1), sperm_boxes=int((gt.cls == SPERM).sum()))
    makers = {
        "default": default_detector,  # get_detector("auto", conf=0.001), or the --model candidate
        "classical": lambda: get_detector("classical"),
        "threshold": lambda: ThresholdBaseline(dark),
    }
    default_boxes = None
    for name, make in makers.items():
        t0 = time.process_time()
        det = run_detector(make(), frames, batch_size=8)
        row[name] = round(sperm_ap50(gt, det.replace(num_frames=len(frames))), 3)
        row[name + "_cpu_ms_per_frame"] = round(1000 * (time.process_time() - t0) / len(frames), 1)
        default_boxes = det if name == "default" else default_boxes
    row["default_box_ratio"] = box_size_ratio(gt, default_boxes)
    sperm = gt.cls == SPERM
    if sperm.any():  # where the heads are, whatever size the boxes say (what tracking uses)
        side = float(np.median(gt.side[sperm]))
        row["default_centres"] = round(
            sperm_ap50(centred(gt, side), centred(default_boxes, side).replace(num_frames=len(frames))), 3
        )
    row["warnings"] = None if MODEL else warnings_of(frames, float(v.calibration.um_per_px), float(v.fps))
    row["density"] = round(row["density"], 1)
    return row, frames, (gt, default_boxes)


def centred(b, side: float):
    """``b`` with every box replaced by a square of ``side`` px around its centre (sizes taken out of the match)."""
    h = np.float32(side / 2)
    return b.replace(x1=b.cx - h, y1=b.cy - h, x2=b.cx + h, y2=b.cy + h)


def box_size_ratio(gt, det, min_score: float = 0.3) -> float | None:
    """Median side ratio (default's box / label) of the confident sperm boxes that overlap a label
    (IoU >= 0.2, each to the label it overlaps most): above 1 the boxes are too large, below too small."""
    ratios = []
    for f in np.unique(gt.frame[gt.cls == SPERM]):
        g = gt.filter((gt.frame == f) & (gt.cls == SPERM))
        d = det.filter((det.frame == f) & (det.cls == SPERM) & (det.score >= min_score))
        if not len(d):
            continue
        iou = iou_matrix(d.xyxy, g.xyxy)
        best = iou.argmax(1)
        ok = iou[np.arange(len(d)), best] >= 0.2
        ratios += list(d.side[ok] / g.side[best[ok]])
    return round(float(np.median(ratios)), 3) if ratios else None


def draw_png(path: Path, frame: np.ndarray, gt, det) -> None:
    """The first frame with the labels (green) and the default's confident boxes (blue)."""
    img = frame.copy()
    for b, colour in (
        (gt.filter((gt.frame == 0) & (gt.cls == SPERM)), (0, 200, 0)),
        (det.filter((det.frame == 0) & (det.score >= 0.3)), (255, 0, 0)),
    ):
        for x1, y1, x2, y2 in np.stack([b.x1, b.y1, b.x2, b.y2], 1).round().astype(int):
            cv2.rectangle(img, (int(x1), int(y1)), (int(x2), int(y2)), colour, 1)
    cv2.imwrite(str(path), img)


def summarise(rows: list[dict]) -> dict:
    """Per family (and all): mean / p10 / min AP of each detector, losses to the baseline, warnings by quality
    (None where the warnings were not measured: ``--model``)."""
    measured = all(r["warnings"] is not None for r in rows)

    def warned(rs: list[dict]) -> int | None:
        return sum(bool(r["warnings"]) for r in rs) if measured else None

    out = {}
    for fam in [*LOOKS, "all"]:
        rs = [r for r in rows if fam in ("all", r["family"])]
        if not rs:
            continue
        s = {"videos": len(rs)}
        for name in ("default", "classical", "threshold"):
            a = np.array([r[name] for r in rs])
            s[name] = {
                "mean": round(float(a.mean()), 3),
                "p10": round(float(np.percentile(a, 10)), 3),
                "min": round(float(a.min()), 3),
            }
        ratios = np.array([r["default_box_ratio"] for r in rs if r["default_box_ratio"] is not None])
        c = np.array([r["default_centres"] for r in rs if "default_centres" in r])
        s["default_centres_mean"] = round(float(c.mean()), 3) if len(c) else None
        s["default_box_ratio_median"] = round(float(np.median(ratios)), 3) if len(ratios) else None
        s["default_box_size_off"] = int(((ratios < 0.8) | (ratios > 1.25)).sum())
        s["default_below_threshold"] = sum(r["default"] < r["threshold"] for r in rs)
        s["default_below_classical"] = sum(r["default"] < r["classical"] for r in rs)
        poor = [r for r in rs if r["default"] < POOR]
        good = [r for r in rs if r["default"] >= GOOD]
        poor_c = [r for r in rs if r.get("default_centres", 1.0) < POOR]  # heads missed, not just sized wrongly
        s["poor_centres"], s["poor_centres_warned"] = len(poor_c), warned(poor_c)
        s["poor"] = len(poor)
        s["poor_warned"] = warned(poor)
        s["good"] = len(good)
        s["good_warned"] = warned(good)
        out[fam] = s
    return out


def print_summary(summary: dict) -> None:
    print("\n| family | videos | default mean / p10 / min | default, centres only: mean | classical mean | threshold mean | default < threshold | "
          f"default box / label side, median (videos off by > 1.25x) | poor (AP < {POOR}): warned | good (AP >= {GOOD}): warned |")  # fmt: skip
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for fam, s in summary.items():
        d = s["default"]
        print(
            f"| {fam} | {s['videos']} | {d['mean']:.3f} / {d['p10']:.3f} / {d['min']:.3f} | {s['default_centres_mean']} | {s['classical']['mean']:.3f} | "
            f"{s['threshold']['mean']:.3f} | {s['default_below_threshold']} | {s['default_box_ratio_median']} ({s['default_box_size_off']}) | "
            f"{'n/a' if s['poor_warned'] is None else s['poor_warned']} of {s['poor']} | "
            f"{'n/a' if s['good_warned'] is None else s['good_warned']} of {s['good']} |"
        )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=24, help="videos per look family")
    ap.add_argument("--frames", type=int, default=8, help="frames per video")
    ap.add_argument("--families", default=",".join(LOOKS), help=f"comma-separated, of {LOOKS}")
    ap.add_argument("--head-px", default="11,22", help="range of the head box side, px (log-uniform)")
    ap.add_argument(
        "--base-seed",
        type=int,
        default=BASE_SEED,
        help="family k's video i has seed BASE + 1000 k + i (another base: another set)",
    )
    ap.add_argument(
        "--seeds", default=None, help="comma-separated seeds: only these videos (as listed by a run; nothing is written to --out)"
    )
    ap.add_argument("--frame-png", type=Path, default=None, help="folder for the first frame of each video, boxes drawn")
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 video per family, 2 frames")
    ap.add_argument("--out", type=Path, default=None, help=f"results JSON (default {RESULTS.name})")
    add_model_arguments(ap)
    args = ap.parse_args(argv)
    use_model(ap, args)
    if args.out is None:
        args.out = RESULTS if args.model is None else RESULTS.with_name(f"{RESULTS.stem}_{args.model.stem}.json")
    families = [f.strip() for f in args.families.split(",")]
    unknown = sorted(set(families) - set(LOOKS))
    if unknown:
        ap.error(f"--families: unknown {unknown}; choose from {list(LOOKS)}")
    try:
        lo, hi = (float(x) for x in args.head_px.split(","))
        assert 4 <= lo <= hi <= 80
    except (ValueError, AssertionError):
        ap.error(f"--head-px: give LO,HI in px with 4 <= LO <= HI <= 80, got {args.head_px!r}")
    n_videos, n_frames = (1, 2) if args.quick else (args.videos, args.frames)
    base = args.base_seed
    plan = [(base + 1000 * LOOKS.index(f) + i, f) for f in families for i in range(n_videos)]
    if args.seeds:
        wanted = {int(s) for s in args.seeds.split(",")}
        plan = [(s, LOOKS[(s - base) // 1000]) for s in sorted(wanted) if 0 <= (s - base) // 1000 < len(LOOKS)]
        if not plan:
            ap.error(f"--seeds: none of {sorted(wanted)} is a seed of this script (family k, video i: {base} + 1000 k + i)")
    if args.frame_png:
        args.frame_png.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed, fam in plan:
        params = draw(seed, fam, (lo, hi))
        row, frames, (gt, det) = score_video(params, n_frames)
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if not k.endswith("_ms_per_frame")}), flush=True)
        if args.frame_png:
            draw_png(args.frame_png / f"{fam}_{seed}.png", frames[0], gt, det)
    summary = summarise(rows)
    print_summary(summary)
    worst = sorted(rows, key=lambda r: r["default"])[:5]
    print("\nworst videos (re-run with --seeds ... --frame-png DIR):")
    for r in worst:
        print(f"  seed {r['seed']} {r['family']} {r['size'][0]}x{r['size'][1]} head {r['head_px']} px: default {r['default']:.3f}, "
              f"classical {r['classical']:.3f}, threshold {r['threshold']:.3f}, warnings {'n/a' if r['warnings'] is None else len(r['warnings'])}")  # fmt: skip
    if not args.seeds:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"videos_per_family": n_videos, "frames": n_frames, "head_px": [lo, hi], "base_seed": base,
                                        "model": str(args.model) if args.model else "shipped",
                                        "summary": summary, "rows": rows}, indent=1))  # fmt: skip
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
