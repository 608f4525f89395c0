"""``simulate_video``: one synthetic VISEM-like video with exact ground truth."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from .._version import __version__
from ..boxes import Boxes
from ..calibration import Calibration
from ..errors import LowImageRateWarning, ParameterError
from ..jsonutil import to_jsonable
from .look import LOOKS, VISEM_HEAD_PX, Look, random_look, sample_look
from .motion import Motion, Population, Swimmer, integrate, sample_drift, sample_population
from .params import (
    VISEM_VIDEOS,
    WHO_CLASSES,
    MotionParams,
    SceneParams,
    sample_motility_mix,
    visem_video,
)
from .scene import Renderer
from .timing import HeldRenderer, boxes_shown, check_hold, heads_shown, hold_schedule
from .truth import Truth, label_motion

#: Probability that a video of look "mixed" is "bright" (2 of the 8 clean reference frames, 3
#: of the 12 annotated ones, have VISEM's light background).
P_BRIGHT = 0.3
#: Frame sizes (width, height) drawn by ``look="random"`` when no ``image_size`` is given, and
#: their probabilities: VISEM's 640x480 and sizes of other labs' cameras.
RANDOM_SIZES = {(640, 480): 0.3, (640, 384): 0.2, (698, 528): 0.2, (720, 576): 0.2, (1280, 1024): 0.1}
#: Range of the box side of sperm heads drawn by ``look="random"`` (log-uniform), px.
RANDOM_HEAD_PX = (8.0, 35.0)
#: µm per pixel at VISEM's magnification (head box side 23 px): the default calibration.
VISEM_UM_PER_PX = 0.25
#: Physical box side of a sperm head, µm: ``head_px = HEAD_BOX_UM / um_per_px``.
HEAD_BOX_UM = VISEM_HEAD_PX * VISEM_UM_PER_PX
#: Look names :func:`simulate_video` takes.
LOOK_CHOICES = (*LOOKS, "mixed", "random")


@dataclass
class SimulatedVideo:
    """A simulated video: lazily rendered frames and exact ground truth.

    Attributes
    ----------
    boxes : Boxes
        The labels, as VISEM annotates them: one box per visible, in-focus head; integer
        track ids (>= 1), classes 0 sperm, 1 cluster, 2 small-or-pinhead; pixels.
    heads : pandas.DataFrame
        One row per cell and frame while its head is in the image or it is labelled:
        ``frame, track_id, x_px, y_px`` (true head centre, pixels), ``z_um`` (distance to the
        focal plane, µm), ``cls``, ``in_view, in_focus, labelled`` (bool).
    tracks_truth : pandas.DataFrame
        One row per track: class, kind, true WHO class, the motion model's parameters (µm,
        s, Hz; see :mod:`spermtrack.simulate.motion`) and the true CASA values of
        :func:`spermtrack.kinematics.casa` on the noise-free head path over the frames where
        the track is labelled (columns ``vcl, vsl, vap, lin, str, wob, alh_mean, alh_max,
        bcf, mad, vprog, motility``; CASA's ALH is peak-to-peak, ``≈ 2 ·
        lateral_amplitude_um``, its BCF counts both crossings, ``≈ 2 · beat_frequency_hz``).
    calibration : Calibration
        µm per pixel and frames per second of the motion model.
    track_names : dict
        Track id -> Labelbox-like string id (for ``labels_ftid``).
    look : Look
        The appearance parameters (family ``look.name``, camera ``look.camera``).
    head_px : float
        Mean box side of a sperm head at this magnification, px (VISEM: 23).
    params : dict
        Every parameter needed to reproduce the video (JSON-ready).
    """

    seed: int
    num_frames: int
    calibration: Calibration
    image_size: tuple[int, int]
    boxes: Boxes
    heads: pd.DataFrame
    track_names: dict[int, str]
    look: Look
    params: dict
    motion: Motion = field(repr=False)
    truth: Truth = field(repr=False)
    renderer: Renderer = field(repr=False)
    _tracks_truth: pd.DataFrame | None = field(default=None, repr=False)
    head_px: float = VISEM_HEAD_PX
    shown: np.ndarray | None = field(default=None, repr=False)

    @property
    def true_times(self) -> np.ndarray:
        """True time of each frame, seconds from the first (float64): ``shown / fps``.

        Without ``hold_frames`` every frame is new: ``arange(num_frames) / fps``. With it, a
        repeated frame has the time of the image it repeats.
        """
        shown = np.arange(self.num_frames) if self.shown is None else self.shown
        return shown.astype(np.float64) / self.fps

    @property
    def frame_times(self):
        """The true time base as a :class:`spermtrack.timebase.FrameTimes` (source "given")."""
        from ..timebase import FrameTimes

        return FrameTimes.from_timestamps(self.true_times, fps=self.fps, source="given")

    @property
    def fps(self) -> float:
        """Frames per second."""
        return self.calibration.fps

    @property
    def tracks_truth(self) -> pd.DataFrame:
        """Per-track truth with the true CASA values (computed on first access)."""
        if self._tracks_truth is None:
            self._tracks_truth = _with_casa(self.truth, self.motion, self.calibration)
        return self._tracks_truth

    def frame(self, i: int) -> np.ndarray:
        """Frame ``i`` (0-based) as a new (H, W, 3) uint8 BGR array."""
        return self.renderer.render(int(i))

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:
        """Yield frames ``start .. stop-1`` (default all), rendered one at a time.

        Every yielded array is a new one (safe to keep); memory stays one frame. The frames
        depend only on the seed and their index, not on the order they are rendered in.
        """
        stop = self.num_frames if stop is None else min(int(stop), self.num_frames)
        for i in range(int(start), stop):
            yield self.renderer.render(i)

    def __len__(self) -> int:
        return self.num_frames

    def __repr__(self) -> str:
        return (
            f"SimulatedVideo(seed={self.seed}, num_frames={self.num_frames}, look={self.look.name!r}, "
            f"size={self.image_size[0]}x{self.image_size[1]}, head_px={self.head_px:.1f}, "
            f"boxes={len(self.boxes)}, tracks={len(self.boxes.unique_tracks())}, "
            f"mean_sperm_per_frame={self.params['realised']['mean_sperm_per_frame']:.1f})"
        )


def simulate_video(
    seed: int = 0,
    num_frames: int = 1470,
    calibration: Calibration | None = None,
    density: float | None = None,
    look: str | Look = "phase",
    *,
    clusters: float | None = None,
    pinheads: float | None = None,
    motility: Sequence[float] | Mapping[str, float] | None = None,
    like: str | None = None,
    swimmers: Sequence[Swimmer] = (),
    image_size: tuple[int, int] | None = None,
    um_per_px: float | None = None,
    head_px: float | None = None,
    motion_params: MotionParams | None = None,
    scene_params: SceneParams | None = None,
    hold_frames: tuple[int, int] | None = None,
) -> SimulatedVideo:
    """Simulate one video of swimming spermatozoa with exact ground truth.

    Parameters
    ----------
    seed : int
        Everything (cells, paths, look, every frame's noise) follows from it: the same seed
        and arguments give byte-identical labels and identical frames.
    num_frames : int
        Number of frames (VISEM: 1470, i.e. 30 s at 49 fps; 1440 or 1500 for a few videos).
    calibration : Calibration, optional
        µm per pixel and fps of the motion model; default ``Calibration(0.25, 50)``. Its µm per
        pixel moves the cells only; ``um_per_px`` or ``head_px`` set the magnification of both
        the motion and the appearance.
    density : float, optional
        Mean number of labelled sperm per frame (VISEM: 2-62). Default: the counts of a
        randomly chosen real VISEM video (with its cluster and pinhead counts), +-15 %, times
        the field of view's area relative to VISEM's (frame area / 640x480 / scale², within
        0.25-3), so a low magnification shows more cells.
    look : str or Look
        "phase" (VISEM's phase contrast: bright heads, dark grey-brown background), "bright"
        (VISEM's light look: dark-cored heads in white halos on lavender), "brightfield" (dark
        heads, weak or no halo, faint tails, on light grey), "negative-phase" (dark heads in a
        bright halo rim on mid grey), "mixed" (VISEM's two: bright with probability 0.3) or
        "random": a family drawn with :data:`~spermtrack.simulate.look.RANDOM_LOOK_P`, every
        look parameter and a random camera (tone curve, colour cast or grey, resampling,
        H.264), more distractors (``Look.particles_factor``, ``round_cells_factor``), and, unless given, the frame
        size (:data:`RANDOM_SIZES`) and the head size (:data:`RANDOM_HEAD_PX`). A :class:`Look` is used as it is (to re-render a video).
    clusters, pinheads : float, optional
        Mean cluster and small-or-pinhead boxes per frame (default: from the same real video).
    motility : 4 fractions or dict, optional
        Mix of WHO classes (rapid, slow, non-progressive, immotile) among the sperm in focus
        (the labelled ones). Default: a donor's sample mix drawn around
        :data:`~spermtrack.simulate.params.DEFAULT_MOTILITY_MIX`, with progressive cells
        made rarer in focus by a per-video ratio
        (:func:`~spermtrack.simulate.params.sample_motility_mix`).
    like : str, optional
        A real VISEM video id ("11" .. "82"): take its per-frame counts (sperm, clusters,
        pinheads) instead of a random one's. Explicit arguments win.
    swimmers : sequence of Swimmer
        Cells with given parameters, in addition to the random ones (use ``density=0`` for
        only them).
    image_size : (int, int), optional
        ``(width, height)`` in px; default 640x480 (VISEM), with ``look="random"`` a drawn one.
    um_per_px : float, optional
        Magnification, µm per pixel: sets the calibration's µm per pixel and the appearance's
        scale so that a head's box side is ``5.75 µm / um_per_px`` px (0.25: VISEM, 23 px).
    head_px : float, optional
        Magnification as the mean box side of a sperm head, px (VISEM 23; real microscopes
        ~8-35; VISEM's light look labels each head with its halo, 1.25x that:
        :data:`~spermtrack.simulate.look.LIGHT_LOOK_LABEL_SCALE`). Boxes, heads, tails, debris
        and blur scale with ``head_px / 23``; without ``um_per_px`` the calibration becomes
        ``5.75 µm / head_px`` per pixel. With both, the two are used as given (appearance from
        ``head_px``, motion from ``um_per_px``).
    motion_params, scene_params : optional
        Model parameters (defaults: :class:`MotionParams`, :class:`SceneParams`).
    hold_frames : (int, int), optional
        Repeated frames, as many real recordings have them (a camera slower than its
        container's rate, a frame-rate conversion): each image is shown for ``lo`` to ``hi``
        consecutive frames (uniform, seeded; :mod:`spermtrack.simulate.timing`), e.g. ``(2, 4)``.
        Labels and head positions repeat with the images; :attr:`SimulatedVideo.true_times`
        (also ``truth/frame_times.csv``) holds each frame's true time. Default: every frame new.

    Returns
    -------
    SimulatedVideo

    Examples
    --------
    >>> v = simulate_video(seed=1, num_frames=20, density=10)
    >>> v.boxes.num_frames, int(v.boxes.counts_per_frame()[0] >= 10), v.frame(0).shape
    (20, 1, (480, 640, 3))
    """
    seed = int(seed)
    num_frames = int(num_frames)
    calibration = _checked_request(num_frames, calibration, look)
    mp = motion_params or MotionParams()
    sp = scene_params or SceneParams()
    ss = np.random.SeedSequence(seed)
    # the sixth stream (look="random") was added later: the first five are as before
    r_scene, r_pop, r_int, r_lab, r_render, r_look = (np.random.default_rng(s) for s in ss.spawn(6))
    is_random = isinstance(look, str) and look == "random"
    image_size, scale, calibration = _magnification(r_look, is_random, image_size, head_px, um_per_px, calibration)
    # field of view relative to VISEM's (area), for the default counts of cells and debris
    fov = image_size[0] * image_size[1] / (640.0 * 480.0) / scale**2
    if scale != 1.0 or fov != 1.0:
        sp = sp.scaled(scale, float(np.clip(fov, 0.3, 4.0)))
    content = _content(r_scene, like, density, clusters, pinheads, motility, look, fov, mp, sp)
    look_obj = _make_look(look, content.look_name, is_random, r_scene, r_look, image_size)
    counts = _with_look_distractors(content.counts, look_obj)

    # ---------------- motion, labels, frames
    pop = sample_population(
        r_pop,
        density=content.density,
        clusters=content.clusters,
        pinheads=content.pinheads,
        motility_mix=content.mix,
        calibration=calibration,
        image_size=image_size,
        motion=mp,
        scene=sp,
        swimmers=list(swimmers),
        num_frames=num_frames,
    )
    drift = sample_drift(r_int, num_frames, calibration, mp)
    motion = integrate(
        pop, r_int, num_frames=num_frames, calibration=calibration, image_size=image_size, motion=mp, margin_px=sp.margin_px,
        drift_um_s=drift,
    )  # fmt: skip
    truth = label_motion(motion, r_lab, sp, mp, seed, label_scale=look_obj.label_scale)
    renderer = Renderer(motion, look_obj, r_render, seed, counts, scale=scale)
    params = _video_params(
        seed, num_frames, calibration, image_size, content, look, look_obj, scale, counts, drift, mp, sp, swimmers, pop, truth
    )
    boxes, heads, shown, hold = truth.boxes, truth.heads, None, check_hold(hold_frames)
    if hold is not None:
        shown = hold_schedule(num_frames, hold, seed)
        boxes, heads = boxes_shown(boxes, shown), heads_shown(heads, num_frames, shown)
        renderer = HeldRenderer(renderer, shown)
        params["hold_frames"] = list(hold)
        params["realised"]["distinct_frames"] = int(len(np.unique(shown)))
    return SimulatedVideo(
        seed=seed,
        num_frames=num_frames,
        calibration=calibration,
        image_size=(int(image_size[0]), int(image_size[1])),
        boxes=boxes,
        heads=heads,
        track_names=truth.track_names,
        look=look_obj,
        params=params,
        motion=motion,
        truth=truth,
        renderer=renderer,
        head_px=VISEM_HEAD_PX * scale,
        shown=shown,
    )


def _checked_request(num_frames: int, calibration: Calibration | None, look) -> Calibration:
    """The calibration of the motion model (default VISEM's) after checking the length, calibration and look asked for."""
    if num_frames < 1:
        raise ParameterError(f"num_frames must be >= 1, got {num_frames}")
    calibration = Calibration(VISEM_UM_PER_PX, 50.0) if calibration is None else calibration
    if not isinstance(calibration, Calibration) or not calibration.calibrated:
        raise ParameterError("simulate_video needs a Calibration with um_per_px (the motion model is in µm)")
    if not isinstance(look, Look) and look not in LOOK_CHOICES:
        raise ParameterError(f"look must be one of {LOOK_CHOICES} or a Look, got {look!r}")
    return calibration


def _magnification(
    r_look: np.random.Generator,
    is_random: bool,
    image_size: tuple[int, int] | None,
    head_px: float | None,
    um_per_px: float | None,
    calibration: Calibration,
) -> tuple[tuple[int, int], float, Calibration]:
    """``(image_size, scale, calibration)``: frame size (px), scale of the appearance (``head_px / 23``) and µm per pixel.

    ``look="random"`` draws the frame size and head size that are not given (from ``r_look``).
    """
    if image_size is None:
        if is_random:
            sizes = list(RANDOM_SIZES)
            image_size = sizes[int(r_look.choice(len(sizes), p=np.array(list(RANDOM_SIZES.values()))))]
        else:
            image_size = (640, 480)
    image_size = (int(image_size[0]), int(image_size[1]))
    if min(image_size) < 16:
        raise ParameterError(f"image_size must be at least 16x16 px, got {image_size}")
    if head_px is None and um_per_px is None and is_random:
        head_px = float(np.exp(r_look.uniform(np.log(RANDOM_HEAD_PX[0]), np.log(RANDOM_HEAD_PX[1]))))
    if um_per_px is not None and not float(um_per_px) > 0:
        raise ParameterError(f"um_per_px must be > 0, got {um_per_px}")
    if head_px is not None and not 4.0 <= float(head_px) <= 120.0:
        raise ParameterError(f"head_px must be in [4, 120] px, got {head_px}")
    if head_px is not None:
        scale = float(head_px) / VISEM_HEAD_PX
    elif um_per_px is not None:
        scale = VISEM_UM_PER_PX / float(um_per_px)
    else:
        scale = 1.0
    if um_per_px is None and head_px is not None:
        um_per_px = HEAD_BOX_UM / float(head_px)
    if um_per_px is not None:
        calibration = Calibration(float(um_per_px), calibration.fps)
    return image_size, scale, calibration


class _Content(NamedTuple):
    """What is in a video: the real video its counts follow, mean counts per frame, motility, look family, scene counts."""

    row: tuple  # the VISEM video (params.VISEM_VIDEOS row) whose counts are used
    density: float  # mean labelled sperm per frame
    clusters: float  # mean cluster boxes per frame
    pinheads: float  # mean small-or-pinhead boxes per frame
    mix: np.ndarray  # WHO classes among the sperm in focus
    sample_mix: np.ndarray | None  # the donor's sample mix (drawn) or None (given)
    focal_ratio: float | None  # how much rarer progressive cells are in focus (drawn) or None
    look_name: str  # the look family ("mixed" resolved)
    counts: dict  # unlabelled objects: static_debris, moving_debris, round_cells, bright_particles, ghost_rings


def _content(
    r_scene: np.random.Generator,
    like: str | None,
    density: float | None,
    clusters: float | None,
    pinheads: float | None,
    motility,
    look,
    fov: float,
    mp: MotionParams,
    sp: SceneParams,
) -> _Content:
    """Draw what is in the video (from ``r_scene``); explicit arguments win over a real video's counts."""
    if like is not None:
        row = visem_video(str(like))
    else:
        row = VISEM_VIDEOS[int(r_scene.integers(len(VISEM_VIDEOS)))]
    jitter = 1.0 if like is not None else float(np.exp(r_scene.normal(0.0, 0.15)))
    more = float(np.clip(fov, 0.25, 3.0))
    density = float(row[2] * jitter * more) if density is None else float(density)
    clusters = float(row[4] * more) if clusters is None else float(clusters)
    pinheads = float(row[5] * more) if pinheads is None else float(pinheads)
    if density < 0 or clusters < 0 or pinheads < 0:
        raise ParameterError(f"density, clusters and pinheads must be >= 0, got {density}, {clusters}, {pinheads}")
    mix, sample_mix, focal_ratio = _motility_mix(r_scene, motility, density, mp)
    look_name = look.name if isinstance(look, Look) else look
    if look == "mixed":
        look_name = "bright" if r_scene.random() < P_BRIGHT else "phase"
    counts = {
        "static_debris": int(r_scene.integers(sp.static_debris[0], sp.static_debris[1] + 1)),
        "moving_debris": int(r_scene.integers(sp.moving_debris[0], sp.moving_debris[1] + 1)),
        "round_cells": int(r_scene.integers(sp.round_cells[0], sp.round_cells[1] + 1)),
        "bright_particles": int(r_scene.integers(sp.bright_particles[0], sp.bright_particles[1] + 1)),
        "ghost_rings": int(r_scene.integers(sp.ghost_rings[0], sp.ghost_rings[1] + 1)),
    }
    return _Content(row, density, clusters, pinheads, mix, sample_mix, focal_ratio, look_name, counts)


def _make_look(
    look, look_name: str, is_random: bool, r_scene: np.random.Generator, r_look: np.random.Generator, image_size: tuple[int, int]
) -> Look:
    """The video's :class:`Look`: the one given, a random one (``r_look``) or one of family ``look_name`` (``r_scene``)."""
    if isinstance(look, Look):
        return look
    if is_random:
        return random_look(r_look, image_size)
    return sample_look(r_scene, look_name, image_size)


def _with_look_distractors(counts: dict, look: Look) -> dict:
    """The scene counts with the look's distractors (random looks: more bright particles and round cells than VISEM's)."""
    counts = dict(counts)
    if look.particles_factor != 1.0:
        counts["bright_particles"] = int(round(counts["bright_particles"] * look.particles_factor))
    if look.round_cells_factor != 1.0:
        counts["round_cells"] = int(round(counts["round_cells"] * look.round_cells_factor))
    return counts


def _video_params(
    seed: int,
    num_frames: int,
    calibration: Calibration,
    image_size: tuple[int, int],
    content: _Content,
    look,
    look_obj: Look,
    scale: float,
    counts: dict,
    drift: np.ndarray,
    mp: MotionParams,
    sp: SceneParams,
    swimmers: Sequence[Swimmer],
    pop: Population,
    truth: Truth,
) -> dict:
    """:attr:`SimulatedVideo.params`: everything needed to reproduce the video, and what it realised (JSON-ready)."""
    cpf = np.zeros((3, num_frames), np.int64)
    np.add.at(cpf, (truth.boxes.cls.astype(np.int64), truth.boxes.frame.astype(np.int64)), 1)
    mix, sample_mix = content.mix, content.sample_mix
    return to_jsonable(
        {
            "spermtrack_version": __version__,
            "seed": seed,
            "num_frames": num_frames,
            "calibration": calibration.to_dict(),
            "image_size": list(image_size),
            "like_visem_video": content.row[0],
            "density": content.density,
            "clusters": content.clusters,
            "pinheads": content.pinheads,
            "motility_mix": dict(zip(WHO_CLASSES, [float(v) for v in mix])),
            "sample_motility_mix": None if sample_mix is None else dict(zip(WHO_CLASSES, [float(v) for v in sample_mix])),
            "focal_progressive_ratio": content.focal_ratio,
            "look": look_obj.to_dict(),
            "look_requested": look if isinstance(look, str) else "given",
            "head_px": VISEM_HEAD_PX * scale,
            "scale": scale,
            "scene_counts": counts,
            "drift_um_s_mean": drift.mean(axis=0).tolist(),
            "motion_params": mp.to_dict(),
            "scene_params": sp.to_dict(),
            "swimmers": [vars(s) for s in swimmers],
            "realised": {
                "cells": int(pop.n),
                "tracks": int(len(truth.tracks)),
                "labelled_tracks": int((truth.tracks["n_labelled"] > 0).sum()),
                "mean_sperm_per_frame": float(cpf[0].mean()),
                "mean_cluster_per_frame": float(cpf[1].mean()),
                "mean_pinhead_per_frame": float(cpf[2].mean()),
            },
        }
    )


def _motility_mix(
    rng: np.random.Generator, motility, density: float, mp: MotionParams
) -> tuple[np.ndarray, np.ndarray | None, float | None]:
    """``(mix in focus, donor's sample mix or None, focal ratio or None)``."""
    if motility is None:
        sample, focus, ratio = sample_motility_mix(
            rng, density, mp.motility_mix_mean, mp.motility_mix_concentration, mp.focal_progressive_ratio,
            mp.focal_ratio_density_exponent,
        )  # fmt: skip
        return focus, sample, ratio
    if isinstance(motility, Mapping):
        unknown = set(motility) - set(WHO_CLASSES)
        if unknown:
            raise ParameterError(f"unknown motility class(es) {sorted(unknown)}; use {WHO_CLASSES}")
        vals = np.array([float(motility.get(k, 0.0)) for k in WHO_CLASSES])
    else:
        vals = np.asarray(motility, float).reshape(-1)
        if vals.shape != (4,):
            raise ParameterError(f"motility needs 4 fractions (rapid, slow, non-progressive, immotile), got {vals.tolist()}")
    if np.any(vals < 0) or vals.sum() <= 0:
        raise ParameterError(f"motility fractions must be >= 0 with a positive sum, got {vals.tolist()}")
    return vals / vals.sum(), None, None


def truth_tracks_boxes(truth: Truth, motion: Motion) -> Boxes:
    """Boxes centred on the *true* head centres over the labelled frames (noise-free path)."""
    ci, fi = np.nonzero(truth.labelled)
    tid = truth.ids[ci, fi]
    cx, cy = motion.x[ci, fi], motion.y[ci, fi]
    hw = 0.5 * truth.box_w[ci, fi]
    hh = 0.5 * truth.box_h[ci, fi]
    return Boxes.from_unsorted(
        fi.astype(np.int32), cx - hw, cy - hh, cx + hw, cy + hh, cls=motion.population.cls[ci], track_id=tid,
        num_frames=motion.num_frames,
    )  # fmt: skip


#: CASA columns copied into the per-track truth.
CASA_TRUTH_COLUMNS = (
    "vcl",
    "vsl",
    "vap",
    "lin",
    "str",
    "wob",
    "alh_mean",
    "alh_max",
    "bcf",
    "mad",
    "vprog",
    "motility",
    "quality",
)


def _with_casa(truth: Truth, motion: Motion, calibration: Calibration) -> pd.DataFrame:
    from ..kinematics import casa

    tracks = truth.tracks.copy()
    boxes = truth_tracks_boxes(truth, motion)
    if len(boxes):
        with warnings.catch_warnings():  # the truth of a low-rate video is what that rate shows
            warnings.simplefilter("ignore", LowImageRateWarning)
            kin = casa(boxes, calibration)
        kin = kin.set_index("track_id")[list(CASA_TRUTH_COLUMNS)]
        tracks = tracks.join(kin, on="track_id")
    else:
        for c in CASA_TRUTH_COLUMNS:
            tracks[c] = np.nan
    tracks.attrs.update(truth.tracks.attrs)
    tracks.attrs["casa_units"] = {"speed": calibration.speed_unit, "length": calibration.length_unit, "frequency": "Hz"}
    return tracks
