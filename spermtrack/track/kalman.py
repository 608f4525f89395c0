"""Kalman filter of box centre and size, batched over the tracks of a frame (Numba).

The state of one track is four independent axes, ``cx, cy, w, h`` (pixels), each
with its own polynomial motion model of order ``k``: ``k = 2`` is constant
velocity (position, velocity), ``k = 3`` constant acceleration (position,
velocity, acceleration). Time is counted in frames inside the filter
(velocities in pixels per frame); :class:`~spermtrack.track.config.TrackerConfig`
states noises per second and converts them with the video's fps.

Because the model matrices are block-diagonal (one block per axis) and each axis
is measured directly, the full ``4k``-state filter splits exactly into four
``k``-state filters with a scalar measurement each. The kernels below run those
small filters; tests/track_reference.py builds the equivalent full matrices ``F, H, Q,
R, P0`` so that the result can be compared with ``filterpy.kalman.KalmanFilter``
(the test suite does, to 1e-9). Updates use the Joseph form, as filterpy does.

Arrays
------
``x`` : float64 ``(capacity, 4, k)``, the state of each track slot.
``P`` : float64 ``(capacity, 4, k, k)``, its covariance.
Only the first ``n`` slots are live; kernels take ``n`` (or a list of slots).
"""

from __future__ import annotations

import numba
import numpy as np

from ..errors import ParameterError

#: Number of measured axes: centre x, centre y, width, height (pixels).
NAXES = 4


def transition(order: int) -> np.ndarray:
    """Per-axis transition matrix for one frame, shape ``(order, order)``.

    >>> transition(2).tolist()
    [[1.0, 1.0], [0.0, 1.0]]
    """
    if order not in (2, 3):
        raise ParameterError(f"order must be 2 (constant velocity) or 3 (constant acceleration), got {order}")
    F = np.eye(order)
    F[0, 1] = 1.0
    if order == 3:
        F[0, 2] = 0.5
        F[1, 2] = 1.0
    return F


def white_noise(order: int, var: float) -> np.ndarray:
    """Discrete white-noise process covariance for one frame (as ``filterpy.common.Q_discrete_white_noise``).

    ``var`` is the variance of the highest derivative's change per frame, in
    (pixels per frame^(order-1))^2.
    """
    if order == 2:
        q = np.array([[0.25, 0.5], [0.5, 1.0]])
    elif order == 3:
        q = np.array([[0.25, 0.5, 0.5], [0.5, 1.0, 1.0], [0.5, 1.0, 1.0]])
    else:
        raise ParameterError(f"order must be 2 or 3, got {order}")
    return q * float(var)


@numba.njit(cache=True)
def kf_init(x, P, slot, z, P0):
    """Start the filter of track ``slot`` at measurement ``z`` (cx, cy, w, h pixels), zero derivatives."""
    k = x.shape[2]
    for a in range(NAXES):
        x[slot, a, 0] = z[a]
        for i in range(1, k):
            x[slot, a, i] = 0.0
        for i in range(k):
            for j in range(k):
                P[slot, a, i, j] = P0[a, i, j]


@numba.njit(cache=True)
def kf_predict(x, P, n, F, Q):
    """Predict one frame ahead for track slots ``0 .. n-1`` in place: ``x = F x``, ``P = F P F' + Q``."""
    k = x.shape[2]
    if k == 2:  # constant velocity, unrolled (the default; same arithmetic as below)
        f01 = F[0, 1]
        for t in range(n):
            for a in range(NAXES):
                x[t, a, 0] += f01 * x[t, a, 1]
                p00, p01, p10, p11 = P[t, a, 0, 0], P[t, a, 0, 1], P[t, a, 1, 0], P[t, a, 1, 1]
                t00 = p00 + f01 * p10
                t01 = p01 + f01 * p11
                P[t, a, 0, 0] = t00 + t01 * f01 + Q[a, 0, 0]
                P[t, a, 0, 1] = t01 + Q[a, 0, 1]
                P[t, a, 1, 0] = p10 + p11 * f01 + Q[a, 1, 0]
                P[t, a, 1, 1] = p11 + Q[a, 1, 1]
        return
    tmp = np.empty((k, k))
    for t in range(n):
        for a in range(NAXES):
            # x = F x (F is upper triangular: row i uses entries j >= i)
            for i in range(k):
                s = 0.0
                for j in range(i, k):
                    s += F[i, j] * x[t, a, j]
                x[t, a, i] = s
            # tmp = F P
            for i in range(k):
                for j in range(k):
                    s = 0.0
                    for m in range(i, k):
                        s += F[i, m] * P[t, a, m, j]
                    tmp[i, j] = s
            # P = tmp F' + Q
            for i in range(k):
                for j in range(k):
                    s = 0.0
                    for m in range(j, k):
                        s += tmp[i, m] * F[j, m]
                    P[t, a, i, j] = s + Q[a, i, j]


@numba.njit(cache=True, inline="always")  # inlined into the kernel: called once per matched detection
def kf_update_row(x, P, slot, z, q, R):
    """Update track ``slot`` with measurement ``z[q]`` (cx, cy, w, h pixels), measurement variances ``R`` (4,), Joseph form.

    Takes the row index rather than a row (``z[q]`` would make a view, reference-counted, per update).
    """
    k = x.shape[2]
    if k == 2:  # constant velocity, unrolled
        for a in range(NAXES):
            r = R[a]
            p00, p01, p10, p11 = P[slot, a, 0, 0], P[slot, a, 0, 1], P[slot, a, 1, 0], P[slot, a, 1, 1]
            S = p00 + r
            y = z[q, a] - x[slot, a, 0]
            k0, k1 = p00 / S, p10 / S
            x[slot, a, 0] += k0 * y
            x[slot, a, 1] += k1 * y
            a00, a01 = p00 - k0 * p00, p01 - k0 * p01
            a10, a11 = p10 - k1 * p00, p11 - k1 * p01
            P[slot, a, 0, 0] = a00 - a00 * k0 + r * k0 * k0
            P[slot, a, 0, 1] = a01 - a00 * k1 + r * k0 * k1
            P[slot, a, 1, 0] = a10 - a10 * k0 + r * k1 * k0
            P[slot, a, 1, 1] = a11 - a10 * k1 + r * k1 * k1
        return
    K = np.empty(k)
    A = np.empty((k, k))
    for a in range(NAXES):
        r = R[a]
        S = P[slot, a, 0, 0] + r
        y = z[q, a] - x[slot, a, 0]
        for i in range(k):
            K[i] = P[slot, a, i, 0] / S
        for i in range(k):
            x[slot, a, i] += K[i] * y
        # A = (I - K H) P
        for i in range(k):
            for j in range(k):
                A[i, j] = P[slot, a, i, j] - K[i] * P[slot, a, 0, j]
        # P = A (I - K H)' + K r K'
        for i in range(k):
            for j in range(k):
                P[slot, a, i, j] = A[i, j] - A[i, 0] * K[j] + r * K[i] * K[j]


@numba.njit(cache=True)
def kf_update_one(x, P, slot, z, R):
    """Update track ``slot`` with measurement ``z`` (cx, cy, w, h), measurement variances ``R`` (4,), Joseph form."""
    kf_update_row(x, P, slot, z.reshape((1, z.shape[0])), 0, R)
