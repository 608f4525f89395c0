"""One rule for units: µm with a calibration, pixels without, and the quality gates in both.

Reproduces issue 16's first problem: without ``--um-per-px`` the 150 µm/s floor of the
jump test and the ``max_vap`` check were switched off, so slow and immotile tracks with
detection jitter failed the ``jump`` gate (17 of 49 valid instead of 41). The gates now
use the video's own scale (the median head box) and the valid counts agree.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pandas as pd
import pytest

from spermtrack import Boxes, Calibration
from spermtrack.errors import FormatError, ParameterError
from spermtrack.kinematics import (
    COLUMNS,
    HEAD_BOX_UM,
    CasaConfig,
    UncalibratedWarning,
    casa,
    median_box_px,
    read_kinematics_csv,
    summarize,
    write_kinematics_csv,
)
from spermtrack.simulate import simulate_video

FPS = 50.0


def jittered_truth(seed: int = 1, frames: int = 250, jitter_px: float = 1.0):
    """The simulator's labelled tracks with heavy-tailed detection jitter (Student t, 3 dof) on the centres."""
    sim = simulate_video(seed=seed, num_frames=frames)
    b = sim.boxes.filter(sim.boxes.track_id >= 0)
    rng = np.random.default_rng(seed)
    cx = b.cx + jitter_px * rng.standard_t(3, len(b))
    cy = b.cy + jitter_px * rng.standard_t(3, len(b))
    boxes = Boxes.from_cxcywh(b.frame, np.stack([cx, cy, b.width, b.height], 1), cls=b.cls, track_id=b.track_id)
    return boxes, sim


def quiet_casa(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UncalibratedWarning)
        return casa(*args, **kwargs)


def test_uncalibrated_runs_keep_the_tracks_a_calibrated_run_keeps():
    boxes, sim = jittered_truth()
    cal = quiet_casa(boxes, Calibration(0.25, FPS), image_size=sim.image_size)
    unc = quiet_casa(boxes, Calibration(None, FPS), image_size=sim.image_size)
    sperm = (cal.cls == 0).to_numpy()
    n_cal, n_unc = int(cal.valid[sperm].sum()), int(unc.valid[sperm].sum())
    assert sperm.sum() > 40 and n_cal > 15
    assert abs(n_unc - n_cal) <= max(2, 0.1 * n_cal), (n_unc, n_cal)
    # the old behaviour (no absolute floor without a calibration) loses a third of them: the test can fail
    off = quiet_casa(boxes, Calibration(None, FPS), image_size=sim.image_size, jump_speed=None, max_vap=None)
    assert off.valid[sperm].sum() < 0.75 * n_cal
    assert (off.quality[sperm] == "jump").sum() > (unc.quality[sperm] == "jump").sum() + 5


def test_the_gates_used_are_recorded_with_their_origin():
    boxes, _ = jittered_truth(frames=60)
    unc = quiet_casa(boxes, Calibration(None, FPS))
    gates = unc.attrs["gates"]
    box = median_box_px(boxes)
    assert 15 < box < 35  # the simulator's VISEM-sized heads
    assert gates["basis"] == "derived" and gates["speed_unit"] == "px/s"
    assert gates["median_box_px"] == pytest.approx(box)
    assert f"median box size {box:.1f} px" in gates["source"]
    assert gates["jump_speed"] == pytest.approx(150.0 / HEAD_BOX_UM * box)  # 26.1 head boxes per second
    assert gates["max_vap"] == pytest.approx(200.0 / HEAD_BOX_UM * box)
    cal = casa(boxes, Calibration(0.25, FPS))
    assert cal.attrs["gates"]["basis"] == "calibrated" and cal.attrs["gates"]["jump_speed"] == 150.0
    assert cal.attrs["gates"]["speed_unit"] == "µm/s" and cal.attrs["warnings"] == []
    # the constant is the one of the docs: 150 µm/s is 26.1 head boxes per second
    assert 150.0 / HEAD_BOX_UM == pytest.approx(26.09, abs=0.01)
    # a different head size setting moves the derived gates
    big = quiet_casa(boxes, Calibration(None, FPS), head_box_um=11.5)
    assert big.attrs["gates"]["jump_speed"] == pytest.approx(0.5 * gates["jump_speed"])


def test_uncalibrated_results_warn_which_numbers_cannot_be_compared():
    boxes, _ = jittered_truth(frames=60)
    with pytest.warns(UncalibratedWarning, match="cannot be compared with WHO thresholds") as rec:
        df = casa(boxes, Calibration(None, FPS))
    assert "VCL, VSL, VAP" in str(rec[0].message) and "--um-per-px" in str(rec[0].message)
    assert df.attrs["warnings"] == [str(rec[0].message)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UncalibratedWarning)
        casa(boxes, Calibration(0.25, FPS))  # calibrated: no warning


def test_no_boxes_no_scale_and_the_gates_say_so():
    empty = Boxes.empty()
    df = quiet_casa(empty, Calibration(None, FPS))
    assert len(df) == 0 and df.attrs["gates"]["basis"] == "none" and df.attrs["gates"]["jump_speed"] is None


def ar1(rng, n, rho, sigma):
    e = sigma * rng.standard_normal(n)
    out = np.empty(n)
    out[0] = e[0]
    for i in range(1, n):
        out[i] = rho * out[i - 1] + e[i]
    return out


def line_track(frames, cx, cy, tid=1, side=20.0):
    f = np.asarray(frames)
    return Boxes.from_cxcywh(
        f, np.stack([cx, cy, np.full(len(f), side), np.full(len(f), side)], 1), track_id=np.full(len(f), tid)
    )


def test_turn_is_nan_for_an_immotile_jittering_track_and_measured_for_a_swimmer():
    rng = np.random.default_rng(5)
    f = np.arange(500)
    # a still head whose detected centre wanders (AR(1) jitter, as detector boxes do): the
    # average path follows the wander and its heading turned by 1130 degrees before
    n = 150
    still = line_track(np.arange(n), 300 + ar1(rng, n, 0.5, 0.4), 200 + ar1(rng, n, 0.5, 0.4), tid=1)
    theta = 2 * np.pi * f / 250  # a circle of 40 µm radius, twice round in 10 s
    circle = line_track(f, 300 + 160 * np.cos(theta), 240 + 160 * np.sin(theta), tid=2)
    short = line_track(np.arange(5), 100 + 4.0 * np.arange(5), np.full(5, 50.0), tid=3)
    both = Boxes.concat([still, circle, short])
    k = casa(both, Calibration(0.25, FPS)).set_index("track_id")
    assert k.loc[1, "motility"] == "immotile"
    assert np.isnan(k.loc[1, "turn_deg"]), "the heading of a still average path is noise"
    assert k.loc[2, "turn_deg"] == pytest.approx(720.0, rel=0.1) and k.loc[2, "pattern"] == "circular"
    assert "too_short" in k.loc[3, "quality"] and np.isnan(k.loc[3, "turn_deg"])
    # without a calibration the same track is still (derived thresholds): NaN too
    u = quiet_casa(both, Calibration(None, FPS)).set_index("track_id")
    assert np.isnan(u.loc[1, "turn_deg"]) and u.loc[2, "turn_deg"] == pytest.approx(k.loc[2, "turn_deg"])


# ---------------------------------------------------------------------------- kinematics.csv
@pytest.fixture(scope="module")
def tables():
    boxes, _ = jittered_truth(frames=80)
    return quiet_casa(boxes, Calibration(0.25, FPS)), quiet_casa(boxes, Calibration(None, FPS))


def test_csv_headers_carry_units_and_read_back(tables, tmp_path):
    cal, unc = tables
    path = write_kinematics_csv(tmp_path / "kinematics.csv", cal)
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    for name in ("vcl_um_s", "vsl_um_s", "vap_um_s", "vprog_um_s", "alh_mean_um", "lin_fraction", "str_fraction"):
        assert name in header
    assert {"duration_s", "bcf_hz", "mad_deg", "turn_deg", "max_gap_s", "track_id"} <= set(header)
    assert not {"vcl", "lin", "alh_mean"} & set(header)
    back = read_kinematics_csv(path)
    assert list(back.columns) == list(COLUMNS)
    assert back.attrs["length_unit"] == "µm" and back.attrs["speed_unit"] == "µm/s"
    pd.testing.assert_frame_equal(back[["track_id", "n_points"]], cal[["track_id", "n_points"]])
    np.testing.assert_allclose(back["vcl"], cal["vcl"], rtol=1e-5)
    assert summarize(back)["motility"] == summarize(cal)["motility"]
    buf = io.StringIO()
    write_kinematics_csv(buf, unc)
    header = buf.getvalue().splitlines()[0].split(",")
    assert "vcl_px_s" in header and "alh_max_px" in header and "lin_fraction" in header
    back = read_kinematics_csv(io.StringIO(buf.getvalue()))
    assert back.attrs["speed_unit"] == "px/s" and list(back.columns) == list(COLUMNS)


def test_csv_ratios_are_fractions(tables):
    cal, _ = tables
    buf = io.StringIO()
    write_kinematics_csv(buf, cal)
    back = read_kinematics_csv(io.StringIO(buf.getvalue()))
    lin = back["lin"].dropna()
    assert len(lin) and lin.between(0, 1).all()


def test_csv_bad_input_is_named(tmp_path, tables):
    cal, _ = tables
    bad = tmp_path / "mixed.csv"
    bad.write_text("track_id,vcl_um_s,alh_mean_px\n1,2,3\n", encoding="utf-8")
    with pytest.raises(FormatError, match=r"mixed\.csv.*mix units"):
        read_kinematics_csv(bad)
    with pytest.raises(ParameterError, match="length unit"):
        write_kinematics_csv(io.StringIO(), pd.DataFrame({"vcl": [1.0]}))
    old = tmp_path / "old.csv"
    cal.to_csv(old, index=False)  # a file of the previous release, without units in the headers
    assert read_kinematics_csv(old).attrs["length_unit"] is None


def test_config_head_box_round_trips_and_old_settings_still_load():
    c = CasaConfig(head_box_um=5.0)
    assert CasaConfig.from_dict(c.to_dict()) == c
    old = CasaConfig().to_dict()
    old.pop("head_box_um")
    assert CasaConfig.from_dict(old).head_box_um == HEAD_BOX_UM
    with pytest.raises(ParameterError, match="head_box_um"):
        CasaConfig(head_box_um=0)


@pytest.mark.slow
def test_the_demo_clip_keeps_its_valid_tracks_without_calibration(tmp_path):
    """Issue 16 as reported: the demo clip through the default detector and the tracker.

    Before: 24 of 45 sperm tracks valid without a calibration against 32 with it (150
    frames); the jump gate had lost its floor. Now the counts agree.
    """
    from spermtrack.cli.demo import simulate_clip
    from spermtrack.pipeline import analyze

    folder, sim = simulate_clip(tmp_path, 150, 7, 25.0, "phase")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UncalibratedWarning)
        a = analyze(folder)
    unc = a.kinematics
    cal = casa(a.tracks, Calibration(0.25, sim.fps), image_size=a.image_size, frame_times=a.frame_times)
    sperm = (unc.cls == 0).to_numpy()
    n_unc, n_cal = int(unc.valid[sperm].sum()), int(cal.valid[sperm].sum())
    assert n_cal > 20 and abs(n_unc - n_cal) <= max(2, 0.1 * n_cal), (n_unc, n_cal)
    assert unc.attrs["gates"]["basis"] == "derived" and a.summary["counts"]["valid_tracks"] == n_unc


def test_casa_takes_a_trackpy_table_of_points():
    """casa() on a DataFrame of points (frame, x, y, particle) equals casa() on the same tracks as Boxes."""
    import pandas as pd

    from spermtrack import Boxes, Calibration
    from spermtrack.kinematics import casa

    f = np.arange(101)
    rows = []
    for pid, (vx, vy) in enumerate(((3.2, 0.0), (0.0, -1.5)), start=1):
        for i in f:
            rows.append({"frame": int(i), "x": 100.0 + vx * i, "y": 200.0 + vy * i, "particle": pid})
    table = pd.DataFrame(rows).sort_values(["frame", "particle"], kind="stable").reset_index(drop=True)
    cal = Calibration(0.25, 50.0)
    from_table = casa(table, cal)
    boxes = Boxes.from_cxcywh(
        table["frame"].to_numpy(),
        np.stack([table["x"], table["y"], np.full(len(table), 23.0), np.full(len(table), 23.0)], 1),
        track_id=table["particle"].to_numpy(),
    )
    from_boxes = casa(boxes, cal)
    assert from_table["track_id"].tolist() == [1, 2]
    np.testing.assert_allclose(from_table[["vcl", "vsl", "vap"]].to_numpy(), from_boxes[["vcl", "vsl", "vap"]].to_numpy())
    assert from_table.loc[0, "vsl"] == pytest.approx(3.2 * 50 * 0.25, rel=1e-9)


def test_casa_refuses_a_table_without_points_columns():
    import pandas as pd

    from spermtrack import Calibration
    from spermtrack.errors import SpermtrackError
    from spermtrack.kinematics import casa

    with pytest.raises(SpermtrackError, match=r"frame|x|y"):
        casa(pd.DataFrame({"a": [1, 2]}), Calibration(0.25, 50.0))
