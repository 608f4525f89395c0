"""The tracker on hand-made trajectories: identities through fast motion and crossings, lifecycle, bad input."""

import os
from dataclasses import replace

import numpy as np
import pytest

from spermtrack import Boxes
from spermtrack.errors import BoxesError, SpermtrackError
from spermtrack.track import Tracker, TrackerConfig, TrackerConfigError, track
from spermtrack.track.core import OK, State, assemble
from spermtrack.track.postprocess import close_gaps, interpolate

SIZE = 20.0


def lines(starts, velocities, num_frames, fps_scale=1.0, size=SIZE, drop=None):
    """Boxes of cells moving on straight lines; ``velocities`` in px per frame at 50 fps."""
    starts = np.asarray(starts, float)
    vel = np.asarray(velocities, float) / fps_scale
    f = np.repeat(np.arange(num_frames), len(starts))
    ids = np.tile(np.arange(1, len(starts) + 1), num_frames)
    c = starts[ids - 1] + vel[ids - 1] * f[:, None]
    keep = np.ones(len(f), bool) if drop is None else ~drop(f, ids)
    cxcywh = np.column_stack([c, np.full((len(f), 2), size)])[keep]
    return Boxes.from_cxcywh(f[keep], cxcywh, track_id=ids[keep], num_frames=num_frames)


def identity_map(truth, out):
    """{output id: set of true ids} and {true id: set of output ids}, matching rows by frame and centre."""
    key, seen = {}, set()
    for f, x, y, t in zip(truth.frame, truth.cx, truth.cy, truth.track_id):
        k = (int(f), round(float(x), 2), round(float(y), 2))
        if k in seen:  # two cells at the same place: the box does not tell which is which
            key.pop(k, None)
        else:
            key[k] = int(t)
        seen.add(k)
    o2t, t2o = {}, {}
    for f, x, y, t in zip(out.frame, out.cx, out.cy, out.track_id):
        true = key.get((int(f), round(float(x), 2), round(float(y), 2)))
        if true is None:
            continue
        o2t.setdefault(int(t), set()).add(true)
        t2o.setdefault(true, set()).add(int(t))
    return o2t, t2o


def assert_perfect(truth, out):
    o2t, t2o = identity_map(truth, out)
    assert all(len(v) == 1 for v in o2t.values()), o2t
    assert all(len(v) == 1 for v in t2o.values()), t2o
    assert len(t2o) == len(truth.unique_tracks())


def test_fast_cells_without_box_overlap_keep_identities():
    # 18 px/frame with 20 px boxes: IoU between consecutive frames is ~0.05
    truth = lines([[20, 40], [20, 140], [600, 240], [300, 20]], [[18, 0], [15, 5], [-17, 3], [2, 16]], 30)
    out = track(truth, fps=50)
    assert_perfect(truth, out)
    assert len(out) == len(truth)


def test_crossing_paths_keep_identities():
    # two cells cross at the same point and frame; two more cross at a shallow angle
    truth = lines([[100, 100], [340, 100], [100, 300], [100, 330]], [[12, 6], [-12, 6], [14, 1], [14, -1]], 40)
    assert_perfect(truth, track(truth, fps=50))


def test_immotile_cells_next_to_a_fast_one():
    truth = lines([[200, 200], [230, 200], [20, 215]], [[0, 0], [0, 0], [16, 0]], 40)
    assert_perfect(truth, track(truth, fps=50))


@pytest.mark.parametrize("fps", [15.0, 50.0, 100.0])
def test_same_settings_work_at_any_frame_rate(fps):
    # the same physical motion sampled at fps: per-frame displacement scales as 50 / fps
    n = int(round(0.8 * fps))
    truth = lines([[30, 60], [30, 200], [600, 120], [320, 20]], [[10, 3], [11, -2], [-12, 1], [1, 9]], n, fps_scale=fps / 50.0)
    out = track(truth, fps=fps)
    assert_perfect(truth, out)
    assert len(out) == len(truth)


def _offline_core(dets, config=None):
    """Internal and public ids of the online pass of track(), in one kernel call."""
    p = (config or TrackerConfig()).for_fps(50)
    n = len(dets)
    ids, cls = np.empty((2, n), np.int64), np.empty(n, np.int16)
    assert State(p.order).advance(p.prm, dets, dets.num_frames, ids, cls) == OK
    return ids[0], ids[1]


def test_streaming_equals_offline_core():
    truth = lines([[20, 40], [20, 140], [600, 240]], [[9, 0], [8, 3], [-7, 2]], 25, drop=lambda f, i: (f * 7 + i * 3) % 11 == 0)
    rng = np.random.default_rng(0)
    dets = truth.replace(track_id=np.full(len(truth), -1), score=rng.uniform(0.2, 1.0, len(truth)).astype(np.float32))
    plain = TrackerConfig(self_calibrate=False)  # the core, without a calibration warm-up
    tr = Tracker(fps=50, config=plain)
    online = [tr.update(b) for _, b in dets.iter_frames()]
    got = tr.finish()
    uid, pub = _offline_core(dets)
    assert got.equals(assemble(dets, uid, pub))
    # the whole-video steps applied to the streaming result give track()'s result
    assert tr.finish(postprocess=True).equals(track(dets, fps=50, config=plain))
    assert not tr.finish(postprocess=True).equals(got)  # interpolation and renumbering did something here
    streamed = Boxes.concat(online, num_frames=dets.num_frames)
    np.testing.assert_array_equal(streamed.track_id, np.where(pub >= 0, pub, -1))


def test_streaming_equals_offline_when_the_state_must_grow():
    # 150 cells at once (the state starts with room for 64 tracks), some frames skipped entirely,
    # more boxes in later frames than in the first: the kernel stops, the state grows, it resumes
    rng = np.random.default_rng(3)
    starts = np.column_stack([rng.uniform(0, 2000, 150), rng.uniform(0, 2000, 150)])
    vel = rng.uniform(-6, 6, (150, 2))
    truth = lines(starts, vel, 30, drop=lambda f, i: ((f >= 10) & (f < 13)) | ((f < 5) & (i > 40)))
    dets = truth.replace(track_id=np.full(len(truth), -1))
    for cfg in (TrackerConfig(), TrackerConfig(motion="ca", rescue_dist=1.0, gap_close_s=0.2)):
        tr = Tracker(fps=50, config=cfg)
        for _, b in dets.iter_frames():
            if len(b):  # frames 10..12 are never given: the tracker counts them as empty
                tr.update(b)
        assert tr.num_live_tracks >= 150
        assert tr.finish().equals(assemble(dets, *_offline_core(dets, cfg)))
        assert tr.finish(postprocess=True).equals(track(dets, fps=50, config=cfg))
    assert_perfect(truth, track(dets, fps=50))


def test_a_refused_frame_leaves_the_tracker_unchanged():
    truth = lines([[20, 40], [300, 140]], [[9, 0], [-8, 3]], 12)
    ref, tr = Tracker(fps=50), Tracker(fps=50)
    bad = Boxes([6, 6], [1.0, 5.0], [1, 1], [np.nan, 9.0], [5, 5], validate=False)
    for f, b in truth.iter_frames():
        if f == 6:
            with pytest.raises(BoxesError, match="row 0 \\(frame 6\\) has a non-finite value"):
                tr.update(bad)
            assert tr.frame == 5
        np.testing.assert_array_equal(tr.update(b).track_id, ref.update(b).track_id)
    assert tr.finish().equals(ref.finish())


@pytest.mark.parametrize("cache", ["warm", pytest.param("cold", marks=pytest.mark.slow)])
def test_one_compiled_kernel_per_function(tmp_path, cache):
    # A typical run (offline and streaming, read-only columns as pandas gives them, several settings)
    # compiles each Numba function of the tracker once: no copies for literal arguments or dtypes.
    # With a warm cache only the kernels called from Python load; with an empty one (a fresh
    # install) every kernel compiles, the ones called inside others included.
    code = """
import numba, numpy as np
from spermtrack import Boxes
from spermtrack.track import Tracker, TrackerConfig, track
import spermtrack.algorithms.assignment, spermtrack.algorithms.grouping, spermtrack.algorithms.iou
import spermtrack.track.calibrate, spermtrack.track.core, spermtrack.track.costs, spermtrack.track.kalman, spermtrack.track.postprocess
f = np.repeat(np.arange(40), 3)
x = np.where(np.arange(120) % 3 == 0, 10 + 9 * f, np.where(np.arange(120) % 3 == 1, 400 - 7 * f, 200 + 0 * f)).astype(float)
b = Boxes.from_cxcywh(f, np.column_stack([x, 100 + f % 3, np.full((120, 2), 20.0)]), score=np.linspace(0.2, 1, 120))
ro = Boxes(*[np.array(getattr(b, c)) for c in ("frame", "x1", "y1", "x2", "y2", "score", "cls")], num_frames=40)
for c in ("frame", "x1", "y1", "x2", "y2", "score", "cls"):
    getattr(ro, c).setflags(write=False)
for cfg in (TrackerConfig(), TrackerConfig(motion="ca", cost="iou", gate=0.9, rescue_dist=1.0, gap_close_s=0.3)):
    for d in (b, ro):
        track(d, 50, cfg)
        t = Tracker(50, cfg)
        for _, fb in d.iter_frames():
            t.update(fb)
        t.finish(postprocess=True)
mods = [spermtrack.algorithms.assignment, spermtrack.algorithms.grouping, spermtrack.algorithms.iou, spermtrack.track.calibrate,
        spermtrack.track.core, spermtrack.track.costs, spermtrack.track.kalman, spermtrack.track.postprocess]
n = 0
for m in mods:
    for name, obj in vars(m).items():
        if isinstance(obj, numba.core.registry.CPUDispatcher) and obj.__module__ == m.__name__ and obj.signatures:
            n += 1
            if len(obj.signatures) != 1:
                print("MANY", m.__name__, name, obj.signatures)
print("KERNELS", n)
"""
    import subprocess
    import sys

    env = dict(os.environ, **({"NUMBA_CACHE_DIR": str(tmp_path)} if cache == "cold" else {}))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env)
    assert res.returncode == 0, res.stderr
    assert "MANY" not in res.stdout, res.stdout
    # warm: run, assemble's and the offline steps' kernels; cold: also assign_sparse, pairs_into, the Kalman kernels...
    assert int(res.stdout.split("KERNELS")[1]) >= (5 if cache == "warm" else 15)


def test_tracker_update_output_and_lifecycle():
    plain = TrackerConfig(self_calibrate=False)  # ids from the first frames (no calibration warm-up)
    tr = Tracker(fps=50, config=plain)  # confirm after max(2, round(0.04 * 50)) = 2 matched frames
    ids = []
    for f in range(5):
        ids.append(tr.update(Boxes.from_cxcywh([f], [[100 + 5 * f, 50, 20, 20]])).track_id[0])
    assert ids == [-1, 1, 1, 1, 1]
    slow = Tracker(fps=100, config=plain)  # max(2, round(0.04 * 100)) = 4 frames at 100 fps
    assert [slow.update(Boxes.from_cxcywh([f], [[100 + 2 * f, 50, 20, 20]])).track_id[0] for f in range(5)] == [-1] * 3 + [1] * 2
    # after max_lost_s (0.15 s = 8 frames) without boxes the track ends; a box there starts a new tentative one
    out = tr.update(Boxes.from_cxcywh([5 + 9], [[100 + 5 * 14, 50, 20, 20]]))
    assert out.track_id[0] == -1
    assert tr.num_live_tracks == 1
    # within max_lost_s it continues
    tr2 = Tracker(fps=50, config=plain)
    for f in range(5):
        tr2.update(Boxes.from_cxcywh([f], [[100 + 5 * f, 50, 20, 20]]))
    assert tr2.update(Boxes.from_cxcywh([11], [[100 + 5 * 11, 50, 20, 20]])).track_id[0] == 1
    assert tr2.frame == 11


def test_empty_frames_and_no_boxes():
    assert len(track(Boxes.empty(100), fps=50)) == 0
    assert track(Boxes.empty(100), fps=50).num_frames == 100
    assert len(track(Boxes.empty(0), fps=50)) == 0
    tr = Tracker(fps=50)
    for _ in range(3):
        assert len(tr.update(Boxes.empty(0))) == 0
    assert tr.frame == 2 and len(tr.finish()) == 0 and tr.finish().num_frames == 3
    # a track survives empty frames within max_lost_s
    truth = lines([[50, 50]], [[6, 0]], 40, drop=lambda f, i: (f >= 10) & (f < 15))
    out = track(truth, fps=50)
    assert out.unique_tracks().tolist() == [1]
    assert np.count_nonzero(out.score == 0) == 5  # the gap (5 frames <= interpolate_s = 0.1 s) is interpolated
    np.testing.assert_allclose(out.cx[out.score == 0], 50 + 6 * np.arange(10, 15), atol=1e-3)
    longer = track(lines([[50, 50]], [[6, 0]], 40, drop=lambda f, i: (f >= 10) & (f < 16)), fps=50)
    assert longer.unique_tracks().tolist() == [1] and np.count_nonzero(longer.score == 0) == 0


def test_one_box():
    one = Boxes.from_cxcywh([3], [[10, 10, 5, 5]], num_frames=10)
    assert len(track(one, fps=50)) == 0  # a single detection never becomes a track
    out = track(one, fps=50, config=TrackerConfig(confirm_s=0, min_track_s=0))
    assert out.track_id.tolist() == [1] and out.num_frames == 10
    tr = Tracker(fps=50, config=TrackerConfig(confirm_s=0, self_calibrate=False))
    assert tr.update(one).track_id.tolist() == [1]


def test_nan_coordinates_are_a_clear_error():
    bad = Boxes([0, 1], [1.0, np.nan], [1, 1], [5, 5], [5, 5], validate=False)
    with pytest.raises(BoxesError, match=r"row 1 \(frame 1\).*non-finite"):
        track(bad, fps=50)
    with pytest.raises(BoxesError, match="non-finite"):
        Tracker(fps=50).update(bad[1:])


def test_non_monotonic_frames_are_a_clear_error():
    bad = Boxes([0, 2, 1], [1, 1, 1], [1, 1, 1], [5, 5, 5], [5, 5, 5], validate=False)
    with pytest.raises(BoxesError, match="row 2 has frame 1 after frame 2"):
        track(bad, fps=50)
    tr = Tracker(fps=50)
    tr.update(Boxes.from_cxcywh([5], [[10, 10, 5, 5]]))
    with pytest.raises(BoxesError, match="frames must increase: got frame 3 after frame 5"):
        tr.update(Boxes.from_cxcywh([3], [[10, 10, 5, 5]]))
    with pytest.raises(BoxesError, match="one frame"):
        Tracker(fps=50).update(Boxes.from_cxcywh([1, 2], [[1, 1, 5, 5], [2, 2, 5, 5]]))
    beyond = Boxes([0, 5], [1, 1], [1, 1], [5, 5], [5, 5], num_frames=3, validate=False)
    with pytest.raises(BoxesError, match="row 1 has frame 5 but num_frames is 3"):
        track(beyond, fps=50)
    with pytest.raises(BoxesError, match="negative frame"):
        Tracker(fps=50).update(Boxes([-1], [1], [1], [5], [5], validate=False))


def test_bad_settings_and_classes():
    with pytest.raises(TrackerConfigError, match="motion"):
        TrackerConfig(motion="foo")
    with pytest.raises(TrackerConfigError, match="cost"):
        TrackerConfig(cost="euclid")
    with pytest.raises(TrackerConfigError, match="gate must be > 0"):
        TrackerConfig(gate=0)
    with pytest.raises(TrackerConfigError, match="max_lost_s must be a finite number"):
        TrackerConfig(max_lost_s=float("nan"))
    with pytest.raises(TrackerConfigError, match="low_score"):
        TrackerConfig(low_score=0.9, high_score=0.5)
    with pytest.raises(TrackerConfigError, match="fps"):
        Tracker(fps=0)
    with pytest.raises(TrackerConfigError, match="must be a TrackerConfig"):
        track(Boxes.empty(3), fps=50, config={"gate": 3})
    with pytest.raises(TrackerConfigError, match="must be a TrackerConfig"):
        Tracker(fps=50, config={"gate": 3})
    with pytest.raises(TrackerConfigError, match="unknown tracker setting"):
        TrackerConfig.from_dict({"gate": 3, "gat": 4})
    with pytest.raises(BoxesError, match="class 16"):
        track(Boxes.from_cxcywh([0], [[1, 1, 2, 2]], cls=[16]), fps=50)
    with pytest.raises(BoxesError, match="Boxes"):
        track(np.zeros((3, 4)), fps=50)
    assert isinstance(TrackerConfigError("x"), SpermtrackError)


def test_config_round_trips_through_json(tmp_path):
    from spermtrack.errors import FormatError

    cfg = TrackerConfig(gate=12.5, motion="ca", max_lost_s=0.5)
    p = tmp_path / "cfg.json"
    import json

    p.write_text(json.dumps(cfg.to_dict()))
    assert TrackerConfig.from_json(p) == cfg
    p.write_text('{"gate": 3,\n "max_lost_s": }')
    with pytest.raises(FormatError, match=r"cfg.json, line 2"):
        TrackerConfig.from_json(p)
    p.write_text('{"bogus": 1}')
    with pytest.raises(FormatError, match="bogus"):
        TrackerConfig.from_json(p)


def test_class_is_the_majority_vote():
    truth = lines([[50, 50]], [[5, 0]], 10)
    cls = np.array([0, 2, 2, 0, 2, 2, 1, 2, 0, 2], np.int16)
    out = track(truth.replace(cls=cls), fps=50)
    assert set(out.cls.tolist()) == {2}
    tr = Tracker(fps=50)
    running = [tr.update(b).cls[0] for _, b in truth.replace(cls=cls).iter_frames()]
    assert running[-1] == 2 and running[0] == 0
    assert set(tr.finish().cls.tolist()) == {2}


def test_low_score_boxes_continue_but_do_not_start_tracks():
    truth = lines([[50, 50], [300, 300]], [[6, 0], [0, 6]], 20)
    score = np.where((truth.track_id == 1) & (truth.frame >= 8), 0.3, 1.0)
    score = np.where(truth.track_id == 2, 0.3, score).astype(np.float32)
    # ByteTrack's two stages alone (no lower start on an unsure video, no mean to keep a track by)
    strict = TrackerConfig(high_score=0.5, new_track_score=0.5, unsure_start_score=0, min_track_score=0, interpolate_s=0)
    out = track(truth.replace(score=score), fps=50, config=strict)
    assert out.unique_tracks().tolist() == [1]
    assert len(out) == 20  # cell 1 kept through its low-score frames; cell 2 never tracked
    # with low_score above them, low boxes are ignored: the track coasts and ends
    out2 = track(truth.replace(score=score), fps=50, config=replace(strict, low_score=0.5))
    assert len(out2) == 8


def test_an_unsure_detector_starts_tracks_lower_and_keeps_them_by_their_mean_score():
    # one sure cell (0.9) and two doubted ones (0.45, 0.37): a third of the head-sized boxes are sure
    truth = lines([[50, 50], [300, 300], [500, 100]], [[6, 0], [0, 6], [-4, 4]], 30)
    rng = np.random.default_rng(3)
    mean = np.array([0.0, 0.45, 0.37, 0.9], np.float32)[truth.track_id]
    score = (mean + rng.uniform(-0.05, 0.05, len(truth))).astype(np.float32)
    dets = truth.replace(score=score, track_id=np.full(len(truth), -1))
    info: dict = {}
    out = track(dets, fps=50, config=TrackerConfig(interpolate_s=0), info=info)
    cal = info["calibration"]
    assert cal["sure_share"] == pytest.approx(1 / 3) and cal["start_score"] == 0.3, cal
    assert len(out.unique_tracks()) == 2 and len(out) == 60  # the 0.45 and 0.9 cells, whole
    means = sorted(float(out.score[out.track_id == t].mean()) for t in out.unique_tracks())
    assert 0.4 <= means[0] < 0.5 and means[1] > 0.8, means
    # the 0.37 cell starts a track too, and loses it by its mean
    loose = track(dets, fps=50, config=TrackerConfig(min_track_score=0, interpolate_s=0))
    assert len(loose.unique_tracks()) == 3 and len(loose) == 90
    # without the lower start the doubted cells are never tracked
    info = {}
    strict = track(dets, fps=50, config=TrackerConfig(unsure_start_score=0, interpolate_s=0), info=info)
    assert len(strict.unique_tracks()) == 1 and len(strict) == 30 and info["calibration"]["start_score"] is None


def test_a_sure_detector_keeps_its_start_score():
    # ten sure cells and one doubted one: 91 % of the head-sized boxes are sure, the start stays at 0.5
    starts = [[40 + 55 * k, 60 + 30 * k] for k in range(11)]
    truth = lines(starts, [[3, 1]] * 11, 30)
    score = np.where(truth.track_id == 11, 0.45, 0.9).astype(np.float32)
    info: dict = {}
    out = track(truth.replace(score=score, track_id=np.full(len(truth), -1)), fps=50, config=TrackerConfig(), info=info)
    assert info["calibration"]["sure_share"] == pytest.approx(10 / 11) and info["calibration"]["start_score"] is None
    assert len(out.unique_tracks()) == 10  # the doubted cell (an out-of-focus one, on a sure video) is left out


def test_false_boxes_do_not_become_tracks():
    rng = np.random.default_rng(1)
    truth = lines([[50, 50], [50, 300]], [[6, 1], [7, -1]], 60)
    nf = 60
    fb = Boxes.from_cxcywh(
        np.arange(nf), np.column_stack([rng.uniform(0, 640, nf), rng.uniform(0, 480, nf), np.full((nf, 2), 20)]), num_frames=nf
    )
    dets = Boxes.concat([truth.replace(track_id=np.full(len(truth), -1)), fb])
    out = track(dets, fps=50)
    assert_perfect(truth, out)
    assert len(out) == len(truth)


def test_gap_closing_joins_tracklets_across_a_long_gap():
    # a 30-frame gap (0.6 s) is beyond max_lost_s (0.3 s) but within gap_close_s
    truth = lines([[30, 100]], [[8, 1]], 70, drop=lambda f, i: (f >= 20) & (f < 50))
    cfg = TrackerConfig(gap_close_s=0.8, interpolate_s=0, gap_gate=9.0, gap_speed_std_px_s=150.0)
    assert track(truth, fps=50, config=cfg).unique_tracks().tolist() == [1]
    assert track(truth, fps=50, config=TrackerConfig(gap_close_s=0, interpolate_s=0)).unique_tracks().tolist() == [1, 2]
    # a cell re-appearing far from the extrapolation is not joined
    other = lines([[30, 100]], [[8, 1]], 70, drop=lambda f, i: (f >= 20) & (f < 50))
    moved = other.replace(
        y1=np.where(other.frame >= 50, other.y1 + 400, other.y1), y2=np.where(other.frame >= 50, other.y2 + 400, other.y2)
    )
    assert track(moved, fps=50, config=cfg).unique_tracks().tolist() == [1, 2]


def test_close_gaps_and_interpolate_units():
    t1 = Boxes.from_cxcywh(
        np.arange(5), np.column_stack([np.arange(5) * 4.0, np.zeros(5), np.full((5, 2), 10.0)]), track_id=np.full(5, 7)
    )
    t2 = Boxes.from_cxcywh(
        np.arange(9, 14), np.column_stack([np.arange(9, 14) * 4.0, np.zeros(5), np.full((5, 2), 10.0)]), track_id=np.full(5, 3)
    )
    both = Boxes.concat([t1, t2])
    p = TrackerConfig(gap_close_s=0.2).for_fps(50)  # 10 frames
    joined = close_gaps(both, p)
    assert joined.unique_tracks().tolist() == [7]
    filled = interpolate(joined, 4)
    assert len(filled) == 14
    np.testing.assert_allclose(filled.track(7).cx, np.arange(14) * 4.0, atol=1e-4)
    assert len(interpolate(joined, 3)) == 10  # a gap of 4 frames is longer than 3


def test_cost_kinds_all_track_slow_cells():
    truth = lines([[50, 50], [50, 120], [300, 300]], [[2, 0], [2, 1], [-1, -2]], 30)
    for cost, gate in (("mahalanobis", 16.0), ("distance", 1.0), ("iou", 0.8)):
        assert_perfect(truth, track(truth, fps=50, config=TrackerConfig(cost=cost, gate=gate)))
    assert_perfect(truth, track(truth, fps=50, config=TrackerConfig(iou_weight=2.0, motion="ca")))


def test_rescue_stage_keeps_a_cell_that_jumps_out_of_the_gate():
    # a locked slow cell jumps 30 px (1.5 box sizes): far outside the Mahalanobis gate
    f = np.arange(30)
    cx = np.where(f < 15, 100 + 2.0 * f, 130 + 2.0 * f)
    truth = Boxes.from_cxcywh(f, np.column_stack([cx, np.full(30, 80.0), np.full((30, 2), 20.0)]), track_id=np.ones(30, int))
    base = dict(interpolate_s=0, gap_close_s=0, min_track_s=0)
    assert track(truth, fps=50, config=TrackerConfig(rescue_dist=2.0, **base)).unique_tracks().tolist() == [1]
    assert track(truth, fps=50, config=TrackerConfig(rescue_dist=0.0, **base)).unique_tracks().tolist() == [1, 2]
