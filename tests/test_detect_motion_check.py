"""The motion check of analyze's warnings: does anything in the field move, net of the common drift?

Tracks are built so that the true travel of each is known: still objects with position
jitter carried by a sample flow, one cell swimming straight through it, and slow wanderers
(Brownian debris) that get far only over many seconds.
"""

import numpy as np
import pytest

from spermtrack import Boxes
from spermtrack.detect.quality import (
    MOVING_HEAD_BOXES,
    MOVING_WINDOW_S,
    check_detections,
    detection_warnings,
    track_travel,
    with_motion,
)

FRAMES, SIDE, DRIFT_PX, FPS = 50, 20.0, (2.0, -1.0), 50.0  # frames, head box side (px), flow per frame (px), frames/s
TIMES = np.arange(FRAMES) / FPS


def _tracks(n_still=10, swimmer_px_per_frame=3.0, jitter_px=0.3, drop_frame=None, seed=0):
    """``n_still`` still objects and (unless the speed is 0) one swimmer, all carried by the drift."""
    rng = np.random.default_rng(seed)
    t = np.arange(FRAMES)
    drift = np.outer(t, DRIFT_PX)
    rows = []
    for k in range(n_still + (swimmer_px_per_frame > 0)):
        start = np.array([40.0 + 35 * k, 300.0])
        if k == n_still:  # the swimmer: straight down
            own = np.outer(t, (0.0, swimmer_px_per_frame))
        else:
            own = rng.normal(0, jitter_px, (FRAMES, 2))
        xy = start + drift + own
        keep = t != drop_frame if k == 0 else np.ones(FRAMES, bool)
        rows += [(f, x, y, k + 1) for f, (x, y), ok in zip(t, xy, keep) if ok]
    f, x, y, tid = (np.array(c) for c in zip(*rows))
    h = SIDE / 2
    return Boxes.from_unsorted(f, x - h, y - h, x + h, y + h, score=np.full(len(f), 0.9), track_id=tid, num_frames=FRAMES)


def test_travel_is_measured_net_of_the_common_drift():
    tracks = _tracks(drop_frame=20)  # a gap in one still track: it is measured like the others
    ids, travel, head_px = track_travel(tracks, TIMES)
    assert list(ids) == list(range(1, 12)) and head_px == pytest.approx(SIDE)
    still, swimmer = travel[:-1] / SIDE, travel[-1] / SIDE
    # the flow carried every object (FRAMES - 1) x |DRIFT_PX| = 110 px; net of it the still ones stay within their jitter
    assert still.max() < 0.1, still
    assert swimmer == pytest.approx(3.0 * (FRAMES - 1) / SIDE, rel=0.03)
    # only the tracks asked for, in id order
    ids, travel, _ = track_travel(tracks, TIMES, np.array([11, 2]))
    assert list(ids) == [2, 11] and travel[1] / SIDE > 5
    # within a 0.2-s window the swimmer covers 10 frames x 3 px
    _, travel, _ = track_travel(tracks, TIMES, np.array([11]), window_s=0.2)
    assert travel[0] == pytest.approx(30.0, rel=0.05)


def test_slow_wandering_over_a_long_video_is_not_swimming():
    """Over 20 s a still object drifting on its own at 0.3 head box per second gets 6 boxes away, but never one
    box within a second; a cell at 2 boxes per second does."""
    n, fps = 1000, 50.0
    t = np.arange(n) / fps
    rows = []
    for k, speed in enumerate([0.3, 0.3, 0.3, 2.0]):  # head boxes per second, in different directions
        angle = 2.0 * k
        x = 100 + 60 * k + np.cos(angle) * speed * SIDE * t
        y = 300 + np.sin(angle) * speed * SIDE * t
        rows += [(f, xi, yi, k + 1) for f, xi, yi in zip(range(n), x, y)]
    f, x, y, tid = (np.array(c) for c in zip(*rows))
    h = SIDE / 2
    tracks = Boxes.from_unsorted(f, x - h, y - h, x + h, y + h, track_id=tid, num_frames=n)
    _, travel, _ = track_travel(tracks, t)
    boxes = travel / SIDE
    # the wanderers: 0.3 box in the 1-s window (their median velocity is taken for the drift, so up to ~2x that)
    assert boxes[:3].max() < 0.7 and boxes[3] > 1.5, boxes
    assert MOVING_WINDOW_S == 1.0


def test_travel_of_no_tracks():
    ids, travel, head_px = track_travel(Boxes.empty(10), np.arange(10) / FPS)
    assert len(ids) == 0 and len(travel) == 0 and np.isnan(head_px)


@pytest.mark.parametrize(
    "swimmer, valid, um_per_px, warns",
    [
        (0.0, None, None, True),  # a still field, uncalibrated: cannot tell immotile cells from specks
        (0.0, None, 0.25, False),  # calibrated: the head-size check speaks instead
        (3.0, None, None, False),  # one cell swims: the field is not still
        (0.0, [1, 2], None, False),  # two valid tracks are too few to call a field still
        (3.0, [1, 2, 3], None, True),  # the swimmer's track is not valid: the valid ones are still
    ],
)
def test_nothing_moves_warning(swimmer, valid, um_per_px, warns):
    tracks = _tracks(swimmer_px_per_frame=swimmer)
    valid = tracks.unique_tracks() if valid is None else np.array(valid)
    check = check_detections(tracks, FRAMES, um_per_px=um_per_px)
    check = with_motion(check, tracks, valid, TIMES)
    assert check.valid_tracks == len(valid)
    assert check.moving_tracks == int(swimmer > 0 and 11 in valid)
    d = check.to_dict()
    assert d["duration_s"] == pytest.approx(0.98) and d["max_travel_head_boxes"] == pytest.approx(
        check.max_travel_head_boxes, abs=1e-4
    )
    warned = [w for w in detection_warnings(check) if w.startswith("Nothing moves")]
    assert bool(warned) == warns, warned
    if warns:
        w = warned[0]
        assert f"none of the {len(valid)} valid tracks of this 1.0-s video" in w
        assert f"more than {MOVING_HEAD_BOXES:g} head box from where it was within 1 s" in w and "--um-per-px" in w


def test_motion_facts_are_absent_before_tracking():
    check = check_detections(_tracks(), FRAMES)
    assert check.valid_tracks is None and check.moving_tracks is None
    assert not any(w.startswith("Nothing moves") for w in detection_warnings(check))
