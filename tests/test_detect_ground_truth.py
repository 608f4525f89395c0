"""GroundTruthDetector: the degradation statistics match the parameters, and it is reproducible."""

import numpy as np
import pytest

from spermtrack import Boxes
from spermtrack.detect import GroundTruthDetector, get_detector, run_detector

W, H = 640, 480


@pytest.fixture(scope="module")
def gt() -> Boxes:
    """300 frames x 40 boxes of 23 px, classes mixed, well inside the frame."""
    rng = np.random.default_rng(1)
    n_frames, per = 300, 40
    frame = np.repeat(np.arange(n_frames), per)
    cx = rng.uniform(60, W - 60, frame.size)
    cy = rng.uniform(60, H - 60, frame.size)
    size = rng.uniform(15, 30, frame.size)
    cls = rng.choice([0, 1, 2], frame.size, p=[0.9, 0.05, 0.05])
    return Boxes.from_cxcywh(frame, np.stack([cx, cy, size, size], 1), cls=cls, track_id=np.arange(frame.size))


def test_no_degradation_returns_gt(gt):
    det = GroundTruthDetector(gt).degrade()
    assert det.num_frames == gt.num_frames
    assert np.allclose(det.xyxy, gt.xyxy) and np.array_equal(det.cls, gt.cls) and np.array_equal(det.frame, gt.frame)
    assert np.all(det.track_id == -1), "detections must be untracked"
    assert np.allclose(det.score, 0.9)


def test_miss_rate(gt):
    for miss in (0.1, 0.5):
        det = GroundTruthDetector(gt, miss=miss, seed=3).degrade()
        kept = len(det) / len(gt)
        sd = np.sqrt(miss * (1 - miss) / len(gt))
        assert abs(kept - (1 - miss)) < 4 * sd, (miss, kept)
    assert len(GroundTruthDetector(gt, miss=1.0).degrade()) == 0


def test_jitter_std_and_sizes(gt):
    det = GroundTruthDetector(gt, jitter_px=2.5, seed=5).degrade()
    assert len(det) == len(gt)
    dx, dy = det.cx - gt.cx, det.cy - gt.cy
    n = len(gt)
    for d in (dx, dy):
        assert abs(d.mean()) < 4 * 2.5 / np.sqrt(n)
        assert abs(d.std() / 2.5 - 1) < 4 / np.sqrt(2 * n)  # std of a sample std
    assert abs(np.corrcoef(dx, dy)[0, 1]) < 4 / np.sqrt(n)
    assert np.allclose(det.width, gt.width, atol=1e-3) and np.allclose(det.height, gt.height, atol=1e-3)


def test_false_positives_poisson_uniform(gt):
    lam = 3.0
    det = GroundTruthDetector(gt, fp_per_frame=lam, seed=7).degrade()
    extra = det.counts_per_frame() - gt.counts_per_frame()
    f = gt.num_frames
    assert abs(extra.mean() - lam) < 4 * np.sqrt(lam / f)
    assert abs(extra.var() / lam - 1) < 0.35  # Poisson: variance = mean
    fp = det[det.score < 0.5]  # with score_noise=0 false positives score exactly 0.3
    assert len(fp) == extra.sum()
    assert abs(fp.cx.mean() - W / 2) < 4 * W / np.sqrt(12 * len(fp))
    assert abs(fp.cy.mean() - H / 2) < 4 * H / np.sqrt(12 * len(fp))
    assert np.all(fp.x1 >= 0) and np.all(fp.x2 <= W) and np.all(fp.y2 <= H)
    assert np.all(fp.cls == 0)


def test_combined_count_and_score_noise(gt):
    miss, lam = 0.2, 2.0
    det = GroundTruthDetector(gt, miss=miss, fp_per_frame=lam, score_noise=0.1, seed=11).degrade()
    expected = (1 - miss) * len(gt) + lam * gt.num_frames
    sd = np.sqrt(miss * (1 - miss) * len(gt) + lam * gt.num_frames)
    assert abs(len(det) - expected) < 4 * sd
    assert det.score.min() >= 0.01 and det.score.max() <= 1.0
    assert 0.05 < det.score.std() < 0.4


def test_batches_equal_whole_video_and_seed(gt):
    det = GroundTruthDetector(gt, miss=0.3, jitter_px=1.0, fp_per_frame=1.0, seed=2)
    whole = det.degrade()
    # detect() reads only the frames' shape: a zero-stride view stands for 300 full-size frames
    frames = np.lib.stride_tricks.as_strided(np.zeros(3, np.uint8), shape=(gt.num_frames, H, W, 3), strides=(0, 0, 0, 1))
    batched = run_detector(det, frames, batch_size=7)
    assert batched.equals(whole)
    again = GroundTruthDetector(gt, miss=0.3, jitter_px=1.0, fp_per_frame=1.0, seed=2).degrade()
    other = GroundTruthDetector(gt, miss=0.3, jitter_px=1.0, fp_per_frame=1.0, seed=3).degrade()
    assert again.equals(whole) and not other.equals(whole)


def test_bad_parameters_and_registry(gt):
    with pytest.raises(ValueError, match="miss"):
        GroundTruthDetector(gt, miss=1.5)
    with pytest.raises(ValueError, match="jitter_px"):
        GroundTruthDetector(gt, jitter_px=-1)
    with pytest.raises(ValueError, match="needs the ground truth"):
        get_detector("gt")
    d = get_detector("gt", gt=gt, miss=0.1)
    assert isinstance(d, GroundTruthDetector) and d.name == "gt-noisy"
