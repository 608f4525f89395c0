"""The ``spermtrack`` command: verbs that mirror the library's functions.

Each verb lives in its own module of this package, which defines
``register(subparsers)``; the module adds its parser and sets ``func`` to a
function ``run(args) -> int``. Modules import heavy dependencies inside ``run``
so that ``spermtrack --help`` stays fast.

Exit codes: 0 success, 1 an error in the input or the run (the message says
what to do), 2 wrong usage, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM, cleaned up as for Ctrl-C).

Every verb runs through :func:`main`, the one error path: a
:class:`~spermtrack.errors.SpermtrackError`, an ``OSError`` (missing,
unreadable or unwritable file, name too long, full disk), a
``UnicodeDecodeError`` (a text file that is not UTF-8) or a ``ValueError``
raised on bad input becomes one line ``spermtrack VERB: error: ...`` on
stderr and exit code 1, never a traceback (tests/test_reliability.py runs
every case of issue 17 through it, tests/test_cli_bad_input.py every verb).
Any other exception is a bug in spermtrack: it too ends as one line (``internal
error``) and exit code 1, unless the environment variable ``SPERMTRACK_DEBUG``
is set to a non-empty value other than ``0``, when every exception (bad input
included) propagates with its full traceback. ``SystemExit`` is raised only
here (argparse's usage errors, exit code 2), never by a verb.

One grammar for every verb (docs/cli.md): a positional input; ``-o/--out`` for
the output (a folder, or a file where the output is one file); the same name for
the same setting everywhere (``--batch-size``, ``--tracker-config``, ``--workers``
for processes, ``--detector`` with :data:`DETECTOR_HELP`); every option has help
and its default written once (:class:`HelpFormatter`). Old spellings are kept for
one release by :func:`deprecated_alias`, with a warning on stderr. Progress bars
are drawn only when stderr is a terminal (:func:`show_progress`), so log files
get no carriage returns.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence

from ..errors import ParameterError, SpermtrackError
from ._warnings import _say, one_line_warnings

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


#: Other names of verbs (British spelling, as the docs once wrote it).
VERB_ALIASES = {"analyze": ["analyse"]}

#: The ``--detector`` values every verb that takes one accepts (one text, shown by each verb's help).
DETECTOR_HELP = (
    "auto (the shipped model, or the classical detector without it), default (shipped model, ONNX), classical, "
    "yolo:WEIGHTS (.pt or .onnx), onnx:WEIGHTS, yolov5:WEIGHTS; gt (the labels) where ground truth is at hand"
)

#: Environment variable that lets every exception propagate with its traceback.
DEBUG_ENV = "SPERMTRACK_DEBUG"


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default once: appended as ``(default: X)`` unless the help writes it already.

    Nothing is appended for options without a value default (None, False, suppressed).
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        low = text.lower()
        if "%(default)" in text or "(default" in low or "default:" in low:
            return text
        if action.default is None or action.default is False or action.default is argparse.SUPPRESS:
            return text
        if not action.option_strings and action.nargs not in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            return text
        if isinstance(action.default, (list, tuple)) and not action.default:
            return text
        return text + " (default: %(default)s)"


class _VerbParser(argparse.ArgumentParser):
    """A verb's parser: :class:`HelpFormatter` unless the verb asks for a formatter of its own."""

    def __init__(self, *args, formatter_class=None, **kwargs):
        if formatter_class in (None, argparse.HelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
            formatter_class = HelpFormatter
        super().__init__(*args, formatter_class=formatter_class, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available verb registered."""
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="spermtrack",
        description="Detect, track and measure human spermatozoa in microscope videos (VISEM-Tracking).",
        epilog=f"Set {DEBUG_ENV}=1 to see the full traceback of an error. Grammar of the verbs: docs/cli.md.",
    )
    parser.add_argument("--version", action="version", version=f"spermtrack {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_VerbParser)
    add_parser = sub.add_parser

    def add_parser_with_aliases(name, **kwargs):
        kwargs.setdefault("aliases", VERB_ALIASES.get(name, []))
        return add_parser(name, **kwargs)

    sub.add_parser = add_parser_with_aliases
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


def show_progress(args: argparse.Namespace) -> bool:
    """Whether a verb draws progress bars: not ``--quiet`` and stderr is a terminal (no ``\\r`` in log files)."""
    if getattr(args, "quiet", False):
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


def warn(verb: str, message: str) -> None:
    """One warning line ``spermtrack VERB: warning: ...`` on stderr."""
    _say(verb, message)


class _DeprecatedAlias(argparse.Action):
    """An old option spelling: warns on stderr, then stores into the new option's destination."""

    def __init__(self, option_strings, dest, new: str = "", **kwargs):
        self.new = new
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        verb = parser.prog.split()[-1]
        warn(verb, f"{option_string} is deprecated and will be removed in the next release; use {self.new}")
        setattr(namespace, self.dest, self.const if self.nargs == 0 else values)


def deprecated_alias(parser: argparse.ArgumentParser, old: str, new: str) -> None:
    """Keep the old option spelling ``old`` working (hidden from help, a warning on stderr when used).

    ``new`` is the new option string (``"--out"``) or, for an option that became the
    positional input, that positional's ``dest`` (which must then be ``nargs="?"``).
    :func:`main` checks afterwards that a required input was given one way or the other.
    """
    if new.startswith("-"):
        target = next(a for a in parser._actions if new in a.option_strings)
        dest, shown = target.dest, "/".join(target.option_strings)
        if target.required:  # given by either spelling: checked in main
            target.required = False
            _hook(parser, "_required", (dest, shown))
    else:
        target = next(a for a in parser._actions if a.dest == new and not a.option_strings)
        if target.nargs != argparse.OPTIONAL:
            raise ParameterError(f"positional {new!r} must have nargs='?' to take the deprecated {old}")
        dest, shown = f"_alias_{new}", f"the positional {target.metavar or new.upper()}"
        _hook(parser, "_positional", (dest, new, old, shown))
    kwargs = {"nargs": target.nargs, "const": target.const} if target.nargs == 0 else {"nargs": target.nargs}
    if target.nargs != 0:
        kwargs.update(type=target.type, choices=target.choices, metavar=target.metavar)
    parser.add_argument(
        old, dest=dest, action=_DeprecatedAlias, new=shown, default=None if dest.startswith("_alias_") else argparse.SUPPRESS,
        help=argparse.SUPPRESS, **kwargs,
    )  # fmt: skip
    parser.set_defaults(_verb_parser=parser)


def _hook(parser: argparse.ArgumentParser, kind: str, item: tuple) -> None:
    hooks = parser.get_default("_alias_hooks") or {"_required": [], "_positional": []}
    hooks[kind].append(item)
    parser.set_defaults(_alias_hooks=hooks)


def _resolve_aliases(args: argparse.Namespace) -> None:
    """Fold deprecated spellings into their new destinations; a missing required input is a usage error."""
    hooks = vars(args).pop("_alias_hooks", None)
    parser = vars(args).pop("_verb_parser", None)
    if not hooks:
        return
    for tmp, dest, old, shown in hooks["_positional"]:
        value = vars(args).pop(tmp, None)
        if value is None:
            continue
        if getattr(args, dest, None) not in (None, value):
            parser.error(f"give the input once: as {shown} or as the deprecated {old}, not both")
        setattr(args, dest, value)
    missing = [shown for _, dest, _, shown in hooks["_positional"] if getattr(args, dest, None) is None]
    missing += [shown for dest, shown in hooks["_required"] if getattr(args, dest, None) is None]
    if missing:
        parser.error("the following arguments are required: " + ", ".join(m.removeprefix("the positional ") for m in missing))


def _debug() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``spermtrack`` command; returns the exit code.

    Bad input ends as one line on stderr and exit code 1; with ``SPERMTRACK_DEBUG=1``
    every exception propagates with its traceback instead.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    _resolve_aliases(args)
    with one_line_warnings(args.verb, getattr(args, "quiet", False)), _terminate_as_interrupt():
        return _run_verb(args)


class Terminated(KeyboardInterrupt):
    """SIGTERM (``timeout``, a job scheduler, ``kill``) turned into an interrupt: the same clean-up as Ctrl-C."""

    signum = 15


@contextlib.contextmanager
def _terminate_as_interrupt():
    """While a verb runs, SIGTERM raises :class:`Terminated` (a KeyboardInterrupt), so temporary folders and
    locks are removed and the previous result stays, as on Ctrl-C; the previous handler is restored after."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        yield
        return

    def handler(signum, frame):
        raise Terminated(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_verb(args: argparse.Namespace) -> int:
    if _debug():
        return int(args.func(args) or 0)
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
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        print(f"spermtrack {args.verb}: error: {describe_os_error(exc)}", file=sys.stderr)
        return 1
    except (ValueError, OverflowError) as exc:
        print(f"spermtrack {args.verb}: error: {_one_line(str(exc)) or type(exc).__name__}", file=sys.stderr)
        return 1
    except Terminated:
        print(f"spermtrack {args.verb}: interrupted (SIGTERM)", file=sys.stderr)
        return 128 + Terminated.signum
    except KeyboardInterrupt:
        print(f"spermtrack {args.verb}: interrupted", file=sys.stderr)
        return 130
    except MemoryError as exc:  # the input or the settings ask for more than this machine has
        detail = f" ({_one_line(str(exc))})" if str(exc) else ""
        print(
            f"spermtrack {args.verb}: error: out of memory{detail}: a smaller --batch-size, fewer frames "
            "(--max-frames) or smaller settings need less",
            file=sys.stderr,
        )
        return 1
    except Exception as exc:  # a bug in spermtrack, not bad input
        print(
            f"spermtrack {args.verb}: internal error: {type(exc).__name__}: {_one_line(str(exc))} "
            f"(a bug in spermtrack: rerun with {DEBUG_ENV}=1 for the traceback and report it)",
            file=sys.stderr,
        )
        return 1


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
        ids = [int(t) for t in text.replace(" ", "").split(",") if t]
    except ValueError:
        raise SpermtrackError(f"--classes must be whole numbers separated by commas, got {text!r}") from None
    bad = [c for c in ids if not 0 <= c <= MAX_CLASS_ID]
    if bad:
        raise SpermtrackError(f"--classes: a class id is a whole number from 0 to {MAX_CLASS_ID}, got {bad[0]}")
    return ids


#: The largest class id a box holds (its class column is a 16-bit integer).
MAX_CLASS_ID = 32767


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
    _refuse_file_in_input(path, target, sources)
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise SpermtrackError(f"{path}: {parent} is a file, not a folder")
            break


def _refuse_file_in_input(path, target, sources) -> None:
    """Refuse an output file inside an input folder (a source folder, or the VISEM video folder holding a
    source such as its mp4 or images/), or inside a VISEM video's images/, labels/ or labels_ftid/."""
    from pathlib import Path

    from ..errors import OutputError
    from ..io.visem import is_video_folder
    from ..results import resolve_path

    for src in sources:
        if src is None or not Path(src).exists():
            continue
        s = resolve_path(src)
        folder = s if s.is_dir() else None
        for anc in [s, *s.parents][:3]:  # the source, or its mp4 / images/, inside a VISEM video folder
            if is_video_folder(anc):
                folder = anc
                break
        if folder is not None and (target == folder or folder in target.parents):
            raise OutputError(f"{path}: lies inside the input folder {folder}; spermtrack never writes into its input")
    for anc in target.parents:
        if anc.name in ("images", "labels", "labels_ftid") and is_video_folder(anc.parent):
            raise OutputError(
                f"{path}: lies inside {anc}, the {anc.name}/ folder of a VISEM video, where it would be read as data; "
                "choose another -o"
            )


def check_output_folder(path) -> None:
    """Refuse an output folder that is a file or lies inside a file (before any work is done)."""
    from pathlib import Path

    if path is None:
        return
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ParameterError(f"{path}: is a file; give a folder for the output")
    for parent in p.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise ParameterError(f"{path}: {parent} is a file, not a folder")
            break


def check_positive(args: argparse.Namespace, *flags: str) -> None:
    """Refuse a whole-number option below 1 (``--batch-size 0``, ``--max-frames -1``), naming the flag."""
    for flag in flags:
        value = getattr(args, flag.lstrip("-").replace("-", "_"), None)
        if value is not None and value < 1:
            raise ParameterError(f"{flag} must be >= 1, got {value}")


def seed_type(text: str) -> int:
    """An argparse ``type`` for a ``--seed``: a whole number >= 0 (numpy's generators take no other)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {value}")
    return value


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
