"""Statistics of a VISEM-layout dataset: counts per class and video, box sizes and positions.

Works on any VISEM-layout root: the real VISEM-Tracking release, a simulated
dataset (``spermtrack simulate``) or pseudo-labelled clips
(``spermtrack pseudo-label``). :func:`dataset_stats` reads the labels once and
:meth:`DatasetStats.save` writes the tables and the figures of the paper's
Figure 4 (box centre and box size histograms per class).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import atomic_open
from .boxes import CLASS_NAMES, Boxes
from .io.visem import VisemDataset
from .jsonutil import to_jsonable


@dataclass
class DatasetStats:
    """Statistics of one dataset root.

    Attributes
    ----------
    root : Path
    per_video : DataFrame
        One row per video: ``video, num_frames, fps, width, height, frames_without_boxes,
        tracks`` and, per class name, the box count and the mean boxes per frame.
    per_class : DataFrame
        One row per class: ``class, boxes, fraction, width_mean/min/max, height_mean/min/max``
        (pixels) and ``boxes_per_frame_mean``.
    boxes : Boxes
        All boxes, frames renumbered so videos follow each other (for the centre
        histograms), scaled to :attr:`image_size`. Box sizes in ``per_class`` are in
        each image's own pixels, not scaled.
    image_size : (width, height)
        The most common frame size, in pixels.
    counts_per_frame : dict video -> ndarray (num_frames, 3)
        Boxes per frame and class.
    """

    root: Path
    per_video: pd.DataFrame
    per_class: pd.DataFrame
    boxes: Boxes
    image_size: tuple[int, int]
    counts_per_frame: dict[str, np.ndarray] = field(repr=False)

    def to_dict(self) -> dict:
        """JSON-ready summary (totals, per class, per video)."""
        return {
            "root": str(self.root),
            "videos": len(self.per_video),
            "frames": int(self.per_video["num_frames"].sum()) if len(self.per_video) else 0,
            "boxes": int(len(self.boxes)),
            "image_size": list(self.image_size),
            "per_class": to_jsonable(self.per_class.to_dict(orient="records")),
            "per_video": to_jsonable(self.per_video.to_dict(orient="records")),
        }

    def table(self) -> str:
        """A readable text table of the per-class and per-video counts."""
        lines = [f"{self.root}: {len(self.per_video)} videos, {len(self.boxes)} boxes"]
        lines.append(f"{'class':<18}{'boxes':>10}{'fraction':>10}{'w mean':>8}{'h mean':>8}{'per frame':>11}")
        for r in self.per_class.itertuples(index=False):
            lines.append(
                f"{r[0]:<18}{r.boxes:>10d}{r.fraction:>10.3f}{r.width_mean:>8.1f}{r.height_mean:>8.1f}{r.boxes_per_frame_mean:>11.2f}"
            )
        lines.append("")
        lines.append(
            f"{'video':<12}{'frames':>8}{'fps':>7}{'sperm/frame':>13}{'cluster':>9}{'pinhead':>9}{'empty':>7}{'tracks':>8}"
        )
        for r in self.per_video.itertuples(index=False):
            lines.append(
                f"{r.video:<12}{r.num_frames:>8d}{r.fps:>7.1f}{r.sperm_per_frame:>13.2f}{r.cluster:>9d}"
                f"{r.small_or_pinhead:>9d}{r.frames_without_boxes:>7d}{r.tracks:>8d}"
            )
        return "\n".join(lines)

    def save(self, out_dir: str | os.PathLike, force: bool = False) -> dict[str, Path]:
        """Write ``stats.json``, ``per_video.csv``, ``per_class.csv`` and the figures (PNG).

        The folder is one transaction (:func:`spermtrack.results.result_dir`): built
        under a temporary name with a completion marker, swapped in at the end,
        never inside the dataset root. ``force`` replaces the statistics of another root.
        Returns the written paths by name.
        """
        from .results import result_dir

        settings = {"videos": [str(v) for v in self.per_video["video"]]}
        with result_dir(out_dir, kind="stats", source=self.root, settings=settings, force=force) as tmp:
            paths = self._write(tmp)
        return {k: Path(out_dir) / p.relative_to(tmp) for k, p in paths.items()}

    def _write(self, out: Path) -> dict[str, Path]:
        from .viz.plots import figure_box_centers, figure_box_sizes, save_figure

        paths = {"stats": out / "stats.json", "per_video": out / "per_video.csv", "per_class": out / "per_class.csv"}
        with atomic_open(paths["stats"]) as fh:
            json.dump(self.to_dict(), fh, indent=1, allow_nan=False)
        with atomic_open(paths["per_video"], newline="") as fh:
            self.per_video.to_csv(fh, index=False)
        with atomic_open(paths["per_class"], newline="") as fh:
            self.per_class.to_csv(fh, index=False)
        paths["box_centers"] = save_figure(figure_box_centers(self.boxes, self.image_size), out / "box_centers.png")
        paths["box_coverage"] = save_figure(
            figure_box_centers(self.boxes, self.image_size, mode="coverage"), out / "box_coverage.png"
        )
        paths["box_sizes"] = save_figure(figure_box_sizes(self.boxes), out / "box_sizes.png")
        paths["counts_per_frame"] = save_figure(self._figure_counts(), out / "counts_per_frame.png")
        return paths

    def _figure_counts(self):
        import matplotlib

        matplotlib.use("Agg", force=False)
        from matplotlib.figure import Figure

        fig = Figure(figsize=(8, 3.2), layout="constrained")
        ax = fig.subplots()
        for vid, counts in self.counts_per_frame.items():
            ax.plot(np.arange(len(counts)), counts[:, 0], lw=0.8, label=vid)
        ax.set_xlabel("frame")
        ax.set_ylabel("sperm boxes per frame")
        ax.set_title("Sperm per frame, per video")
        if 0 < len(self.counts_per_frame) <= 20:
            ax.legend(ncol=5, fontsize=6, loc="upper right")
        return fig


def dataset_stats(
    root: str | os.PathLike, videos: list[str] | None = None, progress: bool = False, classes: list[int] | None = None
) -> DatasetStats:
    """Read the labels of every video of a VISEM-layout root and compute its statistics.

    Parameters
    ----------
    root : path-like
        A VISEM-layout root (videos found at any depth).
    videos : list of str, optional
        Only these video ids.
    progress : bool
        Show a progress bar over videos.
    classes : list of int, optional
        Class ids besides VISEM's 0, 1, 2 that the labels may hold; any other class
        is an error (:class:`~spermtrack.errors.BoxesError` naming the video) rather
        than a box that silently vanishes from the per-class tables.
    """
    from .boxes import check_classes

    ds = VisemDataset(root)
    ids = list(ds.video_ids) if videos is None else [str(v) for v in videos]
    iterator = ids
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(ids, unit="video", desc="stats")
    rows, parts, own_parts, counts = [], [], [], {}
    sizes: Counter = Counter()
    loaded = []
    for vid in iterator:
        video = ds.video(vid)
        has_ids = (video.path / "labels_ftid").is_dir()
        boxes = _own_sizes(video, video.tracks() if has_ids else video.labels())
        check_classes(boxes, str(video.path), classes)
        w, h = video.image_size
        sizes[(w, h)] += 1
        loaded.append((vid, video, boxes, (w, h), has_ids))
    image_size = sizes.most_common(1)[0][0] if sizes else (640, 480)
    offset = 0
    for vid, video, boxes, (w, h), has_ids in loaded:
        per_cls = np.stack([np.bincount(boxes.frame[boxes.cls == c], minlength=boxes.num_frames) for c in range(3)], axis=1)
        per_cls = per_cls[: boxes.num_frames]
        counts[vid] = per_cls
        nf = boxes.num_frames
        row = {
            "video": vid,
            "num_frames": int(nf),
            "fps": float(video.fps),
            "width": int(w),
            "height": int(h),
            "frames_without_boxes": int(np.count_nonzero(per_cls.sum(axis=1) == 0)),
            "tracks": int(len(boxes.unique_tracks())) if has_ids else 0,
        }
        for c, name in enumerate(CLASS_NAMES):
            row[name] = int(per_cls[:, c].sum())
            row[f"{name}_per_frame"] = float(per_cls[:, c].mean()) if nf else 0.0
        rows.append(row)
        sx, sy = image_size[0] / w, image_size[1] / h
        own_parts.append(boxes.replace(frame=boxes.frame + offset, num_frames=offset + nf))
        parts.append(
            Boxes(
                boxes.frame + offset,
                boxes.x1 * sx,
                boxes.y1 * sy,
                boxes.x2 * sx,
                boxes.y2 * sy,
                boxes.score,
                boxes.cls,
                num_frames=offset + nf,
                validate=False,
            )
        )
        offset += nf
    all_boxes = Boxes.concat(parts, num_frames=offset) if parts else Boxes.empty()
    own = Boxes.concat(own_parts, num_frames=offset) if own_parts else Boxes.empty()
    per_video = pd.DataFrame(rows, columns=_PER_VIDEO_COLUMNS)
    per_class = _per_class(own, offset, classes)
    return DatasetStats(Path(root), per_video, per_class, all_boxes, image_size, counts)


def _own_sizes(video, boxes: Boxes) -> Boxes:
    """Boxes converted with each image's own size (the loader normalises with the first image's size).

    VISEM labels are normalised to their image; a frame whose image differs in size
    from frame 0 is rescaled here by its own width and height (read from the header).
    """
    from .io.frames import image_size

    files = video.image_files()
    if not files or not len(boxes):
        return boxes
    w0, h0 = video.image_size
    frames = np.unique(boxes.frame)
    scale = {}
    for f in frames:
        if f < len(files):
            w, h = image_size(files[f])
            if (w, h) != (w0, h0):
                scale[int(f)] = (w / w0, h / h0)
    if not scale:
        return boxes
    sx = np.ones(len(boxes))
    sy = np.ones(len(boxes))
    for f, (a, b) in scale.items():
        sel = boxes.frame == f
        sx[sel], sy[sel] = a, b
    return boxes.replace(x1=boxes.x1 * sx, x2=boxes.x2 * sx, y1=boxes.y1 * sy, y2=boxes.y2 * sy)


_PER_VIDEO_COLUMNS = [
    "video",
    "num_frames",
    "fps",
    "width",
    "height",
    "frames_without_boxes",
    "tracks",
    *[c for name in CLASS_NAMES for c in (name, f"{name}_per_frame")],
]


def _per_class(boxes: Boxes, total_frames: int, extra: list[int] | None = None) -> pd.DataFrame:
    rows = []
    n = max(1, len(boxes))
    names = dict(enumerate(CLASS_NAMES))
    names.update({int(c): str(c) for c in (extra or []) if int(c) not in names})
    for c, name in sorted(names.items()):
        sel = boxes.cls == c
        w, h = boxes.width[sel].astype(np.float64), boxes.height[sel].astype(np.float64)
        k = int(sel.sum())

        def stat(a, f):
            return float(f(a)) if a.size else float("nan")

        rows.append(
            {
                "class": name,
                "boxes": k,
                "fraction": k / n,
                "width_mean": stat(w, np.mean),
                "width_min": stat(w, np.min),
                "width_max": stat(w, np.max),
                "height_mean": stat(h, np.mean),
                "height_min": stat(h, np.min),
                "height_max": stat(h, np.max),
                "boxes_per_frame_mean": k / total_frames if total_frames else 0.0,
            }
        )
    return pd.DataFrame(rows)
