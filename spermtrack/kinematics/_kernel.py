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
