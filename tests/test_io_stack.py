"""Frame sources in memory and in TIFF stacks: arrays, lists, generators, readers, 16-bit and grey frames."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from spermtrack import SpermtrackError, VideoError, analyze
from spermtrack.io.frames import ImageSequence, open_frames
from spermtrack.io.stack import PERCENTILES, ArrayFrames, IterableFrames, TiffStack, levels_of, to_uint8


@pytest.fixture(scope="module")
def clip():
    """30 simulated 640x480 BGR frames (phase contrast) and their calibration."""
    from spermtrack.simulate import simulate_video

    sim = simulate_video(seed=3, num_frames=30, density=12)
    return np.stack(list(sim.frames())), sim.calibration


def test_multipage_tiff_is_a_stack_with_the_imagej_frame_rate(tmp_path, clip):
    frames, _ = clip
    grey = frames[..., 1]
    path = tmp_path / "fiji.tif"
    tifffile.imwrite(path, grey, imagej=True, metadata={"axes": "TYX", "finterval": 0.02})
    src = open_frames(path)
    assert isinstance(src, TiffStack)
    assert src.num_frames == 30 and src.size == (640, 480)
    assert src.fps == pytest.approx(50.0) and src.fps_source == "tiff metadata"
    out = np.stack(list(src))
    assert out.shape == (30, 480, 640, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[..., 0], grey)  # 8-bit grey: unchanged, repeated into BGR
    np.testing.assert_array_equal(out[..., 2], grey)
    assert open_frames(path, fps=25).fps == 25.0
    # Fiji saves an unlabelled series as slices (Z): read as frames; a plain multi-page TIFF too
    tifffile.imwrite(tmp_path / "z.tif", grey[:5], imagej=True, metadata={"axes": "ZYX"})
    tifffile.imwrite(tmp_path / "plain.tif", grey[:4], photometric="minisblack")
    assert open_frames(tmp_path / "z.tif").num_frames == 5
    plain = open_frames(tmp_path / "plain.tif")
    assert plain.num_frames == 4 and plain.fps is None
    np.testing.assert_array_equal(np.stack(list(plain))[..., 1], grey[:4])
    # a planar RGB page (samples stored as planes) is one colour frame, not three grey ones
    tifffile.imwrite(tmp_path / "planar.tif", np.stack([grey[0], grey[1], grey[2]]), photometric="rgb", planarconfig="separate")
    planar = np.stack(list(open_frames(tmp_path / "planar.tif")))
    assert planar.shape == (1, 480, 640, 3)
    np.testing.assert_array_equal(planar[0, ..., 2], grey[0])  # R -> the last BGR channel


def test_16bit_tiff_is_stretched_by_the_video_percentiles(tmp_path):
    rng = np.random.default_rng(0)
    raw = rng.integers(1000, 5000, (10, 48, 64)).astype(np.uint16)
    raw[5, 10, 10] = 65535  # one hot pixel must not set the scale
    tifffile.imwrite(tmp_path / "cam16.tif", raw)
    src = open_frames(tmp_path / "cam16.tif")
    lo, hi = src.levels
    assert (lo, hi) == pytest.approx(tuple(np.percentile(raw.astype(float), PERCENTILES)))
    out = np.stack(list(src))[..., 0]
    expect = np.clip(np.rint((raw.astype(np.float32) - lo) * (255.0 / (hi - lo))), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(out, expect)
    assert out[5, 10, 10] == 255 and out.min() == 0 and 100 < out.mean() < 155


def test_colour_tiff_is_rgb_converted_to_bgr(tmp_path):
    rgb = np.zeros((3, 20, 30, 3), np.uint8)
    rgb[..., 0] = 200  # red
    tifffile.imwrite(tmp_path / "rgb.tif", rgb, photometric="rgb")
    out = np.stack(list(open_frames(tmp_path / "rgb.tif")))
    assert out.shape == (3, 20, 30, 3) and (out[..., 2] == 200).all() and (out[..., 0] == 0).all()


def test_hyperstack_with_channels_and_frames_is_refused(tmp_path):
    tifffile.imwrite(tmp_path / "tc.tif", np.zeros((4, 2, 20, 30), np.uint16), imagej=True, metadata={"axes": "TCYX"})
    with pytest.raises(VideoError, match=r"tc\.tif.*axes TCYX.*T=4, C=2"):
        open_frames(tmp_path / "tc.tif")


def test_single_page_tiff_is_one_frame(tmp_path):
    tifffile.imwrite(tmp_path / "one.tif", np.full((20, 30), 7, np.uint8))
    src = open_frames(tmp_path / "one.tif")
    assert src.num_frames == 1 and np.stack(list(src)).shape == (1, 20, 30, 3)
    assert isinstance(open_frames(tmp_path), ImageSequence)  # a folder of TIFF images stays an image folder


def test_arrays_lists_and_generators(clip):
    frames, _ = clip
    grey = frames[:6, ..., 1]
    a = open_frames(grey, fps=50)
    assert isinstance(a, ArrayFrames) and a.num_frames == 6 and a.fps == 50 and a.fps_source == "user"
    np.testing.assert_array_equal(np.stack(list(a))[..., 1], grey)
    np.testing.assert_array_equal(np.stack(list(a)), np.stack(list(a)))  # re-iterable
    colour = open_frames(frames[:6])
    np.testing.assert_array_equal(np.stack(list(colour)), frames[:6])
    assert np.stack(list(open_frames(list(frames[:6])))).shape == (6, 480, 640, 3)
    gen = open_frames(f for f in grey)
    assert isinstance(gen, IterableFrames) and gen.num_frames is None
    np.testing.assert_array_equal(np.stack(list(gen))[..., 0], grey)
    assert gen.num_frames == 6
    with pytest.raises(VideoError, match="only once"):
        list(gen)
    batches = [(first, len(b)) for first, b in open_frames(iter(list(grey))).batches(4)]
    assert batches == [(0, 4), (4, 2)]


def test_16bit_array_and_bad_frames():
    raw = np.linspace(0, 4095, 5 * 8 * 8).reshape(5, 8, 8).astype(np.uint16)
    src = open_frames(raw)
    assert src.levels == pytest.approx(levels_of(list(raw)))
    out = np.stack(list(src))
    assert out.dtype == np.uint8 and out.max() == 255 and out.min() == 0
    with pytest.raises(VideoError, match="frame 1 is 9x8 but frame 0 is 8x8"):
        list(open_frames([np.zeros((8, 8), np.uint8), np.zeros((8, 9), np.uint8)]))
    with pytest.raises(VideoError, match="holds object values"):
        open_frames([np.array([[None]])])
    with pytest.raises(VideoError, match="gave no frames"):
        open_frames(iter([]))
    assert to_uint8(np.array([[0.0, 0.5, 1.0]]), (0.0, 1.0)).tolist() == [[0, 128, 255]]


def test_pyav_frames_and_cv2_capture(tmp_path, clip):
    import av
    import cv2

    from spermtrack.io.video import VideoWriter

    frames, cal = clip
    path = tmp_path / "v.mp4"
    with VideoWriter(path, cal.fps, (640, 480), crf=18) as w:
        for f in frames[:5]:
            w.write(f)
    with av.open(str(path)) as container:
        decoded = np.stack(list(open_frames(container.decode(video=0))))
    cap = np.stack(list(open_frames(cv2.VideoCapture(str(path)))))
    assert decoded.shape == cap.shape == (5, 480, 640, 3)
    assert np.abs(decoded.astype(int) - cap.astype(int)).mean() < 2.0  # same FFmpeg decoder, BGR both


@pytest.mark.slow
def test_analyze_a_tiff_stack_an_array_and_a_list_alike(tmp_path, clip):
    frames, cal = clip
    grey = frames[..., 1]
    tifffile.imwrite(tmp_path / "s.tif", grey, imagej=True, metadata={"axes": "TYX", "finterval": 1 / cal.fps})
    kw = {"detector": "classical", "um_per_px": cal.um_per_px}
    from_tiff = analyze(tmp_path / "s.tif", **kw)
    from_array = analyze(grey, fps=cal.fps, **kw)
    from_list = analyze(list(np.repeat(grey[..., None], 3, axis=3)), fps=cal.fps, **kw)
    assert from_tiff.num_frames == 30 and from_tiff.calibration.fps == pytest.approx(cal.fps)
    assert len(from_tiff.tracks.unique_tracks()) >= 5
    assert from_tiff.tracks.equals(from_array.tracks) and from_array.tracks.equals(from_list.tracks)
    assert from_array.source.startswith("<array (30, 480, 640) uint8>")
    # a result of frames in memory saves like any other; the overlay is a second pass over the array
    paths = from_array.save(tmp_path / "out", report=False)
    assert paths["overlay.mp4"].stat().st_size > 1000 and (tmp_path / "out" / "labels_ftid").is_dir()
    once = analyze((f for f in grey), fps=cal.fps, **kw)
    with pytest.raises(SpermtrackError, match="one-pass iterable"):
        once.save(tmp_path / "once")
    assert "overlay.mp4" not in once.save(tmp_path / "once", overlay=False, report=False)


def test_analyze_frames_in_memory_needs_a_frame_rate(clip):
    frames, _ = clip
    with pytest.raises(SpermtrackError, match="no frame rate: pass fps"):
        analyze(frames[:3], detector="classical")


@pytest.mark.slow
def test_cli_analyze_reads_every_page_of_a_fiji_stack(tmp_path, clip):
    """Issue 16, problem 2: a multi-page TIFF was read as one frame and the run 'passed' with no track."""
    import json

    import pandas as pd

    from spermtrack.cli import main

    frames, _ = clip
    stack = tmp_path / "fiji_stack.tif"
    tifffile.imwrite(stack, frames[..., 1].astype(np.uint16) * 16, imagej=True, metadata={"axes": "TYX", "finterval": 0.02})
    out = tmp_path / "result"
    assert main(["analyze", str(stack), "--out", str(out), "--um-per-px", "0.25", "--detector", "classical", "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["video"]["num_frames"] == 30 and summary["video"]["fps"] == pytest.approx(50.0)
    assert summary["video"]["fps_source"] == "tiff metadata"
    kin = pd.read_csv(out / "kinematics.csv")
    assert (kin["quality"] == "ok").sum() >= 5
