"""Image folders: the frame numbers in the file names (duplicates, gaps) and the times of their numbers."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from spermtrack import VideoError
from spermtrack.cli import main
from spermtrack.io.frames import ImageSequence, frame_numbers, list_images
from spermtrack.simulate import simulate_video


def write_frames(folder, frames, numbers, name="run3_frame_{}.png"):
    folder.mkdir(parents=True, exist_ok=True)
    for f, k in zip(frames, numbers):
        cv2.imwrite(str(folder / name.format(k)), f)
    return folder


def test_frame_numbers_are_the_one_varying_number():
    assert frame_numbers(["a/run3_frame_0.png", "a/run3_frame_2.png", "a/run3_frame_10.png"]).tolist() == [0, 2, 10]
    assert frame_numbers(["img_2023_01.jpg", "img_2023_02.jpg"]).tolist() == [1, 2]
    assert frame_numbers(["a.png", "b.png"]) is None  # no number
    assert frame_numbers(["cam1_1.png", "cam2_2.png"]) is None  # two numbers vary: no frame numbering
    assert frame_numbers(["x_1.png", "y_2.png"]) is None  # another pattern
    with pytest.raises(VideoError, match=r"frame_5.png and frame_05.png both number frame 5"):
        frame_numbers(["d/frame_4.png", "d/frame_5.png", "d/frame_05.png", "d/frame_6.png"])


def test_gaps_and_their_times(tmp_path):
    frames = [np.full((8, 8, 3), i, np.uint8) for i in range(6)]
    seq = ImageSequence(list_images(write_frames(tmp_path / "gap", frames, [0, 1, 2, 10, 11, 12])), fps=50)
    assert seq.number_gaps() == [(2, 10)] and seq.number_gaps(3) == []
    np.testing.assert_allclose(seq.number_times(50), np.array([0, 1, 2, 10, 11, 12]) / 50)
    # every 2nd frame kept, numbered 0, 2, 4, ...: the images are at the rate given, nothing missing
    every2 = ImageSequence(list_images(write_frames(tmp_path / "even", frames, [0, 2, 4, 6, 8, 10])), fps=25)
    assert every2.number_gaps() == [] and every2.number_times(25) is None
    with pytest.raises(VideoError, match="both number frame 1"):
        write_frames(tmp_path / "dup", frames[:1], ["01"])
        ImageSequence(list_images(write_frames(tmp_path / "dup", frames[:3], [0, 1, 2])))


def test_analyze_measures_an_image_folder_with_missing_frames_at_the_times_of_their_numbers(tmp_path):
    """Frames 10-19 of 30 removed: the images after the gap are 0.2 s later than their position says.
    Analysed at the plain clock, every track across the gap would take 10 frames' travel as one step."""
    video = simulate_video(seed=5, num_frames=30, density=10, image_size=(320, 240))
    kept = [i for i in range(30) if not 10 <= i < 20]
    folder = write_frames(tmp_path / "imgs", [video.frame(i) for i in kept], kept)
    out = tmp_path / "out"
    args = [str(folder), "--fps", "50", "--um-per-px", "0.25", "--detector", "classical", "-o", str(out), "-q"]
    assert main(["analyze", *args, "--no-video", "--no-report"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    ft = summary["frame_times"]
    assert ft["source"] == "numbers" and ft["num_frames"] == 20 and ft["sampling_fps"] == pytest.approx(50)
    assert ft["duration_s"] == pytest.approx(0.6, abs=0.03)
    notes = [w for w in summary["warnings"] if "frame numbers jump 1 time (9 -> 20)" in w]
    assert len(notes) == 1, summary["warnings"]
