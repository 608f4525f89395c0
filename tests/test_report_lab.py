"""The report for the lab (issue 16, point 4): every track, the three paths, concentration, one count.

Built from a real analysis (a simulated clip tracked from its labels: fast), calibrated
and not; the browser checks (sorting the table, the figure of the paths decoding) run
in headless Chromium where it is installed.
"""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest
from _pipeline_checks import _run_chromium, chromium, simulated_folder

from spermtrack.kinematics import UncalibratedWarning, average_path
from spermtrack.pipeline import analyze
from spermtrack.viz import plots, report


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(calibrated, uncalibrated) analyses of one simulated clip, with their plots."""
    root = tmp_path_factory.mktemp("lab")
    folder, _ = simulated_folder(root, frames=120, density=14.0, seed=5)
    out = {}
    for name, um in (("cal", 0.25), ("unc", None)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UncalibratedWarning)
            a = analyze(folder, detector="gt", um_per_px=um)
        valid = a.kinematics[a.kinematics["valid"] & (a.kinematics["cls"] == 0)]
        top = [int(t) for t in a.fastest(n=3)["track_id"]]
        pngs = plots.save_plots(
            root / f"plots_{name}", a.tracks, valid, {g: v["count"] for g, v in a.summary["motility"].items()},
            a.image_size, a.calibration, None, top,
        )  # fmt: skip
        out[name] = (a, pngs)
    return out


def page_of(run, **kw):
    a, pngs = run
    return report.render_report(a.summary, plots=pngs, kinematics=a.kinematics, **kw)


def table_rows(page):
    table = page.split('id="track-table"', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)


def test_every_valid_track_is_in_the_table_with_its_grading_speed(runs):
    a, _ = runs["cal"]
    page = page_of(runs["cal"])
    rows = table_rows(page)
    valid = a.kinematics[a.kinematics["valid"] & (a.kinematics["cls"] == 0)]
    assert len(rows) == a.summary["counts"]["valid_tracks"] == len(valid) > 5
    head = page.split('id="track-table"', 1)[1].split("</thead>", 1)[0]
    for name in ("track", "duration", "VCL", "VSL", "VAP", "vprog", "LIN", "STR", "WOB", "ALH", "BCF", "WHO grade", "pattern"):
        assert f">{name}<" in head, name
    by_id = valid.set_index("track_id")
    for row in rows:
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        values = re.findall(r'data-v="([^"]*)"', row)
        tid = int(cells[0])
        k = by_id.loc[tid]
        assert float(values[2]) == pytest.approx(k["vcl"]) and float(values[5]) == pytest.approx(k["vprog"])
        assert float(values[6]) == pytest.approx(100 * k["lin"])  # LIN in % on the page, a fraction in the table
        assert report.style.motility_label(k["motility"]) in cells[11]
    # the rows come fastest first (VSL), and the header says the units
    vsl = [float(re.findall(r'data-v="([^"]*)"', r)[3]) for r in rows]
    assert vsl == sorted(vsl, reverse=True)
    assert "µm/s" in head and "%" in head


def test_top_paths_figure_draws_vcl_vap_and_vsl_paths(runs):
    a, _pngs = runs["cal"]
    page = page_of(runs["cal"])
    assert 'id="fig-top_paths"' in page.split('id="fastest"', 1)[1].split("</section>", 1)[0]
    top = [int(t) for t in a.fastest(n=3)["track_id"]]
    fig = plots.figure_top_paths(a.tracks, a.kinematics, a.calibration, top)
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.lines]
    assert len(axes) == 3
    ax = axes[0]
    assert ax.get_xlabel() == "x (µm)" and ax.get_title().startswith(f"#1 track {top[0]}")
    vcl, vap, vsl = ax.lines[:3]
    f, x, y = plots._track_points(a.tracks, top[0], a.image_size)
    px, py = (x - x[0]) * 0.25, (y - y[0]) * 0.25
    np.testing.assert_allclose(vcl.get_xydata(), np.stack([px, py], 1))
    np.testing.assert_allclose(vap.get_xydata(), average_path((f - f[0]) / a.calibration.fps, px, py, 0.5))
    np.testing.assert_allclose(vsl.get_xydata(), [[0, 0], [px[-1], py[-1]]])
    # the path lengths per second are the table's speeds
    k = a.kinematics.set_index("track_id").loc[top[0]]
    t = (f[-1] - f[0]) / a.calibration.fps
    assert np.hypot(*np.diff(vcl.get_xydata(), axis=0).T).sum() / t == pytest.approx(k["vcl"], rel=1e-6)
    assert np.hypot(px[-1], py[-1]) / t == pytest.approx(k["vsl"], rel=1e-6)
    unc, _ = runs["unc"]
    fig = plots.figure_top_paths(unc.tracks, unc.kinematics, unc.calibration)
    assert next(ax.get_xlabel() for ax in fig.axes if ax.lines) == "x (px)"


def test_one_track_count_defined_once(runs):
    a, _ = runs["cal"]
    c = a.summary["counts"]
    page = page_of(runs["cal"])
    sentence = page.split('id="counts">', 1)[1].split("</p>", 1)[0]
    assert f"{c['tracks']:,} tracks were followed" in sentence
    assert f"<b>{c['valid_tracks']:,}</b> of them pass the quality gates" in sentence
    assert f"the {c['graded_tracks']:,} sperm tracks are graded" in sentence
    text = re.sub(r"<[^>]+>", " ", page)
    assert len(re.findall(rf"\b{c['tracks']} tracks\b", text)) == 1, "the total appears once, in the definition"
    assert f"of {c['graded_tracks']}" not in text.split("Track counts.")[0], "no second count in the cards"
    assert "in tracks (track counts: see the first section)" in text


def test_first_screen_summary_and_calibration_wording(runs):
    a, _ = runs["cal"]
    page = page_of(runs["cal"])
    glance = page.split('id="glance"', 1)[1].split("</section>", 1)[0]
    for card in ("concentration", "total-motility", "progressive", "graded", "calibration"):
        assert f'id="card-{card}"' in glance
    assert f"{a.summary['progressive_percent']:.1f}" in glance
    assert f"{a.summary['total_motility_percent']:.1f}" in glance
    assert "Calibrated: 0.2500 µm per pixel" in glance and "µm per pixel given by the user" in glance
    # a Calibration object passed to analyze() (the demo passes the simulator's) is not "given by the user"
    s = json.loads(json.dumps(a.summary))
    s["calibration"]["origin"] = "given by the user"
    page = report.render_report(s)
    assert "given by the user" not in page and "a Calibration passed to analyze()" in page


def test_uncalibrated_report_warns_first_and_grades_nothing(runs):
    a, _ = runs["unc"]
    page = page_of(runs["unc"])
    glance = page.split('id="glance"', 1)[1].split("</section>", 1)[0]
    assert glance.index('id="uncalibrated"') < glance.index('id="summary"'), "the warning comes before the numbers"
    warn = glance.split('id="uncalibrated"', 1)[1].split("</div>", 1)[0]
    assert "cannot be compared with the WHO thresholds" in warn and "--um-per-px" in warn
    assert "derived from the median box size" in warn  # the gates' origin, from the kinematics attrs
    assert "Not graded." in page and "use pixel speeds" not in page
    assert "not graded" in glance  # PR and total motility cards
    rows = table_rows(page)
    assert len(rows) == a.summary["counts"]["valid_tracks"] > 5
    assert all("not graded" in r for r in rows)
    assert "px/s" in page.split('id="track-table"', 1)[1].split("</thead>", 1)[0]


def test_concentration_is_shown_or_the_reason_is(runs):
    a, _ = runs["cal"]
    s = json.loads(json.dumps(a.summary))
    s["concentration"] = {
        "per_ml_millions": 42.31,
        "chamber_depth_um": 20.0,
        "field_area_um2": 19200.0,
        "mean_cells_per_frame": 16.25,
        "note": "",
    }
    page = report.render_report(s)
    card = page.split('id="card-concentration"', 1)[1].split("</div></div>", 1)[0]
    assert "42.3" in card and "10⁶/mL" in card
    assert "Concentration 42.3 x 10<sup>6</sup>/mL" in page and "20 µm deep" in page
    s["concentration"] = {k: None for k in s["concentration"]} | {"note": "no chamber depth: pass --chamber-depth-um"}
    page = report.render_report(s)
    assert "Concentration not shown: no chamber depth: pass --chamber-depth-um" in page
    assert "not measured" in page.split('id="card-concentration"', 1)[1].split("</div></div>", 1)[0]
    s.pop("concentration")  # a summary of an older release
    page = report.render_report(s)
    assert "Concentration not shown: the chamber depth was not given" in page and "--chamber-depth-um" in page


def test_older_and_minimal_summaries_still_render(runs):
    a, pngs = runs["cal"]
    s = json.loads(json.dumps(a.summary))
    for key in ("total_motility_percent", "graded_classes", "look", "warnings"):
        s.pop(key, None)
    for key in ("graded_tracks", "invalid_tracks", "tracks_per_class"):
        s["counts"].pop(key, None)
    page = report.render_report(s, plots=pngs)
    assert "pass the quality gates" in page and "kinematics.csv" in page  # no table without kinematics: pointed to
    page = report.render_report({})
    assert page.rstrip().endswith("</html>")
    # kinematics as a list of records (read back from a CSV) works as the DataFrame does
    page = report.render_report(a.summary, kinematics=a.kinematics.to_dict(orient="records"))
    assert len(table_rows(page)) == a.summary["counts"]["valid_tracks"]


def test_box_statistics_only_when_the_boxes_are_labels(runs):
    a, pngs = runs["cal"]
    assert a.summary["detector"] == "gt"
    page = page_of(runs["cal"])
    assert 'id="fig-box_centers"' in page and 'id="fig-box_sizes"' in page
    s = json.loads(json.dumps(a.summary))
    s["detector"] = "yolo:spermyolo_p3.onnx"
    page = report.render_report(s, plots=pngs, kinematics=a.kinematics)
    assert 'id="fig-box_centers"' not in page and 'id="fig-box_coverage"' not in page
    assert "shown only when the boxes are the input's labels" in page
    assert 'id="fig-box_sizes"' in report.render_report(s, plots=pngs, box_statistics=True)


def test_box_statistics_have_no_empty_class_panels(runs):
    a, _ = runs["cal"]
    sperm_only = a.tracks.filter(a.tracks.cls == 0)
    assert plots.present_classes(sperm_only) == (0,)
    fig = plots.figure_box_sizes(sperm_only, classes=plots.present_classes(sperm_only))
    assert len([ax for ax in fig.axes if ax.get_title()]) == 1


# ---------------------------------------------------------------------------- in a browser
SORT_PROBE = """<script>
window.addEventListener('load', function () {
  var t = document.getElementById('track-table');
  function col(i) { return Array.from(t.tBodies[0].rows).map(function (r) { return parseFloat(r.cells[i].getAttribute('data-v')); }); }
  var res = {rows: t.tBodies[0].rows.length, initial: col(0)};
  t.tHead.rows[0].cells[0].click(); res.first = col(0);
  t.tHead.rows[0].cells[0].click(); res.second = col(0);
  t.tHead.rows[0].cells[2].click(); res.vcl = col(2);
  var img = document.querySelector('#fig-top_paths img');
  res.paths = img ? {w: img.naturalWidth, h: img.naturalHeight, complete: img.complete} : null;
  var box = img ? img.getBoundingClientRect() : null;
  res.paths_box = box ? {w: box.width, h: box.height} : null;
  document.body.setAttribute('data-sort', JSON.stringify(res));
});
</script>"""


@pytest.mark.chromium
@pytest.mark.skipif(chromium() is None, reason="no headless Chromium installed (apt-get install chromium)")
def test_table_sorts_and_paths_figure_renders_in_chromium(runs, tmp_path):
    import html as html_lib

    page = page_of(runs["cal"])
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", SORT_PROBE + "</body>"), encoding="utf-8")
    res = _run_chromium(chromium(), ["--virtual-time-budget=10000", "--dump-dom", probe.as_uri()], tmp_path / "profile")
    m = re.search(r'data-sort="([^"]*)"', res.stdout)
    assert m, res.stderr[-2000:]
    r = json.loads(html_lib.unescape(m.group(1)))
    n = runs["cal"][0].summary["counts"]["valid_tracks"]
    assert r["rows"] == n and sorted(r["initial"]) == sorted(r["first"])
    assert r["first"] == sorted(r["first"], reverse=True) or r["first"] == sorted(r["first"])
    assert r["second"] == r["first"][::-1], "a second click reverses the order"
    assert r["vcl"] in (sorted(r["vcl"]), sorted(r["vcl"], reverse=True)) and r["vcl"] != r["initial"]
    assert r["paths"]["complete"] and r["paths"]["w"] > 600 and r["paths_box"]["w"] > 600
