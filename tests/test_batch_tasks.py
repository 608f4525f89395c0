"""The tasks a batch runs on each video, called in this process (no Dask needed)."""

from __future__ import annotations

import warnings

import pytest

from spermtrack.analysis import AnalysisConfig
from spermtrack.batch import Job, pseudo_label_task
from spermtrack.errors import UncalibratedWarning


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    from spermtrack.io.video import VideoWriter
    from spermtrack.simulate import simulate_video

    sim = simulate_video(seed=3, num_frames=12, density=8, image_size=(160, 120))
    path = tmp_path_factory.mktemp("clip") / "a.mp4"
    with VideoWriter(path, fps=sim.calibration.fps, size=(160, 120), crf=12) as w:
        for frame in sim.frames():
            w.write(frame)
    return path


def test_pseudo_label_gives_no_uncalibrated_warning(clip, tmp_path):
    """Pseudo-labels hold no speeds or grades: the WHO-comparison warning is not said once per video."""
    config = AnalysisConfig().updated({"detector": {"name": "classical"}, "outputs": {"overlay": False, "report": False}})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        before = list(warnings.filters)
        row = pseudo_label_task(Job("a", str(clip), str(tmp_path / "a")), config)
        assert warnings.filters == before  # the task's filter is its own, not left behind
    assert row["status"] == "done", row["error"]
    assert (tmp_path / "a" / "pseudo_labels.csv").exists()
    assert not [w for w in caught if issubclass(w.category, UncalibratedWarning)]
