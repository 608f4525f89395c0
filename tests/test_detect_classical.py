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
    d = ClassicalDetector(dark_min_box=1.0)  # VISEM's boxes (head and halo) on the inverted copy too
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


def test_dark_head_boxes_follow_the_head():
    """Dark heads (bright field) are labelled by a box around the head itself, so a dark blob's
    box follows its extent below VISEM's 23 px; bright heads keep VISEM's halo-sized boxes, also
    when the self-calibration inverted a dark-head video (it tells the detector, adapt_to_look)."""
    import cv2

    from spermtrack.detect.calibrate import measure_look

    img = np.full((120, 200), 180, np.uint8)
    for x in (40, 100, 160):
        cv2.ellipse(img, (x, 60), (4, 3), 20, 0, 360, 130, -1)  # a dark head of about 8 x 6 px
    frame = np.repeat(cv2.GaussianBlur(img, (5, 5), 1.0)[..., None], 3, 2)
    dark = ClassicalDetector(polarity="dark").detect(frame)
    assert len(dark) == 3 and np.all(dark.width < 20) and np.all(dark.width >= 0.6 * 23 - 1e-3), dark.width
    as_visem = ClassicalDetector(polarity="dark", dark_min_box=1.0).detect(frame)
    assert np.all(as_visem.width >= 23 - 1e-3)
    # the inverted frame seen by a bright-polarity detector (what the self-calibration feeds it)
    inner = ClassicalDetector(polarity="bright")
    look = measure_look(frame[None], polarity="dark", head_px=14)
    inner.adapt_to_look(look)
    assert np.allclose(inner.detect(255 - frame).width, dark.width)
    inner.adapt_to_look(measure_look(frame[None], polarity="bright", head_px=14))
    assert np.all(inner.detect(255 - frame).width >= 23 - 1e-3)
    inner.reset()
    assert inner.source_dark is None


@pytest.mark.parametrize("look, head_px, size", [("brightfield", 14.0, (698, 528)), ("negative-phase", 15.0, (720, 576))])
def test_self_calibrated_classical_on_dark_looks(look, head_px, size):
    """On simulated dark-head looks the self-calibrated classical detector's boxes fit the
    labels (docs/detection.md: 0.025-0.27 -> 0.42-0.70 sperm AP50 on the small-head dark rows)."""
    from spermtrack.detect import get_detector

    v = simulate.simulate_video(seed=900, num_frames=6, look=look, head_px=head_px, image_size=size)
    frames, gt = np.stack(list(v.frames())), v.boxes
    sperm = gt.filter(gt.cls == 0)
    tight = run_detector(get_detector("classical"), frames, batch_size=6)
    loose = run_detector(get_detector("classical", dark_min_box=1.0), frames, batch_size=6)
    ap_tight = ap50(sperm, tight.filter(tight.cls == 0))
    ap_loose = ap50(sperm, loose.filter(loose.cls == 0))
    assert ap_tight > ap_loose + 0.1 and ap_tight > 0.3, (ap_tight, ap_loose)


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
    for bad in (0.0, 1.5, True, "0.6"):
        with pytest.raises(ValueError, match="dark_min_box"):
            ClassicalDetector(dark_min_box=bad)
