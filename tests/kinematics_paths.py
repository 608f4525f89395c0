"""Boxes on head paths given in µm, shared by the kinematics tests."""

import numpy as np

from spermtrack import Boxes

UM_PER_PX = 0.25


def boxes_from_paths(paths, um_per_px=UM_PER_PX, size_px=20.0, cls=0):
    """Boxes centred on the given head paths. ``paths``: {track_id: (frames, x_um, y_um)}."""
    frames, cx, cy, ids = [], [], [], []
    for tid, (f, x, y) in paths.items():
        frames.append(np.asarray(f))
        cx.append(np.asarray(x, float) / um_per_px + 320.0)
        cy.append(np.asarray(y, float) / um_per_px + 240.0)
        ids.append(np.full(len(f), tid))
    frames, cx, cy, ids = (np.concatenate(a) for a in (frames, cx, cy, ids))
    n = len(frames)
    arr = np.stack([cx, cy, np.full(n, size_px), np.full(n, size_px)], axis=1)
    order = np.argsort(frames, kind="stable")
    return Boxes.from_cxcywh(frames[order], arr[order], track_id=ids[order], cls=np.full(n, cls)[order])
