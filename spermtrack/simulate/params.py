"""Parameters of the simulator and the reference numbers they come from.

Two kinds of numbers live here:

* **motion** parameters, in µm and seconds, from the WHO laboratory manual (6th edition, 2021)
  and the CASA literature (see docs/simulator.md for the sources); the calibration converts
  them to pixels and frames;
* **appearance** parameters, in pixels and 8-bit grey levels of a 640x480 frame, measured on
  the real VISEM-Tracking frames of ``shared/reference/visem`` (box sizes, per-frame counts,
  background levels). Appearance does not follow ``calibration``: a simulated frame looks
  like a VISEM frame whatever µm-per-pixel the motion model is converted with, unless the
  magnification is set with ``simulate_video(head_px=...)`` or ``um_per_px=...``, which
  scales the pixel sizes here (:meth:`SceneParams.scaled`) and the renderer's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from ..errors import ParameterError
from ..jsonutil import to_jsonable

#: Motility classes of the WHO manual, 6th edition (2021), in this order (index = code).
WHO_CLASSES: tuple[str, ...] = ("rapid_progressive", "slow_progressive", "non_progressive", "immotile")
RAPID, SLOW, NONPROG, IMMOTILE = 0, 1, 2, 3
#: WHO 6th edition thresholds on progressive speed, µm/s: rapid >= 25, slow 5 to < 25.
WHO_RAPID_UM_S = 25.0
WHO_SLOW_UM_S = 5.0

#: Mean motility mix of a *sample* (rapid, slow, non-progressive, immotile), drawn per video
#: (per donor) from a Dirichlet distribution around it (:func:`sample_motility_mix`). WHO
#: laboratory manual, 6th ed. (2021) reference distribution (Campbell et al., Andrology 2021):
#: total motility 5th centile 42 %, progressive 30 %; typical samples have 40-60 % progressive
#: and 30-60 % immotile cells.
DEFAULT_MOTILITY_MIX: tuple[float, float, float, float] = (0.27, 0.15, 0.08, 0.50)
#: Concentration of that Dirichlet (larger: videos closer to the mean mix). 10 gives a standard
#: deviation of 0.15 on the immotile fraction (5th-95th centiles ~ 25-75 %).
MOTILITY_MIX_CONCENTRATION = 10.0
#: Relative chance of a *progressive* cell (rapid or slow) to be in the focal plane, against a
#: non-progressive or immotile one, at 20 labelled sperm per frame (per video, log-uniform in
#: this range). Cells that cannot swim away sediment onto the lower glass where the microscope
#: is focused and stay there; progressive ones spread over the ~20 µm depth of the chamber and
#: swim through the focal plane. The range is calibrated on VISEM-Tracking itself: with
#: 0.25 µm/px the per-video fraction of frames whose sperm count changes (how often labelled
#: cells enter or leave) only matches the real videos' when progressive cells are this rare in
#: focus (docs/simulator.md).
FOCAL_PROGRESSIVE_RATIO: tuple[float, float] = (0.06, 0.25)
#: The ratio scales as ``(density / 20) ** -FOCAL_RATIO_DENSITY_EXPONENT``: per labelled cell,
#: VISEM's dense videos (> 30 sperm per frame) turn over ~3x less often than its sparse ones.
FOCAL_RATIO_DENSITY_EXPONENT = 0.6


def sample_motility_mix(
    rng: np.random.Generator,
    density: float | None = None,
    mean: tuple[float, float, float, float] = DEFAULT_MOTILITY_MIX,
    concentration: float = MOTILITY_MIX_CONCENTRATION,
    focal_ratio: tuple[float, float] = FOCAL_PROGRESSIVE_RATIO,
    density_exponent: float = FOCAL_RATIO_DENSITY_EXPONENT,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Draw one video's motility: ``(sample_mix, in_focus_mix, ratio)``.

    ``sample_mix`` (4,) is the donor's mix of WHO classes (Dirichlet around ``mean``);
    ``in_focus_mix`` (4,) the mix among the cells in the focal plane (the labelled ones, what
    CASA of this video would count): progressive classes weighted by ``ratio`` (log-uniform in
    ``focal_ratio``, times ``(density / 20) ** -density_exponent`` when ``density`` (labelled
    sperm per frame) is given, at most 1) and renormalised.

    >>> s, f, r = sample_motility_mix(np.random.default_rng(0), density=20)
    >>> bool(abs(s.sum() - 1) < 1e-12 and abs(f.sum() - 1) < 1e-12 and f[3] >= s[3])
    True
    """
    sample = rng.dirichlet(np.asarray(mean, float) * float(concentration))
    lo, hi = focal_ratio
    ratio = float(np.exp(rng.uniform(np.log(lo), np.log(hi)))) if hi > lo else float(lo)
    if density is not None and density > 0:
        ratio *= (float(density) / 20.0) ** -float(density_exponent)
    ratio = min(ratio, 1.0)
    focus = sample * np.array([ratio, ratio, 1.0, 1.0])
    return sample, focus / focus.sum(), ratio


#: The 20 annotated VISEM-Tracking videos: id, frames, mean and standard deviation of sperm boxes
#: per frame, mean cluster and small-or-pinhead boxes per frame (computed from
#: ``sperm_counts_per_frame.csv`` of the official repository; video 23's mean is over its 1296
#: annotated frames). The official split (paper): the last four ids are validation.
VISEM_VIDEOS: tuple[tuple[str, int, float, float, float, float], ...] = (
    ("11", 1470, 36.64, 2.27, 1.846, 0.000),
    ("12", 1470, 23.46, 3.11, 1.000, 2.316),
    ("13", 1470, 41.62, 2.03, 0.000, 1.000),
    ("14", 1470, 3.42, 0.49, 0.490, 0.000),
    ("15", 1470, 16.09, 7.52, 0.529, 0.529),
    ("19", 1470, 18.34, 1.57, 4.000, 0.118),
    ("21", 1470, 20.11, 2.67, 0.000, 2.010),
    ("22", 1470, 10.87, 1.04, 0.000, 0.000),
    ("23", 1470, 2.21, 1.38, 0.000, 0.282),
    ("24", 1470, 62.31, 2.03, 4.000, 0.000),
    ("29", 1470, 2.96, 1.00, 0.307, 0.000),
    ("30", 1470, 10.91, 1.35, 0.000, 0.000),
    ("35", 1440, 30.16, 6.17, 0.000, 1.613),
    ("36", 1470, 44.26, 2.23, 0.000, 1.000),
    ("38", 1470, 11.45, 1.55, 0.000, 0.000),
    ("47", 1470, 4.96, 2.34, 0.000, 0.503),
    ("52", 1440, 9.33, 3.61, 0.703, 2.435),
    ("54", 1470, 26.07, 1.92, 2.000, 0.678),
    ("60", 1470, 13.20, 1.86, 0.000, 0.679),
    ("82", 1500, 28.71, 3.67, 0.000, 1.957),
)
VISEM_TRAIN_IDS: tuple[str, ...] = (
    "11",
    "12",
    "13",
    "14",
    "15",
    "19",
    "21",
    "22",
    "23",
    "24",
    "29",
    "30",
    "35",
    "36",
    "38",
    "47",
)
VISEM_VAL_IDS: tuple[str, ...] = ("52", "54", "60", "82")

#: Box size statistics of the real dataset (class_sizes.json, dataset-ninja), pixels of 640x480:
#: (mean width, mean height, min side, max side).
VISEM_BOX_SIZES: dict[str, tuple[float, float, float, float]] = {
    "sperm": (23.0, 23.0, 2.0, 52.0),
    "cluster": (58.0, 52.0, 24.0, 98.0),
    "small_or_pinhead": (21.0, 21.0, 6.0, 37.0),
}
#: Box totals of the real dataset per class (sperm, cluster, small-or-pinhead).
VISEM_CLASS_TOTALS: tuple[int, int, int] = (612_377, 21_846, 22_112)


def visem_video(vid: str) -> tuple[str, int, float, float, float, float]:
    """The :data:`VISEM_VIDEOS` row of real video ``vid`` (e.g. ``"24"``); KeyError when unknown."""
    for row in VISEM_VIDEOS:
        if row[0] == str(vid):
            return row
    raise KeyError(f"{vid!r} is not one of the 20 annotated VISEM-Tracking videos {[r[0] for r in VISEM_VIDEOS]}")


@dataclass
class MotionParams:
    """Parameters of the motion model (µm, seconds, hertz). Defaults: see docs/simulator.md.

    Speeds are of the *average path* (the smoothed trajectory, CASA's VAP); the head oscillates
    around it with ``lateral_amplitude_um`` = half the peak-to-peak lateral excursion (so WHO's
    peak-to-peak ALH is twice it) at ``beat_frequency_hz`` cycles per second.

    Ranges are ``(low, high)``; speeds are drawn log-uniformly inside them, the rest uniformly.
    """

    #: Average-path speed (VAP) per WHO class, µm/s (immotile: 0).
    speed_um_s: dict = field(
        default_factory=lambda: {
            "rapid_progressive": (30.0, 115.0),
            "slow_progressive": (8.0, 35.0),
            "non_progressive": (0.5, 15.0),
        }
    )
    #: Lateral head amplitude (half peak-to-peak), µm.
    lateral_amplitude_um: dict = field(
        default_factory=lambda: {"rapid_progressive": (1.0, 3.2), "slow_progressive": (0.5, 1.8), "non_progressive": (0.3, 1.5)}
    )
    #: Beat frequency of the head oscillation, Hz (cycles per second).
    beat_frequency_hz: dict = field(
        default_factory=lambda: {
            "rapid_progressive": (8.0, 18.0),
            "slow_progressive": (5.0, 14.0),
            "non_progressive": (3.0, 12.0),
        }
    )
    #: Radius of curvature of the average path, µm (drawn log-uniformly; sign = chirality).
    radius_um: dict = field(
        default_factory=lambda: {
            "rapid_progressive": (30.0, 600.0),
            "slow_progressive": (8.0, 400.0),
            "non_progressive": (1.0, 2.4),
        }
    )
    #: Fraction of cells whose average path is straight (no curvature) per class.
    straight_fraction: float = 0.3
    #: Fraction of non-progressive cells that swim in tight circles (the rest twitch in place).
    circling_fraction: float = 0.4
    #: Rotational diffusion of the heading, rad²/s, per class.
    rotational_diffusion: dict = field(
        default_factory=lambda: {
            "rapid_progressive": (0.01, 0.08),
            "slow_progressive": (0.03, 0.15),
            "non_progressive": (0.3, 2.0),
        }
    )
    #: Per-video motility (used when ``simulate_video(motility=None)``, see
    #: :func:`sample_motility_mix`): mean donor mix (rapid, slow, non-progressive, immotile) and
    #: its Dirichlet concentration; relative chance of progressive cells to be in focus at 20
    #: labelled sperm per frame (log-uniform range) and its density exponent.
    motility_mix_mean: tuple = DEFAULT_MOTILITY_MIX
    motility_mix_concentration: float = MOTILITY_MIX_CONCENTRATION
    focal_progressive_ratio: tuple = FOCAL_PROGRESSIVE_RATIO
    focal_ratio_density_exponent: float = FOCAL_RATIO_DENSITY_EXPONENT
    #: Relative speed fluctuation (standard deviation) and its correlation time, s.
    speed_fluctuation: float = 0.08
    speed_correlation_s: float = 0.4
    #: Translational diffusion of immotile cells, µm²/s (Stokes-Einstein for a 2-3 µm body in
    #: seminal plasma gives ~0.04; slightly more covers convection).
    immotile_diffusion_um2_s: tuple = (0.02, 0.12)
    #: Flow of the whole sample (drift), µm/s: log-uniform magnitude, random direction. A
    #: settled wet preparation drifts by at most ~1-2 µm/s (more would move the whole field by
    #: > 100 px in 30 s, which the real videos do not show: their immotile cells stay put).
    drift_um_s: tuple = (0.05, 2.0)
    #: Half-thickness of the slab around the focal plane where cells are drawn, µm.
    slab_half_um: float = 4.0
    #: Cells are labelled while their distance to the focal plane is at most this, µm (their
    #: head contrast is then at least half its in-focus value, see ``defocus_px_per_um``).
    focus_label_um: float = 2.0
    #: A labelled cell stays labelled until it is this much farther (µm) from the focal plane
    #: (hysteresis: a head hovering at the limit does not flicker in and out of the labels).
    focus_hysteresis_um: float = 0.3
    #: Vertical speed of motile cells, µm/s (standard deviation); immotile cells keep their depth.
    #: Swimmers near a glass surface stay near it for tens of seconds (surface accumulation,
    #: Rothschild 1963; Elgeti et al. 2010; Denissenko et al. 2012), so they cross the ~4 µm
    #: labelled depth slowly: 0.06 µm/s takes ~30 s.
    vertical_speed_um_s: float = 0.06
    #: Vertical diffusion, µm²/s.
    vertical_diffusion_um2_s: float = 0.003

    def to_dict(self) -> dict:
        """JSON-ready copy."""
        return to_jsonable(asdict(self))


@dataclass
class SceneParams:
    """What is in a video besides sperm: counts and sizes (pixels of the 640x480 frame)."""

    #: Sperm box side, pixels: normal (mean, sd) clipped to (min, max); VISEM mean 23x23.
    sperm_box_px: tuple = (23.0, 3.6, 13.0, 40.0)
    #: Fraction of sperm with a large halo (box side up to ``sperm_box_large_px``).
    sperm_large_fraction: float = 0.03
    sperm_box_large_px: tuple = (30.0, 46.0)
    #: Small-or-pinhead box side, pixels (mean, sd, min, max); VISEM mean 21x21.
    pinhead_box_px: tuple = (21.5, 4.5, 8.0, 35.0)
    #: Fraction of small-or-pinhead objects that are pinhead sperm (non-progressive or immotile;
    #: the rest are small round cells).
    pinhead_motile_fraction: float = 0.35
    #: Clusters and small-or-pinhead objects come and go in steps, as in VISEM (their count
    #: changes 0-7 times per video, often by 2 at once): with a non-integer mean count, a group
    #: of 1, 2 or 3 objects (these probabilities) is in view for part of the video only.
    object_group_p: tuple = (0.55, 0.35, 0.10)
    #: Cluster box width and height, pixels (mean, sd, min, max); VISEM 58x52, 24-98.
    cluster_w_px: tuple = (58.0, 15.0, 26.0, 98.0)
    cluster_h_px: tuple = (52.0, 13.0, 33.0, 97.0)
    #: Visible tail length of an in-focus sperm, pixels (uniform range).
    tail_px: tuple = (60.0, 120.0)
    #: Static debris specks per frame (uniform range), drifting debris, large round cells,
    #: unlabelled small bright particles, out-of-focus ghost rings.
    static_debris: tuple = (70, 330)
    moving_debris: tuple = (5, 40)
    round_cells: tuple = (0, 4)
    bright_particles: tuple = (0, 10)
    ghost_rings: tuple = (0, 2)
    #: Hidden margin around the frame where cells live between entering and leaving, pixels.
    margin_px: float = 130.0
    #: A box is labelled while at least this fraction of its width and height lies in the frame;
    #: once labelled it stays so down to ``keep_visible_fraction`` (hysteresis at the border).
    min_visible_fraction: float = 0.35
    keep_visible_fraction: float = 0.2
    #: Annotators do not follow flicker: gaps shorter than this inside a track are labelled
    #: through (where a box can be drawn), runs shorter than ``min_run_frames`` are not labelled.
    fill_gap_frames: int = 10
    min_run_frames: int = 10
    #: Annotation noise: per-track constant offset and per-frame jitter of the box centre, px.
    box_offset_px: float = 0.7
    box_jitter_px: float = 0.4

    #: Fields in pixels, multiplied by :meth:`scaled`.
    PX_FIELDS = (
        "sperm_box_px", "sperm_box_large_px", "pinhead_box_px", "cluster_w_px", "cluster_h_px", "tail_px", "margin_px",
        "box_offset_px", "box_jitter_px",
    )  # fmt: skip

    def scaled(self, factor: float, count_factor: float = 1.0) -> SceneParams:
        """A copy at another magnification: every size in px times ``factor`` (box sides, tail
        lengths, margin, annotation noise) and the unlabelled object counts (debris, round
        cells, particles) times ``count_factor`` (e.g. the field of view's area ratio).

        >>> SceneParams().scaled(0.5).sperm_box_px
        (11.5, 1.8, 6.5, 20.0)
        """
        if not factor > 0 or not count_factor > 0:
            raise ParameterError(f"scale factors must be > 0, got {factor}, {count_factor}")
        d = {}
        for k in self.PX_FIELDS:
            v = getattr(self, k)
            d[k] = tuple(float(x) * factor for x in v) if isinstance(v, tuple) else float(v) * factor
        for k in ("static_debris", "moving_debris", "round_cells", "bright_particles", "ghost_rings"):
            lo, hi = getattr(self, k)
            d[k] = (int(round(lo * count_factor)), int(round(hi * count_factor)))
        return replace(self, **d)

    def to_dict(self) -> dict:
        """JSON-ready copy."""
        return to_jsonable(asdict(self))
