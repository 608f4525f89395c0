"""Plain-text tables of scores (the readable output of the results objects and the CLI)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def format_value(value, kind: str) -> str:
    """One cell: ``kind`` is ``"pct"`` (ratio shown x100, one decimal), ``"f3"`` (3 decimals) or ``"int"``.

    NaN and infinities (undefined ratios, e.g. MOTA without ground truth) show as ``-``.

    >>> format_value(0.8123, "pct"), format_value(float("nan"), "pct"), format_value(7, "int")
    ('81.2', '-', '7')
    """
    if value is None:
        return "-"
    if kind == "int":
        return str(int(value))
    v = float(value)
    if not math.isfinite(v):
        return "-"
    return f"{100 * v:.1f}" if kind == "pct" else f"{v:.3f}"


def render(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """Align ``rows`` under ``header``: the first ``left`` columns left-aligned, the rest right-aligned."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]

    def line(cells):
        return "  ".join(str(c).ljust(w) if k < left else str(c).rjust(w) for k, (c, w) in enumerate(zip(cells, widths)))

    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(out)
