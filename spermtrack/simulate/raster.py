"""Rasterising primitives: the display list, its Numba kernels and the composition of a frame.

A frame's objects are a *display list*: rows of ``_NCOL`` float32 numbers, one primitive each
(elliptical Gaussians, rings, discs, elliptical rings, line segments), on one of two signal
layers: *bright* (heads, halos; added) and *dark* (tails, debris, dark cores; combined by
maximum so that overlapping parts of one tail do not double). :func:`_draw` rasterises a list
into the two layers, :func:`_compose` makes the 8-bit frame ``background + bright·tint_b −
dark·tint_d + sensor noise``; the ``_*_rows`` helpers build rows from arrays of objects.
Sizes are pixels, amplitudes 8-bit grey levels.
"""

from __future__ import annotations

import cv2
import numba
import numpy as np

# primitive types and layers of the display list
P_GAUSS, P_RING, P_DISC, P_SEG, P_ERING = 0, 1, 2, 3, 4
L_BRIGHT, L_DARK = 0, 1
_NCOL = 12


# ---------------------------------------------------------------------------- Numba kernels
#: Primitives are cut where they fall below this many grey levels.
_CUT = 0.8


@numba.njit(cache=True, fastmath=True)
def _reach(amp):  # pragma: no cover - compiled
    """sqrt(q) at which ``amp * exp(-q/2)`` falls to the cut level."""
    a = abs(amp)
    if a <= _CUT:
        return 0.0
    return np.sqrt(2.0 * np.log(a / _CUT))


@numba.njit(cache=True, fastmath=True)
def _put(bright, dark, layer, yy, xx, v):  # pragma: no cover - compiled
    if layer == L_BRIGHT:
        bright[yy, xx] += v
    elif v > dark[yy, xx]:
        dark[yy, xx] = v


@numba.njit(cache=True, fastmath=True)
def _draw(bright, dark, prims):  # pragma: no cover - compiled
    """Draw a display list ``prims`` (P, 12) float32 into the two layers (H, W) float32.

    Bright primitives add; dark ones keep the maximum. Each is evaluated only where it
    exceeds ``_CUT`` grey levels.
    """
    h, w = bright.shape
    for i in range(prims.shape[0]):
        kind = int(prims[i, 0])
        layer = int(prims[i, 1])
        cx = prims[i, 2]
        cy = prims[i, 3]
        if kind == P_GAUSS:
            # amp * exp(-q/2) with q the squared Mahalanobis distance; flat-topped
            # (super-Gaussian, exp(-q²/2)) when column 10 is 2
            ia, ib, ic, amp, sx, sy = prims[i, 4], prims[i, 5], prims[i, 6], prims[i, 7], prims[i, 8], prims[i, 9]
            flat = prims[i, 10] == 2.0
            k = _reach(amp)
            if k == 0.0:
                continue
            if flat:
                qmax = k
                k = np.sqrt(k)
            else:
                qmax = k * k
            x0 = max(int(cx - k * sx), 0)
            x1 = min(int(cx + k * sx) + 2, w)
            y0 = max(int(cy - k * sy), 0)
            y1 = min(int(cy + k * sy) + 2, h)
            for yy in range(y0, y1):
                dy = yy - cy
                for xx in range(x0, x1):
                    dx = xx - cx
                    q = ia * dx * dx + 2.0 * ib * dx * dy + ic * dy * dy
                    if q < qmax:
                        e = q * q if flat else q
                        _put(bright, dark, layer, yy, xx, amp * np.exp(-0.5 * e))
        elif kind == P_RING or kind == P_DISC:
            r0, width, amp = prims[i, 4], prims[i, 5], prims[i, 6]
            k = _reach(amp)
            if k == 0.0:
                continue
            reach = r0 + max(k, 4.0) * width + 1.0
            x0 = max(int(cx - reach), 0)
            x1 = min(int(cx + reach) + 2, w)
            y0 = max(int(cy - reach), 0)
            y1 = min(int(cy + reach) + 2, h)
            for yy in range(y0, y1):
                dy = yy - cy
                for xx in range(x0, x1):
                    dx = xx - cx
                    r = np.sqrt(dx * dx + dy * dy)
                    if kind == P_RING:
                        t = (r - r0) / width
                        if t * t < k * k:
                            _put(bright, dark, layer, yy, xx, amp * np.exp(-0.5 * t * t))
                    else:
                        _put(bright, dark, layer, yy, xx, amp / (1.0 + np.exp((r - r0) / width)))
        elif kind == P_ERING:
            # elliptical ring (semi-axes a, b along the angle), width in px, amplitude modulated
            # around the ring by (1 + m cos(phi - phi0)) / (1 + m): m = 1 gives a "C"
            a, b, ca, sa, width, amp, m, phi0 = (
                prims[i, 4], prims[i, 5], prims[i, 6], prims[i, 7], prims[i, 8], prims[i, 9], prims[i, 10], prims[i, 11]
            )  # fmt: skip
            k = _reach(amp)
            if k == 0.0:
                continue
            reach = max(a, b) + k * width + 1.0
            x0 = max(int(cx - reach), 0)
            x1 = min(int(cx + reach) + 2, w)
            y0 = max(int(cy - reach), 0)
            y1 = min(int(cy + reach) + 2, h)
            rm = 0.5 * (a + b)
            c0 = np.cos(phi0)
            s0 = np.sin(phi0)
            norm = amp / (1.0 + m)
            delta = k * width / rm
            lo2 = max(1.0 - delta, 0.0) ** 2
            hi2 = (1.0 + delta) ** 2
            for yy in range(y0, y1):
                dy = yy - cy
                for xx in range(x0, x1):
                    dx = xx - cx
                    u = (dx * ca + dy * sa) / a
                    v = (-dx * sa + dy * ca) / b
                    rho2 = u * u + v * v
                    if lo2 <= rho2 < hi2:
                        rho = np.sqrt(rho2)
                        t = (rho - 1.0) * rm / width
                        cosd = (u * c0 + v * s0) / rho if rho > 1e-6 else 0.0
                        _put(bright, dark, layer, yy, xx, norm * (1.0 + m * cosd) * np.exp(-0.5 * t * t))
        else:  # segment, maximum-composited
            ex, ey, sig, a0, a1 = prims[i, 4], prims[i, 5], prims[i, 6], prims[i, 7], prims[i, 8]
            k = _reach(max(a0, a1))
            if k == 0.0:
                continue
            pad = k * sig + 0.5
            x0 = max(int(min(cx, ex) - pad), 0)
            x1 = min(int(max(cx, ex) + pad) + 2, w)
            y0 = max(int(min(cy, ey) - pad), 0)
            y1 = min(int(max(cy, ey) + pad) + 2, h)
            vx = ex - cx
            vy = ey - cy
            ll = vx * vx + vy * vy
            inv2 = 0.5 / (sig * sig)
            qmax = 0.5 * k * k
            for yy in range(y0, y1):
                for xx in range(x0, x1):
                    px = xx - cx
                    py = yy - cy
                    t = 0.0
                    if ll > 1e-9:
                        t = (px * vx + py * vy) / ll
                        t = min(max(t, 0.0), 1.0)
                    dx = px - t * vx
                    dy = py - t * vy
                    e = (dx * dx + dy * dy) * inv2
                    if e < qmax:
                        v = (a0 + (a1 - a0) * t) * np.exp(-e)
                        if layer == L_BRIGHT:
                            if v > bright[yy, xx]:
                                bright[yy, xx] = v
                        elif v > dark[yy, xx]:
                            dark[yy, xx] = v


@numba.njit(cache=True, fastmath=True)
def _compose(static, bright, dark, noise_sigma, seed, btint, dtint, gain, out):  # pragma: no cover - compiled
    """``out = clip(gain·static + bright·btint − dark·dtint + noise)`` as uint8; clears the layers.

    The sensor noise is zero-mean with standard deviation ``noise_sigma`` (grey levels), the
    sum of two uniform variables (a triangular distribution) from a xorshift64* generator
    seeded with ``seed``: as fine-grained as Gaussian noise to the eye and ~5x cheaper.
    """
    h, w = bright.shape
    state = np.uint64(seed) | np.uint64(1)
    scale = noise_sigma * np.sqrt(6.0) / 4294967296.0
    for y in range(h):
        for x in range(w):
            state ^= state >> np.uint64(12)
            state ^= state << np.uint64(25)
            state ^= state >> np.uint64(27)
            r = state * np.uint64(2685821657736338717)
            u1 = np.float64(r >> np.uint64(32))
            u2 = np.float64(r & np.uint64(0xFFFFFFFF))
            n = (u1 + u2 - 4294967295.0) * scale
            b = bright[y, x]
            d = dark[y, x]
            for c in range(3):
                v = gain * static[y, x, c] + b * btint[c] - d * dtint[c] + n
                if v < 0.0:
                    v = 0.0
                elif v > 255.0:
                    v = 255.0
                out[y, x, c] = np.uint8(v + 0.5)
            bright[y, x] = 0.0
            dark[y, x] = 0.0


# ---------------------------------------------------------------------------- display lists
def _primitive_rows(kind, layer, *columns) -> np.ndarray:
    """Display-list rows (float32, ``_NCOL`` wide): ``kind``, ``layer``, then ``columns`` in order from column 2."""
    rows = np.zeros((len(columns[0]), _NCOL), np.float32)
    rows[:, 0] = kind
    rows[:, 1] = layer
    for i, column in enumerate(columns, 2):
        rows[:, i] = column
    return rows


def _gauss_rows(layer, cx, cy, su, sv, ang, amp, extra=None, flat=False):
    """Rows of elliptical Gaussians with std ``su`` along ``ang`` and ``sv`` across; ``extra``
    adds a covariance ``(sxx, sxy, syy)`` (blur) while keeping the integral; ``flat`` makes them
    flat-topped (``exp(-q²/2)``; the blur then widens them with the same amplitude scaling)."""
    n = len(cx)
    if n == 0:
        return np.zeros((0, _NCOL), np.float32)
    c, s = np.cos(ang), np.sin(ang)
    su2, sv2 = su * su, sv * sv
    sxx = su2 * c * c + sv2 * s * s
    syy = su2 * s * s + sv2 * c * c
    sxy = (su2 - sv2) * c * s
    det0 = su2 * sv2
    if extra is not None:
        sxx = sxx + extra[0]
        sxy = sxy + extra[1]
        syy = syy + extra[2]
    det = sxx * syy - sxy * sxy
    amp = amp * np.sqrt(det0 / det)
    shape = 2.0 if flat else 1.0
    return _primitive_rows(P_GAUSS, layer, cx, cy, syy / det, -sxy / det, sxx / det, amp, np.sqrt(sxx), np.sqrt(syy), shape)


def _radial_rows(kind, layer, cx, cy, r0, width, amp):
    return _primitive_rows(kind, layer, cx, cy, r0, width, amp)


def _ering_rows(layer, cx, cy, a, b, ang, width, amp, m, phi0):
    a, b = np.maximum(a, 0.3), np.maximum(b, 0.3)
    return _primitive_rows(P_ERING, layer, cx, cy, a, b, np.cos(ang), np.sin(ang), width, amp, m, phi0)


def _polyline_rows(layer, pts, sig, amp):
    """Segments of polylines ``pts`` (n, k, 2) with per-point amplitude ``amp`` (n, k) and
    width ``sig`` (n,) or (n, k-1)."""
    n, k, _ = pts.shape
    if n == 0 or k < 2:
        return np.zeros((0, _NCOL), np.float32)
    rows = np.zeros((n, k - 1, _NCOL), np.float32)
    rows[..., 0] = P_SEG
    rows[..., 1] = layer
    rows[..., 2] = pts[:, :-1, 0]
    rows[..., 3] = pts[:, :-1, 1]
    rows[..., 4] = pts[:, 1:, 0]
    rows[..., 5] = pts[:, 1:, 1]
    rows[..., 6] = sig if np.ndim(sig) == 2 else np.asarray(sig)[:, None]
    rows[..., 7] = amp[:, :-1]
    rows[..., 8] = amp[:, 1:]
    return rows.reshape(-1, _NCOL)


def _scaled(rows, factor):
    """Scale the amplitudes of display-list ``rows`` (a list of (P, 12) arrays) by ``factor``:
    a scalar or one value per row of each array (broadcast). Returns the list."""
    out = []
    for r in rows:
        if not len(r):
            continue
        r = r.copy()
        f = np.broadcast_to(np.asarray(factor, np.float32).reshape(-1), (len(r),)) if np.ndim(factor) else factor
        kind = r[:, 0]
        for k, cols in ((P_GAUSS, (7,)), (P_RING, (6,)), (P_DISC, (6,)), (P_ERING, (9,)), (P_SEG, (7, 8))):
            sel = kind == k
            for c in cols:
                r[sel, c] *= f[sel] if np.ndim(f) else f
        out.append(r)
    return out


def _directional_blur(img: np.ndarray, sigma: float, angle: float) -> np.ndarray:
    """Gaussian blur of std ``sigma`` px along ``angle`` (radians) only: a shaken field."""
    r = int(np.ceil(3 * sigma))
    t = np.arange(-r, r + 1, dtype=np.float32)
    k1 = np.exp(-0.5 * (t / sigma) ** 2)
    k = np.zeros((2 * r + 1, 2 * r + 1), np.float32)
    xs = np.round(r + t * np.cos(angle)).astype(int)
    ys = np.round(r + t * np.sin(angle)).astype(int)
    np.add.at(k, (ys, xs), k1)
    return cv2.filter2D(img, -1, k / k.sum(), borderType=cv2.BORDER_REFLECT)


def _blur_cov(vx, vy, ell2_scale, sig2):
    """Covariance (sxx, sxy, syy) of motion blur along ``(vx, vy)`` px/frame over an exposure,
    plus an isotropic ``sig2`` (optics and defocus)."""
    sxx = ell2_scale * vx * vx + sig2
    syy = ell2_scale * vy * vy + sig2
    sxy = ell2_scale * vx * vy
    return sxx, sxy, syy
