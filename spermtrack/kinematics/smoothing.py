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
    ``|t_j - t_i| <= window_s / 2`` (the window shrinks symmetrically at the ends
    of a track, so the first and last average-path points are the raw ones). It
    shrinks circles and lets oscillations between the zeros of its response
    through; it is here to compare with instruments that use it.

All functions take positions in any length unit and return the same unit.
"""

from __future__ import annotations

import numba
import numpy as np

#: Default average-path window in seconds (see docs/kinematics.md, "Average path").
DEFAULT_SMOOTHING_S = 0.5

METHODS = ("loess", "mean")
_LOESS, _MEAN = 0, 1


def method_code(method: str) -> int:
    """Integer code of a smoothing method name (``"loess"`` or ``"mean"``) for the Numba kernels."""
    try:
        return METHODS.index(method)
    except ValueError:
        raise ValueError(f"unknown average-path method {method!r}; choose one of {METHODS}") from None


@numba.njit(cache=True)
def _inverse_rows(s0, s1, s2, s3, s4):
    """First two rows of the inverse of the weighted normal matrix of a local parabola
    ``[[s0 s1 s2] [s1 s2 s3] [s2 s3 s4]]`` (value and slope at the centre), falling back to a
    line and then a constant when the window holds too few distinct times."""
    m00 = s2 * s4 - s3 * s3
    m01 = s2 * s3 - s1 * s4
    m02 = s1 * s3 - s2 * s2
    det = s0 * m00 + s1 * m01 + s2 * m02
    scale = s0 * s2 * s4
    if scale > 0.0 and det > 1e-9 * scale:
        m11 = s0 * s4 - s2 * s2
        m12 = s2 * s1 - s0 * s3
        return m00 / det, m01 / det, m02 / det, m01 / det, m11 / det, m12 / det
    det2 = s0 * s2 - s1 * s1
    if s0 > 0.0 and det2 > 1e-9 * s0 * s2:
        return s2 / det2, -s1 / det2, 0.0, -s1 / det2, s0 / det2, 0.0
    if s0 > 0.0:
        return 1.0 / s0, 0.0, 0.0, 0.0, 0.0, 0.0
    return 0.0, 0.0, 0.0, 0.0, 0.0, 0.0


@numba.njit(cache=True)
def _is_uniform(t):
    n = t.shape[0]
    if n < 3:
        return True
    dt = t[1] - t[0]
    for k in range(1, n - 1):
        if abs((t[k + 1] - t[k]) - dt) > 1e-9 * dt:
            return False
    return True


@numba.njit(cache=True)
def _loess(t, x, y, half, ax, ay, vx, vy):
    n = t.shape[0]
    t0 = t[0]
    t1 = t[n - 1]
    width = 2.0 * half
    # The fit is linear in the data: value and slope at t_i are sum_j k0_j x_j and
    # sum_j k1_j x_j (the "equivalent kernel"). On evenly sampled tracks the kernel is the
    # same for every point whose window sits at the same offsets, so it is built once.
    k0 = np.empty(n)
    k1 = np.empty(n)
    uniform = _is_uniform(t)
    prev_off = -1
    prev_len = -1
    prev_h = -1.0
    lo = 0
    hi = 0
    for i in range(n):
        ti = t[i]
        # A window of constant width (Cleveland's constant span): centred on t_i in the
        # interior, slid inwards near the ends so that it still holds a whole window of
        # points; the tricube bandwidth is the distance to the window's far edge.
        start = ti - half
        if start > t1 - width:
            start = t1 - width
        if start < t0:
            start = t0
        stop = start + width
        h = max(ti - start, stop - ti)
        while lo < n - 1 and t[lo] < start:
            lo += 1
        while hi < n and t[hi] <= stop:
            hi += 1
        if not (uniform and lo - i == prev_off and hi - lo == prev_len and abs(h - prev_h) <= 1e-12 * h):
            inv_h = 1.0 / h
            s0 = s1 = s2 = s3 = s4 = 0.0
            for j in range(lo, hi):
                u = (t[j] - ti) * inv_h
                au = abs(u)
                a = 1.0 - au * au * au
                w = a * a * a if a > 0.0 else 0.0
                u2 = u * u
                s0 += w
                s1 += w * u
                s2 += w * u2
                s3 += w * u2 * u
                s4 += w * u2 * u2
                k0[j - lo] = w
                k1[j - lo] = u
            r00, r01, r02, r10, r11, r12 = _inverse_rows(s0, s1, s2, s3, s4)
            for j in range(hi - lo):
                w = k0[j]
                u = k1[j]
                k0[j] = w * (r00 + u * (r01 + u * r02))
                k1[j] = w * (r10 + u * (r11 + u * r12)) * inv_h
            prev_off = lo - i
            prev_len = hi - lo
            prev_h = h
        xi = x[i]
        yi = y[i]
        cx0 = cx1 = cy0 = cy1 = 0.0
        for j in range(lo, hi):
            dx = x[j] - xi
            dy = y[j] - yi
            a = k0[j - lo]
            b = k1[j - lo]
            cx0 += a * dx
            cy0 += a * dy
            cx1 += b * dx
            cy1 += b * dy
        ax[i] = xi + cx0
        ay[i] = yi + cy0
        vx[i] = cx1
        vy[i] = cy1


@numba.njit(cache=True)
def _running_mean(t, x, y, half, ax, ay, vx, vy):
    n = t.shape[0]
    # prefix sums for O(n) window means
    px = np.zeros(n + 1)
    py = np.zeros(n + 1)
    for i in range(n):
        px[i + 1] = px[i] + (x[i] - x[0])
        py[i + 1] = py[i] + (y[i] - y[0])
    lo = 0
    hi = 0
    t0 = t[0]
    t1 = t[n - 1]
    eps = 1e-9 * max(1.0, abs(t1))
    for i in range(n):
        # the window [t_i - h, t_i + h] shrinks symmetrically at the ends; both of its
        # edges only move forward with i, so two pointers suffice
        h = min(half, t[i] - t0, t1 - t[i])
        while t[lo] < t[i] - h - eps:
            lo += 1
        while hi < n and t[hi] <= t[i] + h + eps:
            hi += 1
        m = hi - lo
        ax[i] = x[0] + (px[hi] - px[lo]) / m
        ay[i] = y[0] + (py[hi] - py[lo]) / m
    # velocity of the average path by central differences on the real time stamps
    for i in range(n):
        a = max(i - 1, 0)
        b = min(i + 1, n - 1)
        dt = t[b] - t[a]
        if dt > 0.0:
            vx[i] = (ax[b] - ax[a]) / dt
            vy[i] = (ay[b] - ay[a]) / dt
        else:
            vx[i] = 0.0
            vy[i] = 0.0


@numba.njit(cache=True)
def smooth_track(t, x, y, window_s, method):
    """Average path of one track (Numba kernel).

    Parameters
    ----------
    t : float64 array (n,)
        Time stamps in seconds, strictly increasing.
    x, y : float64 arrays (n,)
        Positions (any length unit).
    window_s : float
        Full window width in seconds.
    method : int
        0 for ``"loess"``, 1 for ``"mean"`` (see :func:`method_code`).

    Returns
    -------
    ax, ay, vx, vy : float64 arrays (n,)
        Average-path positions (same unit as ``x``) and velocities (unit per second).
    """
    n = t.shape[0]
    ax = np.empty(n)
    ay = np.empty(n)
    vx = np.zeros(n)
    vy = np.zeros(n)
    if n == 0:
        return ax, ay, vx, vy
    half = 0.5 * window_s
    if half <= 0.0:
        ax[:] = x
        ay[:] = y
        return ax, ay, vx, vy
    if method == _LOESS:
        _loess(t, x, y, half, ax, ay, vx, vy)
    else:
        _running_mean(t, x, y, half, ax, ay, vx, vy)
    return ax, ay, vx, vy


def average_path(
    t: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    window_s: float = DEFAULT_SMOOTHING_S,
    method: str = "loess",
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

    Returns
    -------
    numpy.ndarray, shape (n, 2), float64
        Average-path positions at the time stamps ``t``.

    Examples
    --------
    A straight swimmer with a 10 Hz, 2 µm head oscillation: away from the ends (where
    the window is one-sided), the average path is the swimming axis.

    >>> t = np.arange(0, 2, 0.02)
    >>> path = average_path(t, 50 * t, 2 * np.sin(2 * np.pi * 10 * t))
    >>> inner = (t >= 0.25) & (t <= 1.75)
    >>> bool(np.abs(path[inner, 1]).max() < 0.05), bool(np.allclose(path[inner, 0], 50 * t[inner], atol=0.05))
    (True, True)
    """
    t, x, y = (np.ascontiguousarray(a, dtype=np.float64).reshape(-1) for a in (t, x, y))
    if not (t.shape == x.shape == y.shape):
        raise ValueError(f"t, x and y must have the same length, got {t.shape}, {x.shape}, {y.shape}")
    if t.size > 1 and np.any(np.diff(t) <= 0):
        raise ValueError("time stamps must be strictly increasing")
    if not np.isfinite(window_s) or window_s < 0:
        raise ValueError(f"window_s must be a finite number >= 0 seconds, got {window_s}")
    ax, ay, _, _ = smooth_track(t, x, y, float(window_s), method_code(method))
    return np.stack([ax, ay], axis=1)
