"""CASA kinematics on trajectories whose values are known by construction.

Every expected value here is computed from the path's formula (arc lengths by numerical
quadrature of the analytic speed, chords from the endpoints, beat amplitude and
frequency from the sinusoid), never from the code under test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from kinematics_paths import UM_PER_PX, boxes_from_paths
from scipy.integrate import quad

from spermtrack import Boxes, Calibration
from spermtrack.errors import BoxesError, CalibrationError
from spermtrack.kinematics import COLUMNS, MOTILITY_CLASSES, average_path, casa

TOL = 0.02  # the acceptance: within 2 % of the analytic value


def one(paths_or_path, fps, um_per_px=UM_PER_PX, **kw):
    """casa() of a single path (frames, x_um, y_um), as a dict of its row."""
    df = casa(boxes_from_paths({1: paths_or_path}, um_per_px), Calibration(um_per_px, fps), **kw)
    assert len(df) == 1
    return df.iloc[0].to_dict()


def sinusoid(fps, duration=3.0, v=40.0, amp=2.0, freq=8.0, phase=0.3):
    f = np.arange(int(round(duration * fps)) + 1)
    t = f / fps
    return f, v * t, amp * np.sin(2 * np.pi * freq * t + phase)


def sinusoid_vcl(v, amp, freq, duration, phase=0.3):
    """Exact curvilinear speed of x = v t, y = A sin(2 pi f t + phase): arc length / time."""
    w = 2 * np.pi * freq
    arc = quad(lambda s: np.hypot(v, amp * w * np.cos(w * s + phase)), 0, duration, limit=1000)[0]
    return arc / duration


def rel(a, b):
    return abs(a - b) / abs(b)


# ----------------------------------------------------------------------------- analytic paths
def test_straight_line_values_and_classes():
    fps, v = 50.0, 40.0
    f = np.arange(151)
    r = one((f, v * f / fps * np.cos(0.5), v * f / fps * np.sin(0.5)), fps)
    for key in ("vcl", "vsl", "vap", "vprog"):
        assert rel(r[key], v) < 1e-4, key
    for key in ("lin", "str", "wob"):
        assert rel(r[key], 1.0) < 1e-4, key
    assert r["alh_mean"] < 1e-3 and r["alh_max"] < 1e-3
    assert r["bcf"] == 0.0
    assert r["mad"] < 1e-2
    assert r["duration_s"] == pytest.approx(3.0) and r["n_points"] == 151
    assert (r["first_frame"], r["last_frame"]) == (0, 150)
    assert r["motility"] == "rapid_progressive" and r["pattern"] == "linear_progressive"
    assert r["quality"] == "ok" and r["valid"]


@pytest.mark.parametrize("freq", [8.0, 10.0, 12.0])
def test_sinusoid_around_straight_path_100fps(freq):
    fps, v, amp, T = 100.0, 40.0, 2.0, 3.0
    f, x, y = sinusoid(fps, T, v, amp, freq)
    r = one((f, x, y), fps)
    vcl = sinusoid_vcl(v, amp, freq, T)
    vsl = np.hypot(x[-1] - x[0], y[-1] - y[0]) / T
    assert rel(r["vcl"], vcl) < TOL
    assert rel(r["vsl"], vsl) < TOL
    assert rel(r["vap"], v) < TOL
    assert rel(r["lin"], vsl / vcl) < TOL
    assert rel(r["str"], vsl / v) < TOL
    # WOB = VAP / VCL, with VCL the polyline through the samples by definition (1.9 % under
    # the analytic arc at 12 Hz and 100 fps, checked above): only VAP's error is left here
    poly = np.hypot(np.diff(x), np.diff(y)).sum() / T
    assert rel(r["wob"], v / poly) < TOL
    assert rel(r["alh_mean"], 2 * amp) < TOL  # peak-to-peak convention
    assert rel(r["alh_max"], 2 * amp) < TOL
    assert rel(r["bcf"], 2 * freq) < TOL  # both crossings of each beat count
    assert r["motility"] == "rapid_progressive"


@pytest.mark.parametrize("freq", [8.0, 10.0])
def test_sinusoid_50fps_visem_rate(freq):
    """At VISEM's 50 fps (5-6 samples per beat) VAP, ALH and BCF stay within 2 %."""
    fps, v, amp, T = 50.0, 40.0, 2.0, 3.0
    f, x, y = sinusoid(fps, T, v, amp, freq, phase=1.1)
    r = one((f, x, y), fps)
    assert rel(r["vap"], v) < TOL
    assert rel(r["alh_mean"], 2 * amp) < TOL
    assert rel(r["bcf"], 2 * freq) < TOL
    # VCL is by definition the polyline through the samples (it grows with the frame rate)
    poly = np.hypot(np.diff(x), np.diff(y)).sum() / T
    assert rel(r["vcl"], poly) < 1e-4


def test_circle():
    fps, radius, v, T = 50.0, 20.0, 50.0, 3.0
    f = np.arange(int(T * fps) + 1)
    t = f / fps
    w = v / radius
    r = one((f, radius * np.cos(w * t), radius * np.sin(w * t)), fps)
    vsl = 2 * radius * abs(np.sin(w * T / 2)) / T
    assert rel(r["vcl"], v) < TOL
    assert rel(r["vap"], v) < TOL
    assert rel(r["vsl"], vsl) < TOL
    assert rel(r["lin"], vsl / v) < TOL
    assert rel(r["str"], vsl / v) < TOL
    assert rel(r["wob"], 1.0) < TOL
    assert r["alh_max"] < 0.05 and r["bcf"] == 0.0
    # turning per step of a circle sampled at fps: w / fps radians
    assert rel(r["mad"], np.degrees(w / fps)) < TOL
    # the average path turns counter-clockwise at w rad/s over the interior (T - window)
    assert rel(r["turn_deg"], np.degrees(w * (T - 0.5))) < 0.05
    assert r["pattern"] == "circular"


def test_still_cell_with_jitter_is_immotile_and_vcl_matches_noise_theory():
    fps, sigma_px = 50.0, 0.5
    rng = np.random.default_rng(1)
    n = 1500
    f = np.arange(n)
    x = rng.normal(0, sigma_px, n) * UM_PER_PX
    y = rng.normal(0, sigma_px, n) * UM_PER_PX
    r = one((f, x, y), fps)
    assert r["motility"] == "immotile" and r["pattern"] == "immotile"
    assert np.isnan(r["alh_mean"]) and np.isnan(r["bcf"])
    assert r["vap"] < 1.0 and r["vprog"] < 1.0 and r["vsl"] < 0.5
    # Frame-to-frame steps of white noise: |d| is Rayleigh with scale sqrt(2) sigma, mean sqrt(pi) sigma.
    # Box centres are stored in float32, hence the tolerance of a few per cent.
    expected = np.sqrt(np.pi) * sigma_px * UM_PER_PX * fps
    assert rel(r["vcl"], expected) < 0.05


def test_interpolated_boxes_are_skipped_unless_asked():
    fps = 50.0
    f = np.arange(100)
    b = boxes_from_paths({1: (f, 30 * f / fps, np.zeros(100))})
    score = np.where((b.frame >= 40) & (b.frame < 50), 0.0, 0.9).astype(np.float32)
    b = b.replace(score=score)
    skipped = casa(b, Calibration(UM_PER_PX, fps)).iloc[0]
    kept = casa(b, Calibration(UM_PER_PX, fps), interpolated=True).iloc[0]
    assert skipped["n_points"] == 90 and kept["n_points"] == 100
    assert skipped["max_gap_s"] == pytest.approx(10 / fps) and kept["max_gap_s"] == 0.0
    assert skipped["vsl"] == pytest.approx(30.0, rel=1e-4) and kept["vsl"] == pytest.approx(30.0, rel=1e-4)


def test_boxes_clipped_at_the_border_are_recentred_with_image_size():
    """A cell crossing the field: its clipped boxes' centres, entering and leaving, are
    not its head; with the image size they are put back on it."""
    fps, v = 50.0, 100.0  # µm/s = 400 px/s = 8 px per frame
    f = np.arange(83)
    head = -8.0 + 8.0 * f  # pixels: enters at x=0, leaves a 640-px frame at frame 81
    x1 = np.clip(head - 11.5, 0, 640)
    x2 = np.clip(head + 11.5, 0, 640)
    keep = x2 > x1 + 2
    n = int(keep.sum())
    b = Boxes(f[keep], x1[keep], np.full(n, 200.0), x2[keep], np.full(n, 223.0), track_id=np.ones(n, int))
    cal = Calibration(UM_PER_PX, fps)
    biased = casa(b, cal).iloc[0]
    fixed = casa(b, cal, image_size=(640, 480)).iloc[0]
    assert biased["vsl"] < 0.98 * v  # 3 % low: ~10 px of lag at each end of a 650-px crossing
    assert fixed["vsl"] == pytest.approx(v, rel=1e-4) and fixed["vcl"] == pytest.approx(v, rel=1e-4)
    assert fixed["n_points"] == n and fixed["duration_s"] == biased["duration_s"]
    with pytest.raises(ValueError, match="image_size"):
        casa(b, cal, image_size=(640,))


def test_track_with_gaps_uses_real_time_stamps():
    fps, v = 50.0, 30.0
    rng = np.random.default_rng(2)
    f = np.arange(200)
    keep = rng.random(200) > 0.25
    keep[[0, -1]] = True
    keep[100:110] = False  # a 10-frame (0.2 s) hole
    f = f[keep]
    r = one((f, v * f / fps, np.zeros(len(f))), fps)
    assert rel(r["vcl"], v) < 1e-4 and rel(r["vsl"], v) < 1e-4 and rel(r["vap"], v) < 1e-3
    assert r["duration_s"] == pytest.approx(199 / fps)
    assert r["n_points"] == keep.sum()
    assert r["max_gap_s"] >= 10 / fps - 1e-9
    assert r["quality"] == "ok"  # 0.2 s is below the default max_gap_s of 0.5 s


def test_sinusoid_with_missing_frames():
    fps, v, amp, freq, T = 100.0, 40.0, 2.0, 8.0, 3.0
    f, x, y = sinusoid(fps, T, v, amp, freq)
    keep = np.random.default_rng(3).random(len(f)) > 0.1
    keep[[0, -1]] = True
    r = one((f[keep], x[keep], y[keep]), fps)
    assert rel(r["vap"], v) < TOL
    assert rel(r["bcf"], 2 * freq) < TOL
    assert rel(r["alh_mean"], 2 * amp) < 0.05  # peaks between missing samples are not refined


def test_long_gap_is_flagged():
    fps = 50.0
    f = np.r_[np.arange(60), np.arange(100, 160)]  # 40 frames = 0.8 s missing
    r = one((f, 30 * f / fps, np.zeros(len(f))), fps)
    assert r["quality"] == "long_gap" and not r["valid"]
    assert r["max_gap_s"] == pytest.approx(40 / fps)


def test_switch_like_jump_is_flagged():
    fps, v = 50.0, 20.0
    f = np.arange(150)
    x = v * f / fps
    y = np.where(f < 75, 0.0, 15.0)  # jumps 15 µm sideways in one frame: an identity switch
    r = one((f, x, y), fps)
    assert r["n_jumps"] == 1 and "jump" in r["quality"] and not r["valid"]
    assert r["max_step_speed"] == pytest.approx(np.hypot(v / fps, 15.0) * fps, rel=1e-4)
    # a still cell whose track takes a neighbour's box 4 µm away for two frames
    rng = np.random.default_rng(7)
    y = rng.normal(0, 0.1, 150) + np.where((f >= 60) & (f < 62), 4.0, 0.0)
    r = one((f, rng.normal(0, 0.1, 150), y), fps)
    assert r["n_jumps"] == 2 and r["quality"] == "jump"


def test_implausible_speed_is_flagged():
    fps = 50.0
    f = np.arange(100)
    r = one((f, 260.0 * f / fps, np.zeros(100)), fps)
    assert r["quality"] == "implausible_speed"
    assert one((f, 260.0 * f / fps, np.zeros(100)), fps, max_vap=None)["quality"] == "ok"


def test_hyperactivated_pattern():
    # Mortimer et al. 1998: VCL >= 150 µm/s, LIN < 50 %, ALH >= 7 µm
    fps, v, amp, freq = 100.0, 30.0, 5.0, 8.0
    f, x, y = sinusoid(fps, 2.0, v, amp, freq)
    r = one((f, x, y), fps)
    assert r["vcl"] >= 150 and r["lin"] < 0.5 and r["alh_mean"] >= 7
    assert r["pattern"] == "hyperactivated"
    # its violent sideways head swings are not identity jumps
    assert r["n_jumps"] == 0 and r["quality"] == "ok"
    at50 = one(sinusoid(50.0, 2.0, v, amp, freq), 50.0)
    assert at50["n_jumps"] == 0 and at50["pattern"] == "hyperactivated"


def test_who_classes_from_speed():
    fps = 50.0
    f = np.arange(150)
    t = f / fps
    wobble = 1.0 * np.sin(2 * np.pi * 9 * t)
    fast = one((f, 30 * t, wobble), fps)
    slow = one((f, 12 * t, wobble), fps)
    assert fast["motility"] == "rapid_progressive" and slow["motility"] == "slow_progressive"
    # circling in place (radius 3 µm at 15 µm/s): active but not progressive
    w = 15 / 3
    circ = one((f, 3 * np.cos(w * t), 3 * np.sin(w * t)), fps)
    assert circ["motility"] == "non_progressive" and circ["pattern"] == "circular"
    # twitching in place: the head beats 1 µm about a fixed point
    twitch = one((f, np.zeros_like(t), wobble), fps)
    assert twitch["motility"] == "non_progressive" and twitch["pattern"] == "non_progressive"


def test_progressive_velocity_reads_one_second_windows():
    """WHO: progression is the distance covered from start to end point in 1 s. A big circle
    swum in 4 s is progressive although its 4-s VSL is zero."""
    fps, T = 50.0, 4.0
    f = np.arange(int(T * fps) + 1)
    t = f / fps
    radius = 25.0
    w = 2 * np.pi / T
    r = one((f, radius * np.cos(w * t), radius * np.sin(w * t)), fps)
    chord_1s = 2 * radius * np.sin(w * 1.0 / 2)  # displacement over any 1-s window
    assert r["vsl"] < 0.5
    assert rel(r["vprog"], chord_1s) < TOL
    assert r["motility"] == "rapid_progressive"


# ----------------------------------------------------------------------------- frame rate
def test_frame_rate_independence():
    """The same path sampled at 25, 50 and 100 fps gives the same values (VCL only for a
    path smooth at all three rates; it grows with the frame rate on a beating path)."""
    rows = {}
    for fps in (25.0, 50.0, 100.0):
        f = np.arange(int(4 * fps) + 1)
        t = f / fps
        # a curved swimmer (radius 60 µm) with a 5 Hz, 1.5 µm head oscillation
        heading = 35.0 / 60.0 * t
        cx, cy = 60 * np.sin(heading), 60 * (1 - np.cos(heading))
        lat = 1.5 * np.sin(2 * np.pi * 5 * t)
        rows[fps] = one((f, cx - np.sin(heading) * lat, cy + np.cos(heading) * lat), fps)
    for key, tol in (("vsl", 0.01), ("vap", 0.02), ("vprog", 0.02), ("str", 0.02), ("alh_mean", 0.03), ("bcf", 0.02)):
        values = [rows[fps][key] for fps in rows]
        assert max(values) / min(values) - 1 < tol, (key, values)
    smooth = {}
    for fps in (25.0, 50.0, 100.0):
        f = np.arange(int(3 * fps) + 1)
        t = f / fps
        smooth[fps] = one((f, 30 * np.cos(t), 30 * np.sin(t)), fps)
    values = [smooth[fps]["vcl"] for fps in smooth]
    assert max(values) / min(values) - 1 < 0.005


# ----------------------------------------------------------------------------- table, units
def test_table_columns_dtypes_units_and_order():
    fps = 50.0
    f = np.arange(100)
    paths = {7: (f, 20 * f / fps, np.zeros(100)), 3: (f[:40], np.zeros(40), 10 * f[:40] / fps)}
    b = boxes_from_paths(paths)
    b = Boxes.concat([b, Boxes.from_xyxy([5], [[0, 0, 10, 10]])])  # an untracked box is ignored
    df = casa(b, Calibration(UM_PER_PX, fps))
    assert list(df.columns) == list(COLUMNS)
    assert df["track_id"].tolist() == [3, 7]
    assert df["track_id"].dtype == np.int64 and df["cls"].dtype == np.int16 and df["n_points"].dtype == np.int64
    assert df.attrs["length_unit"] == "µm" and df.attrs["speed_unit"] == "µm/s"
    assert df.attrs["frequency_unit"] == "Hz" and df.attrs["ratio_unit"] == "fraction"
    assert df.attrs["parameters"]["smoothing_s"] == 0.5
    assert df.loc[df.track_id == 3, "vsl"].item() == pytest.approx(10.0, rel=1e-4)
    assert set(df["motility"]) <= set(MOTILITY_CLASSES)


def test_uncalibrated_results_are_in_pixels_and_say_so():
    fps = 50.0
    f = np.arange(100)
    b = boxes_from_paths({1: (f, 40 * f / fps, np.zeros(100))})
    px = casa(b, Calibration(None, fps))
    um = casa(b, Calibration(UM_PER_PX, fps))
    assert px.attrs["length_unit"] == "px" and px.attrs["speed_unit"] == "px/s"
    assert px.loc[0, "vsl"] == pytest.approx(um.loc[0, "vsl"] / UM_PER_PX, rel=1e-6)
    assert px.loc[0, "motility"] == "uncalibrated" and px.loc[0, "pattern"] == "uncalibrated"
    assert px.loc[0, "lin"] == pytest.approx(um.loc[0, "lin"])


def test_majority_class_and_duplicate_frames():
    f = np.r_[np.arange(30), 10]  # frame 10 twice
    cx = np.r_[np.arange(30) * 2.0, 20.0 + 4.0]
    cls = np.r_[np.zeros(20), np.full(10, 2), 2]
    order = np.argsort(f, kind="stable")
    arr = np.stack([cx + 100, np.full(31, 100.0), np.full(31, 20.0), np.full(31, 20.0)], 1)
    b = Boxes.from_cxcywh(f[order], arr[order], cls=cls[order], track_id=np.ones(31, int))
    df = casa(b, Calibration(UM_PER_PX, 50.0))
    assert df.loc[0, "cls"] == 0  # 20 boxes of class 0, 11 of class 2
    assert df.loc[0, "n_points"] == 30
    assert "duplicate_frames" in df.loc[0, "quality"]


def test_short_and_single_point_tracks():
    b = boxes_from_paths({1: (np.arange(5), np.arange(5) * 0.5, np.zeros(5)), 2: (np.array([3]), [0.0], [0.0])})
    df = casa(b, Calibration(UM_PER_PX, 50.0)).set_index("track_id")
    assert df.loc[1, "quality"] == "too_short"
    assert df.loc[1, "vsl"] == pytest.approx(0.5 * 50, rel=1e-4)
    assert df.loc[2, "n_points"] == 1 and np.isnan(df.loc[2, "vcl"]) and df.loc[2, "motility"] == "unknown"


def test_empty_input():
    df = casa(Boxes.empty(10), Calibration(UM_PER_PX, 50.0))
    assert len(df) == 0 and list(df.columns) == list(COLUMNS)
    assert df.attrs["speed_unit"] == "µm/s"


def test_bad_input_errors():
    b = boxes_from_paths({1: (np.arange(20), np.arange(20.0), np.zeros(20))})
    with pytest.raises(BoxesError, match="lacks column"):  # a table of points needs frame, x, y
        casa(pd.DataFrame({"x": [1]}), Calibration(UM_PER_PX, 50.0))
    with pytest.raises(CalibrationError, match="Calibration"):
        casa(b, 0.25)
    with pytest.raises(ValueError, match="smoothing_s"):
        casa(b, Calibration(UM_PER_PX, 50.0), smoothing_s=-1)
    with pytest.raises(ValueError, match="average-path method"):
        casa(b, Calibration(UM_PER_PX, 50.0), average="gaussian")
    with pytest.raises(ValueError, match="strictly increasing"):
        average_path([0.0, 0.0, 1.0], [0, 1, 2], [0, 1, 2])


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"smoothing_s": 1e300}, r"smoothing_s must be at most 5 s, got 1e\+300"),
        ({"progressive_window_s": 100}, "progressive_window_s must be at most 10 s, got 100"),
        ({"thresholds": {"rapid": 5, "progressive": 25}}, r"rapid \(5 µm/s\) must be >= progressive \(25 µm/s\)"),
        ({"criteria": {"linear_str": 80}}, "linear_str is a fraction and must be in 0-1, got 80"),
        ({"criteria": {"ha_lin": 1.5}}, "ha_lin is a fraction"),
    ],
)
def test_absurd_casa_settings_are_refused_naming_the_setting(settings, message):
    """Issue: smoothing_s=1e300 made every cell non-progressive; rapid below progressive was accepted."""
    from spermtrack.kinematics.config import CasaConfig, CasaConfigError

    with pytest.raises(ValueError, match=message):
        CasaConfig.from_dict(settings)
    assert issubclass(CasaConfigError, ValueError)
    CasaConfig.from_dict({"smoothing_s": 5.0, "progressive_window_s": 10, "thresholds": {"rapid": 5, "progressive": 5}})


# ----------------------------------------------------------------------------- references
@pytest.mark.parametrize("uniform", [True, False])
def test_average_path_loess_equals_weighted_polyfit(uniform):
    """The Numba local quadratic regression equals numpy.polyfit with tricube weights, on
    evenly sampled tracks (where the kernel is reused) and on tracks with gaps."""
    rng = np.random.default_rng(4)
    t = np.arange(120) * 0.02 if uniform else np.cumsum(rng.choice([0.02, 0.04], 120))
    x = 30 * t + rng.normal(0, 0.5, 120)
    y = 5 * np.sin(2 * t) + rng.normal(0, 0.5, 120)
    window = 0.5
    ours = average_path(t, x, y, window, pin_ends=False)
    for i in (0, 3, 12, 13, 40, 41, 77, 108, 119):
        start = min(max(t[i] - window / 2, t[0]), t[-1] - window)
        h = max(t[i] - start, start + window - t[i])
        m = (t >= start) & (t <= start + window) & (np.abs(t - t[i]) < h)
        w = (1 - np.abs((t[m] - t[i]) / h) ** 3) ** 3
        ref = [np.polyval(np.polyfit(t[m] - t[i], v[m], 2, w=np.sqrt(w)), 0.0) for v in (x, y)]
        np.testing.assert_allclose(ours[i], ref, rtol=0, atol=1e-8)


def test_average_path_mean_equals_scipy_uniform_filter():
    from scipy.ndimage import uniform_filter1d

    rng = np.random.default_rng(5)
    t = np.arange(200) / 50.0
    x, y = rng.normal(0, 1, 200).cumsum(), rng.normal(0, 1, 200).cumsum()
    ours = average_path(t, x, y, 0.2, method="mean", pin_ends=False)  # 11 points, centred
    ref = uniform_filter1d(x, 11)
    np.testing.assert_allclose(ours[5:-5, 0], ref[5:-5], atol=1e-9)
    # near the ends the window keeps its 11 points and slides inwards
    assert ours[0, 0] == pytest.approx(x[:11].mean(), abs=1e-12) and ours[-1, 1] == pytest.approx(y[-11:].mean(), abs=1e-12)
    # the pinned path (what VAP is measured along) ends on the end points
    pinned = average_path(t, x, y, 0.2, method="mean")
    assert pinned[0].tolist() == [x[0], y[0]] and pinned[-1].tolist() == [x[-1], y[-1]]
    # with gaps: the mean of the points within the window (slid inwards at the ends)
    tg = np.cumsum(rng.choice([0.02, 0.04, 0.06], 80))
    xg = rng.normal(0, 1, 80)
    got = average_path(tg, xg, xg, 0.3, method="mean", pin_ends=False)[:, 0]
    for i in range(80):
        start = max(min(tg[i] - 0.15, tg[-1] - 0.3), tg[0])
        inside = (tg >= start - 1e-9) & (tg <= start + 0.3 + 1e-9)
        assert got[i] == pytest.approx(xg[inside].mean(), abs=1e-12)


def test_vcl_vsl_equal_plain_numpy_reference_on_random_tracks():
    rng = np.random.default_rng(6)
    paths = {}
    for tid in range(1, 21):
        n = int(rng.integers(5, 300))
        f = np.sort(rng.choice(np.arange(600), n, replace=False))
        paths[tid] = (f, rng.normal(0, 3, n).cumsum(), rng.normal(0, 3, n).cumsum())
    b = boxes_from_paths(paths)
    df = casa(b, Calibration(UM_PER_PX, 50.0)).set_index("track_id")
    for tid, (f, _x, _y) in paths.items():
        tr = b.track(tid)
        x = (tr.x1.astype(float) + tr.x2.astype(float)) / 2 * UM_PER_PX
        y = (tr.y1.astype(float) + tr.y2.astype(float)) / 2 * UM_PER_PX
        T = (f[-1] - f[0]) / 50.0
        assert df.loc[tid, "vcl"] == pytest.approx(np.hypot(np.diff(x), np.diff(y)).sum() / T, rel=1e-9)
        assert df.loc[tid, "vsl"] == pytest.approx(np.hypot(x[-1] - x[0], y[-1] - y[0]) / T, rel=1e-9)


def test_messages_show_numpy_values_as_plain_numbers():
    from spermtrack.kinematics.config import CasaConfig
    from spermtrack.kinematics.motility import MotilityThresholds
    from spermtrack.kinematics.patterns import PatternCriteria

    for make, shown in (
        (lambda: CasaConfig(jump_factor=np.float64(0.0)), "got 0.0"),
        (lambda: MotilityThresholds(rapid=np.float64(np.nan)), "got nan"),
        (lambda: PatternCriteria(ha_vcl=np.float32(-1.0)), "got -1.0"),
    ):
        with pytest.raises(ValueError, match=shown) as err:
            make()
        assert "np." not in str(err.value)
