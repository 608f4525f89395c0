"""Does detection hold when the camera changes? Sperm AP@0.5 on real and simulated frames under camera degradations.

Labs record the same cells through other optics, cameras and codecs. This takes the ten real
VISEM-Tracking frames of ``shared/reference/visem/real_frames`` (their labels with the top
edges restored, :func:`detector_looks.label_tops_restored`: the row that measures the
detectors rather than the labels' offset) and two simulated looks (phase contrast at 23 px,
bright field at 17 px in 640x384), degrades them as a camera chain would, and prints sperm
AP@0.5 of

- ``default``: ``--detector auto`` as shipped (self-calibration, scale search, fusion, size prior);
- ``classical``: the classical detector with the self-calibration;
- ``threshold``: the plain threshold baseline of ``detector_looks.py``, told the polarity.

The degradations: defocus (Gaussian blur, sigma 1.5 and 3 px), sensor noise (Gaussian,
sigma 10 and 20 grey levels; ``--repeats`` seeded draws of each, pooled, since one draw over
ten frames moves AP@0.5 by up to 0.05), JPEG at quality 15, uneven illumination (a gradient
and a vignette: 0.43x to 1.32x of the original brightness between the 5th and 95th
percentile of pixels, 0.1x to 1.4x at the corners), contrast x0.4, gamma 0.5 and 2, a colour cast, and two chains of
another lab's bright field (inverted, uneven illumination, noise; inverted, blur, low
contrast, JPEG), and burnt-in overlays (a white text panel with a logo across the bottom, a
black time-stamp box with a scale bar, letterbox bars; the labels of heads under a panel are
dropped). ``--detectors default,unmasked`` adds the default detector without its overlay
mask (``mask_overlays=False``).

    python benchmarks/detector_robustness.py [--frames 20] [--videos 2] [--repeats 3] [--quick] [--cases ...]
        [--detectors ...] [--out results/detector_robustness.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import detector_looks as looks
import numpy as np

from spermtrack.boxes import SPERM
from spermtrack.detect.overlay import drop_boxes_in_overlays
from spermtrack.simulate import simulate_video

RESULTS = Path(__file__).resolve().parent / "results"
COLUMNS = ["default", "classical", "threshold"]
#: Columns that run only when asked (``--detectors``): the default detector without its overlay mask.
OPTIONAL_COLUMNS = ["unmasked"]


class _Noise:
    """Gaussian sensor noise of ``sigma`` grey levels; :meth:`reseed` starts a new draw (repeats pool several)."""

    random = True

    def __init__(self, sigma: float) -> None:
        self.sigma = sigma
        self.rng = np.random.default_rng(0)

    def reseed(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def __call__(self, x):
        return np.clip(x + self.rng.normal(0.0, self.sigma, x.shape), 0, 255).astype(np.uint8)


def _jpeg(quality: int):
    return lambda x: cv2.imdecode(cv2.imencode(".jpg", x, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], cv2.IMREAD_COLOR)


def _illumination(amount: float):
    """A linear gradient and a vignette; ``amount`` 0.8 spans 0.1x-1.4x of the brightness corner to corner."""

    def f(x):
        h, w = x.shape[:2]
        yy, xx = np.mgrid[0:h, 0:w]
        gain = (
            1
            + amount * ((xx / w - 0.5) + 0.6 * (yy / h - 0.5))
            - 0.6 * amount * (((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2)
        )
        return np.clip(x * gain[..., None], 0, 255).astype(np.uint8)

    return f


def _contrast(c: float):
    return lambda x: np.clip((x.astype(np.float32) - x.mean()) * c + x.mean(), 0, 255).astype(np.uint8)


def _gamma(g: float):
    return lambda x: np.clip(255 * (x / 255.0) ** g, 0, 255).astype(np.uint8)


def _blur(sigma: float):
    return lambda x: cv2.GaussianBlur(x, (0, 0), sigma)


def _cast(x):
    return np.clip(x * np.array([0.7, 1.0, 1.25]), 0, 255).astype(np.uint8)


def _invert(x):
    return 255 - x


class BurntInPanel:
    """A burnt-in overlay drawn over every frame: ``kind`` "text panel" (a white panel with black text and a
    coloured logo across the bottom, as the real frames' preview draws its watermark), "time stamp" (a black box
    with white text at the top left, and a small white scale bar) or "letterbox" (black bars at top and bottom).
    :meth:`rects` are the panels (x, y, w, h); the labels of heads under them are dropped (nobody can see them)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def rects(self, width: int, height: int) -> list[tuple[int, int, int, int]]:
        if self.kind == "text panel":
            return [(int(0.12 * width), int(0.77 * height), int(0.85 * width), int(0.19 * height))]
        if self.kind == "time stamp":
            return [(int(0.03 * width), int(0.03 * height), int(0.32 * width), int(0.08 * height))]
        bar = int(0.1 * height)
        return [(0, 0, width, bar), (0, height - bar, width, bar)]

    def __call__(self, x):
        out = x.copy()
        h, w = x.shape[:2]
        for rx, ry, rw, rh in self.rects(w, h):
            ink = (255, 255, 255) if self.kind == "time stamp" else (0, 0, 0)
            out[ry : ry + rh, rx : rx + rw] = (0, 0, 0) if self.kind != "text panel" else (255, 255, 255)
            if self.kind == "letterbox":
                continue
            text = "2026-12-06 12:03:55.48" if self.kind == "time stamp" else "LabScope 40x  sample 17"
            left = rx + (rh if self.kind == "text panel" else rh // 4)  # the panel's logo sits left of its text
            room = rx + rw - rh // 4 - left
            scale = min(rh / 40.0, room / cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 1.0, 2)[0][0])
            cv2.putText(out, text, (left, ry + int(0.7 * rh)), cv2.FONT_HERSHEY_SIMPLEX, scale, ink, max(1, int(2 * scale)))
            if self.kind == "text panel":
                cv2.circle(out, (rx + rh // 2, ry + rh // 2), rh // 3, (40, 90, 230), -1)
        if self.kind == "time stamp":  # a scale bar: too small to be a panel, left to the detectors
            cv2.rectangle(out, (int(0.8 * w), int(0.93 * h)), (int(0.8 * w) + w // 10, int(0.93 * h) + 3), (255, 255, 255), -1)
        return out


class _Chain:
    def __init__(self, *steps) -> None:
        self.steps = steps
        #: True when a step draws at random (then repeats pool several draws; else one pass is all there is)
        self.random = any(getattr(step, "random", False) for step in steps)

    def reseed(self, seed: int) -> None:
        for step in self.steps:
            if getattr(step, "random", False):
                step.reseed(seed)

    def __call__(self, x):
        for step in self.steps:
            x = step(x)
        return x


def _visible(gt, fn, frames):
    """``gt`` without the labels a burnt-in panel of ``fn`` hides (all of them for other degradations)."""
    if not isinstance(fn, BurntInPanel):
        return gt
    return drop_boxes_in_overlays(gt, fn.rects(frames.shape[2], frames.shape[1]))


def degradations() -> dict:
    """Label -> (per-frame function, inverts the polarity?)."""
    return {
        "as recorded": (lambda x: x, False),
        "defocus blur 1.5 px": (_blur(1.5), False),
        "defocus blur 3 px": (_blur(3.0), False),
        "sensor noise 10": (_Noise(10), False),
        "sensor noise 20": (_Noise(20), False),
        "JPEG quality 15": (_jpeg(15), False),
        "uneven illumination": (_illumination(0.8), False),
        "contrast x0.4": (_contrast(0.4), False),
        "gamma 0.5": (_gamma(0.5), False),
        "gamma 2": (_gamma(2.0), False),
        "colour cast": (_cast, False),
        "inverted + uneven + noise 8": (_Chain(_invert, _illumination(0.8), _Noise(8)), True),
        "inverted + blur 2 + contrast x0.6 + JPEG 20": (_Chain(_invert, _blur(2.0), _contrast(0.6), _jpeg(20)), True),
        "burnt-in text panel": (BurntInPanel("text panel"), False),
        "burnt-in time stamp and scale bar": (BurntInPanel("time stamp"), False),
        "letterbox bars": (BurntInPanel("letterbox"), False),
    }


def sources(n_frames: int, n_videos: int, quick: bool) -> dict:
    """Label -> (list of (frames, labels), heads dark?)."""
    real = looks.real_cases(looks.default_real())["real, label tops restored (diagnostic)"][0]
    out = {"real VISEM frames (label tops restored)": (real, False)}
    if quick:
        return out
    for label, look, head_px, size, dark in (
        ("simulated phase 23px 640x480", "phase", None, None, False),
        ("simulated brightfield 17px 640x384", "brightfield", 17.0, (640, 384), True),
    ):
        videos = []
        for k in range(n_videos):  # the demo's density: the rows measure the camera, not a sparse sample's debris
            v = simulate_video(seed=900 + 17 * k, num_frames=n_frames, look=look, head_px=head_px, image_size=size, density=25)
            videos.append((np.stack(list(v.frames())), v.boxes))
        out[label] = (videos, dark)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=20, help="frames of each simulated video")
    ap.add_argument("--videos", type=int, default=2, help="simulated videos per look")
    ap.add_argument("--repeats", type=int, default=3, help="draws of each random degradation (noise), pooled")
    ap.add_argument("--quick", action="store_true", help="smoke run: the real frames, 3 degradations (or --cases)")
    ap.add_argument("--out", type=Path, default=RESULTS / "detector_robustness.json")
    ap.add_argument("--model", type=Path, default=None, help="an ONNX model to score as 'default' (a candidate)")
    ap.add_argument("--model-head-px", type=float, default=17.0, help="head box side the --model works at")
    ap.add_argument(
        "--detectors", default=None, help=f"comma-separated columns to run (default: {COLUMNS}; also {OPTIONAL_COLUMNS})"
    )
    ap.add_argument("--cases", default=None, help="comma-separated substrings: only the degradations whose label holds one")
    args = ap.parse_args(argv)
    columns = [d.strip() for d in args.detectors.split(",")] if args.detectors else list(COLUMNS)
    unknown = sorted(set(columns) - set(COLUMNS + OPTIONAL_COLUMNS))
    if unknown:
        ap.error(f"--detectors: unknown column(s) {unknown}; choose from {COLUMNS + OPTIONAL_COLUMNS}")
    looks.ONLY[:] = columns
    if args.model is not None:
        looks.MODEL.update(path=args.model, head_px=args.model_head_px, tolerance=1.4)
    cases = degradations()
    if args.quick and not args.cases:
        cases = {k: cases[k] for k in ("as recorded", "sensor noise 20", "colour cast")}
    if args.cases:
        wanted = [c.strip() for c in args.cases.split(",") if c.strip()]
        cases = {k: v for k, v in cases.items() if any(c in k for c in wanted)}
        if not cases:
            ap.error(f"--cases: no degradation matches {wanted}")
    rows = {}
    for source, (videos, dark) in sources(args.frames, args.videos, args.quick).items():
        for label, (fn, inverts) in cases.items():
            degraded = []
            random = getattr(fn, "random", False)
            for seed in range(args.repeats if random else 1):
                if random:
                    fn.reseed(seed)
                degraded += [(np.stack([fn(f) for f in frames]), _visible(gt, fn, frames)) for frames, gt in videos]
            r = looks.score_frames(degraded, dark != inverts)
            rows[f"{source}: {label}"] = {**r, "sperm_boxes": int(sum((g.cls == SPERM).sum() for _, g in videos))}
            print(f"{source}: {label}", {k: r[k] for k in columns}, flush=True)
    looks.print_table(rows, columns, heading="source: degradation", counts=False)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"frames": args.frames, "videos": args.videos, "repeats": args.repeats, "rows": rows}, indent=1)
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
