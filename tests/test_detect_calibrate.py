"""Per-video self-calibration: head polarity and size measured from the frames, detectors mapped to their look.

Real data: the ten real VISEM-Tracking frames in tests/data/real_frames (CC BY 4.0, see
their README) must read as bright heads, and as dark heads once inverted; simulated videos
check polarity, scale equivariance and the round trip of boxes through the mapping.
"""

from pathlib import Path

import cv2
import numpy as np
import pytest

from spermtrack.detect import get_detector, run_detector
from spermtrack.detect.calibrate import MIN_POLARITY_CONFIDENCE, LookError, measure_look
from spermtrack.detect.evaluation import ap50
from spermtrack.detect.normalize import CalibratedDetector
from spermtrack.detect.quality import check_detections, detection_warnings
from spermtrack.simulate import simulate_dataset, simulate_video

REAL = Path(__file__).parent / "data" / "real_frames"


def _real_frames():
    out = []
    for folder in sorted(p for p in REAL.iterdir() if p.is_dir()):
        img = cv2.imread(str(next((folder / "images").glob("*.jpg"))))
        assert img is not None, folder
        out.append((folder.name, img))
    return out


@pytest.fixture(scope="module")
def phase():
    v = simulate_video(seed=3, num_frames=24, look="phase")
    return np.stack(list(v.frames())), v.boxes


def test_real_visem_frames_read_as_bright_heads_and_inverted_as_dark():
    frames = _real_frames()
    assert len(frames) == 10
    for name, img in frames:
        look = measure_look(img)
        assert look.polarity == "bright", (name, look)
        assert look.polarity_confidence > 0.3, (name, look)
        inv = measure_look(255 - img)
        assert inv.polarity == "dark", (name, inv)


def test_head_size_follows_magnification():
    """The measured head size scales with the frame: 0.5x and 2x within 15 % over the ten real frames.

    Single small heads are measured less exactly (a blob of a few pixels at half scale), so
    each frame alone is held to a looser band.
    """
    ratios = []
    for name, img in _real_frames():
        base = measure_look(img).head_box_px
        half = measure_look(cv2.resize(img, (320, 240), interpolation=cv2.INTER_AREA)).head_box_px
        double = measure_look(cv2.resize(img, (1280, 960))).head_box_px
        assert 0.35 <= half / base <= 0.85 and 1.5 <= double / base <= 2.6, (name, base, half, double)
        ratios.append((half / base, double / base))
    med_half, med_double = np.median(ratios, axis=0)
    assert 0.5 * 0.85 <= med_half <= 0.5 * 1.15, ratios
    assert 2 * 0.85 <= med_double <= 2 * 1.15, ratios


def test_moving_video_polarity_and_pins(phase):
    frames, _ = phase
    look = measure_look(frames[:16])
    assert look.polarity == "bright" and look.motion and look.reliable
    assert 12 <= look.head_box_px <= 40
    dark = measure_look(255 - frames[:16])
    assert dark.polarity == "dark" and dark.polarity_source == "measured"
    pinned = measure_look(frames[:4], polarity="dark", head_px=17)
    assert (pinned.polarity, pinned.polarity_source, pinned.head_box_px, pinned.head_box_source) == ("dark", "user", 17, "user")
    with pytest.raises(LookError, match="polarity"):
        measure_look(frames[:2], polarity="white")
    with pytest.raises(LookError, match="head size"):
        measure_look(frames[:2], head_px=0.5)


def _slow_heads_fast_specks(step_px: float, n_specks: int, heads_bright: bool = True) -> np.ndarray:
    """16 grey frames: 12 heads moving ``step_px`` per frame, ``n_specks`` small specks of the other polarity moving 4 px."""
    rng = np.random.default_rng(0)
    h, w = 240, 320
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    sign = 1.0 if heads_bright else -1.0
    heads, specks = rng.uniform(30, [w - 60, h - 60], (12, 2)), rng.uniform(30, [w - 60, h - 60], (n_specks, 2))
    head_dir, speck_dir = rng.uniform(0, 2 * np.pi, 12), rng.uniform(0, 2 * np.pi, n_specks)
    frames = []
    for t in range(16):
        img = np.full((h, w), 120.0, np.float32)
        for (x, y), a in zip(heads, head_dir):
            img += sign * 60 * np.exp(-((xx - x - step_px * t * np.cos(a)) ** 2 + (yy - y - step_px * t * np.sin(a)) ** 2) / 18)
        for (x, y), a in zip(specks, speck_dir):
            img -= sign * 45 * np.exp(-((xx - x - 4 * t * np.cos(a)) ** 2 + (yy - y - 4 * t * np.sin(a)) ** 2) / 8)
        frames.append(np.clip(img + rng.normal(0, 2, img.shape), 0, 255).astype(np.uint8))
    return np.stack(frames)


@pytest.mark.parametrize("heads_bright", [True, False])
def test_slow_heads_vote_without_their_ghosts(heads_bright):
    """A head that moves less than its size in 16 frames sits in the temporal median; the frames it has
    left must not show it as a blob of the other polarity (a ghost that outvoted it, or made the vote unsure)."""
    pol = "bright" if heads_bright else "dark"
    alone = measure_look(_slow_heads_fast_specks(0.8, 0, heads_bright))
    assert alone.motion and alone.polarity == pol and alone.polarity_confidence >= 0.9  # 0.45 with the ghosts
    mixed = measure_look(_slow_heads_fast_specks(0.8, 4, heads_bright))
    assert mixed.motion and mixed.polarity == pol and mixed.polarity_confidence >= 0.5  # 0.19 with the ghosts


def test_when_the_moving_objects_and_the_whole_frames_disagree_the_polarity_is_unsure():
    """Immotile bright heads and dark specks drifting past: the frames vote bright, the moving objects
    dark. Neither is trusted: confidence 0, both votes recorded, the default detector reads both ways."""
    frames = _slow_heads_fast_specks(0.0, 6)
    look = measure_look(frames)
    (by_frames, frames_pol, _), (by_strong, strong_pol, _), (by_moving, moving_pol, moving_conf) = look.polarity_votes
    assert (by_frames, frames_pol, by_strong, strong_pol, by_moving, moving_pol) == (
        "frames", "bright", "strongest", "bright", "moving", "dark"
    )  # fmt: skip
    assert look.votes_disagree and look.polarity_confidence == 0.0 and look.polarity_unclear and not look.reliable
    assert look.polarity == max(look.polarity_votes, key=lambda v: v[2])[1]
    assert "disagree" in look.problems()[0] and "the moving objects dark" in look.problems()[0]
    assert "--polarity" in look.problems()[0]
    assert look.to_dict()["polarity_votes"][2] == {"by": "moving", "polarity": "dark", "confidence": moving_conf}
    det = get_detector("auto")
    run_detector(det, np.stack([cv2.cvtColor(f, cv2.COLOR_GRAY2BGR) for f in frames]), batch_size=16)
    assert det.look.both_polarities
    # agreeing votes: the moving objects' confidence stands; a pinned polarity has no votes
    agree = measure_look(_slow_heads_fast_specks(0.8, 4))
    assert not agree.votes_disagree and agree.polarity_confidence == agree.polarity_votes[-1][2] >= 0.5
    assert measure_look(frames, polarity="bright").polarity_votes == ()


def _sparse_field(n_heads: int, heads_bright: bool) -> np.ndarray:
    """One grey frame: ``n_heads`` heads (sigma 3 px, contrast 70) among 60 specks of the other polarity (sigma 1.3 px, 40)."""
    rng = np.random.default_rng(0)
    h, w = 240, 320
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    sign = 1.0 if heads_bright else -1.0
    img = np.full((h, w), 120.0, np.float32)
    for x, y in rng.uniform(20, [w - 20, h - 20], (n_heads, 2)):
        img += sign * 70 * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 3.0**2))
    for x, y in rng.uniform(10, [w - 10, h - 10], (60, 2)):
        img -= sign * 40 * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 1.3**2))
    return np.clip(img + rng.normal(0, 2, img.shape), 0, 255).astype(np.uint8)[None]


@pytest.mark.parametrize("heads_bright", [True, False])
def test_a_sparse_field_whose_specks_outnumber_its_heads_is_unsure(heads_bright):
    """3 heads among 60 specks: the specks fill each frame's 20 heaviest blobs (the "frames" vote, confident
    for the specks before), the heads its 5 heaviest (the "strongest" vote). The video is unsure; dense, sure."""
    heads, specks = ("bright", "dark") if heads_bright else ("dark", "bright")
    look = measure_look(_sparse_field(3, heads_bright))
    votes = {who: (pol, conf) for who, pol, conf in look.polarity_votes}
    assert votes["frames"][0] == specks and votes["frames"][1] >= 0.3  # what decided alone before
    assert votes["strongest"][0] == heads and votes["strongest"][1] >= 0.3
    assert look.votes_disagree and look.polarity_unclear and look.polarity_confidence == 0.0 and not look.reliable
    assert "their strongest blobs " + heads in look.problems()[0] and "the frames' blobs " + specks in look.problems()[0]
    dense = measure_look(_sparse_field(30, heads_bright))
    assert [pol for _, pol, _ in dense.polarity_votes] == [heads, heads] and dense.polarity_confidence >= 0.5


def test_the_simulators_sparse_phase_clip_is_unsure(tmp_path):
    """A user's report: ``spermtrack simulate --seed 1 --look phase`` video 0 (2.7 sperm per frame among
    dark debris) was read as dark heads with confidence 0.24 and no warning; now the votes disagree."""
    simulate_dataset(tmp_path, n_videos=1, num_frames=8, seed=1, look="phase", mp4=False)
    frames = np.stack([cv2.imread(str(f)) for f in sorted(tmp_path.glob("*/images/*.jpg"))])
    look = measure_look(frames)
    assert len(frames) == 8 and look.votes_disagree and look.polarity_unclear and not look.reliable
    assert dict((who, pol) for who, pol, _ in look.polarity_votes) == {"frames": "dark", "strongest": "bright"}


def test_simulated_negative_phase_with_slow_heads_reads_dark():
    """Seed 519 of the simulator's negative phase contrast: its slow heads' ghosts read it as bright heads (0.06)."""
    v = simulate_video(seed=519, num_frames=16, look="negative-phase", density=25)
    look = measure_look(np.stack(list(v.frames())))
    assert look.motion and look.polarity == "dark" and look.polarity_confidence >= MIN_POLARITY_CONFIDENCE


def test_noise_and_empty_fields_are_unreliable():
    rng = np.random.default_rng(0)
    noise = rng.normal(128, 20, (8, 240, 320)).clip(0, 255).astype(np.uint8)
    look = measure_look(noise)
    assert not look.reliable and look.problems()
    flat = np.full((8, 240, 320), 150, np.uint8)
    assert not measure_look(flat).reliable


@pytest.mark.parametrize("spec", ["classical", "auto"])
def test_inverted_video_gives_the_same_detections(phase, spec):
    """Dark heads (an inverted phase-contrast video) are found as well as bright ones."""
    frames, gt = phase
    ap = ap50(gt, run_detector(get_detector(spec), frames, batch_size=8), agnostic=True)
    ap_inv = ap50(gt, run_detector(get_detector(spec), 255 - frames, batch_size=8), agnostic=True)
    assert ap > 0.7, ap
    assert abs(ap - ap_inv) < 0.05, (ap, ap_inv)
    # without the self-calibration the inverted video is read far worse
    raw = get_detector(spec, calibrate=False)
    if spec == "classical":
        raw.polarity = "bright"
        raw.reset()
    assert ap50(gt, run_detector(raw, 255 - frames, batch_size=8), agnostic=True) < ap - 0.2


def test_small_heads_are_rescaled_and_boxes_mapped_back(phase):
    """A video at half magnification (heads ~11 px) is enlarged for the detector; boxes come back in its pixels."""
    frames, gt = phase
    small = np.stack([cv2.resize(f, (320, 240), interpolation=cv2.INTER_AREA) for f in frames])
    gt_small = gt.replace(x1=gt.x1 / 2, y1=gt.y1 / 2, x2=gt.x2 / 2, y2=gt.y2 / 2)
    det = get_detector("classical")
    boxes = run_detector(det, small, batch_size=8)
    assert det.scale > 1.3, det.look
    assert boxes.x2.max() <= 320 and boxes.y2.max() <= 240
    ap_small = ap50(gt_small, boxes, agnostic=True)
    raw = get_detector("classical", calibrate=False)
    ap_raw = ap50(gt_small, run_detector(raw, small, batch_size=8), agnostic=True)
    assert ap_small > ap_raw + 0.2, (ap_small, ap_raw)


def test_calibrated_detector_pins_and_validates():
    inner = get_detector("classical", calibrate=False)
    det = CalibratedDetector(inner, polarity="dark", head_px=46)
    frames = np.full((2, 96, 128, 3), 200, np.uint8)
    det.detect(frames, 0)
    assert det.invert and det.scale == pytest.approx(23 * 1.4 / 46)
    with pytest.raises(ValueError):
        CalibratedDetector(inner, size_tolerance=0.5)
    with pytest.raises(ValueError, match="polarity, head_px and mask_overlays"):
        get_detector("gt", gt=None, polarity="dark")


def test_quality_warnings():
    from spermtrack import Boxes

    empty = Boxes.empty(50)
    warn = detection_warnings(check_detections(empty, 50))
    assert len(warn) == 1 and "Almost no sperm heads" in warn[0]
    # confident boxes of the expected size: no warning
    n = 200
    f = np.repeat(np.arange(50), 4).astype(np.int32)
    x = np.tile(np.arange(4) * 50.0, 50).astype(np.float32)
    good = Boxes(f, x, x, x + 23, x + 23, score=np.full(n, 0.8, np.float32), num_frames=50)
    look = measure_look(np.zeros((1, 64, 64), np.uint8), head_px=23, polarity="bright")
    assert detection_warnings(check_detections(good, 50), look) == []
    unsure = good.replace(score=np.full(n, 0.2, np.float32))
    assert any("unsure" in w for w in detection_warnings(check_detections(unsure, 50), look))
    assert detection_warnings(check_detections(unsure, 50), look, scored=False) == []
    big = good.replace(x2=good.x1 + 80, y2=good.y1 + 80)
    assert any("far from the measured head size" in w for w in detection_warnings(check_detections(big, 50), look))
    ref = Boxes(
        np.zeros(40, np.int32),
        np.zeros(40, np.float32),
        np.zeros(40, np.float32),
        np.full(40, 9, np.float32),
        np.full(40, 9, np.float32),
        num_frames=1,
    )
    # 40 classical blobs against 4 heads: debris when the model is sure of its heads, missed heads when not
    assert detection_warnings(check_detections(good, 50, ref, "classical"), look) == []
    hesitant = good.replace(score=np.full(n, 0.45, np.float32))
    assert any("disagree" in w for w in detection_warnings(check_detections(hesitant, 50, ref, "classical"), look))
    # many more model heads than classical blobs: always worth a warning
    few = ref.filter(np.arange(40) < 1)
    assert any("disagree" in w for w in detection_warnings(check_detections(good, 50, few, "classical"), look))


def test_unsure_heads_warning_counts_head_sized_boxes_below_the_sure_score():
    """Heads the detector doubts (below the sure score, 0.5) are mostly left untracked: when more
    head-sized boxes sit below it than above it, analyze warns; small specks below it do not count."""
    from spermtrack import Boxes

    frames, per_frame = 50, 6
    f = np.repeat(np.arange(frames), per_frame).astype(np.int32)
    x = np.tile(np.arange(per_frame) * 50.0, frames).astype(np.float32)
    k = np.tile(np.arange(per_frame), frames)
    side = np.where(k < 2, 23.0, np.where(k < 4, 24.0, 9.0)).astype(np.float32)  # 2 sure heads, 2 unsure heads, 2 specks
    score = np.where(k < 2, 0.8, 0.4).astype(np.float32)
    boxes = Boxes(f, x, x, x + side, x + side, score=score, num_frames=frames)
    look = measure_look(np.zeros((1, 64, 64), np.uint8), head_px=23, polarity="bright")

    check = check_detections(boxes, frames, sure_score=0.5)
    assert check.confident_per_frame == pytest.approx(2.0) and check.unsure_per_frame == pytest.approx(2.0)
    assert check.to_dict()["unsure_per_frame"] == pytest.approx(2.0)
    assert not [w for w in detection_warnings(check, look) if "unsure of many heads" in w]  # 2 against 2: not more
    unsure = boxes.replace(score=np.where(k < 1, 0.8, 0.4).astype(np.float32))  # 1 sure head, 3 unsure ones
    warn = [w for w in detection_warnings(check_detections(unsure, frames, sure_score=0.5), look) if "unsure of many" in w]
    assert len(warn) == 1 and "3.0 head-sized boxes per frame" in warn[0] and "below 0.5 against 1.0" in warn[0], warn
    assert "--tracker-config" in warn[0]
    # the same boxes against a sure score of 0.3 are all sure; without a threshold nothing is counted
    assert check_detections(unsure, frames, sure_score=0.3).unsure_per_frame == 0.0
    assert check_detections(unsure, frames).unsure_per_frame is None
    assert not [w for w in detection_warnings(check_detections(unsure, frames), look) if "unsure of many" in w]
    # ground truth carries no confidence; a detector unsure of most heads gets the stronger warning only
    assert detection_warnings(check_detections(unsure, frames, sure_score=0.5), look, scored=False) == []
    faint = boxes.replace(score=np.full(len(boxes), 0.2, np.float32))
    warn = detection_warnings(check_detections(faint, frames, sure_score=0.5), look)
    assert any("unsure of most heads" in w for w in warn) and not any("unsure of many" in w for w in warn)


def test_head_size_warning_reads_the_scale_the_detector_settled_on():
    """The blobs measured 12 px (a sparse sample's debris), the scale search moved the model to
    factor 0.5 (heads of 24 px): 25-px boxes are as expected, 12-px boxes are not."""
    import dataclasses

    from spermtrack import Boxes

    n = 200
    f = np.repeat(np.arange(50), 4).astype(np.int32)
    x = np.tile(np.arange(4) * 50.0, 50).astype(np.float32)
    look = measure_look(np.zeros((1, 64, 64), np.uint8), head_px=12, polarity="bright")
    look = dataclasses.replace(look, scale_factor=0.5)
    assert look.detector_head_box_px == pytest.approx(24.0) and look.to_dict()["detector_head_box_px"] == 24.0
    boxes = Boxes(f, x, x, x + 25, x + 25, score=np.full(n, 0.8, np.float32), num_frames=50)
    assert detection_warnings(check_detections(boxes, 50), look) == []
    tiny = boxes.replace(x2=boxes.x1 + 6, y2=boxes.y1 + 6)
    warn = detection_warnings(check_detections(tiny, 50), look)
    assert any("far from the measured head size (24 px, user, 12 px before the scale search)" in w for w in warn), warn


def test_size_and_count_checks_read_the_boxes_the_tracker_can_start_from():
    """As on a simulated negative-phase video (seed 74003 of analysis_random_looks.py): 4 heads of
    20 px at 0.8 and 16 doubted 8-px specks at 0.4 per frame, which the tracker (start score 0.5)
    never follows. Over all boxes the heads looked 8 px and 20 per frame against 4 classical
    blobs, and both checks warned on a right result; over the boxes from the start score, none."""
    from spermtrack import Boxes
    from spermtrack.track import TrackerConfig
    from spermtrack.track.calibrate import start_score

    frames = 50
    f = np.repeat(np.arange(frames), 20).astype(np.int32)
    k = np.tile(np.arange(20), frames)
    x = (k * 30.0).astype(np.float32)
    side = np.where(k < 4, 20.0, 8.0).astype(np.float32)
    boxes = Boxes(f, x, x, x + side, x + side, score=np.where(k < 4, 0.8, 0.4).astype(np.float32), num_frames=frames)
    ref = Boxes(np.zeros(4, np.int32), *(np.zeros(4, np.float32),) * 2, *(np.full(4, 20, np.float32),) * 2, num_frames=1)
    look = measure_look(np.zeros((1, 64, 64), np.uint8), head_px=20, polarity="dark")

    start = start_score(TrackerConfig())
    assert start == 0.5 and start_score(TrackerConfig(), lowered=0.3) == 0.3
    assert start_score(TrackerConfig(high_score=0.6, new_track_score=0.7), lowered=0.65) == 0.65
    every = check_detections(boxes, frames, ref, "classical")
    assert every.median_box_px == pytest.approx(8.0) and every.sample_per_frame == pytest.approx(20.0)
    assert every.sized_from_score is None
    warned = detection_warnings(every, look)
    assert any("far from the measured head size" in w for w in warned) and any("disagree" in w for w in warned)
    check = check_detections(boxes, frames, ref, "classical", start_score=start)
    assert check.median_box_px == pytest.approx(20.0) and check.sample_per_frame == pytest.approx(4.0)
    assert check.sized_from_score == 0.5 and check.sperm_per_frame == pytest.approx(20.0)  # every box still counted here
    assert detection_warnings(check, look) == []
    # tiny boxes the tracker does start from still warn; and with no box at the start score, all boxes count
    tiny = boxes.replace(x2=boxes.x1 + 8, y2=boxes.y1 + 8)
    assert any(
        "far from the measured head size" in w
        for w in detection_warnings(check_detections(tiny, frames, start_score=start), look)
    )
    faint = check_detections(boxes.replace(score=np.full(len(boxes), 0.2, np.float32)), frames, start_score=start)
    assert faint.sized_from_score is None and faint.median_box_px == pytest.approx(8.0)


@pytest.mark.parametrize(
    "side_px, um_per_px, warns",
    [
        (23.0, 0.25, False),  # VISEM: a 5.75-µm box
        (23.0, 0.5, False),  # VISEM at the other end of its plausible calibration: 11.5 µm
        (7.0, 0.25, True),  # specks of a cell-free field taken for heads: 1.75 µm
        (23.0, 2.5, True),  # µm per pixel off by 10x (the magnification typed in?): 57.5 µm
        (23.0, None, False),  # uncalibrated: nothing to compare
    ],
)
def test_head_size_is_checked_against_a_sperm_head_in_um(side_px, um_per_px, warns):
    from spermtrack import Boxes
    from spermtrack.detect.quality import HEAD_BOX_UM

    n = 200
    f = np.repeat(np.arange(50), 4).astype(np.int32)
    x = np.tile(np.arange(4) * 50.0, 50).astype(np.float32)
    boxes = Boxes(f, x, x, x + side_px, x + side_px, score=np.full(n, 0.8, np.float32), num_frames=50)
    look = measure_look(np.zeros((1, 64, 64), np.uint8), head_px=side_px, polarity="bright")
    check = check_detections(boxes, 50, um_per_px=um_per_px, um_per_px_source="µm per pixel given by the user")
    warn = [w for w in detection_warnings(check, look) if "µm across" in w]
    assert bool(warn) == warns, warn
    if warns:
        assert f"at {um_per_px:g} µm/px, µm per pixel given by the user" in warn[0] and "--um-per-px" in warn[0]
        assert f"{HEAD_BOX_UM[0]:g}-{HEAD_BOX_UM[1]:g} µm" in warn[0]


def test_a_still_field_is_recorded_but_not_called_unreliable(phase):
    """Nothing moves (a cell-free field, or the same frame held): the look says its polarity and
    head size came from still objects, but that alone does not make it unreliable (the first
    batch is too short to see a sparse or slow sample move); a video whose heads swim is not
    flagged, nor a single image (motion cannot be seen there), nor a look given by the user."""
    frames, _ = phase
    moving = measure_look(frames[:8])
    assert moving.motion and not moving.measured_on_still_objects and moving.reliable
    rng = np.random.default_rng(0)
    held = np.stack([np.clip(frames[0] + rng.normal(0, 2, frames[0].shape), 0, 255).astype(np.uint8) for _ in range(8)])
    still = measure_look(held)
    assert not still.motion and still.measured_on_still_objects
    assert still.reliable and still.problems() == [] and still.to_dict()["measured_on_still_objects"] is True
    assert not measure_look(frames[:1]).measured_on_still_objects
    assert not measure_look(held, polarity="bright", head_px=23).measured_on_still_objects


def test_real_visem_labels_and_detections_pass_the_head_size_check():
    """The 133 real VISEM sperm boxes, and what the default detector finds on those frames, are
    sperm-head sized at both ends of VISEM's plausible calibration (0.25-0.5 µm/px,
    docs/calibration.md): the µm check must not warn on real heads."""
    from spermtrack import Boxes
    from spermtrack.detect import get_detector, run_detector
    from spermtrack.io.visem import VisemDataset

    ds = VisemDataset(REAL)
    labels, found = [], []
    for i, vid in enumerate(ds.video_ids):
        v = ds.video(vid)
        gt = v.labels()
        labels.append(gt.replace(frame=np.full(len(gt), i, np.int32), num_frames=i + 1))
        with v.open_frames() as src:
            det = run_detector(get_detector("auto"), src)
        found.append(det.replace(frame=np.full(len(det), i, np.int32), num_frames=i + 1))
    n = len(labels)
    for boxes in (Boxes.concat(labels, num_frames=n), Boxes.concat(found, num_frames=n)):
        assert len(boxes) >= 100
        for um_per_px in (0.25, 0.5):
            check = check_detections(boxes, n, um_per_px=um_per_px)
            assert not [w for w in detection_warnings(check) if "µm across" in w], (um_per_px, check.median_box_um)
    # the model is sure of the real heads: few head-sized boxes below the sure score (0.5)
    # (3.5 per frame against 14.9 above it when measured, 2026-12-06)
    check = check_detections(Boxes.concat(found, num_frames=n), n, sure_score=0.5)
    assert check.unsure_per_frame < 0.5 * check.confident_per_frame, check
    assert not [w for w in detection_warnings(check) if "unsure of many" in w]
