"""Tests of simulate_dataset and ``spermtrack simulate``: the VISEM layout, truth files, determinism."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from spermtrack.cli import main
from spermtrack.io.visem import OFFICIAL_SPLIT, VisemDataset
from spermtrack.simulate import simulate_dataset, simulate_video
from spermtrack.simulate.dataset import plan_dataset, read_truth, video_seed


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("sim")
    ids = simulate_dataset(root, n_videos=2, num_frames=15, seed=7, workers=1, density=20, pinheads=1, clusters=1)
    return root, ids


def test_written_dataset_loads_and_matches_the_truth(dataset):
    root, ids = dataset
    assert ids == ["sim0000", "sim0001"]
    ds = VisemDataset(root)
    assert ds.video_ids == ids
    assert sorted(ds.split("train") + ds.split("val")) == ids and len(ds.split("val")) == 1
    for i, vid in enumerate(ids):
        video = ds.video(vid)
        assert video.num_frames == 15 and video.image_size == (640, 480) and video.fps == pytest.approx(50.0)
        assert video.mp4_path is not None
        sim = simulate_video(seed=video_seed(7, i), num_frames=15, density=20, pinheads=1, clusters=1, look="mixed")
        labels = video.labels()
        assert np.array_equal(labels.counts_per_frame(), sim.boxes.counts_per_frame())
        tracks = video.tracks()
        assert tracks.equals(sim.boxes, atol=1e-3)
        assert video.track_names == {t: sim.track_names[t] for t in sim.boxes.unique_tracks().tolist()}
        heads, truth_tracks, params = read_truth(video.path)
        per_frame = heads[heads["labelled"]].groupby("frame").size().reindex(range(15), fill_value=0).to_numpy()
        assert np.array_equal(per_frame, labels.counts_per_frame())
        assert params["seed"] == video_seed(7, i) and params["video_id"] == vid
        assert {"vcl", "vsl", "alh_mean", "bcf", "who_class", "lateral_amplitude_um"} <= set(truth_tracks.columns)
        assert set(tracks.unique_tracks()) <= set(truth_tracks["track_id"])
        # the frames on disk are the simulator's (JPEG quality 95: within a few grey levels)
        first = next(iter(video.open_frames()))
        assert np.abs(first.astype(int) - sim.frame(0).astype(int)).mean() < 2.0
    summary = json.loads((root / "simulation.json").read_text())
    assert [v["vid"] for v in summary["videos"]] == ids and summary["seed"] == 7


def test_output_does_not_depend_on_the_number_of_workers(dataset, tmp_path):
    root, ids = dataset
    simulate_dataset(tmp_path, n_videos=2, num_frames=15, seed=7, workers=2, density=20, pinheads=1, clusters=1, mp4=False)
    for vid in ids:
        for sub in ("labels", "labels_ftid"):
            a = sorted((root / vid / sub).iterdir())
            b = sorted((tmp_path / vid / sub).iterdir())
            assert [p.name for p in a] == [p.name for p in b]
            assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b))
        img = f"images/{vid}_frame_9.jpg"
        assert (root / vid / img).read_bytes() == (tmp_path / vid / img).read_bytes()
        assert (root / vid / "truth/heads.csv").read_bytes() == (tmp_path / vid / "truth/heads.csv").read_bytes()
    assert (root / "split.json").read_bytes() == (tmp_path / "split.json").read_bytes()


def test_existing_videos_are_kept_unless_overwrite(dataset):
    root, _ = dataset
    with pytest.raises(FileExistsError, match="overwrite"):
        simulate_dataset(root, n_videos=1, num_frames=3, seed=7, workers=1)


def test_plan_like_visem_uses_the_real_ids_and_split():
    plans, split = plan_dataset(None, None, seed=0, like_visem=True)
    assert [p["vid"] for p in plans] == list(OFFICIAL_SPLIT["train"]) + list(OFFICIAL_SPLIT["val"])
    assert split == {k: list(v) for k, v in OFFICIAL_SPLIT.items()}
    frames = {p["vid"]: p["num_frames"] for p in plans}
    assert frames["35"] == 1440 and frames["82"] == 1500 and frames["11"] == 1470
    plans, split = plan_dataset(5, 100, seed=0, like_visem=True)
    assert len(plans) == 5 and len(split["val"]) == 1 and all(p["num_frames"] == 100 for p in plans)
    with pytest.raises(ValueError, match="1 to 20"):
        plan_dataset(21, 100, seed=0, like_visem=True)


def test_like_visem_dataset_loads_with_the_official_split(tmp_path):
    simulate_dataset(tmp_path, n_videos=2, num_frames=4, seed=1, like_visem=True, workers=1, mp4=False)
    ds = VisemDataset(tmp_path)
    assert ds.video_ids == ["11", "52"]
    assert ds.split("train") == ["11"] and ds.split("val") == ["52"]
    _, tracks, params = read_truth(tmp_path / "11")
    assert params["like_visem_video"] == "11" and params["density"] == pytest.approx(36.64)
    assert len(tracks) > 0 and set(tracks["cls"]) <= {0, 1, 2}


def test_cli_simulate(tmp_path, capsys):
    out = tmp_path / "cli"
    assert (
        main(["simulate", str(out), "--videos", "1", "--frames", "4", "--seed", "3", "--no-mp4", "-q", "--look", "bright"]) == 0
    )
    assert "wrote 1 video" in capsys.readouterr().out
    ds = VisemDataset(out)
    assert ds.video_ids == ["sim0000"] and ds.video("sim0000").num_frames == 4
    params = json.loads((out / "sim0000" / "truth" / "simulation.json").read_text())
    assert params["look"]["name"] == "bright"
    assert main(["simulate", str(out), "--videos", "1", "--frames", "4", "-q"]) == 1
    assert "overwrite" in capsys.readouterr().err
    assert main(["simulate", str(out), "--videos", "1", "--frames", "3", "-q", "--overwrite", "--no-mp4"]) == 0
    assert VisemDataset(out).video("sim0000").num_frames == 3
    heads = pd.read_csv(out / "sim0000" / "truth" / "heads.csv")
    assert heads["frame"].max() == 2
    # a new root is written as one transaction; --overwrite replaces it as a whole, with its completion marker
    from spermtrack.results import read_marker, verify

    assert verify(out).ok and [r["frames"] for r in read_marker(out)["settings"]["runs"]] == [3]


def test_cli_simulate_overwrite_with_fewer_videos_leaves_exactly_the_new_dataset(tmp_path, capsys):
    """--overwrite builds the new dataset aside and swaps it in: no old video folder stays beside a split.json,
    simulation.json and completion marker that do not list it; a root holding a file simulate does not write is
    refused before any work, naming the file, and left as it was."""
    from spermtrack.results import MARKER, read_marker, verify

    out = tmp_path / "sim"
    assert main(["simulate", str(out), "--videos", "2", "--frames", "3", "-q", "--no-mp4"]) == 0
    assert main(["simulate", str(out), "--videos", "1", "--frames", "2", "-q", "--no-mp4", "--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "sim0000", "simulation.json", "split.json"]
    assert json.loads((out / "simulation.json").read_text())["n_videos"] == 1
    assert VisemDataset(out).video_ids == ["sim0000"] and VisemDataset(out).video("sim0000").num_frames == 2
    check = verify(out)
    assert check.ok and not check.extra and not any(f.startswith("sim0001/") for f in read_marker(out)["files"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sim"]  # no temporary, old or lock folder left beside it
    # a file of the user's in the root: refused, nothing touched
    (out / "notes.txt").write_text("mine")
    before = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    capsys.readouterr()
    assert main(["simulate", str(out), "--videos", "3", "--frames", "2", "-q", "--no-mp4", "--overwrite"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{out / 'notes.txt'}: not a file spermtrack simulate writes" in err
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == before and (out / "notes.txt").read_text() == "mine"


def test_cli_simulate_never_writes_into_a_folder_it_did_not_write(tmp_path, capsys):
    # a real VISEM root: video 11 and the user's split
    real = tmp_path / "real"
    (real / "11" / "labels").mkdir(parents=True)
    (real / "11" / "labels" / "11_frame_0.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    split = '{"train":["11"],"val":["11"]}'
    (real / "split.json").write_text(split)
    for extra in ([], ["--overwrite"]):
        assert main(["simulate", str(real), "--videos", "1", "--frames", "3", "-q", "--no-mp4", *extra]) == 1
        err = capsys.readouterr().err
        assert "no .spermtrack.json" in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in real.iterdir()) == ["11", "split.json"] and (real / "split.json").read_text() == split
    # --overwrite replaces only video folders the simulator wrote, with nothing added
    out = tmp_path / "sim"
    assert main(["simulate", str(out), "--videos", "1", "--frames", "3", "-q", "--no-mp4"]) == 0
    (out / "sim0000" / "notes.txt").write_text("mine")
    assert main(["simulate", str(out), "--videos", "1", "--frames", "3", "-q", "--no-mp4", "--overwrite"]) == 1
    assert "notes.txt" in capsys.readouterr().err
    assert (out / "sim0000" / "notes.txt").read_text() == "mine"
    from spermtrack.results import verify

    assert verify(out).ok  # the refusal came before anything was touched
    # a marker-less root holding a user's sim0000/ (the library call refuses too)
    foreign = tmp_path / "foreign"
    (foreign / "sim0000" / "images").mkdir(parents=True)
    (foreign / "sim0000" / "notes.txt").write_text("mine")
    assert main(["simulate", str(foreign), "--videos", "1", "--frames", "3", "-q", "--overwrite"]) == 1
    from spermtrack.errors import OutputError

    with pytest.raises(OutputError, match=r"spermtrack\.json"):
        simulate_dataset(foreign, n_videos=1, num_frames=3, workers=1, mp4=False, overwrite=True)
    assert (foreign / "sim0000" / "notes.txt").read_text() == "mine" and sorted(p.name for p in foreign.iterdir()) == ["sim0000"]


def test_an_interrupted_update_of_a_simulated_root_can_be_finished(tmp_path, capsys):
    """Videos added to a simulated root lift its completion marker while they are written; a run
    interrupted then leaves the marker aside (UPDATING), so the root is still spermtrack's: verify calls
    it incomplete, and the next simulate into it is not refused but finishes the update."""
    from spermtrack.cli.simulate import UPDATING
    from spermtrack.results import MARKER, verify

    out = tmp_path / "sim"
    assert main(["simulate", str(out), "--videos", "1", "--frames", "3", "-q", "--no-mp4"]) == 0
    (out / MARKER).rename(out / UPDATING)  # as a run interrupted while adding videos leaves it
    assert not verify(out).ok
    assert main(["simulate", str(out), "--videos", "2", "--frames", "3", "-q", "--no-mp4", "--overwrite"]) == 0, (
        capsys.readouterr().err
    )
    assert verify(out).ok and not (out / UPDATING).exists()
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["sim0000", "sim0001"]
