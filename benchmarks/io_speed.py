"""How fast spermtrack reads labels, MOT files and frames, against plain readers in the same run.

1. A VISEM-Tracking video of 1,470 frames x 60 boxes (the size of a real video at the
   densest end: video 24 averages 62 sperm per frame) written in the released format
   (``labels/`` and ``labels_ftid/``, numbers as Python ``str(float)``, Labelbox-like
   string ids). ``VisemVideo.labels()`` / ``.tracks()`` against ``pandas.read_csv`` on
   all files read into one buffer (the fastest fair reference), and per file:
   ``pandas.read_csv``, ``np.loadtxt`` (the naive reader) and a pure-Python
   ``split``/``float`` loop. Every reader's boxes are checked to equal ours before any
   time is reported.
2. The same boxes as one MOTChallenge file: ``read_mot`` against ``pd.read_csv(path,
   header=None)``, ``np.loadtxt(path, delimiter=",")`` and ``motmetrics.io.loadtxt``
   (the numbers checked equal to ours).
3. Frames: an H.264 mp4 (decoded by ``open_frames``/PyAV against ``cv2.VideoCapture``) and
   a JPEG folder (``open_frames`` against a ``cv2.imread`` loop).

Files are read from the page cache (each reader runs once untimed first); times are
medians of ``--repeats`` interleaved rounds (benchmarks/_timing.py: CPU and wall time,
machine load printed, tables marked LOADED on a busy machine).

    python benchmarks/io_speed.py [--frames 1470] [--boxes 60] [--repeats 5] [--video-frames 300] [--smoke] [--out PATH]

Writes benchmarks/results/io_speed.json (or ``--out``).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import interleaved, load_average, load_report

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
    """Time callables in interleaved rounds (benchmarks/_timing.py); ``{name: Timing}`` (medians of CPU and wall time)."""
    timing = interleaved(fns, repeats)
    _GROUPS.append(timing)
    return timing


_GROUPS: list = []  # every race of the run, for the load verdict


def row(task: str, ours: str, reference: str, timing: dict, n_items: int | None = None) -> dict:
    o, r = timing[ours], timing[reference]
    out = {
        "task": task,
        "ours": ours,
        "reference": reference,
        "ours_s": o.wall,
        "reference_s": r.wall,
        "speedup": r.wall / o.wall,
        "ours_cpu_s": o.cpu,
        "reference_cpu_s": r.cpu,
        "cpu_speedup": r.cpu / o.cpu,
    }
    if n_items:
        out["ours_fps"], out["reference_fps"] = n_items / o.wall, n_items / r.wall
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


def read_pandas_buffer(folder: Path, size, tracked: bool):
    """The folder listed, its files read into one buffer, one ``pandas.read_csv``.

    The files are found as ours finds them (``os.scandir``, the frame number from the
    name ``<video>_frame_<n>...``); frames come from each file's line count (no blank
    lines in these files).
    """
    import pandas as pd

    files = []
    for entry in os.scandir(folder):
        if entry.name.endswith(".txt"):
            files.append((int(entry.name.split("_frame_")[1].split("_")[0].split(".")[0]), entry.path))
    files.sort()
    chunks, counts = [], []
    for _, p in files:
        with open(p, "rb") as fh:
            data = fh.read()
        if data and not data.endswith(b"\n"):
            data += b"\n"
        chunks.append(data)
        counts.append(data.count(b"\n"))
    df = pd.read_csv(io.BytesIO(b"".join(chunks)), sep=" ", header=None, dtype={0: object} if tracked else None)
    frames = np.repeat(np.array([f for f, _ in files]), counts)
    ids = []
    if tracked:
        lut: dict[str, int] = {}
        ids = [lut.setdefault(s, len(lut)) for s in df[0].tolist()]
        df = df.iloc[:, 1:]
    return _to_pixels(frames, df.to_numpy(np.float64), size), ids


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
        refs = {
            "pandas.read_csv, one buffer": read_pandas_buffer,
            "pandas.read_csv per file": read_pandas,
            "np.loadtxt per file": read_loadtxt,
            "python split/float": read_python,
        }
        if args.smoke:
            del refs["np.loadtxt per file"], refs["python split/float"]
        for name, fn in refs.items():
            where = folder / sub if fn is read_pandas_buffer else files  # the buffer reader lists the folder itself
            fns[name] = lambda fn=fn, where=where, tracked=tracked: fn(where, size, tracked)
        timing = race(fns, args.repeats)
        ours = timing[ours_name].result
        if tracked:  # the sidecar keeps the written ids
            assert np.array_equal(ours.track_id, boxes.track_id)
        for name in refs:
            (frames, xyxy, cls), ids = timing[name].result
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
    import pandas as pd

    fns = {
        "read_mot": lambda: read_mot(path),
        "pd.read_csv(path, header=None)": lambda: pd.read_csv(path, header=None),
        "np.loadtxt(path, delimiter=',')": lambda: np.loadtxt(path, delimiter=","),
        "motmetrics.io.loadtxt": lambda: mm.io.loadtxt(str(path), fmt="mot15-2D"),
    }
    timing = race(fns, args.repeats)
    ours = timing["read_mot"].result
    assert ours.equals(boxes.replace(cls=np.zeros(len(boxes), np.int16)))
    df = timing["pd.read_csv(path, header=None)"].result.to_numpy(np.float64)
    arr = timing["np.loadtxt(path, delimiter=',')"].result
    for name, table in (("pandas", df), ("loadtxt", arr)):  # the same numbers as ours
        assert np.array_equal(table[:, 0] - 1, ours.frame) and np.array_equal(table[:, 1], ours.track_id), name
        assert np.array_equal(table[:, 2].astype(np.float32), ours.x1), name
    assert len(timing["motmetrics.io.loadtxt"].result) == len(ours)
    for name in list(fns)[1:]:
        rows.append(row(f"read MOT file ({len(boxes)} rows)", "read_mot", name, timing))
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
    assert timing["open_frames(mp4)"].result == timing["cv2.VideoCapture"].result  # the same pixels
    rows.append(row(f"decode {n} frames 640x480 H.264", "open_frames(mp4)", "cv2.VideoCapture", timing, n))
    timing = race(
        {"open_frames(folder).batches(16)": ours_jpg, "same, threads=2": ours_jpg_threads, "cv2.imread loop": cv_jpg}, reps
    )
    assert (
        timing["open_frames(folder).batches(16)"].result == timing["cv2.imread loop"].result == timing["same, threads=2"].result
    )
    for ours_name in ("open_frames(folder).batches(16)", "same, threads=2"):
        rows.append(row(f"read {n} JPEG frames 640x480", ours_name, "cv2.imread loop", timing, n))


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=1470, help="frames of the label benchmark (default 1470, a VISEM video)")
    ap.add_argument("--boxes", type=int, default=60, help="boxes per frame (default 60)")
    ap.add_argument("--repeats", type=int, default=5, help="interleaved rounds (medians are reported)")
    ap.add_argument("--video-frames", type=int, default=300, help="frames of the decoding benchmark")
    ap.add_argument("--smoke", action="store_true", help="40 frames x 20 boxes, 20 video frames, one round: checks, not numbers")
    ap.add_argument("--out", type=Path, default=RESULTS / "io_speed.json")
    args = ap.parse_args(argv)
    if args.smoke:
        args.frames, args.boxes, args.repeats, args.video_frames = 40, 20, 1, 20

    _GROUPS.clear()
    load_start = load_average()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="spermtrack-io-bench-") as tmp:
        tmp = Path(tmp)
        bench_labels(tmp, args, rows)
        bench_mot(tmp, args, rows)
        bench_frames(tmp, args, rows)
    load = load_report(load_start, [{k: v for k, v in g.items() if "threads=2" not in k} for g in _GROUPS])

    print()
    print(f"Readers, medians of {args.repeats} interleaved rounds; ratio = reference time / ours (CPU, then wall)")
    print(load.banner())
    print(f"{'task':<44} {'ours':<32} {'cpu s':>6} {'s':>6}   {'reference':<32} {'cpu s':>6} {'s':>6} {'cpu':>6} {'wall':>6}")
    for r in rows:
        ref = r.get("reference", "")
        cpu = f"{r['ours_cpu_s']:6.3f}" if "ours_cpu_s" in r else " " * 6
        ref_s = f"{r['reference_cpu_s']:6.3f} {r['reference_s']:6.3f}" if "reference_s" in r else " " * 13
        ratio = f"{r['cpu_speedup']:5.1f}x {r['speedup']:5.1f}x" if "speedup" in r else ""
        print(f"{r['task']:<44} {r['ours']:<32} {cpu} {r['ours_s']:6.3f}   {ref:<32} {ref_s} {ratio}")
    pandas_rows = [r for r in rows if r.get("reference", "").startswith(("pandas.read_csv, one buffer", "pd.read_csv"))]
    print("\nagainst pandas (CPU time): " + "; ".join(f"{r['task']}: {r['cpu_speedup']:.2f}x" for r in pandas_rows))
    if load.loaded:
        print("LOADED: the machine was busy during this run (see above); rerun on a quiet machine for the headline")
    label_rows = [r for r in rows if r.get("reference") == "pandas.read_csv, one buffer"]
    both = sum(r["ours_s"] for r in label_rows)
    both_cpu = sum(r["ours_cpu_s"] for r in label_rows)
    print(f"labels/ + labels_ftid/ of one {args.frames}-frame video: {both_cpu:.3f} s CPU, {both:.3f} s wall (medians)")
    result = {
        "benchmark": "io_speed",
        "command": " ".join(["python benchmarks/io_speed.py", *(sys.argv[1:] if argv is None else argv)]),
        "machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version()},
        "load": load.as_dict(),
        "params": {
            "frames": args.frames,
            "boxes_per_frame": args.boxes,
            "repeats": args.repeats,
            "video_frames": args.video_frames,
        },
        "labels_and_tracks_s": both,
        "labels_and_tracks_cpu_s": both_cpu,
        "vs_pandas_cpu": {r["task"]: r["cpu_speedup"] for r in pandas_rows},
        "rows": rows,
        "notes": "medians of interleaved rounds (CPU and wall time), warm page cache; ratio = reference time / ours",
    }
    assert label_rows and len(pandas_rows) == 3
    args.out.parent.mkdir(parents=True, exist_ok=True)
    from spermtrack.atomic import atomic_open

    with atomic_open(args.out) as fh:
        json.dump(result, fh, indent=1)
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
