"""spermtrack.io.visem: reading the released VISEM-Tracking layout, the split, folds and write_video."""

from __future__ import annotations

import json
import random
import re
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
from io_fixtures import cuid, make_real_video, write_image, write_label

from spermtrack import Boxes, DatasetError, FormatError, VideoError
from spermtrack.errors import BoxesError
from spermtrack.io import VisemDataset, VisemVideo, open_frames, write_video
from spermtrack.io.labels import labelbox_id
from spermtrack.io.video import VideoWriter
from spermtrack.io.visem import DEFAULT_FPS, OFFICIAL_SPLIT

#: VISEM-Tracking's official per-frame counts (CC BY 4.0), vendored as test data.
VENDORED_COUNTS = Path(__file__).parent / "data" / "visem" / "sperm_counts_per_frame.csv"


def _tracks_per_frame(n_frames: int, seed: int, n_tracks: int = 6) -> list[list[tuple[str, int]]]:
    rng = random.Random(seed)
    names = [cuid(rng) for _ in range(n_tracks)]
    classes = [rng.choice([0, 0, 0, 1, 2]) for _ in names]
    out = []
    for _ in range(n_frames):
        present = [k for k in range(n_tracks) if rng.random() < 0.8]
        rng.shuffle(present)
        out.append([(names[k], classes[k]) for k in present])
    return out


@pytest.fixture()
def released(tmp_path):
    """A nested copy in the released layout: Train/11, Train/12 and Val/52, string ids, a missing and an empty label file."""
    root = tmp_path / "VISEM_Tracking_Train_v4"
    exp = {}
    exp["11"] = make_real_video(root / "Train", "11", _tracks_per_frame(12, 1), missing_label={3}, empty_label={5}, seed=1)
    exp["12"] = make_real_video(root / "Train", "12", _tracks_per_frame(7, 2), seed=2)
    exp["52"] = make_real_video(root / "Val" / "deeper", "52", _tracks_per_frame(5, 3), width=320, height=240, seed=3)
    return root, exp


# --------------------------------------------------------------------------- reading the released layout


def test_nested_root_is_found_and_sorted_naturally(released, tmp_path):
    root, _ = released
    (root / "Train" / "9" / "images").mkdir(parents=True)  # "9" sorts before "11"
    write_image(root / "Train" / "9" / "images" / "9_frame_0.jpg", 64, 48, 1)
    (root / ".52.tmp123.part" / "labels").mkdir(parents=True)  # a half-written folder is hidden
    ds = VisemDataset(tmp_path)
    assert ds.video_ids == ["9", "11", "12", "52"]
    assert ds.video(52).path == root / "Val" / "deeper" / "52"
    assert "11" in ds and 11 in ds and "13" not in ds
    assert [v.id for v in ds] == ds.video_ids


def test_labels_and_tracks_read_back_unchanged(released):
    root, exp = released
    ds = VisemDataset(root)
    for vid, e in exp.items():
        v = ds.video(vid)
        w, h = (320, 240) if vid == "52" else (640, 480)
        assert v.image_size == (w, h)
        assert v.num_frames == len(list((v.path / "images").iterdir()))
        lab = v.labels()
        trk = v.tracks()
        for b in (lab, trk):
            assert b.num_frames == v.num_frames
            np.testing.assert_array_equal(b.frame, e["frame"])
            np.testing.assert_array_equal(b.cls, e["cls"])
            np.testing.assert_array_equal(b.xyxy, e["xyxy"])  # exact: same float64 arithmetic, then float32
        assert np.all(lab.track_id == -1)
        # string ids -> integers by first appearance, mapping kept
        names = v.track_names
        assert [names[i] for i in trk.track_id.tolist()] == e["names"]
        first_seen = list(dict.fromkeys(e["names"]))
        assert [names[i] for i in range(len(first_seen))] == first_seen


def test_missing_and_empty_label_files_are_frames_without_boxes(released):
    root, exp = released
    v = VisemDataset(root).video("11")
    assert not (v.path / "labels" / "11_frame_3.txt").exists()
    assert (v.path / "labels" / "11_frame_5.txt").read_text() == ""
    counts = v.labels().counts_per_frame()
    assert counts[3] == 0 and counts[5] == 0
    assert counts.sum() == len(exp["11"]["frame"]) > 0


def test_fps_defaults_without_mp4_and_comes_from_the_mp4(released):
    root, _ = released
    v = VisemDataset(root).video("12")
    assert (v.fps, v.fps_source) == (DEFAULT_FPS, "default")
    with VideoWriter(v.path / "12.mp4", fps=25, size=(640, 480)) as w:
        for _ in range(3):
            w.write(np.zeros((480, 640, 3), np.uint8))
    v = VisemVideo(v.path)
    assert (v.fps, v.fps_source) == (25.0, "mp4")
    assert v.num_frames == 7  # images win over the mp4


def test_mp4_only_folder(tmp_path):
    folder = tmp_path / "60"
    with VideoWriter(folder / "60.mp4", fps=50, size=(160, 120)) as w:
        for i in range(6):
            w.write(np.full((120, 160, 3), 30 * i, np.uint8))
    write_label(folder / "labels" / "60_frame_2.txt", [[0, 0.5, 0.5, 0.25, 0.5]])
    v = VisemDataset(tmp_path).video("60")
    assert (v.num_frames, v.image_size, v.fps) == (6, (160, 120), 50.0)
    np.testing.assert_allclose(v.labels().xyxy, [[60, 30, 100, 90]])
    with v.open_frames() as src:
        frames = list(src)
    assert len(frames) == 6 and frames[0].shape == (120, 160, 3)
    assert abs(float(frames[5].mean()) - 150) < 3


def test_crlf_tabs_and_trailing_space_are_tolerated(tmp_path):
    folder = tmp_path / "13"
    write_image(folder / "images" / "13_frame_0.jpg", 100, 50, 0)
    (folder / "labels").mkdir()
    (folder / "labels" / "13_frame_0.txt").write_bytes(b"0 0.5 0.5 0.1 0.2 \r\n\r\n1\t0.25  0.75 0.1 0.2")
    b = VisemVideo(folder).labels()
    np.testing.assert_allclose(b.xyxy, [[45, 20, 55, 30], [20, 32.5, 30, 42.5]], atol=1e-5)
    assert b.cls.tolist() == [0, 1]


def test_counts_per_frame_and_class_follow_the_reference_csv(tmp_path):
    csv = VENDORED_COUNTS  # the official CSV, vendored (tests/data/visem/README.md)
    import pandas as pd

    df = pd.read_csv(csv)
    assert list(df.columns) == ["frame_name", " sperm_count", " cluster_count", " small_or_pinhead_count"]
    df.columns = [c.strip() for c in df.columns]
    parts = df["frame_name"].str.rsplit("_frame_", n=1, expand=True)
    df["vid"], df["f"] = parts[0], parts[1].astype(int)
    rng = random.Random(7)
    # video 23 around its gap (no rows for frames 823-972) and video 12, which has clusters and pinheads
    for vid, start, stop in (("23", 800, 990), ("12", 300, 360)):
        sub = df[(df.vid == vid) & (df.f >= start) & (df.f < stop)].set_index("f")
        per_frame, missing = [], set()
        want = np.zeros((stop - start, 3), np.int64)
        for f in range(start, stop):
            if f not in sub.index:
                per_frame.append([])
                missing.add(f - start)
                continue
            row = sub.loc[f]
            n = [int(row.sperm_count), int(row.cluster_count), int(row.small_or_pinhead_count)]
            want[f - start] = n
            boxes = [(cuid(rng), c) for c in (0, 1, 2) for _ in range(n[c])]
            rng.shuffle(boxes)
            per_frame.append(boxes)
        make_real_video(tmp_path, vid, per_frame, missing_label=missing, seed=int(vid))
        v = VisemDataset(tmp_path).video(vid)
        if vid == "23":
            assert len(missing) == 150  # frames 823..972
        for b in (v.labels(), v.tracks()):
            got = np.stack([np.bincount(b.frame[b.cls == c], minlength=v.num_frames) for c in (0, 1, 2)], axis=1)
            np.testing.assert_array_equal(got, want)
        assert want[:, 1:].sum() > 0 or vid == "23"


# --------------------------------------------------------------------------- bad input


BAD_LINES = [
    ("0 0.5 0.5 0.1\n", "expected 5 fields"),
    ("0 0.5 0.5 0.1 0.1 0.3\n", "expected 5 fields"),
    ("0 0.5 abc 0.1 0.1\n", "not a number"),
    ("0 0.5 nan 0.1 0.1\n", "not a finite number"),
    ("0 1.2 0.5 0.1 0.1\n", "outside [0, 1]"),
    ("0 0.5 -0.3 0.1 0.1\n", "outside [0, 1]"),
    ("0 0.5 0.5 -0.1 0.1\n", "negative"),
    ("0 0.5 0.5 0.1 -0.01\n", "negative"),
    ("1.5 0.5 0.5 0.1 0.1\n", "whole number"),
    ("-1 0.5 0.5 0.1 0.1\n", "whole number"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_LINES)
def test_malformed_label_line_names_file_and_line(tmp_path, bad, message):
    folder = tmp_path / "14"
    for f in range(3):
        write_image(folder / "images" / f"14_frame_{f}.jpg", 64, 48, f)
    write_label(folder / "labels" / "14_frame_0.txt", [[0, 0.5, 0.5, 0.1, 0.1]])
    path = folder / "labels" / "14_frame_2.txt"
    path.write_text("0 0.5 0.5 0.1 0.1\n\n" + bad)  # the bad line is line 3
    with pytest.raises(FormatError, match=re.escape(message)) as err:
        VisemVideo(folder).labels()
    assert err.value.path == path and err.value.line == 3
    assert f"{path}, line 3" in str(err.value)


def test_malformed_ftid_line_names_file_and_line(tmp_path):
    folder = tmp_path / "15"
    write_image(folder / "images" / "15_frame_0.jpg", 64, 48, 0)
    path = folder / "labels_ftid" / "15_frame_0_with_ftid.txt"
    write_label(path, [["ckywztf0j000y386lthcp1w6h", 0, 0.5, 0.5, 0.1, 0.1], [0, 0.5, 0.5, 0.1, 0.1]])
    with pytest.raises(FormatError, match="expected 6 fields") as err:
        VisemVideo(folder).tracks()
    assert (err.value.path, err.value.line) == (path, 2)


def test_small_tolerance_outside_the_frame(tmp_path):
    folder = tmp_path / "16"
    write_image(folder / "images" / "16_frame_0.jpg", 64, 48, 0)
    write_label(folder / "labels" / "16_frame_0.txt", [[0, 1.005, -0.004, 0.1, 0.1]])
    assert len(VisemVideo(folder).labels()) == 1
    with pytest.raises(FormatError, match="outside"):
        VisemVideo(folder).labels(tolerance=0.0)


def test_label_file_without_an_image_is_reported(released):
    root, _ = released
    v = VisemDataset(root).video("12")
    extra = v.path / "labels" / "12_frame_7.txt"  # images are 0..6
    write_label(extra, [[0, 0.5, 0.5, 0.1, 0.1]])
    with pytest.raises(DatasetError, match=re.escape(str(extra))):
        VisemVideo(v.path).labels()


def test_gap_in_images_is_reported(released):
    root, _ = released
    v = VisemDataset(root).video("12")
    (v.path / "images" / "12_frame_4.jpg").unlink()
    with pytest.raises(DatasetError, match="frame 4 has no image"):
        _ = VisemVideo(v.path).num_frames


def test_missing_folders_name_the_path(tmp_path):
    with pytest.raises(DatasetError, match=re.escape(str(tmp_path / "nope"))):
        VisemDataset(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no VISEM video folder"):
        VisemDataset(tmp_path / "empty")
    folder = tmp_path / "20"
    write_label(folder / "labels" / "20_frame_0.txt", [[0, 0.5, 0.5, 0.1, 0.1]])
    with pytest.raises(VideoError, match=re.escape(str(folder / "images"))):
        VisemVideo(folder).open_frames()
    with pytest.raises(VideoError, match=re.escape(str(folder / "images"))):
        open_frames(folder)
    with pytest.raises(DatasetError, match="image size"):
        VisemVideo(folder).labels()
    with pytest.raises(DatasetError, match="labels_ftid"):
        VisemVideo(folder).tracks()


def test_unreadable_mp4_names_the_path(tmp_path):
    folder = tmp_path / "21"
    folder.mkdir()
    (folder / "21.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    with pytest.raises(VideoError, match=re.escape(str(folder / "21.mp4"))):
        _ = VisemVideo(folder).num_frames


# --------------------------------------------------------------------------- split and folds


def test_official_split(tmp_path):
    for vid in ("11", "23", "52", "82", "99"):
        write_image(tmp_path / "Train" / vid / "images" / f"{vid}_frame_0.jpg", 32, 24, 0)
    ds = VisemDataset(tmp_path)
    assert ds.split_source == "official"
    with pytest.warns(UserWarning, match="not found"):
        assert ds.split("train") == ["11", "23"]
    with pytest.warns(UserWarning):
        assert ds.split("val") == ds.split("validation") == ["52", "82"]
    assert OFFICIAL_SPLIT["val"] == ("52", "54", "60", "82") and len(OFFICIAL_SPLIT["train"]) == 16
    with pytest.raises(DatasetError, match="unknown split"):
        ds.split("test")


def test_split_json_overrides(tmp_path):
    for vid in ("1", "2", "3"):
        write_image(tmp_path / vid / "images" / f"{vid}_frame_0.jpg", 32, 24, 0)
    (tmp_path / "split.json").write_text(json.dumps({"train": [1, "3"], "val": ["2"]}))
    ds = VisemDataset(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert (ds.split("train"), ds.split("val"), ds.split_source) == (["1", "3"], ["2"], "split.json")
    (tmp_path / "split.json").write_text("{not json")
    with pytest.raises(FormatError, match=r"split\.json"):
        VisemDataset(tmp_path)


def test_folds_leave_videos_out(tmp_path):
    ids = [str(i) for i in (11, 12, 13, 14, 15, 19, 21)]
    for vid in ids:
        write_image(tmp_path / vid / "images" / f"{vid}_frame_0.jpg", 32, 24, 0)
    ds = VisemDataset(tmp_path)
    for k, seed in ((3, None), (3, 5), (None, None)):
        folds = ds.folds(k, seed=seed)
        assert len(folds) == (k or len(ids))
        vals = [v for _, val in folds for v in val]
        assert sorted(vals) == sorted(ids)  # each video validated exactly once
        for train, val in folds:
            assert set(train) | set(val) == set(ids) and not set(train) & set(val)
        sizes = [len(val) for _, val in folds]
        assert max(sizes) - min(sizes) <= 1
        assert folds == ds.folds(k, seed=seed)  # deterministic
    assert ds.folds(3)[0][1] == ["11", "14", "21"]
    assert ds.leave_one_out()[2] == ([v for v in ids if v != "13"], ["13"])
    for bad in (1, 8):
        with pytest.raises(DatasetError, match="k must be"):
            ds.folds(bad)


# --------------------------------------------------------------------------- writing


def _random_tracks(num_frames: int, n_tracks: int, seed: int, size=(640, 480)) -> Boxes:
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(n_tracks):
        start = int(rng.integers(0, num_frames))
        stop = int(rng.integers(start + 1, num_frames + 1))
        for f in range(start, stop):
            w, h = rng.uniform(2, 50, 2)
            cx, cy = rng.uniform(w / 2, size[0] - w / 2), rng.uniform(h / 2, size[1] - h / 2)
            rows.append((f, cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, t % 3, 1000 + 7 * t))
    a = np.array(rows)
    return Boxes.from_unsorted(a[:, 0], a[:, 1], a[:, 2], a[:, 3], a[:, 4], cls=a[:, 5], track_id=a[:, 6], num_frames=num_frames)


def test_write_video_round_trip(tmp_path):
    boxes = _random_tracks(30, 12, seed=4)
    boxes = boxes.select_frames(0, 30).replace(num_frames=32)  # two trailing frames without boxes
    frames = (np.full((480, 640, 3), 8 * i, np.uint8) for i in range(32))
    path = write_video(tmp_path / "sim", "101", boxes, frames=frames, fps=48.0)
    assert sorted(p.name for p in path.iterdir()) == ["101.mp4", "images", "labels", "labels_ftid", "spermtrack.json"]
    v = VisemDataset(tmp_path / "sim").video("101")
    assert (v.num_frames, v.image_size, v.fps, v.fps_source) == (32, (640, 480), 48.0, "mp4")
    assert len(list((path / "images").iterdir())) == 32
    non_empty = int(np.count_nonzero(boxes.counts_per_frame()))
    assert len(list((path / "labels").iterdir())) == non_empty == len(list((path / "labels_ftid").iterdir()))
    tr = v.tracks()
    assert tr.equals(boxes, atol=1e-9), np.abs(tr.xyxy - boxes.xyxy).max()
    assert v.labels().equals(boxes.replace(track_id=np.full(len(boxes), -1)), atol=1e-9)
    names = v.track_names
    assert set(names) == set(boxes.unique_tracks().tolist())
    assert all(re.fullmatch(r"c[0-9a-z]{24}", n) for n in names.values())
    assert names[1000] == labelbox_id("101", 1000)
    line = (path / "labels_ftid" / f"101_frame_{int(boxes.frame[0])}_with_ftid.txt").read_text().splitlines()[0]
    assert re.fullmatch(r"c[0-9a-z]{24} [012]( [0-9.e-]+){4}", line)
    with v.open_frames() as src:
        assert [int(img[0, 0, 0]) for img in src] == [8 * i for i in range(32)]


def test_write_video_ids_survive_a_reader_without_the_sidecar(tmp_path):
    boxes = _random_tracks(10, 4, seed=5, size=(320, 240))
    given = {int(t): f"track{t}" for t in boxes.unique_tracks()}
    path = write_video(tmp_path, "7", boxes, image_size=(320, 240), track_names=given)
    v = VisemVideo(path)
    assert v.track_names == given and np.array_equal(v.tracks().track_id, boxes.track_id)
    (path / "spermtrack.json").unlink()
    with pytest.raises(DatasetError, match="image size"):  # no images, no mp4, no sidecar
        VisemVideo(path).tracks()
    write_image(path / "images" / "7_frame_0.jpg", 320, 240, 0)
    for f in range(1, 10):
        write_image(path / "images" / f"7_frame_{f}.jpg", 320, 240, f)
    v = VisemVideo(path)
    order = list(dict.fromkeys(boxes.track_id.tolist()))
    assert v.track_names == {i: given[t] for i, t in enumerate(order)}  # first appearance
    assert np.allclose(v.tracks().xyxy, boxes.xyxy, atol=1e-4)


def test_write_video_without_frames_and_untracked(tmp_path):
    tracked = _random_tracks(6, 3, seed=6)
    boxes = tracked.replace(track_id=np.full(len(tracked), -1))
    path = write_video(tmp_path, 5, boxes, image_size=(640, 480))
    assert sorted(p.name for p in path.iterdir()) == ["labels", "spermtrack.json"]
    v = VisemVideo(path)
    assert (v.num_frames, v.image_size, v.fps_source) == (boxes.num_frames, (640, 480), "spermtrack.json")
    assert v.labels().equals(boxes, atol=1e-9)


def test_write_video_is_atomic(tmp_path):
    boxes = _random_tracks(10, 3, seed=7)

    def frames():
        for i in range(10):
            if i == 6:
                raise RuntimeError("camera unplugged")
            yield np.zeros((480, 640, 3), np.uint8)

    with pytest.raises(RuntimeError, match="unplugged"):
        write_video(tmp_path / "ds", "30", boxes, frames=frames())
    assert list((tmp_path / "ds").iterdir()) == []  # nothing, not even a hidden temporary
    write_video(tmp_path / "ds", "30", boxes)
    with pytest.raises(FileExistsError):
        write_video(tmp_path / "ds", "30", boxes)
    write_video(tmp_path / "ds", "30", boxes.select_frames(0, 5), overwrite=True)
    assert VisemVideo(tmp_path / "ds" / "30").num_frames == 5


def test_write_video_refuses_bad_input(tmp_path):
    boxes = _random_tracks(5, 2, seed=8)
    with pytest.raises(VideoError, match="frames gave 3 frames"):
        write_video(tmp_path, "1", boxes, frames=[np.zeros((480, 640, 3), np.uint8)] * 3, mp4=False)
    with pytest.raises(VideoError, match="frame 2 is 64x48"):
        write_video(tmp_path, "2", boxes, frames=[np.zeros((480, 640, 3), np.uint8)] * 2 + [np.zeros((48, 64, 3), np.uint8)] * 3)
    with pytest.raises(BoxesError, match="outside"):
        write_video(tmp_path, "3", boxes, image_size=(64, 48))
    mixed = boxes.replace(track_id=np.where(np.arange(len(boxes)) == 0, -1, boxes.track_id))
    with pytest.raises(BoxesError, match="some boxes have a track id"):
        write_video(tmp_path, "4", mixed)
    with pytest.raises(BoxesError, match="no name"):
        write_video(tmp_path, "5", boxes, track_names={})
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_write_video_streams_frames(tmp_path):
    """Peak memory stays a few frames while 60 frames of 640x480 (55 MB) are written."""
    boxes = _random_tracks(60, 5, seed=9)
    frame_bytes = 480 * 640 * 3

    def frames():
        for i in range(60):
            yield np.full((480, 640, 3), i, np.uint8)

    tracemalloc.start()
    try:
        write_video(tmp_path, "40", boxes, frames=frames(), mp4=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * frame_bytes, peak / frame_bytes
    assert VisemVideo(tmp_path / "40").num_frames == 60


def test_writer_output_is_read_by_a_plain_parser(tmp_path):
    """The files are plain released-format text: a naive parser gets the same boxes."""
    boxes = _random_tracks(8, 4, seed=10)
    path = write_video(tmp_path, "8", boxes, image_size=(640, 480))
    rows = []
    for f in range(8):
        p = Path(path / "labels_ftid" / f"8_frame_{f}_with_ftid.txt")
        if p.exists():
            for line in p.read_text().splitlines():
                _, c, cx, cy, w, h = line.split()
                rows.append((f, (float(cx) - float(w) / 2) * 640, (float(cy) - float(h) / 2) * 480, int(c)))
    a = np.array(rows)
    np.testing.assert_allclose(a[:, 1], boxes.x1, atol=1e-4)
    np.testing.assert_allclose(a[:, 2], boxes.y1, atol=1e-4)
    np.testing.assert_array_equal(a[:, 3], boxes.cls)


def test_bad_sidecar_is_reported(tmp_path):
    path = write_video(tmp_path, "9", _random_tracks(4, 2, seed=11), image_size=(640, 480))
    meta = json.loads((path / "spermtrack.json").read_text())
    meta["track_names"] = ["not", "a", "mapping"]
    (path / "spermtrack.json").write_text(json.dumps(meta))
    with pytest.raises(FormatError, match="track_names"):
        VisemVideo(path).tracks()
    (path / "spermtrack.json").write_text("{broken")
    with pytest.raises(FormatError, match=r"spermtrack\.json"):
        _ = VisemVideo(path).num_frames
