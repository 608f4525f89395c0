"""Fusion of the learnt model's boxes with the classical detector's, and mirrored test-time augmentation.

Synthetic boxes check the arithmetic (centre moved by the weight, size kept, noisy-or score,
one-to-one matching, agreement); a synthetic frame with bright heads and a stand-in "model"
whose boxes sit 5 px off checks that the fused detector moves them onto the heads; the ten
real VISEM-Tracking frames (tests/data/real_frames, CC BY 4.0) check that the default
detector, fused, is no worse than the classical one there.
"""

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from spermtrack.boxes import PINHEAD, SPERM, Boxes
from spermtrack.detect import get_detector, run_detector
from spermtrack.detect.fusion import FusionConfig, agreement, fuse_boxes, iou_matrix, merge_flipped, mirror
from spermtrack.detect.normalize import CalibratedDetector, FusedDetector
from spermtrack.errors import ParameterError, SpermtrackError

REAL = Path(__file__).parent / "data" / "real_frames"


def _boxes(rows, num_frames=1):
    """Boxes from ``(frame, cx, cy, side, score, cls)`` rows."""
    a = np.asarray(rows, np.float64).reshape(-1, 6)
    h = a[:, 3] / 2
    return Boxes(
        a[:, 0].astype(np.int32), a[:, 1] - h, a[:, 2] - h, a[:, 1] + h, a[:, 2] + h,
        score=a[:, 4], cls=a[:, 5].astype(np.int16), num_frames=num_frames,
    )  # fmt: skip


def _centres(b):
    return np.stack([(b.x1 + b.x2) / 2, (b.y1 + b.y2) / 2], 1)


def test_matched_box_moves_towards_classical_centre_keeps_size_and_gains_score():
    model = _boxes([(0, 50, 50, 20, 0.5, SPERM), (0, 200, 200, 20, 0.4, SPERM), (0, 100, 300, 10, 0.6, PINHEAD)])
    classical = _boxes([(0, 54, 48, 30, 0.8, SPERM), (0, 400, 100, 23, 0.9, SPERM), (0, 101, 300, 10, 0.9, SPERM)])
    out = fuse_boxes(model, classical, weight=0.5, boost=0.3)
    assert len(out) == 3  # unmatched classical boxes are not added
    np.testing.assert_allclose(_centres(out)[0], [52, 49], atol=1e-4)
    np.testing.assert_allclose([out.width[0], out.height[0]], [20, 20], atol=1e-4)  # the model's size
    assert out.score[0] == pytest.approx(0.5 + 0.3 * 0.5 * 0.8, abs=1e-6)
    # the unmatched sperm box and the pinhead box are untouched
    np.testing.assert_allclose(_centres(out)[1:], _centres(model)[1:])
    np.testing.assert_allclose(out.score[1:], model.score[1:])
    # weight 0, boost 0: nothing changes; weight 1: the classical centre
    same = fuse_boxes(model, classical, 0.0, 0.0)
    np.testing.assert_array_equal(same.x1, model.x1)
    np.testing.assert_allclose(_centres(fuse_boxes(model, classical, 1.0, 0.0))[0], [54, 48], atol=1e-4)


def test_matching_is_one_to_one_highest_score_first_and_per_frame():
    model = _boxes([(0, 50, 50, 20, 0.3, SPERM), (0, 52, 50, 20, 0.9, SPERM), (1, 50, 50, 20, 0.5, SPERM)], 2)
    classical = _boxes([(0, 56, 50, 20, 0.5, SPERM)], 2)
    out = fuse_boxes(model, classical, 0.5, 0.3)
    # the 0.9 box takes the one classical box; the 0.3 box and the frame-1 box (no classical box there) stay
    assert _centres(out)[1, 0] == pytest.approx(54.0)
    assert _centres(out)[0, 0] == pytest.approx(50.0) and out.score[0] == pytest.approx(0.3)
    assert _centres(out)[2, 0] == pytest.approx(50.0) and out.score[2] == pytest.approx(0.5)


def test_agreement_is_the_smaller_share_of_confirmed_heads():
    model = _boxes([(0, 50, 50, 20, 0.9, SPERM), (0, 150, 50, 20, 0.8, SPERM), (0, 250, 50, 20, 0.1, SPERM)])
    classical = _boxes([(0, 52, 50, 23, 0.5, SPERM), (0, 350, 50, 23, 0.5, SPERM), (0, 450, 50, 23, 0.5, SPERM),
                        (0, 550, 50, 23, 0.5, SPERM)])  # fmt: skip
    a, n_model, n_classical = agreement(model, classical)
    # 1 of 2 confident model boxes confirmed (the 0.1 box does not count), 1 of 4 classical boxes
    assert (n_model, n_classical) == (2, 4)
    assert a == pytest.approx(0.25)
    assert agreement(model, Boxes.empty(1))[0] == 0.0
    assert agreement(model, model.filter(model.score >= 0.25))[0] == pytest.approx(1.0)
    assert agreement(model, model)[0] == pytest.approx(2 / 3)  # the 0.1 box is not a confident head


def test_merge_flipped_averages_pairs_by_score_and_halves_singles():
    a = _boxes([(0, 50, 50, 20, 0.8, SPERM), (0, 300, 50, 20, 0.6, SPERM)])
    b = _boxes([(0, 52, 50, 20, 0.4, SPERM), (0, 300, 50, 20, 0.7, PINHEAD)])
    out = merge_flipped(a, b)
    assert len(out) == 3
    c = _centres(out)
    pair = int(np.argmin(np.abs(c[:, 0] - 50.67)))
    assert c[pair, 0] == pytest.approx((0.8 * 50 + 0.4 * 52) / 1.2, abs=1e-4)
    assert out.score[pair] == pytest.approx(0.6)
    np.testing.assert_allclose(np.sort(out.score), [0.3, 0.35, 0.6], atol=1e-6)  # other classes never merge
    # mirroring twice is the identity; one mirror swaps sides
    m = mirror(a, 640)
    np.testing.assert_allclose(m.x1[0], 640 - a.x2[0])
    np.testing.assert_allclose(mirror(m, 640).x1, a.x1)


def test_iou_matrix():
    a = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], float)
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30]], float)
    np.testing.assert_allclose(iou_matrix(a, b), [[1 / 3, 0], [1 / 3, 0]])
    assert iou_matrix(a, np.zeros((0, 4))).shape == (2, 0)


def test_fusion_config_is_validated():
    assert FusionConfig().to_dict() == {"centre_weight": 0.5, "boost": 0.3, "match_iou": 0.3, "confident": 0.25}
    for bad in ({"centre_weight": 1.5}, {"boost": -0.1}, {"match_iou": 0.0}, {"confident": True}, {"boost": "x"}):
        with pytest.raises(ParameterError):
            FusionConfig(**bad)


# ---------------------------------------------------------------------------------------------- end to end
def _blob_frames(n=3, size=(480, 640), seed=0):
    """Frames with bright Gaussian heads (sigma 3 px) on grey noise, and the head centres per frame."""
    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    frames, centres = [], []
    for _ in range(n):
        c = np.stack([rng.uniform(40, w - 40, 12), rng.uniform(40, h - 40, 12)], 1)
        img = np.full((h, w), 60.0) + rng.normal(0, 2, (h, w))
        for x, y in c:
            img += 120 * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 3.0**2))
        frames.append(cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR))
        centres.append(c)
    return np.stack(frames), centres


class _OffsetModel:
    """A stand-in learnt detector: a box of the right size on every head, 5 px right of it (mapped pixels)."""

    name = "offset-model"

    def __init__(self, centres, scale_of):
        self.centres, self.scale_of = centres, scale_of

    def detect(self, frames, first_frame=0):
        s = self.scale_of()
        rows = [(first_frame + i, s * x + 5, s * y, 20 * s, 0.6, SPERM)
                for i in range(len(frames)) for x, y in self.centres[first_frame + i]]  # fmt: skip
        return _boxes(rows, first_frame + len(frames))


def test_fused_detector_moves_mis_placed_model_boxes_onto_the_heads():
    frames, centres = _blob_frames()
    holder = {}
    model = _OffsetModel(centres, lambda: holder["det"].scale)
    classical = get_detector("classical")
    fused = FusedDetector(model, companion=classical, inner_head_px=20.0, head_px=20.0)
    holder["det"] = fused
    out = run_detector(fused, frames, batch_size=3)
    assert fused.look.detector_agreement is not None and fused.look.detector_agreement > 0.8
    assert fused.agreement == pytest.approx(fused.look.detector_agreement, abs=1e-3)
    err_before = err_after = 0.0
    for f, c in enumerate(centres):
        got = _centres(out.filter(out.frame == f))
        d = np.hypot(*(got[:, None, :] - c[None, :, :]).transpose(2, 0, 1)).min(1)
        err_after += float(np.mean(d))
        err_before += 5.0
    # the 5-px error roughly halves (weight 0.5 x agreement), sizes stay the model's 20 px, scores rise
    assert err_after < 0.75 * err_before
    np.testing.assert_allclose(out.width, 20.0, atol=1e-3)
    assert float(out.score.min()) > 0.6
    # without a companion the boxes are the model's
    plain = FusedDetector(_OffsetModel(centres, lambda: 1.0), companion=None, inner_head_px=20.0, head_px=20.0)
    raw = run_detector(plain, frames, batch_size=3)
    assert float(np.abs(_centres(raw)[:, 0] - np.concatenate(centres)[:, 0] - 5).max()) < 1e-3


def test_default_detector_is_fused_and_can_be_switched_off():
    det = get_detector("auto")
    assert isinstance(det, FusedDetector) and det.companion is not None and not det.tta
    assert det.companion.inner.name == "classical" and det.companion.inner.polarity == "bright"
    off = get_detector("default", fuse=False, tta=True)
    assert isinstance(off, FusedDetector) and off.companion is None and off.tta
    assert isinstance(get_detector("classical"), CalibratedDetector)
    assert not isinstance(get_detector("classical"), FusedDetector)
    for kwargs in ({"fuse": "yes"}, {"tta": 1}):
        with pytest.raises(ParameterError):
            get_detector("auto", **kwargs)
    with pytest.raises(SpermtrackError, match="auto and default"):
        get_detector("classical", fuse=True)
    with pytest.raises(SpermtrackError, match="calibrate=False"):
        get_detector("auto", fuse=False, calibrate=False)


def _real():
    from spermtrack.io.visem import VisemDataset

    ds = VisemDataset(REAL)
    out = []
    for vid in ds.video_ids:
        v = ds.video(vid)
        with v.open_frames() as src:
            out.append((np.stack(list(src)), v.labels()))
    return out


@pytest.mark.slow
def test_fused_default_beats_classical_on_real_frames():
    from spermtrack.detect.evaluation import ap50

    def pooled(make):
        gts, dets, off = [], [], 0
        for frames, gt in _real():
            det = run_detector(make(), frames, batch_size=8).replace(num_frames=len(frames))
            gts.append(gt.filter(gt.cls == SPERM).replace(frame=(gt.frame[gt.cls == SPERM] + off).astype(np.int32),
                                                         num_frames=off + len(frames)))  # fmt: skip
            dets.append(det.filter(det.cls == SPERM).replace(frame=(det.frame[det.cls == SPERM] + off).astype(np.int32),
                                                             num_frames=off + len(frames)))  # fmt: skip
            off += len(frames)
        return ap50(Boxes.concat(gts, num_frames=off), Boxes.concat(dets, num_frames=off))

    fused = pooled(lambda: get_detector("auto", conf=0.001))
    unfused = pooled(lambda: get_detector("auto", conf=0.001, fuse=False))
    classical = pooled(lambda: get_detector("classical"))
    assert fused > unfused + 0.02, (fused, unfused)
    assert fused > classical, (fused, classical)


def test_unsure_warning_reads_the_models_own_scores_not_the_fused_ones():
    from spermtrack.detect.calibrate import measure_look
    from spermtrack.detect.quality import DetectionCheck, detection_warnings

    frames, _ = _blob_frames(n=1)
    look = measure_look(frames)
    check = DetectionCheck(frames=10, sperm_per_frame=20.0, median_score=0.5, median_box_px=look.head_box_px)
    assert not any("unsure" in w for w in detection_warnings(check, look))
    own_low = dataclasses.replace(look, model_median_score=0.3)  # the fusion raised 0.3 to 0.5
    assert any("unsure of most heads (median score 0.30" in w for w in detection_warnings(check, own_low))


def test_fused_detector_records_the_models_own_median_score():
    frames, centres = _blob_frames()
    holder = {}
    fused = FusedDetector(
        _OffsetModel(centres, lambda: holder["det"].scale), companion=get_detector("classical"), inner_head_px=20.0, head_px=20.0
    )
    holder["det"] = fused
    out = run_detector(fused, frames, batch_size=2)
    assert fused.look.model_median_score == pytest.approx(0.6, abs=2e-3)  # the stand-in model's score (bins of 0.001)
    assert float(np.median(out.score)) > 0.6  # the returned scores were raised by the fusion
