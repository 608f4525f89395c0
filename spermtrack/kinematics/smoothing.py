"""The average path of a sperm head: the curvilinear path with the flagellar beat removed.

CASA instruments build the *average path* by smoothing the head positions; VAP, ALH,
BCF and STR are measured against it. Two smoothers are offered, both with a window
given in **seconds** and both evaluated on the real time stamps of the points (so a
track with missing frames, or a video at another frame rate, gets the same average
path):

``"loess"`` (default)
    Local quadratic regression with tricube weights (Cleveland 1979; the
    time-weighted form of a Savitzky-Golay filter). At time ``t_i`` a parabola in
    time is fitted by weighted least squares to the points with
    ``|t_j - t_i| < window_s / 2``, weights ``(1 - |u|^3)^3`` with
    ``u = (t_j - t_i) / (window_s / 2)``; the fitted value is the average-path point
    and the fitted slope its velocity. A local *quadratic* follows curved paths
    (circles) without shrinking them, while the smooth tricube weights suppress the
    head oscillation: with the default 0.5 s window an oscillation at 9.5 Hz or
    faster keeps less than 2 % of its amplitude, and a circle swum once per second
    loses less than 1 % of its radius (docs/kinematics.md has the full response).
``"mean"``
    The classic CASA running average: the mean of the points with
    ``|t_j - t_i| <= window_s / 2``. It shrinks circles and lets oscillations
    between the zeros of its response through; it is here to compare with
    instruments that use it.

Near the ends of a track both windows keep their width and slide inwards (Cleveland's
constant span), so the beat is smoothed out up to the ends. The fitted path is then
*pinned* to the track's first and last points (:func:`pin_ends_kernel`): the offsets
between the end points and the fitted path are added back, fading linearly to zero
over one window. The pinned path is the one VAP is measured along: it starts and ends
where VSL's straight line does (the first and last detected positions, WHO), so
VSL <= VAP by construction. ALH, BCF and the progressive velocity are read against the
fitted path (:func:`smooth_track`).

All functions take positions in any length unit and return the same unit.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError

# The Numba kernels live in _kernel.py with their callers: Numba's on-disk cache is
# invalidated per source file, so a kernel cached in one file would keep running an old
# copy of a function it calls from another file after that file changed.
from ._kernel import METHODS, pin_ends_kernel, smooth_track

#: Default average-path window in seconds (see docs/kinematics.md, "Average path").
DEFAULT_SMOOTHING_S = 0.5

__all__ = ["DEFAULT_SMOOTHING_S", "METHODS", "average_path", "method_code", "pin_ends_kernel", "smooth_track"]


def method_code(method: str) -> int:
    """Integer code of a smoothing method name (``"loess"`` or ``"mean"``) for the Numba kernels."""
    try:
        return METHODS.index(method)
    except ValueError:
        raise ParameterError(f"unknown average-path method {method!r}; choose one of {METHODS}") from None


def average_path(
    t: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    window_s: float = DEFAULT_SMOOTHING_S,
    method: str = "loess",
    *,
    pin_ends: bool = True,
) -> np.ndarray:
    """The average path of one track.

    Parameters
    ----------
    t : array_like, shape (n,)
        Time stamps in seconds (``frame / fps``), strictly increasing; gaps allowed.
    x, y : array_like, shape (n,)
        Head positions (pixels or µm; the result has the same unit).
    window_s : float
        Smoothing window in seconds (full width), default 0.5 s.
    method : {"loess", "mean"}
        Local quadratic tricube regression (default) or the classic running average.
    pin_ends : bool
        Move the path onto the track's first and last points (default; the path VAP is
        measured along, see :func:`pin_ends_kernel`). ``False`` gives the fitted path
        itself, which ALH, BCF and the progressive velocity are read against.

    Returns
    -------
    numpy.ndarray, shape (n, 2), float64
        Average-path positions at the time stamps ``t``.

    Examples
    --------
    A straight swimmer with a 10 Hz, 2 µm head oscillation: more than one window from
    the ends the average path is the swimming axis, and it starts and ends on the
    track's end points.

    >>> t = np.arange(0, 2, 0.02)
    >>> y = 2 * np.sin(2 * np.pi * 10 * t + 1.0)
    >>> path = average_path(t, 50 * t, y)
    >>> inner = (t >= 0.5) & (t <= 1.5)
    >>> bool(np.abs(path[inner, 1]).max() < 0.05), bool(np.allclose(path[inner, 0], 50 * t[inner], atol=0.05))
    (True, True)
    >>> bool(path[0, 1] == y[0] and path[-1, 1] == y[-1])
    True
    """
    t, x, y = (np.ascontiguousarray(a, dtype=np.float64).reshape(-1) for a in (t, x, y))
    if not (t.shape == x.shape == y.shape):
        raise ParameterError(f"t, x and y must have the same length, got {t.shape}, {x.shape}, {y.shape}")
    if t.size > 1 and np.any(np.diff(t) <= 0):
        raise ParameterError("time stamps must be strictly increasing")
    if not np.isfinite(window_s) or window_s < 0:
        raise ParameterError(f"window_s must be a finite number >= 0 seconds, got {window_s}")
    ax, ay, _, _ = smooth_track(t, x, y, float(window_s), method_code(method))
    if pin_ends:
        ax, ay = pin_ends_kernel(t, x, y, ax, ay, float(window_s))
    return np.stack([ax, ay], axis=1)
