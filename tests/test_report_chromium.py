"""End to end: `spermtrack demo` writes every output, and its report renders in headless Chromium.

The browser checks run Debian's chromium (installed by .ci/run); they are skipped,
with the reason shown, only where no Chromium is installed. The screenshot of the
report is written under the test's temporary folder (``report.png``).
"""

from __future__ import annotations

import contextlib
import io
import json

import cv2
import numpy as np
import pytest
from _pipeline_checks import EXPECTED_PLOTS, check_outputs, chromium, probe_report

from spermtrack.cli import main
from spermtrack.io.video import VideoWriter
from spermtrack.viz.report import write_report


def needs_chromium(test):
    """Mark a test as needing headless Chromium; skip it, saying why, where there is none."""
    skip = pytest.mark.skipif(chromium() is None, reason="no headless Chromium installed (apt-get install chromium)")
    return pytest.mark.chromium(skip(test))


DEMO_FRAMES = 75


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """``spermtrack demo`` run once: (output folder, exit code, stdout, stderr)."""
    out = tmp_path_factory.mktemp("demo") / "spermtrack-demo"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        rc = main(["demo", "--out", str(out), "--frames", str(DEMO_FRAMES), "-q"])
    return out, rc, stdout.getvalue(), stderr.getvalue()


@pytest.fixture(scope="module")
def demo_out(demo_run):
    out, rc, _, err = demo_run
    assert rc == 0, err
    return out


@pytest.mark.slow
def test_demo_writes_every_output_and_the_summary_agrees(demo_out):
    summary = check_outputs(demo_out)
    assert summary["video"]["num_frames"] == DEMO_FRAMES
    assert summary["calibration"] == {**summary["calibration"], "um_per_px": 0.25, "fps": 50.0, "calibrated": True}
    assert summary["counts"]["tracks"] > 5
    assert len(summary["fastest"]) >= 1
    assert (demo_out / "input" / "demo" / "images" / "demo_frame_0.jpg").exists()
    sidecar = json.loads((demo_out / "input" / "demo" / "spermtrack.json").read_text())
    assert sidecar["num_frames"] == DEMO_FRAMES


@pytest.mark.slow
def test_demo_prints_the_shares_the_five_fastest_and_the_report(demo_run):
    out, rc, stdout, stderr = demo_run
    assert rc == 0 and stderr == "", "--quiet: no progress bars"
    lines = stdout.splitlines()
    summary = json.loads((out / "summary.json").read_text())
    pr, (lo, hi) = summary["progressive_percent"], summary["progressive_ci95"]
    assert lines[0].startswith(
        f"WHO motility of {summary['counts']['valid_tracks']} valid sperm tracks, weighted by time in view"
    )
    assert f"PR {pr:.1f} % ({lo:.0f}-{hi:.0f})" in lines[0] and f"IM {summary['immotile_percent']:.1f} %" in lines[0]
    assert lines[1] == "Five fastest sperm by VSL (µm/s):"
    assert lines[-1] == f"Report: {(out / 'report.html').resolve()}"
    printed = [int(line.split()[1]) for line in lines[3:-1]]
    assert printed == [r["track_id"] for r in summary["fastest"]]


@pytest.mark.slow
@needs_chromium
def test_demo_report_renders_in_chromium(demo_out, tmp_path):
    shot = tmp_path / "report.png"
    probe = probe_report(demo_out / "report.html", tmp_path, screenshot=shot)
    assert probe["title"].startswith("spermtrack report")
    # every figure decoded: the motility chart next to the WHO table, the fastest sperm's paths under their
    # table and the others in the grid; the box statistics of a dataset only when the boxes are labels (not here)
    page = (demo_out / "report.html").read_text(encoding="utf-8")
    box_statistics = [n for n in EXPECTED_PLOTS if n.startswith("box_") and n != "box_area"]
    assert len(probe["images"]) == len(EXPECTED_PLOTS) - len(box_statistics)
    assert all(i["complete"] and i["w"] > 300 and i["h"] > 150 for i in probe["images"]), probe["images"]
    assert 'id="fig-top_paths"' in page and not any(f'id="fig-{n}"' in page for n in box_statistics)
    summary = json.loads((demo_out / "summary.json").read_text())
    if 'id="track-table"' in page:  # the pipeline passes its kinematics table to the report
        body = page.split('id="track-table"', 1)[1].split("</table>", 1)[0].split("<tbody>", 1)[1]
        assert body.count("<tr>") == summary["counts"]["valid_tracks"]
    assert "given by the user" not in page.split('id="glance"', 1)[1].split("</section>", 1)[0]
    video = probe["video"]
    assert probe["canplay"] in ("probably", "maybe")
    assert video["error"] is None and video["readyState"] >= 2, video  # a decoded frame is available
    assert (video["width"], video["height"]) == (640, 480)
    assert video["duration"] == pytest.approx(DEMO_FRAMES / 50.0, abs=0.05)
    assert video["src"].startswith("data:video/mp4")
    img = cv2.imread(str(shot))
    assert img is not None and img.shape[:2] == (2400, 1280)
    assert img.std() > 20, "the screenshot is not blank"
    header = img[2:12, 1000:1270].reshape(-1, 3).mean(axis=0)
    assert np.allclose(header, (61, 33, 20), atol=12), f"dark blue header expected, got BGR {header}"


@needs_chromium
def test_linked_video_plays_and_a_broken_one_is_reported(tmp_path):
    """The probe can fail: a linked valid video loads, a corrupt one reports an error."""
    summary = {"calibration": {"calibrated": False, "fps": 25.0}, "source": "x", "video": {}, "counts": {}}
    with VideoWriter(tmp_path / "good.mp4", 25, (160, 120)) as w:
        for i in range(25):
            w.write(np.full((120, 160, 3), 10 * i, np.uint8))
    page = write_report(tmp_path / "good.html", summary, video=tmp_path / "good.mp4", embed_video=False)
    probe = probe_report(page, tmp_path)
    assert probe["video"]["readyState"] >= 2 and probe["video"]["src"].startswith("file://"), probe
    assert probe["video"]["src_end"].endswith("/good.mp4")
    assert probe["video"]["duration"] == pytest.approx(1.0, abs=0.05)
    (tmp_path / "bad.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    page = write_report(tmp_path / "bad.html", summary, video=tmp_path / "bad.mp4", embed_video=True)
    probe = probe_report(page, tmp_path)
    assert probe["video"]["readyState"] < 2 and probe["video"]["event"] in ("error", "source-error"), probe
