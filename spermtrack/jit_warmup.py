"""Compile Numba kernels in a background process while the first run does other work.

On the first run after installation Numba compiles the kinematics kernels (about 20 s on
one core) just when the tracks are ready; nothing else can happen meanwhile. ``start()``
compiles them in a separate process at the beginning of a command (``spermtrack demo``,
``spermtrack analyze``), on another core while the video is being simulated, decoded,
detected and tracked. The compiled code lands in Numba's on-disk cache, where the main
process finds it when it calls :func:`spermtrack.kinematics.casa`. When the cache is
already filled (:func:`kernels_cached`) no process is started.
Nothing depends on it: if it fails or is slow, the main process compiles for itself.
"""

from __future__ import annotations

import os
import subprocess
import sys


def start() -> subprocess.Popen | None:
    """Start the background compilation; None where the kernels are cached already, or it is
    switched off, or it cannot start.

    ``SPERMTRACK_NO_WARMUP=1`` switches it off (e.g. on a one-core machine).
    """
    if os.environ.get("SPERMTRACK_NO_WARMUP") or (os.cpu_count() or 1) < 2 or kernels_cached():
        return None
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "spermtrack.jit_warmup"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        return None


def kernels_cached() -> bool:
    """Whether Numba's cache holds the kinematics kernel compiled from the current source.

    Reads the kernel's cache index (Numba returns an empty index when the source changed
    since); on any surprise from Numba's internals it answers False, so the warm-up runs.
    """
    try:
        from .kinematics._kernel import all_tracks

        return bool(all_tracks._cache._cache_file._load_index())
    except Exception:
        return False


def finish(process: subprocess.Popen | None, timeout_s: float = 2.0) -> None:
    """Wait at most ``timeout_s`` seconds for the background process, then stop it.

    By then the main process has run the kernels itself; stopping a compilation midway is
    safe (Numba writes each cache file under a temporary name, then renames it).
    """
    if process is None:
        return
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def compile_kernels() -> None:
    """Run :func:`~spermtrack.kinematics.casa` once on two tiny tracks, calibrated, with an image size.

    The argument types are those of every real call, so each kernel gets the one compiled
    version the pipeline uses.
    """
    import numpy as np

    from .boxes import Boxes
    from .calibration import Calibration
    from .kinematics import casa

    n = 30
    t = np.arange(n)
    cx = np.concatenate([100 + 2.0 * t, 300 + 0.1 * np.sin(t)])
    cy = np.concatenate([200 + 3.0 * np.sin(t), 100 + 0.1 * np.cos(t)])
    boxes = Boxes.from_unsorted(np.concatenate([t, t]), cx - 8, cy - 8, cx + 8, cy + 8, track_id=np.repeat([1, 2], n))
    casa(boxes, Calibration(um_per_px=0.25, fps=50.0), image_size=(640, 480))


if __name__ == "__main__":
    compile_kernels()
