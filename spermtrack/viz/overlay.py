"""The overlay video: boxes, ids and speed-coloured trails drawn over the frames.

:class:`OverlayRenderer` prepares everything it needs from the tracks once
(segments sorted by time, their speeds and colours) and then draws any frame in
a handful of vectorised OpenCV calls: one ``cv2.polylines`` per colour bin for
the trails, one per class for the boxes, text only for ids and labels.
:func:`render_overlay` streams frames from a source through it into an H.264
MP4 that browsers play (:class:`spermtrack.io.video.VideoWriter`), so memory
stays bounded by one frame.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..boxes import Boxes
from ..calibration import Calibration
from ..errors import SpermtrackError
from . import style as vstyle

_SHIFT = 2  # sub-pixel bits of cv2 drawing calls (coordinates x4)
_SCALE = float(1 << _SHIFT)


@dataclass(frozen=True)
class OverlayStyle:
    """How the overlay looks.

    Parameters
    ----------
    opacity : float
        Opacity of boxes, trails and ids over the frame, 0 (invisible) to 1
        (opaque). Lower it to see the cells under the drawing. The colour bar,
        the clock and the fastest-sperm labels stay opaque.
    trail_s : float
        Length of the trails in seconds (0 hides them).
    speed_smoothing_s : float
        The speed that colours a trail segment is the mean over a window of
        this many seconds centred on it (detection jitter makes single-frame
        speeds noisy).
    speed_range : (float, float) or None
        Speeds (in the calibration's unit) at the two ends of the colour map;
        ``None`` uses 0 to the 95th percentile of the segment speeds.
    cmap : str
        matplotlib colour map of the trails.
    color_bins : int
        Number of distinct trail colours (one ``cv2.polylines`` call each).
    highlight : int
        Number of fastest sperm to highlight (from the ranking given to the renderer).
    show_boxes, show_ids, show_trails, show_colorbar, show_clock : bool
        Switch parts of the drawing on or off.
    box_thickness, trail_thickness, highlight_thickness : int
        Line widths in pixels.
    font_scale : float
        OpenCV font scale of ids and labels (0.4 suits 640x480).
    class_colors : tuple of BGR tuples or None
        Box colour per class id; ``None`` picks white sperm boxes on dark frames and dark
        ones on light frames (from the first frame drawn; see :mod:`spermtrack.viz.style`).
    """

    opacity: float = 0.85
    trail_s: float = 1.0
    speed_smoothing_s: float = 0.1
    speed_range: tuple[float, float] | None = None
    cmap: str = "turbo"
    color_bins: int = 32
    highlight: int = 3
    show_boxes: bool = True
    show_ids: bool = True
    show_trails: bool = True
    show_colorbar: bool = True
    show_clock: bool = True
    box_thickness: int = 1
    trail_thickness: int = 2
    highlight_thickness: int = 2
    font_scale: float = 0.4
    class_colors: tuple[tuple[int, int, int], ...] | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.opacity) <= 1.0:
            raise SpermtrackError(f"overlay opacity must be between 0 and 1, got {self.opacity}")
        if self.trail_s < 0 or self.speed_smoothing_s < 0:
            raise SpermtrackError("overlay trail_s and speed_smoothing_s must be >= 0 seconds")
        if self.color_bins < 2:
            raise SpermtrackError(f"overlay color_bins must be >= 2, got {self.color_bins}")
        if self.speed_range is not None and not (0 <= self.speed_range[0] < self.speed_range[1]):
            raise SpermtrackError(f"overlay speed_range must be (low, high) with 0 <= low < high, got {self.speed_range}")


def segment_speeds(tracks: Boxes, calibration: Calibration, smoothing_s: float = 0.0) -> dict[str, np.ndarray]:
    """Every trail segment (two consecutive boxes of one track) with its speed.

    Parameters
    ----------
    tracks : Boxes
        Tracked boxes; untracked rows are ignored.
    calibration : Calibration
        Speeds are in ``calibration.speed_unit`` (µm/s or px/s).
    smoothing_s : float
        Centred moving mean of the speeds over this many seconds, within each track.

    Returns
    -------
    dict of arrays, one entry per segment, sorted by the frame of the segment's end
        ``x0, y0, x1, y1`` (float32, box centres in pixels), ``frame`` (int32, frame of the
        end point), ``track_id`` (int64), ``speed`` (float64), ``interpolated`` (bool: an
        end is a box the tracker filled in, score 0, not a detection).

    >>> b = Boxes([0, 1, 3], [0, 4, 10], [0, 0, 0], [2, 6, 12], [2, 2, 2], track_id=[5, 5, 5])
    >>> seg = segment_speeds(b, Calibration(None, 10.0))
    >>> seg["speed"].tolist(), seg["frame"].tolist(), seg["interpolated"].tolist()
    ([40.0, 30.0], [1, 3], [False, False])
    """
    order = tracks.by_track()[0]
    cx, cy = tracks.cx[order], tracks.cy[order]
    fr, tid, score = tracks.frame[order], tracks.track_id[order], tracks.score[order]
    if len(order) < 2:
        e = np.zeros(0)
        return {
            "x0": e.astype(np.float32),
            "y0": e.astype(np.float32),
            "x1": e.astype(np.float32),
            "y1": e.astype(np.float32),
            "frame": e.astype(np.int32),
            "track_id": e.astype(np.int64),
            "speed": e,
            "interpolated": e.astype(bool),
        }
    same = tid[1:] == tid[:-1]
    a = np.flatnonzero(same)  # segment k joins rows a[k] and a[k] + 1
    dt = (fr[a + 1] - fr[a]).astype(np.float64) / calibration.fps
    dist = np.hypot(cx[a + 1] - cx[a], cy[a + 1] - cy[a]).astype(np.float64)
    speed = calibration.px_to_um(dist) / np.maximum(dt, 1e-12)
    half = int(round(smoothing_s * calibration.fps / 2.0))
    if half > 0 and speed.size:
        speed = _grouped_moving_mean(speed, tid[a], half)
    by_time = np.argsort(fr[a + 1], kind="stable")
    a, speed = a[by_time], speed[by_time]
    return {
        "x0": cx[a],
        "y0": cy[a],
        "x1": cx[a + 1],
        "y1": cy[a + 1],
        "frame": fr[a + 1],
        "track_id": tid[a],
        "speed": speed,
        "interpolated": (score[a] == 0) | (score[a + 1] == 0),
    }


def _grouped_moving_mean(values: np.ndarray, groups: np.ndarray, half: int) -> np.ndarray:
    """Centred moving mean of ``values`` over ``2*half+1`` items, never crossing a change of ``groups``.

    ``groups`` must be sorted (equal values adjacent). Windows are clipped at group edges.
    """
    n = values.size
    idx = np.arange(n)
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    group_of = np.cumsum(np.r_[True, groups[1:] != groups[:-1]]) - 1
    g_start = starts[group_of]
    g_end = np.r_[starts[1:], n][group_of]  # exclusive
    lo = np.maximum(idx - half, g_start)
    hi = np.minimum(idx + half + 1, g_end)
    csum = np.r_[0.0, np.cumsum(values)]
    return (csum[hi] - csum[lo]) / (hi - lo)


class OverlayRenderer:
    """Draws tracks over video frames.

    Parameters
    ----------
    tracks : Boxes
        Tracked boxes of the whole video (frames 0-based).
    calibration : Calibration
        For speeds (µm/s or px/s) and the trail length in frames.
    fastest : sequence of int, optional
        Track ids of the fastest sperm, fastest first; the first
        ``style.highlight`` are drawn in the highlight colour with their rank.
    fastest_labels : mapping int -> str, optional
        Text next to each highlighted track (e.g. ``"#1 VSL 92 µm/s"``); ``#rank`` by default.
    style : OverlayStyle, optional

    Examples
    --------
    >>> b = Boxes([0, 1], [10, 14], [10, 10], [30, 34], [30, 30], track_id=[1, 1])
    >>> r = OverlayRenderer(b, Calibration(None, 50.0), fastest=[1])
    >>> out = r.draw(1, np.zeros((48, 64, 3), np.uint8))
    >>> out.shape, out.dtype, bool(out.any())
    ((48, 64, 3), dtype('uint8'), True)
    """

    def __init__(
        self,
        tracks: Boxes,
        calibration: Calibration,
        fastest: Sequence[int] = (),
        fastest_labels: Mapping[int, str] | None = None,
        style: OverlayStyle | None = None,
    ) -> None:
        self.tracks = tracks
        self.calibration = calibration
        self.style = style or OverlayStyle()
        st = self.style
        self.trail_frames = int(round(st.trail_s * calibration.fps))
        seg = segment_speeds(tracks, calibration, st.speed_smoothing_s)
        self._seg_frame = seg["frame"]
        self._seg_interp = seg["interpolated"]
        self._seg_pts = (
            np.round(np.stack([seg["x0"], seg["y0"], seg["x1"], seg["y1"]], axis=1) * _SCALE).astype(np.int32).reshape(-1, 2, 2)
        )
        speed = seg["speed"]
        if st.speed_range is not None:
            lo, hi = map(float, st.speed_range)
        else:
            lo, hi = 0.0, float(np.percentile(speed, 95)) if speed.size else 1.0
            hi = hi if hi > lo else lo + 1.0
        self.speed_range = (lo, hi)
        self._seg_bin = np.clip(((speed - lo) / (hi - lo) * st.color_bins).astype(np.int64), 0, st.color_bins - 1)
        self._palette = [tuple(int(v) for v in c) for c in vstyle.colormap_bgr(st.cmap, st.color_bins)]
        self.fastest = [int(t) for t in list(fastest)[: st.highlight]]
        self._fastest_rank = {t: i + 1 for i, t in enumerate(self.fastest)}
        labels = dict(fastest_labels or {})
        self._fastest_text = {t: labels.get(t, f"#{r}") for t, r in self._fastest_rank.items()}
        # full history of each highlighted track, as frame-sorted points
        self._fastest_paths = {}
        for t in self.fastest:
            one = tracks.track(t)
            pts = (
                np.round(np.stack([one.cx, one.cy], axis=1) * _SCALE).astype(np.int32) if len(one) else np.zeros((0, 2), np.int32)
            )
            self._fastest_paths[t] = (one.frame, pts)
        self._colorbar = None
        self._class_colors = self.style.class_colors

    # ------------------------------------------------------------------ drawing
    def draw(self, frame_index: int, image: np.ndarray) -> np.ndarray:
        """The overlay of frame ``frame_index`` drawn over ``image`` (BGR uint8 (H, W, 3)); a new array."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise SpermtrackError(
                f"frame {frame_index}: overlay needs a BGR uint8 (H, W, 3) image, got {image.dtype} {image.shape}"
            )
        st = self.style
        if self._class_colors is None:  # decided once per video, from the first frame drawn
            light = float(image.mean()) > vstyle.LIGHT_BACKGROUND
            self._class_colors = vstyle.CLASS_BGR_LIGHT if light else vstyle.CLASS_BGR
        layer = image.copy()
        if st.show_trails and self.trail_frames > 0:
            self._draw_trails(layer, frame_index)
        rows = self.tracks.frame_slice(frame_index)
        if st.show_boxes:
            self._draw_boxes(layer, rows)
        if st.show_ids:
            self._draw_ids(layer, rows)
        out = cv2.addWeighted(layer, st.opacity, image, 1.0 - st.opacity, 0.0) if st.opacity < 1.0 else layer
        if st.show_colorbar:
            self._draw_colorbar(out)
        self._draw_fastest(out, frame_index, rows)
        if st.show_clock:
            text = f"t = {frame_index / self.calibration.fps:6.2f} s   frame {frame_index}"
            _label(out, text, (6, 16), st.font_scale * 1.1, (255, 255, 255))
        return out

    def _draw_trails(self, img: np.ndarray, f: int) -> None:
        st = self.style
        lo = np.searchsorted(self._seg_frame, f - self.trail_frames, side="right")
        hi = np.searchsorted(self._seg_frame, f, side="right")
        if hi <= lo:
            return
        # one polylines call per (colour, observed/interpolated): gaps the tracker filled are drawn thin
        key = self._seg_bin[lo:hi] * 2 + self._seg_interp[lo:hi]
        pts = self._seg_pts[lo:hi]
        order = np.argsort(key, kind="stable")
        cuts = np.flatnonzero(np.diff(key[order])) + 1
        for group in np.split(order, cuts):
            k = int(key[group[0]])
            thickness = 1 if k & 1 else st.trail_thickness
            cv2.polylines(img, pts[group], False, self._palette[k >> 1], thickness, cv2.LINE_AA, _SHIFT)

    def _box_polys(self, rows: slice, mask: np.ndarray | None = None) -> np.ndarray:
        t = self.tracks
        x1, y1, x2, y2 = t.x1[rows], t.y1[rows], t.x2[rows], t.y2[rows]
        if mask is not None:
            x1, y1, x2, y2 = x1[mask], y1[mask], x2[mask], y2[mask]
        poly = np.stack([x1, y1, x2, y1, x2, y2, x1, y2], axis=1).reshape(-1, 4, 2)
        return np.round(poly * _SCALE).astype(np.int32)

    def _draw_boxes(self, img: np.ndarray, rows: slice) -> None:
        st = self.style
        cls = self.tracks.cls[rows]
        filled_in = self.tracks.score[rows] == 0  # boxes the tracker interpolated: grey
        for c in np.unique(cls):
            colors = self._class_colors
            color = colors[int(c)] if 0 <= c < len(colors) else (200, 200, 200)
            sel = (cls == c) & ~filled_in
            if sel.any():
                cv2.polylines(img, self._box_polys(rows, sel), True, color, st.box_thickness, cv2.LINE_8, _SHIFT)
        if filled_in.any():
            cv2.polylines(img, self._box_polys(rows, filled_in), True, (128, 128, 128), 1, cv2.LINE_8, _SHIFT)

    def _draw_ids(self, img: np.ndarray, rows: slice) -> None:
        st = self.style
        t = self.tracks
        tid, x1, y1 = t.track_id[rows], t.x1[rows], t.y1[rows]
        font = cv2.FONT_HERSHEY_SIMPLEX
        for i in np.flatnonzero(tid >= 0):
            cv2.putText(img, str(int(tid[i])), (int(x1[i]), int(y1[i]) - 2), font, st.font_scale, (255, 255, 255), 1, cv2.LINE_AA)

    def _draw_fastest(self, img: np.ndarray, f: int, rows: slice) -> None:
        if not self.fastest:
            return
        st = self.style
        tid = self.tracks.track_id[rows]
        for t in self.fastest:
            frames, pts = self._fastest_paths[t]
            n = int(np.searchsorted(frames, f, side="right"))
            if n == 0 or f - frames[n - 1] > self.trail_frames:
                continue  # not started yet, or gone for longer than a trail
            if n >= 2:
                cv2.polylines(img, [pts[:n]], False, (0, 0, 0), st.highlight_thickness + 2, cv2.LINE_AA, _SHIFT)
                cv2.polylines(img, [pts[:n]], False, vstyle.HIGHLIGHT_BGR, st.highlight_thickness, cv2.LINE_AA, _SHIFT)
            here = tid == t
            if here.any():
                poly = self._box_polys(rows, here)
                cv2.polylines(img, poly, True, vstyle.HIGHLIGHT_BGR, st.highlight_thickness, cv2.LINE_8, _SHIFT)
                x, y = poly[0, 2] / _SCALE
                anchor = (int(x) + 3, int(y) + 12)
            else:
                x, y = pts[n - 1] / _SCALE
                anchor = (int(x) + 6, int(y) + 6)
            _label(img, self._fastest_text[t], anchor, st.font_scale, (0, 0, 0), bg=vstyle.HIGHLIGHT_BGR)

    def _draw_colorbar(self, img: np.ndarray) -> None:
        if self._colorbar is None:
            self._colorbar = self._make_colorbar()
        bar = self._colorbar
        h, w = img.shape[:2]
        bh, bw = bar.shape[:2]
        if bh + 8 > h or bw + 8 > w:
            return
        y0, x0 = 6, w - bw - 6  # top right: players put their controls at the bottom
        img[y0 : y0 + bh, x0 : x0 + bw] = bar

    def _make_colorbar(self) -> np.ndarray:
        """A small legend tile: the colour ramp, its end speeds and the unit."""
        st = self.style
        lo, hi = self.speed_range
        unit = self.calibration.speed_unit
        font = cv2.FONT_HERSHEY_SIMPLEX
        fs = st.font_scale
        ramp_w, ramp_h, pad = 120, 10, 5
        title = hershey_text(f"trail speed ({unit})")
        (tw, th), _ = cv2.getTextSize(title, font, fs, 1)
        width = max(ramp_w, tw) + 2 * pad
        height = pad + th + 4 + ramp_h + 4 + th + pad
        tile = np.full((height, width, 3), 24, np.uint8)
        cv2.putText(tile, title, (pad, pad + th), font, fs, (255, 255, 255), 1, cv2.LINE_AA)
        y = pad + th + 4
        cols = vstyle.colormap_bgr(st.cmap, ramp_w)
        tile[y : y + ramp_h, pad : pad + ramp_w] = cols[None, :, :]
        y += ramp_h + 4 + th
        cv2.putText(tile, f"{lo:.0f}", (pad, y), font, fs, (255, 255, 255), 1, cv2.LINE_AA)
        hi_text = f">={hi:.0f}" if st.speed_range is None else f"{hi:.0f}"
        (hw, _), _ = cv2.getTextSize(hi_text, font, fs, 1)
        cv2.putText(tile, hi_text, (pad + ramp_w - hw, y), font, fs, (255, 255, 255), 1, cv2.LINE_AA)
        return tile


def hershey_text(text: str) -> str:
    """``text`` in the ASCII that OpenCV's Hershey fonts draw (µ -> u, ² -> 2, others -> ?).

    >>> hershey_text("92 µm/s, 30 µm²")
    '92 um/s, 30 um2'
    """
    text = text.replace("µ", "u").replace("²", "2").replace("≥", ">=")
    return text.encode("ascii", "replace").decode("ascii")


def _label(img: np.ndarray, text: str, org: tuple[int, int], scale: float, color, bg=(0, 0, 0)) -> None:
    """Text on a filled box, kept inside the image."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    text = hershey_text(text)
    (tw, th), base = cv2.getTextSize(text, font, scale, 1)
    h, w = img.shape[:2]
    x = int(min(max(org[0], 1), max(1, w - tw - 3)))
    y = int(min(max(org[1], th + 3), h - base - 2))
    cv2.rectangle(img, (x - 2, y - th - 3), (x + tw + 2, y + base + 1), bg, -1)
    cv2.putText(img, text, (x, y), font, scale, color, 1, cv2.LINE_AA)


def render_overlay(
    frames: Iterable[np.ndarray],
    tracks: Boxes,
    path: str | Path,
    calibration: Calibration,
    fastest: Sequence[int] = (),
    fastest_labels: Mapping[int, str] | None = None,
    style: OverlayStyle | None = None,
    size: tuple[int, int] | None = None,
    total: int | None = None,
    progress: bool = False,
    crf: int = 23,
) -> Path:
    """Draw the tracks over every frame and write a browser-playable H.264 MP4.

    Parameters
    ----------
    frames : iterable of ndarray (H, W, 3) uint8 BGR
        The video's frames in order from frame 0 (a :class:`~spermtrack.io.frames.FrameSource`
        opened again for this second pass, or any iterator); consumed one at a time.
    tracks : Boxes
        Tracked boxes (frame indices of ``frames``).
    path : str or Path
        The MP4 to write (atomically: a reader never sees half a video).
    calibration : Calibration
        Frame rate of the output and units of the speed colour bar.
    fastest, fastest_labels, style
        As :class:`OverlayRenderer`.
    size : (width, height), optional
        Frame size; read from the first frame when omitted.
    total : int, optional
        Number of frames, for the progress bar.
    progress : bool
        Show a tqdm progress bar on stderr.
    crf : int
        x264 constant rate factor (lower = better quality, bigger file; 23 is x264's default).

    Returns
    -------
    Path
        ``path``.
    """
    from tqdm.auto import tqdm

    from ..io.video import VideoWriter

    path = Path(path)
    renderer = OverlayRenderer(tracks, calibration, fastest, fastest_labels, style)
    it = iter(frames)
    first = next(it, None)
    if first is None:
        raise SpermtrackError(f"cannot render {path}: the source has no frames")
    if size is None:
        size = (int(first.shape[1]), int(first.shape[0]))
    bar = tqdm(total=total, desc="overlay video", unit="frame", disable=not progress, leave=False)
    try:
        with VideoWriter(path, calibration.fps, size, codec="h264", crf=crf) as writer:
            writer.write(renderer.draw(0, first))
            bar.update(1)
            for i, frame in enumerate(it, start=1):
                writer.write(renderer.draw(i, frame))
                bar.update(1)
    finally:
        bar.close()
    return path
