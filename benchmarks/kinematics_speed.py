"""Speed of ``spermtrack.kinematics.casa`` against per-track pandas/NumPy references, in the same run.

The references implement the same definitions (VCL, VSL, VAP on the same local-quadratic
tricube average path pinned to the end points, ALH, BCF, MAD, progressive velocity, beat
rms) with a pandas ``groupby`` over tracks and NumPy per track, in three strengths:

- ``loop``: a Python loop with two ``numpy.linalg.lstsq`` calls per point for the
  average path, Python loops over the crossings and one ``lstsq`` per half beat (the
  obvious way);
- ``vectorised average path``: the average path of all points at once (windows padded
  to one width, batched 3x3 normal-equation solves);
- ``vectorised``: also the hysteresis crossings and the half-beat fits without Python
  loops (forward fill, ``np.add.reduceat``). The fastest, fair reference: the headline.

All run on the same tracks in the same process, in interleaved rounds
(benchmarks/_timing.py: medians of CPU and wall time, machine load printed, tables
marked LOADED on a busy machine). The script checks that every reference agrees with
``casa()`` (relative 1e-5), then prints the times and ratios (CPU time).

    python benchmarks/kinematics_speed.py [--tracks 100] [--points 1500] [--fps 50 100] [--repeats 5] [--smoke] [--out PATH]

Writes benchmarks/results/kinematics_speed.json (or ``--out``).
"""

from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core for everyone

import argparse  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import interleaved, load_average, load_report  # noqa: E402

from spermtrack import Boxes, Calibration  # noqa: E402
from spermtrack.atomic import atomic_open  # noqa: E402
from spermtrack.kinematics import casa  # noqa: E402

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


def _ref_average_path_vectorised(t, x, y, window):
    """:func:`_ref_average_path` with NumPy instead of a loop: all windows padded to one width, batched 3x3 solves.

    The weighted least-squares fit of ``a + b u + c u^2`` (tricube weights) is solved
    from its normal equations, ``np.linalg.solve`` on ``(n, 3, 3)`` moment matrices, x
    and y at once; a point whose window has fewer than three weighted points (a
    singular matrix) falls back to ``lstsq``, as the loop does.
    """
    half = window / 2
    n = len(t)
    start = np.minimum(np.maximum(t - half, t[0]), t[-1] - window)
    stop = start + window
    h = np.maximum(t - start, stop - t)
    lo = np.searchsorted(t, start, "left")
    hi = np.searchsorted(t, stop, "right")
    width = int((hi - lo).max())
    idx = lo[:, None] + np.arange(width)[None, :]
    inside = idx < hi[:, None]
    idx = np.minimum(idx, n - 1)
    u = (t[idx] - t[:, None]) / h[:, None]
    w = np.where(inside & (np.abs(u) < 1), (1 - np.abs(u) ** 3) ** 3, 0.0)  # sw**2
    u2 = u * u
    wu, wu2 = w * u, w * u2
    s0, s1, s2, s3, s4 = w.sum(1), wu.sum(1), wu2.sum(1), (wu2 * u).sum(1), (wu2 * u2).sum(1)
    A = np.stack([np.stack([s0, s1, s2], -1), np.stack([s1, s2, s3], -1), np.stack([s2, s3, s4], -1)], 1)
    xs, ys = x[idx], y[idx]
    B = np.stack(
        [
            np.stack([(w * xs).sum(1), (wu * xs).sum(1), (wu2 * xs).sum(1)], -1),
            np.stack([(w * ys).sum(1), (wu * ys).sum(1), (wu2 * ys).sum(1)], -1),
        ],
        -1,
    )  # (n, 3, 2)
    ok = (w > 0).sum(1) >= 3
    coef = np.empty((n, 3, 2))
    coef[ok] = np.linalg.solve(A[ok], B[ok])
    for i in np.flatnonzero(~ok):  # too few points for a quadratic: lstsq's minimum-norm answer
        m = inside[i] & (w[i] > 0)
        X = np.stack([np.ones(m.sum()), u[i, m], u2[i, m]], 1) * np.sqrt(w[i, m])[:, None]
        coef[i] = np.linalg.lstsq(X, np.stack([xs[i, m], ys[i, m]], 1) * np.sqrt(w[i, m])[:, None], rcond=None)[0]
    return coef[:, 0, 0], coef[:, 0, 1], coef[:, 1, 0] / h, coef[:, 1, 1] / h


def _ref_beats(t, d, hyst):
    """Crossings of the average path (hysteresis ``hyst``) and the half-beat amplitudes, with Python loops.

    Returns the crossing times and one peak per pair of consecutive crossings (a
    ``cos``/``sin`` least-squares fit over the half beat, ``lstsq`` per half beat).
    """
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
    return np.array([c[0] for c in crossings]), np.array(peaks)


def _ref_beats_vectorised(t, d, hyst):
    """:func:`_ref_beats` without Python loops.

    The hysteresis state is the last sign of ``d`` beyond ``+-hyst`` (a forward fill);
    a crossing is a change of that state, dated at the last zero crossing of ``d`` at
    or before it. The half-beat fits are solved from their 2x2 normal equations, the
    sums over all half beats at once (``np.add.reduceat`` over concatenated windows).
    """
    n = len(d)
    idx = np.arange(n)
    s = np.where(d >= hyst, 1, np.where(d <= -hyst, -1, 0))
    last = np.maximum.accumulate(np.where(s != 0, idx, -1))
    state = np.where(last >= 0, s[np.maximum(last, 0)], 0)
    flips = np.flatnonzero((state[1:] != state[:-1]) & (state[:-1] != 0)) + 1
    zc = np.flatnonzero(((d[:-1] < 0) & (d[1:] >= 0)) | ((d[:-1] > 0) & (d[1:] <= 0))) + 1
    zt = t[zc - 1] + (t[zc] - t[zc - 1]) * d[zc - 1] / (d[zc - 1] - d[zc])
    j = np.searchsorted(zc, flips, "right") - 1
    ct, ci, sgn = zt[j], zc[j], state[flips]
    if len(ct) < 2:
        return ct, np.zeros(0)
    lo, hi = np.maximum(ci[:-1] - 1, 0), np.minimum(ci[1:] + 1, n)
    t0, t1, sg = ct[:-1], ct[1:], sgn[:-1]
    lengths = hi - lo
    seg = np.repeat(np.arange(len(lo)), lengths)
    pos = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths) + lo[seg]
    u = np.pi / (t1 - t0)[seg] * (t[pos] - 0.5 * (t0 + t1)[seg])
    c, si, yv = np.cos(u), np.sin(u), sg[seg] * d[pos]
    first = np.cumsum(lengths) - lengths
    scc, sss, scs = (np.add.reduceat(a, first) for a in (c * c, si * si, c * si))
    scy, ssy = np.add.reduceat(c * yv, first), np.add.reduceat(si * yv, first)
    det = scc * sss - scs * scs
    a, b = (sss * scy - scs * ssy) / det, (scc * ssy - scs * scy) / det
    return ct, np.minimum(np.hypot(a, b), 2 * np.maximum.reduceat(np.abs(d[pos]), first))


def _ref_track(
    g: pd.DataFrame, fps: float, window: float = 0.5, hyst: float = 0.125, average_path=_ref_average_path, beats=_ref_beats
) -> dict:
    t = g["frame"].to_numpy() / fps
    x = g["cx"].to_numpy() * UM_PER_PX
    y = g["cy"].to_numpy() * UM_PER_PX
    T = t[-1] - t[0]
    step = np.hypot(np.diff(x), np.diff(y))
    out = {"vcl": step.sum() / T, "vsl": np.hypot(x[-1] - x[0], y[-1] - y[0]) / T}
    dx, dy = np.diff(x), np.diff(y)
    ang = np.abs(np.arctan2(dx[:-1] * dy[1:] - dy[:-1] * dx[1:], dx[:-1] * dx[1:] + dy[:-1] * dy[1:]))
    out["mad"] = np.degrees(ang.mean())
    ax, ay, vx, vy = average_path(t, x, y, window)
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
    ct, peaks = beats(t, d, hyst)
    if len(peaks):
        out["alh_mean"], out["alh_max"] = 2 * np.mean(peaks), 2 * np.max(peaks)
    else:
        out["alh_mean"] = out["alh_max"] = 2 * np.abs(d).max()
    k = len(ct)
    spread = ct[-1] - ct[0] if k >= 2 else 0.0
    out["bcf"] = (k - 1) / spread if (k >= 3 and spread >= 0.5 * span) else k / span
    return out


REFERENCES = {
    "loop": (_ref_average_path, _ref_beats),
    "vectorised average path": (_ref_average_path_vectorised, _ref_beats),
    "vectorised": (_ref_average_path_vectorised, _ref_beats_vectorised),
}


def reference(boxes: Boxes, fps: float, kind: str = "loop") -> pd.DataFrame:
    """CASA per track with pandas + NumPy.

    ``kind``: ``"loop"`` (lstsq per point for the average path, Python loops over the
    beats), ``"vectorised average path"`` (batched 3x3 solves for the average path), or
    ``"vectorised"`` (also the crossings and half-beat fits without Python loops).
    """
    df = boxes.to_dataframe()
    df["cx"] = (df["x1"].astype(float) + df["x2"].astype(float)) / 2
    df["cy"] = (df["y1"].astype(float) + df["y2"].astype(float)) / 2
    df = df[df["track_id"] >= 0].sort_values(["track_id", "frame"])
    path, beats = REFERENCES[kind]
    rows = {tid: _ref_track(g, fps, average_path=path, beats=beats) for tid, g in df.groupby("track_id")}
    return pd.DataFrame.from_dict(rows, orient="index")


# ----------------------------------------------------------------------------- timing
def _max_rel_difference(ours: pd.DataFrame, ref: pd.DataFrame) -> float:
    # relative differences: box centres are float32, the reference recomputes them in float64
    ours = ours.set_index("track_id").loc[ref.index]
    return max(
        float(np.nanmax(np.abs(ours[c].to_numpy() - ref[c].to_numpy()) / np.maximum(np.abs(ref[c].to_numpy()), 1.0)))
        for c in ref.columns
    )


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tracks", type=int, default=100)
    ap.add_argument("--points", type=int, default=1500)
    ap.add_argument("--fps", type=float, nargs="+", default=[50.0, 100.0])
    ap.add_argument("--repeats", type=int, default=5, help="interleaved rounds of casa() and the vectorised references")
    ap.add_argument("--loop-repeats", type=int, default=1, help="rounds of the (slow) loop reference; 0 skips it")
    ap.add_argument("--smoke", action="store_true", help="4 tracks x 300 points at 50 fps, one round: checks, not numbers")
    ap.add_argument("--out", type=Path, default=RESULTS / "kinematics_speed.json")
    args = ap.parse_args(argv)
    if args.smoke:
        args.tracks, args.points, args.fps, args.repeats = 4, 300, [50.0], 1

    load_start = load_average()
    rows, groups = [], []
    for fps in args.fps:
        boxes = make_tracks(args.tracks, args.points, fps)
        cal = Calibration(UM_PER_PX, fps)
        fns = {
            "casa()": lambda b=boxes, c=cal: casa(b, c),
            "vectorised": lambda b=boxes, f=fps: reference(b, f, "vectorised"),
            "vectorised average path": lambda b=boxes, f=fps: reference(b, f, "vectorised average path"),
        }
        timing = interleaved(fns, args.repeats)  # the first, untimed call compiles / loads the Numba cache
        groups.append(timing)
        if args.loop_repeats > 0:
            timing.update(interleaved({"loop": lambda b=boxes, f=fps: reference(b, f, "loop")}, args.loop_repeats, warmup=False))
        ours = timing["casa()"].result
        diffs = {name: _max_rel_difference(ours, t.result) for name, t in timing.items() if name != "casa()"}
        worst = max(diffs.values())
        if worst > 1e-5:
            raise SystemExit(f"a reference and casa() disagree at {fps} fps: {diffs}")
        refs = [n for n in timing if n != "casa()"]
        rows.append(
            {
                "fps": fps,
                "tracks": args.tracks,
                "points_per_track": args.points,
                "casa_cpu_ms": 1000 * timing["casa()"].cpu,
                "casa_wall_ms": 1000 * timing["casa()"].wall,
                "reference_cpu_ms": {n: 1000 * timing[n].cpu for n in refs},
                "reference_wall_ms": {n: 1000 * timing[n].wall for n in refs},
                "speedup_cpu": {n: timing[n].cpu / timing["casa()"].cpu for n in refs},
                "speedup_wall": {n: timing[n].wall / timing["casa()"].wall for n in refs},
                "speedup_vs_fastest_reference": min(timing[n].cpu for n in refs) / timing["casa()"].cpu,
                "max_rel_difference": diffs,
                "timings": {n: t.as_dict() for n, t in timing.items()},
            }
        )

    load = load_report(load_start, groups)
    refs = list(rows[0]["reference_cpu_ms"])
    print(
        f"\nCASA kinematics, {args.tracks} tracks x {args.points} points; medians of {args.repeats} interleaved rounds "
        f"(loop reference: {args.loop_repeats}); CPU ms (wall ms)"
    )
    print(load.banner())
    print("| fps | casa() | " + " | ".join(f"reference: {n}" for n in refs) + " | casa() vs fastest reference |")
    print("|---:|---:|" + "---:|" * (len(refs) + 1))
    for r in rows:
        cells = " | ".join(
            f"{r['reference_cpu_ms'][n]:,.0f} ({r['reference_wall_ms'][n]:,.0f}) = {r['speedup_cpu'][n]:.0f}x" for n in refs
        )
        print(
            f"| {r['fps']:.0f} | {r['casa_cpu_ms']:.1f} ({r['casa_wall_ms']:.1f}) | {cells} | "
            f"**{r['speedup_vs_fastest_reference']:.1f}x** |"
        )
    if load.loaded:
        print("LOADED: the machine was busy during this run (see above); rerun on a quiet machine for the headline")
    result = {
        "benchmark": "kinematics_speed",
        "command": " ".join(["python benchmarks/kinematics_speed.py", *(sys.argv[1:] if argv is None else argv)]),
        "machine": {"cpu": _cpu(), "python": platform.python_version()},
        "load": load.as_dict(),
        "timing": "medians of interleaved rounds; ratios on CPU time (time.process_time)",
        "references": {
            "loop": "pandas groupby + NumPy per track, numpy.linalg.lstsq per point for the average path, Python loops over beats",
            "vectorised average path": "as loop, the average path from batched 3x3 normal-equation solves",
            "vectorised": "as 'vectorised average path', and the crossings and half-beat fits without Python loops",
        },
        "rows": rows,
        "targets": {"speedup_vs_vectorised_average_path": 40},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(args.out) as fh:
        json.dump(result, fh, indent=2)
    print(f"wrote {args.out}")


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
