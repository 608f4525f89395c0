"""Tests of the simulator's looks: families, the random look and camera, magnification, frame size."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from spermtrack.simulate import MotionParams, SceneParams, Swimmer, simulate_video
from spermtrack.simulate.camera import Camera, CameraChain, sample_camera
from spermtrack.simulate.render import LOOKS, Look, sample_look

NO_DRIFT = MotionParams(drift_um_s=(0.0, 0.0))
#: A clean scene: no debris, particles, round cells or rings (for measuring heads alone).
CLEAN = SceneParams(static_debris=(0, 0), moving_debris=(0, 0), round_cells=(0, 0), bright_particles=(0, 0), ghost_rings=(0, 0))


def _lone_head(look, head_px, seed=4, size=(320, 240), **kw):
    """One immotile in-focus sperm in the middle of a clean frame, heading +x."""
    w, h = size
    return simulate_video(
        seed=seed, num_frames=1, density=0, clusters=0, pinheads=0, look=look, head_px=head_px, image_size=size,
        swimmers=[Swimmer(x_px=w / 2, y_px=h / 2, speed_um_s=0.0)], motion_params=NO_DRIFT, scene_params=CLEAN, **kw,
    )  # fmt: skip


def _contrast(frame, boxes, frame_index=0):
    """Per labelled sperm: mean grey at its box's centre (radius max(1.5, side / 10) px: the
    head) minus the median grey of a ring from 0.9 to 1.4 box sides around it (the local
    background)."""
    g = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(float)
    hh, ww = g.shape
    yy, xx = np.mgrid[0:hh, 0:ww]
    sel = (boxes.frame == frame_index) & (boxes.cls == 0)
    out = []
    for x1, y1, x2, y2 in zip(boxes.x1[sel], boxes.y1[sel], boxes.x2[sel], boxes.y2[sel]):
        cx, cy, side = 0.5 * (x1 + x2), 0.5 * (y1 + y2), 0.5 * ((x2 - x1) + (y2 - y1))
        if not (1.5 * side < cx < ww - 1.5 * side and 1.5 * side < cy < hh - 1.5 * side):
            continue
        r = np.hypot(xx - cx, yy - cy)
        inner = g[r <= max(1.5, side / 10.0)]
        ring = g[(r >= 0.9 * side) & (r <= 1.4 * side)]
        out.append(inner.mean() - np.median(ring))
    return np.array(out)


# ---------------------------------------------------------------------------- every look renders
@pytest.mark.parametrize("look", [*LOOKS, "random"])
def test_each_look_renders_with_valid_boxes(look):
    v = simulate_video(seed=5, num_frames=3, density=12, look=look)
    w, h = v.image_size
    f = v.frame(2)
    assert f.shape == (h, w, 3) and f.dtype == np.uint8
    assert f.std() > 2.0  # not a flat picture
    b = v.boxes
    assert len(b) > 0 and b.x1.min() >= 0 and b.y1.min() >= 0 and b.x2.max() <= w and b.y2.max() <= h
    assert v.look.name in LOOKS and v.params["look"]["name"] == v.look.name
    if look != "random":
        assert v.look.name == look and v.image_size == (640, 480) and v.head_px == 23.0


@pytest.mark.parametrize("look", ["brightfield", "negative-phase", "random"])
def test_looks_are_seeded(look):
    a = simulate_video(seed=21, num_frames=3, density=10, look=look)
    b = simulate_video(seed=21, num_frames=3, density=10, look=look)
    assert a.params == b.params and a.boxes.equals(b.boxes)
    for i in (2, 0):  # any order
        assert np.array_equal(a.frame(i), b.frame(i))
    c = simulate_video(seed=22, num_frames=3, density=10, look=look)
    assert c.params["look"] != a.params["look"]
    assert c.frame(0).shape != a.frame(0).shape or not np.array_equal(c.frame(0), a.frame(0))


def test_frames_with_h264_and_a_grey_camera_do_not_depend_on_rendering_order():
    look = sample_look(np.random.default_rng(1), "brightfield")
    look.camera = Camera(gamma=0.8, grey=True, h264_qp=34)
    v = simulate_video(seed=9, num_frames=4, density=10, look=look, image_size=(321, 243))
    forward = list(v.frames())
    w = simulate_video(seed=9, num_frames=4, density=10, look=look, image_size=(321, 243))
    assert all(np.array_equal(w.frame(i), forward[i]) for i in (3, 1, 0, 2))
    f = forward[2]
    assert f.shape == (243, 321, 3) and np.array_equal(f[..., 0], f[..., 2])


def test_random_draws_every_family_scale_and_size():
    vids = [simulate_video(seed=s, num_frames=1, density=3, clusters=0, pinheads=0, look="random") for s in range(40)]
    assert {v.look.name for v in vids} == set(LOOKS)
    sizes = {v.image_size for v in vids}
    assert {(640, 480), (640, 384), (698, 528), (720, 576)} <= sizes
    heads = np.array([v.head_px for v in vids])
    assert heads.min() >= 8.0 and heads.max() <= 35.0 and heads.max() / heads.min() > 2.5
    assert any(v.look.camera.grey for v in vids) and any(not v.look.camera.grey for v in vids)
    assert any(v.look.camera.h264_qp > 0 for v in vids) and any(v.look.camera.resample > 1 for v in vids)
    for v in vids:  # every drawn combination renders
        f = v.frame(0)
        assert f.shape == (v.image_size[1], v.image_size[0], 3) and f.std() > 1.0
    # what was asked for is kept, the rest is drawn
    v = simulate_video(seed=3, num_frames=1, density=3, look="random", head_px=15, image_size=(698, 528))
    assert v.head_px == 15 and v.image_size == (698, 528) and v.frame(0).shape == (528, 698, 3)


def test_a_video_re_renders_from_its_written_look():
    v = simulate_video(seed=8, num_frames=2, density=10, look="random", image_size=(640, 480), head_px=20)
    look = Look.from_dict(json.loads(json.dumps(v.params["look"])))
    assert look == v.look
    again = simulate_video(seed=8, num_frames=2, density=10, look=look, image_size=(640, 480), head_px=20)
    assert np.array_equal(again.frame(1), v.frame(1))


# ---------------------------------------------------------------------------- magnification and frame size
def _full_sperm_side(v) -> float:
    """Median box side (mean of width and height, px) of the sperm boxes wholly inside the frame."""
    b = v.boxes
    w, h = v.image_size
    full = (b.x1 > 0) & (b.y1 > 0) & (b.x2 < w) & (b.y2 < h) & (b.cls == 0)
    return float(np.median(0.5 * (b.width[full] + b.height[full])))


@pytest.mark.parametrize("head_px, size", [(8.0, (640, 384)), (17.0, (698, 528)), (35.0, (1280, 1024))])
def test_boxes_follow_head_size_and_frame_size(head_px, size):
    v = simulate_video(
        seed=2, num_frames=2, density=40, clusters=0, pinheads=0, look="brightfield", head_px=head_px, image_size=size
    )
    w, h = size
    b = v.boxes
    assert v.frame(0).shape == (h, w, 3)
    assert b.x2.max() <= w and b.y2.max() <= h
    assert abs(_full_sperm_side(v) / head_px - 1.0) < 0.1  # the VISEM convention (23 px at scale 1), scaled
    # a head's box stays a box in µm: the calibration follows the magnification
    assert v.calibration.um_per_px == pytest.approx(23.0 * 0.25 / head_px)
    # boxes are spread over the whole frame
    cx = 0.5 * (b.x1 + b.x2)
    assert cx.max() > 0.7 * w and cx.min() < 0.3 * w


def test_um_per_px_sets_the_same_magnification_as_head_px():
    a = simulate_video(seed=6, num_frames=2, density=10, look="phase", um_per_px=0.5)
    b = simulate_video(seed=6, num_frames=2, density=10, look="phase", head_px=11.5)
    assert a.head_px == pytest.approx(11.5) and a.calibration.um_per_px == pytest.approx(0.5)
    assert a.boxes.equals(b.boxes)
    assert np.array_equal(a.frame(1), b.frame(1))


def _dark_blob_area(frame, up=4):
    """Area (px) of the dark blob at the centre of a clean frame: pixels below half-way between
    the background and the darkest pixel, connected to the darkest pixel near the centre,
    measured on a ``up``-times upsampled (cubic) copy so small heads are not pixelised."""
    g = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)
    g = cv2.resize(cv2.GaussianBlur(g, (0, 0), 0.7), None, fx=up, fy=up, interpolation=cv2.INTER_CUBIC)
    h, w = g.shape
    bg = float(np.median(g))
    r = 20 * up
    win = g[h // 2 - r : h // 2 + r, w // 2 - r : w // 2 + r]
    y0, x0 = np.unravel_index(np.argmin(win), win.shape)
    low = float(win.min())
    mask = (g < 0.5 * (bg + low)).astype(np.uint8)
    _, lab = cv2.connectedComponents(mask)
    return float((lab == lab[h // 2 - r + y0, w // 2 - r + x0]).sum()) / up**2, bg - low


def test_the_rendered_head_grows_with_head_px():
    look = sample_look(np.random.default_rng(2), "brightfield")
    look.head_dark, look.head_flat, look.optics_sigma, look.noise = 70.0, True, 0.5, 1.5
    look.tail, look.midpiece, look.acrosome, look.blobs, look.far = 5.0, 5.0, 0.0, 0, 0.0  # the head alone
    areas = {}
    for hp in (12.0, 36.0):
        f = _lone_head(look, hp).frame(0)
        areas[hp], depth = _dark_blob_area(f)
        assert depth > 15  # a visible dark head
    ratio = np.sqrt(areas[36.0] / areas[12.0])  # linear size ratio, 3 expected
    assert 2.6 < ratio < 3.9, (areas, ratio)  # 3.2-3.7 over 10 seeds (the measuring blur is not scaled)


# ---------------------------------------------------------------------------- polarity
@pytest.mark.parametrize("look, dark", [("brightfield", True), ("negative-phase", True), ("phase", False)])
def test_head_polarity(look, dark):
    # (VISEM's light look "bright" has no single polarity: a dark core in a brighter halo)
    c = np.concatenate(
        [_contrast(v.frame(0), v.boxes) for v in (simulate_video(seed=s, num_frames=1, density=25, look=look) for s in (1, 2))]
    )
    assert len(c) > 15
    if dark:
        assert np.mean(c < 0) > 0.7 and np.median(c) < -8, np.round(c)
    else:
        assert np.mean(c > 0) > 0.8 and np.median(c) > 8, np.round(c)


def test_brightfield_is_light_grey_with_dark_specks():
    v = simulate_video(seed=3, num_frames=1, density=10, look="brightfield")
    f = v.frame(0).astype(float)
    med = np.median(f, axis=(0, 1))
    assert med.min() > 120 and med.max() - med.min() < 25  # light and near-neutral
    g = f.mean(axis=2)
    assert np.mean(g < np.median(g) - 25) > 2e-4  # dark debris specks and heads


# ---------------------------------------------------------------------------- camera
def test_camera_grey_tone_and_h264():
    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur((rng.random((96, 130, 3)) * 255).astype(np.uint8), (0, 0), 3)
    assert np.array_equal(CameraChain(Camera(), (130, 96)).apply(img.copy()), img)
    grey = CameraChain(Camera(grey=True, cast_bgr=(1.1, 1.0, 0.9)), (130, 96)).apply(img.copy())
    assert np.array_equal(grey[..., 0], grey[..., 1]) and np.array_equal(grey[..., 1], grey[..., 2])
    dark = CameraChain(Camera(gamma=2.0), (130, 96)).apply(img.copy())
    assert dark.mean() < img.mean() - 10
    flat = CameraChain(Camera(contrast=0.5), (130, 96)).apply(img.copy())
    assert flat.std() < 0.6 * img.std()
    chain = CameraChain(Camera(h264_qp=38), (131, 97))  # odd sizes: the last row/column pass through
    odd = np.ascontiguousarray(np.pad(img, ((0, 1), (0, 1), (0, 0)), mode="edge"))
    a = chain.apply(odd.copy())
    b = chain.apply(odd.copy())  # intra-only at a fixed quantiser: frame by frame, the same
    assert np.array_equal(a, b) and not np.array_equal(a, odd)
    assert np.abs(a.astype(int) - odd).mean() < 12
    sharp = cv2.GaussianBlur((rng.random((96, 130, 3)) * 255).astype(np.uint8), (0, 0), 0.8)
    soft = CameraChain(Camera(resample=2.0), (130, 96)).apply(sharp.copy())
    lap = lambda a: cv2.Laplacian(cv2.cvtColor(a, cv2.COLOR_BGR2GRAY), cv2.CV_32F).std()  # noqa: E731
    assert lap(soft) < 0.6 * lap(sharp) and abs(float(soft.mean()) - float(sharp.mean())) < 2
    assert sample_camera(np.random.default_rng(3)) == sample_camera(np.random.default_rng(3))


def test_camera_and_magnification_arguments_are_checked():
    with pytest.raises(ValueError, match="gamma"):
        Camera(gamma=0.0)
    with pytest.raises(ValueError, match="h264_qp"):
        Camera(h264_qp=60)
    with pytest.raises(ValueError, match="resample"):
        Camera(resample=0.5)
    with pytest.raises(ValueError, match="head_px"):
        simulate_video(seed=0, num_frames=1, head_px=2)
    with pytest.raises(ValueError, match="um_per_px"):
        simulate_video(seed=0, num_frames=1, um_per_px=-1)
    with pytest.raises(ValueError, match="image_size"):
        simulate_video(seed=0, num_frames=1, image_size=(8, 8))
    with pytest.raises(ValueError, match="look"):
        simulate_video(seed=0, num_frames=1, look="darkfield")


# ---------------------------------------------------------------------------- CLI and dataset
def test_cli_look_random_writes_each_videos_look(tmp_path, capsys):
    from spermtrack.cli import main
    from spermtrack.io.visem import VisemVideo
    from spermtrack.simulate.dataset import dataset_looks

    out = tmp_path / "sim"
    args = ["simulate", str(out), "--videos", "3", "--frames", "2", "--seed", "1", "--no-mp4", "-q", "--look", "random"]
    assert main([*args, "--workers", "1"]) == 0
    summary = json.loads((out / "simulation.json").read_text())
    assert summary["look"] == "random"
    assert "looks drawn:" in capsys.readouterr().out
    looks = dataset_looks(out)
    assert sorted(looks) == [v["vid"] for v in summary["videos"]]
    assert all(looks[v["vid"]]["look"] == v["look"] and looks[v["vid"]]["head_px"] == v["head_px"] for v in summary["videos"])
    for v in summary["videos"]:
        assert v["look"] in LOOKS and 8 <= v["head_px"] <= 35 and len(v["image_size"]) == 2
        truth = json.loads((out / v["vid"] / "truth" / "simulation.json").read_text())
        assert truth["look"]["name"] == v["look"] and truth["head_px"] == pytest.approx(v["head_px"], abs=1e-3)
        img = cv2.imread(str(out / v["vid"] / "images" / f"{v['vid']}_frame_1.jpg"))
        assert img.shape[1::-1] == tuple(v["image_size"])
        vid = VisemVideo(out / v["vid"])
        assert vid.image_size == tuple(v["image_size"]) and vid.labels().x2.max() <= v["image_size"][0]
    # fixed size and head size for every video
    out2 = tmp_path / "sim2"
    assert main(["simulate", str(out2), "--videos", "2", "--frames", "2", "--no-mp4", "-q", "--look", "brightfield",
                 "--size", "640x384", "--head-px", "17", "--workers", "1"]) == 0  # fmt: skip
    for v in json.loads((out2 / "simulation.json").read_text())["videos"]:
        assert v["look"] == "brightfield" and v["image_size"] == [640, 384] and v["head_px"] == pytest.approx(17.0)


def test_dataset_looks_names_a_missing_summary(tmp_path):
    from spermtrack.errors import DatasetError
    from spermtrack.simulate.dataset import dataset_looks

    with pytest.raises(DatasetError, match=r"simulation\.json"):
        dataset_looks(tmp_path)


def test_cli_rejects_a_bad_size_and_head_size(tmp_path, capsys):
    from spermtrack.cli import main

    with pytest.raises(SystemExit):
        main(["simulate", str(tmp_path / "x"), "--size", "640by480"])
    assert "WIDTHxHEIGHT" in capsys.readouterr().err
    assert main(["simulate", str(tmp_path / "x"), "--head-px", "2", "-q"]) != 0
    err = capsys.readouterr().err
    assert "--head-px must be in [4, 120] px" in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


def _dark_head_length(frame, box):
    """Length along x (box sides) of the half-contrast dark blob at the centre of ``box``
    (x1, y1, x2, y2), contrast against the median of a ring 0.9-1.4 box sides around it."""
    g = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(float)
    hh, ww = g.shape
    yy, xx = np.mgrid[0:hh, 0:ww]
    cx, cy, side = 0.5 * (box[0] + box[2]), 0.5 * (box[1] + box[3]), box[2] - box[0]
    r = np.hypot(xx - cx, yy - cy)
    d = np.median(g[(r >= 0.9 * side) & (r <= 1.4 * side)]) - g
    icx, icy = int(round(cx)), int(round(cy))
    peak = d[icy - 2 : icy + 3, icx - 2 : icx + 3].max()
    _, lab = cv2.connectedComponents((d >= 0.5 * peak).astype(np.uint8))
    k = lab[icy - 2 : icy + 3, icx - 2 : icx + 3].max()
    xs = np.flatnonzero((lab == k).any(axis=0))
    return float(xs[-1] - xs[0] + 1) / float(side)


@pytest.mark.parametrize("look", ["brightfield", "negative-phase"])
def test_dark_heads_fill_their_box_as_real_heads_do(look):
    """In dark-head looks what people box is the dark head itself: a 4.5-µm head in a 5.75-µm
    box is 0.78 of its side. Before, the simulated dark heads were 0.54 (bright field) and 0.38
    (negative phase contrast) of the box side at half contrast, so a box drawn around a
    thresholded head (issue 13's ten-line baseline) missed the labels."""
    ratios = []
    for seed in range(16):
        v = _lone_head(sample_look(np.random.default_rng(seed), look, (320, 240)), 23.0, seed=seed)
        b = v.boxes
        ratios.append(_dark_head_length(v.frame(0), (b.x1[0], b.y1[0], b.x2[0], b.y2[0])))
    assert 0.65 <= float(np.median(ratios)) <= 0.95, ratios


# ---------------------------------------------------------------------------- light look: the box holds the halo
def test_light_look_labels_hold_the_halo_and_draw_the_same_frames():
    """VISEM's light-look annotators box the head with its white halo: the labels are
    LIGHT_LOOK_LABEL_SCALE x the phase look's at the same magnification, and only the labels
    change (the frames are the same as with label_scale 1)."""
    from spermtrack.simulate.look import LIGHT_LOOK_LABEL_SCALE

    common = dict(seed=3, num_frames=2, density=40, clusters=0, pinheads=0, head_px=20.0, image_size=(640, 480))
    phase = simulate_video(look="phase", **common)
    light = simulate_video(look="bright", **common)
    assert light.look.label_scale == LIGHT_LOOK_LABEL_SCALE and phase.look.label_scale == 1.0
    assert abs(_full_sperm_side(phase) / 20.0 - 1.0) < 0.1
    assert abs(_full_sperm_side(light) / 20.0 / LIGHT_LOOK_LABEL_SCALE - 1.0) < 0.1
    unscaled = simulate_video(look=Look.from_dict({**light.look.to_dict(), "label_scale": 1.0}), **common)
    assert np.array_equal(unscaled.frame(1), light.frame(1))
    assert len(unscaled.boxes) == len(light.boxes)
    assert np.allclose(unscaled.boxes.cx, light.boxes.cx, atol=1.0)  # same places: boxes can be clipped
    assert _full_sperm_side(light) / _full_sperm_side(unscaled) == pytest.approx(LIGHT_LOOK_LABEL_SCALE, rel=0.05)
    # a look written before the field existed reads back with the labels it was rendered with
    old = light.look.to_dict()
    del old["label_scale"]
    assert Look.from_dict(old).label_scale == 1.0


def test_light_look_label_scale_is_what_the_real_frames_show():
    """The real frames' light-look labels (light background): their median width (widths are
    free of those labels' cut top edge) over VISEM's mean sperm box side, which the simulator
    draws, is what the constant stands for; and they are wider than the same set's phase-look
    labels (docs/simulator.md, "Light-look boxes hold the halo")."""
    from pathlib import Path

    from spermtrack.io.visem import VisemDataset
    from spermtrack.simulate.look import LIGHT_LOOK_LABEL_SCALE
    from spermtrack.simulate.params import VISEM_BOX_SIZES

    ds = VisemDataset(Path(__file__).parent / "data" / "real_frames")
    widths = {True: [], False: []}
    for vid in ds.video_ids:
        v = ds.video(vid)
        with v.open_frames() as src:
            frame = next(iter(src))
        b = v.labels()
        widths[bool(np.median(frame) > 150)].extend((b.x2 - b.x1)[b.cls == 0].tolist())
    assert len(widths[True]) >= 40 and len(widths[False]) >= 80
    light = float(np.median(widths[True]))
    assert light / float(np.median(widths[False])) > 1.05
    assert abs(light / VISEM_BOX_SIZES["sperm"][0] - LIGHT_LOOK_LABEL_SCALE) < 0.05, light
