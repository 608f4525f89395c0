"""The scale search of the self-calibration: the model's own confidence picks the input scale."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from spermtrack.boxes import PINHEAD, SPERM, Boxes
from spermtrack.detect import get_detector, normalize, run_detector
from spermtrack.detect.evaluation import ap50
from spermtrack.detect.normalize import FusedDetector, choose_factor, scale_confidence
from spermtrack.errors import ParameterError, SpermtrackError
from spermtrack.simulate import simulate_video


@pytest.fixture(scope="module")
def clip12():
    """A phase-contrast clip with 12-px heads (the model is trained at 17 px)."""
    v = simulate_video(seed=900, num_frames=6, look="phase", head_px=12.0)
    return np.stack(list(v.frames())), v.boxes


def _sperm_ap(gt: Boxes, det: Boxes) -> float:
    n = max(gt.num_frames, det.num_frames)
    return ap50(gt.filter(gt.cls == SPERM).replace(num_frames=n), det.filter(det.cls == SPERM).replace(num_frames=n))


def _wrong_blob_estimate(monkeypatch, factor: float) -> None:
    """Make the blob-based head size ``factor`` x too large (as single real frames can measure it)."""
    real = normalize.measure_look

    def wrong(*args, **kwargs):
        look = real(*args, **kwargs)
        return dataclasses.replace(look, head_box_px=look.head_box_px * factor)

    monkeypatch.setattr(normalize, "measure_look", wrong)


def test_scale_confidence_counts_confident_sperm_per_frame():
    b = Boxes(
        np.array([0, 0, 1, 1], np.int32),
        np.zeros(4, np.float32),
        np.zeros(4, np.float32),
        np.full(4, 10, np.float32),
        np.full(4, 10, np.float32),
        score=np.array([0.9, 0.4, 0.7, 0.95], np.float32),
        cls=np.array([SPERM, SPERM, SPERM, PINHEAD], np.int32),
        num_frames=2,
    )
    assert scale_confidence(b, 2) == pytest.approx((0.9 + 0.7) / 2)
    assert scale_confidence(Boxes.empty(2), 2) == 0.0


@pytest.mark.parametrize("rule", ["size", "confidence"])
def test_search_finds_the_scale_a_wrong_blob_estimate_missed(clip12, monkeypatch, rule):
    frames, gt = clip12
    _wrong_blob_estimate(monkeypatch, 2.0)  # 24 px measured for 12-px heads: mapped to ~12 px, far below 17
    fixed = get_detector("auto", conf=0.001, scale_search=False)
    at_blob = run_detector(fixed, frames, batch_size=6)
    assert fixed.look.scale_factor == 1.0 and fixed.look.scale_search is None
    searched = get_detector("auto", conf=0.001, scale_factors=(0.71, 1.0, 1.41), scale_rule=rule, scale_tolerance=1.0)
    found = run_detector(searched, frames, batch_size=6)
    look = searched.look
    assert look.scale_factor == pytest.approx(1.41)
    factors = [f for f, _, _ in look.scale_search]
    conf = {f: c for f, c, _ in look.scale_search}
    side = {f: s for f, _, s in look.scale_search}
    # the size rule walks from 1 towards larger heads only; the confidence rule runs every candidate
    assert factors == ([1.0, 1.41] if rule == "size" else [0.71, 1.0, 1.41])
    assert conf[1.41] > 1.1 * conf[1.0] > 0  # the model is surer of heads at its trained size
    assert side[1.0] < 15.0 and abs(np.log(side[1.41] / 17.0)) < abs(np.log(side[1.0] / 17.0))  # its boxes say so too
    assert searched.scale == pytest.approx(1.41 * fixed.scale, rel=1e-3)
    assert _sperm_ap(gt, found) > _sperm_ap(gt, at_blob) + 0.05
    # the choice is in the look as analyze writes it to summary.json
    d = look.to_dict()
    assert d["scale_factor"] == pytest.approx(1.41)
    assert [c["factor"] for c in d["scale_search"]] == factors
    assert d["scale_search"][-1]["model_box_px"] == pytest.approx(side[1.41])


def test_choose_factor_rules():
    factors = (0.71, 1.0, 1.41)
    # size: the factor whose boxes land closest to the trained 17 px (log ratio)
    assert choose_factor(factors, [1, 1, 1], [9.0, 12.5, 17.5], 17.0, "size") == 1.41
    assert choose_factor(factors, [1, 1, 1], [16.0, 23.0, 32.0], 17.0, "size") == 0.71
    assert choose_factor(factors, [1, 1, 1], [np.nan, np.nan, np.nan], 17.0, "size") == 1.0
    assert choose_factor(factors, [1, 1, 1], [np.nan, 30.0, np.nan], 17.0, "size") == 1.0
    # confidence: the most confident, if it beats factor 1 by the margin
    assert choose_factor(factors, [2.0, 3.0, 3.2], [0, 0, 0], 17.0, "confidence", 1.1) == 1.0
    assert choose_factor(factors, [2.0, 3.0, 3.5], [0, 0, 0], 17.0, "confidence", 1.1) == 1.41
    with pytest.raises(ParameterError):
        choose_factor(factors, [1, 1, 1], [1, 1, 1], 17.0, "votes")


def test_default_walks_from_the_blob_scale_towards_the_models_size(clip12, monkeypatch):
    from spermtrack.detect.registry import SCALE_SEARCH_FACTORS

    # VISEM-like heads (23 px), blob estimate right: mapped to ~17 px, the model's boxes agree; one
    # neighbour is tried (the side of 17 px they fall on) and comes out farther, so x1 stays
    visem = np.stack(list(simulate_video(seed=900, num_frames=2, look="phase").frames()))
    det = get_detector("auto", conf=0.001)
    run_detector(det, visem, batch_size=2)
    tried = [f for f, _, _ in det.look.scale_search]
    assert len(tried) == 2 and 1.0 in tried and det.look.scale_factor == 1.0
    side = {f: s for f, _, s in det.look.scale_search}
    assert 17.0 / 1.4 <= side[1.0] <= 17.0 * 1.4
    other = next(f for f in tried if f != 1.0)
    assert abs(np.log(side[other] / 17.0)) >= abs(np.log(side[1.0] / 17.0))
    frames, gt = clip12
    # blob estimate 2.5x too large: heads mapped to ~10 px; the walk goes up while the boxes grow
    # towards 17 px and stops one past the closest (never below 1)
    _wrong_blob_estimate(monkeypatch, 2.5)
    det = get_detector("auto", conf=0.001)
    found = run_detector(det, frames, batch_size=6)
    tried = [f for f, _, _ in det.look.scale_search]
    assert tried[0] == 1.0 and tried == sorted(tried) and set(tried) <= set(SCALE_SEARCH_FACTORS)
    side = {f: s for f, _, s in det.look.scale_search}
    assert side[1.0] < 17.0 / 1.4 and det.look.scale_factor >= 1.41
    blob = run_detector(get_detector("auto", conf=0.001, scale_search=False), frames, batch_size=6)
    assert _sperm_ap(gt, found) > _sperm_ap(gt, blob) + 0.05


@pytest.mark.parametrize(
    "side_at_1, tried, chosen",
    [
        (10.0, [1.0, 1.19, 1.41, 1.68], 1.68),  # far too small: up to the last candidate
        (14.0, [1.0, 1.19, 1.41], 1.19),  # one step up is closest, the next is farther: stop
        (20.0, [0.71, 0.84, 1.0], 0.84),  # too large: down
        (16.5, [1.0, 1.19], 1.0),  # near the trained size: the neighbour is farther
        (17.0, [1.0], 1.0),  # exactly at it: kept without looking further
    ],
)
def test_the_walk_ends_where_a_full_sweep_would(clip12, monkeypatch, side_at_1, tried, chosen):
    """Boxes that grow with the factor: walking from 1 towards 17 px stops at the candidate a
    sweep of all seven picks, after fewer model passes."""
    from spermtrack.detect.registry import SCALE_SEARCH_FACTORS

    frames, _ = clip12
    det = get_detector("auto", conf=0.001, fuse=False)
    det.look = normalize.measure_look(frames[:4])

    def fake_model(batch, first_frame):  # a confident box whose side at the input is side_at_1 x factor
        half = 0.5 * side_at_1 * det._factor / det.scale
        n = len(batch)
        return Boxes(np.arange(n, dtype=np.int32), np.full(n, 100.0), np.full(n, 100.0), np.full(n, 100.0 + 2 * half),
                     np.full(n, 100.0 + 2 * half), score=np.full(n, 0.9), num_frames=n)  # fmt: skip

    monkeypatch.setattr(det, "_detect_mapped", fake_model)
    det._search_scale(frames)
    assert sorted(f for f, _, _ in det.look.scale_search) == tried
    assert det.look.scale_factor == chosen
    sides = [side_at_1 * f for f in SCALE_SEARCH_FACTORS]
    assert choose_factor(SCALE_SEARCH_FACTORS, [1] * 7, sides, 17.0, "size") == chosen


def test_head_px_pins_the_scale_and_skips_the_search(clip12):
    frames, _ = clip12
    det = get_detector("auto", conf=0.001, head_px=24.0, scale_factors=(0.71, 1.0, 1.41))
    run_detector(det, frames, batch_size=6)
    assert det.look.head_box_source == "user"
    assert det.look.scale_search is None and det.look.scale_factor == 1.0


def test_the_search_runs_once_per_video_and_the_companion_keeps_the_blob_scale(clip12, monkeypatch):
    frames, _ = clip12
    _wrong_blob_estimate(monkeypatch, 2.0)
    det = get_detector("auto", conf=0.001, scale_factors=(0.71, 1.0, 1.41), scale_tolerance=1.0)
    calls = []
    orig = det._search_scale
    monkeypatch.setattr(det, "_search_scale", lambda batch: (calls.append(len(batch)), orig(batch)))
    run_detector(det, frames, batch_size=2)  # three batches
    assert calls == [2]
    assert det.companion._factor == 1.0 and det._factor == pytest.approx(1.41)
    run_detector(det, frames, batch_size=6)  # a new video: measured again
    assert calls == [2, 6]


def test_scale_settings_are_validated():
    for bad in ((), (0.0,), (1.0, 9.0), "ab", None):
        with pytest.raises(ParameterError):
            get_detector("auto", scale_factors=bad)
    with pytest.raises(ParameterError):
        get_detector("auto", scale_margin=0.5)
    with pytest.raises(ParameterError):
        get_detector("auto", scale_rule="votes")
    with pytest.raises(SpermtrackError, match="auto and default"):
        get_detector("classical", scale_factors=(0.7, 1.0))
    assert isinstance(get_detector("default", scale_factors=(0.8, 1.0, 1.25)), FusedDetector)


def test_scale_search_switch_and_spec_option():
    from spermtrack.detect.registry import SCALE_SEARCH_FACTORS
    from spermtrack.detect.spec import DetectorSpec

    assert get_detector("auto").scale_factors == SCALE_SEARCH_FACTORS  # the default
    assert get_detector("auto").scale_tolerance == 1.0
    assert get_detector("auto", scale_search=True).scale_factors == SCALE_SEARCH_FACTORS
    assert get_detector("auto", scale_search=False).scale_factors == (1.0,)
    with pytest.raises(ParameterError):
        get_detector("auto", scale_search="yes")
    with pytest.raises(ParameterError):
        get_detector("auto", scale_search=True, scale_factors=(0.8, 1.0))
    spec = DetectorSpec(scale_search=False)
    assert spec.kwargs()["scale_search"] is False
    assert spec.build().scale_factors == (1.0,)
    assert DetectorSpec.from_dict(spec.to_dict()).build().scale_factors == (1.0,)
    with pytest.raises(ParameterError):
        get_detector("auto", scale_tolerance=0.5)
