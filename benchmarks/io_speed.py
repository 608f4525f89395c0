"""How fast spermtrack reads labels, MOT files and frames, against plain readers in the same run.

1. A VISEM-Tracking video of 1,470 frames x 60 boxes (the size of a real video at the
   densest end: video 24 averages 62 sperm per frame) written in the released format
   (``labels/`` and ``labels_ftid/``, numbers as Python ``str(float)``, Labelbox-like
   string ids). ``VisemVideo.labels()`` / ``.tracks()`` against, per file: ``np.loadtxt``
   (the naive reader), ``pandas.read_csv`` and a pure-Python ``split``/``float`` loop.
   Every reader's boxes are checked to equal ours before any time is reported.
2. The same boxes as one MOTChallenge file: ``read_mot`` against ``motmetrics.io.loadtxt``.
3. Frames: an H.264 mp4 (decoded by ``open_frames``/PyAV against ``cv2.VideoCapture``) and
   a JPEG folder (``open_frames`` against a ``cv2.imread`` loop).

Files are read from the page cache (each reader runs once untimed first); times are the
best of ``--repeats`` rounds in which ours and the references run in turn (so they
share the machine's load); medians are in the JSON.

    python benchmarks/io_speed.py [--frames 1470] [--boxes 60] [--repeats 5] [--video-frames 300]

Writes benchmarks/results/io_speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def race(fns: dict, repeats: int) -> dict:
    """Time callables round-robin so that they share the machine's load.

    Each runs once untimed (warm-up, page cache), then ``repeats`` rounds run
    every callable once, in a rotating order. Returns
    ``{name: (best_wall_s, median_wall_s, result, best_cpu_s)}``; CPU time (all
    threads of this process) is less disturbed by other jobs on a busy machine.
    """
    results = {name: fn() for name, fn in fns.items()}
    times: dict = {name: [] for name in fns}
    cpu: dict = {name: [] for name in fns}
    names = list(fns)
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            c0, t0 = time.process_time(), time.perf_counter()
            results[name] = fns[name]()
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    return {name: (min(t), statistics.median(t), results[name], min(cpu[name])) for name, t in times.items()}


def row(task: str, ours: str, reference: str, timing: dict, n_items: int | None = None) -> dict:
    o_best, o_med, _, o_cpu = timing[ours]
    r_best, r_med, _, r_cpu = timing[reference]
    out = {
        "task": task,
        "ours": ours,
        "reference": reference,
        "ours_s": o_best,
        "ours_median_s": o_med,
        "reference_s": r_best,
        "reference_median_s": r_med,
        "speedup": r_best / o_best,
        "speedup_of_medians": r_med / o_med,
        "ours_cpu_s": o_cpu,
        "reference_cpu_s": r_cpu,
        "cpu_speedup": r_cpu / o_cpu,
    }
    if n_items:
        out["ours_fps"], out["reference_fps"] = n_items / o_best, n_items / r_best
    return out


def make_tracks(num_frames: int, per_frame: int, seed: int = 0, size=(640, 480)):
    """Boxes with track ids: ``per_frame`` sperm alive at any time, tracks 20-200 frames long."""
    from spermtrack import Boxes

    rng = np.random.default_rng(seed)
    frames, xyxy, cls, tid = [], [], [], []
    next_id = 0
    alive: list[list] = []
    w, h = size
    for f in range(num_frames):
        alive = [a for a in alive if a[3] > f]
        while len(alive) < per_frame:
            side = rng.uniform(8, 40)
            alive.append(
                [next_id, rng.uniform(side, w - side), rng.uniform(side, h - side), f + int(rng.integers(20, 200)), side]
            )
            next_id += 1
        for a in alive:
            a[1] = float(np.clip(a[1] + rng.normal(0, 2), a[4], w - a[4]))
            a[2] = float(np.clip(a[2] + rng.normal(0, 2), a[4], h - a[4]))
            frames.append(f)
            xyxy.append((a[1] - a[4] / 2, a[2] - a[4] / 2, a[1] + a[4] / 2, a[2] + a[4] / 2))
            cls.append(0 if a[0] % 10 else 1 + a[0] % 2)
            tid.append(a[0])
    return Boxes.from_xyxy(frames, np.array(xyxy), cls=cls, track_id=tid, num_frames=num_frames)


# --------------------------------------------------------------------------- reference readers


def _label_paths(folder: Path, sub: str, vid: str, num_frames: int, suffix: str):
    out = []
    for f in range(num_frames):
        p = folder / sub / f"{vid}_frame_{f}{suffix}"
        if p.exists():
            out.append((f, p))
    return out


def _to_pixels(frames, a, size):
    w, h = size
    cx, cy, bw, bh = a[:, 1] * w, a[:, 2] * h, a[:, 3] * w, a[:, 4] * h
    return frames, np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1).astype(np.float32), a[:, 0].astype(np.int16)


def read_loadtxt(files, size, tracked: bool):
    """The naive reader: ``np.loadtxt`` per file (string ids through a dict)."""
    frames, parts, ids = [], [], []
    for f, p in files:
        if tracked:
            a = np.loadtxt(p, dtype=str, ndmin=2)
            if a.size == 0:
                continue
            ids.extend(a[:, 0].tolist())
            a = a[:, 1:].astype(np.float64)
        else:
            a = np.loadtxt(p, ndmin=2)
            if a.size == 0:
                continue
        frames.append(np.full(len(a), f))
        parts.append(a)
    if tracked:
        lut: dict[str, int] = {}
        ids = [lut.setdefault(s, len(lut)) for s in ids]
    return _to_pixels(np.concatenate(frames), np.concatenate(parts), size), ids


def read_pandas(files, size, tracked: bool):
    """``pandas.read_csv`` per file."""
    import pandas as pd

    frames, parts, ids = [], [], []
    for f, p in files:
        df = pd.read_csv(p, sep=" ", header=None, dtype={0: object} if tracked else None)
        if tracked:
            ids.extend(df[0].tolist())
            df = df.iloc[:, 1:]
        parts.append(df.to_numpy(np.float64))
        frames.append(np.full(len(df), f))
    if tracked:
        lut: dict[str, int] = {}
        ids = [lut.setdefault(s, len(lut)) for s in ids]
    return _to_pixels(np.concatenate(frames), np.concatenate(parts), size), ids


def read_python(files, size, tracked: bool):
    """Open, split and ``float`` in plain Python."""
    frames, rows, ids = [], [], []
    lut: dict[str, int] = {}
    for f, p in files:
        with open(p) as fh:
            for line in fh:
                t = line.split()
                if not t:
                    continue
                if tracked:
                    ids.append(lut.setdefault(t[0], len(lut)))
                    t = t[1:]
                rows.append([float(v) for v in t])
                frames.append(f)
    return _to_pixels(np.array(frames), np.array(rows), size), ids


# --------------------------------------------------------------------------- the benchmark


def bench_labels(tmp: Path, args, rows: list) -> None:
    from spermtrack.io.visem import VisemVideo, write_video

    boxes = make_tracks(args.frames, args.boxes)
    t0 = time.perf_counter()
    folder = write_video(tmp, "24", boxes, image_size=(640, 480), mp4=False)
    write_s = time.perf_counter() - t0
    size = (640, 480)
    n_files = len(list((folder / "labels").iterdir()))
    print(
        f"{n_files} label files per folder, {len(boxes)} boxes ({len(boxes) / args.frames:.1f} per frame); write_video {write_s:.2f} s"
    )

    for sub, tracked, suffix in (("labels", False, ".txt"), ("labels_ftid", True, "_with_ftid.txt")):
        files = _label_paths(folder, sub, "24", args.frames, suffix)
        ours_name = "VisemVideo.tracks()" if tracked else "VisemVideo.labels()"
        fns = {ours_name: (lambda: VisemVideo(folder).tracks()) if tracked else (lambda: VisemVideo(folder).labels())}
        refs = {"np.loadtxt per file": read_loadtxt, "pandas.read_csv per file": read_pandas, "python split/float": read_python}
        for name, fn in refs.items():
            fns[name] = lambda fn=fn, files=files, tracked=tracked: fn(files, size, tracked)
        timing = race(fns, args.repeats)
        ours = timing[ours_name][2]
        if tracked:  # the sidecar keeps the written ids
            assert np.array_equal(ours.track_id, boxes.track_id)
        for name in refs:
            (frames, xyxy, cls), ids = timing[name][2]
            assert np.array_equal(frames, ours.frame) and np.array_equal(cls, ours.cls), name
            assert np.array_equal(xyxy, ours.xyxy), f"{name}: coordinates differ by {np.abs(xyxy - ours.xyxy).max()}"
            if tracked:  # references number ids by first appearance: compare the partition
                _, first = np.unique(ours.track_id, return_index=True)
                order = ours.track_id[np.sort(first)]
                remap = {int(t): k for k, t in enumerate(order)}
                assert [remap[int(t)] for t in ours.track_id] == ids, name
            rows.append(row(f"read {sub}/ ({n_files} files x {args.boxes} boxes)", ours_name, name, timing))
    rows.append({"task": "write_video, labels only", "ours": "write_video", "ours_s": write_s})


def bench_mot(tmp: Path, args, rows: list) -> None:
    from spermtrack.io.mot import read_mot, write_mot

    try:
        import motmetrics as mm
    except ImportError:  # pragma: no cover
        print("motmetrics not installed: MOT comparison skipped")
        return
    boxes = make_tracks(args.frames, args.boxes, seed=1)
    path = tmp / "big_mot.txt"
    t0 = time.perf_counter()
    write_mot(path, boxes)
    write_s = time.perf_counter() - t0
    timing = race(
        {"read_mot": lambda: read_mot(path), "motmetrics.io.loadtxt": lambda: mm.io.loadtxt(str(path), fmt="mot15-2D")},
        args.repeats,
    )
    ours, ref = timing["read_mot"][2], timing["motmetrics.io.loadtxt"][2]
    assert ours.equals(boxes.replace(cls=np.zeros(len(boxes), np.int16)))
    assert len(ref) == len(ours)
    rows.append(row(f"read MOT file ({len(boxes)} rows)", "read_mot", "motmetrics.io.loadtxt", timing))
    rows.append({"task": f"write MOT file ({len(boxes)} rows)", "ours": "write_mot", "ours_s": write_s})


def bench_frames(tmp: Path, args, rows: list) -> None:
    from spermtrack.io.frames import open_frames
    from spermtrack.io.video import VideoWriter

    n = args.video_frames
    rng = np.random.default_rng(2)
    base = cv2.GaussianBlur(rng.integers(40, 200, (480, 640, 3), dtype=np.uint8), (0, 0), 3)
    mp4 = tmp / "clip.mp4"
    jpg = tmp / "jpg"
    jpg.mkdir()
    t0 = time.perf_counter()
    with VideoWriter(mp4, fps=50, size=(640, 480)) as w:
        for i in range(n):
            frame = np.roll(base, i, axis=1)
            w.write(frame)
            cv2.imwrite(str(jpg / f"x_frame_{i}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 95])
    enc_s = time.perf_counter() - t0
    rows.append({"task": f"encode {n} frames 640x480 H.264 + JPEG", "ours": "VideoWriter + cv2.imwrite", "ours_s": enc_s})

    def ours_video():
        return sum(int(img[0, 0, 0]) for img in open_frames(mp4))

    def cv_video():
        cap = cv2.VideoCapture(str(mp4))
        s = 0
        while True:
            ok, img = cap.read()
            if not ok:
                break
            s += int(img[0, 0, 0])
        cap.release()
        return s

    def ours_jpg():
        return sum(int(b[:, 0, 0, 0].sum()) for _, b in open_frames(jpg).batches(16))

    def ours_jpg_threads():
        from spermtrack.io.frames import ImageSequence, list_images

        return sum(int(b[:, 0, 0, 0].sum()) for _, b in ImageSequence(list_images(jpg), threads=2).batches(16))

    def cv_jpg():
        return sum(int(cv2.imread(str(jpg / f"x_frame_{i}.jpg"))[0, 0, 0]) for i in range(n))

    reps = max(1, args.repeats // 2)
    timing = race({"open_frames(mp4)": ours_video, "cv2.VideoCapture": cv_video}, reps)
    assert timing["open_frames(mp4)"][2] == timing["cv2.VideoCapture"][2]  # the same pixels
    rows.append(row(f"decode {n} frames 640x480 H.264", "open_frames(mp4)", "cv2.VideoCapture", timing, n))
    timing = race(
        {"open_frames(folder).batches(16)": ours_jpg, "same, threads=2": ours_jpg_threads, "cv2.imread loop": cv_jpg}, reps
    )
    assert timing["open_frames(folder).batches(16)"][2] == timing["cv2.imread loop"][2] == timing["same, threads=2"][2]
    for ours_name in ("open_frames(folder).batches(16)", "same, threads=2"):
        rows.append(row(f"read {n} JPEG frames 640x480", ours_name, "cv2.imread loop", timing, n))


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=1470, help="frames of the label benchmark (default 1470, a VISEM video)")
    ap.add_argument("--boxes", type=int, default=60, help="boxes per frame (default 60)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--video-frames", type=int, default=300, help="frames of the decoding benchmark")
    ap.add_argument("--out", type=Path, default=RESULTS / "io_speed.json")
    args = ap.parse_args(argv)

    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="spermtrack-io-bench-") as tmp:
        tmp = Path(tmp)
        bench_labels(tmp, args, rows)
        bench_mot(tmp, args, rows)
        bench_frames(tmp, args, rows)

    print()
    print(f"{'task':<44} {'ours':<32} {'s':>6} {'cpu s':>6}   {'reference':<25} {'s':>6} {'cpu s':>6} {'ratio':>6} {'cpu':>6}")
    for r in rows:
        ref = r.get("reference", "")
        cpu = f"{r['ours_cpu_s']:6.3f}" if "ours_cpu_s" in r else " " * 6
        ref_s = f"{r['reference_s']:6.3f} {r['reference_cpu_s']:6.3f}" if "reference_s" in r else " " * 13
        ratio = f"{r['speedup']:5.1f}x {r['cpu_speedup']:5.1f}x" if "speedup" in r else ""
        print(f"{r['task']:<44} {r['ours']:<32} {r['ours_s']:6.3f} {cpu}   {ref:<25} {ref_s} {ratio}")
    label_rows = [r for r in rows if r["task"].startswith("read labels")]
    both = sum(r["ours_s"] for r in rows if r.get("reference") == "np.loadtxt per file")
    both_cpu = sum(r["ours_cpu_s"] for r in rows if r.get("reference") == "np.loadtxt per file")
    print(
        f"\nlabels/ + labels_ftid/ of one {args.frames}-frame video: {both:.3f} s wall, {both_cpu:.3f} s CPU (best of {args.repeats})"
    )
    if hasattr(os, "getloadavg"):
        print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    result = {
        "benchmark": "io_speed",
        "command": " ".join(["python benchmarks/io_speed.py", *(sys.argv[1:] if argv is None else argv)]),
        "machine": {
            "cpu": cpu_name(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        },
        "params": {
            "frames": args.frames,
            "boxes_per_frame": args.boxes,
            "repeats": args.repeats,
            "video_frames": args.video_frames,
        },
        "labels_and_tracks_s": both,
        "labels_and_tracks_cpu_s": both_cpu,
        "rows": rows,
        "notes": "best-of-repeats wall and CPU time, round-robin, warm page cache; ratio = reference time / ours",
    }
    assert label_rows
    args.out.parent.mkdir(parents=True, exist_ok=True)
    from spermtrack.atomic import atomic_open

    with atomic_open(args.out) as fh:
        json.dump(result, fh, indent=1)
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
