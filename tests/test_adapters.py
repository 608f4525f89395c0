"""Adapters to ultralytics, supervision, trackpy and TrackMate, tested with the real libraries."""

from __future__ import annotations

import csv
import math

import numpy as np
import pandas as pd
import pytest
import supervision as sv
import torch
import trackpy
import ultralytics
from ultralytics.engine.results import Results

from spermtrack import Boxes, Calibration, SpermtrackError
from spermtrack.detect import YoloDetector, get_detector
from spermtrack.detect.registry import DATA_DIR
from spermtrack.io.adapters import DEFAULT_BOX_PX, SIZE_TO_SIDE, TRACKMATE_COLUMNS, trackmate_table, write_trackmate_csv

NAMES = {0: "sperm", 1: "cluster", 2: "small_or_pinhead"}
IMG = np.zeros((480, 640, 3), np.uint8)


def _tracks() -> Boxes:
    """Three tracks over 6 frames, boxes of different sizes, one track with a gap."""
    rows = []
    for f in range(6):
        rows.append((f, 100 + 3 * f, 50 + 2 * f, 20, 22, 0.9, 0, 1))
        rows.append((f, 300 - 4 * f, 200, 24, 24, 0.7, 0, 2))
        if f != 3:
            rows.append((f, 500, 400 + f, 60, 50, 0.5, 1, 5))
    a = np.array(rows, np.float64)
    return Boxes.from_cxcywh(a[:, 0], a[:, 1:5], score=a[:, 5], cls=a[:, 6], track_id=a[:, 7], num_frames=8)


# --------------------------------------------------------------------------- ultralytics


def test_from_ultralytics_maps_classes_by_name_and_keeps_track_ids():
    # a model whose classes are in another order, with a class spermtrack does not know by index
    names = {0: "small or pinhead", 1: "Sperm", 2: "cluster"}
    r0 = Results(IMG, "f0", names, boxes=torch.tensor([[10.0, 20, 30, 44, 0.9, 1], [100, 100, 150, 140, 0.4, 0]]))
    r1 = Results(IMG, "f1", names, boxes=torch.zeros((0, 6)))
    r2 = Results(IMG, "f2", names, boxes=torch.tensor([[12.0, 22, 32, 46, 7, 0.8, 2]]))  # from model.track: id 7
    b = Boxes.from_ultralytics([r0, r1, r2], first_frame=10)
    assert b.num_frames == 13
    assert b.frame.tolist() == [10, 10, 12]
    assert b.cls.tolist() == [0, 2, 1]  # Sperm -> 0, small or pinhead -> 2, cluster -> 1
    np.testing.assert_allclose(b.xyxy[0], [10, 20, 30, 44])
    np.testing.assert_allclose(b.score, [0.9, 0.4, 0.8], rtol=1e-6)
    assert b.track_id.tolist() == [-1, -1, 7]


def test_from_ultralytics_class_map_drops_unlisted_and_refuses_obb():
    r = Results(IMG, "f", {0: "a", 1: "b"}, boxes=torch.tensor([[1.0, 2, 3, 4, 0.9, 0], [5, 6, 7, 8, 0.9, 1]]))
    b = Boxes.from_ultralytics(r, class_map={1: 0})
    assert len(b) == 1 and b.cls.tolist() == [0] and b.x1.tolist() == [5.0]
    obb = Results(IMG, "f", NAMES, obb=torch.tensor([[50.0, 50, 20, 10, 0.3, 0.9, 0]]))
    with pytest.raises(SpermtrackError, match="oriented boxes"):
        Boxes.from_ultralytics([obb])
    with pytest.raises(SpermtrackError, match="not an ultralytics Results"):
        Boxes.from_ultralytics([np.zeros(3)])


def _frames(n=3, seed=0):
    import cv2

    rng = np.random.default_rng(seed)
    out = np.empty((n, 480, 640, 3), np.uint8)
    for i in range(n):
        img = np.full((480, 640), 60, np.uint8)
        for x, y in rng.uniform([20, 20], [620, 460], (30, 2)).astype(int):
            cv2.circle(img, (int(x), int(y)), 5, 220, -1)
        out[i] = np.repeat(cv2.add(img, rng.integers(0, 20, img.shape, dtype=np.uint8))[..., None], 3, 2)
    return out


@pytest.fixture(scope="module")
def tiny_yolo():
    """The shipped architecture with random weights that give many boxes with spread-out scores (see test_detect_yolo)."""
    torch.manual_seed(0)
    model = ultralytics.YOLO(str(DATA_DIR / "spermyolo_p3.yaml"))
    head = model.model.model[-1]
    with torch.no_grad():
        for conv in model.model.modules():
            if isinstance(conv, torch.nn.Conv2d) and conv.weight.requires_grad:
                torch.nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
        for seq in head.cv3:
            torch.nn.init.normal_(seq[-1].weight, std=0.5)
            seq[-1].bias.fill_(0.0)
    return model


def test_yolo_object_is_a_detector_and_equals_its_results(tiny_yolo):
    frames = _frames(3)
    det = get_detector(tiny_yolo, device="cpu", conf=0.5, iou=0.6, max_det=100)
    assert isinstance(det, YoloDetector) and det.model is tiny_yolo and det.name.startswith("yolo:")
    out = det.detect(frames, first_frame=0)
    assert len(out) > 10 and out.num_frames == 3
    # the same model's own results, converted, give the same boxes
    results = tiny_yolo.predict(list(frames), conf=0.5, iou=0.6, max_det=100, device="cpu", verbose=False)
    conv = Boxes.from_ultralytics(results)
    assert conv.equals(out, atol=1e-3)


def test_analyze_takes_a_yolo_object_and_frames_in_memory(tiny_yolo):
    from spermtrack import analyze

    frames = _frames(4, seed=2)
    a = analyze(frames, detector=tiny_yolo, fps=50.0, detector_options={"device": "cpu", "conf": 0.5})
    assert a.num_frames == 4 and a.detector.startswith("yolo:") and len(a.detections) > 0
    with pytest.raises(SpermtrackError, match="YOLO model"):
        YoloDetector.from_model(object())


# --------------------------------------------------------------------------- supervision


def test_supervision_round_trip_keeps_everything():
    t = _tracks()
    dets = t.to_supervision()
    assert len(dets) == t.num_frames and all(isinstance(d, sv.Detections) for d in dets)
    assert len(dets[7]) == 0 and len(dets[3]) == 2
    assert dets[0].tracker_id.tolist() == [1, 2, 5]
    assert dets[0].data["class_name"].tolist() == ["sperm", "sperm", "cluster"]
    back = Boxes.from_supervision(dets, num_frames=t.num_frames)
    assert back.equals(t, atol=1e-4)
    one = t.to_supervision(frame=2)
    assert Boxes.from_supervision(one, frame=2, num_frames=8).equals(t.at_frame(2).replace(num_frames=8), atol=1e-4)
    # untracked boxes: no tracker_id
    assert Boxes.from_xyxy([0], [[1, 2, 3, 4]]).to_supervision(0).tracker_id is None


def test_supervision_detections_of_a_model_and_a_tracker():
    r = Results(IMG, "f", NAMES, boxes=torch.tensor([[10.0, 20, 30, 44, 0.9, 0], [100, 100, 150, 140, 0.4, 2]]))
    det = sv.Detections.from_ultralytics(r)
    b = Boxes.from_supervision(det, frame=4)
    assert b.frame.tolist() == [4, 4] and b.cls.tolist() == [0, 2] and b.num_frames == 5
    assert (b.track_id == -1).all()
    # a tracker's output (ByteTrack in the trackers package fills tracker_id): ids become track ids
    tracked = det[np.array([True, True])]
    tracked.tracker_id = np.array([12, 4])
    tb = Boxes.from_supervision(tracked)
    assert tb.track_id.tolist() == [12, 4] and tb.frame.tolist() == [0, 0]


def test_supervision_class_names_of_the_ids_present_decide():
    """A frame showing only class 1 of a model whose class 1 is 'Sperm' (0 pinhead, 2 cluster)."""
    det = sv.Detections(xyxy=np.array([[0, 0, 5, 5]], float), class_id=np.array([1]), data={"class_name": np.array(["Sperm"])})
    assert Boxes.from_supervision(det).cls.tolist() == [0]


def test_supervision_coco_ids_without_names_keep_0_to_2_and_drop_others():
    det = sv.Detections(xyxy=np.array([[0, 0, 5, 5], [1, 1, 6, 6]], float), class_id=np.array([1, 7]))
    with pytest.warns(UserWarning, match="dropped"):
        b = Boxes.from_supervision(det)
    assert b.cls.tolist() == [1]


# --------------------------------------------------------------------------- trackpy


def test_to_trackpy_columns_units_and_round_trip():
    t = _tracks()
    cal = Calibration(0.5, 25.0)
    df = t.to_trackpy(cal)
    assert list(df.columns[:4]) == ["frame", "x", "y", "particle"]
    assert {"size", "w", "h", "score", "cls", "x_um", "y_um", "t_s"} <= set(df.columns)
    row = df[(df.particle == 2) & (df.frame == 5)].iloc[0]
    assert row.x == pytest.approx(300 - 20) and row.y == pytest.approx(200)
    assert row.x_um == pytest.approx(140.0) and row.y_um == pytest.approx(100.0) and row.t_s == pytest.approx(0.2)
    assert row["size"] * SIZE_TO_SIDE == pytest.approx(24.0)
    assert Boxes.from_trackpy(df, num_frames=8).equals(t, atol=1e-3)
    # uncalibrated: seconds only when a frame rate is known
    assert "x_um" not in t.to_trackpy(Calibration(None, 25.0)).columns
    assert "t_s" not in t.to_trackpy().columns


def test_trackpy_links_and_measures_our_table():
    """A table of points from spermtrack goes through trackpy.link and emsd, and comes back."""
    rng = np.random.default_rng(0)
    rows = []
    for p in range(4):
        start = rng.uniform(100, 500, 2)
        for f in range(20):
            c = start + f * np.array([3.0, 1.0]) * (p + 1) / 2
            rows.append((f, *c, 20, 20))
    a = np.array(rows)
    c = a[:, 1:5]
    points = Boxes.from_unsorted(a[:, 0], c[:, 0] - 10, c[:, 1] - 10, c[:, 0] + 10, c[:, 1] + 10)
    table = points.to_trackpy()
    assert "particle" not in table.columns  # untracked: a locate-style table
    linked = trackpy.link(table, search_range=15, memory=0)
    assert linked["particle"].nunique() == 4
    back = Boxes.from_trackpy(linked)
    assert len(back.unique_tracks()) == 4 and back.num_frames == 20
    np.testing.assert_allclose(np.sort(back.width), 20.0)  # w, h columns kept the size
    emsd = trackpy.emsd(back.to_trackpy(), mpp=0.5, fps=50.0, max_lagtime=5)
    assert len(emsd) == 5 and (np.diff(emsd.to_numpy()) > 0).all()


def test_from_trackpy_sizes_and_errors():
    df = pd.DataFrame({"frame": [1, 0], "x": [10.0, 20.0], "y": [5.0, 6.0], "particle": [3, 3]})
    b = Boxes.from_trackpy(df)
    assert b.frame.tolist() == [0, 1] and b.track_id.tolist() == [3, 3]
    assert np.allclose(b.width, DEFAULT_BOX_PX)
    df["size"] = [2.0, 4.0]  # trackpy's radius of gyration
    assert Boxes.from_trackpy(df).width.tolist() == pytest.approx([4 * SIZE_TO_SIDE, 2 * SIZE_TO_SIDE])
    assert Boxes.from_trackpy(df.drop(columns="size"), box_px=10).width.tolist() == [10.0, 10.0]
    with pytest.raises(SpermtrackError, match=r"lacks column\(s\) \['y'\]"):
        Boxes.from_trackpy(df.drop(columns="y"))
    with pytest.raises(SpermtrackError, match="whole numbers"):
        Boxes.from_trackpy(df.assign(particle=[1.5, 2.0]))


def test_to_trackpy_leaves_untracked_rows_out_with_a_warning():
    t = Boxes.concat([_tracks(), Boxes.from_xyxy([2], [[0, 0, 4, 4]], num_frames=8)])
    with pytest.warns(UserWarning, match="1 untracked"):
        df = t.to_trackpy()
    assert len(df) == len(t) - 1 and (df.particle >= 1).all()


# --------------------------------------------------------------------------- TrackMate


def test_trackmate_csv_as_the_importer_reads_it(tmp_path):
    t = _tracks()
    cal = Calibration(0.5, 25.0)
    path = write_trackmate_csv(tmp_path / "spots.csv", t, cal)
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == TRACKMATE_COLUMNS
    assert len(rows) == 1 + len(t)
    # FRAME and TRACK_ID parse as Java integers (Integer.parseInt): no decimal point
    for r in rows[1:]:
        int(r[0]), int(r[1])
        [float(v) for v in r[2:]]
    df = pd.read_csv(path)
    track5 = df[df.TRACK_ID == 5]
    assert track5.FRAME.tolist() == [0, 1, 2, 4, 5]  # frame order inside a track, the gap kept
    first = df[(df.TRACK_ID == 1) & (df.FRAME == 2)].iloc[0]
    assert first.POSITION_X == pytest.approx(106 * 0.5) and first.POSITION_Y == pytest.approx(54 * 0.5)
    assert first.POSITION_T == pytest.approx(2 / 25.0) and first.QUALITY == pytest.approx(0.9)
    assert first.RADIUS == pytest.approx(math.sqrt(20 * 22) / 2 * 0.5, rel=1e-4)
    # uncalibrated: pixels and frames
    px = trackmate_table(t)
    assert px.POSITION_X.max() == pytest.approx(500.0) and px.POSITION_T.max() == pytest.approx(5.0)


def test_trackmate_csv_of_detections_has_no_track_column(tmp_path):
    dets = Boxes.from_xyxy([0, 1], [[0, 0, 10, 10], [2, 2, 12, 12]])
    df = pd.read_csv(write_trackmate_csv(tmp_path / "d.csv", dets))
    assert "TRACK_ID" not in df.columns and len(df) == 2
