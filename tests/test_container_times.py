"""Variable-frame-rate videos: the container's own clock becomes the time base of tracking and kinematics."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spermtrack.cli import main
from spermtrack.errors import ParameterError
from spermtrack.io.frames import read_timestamps
from spermtrack.io.video import VideoWriter
from spermtrack.simulate import simulate_video
from spermtrack.timebase import FrameTimes, with_container_times


@pytest.fixture(scope="module")
def dropped_frames_video(tmp_path_factory):
    """A 50 fps scene of which a camera kept frames 1-3 apart and stamped each with its capture time."""
    sim = simulate_video(seed=11, num_frames=150, density=20, look="phase")
    rng = np.random.default_rng(0)
    kept = np.cumsum(np.r_[0, rng.integers(1, 4, 100)])
    kept = kept[kept < sim.num_frames]
    path = tmp_path_factory.mktemp("vfr") / "vfr.mp4"
    with VideoWriter(path, fps=50, size=sim.image_size) as writer:
        for k in kept:
            writer.write(sim.frame(int(k)), time_s=k / 50.0)
    return path, kept / 50.0


def test_writer_and_reader_keep_irregular_times(dropped_frames_video, tmp_path):
    path, times = dropped_frames_video
    assert np.allclose(read_timestamps(path), times, atol=1e-4)
    cfr = tmp_path / "cfr.mp4"
    with VideoWriter(cfr, fps=25, size=(32, 16)) as writer:
        for i in range(6):
            writer.write(np.full((16, 32, 3), 40 * i, np.uint8))
    assert np.allclose(read_timestamps(cfr), np.arange(6) / 25)
    with pytest.raises(ParameterError, match=r"frame 1: time 0\.0 s is not after"):
        with VideoWriter(tmp_path / "bad.mp4", fps=25, size=(32, 16)) as writer:
            writer.write(np.zeros((16, 32, 3), np.uint8), time_s=0.0)
            writer.write(np.zeros((16, 32, 3), np.uint8), time_s=0.0)
    with pytest.raises(ParameterError, match="every frame or for none"):
        with VideoWriter(tmp_path / "mixed.mp4", fps=25, size=(32, 16)) as writer:
            writer.write(np.zeros((16, 32, 3), np.uint8), time_s=0.0)
            writer.write(np.zeros((16, 32, 3), np.uint8))
    assert not (tmp_path / "bad.mp4").exists() and not (tmp_path / "mixed.mp4").exists()


def test_with_container_times_uses_only_a_real_irregular_clock():
    pixels = FrameTimes.regular(5, 50)
    assert with_container_times(pixels, np.arange(5) / 50) is pixels  # constant rate: nothing new
    assert with_container_times(pixels, None) is pixels
    assert with_container_times(pixels, np.arange(3) / 50) is pixels  # too few stamps
    assert with_container_times(pixels, np.array([0, 0.02, 0.01, 0.03, 0.04])) is pixels  # decreasing
    ft = with_container_times(pixels, np.array([0, 0.02, 0.06, 0.06, 0.1, 0.2]))
    assert ft.source == "container" and np.allclose(ft.times, [0, 0.02, 0.06, 0.06, 0.1])
    assert ft.num_repeated == 1  # equal stamps: the container says the image repeats
    repeated = FrameTimes.from_repeats(np.array([0, 0, 1, 0, 0], bool), 50, "pixels")
    ft = with_container_times(repeated, np.array([0, 0.02, 0.05, 0.06, 0.1]))
    assert np.allclose(ft.times, [0, 0.02, 0.02, 0.06, 0.1]), "a repeat keeps the time of the image it repeats"


def test_analyze_tracks_a_variable_rate_video_on_its_own_clock(dropped_frames_video, tmp_path):
    path, times = dropped_frames_video
    out = tmp_path / "r"
    args = ["analyze", str(path), "--out", str(out), "--detector", "classical", "-q", "--no-video", "--no-report"]
    assert main([*args, "--um-per-px", "0.25"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    ft = summary["frame_times"]
    assert ft["source"] == "container" and ft["num_frames"] == len(times) and ft["num_repeated"] == 0
    assert ft["effective_fps"] == pytest.approx((len(times) - 1) / (times[-1] - times[0]), rel=1e-3)
    # a frame rate given by the user wins over the container's clock
    assert main([*args[:3], str(tmp_path / "r2"), *args[4:], "--um-per-px", "0.25", "--fps", "25"]) == 0
    assert json.loads((tmp_path / "r2" / "summary.json").read_text())["frame_times"]["source"] != "container"
