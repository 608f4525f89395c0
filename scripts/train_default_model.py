"""Reproduce spermtrack's shipped default detector (spermtrack/data/spermyolo_p3.{pt,onnx}).

Steps (each skipped when its output exists, so an interrupted run resumes):

1. simulate the training set: ``spermtrack simulate DATA --videos 100 --frames 100 --seed 2026
   --look mixed --no-mp4`` (80 training / 20 validation videos, both looks, VISEM densities);
2. train ``spermyolo_p3.yaml`` from scratch with ultralytics (offline, strong photometric
   augmentation, every 8th training frame, a wall-clock budget in hours);
3. export ONNX (static 480x640 input) and, with ``--install``, copy both files into
   ``spermtrack/data/``;
4. score the model (through the ONNX/OpenCV path users get) and the classical detector on all
   frames of the validation videos, per look (``OUT/default_model_eval.json``), and with
   ``--test ROOT`` on every video of a held-out simulated set (``OUT/default_model_test.json``;
   made with ``spermtrack simulate ROOT --videos 12 --frames 100 --seed 777 --look mixed``).

    python scripts/train_default_model.py --data /tmp/sim --out runs/default --hours 1.2 --device cpu --install

The shipped model was made on 2 CPU cores in two stages with ``--finetune-data`` (the exact
commands, seeds, times and scores are in spermtrack/data/MODEL_CARD.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def simulate(data: Path, videos: int, frames: int, seed: int, workers: int, prefix: str = "sim", look: str = "mixed") -> None:
    if (data / "split.json").is_file():
        print(f"[1/4] training set exists: {data}")
        return
    code = (
        "from spermtrack.simulate import simulate_dataset; "
        f"simulate_dataset({str(data)!r}, n_videos={videos}, num_frames={frames}, seed={seed}, look={look!r}, "
        f"workers={workers}, mp4=False, prefix={prefix!r})"
    )
    print(f'[1/4] {sys.executable} -c "{code}"', flush=True)
    subprocess.run([sys.executable, "-c", code], check=True)


def mix_root(out: Path, old: Path, new: Path, old_videos: int) -> Path:
    """A VISEM-layout root of links: the first ``old_videos`` training videos of ``old`` and all of ``new``.

    Validation = ``new``'s validation videos, so the best epoch is chosen on the newest rendering.
    """
    from spermtrack.io.visem import VisemDataset

    mix = out / "mix"
    mix.mkdir(parents=True, exist_ok=True)
    a, b = VisemDataset(old), VisemDataset(new)
    train = list(a.split("train"))[:old_videos] + list(b.split("train"))
    val = list(b.split("val"))
    for vid in train + val:
        link = mix / vid
        if not link.exists():
            link.symlink_to((a.video(vid) if vid in a else b.video(vid)).path.resolve(), target_is_directory=True)
    (mix / "split.json").write_text(json.dumps({"train": train, "val": val}, indent=1))
    return mix


def calibrated(root: Path, enabled: bool) -> Path:
    """``root`` itself, or (``--calibrate``) its copy as the self-calibration presents it (made once)."""
    if not enabled:
        return root
    out = root.with_name(root.name + "-calibrated")
    if not (out / "calibration.json").is_file():
        from spermtrack.detect.train import calibrated_copy

        print(f"      self-calibrated copy of {root} -> {out}", flush=True)
        calibrated_copy(root, out)
    return out


def finetune(stage1: Path, root: Path, out: Path, hours: float, args) -> Path:
    """Stage 2: continue training the stage-1 weights on ``root`` (no warm-up, lower learning rate)."""
    from spermtrack.detect.train import train

    return train(
        root,
        model=stage1,
        epochs=args.epochs,
        imgsz=640,
        batch=args.batch,
        device=args.device,
        out=out,
        name="spermyolo_p3_ft",
        seed=args.seed,
        workers=args.workers,
        frame_step=args.finetune_frame_step,
        val_frame_step=20,
        export_onnx=True,
        time=hours,
        close_mosaic=2,
        patience=100,
        nbs=args.batch,
        warmup_epochs=0.0,
        optimizer="AdamW",
        lr0=0.001,
        augment=photometric(args),
    )


def photometric(args):
    """The training's photometric augmentation: spermtrack's defaults with the ranges given on the command line."""
    from spermtrack.detect.augment import PhotometricAugment

    given = {
        "blur_p": args.blur_p,
        "blur_sigma": args.blur_sigma,
        "illumination": args.illumination,
        "noise_sigma": args.noise_sigma,
    }
    return PhotometricAugment(**{k: tuple(v) if isinstance(v, list) else v for k, v in given.items() if v is not None})


def looks(data: Path, ids: list[str]) -> dict[str, str]:
    out = {}
    for vid in ids:
        meta = json.loads((data / vid / "truth" / "simulation.json").read_text())
        out[vid] = meta["look"]["name"] if isinstance(meta.get("look"), dict) else str(meta.get("look"))
    return out


def evaluate(data: Path, onnx: Path, out: Path, split: str = "val") -> dict:
    """AP of the model (ONNX via OpenCV, conf 0.001) and of the classical detector on every frame of a split, per look."""
    from spermtrack.detect import ClassicalDetector, get_detector, run_detector
    from spermtrack.evaluate import detection_many
    from spermtrack.io.visem import VisemDataset

    ds = VisemDataset(data)
    val = list(ds.video_ids) if split == "all" else list(ds.split(split))
    look_of = looks(data, val)
    detectors = {"default (ONNX)": lambda: get_detector(f"onnx:{onnx}", conf=0.001), "classical": ClassicalDetector}
    results: dict = {"videos": look_of}
    for name, make in detectors.items():
        per_video, t_total, n_total = {}, 0.0, 0
        for vid in val:
            video = ds.video(vid)
            gt = video.labels()
            t0 = time.perf_counter()
            with video.open_frames() as src:
                det = run_detector(make(), src, batch_size=16)
            t_total += time.perf_counter() - t0
            n_total += det.num_frames
            n = max(gt.num_frames, det.num_frames)
            per_video[vid] = (gt.replace(num_frames=n), det.replace(num_frames=n))
        entry = {"frames_per_s": round(n_total / t_total, 1)}
        for look in (*sorted(set(look_of.values())), "all"):
            sel = {v: p for v, p in per_video.items() if look == "all" or look_of[v] == look}
            if not sel:
                continue
            s = detection_many(sel)
            a = detection_many(sel, agnostic=True)
            entry[look] = {
                **{k: round(float(v), 4) for k, v in s.metrics().items()},
                "AP50_class_agnostic": round(float(a.mAP50), 4),
            }
            entry[look]["videos"] = len(sel)
            entry[look]["per_class"] = {c: {k: round(float(v), 4) for k, v in m.items()} for c, m in s.per_class.items()}
        results[name] = entry
        print(f"  {name}: " + ", ".join(f"{lk} mAP50 {entry[lk]['mAP50']:.3f}" for lk in (*sorted(set(look_of.values())), "all")))
    results["data"], results["split"] = str(data), split
    name = "default_model_eval.json" if split == "val" else "default_model_test.json"
    tmp = out / (name + ".tmp")
    tmp.write_text(json.dumps(results, indent=2))
    os.replace(tmp, out / name)
    print(f"wrote {out / name}")
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="simulated training set (created if missing)")
    ap.add_argument("--out", type=Path, required=True, help="run folder")
    ap.add_argument("--videos", type=int, default=100)
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--sim-seed", type=int, default=2026)
    ap.add_argument("--seed", type=int, default=0, help="training seed")
    ap.add_argument("--hours", type=float, default=1.2, help="training wall-clock budget (ultralytics 'time')")
    ap.add_argument("--epochs", type=int, default=40, help="epochs if the time budget allows (the schedule follows --hours)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--frame-step", type=int, default=8)
    ap.add_argument("--val-frame-step", type=int, default=25)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--install", action="store_true", help="copy best.pt / best.onnx into spermtrack/data/")
    ap.add_argument("--eval-only", action="store_true", help="skip training: score the existing run")
    ap.add_argument("--finetune-data", type=Path, default=None, help="stage 2: a set made with the current renderer (created)")
    ap.add_argument("--finetune-hours", type=float, default=0.4)
    ap.add_argument("--finetune-videos", type=int, default=40, help="videos of the --finetune-data set it simulates")
    ap.add_argument("--finetune-frames", type=int, default=80, help="frames per video of the --finetune-data set")
    ap.add_argument("--finetune-look", default="mixed", help="look of the --finetune-data set it simulates")
    ap.add_argument(
        "--calibrate",
        action="store_true",
        help="self-calibration in the loop: train and score on copies of the sets as the per-video self-calibration "
        "presents them to the model (inverted, rescaled; spermtrack.detect.train.calibrated_copy)",
    )
    ap.add_argument("--finetune-frame-step", type=int, default=10, help="every N-th training frame in the fine-tune")
    ap.add_argument("--finetune-old-videos", type=int, default=40, help="stage-1 training videos mixed into stage 2")
    ap.add_argument("--test", type=Path, default=None, help="a held-out simulated root to score on too (all its videos)")
    ap.add_argument(
        "--export-imgsz",
        default="352,480",
        help="static ONNX input height,width: the self-calibration brings heads to ~17 px, so 640x480 frames fit 352x480",
    )
    ap.add_argument("--look", default="mixed", help="look of the --data set (any look spermtrack simulate --look takes)")
    ap.add_argument(
        "--continue-from",
        type=Path,
        default=None,
        help="skip stage 1: fine-tune these weights (e.g. the shipped spermyolo_p3.pt) with --finetune-data",
    )
    ap.add_argument("--blur-p", type=float, default=None, help="PhotometricAugment: probability of a defocus blur")
    ap.add_argument("--blur-sigma", type=float, nargs=2, default=None, metavar=("LO", "HI"), help="its sigma range, px")
    ap.add_argument(
        "--illumination", type=float, nargs=2, default=None, metavar=("LO", "HI"), help="uneven illumination's amplitude range"
    )
    ap.add_argument(
        "--noise-sigma", type=float, nargs=2, default=None, metavar=("LO", "HI"), help="sensor noise sigma range, grey levels"
    )
    args = ap.parse_args(argv)
    os.environ.setdefault("YOLO_OFFLINE", "1")

    simulate(args.data, args.videos, args.frames, args.sim_seed, args.workers, look=args.look)
    data = calibrated(args.data, args.calibrate)
    run_dir = args.out / "spermyolo_p3"
    best = run_dir / "weights" / "best.pt"
    if args.continue_from is not None:
        if args.finetune_data is None:
            ap.error("--continue-from needs --finetune-data")
        # copy the starting weights: ultralytics must not resume or overwrite the shipped file
        run_dir.joinpath("weights").mkdir(parents=True, exist_ok=True)
        best = run_dir / "weights" / "start.pt"
        if not best.is_file():
            shutil.copyfile(args.continue_from, best)
    elif not args.eval_only and not best.is_file():
        from spermtrack.detect.train import train

        print(f"[2/4] training spermyolo_p3.yaml for {args.hours} h on {args.device}", flush=True)
        best = train(
            data,
            model="spermyolo_p3.yaml",
            epochs=args.epochs,
            imgsz=640,
            batch=args.batch,
            device=args.device,
            out=args.out,
            name="spermyolo_p3",
            seed=args.seed,
            workers=args.workers,
            frame_step=args.frame_step,
            val_frame_step=args.val_frame_step,
            export_onnx=True,
            augment=photometric(args),
            time=args.hours,
            close_mosaic=2,
            patience=100,
            # a short CPU budget allows few iterations: one optimizer step per batch (ultralytics
            # otherwise accumulates to 64 images) and a short warm-up
            nbs=args.batch,
            warmup_epochs=0.5,
            optimizer="AdamW",
            lr0=0.002,
        )
    if args.finetune_data is not None:
        # the simulator's rendering kept improving after the first training set was made: stage 2
        # continues on a mix of the first set and a set made with the current renderer
        simulate(
            args.finetune_data,
            args.finetune_videos,
            args.finetune_frames,
            args.sim_seed + 1,
            args.workers,
            prefix="new",
            look=args.finetune_look,
        )
        ft_best = args.out / "spermyolo_p3_ft" / "weights" / "best.pt"
        if not ft_best.is_file():
            root = mix_root(args.out, data, calibrated(args.finetune_data, args.calibrate), args.finetune_old_videos)
            print(f"[2b/4] fine-tuning for {args.finetune_hours} h on {root}", flush=True)
            ft_best = finetune(best, root, args.out, args.finetune_hours, args)
        best = ft_best
    onnx = best.with_suffix(".onnx")
    if not onnx.is_file():
        from spermtrack.detect.train import export_to_onnx

        onnx = export_to_onnx(best, imgsz=tuple(int(v) for v in args.export_imgsz.split(",")))
    print(f"[3/4] weights: {best} ({best.stat().st_size / 1e6:.2f} MB), {onnx} ({onnx.stat().st_size / 1e6:.2f} MB)")
    if args.install:
        data_dir = REPO / "spermtrack" / "data"
        shutil.copyfile(best, data_dir / "spermyolo_p3.pt")
        shutil.copyfile(onnx, data_dir / "spermyolo_p3.onnx")
        print(f"      installed into {data_dir}")
    print("[4/4] scoring on the validation videos", flush=True)
    evaluate(data, onnx, args.out)
    if args.test is not None:
        print(f"      and on every video of the held-out set {args.test}", flush=True)
        evaluate(calibrated(args.test, args.calibrate), onnx, args.out, split="all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
