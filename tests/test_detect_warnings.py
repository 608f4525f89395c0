"""analyze() on looks it was not made for: inverted videos give the same tracks, unreadable videos warn."""

import numpy as np
import pytest

from spermtrack import analyze
from spermtrack.io.video import VideoWriter
from spermtrack.simulate import simulate_video


def _write(path, frames, fps=50.0):
    with VideoWriter(path, fps, (frames.shape[2], frames.shape[1])) as w:
        for f in frames:
            w.write(f)
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    "look, kwargs",
    [
        # the bright-field recording of issue 13: 640x384, heads ~17 px, dense
        ("brightfield", {"seed": 12, "head_px": 17, "image_size": (640, 384), "density": 30, "num_frames": 100}),
        ("phase", {"seed": 11, "density": 20, "num_frames": 80}),
    ],
)
def test_inverted_copy_gives_nearly_the_same_valid_tracks(tmp_path, look, kwargs):
    """A video and its inverted copy (dark heads <-> bright heads) give nearly the same number of valid tracks."""
    v = simulate_video(look=look, **kwargs)
    frames = np.stack(list(v.frames()))
    counts = {}
    for name, fr in (("as recorded", frames), ("inverted", 255 - frames)):
        r = analyze(_write(tmp_path / f"{name}.mp4", fr), um_per_px=0.25)
        counts[name] = (r.summary["counts"]["valid_tracks"], r.look["polarity"])
    (a, pa), (b, pb) = counts.values()
    assert pa != pb, counts  # the polarity was measured, not assumed
    assert a >= 5, counts
    assert abs(a - b) <= max(2, 0.15 * max(a, b)), counts


@pytest.mark.slow
def test_warnings_fire_on_noise_and_empty_fields_not_on_the_demo(tmp_path):
    rng = np.random.default_rng(0)
    noise = rng.normal(128, 20, (40, 240, 320, 3)).clip(0, 255).astype(np.uint8)
    r = analyze(_write(tmp_path / "noise.mp4", noise), um_per_px=0.25)
    assert r.warnings and r.summary["warnings"] == r.warnings
    assert any("--polarity" in w for w in r.warnings)
    # a cell-free field: the simulator's background and debris, no cells
    empty = simulate_video(seed=5, num_frames=40, density=0.0, clusters=0.0, pinheads=0.0)
    r = analyze(_write(tmp_path / "empty.mp4", np.stack(list(empty.frames()))), um_per_px=0.25)
    assert r.warnings and all("--polarity" in w for w in r.warnings), r.warnings
    assert any("µm across" in w and "--um-per-px" in w for w in r.warnings), r.warnings  # specks, not heads
    assert r.summary["detection_check"]["median_box_um"] < 2.5
    # the same field without a calibration: its specks are sized like heads, but none of them moves
    r = analyze(tmp_path / "empty.mp4")
    moves = [w for w in r.warnings if w.startswith("Nothing moves")]
    assert moves and "--um-per-px" in moves[0], r.warnings
    assert r.summary["detection_check"]["moving_tracks"] == 0 and r.summary["detection_check"]["valid_tracks"] >= 3
    # a sparse sample (4 sperm per frame among the usual debris): its specks outnumber its heads, and
    # its first frames may not show them move; that is no reason to doubt it
    sparse = simulate_video(seed=4, num_frames=40, density=4)
    r = analyze(_write(tmp_path / "sparse.mp4", np.stack(list(sparse.frames()))), calibration=sparse.calibration)
    assert r.warnings == [] and r.summary["counts"]["valid_tracks"] >= 3, (r.warnings, r.summary["counts"])
    # the demo's clip (spermtrack demo: seed 7, 25 sperm per frame, phase contrast), shortened
    demo = simulate_video(seed=7, num_frames=60, density=25)
    r = analyze(_write(tmp_path / "demo.mp4", np.stack(list(demo.frames()))), calibration=demo.calibration)
    assert r.warnings == [], r.warnings
    assert r.look["polarity"] == "bright" and r.look["reliable"]
    assert r.summary["detection_check"]["moving_tracks"] >= 2, r.summary["detection_check"]
    # the motion check reads the valid tracks the summary counts (graded sperm tracks that pass the gates)
    assert r.summary["detection_check"]["valid_tracks"] == r.summary["counts"]["valid_tracks"]


@pytest.mark.slow
def test_unsure_heads_warning_fires_where_the_detector_scores_heads_low(monkeypatch):
    """A random microscope in VISEM's light look (benchmarks/analysis_random_looks.py, seed 72005) on which
    the model ranks heads well (AP 0.78) but scores most below the tracker's 0.5: 13 valid tracks for 44
    cells over 100 frames. analyze must say so, with the facts in summary.json."""
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from detector_random_looks import draw

    p = draw(72005, "bright", (11.0, 22.0))
    v = simulate_video(
        seed=72005, num_frames=40, look=p["look"], head_px=p["head_px"], image_size=p["size"], density=p["density"]
    )
    r = analyze(np.stack(list(v.frames())), calibration=v.calibration)
    check = r.summary["detection_check"]
    assert check["sure_score"] == 0.5 and check["unsure_per_frame"] > check["confident_per_frame"] >= 1, check
    warn = [w for w in r.warnings if w.startswith("The detector is unsure of many heads")]
    assert len(warn) == 1 and "new_track_score" in warn[0], r.warnings
    assert r.summary["counts"]["valid_tracks"] < 0.67 * (v.boxes.cls == 0).sum() / v.num_frames  # the undercount it warns of
