"""viz.overlay: segment speeds (analytic), drawing (pixels), and the H.264 video (decoded back)."""

from __future__ import annotations

import numpy as np
import pytest

from spermtrack import Boxes, Calibration
from spermtrack.errors import SpermtrackError
from spermtrack.viz import style
from spermtrack.viz.overlay import (
    OverlayRenderer,
    OverlayStyle,
    _grouped_moving_mean,
    hershey_text,
    render_overlay,
    segment_speeds,
)

PLAIN = OverlayStyle(opacity=1.0, show_ids=False, show_colorbar=False, show_clock=False, show_trails=False)


def line_track(track_id, x0, y0, vx, vy, frames, size=20.0, cls=0, num_frames=None, score=None):
    f = np.asarray(frames)
    cx, cy = x0 + vx * (f - f[0]), y0 + vy * (f - f[0])
    return Boxes.from_cxcywh(
        f,
        np.c_[cx, cy, np.full(len(f), size), np.full(len(f), size)],
        cls=np.full(len(f), cls),
        track_id=np.full(len(f), track_id),
        score=score,
        num_frames=num_frames or int(f[-1]) + 1,
    )


# ---------------------------------------------------------------------------- speeds
def test_segment_speeds_of_straight_swimmers_are_analytic():
    cal = Calibration(0.25, 50.0)
    a = line_track(1, 100, 100, 3.0, 4.0, range(0, 20), num_frames=40)  # 5 px/frame
    b = line_track(2, 300, 300, -8.0, 0.0, range(5, 40), num_frames=40)  # 8 px/frame
    seg = segment_speeds(Boxes.concat([a, b]), cal, smoothing_s=0.1)
    assert len(seg["speed"]) == 19 + 34
    expect = np.where(seg["track_id"] == 1, 5.0, 8.0) * 50 * 0.25  # µm/s
    np.testing.assert_allclose(seg["speed"], expect, rtol=1e-5)
    assert np.all(np.diff(seg["frame"]) >= 0), "segments sorted by the frame of their end"
    # end points are consecutive boxes of the same track
    np.testing.assert_allclose(
        np.hypot(seg["x1"] - seg["x0"], seg["y1"] - seg["y0"]), np.where(seg["track_id"] == 1, 5, 8), rtol=1e-5
    )


def test_segment_speed_over_a_gap_uses_the_real_time():
    t = line_track(7, 50, 50, 2.0, 0.0, [0, 1, 2, 6, 7])  # 8 px in 4 frames over the gap
    seg = segment_speeds(t, Calibration(None, 10.0))
    np.testing.assert_allclose(seg["speed"], [20.0, 20.0, 20.0, 20.0])


def test_interpolated_segments_are_marked():
    score = np.array([0.9, 0.0, 0.0, 0.8, 0.7])
    t = line_track(3, 50, 50, 2.0, 0.0, range(5), score=score)
    seg = segment_speeds(t, Calibration(None, 50.0))
    assert seg["interpolated"].tolist() == [True, True, True, False]


def test_grouped_moving_mean_matches_a_loop():
    rng = np.random.default_rng(0)
    groups = np.sort(rng.integers(0, 12, 400))
    values = rng.normal(size=400)
    for half in (1, 3, 10):
        got = _grouped_moving_mean(values, groups, half)
        want = np.empty_like(values)
        for i in range(values.size):
            same = np.flatnonzero(groups == groups[i])
            window = same[(same >= i - half) & (same <= i + half)]
            want[i] = values[window].mean()
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------- drawing
def test_boxes_are_drawn_in_class_colours_where_the_boxes_are():
    t = Boxes.concat([line_track(1, 40, 40, 0, 0, [0], size=20, cls=0), line_track(2, 100, 40, 0, 0, [0], size=30, cls=1)])
    img = np.zeros((96, 160, 3), np.uint8)
    out = OverlayRenderer(t, Calibration(None, 50.0), style=PLAIN).draw(0, img)
    assert tuple(out[30, 40]) == style.CLASS_BGR[0]  # top edge of box 1 (y1 = 30)
    assert tuple(out[40, 30]) == style.CLASS_BGR[0]  # left edge
    assert tuple(out[25, 100]) == style.CLASS_BGR[1]  # top edge of box 2 (y1 = 25)
    assert not out[40, 40].any() and not out[40, 100].any(), "inside of the boxes untouched"
    assert not out[80:, :].any(), "nothing drawn away from the boxes"
    assert not img.any(), "the input frame is not modified"


def test_box_colours_follow_the_background():
    t = line_track(1, 40, 40, 0, 0, [0], size=20, cls=0)
    light = OverlayRenderer(t, Calibration(None, 50.0), style=PLAIN).draw(0, np.full((80, 80, 3), 200, np.uint8))
    dark = OverlayRenderer(t, Calibration(None, 50.0), style=PLAIN).draw(0, np.full((80, 80, 3), 60, np.uint8))
    assert tuple(light[30, 40]) == style.CLASS_BGR_LIGHT[0] and tuple(dark[30, 40]) == style.CLASS_BGR[0]
    fixed = OverlayStyle(**{**PLAIN.__dict__, "class_colors": ((1, 2, 3),)})
    assert tuple(OverlayRenderer(t, Calibration(None, 50.0), style=fixed).draw(0, np.zeros((80, 80, 3), np.uint8))[30, 40]) == (
        1,
        2,
        3,
    )


def test_opacity_blends_the_drawing_with_the_frame():
    t = line_track(1, 40, 40, 0, 0, [0], size=20)
    img = np.full((80, 80, 3), 100, np.uint8)
    half = OverlayRenderer(t, Calibration(None, 50.0), style=OverlayStyle(**{**PLAIN.__dict__, "opacity": 0.5})).draw(0, img)
    full = OverlayRenderer(t, Calibration(None, 50.0), style=PLAIN).draw(0, img)
    np.testing.assert_allclose(half[30, 40].astype(float), (full[30, 40].astype(float) + 100) / 2, atol=1)
    none = OverlayRenderer(t, Calibration(None, 50.0), style=OverlayStyle(**{**PLAIN.__dict__, "opacity": 0.0})).draw(0, img)
    np.testing.assert_array_equal(none, img)


def test_trails_are_coloured_by_speed():
    cal = Calibration(None, 50.0)
    fast = line_track(1, 20, 30, 6.0, 0.0, range(0, 20))  # 300 px/s
    slow = line_track(2, 20, 90, 1.0, 0.0, range(0, 20))  # 50 px/s
    st = OverlayStyle(
        opacity=1.0, show_boxes=False, show_ids=False, show_colorbar=False, show_clock=False, trail_s=1.0, trail_thickness=3
    )
    r = OverlayRenderer(Boxes.concat([fast, slow]), cal, style=st)
    assert r.speed_range[0] == 0.0 and r.speed_range[1] == pytest.approx(300.0)  # 95th percentile
    out = r.draw(19, np.zeros((120, 160, 3), np.uint8))
    ramp = style.colormap_bgr("turbo", st.color_bins).astype(int)
    fast_px = out[30, 40:120].astype(int)  # along the fast trail
    slow_px = out[90, 25:35].astype(int)
    # fast = top of the scale, slow = 50/300 of it
    assert np.abs(fast_px - ramp[-1]).sum(axis=1).min() <= 6
    k = int(50 / 300 * st.color_bins)
    assert np.abs(slow_px - ramp[k]).sum(axis=1).min() <= 6
    assert np.abs(slow_px - ramp[-1]).sum(axis=1).min() > 60


def test_trails_are_limited_to_trail_s():
    cal = Calibration(None, 50.0)
    t = line_track(1, 10, 20, 2.0, 0.0, range(0, 60))  # x = 10 + 2 f
    st = OverlayStyle(opacity=1.0, show_boxes=False, show_ids=False, show_colorbar=False, show_clock=False, trail_s=0.2)
    out = OverlayRenderer(t, cal, style=st).draw(59, np.zeros((40, 160, 3), np.uint8))
    cols = np.flatnonzero(out[18:23].any(axis=(0, 2)))
    # 0.2 s = 10 frames: the trail covers x from 10 + 2*49 = 108 to 10 + 2*59 = 128 (plus anti-aliasing)
    assert cols.min() >= 104 and cols.max() <= 131


def test_the_fastest_sperm_is_highlighted_with_its_label():
    cal = Calibration(None, 50.0)
    t = Boxes.concat([line_track(1, 40, 40, 2, 0, range(0, 10)), line_track(2, 40, 100, 1, 0, range(0, 10))])
    st = OverlayStyle(**{**PLAIN.__dict__, "highlight": 1})
    out = OverlayRenderer(t, cal, fastest=[2, 1], fastest_labels={2: "#1 VSL 50 px/s"}, style=st).draw(
        9, np.zeros((160, 200, 3), np.uint8)
    )
    hl = np.all(out == style.HIGHLIGHT_BGR, axis=2)
    ys, xs = np.nonzero(hl)
    assert ys.min() >= 85, "only track 2 (y = 100) is highlighted"
    assert xs.max() > 70, "the label box extends to the right of the box"
    assert hl[90, 49], "the top edge of track 2's box at frame 9 (centre 49, 100; 20 px)"


def test_hershey_text_is_ascii():
    assert hershey_text("VSL 92 µm/s, 30 µm², ≥ 5") == "VSL 92 um/s, 30 um2, >= 5"


def test_bad_style_and_frames_are_refused():
    with pytest.raises(SpermtrackError, match="opacity"):
        OverlayStyle(opacity=1.5)
    with pytest.raises(SpermtrackError, match="speed_range"):
        OverlayStyle(speed_range=(5.0, 1.0))
    r = OverlayRenderer(line_track(1, 10, 10, 1, 0, range(3)), Calibration(None, 50.0))
    with pytest.raises(SpermtrackError, match="frame 2"):
        r.draw(2, np.zeros((10, 10), np.uint8))


# ---------------------------------------------------------------------------- the video
def test_render_overlay_writes_browser_h264_that_decodes_to_the_drawing(tmp_path):
    import av

    cal = Calibration(0.25, 50.0)
    tracks = Boxes.concat([line_track(i, 60 + 40 * i, 80 + 25 * i, 3, 1, range(0, 30), num_frames=30) for i in range(1, 6)])
    rng = np.random.default_rng(0)
    base = [np.full((240, 320, 3), 90 + i, np.uint8) + rng.integers(0, 8, (240, 320, 3), dtype=np.uint8) for i in range(30)]
    consumed = []

    def frames():  # a generator: the renderer must stream it
        for i, f in enumerate(base):
            consumed.append(i)
            yield f

    path = render_overlay(frames(), tracks, tmp_path / "o.mp4", cal, fastest=[3], total=30)
    assert consumed == list(range(30))
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        assert s.codec_context.name == "h264" and s.codec_context.pix_fmt == "yuv420p"
        assert (s.codec_context.width, s.codec_context.height) == (320, 240)
        assert float(s.average_rate) == pytest.approx(50.0)
        decoded = [f.to_ndarray(format="bgr24") for f in c.decode(s)]
    assert len(decoded) == 30
    r = OverlayRenderer(tracks, cal, fastest=[3])
    for i in (0, 15, 29):
        want = r.draw(i, base[i]).astype(float)
        mse = np.mean((decoded[i].astype(float) - want) ** 2)
        assert 10 * np.log10(255**2 / mse) > 28, f"frame {i}: PSNR too low"
    data = path.read_bytes()
    assert data[4:8] == b"ftyp" and data.index(b"moov") < data.index(b"mdat"), "faststart: the index before the data"


def test_render_overlay_refuses_an_empty_source(tmp_path):
    with pytest.raises(SpermtrackError, match="no frames"):
        render_overlay(iter([]), Boxes.empty(0), tmp_path / "x.mp4", Calibration(None, 50.0))
    assert not (tmp_path / "x.mp4").exists()
