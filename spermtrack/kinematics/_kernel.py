"""Numba kernel: CASA quantities of every track in one pass.

Positions come in the output length unit (µm, or pixels without a calibration) and
time stamps in seconds, grouped by track (``offsets``). Each track is handled by
:func:`track_kinematics`; :func:`all_tracks` runs it over every track. The Python
layer (:mod:`spermtrack.kinematics.casa`) turns the result into a DataFrame. The
average-path smoothers (:func:`smooth_track`, :func:`pin_ends_kernel`) are here too and
documented in :mod:`spermtrack.kinematics.smoothing`, which wraps them.
"""

from __future__ import annotations

import math

import numba
import numpy as np

# Result columns of the kernel (float64); the names are the DataFrame's.
K_VCL, K_VSL, K_VAP, K_ALH_MEAN, K_ALH_MAX, K_BCF, K_MAD = 0, 1, 2, 3, 4, 5, 6
K_VPROG, K_WOBBLE, K_TURN, K_TURN_ABS, K_MAX_STEP, K_JUMPS, K_MAX_GAP, K_DURATION = 7, 8, 9, 10, 11, 12, 13, 14
K_RADIUS, K_BEAT = 15, 16
N_RESULTS = 17

# Average-path smoothers (documented in smoothing.py, which wraps them). They are in this
# file, with the kernel that calls them, because Numba's on-disk cache is invalidated per
# source file: a cached caller keeps the compiled code of the functions it calls.
METHODS = ("loess", "mean")
_LOESS, _MEAN = 0, 1


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
def _apply_kernel(x, y, k0, k1, off, length, i0, i1, ax, ay, vx, vy):
    """Value and slope of the local fit at points ``i0 .. i1 - 1``, which share one equivalent kernel.

    Point ``i`` reads rows ``i + off .. i + off + length - 1`` with weights ``k0`` (value) and
    ``k1`` (slope). The loop over the points is innermost, so their sums are independent
    (no dependency chain between iterations); each point's sum still runs over its window
    in the same order as a point-by-point loop, so the result is the same to the bit
    (three to four times as fast at a 50-point window).
    """
    m = i1 - i0
    if m < 8:  # a short run (near the ends of a track): point by point
        for i in range(i0, i1):
            xi = x[i]
            yi = y[i]
            cx0 = cx1 = cy0 = cy1 = 0.0
            for j in range(length):
                dx = x[i + off + j] - xi
                dy = y[i + off + j] - yi
                a = k0[j]
                b = k1[j]
                cx0 += a * dx
                cy0 += a * dy
                cx1 += b * dx
                cy1 += b * dy
            ax[i] = xi + cx0
            ay[i] = yi + cy0
            vx[i] = cx1
            vy[i] = cy1
        return
    # views starting at i0: plain unit-stride loops that LLVM vectorises (no index arithmetic)
    px = x[i0:i1]
    py = y[i0:i1]
    sx = ax[i0:i1]
    sy = ay[i0:i1]
    sx[:] = 0.0
    sy[:] = 0.0
    gx = vx[i0:i1]
    gy = vy[i0:i1]
    gx[:] = 0.0
    gy[:] = 0.0
    j = 0
    while j + 4 <= length:  # four window rows per pass: a quarter of the loads and stores
        a0, a1, a2, a3 = k0[j], k0[j + 1], k0[j + 2], k0[j + 3]
        b0, b1, b2, b3 = k1[j], k1[j + 1], k1[j + 2], k1[j + 3]
        s = i0 + off + j
        x0, x1, x2, x3 = x[s : s + m], x[s + 1 : s + 1 + m], x[s + 2 : s + 2 + m], x[s + 3 : s + 3 + m]
        y0, y1, y2, y3 = y[s : s + m], y[s + 1 : s + 1 + m], y[s + 2 : s + 2 + m], y[s + 3 : s + 3 + m]
        for i in range(m):
            xi = px[i]
            yi = py[i]
            d0, d1, d2, d3 = x0[i] - xi, x1[i] - xi, x2[i] - xi, x3[i] - xi
            e0, e1, e2, e3 = y0[i] - yi, y1[i] - yi, y2[i] - yi, y3[i] - yi
            # added one window row after the other, as a point-by-point loop does
            sx[i] = (((sx[i] + a0 * d0) + a1 * d1) + a2 * d2) + a3 * d3
            sy[i] = (((sy[i] + a0 * e0) + a1 * e1) + a2 * e2) + a3 * e3
            gx[i] = (((gx[i] + b0 * d0) + b1 * d1) + b2 * d2) + b3 * d3
            gy[i] = (((gy[i] + b0 * e0) + b1 * e1) + b2 * e2) + b3 * e3
        j += 4
    while j < length:
        a = k0[j]
        b = k1[j]
        qx = x[i0 + off + j : i0 + off + j + m]
        qy = y[i0 + off + j : i0 + off + j + m]
        for i in range(m):
            dx = qx[i] - px[i]
            dy = qy[i] - py[i]
            sx[i] += a * dx
            sy[i] += a * dy
            gx[i] += b * dx
            gy[i] += b * dy
        j += 1
    for i in range(m):
        sx[i] = px[i] + sx[i]
        sy[i] = py[i] + sy[i]


@numba.njit(cache=True)
def _loess(t, x, y, half, ax, ay, vx, vy):
    n = t.shape[0]
    t0 = t[0]
    t1 = t[n - 1]
    width = 2.0 * half
    # The fit is linear in the data: value and slope at t_i are sum_j k0_j x_j and
    # sum_j k1_j x_j (the "equivalent kernel"). On evenly sampled tracks the kernel is the
    # same for every point whose window sits at the same offsets, so it is built once, and
    # applied to the whole run of points that share it at once (_apply_kernel).
    k0 = np.empty(n)
    k1 = np.empty(n)
    uniform = _is_uniform(t)
    prev_off = -1
    prev_len = -1
    prev_h = -1.0
    run = 0  # first point of the run that shares the current kernel
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
            if i > run:
                _apply_kernel(x, y, k0, k1, prev_off, prev_len, run, i, ax, ay, vx, vy)
            run = i
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
    if n > run:
        _apply_kernel(x, y, k0, k1, prev_off, prev_len, run, n, ax, ay, vx, vy)


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
    width = 2.0 * half
    for i in range(n):
        # the window [t_i - half, t_i + half], slid inwards near the ends so that it keeps
        # its width (the constant span of the local regression; a window shrinking to one
        # point would hand the raw beat to the ends of the path); both of its edges only
        # move forward with i, so two pointers suffice
        start = min(t[i] - half, t1 - width)
        start = max(start, t0)
        stop = start + width
        while t[lo] < start - eps:
            lo += 1
        while hi < n and t[hi] <= stop + eps:
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
    """Fitted average path of one track (Numba kernel; not pinned, see :func:`pin_ends_kernel`).

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


@numba.njit(cache=True)
def pin_ends_kernel(t, x, y, ax, ay, ramp_s):
    """The average path moved onto the track's first and last points (Numba kernel).

    The offsets ``p_0 - a_0`` and ``p_{n-1} - a_{n-1}`` between the track's end points and
    the fitted average path are added back with weights falling linearly from 1 at that
    end to 0 at ``ramp_s`` seconds from it (``ramp_s`` capped at the track's duration):
    the shortest way to join the fitted path to the end points, so the path gains as
    little length as possible (about ``d^2 / (2 v ramp_s)`` for a sideways offset ``d``
    at speed ``v``).
    The average path then starts and ends where the track does, as the WHO straight
    line (VSL) does, so that VSL <= VAP.

    Returns new arrays ``bx, by`` (same unit as ``x``).
    """
    n = t.shape[0]
    bx = ax.copy()
    by = ay.copy()
    if n < 2:
        for i in range(n):
            bx[i] = x[i]
            by[i] = y[i]
        return bx, by
    tau = min(ramp_s, t[n - 1] - t[0])
    dx0 = x[0] - ax[0]
    dy0 = y[0] - ay[0]
    dx1 = x[n - 1] - ax[n - 1]
    dy1 = y[n - 1] - ay[n - 1]
    if tau > 0.0:
        for i in range(n):
            w0 = 1.0 - (t[i] - t[0]) / tau
            w1 = 1.0 - (t[n - 1] - t[i]) / tau
            if w0 > 0.0:
                bx[i] += w0 * dx0
                by[i] += w0 * dy0
            if w1 > 0.0:
                bx[i] += w1 * dx1
                by[i] += w1 * dy1
    # exactly the end points (no rounding residue)
    bx[0] = x[0]
    by[0] = y[0]
    bx[n - 1] = x[n - 1]
    by[n - 1] = y[n - 1]
    return bx, by


@numba.njit(cache=True)
def _lateral_deviation(x, y, ax, ay, vx, vy):
    """Signed distance of each point from the average path, measured across its direction."""
    n = x.shape[0]
    d = np.zeros(n)
    sq = 0.0
    for i in range(n):
        ex = x[i] - ax[i]
        ey = y[i] - ay[i]
        sq += ex * ex + ey * ey
        sp = math.hypot(vx[i], vy[i])
        if sp > 0.0:
            d[i] = (vx[i] * ey - vy[i] * ex) / sp
    return d, math.sqrt(sq / n) if n else math.nan


@numba.njit(cache=True)
def _evenly_spaced(t, frame_dt, max_lag):
    """True when every step of ``t`` is one frame (``frame_dt``), so close that ``max_lag``
    steps in a row stay within a quarter frame of ``max_lag`` frames."""
    n = t.shape[0]
    tol = 0.1 * frame_dt / max(max_lag, 1)
    for i in range(n - 1):
        if abs(t[i + 1] - t[i] - frame_dt) > tol:
            return False
    return True


@numba.njit(cache=True)
def _beat_rms(t, x, y, ax, ay, frame_dt, max_lag):
    """RMS excursion of the head about its average path that persists from frame to frame.

    Detection jitter is independent from frame to frame; the head's own movement about
    the average path (the beat, a twitch, a tight circle) is not. The autocovariance of
    the residual ``p_i - a_i`` (2-D) at a lag of ``k`` frames keeps the head's movement
    (a beat of period ``P`` gives its full variance at ``k`` near a multiple of ``P``) and
    averages the jitter out. Returns the square root of its largest value over lags
    ``1..max_lag`` frames (pairs of points exactly ``k`` frames apart; gaps allowed), 0
    when it is negative (pure jitter), and the plain rms when no pair exists.
    """
    n = t.shape[0]
    if n == 0:
        return math.nan
    total = 0.0
    for i in range(n):
        ex = x[i] - ax[i]
        ey = y[i] - ay[i]
        total += ex * ex + ey * ey
    best = -math.inf
    tol = 0.25 * frame_dt
    if _evenly_spaced(t, frame_dt, max_lag):
        # no gap: the point k frames after point i is point i + k. The sums of all lags
        # are built in one pass, lags innermost (independent sums, vectorised); each
        # lag's sum still runs over i in order, as below, so the result is the same to
        # the bit.
        rx = np.empty(n)
        ry = np.empty(n)
        for i in range(n):
            rx[i] = x[i] - ax[i]
            ry[i] = y[i] - ay[i]
        acc = np.zeros(max_lag + 1)
        for i in range(n - 1):
            top = min(max_lag, n - 1 - i)
            xi = rx[i]
            yi = ry[i]
            qx = rx[i : i + top + 1]
            qy = ry[i : i + top + 1]
            for k in range(1, top + 1):
                acc[k] += xi * qx[k] + yi * qy[k]
        for k in range(1, min(max_lag, n - 1) + 1):
            best = max(best, acc[k] / (n - k))
        if best == -math.inf:
            return math.sqrt(total / n)
        return math.sqrt(best) if best > 0.0 else 0.0
    for k in range(1, max_lag + 1):
        lag = k * frame_dt
        acc = 0.0
        m = 0
        j = 0
        for i in range(n):
            target = t[i] + lag
            while j < n and t[j] < target - tol:
                j += 1
            if j >= n:
                break
            if t[j] <= target + tol:
                acc += (x[i] - ax[i]) * (x[j] - ax[j]) + (y[i] - ay[i]) * (y[j] - ay[j])
                m += 1
        if m > 0:
            best = max(best, acc / m)
    if best == -math.inf:
        return math.sqrt(total / n)
    return math.sqrt(best) if best > 0.0 else 0.0


@numba.njit(cache=True)
def _interior(t, half):
    """Rows ``a:b`` whose times lie at least ``half`` seconds from both ends of the track
    (where a centred smoothing window fits); the whole track when it is shorter than
    4 * half seconds (two windows)."""
    n = t.shape[0]
    if t[n - 1] - t[0] < 4.0 * half:
        return 0, n
    a = 0
    while t[a] < t[0] + half:
        a += 1
    b = n
    while t[b - 1] > t[n - 1] - half:
        b -= 1
    return a, b


@numba.njit(cache=True)
def _crossings(t, d, hysteresis):
    """Crossings of the curvilinear path over the average path (sign changes of ``d``).

    A crossing counts when ``d`` goes from ``<= -hysteresis`` to ``>= +hysteresis`` or back
    (a Schmitt trigger, so detection jitter around the average path does not count); its
    time is the linearly interpolated zero of ``d`` just before. Returns the crossing
    times, the index of the first sample after each crossing, and the side (+1/-1) the
    path is on after it.
    """
    n = d.shape[0]
    times = np.empty(n)
    index = np.empty(n, np.int64)
    side = np.empty(n, np.int64)
    k = 0
    state = 0
    zero_t = math.nan
    zero_i = -1
    for i in range(n):
        if i > 0:
            a = d[i - 1]
            b = d[i]
            if (a < 0.0 and b >= 0.0) or (a > 0.0 and b <= 0.0):
                zero_t = t[i - 1] + (t[i] - t[i - 1]) * a / (a - b)
                zero_i = i
        v = d[i]
        if state == 0:
            if v > 0.0 and v >= hysteresis:
                state = 1
            elif v < 0.0 and v <= -hysteresis:
                state = -1
        elif state == 1 and v < 0.0 and v <= -hysteresis:
            times[k] = zero_t
            index[k] = zero_i
            side[k] = -1
            k += 1
            state = -1
        elif state == -1 and v > 0.0 and v >= hysteresis:
            times[k] = zero_t
            index[k] = zero_i
            side[k] = 1
            k += 1
            state = 1
    return times[:k], index[:k], side[:k]


@numba.njit(cache=True)
def _half_beat_amplitude(t, d, i0, i1, t0, t1, sgn):
    """Lateral amplitude of the half beat between crossings at ``t0`` and ``t1``.

    The samples of the half beat (rows ``i0:i1``) and one on each side are fitted, by least
    squares, with a sinusoid whose half period is the time between the two crossings and
    whose phase is free; its amplitude is returned. Picking the largest sample instead
    under-reads the excursion whenever the peak falls between frames, by up to
    ``1 - cos(pi f / fps)`` (27 % for a 12 Hz beat at 50 fps, 9 % on average); the fit
    does not. It is
    capped at twice the largest sample so that an ill-posed fit cannot run away.
    """
    n = d.shape[0]
    lo = max(i0 - 1, 0)
    hi = min(i1 + 1, n)
    biggest = 0.0
    for j in range(lo, hi):
        biggest = max(biggest, abs(d[j]))
    half = t1 - t0
    if half <= 0.0:
        return biggest
    w = math.pi / half
    mid = 0.5 * (t0 + t1)
    scc = sss = scs = scd = ssd = 0.0
    # cos and sin of w (t_j - mid), stepped by rotation between evenly spaced samples
    c = math.cos(w * (t[lo] - mid))
    s = math.sin(w * (t[lo] - mid))
    step = t[lo + 1] - t[lo] if hi - lo > 1 else 0.0
    cs = math.cos(w * step)
    sn = math.sin(w * step)
    for j in range(lo, hi):
        if j > lo:
            dt = t[j] - t[j - 1]
            if abs(dt - step) <= 1e-9 * step:
                c, s = c * cs - s * sn, s * cs + c * sn
            else:
                c = math.cos(w * (t[j] - mid))
                s = math.sin(w * (t[j] - mid))
        v = sgn * d[j]
        scc += c * c
        sss += s * s
        scs += c * s
        scd += c * v
        ssd += s * v
    det = scc * sss - scs * scs
    if det <= 1e-12 * max(scc * sss, 1e-300):
        return biggest
    a = (sss * scd - scs * ssd) / det
    b = (scc * ssd - scs * scd) / det
    return min(math.hypot(a, b), 2.0 * biggest)


@numba.njit(cache=True)
def _alh_bcf(t, d, hysteresis, duration):
    """ALH (mean, max; peak-to-peak = 2 x the lateral amplitude of each half beat) and BCF (Hz)."""
    times, index, side = _crossings(t, d, hysteresis)
    k = times.shape[0]
    n = d.shape[0]
    if k >= 2:
        total = 0.0
        biggest = 0.0
        for c in range(k - 1):
            p = _half_beat_amplitude(t, d, index[c], index[c + 1], times[c], times[c + 1], side[c])
            total += p
            biggest = max(biggest, p)
        alh_mean = 2.0 * total / (k - 1)
        alh_max = 2.0 * biggest
    else:
        m = 0.0
        for j in range(n):
            m = max(m, abs(d[j]))
        alh_mean = 2.0 * m
        alh_max = 2.0 * m
    span = times[k - 1] - times[0] if k >= 2 else 0.0
    if k >= 3 and span >= 0.5 * duration:
        bcf = (k - 1) / span
    elif duration > 0.0:
        bcf = k / duration
    else:
        bcf = math.nan
    return alh_mean, alh_max, bcf


@numba.njit(cache=True)
def _progressive_speed(t, ax, ay, window_s):
    """Mean net displacement of the average path over ``window_s`` seconds, per second.

    This is the WHO 6th-edition reading of progression ("covering a distance, from the
    starting point to the end point, of at least 25 µm in 1 s"), averaged over every
    window start; a track shorter than the window uses its whole span.
    """
    n = t.shape[0]
    span = t[n - 1] - t[0]
    if span <= 0.0:
        return math.nan
    if span < window_s or window_s <= 0.0:
        return math.hypot(ax[n - 1] - ax[0], ay[n - 1] - ay[0]) / span
    eps = 1e-9 * max(1.0, abs(t[n - 1]))
    acc = 0.0
    m = 0
    j = 0
    for i in range(n):
        tt = t[i] + window_s
        if tt > t[n - 1] + eps:
            break
        while j < n - 2 and t[j + 1] < tt:
            j += 1
        dt = t[j + 1] - t[j]
        f = (tt - t[j]) / dt if dt > 0.0 else 0.0
        f = min(max(f, 0.0), 1.0)
        px = ax[j] + f * (ax[j + 1] - ax[j])
        py = ay[j] + f * (ay[j + 1] - ay[j])
        acc += math.hypot(px - ax[i], py - ay[i])
        m += 1
    return acc / (m * window_s)


@numba.njit(cache=True)
def track_kinematics(t, x, y, window_s, method, hysteresis, prog_window_s, jump_factor, jump_speed, frame_dt, out):
    """CASA quantities of one track, written into ``out`` (float64, length ``N_RESULTS``).

    ``t`` in seconds (strictly increasing, whole multiples of ``frame_dt`` = 1 / fps from
    the track's first point), ``x, y`` in the output length unit. Speeds are in length
    unit per second, ALH in the length unit, BCF in Hz, MAD and turning in degrees.
    """
    out[:] = math.nan
    n = t.shape[0]
    if n == 0:
        return
    duration = t[n - 1] - t[0]
    out[K_DURATION] = duration
    out[K_JUMPS] = 0.0
    if n < 2 or duration <= 0.0:
        return
    # --- curvilinear path: VCL, VSL, steps, MAD
    path = 0.0
    max_gap = 0.0
    speeds = np.empty(n - 1)
    for i in range(n - 1):
        dt = t[i + 1] - t[i]
        ds = math.hypot(x[i + 1] - x[i], y[i + 1] - y[i])
        path += ds
        speeds[i] = ds / dt
        max_gap = max(max_gap, dt)
    out[K_VCL] = path / duration
    out[K_VSL] = math.hypot(x[n - 1] - x[0], y[n - 1] - y[0]) / duration
    out[K_MAX_STEP] = speeds.max()
    out[K_MAX_GAP] = max_gap  # longest interval between two points (s)
    threshold = max(jump_factor * np.median(speeds), jump_speed)
    jumps = 0
    if threshold > 0.0:
        for i in range(n - 1):
            if speeds[i] > threshold:
                jumps += 1
    out[K_JUMPS] = jumps
    turn = 0.0
    m = 0
    for i in range(n - 2):
        ux = x[i + 1] - x[i]
        uy = y[i + 1] - y[i]
        wx = x[i + 2] - x[i + 1]
        wy = y[i + 2] - y[i + 1]
        if (ux != 0.0 or uy != 0.0) and (wx != 0.0 or wy != 0.0):
            turn += abs(math.atan2(ux * wy - uy * wx, ux * wx + uy * wy))
            m += 1
    if m > 0:
        out[K_MAD] = math.degrees(turn / m)
    # --- average path. VAP is its length over the whole track, moved onto the track's
    # first and last points (pin_ends_kernel): VCL, VSL and VAP then share one span
    # and one duration, and VSL (the chord between the first and last points) is a chord
    # of the path VAP measures, so VSL <= VAP.
    ax, ay, vx, vy = smooth_track(t, x, y, window_s, method)
    bx, by = pin_ends_kernel(t, x, y, ax, ay, window_s)
    arc = 0.0
    for i in range(n - 1):
        arc += math.hypot(bx[i + 1] - bx[i], by[i + 1] - by[i])
    # An average path is no longer than the path it averages (VAP <= VCL); the local
    # quadratic can ring at a step of the path (a jump, flagged) and make it so: capped.
    out[K_VAP] = min(arc, path) / duration
    # Turning, progression and the beat are read against the fitted average path on the
    # interior, where the smoothing window is centred (near the ends it is one-sided and
    # lets part of the beat in); tracks shorter than two windows use all their points.
    a, b = _interior(t, 0.5 * window_s)
    length = 0.0
    net = 0.0
    total = 0.0
    px = 0.0  # previous non-zero step of the average path
    py = 0.0
    for i in range(a, b - 1):
        dx = ax[i + 1] - ax[i]
        dy = ay[i + 1] - ay[i]
        ds = math.hypot(dx, dy)
        length += ds
        if ds > 0.0:
            if px != 0.0 or py != 0.0:
                dh = math.atan2(px * dy - py * dx, px * dx + py * dy)  # heading change, (-pi, pi]
                net += dh
                total += abs(dh)
            px = dx
            py = dy
    span = t[b - 1] - t[a]
    out[K_TURN] = math.degrees(net)
    out[K_TURN_ABS] = math.degrees(total)
    if net != 0.0:
        out[K_RADIUS] = length / abs(net)  # radius of the circle the average path turns on
    out[K_VPROG] = _progressive_speed(t[a:b], ax[a:b], ay[a:b], prog_window_s)
    # --- lateral head displacement about the average path: ALH, BCF, wobble amplitude
    d, rms = _lateral_deviation(x[a:b], y[a:b], ax[a:b], ay[a:b], vx[a:b], vy[a:b])
    out[K_WOBBLE] = rms
    max_lag = max(1, int(0.5 * window_s / frame_dt + 1e-9))  # lags up to half a window
    out[K_BEAT] = _beat_rms(t[a:b], x[a:b], y[a:b], ax[a:b], ay[a:b], frame_dt, max_lag)
    alh_mean, alh_max, bcf = _alh_bcf(t[a:b], d, hysteresis, span)
    out[K_ALH_MEAN] = alh_mean
    out[K_ALH_MAX] = alh_max
    out[K_BCF] = bcf


@numba.njit(cache=True)
def all_tracks(t, x, y, offsets, window_s, method, hysteresis, prog_window_s, jump_factor, jump_speed, frame_dt):
    """Run :func:`track_kinematics` on every track; track ``k`` is rows ``offsets[k]:offsets[k+1]``.

    Returns a float64 array ``(n_tracks, N_RESULTS)``.
    """
    n_tracks = offsets.shape[0] - 1
    res = np.empty((n_tracks, N_RESULTS))
    for k in range(n_tracks):
        a = offsets[k]
        b = offsets[k + 1]
        track_kinematics(
            t[a:b], x[a:b], y[a:b], window_s, method, hysteresis, prog_window_s, jump_factor, jump_speed, frame_dt, res[k]
        )
    return res


@numba.njit(cache=True)
def group_rows(frame, track_id, score, observed_only, x1, y1, x2, y2, cls):
    """Rows of a frame-sorted box table grouped by track, for :func:`all_tracks`.

    Keeps the tracked rows (``track_id != -1``) and, with ``observed_only``, those with
    ``score > 0``. Returns ``ok`` (False when ``frame`` is not sorted: the caller then
    groups another way), ``order`` (kept row indices sorted by ``(track_id, frame)``, rows
    of one track and frame in table order, as a stable sort gives), ``ids`` (ascending),
    ``offsets`` (track ``k`` owns ``order[offsets[k]:offsets[k+1]]``), and per sorted row
    ``frame`` (int64) and the box centre ``cx, cy`` (float64 pixels), the majority class
    of each track (ties to the smallest class id) and ``dup`` (the row repeats the frame
    of the row before it in the same track).
    """
    n = frame.shape[0]
    keep = np.empty(n, np.int64)
    m = 0
    lo_id = 0
    hi_id = -1
    prev = -(2**62)
    ok = True
    for r in range(n):
        f = frame[r]
        if f < prev:
            ok = False
        prev = f
        tid = track_id[r]
        if tid == -1 or (observed_only and not score[r] > 0.0):
            continue
        if m == 0:
            lo_id = tid
            hi_id = tid
        elif tid < lo_id:
            lo_id = tid
        elif tid > hi_id:
            hi_id = tid
        keep[m] = r
        m += 1
    keep = keep[:m]
    order = np.empty(m, np.int64)
    if m and hi_id - lo_id <= 4 * m + 1024:
        # counting sort by track id: stable, so each track's rows keep the table's (frame) order
        span = hi_id - lo_id + 1
        start = np.zeros(span + 1, np.int64)
        for q in range(m):
            start[track_id[keep[q]] - lo_id + 1] += 1
        n_tracks = 0
        for v in range(span):
            if start[v + 1] > 0:
                n_tracks += 1
            start[v + 1] += start[v]
        ids = np.empty(n_tracks, np.int64)
        offsets = np.empty(n_tracks + 1, np.int64)
        k = 0
        for v in range(span):
            if start[v + 1] > start[v]:
                ids[k] = v + lo_id
                offsets[k] = start[v]
                k += 1
        offsets[n_tracks] = m
        fill = start[:span].copy()
        for q in range(m):
            r = keep[q]
            v = track_id[r] - lo_id
            order[fill[v]] = r
            fill[v] += 1
    else:
        tids = np.empty(m, np.int64)
        for q in range(m):
            tids[q] = track_id[keep[q]]
        srt = np.argsort(tids, kind="mergesort")
        n_tracks = 0
        for q in range(m):
            order[q] = keep[srt[q]]
            if q == 0 or tids[srt[q]] != tids[srt[q - 1]]:
                n_tracks += 1
        ids = np.empty(n_tracks, np.int64)
        offsets = np.empty(n_tracks + 1, np.int64)
        k = 0
        for q in range(m):
            if q == 0 or tids[srt[q]] != tids[srt[q - 1]]:
                ids[k] = tids[srt[q]]
                offsets[k] = q
                k += 1
        offsets[n_tracks] = m
    out_frame = np.empty(m, np.int64)
    cx = np.empty(m)
    cy = np.empty(m)
    dup = np.zeros(m, np.bool_)
    for q in range(m):
        r = order[q]
        out_frame[q] = frame[r]
        cx[q] = 0.5 * (np.float64(x1[r]) + np.float64(x2[r]))
        cy[q] = 0.5 * (np.float64(y1[r]) + np.float64(y2[r]))
    n_tracks = ids.shape[0]
    major = np.empty(n_tracks, cls.dtype)
    for k in range(n_tracks):
        a = offsets[k]
        b = offsets[k + 1]
        for q in range(a + 1, b):
            if out_frame[q] == out_frame[q - 1]:
                dup[q] = True
        c0 = cls[order[a]]
        same = True
        for q in range(a + 1, b):
            if cls[order[q]] != c0:
                same = False
                break
        if same:
            major[k] = c0
            continue
        vals = np.empty(b - a, cls.dtype)
        for q in range(a, b):
            vals[q - a] = cls[order[q]]
        vals.sort()
        best = vals[0]
        best_count = 0
        run = 0
        for q in range(b - a):
            run = run + 1 if q > 0 and vals[q] == vals[q - 1] else 1
            if run > best_count:  # strictly more: ties keep the smaller class id
                best_count = run
                best = vals[q]
        major[k] = best
    return ok, order, ids, offsets, out_frame, cx, cy, major, dup
