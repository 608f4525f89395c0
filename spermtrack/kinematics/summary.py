"""Sample summary: WHO class counts and shares with their sampling error, mean and median kinematics, weighted by time in view.

**Why the shares are weighted by time in view.** The WHO grades a sample by the share of
the sperm *present at one moment* that are progressive (the manual grades the cells of a
field as they are at the time of counting); CASA instruments record 0.5-1 s per field.
Over a longer recording a still cell stays one track while swimmers keep leaving and new
ones arrive, each a new track: the share of *tracks* then counts every swimmer that passed,
and rises with the recording's length (on a simulated 29-s recording whose sperm in view are
10 % progressive, 48 % of the tracks are; docs/kinematics.md, "Sample summary"). Weighting each valid track by its
time in view gives the mean over the recording of the share present at each moment, and a
cell whose track broke in two is not counted twice. The means and medians of the kinematics
are weighted the same way.

**Sampling error.** Each share comes with a 95 % Wilson score interval, with the Kish
effective number of cells ``(sum w)^2 / sum w^2`` of the weights as the sample size: a
still cell watched for the whole recording is one cell, however long it is watched.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np

from ..boxes import SPERM
from ..errors import ParameterError
from .motility import IMMOTILE, MOTILITY_CLASSES, NON_PROGRESSIVE, RAPID, SLOW, UNCALIBRATED
from .patterns import PATTERNS

#: Confidence level of the shares' intervals (:func:`share_interval`).
CI_LEVEL = 0.95
#: Sperm per assessment the WHO manual (6th ed., 2021) asks for when grading motility (in each
#: of two replicates): below it a share's sampling error is wide.
WHO_MIN_GRADED = 200

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
        - ``motility``: per WHO class ``{"count", "percent", "ci95", "percent_of_tracks"}``
          over the valid tracks: ``count`` tracks; ``percent`` the share weighted by each
          track's time in view (``duration_s``), i.e. the mean over the recording of the share
          of the cells in view; ``ci95`` its 95 % interval ``[low, high]`` (percent);
          ``percent_of_tracks`` the unweighted share of tracks, for comparison. Plus
          ``progressive_percent`` (PR = a + b), ``total_motility_percent`` (PR + NP) and
          ``immotile_percent``, each with ``..._ci95``. ``None`` percentages and intervals
          without a calibration (the grades are defined in µm/s);
        - ``patterns``: the same per path pattern;
        - ``shares``: how the shares were computed: ``weighting``, ``tracks``,
          ``effective_cells`` (the sample size of the intervals), ``interval``,
          ``who_minimum`` (:data:`WHO_MIN_GRADED`);
        - ``mean``, ``median``: each kinematic column over the valid tracks, each weighted by
          its time in view as the shares are; ``motile_mean`` and ``motile_median``: over the
          valid motile (non-immotile) tracks, the population CASA instruments usually report;
        - ``units``: length, speed, frequency, angle, ratio units; ``calibrated``.

    Examples
    --------
    >>> import pandas as pd
    >>> k = pd.DataFrame({"vsl": [40.0, 10.0, 0.1], "vcl": [60.0, 30.0, 12.0], "quality": ["ok"] * 3,
    ...                   "duration_s": [1.0, 1.0, 3.0],  # two swimmers passing, a still cell watched 3 s
    ...                   "motility": ["rapid_progressive", "slow_progressive", "immotile"],
    ...                   "pattern": ["linear_progressive", "wobbly_progressive", "immotile"]})
    >>> k.attrs.update(length_unit="µm", speed_unit="µm/s")
    >>> s = summarize(k)
    >>> s["n_valid"], round(s["motility"]["progressive_percent"], 1), s["median"]["vsl"], s["motile_mean"]["vsl"]
    (3, 40.0, 0.1, 25.0)
    >>> round(s["motility"]["immotile"]["percent_of_tracks"], 1), s["shares"]["effective_cells"]
    (33.3, 2.3)
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

    weight = _time_in_view(valid)
    n_effective = float(weight.sum() ** 2 / (weight**2).sum()) if n_valid else 0.0
    graded = bool(n_valid and calibrated)

    def share(column, *names) -> dict:
        """Tracks, time-weighted percent, its interval and percent of tracks of the classes ``names`` together."""
        mask = valid[column].isin(names).to_numpy() if column in valid.columns else np.zeros(n_valid, bool)
        count = int(mask.sum())
        if not graded:
            return {"count": count, "percent": None, "ci95": None, "percent_of_tracks": None}
        fraction = float(weight[mask].sum() / weight.sum())
        return {
            "count": count,
            "percent": 100.0 * fraction,
            "ci95": list(share_interval(fraction, n_effective)),
            "percent_of_tracks": 100.0 * count / n_valid,
        }

    motility = {name: share("motility", name) for name in MOTILITY_CLASSES}
    for key, names in (
        ("progressive", (RAPID, SLOW)),
        ("total_motility", (RAPID, SLOW, NON_PROGRESSIVE)),
        ("immotile", (IMMOTILE,)),
    ):
        combined = share("motility", *names)
        motility[f"{key}_percent"] = combined["percent"]
        motility[f"{key}_ci95"] = combined["ci95"]

    cols = [c for c in SUMMARY_COLUMNS if c in kinematics.columns]
    motile_mask = (valid["motility"] != IMMOTILE).to_numpy() if "motility" in valid.columns else np.ones(n_valid, bool)
    motile = valid[motile_mask]
    return {
        "n_tracks": int(n_tracks),
        "classes": None if classes is None else [int(c) for c in classes],
        "n_valid": int(n_valid),
        "invalid": invalid,
        "motility": motility,
        "patterns": {name: share("pattern", name) for name in PATTERNS},
        "shares": {
            "weighting": "time in view",
            "tracks": int(n_valid),
            "effective_cells": round(n_effective, 1) if n_valid else 0.0,
            "interval": f"{CI_LEVEL:.0%} Wilson score interval, Kish effective number of cells",
            "who_minimum": WHO_MIN_GRADED,
        },
        "mean": _stat(valid, cols, weight, weighted_mean),
        "median": _stat(valid, cols, weight, weighted_median),
        "motile_mean": _stat(motile, cols, weight[motile_mask], weighted_mean),
        "motile_median": _stat(motile, cols, weight[motile_mask], weighted_median),
        "units": {
            "length": attrs.get("length_unit"),
            "speed": attrs.get("speed_unit"),
            "frequency": attrs.get("frequency_unit", "Hz"),
            "angle": attrs.get("angle_unit", "degrees"),
            "ratio": attrs.get("ratio_unit", "fraction"),
        },
        "calibrated": bool(calibrated),
    }


def share_interval(fraction: float, n: float, level: float = CI_LEVEL) -> tuple[float, float]:
    """Wilson score interval of a share, in percent.

    Parameters
    ----------
    fraction : float
        The observed share, 0-1.
    n : float
        Sample size; need not be whole (an effective number of cells, see the module's docstring).
    level : float
        Confidence level, 0-1.

    Returns
    -------
    (low, high) : tuple of float
        Percent, within 0-100; (0, 100) when ``n`` is 0.

    Examples
    --------
    >>> [round(x, 2) for x in share_interval(0.5, 10)]
    [23.66, 76.34]
    """
    if not 0.0 < level < 1.0:
        raise ParameterError(f"the confidence level must be between 0 and 1, got {level!r}")
    if n <= 0:
        return 0.0, 100.0
    z = NormalDist().inv_cdf(0.5 + level / 2.0)
    p = min(max(float(fraction), 0.0), 1.0)
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denom
    # the interval holds the share exactly (rounding would leave 0 % just outside [3e-15, ...])
    return 100.0 * max(0.0, min(centre - half, p)), 100.0 * min(1.0, max(centre + half, p))


def _time_in_view(valid) -> np.ndarray:
    """Each valid track's weight in the shares: its time in view (first to last point, seconds).

    Tracks without a duration column, or all of zero duration, weigh the same.
    """
    if "duration_s" not in valid.columns:
        return np.ones(len(valid))
    w = np.nan_to_num(valid["duration_s"].to_numpy(np.float64), nan=0.0)
    w = np.clip(w, 0.0, None)
    return w if w.sum() > 0 else np.ones(len(valid))


def weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    """Mean of ``values`` weighted by ``weights`` (>= 0; equal weights when they sum to 0)."""
    w = weights if weights.sum() > 0 else np.ones_like(weights)
    return float(np.sum(values * w) / np.sum(w))


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """Median of ``values`` weighted by ``weights``: the smallest value whose cumulative weight
    reaches half the total (NumPy's ``inverted_cdf`` quantile with weights), or the midpoint of
    it and the next where the cumulative weight is exactly half, so that equal weights give
    :func:`numpy.median`. Equal weights when they sum to 0."""
    w = weights if weights.sum() > 0 else np.ones_like(weights)
    order = np.argsort(values, kind="stable")
    v, cumulative = values[order], np.cumsum(w[order])
    half = 0.5 * cumulative[-1]
    i = int(np.searchsorted(cumulative, half))
    if i + 1 < len(v) and np.isclose(cumulative[i], half, rtol=1e-12, atol=0.0):
        return float(0.5 * (v[i] + v[i + 1]))
    return float(v[i])


def _stat(df, cols, weights: np.ndarray, fn) -> dict:
    """``fn(values, weights)`` of each column over its finite values (None where none is)."""
    out = {}
    for c in cols:
        values = df[c].to_numpy(dtype=np.float64)
        finite = np.isfinite(values)
        v = float(fn(values[finite], weights[finite])) if finite.any() else None
        out[c] = None if v is None or math.isnan(v) else v
    return out
