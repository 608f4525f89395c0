"""Videos per minute of ``spermtrack batch`` on Dask with 1, 2 and 4 workers.

Simulates ``--videos`` seeded videos (640x480, ``--frames`` frames each, VISEM-like
density), then analyses them:

- reference: a plain sequential loop calling ``analyze(...).save(...)`` in this process
  (no Dask), the same work a user would script by hand;
- ``run_batch`` on a local Dask cluster with 1, 2 and 4 worker processes
  (one thread each), cluster start-up included.

Prints videos per minute, frames per second and the speed-up over the reference,
and writes benchmarks/results/batch_scaling.json. On a machine with C cores the
speed-up levels off near C (this benchmark's own numbers in docs/batch.md were
measured on 2 cores). Run it on a bigger machine, or point ``--scheduler`` at a
running Dask cluster, to measure more:

    python benchmarks/batch_scaling.py [--videos 8] [--frames 150] [--detector classical]
        [--workers 1 2 4] [--scheduler tcp://host:8786] [--overlay]
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

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=8)
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--density", type=float, default=30.0, help="sperm per frame")
    ap.add_argument("--detector", default="classical")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--scheduler", default=None, help="also run on this Dask scheduler")
    ap.add_argument("--overlay", action="store_true", help="also render overlay videos and reports (slower)")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--out", type=Path, default=RESULTS / "batch_scaling.json")
    args = ap.parse_args(argv)

    from spermtrack.analysis import AnalysisConfig, analyze
    from spermtrack.batch import expand_inputs, run_batch
    from spermtrack.simulate import simulate_dataset

    work = Path(tempfile.mkdtemp(prefix="spermtrack-batch-bench-"))
    try:
        root = work / "videos"
        t0 = time.perf_counter()
        simulate_dataset(root, n_videos=args.videos, num_frames=args.frames, seed=args.seed, density=args.density, mp4=True)
        print(f"simulated {args.videos} videos x {args.frames} frames in {time.perf_counter() - t0:.1f} s")
        sources = [root / v / f"{v}.mp4" for v in sorted(os.listdir(root)) if (root / v / f"{v}.mp4").is_file()]
        options = AnalysisConfig(detector=args.detector, outputs={"overlay": args.overlay, "report": args.overlay})
        total_frames = args.videos * args.frames

        rows = []
        # Reference: a sequential loop in this process.
        out = work / "seq"
        t0 = time.perf_counter()
        for src in expand_inputs(sources):
            a = analyze(src, options)
            a.save(out / src.stem)
        ref = time.perf_counter() - t0
        rows.append(("sequential loop (reference)", 1, ref))

        configs = [(f"dask local, {w} worker{'s' if w > 1 else ''}", w, None) for w in args.workers]
        if args.scheduler:
            configs.append((f"dask scheduler {args.scheduler}", None, args.scheduler))
        for label, w, scheduler in configs:
            out = work / f"dask_{w or 'remote'}"
            t0 = time.perf_counter()
            res = run_batch(sources, out, options, scheduler=scheduler, workers=w, progress=False)
            dt = time.perf_counter() - t0
            if res.counts.get("done") != len(sources):
                raise SystemExit(f"{label}: not every video finished: {res.counts}")
            rows.append((label, w, dt))
            shutil.rmtree(out, ignore_errors=True)

        print()
        print(f"{len(sources)} videos x {args.frames} frames, detector {args.detector}, {os.cpu_count()} CPU cores")
        print(f"{'configuration':<34}{'seconds':>9}{'videos/min':>12}{'frames/s':>10}{'speed-up':>10}")
        result_rows = []
        for label, w, dt in rows:
            vpm, fps, speedup = 60.0 * len(sources) / dt, total_frames / dt, ref / dt
            print(f"{label:<34}{dt:>9.1f}{vpm:>12.2f}{fps:>10.1f}{speedup:>9.2f}x")
            result_rows.append(
                {
                    "configuration": label,
                    "workers": w,
                    "seconds": dt,
                    "videos_per_min": vpm,
                    "frames_per_s": fps,
                    "speedup": speedup,
                }
            )
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps(
                {
                    "benchmark": "batch_scaling",
                    "videos": len(sources),
                    "frames_per_video": args.frames,
                    "density": args.density,
                    "detector": args.detector,
                    "overlay_and_report": args.overlay,
                    "cpu_count": os.cpu_count(),
                    "cpu": platform.processor() or platform.machine(),
                    "rows": result_rows,
                },
                indent=1,
            )
        )
        print(f"\nwrote {args.out}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
