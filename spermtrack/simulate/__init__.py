"""Realistic synthetic sperm videos with exact ground truth, in the VISEM-Tracking layout.

- :func:`simulate_video` (seed, num_frames, ...) -> :class:`SimulatedVideo`: boxes with
  track ids, lazily rendered frames, true head centres and per-track truth (model parameters
  and true CASA values);
- :func:`simulate_dataset` (out, n_videos, num_frames, seed, ...) writes many videos in the
  VISEM-Tracking layout plus ``<vid>/truth/`` and ``split.json``;
- :class:`Swimmer`: a cell with given parameters ("digital twin");
- :class:`Look` and :class:`Camera`: the appearance of a video (families "phase", "bright",
  "brightfield", "negative-phase"; ``look="random"`` draws one, a camera, a frame size and a
  head size).

Models, parameters and their sources: docs/simulator.md.
"""

from .camera import Camera
from .look import Look
from .motion import Swimmer
from .params import WHO_CLASSES, MotionParams, SceneParams
from .video import SimulatedVideo, simulate_video

__all__ = [
    "simulate_video",
    "simulate_dataset",
    "SimulatedVideo",
    "Swimmer",
    "MotionParams",
    "SceneParams",
    "Look",
    "Camera",
    "WHO_CLASSES",
]


def __getattr__(name):
    if name == "simulate_dataset":
        from .dataset import simulate_dataset

        return simulate_dataset
    raise AttributeError(name)
