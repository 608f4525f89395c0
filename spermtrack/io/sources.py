"""Which frame source to open: :func:`open_frames`, the dispatcher above the sources.

:func:`open_frames` looks at what it was given (a path, a VISEM-Tracking video folder, a
:class:`~spermtrack.io.visem.VisemVideo`, an open :class:`~spermtrack.io.frames.FrameSource`,
a multi-page TIFF, an array or an iterable of frames) and returns the matching
:class:`~spermtrack.io.frames.FrameSource`. It sits above :mod:`spermtrack.io.frames` (video
files, image folders), :mod:`spermtrack.io.stack` (TIFF stacks, frames in memory) and
:mod:`spermtrack.io.visem` (VISEM folders), none of which imports it, so the three do not
import each other in a circle. ``spermtrack.io.open_frames`` and
``spermtrack.io.frames.open_frames`` are this function.

An open source given with a frame rate is never changed: :func:`open_frames` returns a
:class:`WithFrameRate` view of it that reports the new rate and reads the same frames.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import VideoError
from .frames import IMAGE_EXTENSIONS, FrameSource, ImageSequence, VideoFile, list_images
from .stack import is_frame_data, open_frame_data, open_tiff
from .visem import VisemVideo, is_video_folder

__all__ = ["open_frames", "WithFrameRate"]


class WithFrameRate(FrameSource):
    """Another frame source's frames, reported at a frame rate the caller chose.

    The wrapped source is left as it was (its own ``fps`` and ``fps_source`` unchanged);
    iteration, batches and :meth:`close` go to it, and every other attribute (``files``,
    ``backend``, ``levels``, ...) is read from it.

    Parameters
    ----------
    source : FrameSource
        The source whose frames are read.
    fps : float
        Frames per second to report (``fps_source`` reads ``"user"``).
    """

    def __init__(self, source: FrameSource, fps: float):
        self.source = source
        self.fps = float(fps)
        self.fps_source = "user"

    @property
    def path(self) -> Path:  # type: ignore[override]
        return self.source.path

    @property
    def size(self) -> tuple[int, int]:  # type: ignore[override]
        return self.source.size

    @property
    def num_frames(self) -> int | None:  # type: ignore[override]
        return self.source.num_frames  # read live: a one-pass iterable knows its length only at its end

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(self.source)

    def batches(self, batch_size: int) -> Iterator[tuple[int, np.ndarray]]:
        return self.source.batches(batch_size)

    def close(self) -> None:
        self.source.close()

    def __getattr__(self, name: str):
        if name == "source":  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        return getattr(self.source, name)


def open_frames(source, fps: float | None = None) -> FrameSource:
    """Open a frame source.

    Parameters
    ----------
    source : path-like, FrameSource, VisemVideo, array or iterable of frames
        A video file; a folder of images (natural order); a VISEM-Tracking
        video folder (its ``images/`` when present, else ``<id>.mp4``); a single
        image (one frame); a multi-page TIFF stack; a NumPy array ``(T, H, W)`` or
        ``(T, H, W, 3)``, a list or any iterable of frames, a ``cv2.VideoCapture``
        (see :mod:`spermtrack.io.stack`: grey and 16-bit frames become 8-bit BGR).
        An open :class:`FrameSource` is returned as it is, or, with ``fps``, as a
        :class:`WithFrameRate` view (the source itself is not changed).
    fps : float, optional
        Frame rate to use; overrides the video's (an image folder has none
        otherwise; a VISEM folder reports its video's, see
        :attr:`spermtrack.io.visem.VisemVideo.fps`).

    Returns
    -------
    FrameSource

    Raises
    ------
    VideoError
        A missing path, an unreadable or corrupt video, a folder without images.
    """
    if is_frame_data(source) and not isinstance(source, VisemVideo):  # arrays, lists, iterables (spermtrack.io.stack)
        return open_frame_data(source, fps=fps)
    if isinstance(source, FrameSource):
        return _with_fps(source, fps)
    if isinstance(source, VisemVideo):
        return _open_visem(source, fps)
    path = Path(source)
    if not path.exists():
        raise VideoError(f"{path}: no such file or folder")
    if path.is_dir():
        if is_video_folder(path):
            return _open_visem(VisemVideo(path), fps)
        images = list_images(path)
        if images:
            return ImageSequence(images, fps=fps, path=path)
        raise VideoError(f"{path}: the folder holds no images ({', '.join(IMAGE_EXTENSIONS)}) and is not a VISEM video folder")
    if path.suffix.lower() in (".tif", ".tiff"):  # multi-page stacks (Fiji) through tifffile
        return open_tiff(path, fps)
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return ImageSequence([path], fps=fps, path=path)
    return VideoFile(path, fps=fps)


def _with_fps(source: FrameSource, fps: float | None) -> FrameSource:
    """``source`` itself when ``fps`` is None or already its user-given rate, else a view at ``fps``."""
    if fps is None or (source.fps == float(fps) and source.fps_source == "user"):
        return source
    if isinstance(source, WithFrameRate):
        source = source.source
    return WithFrameRate(source, fps)


def _open_visem(video: VisemVideo, fps: float | None) -> FrameSource:
    """The frames of a VISEM video folder with the frame rate's origin; VISEM's nominal 50 is never assumed."""
    if fps is not None:
        src = video.open_frames(fps=fps)
        src.fps_source = "user"
        return src
    origin = video.fps_source
    if origin == "default":  # neither the mp4 nor spermtrack.json states a rate: none is known
        src = video.open_frames(fps=None)
        src.fps, src.fps_source = None, None
        return src
    src = video.open_frames(fps=video.fps)
    if origin == "mp4":
        info = video._video_info() or {}
        src.fps_source = info.get("fps_source") or "container"
    else:
        src.fps_source = origin
    return src
