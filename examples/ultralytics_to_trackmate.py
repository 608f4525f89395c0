"""An ultralytics model's results -> spermtrack tracks -> CASA kinematics -> a trackpy table and a TrackMate CSV.

    python examples/ultralytics_to_trackmate.py [--frames 100] [--out DIR] [--weights best.pt] [--device cpu]

A notebook-style script (run it cell by cell, ``# %%``, in VS Code, Spyder or Jupyter):
the workflow of a lab that already runs its own YOLO model, written out step by step.
It runs offline in seconds: it simulates a short clip with exact ground truth and runs the
model shipped in spermtrack/data (trained with ultralytics: AGPL-3.0) through ultralytics
itself. Give ``--weights`` for your own model (its class names ``sperm``, ``cluster``,
``small_or_pinhead`` are mapped by name).
"""

# ruff: noqa: E402  (notebook style: each cell imports what it uses)

# %% Settings
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from spermtrack.errors import MissingDependencyError, require

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--frames", type=int, default=100, help="length of the simulated clip (frames at 50 fps)")
parser.add_argument("--out", type=Path, default=None, help="folder for the CSV files (default: a temporary folder)")
parser.add_argument("--weights", type=Path, default=None, help="ultralytics .pt weights (default: the shipped model)")
parser.add_argument("--device", default="cpu", help="ultralytics device: cpu, 0, cuda:1, mps")
args, _ = parser.parse_known_args()  # known args only: Jupyter adds its own
try:  # ultralytics and torch come with the yolo extra
    require("ultralytics", "yolo", "examples/ultralytics_to_trackmate.py")
except MissingDependencyError as exc:
    sys.exit(f"error: {exc}")
out = args.out or Path(tempfile.mkdtemp(prefix="spermtrack_example_"))
out.mkdir(parents=True, exist_ok=True)

# %% A clip with known truth: 0.25 µm per pixel, 50 frames per second
from spermtrack.simulate import simulate_video

sim = simulate_video(seed=7, num_frames=args.frames, density=15)
calibration = sim.calibration
frames = np.stack(list(sim.frames()))  # (T, 480, 640, 3) uint8, BGR as OpenCV and ultralytics take them
print(
    f"Simulated {len(frames)} frames of {frames.shape[2]}x{frames.shape[1]} px, {calibration.um_per_px} µm/px, {calibration.fps} fps"
)

# %% Run the ultralytics model, as any ultralytics user would
from ultralytics import YOLO

from spermtrack.detect.registry import default_weights

weights = args.weights or default_weights("pt")
model = YOLO(str(weights), task="detect")
results = []
for start in range(0, len(frames), 16):  # batches of 16 frames; one Results per frame
    results += model.predict(list(frames[start : start + 16]), conf=0.25, device=args.device, verbose=False)
print(f"{Path(str(weights)).name}: {sum(len(r.boxes) for r in results)} boxes in {len(results)} frames")

# %% Into spermtrack's one table of boxes, then tracks
from spermtrack import Boxes
from spermtrack.track import track

detections = Boxes.from_ultralytics(results)  # frame i = results[i]; classes mapped by the model's names
tracks = track(detections, fps=calibration.fps)
print(f"{len(detections)} detections -> {len(tracks.unique_tracks())} tracks")

# %% How good is that against the simulator's truth?
from spermtrack.evaluate import tracking

scores = tracking(sim.boxes, tracks)
print(f"against the truth: MOTA {100 * scores.mota:.1f}, IDF1 {100 * scores.idf1:.1f}, HOTA {100 * scores.hota:.1f}")

# %% CASA kinematics (µm/s) and WHO grades
from spermtrack.kinematics import casa

kinematics = casa(tracks, calibration, image_size=(frames.shape[2], frames.shape[1]))
valid = kinematics[kinematics["quality"] == "ok"]
print(f"{len(valid)} of {len(kinematics)} tracks pass the quality gates; median VCL {valid['vcl'].median():.1f} µm/s")
print(valid["motility"].value_counts().to_string())

# %% A trackpy table: frame, x, y (pixels), particle, and x_um, y_um, t_s
table = tracks.to_trackpy(calibration)
table.to_csv(out / "tracks_trackpy.csv", index=False)
print(table[["frame", "x", "y", "particle", "x_um", "y_um", "t_s"]].head().to_string(index=False))
try:  # trackpy takes it as it is (pip install 'spermtrack[adapters]')
    import trackpy

    msd = trackpy.emsd(table, mpp=calibration.um_per_px, fps=calibration.fps, max_lagtime=10)
    print(f"trackpy ensemble MSD at {msd.index[-1]:.2f} s: {msd.iloc[-1]:.0f} µm²")
except ImportError:
    pass

# %% A CSV for Fiji's TrackMate (Plugins > Tracking > TrackMate CSV importer)
from spermtrack.interop import write_trackmate_csv

path = write_trackmate_csv(out / "tracks_trackmate.csv", tracks, calibration)
print(f"Wrote {path} ({len(tracks)} spots, positions in µm) and {out / 'tracks_trackpy.csv'}")
