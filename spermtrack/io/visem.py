"""VISEM-Tracking on disk: find videos, read frames and labels, the official split, write the layout back.

A video folder ``<vid>/`` holds (names as released):

- ``images/<vid>_frame_<i>.jpg`` — the frames, ``i`` from 0;
- ``labels/<vid>_frame_<i>.txt`` — one box per line, ``class cx cy w h``
  normalised by the image width/height (YOLO);
- ``labels_ftid/<vid>_frame_<i>_with_ftid.txt`` — ``track_id class cx cy w h``
  with ``track_id`` an opaque string (a Labelbox feature id such as
  ``ckywztf0j000y386lthcp1w6h``);
- ``<vid>.mp4`` — the video.

A frame without a label file, or with an empty one, has no boxes. Folders
written by :func:`write_video` also hold ``spermtrack.json`` (frame rate,
size, frame count and the integer <-> string track id mapping). The formats,
with examples, are in docs/formats.md.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import cv2
import numpy as np

from ..atomic import atomic_dir, atomic_open
from ..boxes import UNTRACKED, Boxes
from ..calibration import VISEM_FPS
from ..errors import BoxesError, DatasetError, FormatError, ParameterError, VideoError
from .frames import FrameSource, ImageSequence, VideoFile, natural_key, probe_video
from .frames import image_size as _image_size_of
from .labels import COORD_TOLERANCE, format_label_lines, read_label_files, track_names_for, write_label_files

#: The paper's split (Thambawita et al. 2023): 16 training and 4 validation videos.
OFFICIAL_SPLIT: dict[str, tuple[str, ...]] = {
    "train": ("11", "12", "13", "14", "15", "19", "21", "22", "23", "24", "29", "30", "35", "36", "38", "47"),
    "val": ("52", "54", "60", "82"),
}
#: Frame rate used when a video folder has neither an mp4 nor a ``spermtrack.json``.
DEFAULT_FPS = VISEM_FPS
#: Side file written by :func:`write_video`.
SIDECAR = "spermtrack.json"
#: Side file at a dataset root that overrides :data:`OFFICIAL_SPLIT`.
SPLIT_FILE = "split.json"

_SUBDIRS = ("images", "labels", "labels_ftid")
_IMAGE_RE = re.compile(r"^(?P<prefix>.*)_frame_(?P<index>\d+)\.(?:jpe?g|png|bmp|tiff?)$", re.IGNORECASE)
_LABEL_RE = re.compile(r"^(?P<prefix>.*)_frame_(?P<index>\d+)\.txt$")
_FTID_RE = re.compile(r"^(?P<prefix>.*)_frame_(?P<index>\d+)_with_ftid\.txt$")


def is_video_folder(path: str | os.PathLike) -> bool:
    """True when ``path`` looks like a VISEM video folder (``images/``, ``labels/``, ``labels_ftid/`` or ``<name>.mp4``)."""
    path = Path(path)
    if not path.is_dir():
        return False
    return any((path / d).is_dir() for d in _SUBDIRS) or (path / f"{path.name}.mp4").is_file()


# =========================================================================== dataset


class VisemDataset:
    """A VISEM-Tracking copy (or a simulated one): its videos, split and folds.

    Parameters
    ----------
    root : path-like
        Folder holding video folders at any depth (the released archive nests
        them, e.g. ``Train/11/``). Hidden folders (``.name``, e.g. a video being
        written) are skipped.

    Attributes
    ----------
    root : Path
    video_ids : list of str
        In natural order (``"2"`` before ``"10"``).

    Examples
    --------
    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> b = Boxes.from_cxcywh([0, 1], [[100, 100, 20, 20], [104, 101, 20, 20]], track_id=[7, 7])
    >>> _ = write_video(root, "11", b, image_size=(640, 480))
    >>> ds = VisemDataset(root)
    >>> ds.video_ids, ds.video("11").num_frames, ds.video("11").tracks().track_id.tolist()
    (['11'], 2, [7, 7])
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"{self.root}: no such dataset folder")
        self._folders = _find_video_folders(self.root)
        if not self._folders:
            raise DatasetError(
                f"{self.root}: no VISEM video folder found (a video folder holds images/, labels/, labels_ftid/ or <id>.mp4)"
            )
        self.video_ids: list[str] = sorted(self._folders, key=natural_key)
        self._videos: dict[str, VisemVideo] = {}
        self._split = _read_split(self.root)

    def video(self, vid: str | int) -> VisemVideo:
        """The video ``vid`` (``11`` or ``"11"``)."""
        key = str(vid)
        if key not in self._folders:
            raise DatasetError(f"{self.root}: no video {key!r}; videos are {self.video_ids}")
        if key not in self._videos:
            self._videos[key] = VisemVideo(self._folders[key])
        return self._videos[key]

    def __iter__(self) -> Iterator[VisemVideo]:
        return (self.video(v) for v in self.video_ids)

    def __len__(self) -> int:
        return len(self.video_ids)

    def __contains__(self, vid) -> bool:
        return str(vid) in self._folders

    def __repr__(self) -> str:
        return f"VisemDataset({str(self.root)!r}, videos={self.video_ids})"

    @property
    def split_source(self) -> str:
        """Where the split comes from: ``"split.json"`` or ``"official"``."""
        return SPLIT_FILE if (self.root / SPLIT_FILE).is_file() else "official"

    def split(self, name: str) -> list[str]:
        """Video ids of a split: ``"train"`` or ``"val"`` (also ``"validation"``, or any key of ``split.json``).

        The paper's split (:data:`OFFICIAL_SPLIT`) unless the root holds a
        ``split.json`` ``{"train": [...], "val": [...]}``. Only videos present
        under the root are returned (a warning lists the missing ones).
        """
        key = "val" if name == "validation" else name
        if key not in self._split:
            raise DatasetError(f"{self.root}: unknown split {name!r}; known: {sorted(self._split)} (from {self.split_source})")
        wanted = self._split[key]
        missing = [v for v in wanted if v not in self._folders]
        if missing:
            warnings.warn(f"{self.root}: split {key!r} lists videos not found here: {missing}", stacklevel=2)
        return sorted((v for v in wanted if v in self._folders), key=natural_key)

    def folds(self, k: int | None = None, seed: int | None = None) -> list[tuple[list[str], list[str]]]:
        """Leave-videos-out cross-validation folds.

        Parameters
        ----------
        k : int, optional
            Number of folds, ``2 <= k <= len(self)``; ``None`` is leave-one-video-out.
        seed : int, optional
            Shuffle the videos with this seed before dealing them out; without
            it videos are dealt in natural order (video ``j`` goes to fold ``j % k``).

        Returns
        -------
        list of (train_ids, val_ids)
            Every video is in exactly one ``val_ids``; sizes differ by at most one.
        """
        ids = list(self.video_ids)
        k = len(ids) if k is None else int(k)
        if not 2 <= k <= len(ids):
            raise DatasetError(f"{self.root}: k must be between 2 and the number of videos ({len(ids)}), got {k}")
        if seed is not None:
            order = np.random.default_rng(seed).permutation(len(ids))
            ids = [ids[i] for i in order]
        out = []
        for j in range(k):
            val = sorted(ids[j::k], key=natural_key)
            train = [v for v in self.video_ids if v not in set(val)]
            out.append((train, val))
        return out

    def leave_one_out(self) -> list[tuple[list[str], list[str]]]:
        """``folds(None)``: each video once as the validation set."""
        return self.folds(None)


def _find_video_folders(root: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    if is_video_folder(root):
        return {root.name: root}
    for dirpath, dirnames, _ in os.walk(root):
        dirnames.sort(key=natural_key)
        keep = []
        for d in dirnames:
            if d.startswith(".") or d == "__pycache__":
                continue
            p = Path(dirpath) / d
            if is_video_folder(p):
                if d in found:
                    raise DatasetError(f"{root}: video {d!r} found twice: {found[d]} and {p}")
                found[d] = p
            else:
                keep.append(d)
        dirnames[:] = keep
    return found


def _read_split(root: Path) -> dict[str, list[str]]:
    path = root / SPLIT_FILE
    if not path.is_file():
        return {k: list(v) for k, v in OFFICIAL_SPLIT.items()}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FormatError(f"not valid JSON ({exc})", path, getattr(exc, "lineno", None)) from exc
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise FormatError('expected {"train": [ids...], "val": [ids...]}', path)
    return {str(k): [str(v) for v in vals] for k, vals in data.items()}


def _check_sidecar(meta: dict, path: Path) -> None:
    """Refuse a ``spermtrack.json`` whose frame rate, frame count or size is not a sane number (FormatError)."""
    import math

    def positive_number(v) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0

    def whole(v) -> bool:
        return positive_number(v) and float(v).is_integer()

    if "fps" in meta and not positive_number(meta["fps"]):
        raise FormatError(f"fps must be a positive number of frames per second, got {meta['fps']!r}", path)
    if "num_frames" in meta and not whole(meta["num_frames"]):
        raise FormatError(f"num_frames must be a positive whole number, got {meta['num_frames']!r}", path)
    size = meta.get("image_size", [1, 1])
    if not (isinstance(size, (list, tuple)) and len(size) == 2 and all(whole(v) for v in size)):
        raise FormatError(f"image_size must be [width, height] in pixels (positive whole numbers), got {size!r}", path)


# =========================================================================== one video


class VisemVideo:
    """One VISEM-Tracking video folder.

    Parameters
    ----------
    path : path-like
        The folder ``<vid>/``; its name is the video id.

    Attributes
    ----------
    id : str
    path : Path
    num_frames : int
        From ``images/`` (which must be contiguous ``0..n-1``), else the mp4,
        else ``spermtrack.json``, else the largest labelled frame + 1.
    fps : float
        The mp4's average frame rate, else ``spermtrack.json``'s, else
        :data:`DEFAULT_FPS` (50, VISEM's nominal rate); :attr:`fps_source` says which.
    image_size : tuple of int
        ``(width, height)`` in pixels, read from the first image's header, else
        the mp4, else ``spermtrack.json``. Labels are normalised by it.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise DatasetError(f"{self.path}: no such video folder")
        self.id = self.path.name
        self._cache: dict = {}

    def __repr__(self) -> str:
        return f"VisemVideo({str(self.path)!r})"

    # ------------------------------------------------------------------ files
    @property
    def mp4_path(self) -> Path | None:
        """``<vid>.mp4`` when present (or the folder's only ``.mp4``)."""
        p = self.path / f"{self.id}.mp4"
        if p.is_file():
            return p
        others = sorted(self.path.glob("*.mp4"))
        return others[0] if len(others) == 1 else None

    def image_files(self) -> list[Path]:
        """The frame images in frame order (empty when there is no ``images/``)."""
        if "images" not in self._cache:
            idx = self._image_index()
            self._cache["images"] = [Path(idx[i]) for i in range(len(idx))]
        return self._cache["images"]

    def _image_index(self) -> dict[int, str]:
        """Frame -> image path (str), checked for gaps; one listing of ``images/``, kept."""
        if "image_index" not in self._cache:
            idx = self._indexed_files("images", _IMAGE_RE)
            if idx:
                n = max(idx) + 1
                if len(idx) != n:
                    gap = next(i for i in range(n) if i not in idx)
                    raise DatasetError(
                        f"{self.path / 'images'}: frame {gap} has no image ({len(idx)} images, numbered up to {n - 1})"
                    )
            self._cache["image_index"] = idx
        return self._cache["image_index"]

    def _indexed_files(self, sub: str, pattern: re.Pattern) -> dict[int, str]:
        """Frame -> path (str, as ``os.scandir`` gives it) of the files of ``sub/`` named by ``pattern``.

        One listing of the folder; the paths stay strings (a ``Path`` per file costs more
        than reading a small label file's name).
        """
        folder = self.path / sub
        out: dict[int, str] = {}
        prefixes = set()
        try:
            entries = os.scandir(folder)
        except (FileNotFoundError, NotADirectoryError):
            return {}
        with entries:
            for entry in entries:
                m = pattern.match(entry.name)
                if m is None or not entry.is_file():
                    continue
                i = int(m["index"])
                if i in out:
                    raise DatasetError(f"{folder}: two files for frame {i}: {os.path.basename(out[i])} and {entry.name}")
                prefixes.add(m["prefix"])
                out[i] = entry.path
        if len(prefixes) > 1:
            raise DatasetError(f"{folder}: files of several videos mixed: prefixes {sorted(prefixes)}")
        return out

    @property
    def meta(self) -> dict:
        """The content of ``spermtrack.json`` (empty when absent)."""
        if "meta" not in self._cache:
            p = self.path / SIDECAR
            meta = {}
            if p.is_file():
                try:
                    meta = json.loads(p.read_text(encoding="utf-8"))
                except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                    raise FormatError(f"not valid JSON ({exc})", p, getattr(exc, "lineno", None)) from exc
                if not isinstance(meta, dict):
                    raise FormatError("expected a JSON object", p)
                _check_sidecar(meta, p)
            self._cache["meta"] = meta
        return self._cache["meta"]

    def _video_info(self) -> dict | None:
        if "video_info" not in self._cache:
            mp4 = self.mp4_path
            self._cache["video_info"] = probe_video(mp4) if mp4 is not None else None
        return self._cache["video_info"]

    # ------------------------------------------------------------------ properties
    @property
    def num_frames(self) -> int:
        images = self._image_index()
        if images:
            return len(images)
        info = self._video_info()
        if info is not None and info["num_frames"]:
            return int(info["num_frames"])
        if "num_frames" in self.meta:
            return int(self.meta["num_frames"])
        last = [max(f, default=-1) for f in (self._label_index("labels"), self._label_index("labels_ftid"))]
        if max(last) >= 0:
            return max(last) + 1
        raise DatasetError(f"{self.path}: cannot tell the number of frames (no images/, no {self.id}.mp4, no labels)")

    @property
    def fps(self) -> float:
        return self._fps()[0]

    @property
    def fps_source(self) -> str:
        """``"mp4"``, ``"spermtrack.json"`` or ``"default"``."""
        return self._fps()[1]

    def _fps(self) -> tuple[float, str]:
        info = self._video_info()
        if info is not None and info["fps"]:
            return float(info["fps"]), "mp4"
        if self.meta.get("fps"):
            return float(self.meta["fps"]), SIDECAR
        return float(DEFAULT_FPS), "default"

    @property
    def image_size(self) -> tuple[int, int]:
        if "size" not in self._cache:
            images = self._image_index()
            if images:
                size = _image_size_of(Path(images[0]))
            elif self._video_info() is not None:
                size = tuple(self._video_info()["size"])
            elif "image_size" in self.meta:
                size = tuple(int(v) for v in self.meta["image_size"])
            else:
                raise DatasetError(
                    f"{self.path}: cannot tell the image size needed to convert normalised labels "
                    f"(no images/, no {self.id}.mp4, no {SIDECAR})"
                )
            self._cache["size"] = (int(size[0]), int(size[1]))
        return self._cache["size"]

    def open_frames(self, fps: float | None = None) -> FrameSource:
        """The frames: ``images/`` when present, else the mp4 (a :class:`~spermtrack.io.frames.FrameSource`)."""
        fps = self.fps if fps is None else fps
        images = self.image_files()
        if images:
            return ImageSequence(images, fps=fps, path=self.path / "images")
        mp4 = self.mp4_path
        if mp4 is not None:
            return VideoFile(mp4, fps=fps)
        raise VideoError(f"{self.path}: no frames: neither {self.path / 'images'} nor {self.path / (self.id + '.mp4')} exists")

    # ------------------------------------------------------------------ labels
    def _label_index(self, sub: str) -> dict[int, str]:
        key = "idx_" + sub
        if key not in self._cache:
            self._cache[key] = self._indexed_files(sub, _FTID_RE if sub == "labels_ftid" else _LABEL_RE)
        return self._cache[key]

    def labels(self, tolerance: float = COORD_TOLERANCE) -> Boxes:
        """Boxes of ``labels/`` (pixels, untracked); from ``labels_ftid/`` when there is no ``labels/``.

        Raises :class:`~spermtrack.errors.FormatError` (file and line) on a
        malformed line and :class:`~spermtrack.errors.DatasetError` for a label
        file whose frame has no image.
        """
        if not (self.path / "labels").is_dir():
            if (self.path / "labels_ftid").is_dir():
                return self.tracks(tolerance).replace(track_id=np.full(len(self.tracks(tolerance)), UNTRACKED, np.int64))
            raise DatasetError(f"{self.path}: no labels/ (nor labels_ftid/) folder")
        key = ("labels", tolerance)
        if key not in self._cache:
            self._cache[key] = self._read("labels", tolerance)[0]
        return self._cache[key]

    def tracks(self, tolerance: float = COORD_TOLERANCE) -> Boxes:
        """Boxes of ``labels_ftid/`` with integer track ids (see :attr:`track_names`)."""
        if not (self.path / "labels_ftid").is_dir():
            raise DatasetError(f"{self.path}: no labels_ftid/ folder (tracking ground truth)")
        key = ("tracks", tolerance)
        if key not in self._cache:
            boxes, names = self._read("labels_ftid", tolerance)
            self._cache[key] = boxes
            self._cache["track_names"] = names
        return self._cache[key]

    @property
    def track_names(self) -> dict[int, str]:
        """Integer track id -> the original string id of ``labels_ftid/``.

        Ids follow ``spermtrack.json``'s mapping when the folder has one (so
        ids written by :func:`write_video` come back unchanged), else the order
        of first appearance (frame by frame, line by line) from 0.
        """
        if "track_names" not in self._cache:
            self.tracks()
        return dict(self._cache["track_names"])

    def _read(self, sub: str, tolerance: float) -> tuple[Boxes, dict[int, str] | None]:
        index = self._label_index(sub)
        num_frames = self.num_frames
        frames = sorted(index)
        beyond = [f for f in frames if f >= num_frames]
        if beyond:
            raise DatasetError(
                f"{index[beyond[0]]}: label file for frame {beyond[0]}, which has no image "
                f"(the video has {num_frames} frames, 0..{num_frames - 1})"
            )
        w, h = self.image_size
        paths = [index[f] for f in frames]
        known = self.meta.get("track_names")
        if known is not None and (
            not isinstance(known, dict) or not all(str(k).lstrip("-").isdigit() and isinstance(v, str) for k, v in known.items())
        ):
            raise FormatError('"track_names" must map integer ids to string ids, e.g. {"0": "ck..."}', self.path / SIDECAR)
        return read_label_files(
            paths,
            np.asarray(frames, np.int64),
            num_frames,
            (w, h),
            tracked=sub == "labels_ftid",
            tolerance=tolerance,
            known_names=known,
        )


# =========================================================================== writing


def write_video(
    root: str | os.PathLike,
    vid: str | int,
    boxes: Boxes,
    frames: Iterable[np.ndarray] | None = None,
    fps: float = 50.0,
    image_size: tuple[int, int] | None = None,
    track_names: Mapping[int, str] | None = None,
    mp4: bool = True,
    jpeg_quality: int = 95,
    overwrite: bool = False,
    tolerance: float = COORD_TOLERANCE,
) -> Path:
    """Write one video in the VISEM-Tracking layout, atomically.

    Writes ``<root>/<vid>/`` with ``images/`` (when ``frames`` are given),
    ``labels/``, ``labels_ftid/`` (when every box has a track id),
    ``<vid>.mp4`` (H.264, when ``frames`` are given and ``mp4``) and
    ``spermtrack.json``. The folder is assembled under a hidden temporary name
    and renamed at the end, so an interrupted write never looks like a video.

    Parameters
    ----------
    root : path-like
        Dataset folder (created if needed).
    vid : str or int
        Video id: the folder name and file prefix.
    boxes : Boxes
        Pixel boxes, 0-based frames; ``num_frames`` frames are written.
    frames : iterable of uint8 (H, W, 3) BGR arrays, optional
        Streamed one by one (memory stays one frame); must yield at least
        ``boxes.num_frames`` frames (all of them are written).
    fps : float
        Frame rate of the mp4 and in ``spermtrack.json``.
    image_size : (width, height), optional
        Needed to normalise labels; defaults to the first frame's size, or 640x480 without frames.
    track_names : mapping int -> str, optional
        String ids for ``labels_ftid``; default :func:`labelbox_id` of each id.
    mp4 : bool
        Also encode ``<vid>.mp4``.
    jpeg_quality : int
        0-100, for ``images/``.
    overwrite : bool
        Replace an existing ``<root>/<vid>`` (only once the new one is complete).
    tolerance : float
        As for reading: boxes whose normalised centre is outside [0, 1] by more
        than this are refused (:class:`~spermtrack.errors.BoxesError`).

    Returns
    -------
    Path
        The video folder.

    Notes
    -----
    Label files are written only for frames with boxes (as the released data
    does), numbers as Python's shortest round-trip ``repr``; reading them
    back gives the same float32 pixels up to float64 rounding (< 1e-9 px).
    """
    vid = str(vid)
    root = Path(root)
    if not vid or "/" in vid or "\\" in vid or vid.startswith("."):
        raise ParameterError(f"invalid video id {vid!r}")
    frame_iter = iter(frames) if frames is not None else None
    first = None
    if frame_iter is not None:
        first = next(frame_iter, None)
        if first is None:
            raise VideoError(f"{root / vid}: frames is empty")
        first = _as_bgr(first, 0, root / vid)
        size = (int(first.shape[1]), int(first.shape[0]))
        if image_size is not None and tuple(int(s) for s in image_size) != size:
            raise VideoError(f"{root / vid}: image_size is {tuple(image_size)} but frame 0 is {size[0]}x{size[1]}")
        image_size = size
    image_size = (640, 480) if image_size is None else (int(image_size[0]), int(image_size[1]))

    tracked = len(boxes) > 0 and bool(np.all(boxes.track_id != UNTRACKED))
    if len(boxes) and not tracked and np.any(boxes.track_id != UNTRACKED):
        raise BoxesError("some boxes have a track id and some do not: labels_ftid needs one for every box")
    names = track_names_for(vid, boxes, track_names) if tracked else {}
    label_lines, ftid_lines = format_label_lines(boxes, image_size, names, tolerance)

    with atomic_dir(root / vid, overwrite=overwrite) as tmp:
        write_label_files(tmp / "labels", vid, boxes, label_lines, "{vid}_frame_{i}.txt")
        if tracked or len(boxes) == 0:
            write_label_files(tmp / "labels_ftid", vid, boxes, ftid_lines, "{vid}_frame_{i}_with_ftid.txt")
        num_frames = boxes.num_frames
        if frame_iter is not None:
            n = _write_frames(tmp, vid, first, frame_iter, image_size, fps, mp4, jpeg_quality)
            if n < boxes.num_frames:
                raise VideoError(f"{root / vid}: frames gave {n} frames but the boxes cover {boxes.num_frames}")
            num_frames = n
        meta = {
            "format": "VISEM-Tracking layout, written by spermtrack",
            "video_id": vid,
            "num_frames": int(num_frames),
            "fps": float(fps),
            "image_size": list(image_size),
            "track_names": {str(k): v for k, v in sorted(names.items())},
        }
        with atomic_open(tmp / SIDECAR) as fh:
            json.dump(meta, fh, indent=1)
    return root / vid


def _as_bgr(img, i: int, where: Path) -> np.ndarray:
    img = np.asarray(img)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.dtype == np.uint8 else img
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise VideoError(f"{where}: frame {i} must be uint8 (H, W, 3) BGR, got {img.dtype} {img.shape}")
    return img


def _write_frames(tmp: Path, vid: str, first: np.ndarray, rest: Iterator, size, fps, mp4: bool, quality: int) -> int:
    from .video import VideoWriter

    images = tmp / "images"
    images.mkdir()
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    writer = VideoWriter(tmp / f"{vid}.mp4", fps=fps, size=size) if mp4 else None
    n = 0
    try:
        img = first
        while img is not None:
            if n:
                img = _as_bgr(img, n, tmp.parent / vid)
                if (img.shape[1], img.shape[0]) != tuple(size):
                    raise VideoError(
                        f"{tmp.parent / vid}: frame {n} is {img.shape[1]}x{img.shape[0]}, frame 0 is {size[0]}x{size[1]}"
                    )
            name = images / f"{vid}_frame_{n}.jpg"
            if not cv2.imwrite(str(name), img, params):
                raise VideoError(f"{name}: could not write the image")
            if writer is not None:
                writer.write(img)
            n += 1
            img = next(rest, None)
    except BaseException as exc:
        if writer is not None:
            writer.__exit__(type(exc), exc, exc.__traceback__)
        raise
    if writer is not None:
        writer.close()
    return n
