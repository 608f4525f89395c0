"""viz.report: one self-contained page built from the summary (content, embedding, escaping)."""

from __future__ import annotations

import base64
import re

import numpy as np
import pytest

from spermtrack import Boxes
from spermtrack.io.video import VideoWriter
from spermtrack.viz import plots, report


def make_summary(calibrated=True, source="/data/video_11.mp4"):
    unit = "µm/s" if calibrated else "px/s"
    pct = (lambda n: 100.0 * n / 40) if calibrated else (lambda n: None)
    return {
        "spermtrack_version": "9.9.9",
        "created": "2024-01-02T03:04:05+00:00",
        "source": source,
        "detector": "classical",
        "calibration": {
            "um_per_px": 0.25 if calibrated else None,
            "fps": 50.0,
            "length_unit": "µm" if calibrated else "px",
            "speed_unit": unit,
            "calibrated": calibrated,
            "origin": "µm per pixel given by the user; frame rate of the video",
            "note": "",
        },
        "video": {"num_frames": 300, "fps": 50.0, "duration_s": 6.0, "width": 640, "height": 480},
        "counts": {"detections": 9000, "tracked_boxes": 8800, "tracks": 52, "valid_tracks": 40, "mean_boxes_per_frame": 30.0},
        "motility": {g: {"count": n, "percent": pct(n)} for g, n in zip(plots_order(), (18, 10, 7, 5))},
        "progressive_percent": pct(28),
        "speeds": {"vcl": {"mean": 81.25, "median": 77.5}, "vsl": {"mean": 33.0, "median": 31.5}},
        "fastest_by": "vsl",
        "fastest_min_duration_s": 1.0,
        "fastest": [
            {
                "rank": 1,
                "track_id": 17,
                "vsl": 91.44,
                "vcl": 140.0,
                "vap": 99.0,
                "lin": 0.653,
                "duration_s": 2.5,
                "motility": "rapid_progressive",
            },
            {
                "rank": 2,
                "track_id": 4,
                "vsl": 80.0,
                "vcl": 120.0,
                "vap": 90.0,
                "lin": 0.667,
                "duration_s": 1.5,
                "motility": "rapid_progressive",
            },
        ],
        "tracker": {"motion": "cv", "gate": 16.0},
        "timings_s": {"decode": 1.0, "detect": 2.0, "track": 0.5, "kinematics": 0.1, "total": 3.0},
    }


def plots_order():
    return ("rapid_progressive", "slow_progressive", "non_progressive", "immotile")


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plots")
    speeds = {"vcl": np.arange(10.0), "vsl": np.arange(10.0) / 2}
    made = {
        "motility": plots.figure_motility({"immotile": 1, "rapid_progressive": 2}),
        "speeds": plots.figure_speeds(speeds, unit="µm/s"),
        "box_sizes": plots.figure_box_sizes(Boxes([0, 1], [0, 5], [0, 5], [20, 30], [25, 28])),
    }
    return {name: plots.save_figure(fig, folder / f"{name}.png") for name, fig in made.items()}


def tiny_video(path, frames=10):
    with VideoWriter(path, 50, (64, 48)) as w:
        for i in range(frames):
            w.write(np.full((48, 64, 3), 20 * i % 255, np.uint8))
    return path


def attr_values(page, attr):
    return re.findall(rf'{attr}="([^"]*)"', page)


def test_report_holds_every_section_and_the_numbers(tmp_path, figures):
    video = tiny_video(tmp_path / "overlay.mp4")
    page = report.render_report(make_summary(), plots=figures, video=video, out_dir=tmp_path, files=["tracks.txt"])
    for section in ('id="summary"', 'id="motility"', 'id="fastest"', 'id="video"', 'id="figures"', 'id="details"'):
        assert section in page
    assert "spermtrack report: video_11.mp4" in page
    assert "45.0 %" in page and "25.0 %" in page  # 18/40 rapid, 10/40 slow
    assert "91.4" in page and "65" in page  # fastest VSL, LIN as %
    assert page.count("µm/s") >= 5, "speed units stated"
    assert "0.2500 µm per pixel" in page
    assert "spermtrack 9.9.9" in page and "classical" in page
    assert '<tr class="top1">' in page
    assert 'href="tracks.txt"' in page


def test_report_gives_the_shares_intervals_and_the_who_minimum(tmp_path, figures):
    s = make_summary()
    s["motility"]["rapid_progressive"].update(percent=31.0, ci95=[18.2, 47.6], percent_of_tracks=45.0)
    s.update(progressive_ci95=[30.1, 61.9], shares={"tracks": 40, "effective_cells": 33.4, "who_minimum": 200})
    page = report.render_report(s, plots=figures, out_dir=tmp_path)
    assert "<td>31.0 %</td><td>18-48</td><td>45.0 %</td>" in page  # weighted share, its interval, share of tracks
    assert "% (95 % CI 30-62)" in page  # the progressive card
    assert "rest on 33 effective cells from 40 tracks" in page and "at least 200 sperm per assessment" in page
    s["shares"].update(tracks=250, effective_cells=180.0)
    page = report.render_report(s, plots=figures, out_dir=tmp_path)
    assert "from 250 tracks" in page and "at least 200 sperm" not in page


def test_report_is_self_contained(tmp_path, figures):
    video = tiny_video(tmp_path / "overlay.mp4")
    page = report.render_report(make_summary(), plots=figures, video=video, out_dir=tmp_path, box_statistics=True)
    srcs = attr_values(page, "src")
    assert len(srcs) == len(figures) + 1  # the figures and the video
    assert all(s.startswith("data:") for s in srcs)
    assert not re.search(r"(src|href)=\"(https?:)?//", page), "no external resources"
    assert "<link" not in page and "@import" not in page
    # the embedded figures are byte-identical to the PNG files
    pngs = [base64.b64decode(s.split(",", 1)[1]) for s in srcs if s.startswith("data:image/png")]
    assert sorted(pngs) == sorted(p.read_bytes() for p in figures.values())
    mp4 = [base64.b64decode(s.split(",", 1)[1]) for s in srcs if s.startswith("data:video/mp4")]
    assert mp4 == [video.read_bytes()]


def test_large_video_is_linked_not_embedded(tmp_path, figures, monkeypatch):
    video = tiny_video(tmp_path / "overlay.mp4")
    monkeypatch.setattr(report, "VIDEO_EMBED_LIMIT", video.stat().st_size - 1)
    page = report.render_report(make_summary(), plots=figures, video=video, out_dir=tmp_path)
    assert '<source src="overlay.mp4" type="video/mp4">' in page
    assert "keep the two files together" in page
    page = report.render_report(make_summary(), plots=figures, video=video, out_dir=tmp_path, embed_video=True)
    assert 'src="data:video/mp4;base64,' in page
    page = report.render_report(make_summary(), video=video, out_dir=tmp_path, embed_video=False)
    assert '<source src="overlay.mp4"' in page


def test_uncalibrated_report_says_so_and_gives_no_grades(tmp_path, figures):
    page = report.render_report(make_summary(calibrated=False), plots=figures)
    assert "<b>Uncalibrated.</b>" in page and "--um-per-px" in page
    assert "Not graded." in page
    assert "px/s" in page and "µm/s<" not in page.split('id="fastest"')[1].split("</table>")[0]


def test_report_escapes_what_it_shows(tmp_path):
    page = report.render_report(make_summary(source="/x/<script>alert(1)</script>.mp4"))
    assert "<script>alert" not in page  # the page's own <script> (table sorting) is the only one
    assert page.count("<script>") == 1
    assert "&lt;script&gt;" in page


def test_report_without_video_or_fastest(tmp_path):
    s = make_summary()
    s["fastest"] = []
    page = report.render_report(s)
    assert "No overlay video" in page
    assert "no track passed the quality gates" in page


def test_write_report_is_atomic_and_complete(tmp_path, figures):
    path = report.write_report(tmp_path / "out" / "report.html", make_summary(), plots=figures)
    assert path.read_text(encoding="utf-8").rstrip().endswith("</html>")
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]


def test_plots_may_be_a_list_of_png_paths_named_by_stem(tmp_path, figures):
    as_list = report.write_report(tmp_path / "a.html", make_summary(), plots=[str(p) for p in figures.values()])
    as_dict = report.write_report(tmp_path / "b.html", make_summary(), plots=figures)
    page = as_list.read_text(encoding="utf-8")
    assert page == as_dict.read_text(encoding="utf-8")  # motility next to the WHO table, speeds in the grid
    assert 'id="fig-speeds"' in page and 'id="fig-box_sizes"' not in page  # box statistics: labels only


@pytest.mark.parametrize(
    ("plots", "match"),
    [
        ("plots/speeds.png", "got a str"),
        (42, "got a int"),
        ([b"speeds.png"], "item of type bytes"),
        (["a/speeds.png", "b/speeds.png"], "two figures named 'speeds'"),
    ],
)
def test_bad_plots_are_a_parameter_error(tmp_path, plots, match):
    from spermtrack.errors import ParameterError

    with pytest.raises(ParameterError, match=match):
        report.write_report(tmp_path / "r.html", make_summary(), plots=plots)
    assert not (tmp_path / "r.html").exists()
