"""Tests of the simulator: determinism, labels, motion truth, analytic kinematics, rendering."""

from __future__ import annotations

import numpy as np
import pytest

from spermtrack import Boxes, Calibration
from spermtrack.simulate import MotionParams, SceneParams, Swimmer, simulate_video
from spermtrack.simulate.motion import net_displacement_1s, who_class_of
from spermtrack.simulate.params import VISEM_BOX_SIZES, WHO_CLASSES

CAL = Calibration(0.25, 50.0)
NO_DRIFT = MotionParams(drift_um_s=(0.0, 0.0))


def _only(swimmers, num_frames=100, **kw):
    """A video holding only the given swimmers (no random cells, no flow)."""
    return simulate_video(
        seed=3, num_frames=num_frames, density=0, clusters=0, pinheads=0, swimmers=swimmers, motion_params=NO_DRIFT, **kw
    )


# ---------------------------------------------------------------------------- determinism
def test_same_seed_same_labels_heads_and_frames():
    a = simulate_video(seed=11, num_frames=40, density=25, look="mixed")
    b = simulate_video(seed=11, num_frames=40, density=25, look="mixed")
    assert a.boxes.equals(b.boxes)
    assert a.heads.equals(b.heads)
    assert a.track_names == b.track_names
    assert a.params == b.params
    for i in (0, 17, 39):
        assert np.array_equal(a.frame(i), b.frame(i))
    c = simulate_video(seed=12, num_frames=40, density=25, look="mixed")
    assert not c.boxes.equals(a.boxes)
    assert not np.array_equal(c.frame(0), a.frame(0))


def test_frames_do_not_depend_on_rendering_order():
    v = simulate_video(seed=2, num_frames=12, density=15)
    streamed = list(v.frames(3, 8))
    assert len(streamed) == 5
    assert np.array_equal(streamed[2], v.frame(5))
    assert np.array_equal(v.frame(3), streamed[0])
    assert streamed[0].shape == (480, 640, 3) and streamed[0].dtype == np.uint8
    assert not np.shares_memory(streamed[0], streamed[1])


# ---------------------------------------------------------------------------- labels
def test_boxes_follow_visem_labelling():
    v = simulate_video(seed=5, num_frames=60, density=40, clusters=2, pinheads=2)
    b = v.boxes
    assert isinstance(b, Boxes) and b.num_frames == 60
    b.validate()
    assert np.all(b.track_id >= 1) and set(np.unique(b.cls)) <= {0, 1, 2}
    # inside the image, integer corners (Labelbox style)
    assert b.x1.min() >= 0 and b.y1.min() >= 0 and b.x2.max() <= 640 and b.y2.max() <= 480
    assert np.array_equal(b.x1, np.round(b.x1)) and np.array_equal(b.y2, np.round(b.y2))
    # frame 0 holds exactly round(density) sperm; the count then fluctuates a little
    counts = np.bincount(b.frame[b.cls == 0], minlength=60)
    assert counts[0] == 40
    assert 30 <= counts.mean() <= 50
    # one box per track and frame
    key = b.frame.astype(np.int64) * 10**6 + b.track_id
    assert len(np.unique(key)) == len(b)
    # box sizes: VISEM sperm boxes average 23x23 px, clusters 58x52
    full = (b.x1 > 0) & (b.x2 < 640) & (b.y1 > 0) & (b.y2 < 480)
    sperm = full & (b.cls == 0)
    assert abs(b.width[sperm].mean() - VISEM_BOX_SIZES["sperm"][0]) < 2.5
    assert abs(b.height[sperm].mean() - VISEM_BOX_SIZES["sperm"][1]) < 2.5
    clusters = full & (b.cls == 1)
    assert clusters.any() and 24 <= b.width[clusters].min() and b.width[clusters].max() <= 98


def test_heads_table_matches_boxes():
    v = simulate_video(seed=8, num_frames=50, density=30, clusters=1, pinheads=1)
    h, b = v.heads, v.boxes
    lab = h[h["labelled"]]
    assert len(lab) == len(b)
    # the same (frame, track) pairs, the box centred on the true head within the annotation noise
    hk = lab["frame"].to_numpy() * 10**6 + lab["track_id"].to_numpy()
    bk = b.frame.astype(np.int64) * 10**6 + b.track_id
    assert np.array_equal(np.sort(hk), np.sort(bk))
    order = np.argsort(hk)
    border = np.argsort(bk)
    inside = ((b.x1 > 0) & (b.x2 < 640) & (b.y1 > 0) & (b.y2 < 480))[border]
    dx = (b.cx[border] - lab["x_px"].to_numpy()[order])[inside]
    dy = (b.cy[border] - lab["y_px"].to_numpy()[order])[inside]
    assert np.sqrt(np.mean(dx**2 + dy**2)) < 2.0
    # nobody out of focus is labelled (annotators label through dips shorter than 10 frames,
    # 0.2 s, in which a cell moves < 0.2 µm in depth), and everyone in view and in focus away
    # from the border is
    mp = MotionParams()
    assert not (h["labelled"] & (h["z_um"].abs() > mp.focus_label_um + 0.2)).any()
    central = h["x_px"].between(30, 610) & h["y_px"].between(30, 450) & h["in_focus"]
    assert h.loc[central, "labelled"].all()


def test_cells_enter_and_leave_with_new_identities():
    v = simulate_video(seed=21, num_frames=400, density=20, motility=(1, 0, 0, 0))
    t = v.tracks_truth
    assert (t["first_frame"] > 0).any() and (t["last_frame"] < 399).any()
    # every track id has a single class and a single cell
    b = v.boxes
    for tid in b.unique_tracks()[:50]:
        assert len(np.unique(b.cls[b.track_id == tid])) == 1


# ---------------------------------------------------------------------------- motion truth
def test_straight_swimmer_positions_and_kinematics_are_analytic():
    v = _only([Swimmer(x_px=100, y_px=200, heading_deg=0, speed_um_s=50.0)], num_frames=100)
    h = v.heads
    t = h["frame"].to_numpy() / 50.0
    np.testing.assert_allclose(h["x_px"], 100 + 50.0 * t / 0.25, atol=1e-9)
    np.testing.assert_allclose(h["y_px"], 200.0, atol=1e-9)
    row = v.tracks_truth.iloc[0]
    assert row["who_class"] == "rapid_progressive"
    for col in ("vcl", "vsl", "vap", "vprog"):
        assert row[col] == pytest.approx(50.0, rel=1e-3), col
    assert row["lin"] == pytest.approx(1.0, abs=1e-3)
    assert row["motility"] == "rapid_progressive"


def test_sinusoidal_swimmer_kinematics_are_analytic():
    v_um, amp_um, f_hz, fps = 40.0, 2.0, 5.0, 50.0
    sw = Swimmer(
        x_px=80, y_px=240, heading_deg=0, speed_um_s=v_um, lateral_amplitude_um=amp_um, beat_frequency_hz=f_hz, phase_rad=0.3
    )
    v = _only([sw], num_frames=150)
    h = v.heads
    k = h["frame"].to_numpy()
    t = k / fps
    # closed form of the head: x = x0 + v t, y = y0 + A sin(2 pi f t + phase) - A sin(phase)
    np.testing.assert_allclose(h["x_px"], 80 + v_um * t / 0.25, atol=1e-9)
    np.testing.assert_allclose(h["y_px"], 240 + amp_um / 0.25 * (np.sin(2 * np.pi * f_hz * t + 0.3) - np.sin(0.3)), atol=1e-9)
    row = v.tracks_truth.iloc[0]
    # analytic values of the sampled path
    kk = np.arange(150)
    ya = amp_um * np.sin(2 * np.pi * f_hz * kk / fps + 0.3)
    vcl = np.sum(np.hypot(v_um / fps, np.diff(ya))) / ((len(kk) - 1) / fps)
    assert row["vcl"] == pytest.approx(vcl, rel=1e-6)
    assert row["vsl"] == pytest.approx(np.hypot(v_um * 149 / fps, ya[-1] - ya[0]) / (149 / fps), rel=1e-6)
    assert row["vap"] == pytest.approx(v_um, rel=0.05)
    # CASA conventions: ALH is peak-to-peak (2 A), BCF counts both crossings (2 f)
    assert row["alh_mean"] == pytest.approx(2 * amp_um, rel=0.1)
    assert row["alh_peak_to_peak_um"] == pytest.approx(2 * amp_um)
    assert row["bcf"] == pytest.approx(2 * f_hz, rel=0.1)


def test_circular_swimmer_keeps_its_radius():
    r_um = 30.0
    v = _only([Swimmer(x_px=320, y_px=120, heading_deg=0, speed_um_s=60.0, curvature_per_um=1 / r_um)], num_frames=200)
    h = v.heads
    x, y = h["x_px"].to_numpy() * 0.25, h["y_px"].to_numpy() * 0.25
    cx, cy = 320 * 0.25, 120 * 0.25 + r_um  # centre on the left (+y) of the heading
    np.testing.assert_allclose(np.hypot(x - cx, y - cy), r_um, rtol=2e-3)


def test_who_classes_of_the_model():
    assert net_displacement_1s(30.0, 0.0) == pytest.approx(30.0)
    assert who_class_of(30.0, 0.0, 1.0, 10.0) == WHO_CLASSES.index("rapid_progressive")
    assert who_class_of(10.0, 0.0, 1.0, 10.0) == WHO_CLASSES.index("slow_progressive")
    assert who_class_of(15.0, 1 / 2.0, 1.0, 10.0) == WHO_CLASSES.index("non_progressive")
    assert who_class_of(0.0, 0.0, 0.0, 0.0) == WHO_CLASSES.index("immotile")


def test_random_cells_have_realistic_kinematics():
    v = simulate_video(seed=4, num_frames=250, density=40, motility=(0.5, 0.2, 0.1, 0.2), clusters=0, pinheads=0)
    t = v.tracks_truth
    long = t[(t["n_labelled"] >= 100) & (t["quality"] == "ok")]
    assert len(long) >= 20
    rapid = long[long["who_class"] == "rapid_progressive"]
    # VCL of the fastest: ~150-250 µm/s (12-20 px per frame at 0.25 µm/px, 50 fps)
    assert 120 <= rapid["vcl"].max() <= 280
    assert (long["vcl"] < 300).all()
    # the WHO class of the model agrees with CASA's on most long tracks
    agree = (long["who_class"] == long["motility"]).mean()
    assert agree >= 0.75, agree
    # consecutive boxes of fast cells often do not overlap
    b = v.boxes
    fast = set(rapid.loc[rapid["vcl"] > 150, "track_id"])
    zero = []
    for tid in list(fast)[:10]:
        tb = b.track(tid)
        if len(tb) < 3:
            continue
        xx1 = np.maximum(tb.x1[1:], tb.x1[:-1])
        xx2 = np.minimum(tb.x2[1:], tb.x2[:-1])
        yy1 = np.maximum(tb.y1[1:], tb.y1[:-1])
        yy2 = np.minimum(tb.y2[1:], tb.y2[:-1])
        inter = np.clip(xx2 - xx1, 0, None) * np.clip(yy2 - yy1, 0, None)
        union = tb.area[1:] + tb.area[:-1] - inter
        zero.append(np.mean(inter / union < 0.3))
    assert zero and max(zero) > 0.2


# ---------------------------------------------------------------------------- rendering
def test_looks_have_visem_backgrounds():
    dark = simulate_video(seed=1, num_frames=1, density=5, look="phase").frame(0)
    light = simulate_video(seed=1, num_frames=1, density=5, look="bright").frame(0)
    assert 45 <= np.median(dark) <= 140
    assert np.median(light) >= 140
    # light look: lavender, blue channel above green and red (BGR order)
    b, g, r = (np.median(light[..., c]) for c in range(3))
    assert b > g and b > r


def test_heads_are_drawn_where_the_truth_says():
    v = _only(
        [Swimmer(x_px=200, y_px=150, speed_um_s=0.0), Swimmer(x_px=450, y_px=330, speed_um_s=0.0)], num_frames=1, look="phase"
    )
    img = v.frame(0).astype(np.float32).mean(axis=2)
    bg = np.median(img)
    for x, y in ((200, 150), (450, 330)):
        assert img[y - 2 : y + 3, x - 2 : x + 3].max() > bg + 60
    assert img[20:60, 20:60].max() < bg + 40  # nothing bright where there is no cell


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="look"):
        simulate_video(seed=0, num_frames=2, look="sepia")
    with pytest.raises(ValueError, match="4 fractions"):
        simulate_video(seed=0, num_frames=2, motility=(0.5, 0.5))
    with pytest.raises(ValueError, match="num_frames"):
        simulate_video(seed=0, num_frames=0)
    with pytest.raises(KeyError, match="VISEM"):
        simulate_video(seed=0, num_frames=2, like="99")
    with pytest.raises(ValueError, match="um_per_px"):
        simulate_video(seed=0, num_frames=2, calibration=Calibration(None, 50.0))


def test_like_a_real_video_uses_its_counts():
    v = simulate_video(seed=0, num_frames=30, like="24")
    assert v.params["density"] == pytest.approx(62.31)
    counts = np.bincount(v.boxes.frame[v.boxes.cls == 0], minlength=30)
    assert 52 <= counts.mean() <= 72
    assert np.all(np.bincount(v.boxes.frame[v.boxes.cls == 1], minlength=30) >= 3)


def test_scene_params_change_the_scene():
    sp = SceneParams(sperm_box_px=(30.0, 0.5, 29.0, 31.0), sperm_large_fraction=0.0)
    v = simulate_video(seed=3, num_frames=5, density=20, scene_params=sp, pinheads=0, clusters=0)
    b = v.boxes
    full = (b.x1 > 0) & (b.x2 < 640) & (b.y1 > 0) & (b.y2 < 480)
    assert abs(b.width[full].mean() - 30) < 2.5


def test_annotators_ignore_flicker_but_keep_runs_at_the_ends():
    from spermtrack.simulate.truth import _annotator_runs

    ok = np.zeros((3, 40), bool)
    ok[0, 5:15] = ok[0, 18:30] = True  # a 3-frame gap inside a track: labelled through
    ok[1, 10:13] = True  # a 3-frame visit in the middle: not labelled
    ok[2, 0:3] = ok[2, 37:40] = True  # short runs at the start and the end: kept
    out = _annotator_runs(ok, np.ones_like(ok), fill_gap=10, min_run=10)
    assert out[0, 5:30].all() and out[0].sum() == 25
    assert not out[1].any()
    assert np.array_equal(out[2], ok[2])
    # a gap where no box can be drawn (the head left the image) is not filled
    drawable = np.ones_like(ok)
    drawable[0, 16] = False
    assert not _annotator_runs(ok, drawable, 10, 10)[0, 15:18].any()
