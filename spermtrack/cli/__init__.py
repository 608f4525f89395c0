"""The ``spermtrack`` command: verbs that mirror the library's functions.

Each verb lives in its own module of this package, which defines
``register(subparsers)``; the module adds its parser and sets ``func`` to a
function ``run(args) -> int``. Modules import heavy dependencies inside ``run``
so that ``spermtrack --help`` stays fast.

Exit codes: 0 success, 1 an error in the input or the run (the message says
what to do), 2 wrong usage, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ..errors import SpermtrackError

#: Verb modules, in the order ``--help`` lists them.
VERB_MODULES = (
    "demo",
    "analyze",
    "simulate",
    "track",
    "evaluate",
    "detect",
    "train",
    "batch",
    "stats",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available verb registered."""
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="spermtrack",
        description="Detect, track and measure human spermatozoa in microscope videos (VISEM-Tracking).",
    )
    parser.add_argument("--version", action="version", version=f"spermtrack {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for name in VERB_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue  # verb not built (yet)
            raise
        module.register(sub)
    return parser


def add_quiet(parser: argparse.ArgumentParser) -> None:
    """Add the common ``--quiet`` flag (no progress bars, only results and errors)."""
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or chatter, only results and errors")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``spermtrack`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except SpermtrackError as exc:
        print(f"spermtrack {args.verb}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"spermtrack {args.verb}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
