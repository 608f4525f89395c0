"""A video whose head polarity is unclear is read both ways (``FusedDetector`` ``hedge``).

Synthetic frames hold 8 bright and 8 dark Gaussian heads of equal contrast, so the blob vote
cannot choose (confidence 0). A stand-in "model" (the classical detector, which finds bright
blobs in the frames the calibration maps for it) then sees the bright heads in one reading
and the dark heads, inverted, in the other: with the hedge both sets come back, without it
one. A polarity given or measured with confidence is never hedged.
"""

import cv2
import numpy as np
import pytest

from spermtrack.boxes import SPERM, Boxes
from spermtrack.detect import get_detector, run_detector
from spermtrack.detect.calibrate import MIN_POLARITY_CONFIDENCE
from spermtrack.detect.classical import ClassicalDetector
from spermtrack.detect.normalize import FusedDetector, _nms_per_frame
from spermtrack.detect.spec import DetectorSpec, DetectorSpecError
from spermtrack.errors import SpermtrackError

_POINTS = [(x, y) for y in (40, 100, 160, 210) for x in (40, 110, 180, 250)]


def _frames(signs, n=4, seed=0):
    """``n`` noisy 320x240 frames with a Gaussian head (sigma 3.5 px, contrast 70) of each sign at :data:`_POINTS`."""
    rng = np.random.default_rng(seed)
    h, w = 240, 320
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.full((h, w), 128.0)
    for (x, y), sign in zip(_POINTS, signs):
        img += sign * 70 * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 3.5**2))
    noisy = [np.clip(img + rng.normal(0, 2, (h, w)), 0, 255).astype(np.uint8) for _ in range(n)]
    return np.stack([cv2.cvtColor(f, cv2.COLOR_GRAY2BGR) for f in noisy])


MIXED = [1 if i % 2 == 0 else -1 for i in range(len(_POINTS))]


def _stand_in(**kwargs):
    """The fused detector around a classical "model" that finds bright blobs of 20-px boxes, no companion."""
    model = ClassicalDetector(polarity="bright", box_size=20.0)
    return FusedDetector(model, companion=None, inner_head_px=20.0, head_px=20.0, **kwargs)


def _found(boxes: Boxes, frame: int = 0) -> set:
    """Indices of the heads of :data:`_POINTS` with a box centred within 4 px in ``frame``."""
    b = boxes.filter(boxes.frame == frame)
    c = np.stack([(b.x1 + b.x2) / 2, (b.y1 + b.y2) / 2], 1)
    hit = set()
    for i, p in enumerate(_POINTS):
        if len(c) and float(np.hypot(*(c - np.asarray(p, float)).T).min()) < 4.0:
            hit.add(i)
    return hit


def test_unclear_polarity_is_read_both_ways_and_recorded():
    frames = _frames(MIXED)
    det = _stand_in()
    out = run_detector(det, frames, batch_size=2)  # the other reading follows later batches too
    assert det.look.polarity_source == "measured" and det.look.polarity_confidence < MIN_POLARITY_CONFIDENCE
    assert det.look.polarity_unclear and not det.look.reliable
    assert det.look.both_polarities and det.other_reading is not None
    assert det.other_reading.look.polarity != det.look.polarity and not det.other_reading.hedge
    for f in range(len(frames)):
        assert _found(out, f) == set(range(len(_POINTS)))  # bright and dark heads
    assert out.num_frames == len(frames) and np.all(np.diff(out.frame) >= 0)
    assert any("read both ways" in p for p in det.look.problems())
    assert det.look.to_dict()["both_polarities"] is True
    det.reset()
    assert det.other_reading is None and det.look is None

    one = _stand_in(hedge=False)
    single = run_detector(one, frames, batch_size=2)
    assert not one.look.both_polarities and one.other_reading is None
    sign = 1 if one.look.polarity == "bright" else -1
    assert _found(single) == {i for i, s in enumerate(MIXED) if s == sign}  # one reading: half the heads
    assert not any("read both ways" in p for p in one.look.problems())


@pytest.mark.parametrize("case", ["pinned", "confident"])
def test_no_hedge_when_the_polarity_is_given_or_clear(case):
    if case == "pinned":
        frames, det = _frames(MIXED), _stand_in(polarity="dark")
    else:
        frames, det = _frames([1] * len(_POINTS)), _stand_in()
    out = run_detector(det, frames, batch_size=4)
    assert not det.look.polarity_unclear and det.look.reliable
    assert not det.look.both_polarities and det.other_reading is None
    assert _found(out) == ({i for i, s in enumerate(MIXED) if s < 0} if case == "pinned" else set(range(len(_POINTS))))


def test_a_new_video_decides_again():
    det = _stand_in()
    run_detector(det, _frames(MIXED), batch_size=4)
    assert det.other_reading is not None
    run_detector(det, _frames([1] * len(_POINTS), seed=1), batch_size=4)  # next video: clear
    assert det.other_reading is None and not det.look.both_polarities


def test_hedge_switch_reaches_the_default_detector_and_the_spec():
    assert get_detector("auto").hedge and not get_detector("default", hedge=False).hedge
    with pytest.raises(SpermtrackError, match=r"hedge.* apply to the self-calibrated"):
        get_detector("classical", hedge=False)
    spec = DetectorSpec.parse("auto", hedge=False)
    assert spec.kwargs() == {"hedge": False} and DetectorSpec.from_dict(spec.to_dict()) == spec
    assert not spec.build().hedge
    with pytest.raises(DetectorSpecError, match="--no-hedge"):
        DetectorSpec.parse("classical", hedge=False)


def test_nms_per_frame_keeps_classes_and_frames_apart_in_wide_frames():
    # a class-1 box 1024 px left of a class-0 box: the old fixed x offsets (1024 per class) made them overlap
    rows = [
        (0, 1100.0, 50.0, 1120.0, 70.0, 0.9, SPERM),
        (0, 76.0, 50.0, 96.0, 70.0, 0.8, 1),
        (0, 1102.0, 50.0, 1122.0, 70.0, 0.7, SPERM),
    ]
    a = np.asarray(rows)
    boxes = Boxes(
        a[:, 0].astype(np.int32), a[:, 1], a[:, 2], a[:, 3], a[:, 4], score=a[:, 5], cls=a[:, 6].astype(np.int16), num_frames=1
    )
    kept = _nms_per_frame(boxes, 0.5)
    assert sorted(kept.score.tolist()) == pytest.approx([0.8, 0.9])  # the duplicate of the same class goes, the other class stays
    blind = _nms_per_frame(boxes, 0.5, by_class=False)
    assert sorted(blind.score.tolist()) == pytest.approx([0.8, 0.9])
    # the same box in two frames 4096 apart in frame number is kept in both
    two = Boxes(
        np.array([0, 4096], np.int32), [10.0, 10.0], [10.0, 10.0], [30.0, 30.0], [30.0, 30.0], score=[0.9, 0.8], num_frames=4097
    )
    assert len(_nms_per_frame(two, 0.5)) == 2
