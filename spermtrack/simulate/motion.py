"""Motion model of the simulator: who is in the sample and where each head is in every frame.

Every cell follows a smooth *average path* (persistent heading, constant curvature, rotational
diffusion, speed fluctuations, the common drift of the sample) and its head oscillates around it
sideways, ``lateral_amplitude_um * sin(2π·beat_frequency_hz·t + phase)`` along the path's normal.
Units are µm and seconds; :class:`Motion` holds the result in pixels and frames (converted with
the calibration). Cells live in a periodic field larger than the image (a hidden margin all
around) and in a slab around the focal plane; a cell that wraps around the field becomes a new
cell (new identity), so cells enter and leave the image and the focal plane at a steady rate.

Kinds of objects (``KIND_*``): ordinary sperm (class 0), pinhead sperm and small round cells
(class 2), clusters of agglutinated cells (class 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.signal import lfilter

from ..boxes import CLUSTER, PINHEAD, SPERM
from ..calibration import Calibration
from ..errors import StateError
from .params import IMMOTILE, NONPROG, RAPID, SLOW, WHO_CLASSES, WHO_RAPID_UM_S, WHO_SLOW_UM_S, MotionParams, SceneParams

KIND_SPERM, KIND_PINHEAD_SPERM, KIND_ROUND_CELL, KIND_CLUSTER = 0, 1, 2, 3
KIND_NAMES: tuple[str, ...] = ("sperm", "pinhead_sperm", "small_round_cell", "cluster")
#: Time a cluster or pinhead takes to leave (or reach) the focal plane at the end (start) of its span, s.
OBJECT_FADE_S = 0.5


@dataclass
class Swimmer:
    """One cell with given parameters (a "digital twin"), added to a simulated video.

    Parameters
    ----------
    x_px, y_px : float
        Head position in frame 0, pixels.
    heading_deg : float
        Direction of the average path in frame 0, degrees (0 = +x, 90 = +y, image rows down).
    speed_um_s : float
        Speed along the average path (VAP), µm/s.
    lateral_amplitude_um : float
        Half the peak-to-peak sideways excursion of the head around the average path, µm.
    beat_frequency_hz : float
        Cycles per second of that oscillation, Hz.
    curvature_per_um : float
        Curvature of the average path, 1/µm (positive turns towards +y), 0 for straight.
    phase_rad : float
        Phase of the oscillation at frame 0, radians.
    z_um : float
        Distance from the focal plane, µm (kept constant).
    cls : int
        0 sperm or 2 small-or-pinhead (pinhead sperm).
    who_class : str or None
        True WHO class; ``None`` derives it from the net displacement of the average path in
        one second (WHO 6th ed.: rapid >= 25 µm, slow 5-25 µm, non-progressive below, immotile
        when it does not beat).
    rotational_diffusion : float
        Heading diffusion, rad²/s (0: deterministic path).
    box_px : float, optional
        Side of its labelled box, pixels; default the scene's mean sperm box side (23 px at
        VISEM's magnification, ``head_px`` of :func:`~spermtrack.simulate.simulate_video`).
    """

    x_px: float
    y_px: float
    heading_deg: float = 0.0
    speed_um_s: float = 0.0
    lateral_amplitude_um: float = 0.0
    beat_frequency_hz: float = 0.0
    curvature_per_um: float = 0.0
    phase_rad: float = 0.0
    z_um: float = 0.0
    cls: int = SPERM
    who_class: str | None = None
    rotational_diffusion: float = 0.0
    box_px: float | None = None


@dataclass
class Population:
    """Per-cell parameters, arrays of length ``n`` (one entry per physical cell).

    Motion columns are in µm, s, Hz and rad; appearance columns in pixels.
    """

    kind: np.ndarray  # int8, KIND_*
    cls: np.ndarray  # int16, 0 sperm, 1 cluster, 2 small-or-pinhead
    who: np.ndarray  # int8, index into WHO_CLASSES
    x0_um: np.ndarray  # average-path start, µm
    y0_um: np.ndarray
    theta0: np.ndarray  # heading of the average path at frame 0, rad
    speed: np.ndarray  # µm/s (VAP)
    amplitude: np.ndarray  # µm, half peak-to-peak
    frequency: np.ndarray  # Hz
    phase: np.ndarray  # rad
    curvature: np.ndarray  # 1/µm
    rot_diffusion: np.ndarray  # rad²/s
    speed_fluct: np.ndarray  # relative sd of the speed
    trans_diffusion: np.ndarray  # µm²/s
    z0: np.ndarray  # µm from the focal plane
    vz: np.ndarray  # µm/s
    z_diffusion: np.ndarray  # µm²/s
    box_w: np.ndarray  # px
    box_h: np.ndarray  # px
    tail_px: np.ndarray  # visible tail length, px (0: none)
    user: np.ndarray  # bool, given as a Swimmer
    present_from: np.ndarray  # first frame in the focal plane (clusters, pinheads; -1: from the start)
    present_to: np.ndarray  # frame after the last one in it (>= num_frames: to the end)

    @property
    def n(self) -> int:
        return int(self.kind.shape[0])

    def table(self) -> dict[str, np.ndarray]:
        """The columns as a dict (for DataFrames)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class Motion:
    """Trajectories of every cell, pixels and frames (arrays ``(n_cells, num_frames)``).

    ``x, y`` are the true head centres, ``theta`` the heading of the average path (rad),
    ``psi`` the oscillation phase (rad), ``z`` the distance to the focal plane (µm) and
    ``segment`` a counter that increases when the cell wraps around the periodic field (each
    ``(cell, segment)`` is one identity).
    """

    population: Population
    x: np.ndarray
    y: np.ndarray
    ax: np.ndarray  # average path, px
    ay: np.ndarray
    theta: np.ndarray
    psi: np.ndarray
    z: np.ndarray
    segment: np.ndarray
    drift_um_s: np.ndarray  # (num_frames, 2)
    num_frames: int
    calibration: Calibration
    image_size: tuple[int, int]
    margin_px: float
    info: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------- sampling
def _loguniform(rng: np.random.Generator, lo: float, hi: float, n: int | None = None):
    return np.exp(rng.uniform(np.log(lo), np.log(hi), n))


def net_displacement_1s(speed: float, curvature: float) -> float:
    """Distance, µm, between the start and the end of one second of a circular average path.

    ``speed`` in µm/s, ``curvature`` in 1/µm. This is what the WHO 6th edition classifies:
    rapid progressive covers at least 25 µm in one second, slow progressive 5 to 25 µm.

    >>> round(net_displacement_1s(40.0, 0.0), 6)
    40.0
    >>> round(net_displacement_1s(2 * np.pi * 10.0, 0.1), 6)  # one full circle of radius 10 µm
    0.0
    """
    arc = abs(speed)
    k = abs(curvature)
    if k * arc < 1e-9:
        return arc
    return float(2.0 * abs(np.sin(0.5 * k * arc)) / k)


def who_class_of(speed: float, curvature: float, amplitude: float, frequency: float) -> int:
    """WHO class code of a model cell from its average path and beat (see :data:`WHO_CLASSES`)."""
    if speed <= 0 and (amplitude <= 0 or frequency <= 0):
        return IMMOTILE
    d = net_displacement_1s(speed, curvature)
    if d >= WHO_RAPID_UM_S:
        return RAPID
    if d >= WHO_SLOW_UM_S:
        return SLOW
    return NONPROG


def _sample_motile(rng: np.random.Generator, who: int, mp: MotionParams) -> tuple[float, float, float, float, float]:
    """(speed, amplitude, frequency, curvature, rot_diffusion) of one motile cell of class ``who``."""
    name = WHO_CLASSES[who]
    amp = rng.uniform(*mp.lateral_amplitude_um[name])
    freq = rng.uniform(*mp.beat_frequency_hz[name])
    dr = rng.uniform(*mp.rotational_diffusion[name])
    for _ in range(200):
        if who == NONPROG:
            if rng.random() < mp.circling_fraction:
                radius = rng.uniform(*mp.radius_um[name])
                speed = rng.uniform(5.0, mp.speed_um_s[name][1])
                curv = rng.choice((-1.0, 1.0)) / radius
            else:
                speed = rng.uniform(mp.speed_um_s[name][0], 4.0)
                curv = rng.normal(0.0, 0.05)
        else:
            speed = float(_loguniform(rng, *mp.speed_um_s[name]))
            if rng.random() < mp.straight_fraction:
                curv = 0.0
            else:
                curv = rng.choice((-1.0, 1.0)) / float(_loguniform(rng, *mp.radius_um[name]))
        d = net_displacement_1s(speed, curv)
        # keep a margin from the class limits so rotational diffusion does not cross them
        if who == RAPID and d >= WHO_RAPID_UM_S * 1.12:
            break
        if who == SLOW and WHO_SLOW_UM_S * 1.15 <= d <= WHO_RAPID_UM_S * 0.9:
            break
        if who == NONPROG and d <= WHO_SLOW_UM_S * 0.85:
            break
    else:  # pragma: no cover - the ranges always admit a solution
        raise StateError(f"could not sample a {name} cell")
    return float(speed), float(amp), float(freq), float(curv), float(dr)


def _box_side(rng: np.random.Generator, spec: tuple) -> float:
    mean, sd, lo, hi = spec
    return float(np.clip(rng.normal(mean, sd), lo, hi))


def sample_population(
    rng: np.random.Generator,
    *,
    density: float,
    clusters: float,
    pinheads: float,
    motility_mix: np.ndarray,
    calibration: Calibration,
    image_size: tuple[int, int],
    motion: MotionParams,
    scene: SceneParams,
    swimmers: list[Swimmer] | tuple = (),
    num_frames: int | None = None,
) -> Population:
    """Draw every cell of one video.

    Parameters
    ----------
    density : float
        Mean number of *labelled* sperm per frame (in the image and in focus).
    clusters, pinheads : float
        Mean number of cluster and small-or-pinhead boxes per frame: ``floor`` of it are in
        view all along and the rest is a group of 1-3 objects in view for part of the video
        (:func:`object_spans`; 1.85 gives one cluster always and one for 85 % of the frames).
    motility_mix : array (4,)
        Fractions of rapid, slow, non-progressive and immotile sperm among the cells in focus.
    swimmers : list of Swimmer
        Cells with given parameters, added to the random ones.
    num_frames : int, optional
        Length of the video (places the partial spans of clusters and pinheads; ``None``:
        every object is in view all along).

    Notes
    -----
    The field is the image plus a margin of ``scene.margin_px`` on each side, and the slab
    ``|z| <= motion.slab_half_um``. The number of sperm is ``density`` divided by the
    probability of being labelled (in the image and within ``focus_label_um``), and exactly
    ``round(density)`` of them start labelled, so frame 0 has the requested count.
    """
    mix = np.asarray(motility_mix, float)
    mix = mix / mix.sum()
    n_in, n_total = _sperm_count(rng, density, mix, image_size, motion, scene)
    um = calibration.um_per_px
    rows = _sperm_rows(rng, n_in, n_total, mix, um, image_size, motion, scene)
    rows += _pinhead_rows(rng, pinheads, num_frames, um, image_size, motion, scene)
    rows += _cluster_rows(rng, clusters, num_frames, um, image_size, motion, scene)
    rows += [_swimmer_row(s, um, scene) for s in swimmers]
    return _population_from_rows(rows)


def _sperm_count(
    rng: np.random.Generator,
    density: float,
    mix: np.ndarray,
    image_size: tuple[int, int],
    motion: MotionParams,
    scene: SceneParams,
) -> tuple[int, int]:
    """``(n_in, n_total)``: sperm that start labelled (``density`` rounded at random) and sperm in the whole field.

    The field is larger than the labelled region (margin, depth), so ``n_total`` is ``density``
    divided by the labelled fraction of the field.
    """
    w, h = image_size
    m = scene.margin_px
    # the region where a cell is labelled in the steady state: the image plus the part of a box
    # that may stick out (~0.15 of a 23 px box on each side), and the focal range plus half the
    # hysteresis (cells leaving focus stay labelled a little farther than those arriving)
    edge = 2 * (0.5 - 0.5 * (scene.min_visible_fraction + scene.keep_visible_fraction)) * scene.sperm_box_px[0]
    area_frac = ((w + edge) * (h + edge)) / ((w + 2 * m) * (h + 2 * m))
    # immotile cells lie on the glass and keep their depth: only motile ones fill the hysteresis band
    focus_frac = (motion.focus_label_um + 0.5 * motion.focus_hysteresis_um * (1.0 - mix[IMMOTILE])) / motion.slab_half_um
    density = max(0.0, float(density))
    n_in = _stochastic_round(rng, density)
    n_total = max(n_in, int(round(density / (area_frac * focus_frac))))
    return n_in, n_total


def _cell_row(
    rng,
    um,
    kind,
    cls,
    who,
    x_px,
    y_px,
    theta,
    speed=0.0,
    amp=0.0,
    freq=0.0,
    curv=0.0,
    dr=0.0,
    fluct=0.0,
    dt=0.0,
    z=0.0,
    vz=0.0,
    dz=0.0,
    bw=23.0,
    bh=23.0,
    tail=0.0,
    user=False,
    span=(-1.0, 1e9),
) -> dict:
    """One cell of the population (a row of :class:`Population`); draws its beat phase.

    ``(x_px, y_px)`` is where the head is in frame 0: the average path is off by the oscillation.
    """
    phase = rng.uniform(0, 2 * np.pi)
    lat = amp * np.sin(phase)
    return dict(
        kind=kind, cls=cls, who=who, x0_um=x_px * um + lat * np.sin(theta), y0_um=y_px * um - lat * np.cos(theta),
        theta0=theta, speed=speed, amplitude=amp, frequency=freq, phase=phase, curvature=curv, rot_diffusion=dr,
        speed_fluct=fluct, trans_diffusion=dt, z0=z, vz=vz, z_diffusion=dz, box_w=bw, box_h=bh, tail_px=tail, user=user,
        present_from=float(span[0]), present_to=float(span[1]),
    )  # fmt: skip


def _sperm_rows(
    rng: np.random.Generator,
    n_in: int,
    n_total: int,
    mix: np.ndarray,
    um: float,
    image_size: tuple[int, int],
    motion: MotionParams,
    scene: SceneParams,
) -> list[dict]:
    """The random sperm: the first ``n_in`` start labelled (in the image, in focus), the others elsewhere in the field."""
    w, h = image_size
    m = scene.margin_px
    rows: list[dict] = []
    for i in range(n_total):
        who = int(rng.choice(4, p=mix))
        side = _box_side(rng, scene.sperm_box_px)
        if rng.random() < scene.sperm_large_fraction:
            side = rng.uniform(*scene.sperm_box_large_px)
        bw = side * np.exp(rng.normal(0, 0.06))
        bh = side * np.exp(rng.normal(0, 0.06))
        if i < n_in:  # starts labelled: inside the image, in focus
            x = rng.uniform(0.3 * bw, w - 0.3 * bw)
            y = rng.uniform(0.3 * bh, h - 0.3 * bh)
            z = rng.uniform(-motion.focus_label_um, motion.focus_label_um) * 0.97
        else:  # anywhere else in the field
            while True:
                x = rng.uniform(-m, w + m)
                y = rng.uniform(-m, h + m)
                z = rng.uniform(-motion.slab_half_um, motion.slab_half_um)
                # outside the labelled region (a box is labelled while >= 35 % of it is visible)
                if not (-0.2 * bw <= x < w + 0.2 * bw and -0.2 * bh <= y < h + 0.2 * bh and abs(z) <= motion.focus_label_um):
                    break
        tail = rng.uniform(*scene.tail_px)
        theta = rng.uniform(-np.pi, np.pi)
        if who == IMMOTILE:
            dt = rng.uniform(*motion.immotile_diffusion_um2_s)
            rows.append(
                _cell_row(rng, um, KIND_SPERM, SPERM, who, x, y, theta, dr=0.005, dt=dt, z=z, dz=0.0, bw=bw, bh=bh, tail=tail)
            )
        else:
            speed, amp, freq, curv, dr = _sample_motile(rng, who, motion)
            vz = rng.normal(0.0, motion.vertical_speed_um_s)
            rows.append(_cell_row(rng, um, KIND_SPERM, SPERM, who, x, y, theta, speed, amp, freq, curv, dr, motion.speed_fluctuation,
                                  0.0, z, vz, motion.vertical_diffusion_um2_s, bw, bh, tail))  # fmt: skip
    return rows


def _pinhead_rows(
    rng: np.random.Generator,
    pinheads: float,
    num_frames: int | None,
    um: float,
    image_size: tuple[int, int],
    motion: MotionParams,
    scene: SceneParams,
) -> list[dict]:
    """Small-or-pinhead objects (class 2): pinhead sperm that twitch, circle or lie still, and small round cells."""
    w, h = image_size
    rows: list[dict] = []
    for span in object_spans(rng, pinheads, num_frames, scene.object_group_p):
        side = _box_side(rng, scene.pinhead_box_px)
        x, y = rng.uniform(0.5 * side, w - 0.5 * side), rng.uniform(0.5 * side, h - 0.5 * side)
        z = rng.uniform(-0.8, 0.8) * motion.focus_label_um
        theta = rng.uniform(-np.pi, np.pi)
        if rng.random() < scene.pinhead_motile_fraction:
            # pinhead sperm twitch or circle in place (or lie still): VISEM's pinhead counts are steps
            who = int(rng.choice((NONPROG, IMMOTILE), p=(0.6, 0.4)))
            tail = rng.uniform(*scene.tail_px) * 0.8
            if who == IMMOTILE:
                rows.append(_cell_row(rng, um, KIND_PINHEAD_SPERM, PINHEAD, who, x, y, theta, dt=0.05, z=z, bw=side, bh=side,
                                      tail=tail, span=span))  # fmt: skip
            else:
                speed, amp, freq, curv, dr = _sample_motile(rng, who, motion)
                rows.append(_cell_row(rng, um, KIND_PINHEAD_SPERM, PINHEAD, who, x, y, theta, speed, amp, freq, curv, dr,
                                      motion.speed_fluctuation, z=z, bw=side, bh=side, tail=tail, span=span))  # fmt: skip
        else:
            rows.append(_cell_row(rng, um, KIND_ROUND_CELL, PINHEAD, IMMOTILE, x, y, theta, dr=0.01, dt=0.05, z=z, bw=side,
                                  bh=side * np.exp(rng.normal(0, 0.05)), span=span))  # fmt: skip
    return rows


def _cluster_rows(
    rng: np.random.Generator,
    clusters: float,
    num_frames: int | None,
    um: float,
    image_size: tuple[int, int],
    motion: MotionParams,
    scene: SceneParams,
) -> list[dict]:
    """Clusters (class 1): slowly drifting, nearly still groups of cells."""
    w, h = image_size
    rows: list[dict] = []
    for span in object_spans(rng, clusters, num_frames, scene.object_group_p):
        bw = _box_side(rng, scene.cluster_w_px)
        bh = _box_side(rng, scene.cluster_h_px)
        x, y = rng.uniform(0.5 * bw, w - 0.5 * bw), rng.uniform(0.5 * bh, h - 0.5 * bh)
        z = rng.uniform(-0.6, 0.6) * motion.focus_label_um
        rows.append(
            _cell_row(rng, um, KIND_CLUSTER, CLUSTER, IMMOTILE, x, y, 0.0, dr=0.0004, dt=0.02, z=z, bw=bw, bh=bh, span=span)
        )
    return rows


def _swimmer_row(s: Swimmer, um: float, scene: SceneParams) -> dict:
    """The row of a cell with given parameters (no random draw)."""
    who = WHO_CLASSES.index(s.who_class) if s.who_class else who_class_of(
        s.speed_um_s, s.curvature_per_um, s.lateral_amplitude_um, s.beat_frequency_hz
    )  # fmt: skip
    kind = KIND_PINHEAD_SPERM if s.cls == PINHEAD else KIND_SPERM
    theta = np.deg2rad(s.heading_deg)
    box = float(scene.sperm_box_px[0]) if s.box_px is None else float(s.box_px)
    row = dict(
        kind=kind, cls=int(s.cls), who=who, x0_um=0.0, y0_um=0.0, theta0=theta, speed=s.speed_um_s,
        amplitude=s.lateral_amplitude_um, frequency=s.beat_frequency_hz, phase=s.phase_rad,
        curvature=s.curvature_per_um, rot_diffusion=s.rotational_diffusion, speed_fluct=0.0, trans_diffusion=0.0,
        z0=s.z_um, vz=0.0, z_diffusion=0.0, box_w=box, box_h=box,
        tail_px=float(np.mean(scene.tail_px)), user=True, present_from=-1.0, present_to=1e9,
    )  # fmt: skip
    # the given position is the head's: move the average path back by the lateral offset
    lat = s.lateral_amplitude_um * np.sin(s.phase_rad)
    row["x0_um"] = s.x_px * um + lat * np.sin(theta)
    row["y0_um"] = s.y_px * um - lat * np.cos(theta)
    return row


def object_spans(
    rng: np.random.Generator, mean: float, num_frames: int | None, group_p: tuple = (0.55, 0.35, 0.10)
) -> list[tuple[float, float]]:
    """Frames ``[from, to)`` in view of each cluster or small-or-pinhead object of a video.

    VISEM's counts of these objects are steps: constant for long stretches, changing 0-7
    times per video, often by 2 at once (``sperm_counts_per_frame.csv``). ``floor(mean)``
    objects are in view all along; the rest of the mean is a *group* of ``g`` objects (``g``
    = 1, 2, 3 with probabilities ``group_p``; the group may take one of the permanent objects
    with it) in view together for a fraction ``φ`` of the video, at its start, its end (40 %
    each) or in its middle, so that the mean count is ``mean`` exactly. An integer ``mean``
    gives a constant count. Spans are ``(-1, 1e9)`` for "all along".

    >>> object_spans(np.random.default_rng(0), 2.0, 100)
    [(-1.0, 1000000000.0), (-1.0, 1000000000.0)]
    >>> sp = object_spans(np.random.default_rng(1), 0.5, 100)
    >>> round(sum(min(b, 100) - max(a, 0) for a, b in sp) / 100, 2)
    0.5
    """
    mean = max(0.0, float(mean))
    full = int(np.floor(mean + 1e-9))
    rest = mean - full
    always = (-1.0, 1e9)
    if rest < 0.005 or not num_frames:
        n = full + int(rest >= 0.5) if not num_frames else full
        return [always] * n
    f = int(num_frames)
    p = np.asarray(group_p, float)
    g = int(rng.choice(len(p), p=p / p.sum())) + 1
    take = 1 if (full >= 1 and g >= 2 and rng.random() < 0.5) else 0  # the group takes a permanent one along
    mass = rest + take
    g = max(g, int(np.ceil(mass - 1e-9)))
    phi = mass / g
    length = max(1, int(round(phi * f)))
    u = rng.random()
    if u < 0.4:
        span = (-1.0, float(length))
    elif u < 0.8:
        span = (float(f - length), 1e9)
    else:
        start = int(rng.integers(0, max(f - length, 0) + 1))
        span = (float(start), float(start + length))
    return [always] * (full - take) + [span] * g


def _population_from_rows(rows: list[dict]) -> Population:
    dtypes = {"kind": np.int8, "cls": np.int16, "who": np.int8, "user": bool}
    cols = {}
    for name in Population.__dataclass_fields__:
        dt = dtypes.get(name, np.float64)
        cols[name] = np.array([r[name] for r in rows], dtype=dt) if rows else np.zeros(0, dt)
    return Population(**cols)


def _stochastic_round(rng: np.random.Generator, value: float) -> int:
    value = max(0.0, float(value))
    base = int(np.floor(value))
    return base + int(rng.random() < value - base)


# ---------------------------------------------------------------------------- integration
def integrate(
    pop: Population,
    rng: np.random.Generator,
    *,
    num_frames: int,
    calibration: Calibration,
    image_size: tuple[int, int],
    motion: MotionParams,
    margin_px: float,
    drift_um_s: np.ndarray | None = None,
) -> Motion:
    """Integrate the average paths and add the head oscillation; all cells at once (vectorised).

    Euler steps of one frame: heading ``θ += κ·v·dt + sqrt(2·D_r·dt)·N(0,1)``, average path
    ``p += v·(cos θ, sin θ)·dt + drift·dt + sqrt(2·D_t·dt)·N(0,1)``, head
    ``p + A·sin(2π·f·t + φ)·(−sin θ, cos θ)``. The speed fluctuates as an Ornstein-Uhlenbeck
    process around its mean. Depth ``z`` moves at ``vz`` with diffusion, reflected at the slab.
    Returns pixels (``calibration.um_per_px``) and frames.
    """
    n, f = pop.n, int(num_frames)
    dt = calibration.dt
    um = calibration.um_per_px
    w, h = image_size
    t = np.arange(f) * dt
    if drift_um_s is None:
        drift_um_s = np.zeros((f, 2))
    # speed: mean * (1 + sigma * OU)
    tau = max(motion.speed_correlation_s, dt)
    a = np.exp(-dt / tau)
    ou = lfilter([np.sqrt(1 - a * a)], [1, -a], rng.standard_normal((n, f)), axis=1)
    speed = pop.speed[:, None] * np.clip(1.0 + pop.speed_fluct[:, None] * ou, 0.0, None)
    # heading
    dtheta = pop.curvature[:, None] * speed * dt + np.sqrt(2 * pop.rot_diffusion * dt)[:, None] * rng.standard_normal((n, f))
    dtheta[:, 0] = 0.0
    theta = pop.theta0[:, None] + np.cumsum(dtheta, axis=1)
    # average path (unwrapped), µm
    bro = np.sqrt(2 * pop.trans_diffusion * dt)[:, None]
    # step k (frame k-1 -> k) follows the arc of the heading change: chord at the mean heading,
    # of length v dt sinc(dθ/2), which is exact for a circle of constant speed
    half = 0.5 * dtheta
    mid = theta - half
    step = np.empty_like(speed)
    step[:, 0] = 0.0
    step[:, 1:] = speed[:, :-1] * dt * np.sinc(half[:, 1:] / np.pi)
    dx = step * np.cos(mid) + drift_um_s[None, :, 0] * dt + bro * rng.standard_normal((n, f))
    dy = step * np.sin(mid) + drift_um_s[None, :, 1] * dt + bro * rng.standard_normal((n, f))
    dx[:, 0] = 0.0
    dy[:, 0] = 0.0
    ax = pop.x0_um[:, None] + np.cumsum(dx, axis=1)
    ay = pop.y0_um[:, None] + np.cumsum(dy, axis=1)
    # periodic field
    lo_x, lo_y = -margin_px * um, -margin_px * um
    lx, ly = (w + 2 * margin_px) * um, (h + 2 * margin_px) * um
    kx = np.floor((ax - lo_x) / lx)
    ky = np.floor((ay - lo_y) / ly)
    user = pop.user[:, None]
    kx = np.where(user, 0.0, kx)  # given swimmers are not wrapped: they leave and stay away
    ky = np.where(user, 0.0, ky)
    ax = ax - kx * lx
    ay = ay - ky * ly
    code = kx * 100_003 + ky
    segment = np.zeros((n, f), np.int32)
    if f > 1:
        segment[:, 1:] = np.cumsum(code[:, 1:] != code[:, :-1], axis=1)
    # head oscillation
    psi = 2 * np.pi * pop.frequency[:, None] * t[None, :] + pop.phase[:, None]
    lat = pop.amplitude[:, None] * np.sin(psi)
    hx = ax - lat * np.sin(theta)
    hy = ay + lat * np.cos(theta)
    # depth: drift + diffusion, reflected into [-Z, Z]
    zz = motion.slab_half_um
    dz = pop.vz[:, None] * dt + np.sqrt(2 * pop.z_diffusion * dt)[:, None] * rng.standard_normal((n, f))
    dz[:, 0] = 0.0
    z = _reflect(pop.z0[:, None] + np.cumsum(dz, axis=1), zz)
    # clusters and pinheads in view for part of the video only: they move 3.5 µm away from the
    # focal plane (past where anything is drawn) in OBJECT_FADE_S, timed so that they cross the
    # labelling depth at the border of their span (the mean count is then the requested one)
    part = np.flatnonzero((pop.present_from > 0) | (pop.present_to < f))
    if part.size:
        fr = np.arange(f, dtype=np.float64)[None, :]
        # signed distance outside the span, frames (<= 0 inside; 0.5 at the border)
        outside = np.maximum(pop.present_from[part, None] - fr, fr - (pop.present_to[part, None] - 1.0)) - 0.5
        rate = 3.5 / max(1.0, OBJECT_FADE_S / dt)  # µm per frame
        limit = motion.focus_label_um + 0.5 * motion.focus_hysteresis_um
        lead = np.clip(limit - np.abs(pop.z0[part]), 0.0, 3.5)[:, None] / rate  # frames before the border
        push = np.clip((outside + lead) * rate, 0.0, 3.5)
        side = np.where(pop.z0[part] >= 0, 1.0, -1.0)[:, None]
        z[part] = z[part] + side * push
    return Motion(
        population=pop,
        x=(hx / um).astype(np.float64),
        y=(hy / um).astype(np.float64),
        ax=ax / um,
        ay=ay / um,
        theta=theta,
        psi=psi,
        z=z,
        segment=segment,
        drift_um_s=np.asarray(drift_um_s, float),
        num_frames=f,
        calibration=calibration,
        image_size=(int(w), int(h)),
        margin_px=float(margin_px),
    )


def sample_drift(rng: np.random.Generator, num_frames: int, calibration: Calibration, motion: MotionParams) -> np.ndarray:
    """Flow of the sample, µm/s, shape ``(num_frames, 2)``: a log-uniform speed in ``drift_um_s``
    with a slowly wandering direction (rotational diffusion 0.02 rad²/s)."""
    lo, hi = motion.drift_um_s
    mag = 0.0 if hi <= 0 else float(_loguniform(rng, max(lo, 1e-3), hi))
    ang = rng.uniform(-np.pi, np.pi) + np.cumsum(np.sqrt(2 * 0.02 * calibration.dt) * rng.standard_normal(num_frames))
    return np.stack([mag * np.cos(ang), mag * np.sin(ang)], axis=1)


def _reflect(z: np.ndarray, half: float) -> np.ndarray:
    """Fold values into ``[-half, half]`` by reflection at both ends."""
    period = 4 * half
    u = np.mod(z + half, period)
    return np.where(u <= 2 * half, u, period - u) - half
