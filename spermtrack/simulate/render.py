"""Rendering of simulated frames: VISEM-Tracking's looks, bright field and negative phase contrast.

A frame is built from

* a **static background** computed once per video: base colour under uneven illumination
  (vignetting, a gradient, broad bumps), a fine mottled texture, debris stuck to the glass and
  faint out-of-focus rings;
* two **signal layers** redrawn every frame by a Numba kernel from a display list of primitives
  (elliptical Gaussians, rings, discs, line segments): a *bright* layer (heads, halos; added)
  and a *dark* layer (tails, debris, dark cores; combined by maximum so that overlapping parts
  of one tail do not double);
* **composition** ``background + bright·tint_b − dark·tint_d + sensor noise``, clipped to
  8 bits, then the look's camera (:mod:`spermtrack.simulate.camera`: tone curve, colour cast
  or grey, resampling, H.264) and a JPEG round trip (the camera's compression).

Each object's Gaussians grow with its distance to the focal plane (defocus; the amplitude drops
so that the integral is kept, and the contrast falls as ``1 / (1 + (z / 2 µm)^8)``) and are
stretched along its velocity (motion blur over the exposure). A sperm is a head (phase look: a
small saturating core in a two-scale soft halo beside a dark midpiece; light look: a dark head,
ring or "C" inside a crisp flat-topped white halo) and a tail whose direction is integrated
along its length (static bend + travelling wave), so tails curve and hook without stretching.
Bright field and negative phase contrast draw solid dark heads (crisp ovals) with a weak or
strong bright halo. All appearance numbers are pixels and 8-bit grey levels of a 640x480 frame
at VISEM's magnification, tuned on the real frames (docs/simulator.md); sizes in pixels are
multiplied by the video's scale (``head_px / 23``). :class:`Look` holds the values of one video.

The code is in three modules, whose public names this one re-exports:
:mod:`spermtrack.simulate.look` (:class:`Look`, :func:`sample_look`, :func:`random_look`: the
appearance), :mod:`spermtrack.simulate.raster` (the display list of primitives, the Numba kernels
that draw it and compose a frame) and :mod:`spermtrack.simulate.scene` (:class:`Renderer`: the
static background, each frame's display list from the motion, camera and JPEG).
"""

from __future__ import annotations

from .look import DARK_HEAD_LOOKS, LOOKS, RANDOM_LOOK_P, VISEM_HEAD_PX, Look, random_look, sample_look
from .raster import L_BRIGHT, L_DARK, P_DISC, P_ERING, P_GAUSS, P_RING, P_SEG
from .scene import Renderer

__all__ = [
    "DARK_HEAD_LOOKS",
    "LOOKS",
    "RANDOM_LOOK_P",
    "VISEM_HEAD_PX",
    "Look",
    "random_look",
    "sample_look",
    "Renderer",
    "P_GAUSS",
    "P_RING",
    "P_DISC",
    "P_SEG",
    "P_ERING",
    "L_BRIGHT",
    "L_DARK",
]
