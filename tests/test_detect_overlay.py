"""Burnt-in overlays: panels drawn over the field are found, hidden from the detectors and reported.

Real data: one of the ten real VISEM-Tracking frames in tests/data/real_frames (h11) carries the
preview video's watermark, a white panel over the bottom fifth of the frame; the other nine
carry none. Simulated videos of every look check that drawn panels (a white text panel, a black
time-stamp box, letterbox bars) are found to within 2 px and that the field itself (clipped
illumination, the dark corners beyond a round field stop) never is.
"""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from spermtrack import analyze
from spermtrack.boxes import SPERM
from spermtrack.detect import DetectorSpec, get_detector, run_detector
from spermtrack.detect.calibrate import measure_look, to_gray
from spermtrack.detect.evaluation import ap50
from spermtrack.detect.overlay import drop_boxes_in_overlays, fill_overlays, find_overlays
from spermtrack.detect.spec import DetectorSpecError
from spermtrack.errors import ParameterError
from spermtrack.simulate import simulate_video
from spermtrack.simulate.look import LOOKS

REAL = Path(__file__).parent / "data" / "real_frames"
#: The preview's watermark on the real frame h11 (x, y, w, h), as found by eye: a white panel from
#: x = 75 to 622 and y = 370 to 463 (its letters and logo inside), nothing labelled under it.
H11_WATERMARK = (75, 370, 548, 94)


def _panel_rects(kind: str, width: int, height: int) -> list[tuple[int, int, int, int]]:
    if kind == "text panel":
        return [(int(0.12 * width), int(0.77 * height), int(0.85 * width), int(0.19 * height))]
    if kind == "time stamp":
        return [(int(0.03 * width), int(0.03 * height), int(0.32 * width), int(0.08 * height))]
    bar = int(0.1 * height)
    return [(0, 0, width, bar), (0, height - bar, width, bar)]


def _draw(frames: np.ndarray, kind: str) -> np.ndarray:
    """``frames`` with a burnt-in overlay: a white panel with black text, a black box with white text, or bars."""
    out = frames.copy()
    height, width = frames.shape[1:3]
    for x, y, w, h in _panel_rects(kind, width, height):
        out[:, y : y + h, x : x + w] = 255 if kind == "text panel" else 0
        if kind == "letterbox":
            continue
        ink = (0, 0, 0) if kind == "text panel" else (255, 255, 255)
        for f in out:
            cv2.putText(f, "12:03:55 x40", (x + h // 4, y + int(0.7 * h)), cv2.FONT_HERSHEY_SIMPLEX, h / 40, ink, 2)
    return out


@pytest.fixture(scope="module")
def phase():
    v = simulate_video(seed=11, num_frames=16, look="phase", density=25)
    return np.stack(list(v.frames())), v.boxes.replace(num_frames=16)


def test_the_real_frames_preview_watermark_is_found_and_nothing_else():
    found = {}
    for folder in sorted(p for p in REAL.iterdir() if p.is_dir()):
        img = cv2.imread(str(next((folder / "images").glob("*.jpg"))))
        found[folder.name] = find_overlays(to_gray(img))
    assert found.pop("h11") == (H11_WATERMARK,)
    assert len(found) == 9 and all(v == () for v in found.values()), found


@pytest.mark.parametrize("kind", ["text panel", "time stamp", "letterbox"])
def test_drawn_panels_are_found_within_two_pixels_on_every_look(kind):
    for k, look in enumerate(LOOKS):
        v = simulate_video(seed=40 + k, num_frames=4, look=look, density=25)
        frames = _draw(np.stack(list(v.frames())), kind)
        found = find_overlays(to_gray(frames))
        expected = _panel_rects(kind, frames.shape[2], frames.shape[1])
        assert len(found) == len(expected), (look, found, expected)
        for got, want in zip(found, expected):
            assert max(abs(a - b) for a, b in zip(got, want)) <= 2, (look, got, want)


def test_the_field_itself_is_never_a_panel():
    """Clipped illumination (a white band along one side, ramping up over 20 px), a side fading to black,
    the dark corners beyond a round field stop: none is drawn, none is found; nor is any plain look."""
    for k, look in enumerate(LOOKS):
        v = simulate_video(seed=60 + k, num_frames=4, look=look, density=25)
        g = to_gray(np.stack(list(v.frames())))
        height, width = g.shape[1:]
        x = np.linspace(0.0, 1.0, width)
        gain = 1.0 + 0.5 * np.clip((x - 0.67) / 0.03, 0.0, 1.0)[None, None, :]  # the right 30 % clips
        yy, xx = np.mgrid[:height, :width]
        cases = {
            "as drawn": g,
            "clipped band": np.clip(g * gain * (200.0 / np.median(g)), 0, 255).astype(np.uint8),
            "dark band": np.clip(g / gain**4, 0, 255).astype(np.uint8),
            "field stop": np.where((np.hypot(yy - height / 2, xx - width / 2) < 0.55 * width)[None], g, 5).astype(np.uint8),
            "cut field stop": np.where((np.hypot(yy - height / 2, xx - width / 2) < 0.62 * height)[None], g, 5).astype(np.uint8),
        }
        for name, frames in cases.items():
            assert find_overlays(frames) == (), (look, name)


def test_a_panel_that_changes_is_not_burnt_in(phase):
    frames = _draw(phase[0][:8], "text panel")
    x, y, w, h = _panel_rects("text panel", frames.shape[2], frames.shape[1])[0]
    assert find_overlays(to_gray(frames)) != ()
    frames[1::2, y : y + h, x : x + w] //= 2  # half the frames show something else there
    assert find_overlays(to_gray(frames)) == ()


def test_filling_keeps_the_input_and_dropping_keeps_boxes_outside(phase):
    frames, gt = phase
    before = frames.copy()
    rects = ((10, 20, 30, 40),)
    filled = fill_overlays(frames, rects, 99.6)
    assert np.array_equal(frames, before)  # never written into
    assert (filled[:, 20:60, 10:40] == 100).all() and np.array_equal(filled[:, 60:], frames[:, 60:])
    assert fill_overlays(frames, (), 99.6) is frames
    cy = (gt.y1 + gt.y2) / 2
    top_half = ((0, 0, frames.shape[2], frames.shape[1] // 2),)
    kept = drop_boxes_in_overlays(gt, top_half)
    assert 0 < len(kept) == int((cy >= frames.shape[1] // 2).sum()) < len(gt)
    assert (((kept.y1 + kept.y2) / 2) >= frames.shape[1] // 2).all()
    assert drop_boxes_in_overlays(gt, ()) is gt


def test_the_look_is_measured_without_the_panel(phase):
    frames, _ = phase
    clean = measure_look(frames[:8])
    panelled = measure_look(_draw(frames[:8], "time stamp"))
    assert panelled.overlays == tuple(_panel_rects("time stamp", frames.shape[2], frames.shape[1]))
    assert clean.overlays == () and panelled.polarity == clean.polarity
    assert panelled.head_box_px == pytest.approx(clean.head_box_px, rel=0.1)
    assert measure_look(_draw(frames[:8], "time stamp"), mask_overlays=False).overlays == ()


@pytest.mark.parametrize("name", ["auto", "classical"])
def test_detectors_report_nothing_in_a_panel_and_keep_their_heads(phase, name):
    frames, gt = phase
    panelled = _draw(frames, "text panel")
    rects = _panel_rects("text panel", frames.shape[2], frames.shape[1])
    visible = drop_boxes_in_overlays(gt, rects)  # heads under the panel cannot be seen
    opts = {"conf": 0.001} if name == "auto" else {}
    det = get_detector(name, **opts)
    boxes = run_detector(det, panelled, batch_size=8)
    assert det.look.overlays == tuple(rects)
    assert len(drop_boxes_in_overlays(boxes, rects)) == len(boxes)  # nothing in the panel
    clean = run_detector(get_detector(name, **opts), frames, batch_size=8)
    unmasked_det = get_detector(name, mask_overlays=False, **opts)
    unmasked = run_detector(unmasked_det, panelled, batch_size=8)
    assert unmasked_det.look.overlays == ()
    sperm = visible.filter(visible.cls == SPERM)
    masked_ap, clean_ap = ap50(sperm, boxes.filter(boxes.cls == SPERM)), ap50(sperm, clean.filter(clean.cls == SPERM))
    assert masked_ap >= clean_ap - 0.03, (masked_ap, clean_ap)
    assert masked_ap >= ap50(sperm, unmasked.filter(unmasked.cls == SPERM)) - 0.005


def test_the_switch_is_a_setting_of_the_self_calibrated_detectors():
    assert DetectorSpec(name="classical", mask_overlays=False).kwargs() == {"mask_overlays": False}
    assert DetectorSpec(name="auto").kwargs() == {}
    with pytest.raises(DetectorSpecError, match="--no-mask-overlays applies to the auto, default and classical"):
        DetectorSpec(name="gt", mask_overlays=False)
    with pytest.raises(ParameterError, match="mask_overlays must be True or False"):
        get_detector("classical", mask_overlays="no")


def test_analyze_records_the_panel_in_summary_and_report(phase, tmp_path):
    frames, _ = phase
    a = analyze(_draw(frames, "time stamp"), fps=50.0, um_per_px=0.5)
    rect = list(_panel_rects("time stamp", frames.shape[2], frames.shape[1])[0])
    assert a.summary["look"]["overlays"] == [rect]
    a.save(tmp_path / "result", overlay=False)
    summary = json.loads((tmp_path / "result" / "summary.json").read_text())
    assert summary["look"]["overlays"] == [rect]
    assert summary["config"]["detector"]["mask_overlays"] is True
    report = next((tmp_path / "result").glob("*.html")).read_text()
    assert "burnt-in panels left out of detection (1)" in report
    b = analyze(_draw(frames, "time stamp"), fps=50.0, um_per_px=0.5, detector=DetectorSpec(mask_overlays=False))
    assert b.summary["look"]["overlays"] == [] and b.summary["config"]["detector"]["mask_overlays"] is False


def test_the_command_line_says_which_panels_it_left_out(phase, tmp_path, capsys):
    from spermtrack.cli import main

    folder = tmp_path / "clip"
    folder.mkdir()
    for i, frame in enumerate(_draw(phase[0][:12], "letterbox")):
        cv2.imwrite(str(folder / f"frame_{i:03d}.png"), frame)
    flags = ["--fps", "50", "--um-per-px", "0.5", "--no-video", "--no-report"]
    assert main(["analyze", str(folder), "-o", str(tmp_path / "out"), *flags]) == 0
    err = capsys.readouterr().err
    assert "burnt-in panels left out of detection: 640x48 px at (0, 0), 640x48 px at (0, 432)" in err
    assert main(["analyze", str(folder), "-o", str(tmp_path / "kept"), *flags, "--no-mask-overlays"]) == 0
    assert "burnt-in panels" not in capsys.readouterr().err
    summary = json.loads((tmp_path / "kept" / "summary.json").read_text())
    assert summary["config"]["detector"]["mask_overlays"] is False and summary["look"]["overlays"] == []
