"""spermtrack.io.mot: MOTChallenge files, checked against py-motmetrics' loader and its MOT15 data."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spermtrack import Boxes, FormatError
from spermtrack.io import read_mot, write_mot

mm = pytest.importorskip("motmetrics")
MM_DATA = Path(mm.__file__).parent / "data"
MOT15_FILES = sorted(MM_DATA.glob("*/gt.txt")) + sorted(MM_DATA.glob("*/test.txt")) + [MM_DATA / "iotest" / "motchallenge.txt"]


def test_motmetrics_ships_the_files():
    assert len(MOT15_FILES) == 5 and all(p.is_file() for p in MOT15_FILES)


@pytest.mark.parametrize("path", MOT15_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_reads_mot15_like_motmetrics(path):
    b = read_mot(path)
    df = mm.io.loadtxt(str(path), fmt="mot15-2D").reset_index()
    df = df.sort_values(["FrameId"], kind="stable")  # motmetrics sorts by (frame, id); compare per row below
    assert len(b) == len(df)
    assert b.num_frames == int(df.FrameId.max())
    ours = b.to_dataframe()
    ours["FrameId"], ours["Id"] = ours.frame + 1, ours.track_id
    merged = ours.merge(df, on=["FrameId", "Id"], validate="one_to_one")
    assert len(merged) == len(b)
    # motmetrics shifts x, y by -1 ("matlab convention"); we keep the file's pixel values, like TrackEval
    np.testing.assert_allclose(merged.x1, merged.X + 1, rtol=1e-6)
    np.testing.assert_allclose(merged.y1, merged.Y + 1, rtol=1e-6)
    np.testing.assert_allclose(merged.x2 - merged.x1, merged.Width, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(merged.y2 - merged.y1, merged.Height, rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(merged.score, merged.Confidence.astype(np.float32))
    assert np.all(b.cls == 0)  # MOT15's 8th column holds world coordinates or -1, not classes


@pytest.mark.parametrize("path", MOT15_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_mot15_round_trips_exactly(path, tmp_path):
    b = read_mot(path)
    out = write_mot(tmp_path / "out.txt", b)
    assert read_mot(out).equals(b)  # bit-identical float32 table
    original = [",".join(line.split(",")[:7]) for line in path.read_text().splitlines() if line.strip()]
    written = [",".join(line.split(",")[:7]) for line in out.read_text().splitlines()]
    assert written == original  # the same text, number for number (columns 8-10 are rewritten)


def test_frames_are_one_based_in_files(tmp_path):
    b = Boxes([0, 0, 4], [1, 2, 3], [1, 2, 3], [5, 6, 7], [5, 6, 7], track_id=[1, 2, 1], num_frames=6)
    p = write_mot(tmp_path / "a.txt", b)
    lines = p.read_text().splitlines()
    assert lines[0] == "1,1,1,1,4,4,1,-1,-1,-1"
    assert lines[2].startswith("5,1,")
    back = read_mot(p, num_frames=6)
    assert back.equals(b)
    assert read_mot(p).num_frames == 5


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 500),
            st.integers(-1, 10_000),
            st.floats(-100, 5000, width=32),
            st.floats(-100, 5000, width=32),
            st.floats(0, 800, width=32),
            st.floats(0, 800, width=32),
            st.floats(-1, 1, width=32),
            st.integers(0, 2),
        ),
        max_size=40,
    )
)
def test_any_table_round_trips_exactly(tmp_path_factory, rows):
    a = np.array(rows, np.float64).reshape(-1, 8)
    x1 = a[:, 2].astype(np.float32)
    y1 = a[:, 3].astype(np.float32)
    b = Boxes.from_unsorted(
        a[:, 0], x1, y1, x1 + a[:, 4].astype(np.float32), y1 + a[:, 5].astype(np.float32),
        score=a[:, 6], cls=a[:, 7], track_id=a[:, 1], num_frames=501,
    )  # fmt: skip
    p = tmp_path_factory.mktemp("mot") / "t.txt"
    write_mot(p, b, with_class=True)
    assert read_mot(p, num_frames=501).equals(b)


def test_class_column(tmp_path):
    b = Boxes([0, 1], [0, 0], [0, 0], [3, 3], [3, 3], cls=[2, 1], track_id=[4, 4])
    with_cls = read_mot(write_mot(tmp_path / "c.txt", b, with_class=True))
    assert with_cls.cls.tolist() == [2, 1]
    assert (tmp_path / "c.txt").read_text().splitlines()[0].split(",")[7] == "2"
    without = read_mot(write_mot(tmp_path / "n.txt", b))
    assert without.cls.tolist() == [0, 0]
    assert read_mot(tmp_path / "c.txt", with_class=False).cls.tolist() == [0, 0]
    stadtmitte = MM_DATA / "TUD-Stadtmitte" / "gt.txt"
    with pytest.raises(FormatError, match="column 8 must hold a class"):
        read_mot(stadtmitte, with_class=True)
    (tmp_path / "six.txt").write_text("1,1,0,0,1,1\n")
    with pytest.raises(FormatError, match="only 6 columns"):
        read_mot(tmp_path / "six.txt", with_class=True)


def test_a_broken_class_among_class_ids_is_an_error_not_world_coordinates(tmp_path):
    """One fractional value in a column of class ids used to turn the whole column into MOT15's world
    coordinates: every pinhead became a sperm, silently. Now it names the file and line."""
    lines = [f"{f},{i},10,10,5,5,1,{i % 2},-1,-1" for f in range(1, 8) for i in range(1, 4)]
    (tmp_path / "gt.txt").write_text("\n".join(lines) + "\n")
    assert sorted(set(read_mot(tmp_path / "gt.txt").cls.tolist())) == [0, 1]
    lines[4] = "2,2,10,10,5,5,1,0.5,-1,-1"
    (tmp_path / "gt.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(FormatError, match=r"gt.txt.*line 5.*class ids .* but 0.5 here"):
        read_mot(tmp_path / "gt.txt")
    assert read_mot(tmp_path / "gt.txt", with_class=False).cls.tolist() == [0] * 21  # asked to ignore it


def test_short_and_whitespace_separated_files(tmp_path):
    (tmp_path / "six.txt").write_text("1,3,10,20,5,6\n2,3,11,21,5,6\n")
    b = read_mot(tmp_path / "six.txt")
    assert b.score.tolist() == [1.0, 1.0] and b.track_id.tolist() == [3, 3]
    (tmp_path / "ws.txt").write_text("1 3 10 20 5 6 0.5 -1 -1 -1\r\n\r\n2, 3, 11, 21, 5, 6, 0.5, -1, -1, -1\r\n")
    b = read_mot(tmp_path / "ws.txt")
    assert b.frame.tolist() == [0, 1] and b.x2.tolist() == [15.0, 16.0] and b.score.tolist() == [0.5, 0.5]
    (tmp_path / "empty.txt").write_text("\n")
    assert len(read_mot(tmp_path / "empty.txt", num_frames=4)) == 0
    assert read_mot(tmp_path / "empty.txt", num_frames=4).num_frames == 4


def test_unsorted_file_is_sorted_stably(tmp_path):
    (tmp_path / "u.txt").write_text("3,1,0,0,1,1,1\n1,2,0,0,1,1,1\n3,0,0,0,1,1,1\n1,1,0,0,1,1,1\n")
    b = read_mot(tmp_path / "u.txt")
    assert b.frame.tolist() == [0, 0, 2, 2] and b.track_id.tolist() == [2, 1, 1, 0]


BAD = [
    ("1,1,10,20,5\n", "expected 6 to 10 fields"),
    ("1,1,10,20,5,6,1,-1,-1,-1,7\n", "expected 6 to 10 fields"),
    ("1,1,10,abc,5,6,1,-1,-1,-1\n", "is not a number"),
    ("1,1,10,inf,5,6,1,-1,-1,-1\n", "not a finite number"),
    ("0,1,10,20,5,6,1,-1,-1,-1\n", "frame (column 1) must be a whole number >= 1"),
    ("1.5,1,10,20,5,6,1,-1,-1,-1\n", "frame (column 1) must be a whole number"),
    ("1,-2,10,20,5,6,1,-1,-1,-1\n", "id (column 2) must be a whole number >= -1"),
    ("1,1,10,20,-5,6,1,-1,-1,-1\n", "negative width or height"),
    ("1,1,10,20,5,6,1\n", "has 7 fields but line 1 has 10"),
    ("9,1,10,20,5,6,1,-1,-1,-1\n", "beyond num_frames=5"),
    ("999999999999,1,10,20,5,6,1,-1,-1,-1\n", "frame (column 1) is 999,999,999,999, above the largest spermtrack reads"),
]


@pytest.mark.parametrize(("bad", "message"), BAD)
def test_malformed_lines_name_file_and_line(tmp_path, bad, message):
    p = tmp_path / "bad.txt"
    p.write_text("1,1,10,20,5,6,1,-1,-1,-1\n\n2,1,11,20,5,6,1,-1,-1,-1\n" + bad)
    with pytest.raises(FormatError, match=re.escape(message)) as err:
        read_mot(p, num_frames=5)
    assert err.value.path == p and err.value.line == 4
    assert str(err.value).startswith(f"{p}, line 4: ")
    assert str(err.value).endswith(f": '{bad.strip()}'")  # the line as it is in the file, commas kept


def test_error_quotes_the_line_as_written_tabs_spaces_and_crlf(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_bytes(b"1,1,10,20,5,6,1,-1,-1,-1\r\n2, 1,\t10,abc, 5,6,1,-1,-1,-1\r\n")
    with pytest.raises(FormatError, match="is not a number") as err:
        read_mot(p)
    assert err.value.line == 2 and str(err.value).endswith(": '2, 1,\t10,abc, 5,6,1,-1,-1,-1'")


def test_score_range_is_checked_only_when_asked(tmp_path):
    p = tmp_path / "det.txt"
    p.write_text("1,-1,10,20,5,6,0.5,-1,-1,-1\n2,-1,10,20,0,0,31.2,-1,-1,-1\n")
    b = read_mot(p)  # MOT15 detection files hold detector scores > 1; an empty box is read
    assert b.score.tolist() == pytest.approx([0.5, 31.2]) and b.x2[1] == b.x1[1]
    with pytest.raises(FormatError, match=re.escape("line 2: the score (column 7) is 31.2, outside [0, 1]")):
        read_mot(p, score_range=(0, 1))
    six = tmp_path / "six.txt"
    six.write_text("1,-1,10,20,5,6\n")
    assert read_mot(six, score_range=(0, 1)).score.tolist() == [1.0]


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_mot(tmp_path / "nope.txt")


def test_write_creates_folders_and_leaves_no_temporaries(tmp_path):
    b = Boxes([0, 2], [0, 1], [0, 1], [1, 2.5], [1, 2.5], track_id=[3, 3])
    p = write_mot(tmp_path / "a" / "b" / "res.txt", b)
    assert [q.name for q in p.parent.iterdir()] == ["res.txt"]
    write_mot(p, b.select_frames(0, 1))  # replaces
    assert p.read_text() == "1,3,0,0,1,1,1,-1,-1,-1\n"
