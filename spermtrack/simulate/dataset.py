"""``simulate_dataset``: many simulated videos in the VISEM-Tracking layout, with their truth.

Layout written under ``out/``::

    split.json                     {"train": [...], "val": [...]}
    simulation.json                the call's parameters, seeds and video ids
    <vid>/images/<vid>_frame_<i>.jpg, labels/, labels_ftid/, <vid>.mp4, spermtrack.json
    <vid>/truth/heads.csv          true head centre of every cell in every frame (pixels)
    <vid>/truth/tracks.csv         per track: class, WHO class, model parameters, true CASA values
    <vid>/truth/simulation.json    every parameter of the video and its seed

The video folders are written by :func:`spermtrack.io.visem.write_video` (atomically); each
video has its own seed, derived from the dataset seed and the video's position, so the result
does not depend on the number of workers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

import numpy as np

from .._version import __version__
from ..atomic import atomic_dir, atomic_open
from ..calibration import Calibration
from ..errors import ParameterError
from .params import VISEM_TRAIN_IDS, VISEM_VAL_IDS, visem_video

#: Files of ``<vid>/truth/``.
TRUTH_DIR = "truth"
HEADS_CSV = "heads.csv"
FRAME_TIMES_CSV = "frame_times.csv"
TRACKS_CSV = "tracks.csv"
SIM_JSON = "simulation.json"


def video_seed(seed: int, index: int) -> int:
    """The seed of video ``index`` of a dataset made with ``seed`` (pass it to ``simulate_video``).

    >>> video_seed(0, 1) == video_seed(0, 1), video_seed(0, 1) == video_seed(0, 2)
    (True, False)
    """
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1, np.uint32)[0])


def plan_dataset(
    n_videos: int | None,
    num_frames: int | None,
    seed: int,
    like_visem: bool = False,
    val_fraction: float = 0.2,
    prefix: str = "sim",
) -> tuple[list[dict], dict[str, list[str]]]:
    """Video ids, seeds, frame counts and the train/val split of a dataset (no work done).

    With ``like_visem`` the videos take the ids of the real annotated videos ("11" .. "82"),
    their frame counts (unless ``num_frames`` is given) and per-frame counts of sperm,
    clusters and pinheads, and the official split applies; ``n_videos`` (<= 20, default 20)
    keeps that many, validation videos in proportion.
    """
    plans: list[dict] = []
    if like_visem:
        n = 20 if n_videos is None else int(n_videos)
        if not 1 <= n <= 20:
            raise ParameterError(f"like_visem makes 1 to 20 videos (the real annotated ones), got n_videos={n}")
        n_val = 0 if n < 2 else max(1, int(round(n * len(VISEM_VAL_IDS) / 20)))
        train, val = list(VISEM_TRAIN_IDS[: n - n_val]), list(VISEM_VAL_IDS[:n_val])
        for i, vid in enumerate(train + val):
            row = visem_video(vid)
            plans.append({"vid": vid, "seed": video_seed(seed, i), "num_frames": int(num_frames or row[1]), "like": vid})
        return plans, {"train": train, "val": val}
    if n_videos is None or int(n_videos) < 1:
        raise ParameterError(f"n_videos must be >= 1, got {n_videos}")
    n = int(n_videos)
    width = max(4, len(str(n - 1)))
    ids = [f"{prefix}{i:0{width}d}" for i in range(n)]
    for i, vid in enumerate(ids):
        plans.append({"vid": vid, "seed": video_seed(seed, i), "num_frames": int(num_frames or 1470), "like": None})
    n_val = 0 if n < 2 else max(1, int(round(n * float(val_fraction))))
    order = np.random.default_rng(int(seed)).permutation(n)
    val = sorted(ids[j] for j in order[:n_val])
    train = [v for v in ids if v not in set(val)]
    return plans, {"train": train, "val": val}


def simulate_dataset(
    out: str | os.PathLike,
    n_videos: int | None = None,
    num_frames: int | None = 1470,
    seed: int = 0,
    density: float | None = None,
    look: str = "mixed",
    workers: int | None = None,
    *,
    like_visem: bool = False,
    calibration: Calibration | None = None,
    mp4: bool = True,
    jpeg_quality: int = 95,
    overwrite: bool = False,
    val_fraction: float = 0.2,
    prefix: str = "sim",
    progress: Callable[[int], None] | None = None,
    **video_kwargs,
) -> list[str]:
    """Simulate ``n_videos`` videos and write them in the VISEM-Tracking layout under ``out``.

    Parameters
    ----------
    out : path-like
        Dataset root (created).
    n_videos : int
        Number of videos (with ``like_visem``: at most 20, default 20).
    num_frames : int or None
        Frames per video; ``None`` with ``like_visem`` uses each real video's count.
    seed : int
        Dataset seed; video ``i`` uses :func:`video_seed` ``(seed, i)``.
    density : float, optional
        Mean labelled sperm per frame of every video; default: each video draws the counts of
        a real VISEM video (or, with ``like_visem``, takes its own).
    look : str
        Appearance of every video: "phase", "bright", "brightfield", "negative-phase",
        "mixed" (VISEM's two, drawn per video) or "random" (per video: a look family, all
        its parameters, a camera, and unless given in ``video_kwargs`` the frame size and
        head size; see :func:`~spermtrack.simulate.simulate_video`). Each video's look is in
        ``simulation.json`` (``videos[i]``: look, head_px, image_size, um_per_px, camera) and
        in full in ``<vid>/truth/simulation.json`` (key ``look``).
    workers : int, optional
        Processes (default: ``min(n_videos, os.cpu_count())``); 1 runs in this process.
    like_visem : bool
        Mimic the 20 real videos: their ids, frame counts, per-video densities, the official
        split.
    calibration : Calibration, optional
        Of the motion model (default 0.25 µm/px, 50 fps).
    mp4, jpeg_quality
        Passed to :func:`~spermtrack.io.visem.write_video`.
    overwrite : bool
        Replace existing video folders, only those the simulator wrote (:func:`check_own_video`).
    val_fraction : float
        Fraction of videos in ``split.json``'s "val" (random ones, fixed by the seed).
    prefix : str
        Video ids are ``<prefix>0000``, ``<prefix>0001``, ... (without ``like_visem``).
    progress : callable, optional
        Called with a number of frames each time that many more frames are written.
    **video_kwargs
        More arguments of :func:`~spermtrack.simulate.simulate_video` (clusters, pinheads,
        motility, image_size, head_px, um_per_px, motion_params, scene_params, ...).

    Returns
    -------
    list of str
        The video ids, in order.
    """
    out = Path(out)
    plans, split = plan_dataset(n_videos, num_frames, seed, like_visem, val_fraction, prefix)
    calibration = Calibration(0.25, 50.0) if calibration is None else calibration
    existing = [p["vid"] for p in plans if (out / p["vid"]).exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{out}: video folder(s) {existing[:5]} exist; pass overwrite=True (--overwrite) to replace them")
    for vid in existing:
        check_own_video(out / vid)
    out.mkdir(parents=True, exist_ok=True)
    common = dict(video_kwargs, density=density, look=look, calibration=calibration)
    jobs = [dict(plan, out=str(out), kwargs=common, mp4=mp4, jpeg_quality=jpeg_quality, overwrite=overwrite) for plan in plans]
    n_workers = min(len(jobs), os.cpu_count() or 1) if workers is None else max(1, int(workers))
    results: dict[str, dict] = {}
    if n_workers == 1:
        for job in jobs:
            results[job["vid"]] = _make_video(job, progress)
    else:
        import multiprocessing as mp

        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
        with ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx) as pool:
            pending = {pool.submit(_make_video, job, None): job for job in jobs}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    job = pending.pop(fut)
                    results[job["vid"]] = fut.result()
                    if progress is not None:
                        progress(job["num_frames"])
    with atomic_open(out / "split.json") as fh:
        json.dump(split, fh, indent=1)
    summary = {
        "spermtrack_version": __version__,
        "seed": int(seed),
        "n_videos": len(plans),
        "like_visem": bool(like_visem),
        "look": look,
        "density": density,
        "calibration": calibration.to_dict(),
        "videos": [dict(vid=p["vid"], seed=p["seed"], num_frames=p["num_frames"], **results[p["vid"]]) for p in plans],
        "split": split,
        "video_kwargs": {k: _describe(v) for k, v in video_kwargs.items()},
    }
    with atomic_open(out / SIM_JSON) as fh:
        json.dump(summary, fh, indent=1)
    return [p["vid"] for p in plans]


def check_own_video(folder: str | os.PathLike) -> None:
    """Refuse (:class:`~spermtrack.errors.OutputError`) to replace a video folder the simulator did not write.

    Spermtrack's video folder holds its ``spermtrack.json`` and only the files of the layout
    (``images/<vid>_frame_<i>.jpg``, ``labels/``, ``labels_ftid/``, ``<vid>.mp4``, ``truth/``);
    a folder without the side file, or with any other file (a user's notes), is not replaced.
    """
    import re

    from ..errors import OutputError
    from ..io.visem import SIDECAR

    folder = Path(folder)
    vid = folder.name
    hint = "spermtrack replaces only the video folders it wrote: move it away or choose another OUT"
    if not folder.is_dir():
        raise OutputError(f"{folder}: exists and is not a video folder; {hint}")
    try:
        meta = json.loads((folder / SIDECAR).read_text(encoding="utf-8"))
        ours = isinstance(meta, dict) and "written by spermtrack" in str(meta.get("format", ""))
    except (OSError, UnicodeDecodeError, ValueError):
        ours = False
    if not ours:
        raise OutputError(f"{folder}: has no {SIDECAR} written by spermtrack, so spermtrack did not write it; {hint}")
    v = re.escape(vid)
    truth = "|".join(re.escape(n) for n in (HEADS_CSV, TRACKS_CSV, SIM_JSON, FRAME_TIMES_CSV))
    layout = re.compile(
        rf"(?:{re.escape(SIDECAR)}|{v}\.mp4|images/{v}_frame_\d+\.jpg|labels/{v}_frame_\d+\.txt"
        rf"|labels_ftid/{v}_frame_\d+_with_ftid\.txt|{TRUTH_DIR}/(?:{truth})"
        rf"|\.{TRUTH_DIR}\.[^/]+\.part/.*)"
    )
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            rel = (Path(dirpath) / name).relative_to(folder).as_posix()
            if not layout.fullmatch(rel):
                raise OutputError(f"{folder / rel}: not a file spermtrack simulate writes; {hint}")


def _describe(v):
    try:
        json.dumps(v)
        return v
    except TypeError:
        return repr(v)


def _make_video(job: dict, progress: Callable[[int], None] | None) -> dict:
    """Simulate and write one video (runs in a worker process)."""
    from ..io.visem import write_video
    from .video import simulate_video

    kwargs = dict(job["kwargs"])
    if job["like"] is not None:
        kwargs["like"] = job["like"]
    video = simulate_video(seed=job["seed"], num_frames=job["num_frames"], **kwargs)
    frames = video.frames()
    if progress is not None:
        frames = _counting(frames, progress)
    root = Path(job["out"])
    write_video(
        root,
        job["vid"],
        video.boxes,
        frames=frames,
        fps=video.fps,
        image_size=video.image_size,
        track_names=video.track_names,
        mp4=job["mp4"],
        jpeg_quality=job["jpeg_quality"],
        overwrite=job["overwrite"],
    )
    write_truth(root / job["vid"], video, vid=job["vid"])
    p = video.params["realised"]
    return {
        "look": video.look.name,
        "head_px": round(float(video.head_px), 3),
        "image_size": list(video.image_size),
        "um_per_px": video.calibration.um_per_px,
        "camera": video.look.camera.to_dict(),
        "mean_sperm_per_frame": p["mean_sperm_per_frame"],
        "tracks": p["labelled_tracks"],
    }


def _counting(frames, progress):
    for fr in frames:
        yield fr
        progress(1)


def write_truth(video_dir: str | os.PathLike, video, vid: str | None = None) -> Path:
    """Write ``<video_dir>/truth/`` (heads.csv, tracks.csv, simulation.json) of a SimulatedVideo."""
    folder = Path(video_dir) / TRUTH_DIR
    with atomic_dir(folder, overwrite=True) as tmp:
        video.heads.to_csv(tmp / HEADS_CSV, index=False, float_format="%.4f")
        if getattr(video, "shown", None) is not None:  # repeated frames (hold_frames): the true time of every frame
            write_frame_times(tmp / FRAME_TIMES_CSV, video.shown, video.fps)
        tracks = video.tracks_truth
        tracks.to_csv(tmp / TRACKS_CSV, index=False, float_format="%.6g")
        params = dict(video.params, video_id=vid, units=_UNITS)
        with open(tmp / SIM_JSON, "w", encoding="utf-8") as fh:
            json.dump(params, fh, indent=1)
    return folder


def write_frame_times(path: Path, shown: np.ndarray, fps: float) -> None:
    """``frame, shows_frame, time_s, repeat``: per frame, the simulated frame it shows and its true time (s)."""
    shown = np.asarray(shown, np.int64)
    repeat = np.r_[False, shown[1:] == shown[:-1]] if len(shown) else np.zeros(0, bool)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("frame,shows_frame,time_s,repeat\n")
        for i, (src, rp) in enumerate(zip(shown.tolist(), repeat.tolist())):
            fh.write(f"{i},{src},{src / fps:.6f},{int(rp)}\n")


def read_frame_times(video_dir: str | os.PathLike):
    """The true time base of a simulated video with repeated frames (``truth/frame_times.csv``) as a
    :class:`spermtrack.timebase.FrameTimes`, or None when the video has no repeats file."""
    import pandas as pd

    from ..timebase import FrameTimes

    path = Path(video_dir) / TRUTH_DIR / FRAME_TIMES_CSV
    if not path.is_file():
        return None
    fps = float(json.loads((path.parent / SIM_JSON).read_text(encoding="utf-8"))["calibration"]["fps"])
    return FrameTimes.from_timestamps(pd.read_csv(path)["time_s"].to_numpy(), fps=fps, source="given")


_UNITS = {
    "heads.csv": "x_px, y_px: true head centre in pixels (0-based frames); z_um: distance to the focal plane in µm",
    "frame_times.csv": "only with repeated frames (hold_frames): per frame, the simulated frame it shows and its true time in s",
    "tracks.csv": (
        "speed_um_s (average-path speed), lateral_amplitude_um (half peak-to-peak), alh_peak_to_peak_um, "
        "beat_frequency_hz (cycles/s), curvature_per_um, radius_um, box and tail sizes in px; CASA columns vcl, vsl, "
        "vap, vprog in µm/s, alh_mean/alh_max in µm peak-to-peak, bcf in Hz (crossings/s = 2 x beat frequency), "
        "mad in degrees, from spermtrack.kinematics.casa on the noise-free head path over the labelled frames"
    ),
}


def read_truth(video_dir: str | os.PathLike):
    """Read ``<video_dir>/truth/``: ``(heads, tracks, params)`` (two DataFrames and a dict)."""
    import pandas as pd

    from ..errors import DatasetError

    folder = Path(video_dir) / TRUTH_DIR
    if not folder.is_dir():
        raise DatasetError(f"{folder}: no simulator truth here (was the video made by spermtrack simulate?)")
    heads = pd.read_csv(folder / HEADS_CSV)
    tracks = pd.read_csv(folder / TRACKS_CSV)
    params = json.loads((folder / SIM_JSON).read_text(encoding="utf-8"))
    return heads, tracks, params


def dataset_looks(out: str | os.PathLike) -> dict[str, dict]:
    """Per video id, the look it was rendered with, from ``out/simulation.json``: ``look``
    (family), ``head_px``, ``image_size``, ``um_per_px``, ``camera`` (for per-look reports).

    Datasets written before looks were recorded give the family only (``look``).
    """
    from ..errors import DatasetError

    path = Path(out) / SIM_JSON
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: cannot read the simulation summary ({exc})") from None
    keys = ("look", "head_px", "image_size", "um_per_px", "camera")
    return {v["vid"]: {k: v[k] for k in keys if k in v} for v in data.get("videos", [])}


def dataset_ids(out: str | os.PathLike) -> Sequence[str]:
    """Video ids listed in ``out/simulation.json``."""
    data = json.loads((Path(out) / SIM_JSON).read_text(encoding="utf-8"))
    return [v["vid"] for v in data["videos"]]
