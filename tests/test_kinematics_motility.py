"""The immotile test under detection jitter: ``beat_rms`` keeps the head's own movement
about its average path and averages frame-to-frame jitter out.

Expected values come from the paths' construction (a sinusoid of amplitude A has rms
A / sqrt(2)) or from a plain numpy computation of the definition.
"""

from __future__ import annotations

import numpy as np
import pytest

from spermtrack import Boxes, Calibration
from spermtrack.kinematics import average_path, casa

UM = 0.25
FPS = 50.0


def kinematics(paths, fps=FPS):
    frames, cx, cy, ids = [], [], [], []
    for tid, (f, x, y) in paths.items():
        frames.append(np.asarray(f))
        cx.append(np.asarray(x, float) / UM + 100.0 + 40.0 * tid)
        cy.append(np.asarray(y, float) / UM + 240.0)
        ids.append(np.full(len(f), tid))
    frames, cx, cy, ids = (np.concatenate(a) for a in (frames, cx, cy, ids))
    order = np.argsort(frames, kind="stable")
    wh = np.full(len(frames), 20.0)
    b = Boxes.from_cxcywh(frames[order], np.stack([cx, cy, wh, wh], 1)[order], track_id=ids[order])
    return casa(b, Calibration(UM, fps)).set_index("track_id")


@pytest.mark.parametrize("jitter_px", [0.7, 1.5])
def test_jitter_does_not_make_still_cells_beat(jitter_px):
    """40 still cells (3 s) with Gaussian centre jitter: the plain rms excursion grows with
    the jitter (1.35 sigma) up to the 0.5 µm threshold; beat_rms stays far below it."""
    rng = np.random.default_rng(int(jitter_px * 10))
    n = 151
    f = np.arange(n)
    sigma = jitter_px * UM
    paths = {i + 1: (f, rng.normal(0, sigma, n), rng.normal(0, sigma, n)) for i in range(40)}
    k = kinematics(paths)
    assert k.wobble_rms.median() == pytest.approx(1.35 * sigma, rel=0.1)
    assert k.beat_rms.median() < 0.5 * sigma and (k.beat_rms < 0.3).all()  # threshold 0.5 µm
    assert (k.motility == "immotile").all()


def test_beating_in_place_reads_its_amplitude_through_jitter():
    """A head beating +-1 µm in place (8-14 Hz) under 1.5 px of jitter: beat_rms is the
    beat's rms, 1 / sqrt(2) µm, within 10 %; the cell is non-progressive. A weaker beat
    (+-0.4 µm, rms 0.28 µm: below the 0.5 µm threshold) reads immotile."""
    rng = np.random.default_rng(9)
    n = 151
    f = np.arange(n)
    t = f / FPS
    sigma = 1.5 * UM
    paths = {}
    for i, freq in enumerate((8.0, 9.5, 11.0, 12.5, 14.0)):
        beat = np.sin(2 * np.pi * freq * t + i)
        paths[i + 1] = (f, 0.3 * beat + rng.normal(0, sigma, n), beat + rng.normal(0, sigma, n))
        paths[i + 11] = (f, rng.normal(0, sigma, n), 0.4 * beat + rng.normal(0, sigma, n))
    k = kinematics(paths)
    strong = k.loc[[1, 2, 3, 4, 5]]
    np.testing.assert_allclose(strong.beat_rms, np.hypot(1.0, 0.3) / np.sqrt(2), rtol=0.1)
    assert (strong.motility == "non_progressive").all()
    weak = k.loc[[11, 12, 13, 14, 15]]
    np.testing.assert_allclose(weak.beat_rms, 0.4 / np.sqrt(2), rtol=0.3)
    assert (weak.motility == "immotile").all()


def test_beat_rms_equals_the_autocovariance_definition_with_gaps():
    """beat_rms = sqrt(max over lags k = 1..(window / 2) frames of the mean of r_i . r_j over
    the point pairs k frames apart), r = head - fitted average path, on the interior."""
    rng = np.random.default_rng(4)
    f = np.sort(rng.choice(np.arange(400), 300, replace=False))
    t = f / FPS
    x = 20 * t + 0.8 * np.sin(2 * np.pi * 7 * t) + rng.normal(0, 0.2, len(f))
    y = 0.5 * np.cos(2 * np.pi * 7 * t) + rng.normal(0, 0.2, len(f))
    got = kinematics({1: (f, x, y)}).loc[1, "beat_rms"]
    a = average_path(t - t[0], x, y, 0.5, pin_ends=False)
    inner = (t >= t[0] + 0.25) & (t <= t[-1] - 0.25)
    r = (np.stack([x, y], 1) - a)[inner]
    fi = f[inner]
    best = -np.inf
    for lag in range(1, 13):  # 0.25 s at 50 fps = 12.5 frames
        pos = {fr: i for i, fr in enumerate(fi)}
        pairs = [(i, pos[fr + lag]) for i, fr in enumerate(fi) if fr + lag in pos]
        if pairs:
            i, j = np.array(pairs).T
            best = max(best, np.mean(np.sum(r[i] * r[j], axis=1)))
    # box centres are float32: a few 1e-5 µm of rounding
    assert got == pytest.approx(np.sqrt(max(best, 0.0)), rel=1e-3, abs=1e-4)
