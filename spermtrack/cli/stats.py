"""``spermtrack stats ROOT --out DIR``: counts, box sizes and positions of a VISEM-layout dataset."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import add_quiet


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "stats",
        help="counts per class and video, box size and box centre histograms (Figure 4) of a VISEM-layout root",
        description=(
            "Statistics of any VISEM-layout root (real, simulated or pseudo-labelled): boxes per class and per video, "
            "boxes per frame, box width/height per class, and the box-centre and box-size histograms of the "
            "VISEM-Tracking paper's Figure 4. Writes stats.json, per_video.csv, per_class.csv and PNG figures."
        ),
        epilog="Example: spermtrack stats VISEM_Tracking_Train_v4 -o stats/",
    )
    p.add_argument("root", type=Path, help="VISEM-layout root (videos found at any depth)")
    p.add_argument("-o", "--out", type=Path, required=True, help="output folder")
    p.add_argument("--videos", nargs="*", default=None, metavar="VID", help="only these video ids (default: all)")
    p.add_argument("--json", action="store_true", help="print the statistics as JSON instead of a table")
    p.add_argument(
        "--classes",
        default=None,
        metavar="C,C,...",
        help="class ids besides VISEM's 0,1,2 that the labels may hold (an undeclared class is an error)",
    )
    p.add_argument("--force", action="store_true", help="replace an --out folder holding the statistics of another root")
    add_quiet(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..dataset_stats import dataset_stats
    from ..results import preflight
    from . import parse_classes, show_progress

    preflight(args.out, args.root, force=args.force)
    stats = dataset_stats(args.root, videos=args.videos, progress=show_progress(args), classes=parse_classes(args.classes))
    paths = stats.save(args.out, force=args.force)
    if args.json:
        print(json.dumps(stats.to_dict(), indent=1))
    else:
        print(stats.table())
        print()
        for name, path in paths.items():
            print(f"{name:>17}: {path}")
    return 0
