"""``spermtrack demo``: simulate a short clip, analyse it, print the fastest sperm and the report's path.

Needs nothing but the core install: the clip comes from the simulator (seeded, so
every run gives the same video), the detector is the built-in default
(``get_detector("auto")``: the shipped model, no download, no GPU).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

from . import add_quiet, seed_type
from ._warnings import held_reading_notes, result_warnings
from .simulate import MAX_DENSITY

#: Video id of the simulated clip (its folder under ``<out>/input/``).
DEMO_VIDEO_ID = "demo"
#: WHO grades of the simulated sperm (rapid, slow, non-progressive, immotile): a sample above
#: the WHO 6th-edition lower reference limits (progressive 30 %, total motility 42 %), so that
#: the fastest sperm are fast. The simulator's own default draws a mix at random.
DEMO_MOTILITY = (0.35, 0.20, 0.10, 0.35)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "demo",
        help="simulate a short sperm video, analyse it and write a report (no downloads, no GPU)",
        description=(
            "Simulates a short seeded clip of swimming sperm (VISEM-Tracking look, 640x480, 50 frames/s, "
            "0.25 µm/px; 35 % rapid progressive, 20 % slow, 10 % non-progressive, 35 % immotile), analyses it "
            "with the built-in default detector, prints the five fastest sperm and the path of the HTML report."
        ),
    )
    p.add_argument("-o", "--out", type=Path, default=Path("spermtrack-demo"), help="output folder (default: ./spermtrack-demo)")
    p.add_argument("--frames", type=int, default=150, metavar="N", help="length of the clip in frames (default 150 = 3 s)")
    p.add_argument("--seed", type=seed_type, default=7, metavar="S", help="simulator seed, a whole number >= 0 (default 7)")
    p.add_argument(
        "--density", type=float, default=25.0, metavar="D",
        help=f"mean sperm per frame, 0 to {MAX_DENSITY:g} (default 25; VISEM: 2-62)",
    )  # fmt: skip
    p.add_argument("--look", choices=("phase", "bright"), default="phase", help="appearance of the clip (default phase contrast)")
    p.add_argument("--detector", default="auto", help="detector (default auto: the built-in model)")
    add_quiet(p)
    p.set_defaults(func=run)


def simulate_clip(root: Path, frames: int, seed: int, density: float, look: str, progress: bool = False):
    """Simulate the demo clip and write it as a VISEM-Tracking video folder ``root/demo``.

    Returns ``(folder, simulated_video)``.
    """
    from tqdm.auto import tqdm

    from ..io.visem import write_video
    from ..simulate import simulate_video

    sim = simulate_video(seed=seed, num_frames=frames, density=density, look=look, motility=DEMO_MOTILITY)
    it = tqdm(sim.frames(), total=frames, desc="simulate", unit="frame", disable=not progress, leave=False)
    folder = write_video(
        root,
        DEMO_VIDEO_ID,
        sim.boxes,
        frames=it,
        fps=sim.fps,
        image_size=sim.image_size,
        track_names=sim.track_names,
        overwrite=True,
    )
    return folder, sim


@contextlib.contextmanager
def _scratch(out: Path):
    """A hidden folder beside ``out`` for the simulated clip until it moves into the result."""
    import shutil
    import tempfile

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.input-", dir=out.parent))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _save_with_input(result, out: Path, clip: Path, args, progress: bool) -> dict:
    """Write the analysis and the simulated clip (``input/demo/``) into ``out`` as one transaction."""
    import shutil

    from ..analysis.outputs import write_outputs
    from ..analysis.summary import build_summary
    from ..results import resolve_path, result_dir

    settings = {"frames": args.frames, "seed": args.seed, "density": args.density, "look": args.look, "detector": args.detector}
    final_clip = resolve_path(out) / "input" / DEMO_VIDEO_ID
    with result_dir(out, kind="demo", settings={**result.config.to_dict(), "demo": settings}) as tmp:
        moved = tmp / "input" / DEMO_VIDEO_ID
        moved.parent.mkdir()
        shutil.move(str(clip), str(moved))
        result.source = str(final_clip)
        summary = build_summary(result)  # summary.json names the clip where it will be
        result._summary = summary
        result.source = str(moved)  # the overlay is drawn from the clip, now inside the new result
        written = write_outputs(result, tmp, progress=progress, summary=summary)
    result.source = str(final_clip)
    return {name: out / p.relative_to(tmp) for name, p in written.items()}


def run(args: argparse.Namespace) -> int:
    from .. import jit_warmup
    from ..analysis import analyze
    from ..errors import SpermtrackError
    from .analyze import motility_line, print_fastest, progress_wanted, writable

    if args.frames < 10:
        raise SpermtrackError(f"--frames must be at least 10, got {args.frames}")
    if not 0 <= args.density <= MAX_DENSITY:
        raise SpermtrackError(f"--density must be 0 to {MAX_DENSITY:g} sperm per frame, got {args.density:g}")
    progress = progress_wanted(args)
    chatter = not args.quiet
    t0 = time.perf_counter()
    warmup = jit_warmup.start()  # first run after install: kinematics kernels compile on another core
    try:
        out = args.out
        with writable(out), _scratch(out) as scratch:
            folder, sim = simulate_clip(scratch, args.frames, args.seed, args.density, args.look, progress)
            if chatter:
                print(f"simulated {args.frames} frames (seed {args.seed})", file=sys.stderr)
            with held_reading_notes() as notes:  # printed below from result.warnings, as one line each
                result = analyze(folder, detector=args.detector, calibration=sim.calibration, progress=progress)
            cal = sim.calibration  # known exactly: the simulator drew the clip at this scale and rate
            result.calibration_origin = (
                f"the simulator's own scale: the demo clip was drawn at {cal.um_per_px:g} µm per pixel and "
                f"{cal.fps:g} frames/s (exact, not measured)"
            )
            paths = _save_with_input(result, out, folder, args, progress)
        if chatter:
            s = result.summary
            print(
                f"detector {result.detector}: {s['counts']['tracks']} tracks ({s['counts']['valid_tracks']} valid sperm tracks) "
                f"in {time.perf_counter() - t0:.1f} s",
                file=sys.stderr,
            )
        # the demo's own clip raises none; a --look it cannot read does (-q hides only the reading notes)
        result_warnings("demo", result.warnings, notes, args.quiet)
        unit = result.calibration.speed_unit
        line = motility_line(result.summary)
        if line:
            print(line)
        print(f"Five fastest sperm by VSL ({unit}):")
        print_fastest(result.fastest(5), unit, "vsl")
        print(f"Report: {paths['report.html'].resolve()}")
    finally:
        jit_warmup.finish(warmup)
    return 0
