"""ClassicalDetector on simulated frames of both VISEM looks; AP@0.5 via spermtrack.evaluate.detection."""

import numpy as np
import pytest

from spermtrack import Boxes
from spermtrack.detect import ClassicalDetector, run_detector
from spermtrack.detect.evaluation import ap50

simulate = pytest.importorskip("spermtrack.simulate", reason="needs the simulator")


def _video(look: str, seed: int, n: int = 24):
    v = simulate.simulate_video(seed=seed, num_frames=n, look=look)
    return np.stack(list(v.frames())), v.boxes


@pytest.fixture(scope="module")
def phase():
    return _video("phase", 3)


@pytest.fixture(scope="module")
def bright():
    return _video("bright", 5)


def test_ap50_on_both_looks(phase, bright, capsys):
    """The bar here is a floor well above chance that catches regressions; docs/detection.md has the measured table."""
    results = {}
    for look, (frames, gt) in (("phase", phase), ("bright", bright)):
        det = run_detector(ClassicalDetector(), frames, batch_size=8)
        assert det.num_frames == gt.num_frames
        results[look] = (ap50(gt, det, agnostic=True), ap50(gt, det))
    with capsys.disabled():
        print(
            "\nclassical AP@0.5 (class-agnostic, per-class mAP): "
            + ", ".join(f"{k} {a:.3f} / {m:.3f}" for k, (a, m) in results.items())
        )
    assert results["phase"][0] > 0.75
    assert results["bright"][0] > 0.5


def test_boxes_sized_like_visem(phase):
    frames, gt = phase
    det = ClassicalDetector().detect(frames)
    sperm = det[det.cls == 0]
    w, ref = np.median(sperm.width), np.median(gt[gt.cls == 0].width)
    assert 20 <= w <= 30, f"median sperm box {w} px, VISEM's average is 23 px"
    assert abs(w - ref) <= 5, (w, ref)
    assert np.all(det.x1 >= 0) and np.all(det.x2 <= 640) and np.all(det.y2 <= 480)
    assert 0.0 < det.score.min() and det.score.max() < 1.0


def test_dark_heads_found_by_auto_polarity(phase):
    """Inverting a phase-contrast video gives dark heads on a light background: auto must switch polarity."""
    frames, gt = phase
    inverted = 255 - frames
    d = ClassicalDetector()
    det = d.detect(inverted)
    assert d.video_polarity == "dark"
    ref = ap50(gt, ClassicalDetector(polarity="bright").detect(frames), agnostic=True)
    got = ap50(gt, det, agnostic=True)
    assert got > ref - 0.1, (got, ref)
    # a new video (first_frame=0) re-decides the polarity
    d.detect(frames[:4], first_frame=0)
    assert d.video_polarity == "bright"
    d.detect(inverted[4:8], first_frame=4)
    assert d.video_polarity == "bright", "within a video the polarity is kept"


def test_touching_heads_are_split_and_clusters_merged():
    import cv2

    img = np.full((120, 200), 60, np.uint8)
    # two heads whose smoothed blobs touch (centres 18 px apart): one component, two maxima
    cv2.ellipse(img, (40, 60), (6, 4), 0, 0, 360, 230, -1)
    cv2.ellipse(img, (58, 60), (6, 4), 0, 0, 360, 230, -1)
    # a clump of many heads: one cluster box
    for x, y in ((140, 50), (152, 56), (146, 68), (160, 70), (134, 64), (155, 44)):
        cv2.ellipse(img, (x, y), (6, 4), 30, 0, 360, 230, -1)
    img = cv2.GaussianBlur(img, (5, 5), 1.0)
    frame = np.repeat(img[..., None], 3, 2)
    det = ClassicalDetector(polarity="bright").detect(frame)
    left = det[det.x2 < 100]
    assert len(left) == 2 and np.all(left.cls == 0)
    assert abs(abs(left.cx[0] - left.cx[1]) - 18) < 4
    right = det[det.x1 > 100]
    assert len(right) == 1 and right.cls[0] == 1
    assert right.width[0] > 30 and right.height[0] > 25


def test_empty_and_uniform_frames():
    det = ClassicalDetector().detect(np.full((3, 480, 640, 3), 90, np.uint8), first_frame=5)
    assert isinstance(det, Boxes) and len(det) == 0 and det.num_frames == 8


def test_bad_parameters():
    with pytest.raises(ValueError, match="polarity"):
        ClassicalDetector(polarity="upside-down")
    with pytest.raises(ValueError, match="peak_window"):
        ClassicalDetector(peak_window=4)
