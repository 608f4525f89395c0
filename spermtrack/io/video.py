"""Write browser-playable H.264 MP4 videos (PyAV's bundled libx264), atomically.

The file is encoded ``yuv420p`` with the ``moov`` index at the front
(``+faststart``), the combination every browser and player accepts. It is
written under a temporary name and renamed into place only when
:meth:`VideoWriter.close` succeeds, so a reader never sees half a video.

``yuv420p`` needs even sizes: a frame with an odd width or height is padded
by one replicated column/row on the right/bottom (coordinates are unchanged);
:attr:`VideoWriter.encoded_size` tells the size in the file.
"""

from __future__ import annotations

import contextlib
import os
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..errors import ParameterError, VideoError, require

_CODECS = {"h264": "libx264", "libx264": "libx264", "mpeg4": "mpeg4"}
#: Time base of the frames' presentation time stamps when :meth:`VideoWriter.write` is given times (MPEG's 90 kHz).
TIME_BASE = Fraction(1, 90000)


class VideoWriter:
    """Encode BGR frames into an MP4 file.

    Parameters
    ----------
    path : path-like
        Destination ``.mp4`` (parent folders are created).
    fps : float
        Frames per second (stored as an exact fraction, e.g. 50 or 30000/1001).
    size : tuple of int
        ``(width, height)`` of the frames in pixels.
    codec : str
        ``"h264"`` (libx264, default) or ``"mpeg4"``.
    crf : int
        x264 constant rate factor: 0 lossless, 18 visually lossless, 23 default,
        28 small files. Ignored by ``mpeg4``.
    preset : str
        x264 speed/size trade-off (``"ultrafast"`` ... ``"veryslow"``); ``"veryfast"``
        encodes 640x480 several times faster than ``"medium"`` for ~10 % more bytes.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "v.mp4"
    >>> with VideoWriter(p, fps=50, size=(65, 49)) as w:
    ...     for i in range(5):
    ...         w.write(np.full((49, 65, 3), 40 * i, np.uint8))
    >>> w.frames_written, w.encoded_size, p.exists()
    (5, (66, 50), True)
    """

    def __init__(
        self,
        path: str | os.PathLike,
        fps: float,
        size: tuple[int, int],
        codec: str = "h264",
        crf: int = 23,
        preset: str = "veryfast",
    ) -> None:
        av = require("av", "core", "writing videos")
        self.path = Path(path)
        if codec not in _CODECS:
            raise ParameterError(f"codec must be one of {sorted(_CODECS)}, got {codec!r}")
        if not (np.isfinite(fps) and fps > 0):
            raise ParameterError(f"fps must be a positive number, got {fps!r}")
        w, h = (int(v) for v in size)
        if w < 1 or h < 1:
            raise ParameterError(f"size must be (width, height) >= 1, got {size!r}")
        self.size = (w, h)
        self.encoded_size = (w + (w & 1), h + (h & 1))
        self.fps = float(fps)
        self.frames_written = 0
        self._timed: bool | None = None  # decided by the first write: every frame with a time, or none
        self._last_pts = -1
        self._stack = contextlib.ExitStack()
        tmp = self._stack.enter_context(atomic_path(self.path, suffix=".mp4"))
        try:
            self._container = av.open(str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"})
            self._stack.callback(self._container.close)
            stream = self._container.add_stream(_CODECS[codec], rate=Fraction(self.fps).limit_denominator(1001 * 1000))
            stream.width, stream.height = self.encoded_size
            stream.pix_fmt = "yuv420p"
            if _CODECS[codec] == "libx264":
                stream.options = {"crf": str(int(crf)), "preset": str(preset)}
            else:
                stream.bit_rate = 4_000_000
            self._stream = stream
            self._av = av
        except BaseException as exc:
            self._abort(exc)
            raise VideoError(f"{self.path}: cannot create the video ({exc})") from exc

    def write(self, frame: np.ndarray, time_s: float | None = None) -> None:
        """Append one frame: uint8 ``(H, W, 3)`` BGR (or ``(H, W)`` grey) of the writer's size.

        ``time_s``: the frame's presentation time in seconds from the first frame, for a video
        with irregular timing (variable frame rate); give it for every frame or for none (then
        frame ``i`` is at ``i / fps``). Times must increase by at least 1/90000 s.
        """
        if self._timed is None:
            self._timed = time_s is not None
            if self._timed:  # before the encoder opens: stamps in MPEG's 90 kHz clock
                self._stream.codec_context.time_base = TIME_BASE
        elif self._timed != (time_s is not None):
            raise ParameterError(f"{self.path}: frame {self.frames_written}: give time_s for every frame or for none")
        frame = np.asarray(frame)
        if frame.ndim == 2:
            frame = np.repeat(frame[:, :, None], 3, axis=2)
        w, h = self.size
        if frame.dtype != np.uint8 or frame.shape != (h, w, 3):
            raise ParameterError(
                f"{self.path}: frame {self.frames_written} must be uint8 of shape {(h, w, 3)}, got {frame.dtype} {frame.shape}"
            )
        if self.encoded_size != self.size:
            frame = np.pad(frame, ((0, self.encoded_size[1] - h), (0, self.encoded_size[0] - w), (0, 0)), mode="edge")
        vf = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="bgr24")
        if time_s is not None:
            pts = float(time_s) / float(TIME_BASE)
            if not np.isfinite(pts) or pts < 0 or round(pts) <= self._last_pts:
                raise ParameterError(
                    f"{self.path}: frame {self.frames_written}: time {time_s} s is not after the previous frame's (or not >= 0)"
                )
            vf.pts, vf.time_base = round(pts), TIME_BASE
            self._last_pts = vf.pts
        try:
            for packet in self._stream.encode(vf):
                self._container.mux(packet)
        except self._av.error.FFmpegError as exc:
            raise VideoError(f"{self.path}: frame {self.frames_written}: cannot encode ({exc})") from exc
        self.frames_written += 1

    def close(self) -> None:
        """Flush the encoder and move the finished file into place."""
        if self._stack is None:
            return
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
        except BaseException as exc:
            self._abort(exc)
            raise
        stack, self._stack = self._stack, None
        stack.close()

    def _abort(self, exc: BaseException) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.__exit__(type(exc), exc, exc.__traceback__)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is None:
            self.close()
        else:
            self._abort(exc)
