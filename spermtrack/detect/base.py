"""The detector protocol and the loop that runs a detector over a whole frame source.

A detector is any object with a ``name`` and a ``detect(frames, first_frame=0) -> Boxes``
method. :func:`iter_detections` (the one detection loop, used by :func:`run_detector`
and :func:`spermtrack.analyze`) feeds it batches from a
:class:`~spermtrack.io.frames.FrameSource` while a background thread decodes the
next batches, so the detector (GPU or CPU) never waits on decoding.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from .._threads import background
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
    """Iterate ``items`` in a background thread (deprecated name of :func:`spermtrack._threads.background`).

    >>> list(prefetch(range(5)))
    [0, 1, 2, 3, 4]
    """
    return background(items, depth, name="spermtrack-prefetch")


@dataclass
class DetectedBatch:
    """One batch of :func:`iter_detections`: frames ``first .. first + len(frames) - 1`` and their boxes.

    Attributes
    ----------
    first : int
        Index of the batch's first frame (0-based).
    frames : ndarray (B, H, W, 3) uint8
        The frames (BGR), trimmed at ``max_frames``.
    boxes : Boxes
        The detector's boxes of these frames (pixels, untracked), ``num_frames = first + B``.
    """

    first: int
    frames: np.ndarray
    boxes: Boxes

    @property
    def end(self) -> int:
        """Index one past the batch's last frame."""
        return self.first + len(self.frames)


def iter_detections(
    detector: Detector,
    source,
    batch_size: int = 16,
    max_frames: int | None = None,
    *,
    prefetch_batches: int = 2,
    progress: bool = False,
    stopwatch=None,
    on_decoded=None,
) -> Iterator[DetectedBatch]:
    """Run ``detector`` over ``source`` batch by batch: the one detection loop of spermtrack.

    A background thread decodes the next ``prefetch_batches`` batches while the detector
    works on this one; the batches are checked to follow each other (a source that skips
    frames is an error), trimmed at ``max_frames``, and each result carries
    ``num_frames = first + B``. :func:`run_detector` and :func:`spermtrack.analyze` both
    run on it.

    Parameters
    ----------
    detector : Detector
        Any object following :class:`Detector`.
    source : FrameSource, array or iterable of frames
        A :class:`~spermtrack.io.frames.FrameSource` (not closed here), an ``(N, H, W, 3)``
        uint8 array or an iterable of ``(H, W, 3)`` frames.
    batch_size : int
        Frames per call to ``detector.detect`` (>= 1).
    max_frames : int, optional
        Stop after this many frames (>= 1).
    prefetch_batches : int
        Batches decoded ahead.
    progress : bool
        A tqdm progress bar on stderr.
    stopwatch : spermtrack._threads.Stopwatch, optional
        Receives the busy seconds of the ``decode`` and ``detect`` stages.
    on_decoded : callable ``(first, frames) -> None``, optional
        Called in the decoding thread with each decoded batch, in order, before it is
        detected (its time counts as decoding): per-frame measurements that should not take
        the detector's time (``analyze`` looks for repeated frames there). It may see frames
        past ``max_frames`` (decoded ahead); they are not detected.

    Yields
    ------
    DetectedBatch
    """
    from .._threads import Stopwatch
    from ..errors import ParameterError

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ParameterError(f"batch_size must be a whole number >= 1, got {batch_size!r}")
    if max_frames is not None and (isinstance(max_frames, bool) or not isinstance(max_frames, int) or max_frames < 1):
        raise ParameterError(f"max_frames must be a whole number >= 1, got {max_frames!r}")
    watch = stopwatch if stopwatch is not None else Stopwatch()
    name = getattr(source, "path", None) or "frame source"
    total = getattr(source, "num_frames", None) or (len(source) if isinstance(source, np.ndarray) else None)
    if max_frames is not None:
        total = max_frames if total is None else min(total, max_frames)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, unit="frame", desc=str(getattr(detector, "name", "detect")), leave=False)
    n = 0
    try:
        batches = _batches_of(source, batch_size)
        decoded = watch.timed(batches if on_decoded is None else _seen(batches, on_decoded), "decode")
        for first, batch in background(decoded, prefetch_batches, name="spermtrack-prefetch"):
            if first != n:
                raise VideoError(f"{name}: the frame source skipped frames (expected frame {n}, got {first})")
            if max_frames is not None and first + len(batch) > max_frames:
                batch = batch[: max(0, max_frames - first)]
                if not len(batch):
                    break
            t0 = time.perf_counter()
            boxes = detector.detect(batch, first_frame=first)
            watch.add("detect", time.perf_counter() - t0)
            n = first + len(batch)
            if boxes.num_frames != n:
                boxes = boxes.replace(num_frames=n)
            if bar is not None:
                bar.update(len(batch))
            yield DetectedBatch(first, batch, boxes)
            if max_frames is not None and n >= max_frames:
                break
    finally:
        if bar is not None:
            bar.close()


def _seen(batches: Iterator[tuple[int, np.ndarray]], on_decoded) -> Iterator[tuple[int, np.ndarray]]:
    for first, batch in batches:
        on_decoded(first, batch)
        yield first, batch


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
    opened = None
    if isinstance(source, (str, bytes)) or hasattr(source, "__fspath__"):
        from ..io.frames import open_frames

        source = opened = open_frames(source)
    parts: list[Boxes] = []
    n = 0
    try:
        for item in iter_detections(
            detector, source, batch_size, max_frames, prefetch_batches=prefetch_batches, progress=progress
        ):
            if len(item.boxes):
                parts.append(item.boxes)
            n = item.end
    finally:
        if opened is not None:
            opened.close()
    return Boxes.concat(parts, num_frames=n) if parts else Boxes.empty(n)
