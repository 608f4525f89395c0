"""The ``spermtrack`` command: verbs that mirror the library's functions.

Each verb lives in its own module of this package, which defines
``register(subparsers)``; the module adds its parser and sets ``func`` to a
function ``run(args) -> int``. Modules import heavy dependencies inside ``run``
so that ``spermtrack --help`` stays fast.

Exit codes: 0 success, 1 an error in the input or the run (the message says
what to do), 2 wrong usage, 130 interrupted.

Every verb runs through :func:`main`, the one error path: a
:class:`~spermtrack.errors.SpermtrackError`, an ``OSError`` (missing,
unreadable or unwritable file, name too long, full disk), a
``UnicodeDecodeError`` (a text file that is not UTF-8) or a ``ValueError``
raised on bad input becomes one line ``spermtrack VERB: error: ...`` on
stderr and exit code 1, never a traceback (tests/test_reliability.py runs
every case of issue 17 through it).
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
    "verify",
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
        print(f"spermtrack {args.verb}: error: {_one_line(str(exc))}", file=sys.stderr)
        return 1
    except UnicodeDecodeError as exc:
        print(
            f"spermtrack {args.verb}: error: a text input is not UTF-8 (byte {exc.start}: {exc.reason}); save it as UTF-8",
            file=sys.stderr,
        )
        return 1
    except OSError as exc:
        print(f"spermtrack {args.verb}: error: {describe_os_error(exc)}", file=sys.stderr)
        return 1
    except (ValueError, OverflowError) as exc:
        print(f"spermtrack {args.verb}: error: {_one_line(str(exc)) or type(exc).__name__}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"spermtrack {args.verb}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _one_line(text: str) -> str:
    return " ".join(text.split())


def describe_os_error(exc: OSError) -> str:
    """One line for an ``OSError``: the file(s), what went wrong, and what to do where it helps."""
    import errno

    what = exc.strerror or str(exc) or type(exc).__name__
    names = [str(n) for n in (exc.filename, exc.filename2) if n is not None]
    hint = {
        errno.ENOENT: "check the path",
        errno.EACCES: "check its permissions, or choose another path",
        errno.EPERM: "check its permissions, or choose another path",
        errno.EROFS: "the file system is read-only; choose another path",
        errno.ENOSPC: "the disk is full; free space or choose another path",
        errno.EISDIR: "a file was expected, not a folder",
        errno.ENOTDIR: "a folder was expected, not a file",
        errno.ENAMETOOLONG: "shorten the name (at most 255 bytes per name)",
        errno.ELOOP: "a symbolic link loop",
        errno.EEXIST: "it exists already",
    }.get(exc.errno)
    text = (": ".join(names) + ": " if names else "") + what + (f" ({hint})" if hint else "")
    return _one_line(text)


def parse_classes(text: str | None) -> list[int]:
    """The class ids of a ``--classes 3,4`` option (empty without one)."""
    from ..errors import SpermtrackError

    if not text:
        return []
    try:
        return [int(t) for t in text.replace(" ", "").split(",") if t]
    except ValueError:
        raise SpermtrackError(f"--classes must be whole numbers separated by commas, got {text!r}") from None


def check_output_file(path, sources=()) -> None:
    """Refuse an output file that is a folder, lies inside a folder that is a file, or is one of the inputs."""
    from pathlib import Path

    from ..errors import SpermtrackError
    from ..results import resolve_path

    if path is None:
        return
    p = Path(path)
    if p.is_dir() or str(path).endswith(("/", "\\")) or p.name in ("", ".", ".."):
        raise SpermtrackError(f"{path}: is a folder; give a file name for the output")
    target = resolve_path(p)
    for src in sources:
        if src is not None and Path(src).exists() and target == resolve_path(src):
            raise SpermtrackError(f"{path}: is the input {src}; spermtrack never writes into its input")
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise SpermtrackError(f"{path}: {parent} is a file, not a folder")
            break


def load_tracker_config(path):
    """The TrackerConfig of a ``--tracker-config`` file (None without one); errors name the file."""
    if path is None:
        return None
    from pathlib import Path

    from ..errors import FormatError
    from ..track import TrackerConfig

    path = Path(path)
    if not path.is_file():
        raise FormatError("no such tracker config file (a path of a JSON file holding one object)", path)
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text (byte {exc.start}): a tracker config is a JSON file", path) from None
    except OSError as exc:
        raise FormatError(f"cannot read the tracker config ({exc.strerror or exc})", path) from None
    return TrackerConfig.from_json(path)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
