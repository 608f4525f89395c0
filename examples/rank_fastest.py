"""Rank the fastest sperm of a video.

    python examples/rank_fastest.py VIDEO --um-per-px 0.25 [--top 10] [--by vsl] [--detector auto] [--csv ranked.csv]

VIDEO is a video file, an image folder (give --fps) or a VISEM-Tracking video folder.
Without VIDEO the script first simulates a 3-second clip (--sim-frames 150) (seeded, 0.25 µm/px, 50 fps),
so it runs as written, with nothing to download.

The ranking uses the tracks that pass the kinematics quality gates (no implausible jumps,
at least --min-duration seconds long): see docs/kinematics.md for why VSL, not VCL, ranks
by default.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd

from spermtrack.pipeline import analyze


def simulated_clip(folder: Path, frames: int = 150) -> tuple[Path, float]:
    """A simulated clip written as an MP4; returns its path and µm per pixel."""
    from spermtrack.io.video import VideoWriter
    from spermtrack.simulate import simulate_video

    sim = simulate_video(seed=1, num_frames=frames, density=20)
    path = folder / "simulated.mp4"
    with VideoWriter(path, sim.fps, sim.image_size, crf=18) as writer:
        for frame in sim.frames():
            writer.write(frame)
    return path, sim.calibration.um_per_px


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("video", nargs="?", type=Path, help="video file, image folder or VISEM video folder (default: simulate one)")
    p.add_argument("--um-per-px", type=float, default=None, help="µm per pixel (without it, speeds are in px/s)")
    p.add_argument("--fps", type=float, default=None, help="frames per second (default: the video's)")
    p.add_argument("--detector", default="auto", help="auto, classical, yolo:WEIGHTS, ...")
    p.add_argument("--top", type=int, default=10, help="number of sperm to list")
    p.add_argument("--by", default="vsl", choices=("vsl", "vap", "vcl"), help="speed that ranks")
    p.add_argument(
        "--min-duration", type=float, default=None, help="shortest track that may rank, seconds (default: the library's, 0.5)"
    )
    p.add_argument("--csv", type=Path, default=None, help="also write the table as CSV")
    p.add_argument("--sim-frames", type=int, default=150, help="length of the simulated clip when no video is given")
    args = p.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        video, um_per_px = args.video, args.um_per_px
        if video is None:
            video, um_per_px = simulated_clip(Path(scratch), args.sim_frames)
            print(f"No video given: simulated {video.name} ({um_per_px} µm/px)")
        result = analyze(video, detector=args.detector, um_per_px=um_per_px, fps=args.fps, progress=True, fastest_by=args.by)
    table = result.fastest(args.top, min_duration_s=args.min_duration)
    unit = result.calibration.speed_unit
    columns = ["rank", "track_id", "vsl", "vcl", "vap", "lin", "alh_mean", "bcf", "duration_s", "first_frame", "motility"]
    shown = table[columns].rename(columns={c: f"{c} ({unit})" for c in ("vsl", "vcl", "vap")})
    print(f"\n{len(table)} fastest of {len(result.kinematics)} tracks in {result.source} (detector {result.detector}):")
    with pd.option_context("display.width", 160, "display.max_columns", 20, "display.float_format", "{:.2f}".format):
        print(shown.to_string(index=False))
    if not result.calibration.calibrated:
        print("\nUncalibrated: speeds are in px/s. Give --um-per-px (docs/calibration.md) for µm/s and WHO grades.")
    if args.csv:
        table.to_csv(args.csv, index=False)
        print(f"\nWrote {args.csv}")


if __name__ == "__main__":
    main()
