"""The appearance of a simulated video: :class:`Look` and the draws behind ``look=``.

Look families: VISEM-Tracking's phase contrast ("phase") and light look ("bright"), bright
field ("brightfield") and negative phase contrast ("negative-phase"). :func:`sample_look` draws
every appearance number of one family (pixels and 8-bit grey levels of a 640x480 frame at
VISEM's magnification, tuned on the real frames: docs/simulator.md); :func:`random_look` adds a
random camera and wider ranges (``look="random"``). :class:`~spermtrack.simulate.scene.Renderer`
draws frames with a look.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..errors import ParameterError
from .camera import IDENTITY, Camera, sample_camera

#: Look families: VISEM's phase contrast and light look, bright field, negative phase contrast.
LOOKS = ("phase", "bright", "brightfield", "negative-phase")
#: Looks with dark heads (darker than the background at the head's centre). VISEM's light look
#: "bright" is not one: its dark head sits inside a brighter halo, and the box centre is
#: brighter than the surroundings in most heads (real and simulated, docs/simulator.md).
DARK_HEAD_LOOKS = ("brightfield", "negative-phase")
#: Labelled box side of a head in VISEM's light look / the box the simulator draws it in (VISEM's
#: mean sperm box, 23 px at scale 1): the light look's annotators box the head *with* its white
#: halo. Measured on the real frames: the light-look sperm labels of ``real_frames`` (h02, h04: two
#: frames of one video) are 28.8 px wide (median; 28.7 px by side), 1.25x; they are 1.11x its
#: phase-look labels' widths, and the box outlines of ``frames_grid_with_boxes.png`` give
#: 1.26-1.39x (two light-look videos against nine phase-look tiles). docs/simulator.md,
#: "Light-look boxes hold the halo".
LIGHT_LOOK_LABEL_SCALE = 1.25
#: Probability of each family when a look is drawn at random (``look="random"``).
RANDOM_LOOK_P = {"phase": 0.3, "bright": 0.1, "brightfield": 0.35, "negative-phase": 0.25}
#: Box side of a sperm head at VISEM's magnification (scale 1), px; sizes marked "px at scale 1"
#: are multiplied by ``head_px / VISEM_HEAD_PX``.
VISEM_HEAD_PX = 23.0


@dataclass
class Look:
    """Appearance of one video (pixels, 8-bit grey levels). Drawn by :func:`sample_look`.

    Sizes marked "/ box side" are multiplied by each cell's box side (VISEM: ~23 px). Other
    sizes in px (widths, blurs, debris) are at VISEM's magnification and are multiplied by the
    video's scale ``head_px / 23`` when rendered (:class:`Renderer`); grey levels are not.
    Every field is a seeded draw of :func:`sample_look`; ``to_dict`` is written with each
    simulated video (``truth/simulation.json``, key ``look``).
    """

    name: str
    background_bgr: tuple  # base colour at the centre, BGR
    vignette: float  # relative darkening at the corners
    gradient: tuple  # relative brightness change across x and y
    bumps: list  # broad illumination bumps: (x, y, sigma_px, relative amplitude)
    texture_fine: float  # std of the fine mottling, grey levels
    texture_coarse: float  # std of the coarse mottling, grey levels
    noise: float  # sensor noise std per frame, grey levels
    flicker: float  # relative std of the global brightness per frame
    bright_tint: tuple  # BGR multipliers of the bright layer
    dark_tint: tuple  # BGR multipliers of the dark layer
    core: float  # bright core of the head (phase contrast: white, saturating), grey levels
    core_size: float  # core sigma along the head / box side
    glow: float  # inner halo around the head (phase-contrast halo), grey levels
    glow_size: float  # its Gaussian sigma / box side
    ring: float  # outer, broad and faint halo, grey levels
    ring_size: float  # its Gaussian sigma / box side
    outline: float  # dark outline of the head (light look: a dark ring or "C"), grey levels
    midpiece: float  # dark midpiece / dark side of the head, grey levels
    tail: float  # darkness of the tail, grey levels
    tail_width: float  # Gaussian sigma of the tail's cross-section, px
    optics_sigma: float  # blur of the optics, px
    defocus_px_per_um: float  # extra blur per µm from the focal plane, px/µm
    defocus_half_um: float  # distance from the focal plane where contrast halves, µm
    exposure: float  # exposure time as a fraction of the frame interval (motion blur)
    jpeg_quality: int  # quality of the camera's JPEG compression (0: none)
    head_dark: float = 0.0  # solid dark head (light look), grey levels
    halo_dot: float = 60.0  # bright halo of small dark dots (debris, particles), grey levels
    halo_dot_fraction: float = 0.1  # fraction of debris specks with such a halo
    # --- added with the bright-field and negative-phase families (defaults: VISEM's looks)
    style_p: tuple | None = None  # P(dark ring or "C", solid dark head, bright head); None: 0.4, 0.4, 0.2
    shake_px: float = 0.0  # motion blur of the whole field (stage or camera shake), std along shake_angle, px
    shake_angle: float = 0.0  # its direction, radians
    far: float = 0.0  # contrast of cells beyond the focal depth drawn as soft out-of-focus blobs, grey levels
    blobs: int = 0  # static out-of-focus blobs (cells and dirt far from focus) in the background
    blob_amp: float = 0.0  # their contrast, grey levels
    head_flat: bool = False  # solid dark heads are flat-topped ovals (crisp edge) instead of Gaussians
    acrosome: float = 0.0  # brightening of the front of solid dark heads (acrosome cap), grey levels
    debris_scale: float = 1.0  # size of the static debris specks relative to VISEM's (0.45-1.5 px sigma at scale 1)
    debris_amp: float = 1.0  # darkness of the static debris specks relative to VISEM's (8-55 grey levels)
    particles_factor: float = 1.0  # multiplies the scene's count of small bright particles
    round_cells_factor: float = 1.0  # multiplies the scene's count of large round cells
    # side of a cell's labelled box / its drawing box side: annotators box what they see, and in
    # VISEM's light look that is the head with its white halo (LIGHT_LOOK_LABEL_SCALE)
    label_scale: float = 1.0
    camera: Camera = IDENTITY  # tone curve, colour cast or grey camera, H.264 (see camera.py)

    @property
    def dark_heads(self) -> bool:
        """True when heads are darker than the background at their centre."""
        return self.name in DARK_HEAD_LOOKS

    def to_dict(self) -> dict:
        """JSON-ready copy (tuples as lists, the camera as a dict)."""
        d = asdict(self)
        d["camera"] = self.camera.to_dict()
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict) -> Look:
        """Inverse of :meth:`to_dict` (reads looks written before the newer fields existed)."""
        d = dict(d)
        for k in ("background_bgr", "gradient", "bright_tint", "dark_tint"):
            d[k] = tuple(d[k])
        d["bumps"] = [tuple(b) for b in d["bumps"]]
        if d.get("style_p") is not None:
            d["style_p"] = tuple(d["style_p"])
        d["camera"] = Camera.from_dict(d["camera"]) if "camera" in d else IDENTITY
        return cls(**d)


def sample_look(rng: np.random.Generator, name: str, image_size: tuple[int, int] = (640, 480)) -> Look:
    """Draw the appearance of one video of look family ``name`` (one of :data:`LOOKS`).

    "phase": dark grey-brown to medium grey background (grey level 58-132, as VISEM's
    phase-contrast videos); heads are a small white saturating core in a soft two-scale halo
    (inner sigma ~4.5 px, outer ~8 px), with a dark midpiece or dark side; dark, thin, curved
    tails. "bright": light lavender background (blue 175-205); heads are a broad soft white
    halo (sigma ~10 px) around a small dark navy head (a solid blob or a dark ring / "C"); dark
    navy tails; many dark dots with bright halos; its labels box each head with its halo
    (``label_scale`` :data:`LIGHT_LOOK_LABEL_SCALE`). Numbers measured on VISEM's frames
    (docs/simulator.md). "brightfield" and "negative-phase": see :func:`_sample_dark_look`.
    These looks use the identity :class:`~spermtrack.simulate.camera.Camera`; ``look="random"``
    of :func:`~spermtrack.simulate.simulate_video` adds a random one.
    """
    w, h = image_size
    if name not in LOOKS:
        raise ParameterError(f"look must be one of {LOOKS}, got {name!r}")
    if name in ("brightfield", "negative-phase"):
        return _sample_dark_look(rng, name, image_size)
    u = rng.uniform
    bumps = [(u(0, w), u(0, h), u(90, 260), u(-0.05, 0.05)) for _ in range(int(rng.integers(1, 4)))]
    if name == "phase":
        if rng.random() < 0.7:  # dark grey-brown: red above blue
            g = u(62, 95)
            bgr = (g + u(-6, -1), g + u(-2, 1), g + u(1, 6))
        else:  # medium grey, slightly blue
            g = u(100, 132)
            bgr = (g + u(1, 7), g + u(-3, 1), g + u(-2, 2))
        d = dict(
            bright_tint=(u(0.9, 1.03), u(0.95, 1.05), 1.0),
            dark_tint=(u(0.74, 0.92), u(0.97, 1.03), 1.0),
            core=u(220, 330),
            core_size=u(0.062, 0.08),
            glow=u(50, 75),
            glow_size=u(0.18, 0.22),
            ring=u(20, 32),
            ring_size=u(0.3, 0.36),
            outline=0.0,
            head_dark=0.0,
            midpiece=u(100, 150),
            tail=u(26, 46),
            texture_fine=u(0.5, 1.5),
            texture_coarse=u(0.5, 1.6),
            halo_dot=u(20, 45),
            halo_dot_fraction=u(0.04, 0.12),
        )
    else:
        b = u(175, 205)
        gg = b - u(15, 28)
        bgr = (b, gg, gg - u(3, 10))
        d = dict(
            bright_tint=(u(0.93, 1.0), 1.0, 1.0),
            dark_tint=(u(0.8, 0.9), 1.0, u(0.96, 1.0)),
            core=u(0, 20),
            core_size=u(0.11, 0.14),
            glow=u(80, 110),
            glow_size=u(0.2, 0.25),
            ring=u(22, 34),
            ring_size=u(0.38, 0.44),
            outline=u(35, 75),
            head_dark=u(30, 70),
            midpiece=u(80, 130),
            tail=u(70, 105),
            texture_fine=u(3.0, 5.5),
            texture_coarse=u(1.0, 2.5),
            halo_dot=u(15, 35),
            halo_dot_fraction=u(0.08, 0.2),
        )
    return Look(
        name=name,
        background_bgr=tuple(float(v) for v in bgr),
        vignette=float(u(0.02, 0.12)),
        gradient=(float(u(-0.06, 0.06)), float(u(-0.06, 0.06))),
        bumps=[tuple(float(v) for v in b_) for b_ in bumps],
        noise=float(u(0.8, 2.4)),
        flicker=float(u(0.0, 0.006)),
        tail_width=float(u(0.6, 0.85)),
        optics_sigma=float(u(0.3, 0.6)),
        defocus_px_per_um=0.8,
        defocus_half_um=2.0,
        exposure=float(u(0.05, 0.3)),
        jpeg_quality=int(rng.integers(60, 92)),
        label_scale=LIGHT_LOOK_LABEL_SCALE if name == "bright" else 1.0,
        **{k: (tuple(float(x) for x in v) if isinstance(v, tuple) else float(v)) for k, v in d.items()},
    )


def _sample_dark_look(rng: np.random.Generator, name: str, image_size: tuple[int, int]) -> Look:
    """Bright-field and negative phase-contrast looks (dark heads), with wide random ranges.

    "brightfield": light grey background (grey 140-215, a faint warm or cool tint); a solid
    dark head (sometimes a dark ring) with a weak light halo or none; faint thin tails; many
    dark specks; out-of-focus cells and dirt as soft blobs. "negative-phase": mid-grey
    background (90-150); a dark head inside a crisp bright halo rim; darker tails. In both the
    dark head is as long as a real head in its box (median 0.75 of the box side at half
    contrast against its surroundings; a 4.5-µm head in VISEM's 5.75-µm box is 0.78): what
    people box in these looks is the dark head itself, so a box drawn around it plus a small
    margin must match the label (it did not before: 0.54 in bright field, 0.38 in negative
    phase contrast). Both draw illumination (vignetting up to 30 %, gradients), optics blur
    (defocus) 0.4-1.6 px, field shake, exposure, sensor noise 0.8-5 grey levels and JPEG
    quality 40-95 (or none) from ranges wider than VISEM's, so a detector trained on them sees
    many microscopes.
    """
    w, h = image_size
    u = rng.uniform
    diag = float(np.hypot(w, h)) / 800.0
    bumps = [(u(0, w), u(0, h), u(90, 260) * diag, u(-0.08, 0.08)) for _ in range(int(rng.integers(1, 5)))]
    if name == "brightfield":
        g = u(140, 215)
        tint = u(-8, 8)
        bgr = (g - tint, g + u(-3, 3), g + tint)
        d = dict(
            core=0.0, core_size=u(0.22, 0.28), glow=u(0, 45), glow_size=u(0.26, 0.32), ring=u(0, 12), ring_size=u(0.36, 0.44),
            outline=u(20, 55), head_dark=float(np.exp(u(np.log(40), np.log(110)))), midpiece=u(20, 55), tail=u(8, 35), texture_fine=u(1.0, 3.5),
            texture_coarse=u(1.0, 3.5), halo_dot=u(0, 25), halo_dot_fraction=u(0.0, 0.08), style_p=(0.15, 0.85, 0.0),
            far=u(8, 28), blobs=int(rng.integers(5, 40)), blob_amp=u(4, 18), acrosome=u(0, 35),
        )  # fmt: skip
    else:
        g = u(90, 150)
        bgr = (g + u(-4, 4), g + u(-2, 2), g + u(-4, 4))
        d = dict(
            core=0.0, core_size=u(0.22, 0.27), glow=u(40, 85), glow_size=u(0.28, 0.34), ring=u(12, 32), ring_size=u(0.44, 0.52),
            outline=u(25, 65), head_dark=u(65, 115), midpiece=u(50, 110), tail=u(25, 60), texture_fine=u(0.8, 3.0),
            texture_coarse=u(0.8, 3.0), halo_dot=u(20, 50), halo_dot_fraction=u(0.05, 0.2), style_p=(0.1, 0.9, 0.0),
            far=u(10, 30), blobs=int(rng.integers(3, 25)), blob_amp=u(4, 15), acrosome=u(0, 20),
        )  # fmt: skip
    shake = float(u(0.4, 2.5)) if rng.random() < 0.25 else 0.0
    flat = bool(rng.random() < 0.7) or name == "negative-phase"  # negative phase: always a crisp dark oval
    debris = float(np.exp(u(0.0, np.log(1.8))))
    # specks are mostly fainter than the heads (dirt on the glass, out of the focal plane)
    debris_amp = float(u(0.35, 0.9) * d["head_dark"] / 60.0)
    return Look(
        name=name,
        background_bgr=tuple(float(v) for v in bgr),
        vignette=float(u(0.0, 0.3)),
        gradient=(float(u(-0.12, 0.12)), float(u(-0.12, 0.12))),
        bumps=[tuple(float(v) for v in b_) for b_ in bumps],
        noise=float(u(0.8, 5.0)),
        flicker=float(u(0.0, 0.01)),
        bright_tint=(1.0, 1.0, 1.0),
        dark_tint=(1.0, 1.0, 1.0),
        tail_width=float(u(0.55, 0.9)),
        optics_sigma=float(np.exp(u(np.log(0.4), np.log(1.6)))),
        defocus_px_per_um=0.8,
        defocus_half_um=2.0,
        exposure=float(u(0.05, 0.5)),
        jpeg_quality=int(rng.integers(40, 96)) if rng.random() < 0.7 else 0,
        shake_px=shake,
        shake_angle=float(u(0, np.pi)),
        head_flat=flat,
        debris_scale=debris,
        debris_amp=debris_amp,
        **{k: (tuple(float(x) for x in v) if isinstance(v, tuple) else v) for k, v in d.items()},
    )


def random_look(rng: np.random.Generator, image_size: tuple[int, int] = (640, 480), family: str | None = None) -> Look:
    """A look of a random family (:data:`RANDOM_LOOK_P`, or ``family``) with a random camera
    (:func:`~spermtrack.simulate.camera.sample_camera`): the randomiser behind ``look="random"``."""
    if family is None:
        names = list(RANDOM_LOOK_P)
        family = names[int(rng.choice(len(names), p=np.array([RANDOM_LOOK_P[k] for k in names])))]
    lk = sample_look(rng, family, image_size)
    if family in ("phase", "bright"):  # VISEM's looks, with wider optics and noise
        lk.optics_sigma = float(np.exp(rng.uniform(np.log(0.3), np.log(1.4))))
        lk.noise = float(rng.uniform(0.8, 4.5))
        lk.vignette = float(rng.uniform(0.0, 0.25))
        if rng.random() < 0.25:
            lk.shake_px = float(rng.uniform(0.4, 2.5))
            lk.shake_angle = float(rng.uniform(0, np.pi))
        lk.far = float(rng.uniform(5, 20))
        lk.jpeg_quality = int(rng.integers(40, 96))
        lk.debris_scale = float(np.exp(rng.uniform(0.0, np.log(2.2))))  # VISEM's frames also hold larger dark debris
        lk.core *= float(rng.uniform(0.45, 1.0))  # dimmer cores, as in VISEM's recompressed frames
    lk.camera = sample_camera(rng)
    # more distractors than VISEM's average scene: bright particles and round cells with halos
    # are what real frames hold besides heads
    lk.particles_factor = float(rng.uniform(1.0, 4.0))
    lk.round_cells_factor = float(rng.uniform(1.0, 3.0))
    return lk
