"""Frame sources: a video file or a folder of images.

:func:`spermtrack.io.sources.open_frames` (also reachable as ``spermtrack.io.open_frames``
and ``spermtrack.io.frames.open_frames``) picks the source for a path, a VISEM-Tracking
video folder or frame data and returns a :class:`FrameSource`, which streams BGR ``uint8``
frames of shape ``(H, W, 3)`` one at a time (``for frame in src``) or in
batches (``for first, batch in src.batches(16)``, ``batch`` of shape
``(B, H, W, 3)``). Memory is bounded by the batch size, never by the video:
at most the batch the caller holds plus the one being filled.

Videos are decoded by FFmpeg (through OpenCV, or PyAV). Image folders are read in natural order
(``frame_2`` before ``frame_10``); JPEG and PNG files are checked for
truncation before they are decoded, because OpenCV silently returns a
half-grey picture for a truncated JPEG; so are the frames of an MJPEG video, packet by
packet beside the decoder (a video damaged in the middle stops at the damaged frame instead
of giving a garbage frame and every later frame early). Every problem raises
:class:`~spermtrack.errors.VideoError` naming the file and the frame index.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from ..errors import ParameterError, VideoError, require

#: File name extensions read as images (case-insensitive).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
#: File name extensions tried as videos when a folder is not an image folder.
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm", ".wmv", ".mpg", ".mpeg")

_DIGITS = re.compile(r"(\d+)")
#: Frames :meth:`FrameSource.batches` allocates first for a source of unknown length (it grows from there).
BATCH_START_FRAMES = 64


def natural_key(name: str) -> tuple:
    """Sort key that orders embedded numbers by value: ``frame_2`` before ``frame_10``.

    >>> sorted(["f_10.jpg", "f_2.jpg", "f_1.jpg"], key=natural_key)
    ['f_1.jpg', 'f_2.jpg', 'f_10.jpg']
    """
    parts = _DIGITS.split(name)
    return tuple(int(p) if i % 2 else p.lower() for i, p in enumerate(parts))


class FrameSource:
    """A stream of frames with known size and, when known, frame rate and length.

    Attributes
    ----------
    path : Path
        The video file or folder the frames come from.
    fps : float or None
        Frames per second (``None`` for an image folder opened without ``fps``).
    size : tuple of int
        ``(width, height)`` in pixels.
    num_frames : int or None
        Number of frames when the container says so (always known for images).
    fps_source : str or None
        How the frame rate was obtained (``"user"``, ``"container"``, ``"timestamps"``).

    Notes
    -----
    Each ``iter(source)`` starts again at frame 0. Use the source as a context
    manager (or call :meth:`close`) to release open files early.
    """

    path: Path
    fps: float | None
    size: tuple[int, int]
    num_frames: int | None
    #: How :attr:`fps` was obtained: ``"user"``, ``"container"``, ``"timestamps"``, a sidecar file name, or None.
    fps_source: str | None = None

    def __iter__(self) -> Iterator[np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def batches(self, batch_size: int) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(first_index, frames)`` with ``frames`` of shape ``(B, H, W, 3)`` uint8, ``B <= batch_size``.

        Each batch is a new array (safe to keep); the source itself holds only the
        batch being filled. When a frame cannot be read (:class:`VideoError`), the frames
        before it are yielded first and the error is raised after them, so that a caller
        that needs only those frames (``max_frames``) never sees it.

        The buffer of a batch holds no more frames than the source has left when its length
        is known (a ``batch_size`` larger than a short video allocates only that video's
        frames), and otherwise starts at :data:`BATCH_START_FRAMES` frames and doubles as
        frames arrive, up to ``batch_size``.
        """
        if int(batch_size) < 1:
            raise ParameterError(f"batch_size must be >= 1, got {batch_size}")
        batch_size = int(batch_size)
        w, h = self.size
        known = self.num_frames if isinstance(self.num_frames, int) and self.num_frames > 0 else None
        grown = 0  # the size a batch of unknown length reached last: the next one starts there
        buf = None
        first = 0
        k = 0
        error: VideoError | None = None
        frames = iter(self)
        while True:
            try:
                img = next(frames)
            except StopIteration:
                break
            except VideoError as exc:
                error = exc
                break
            if buf is None:
                if known is not None and known - first > 0:
                    cap = known - first
                else:  # length unknown, or more frames than the container said
                    cap = max(grown, BATCH_START_FRAMES)
                buf = np.empty((min(batch_size, cap), h, w, 3), np.uint8)
            elif k == len(buf):  # more frames than foreseen: grow (doubling keeps the copies linear)
                bigger = np.empty((min(batch_size, 2 * len(buf)), h, w, 3), np.uint8)
                bigger[:k] = buf
                buf = bigger
                grown = len(buf)
            buf[k] = img
            k += 1
            if k == batch_size:
                yield first, buf
                buf = None
                first += k
                k = 0
        if k:
            yield first, buf[:k] if k < len(buf) else buf
        if error is not None:
            raise error

    def close(self) -> None:
        """Release open files (iteration opens its own, closed when it ends)."""

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, size={self.size}, fps={self.fps}, num_frames={self.num_frames})"


# --------------------------------------------------------------------------- images


class ImageSequence(FrameSource):
    """Frames from a list of image files, in the given order.

    Parameters
    ----------
    files : sequence of path-like
        The images, frame 0 first. All must have the same size.
    fps : float, optional
        Frame rate to report (images carry none).
    path : path-like, optional
        What to report as the source (defaults to the first file's folder).
    threads : int
        Decode this many images ahead in parallel threads (OpenCV releases the
        GIL while decoding), at most ``2 * threads`` frames in flight. The
        default 0 decodes in the calling thread: on a busy 2-core machine
        threads were slower (benchmarks/io_speed.py); use 2-4 when cores are idle.
    """

    def __init__(
        self,
        files: Sequence[str | os.PathLike],
        fps: float | None = None,
        path: str | os.PathLike | None = None,
        threads: int = 0,
    ):
        self.files = [Path(f) for f in files]
        if not self.files:
            raise VideoError(f"{path}: no image files")
        self.path = Path(path) if path is not None else self.files[0].parent
        self.numbers = frame_numbers(self.files)
        self.fps = None if fps is None else float(fps)
        self.fps_source = None if fps is None else "user"
        self.num_frames = len(self.files)
        self.size = image_size(self.files[0])
        self.threads = max(0, int(threads))

    def __len__(self) -> int:
        return self.num_frames

    def number_gaps(self, num_frames: int | None = None) -> list[tuple[int, int]]:
        """Where the files' frame numbers jump by more than their usual step, among the first
        ``num_frames`` images (all by default): ``(number before, number after)`` pairs."""
        n = self.numbers
        if n is None:
            return []
        n = n[:num_frames] if num_frames is not None else n
        if len(n) < 3:
            return []
        d = np.diff(n)
        return [(int(n[i]), int(n[i + 1])) for i in np.flatnonzero(d > _usual_step(n))]

    def number_times(self, fps: float) -> np.ndarray | None:
        """Time of each image (s) from its frame number, when the numbers jump (frames missing).

        The usual step between numbers (their median difference) is one frame at ``fps``, so a
        folder of every 2nd frame numbered 0, 2, 4, ... is at ``fps`` as given. None when no number
        jumps (the plain clock) or the files carry no frame numbers.
        """
        if not self.number_gaps():
            return None
        n = self.numbers
        return (n - n[0]) / _usual_step(n) / float(fps)

    def __iter__(self) -> Iterator[np.ndarray]:
        w, h = self.size
        for i, img in enumerate(self._decoded()):
            if img.shape[1] != w or img.shape[0] != h:
                raise VideoError(f"{self.files[i]}: frame {i} is {img.shape[1]}x{img.shape[0]} but frame 0 is {w}x{h}")
            yield img

    def _decoded(self) -> Iterator[np.ndarray]:
        if self.threads <= 1 or self.num_frames < 3:
            for i, f in enumerate(self.files):
                yield read_image(f, i)
            return
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor

        window = 2 * self.threads
        pending: deque = deque()
        with ThreadPoolExecutor(self.threads, thread_name_prefix="spermtrack-imread") as pool:
            try:
                for i, f in enumerate(self.files):
                    pending.append(pool.submit(read_image, f, i))
                    if len(pending) >= window:
                        yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()
            finally:
                for fut in pending:
                    fut.cancel()


def _usual_step(numbers: np.ndarray) -> float:
    """The usual step between consecutive frame numbers (their median difference): one frame."""
    return float(np.median(np.diff(numbers)))


def frame_numbers(files: Sequence[str | os.PathLike]) -> np.ndarray | None:
    """The frame number in each image file's name (int64), in the given (natural) order.

    The number is the one number that varies between names of one pattern (``run3_frame_12.jpg``:
    12). None when the names follow no such pattern (other structures, or no or several varying
    numbers). Two files with the same number (``frame_5.jpg`` and ``frame_05.jpg``) are a
    :class:`VideoError` naming both: which one is that frame cannot be told.
    """
    keys = [natural_key(Path(f).stem) for f in files]
    if len(keys) < 2:
        return None
    first = keys[0]
    if any(len(k) != len(first) for k in keys):
        return None
    texts = range(0, len(first), 2)
    if any(k[i] != first[i] for k in keys for i in texts):
        return None
    varying = [i for i in range(1, len(first), 2) if any(k[i] != first[i] for k in keys)]
    if len(varying) != 1:
        return None
    numbers = np.array([k[varying[0]] for k in keys], np.int64)
    same = np.flatnonzero(np.diff(numbers) == 0)
    if len(same):
        i = int(same[0])
        raise VideoError(
            f"{Path(files[i]).parent}: {Path(files[i]).name} and {Path(files[i + 1]).name} both number frame "
            f"{numbers[i]}: keep one of them"
        )
    if np.any(np.diff(numbers) < 0):  # not ordered by that number: not a frame numbering
        return None
    return numbers


def read_image(path: str | os.PathLike, index: int | None = None) -> np.ndarray:
    """Read one image as BGR uint8 ``(H, W, 3)``; truncated or corrupt files raise :class:`VideoError`.

    ``index`` is the frame number to name in the error message.
    """
    path = Path(path)
    where = f"{path}" + (f": frame {index}" if index is not None else "")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise VideoError(f"{where}: cannot read the image ({exc.strerror or exc})") from exc
    problem = _truncation(data)
    if problem:
        raise VideoError(f"{where}: {problem}")
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise VideoError(f"{where}: not a readable image (corrupt or unsupported format)")
    return img


def _jpeg_packet_problem(data: bytes, whole: bool = True) -> str | None:
    """Why a frame of an MJPEG video (one JPEG per packet) is damaged, or None.

    Its data must hold a JPEG start-of-image marker and, with ``whole``, an end-of-image marker
    after the last scan (:func:`_truncation`).
    """
    start = data.find(b"\xff\xd8", 0, 1024)
    if start < 0:
        return "its data holds no JPEG image (no start-of-image marker)"
    return _truncation(data[start:] if start else data) if whole else None


def _truncation(data: bytes) -> str | None:
    """Why a JPEG/PNG byte string is truncated, or None."""
    if not data:
        return "the image file is empty"
    if data[:2] == b"\xff\xd8":  # JPEG: an end-of-image marker must follow the last scan
        last_scan = data.rfind(b"\xff\xda")
        if last_scan < 0 or data.find(b"\xff\xd9", last_scan) < 0:
            return "truncated or corrupt JPEG (no end-of-image marker after the image data)"
    elif data[:8] == b"\x89PNG\r\n\x1a\n" and b"IEND" not in data[-16:]:
        return "truncated or corrupt PNG (no IEND chunk at the end)"
    return None


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """``(width, height)`` of an image, from its header when it is a JPEG or PNG (no decoding).

    >>> import tempfile, pathlib
    >>> p = str(pathlib.Path(tempfile.mkdtemp()) / "a.jpg")
    >>> _ = cv2.imwrite(p, np.zeros((48, 64, 3), np.uint8))
    >>> image_size(p)
    (64, 48)
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
    except OSError as exc:
        raise VideoError(f"{path}: cannot read the image ({exc.strerror or exc})") from exc
    size = _header_size(head)
    if size is None:
        img = read_image(path)
        size = (int(img.shape[1]), int(img.shape[0]))
    return size


def _header_size(head: bytes) -> tuple[int, int] | None:
    if head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) >= 24 and head[12:16] == b"IHDR":
        return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    if head[:2] != b"\xff\xd8":
        return None
    i = 2
    n = len(head)
    while i + 9 < n:
        if head[i] != 0xFF:
            return None
        marker = head[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        seg_len = int.from_bytes(head[i + 2 : i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # start of frame
            h = int.from_bytes(head[i + 5 : i + 7], "big")
            w = int.from_bytes(head[i + 7 : i + 9], "big")
            return (w, h) if w and h else None
        i += 2 + seg_len
    return None


# --------------------------------------------------------------------------- video files


class VideoFile(FrameSource):
    """Frames decoded from a video file (FFmpeg, through OpenCV or PyAV).

    Parameters
    ----------
    path : path-like
        Any container/codec FFmpeg reads (mp4/H.264 as VISEM-Tracking ships, avi, ...).
    fps : float, optional
        Overrides the container's frame rate.
    backend : {"auto", "opencv", "pyav"}
        ``"opencv"`` decodes with ``cv2.VideoCapture`` (about 1.5x faster than
        PyAV's BGR conversion on 640x480 H.264, see benchmarks/io_speed.py; the
        same pixels, as both use FFmpeg's swscale). ``"auto"`` takes it when
        OpenCV has its FFmpeg backend, else PyAV. Size, frame rate and frame
        count always come from the container (PyAV), and a video that ends
        before its stated frame count raises :class:`VideoError`; so does a
        frame whose data is damaged (checked packet by packet beside the
        decoder, :meth:`_packet_problems`), naming that frame, before it is given.
    """

    def __init__(self, path: str | os.PathLike, fps: float | None = None, backend: str = "auto"):
        self.path = Path(path)
        info = probe_video(self.path)
        self.size = info["size"]
        self.num_frames = info["num_frames"]
        self.fps = float(fps) if fps is not None else info["fps"]
        self.fps_source = "user" if fps is not None else info["fps_source"]
        if backend not in ("auto", "opencv", "pyav"):
            raise ParameterError(f"backend must be 'auto', 'opencv' or 'pyav', got {backend!r}")
        if backend == "auto":
            backend = "opencv" if cv2.videoio_registry.hasBackend(cv2.CAP_FFMPEG) else "pyav"
        self.backend = backend
        self._open: list = []

    def __iter__(self) -> Iterator[np.ndarray]:
        frames = self._iter_opencv() if self.backend == "opencv" else self._iter_pyav()
        problems = self._packet_problems()
        i = 0
        w, h = self.size
        try:
            for img in frames:
                if img.shape[0] != h or img.shape[1] != w:
                    raise VideoError(f"{self.path}: frame {i} is {img.shape[1]}x{img.shape[0]}, the stream says {w}x{h}")
                problem = next(problems, None)
                if problem is not None:
                    raise self._damaged(i, problem, problems)
                yield img
                i += 1
            if self.num_frames is not None and i < self.num_frames:
                problem = next(problems, None)
                if problem is not None:  # the decoder gave up at the damaged frame
                    raise self._damaged(i, problem, problems)
                raise VideoError(
                    f"{self.path}: frame {i}: the video ends after {i} of its {self.num_frames} frames (truncated or corrupt)"
                )
        finally:
            problems.close()

    def _packet_problems(self) -> Iterator[str | None]:
        """Why each packet of the video stream is damaged (None: not found damaged), in file order.

        The packets are demuxed by PyAV beside the decoder, not decoded: about 5 us per frame of
        an H.264 MP4 and 40 us of an MJPEG AVI at 640x480, against 0.7-1 ms of decoding
        (docs/pipeline.md). FFmpeg's decoders do not tell OpenCV about damage: an MJPEG frame
        whose data was cut off is decoded into a half-garbage picture, and frames whose chunks
        were lost are skipped, so that every later frame comes early -- at the wrong time, as an
        AVI's timestamps are only frame numbers. Packet ``i`` is checked when frame ``i`` is
        given (MJPEG and the other intra-only codecs give one frame per packet, in order): the
        container's corrupt flag, a read error of the demuxer, and for MJPEG a whole JPEG
        (:func:`_jpeg_packet_problem`; the end-of-image marker is required only when frame 0
        has one, as a few cameras leave it out of every frame). Damage that none of these see
        (inside an H.264 frame) is not found here.
        """
        av = require("av", "core", "reading videos")
        container = _open_container(self.path)
        self._open.append(container)
        try:
            stream = container.streams.video[0]
            jpeg = stream.codec_context.name == "mjpeg"
            ends: bool | None = None  # whether this video's JPEGs carry an end-of-image marker (frame 0 says)
            packets = container.demux(stream)
            while True:
                try:
                    packet = next(packets)
                except StopIteration:
                    return
                except av.error.FFmpegError as exc:
                    yield f"its data cannot be read ({exc})"
                    return
                if not packet.size:  # the demuxer's end-of-stream marker
                    continue
                if packet.is_corrupt:
                    yield "the container marks its data as corrupt"
                elif jpeg:
                    data = bytes(packet)
                    if ends is None:
                        ends = _jpeg_packet_problem(data, whole=True) is None
                    yield _jpeg_packet_problem(data, whole=ends)
                else:
                    yield None
        finally:
            container.close()
            if container in self._open:
                self._open.remove(container)

    def _damaged(self, i: int, problem: str, problems: Iterator[str | None]) -> VideoError:
        """The error for frame ``i`` found damaged: how many frames the file holds, and what can be analysed."""
        held = i + 1 + sum(1 for _ in problems)
        lost = ""
        if self.num_frames is not None and held < self.num_frames:
            lost = (
                f"; the video ends with it, after {held} of its {self.num_frames} frames (truncated)"
                if held == i + 1
                else f"; the file holds {held} of its {self.num_frames} frames, so the frames after it would come at the wrong times"
            )
        before = f"; frames 0-{i - 1} read cleanly (analyse them alone with --max-frames {i})" if i > 1 else ""
        return VideoError(f"{self.path}: frame {i}: damaged: {problem}{lost}{before}")

    def _iter_opencv(self) -> Iterator[np.ndarray]:
        quiet_ffmpeg()
        cap = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG)
        if not cap.isOpened():
            raise VideoError(f"{self.path}: OpenCV cannot open the video (unreadable or corrupt)")
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0)  # frames as stored, like PyAV and the probed size
        self._open.append(cap)
        try:
            while True:
                ok, img = cap.read()
                if not ok:
                    return
                yield img
        finally:
            cap.release()
            if cap in self._open:
                self._open.remove(cap)

    def _iter_pyav(self) -> Iterator[np.ndarray]:
        av = require("av", "core", "reading videos")
        container = _open_container(self.path)
        self._open.append(container)
        i = 0
        try:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            try:
                for frame in container.decode(stream):
                    yield frame.to_ndarray(format="bgr24")
                    i += 1
            except av.error.FFmpegError as exc:
                raise VideoError(f"{self.path}: frame {i}: cannot decode ({exc})") from exc
        finally:
            container.close()
            if container in self._open:
                self._open.remove(container)

    def timestamps(self) -> np.ndarray | None:
        """Presentation time of every frame in seconds from the first (float64), from the container.

        Read from the packets without decoding (a few ms per thousand frames). None when the
        container's time stamps are only frame numbers (raw streams, AVI) or a packet has none.
        A constant-rate video gives ``i / fps``; a variable-rate one (phones, screen recorders,
        drivers that stamp each capture) its real capture times.
        """
        return read_timestamps(self.path)

    def close(self) -> None:
        while self._open:
            obj = self._open.pop()
            (obj.release if hasattr(obj, "release") else obj.close)()


#: FFmpeg log level (``AV_LOG_QUIET``) set for OpenCV's FFmpeg unless ``OPENCV_FFMPEG_LOGLEVEL`` is set already.
FFMPEG_QUIET = "-8"


def quiet_ffmpeg() -> None:
    """Keep OpenCV's FFmpeg from printing its own log lines (``[h264 @ 0x...] Invalid NAL unit size``).

    A damaged video already raises :class:`VideoError` naming the file and frame; FFmpeg's
    lines before it are noise. OpenCV reads ``OPENCV_FFMPEG_LOGLEVEL`` when its FFmpeg backend
    first starts, so this must run before the first ``cv2.VideoCapture``; a value the user set
    is kept (``OPENCV_FFMPEG_LOGLEVEL=24`` shows the warnings again). PyAV logs nothing unless
    asked (``av.logging.set_level``).
    """
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", FFMPEG_QUIET)


def _open_container(path: Path):
    av = require("av", "core", "reading videos")
    if not path.exists():
        raise VideoError(f"{path}: no such video file")
    try:
        container = av.open(str(path), mode="r")
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise VideoError(f"{path}: cannot open the video (unreadable or corrupt: {exc})") from exc
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path}: the file has no video stream")
    return container


#: Container formats that hold a bare codec stream: no timestamps, and the frame rate
#: FFmpeg reports for them is its default guess (25), not a statement of the file.
RAW_STREAM_FORMATS = frozenset(
    {"h264", "hevc", "h263", "m4v", "mjpeg", "mpegvideo", "cavsvideo", "vc1", "rawvideo", "obu", "dirac", "avs2", "vvc"}
)
#: Frame rates outside this range (frames per second) are not taken from a container.
PLAUSIBLE_FPS = (0.1, 10_000.0)
#: Packets read to derive a frame rate from timestamps.
TIMESTAMP_PACKETS = 500


def probe_video(path: str | os.PathLike) -> dict:
    """Size, frame rate and frame count of a video file without decoding it.

    The frame rate is never guessed (docs/reliability.md): it is the
    container's when the container states a real one; else it is derived from
    the packets' presentation timestamps (median interval) when they exist;
    else it is None and the caller must be given one (``--fps``).

    Returns
    -------
    dict
        ``size`` ``(width, height)`` in pixels, ``fps`` (float or None),
        ``fps_source`` (``"container"``, ``"timestamps"`` or None), ``num_frames``
        (from the container, else by counting packets; None if the stream cannot
        be counted).
    """
    path = Path(path)
    container = _open_container(path)
    try:
        stream = container.streams.video[0]
        w, h = int(stream.codec_context.width), int(stream.codec_context.height)
        if not w or not h:
            raise VideoError(f"{path}: the video stream has no frame size (corrupt header)")
        fps, fps_source = _stated_rate(container, stream, path), "container"
        n = int(stream.frames or 0)
        pts: list[int] = []
        if n <= 0 or fps is None:
            count = 0
            for p in container.demux(stream):
                if not p.size:
                    continue
                count += 1
                if p.pts is not None and len(pts) < TIMESTAMP_PACKETS:
                    pts.append(int(p.pts))
                if n > 0 and len(pts) >= TIMESTAMP_PACKETS:
                    break
            if n <= 0:
                n = count
        if fps is None:
            fps = _timestamp_rate(pts, stream.time_base) if _independent_timestamps(container, path) else None
            fps_source = "timestamps" if fps is not None else None
        return {"size": (w, h), "fps": fps, "fps_source": fps_source, "num_frames": n if n > 0 else None}
    finally:
        container.close()


def read_timestamps(path: str | os.PathLike) -> np.ndarray | None:
    """Presentation times (s, from the first frame, in display order) of a video's frames, or None.

    None when the container holds no independent time stamps (raw codec streams, AVI, whose
    stamps are frame numbers times a rate) or when a packet has none. See :meth:`VideoFile.timestamps`.
    """
    path = Path(path)
    container = _open_container(path)
    try:
        if not _independent_timestamps(container, path):
            return None
        stream = container.streams.video[0]
        pts = [p.pts for p in container.demux(stream) if p.size]
        if not pts or any(v is None for v in pts) or not stream.time_base:
            return None
        t = np.sort(np.asarray(pts, np.int64)).astype(np.float64) * float(Fraction(stream.time_base))
        return t - t[0]
    finally:
        container.close()


def _plausible(rate) -> float | None:
    if not rate:
        return None
    value = float(Fraction(rate))
    return value if PLAUSIBLE_FPS[0] <= value <= PLAUSIBLE_FPS[1] else None


def _stated_rate(container, stream, path: Path) -> float | None:
    """The frame rate the container states, or None when it states none (FFmpeg's guesses are not taken)."""
    fmt = (container.format.name or "").split(",")
    if any(f in RAW_STREAM_FORMATS for f in fmt):
        return None
    if "avi" in fmt:  # FFmpeg replaces a 0 rate in the header by 25 and numbers the packets with it
        header = _avi_header_rate(path)
        if header is None:
            return None
    return _plausible(stream.average_rate)


def _avi_header_rate(path: Path) -> float | None:
    """``dwRate / dwScale`` of the first video stream header of an AVI file, or None when 0 or unreadable."""
    import struct

    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
    except OSError:
        return None
    i = head.find(b"strh")
    while i >= 0 and head[i + 8 : i + 12] != b"vids":  # chunk id, chunk size, then fccType
        i = head.find(b"strh", i + 4)
    if i < 0 or i + 8 + 28 > len(head):
        return None
    scale, rate = struct.unpack_from("<II", head, i + 8 + 20)  # dwScale, dwRate after 20 bytes of fields
    return _plausible(Fraction(rate, scale)) if scale and rate else None


def _independent_timestamps(container, path: Path) -> bool:
    """False for containers whose timestamps are only frame numbers times the stated (here: absent) rate."""
    fmt = (container.format.name or "").split(",")
    return not any(f in RAW_STREAM_FORMATS or f == "avi" for f in fmt)


def _timestamp_rate(pts: list[int], time_base) -> float | None:
    """Frames per second from presentation timestamps: 1 / median interval (None with fewer than 2 distinct)."""
    if len(pts) < 2 or not time_base:
        return None
    steps = np.diff(np.unique(np.asarray(pts, np.int64)))
    if steps.size == 0:
        return None
    step_s = float(np.median(steps)) * float(Fraction(time_base))
    return _plausible(Fraction(1.0 / step_s).limit_denominator(1001 * 1000)) if step_s > 0 else None


# --------------------------------------------------------------------------- folders


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files of a folder (not recursive), naturally sorted."""
    folder = Path(folder)
    names = [e.name for e in os.scandir(folder) if e.is_file() and e.name.lower().endswith(IMAGE_EXTENSIONS)]
    names.sort(key=natural_key)
    return [folder / n for n in names]


def __getattr__(name: str):
    """``spermtrack.io.frames.open_frames`` keeps working: the dispatcher lives in :mod:`spermtrack.io.sources`.

    It is looked up on first use (not imported at the top) because the dispatcher sits above
    this module and :mod:`spermtrack.io.visem`, which both import nothing above them.
    """
    if name == "open_frames":
        from .sources import open_frames

        return open_frames
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
