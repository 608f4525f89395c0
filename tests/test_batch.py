"""Many videos: Dask batch analysis, pseudo-labelling, clipping and dataset statistics.

The batch tests start a real local Dask cluster with two worker processes.
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from spermtrack.batch import AnalysisOptions, clean_partials, expand_inputs, plan_jobs, run_batch
from spermtrack.clip import clip_video
from spermtrack.dataset_stats import dataset_stats
from spermtrack.errors import SpermtrackError, VideoError
from spermtrack.io.frames import open_frames
from spermtrack.io.visem import VisemDataset

pytest.importorskip("distributed", reason="needs the dist extra (dask distributed)")

FAST = AnalysisOptions(detector="classical", overlay=False, report=False)


@pytest.fixture(scope="module")
def sim_root(tmp_path_factory):
    from spermtrack.simulate import simulate_dataset

    root = tmp_path_factory.mktemp("sim")
    simulate_dataset(root, n_videos=3, num_frames=40, seed=7, density=12, workers=1)
    return root


@pytest.fixture()
def videos(sim_root, tmp_path):
    """Three good mp4 files and one truncated (corrupt) one, in a folder."""
    folder = tmp_path / "in"
    folder.mkdir()
    for vid in VisemDataset(sim_root).video_ids:
        shutil.copy(sim_root / vid / f"{vid}.mp4", folder / f"{vid}.mp4")
    data = (folder / "sim0001.mp4").read_bytes()
    (folder / "broken.mp4").write_bytes(data[: len(data) // 3])
    return folder


def test_expand_inputs_finds_videos_in_folders(sim_root, videos):
    found = expand_inputs([videos])
    assert [p.name for p in found] == ["broken.mp4", "sim0000.mp4", "sim0001.mp4", "sim0002.mp4"]
    # a VISEM root expands to its video folders, each once
    visem = expand_inputs([sim_root, sim_root / "sim0000"])
    assert sorted(p.name for p in visem) == ["sim0000", "sim0001", "sim0002"]
    with pytest.raises(SpermtrackError, match="no such file"):
        expand_inputs([videos / "nope.mp4"])
    empty = videos / "empty"
    empty.mkdir()
    with pytest.raises(SpermtrackError, match="no video here"):
        expand_inputs([empty])


def test_plan_jobs_makes_unique_names(tmp_path):
    a, b = tmp_path / "a" / "x.mp4", tmp_path / "b" / "x.mp4"
    jobs = plan_jobs([a, b], tmp_path / "out")
    assert [j.name for j in jobs] == ["x", "x_2"]


def test_summary_row_carries_the_progressive_share_and_its_interval():
    from spermtrack.batch import SUMMARY_COLUMNS, _row_from_summary

    s = {
        "video": {"num_frames": 150},
        "counts": {"tracks": 49, "valid_tracks": 35},
        "progressive_percent": 63.7,
        "progressive_ci95": [46.2, 78.5],
        "total_motility_percent": 63.7,
        "speeds": {"vsl": {"mean": 30.0}},
        "calibration": {"speed_unit": "µm/s"},
    }
    row = _row_from_summary(s)
    assert (row["progressive_pct"], row["progressive_ci95_low"], row["progressive_ci95_high"]) == (63.7, 46.2, 78.5)
    assert set(row) <= set(SUMMARY_COLUMNS)
    uncalibrated = _row_from_summary({**s, "progressive_percent": None, "progressive_ci95": None})
    assert uncalibrated["progressive_ci95_low"] is None and uncalibrated["progressive_ci95_high"] is None


@pytest.mark.slow
def test_batch_on_local_dask_cluster_reports_failures_and_reruns_only_missing_work(videos, tmp_path):
    out = tmp_path / "out"
    res = run_batch([videos], out, FAST, workers=2, progress=False)
    table = pd.read_csv(out / "summary.csv")
    assert list(table["video"]) == ["broken", "sim0000", "sim0001", "sim0002"]
    status = dict(zip(table["video"], table["status"]))
    assert status == {"broken": "failed", "sim0000": "done", "sim0001": "done", "sim0002": "done"}
    err = table.set_index("video").loc["broken", "error"]
    assert "VideoError" in err and "broken.mp4" in err and "frame" in err
    assert res.counts == {"done": 3, "failed": 1}
    # the work ran on the Dask workers (worker addresses, both processes used over 4 tasks is not guaranteed)
    assert all(str(w).startswith("tcp://") for w in table["worker"])
    for vid in ("sim0000", "sim0001", "sim0002"):
        kin = pd.read_csv(out / vid / "kinematics.csv")
        summary = json.loads((out / vid / "summary.json").read_text())
        assert summary["counts"]["tracks"] == len(kin)
        assert table.set_index("video").loc[vid, "frames"] == 40
        assert (out / vid / "tracks.txt").stat().st_size > 0
    assert not (out / "broken").exists(), "a failed video must leave no output folder"
    mtimes = {vid: (out / vid / "summary.json").stat().st_mtime_ns for vid in ("sim0000", "sim0001", "sim0002")}

    # An interrupted earlier run left a temporary folder for sim0002: it must be cleaned, and a
    # deleted output redone; the broken video is repaired by the user.
    shutil.rmtree(out / "sim0002")
    (out / ".sim0002.abc123.part").mkdir()
    shutil.copy(videos / "sim0001.mp4", videos / "broken.mp4")
    res2 = run_batch([videos], out, FAST, workers=2, progress=False)
    table2 = pd.read_csv(out / "summary.csv").set_index("video")
    assert table2["status"].to_dict() == {"broken": "done", "sim0000": "skipped", "sim0001": "skipped", "sim0002": "done"}
    assert res2.counts == {"done": 2, "skipped": 2}
    assert not (out / ".sim0002.abc123.part").exists()
    for vid in ("sim0000", "sim0001"):
        assert (out / vid / "summary.json").stat().st_mtime_ns == mtimes[vid], f"{vid} was redone"
        # the skipped rows keep the numbers of the run that made them
        assert table2.loc[vid, "tracks"] == table.set_index("video").loc[vid, "tracks"]


def test_clean_partials_only_touches_named_jobs(tmp_path):
    (tmp_path / ".a.x1.part").mkdir()
    (tmp_path / ".b.x2.part").mkdir()
    (tmp_path / "a").mkdir()
    assert clean_partials(tmp_path, ["a"]) == 1
    assert (tmp_path / ".b.x2.part").exists() and (tmp_path / "a").exists()


def test_batch_refuses_a_summary_csv_it_did_not_write(tmp_path, monkeypatch):
    import spermtrack.batch as batch

    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "v1.mp4").write_bytes(b"not a video")
    out = tmp_path / "OUT"
    out.mkdir()
    (out / "summary.csv").write_text("my,data\n1,2\n")
    monkeypatch.setattr(batch, "_run_on_dask", lambda *a, **k: pytest.fail("work started"))
    with pytest.raises(SpermtrackError, match=r"summary\.csv.*not a summary written by spermtrack"):
        run_batch([tmp_path / "bin" / "v1.mp4"], out, FAST, workers=1, progress=False)
    assert (out / "summary.csv").read_text() == "my,data\n1,2\n" and sorted(p.name for p in out.iterdir()) == ["summary.csv"]


def test_batch_that_cannot_start_leaves_no_out_folder(tmp_path, monkeypatch):
    import spermtrack.batch as batch

    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "v1.mp4").write_bytes(b"not a video")

    def unreachable(*args, **kwargs):
        raise OSError("Timed out trying to connect to tcp://127.0.0.1:1 after 30 s")
        yield  # a generator, as the real one

    monkeypatch.setattr(batch, "_run_on_dask", unreachable)
    with pytest.raises(OSError, match="connect"):
        run_batch([tmp_path / "bin" / "v1.mp4"], tmp_path / "new" / "OUT", FAST, scheduler="tcp://127.0.0.1:1", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin"], "an empty --out (or its parent) left behind"
    # an --out that existed before stays
    (tmp_path / "old").mkdir()
    with pytest.raises(OSError):
        run_batch([tmp_path / "bin" / "v1.mp4"], tmp_path / "old", FAST, scheduler="tcp://127.0.0.1:1", progress=False)
    assert (tmp_path / "old").is_dir() and not any((tmp_path / "old").iterdir())


@pytest.mark.slow
def test_pseudo_label_writes_a_visem_root_with_scores(sim_root, tmp_path):
    out = tmp_path / "pseudo"
    res = run_batch([sim_root / "sim0001" / "sim0001.mp4"], out, FAST, workers=1, task="pseudo-label", progress=False)
    assert res.counts == {"done": 1}
    ds = VisemDataset(out)
    assert ds.video_ids == ["sim0001"]
    video = ds.video("sim0001")
    assert video.num_frames == 40 and video.fps == pytest.approx(50.0)
    tracks = video.tracks()
    assert len(tracks) > 0 and len(tracks.unique_tracks()) > 0
    table = pd.read_csv(out / "sim0001" / "pseudo_labels.csv")
    assert len(table) == len(tracks)
    assert table["score"].between(0, 1).all()
    # the string ids of the CSV are those of labels_ftid
    assert set(table["track_name"]) == set(video.track_names.values())
    # labels/ and labels_ftid/ agree box for box
    labels = video.labels()
    np.testing.assert_allclose(np.sort(labels.cx), np.sort(tracks.cx), atol=1e-3)


def test_clip_cuts_and_drops_the_tail(sim_root, tmp_path):
    src = sim_root / "sim0000" / "sim0000.mp4"
    clips = clip_video(src, tmp_path / "clips", seconds=0.3)  # 15 frames at 50 fps: 2 clips of 40 frames, tail of 10 dropped
    assert [c.path.name for c in clips] == ["sim0000_clip_000.mp4", "sim0000_clip_001.mp4"]
    assert [(c.first_frame, c.last_frame) for c in clips] == [(0, 14), (15, 29)]
    for c in clips:
        with open_frames(c.path) as f:
            assert sum(1 for _ in f) == 15 and f.size == (640, 480)
    assert not any(p.name.endswith(".mp4") and "clip_002" in p.name for p in (tmp_path / "clips").iterdir())
    hidden = [p.name for p in (tmp_path / "clips").iterdir() if p.name.startswith(".")]
    assert hidden == [".spermtrack.json"], "no temporary files left, only the completion marker"
    index = pd.read_csv(tmp_path / "clips" / "clips.csv")
    assert list(index["file"]) == [c.path.name for c in clips]
    # the first clip holds the source's first frames
    with open_frames(src) as a, open_frames(clips[1].path) as b:
        src_frames = [f for _, f in zip(range(16), a)]
        first = next(iter(b))
    assert np.abs(first.astype(int) - src_frames[15].astype(int)).mean() < 4.0
    kept = clip_video(src, tmp_path / "tail", seconds=0.3, keep_tail=True)
    assert len(kept) == 3 and kept[-1].last_frame == 39


def test_clip_errors(sim_root, tmp_path):
    src = sim_root / "sim0000" / "sim0000.mp4"
    with pytest.raises(SpermtrackError, match="shorter than one"):
        clip_video(src, tmp_path / "c", seconds=5)
    assert not (tmp_path / "c" / "clips.csv").exists()
    assert not [p for p in (tmp_path / "c").iterdir()] if (tmp_path / "c").exists() else True
    with pytest.raises(SpermtrackError, match="seconds must be"):
        clip_video(src, tmp_path / "c", seconds=0)
    with pytest.raises(VideoError):
        clip_video(tmp_path / "missing.mp4", tmp_path / "c")
    with pytest.raises(SpermtrackError, match="frame rate is unknown"):
        clip_video(sim_root / "sim0000" / "images", tmp_path / "c")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seconds": float("inf")}, "seconds must be a positive finite number"),
        ({"seconds": float("nan")}, "seconds must be a positive finite number"),
        ({"fps": 1e7}, "fps=1e[+]07 is outside the plausible range 0.1-10000"),
        ({"fps": 1e-4}, "fps=0.0001 is outside the plausible range"),
    ],
)
def test_clip_refuses_infinite_lengths_and_implausible_rates(sim_root, tmp_path, kwargs, message):
    """clip --seconds inf said 'cannot convert float infinity to integer'; --fps 1e7 wrote clips analyze refuses."""
    with pytest.raises(SpermtrackError, match=message):
        clip_video(sim_root / "sim0000" / "sim0000.mp4", tmp_path / "c", **kwargs)
    assert not (tmp_path / "c").exists()


def test_dataset_stats_counts_match_labels(sim_root, tmp_path):
    stats = dataset_stats(sim_root)
    ds = VisemDataset(sim_root)
    total = 0
    for row in stats.per_video.itertuples(index=False):
        labels = ds.video(row.video).labels()
        total += len(labels)
        assert row.num_frames == labels.num_frames
        for c, name in enumerate(("sperm", "cluster", "small_or_pinhead")):
            assert getattr(row, name) == int(np.count_nonzero(labels.cls == c))
        np.testing.assert_array_equal(stats.counts_per_frame[row.video].sum(axis=1), labels.counts_per_frame())
    assert len(stats.boxes) == total
    assert stats.per_class["boxes"].sum() == total
    assert stats.per_class["fraction"].sum() == pytest.approx(1.0)
    paths = stats.save(tmp_path / "stats")
    for name in ("stats", "per_video", "per_class", "box_centers", "box_sizes", "counts_per_frame"):
        assert paths[name].is_file() and paths[name].stat().st_size > 0
    data = json.loads(paths["stats"].read_text())  # strict JSON: no NaN
    assert data["boxes"] == total and data["videos"] == 3


def test_cli_stats_and_clip(sim_root, tmp_path, capsys):
    from spermtrack.cli import main

    assert main(["stats", str(sim_root), "--out", str(tmp_path / "s"), "-q"]) == 0
    assert "sperm" in capsys.readouterr().out
    assert main(["clip", str(sim_root / "sim0000" / "sim0000.mp4"), "--seconds", "0.4", "--out", str(tmp_path / "c"), "-q"]) == 0
    assert len(list((tmp_path / "c").glob("*.mp4"))) == 2
    assert main(["clip", str(tmp_path / "nothing.mp4"), "--out", str(tmp_path / "c2"), "-q"]) == 1
    assert "nothing.mp4" in capsys.readouterr().err
    assert os.path.exists(tmp_path / "c" / "clips.csv")
