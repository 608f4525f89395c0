"""Does a 30 s simulated video render and write in under a minute on one core?

For each case (VISEM's mean density of 21 sperm per frame and its densest, 62; both looks)
one whole video of ``--frames`` frames (default 1470 = 30 s at 49 fps) goes through
``simulate_dataset`` exactly as ``spermtrack simulate`` runs it: motion and labels, rendering,
the JPEG images, the H.264 mp4, the label files and the truth (CASA of every track). The
process is pinned to one CPU core (``os.sched_setaffinity``), so the encoder's threads share it.

Reference in the same run: ``write_video`` of the same number of frames that are already
rendered (one frame repeated), i.e. the cost of the JPEG + mp4 + label writing alone; the
ratio says how much the simulation itself adds. Also printed: the ratio to the one-minute
target and to real time (the video's duration).

    python benchmarks/simulator_speed.py [--frames 1470] [--repeats 1] [--cpu 0]
        [--looks phase,bright,brightfield,negative-phase,random]

``--looks`` picks the looks (default VISEM's two); a ``random`` look draws its own frame size
and head size (printed), so its cost per frame is not comparable with the 640x480 ones.

Prints a table and writes benchmarks/results/simulator_speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from spermtrack.io.visem import write_video
from spermtrack.simulate import simulate_video
from spermtrack.simulate.dataset import simulate_dataset

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_S = 60.0


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def run_case(frames: int, density: float, look: str, seed: int, tmp: Path) -> dict:
    out = tmp / f"d{density:g}_{look}"
    # stages, measured separately on the same video
    video, t_sim, _ = timed(lambda: simulate_video(seed=seed, num_frames=frames, density=density, look=look))
    _, t_render, c_render = timed(lambda: sum(1 for _ in video.frames()))
    load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    # end to end, as the CLI runs it
    _, wall, cpu = timed(
        lambda: simulate_dataset(
            out, n_videos=1, num_frames=frames, seed=seed, density=density, look=look, workers=1, overwrite=True
        )
    )
    shutil.rmtree(out, ignore_errors=True)
    # reference: writing already-rendered frames (JPEG + mp4 + labels) only
    first = video.frame(0)
    _, ref_wall, ref_cpu = timed(
        lambda: write_video(tmp / "ref", "ref", video.boxes, frames=(first for _ in range(frames)), fps=video.fps, overwrite=True)
    )
    shutil.rmtree(tmp / "ref", ignore_errors=True)
    return {
        "frames": frames,
        "density": density,
        "look": look,
        "drawn_look": video.look.name,
        "image_size": list(video.image_size),
        "head_px": video.head_px,
        "boxes": len(video.boxes),
        "simulate_s": t_sim,
        "render_s": t_render,
        "render_ms_per_frame": 1000 * t_render / frames,
        "render_cpu_ms_per_frame": 1000 * c_render / frames,
        "load_average": load0,
        "end_to_end_wall_s": wall,
        "end_to_end_cpu_s": cpu,
        "write_only_reference_wall_s": ref_wall,
        "write_only_reference_cpu_s": ref_cpu,
        "ratio_to_write_only": wall / ref_wall,
        "ratio_to_target": wall / TARGET_S,
        "cpu_ratio_to_target": cpu / TARGET_S,
        "ratio_to_real_time": wall / (frames / video.fps),
    }


def _look_label(r: dict) -> str:
    if r["look"] != "random":
        return r["look"]
    return f"random: {r['drawn_look']} {r['image_size'][0]}x{r['image_size'][1]}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=1470)
    ap.add_argument("--repeats", type=int, default=1, help="runs per case; the fastest is reported")
    ap.add_argument("--cpu", type=int, default=None, help="core to pin to (default: the first allowed one)")
    ap.add_argument("--quick", action="store_true", help="one case (density 21, phase) only")
    ap.add_argument("--looks", default="phase,bright", help="comma-separated looks (default phase,bright)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    pinned = None
    if hasattr(os, "sched_setaffinity"):
        allowed = sorted(os.sched_getaffinity(0))
        pinned = args.cpu if args.cpu is not None else allowed[0]
        os.sched_setaffinity(0, {pinned})
    looks = [x.strip() for x in args.looks.split(",") if x.strip()]
    cases = [(21.0, "phase")] if args.quick else [(d, lk) for d in (21.0, 62.0) for lk in looks]
    # warm-up: Numba compilation and the encoder are not timed
    with tempfile.TemporaryDirectory() as d:
        simulate_dataset(Path(d), n_videos=1, num_frames=3, seed=0, workers=1)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for density, look in cases:
            runs = [run_case(args.frames, density, look, seed=1, tmp=Path(d)) for _ in range(max(1, args.repeats))]
            rows.append(min(runs, key=lambda r: r["end_to_end_wall_s"]))
    print(
        f"\nSimulator speed, one core ({cpu_name()}, pinned to CPU {pinned}), {args.frames} frames per video (640x480 unless said)"
    )
    hdr = (
        f"{'density':>7} {'look':>30} {'boxes':>7} {'sim s':>6} {'render ms/f':>11} {'(cpu)':>6} {'total s':>8} {'cpu s':>7}"
        f" {'write-only s':>12} {'(cpu)':>6} {'x write-only':>12} {'x 60 s':>7} {'(cpu)':>6} {'x real time':>11} {'load':>5}"
    )
    print(hdr)
    for r in rows:
        print(
            f"{r['density']:>7.0f} {_look_label(r):>30} {r['boxes']:>7} {r['simulate_s']:>6.1f} {r['render_ms_per_frame']:>11.1f}"
            f" {r['render_cpu_ms_per_frame']:>6.1f} {r['end_to_end_wall_s']:>8.1f} {r['end_to_end_cpu_s']:>7.1f}"
            f" {r['write_only_reference_wall_s']:>12.1f} {r['write_only_reference_cpu_s']:>6.1f} {r['ratio_to_write_only']:>12.2f}"
            f" {r['ratio_to_target']:>7.2f} {r['cpu_ratio_to_target']:>6.2f} {r['ratio_to_real_time']:>11.2f} {r['load_average']:>5.1f}"
        )
    ok = all(r["end_to_end_wall_s"] < TARGET_S for r in rows)
    ok_cpu = all(r["end_to_end_cpu_s"] < TARGET_S for r in rows)
    print(
        f"target, a 30 s video in under {TARGET_S:.0f} s on one core: wall time {'met' if ok else 'NOT met'}, "
        f"CPU time {'met' if ok_cpu else 'NOT met'} in every case"
    )
    ncpu = os.cpu_count() or 1
    if any(r["load_average"] > ncpu for r in rows):
        print(
            f"note: the machine was loaded (1-min load average above its {ncpu} cores): wall times include waiting for the core"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    result = {
        "cpu": cpu_name(),
        "pinned_cpu": pinned,
        "frames": args.frames,
        "target_s": TARGET_S,
        "target_met_wall": ok,
        "target_met_cpu": ok_cpu,
        "cases": rows,
    }
    with open(args.out / "simulator_speed.json", "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=1)
    print(f"wrote {args.out / 'simulator_speed.json'}")
    return 0 if (ok or ok_cpu) else 1


if __name__ == "__main__":
    np.seterr(all="ignore")
    raise SystemExit(main())
