"""The YOLO adapter on CPU with tiny models built from yaml, and the torch-free ONNX path against ultralytics."""

import numpy as np
import pytest

from spermtrack.detect import YoloDetector, default_weights, get_detector, run_detector
from spermtrack.detect.registry import DATA_DIR

pytestmark = pytest.mark.yolo

ultralytics = pytest.importorskip("ultralytics", reason="needs the yolo extra (ultralytics, torch)")
torch = pytest.importorskip("torch", reason="needs the yolo extra (ultralytics, torch)")


def _frames(n=3, seed=0):
    """640x480 frames with bright blobs on a dark background (a phase-contrast-like look)."""
    import cv2

    rng = np.random.default_rng(seed)
    out = np.empty((n, 480, 640, 3), np.uint8)
    for i in range(n):
        img = np.full((480, 640), 60, np.uint8)
        for x, y in rng.uniform([20, 20], [620, 460], (30, 2)).astype(int):
            cv2.circle(img, (int(x), int(y)), 5, 220, -1)
        img = cv2.add(img, rng.integers(0, 20, img.shape, dtype=np.uint8))
        out[i] = np.repeat(img[..., None], 3, 2)
    return out


@pytest.fixture(scope="module")
def tiny_pt(tmp_path_factory):
    """The shipped slim architecture with random weights and a raised class bias, saved as .pt.

    Untrained YOLO heads score every anchor alike (~1e-4); random class weights and a zero bias
    give many boxes with spread-out scores, so the comparison exercises decoding and NMS for real.
    """
    torch.manual_seed(0)
    model = ultralytics.YOLO(str(DATA_DIR / "spermyolo_p3.yaml"))
    head = model.model.model[-1]
    with torch.no_grad():
        # PyTorch's default conv init shrinks activations ~10x per layer in this slim network
        # (1e-7 at the head, so every score would be sigmoid(0) = 0.5): variance-keeping init instead
        for conv in model.model.modules():
            if isinstance(conv, torch.nn.Conv2d) and conv.weight.requires_grad:  # not the fixed DFL conv
                torch.nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
        for seq in head.cv3:  # ultralytics starts the class layer at zero weights and a very negative bias
            torch.nn.init.normal_(seq[-1].weight, std=0.5)
            seq[-1].bias.fill_(0.0)
    path = tmp_path_factory.mktemp("yolo") / "tiny.pt"
    model.save(str(path))
    return path


def test_yaml_model_runs_on_cpu_with_classes_mapped():
    det = YoloDetector(DATA_DIR / "spermyolo_p3.yaml", device="cpu", conf=0.0, batch=2, max_det=50)
    assert det.device == "cpu" and det.half is False and det.backend == "ultralytics"
    out = det.detect(_frames(3), first_frame=10)
    assert out.num_frames == 13
    assert set(np.unique(out.frame)) <= {10, 11, 12}
    assert set(np.unique(out.cls)) <= {0, 1, 2}
    assert np.all(out.x2 <= 640) and np.all(out.y2 <= 480) and np.all(out.x1 >= 0)
    assert np.all(out.counts_per_frame()[10:] <= 50)


def test_yolov8n_yaml_coco_classes_are_dropped_beyond_three():
    with pytest.warns(UserWarning, match="dropped"):
        det = YoloDetector("yolov8n.yaml", device="cpu", conf=0.0, imgsz=320, max_det=300)
    out = det.detect(_frames(1))
    assert set(np.unique(out.cls)) <= {0, 1, 2}


def test_pt_and_onnx_give_the_same_boxes(tiny_pt, tmp_path):
    pytest.importorskip("onnx", reason="exporting needs the onnx package (yolo extra)")
    from spermtrack.detect.train import export_to_onnx

    onnx_path = export_to_onnx(tiny_pt, imgsz=(480, 640), out=tmp_path / "tiny.onnx")
    frames = _frames(3, seed=1)
    pt = YoloDetector(tiny_pt, device="cpu", conf=0.5, iou=0.6)
    ox = get_detector(f"yolo:{onnx_path}", conf=0.5, iou=0.6)
    assert ox.backend == "opencv"
    a, b = run_detector(pt, frames, batch_size=2), run_detector(ox, frames, batch_size=2)
    assert len(a) > 50, "the test model should produce many boxes"
    _assert_same_boxes(a, b)


@pytest.mark.skipif(default_weights("pt") is None or default_weights("onnx") is None, reason="shipped model not present")
def test_shipped_model_onnx_equals_ultralytics():
    """The shipped ONNX run by OpenCV gives the boxes ultralytics gives with the shipped .pt."""
    from spermtrack.simulate import simulate_video

    frames = np.stack(list(simulate_video(seed=9, num_frames=4, look="phase").frames()))
    ox = YoloDetector(default_weights("onnx"), conf=0.01)
    w, h = ox.input_size  # the ONNX export's static input: ultralytics letterboxes to the same size
    pt = YoloDetector(default_weights("pt"), device="cpu", conf=0.01, imgsz=(h, w))
    a, b = run_detector(pt, frames), run_detector(ox, frames)
    assert len(a) > 40, "the shipped model should find the simulated heads"
    _assert_same_boxes(a, b)


def _assert_same_boxes(a, b, atol=0.05):
    """Same number of boxes per frame, paired one to one within ``atol`` px, same scores and classes."""
    from scipy.optimize import linear_sum_assignment

    assert a.num_frames == b.num_frames
    assert np.array_equal(a.counts_per_frame(), b.counts_per_frame())
    for f in range(a.num_frames):
        x, y = a.at_frame(f), b.at_frame(f)
        if not len(x):
            continue
        cost = np.abs(x.xyxy[:, None, :] - y.xyxy[None, :, :]).max(-1) + np.abs(x.score[:, None] - y.score[None, :])
        r, c = linear_sum_assignment(cost)
        assert np.abs(x.xyxy[r] - y.xyxy[c]).max() <= atol
        assert np.abs(x.score[r] - y.score[c]).max() <= 1e-3
        assert np.array_equal(x.cls[r], y.cls[c])


def test_missing_weights_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        YoloDetector(tmp_path / "nope.pt")


def test_original_yolov5_checkpoint(tmp_path):
    """A checkpoint of the original YOLOv5 code base (as the VISEM-Tracking authors released) through the yolov5 extra."""
    yolov5 = pytest.importorskip("yolov5", reason="needs the yolov5 extra (pip install 'spermtrack[yolov5]')")
    from pathlib import Path

    from yolov5.models.yolo import Model

    from spermtrack.detect import Yolov5Detector

    torch.manual_seed(0)
    model = Model(str(Path(yolov5.__file__).parent / "models" / "yolov5n.yaml"), ch=3, nc=3)
    model.names = ["sperm", "cluster", "small_or_pinhead"]
    path = tmp_path / "visem_yolov5n.pt"
    torch.save({"model": model.half(), "epoch": -1}, path)  # the layout of YOLOv5's train.py checkpoints
    det = get_detector(f"yolov5:{path}", device="cpu", conf=0.0, max_det=20)  # untrained: scores ~1e-3
    assert isinstance(det, Yolov5Detector)
    out = det.detect(_frames(2), first_frame=4)
    assert out.num_frames == 6 and len(out) > 0
    assert set(np.unique(out.cls)) <= {0, 1, 2} and set(np.unique(out.frame)) <= {4, 5}
    assert np.all(out.x2 <= 640) and np.all(out.y2 <= 480)
