"""The tracker's fast paths give what the plain paths give, row for row and bit for bit.

- ``Tracker.update`` on the frames of ``Boxes.iter_frames`` (rows taken in place, the
  kernel's entry point) against ``update`` on standalone copies of the same frames;
- ``Tracker.update_many`` against ``update`` frame by frame;
- ``assemble_postprocess`` (one Numba pass) against ``postprocess(assemble(...))``;
- ``argsort_into`` (insertion sort first) against the Shell sort's order, ties included.
"""

import numpy as np
import pytest

from spermtrack import Boxes
from spermtrack.boxes import COLUMNS
from spermtrack.detect.ground_truth import GroundTruthDetector
from spermtrack.errors import BoxesError
from spermtrack.simulate import simulate_video
from spermtrack.track import Tracker, TrackerConfig
from spermtrack.track.calibrate import params_for
from spermtrack.track.core import State, assemble
from spermtrack.track.costs import _SHELL_GAPS, argsort_into
from spermtrack.track.postprocess import assemble_postprocess, postprocess

FPS = 30.0


@pytest.fixture(scope="module")
def dets():
    video = simulate_video(seed=11, num_frames=90, density=25)
    d = GroundTruthDetector(video.boxes, miss=0.1, fp_per_frame=1.0, jitter_px=1.0, score_noise=0.2, seed=11).degrade()
    # whole-pixel corners: many equal centres (ties in every sort)
    return d.replace(x1=np.round(d.x1), y1=np.round(d.y1), x2=np.round(d.x2), y2=np.round(d.y2))


def standalone(b: Boxes) -> Boxes:
    """A frame as its own table (copied columns), as a detector would hand it over."""
    return Boxes(*[getattr(b, name).copy() for name in COLUMNS], num_frames=b.num_frames)


def assert_same(a: Boxes, b: Boxes) -> None:
    assert a.num_frames == b.num_frames
    for name, dtype in COLUMNS.items():
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype == dtype, name
        assert np.array_equal(x, y), name


CONFIGS = [None, TrackerConfig(self_calibrate=False), TrackerConfig(warmup_frames=7)]


@pytest.mark.parametrize("config", CONFIGS)
def test_update_on_frames_in_place_equals_standalone_frames(dets, config):
    fast, plain = Tracker(FPS, config), Tracker(FPS, config)
    for f, b in dets.iter_frames():
        if f % 17 == 5:  # frames not given: tracked as frames without boxes
            continue
        out_fast = fast.update(b)
        out_plain = plain.update(standalone(b))
        assert len(out_fast) == len(out_plain)
        assert_same(out_fast, out_plain)
        if f % 30 == 0:
            assert_same(fast.finish(), plain.finish())
    assert_same(fast.finish(), plain.finish())
    assert_same(fast.finish(postprocess=True), plain.finish(postprocess=True))
    assert fast._fast_src is not None and plain._fast_src is None  # the path under test ran


def test_update_outputs_are_the_callers(dets):
    # writing into what update() returned must not change what the tracker remembers
    tr, ref = Tracker(FPS, TrackerConfig(self_calibrate=False)), Tracker(FPS, TrackerConfig(self_calibrate=False))
    saved = dets.copy()
    for _, b in dets.iter_frames():
        out = tr.update(b)
        ref.update(b)
        out.track_id[:] = 99
        out.cls[:] = 7
    assert_same(tr.finish(), ref.finish())
    assert_same(dets, saved)  # the input table is untouched


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("batch", [1, 4, 13])
def test_update_many_equals_update(dets, config, batch):
    per, many = Tracker(FPS, config), Tracker(FPS, config)
    outs_per, outs_many = [], []
    first = 0
    while first < dets.num_frames:
        count = min(batch, dets.num_frames - first)
        if first % 26 == 2:  # skip a few frames now and then
            first += 1
            continue
        outs_many.append(many.update_many(dets, first, count))
        for f in range(first, first + count):
            o = per.update(dets.at_frame(f) if len(dets.at_frame(f)) else Boxes.empty(f + 1))
            if len(o):
                outs_per.append(o)
        first += count
    a = Boxes.concat([o for o in outs_many if len(o)])
    b = Boxes.concat(outs_per)
    for name in COLUMNS:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert many.frame == per.frame
    assert_same(many.finish(), per.finish())
    assert_same(many.finish(postprocess=True), per.finish(postprocess=True))


def test_update_many_checks_its_arguments(dets):
    tr = Tracker(FPS)
    tr.update_many(dets, 0, 10)
    with pytest.raises(BoxesError, match="frames must increase"):
        tr.update_many(dets, 5, 3)
    with pytest.raises(BoxesError, match="Boxes"):
        tr.update_many(np.zeros(3), 20, 3)
    with pytest.raises(ValueError, match="count"):
        tr.update_many(dets, 20, -1)


def test_bad_row_in_place_names_the_row_of_its_frame(dets):
    x1 = dets.x1.copy()
    f = 40
    a = int(dets.frame_offsets[f])
    x1[a + 2] = np.nan
    bad = Boxes(dets.frame, x1, dets.y1, dets.x2, dets.y2, dets.score, dets.cls, num_frames=dets.num_frames, validate=False)
    tr = Tracker(FPS, TrackerConfig(self_calibrate=False))
    for g, b in bad.iter_frames():
        if g == f:
            before = tr.finish()
            with pytest.raises(BoxesError, match=rf"row 2 \(frame {f}\)"):
                tr.update(b)
            assert tr.frame == f - 1
            assert_same(tr.finish(), before)  # unchanged
            break
        tr.update(b)


@pytest.mark.parametrize(
    "config",
    [
        TrackerConfig(),
        TrackerConfig(min_track_s=0.0),
        TrackerConfig(interpolate_s=0.0),
        TrackerConfig(min_track_s=0.0, interpolate_s=0.0),
        TrackerConfig(interpolate_s=0.5),
        TrackerConfig(gap_close_s=0.3),
        TrackerConfig(min_track_score=0.0),
        TrackerConfig(min_track_score=0.85),
        TrackerConfig(min_track_score=0.85, gap_close_s=0.3),
    ],
)
def test_assemble_postprocess_equals_the_steps(dets, config):
    params, _ = params_for(config, FPS, dets)
    n = len(dets)
    ids, cls = np.empty((2, n), np.int64), np.empty(n, np.int16)
    State(params.order).advance(params.prm, dets, dets.num_frames, ids, cls)
    assert_same(assemble_postprocess(dets, ids[0], ids[1], params), postprocess(assemble(dets, ids[0], ids[1]), params))


def test_min_track_score_drops_the_tracks_of_doubted_boxes_in_both_paths(dets):
    # the fixture's true boxes score N(0.9, 0.2) (clipped at 1), its false ones N(0.3, 0.2): a stricter mean drops tracks
    kept = {}
    for thr in (0.0, 0.4, 0.85):
        params, _ = params_for(TrackerConfig(min_track_score=thr), FPS, dets)
        ids, cls = np.empty((2, len(dets)), np.int64), np.empty(len(dets), np.int16)
        State(params.order).advance(params.prm, dets, dets.num_frames, ids, cls)
        fast = assemble_postprocess(dets, ids[0], ids[1], params)
        real = fast.score > 0  # interpolated boxes score 0
        _, dense, _, off = fast.filter(real).groups()
        means = np.bincount(dense, weights=fast.score[real].astype(np.float64)) / np.diff(off)
        assert means.min() >= thr
        kept[thr] = len(fast.unique_tracks())
    assert kept[0.0] >= kept[0.4] > kept[0.85] > 0, kept


def test_assemble_postprocess_without_tracks():
    b = Boxes.from_cxcywh([0, 3], [[10, 10, 5, 5], [50, 50, 5, 5]], num_frames=6)
    params, _ = params_for(TrackerConfig(self_calibrate=False), FPS, b)
    none = np.full(2, -1, np.int64)
    assert_same(assemble_postprocess(b, none, none, params), postprocess(assemble(b, none, none), params))


def shell_order(a: np.ndarray) -> np.ndarray:
    """The Shell sort of argsort_into before its insertion-sort path (reference)."""
    idx = list(range(len(a)))
    for gap in _SHELL_GAPS:
        for i in range(gap, len(a)):
            k, v, j = idx[i], a[idx[i]], i
            while j >= gap and a[idx[j - gap]] > v:
                idx[j] = idx[j - gap]
                j -= gap
            idx[j] = k
    return np.array(idx, np.int64)


@pytest.mark.parametrize("n", [0, 1, 2, 7, 65, 96, 97, 300])
@pytest.mark.parametrize("ties", [False, True])
def test_argsort_into_keeps_the_shell_order(n, ties):
    rng = np.random.default_rng(n + 1000 * ties)
    for _ in range(20):
        a = rng.integers(0, max(n // 3, 1), n).astype(np.float64) if ties else rng.normal(size=n)
        idx = np.empty(n, np.int64)
        argsort_into(a, n, idx)
        assert np.array_equal(idx, shell_order(a))
