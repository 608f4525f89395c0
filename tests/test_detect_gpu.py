"""The YOLO adapter on a CUDA GPU: fp16, batched, the same detections as on the CPU.

Skipped with a visible reason where torch sees no CUDA GPU (tests/conftest.py).
"""

import numpy as np
import pytest

from spermtrack.detect import YoloDetector, default_weights, run_detector
from spermtrack.detect.evaluation import ap50

pytestmark = [pytest.mark.gpu, pytest.mark.yolo]

pytest.importorskip("ultralytics", reason="needs the yolo extra (ultralytics, torch)")
simulate = pytest.importorskip("spermtrack.simulate", reason="needs the simulator")


@pytest.fixture(scope="module")
def clip():
    video = simulate.simulate_video(seed=11, num_frames=48, look="phase")
    return np.stack(list(video.frames())), video.boxes


def test_auto_picks_the_gpu_in_half_precision():
    det = YoloDetector(default_weights("pt"), device="auto")
    assert det.device == "0" and det.half is True and det.backend == "ultralytics"


def test_gpu_fp16_batches_find_what_the_cpu_finds(clip):
    frames, gt = clip
    gpu = run_detector(YoloDetector(default_weights("pt"), device="0", conf=0.01, batch=32), frames, batch_size=48)
    cpu = run_detector(YoloDetector(default_weights("pt"), device="cpu", conf=0.01, batch=8), frames, batch_size=48)
    assert gpu.num_frames == cpu.num_frames == gt.num_frames
    confident_gpu, confident_cpu = gpu.score >= 0.25, cpu.score >= 0.25
    # fp16 moves scores near the threshold a little: counts of confident boxes agree within 3 %
    assert abs(int(confident_gpu.sum()) - int(confident_cpu.sum())) <= 0.03 * max(1, int(confident_cpu.sum()))
    a_gpu, a_cpu = ap50(gt, gpu, agnostic=True), ap50(gt, cpu, agnostic=True)
    assert a_cpu > 0.85, "the shipped model should find the simulated heads"
    assert abs(a_gpu - a_cpu) < 0.01
