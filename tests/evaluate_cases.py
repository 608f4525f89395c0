"""Ground truth / hypothesis pairs for the evaluation tests, made here (nothing downloaded).

- :func:`swimming_case`: sperm-like tracks (random walks with drift, births and deaths,
  three classes) and a tracker-like hypothesis (jitter, misses, identity breaks and
  swaps, false positives, class confusions).
- :func:`tie_case`: boxes on a coarse grid with few sizes, so that many IoUs are
  exactly equal, frames are often empty and some boxes have zero area.
"""

from __future__ import annotations

import numpy as np

from spermtrack import Boxes


def _boxes(rows, num_frames: int, with_score: bool = False) -> Boxes:
    a = np.asarray(rows, dtype=np.float64).reshape(-1, 8)
    return Boxes.from_unsorted(
        a[:, 0],
        a[:, 2],
        a[:, 3],
        a[:, 4],
        a[:, 5],
        score=a[:, 6] if with_score else None,
        cls=a[:, 7],
        track_id=a[:, 1],
        num_frames=num_frames,
    )


def swimming_case(seed: int, num_frames: int = 40, n_tracks: int = 8, size: float = 20.0, classes: bool = True):
    """(gt, hyp) Boxes over ``num_frames`` frames; rows are ``frame, id, x1, y1, x2, y2, score, cls``."""
    rng = np.random.default_rng(seed)
    gt_rows = []
    for tid in range(n_tracks):
        start = int(rng.integers(0, num_frames))
        stop = int(rng.integers(start, num_frames)) + 1
        x, y = rng.uniform(0, 200, 2)
        heading = rng.uniform(0, 2 * np.pi)
        speed = rng.uniform(0, 4)
        w = size * rng.uniform(0.6, 1.4)
        h = size * rng.uniform(0.6, 1.4)
        cls = int(rng.choice(3, p=[0.8, 0.1, 0.1])) if classes else 0
        for f in range(start, stop):
            heading += rng.normal(0, 0.4)
            x += speed * np.cos(heading)
            y += speed * np.sin(heading)
            if rng.random() < 0.95:  # occasional unlabelled frame
                gt_rows.append((f, tid, x, y, x + w, y + h, 1.0, cls))
    hyp_rows = []
    remap = {}
    for f, tid, x1, y1, x2, y2, _, cls in gt_rows:
        if rng.random() < 0.1:
            continue  # missed
        if rng.random() < 0.03:
            remap[tid] = 1000 + int(rng.integers(0, 10_000))  # identity break from here on
        hid = remap.get(tid, tid)
        j = rng.normal(0, 2.0, 2)
        c = cls if rng.random() < 0.95 else int(rng.integers(0, 3))
        hyp_rows.append((f, hid, x1 + j[0], y1 + j[1], x2 + j[0], y2 + j[1], rng.uniform(0.2, 1.0), c))
    for _ in range(num_frames // 3):  # false positives
        f = int(rng.integers(0, num_frames))
        x, y = rng.uniform(0, 200, 2)
        hyp_rows.append(
            (f, 50_000 + int(rng.integers(0, 5)), x, y, x + size, y + size, rng.uniform(0, 0.6), int(rng.integers(0, 3)))
        )
    gt = _boxes(gt_rows, num_frames)
    hyp = _unique_ids_per_frame(_boxes(hyp_rows, num_frames, with_score=True))
    return gt, hyp


def tie_case(seed: int, num_frames: int = 12, n_gt: int = 5, n_hyp: int = 6, empty_p: float = 0.2, zero_p: float = 0.1):
    """(gt, hyp) on a 5-pixel grid with sizes 5 or 10 (and 0 with probability ``zero_p``): many exact IoU ties."""
    rng = np.random.default_rng(seed)

    def side(n_ids):
        rows = []
        for f in range(num_frames):
            if rng.random() < empty_p:
                continue
            for i in rng.choice(n_ids, int(rng.integers(1, n_ids + 1)), replace=False):
                x, y = rng.integers(0, 3, 2) * 5.0
                sizes = [10.0, 5.0, 0.0] if rng.random() < zero_p else [10.0, 5.0]
                w, h = rng.choice(sizes, 2)
                rows.append((f, i, x, y, x + w, y + h, rng.choice([0.25, 0.5, 0.75]), int(rng.integers(0, 2))))
        return _boxes(rows, num_frames, with_score=True)

    return side(n_gt), side(n_hyp)


def _unique_ids_per_frame(b: Boxes) -> Boxes:
    key = b.frame.astype(np.int64) * (int(b.track_id.max(initial=0)) + 1) + b.track_id
    _, first = np.unique(key, return_index=True)
    keep = np.zeros(len(b), bool)
    keep[first] = True
    return b.filter(keep)


def stack(pairs):
    """Several videos' (gt, hyp) one after another in time (frames never mix): the 'one long video' view."""
    gts, hyps, offset = [], [], 0
    for gt, hyp in pairs:
        n = max(gt.num_frames, hyp.num_frames)
        gts.append(gt.replace(frame=gt.frame + offset, num_frames=offset + n))
        hyps.append(hyp.replace(frame=hyp.frame + offset, num_frames=offset + n))
        offset += n
    return Boxes.concat(gts, num_frames=offset), Boxes.concat(hyps, num_frames=offset)
