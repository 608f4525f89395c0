"""Crossing repair (spermtrack.track.crossings): an X-crossing that a frame-by-frame linker swaps, bad settings."""

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from spermtrack import Boxes
from spermtrack.track import Tracker, TrackerConfig, TrackerConfigError, track
from spermtrack.track.crossings import repair_crossings

SIZE = 20.0
PLAIN = {"self_calibrate": False}


def x_crossing(num_frames: int = 40, touch: int = 3) -> tuple[Boxes, np.ndarray]:
    """Two cells crossing at a shallow angle: both move +10 px/frame in x, one +4 and one -4 px/frame in y.

    For ``touch`` frames around the middle the two heads are at the same place (one box on
    the other, as when two heads overlap). Rows of a frame: cell 1 first, except after the
    touch, where cell 2 comes first. Returns the boxes and each row's true cell (1, 2).
    """
    frames, cells, cx, cy = [], [], [], []
    mid = num_frames // 2
    for t in range(num_frames):
        order = (2, 1) if t > mid + touch // 2 else (1, 2)
        for c in order:
            dy = (4.0 if c == 1 else -4.0) * (t - mid)
            if abs(t - mid) <= touch // 2:
                dy = 0.0
            frames.append(t)
            cells.append(c)
            cx.append(30.0 + 10.0 * t)
            cy.append(200.0 + dy)
    f = np.array(frames)
    boxes = Boxes.from_cxcywh(f, np.column_stack([cx, cy, np.full(len(f), SIZE), np.full(len(f), SIZE)]))
    return boxes, np.array(cells)


def frame_by_frame(b: Boxes) -> np.ndarray:
    """Track ids (0, 1) from a frame-by-frame linker: each frame's boxes to the previous frame's by centre distance."""
    ids = np.full(len(b), -1, np.int64)
    off = b.frame_offsets
    ids[off[0] : off[1]] = np.arange(off[1] - off[0])
    for f in range(1, b.num_frames):
        p, c = np.arange(off[f - 1], off[f]), np.arange(off[f], off[f + 1])
        d = np.hypot(b.cx[p][:, None] - b.cx[c][None], b.cy[p][:, None] - b.cy[c][None])
        r, k = linear_sum_assignment(d)
        ids[c[k]] = ids[p[r]]
    return ids


def consistent(ids: np.ndarray, cells: np.ndarray, frames: np.ndarray, skip=()) -> bool:
    """Every track id follows one cell (rows of the frames in ``skip`` left out: the heads overlap there)."""
    keep = ~np.isin(frames, list(skip))
    pairs = set(zip(ids[keep].tolist(), cells[keep].tolist()))
    return len(pairs) == len({i for i, _ in pairs}) == len({c for _, c in pairs})


def test_frame_by_frame_swaps_and_repair_does_not():
    b, cells = x_crossing()
    touch = range(19, 22)
    naive = frame_by_frame(b)
    assert not consistent(naive, cells, b.frame, touch)  # the frame-by-frame linker swaps at the X
    params = TrackerConfig(crossing_heads=1.0, **PLAIN).for_fps(50)
    info = {}
    fixed = repair_crossings(b, naive, params, info)
    assert info["swapped"] == 1 and info["encounters"] >= 1
    assert consistent(fixed, cells, b.frame, touch)
    assert set(fixed.tolist()) == {0, 1}
    # one id per frame for each track
    for f in range(b.num_frames):
        rows = fixed[b.frame == f]
        assert len(set(rows.tolist())) == len(rows)


def test_right_tracks_are_left_alone():
    b, cells = x_crossing()
    right = cells.astype(np.int64) - 1  # already the true identities
    params = TrackerConfig(crossing_heads=1.0, **PLAIN).for_fps(50)
    info = {}
    out = repair_crossings(b, right, params, info)
    assert info["swapped"] == 0
    assert np.array_equal(out[~np.isin(b.frame, [19, 20, 21])], right[~np.isin(b.frame, [19, 20, 21])])
    # untracked rows stay untracked; off: a copy of the input
    some = right.copy()
    some[::7] = -1
    assert np.all(repair_crossings(b, some, params)[::7] == -1)
    off = TrackerConfig(**PLAIN).for_fps(50)
    assert np.array_equal(repair_crossings(b, naive := frame_by_frame(b), off), naive)


def test_track_with_crossings_keeps_identities_and_streaming_equals_offline():
    b, cells = x_crossing()
    cfg = TrackerConfig(crossing_heads=1.0, **PLAIN)
    out = track(b, 50, cfg)
    assert out.unique_tracks().tolist() == [1, 2]
    # rows of the output are the input's (no interpolation here): identities follow the cells
    key = {(int(f), float(x), float(y)): int(c) for f, x, y, c in zip(b.frame, b.cx, b.cy, cells)}
    got = np.array([key[(int(f), float(x), float(y))] for f, x, y in zip(out.frame, out.cx, out.cy)])
    assert consistent(out.track_id, got, out.frame, range(19, 22))
    tr = Tracker(50, cfg)
    for _, fb in b.iter_frames():
        tr.update(fb)
    assert tr.finish(postprocess=True).equals(out)


@pytest.mark.parametrize(
    "bad",
    [
        {"crossing_heads": -1.0},
        {"crossing_heads": 6.0},
        {"crossing_heads": float("nan")},
        {"crossing_heads": "1"},
        {"crossing_fit_s": 0.0},
        {"crossing_fit_s": -0.1},
        {"crossing_margin": -1.0},
        {"crossing_margin": float("inf")},
    ],
)
def test_bad_settings(bad):
    with pytest.raises(TrackerConfigError) as err:
        TrackerConfig(**bad)
    assert str(err.value).count("\n") == 0 and next(iter(bad)) in str(err.value)


@pytest.fixture(scope="module")
def crowded():
    """70 fast cells in 640x384 at a true 30 fps (nearest neighbours under-measure the steps here)."""
    from spermtrack import Calibration
    from spermtrack.simulate import simulate_video

    gt = simulate_video(
        seed=1000, num_frames=120, density=70, calibration=Calibration(0.25, 30.0), motility=[0.5, 0.2, 0.1, 0.2],
        image_size=(640, 384),
    ).boxes  # fmt: skip
    return gt, gt.replace(track_id=np.full(len(gt), -1, np.int64))


def test_clock_refined_from_tracks_in_crowded_fields(crowded):
    from spermtrack.evaluate import tracking_many

    gt, dets = crowded
    info: dict = {}
    out = track(dets, 30, info=info)
    cal = info["calibration"]
    assert cal["spacing_px"] < 1.5 * cal["head_size_px"]  # crowded
    assert cal["first_pass_fps"] is not None and cal["track_step_px"] > cal["step_px"]
    assert abs(cal["motion_fps"] / 30 - 1) < abs(cal["first_pass_fps"] / 30 - 1)  # nearer the true rate
    off = track(dets, 30, TrackerConfig(refine_clock=False))

    def idf1(h):
        return tracking_many({"v": (gt, h)}, per_class=False).idf1

    assert idf1(out) > idf1(off)
    # still whatever fps is passed
    for fps in (15, 60):
        again: dict = {}
        track(dets, fps, info=again)
        assert again["calibration"]["motion_fps"] == pytest.approx(cal["motion_fps"], rel=1e-9)
    # pinned clock or off: no second pass
    pinned: dict = {}
    track(dets, 30, TrackerConfig(motion_fps=30.0), info=pinned)
    assert pinned["calibration"]["first_pass_fps"] is None
    with pytest.raises(TrackerConfigError, match="refine_clock"):
        TrackerConfig(refine_clock="yes")


def test_clock_not_refined_in_sparse_fields():
    from spermtrack.simulate import simulate_video

    gt = simulate_video(seed=3, num_frames=80, density=20, motility=[0.5, 0.2, 0.1, 0.2]).boxes
    info: dict = {}
    track(gt.replace(track_id=np.full(len(gt), -1, np.int64)), 50, info=info)
    assert info["calibration"]["source"] == "measured" and info["calibration"]["first_pass_fps"] is None
