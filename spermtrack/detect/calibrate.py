"""Per-video self-calibration of the look: head polarity, head size, background and noise.

Microscopes differ: phase contrast shows bright heads on a dark field, bright-field and
negative phase contrast show dark heads on a light field, and the objective and camera set
the head size from about 8 to 35 pixels. Instead of assuming VISEM-Tracking's look, every
video is measured on its first frames (well under a second) and the detectors map the
frames to the look and scale they were made for (:mod:`spermtrack.detect.normalize`).

How the look is measured (:func:`measure_look`):

0. burnt-in panels (a white text panel, a black time-stamp box, letterbox bars) are found
   (:func:`~spermtrack.detect.overlay.find_overlays`) and painted in the grey of the rest of
   the frame, so that their letters and edges are not measured;
1. grey levels; the background is the frame shrunk 16x, box-blurred over 5 pixels there
   (about 80 pixels of the frame: far larger than a head) and enlarged again; the residual
   is the frame minus the background, its noise the robust standard deviation (1.4826 x the
   median absolute deviation);
2. when the frames move (several frames, not repeats), the polarity is decided on moving
   objects only: what is in the frame's residual and not in its per-pixel temporal median,
   with the same sign in both, which removes debris stuck to the glass, immotile cells and
   the ghosts of slow heads (:func:`_residuals`; the head size is always measured
   on the still residual, so that one frame and a whole video give the same scale);
3. for each polarity (bright: residual > 0, dark: residual < 0) the *compact blobs* are
   found: connected components above ``k`` noise sigmas whose centroid lies inside the
   component and that fill their bounding box. A head is such a blob; the halo of a dark
   head in bright-field is a ring (its centroid lies in the hole) and does not count;
4. each blob weighs its contrast times its diameter (a head outranks a speck of debris of
   the same contrast); the polarity whose strongest blobs weigh more wins, and the
   confidence is the relative margin between the two. The 20 heaviest blobs of each frame
   vote ("frames"), and so do its :data:`STRONGEST` heaviest ("strongest": in a sparse field
   the specks of debris outnumber the few heads among the 20, not among the 5) and the moving
   objects when the frames move; the moving objects decide, else the frames, but when any two
   votes disagree the polarity is the most confident one and the confidence is 0 (unsure:
   :attr:`LookEstimate.polarity_votes`);
5. the head size is the median diameter at half contrast of the strongest blobs of the
   chosen polarity, turned into a box side with the annotation convention of
   VISEM-Tracking (boxes about 2.2x the half-contrast diameter of the head's bright core, the median over
   the 110 heads found among the 133 sperm boxes of ``shared/reference/visem/real_frames``,
   interquartile range 1.8-2.6).

Every value says where it came from (``"measured"``, ``"user"`` or ``"default"``), and
:attr:`LookEstimate.reliable` is False when the measurement is unsure.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import LookError, SpermtrackError  # noqa: F401  (LookError: re-exported)
from .overlay import fill_overlays, find_overlays

#: Box side (pixels) per unit of half-contrast head diameter: the annotation convention of
#: VISEM-Tracking (23-pixel boxes around heads whose half-contrast diameter is ~10 px).
BOX_PER_DIAMETER = 2.2
#: Box side of a sperm head in VISEM-Tracking at 640x480 (pixels), the scale the shipped model knows.
VISEM_BOX_PX = 23.0
#: Polarity confidence below which a measured polarity is reported as unsure.
MIN_POLARITY_CONFIDENCE = 0.15
#: Fewest compact blobs for a measured head size to be trusted.
MIN_BLOBS = 3
#: Heaviest blobs per frame of the "strongest" polarity vote (the "frames" vote takes ``top``, 20): in a
#: sparse field the few heads are among a frame's heaviest blobs, but the specks of debris fill
#: its top 20 (``benchmarks/look_steadiness.py --density 4``).
STRONGEST = 5
#: Frames from which a video without moving objects counts as a still field (fewer: single images).
STILL_MIN_FRAMES = 4
POLARITIES = ("bright", "dark")
#: What each polarity vote (:attr:`LookEstimate.polarity_votes`) counted, as the warning names it.
VOTERS = {"frames": "the frames' blobs", "strongest": "their strongest blobs", "moving": "the moving objects"}


@dataclass(frozen=True)
class LookEstimate:
    """What one video shows about its look, measured on its first frames.

    Attributes
    ----------
    polarity : {"bright", "dark"}
        Heads brighter than the background (phase contrast) or darker (bright-field,
        negative phase contrast).
    polarity_source : {"measured", "user", "default"}
    polarity_confidence : float
        0-1: relative margin between the contrasts of the two polarities' strongest blobs.
    head_box_px : float
        Typical side of a sperm head's box (pixels of the frame), in VISEM's annotation
        convention (head plus a small margin: 23 px in VISEM-Tracking at 640x480).
    head_box_source : {"measured", "user", "default"}
    blobs : int
        Compact blobs of the chosen polarity the head size was measured on.
    background : float
        Median grey level of the frames (0-255).
    noise_sigma : float
        Robust standard deviation of the residual (grey levels).
    contrast : float
        Median contrast of the strongest blobs (grey levels from the background).
    frames_used : int
        Frames measured.
    motion : bool
        True when moving objects were separated from the static scene (several distinct frames).
    detector_agreement : float or None
        0-1: how far the learnt and the classical detectors agree on the heads of the video's
        first batch (:func:`spermtrack.detect.fusion.agreement`), which sets the weight of the
        classical detector in the default detector's fusion; None when no fusion ran.
    model_median_score : float or None
        Median score the learnt model itself gave the sperm boxes it found so far (before the
        fusion raised those the classical detector confirms, and before a mirrored pass was
        merged): how sure the model is of this look, which the "unsure" warning reads; None
        for detectors without fusion (their boxes' own scores are read).
    scale_factor : float
        Factor on the blob-based mapping scale the detector actually ran at: 1 unless the
        scale search (:class:`~spermtrack.detect.normalize.CalibratedDetector`
        ``scale_factors``) found the model more confident at another scale.
    scale_search : tuple of (factor, confidence, model_box_px) or None
        The candidates of the scale search, and at each the model's confidence (sum of its
        sperm scores >= 0.5 per frame, on the first frames) and the median side of those
        boxes at the model's input (pixels; None: no box); None when no search ran.
    both_polarities : bool
        True when the measured polarity was unclear (confidence below
        :data:`MIN_POLARITY_CONFIDENCE`) and the default detector therefore read the video
        both ways, as bright heads and as dark heads, and kept the boxes of both readings
        (:class:`~spermtrack.detect.normalize.FusedDetector` ``hedge``). ``polarity`` is then
        the blobs' (unsure) vote, and the boxes hold the other reading's false positives too.
    size_reference_px : float or None
        The video's typical head box side as the default detector found it (median side of its
        confident sperm boxes on the first batch, pixels of the frame, and at least
        :data:`~spermtrack.detect.size_prior.HEAD_SIZE_FLOOR` x :attr:`head_box_px`): the
        reference of the size prior (:mod:`spermtrack.detect.size_prior`); None when no prior ran.
    polarity_votes : tuple of (str, str, float)
        How the polarity was voted, as ``(what voted, polarity, confidence)``: ``"frames"``,
        the 20 heaviest compact blobs of each frame; ``"strongest"``, the :data:`STRONGEST`
        heaviest of each frame (in a sparse field the few heads, where the specks of debris
        outnumber them among the 20); ``"moving"``, the moving objects only (present only when
        the frames move). The moving objects decide, else the frames; when any two disagree
        the polarity is the vote with the largest confidence and :attr:`polarity_confidence`
        is 0 (unsure). Empty when the polarity was given.
    overlays : tuple of (x, y, w, h)
        Burnt-in panels found on the first frames (white text panels, black time-stamp boxes,
        letterbox bars; :mod:`spermtrack.detect.overlay`), in pixels of the frame: the
        self-calibrated detectors see them painted in the background grey and report no box
        whose centre lies in one. Empty when there is none or the search was off.
    """

    polarity: str
    polarity_source: str
    polarity_confidence: float
    head_box_px: float
    head_box_source: str
    blobs: int
    background: float
    noise_sigma: float
    contrast: float
    frames_used: int
    motion: bool
    detector_agreement: float | None = None
    model_median_score: float | None = None
    scale_factor: float = 1.0
    scale_search: tuple | None = None
    both_polarities: bool = False
    size_reference_px: float | None = None
    polarity_votes: tuple = ()
    overlays: tuple = ()

    @property
    def polarity_unclear(self) -> bool:
        """True when the polarity was not given and its confidence is below :data:`MIN_POLARITY_CONFIDENCE`."""
        return self.polarity_source != "user" and self.polarity_confidence < MIN_POLARITY_CONFIDENCE

    @property
    def votes_disagree(self) -> bool:
        """True when the polarity votes (:attr:`polarity_votes`) named different polarities."""
        return _disagree(self.polarity_votes)

    @property
    def reliable(self) -> bool:
        """True when both the polarity and the head size were measured with confidence (or given)."""
        size_ok = self.head_box_source == "user" or self.blobs >= MIN_BLOBS
        return bool(not self.polarity_unclear and size_ok)

    @property
    def detector_head_box_px(self) -> float:
        """The head box side (pixels) the detector settled on: :attr:`head_box_px` corrected by the
        scale search (the model's own boxes), i.e. ``head_box_px / scale_factor``."""
        return float(self.head_box_px / self.scale_factor) if self.scale_factor > 0 else float(self.head_box_px)

    @property
    def measured_on_still_objects(self) -> bool:
        """True when a video's polarity or head size was measured although nothing was seen to move
        in its first frames (debris and dead cells then voted with the heads).

        For information only, not a reason to call the look unreliable: the first batch (8
        frames at 50 fps) is too short to see a sparse, slow or faint sample move: 66 of the 100
        simulated videos of ``benchmarks/look_steadiness.py`` are "still" by it on their first 8
        frames, 56 on 16 (mostly immotile samples, as VISEM's). ``analyze`` checks the
        detected heads against a sperm head's physical size instead (a cell-free field's specks
        are far smaller: :data:`spermtrack.detect.quality.HEAD_BOX_UM`).
        """
        measured = self.polarity_source == "measured" or self.head_box_source == "measured"
        return bool(measured and self.frames_used >= STILL_MIN_FRAMES and not self.motion)

    def problems(self) -> list[str]:
        """Plain-language reasons why the estimate is unsure (empty when reliable)."""
        out = []
        if self.polarity_unclear:
            kept = "; heads were read both ways and the boxes of both kept" if self.both_polarities else ""
            if self.votes_disagree:
                why = "its votes disagree: " + ", ".join(
                    f"{VOTERS.get(what, what)} {pol} ({conf:.2f})" for what, pol, conf in self.polarity_votes
                )
            else:
                why = f"bright and dark blobs have similar contrast, confidence {self.polarity_confidence:.2f}"
            out.append(f"the head polarity is unclear ({why}){kept}; pass --polarity bright|dark")
        if self.head_box_source != "user" and self.blobs < MIN_BLOBS:
            out.append(f"only {self.blobs} head-like blobs were found, so the head size is a guess; pass --head-px")
        return out

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["reliable"] = self.reliable
        d["measured_on_still_objects"] = self.measured_on_still_objects
        d["detector_head_box_px"] = round(self.detector_head_box_px, 2)
        d["overlays"] = [list(r) for r in self.overlays]
        d["polarity_votes"] = [{"by": who, "polarity": p, "confidence": c} for who, p, c in self.polarity_votes]
        if self.scale_search is not None:
            d["scale_search"] = [{"factor": f, "confidence": c, "model_box_px": s} for f, c, s in self.scale_search]
        return d


def check_polarity(polarity: str) -> str:
    """Validate a polarity setting: ``"auto"``, ``"bright"`` or ``"dark"``."""
    if polarity not in ("auto", *POLARITIES):
        raise LookError(f"polarity must be 'auto', 'bright' or 'dark', got {polarity!r}")
    return polarity


def check_head_px(head_px: float | None) -> float | None:
    """Validate a head box side in pixels (None: measure it)."""
    if head_px is None:
        return None
    try:
        v = float(head_px)
    except (TypeError, ValueError):
        raise LookError(f"head size must be a number of pixels, got {head_px!r}") from None
    if not (3.0 <= v <= 400.0):
        raise LookError(f"head size must be 3-400 pixels, got {head_px!r}")
    return v


def to_gray(frames: np.ndarray) -> np.ndarray:
    """``(N, H, W)`` uint8 grey frames from ``(N, H, W, 3)`` BGR, ``(N, H, W)`` or one frame."""
    arr = np.asarray(frames)
    if arr.ndim == 2 or (arr.ndim == 3 and arr.shape[-1] == 3):
        arr = arr[None]
    if arr.ndim == 4:
        if arr.shape[-1] != 3:
            raise LookError(f"expected BGR frames (N, H, W, 3), got shape {arr.shape}")
        arr = np.stack([cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in arr])
    if arr.ndim != 3 or arr.shape[0] == 0:
        raise LookError(f"expected frames (N, H, W[, 3]), got shape {arr.shape}")
    if arr.dtype != np.uint8:
        raise LookError(f"expected uint8 frames, got {arr.dtype}")
    return arr


def background(gray: np.ndarray, scale: int = 16) -> np.ndarray:
    """Smooth illumination of one grey frame (float32): shrunk ``scale`` x, 5x5 box blur, enlarged."""
    h, w = gray.shape
    small = cv2.resize(gray, (max(1, w // scale), max(1, h // scale)), interpolation=cv2.INTER_AREA)
    small = cv2.blur(small.astype(np.float32), (5, 5))
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def robust_sigma(x: np.ndarray) -> float:
    """1.4826 x the median absolute deviation of ``x`` (subsampled 2x each way), at least 0.5."""
    sub = x[::2, ::2]
    med = np.median(sub)
    return max(1.4826 * float(np.median(np.abs(sub - med))), 0.5)


def compact_blobs(resid: np.ndarray, thr: float, max_area: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compact bright blobs of ``resid`` (float32): ``(peak, half_diameter_px, centre_xy)``, strongest first.

    A blob is a connected component of ``resid > thr`` with at least 6 pixels and at most
    ``max_area``, whose centroid lies inside it and that fills at least 30 % of its bounding
    box (rings, arcs and long threads fail). ``half_diameter_px`` is the diameter of the disc
    with the area of the blob's pixels above half its peak.
    """
    mask = (resid > thr).astype(np.uint8)
    n, labels, stats, cent = cv2.connectedComponentsWithStatsWithAlgorithm(mask, 8, cv2.CV_32S, cv2.CCL_GRANA)
    if n <= 1:
        return np.zeros(0, np.float32), np.zeros(0, np.float32), np.zeros((0, 2), np.float32)
    lab = labels.ravel()
    on = lab > 0
    vals = resid.ravel()[on]
    ids = lab[on]
    peak = np.zeros(n, np.float32)
    np.maximum.at(peak, ids, vals)
    half = np.bincount(ids[vals >= 0.5 * peak[ids]], minlength=n).astype(np.float32)
    area = stats[:, cv2.CC_STAT_AREA]
    bw, bh = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    cx = np.clip(np.round(cent[:, 0]).astype(np.int64), 0, resid.shape[1] - 1)
    cy = np.clip(np.round(cent[:, 1]).astype(np.int64), 0, resid.shape[0] - 1)
    inside = labels[cy, cx] == np.arange(n)
    fill = area / np.maximum(bw * bh, 1)
    ok = inside & (fill >= 0.3) & (area >= 6) & (area <= max_area)
    ok[0] = False
    idx = np.flatnonzero(ok)
    idx = idx[np.argsort(-peak[idx], kind="stable")]
    diam = 2.0 * np.sqrt(half[idx] / np.pi)
    return peak[idx], diam.astype(np.float32), cent[idx].astype(np.float32)


def overlay_mask(gray: np.ndarray, min_area: int) -> np.ndarray:
    """Pixels of burned-in overlays (time stamps, logos, scale bars, black borders): bool ``(H, W)``.

    An overlay is a flat saturated region (grey level >= 250 or <= 5) of at least
    ``min_area`` pixels; its bounding rectangle, grown by 8 pixels, is masked (the text
    inside it is not specimen either).
    """
    sat = ((gray >= 250) | (gray <= 5)).astype(np.uint8)
    out = np.zeros(gray.shape, bool)
    _, _, stats, _ = cv2.connectedComponentsWithStats(sat, 8)
    for i in np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] >= min_area) + 1:  # label 0: unsaturated pixels
        x, y, w, h = stats[i, :4]
        out[max(0, y - 8) : y + h + 8, max(0, x - 8) : x + w + 8] = True
    return out


def _residuals(gray: np.ndarray, min_overlay: int) -> tuple[list[np.ndarray], list[np.ndarray] | None, float]:
    """Spatial residuals (frame minus illumination), motion residuals (None without motion), noise sigma.

    The motion residual keeps what is in the frame and not in the static scene: where the
    spatial residual and the temporal one (the spatial residual minus its per-pixel temporal
    median) have the same sign, the smaller of the two in magnitude, else 0. Debris stuck to
    the glass and immotile cells vanish (the temporal residual is 0 there) and moving objects
    remain with their own polarity. The *ghost* of a slow head does not: where a head sat in
    most of the frames the median holds it, and the frames it has left show it with the
    opposite sign in the temporal residual alone. Voting on the temporal residual alone, those
    ghosts turned the measured polarity wrong on 6 and unsure (confidence < 0.15) on 6 of 100
    simulated videos of five looks measured on 16 frames; on this residual (deciding alone,
    before the whole frames' vote was added), 2 and 0.
    """
    n = len(gray)
    spatial = [g.astype(np.float32) - background(g) for g in gray]
    for g, r in zip(gray, spatial):
        r[overlay_mask(g, min_overlay)] = 0.0
    sigma = float(np.median([robust_sigma(r) for r in spatial]))
    if n >= 5:
        stack = np.stack(spatial)
        temporal = stack - np.median(stack, axis=0)
        # in this frame and not in the static scene, with the same sign in both (no ghosts)
        both = np.where(stack > 0, np.minimum(stack, temporal), np.maximum(stack, temporal))
        moving = list(np.where(stack * temporal > 0, both, np.float32(0.0)))
        # distinct frames with something moving: the motion residual must carry more than noise somewhere
        changed = sum(float(np.percentile(np.abs(m), 99.9)) > 8 * sigma for m in moving)
        if changed >= max(3, n // 2):
            return spatial, moving, sigma
    return spatial, None, sigma


def _blob_stats(resid: list[np.ndarray], thr: float, max_area: int, top: int) -> tuple[dict, dict]:
    """Per polarity, ``(weight, peak, diameter, keep)`` of the strongest compact blobs over all frames:
    for the ``top`` heaviest blobs of each frame, and for the :data:`STRONGEST` heaviest (one pass)."""
    per_frame: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for pol in POLARITIES:
        per_frame[pol] = []
        for r in resid:
            p, d, _ = compact_blobs(r if pol == "bright" else -r, thr, max_area)
            mass = p * d  # contrast x size: heads outrank small specks of debris of equal contrast
            o = np.argsort(-mass, kind="stable")[:top]
            per_frame[pol].append((p[o], d[o]))
    many = {pol: _pool(per_frame[pol], top, len(resid)) for pol in POLARITIES}
    strongest = {pol: _pool(per_frame[pol], STRONGEST, len(resid)) for pol in POLARITIES}
    return many, strongest


def _pool(per_frame: list[tuple[np.ndarray, np.ndarray]], top: int, frames: int) -> tuple:
    """``(weight, peak, diameter, keep)``: the heaviest of the ``top`` heaviest blobs of each frame
    (``per_frame``: each frame's ``(peak, diameter)``, heaviest first), ``keep`` = ``top`` per two frames."""
    keep = top * max(1, frames // 2)
    p = np.concatenate([fp[:top] for fp, _ in per_frame])
    d = np.concatenate([fd[:top] for _, fd in per_frame])
    o = np.argsort(-(p * d), kind="stable")[:keep]
    return p[o] * d[o], p[o], d[o], keep


def measure_look(
    frames: np.ndarray,
    polarity: str = "auto",
    head_px: float | None = None,
    k: float = 6.0,
    top: int = 20,
    mask_overlays: bool = True,
) -> LookEstimate:
    """Measure the head polarity, head box size, background and noise of a video.

    Parameters
    ----------
    frames : ndarray
        A few frames of one video, ``(N, H, W, 3)`` BGR or ``(N, H, W)`` grey uint8; 8-16
        frames spread over the first seconds work best (one frame works, without motion).
    polarity : {"auto", "bright", "dark"}
        Pin the polarity instead of measuring it.
    head_px : float, optional
        Pin the head box side (pixels) instead of measuring it.
    k : float
        Blob threshold in noise sigmas.
    top : int
        Strongest blobs per polarity that decide the polarity and the head size.
    mask_overlays : bool
        Find burnt-in panels (:func:`~spermtrack.detect.overlay.find_overlays`), measure the
        look without them and report them in :attr:`LookEstimate.overlays`.

    Returns
    -------
    LookEstimate
    """
    check_polarity(polarity)
    head_px = check_head_px(head_px)
    gray = to_gray(frames)
    overlays = find_overlays(gray) if mask_overlays else ()
    if overlays:  # measured without the panels' letters and edges, painted in the grey of the rest
        outside = np.ones(gray.shape[1:], bool)
        for x0, y0, pw, ph in overlays:
            outside[y0 : y0 + ph, x0 : x0 + pw] = False
        gray = fill_overlays(gray, overlays, float(np.median(gray[:, outside])))
    h, w = gray.shape[1:]
    max_area = int((0.08 * min(h, w)) ** 2 * 4)
    spatial, moving, sigma = _residuals(gray, max_area)
    thr = max(k * sigma, 4.0)
    still, strongest = _blob_stats(spatial, thr, max_area, top)
    # polarity from moving objects when the frames move (debris cannot vote), else from the still frame
    moved = _blob_stats(moving, thr, max_area, top)[0] if moving is not None else None
    if moved is not None and len(moved["bright"][0]) + len(moved["dark"][0]) < MIN_BLOBS:
        moved = None
    if polarity == "auto":
        votes = (("frames", *_vote(still)), ("strongest", *_vote(strongest)))
        votes += (("moving", *_vote(moved)),) if moved is not None else ()
        # the moving objects decide (debris cannot vote), else all the blobs of the frames
        _, pol, conf = votes[-1] if moved is not None else votes[0]
        if _disagree(votes):  # unless another vote disagrees: then unsure
            _, pol, _ = max(votes, key=lambda v: v[2])
            conf = 0.0
        pol_source = "measured"
    else:
        pol, conf, pol_source, votes = polarity, 1.0, "user", ()
    _, peaks, diams, _ = still[pol]
    if head_px is not None:
        box, box_source = head_px, "user"
    elif len(diams) >= 1:
        box, box_source = float(BOX_PER_DIAMETER * np.median(diams)), "measured"
    else:
        box, box_source = VISEM_BOX_PX * min(w / 640.0, h / 480.0), "default"
    return LookEstimate(
        polarity=pol,
        polarity_source=pol_source,
        polarity_confidence=round(conf, 3),
        head_box_px=round(float(box), 2),
        head_box_source=box_source,
        blobs=int(len(diams)),
        background=float(np.median(gray[:, ::4, ::4])),
        noise_sigma=round(sigma, 3),
        contrast=round(float(np.median(peaks)) if len(peaks) else 0.0, 2),
        frames_used=len(gray),
        motion=moved is not None,
        polarity_votes=tuple((who, p, round(c, 3)) for who, p, c in votes),
        overlays=overlays,
    )


def _disagree(votes: tuple) -> bool:
    """True when the ``(who, polarity, confidence)`` votes name more than one polarity."""
    return len({pol for _, pol, _ in votes}) > 1


def _vote(stats: dict) -> tuple[str, float]:
    """``(polarity, confidence)`` of one set of blob statistics: the polarity whose strongest blobs
    weigh more, and the relative margin between the two (0-1)."""
    strength = {pol: _strength(stats[pol][0], stats[pol][3]) for pol in POLARITIES}
    pol = "bright" if strength["bright"] >= strength["dark"] else "dark"
    hi, lo = max(strength.values()), min(strength.values())
    return pol, float((hi - lo) / hi) if hi > 0 else 0.0


def _strength(peaks: np.ndarray, top: int) -> float:
    """Mean weight of the ``top`` strongest blobs (missing ones count as 0)."""
    if len(peaks) == 0:
        return 0.0
    p = np.sort(peaks)[::-1][:top]
    return float(p.sum() / top)
