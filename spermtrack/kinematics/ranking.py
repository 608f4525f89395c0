"""The fastest sperm of a sample, behind quality gates.

Ranking by VCL alone puts the worst tracks first: VCL sums every frame-to-frame step,
so detection jitter adds speed to every track (about ``1.8 * sigma * fps``: 1 px of
jitter at 50 fps and 0.25 µm/px adds ~22 µm/s to a still cell), a detection that
lands on a neighbour for one frame adds two long steps, and an identity switch adds
the jump between two cells. VSL (net displacement over the track's time) and VAP
(length of the smoothed path) are barely moved by jitter, and the gates below reject
the tracks whose speed comes from a switch or from too little data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..boxes import SPERM
from ..errors import ParameterError
from .casa import COLUMNS
from .config import CasaConfig, _check_number

#: Columns :func:`fastest` can rank by (lower or upper case).
RANKABLE: tuple[str, ...] = ("vsl", "vap", "vcl", "vprog", "alh_mean", "alh_max", "bcf", "lin", "str", "wob")


def fastest(
    kinematics,
    by: str = "vsl",
    n: int = 10,
    min_duration_s: float = CasaConfig.min_duration_s,
    *,
    only_valid: bool = True,
    classes: Sequence[int] | None = (SPERM,),
):
    """The ``n`` fastest tracks by ``by``, after quality gates.

    Parameters
    ----------
    kinematics : pandas.DataFrame
        The result of :func:`~spermtrack.kinematics.casa`.
    by : str
        Column to rank by, case-insensitive (``"VSL"`` works): one of :data:`RANKABLE`.
        VSL (default) ranks the cells that get furthest per second.
    n : int
        Number of tracks to return (fewer when fewer pass the gates).
    min_duration_s : float
        Shortest track (seconds) considered: a speed over a few frames is noise. The default,
        0.5 s, is CASA's validity gate (:class:`~spermtrack.kinematics.CasaConfig`
        ``min_duration_s``): the fastest cells leave the field first, so a longer gate drops
        them from the ranking (docs/kinematics.md, "The fastest sperm").
    only_valid : bool
        Drop tracks whose ``quality`` is not "ok" (too short, implausible jumps that mark
        an identity switch or a detection on a neighbour, an implausible sustained speed,
        long gaps, duplicate boxes).
    classes : sequence of int or None
        Track classes (``cls``) to rank; default sperm only. ``None`` ranks every track.

    Returns
    -------
    pandas.DataFrame
        The selected rows, fastest first, with a ``rank`` column (1 = fastest) in front.
        ``attrs`` (units) are kept and record the gates used.

    Raises
    ------
    ValueError
        ``by`` is not a rankable column, ``n`` is not a whole number >= 1, ``min_duration_s``
        is not a finite number >= 0, or the table is not a kinematics table.

    Examples
    --------
    >>> import pandas as pd
    >>> k = pd.DataFrame({"track_id": [1, 2, 3], "vsl": [30.0, 80.0, 55.0], "duration_s": [2.0, 0.4, 3.0],
    ...                   "quality": ["ok", "ok", "ok"]})
    >>> top = fastest(k, by="VSL", n=2)
    >>> top["track_id"].tolist(), top["rank"].tolist(), top["vsl"].tolist()
    ([3, 1], [1, 2], [55.0, 30.0])
    """
    col = str(by).lower()
    if col not in RANKABLE:
        raise ParameterError(f"cannot rank by {by!r}; choose one of {', '.join(RANKABLE)}")
    whole = not isinstance(n, bool) and isinstance(n, (int, float, np.integer, np.floating)) and float(n).is_integer()
    if not whole:  # 2.5 would silently give 2 rows
        raise ParameterError(f"n must be a whole number >= 1, got {n!r}")
    n = int(n)
    if n < 1:
        raise ParameterError(f"n must be >= 1, got {n}")
    _check_number("min_duration_s", min_duration_s, allow_zero=True)  # as --min-duration-s
    needed = [c for c in (col, "duration_s", "track_id") + (("quality",) if only_valid else ()) if c not in kinematics.columns]
    if needed:
        raise ParameterError(
            f"the table lacks column(s) {needed}: pass the DataFrame returned by spermtrack.kinematics.casa() "
            f"(columns {', '.join(COLUMNS[:6])}, ...)"
        )
    keep = (kinematics["duration_s"] >= float(min_duration_s)) & kinematics[col].notna()
    if only_valid:
        keep &= kinematics["quality"] == "ok"
    if classes is not None and "cls" in kinematics.columns:
        keep &= kinematics["cls"].isin(list(classes))
    top = kinematics[keep].sort_values([col, "track_id"], ascending=[False, True], kind="stable").head(n).copy()
    top.insert(0, "rank", range(1, len(top) + 1))
    top = top.reset_index(drop=True)
    top.attrs = dict(kinematics.attrs)
    top.attrs["ranking"] = {
        "by": col,
        "n": n,
        "min_duration_s": float(min_duration_s),
        "only_valid": bool(only_valid),
        "classes": None if classes is None else [int(c) for c in classes],
    }
    return top
