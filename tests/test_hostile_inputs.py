"""Property-based hostile inputs (hypothesis): every parser and Boxes constructor either returns a
valid result or raises a SpermtrackError naming the problem; never a wrapped value, never another
exception type (issue 17, items 7 and 8)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spermtrack import Boxes
from spermtrack.boxes import COLUMNS, check_classes, drop_duplicates, duplicate_rows
from spermtrack.errors import BoxesError, SpermtrackError
from spermtrack.io.labels import read_label_files
from spermtrack.io.mot import read_mot
from spermtrack.track import TrackerConfig

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# numbers a hostile file or caller may give: huge, tiny, negative, non-finite, fractional
numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0, 1, -1, 2**31 - 1, 2**31, 2**40, 2**63 - 1, 32767, 32768, 70000, 0.5, 1e30]),
)


def _fits(values, dtype: np.dtype) -> bool:
    info = np.iinfo(dtype)
    for v in values:
        if isinstance(v, float) and (not np.isfinite(v) or v != round(v)):
            return False
        if not info.min <= v <= info.max:
            return False
    return True


# ---------------------------------------------------------------------------- Boxes
@FAST
@given(st.lists(numbers, min_size=1, max_size=6), st.data())
def test_integer_columns_never_wrap(values, data):
    """frame/cls/track_id: a value the dtype cannot hold is an error, never a silently wrapped number."""
    name = data.draw(st.sampled_from(["frame", "cls", "track_id"]))
    n = len(values)
    cols = {"frame": np.zeros(n, np.int64), "x1": np.zeros(n), "y1": np.zeros(n), "x2": np.ones(n), "y2": np.ones(n)}
    arr = np.array(values, dtype=object)
    cols[name] = arr
    try:
        b = Boxes(**cols)
    except SpermtrackError:
        assert not _fits(values, COLUMNS[name]) or name == "frame", values
        return
    out = getattr(b, name)
    assert _fits(values, COLUMNS[name]), f"{name}={values} was accepted as {out.tolist()}"
    assert [int(v) for v in out] == [int(v) for v in values], "a value was changed on the way in"


def test_boxes_reject_the_issue_cases():
    with pytest.raises(BoxesError, match=r"frame.*outside"):
        Boxes([2**40], [0], [0], [1], [1])
    with pytest.raises(BoxesError, match=r"cls.*outside"):
        Boxes([0], [0], [0], [1], [1], cls=[70000])
    with pytest.raises(BoxesError, match="one-dimensional"):
        Boxes(np.zeros((2, 2), int), np.zeros((2, 2)), np.zeros((2, 2)), np.ones((2, 2)), np.ones((2, 2)))
    with pytest.raises(BoxesError, match="not numbers"):
        Boxes([0], ["a"], [0], [1], [1])


@FAST
@given(
    st.lists(st.tuples(st.integers(0, 20), numbers, numbers, numbers, numbers, st.floats(allow_nan=True)), min_size=0, max_size=8)
)
def test_boxes_from_unsorted_is_valid_or_an_error(rows):
    cols = list(zip(*rows)) if rows else [[]] * 6
    try:
        b = Boxes.from_unsorted(*[np.array(c, dtype=object if c else float) for c in cols[:5]], score=np.array(cols[5]))
    except SpermtrackError:
        return
    b.validate()
    assert np.all(np.isfinite(b.xyxy)) and np.all(b.x2 >= b.x1) and np.all(np.diff(b.frame) >= 0)


@FAST
@given(st.lists(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=0, max_size=5), min_size=0, max_size=5))
def test_from_xyxy_takes_only_n_by_4(rows):
    try:
        arr = np.array(rows, dtype=float)
    except ValueError:
        return  # ragged: numpy itself refuses
    frames = np.zeros(arr.shape[0] if arr.ndim else 0, int)
    try:
        b = Boxes.from_xyxy(frames, arr)
    except (SpermtrackError, ValueError):
        return
    assert b.xyxy.shape == (len(frames), 4)


def test_duplicates_are_found_and_dropped():
    b = Boxes([0, 0, 1], [1, 5, 1], [1, 5, 1], [4, 8, 4], [4, 8, 4])
    twice = Boxes.concat([b, b])
    assert duplicate_rows(twice).sum() == 3
    once, k = drop_duplicates(twice)
    assert k == 3 and once.equals(b)


def test_unknown_classes_are_an_error_unless_declared():
    b = Boxes([0, 0], [0, 1], [0, 1], [2, 3], [2, 3], cls=[0, 99])
    with pytest.raises(BoxesError, match=r"class 99: 1 box"):
        check_classes(b, "labels")
    check_classes(b, "labels", declared=[99])


# ---------------------------------------------------------------------------- parsers
_line = st.one_of(
    st.text(alphabet="0123456789-.,eE+ \tnaifNAIF", min_size=0, max_size=60),
    st.lists(numbers, min_size=1, max_size=11).map(lambda v: ",".join(repr(x) for x in v)),
)


@FAST
@given(st.lists(_line, min_size=0, max_size=8))
def test_read_mot_never_fails_otherwise(tmp_path, lines):
    path = tmp_path / "m.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        b = read_mot(path)
    except SpermtrackError as exc:
        assert str(path) in str(exc) or "line" in str(exc) or str(exc)
        return
    b.validate()


@FAST
@given(st.binary(min_size=0, max_size=200))
def test_read_mot_of_binary_garbage(tmp_path, data):
    path = tmp_path / "g.txt"
    path.write_bytes(data)
    try:
        read_mot(path)
    except SpermtrackError:
        pass


_label_line = st.one_of(
    st.text(alphabet="0123456789-. \tabcnaif", min_size=0, max_size=50),
    st.lists(numbers, min_size=1, max_size=7).map(lambda v: " ".join(repr(x) for x in v)),
)


@FAST
@given(st.lists(_label_line, min_size=0, max_size=5), st.booleans())
def test_read_label_files_never_fails_otherwise(tmp_path, lines, tracked):
    path = tmp_path / "v_frame_0.txt"
    body = "\n".join(("ckid " + ln) if tracked and ln else ln for ln in lines)
    path.write_text(body + "\n", encoding="utf-8")
    try:
        boxes, _ = read_label_files([path], np.array([0]), 1, (640, 480), tracked)
    except SpermtrackError:
        return
    boxes.validate()
    assert np.all(np.isin(boxes.cls, np.arange(-(2**15), 2**15)))


@FAST
@given(
    st.one_of(
        st.binary(max_size=80),
        st.dictionaries(st.sampled_from(["max_age_s", "iou_gate", "bogus", "min_hits"]), numbers, max_size=3).map(
            lambda d: json.dumps(d).encode()
        ),
    )
)
def test_tracker_config_file_is_valid_or_an_error(tmp_path, data):
    from spermtrack.cli import load_tracker_config

    path = tmp_path / "t.json"
    path.write_bytes(data)
    try:
        cfg = load_tracker_config(path)
    except SpermtrackError:
        return
    assert isinstance(cfg, TrackerConfig)


@FAST
@given(st.lists(st.integers(-(2**40), 2**40), max_size=30), st.sampled_from([1 / 1000, 1 / 90000, 1 / 25, 1 / 1200000]))
def test_timestamp_rate_is_plausible_or_none(pts, time_base):
    from fractions import Fraction

    from spermtrack.io.frames import PLAUSIBLE_FPS, _timestamp_rate

    rate = _timestamp_rate(pts, Fraction(time_base).limit_denominator(10**7))
    assert rate is None or PLAUSIBLE_FPS[0] <= rate <= PLAUSIBLE_FPS[1]


@FAST
@given(st.binary(max_size=400))
def test_marker_reader_takes_any_bytes(tmp_path, data):
    from spermtrack.results import MARKER, read_marker, verify

    folder = tmp_path / "r"
    folder.mkdir(exist_ok=True)
    (folder / MARKER).write_bytes(data)
    marker = read_marker(folder)
    assert marker is None or isinstance(marker, dict)
    v = verify(folder)
    assert isinstance(v.ok, bool)


def test_bad_marker_file_lists_are_problems_not_crashes(tmp_path):
    from spermtrack.results import MARKER, verify

    folder = Path(tmp_path)
    (folder / MARKER).write_text(json.dumps({"format": 1, "files": {"a.txt": {"size": 3, "sha256": "x"}}}))
    v = verify(folder)
    assert not v.ok and "a.txt: missing" in v.problems[0]


_json_values = st.recursive(
    st.one_of(
        st.none(), st.booleans(), numbers.filter(lambda v: not isinstance(v, float) or np.isfinite(v)), st.text(max_size=8)
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=8,
)


@FAST
@given(
    st.one_of(
        st.binary(max_size=60),
        st.dictionaries(st.sampled_from(["train", "val", "x"]), _json_values, max_size=3).map(lambda d: json.dumps(d).encode()),
    )
)
def test_split_json_is_valid_or_an_error(tmp_path, data):
    from spermtrack.io.visem import VisemDataset

    root = tmp_path / "root"
    (root / "11" / "labels").mkdir(parents=True, exist_ok=True)
    (root / "11" / "labels" / "11_frame_0.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    (root / "split.json").write_bytes(data)
    import warnings

    try:
        ds = VisemDataset(root)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "split lists videos not found here": expected for junk ids
            for name in ("train", "val"):
                assert all(isinstance(v, str) for v in ds.split(name))
    except SpermtrackError:
        pass


@FAST
@given(
    st.one_of(
        st.binary(max_size=60),
        st.dictionaries(st.sampled_from(["fps", "num_frames", "image_size", "track_names"]), _json_values, max_size=4).map(
            lambda d: json.dumps(d).encode()
        ),
    )
)
def test_spermtrack_json_sidecar_is_valid_or_an_error(tmp_path, data):
    """A VISEM folder's spermtrack.json with any content: the folder's facts are sane, or an error says why."""
    from spermtrack.io.visem import VisemVideo

    folder = tmp_path / "11"
    (folder / "labels").mkdir(parents=True, exist_ok=True)
    (folder / "labels" / "11_frame_0.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    (folder / "spermtrack.json").write_bytes(data)
    v = VisemVideo(folder)
    try:
        fps, n, size = v.fps, v.num_frames, v.image_size
        boxes = v.labels()
    except SpermtrackError:
        return
    assert fps > 0 and n >= 1 and size[0] > 0 and size[1] > 0 and len(boxes) == 1
