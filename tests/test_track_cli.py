"""``spermtrack track`` end to end: MOT detections in, MOT tracks out."""

import json

import numpy as np
import pytest

from spermtrack import Boxes
from spermtrack.cli import main
from spermtrack.io.mot import read_mot, write_mot


def _dets():
    f = np.repeat(np.arange(40), 3)
    t = f.astype(float)
    k = np.tile(np.arange(3), 40)
    cx = np.choose(k, [20 + 14 * t, 600 - 13 * t, 300 + 0 * t])
    cy = np.choose(k, [100 + 3 * t, 110 - 1 * t, 300 + 0 * t])
    cls = np.where(k == 2, 2, 0)
    return Boxes.from_cxcywh(f, np.column_stack([cx, cy, np.full((len(f), 2), 22.0)]), cls=cls, num_frames=45)


def test_cli_tracks_a_mot_file(tmp_path, capsys):
    src, out = tmp_path / "dets.txt", tmp_path / "tracks.txt"
    write_mot(src, _dets(), with_class=True)
    assert main(["track", "--detections", str(src), "--fps", "50", "--out", str(out), "--num-frames", "45"]) == 0
    assert "3 tracks over 45 frames" in capsys.readouterr().out
    tracks = read_mot(out, with_class=True)
    assert tracks.unique_tracks().tolist() == [1, 2, 3]
    assert len(tracks) == 120
    # each track is one cell: the immotile cell (class 2) stays at x=300
    for tid in (1, 2, 3):
        t = tracks.track(tid)
        assert len(np.unique(t.cls)) == 1
        if t.cls[0] == 2:
            np.testing.assert_allclose(t.cx, 300.0, atol=1e-3)
        else:
            assert np.all(np.diff(t.cx) > 0) or np.all(np.diff(t.cx) < 0)


def test_cli_config_streaming_and_quiet(tmp_path, capsys):
    src, out = tmp_path / "dets.txt", tmp_path / "tracks.txt"
    write_mot(src, _dets(), with_class=True)
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"confirm_s": 0.2}))  # 10 frames to confirm
    assert (
        main(["track", "--detections", str(src), "--fps", "50", "--out", str(out), "--config", str(cfg), "--streaming", "-q"])
        == 0
    )
    assert capsys.readouterr().out == ""
    assert len(read_mot(out).unique_tracks()) == 3


def test_cli_bad_input_is_exit_1_with_file_and_line(tmp_path, capsys):
    src, out = tmp_path / "dets.txt", tmp_path / "tracks.txt"
    src.write_text("1,-1,10,10,5,5,1,-1,-1,-1\n2,-1,nan_here,10,5,5,1,-1,-1,-1\n")
    assert main(["track", "--detections", str(src), "--fps", "50", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "dets.txt" in err and "line 2" in err
    assert not out.exists()
    cfg = tmp_path / "cfg.json"
    cfg.write_text('{"gate": -1}')
    write_mot(src, _dets())
    assert main(["track", "--detections", str(src), "--fps", "50", "--out", str(out), "--config", str(cfg)]) == 1
    assert "cfg.json: gate must be >= 0, got -1" in capsys.readouterr().err
    assert main(["track", "--detections", str(src), "--fps", "0", "--out", str(out)]) == 1
    assert "fps" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["track", "--detections", str(src)])
    assert exc.value.code == 2


def test_cli_refuses_a_score_outside_0_1_naming_file_and_line_and_quoting_it(tmp_path, capsys):
    src, out = tmp_path / "dets.txt", tmp_path / "tracks.txt"
    good = "1,-1,10,10,5,5,0.9,0,-1,-1\n"
    for bad in ("2,-1,10,10,5,5,7,0,-1,-1", "2,-1,10,10,5,5,-0.5,0,-1,-1"):
        src.write_text(good + "\n" + bad + "\n")
        assert main(["track", str(src), "--fps", "50", "-o", str(out)]) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "Traceback" not in err
        assert f"{src}, line 3: the score (column 7) is" in err and "outside [0, 1]" in err
        assert err.endswith(f": '{bad}'")  # the line as it is in the file, commas kept
        assert not out.exists()
    # a box of width or height 0 is accepted, as by the YOLO label loader: an empty box, linked by its centre
    src.write_text("".join(f"{f},-1,{10 + 2 * f},10,0,5,1,0,-1,-1\n" for f in range(1, 31)))
    assert main(["track", str(src), "--fps", "50", "-o", str(out), "-q"]) == 0
    tracks = read_mot(out)
    assert len(tracks) == 30 and tracks.unique_tracks().tolist() == [1] and (tracks.x2 == tracks.x1).all()
