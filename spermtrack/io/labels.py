"""YOLO label files as VISEM-Tracking has them: ``class cx cy w h`` and ``track_id class cx cy w h``.

One text file per frame, one box per line, coordinates normalised by the image
width and height, the track id an opaque string (a Labelbox feature id). This
module converts between such files and :class:`~spermtrack.Boxes` in pixels;
:mod:`spermtrack.io.visem` knows where the files live. Reading is vectorised
over all files of a video at once (see :mod:`spermtrack.io._text`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..boxes import UNTRACKED, Boxes
from ..errors import BoxesError
from . import _text

#: How far outside [0, 1] a normalised centre, and above 1 a normalised size, may be.
COORD_TOLERANCE = 0.01
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def read_label_files(
    paths: list[Path],
    frames: np.ndarray,
    num_frames: int,
    image_size: tuple[int, int],
    tracked: bool,
    tolerance: float = COORD_TOLERANCE,
    known_names: Mapping[str, str] | None = None,
) -> tuple[Boxes, dict[int, str] | None]:
    """Read YOLO label files (``class cx cy w h``, or ``track_id class cx cy w h`` when ``tracked``).

    Parameters
    ----------
    paths : list of Path
        One file per frame, in increasing frame order.
    frames : int array
        The frame index of each file.
    num_frames : int
        Frames of the video.
    image_size : (width, height)
        Pixels that normalised coordinates are multiplied by.
    tracked : bool
        Files start with a string track id.
    tolerance : float
        Allowed excess of normalised centres outside [0, 1] and sizes above 1.
    known_names : mapping of str(int) -> str, optional
        Integer ids to keep for given string ids (from ``spermtrack.json``).

    Returns
    -------
    (Boxes, track_names)
        ``track_names`` maps integer ids to string ids (None when not ``tracked``).
    """
    ncols = 6 if tracked else 5
    what = "track_id class cx cy w h" if tracked else "class cx cy w h"
    buf, starts = _text.read_files(paths)
    plain = _text.parse_plain_numbers(buf, starts, paths, ncols, min_fields=ncols, first_is_text=tracked)
    if plain is not None:  # plain decimal numbers: parsed in one pass, rows scanned only for an error
        rows, row_file, ids, v = plain.rows, plain.file, None, plain.values
        if (plain.nfields != ncols).any():
            _text.check_field_count(rows, [ncols], what)
    else:
        rows = _text.scan(buf, starts, paths)
        _text.check_field_count(rows, [ncols], what)
        ids, v = _text.convert(rows, ncols, first_is_text=tracked)
        row_file = rows.file
    cls = _text.whole_numbers(rows, v[:, 0], "the class (first number)", 0)
    if cls.size and cls.max() > np.iinfo(np.int16).max:
        raise _text.row_error(rows, int(np.argmax(cls)), "class id too large")
    check_normalised(rows, v[:, 1:5], tolerance)
    frames = np.asarray(frames, np.int64)
    W, H = float(image_size[0]), float(image_size[1])
    track_id = None
    names = None
    if tracked and plain is not None:
        track_id, names = _map_codes(plain.text_codes, plain.text_uniques, known_names)
    elif tracked:
        track_id, names = map_track_ids(ids, known_names)
    # the columns in one pass, as Boxes.from_cxcywh computes them; a table it would refuse
    # (a non-finite corner, frames out of order or range) goes through it for its error
    ok, frame, x1, y1, x2, y2, cls16 = _text.yolo_box_columns(
        np.ascontiguousarray(v), 1, W, H, frames, np.asarray(row_file, np.int64), int(num_frames)
    )
    if ok and num_frames >= 0:
        n = len(frame)
        cols = {
            "frame": frame,
            "x1": x1,
            "y1": y1,
            "x2": x2,
            "y2": y2,
            "score": np.ones(n, np.float32),
            "cls": cls16,
            "track_id": np.full(n, UNTRACKED, np.int64) if track_id is None else np.asarray(track_id, np.int64),
        }
        return Boxes._trusted(cols, int(num_frames)), names
    px = v[:, 1:5] * np.array([W, H, W, H])
    boxes = Boxes.from_cxcywh(frames[row_file], px, cls=cls, track_id=track_id, num_frames=num_frames)
    return boxes, names


def check_normalised(rows, v: np.ndarray, tol: float) -> None:
    names = ("cx", "cy", "w", "h")
    for k in range(4):
        col = v[:, k]
        if k < 2:
            bad = (col < -tol) | (col > 1 + tol)
            why = f"{names[k]} = {{}} is outside [0, 1] (normalised coordinates expected)"
        else:
            bad = (col < 0) | (col > 1 + tol)
            why = f"{names[k]} = {{}} is negative" + " or larger than 1 (normalised size expected)"
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise _text.row_error(rows, r, why.format(repr(float(col[r]))))


def map_track_ids(ids: np.ndarray, known: Mapping[str, str] | None = None) -> tuple[np.ndarray, dict[int, str]]:
    """Map string track ids to integers: ``known`` ones keep theirs, the others follow first appearance.

    Parameters
    ----------
    ids : object array (N,) of str
        The string id of each box, in file order.
    known : mapping str(int) -> str, optional
        Integer ids (as JSON keys) already given to some string ids.

    Returns
    -------
    (int64 array (N,), dict int -> str)

    >>> t, names = map_track_ids(np.array(["b", "a", "b", "c"], object), {"7": "c"})
    >>> t.tolist(), names
    ([8, 9, 8, 7], {8: 'b', 9: 'a', 7: 'c'})
    """
    import pandas as pd

    codes, uniques = pd.factorize(pd.Series(ids, dtype=object), sort=False)
    return _map_codes(codes, [str(u) for u in uniques], known)


def _map_codes(codes: np.ndarray, uniques: list[str], known: Mapping[str, str] | None) -> tuple[np.ndarray, dict[int, str]]:
    """:func:`map_track_ids` from codes numbered by first appearance and the string of each code."""
    given: dict[str, int] = {}
    if known:
        given = {str(name): int(k) for k, name in known.items()}
    next_id = max(given.values(), default=-1) + 1
    lut = np.empty(len(uniques), np.int64)
    for j, name in enumerate(uniques):
        if name in given:
            lut[j] = given[name]
        else:
            lut[j] = next_id
            next_id += 1
    names = {int(lut[j]): uniques[j] for j in range(len(uniques))}
    return lut[codes], names


def labelbox_id(video_id: str, track_id: int) -> str:
    """A deterministic 25-character Labelbox-like feature id (``c`` + 24 base-36 characters).

    >>> labelbox_id("11", 3) == labelbox_id("11", 3), len(labelbox_id("11", 3)), labelbox_id("11", 3)[0]
    (True, 25, 'c')
    """
    digest = int.from_bytes(hashlib.blake2b(f"spermtrack:{video_id}:{int(track_id)}".encode(), digest_size=16).digest(), "big")
    chars = []
    for _ in range(24):
        digest, r = divmod(digest, 36)
        chars.append(_B36[r])
    return "c" + "".join(chars)


def track_names_for(vid: str, boxes: Boxes, given: Mapping[int, str] | None = None) -> dict[int, str]:
    """String ids for the integer track ids of ``boxes``: ``given`` ones (checked), else :func:`labelbox_id`.

    Raises :class:`~spermtrack.errors.BoxesError` for a missing, empty, white-space
    holding or repeated name.
    """
    ids = boxes.unique_tracks().tolist()
    if given is None:
        names = {i: labelbox_id(vid, i) for i in ids}
    else:
        missing = [i for i in ids if i not in given]
        if missing:
            raise BoxesError(f"track_names has no name for track id(s) {missing[:10]}")
        names = {i: str(given[i]) for i in ids}
        bad = [n for n in names.values() if not n or any(c.isspace() for c in n)]
        if bad:
            raise BoxesError(f"track names must be non-empty and without white space, got {bad[:5]}")
    if len(set(names.values())) != len(names):
        raise BoxesError("two track ids have the same track name")
    return names


def format_label_lines(
    boxes: Boxes, size: tuple[int, int], names: Mapping[int, str] | None = None, tol: float = COORD_TOLERANCE
) -> tuple[list[str], list[str]]:
    """One ``class cx cy w h`` line per box (and ``track_id class cx cy w h`` when ``names`` are given).

    Coordinates are normalised by ``size`` ``(width, height)`` in pixels and
    written as Python's shortest round-trip ``repr``, as the released files are.
    Boxes whose centre lies outside the image by more than ``tol`` (normalised),
    boxes larger than the image and negative classes raise
    :class:`~spermtrack.errors.BoxesError` naming the row and frame.

    >>> b = Boxes([0], [10], [20], [30], [60], cls=[2], track_id=[4])
    >>> format_label_lines(b, (100, 100), {4: "ckabc"})
    (['2 0.2 0.4 0.2 0.4'], ['ckabc 2 0.2 0.4 0.2 0.4'])
    """
    W, H = float(size[0]), float(size[1])
    x1, y1 = boxes.x1.astype(np.float64), boxes.y1.astype(np.float64)
    x2, y2 = boxes.x2.astype(np.float64), boxes.y2.astype(np.float64)
    cx, cy = (x1 + x2) / 2 / W, (y1 + y2) / 2 / H
    w, h = (x2 - x1) / W, (y2 - y1) / H
    for name, col, hi in (("x centre", cx, 1 + tol), ("y centre", cy, 1 + tol)):
        bad = (col < -tol) | (col > hi)
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise BoxesError(f"row {r} (frame {boxes.frame[r]}): the {name} lies outside the {size[0]}x{size[1]} image")
    big = (w > 1 + tol) | (h > 1 + tol)
    if big.any():
        r = int(np.flatnonzero(big)[0])
        raise BoxesError(f"row {r} (frame {boxes.frame[r]}): the box is larger than the {size[0]}x{size[1]} image")
    if len(boxes) and boxes.cls.min() < 0:
        r = int(np.argmin(boxes.cls))
        raise BoxesError(f"row {r} (frame {boxes.frame[r]}): negative class {boxes.cls[r]}")
    body = [
        f"{c} {a!r} {b!r} {d!r} {e!r}"
        for c, a, b, d, e in zip(boxes.cls.tolist(), cx.tolist(), cy.tolist(), w.tolist(), h.tolist())
    ]
    ftid = [f"{names[t]} {s}" for t, s in zip(boxes.track_id.tolist(), body)] if names else []
    return body, ftid


def write_label_files(folder: Path, vid: str, boxes: Boxes, lines: list[str], pattern: str) -> None:
    """Write ``lines`` (one per row of ``boxes``) into one file per frame that has boxes.

    ``pattern`` names the files, e.g. ``"{vid}_frame_{i}.txt"``; frames without
    boxes get no file, as in the released dataset.
    """
    folder.mkdir(parents=True, exist_ok=True)
    off = boxes.frame_offsets
    for f in np.flatnonzero(np.diff(off)).tolist():
        chunk = lines[int(off[f]) : int(off[f + 1])]
        with open(folder / pattern.format(vid=vid, i=f), "w", encoding="utf-8", newline="\n") as fh:
            fh.write("\n".join(chunk) + "\n")
