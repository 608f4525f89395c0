"""Motion self-calibration: the tracker's length and time scales measured from the detections.

The defaults of :class:`~spermtrack.track.TrackerConfig` are in pixels and seconds,
chosen on VISEM-like videos (0.25 µm/px, 50 fps). A video at another magnification,
or whose frame rate is passed wrongly (containers often report a wrong fps), would
turn them into the wrong gates and lifetimes. :func:`measure_motion` measures instead,
from the boxes alone:

- the **head size** (median of ``sqrt(w h)`` of the boxes scoring 0.5 or more, empty ones left out, pixels): the length scale;
- the **per-frame displacement** of each detection to its nearest neighbour in the
  next frame; these split into a **still** population (below 0.15 head sizes: detection
  jitter of immotile cells, whose median gives the **measurement noise**) and a
  **moving** one (above 0.3 head sizes), whose median is the **motion scale**
  (pixels per frame).

The reference videos the defaults were tuned on show :data:`REF_HEAD_PX` pixel heads
moving :data:`REF_STEP_PX` pixels per frame (moving population) at :data:`REF_FPS`
frames per second. The median step grows like ``(1 / fps) ** STEP_EXPONENT`` (0.55,
not 1: wobble averages out at low frame rates), so a video whose cells move ``s`` head
sizes per frame looks like the reference at
``motion_fps = REF_FPS * ((REF_STEP_PX / REF_HEAD_PX) / s) ** (1 / STEP_EXPONENT)``
frames per second: the tracker converts its seconds into frames at that rate, and its
pixel settings are scaled by ``head / REF_HEAD_PX``. The same video then gives the same
tracks whatever fps is passed and whatever the magnification (the settings in frames
and head sizes do not change). Lifetimes keep a floor in frames
(``TrackerConfig.min_lost_frames``) so that a low frame rate never makes a single missed
box end a track.

Every estimate can be pinned in :class:`~spermtrack.track.TrackerConfig`
(``motion_fps``, ``length_scale``; ``self_calibrate=False`` switches it off).

The same step reads the detector's **sureness** from the boxes (:func:`sure_share`): the
share of head-sized boxes that reach ``high_score``. Below ``sure_share`` the detector is
unsure of its heads on this video (a microscope it was not trained on) and the tracker
starts tracks from ``unsure_start_score`` instead (:func:`calibrated_config`), relying on
``min_track_score`` to drop the debris tracks that lets start (docs/tracking.md, "Track
scores").
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numba
import numpy as np

from ..boxes import COLUMNS, SPERM, Boxes
from .config import check_fps
from .costs import _SHELL_GAPS

#: The reference the defaults were tuned on (simulated VISEM-like videos at 0.25 µm/px and
#: 50 fps, densities 5-65, the simulator's default motility mixes), measured with
#: :func:`measure_motion` (benchmarks/tracker_tuning.py --reference prints them).
REF_FPS = 50.0
REF_HEAD_PX = 23.7
REF_STEP_PX = 10.0

#: Displacements below this many head sizes per frame count as still, above MOVING_HEADS as moving.
STILL_HEADS, MOVING_HEADS = 0.15, 0.3
#: The moving cells' median step per frame grows like ``(1 / fps) ** STEP_EXPONENT``, not
#: like ``1 / fps``: at low frame rates the head's wobble averages out between frames and
#: slow cells join the moving population. Measured on the simulator's ground truth
#: (density 30, motile-rich, 0.25 µm/px): 20-24 px at 9 fps, 16-17 at 15, 13 at 30,
#: 10 at 50 (exponent 0.5-0.6). Nearest neighbours measure these medians within 10 %
#: (docs/tracking.md); the clock is derived with this exponent.
STEP_EXPONENT = 0.55
#: Fewest moving displacements for a motion scale (fewer: the fps passed is used).
MIN_MOVING = 20
#: A motion scale above this fraction of the spacing between cells (median nearest neighbour
#: in one frame) is unreliable: nearest neighbours no longer follow the fast cells (a low
#: frame rate in a dense field) and the step is underestimated ("saturated"). At 0.36
#: (before 5 December 2026) it flagged true 9-15 fps videos whose nearest-neighbour steps
#: were still within 10 % of the truth.
SATURATION = 0.6
#: When saturated, the fps passed is used, kept within a factor TRUST of the measured clock.
TRUST = 2.0
#: Range of the estimated motion clock (frames per second).
MOTION_FPS_RANGE = (2.0, 1000.0)


@dataclass(frozen=True)
class MotionCalibration:
    """What :func:`measure_motion` found (pixels, frames) and what the tracker made of it.

    Attributes
    ----------
    head_size_px : float or None
        Median ``sqrt(w h)`` of the boxes (pixels).
    step_px : float or None
        Median displacement per frame of the moving population (pixels per frame).
    still_noise_px : float or None
        Standard deviation of a still cell's detected centre per axis (pixels), from the
        median still displacement (``median / 1.18``, a Rayleigh median, over ``sqrt 2``).
    moving_fraction : float or None
        Share of the displacements in the moving population.
    spacing_px : float or None
        Median distance between neighbouring boxes of one frame (pixels).
    num_displacements : int
        Displacements measured.
    frames_used : int
        Frame pairs looked at.
    fps_passed : float
        The frame rate given to the tracker.
    motion_fps : float
        The clock the tracker's seconds are converted at (estimated or pinned).
    length_scale : float
        Factor applied to the pixel settings (estimated or pinned).
    source : str
        "measured", "pinned", "partly pinned", "fallback" (too few moving cells: the fps
        passed), "saturated" (cells move too far between frames for nearest neighbours,
        see :data:`SATURATION`: the fps passed, kept within a factor :data:`TRUST` of the
        measured clock) or "off".
    measured_fps : float or None
        The clock the steps alone give (frames per second, before the low-rate rule;
        None when not measured).
    track_step_px : float or None
        Offline, with ``TrackerConfig.refine_clock``: the median moving step of the first
        pass's tracks (pixels per frame), which :func:`refine_from_tracks` turned into the
        clock (None when not refined).
    first_pass_fps : float or None
        The clock of the first pass when the tracks were refined (``motion_fps`` is then the
        refined one; None when not refined).
    sure_share : float or None
        Share of the head-sized sperm boxes scoring ``TrackerConfig.high_score`` or more
        (:func:`sure_share`; None when not measured).
    start_score : float or None
        The start score (``high_score`` and ``new_track_score``) used because the share was
        below ``TrackerConfig.sure_share`` (None: the config's).
    """

    head_size_px: float | None
    step_px: float | None
    still_noise_px: float | None
    moving_fraction: float | None
    spacing_px: float | None
    num_displacements: int
    frames_used: int
    fps_passed: float
    motion_fps: float
    length_scale: float
    source: str
    measured_fps: float | None = None
    track_step_px: float | None = None
    first_pass_fps: float | None = None
    sure_share: float | None = None
    start_score: float | None = None

    def to_dict(self) -> dict:
        """JSON-ready (for ``summary.json``)."""
        return {
            k: (None if v is None else (float(v) if isinstance(v, float) else v)) for k, v in dataclasses.asdict(self).items()
        }


def displacements(boxes: Boxes, max_pairs: int = 300) -> tuple[np.ndarray, np.ndarray, int]:
    """Mutual nearest-neighbour displacements (pixels) between the boxes of consecutive frames.

    Uses up to ``max_pairs`` runs of three consecutive frames with boxes, spread over the
    video. Returns the displacements ``f -> f+1``, whether each continues smoothly into
    ``f+2`` (a mutual pair there too, whose step differs from the first by less than 0.8
    of it: a real moving cell, not a missed or a false box) and the number of runs used.
    Nearest neighbours cannot follow cells that move further than the spacing between
    cells in one frame (very low frame rates in dense fields): the motion scale is then
    underestimated (docs/tracking.md).

    The searches run in one Numba call (:func:`_mutual_steps`: per frame, boxes sorted by
    x and searched outwards from the query's x), with no distance matrix; the result equals
    a k-d tree search up to the order of exact ties.
    """
    # frames present and their row bounds (never an array over all frame numbers: they may be sparse)
    if len(boxes) == 0:
        return np.zeros(0), np.zeros(0, bool), 0
    frames, first, _ = _frame_runs(boxes.frame)
    bounds = np.append(first, len(boxes)).astype(np.int64)
    k = np.flatnonzero((frames[1:-1] == frames[:-2] + 1) & (frames[2:] == frames[:-2] + 2)) if len(frames) > 2 else []
    f = np.asarray(k, np.int64)
    if len(f) == 0:
        return np.zeros(0), np.zeros(0, bool), 0
    if len(f) > max_pairs:
        f = f[np.linspace(0, len(f) - 1, max_pairs).round().astype(np.int64)]
    cx, cy = _centres(boxes)
    dist, smooth = _mutual_steps(cx, cy, bounds, f)
    return dist, smooth, len(f)


def _frame_runs(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(frame, return_index=True, return_counts=True)``; without a sort when ``frame`` is sorted."""
    if len(frame) == 0 or np.any(frame[1:] < frame[:-1]):
        return np.unique(frame, return_index=True, return_counts=True)
    first = np.flatnonzero(np.concatenate(([True], frame[1:] != frame[:-1])))
    counts = np.diff(np.append(first, len(frame)))
    return frame[first], first, counts


def _centres(boxes: Boxes) -> tuple[np.ndarray, np.ndarray]:
    """Box centres as float64 (from the float32 ``Boxes.cx``/``cy``, as everywhere else)."""
    return np.ascontiguousarray(boxes.cx, np.float64), np.ascontiguousarray(boxes.cy, np.float64)


#: Frames with at most this many boxes are sorted by insertion (faster than the Shell sort there).
_INSERTION_MAX = 96


@numba.njit(cache=True)
def _sorted_by_x(cx, a, b):
    """Rows ``a..b-1`` ordered by x, and their x values (for :func:`_nearest_into`).

    Values and rows are moved together (no indirection): an insertion sort for small
    frames, a Shell sort (the tracker's gaps) for larger ones; ties in no particular
    order (the searches do not depend on it). NumPy's argsort costs seconds of
    compilation in Numba.
    """
    n = b - a
    rows = np.empty(n, np.int64)
    xs = np.empty(n)
    if n <= _INSERTION_MAX:
        for i in range(n):
            v = cx[a + i]
            j = i
            while j > 0 and xs[j - 1] > v:
                xs[j] = xs[j - 1]
                rows[j] = rows[j - 1]
                j -= 1
            xs[j] = v
            rows[j] = a + i
        return rows, xs
    for i in range(n):
        rows[i] = a + i
        xs[i] = cx[a + i]
    for gap in _SHELL_GAPS:
        for i in range(gap, n):
            v = xs[i]
            k = rows[i]
            j = i
            while j >= gap and xs[j - gap] > v:
                xs[j] = xs[j - gap]
                rows[j] = rows[j - gap]
                j -= gap
            xs[j] = v
            rows[j] = k
    return rows, xs


@numba.njit(cache=True)
def _nearest_into(cx, cy, qrows, qxs, q0, rows, xs, skip_self, out_i, out_d):
    """For each query row of ``qrows`` (sorted by x, ``qxs``), its nearest row among ``rows`` (sorted by x, ``xs``).

    Writes the row and the Euclidean distance (pixels) at ``out[q - q0]``. Searches outwards
    from the query's x (nearer side first) and stops where the x gap alone exceeds the best
    distance; exact ties go to the lower row. The queries come in x order, so the start of
    each search follows from the previous one (no binary search). ``skip_self`` (1): never
    the query row itself (-1 and inf when alone).
    """
    n = rows.shape[0]
    lo = 0
    for p in range(qrows.shape[0]):
        q = qrows[p]
        x, y = qxs[p], cy[q]
        while lo < n and xs[lo] < x:
            lo += 1
        best, bi = np.inf, -1
        r, l = lo, lo - 1
        while r < n or l >= 0:
            # the side whose next box is nearer in x first; stop when even that one is too far
            if l < 0 or (r < n and xs[r] - x <= x - xs[l]):
                dx = xs[r] - x
                j = rows[r]
                r += 1
            else:
                dx = x - xs[l]
                j = rows[l]
                l -= 1
            if dx * dx > best:
                break
            if skip_self == 0 or j != q:
                dy = cy[j] - y
                d2 = dx * dx + dy * dy
                if d2 < best or (d2 == best and j < bi):
                    best, bi = d2, j
        out_i[q - q0] = bi
        out_d[q - q0] = np.sqrt(best)


@numba.njit(cache=True)
def _mutual_steps(cx, cy, bounds, starts):
    """:func:`displacements` for the frame runs ``starts`` (indices into ``bounds``, the frames' row bounds).

    For each run of frames A, B, C: every box of A whose nearest box in B has it as its
    own nearest in A (mutual) gives a displacement; it is smooth when B's box and its
    nearest in C are mutual too and the second step differs from the first by less than
    0.8 of the first.
    """
    total = 0
    mw = 1
    for f in starts:
        total += bounds[f + 1] - bounds[f]
        for j in range(3):
            mw = max(mw, bounds[f + j + 1] - bounds[f + j])
    dist = np.empty(total)
    smooth = np.empty(total, np.bool_)
    ib, ia, ic, ib2 = np.empty(mw, np.int64), np.empty(mw, np.int64), np.empty(mw, np.int64), np.empty(mw, np.int64)
    no = np.int64(0)  # not a literal: one compiled copy of the callee
    d, dw = np.empty(mw), np.empty(mw)
    n = 0
    for f in starts:
        a0, b0, c0, c1 = bounds[f], bounds[f + 1], bounds[f + 2], bounds[f + 3]
        ra, xa = _sorted_by_x(cx, a0, b0)
        rb, xb = _sorted_by_x(cx, b0, c0)
        rc, xc = _sorted_by_x(cx, c0, c1)
        _nearest_into(cx, cy, ra, xa, a0, rb, xb, no, ib, d)  # A -> B
        _nearest_into(cx, cy, rb, xb, b0, ra, xa, no, ia, dw)  # B -> A
        _nearest_into(cx, cy, rb, xb, b0, rc, xc, no, ic, dw)  # B -> C
        _nearest_into(cx, cy, rc, xc, c0, rb, xb, no, ib2, dw)  # C -> B
        for a in range(a0, b0):
            b = ib[a - a0]
            if ia[b - b0] != a:
                continue
            dist[n] = d[a - a0]
            c = ic[b - b0]
            vx1, vy1 = cx[b] - cx[a], cy[b] - cy[a]
            vx2, vy2 = cx[c] - cx[b], cy[c] - cy[b]
            dv = np.hypot(vx2 - vx1, vy2 - vy1)
            smooth[n] = ib2[c - c0] == b and dv < 0.8 * dist[n]
            n += 1
    return dist[:n], smooth[:n]


@numba.njit(cache=True)
def _nearest_other(cx, cy, first, counts, sel):
    """Distance (pixels) from each box of the frames ``sel`` to its nearest other box in its frame."""
    total = 0
    mw = 1
    for g in sel:
        total += counts[g]
        mw = max(mw, counts[g])
    out = np.empty(total)
    idx = np.empty(mw, np.int64)
    yes = np.int64(1)
    n = 0
    for g in sel:
        a, b = first[g], first[g] + counts[g]
        rows, xs = _sorted_by_x(cx, a, b)
        _nearest_into(cx, cy, rows, xs, a, rows, xs, yes, idx, out[n : n + b - a])
        n += b - a
    return out


def spacing(boxes: Boxes, max_frames: int = 100) -> float | None:
    """Median distance (pixels) from a box to its nearest neighbour in the same frame."""
    if len(boxes) < 2:
        return None
    _, first, counts = _frame_runs(boxes.frame)
    sel = np.flatnonzero(counts >= 2)
    if len(sel) == 0:
        return None
    sel = sel[np.linspace(0, len(sel) - 1, min(max_frames, len(sel))).round().astype(np.int64)]
    cx, cy = _centres(boxes)
    d = _nearest_other(cx, cy, first.astype(np.int64), counts.astype(np.int64), sel.astype(np.int64))
    return float(np.median(d))


def measure_motion(boxes: Boxes, fps: float, motion_fps: float = 0.0, length_scale: float = 0.0) -> MotionCalibration:
    """Measure head size, motion scale and still noise from ``boxes`` (see the module docstring).

    ``motion_fps`` / ``length_scale`` > 0 pin those estimates (0: measure).
    """
    fps = float(fps)
    good = np.zeros(0, bool)
    if len(boxes):  # scored, finite, well-formed boxes only (the tracker reports the others)
        good = (boxes.score >= 0.5) & (boxes.x2 >= boxes.x1) & (boxes.y2 >= boxes.y1)
        for c in (boxes.x1, boxes.y1, boxes.x2, boxes.y2):
            good &= np.isfinite(c)
    b = (
        Boxes(**{c: getattr(boxes, c)[good] for c in COLUMNS}, num_frames=boxes.num_frames, validate=False)
        if len(boxes) and not good.all()
        else boxes
    )
    head = None
    area = (b.x2 - b.x1) * (b.y2 - b.y1)
    if (area > 0).any():  # an empty box (width or height 0: read, IoU 0) says nothing of the head size
        head = float(np.median(np.sqrt(np.maximum(area[area > 0], 1e-6))))
    ordered = len(b) > 0 and not np.any(np.diff(b.frame) < 0)  # unsorted rows: the tracker reports them
    d, smooth, used = displacements(b) if ordered else (np.zeros(0), np.zeros(0, bool), 0)
    step = noise = frac = None
    if head and len(d):
        still = d[d < STILL_HEADS * head]
        moving = d[(d > MOVING_HEADS * head) & smooth]
        frac = float(len(moving) / len(d))
        if len(still) >= 10:
            noise = float(np.median(still) / 1.1774 / math.sqrt(2.0))
        if len(moving) >= MIN_MOVING:
            step = float(np.median(moving))
    pinned_fps, pinned_len = motion_fps > 0, length_scale > 0
    if pinned_len:
        scale = float(length_scale)
    elif head:
        scale = head / REF_HEAD_PX
    else:
        scale = 1.0
    if pinned_fps:
        mfps = float(motion_fps)
    elif step and head:
        mfps = REF_FPS * ((REF_STEP_PX / REF_HEAD_PX) / (step / head)) ** (1.0 / STEP_EXPONENT)
        mfps = float(min(max(mfps, MOTION_FPS_RANGE[0]), MOTION_FPS_RANGE[1]))
    else:
        mfps = fps
    space = spacing(b) if step else None
    measured = mfps if (step and head and not pinned_fps) else None
    saturated = bool(step and space and not pinned_fps and step > SATURATION * space)
    if saturated:
        mfps = float(min(max(fps, mfps / TRUST), mfps * TRUST))
    if pinned_fps and pinned_len:
        source = "pinned"
    elif pinned_fps or pinned_len:
        source = "partly pinned"
    elif step is None:
        source = "fallback"
    elif saturated:
        source = "saturated"
    else:
        source = "measured"
    return MotionCalibration(head, step, noise, frac, space, int(len(d)), int(used), fps, mfps, scale, source, measured)


#: The refined clock replaces the first pass's only when it is slower by more than this fraction.
#: Slower only: nearest neighbours under-measure the steps in crowds, never over-measure them; a
#: track step below the nearest-neighbour one means the first pass lost fast cells (refining
#: would make the clock faster and lose more: -0.008 IDF1 on one crowded video at 0.125 µm/px).
#: Smaller changes are within the estimate's noise (-0.002 to -0.003 IDF1 where they were made).
REFINE_MIN_CHANGE = 0.10
#: The clock is refined from the tracks only in crowded fields: median spacing between
#: neighbouring boxes below this many head sizes. There the nearest-neighbour steps run short
#: (tracks' step / nearest-neighbour step 1.06-1.18 at 1.2-1.3 head sizes, simulated 70 cells
#: in 640x384); at 1.6-2.4 head sizes they agree within about 4 % (docs/tracking.md, "Crossings").
CROWDED_SPACING_HEADS = 1.5


def track_step(tracks: Boxes, head: float) -> tuple[float | None, int]:
    """Median step (pixels per frame) of the moving cells along ``tracks``, and how many steps were moving.

    Steps between a track's detections in consecutive frames (interpolated boxes, score 0,
    left out); moving: above :data:`MOVING_HEADS` head sizes, as in :func:`measure_motion`.
    None when fewer than :data:`MIN_MOVING` steps move.
    """
    if len(tracks) < 2 or not head:
        return None, 0
    _, dense, order, _ = tracks.groups()
    g = dense[order]
    f = tracks.frame[order]
    real = tracks.score[order] > 0
    same = (g[1:] == g[:-1]) & (f[1:] - f[:-1] == 1) & real[1:] & real[:-1]
    cx = tracks.cx[order].astype(np.float64)
    cy = tracks.cy[order].astype(np.float64)
    d = np.hypot(np.diff(cx), np.diff(cy))[same]
    moving = d[d > MOVING_HEADS * head]
    if len(moving) < MIN_MOVING:
        return None, int(len(moving))
    return float(np.median(moving)), int(len(moving))


def refine_from_tracks(config, cal: MotionCalibration, tracks: Boxes):
    """A second clock from the first pass's tracks: ``(FrameParams, MotionCalibration)``, or None to keep the first.

    The nearest-neighbour steps of :func:`measure_motion` run short in crowded fields (a fast
    cell's nearest box in the next frame is often another cell's): on simulated scenes of
    70 cells in 640x384 they were 6-18 % below the tracks' median step, which makes the
    clock too fast (42-47 for a true 30 fps). The tracks' own steps are within 3 % of the
    truth there (docs/tracking.md, "Crossings"). Only in crowded fields (median spacing
    below :data:`CROWDED_SPACING_HEADS` head sizes), for a clock that was measured
    ("measured", or "partly pinned" with ``motion_fps`` not pinned), and when the refined
    clock is slower than the first by more than :data:`REFINE_MIN_CHANGE`.
    """
    if not (config.self_calibrate and config.refine_clock and config.motion_fps == 0):
        return None
    if cal.source not in ("measured", "partly pinned") or not cal.head_size_px or not cal.spacing_px:
        return None
    if cal.spacing_px >= CROWDED_SPACING_HEADS * cal.head_size_px:
        return None
    step, _ = track_step(tracks, cal.head_size_px)
    if step is None:
        return None
    mfps = REF_FPS * ((REF_STEP_PX / REF_HEAD_PX) / (step / cal.head_size_px)) ** (1.0 / STEP_EXPONENT)
    mfps = float(min(max(mfps, MOTION_FPS_RANGE[0]), MOTION_FPS_RANGE[1]))
    if mfps >= (1.0 - REFINE_MIN_CHANGE) * cal.motion_fps:
        return None
    new = dataclasses.replace(cal, motion_fps=mfps, track_step_px=step, first_pass_fps=cal.motion_fps)
    return calibrated_config(config, new).for_fps(mfps), new


#: Fewest boxes at or above ``high_score`` from which a typical head size, and so a sureness,
#: is measured; fewer: the detector counts as unsure.
MIN_SURE_BOXES = 10
#: A box is head-sized when its side is within this band of the median side of the sure boxes
#: (score >= 0.5): where the detector's size prior finds its heads (docs/detection.md, "Heads of
#: one video are one size"); specks and clumps fall outside it. The tracker's sureness and the
#: warnings of :mod:`spermtrack.detect.quality` count with it.
HEAD_SIZED = (0.8, 1.25)


def head_sized(side: np.ndarray, sure: np.ndarray) -> np.ndarray:
    """Which boxes are head-sized: a side (pixels) within :data:`HEAD_SIZED` of the median side
    of the ``sure`` boxes (of all boxes when none is sure)."""
    typical = float(np.median(side[sure] if sure.any() else side))
    return (side >= HEAD_SIZED[0] * typical) & (side <= HEAD_SIZED[1] * typical)


def sure_share(boxes: Boxes, high_score: float, low_score: float) -> float:
    """Share (0-1) of the head-sized sperm boxes scoring ``high_score`` or more.

    Head-sized: a side (``sqrt(w h)``, pixels) within :data:`HEAD_SIZED` of the median side of
    the boxes at or above ``high_score``; boxes below ``low_score`` (which the tracker ignores)
    do not count. The sperm class only when the boxes hold it (class-less boxes: all). 0 when
    fewer than :data:`MIN_SURE_BOXES` boxes reach ``high_score``.
    """
    sperm = boxes.cls == SPERM
    b = boxes.filter(sperm) if sperm.any() else boxes
    sure = b.score >= high_score
    if int(sure.sum()) < MIN_SURE_BOXES:
        return 0.0
    sized = head_sized(b.side, sure) & (b.score >= low_score)
    return float((sure & sized).sum() / max(int(sized.sum()), 1))


def with_sureness(config, cal: MotionCalibration, boxes: Boxes) -> MotionCalibration:
    """``cal`` with the detector's sureness on ``boxes`` and, when unsure, the start score to use."""
    if config.unsure_start_score <= 0 or len(boxes) == 0:
        return cal
    share = sure_share(boxes, config.high_score, config.low_score)
    start = None
    if share < config.sure_share and config.unsure_start_score < config.high_score:
        start = max(config.unsure_start_score, config.low_score)
    return dataclasses.replace(cal, sure_share=share, start_score=start)


def start_score(config, lowered: float | None = None) -> float:
    """The lowest score (0-1) from which the tracker starts a track: a new track needs a box at
    ``high_score`` and ``new_track_score`` of ``config``, both lowered to ``lowered`` (the
    calibration's ``start_score``) on a video the detector is unsure of, as in
    :func:`calibrated_config`."""
    high, new = config.high_score, config.new_track_score
    if lowered is not None:
        high, new = min(high, lowered), min(new, lowered)
    return float(max(high, new))


def calibrated_config(config, cal: MotionCalibration):
    """``config`` with its pixel settings scaled by ``cal.length_scale`` and, on a video the
    detector is unsure of, its start scores lowered to ``cal.start_score`` (a new TrackerConfig)."""
    if cal.start_score is not None:
        config = dataclasses.replace(
            config,
            high_score=min(config.high_score, cal.start_score),
            new_track_score=min(config.new_track_score, cal.start_score),
        )
    s = cal.length_scale
    if s == 1.0:
        return config
    return dataclasses.replace(
        config,
        meas_std_px=config.meas_std_px * s,
        size_std_px=config.size_std_px * s,
        accel_std_px_s2=config.accel_std_px_s2 * s,
        size_rate_std_px_s=config.size_rate_std_px_s * s,
        init_speed_std_px_s=config.init_speed_std_px_s * s,
        gap_speed_std_px_s=config.gap_speed_std_px_s * s,
    )


def off(fps: float) -> MotionCalibration:
    """The record of a tracker that does not self-calibrate."""
    return MotionCalibration(None, None, None, None, None, 0, 0, float(fps), float(fps), 1.0, "off")


def params_for(config, fps: float, boxes: Boxes | None):
    """The :class:`~spermtrack.track.config.FrameParams` and :class:`MotionCalibration` for a video.

    Without self-calibration (or without boxes): ``config.for_fps(fps)``.
    """
    fps = check_fps(fps)
    if not config.self_calibrate or boxes is None or len(boxes) == 0:
        if config.self_calibrate and (config.motion_fps > 0 or config.length_scale > 0):
            cal = measure_motion(Boxes.empty(0), fps, config.motion_fps, config.length_scale)
            return calibrated_config(config, cal).for_fps(cal.motion_fps), cal
        return config.for_fps(fps), off(fps)
    cal = with_sureness(config, measure_motion(boxes, fps, config.motion_fps, config.length_scale), boxes)
    return calibrated_config(config, cal).for_fps(cal.motion_fps), cal
