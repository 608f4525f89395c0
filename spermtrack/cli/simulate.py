"""``spermtrack simulate OUT``: synthetic VISEM-like videos with exact ground truth."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from . import add_quiet, check_output_folder, seed_type, show_progress

#: Largest frame side ``--size`` takes, px: 4096 covers microscope cameras (VISEM 640x480, 4K
#: is 4096x2160); a 4096x4096 video takes 1.4 GB to simulate, 8192x8192 over 6 GB. Here, not in
#: spermtrack.simulate, whose import takes a second: ``spermtrack --help`` stays fast.
MAX_IMAGE_SIDE = 4096
#: Largest ``--density`` (mean labelled sperm per frame; also ``demo --density``): VISEM-Tracking
#: has 2-62, and 2000 is more than a packed 640x480 field holds (about 580 heads of 23x23 px);
#: the motion model keeps every cell of every frame in memory.
MAX_DENSITY = 2000.0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "simulate",
        help="make synthetic sperm videos with exact ground truth, in the VISEM-Tracking layout",
        description=(
            "Simulate swimming spermatozoa (WHO motility classes, head oscillation, clusters, pinheads, debris, "
            "focal-plane exits) and write them as VISEM-Tracking video folders (images/, labels/, labels_ftid/, "
            "<vid>.mp4) plus <vid>/truth/ (true head centres, per-track model parameters and CASA values) and a "
            "root split.json."
        ),
        epilog=(
            "Examples: spermtrack simulate data/sim --videos 20 --frames 1470 --seed 0   |   "
            "spermtrack simulate data/visem-like --like-visem --seed 1 --workers 2   |   "
            "spermtrack simulate data/looks --look random --videos 50 --frames 60 (every look, scale and frame size). "
            "See docs/simulator.md."
        ),
    )
    p.add_argument("out", type=Path, nargs="?", default=None, metavar="OUT", help="dataset folder to write (created)")
    p.add_argument("-o", "--out", dest="out_option", type=Path, default=None, metavar="OUT", help="the same as OUT")
    p.add_argument(
        "--videos", "-n", type=_positive_int, default=None, metavar="N", help="number of videos (default 4; 20 with --like-visem)"
    )
    p.add_argument(
        "--frames", "-f", type=_positive_int, default=None, metavar="F",
        help="frames per video (default 1470, i.e. 30 s; with --like-visem each real video's count)",
    )  # fmt: skip
    p.add_argument(
        "--seed",
        "-s",
        type=seed_type,
        default=0,
        metavar="S",
        help="dataset seed, a whole number >= 0 (default 0); same seed, same output",
    )
    p.add_argument(
        "--density", type=_density, default=None, metavar="D",
        help=f"mean labelled sperm per frame, 0 to {MAX_DENSITY:g} (VISEM: 2 to 62; default: each video takes a real video's counts)",
    )  # fmt: skip
    p.add_argument(
        "--look", choices=("phase", "bright", "brightfield", "negative-phase", "mixed", "random"), default="mixed",
        help=(
            "appearance: phase (VISEM phase contrast, bright heads), bright (VISEM's light look), brightfield (dark heads "
            "on light grey), negative-phase (dark heads in bright halos on mid grey), mixed (VISEM's two, per video), "
            "random (per video: any look, camera, and unless given frame size and head size)"
        ),
    )  # fmt: skip
    p.add_argument(
        "--size", type=_size, default=None, metavar="WxH",
        help=f"frame size in px, each side 16 to {MAX_IMAGE_SIDE}, e.g. 640x384, 698x528, 720x576, 1280x1024 "
        "(default 640x480; random with --look random)",
    )  # fmt: skip
    p.add_argument(
        "--head-px", type=float, default=None, metavar="N",
        help="magnification as the mean box side of a sperm head in px (VISEM 23; real microscopes ~8-35); boxes, cells "
        "and blur scale with it (default 23; random 8-35 with --look random; the light look's boxes hold the halo, 1.25x)",
    )  # fmt: skip
    p.add_argument(
        "--like-visem", action="store_true", help="mimic the 20 real videos: their ids, lengths, densities, official split"
    )
    p.add_argument("--workers", "-w", type=_positive_int, default=None, metavar="W", help="processes (default: number of CPUs)")
    p.add_argument(
        "--um-per-px", type=float, default=None, metavar="X",
        help="µm per pixel (default 0.25, or 5.75 / --head-px); alone it also sets the head size (5.75 µm / X px)",
    )  # fmt: skip
    p.add_argument("--fps", type=float, default=50.0, metavar="F", help="frames per second (default 50)")
    p.add_argument(
        "--hold-frames", type=_hold, default=None, metavar="LO-HI",
        help="repeated frames, as many real recordings have them: each image is shown for LO to HI frames (e.g. 2-4); "
        "the true times are in <video>/truth/frame_times.csv (default: every frame new)",
    )  # fmt: skip
    p.add_argument("--no-mp4", action="store_true", help="skip the .mp4 of each video (images and labels only)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing dataset folder as a whole with the new one (built aside, swapped in when complete; "
        "only a folder spermtrack simulate wrote all of)",
    )
    add_quiet(p)
    p.set_defaults(func=run)


def _write(out: Path, settings: dict, simulate_into, overwrite: bool) -> list[str]:
    """Simulate into ``out``: a new (or empty) root, or with ``overwrite`` a whole new one in place of the old,
    is one transaction (built aside, swapped in); videos added to an existing root are each written atomically
    under a lock on the root, and its completion marker is rewritten afterwards."""
    from ..results import MARKER, lock, resolve_path, result_dir, write_marker

    if not out.exists() or (out.is_dir() and not any(out.iterdir())):
        with result_dir(out, kind="simulation", settings={"runs": [settings]}) as tmp:
            return simulate_into(tmp, True)
    if overwrite:  # the root then holds exactly the new dataset: no video, split or summary of the old one stays
        with result_dir(out, kind="simulation", settings={"runs": [settings]}, replaceable=check_replaceable_root) as tmp:
            return simulate_into(tmp, False)
    with lock(resolve_path(out)):  # a second simulate into the same root is refused, not interleaved
        updating = out / UPDATING
        old = _root_marker(out)
        _check_root(out, old)
        runs = list(((old or {}).get("settings") or {}).get("runs") or [])
        if (out / MARKER).is_file():
            # while videos are replaced the root is not one complete result; the marker waits aside, so
            # that a run interrupted here leaves a root spermtrack still knows as its own
            os.replace(out / MARKER, updating)
        ids = simulate_into(out, overwrite)
        if old is not None:
            updating.unlink(missing_ok=True)  # first: the new marker lists every file of the root
            write_marker(out, "simulation", None, {"runs": [*runs, settings]})
        return ids


#: The completion marker of a simulated root while videos are added to it (``verify`` then calls the
#: root incomplete; a later ``simulate`` into it takes it as its own and finishes the update).
UPDATING = ".spermtrack.updating.json"


def _root_marker(out: Path) -> dict | None:
    """The root's completion marker; else the one an interrupted update set aside (:data:`UPDATING`,
    the root is still spermtrack's); else None."""
    from ..results import read_marker

    marker = read_marker(out)
    return marker if marker is not None else read_marker(out, UPDATING)


def _check_root(out: Path, marker: dict | None) -> None:
    """Refuse a non-empty root spermtrack did not write (no completion marker), or another kind of result."""
    from ..errors import OutputError
    from ..results import MARKER, preflight

    if marker is None:
        preflight(out)  # a folder holding files but no marker: refused, as by analyze and stats
    elif marker.get("kind") != "simulation":
        raise OutputError(
            f"{out}: holds a spermtrack {marker.get('kind')} result ({MARKER}), not a simulated dataset; choose another OUT"
        )


def check_replaceable_root(out: Path) -> None:
    """Refuse (:class:`~spermtrack.errors.OutputError`, naming the file) to replace a dataset root as a whole
    (``--overwrite``) unless spermtrack simulate wrote everything in it: its marker (or the one an update set
    aside), ``split.json``, ``simulation.json``, video folders the simulator wrote (:func:`check_own_video`) and
    what an interrupted write left (hidden ``.<vid>.*.part`` / ``.<vid>.old`` folders)."""
    from ..errors import OutputError
    from ..io.visem import SPLIT_FILE
    from ..results import MARKER
    from ..simulate.dataset import SIM_JSON, check_own_video

    if not out.exists():
        return
    _check_root(out, _root_marker(out))
    for entry in sorted(out.iterdir()):
        name = entry.name
        if entry.is_file() and not entry.is_symlink() and name in (MARKER, UPDATING, SPLIT_FILE, SIM_JSON):
            continue
        if entry.is_dir() and not entry.is_symlink():
            if not name.startswith("."):
                check_own_video(entry)
                continue
            if name.endswith((".part", ".old")):  # write_video's unfinished or replaced video (spermtrack.atomic)
                continue
        raise OutputError(
            f"{entry}: not a file spermtrack simulate writes; --overwrite replaces the whole dataset folder {out} and "
            "spermtrack replaces only what it wrote: move it away or choose another OUT"
        )


def _positive_int(text: str) -> int:
    v = int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return v


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in px such as 640x480, got {text!r}") from None
    if not (16 <= w <= MAX_IMAGE_SIDE and 16 <= h <= MAX_IMAGE_SIDE):
        raise argparse.ArgumentTypeError(f"each side of the frame size must be 16 to {MAX_IMAGE_SIDE} px, got {text}")
    return w, h


def _hold(text: str) -> tuple[int, int]:
    from ..simulate.timing import MAX_HOLD

    try:
        lo, _, hi = text.partition("-")
        lo_hi = (int(lo), int(hi or lo))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LO-HI whole frames such as 2-4, got {text!r}") from None
    if not 1 <= lo_hi[0] <= lo_hi[1] <= MAX_HOLD:
        raise argparse.ArgumentTypeError(f"need 1 <= LO <= HI <= {MAX_HOLD} frames, got {text}")
    return lo_hi


def _density(text: str) -> float:
    v = float(text)
    if not 0 <= v <= MAX_DENSITY:
        raise argparse.ArgumentTypeError(f"must be 0 to {MAX_DENSITY:g} sperm per frame, got {text}")
    return v


def run(args: argparse.Namespace) -> int:
    from ..calibration import Calibration
    from ..errors import ParameterError, SpermtrackError
    from ..simulate.dataset import plan_dataset, simulate_dataset

    if args.out_option is not None:
        if args.out is not None and args.out != args.out_option:
            raise ParameterError(f"give the output folder once: OUT {args.out} or -o {args.out_option}, not both")
        args.out = args.out_option
    if args.out is None:
        raise ParameterError("give the dataset folder to write: spermtrack simulate OUT (or -o OUT)")
    check_output_folder(args.out)
    if args.out.is_dir() and any(args.out.iterdir()):  # before any work: a root spermtrack did not write is refused
        _check_root(args.out, _root_marker(args.out))
    if args.um_per_px is not None and not args.um_per_px > 0:
        raise ParameterError(f"--um-per-px must be > 0, got {args.um_per_px}")
    if args.head_px is not None and not 4 <= args.head_px <= 120:
        raise ParameterError(f"--head-px must be in [4, 120] px, got {args.head_px}")
    calibration = Calibration(0.25 if args.um_per_px is None else args.um_per_px, args.fps)
    extra = {}
    if args.size is not None:
        extra["image_size"] = args.size
    if args.head_px is not None:
        extra["head_px"] = args.head_px
    if args.um_per_px is not None:
        extra["um_per_px"] = args.um_per_px
    if args.hold_frames is not None:
        extra["hold_frames"] = args.hold_frames
    n_videos = args.videos if (args.videos is not None or args.like_visem) else 4
    num_frames = args.frames if (args.frames is not None or args.like_visem) else 1470
    try:
        plans, _ = plan_dataset(n_videos, num_frames, args.seed, args.like_visem)
    except ValueError as exc:
        raise SpermtrackError(str(exc)) from None
    total = sum(p["num_frames"] for p in plans)
    existing = [p["vid"] for p in plans if (args.out / p["vid"]).exists()]
    if existing and not args.overwrite:
        raise SpermtrackError(
            f"{args.out}: video folder(s) {existing[:5]} exist; pass --overwrite to replace the dataset folder as a whole"
        )
    if args.overwrite:  # before any work: the whole root is replaced, and only when spermtrack simulate wrote all of it
        check_replaceable_root(args.out)
    bar = None
    if show_progress(args):
        from tqdm import tqdm

        bar = tqdm(total=total, unit="frame", desc=f"simulate {len(plans)} video(s)", file=sys.stderr)
    t0 = time.perf_counter()
    settings = {k: v for k, v in sorted(vars(args).items()) if k not in ("func", "verb", "quiet", "out", "out_option", "workers")}

    def simulate_into(root: Path, overwrite: bool) -> list[str]:
        return simulate_dataset(
            root,
            n_videos=n_videos,
            num_frames=num_frames,
            seed=args.seed,
            density=args.density,
            look=args.look,
            workers=args.workers,
            like_visem=args.like_visem,
            calibration=calibration,
            mp4=not args.no_mp4,
            overwrite=overwrite,
            progress=None if bar is None else bar.update,
            **extra,
        )

    try:
        ids = _write(args.out, settings, simulate_into, args.overwrite)
    except FileExistsError as exc:
        raise SpermtrackError(str(exc)) from None
    finally:
        if bar is not None:
            bar.close()
    dt = time.perf_counter() - t0
    print(
        f"wrote {len(ids)} video(s), {total} frames, to {args.out} in {dt:.1f} s ({', '.join(ids[:6])}{', ...' if len(ids) > 6 else ''})"
    )
    if args.look in ("mixed", "random"):
        from collections import Counter

        from ..simulate.dataset import dataset_looks

        drawn = Counter(v["look"] for v in dataset_looks(args.out).values())
        print("looks drawn: " + ", ".join(f"{k} {n}" for k, n in sorted(drawn.items())) + " (per video in simulation.json)")
    truth_files = "heads.csv, tracks.csv, simulation.json" + (", frame_times.csv" if args.hold_frames else "")
    print(f"train/val split in {Path(args.out) / 'split.json'}; truth in <video>/truth/ ({truth_files})")
    return 0
