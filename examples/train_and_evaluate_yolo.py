"""Train a YOLO detector on a VISEM-layout root and score it as the paper's Table 2.

    python examples/train_and_evaluate_yolo.py [ROOT] [--model spermyolo_p3.yaml] [--epochs 1] [--imgsz 320] [--device cpu]

Without ROOT the script simulates a tiny root (3 videos of 24 frames) and trains for one
epoch at 320 px on the CPU: a smoke run that takes a minute or two and shows every
step; its scores mean nothing. For a real model, train on the real VISEM-Tracking
dataset (or a large simulated one) for 100+ epochs at 640 px on a GPU, as
docs/detection.md describes. Nothing is downloaded: models start from their yaml.

Needs the ``yolo`` extra: pip install 'spermtrack[yolo]'.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from spermtrack.detect import YoloDetector, run_detector
from spermtrack.detect.train import train
from spermtrack.errors import MissingDependencyError, require
from spermtrack.evaluate import detection_many
from spermtrack.io.visem import VisemDataset


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("root", nargs="?", type=Path, help="VISEM-layout root (default: simulate a tiny one)")
    p.add_argument(
        "--model", default="spermyolo_p3.yaml", help="model yaml (spermyolo_p3.yaml, yolov5nu.yaml, yolov8n.yaml, ...)"
    )
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--imgsz", type=int, default=320)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--device", default="auto", help="auto, cpu, 0, ...")
    p.add_argument("--out", type=Path, default=None, help="run folder (default: a temporary one)")
    args = p.parse_args()
    require("ultralytics", "yolo", "examples/train_and_evaluate_yolo.py")  # before simulating: ultralytics and torch

    with tempfile.TemporaryDirectory() as scratch:
        root = args.root
        if root is None:
            from spermtrack.simulate import simulate_dataset

            root = Path(scratch) / "sim"
            simulate_dataset(root, n_videos=3, num_frames=24, seed=0, workers=1, mp4=False, val_fraction=0.34)
            print(f"No root given: simulated 3 videos of 24 frames in {root}")
        out = args.out or Path(scratch) / "runs"
        best = train(
            root,
            model=args.model,
            epochs=args.epochs,
            imgsz=args.imgsz,
            batch=args.batch,
            device=args.device,
            out=out,
            workers=0,
            export_onnx=False,
        )
        print(f"Trained: {best}")

        ds = VisemDataset(root)
        detector = YoloDetector(best, device=args.device, imgsz=args.imgsz, conf=0.001)
        pairs = {}
        for vid in ds.split("val"):
            video = ds.video(vid)
            with video.open_frames() as frames:
                pairs[vid] = (video.labels(), run_detector(detector, frames, batch_size=8))
        scores = detection_many(pairs)
        print(f"\nDetection on the validation split ({', '.join(pairs)}), as Table 2 of the VISEM-Tracking paper:")
        print(scores.table())


if __name__ == "__main__":
    try:
        main()
    except MissingDependencyError as exc:  # one line naming the extra to install, not a traceback
        sys.exit(f"error: {exc}")
