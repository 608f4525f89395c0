"""Sample summary: WHO class counts and percentages, mean and median kinematics."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..boxes import SPERM
from .motility import IMMOTILE, MOTILITY_CLASSES, NON_PROGRESSIVE, RAPID, SLOW, UNCALIBRATED
from .patterns import PATTERNS

#: Kinematic columns summarised by :func:`summarize`.
SUMMARY_COLUMNS: tuple[str, ...] = ("vcl", "vsl", "vap", "vprog", "lin", "str", "wob", "alh_mean", "alh_max", "bcf", "mad")


def summarize(kinematics, *, classes: Sequence[int] | None = (SPERM,)) -> dict:
    """Summary of a sample's kinematics (valid tracks only).

    Parameters
    ----------
    kinematics : pandas.DataFrame
        The result of :func:`~spermtrack.kinematics.casa`.
    classes : sequence of int or None
        Track classes (``cls``) to summarise; default sperm only (clusters and
        small-or-pinhead objects are not graded). ``None`` keeps every track.

    Returns
    -------
    dict
        JSON-ready (plain floats and ints, ``None`` for undefined values):

        - ``n_tracks`` (of the selected classes), ``n_valid`` (quality "ok"),
          ``invalid`` (count per quality flag), ``classes``;
        - ``motility``: per WHO class ``{"count", "percent"}`` over the valid tracks,
          plus ``progressive_percent`` (PR = a + b), ``total_motility_percent``
          (PR + NP) and ``immotile_percent``; ``None`` percentages without a calibration;
        - ``patterns``: the same per path pattern;
        - ``mean``, ``median``: each kinematic column over the valid tracks; ``motile_mean``
          and ``motile_median``: over the valid motile (non-immotile) tracks, the
          population CASA instruments usually report;
        - ``units``: length, speed, frequency, angle, ratio units; ``calibrated``.

    Examples
    --------
    >>> import pandas as pd
    >>> k = pd.DataFrame({"vsl": [40.0, 10.0, 0.1], "vcl": [60.0, 30.0, 12.0], "quality": ["ok"] * 3,
    ...                   "motility": ["rapid_progressive", "slow_progressive", "immotile"],
    ...                   "pattern": ["linear_progressive", "wobbly_progressive", "immotile"]})
    >>> k.attrs.update(length_unit="µm", speed_unit="µm/s")
    >>> s = summarize(k)
    >>> s["n_valid"], s["motility"]["progressive_percent"], s["median"]["vsl"], s["motile_mean"]["vsl"]
    (3, 66.66666666666667, 10.0, 25.0)
    """
    attrs = getattr(kinematics, "attrs", {}) or {}
    if classes is not None and "cls" in kinematics.columns:
        kinematics = kinematics[kinematics["cls"].isin(list(classes))]
    n_tracks = len(kinematics)
    if "quality" in kinematics.columns:
        valid_mask = (kinematics["quality"] == "ok").to_numpy()
    else:
        valid_mask = np.ones(n_tracks, bool)
    valid = kinematics[valid_mask]
    n_valid = len(valid)
    invalid: dict[str, int] = {}
    if "quality" in kinematics.columns:
        for q in kinematics["quality"][~valid_mask]:
            for flag in str(q).split(";"):
                invalid[flag] = invalid.get(flag, 0) + 1

    calibrated = attrs.get("length_unit", "µm") != "px"
    if "motility" in valid.columns:
        calibrated = calibrated and not (valid["motility"] == UNCALIBRATED).any()

    def share(column, names):
        out = {}
        for name in names:
            count = int((valid[column] == name).sum()) if column in valid.columns else 0
            pct = 100.0 * count / n_valid if (n_valid and calibrated) else None
            out[name] = {"count": count, "percent": pct}
        return out

    motility = share("motility", MOTILITY_CLASSES)

    def pct(*names):
        if not (n_valid and calibrated):
            return None
        return 100.0 * sum(motility[c]["count"] for c in names) / n_valid

    motility["progressive_percent"] = pct(RAPID, SLOW)
    motility["total_motility_percent"] = pct(RAPID, SLOW, NON_PROGRESSIVE)
    motility["immotile_percent"] = pct(IMMOTILE)

    cols = [c for c in SUMMARY_COLUMNS if c in kinematics.columns]
    motile = valid[valid["motility"] != IMMOTILE] if "motility" in valid.columns else valid
    return {
        "n_tracks": int(n_tracks),
        "classes": None if classes is None else [int(c) for c in classes],
        "n_valid": int(n_valid),
        "invalid": invalid,
        "motility": motility,
        "patterns": share("pattern", PATTERNS),
        "mean": _stat(valid, cols, np.nanmean),
        "median": _stat(valid, cols, np.nanmedian),
        "motile_mean": _stat(motile, cols, np.nanmean),
        "motile_median": _stat(motile, cols, np.nanmedian),
        "units": {
            "length": attrs.get("length_unit"),
            "speed": attrs.get("speed_unit"),
            "frequency": attrs.get("frequency_unit", "Hz"),
            "angle": attrs.get("angle_unit", "degrees"),
            "ratio": attrs.get("ratio_unit", "fraction"),
        },
        "calibrated": bool(calibrated),
    }


def _stat(df, cols, fn) -> dict:
    out = {}
    for c in cols:
        values = df[c].to_numpy(dtype=np.float64)
        values = values[np.isfinite(values)]
        v = float(fn(values)) if values.size else None
        out[c] = None if v is None or math.isnan(v) else v
    return out
