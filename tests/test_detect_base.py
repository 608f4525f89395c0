"""Detector protocol plumbing: batches, the background decoding loop, class mapping, ONNX helpers."""

import threading
import time

import numpy as np
import pytest

from spermtrack import Boxes, VideoError
from spermtrack.detect import ClassicalDetector, GroundTruthDetector, default_weights, get_detector, run_detector
from spermtrack.detect.base import Detector, as_batch, prefetch
from spermtrack.detect.classes import class_lookup
from spermtrack.detect.onnx import decode_yolo, letterbox, letterbox_params, onnx_metadata, scale_back


class CountingDetector:
    """Records which frames it saw and how long decoding and detection overlapped."""

    name = "counting"

    def __init__(self, delay=0.0):
        self.calls = []
        self.delay = delay

    def detect(self, frames, first_frame=0):
        frames = as_batch(frames, first_frame)
        self.calls.append((first_frame, len(frames), threading.current_thread().name))
        time.sleep(self.delay)
        f = np.arange(first_frame, first_frame + len(frames))
        # one box per frame whose x encodes the frame's pixel value: proves frames arrive in order
        x = frames[:, 0, 0, 0].astype(float)
        return Boxes.from_xyxy(f, np.stack([x, x, x + 1, x + 1], 1), num_frames=first_frame + len(frames))


def test_protocol_and_as_batch():
    assert isinstance(ClassicalDetector(), Detector)
    assert isinstance(CountingDetector(), Detector)
    assert as_batch(np.zeros((5, 4, 3), np.uint8)).shape == (1, 5, 4, 3)
    with pytest.raises(VideoError, match="frames 7"):
        as_batch(np.zeros((2, 5, 4), np.uint8), 7)
    with pytest.raises(VideoError, match="uint8"):
        as_batch(np.zeros((2, 5, 4, 3), np.float32))


def test_run_detector_array_iterable_and_max_frames():
    frames = np.zeros((23, 8, 8, 3), np.uint8)
    frames[:, 0, 0, 0] = np.arange(23)
    det = CountingDetector()
    out = run_detector(det, frames, batch_size=5)
    assert out.num_frames == 23 and np.array_equal(out.x1, np.arange(23))
    assert [c[:2] for c in det.calls] == [(0, 5), (5, 5), (10, 5), (15, 5), (20, 3)]
    out2 = run_detector(CountingDetector(), iter(list(frames)), batch_size=4)
    assert out2.equals(out)
    short = run_detector(CountingDetector(), frames, batch_size=5, max_frames=12)
    assert short.num_frames == 12 and np.array_equal(short.x1, np.arange(12))


def test_decoding_overlaps_detection():
    """While the detector works on batch k, the producer thread decodes batch k+1."""
    decode_threads = []

    def slow_frames():
        for i in range(6):
            decode_threads.append(threading.current_thread().name)
            time.sleep(0.05)
            yield np.full((4, 4, 3), i, np.uint8)

    det = CountingDetector(delay=0.05)
    t0 = time.perf_counter()
    out = run_detector(det, slow_frames(), batch_size=1)
    elapsed = time.perf_counter() - t0
    assert np.array_equal(out.x1, np.arange(6))
    assert set(decode_threads) == {"spermtrack-prefetch"}
    assert all(c[2] != "spermtrack-prefetch" for c in det.calls)
    assert elapsed < 0.55, f"decoding and detection did not overlap ({elapsed:.2f} s for 6 x (0.05 + 0.05) s)"


def test_prefetch_propagates_errors_and_stops_early():
    def bad():
        yield 1
        raise VideoError("frame 1 is corrupt")

    with pytest.raises(VideoError, match="frame 1"):
        list(prefetch(bad()))
    produced = []

    def many():
        for i in range(1000):
            produced.append(i)
            yield i

    for i in prefetch(many(), depth=2):
        if i == 3:
            break
    assert len(produced) < 10


def test_class_lookup():
    assert class_lookup({0: "sperm", 1: "cluster", 2: "small_or_pinhead"}, 3).tolist() == [0, 1, 2]
    assert class_lookup(["pinhead", "sperm"], 2).tolist() == [2, 0]
    with pytest.warns(UserWarning, match="dropped"):
        table = class_lookup({i: f"c{i}" for i in range(80)}, 80)
    assert table[:3].tolist() == [0, 1, 2] and np.all(table[3:] == -1)
    assert class_lookup(None, 3, class_map={0: 2}).tolist() == [2, -1, -1]


def test_letterbox_and_scale_back_match_ultralytics():
    ops = pytest.importorskip("ultralytics.utils.ops")
    augment = pytest.importorskip("ultralytics.data.augment")
    rng = np.random.default_rng(0)
    for shape, new in (((480, 640), (640, 640)), ((300, 500), (480, 640)), ((481, 639), (480, 640))):
        img = rng.integers(0, 255, (*shape, 3), np.uint8)
        ref = augment.LetterBox(new_shape=new, auto=False, stride=32)(image=img)
        _, new_unpad, (top, bottom, left, right) = letterbox_params(shape, new)
        assert ref.shape[:2] == new
        assert (new_unpad[1] + top + bottom, new_unpad[0] + left + right) == new
        assert np.array_equal(letterbox(img, new), ref)
        boxes = rng.uniform(0, min(new), (20, 4)).astype(np.float32)
        boxes[:, 2:] += boxes[:, :2]
        expect = ops.scale_boxes(new, boxes.copy(), shape)
        assert np.allclose(scale_back(boxes.copy(), new, shape), expect, atol=1e-4)


def test_decode_yolo_against_ultralytics_nms():
    torch = pytest.importorskip("torch")
    nms = pytest.importorskip("ultralytics.utils.nms")
    rng = np.random.default_rng(4)
    n, nc = 600, 3
    cxcy = rng.uniform(0, 640, (2, n))
    wh = rng.uniform(8, 40, (2, n))
    scores = rng.uniform(0, 1, (nc, n)) ** 3
    pred = np.concatenate([cxcy, wh, scores]).astype(np.float32)
    ref = nms.non_max_suppression(torch.from_numpy(pred[None]), conf_thres=0.05, iou_thres=0.5, max_det=300)[0].numpy()
    b, s, c = decode_yolo(pred, 0.05, 0.5, max_det=300)
    assert len(b) == len(ref)
    order = np.lexsort((b[:, 0], -s))
    ref_order = np.lexsort((ref[:, 0], -ref[:, 4]))
    assert np.allclose(b[order], ref[ref_order, :4], atol=1e-3)
    assert np.allclose(s[order], ref[ref_order, 4], atol=1e-6)
    assert np.array_equal(c[order], ref[ref_order, 5].astype(int))


def test_onnx_metadata_errors(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\xff\xff\xff")
    from spermtrack import FormatError

    with pytest.raises(FormatError, match=r"bad\.onnx"):
        onnx_metadata(bad)
    with pytest.raises(FileNotFoundError):
        get_detector("onnx:" + str(tmp_path / "missing.onnx"))


@pytest.mark.skipif(default_weights("onnx") is None, reason="shipped ONNX model not present")
def test_a_model_opencv_cannot_load_is_a_one_line_error_naming_the_file(tmp_path):
    from spermtrack import FormatError

    data = bytearray(default_weights("onnx").read_bytes())
    data[100:400] = bytes(300)  # the graph's first bytes zeroed: the metadata still reads, the graph does not
    bad = tmp_path / "corrupt.onnx"
    bad.write_bytes(bytes(data))
    with pytest.raises(FormatError, match=r"corrupt\.onnx: OpenCV cannot load this ONNX model") as info:
        get_detector(f"onnx:{bad}")
    assert "\n" not in str(info.value)  # OpenCV's message spans several lines


def test_registry_names():
    assert get_detector("classical").name == "classical"
    with pytest.raises(ValueError, match="unknown detector"):
        get_detector("magic")
    with pytest.raises(ValueError, match="weights path"):
        get_detector("yolo:")
    gt = Boxes.from_xyxy([0], [[1, 1, 5, 5]])
    assert isinstance(get_detector("gt", gt=gt), GroundTruthDetector)


def test_auto_prefers_the_shipped_model_then_classical(monkeypatch, tmp_path):
    from spermtrack.detect import registry

    choice, weights = registry.auto_choice()
    if registry.default_weights("onnx") is not None and not registry.cuda_available():
        assert choice == "yolo-onnx" and weights.suffix == ".onnx"
        det = get_detector("auto")
        assert det.backend == "opencv" and det.name.startswith("yolo:")
        assert get_detector("default").backend == "opencv"
    monkeypatch.setattr(registry, "DATA_DIR", tmp_path)  # no shipped weights: the classical detector
    assert registry.auto_choice() == ("classical", None)
    det = get_detector("auto", conf=0.3, device="cpu")  # YOLO-only keywords are dropped for the fallback
    assert isinstance(det.inner, ClassicalDetector)  # inside the per-video self-calibration
    assert isinstance(get_detector("auto", calibrate=False), ClassicalDetector)
    with pytest.raises(FileNotFoundError, match="default model"):
        get_detector("default")
