"""How the ``spermtrack`` command shows Python warnings: one line ``spermtrack VERB: warning: ...``.

Installed by :func:`spermtrack.cli.main` for the run of a verb only (never at library import), and
in the Dask worker processes of ``batch`` and ``pseudo-label`` (this module is their preload,
:func:`dask_setup`), so a warning never shows a file name, line number or code line.
With ``--quiet`` the warnings that only note how to read the results are hidden
(:class:`~spermtrack.errors.UncalibratedWarning`, :class:`~spermtrack.errors.LowImageRateWarning`:
summary.json and the report say it too). The deprecation warning of ``pkg_resources``, which
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


def install(verb: str, quiet: bool) -> None:
    """Replace the warning display and add the filters (in the current ``warnings`` state)."""
    from ..errors import LowImageRateWarning, SpermtrackWarning, UncalibratedWarning

    def show(message, category, filename, lineno, file=None, line=None):
        text = str(message)
        if not issubclass(category, (SpermtrackWarning, UserWarning)):
            text = f"{category.__name__}: {text}"
        try:
            print(f"spermtrack {verb}: warning: {_one_line(text)}", file=file or sys.stderr)
        except (OSError, ValueError):  # stderr closed
            pass

    warnings.showwarning = show
    warnings.filterwarnings("ignore", message=r"pkg_resources is deprecated", category=UserWarning)
    warnings.filterwarnings("ignore", message=r".*pkg_resources", category=DeprecationWarning)
    if quiet:
        warnings.simplefilter("ignore", UncalibratedWarning)
        warnings.simplefilter("ignore", LowImageRateWarning)


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


def dask_setup(worker=None) -> None:
    """Dask preload hook: a worker started by the ``spermtrack`` command shows warnings as the command does."""
    verb, _, mode = os.environ.get(WORKER_ENV, "batch").partition(":")
    install(verb, mode == "quiet")
