"""Training: the ultralytics data file from a VISEM-layout root (no copies), and a short offline run."""

import json

import cv2
import numpy as np
import pytest

from spermtrack import Boxes
from spermtrack.detect.augment import PhotometricAugment
from spermtrack.detect.train import prepare_data
from spermtrack.io.visem import write_video


def _blob_video(seed: int, n_frames: int = 6, size=(320, 240)):
    """Bright heads on a dark background with their boxes (a minimal VISEM-like video)."""
    rng = np.random.default_rng(seed)
    w, h = size
    pts = rng.uniform([20, 20], [w - 20, h - 20], (12, 2))
    frames, rows = [], []
    for f in range(n_frames):
        img = np.full((h, w), 70, np.uint8)
        p = pts + f * 2.0
        for i, (x, y) in enumerate(p):
            cv2.circle(img, (int(x), int(y)), 4, 220, -1)
            rows.append((f, x - 8, y - 8, x + 8, y + 8, i))
        frames.append(np.repeat(img[..., None], 3, 2))
    r = np.array(rows)
    boxes = Boxes(r[:, 0], r[:, 1], r[:, 2], r[:, 3], r[:, 4], track_id=r[:, 5], num_frames=n_frames)
    return boxes, frames


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("visem")
    for k, vid in enumerate(("11", "12", "52")):
        boxes, frames = _blob_video(k)
        write_video(root / "Train", vid, boxes, frames, image_size=(320, 240), mp4=False)
    (root / "split.json").write_text(json.dumps({"train": ["11", "12"], "val": ["52"]}))
    return root


def test_prepare_data_links_instead_of_copying(root, tmp_path):
    data = prepare_data(root, tmp_path / "run", split="official", frame_step=2)
    text = data.read_text()
    assert "train: train.txt" in text and "val: val.txt" in text and "2: small_or_pinhead" in text
    train = (tmp_path / "run" / "train.txt").read_text().split()
    val = (tmp_path / "run" / "val.txt").read_text().split()
    assert len(train) == 2 * 3 and len(val) == 3  # 6 frames per video, every 2nd
    assert all("/images/" in p for p in train + val)
    link = tmp_path / "run" / "train" / "11" / "images"
    assert link.is_symlink() and link.resolve() == (root / "Train" / "11" / "images").resolve()
    # ultralytics finds labels by replacing /images/ with /labels/: they must resolve to the dataset's files
    from ultralytics.data.utils import img2label_paths

    labels = img2label_paths(train)
    first = np.loadtxt(labels[0]).reshape(-1, 5)
    assert first.shape == (12, 5) and np.all(first[:, 0] == 0)
    assert not list((tmp_path / "run").rglob("*.jpg.*")), "no image copies"
    # a fold split
    data = prepare_data(root, tmp_path / "fold", split="fold:1", folds=3)
    assert "val videos ['12']" in data.read_text()
    with pytest.raises(ValueError, match="fold:K"):
        prepare_data(root, tmp_path / "bad", split="random")


def test_photometric_augment_keeps_shape_and_changes_pixels():
    img = np.full((48, 64, 3), 120, np.uint8)
    img[20:28, 30:38] = 230
    aug = PhotometricAugment(p=1.0, noise_p=1.0, seed=3)
    out = aug({"img": img.copy()})["img"]
    assert out.shape == img.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - img).mean() > 0.5
    assert PhotometricAugment(p=0.0).apply(img) is img


@pytest.mark.slow
@pytest.mark.yolo
def test_short_training_run_offline(root, tmp_path, monkeypatch):
    pytest.importorskip("ultralytics", reason="needs the yolo extra")
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError(f"training tried to reach the network: {args[:1]}")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    from spermtrack.detect.train import train

    class CountingAugment(PhotometricAugment):
        """The augmentation given to train(): counts the training images it sees (workers=0: one process)."""

        calls = 0

        def __call__(self, labels):
            type(self).calls += 1
            return super().__call__(labels)

    best = train(
        root,
        model="spermyolo_p3.yaml",
        epochs=1,
        imgsz=160,
        batch=4,
        device="cpu",
        out=tmp_path,
        name="t",
        workers=0,
        export_onnx=False,
        augment=CountingAugment(blur_p=1.0, blur_sigma=(2.0, 3.0), seed=0),
    )
    assert best.is_file() and best.suffix == ".pt"
    assert CountingAugment.calls > 0  # the given augmentation, not the default, ran on the training images
    info = json.loads((tmp_path / "t" / "spermtrack_train.json").read_text())
    assert "CountingAugment(" in info["augment"] and "blur_sigma=(2.0, 3.0)" in info["augment"]
    assert info["epochs"] == 1 and info["split"] == "official"
    assert not (root / "Train" / "11" / "labels.cache").exists(), "label cache must go to the run folder, not the dataset"


def test_interpolate_weights_averages_two_checkpoints(tmp_path):
    """WiSE-FT weight averaging: alpha 0 gives the base, 1 the fine-tune, 0.5 their mean; the result loads and
    detects; a different architecture or an alpha outside 0-1 is refused with the reason."""
    torch = pytest.importorskip("torch", reason="needs the yolo extra")
    pytest.importorskip("ultralytics", reason="needs the yolo extra")
    from spermtrack.detect.registry import DATA_DIR
    from spermtrack.detect.train import interpolate_weights, offline_ultralytics
    from spermtrack.errors import ParameterError

    base = DATA_DIR / "spermyolo_p3.pt"
    with offline_ultralytics():
        ckpt = torch.load(str(base), map_location="cpu", weights_only=False)
    model = ckpt["model"]
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.5)
    tuned = tmp_path / "tuned.pt"
    torch.save(ckpt, tuned)

    def state(path):
        with offline_ultralytics():
            c = torch.load(str(path), map_location="cpu", weights_only=False)
        return c, {k: v.float() for k, v in c["model"].state_dict().items()}

    _, s_base = state(base)
    _, s_tuned = state(tuned)
    key = next(k for k, v in s_base.items() if v.is_floating_point() and v.numel() > 10 and k.endswith("weight"))
    for alpha in (0.0, 0.5, 1.0):
        out = interpolate_weights(base, tuned, alpha, tmp_path / f"mix{alpha}.pt")
        c, s = state(out)
        assert c["spermtrack_interpolation"]["alpha"] == alpha and c["ema"] is None
        expected = (1 - alpha) * s_base[key] + alpha * s_tuned[key]
        assert torch.allclose(s[key], expected, atol=2e-3), alpha  # fp16 storage, as the base
    # a checkpoint of the mean detects heads like any other
    from spermtrack.detect import get_detector
    from spermtrack.simulate import simulate_video

    v = simulate_video(seed=1, num_frames=2, density=10)
    det = get_detector(f"yolo:{interpolate_weights(base, base, 0.3, tmp_path / 'same.pt')}", conf=0.25)
    assert len(det.detect(np.stack(list(v.frames())), 0)) >= 5
    other = tmp_path / "other.pt"
    torch.save({"model": torch.nn.Linear(2, 2)}, other)
    with pytest.raises(ParameterError, match="not one architecture"):
        interpolate_weights(base, other, 0.5, tmp_path / "bad.pt")
    with pytest.raises(ParameterError, match="alpha must be within 0-1"):
        interpolate_weights(base, tuned, 1.5, tmp_path / "bad.pt")
    assert not (tmp_path / "bad.pt").exists()


def test_train_without_ultralytics_leaves_no_run_folder(root, tmp_path, monkeypatch, capsys):
    """The missing extra is reported before anything is written (forced absent: runs with and without it)."""
    import sys

    from spermtrack.cli import main

    monkeypatch.setitem(sys.modules, "ultralytics", None)  # import ultralytics -> ImportError
    out = tmp_path / "runs2" / "x"
    assert main(["train", str(root), "--model", "yolov8n.yaml", "-o", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "ultralytics" in err[0] and "spermtrack[yolo]" in err[0]
    assert not (tmp_path / "runs2").exists()
