"""DetectorSpec (one parser of detector names), iter_detections (one detection loop), background (one thread helper)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from spermtrack import Boxes
from spermtrack._threads import Stopwatch, background
from spermtrack.detect import DetectorSpec, iter_detections, run_detector
from spermtrack.detect.spec import detector_kind, is_ground_truth, split_spec
from spermtrack.errors import ParameterError, VideoError


class FrameIndexDetector:
    """One box per frame whose x1 is the frame's first pixel value (the frame number)."""

    name = "index"

    def __init__(self) -> None:
        self.threads: set[str] = set()

    def detect(self, frames, first_frame=0):
        self.threads.add(threading.current_thread().name)
        n = len(frames)
        f = np.arange(first_frame, first_frame + n)
        x = frames[:, 0, 0, 0].astype(np.float32)
        return Boxes(f, x, x, x + 1, x + 1, num_frames=first_frame + n)


def _frames(n: int) -> np.ndarray:
    return np.stack([np.full((4, 4, 3), i, np.uint8) for i in range(n)])


# ---------------------------------------------------------------------------- DetectorSpec
@pytest.mark.parametrize(
    "text, kind, path, name",
    [
        ("auto", "auto", None, "auto"),
        (" Classical ", "classical", None, "classical"),
        ("GT-noisy", "gt-noisy", None, "gt-noisy"),
        ("yolo:runs/best.pt", "yolo", "runs/best.pt", "yolo:runs/best.pt"),
        ("ONNX:C:/models/x.onnx", "onnx", "C:/models/x.onnx", "onnx:C:/models/x.onnx"),
        ("yolov5:w.pt", "yolov5", "w.pt", "yolov5:w.pt"),
    ],
)
def test_spec_parses_every_kind(text, kind, path, name):
    spec = DetectorSpec.parse(text)
    assert (spec.kind, spec.path, spec.name) == (kind, path, name)
    assert detector_kind(text) == kind and split_spec(text)[0] == kind
    assert DetectorSpec.from_dict(spec.to_dict()) == spec


@pytest.mark.parametrize(
    "text, options, words",
    [
        ("magic", {}, "unknown detector"),
        ("yolo", {}, "weights path"),
        ("classical:x", {}, "takes no"),
        ("gt", {"polarity": "dark"}, "--polarity"),
        ("yolo:a.pt", {"head_px": 17}, "--head-px"),
        ("classical", {"conf": 0.3}, "--conf"),
        ("auto", {"conf": 1.5}, "0 to 1"),
        ("auto", {"head_px": -2}, "--head-px"),
        ("auto", {"polarity": "grey"}, "bright or dark"),
    ],
)
def test_spec_refuses_bad_names_and_options(text, options, words):
    with pytest.raises(ParameterError, match=words):
        DetectorSpec.parse(text, **options)


@pytest.mark.parametrize("device", ["banana", "cuda:x", "card", "0,", "-3", "cuda:0:1", True])
def test_spec_refuses_a_malformed_device(device):
    with pytest.raises(ParameterError, match=r"device \(--device\) must be auto, cpu, mps, cuda, cuda:N"):
        DetectorSpec.parse("auto", device=device)


@pytest.mark.parametrize("device", ["auto", "cpu", "CPU", "mps", "cuda", "cuda:1", "0", "0,1", 2])
def test_spec_takes_the_devices_ultralytics_takes(device):
    assert DetectorSpec.parse("auto", device=device).device == str(device)


def test_a_cuda_gpu_that_is_not_there_is_an_error():
    from spermtrack.detect.spec import cuda_gpu_count, cuda_indices, require_device

    assert cuda_indices("cuda:3") == [3] and cuda_indices("0,2") == [0, 2] and cuda_indices("cpu") == []
    require_device("cpu")
    require_device(None)
    count, _ = cuda_gpu_count()  # torch's count, or OpenCV's where torch is not installed
    with pytest.raises(ParameterError, match=f"no CUDA GPU {count} here"):
        require_device(f"cuda:{count}")
    with pytest.raises(ParameterError, match="no CUDA GPU"):
        require_device("0,99")


def test_analyze_refuses_a_cuda_device_that_is_not_there_without_torch_too(tmp_path, capsys):
    """--device cuda:N with no such GPU used to run the ONNX model on the CPU, exit 0 and record "cuda:N"."""
    import cv2

    from spermtrack.cli import main
    from spermtrack.detect.spec import cuda_gpu_count

    video = tmp_path / "tiny.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (64, 48))
    for i in range(4):
        writer.write(np.full((48, 64, 3), 40 * i, np.uint8))
    writer.release()
    count, counter = cuda_gpu_count()  # this machine's GPUs: 0 without CUDA, so cuda:0 as in the report
    out = tmp_path / "out"
    argv = [str(video), "-o", str(out), "--device", f"cuda:{count}", "--no-video", "--max-frames", "2"]
    assert main(["analyze", *argv]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"device (--device) 'cuda:{count}': no CUDA GPU {count} here" in err, err
    assert ("torch sees" if counter == "torch" else "torch is not installed and OpenCV sees") in err
    assert not out.exists()  # complete or absent


def test_a_cpu_only_detector_refuses_a_gpu_that_is_there(monkeypatch):
    """The ONNX model runs on OpenCV's DNN module (CPU): a GPU that exists is refused, not silently unused."""
    from spermtrack.detect import YoloDetector, default_weights, get_detector
    from spermtrack.detect import spec as spec_module

    if default_weights("onnx") is None:
        pytest.skip("the shipped ONNX model is not in this install")
    monkeypatch.setattr(spec_module, "cuda_gpu_count", lambda: (1, "torch"))
    for device in ("0", "cuda", "cuda:0", "mps"):
        with pytest.raises(ParameterError, match=rf"'{device}': this detector runs on the CPU only \(an ONNX model"):
            YoloDetector(default_weights("onnx"), device=device)
    with pytest.raises(ParameterError, match="no CUDA GPU 1 here"):
        YoloDetector(default_weights("onnx"), device="cuda:1")
    with pytest.raises(ParameterError, match="runs on the CPU only"):
        get_detector("default", device="0")  # through the self-calibration and the fusion too
    assert YoloDetector(default_weights("onnx"), device="CPU").device == "cpu"
    assert get_detector("default", device="auto").name.startswith("yolo:")


def test_spec_messages_show_numpy_values_as_plain_numbers():
    for options, shown in (({"conf": np.float64(2.0)}, "got 2.0"), ({"head_px": np.float64(0.0)}, "got 0.0")):
        with pytest.raises(ParameterError, match=shown) as err:
            DetectorSpec.parse("auto", **options)
        assert "np." not in str(err.value)


def test_spec_options_and_ground_truth(tmp_path):
    spec = DetectorSpec.parse("gt", miss=0.1, seed=3)
    assert spec.kwargs() == {"miss": 0.1, "seed": 3} and spec.needs_ground_truth and is_ground_truth("GT")
    assert DetectorSpec.parse("classical", polarity="dark", head_px=20).kwargs() == {"polarity": "dark", "head_px": 20.0}
    with pytest.raises(ParameterError, match="VISEM video folder"):
        spec.build(tmp_path)
    assert DetectorSpec.parse("classical").build().name == "classical"
    with pytest.raises(ParameterError, match="rebuilt"):
        DetectorSpec.for_object(FrameIndexDetector()).build()
    hash(DetectorSpec.parse("auto", class_map={0: 0, 1: 2}))  # frozen all the way down


# ---------------------------------------------------------------------------- iter_detections
def test_iter_detections_trims_checks_and_times():
    det, watch = FrameIndexDetector(), Stopwatch(("decode", "detect"))
    items = list(iter_detections(det, _frames(23), batch_size=5, max_frames=17, stopwatch=watch))
    assert [(i.first, len(i.frames)) for i in items] == [(0, 5), (5, 5), (10, 5), (15, 2)]
    assert all(i.boxes.num_frames == i.end for i in items)
    assert np.concatenate([i.boxes.x1 for i in items]).tolist() == list(range(17))
    assert watch.seconds["detect"] > 0 and watch.seconds["decode"] >= 0
    assert "spermtrack-prefetch" not in det.threads, "detection runs in the caller's thread"
    # run_detector is the same loop, concatenated
    boxes = run_detector(det, _frames(23), batch_size=5, max_frames=17)
    assert boxes.num_frames == 17 and boxes.x1.tolist() == list(range(17))


def test_iter_detections_refuses_bad_settings_and_skipping_sources():
    det = FrameIndexDetector()
    with pytest.raises(ParameterError, match="batch_size"):
        next(iter_detections(det, _frames(3), batch_size=0))
    with pytest.raises(ParameterError, match="max_frames"):
        next(iter_detections(det, _frames(3), max_frames=0))

    class Skipping:
        path = "skip.mp4"
        num_frames = 10

        def batches(self, size):
            yield 0, _frames(2)
            yield 4, _frames(2)

    with pytest.raises(VideoError, match=r"skip\.mp4.*expected frame 2, got 4"):
        list(iter_detections(det, Skipping(), batch_size=2))


# ---------------------------------------------------------------------------- background
def test_background_propagates_errors_and_stops_chained_stages():
    def bad():
        yield 1
        raise VideoError("frame 1 is corrupt")

    with pytest.raises(VideoError, match="frame 1"):
        list(background(background(bad())))
    produced = []

    def many():
        for i in range(10_000):
            produced.append(i)
            yield i

    before = threading.active_count()
    for i in background(background(many(), 2), 2):
        if i == 3:
            break
    time.sleep(0.3)
    assert len(produced) < 20, "the producers stopped when the consumer left"
    assert threading.active_count() <= before, "no thread left running"
