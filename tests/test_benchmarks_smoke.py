"""Every script in benchmarks/ runs at a tiny size, passes its own correctness checks and writes its JSON.

Each script runs in a child process (as a user runs it), with its smoke or size
flags, its output redirected into the test's temporary folder (never into
benchmarks/results/). A script that raises, exits non-zero (its built-in
assertions: equal identities of the two SORTs, references agreeing with casa(),
readers equal to ours...) or writes no JSON fails the test. The numbers of such
tiny runs mean nothing and are not checked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
VISEM_DATA = ROOT / "tests" / "data" / "visem"
HELPERS = {"_timing.py", "tracker_reference.py"}  # imported by the scripts, not scripts

#: script -> (arguments, where the JSON goes: "file" for --out FILE, "dir" for --out DIR, "slow").
#: ``{out}`` is replaced by the output path.
SCRIPTS: dict[str, tuple[list[str], str, bool]] = {
    "tracker_speed.py": (["--smoke", "--out", "{out}"], "file", False),
    "kinematics_speed.py": (["--smoke", "--out", "{out}"], "file", False),
    "io_speed.py": (["--smoke", "--out", "{out}"], "file", False),
    "kinematics_response.py": (["--out", "{out}"], "file", True),
    "kinematics_accuracy.py": (["--videos", "24", "--frames", "60", "--levels", "realistic", "--out", "{out}"], "file", True),
    "motility_share.py": (["--seeds", "1", "--frames", "60", "--out", "{out}"], "file", True),
    "simulator_speed.py": (["--quick", "--frames", "30", "--out", "{out}"], "dir", False),
    "simulator_realism.py": (
        ["--reference", str(VISEM_DATA), "--no-pixels", "--frames", "40", "--turnover-seeds", "1", "--out", "{out}"],
        "dir",
        True,
    ),
    "detector_speed.py": (["--quick", "--frames", "8", "--repeats", "1", "--out", "{out}"], "file", True),
    "eval_speed.py": (
        ["--frames", "40", "--objects", "8", "--repeats", "1", "--ref-repeats", "1", "--no-detection", "--out", "{out}"],
        "file",
        False,
    ),
    "pipeline_speed.py": (
        ["--frames", "16", "--density", "8", "--repeats", "1", "--detectors", "classical", "--no-save", "--out", "{out}"],
        "file",
        True,
    ),
    "batch_scaling.py": (["--videos", "2", "--frames", "12", "--density", "6", "--workers", "1", "--out", "{out}"], "file", True),
    "visem_benchmark.py": (["--split", "all", "--sim-videos", "1", "--sim-frames", "20", "--out", "{out}"], "file", True),
    "tracker_coldstart.py": (["--smoke", "--out", "{out}"], "file", False),
    "detector_looks.py": (["--quick", "--out", "{out}"], "file", True),
    "detector_scale.py": (["--quick", "--out", "{out}"], "file", True),
    "detector_robustness.py": (["--quick", "--out", "{out}"], "file", True),
    "detector_random_looks.py": (["--quick", "--out", "{out}"], "file", True),
    "overlay_analysis.py": (["--seeds", "1", "--frames", "30", "--out", "{out}"], "file", True),
    "look_steadiness.py": (["--seeds", "1", "--frames", "16", "--looks", "phase,bright", "--out", "{out}"], "file", False),
    "analysis_random_looks.py": (["--videos", "1", "--frames", "30", "--families", "phase", "--out", "{out}"], "file", True),
    "simulator_looks.py": (
        ["--frames", "2", "--real", str(ROOT / "tests" / "data" / "real_frames"), "--out", "{out}"],
        "dir",
        True,
    ),
    # tracker_accuracy.py and tracker_tuning.py through their own flags only
    "tracker_accuracy.py": (["--frames", "40", "--seeds", "1", "--out", "{out}"], "file", True),
    "tracker_tuning.py": (["--frames", "40", "--seeds", "1", "--variants", "[{}]", "--out", "{out}"], "file", True),
}


def test_every_benchmark_script_has_a_smoke_run():
    scripts = {p.name for p in BENCH.glob("*.py")} - HELPERS
    assert scripts <= set(SCRIPTS), f"add a smoke invocation for {sorted(scripts - set(SCRIPTS))}"


PARAMS = [  # the scripts of this tree (SCRIPTS may name one that another branch adds)
    pytest.param(name, id=name.removesuffix(".py"), marks=[pytest.mark.slow] if slow else [])
    for name, (_, _, slow) in SCRIPTS.items()
    if (BENCH / name).is_file()
]


def run_script(script: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run ``benchmarks/<script> args`` in a fresh interpreter from ``cwd`` (offline, no display) and check it succeeded."""
    env = {
        **os.environ,
        "MPLBACKEND": "Agg",
        "YOLO_OFFLINE": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    cmd = [sys.executable, str(BENCH / script), *args]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def argparse_error(script: str, argv: list[str], monkeypatch, capsys) -> str:
    """``benchmarks/<script>``'s ``main(argv)`` must stop as argparse does (exit 2); returns what it wrote to stderr."""
    monkeypatch.syspath_prepend(str(BENCH))
    module = __import__(script[:-3])
    with pytest.raises(SystemExit) as exc:
        module.main(argv)
    assert exc.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("script", PARAMS)
def test_benchmark_smoke(script, tmp_path):
    args, kind, _ = SCRIPTS[script]
    out = tmp_path / ("out" if kind == "dir" else "result.json")
    proc = run_script(script, [a.replace("{out}", str(out)) for a in args], tmp_path)
    written = sorted(out.glob("*.json")) if kind == "dir" else [out]
    assert written and all(p.is_file() for p in written), f"{script} wrote no JSON under {out}:\n{proc.stdout[-2000:]}"
    results = [json.loads(p.read_text()) for p in written]
    assert all(results), written
    if script == "tracker_speed.py" and os.environ.get("SPERMTRACK_REQUIRE_EXTRAS", "") not in ("", "0"):
        # CI installs the bench extra: the peers must have run, not been left out
        assert {"trackpy link", "ByteTrack (trackers)"} <= set(results[0]["rows"][0]["fps_cpu"]), results[0]["rows"][0]["fps_cpu"]


def test_detector_looks_label_tops_restored_moves_only_the_top_edge(monkeypatch):
    """The real frames' diagnostic row: each label's top edge goes up by the median (width - height)."""
    import numpy as np

    from spermtrack import Boxes

    monkeypatch.syspath_prepend(str(BENCH))
    import detector_looks

    labels = Boxes.from_xyxy([0, 0, 0], [[10, 10, 40, 30], [50, 50, 70, 66], [100, 3, 120, 30]])  # w - h: 10, 4, -7
    out = detector_looks.label_tops_restored(labels, [(None, labels)])
    np.testing.assert_allclose(out.y1, [6, 46, 0])  # raised by the median 4, never above the frame
    for edge in ("x1", "x2", "y2"):
        np.testing.assert_array_equal(getattr(out, edge), getattr(labels, edge))
    taller = Boxes.from_xyxy([0], [[0, 0, 10, 20]])  # labels taller than wide: nothing to restore
    np.testing.assert_array_equal(detector_looks.label_tops_restored(taller, [(None, taller)]).y1, taller.y1)


@pytest.mark.parametrize("script", ["detector_looks.py", "detector_robustness.py"])
def test_detector_benchmarks_refuse_an_unknown_column(script, monkeypatch, capsys):
    """``--detectors`` with a misspelt column stops with the valid names, before any frame is scored."""
    err = argparse_error(script, ["--detectors", "default,nope"], monkeypatch, capsys)
    assert "unknown column(s) ['nope']" in err and "default" in err


@pytest.mark.slow
def test_detector_robustness_scores_a_burnt_in_panel_with_and_without_the_mask(tmp_path):
    """``--cases`` picks the text-panel degradation; the optional ``unmasked`` column runs beside the default."""
    out = tmp_path / "panel.json"
    args = ["--quick", "--cases", "burnt-in text panel", "--detectors", "default,unmasked", "--out", str(out)]
    run_script("detector_robustness.py", args, tmp_path)
    (row,) = json.loads(out.read_text())["rows"].values()
    assert 0.0 <= row["unmasked"] <= 1.0 and row["default"] >= row["unmasked"]  # 0.635 against 0.613 (2026-12-06)
    assert row["sperm_boxes"] == 133  # every label counted; those under the panel are left out of the scoring only


@pytest.mark.slow
def test_detector_random_looks_scores_a_candidate_model(tmp_path):
    """``--model``: the candidate fills the default column, the warnings are not measured, the JSON names the model."""
    model = ROOT / "spermtrack" / "data" / "spermyolo_p3.onnx"
    out = tmp_path / "candidate.json"
    args = ["--quick", "--families", "phase", "--model", str(model), "--out", str(out)]
    proc = run_script("detector_random_looks.py", args, tmp_path)
    result = json.loads(out.read_text())
    assert result["model"] == str(model)
    (row,) = result["rows"]
    assert row["family"] == "phase" and 0.0 <= row["default"] <= 1.0 and row["warnings"] is None
    assert result["summary"]["all"]["poor_warned"] is None and result["summary"]["all"]["good_warned"] is None
    assert "n/a of" in proc.stdout


@pytest.mark.parametrize("script", ["detector_looks.py", "detector_random_looks.py"])
def test_detector_benchmarks_refuse_a_missing_model(script, monkeypatch, capsys):
    """``--model`` (one helper in detector_looks.py serves both scripts) names a missing file before any frame is scored."""
    err = argparse_error(script, ["--model", "no_such_model.onnx"], monkeypatch, capsys)
    assert "--model: no such file no_such_model.onnx" in err
