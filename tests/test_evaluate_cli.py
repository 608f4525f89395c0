"""``spermtrack evaluate GT HYP``: MOT files, VISEM video folders and roots, JSON, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from evaluate_cases import swimming_case

from spermtrack.cli import main
from spermtrack.evaluate import tracking, tracking_many
from spermtrack.io.mot import read_mot, write_mot
from spermtrack.io.visem import write_video


def _shift_into_frame(b):
    """Move boxes inside a 640x480 frame (the VISEM writer normalises by the image size)."""
    return b.replace(x1=b.x1 + 100, x2=b.x2 + 100, y1=b.y1 + 100, y2=b.y2 + 100)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    videos = {"11": swimming_case(1, num_frames=20), "12": swimming_case(2, num_frames=25)}
    videos = {v: (_shift_into_frame(g), _shift_into_frame(h)) for v, (g, h) in videos.items()}
    for vid, (gt, hyp) in videos.items():
        write_video(root / "gt", vid, gt, mp4=False, image_size=(640, 480))
        write_video(root / "hyp", vid, hyp, mp4=False, image_size=(640, 480))
        (root / "mot_gt").mkdir(exist_ok=True)
        (root / "mot_hyp").mkdir(exist_ok=True)
        write_mot(root / "mot_gt" / f"{vid}.txt", gt, with_class=True)
        write_mot(root / "mot_hyp" / f"{vid}.txt", hyp, with_class=True)
    return root, videos


def run_json(capsys, *argv):
    assert main(["evaluate", *map(str, argv), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_mot_files(data, capsys):
    root, _ = data
    out = run_json(capsys, root / "mot_gt" / "11.txt", root / "mot_hyp" / "11.txt")
    gt, hyp = read_mot(root / "mot_gt" / "11.txt"), read_mot(root / "mot_hyp" / "11.txt")
    ref = tracking(gt, hyp, num_frames=max(gt.num_frames, hyp.num_frames), per_class=False)
    t = out["tracking"]
    for k in ("mota", "idf1", "hota", "idsw", "fp", "fn"):
        assert t[k] == pytest.approx(getattr(ref, k), abs=1e-12), k
    assert "per_class" not in t and "detection" not in out


def test_visem_video_folders_table(data, capsys):
    root, videos = data
    assert main(["evaluate", str(root / "gt" / "12"), str(root / "hyp" / "12"), "--per-class"]) == 0
    text = capsys.readouterr().out
    assert "HOTA" in text and "MOTA" in text and "sperm" in text
    gt, hyp = videos["12"]
    ref = tracking(gt, hyp)  # the labels' round trip through normalised text keeps the scores
    line = next(ln for ln in text.splitlines() if ln.startswith("12 ") and " all " in ln)
    assert f"{100 * ref.mota:.1f}" in line and f"{100 * ref.idf1:.1f}" in line


def test_visem_roots_are_combined(data, capsys, tmp_path):
    root, videos = data
    out_file = tmp_path / "scores.json"
    out = run_json(capsys, root / "gt", root / "hyp", "--per-class", "--iou", "0.4", "-o", out_file)
    assert json.loads(out_file.read_text()) == out
    t = out["tracking"]
    assert t["name"] == "combined" and set(t["per_video"]) == {"11", "12"} and t["iou_threshold"] == 0.4
    ref = tracking_many(videos, 0.4)
    assert t["mota"] == pytest.approx(ref.mota, abs=1e-9) and t["hota"] == pytest.approx(ref.hota, abs=1e-6)
    assert set(t["per_class"]) == set(ref.per_class)
    # a folder of <video>.txt MOT files against the VISEM root gives the same counts
    from_mot = run_json(capsys, root / "gt", root / "mot_hyp")["tracking"]
    from_visem = run_json(capsys, root / "gt", root / "hyp")["tracking"]
    for k in ("num_gt", "num_hyp", "idsw", "fp", "fn", "idtp"):
        assert from_mot[k] == from_visem[k], k


def test_detection_columns(data, capsys):
    root, _ = data
    out = run_json(capsys, root / "mot_gt" / "11.txt", root / "mot_hyp" / "11.txt", "--detection")
    d = out["detection"]
    for k in ("precision", "recall", "mAP50", "mAP50-95", "fitness"):
        assert 0.0 <= d[k] <= 1.0
    assert main(["evaluate", str(root / "mot_gt" / "11.txt"), str(root / "mot_hyp" / "11.txt"), "--detection"]) == 0
    assert "mAP50-95" in capsys.readouterr().out


def test_bad_input_exit_codes(data, capsys, tmp_path):
    root, _ = data
    assert main(["evaluate", str(tmp_path / "missing.txt"), str(root / "mot_hyp" / "11.txt")]) == 1
    assert "no such file" in capsys.readouterr().err
    dup = tmp_path / "dup.txt"
    dup.write_text("1,1,10,10,5,5,1,-1,-1,-1\n1,1,20,20,5,5,1,-1,-1,-1\n")
    assert main(["evaluate", str(dup), str(root / "mot_hyp" / "11.txt")]) == 1
    err = capsys.readouterr().err
    assert "dup.txt" in err and "track id 1 twice in frame 0" in err
    bad = tmp_path / "bad.txt"
    bad.write_text("1,1,10,10,5\n")
    assert main(["evaluate", str(bad), str(dup)]) == 1
    assert "bad.txt" in capsys.readouterr().err
    # a root lacking a ground-truth video
    write_video(tmp_path / "partial", "11", data[1]["11"][1], mp4=False, image_size=(640, 480))
    assert main(["evaluate", str(root / "gt"), str(tmp_path / "partial")]) == 1
    assert "no hypothesis for video(s) ['12']" in capsys.readouterr().err


def test_hypothesis_longer_than_visem_ground_truth_is_an_error(data, capsys, tmp_path):
    root, videos = data
    hyp = videos["11"][1]
    longer = hyp.replace(frame=hyp.frame + 5, num_frames=hyp.num_frames + 5)
    write_mot(tmp_path / "long.txt", longer)
    assert main(["evaluate", str(root / "gt" / "11"), str(tmp_path / "long.txt")]) == 1
    assert "frame 24 (0-based; 25 in MOTChallenge files), beyond num_frames=20" in capsys.readouterr().err
    assert np.max(longer.frame) >= 20


@pytest.mark.parametrize("frames", [15, 25])
def test_hypothesis_folder_of_another_length_than_visem_ground_truth_is_an_error(data, capsys, tmp_path, frames):
    """Both VISEM folders know their length: a shorter hypothesis (its missing frames would be scored as misses) is an
    error naming both counts, as a longer one is."""
    root, videos = data
    hyp = videos["11"][1]
    keep = hyp.frame < frames
    cut = type(hyp)(**{c: getattr(hyp, c)[keep] for c in ("frame", "x1", "y1", "x2", "y2", "score", "cls", "track_id")},
                    num_frames=frames)  # fmt: skip
    write_video(tmp_path / "hyp", "11", cut, mp4=False, image_size=(640, 480))
    assert main(["evaluate", str(root / "gt" / "11"), str(tmp_path / "hyp" / "11")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("spermtrack evaluate: error: video 11: ")
    assert f"covers {frames} frames but the ground truth {root / 'gt' / '11'} 20" in err


def _analyze_folder(folder, tracks, source, num_frames, labels_from=None):
    """The files of a ``spermtrack analyze`` result that evaluate reads (tracks.txt, summary.json), beside a
    labels_ftid/ as analyze writes one (normalised labels: no image size in the folder)."""
    import shutil

    folder.mkdir(parents=True)
    write_mot(folder / "tracks.txt", tracks, with_class=True)
    summary = {"source": str(source), "video": {"num_frames": num_frames, "fps": 50.0, "width": 640, "height": 480}}
    (folder / "summary.json").write_text(json.dumps(summary))
    if labels_from is not None:
        shutil.copytree(labels_from / "labels_ftid", folder / "labels_ftid")


def test_an_analyze_result_folder_is_a_hypothesis(data, capsys, tmp_path):
    root, videos = data
    for vid in ("11", "12"):
        _analyze_folder(
            tmp_path / "batch" / vid,
            videos[vid][1],
            root / "gt" / vid / f"{vid}.mp4",
            videos[vid][0].num_frames,
            root / "hyp" / vid,
        )
    # one result folder, named otherwise than its video: paired as the only video of each side
    (tmp_path / "batch" / "11").rename(tmp_path / "res")
    got = run_json(capsys, root / "gt" / "11", tmp_path / "res")["tracking"]
    assert got == run_json(capsys, root / "gt" / "11", root / "mot_hyp" / "11.txt")["tracking"]
    (tmp_path / "res").rename(tmp_path / "batch" / "11")
    # a batch --out folder (one result folder per video) against the VISEM root
    got = run_json(capsys, root / "gt", tmp_path / "batch")["tracking"]
    ref = run_json(capsys, root / "gt", root / "mot_hyp")["tracking"]
    for k in ("num_gt", "num_hyp", "idsw", "fp", "fn", "idtp", "mota", "hota"):
        assert got[k] == ref[k], k
    # its length is the frames analysed: fewer than the ground truth's is an error naming both
    (tmp_path / "batch" / "12" / "summary.json").write_text(json.dumps({"source": "12.mp4", "video": {"num_frames": 30}}))
    assert main(["evaluate", str(root / "gt" / "12"), str(tmp_path / "batch" / "12")]) == 1
    assert "covers 30 frames but the ground truth" in capsys.readouterr().err
    (tmp_path / "batch" / "12" / "summary.json").write_text("{}")
    assert main(["evaluate", str(root / "gt" / "12"), str(tmp_path / "batch" / "12")]) == 1
    err = capsys.readouterr().err
    assert "summary.json: no number of frames (video.num_frames" in err and len(err.strip().splitlines()) == 1
