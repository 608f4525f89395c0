"""Does detection hold on microscopes it has never seen? Sperm AP@0.5 per look, scale and real frames.

For each look family of the simulator (phase contrast, VISEM's light look, bright field,
negative phase contrast) at several head sizes and frame sizes, and for the real
VISEM-Tracking frames of ``shared/reference/visem/real_frames`` as they are, inverted (dark
heads, as bright field shows them) and at 0.5x and 2x magnification (and, as a diagnostic of
those labels, with their top edges restored: :func:`label_tops_restored`), this prints sperm
AP@0.5 of

- ``default``: the shipped model with the per-video self-calibration, its boxes fused with the
  classical detector's (what ``--detector auto`` runs, :mod:`spermtrack.detect.fusion`);
- ``unfused``: the same without the fusion (``fuse=False``: the default before the fusion);
- ``tta``: the default plus the mirrored pass of the model (``tta=True``, opt-in: twice the
  model's time);
- ``tta-unfused``: the mirrored pass instead of the fusion (``tta=True, fuse=False``: the
  model twice, the classical detector not at all);
- ``blob-scale``: the default without the scale search (``scale_search=False``: the
  blob-based scale, the default before);
- ``search-if-off``: the scale search run only where the model's boxes at the blob scale are
  more than 1.4x off its trained size (``scale_tolerance=1.4``: the default before the search
  ran on every video);
- ``default-raw``: the model without self-calibration (what spermtrack did before it);
- ``classical``: the classical detector with the self-calibration;
- ``threshold``: a plain threshold baseline written here (blur, background subtraction,
  threshold at 6 noise sigmas, connected components, one box per component), *told* the
  true polarity: what a ten-line script by a careful user gets.

Scores use every frame with conf 0.001 (as ultralytics' val), the classes of the labels.

    python benchmarks/detector_looks.py [--frames 20] [--videos 2] [--quick]

With ``--cases`` or ``--detectors`` the run updates those rows and columns of an existing
``--out`` file made with the same ``--frames``/``--videos`` and keeps the others.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np

from spermtrack.boxes import SPERM, Boxes
from spermtrack.detect import get_detector, run_detector
from spermtrack.detect.registry import SCALE_SEARCH_FACTORS, SCALE_SEARCH_TOLERANCE
from spermtrack.evaluate import detection
from spermtrack.simulate import simulate_video

RESULTS = Path(__file__).resolve().parent / "results"
REPO = Path(__file__).resolve().parents[1]

#: (label, look, head_px, image_size, heads dark?) of the simulated rows.
SIM_CASES = [
    ("phase 23px 640x480", "phase", None, None, False),
    ("phase 12px 640x480", "phase", 12.0, None, False),
    ("bright 23px 640x480", "bright", None, None, False),
    ("brightfield 17px 640x384", "brightfield", 17.0, (640, 384), True),
    ("brightfield 12px 698x528", "brightfield", 12.0, (698, 528), True),
    ("brightfield 30px 640x480", "brightfield", 30.0, None, True),
    ("negative-phase 15px 720x576", "negative-phase", 15.0, (720, 576), True),
    ("negative-phase 32px 1280x1024", "negative-phase", 32.0, (1280, 1024), True),
]


def default_real() -> Path:
    """``shared/reference/visem/real_frames`` beside the checkout, else the copy in tests/data."""
    for base in (REPO.parent, REPO.parent.parent):
        p = base / "shared" / "reference" / "visem" / "real_frames"
        if p.is_dir():
            return p
    return REPO / "tests" / "data" / "real_frames"


class ThresholdBaseline:
    """Blur, subtract the background, threshold at 6 robust sigmas, one box per component (told the polarity)."""

    name = "threshold"

    def __init__(self, dark: bool) -> None:
        self.dark = dark

    def detect(self, frames: np.ndarray, first_frame: int = 0) -> Boxes:
        rows = []
        for i, frame in enumerate(frames):
            g = cv2.GaussianBlur(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32), (5, 5), 1.5)
            r = g - cv2.blur(g, (61, 61))
            r = -r if self.dark else r
            sigma = 1.4826 * np.median(np.abs(r - np.median(r)))
            _, _, st, _ = cv2.connectedComponentsWithStats((r > 6 * max(sigma, 0.5)).astype(np.uint8))
            for x, y, w, h, a in st[1:]:
                if a >= 6:
                    rows.append((first_frame + i, x - 2, y - 2, x + w + 2, y + h + 2, min(1.0, a / 200)))
        if not rows:
            return Boxes.empty(first_frame + len(frames))
        a = np.array(rows, np.float64)
        return Boxes(a[:, 0].astype(np.int32), *a[:, 1:5].T.astype(np.float32), score=a[:, 5].astype(np.float32),
                     num_frames=first_frame + len(frames))  # fmt: skip


def sperm_ap50(gt: Boxes, det: Boxes) -> float:
    n = max(gt.num_frames, det.num_frames)
    res = detection(gt.replace(num_frames=n), det.replace(num_frames=n))
    return float(res.per_class["sperm"]["mAP50"]) if "sperm" in res.per_class else float("nan")


#: ``--model PATH --model-head-px N``: score this ONNX model in the "default" column instead of the shipped one.
MODEL: dict = {}


def add_model_arguments(ap: argparse.ArgumentParser) -> None:
    """``--model``, ``--model-head-px`` and ``--model-tolerance``: a candidate ONNX model in the "default" column."""
    ap.add_argument("--model", type=Path, default=None, help="an ONNX model to score as 'default' (a candidate)")
    ap.add_argument("--model-head-px", type=float, default=17.0, help="head box side the --model works at")
    ap.add_argument("--model-tolerance", type=float, default=1.4, help="head size range of the --model (x or / this)")


def use_model(ap: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Put the ``--model`` candidate (if given) behind :func:`default_detector`; a missing file is an argparse error."""
    if args.model is None:
        return
    if not args.model.is_file():
        ap.error(f"--model: no such file {args.model}")
    MODEL.update(path=args.model, head_px=args.model_head_px, tolerance=args.model_tolerance)


def default_detector(**options):
    """The default detector at conf 0.001 (``get_detector("auto")``), or the ``--model`` candidate behind the same calibration."""
    if not MODEL:
        return get_detector("auto", conf=0.001, **options)
    from spermtrack.detect.normalize import FusedDetector

    fuse = options.get("fuse", True)
    search = {
        "scale_factors": SCALE_SEARCH_FACTORS if options.get("scale_search", True) else (1.0,),
        "scale_tolerance": options.get("scale_tolerance", SCALE_SEARCH_TOLERANCE),
    }
    return FusedDetector(
        get_detector(f"onnx:{MODEL['path']}", conf=0.001),
        companion=get_detector("classical") if fuse else None,
        tta=options.get("tta", False),
        mask_overlays=options.get("mask_overlays", True),
        inner_head_px=MODEL["head_px"],
        size_tolerance=MODEL["tolerance"],
        **search,
    )


def detectors(dark: bool) -> dict:
    return {
        "default": default_detector,
        "unfused": lambda: default_detector(fuse=False),
        "tta": lambda: default_detector(tta=True),
        "tta-unfused": lambda: default_detector(tta=True, fuse=False),
        "blob-scale": lambda: default_detector(scale_search=False),
        "unmasked": lambda: default_detector(mask_overlays=False),
        "search-if-off": lambda: default_detector(scale_tolerance=1.4),
        "default-raw": lambda: get_detector("auto", conf=0.001, calibrate=False),
        "classical": lambda: get_detector("classical"),
        "threshold": lambda: ThresholdBaseline(dark),
    }


#: ``--detectors a,b``: only these columns.
ONLY: list = []


def score_frames(frames_gt: list[tuple[np.ndarray, Boxes]], dark: bool) -> dict:
    """Sperm AP@0.5 of each detector over several videos (each ``(frames, gt)``), boxes pooled."""
    out = {}
    for name, make in detectors(dark).items():
        if ONLY and name not in ONLY:
            continue
        gts, dets, t = [], [], 0.0
        offset = 0
        for frames, gt in frames_gt:
            t0 = time.process_time()
            det = run_detector(make(), frames, batch_size=8)
            t += time.process_time() - t0
            gts.append(_shifted(gt.replace(num_frames=len(frames)), offset))
            dets.append(_shifted(det.replace(num_frames=len(frames)), offset))
            offset += len(frames)
        out[name] = round(sperm_ap50(Boxes.concat(gts, num_frames=offset), Boxes.concat(dets, num_frames=offset)), 3)
        out[name + "_cpu_ms_per_frame"] = round(1000 * t / offset, 1)
    return out


def _shifted(b: Boxes, offset: int) -> Boxes:
    """``b`` with every frame moved by ``offset`` (videos pooled into one sequence)."""
    return b.replace(frame=(b.frame + offset).astype(np.int32), num_frames=b.num_frames + offset)


def label_tops_restored(b: Boxes, base: list[tuple[np.ndarray, Boxes]]) -> Boxes:
    """``b`` with each box's top edge raised by the median (width - height) of all labels in ``base``.

    A diagnostic of the real frames' labels, not a score to quote: the boxes recovered from the
    preview video's outlines are 4 px shorter than wide (median 26.8 x 22.7 px), where
    VISEM-Tracking's mean sperm box is square (23.5 x 22.9 px, ``class_sizes.json``); their
    centres sit 2.5 px below the heads' for both the model and the classical detector, while
    bottom and side edges agree (probably because the preview draws each box's label text on
    its top edge). The row scores the detectors against labels whose top edge is put back by that
    one number, computed from the labels themselves.
    """
    w = np.concatenate([np.asarray(g.x2 - g.x1, float) for _, g in base])
    h = np.concatenate([np.asarray(g.y2 - g.y1, float) for _, g in base])
    lift = max(float(np.median(w - h)), 0.0)
    return b.replace(y1=np.maximum(b.y1 - lift, 0.0))


def real_cases(root: Path) -> dict[str, tuple[list, bool]]:
    """The real frames as they are, inverted, and at 0.5x / 2x (one 'video' per frame)."""
    from spermtrack.io.visem import VisemDataset

    ds = VisemDataset(root)
    base = []
    for vid in ds.video_ids:
        v = ds.video(vid)
        with v.open_frames() as src:
            frames = np.stack(list(src))
        base.append((frames, v.labels()))

    def scaled(f, s):
        return np.stack([cv2.resize(x, None, fx=s, fy=s, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR) for x in f])

    def gt_scaled(b, s):
        return b.replace(x1=b.x1 * s, y1=b.y1 * s, x2=b.x2 * s, y2=b.y2 * s)

    return {
        "real VISEM frames": (base, False),
        "real, label tops restored (diagnostic)": ([(f, label_tops_restored(g, base)) for f, g in base], False),
        "real, inverted (dark heads)": ([(255 - f, g) for f, g in base], True),
        "real, 0.5x": ([(scaled(f, 0.5), gt_scaled(g, 0.5)) for f, g in base], False),
        "real, 2x": ([(scaled(f, 2.0), gt_scaled(g, 2.0)) for f, g in base], False),
        "real, inverted 0.6x": ([(255 - scaled(f, 0.6), gt_scaled(g, 0.6)) for f, g in base], True),
    }


def print_table(rows: dict, names: list, heading: str = "case", counts: bool = True) -> None:
    """Print ``rows`` (label -> scores) as a markdown table of the ``names`` columns, each checked to lie in [0, 1]."""
    print(f"\n| {heading} | " + ("sperm boxes | " if counts else "") + " | ".join(names) + " |")
    print("| --- | " + ("---: | " if counts else "") + " | ".join("---:" for _ in names) + " |")
    for label, r in rows.items():
        print(f"| {label} | " + (f"{r['sperm_boxes']} | " if counts else "") + " | ".join(f"{r[n]:.3f}" for n in names) + " |")
    for name in names:
        assert all(0.0 <= r[name] <= 1.0 for r in rows.values() if r[name] == r[name]), name


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=20, help="frames per simulated video")
    ap.add_argument("--videos", type=int, default=2, help="simulated videos per case")
    ap.add_argument("--real", type=Path, default=None, help="VISEM-layout root of real frames (default: real_frames)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 2 cases, 4 frames, 1 video")
    ap.add_argument("--out", type=Path, default=RESULTS / "detector_looks.json")
    add_model_arguments(ap)
    ap.add_argument("--cases", default=None, help="comma-separated substrings: only the cases whose label holds one")
    ap.add_argument("--detectors", default=None, help="comma-separated columns to run (default: all)")
    args = ap.parse_args(argv)
    if args.detectors:
        ONLY[:] = [d.strip() for d in args.detectors.split(",")]
        unknown = sorted(set(ONLY) - set(detectors(False)))
        if unknown:
            ap.error(f"--detectors: unknown column(s) {unknown}; choose from {list(detectors(False))}")
    use_model(ap, args)
    wanted = [c.strip() for c in args.cases.split(",")] if args.cases else None
    cases = SIM_CASES[:2] if args.quick else SIM_CASES
    n_frames, n_videos = (4, 1) if args.quick else (args.frames, args.videos)
    rows = {}
    for label, look, head_px, size, dark in cases:
        if wanted and not any(w in label for w in wanted):
            continue
        vids = []
        for k in range(n_videos):
            v = simulate_video(seed=900 + 17 * k, num_frames=n_frames, look=look, head_px=head_px, image_size=size)
            gt = v.boxes
            vids.append((np.stack(list(v.frames())), gt))
        rows[label] = {**score_frames(vids, dark), "sperm_boxes": int(sum((g.cls == SPERM).sum() for _, g in vids))}
        print(label, rows[label], flush=True)
    real = args.real or default_real()
    for label, (vids, dark) in real_cases(real).items():
        if (args.quick and label != "real VISEM frames") or (wanted and not any(w in label for w in wanted)):
            continue
        rows[label] = {**score_frames(vids, dark), "sperm_boxes": int(sum((g.cls == SPERM).sum() for _, g in vids))}
        print(label, rows[label], flush=True)
    print_table(rows, [n for n in detectors(False) if not ONLY or n in ONLY])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if (wanted or ONLY) and args.out.is_file():  # a partial run updates its rows and columns, keeping the others
        old = json.loads(args.out.read_text())
        if (old.get("frames"), old.get("videos")) == (n_frames, n_videos):
            for label, r in rows.items():
                old["rows"][label] = {**old["rows"].get(label, {}), **r}
            rows = old["rows"]
    args.out.write_text(json.dumps({"frames": n_frames, "videos": n_videos, "real": str(real), "rows": rows}, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
