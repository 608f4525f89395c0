import numpy as np
import pandas as pd
import pytest

from spermtrack import Boxes, BoxesError, Calibration, CalibrationError


def make(n_frames=5, per_frame=3, seed=0):
    rng = np.random.default_rng(seed)
    frame = np.repeat(np.arange(n_frames), per_frame)
    xy = rng.uniform(0, 600, (len(frame), 2))
    wh = rng.uniform(5, 30, (len(frame), 2))
    return Boxes.from_xywh(
        frame,
        np.hstack([xy, wh]),
        score=rng.uniform(0, 1, len(frame)),
        cls=rng.integers(0, 3, len(frame)),
        track_id=np.tile(np.arange(per_frame), n_frames),
        num_frames=n_frames + 2,
    )


def test_dtypes_and_offsets():
    b = make()
    assert b.frame.dtype == np.int32 and b.x1.dtype == np.float32 and b.cls.dtype == np.int16 and b.track_id.dtype == np.int64
    assert b.num_frames == 7
    assert b.frame_offsets.tolist() == [0, 3, 6, 9, 12, 15, 15, 15]
    assert len(b.at_frame(2)) == 3 and np.all(b.at_frame(2).frame == 2)
    assert len(b.at_frame(6)) == 0 and len(b.at_frame(100)) == 0
    assert b.counts_per_frame().tolist() == [3, 3, 3, 3, 3, 0, 0]
    assert [f for f, _ in b.iter_frames()] == list(range(7))
    # at_frame is a view, not a copy
    assert np.shares_memory(b.at_frame(1).x1, b.x1)


def test_geometry_roundtrip():
    b = make()
    c = Boxes.from_cxcywh(b.frame, b.cxcywh, b.score, b.cls, b.track_id, b.num_frames)
    assert b.equals(c, atol=1e-4)
    d = Boxes.from_xyxy(b.frame, b.xyxy, b.score, b.cls, b.track_id, b.num_frames)
    assert b.equals(d)
    np.testing.assert_allclose(b.area, b.width * b.height)


def test_concat_sorts_and_filter():
    a, b = make(seed=1), make(seed=2)
    c = Boxes.concat([a, b])
    assert len(c) == len(a) + len(b)
    assert np.all(np.diff(c.frame) >= 0)
    # stable: within frame 0, rows of a come first
    np.testing.assert_array_equal(c.at_frame(0).x1[:3], a.at_frame(0).x1)
    f = c.filter(c.cls == 0)
    assert np.all(f.cls == 0) and f.num_frames == c.num_frames


def test_pandas_roundtrip():
    b = make()
    df = b.to_dataframe()
    assert list(df.columns) == ["frame", "x1", "y1", "x2", "y2", "score", "cls", "track_id"]
    assert Boxes.from_dataframe(df).equals(b)
    shuffled = df.sample(frac=1.0, random_state=0)
    c = Boxes.from_dataframe(shuffled)
    assert np.all(np.diff(c.frame) >= 0) and len(c) == len(b)
    with pytest.raises(BoxesError, match="lacks column"):
        Boxes.from_dataframe(pd.DataFrame({"frame": [0]}))


def test_by_track_groups():
    b = make()
    order, ids, off = b.by_track()
    assert ids.tolist() == [0, 1, 2]
    for k, t in enumerate(ids):
        rows = order[off[k] : off[k + 1]]
        assert np.all(b.track_id[rows] == t) and np.all(np.diff(b.frame[rows]) > 0)


def test_select_frames():
    b = make()
    s = b.select_frames(2, 4)
    assert s.num_frames == 2 and len(s) == 6 and s.frame.min() == 0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(frame=[0, 1], x1=[0, np.nan], y1=[0, 0], x2=[1, 1], y2=[1, 1]), "non-finite"),
        (dict(frame=[0, 1], x1=[0, 5], y1=[0, 0], x2=[1, 1], y2=[1, 1]), "negative size"),
        (dict(frame=[1, 0], x1=[0, 0], y1=[0, 0], x2=[1, 1], y2=[1, 1]), "not sorted"),
        (dict(frame=[0, 1], x1=[0], y1=[0, 0], x2=[1, 1], y2=[1, 1]), "has 1 values"),
        (dict(frame=[-1], x1=[0], y1=[0], x2=[1], y2=[1]), "negative frame"),
        (dict(frame=[0, 5], x1=[0, 0], y1=[0, 0], x2=[1, 1], y2=[1, 1], num_frames=3), "num_frames is 3"),
        (dict(frame=[0.5], x1=[0], y1=[0], x2=[1], y2=[1]), "whole numbers"),
    ],
)
def test_validation_errors(kwargs, match):
    with pytest.raises(BoxesError, match=match):
        Boxes(**kwargs)


def test_immutable():
    b = make()
    with pytest.raises(AttributeError):
        b.x1 = b.x2


def test_empty():
    e = Boxes.empty(10)
    assert len(e) == 0 and e.num_frames == 10 and e.counts_per_frame().sum() == 0
    assert e.xyxy.shape == (0, 4)
    assert len(Boxes.concat([])) == 0


@pytest.mark.parametrize(
    "um, fps",
    [(0, 50), (-1, 50), (float("nan"), 50), (0.25, 0), (0.25, float("inf")), (400, 50), ("x", 50), (True, 50), (0.25, True)],
)
def test_calibration_rejects(um, fps):
    with pytest.raises(CalibrationError):
        Calibration(um, fps)


def test_calibration_units():
    c = Calibration(0.5, 25)
    assert c.px_to_um(10) == 5 and c.frames_to_s(50) == 2 and c.s_to_frames(0.2) == 5
    assert Calibration(None, 50).length_unit == "px"
    assert Calibration(400, 50, strict=False).um_per_px == 400


def test_atomic_files_get_normal_permissions(tmp_path):
    import os

    from spermtrack.atomic import _UMASK, atomic_dir, atomic_open

    with atomic_open(tmp_path / "a.txt") as fh:
        fh.write("x")
    assert (os.stat(tmp_path / "a.txt").st_mode & 0o777) == 0o666 & ~_UMASK
    with atomic_dir(tmp_path / "d") as d:
        (d / "f").write_text("y")
    assert (os.stat(tmp_path / "d").st_mode & 0o777) == 0o777 & ~_UMASK


def test_atomic_open_leaves_nothing_on_error(tmp_path):
    from spermtrack.atomic import atomic_open

    (tmp_path / "keep.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_open(tmp_path / "keep.txt") as fh:
            fh.write("partial")
            raise RuntimeError("boom")
    assert (tmp_path / "keep.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_groups_and_majority_class():
    from spermtrack.boxes import majority_class

    b = Boxes(
        [0, 0, 1, 1, 2, 2, 3], [0] * 7, [0] * 7, [1] * 7, [1] * 7,
        cls=[1, 0, 1, 2, 2, 0, 3], track_id=[7, -1, 7, 3, 7, 3, -1],
    )  # fmt: skip
    g = b.groups()
    assert g.ids.tolist() == [-1, 3, 7]
    assert [g.order[g.offsets[k] : g.offsets[k + 1]].tolist() for k in range(3)] == [[1, 6], [3, 5], [0, 2, 4]]
    assert g.dense.tolist() == [2, 0, 2, 1, 2, 1, 0]
    # ties go to the lower class: track 3 has classes 2 and 0 -> 0; track 7: 1, 1, 2 -> 1
    assert majority_class(g, b.cls).tolist() == [0, 0, 1]
    t = b.groups(tracked_only=True)
    assert t.ids.tolist() == [3, 7] and t.dense.tolist() == [1, -1, 1, 0, 1, 0, -1]
    order, ids, off = b.by_track()
    assert order.tolist() == [3, 5, 0, 2, 4] and ids.tolist() == [3, 7] and off.tolist() == [0, 2, 5]
    big = b.replace(track_id=np.where(b.track_id == 7, 10**12, b.track_id))  # sparse ids: np.unique path
    assert big.groups(tracked_only=True).ids.tolist() == [3, 10**12]
    assert Boxes.empty(3).groups().ids.tolist() == [] and Boxes.empty(3).by_track()[2].tolist() == [0]


def test_integer_index_and_iteration():
    b = make(n_frames=2, per_frame=2)
    assert len(b[0]) == 1 and b[-1].x1[0] == b.x1[-1] and b[-4].x1[0] == b.x1[0]
    rows = list(b)  # ends after the last row (an out-of-range integer raises IndexError)
    assert len(rows) == 4 and [r.x1[0] for r in rows] == b.x1.tolist()
    with pytest.raises(IndexError, match="row 4 is out of range for 4 boxes"):
        b[4]
    with pytest.raises(IndexError):
        b[-5]


def test_pickle_roundtrip_keeps_columns_dtypes_and_frames():
    """Boxes (and a one-frame view of them) cross process boundaries: multiprocessing, Dask, joblib."""
    import pickle

    b = Boxes([0, 2, 2], [1, 5, 9], [1, 5, 9], [4, 8, 12], [4, 8, 12], score=[0.2, 0.9, 0.5], cls=[0, 1, 2], track_id=[3, 4, 5])
    b = b.replace(num_frames=7)
    for table in (b, b.at_frame(2)):
        back = pickle.loads(pickle.dumps(table))
        assert type(back) is Boxes and len(back) == len(table) and back.num_frames == 7
        for name in ("frame", "x1", "y1", "x2", "y2", "score", "cls", "track_id"):
            np.testing.assert_array_equal(getattr(back, name), getattr(table, name))
            assert getattr(back, name).dtype == getattr(table, name).dtype
        assert len(back.at_frame(2)) == len(table.at_frame(2))  # the frame index is rebuilt
