"""pipeline.analyze / Analysis: streaming equals the offline reference, outputs, calibration, errors, CLI."""

from __future__ import annotations

import json
import pickle
import tracemalloc
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from _pipeline_checks import check_outputs, simulated_folder

from spermtrack import Boxes, Calibration
from spermtrack.cli import main
from spermtrack.errors import CalibrationError, SpermtrackError, VideoError
from spermtrack.io.labels import read_label_files
from spermtrack.io.mot import read_mot
from spermtrack.io.visem import VisemVideo
from spermtrack.kinematics import casa
from spermtrack.pipeline import OUTPUT_FILES, analyze, resolve_calibration
from spermtrack.track import TrackerConfig, track


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 60-frame simulated VISEM video folder (12 sperm per frame) and its SimulatedVideo."""
    return simulated_folder(tmp_path_factory.mktemp("clip"), frames=60, seed=3, density=12.0)


@pytest.fixture(scope="module")
def gt_analysis(clip):
    folder, sim = clip
    return analyze(folder, detector="gt", calibration=sim.calibration)


# ---------------------------------------------------------------------------- calibration
def test_the_visem_estimate_on_frames_of_another_size_warns():
    """0.25 µm/px is VISEM's 640x480 camera: on 320x240 frames (another camera, or rescaled) the
    speeds are off by a constant factor, which the head-size check (2.5-15 µm) lets through."""
    from spermtrack.analysis.calibration import visem_frame_warning
    from spermtrack.simulate import simulate_video

    _, visem = resolve_calibration(50.0, visem_calibration=True)
    _, mine = resolve_calibration(50.0, um_per_px=0.25)
    assert visem_frame_warning(visem, (640, 480)) is None and visem_frame_warning(mine, (320, 240)) is None
    assert "320x240" in visem_frame_warning(visem, (320, 240))
    small = np.stack(list(simulate_video(seed=1, num_frames=8, density=10, image_size=(320, 240)).frames()))
    notes = analyze(small, detector="classical", fps=50.0, visem_calibration=True).warnings
    assert [n for n in notes if "VISEM's 640x480 camera" in n and "320x240" in n], notes
    assert not [n for n in analyze(small, detector="classical", fps=50.0, um_per_px=0.25).warnings if "640x480" in n]


def test_calibration_priority_and_messages():
    assert resolve_calibration(49.0) == (Calibration(None, 49.0), "uncalibrated; frame rate of the video")
    cal, origin = resolve_calibration(49.0, um_per_px=0.3)
    assert cal == Calibration(0.3, 49.0) and "given by the user" in origin
    assert (origin.um_per_px, origin.fps) == ("µm per pixel given by the user", "frame rate of the video")
    cal, origin = resolve_calibration(49.0, fps=25.0, visem_calibration=True)
    assert cal == Calibration(0.25, 25.0) and "VISEM" in origin
    assert (origin.um_per_px, origin.fps) == ("VISEM-Tracking estimate of µm per pixel", "frame rate given by the user")
    again = pickle.loads(pickle.dumps(origin))  # batch workers send results back pickled
    assert again == origin and (again.um_per_px, again.fps) == (origin.um_per_px, origin.fps)
    assert json.loads(json.dumps({"origin": origin})) == {"origin": str(origin)}
    mine = Calibration(0.4, 30.0)
    assert resolve_calibration(49.0, calibration=mine) == (mine, "given by the user")
    with pytest.raises(CalibrationError, match="--fps"):
        resolve_calibration(None, source="frames/")
    with pytest.raises(CalibrationError, match="not both"):
        resolve_calibration(50.0, calibration=mine, um_per_px=0.2)
    with pytest.raises(CalibrationError, match="not both"):
        resolve_calibration(50.0, um_per_px=0.2, visem_calibration=True)
    with pytest.raises(CalibrationError, match="plausible"):
        resolve_calibration(50.0, um_per_px=250.0)  # a magnification typed as µm/px


# ---------------------------------------------------------------------------- analyze
def test_streaming_analysis_equals_offline_tracking(gt_analysis, clip):
    """Decode thread + detector + tracker thread give exactly track(detections) of the whole video."""
    folder, sim = clip
    a = gt_analysis
    assert a.num_frames == 60 and a.image_size == (640, 480)
    assert a.detector.startswith("gt")
    assert a.detections.num_frames == 60 and len(a.detections) == len(VisemVideo(folder).labels())
    offline = track(a.detections, fps=sim.fps)
    assert a.tracks.equals(offline), "streaming + clean-up must equal the offline tracker"
    # analyze passes the frame size: boxes clipped at the image border are re-centred
    pd.testing.assert_frame_equal(a.kinematics, casa(offline, sim.calibration, image_size=a.image_size))
    assert a.kinematics.attrs["parameters"]["image_size"] == [640, 480]
    assert a.kinematics.attrs["speed_unit"] == "µm/s"
    assert set(a.timings) == {"decode", "detect", "track", "kinematics", "total"}
    assert all(v >= 0 for v in a.timings.values())
    np.testing.assert_array_equal(a.first_frame, cv2.imread(str(folder / "images" / "sim_frame_0.jpg")))


def test_fastest_and_summary(gt_analysis):
    a = gt_analysis
    k = a.kinematics
    top = a.fastest(3)
    ok = k[(k.quality == "ok") & (k.duration_s >= a.fastest_min_duration_s) & (k.cls == 0)]
    assert a.fastest_min_duration_s == 0.5  # the validity gate: the fastest cells leave the field first
    ranked = ok.sort_values(["vsl", "track_id"], ascending=[False, True])  # ties: lower id first
    assert top.track_id.tolist() == ranked.track_id.head(3).tolist()
    assert top.vsl.is_monotonic_decreasing
    s = a.summary
    assert s["counts"]["tracks"] == len(k) == len(a.tracks.unique_tracks())
    assert s["counts"]["graded_tracks"] == int((k.cls == 0).sum()) and s["graded_classes"] == ["sperm"]
    assert s["calibration"]["calibrated"] and s["calibration"]["speed_unit"] == "µm/s"
    assert s["video"] == {"num_frames": 60, "fps": 50.0, "fps_source": "user", "duration_s": 1.2, "width": 640, "height": 480}
    json.dumps(s)  # JSON-ready


def test_tracker_settings_are_used(clip):
    folder, sim = clip
    config = TrackerConfig(min_track_s=0.5, interpolate_s=0.0)
    a = analyze(folder, detector="gt", calibration=sim.calibration, tracker=config)
    assert a.tracker_config == config
    assert a.tracks.equals(track(a.detections, sim.fps, config))
    b = analyze(folder, detector="gt", calibration=sim.calibration, tracker={"min_track_s": 0.5, "interpolate_s": 0.0})
    assert b.tracks.equals(a.tracks)
    with pytest.raises(SpermtrackError, match="unknown tracker setting"):
        analyze(folder, detector="gt", calibration=sim.calibration, tracker={"gait": 3})


def test_max_frames_and_a_detector_object(clip):
    from spermtrack.detect import GroundTruthDetector

    folder, sim = clip
    det = GroundTruthDetector(VisemVideo(folder).labels(), miss=0.1, jitter_px=1.0, seed=1)
    a = analyze(folder, detector=det, calibration=sim.calibration, max_frames=25, batch_size=4)
    assert a.num_frames == 25 and a.detections.num_frames == 25 and a.tracks.num_frames == 25
    assert a.detections.frame.max() <= 24
    assert a.tracks.equals(track(a.detections, sim.fps))


@pytest.mark.slow
def test_memory_does_not_grow_with_the_video(tmp_path):
    """Frames are streamed: the peak memory of 150 frames is that of 30 (keeping 120 more would add 28 MB)."""
    rng = np.random.default_rng(0)
    img_dir = tmp_path / "frames"
    img_dir.mkdir()
    base = rng.integers(80, 120, (240, 320, 3), dtype=np.uint8)
    for i in range(150):
        cv2.imwrite(str(img_dir / f"f_{i}.jpg"), np.roll(base, i, axis=1))
    analyze(img_dir, detector="classical", fps=50.0, max_frames=10)  # imports and JIT outside the measurement

    def peak(n):
        tracemalloc.start()
        try:
            a = analyze(img_dir, detector="classical", fps=50.0, max_frames=n)
            return tracemalloc.get_traced_memory()[1], a
        finally:
            tracemalloc.stop()

    (small, a30), (large, a150) = peak(30), peak(150)
    assert (a30.num_frames, a150.num_frames) == (30, 150)
    assert large - small < 10e6, f"peak grew by {(large - small) / 1e6:.1f} MB for 120 more frames"


# ---------------------------------------------------------------------------- outputs
@pytest.mark.slow
def test_save_writes_every_output_and_they_agree(gt_analysis, tmp_path):
    a = gt_analysis
    paths = a.save(tmp_path / "out")
    assert set(paths) == set(OUTPUT_FILES)
    summary = check_outputs(tmp_path / "out")
    assert summary["detector"] == a.detector
    # tracks.txt reads back to the same tracks (MOTChallenge, class in column 8)
    back = read_mot(tmp_path / "out" / "tracks.txt", num_frames=a.num_frames)
    assert back.equals(a.tracks)
    # labels_ftid/ reads back to the same boxes (VISEM: normalised, string ids)
    files = sorted((tmp_path / "out" / "labels_ftid").iterdir(), key=lambda p: int(p.name.split("_")[-3]))
    assert files[0].name == "sim_frame_0_with_ftid.txt"
    frames = np.array([int(p.name.split("_")[-3]) for p in files])
    boxes, names = read_label_files(files, frames, a.num_frames, a.image_size, tracked=True)
    np.testing.assert_allclose(boxes.xyxy, a.tracks.xyxy, atol=1e-3)
    assert len(set(names.values())) == len(a.tracks.unique_tracks())
    # the overlay has every frame
    import av

    with av.open(str(paths["overlay.mp4"])) as c:
        assert sum(1 for _ in c.decode(video=0)) == a.num_frames
    # saving again replaces the whole folder: no overlay or report of the earlier save is left beside the new files
    a.save(tmp_path / "out", overlay=False, report=False)
    check_outputs(tmp_path / "out", overlay=False, report=False)
    assert not (tmp_path / "out" / "overlay.mp4").exists() and not (tmp_path / "out" / "report.html").exists()


def test_uncalibrated_analysis_is_in_pixels_everywhere(clip, tmp_path):
    folder, _ = clip
    a = analyze(folder, detector="gt", max_frames=30)
    assert not a.calibration.calibrated and a.calibration.fps == pytest.approx(50.0)
    a.save(tmp_path, overlay=False, report=False)
    s = check_outputs(tmp_path, overlay=False, report=False)
    assert s["calibration"]["speed_unit"] == "px/s" and "Uncalibrated" in s["calibration"]["note"]
    assert s["units"]["speed"] == "px/s" and s["units"]["length"] == "px"
    assert all(v["percent"] is None for v in s["motility"].values()) and s["progressive_percent"] is None
    assert not (tmp_path / "report.html").exists()


def test_a_video_without_sperm_gives_complete_empty_outputs(tmp_path):
    from spermtrack.io.video import VideoWriter

    with VideoWriter(tmp_path / "blank.mp4", 50, (320, 240)) as w:
        for _ in range(30):
            w.write(np.full((240, 320, 3), 120, np.uint8))
    a = analyze(tmp_path / "blank.mp4", detector="classical", um_per_px=0.25)
    assert (a.num_frames, len(a.detections), len(a.tracks), len(a.kinematics)) == (30, 0, 0, 0)
    a.save(tmp_path / "out", overlay=False)
    s = check_outputs(tmp_path / "out", overlay=False)
    assert s["fastest"] == [] and s["counts"]["valid_tracks"] == 0 and s["progressive_percent"] is None
    assert "no track passed the quality gates" in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")


# ---------------------------------------------------------------------------- errors
def test_bad_sources_and_detectors_say_what_to_do(tmp_path, clip):
    folder, _ = clip
    with pytest.raises(VideoError, match="no such"):
        analyze(tmp_path / "missing.mp4")
    (tmp_path / "broken.mp4").write_bytes(b"this is not a video")
    with pytest.raises(VideoError, match=r"broken\.mp4"):
        analyze(tmp_path / "broken.mp4", detector="classical")
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    cv2.imwrite(str(imgs / "a_0.png"), np.zeros((48, 64, 3), np.uint8))
    with pytest.raises(CalibrationError, match="--fps"):
        analyze(imgs, detector="classical")
    with pytest.raises(SpermtrackError, match="unknown detector"):
        analyze(folder, detector="magic")
    with pytest.raises(SpermtrackError, match="VISEM video folder"):
        analyze(imgs, detector="gt", fps=50)
    with pytest.raises(SpermtrackError, match="batch_size"):
        analyze(folder, batch_size=0)


def test_a_failing_detector_stops_the_pipeline(clip):
    folder, sim = clip

    class Broken:
        name = "broken"

        def detect(self, frames, first_frame=0):
            if first_frame >= 16:
                raise RuntimeError("detector crashed")
            return Boxes.empty(first_frame + len(frames))

    with pytest.raises(RuntimeError, match="crashed"):
        analyze(folder, detector=Broken(), calibration=sim.calibration)


def test_a_failing_tracker_stops_the_pipeline(clip):
    from spermtrack.track import Tracker

    folder, sim = clip

    class BrokenTracker(Tracker):
        def update(self, frame_boxes):
            if self.frame >= 20:
                raise RuntimeError("tracker crashed")
            return super().update(frame_boxes)

    with pytest.raises(RuntimeError, match="tracker crashed"):
        analyze(folder, detector="gt", calibration=sim.calibration, tracker=BrokenTracker(sim.fps))


# ---------------------------------------------------------------------------- command line
def test_cli_analyze(clip, tmp_path, capsys):
    folder, _ = clip
    out = tmp_path / "res"
    rc = main(
        ["analyze", str(folder), "--out", str(out), "--detector", "gt", "--um-per-px", "0.25", "--no-video", "--top", "3", "-q"]
    )
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert captured.err == "", "--quiet prints no progress"
    assert "Fastest 3 sperm by VSL (µm/s):" in captured.out
    assert f"Report: {out / 'report.html'}" in captured.out
    table = captured.out.split("):\n", 1)[1].splitlines()
    assert table[0].split()[:3] == ["rank", "track", "VSL"]
    summary = check_outputs(out, overlay=False)
    first = captured.out.splitlines()[0]  # the WHO shares, weighted by time in view, with their intervals
    lo, hi = summary["progressive_ci95"]
    assert first.startswith(f"WHO motility of {summary['counts']['valid_tracks']} valid sperm tracks")
    assert f"PR {summary['progressive_percent']:.1f} % ({lo:.0f}-{hi:.0f})" in first
    ids = [int(line.split()[1]) for line in table[1:] if line.strip() and line.split()[0].isdigit()]
    assert ids == [r["track_id"] for r in summary["fastest"][:3]]


def test_cli_errors_exit_1_with_a_message(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "nope.mp4"), "--out", str(tmp_path / "o")]) == 1
    assert "no such video file or folder" in capsys.readouterr().err
    assert main(["analyze", str(tmp_path), "--opacity", "3"]) == 1
    assert "--opacity" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("x")  # an output folder that cannot be created (a file is in the way)
    assert main(["demo", "--out", str(blocker / "sub"), "--frames", "10", "-q"]) == 1
    err = capsys.readouterr().err
    assert "cannot write the outputs" in err and "--out" in err
    with pytest.raises(SystemExit) as exc:
        main(["analyze"])
    assert exc.value.code == 2
    assert Path(tmp_path / "o").exists() is False
