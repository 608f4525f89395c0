"""Low true frame rates: the turn fallback (a cell that turns between two frames keeps its track), bad settings."""

import numpy as np
import pytest

from spermtrack import Boxes
from spermtrack.track import Tracker, TrackerConfig, TrackerConfigError, track

HEAD = 23.0
PLAIN = {"self_calibrate": False}


def turning_cell(step: float, angle_deg: float, num_frames: int = 16, turn_at: int = 8, extra=None) -> Boxes:
    """One cell swimming straight at ``step`` px/frame that turns by ``angle_deg`` between frames ``turn_at - 1`` and ``turn_at``.

    ``extra``: optional (frame, cx, cy), a second box from that frame on (a cell that appears
    there and stays still).
    """
    p, d, pts = np.array([100.0, 100.0]), np.array([1.0, 0.0]), []
    for t in range(num_frames):
        pts.append(p.copy())
        if t == turn_at - 1:
            a = np.radians(angle_deg)
            d = np.array([np.cos(a) * d[0] - np.sin(a) * d[1], np.sin(a) * d[0] + np.cos(a) * d[1]])
        p = p + step * d
    f = list(range(num_frames))
    xy = [tuple(q) for q in pts]
    if extra is not None:
        f0, ex, ey = extra
        f += list(range(f0, num_frames))
        xy += [(ex, ey)] * (num_frames - f0)
    f, xy = np.array(f), np.array(xy)
    order = np.argsort(f, kind="stable")
    n = len(f)
    return Boxes.from_cxcywh(f[order], np.column_stack([xy[order], np.full(n, HEAD), np.full(n, HEAD)]))


def num_tracks(b: Boxes, fps: float, **settings) -> int:
    return len(track(b, fps, TrackerConfig(**settings)).unique_tracks())


@pytest.mark.parametrize("calibrate", [False, True])
def test_sharp_turn_at_9_fps_is_one_track_with_the_fallback_and_two_without(calibrate):
    b = turning_cell(40.0, 70.0)  # 40 px/frame (fast cell at 9 fps), 70 degree turn: 46 px off the prediction
    extra = {} if calibrate else PLAIN
    assert num_tracks(b, 9, **extra) == 1
    assert num_tracks(b, 9, fallback_turn_deg=0.0, **extra) == 2
    # the settings are in degrees: a turn beyond the largest allowed still splits the track
    assert num_tracks(turning_cell(40.0, 100.0), 9, **extra) == 2
    assert num_tracks(b, 9, fallback_turn_deg=45.0, **extra) == 2


def test_ambiguous_turn_is_left_alone():
    # the prediction after the turn frame is at (420, 100); the true box is 46 px away. A cell that
    # appears 70 px from the prediction (outside the fallback's disc of 51.5 px, inside 1.5 times it)
    # makes the case ambiguous: no fallback link, the track splits as without the fallback
    prediction = (100.0 + 8 * 40.0, 100.0)
    b = turning_cell(40.0, 70.0, extra=(8, prediction[0], prediction[1] - 70.0))
    assert num_tracks(b, 9, **PLAIN) == num_tracks(b, 9, fallback_turn_deg=0.0, **PLAIN) == 3
    # the same cell further away (beyond 1.5 radii) does not stop it
    far = turning_cell(40.0, 70.0, extra=(8, prediction[0], prediction[1] - 120.0))
    assert num_tracks(far, 9, **PLAIN) == 2


def test_box_inside_another_tracks_gate_is_left_alone():
    # a still cell 15 px from where the turning cell's box lands: that box is inside the still
    # cell's gate, so the fallback does not give it to the turning track (it splits); 60 px away it does
    turned = (100.0 + 7 * 40.0 + 40.0 * np.cos(np.radians(70.0)), 100.0 + 40.0 * np.sin(np.radians(70.0)))
    near = turning_cell(40.0, 70.0, extra=(0, turned[0] + 15.0, turned[1]))
    far = turning_cell(40.0, 70.0, extra=(0, turned[0] + 60.0, turned[1]))
    assert num_tracks(near, 9, **PLAIN) == 3
    assert num_tracks(far, 9, **PLAIN) == 2


def test_streaming_equals_offline_with_the_fallback():
    b = turning_cell(40.0, 70.0)
    cfg = TrackerConfig(**PLAIN)
    out = track(b, 9, cfg)
    tr = Tracker(9, cfg)
    for _, fb in b.iter_frames():
        tr.update(fb)
    assert tr.finish(postprocess=True).equals(out)
    assert len(out.unique_tracks()) == 1


def test_turn_over_an_uneven_time_step():
    # a true time base with a dropped frame: frame 8 comes 2/9 s after frame 7, and the cell swam
    # 40 px straight, turned by 100 degrees and swam 40 px more in between (61 px off the straight
    # line). The fallback's disc grows with the predicted step over the true time step (about 80 px):
    # one track; with the nominal clock (a 40 px step predicted) or without the fallback: two
    times = np.r_[np.arange(8), np.arange(9, 17)] / 9.0
    p, pts = np.array([100.0, 100.0]), []
    a = np.radians(100.0)
    for t in times * 9.0:
        if t <= 8:
            pts.append(p + np.array([40.0 * t, 0.0]))
        else:
            pts.append(p + np.array([320.0 + 40.0 * (t - 8) * np.cos(a), 40.0 * (t - 8) * np.sin(a)]))
    pts = np.array(pts)
    b = Boxes.from_cxcywh(np.arange(16), np.column_stack([pts, np.full(16, HEAD), np.full(16, HEAD)]))
    one = track(b, 9, TrackerConfig(**PLAIN), timestamps=times)
    off = track(b, 9, TrackerConfig(fallback_turn_deg=0.0, **PLAIN), timestamps=times)
    nominal = track(b, 9, TrackerConfig(**PLAIN))
    assert (len(one.unique_tracks()), len(off.unique_tracks()), len(nominal.unique_tracks())) == (1, 2, 2)


@pytest.mark.parametrize(
    "bad",
    [
        {"fallback_turn_deg": -1.0},
        {"fallback_turn_deg": 181.0},
        {"fallback_turn_deg": float("nan")},
        {"fallback_heads": -0.5},
        {"fallback_heads": 6.0},
        {"fallback_margin": 0.5},
        {"fallback_margin": 6.0},
        {"fallback_margin": "1.5"},
    ],
)
def test_bad_settings(bad):
    with pytest.raises(TrackerConfigError) as err:
        TrackerConfig(**bad)
    assert str(err.value).count("\n") == 0 and next(iter(bad)) in str(err.value)
