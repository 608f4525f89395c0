"""True time base: repeated frames from pixels and boxes, uneven time steps in the tracker and CASA."""

from __future__ import annotations

import numpy as np
import pytest

from spermtrack import Boxes, Calibration
from spermtrack.evaluate import tracking_many
from spermtrack.kinematics import casa
from spermtrack.simulate import simulate_video
from spermtrack.simulate.timing import boxes_shown
from spermtrack.timebase import (
    FrameTimes,
    TimeBaseError,
    frame_times_from_boxes,
    frame_times_from_pixels,
    repeats_from_mad,
    repeats_from_motion,
)
from spermtrack.track import TrackerConfig, track


def repeat_schedule(n: int, seed: int = 0) -> np.ndarray:
    """For each shown frame, the true frame whose image it shows: a new image every 2-4 frames."""
    rng = np.random.default_rng(seed)
    src = np.zeros(n, np.int64)
    u, nxt = 0, 0
    for i in range(n):
        if i == nxt:
            u, nxt = i, i + int(rng.integers(2, 5))
        src[i] = u
    return src


def with_repeats(gt: Boxes, src: np.ndarray) -> Boxes:
    """Ground truth of a video whose frame ``i`` shows true frame ``src[i]`` (same boxes, same ids)."""
    return boxes_shown(gt, src)


def test_repeats_from_mad_splits_at_the_noise_floor():
    rng = np.random.default_rng(1)
    truth = np.zeros(200, bool)
    truth[1:] = rng.random(199) < 0.6
    mad = np.where(truth, rng.uniform(0.005, 0.02, 200), rng.uniform(2.0, 4.0, 200))
    mad[0] = np.inf
    rep, thr = repeats_from_mad(mad)
    np.testing.assert_array_equal(rep, truth)
    assert 0.02 < thr < 2.0
    # one population (no repeats): no split, whatever its spread
    rep, thr = repeats_from_mad(np.r_[np.inf, rng.uniform(0.5, 4.0, 199)])
    assert thr is None and not rep.any()
    # a clean video of a still scene is not "all repeats": its MADs are all noise
    rep, thr = repeats_from_mad(np.r_[np.inf, rng.uniform(0.9, 1.1, 99)])
    assert not rep.any()


def test_frame_times_from_pixels_on_a_rendered_video():
    v = simulate_video(seed=2, num_frames=24, density=8, image_size=(160, 120))
    src = repeat_schedule(24, seed=3)
    rng = np.random.default_rng(0)
    frames = []
    for i, s in enumerate(src):
        f = v.frame(int(s)).copy()
        if i and s == src[i - 1]:  # a re-encoded repeat: a few pixels off by one grey level
            idx = rng.integers(0, f.size, f.size // 200)
            flat = f.reshape(-1)
            flat[idx] = np.clip(flat[idx].astype(int) + 1, 0, 255).astype(np.uint8)
        frames.append(f)
    ft = frame_times_from_pixels(iter(frames), fps=50)
    np.testing.assert_array_equal(ft.distinct, np.r_[True, src[1:] != src[:-1]])
    assert ft.source == "pixels" and ft.mad_threshold is not None
    np.testing.assert_allclose(ft.times, src / 50.0)
    d = ft.to_dict()
    assert d["num_repeated"] == 24 - len(np.unique(src)) and d["effective_fps"] < 50 / 1.9


@pytest.mark.parametrize("glitch", ["black", "white"])
def test_a_blank_frame_is_a_glitch_not_a_reason_to_call_every_frame_a_repeat(glitch):
    """One black or white frame makes the only two large differences of a clip: split at them, every
    ordinary frame would be a "repeat" (57 of 60 on a real run, 0 tracks). The glitch is found from
    its brightness, the differences around it are left out, and nothing repeats."""
    v = simulate_video(seed=2, num_frames=40, density=8, image_size=(160, 120))
    frames = [v.frame(i).copy() for i in range(40)]
    frames[20][:] = 0 if glitch == "black" else 255
    ft = frame_times_from_pixels(iter(frames), fps=50)
    assert ft.num_repeated == 0 and ft.notes["glitch_frames"] == [20]
    assert ft.to_dict()["glitch_frames"] == [20]
    # with repeats (a new image every 2-4 frames) and a glitch, the repeats are still found
    src = repeat_schedule(40, seed=3)
    held = [v.frame(int(s)).copy() for s in src]
    held[21][:] = 0
    ft = frame_times_from_pixels(iter(held), fps=50)
    truth = np.r_[True, src[1:] != src[:-1]]
    truth[21:23] = True  # the glitch and the frame after it show new images (their differences are left out)
    np.testing.assert_array_equal(ft.distinct, truth)
    # a still moment after a few large changes (a stage bump) is not a repeat pattern either
    mad = np.r_[np.inf, np.full(59, 1.0)]
    mad[[30, 31]] = 40.0
    rep, thr = repeats_from_mad(mad)
    assert thr is None and not rep.any()
    # nor is a still stretch after a few large first changes (13 % of the frames, so the
    # fraction guard passes): its run of 34 "repeats" is longer than any camera holds an image
    mad = np.r_[np.inf, 50.0, 60.0, 45.0, 15.0, 20.0, np.full(34, 1.4)]
    rep, thr = repeats_from_mad(mad)
    assert thr is None and not rep.any()
    motion = np.r_[np.inf, 55.0, 70.0, 48.0, 15.0, 20.0, np.random.default_rng(0).uniform(4.0, 9.0, 34)]
    assert repeats_from_motion(motion, mad)[1] is None


def test_frame_times_from_boxes_and_timestamps():
    gt = simulate_video(seed=4, num_frames=60, density=10).boxes
    src = repeat_schedule(60, seed=1)
    obs = with_repeats(gt, src)
    ft = frame_times_from_boxes(obs, fps=50)
    np.testing.assert_array_equal(ft.distinct, np.r_[True, src[1:] != src[:-1]])
    assert ft.num_repeated == 60 - len(np.unique(src))
    assert frame_times_from_boxes(gt, fps=50).num_repeated == 0  # moving cells: nothing repeats
    given = FrameTimes.from_timestamps(src / 50.0, fps=50)
    np.testing.assert_array_equal(given.distinct, ft.distinct)
    assert given.effective_fps == pytest.approx(ft.effective_fps)
    assert FrameTimes.regular(10, 25).is_regular


def test_bad_timestamps_are_clear_errors():
    with pytest.raises(TimeBaseError, match="frame 2"):
        FrameTimes.from_timestamps([0.0, 0.1, 0.05])
    with pytest.raises(TimeBaseError, match="frame 1 is not finite"):
        FrameTimes.from_timestamps([0.0, np.nan])
    with pytest.raises(TimeBaseError, match="1-D"):
        FrameTimes.from_timestamps(np.zeros((2, 2)))
    b = Boxes.from_cxcywh([0, 1], [[10, 10, 5, 5], [12, 10, 5, 5]])
    with pytest.raises(Exception, match="timestamps cover 3 frames"):
        track(b, 50, timestamps=[0.0, 0.02, 0.04])


def test_uneven_time_steps_are_predicted_over_their_true_length():
    # one fast cell (25 px per true frame) seen at irregular times (new image every 2-4 frames)
    n = 120
    t = np.arange(n)
    src = repeat_schedule(n, seed=5)
    keep = np.r_[True, src[1:] != src[:-1]]
    f = t[keep]
    b = Boxes.from_cxcywh(np.arange(len(f)), np.column_stack([20 + 25 * f, 200 + 0 * f, 0 * f + 12, 0 * f + 12]))
    times = f / 50.0
    cfg = TrackerConfig(self_calibrate=False)
    timed = track(b, 50, cfg, timestamps=times)
    assert timed.unique_tracks().tolist() == [1] and len(timed) == len(f)
    # the same boxes taken as evenly spaced: steps of 50-100 px jump around and the Kalman gate
    # breaks the track (this lone cell's jumps are caught by the turn fallback, on by default,
    # which is why it is off here: the point is the model's prediction)
    assert len(track(b, 50 / 3, TrackerConfig(self_calibrate=False, fallback_turn_deg=0.0)).unique_tracks()) > 1


@pytest.mark.parametrize("um_per_px", [0.25, 0.5, 1.0])
def test_repeated_frames_keep_tracks_valid_for_casa(um_per_px):
    """Acceptance (issue 14): >= 90 % of tracks lasting >= 1 s stay valid at 0.25-1 µm/px."""
    cal = Calibration(um_per_px, 50)
    gt = simulate_video(seed=3, num_frames=250, density=30, motility=[0.5, 0.2, 0.1, 0.2], calibration=cal).boxes
    obs = with_repeats(gt, repeat_schedule(250, seed=int(um_per_px * 8)))
    ft = frame_times_from_boxes(obs, fps=50)
    nominal = casa(obs, cal)
    timed = casa(obs, cal, frame_times=ft)
    long_n, long_t = nominal.duration_s >= 1.0, timed.duration_s >= 1.0
    assert timed.valid[long_t].mean() >= 0.9
    assert nominal.valid[long_n].mean() < 0.6  # the problem: heads "stand still" then jump
    assert timed.attrs["parameters"]["frame_times"]["num_repeated"] == ft.num_repeated
    # the tracker on the same boxes with the true times: identities hold, every frame covered
    dets = obs.replace(track_id=np.full(len(obs), -1, np.int64))
    info: dict = {}
    hyp_t = track(dets, 50, timestamps=ft, info=info)
    assert tracking_many({"v": (obs, hyp_t)}, per_class=False).idf1 > 0.85
    assert info["frame_times"]["num_repeated"] == ft.num_repeated and "calibration" in info
    # one place per id per frame, also where a repeat's detection meets an interpolated box
    own = hyp_t.track_id >= 0
    key = hyp_t.frame[own].astype(np.int64) * (int(hyp_t.track_id.max()) + 1) + hyp_t.track_id[own]
    assert len(np.unique(key)) == int(own.sum())
    # a repeated frame's boxes carry the ids of the frame it repeats
    src_of = ft.source_of_distinct()
    rep = np.flatnonzero(~ft.distinct)[5]
    a, b = hyp_t.at_frame(int(src_of[rep])), hyp_t.at_frame(int(rep))
    assert sorted(a.track_id.tolist()) == sorted(b.track_id.tolist())
