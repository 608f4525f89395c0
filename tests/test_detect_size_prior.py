"""The size prior (``FusedDetector`` ``size_prior``): sperm boxes far smaller than the video's heads lose score.

Unit checks of :func:`size_prior_scores` and :class:`SizeReference`, then the default
detector's path around a stand-in "model" that returns fixed boxes: twelve 20-px heads, two
8-px specks inside the frame and one 8-px box cut by its border.
"""

import numpy as np
import pytest

from spermtrack.boxes import SPERM, Boxes
from spermtrack.detect import get_detector, run_detector
from spermtrack.detect.normalize import FusedDetector
from spermtrack.detect.size_prior import HEAD_SIZE_FLOOR, MIN_SIZE_RATIO, POWER, SizeReference, size_prior_scores
from spermtrack.detect.spec import DetectorSpec, DetectorSpecError
from spermtrack.errors import SpermtrackError


def _boxes(rows, frame=0, score=0.9, cls=SPERM):
    rows = np.asarray(rows, float).reshape(-1, 4)
    n = len(rows)
    return Boxes.from_xyxy(np.full(n, frame), rows, score=np.full(n, score), cls=np.full(n, cls))


def test_only_small_sperm_boxes_inside_the_frame_lose_score():
    b = Boxes.concat(
        [
            _boxes([[10, 10, 30, 30], [40, 40, 57, 57]]),  # 20 px, 17 px (0.85 of 20: kept)
            _boxes([[60, 60, 70, 70]]),  # 10 px: 0.5 of the reference
            _boxes([[0, 50, 10, 60]]),  # 10 px, cut by the left border: left alone
            _boxes([[80, 10, 90, 20]], cls=2),  # a small-or-pinhead box: left alone
        ]
    )
    out = size_prior_scores(b, 20.0, 100, 100)
    expected = [0.9, 0.9, 0.9 * (0.5 / MIN_SIZE_RATIO) ** POWER, 0.9, 0.9]
    np.testing.assert_allclose(out.score, expected, rtol=1e-6)
    for name in ("frame", "x1", "y1", "x2", "y2", "cls"):
        np.testing.assert_array_equal(getattr(out, name), getattr(b, name))  # reordered by score, nothing removed
    assert size_prior_scores(b, None, 100, 100) is b


def test_reference_waits_for_enough_confident_boxes_then_stays():
    ref = SizeReference()
    assert ref.update(_boxes([[10, 10, 30, 30], [40, 40, 60, 60]]), 100, 100) is None  # 2 confident: not yet
    assert ref.update(_boxes([[10, 10, 40, 40]], score=0.3), 100, 100) is None  # not confident
    assert ref.update(_boxes([[50, 50, 74, 74]]), 100, 100) == pytest.approx(20.0)  # median of 20, 20, 24
    assert ref.update(_boxes([[10, 10, 50, 50]] * 5), 100, 100) == pytest.approx(20.0)  # fixed for the video
    ref.reset()
    assert ref.reference_px is None


def test_reference_is_floored_by_the_measured_head_size_when_specks_outnumber_heads():
    """A sparse, dirty field: 3 confident 20-px heads among 9 confident 8-px specks."""
    boxes = Boxes.concat(
        [
            _boxes([[10 + 25 * i, 10, 30 + 25 * i, 30] for i in range(3)]),
            _boxes([[10 + 12 * i, 60, 18 + 12 * i, 68] for i in range(9)]),
        ]
    )
    assert SizeReference().update(boxes, 200, 200) == pytest.approx(8.0)  # the specks' side
    floored = SizeReference().update(boxes, 200, 200, head_box_px=20.0)
    assert floored == pytest.approx(HEAD_SIZE_FLOOR * 20.0)
    lowered = size_prior_scores(boxes, floored, 200, 200)
    np.testing.assert_allclose(lowered.score[:3], 0.9)  # the heads keep their score
    expected = 0.9 * (8 / floored / MIN_SIZE_RATIO) ** POWER
    np.testing.assert_allclose(lowered.score[3:], expected, rtol=1e-5)  # the specks fall below the heads
    assert expected < 0.5  # below the tracker's score for starting a track
    assert np.all(size_prior_scores(boxes, 8.0, 200, 200).score == np.float32(0.9))  # unfloored: nothing lowered
    # the floor never lowers a reference the boxes give: heads larger than measured stay the reference
    assert SizeReference().update(boxes[:3], 200, 200, head_box_px=20.0) == pytest.approx(20.0)


class _FixedModel:
    """A stand-in "model": the same boxes in every frame, whatever the frames show."""

    name = "fixed"

    def __init__(self, rows):
        self.rows = np.asarray(rows, float)

    def detect(self, frames, first_frame=0):
        parts = [_boxes(self.rows, frame=first_frame + i) for i in range(len(frames))]
        return Boxes.concat(parts, num_frames=first_frame + len(frames))

    def reset(self):
        pass


HEADS = [[20 + 40 * i, 30 + 60 * j, 40 + 40 * i, 50 + 60 * j] for i in range(6) for j in range(2)]
SPECKS = [[100, 170, 108, 178], [200, 180, 208, 188]]
CUT = [[0, 200, 8, 208]]


def _detector(**kwargs):
    model = _FixedModel(HEADS + SPECKS + CUT)
    # pinned look at the model's own scale: frames and boxes pass unchanged
    return FusedDetector(
        model, companion=None, inner_head_px=20.0, head_px=20.0, polarity="bright", scale_factors=(1.0,), **kwargs
    )


def test_default_detector_lowers_the_specks_and_records_the_reference():
    frames = np.full((4, 240, 320, 3), 128, np.uint8)
    det = _detector()
    out = run_detector(det, frames, batch_size=2)
    assert det.look.size_reference_px == pytest.approx(20.0)
    assert det.look.to_dict()["size_reference_px"] == pytest.approx(20.0)
    small_inside = (out.side < 10) & (out.x1 > 1)
    assert small_inside.sum() == 2 * len(frames)
    np.testing.assert_allclose(out.score[small_inside], 0.9 * (8 / 20 / MIN_SIZE_RATIO) ** POWER, rtol=1e-5)
    assert np.all(out.score[~small_inside] == np.float32(0.9))  # heads and the cut box keep theirs
    plain = run_detector(_detector(size_prior=False), frames, batch_size=2)
    assert np.all(plain.score == np.float32(0.9))
    det.reset()
    assert det._size_reference.reference_px is None


def test_size_prior_switch_reaches_the_default_detector_and_the_spec():
    assert get_detector("auto").size_prior and not get_detector("default", size_prior=False).size_prior
    with pytest.raises(SpermtrackError, match="size_prior apply to the self-calibrated"):
        get_detector("classical", size_prior=False)
    spec = DetectorSpec.parse("auto", size_prior=False)
    assert spec.kwargs() == {"size_prior": False} and DetectorSpec.from_dict(spec.to_dict()) == spec
    assert not spec.build().size_prior
    with pytest.raises(DetectorSpecError, match="--no-size-prior"):
        DetectorSpec.parse("classical", size_prior=False)


def test_default_detector_floors_the_reference_by_the_calibrated_head_size():
    """Specks outnumber heads: the reference is 0.7x the pinned head size, not the specks' side."""
    specks = [[10 + 12 * i, 200, 18 + 12 * i, 208] for i in range(20)]
    model = _FixedModel(HEADS[:3] + specks)
    det = FusedDetector(model, companion=None, inner_head_px=20.0, head_px=20.0, polarity="bright", scale_factors=(1.0,))
    out = run_detector(det, np.full((2, 240, 320, 3), 128, np.uint8), batch_size=2)
    assert det.look.size_reference_px == pytest.approx(HEAD_SIZE_FLOOR * 20.0)
    small = out.side < 10
    np.testing.assert_allclose(out.score[small], 0.9 * (8 / (HEAD_SIZE_FLOOR * 20.0) / MIN_SIZE_RATIO) ** POWER, rtol=1e-5)
    assert np.all(out.score[~small] == np.float32(0.9))
