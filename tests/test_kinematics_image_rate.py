"""The low-image-rate warning of casa(): VCL, LIN, WOB, MAD and BCF depend on the rate of new images."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from kinematics_paths import boxes_from_paths

from spermtrack import Boxes, Calibration
from spermtrack.errors import LowImageRateWarning, UncalibratedWarning
from spermtrack.kinematics import CasaConfig, casa
from spermtrack.kinematics.config import CasaConfigError
from spermtrack.timebase import FrameTimes


def beating_swimmer(fps: float, seconds: float = 3.0) -> Boxes:
    """A swimmer at 40 µm/s beating +-2 µm at 8 Hz, sampled at ``fps``."""
    f = np.arange(int(seconds * fps) + 1)
    t = f / fps
    return boxes_from_paths({1: (f, 40 * t, 2 * np.sin(2 * np.pi * 8 * t))})


def low_rate_notes(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, LowImageRateWarning)]


@pytest.mark.parametrize("fps, warned", [(25.0, True), (30.0, True), (44.9, True), (45.0, False), (50.0, False), (100.0, False)])
def test_casa_warns_below_45_images_per_second(fps, warned):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = casa(beating_swimmer(fps), Calibration(0.25, fps))
    notes = low_rate_notes(caught)
    assert len(notes) == int(warned)
    assert df.attrs["warnings"] == notes  # the same text in the table's attrs
    if warned:
        assert f"{fps:.3g} new images/s" in notes[0] and f"{fps / 2:.3g} Hz" in notes[0]
        assert "frames repeat" not in notes[0]


def test_the_setting_moves_or_silences_it_and_is_validated():
    b = beating_swimmer(25.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        casa(b, Calibration(0.25, 25.0), min_image_rate=0)
        casa(b, Calibration(0.25, 25.0), CasaConfig(min_image_rate=20.0))
    assert low_rate_notes(caught) == []
    with pytest.warns(LowImageRateWarning):
        casa(beating_swimmer(50.0), Calibration(0.25, 50.0), min_image_rate=60)
    with pytest.raises(CasaConfigError, match="min_image_rate"):
        CasaConfig(min_image_rate=-1)
    assert CasaConfig.from_dict(CasaConfig(min_image_rate=30.0).to_dict()).min_image_rate == 30.0


def test_repeated_frames_count_new_images_not_the_file_rate():
    """A 50-fps file that shows each image twice samples the beat at 25: it warns, and says why."""
    b = beating_swimmer(50.0)
    repeated = np.zeros(b.num_frames, bool)
    repeated[1::2] = True
    times = FrameTimes.from_repeats(repeated, 50.0, "pixels")
    with pytest.warns(LowImageRateWarning, match=r"25 new images/s \(frames repeat"):
        casa(b, Calibration(0.25, 50.0), frame_times=times)
    with warnings.catch_warnings(record=True) as caught:  # every frame new: no warning
        warnings.simplefilter("always")
        casa(b, Calibration(0.25, 50.0), frame_times=FrameTimes.regular(b.num_frames, 50.0))
    assert low_rate_notes(caught) == []


def test_no_tracks_no_warning_and_uncalibrated_keeps_its_own():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        casa(Boxes.empty(10), Calibration(0.25, 10.0))
        casa(beating_swimmer(25.0), Calibration(None, 25.0))
    categories = [w.category for w in caught if issubclass(w.category, (LowImageRateWarning, UncalibratedWarning))]
    assert categories == [UncalibratedWarning, LowImageRateWarning]
