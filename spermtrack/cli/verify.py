"""``spermtrack verify DIR``: is a result folder complete (its marker and every file it lists)?"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "verify",
        help="check that result folders are complete: completion marker present, every listed file with its size and hash",
        description=(
            "Check result folders written by spermtrack (analyze, batch jobs, pseudo-label, clip, stats) against their "
            "completion marker .spermtrack.json: it must be present and every file it lists must exist with its size "
            "and SHA-256. Files added later are listed but are not an error; a marker whose file list is malformed, or empty "
            "beside files, is. Exit 0 when every folder is complete, "
            "1 otherwise. A batch output folder is checked job by job: every job its summary.csv lists as done or skipped "
            "must be complete, and one it lists as failed or interrupted makes the folder incomplete. See docs/reliability.md."
        ),
        epilog="Example: spermtrack verify results/sample",
    )
    p.add_argument("folders", nargs="+", type=Path, metavar="DIR", help="result folder(s), or a batch --out folder")
    p.add_argument("--fast", action="store_true", help="compare sizes only, not SHA-256 hashes")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..batch import is_batch_folder, verify_batch
    from ..results import verify

    results = []
    for folder in args.folders:
        if is_batch_folder(folder):  # job by job, and the jobs its summary.csv lists as failed are incomplete
            results.extend(verify_batch(folder, hashes=not args.fast) or [verify(folder, hashes=not args.fast)])
        else:
            results.append(verify(folder, hashes=not args.fast))
    if args.json:
        data = [
            {
                "folder": str(r.folder),
                "ok": r.ok,
                "problems": r.problems,
                "extra": r.extra,
                "kind": (r.marker or {}).get("kind"),
                "source": ((r.marker or {}).get("source") or {}).get("path"),
                "files": len((r.marker or {}).get("files") or {}),
            }
            for r in results
        ]
        print(json.dumps(data, indent=1))
    else:
        for r in results:
            if r.ok:
                m = r.marker or {}
                src = (m.get("source") or {}).get("path", "-")
                print(f"ok      {r.folder}  ({m.get('kind')}, {len(m.get('files') or {})} files, source {src})")
            else:
                print(f"BROKEN  {r.folder}: " + "; ".join(r.problems[:5]) + (" ..." if len(r.problems) > 5 else ""))
            if r.extra:
                why = " (added afterwards)" if r.ok else ""
                print(f"        {len(r.extra)} file(s) not in the marker{why}: {', '.join(r.extra[:5])}")
    bad = [str(r.folder) for r in results if not r.ok]
    if bad:
        names = ", ".join(bad[:3]) + (", ..." if len(bad) > 3 else "")
        print(f"spermtrack verify: error: {len(bad)} of {len(results)} folder(s) incomplete: {names}", file=sys.stderr)
    return 1 if bad else 0
