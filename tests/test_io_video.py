"""spermtrack.io.video: browser-playable H.264 MP4 written atomically."""

from __future__ import annotations

import struct
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from spermtrack.io import open_frames
from spermtrack.io.video import VideoWriter


def _top_level_boxes(data: bytes) -> list[str]:
    """Names of the top-level ISO-BMFF boxes of an MP4, in file order."""
    out, i = [], 0
    while i + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[i : i + 8])
        if size == 1:
            size = struct.unpack(">Q", data[i + 8 : i + 16])[0]
        out.append(kind.decode("latin-1"))
        if size < 8:
            break
        i += size
    return out


def _smooth(i: int, w: int, h: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = 128 + 60 * np.sin(xx / 9 + i / 5)[..., None] * np.array([1.0, 0.6, 0.3]) + 40 * np.cos(yy / 11)[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


def test_h264_yuv420p_faststart(tmp_path):
    p = tmp_path / "out" / "v.mp4"
    frames = [_smooth(i, 160, 120) for i in range(20)]
    with VideoWriter(p, fps=50, size=(160, 120), crf=18) as w:
        for f in frames:
            w.write(f)
    boxes = _top_level_boxes(p.read_bytes())
    assert boxes[0] == "ftyp" and boxes.index("moov") < boxes.index("mdat")  # +faststart
    with av.open(str(p)) as c:
        s = c.streams.video[0]
        assert s.codec_context.name == "h264"
        assert s.codec_context.pix_fmt == "yuv420p"
        assert (s.width, s.height, s.frames) == (160, 120, 20)
        assert s.average_rate == 50
    back = list(open_frames(p))
    psnr = [cv2.PSNR(a, b) for a, b in zip(frames, back)]
    assert len(back) == 20 and min(psnr) > 35, psnr
    assert [q.name for q in p.parent.iterdir()] == ["v.mp4"]  # no temporary left


def test_fractional_fps_and_opencv_reads_it(tmp_path):
    p = tmp_path / "ntsc.mp4"
    with VideoWriter(p, fps=30000 / 1001, size=(64, 48)) as w:
        for i in range(8):
            w.write(_smooth(i, 64, 48))
    with av.open(str(p)) as c:
        assert c.streams.video[0].average_rate == Fraction(30000, 1001)
    cap = cv2.VideoCapture(str(p))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    assert n == 8


def test_odd_size_is_padded(tmp_path):
    p = tmp_path / "odd.mp4"
    img = _smooth(0, 65, 49)
    with VideoWriter(p, fps=10, size=(65, 49), crf=10) as w:
        w.write(img)
        w.write(img)
    assert w.encoded_size == (66, 50) and w.frames_written == 2
    back = next(iter(open_frames(p)))
    assert back.shape == (50, 66, 3)
    assert cv2.PSNR(back[:49, :65], img) > 35
    assert np.abs(back[:49, 65].astype(int) - img[:, 64].astype(int)).mean() < 6  # replicated edge


def test_grey_frames_accepted(tmp_path):
    p = tmp_path / "g.mp4"
    with VideoWriter(p, fps=10, size=(32, 32)) as w:
        w.write(np.full((32, 32), 200, np.uint8))
    assert abs(float(next(iter(open_frames(p))).mean()) - 200) < 3


def test_failure_leaves_nothing(tmp_path):
    p = tmp_path / "keep.mp4"
    p.write_bytes(b"old")
    with pytest.raises(ValueError, match="must be uint8 of shape"), VideoWriter(p, fps=10, size=(32, 32)) as w:
        w.write(np.zeros((32, 32, 3), np.uint8))
        w.write(np.zeros((16, 32, 3), np.uint8))
    assert p.read_bytes() == b"old"
    assert [q.name for q in tmp_path.iterdir()] == ["keep.mp4"]
    with pytest.raises(RuntimeError), VideoWriter(tmp_path / "new.mp4", fps=10, size=(32, 32)) as w:
        w.write(np.zeros((32, 32, 3), np.uint8))
        raise RuntimeError("interrupted")
    assert not (tmp_path / "new.mp4").exists()
    assert [q.name for q in tmp_path.iterdir()] == ["keep.mp4"]


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="codec"):
        VideoWriter(tmp_path / "a.mp4", fps=10, size=(32, 32), codec="vp9")
    with pytest.raises(ValueError, match="fps"):
        VideoWriter(tmp_path / "a.mp4", fps=0, size=(32, 32))
    with pytest.raises(ValueError, match="size"):
        VideoWriter(tmp_path / "a.mp4", fps=10, size=(0, 32))
    assert list(tmp_path.iterdir()) == []


def test_mpeg4_codec(tmp_path):
    p = tmp_path / "m.mp4"
    with VideoWriter(p, fps=25, size=(64, 48), codec="mpeg4") as w:
        for i in range(5):
            w.write(_smooth(i, 64, 48))
    with av.open(str(p)) as c:
        assert c.streams.video[0].codec_context.name == "mpeg4"
    assert len(list(open_frames(p))) == 5
