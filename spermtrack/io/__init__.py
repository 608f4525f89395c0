"""Reading and writing: VISEM-Tracking folders, MOTChallenge files, frame sources, H.264 videos.

- :mod:`spermtrack.io.visem`: :class:`VisemDataset`, :class:`VisemVideo`, :func:`write_video`;
- :mod:`spermtrack.io.mot`: :func:`read_mot`, :func:`write_mot`;
- :mod:`spermtrack.io.sources`: :func:`open_frames` -> :class:`FrameSource` (the dispatcher;
  :mod:`spermtrack.io.frames` holds video files and image folders);
- :mod:`spermtrack.io.video`: :class:`VideoWriter`.

The formats are described, with examples, in docs/formats.md.
"""

from .frames import FrameSource, ImageSequence, VideoFile
from .mot import read_mot, write_mot
from .sources import open_frames
from .video import VideoWriter
from .visem import OFFICIAL_SPLIT, VisemDataset, VisemVideo, write_video

__all__ = [
    "FrameSource",
    "ImageSequence",
    "VideoFile",
    "open_frames",
    "read_mot",
    "write_mot",
    "VideoWriter",
    "OFFICIAL_SPLIT",
    "VisemDataset",
    "VisemVideo",
    "write_video",
]
