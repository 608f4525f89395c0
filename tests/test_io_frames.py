"""spermtrack.io.frames: video files, image folders and VISEM folders as streams of BGR frames."""

from __future__ import annotations

import re
import tracemalloc

import cv2
import numpy as np
import pytest

from spermtrack import VideoError
from spermtrack.io import open_frames
from spermtrack.io.frames import BATCH_START_FRAMES, FrameSource, ImageSequence, VideoFile, image_size, natural_key, read_image
from spermtrack.io.video import VideoWriter


def _frame(i: int, w: int = 96, h: int = 64) -> np.ndarray:
    """A smooth, distinct frame: a gradient plus a bright square that moves with i."""
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([(xx * 2 + i) % 256, (yy * 3) % 256, np.full_like(xx, (40 * i) % 256)], axis=2).astype(np.uint8)
    img[10:20, 5 + 3 * i : 15 + 3 * i] = 250
    return img


@pytest.fixture()
def image_folder(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(12):
        cv2.imwrite(str(folder / f"frame_{i}.png"), _frame(i))  # lossless, so frames compare exactly
    (folder / "notes.txt").write_text("not an image")
    return folder


@pytest.fixture()
def video_file(tmp_path):
    path = tmp_path / "clip.mp4"
    with VideoWriter(path, fps=25, size=(96, 64), crf=12) as w:
        for i in range(10):
            w.write(_frame(i))
    return path


def test_natural_order(image_folder):
    with open_frames(image_folder, fps=10) as src:
        assert isinstance(src, ImageSequence)
        assert (src.size, src.fps, src.num_frames) == ((96, 64), 10.0, 12)
        assert [p.name for p in src.files[:3]] == ["frame_0.png", "frame_1.png", "frame_2.png"]
        frames = list(src)
    assert len(frames) == 12
    for i, img in enumerate(frames):
        assert img.dtype == np.uint8 and img.shape == (64, 96, 3)
        np.testing.assert_array_equal(img, _frame(i))
    assert sorted(["frame_10", "frame_2", "frame_1"], key=natural_key) == ["frame_1", "frame_2", "frame_10"]


def test_batches_stream_in_order(image_folder):
    src = open_frames(image_folder)
    got = list(src.batches(5))
    assert [first for first, _ in got] == [0, 5, 10]
    assert [b.shape for _, b in got] == [(5, 64, 96, 3), (5, 64, 96, 3), (2, 64, 96, 3)]
    np.testing.assert_array_equal(np.concatenate([b for _, b in got]), np.stack(list(src)))
    assert got[0][1] is not got[1][1]  # each batch is its own array
    with pytest.raises(ValueError):
        next(src.batches(0))


def test_memory_is_bounded_by_one_batch(tmp_path):
    folder = tmp_path / "big"
    folder.mkdir()
    frame = np.zeros((240, 320, 3), np.uint8)
    for i in range(40):
        cv2.imwrite(str(folder / f"f_{i}.jpg"), frame)
    nbytes = frame.nbytes
    open_frames(folder)  # the file names interned before: a resize of Python's table of them is not a frame
    tracemalloc.start()
    try:
        n = 0
        for _, batch in open_frames(folder).batches(4):
            n += len(batch)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert n == 40
    # the batch the caller holds + the one being filled + a frame being decoded; 40 frames would be 9.2 MB
    assert peak < (2 * 4 + 3) * nbytes, peak / nbytes


def test_video_file(video_file):
    with open_frames(video_file) as src:
        assert isinstance(src, VideoFile) and src.backend == "opencv"
        assert (src.size, src.fps, src.num_frames) == ((96, 64), 25.0, 10)
        frames = list(src)
    assert len(frames) == 10
    for i, img in enumerate(frames):
        assert img.shape == (64, 96, 3) and img.dtype == np.uint8
        assert np.abs(img.astype(int) - _frame(i)).mean() < 6  # lossy H.264, same picture
    assert open_frames(video_file, fps=12.5).fps == 12.5


def test_both_backends_give_the_same_pixels(video_file):
    a = list(VideoFile(video_file, backend="opencv"))
    b = list(VideoFile(video_file, backend="pyav"))
    assert len(a) == len(b) == 10
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)  # both are FFmpeg + swscale
    with pytest.raises(ValueError, match="backend"):
        VideoFile(video_file, backend="gstreamer")


def test_video_decoding_agrees_with_opencv(video_file):
    cap = cv2.VideoCapture(str(video_file))
    ref = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        ref.append(img)
    cap.release()
    ours = list(open_frames(video_file))
    assert len(ours) == len(ref) == 10
    for a, b in zip(ours, ref):
        np.testing.assert_array_equal(a, b)


def test_batches_of_a_video(video_file):
    got = list(open_frames(video_file).batches(4))
    assert [(f, len(b)) for f, b in got] == [(0, 4), (4, 4), (8, 2)]


def test_single_image_is_one_frame(image_folder):
    src = open_frames(image_folder / "frame_3.png")
    assert src.num_frames == 1
    np.testing.assert_array_equal(next(iter(src)), _frame(3))


# --------------------------------------------------------------------------- bad input


def test_missing_path(tmp_path):
    with pytest.raises(VideoError, match=re.escape(str(tmp_path / "nope.mp4"))):
        open_frames(tmp_path / "nope.mp4")


def test_folder_without_images(tmp_path):
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(VideoError, match="holds no images"):
        open_frames(tmp_path)


def test_unreadable_video(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(VideoError, match=re.escape(str(bad))):
        open_frames(bad)


@pytest.mark.parametrize("backend", ["opencv", "pyav"])
def test_truncated_video_names_the_frame(video_file, tmp_path, backend):
    data = video_file.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])  # moov is at the front (+faststart), frames are lost
    decoded = 0
    with pytest.raises(VideoError) as err:
        for _ in VideoFile(cut, backend=backend):
            decoded += 1
    assert decoded < 10
    assert str(err.value).startswith(f"{cut}: frame {decoded}: ")  # names the first frame it could not give
    assert re.search("ends after|cannot decode", str(err.value))


@pytest.mark.parametrize("backend", ["opencv", "pyav"])
def test_truncated_video_prints_no_ffmpeg_log(video_file, tmp_path, backend):
    """FFmpeg's own lines ([h264 @ 0x...] Invalid NAL unit size, partial file) never precede the VideoError."""
    import subprocess
    import sys

    data = video_file.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    code = (
        "import sys\nfrom spermtrack.io.frames import VideoFile\n"
        f"try:\n    list(VideoFile(sys.argv[1], backend={backend!r}))\nexcept Exception as e:\n    print(type(e).__name__)"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "OPENCV_FFMPEG_LOGLEVEL"}
    run = subprocess.run([sys.executable, "-c", code, str(cut)], capture_output=True, text=True, env=env, timeout=120)
    assert run.stdout.strip() == "VideoError"
    assert run.stderr == "", run.stderr


def _mjpeg_avi(path, frames: int = 12):
    """A grey MJPEG AVI at 50 fps (as a microscope camera's software writes it); its chunks' offsets."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 50.0, (96, 64), isColor=False)
    for i in range(frames):
        writer.write(cv2.cvtColor(_frame(i), cv2.COLOR_BGR2GRAY))
    writer.release()
    data = path.read_bytes()
    pos, chunks = data.index(b"movi") + 4, []
    while data[pos : pos + 4] == b"00dc":  # the frames' chunks: id, size, JPEG data (padded to even)
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        chunks.append((pos, size))
        pos += 8 + size + (size & 1)
    assert len(chunks) == frames
    return bytearray(data), chunks


@pytest.fixture()
def damaged_in_the_middle(tmp_path):
    """12 frames whose bytes from the middle of frame 5's JPEG to the header of frame 7's chunk are
    zeros (a damaged disk): FFmpeg decodes a half-grey frame 5, drops frames 6 and 7 and gives
    frame 8 as the 7th, each later frame 40 ms early, without a word (the report's corrupt_mid.avi)."""
    data, chunks = _mjpeg_avi(tmp_path / "intact.avi")
    (pos5, size5), (pos7, _) = chunks[5], chunks[7]
    data[pos5 + 8 + size5 // 2 : pos7 + 8] = bytes(pos7 + 8 - (pos5 + 8 + size5 // 2))
    path = tmp_path / "damaged.avi"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("backend", ["opencv", "pyav"])
def test_a_video_damaged_in_the_middle_names_the_damaged_frame(damaged_in_the_middle, backend):
    """It used to give 10 frames (5 of them at the wrong time) and then blame frame 10 for the end."""
    path = damaged_in_the_middle
    decoded = 0
    with pytest.raises(VideoError) as err:
        for _ in VideoFile(path, backend=backend):
            decoded += 1
    assert decoded == 5
    message = str(err.value)
    assert message.startswith(f"{path}: frame 5: damaged: truncated or corrupt JPEG (no end-of-image marker")
    assert "the file holds 10 of its 12 frames, so the frames after it would come at the wrong times" in message
    assert message.endswith("frames 0-4 read cleanly (analyse them alone with --max-frames 5)") and "\n" not in message


def test_the_frames_before_the_damage_are_given_before_the_error(damaged_in_the_middle, tmp_path):
    from spermtrack import Boxes
    from spermtrack.detect import run_detector

    class Nothing:
        name = "nothing"

        def detect(self, frames, first_frame=0):
            return Boxes.empty(num_frames=first_frame + len(frames))

    got = []
    with pytest.raises(VideoError, match="frame 5: damaged"):
        for first, batch in VideoFile(damaged_in_the_middle).batches(4):
            got.append((first, len(batch)))
    assert got == [(0, 4), (4, 1)]  # frame 4 came in a batch that the damage cut short
    with pytest.raises(VideoError, match="frame 5: damaged"):  # max_frames past the damage (analyze --max-frames 8)
        run_detector(Nothing(), damaged_in_the_middle, batch_size=8, max_frames=8)
    assert run_detector(Nothing(), damaged_in_the_middle, batch_size=8, max_frames=5).num_frames == 5
    assert len(list(VideoFile(tmp_path / "intact.avi"))) == 12  # the intact file reads as before


def test_analyze_stops_at_the_damaged_frame(damaged_in_the_middle, tmp_path, capsys):
    from spermtrack.cli import main

    out = tmp_path / "out"
    argv = [str(damaged_in_the_middle), "-o", str(out), "--detector", "classical", "--no-video", "-q"]
    assert main(["analyze", *argv, "--max-frames", "8"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{damaged_in_the_middle}: frame 5: damaged" in err and not out.exists()
    assert main(["analyze", *argv]) == 1  # the whole video: the same frame, not "ends after 10 of its 12 frames"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "frame 5: damaged" in err and "ends after" not in err and not out.exists()


def test_mjpeg_frames_without_end_markers_are_not_called_damaged(tmp_path):
    """A few cameras end no JPEG with an end-of-image marker; FFmpeg decodes them, and so do we."""
    data, chunks = _mjpeg_avi(tmp_path / "intact.avi", frames=4)
    for pos, size in chunks:
        eoi = data.rfind(b"\xff\xd9", pos + 8, pos + 8 + size)
        data[eoi : eoi + 2] = b"\x00\x00"
    path = tmp_path / "no_eoi.avi"
    path.write_bytes(bytes(data))
    assert len(list(VideoFile(path))) == 4


def test_truncated_jpeg_names_path_and_frame(tmp_path):
    folder = tmp_path / "seq"
    folder.mkdir()
    for i in range(4):
        cv2.imwrite(str(folder / f"img_{i}.jpg"), _frame(i))
    p = folder / "img_2.jpg"
    p.write_bytes(p.read_bytes()[:-300])
    src = open_frames(folder)
    it = iter(src)
    next(it), next(it)
    with pytest.raises(VideoError, match=re.escape(f"{p}: frame 2: truncated or corrupt JPEG")):
        next(it)


def test_corrupt_and_empty_images(tmp_path):
    garbage = tmp_path / "a.jpg"
    garbage.write_bytes(b"this is not a jpeg at all" * 10)
    with pytest.raises(VideoError, match=re.escape(f"{garbage}: frame 5: not a readable image")):
        read_image(garbage, 5)
    empty = tmp_path / "b.png"
    empty.write_bytes(b"")
    with pytest.raises(VideoError, match="empty"):
        read_image(empty, 0)
    png = tmp_path / "c.png"
    cv2.imwrite(str(png), _frame(0))
    png.write_bytes(png.read_bytes()[:-20])
    with pytest.raises(VideoError, match="truncated or corrupt PNG"):
        read_image(png, 0)


def test_image_of_another_size_is_reported(tmp_path):
    folder = tmp_path / "sizes"
    folder.mkdir()
    cv2.imwrite(str(folder / "f_0.png"), _frame(0))
    cv2.imwrite(str(folder / "f_1.png"), _frame(1, w=50))
    with pytest.raises(VideoError, match=r"f_1\.png: frame 1 is 50x64 but frame 0 is 96x64"):
        list(open_frames(folder))


def test_header_size_matches_decoding(tmp_path):
    for ext, params in (
        (".jpg", [cv2.IMWRITE_JPEG_QUALITY, 90]),
        (".png", []),
        (".bmp", []),
        (".jpg", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]),
    ):
        p = tmp_path / f"x{len(params)}{ext}"
        cv2.imwrite(str(p), _frame(0, w=77, h=33), params)
        assert image_size(p) == (77, 33)


def test_threaded_decoding_keeps_order_and_errors(image_folder):
    files = sorted(image_folder.glob("*.png"), key=lambda p: natural_key(p.name))
    src = ImageSequence(files, threads=3)
    for i, img in enumerate(src):
        np.testing.assert_array_equal(img, _frame(i))
    assert sum(len(b) for _, b in src.batches(5)) == 12
    it = iter(src)
    next(it)
    it.close()  # stopping early does not hang on pending work
    files[7].write_bytes(b"garbage")
    with pytest.raises(VideoError, match=re.escape(f"{files[7]}: frame 7: not a readable image")):
        list(ImageSequence(files, threads=3))


class _Synthetic(FrameSource):
    """``n`` frames of 48x32 pixels (frame i filled with i), of known or unknown length."""

    def __init__(self, n: int, known: int | None):
        self.path, self.fps, self.size, self.num_frames, self.n = None, 25.0, (48, 32), known, n

    def __iter__(self):
        for i in range(self.n):
            yield np.full((32, 48, 3), i % 256, np.uint8)


@pytest.mark.parametrize(("n", "known"), [(80, 80), (200, None), (30, 10), (20, 50)])
def test_a_huge_batch_size_allocates_only_the_frames_there_are(n, known):
    src = _Synthetic(n, known)
    nbytes = 32 * 48 * 3
    list(src.batches(1))  # warm up: one-time allocations (interned names, caches) are not frames
    tracemalloc.start()
    try:
        got = list(src.batches(1_000_000))  # was np.empty((1_000_000, 32, 48, 3)) up front: 4.6 GB
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [(first, len(b)) for first, b in got] == [(0, n)]
    np.testing.assert_array_equal(got[0][1][:, 0, 0, 0], np.arange(n) % 256)
    assert peak < 32 << 20, peak / nbytes  # a few MB at most (not the 4.6 GB); the exact size below
    batch = got[0][1]
    owner = batch if batch.base is None else batch.base  # the buffer (the last batch may be a view of it)
    assert len(owner) <= 2 * max(n, known or 0, BATCH_START_FRAMES)


@pytest.mark.parametrize("known", [250, None, 100, 400])
def test_batches_of_a_source_of_unknown_or_wrong_length(known):
    src = _Synthetic(250, known)
    got = list(src.batches(100))
    assert [(first, len(b)) for first, b in got] == [(0, 100), (100, 100), (200, 50)]
    np.testing.assert_array_equal(np.concatenate([b for _, b in got])[:, 0, 0, 0], np.arange(250) % 256)
    assert len({id(b) for _, b in got}) == 3 and not np.shares_memory(got[0][1], got[1][1])
