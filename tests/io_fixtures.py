"""Helpers for the io tests: VISEM-Tracking folders written by hand in the exact released format.

These writers deliberately do not use :func:`spermtrack.io.visem.write_video`, so
that the reader is checked against files made the way the dataset's own export
script makes them (``" ".join(str(v) for v in ...)``, one file per labelled frame).
"""

from __future__ import annotations

import random
import string
from pathlib import Path

import cv2
import numpy as np

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "visem"


def cuid(rng: random.Random) -> str:
    """A Labelbox-like feature id: ``c`` + 24 lowercase base-36 characters."""
    return "c" + "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(24))


def write_image(path: Path, width: int, height: int, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.full((height, width, 3), value % 256, np.uint8)
    img[:, : width // 2, 0] = (value * 7) % 256  # not flat, so JPEG has real content
    assert cv2.imwrite(str(path), img)


def write_label(path: Path, rows: list[list]) -> None:
    """Write one label file as the VISEM export does: ``str`` of each value, space separated."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        for row in rows:
            fh.write(" ".join(str(v) for v in row) + "\n")


def expected_pixels(rows: list[list], width: int, height: int) -> np.ndarray:
    """(N, 4) float32 corners computed in plain Python from ``class cx cy w h`` rows (float64 then float32)."""
    out = []
    for r in rows:
        cx, cy, w, h = (float(v) for v in r[-4:])
        x, y, bw, bh = cx * width, cy * height, w * width, h * height
        out.append([x - bw / 2, y - bh / 2, x + bw / 2, y + bh / 2])
    return np.asarray(out, np.float64).reshape(-1, 4).astype(np.float32)


def make_real_video(
    folder: Path,
    vid: str,
    per_frame: list[list[tuple[str, int]]],
    width: int = 640,
    height: int = 480,
    seed: int = 0,
    images: bool = True,
    missing_label: set[int] | None = None,
    empty_label: set[int] | None = None,
) -> dict:
    """Write ``folder/<vid>/`` in the released format.

    ``per_frame[f]`` lists ``(string_track_id, class)`` of the boxes of frame
    ``f``. Frames in ``missing_label`` get no label files, frames in
    ``empty_label`` get empty ones (whatever ``per_frame`` says).

    Returns the expected content: ``frame``, ``cls``, ``names`` (string id per
    box), ``xyxy`` (float32 pixels) for every box written, in file order.
    """
    rng = random.Random(seed)
    missing_label = missing_label or set()
    empty_label = empty_label or set()
    root = folder / vid
    exp = {"frame": [], "cls": [], "names": [], "xyxy": []}
    for f, boxes in enumerate(per_frame):
        if images:
            write_image(root / "images" / f"{vid}_frame_{f}.jpg", width, height, f)
        if f in missing_label:
            continue
        rows = []
        for name, c in boxes:
            w = rng.uniform(4, 50) / width
            h = rng.uniform(4, 50) / height
            cx = rng.uniform(w / 2, 1 - w / 2)
            cy = rng.uniform(h / 2, 1 - h / 2)
            rows.append([name, c, cx, cy, w, h])
        if f in empty_label:
            rows = []
        lab = root / "labels" / f"{vid}_frame_{f}.txt"
        ftid = root / "labels_ftid" / f"{vid}_frame_{f}_with_ftid.txt"
        if rows:
            write_label(lab, [r[1:] for r in rows])
            write_label(ftid, rows)
        else:
            lab.parent.mkdir(parents=True, exist_ok=True)
            ftid.parent.mkdir(parents=True, exist_ok=True)
            lab.write_text("")
            ftid.write_text("")
        for r in rows:
            exp["frame"].append(f)
            exp["cls"].append(r[1])
            exp["names"].append(r[0])
        exp["xyxy"].append(expected_pixels(rows, width, height))
    exp["xyxy"] = np.concatenate(exp["xyxy"]) if exp["xyxy"] else np.zeros((0, 4), np.float32)
    exp["frame"] = np.asarray(exp["frame"], np.int64)
    exp["cls"] = np.asarray(exp["cls"], np.int64)
    return exp
