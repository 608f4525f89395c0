"""Repeated frames in the simulator (hold_frames) and their recovery from a compressed video by `analyze`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spermtrack.cli import main
from spermtrack.errors import ParameterError
from spermtrack.simulate import simulate_video
from spermtrack.simulate.dataset import FRAME_TIMES_CSV, TRUTH_DIR, read_frame_times, simulate_dataset
from spermtrack.simulate.timing import hold_schedule


def test_hold_schedule_shows_each_image_lo_to_hi_frames():
    shown = hold_schedule(500, (2, 4), seed=7)
    assert shown[0] == 0 and np.all(np.diff(shown) >= 0)
    starts, counts = np.unique(shown, return_counts=True)
    assert np.array_equal(starts[1:], np.cumsum(counts)[:-1]), "an image is shown from the frame it was captured at"
    assert counts[:-1].min() >= 2 and counts.max() <= 4
    assert np.array_equal(shown, hold_schedule(500, (2, 4), seed=7)) and not np.array_equal(
        shown, hold_schedule(500, (2, 4), seed=8)
    )
    assert np.array_equal(hold_schedule(9, (1, 1), seed=0), np.arange(9))


def test_a_held_video_repeats_images_labels_and_heads_of_the_same_scene():
    plain = simulate_video(seed=4, num_frames=30, density=12)
    held = simulate_video(seed=4, num_frames=30, density=12, hold_frames=(2, 3))
    shown = held.shown
    assert held.params["hold_frames"] == [2, 3] and held.params["realised"]["distinct_frames"] == len(np.unique(shown))
    for i in (0, 1, 5, 17, 29):
        assert np.array_equal(held.frame(i), plain.frame(shown[i]))
        a, b = held.boxes.at_frame(i), plain.boxes.at_frame(shown[i])
        assert np.array_equal(a.xyxy, b.xyxy) and np.array_equal(a.track_id, b.track_id)
        ha = held.heads[held.heads.frame == i].drop(columns="frame").reset_index(drop=True)
        hb = plain.heads[plain.heads.frame == shown[i]].drop(columns="frame").reset_index(drop=True)
        pd.testing.assert_frame_equal(ha, hb)
    assert np.array_equal(held.true_times, shown / 50.0)
    assert held.frame_times.num_repeated == 30 - len(np.unique(shown))
    assert plain.shown is None and plain.frame_times.num_repeated == 0


@pytest.mark.parametrize("bad", [(0, 2), (3, 2), (2, 2.5), "2-4", (1, 500)])
def test_bad_hold_frames_is_a_clear_error(bad):
    with pytest.raises(ParameterError, match="hold_frames"):
        simulate_video(seed=0, num_frames=5, density=2, hold_frames=bad)


@pytest.fixture(scope="module")
def held_and_plain(tmp_path_factory):
    """One compressed (H.264, crf 23) video with repeated frames and the same scene without them."""
    root = tmp_path_factory.mktemp("held")
    kw = dict(n_videos=1, num_frames=120, seed=3, density=25, look="phase", workers=1)
    simulate_dataset(root / "held", hold_frames=(2, 4), **kw)
    simulate_dataset(root / "plain", **kw)
    return root / "held" / "sim0000", root / "plain" / "sim0000"


def test_analyze_finds_the_repeats_of_a_compressed_video(held_and_plain, tmp_path):
    """H.264 at its default quality removes the sensor noise and re-refines repeated images, so the
    plain difference of repeats (~0.15 grey levels) is not far below that of new images (~0.4): the
    smoothed-difference statistic finds them, and a video without repeats gets none."""
    from spermtrack.io.visem import VisemVideo

    held, plain = held_and_plain
    truth = read_frame_times(held)
    assert (held / TRUTH_DIR / FRAME_TIMES_CSV).is_file() and truth.num_repeated > 40
    assert read_frame_times(plain) is None
    for folder, want in ((held, truth), (plain, None)):
        out = tmp_path / folder.parent.name
        args = [str(folder / f"{folder.name}.mp4"), "--out", str(out), "--detector", "classical", "-q", "--no-video"]
        assert main(["analyze", *args, "--no-report", "--um-per-px", "0.25"]) == 0
        import json

        summary = json.loads((out / "summary.json").read_text())
        ft = summary["frame_times"]
        # a new image every 2-4 frames of 50: ~17 images/s, which the result must say (docs/kinematics.md)
        low_rate = [w for w in summary["warnings"] if w.startswith("Low image rate")]
        assert len(low_rate) == (0 if want is None else 1), summary["warnings"]
        if want is None:
            assert ft["num_repeated"] == 0
        else:
            assert "frames repeat" in low_rate[0] and f"{want.sampling_fps:.3g} new images/s" in low_rate[0]
            assert ft["num_repeated"] == want.num_repeated, ft
            assert ft["effective_fps"] == pytest.approx(want.effective_fps, rel=0.02)
            assert "motion_threshold" in ft  # found by the smoothed difference, not the plain MAD
    assert VisemVideo(held).labels().num_frames == 120


def test_cli_simulate_hold_frames(tmp_path, capsys):
    assert (
        main(["simulate", str(tmp_path / "d"), "-n", "1", "-f", "12", "--density", "3", "--hold-frames", "2-3", "--no-mp4", "-q"])
        == 0
    )
    table = pd.read_csv(tmp_path / "d" / "sim0000" / TRUTH_DIR / FRAME_TIMES_CSV)
    assert list(table.columns) == ["frame", "shows_frame", "time_s", "repeat"] and table["repeat"].sum() >= 4
    with pytest.raises(SystemExit):
        main(["simulate", str(tmp_path / "e"), "--hold-frames", "3-2"])
    assert "1 <= LO <= HI" in capsys.readouterr().err


def test_repeats_are_counted_only_up_to_max_frames(held_and_plain):
    """The decoding thread decodes ahead of max_frames; the frames past it are not measured."""
    from spermtrack.analysis import analyze

    held, _ = held_and_plain
    truth = read_frame_times(held)
    a = analyze(held / f"{held.name}.mp4", detector="classical", max_frames=37, um_per_px=0.25)
    assert a.frame_times.num_frames == a.num_frames == 37
    assert a.frame_times.num_repeated == int((~truth.distinct[:37]).sum())
