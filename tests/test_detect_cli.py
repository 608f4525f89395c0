"""The ``detect``, ``detect-eval`` and ``train`` verbs on a small simulated VISEM-layout root."""

import importlib.util
import json

import numpy as np
import pytest

from spermtrack.cli import main
from spermtrack.detect import ClassicalDetector, run_detector
from spermtrack.detect.evaluation import TABLE2_KEYS, evaluate_detector
from spermtrack.io.mot import read_mot
from spermtrack.io.visem import VisemDataset

simulate = pytest.importorskip("spermtrack.simulate", reason="needs the simulator")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    simulate.simulate_dataset(out, n_videos=2, num_frames=12, seed=4, look="mixed", workers=1, mp4=False)
    return out


def test_detect_eval_gt_is_perfect_and_json_keys(root, capsys):
    assert main(["detect-eval", str(root), "--detector", "gt", "--json", "--split", "all"]) == 0
    data = json.loads(capsys.readouterr().out)
    for key in TABLE2_KEYS:
        assert key in data
    # ultralytics' interpolated AP of a perfect detector is 0.995 (its precision envelope ends at recall 1)
    assert data["mAP50"] == pytest.approx(0.995) and data["recall"] == pytest.approx(1.0)
    assert data["mAP50-95"] == pytest.approx(0.995)
    assert data["fitness"] == pytest.approx(0.1 * data["mAP50"] + 0.9 * data["mAP50-95"])
    assert set(data["per_video"]) == set(VisemDataset(root).video_ids)


def test_detect_eval_gt_miss_lowers_recall(root):
    res = evaluate_detector(root, "gt", split="all", miss=0.5, seed=1)
    assert 0.35 < res.overall["recall"] < 0.65
    assert res.overall["precision"] == pytest.approx(1.0)


def test_detect_eval_classical_table(root, capsys, tmp_path):
    out = tmp_path / "scores.json"
    assert main(["detect-eval", str(root), "--detector", "classical", "--split", "val", "-q", "--output", str(out)]) == 0
    text = capsys.readouterr().out
    assert "mAP50-95" in text and "frames/s" in text
    data = json.loads(out.read_text())
    assert 0.0 < data["mAP50"] <= 1.0 and data["detector"] == "classical"
    # what the self-calibration read on each video, and whether it was sure
    assert set(data["looks"]) == set(data["per_video"])
    for look in data["looks"].values():
        assert look["polarity"] in ("bright", "dark") and isinstance(look["problems"], list)
        assert look["reliable"] == (look["problems"] == [])
    assert "self-calibration:" in text and "unsure" in text


def test_detect_eval_names_the_videos_whose_calibration_is_unsure(root, capsys):
    """The simulated videos read cleanly; a video whose look the self-calibration was unsure of
    (an entry added by hand here) is listed under the table with what to do; the ground-truth
    detector has no look to report."""
    from spermtrack.detect.evaluation import DetectorEvaluation

    res = evaluate_detector(root, "classical", split="all")
    assert res.looks and all(not look["problems"] for look in res.looks.values()), res.looks
    unsure = DetectorEvaluation(
        "classical",
        res.overall,
        res.per_video,
        res.per_class,
        res.frames,
        res.seconds,
        looks={**res.looks, "noise": {"polarity": "bright", "problems": ["the head polarity is unclear; pass --polarity"]}},
    )
    text = unsure.table()
    assert "1 unsure" in text and "  noise: the head polarity is unclear; pass --polarity" in text
    assert evaluate_detector(root, "gt", split="all").looks == {}


def test_detect_writes_mot_equal_to_the_library(root, tmp_path):
    video = VisemDataset(root).video(VisemDataset(root).video_ids[0])
    out = tmp_path / "det.txt"
    assert main(["detect", str(video.path), "-o", str(out), "--detector", "classical", "-q"]) == 0
    got = read_mot(out)
    with video.open_frames() as src:
        ref = run_detector(ClassicalDetector(), src)
    assert len(got) == len(ref) > 0
    assert np.allclose(got.xyxy, ref.xyxy, atol=0.01) and np.array_equal(got.cls, ref.cls)
    assert np.allclose(got.score, ref.score, atol=1e-3)


def test_bad_usage(root, capsys):
    assert main(["detect-eval", str(root), "--detector", "classical", "--conf", "0.1"]) == 1
    assert "--conf apply to YOLO detectors" in capsys.readouterr().err
    assert main(["detect-eval", str(root / "nowhere"), "--detector", "classical"]) == 1
    assert "nowhere" in capsys.readouterr().err


def test_detect_refuses_a_bad_device(root, tmp_path, capsys):
    """--device banana and a CUDA GPU that is not there used to run on the CPU and exit 0."""
    video = VisemDataset(root).video(VisemDataset(root).video_ids[0])
    out = tmp_path / "det.txt"
    assert main(["detect", str(video.path), "-o", str(out), "--device", "banana"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--device) must be auto, cpu, mps, cuda, cuda:N" in err and "'banana'" in err
    if importlib.util.find_spec("torch") is not None:
        import torch

        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        assert main(["detect", str(video.path), "-o", str(out), "--device", f"cuda:{n + 6}"]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"no CUDA GPU {n + 6} here" in err
    assert not out.exists()


def test_train_help_lists_options(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for opt in ("--model", "--epochs", "--imgsz", "--batch", "--split", "--device", "--out"):
        assert opt in text
