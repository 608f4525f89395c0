"""How well do spermtrack's tracker and its peers keep identities on simulated sperm videos?

Same detections, same run, for every tracker:

- spermtrack ``track()`` (offline) and ``Tracker`` (streaming), default settings;
- the plain filterpy + SciPy SORT of :mod:`tracker_reference`;
- the peers from the package registry (``pip install 'spermtrack[bench]'``): roboflow
  ``trackers`` SORT, ByteTrack and OC-SORT; ``laptrack`` (LAP linking with gap
  closing); ``trackpy`` (``link_df``). A peer that is not installed is skipped with a note.

Videos: ``spermtrack.simulate.simulate_video`` at 5, 30 and 65 sperm per frame
(``--seeds`` of each, ``--frames`` frames at 50 fps), with the simulator's default
per-donor motility mixes (VISEM-like: mostly immotile cells in focus) or, with
``--motility R,S,N,I``, a fixed mix of rapid, slow, non-progressive and immotile
sperm (e.g. the motile-rich stress mix ``0.5,0.2,0.1,0.2``). Detections:
``spermtrack.detect.GroundTruthDetector`` on the true boxes, in three conditions:
perfect boxes; 10 % missed + 1 false box per frame + 1 px centre jitter; 25 %
missed + 3 false boxes per frame + 2 px jitter (noisy scores: true boxes score
N(0.9, 0.2), false ones N(0.3, 0.2), clipped). Scores: spermtrack.evaluate.tracking
(equal to py-motmetrics and TrackEval), IoU 0.5, class-agnostic, videos combined.

Peer settings (chosen for this data, not tuned per video): IoU trackers get the
lowest IoU threshold of their own search spaces (SORT/ByteTrack 0.05, OC-SORT 0.1)
because fast cells move more than their size between frames; lost-track buffers of
0.3 s (``frame_rate=50``); activation/high-confidence thresholds 0.5. laptrack:
squared-distance cutoff 30 px, gap closing over 5 frames at 30 px. trackpy:
``search_range=30`` px, ``memory=5``, adaptive search (``adaptive_stop=5``). The
point trackers (laptrack, trackpy) link detections scoring >= 0.5 and drop
tracks shorter than 5 frames (``trackpy.filter_stubs`` practice).

Prints one table per condition and writes benchmarks/results/tracker_accuracy[_motile].json.

``--sweep`` instead runs a grid of magnification (µm per pixel of the simulated
motion: 0.125, 0.25, 0.5) x true frame rate (15, 50 fps) x density (30, 65 sperm per
frame), motile-rich mix, 10 % missed + 1 false box per frame: one row per cell with
every tracker's IDF1 on the same detections, spermtrack with self-calibration off
("plain") too, and the largest IDF1 change of ``track()`` when the fps passed is off
by 2x either way (halved or doubled), self-calibrated and plain. Writes
benchmarks/results/tracker_accuracy_sweep.json.

    python benchmarks/tracker_accuracy.py [--frames 500] [--seeds 2] [--skip laptrack,trackpy] [--motility 0.5,0.2,0.1,0.2]
    python benchmarks/tracker_accuracy.py --sweep [--frames 300] [--seeds 1] [--skip laptrack,trackpy]
"""

from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tracker_reference import sort_reference  # noqa: E402

from spermtrack import Boxes, Calibration  # noqa: E402
from spermtrack.atomic import atomic_open  # noqa: E402
from spermtrack.detect.ground_truth import GroundTruthDetector  # noqa: E402
from spermtrack.evaluate import tracking_many  # noqa: E402
from spermtrack.simulate import simulate_video  # noqa: E402
from spermtrack.track import Tracker, TrackerConfig, track  # noqa: E402

FPS = 50.0
DENSITIES = (5, 30, 65)
CONDITIONS = {
    "perfect boxes": {},
    "10% missed, 1 false/frame, 1 px jitter": {"miss": 0.10, "fp_per_frame": 1.0, "jitter_px": 1.0, "score_noise": 0.2},
    "25% missed, 3 false/frame, 2 px jitter": {"miss": 0.25, "fp_per_frame": 3.0, "jitter_px": 2.0, "score_noise": 0.2},
}
POINT_MIN_SCORE = 0.5
STUB_FRAMES = 5


# ---------------------------------------------------------------- trackers
def run_ours(dets: Boxes) -> Boxes:
    return track(dets, FPS)


def run_ours_streaming(dets: Boxes) -> Boxes:
    tracker = Tracker(FPS)
    for _, frame_boxes in dets.iter_frames():
        tracker.update(frame_boxes)
    return tracker.finish().replace(num_frames=dets.num_frames)


def run_reference(dets: Boxes) -> Boxes:
    return sort_reference(dets, max_age=int(0.3 * FPS), min_hits=3, iou_threshold=0.05)


def _roboflow(make):
    def run(dets: Boxes) -> Boxes:
        import supervision as sv

        tracker = make()
        parts = []
        for f, b in dets.iter_frames():
            d = sv.Detections(xyxy=b.xyxy.astype(np.float32), confidence=b.score.astype(np.float32), class_id=b.cls.astype(int))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = tracker.update(d)
            if len(out) == 0 or out.tracker_id is None:
                continue
            keep = np.asarray(out.tracker_id) >= 0
            if not keep.any():
                continue
            xyxy = np.asarray(out.xyxy)[keep]
            parts.append(
                Boxes.from_xyxy(
                    np.full(int(keep.sum()), f), xyxy, track_id=np.asarray(out.tracker_id)[keep], num_frames=dets.num_frames
                )
            )
        return Boxes.concat(parts, num_frames=dets.num_frames)

    return run


def _trackers_sort():
    from trackers import SORTTracker

    return SORTTracker(
        lost_track_buffer=9,
        frame_rate=FPS,
        track_activation_threshold=0.5,
        minimum_consecutive_frames=3,
        minimum_iou_threshold=0.05,
    )


def _trackers_bytetrack():
    from trackers import ByteTrackTracker

    return ByteTrackTracker(
        lost_track_buffer=9,
        frame_rate=FPS,
        track_activation_threshold=0.5,
        minimum_consecutive_frames=2,
        minimum_iou_threshold=0.05,
        high_conf_det_threshold=0.5,
    )


def _trackers_ocsort():
    from trackers import OCSORTTracker

    return OCSORTTracker(
        lost_track_buffer=9, frame_rate=FPS, minimum_consecutive_frames=3, minimum_iou_threshold=0.1, high_conf_det_threshold=0.5
    )


def _point_input(dets: Boxes) -> tuple[Boxes, np.ndarray]:
    keep = dets.score >= POINT_MIN_SCORE
    return dets[keep], np.flatnonzero(keep)


def _drop_stubs(b: Boxes) -> Boxes:
    if len(b) == 0:
        return b
    ids, counts = np.unique(b.track_id, return_counts=True)
    return b[np.isin(b.track_id, ids[counts >= STUB_FRAMES])]


def run_laptrack(dets: Boxes) -> Boxes:
    import pandas as pd
    from laptrack import LapTrack

    d, _ = _point_input(dets)
    df = pd.DataFrame({"frame": d.frame.astype(int), "x": d.cx.astype(float), "y": d.cy.astype(float)})
    lt = LapTrack(
        cutoff=30.0**2, gap_closing_cutoff=30.0**2, gap_closing_max_frame_count=5, splitting_cutoff=False, merging_cutoff=False
    )
    track_df, _, _ = lt.predict_dataframe(df, ["x", "y"], only_coordinate_cols=False)
    track_df = track_df.sort_values(["frame", "index"]) if "index" in track_df.columns else track_df
    ids = np.full(len(d), -1, np.int64)
    ids[track_df["index"].to_numpy() if "index" in track_df.columns else np.arange(len(d))] = track_df["track_id"].to_numpy()
    return _drop_stubs(d.replace(track_id=ids))


def run_trackpy(dets: Boxes) -> Boxes:
    import logging

    import pandas as pd
    import trackpy

    logging.getLogger("trackpy").setLevel(logging.WARNING)
    trackpy.quiet()
    d, _ = _point_input(dets)
    df = pd.DataFrame({"frame": d.frame.astype(int), "x": d.cx.astype(float), "y": d.cy.astype(float), "row": np.arange(len(d))})
    t = trackpy.link_df(df, search_range=30.0, memory=5, adaptive_stop=5.0, adaptive_step=0.9)
    ids = np.full(len(d), -1, np.int64)
    ids[t["row"].to_numpy()] = t["particle"].to_numpy()
    return _drop_stubs(d.replace(track_id=ids))


TRACKERS = {
    "spermtrack track()": run_ours,
    "spermtrack Tracker (streaming)": run_ours_streaming,
    "reference SORT (filterpy+SciPy)": run_reference,
    "trackers SORT": _roboflow(_trackers_sort),
    "trackers ByteTrack": _roboflow(_trackers_bytetrack),
    "trackers OC-SORT": _roboflow(_trackers_ocsort),
    "laptrack": run_laptrack,
    "trackpy": run_trackpy,
}
MODULE_OF = {"trackers": "trackers", "laptrack": "laptrack", "trackpy": "trackpy"}


def motility_arg(text: str) -> list[float]:
    """``"0.5,0.2,0.1,0.2"`` -> the four WHO fractions (rapid, slow, non-progressive, immotile)."""
    vals = [float(v) for v in text.split(",")]
    if len(vals) != 4 or min(vals) < 0 or sum(vals) <= 0:
        raise argparse.ArgumentTypeError("--motility takes four non-negative fractions R,S,N,I")
    return vals


def available(name: str) -> str | None:
    """None when the tracker can run, else why not."""
    for key, module in MODULE_OF.items():
        if name.startswith(key):
            try:
                __import__(module)
            except ImportError:
                return f"not installed (pip install 'spermtrack[bench]' for {module})"
    return None


SWEEP_UM_PER_PX = (0.125, 0.25, 0.5)
SWEEP_FPS = (15.0, 50.0)
SWEEP_DENSITIES = (30, 65)
SWEEP_MIX = [0.5, 0.2, 0.1, 0.2]
SWEEP_CONDITION = "10% missed, 1 false/frame, 1 px jitter"


def sweep(args, skip) -> int:
    """Magnification x fps x density grid (see the module docstring)."""
    out = Path(args.out) if args.out else Path(__file__).resolve().parent / "results" / "tracker_accuracy_sweep.json"
    kw = CONDITIONS[SWEEP_CONDITION]
    plain = TrackerConfig(self_calibrate=False)
    rows = []
    names = [
        n
        for n in TRACKERS
        if n != "spermtrack Tracker (streaming)" and not any(n.startswith(x) for x in skip) and available(n) is None
    ]
    print("| µm/px | true fps | density | " + " | ".join(names) + " | plain track() | ΔIDF1 fps x0.5/x2 (calibrated) | (plain) |")
    print("|---:|---:|---:|" + "---:|" * (len(names) + 3))
    for um in SWEEP_UM_PER_PX:
        for fps in SWEEP_FPS:
            for density in SWEEP_DENSITIES:
                vids = []
                for sd in range(args.seeds):
                    seed = 7000 + 100 * density + sd
                    gt = simulate_video(
                        seed=seed, num_frames=args.frames, density=density, motility=SWEEP_MIX, calibration=Calibration(um, fps)
                    ).boxes
                    vids.append((gt, GroundTruthDetector(gt, seed=seed, **kw).degrade()))

                def score(fn, vids=vids) -> float:
                    return tracking_many({i: (gt, fn(d)) for i, (gt, d) in enumerate(vids)}, per_class=False).idf1

                row = {"um_per_px": um, "fps": fps, "density": density, "idf1": {}}
                for name in names:
                    fn = TRACKERS[name]
                    if name == "spermtrack track()":
                        fn = lambda d, fps=fps: track(d, fps)  # noqa: E731 - the true rate, not the module's 50
                    row["idf1"][name] = score(fn)
                row["idf1"]["plain track()"] = score(lambda d, fps=fps: track(d, fps, plain))
                for label, cfg in (("calibrated", None), ("plain", plain)):
                    base = score(lambda d, fps=fps, cfg=cfg: track(d, fps, cfg))
                    row[f"fps_off_2x_delta_{label}"] = max(
                        abs(score(lambda d, f=f, cfg=cfg: track(d, f, cfg)) - base) for f in (fps / 2, fps * 2)
                    )
                rows.append(row)
                cells = " | ".join(f"{row['idf1'].get(n, float('nan')):.3f}" for n in names)
                print(
                    f"| {um} | {fps:.0f} | {density} | {cells} | {row['idf1']['plain track()']:.3f} | "
                    f"{row['fps_off_2x_delta_calibrated']:.3f} | {row['fps_off_2x_delta_plain']:.3f} |",
                    flush=True,
                )
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(out) as fh:
        json.dump({"benchmark": "tracker_accuracy_sweep", "frames": args.frames, "seeds": args.seeds,
                   "condition": SWEEP_CONDITION, "motility": SWEEP_MIX, "rows": rows}, fh, indent=2)  # fmt: skip
    print(f"wrote {out}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=500)
    ap.add_argument("--sweep", action="store_true", help="magnification x fps x density grid (see above)")
    ap.add_argument("--seeds", type=int, default=2, help="videos per density")
    ap.add_argument("--skip", default="", help="comma-separated name prefixes of trackers to skip")
    ap.add_argument("--motility", type=motility_arg, default=None, help="R,S,N,I fractions of the sperm in focus")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    skip = [s.strip() for s in args.skip.split(",") if s.strip()]
    if args.sweep:
        return sweep(args, skip)
    name = "tracker_accuracy" + ("_motile" if args.motility else "") + ".json"
    out = Path(args.out) if args.out else Path(__file__).resolve().parent / "results" / name
    mix = "simulate's default per-donor mixes (VISEM-like)" if args.motility is None else f"fixed {args.motility}"
    print(f"motility (rapid, slow, non-progressive, immotile): {mix}", flush=True)

    # warm the JIT so the first video's timing is not compilation
    run_ours(simulate_video(seed=0, num_frames=30, density=5).boxes)
    run_ours_streaming(simulate_video(seed=0, num_frames=30, density=5).boxes)

    videos = {}
    for density in DENSITIES:
        for s in range(args.seeds):
            seed = 1000 * density + s
            video = simulate_video(seed=seed, num_frames=args.frames, density=density, motility=args.motility)
            videos[f"d{density}s{s}"] = (seed, video.boxes)

    results = {
        "benchmark": "tracker_accuracy",
        "frames": args.frames,
        "seeds": args.seeds,
        "fps": FPS,
        "motility": args.motility,
        "conditions": {},
        "skipped": {},
    }
    for cond, kw in CONDITIONS.items():
        dets = {}
        for vid, (seed, gt) in videos.items():
            dets[vid] = (
                GroundTruthDetector(gt, seed=seed, **kw).degrade() if kw else gt.replace(track_id=np.full(len(gt), -1, np.int64))
            )
        rows = []
        for name, fn in TRACKERS.items():
            if any(name.startswith(s) for s in skip):
                continue
            why = available(name)
            if why:
                results["skipped"][name] = why
                continue
            pairs, seconds, frames = {}, 0.0, 0
            for vid, (_, gt) in videos.items():
                t0 = time.perf_counter()
                hyp = fn(dets[vid])
                seconds += time.perf_counter() - t0
                frames += gt.num_frames
                pairs[vid] = (gt, hyp)
            sc = tracking_many(pairs, per_class=False)
            row = {
                "tracker": name,
                "MOTA": sc.mota,
                "IDF1": sc.idf1,
                "HOTA": sc.hota,
                "IDSW": int(sc.idsw),
                "FP": int(sc.fp),
                "FN": int(sc.fn),
                "fps": frames / seconds,
            }
            rows.append(row)
            print(
                f"[{cond}] {name:32s} MOTA {sc.mota:.3f} IDF1 {sc.idf1:.3f} HOTA {sc.hota:.3f} IDSW {sc.idsw:5d} {row['fps']:>9,.0f} fps",
                flush=True,
            )
        results["conditions"][cond] = rows
        print(f"\n### {cond}\n")
        print("| tracker | MOTA | IDF1 | HOTA | ID switches | frames/s |")
        print("|---|---:|---:|---:|---:|---:|")
        for r in rows:
            print(f"| {r['tracker']} | {r['MOTA']:.3f} | {r['IDF1']:.3f} | {r['HOTA']:.3f} | {r['IDSW']} | {r['fps']:,.0f} |")
        print(flush=True)
    for name, why in results["skipped"].items():
        print(f"skipped {name}: {why}")
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(out) as fh:
        json.dump(results, fh, indent=2)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
