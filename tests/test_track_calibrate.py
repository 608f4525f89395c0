"""Motion self-calibration: the same video gives the same tracks whatever fps is passed or magnification."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spermtrack import Boxes
from spermtrack.detect.ground_truth import GroundTruthDetector
from spermtrack.evaluate import tracking_many
from spermtrack.simulate import simulate_video
from spermtrack.track import Tracker, TrackerConfig, TrackerConfigError, track
from spermtrack.track.calibrate import REF_HEAD_PX, measure_motion


@pytest.fixture(scope="module")
def video():
    gt = simulate_video(seed=11, num_frames=200, density=30, motility=[0.5, 0.2, 0.1, 0.2]).boxes
    dets = GroundTruthDetector(gt, seed=1, miss=0.1, fp_per_frame=1.0, jitter_px=1.0, score_noise=0.2).degrade()
    return gt, dets


def scaled(b: Boxes, s: float) -> Boxes:
    return b.replace(x1=b.x1 * s, y1=b.y1 * s, x2=b.x2 * s, y2=b.y2 * s)


def idf1(gt, hyp) -> float:
    return tracking_many({"v": (gt, hyp)}, per_class=False).idf1


def test_measures_head_size_and_motion(video):
    _, dets = video
    cal = measure_motion(dets, fps=50)
    assert cal.source == "measured"
    assert 0.7 < cal.head_size_px / REF_HEAD_PX < 1.3  # VISEM-like heads
    assert 30 < cal.motion_fps < 80  # a 50 fps video looks like one
    assert 0 < cal.still_noise_px < 3 and cal.spacing_px > cal.step_px
    json.dumps(cal.to_dict())
    # twice the magnification: twice the length scale, the same clock
    cal2 = measure_motion(scaled(dets, 2.0), fps=50)
    assert cal2.length_scale == pytest.approx(2 * cal.length_scale, rel=0.02)
    assert cal2.motion_fps == pytest.approx(cal.motion_fps, rel=0.05)


def test_same_tracks_whatever_fps_is_passed_or_magnification(video):
    gt, dets = video
    base = idf1(gt, track(dets, 50))
    for fps in (25, 100, 10):
        assert abs(idf1(gt, track(dets, fps)) - base) <= 0.01
    for s in (0.5, 2.0):
        assert abs(idf1(scaled(gt, s), track(scaled(dets, s), 50)) - base) <= 0.01
    # without it, a wrong fps moves the result (the problem it solves)
    plain = TrackerConfig(self_calibrate=False)
    assert idf1(gt, track(dets, 50, plain)) - idf1(gt, track(dets, 12.5, plain)) > 0.01


def test_pinned_and_off_and_validation(video):
    _, dets = video
    info: dict = {}
    track(dets, 50, TrackerConfig(motion_fps=40.0, length_scale=1.5), info=info)
    assert info["calibration"]["source"] == "pinned" and info["calibration"]["motion_fps"] == 40.0
    track(dets, 50, TrackerConfig(self_calibrate=False), info=info)
    assert info["calibration"]["source"] == "off"
    for bad in ({"self_calibrate": "yes"}, {"warmup_frames": -1}, {"min_lost_frames": 1.5}, {"motion_fps": -1.0}):
        with pytest.raises(TrackerConfigError):
            TrackerConfig(**bad)
    cfg = TrackerConfig(self_calibrate=False, min_lost_frames=5)
    assert TrackerConfig.from_dict(cfg.to_dict()) == cfg
    # a floor in frames: 0.15 s at 9 fps would be one frame
    assert TrackerConfig().for_fps(9).max_lost_frames == 3


def test_streaming_warm_up_then_ids(video):
    gt, dets = video
    cfg = TrackerConfig(warmup_frames=20)
    tr = Tracker(50, cfg)
    assert tr.calibration.source == "warming up"
    outs = [tr.update(b) for _, b in dets.iter_frames()]
    assert all((o.track_id == -1).all() for o in outs[:19])
    assert any((o.track_id > 0).any() for o in outs[19:])
    assert tr.calibration.source in ("measured", "fallback", "saturated")
    done = tr.finish(postprocess=True)
    assert done.frame.min() < 19  # the warm-up frames got their ids
    assert idf1(gt, done) > 0.85
    # a video shorter than the warm-up is calibrated at finish()
    short = Tracker(50, TrackerConfig(warmup_frames=500))
    for _, b in dets.iter_frames():
        short.update(b)
    assert len(short.finish()) > 0 and short.calibration.source != "warming up"
    # bad rows during warm-up are still clear errors
    bad = Boxes(np.array([0], np.int32), [np.nan], [1.0], [2.0], [3.0], validate=False)
    with pytest.raises(Exception, match="non-finite"):
        Tracker(50).update(bad)


@pytest.mark.parametrize("true_fps, frames", [(9.0, 150), (30.0, 300)])
def test_low_frame_rate_calibration_no_worse_than_plain(true_fps, frames):
    # At low frame rates the per-frame motion stops scaling like 1/fps (STEP_EXPONENT):
    # the calibrated clock must not make the tracker clearly worse than the plain
    # conversion at the true rate (issue 14: 0.02 IDF1; a linear clock lost 0.02-0.05).
    from spermtrack import Calibration

    gt = simulate_video(
        seed=700, num_frames=frames, density=30, calibration=Calibration(0.25, true_fps), motility=[0.5, 0.2, 0.1, 0.2]
    ).boxes
    dets = gt.replace(track_id=np.full(len(gt), -1, np.int64))
    cal = measure_motion(dets, true_fps)
    assert cal.source == "measured" and 0.7 < cal.motion_fps / true_fps < 1.8, cal  # the clock is near the true rate
    plain = idf1(gt, track(dets, true_fps, TrackerConfig(self_calibrate=False)))
    calibrated = idf1(gt, track(dets, true_fps))
    assert calibrated >= plain - 0.02, (calibrated, plain)


def test_nearest_neighbour_search_equals_a_kd_tree(video):
    # The Numba search (sorted by x, searched outwards) gives the k-d tree's displacements,
    # smoothness flags and spacing exactly, on a simulated video and on random crowds.
    from calibrate_reference import displacements_kdtree, spacing_kdtree

    from spermtrack.track.calibrate import displacements, spacing

    rng = np.random.default_rng(3)
    n = 40 * 50
    f = np.repeat(np.arange(40), 50)
    c = rng.uniform(0, 300, (n, 2)) + f[:, None] * rng.normal(0, 2, 2)
    crowd = Boxes.from_cxcywh(f, np.column_stack([c, np.full((n, 2), 8.0)]))
    sparse = crowd[f % 7 != 3]  # gaps: runs of three frames only where no frame is missing
    for b in (video[1], crowd, sparse, crowd[:120]):
        d1, s1, u1 = displacements(b)
        d2, s2, u2 = displacements_kdtree(b)
        assert u1 == u2 and np.array_equal(d1, d2) and np.array_equal(s1, s2)
        assert spacing(b) == spacing_kdtree(b)
    one = Boxes.from_cxcywh(np.arange(5), np.tile([10.0, 10, 5, 5], (5, 1)))  # one box a frame: no spacing
    assert spacing(one) is None and len(displacements(one)[0]) == 3  # runs 0-2, 1-3, 2-4
