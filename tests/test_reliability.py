"""Never lose data, never mix or keep stale outputs, never guess a frame rate (issue 17).

Each case of the issue has a test here: writes into the input, ``.`` and links as inputs,
transactional result folders (interrupted at 20+ points, two writers), completion markers
and ``spermtrack verify``, frame rates of raw streams and 0-fps AVIs, and the one error path
of every CLI verb (exit 1, one line, no traceback). The hostile-input property tests are in
tests/test_hostile_inputs.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _pipeline_checks import simulated_folder

from spermtrack import results
from spermtrack.cli import main
from spermtrack.errors import CalibrationError
from spermtrack.results import MARKER, ResultLockedError, read_marker, result_dir, verify

REPO = Path(__file__).resolve().parents[1]
GT = ["--detector", "gt", "--no-video", "--no-report", "-q", "--top", "1"]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 40-frame simulated VISEM video folder ``data/sim`` (labels, labels_ftid, images, mp4)."""
    folder, _ = simulated_folder(tmp_path_factory.mktemp("rel") / "data", frames=40, density=6.0)
    return folder


def tree_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        h.update(str(p.relative_to(folder)).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def one_line_error(capsys, verb: str) -> str:
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert "Traceback" not in err
    errors = [ln for ln in lines if ln.startswith(f"spermtrack {verb}: error: ")]
    assert len(errors) == 1, err
    return errors[0]


# ---------------------------------------------------------------------------- never write into the input
def test_analyze_refuses_every_output_that_overlaps_its_source(clip, tmp_path, capsys):
    (clip.parent / "split.json").write_text('{"train": ["sim"], "val": []}')  # data/ is a dataset
    before = tree_digest(clip.parent)
    link = tmp_path / "link"
    link.symlink_to(clip)
    for out, why in [
        (clip, "is the source"),  # the worst case: labels_ftid/ replaced by predictions
        (clip / "results", "lies inside the source"),
        (clip.parent, "contains the source"),
        (clip.parent / "results", "dataset folder"),  # would be read as one more video of the dataset
        (link, "is the source"),  # a link to the source is the source
        (clip / "labels" / "..", "is the source"),
    ]:
        assert main(["analyze", str(clip), "--out", str(out), *GT]) == 1
        assert why in one_line_error(capsys, "analyze")
    assert tree_digest(clip.parent) == before, "the source changed"
    (clip.parent / "split.json").unlink()
    # a lone VISEM video folder (no dataset around it) does not forbid its parent
    assert main(["analyze", str(clip), "--out", str(clip.parent / "results"), *GT]) == 0
    shutil.rmtree(clip.parent / "results")


def test_a_source_inside_a_visem_video_folder_protects_it_and_its_dataset(clip, tmp_path, capsys):
    (clip.parent / "split.json").write_text('{"train": ["sim"], "val": []}')  # data/ is a dataset
    try:
        before = tree_digest(clip.parent)
        for src, out, why in [
            (clip / "sim.mp4", clip.parent / "res3", "dataset folder"),
            (clip / "images", clip / "res", "VISEM video folder of the source"),
            (clip / "sim.mp4", clip / "res", "VISEM video folder of the source"),
        ]:
            assert main(["analyze", str(src), "--out", str(out), *GT, "--fps", "50"]) == 1
            assert why in one_line_error(capsys, "analyze")
        assert tree_digest(clip.parent) == before, "the dataset changed"
    finally:
        (clip.parent / "split.json").unlink()


def test_single_file_outputs_are_never_written_into_an_input_folder(clip, tmp_path, capsys):
    (clip.parent / "split.json").write_text('{"train": ["sim"], "val": []}')
    dets = tmp_path / "dets.txt"
    dets.write_text("".join(f"{f},-1,{100 + f},50,20,20,0.9,-1,-1,-1\n" for f in range(1, 6)))
    try:
        before = tree_digest(clip.parent)
        for verb, argv in [
            ("evaluate", ["evaluate", str(clip.parent), str(clip.parent), "-o", str(clip.parent / "scores.json")]),
            ("detect", ["detect", str(clip), "-o", str(clip / "dets.txt"), "--detector", "classical", "-q"]),
            ("detect", ["detect", str(clip / "sim.mp4"), "-o", str(clip / "dets.txt"), "--detector", "classical", "-q"]),
            ("track", ["track", str(dets), "--fps", "50", "-o", str(clip / "labels_ftid" / "x.txt"), "-q"]),
        ]:
            assert main(argv) == 1, argv
            assert "input folder" in one_line_error(capsys, verb) or verb == "track"
        assert tree_digest(clip.parent) == before, "an input folder changed"
        assert main(["track", str(dets), "--fps", "50", "-o", str(tmp_path / "tracks.txt"), "-q"]) == 0  # beside DETS: fine
    finally:
        (clip.parent / "split.json").unlink()


def test_a_folder_spermtrack_did_not_write_is_never_replaced(clip, tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.docx").write_text("years of work")
    assert main(["analyze", str(clip), "--out", str(mine), *GT]) == 1
    assert "no .spermtrack.json" in one_line_error(capsys, "analyze")
    assert (mine / "thesis.docx").read_text() == "years of work"
    assert main(["analyze", str(clip), "--out", str(mine), *GT, "--force"]) == 1  # not even with --force
    assert (mine / "thesis.docx").exists()
    capsys.readouterr()
    # an existing file as --out
    f = tmp_path / "file.txt"
    f.write_text("x")
    assert main(["analyze", str(clip), "--out", str(f), *GT]) == 1
    assert "not a folder" in one_line_error(capsys, "analyze")


def test_another_source_needs_force_and_same_name_clips_do_not_mix(clip, tmp_path, capsys, monkeypatch):
    a, b = tmp_path / "a" / "sample.mp4", tmp_path / "b" / "sample.mp4"
    for p in (a, b):
        p.parent.mkdir()
        shutil.copy(clip / "sim.mp4", p)
    monkeypatch.chdir(tmp_path)
    args = ["--detector", "classical", "--no-video", "--no-report", "-q", "--top", "1", "--max-frames", "10"]
    assert main(["analyze", str(a), *args]) == 0  # default out/sample
    assert main(["analyze", str(b), *args]) == 1  # the other sample.mp4 would silently replace it
    message = one_line_error(capsys, "analyze")
    assert "another source" in message and "--force" in message
    assert read_marker(tmp_path / "out" / "sample")["source"]["path"] == str(a.resolve())
    assert main(["analyze", str(b), *args, "--force"]) == 0
    assert read_marker(tmp_path / "out" / "sample")["source"]["path"] == str(b.resolve())


@pytest.mark.slow
def test_batch_and_pseudo_label_resolve_dot_and_never_delete_user_files(clip, tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    from spermtrack.batch import AnalysisOptions, run_batch

    vids = tmp_path / "vids"
    vids.mkdir()
    shutil.copy(clip / "sim.mp4", vids / "a.mp4")
    opts = AnalysisOptions(detector="classical", overlay=False, report=False, max_frames=10)
    monkeypatch.chdir(vids)
    # `batch . --out ../res` analyses (it used to skip: the job's name was '')
    res = run_batch(["."], "../res", opts, workers=1, progress=False)
    assert res.counts == {"done": 1} and verify(tmp_path / "res" / "a").ok
    # `pseudo-label . --out ../pl --rerun` leaves the user's files alone
    (tmp_path / "pl").mkdir()
    (tmp_path / "pl" / "notes.txt").write_text("mine")
    for _ in range(2):
        res = run_batch(["."], "../pl", opts, workers=1, task="pseudo-label", rerun=True, progress=False)
        assert res.counts == {"done": 1}
    assert (tmp_path / "pl" / "notes.txt").read_text() == "mine"
    assert verify(tmp_path / "pl" / "a").ok and (tmp_path / "pl" / "a" / "labels_ftid").is_dir()
    # `batch VIDEO . --out res --rerun`: '.' holds the output, so it is refused before anything is deleted
    monkeypatch.chdir(tmp_path)
    from spermtrack.errors import SpermtrackError

    with pytest.raises(SpermtrackError, match="inside the source"):
        run_batch([vids / "a.mp4", "."], "res", opts, workers=1, rerun=True, progress=False)
    assert verify(tmp_path / "res" / "a").ok
    # a job folder the user made (no marker) is not replaced, even with rerun: the job fails and says why
    (tmp_path / "res2" / "a").mkdir(parents=True)
    (tmp_path / "res2" / "a" / "keep.txt").write_text("mine")
    res = run_batch([vids], tmp_path / "res2", opts, workers=1, rerun=True, progress=False)
    assert res.counts == {"failed": 1} and "no .spermtrack.json" in res.summary["error"][0]
    assert (tmp_path / "res2" / "a" / "keep.txt").read_text() == "mine"
    # settings changed -> redone, and the summary says why; same settings -> skipped with its numbers
    res = run_batch([vids], tmp_path / "res", AnalysisOptions(**{**opts.__dict__, "um_per_px": 0.3}), workers=1, progress=False)
    assert res.counts == {"done": 1} and "um_per_px" in res.notes["a"]
    res = run_batch([vids], tmp_path / "res", AnalysisOptions(**{**opts.__dict__, "um_per_px": 0.3}), workers=1, progress=False)
    assert res.counts == {"skipped": 1} and res.summary["tracks"][0] is not None
    # leftovers of a killed writer beside a skipped job are cleaned; an interrupted swap is undone
    (tmp_path / "res" / ".a.part-killed").mkdir()
    os.replace(tmp_path / "res" / "a", tmp_path / "res" / ".a.old")
    res = run_batch([vids], tmp_path / "res", AnalysisOptions(**{**opts.__dict__, "um_per_px": 0.3}), workers=1, progress=False)
    assert res.counts == {"skipped": 1} and verify(tmp_path / "res" / "a").ok
    assert sorted(p.name for p in (tmp_path / "res").iterdir()) == ["a", "summary.csv"]


def test_symlink_loops_and_dot_dot(clip, tmp_path, capsys):
    from spermtrack.batch import expand_inputs, plan_jobs

    loop = tmp_path / "loop"
    loop.mkdir()
    (loop / "self").symlink_to(loop)  # a link back to its folder
    (loop / "x").symlink_to(loop / "y")
    (loop / "y").symlink_to(loop / "x")  # a two-link loop
    shutil.copy(clip / "sim.mp4", loop / "v.mp4")
    assert [p.name for p in expand_inputs([loop])] == ["v.mp4"]
    assert main(["analyze", str(loop / "x"), "--out", str(tmp_path / "o"), *GT]) == 1
    assert "loop" in one_line_error(capsys, "analyze")
    jobs = plan_jobs(expand_inputs([clip / "labels" / ".."]), tmp_path / "o")
    assert [j.name for j in jobs] == ["sim"]


# ---------------------------------------------------------------------------- markers, up to date, verify
def test_marker_records_source_and_settings_and_analyze_skips_only_up_to_date_results(clip, tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["analyze", str(clip), "--out", str(out), *GT]) == 0
    m = read_marker(out)
    assert m["source"]["path"] == str(clip.resolve()) and m["source"]["kind"] == "folder"
    assert len(m["source"]["sha256_first_mib"]) == 64 and m["source"]["size"] > 0
    from spermtrack.jsonutil import to_jsonable
    from spermtrack.track import TrackerConfig

    assert m["settings"]["detector"]["name"] == "gt"  # the whole AnalysisConfig (issue 15)
    assert m["settings"]["tracker"] == json.loads(json.dumps(to_jsonable(TrackerConfig().to_dict())))
    assert m["settings"]["outputs"] == {
        "overlay": False,
        "report": False,
        "opacity": 0.85,
        "trail_s": 1.0,
        "link_video": False,
        "highlight": 3,
    }
    assert set(m["files"]) >= {"tracks.txt", "kinematics.csv", "summary.json"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["video"]["fps_source"] == summary["calibration"]["fps_source"] == "container"  # its mp4
    capsys.readouterr()
    assert main(["analyze", str(clip), "--out", str(out), *GT]) == 0
    assert "up to date" in capsys.readouterr().out
    stamp = (out / "summary.json").stat().st_mtime_ns
    assert main(["analyze", str(clip), "--out", str(out), *GT, "--um-per-px", "0.3"]) == 0
    assert read_marker(out)["settings"]["calibration"]["um_per_px"] == 0.3 and (out / "summary.json").stat().st_mtime_ns != stamp
    # a folder missing a file is incomplete: redone, not skipped
    (out / "tracks.txt").unlink()
    assert results.up_to_date(out, clip, read_marker(out)["settings"]).startswith("incomplete")
    assert main(["verify", str(out)]) == 1
    assert main(["analyze", str(clip), "--out", str(out), *GT, "--um-per-px", "0.3"]) == 0
    assert main(["verify", str(out)]) == 0
    # verify sees a changed file
    with open(out / "kinematics.csv", "a") as fh:
        fh.write("\n")
    capsys.readouterr()
    assert main(["verify", str(out), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data[0]["ok"] is False and "kinematics.csv" in data[0]["problems"][0]


def test_verify_fails_a_marker_with_an_empty_or_malformed_file_list(clip, tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["analyze", str(clip), "--out", str(out), *GT]) == 0
    good = (out / MARKER).read_text()
    for files, why in [({}, "lists no files"), ([], "malformed"), ("x", "malformed"), ({"tracks.txt": 3}, "malformed entry")]:
        marker = json.loads(good)
        marker["files"] = files
        (out / MARKER).write_text(json.dumps(marker))
        check = verify(out)
        assert not check.ok and why in check.problems[0], (files, check.problems)
        capsys.readouterr()
        assert main(["verify", str(out)]) == 1
        assert "BROKEN" in capsys.readouterr().out
    (out / MARKER).write_text(good)
    assert verify(out).ok
    empty = tmp_path / "empty"
    with result_dir(empty, kind="t"):
        pass
    assert verify(empty).ok  # an empty result with an empty list is complete


def test_verify_fails_a_batch_folder_whose_summary_lists_failed_jobs(tmp_path, capsys):
    """A batch --out folder is incomplete when its summary.csv lists a failed or interrupted job (whose
    output column is empty: the job left no result), and when a job it lists as done is missing."""
    import csv

    from spermtrack.batch import Job, _guarded, _interrupted_row, _write_summary
    from spermtrack.errors import VideoError

    src = tmp_path / "in"
    src.mkdir()
    for name in ("good", "text", "cut"):
        (src / f"{name}.mp4").write_text(name)
    out = tmp_path / "batch"
    jobs = [Job(n, str(src / f"{n}.mp4"), str(out / n)) for n in ("good", "text", "cut")]
    with result_dir(out / "good", kind="analysis", source=src / "good.mp4") as tmp:
        (tmp / "tracks.txt").write_text("")

    def unreadable():
        raise VideoError(f"{src / 'text.mp4'}: cannot open the video")

    rows = {
        "good": _guarded(jobs[0], lambda: {"frames": 1}),
        "text": _guarded(jobs[1], unreadable),
        "cut": _interrupted_row(jobs[2]),
    }
    _write_summary(out, jobs, rows)
    with open(out / "summary.csv", newline="") as fh:
        table = {r["video"]: r for r in csv.DictReader(fh)}
    assert table["good"]["output"] == str(out / "good") and table["text"]["output"] == table["cut"]["output"] == ""
    capsys.readouterr()
    assert main(["verify", str(out)]) == 1
    captured = capsys.readouterr()
    assert f"ok      {out / 'good'}" in captured.out
    assert "summary.csv lists the batch job text as failed: VideoError:" in captured.out and "cannot open" in captured.out
    assert "summary.csv lists the batch job cut as interrupted" in captured.out
    assert "2 of 3 folder(s) incomplete" in captured.err and "text" in captured.err
    shutil.rmtree(out / "good")  # a job listed as done whose folder is gone
    _write_summary(out, jobs[:1], rows)
    assert main(["verify", str(out), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [d["ok"] for d in data] == [False] and "no such folder" in data[0]["problems"][0]


def test_verify_names_a_file_as_not_a_result_folder(tmp_path, capsys):
    f = tmp_path / "video.mp4"
    f.write_bytes(b"\x00" * 10)
    assert main(["verify", str(f)]) == 1
    out = capsys.readouterr().out
    assert f"{f}: is a file, not a result folder" in out and "no such folder" not in out
    assert verify(tmp_path / "missing").problems == [f"{tmp_path / 'missing'}: no such folder"]


def test_result_dir_swaps_whole_and_recovers_an_interrupted_swap(tmp_path):
    final = tmp_path / "res"
    with result_dir(final, kind="t", settings={"v": 1}) as tmp:
        (tmp / "a.txt").write_text("old")
        (tmp / "only_old.txt").write_text("old")
    with result_dir(final, kind="t", settings={"v": 2}) as tmp:
        (tmp / "a.txt").write_text("new")
    assert sorted(p.name for p in final.iterdir()) == [MARKER, "a.txt"], "nothing of the old result is kept"
    assert verify(final).ok
    # a crash (power cut) between the two renames: the old is aside, the new not yet in place
    old = tmp_path / ".res.old"
    os.replace(final, old)
    (tmp_path / ".res.part-x").mkdir()
    assert "restored" in results.recover(final)
    assert (final / "a.txt").read_text() == "new" and not (tmp_path / ".res.part-x").exists()
    # an error inside the block leaves the folder as it was and no temporary folder
    with pytest.raises(RuntimeError):
        with result_dir(final, kind="t", settings={"v": 3}) as tmp:
            (tmp / "a.txt").write_text("broken")
            raise RuntimeError("boom")
    assert (final / "a.txt").read_text() == "new" and verify(final).ok
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]


# ---------------------------------------------------------------------------- interrupts
def _interrupt_run(monkeypatch, at: int, argv: list[str]) -> int:
    results._CHECKPOINTS = 0
    monkeypatch.setenv("SPERMTRACK_INTERRUPT_AT", str(at))
    try:
        return main(argv)
    finally:
        monkeypatch.delenv("SPERMTRACK_INTERRUPT_AT")


def test_interrupted_analyze_leaves_the_complete_old_or_the_complete_new_result(clip, tmp_path, monkeypatch, capsys):
    """Ctrl-C at every checkpoint of a rerun (each detector batch, each output, the marker, between the renames)."""
    out = tmp_path / "r"
    base = ["analyze", str(clip), "--out", str(out), *GT, "--batch-size", "2"]
    assert main([*base, "--um-per-px", "0.25"]) == 0
    old = tree_digest(out)
    points = 0
    for at in range(1, 200):
        rc = _interrupt_run(monkeypatch, at, [*base, "--um-per-px", "0.3"])
        check = verify(out)
        assert check.ok, f"interrupt at checkpoint {at}: {check.problems}"
        um = read_marker(out)["settings"]["calibration"]["um_per_px"]
        if rc == 0:
            break
        assert rc == 130, f"checkpoint {at}: exit {rc}"
        points += 1
        if um == 0.25:
            assert tree_digest(out) == old, f"checkpoint {at}: the old result changed"
        else:  # interrupted after the new folder was in place (removing the old one)
            assert um == 0.3
            break
    assert points >= 20, f"only {points} interruption points"
    # whatever was left aside is cleaned by the next run, which completes
    assert main([*base, "--um-per-px", "0.3", "--rerun"]) == 0
    assert verify(out).ok and read_marker(out)["settings"]["calibration"]["um_per_px"] == 0.3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"], "temporary folders left behind"
    capsys.readouterr()


@pytest.mark.slow
def test_sigint_into_a_running_analyze_process(clip, tmp_path):
    """A real Ctrl-C (SIGINT) after varying delays: the folder is the old or the new result, never a mix."""
    out = tmp_path / "r"
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    cmd = [sys.executable, "-m", "spermtrack", "analyze", str(clip), "--out", str(out), "--detector", "gt", "-q"]
    cmd += ["--top", "1", "--no-video"]
    subprocess.run([*cmd, "--um-per-px", "0.25"], env=env, check=True, capture_output=True)
    for k, delay in enumerate((0.5, 1.0, 1.5, 2.0, 2.5, 3.0)):
        proc = subprocess.Popen([*cmd, "--um-per-px", str(0.3 + k / 100)], env=env, stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=120)  # (a SIGINT during interpreter start-up may print Python's own traceback)
        assert verify(out).ok, f"delay {delay}: {verify(out).problems}"


@pytest.mark.slow
def test_sigterm_cleans_up_like_ctrl_c(clip, tmp_path):
    """SIGTERM (`timeout`, a job scheduler) during analyze and simulate: nothing left beside the output,
    an `interrupted` line, exit 143, and the previous result still verifies."""
    out = tmp_path / "r"
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    cmd = [sys.executable, "-m", "spermtrack", "analyze", str(clip), "--out", str(out), "--detector", "gt", "-q"]
    cmd += ["--top", "1", "--no-video", "--rerun"]
    subprocess.run([*cmd, "--um-per-px", "0.25"], env=env, check=True, capture_output=True)
    sim = [sys.executable, "-m", "spermtrack", "simulate", str(tmp_path / "sim"), "--videos", "2", "--frames", "400", "-q"]
    for run in ([*cmd, "--um-per-px", "0.3"], [*sim, "--workers", "1"]):
        proc = subprocess.Popen(run, env=env, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        while time.time() < deadline and not any(p.name.startswith(".") for p in tmp_path.iterdir()):
            time.sleep(0.02)  # until it writes (a lock or temporary folder appears)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
        if proc.returncode == 0:
            continue  # finished before the signal
        assert proc.returncode == 143 and "interrupted" in err and "Traceback" not in err, err
        assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary files left behind"
        assert not (tmp_path / "sim").exists()
        assert verify(out).ok and read_marker(out)["settings"]["calibration"]["um_per_px"] == 0.25


@pytest.mark.slow
def test_sigint_into_a_running_batch(clip, tmp_path):
    """Ctrl-C (SIGINT to the process group, as a terminal sends it) into `batch` on a local Dask cluster."""
    pytest.importorskip("distributed")
    vids = tmp_path / "vids"
    vids.mkdir()
    for i in range(4):
        shutil.copy(clip / "sim.mp4", vids / f"v{i}.mp4")
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    cmd = [sys.executable, "-m", "spermtrack", "batch", str(vids), "--detector", "classical", "--no-video"]
    cmd += ["--no-report", "-q", "--workers", "2", "--max-frames", "20"]
    for delay in (4.0, 7.0, 10.0):
        out = tmp_path / f"out{delay:g}"
        proc = subprocess.Popen([*cmd, "--out", str(out)], env=env, stderr=subprocess.PIPE, text=True, start_new_session=True)
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        if proc.returncode == 130:
            assert "spermtrack batch: interrupted" in err and "Traceback" not in err, err
        for job in out.iterdir() if out.exists() else ():
            if job.is_dir():
                assert verify(job).ok, f"delay {delay}: {job.name}: {verify(job).problems}"
        if (out / "summary.csv").exists():
            import pandas as pd

            table = pd.read_csv(out / "summary.csv")
            for row in table.itertuples():
                assert row.status in ("done", "interrupted")
                assert (row.status == "done") == (out / row.video).is_dir()


# ---------------------------------------------------------------------------- concurrency
def test_a_second_writer_is_refused_with_a_clear_message(clip, tmp_path, capsys):
    out = tmp_path / "r"
    with results.lock(out.resolve()):
        assert main(["analyze", str(clip), "--out", str(out), *GT]) == 1
        assert "another spermtrack run is writing" in one_line_error(capsys, "analyze")
        with pytest.raises(ResultLockedError):
            with result_dir(out, kind="t"):
                pass
    assert main(["analyze", str(clip), "--out", str(out), *GT]) == 0  # the lock is gone with its holder


@pytest.mark.slow
def test_two_processes_writing_the_same_folder(clip, tmp_path):
    out = tmp_path / "r"
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    cmd = [sys.executable, "-m", "spermtrack", "analyze", str(clip), "--out", str(out), "--detector", "gt", "-q"]
    procs = [
        subprocess.Popen([*cmd, "--um-per-px", um, "--top", "1"], env=env, stderr=subprocess.PIPE, text=True)
        for um in ("0.25", "0.3")
    ]
    outcomes = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    assert any(rc == 0 for rc, _ in outcomes), outcomes
    for rc, err in outcomes:
        assert "Traceback" not in err
        assert rc == 0 or "another spermtrack run is writing" in err, err
    assert verify(out).ok


# ---------------------------------------------------------------------------- frame rates
def _h264_raw(path: Path, fps: int = 50, n: int = 12) -> Path:
    import av

    with av.open(str(path), "w", format="h264") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 10 * i, np.uint8), format="bgr24")
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def _avi(path: Path, fps: int = 40, n: int = 12, zero: bool = False) -> Path:
    """An MJPEG AVI written by PyAV; with ``zero`` its headers say 0 frames per second."""
    import av

    with av.open(str(path), "w", format="avi") as c:
        s = c.add_stream("mjpeg", rate=fps)
        s.width, s.height, s.pix_fmt = 64, 48, "yuvj420p"
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 10 * i, np.uint8), format="bgr24")
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    if zero:
        b = bytearray(path.read_bytes())
        i = b.find(b"avih")
        struct.pack_into("<I", b, i + 8, 0)  # dwMicroSecPerFrame
        j = b.find(b"strh")
        assert b[j + 8 : j + 12] == b"vids"
        struct.pack_into("<II", b, j + 8 + 20, 0, 0)  # dwScale, dwRate
        path.write_bytes(bytes(b))
    return path


def test_frame_rate_is_never_guessed(tmp_path, capsys, monkeypatch):
    from spermtrack.io import frames
    from spermtrack.io.frames import probe_video
    from spermtrack.pipeline import analyze

    raw = _h264_raw(tmp_path / "raw.h264")
    zero = _avi(tmp_path / "zero.avi", zero=True)
    good = _avi(tmp_path / "good.avi", fps=40)
    assert probe_video(raw)["fps"] is None  # FFmpeg says 25: its default, not the file's
    assert probe_video(zero)["fps"] is None  # FFmpeg says 25 for a 0 in the header
    assert (probe_video(good)["fps"], probe_video(good)["fps_source"]) == (40.0, "container")
    for src in (raw, zero):
        with pytest.raises(CalibrationError, match="--fps"):
            analyze(src, detector="classical")
        assert main(["analyze", str(src), "--out", str(tmp_path / "o"), "--detector", "classical", "-q"]) == 1
        assert "pass --fps" in one_line_error(capsys, "analyze")
    a = analyze(zero, detector="classical", fps=30)
    assert (a.calibration.fps, a.fps_source, a.summary["video"]["fps_source"]) == (30.0, "user", "user")
    a = analyze(good, detector="classical")
    assert a.fps_source == "container" and "stated by its container" in a.calibration_origin
    # timestamps: a container that states no rate but whose packets carry times (mkv, 40 fps)
    import av

    mkv = tmp_path / "ts.mkv"
    with av.open(str(mkv), "w") as c:
        s = c.add_stream("mpeg4", rate=40)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for i in range(12):
            for p in s.encode(av.VideoFrame.from_ndarray(np.full((48, 64, 3), 9 * i, np.uint8), format="bgr24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    monkeypatch.setattr(frames, "_stated_rate", lambda *a: None)
    info = probe_video(mkv)
    assert (info["fps"], info["fps_source"]) == (pytest.approx(40.0), "timestamps")
    a = analyze(mkv, detector="classical")
    assert a.fps_source == "timestamps" and a.summary["calibration"]["fps_source"] == "timestamps"
    a.save(tmp_path / "rep", overlay=False)
    assert "timestamps" in (tmp_path / "rep" / "report.html").read_text(encoding="utf-8")


def test_a_visem_folder_without_a_stated_rate_needs_fps(clip, tmp_path):
    from spermtrack.io.frames import open_frames

    bare = tmp_path / "bare"
    shutil.copytree(clip / "images", bare / "images")
    with open_frames(bare) as src:
        assert src.fps is None  # VISEM's nominal 50 is not assumed
    with open_frames(clip) as src:
        assert src.fps == 50.0 and src.fps_source in ("container", "spermtrack.json")


# ---------------------------------------------------------------------------- the one error path
def _cases(tmp: Path, clip: Path) -> list[tuple[list[str], str]]:
    dets = tmp / "dets.txt"
    dets.write_text("1,-1,10,10,5,5,0.9,0,-1,-1\n2,-1,11,10,5,5,0.9,0,-1,-1\n")
    afile = tmp / "afile.txt"
    afile.write_text("x")
    latin = tmp / "latin1.json"
    latin.write_bytes('{"max_age_s": 1.0, "note": "é"}'.encode("latin-1"))
    long_name = str(tmp / ("v" * 300 + ".mp4"))
    gt99 = tmp / "g99" / "sim"
    shutil.copytree(clip, gt99, ignore=shutil.ignore_patterns("images", "*.mp4"))
    f = sorted((gt99 / "labels").iterdir())[0]
    f.write_text(f.read_text() + "99 0.5 0.5 0.01 0.01\n")
    f = sorted((gt99 / "labels_ftid").iterdir())[0]
    f.write_text(f.read_text() + "ck99 99 0.5 0.5 0.01 0.01\n")
    ro = tmp / "ro"
    ro.mkdir()
    return [
        (["track", "--detections", str(tmp / "missing.txt"), "--fps", "50", "--out", str(tmp / "t.txt")], "missing.txt"),
        (["track", "--detections", str(tmp), "--fps", "50", "--out", str(tmp / "t.txt")], str(tmp)),
        (["track", "--detections", str(dets), "--fps", "50", "--out", "."], "is a folder"),
        (["track", "--detections", str(dets), "--fps", "50", "--out", str(afile / "t.txt")], "is a file"),
        (["track", "--detections", str(dets), "--fps", "50", "--out", str(tmp / "t.txt"), "--config", str(latin)], "UTF-8"),
        (["track", "--detections", str(dets), "--fps", "0", "--out", str(tmp / "t.txt")], "--fps"),
        (["evaluate", str(tmp / "nope"), str(dets)], "nope"),
        (["evaluate", str(ro), str(dets)], "neither a MOTChallenge file"),  # a folder that is no source
        (["track", "--detections", str(dets), "--fps", "50", "--out", "/sys/spermtrack_t.txt"], "/sys/spermtrack_t.txt"),
        (["detect-eval", str(gt99.parent), "--detector", "gt"], "class 99"),
        (["evaluate", str(dets), str(tmp / "nope.txt")], "nope.txt"),
        (["evaluate", str(dets), str(dets), "-o", "."], "is a folder"),
        (["evaluate", str(dets), str(dets), "-o", str(afile / "x.json")], "is a file"),
        (["evaluate", str(gt99), str(clip)], "class 99"),
        (["stats", str(clip.parent), "--out", "."], "stats"),
        (["stats", str(clip.parent), "--out", str(afile)], "not a folder"),
        (["stats", str(clip.parent), "--out", str(clip.parent / "s")], "inside the source"),
        (["stats", str(gt99.parent), "--out", str(tmp.parent / "s99")], "class 99"),
        (["detect", str(clip), "-o", "."], "is a folder"),
        (["detect", str(clip), "-o", str(afile / "d.txt")], "is a file"),
        (["detect", str(clip), "-o", str(tmp / "d.txt"), "--detector", "gt"], "real detector"),
        (["analyze", long_name, "--out", str(tmp / "o")], "long"),
        (["analyze", str(clip), "--out", str(tmp / "o"), "--tracker-config", str(latin)], "UTF-8"),
        (["analyze", str(clip), "--out", str(tmp / "o"), "--tracker-config", str(tmp / "nope.json")], "nope.json"),
        (["analyze", str(tmp / "missing.mp4"), "--out", str(tmp / "o")], "missing.mp4"),
        (["analyze", str(clip), "--out", str(clip)], "never writes into its input"),
        (["batch", str(tmp / "missing"), "--out", str(tmp / "b")], "missing"),
        (["pseudo-label", str(clip), "--out", str(clip)], "source"),
        (["clip", str(clip / "sim.mp4"), "--out", str(clip), "--seconds", "0.1"], "source"),
        (["clip", str(clip / "images"), "--out", str(tmp / "c")], "frame rate is unknown"),
        (["verify", str(tmp / "nothing")], "incomplete"),
        (["analyze", str(clip), "--out", str(tmp / "o2"), "--um-per-px", "400"], "plausible range 0.01-20"),
        (["analyze", str(clip), "--out", str(tmp / "o3"), "--detector", "gt", "--polarity", "dark"], "--polarity"),
    ]


def test_every_verb_fails_in_one_line_without_a_traceback(clip, tmp_path, capsys, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    (work / "something").write_text("the user's")
    for argv, expect in _cases(tmp_path, clip):
        rc = main(argv)
        err = capsys.readouterr().err
        assert rc == 1, f"{argv}: exit {rc}\n{err}"
        assert "Traceback" not in err and "np.float64(" not in err and "strict=False to" not in err, argv
        lines = [ln for ln in err.splitlines() if ln.strip() and "error" in ln]
        assert len(lines) == 1, f"{argv}: {err}"
        assert expect.lower() in lines[0].lower(), f"{argv}: {lines[0]!r} lacks {expect!r}"
    assert (work / "something").read_text() == "the user's"


@pytest.mark.slow
def test_cli_errors_in_a_real_process(tmp_path):
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    for argv in (["track", str(tmp_path), "--fps", "50", "--out", "."], ["analyze", "v" * 300 + ".mp4"]):
        p = subprocess.run([sys.executable, "-m", "spermtrack", *argv], env=env, capture_output=True, text=True)
        assert p.returncode == 1 and "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr


# ---------------------------------------------------------------------------- silent acceptance (item 8)
def test_duplicates_evaluate_pairing_and_classes(clip, tmp_path, capsys):
    from spermtrack.io.mot import read_mot, write_mot
    from spermtrack.io.visem import VisemVideo

    gt = VisemVideo(clip).tracks()
    once = tmp_path / "once.txt"
    write_mot(once, gt.replace(track_id=np.full(len(gt), -1)), with_class=True)
    twice = tmp_path / "twice.txt"
    twice.write_text(once.read_text() * 2)
    # track: a file concatenated twice is reported, and --drop-duplicates gives the tracks of one copy
    assert main(["track", "--detections", str(twice), "--fps", "50", "--out", str(tmp_path / "t2.txt"), "-q"]) == 0
    assert "repeat an earlier one" in capsys.readouterr().err
    assert (
        main(["track", "--detections", str(twice), "--fps", "50", "--out", str(tmp_path / "t2.txt"), "-q", "--drop-duplicates"])
        == 0
    )
    assert main(["track", "--detections", str(once), "--fps", "50", "--out", str(tmp_path / "t1.txt"), "-q"]) == 0
    a, b = read_mot(tmp_path / "t1.txt"), read_mot(tmp_path / "t2.txt")
    assert len(a.unique_tracks()) == len(b.unique_tracks())
    capsys.readouterr()
    # evaluate: a single MOT file is paired with the single ground-truth video, and the differing names are said
    assert main(["evaluate", str(clip), str(tmp_path / "t1.txt"), "--json"]) == 0
    assert "names differ" in capsys.readouterr().err
    # two VISEM folders of different ids are not paired silently
    other = tmp_path / "ds" / "other"
    shutil.copytree(clip, other, ignore=shutil.ignore_patterns("images", "*.mp4"))
    assert main(["evaluate", str(clip), str(other)]) == 1
    assert "paired by id" in one_line_error(capsys, "evaluate")
    # declared classes are accepted
    f = sorted((other / "labels_ftid").iterdir())[0]
    f.write_text(f.read_text() + "ckextra 7 0.5 0.5 0.01 0.01\n")
    assert main(["evaluate", str(other), str(other), "--json"]) == 1
    assert "class 7" in one_line_error(capsys, "evaluate")
    assert main(["evaluate", str(other), str(other), "--json", "--classes", "7"]) == 0


def test_stats_converts_each_frame_with_its_own_image_size(clip, tmp_path):
    import cv2

    from spermtrack.dataset_stats import dataset_stats
    from spermtrack.io.visem import VisemVideo

    root = tmp_path / "root"
    shutil.copytree(clip, root / "sim", ignore=shutil.ignore_patterns("*.mp4"))
    first = sorted((root / "sim" / "images").iterdir(), key=lambda p: int(p.stem.split("_")[-1]))[1]
    img = cv2.imread(str(first))
    cv2.imwrite(str(first), cv2.resize(img, (img.shape[1] * 2, img.shape[0] * 2)))  # frame 1 is 1280x960
    labels = VisemVideo(root / "sim").tracks()
    stats = dataset_stats(root)
    expected = np.where(labels.frame == 1, 2.0, 1.0) * labels.width
    assert stats.per_class.loc[0, "width_max"] == pytest.approx(expected[labels.cls == 0].max(), rel=1e-5)
    assert stats.per_class.loc[0, "width_mean"] == pytest.approx(expected[labels.cls == 0].mean(), rel=1e-5)


def test_saving_after_the_source_is_gone_records_it_as_missing(clip, tmp_path):
    from spermtrack.pipeline import analyze

    src = tmp_path / "v.mp4"
    shutil.copy(clip / "sim.mp4", src)
    a = analyze(src, detector="classical", max_frames=8)
    src.unlink()
    a.save(tmp_path / "out", overlay=False, report=False)
    m = read_marker(tmp_path / "out")
    assert m["source"]["kind"] == "missing" and m["source"]["path"] == str(src.resolve()) and verify(tmp_path / "out").ok
