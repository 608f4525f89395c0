"""The one currency of spermtrack: a columnar, frame-sorted table of boxes.

Detectors return :class:`Boxes`, the tracker takes and returns it, ground truth
loads into it, metrics and kinematics read it. The columns are plain NumPy
arrays of fixed dtypes so that Numba kernels take them without copies.

Coordinates are in pixels of the full-resolution frame, ``x1 <= x2`` and
``y1 <= y2``, with ``(x1, y1)`` the top-left corner. Frames are 0-based indices
(VISEM-Tracking numbers its files from 0; MOTChallenge's 1-based frames are
converted by :mod:`spermtrack.io.mot`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .errors import BoxesError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: Class ids of VISEM-Tracking, in order.
CLASS_NAMES: tuple[str, ...] = ("sperm", "cluster", "small_or_pinhead")
SPERM, CLUSTER, PINHEAD = 0, 1, 2

#: Column name -> dtype, in the canonical order.
COLUMNS: dict[str, np.dtype] = {
    "frame": np.dtype(np.int32),
    "x1": np.dtype(np.float32),
    "y1": np.dtype(np.float32),
    "x2": np.dtype(np.float32),
    "y2": np.dtype(np.float32),
    "score": np.dtype(np.float32),
    "cls": np.dtype(np.int16),
    "track_id": np.dtype(np.int64),
}
UNTRACKED = -1


class Boxes:
    """A frame-sorted table of axis-aligned boxes.

    Parameters
    ----------
    frame : array_like of int, shape (N,)
        0-based frame index of each box; must be non-decreasing.
    x1, y1, x2, y2 : array_like of float, shape (N,)
        Box corners in pixels.
    score : array_like of float, shape (N,), optional
        Detection confidence in [0, 1]; 1 when omitted (ground truth).
    cls : array_like of int, shape (N,), optional
        Class id (0 sperm, 1 cluster, 2 small-or-pinhead); 0 when omitted.
    track_id : array_like of int, shape (N,), optional
        Track identity, ``-1`` (``UNTRACKED``) for untracked boxes.
    num_frames : int, optional
        Number of frames of the video the boxes belong to, so that trailing
        frames without boxes are known. Defaults to ``max(frame) + 1``.
    validate : bool
        Check the table (shapes, finite values, ``x2 >= x1``, sorted frames) and
        raise :class:`~spermtrack.errors.BoxesError` naming the first bad row.

    Notes
    -----
    The arrays are stored with the dtypes of :data:`COLUMNS` (converted without
    a copy when they already have them) and are treated as immutable: every
    method returns a new table. ``frame_offsets`` (length ``num_frames + 1``)
    gives O(1) access to one frame: its boxes are rows
    ``frame_offsets[f]:frame_offsets[f + 1]``.

    Examples
    --------
    >>> b = Boxes([0, 0, 2], [1, 5, 9], [1, 5, 9], [4, 8, 12], [4, 8, 12])
    >>> len(b), b.num_frames, len(b.at_frame(1)), len(b.at_frame(0))
    (3, 3, 0, 2)
    """

    __slots__ = ("frame", "x1", "y1", "x2", "y2", "score", "cls", "track_id", "num_frames", "_offsets")

    frame: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    x2: np.ndarray
    y2: np.ndarray
    score: np.ndarray
    cls: np.ndarray
    track_id: np.ndarray
    num_frames: int

    def __init__(
        self,
        frame: Sequence[int] | np.ndarray,
        x1: Sequence[float] | np.ndarray,
        y1: Sequence[float] | np.ndarray,
        x2: Sequence[float] | np.ndarray,
        y2: Sequence[float] | np.ndarray,
        score: Sequence[float] | np.ndarray | None = None,
        cls: Sequence[int] | np.ndarray | None = None,
        track_id: Sequence[int] | np.ndarray | None = None,
        num_frames: int | None = None,
        validate: bool = True,
    ) -> None:
        n = int(np.size(frame))
        frame_arr = _column("frame", frame, n)
        cols = {"frame": frame_arr}
        for name, values in (("x1", x1), ("y1", y1), ("x2", x2), ("y2", y2)):
            cols[name] = _column(name, values, n)
        cols["score"] = np.ones(n, np.float32) if score is None else _column("score", score, n)
        cols["cls"] = np.zeros(n, np.int16) if cls is None else _column("cls", cls, n)
        cols["track_id"] = np.full(n, UNTRACKED, np.int64) if track_id is None else _column("track_id", track_id, n)
        for name, arr in cols.items():
            object.__setattr__(self, name, arr)
        if num_frames is None:
            num_frames = int(frame_arr[-1]) + 1 if n else 0
        object.__setattr__(self, "num_frames", int(num_frames))
        object.__setattr__(self, "_offsets", None)
        if validate:
            self.validate()

    @classmethod
    def _trusted(cls_, cols: dict[str, np.ndarray], num_frames: int) -> Boxes:
        """Build from columns that already have the dtypes of :data:`COLUMNS` and form a valid table.

        No conversion, copy or check: for internal hot paths (per-frame slices, the
        streaming tracker) whose inputs come from a validated table.
        """
        self = object.__new__(cls_)
        for name, put in _SLOT_SETTERS:  # the slots' own setters: no attribute lookup by name
            put(self, cols[name])
        _put_num_frames(self, num_frames)
        _put_offsets(self, None)
        return self

    @classmethod
    def _trusted_columns(cls_, frame, x1, y1, x2, y2, score, cls, track_id, num_frames: int) -> Boxes:
        """:meth:`_trusted` with the columns given in :data:`COLUMNS` order (no dict: the per-frame hot path)."""
        self = object.__new__(cls_)
        _put_frame(self, frame)
        _put_x1(self, x1)
        _put_y1(self, y1)
        _put_x2(self, x2)
        _put_y2(self, y2)
        _put_score(self, score)
        _put_cls(self, cls)
        _put_track_id(self, track_id)
        _put_num_frames(self, num_frames)
        _put_offsets(self, None)
        return self

    def __setattr__(self, name, value):
        raise AttributeError("Boxes is immutable: use .replace(...) to get a changed copy")

    def __reduce__(self):
        """Pickle by columns (multiprocessing, Dask, joblib): a table comes back as the same :class:`Boxes`.

        The default protocol would set the slots one by one, which the immutable table refuses.
        """
        return (_unpickle_boxes, (tuple(getattr(self, name) for name in COLUMNS), self.num_frames))

    # ------------------------------------------------------------------ construction
    @classmethod
    def empty(cls_, num_frames: int = 0) -> Boxes:
        """A table with no boxes over ``num_frames`` frames."""
        z = np.zeros(0)
        return cls_(np.zeros(0, np.int32), z, z, z, z, num_frames=num_frames)

    @classmethod
    def from_xyxy(
        cls_,
        frame: Sequence[int] | np.ndarray,
        xyxy: np.ndarray,
        score=None,
        cls=None,
        track_id=None,
        num_frames: int | None = None,
    ) -> Boxes:
        """Build from an ``(N, 4)`` array of ``x1, y1, x2, y2`` pixels."""
        xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
        return cls_(frame, xyxy[:, 0], xyxy[:, 1], xyxy[:, 2], xyxy[:, 3], score, cls, track_id, num_frames)

    @classmethod
    def from_xywh(cls_, frame, xywh: np.ndarray, score=None, cls=None, track_id=None, num_frames=None) -> Boxes:
        """Build from an ``(N, 4)`` array of top-left ``x, y`` and width, height in pixels (MOT style)."""
        a = np.asarray(xywh, dtype=np.float64).reshape(-1, 4)
        return cls_(frame, a[:, 0], a[:, 1], a[:, 0] + a[:, 2], a[:, 1] + a[:, 3], score, cls, track_id, num_frames)

    @classmethod
    def from_cxcywh(cls_, frame, cxcywh: np.ndarray, score=None, cls=None, track_id=None, num_frames=None) -> Boxes:
        """Build from an ``(N, 4)`` array of centre ``cx, cy`` and width, height in pixels (YOLO style)."""
        a = np.asarray(cxcywh, dtype=np.float64).reshape(-1, 4)
        hw, hh = a[:, 2] / 2.0, a[:, 3] / 2.0
        return cls_(frame, a[:, 0] - hw, a[:, 1] - hh, a[:, 0] + hw, a[:, 1] + hh, score, cls, track_id, num_frames)

    @classmethod
    def from_unsorted(cls_, frame, x1, y1, x2, y2, score=None, cls=None, track_id=None, num_frames=None) -> Boxes:
        """Like the constructor, but sorts rows by frame first (stable, keeps order within a frame)."""
        frame = np.asarray(frame).reshape(-1)
        order = np.argsort(frame, kind="stable")

        def pick(a):
            return None if a is None else np.asarray(a).reshape(-1)[order]

        return cls_(frame[order], pick(x1), pick(y1), pick(x2), pick(y2), pick(score), pick(cls), pick(track_id), num_frames)

    @staticmethod
    def concat(parts: Iterable[Boxes], num_frames: int | None = None) -> Boxes:
        """Concatenate tables; rows are re-sorted by frame (stable), ``num_frames`` is the largest."""
        parts = list(parts)
        if not parts:
            return Boxes.empty(num_frames or 0)
        cols = {name: np.concatenate([getattr(p, name) for p in parts]) for name in COLUMNS}
        nf = max(p.num_frames for p in parts) if num_frames is None else num_frames
        frame = cols["frame"]
        if frame.size > 1 and np.any(frame[1:] < frame[:-1]):
            order = np.argsort(frame, kind="stable")
            cols = {k: v[order] for k, v in cols.items()}
        return Boxes(**cols, num_frames=nf)

    # ------------------------------------------------------------------ validation
    def validate(self) -> Boxes:
        """Check shapes, finiteness, ``x2 >= x1``, ``y2 >= y1``, frames in ``[0, num_frames)`` and sorted.

        Returns ``self`` so it chains; raises :class:`BoxesError` naming the first bad row.
        """
        n = len(self.frame)
        if self.num_frames < 0:
            raise BoxesError(f"num_frames must be >= 0, got {self.num_frames}")
        coords = np.stack([self.x1, self.y1, self.x2, self.y2, self.score], axis=1) if n else np.zeros((0, 5))
        bad = ~np.isfinite(coords).all(axis=1)
        if bad.any():
            raise row_error(self, "value", int(np.flatnonzero(bad)[0]))
        bad = (self.x2 < self.x1) | (self.y2 < self.y1)
        if bad.any():
            raise row_error(self, "size", int(np.flatnonzero(bad)[0]))
        if n:
            if self.frame[0] < 0:
                raise row_error(self, "negative", 0)
            dec = np.flatnonzero(self.frame[1:] < self.frame[:-1])
            if dec.size:
                raise row_error(self, "order", int(dec[0]) + 1)
            if self.frame[-1] >= self.num_frames:
                raise row_error(self, "beyond", n - 1)
        return self

    # ------------------------------------------------------------------ basic protocol
    def __len__(self) -> int:
        return int(self.frame.shape[0])

    def __repr__(self) -> str:
        tracked = int(np.count_nonzero(self.track_id != UNTRACKED))
        return f"Boxes(n={len(self)}, num_frames={self.num_frames}, tracked={tracked}, tracks={len(self.unique_tracks())})"

    def __getitem__(self, index) -> Boxes:
        """Rows selected by a boolean mask, a slice or sorted integer indices (frame order is checked).

        An integer selects one row as a one-row table; out of range it raises ``IndexError``
        (so ``for row in boxes`` ends after the last row).
        """
        if isinstance(index, (int, np.integer)):
            n = len(self)
            i = int(index) + n if index < 0 else int(index)
            if not 0 <= i < n:
                raise IndexError(f"row {int(index)} is out of range for {n} boxes")
            index = slice(i, i + 1)
        cols = {name: getattr(self, name)[index] for name in COLUMNS}
        if isinstance(index, slice) and index.step in (None, 1):
            return Boxes._trusted(cols, self.num_frames)  # a contiguous run of a valid table is valid
        return Boxes(**cols, num_frames=self.num_frames, validate=not _is_bool_mask(index))

    def filter(self, mask: np.ndarray) -> Boxes:
        """Rows where the boolean ``mask`` (shape (N,)) is true."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != self.frame.shape:
            raise BoxesError(f"mask has shape {mask.shape}, expected {self.frame.shape}")
        return self[mask]

    def replace(self, **columns) -> Boxes:
        """A copy with some columns (or ``num_frames``) replaced, validated."""
        cols = {name: getattr(self, name) for name in COLUMNS}
        nf = columns.pop("num_frames", self.num_frames)
        unknown = set(columns) - set(cols)
        if unknown:
            raise BoxesError(f"unknown column(s) {sorted(unknown)}; columns are {list(COLUMNS)}")
        cols.update(columns)
        return Boxes(**cols, num_frames=nf)

    def copy(self) -> Boxes:
        """A deep copy (new arrays)."""
        return Boxes(**{name: getattr(self, name).copy() for name in COLUMNS}, num_frames=self.num_frames, validate=False)

    def equals(self, other: Boxes, atol: float = 0.0) -> bool:
        """True when both tables hold the same rows (coordinates within ``atol`` pixels) and ``num_frames``."""
        if not isinstance(other, Boxes) or len(self) != len(other) or self.num_frames != other.num_frames:
            return False
        for name in COLUMNS:
            a, b = getattr(self, name), getattr(other, name)
            if a.dtype.kind == "f":
                if not np.allclose(a, b, atol=atol, rtol=0.0):
                    return False
            elif not np.array_equal(a, b):
                return False
        return True

    # ------------------------------------------------------------------ frames
    @property
    def frame_offsets(self) -> np.ndarray:
        """int64 array of length ``num_frames + 1``: boxes of frame ``f`` are rows ``offsets[f]:offsets[f+1]``."""
        off = self._offsets
        if off is None:
            off = np.searchsorted(self.frame, np.arange(self.num_frames + 1, dtype=np.int64), side="left").astype(np.int64)
            object.__setattr__(self, "_offsets", off)
        return off

    def frame_slice(self, f: int) -> slice:
        """Row slice of frame ``f`` (O(1) after the first call)."""
        if not 0 <= f < self.num_frames:
            return slice(0, 0)
        off = self.frame_offsets
        return slice(int(off[f]), int(off[f + 1]))

    def at_frame(self, f: int) -> Boxes:
        """The boxes of frame ``f`` (views of the arrays, no copy)."""
        return self[self.frame_slice(f)]

    def counts_per_frame(self) -> np.ndarray:
        """Number of boxes in each frame, shape ``(num_frames,)``."""
        return np.diff(self.frame_offsets)

    def iter_frames(self) -> Iterator[tuple[int, Boxes]]:
        """Yield ``(frame, boxes)`` for every frame ``0 .. num_frames-1``, empty frames included.

        Each frame's table holds views of this table's rows (as :meth:`at_frame`); a column
        is sliced the first time it is read, so that a consumer that takes the rows by
        their position in this table (the streaming tracker) slices nothing.
        """
        off = self.frame_offsets.tolist()
        src = tuple(getattr(self, name) for name in COLUMNS)
        nf = self.num_frames
        make = _FrameRows._make
        for f in range(nf):
            a = off[f]
            yield f, make((src, a, a, off[f + 1] - a, False, f), nf)

    def select_frames(self, start: int, stop: int) -> Boxes:
        """Boxes of frames ``start <= f < stop``, renumbered from 0, ``num_frames = stop - start``."""
        start, stop = max(0, int(start)), min(self.num_frames, int(stop))
        stop = max(start, stop)
        off = self.frame_offsets
        part = self[int(off[start]) : int(off[stop])]
        return part.replace(frame=part.frame - start, num_frames=stop - start)

    # ------------------------------------------------------------------ geometry
    @property
    def xyxy(self) -> np.ndarray:
        """(N, 4) float32 array of ``x1, y1, x2, y2`` (a new array)."""
        return np.stack([self.x1, self.y1, self.x2, self.y2], axis=1) if len(self) else np.zeros((0, 4), np.float32)

    @property
    def xywh(self) -> np.ndarray:
        """(N, 4) float32 array of top-left ``x, y`` and ``w, h`` in pixels."""
        return np.stack([self.x1, self.y1, self.width, self.height], axis=1) if len(self) else np.zeros((0, 4), np.float32)

    @property
    def cxcywh(self) -> np.ndarray:
        """(N, 4) float32 array of centre ``cx, cy`` and ``w, h`` in pixels."""
        return np.stack([self.cx, self.cy, self.width, self.height], axis=1) if len(self) else np.zeros((0, 4), np.float32)

    @property
    def cx(self) -> np.ndarray:
        """Box centre x in pixels."""
        return (self.x1 + self.x2) * np.float32(0.5)

    @property
    def cy(self) -> np.ndarray:
        """Box centre y in pixels."""
        return (self.y1 + self.y2) * np.float32(0.5)

    @property
    def centers(self) -> np.ndarray:
        """(N, 2) float32 array of box centres in pixels."""
        return np.stack([self.cx, self.cy], axis=1) if len(self) else np.zeros((0, 2), np.float32)

    @property
    def width(self) -> np.ndarray:
        """Box width in pixels."""
        return self.x2 - self.x1

    @property
    def height(self) -> np.ndarray:
        """Box height in pixels."""
        return self.y2 - self.y1

    @property
    def area(self) -> np.ndarray:
        """Box area in square pixels."""
        return self.width * self.height

    @property
    def side(self) -> np.ndarray:
        """Box side in pixels: the geometric mean ``sqrt(width x height)`` (0 for a degenerate box)."""
        return np.sqrt(np.maximum(self.width, 0.0) * np.maximum(self.height, 0.0))

    # ------------------------------------------------------------------ tracks
    def unique_tracks(self) -> np.ndarray:
        """Sorted unique track ids, ``-1`` (untracked) excluded."""
        ids = np.unique(self.track_id)
        return ids[ids != UNTRACKED]

    def with_track_ids(self, track_id: np.ndarray) -> Boxes:
        """A copy with the given track ids (shape (N,))."""
        return self.replace(track_id=track_id)

    def track(self, track_id: int) -> Boxes:
        """The boxes of one track, in frame order."""
        return self[self.track_id == track_id]

    def groups(self, *, tracked_only: bool = False) -> TrackGroups:
        """Rows grouped by ``track_id``, in row (= frame) order inside each group.

        The one grouping of rows by track in the package (tracker post-processing,
        :meth:`by_track`, majority classes): a stable counting sort, O(N).

        Parameters
        ----------
        tracked_only : bool
            Leave out the untracked rows (``track_id == -1``); otherwise ``-1`` is a group too.

        Returns
        -------
        TrackGroups
            ``ids`` (T,) the sorted track ids; ``order`` (M,) row indices sorted by group,
            each group's rows in row order (frame order: rows are frame-sorted);
            ``offsets`` (T + 1,): group ``k`` owns ``order[offsets[k]:offsets[k+1]]``;
            ``dense`` (N,) each row's group index into ``ids`` (-1 for a row left out).
        """
        return _track_groups(self.track_id, tracked_only)

    def by_track(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Group rows by track for per-track loops (kinematics, track-level stats).

        Returns
        -------
        order : int64 array (M,)
            Row indices of all tracked boxes, sorted by ``(track_id, frame)``.
        ids : int64 array (T,)
            The track ids, ascending.
        offsets : int64 array (T + 1,)
            Track ``ids[k]`` owns rows ``order[offsets[k]:offsets[k+1]]``.

        The tracked part of :meth:`groups`.
        """
        g = self.groups(tracked_only=True)
        return g.order, g.ids, g.offsets

    # ------------------------------------------------------------------ pandas
    def to_dataframe(self) -> pd.DataFrame:
        """A pandas DataFrame with one column per field (``num_frames`` kept in ``df.attrs``)."""
        import pandas as pd

        df = pd.DataFrame({name: getattr(self, name) for name in COLUMNS})
        df.attrs["num_frames"] = self.num_frames
        return df

    @classmethod
    def from_dataframe(cls_, df: pd.DataFrame, num_frames: int | None = None) -> Boxes:
        """Build from a DataFrame with at least ``frame, x1, y1, x2, y2`` columns (rows sorted by frame here)."""
        missing = [c for c in ("frame", "x1", "y1", "x2", "y2") if c not in df.columns]
        if missing:
            raise BoxesError(f"DataFrame lacks column(s) {missing}; it has {list(df.columns)}")
        if num_frames is None:
            num_frames = df.attrs.get("num_frames")
        get = {c: (df[c].to_numpy() if c in df.columns else None) for c in COLUMNS}
        return cls_.from_unsorted(**get, num_frames=num_frames)

    # ------------------------------------------------------------------ other tools (spermtrack.interop)
    @classmethod
    def from_ultralytics(cls_, results, first_frame: int = 0, class_map=None, num_frames: int | None = None) -> Boxes:
        """From ultralytics ``Results`` (one per frame); see :func:`spermtrack.interop.from_ultralytics`."""
        from .interop import from_ultralytics

        return from_ultralytics(results, first_frame=first_frame, class_map=class_map, num_frames=num_frames)

    @classmethod
    def from_supervision(cls_, detections, frame: int = 0, num_frames: int | None = None, class_map=None) -> Boxes:
        """From ``supervision.Detections`` (one frame, or one per frame); see :func:`spermtrack.interop.from_supervision`."""
        from .interop import from_supervision

        return from_supervision(detections, frame=frame, num_frames=num_frames, class_map=class_map)

    def to_supervision(self, frame: int | None = None):
        """``supervision.Detections`` of ``frame``, or a list for every frame; see :func:`spermtrack.interop.to_supervision`."""
        from .interop import to_supervision

        return to_supervision(self, frame=frame)

    @classmethod
    def from_trackpy(cls_, df: pd.DataFrame, box_px: float = 23.0, num_frames: int | None = None) -> Boxes:
        """From a trackpy table ``frame, x, y[, particle]`` (centres, pixels); see :func:`spermtrack.interop.from_trackpy`."""
        from .interop import from_trackpy

        return from_trackpy(df, box_px=box_px, num_frames=num_frames)

    def to_trackpy(self, calibration=None) -> pd.DataFrame:
        """A trackpy table ``frame, x, y, particle`` (+ ``x_um, y_um, t_s`` when calibrated); see :func:`spermtrack.interop.to_trackpy`."""
        from .interop import to_trackpy

        return to_trackpy(self, calibration=calibration)


def _column(name: str, values, n: int) -> np.ndarray:
    """One column converted to its dtype; refuses other ranks, non-numbers and values the dtype cannot hold."""
    try:
        arr = np.asarray(values)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise BoxesError(f"column '{name}' is not an array of numbers ({exc})") from None
    if arr.ndim == 0 and n == 1:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise BoxesError(f"column '{name}' must be one-dimensional, got shape {arr.shape}")
    if arr.shape[0] != n:
        raise BoxesError(f"column '{name}' has {arr.shape[0]} values but 'frame' has {n}")
    dtype = COLUMNS[name]
    if arr.dtype.kind == "O" and n:  # Python numbers: converted exactly, each checked
        arr = _from_objects(name, arr, dtype)
    if arr.dtype.kind not in "biuf":
        try:
            arr = arr.astype(np.float64)
        except (ValueError, TypeError, OverflowError):
            raise BoxesError(f"column '{name}' holds values that are not numbers (dtype {arr.dtype})") from None
    if dtype.kind in "iu" and n:
        if arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)):
                i = int(np.flatnonzero(~np.isfinite(arr))[0])
                raise BoxesError(f"column '{name}' has a non-finite value at row {i}")
            if not np.all(arr == np.round(arr)):
                i = int(np.flatnonzero(arr != np.round(arr))[0])
                raise BoxesError(f"column '{name}' must hold whole numbers, row {i} has {float(arr[i])}")
        info = np.iinfo(dtype)
        lo, hi = arr.min(), arr.max()
        if lo < info.min or hi > info.max:
            i = int(np.flatnonzero((arr < info.min) | (arr > info.max))[0])
            value = arr[i].item()
            raise BoxesError(
                f"column '{name}' row {i} holds {value}, outside what its type {dtype} can hold ({info.min} to {info.max})"
            )
    elif dtype.kind == "f" and n and arr.dtype.kind == "f" and arr.dtype.itemsize > dtype.itemsize:
        big = np.isfinite(arr) & (np.abs(arr) > np.finfo(dtype).max)
        if big.any():
            i = int(np.flatnonzero(big)[0])
            raise BoxesError(f"column '{name}' row {i} holds {float(arr[i])!r}, too large for its type {dtype}")
    return np.ascontiguousarray(arr, dtype=dtype)


def _from_objects(name: str, arr: np.ndarray, dtype: np.dtype) -> np.ndarray:
    values = arr.tolist()
    if dtype.kind not in "iu":
        try:
            return np.array(values, dtype=np.float64)
        except (ValueError, TypeError, OverflowError):
            raise BoxesError(f"column '{name}' holds values that are not numbers") from None
    info = np.iinfo(dtype)
    out = []
    for i, v in enumerate(values):
        if isinstance(v, (float, np.floating)):
            if not np.isfinite(v):
                raise BoxesError(f"column '{name}' has a non-finite value at row {i}")
            if v != round(v):
                raise BoxesError(f"column '{name}' must hold whole numbers, row {i} has {v}")
            v = int(v)
        elif isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            if isinstance(v, (bool, np.bool_)):
                v = int(v)
            else:
                raise BoxesError(f"column '{name}' row {i} holds {v!r}, not a whole number")
        if not info.min <= int(v) <= info.max:
            raise BoxesError(
                f"column '{name}' row {i} holds {int(v)}, outside what its type {dtype} can hold ({info.min} to {info.max})"
            )
        out.append(int(v))
    return np.array(out, dtype=dtype)


def check_classes(boxes: Boxes, where: str, declared: Iterable[int] | None = None) -> None:
    """Refuse boxes whose class is neither a VISEM class (0, 1, 2) nor in ``declared``.

    A label of an unknown class is an error unless declared: it would otherwise be
    scored as a class of its own (e.g. halving a mean over classes) or vanish from
    per-class counts without a word.

    Raises
    ------
    BoxesError
        Naming ``where``, the unknown classes and their box counts.
    """
    known = set(range(len(CLASS_NAMES))) | {int(c) for c in (declared or ())}
    if not len(boxes):
        return
    values, counts = np.unique(boxes.cls, return_counts=True)
    unknown = {int(v): int(c) for v, c in zip(values, counts) if int(v) not in known}
    if unknown:
        first = int(np.flatnonzero(~np.isin(boxes.cls, list(known)))[0])
        listing = ", ".join(f"class {k}: {v} box{'es' if v != 1 else ''}" for k, v in unknown.items())
        raise BoxesError(
            f"{where}: unknown class(es) ({listing}; first at frame {int(boxes.frame[first])}); VISEM classes are "
            f"0 sperm, 1 cluster, 2 small_or_pinhead; declare others with --classes"
        )


def duplicate_rows(boxes: Boxes) -> np.ndarray:
    """Boolean mask of rows that repeat an earlier row of the same frame (same class and coordinates).

    A detections file concatenated twice gives every box twice; the tracker would
    make two tracks of every sperm. :func:`drop_duplicates` removes them.
    """
    if len(boxes) < 2:
        return np.zeros(len(boxes), bool)
    key = np.stack(
        [
            boxes.frame.astype(np.float64),
            boxes.cls.astype(np.float64),
            boxes.x1.astype(np.float64),
            boxes.y1.astype(np.float64),
            boxes.x2.astype(np.float64),
            boxes.y2.astype(np.float64),
        ],
        axis=1,
    )
    _, first = np.unique(key, axis=0, return_index=True)
    mask = np.ones(len(boxes), bool)
    mask[first] = False
    return mask


def drop_duplicates(boxes: Boxes) -> tuple[Boxes, int]:
    """``boxes`` without repeated rows (see :func:`duplicate_rows`) and how many were dropped."""
    dup = duplicate_rows(boxes)
    k = int(dup.sum())
    return (boxes[~dup] if k else boxes), k


def _is_bool_mask(index) -> bool:
    return isinstance(index, np.ndarray) and index.dtype == bool


# Slot setters for Boxes._trusted (the per-frame hot path of the streaming tracker).
_SLOT_SETTERS = tuple((name, Boxes.__dict__[name].__set__) for name in COLUMNS)
(_put_frame, _put_x1, _put_y1, _put_x2, _put_y2, _put_score, _put_cls, _put_track_id) = (put for _, put in _SLOT_SETTERS)
_put_num_frames = Boxes.__dict__["num_frames"].__set__
_put_offsets = Boxes.__dict__["_offsets"].__set__


def _lazy_column(k: int, name: str) -> property:
    slot = Boxes.__dict__[name]
    get, put = slot.__get__, slot.__set__

    def column(self):
        try:
            return get(self)
        except AttributeError:  # first read: slice it from the source (and keep it)
            src, a, h, m, copy_tail, _ = self._rows
            if k < 6:
                v = src[k][a : a + m]
            else:
                v = src[k][h : h + m]
                if copy_tail:
                    v = v.copy()
            put(self, v)
            return v

    return property(column, doc=f"The ``{name}`` column ({COLUMNS[name]}), sliced at its first read.")


class _FrameRows(Boxes):
    """A run of rows of other columns, as a :class:`Boxes` whose columns are sliced when first read.

    ``_rows = (src, a, h, m, copy_tail, f)``: ``src`` the 8 source columns in :data:`COLUMNS`
    order (already a valid table's dtypes), rows ``a:a+m`` of the first six (frame to score)
    and ``h:h+m`` of ``cls`` and ``track_id`` (copied at their first read when
    ``copy_tail``: the streaming tracker's outputs, whose sources are its own history);
    ``f`` the frame of the rows when they are one frame's (-1: not said).
    Everything else behaves as a :class:`Boxes`; the source is never written.
    """

    __slots__ = ("_rows",)

    @classmethod
    def _make(cls_, rows: tuple, num_frames: int) -> _FrameRows:
        self = object.__new__(cls_)
        _put_rows(self, rows)
        _put_num_frames(self, num_frames)
        _put_offsets(self, None)
        return self

    def __len__(self) -> int:
        return self._rows[3]


for _k, _name in enumerate(COLUMNS):
    setattr(_FrameRows, _name, _lazy_column(_k, _name))
_put_rows = _FrameRows.__dict__["_rows"].__set__
del _k, _name


def _unpickle_boxes(columns: tuple, num_frames: int) -> Boxes:
    """Inverse of :meth:`Boxes.__reduce__` (columns in :data:`COLUMNS` order, already of their dtypes)."""
    return Boxes._trusted(dict(zip(COLUMNS, columns)), num_frames)


class TrackGroups(NamedTuple):
    """Rows grouped by track (:meth:`Boxes.groups`); unpacks as ``ids, dense, order, offsets``.

    ``ids`` int64 (T,) sorted track ids; ``dense`` int64 (N,) each row's index into ``ids``
    (-1 for a row left out); ``order`` int64 (M,) row indices, group after group, each
    group's rows in row order; ``offsets`` int64 (T + 1,) group bounds into ``order``.
    """

    ids: np.ndarray
    dense: np.ndarray
    order: np.ndarray
    offsets: np.ndarray


def _track_groups(track_id: np.ndarray, tracked_only: bool = False) -> TrackGroups:
    tid = np.ascontiguousarray(track_id, np.int64)
    n = tid.shape[0]
    keep = None
    if tracked_only and n and tid.min() < 0:
        keep = tid != UNTRACKED
    sub = tid if keep is None else tid[keep]
    if len(sub) and 0 <= sub.min() and sub.max() <= 4 * len(sub) + 1024:
        present = np.zeros(int(sub.max()) + 1, bool)
        present[sub] = True
        ids = np.flatnonzero(present).astype(np.int64)
        dsub = (np.cumsum(present) - 1)[sub]
    else:
        ids, dsub = np.unique(sub, return_inverse=True)
        ids = ids.astype(np.int64)
    from .algorithms.grouping import counting_sort

    order, offsets = counting_sort(np.ascontiguousarray(dsub, np.int64), np.int64(len(ids)))
    if keep is None:
        return TrackGroups(ids, dsub.astype(np.int64, copy=False), order, offsets)
    rows = np.flatnonzero(keep)
    dense = np.full(n, -1, np.int64)
    dense[rows] = dsub
    return TrackGroups(ids, dense, rows[order], offsets)


def majority_class(groups: TrackGroups, cls: np.ndarray) -> np.ndarray:
    """The majority class of each group (int16 (T,)); ties go to the lower class.

    ``groups`` from :meth:`Boxes.groups`, ``cls`` the rows' classes (>= 0). The one
    majority vote of the package (the tracker's output, its post-processing).
    """
    k = len(groups.ids)
    if k == 0:
        return np.zeros(0, np.int16)
    c = np.asarray(cls, np.int64)
    rows = groups.order
    nc = int(c[rows].max()) + 1 if len(rows) else 1
    group_of_row = np.repeat(np.arange(k), np.diff(groups.offsets))
    votes = np.bincount(group_of_row * nc + c[rows], minlength=k * nc).reshape(k, nc)
    return votes.argmax(axis=1).astype(np.int16)


def row_error(b: Boxes, problem: str, i: int) -> BoxesError:
    """The :class:`~spermtrack.errors.BoxesError` for row ``i`` of ``b``, naming the row and its frame.

    The one wording of the row checks of the package (:meth:`Boxes.validate` and the
    tracker's kernel, :func:`spermtrack.track.core.rows_error`). ``problem``: "value"
    (a non-finite corner or score), "size" (``x2 < x1`` or ``y2 < y1``), "order" (frame
    before the previous row's), "negative" (negative frame) or "beyond" (frame at or
    beyond ``num_frames``).
    """
    if problem == "value":
        vals = [float(getattr(b, c)[i]) for c in ("x1", "y1", "x2", "y2", "score")]
        return BoxesError(f"row {i} (frame {b.frame[i]}) has a non-finite value: x1,y1,x2,y2,score = {vals}")
    if problem == "size":
        return BoxesError(
            f"row {i} (frame {b.frame[i]}) has a negative size: x1={b.x1[i]}, x2={b.x2[i]}, y1={b.y1[i]}, y2={b.y2[i]}"
        )
    if problem == "order":
        return BoxesError(
            f"frames are not sorted: row {i} has frame {b.frame[i]} after frame {b.frame[i - 1]} "
            "(use Boxes.from_unsorted or Boxes.concat to sort)"
        )
    if problem == "negative":
        return BoxesError(f"row {i} has a negative frame index {b.frame[i]}")
    if problem == "beyond":
        return BoxesError(f"row {i} has frame {b.frame[i]} but num_frames is {b.num_frames}")
    raise ValueError(f"unknown row problem {problem!r}")  # pragma: no cover
