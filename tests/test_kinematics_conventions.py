"""Conventions that hold by construction: VSL <= VAP <= VCL (so LIN, STR, WOB <= 1) on
every track, the average path through the track's end points, exact time stamps.

The expected values are computed here from the definitions (numpy), never from the code
under test.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kinematics_paths import boxes_from_paths

from spermtrack import Calibration
from spermtrack.kinematics import average_path, casa

UM = 0.25
#: Relative slack for float rounding only (the inequalities are exact in real arithmetic).
ROUNDING = 1e-12


def assert_ordered(df):
    """VSL <= VAP <= VCL and 0 <= LIN, STR, WOB <= 1 on every track with a duration."""
    df = df[df.n_points >= 2]
    vcl, vsl, vap = (df[c].to_numpy() for c in ("vcl", "vsl", "vap"))
    assert np.all(vsl <= vap * (1 + ROUNDING) + 1e-300), df[vsl > vap][["track_id", "vsl", "vap"]]
    assert np.all(vap <= vcl * (1 + ROUNDING) + 1e-300), df[vap > vcl][["track_id", "vap", "vcl"]]
    for c in ("lin", "str", "wob"):
        r = df[c].to_numpy()
        r = r[np.isfinite(r)]  # NaN only where the denominator is 0 (a track that does not move)
        assert np.all((r >= 0) & (r <= 1 + ROUNDING)), (c, r.max())


# ----------------------------------------------------------------------------- average path
def test_average_path_is_pinned_to_the_end_points_by_linear_ramps():
    """The pinned path = the fitted path + the end offsets, fading linearly over one window."""
    rng = np.random.default_rng(11)
    t = np.arange(150) / 50.0
    x = 40 * t + 2 * np.sin(2 * np.pi * 9 * t + 0.7) + rng.normal(0, 0.1, 150)
    y = 2 * np.cos(2 * np.pi * 9 * t) + rng.normal(0, 0.1, 150)
    fit = average_path(t, x, y, 0.5, pin_ends=False)
    pinned = average_path(t, x, y, 0.5)
    assert pinned[0].tolist() == [x[0], y[0]] and pinned[-1].tolist() == [x[-1], y[-1]]
    w0 = np.clip(1 - (t - t[0]) / 0.5, 0, 1)[:, None]
    w1 = np.clip(1 - (t[-1] - t) / 0.5, 0, 1)[:, None]
    expected = fit + w0 * (np.array([x[0], y[0]]) - fit[0]) + w1 * (np.array([x[-1], y[-1]]) - fit[-1])
    np.testing.assert_allclose(pinned, expected, rtol=0, atol=1e-12)
    inner = (t >= 0.5) & (t <= t[-1] - 0.5)
    np.testing.assert_array_equal(pinned[inner], fit[inner])
    # the same for the running average
    mean = average_path(t, x, y, 0.5, method="mean")
    assert mean[0].tolist() == [x[0], y[0]] and mean[-1].tolist() == [x[-1], y[-1]]
    np.testing.assert_array_equal(mean[inner], average_path(t, x, y, 0.5, method="mean", pin_ends=False)[inner])


@pytest.mark.parametrize("duration", [0.5, 0.7, 1.0, 1.4])
def test_short_beating_tracks_str_at_most_one_and_vap_close_to_the_swimming_speed(duration):
    """The short tracks that showed STR up to 1.08: a 40 µm/s swimmer beating +-2 µm at
    8-15 Hz, eight beat phases at the ends. VAP is now at least VSL, which on a 0.5-s track
    is up to 2 % above the swimming speed by itself (end points on opposite sides of the
    beat: sqrt(20^2 + 4^2) µm in 0.5 s); beyond that, pinning the average path to the end
    points costs VAP under 1 %."""
    fps, v, amp = 50.0, 40.0, 2.0
    f = np.arange(int(round(duration * fps)) + 1)
    t = f / fps
    paths = {}
    for i, phase in enumerate(np.linspace(0, 2 * np.pi, 8, endpoint=False)):
        for j, freq in enumerate((8.0, 10.0, 12.0, 15.0)):
            paths[1 + 10 * i + j] = (f, v * t, amp * np.sin(2 * np.pi * freq * t + phase))
    df = casa(boxes_from_paths(paths), Calibration(UM, fps))
    assert_ordered(df)
    chord = np.array([np.hypot(v * duration, y[-1] - y[0]) / duration for _, _, y in paths.values()])
    np.testing.assert_allclose(df.vsl, chord, rtol=1e-5)  # VSL: the raw end points (WHO)
    assert (df.vap <= np.maximum(chord, v) * 1.01).all()
    assert (df.vap >= v * 0.995).all()
    if duration >= 0.7:
        assert df.vap.max() / v - 1 < 0.02  # the 2 % of the analytic tests


def test_switch_at_the_end_of_a_track_cannot_make_str_above_one():
    """A still cell whose last six detections are a neighbour's, 8 µm away (inside the last
    half window, which the average path used to leave out): VSL spans the switch, and so
    does VAP now (it read STR 7.9 before)."""
    fps, n = 50.0, 60
    rng = np.random.default_rng(3)
    x, y = rng.normal(0, 0.05, n), rng.normal(0, 0.05, n)
    x[-6:] += 8.0
    r = casa(boxes_from_paths({1: (np.arange(n), x, y)}), Calibration(UM, fps)).iloc[0]
    assert r["vsl"] == pytest.approx(np.hypot(x[-1] - x[0], y[-1] - y[0]) / ((n - 1) / fps), rel=1e-5)
    assert r["vsl"] <= r["vap"] <= r["vcl"] and r["str"] <= 1.0
    assert "jump" in r["quality"]


def test_vap_is_capped_at_vcl_where_the_local_quadratic_rings():
    """A noise-free still cell that jumps 10 µm once (an identity switch between two still
    cells): the fitted path overshoots the step (12.3 µm of path for a 10 µm step), and
    an average path longer than the path it averages is an artefact: VAP = VCL, WOB = 1."""
    fps, n = 50.0, 100
    f = np.arange(n)
    y = np.where(f < 50, 0.0, 10.0)
    fit = average_path(f / fps, np.zeros(n), y)
    assert np.hypot(*np.diff(fit, axis=0).T).sum() > 12.0  # the ringing this test is about
    r = casa(boxes_from_paths({1: (f, np.zeros(n), y)}), Calibration(UM, fps)).iloc[0]
    assert r["vcl"] == pytest.approx(10.0 / ((n - 1) / fps), rel=1e-5)
    assert r["vap"] == r["vcl"] and r["wob"] == 1.0
    assert r["quality"] == "jump"


# ----------------------------------------------------------------------------- property
@st.composite
def noisy_track(draw):
    """A random head path: drift along a turning heading, a beat, a random walk, detection
    jitter, missing frames and, sometimes, a switch-like jump; at a random frame rate."""
    fps = draw(st.sampled_from([25.0, 30.0, 49.0, 50.0, 60.0, 100.0]))
    n = draw(st.integers(2, 220))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    f = np.arange(n)
    if n > 3:
        keep = rng.random(n) > draw(st.floats(0.0, 0.5))
        keep[[0, -1]] = True
        f = f[keep]
    t = f / fps
    speed = draw(st.floats(0.0, 150.0))
    heading = rng.uniform(0, 2 * np.pi) + draw(st.floats(-6.0, 6.0)) * t
    step = np.diff(t, prepend=t[0])
    x = np.cumsum(speed * np.cos(heading) * step)
    y = np.cumsum(speed * np.sin(heading) * step)
    amp, freq = draw(st.floats(0.0, 6.0)), draw(st.floats(1.0, 30.0))
    beat = amp * np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))
    x, y = x - np.sin(heading) * beat, y + np.cos(heading) * beat
    walk = draw(st.floats(0.0, 2.0))
    x, y = x + walk * rng.normal(size=len(t)).cumsum(), y + walk * rng.normal(size=len(t)).cumsum()
    jitter = draw(st.floats(0.0, 2.0))
    x, y = x + rng.normal(0, jitter, len(t)), y + rng.normal(0, jitter, len(t))
    if draw(st.booleans()):
        k = int(rng.integers(0, len(t)))
        x[k:] += draw(st.floats(-30.0, 30.0))
    return f, x, y, fps


@settings(max_examples=150, deadline=None)
@given(
    tracks=st.lists(noisy_track(), min_size=1, max_size=4),
    smoothing_s=st.sampled_from([0.0, 0.1, 0.3, 0.5, 1.0, 2.0]),
    average=st.sampled_from(["loess", "mean"]),
    um_per_px=st.sampled_from([None, 0.25, 1.0]),
)
def test_vsl_vap_vcl_are_ordered_and_ratios_at_most_one(tracks, smoothing_s, average, um_per_px):
    """On any track (noise, beats, gaps, jumps, any frame rate, window and smoother):
    VSL <= VAP <= VCL, hence 0 <= LIN, STR, WOB <= 1, up to float rounding."""
    fps = tracks[0][3]
    paths = {i + 1: (f, x, y) for i, (f, x, y, _) in enumerate(tracks)}
    df = casa(boxes_from_paths(paths), Calibration(um_per_px, fps), smoothing_s=smoothing_s, average=average)
    assert_ordered(df)


# ----------------------------------------------------------------------------- time stamps
@pytest.mark.parametrize("fps", [23.976, 29.97, 49.0, 50.0, 100.0])
def test_durations_and_gaps_are_whole_frames_over_fps(fps):
    """No float residue: ``duration_s`` is (last - first) / fps and ``max_gap_s`` is
    missing frames / fps, exactly, and exactly 0 on a track without a hole, wherever the
    track starts."""
    paths = {
        1: (np.arange(1000, 1100), np.zeros(100), np.zeros(100)),
        2: (np.r_[np.arange(7, 20), np.arange(23, 60)], np.zeros(50), np.zeros(50)),
        3: (np.r_[np.arange(333, 340), np.arange(351, 400)], np.zeros(56), np.zeros(56)),
    }
    df = casa(boxes_from_paths(paths), Calibration(UM, fps)).set_index("track_id")
    assert df.loc[1, "max_gap_s"] == 0.0 and df.loc[1, "duration_s"] == 99 / fps
    assert df.loc[2, "max_gap_s"] == 3 / fps and df.loc[2, "duration_s"] == 52 / fps
    assert df.loc[3, "max_gap_s"] == 11 / fps and df.loc[3, "duration_s"] == 66 / fps
