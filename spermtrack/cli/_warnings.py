"""How the ``spermtrack`` command shows Python warnings: one line ``spermtrack VERB: warning: ...``.

Installed by :func:`spermtrack.cli.main` for the run of a verb only (never at library import), and
in the Dask worker processes of ``batch`` and ``pseudo-label`` (this module is their preload,
:func:`dask_setup`), so a warning never shows a file name, line number or code line.
With ``--quiet`` the warnings that only note how to read the results are hidden
(:class:`~spermtrack.errors.UncalibratedWarning`, :class:`~spermtrack.errors.LowImageRateWarning`:
summary.json and the report say it too); every other warning (why a result may be unreliable) is
still shown (:func:`result_warnings` for the ones ``analyze`` and ``demo`` print from a result). The deprecation warning of ``pkg_resources``, which
some detector packages import, is always hidden: it is not spermtrack's and a user can do nothing.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings

#: Environment variable read by the worker preload: ``VERB`` or ``VERB:quiet``.
WORKER_ENV = "SPERMTRACK_CLI_WARNINGS"
#: Dask's setting (as an environment variable) of the modules every worker imports at start.
DASK_PRELOAD_ENV = "DASK_DISTRIBUTED__WORKER__PRELOAD"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _say(verb: str, text: str, file=None) -> None:
    """Print one warning as ``spermtrack VERB: warning: ...`` on one line (nothing when stderr is closed)."""
    try:
        print(f"spermtrack {verb}: warning: {_one_line(text)}", file=file or sys.stderr)
    except (OSError, ValueError):  # stderr closed
        pass


def install(verb: str, quiet: bool) -> None:
    """Replace the warning display and add the filters (in the current ``warnings`` state)."""
    from ..errors import SpermtrackWarning

    def show(message, category, filename, lineno, file=None, line=None):
        text = str(message)
        if not issubclass(category, (SpermtrackWarning, UserWarning)):
            text = f"{category.__name__}: {text}"
        _say(verb, text, file)

    warnings.showwarning = show
    warnings.filterwarnings("ignore", message=r"pkg_resources is deprecated", category=UserWarning)
    warnings.filterwarnings("ignore", message=r".*pkg_resources", category=DeprecationWarning)
    if quiet:
        for category in reading_note_categories():
            warnings.simplefilter("ignore", category)


@contextlib.contextmanager
def one_line_warnings(verb: str, quiet: bool = False):
    """While a verb runs: warnings as one line (also in Dask workers it starts); restored after."""
    saved = {k: os.environ.get(k) for k in (WORKER_ENV, DASK_PRELOAD_ENV)}
    os.environ[WORKER_ENV] = f"{verb}:quiet" if quiet else verb
    if saved[DASK_PRELOAD_ENV] is None:  # never override a user's own preload
        os.environ[DASK_PRELOAD_ENV] = f"['{__name__}']"
    with warnings.catch_warnings(), contextlib.ExitStack() as stack:
        if "dask" in sys.modules and saved[DASK_PRELOAD_ENV] is None:  # config already read from the environment
            import dask

            stack.enter_context(dask.config.set({"distributed.worker.preload": [__name__]}))
        install(verb, quiet)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def reading_note_categories() -> tuple[type[Warning], ...]:
    """The warnings that only note how to read a result: the ones ``--quiet`` hides."""
    from ..errors import LowImageRateWarning, UncalibratedWarning

    return (UncalibratedWarning, LowImageRateWarning)


@contextlib.contextmanager
def held_reading_notes():
    """While an analysis runs: hold back its reading notes (also in ``Analysis.warnings``); yield their texts.

    Every other warning is shown as it comes. After the block, :func:`result_warnings` prints an
    analysis' warnings once each, dropping the held notes under ``--quiet``.
    """
    notes: list[str] = []
    categories = reading_note_categories()
    with warnings.catch_warnings():
        shown = warnings.showwarning

        def hold(message, category, filename, lineno, file=None, line=None):
            if issubclass(category, categories):
                notes.append(_one_line(str(message)))
            else:
                shown(message, category, filename, lineno, file, line)

        warnings.showwarning = hold
        for category in categories:
            warnings.simplefilter("always", category)
        yield notes


def result_warnings(verb: str, messages, notes, quiet: bool, file=None) -> None:
    """Print an analysis' warnings, one line each; ``quiet`` drops only the reading notes in ``notes``.

    The reliability warnings (detection implausible, frames missing...) are always printed.
    """
    held = set(notes)
    for message in messages:
        if quiet and _one_line(str(message)) in held:
            continue
        _say(verb, str(message), file)


def dask_setup(worker=None) -> None:
    """Dask preload hook: a worker started by the ``spermtrack`` command shows warnings as the command does."""
    verb, _, mode = os.environ.get(WORKER_ENV, "batch").partition(":")
    install(verb, mode == "quiet")
