"""Conversions between :class:`~spermtrack.Boxes` and the tables of other tools.

- **ultralytics**: :func:`from_ultralytics` reads the ``Results`` of a YOLO model (one per
  frame, as ``model.predict`` / ``model.track`` return them); classes are mapped by the
  model's class names (:func:`spermtrack.classes.class_lookup`), track ids of
  ``model.track`` are kept.
- **supervision**: :func:`from_supervision` / :func:`to_supervision` convert
  ``supervision.Detections`` (one per frame); ``tracker_id`` <-> ``track_id``.
- **trackpy**: :func:`from_trackpy` / :func:`to_trackpy` convert trackpy's table of
  points (``frame, x, y[, particle]``, centres in pixels).
- **TrackMate** (Fiji): :func:`write_trackmate_csv` writes the spot table that TrackMate's
  CSV importer (``Plugins > Tracking > TrackMate CSV importer``) reads.

Every optional library is imported only when its adapter runs, through
:func:`spermtrack.errors.require`, which names the extra to install. The column
conventions are in docs/interop.md.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .boxes import CLASS_NAMES, UNTRACKED, Boxes
from .errors import BoxesError, SpermtrackError, require

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .calibration import Calibration

#: Box side (pixels) given to points that carry no size (trackpy tables without ``size`` or
#: ``w, h``): the mean sperm head box of VISEM-Tracking, 23x23 px at 640x480.
DEFAULT_BOX_PX = 23.0
#: trackpy's ``size`` (radius of gyration, pixels) to a box side: ``side = SIZE_TO_SIDE * size``.
#: Both a uniform disc (Rg = R/sqrt 2, side 2R) and a Gaussian spot (Rg = sqrt 2 sigma, side 4 sigma)
#: give 2 sqrt 2.
SIZE_TO_SIDE = 2.0 * math.sqrt(2.0)
#: Columns of :func:`trackmate_table`, in the order written (FRAME first: the importer's
#: column guess takes the first column whose name starts with "t" or "frame").
TRACKMATE_COLUMNS = ("FRAME", "TRACK_ID", "POSITION_X", "POSITION_Y", "POSITION_T", "QUALITY", "RADIUS")


def _numpy(values) -> np.ndarray:
    """A torch tensor (any device) or array-like as a NumPy array."""
    if hasattr(values, "detach"):
        values = values.detach()
    if hasattr(values, "cpu"):
        values = values.cpu()
    if hasattr(values, "numpy"):
        values = values.numpy()
    return np.asarray(values)


# --------------------------------------------------------------------------- ultralytics


def from_ultralytics(
    results,
    first_frame: int = 0,
    class_map: Mapping[int, int] | None = None,
    num_frames: int | None = None,
) -> Boxes:
    """Boxes from ultralytics ``Results``: one per frame, in frame order.

    Parameters
    ----------
    results : ultralytics.engine.results.Results or iterable of them
        What ``YOLO(...).predict(frames)`` or ``.track(...)`` returns (a list, or the
        generator of ``stream=True``). Result ``i`` is frame ``first_frame + i``; a single
        ``Results`` is frame ``first_frame``.
    first_frame : int
        Frame index (0-based) of the first result.
    class_map : mapping, optional
        ``{model class id: spermtrack class id}``; unlisted ids are dropped. By default the
        model's class names decide (``sperm``, ``cluster``, ``small_or_pinhead`` ...), else
        the index (classes >= 3 dropped with a warning), as
        :func:`~spermtrack.classes.class_lookup` does.
    num_frames : int, optional
        Frames of the video (default: ``first_frame`` + number of results).

    Returns
    -------
    Boxes
        Pixel corners of the original frames (``boxes.xyxy``), ``score`` = confidence,
        ``track_id`` from ``boxes.id`` where the results come from ``model.track`` (else -1).

    Raises
    ------
    SpermtrackError
        A result without axis-aligned boxes (classification, pose-only or oriented-box
        models), or an item that is not a ``Results``.
    """
    from .classes import DROP, class_lookup

    if hasattr(results, "boxes") or hasattr(results, "obb"):
        results = [results]
    fr, xyxy, score, cls, tid = [], [], [], [], []
    lookup = None
    n = 0
    for i, res in enumerate(results):
        n = i + 1
        frame = first_frame + i
        if not hasattr(res, "names") or not hasattr(res, "boxes"):
            raise SpermtrackError(f"result {i} (frame {frame}) is a {type(res).__name__}, not an ultralytics Results")
        b = res.boxes
        if b is None:
            kind = "oriented boxes (OBB)" if getattr(res, "obb", None) is not None else "no boxes (a classification model?)"
            raise SpermtrackError(f"result {i} (frame {frame}) holds {kind}; spermtrack reads axis-aligned detection boxes")
        if lookup is None:
            names = dict(res.names)
            nc = max(len(names), max(names, default=-1) + 1)
            lookup = class_lookup(names, nc, class_map)
        if len(b) == 0:
            continue
        c = _numpy(b.cls).astype(np.int64).reshape(-1)
        inside = (c >= 0) & (c < len(lookup))
        mapped = np.full(c.shape, DROP, np.int16)
        mapped[inside] = lookup[c[inside]]
        ok = mapped != DROP
        k = int(ok.sum())
        fr.append(np.full(k, frame, np.int32))
        xyxy.append(_numpy(b.xyxy).astype(np.float32).reshape(-1, 4)[ok])
        score.append(_numpy(b.conf).astype(np.float32).reshape(-1)[ok])
        cls.append(mapped[ok])
        ids = getattr(b, "id", None)
        tid.append(np.full(k, UNTRACKED, np.int64) if ids is None else _numpy(ids).astype(np.int64).reshape(-1)[ok])
    total = first_frame + n if num_frames is None else int(num_frames)
    if not fr or sum(len(f) for f in fr) == 0:
        return Boxes.empty(total)
    a = np.concatenate(xyxy)
    return Boxes(
        np.concatenate(fr),
        a[:, 0],
        a[:, 1],
        a[:, 2],
        a[:, 3],
        score=np.concatenate(score),
        cls=np.concatenate(cls),
        track_id=np.concatenate(tid),
        num_frames=total,
    )


# --------------------------------------------------------------------------- supervision


def from_supervision(
    detections,
    frame: int = 0,
    num_frames: int | None = None,
    class_map: Mapping[int, int] | None = None,
) -> Boxes:
    """Boxes from ``supervision.Detections``.

    Parameters
    ----------
    detections : supervision.Detections or sequence of them
        One ``Detections`` (all its boxes in frame ``frame``) or one per frame (item ``i``
        is frame ``frame + i``). ``xyxy`` in pixels.
    frame : int
        Frame index (0-based) of the (first) ``Detections``.
    num_frames : int, optional
        Frames of the video (default: one past the last frame given).
    class_map : mapping, optional
        ``{class_id: spermtrack class id}``, unlisted ids dropped. By default the class
        names in ``data["class_name"]`` decide when they are sperm class names (as
        ``Detections.from_ultralytics`` fills them), else ``class_id`` is taken as is for
        0, 1, 2 and higher ids are dropped with a warning. No ``class_id``: class 0.

    Returns
    -------
    Boxes
        ``score`` = ``confidence`` (1 when None), ``track_id`` = ``tracker_id`` (-1 when None).
    """
    from .classes import DROP, NAME_TO_CLASS, _norm, class_lookup

    single = hasattr(detections, "xyxy")
    items = [detections] if single else list(detections)
    parts = []
    for i, det in enumerate(items):
        f = int(frame) + i
        if not hasattr(det, "xyxy"):
            raise SpermtrackError(f"item {i} (frame {f}) is a {type(det).__name__}, not a supervision.Detections")
        xyxy = np.asarray(det.xyxy, np.float64).reshape(-1, 4)
        n = len(xyxy)
        conf = None if det.confidence is None else np.asarray(det.confidence, np.float64).reshape(-1)
        tracker = None if det.tracker_id is None else np.asarray(det.tracker_id).reshape(-1)
        if det.class_id is None:
            cls = np.zeros(n, np.int16)
            keep = np.ones(n, bool)
        else:
            cid = np.asarray(det.class_id).astype(np.int64).reshape(-1)
            names = None
            class_name = (getattr(det, "data", None) or {}).get("class_name")
            if class_name is not None and len(class_name) == n:
                names = {int(k): str(v) for k, v in zip(cid, class_name)}
            nc = int(cid.max()) + 1 if n else 1
            if class_map is None and names and all(_norm(v) in NAME_TO_CLASS for v in names.values()):
                # names of the ids present only (a frame need not show every class): map each by its name
                lookup = np.full(max(nc, 1), DROP, np.int16)
                for k, v in names.items():
                    if k >= 0:
                        lookup[k] = NAME_TO_CLASS[_norm(v)]
            else:
                lookup = class_lookup(names, nc, class_map)
            inside = (cid >= 0) & (cid < len(lookup))
            mapped = np.full(n, DROP, np.int16)
            mapped[inside] = lookup[cid[inside]]
            keep = mapped != DROP
            cls = mapped
        parts.append(
            Boxes(
                np.full(int(keep.sum()), f, np.int32),
                xyxy[keep, 0],
                xyxy[keep, 1],
                xyxy[keep, 2],
                xyxy[keep, 3],
                score=None if conf is None else conf[keep],
                cls=cls[keep],
                track_id=None if tracker is None else tracker[keep],
                num_frames=f + 1,
            )
        )
    last = int(frame) + len(items)
    total = last if num_frames is None else int(num_frames)
    if total < last:
        raise BoxesError(f"num_frames={total} but the detections reach frame {last - 1}")
    return Boxes.concat(parts, num_frames=total) if parts else Boxes.empty(total)


def to_supervision(boxes: Boxes, frame: int | None = None):
    """``supervision.Detections`` of one frame, or a list of them (one per frame).

    Parameters
    ----------
    boxes : Boxes
    frame : int, optional
        The frame to convert. ``None``: every frame ``0 .. num_frames-1`` (empty frames
        give empty ``Detections``), as a list.

    Returns
    -------
    supervision.Detections or list of them
        ``xyxy`` (float32 pixels), ``confidence`` = ``score``, ``class_id`` = ``cls``,
        ``tracker_id`` = ``track_id`` (None when no box of the table is tracked; -1 for an
        untracked box of a tracked table) and ``data["class_name"]`` (``sperm``, ``cluster``,
        ``small_or_pinhead``).
    """
    sv = require("supervision", "adapters", "converting to supervision.Detections")
    tracked = bool(np.any(boxes.track_id != UNTRACKED))

    def one(b: Boxes):
        names = np.array([CLASS_NAMES[c] if 0 <= c < len(CLASS_NAMES) else f"class{c}" for c in b.cls.tolist()], dtype=str)
        return sv.Detections(
            xyxy=b.xyxy.astype(np.float32).reshape(-1, 4),
            confidence=b.score.astype(np.float32),
            class_id=b.cls.astype(int),
            tracker_id=b.track_id.astype(int) if tracked else None,
            data={"class_name": names},
        )

    if frame is not None:
        if not 0 <= int(frame) < boxes.num_frames:
            raise BoxesError(f"frame {frame} is outside the table's {boxes.num_frames} frames")
        return one(boxes.at_frame(int(frame)))
    return [one(b) for _, b in boxes.iter_frames()]


# --------------------------------------------------------------------------- trackpy


def from_trackpy(df: pd.DataFrame, box_px: float = DEFAULT_BOX_PX, num_frames: int | None = None) -> Boxes:
    """Boxes from a trackpy table of points.

    Parameters
    ----------
    df : pandas.DataFrame
        Columns ``frame`` (0-based), ``x``, ``y`` (point centre, pixels), optionally
        ``particle`` (track id, from ``trackpy.link``). The box around each point is
        ``w`` x ``h`` pixels when those columns exist, else a square of side
        ``2 sqrt(2) * size`` when trackpy's ``size`` (radius of gyration, pixels) exists,
        else ``box_px``. Optional ``score`` and ``cls`` columns are kept. Other columns
        (``mass``, ``ecc``, the ``x_um, y_um, t_s`` of :func:`to_trackpy`...) are ignored.
    box_px : float
        Box side (pixels) of points without a size; default 23 px, VISEM's mean sperm box.
    num_frames : int, optional
        Frames of the video (default: the last frame + 1).

    Returns
    -------
    Boxes
        Sorted by frame (stable); ``track_id`` = ``particle`` (-1 without it).
    """
    missing = [c for c in ("frame", "x", "y") if c not in df.columns]
    if missing:
        raise BoxesError(f"trackpy table lacks column(s) {missing}; it has {list(df.columns)}")
    n = len(df)
    cx = df["x"].to_numpy(np.float64)
    cy = df["y"].to_numpy(np.float64)
    if "w" in df.columns and "h" in df.columns:
        w, h = df["w"].to_numpy(np.float64), df["h"].to_numpy(np.float64)
    elif "size" in df.columns:
        w = h = df["size"].to_numpy(np.float64) * SIZE_TO_SIDE
    else:
        if not (np.isfinite(box_px) and box_px > 0):
            raise BoxesError(f"box_px must be a positive number of pixels, got {box_px}")
        w = h = np.full(n, float(box_px))
    bad = ~(np.isfinite(w) & (w >= 0) & np.isfinite(h) & (h >= 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise BoxesError(f"trackpy table row {i} (frame {df['frame'].iloc[i]}) has a box size that is negative or not finite")

    def col(name):
        return df[name].to_numpy() if name in df.columns else None

    return Boxes.from_unsorted(
        col("frame"),
        cx - w / 2,
        cy - h / 2,
        cx + w / 2,
        cy + h / 2,
        score=col("score"),
        cls=col("cls"),
        track_id=col("particle"),
        num_frames=num_frames,
    )


def to_trackpy(boxes: Boxes, calibration: Calibration | None = None) -> pd.DataFrame:
    """A trackpy table: one row per box, ``frame, x, y`` (centre, pixels) and ``particle``.

    Parameters
    ----------
    boxes : Boxes
    calibration : Calibration, optional
        Adds ``t_s`` (seconds, ``frame / fps``) and, when it has ``um_per_px``, ``x_um`` and
        ``y_um`` (centre in µm). ``x`` and ``y`` stay in pixels, as trackpy expects
        (its ``emsd(traj, mpp, fps)`` takes the scale separately).

    Returns
    -------
    pandas.DataFrame
        ``frame`` (int), ``x``, ``y`` (centre, pixels), ``particle`` (track id; absent
        when no box is tracked: a table of points ready for ``trackpy.link``), ``size``
        (trackpy's radius of gyration, ``sqrt(w h) / (2 sqrt 2)`` px), ``w``, ``h`` (box
        size, px), ``score``, ``cls``, then the calibrated columns. Sorted by
        ``particle, frame`` (tracked) or ``frame``. Untracked boxes of a tracked table are
        left out with a warning (trackpy would take ``-1`` for one particle).
    """
    import pandas as pd

    b = boxes
    tracked = b.track_id != UNTRACKED
    has_tracks = bool(tracked.any())
    if has_tracks and not tracked.all():
        dropped = int((~tracked).sum())
        warnings.warn(f"to_trackpy: {dropped} untracked box(es) left out of the trackpy table", stacklevel=3)
        b = b[tracked]
    w = b.width.astype(np.float64)
    h = b.height.astype(np.float64)
    df = pd.DataFrame(
        {
            "frame": b.frame.astype(np.int64),
            "x": b.cx.astype(np.float64),
            "y": b.cy.astype(np.float64),
        }
    )
    if has_tracks:
        df["particle"] = b.track_id.astype(np.int64)
    df["size"] = np.sqrt(w * h) / SIZE_TO_SIDE
    df["w"], df["h"] = w, h
    df["score"] = b.score.astype(np.float64)
    df["cls"] = b.cls.astype(np.int64)
    if calibration is not None:
        if calibration.calibrated:
            df["x_um"] = df["x"] * calibration.um_per_px
            df["y_um"] = df["y"] * calibration.um_per_px
        df["t_s"] = df["frame"] / calibration.fps
    if has_tracks:
        df = df.sort_values(["particle", "frame"], kind="stable").reset_index(drop=True)
    df.attrs["num_frames"] = boxes.num_frames
    return df


# --------------------------------------------------------------------------- TrackMate


def trackmate_table(tracks: Boxes, calibration: Calibration | None = None) -> pd.DataFrame:
    """The spot table :func:`write_trackmate_csv` writes (see there for the columns)."""
    import pandas as pd

    b = tracks
    tracked = b.track_id != UNTRACKED
    has_tracks = bool(tracked.any())
    if has_tracks and not tracked.all():
        warnings.warn(
            f"TrackMate export: {int((~tracked).sum())} untracked box(es) left out (TrackMate links spots by TRACK_ID)",
            stacklevel=3,
        )
        b = b[tracked]
    scale = 1.0 if calibration is None or not calibration.calibrated else float(calibration.um_per_px)
    radius = np.sqrt(b.width.astype(np.float64) * b.height.astype(np.float64)) / 2.0
    df = pd.DataFrame(
        {
            "FRAME": b.frame.astype(np.int64),
            "TRACK_ID": b.track_id.astype(np.int64),
            "POSITION_X": b.cx.astype(np.float64) * scale,
            "POSITION_Y": b.cy.astype(np.float64) * scale,
            "POSITION_T": b.frame.astype(np.float64) / (calibration.fps if calibration is not None else 1.0),
            "QUALITY": b.score.astype(np.float64),
            "RADIUS": radius * scale,
        }
    )
    if not has_tracks:
        df = df.drop(columns="TRACK_ID")
    else:
        df = df.sort_values(["TRACK_ID", "FRAME"], kind="stable").reset_index(drop=True)
    return df


def write_trackmate_csv(path: str | os.PathLike, tracks: Boxes, calibration: Calibration | None = None) -> Path:
    """Write tracks as the CSV that TrackMate's CSV importer reads (Fiji).

    One header line, then one spot per line (comma-separated, no index):

    ``FRAME`` (0-based frame, integer, as TrackMate counts), ``TRACK_ID`` (integer; spots of
    one id are linked in frame order), ``POSITION_X``, ``POSITION_Y`` (box centre),
    ``POSITION_T`` (``frame / fps`` seconds; frames without a calibration), ``QUALITY``
    (the detection score), ``RADIUS`` (``sqrt(w h) / 2``, half the box's geometric mean
    side). Positions and radius are in µm when ``calibration`` has ``um_per_px`` (open the
    image with the same pixel size in Fiji: TrackMate's spots live in the image's physical
    units), else in pixels (set the image's pixel size to 1).

    A table without any track id (raw detections) is written without ``TRACK_ID``, so
    TrackMate can link the spots itself; untracked boxes of a tracked table are left out
    with a warning.

    Parameters
    ----------
    path : path-like
        The CSV file to write (replaced atomically).
    tracks : Boxes
    calibration : Calibration, optional

    Returns
    -------
    Path
    """
    from .atomic import atomic_open

    df = trackmate_table(tracks, calibration)
    path = Path(path)
    with atomic_open(path, "w", newline="") as fh:
        df.to_csv(fh, index=False, float_format="%.5f", lineterminator="\n")
    return path
