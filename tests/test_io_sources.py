"""spermtrack.io.sources: the open_frames dispatcher, its old import paths, and no change to a caller's source."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from spermtrack.io.frames import ImageSequence
from spermtrack.io.sources import WithFrameRate, open_frames
from spermtrack.io.stack import IterableFrames


def _frames(n: int = 7) -> list[np.ndarray]:
    return [np.full((24, 32, 3), 10 * i, np.uint8) for i in range(n)]


@pytest.fixture()
def folder(tmp_path):
    for i, f in enumerate(_frames()):
        cv2.imwrite(str(tmp_path / f"f_{i}.png"), f)
    return tmp_path


def test_old_import_paths_are_the_dispatcher():
    import spermtrack.io
    import spermtrack.io.frames

    assert spermtrack.io.open_frames is open_frames
    assert spermtrack.io.frames.open_frames is open_frames
    with pytest.raises(AttributeError):
        spermtrack.io.frames.no_such_name  # noqa: B018


def test_fps_on_an_open_source_leaves_it_unchanged(folder):
    src = open_frames(folder)
    assert isinstance(src, ImageSequence) and src.fps is None and src.fps_source is None
    fast = open_frames(src, fps=25)
    assert fast is not src and isinstance(fast, WithFrameRate)
    assert (fast.fps, fast.fps_source) == (25.0, "user")
    assert (src.fps, src.fps_source) == (None, None)  # the caller's object is not mutated
    assert fast.path == src.path and fast.size == src.size == (32, 24) and fast.num_frames == 7
    assert fast.files == src.files  # other attributes read through
    np.testing.assert_array_equal(np.stack(list(fast)), np.stack(_frames()))
    assert [(i, len(b)) for i, b in fast.batches(3)] == [(0, 3), (3, 3), (6, 1)]
    slow = open_frames(fast, fps=10)  # no view of a view
    assert slow.source is src and slow.fps == 10.0 and fast.fps == 25.0
    assert open_frames(fast, fps=25) is fast  # already at that rate
    assert open_frames(src) is src  # no fps: the source itself


def test_view_of_a_one_pass_source_reports_its_length_at_the_end():
    gen = open_frames(f for f in _frames(5))
    assert isinstance(gen, IterableFrames) and gen.num_frames is None
    view = open_frames(gen, fps=50)
    assert view.num_frames is None and gen.fps is None
    assert len(list(view)) == 5
    assert view.num_frames == gen.num_frames == 5
    with open_frames(gen, fps=50) as again:
        with pytest.raises(Exception, match="only once"):
            list(again)
