"""Numba kernel: CASA quantities of every track in one pass.

Positions come in the output length unit (µm, or pixels without a calibration) and
time stamps in seconds, grouped by track (``offsets``). Each track is handled by
:func:`track_kinematics`; :func:`all_tracks` runs it over every track. The Python
layer (:mod:`spermtrack.kinematics.casa`) turns the result into a DataFrame.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .smoothing import smooth_track

# Result columns of the kernel (float64); the names are the DataFrame's.
K_VCL, K_VSL, K_VAP, K_ALH_MEAN, K_ALH_MAX, K_BCF, K_MAD = 0, 1, 2, 3, 4, 5, 6
K_VPROG, K_WOBBLE, K_TURN, K_TURN_ABS, K_MAX_STEP, K_JUMPS, K_MAX_GAP, K_DURATION = 7, 8, 9, 10, 11, 12, 13, 14
K_RADIUS = 15
N_RESULTS = 16


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
def track_kinematics(t, x, y, window_s, method, hysteresis, prog_window_s, jump_factor, jump_speed, out):
    """CASA quantities of one track, written into ``out`` (float64, length ``N_RESULTS``).

    ``t`` in seconds (strictly increasing), ``x, y`` in the output length unit. Speeds are in
    length unit per second, ALH in the length unit, BCF in Hz, MAD and turning in degrees.
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
    # --- average path: VAP, turning, progression, on the part of the track where the
    # smoothing window is centred (near the ends it is one-sided and lets part of the
    # beat into the average path); short tracks use all their points.
    ax, ay, vx, vy = smooth_track(t, x, y, window_s, method)
    a, b = _interior(t, 0.5 * window_s)
    span = t[b - 1] - t[a]
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
    if span > 0.0:
        out[K_VAP] = length / span
    out[K_TURN] = math.degrees(net)
    out[K_TURN_ABS] = math.degrees(total)
    if net != 0.0:
        out[K_RADIUS] = length / abs(net)  # radius of the circle the average path turns on
    out[K_VPROG] = _progressive_speed(t[a:b], ax[a:b], ay[a:b], prog_window_s)
    # --- lateral head displacement about the average path: ALH, BCF, wobble amplitude
    d, rms = _lateral_deviation(x[a:b], y[a:b], ax[a:b], ay[a:b], vx[a:b], vy[a:b])
    out[K_WOBBLE] = rms
    alh_mean, alh_max, bcf = _alh_bcf(t[a:b], d, hysteresis, span)
    out[K_ALH_MEAN] = alh_mean
    out[K_ALH_MAX] = alh_max
    out[K_BCF] = bcf


@numba.njit(cache=True)
def all_tracks(t, x, y, offsets, window_s, method, hysteresis, prog_window_s, jump_factor, jump_speed):
    """Run :func:`track_kinematics` on every track; track ``k`` is rows ``offsets[k]:offsets[k+1]``.

    Returns a float64 array ``(n_tracks, N_RESULTS)``.
    """
    n_tracks = offsets.shape[0] - 1
    res = np.empty((n_tracks, N_RESULTS))
    for k in range(n_tracks):
        a = offsets[k]
        b = offsets[k + 1]
        track_kinematics(t[a:b], x[a:b], y[a:b], window_s, method, hysteresis, prog_window_s, jump_factor, jump_speed, res[k])
    return res
