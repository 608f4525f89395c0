"""Burnt-in overlays: find the solid panels a camera or a preview drew over the field, and hide them.

Lab recordings often carry pixels that are not the sample: a white text panel (a logo, a
watermark, a CASA system's read-out), a black box behind a time stamp, black letterbox or
pillarbox bars around a PAL or a cropped frame. A detector reads their letters and edges as
objects, and a head next to such a panel is scored in the panel's company (one of the ten
real VISEM-Tracking frames of ``shared/reference/visem/real_frames``, h11, carries the
preview's watermark over a fifth of the frame; docs/detection.md).

:func:`find_overlays` finds them on a video's first frames, without being told: a panel is a
connected region of drawn pixels of the first frame, near-white (grey >=
:data:`BRIGHT_LEVEL`) or near-black (<= :data:`DARK_LEVEL`): a white panel and its black
letters, or a black box and its white ones (closed over 5 pixels, which bridges the letters'
anti-aliased and compressed edges, then opened over 7, which drops thin lines such as a frame's
own border; the near-white and the near-black pixels are also searched alone, for a field that
itself reaches one extreme), that

* is large: at least :data:`MIN_AREA_FRACTION` of the frame, at most
  :data:`MAX_AREA_FRACTION` of it (a saturated background is the sample, not a panel);
* is a rectangle: its extent is the rows and columns it fills at least half of (a bright head
  touching a white panel is trimmed off), and each of the four sides of that rectangle lies
  in it for at least :data:`MIN_BORDER_COVER` of its length (a clipped bright spot of uneven
  illumination, a round cell or the dark corner beyond a round field stop is curved);
* holds at least :data:`MIN_HELD` of the region's pixels in that rectangle (the dark corner
  beyond a round field stop curves away from any rectangle);
* has sharp edges: on each side of the rectangle away from the frame's border, the median
  grey level of the field 4-6 pixels outside differs from that of the 2 pixels just inside by
  at least :data:`MIN_EDGE_STEP`, and the field is level beyond it (from 4-6 to 8-11 pixels
  out it changes by at most :data:`MAX_FIELD_SLOPE` of that step): a drawn panel steps, even
  when compression or a resize has blurred its edge over a few pixels; illumination that clips
  to white still slopes there;
* does not change (several frames): its pixels' grey levels vary by at most
  :data:`MAX_TEMPORAL_RANGE` over the frames measured (the sample under a clipped field
  still moves and shows sensor noise at its edges).

:func:`fill_overlays` paints the panels in the video's background grey before a detector
sees the frames, and :func:`drop_boxes_in_overlays` removes any box whose centre lies in
one. All coordinates are pixels of the original frame; a panel is ``(x, y, w, h)``.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..algorithms.iou import iou_matrix
from ..boxes import Boxes

#: Grey level (0-255) from which a pixel of the first frame may belong to a white panel.
BRIGHT_LEVEL = 235
#: Grey level (0-255) up to which a pixel of the first frame may belong to a black panel or bar.
DARK_LEVEL = 16
#: Smallest panel, as a fraction of the frame's area (0.3 %: 30x30 px of a 640x480 frame).
MIN_AREA_FRACTION = 0.003
#: Largest panel, as a fraction of the frame's area: beyond it the region is the field itself.
MAX_AREA_FRACTION = 0.35
#: Fraction of each side of a region's rectangle that must lie in the region (a drawn panel: ~1).
MIN_BORDER_COVER = 0.8
#: Share of a region's pixels that its rectangle must hold (the rest: a touching head; a field stop's
#: curved dark corner holds far less).
MIN_HELD = 0.9
#: Grey-level step (0-255) between a panel's inner 2 px and the field 4-6 px outside it, on every side.
MIN_EDGE_STEP = 30.0
#: Largest change of the field from 4-6 to 8-11 pixels outside a panel, as a share of its edge's step.
MAX_FIELD_SLOPE = 0.25
#: Largest grey-level range of a panel's pixels over the frames measured (a static drawing).
MAX_TEMPORAL_RANGE = 24.0


def find_overlays(gray: np.ndarray) -> tuple[tuple[int, int, int, int], ...]:
    """The burnt-in panels of a video, as ``(x, y, w, h)`` rectangles in pixels (the module's rules).

    Parameters
    ----------
    gray : ndarray
        ``(N, H, W)`` or ``(H, W)`` uint8 grey frames of one video (its first frames).

    Returns
    -------
    tuple of (x, y, w, h)
        Each panel's bounding box, sorted from the top left; empty when there is none.
    """
    g = np.asarray(gray)
    if g.ndim == 2:
        g = g[None]
    ref = g[0]  # drawn over the sample, a panel is whole in every frame; the others only confirm it stays
    height, width = ref.shape
    area = float(height * width)
    # a panel and its lettering are both drawn at the extremes (black on white, white on black)
    bright, dark = ref >= BRIGHT_LEVEL, ref <= DARK_LEVEL
    found: list[tuple[int, int, int, int]] = []
    for drawn in (bright | dark, bright, dark):  # one kind alone where the field itself reaches the other extreme
        for rect in _panels_in(drawn.astype(np.uint8), ref, g, area):
            if not any(_overlap(rect, r) > 0.5 for r in found):
                found.append(rect)
    return tuple(sorted(found, key=lambda r: (r[1], r[0])))


def _panels_in(drawn: np.ndarray, ref: np.ndarray, g: np.ndarray, area: float) -> list[tuple[int, int, int, int]]:
    """The regions of the mask ``drawn`` (1: a drawn pixel of the first frame ``ref``) that pass the module's rules."""
    found = []
    closed = cv2.morphologyEx(drawn, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    # opening drops lines thinner than 7 px (a frame's thin border would join a panel to its neighbours)
    solid = cv2.morphologyEx(closed, cv2.MORPH_OPEN, np.ones((7, 7), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(solid, connectivity=8)
    for k in range(1, n):
        x, y, w, h, pixels = (int(v) for v in stats[k])
        if pixels < MIN_AREA_FRACTION * area or w * h > MAX_AREA_FRACTION * area:
            continue
        inside = labels[y : y + h, x : x + w] == k
        # the panel's own extent: rows and columns it mostly fills (a bright head touching it is trimmed off)
        rows, cols = np.flatnonzero(inside.mean(axis=1) >= 0.5), np.flatnonzero(inside.mean(axis=0) >= 0.5)
        if rows.size == 0 or cols.size == 0:
            continue
        x, y, w, h = x + int(cols[0]), y + int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)
        inside = inside[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        if inside.sum() < MIN_AREA_FRACTION * area or inside.sum() < MIN_HELD * pixels:
            continue
        if min(inside[0].mean(), inside[-1].mean(), inside[:, 0].mean(), inside[:, -1].mean()) < MIN_BORDER_COVER:
            continue
        if not _sharp_edges(ref, x, y, w, h):
            continue
        if len(g) > 1:
            span = g[:, y : y + h, x : x + w][:, inside]
            if float(np.median(span.max(axis=0).astype(np.int16) - span.min(axis=0))) > MAX_TEMPORAL_RANGE:
                continue
        found.append((x, y, w, h))
    return found


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over union of two ``(x, y, w, h)`` rectangles (the project's one IoU, :func:`iou_matrix`)."""
    return float(iou_matrix([a[0], a[1], a[0] + a[2], a[1] + a[3]], [b[0], b[1], b[0] + b[2], b[1] + b[3]])[0, 0])


def _sharp_edges(ref: np.ndarray, x: int, y: int, w: int, h: int) -> bool:
    """True when each side of the rectangle away from the frame's border is a step, not a slope.

    Along each side (medians over its length): the 2 pixels just inside, the field 4-6 pixels
    outside (past an edge that compression or a resize has blurred over a few pixels) and the
    field 8-11 pixels outside. A drawn panel steps by at least :data:`MIN_EDGE_STEP` from the
    first to the second and the field is level from the second to the third (within
    :data:`MAX_FIELD_SLOPE` of the step); illumination that clips to white still slopes there.
    A side closer than 11 pixels to the frame's border is not judged.
    """
    height, width = ref.shape
    sides = []  # (inside, near, far) strips
    if y >= 11:
        sides.append((ref[y : y + 2, x : x + w], ref[y - 6 : y - 3, x : x + w], ref[y - 11 : y - 7, x : x + w]))
    if y + h <= height - 11:
        sides.append(
            (ref[y + h - 2 : y + h, x : x + w], ref[y + h + 3 : y + h + 6, x : x + w], ref[y + h + 7 : y + h + 11, x : x + w])
        )
    if x >= 11:
        sides.append((ref[y : y + h, x : x + 2], ref[y : y + h, x - 6 : x - 3], ref[y : y + h, x - 11 : x - 7]))
    if x + w <= width - 11:
        sides.append(
            (ref[y : y + h, x + w - 2 : x + w], ref[y : y + h, x + w + 3 : x + w + 6], ref[y : y + h, x + w + 7 : x + w + 11])
        )
    if not sides:
        return False  # the whole frame
    for inside, near, far in sides:
        a, b, c = (float(np.median(v)) for v in (inside, near, far))
        if abs(a - b) < MIN_EDGE_STEP or abs(b - c) > MAX_FIELD_SLOPE * abs(a - b):
            return False
    return True


def fill_overlays(frames: np.ndarray, overlays, level: float) -> np.ndarray:
    """``frames`` (``(N, H, W[, 3])`` uint8) with each panel painted in the grey ``level`` (a copy; the input is kept).

    A flat patch in the field's background grey (the look's ``background``). Tried and not
    taken: the field's illumination inpainted from around the panel (shrunk 16x, OpenCV's
    Telea method, enlarged). On the ten real frames (label tops restored) under the drawn text
    panel, time stamp and letterbox bars of ``benchmarks/detector_robustness.py`` the default
    detector scored 0.569 / 0.599 / 0.574 sperm AP@0.5 with it, 0.635 / 0.603 / 0.593 with the
    flat patch (docs/detection.md).
    """
    if not overlays:
        return frames
    out = np.array(frames, copy=True)
    value = int(round(min(max(float(level), 0.0), 255.0)))
    for x, y, w, h in overlays:
        out[:, y : y + h, x : x + w] = value
    return out


def drop_boxes_in_overlays(boxes: Boxes, overlays) -> Boxes:
    """``boxes`` without those whose centre lies in a panel (pixels of the original frame)."""
    if not overlays or len(boxes) == 0:
        return boxes
    cx = (np.asarray(boxes.x1) + np.asarray(boxes.x2)) / 2.0
    cy = (np.asarray(boxes.y1) + np.asarray(boxes.y2)) / 2.0
    inside = np.zeros(len(boxes), bool)
    for x, y, w, h in overlays:
        inside |= (cx >= x) & (cx < x + w) & (cy >= y) & (cy < y + h)
    return boxes.filter(~inside) if inside.any() else boxes
