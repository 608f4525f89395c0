"""The Numba Kalman kernels equal filterpy's KalmanFilter on the same full model."""

import numpy as np
import pytest
from filterpy.kalman import KalmanFilter
from track_reference import full_model, kf_update

from spermtrack.track import TrackerConfig
from spermtrack.track.kalman import kf_init, kf_predict, transition, white_noise


def _random_model(rng, order):
    F = transition(order)
    Q = np.stack([white_noise(order, rng.uniform(0.01, 20.0)) for _ in range(4)])
    R = rng.uniform(0.5, 30.0, size=4)
    P0 = np.zeros((4, order, order))
    for a in range(4):
        A = rng.normal(size=(order, order))
        P0[a] = A @ A.T + np.eye(order) * rng.uniform(0.1, 5.0)  # SPD, with cross terms
    return F, Q, R, P0


@pytest.mark.parametrize("order", [2, 3])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_filterpy_over_random_sequences(order, seed):
    rng = np.random.default_rng(seed)
    F, Q, R, P0 = _random_model(rng, order)
    Ff, H, Qf, Rf, P0f = full_model(F, Q, R, P0)
    ntracks, nsteps = 5, 60
    x = np.zeros((ntracks, 4, order))
    P = np.zeros((ntracks, 4, order, order))
    refs = []
    z0 = rng.uniform(0, 500, size=(ntracks, 4))
    for t in range(ntracks):
        kf_init(x, P, t, z0[t], P0)
        kf = KalmanFilter(dim_x=4 * order, dim_z=4)
        kf.F, kf.H, kf.Q, kf.R, kf.P = Ff, H, Qf, Rf, P0f.copy()
        kf.x = np.zeros((4 * order, 1))
        kf.x[::order, 0] = z0[t]
        refs.append(kf)
    for _ in range(nsteps):
        kf_predict(x, P, ntracks, F, Q)
        for kf in refs:
            kf.predict()
        # a random subset of tracks gets a measurement (the others coast, as missed detections)
        slots = np.flatnonzero(rng.random(ntracks) < 0.7).astype(np.int64)
        z = rng.normal(0, 1, size=(len(slots), 4)) * 5 + rng.uniform(0, 500, size=(len(slots), 4))
        kf_update(x, P, slots, z, R)
        for i, t in enumerate(slots):
            refs[t].update(z[i])
        for t, kf in enumerate(refs):
            ours_x = x[t].reshape(-1)  # axis-major, as full_model orders the state
            ours_P = np.zeros((4 * order, 4 * order))
            for a in range(4):
                ours_P[a * order : (a + 1) * order, a * order : (a + 1) * order] = P[t, a]
            np.testing.assert_allclose(ours_x, kf.x[:, 0], rtol=1e-10, atol=1e-9)
            np.testing.assert_allclose(ours_P, kf.P, rtol=1e-10, atol=1e-9)


def test_config_model_equals_filterpy_with_its_own_helpers():
    """The matrices a TrackerConfig builds are the standard CV model (filterpy's Q_discrete_white_noise)."""
    from filterpy.common import Q_discrete_white_noise

    cfg = TrackerConfig(accel_std_px_s2=5000.0)
    p = cfg.for_fps(50.0)
    var = (5000.0 / 50.0**2) ** 2
    np.testing.assert_allclose(p.Q[0], Q_discrete_white_noise(dim=2, dt=1.0, var=var), rtol=1e-12)
    np.testing.assert_array_equal(p.F, [[1.0, 1.0], [0.0, 1.0]])
    np.testing.assert_allclose(p.R[:2], cfg.meas_std_px**2)
    q3 = white_noise(3, 2.0)
    np.testing.assert_allclose(q3, Q_discrete_white_noise(dim=3, dt=1.0, var=2.0), rtol=1e-12)


def test_noises_scale_with_fps():
    """Per-second settings give per-frame noises that shrink with the frame rate as physics says."""
    cfg = TrackerConfig()
    p15, p100 = cfg.for_fps(15.0), cfg.for_fps(100.0)
    # velocity prior in px/frame scales as 1/fps
    ratio = np.sqrt(p15.P0[0, 1, 1] / p100.P0[0, 1, 1])
    assert ratio == pytest.approx(100.0 / 15.0)
    # acceleration noise in px/frame^2 scales as 1/fps^2
    assert np.sqrt(p15.Q[0, 1, 1] / p100.Q[0, 1, 1]) == pytest.approx((100.0 / 15.0) ** 2)
    floor = cfg.min_lost_frames  # a floor in frames: 0.15 s at 15 fps would be 2 frames
    assert p15.max_lost_frames == max(round(cfg.max_lost_s * 15), floor) == 3
    assert p100.max_lost_frames == round(cfg.max_lost_s * 100)


def test_filter_converges_on_constant_velocity():
    """Analytic truth: noiseless constant-velocity measurements are followed with the true velocity."""
    cfg = TrackerConfig()
    p = cfg.for_fps(50.0)
    x = np.zeros((1, 4, 2))
    P = np.zeros((1, 4, 2, 2))
    kf_init(x, P, 0, np.array([10.0, 20.0, 22.0, 24.0]), p.P0)
    for t in range(1, 80):
        kf_predict(x, P, 1, p.F, p.Q)
        kf_update(x, P, np.array([0], np.int64), np.array([[10.0 + 7.0 * t, 20.0 - 3.0 * t, 22.0, 24.0]]), p.R)
    assert x[0, 0, 1] == pytest.approx(7.0, abs=1e-3)
    assert x[0, 1, 1] == pytest.approx(-3.0, abs=1e-3)
    assert x[0, 2, 0] == pytest.approx(22.0, abs=1e-6)
