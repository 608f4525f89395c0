"""How CASA values respond to the beat frequency, curvature, frame rate and detection jitter.

Analytic paths (their true values known by construction) go through
``spermtrack.kinematics.casa`` and the relative error of each value is printed:

1. a straight swimmer (40 µm/s) with a sinusoidal head beat (2 µm amplitude, ALH 4 µm) of
   3-20 Hz at 50 and 100 fps, for the default average path (local quadratic, 0.5 s) and
   alternatives (0.75 s; the classic running average of 0.2 s and 0.5 s): errors of VAP, ALH, BCF;
2. circles of radius 5-50 µm swum at 50 µm/s: error of VAP (the average path must not cut
   the circle);
3. VCL against the frame rate for a beating swimmer (VCL is a polyline through the samples);
4. VCL, VSL and VAP with detection jitter (0.5-1.5 px) on a still and a swimming cell;
5. short tracks (0.5-3 s) of a beating swimmer: worst errors of VAP, VSL, ALH and the
   largest STR over the beat phases at the ends;
6. the image rate: the exact head centres of simulated samples (the simulator's default
   motility mix, 100 images/s) kept every 2nd-6th image, each value's median ratio to its
   100-images/s value and the share of WHO grades kept (what ``analyze``'s low-image-rate
   warning is about).

    python benchmarks/kinematics_response.py [--out PATH]

Writes benchmarks/results/kinematics_response.json (or ``--out``). The tables of docs/kinematics.md come from it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy.integrate import quad

from spermtrack import Boxes, Calibration
from spermtrack.atomic import atomic_open
from spermtrack.kinematics import casa

RESULTS = Path(__file__).resolve().parent / "results"
UM = 0.25
SMOOTHERS = (("loess", 0.5), ("loess", 0.75), ("mean", 0.2), ("mean", 0.5))
PHASES = np.linspace(0, 2 * np.pi, 6, endpoint=False)


def run(paths, fps, **kw):
    """casa() of several paths {id: (frames, x_um, y_um)}, as a DataFrame indexed by id."""
    frames, cx, cy, ids = [], [], [], []
    for tid, (f, x, y) in paths.items():
        frames.append(f)
        cx.append(np.asarray(x) / UM + 320)
        cy.append(np.asarray(y) / UM + 240)
        ids.append(np.full(len(f), tid))
    frames, cx, cy, ids = (np.concatenate(a) for a in (frames, cx, cy, ids))
    order = np.argsort(frames, kind="stable")
    wh = np.full(len(frames), 20.0)
    b = Boxes.from_cxcywh(frames[order], np.stack([cx, cy, wh, wh], 1)[order], track_id=ids[order])
    return casa(b, Calibration(UM, fps), **kw).set_index("track_id")


def beat_table() -> list[dict]:
    rows = []
    v, amp, T = 40.0, 2.0, 3.0
    for fps in (50.0, 100.0):
        f = np.arange(int(T * fps) + 1)
        t = f / fps
        for method, window in SMOOTHERS:
            for freq in (3, 4, 5, 6, 8, 10, 12, 15, 18, 20):
                paths = {i + 1: (f, v * t, amp * np.sin(2 * np.pi * freq * t + ph)) for i, ph in enumerate(PHASES)}
                k = run(paths, fps, average=method, smoothing_s=window)
                err = {
                    "vap": k["vap"] / v - 1,
                    "alh": k["alh_mean"] / (2 * amp) - 1,
                    "bcf": k["bcf"] / (2 * freq) - 1,
                }
                rows.append(
                    {
                        "fps": fps,
                        "method": method,
                        "window_s": window,
                        "beat_hz": freq,
                        **{f"{name}_err_mean": float(e.mean()) for name, e in err.items()},
                        **{f"{name}_err_max": float(np.abs(e).max()) for name, e in err.items()},
                    }
                )
    return rows


def circle_table() -> list[dict]:
    rows = []
    v, T, fps = 50.0, 3.0, 50.0
    f = np.arange(int(T * fps) + 1)
    t = f / fps
    for method, window in SMOOTHERS:
        for radius in (5.0, 10.0, 20.0, 50.0):
            w = v / radius
            k = run({1: (f, radius * np.cos(w * t), radius * np.sin(w * t))}, fps, average=method, smoothing_s=window)
            rows.append(
                {
                    "method": method,
                    "window_s": window,
                    "radius_um": radius,
                    "turns_per_s": w / (2 * np.pi),
                    "vap_err": float(k["vap"].iloc[0] / v - 1),
                }
            )
    return rows


def vcl_fps_table() -> list[dict]:
    v, amp, freq, T = 50.0, 2.0, 12.0, 3.0
    w = 2 * np.pi * freq
    exact = quad(lambda s: np.hypot(v, amp * w * np.cos(w * s)), 0, T, limit=2000)[0] / T
    rows = []
    for fps in (25.0, 50.0, 60.0, 100.0, 200.0):
        f = np.arange(int(T * fps) + 1)
        t = f / fps
        k = run({1: (f, v * t, amp * np.sin(w * t))}, fps)
        rows.append(
            {"fps": fps, "vcl": float(k["vcl"].iloc[0]), "vcl_exact": exact, "vcl_err": float(k["vcl"].iloc[0] / exact - 1)}
        )
    return rows


def jitter_table() -> list[dict]:
    rng = np.random.default_rng(0)
    fps, T = 50.0, 3.0
    f = np.arange(int(T * fps) + 1)
    t = f / fps
    rows = []
    for sigma in (0.0, 0.5, 1.0, 1.5, 2.0):
        for v in (0.0, 10.0, 50.0):
            paths = {}
            for i in range(40):
                noise = rng.normal(0, sigma * UM, (2, len(f)))
                beat = 1.5 * np.sin(2 * np.pi * 10 * t + i) if v else 0.0
                paths[i + 1] = (f, v * t + noise[0], beat + noise[1])
            k = run(paths, fps)
            clean = run({1: (f, v * t, 1.5 * np.sin(2 * np.pi * 10 * t) if v else 0 * t)}, fps).iloc[0]
            row = {"jitter_px": sigma, "speed_um_s": v, "vcl_noise_theory": float(np.sqrt(np.pi) * sigma * UM * fps)}
            for c in ("vcl", "vsl", "vap", "wobble_rms", "beat_rms"):
                row[c] = float(k[c].median())
                row[f"{c}_clean"] = float(clean[c])
            row["beat_rms_p95"] = float(k["beat_rms"].quantile(0.95))
            row["immotile_share"] = float((k["motility"] == "immotile").mean())
            rows.append(row)
    return rows


def short_table() -> list[dict]:
    """Short tracks: a 40 µm/s swimmer beating +-2 µm at 8-15 Hz, eight beat phases at the ends."""
    fps, v, amp = 50.0, 40.0, 2.0
    rows = []
    for duration in (0.5, 0.7, 1.0, 1.4, 2.0, 3.0):
        f = np.arange(int(round(duration * fps)) + 1)
        t = f / fps
        paths = {}
        for i, phase in enumerate(np.linspace(0, 2 * np.pi, 8, endpoint=False)):
            for j, freq in enumerate((8.0, 10.0, 12.0, 15.0)):
                paths[1 + 10 * i + j] = (f, v * t, amp * np.sin(2 * np.pi * freq * t + phase))
        k = run(paths, fps)
        rows.append(
            {
                "duration_s": duration,
                "vap_err_max": float((k["vap"] / v - 1).abs().max()),
                "vap_err_median": float((k["vap"] / v - 1).abs().median()),
                "vsl_err_max": float((k["vsl"] / v - 1).abs().max()),
                "str_max": float(k["str"].max()),
                "alh_err_max": float((k["alh_mean"] / (2 * amp) - 1).abs().max()),
            }
        )
    return rows


IMAGE_RATE_VALUES = ("vcl", "vsl", "vap", "vprog", "lin", "wob", "alh_mean", "bcf", "mad")


def image_rate_table(seeds=tuple(range(8)), seconds: float = 3.0) -> list[dict]:
    """Simulated samples at 100 images/s, kept every k-th image: median ratio of each value to k = 1."""
    import warnings

    from spermtrack.errors import LowImageRateWarning
    from spermtrack.simulate import simulate_video

    fps = 100.0
    ratios: dict[tuple[int, str], list[float]] = {}
    grades: dict[int, list[bool]] = {}
    for seed in seeds:
        video = simulate_video(seed=seed, num_frames=int(seconds * fps), calibration=Calibration(UM, fps), density=30)
        boxes = video.boxes.filter(video.boxes.track_id >= 0)
        base = None
        for k in (1, 2, 3, 4, 5, 6):
            kept = boxes.filter(boxes.frame % k == 0)
            kept = kept.replace(frame=kept.frame // k, num_frames=(boxes.num_frames + k - 1) // k)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", LowImageRateWarning)
                df = casa(kept, Calibration(UM, fps / k)).set_index("track_id")
            if base is None:
                base = df[df["valid"] & (df["vcl"] > 20.0)]  # swimming cells, valid at 100 images/s
            common = base.index.intersection(df.index)
            for c in IMAGE_RATE_VALUES:
                r = (df.loc[common, c] / base.loc[common, c]).replace([np.inf, -np.inf], np.nan).dropna()
                ratios.setdefault((k, c), []).extend(r.tolist())
            grades.setdefault(k, []).extend((df.loc[common, "motility"] == base.loc[common, "motility"]).tolist())
    return [
        {
            "images_per_s": fps / k,
            "n_tracks": len(grades[k]),
            **{f"{c}_ratio": float(np.median(ratios[(k, c)])) for c in IMAGE_RATE_VALUES},
            "grade_kept": float(np.mean(grades[k])),
        }
        for k in (1, 2, 3, 4, 5, 6)
    ]


def main(argv=None) -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=RESULTS / "kinematics_response.json")
    args = ap.parse_args(argv)
    beat, circ, vfps, jit = beat_table(), circle_table(), vcl_fps_table(), jitter_table()
    short, rate = short_table(), image_rate_table()

    print("\n1. Beating straight swimmer (40 µm/s, ALH 4 µm): mean relative error, % (VAP / ALH / BCF)")
    freqs = sorted({r["beat_hz"] for r in beat})
    print(f"{'fps':>4} {'average path':<14}" + "".join(f"{f:>16} Hz" for f in freqs))
    for fps in (50.0, 100.0):
        for method, window in SMOOTHERS:
            cells = []
            for fr in freqs:
                r = next(
                    x
                    for x in beat
                    if x["fps"] == fps and x["method"] == method and x["window_s"] == window and x["beat_hz"] == fr
                )
                cells.append(f"{100 * r['vap_err_mean']:+5.1f}/{100 * r['alh_err_mean']:+5.1f}/{100 * r['bcf_err_mean']:+4.0f}")
            print(f"{fps:4.0f} {method + ' ' + str(window) + ' s':<14}" + "".join(f"{c:>19}" for c in cells))

    print("\n2. Circle swum at 50 µm/s (50 fps): relative error of VAP, %")
    radii = sorted({r["radius_um"] for r in circ})
    print(f"{'average path':<14}" + "".join(f"{'R=' + str(int(r)) + ' µm':>10}" for r in radii))
    for method, window in SMOOTHERS:
        vals = [
            next(x for x in circ if x["method"] == method and x["window_s"] == window and x["radius_um"] == r)["vap_err"]
            for r in radii
        ]
        print(f"{method + ' ' + str(window) + ' s':<14}" + "".join(f"{100 * v:+10.2f}" for v in vals))

    print(f"\n3. VCL of a swimmer (50 µm/s, 12 Hz beat, 2 µm) against the frame rate; exact {vfps[0]['vcl_exact']:.1f} µm/s")
    for r in vfps:
        print(f"  {r['fps']:5.0f} fps: VCL {r['vcl']:6.1f} µm/s ({100 * r['vcl_err']:+.1f} %)")

    print("\n4. Detection jitter (50 fps, 0.25 µm/px; medians of 40 tracks, µm/s): VCL / VSL / VAP, noise-free in brackets")
    for r in jit:
        print(
            f"  jitter {r['jitter_px']:.1f} px, speed {r['speed_um_s']:4.0f}: VCL {r['vcl']:6.1f} ({r['vcl_clean']:6.1f})  "
            f"VSL {r['vsl']:6.2f} ({r['vsl_clean']:6.2f})  VAP {r['vap']:6.2f} ({r['vap_clean']:6.2f})  "
            f"wobble_rms {r['wobble_rms']:.2f} beat_rms {r['beat_rms']:.2f} (95 % {r['beat_rms_p95']:.2f}) µm  "
            f"immotile {100 * r['immotile_share']:3.0f} %  [sqrt(pi) sigma fps = {r['vcl_noise_theory']:.1f}]"
        )

    print("\n5. Short tracks (40 µm/s, beat +-2 µm at 8-15 Hz, 8 phases, 50 fps): worst |error| %, largest STR")
    for r in short:
        print(
            f"  {r['duration_s']:3.1f} s: VAP {100 * r['vap_err_max']:4.1f} (median {100 * r['vap_err_median']:3.1f})  "
            f"VSL {100 * r['vsl_err_max']:4.1f}  ALH {100 * r['alh_err_max']:4.1f}  STR max {r['str_max']:.4f}"
        )
    print("\n6. Image rate: simulated samples (100 images/s, every k-th kept; swimming cells): median value / value at 100")
    print(f"{'images/s':>9} {'tracks':>6}" + "".join(f"{c:>9}" for c in IMAGE_RATE_VALUES) + "  WHO grade kept")
    for r in rate:
        print(
            f"{r['images_per_s']:9.1f} {r['n_tracks']:6d}"
            + "".join(f"{r[c + '_ratio']:9.2f}" for c in IMAGE_RATE_VALUES)
            + f"  {100 * r['grade_kept']:5.0f} %"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(args.out) as fh:
        json.dump(
            {
                "benchmark": "kinematics_response",
                "beat": beat,
                "circle": circ,
                "vcl_fps": vfps,
                "jitter": jit,
                "short": short,
                "image_rate": rate,
            },
            fh,
            indent=2,
        )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
