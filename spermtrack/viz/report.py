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
report and the JSON can never disagree.
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
from . import style

#: Largest overlay video (bytes) embedded in the page as a data URI by default.
VIDEO_EMBED_LIMIT = 12 * 1024 * 1024

_TEMPLATE = Path(__file__).with_name("templates") / "report.html"

#: Columns of the fastest-sperm table: key in the summary rows, header, kind of unit.
FASTEST_COLUMNS: tuple[tuple[str, str, str], ...] = (
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


def _card(key: str, value: str, unit: str = "") -> str:
    unit_html = f' <span class="u">{_esc(unit)}</span>' if unit else ""
    return f'  <div class="card"><div class="k">{_esc(key)}</div><div class="v">{value}{unit_html}</div></div>'


def _cards(summary: Mapping) -> str:
    video = summary.get("video", {})
    counts = summary.get("counts", {})
    speeds = summary.get("speeds", {})
    unit = summary.get("calibration", {}).get("speed_unit", "px/s")
    fastest = summary.get("fastest", [])
    cards = [
        _card("frames", f"{int(video.get('num_frames', 0)):,}", f"{_num(video.get('duration_s'), 1)} s"),
        _card("sperm tracks (valid)", f"{int(counts.get('valid_tracks', 0)):,}", f"of {int(counts.get('graded_tracks', 0)):,}"),
        _card("progressive (PR)", _num(summary.get("progressive_percent"), 1), "%"),
        _card("median VCL", _num(speeds.get("vcl", {}).get("median"), 1), unit),
        _card("median VSL", _num(speeds.get("vsl", {}).get("median"), 1), unit),
        _card("fastest VSL", _num(fastest[0].get("vsl") if fastest else None, 1), unit),
    ]
    return "\n".join(cards)


def _motility_table(summary: Mapping) -> str:
    motility = summary.get("motility", {})
    if not summary.get("calibration", {}).get("calibrated", False):
        return (
            "      <p><b>Not graded.</b> The WHO grades are defined in µm/s and this analysis has no "
            "calibration (µm per pixel). Run it again with <code>--um-per-px</code>.</p>"
        )
    grades = style.order_motility(motility)
    rows = []
    for g in grades:
        entry = motility[g]
        rows.append(
            f'<tr><td class="l"><span class="swatch" style="background:{style.motility_color(g)}"></span>{_esc(style.motility_label(g))}</td>'
            f"<td>{int(entry.get('count', 0)):,}</td><td>{_num(entry.get('percent'), 1)} %</td></tr>"
        )
    total = sum(int(motility[g].get("count", 0)) for g in grades)
    body = "\n".join(rows) if rows else '<tr><td class="l" colspan="3">no valid tracks</td></tr>'
    return (
        '      <table><thead><tr><th class="l">grade</th><th>tracks</th><th>share</th></tr></thead>\n'
        f"      <tbody>\n{body}\n</tbody>\n"
        f'      <tfoot><tr><th class="l">total</th><th>{total:,}</th><th>100 %</th></tr></tfoot></table>'
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
            f"{_esc(style.motility_label(grade))}</td><td>{_esc(frames)}</td></tr>"
        )
    if not body:
        span = len(cols) + 4
        body.append(
            f'<tr><td class="l" colspan="{span}">no track passed the quality gates (too short, or implausible jumps)</td></tr>'
        )
    return f"<table>{header}<tbody>\n" + "\n".join(body) + "\n</tbody></table>"


#: Figures that span the whole width of the figure grid (three panels side by side).
WIDE_FIGURES = frozenset({"box_centers", "box_coverage", "box_sizes"})


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


def _details(summary: Mapping, files: Sequence[str]) -> str:
    cal = summary.get("calibration", {})
    video = summary.get("video", {})
    counts = summary.get("counts", {})
    per_class = counts.get("tracks_per_class", {})
    if cal.get("calibrated"):
        cal_text = f"{_num(cal.get('um_per_px'), 4)} µm per pixel, {_num(cal.get('fps'), 2)} frames/s"
    else:
        cal_text = f"uncalibrated (lengths in pixels, speeds in px/s), {_num(cal.get('fps'), 2)} frames/s"
    if cal.get("origin"):
        cal_text += f" <small>({_esc(cal['origin'])})</small>"
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
        ("detector", f"<code>{_esc(summary.get('detector', ''))}</code>"),
        ("tracker", tracker_text or "defaults"),
        (
            "boxes and tracks",
            f"{int(counts.get('detections', 0)):,} detections ({_num(counts.get('mean_boxes_per_frame'), 1)} per frame), "
            f"{int(counts.get('tracked_boxes', 0)):,} in {int(counts.get('tracks', 0)):,} tracks"
            + "".join(f", {n:,} {_esc(name.replace('_', ' '))}" for name, n in per_class.items() if n),
        ),
        ("run time", timing_text or "–"),
        ("software", f"spermtrack {_esc(summary.get('spermtrack_version', ''))}"),
        ("created", _esc(summary.get("created", ""))),
    ]
    if files:
        items.append(("files", " ".join(f'<a href="{_esc(f)}">{_esc(f)}</a>' for f in files)))
    return _dl(items)


def render_report(
    summary: Mapping,
    plots: Mapping[str, str | Path] | None = None,
    captions: Mapping[str, str] | None = None,
    video: str | Path | None = None,
    out_dir: str | Path | None = None,
    embed_video: bool | None = None,
    files: Sequence[str] = (),
) -> str:
    """The report page as an HTML string.

    Parameters
    ----------
    summary : mapping
        The analysis summary (as written to ``summary.json``; see
        :func:`spermtrack.pipeline.build_summary` for its keys).
    plots : mapping name -> PNG path
        Figures to embed, in order; ``"motility"`` goes next to the WHO table,
        the others to the figure grid.
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
    """
    from .plots import PLOT_CAPTIONS

    plots = dict(plots or {})
    captions = {**PLOT_CAPTIONS, **(captions or {})}
    cal = summary.get("calibration", {})
    source = str(summary.get("source", ""))
    name = Path(source).name or source
    warning = ""
    if not cal.get("calibrated"):
        warning = (
            '<div class="warn"><b>Uncalibrated.</b> Lengths are in pixels and speeds in pixels per second, so the WHO '
            "grades (defined in µm/s) use pixel speeds and are not comparable with other samples. Give the microscope's "
            "calibration (<code>--um-per-px</code>; see docs/calibration.md), or <code>--visem-calibration</code> for the "
            "VISEM-Tracking estimate.</div>"
        )
    elif cal.get("note"):
        warning = f'<div class="warn">{_esc(cal["note"])}</div>'
    detection_warnings = summary.get("warnings") or []
    if detection_warnings:
        items = "".join(f"<li>{_esc(w)}</li>" for w in detection_warnings)
        warning = f'<div class="warn"><b>This result may be unreliable.</b><ul>{items}</ul></div>' + warning
    look = summary.get("look")
    if look:
        warning += (
            f'<p class="note">Measured on the video: heads {_esc(look.get("polarity"))} '
            f"({_esc(look.get('polarity_source'))}), head box {_esc(look.get('head_box_px'))} px "
            f"({_esc(look.get('head_box_source'))}); see docs/detection.md.</p>"
        )
    motility_fig = plots.pop("motility", None)
    motility_html = (
        f'<img alt="{_esc(captions.get("motility", "motility"))}" src="{data_uri(motility_fig, "image/png")}">'
        if motility_fig
        else ""
    )
    unit = cal.get("speed_unit", "px/s")
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
        motility_table=_motility_table(summary),
        motility_note=_esc(
            "WHO laboratory manual, 6th edition (2021): rapid progressive >= 25 µm/s, slow progressive 5 to < 25 µm/s, "
            "non-progressive < 5 µm/s, immotile. Progressive motility (PR) = rapid + slow. "
            "Only sperm tracks that pass the quality gates are graded (not clusters or pinheads)."
        ),
        motility_figure=motility_html,
        fastest_table=_fastest_table(summary),
        fastest_note=_esc(
            f"Ranked by {summary.get('fastest_by', 'vsl').upper()} among tracks of at least "
            f"{_num(summary.get('fastest_min_duration_s'), 1)} s that pass the quality gates. "
            "VSL: straight-line, VCL: curvilinear, VAP: average-path velocity; LIN = VSL/VCL, STR = VSL/VAP, WOB = VAP/VCL; "
            "ALH: amplitude of lateral head displacement; BCF: beat-cross frequency."
        ),
        video=video_html,
        figures="\n".join(_figure_html(k, Path(p), captions.get(k, k)) for k, p in plots.items())
        or '<p class="note">No figures.</p>',
        details=_details(summary, files),
        footer=f"Made with spermtrack {_esc(summary.get('spermtrack_version', ''))}. "
        "Dataset: VISEM-Tracking (Thambawita et al., Scientific Data 2023).",
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
