"""Frame sources held in memory or in one file: TIFF stacks, NumPy arrays, iterables of frames.

:func:`spermtrack.io.frames.open_frames` hands these sources here:

- a multi-page TIFF (what Fiji / ImageJ saves for a time series; OME-TIFF too), read page
  by page with ``tifffile`` (the ``adapters`` extra): :class:`TiffStack`. Its frame rate is
  the ImageJ ``finterval`` (seconds per frame) when the file states one;
- a NumPy array ``(T, H, W)`` (grey) or ``(T, H, W, 3)`` (colour, BGR as OpenCV gives it;
  ``(T, H, W, 4)`` drops alpha), or a list of frames: :class:`ArrayFrames`;
- any other iterable of frames (a generator, ``imageio.v3.imiter(...)``, PyAV's
  ``container.decode(video=0)``) or an open ``cv2.VideoCapture``: :class:`IterableFrames`
  (read once).

Every source yields BGR ``uint8`` frames ``(H, W, 3)``: grey frames are repeated into three
channels. **Frames that are not 8-bit** (16-bit cameras, floats) are mapped to 8 bits by
one linear stretch for the whole video: the 0.1st percentile of the pixel values becomes
0 and the 99.9th becomes 255 (values beyond are clipped). The percentiles are taken over
up to :data:`SAMPLE_FRAMES` frames spread evenly over the video (the first frame only for a
one-pass iterable), so the same raw value gives the same grey level in every frame and
changes of brightness stay visible; :func:`to_uint8` does it, :attr:`FrameSource.levels`
reports the two values used.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from ..errors import VideoError, require
from .frames import FrameSource

#: Frames sampled (evenly spaced) to choose the 8-bit mapping of a non-8-bit video.
SAMPLE_FRAMES = 64
#: Percentiles mapped to 0 and 255 for frames that are not 8-bit.
PERCENTILES = (0.1, 99.9)
#: TIFF axes that are one frame's plane (rows, columns, samples per pixel).
_PLANE_AXES = frozenset("YXS")


def levels_of(frames: Sequence[np.ndarray] | np.ndarray) -> tuple[float, float]:
    """The raw values mapped to 0 and 255 (:data:`PERCENTILES` of ``frames``, pooled).

    >>> levels_of(np.arange(1001, dtype=np.uint16)[None, None, :])
    (1.0, 999.0)
    """
    values = np.concatenate([np.asarray(f, np.float64).reshape(-1) for f in frames])
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0.0, 1.0
    lo, hi = (float(v) for v in np.percentile(values, PERCENTILES))
    if hi <= lo:  # a flat video: keep its values distinguishable from nothing
        hi = lo + 1.0
    return lo, hi


def to_uint8(frame: np.ndarray, levels: tuple[float, float] | None) -> np.ndarray:
    """``frame`` as uint8: unchanged when it already is, else ``(v - lo) / (hi - lo) * 255`` clipped.

    >>> to_uint8(np.array([[0, 500, 1000, 4000]], np.uint16), (0.0, 1000.0)).tolist()
    [[0, 128, 255, 255]]
    """
    if frame.dtype == np.uint8:
        return frame
    if levels is None:
        raise VideoError(f"frames of type {frame.dtype} need levels to become 8-bit")
    lo, hi = levels
    out = (np.asarray(frame, np.float32) - np.float32(lo)) * np.float32(255.0 / (hi - lo))
    return np.clip(np.rint(np.nan_to_num(out, nan=0.0)), 0, 255).astype(np.uint8)


def to_bgr(frame: np.ndarray, index: int, where: str, rgb: bool = False) -> np.ndarray:
    """A ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)`` uint8 frame as BGR ``(H, W, 3)``."""
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[..., 0]
    if frame.ndim == 2:
        return np.ascontiguousarray(np.repeat(frame[..., None], 3, axis=2))
    if frame.ndim == 3 and frame.shape[2] in (3, 4):
        frame = frame[..., :3]
        return np.ascontiguousarray(frame[..., ::-1] if rgb else frame)
    raise VideoError(f"{where}: frame {index} has shape {frame.shape}; expected (H, W) grey or (H, W, 3) colour")


def _check_pixels(frame: np.ndarray, index: int, where: str) -> np.ndarray:
    arr = np.asarray(frame)
    if arr.dtype == bool or arr.dtype.kind not in "uif":
        raise VideoError(f"{where}: frame {index} holds {arr.dtype} values, not pixel numbers")
    return arr


class ArrayFrames(FrameSource):
    """Frames from an array ``(T, H, W[, C])`` or a list of ``(H, W[, C])`` frames, in memory.

    Parameters
    ----------
    frames : ndarray or sequence of ndarray
        Grey ``(T, H, W)`` or colour ``(T, H, W, 3)`` (BGR unless ``rgb``), any numeric dtype
        (non-8-bit frames are stretched to 8 bits, see the module notes).
    fps : float, optional
        Frames per second (an array carries none).
    rgb : bool
        Colour frames are RGB (as imageio, tifffile and PIL give them) rather than OpenCV's BGR.
    name : str
        What error messages and reports call the source.
    """

    def __init__(self, frames, fps: float | None = None, rgb: bool = False, name: str = "<array>"):
        self._frames = frames
        self.path = Path(name)
        self.rgb = bool(rgb)
        self.fps = None if fps is None else float(fps)
        self.fps_source = None if fps is None else "user"
        n = len(frames)
        if n == 0:
            raise VideoError(f"{name}: no frames")
        first = _check_pixels(frames[0], 0, name)
        if isinstance(frames, np.ndarray) and frames.ndim not in (3, 4):
            raise VideoError(f"{name}: an array of frames must be (T, H, W) or (T, H, W, 3), got shape {frames.shape}")
        self.num_frames = n
        self.size = (int(first.shape[1]), int(first.shape[0]))
        self.levels = None
        if first.dtype != np.uint8 or (isinstance(frames, np.ndarray) and frames.dtype != np.uint8):
            pick = np.unique(np.linspace(0, n - 1, min(n, SAMPLE_FRAMES)).round().astype(int))
            self.levels = levels_of([_check_pixels(frames[int(i)], int(i), name) for i in pick])

    def __len__(self) -> int:
        return self.num_frames

    def __iter__(self) -> Iterator[np.ndarray]:
        w, h = self.size
        where = str(self.path)
        for i in range(self.num_frames):
            f = _check_pixels(self._frames[i], i, where)
            if f.shape[0] != h or f.shape[1] != w:
                raise VideoError(f"{where}: frame {i} is {f.shape[1]}x{f.shape[0]} but frame 0 is {w}x{h}")
            if f.dtype != np.uint8 and self.levels is None:
                self.levels = levels_of([f])
            yield to_bgr(to_uint8(f, self.levels), i, where, self.rgb)


class IterableFrames(FrameSource):
    """Frames from a one-pass iterable: a generator, an imageio or PyAV reader, a ``cv2.VideoCapture``.

    Items may be NumPy frames (as :class:`ArrayFrames` takes them) or PyAV ``VideoFrame``
    objects. The source can be iterated once; its size is known after the first frame
    (read when the source is opened) and its length only at the end (``num_frames`` None).
    A non-8-bit stream is stretched with the levels of its first frame.
    """

    def __init__(self, frames, fps: float | None = None, rgb: bool = False, name: str | None = None):
        self.path = Path(name or f"<{type(frames).__name__}>")
        self.rgb = bool(rgb)
        self.fps = None if fps is None else float(fps)
        self.fps_source = None if fps is None else "user"
        self.num_frames = None
        self._capture = frames if _is_capture(frames) else None
        self._it = _capture_frames(frames) if self._capture is not None else iter(frames)
        self._used = False
        try:
            self._first = self._array(next(self._it), 0)
        except StopIteration:
            raise VideoError(f"{self.path}: the iterable gave no frames") from None
        self.size = (int(self._first.shape[1]), int(self._first.shape[0]))
        self.levels = None if self._first.dtype == np.uint8 else levels_of([self._first])

    def _array(self, item, index: int) -> np.ndarray:
        if hasattr(item, "to_ndarray"):  # a PyAV VideoFrame: decoded straight to BGR
            return item.to_ndarray(format="bgr24")
        return _check_pixels(item, index, str(self.path))

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._used:
            raise VideoError(f"{self.path}: a one-pass iterable of frames can be read only once (pass an array or a file)")
        self._used = True
        w, h = self.size
        where = str(self.path)
        i = 0
        pending = [self._first]
        self._first = None
        while True:
            if pending:
                f = pending.pop()
            else:
                try:
                    f = self._array(next(self._it), i)
                except StopIteration:
                    break
            if f.shape[0] != h or f.shape[1] != w:
                raise VideoError(f"{where}: frame {i} is {f.shape[1]}x{f.shape[0]} but frame 0 is {w}x{h}")
            yield to_bgr(to_uint8(f, self.levels), i, where, self.rgb)
            i += 1
        self.num_frames = i

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()


def _is_capture(obj) -> bool:
    return hasattr(obj, "read") and hasattr(obj, "isOpened") and hasattr(obj, "release")


def _capture_frames(cap) -> Iterator[np.ndarray]:
    if not cap.isOpened():
        raise VideoError("the cv2.VideoCapture is not open (wrong path or unsupported video)")
    while True:
        ok, img = cap.read()
        if not ok:
            return
        yield img


class TiffStack(FrameSource):
    """Frames of a multi-page TIFF (ImageJ / Fiji hyperstack, OME-TIFF, plain multi-page), read page by page.

    Parameters
    ----------
    path : path-like
        The TIFF file. Its first image series must have one time-like axis (``T``, ``Z``,
        ``I`` or ``Q``: Fiji saves a time series as frames or, when not told, as slices)
        before the plane (``YX`` or ``YXS``); a second axis of more than one plane (several
        channels, or both slices and frames) is an error naming the axes.
    fps : float, optional
        Frames per second; default: ``1 / finterval`` of ImageJ metadata when stated
        (``fps_source = "tiff metadata"``), else None.

    Notes
    -----
    Colour planes (``S`` axis) are RGB in TIFF and converted to BGR. Non-8-bit stacks are
    stretched to 8 bits as the module notes say.
    """

    def __init__(self, path: str | os.PathLike, fps: float | None = None):
        tifffile = require("tifffile", "adapters", "reading multi-page TIFF stacks")
        self.path = Path(path)
        try:
            with tifffile.TiffFile(self.path) as tif:
                series = tif.series[0]
                axes, shape = series.axes, tuple(int(s) for s in series.shape)
                meta = tif.imagej_metadata or {}
                n_pages = len(series.pages)
                dtype = np.dtype(series.dtype)
        except (OSError, ValueError, IndexError, tifffile.TiffFileError) as exc:
            raise VideoError(f"{self.path}: not a readable TIFF ({exc})") from exc
        if "S" in axes and axes[-1] != "S":  # planar colour (samples stored as planes): samples last
            k = axes.index("S")
            self._move = k
            axes, shape = axes[:k] + axes[k + 1 :] + "S", shape[:k] + shape[k + 1 :] + (shape[k],)
        else:
            self._move = None
        plane = len(axes)
        while plane > 0 and axes[plane - 1] in _PLANE_AXES:
            plane -= 1
        lead = [(a, s) for a, s in zip(axes[:plane], shape[:plane]) if s > 1]
        if len(lead) > 1:
            listing = ", ".join(f"{a}={s}" for a, s in lead)
            raise VideoError(
                f"{self.path}: the stack has axes {axes} with shape {shape} ({listing}); spermtrack reads one time axis: "
                "keep one channel and one focal plane (Fiji: Image > Hyperstacks > Reduce Dimensionality)"
            )
        self.axes, self.shape, self.dtype = axes, shape, dtype
        self.num_frames = lead[0][1] if lead else 1
        self._page_frames = n_pages == self.num_frames and self._move is None
        self.size = (int(shape[plane + axes[plane:].index("X")]), int(shape[plane + axes[plane:].index("Y")]))
        self.rgb = "S" in axes[plane:]
        finterval = meta.get("finterval")
        if fps is not None:
            self.fps, self.fps_source = float(fps), "user"
        elif isinstance(finterval, (int, float)) and finterval > 0:
            self.fps, self.fps_source = 1.0 / float(finterval), "tiff metadata"
        else:
            self.fps, self.fps_source = None, None
        self.levels = None
        self._all: np.ndarray | None = None
        if dtype != np.uint8:
            pick = np.unique(np.linspace(0, self.num_frames - 1, min(self.num_frames, SAMPLE_FRAMES)).round().astype(int))
            with tifffile.TiffFile(self.path) as tif:
                self.levels = levels_of([self._read(tif, int(i)) for i in pick])

    def __len__(self) -> int:
        return self.num_frames

    def _read(self, tif, i: int) -> np.ndarray:
        series = tif.series[0]
        try:
            if self._page_frames:
                arr = series.pages[i].asarray()
            else:  # frames not one page each (unusual layouts): the whole series, once
                if self._all is None:
                    whole = series.asarray()
                    if self._move is not None:
                        whole = np.moveaxis(whole, self._move, -1)
                    self._all = whole.reshape(self.num_frames, *self._plane_shape())
                arr = self._all[i]
        except Exception as exc:  # tifffile raises many kinds on damaged files
            raise VideoError(f"{self.path}: frame {i}: cannot read the page ({exc})") from exc
        return np.asarray(arr).reshape(self._plane_shape())

    def _plane_shape(self) -> tuple[int, ...]:
        k = len(self.axes)
        while k > 0 and self.axes[k - 1] in _PLANE_AXES:
            k -= 1
        return self.shape[k:]

    def __iter__(self) -> Iterator[np.ndarray]:
        tifffile = require("tifffile", "adapters", "reading multi-page TIFF stacks")
        w, h = self.size
        with tifffile.TiffFile(self.path) as tif:
            try:
                for i in range(self.num_frames):
                    f = self._read(tif, i)
                    if f.shape[0] != h or f.shape[1] != w:
                        raise VideoError(f"{self.path}: frame {i} is {f.shape[1]}x{f.shape[0]} but the stack says {w}x{h}")
                    yield to_bgr(to_uint8(f, self.levels), i, str(self.path), self.rgb)
            finally:
                self._all = None


def tiff_pages(path: str | os.PathLike) -> int:
    """Number of pages of a TIFF file (OpenCV's count; 0 when it cannot read the file)."""
    try:
        return int(cv2.imcount(str(path)))
    except cv2.error:
        return 0


def open_tiff(path: Path, fps: float | None) -> FrameSource:
    """A TIFF file: a :class:`TiffStack` with tifffile; without it, one page opens as an image, more pages ask for the extra."""
    from .frames import ImageSequence

    try:
        import tifffile  # noqa: F401
    except ImportError:
        if tiff_pages(path) > 1:
            require("tifffile", "adapters", f"reading the multi-page TIFF stack {path}")
        return ImageSequence([path], fps=fps, path=path)
    return TiffStack(path, fps=fps)


def is_frame_data(source) -> bool:
    """True for what :func:`open_frame_data` opens: arrays, sequences and iterables of frames, video captures."""
    if isinstance(source, (str, bytes, os.PathLike, FrameSource)):
        return False
    return isinstance(source, (np.ndarray, Iterable)) or _is_capture(source) or hasattr(source, "__array__")


def open_frame_data(source, fps: float | None = None, rgb: bool = False) -> FrameSource:
    """A frame source over an array, a list of frames, an iterable of frames or a ``cv2.VideoCapture``."""
    if isinstance(source, np.ndarray) or (hasattr(source, "__array__") and not isinstance(source, (list, tuple))):
        arr = np.asarray(source)
        if arr.ndim == 2:  # one grey frame
            arr = arr[None]
        elif arr.ndim == 3 and arr.shape[-1] in (3, 4) and arr.shape[0] > 4:  # one colour frame (H, W, 3)
            arr = arr[None]
        return ArrayFrames(arr, fps=fps, rgb=rgb, name=f"<array {arr.shape} {arr.dtype}>")
    if isinstance(source, (list, tuple)):
        return ArrayFrames(source, fps=fps, rgb=rgb, name=f"<list of {len(source)} frames>")
    if _is_capture(source) or isinstance(source, Iterable):
        return IterableFrames(source, fps=fps, rgb=rgb)
    raise VideoError(f"cannot read frames from a {type(source).__name__}")
