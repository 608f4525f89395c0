"""Frames per second of each detector on 640x480 frames, per device, in one run.

Detectors: the classical detector (one OpenCV thread, and all threads), the shipped default
model through OpenCV DNN (ONNX, no torch) and through ultralytics/torch (CPU, and CUDA in half
precision when a GPU is present), and the stock ``yolov8n.yaml`` / ``yolov5nu.yaml`` networks
(untrained: same compute as trained) as the reference in the same run; ratios are printed
against the stock YOLOv8n on the same device. Frames come from the simulator (phase look)
and are held in memory, so only detection is timed; ``--e2e`` adds the classical detector
reading a JPEG folder through ``run_detector`` (decoding in a background thread).

    python benchmarks/detector_speed.py [--frames 200] [--repeats 3] [--quick] [--e2e]

Writes benchmarks/results/detector_speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

os.environ.setdefault("YOLO_OFFLINE", "1")

RESULTS = Path(__file__).resolve().parent / "results"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def make_frames(n: int, seed: int = 0) -> np.ndarray:
    """``n`` simulated 640x480 frames (phase-contrast look); blobs on noise if the simulator is missing."""
    try:
        from spermtrack.simulate import simulate_video

        video = simulate_video(seed=seed, num_frames=n, look="phase")
        return np.stack(list(video.frames()))
    except ImportError:
        rng = np.random.default_rng(seed)
        frames = np.empty((n, 480, 640, 3), np.uint8)
        for i in range(n):
            img = np.full((480, 640), 70, np.uint8)
            for x, y in rng.uniform([10, 10], [630, 470], (40, 2)).astype(int):
                cv2.circle(img, (int(x), int(y)), 5, 210, -1)
            frames[i] = np.repeat(cv2.add(img, rng.integers(0, 12, img.shape, dtype=np.uint8))[..., None], 3, 2)
        return frames


def time_detector(det, frames: np.ndarray, batch: int, repeats: int) -> tuple[float, int]:
    """Best-of-``repeats`` frames/s of ``det.detect`` over ``frames`` in batches; also the box count."""
    det.detect(frames[:batch])  # warm-up (lazy init, JIT, cudnn autotune)
    best, boxes = 0.0, 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        boxes = 0
        for i in range(0, len(frames), batch):
            boxes += len(det.detect(frames[i : i + batch], first_frame=i))
        best = max(best, len(frames) / (time.perf_counter() - t0))
    return best, boxes


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="at most 50 frames, 2 repeats")
    ap.add_argument("--e2e", action="store_true", help="also time the classical detector reading JPEGs end to end")
    ap.add_argument("--out", default=str(RESULTS / "detector_speed.json"))
    args = ap.parse_args(argv)
    if args.quick:
        args.frames, args.repeats = min(args.frames, 50), min(args.repeats, 2)

    from spermtrack.detect import ClassicalDetector, default_weights
    from spermtrack.detect.onnx import OnnxYoloDetector

    frames = make_frames(args.frames)
    cpu = cpu_name()
    threads = cv2.getNumThreads()
    rows: list[dict] = []

    def add(name, device, fps, boxes, note=""):
        rows.append({"detector": name, "device": device, "frames_per_s": round(fps, 1), "boxes": boxes, "note": note})
        print(f"  {name:<34} {device:<40} {fps:8.1f} frames/s  {note}", flush=True)

    print(f"{len(frames)} frames of 640x480, best of {args.repeats}; CPU: {cpu}, {os.cpu_count()} cores")
    # classical: one thread (the bar: >= 300 frames/s) and OpenCV's default threads
    cv2.setNumThreads(1)
    fps, n = time_detector(ClassicalDetector(), frames, 16, args.repeats)
    add("classical", f"CPU x1 thread ({cpu})", fps, n, "bar: >= 300 frames/s on one core")
    cv2.setNumThreads(threads)
    fps, n = time_detector(ClassicalDetector(), frames, 16, args.repeats)
    add("classical", f"CPU x{threads} threads", fps, n)

    onnx = default_weights("onnx")
    if onnx is not None:
        fps, n = time_detector(OnnxYoloDetector(onnx, conf=0.25), frames, 16, args.repeats)
        add("default model, ONNX via OpenCV DNN", f"CPU x{threads} threads", fps, n, "no torch")

    try:
        import torch

        from spermtrack.detect import YoloDetector
    except ImportError:
        torch = None
        print("  (torch/ultralytics not installed: YOLO rows skipped)")
    if torch is not None:
        devices = ["cpu"] + (["0"] if torch.cuda.is_available() else [])
        pt = default_weights("pt")
        for dev in devices:
            dname = f"CPU x{torch.get_num_threads()} threads" if dev == "cpu" else f"CUDA {torch.cuda.get_device_name(0)} (fp16)"
            batch = 16 if dev == "cpu" else 64
            ref = None
            for label, weights in (("stock yolov8n.yaml (reference)", "yolov8n.yaml"), ("stock yolov5nu.yaml", "yolov5nu.yaml")):
                det = YoloDetector(weights, device=dev, conf=0.25, batch=batch, class_map={0: 0, 1: 1, 2: 2})
                fps, n = time_detector(det, frames, batch, args.repeats)
                ref = ref or fps
                add(label, dname, fps, n, "untrained, same compute as trained")
            if pt is not None:
                fps, n = time_detector(YoloDetector(pt, device=dev, conf=0.25, batch=batch), frames, batch, args.repeats)
                add("default model, .pt via ultralytics", dname, fps, n, f"{fps / ref:.2f}x stock yolov8n")

    if args.e2e:
        from spermtrack.detect import run_detector

        with tempfile.TemporaryDirectory() as tmp:
            for i, f in enumerate(frames):
                cv2.imwrite(os.path.join(tmp, f"frame_{i}.jpg"), f)
            cv2.setNumThreads(1)
            det = ClassicalDetector()
            t0 = time.perf_counter()
            out = run_detector(det, tmp, batch_size=16)
            fps = out.num_frames / (time.perf_counter() - t0)
            cv2.setNumThreads(threads)
            add("classical + JPEG decoding (run_detector)", "CPU x1 thread + decoder thread", fps, len(out))

    ref_rows = {r["device"]: r["frames_per_s"] for r in rows if "reference" in r["detector"]}
    for r in rows:
        ref = ref_rows.get(r["device"]) or next(iter(ref_rows.values()), None)
        r["vs_stock_yolov8n"] = round(r["frames_per_s"] / ref, 2) if ref else None
    print()
    print(f"{'detector':<38} {'device':<40} {'frames/s':>9} {'vs yolov8n':>10}")
    for r in rows:
        ratio = f"{r['vs_stock_yolov8n']:.2f}x" if r["vs_stock_yolov8n"] else "-"
        print(f"{r['detector']:<38} {r['device'][:40]:<40} {r['frames_per_s']:>9.1f} {ratio:>10}")
    result = {
        "frames": len(frames),
        "frame_size": [640, 480],
        "repeats": args.repeats,
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "opencv": cv2.__version__,
        "rows": rows,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2))
    os.replace(tmp, out)
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
