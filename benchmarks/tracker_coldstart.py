"""How long does the tracker take on its first use after a fresh install (Numba compilation)?

Each measurement runs in a new Python process with an empty Numba cache
(``NUMBA_CACHE_DIR`` set to a new temporary folder), as right after
``pip install``, and times, on a small simulated video (60 frames, 30 sperm per
frame, detections with missed and false boxes):

- ``stream``: the first streaming run as ``spermtrack analyze`` / ``demo`` do it,
  ``Tracker.update`` per frame then ``finish(postprocess=True)``;
- ``offline``: the first ``track()``;
- ``warm``: the same streaming run in a new process once the cache is filled
  (loading the compiled kernels from disk).

It also counts the compiled specialisations of every Numba function of
``spermtrack.track`` in the cold processes (one each is the goal: no copies for
literal arguments or other dtypes). Best and median of ``--repeats``; the load
average is printed because other jobs slow compilation down.

Writes benchmarks/results/tracker_coldstart.json.

    python benchmarks/tracker_coldstart.py [--repeats 3] [--smoke] [--out PATH]

To compare with another version of the package, put its tree first on the path:
``PYTHONPATH=/path/to/other/tree python benchmarks/tracker_coldstart.py --out other.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, sys, time
import numba
import numpy as np
import spermtrack
from spermtrack.simulate import simulate_video
from spermtrack.detect.ground_truth import GroundTruthDetector

video = simulate_video(seed=1, num_frames=60, density=30, motility=[0.5, 0.2, 0.1, 0.2])
dets = GroundTruthDetector(video.boxes, miss=0.1, fp_per_frame=1.0, jitter_px=1.0, score_noise=0.2, seed=1).degrade()
from spermtrack.track import Tracker, track

mode = sys.argv[1]
t0 = time.perf_counter()
if mode in ("stream", "warm"):
    tr = Tracker(50.0)
    for _, b in dets.iter_frames():
        tr.update(b)
    try:
        tr.finish(postprocess=True)
    except TypeError:  # versions before finish(postprocess=...)
        from spermtrack.track.offline import postprocess

        postprocess(tr.finish(), tr.params)
else:
    track(dets, 50.0)
seconds = time.perf_counter() - t0
counts = {}
import spermtrack.track as st

for modname, mod in list(sys.modules.items()):
    if not modname.startswith("spermtrack.track"):
        continue
    for name, obj in vars(mod).items():
        if isinstance(obj, numba.core.registry.CPUDispatcher) and obj.__module__ == modname and obj.signatures:
            counts[f"{modname}.{name}"] = len(obj.signatures)
print(json.dumps({"seconds": seconds, "specialisations": counts, "spermtrack": spermtrack.__file__}))
"""


def child(mode: str, cache: str, own_cache: bool = True) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
    if not own_cache:  # the tree's own cache (__pycache__ beside the sources): nothing to compile
        env.pop("NUMBA_CACHE_DIR")
    # run in the (empty) cache folder: ``python -c`` puts the working directory first on sys.path,
    # which would shadow PYTHONPATH with the tree the benchmark was started from
    res = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, env=env, timeout=900, cwd=cache)
    if res.returncode != 0:
        raise RuntimeError(res.stderr[-3000:])
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--smoke",
        action="store_true",
        help="one 'warm' child on the tree's own Numba cache (no compilation): checks the machinery, not cold starts",
    )
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "tracker_coldstart.json"))
    args = ap.parse_args(argv)
    if args.smoke:
        with tempfile.TemporaryDirectory() as cwd:
            r = child("warm", cwd, own_cache=False)
        assert r["seconds"] > 0 and r["specialisations"], r
        result = {
            "benchmark": "tracker_coldstart",
            "smoke": True,
            "seconds": {"warm": [r["seconds"]]},
            "spermtrack": r["spermtrack"],
        }
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2))
        print(f"warm run {r['seconds']:.2f} s; wrote {out}")
        return 0
    times: dict[str, list[float]] = {"stream": [], "offline": [], "warm": []}
    many: dict[str, int] = {}
    where = ""
    loads = []
    for _ in range(args.repeats):
        for mode in ("stream", "offline"):
            with tempfile.TemporaryDirectory() as cache:
                loads.append(os.getloadavg()[0])
                r = child(mode, cache)
                times[mode].append(r["seconds"])
                many.update({k: v for k, v in r["specialisations"].items() if v > 1})
                where = r["spermtrack"]
                if mode == "stream":
                    times["warm"].append(child("warm", cache)["seconds"])
    print(f"spermtrack from {where}; load average during the runs {min(loads):.1f}-{max(loads):.1f} (2 cores)")
    print("| first use | best s | median s |")
    print("|---|---:|---:|")
    labels = {
        "stream": "streaming (Tracker + finish(postprocess)), empty cache",
        "offline": "track(), empty cache",
        "warm": "streaming, cache filled (new process)",
    }
    for mode, ts in times.items():
        print(f"| {labels[mode]} | {min(ts):.2f} | {statistics.median(ts):.2f} |")
    print("functions with more than one compiled specialisation:", many or "none")
    result = {
        "benchmark": "tracker_coldstart",
        "machine": {"python": platform.python_version(), "processor": platform.processor() or platform.machine()},
        "spermtrack": where,
        "repeats": args.repeats,
        "load_average": [min(loads), max(loads)],
        "seconds": times,
        "more_than_one_specialisation": many,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    from spermtrack.atomic import atomic_open

    with atomic_open(out) as fh:
        json.dump(result, fh, indent=2)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
