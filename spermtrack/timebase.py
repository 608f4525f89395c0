"""The true time base of a video: repeated frames found from pixels or boxes, real time stamps.

Many real recordings repeat frames (frame-rate conversion, phone or screen
recordings, some camera drivers): the image changes only every second to fourth
frame. Heads then stand still for a frame or two and jump in the next, which
breaks a constant-velocity tracker and the CASA kinematics. This module finds the
repeats and gives every frame its true time stamp:

- :func:`frame_times_from_pixels` measures the mean absolute difference (MAD, grey
  levels) of consecutive frames while they are decoded (:class:`RepeatDetector`)
  and separates repeats from changes with a threshold taken from the video's own
  noise floor: a new exposure differs from the last by its sensor noise at least
  (about 1-3 grey levels), a repeat only by re-compression (about 0.01). The two
  populations are split where the sorted log-MADs have their widest gap, and only
  when that gap spans at least a factor :data:`MIN_SEPARATION` (otherwise: no repeats).
- :func:`frame_times_from_boxes` finds frames whose detections did not move at all
  (every box equal to one of the previous frame's within ``tol_px``).
- :meth:`FrameTimes.from_timestamps` takes given (or container) time stamps.

A repeated frame gets the time stamp of the frame it repeats, so time stamps are
non-decreasing and ``distinct`` marks the frames that carry new information. The
tracker (:func:`spermtrack.track.track` with ``timestamps=``) tracks the distinct
frames over their true time steps and gives the repeats the same identities; the
kinematics (:func:`spermtrack.kinematics.casa` with ``frame_times=``) use the
distinct frames at their true times.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from .boxes import Boxes
from .errors import SpermtrackError, TimeBaseError  # noqa: F401  (TimeBaseError: re-exported)

#: Smallest ratio between the smallest MAD counted as a change and the largest counted
#: as a repeat for the pixels to be split into two populations (a factor of 10).
MIN_SEPARATION = 10.0

SOURCES = ("pixels", "boxes", "container", "numbers", "given", "nominal")

#: New images (the upper group of a split) must be at least this fraction of the frames: a
#: camera behind a faster container shows a new image at least every 12th frame (a 4-fps
#: camera in a 50-fps file), while a few outlying changes (a stage bump, a focus jump) in an
#: ordinary video are not a repeat pattern.
MIN_NEW_FRACTION = 1.0 / 12.0
#: ... and no run of repeats found by a split may be longer than this many frames: a new image
#: comes at least every 15th frame, spread through the video. A long still stretch after a few
#: large changes (a stage settling, the first frames of a recording) is not a repeat pattern.
#: (Frames identical to the previous one, MAD 0, are repeats however long the run.)
MAX_REPEAT_RUN = 15
#: A frame is a glitch (blank, white, a flash, a dropped image filled with one colour) when its
#: mean grey level is this many grey levels from the median of its neighbours' ...
GLITCH_MIN_GREY = 10.0
#: ... and this many times the video's typical frame-to-frame change of the mean level. The
#: differences into and out of a glitch are left out of the repeat statistics (they would
#: otherwise be the only "changes", and every ordinary frame a "repeat").
GLITCH_FACTOR = 10.0
#: Neighbours on each side whose mean levels make a frame's reference (the median of them).
GLITCH_NEIGHBOURS = 3

#: Width (pixels of the half-resolution image) of the Gaussian that smooths the signed frame
#: difference for the motion statistic: codec noise averages out, a moving head's blob stays.
MOTION_SIGMA_PX = 1.5
#: The motion statistic's two groups (Otsu split of the log values) are repeats and changes
#: only when the changes' median is at least this factor above the repeats' median ...
MOTION_MIN_RATIO = 5.0
#: ... the two groups' log means are this many pooled variances apart (Fisher's criterion) ...
MOTION_MIN_FISHER = 4.0
#: ... and the repeats are at least this fraction of the frames: a few still moments of a
#: sparse video (no cell moved) are not a repeat pattern.
MOTION_MIN_FRACTION = 0.15


@dataclass(frozen=True)
class FrameTimes:
    """True time stamps of the frames of one video.

    Attributes
    ----------
    times : float64 (num_frames,)
        Time of each frame in seconds from the first; a repeated frame has the time
        of the frame it repeats (non-decreasing).
    distinct : bool (num_frames,)
        True for frames that show a new image (the first frame always).
    nominal_fps : float
        Frame rate the frames were numbered at (frames per second).
    source : str
        How the times were obtained: "pixels", "boxes", "container", "given" or
        "nominal" (no repeats looked for; every frame at ``1 / nominal_fps``).
    mad_threshold : float or None
        For "pixels": the MAD (grey levels) below which a frame counted as a repeat
        (None when no repeat population was found).
    """

    times: np.ndarray
    distinct: np.ndarray
    nominal_fps: float
    source: str = "given"
    mad_threshold: float | None = None
    notes: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise TimeBaseError(f"source must be one of {SOURCES}, got {self.source!r}")

    # ---------------------------------------------------------------- builders
    @classmethod
    def regular(cls, num_frames: int, fps: float) -> FrameTimes:
        """Every frame distinct, ``1 / fps`` seconds apart (source "nominal")."""
        fps = _check_fps(fps)
        n = int(num_frames)
        return cls(np.arange(n, dtype=np.float64) / fps, np.ones(n, bool), fps, "nominal")

    @classmethod
    def from_repeats(cls, repeated: np.ndarray, fps: float, source: str, **kw) -> FrameTimes:
        """From a mask of repeated frames (``repeated[i]``: frame ``i`` shows frame ``i-1``'s image)."""
        fps = _check_fps(fps)
        rep = np.asarray(repeated, bool).copy()
        if len(rep):
            rep[0] = False
        distinct = ~rep
        # a repeat shows the image of the last distinct frame: it takes its time stamp
        times = _shown_frame(distinct).astype(np.float64) / fps
        return cls(times, distinct, fps, source, **kw)

    @classmethod
    def from_timestamps(cls, timestamps, fps: float | None = None, source: str = "given") -> FrameTimes:
        """From one time stamp (seconds) per frame; equal consecutive stamps mark repeats.

        Raises
        ------
        TimeBaseError
            Not 1-D, not finite, or decreasing (naming the frame).
        """
        t = np.asarray(timestamps, dtype=np.float64)
        if t.ndim != 1:
            raise TimeBaseError(f"timestamps must be one number per frame (1-D), got shape {t.shape}")
        bad = np.flatnonzero(~np.isfinite(t))
        if len(bad):
            raise TimeBaseError(f"timestamp of frame {bad[0]} is not finite ({t[bad[0]]})")
        dec = np.flatnonzero(np.diff(t) < 0)
        if len(dec):
            i = int(dec[0]) + 1
            raise TimeBaseError(f"timestamps must not decrease: frame {i} at {t[i]} s after frame {i - 1} at {t[i - 1]} s")
        distinct = np.ones(len(t), bool)
        distinct[1:] = np.diff(t) > 0
        if fps is None:
            steps = np.diff(t[distinct])
            fps = 1.0 / float(np.min(steps)) if len(steps) else 1.0
        fps = _check_fps(fps)
        return cls(t - (t[0] if len(t) else 0.0), distinct, fps, source)

    # ---------------------------------------------------------------- facts
    @property
    def num_frames(self) -> int:
        return int(len(self.times))

    @property
    def num_repeated(self) -> int:
        """Frames that repeat the previous image."""
        return int(len(self.distinct) - np.count_nonzero(self.distinct))

    @property
    def num_distinct(self) -> int:
        return int(np.count_nonzero(self.distinct))

    @property
    def distinct_frames(self) -> np.ndarray:
        """Indices of the distinct frames (int64)."""
        return np.flatnonzero(self.distinct)

    @property
    def effective_fps(self) -> float:
        """Distinct images per second: ``(distinct frames - 1) / (last distinct time - first)``."""
        td = self.times[self.distinct]
        if len(td) < 2 or td[-1] <= td[0]:
            return float(self.nominal_fps)
        return float((len(td) - 1) / (td[-1] - td[0]))

    @property
    def sampling_fps(self) -> float:
        """New images per second over the usual intervals between new images (those up to twice
        the median interval): how finely the motion is sampled. Repeats lower it; a few long gaps
        (frames missing from a folder, a camera stall) do not."""
        steps = np.diff(self.times[self.distinct])
        steps = steps[steps > 0]
        if not len(steps):
            return float(self.nominal_fps)
        return float(1.0 / np.mean(steps[steps <= 2.0 * np.median(steps)]))

    @property
    def is_regular(self) -> bool:
        """True when every frame is distinct and evenly spaced (the plain frame-number clock)."""
        if self.num_repeated:
            return False
        steps = np.diff(self.times)
        return bool(len(steps) == 0 or np.allclose(steps, 1.0 / self.nominal_fps, rtol=1e-6, atol=1e-9))

    def source_of_distinct(self) -> np.ndarray:
        """For each frame, the distinct frame whose image it shows (itself when distinct)."""
        return _shown_frame(self.distinct)

    def to_dict(self) -> dict:
        """JSON-ready facts (no per-frame arrays): for ``summary.json``."""
        d = {
            "source": self.source,
            "num_frames": self.num_frames,
            "num_distinct": self.num_distinct,
            "num_repeated": self.num_repeated,
            "nominal_fps": float(self.nominal_fps),
            "effective_fps": self.effective_fps,
            "sampling_fps": self.sampling_fps,
            "duration_s": float(self.times[-1] + 1.0 / self.effective_fps) if self.num_frames else 0.0,
        }
        if self.mad_threshold is not None:
            d["mad_threshold"] = float(self.mad_threshold)
        d.update(self.notes)
        return d


def with_container_times(
    pixels: FrameTimes, stamps: np.ndarray | None, tolerance: float = 0.01, source: str = "container"
) -> FrameTimes:
    """The time base from the pixels, on the container's clock where that clock is real and irregular.

    ``stamps`` (s, one per frame at least, e.g. :meth:`spermtrack.io.frames.VideoFile.timestamps`)
    replace the nominal ``i / fps`` when their steps are not all within ``tolerance`` (a fraction)
    of their median: a variable-frame-rate recording. A repeat found in the pixels keeps the time
    of the image it repeats; equal stamps are repeats too. Constant-rate stamps (they say
    nothing the frame rate does not), too few stamps, or decreasing ones leave ``pixels`` as it is.
    The result's source is ``source``: "container", or "numbers" for the times of an image
    folder's frame numbers (:meth:`spermtrack.io.frames.ImageSequence.number_times`).
    """
    if stamps is None:
        return pixels
    t = np.asarray(stamps, np.float64)
    n = pixels.num_frames
    if t.ndim != 1 or len(t) < n or n < 3 or not np.all(np.isfinite(t[:n])):
        return pixels
    t = t[:n] - t[0]
    steps = np.diff(t)
    if np.any(steps < 0):
        return pixels
    moving = steps[steps > 0]
    med = float(np.median(moving)) if len(moving) else 0.0
    if med <= 0 or (np.all(np.abs(moving - med) <= tolerance * med) and len(moving) == len(steps)):
        return pixels
    distinct = pixels.distinct.copy()
    distinct[1:] &= steps > 0
    notes = {**pixels.notes, "repeats_from": pixels.source}
    return FrameTimes(t[_shown_frame(distinct)], distinct, pixels.nominal_fps, source, pixels.mad_threshold, notes)


def _shown_frame(distinct: np.ndarray) -> np.ndarray:
    """For each frame, the last distinct frame up to it (the one whose image it shows), int64."""
    return np.maximum.accumulate(np.where(distinct, np.arange(len(distinct)), 0))


def _check_fps(fps) -> float:
    try:
        v = float(fps)
    except (TypeError, ValueError):
        raise TimeBaseError(f"fps must be a number, got {fps!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise TimeBaseError(f"fps must be a positive finite number, got {fps!r}")
    return v


# -------------------------------------------------------------------- pixels
def frame_mad(a: np.ndarray, b: np.ndarray, step: int = 2) -> float:
    """Mean absolute difference (grey levels) of two frames, on every ``step``-th pixel of each axis.

    Colour frames are compared on all channels (the mean over them).
    """
    a = np.asarray(a)[::step, ::step]
    b = np.asarray(b)[::step, ::step]
    if a.shape != b.shape:
        raise TimeBaseError(f"frames of different shapes {a.shape} and {b.shape}")
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def frame_motion(a: np.ndarray, b: np.ndarray, sigma: float = MOTION_SIGMA_PX) -> float:
    """Largest smoothed signed difference (grey levels) of two grey frames (float32, same shape).

    A repeated frame that was re-encoded differs from its original by codec noise, small and
    of both signs at every scale; a new exposure also has the blobs of the heads that moved.
    Smoothing the signed difference with a Gaussian of ``sigma`` pixels averages the noise
    out and keeps the blobs: the maximum separates repeats from changes where the plain MAD
    does not (a compressed video whose noise the codec removed, repeats re-refined by it).
    """
    import cv2

    return float(np.abs(cv2.GaussianBlur(b - a, (0, 0), sigma)).max())


class RepeatDetector:
    """Measures consecutive-frame differences while frames are decoded (one pass, no copies kept but one).

    Two statistics per frame: the MAD (:func:`frame_mad`) and the motion (:func:`frame_motion`).
    Call :meth:`add` with each frame in order, then :meth:`result`.
    """

    def __init__(self, step: int = 2) -> None:
        self.step = int(step)
        self._prev = None
        self._prev_grey = None
        self.mads: list[float] = []
        self.motions: list[float] = []
        self.levels: list[float] = []

    def add(self, frame: np.ndarray) -> None:
        f = np.asarray(frame)[:: self.step, :: self.step]
        grey = _grey(f)
        self.levels.append(float(grey.mean()))
        if self._prev is not None and f.shape == self._prev.shape:
            self.mads.append(frame_mad(self._prev, f, 1))
            self.motions.append(frame_motion(self._prev_grey, grey))
        else:  # the first frame (or a change of size) is always new
            self.mads.append(math.inf)
            self.motions.append(math.inf)
        self._prev, self._prev_grey = f.copy(), grey

    def result(self, fps: float) -> FrameTimes:
        """The frame times of the frames added.

        The MAD split (:func:`repeats_from_mad`: exact repeats, re-encoded at a high quality);
        when it finds fewer than :data:`MOTION_MIN_FRACTION` of the frames, also the motion split
        (:func:`repeats_from_motion`: repeats that a codec re-refined, in a video whose sensor
        noise it removed), whose threshold is then in ``notes["motion_threshold"]``. The
        differences into and out of a glitch frame (:func:`glitch_frames`: blank, white, a flash)
        are left out of both; the glitches are listed in ``notes["glitch_frames"]``.
        """
        mads, motions = np.asarray(self.mads, np.float64), np.asarray(self.motions, np.float64)
        glitches = glitch_frames(np.asarray(self.levels, np.float64))
        notes: dict = {"glitch_frames": glitches.tolist()} if len(glitches) else {}
        if len(glitches):  # the differences into and out of a glitch say nothing about repeats
            touched = np.unique(np.concatenate([glitches, glitches + 1]))
            touched = touched[touched < len(mads)]
            mads, motions = mads.copy(), motions.copy()
            mads[touched] = np.nan
            motions[touched] = np.nan
        rep, thr = repeats_from_mad(mads)
        if rep.sum() < MOTION_MIN_FRACTION * max(len(rep) - 1, 1):
            mrep, mthr = repeats_from_motion(motions, mads)
            if mthr is not None:
                rep = rep | mrep
                notes["motion_threshold"] = mthr
        return FrameTimes.from_repeats(rep, fps, "pixels", mad_threshold=thr, notes=notes)


def glitch_frames(levels: np.ndarray) -> np.ndarray:
    """Frames whose mean grey level jumps away from their neighbours' (blank, white, a flash).

    A frame is a glitch when its level is more than :data:`GLITCH_MIN_GREY` grey levels and
    :data:`GLITCH_FACTOR` times the video's typical frame-to-frame level change from the median
    of its :data:`GLITCH_NEIGHBOURS` neighbours on each side. Returns their indices (int64).
    """
    levels = np.asarray(levels, np.float64)
    n = len(levels)
    if n < 3:
        return np.zeros(0, np.int64)
    typical = float(np.median(np.abs(np.diff(levels))))
    k = GLITCH_NEIGHBOURS
    padded = np.concatenate([np.full(k, np.nan), levels, np.full(k, np.nan)])
    around = np.lib.stride_tricks.sliding_window_view(padded, 2 * k + 1).copy()  # (n, 2k+1), frame i at column k
    around[:, k] = np.nan
    ref = np.nanmedian(around, axis=1)
    dev = np.abs(levels - ref)
    return np.flatnonzero((dev > GLITCH_MIN_GREY) & (dev > GLITCH_FACTOR * typical)).astype(np.int64)


def _grey(frame: np.ndarray) -> np.ndarray:
    """A frame as one float32 grey channel (colour frames: OpenCV's BGR weights; 2-D frames as they are)."""
    import cv2

    if frame.ndim == 3 and frame.shape[2] in (3, 4):
        code = cv2.COLOR_BGR2GRAY if frame.shape[2] == 3 else cv2.COLOR_BGRA2GRAY
        frame = cv2.cvtColor(np.ascontiguousarray(frame), code)
    elif frame.ndim == 3:
        frame = frame.mean(axis=2)
    return frame.astype(np.float32)


def repeats_from_motion(motion: np.ndarray, mad: np.ndarray | None = None) -> tuple[np.ndarray, float | None]:
    """Which frames repeat the previous one, from :func:`frame_motion` values (``motion[0]`` ignored).

    The log values are split in two groups by Otsu's rule (the largest between-group variance).
    The lower group are repeats when the upper group's median is :data:`MOTION_MIN_RATIO` times
    the lower's, the groups are :data:`MOTION_MIN_FISHER` apart, the lower group holds at
    least :data:`MOTION_MIN_FRACTION` of the frames, the upper at least :data:`MIN_NEW_FRACTION`,
    and no run of repeats is longer than :data:`MAX_REPEAT_RUN`. Otherwise there are no repeats (the plain
    clock). Frames identical to the previous one (``mad == 0``) are left to :func:`repeats_from_mad`.

    A pair of frames in which nothing visible moved cannot be told from a repeat by any image
    statistic; the fraction guard keeps the rare still moments of a sparse video out. (A
    repeat counted wrongly loses one observation; the distinct frames keep their true times.)

    Returns ``(repeated, threshold in grey levels or None)``.
    """
    motion = np.asarray(motion, np.float64)
    rep = np.zeros(len(motion), bool)
    m = motion[1:]
    use = np.isfinite(m)
    if mad is not None:
        use &= np.asarray(mad, np.float64)[1:] > 0
    v = np.sort(np.log10(np.maximum(m[use], 1e-3)))
    n = len(v)
    if n < 4:
        return rep, None
    k = np.arange(1, n)  # lower group v[:k]
    c = np.cumsum(v)
    mean_low = c[:-1] / k
    mean_high = (c[-1] - c[:-1]) / (n - k)
    between = k * (n - k) * (mean_high - mean_low) ** 2
    k_best = int(k[np.argmax(between)])
    low, high = v[:k_best], v[k_best:]
    fisher = (high.mean() - low.mean()) ** 2 / (low.var() + high.var() + 1e-12)
    if (
        np.median(high) - np.median(low) < math.log10(MOTION_MIN_RATIO)
        or fisher < MOTION_MIN_FISHER
        or k_best < MOTION_MIN_FRACTION * n
        or n - k_best < MIN_NEW_FRACTION * n
    ):
        return rep, None
    thr = float(10 ** ((low[-1] + high[0]) / 2))
    if longest_run(use & (m < thr)) > MAX_REPEAT_RUN:
        return rep, None
    rep[1:] = use & (m < thr)
    return rep, thr


def repeats_from_mad(mad: np.ndarray) -> tuple[np.ndarray, float | None]:
    """Which frames repeat the previous one, from consecutive-frame MADs (``mad[0]`` ignored).

    The threshold comes from the video itself: the sorted log-MADs are split at their
    widest gap; frames below it are repeats when the gap spans at least
    :data:`MIN_SEPARATION` (a factor of 10) and when the lower group is also at least
    :data:`MIN_SEPARATION` below the median change, when the changes are at least
    :data:`MIN_NEW_FRACTION` of the frames and no run of repeats is longer than
    :data:`MAX_REPEAT_RUN` (a few outlying changes are not a repeat pattern).
    A video without such a split has no repeats. Exactly identical frames (MAD 0) are always
    repeats. NaN values (the differences around a glitch frame) are left out.

    Returns
    -------
    repeated : bool (n,)
    threshold : float or None
        Geometric mean of the two groups' facing ends (grey levels), None without a split.
    """
    mad = np.asarray(mad, np.float64)
    n = len(mad)
    rep = np.zeros(n, bool)
    if n < 2:
        return rep, None
    m = mad[1:]
    finite = np.isfinite(m)
    v = np.sort(m[finite])
    if len(v) == 0:
        return rep, None
    logs = np.log10(np.maximum(v, 1e-6))
    gaps = np.diff(logs)
    thr = None
    if len(gaps):
        i = int(np.argmax(gaps))
        low_top, high_bottom = v[i], v[i + 1]
        high_median = float(np.median(v[i + 1 :]))
        new_fraction = (len(v) - i - 1) / len(v)
        if (
            gaps[i] >= math.log10(MIN_SEPARATION)
            and high_median >= MIN_SEPARATION * max(low_top, 1e-6)
            and new_fraction >= MIN_NEW_FRACTION
        ):
            thr = float(math.sqrt(max(low_top, 1e-6) * high_bottom))
    if thr is not None and longest_run(finite & (m < thr)) > MAX_REPEAT_RUN:
        thr = None
    if thr is not None:
        rep[1:] = finite & (m < thr)
    rep[1:] |= m == 0.0
    return rep, thr


def longest_run(mask: np.ndarray) -> int:
    """Length of the longest run of True in a boolean array."""
    mask = np.asarray(mask, bool)
    if not mask.any():
        return 0
    edges = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return int((np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).max())


def frame_times_from_pixels(frames: Iterable[np.ndarray], fps: float, step: int = 2) -> FrameTimes:
    """Frame times from the images: consecutive-frame MADs, threshold from the video's noise floor.

    Parameters
    ----------
    frames : iterable of arrays (H, W) or (H, W, C), uint8
        The video's frames in order (a decoder's output; each is looked at once).
    fps : float
        Nominal frame rate (frames per second) the frames are numbered at.
    step : int
        Compare every ``step``-th pixel of each axis (2: a quarter of the pixels).
    """
    det = RepeatDetector(step)
    for fr in frames:
        det.add(fr)
    return det.result(fps)


# -------------------------------------------------------------------- boxes
def frame_times_from_boxes(boxes: Boxes, fps: float, tol_px: float = 0.01) -> FrameTimes:
    """Frame times from detections that do not move at all.

    Frame ``i`` repeats frame ``i - 1`` when both have boxes, the same number of them,
    and every box of frame ``i`` equals one of frame ``i - 1`` within ``tol_px`` pixels
    on all four sides (a detector given the same image twice returns the same boxes; a
    new exposure moves at least the motile cells and the detection jitter of the
    others). Frames without boxes are never called repeats.
    """
    if not isinstance(boxes, Boxes):
        raise TimeBaseError(f"boxes must be a spermtrack.Boxes table, got {type(boxes).__name__}")
    nf = boxes.num_frames
    off = boxes.frame_offsets
    rep = np.zeros(nf, bool)
    xyxy = np.column_stack([boxes.x1, boxes.y1, boxes.x2, boxes.y2]).astype(np.float64)
    for f in range(1, nf):
        a0, a1, b0, b1 = off[f - 1], off[f], off[f], off[f + 1]
        if a1 - a0 == 0 or a1 - a0 != b1 - b0:
            continue
        prev = xyxy[a0:a1]
        cur = xyxy[b0:b1]
        # sort both by x1 then compare row-wise (equal sets of boxes sort equally within tol)
        pa = prev[np.lexsort((prev[:, 1], prev[:, 0]))]
        pc = cur[np.lexsort((cur[:, 1], cur[:, 0]))]
        rep[f] = bool(np.all(np.abs(pa - pc) <= tol_px))
    return FrameTimes.from_repeats(rep, fps, "boxes")


def distinct_boxes(boxes: Boxes, times: FrameTimes) -> tuple[Boxes, np.ndarray]:
    """The boxes of the distinct frames, renumbered ``0 .. K-1``, and each new frame's old index."""
    if times.num_frames != boxes.num_frames:
        raise TimeBaseError(f"frame times cover {times.num_frames} frames but the boxes {boxes.num_frames}")
    keep_frames = times.distinct_frames
    new_index = np.cumsum(times.distinct) - 1
    rows = times.distinct[boxes.frame]
    sub = boxes[rows] if not rows.all() else boxes
    sub = Boxes(
        new_index[sub.frame].astype(np.int32), sub.x1, sub.y1, sub.x2, sub.y2, sub.score, sub.cls, sub.track_id,
        num_frames=len(keep_frames), validate=False,
    )  # fmt: skip
    return sub, keep_frames
