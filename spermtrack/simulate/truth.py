"""Ground truth of a simulated video: labelled boxes, true head centres, per-track truth.

Labelling follows VISEM-Tracking's annotation: one box around the head (and its halo) of
every visible cell, in three classes. A cell is **labelled** in a frame when

* it is in focus: its distance to the focal plane is at most ``focus_label_um`` (its head
  contrast is then at least half the in-focus contrast; beyond that it fades into an unlabelled
  blur), and
* at least ``min_visible_fraction`` (35 %) of its box width and height lie inside the image
  (boxes are clipped to the image, as VISEM's are), and the clipped box is at least 2 px wide;
* with hysteresis: once labelled it stays so until it is ``focus_hysteresis_um`` farther
  from the focal plane or less than ``keep_visible_fraction`` (20 %) of its box is inside.

Boxes carry a small annotation noise (a constant offset per track and a smooth per-frame jitter,
sub-pixel to one pixel) and have integer pixel corners like Labelbox boxes; the *true* head
centre of every cell is in :attr:`Truth.heads`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from ..boxes import Boxes
from .motion import KIND_CLUSTER, KIND_NAMES, Motion, net_displacement_1s
from .params import WHO_CLASSES, MotionParams, SceneParams

_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass
class Truth:
    """Labels and truth tables of one video (see :func:`label_motion`)."""

    boxes: Boxes
    heads: pd.DataFrame
    tracks: pd.DataFrame
    track_names: dict[int, str]
    #: (n_cells, num_frames) int64 track id of each cell in each frame (-1: no identity yet)
    ids: np.ndarray
    #: (n_cells, num_frames) bool, labelled
    labelled: np.ndarray
    #: (n_cells, num_frames) float box width/height in pixels (before clipping)
    box_w: np.ndarray
    box_h: np.ndarray


def track_name(seed: int, track_id: int) -> str:
    """A Labelbox-like opaque 25-character id (``c`` + 24 base-36 characters), stable for a seed.

    >>> name = track_name(7, 3)
    >>> len(name), name[0], name == track_name(7, 3), name == track_name(7, 4)
    (25, 'c', True, False)
    """
    digest = hashlib.blake2b(f"spermtrack-sim:{seed}:{track_id}".encode(), digest_size=16).digest()
    v = int.from_bytes(digest, "big")
    out = []
    for _ in range(24):
        v, r = divmod(v, 36)
        out.append(_B36[r])
    return "c" + "".join(out)


def _hysteresis(strong: np.ndarray, weak: np.ndarray) -> np.ndarray:
    """Hysteresis in time: a frame is on when it is ``strong``, or ``weak`` right after an on frame.

    A cell starts being labelled when it is clearly visible and in focus (``strong``) and
    stays labelled while it is still visible (``weak``), so a head hovering at a threshold
    does not flicker. ``strong`` and ``weak`` are (cells, frames) bool.

    >>> _hysteresis(np.array([[0, 0, 1, 0, 0, 0, 0]], bool), np.array([[1, 1, 1, 1, 0, 1, 1]], bool)).astype(int)
    array([[0, 0, 1, 1, 0, 0, 0]])
    """
    weak = weak | strong
    n, f = weak.shape
    if weak.size == 0:
        return weak.copy()
    start = weak.copy()
    start[:, 1:] &= ~weak[:, :-1]
    run = np.cumsum(start.ravel()).reshape(n, f)  # run number (global), valid where weak
    flat = np.arange(n * f, dtype=np.int64).reshape(n, f)
    first = np.full(int(run[-1, -1]) + 2, n * f, np.int64)  # first strong frame of each run
    np.minimum.at(first, run[strong], flat[strong])
    return weak & (flat >= first[run])


def _annotator_runs(ok: np.ndarray, drawable: np.ndarray, fill_gap: int, min_run: int) -> np.ndarray:
    """Labelled frames as an annotator marks them: gaps shorter than ``fill_gap`` frames inside a
    track are filled (where a box can still be drawn) and runs shorter than ``min_run`` frames are
    dropped, so a head flickering at the border of the image or of the focal range does not
    make a string of one-frame tracks (runs touching the first or last frame are kept: they may go
    on outside the recording). ``ok`` and ``drawable`` are (cells, frames) bool."""
    out = ok.copy()
    for c in range(ok.shape[0]):
        row = out[c]
        if not row.any() or row.all():
            continue
        d = np.diff(np.concatenate(([0], row.view(np.int8), [0])))
        starts = np.flatnonzero(d == 1)
        ends = np.flatnonzero(d == -1)
        for e, s_next in zip(ends[:-1], starts[1:]):  # gaps between two runs
            if s_next - e < fill_gap and drawable[c, e:s_next].all():
                row[e:s_next] = True
        d = np.diff(np.concatenate(([0], row.view(np.int8), [0])))
        starts = np.flatnonzero(d == 1)
        ends = np.flatnonzero(d == -1)
        for s0, e0 in zip(starts, ends):
            # a short run that touches the start or the end of the video may go on outside it
            if e0 - s0 < min_run and s0 > 0 and e0 < len(row):
                row[s0:e0] = False
    return out


def label_motion(
    motion: Motion, rng: np.random.Generator, scene: SceneParams, mp: MotionParams, seed: int, label_scale: float = 1.0
) -> Truth:
    """Boxes, head table and per-track table of a :class:`~spermtrack.simulate.motion.Motion`.

    ``label_scale`` multiplies the labelled box side of every cell but the clusters
    (:attr:`~spermtrack.simulate.look.Look.label_scale`: VISEM's light look boxes each head with
    its halo); the cells are drawn at their unscaled size.
    """
    pop = motion.population
    bw, bh = _box_sizes(motion, label_scale)
    (cx1, cy1, cx2, cy2), labelled, in_view, in_focus = _annotate(motion, rng, scene, mp, bw, bh)
    present = in_view | labelled
    ids, cell_of = _track_ids(motion, present)
    boxes = _label_boxes(ids, labelled, (cx1, cy1, cx2, cy2), pop.cls)
    heads = _heads_table(motion, ids, present, in_view, in_focus, labelled)
    tracks = _tracks_table(motion, ids, cell_of, present, labelled, seed)
    names = dict(zip(tracks["track_id"].tolist(), tracks["name"].tolist()))
    return Truth(boxes=boxes, heads=heads, tracks=tracks, track_names=names, ids=ids, labelled=labelled, box_w=bw, box_h=bh)


def _box_sizes(motion: Motion, label_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Labelled box width and height (px) of every cell in every frame, (n, f) each.

    Clusters turn, elongated heads widen along their axis, and the other cells' boxes are
    ``label_scale`` x their drawing box.
    """
    pop = motion.population
    f = motion.num_frames
    bw = np.repeat(pop.box_w[:, None], f, axis=1)
    bh = np.repeat(pop.box_h[:, None], f, axis=1)
    clusters = pop.kind == KIND_CLUSTER
    rot = motion.theta - pop.theta0[:, None]
    if clusters.any():
        c, s = np.abs(np.cos(rot[clusters])), np.abs(np.sin(rot[clusters]))
        a2, b2 = (0.5 * bw[clusters]) ** 2, (0.5 * bh[clusters]) ** 2
        bw[clusters] = 2 * np.sqrt(a2 * c**2 + b2 * s**2)
        bh[clusters] = 2 * np.sqrt(a2 * s**2 + b2 * c**2)
    cells = ~clusters
    if cells.any():  # an elongated head makes its box slightly wider along its axis
        c, s = np.abs(np.cos(motion.theta[cells])), np.abs(np.sin(motion.theta[cells]))
        bw[cells] *= (1 + 0.06 * (c - 2 / np.pi)) * label_scale
        bh[cells] *= (1 + 0.06 * (s - 2 / np.pi)) * label_scale
    return bw, bh


def _annotate(
    motion: Motion, rng: np.random.Generator, scene: SceneParams, mp: MotionParams, bw: np.ndarray, bh: np.ndarray
) -> tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray, np.ndarray]:
    """Boxes as an annotator draws them and when: ``((x1, y1, x2, y2) clipped, labelled, in_view, in_focus)``, (n, f) each.

    Annotation noise (a constant offset and a smooth jitter) moves the boxes; a cell is labelled
    while enough of its box is visible and its head is in focus (with hysteresis), in runs as
    an annotator marks them.
    """
    n, f = motion.population.n, motion.num_frames
    w, h = motion.image_size
    x, y = motion.x, motion.y
    # --- annotation noise: constant offset + smooth jitter (AR(1), ~5 frames)
    a = 0.8
    jit = lfilter([np.sqrt(1 - a * a)], [1, -a], rng.standard_normal((2, n, f)), axis=2) * scene.box_jitter_px
    off = rng.normal(0.0, scene.box_offset_px, (2, n, 1))
    cx = x + off[0] + jit[0]
    cy = y + off[1] + jit[1]
    x1 = np.round(cx - 0.5 * bw)
    y1 = np.round(cy - 0.5 * bh)
    x2 = x1 + np.maximum(np.round(bw), 1.0)
    y2 = y1 + np.maximum(np.round(bh), 1.0)
    cx1, cy1 = np.clip(x1, 0, w), np.clip(y1, 0, h)
    cx2, cy2 = np.clip(x2, 0, w), np.clip(y2, 0, h)
    vis_w, vis_h = cx2 - cx1, cy2 - cy1
    drawable = (vis_w >= 2) & (vis_h >= 2)
    visible = (vis_w >= scene.min_visible_fraction * (x2 - x1)) & (vis_h >= scene.min_visible_fraction * (y2 - y1)) & drawable
    keep = scene.keep_visible_fraction
    still_visible = (vis_w >= keep * (x2 - x1)) & (vis_h >= keep * (y2 - y1)) & drawable
    az = np.abs(motion.z)
    in_focus = az <= mp.focus_label_um
    still_in_focus = az <= mp.focus_label_um + mp.focus_hysteresis_um
    ok = _hysteresis(visible & in_focus, still_visible & still_in_focus)
    labelled = _annotator_runs(ok, drawable, scene.fill_gap_frames, scene.min_run_frames)
    in_view = (x >= 0) & (x < w) & (y >= 0) & (y < h)
    return (cx1, cy1, cx2, cy2), labelled, in_view, in_focus


def _track_ids(motion: Motion, present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, cell_of)``: track id per cell and frame ((n, f), -1 where absent) and the cell of each track id - 1.

    One identity per (cell, segment) that is ever present, numbered from 1 by first appearance.
    """
    n, f = motion.population.n, motion.num_frames
    seg = motion.segment.astype(np.int64)
    key = np.arange(n, dtype=np.int64)[:, None] * (int(seg.max(initial=0)) + 1) + seg
    pk = key[present]
    pf = np.broadcast_to(np.arange(f), (n, f))[present]
    uniq, first_idx = np.unique(pk, return_index=True)
    first_frame = pf[first_idx]
    order = np.lexsort((uniq, first_frame))
    new_id = np.empty(len(uniq), np.int64)
    new_id[order] = np.arange(1, len(uniq) + 1)
    ids = np.full((n, f), -1, np.int64)
    pos = np.searchsorted(uniq, key)
    pos = np.clip(pos, 0, max(len(uniq) - 1, 0))
    if len(uniq):
        hit = uniq[pos] == key
        ids[hit] = new_id[pos[hit]]
    cell_of = np.empty(len(uniq), np.int64)
    if len(uniq):
        cell_of[new_id - 1] = uniq // (int(seg.max(initial=0)) + 1)
    return ids, cell_of


def _label_boxes(ids: np.ndarray, labelled: np.ndarray, corners: tuple[np.ndarray, ...], cls: np.ndarray) -> Boxes:
    """The labels: the labelled boxes in frame-major order, then track id (pixels)."""
    cx1, cy1, cx2, cy2 = corners
    f = labelled.shape[1]
    cells_idx, frames_idx = np.nonzero(labelled.T)[::-1]  # sorted by frame, then cell
    tid = ids[cells_idx, frames_idx]
    o = np.lexsort((tid, frames_idx))
    ci, fi = cells_idx[o], frames_idx[o]
    boxes = Boxes(
        fi.astype(np.int32),
        cx1[ci, fi],
        cy1[ci, fi],
        cx2[ci, fi],
        cy2[ci, fi],
        cls=cls[ci],
        track_id=ids[ci, fi],
        num_frames=f,
    )
    return boxes


def _heads_table(
    motion: Motion, ids: np.ndarray, present: np.ndarray, in_view: np.ndarray, in_focus: np.ndarray, labelled: np.ndarray
) -> pd.DataFrame:
    """One row per cell and frame while present: true head centre (px), depth (µm), class, in view / in focus / labelled."""
    pop = motion.population
    x, y = motion.x, motion.y
    hc, hf = np.nonzero(present.T)[::-1]
    htid = ids[hc, hf]
    o = np.lexsort((htid, hf))
    hc, hf = hc[o], hf[o]
    heads = pd.DataFrame(
        {
            "frame": hf.astype(np.int32),
            "track_id": ids[hc, hf],
            "x_px": x[hc, hf],
            "y_px": y[hc, hf],
            "z_um": motion.z[hc, hf],
            "cls": pop.cls[hc].astype(np.int16),
            "in_view": in_view[hc, hf],
            "in_focus": in_focus[hc, hf],
            "labelled": labelled[hc, hf],
        }
    )
    return heads


def _tracks_table(
    motion: Motion, ids: np.ndarray, cell_of: np.ndarray, present: np.ndarray, labelled: np.ndarray, seed: int
) -> pd.DataFrame:
    """One row per track: the cell's model parameters (µm, s, Hz), box size, first/last frame present and labelled."""
    pop = motion.population
    n, f = pop.n, motion.num_frames
    pf = np.broadcast_to(np.arange(f), (n, f))[present]
    n_tracks = len(cell_of)
    tids = np.arange(1, n_tracks + 1, dtype=np.int64)
    ffirst = np.full(n_tracks, -1, np.int64)
    flast = np.full(n_tracks, -1, np.int64)
    lfirst = np.full(n_tracks, -1, np.int64)
    llast = np.full(n_tracks, -1, np.int64)
    nlab = np.zeros(n_tracks, np.int64)
    if n_tracks:
        pid = ids[present]
        ffirst[:] = f
        np.minimum.at(ffirst, pid - 1, pf)
        np.maximum.at(flast, pid - 1, pf)
        lid = ids[labelled]
        lfr = np.broadcast_to(np.arange(f), (n, f))[labelled]
        lfirst[:] = f
        np.minimum.at(lfirst, lid - 1, lfr)
        np.maximum.at(llast, lid - 1, lfr)
        np.add.at(nlab, lid - 1, 1)
        lfirst[nlab == 0] = -1
    um = motion.calibration.um_per_px
    ci = cell_of
    curv = pop.curvature[ci]
    tracks = pd.DataFrame(
        {
            "track_id": tids,
            "name": [track_name(seed, int(t)) for t in tids],
            "cell": ci,
            "cls": pop.cls[ci].astype(np.int16),
            "kind": [KIND_NAMES[k] for k in pop.kind[ci]],
            "who_class": [WHO_CLASSES[k] for k in pop.who[ci]],
            "speed_um_s": pop.speed[ci],
            "lateral_amplitude_um": pop.amplitude[ci],
            "alh_peak_to_peak_um": 2 * pop.amplitude[ci],
            "beat_frequency_hz": pop.frequency[ci],
            "curvature_per_um": curv,
            "radius_um": np.where(np.abs(curv) > 0, 1.0 / np.where(curv == 0, 1.0, np.abs(curv)), np.inf),
            "net_displacement_1s_um": [net_displacement_1s(v, k) for v, k in zip(pop.speed[ci], curv)],
            "rotational_diffusion_rad2_s": pop.rot_diffusion[ci],
            "translational_diffusion_um2_s": pop.trans_diffusion[ci],
            "vertical_speed_um_s": pop.vz[ci],
            "box_w_px": pop.box_w[ci],
            "box_h_px": pop.box_h[ci],
            "tail_px": pop.tail_px[ci],
            "first_frame": ffirst,
            "last_frame": flast,
            "first_labelled": lfirst,
            "last_labelled": llast,
            "n_labelled": nlab,
            "user": pop.user[ci],
        }
    )
    tracks.attrs["um_per_px"] = um
    tracks.attrs["fps"] = motion.calibration.fps
    return tracks
