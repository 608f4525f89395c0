"""The scene of one simulated video: :class:`Renderer` draws its frames.

The static background (illumination, texture, debris stuck to the glass, out-of-focus rings
and blobs) is made once per video; every frame, the cells of the motion model (heads, tails,
clusters, round cells, cells beyond the focal depth) and the unlabelled moving things (drifting
debris, round cells, bright particles) become a display list (:mod:`spermtrack.simulate.raster`)
drawn over it, then the look's camera and JPEG compression are applied.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import ParameterError
from .camera import CameraChain
from .look import Look
from .motion import KIND_CLUSTER, KIND_PINHEAD_SPERM, KIND_ROUND_CELL, KIND_SPERM, Motion
from .raster import (
    _NCOL,
    L_BRIGHT,
    L_DARK,
    P_DISC,
    P_RING,
    _blur_cov,
    _compose,
    _directional_blur,
    _draw,
    _ering_rows,
    _gauss_rows,
    _polyline_rows,
    _radial_rows,
    _scaled,
)


# ---------------------------------------------------------------------------- renderer
class Renderer:
    """Renders the frames of one simulated video.

    Parameters
    ----------
    motion : Motion
        Trajectories of the cells (heads in pixels, depth in µm).
    look : Look
        Appearance of the video.
    rng : numpy.random.Generator
        Draws the static scene and per-cell appearance (once, at construction).
    seed : int
        Seed of the per-frame noise: frame ``i`` uses ``SeedSequence([seed, 7, i])``, so any
        frame can be rendered alone and the frames do not depend on the order of rendering.
    scene_counts : dict
        Counts of unlabelled objects: static_debris, moving_debris, round_cells,
        bright_particles, ghost_rings (each an int).
    scale : float
        Magnification relative to VISEM's: ``head_px / 23``. Sizes of the look and of the
        scene in px (widths, blurs, debris, round cells) are multiplied by it; head sizes
        follow the cells' boxes, which the scene parameters already scale.
    """

    def __init__(self, motion: Motion, look: Look, rng: np.random.Generator, seed: int, scene_counts: dict, scale: float = 1.0):
        self.motion = motion
        self.look = look
        self.seed = int(seed)
        self.s = float(scale)
        if not self.s > 0:
            raise ParameterError(f"scale must be > 0, got {scale}")
        sc = self.s
        # optics blur and defocus blur grow with the magnification (px)
        self.optics = look.optics_sigma * sc
        self.defocus_px_per_um = look.defocus_px_per_um * sc
        self.tail_width = look.tail_width * sc
        self.shake2 = (look.shake_px * sc) ** 2
        self.camera = None if look.camera.is_identity else CameraChain(look.camera, motion.image_size)
        self.w, self.h = motion.image_size
        pop = motion.population
        n = pop.n
        self._bright = np.zeros((self.h, self.w), np.float32)
        self._dark = np.zeros((self.h, self.w), np.float32)
        # per-cell appearance
        # drawing scale of each cell, px: its box side (VISEM: 23 px on average), at most 34 px
        # (the largest boxes hold a wide halo, not a larger head)
        side = np.minimum(0.5 * (pop.box_w + pop.box_h), 34.0 * sc)
        self.cell_gain = np.exp(rng.normal(0.0, 0.15, n))  # brightness varies between cells (log-normal)
        self.cell_side = side
        self.cell_elong = rng.uniform(1.3, 1.7, n)  # head length / width
        self.tail_extra = np.where(pop.amplitude > 0, rng.uniform(5.0, 16.0, n) * sc, 0.0)
        self.tail_wavelength = pop.tail_px * rng.uniform(0.7, 1.3, n)
        # static bend of the tail (radians turned at the tip: linear and quadratic parts); dead
        # cells' tails are often bent or hooked, swimmers' less
        moving = pop.amplitude > 0
        self.tail_bend1 = rng.normal(0.0, np.where(moving, 0.35, 0.9), n)
        self.tail_bend2 = rng.normal(0.0, np.where(moving, 0.4, 1.1), n)
        self.tail_gain = rng.uniform(0.6, 1.2, n)
        self.tail_visible = rng.uniform(0.55, 1.0, n)  # part of the tail that is in focus
        self.outline_m = rng.uniform(0.2, 1.0, n)  # how open the "C" outline is
        self.outline_phase = rng.uniform(0, 2 * np.pi, n)
        # light look: 0 a dark ring or "C", 1 a solid dark head, 2 a bright head (dark midpiece only)
        self.head_style = rng.choice(3, n, p=(0.4, 0.4, 0.2)).astype(np.int8)
        self.dark_side = rng.normal(0.0, 1.2, n) * sc  # sideways offset of the dark midpiece, px
        self.clusters = {
            int(i): self._make_cluster(rng, pop.box_w[i], pop.box_h[i]) for i in np.flatnonzero(pop.kind == KIND_CLUSTER)
        }
        self._extras = self._make_extras(rng, scene_counts)
        self.static = self._make_static(rng, scene_counts)
        # head velocity (px/frame) for motion blur, central differences
        vx = np.gradient(motion.x, axis=1) if motion.num_frames > 1 else np.zeros_like(motion.x)
        vy = np.gradient(motion.y, axis=1) if motion.num_frames > 1 else np.zeros_like(motion.y)
        jump = (vx * vx + vy * vy) > 40.0**2  # wrap-around steps
        self._vx = np.where(jump, 0.0, vx)
        self._vy = np.where(jump, 0.0, vy)
        if look.style_p is not None:  # the look's own mix of head styles (drawn last: VISEM's looks unchanged)
            self.head_style = rng.choice(3, n, p=np.asarray(look.style_p) / np.sum(look.style_p)).astype(np.int8)

    # ------------------------------------------------------------------ static scene
    def _make_static(self, rng: np.random.Generator, counts: dict) -> np.ndarray:
        w, h, lk = self.w, self.h, self.look
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        r2 = ((xx - w / 2) ** 2 + (yy - h / 2) ** 2) / ((w / 2) ** 2 + (h / 2) ** 2)
        illum = 1.0 - lk.vignette * r2 + lk.gradient[0] * (xx - w / 2) / w + lk.gradient[1] * (yy - h / 2) / h
        for bx, by, bs, ba in lk.bumps:
            illum += ba * np.exp(-((xx - bx) ** 2 + (yy - by) ** 2) / (2 * bs * bs))
        base = np.asarray(lk.background_bgr, np.float32)
        static = illum[..., None] * base[None, None, :]
        sc = self.s
        fine = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), max(1.1 * sc, 0.6))
        fine *= lk.texture_fine / max(float(fine.std()), 1e-6)
        coarse = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 9.0 * sc)
        coarse *= lk.texture_coarse / max(float(coarse.std()), 1e-6)
        static += (fine + coarse)[..., None]
        # debris stuck to the glass and out-of-focus rings, drawn with the same kernel
        bright = np.zeros((h, w), np.float32)
        dark = np.zeros((h, w), np.float32)
        nd = int(counts.get("static_debris", 0))
        rows = [self._debris_rows(rng, rng.uniform(0, w, nd), rng.uniform(0, h, nd))]
        ng = int(counts.get("ghost_rings", 0))
        if ng:
            gx, gy = rng.uniform(0, w, ng), rng.uniform(0, h, ng)
            rr = rng.uniform(15, 45, ng) * sc
            rows.append(_radial_rows(P_RING, L_BRIGHT, gx, gy, rr, rng.uniform(2.5, 6, ng) * sc, rng.uniform(1.5, 4, ng)))
            rows.append(
                _radial_rows(
                    P_RING, L_DARK, gx, gy, rr + rng.uniform(4, 8, ng) * sc, rng.uniform(2.5, 6, ng) * sc, rng.uniform(1, 3, ng)
                )
            )
        if lk.blobs > 0:  # out-of-focus cells and dirt: soft dark discs, some with a light rim
            nb = int(lk.blobs)
            bx, by = rng.uniform(0, w, nb), rng.uniform(0, h, nb)
            br = rng.uniform(3, 14, nb) * sc
            amp = lk.blob_amp * rng.uniform(0.4, 1.2, nb)
            rows.append(_radial_rows(P_DISC, L_DARK, bx, by, br, np.maximum(0.35 * br, 0.8), amp))
            rows.append(_radial_rows(P_RING, L_BRIGHT, bx, by, br + 0.5 * br, np.maximum(0.3 * br, 0.8), 0.6 * amp))
        _draw(bright, dark, np.ascontiguousarray(np.concatenate(rows), dtype=np.float32))
        bt = np.asarray(lk.bright_tint, np.float32)
        dtn = np.asarray(lk.dark_tint, np.float32)
        static += bright[..., None] * bt - dark[..., None] * dtn
        static = cv2.GaussianBlur(static, (0, 0), self.optics)
        if self.shake2 > 0:
            static = _directional_blur(static, np.sqrt(self.shake2), lk.shake_angle)
        return np.ascontiguousarray(static, dtype=np.float32)

    def _debris_rows(self, rng, x, y):
        n = len(x)
        if n == 0:
            return np.zeros((0, _NCOL), np.float32)
        lk = self.look
        sc = self.s
        sig = np.exp(rng.uniform(np.log(0.45), np.log(1.5), n)) * (sc * lk.debris_scale)
        amp = rng.uniform(8, 55, n) * (1.0 if lk.name == "phase" else 1.3)
        if lk.debris_amp != 1.0:
            amp = amp * lk.debris_amp
        # some specks are small dense particles: darker, rounder, in a bright phase halo
        halo = rng.random(n) < lk.halo_dot_fraction
        sig = np.where(halo, np.maximum(sig, 0.8 * sc) * 1.25, sig)
        amp = np.where(halo, np.maximum(amp, 30.0) * 1.6, amp)
        opt2 = self.optics**2
        sig = np.sqrt(sig * sig + opt2)
        elong = np.where(halo, rng.uniform(1.0, 1.15, n), rng.uniform(1.0, 1.6, n))
        rows = [_gauss_rows(L_DARK, x, y, sig * elong, sig, rng.uniform(0, np.pi, n), amp)]
        if halo.any():
            k = int(halo.sum())
            rows.append(
                _radial_rows(P_RING, L_BRIGHT, x[halo], y[halo], sig[halo] * 1.7 + 1.0 * sc, rng.uniform(0.9, 1.7, k) * sc,
                             lk.halo_dot * rng.uniform(0.4, 1.1, k))
            )  # fmt: skip
        return np.concatenate(rows)

    def _make_extras(self, rng: np.random.Generator, counts: dict) -> dict:
        """Unlabelled moving things: drifting debris, large round cells, small bright particles."""
        m = self.motion
        f = m.num_frames
        dt = m.calibration.dt
        um = m.calibration.um_per_px
        disp = np.cumsum(m.drift_um_s * dt, axis=0) / um  # (f, 2) px, shared flow
        disp -= disp[0]
        out = {}
        for name, dcoef in (("moving_debris", 0.15), ("round_cells", 0.01), ("bright_particles", 0.08)):
            k = int(counts.get(name, 0))
            x0 = rng.uniform(-20, self.w + 20, k)
            y0 = rng.uniform(-20, self.h + 20, k)
            walk = np.cumsum(np.sqrt(2 * dcoef * dt) / um * rng.standard_normal((k, f, 2)), axis=1)
            px = x0[:, None] + disp[None, :, 0] + walk[..., 0]
            py = y0[:, None] + disp[None, :, 1] + walk[..., 1]
            props = {
                "sig": np.exp(rng.uniform(np.log(0.6), np.log(2.0), k)) * self.s,
                "amp": rng.uniform(10, 50, k),
                "radius": rng.uniform(8.0, 15.0, k) * self.s,
                "halo": rng.uniform(50, 140, k),
                "inner": rng.uniform(40, 75, k),
                "grain": rng.uniform(0, 2 * np.pi, (k, 5)),
            }
            out[name] = (px, py, props)
        return out

    def _make_cluster(self, rng: np.random.Generator, bw: float, bh: float) -> dict:
        """Geometry of one cluster relative to its centre (rotated and moved every frame)."""
        a, b = 0.5 * bw * 0.72, 0.5 * bh * 0.72
        nb = int(rng.integers(15, 35))
        t = rng.uniform(0, 2 * np.pi, nb)
        r = np.sqrt(rng.uniform(0, 1, nb))
        nh = int(rng.integers(2, 6))
        th = rng.uniform(0, 2 * np.pi, nh)
        rh = np.sqrt(rng.uniform(0.2, 1.0, nh))
        return {
            "blob_xy": np.stack([a * r * np.cos(t), b * r * np.sin(t)], 1),
            "blob_sig": rng.uniform(1.2 * self.s, 0.06 * min(bw, bh) + 1.5 * self.s, nb),
            "blob_amp": rng.uniform(50, 110, nb),
            "blob_ang": rng.uniform(0, np.pi, nb),
            "head_side": rng.uniform(14, 20, nh) * self.s,
            "head_xy": np.stack([a * rh * np.cos(th), b * rh * np.sin(th)], 1),
            "head_ang": th + rng.normal(0, 0.6, nh),
            "head_gain": rng.uniform(0.3, 0.7, nh),
            "tail_len": rng.uniform(25, 60, nh) * self.s,
            "tail_amp": rng.uniform(0, 5, nh) * self.s,
            "tail_freq": rng.uniform(2, 10, nh),
            "tail_phase": rng.uniform(0, 2 * np.pi, nh),
        }

    # ------------------------------------------------------------------ per frame
    def display_list(self, i: int, rng: np.random.Generator) -> np.ndarray:
        """All primitives of frame ``i`` as a (P, 12) float32 array."""
        m, lk = self.motion, self.look
        pop = m.population
        w, h = self.w, self.h
        x, y = m.x[:, i], m.y[:, i]
        reach = pop.tail_px + 30.0 * self.s
        vis = (x > -reach) & (x < w + reach) & (y > -reach) & (y < h + reach)
        rows = []
        opt2 = self.optics**2
        ell2 = (lk.exposure**2) / 12.0
        kind = pop.kind
        # ---------------- sperm and pinhead sperm: head + tail
        # cells far from the focal plane (contrast < 0.17, |z| > 1.22 * defocus_half_um) are not drawn
        near = np.abs(m.z[:, i]) < 1.22 * lk.defocus_half_um
        sel = np.flatnonzero(vis & near & ((kind == KIND_SPERM) | (kind == KIND_PINHEAD_SPERM)))
        if sel.size:
            rows.extend(self._swimmer_rows(i, sel, opt2, ell2))
        if lk.far > 0:  # cells beyond the focal depth: soft blobs, no tail, unlabelled
            sel = np.flatnonzero(vis & ~near & (kind != KIND_CLUSTER) & (np.abs(m.z[:, i]) < 3.0 * lk.defocus_half_um))
            if sel.size:
                rows.extend(self._far_rows(sel, i, opt2))
        # ---------------- small round cells (class 2)
        sel = np.flatnonzero(vis & near & (kind == KIND_ROUND_CELL))
        if sel.size:
            c = self._contrast(m.z[sel, i])
            rows.extend(_scaled(self._round_rows(x[sel], y[sel], 0.27 * self.cell_side[sel], self.cell_gain[sel], small=True), c))
        # ---------------- clusters
        for ci in np.flatnonzero(vis & near & (kind == KIND_CLUSTER)):
            c = self._contrast(m.z[ci : ci + 1, i])
            rows.extend(_scaled(self._cluster_rows(int(ci), i, opt2), c))
        # ---------------- unlabelled moving things
        px, py, pr = self._extras["moving_debris"]
        if px.shape[0]:
            k = px.shape[0]
            sig = np.sqrt(pr["sig"] ** 2 + opt2)
            rows.append(_gauss_rows(L_DARK, px[:, i], py[:, i], sig * 1.3, sig, pr["grain"][:, 0], pr["amp"]))
        px, py, pr = self._extras["round_cells"]
        if px.shape[0]:
            rows.extend(
                self._round_rows(
                    px[:, i], py[:, i], pr["radius"], pr["halo"] / 100.0, small=False, grain=pr["grain"], inner=pr["inner"]
                )
            )
        px, py, pr = self._extras["bright_particles"]
        if px.shape[0]:
            k = px.shape[0]
            rows.append(
                _radial_rows(
                    P_RING, L_BRIGHT, px[:, i], py[:, i], pr["sig"] + 1.2 * self.s, np.full(k, 1.1 * self.s), pr["halo"] * 0.35
                )
            )
            rows.append(_gauss_rows(L_DARK, px[:, i], py[:, i], pr["sig"], pr["sig"], np.zeros(k), pr["inner"]))
        rows = [r for r in rows if len(r)]
        if not rows:
            return np.zeros((0, _NCOL), np.float32)
        return np.ascontiguousarray(np.concatenate(rows), dtype=np.float32)

    def _contrast(self, z):
        """Contrast of an object at distance ``z`` (µm) from the focal plane, in [0, 1]."""
        return 1.0 / (1.0 + (np.asarray(z, float) / self.look.defocus_half_um) ** 8)

    def _head_rows(self, x, y, ang, side, gain, contrast, blur, pin=None, style=None, dark_side=None, outline_m=None,
                   outline_phase=None, elong=None):  # fmt: skip
        """Primitives of heads at ``(x, y)`` pointing along ``ang``; ``side`` is the drawing scale
        (px, ~ the box side), ``contrast`` the defocus factor in [0, 1], ``blur`` an extra
        covariance (optics, defocus, motion blur). ``style`` (light look) picks a dark ring or
        "C" (0), a solid dark head (1) or a bright head (2); ``dark_side`` shifts the dark
        midpiece sideways (px); ``elong`` is the head's length / width (default 1.45)."""
        lk = self.look
        n = len(x)
        pin = np.zeros(n, bool) if pin is None else pin
        su = np.where(pin, 0.07, lk.core_size) * side
        sv = su / np.where(pin, 1.1, 1.45 if elong is None else elong)
        g = gain * contrast
        c, s_ = np.cos(ang), np.sin(ang)
        rows = []
        # halo: an inner and a broad outer Gaussian, centred a little ahead of the head's middle
        ahead = (0.6 if lk.name == "phase" else 0.0) * su
        lateral = np.zeros(n) if dark_side is None else -0.8 * dark_side  # the halo leans away from the dark side
        gx, gy = x + ahead * c - lateral * s_, y + ahead * s_ + lateral * c
        gs = lk.glow_size * side
        stretch = 1.12 if lk.name == "phase" else 1.22  # light-look halos are longer along the head
        # light look: the inner halo is flat-topped (a crisp white blob, as in VISEM's light videos)
        rows.append(
            _gauss_rows(
                L_BRIGHT, gx, gy, gs * stretch, gs, ang, lk.glow * g * np.where(pin, 0.8, 1.0), blur, flat=lk.name != "phase"
            )
        )
        if lk.ring > 0:
            rs = lk.ring_size * side
            rows.append(
                _gauss_rows(L_BRIGHT, gx, gy, rs * (stretch - 0.04), rs, ang, lk.ring * g * np.where(pin, 0.7, 1.0), blur)
            )
        if lk.core > 0:
            rows.append(_gauss_rows(L_BRIGHT, x, y, su, sv, ang, lk.core * g * np.where(pin, 0.8, 1.0), blur))
        if lk.outline > 0 or lk.head_dark > 0:
            # light look: the head is dark inside its halo (it cancels the halo there, then more)
            st = np.zeros(n, np.int8) if style is None else style
            halo0 = (lk.glow + lk.ring) * g
            ring = st == 0
            if ring.any() and lk.outline > 0:
                m = np.full(n, 0.5) if outline_m is None else outline_m
                ph = np.zeros(n) if outline_phase is None else outline_phase
                blur_w = np.sqrt((0.9 * self.s) ** 2 + 0.5 * (blur[0] + blur[2]))
                k = np.flatnonzero(ring)
                amp = halo0[k] + lk.outline * g[k]
                rows.append(_ering_rows(L_DARK, x[k], y[k], 1.3 * su[k], 1.3 * sv[k], ang[k], blur_w[k], amp, m[k], ph[k]))
            solid = st == 1
            if solid.any() and lk.head_dark > 0:
                k = np.flatnonzero(solid)
                bk = tuple(b_[k] for b_ in blur)
                amp = halo0[k] + lk.head_dark * g[k]
                if lk.head_flat:  # a crisp dark oval (flat-topped), as long as the visible head
                    rows.append(_gauss_rows(L_DARK, x[k], y[k], 1.45 * su[k], 1.45 * sv[k], ang[k], amp, bk, flat=True))
                else:
                    rows.append(_gauss_rows(L_DARK, x[k], y[k], 1.1 * su[k], 1.1 * sv[k], ang[k], amp, bk))
                if lk.acrosome > 0:  # the paler front of the head (acrosome cap)
                    ax = x[k] + 0.7 * su[k] * c[k]
                    ay = y[k] + 0.7 * su[k] * s_[k]
                    rows.append(_gauss_rows(L_BRIGHT, ax, ay, 0.6 * su[k], 0.8 * sv[k], ang[k], lk.acrosome * g[k], bk))
        # dark midpiece just behind the head (phase: often beside the bright core)
        back = self._half_length(su) + 1.0 * self.s
        off = np.zeros(n) if dark_side is None else dark_side
        mx = x - back * c - off * s_
        my = y - back * s_ + off * c
        rows.append(_gauss_rows(L_DARK, mx, my, np.full(n, 2.2 * self.s), np.full(n, 1.5 * self.s), ang, lk.midpiece * g, blur))
        return rows

    def _blur(self, vx, vy, ell2, sig2):
        """Blur covariance (sxx, sxy, syy) of objects moving at ``(vx, vy)`` px/frame: motion
        blur over the exposure, isotropic ``sig2`` (optics, defocus) and the field's shake."""
        sxx, sxy, syy = _blur_cov(vx, vy, ell2, sig2)
        if self.shake2 > 0:
            c, s_ = np.cos(self.look.shake_angle), np.sin(self.look.shake_angle)
            sxx = sxx + self.shake2 * c * c
            sxy = sxy + self.shake2 * c * s_
            syy = syy + self.shake2 * s_ * s_
        return sxx, sxy, syy

    def _far_rows(self, sel, i, opt2):
        """Cells ``sel`` beyond the focal depth in frame ``i``: a soft blob whose width grows and
        contrast falls with the distance to the focal plane (dark in dark-head looks, bright in
        phase contrast), with a faint rim of the other polarity."""
        m, lk = self.motion, self.look
        z = np.abs(m.z[sel, i])
        side = self.cell_side[sel]
        sig = np.sqrt((0.12 * side) ** 2 + opt2 + (self.defocus_px_per_um * z) ** 2)
        amp = lk.far * self.cell_gain[sel] * (1.22 * lk.defocus_half_um / np.maximum(z, 1e-3)) ** 2
        ang = m.theta[sel, i]
        main, rim = (L_DARK, L_BRIGHT) if lk.dark_heads else (L_BRIGHT, L_DARK)
        rows = [_gauss_rows(main, m.x[sel, i], m.y[sel, i], 1.3 * sig, sig, ang, amp)]
        rows.append(_radial_rows(P_RING, rim, m.x[sel, i], m.y[sel, i], 1.8 * sig, np.maximum(0.5 * sig, 0.8), 0.35 * amp))
        return rows

    def _half_length(self, su):
        """Half the visible head length, px, from the core's sigma along the head."""
        return 1.6 * su

    def _swimmer_rows(self, i, sel, opt2, ell2):
        m, lk = self.motion, self.look
        pop = m.population
        um = m.calibration.um_per_px
        x, y, z = m.x[sel, i], m.y[sel, i], m.z[sel, i]
        theta, psi = m.theta[sel, i], m.psi[sel, i]
        side = self.cell_side[sel]
        pin = pop.kind[sel] == KIND_PINHEAD_SPERM
        gain = self.cell_gain[sel]
        contrast = self._contrast(z)
        defocus2 = (self.defocus_px_per_um * z) ** 2
        vx, vy = self._vx[sel, i], self._vy[sel, i]
        # tail: its direction at arc length s is the path's heading plus a static bend plus the
        # slope of a travelling wave w(s) = A(s) sin(psi - 2 pi s / lambda); integrating the
        # direction keeps the tail's length whatever its shape
        amp_h = pop.amplitude[sel] / um
        amp_e = amp_h + self.tail_extra[sel]
        lam = self.tail_wavelength[sel]
        length = np.maximum(pop.tail_px[sel] * self.tail_visible[sel], 1.0)
        immotile = pop.amplitude[sel] <= 0
        k = 12
        grid = np.linspace(0.0, 1.0, k)
        s = grid[None, :] * length[:, None]  # (n, k)
        dA = ((amp_e - amp_h) / length)[:, None]
        phase = psi[:, None] - 2 * np.pi * s / lam[:, None]
        slope = dA * np.sin(phase) - (amp_h[:, None] + dA * s) * (2 * np.pi / lam[:, None]) * np.cos(phase)
        slope = np.where(immotile[:, None], 0.0, np.arctan(slope))
        bend = self.tail_bend1[sel][:, None] * grid + self.tail_bend2[sel][:, None] * grid**2
        kap = np.clip(pop.curvature[sel] * um, -1.0 / length, 1.0 / length)[:, None]
        alpha = theta[:, None] + slope + bend + kap * s  # direction of the tail at s (pointing to the head)
        yaw = np.where(immotile, 0.0, 0.7 * slope[:, 0])
        ang = theta + yaw
        blur = self._blur(vx, vy, ell2, opt2 + defocus2)
        rows = self._head_rows(
            x, y, ang, side, gain, contrast, blur, pin, self.head_style[sel], self.dark_side[sel], self.outline_m[sel],
            self.outline_phase[sel], self.cell_elong[sel],
        )  # fmt: skip
        su = np.where(pin, 0.07, lk.core_size) * side
        back = self._half_length(su) + 2.0 * self.s
        rx = x - back * np.cos(ang)
        ry = y - back * np.sin(ang)
        ds = (length / (k - 1))[:, None]
        mid = 0.5 * (alpha[:, 1:] + alpha[:, :-1])
        ptx = np.concatenate([rx[:, None], rx[:, None] - np.cumsum(ds * np.cos(mid), axis=1)], axis=1)
        pty = np.concatenate([ry[:, None], ry[:, None] - np.cumsum(ds * np.sin(mid), axis=1)], axis=1)
        tw = np.sqrt(self.tail_width**2 + opt2 + defocus2)
        tamp = lk.tail * self.tail_gain[sel] * np.where(pin, 0.8, 1.0) * contrast * self.tail_width / tw
        amp = tamp[:, None] * (1.0 - 0.55 * grid[None, :]) * np.where(grid[None, :] < 0.1, 1.25, 1.0)
        rows.append(_polyline_rows(L_DARK, np.stack([ptx, pty], axis=-1), tw, amp))
        return rows

    def _round_rows(self, x, y, radius, gain, small, grain=None, inner=None):
        """Round cells: a dark disc (granular when ``grain`` is given) in a bright phase halo."""
        lk = self.look
        n = len(x)
        rows = []
        sc = self.s
        if not small and lk.name != "phase":
            # light look: round cells show as smaller bright discs with a thin dark rim and a pale spot
            r = 0.55 * radius
            rows.append(
                _radial_rows(P_DISC, L_BRIGHT, x, y, r, np.full(n, 0.9 * sc), 0.8 * (inner if inner is not None else 60.0) * gain)
            )
            rows.append(_radial_rows(P_RING, L_DARK, x, y, r + 0.8 * sc, np.full(n, 0.8 * sc), np.full(n, 45.0) * gain))
            if grain is not None:
                gx = x + 0.3 * r * np.cos(grain[:, 0])
                gy = y + 0.3 * r * np.sin(grain[:, 0])
                rows.append(_gauss_rows(L_DARK, gx, gy, 0.3 * r, 0.25 * r, grain[:, 1], np.full(n, 40.0)))
            return rows
        if small:
            halo_amp = (60.0 if lk.name == "phase" else 55.0) * gain
            rows.append(_radial_rows(P_RING, L_BRIGHT, x, y, radius + 0.9 * sc, np.full(n, 1.2 * sc), halo_amp))
        else:  # large cells: a soft bright phase halo around a dark, lumpy, mottled body
            halo_amp = (55.0 if lk.name == "phase" else 60.0) * gain
            rows.append(_radial_rows(P_RING, L_BRIGHT, x, y, radius + 0.6 * sc, np.full(n, 1.8 * sc), halo_amp))
            rows.append(_radial_rows(P_RING, L_BRIGHT, x, y, radius + 3.0 * sc, np.full(n, 2.5 * sc), 0.25 * halo_amp))
        if inner is None:
            inner = 35.0 * np.minimum(gain, 1.2)
        inner = inner * (1.0 if lk.name == "phase" else 0.8)
        rows.append(_radial_rows(P_DISC, L_DARK, x, y, radius, np.full(n, (0.6 if grain is not None else 1.0) * sc), inner))
        if grain is not None:
            for j in range(grain.shape[1]):
                # lobes at the rim make the outline irregular; pale mottling in the middle
                lx = x + 0.6 * radius * np.cos(grain[:, j])
                ly = y + 0.6 * radius * np.sin(grain[:, j])
                rows.append(_gauss_rows(L_DARK, lx, ly, 0.45 * radius, 0.32 * radius, grain[:, j], inner * 1.1))
                gx = x + 0.25 * radius * np.cos(2.3 * grain[:, j])
                gy = y + 0.25 * radius * np.sin(1.7 * grain[:, j])
                rows.append(_gauss_rows(L_BRIGHT, gx, gy, 0.2 * radius, 0.14 * radius, grain[:, j], inner * 0.5))
        return rows

    def _cluster_rows(self, ci, i, opt2):
        m, lk = self.motion, self.look
        geo = self.clusters[ci]
        rot = m.theta[ci, i] - m.population.theta0[ci]
        c, s = np.cos(rot), np.sin(rot)
        cx, cy = m.x[ci, i], m.y[ci, i]
        bx = cx + c * geo["blob_xy"][:, 0] - s * geo["blob_xy"][:, 1]
        by = cy + s * geo["blob_xy"][:, 0] + c * geo["blob_xy"][:, 1]
        nb = len(bx)
        rows = [_gauss_rows(L_DARK, bx, by, geo["blob_sig"] * 1.25, geo["blob_sig"], geo["blob_ang"] + rot, geo["blob_amp"])]
        glow = 0.15 if lk.name == "phase" else 0.08
        rows.append(
            _gauss_rows(L_BRIGHT, bx, by, geo["blob_sig"] * 1.9, geo["blob_sig"] * 1.7, np.zeros(nb), geo["blob_amp"] * glow)
        )
        hx = cx + c * geo["head_xy"][:, 0] - s * geo["head_xy"][:, 1]
        hy = cy + s * geo["head_xy"][:, 0] + c * geo["head_xy"][:, 1]
        ang = geo["head_ang"] + rot
        nh = len(hx)
        blur = self._blur(np.zeros(nh), np.zeros(nh), 0.0, opt2)
        rows.extend(self._head_rows(hx, hy, ang, geo["head_side"], geo["head_gain"], np.ones(nh), blur))
        # tails pointing outwards, slowly beating
        t = i * m.calibration.dt
        k = 10
        sgrid = np.linspace(0, 1, k)[None, :] * geo["tail_len"][:, None]
        wave = (
            geo["tail_amp"][:, None]
            * (sgrid / geo["tail_len"][:, None])
            * np.sin(2 * np.pi * geo["tail_freq"][:, None] * t + geo["tail_phase"][:, None] - sgrid / (8.0 * self.s))
        )
        ex, ey = np.cos(ang)[:, None], np.sin(ang)[:, None]
        ptx = hx[:, None] - (sgrid + 4.0 * self.s) * ex - wave * ey
        pty = hy[:, None] - (sgrid + 4.0 * self.s) * ey + wave * ex
        tw = np.sqrt(self.tail_width**2 + opt2)
        amp = np.repeat((lk.tail * np.linspace(1.0, 0.4, k))[None, :], nh, 0)
        rows.append(_polyline_rows(L_DARK, np.stack([ptx, pty], -1), np.full(nh, tw), amp))
        return rows

    def render(self, i: int, out: np.ndarray | None = None) -> np.ndarray:
        """Frame ``i`` as a (H, W, 3) uint8 BGR image."""
        if not 0 <= i < self.motion.num_frames:
            raise IndexError(f"frame {i} is outside 0..{self.motion.num_frames - 1}")
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, 7, int(i)])))
        prims = self.display_list(i, rng)
        if len(prims):
            _draw(self._bright, self._dark, prims)
        lk = self.look
        noise_seed = int(rng.integers(1, 2**63))
        gain = np.float32(1.0 + lk.flicker * rng.standard_normal())
        if out is None:
            out = np.empty((self.h, self.w, 3), np.uint8)
        _compose(
            self.static,
            self._bright,
            self._dark,
            np.float64(lk.noise),
            np.uint64(noise_seed),
            np.asarray(lk.bright_tint, np.float32),
            np.asarray(lk.dark_tint, np.float32),
            gain,
            out,
        )
        if self.camera is not None:
            self.camera.apply(out)
        if lk.jpeg_quality > 0:
            _, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(lk.jpeg_quality)])
            out[...] = cv2.imdecode(buf, cv2.IMREAD_COLOR)
        return out
