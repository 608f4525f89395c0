"""The detector protocol and the loop that runs a detector over a whole frame source.

A detector is any object with a ``name`` and a ``detect(frames, first_frame=0) -> Boxes``
method. :func:`run_detector` feeds it batches from a
:class:`~spermtrack.io.frames.FrameSource` while a background thread decodes the
next batches, so the detector (GPU or CPU) never waits on decoding.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Protocol, runtime_checkable

import numpy as np

from ..boxes import Boxes
from ..errors import VideoError


@runtime_checkable
class Detector(Protocol):
    """What every detector offers.

    Attributes
    ----------
    name : str
        A short name for reports (``"classical"``, ``"yolo:spermyolo_p3.onnx"``, ...).

    Methods
    -------
    detect(frames, first_frame=0) -> Boxes
        ``frames`` is a ``(B, H, W, 3)`` uint8 BGR batch; the result holds the boxes of frames
        ``first_frame .. first_frame + B - 1`` (pixels of the full frame, untracked) and has
        ``num_frames = first_frame + B``. ``first_frame == 0`` marks the start of a new video
        (detectors that adapt to a video, such as the classical one, reset there).
    """

    name: str

    def detect(self, frames: np.ndarray, first_frame: int = 0) -> Boxes: ...


def as_batch(frames: np.ndarray, first_frame: int = 0) -> np.ndarray:
    """Check a batch of frames and return it as a ``(B, H, W, 3)`` uint8 array.

    A single ``(H, W, 3)`` frame becomes a batch of one. Raises
    :class:`~spermtrack.errors.VideoError` naming the frame when the shape or dtype is wrong.

    >>> as_batch(np.zeros((4, 6, 3), np.uint8)).shape
    (1, 4, 6, 3)
    """
    arr = np.asarray(frames)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[-1] != 3:
        raise VideoError(f"frames {first_frame}..: expected a (B, H, W, 3) BGR batch, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        raise VideoError(f"frames {first_frame}..: expected uint8 pixels, got {arr.dtype}")
    return arr


def boxes_from_lists(
    frames: list[np.ndarray],
    xyxy: list[np.ndarray],
    score: list[np.ndarray],
    cls: list[np.ndarray],
    num_frames: int,
) -> Boxes:
    """Assemble per-frame arrays (already in frame order) into one :class:`Boxes`.

    Every list holds one array per frame; ``xyxy`` arrays have shape ``(n, 4)``.
    """
    if not frames:
        return Boxes.empty(num_frames)
    f = np.concatenate(frames).astype(np.int32, copy=False)
    if f.size == 0:
        return Boxes.empty(num_frames)
    b = np.concatenate(xyxy).reshape(-1, 4)
    return Boxes(
        f,
        b[:, 0],
        b[:, 1],
        b[:, 2],
        b[:, 3],
        score=np.concatenate(score),
        cls=np.concatenate(cls),
        num_frames=num_frames,
    )


_DONE = object()


def _batches_of(source, batch_size: int) -> Iterator[tuple[int, np.ndarray]]:
    """``(first_index, batch)`` pairs from a FrameSource, an array of frames or an iterable of frames."""
    if hasattr(source, "batches"):
        yield from source.batches(batch_size)
        return
    if isinstance(source, np.ndarray):
        arr = as_batch(source)
        for i in range(0, len(arr), batch_size):
            yield i, arr[i : i + batch_size]
        return
    buf: list[np.ndarray] = []
    start = 0
    for frame in source:
        buf.append(frame)
        if len(buf) == batch_size:
            yield start, np.stack(buf)
            start += len(buf)
            buf = []
    if buf:
        yield start, np.stack(buf)


def prefetch(items: Iterable, depth: int = 2) -> Iterator:
    """Iterate ``items`` in a background thread, keeping up to ``depth`` items ready.

    Exceptions raised while producing an item are re-raised in the consumer; leaving the
    loop early stops the producer.

    >>> list(prefetch(range(5)))
    [0, 1, 2, 3, 4]
    """
    q: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def produce():
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(_DONE)
        except BaseException as exc:  # re-raised in the consumer
            q.put(exc)

    thread = threading.Thread(target=produce, name="spermtrack-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)


def run_detector(
    detector: Detector,
    source,
    batch_size: int = 16,
    progress: bool = False,
    prefetch_batches: int = 2,
    max_frames: int | None = None,
) -> Boxes:
    """Run ``detector`` over every frame of ``source`` and return all boxes.

    Parameters
    ----------
    detector : Detector
        Any object following :class:`Detector`.
    source : FrameSource, str, path, array or iterable
        A :class:`~spermtrack.io.frames.FrameSource`, anything
        :func:`~spermtrack.io.frames.open_frames` opens (video file, image folder, VISEM
        video folder), an ``(N, H, W, 3)`` uint8 array or an iterable of ``(H, W, 3)`` frames.
    batch_size : int
        Frames per call to ``detector.detect``.
    progress : bool
        Show a tqdm progress bar.
    prefetch_batches : int
        Batches decoded ahead in a background thread while the detector works.
    max_frames : int, optional
        Stop after this many frames.

    Returns
    -------
    Boxes
        Untracked boxes in pixels, ``num_frames`` = number of frames read.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    opened = None
    if isinstance(source, (str, bytes)) or hasattr(source, "__fspath__"):
        from ..io.frames import open_frames

        source = opened = open_frames(source)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        total = getattr(source, "num_frames", None) or (len(source) if isinstance(source, np.ndarray) else None)
        if max_frames is not None and total is not None:
            total = min(total, max_frames)
        bar = tqdm(total=total, unit="frame", desc=getattr(detector, "name", "detect"))
    parts: list[Boxes] = []
    n = 0
    try:
        for first, batch in prefetch(_batches_of(source, batch_size), prefetch_batches):
            if first != n:
                raise VideoError(f"frame source skipped frames: expected batch at frame {n}, got {first}")
            if max_frames is not None and first + len(batch) > max_frames:
                batch = batch[: max(0, max_frames - first)]
                if not len(batch):
                    break
            out = detector.detect(batch, first_frame=first)
            if len(out):
                parts.append(out)
            n = first + len(batch)
            if bar is not None:
                bar.update(len(batch))
            if max_frames is not None and n >= max_frames:
                break
    finally:
        if bar is not None:
            bar.close()
        if opened is not None:
            opened.close()
    return Boxes.concat(parts, num_frames=n) if parts else Boxes.empty(n)
