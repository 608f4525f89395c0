"""What do the simulator's looks look like next to real frames, and what do they measure?

Renders every look family (phase, bright, brightfield, negative-phase) at several head sizes
and frame sizes, and a few ``look="random"`` draws, and measures on each, with the ground-truth
boxes, the same numbers as on the real VISEM-Tracking frames of
``../shared/reference/visem/real_frames`` (with their labels):

- the background (median grey, and blue − red);
- head polarity and contrast: grey at a box's centre (radius max(1.5, side / 10) px) minus the
  median of a ring 0.9-1.4 box sides around it; the median over heads and the fraction of
  heads darker than their surroundings;
- the median box side (px) and the rendering cost (CPU ms per frame).

A difficulty check, also on both: AP@0.5 (class-agnostic, sperm boxes) of a plain threshold
detector told the true polarity and head size (background-subtracted grey, 4 MADs, one
head-sized box per blob, scored by its peak), per look family over ``--videos`` videos, and
of issue 13's ten-line baseline (told the polarity only: one box around each blob's extent
plus 2 px), which also checks that the visible head fills its label box as in real frames. On
real VISEM frames it scores about what issue 13's threshold baseline scores (0.36); issue 13
reports 0.51-0.58 for such a baseline on two real bright-field sets, which the bright-field
looks should not make much easier or harder.

Writes two figures (native-pixel crops, so magnifications compare): ``simulator_looks.png``
(real frames on top, then each look) and ``simulator_heads.png`` (zoomed heads), plus
``simulator_looks.json``, all under ``benchmarks/results/``.

    python benchmarks/simulator_looks.py [--seed 0] [--real ../shared/reference/visem/real_frames]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np
from detector_looks import ThresholdBaseline  # the same ten-line baseline in both benchmarks

from spermtrack import Boxes
from spermtrack.evaluate.detection import detection
from spermtrack.simulate import simulate_video

RESULTS = Path(__file__).resolve().parent / "results"


def default_real() -> Path:
    """``shared/reference/visem/real_frames`` next to the checkout (or to a worktree's parent)."""
    repo = Path(__file__).resolve().parents[1]
    for base in (repo.parent, repo, repo.parent.parent):
        p = base / "shared" / "reference" / "visem" / "real_frames"
        if p.is_dir():
            return p
    return repo.parent / "shared" / "reference" / "visem" / "real_frames"


TILE = (320, 240)
#: (look, head_px, image_size) of the threshold-detector check.
DIFFICULTY = [("phase", None, None), ("bright", None, None), ("brightfield", None, None), ("brightfield", 17.0, (640, 384)),
              ("brightfield", 15.0, (698, 528)), ("negative-phase", None, None), ("negative-phase", 15.0, None),
              ("random", None, None)]  # fmt: skip
#: Cases whose heads are shown zoomed in ``simulator_heads.png``.
HEAD_ROWS = ("phase 23px", "bright 23px", "brightfield 23px", "brightfield 17px 640x384", "brightfield 30px",
             "negative-phase 23px", "negative-phase 32px 1280x1024")  # fmt: skip

#: (label, look, head_px, image_size) of the simulated rows, four per row.
CASES = [
    [("phase 23px", "phase", None, None), ("phase 23px", "phase", None, None), ("bright 23px", "bright", None, None),
     ("bright 23px", "bright", None, None)],
    [("brightfield 23px", "brightfield", None, None), ("brightfield 17px 640x384", "brightfield", 17.0, (640, 384)),
     ("brightfield 12px 698x528", "brightfield", 12.0, (698, 528)), ("brightfield 30px", "brightfield", 30.0, None)],
    [("negative-phase 23px", "negative-phase", None, None), ("negative-phase 15px 720x576", "negative-phase", 15.0, (720, 576)),
     ("negative-phase 10px", "negative-phase", 10.0, None), ("negative-phase 32px 1280x1024", "negative-phase", 32.0, (1280, 1024))],
    [("random", "random", None, None)] * 4,
]  # fmt: skip


def head_stats(frame: np.ndarray, boxes_xyxy: np.ndarray) -> dict:
    """Background and head contrast of one frame from its sperm boxes (N, 4) px."""
    g = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(float)
    hh, ww = g.shape
    yy, xx = np.mgrid[0:hh, 0:ww]
    con, sides = [], []
    for x1, y1, x2, y2 in boxes_xyxy:
        cx, cy, side = 0.5 * (x1 + x2), 0.5 * (y1 + y2), 0.5 * ((x2 - x1) + (y2 - y1))
        sides.append(side)
        if not (1.5 * side < cx < ww - 1.5 * side and 1.5 * side < cy < hh - 1.5 * side):
            continue
        r = np.hypot(xx - cx, yy - cy)
        ring = g[(r >= 0.9 * side) & (r <= 1.4 * side)]
        con.append(g[r <= max(1.5, side / 10.0)].mean() - np.median(ring))
    f = frame.astype(float)
    return {
        "background_grey": float(np.median(g)),
        "blue_minus_red": float(np.median(f[..., 0]) - np.median(f[..., 2])),
        "contrast": con,
        "sides": sides,
    }


def summarise(label: str, stats: list[dict], ms: float | None, extra: dict | None = None) -> dict:
    con = np.concatenate([s["contrast"] for s in stats]) if stats else np.zeros(0)
    sides = np.concatenate([s["sides"] for s in stats]) if stats else np.zeros(0)
    return {
        "case": label,
        "frames": len(stats),
        "heads": int(len(con)),
        "background_grey": float(np.median([s["background_grey"] for s in stats])),
        "blue_minus_red": float(np.median([s["blue_minus_red"] for s in stats])),
        "head_contrast_median": float(np.median(con)) if len(con) else float("nan"),
        "heads_darker_fraction": float(np.mean(con < 0)) if len(con) else float("nan"),
        "box_side_median_px": float(np.median(sides)) if len(sides) else float("nan"),
        "render_cpu_ms_per_frame": ms,
        **(extra or {}),
    }


def threshold_detect(frame: np.ndarray, bright: bool, head_px: float) -> np.ndarray:
    """Boxes (N, 5: x1 y1 x2 y2 score) of blobs 4 MADs brighter (``bright``) or darker than
    the local background (Gaussian of 1.5 head sides), each a head_px square on its centroid."""
    g = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)
    d = (g - cv2.GaussianBlur(g, (0, 0), 1.5 * head_px)) * (1.0 if bright else -1.0)
    d = cv2.GaussianBlur(d, (0, 0), max(head_px / 12.0, 0.7))
    mad = 1.4826 * float(np.median(np.abs(d - np.median(d)))) + 1e-3
    n, lab, stats, cent = cv2.connectedComponentsWithStats((d > 4.0 * mad).astype(np.uint8))
    out = []
    for k in range(1, n):
        if stats[k, 4] >= max(2.0, (head_px / 8.0) ** 2):
            cx, cy = cent[k]
            h = head_px / 2.0
            out.append((cx - h, cy - h, cx + h, cy + h, float(d[lab == k].max())))
    return np.asarray(out, np.float64).reshape(-1, 5)


def extent_detect(frame: np.ndarray, bright: bool) -> np.ndarray:
    """Boxes (N, 5: x1 y1 x2 y2 score) of issue 13's ten-line baseline
    (:class:`detector_looks.ThresholdBaseline`: one box around each blob's extent plus 2 px),
    which is *not* told the head size: it scores well only where the visible head fills its label."""
    b = ThresholdBaseline(dark=not bright).detect(frame[None])
    return np.stack([b.x1, b.y1, b.x2, b.y2, b.score], axis=1).astype(np.float64).reshape(-1, 5)


def threshold_ap50(frames: list[tuple[np.ndarray, np.ndarray]], find) -> float:
    """AP@0.5 (class-agnostic) over (frame, sperm boxes (N, 4)) of the boxes ``find(frame)``
    returns (N, 5: x1 y1 x2 y2 score), e.g. :func:`threshold_detect` or :func:`extent_detect`."""
    det = [(i, b) for i, (f, _) in enumerate(frames) for b in find(f)]
    gt = [(i, b) for i, (_, bs) in enumerate(frames) for b in bs]
    n = len(frames)

    def boxes(rows, score):
        if not rows:
            return Boxes([], [], [], [], [], num_frames=n)
        fr = [r[0] for r in rows]
        a = np.array([r[1] for r in rows], np.float64)
        kw = {"score": a[:, 4]} if score else {}
        return Boxes(fr, a[:, 0], a[:, 1], a[:, 2], a[:, 3], num_frames=n, **kw)

    return float(detection(boxes(gt, False), boxes(det, True), agnostic=True).mAP50)


def read_real(root: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    out = []
    for img in sorted(root.glob("*/images/*.jpg")):
        frame = cv2.imread(str(img))
        h, w = frame.shape[:2]
        lab = img.parent.parent / "labels" / (img.stem + ".txt")
        rows = np.loadtxt(lab, ndmin=2) if lab.exists() and lab.stat().st_size else np.zeros((0, 5))
        rows = rows[rows[:, 0] == 0]
        xyxy = np.stack(
            [(rows[:, 1] - rows[:, 3] / 2) * w, (rows[:, 2] - rows[:, 4] / 2) * h, (rows[:, 1] + rows[:, 3] / 2) * w,
             (rows[:, 2] + rows[:, 4] / 2) * h], axis=1,
        )  # fmt: skip
        out.append((img.parent.parent.name, frame, xyxy))
    return out


def crop(frame: np.ndarray, size=TILE) -> np.ndarray:
    """A native-pixel crop of ``size`` from the frame's centre (padded when smaller)."""
    h, w = frame.shape[:2]
    tw, th = size
    y0, x0 = max((h - th) // 2, 0), max((w - tw) // 2, 0)
    c = frame[y0 : y0 + th, x0 : x0 + tw]
    return cv2.copyMakeBorder(c, 0, th - c.shape[0], 0, tw - c.shape[1], cv2.BORDER_CONSTANT, value=(0, 0, 0))


def label(tile: np.ndarray, text: str) -> np.ndarray:
    tile = tile.copy()
    cv2.rectangle(tile, (0, 0), (8 + 7 * len(text), 16), (0, 0, 0), -1)
    cv2.putText(tile, text, (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return tile


def head_tiles(frame: np.ndarray, xyxy: np.ndarray, k: int = 4, half: int = 24, zoom: int = 2) -> list[np.ndarray]:
    """Up to ``k`` crops of 2*half px around heads away from the border, zoomed."""
    h, w = frame.shape[:2]
    out = []
    for x1, y1, x2, y2 in xyxy:
        cx, cy = int(0.5 * (x1 + x2)), int(0.5 * (y1 + y2))
        if half <= cx < w - half and half <= cy < h - half:
            c = frame[cy - half : cy + half, cx - half : cx + half]
            out.append(cv2.resize(c, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_NEAREST))
        if len(out) == k:
            break
    while len(out) < k:
        out.append(np.zeros((2 * half * zoom, 2 * half * zoom, 3), np.uint8))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--frames", type=int, default=6, help="frames rendered per case (for the CPU time)")
    ap.add_argument("--real", type=Path, default=None, help="real VISEM frames with labels (default: found next to the checkout)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--videos", type=int, default=8, help="videos per look for the threshold-detector check")
    args = ap.parse_args(argv)
    rows, tiles, heads = [], [], []
    # ---------------- real frames
    args.real = default_real() if args.real is None else args.real
    real = read_real(args.real) if args.real.is_dir() else []
    if real:
        light = [r for r in real if np.median(r[1][..., 0]) - np.median(r[1][..., 2]) > 15]
        dark = [r for r in real if r not in light]
        rows.append(summarise("real VISEM, phase (dark)", [head_stats(f, b) for _, f, b in dark], None))
        if light:
            rows.append(summarise("real VISEM, light", [head_stats(f, b) for _, f, b in light], None))
        pick = (dark[:3] + light[:1]) if light else dark[:4]
        tiles.append([label(crop(f), f"real VISEM {name}") for name, f, _ in pick])
        heads.append(("real VISEM", [t for _, f, b in pick[:2] for t in head_tiles(f, b, 2)]))
    else:
        print(f"no real frames under {args.real}: simulated rows only")
    # ---------------- simulated
    seed = args.seed
    for row in CASES:
        row_tiles = []
        for text, look, head_px, size in row:
            seed += 1
            v = simulate_video(seed=seed, num_frames=args.frames, look=look, head_px=head_px, image_size=size)
            v.frame(0)
            t0 = time.process_time()
            frames = list(v.frames())
            ms = 1000.0 * (time.process_time() - t0) / len(frames)
            f = frames[-1]
            b = v.boxes
            sel = (b.frame == len(frames) - 1) & (b.cls == 0)
            xyxy = np.stack([b.x1[sel], b.y1[sel], b.x2[sel], b.y2[sel]], axis=1)
            name = text if look != "random" else f"random: {v.look.name} {v.head_px:.0f}px {v.image_size[0]}x{v.image_size[1]}"
            if look == "random" and v.look.camera.grey:
                name += " grey"
            extra = {"look": v.look.name, "head_px": v.head_px, "image_size": list(v.image_size), "seed": seed,
                     "camera": v.look.camera.to_dict()}  # fmt: skip
            rows.append(summarise(name, [head_stats(f, xyxy)], ms, extra))
            row_tiles.append(label(crop(f), name))
            if name in HEAD_ROWS and name not in {h[0] for h in heads}:
                heads.append((name, head_tiles(f, xyxy, 4)))
        tiles.append(row_tiles)
    args.out.mkdir(parents=True, exist_ok=True)
    fig = np.vstack([np.hstack(r + [np.zeros_like(r[0])] * (4 - len(r))) for r in tiles])
    cv2.imwrite(str(args.out / "simulator_looks.png"), fig)
    head_rows = []
    for name, ts in heads:
        strip = np.hstack(ts[:4] + [np.zeros_like(ts[0])] * (4 - len(ts[:4])))
        head_rows.append(label(np.hstack([strip]), name))
    cv2.imwrite(str(args.out / "simulator_heads.png"), np.vstack(head_rows))
    print(f"{'case':<44} {'heads':>5} {'bg grey':>7} {'B-R':>6} {'contrast':>8} {'dark %':>6} {'box px':>6} {'ms/f':>6}")
    for r in rows:
        ms = "" if r["render_cpu_ms_per_frame"] is None else f"{r['render_cpu_ms_per_frame']:.1f}"
        print(
            f"{r['case']:<44} {r['heads']:>5} {r['background_grey']:>7.0f} {r['blue_minus_red']:>6.0f} {r['head_contrast_median']:>8.0f}"
            f" {100 * r['heads_darker_fraction']:>6.0f} {r['box_side_median_px']:>6.1f} {ms:>6}"
        )
    print("\nas markdown (docs/simulator.md):\n")
    print("| case | heads | background grey | blue − red | head contrast | dark % | box side px | render ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        ms = "" if r["render_cpu_ms_per_frame"] is None else f"{r['render_cpu_ms_per_frame']:.1f}"
        print(
            f"| {r['case']} | {r['heads']} | {r['background_grey']:.0f} | {r['blue_minus_red']:.0f} | {r['head_contrast_median']:+.0f}"
            f" | {100 * r['heads_darker_fraction']:.0f} | {r['box_side_median_px']:.1f} | {ms} |"
        )
    # ---------------- difficulty: a threshold detector told the polarity and head size
    diff = []
    if real:
        for text, part in (
            (f"real VISEM, phase (dark), {len(dark)} frames", dark),
            (f"real VISEM, light, {len(light)} frames", light),
        ):
            if part:
                pairs = [(f, b) for _, f, b in part]
                diff.append({"case": text, "ap50": [threshold_ap50(pairs, lambda f: threshold_detect(f, True, 23.0))],
                             "extent_ap50": [threshold_ap50(pairs, lambda f: extent_detect(f, True))]})  # fmt: skip
    for look, head_px, size in DIFFICULTY:
        aps, extent = [], []
        for k in range(args.videos):
            v = simulate_video(seed=1000 + k, num_frames=1, look=look, head_px=head_px, image_size=size)
            b = v.boxes
            sel = (b.frame == 0) & (b.cls == 0)
            xyxy = np.stack([b.x1[sel], b.y1[sel], b.x2[sel], b.y2[sel]], axis=1)
            bright = not v.look.dark_heads
            aps.append(threshold_ap50([(v.frame(0), xyxy)], lambda f, b=bright, h=v.head_px: threshold_detect(f, b, h)))
            extent.append(threshold_ap50([(v.frame(0), xyxy)], lambda f, b=bright: extent_detect(f, b)))
        text = f"{look} {head_px or 23:g}px" + (f" {size[0]}x{size[1]}" if size else "")
        diff.append({"case": text if look != "random" else "random (any look, size, scale)", "ap50": aps, "extent_ap50": extent})
    print(f"\nthreshold detectors told the polarity, AP@0.5 (sperm, class-agnostic), {args.videos} videos per look:")
    print("head-sized boxes (told the head size too) | boxes around the blob's extent (issue 13's baseline)")
    print("\n| case | head-sized: mean | min | max | blob extent: mean | min | max |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in diff:
        a, e = np.asarray(r["ap50"]), np.asarray(r["extent_ap50"])
        r["mean"], r["extent_mean"] = float(a.mean()), float(e.mean())
        print(
            f"| {r['case']} | {a.mean():.2f} | {a.min():.2f} | {a.max():.2f} | {e.mean():.2f} | {e.min():.2f} | {e.max():.2f} |"
        )
    with open(args.out / "simulator_looks.json", "w", encoding="utf-8") as fh:
        json.dump({"seed": args.seed, "frames_per_case": args.frames, "cases": rows, "threshold_ap50": diff}, fh, indent=1)
    print(f"wrote {args.out / 'simulator_looks.png'}, {args.out / 'simulator_heads.png'}, {args.out / 'simulator_looks.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
