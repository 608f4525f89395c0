"""Command-line options built from the fields of a config dataclass (:class:`~spermtrack.analysis.AnalysisConfig`).

Each field carries its flag, help text, metavar (and optionally choices, a type for
optional numbers, a loader for settings read from a file, deprecated aliases) in its
``metadata``; :func:`add_config_arguments` turns them into argparse options and
:func:`config_from_args` turns the parsed flags back into a config. Options not given
on the command line stay out of the namespace (``default=SUPPRESS``), so a config read
with ``--config`` is overridden only by the flags the user typed.

Field metadata keys:

``flag``
    The option (``"--um-per-px"``); ``None`` keeps a field off the command line.
``nested``
    A dataclass whose own fields become options (the detector spec, the calibration request, ...).
``load``
    A function reading the value from the path given (``--tracker-config FILE.json``).
``help``, ``metavar``, ``choices``, ``type``
    As in argparse (``type`` for optional numbers, whose default None says nothing of it);
    a field's default is appended to the help, or ``default_text`` when given.
``aliases``
    Old spellings, accepted with a deprecation message on stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import ParameterError

#: Prefix of the argparse destinations of config options.
DEST_PREFIX = "cfg__"


@dataclass(frozen=True)
class ConfigOption:
    """One command-line option of a config field."""

    path: tuple[str, ...]
    field: dataclasses.Field

    @property
    def dest(self) -> str:
        return DEST_PREFIX + "__".join(self.path)

    @property
    def flag(self) -> str:
        return self.field.metadata["flag"]

    @property
    def aliases(self) -> tuple[str, ...]:
        return tuple(self.field.metadata.get("aliases", ()))

    @property
    def is_bool(self) -> bool:
        return isinstance(self.field.default, bool)


def config_options(cls, exclude: Iterable[str] = ()) -> Iterator[ConfigOption]:
    """Every option of ``cls``'s fields, nested dataclasses flattened; ``exclude`` names top-level fields to skip."""
    skip = set(exclude)
    yield from _options(cls, (), skip)


def _options(cls, prefix: tuple[str, ...], skip: set[str]) -> Iterator[ConfigOption]:
    for f in dataclasses.fields(cls):
        if not prefix and f.name in skip:
            continue
        meta = f.metadata
        if meta.get("nested") is not None:
            yield from _options(meta["nested"], (*prefix, f.name), skip)
        elif meta.get("flag"):
            yield ConfigOption((*prefix, f.name), f)
        elif "flag" not in meta:
            raise TypeError(f"{cls.__name__}.{f.name} has no command-line metadata (flag=None keeps it off the command line)")


class _Deprecated(argparse.Action):
    """An old spelling of an option: stores like the new one and says so on stderr."""

    def __init__(self, option_strings, dest, new_flag: str = "", parse=None, **kwargs) -> None:
        self.new_flag = new_flag
        self.parse = parse
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        verb = parser.prog.split()[-1]  # "spermtrack analyze" -> "analyze"
        print(
            f"spermtrack {verb}: warning: {option_string} is deprecated and will be removed in the next release; "
            f"use {self.new_flag}",
            file=sys.stderr,
        )
        setattr(namespace, self.dest, values)


def _describe_default(f: dataclasses.Field) -> str:
    if "default_text" in f.metadata:
        return str(f.metadata["default_text"])
    default = f.default if f.default is not dataclasses.MISSING else None
    if isinstance(default, bool):
        return "on" if default else "off"
    return f"{default:g}" if isinstance(default, float) else str(default)


def _value_type(f: dataclasses.Field):
    kind = f.metadata.get("type")
    if kind is None:
        default = f.default
        kind = type(default) if default is not dataclasses.MISSING and default is not None else str
    optional = f.default is None

    def parse(text: str):
        if optional and text.strip().lower() == "none":
            return None
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'a whole number' if kind is int else 'a number'}, got {text!r}"
            ) from None

    parse.__name__ = getattr(kind, "__name__", "value")
    return parse


def add_config_arguments(
    parser: argparse.ArgumentParser,
    cls,
    exclude: Iterable[str] = (),
    config_flag: bool = True,
    title: str = "analysis settings (recorded in summary.json; --config reads them back)",
):
    """Add one option per field of ``cls`` (nested dataclasses flattened) to ``parser``, in a group ``title``.

    With ``config_flag``, also ``--config FILE.json``: settings read from a config JSON or a
    previous result's ``summary.json``, overridden by the flags given. Returns the options.
    """
    group = parser.add_argument_group(title)
    if config_flag:
        group.add_argument(
            "--config",
            dest=DEST_PREFIX + "file",
            default=None,
            metavar="FILE.json",
            help="settings of a previous result (its summary.json or folder) or a config JSON; the flags given "
            "here override them (default: the defaults shown)",
        )
    options = list(config_options(cls, exclude))
    for opt in options:
        f, meta = opt.field, opt.field.metadata
        help_text = f"{meta.get('help', '')} (default: {_describe_default(f)})"
        if opt.is_bool:
            group.add_argument(
                opt.flag, dest=opt.dest, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS, help=help_text
            )
            continue
        kwargs: dict[str, Any] = {"dest": opt.dest, "default": argparse.SUPPRESS, "help": help_text}
        if meta.get("load") is not None:
            kwargs["type"] = str
        else:
            kwargs["type"] = _value_type(f)
        if meta.get("metavar"):
            kwargs["metavar"] = meta["metavar"]
        if meta.get("choices"):
            kwargs["choices"] = tuple(meta["choices"])
        group.add_argument(opt.flag, **kwargs)
        for alias in opt.aliases:
            group.add_argument(
                alias,
                action=_Deprecated,
                new_flag=opt.flag,
                **{**kwargs, "help": argparse.SUPPRESS},
            )
    return options


def config_from_args(args: argparse.Namespace, cls=None, base=None, exclude: Iterable[str] = ()):
    """The config of the parsed command line: ``base`` (or ``--config``'s, or the defaults) with the flags given applied.

    Settings read from files (``--tracker-config``) are loaded here, so a missing or malformed
    file is a one-line error naming it. Bad values raise :class:`~spermtrack.errors.ParameterError`.
    """
    from .config import AnalysisConfig, _updated

    cls = cls or AnalysisConfig
    if base is None:
        path = getattr(args, DEST_PREFIX + "file", None)
        base = cls.from_json(path) if path else cls()
        if path and type(base) is not cls:  # from_json of the base class
            base = cls.from_dict(base.to_dict())
    changes: dict = {}
    for opt in config_options(cls, exclude):
        if not hasattr(args, opt.dest):
            continue
        value = getattr(args, opt.dest)
        load = opt.field.metadata.get("load")
        if load is not None and value is not None:
            value = load(value)
        node = changes
        for key in opt.path[:-1]:
            node = node.setdefault(key, {})
        node[opt.path[-1]] = value
    try:
        return _updated(base, changes) if changes else base
    except ParameterError:
        raise
    except (TypeError, ValueError) as exc:  # pragma: no cover - a field without validation of its own
        raise ParameterError(str(exc)) from None


def given_flags(args: argparse.Namespace, cls=None, exclude: Iterable[str] = ()) -> list[str]:
    """The config flags given on the command line (for messages)."""
    from .config import AnalysisConfig

    return [o.flag for o in config_options(cls or AnalysisConfig, exclude) if hasattr(args, o.dest)]


__all__ = ["ConfigOption", "add_config_arguments", "config_from_args", "config_options", "given_flags"]
