"""Figures of an analysis, drawn with matplotlib's Agg backend (no display needed).

Every ``figure_*`` function returns a :class:`matplotlib.figure.Figure` built
without :mod:`matplotlib.pyplot` (no global state, safe in threads and servers);
:func:`save_figure` writes one as PNG atomically and :func:`save_plots` writes
the standard set of an analysis.

The figures:

- :func:`figure_trajectories` -- every track drawn over the first frame, coloured
  by WHO motility grade, the fastest sperm labelled;
- :func:`figure_box_area` -- box area over time for one sperm (as Figure 3 of the
  VISEM-Tracking paper);
- :func:`figure_box_centers` and :func:`figure_box_sizes` -- per-class 2D
  histograms of box centres and of box width x height (as its Figure 4);
- :func:`figure_top_paths` -- the fastest tracks one by one, each with its
  curvilinear path (VCL), average path (VAP) and straight line (VSL);
- :func:`figure_motility` -- WHO motility grades as a bar chart of shares with their 95 % intervals;
- :func:`figure_speeds` -- distributions of VCL, VSL and VAP.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_path
from ..boxes import SPERM, Boxes
from ..calibration import Calibration
from ..errors import ParameterError
from . import style

#: matplotlib settings of every spermtrack figure.
RC = {
    "figure.dpi": 100,
    "savefig.dpi": 110,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "legend.frameon": False,
    "image.cmap": "viridis",
}

#: Legend label of tracks without a WHO grade in the kinematics table given to the trajectory plot.
NOT_GRADED = "not graded"

#: File names (without ``.png``) written by :func:`save_plots`, with a caption each.
PLOT_CAPTIONS: dict[str, str] = {
    "trajectories": "Tracks over the first frame, coloured by WHO motility grade; the fastest sperm are numbered.",
    "top_paths": "The fastest sperm, one panel each: the detected head path (VCL is its length per second), the average "
    "path (VAP) and the straight line from first to last point (VSL); axes from the track's first point.",
    "motility": "WHO motility grades (6th edition) of the valid sperm tracks.",
    "speeds": "Distributions of curvilinear (VCL), straight-line (VSL) and average-path (VAP) velocity of the valid sperm tracks.",
    "box_area": "Box area over time for one sperm (as Figure 3 of the VISEM-Tracking paper).",
    "box_centers": "Where boxes lie in the frame, per class: 2D histogram of box centres (as Figure 4 of the paper).",
    "box_coverage": "How often each place of the frame is covered by a box, per class (each box paints its area).",
    "box_sizes": "Box width x height per class: 2D histogram of box sizes (as Figure 4 of the paper).",
}


@contextlib.contextmanager
def _rc() -> Iterator[None]:
    import matplotlib

    with matplotlib.rc_context(RC):
        yield


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def save_figure(fig, path: str | Path, dpi: int | None = None) -> Path:
    """Write ``fig`` as a PNG file atomically and return its path.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure (from a ``figure_*`` function).
    path : str or Path
        Destination; parent folders are created.
    dpi : int, optional
        Resolution; :data:`RC` ``savefig.dpi`` (110) by default.
    """
    path = Path(path)
    with _rc(), atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=dpi or RC["savefig.dpi"])
    return path


# ---------------------------------------------------------------------------- trajectories
def track_polylines(tracks: Boxes, min_points: int = 2) -> tuple[np.ndarray, list[np.ndarray]]:
    """Box-centre polylines of every track.

    Returns
    -------
    ids : int64 array (T,)
        Track ids with at least ``min_points`` boxes, ascending.
    lines : list of float32 arrays (n_i, 2)
        Centre ``x, y`` in pixels of each track's boxes in frame order.

    >>> b = Boxes([0, 1, 1, 2], [0, 0, 5, 2], [0, 0, 5, 0], [2, 2, 7, 4], [2, 2, 7, 2], track_id=[1, 1, 2, 1])
    >>> ids, lines = track_polylines(b)
    >>> ids.tolist(), lines[0].tolist()
    ([1], [[1.0, 1.0], [1.0, 1.0], [3.0, 1.0]])
    """
    order, ids, offsets = tracks.by_track()
    pts = (
        np.stack([tracks.cx[order], tracks.cy[order]], axis=1).astype(np.float32) if len(order) else np.zeros((0, 2), np.float32)
    )
    lines = np.split(pts, offsets[1:-1]) if len(ids) else []
    keep = np.diff(offsets) >= min_points
    return ids[keep], [line for line, k in zip(lines, keep) if k]


def figure_trajectories(
    tracks: Boxes,
    background: np.ndarray | None = None,
    image_size: tuple[int, int] | None = None,
    kinematics=None,
    highlight: Sequence[int] = (),
    calibration: Calibration | None = None,
    min_points: int = 2,
):
    """Every track's box-centre path over the first frame.

    Parameters
    ----------
    tracks : Boxes
        Tracked boxes (``track_id >= 0``); untracked rows are ignored.
    background : ndarray (H, W, 3) uint8 BGR, optional
        The frame to draw on (shown in grey so that the colours stand out).
    image_size : (width, height), optional
        Frame size in pixels when there is no background (else taken from it).
    kinematics : pandas.DataFrame, optional
        Per-track table with ``track_id`` and ``motility`` columns: tracks are
        coloured by WHO grade ("not graded", grey, when absent from the table:
        clusters, pinheads, tracks failing the quality gates). Without WHO
        grades (no calibration) they are coloured by VSL when the table has it.
    highlight : sequence of int
        Track ids to draw thick and number ``#1, #2, ...`` (the fastest first).
    calibration : Calibration, optional
        Adds a scale bar when it has µm per pixel.
    min_points : int
        Tracks with fewer boxes are not drawn.
    """
    import matplotlib
    from matplotlib.cm import ScalarMappable
    from matplotlib.collections import LineCollection
    from matplotlib.colors import Normalize
    from matplotlib.lines import Line2D

    if background is not None:
        h, w = background.shape[:2]
    elif image_size is not None:
        w, h = image_size
    else:
        w = int(np.ceil(tracks.x2.max())) if len(tracks) else 640
        h = int(np.ceil(tracks.y2.max())) if len(tracks) else 480
    ids, lines = track_polylines(tracks, min_points)
    grade_of: dict[int, object] = {}
    if kinematics is not None and len(kinematics) and "motility" in kinematics:
        grade_of = dict(zip(kinematics["track_id"].astype(int), kinematics["motility"]))
    by_speed = not any(style.motility_key(g) in style.MOTILITY_HEX for g in grade_of.values())
    by_speed = by_speed and kinematics is not None and "vsl" in kinematics and len(kinematics) > 0
    if by_speed:
        vsl_of = dict(zip(kinematics["track_id"].astype(int), kinematics["vsl"].astype(float)))
        speeds = np.array([vsl_of.get(int(t), np.nan) for t in ids])
        vmax = float(np.nanpercentile(speeds, 95)) if np.isfinite(speeds).any() else 1.0
        norm = Normalize(0.0, max(vmax, 1e-9))
        cmap = matplotlib.colormaps["viridis"]
        colors = [cmap(norm(v)) if np.isfinite(v) else style.OTHER_HEX for v in speeds]
    else:
        colors = [style.motility_color(grade_of.get(int(t), NOT_GRADED)) for t in ids]
    with _rc():
        fig = _figure(7.2, 7.2 * h / w + 0.6)
        ax = fig.add_subplot()
        if background is not None:
            gray = background.mean(axis=2) if background.ndim == 3 else background
            ax.imshow(gray, cmap="gray", extent=(0, w, h, 0), interpolation="bilinear", alpha=0.85)
        else:
            ax.set_facecolor("#f5f5f5")
        ax.add_collection(LineCollection(lines, colors=colors, linewidths=1.1, alpha=0.9))
        for rank, tid in enumerate(highlight, start=1):
            hit = np.flatnonzero(ids == tid)
            if not hit.size:
                continue
            line = lines[int(hit[0])]
            ax.plot(line[:, 0], line[:, 1], color="black", lw=3.6, alpha=0.6, solid_capstyle="round")
            ax.plot(line[:, 0], line[:, 1], color=style.HIGHLIGHT_HEX, lw=2.2, solid_capstyle="round")
            ax.annotate(
                f"#{rank}",
                line[-1],
                xytext=(4, 4),
                textcoords="offset points",
                color="black",
                fontweight="bold",
                bbox={"boxstyle": "round,pad=0.15", "fc": style.HIGHLIGHT_HEX, "ec": "none", "alpha": 0.9},
            )
        if calibration is not None and calibration.calibrated:
            _scale_bar(ax, w, h, calibration.um_per_px)
        ax.set_xlim(0, w)
        ax.set_ylim(h, 0)
        ax.set_aspect("equal")
        ax.set_xlabel("x (px)")
        ax.set_ylabel("y (px)")
        ax.set_title("Every track over the first frame")
        if by_speed:
            sm = ScalarMappable(norm=norm, cmap=cmap)
            unit = style.speed_unit_of(kinematics, calibration)
            fig.colorbar(sm, ax=ax, shrink=0.7, label=f"VSL ({unit})", location="right")
        track_grades = [grade_of.get(int(t), NOT_GRADED) for t in ids]
        grades = [] if by_speed else style.order_motility(track_grades)
        handles = [
            Line2D([], [], color=style.motility_color(g), lw=2, label=f"{style.motility_label(g)} ({track_grades.count(g)})")
            for g in grades
        ]
        if len(highlight):
            handles.append(Line2D([], [], color=style.HIGHLIGHT_HEX, lw=2.5, label="fastest (#rank)"))
        if handles:
            fig.legend(handles=handles, loc="outside lower center", ncols=min(3, len(handles)))
    return fig


def _scale_bar(ax, w: float, h: float, um_per_px: float) -> None:
    """A white scale bar of a round length (µm) in the lower-right corner."""
    target = 0.2 * w * um_per_px
    nice = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000]
    length_um = max([n for n in nice if n <= target] or [nice[0]])
    length_px = length_um / um_per_px
    x0, y0 = w - 0.04 * w - length_px, h - 0.05 * h
    ax.plot([x0, x0 + length_px], [y0, y0], color="white", lw=3, solid_capstyle="butt")
    ax.text(x0 + length_px / 2, y0 - 0.015 * h, f"{length_um:g} µm", color="white", ha="center", va="bottom", fontweight="bold")


# ---------------------------------------------------------------------------- one sperm's box area
def default_area_track(tracks: Boxes) -> int | None:
    """The track shown by :func:`figure_box_area` by default: the sperm track with the most boxes."""
    if not len(tracks):
        return None
    tracked = tracks.track_id >= 0
    sperm = tracked & (tracks.cls == SPERM)
    pool = tracks.track_id[sperm] if sperm.any() else tracks.track_id[tracked]
    if not pool.size:
        return None
    ids, counts = np.unique(pool, return_counts=True)
    return int(ids[np.argmax(counts)])


def figure_box_area(
    tracks: Boxes,
    track_id: int | None = None,
    calibration: Calibration | None = None,
    smoothing_s: float = 0.2,
):
    """Box area over time for one sperm (Figure 3 of the VISEM-Tracking paper).

    Parameters
    ----------
    tracks : Boxes
        Tracked boxes.
    track_id : int, optional
        The track to show; :func:`default_area_track` (the longest sperm track) by default.
    calibration : Calibration, optional
        Time axis in seconds (else frames) and area in µm² when calibrated (else px²).
    smoothing_s : float
        Width in seconds of the running median drawn over the raw areas.
    """
    if track_id is None:
        track_id = default_area_track(tracks)
    one = tracks.track(track_id) if track_id is not None else Boxes.empty()
    with _rc():
        fig = _figure(7.2, 3.2)
        ax = fig.add_subplot()
        if not len(one):
            ax.text(0.5, 0.5, "no tracked boxes", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            return fig
        area = one.area.astype(np.float64)
        unit = "px²"
        if calibration is not None and calibration.calibrated:
            area = area * calibration.um_per_px**2
            unit = "µm²"
        if calibration is not None:
            t, tlabel = one.frame / calibration.fps, "time (s)"
            k = max(1, int(round(smoothing_s * calibration.fps)))
        else:
            t, tlabel, k = one.frame.astype(np.float64), "frame", 5
        ax.plot(t, area, color="#4c72b0", lw=0.8, alpha=0.55, marker=".", ms=2.5, label="per frame")
        if len(area) >= k > 1:
            ax.plot(t, _running_median(area, k), color="#c44e52", lw=1.8, label=f"running median ({k} frames)")
        ax.set_xlabel(tlabel)
        ax.set_ylabel(f"box area ({unit})")
        name = style.class_label(int(np.bincount(one.cls.astype(np.int64)).argmax()))
        ax.set_title(f"Box area of track {track_id} ({name}, {len(one)} boxes)")
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper right")
    return fig


def _running_median(values: np.ndarray, k: int) -> np.ndarray:
    """Centred running median of window ``k`` (edges use the available values)."""
    from scipy.ndimage import median_filter

    return median_filter(values, size=k, mode="nearest")


# ---------------------------------------------------------------------------- Figure 4: centres and sizes
def box_histogram(
    boxes: Boxes, image_size: tuple[int, int], bins: tuple[int, int] = (64, 48), mode: str = "centers"
) -> np.ndarray:
    """2D histogram of where boxes lie in the frame.

    Parameters
    ----------
    boxes : Boxes
    image_size : (width, height)
        Frame size in pixels.
    bins : (nx, ny)
        Number of cells across and down.
    mode : {"centers", "coverage"}
        ``centers`` counts box centres per cell; ``coverage`` counts, per cell,
        how many boxes cover its centre (each box paints its whole area, like the
        heat maps of the dataset's public statistics).

    Returns
    -------
    ndarray (ny, nx) float64
        Row 0 is the top of the frame.

    >>> b = Boxes([0, 0], [0, 2], [0, 0], [2, 4], [2, 2])
    >>> box_histogram(b, (4, 2), bins=(2, 1)).tolist()
    [[1.0, 1.0]]
    >>> box_histogram(b, (4, 2), bins=(4, 1), mode="coverage").tolist()
    [[1.0, 1.0, 1.0, 1.0]]
    """
    w, h = image_size
    nx, ny = bins
    if mode == "centers":
        hist, _, _ = np.histogram2d(boxes.cy, boxes.cx, bins=(ny, nx), range=((0, h), (0, w)))
        return hist
    if mode != "coverage":
        raise ParameterError(f"mode must be 'centers' or 'coverage', got {mode!r}")
    # Cell (i, j) is covered when its centre lies inside the box: a difference array over the
    # cells whose centres fall in [x1, x2) x [y1, y2), then two cumulative sums (no loop over boxes).
    sx, sy = nx / w, ny / h
    c0 = np.clip(np.ceil(boxes.x1 * sx - 0.5), 0, nx).astype(np.int64)
    c1 = np.clip(np.ceil(boxes.x2 * sx - 0.5), 0, nx).astype(np.int64)
    r0 = np.clip(np.ceil(boxes.y1 * sy - 0.5), 0, ny).astype(np.int64)
    r1 = np.clip(np.ceil(boxes.y2 * sy - 0.5), 0, ny).astype(np.int64)
    diff = np.zeros((ny + 1, nx + 1), np.float64)
    np.add.at(diff, (r0, c0), 1.0)
    np.add.at(diff, (r0, c1), -1.0)
    np.add.at(diff, (r1, c0), -1.0)
    np.add.at(diff, (r1, c1), 1.0)
    return diff.cumsum(axis=0).cumsum(axis=1)[:ny, :nx]


def figure_box_centers(
    boxes: Boxes,
    image_size: tuple[int, int],
    bins: tuple[int, int] = (64, 48),
    mode: str = "centers",
    classes: Sequence[int] = (0, 1, 2),
):
    """Per-class 2D histograms of box positions in the frame (Figure 4 of the VISEM-Tracking paper).

    One panel per class, the frame's aspect kept, counts on a colour scale of
    its own per panel. See :func:`box_histogram` for ``mode``.
    """
    w, h = image_size
    with _rc():
        fig = _figure(3.3 * len(classes), 3.3 * h / w + 0.9)
        axes = fig.subplots(1, len(classes), squeeze=False)[0]
        for ax, c in zip(axes, classes):
            sel = boxes[boxes.cls == c]
            ax.set_title(f"{style.class_label(c)} ({len(sel)} boxes)")
            ax.set_xticks([0, w // 2, w])
            ax.set_yticks([0, h // 2, h])
            if not len(sel):
                ax.imshow(np.zeros((2, 2)), extent=(0, w, h, 0), cmap="gray_r", vmin=0, vmax=1)
                ax.text(w / 2, h / 2, "no boxes", ha="center", va="center")
                continue
            hist = box_histogram(sel, image_size, bins, mode)
            im = ax.imshow(hist, extent=(0, w, h, 0), interpolation="nearest", vmin=0)
            fig.colorbar(im, ax=ax, shrink=0.8, label="boxes" if mode == "centers" else "covering boxes")
        fig.suptitle("Box centres per class" if mode == "centers" else "Box coverage per class")
    return fig


def figure_box_sizes(boxes: Boxes, max_px: float | None = None, bins: int = 40, classes: Sequence[int] = (0, 1, 2)):
    """Per-class 2D histograms of box width x height in pixels (Figure 4 of the VISEM-Tracking paper).

    ``max_px`` is the axis limit (the largest side, at least 60 px, by default).
    """
    from matplotlib.colors import LogNorm

    if max_px is None:
        max_px = max(60.0, float(np.ceil(max(boxes.width.max(), boxes.height.max())))) if len(boxes) else 60.0
    with _rc():
        fig = _figure(3.3 * len(classes), 3.6)
        axes = fig.subplots(1, len(classes), squeeze=False)[0]
        for ax, c in zip(axes, classes):
            sel = boxes[boxes.cls == c]
            hist = np.histogram2d(sel.width, sel.height, bins=bins, range=((0, max_px), (0, max_px)))[0]
            if hist.any():
                im = ax.imshow(
                    hist.T,
                    origin="lower",
                    extent=(0, max_px, 0, max_px),
                    interpolation="nearest",
                    norm=LogNorm(vmin=1, vmax=hist.max()),
                )
                fig.colorbar(im, ax=ax, shrink=0.8, label="boxes (log)")
                median = f"median {np.median(sel.width):.0f} x {np.median(sel.height):.0f} px"
                ax.text(0.03, 0.97, median, ha="left", va="top", transform=ax.transAxes)
            else:
                ax.text(0.5, 0.5, "no boxes", ha="center", va="center", transform=ax.transAxes)
            ax.set_title(f"{style.class_label(c)} ({len(sel)} boxes)")
            ax.set_xlim(0, max_px)
            ax.set_ylim(0, max_px)
            ax.set_xlabel("width (px)")
            ax.set_ylabel("height (px)")
            ax.set_aspect("equal")
        fig.suptitle("Box sizes per class")
    return fig


# ---------------------------------------------------------------------------- kinematics
def figure_motility(grades: Mapping[str, Any], title: str = "WHO motility grades", calibrated: bool = True):
    """Bar chart of motility grades: the share on the bars, its 95 % interval as an error bar, tracks above.

    Parameters
    ----------
    grades : mapping grade -> entry
        The summary's grades (``summary["motility"]``: ``{"count", "percent", "ci95"}`` each; the
        share weighted by time in view, :func:`spermtrack.kinematics.summarize`), or grade ->
        number of tracks, drawn as shares of tracks without intervals. Grades are ordered as
        the WHO manual lists them (others after).
    title : str
    calibrated : bool
        Without a calibration there are no WHO grades (they are defined in µm/s):
        the figure says so instead of showing bars.
    """
    order = style.order_motility(grades)
    entries = {g: grades[g] if isinstance(grades[g], Mapping) else {"count": grades[g]} for g in order}
    values = np.array([entries[g].get("count", 0) for g in order], dtype=np.float64)
    total = values.sum()
    weighted = bool(total) and all(entries[g].get("percent") is not None for g in order)
    if weighted:
        pct = np.array([entries[g]["percent"] for g in order], dtype=np.float64)
    else:
        pct = 100.0 * values / total if total else np.zeros_like(values)
    ci = [entries[g].get("ci95") for g in order] if weighted else []
    with _rc():
        fig = _figure(6.4, 3.4)
        ax = fig.add_subplot()
        if not calibrated or not total:
            msg = (
                "no WHO grades: uncalibrated\n(grades are defined in µm/s; pass --um-per-px)"
                if not calibrated
                else "no valid tracks"
            )
            ax.text(0.5, 0.5, msg, ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            return fig
        x = np.arange(len(order))
        ax.bar(x, pct, color=[style.motility_color(g) for g in order], width=0.65)
        top = pct.copy()
        if ci and all(c is not None for c in ci):
            lo = np.array([c[0] for c in ci], dtype=np.float64)
            hi = np.array([c[1] for c in ci], dtype=np.float64)
            below, above = np.clip(pct - lo, 0.0, None), np.clip(hi - pct, 0.0, None)  # a share at its bound
            ax.errorbar(x, pct, yerr=[below, above], fmt="none", ecolor="#333333", capsize=4, lw=1)
            top = np.maximum(top, hi)
        for xi, t, p, n in zip(x, top, pct, values):
            ax.text(xi, t + 1.0, f"{p:.1f} %\n(n={int(n)})", ha="center", va="bottom")
        ax.set_xticks(x, [style.motility_label(g) for g in order])
        ax.set_ylabel("sperm in view, time-weighted (%)" if weighted else "tracks (%)")
        ax.set_ylim(0, max(top.max() * 1.3, 10.0))
        ax.set_title(f"{title} ({int(total)} tracks{', 95 % intervals' if weighted else ''})")
    return fig


def figure_speeds(kinematics, columns: Sequence[str] = ("vcl", "vsl", "vap"), unit: str | None = None, bins: int = 30):
    """Distributions of per-track speeds (step histograms with medians marked).

    Parameters
    ----------
    kinematics : pandas.DataFrame
        One row per track with the speed columns.
    columns : sequence of str
        Speed columns to draw.
    unit : str, optional
        Speed unit of the axis; from ``kinematics.attrs['speed_unit']`` by default.
    """
    unit = unit or style.speed_unit_of(kinematics)
    palette = {"vcl": "#4c72b0", "vsl": "#dd8452", "vap": "#55a868"}
    with _rc():
        fig = _figure(6.4, 3.4)
        ax = fig.add_subplot()
        data = {c: np.asarray(kinematics[c], dtype=np.float64) for c in columns if c in kinematics}
        data = {c: v[np.isfinite(v)] for c, v in data.items()}
        finite = [v for v in data.values() if v.size]
        if not finite:
            ax.text(0.5, 0.5, "no valid tracks", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            return fig
        hi = max(float(np.percentile(np.concatenate(finite), 99.5)), 1e-9)
        edges = np.linspace(0.0, hi * 1.02, bins + 1)
        for c, v in data.items():
            color = palette.get(c)
            ax.hist(
                np.clip(v, 0, edges[-1]),
                bins=edges,
                histtype="step",
                lw=1.8,
                color=color,
                label=f"{c.upper()} (median {np.median(v):.1f})",
            )
            ax.axvline(np.median(v), color=color, ls="--", lw=1)
        ax.set_xlabel(f"speed ({unit})")
        ax.set_ylabel("tracks")
        ax.set_title("Speed per track")
        ax.legend()
    return fig


# ---------------------------------------------------------------------------- the fastest tracks' paths
def present_classes(boxes: Boxes) -> tuple[int, ...]:
    """The box classes (0 sperm, 1 cluster, 2 small or pinhead) that have boxes; sperm always.

    >>> present_classes(Boxes([0, 0], [0, 5], [0, 5], [9, 9], [9, 9], cls=[0, 2]))
    (0, 2)
    """
    have = set(np.unique(boxes.cls).astype(int).tolist()) if len(boxes) else set()
    return tuple(c for c in (0, 1, 2) if c == SPERM or c in have)


def _track_points(tracks: Boxes, tid: int, image_size: tuple[int, int] | None = None):
    """Frames and head positions (pixels) of one track as :func:`~spermtrack.kinematics.casa` reads them.

    The detected boxes (interpolated ones left out), one point per frame, boxes cut by the
    image border re-centred when ``image_size`` is given: the points VCL and VSL are
    measured on.
    """
    from ..kinematics.casa import _group_tracks

    one = tracks.filter(tracks.track_id == tid) if len(tracks) else tracks
    observed = bool(len(one)) and bool((one.score > 0).any())
    _, _offsets, frame, cx, cy, _, _ = _group_tracks(one, image_size, observed)
    return frame.astype(np.int64), cx.astype(np.float64), cy.astype(np.float64)


def top_track_ids(kinematics, highlight: Sequence[int] = (), n: int = 3) -> list[int]:
    """The tracks :func:`figure_top_paths` draws: ``highlight`` (the ranked fastest), else the ``n`` fastest by VSL."""
    if len(highlight):
        return [int(t) for t in highlight]
    if kinematics is None or not len(kinematics) or "vsl" not in kinematics:
        return []
    k = kinematics
    if "valid" in k:
        k = k[k["valid"].astype(bool)]
    k = k[np.isfinite(k["vsl"].to_numpy(dtype=np.float64))]
    return [int(t) for t in k.sort_values("vsl", ascending=False)["track_id"].head(n)]


def figure_top_paths(
    tracks: Boxes,
    kinematics=None,
    calibration: Calibration | None = None,
    highlight: Sequence[int] = (),
    *,
    n: int = 3,
    smoothing_s: float | None = None,
    image_size: tuple[int, int] | None = None,
):
    """The fastest tracks, one panel each, with the three paths CASA measures.

    Each panel draws the track's detected head positions joined in frame order (the
    curvilinear path: VCL is its length per second), its average path
    (:func:`spermtrack.kinematics.average_path` with the smoothing window of the
    analysis: VAP is its length per second) and the straight line from its first to its
    last point (VSL). Axes are in µm from the track's first point when calibrated, in
    pixels otherwise, with equal scales; the title gives the three speeds.

    Parameters
    ----------
    tracks : Boxes
        Tracked boxes (pixels).
    kinematics : pandas.DataFrame, optional
        :func:`spermtrack.kinematics.casa`'s table (speeds for the titles, the smoothing
        window in ``attrs["parameters"]``).
    calibration : Calibration, optional
        µm per pixel and frames per second (50 frames/s and pixels without it).
    highlight : sequence of int
        The track ids to draw, fastest first (numbered ``#1, #2...``); by default the
        ``n`` fastest valid tracks by VSL of ``kinematics``.
    n : int
        Number of tracks when ``highlight`` is empty (at most 6 are drawn).
    smoothing_s : float, optional
        Average-path window, s (default: the analysis's, else 0.5 s).
    image_size : (width, height), optional
        Frame size: boxes cut by the border are re-centred as ``casa`` does (default: the
        analysis's, from the kinematics ``attrs``).
    """
    from ..kinematics import DEFAULT_SMOOTHING_S, average_path

    ids = top_track_ids(kinematics, highlight, n)[:6]
    fps = calibration.fps if calibration is not None else 50.0
    scale = calibration.um_per_px if (calibration is not None and calibration.calibrated) else None
    unit = "µm" if scale else "px"
    speed_unit = style.speed_unit_of(kinematics, calibration)
    params = ((getattr(kinematics, "attrs", {}) or {}).get("parameters", {}) if kinematics is not None else {}) or {}
    if smoothing_s is None:
        smoothing_s = float(params.get("smoothing_s", DEFAULT_SMOOTHING_S))
    if image_size is None and params.get("image_size"):
        image_size = tuple(params["image_size"])
    row_of = {}
    if kinematics is not None and len(kinematics) and "track_id" in kinematics:
        row_of = {int(t): r for t, r in zip(kinematics["track_id"], kinematics.to_dict(orient="records"))}
    cols = max(1, min(3, len(ids)))
    rows = max(1, int(np.ceil(len(ids) / cols)))
    with _rc():
        fig = _figure(3.6 * cols + 0.4, 3.5 * rows + 0.5)
        if not ids:
            ax = fig.add_subplot()
            ax.text(0.5, 0.5, "no valid track to draw", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            return fig
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        for ax in axes[len(ids) :]:
            ax.set_axis_off()
        for rank, (ax, tid) in enumerate(zip(axes, ids), start=1):
            f, x, y = _track_points(tracks, tid, image_size)
            if len(f) < 2:
                ax.text(0.5, 0.5, f"track {tid}: too few points", ha="center", va="center", transform=ax.transAxes)
                ax.set_axis_off()
                continue
            k = scale or 1.0
            px, py = (x - x[0]) * k, (y - y[0]) * k
            t = (f - f[0]) / fps
            avg = average_path(t, px, py, smoothing_s)
            ax.plot(px, py, color="#7d8ba1", lw=0.9, marker=".", ms=2.5, label="curvilinear (VCL)")
            ax.plot(avg[:, 0], avg[:, 1], color="#e4572e", lw=2.0, label="average path (VAP)")
            ax.plot([px[0], px[-1]], [py[0], py[-1]], color="#14213d", lw=1.6, ls="--", label="straight line (VSL)")
            ax.plot(px[0], py[0], "o", color="#2a9d8f", ms=6, label="start")
            ax.plot(px[-1], py[-1], "s", color="#14213d", ms=5)
            ax.set_aspect("equal", adjustable="datalim")
            ax.invert_yaxis()  # image coordinates: y down, as in the video
            ax.set_xlabel(f"x ({unit})")
            ax.set_ylabel(f"y ({unit})")
            r = row_of.get(int(tid), {})
            speeds = " ".join(
                f"{name} {float(r[key]):.1f}" for key, name in (("vcl", "VCL"), ("vap", "VAP"), ("vsl", "VSL")) if key in r
            )
            title = f"#{rank} track {tid}" if len(highlight) else f"track {tid}"
            ax.set_title(f"{title}\n{speeds} {speed_unit}" if speeds else title, fontsize=9)
        handles, labels = axes[0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="outside lower center", ncols=4)
    return fig


# ---------------------------------------------------------------------------- the set
def save_plots(
    out_dir: str | Path,
    tracks: Boxes,
    kinematics,
    motility: Mapping[str, Any],
    image_size: tuple[int, int],
    calibration: Calibration,
    background: np.ndarray | None = None,
    highlight: Sequence[int] = (),
) -> dict[str, Path]:
    """Write the standard figures of an analysis as ``out_dir/<name>.png``.

    Parameters
    ----------
    out_dir : path
        Folder to write into (created).
    tracks : Boxes
        Tracked boxes of the whole video.
    kinematics : pandas.DataFrame
        Per-track kinematics of the tracks to show in the speed histograms.
    motility : mapping grade -> entry
        The summary's grades (``summary["motility"]``), or grade -> number of tracks
        (see :func:`figure_motility`).
    image_size : (width, height)
    calibration : Calibration
    background : ndarray (H, W, 3) uint8 BGR, optional
        First frame, under the trajectories.
    highlight : sequence of int
        Fastest track ids, fastest first (the ``top_paths`` figure draws them; the three
        fastest by VSL of ``kinematics`` when empty).

    Returns
    -------
    dict name -> path
        In the order of :data:`PLOT_CAPTIONS`. The box statistics (``box_*``) show only
        the classes that have boxes (sperm at least): no empty panels.
    """
    out_dir = Path(out_dir)
    classes = present_classes(tracks)
    makers = {
        "trajectories": lambda: figure_trajectories(tracks, background, image_size, kinematics, highlight, calibration),
        "motility": lambda: figure_motility(motility, calibrated=calibration.calibrated),
        "speeds": lambda: figure_speeds(kinematics),
        "box_area": lambda: figure_box_area(tracks, highlight[0] if len(highlight) else None, calibration),
        "top_paths": lambda: figure_top_paths(tracks, kinematics, calibration, highlight, image_size=image_size),
        "box_centers": lambda: figure_box_centers(tracks, image_size, classes=classes),
        "box_coverage": lambda: figure_box_centers(tracks, image_size, mode="coverage", classes=classes),
        "box_sizes": lambda: figure_box_sizes(tracks, classes=classes),
    }
    paths: dict[str, Path] = {}
    for name in PLOT_CAPTIONS:
        paths[name] = save_figure(makers[name](), out_dir / f"{name}.png")
    return paths


__all__ = [
    "PLOT_CAPTIONS",
    "box_histogram",
    "default_area_track",
    "figure_box_area",
    "figure_box_centers",
    "figure_box_sizes",
    "figure_motility",
    "figure_speeds",
    "figure_top_paths",
    "present_classes",
    "top_track_ids",
    "figure_trajectories",
    "save_figure",
    "save_plots",
    "track_polylines",
]
