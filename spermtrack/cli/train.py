"""``spermtrack train``: train a YOLO detector on a VISEM-layout root (real or simulated), offline."""

from __future__ import annotations

from . import add_quiet, check_output_folder, check_positive, deprecated_alias


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a YOLO detector on a VISEM-layout root (official split or folds)",
        description=(
            "Train a YOLO detector with ultralytics from a model yaml (random initialisation, nothing is downloaded) "
            "on the official split (or a leave-videos-out fold) of a VISEM-layout root, real or simulated. "
            "Writes OUT/NAME/weights/best.pt and best.onnx. Needs the 'yolo' extra."
        ),
    )
    p.add_argument("root", help="VISEM-layout root (videos found at any depth)")
    p.add_argument(
        "--model",
        default="yolov5nu.yaml",
        help="yolov5nu.yaml (the paper), yolov8n.yaml, yolo11n.yaml, spermyolo_p3.yaml or a path",
    )
    p.add_argument("--epochs", type=int, default=100, metavar="N", help="training epochs")
    p.add_argument("--imgsz", type=int, default=640, metavar="PX", help="training image size in pixels (long side)")
    p.add_argument("--batch-size", type=int, default=16, metavar="B", help="images per training batch")
    deprecated_alias(p, "--batch", "--batch-size")
    p.add_argument("--split", default="official", help="'official' or 'fold:K' (0-based fold of --folds)")
    p.add_argument("--folds", type=int, default=5, help="number of leave-videos-out folds for --split fold:K")
    p.add_argument("--device", default="auto", help="auto, cpu, 0, cuda:1, mps")
    p.add_argument("-o", "--out", default="runs/spermtrack", help="project folder for runs (a run writes OUT/NAME)")
    p.add_argument("--name", default="train", help="run name (folder OUT/NAME)")
    p.add_argument("--seed", type=int, default=0, help="training seed")
    p.add_argument("--workers", type=int, default=2, help="data-loader worker processes")
    p.add_argument("--frame-step", type=int, default=1, help="use every N-th training frame")
    p.add_argument("--val-frame-step", type=int, default=None, help="use every N-th validation frame (default: --frame-step)")
    p.add_argument(
        "--no-augment", action="store_true", help="ultralytics' default augmentation only (no photometric degradations)"
    )
    p.add_argument("--no-onnx", action="store_true", help="do not export best.onnx")
    p.add_argument("--patience", type=int, default=100, help="early stopping patience in epochs")
    add_quiet(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..detect.train import train

    check_positive(args, "--epochs", "--imgsz", "--batch-size", "--folds", "--frame-step", "--val-frame-step")
    check_output_folder(args.out)
    best = train(
        args.root,
        model=args.model,
        epochs=args.epochs,
        imgsz=args.imgsz,
        batch=args.batch_size,
        split=args.split,
        folds=args.folds,
        device=args.device,
        out=args.out,
        name=args.name,
        seed=args.seed,
        workers=args.workers,
        frame_step=args.frame_step,
        val_frame_step=args.val_frame_step,
        augment=not args.no_augment,
        export_onnx=not args.no_onnx,
        patience=args.patience,
        verbose=not args.quiet,
    )
    print(f"best weights: {best}")
    onnx = best.with_suffix(".onnx")
    if onnx.is_file():
        print(f"ONNX export:  {onnx}")
    return 0
