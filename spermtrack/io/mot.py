"""MOTChallenge text files: ``frame,id,x,y,w,h,conf,x/class,y,z``.

The format of MOT15/16/17/20 results and ground truth, read by py-motmetrics
and TrackEval: one box per line, frames **1-based**, ``x, y`` the top-left
corner and ``w, h`` the size in pixels, ``conf`` the detection confidence (or,
in ground truth, the "consider this box" flag), then three columns that MOT15
uses for world coordinates (``-1`` when unknown). spermtrack's frames are
0-based: :func:`read_mot` subtracts 1 and :func:`write_mot` adds it.

Classes: with ``with_class=True`` the writer puts the class id (0 sperm, 1
cluster, 2 small-or-pinhead) in the 8th column, where MOT16/17 ground truth
keeps its class; otherwise the column is ``-1``. The reader takes a class from
the 8th column when every value there is a whole number ``>= -1`` (a value of
``-1`` means class 0); MOT15's world coordinates (fractions) are recognised
and ignored. See docs/formats.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..atomic import atomic_open
from ..boxes import Boxes
from ..errors import FormatError
from . import _text

#: Number of columns written; files with 6 to 10 columns are read.
MOT_COLUMNS = 10
_MIN_COLUMNS = 6


def read_mot(
    path: str | os.PathLike,
    num_frames: int | None = None,
    with_class: bool | None = None,
    score_range: tuple[float, float] | None = None,
) -> Boxes:
    """Read a MOTChallenge file into :class:`~spermtrack.Boxes`.

    Parameters
    ----------
    path : path-like
        A comma- (or white-space-) separated file, 6 to 10 columns,
        ``frame,id,x,y,w,h[,conf[,c8[,c9[,c10]]]]`` with 1-based frames.
    num_frames : int, optional
        Number of frames of the video (keeps trailing empty frames); defaults to
        the largest frame in the file. A box beyond it is an error.
    with_class : bool or None
        ``None`` (default): read the class from the 8th column when that column
        holds whole numbers ``>= -1`` (``-1`` -> class 0), else ignore it.
        ``True``: the 8th column must hold classes. ``False``: ignore it (class 0).
    score_range : (low, high), optional
        Refuse a ``conf`` (column 7) outside ``[low, high]``, naming the file and line
        (``spermtrack track`` reads detections with ``(0, 1)``, the range of the tracker's
        score thresholds). Default: any finite value (MOT15/16 detection files hold
        detector scores outside [0, 1]; ground truth holds the 0/1 "consider" flag).
        A width or height of 0 is accepted (an empty box: IoU 0 with every box).

    Returns
    -------
    Boxes
        0-based frames, pixel corners (``x1 = float32(x)``,
        ``x2 = float32(x1 + w)``), ``score = conf`` (1 when absent), ``track_id``
        from ``id`` (``-1`` untracked), sorted by frame (stable: the file's order
        within a frame is kept).

    Raises
    ------
    FormatError
        Naming the file and line: wrong number of fields, a field that is not a
        number, a frame < 1, a non-whole frame/id/class, an id < -1, a negative
        width or height, a frame beyond ``num_frames``, a score outside ``score_range``.
    FileNotFoundError
        When ``path`` does not exist.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "gt.txt"
    >>> _ = p.write_text("1,1,10,20,5,6,1,-1,-1,-1\\n3,1,12,21,5,6,1,-1,-1,-1\\n")
    >>> b = read_mot(p)
    >>> b.frame.tolist(), b.x2.tolist(), b.num_frames
    ([0, 2], [15.0, 17.0], 3)
    """
    path = Path(path)
    buf, starts = _text.read_files([path])
    plain = _text.parse_plain_numbers(buf, starts, [path], MOT_COLUMNS, comma_is_separator=True, min_fields=_MIN_COLUMNS)
    if plain is not None:  # plain decimal numbers: parsed in one pass, rows scanned only for an error
        rows, nfields, line0 = plain.rows, plain.nfields, (int(plain.line[0]) if len(plain.line) else 0)
    else:
        rows = _text.scan(buf, starts, [path], comma_is_separator=True)
        nfields, line0 = rows.nfields, (int(rows.line[0]) if len(rows) else 0)
    if len(nfields) == 0:
        return Boxes.empty(num_frames or 0)
    bad_count = (nfields < _MIN_COLUMNS) | (nfields > MOT_COLUMNS)
    if bad_count.any():
        _text.check_field_count(rows, range(_MIN_COLUMNS, MOT_COLUMNS + 1), "frame,id,x,y,w,h[,conf,c8,c9,c10]")
    ncols = int(nfields[0])
    same = nfields == ncols
    if not same.all():
        r = int(np.flatnonzero(~same)[0])
        raise _text.row_error(rows, r, f"has {int(nfields[r])} fields but line {line0} has {ncols}")
    if plain is not None:
        v = plain.values[:, :ncols]
    else:
        _, v = _text.convert(rows, ncols)

    frame = _text.whole_numbers(rows, v[:, 0], "the frame (column 1)", 1, MAX_FRAME) - 1
    tid = _text.whole_numbers(rows, v[:, 1], "the id (column 2)", -1)
    bad = (v[:, 4] < 0) | (v[:, 5] < 0)
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise _text.row_error(rows, r, "negative width or height")
    if score_range is not None and ncols > 6:
        lo, hi = score_range
        bad = ~((v[:, 6] >= lo) & (v[:, 6] <= hi))
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise _text.row_error(rows, r, f"the score (column 7) is {v[r, 6]:g}, outside [{lo:g}, {hi:g}]")
    if num_frames is not None and frame.max() >= num_frames:
        r = int(np.argmax(frame >= num_frames))
        raise _text.row_error(rows, r, f"frame {frame[r] + 1} is beyond num_frames={num_frames}")
    score = v[:, 6] if ncols > 6 else None
    cls = _read_class(rows, v, ncols, with_class)

    x1 = v[:, 2].astype(np.float32)
    y1 = v[:, 3].astype(np.float32)
    x2 = (x1.astype(np.float64) + v[:, 4]).astype(np.float32)
    y2 = (y1.astype(np.float64) + v[:, 5]).astype(np.float32)
    if frame.size < 2 or bool((frame[1:] >= frame[:-1]).all()):  # the usual file: already in frame order
        return Boxes(frame, x1, y1, x2, y2, score=score, cls=cls, track_id=tid, num_frames=num_frames)
    return Boxes.from_unsorted(frame, x1, y1, x2, y2, score=score, cls=cls, track_id=tid, num_frames=num_frames)


#: The largest frame number read (1-based): 10 million frames, 55 hours at 50 frames/s. Every
#: per-frame table is as long as the last frame, so a typo like 1e12 must stop here, not in memory.
MAX_FRAME = 10_000_000

#: When column 8 holds non-negative whole numbers on at least this share of the lines, it is a class
#: column: a line with another value there is an error, not a reason to read the column as MOT15's
#: world coordinates (which would silently make every box a sperm).
CLASS_MAJORITY = 0.9


def _read_class(rows, v: np.ndarray, ncols: int, with_class: bool | None) -> np.ndarray | None:
    if with_class is False:
        return None
    if ncols < 8:
        if with_class:
            raise FormatError(f"with_class=True but the file has only {ncols} columns (the class is the 8th)", rows.paths[0])
        return None
    c = v[:, 7]
    is_class = (c == np.round(c)) & (c >= -1) & (c <= np.iinfo(np.int16).max)
    if not is_class.all():
        r = int(np.flatnonzero(~is_class)[0])
        if with_class:
            raise _text.row_error(rows, r, f"column 8 must hold a class id (whole number >= -1), got {c[r]:g}")
        if ((c >= 0) & is_class).mean() >= CLASS_MAJORITY:  # class ids with a few broken ones, not coordinates
            raise _text.row_error(
                rows,
                r,
                f"column 8 holds class ids (whole numbers) on {is_class.mean():.0%} of the lines but {c[r]:g} here: "
                "fix the line, or write -1 in column 8 for no class",
            )
        return None  # MOT15 world coordinates, not classes
    return np.where(c < 0, 0, c).astype(np.int16)


def write_mot(path: str | os.PathLike, boxes: Boxes, with_class: bool = False) -> Path:
    """Write :class:`~spermtrack.Boxes` as a MOTChallenge file (atomically).

    Each box becomes ``frame+1,id,x,y,w,h,score,c8,-1,-1`` where ``c8`` is the
    class id when ``with_class`` is true and ``-1`` otherwise; untracked boxes
    get id ``-1``. Numbers are written with the fewest decimals that read back
    to the identical float32 table, so ``read_mot(write_mot(p, b))`` equals
    ``b`` exactly (with ``with_class=True``, or when all classes are 0), and a
    file read from typical MOTChallenge text is written back character for
    character (up to its 8th-10th columns and line endings).

    Parameters
    ----------
    path : path-like
        Destination (parent folders are created).
    boxes : Boxes
        Pixel boxes, 0-based frames.
    with_class : bool
        Write the class id in the 8th column.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    x1 = boxes.x1.astype(np.float64)
    y1 = boxes.y1.astype(np.float64)
    xs = _text.shortest_decimals(x1, boxes.x1)
    ys = _text.shortest_decimals(y1, boxes.y1)
    ws = _text.shortest_decimals(boxes.x2.astype(np.float64) - x1, boxes.x2, base=x1)
    hs = _text.shortest_decimals(boxes.y2.astype(np.float64) - y1, boxes.y2, base=y1)
    ss = _text.shortest_decimals(boxes.score.astype(np.float64), boxes.score)
    frames = (boxes.frame.astype(np.int64) + 1).tolist()
    ids = boxes.track_id.tolist()
    c8 = boxes.cls.tolist() if with_class else [-1] * len(boxes)
    with atomic_open(path, "w", newline="\n") as fh:
        fh.writelines(
            f"{f},{i},{x},{y},{w},{h},{s},{c},-1,-1\n" for f, i, x, y, w, h, s, c in zip(frames, ids, xs, ys, ws, hs, ss, c8)
        )
    return path
