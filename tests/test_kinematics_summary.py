"""Sample summary, fastest-sperm ranking and invariances of the CASA kinematics."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spermtrack import Boxes, Calibration
from spermtrack.errors import ParameterError
from spermtrack.kinematics import casa, fastest, summarize
from spermtrack.kinematics.summary import share_interval, weighted_mean, weighted_median

FPS = 50.0
UM = 0.25


def sample(seed=0):
    """A small sample with known classes: 3 rapid, 2 slow, 1 circling in place, 2 still, one
    switch-like track (fast looking) and one short fast track."""
    rng = np.random.default_rng(seed)
    f = np.arange(150)
    t = f / FPS
    paths = {}
    for i, v in enumerate((60.0, 45.0, 30.0)):
        paths[1 + i] = (f, v * t, 1.5 * np.sin(2 * np.pi * 10 * t + i))
    for i, v in enumerate((15.0, 8.0)):
        paths[4 + i] = (f, v * t, 0.8 * np.sin(2 * np.pi * 9 * t))
    paths[6] = (f, 3 * np.cos(5 * t), 3 * np.sin(5 * t))
    for i in range(2):
        paths[7 + i] = (f, rng.normal(0, 0.1, 150), rng.normal(0, 0.1, 150))
    # a slow cell whose track flips between it and a neighbour 10 µm away every 5 frames (an
    # identity flip-flop between two close cells): the fastest of all by VCL
    paths[9] = (f, 10 * t + np.where((f // 5) % 2 == 1, 10.0, 0.0), np.zeros(150))
    # a very fast but short track (0.3 s)
    paths[10] = (f[:16], 120 * t[:16], np.zeros(16))
    frames, cx, cy, ids = [], [], [], []
    for tid, (ff, x, y) in paths.items():
        frames.append(ff)
        cx.append(np.asarray(x) / UM + 50.0 * tid)
        cy.append(np.asarray(y) / UM + 240.0)
        ids.append(np.full(len(ff), tid))
    frames, cx, cy, ids = (np.concatenate(a) for a in (frames, cx, cy, ids))
    order = np.argsort(frames, kind="stable")
    wh = np.full(len(frames), 20.0)
    b = Boxes.from_cxcywh(frames[order], np.stack([cx, cy, wh, wh], 1)[order], track_id=ids[order])
    return casa(b, Calibration(UM, FPS)), b


def test_sample_classes_as_built():
    k, _ = sample()
    by = k.set_index("track_id")
    assert by.loc[[1, 2, 3], "motility"].tolist() == ["rapid_progressive"] * 3
    assert by.loc[[4, 5], "motility"].tolist() == ["slow_progressive"] * 2
    assert by.loc[6, "motility"] == "non_progressive"
    assert by.loc[[7, 8], "motility"].tolist() == ["immotile"] * 2
    assert by.loc[9, "quality"] == "jump" and by.loc[10, "quality"] == "too_short"


def test_summarize_counts_percentages_and_units():
    k, _ = sample()
    s = summarize(k)
    json.dumps(s)  # JSON-ready
    assert s["n_tracks"] == 10 and s["n_valid"] == 8
    assert s["invalid"] == {"jump": 1, "too_short": 1}
    m = s["motility"]
    # every valid track is in view for the same 3 s: time-weighted shares are shares of tracks
    assert m["rapid_progressive"]["count"] == 3 and m["rapid_progressive"]["percent"] == pytest.approx(37.5)
    assert m["rapid_progressive"]["percent_of_tracks"] == pytest.approx(37.5)
    lo, hi = m["rapid_progressive"]["ci95"]
    assert lo < 37.5 < hi and s["shares"]["effective_cells"] == pytest.approx(8.0)
    assert m["slow_progressive"]["count"] == 2 and m["non_progressive"]["count"] == 1 and m["immotile"]["count"] == 2
    assert m["progressive_percent"] == pytest.approx(62.5)
    assert m["total_motility_percent"] == pytest.approx(75.0)
    assert m["immotile_percent"] == pytest.approx(25.0)
    valid = k[k.quality == "ok"]
    assert s["mean"]["vsl"] == pytest.approx(valid["vsl"].mean())
    assert s["median"]["vap"] == pytest.approx(valid["vap"].median())
    motile = valid[valid.motility != "immotile"]
    assert s["motile_mean"]["vcl"] == pytest.approx(motile["vcl"].mean())
    assert s["units"]["speed"] == "µm/s" and s["units"]["length"] == "µm" and s["calibrated"]
    assert sum(v["count"] for v in s["patterns"].values()) == 8


def test_other_classes_are_left_out_by_default():
    k, _ = sample()
    k.loc[k.track_id == 1, "cls"] = 1  # a cluster
    assert summarize(k)["n_tracks"] == 9
    assert summarize(k, classes=None)["n_tracks"] == 10
    assert 1 not in fastest(k, n=10)["track_id"].tolist()
    assert fastest(k, n=1, classes=None)["track_id"].tolist() == [1]


def _graded(durations, grades):
    """A kinematics table of valid tracks with these durations (s) and WHO grades."""
    k = pd.DataFrame(
        {
            "track_id": np.arange(1, len(grades) + 1),
            "duration_s": durations,
            "quality": "ok",
            "motility": grades,
            "pattern": "immotile",
        }
    )
    k.attrs.update(length_unit="µm", speed_unit="µm/s")
    return k


def test_shares_are_weighted_by_time_in_view():
    """10 still cells watched for 30 s, and 40 swimmers passing through for 1.5 s each: at any moment
    about 2 swimmers are in view with the 10 still cells, so 2/12 = 17 % progressive, where 40 of the 50
    tracks (80 %) are progressive. A cell whose track broke in two counts once."""
    k = _graded([30.0] * 10 + [1.5] * 40, ["immotile"] * 10 + ["rapid_progressive"] * 40)
    m = summarize(k)["motility"]
    assert m["progressive_percent"] == pytest.approx(100 * 60 / 360)
    assert m["rapid_progressive"]["percent_of_tracks"] == pytest.approx(80.0)
    assert m["immotile_percent"] + m["progressive_percent"] == pytest.approx(100.0)
    lo, hi = m["progressive_ci95"]
    assert lo < m["progressive_percent"] < hi
    broken = _graded([30.0] * 9 + [12.0, 18.0] + [1.5] * 40, ["immotile"] * 11 + ["rapid_progressive"] * 40)
    assert summarize(broken)["motility"]["progressive_percent"] == pytest.approx(m["progressive_percent"])


def test_the_interval_rests_on_the_effective_number_of_cells():
    """Equal times: the Kish effective number is the number of tracks. One cell watched far longer
    than the others is about one cell: the interval widens."""
    even = summarize(_graded([2.0] * 100, ["immotile"] * 50 + ["slow_progressive"] * 50))
    assert even["shares"]["effective_cells"] == pytest.approx(100.0)
    lo, hi = even["motility"]["progressive_ci95"]
    assert (lo, hi) == pytest.approx(share_interval(0.5, 100))
    skewed = summarize(_graded([200.0] + [2.0] * 100, ["immotile"] * 51 + ["slow_progressive"] * 50))
    assert skewed["shares"]["effective_cells"] < 5
    lo2, hi2 = skewed["motility"]["progressive_ci95"]
    assert hi2 - lo2 > 2 * (hi - lo)


def test_weighted_median_and_mean():
    rng = np.random.default_rng(3)
    for n in (1, 2, 7, 8, 50):
        v = rng.normal(size=n)
        assert weighted_median(v, np.ones(n)) == pytest.approx(np.median(v))  # equal times: the usual median
        assert weighted_mean(v, np.full(n, 2.0)) == pytest.approx(np.mean(v))
        w = rng.uniform(0.1, 3.0, n)
        if np.lib.NumpyVersion(np.__version__) >= "2.0.0":  # quantiles with weights came in NumPy 2.0
            assert weighted_median(v, w) == pytest.approx(np.quantile(v, 0.5, weights=w, method="inverted_cdf"))
        assert weighted_mean(v, w) == pytest.approx(np.average(v, weights=w))
    # a still cell watched 28 s and two swimmers passing for 1 s: the sample in view is mostly still
    assert weighted_median(np.array([0.1, 40.0, 60.0]), np.array([28.0, 1.0, 1.0])) == 0.1


@pytest.mark.parametrize("n", [1, 7, 35, 200, 1000])
def test_wilson_interval_matches_scipy(n):
    from scipy.stats import binomtest

    for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
        ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        assert share_interval(k / n, n) == pytest.approx((100 * ci.low, 100 * ci.high), abs=1e-9)
    assert share_interval(0.3, 0) == (0.0, 100.0)
    for m in (1, 2.5, 10, 24.3, 350):  # a share of 0 % or 100 % lies inside its interval, exactly
        assert share_interval(0.0, m)[0] == 0.0 and share_interval(1.0, m)[1] == 100.0
    with pytest.raises(ValueError, match="confidence level"):
        share_interval(0.3, 10, level=95)


def test_summarize_uncalibrated_gives_no_percentages():
    _, b = sample()
    s = summarize(casa(b, Calibration(None, FPS)))
    assert s["units"]["speed"] == "px/s" and not s["calibrated"]
    assert s["motility"]["progressive_percent"] is None
    assert s["motility"]["rapid_progressive"]["percent"] is None
    assert s["motility"]["rapid_progressive"]["ci95"] is None and s["motility"]["progressive_ci95"] is None


def test_summarize_empty():
    s = summarize(casa(Boxes.empty(5), Calibration(UM, FPS)))
    assert s["n_tracks"] == 0 and s["n_valid"] == 0 and s["mean"]["vsl"] is None


def test_vcl_ranks_the_switch_first_fastest_does_not():
    k, _ = sample()
    long = k[k.duration_s >= 1.0]
    assert long.sort_values("vcl", ascending=False)["track_id"].iloc[0] == 9  # the identity flip-flop
    top = fastest(k, by="VSL", n=3)
    assert top["track_id"].tolist() == [1, 2, 3]
    assert top["rank"].tolist() == [1, 2, 3]
    assert top.attrs["speed_unit"] == "µm/s" and top.attrs["ranking"]["by"] == "vsl"
    # without the gates the switch and the 0.3-s track come first
    loose = fastest(k, by="vsl", n=3, min_duration_s=0.0, only_valid=False)
    assert loose["track_id"].tolist()[:2] == [10, 1]
    assert 9 in fastest(k, by="vcl", n=10, min_duration_s=0, only_valid=False)["track_id"].tolist()
    assert 9 not in fastest(k, by="vcl", n=10)["track_id"].tolist()


def test_fastest_min_duration_and_n():
    k, _ = sample()
    assert len(fastest(k, n=100)) == 8
    assert len(fastest(k, n=100, min_duration_s=10.0)) == 0


def test_a_fast_cell_that_crosses_the_field_in_under_a_second_ranks_first():
    """The fastest cells leave the field first: a 100 µm/s cell crossing 80 µm is in view 0.8 s.
    The default gate is the validity gate (0.5 s), so it ranks first; a 1-s gate would drop it."""
    t = np.arange(40) / FPS  # 0.8 s
    crossing = Boxes.from_cxcywh(
        np.arange(40), np.stack([100 * t / UM + 10, np.full(40, 400.0), np.full(40, 20.0), np.full(40, 20.0)], 1), track_id=np.full(40, 11)
    )  # fmt: skip
    _, b = sample()
    k = casa(Boxes.concat([b, crossing]), Calibration(UM, FPS))
    by = k.set_index("track_id")
    assert by.loc[11, "quality"] == "ok" and by.loc[11, "vsl"] == pytest.approx(100.0, rel=0.01)
    assert fastest(k, n=1)["track_id"].tolist() == [11]
    assert 11 not in fastest(k, n=10, min_duration_s=1.0)["track_id"].tolist()


def test_fastest_gate_is_the_validity_gate_everywhere():
    """The ranking's default gate is CASA's validity gate in the library, the analysis config and
    the pipeline settings alike (AnalysisConfig keeps its own literal: it must not import Numba)."""
    import inspect

    from spermtrack.analysis.config import AnalysisConfig
    from spermtrack.kinematics import CasaConfig
    from spermtrack.pipeline import analysis_settings

    gate = CasaConfig().min_duration_s
    assert gate == 0.5
    assert inspect.signature(fastest).parameters["min_duration_s"].default == gate
    assert AnalysisConfig().min_duration_s == gate
    assert analysis_settings()["min_duration_s"] == gate


def test_fastest_bad_arguments():
    k, _ = sample()
    with pytest.raises(ValueError, match="cannot rank by"):
        fastest(k, by="speed")
    with pytest.raises(ValueError, match="n must be >= 1"):
        fastest(k, n=0)
    for n in (2.5, True, "3", None):  # 2.5 gave 2 rows, True 1
        with pytest.raises(ParameterError, match="n must be a whole number >= 1"):
            fastest(k, n=n)
    assert len(fastest(k, n=np.int64(2))) == len(fastest(k, n=2.0)) == 2
    for gate in (-1, float("nan"), float("inf"), True):  # as --min-duration-s refuses it
        with pytest.raises(ParameterError, match="min_duration_s must be a"):
            fastest(k, min_duration_s=gate)
    with pytest.raises(ValueError, match="lacks column"):
        fastest(k[["track_id", "vsl"]])


@settings(max_examples=25, deadline=None)
@given(
    angle=st.floats(0, 2 * np.pi),
    dx=st.floats(-100, 100),
    dy=st.floats(-100, 100),
    seed=st.integers(0, 2**16),
)
def test_rigid_motion_invariance(angle, dx, dy, seed):
    """Rotating and shifting the whole field of view changes no kinematic value."""
    rng = np.random.default_rng(seed)
    n = 120
    f = np.arange(n)
    t = f / FPS
    v = rng.uniform(5, 80)
    x = v * t + rng.uniform(0.3, 2.5) * np.sin(2 * np.pi * rng.uniform(6, 14) * t)
    y = rng.normal(0, 0.3, n).cumsum() * 0.2
    c, s = np.cos(angle), np.sin(angle)

    def run(xx, yy):
        arr = np.stack([xx / UM + 320, yy / UM + 240, np.full(n, 20.0), np.full(n, 20.0)], 1)
        return casa(Boxes.from_cxcywh(f, arr, track_id=np.ones(n, int)), Calibration(UM, FPS)).iloc[0]

    a = run(x, y)
    b = run(c * x - s * y + dx, s * x + c * y + dy)
    for key in ("vcl", "vsl", "vap", "vprog", "lin", "str", "wob", "mad"):
        assert b[key] == pytest.approx(a[key], rel=1e-3, abs=1e-3), key
    # ALH and BCF count crossings; float32 box coordinates can move a crossing by one sample
    assert b["alh_mean"] == pytest.approx(a["alh_mean"], rel=0.02, abs=0.02)
    assert b["bcf"] == pytest.approx(a["bcf"], rel=0.05, abs=0.2)
    assert b["motility"] == a["motility"]
