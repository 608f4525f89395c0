"""report.html: one self-contained page with the results of an analysis.

The page needs nothing but itself: the CSS is inline, the figures are PNGs
embedded as base64 ``data:`` URIs, and the overlay video is embedded the same
way when it is small (at most :data:`VIDEO_EMBED_LIMIT` bytes, about a minute
of 640x480 overlay at x264's default quality). A longer video stays a file
next to the page (``<video src="overlay.mp4">``, a relative link), because a
data URI of hundreds of megabytes would make the page slow to open; keep the
two files together when you move them. ``embed_video=True/False`` forces either.

The page is built from the analysis summary (the dict written to
``summary.json``, see :func:`spermtrack.pipeline.build_summary`) so that the
report and the JSON can never disagree; the table of every track comes from the
kinematics table (the rows of ``kinematics.csv``) when it is given. A summary of an
older release, without the newer keys (``concentration``, ``total_motility_percent``,
``graded_tracks``...), still renders: what is missing is shown as not measured.

Conventions of the page (docs/report.md): speeds in µm/s with a calibration and px/s
without; LIN, STR and WOB in % (they are fractions 0..1 in ``kinematics.csv``); one
track count, defined once in the first section.
"""

from __future__ import annotations

import base64
import html
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from string import Template

from ..atomic import atomic_open
from ..errors import ParameterError
from . import style

#: Largest overlay video (bytes) embedded in the page as a data URI by default.
VIDEO_EMBED_LIMIT = 12 * 1024 * 1024

_TEMPLATE = Path(__file__).with_name("templates") / "report.html"

#: Columns of the fastest-sperm table: key in the summary rows, header, kind of unit.
FASTEST_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("vprog", "vprog", "speed"),
    ("vsl", "VSL", "speed"),
    ("vcl", "VCL", "speed"),
    ("vap", "VAP", "speed"),
    ("lin", "LIN", "ratio"),
    ("str", "STR", "ratio"),
    ("wob", "WOB", "ratio"),
    ("alh_mean", "ALH", "length"),
    ("bcf", "BCF", "Hz"),
    ("duration_s", "duration", "s"),
)


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _num(value: object, digits: int = 1) -> str:
    """A number for a table cell ('–' for missing or not finite)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "–"
    if not math.isfinite(v):
        return "–"
    return f"{v:,.{digits}f}"


def data_uri(path: str | Path, mime: str) -> str:
    """The file as a ``data:`` URI (base64)."""
    return f"data:{mime};base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _card(key: str, value: str, unit: str = "", cid: str = "") -> str:
    unit_html = f' <span class="u">{_esc(unit)}</span>' if unit else ""
    ident = f' id="card-{_esc(cid)}"' if cid else ""
    return f'  <div class="card"{ident}><div class="k">{_esc(key)}</div><div class="v">{value}{unit_html}</div></div>'


def _int(value: object) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _concentration(summary: Mapping) -> tuple[str, str, str]:
    """(card value, card unit, sentence) of the sperm concentration, or why it is not shown."""
    conc = summary.get("concentration")
    cal = summary.get("calibration") or {}
    value = conc.get("per_ml_millions") if isinstance(conc, Mapping) else None
    if isinstance(conc, Mapping) and value is not None and math.isfinite(float(value)):
        depth, area, cells = conc.get("chamber_depth_um"), conc.get("field_area_um2"), conc.get("mean_cells_per_frame")
        text = (
            f"Concentration {_num(value, 1)} x 10<sup>6</sup>/mL: {_num(cells, 1)} sperm per frame on average in a field of "
            f"{_num(area, 0)} µm<sup>2</sup> and a chamber {_num(depth, 0)} µm deep."
        )
        if conc.get("note"):
            text += f" {_esc(conc['note'])}"
        return _num(value, 1), "x 10⁶/mL", text
    reasons = []
    if isinstance(conc, Mapping) and conc.get("note"):
        reasons.append(_esc(conc["note"]))
    else:
        if not cal.get("calibrated"):
            reasons.append("there is no calibration (the field area needs µm per pixel, <code>--um-per-px</code>)")
        depth = conc.get("chamber_depth_um") if isinstance(conc, Mapping) else None
        if depth is None:
            reasons.append("the chamber depth was not given")
    why = "; ".join(reasons) or "it could not be computed"
    text = (
        f"Concentration not shown: {why}. It needs the depth of the counting chamber "
        "(<code>--chamber-depth-um</code>, e.g. 10 or 20 µm) and a calibration, from which the field area follows."
    )
    return "–", "not measured", text


def _counts_sentence(summary: Mapping) -> str:
    """The one definition of the track counts used on the page (``summary["counts"]``)."""
    counts = summary.get("counts") or {}
    tracks = _int(counts.get("tracks"))
    valid = _int(counts.get("valid_tracks"))
    graded = counts.get("graded_tracks")
    per_class = {k: _int(v) for k, v in (counts.get("tracks_per_class") or {}).items() if _int(v)}
    split = ", ".join(f"{n:,} {_esc(k.replace('_', ' '))}" for k, n in per_class.items())
    if len(per_class) == 1 and next(iter(per_class.values())) == tracks:
        split = f"all {_esc(next(iter(per_class)).replace('_', ' '))}"
    text = f"<b>Track counts.</b> {tracks:,} tracks were followed" + (f" ({split})" if split else "") + "; "
    if graded is not None:
        graded = _int(graded)
        classes = summary.get("graded_classes") or ["sperm"]
        names = ", ".join(_esc(str(c).replace("_", " ")) for c in classes)
        text += f"the {graded:,} {names} tracks are graded, and <b>{valid:,}</b> of them pass the quality gates: "
    else:
        text += f"<b>{valid:,}</b> pass the quality gates: "
    text += "every percentage, table and figure below is over these valid tracks."
    invalid = counts.get("invalid_tracks")
    if isinstance(invalid, Mapping) and invalid:
        flags = ", ".join(f"{_esc(str(k).replace('_', ' '))} {_int(v)}" for k, v in invalid.items())
        left = (_int(graded) - valid) if graded is not None else sum(_int(v) for v in invalid.values())
        text += f" {left:,} are left out ({flags}; a track can have two flags)."
    return text


def _cards(summary: Mapping) -> str:
    counts = summary.get("counts", {})
    cal = summary.get("calibration", {})
    unit = cal.get("speed_unit", "px/s")
    speeds = summary.get("speeds", {})
    graded = cal.get("calibrated", False)
    conc_value, conc_unit, _ = _concentration(summary)
    if cal.get("calibrated"):
        cal_value, cal_unit = _num(cal.get("um_per_px"), 3), "µm/px"
    else:
        cal_value, cal_unit = "none", "px"
    cards = [
        _card("concentration", conc_value, conc_unit, "concentration"),
        _card(
            "total motility (PR + NP)",
            _num(summary.get("total_motility_percent"), 1),
            _share_unit(summary.get("total_motility_ci95")) if graded else "not graded",
            "total-motility",
        ),
        _card(
            "progressive (PR)",
            _num(summary.get("progressive_percent"), 1),
            _share_unit(summary.get("progressive_ci95")) if graded else "not graded",
            "progressive",
        ),
        _card("sperm graded", f"{_int(counts.get('valid_tracks')):,}", "valid tracks", "graded"),
        _card("median VSL", _num((speeds.get("vsl") or {}).get("median"), 1), unit, "median-vsl"),
        _card("calibration", cal_value, cal_unit, "calibration"),
    ]
    return "\n".join(cards)


def _interval(ci) -> str:
    """A share's 95 % interval as "low-high" (percent), or "" without one."""
    if not ci or len(ci) != 2 or ci[0] is None or ci[1] is None:
        return ""
    return f"{_num(ci[0], 0)}-{_num(ci[1], 0)}"


def _share_unit(ci) -> str:
    """The unit of a share's card: "%" and its 95 % interval."""
    interval = _interval(ci)
    return f"% (95 % CI {interval})" if interval else "%"


def _shares_sentence(summary: Mapping) -> str:
    """How the shares were counted, and whether the sample is large enough (plain text)."""
    shares = summary.get("shares") or {}  # absent from a summary.json written before 2026-12-06
    tracks = _int(shares.get("tracks"))
    if not tracks:
        return ""
    cells = shares.get("effective_cells")
    minimum = _int(shares.get("who_minimum"))
    text = (
        "Each share weighs a track by its time in view: it is the share of the sperm in view, averaged over the "
        "recording, which is what the WHO's count of a field at one moment estimates (a share of tracks counts every "
        "swimmer that passed, and grows with the recording's length; it is in the table for comparison). The 95 % "
        f"intervals (Wilson) rest on {_num(cells, 0)} effective cells from {tracks:,} tracks."
    )
    if tracks < minimum:
        text += (
            f" The WHO manual asks for at least {minimum} sperm per assessment; with {tracks:,} tracks the shares are "
            "uncertain by the intervals shown: analyse more fields of the sample."
        )
    return text


def _motility_table(summary: Mapping) -> str:
    motility = summary.get("motility", {})
    if not summary.get("calibration", {}).get("calibrated", False):
        return (
            "      <p><b>Not graded.</b> The WHO grades are defined in µm/s and this analysis has no "
            "calibration (µm per pixel), so no track is graded. Run it again with <code>--um-per-px</code>.</p>"
        )
    grades = style.order_motility(motility)
    rows = []
    for g in grades:
        entry = motility[g]
        rows.append(
            f'<tr><td class="l"><span class="swatch" style="background:{style.motility_color(g)}"></span>{_esc(style.motility_label(g))}</td>'
            f"<td>{int(entry.get('count', 0)):,}</td><td>{_num(entry.get('percent'), 1)} %</td>"
            f"<td>{_interval(entry.get('ci95'))}</td><td>{_num(entry.get('percent_of_tracks'), 1)} %</td></tr>"
        )
    total = sum(int(motility[g].get("count", 0)) for g in grades)
    body = "\n".join(rows) if rows else '<tr><td class="l" colspan="5">no valid tracks</td></tr>'
    return (
        '      <table><thead><tr><th class="l">grade</th><th>tracks</th><th>share<br><small>time in view</small></th>'
        "<th>95 % interval<br><small>%</small></th><th>share of tracks</th></tr></thead>\n"
        f"      <tbody>\n{body}\n</tbody>\n"
        f'      <tfoot><tr><th class="l">total</th><th>{total:,}</th><th>100 %</th><th></th><th>100 %</th></tr></tfoot></table>'
    )


def _fastest_table(summary: Mapping) -> str:
    cal = summary.get("calibration", {})
    units = {"speed": cal.get("speed_unit", "px/s"), "length": cal.get("length_unit", "px"), "ratio": "%", "Hz": "Hz", "s": "s"}
    rows = summary.get("fastest", [])
    cols = [c for c in FASTEST_COLUMNS if any(c[0] in r for r in rows)] if rows else list(FASTEST_COLUMNS)
    head = "".join(f"<th>{_esc(name)}<br><small>{_esc(units[kind])}</small></th>" for _, name, kind in cols)
    header = f'<thead><tr><th class="l">rank</th><th>track</th>{head}<th class="l">grade</th><th>frames</th></tr></thead>'
    body = []
    for i, r in enumerate(rows):
        cells = []
        for key, _, kind in cols:
            v = r.get(key)
            if kind == "ratio" and v is not None:
                cells.append(f"<td>{_num(100.0 * float(v), 0)}</td>")
            else:
                cells.append(f"<td>{_num(v, 2 if kind in ('s', 'Hz') else 1)}</td>")
        grade = r.get("motility", "")
        frames = f"{r.get('first_frame', '')}–{r.get('last_frame', '')}"
        cls = ' class="top1"' if i == 0 else ""
        body.append(
            f"<tr{cls}><td class='l'>#{int(r.get('rank', i + 1))}</td><td>{_esc(r.get('track_id', ''))}</td>{''.join(cells)}"
            f'<td class="l"><span class="swatch" style="background:{style.motility_color(grade)}"></span>'
            f"{_esc(_grade_label(grade))}</td><td>{_esc(frames)}</td></tr>"
        )
    if not body:
        span = len(cols) + 4
        body.append(
            f'<tr><td class="l" colspan="{span}">no track passed the quality gates (too short, or implausible jumps)</td></tr>'
        )
    return f"<table>{header}<tbody>\n" + "\n".join(body) + "\n</tbody></table>"


#: Columns of the table of every valid track: key in the kinematics, header, kind of unit.
TRACK_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("track_id", "track", "id"),
    ("duration_s", "duration", "s"),
    ("vcl", "VCL", "speed"),
    ("vsl", "VSL", "speed"),
    ("vap", "VAP", "speed"),
    ("vprog", "vprog", "speed"),
    ("lin", "LIN", "ratio"),
    ("str", "STR", "ratio"),
    ("wob", "WOB", "ratio"),
    ("alh_mean", "ALH", "length"),
    ("bcf", "BCF", "Hz"),
    ("motility", "WHO grade", "grade"),
    ("pattern", "pattern", "text"),
)

#: Plain JavaScript that sorts a table with ``data-sortable`` when a header is clicked (no CDN: works offline).
SORT_SCRIPT = """
<script>
(function () {
  function key(td, numeric) {
    var v = td.getAttribute("data-v");
    if (v === null) v = td.textContent;
    if (!numeric) return v.toLowerCase();
    var x = parseFloat(v);
    return isNaN(x) ? -Infinity : x;
  }
  document.querySelectorAll("table[data-sortable]").forEach(function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      th.addEventListener("click", function () {
        var numeric = th.getAttribute("data-type") === "num";
        var dir = th.getAttribute("aria-sort") === "descending" ? 1 : -1;
        if (!th.hasAttribute("aria-sort") && !numeric) dir = 1;
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[col], numeric), y = key(b.cells[col], numeric);
          return x < y ? -dir : x > y ? dir : 0;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();
</script>
"""


def _records(kinematics) -> list[dict]:
    """Rows of a kinematics table (DataFrame, or a sequence of mappings) as dicts."""
    if kinematics is None:
        return []
    if hasattr(kinematics, "to_dict"):
        return list(kinematics.to_dict(orient="records"))
    return [dict(r) for r in kinematics]


def _graded_valid(summary: Mapping, rows: list[dict]) -> list[dict]:
    """The valid tracks of the graded classes (as ``summary["counts"]["valid_tracks"]`` counts them)."""
    from ..boxes import CLASS_NAMES

    names = summary.get("graded_classes") or ["sperm"]
    classes = {CLASS_NAMES.index(n) for n in names if n in CLASS_NAMES} or {0}
    out = []
    for r in rows:
        if "cls" in r and _int(r["cls"]) not in classes:
            continue
        ok = r.get("valid")
        if ok is None:
            ok = r.get("quality", "ok") == "ok"
        if bool(ok):
            out.append(r)
    return out


def _tracks_table(summary: Mapping, kinematics) -> str:
    """Every valid graded track in a table sortable by any column (click a header)."""
    if kinematics is None:
        return (
            '<p class="note">The table of every track is in <code>kinematics.csv</code> '
            "(this page was made without the kinematics table).</p>"
        )
    cal = summary.get("calibration", {})
    units = {
        "speed": cal.get("speed_unit", "px/s"),
        "length": cal.get("length_unit", "px"),
        "ratio": "%",
        "Hz": "Hz",
        "s": "s",
        "id": "",
        "grade": "",
        "text": "",
    }
    rows = sorted(_graded_valid(summary, _records(kinematics)), key=lambda r: -_finite(r.get("vsl")))
    numeric = {"id", "s", "speed", "ratio", "length", "Hz"}
    head = "".join(
        f'<th data-type="{"num" if kind in numeric else "text"}" title="click to sort"'
        f"{' class=' + chr(34) + 'l' + chr(34) if kind in ('grade', 'text') else ''}>{_esc(name)}"
        + (f"<br><small>{_esc(units[kind])}</small>" if units[kind] else "")
        + "</th>"
        for _, name, kind in TRACK_COLUMNS
    )
    body = []
    for r in rows:
        cells = []
        for key, _, kind in TRACK_COLUMNS:
            v = r.get(key)
            if kind == "id":
                cells.append(f'<td data-v="{_int(v)}">{_int(v)}</td>')
            elif kind == "grade":
                cells.append(
                    f'<td class="l"><span class="swatch" style="background:{style.motility_color(v)}"></span>'
                    f"{_esc(_grade_label(v))}</td>"
                )
            elif kind == "text":
                cells.append(f'<td class="l">{_esc(_grade_label(v).replace("_", " ") if v else "–")}</td>')
            else:
                x = _float(v)
                shown = 100.0 * x if kind == "ratio" else x
                digits = 2 if kind in ("s", "Hz") else (0 if kind == "ratio" else 1)
                cells.append(f'<td data-v="{shown if math.isfinite(shown) else ""}">{_num(shown, digits)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not body:
        body.append(f'<tr><td class="l" colspan="{len(TRACK_COLUMNS)}">no track passed the quality gates</td></tr>')
    return (
        f'<table id="track-table" data-sortable><thead><tr>{head}</tr></thead><tbody>\n' + "\n".join(body) + "\n</tbody></table>"
    )


def _float(value: object) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return math.nan
    return v


def _finite(value: object) -> float:
    v = _float(value)
    return v if math.isfinite(v) else -math.inf


def _grade_label(value: object) -> str:
    if value in (None, "") or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if str(value) == "uncalibrated":
        return "not graded"
    return style.motility_label(value)


#: Figures that span the whole width of the figure grid (three panels side by side).
WIDE_FIGURES = frozenset({"box_centers", "box_coverage", "box_sizes"})
#: Figures of the dataset's boxes (annotation statistics): shown only when the boxes are labels.
BOX_STATISTICS = ("box_centers", "box_coverage", "box_sizes")
#: Detector names whose boxes are the input's own labels (:mod:`spermtrack.detect.ground_truth`).
LABEL_DETECTORS = frozenset({"gt", "gt-noisy"})


def has_labels(summary: Mapping) -> bool:
    """Whether the analysed boxes are the input's labels (ground truth), so box statistics describe a dataset."""
    if summary.get("labels"):
        return True
    return str(summary.get("detector", "")).strip() in LABEL_DETECTORS


def calibration_origin_text(origin: object) -> str:
    """How the report words where the calibration came from (``summary["calibration"]["origin"]``).

    ``analyze(calibration=Calibration(...))`` writes the bare origin "given by the user"
    although the object may come from a program (the demo passes the simulator's): the
    page says what is known, that a calibration object was passed in.

    >>> calibration_origin_text("given by the user")
    'a Calibration passed to analyze() by the program that ran it'
    >>> calibration_origin_text("µm per pixel given by the user; frame rate of the video")
    'µm per pixel given by the user; frame rate of the video'
    """
    text = str(origin or "").strip()
    if text == "given by the user":
        return "a Calibration passed to analyze() by the program that ran it"
    return text


def _figure_html(name: str, path: Path, caption: str) -> str:
    wide = ' class="wide"' if name in WIDE_FIGURES else ""
    return (
        f'    <figure id="fig-{_esc(name)}"{wide}><img alt="{_esc(caption)}" src="{data_uri(path, "image/png")}">'
        f"<figcaption>{_esc(caption)}</figcaption></figure>"
    )


def _video_html(video: Path | None, out_dir: Path | None, embed: bool | None) -> tuple[str, str]:
    """The <video> block and how it was included (``embedded``, ``linked`` or ``none``)."""
    if video is None or not Path(video).exists():
        return '<p class="note">No overlay video was written for this analysis (it was switched off).</p>', "none"
    video = Path(video)
    size = video.stat().st_size
    if embed is None:
        embed = size <= VIDEO_EMBED_LIMIT
    if embed:
        src, how = data_uri(video, "video/mp4"), "embedded"
        note = f"Embedded in this page ({size / 1e6:.1f} MB H.264). The same video is in <code>{_esc(video.name)}</code>."
    else:
        rel = os.path.relpath(video, out_dir) if out_dir is not None else video.name
        src, how = Path(rel).as_posix(), "linked"
        note = (
            f"Played from <code>{_esc(rel)}</code> next to this page ({size / 1e6:.1f} MB, too large to embed): "
            "keep the two files together."
        )
    block = (
        f'<video id="overlay" controls muted loop playsinline preload="metadata">'
        f'<source src="{_esc(src)}" type="video/mp4">Your browser cannot play H.264 MP4 video.</video>\n'
        f'<p class="note">{note} Boxes: sperm white (dark on light frames), orange cluster, violet small-or-pinhead, grey where the tracker '
        "filled a gap (no detection; thin trail); trails coloured by speed (colour bar in the corner); the fastest sperm "
        "in yellow with their rank.</p>"
    )
    return block, how


def _dl(items: Sequence[tuple[str, str]]) -> str:
    return "<dl>" + "".join(f"<dt>{_esc(k)}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def time_base_text(frame_times: Mapping | None) -> str:
    """One sentence on the video's time base (``summary.json["frame_times"]``): repeated frames, effective rate.

    >>> time_base_text({"num_frames": 150, "num_repeated": 105, "effective_fps": 14.97, "nominal_fps": 50.0, "source": "pixels"})
    '105 of 150 frames repeat the previous image (from the pixels): 14.97 new images/s at a nominal 50.00 frames/s; tracks and speeds use the true times.'
    """
    if not frame_times:
        return "not measured"
    n, rep = int(frame_times.get("num_frames", 0)), int(frame_times.get("num_repeated", 0))
    how = {
        "pixels": "from the pixels",
        "boxes": "from boxes that do not move",
        "container": "from the container's time stamps",
        "numbers": "from the image files' frame numbers",
    }
    found = how.get(str(frame_times.get("source")), f"source {frame_times.get('source')}")
    glitches = list(frame_times.get("glitch_frames") or ())
    glitch = ""
    if glitches:
        shown = ", ".join(str(int(g)) for g in glitches[:5]) + (f" and {len(glitches) - 5} more" if len(glitches) > 5 else "")
        glitch = f" Frame{'s' if len(glitches) > 1 else ''} {shown} (0-based) jump in brightness (blank, white or a flash) and were left out of the repeat search."
    if rep == 0:
        return f"no repeated frames ({found}): every one of the {n:,} frames is a new image" + (f".{glitch}" if glitch else "")
    return (
        f"{rep:,} of {n:,} frames repeat the previous image ({found}): {_num(frame_times.get('effective_fps'), 2)} new images/s "
        f"at a nominal {_num(frame_times.get('nominal_fps'), 2)} frames/s; tracks and speeds use the true times.{glitch}"
    )


def _details(summary: Mapping, files: Sequence[str]) -> str:
    cal = summary.get("calibration", {})
    video = summary.get("video", {})
    counts = summary.get("counts", {})
    if cal.get("calibrated"):
        cal_text = f"{_num(cal.get('um_per_px'), 4)} µm per pixel, {_num(cal.get('fps'), 2)} frames/s"
    else:
        cal_text = f"uncalibrated (lengths in pixels, speeds in px/s), {_num(cal.get('fps'), 2)} frames/s"
    if cal.get("origin"):
        cal_text += f" <small>({_esc(calibration_origin_text(cal['origin']))})</small>"
    tracker = summary.get("tracker") or {}
    tracker_text = (
        ", ".join(f"{_esc(k)}={_esc(v)}" for k, v in tracker.items() if not isinstance(v, (dict, list)))
        if isinstance(tracker, Mapping)
        else _esc(tracker)
    )
    timings = summary.get("timings_s", {})
    timing_text = ", ".join(f"{_esc(k)} {_num(v, 2)} s" for k, v in timings.items())
    items = [
        ("source", f"<code>{_esc(summary.get('source', ''))}</code>"),
        (
            "video",
            f"{int(video.get('width', 0))} x {int(video.get('height', 0))} px, {int(video.get('num_frames', 0)):,} frames, "
            f"{_num(video.get('fps'), 2)} frames/s, {_num(video.get('duration_s'), 2)} s",
        ),
        ("calibration", cal_text),
        ("time base", _esc(time_base_text(summary.get("frame_times")))),
        ("detector", f"<code>{_esc(summary.get('detector', ''))}</code>"),
        ("tracker", tracker_text or "defaults"),
        (
            "boxes and tracks",
            f"{int(counts.get('detections', 0)):,} detections ({_num(counts.get('mean_boxes_per_frame'), 1)} per frame), "
            f"{int(counts.get('tracked_boxes', 0)):,} of them in tracks (track counts: see the first section)",
        ),
        ("run time", timing_text or "–"),
        ("software", f"spermtrack {_esc(summary.get('spermtrack_version', ''))}"),
        ("created", _esc(summary.get("created", ""))),
    ]
    if files:
        items.append(("files", " ".join(f'<a href="{_esc(f)}">{_esc(f)}</a>' for f in files)))
    return _dl(items)


def describe_overlays(overlays) -> str:
    """Burnt-in panels (``look.overlays``: x, y, w, h in pixels) in words, e.g. ``"548x94 px at (75, 370)"``; "" for none."""
    return ", ".join(f"{w}x{h} px at ({x}, {y})" for x, y, w, h in overlays or ())


def _overlay_note(overlays) -> str:
    """The report's words on the burnt-in panels the detector was kept from (none: nothing)."""
    if not overlays:
        return ""
    where = describe_overlays(overlays)
    return f"; burnt-in panels left out of detection ({len(overlays)}): {_esc(where)} (--no-mask-overlays keeps them)"


def _plot_paths(plots) -> dict[str, str | Path]:
    """``render_report``'s ``plots`` as a dict name -> path: a mapping as given, a sequence of paths by file stem."""
    if plots is None:
        return {}
    if isinstance(plots, Mapping):
        return dict(plots)
    kind = type(plots).__name__
    if isinstance(plots, (str, bytes, os.PathLike)) or not isinstance(plots, (Sequence, set, frozenset)):
        raise ParameterError(f"plots must be a mapping name -> PNG path or a list of PNG paths, got a {kind}: {plots!r}")
    named: dict[str, str | Path] = {}
    for item in plots:
        if not isinstance(item, (str, os.PathLike)):
            raise ParameterError(f"plots must be a list of PNG paths, got an item of type {type(item).__name__}: {item!r}")
        stem = Path(item).stem
        if stem in named:
            raise ParameterError(f"plots: two figures named {stem!r} ({named[stem]} and {item}): name them with a mapping")
        named[stem] = item
    return named


def render_report(
    summary: Mapping,
    plots: Mapping[str, str | Path] | Sequence[str | Path] | None = None,
    captions: Mapping[str, str] | None = None,
    video: str | Path | None = None,
    out_dir: str | Path | None = None,
    embed_video: bool | None = None,
    files: Sequence[str] = (),
    kinematics=None,
    box_statistics: bool | None = None,
) -> str:
    """The report page as an HTML string.

    Parameters
    ----------
    summary : mapping
        The analysis summary (as written to ``summary.json``; see
        :func:`spermtrack.pipeline.build_summary` for its keys). Keys of newer releases
        (``concentration``, ``total_motility_percent``, ``counts.graded_tracks``) are
        optional.
    plots : mapping name -> PNG path, or sequence of PNG paths
        Figures to embed, in order; ``"motility"`` goes next to the WHO table,
        ``"top_paths"`` under the fastest sperm, the others to the figure grid. A
        sequence of paths names each figure by its file stem (``plots/speeds.png``:
        ``"speeds"``); two files of one stem, or anything else than paths, are a
        :class:`~spermtrack.errors.ParameterError`.
    captions : mapping name -> str
        Caption of each figure (:data:`spermtrack.viz.plots.PLOT_CAPTIONS` by default).
    video : path, optional
        The overlay MP4.
    out_dir : path, optional
        Folder the page is written to (for the relative link to a large video).
    embed_video : bool or None
        Embed the video as a data URI (True), link it (False), or decide by size (None:
        embed up to :data:`VIDEO_EMBED_LIMIT` bytes).
    files : sequence of str
        Other output files (relative names) to link in the details.
    kinematics : pandas.DataFrame or sequence of mappings, optional
        :func:`spermtrack.kinematics.casa`'s table (every track; the valid tracks of the
        graded classes are shown) for the sortable table of every track. Without it the
        page points to ``kinematics.csv``.
    box_statistics : bool, optional
        Show the box statistics figures (``box_centers``, ``box_coverage``,
        ``box_sizes``: annotation statistics of a dataset). Default: only when the boxes
        are the input's labels (:func:`has_labels`).
    """
    from .plots import PLOT_CAPTIONS

    plots = _plot_paths(plots)
    captions = {**PLOT_CAPTIONS, **(captions or {})}
    if box_statistics is None:
        box_statistics = has_labels(summary)
    if not box_statistics:
        for name in BOX_STATISTICS:
            plots.pop(name, None)
    cal = summary.get("calibration", {})
    source = str(summary.get("source", ""))
    name = Path(source).name or source
    warning = ""
    # the speed gates casa() used: from the kinematics table, else from the summary when the pipeline records them
    gates = (getattr(kinematics, "attrs", None) or {}).get("gates") or cal.get("gates") or summary.get("gates") or {}
    gates_source = gates.get("source") if isinstance(gates, Mapping) else None
    if not cal.get("calibrated"):
        warning = (
            '<div class="warn" id="uncalibrated"><b>Uncalibrated.</b> Without µm per pixel every length is in pixels and '
            "every speed in px/s: VCL, VSL, VAP, vprog and ALH cannot be compared with the WHO thresholds or with other "
            "samples, and no WHO grade (defined in µm/s) is given. LIN, STR, WOB and BCF have no unit and are comparable. "
            "The speed thresholds of the quality gates are "
            + (_esc(gates_source) if gates_source else "derived from the head size in the video")
            + ". Give the microscope's calibration (<code>--um-per-px</code>; see docs/calibration.md), or "
            "<code>--visem-calibration</code> for the VISEM-Tracking estimate.</div>"
        )
    elif cal.get("note"):
        warning = f'<div class="warn">{_esc(cal["note"])}</div>'
    detection_warnings = summary.get("warnings") or []
    if detection_warnings:
        items = "".join(f"<li>{_esc(w)}</li>" for w in detection_warnings)
        warning = f'<div class="warn"><b>This result may be unreliable.</b><ul>{items}</ul></div>' + warning
    look = summary.get("look")
    look_note = ""
    if look:
        look_note = (
            f'<p class="note">Measured on the video: heads {_esc(look.get("polarity"))} '
            f"({_esc(look.get('polarity_source'))}), head box {_esc(look.get('head_box_px'))} px "
            f"({_esc(look.get('head_box_source'))})" + _overlay_note(look.get("overlays")) + "; see docs/detection.md.</p>"
        )
    motility_fig = plots.pop("motility", None)
    motility_html = (
        f'<img alt="{_esc(captions.get("motility", "motility"))}" src="{data_uri(motility_fig, "image/png")}">'
        if motility_fig and cal.get("calibrated")  # uncalibrated: no grades, the table says so
        else ""
    )
    paths_fig = plots.pop("top_paths", None)
    paths_html = _figure_html("top_paths", Path(paths_fig), captions.get("top_paths", "top_paths")) if paths_fig else ""
    unit = cal.get("speed_unit", "px/s")
    if cal.get("calibrated"):
        cal_line = (
            f"Calibrated: {_num(cal.get('um_per_px'), 4)} µm per pixel, {_num(cal.get('fps'), 2)} frames/s "
            f"({_esc(calibration_origin_text(cal.get('origin', '')) or 'origin not recorded')}); speeds in µm/s."
        )
    else:
        cal_line = f"Not calibrated: lengths in pixels, speeds in px/s, {_num(cal.get('fps'), 2)} frames/s."
    frame_times = summary.get("frame_times") or {}
    if int(frame_times.get("num_repeated", 0) or 0):
        cal_line += " " + _esc(time_base_text(frame_times))
    _, _, conc_text = _concentration(summary)
    video_html, _ = _video_html(Path(video) if video else None, Path(out_dir) if out_dir else None, embed_video)
    page = Template(_TEMPLATE.read_text(encoding="utf-8")).substitute(
        title=_esc(f"spermtrack report: {name}"),
        version=_esc(summary.get("spermtrack_version", "")),
        subtitle=(
            f"<code>{_esc(source)}</code> · {_esc(summary.get('created', ''))} · spermtrack {_esc(summary.get('spermtrack_version', ''))}"
            f" · speeds in {_esc(unit)}"
        ),
        warning=warning,
        cards=_cards(summary),
        counts=_counts_sentence(summary),
        glance_notes=f'<p class="note" id="concentration">{conc_text}</p>\n<p class="note" id="calibration">{cal_line}</p>'
        + look_note,
        motility_table=_motility_table(summary),
        motility_note=_esc(
            "WHO laboratory manual, 6th edition (2021): rapid progressive >= 25 µm/s, slow progressive 5 to < 25 µm/s, "
            "non-progressive < 5 µm/s, immotile. Progressive motility (PR) = rapid + slow; total motility = PR + NP. "
            "The grade is read from vprog, the progressive velocity: the net distance the average path covers in 1 s "
            "(the WHO wording), not from VSL, which is over the whole track. "
            "Only sperm tracks that pass the quality gates are graded (not clusters or pinheads). " + _shares_sentence(summary)
        ),
        motility_figure=motility_html,
        fastest_table=_fastest_table(summary),
        fastest_note=_esc(
            f"Ranked by {summary.get('fastest_by', 'vsl').upper()} among tracks of at least "
            f"{_num(summary.get('fastest_min_duration_s'), 1)} s that pass the quality gates. "
            "vprog: progressive velocity (the speed the WHO grade is read from); VSL: straight-line, VCL: curvilinear, "
            "VAP: average-path velocity; LIN = VSL/VCL, STR = VSL/VAP, WOB = VAP/VCL in % (fractions in kinematics.csv); "
            "ALH: amplitude of lateral head displacement (peak to peak); BCF: beat-cross frequency."
        ),
        top_paths=paths_html,
        tracks_table=_tracks_table(summary, kinematics),
        tracks_note=_esc(
            "Every sperm track that passes the quality gates; click a column header to sort (again to reverse). "
            f"Speeds in {unit}, LIN/STR/WOB in %, ALH in {cal.get('length_unit', 'px')}, BCF in Hz, duration in s. "
            "The same rows, with every column and the tracks that fail a gate, are in kinematics.csv."
        ),
        video=video_html,
        figures="\n".join(_figure_html(k, Path(p), captions.get(k, k)) for k, p in plots.items())
        or '<p class="note">No figures.</p>',
        box_note=""
        if box_statistics
        else '<p class="note">Box statistics of a dataset (box centres, coverage and sizes per class) are shown only when '
        "the boxes are the input's labels; they are in the <code>plots/</code> folder.</p>",
        details=_details(summary, files),
        footer=f"Made with spermtrack {_esc(summary.get('spermtrack_version', ''))}. "
        "Dataset: VISEM-Tracking (Thambawita et al., Scientific Data 2023).",
        script=SORT_SCRIPT,
    )
    return page


def write_report(path: str | Path, summary: Mapping, **kwargs) -> Path:
    """Write :func:`render_report`'s page to ``path`` atomically (keyword arguments as there).

    ``out_dir`` defaults to the page's folder.
    """
    path = Path(path)
    kwargs.setdefault("out_dir", path.parent)
    page = render_report(summary, **kwargs)
    with atomic_open(path, "w", encoding="utf-8") as fh:
        fh.write(page)
    return path
