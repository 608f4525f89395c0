"""Every CLI verb, fed bad input, ends with exit code 1 and one line on stderr, never a traceback.

The verbs are listed from the parser itself, so a new verb is covered: one with a
positional input gets the generic "missing file" case automatically, and the test
fails for any verb without a hand-written case below. Also: the one command-line
grammar (old spellings still work, with a deprecation warning), the help texts, the
``analyse`` alias, progress bars only on a terminal, and ``evaluate``'s warning when
ground truth and hypothesis come from different videos.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spermtrack.cli import build_parser, main

REPO = Path(__file__).resolve().parents[1]
VID = "sim0000"


def verb_parsers() -> dict[str, argparse.ArgumentParser]:
    """Every verb name (aliases included) and its parser, from the parser itself."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def canonical_verbs() -> list[str]:
    """One name per verb (aliases left out)."""
    seen, out = set(), []
    for name, p in verb_parsers().items():
        if id(p) not in seen:
            seen.add(id(p))
            out.append(name)
    return out


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """Inputs good and bad: a tiny video, a corrupt one, an empty folder, a VISEM root, bad text files."""
    return make_data(tmp_path_factory.mktemp("badcli"))


def make_data(d: Path) -> Path:
    """Write the inputs of :func:`cases` into ``d``."""
    import cv2

    rng = np.random.default_rng(0)
    writer = cv2.VideoWriter(str(d / "good.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (64, 48))
    for _ in range(8):
        writer.write(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    writer.release()
    (d / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + rng.integers(0, 255, 3000, dtype=np.uint8).tobytes())
    (d / "empty").mkdir()
    (d / "afile").write_text("not a folder\n")
    (d / "garbage.txt").write_bytes(b"\xff\xfe\x00\x81 binary \x00\x9c\n")
    (d / "dets.txt").write_text("1,-1,10,10,20,20,0.9,0,-1,-1\n2,-1,12,11,20,20,0.9,0,-1,-1\n")
    (d / "tracks.txt").write_text("1,1,10,10,20,20,1,0,-1,-1\n2,1,12,11,20,20,1,0,-1,-1\n")
    (d / "bad_line.txt").write_text("1,-1,10,10,20,20,0.9,0,-1,-1\n2,-1,12,eleven,20,20,0.9,0,-1,-1\n")
    (d / "bad_config.json").write_text('{"not_a_setting": 3}\n')
    assert main(["simulate", str(d / "root"), "--videos", "1", "--frames", "6", "--no-mp4", "-q", "--size", "96x64"]) == 0
    import shutil

    shutil.copytree(d / "root", d / "badroot")
    for label in (
        d / "badroot" / VID / "labels" / f"{VID}_frame_2.txt",
        d / "badroot" / VID / "labels_ftid" / f"{VID}_frame_2_with_ftid.txt",
    ):
        label.write_text(label.read_text() + "0 0.5 0.5 wide 0.1 7\n")
    return d


def cases(d: Path) -> dict[str, list[list[str]]]:
    """Bad inputs per verb (argv after the verb); each must end with exit code 1."""
    out = str(d / "out")
    missing = str(d / "missing.mp4")
    return {
        "analyze": [
            [missing, "-o", out],
            [str(d / "corrupt.mp4"), "-o", out],
            [str(d / "empty"), "-o", out],
            [str(d / "good.avi"), "-o", out, "--fps", "-1"],
            [str(d / "good.avi"), "-o", out, "--um-per-px", "-1"],
            [str(d / "good.avi"), "-o", str(d / "afile" / "x")],
            [str(d / "badroot" / VID), "-o", out, "--detector", "gt"],
        ],
        "analyse": [[missing, "-o", out]],
        "batch": [[missing, "-o", out], [str(d / "empty"), "-o", out]],
        "pseudo-label": [[missing, "-o", out], [str(d / "empty"), "-o", out]],
        "clip": [
            [missing, "-o", out],
            [str(d / "corrupt.mp4"), "-o", out],
            [str(d / "good.avi"), "-o", out, "--seconds", "-1"],
            [str(d / "good.avi"), "-o", out, "--seconds", "inf"],
            [str(d / "good.avi"), "-o", out, "--fps", "1e7"],
        ],
        "demo": [
            ["-o", str(d / "afile" / "demo")],
            ["-o", out, "--frames", "-1"],
            ["-o", out, "--density", "-5"],
            ["-o", out, "--density", "1e9"],
        ],
        "simulate": [
            [str(d / "afile" / "sim"), "--frames", "2", "--videos", "1", "--no-mp4"],
            [out, "--fps", "-1", "--frames", "2", "--videos", "1", "--no-mp4"],
            [out, "--um-per-px", "-1", "--frames", "2"],
            [out, "--head-px", "1000", "--frames", "2"],
            ["--frames", "2"],
        ],
        "track": [
            [str(d / "missing.txt"), "--fps", "50", "-o", f"{out}.txt"],
            [str(d / "garbage.txt"), "--fps", "50", "-o", f"{out}.txt"],
            [str(d / "bad_line.txt"), "--fps", "50", "-o", f"{out}.txt"],
            [str(d / "empty"), "--fps", "50", "-o", f"{out}.txt"],
            [str(d / "dets.txt"), "--fps", "-1", "-o", f"{out}.txt"],
            [str(d / "dets.txt"), "--fps", "1e9", "-o", f"{out}.txt"],
            [str(d / "dets.txt"), "--fps", "0.0001", "-o", f"{out}.txt"],
            [str(d / "dets.txt"), "--fps", "50", "-o", f"{out}.txt", "--tracker-config", str(d / "bad_config.json")],
            [str(d / "dets.txt"), "--fps", "50", "-o", f"{out}.txt", "--num-frames", "-3"],
        ],
        "evaluate": [
            [str(d / "missing.txt"), str(d / "dets.txt")],
            [str(d / "dets.txt"), str(d / "bad_line.txt")],
            [str(d / "dets.txt"), str(d / "garbage.txt")],
            [str(d / "empty"), str(d / "dets.txt")],
            [str(d / "root" / VID), str(d / "badroot" / VID)],
            [str(d / "dets.txt"), str(d / "dets.txt"), "--iou", "2"],
        ],
        "detect": [
            [missing, "-o", f"{out}.txt"],
            [str(d / "corrupt.mp4"), "-o", f"{out}.txt"],
            [str(d / "empty"), "-o", f"{out}.txt"],
            [str(d / "good.avi"), "-o", f"{out}.txt", "--batch-size", "0", "--detector", "classical"],
            [str(d / "good.avi"), "-o", f"{out}.txt", "--detector", "yolo:" + str(d / "missing.pt")],
            [str(d / "good.avi"), "-o", f"{out}.txt", "--detector", "nonsense"],
        ],
        "detect-eval": [
            [str(d / "missing")],
            [str(d / "empty")],
            [str(d / "badroot"), "--detector", "classical", "--split", "all"],
            [str(d / "root"), "--detector", "classical", "--split", "all", "--batch-size", "0"],
            [str(d / "root"), "--detector", "gt", "--split", "all", "--miss", "2"],
            [str(d / "root"), "--detector", "gt-noisy", "--split", "all", "--fp-per-frame", "1e9"],
        ],
        "train": [[str(d / "missing")], [str(d / "empty")], [str(d / "root"), "--split", "fold:x"]],
        "stats": [
            [str(d / "missing"), "-o", out],
            [str(d / "empty"), "-o", out],
            [str(d / "badroot"), "-o", out],
        ],
        "verify": [[str(d / "missing")], [str(d / "empty")], [str(d / "afile")]],
    }


def generic_case(parser: argparse.ArgumentParser, d: Path) -> list[str] | None:
    """The first positional is a path under a file (neither readable nor writable); required options get values."""
    hooks = parser.get_default("_alias_hooks") or {"_required": []}
    required = {dest for dest, _ in hooks["_required"]}
    argv: list[str] = []
    positional = False
    for action in parser._actions:
        if not action.option_strings:
            if not positional:
                argv.append(str(d / "afile" / "missing-input.mp4"))
                positional = True
            elif action.nargs not in ("?", "*"):
                argv.append(str(d / "dets.txt"))
        elif action.required or action.dest in required:
            argv += [action.option_strings[0], "50" if action.type in (float, int) else str(d / "out-generic")]
    return argv if positional else None


def run_main(capsys, argv: list[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors only
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(verb: str, argv: list[str], code: int, err: str) -> None:
    shown = f"{verb} {' '.join(argv)}"
    assert code == 1, f"{shown}: exit code {code}, stderr:\n{err}"
    assert "Traceback" not in err and "internal error" not in err, f"{shown}:\n{err}"
    errors = [ln for ln in err.splitlines() if ": error: " in ln]
    assert len(errors) == 1, f"{shown}: expected one error line, got:\n{err}"
    others = [ln for ln in err.splitlines() if ln not in errors and ln.strip()]
    assert all(ln.startswith("spermtrack ") and (": warning: " in ln or ": note: " in ln) for ln in others), (
        f"{shown}: stray stderr lines:\n{err}"
    )
    assert len(errors[0]) < 1500, f"{shown}: error line too long: {errors[0]}"


def test_every_verb_has_bad_input_cases(data):
    known = cases(data)
    missing = [v for v in verb_parsers() if v not in known and generic_case(verb_parsers()[v], data) is None]
    assert not missing, f"verbs without a bad-input case in tests/test_cli_bad_input.py: {missing}"
    assert {"analyze", "analyse", "batch", "track", "detect", "evaluate", "simulate"} <= set(verb_parsers())


#: Cases that fail today in files owned elsewhere: (verb, index in cases()) -> why. Strict: remove once fixed.
KNOWN_FAILURES = {}


def all_cases() -> list:
    """(verb, index) of every hand-written case, then (verb, None) for every verb's generic case."""
    d = Path("/nonexistent")
    params = []
    for verb, argvs in cases(d).items():
        for i in range(len(argvs)):
            why = KNOWN_FAILURES.get((verb, i))
            marks = [pytest.mark.xfail(reason=why, strict=True)] if why else []
            params.append(pytest.param(verb, i, id=f"{verb}-{i}", marks=marks))
    for verb, parser in verb_parsers().items():
        if generic_case(parser, d) is not None:
            params.append(pytest.param(verb, None, id=f"{verb}-missing-input"))
    return params


@pytest.mark.parametrize(("verb", "index"), all_cases())
def test_bad_input_is_one_line_and_exit_1(verb, index, data, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SPERMTRACK_DEBUG", raising=False)
    argv = generic_case(verb_parsers()[verb], data) if index is None else cases(data)[verb][index]
    code, _, err = run_main(capsys, [verb, *argv])
    assert_one_line_error(verb, argv, code, err)


def test_subprocess_no_traceback_and_debug_shows_it(data):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("SPERMTRACK_DEBUG", None)
    argv = [sys.executable, "-m", "spermtrack", "track", str(data / "bad_line.txt"), "--fps", "50", "-o", str(data / "t.txt")]
    r = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "bad_line.txt" in r.stderr and "line 2" in r.stderr, r.stderr
    r = subprocess.run(argv, capture_output=True, text=True, env={**env, "SPERMTRACK_DEBUG": "1"}, timeout=120)
    assert r.returncode == 1 and "Traceback" in r.stderr and "FormatError" in r.stderr


def track_raising(monkeypatch, exc: BaseException) -> None:
    """Make ``spermtrack track`` raise ``exc`` (in place of its work), with no debug traceback."""
    import spermtrack.cli as cli

    def raising(args):
        raise exc

    real = cli.build_parser

    def patched():
        p = real()
        next(a for a in p._actions if isinstance(a, argparse._SubParsersAction)).choices["track"].set_defaults(func=raising)
        return p

    monkeypatch.setattr(cli, "build_parser", patched)
    monkeypatch.delenv("SPERMTRACK_DEBUG", raising=False)


def test_a_bug_is_one_line_unless_debugging(monkeypatch, capsys, data):
    track_raising(monkeypatch, KeyError("bug"))
    argv = ["track", str(data / "dets.txt"), "--fps", "50", "-o", str(data / "t.txt")]
    code, _, err = run_main(capsys, argv)
    assert code == 1 and "internal error: KeyError" in err and "SPERMTRACK_DEBUG=1" in err and len(err.splitlines()) == 1
    monkeypatch.setenv("SPERMTRACK_DEBUG", "1")
    with pytest.raises(KeyError):
        main(argv)


def test_out_of_memory_is_one_line_with_what_to_do(monkeypatch, capsys, data):
    """A MemoryError is not a bug to report but a run too large for the machine: say so, in one line."""
    track_raising(monkeypatch, MemoryError("Unable to allocate 6.00 GiB for an array with shape (8192, 8192, 3, 4)"))
    code, _, err = run_main(capsys, ["track", str(data / "dets.txt"), "--fps", "50", "-o", str(data / "t.txt")])
    assert code == 1 and len(err.splitlines()) == 1, err
    assert "error: out of memory (Unable to allocate 6.00 GiB" in err and "internal error" not in err


# ------------------------------------------------------------------------------------- grammar


def test_old_and_new_spellings(data, capsys, tmp_path):
    new = ["track", str(data / "dets.txt"), "--fps", "50", "-o", str(tmp_path / "new.txt"), "-q"]
    cfg = tmp_path / "cfg.json"
    cfg.write_text("{}\n")
    code, _, err = run_main(capsys, [*new, "--tracker-config", str(cfg)])
    assert code == 0 and "deprecated" not in err
    old = ["track", "--detections", str(data / "dets.txt"), "--fps", "50", "--out", str(tmp_path / "old.txt"), "-q"]
    code, _, err = run_main(capsys, [*old, "--config", str(cfg)])
    assert code == 0
    assert "--detections is deprecated" in err and "--config is deprecated" in err and "--tracker-config" in err
    assert (tmp_path / "old.txt").read_text() == (tmp_path / "new.txt").read_text()
    # both spellings of the input at once, or neither: usage errors (exit 2)
    code, _, err = run_main(
        capsys, ["track", str(data / "dets.txt"), "--detections", str(data / "bad_line.txt"), "--fps", "50", "-o", "x.txt"]
    )
    assert code == 2 and "once" in err
    code, _, err = run_main(capsys, ["track", "--fps", "50", "-o", "x.txt"])
    assert code == 2 and "required" in err


def test_old_output_and_batch_spellings(data, capsys, tmp_path):
    base = ["detect", str(data / "good.avi"), "--detector", "classical", "-q"]
    code, _, err = run_main(capsys, [*base, "-o", str(tmp_path / "a.txt"), "--batch-size", "4"])
    assert code == 0 and "deprecated" not in err
    code, _, err = run_main(capsys, [*base, "--output", str(tmp_path / "b.txt"), "--batch", "4"])
    assert code == 0 and "--output is deprecated" in err and "--batch is deprecated" in err
    assert (tmp_path / "a.txt").read_text() == (tmp_path / "b.txt").read_text()
    code, _, err = run_main(capsys, base)  # no output at all
    assert code == 2 and "required" in err and "-o/--out" in err
    for verb_argv in (
        ["evaluate", str(data / "tracks.txt"), str(data / "tracks.txt"), "--json"],
        ["detect-eval", str(data / "root"), "--detector", "gt", "--split", "all", "--json", "-q"],
    ):
        code, _out_new, _ = run_main(capsys, [*verb_argv, "-o", str(tmp_path / "n.json")])
        assert code == 0
        code, _out_old, err = run_main(capsys, [*verb_argv, "--output", str(tmp_path / "o.json")])
        assert code == 0 and "--output is deprecated" in err
        new, old = (json.loads((tmp_path / f"{n}.json").read_text()) for n in "no")
        for timing in ("frames_per_s", "seconds"):  # wall-clock measurements differ from run to run
            new.pop(timing, None), old.pop(timing, None)
        assert new == old


def test_simulate_output_positional_or_option(tmp_path, capsys):
    args = ["--videos", "1", "--frames", "2", "--no-mp4", "-q", "--size", "32x32"]
    assert run_main(capsys, ["simulate", "-o", str(tmp_path / "a"), *args])[0] == 0
    assert run_main(capsys, ["simulate", str(tmp_path / "b"), *args])[0] == 0
    assert (tmp_path / "a" / VID / "labels").is_dir() and (tmp_path / "b" / VID / "labels").is_dir()
    code, _, err = run_main(capsys, ["simulate", str(tmp_path / "c"), "-o", str(tmp_path / "d"), *args])
    assert code == 1 and "once" in err


def test_analyse_is_an_alias_of_analyze(capsys):
    parsers = verb_parsers()
    assert parsers["analyse"] is parsers["analyze"]
    with pytest.raises(SystemExit) as exc:
        main(["analyse", "--help"])
    assert exc.value.code == 0 and "--tracker-config" in capsys.readouterr().out


OWNED = ("detect", "detect-eval", "evaluate", "track", "simulate", "stats", "train", "verify")


@pytest.mark.parametrize("verb", OWNED)
def test_every_option_has_help_and_one_default(verb):
    parser = verb_parsers()[verb]
    formatter = parser._get_formatter()
    for action in parser._actions:
        if action.help == argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{verb} {action.option_strings or action.dest}: no help"
        text = formatter._get_help_string(action) % {"default": action.default, "prog": parser.prog}
        n = len(re.findall(r"\(default|(?<!\()\bdefault:", text.lower()))
        assert n <= 1, f"{verb} {action.option_strings}: default shown {n} times: {text}"
        if action.option_strings and action.default not in (None, False, argparse.SUPPRESS):
            assert n == 1, f"{verb} {action.option_strings}: default {action.default!r} not shown: {text}"


def test_same_settings_same_names():
    parsers = verb_parsers()
    for verb in ("detect", "detect-eval", "evaluate", "track", "stats", "train", "simulate"):
        opts = {o for a in parsers[verb]._actions if a.help != argparse.SUPPRESS for o in a.option_strings}
        assert {"-o", "--out"} <= opts, verb
        assert not opts & {"--output", "--batch", "--detections", "--config"}, verb
    for verb in ("detect", "detect-eval", "train"):
        assert any("--batch-size" in a.option_strings for a in parsers[verb]._actions), verb
    track = parsers["track"]
    assert any("--tracker-config" in a.option_strings for a in track._actions)
    assert [a.dest for a in track._actions if not a.option_strings and a.dest != "help"] == ["source"]
    helps = {v: parsers[v]._option_string_actions["--detector"].help for v in ("detect", "detect-eval")}
    # one text; detect leaves out the ground-truth detectors it refuses (it writes detections, not labels)
    assert helps["detect-eval"].startswith(helps["detect"]) and "gt" in helps["detect-eval"] and "gt" not in helps["detect"]


# ------------------------------------------------------------------------------------- progress


LOGGED_RUNS = {
    "detect": ["detect", "{d}/good.avi", "--detector", "classical", "-o", "{t}/d.txt"],
    "stats": ["stats", "{d}/root", "-o", "{t}/stats"],
    "simulate": ["simulate", "{t}/sim", "--videos", "1", "--frames", "3", "--no-mp4", "--size", "32x32"],
    "analyze": ["analyze", "{d}/good.avi", "--detector", "classical", "-o", "{t}/an", "--no-video", "--no-report"],
}


@pytest.mark.parametrize(
    "name",
    list(LOGGED_RUNS),
)
def test_no_carriage_returns_in_log_files(name, data, tmp_path):
    """With stderr to a file (not a terminal) the verbs draw no progress bars: no '\\r' in the log."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    argv = [a.format(d=data, t=tmp_path) for a in LOGGED_RUNS[name]]
    log = tmp_path / f"{name}.log"
    with open(log, "wb") as fh:
        r = subprocess.run([sys.executable, "-m", "spermtrack", *argv], stdout=fh, stderr=fh, env=env, timeout=300)
    text = log.read_bytes()
    assert r.returncode == 0, text.decode(errors="replace")
    assert b"\r" not in text, f"{name}: carriage return in the log: {text[:300]!r}"


def test_progress_shown_on_a_terminal(monkeypatch):
    from spermtrack.cli import show_progress

    args = argparse.Namespace(quiet=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert show_progress(args)
    assert not show_progress(argparse.Namespace(quiet=True))
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert not show_progress(args)


# ------------------------------------------------------------------------------------- evaluate


def test_evaluate_warns_on_another_videos_tracks(tmp_path, capsys):
    """Issue 16 item 9: scoring the tracks of one simulated video against another's labels says so."""
    from spermtrack.io.mot import write_mot
    from spermtrack.simulate import simulate_video

    a = simulate_video(1, num_frames=60, density=15).boxes
    b = simulate_video(2, num_frames=60, density=15).boxes
    write_mot(tmp_path / "a.txt", a, with_class=True)
    write_mot(tmp_path / "b.txt", b, with_class=True)
    code, out, err = run_main(
        capsys, ["evaluate", str(tmp_path / "a.txt"), str(tmp_path / "b.txt"), "--json", "-o", str(tmp_path / "s.json")]
    )
    assert code == 0
    warn_lines = [ln for ln in err.splitlines() if "warning" in ln]
    assert len(warn_lines) == 1 and "same video" in warn_lines[0] and "overlap" in warn_lines[0], err
    result = json.loads(out)
    assert result["warnings"] and "same video" in result["warnings"][0]
    assert json.loads((tmp_path / "s.json").read_text())["warnings"] == result["warnings"]
    # the right video: no warning
    code, out, err = run_main(capsys, ["evaluate", str(tmp_path / "a.txt"), str(tmp_path / "a.txt"), "--json"])
    assert code == 0 and "warning" not in err and "warnings" not in json.loads(out)
    # a hypothesis covering a third of the frames
    write_mot(tmp_path / "part.txt", a.filter(a.frame < 20), with_class=True)
    code, out, err = run_main(capsys, ["evaluate", str(tmp_path / "a.txt"), str(tmp_path / "part.txt"), "--json"])
    assert code == 0 and "20 of the 60 ground-truth frames" in err


def test_evaluate_api_warning():
    from spermtrack.errors import EvaluationWarning
    from spermtrack.evaluate import tracking
    from spermtrack.simulate import simulate_video

    a = simulate_video(3, num_frames=30, density=15).boxes
    b = simulate_video(4, num_frames=30, density=15).boxes
    with pytest.warns(EvaluationWarning, match="same video"):
        s = tracking(a, b)
    assert len(s.warnings) == 1 and s.to_dict()["warnings"] == list(s.warnings)
    assert tracking(a, a).warnings == ()


# ------------------------------------------------------------------------------------- warnings


def test_python_warnings_are_one_line(data, tmp_path, capsys):
    """A library warning shows as ``spermtrack VERB: warning: ...``: no file, line number or code line."""
    import shutil

    root = tmp_path / "root"
    shutil.copytree(data / "root", root)
    split = json.loads((root / "split.json").read_text())
    split["val"] = [*split.get("val", []), VID, "not_here"]
    (root / "split.json").write_text(json.dumps(split))
    code, _, err = run_main(capsys, ["detect-eval", str(root), "--detector", "gt", "--split", "val"])
    assert code == 0, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines == [f"spermtrack detect-eval: warning: {root}: split 'val' lists videos not found here: ['not_here']"]


def test_quiet_hides_notes_and_workers_get_the_same_display(capsys, monkeypatch):
    import warnings

    from spermtrack.cli._warnings import DASK_PRELOAD_ENV, WORKER_ENV, dask_setup, one_line_warnings
    from spermtrack.errors import LowImageRateWarning, UncalibratedWarning

    monkeypatch.delenv(DASK_PRELOAD_ENV, raising=False)
    shown = warnings.showwarning
    with one_line_warnings("batch", quiet=True):
        assert os.environ[WORKER_ENV] == "batch:quiet" and "spermtrack.cli._warnings" in os.environ[DASK_PRELOAD_ENV]
        warnings.warn("uncalibrated", UncalibratedWarning, stacklevel=1)
        warnings.warn("low rate", LowImageRateWarning, stacklevel=1)
        warnings.warn("pkg_resources is deprecated as an API", UserWarning, stacklevel=1)
        warnings.warn("a real problem", UserWarning, stacklevel=1)
    assert capsys.readouterr().err == "spermtrack batch: warning: a real problem\n"
    assert warnings.showwarning is shown and WORKER_ENV not in os.environ and DASK_PRELOAD_ENV not in os.environ
    with one_line_warnings("batch"):
        warnings.warn("uncalibrated\n  see docs", UncalibratedWarning, stacklevel=1)
    assert capsys.readouterr().err == "spermtrack batch: warning: uncalibrated see docs\n"
    monkeypatch.setenv(WORKER_ENV, "pseudo-label:quiet")
    with warnings.catch_warnings():  # a Dask worker started by the command
        dask_setup(None)
        warnings.warn("uncalibrated", UncalibratedWarning, stacklevel=1)
        warnings.warn("odd", UserWarning, stacklevel=1)
    assert capsys.readouterr().err == "spermtrack pseudo-label: warning: odd\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["track", "{d}/dets.txt", "--fps", "1e9", "-o", "{t}/t.txt"], "fps=1e+09 is outside the plausible range 0.1-10000"),
        (["track", "{d}/dets.txt", "--fps", "0.0001", "-o", "{t}/t.txt"], "fps=0.0001 is outside the plausible range"),
        (["clip", "{d}/good.avi", "--fps", "1e7", "-o", "{t}/c"], "fps=1e+07 is outside the plausible range 0.1-10000"),
        (
            ["clip", "{d}/good.avi", "--seconds", "inf", "-o", "{t}/c"],
            "seconds must be a positive finite number (--seconds S), got inf",
        ),
    ],
)
def test_frame_rate_and_clip_length_ranges(argv, message, data, tmp_path, capsys):
    """track and clip refuse the frame rates analyze refuses, with analyze's message; clip an infinite length."""
    argv = [a.format(d=data, t=tmp_path) for a in argv]
    code, _, err = run_main(capsys, argv)
    assert code == 1 and message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "c").exists() and not (tmp_path / "t.txt").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["simulate", "{t}/s", "--size", "100000x100000"], "argument --size: each side of the frame size must be 16 to 4096 px"),
        (["simulate", "{t}/s", "--density", "1e6"], "argument --density: must be 0 to 2000 sperm per frame, got 1e6"),
        (["simulate", "{t}/s", "--seed", "-1"], "argument --seed/-s: must be a whole number >= 0, got -1"),
        (["demo", "-o", "{t}/d", "--seed", "-1"], "argument --seed: must be a whole number >= 0, got -1"),
        (["detect-eval", "{d}/root", "--detector", "gt-noisy", "--seed", "-1"], "argument --seed: must be a whole number >= 0"),
    ],
)
def test_sizes_densities_and_seeds_are_bounded_usage_errors(argv, message, data, tmp_path, capsys):
    """simulate --size 100000x100000 and --density 1e6 ran out of memory; --seed -1 did not name the option."""
    argv = [a.format(d=data, t=tmp_path) for a in argv]
    code, _, err = run_main(capsys, argv)
    assert code == 2 and message in err.splitlines()[-1], err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["demo", "-o", "{t}/d", "--density", "1e9"], "--density must be 0 to 2000 sperm per frame, got 1e+09"),
        (
            ["detect-eval", "{d}/root", "--detector", "gt-noisy", "--split", "all", "--fp-per-frame", "1e9"],
            "--fp-per-frame must be 0 to 1000 false positives per frame, got 1e+09",
        ),
    ],
)
def test_absurd_amounts_are_one_line_errors(argv, message, data, tmp_path, capsys):
    """demo --density 1e9 and detect-eval --fp-per-frame 1e9 (which was OOM-killed) stop at once, naming the range."""
    argv = [a.format(d=data, t=tmp_path) for a in argv]
    code, _, err = run_main(capsys, argv)
    assert code == 1 and message in err and len(err.splitlines()) == 1, err


@pytest.mark.parametrize("bad", ["-1", "99999999", "2,x"])
def test_declared_classes_are_whole_numbers_a_box_can_hold(bad):
    from spermtrack.cli import parse_classes
    from spermtrack.errors import SpermtrackError

    with pytest.raises(SpermtrackError, match="--classes"):
        parse_classes(bad)
    assert parse_classes("3, 4") == [3, 4] and parse_classes(None) == []


@pytest.fixture(scope="module")
def blank_video(tmp_path_factory) -> Path:
    """20 frames of flat grey noise: no sperm (reliability warnings); analysed uncalibrated (a reading note)."""
    from spermtrack.io.video import VideoWriter

    path = tmp_path_factory.mktemp("blank") / "blank.mp4"
    rng = np.random.default_rng(0)
    with VideoWriter(path, fps=10, size=(160, 120)) as writer:
        for _ in range(20):
            writer.write(np.clip(128 + rng.normal(0, 2, (120, 160)), 0, 255).astype(np.uint8))
    return path


def test_quiet_analyze_still_prints_reliability_warnings(blank_video, tmp_path, capsys):
    """-q hides only the reading notes (uncalibrated, low image rate), never a warning that the result may be wrong."""
    argv = ["analyze", str(blank_video), "--detector", "classical", "--no-video", "--no-report", "--top", "1"]
    code, _, err = run_main(capsys, [*argv, "-o", str(tmp_path / "q"), "-q"])
    assert code == 0, err
    stored = json.loads((tmp_path / "q" / "summary.json").read_text())["warnings"]
    lines = [ln for ln in err.splitlines() if ln.startswith("spermtrack analyze: warning: ")]
    assert any("Almost no sperm heads" in ln for ln in lines), err
    assert any(w.startswith("Uncalibrated") for w in stored)
    assert not any(ln.startswith("spermtrack analyze: warning: Uncalibrated") for ln in lines), err
    assert 0 < len(lines) < len(stored), (lines, stored)  # the notes are in summary.json, not on the screen
    code, _, err = run_main(capsys, [*argv, "-o", str(tmp_path / "loud")])
    loud = [ln for ln in err.splitlines() if ln.startswith("spermtrack analyze: warning: ")]
    assert code == 0 and len(loud) == len(stored), err  # without -q: every warning once (no double notes)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--detector", "gt-noisy"], "detector 'gt-noisy' needs its noise"),
        (["--detector", "gt", "--top", "0"], "top (--top) must be a whole number >= 1, got 0"),
        (["--detector", "gt", "--min-duration-s", "-1"], "(--min-duration-s) must be a number >= 0"),
    ],
)
def test_analyze_refuses_gt_noisy_without_noise_and_top_0(extra, message, data, tmp_path, capsys):
    """gt-noisy without noise would silently be gt; --top 0 would fail after the work: both refused up front."""
    out = tmp_path / "r"
    code, _, err = run_main(capsys, ["analyze", str(data / "root" / VID), "-o", str(out), "--no-video", *extra])
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_analyze_api_gt_noisy_with_noise_records_one_detector_name(data):
    """With its noise given (the API takes it), summary.json's detector and config.detector agree."""
    from spermtrack.analysis import analyze
    from spermtrack.detect.spec import DetectorSpec

    result = analyze(data / "root" / VID, detector=DetectorSpec.parse("gt-noisy", miss=0.3, jitter_px=1.0), um_per_px=0.25)
    summary = result.summary
    assert summary["detector"] == "gt-noisy" == summary["config"]["detector"]["name"]
    assert len(result.detections) < len(DetectorSpec.parse("gt").ground_truth(data / "root" / VID))
