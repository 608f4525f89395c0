"""viz.plots: the figures of an analysis (values checked against brute force, files checked as PNGs)."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from spermtrack import Boxes, Calibration
from spermtrack.viz import plots, style


def random_tracks(n_tracks=12, n_frames=60, seed=0, w=640, h=480) -> Boxes:
    """Random-walk tracks with known ids, classes and sizes (sperm ~23 px, clusters ~55 px)."""
    rng = np.random.default_rng(seed)
    parts = []
    for t in range(1, n_tracks + 1):
        start = int(rng.integers(0, n_frames // 3))
        stop = int(rng.integers(start + 5, n_frames + 1))
        f = np.arange(start, stop)
        xy = rng.uniform(40, [w - 40, h - 40]) + np.cumsum(rng.normal(0, 3, (len(f), 2)), axis=0)
        xy = np.clip(xy, 30, [w - 30, h - 30])
        cls = 1 if t % 5 == 0 else (2 if t % 7 == 0 else 0)
        side = rng.normal(55 if cls == 1 else 23, 2, len(f))
        parts.append(
            Boxes.from_cxcywh(
                f, np.c_[xy, side, side], cls=np.full(len(f), cls), track_id=np.full(len(f), t), num_frames=n_frames
            )
        )
    return Boxes.concat(parts, num_frames=n_frames)


def kinematics_for(tracks: Boxes) -> pd.DataFrame:
    ids = tracks.unique_tracks()
    grades = ["rapid_progressive", "slow_progressive", "non_progressive", "immotile"]
    rng = np.random.default_rng(1)
    k = pd.DataFrame(
        {
            "track_id": ids,
            "motility": [grades[i % 4] for i in range(len(ids))],
            "vcl": rng.uniform(20, 150, len(ids)),
            "vsl": rng.uniform(0, 80, len(ids)),
            "vap": rng.uniform(10, 100, len(ids)),
        }
    )
    k.attrs["speed_unit"] = "µm/s"
    return k


def png_ok(path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert img is not None and img.shape[0] > 100 and img.shape[1] > 100, path
    assert img.std() > 5, f"{path} looks blank"
    return img


# ---------------------------------------------------------------------------- numbers
def test_box_histogram_centres_match_numpy():
    b = random_tracks()
    hist = plots.box_histogram(b, (640, 480), bins=(32, 24))
    cx, cy = b.cx, b.cy
    brute = np.zeros((24, 32))
    for x, y in zip(cx, cy):
        brute[min(int(y / 20), 23), min(int(x / 20), 31)] += 1
    assert hist.shape == (24, 32)
    np.testing.assert_array_equal(hist, brute)
    assert hist.sum() == len(b)


def test_box_histogram_coverage_matches_brute_force():
    """Each box paints every cell whose centre lies in [x1, x2) x [y1, y2): compare with a loop over boxes."""
    rng = np.random.default_rng(5)
    n = 300
    x1, y1 = rng.uniform(-20, 640, n), rng.uniform(-20, 480, n)
    b = Boxes(np.zeros(n, int), x1, y1, x1 + rng.uniform(0, 120, n), y1 + rng.uniform(0, 90, n))
    nx, ny = 40, 30
    got = plots.box_histogram(b, (640, 480), bins=(nx, ny), mode="coverage")
    xc = (np.arange(nx) + 0.5) * 640 / nx
    yc = (np.arange(ny) + 0.5) * 480 / ny
    want = np.zeros((ny, nx))
    for a, c, d, e in zip(b.x1, b.y1, b.x2, b.y2):
        want += np.outer((yc >= c) & (yc < e), (xc >= a) & (xc < d))
    np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="mode"):
        plots.box_histogram(b, (640, 480), mode="area")


def test_track_polylines_follow_frames_and_skip_short_tracks():
    b = random_tracks(n_tracks=6, seed=2)
    ids, lines = plots.track_polylines(b, min_points=10)
    for t, line in zip(ids, lines):
        one = b.track(t)
        assert len(one) >= 10
        np.testing.assert_allclose(line, np.c_[one.cx, one.cy], rtol=0, atol=1e-4)
    short = [t for t in b.unique_tracks() if len(b.track(t)) < 10]
    assert not set(short) & set(ids.tolist())


def test_default_area_track_is_the_longest_sperm_track():
    b = random_tracks(n_tracks=10, seed=4)
    t = plots.default_area_track(b)
    lengths = {int(i): len(b.track(i)) for i in b.unique_tracks() if b.track(i).cls[0] == 0}
    assert lengths[t] == max(lengths.values())
    assert plots.default_area_track(Boxes.empty(3)) is None


def test_box_area_figure_is_in_square_micrometres_when_calibrated():
    b = random_tracks(n_tracks=3, seed=6)
    t = int(b.unique_tracks()[0])
    one = b.track(t)
    fig = plots.figure_box_area(b, t, Calibration(0.5, 25.0))
    raw = fig.axes[0].lines[0]
    np.testing.assert_allclose(raw.get_ydata(), one.area * 0.25, rtol=1e-6)
    np.testing.assert_allclose(raw.get_xdata(), one.frame / 25.0)
    assert "µm²" in fig.axes[0].get_ylabel()
    fig_px = plots.figure_box_area(b, t, Calibration(None, 25.0))
    assert "px²" in fig_px.axes[0].get_ylabel()
    np.testing.assert_allclose(fig_px.axes[0].lines[0].get_ydata(), one.area, rtol=1e-6)


def test_motility_figure_shows_shares_of_the_counts():
    counts = {"immotile": 5, "rapid_progressive": 10, "slow_progressive": 3, "non_progressive": 2}
    fig = plots.figure_motility(counts)
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights, [50.0, 15.0, 10.0, 25.0])  # WHO order: a, b, c, d
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["rapid progressive", "slow progressive", "non-progressive", "immotile"]
    fig_u = plots.figure_motility(counts, calibrated=False)
    assert any("uncalibrated" in t.get_text() for t in fig_u.axes[0].texts)


def test_motility_figure_draws_the_summarys_weighted_shares_and_intervals():
    grades = {
        "rapid_progressive": {"count": 40, "percent": 16.7, "ci95": [5.0, 42.0]},
        "slow_progressive": {"count": 0, "percent": 0.0, "ci95": [0.0, 20.0]},
        "non_progressive": {"count": 0, "percent": 0.0, "ci95": [0.0, 20.0]},
        "immotile": {"count": 10, "percent": 83.3, "ci95": [58.0, 95.0]},
    }
    ax = plots.figure_motility(grades).axes[0]
    np.testing.assert_allclose([p.get_height() for p in ax.patches], [16.7, 0.0, 0.0, 83.3])
    assert "time-weighted" in ax.get_ylabel() and "95 %" in ax.get_title()
    (bars,) = [c for c in ax.containers if type(c).__name__ == "ErrorbarContainer"]
    segments = bars.lines[2][0].get_segments()
    np.testing.assert_allclose([s[:, 1] for s in segments], [[5.0, 42.0], [0.0, 20.0], [0.0, 20.0], [58.0, 95.0]])
    grades["non_progressive"]["ci95"] = [3e-15, 20.0]  # a bound a hair past the share draws, as a zero-length bar
    plots.figure_motility(grades)


def test_trajectories_number_the_fastest_and_count_grades():
    b = random_tracks(seed=7)
    k = kinematics_for(b)
    fastest = [int(k.track_id[3]), int(k.track_id[0])]
    fig = plots.figure_trajectories(b, image_size=(640, 480), kinematics=k, highlight=fastest, calibration=Calibration(0.25, 50))
    ax = fig.axes[0]
    notes = [t.get_text() for t in ax.texts if t.get_text().startswith("#")]
    assert notes == ["#1", "#2"]
    assert any(t.get_text() == "25 µm" for t in ax.texts)  # scale bar: the roundest length <= 20 % of the width (32 µm)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    drawn = plots.track_polylines(b)[0]
    n_rapid = int(k[k.track_id.isin(drawn) & (k.motility == "rapid_progressive")].shape[0])
    assert f"rapid progressive ({n_rapid})" in legend


def test_trajectories_without_grades_are_coloured_by_speed():
    b = random_tracks(seed=8)
    k = kinematics_for(b).assign(motility="uncalibrated")
    k.attrs["speed_unit"] = "px/s"
    fig = plots.figure_trajectories(b, image_size=(640, 480), kinematics=k)
    labels = [a.get_ylabel() for a in fig.axes]
    assert "VSL (px/s)" in labels  # a colour bar instead of a grade legend


# ---------------------------------------------------------------------------- files
def test_save_plots_writes_every_figure_as_png(tmp_path):
    b = random_tracks(seed=9)
    k = kinematics_for(b)
    bg = np.random.default_rng(0).integers(60, 200, (480, 640, 3), dtype=np.uint8)
    counts = k.motility.value_counts().to_dict()
    paths = plots.save_plots(tmp_path / "plots", b, k, counts, (640, 480), Calibration(0.25, 50), bg, [int(k.track_id[0])])
    assert list(paths) == list(plots.PLOT_CAPTIONS)
    for name, path in paths.items():
        assert path == tmp_path / "plots" / f"{name}.png"
        png_ok(path)
    assert not [p for p in (tmp_path / "plots").iterdir() if p.suffix != ".png"]


def test_figures_handle_empty_inputs(tmp_path):
    empty = Boxes.empty(10)
    k = pd.DataFrame({"track_id": [], "motility": [], "vcl": [], "vsl": [], "vap": []})
    figs = [
        plots.figure_trajectories(empty, image_size=(64, 48), kinematics=k),
        plots.figure_box_area(empty),
        plots.figure_box_centers(empty, (64, 48)),
        plots.figure_box_sizes(empty),
        plots.figure_motility({}),
        plots.figure_speeds(k),
    ]
    for i, fig in enumerate(figs):
        assert plots.save_figure(fig, tmp_path / f"{i}.png").stat().st_size > 1000


def test_style_orders_and_names_grades():
    assert style.order_motility(["immotile", "x", "Rapid progressive"]) == ["Rapid progressive", "immotile", "x"]
    assert style.motility_color("non-progressive") == style.MOTILITY_HEX["non_progressive"]
    assert style.motility_color("uncalibrated") == style.OTHER_HEX
    bgr = style.colormap_bgr("viridis", 3)
    assert bgr.shape == (3, 3) and bgr.dtype == np.uint8
    import matplotlib

    rgb = np.round(np.asarray(matplotlib.colormaps["viridis"](1.0)[:3]) * 255)
    assert tuple(bgr[-1]) == tuple(rgb[::-1].astype(np.uint8))
