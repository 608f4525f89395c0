"""AnalysisConfig: one frozen, validated, serialisable settings object from the command line to summary.json."""

from __future__ import annotations

import csv
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from _pipeline_checks import simulated_folder

from spermtrack.analysis import AnalysisConfig, analyze
from spermtrack.analysis.config import CalibrationRequest, OutputOptions
from spermtrack.analysis.options import config_from_args, config_options
from spermtrack.cli import build_parser, main
from spermtrack.detect.spec import DetectorSpec
from spermtrack.errors import CalibrationError, FormatError, ParameterError
from spermtrack.kinematics import CasaConfig
from spermtrack.track import TrackerConfig


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 40-frame simulated VISEM video folder (10 sperm per frame) and its SimulatedVideo."""
    return simulated_folder(tmp_path_factory.mktemp("clip"), frames=40, seed=5, density=10.0)


def _custom() -> AnalysisConfig:
    return AnalysisConfig(
        detector=DetectorSpec.parse("classical", polarity="dark", head_px=21.0),
        tracker=TrackerConfig.from_dict({"min_track_s": 0.3}),
        casa=CasaConfig(smoothing_s=0.3, jump_speed=None),
        calibration=CalibrationRequest(um_per_px=0.31, fps=49.0),
        batch_size=4,
        max_frames=33,
        fastest_by="vcl",
        min_duration_s=0.5,
        top=2,
        chamber_depth_um=20.0,
        outputs=OutputOptions(overlay=False, opacity=0.5, trail_s=2.0, link_video=True, highlight=1),
    )


# ---------------------------------------------------------------------------- the object
def test_round_trip_through_json(tmp_path):
    config = _custom()
    d = config.to_dict()
    assert json.loads(json.dumps(d)) == d, "plain JSON values only"
    assert AnalysisConfig.from_dict(json.loads(json.dumps(d))) == config
    assert AnalysisConfig.from_json(config.to_json(tmp_path / "c.json")) == config
    assert AnalysisConfig.from_dict({}) == AnalysisConfig(), "missing keys take their defaults"
    assert AnalysisConfig(detector="yolo:a.pt").detector.path == "a.pt"
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.batch_size = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"batch_size": 0}, "--batch-size"),
        ({"batch_size": 2.5}, "--batch-size"),
        ({"max_frames": -3}, "--max-frames"),
        ({"fastest_by": "speed"}, "--rank-by"),
        ({"min_duration_s": float("nan")}, "--min-duration-s"),
        ({"top": -1}, "--top"),
        ({"chamber_depth_um": 0}, "--chamber-depth-um"),
        ({"outputs": {"opacity": 3}}, "--opacity"),
        ({"outputs": {"overlay": "yes"}}, "overlay"),
        ({"calibration": {"um_per_px": -0.2}}, "--um-per-px"),
        ({"calibration": {"um_per_px": 250.0}}, "plausible"),
        ({"calibration": {"um_per_px": 0.3, "visem_calibration": True}}, "not both"),
        ({"calibration": {"fps": 0}}, "--fps"),
        ({"detector": "magic"}, "unknown detector"),
        ({"detector": "yolo"}, "weights path"),
        ({"detector": {"name": "gt", "polarity": "dark"}}, "--polarity"),
        ({"detector": {"name": "classical", "conf": 0.2}}, "--conf"),
        ({"tracker": {"no_such": 1}}, "no_such"),
        ({"casa": {"smoothing_s": -1}}, "smoothing_s"),
        ({"colour": "red"}, "unknown AnalysisConfig setting"),
        ({"outputs": {"font": 3}}, "unknown OutputOptions setting"),
    ],
)
def test_bad_values_raise_one_line_parameter_errors(changes, words):
    with pytest.raises(ParameterError) as err:
        AnalysisConfig.from_dict(changes)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_calibration_errors_are_calibration_errors_too():
    from spermtrack import Calibration

    with pytest.raises(CalibrationError):
        CalibrationRequest(um_per_px=0.3, visem_calibration=True)
    # a Calibration(..., strict=False) given to analyze() is recorded as it is, and read back
    loose = AnalysisConfig(calibration=CalibrationRequest.of(Calibration(250.0, 50.0, strict=False)))
    assert AnalysisConfig.from_dict(loose.to_dict()) == loose and loose.calibration.strict is False


def test_updated_changes_nested_settings_only():
    config = _custom().updated({"calibration": {"fps": 25.0}, "tracker": {"min_track_s": 0.2}, "batch_size": 2})
    assert config.calibration == CalibrationRequest(um_per_px=0.31, fps=25.0)
    assert config.tracker.min_track_s == 0.2 and config.batch_size == 2
    assert config.casa == _custom().casa and config.detector == _custom().detector


# ---------------------------------------------------------------------------- the command line
def _subparser(verb: str):
    parser = build_parser()
    action = next(a for a in parser._subparsers._group_actions if verb in a.choices)
    return parser, action.choices[verb]


def test_every_field_has_a_flag_in_analyze_and_batch_help():
    for verb in ("analyze", "batch"):
        _, sub = _subparser(verb)
        text = sub.format_help()
        for opt in config_options(AnalysisConfig):
            assert opt.flag in text, (verb, opt.path)
            assert "(default:" in opt.field.metadata.get("help", "") + " (default:", opt.path
    # every option of the help text says its default once
    _, sub = _subparser("analyze")
    for action in sub._actions:
        if action.help not in (None, "==SUPPRESS==") and action.option_strings and action.dest not in ("help", "quiet"):
            assert action.help.count("default") >= 1, action.option_strings
            assert action.help.count("(default:") <= 1, action.option_strings


def test_a_new_field_reaches_analyze_and_batch_without_other_edits(monkeypatch, capsys):
    """The promise of issue 15: an option is added in one config class and nowhere else."""
    import spermtrack.analysis.config as config_module

    @dataclass(frozen=True)
    class Extended(AnalysisConfig):
        gain_db: float = field(default=0.0, metadata={"flag": "--gain-db", "metavar": "G", "help": "camera gain", "min": 0})

    monkeypatch.setattr(config_module, "AnalysisConfig", Extended)
    for verb in ("analyze", "batch"):
        _, sub = _subparser(verb)
        assert "--gain-db G" in sub.format_help()
    args = build_parser().parse_args(["analyze", "x.mp4", "--gain-db", "6", "--batch-size", "3"])
    config = config_from_args(args, Extended)
    assert isinstance(config, Extended) and config.gain_db == 6.0 and config.batch_size == 3
    assert Extended.from_dict(config.to_dict()) == config and config.to_dict()["gain_db"] == 6.0
    # validated from its default's type and its metadata, with no code of its own
    for bad in ("loud", -1.0, float("inf")):
        with pytest.raises(ParameterError, match="--gain-db"):
            Extended(gain_db=bad)


def test_flags_build_the_config(tmp_path, capsys):
    tracker = tmp_path / "t.json"
    tracker.write_text(json.dumps({"min_track_s": 0.3}))
    args = build_parser().parse_args(
        [
            "analyze",
            "x.mp4",
            "--detector",
            "Classical",
            "--polarity",
            "dark",
            "--um-per-px",
            "0.3",
            "--fps",
            "25",
            "--batch-size",
            "4",
            "--max-frames",
            "20",
            "--rank-by",
            "vap",
            "--chamber-depth-um",
            "20",
            "--no-video",
            "--link-video",
            "--trail",
            "2.5",
            "--tracker-config",
            str(tracker),
        ]
    )
    config = config_from_args(args)
    assert "--trail is deprecated" in capsys.readouterr().err and config.outputs.trail_s == 2.5
    assert config.detector == DetectorSpec("classical", polarity="dark")
    assert config.calibration == CalibrationRequest(um_per_px=0.3, fps=25.0)
    assert (config.batch_size, config.max_frames, config.fastest_by, config.chamber_depth_um) == (4, 20, "vap", 20.0)
    assert config.outputs.overlay is False and config.outputs.link_video is True and config.outputs.report is True
    assert config.tracker == TrackerConfig.from_dict({"min_track_s": 0.3})
    assert config_from_args(build_parser().parse_args(["analyze", "x.mp4"])) == AnalysisConfig()


def test_config_file_with_flags_on_top(tmp_path):
    path = _custom().to_json(tmp_path / "c.json")
    args = build_parser().parse_args(
        ["batch", "v", "-o", "o", "--config", str(path), "--batch-size", "2", "--max-frames", "none"]
    )
    config = config_from_args(args)
    assert config == _custom().replace(batch_size=2, max_frames=None)


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--batch-size", "0"], "--batch-size"),
        (["--chamber-depth-um", "-5"], "--chamber-depth-um"),
        (["--detector", "gt", "--polarity", "dark"], "--polarity"),
        (["--tracker-config", "missing.json"], "missing.json"),
        (["--config", "missing.json"], "missing.json"),
        (["--um-per-px", "0.3", "--visem-calibration"], "not both"),
    ],
)
def test_bad_flags_exit_1_with_one_line(tmp_path, capsys, argv, words, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "v.mp4").write_bytes(b"")
    assert main(["analyze", "v.mp4", "-o", "out", *argv]) == 1
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_config_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"batch_size": 0}')
    with pytest.raises(FormatError, match=r"bad\.json.*--batch-size"):
        AnalysisConfig.from_json(bad)
    old = tmp_path / "summary.json"
    old.write_text('{"spermtrack_version": "0.0.1"}')
    with pytest.raises(FormatError, match="records no config"):
        AnalysisConfig.from_json(old)


# ---------------------------------------------------------------------------- end to end
def _read(path: Path) -> bytes:
    return path.read_bytes()


def test_config_summary_reproduces_a_result_exactly(clip, tmp_path, capsys):
    folder, _ = clip
    first, again = tmp_path / "first", tmp_path / "again"
    flags = ["--detector", "classical", "--um-per-px", "0.3", "--max-frames", "30", "--batch-size", "4", "--rank-by", "vcl"]
    flags += ["--chamber-depth-um", "20", "--min-duration-s", "0.2", "--no-video", "--no-report", "-q"]
    assert main(["analyze", str(folder), "-o", str(first), *flags]) == 0
    out = capsys.readouterr().out
    assert f"Results: {first}" in out and "Report:" not in out, "--no-report writes no report and says so"
    summary = json.loads((first / "summary.json").read_text())
    config = AnalysisConfig.from_dict(summary["config"])
    assert config.detector.name == "classical" and config.calibration.um_per_px == 0.3 and config.batch_size == 4
    assert main(["analyze", str(folder), "-o", str(again), "--config", str(first / "summary.json"), "-q"]) == 0
    for name in ("tracks.txt", "kinematics.csv", "track_ids.csv"):
        assert _read(first / name) == _read(again / name), name
    assert json.loads((again / "summary.json").read_text())["config"] == summary["config"]
    assert sorted(p.name for p in (first / "labels_ftid").iterdir()) == sorted(p.name for p in (again / "labels_ftid").iterdir())
    # a flag given on the command line overrides the file: another result
    capsys.readouterr()
    assert main(["analyze", str(folder), "-o", str(again), "--config", str(first), "--max-frames", "20", "-q"]) == 0
    changed = json.loads((again / "summary.json").read_text())
    assert changed["config"]["max_frames"] == 20 and changed["video"]["num_frames"] == 20


def test_concentration_from_depth_and_calibration(clip, tmp_path):
    folder, sim = clip
    a = analyze(folder, detector="gt", calibration=sim.calibration, chamber_depth_um=20.0, max_frames=20)
    c = a.summary["concentration"]
    w, h = a.image_size
    sperm = int((a.tracks.cls == 0).sum())
    assert c["mean_cells_per_frame"] == pytest.approx(sperm / 20)
    assert c["field_area_um2"] == pytest.approx(w * h * sim.calibration.um_per_px**2)
    assert c["per_ml_millions"] == pytest.approx(sperm / 20 / (c["field_area_um2"] * 20.0) * 1e12 / 1e6)
    assert 1 < c["per_ml_millions"] < 1000, "a VISEM-like density is tens of millions per mL"
    no_depth = analyze(folder, detector="gt", calibration=sim.calibration, max_frames=20).summary["concentration"]
    assert no_depth["per_ml_millions"] is None and "--chamber-depth-um" in no_depth["note"]
    uncal = analyze(folder, detector="gt", chamber_depth_um=20.0, max_frames=20).summary["concentration"]
    assert uncal["per_ml_millions"] is None and uncal["field_area_um2"] is None and "uncalibrated" in uncal["note"]


def test_old_keywords_map_onto_the_config(clip):
    folder, _ = clip
    a = analyze(
        folder,
        detector="gt",
        um_per_px=0.3,
        fps=40.0,
        max_frames=12,
        batch_size=5,
        fastest_by="vap",
        min_duration_s=0.1,
        tracker={"min_track_s": 0.2},
        kinematics_options={"smoothing_s": 0.3},
    )
    c = a.config
    assert c.detector.name == "gt" and c.calibration == CalibrationRequest(um_per_px=0.3, fps=40.0)
    assert (c.max_frames, c.batch_size, c.fastest_by, c.min_duration_s) == (12, 5, "vap", 0.1)
    assert c.tracker.min_track_s == 0.2 and c.casa.smoothing_s == 0.3
    assert a.num_frames == 12 and a.calibration.fps == 40.0
    b = analyze(folder, c)
    assert np.array_equal(a.tracks.track_id, b.tracks.track_id) and a.kinematics.equals(b.kinematics)
    with pytest.raises(ParameterError, match="--batch-size"):
        analyze(folder, detector="gt", batch_size=0)
    with pytest.raises(TypeError, match="unknown setting"):
        analyze(folder, colour="red")


def test_track_ids_csv_maps_labels_ftid_to_track_numbers(clip, tmp_path):
    folder, sim = clip
    a = analyze(folder, detector="gt", calibration=sim.calibration, max_frames=25)
    a.save(tmp_path / "r", overlay=False, report=False)
    with open(tmp_path / "r" / "track_ids.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    mapping = {r["labels_ftid_id"]: int(r["track_id"]) for r in rows}
    assert sorted(mapping.values()) == a.tracks.unique_tracks().tolist()
    w = a.image_size[0]
    checked = 0
    for path in sorted((tmp_path / "r" / "labels_ftid").iterdir()):
        frame = int(path.name.split("_frame_")[1].split("_")[0])
        rows_f = a.tracks.frame_slice(frame)
        by_id = dict(zip(a.tracks.track_id[rows_f].tolist(), (a.tracks.cx[rows_f] / w).tolist()))
        for line in path.read_text().splitlines():
            name, _, cx, *_ = line.split()
            assert by_id[mapping[name]] == pytest.approx(float(cx), abs=1e-6)
            checked += 1
    assert checked == len(a.tracks)


@pytest.mark.slow
def test_batch_ships_the_config_to_workers(clip, tmp_path):
    pytest.importorskip("distributed")
    from spermtrack.batch import run_batch

    folder, _ = clip
    config = AnalysisConfig(
        detector="classical", calibration={"um_per_px": 0.3}, max_frames=10, chamber_depth_um=10.0, outputs={"overlay": False}
    )
    res = run_batch([folder], tmp_path / "b", config, workers=1, progress=False)
    assert res.counts == {"done": 1}, res.summary["error"].tolist()
    summary = json.loads((tmp_path / "b" / folder.name / "summary.json").read_text())
    assert summary["config"] == config.to_dict()
    assert summary["concentration"]["chamber_depth_um"] == 10.0
    # the batch command builds the same config from its flags
    argv = ["batch", str(folder), "-o", str(tmp_path / "b"), "--workers", "1", "-q", "--detector", "classical"]
    argv += ["--um-per-px", "0.3", "--max-frames", "10", "--chamber-depth-um", "10", "--no-video"]
    assert main(argv) == 0
    assert read_status(tmp_path / "b" / "summary.csv") == ["skipped"], "same settings from flags: up to date"


def read_status(path: Path) -> list[str]:
    with open(path, newline="") as fh:
        return [r["status"] for r in csv.DictReader(fh)]


def test_building_the_command_line_imports_no_numba():
    """The options come from the config's fields without importing the tracker or the kinematics (fast --help)."""
    import subprocess
    import sys

    code = (
        "import sys; from spermtrack.cli import build_parser; build_parser(); "
        "print(sorted(m for m in ('spermtrack.track', 'spermtrack.kinematics', 'numba') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_no_progress_bars_when_stderr_is_not_a_terminal_and_analyse_is_an_alias(clip, tmp_path, capsys):
    folder, _ = clip
    argv = ["analyse", str(folder), "-o", str(tmp_path / "r"), "--detector", "gt", "--max-frames", "12"]
    assert main([*argv, "--no-video", "--no-report", "--top", "1"]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err, "no carriage returns in a log file"
    assert "12 frames" in err, "the summary lines are still printed without -q"
