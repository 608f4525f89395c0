"""The examples run as written (small settings), and the code in docs/calibration.md is right."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def run_example(name: str, *args: str, timeout: float = 300) -> str:
    env = {**os.environ, "MPLBACKEND": "Agg", "YOLO_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT
    )
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.mark.slow
def test_rank_fastest_ranks_a_simulated_clip(tmp_path):
    out = run_example(
        "rank_fastest.py", "--top", "3", "--sim-frames", "75", "--detector", "classical", "--csv", str(tmp_path / "r.csv")
    )
    assert "No video given: simulated" in out
    m = re.search(r"(\d+) fastest of (\d+) tracks", out)
    assert m and 1 <= int(m.group(1)) <= 3
    import pandas as pd

    table = pd.read_csv(tmp_path / "r.csv")
    assert table["rank"].tolist() == list(range(1, len(table) + 1))
    assert table["vsl"].is_monotonic_decreasing
    assert "vsl (µm/s)" in out


@pytest.mark.slow
def test_evaluate_tracker_scores_a_simulated_root():
    out = run_example("evaluate_tracker.py", "--detector", "gt-noisy", "--miss", "0.1", "--fp", "1")
    assert "No root given" in out
    combined = [line.split() for line in out.splitlines() if line.startswith("combined  all")]
    assert combined, out
    hota, _deta, _assa, mota, idf1 = map(float, combined[0][2:7])
    # degraded ground truth (10 % missed, 1 false box per frame): the tracker must still do well
    assert 50 < hota <= 100 and 50 < idf1 <= 100 and 0 < mota <= 100


@pytest.mark.slow
def test_simulate_and_benchmark_measures_errors():
    out = run_example("simulate_and_benchmark.py", "--videos", "1", "--frames", "75")
    assert "Tracking against the simulator's truth" in out
    m = re.search(r"VSL: median relative error ([+-][\d.]+)%, median \|error\| ([\d.]+)%", out)
    assert m, out
    assert float(m.group(2)) < 50.0
    assert re.search(r"Top-5 fastest \(VSL\): \d+ of \d+ true fastest found", out)


@pytest.mark.slow
@pytest.mark.yolo
@pytest.mark.skipif(importlib.util.find_spec("ultralytics") is None, reason="needs the yolo extra (ultralytics, torch)")
def test_train_and_evaluate_yolo_smoke_run():
    out = run_example("train_and_evaluate_yolo.py", "--device", "cpu", "--imgsz", "160", timeout=600)
    assert "Trained:" in out and "best.pt" in out
    assert re.search(r"combined\s+all\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+\d+\s+\d+", out), out


@pytest.mark.slow
@pytest.mark.yolo
@pytest.mark.skipif(importlib.util.find_spec("ultralytics") is None, reason="needs the yolo extra (ultralytics, torch)")
def test_ultralytics_to_trackmate_runs_offline(tmp_path):
    import pandas as pd

    out = run_example("ultralytics_to_trackmate.py", "--frames", "60", "--out", str(tmp_path))
    m = re.search(r"against the truth: MOTA ([\d.-]+), IDF1 ([\d.-]+)", out)
    assert m and float(m.group(2)) > 50.0, out  # the shipped model on a simulated clip
    assert re.search(r"\d+ of \d+ tracks pass the quality gates", out), out
    trackmate = pd.read_csv(tmp_path / "tracks_trackmate.csv")
    assert list(trackmate.columns) == ["FRAME", "TRACK_ID", "POSITION_X", "POSITION_Y", "POSITION_T", "QUALITY", "RADIUS"]
    assert trackmate.POSITION_X.max() <= 640 * 0.25 and trackmate.POSITION_T.max() <= 59 / 50
    table = pd.read_csv(tmp_path / "tracks_trackpy.csv")
    assert {"frame", "x", "y", "particle", "x_um", "y_um", "t_s"} <= set(table.columns)
    assert len(table) == len(trackmate) and table.particle.nunique() == trackmate.TRACK_ID.nunique() > 3


#: Runs an example (argv[1], its arguments after) as if the yolo extra were not installed.
_WITHOUT_YOLO = (
    "import runpy, sys\n"
    "for name in ('ultralytics', 'torch'):\n"
    "    sys.modules[name] = None  # import fails with ModuleNotFoundError, as when not installed\n"
    "sys.argv = sys.argv[1:]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n"
)


@pytest.mark.parametrize(
    ("name", "args"), [("ultralytics_to_trackmate.py", ("--frames", "30")), ("train_and_evaluate_yolo.py", ())]
)
def test_yolo_examples_without_the_extra_say_what_to_install(name, args):
    env = {**os.environ, "MPLBACKEND": "Agg", "YOLO_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", _WITHOUT_YOLO, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    )
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "pip install 'spermtrack[yolo]'" in lines[0] and name in lines[0], lines[0]
    assert proc.stdout == ""  # nothing simulated or trained before the message


def test_calibration_doc_snippet_measures_a_micrometer(tmp_path):
    """The stage-micrometer code in docs/calibration.md, run on synthetic micrometer photos."""
    text = (ROOT / "docs" / "calibration.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(import cv2\n.*?def um_per_px_from_micrometer.*?)```", text, re.S).group(1)
    code = code.split("\nprint(")[0]  # the example call on a file of the reader's
    namespace: dict = {}
    exec(compile(code, "docs/calibration.md", "exec"), namespace)
    measure = namespace["um_per_px_from_micrometer"]
    rng = np.random.default_rng(0)
    for true in (0.25, 0.31, 0.5, 0.7):
        x = np.arange(640) * true  # µm across the image
        d = np.abs(((x + 3.3) % 10.0) - 5.0)  # distance (µm) to the nearest line, lines every 10 µm
        line = np.exp(-0.5 * ((5.0 - d) / 0.4) ** 2)
        long_tick = (np.round((x + 3.3 - 5.0) / 10.0) % 5) == 0
        img = np.full((480, 640), 150.0) - 80 * line[None, :]
        img[:240] -= 40 * (line * long_tick)[None, :]
        img += rng.normal(0, 8, img.shape) + np.linspace(0, 30, 640)[None, :]
        img = cv2.GaussianBlur(img, (0, 0), 1.0)
        cv2.imwrite(str(tmp_path / "mic.png"), np.clip(img, 0, 255).astype(np.uint8))
        assert measure(tmp_path / "mic.png") == pytest.approx(true, rel=0.002)
        # the same scale turned by 90 degrees
        cv2.imwrite(str(tmp_path / "mic_h.png"), np.clip(img.T, 0, 255).astype(np.uint8))
        assert measure(tmp_path / "mic_h.png", lines="horizontal") == pytest.approx(true, rel=0.002)
