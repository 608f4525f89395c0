"""``spermtrack evaluate GT HYP``: tracking scores (MOTA, IDF1, HOTA, ...) of HYP against GT."""

from __future__ import annotations

from . import add_quiet, deprecated_alias


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="score tracks against ground truth (MOTA, IDF1, HOTA, ...; optionally P/R/mAP)",
        description="Score tracker output against ground truth: CLEAR MOT and identity metrics (equal to py-motmetrics) "
        "and HOTA (equal to TrackEval), class-agnostic and per class, per video and combined over videos as those "
        "libraries combine sequences. GT and HYP are each a MOTChallenge file, a VISEM video folder (labels_ftid/), a "
        "VISEM root (all its videos, paired by id), a folder of <video>.txt MOTChallenge files, or a result folder of "
        "spermtrack analyze (its tracks.txt; a batch --out folder holds one per video). When both sides know their length "
        "(VISEM folders, analyze results) it must be the same. See docs/metrics.md.",
    )
    p.add_argument(
        "gt", metavar="GT", help="ground truth: MOT file, VISEM video folder or root, folder of <video>.txt, analyze result"
    )
    p.add_argument("hyp", metavar="HYP", help="tracker output, same kinds as GT")
    p.add_argument("--iou", type=float, default=0.5, help="IoU threshold of the CLEAR MOT and identity metrics")
    p.add_argument("--per-class", action="store_true", help="also score each class (sperm, cluster, pinhead) separately")
    p.add_argument(
        "--detection",
        action="store_true",
        help="also score HYP's boxes as detections: precision, recall, mAP50, mAP50-95, fitness (confidences from the files)",
    )
    p.add_argument("--json", action="store_true", help="print the scores as JSON instead of a table")
    p.add_argument("-o", "--out", metavar="FILE.json", default=None, help="also write the scores as JSON to this file")
    deprecated_alias(p, "--output", "--out")
    p.add_argument(
        "--classes",
        default=None,
        metavar="C,C,...",
        help="class ids besides VISEM's 0,1,2 that the files may hold (an undeclared class is an error)",
    )
    p.add_argument(
        "--drop-duplicates",
        action="store_true",
        help="drop boxes that repeat an earlier box of the same frame (reported as a warning otherwise)",
    )
    add_quiet(p)
    p.set_defaults(func=run)


def dedupe(video, where: str, drop: bool, verb: str):
    """Warn about (and with ``drop`` remove) repeated boxes of a source's video."""
    import sys
    from dataclasses import replace

    from ..boxes import drop_duplicates, duplicate_rows

    k = int(duplicate_rows(video.boxes).sum())
    if not k:
        return video
    frames = len(set(video.boxes.frame[duplicate_rows(video.boxes)].tolist()))
    if drop:
        boxes, _ = drop_duplicates(video.boxes)
        print(f"spermtrack {verb}: warning: {where}: dropped {k} duplicate boxes in {frames} frames", file=sys.stderr)
        return replace(video, boxes=boxes)
    print(
        f"spermtrack {verb}: warning: {where}: {k} boxes repeat an earlier box of the same frame ({frames} frames; "
        "a file concatenated twice?); pass --drop-duplicates to drop them",
        file=sys.stderr,
    )
    return video


def run(args) -> int:
    import json
    import sys
    import warnings

    from ..atomic import atomic_open
    from ..boxes import check_classes
    from ..evaluate import EvaluationError, EvaluationWarning, detection_many, json_safe, tracking_many
    from ..evaluate.sources import pair_sources
    from . import check_output_file, parse_classes, warn

    check_output_file(args.out, [args.gt, args.hyp])
    declared = parse_classes(args.classes)
    notes: list[str] = []
    pairs = pair_sources(args.gt, args.hyp, notes)
    for note in notes:
        print(f"spermtrack evaluate: note: {note}", file=sys.stderr)
    for vid, (g, h, _) in pairs.items():
        check_classes(g.boxes, f"{g.path} (ground truth of video {vid})", declared)
        check_classes(h.boxes, f"{h.path} (hypothesis of video {vid})", declared)
    pairs = {v: (g, dedupe(h, f"{h.path}", args.drop_duplicates, "evaluate"), n) for v, (g, h, n) in pairs.items()}
    nframes = {v: n for v, (_, _, n) in pairs.items()}
    videos = {v: (g.boxes, h.boxes) for v, (g, h, _) in pairs.items()}
    try:
        with warnings.catch_warnings():  # printed below as one line each, and kept in the JSON
            warnings.simplefilter("ignore", EvaluationWarning)
            scores = tracking_many(videos, args.iou, per_class=args.per_class, num_frames=nframes)
        det = detection_many(videos, num_frames=nframes) if args.detection else None
    except EvaluationError as exc:
        raise EvaluationError(f"{args.gt} vs {args.hyp}: {exc}") from exc
    notes = list(scores.warnings)
    for note in notes:
        warn("evaluate", f"{args.gt} vs {args.hyp}: {note}")
    if len(pairs) == 1:  # one video: no 'combined' row
        scores = next(iter(scores.per_video.values()))
        det = next(iter(det.per_video.values())) if det is not None else None
    result = {"gt": str(args.gt), "hyp": str(args.hyp), "tracking": scores.to_dict()}
    if notes:
        result["warnings"] = notes
    if det is not None:
        result["detection"] = det.to_dict()
    result = json_safe(result)
    if args.out:
        with atomic_open(args.out) as fh:
            json.dump(result, fh, indent=2)
            fh.write("\n")
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    print(scores.table())
    if det is not None:
        print()
        print(det.table())
    if args.out and not args.quiet:
        print(f"scores written to {args.out}", file=sys.stderr)
    return 0
