"""Checks shared by the pipeline, report and demo tests (not a test module itself).

- :func:`simulated_folder` writes a small simulated VISEM-Tracking video folder;
- :func:`check_outputs` verifies an analysis output folder: every file, and the
  numbers of summary.json recomputed independently from kinematics.csv;
- :func:`chromium` / :func:`probe_report` load a report in headless Chromium and
  return what the browser saw (image sizes, the video's state), plus a screenshot.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

EXPECTED_OUTPUTS = ("tracks.txt", "labels_ftid", "kinematics.csv", "summary.json", "overlay.mp4", "plots", "report.html")
EXPECTED_PLOTS = ("trajectories", "top_paths", "motility", "speeds", "box_area", "box_centers", "box_coverage", "box_sizes")
WHO = ("rapid_progressive", "slow_progressive", "non_progressive", "immotile")
CLASSES = ("sperm", "cluster", "small_or_pinhead")


def simulated_folder(root: Path, vid: str = "sim", frames: int = 60, seed: int = 3, density: float = 12.0, look: str = "phase"):
    """A simulated clip written as a VISEM video folder ``root/vid``; returns ``(folder, SimulatedVideo)``."""
    from spermtrack.io.visem import write_video
    from spermtrack.simulate import simulate_video

    sim = simulate_video(seed=seed, num_frames=frames, density=density, look=look)
    folder = write_video(
        root, vid, sim.boxes, frames=sim.frames(), fps=sim.fps, image_size=sim.image_size, track_names=sim.track_names
    )
    return folder, sim


def _close(a, b, tol=1e-9) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=tol, abs_tol=tol)


def check_outputs(out: Path, overlay: bool = True, report: bool = True) -> dict:
    """Assert that ``out`` holds a complete analysis and that summary.json agrees with kinematics.csv.

    Every number of the summary is recomputed here from the CSV rows, with the
    definitions stated in the docs (graded = sperm tracks, valid = quality "ok"; WHO
    shares over valid sperm tracks, each weighted by its time in view; fastest = valid sperm tracks of at least
    ``fastest_min_duration_s`` ranked by ``fastest_by``), not by calling the library's
    summary code.
    Returns the summary.
    """
    out = Path(out)
    skipped = ({"overlay.mp4"} if not overlay else set()) | ({"plots", "report.html"} if not report else set())
    names = [n for n in EXPECTED_OUTPUTS if n not in skipped]
    missing = [n for n in names if not (out / n).exists()]
    assert not missing, f"missing outputs {missing} in {sorted(p.name for p in out.iterdir())}"
    if report:
        plots = sorted(p.stem for p in (out / "plots").glob("*.png"))
        assert plots == sorted(EXPECTED_PLOTS), plots
    leftovers = [p.name for p in out.rglob("*") if ".part" in p.name]
    assert not leftovers, f"temporary files left behind: {leftovers}"

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    from spermtrack.kinematics import read_kinematics_csv

    kin = read_kinematics_csv(out / "kinematics.csv")  # with or without the units in the headers
    sperm = kin[kin["cls"] == 0]  # WHO grades and the ranking are for sperm, not clusters or pinheads
    valid = sperm[sperm["quality"] == "ok"]
    assert summary["counts"]["tracks"] == len(kin)
    assert summary["counts"]["graded_tracks"] == len(sperm)
    assert summary["counts"]["valid_tracks"] == len(valid)
    assert summary["counts"]["tracks_per_class"] == {n: int((kin["cls"] == c).sum()) for c, n in enumerate(CLASSES)}
    calibrated = summary["calibration"]["calibrated"]
    # WHO shares: each valid track weighs its time in view (duration_s); the CSV keeps 6 digits
    seconds = valid["duration_s"].to_numpy(float)
    for g in WHO:
        n = int((valid["motility"] == g).sum())
        assert summary["motility"][g]["count"] == n, (g, summary["motility"][g], n)
        expected = (
            100.0 * seconds[(valid["motility"] == g).to_numpy()].sum() / seconds.sum() if (calibrated and len(valid)) else None
        )
        assert _close(summary["motility"][g]["percent"], expected, 1e-5), (g, summary["motility"][g]["percent"], expected)
        by_tracks = 100.0 * n / len(valid) if (calibrated and len(valid)) else None
        assert _close(summary["motility"][g]["percent_of_tracks"], by_tracks)
    if calibrated and len(valid):
        pr = 100.0 * seconds[valid["motility"].isin(WHO[:2]).to_numpy()].sum() / seconds.sum()
        assert _close(summary["progressive_percent"], pr, 1e-5)
        lo, hi = summary["progressive_ci95"]
        assert lo <= summary["progressive_percent"] <= hi
    for col in ("vcl", "vsl", "vap", "lin", "alh_mean", "bcf"):
        v = valid[col].to_numpy(float)
        finite = np.isfinite(v)
        v, w = v[finite], seconds[finite]
        if v.size:  # weighted by time in view, as the shares; the CSV keeps 6 significant digits
            order = np.argsort(v, kind="stable")
            cum = np.cumsum(w[order]) / w.sum()
            i = int(np.searchsorted(cum, 0.5))  # first value reaching half the time; the midpoint on an exact half
            median = 0.5 * (v[order][i] + v[order][i + 1]) if np.isclose(cum[i], 0.5) and i + 1 < v.size else v[order][i]
            assert _close(summary["speeds"][col]["median"], median, 1e-5), (col, summary["speeds"][col], median)
            assert _close(summary["speeds"][col]["mean"], np.average(v, weights=w), 1e-5)
    by, min_s = summary["fastest_by"], summary["fastest_min_duration_s"]
    ranked = valid[valid["duration_s"] >= min_s - 1e-6].sort_values([by, "track_id"], ascending=[False, True])
    top = ranked.head(len(summary["fastest"]))
    assert [r["track_id"] for r in summary["fastest"]] == top["track_id"].tolist()
    assert len(summary["fastest"]) == min(5, len(ranked))
    for r, (_, row) in zip(summary["fastest"], top.iterrows()):
        assert _close(r[by], row[by], 1e-5)
    tracks = (out / "tracks.txt").read_text().splitlines()
    assert summary["counts"]["tracked_boxes"] == len(tracks)
    assert len({line.split(",")[1] for line in tracks}) == summary["counts"]["tracks"]
    return summary


# ---------------------------------------------------------------------------- Chromium
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

# Added to a copy of the page: after load, it records what the browser made of every image
# and of the video (once the video has decoded data or failed), on <body data-probe="...">.
PROBE_SCRIPT = """<script>
(function () {
  function done(res) { document.body.setAttribute('data-probe', JSON.stringify(res)); }
  window.addEventListener('load', function () {
    var res = {title: document.title, images: Array.from(document.images).map(function (i) {
      return {w: i.naturalWidth, h: i.naturalHeight, complete: i.complete}; })};
    var v = document.querySelector('video');
    if (!v) { res.video = null; done(res); return; }
    res.canplay = v.canPlayType('video/mp4; codecs="avc1.42E01E"');
    var finished = false;
    function finish(ev) {
      if (finished) return; finished = true;
      res.video = {event: ev, readyState: v.readyState, width: v.videoWidth, height: v.videoHeight,
                   duration: v.duration, error: v.error ? v.error.code : null,
                   src: (v.currentSrc || '').slice(0, 40), src_end: (v.currentSrc || '').slice(-40)};
      done(res);
    }
    if (v.readyState >= 2) { finish('ready'); return; }
    v.addEventListener('loadeddata', function () { finish('loadeddata'); });
    v.addEventListener('error', function () { finish('error'); }, true);
    Array.from(v.querySelectorAll('source')).forEach(function (s) {
      s.addEventListener('error', function () { finish('source-error'); }); });
    v.preload = 'auto'; v.load();
  });
})();
</script>"""


def chromium() -> str | None:
    """Path of a Chromium binary, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _run_chromium(binary: str, args: list[str], profile: Path, timeout: float = 90.0) -> subprocess.CompletedProcess:
    env = {**os.environ, "HOME": str(profile)}
    cmd = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


def probe_report(report: Path, tmp: Path, screenshot: Path | None = None) -> dict:
    """Load ``report`` in headless Chromium; return the probe (images, video) and write a screenshot.

    The probe runs in a copy of the page next to the original (so relative video links
    resolve the same); the screenshot is taken of the original, unmodified page.
    """
    binary = chromium()
    assert binary, "no Chromium"
    report = Path(report)
    probe_page = report.with_name(f"_probe_{report.name}")
    html = report.read_text(encoding="utf-8")
    assert "</body>" in html
    probe_page.write_text(html.replace("</body>", PROBE_SCRIPT + "</body>"), encoding="utf-8")
    try:
        res = _run_chromium(binary, ["--virtual-time-budget=20000", "--dump-dom", probe_page.as_uri()], tmp / "profile-probe")
    finally:
        probe_page.unlink()
    import html as html_lib
    import re

    m = re.search(r'data-probe="([^"]*)"', res.stdout)
    assert m, f"the probe did not report (chromium exit {res.returncode}): {res.stderr[-2000:]}"
    probe = json.loads(html_lib.unescape(m.group(1)))
    if screenshot is not None:
        shot = _run_chromium(
            binary,
            ["--window-size=1280,2400", "--hide-scrollbars", f"--screenshot={screenshot}", report.as_uri()],
            tmp / "profile-shot",
        )
        assert screenshot.exists(), f"no screenshot (chromium exit {shot.returncode}): {shot.stderr[-2000:]}"
    return probe
