"""Speed of ``spermtrack.kinematics.casa`` against a plain per-track pandas/NumPy reference.

The reference implements the same definitions (VCL, VSL, VAP on the same local-quadratic
tricube average path pinned to the end points, ALH, BCF, MAD, progressive velocity, beat
rms) the obvious way: a pandas
``groupby`` over tracks, NumPy per track and a Python loop with ``numpy.linalg.lstsq``
per point for the average path. Both run on the same tracks in the same process; the
script checks that they agree, then prints a table of times and the speed-up ratio.

    python benchmarks/kinematics_speed.py [--tracks 100] [--points 1500] [--fps 50] [--repeats 5]

Writes benchmarks/results/kinematics_speed.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from spermtrack import Boxes, Calibration
from spermtrack.atomic import atomic_open
from spermtrack.kinematics import casa

RESULTS = Path(__file__).resolve().parent / "results"
UM_PER_PX = 0.25


def make_tracks(n_tracks: int, n_points: int, fps: float, seed: int = 0) -> Boxes:
    """Tracks of beating, slowly turning swimmers with 0.5 px detection jitter, 640x480 pixels."""
    rng = np.random.default_rng(seed)
    f = np.arange(n_points)
    t = f / fps
    frames, cx, cy, ids = [], [], [], []
    for k in range(n_tracks):
        v = rng.uniform(5, 90)  # µm/s
        heading = rng.uniform(0, 2 * np.pi) + rng.normal(0, 0.15, n_points).cumsum() / np.sqrt(fps)
        x = np.cumsum(v * np.cos(heading)) / fps
        y = np.cumsum(v * np.sin(heading)) / fps
        lat = rng.uniform(0.5, 3) * np.sin(2 * np.pi * rng.uniform(6, 16) * t + rng.uniform(0, 6))
        x, y = x - np.sin(heading) * lat, y + np.cos(heading) * lat
        frames.append(f)
        cx.append(x / UM_PER_PX + rng.normal(0, 0.5, n_points))
        cy.append(y / UM_PER_PX + rng.normal(0, 0.5, n_points))
        ids.append(np.full(n_points, k + 1))
    frames, cx, cy, ids = (np.concatenate(a) for a in (frames, cx, cy, ids))
    order = np.argsort(frames, kind="stable")
    wh = np.full(len(frames), 23.0)
    arr = np.stack([cx, cy, wh, wh], 1)[order]
    return Boxes.from_cxcywh(frames[order], arr, track_id=ids[order])


# ----------------------------------------------------------------------------- reference
def _ref_average_path(t, x, y, window):
    half = window / 2
    n = len(t)
    ax, ay, vx, vy = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    for i in range(n):
        start = min(max(t[i] - half, t[0]), t[-1] - window)
        stop = start + window
        h = max(t[i] - start, stop - t[i])
        m = (t >= start) & (t <= stop) & (np.abs(t - t[i]) < h)
        u = (t[m] - t[i]) / h
        sw = np.sqrt((1 - np.abs(u) ** 3) ** 3)
        X = np.stack([np.ones_like(u), u, u * u], 1) * sw[:, None]
        cx = np.linalg.lstsq(X, x[m] * sw, rcond=None)[0]
        cy = np.linalg.lstsq(X, y[m] * sw, rcond=None)[0]
        ax[i], ay[i], vx[i], vy[i] = cx[0], cy[0], cx[1] / h, cy[1] / h
    return ax, ay, vx, vy


def _ref_track(g: pd.DataFrame, fps: float, window: float = 0.5, hyst: float = 0.125) -> dict:
    t = g["frame"].to_numpy() / fps
    x = g["cx"].to_numpy() * UM_PER_PX
    y = g["cy"].to_numpy() * UM_PER_PX
    T = t[-1] - t[0]
    step = np.hypot(np.diff(x), np.diff(y))
    out = {"vcl": step.sum() / T, "vsl": np.hypot(x[-1] - x[0], y[-1] - y[0]) / T}
    dx, dy = np.diff(x), np.diff(y)
    ang = np.abs(np.arctan2(dx[:-1] * dy[1:] - dy[:-1] * dx[1:], dx[:-1] * dx[1:] + dy[:-1] * dy[1:]))
    out["mad"] = np.degrees(ang.mean())
    ax, ay, vx, vy = _ref_average_path(t, x, y, window)
    # VAP: the average path moved onto the end points (offsets fading linearly over one
    # window), over the whole track, no longer than the curvilinear path
    tau = min(window, T)
    w0, w1 = np.clip(1 - (t - t[0]) / tau, 0, 1), np.clip(1 - (t[-1] - t) / tau, 0, 1)
    bx, by = ax + w0 * (x[0] - ax[0]) + w1 * (x[-1] - ax[-1]), ay + w0 * (y[0] - ay[0]) + w1 * (y[-1] - ay[-1])
    bx[[0, -1]], by[[0, -1]] = x[[0, -1]], y[[0, -1]]
    out["vap"] = min(np.hypot(np.diff(bx), np.diff(by)).sum(), step.sum()) / T
    inner = (t >= t[0] + window / 2) & (t <= t[-1] - window / 2) if T >= 2 * window else np.ones(len(t), bool)
    frames = g["frame"].to_numpy()[inner]
    t, x, y, ax, ay, vx, vy = (a[inner] for a in (t, x, y, ax, ay, vx, vy))
    span = t[-1] - t[0]
    # beat_rms: largest autocovariance of the residual over lags of 1 .. window / 2 frames
    rx, ry = x - ax, y - ay
    cov = []
    for lag in range(1, max(1, int(0.5 * window * fps + 1e-9)) + 1):
        j = np.searchsorted(frames, frames + lag)
        ok = j < len(frames)
        ok[ok] = frames[j[ok]] == frames[ok] + lag
        if ok.any():
            cov.append(np.mean(rx[ok] * rx[j[ok]] + ry[ok] * ry[j[ok]]))
    out["beat_rms"] = np.sqrt(max(max(cov), 0.0)) if cov else np.sqrt(np.mean(rx * rx + ry * ry))
    ends = t[t + 1.0 <= t[-1] + 1e-9] + 1.0
    px, py = np.interp(ends, t, ax), np.interp(ends, t, ay)
    out["vprog"] = np.hypot(px - ax[: len(ends)], py - ay[: len(ends)]).mean()
    d = (vx * (y - ay) - vy * (x - ax)) / np.hypot(vx, vy)
    crossings, state, zero = [], 0, None
    for i in range(len(d)):
        if i and ((d[i - 1] < 0 <= d[i]) or (d[i - 1] > 0 >= d[i])):
            zero = (t[i - 1] + (t[i] - t[i - 1]) * d[i - 1] / (d[i - 1] - d[i]), i)
        if state == 0:
            state = 1 if d[i] >= hyst and d[i] > 0 else (-1 if d[i] <= -hyst and d[i] < 0 else 0)
        elif state * d[i] < 0 and abs(d[i]) >= hyst:
            state = -state
            crossings.append((*zero, state))
    peaks = []
    for (t0, i0, sgn), (t1, i1, _) in itertools.pairwise(crossings):
        lo, hi = max(i0 - 1, 0), min(i1 + 1, len(d))
        u = np.pi / (t1 - t0) * (t[lo:hi] - 0.5 * (t0 + t1))
        coef = np.linalg.lstsq(np.stack([np.cos(u), np.sin(u)], 1), sgn * d[lo:hi], rcond=None)[0]
        peaks.append(min(np.hypot(*coef), 2 * np.abs(d[lo:hi]).max()))
    if len(peaks):
        out["alh_mean"], out["alh_max"] = 2 * np.mean(peaks), 2 * np.max(peaks)
    else:
        out["alh_mean"] = out["alh_max"] = 2 * np.abs(d).max()
    k = len(crossings)
    spread = crossings[-1][0] - crossings[0][0] if k >= 2 else 0.0
    out["bcf"] = (k - 1) / spread if (k >= 3 and spread >= 0.5 * span) else k / span
    return out


def reference(boxes: Boxes, fps: float) -> pd.DataFrame:
    df = boxes.to_dataframe()
    df["cx"] = (df["x1"].astype(float) + df["x2"].astype(float)) / 2
    df["cy"] = (df["y1"].astype(float) + df["y2"].astype(float)) / 2
    df = df[df["track_id"] >= 0].sort_values(["track_id", "frame"])
    rows = {tid: _ref_track(g, fps) for tid, g in df.groupby("track_id")}
    return pd.DataFrame.from_dict(rows, orient="index")


# ----------------------------------------------------------------------------- timing
def best_of(fn, repeats: int) -> tuple[float, float, object]:
    """Best wall-clock and best process CPU time (s) over ``repeats`` calls, and the result.

    CPU time is reported too because the machine may be shared: it does not count the time
    other processes hold the cores."""
    wall, cpu, out = [], [], None
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return min(wall), min(cpu), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tracks", type=int, default=100)
    ap.add_argument("--points", type=int, default=1500)
    ap.add_argument("--fps", type=float, nargs="+", default=[50.0, 100.0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--ref-repeats", type=int, default=1)
    args = ap.parse_args()

    rows = []
    for fps in args.fps:
        boxes = make_tracks(args.tracks, args.points, fps)
        cal = Calibration(UM_PER_PX, fps)
        casa(boxes, cal)  # compile / load the Numba cache outside the timing
        t_ours, c_ours, ours = best_of(lambda b=boxes, c=cal: casa(b, c), args.repeats)
        t_ref, c_ref, ref = best_of(lambda b=boxes, f=fps: reference(b, f), args.ref_repeats)
        ours = ours.set_index("track_id").loc[ref.index]
        # relative differences: box centres are float32, the reference recomputes them in float64
        diff = {
            c: float(np.nanmax(np.abs(ours[c].to_numpy() - ref[c].to_numpy()) / np.maximum(np.abs(ref[c].to_numpy()), 1.0)))
            for c in ref.columns
        }
        worst = max(diff.values())
        if worst > 1e-5:
            raise SystemExit(f"reference and casa() disagree at {args.fps} fps: {diff}")
        rows.append(
            {
                "fps": fps,
                "tracks": args.tracks,
                "points_per_track": args.points,
                "casa_ms": 1000 * t_ours,
                "reference_ms": 1000 * t_ref,
                "speedup": t_ref / t_ours,
                "casa_cpu_ms": 1000 * c_ours,
                "reference_cpu_ms": 1000 * c_ref,
                "speedup_cpu": c_ref / c_ours,
                "max_rel_difference": worst,
            }
        )

    print(
        f"\nCASA kinematics, {args.tracks} tracks x {args.points} points (best of {args.repeats}; reference best of {args.ref_repeats})"
    )
    print("wall clock, then CPU time of this process (not counting other processes on a shared machine):")
    print(
        f"{'fps':>5} {'casa() ms':>10} {'reference ms':>13} {'speed-up':>9} "
        f"{'casa() CPU ms':>14} {'ref CPU ms':>11} {'speed-up':>9} {'max rel diff':>13}"
    )
    for r in rows:
        print(
            f"{r['fps']:5.0f} {r['casa_ms']:10.1f} {r['reference_ms']:13.0f} {r['speedup']:8.0f}x "
            f"{r['casa_cpu_ms']:14.1f} {r['reference_cpu_ms']:11.0f} {r['speedup_cpu']:8.0f}x {r['max_rel_difference']:13.1e}"
        )
    result = {
        "benchmark": "kinematics_speed",
        "machine": {"cpu": _cpu(), "python": platform.python_version()},
        "reference": "pandas groupby + NumPy per track, numpy.linalg.lstsq per point for the average path",
        "rows": rows,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    with atomic_open(RESULTS / "kinematics_speed.json") as fh:
        json.dump(result, fh, indent=2)
    print(f"wrote {RESULTS / 'kinematics_speed.json'}")


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


if __name__ == "__main__":
    main()
