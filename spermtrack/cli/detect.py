"""``spermtrack detect`` (detections of a video to a MOT file) and ``spermtrack detect-eval`` (Table 2 scores)."""

from __future__ import annotations

import argparse
import json
import sys

from ..detect.spec import DetectorSpec, is_ground_truth
from ..errors import ParameterError, SpermtrackError
from . import (
    DETECTOR_HELP,
    add_quiet,
    check_output_file,
    check_positive,
    deprecated_alias,
    parse_classes,
    seed_type,
    show_progress,
)

#: Largest ``detect-eval --fp-per-frame``: 1000 false positives per frame is more than a
#: 640x480 frame holds side by side (about 580 boxes of 23x23 px); each costs memory in every frame.
MAX_FP_PER_FRAME = 1000.0

#: DetectorSpec fields whose options this module writes itself (their defaults and help differ
#: per command); every other field's option comes from the field's own metadata.
_OWN_FIELDS = ("name", "conf", "iou", "device")


def _detector_options(p: argparse.ArgumentParser, conf_default: float, ground_truth: bool = True) -> None:
    from ..analysis.options import add_config_arguments

    shown = DETECTOR_HELP if ground_truth else DETECTOR_HELP.rpartition("; gt")[0]  # detect writes detections, not labels
    p.add_argument("--detector", default="auto", help=shown)
    p.add_argument("--conf", type=float, default=None, metavar="P", help=f"YOLO score threshold (default {conf_default:g})")
    p.add_argument("--iou", type=float, default=None, metavar="T", help="YOLO NMS IoU threshold (default 0.7)")
    p.add_argument(
        "--device",
        default=None,
        help="YOLO device: auto, cpu, mps, cuda, cuda:N or CUDA GPU indices such as 0 or 0,1 (default: auto)",
    )
    p.add_argument("--batch-size", type=int, default=16, metavar="B", help="frames per detector call")
    deprecated_alias(p, "--batch", "--batch-size")
    # --polarity, --head-px and the on/off switches (--fuse, --tta, --hedge, ...), as analyze has them
    add_config_arguments(p, DetectorSpec, exclude=_OWN_FIELDS, config_flag=False, title="detector settings")


def _detector_kwargs(args) -> dict:
    """The :func:`~spermtrack.detect.get_detector` keywords given on the command line (none left at default).

    Checked by :class:`~spermtrack.detect.spec.DetectorSpec`, the one place that knows which
    option applies to which detector (``--conf`` to YOLO models, ``--polarity`` to the
    self-calibrated ones, ``--no-fuse`` to the fused ones): a misplaced one is a one-line error.
    """
    from ..analysis.options import config_from_args

    base = DetectorSpec.parse(args.detector, conf=args.conf, iou=args.iou, device=args.device)
    return config_from_args(args, DetectorSpec, base=base, exclude=_OWN_FIELDS).kwargs()


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "detect",
        help="detect sperm in a video and write the detections as a MOTChallenge file",
        description="Run a detector over a video file, an image folder or a VISEM video folder and write MOT lines "
        "(frame,-1,x,y,w,h,score,class,-1,-1; 1-based frames).",
    )
    p.add_argument("source", help="video file, image folder or VISEM video folder")
    p.add_argument("-o", "--out", required=True, metavar="DETS.txt", help="MOT text file to write")
    deprecated_alias(p, "--output", "--out")
    p.add_argument("--max-frames", type=int, default=None, metavar="N", help="stop after this many frames (default: all)")
    _detector_options(p, 0.25, ground_truth=False)
    add_quiet(p)
    p.set_defaults(func=run_detect)

    e = subparsers.add_parser(
        "detect-eval",
        help="score a detector on a VISEM-layout root (the paper's Table 2: precision, recall, mAP50, mAP50-95, fitness)",
        description="Run a detector over the videos of a split of a VISEM-layout root (real or simulated) and compare "
        "with the labels as ultralytics does: precision, recall, mAP50, mAP50-95, fitness per video and overall.",
    )
    e.add_argument("root", help="VISEM-layout root")
    e.add_argument("--split", default="val", choices=("val", "train", "all"), help="videos of the official split to score")
    e.add_argument(
        "--max-frames", type=int, default=None, metavar="N", help="evaluate only the first N frames of each video (default: all)"
    )
    e.add_argument("--json", action="store_true", help="print JSON (keys precision, recall, mAP50, mAP50-95, fitness)")
    e.add_argument("-o", "--out", default=None, metavar="FILE.json", help="also write the JSON to this file")
    deprecated_alias(e, "--output", "--out")
    e.add_argument(
        "--classes",
        default=None,
        metavar="C,C,...",
        help="class ids besides VISEM's 0,1,2 that the labels may hold (an undeclared class is an error)",
    )
    e.add_argument("--miss", type=float, default=0.0, help="gt detector: probability of missing a box")
    e.add_argument("--jitter-px", type=float, default=0.0, help="gt detector: centre jitter sigma in pixels")
    e.add_argument(
        "--fp-per-frame", type=float, default=0.0,
        help=f"gt detector: mean false positives per frame, 0 to {MAX_FP_PER_FRAME:g}",
    )  # fmt: skip
    e.add_argument("--seed", type=seed_type, default=0, help="gt detector: seed of the degradation, a whole number >= 0")
    _detector_options(e, 0.001)
    add_quiet(e)
    e.set_defaults(func=run_eval)


def run_detect(args) -> int:
    from ..detect import get_detector, run_detector
    from ..io.mot import write_mot

    if is_ground_truth(args.detector):
        raise SpermtrackError("'detect' needs a real detector; use 'spermtrack evaluate' for ground truth")
    check_positive(args, "--batch-size", "--max-frames")
    kwargs = _detector_kwargs(args)
    check_output_file(args.out, [args.source])
    detector = get_detector(args.detector, **kwargs)
    boxes = run_detector(
        detector, args.source, batch_size=args.batch_size, progress=show_progress(args), max_frames=args.max_frames
    )
    write_mot(args.out, boxes, with_class=True)
    if not args.quiet:
        print(f"{detector.name}: {len(boxes)} boxes in {boxes.num_frames} frames -> {args.out}", file=sys.stderr)
    return 0


def _check_label_classes(root, declared: list[int]) -> None:
    """Refuse labels of an undeclared class before scoring (it would count as a class of its own in mAP)."""
    from ..boxes import check_classes
    from ..io.visem import VisemDataset

    ds = VisemDataset(root)
    for vid in ds.video_ids:
        video = ds.video(vid)
        check_classes(video.labels(), f"{video.path} (labels)", declared)


def run_eval(args) -> int:
    from ..atomic import atomic_open
    from ..detect.evaluation import evaluate_detector

    check_positive(args, "--batch-size", "--max-frames")
    kwargs = _detector_kwargs(args)
    check_output_file(args.out, [args.root])
    _check_label_classes(args.root, parse_classes(args.classes))
    if not 0 <= args.fp_per_frame <= MAX_FP_PER_FRAME:
        raise ParameterError(
            f"--fp-per-frame must be 0 to {MAX_FP_PER_FRAME:g} false positives per frame, got {args.fp_per_frame:g}"
        )
    if is_ground_truth(args.detector):
        kwargs = {"miss": args.miss, "jitter_px": args.jitter_px, "fp_per_frame": args.fp_per_frame, "seed": args.seed}
    elif args.miss or args.jitter_px or args.fp_per_frame:
        raise SpermtrackError("--miss, --jitter-px and --fp-per-frame apply to --detector gt only")
    result = evaluate_detector(
        args.root,
        args.detector,
        split=args.split,
        batch_size=args.batch_size,
        max_frames=args.max_frames,
        progress=show_progress(args) and not args.json,
        **kwargs,
    )
    data = result.to_dict()
    if args.out:
        with atomic_open(args.out) as fh:
            json.dump(data, fh, indent=2)
    print(json.dumps(data, indent=2) if args.json else result.table())
    return 0
