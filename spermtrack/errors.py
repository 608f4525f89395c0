"""Exceptions raised by spermtrack.

Every error a user can trigger with bad input derives from :class:`SpermtrackError`
and says what was wrong and where (file and line, or frame).
"""

from __future__ import annotations

from pathlib import Path


class SpermtrackError(Exception):
    """Base class of all errors raised by spermtrack on bad input or bad state."""


class ParameterError(SpermtrackError, ValueError):
    """A setting or argument is out of range, of the wrong type, or contradicts another one.

    The message names the setting (its command-line flag where it has one) and the value.
    """


class ParameterTypeError(SpermtrackError, TypeError):
    """An argument has a type spermtrack cannot use (names the argument and the types it takes)."""


class StateError(SpermtrackError, RuntimeError):
    """An object is used in a state that does not allow it (a tracker already finished, ...)."""


class BoxesError(SpermtrackError, ValueError):
    """A :class:`~spermtrack.Boxes` table is inconsistent (shapes, NaN, x2 < x1, unsorted frames)."""


class CalibrationError(SpermtrackError, ValueError):
    """A calibration value is missing, non-finite, non-positive or implausible."""


class FormatError(SpermtrackError, ValueError):
    """A file does not follow its format.

    Parameters
    ----------
    message
        What is wrong.
    path
        The offending file.
    line
        1-based line number inside ``path``, when the problem is on one line.
    """

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        self.path = None if path is None else Path(path)
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}"
            if line is not None:
                where += f", line {line}"
            where += ": "
        super().__init__(where + message)


class DatasetError(SpermtrackError, FileNotFoundError):
    """A dataset folder is missing parts (images, labels) or is inconsistent."""


class MissingFileError(SpermtrackError, FileNotFoundError):
    """An input file (model weights, a settings file) does not exist; the message names the path."""


class VideoError(SpermtrackError, OSError):
    """A video or image source is missing, unreadable or corrupt (names path and frame)."""


class MissingDependencyError(SpermtrackError, ImportError):
    """An optional dependency is needed; the message names the extra to install."""


# Errors of one module each; they live here so that one family is imported from one place
# (their old paths, e.g. ``spermtrack.results.OutputError``, still work).


class EvaluationError(ParameterError):
    """The inputs of an evaluation do not fit together (frame ranges, ids, threshold); the message says how."""


class LookError(ParameterError):
    """A look setting (polarity, head size) is invalid."""


class TrackerConfigError(ParameterError):
    """A tracker setting is out of range or of the wrong type."""


class TimeBaseError(ParameterError):
    """Time stamps that are not usable (wrong length, not finite, decreasing)."""


class OutputError(ParameterError):
    """An output folder is refused: it overlaps a source, or holds data spermtrack did not write."""


class ResultLockedError(SpermtrackError, OSError):
    """Another spermtrack process is writing the same result folder."""


class SymlinkLoopError(SpermtrackError, OSError):
    """A path cannot be resolved because its symbolic links form a loop."""


class SpermtrackWarning(UserWarning):
    """Base class of the warnings spermtrack emits (results that are computed but probably not what was meant)."""


class UncalibratedWarning(SpermtrackWarning):
    """A CASA result without a calibration: its speeds and lengths cannot be compared with WHO values."""


class LowImageRateWarning(SpermtrackWarning):
    """A CASA result from fewer new images per second than CASA practice (50-60): VCL, LIN, WOB, MAD,
    BCF and the path patterns depend on the image rate and cannot be compared with values at 50-60."""


class EvaluationWarning(SpermtrackWarning):
    """Ground truth and hypothesis hardly overlap (another video?); the scores are computed anyway."""


def shown(value) -> str:
    """``repr`` of a value for an error message, NumPy scalars as plain numbers (``0.0``, not ``np.float64(0.0)``).

    >>> import numpy as np
    >>> shown(np.float64(0.0)), shown(np.int64(3)), shown("x")
    ('0.0', '3', "'x'")
    """
    item = getattr(value, "item", None)
    if callable(item) and type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        value = item()
    return repr(value)


def require(module: str, extra: str, purpose: str):
    """Import an optional dependency or raise :class:`MissingDependencyError` naming the extra.

    >>> require("math", "none", "testing").sqrt(4.0)
    2.0
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            f"{purpose} needs the optional package '{module}': install it with  pip install 'spermtrack[{extra}]'  ({exc})"
        ) from exc
