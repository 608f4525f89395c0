"""``kinematics.csv`` with the unit of every column in its header, and the reader back.

One scheme, documented in docs/kinematics.md ("kinematics.csv"): a column that carries
a unit gets the unit as a suffix, ``<name>_<unit>``:

========================  ===========================  ===========================
in memory (:func:`casa`)  calibrated header            uncalibrated header
========================  ===========================  ===========================
``vcl vsl vap vprog``     ``vcl_um_s`` ...             ``vcl_px_s`` ...
``max_step_speed``        ``max_step_speed_um_s``      ``max_step_speed_px_s``
``alh_mean alh_max``      ``alh_mean_um``              ``alh_mean_px``
``wobble_rms beat_rms``   ``wobble_rms_um``            ``wobble_rms_px``
``lin str wob``           ``lin_fraction`` ...         ``lin_fraction`` ...
``bcf``                   ``bcf_hz``                   ``bcf_hz``
``mad``                   ``mad_deg``                  ``mad_deg``
========================  ===========================  ===========================

Columns whose name already ends in their unit (``duration_s``, ``max_gap_s``,
``turn_deg``) and unit-free columns (ids, frames, counts, classes, flags) keep their
name. LIN, STR and WOB are fractions (0..1) in the CSV, as in memory; the report shows
them in % (docs/report.md). Columns this module does not know are written as they are.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from ..errors import FormatError, ParameterError

#: In-memory column -> kind of unit ("speed", "length", or a fixed suffix).
UNIT_KINDS: dict[str, str] = {
    "vcl": "speed",
    "vsl": "speed",
    "vap": "speed",
    "vprog": "speed",
    "max_step_speed": "speed",
    "alh_mean": "length",
    "alh_max": "length",
    "wobble_rms": "length",
    "beat_rms": "length",
    "lin": "fraction",
    "str": "fraction",
    "wob": "fraction",
    "bcf": "hz",
    "mad": "deg",
}

#: Suffix of each unit in a header.
SUFFIXES: dict[str, str] = {"µm": "um", "um": "um", "px": "px", "µm/s": "um_s", "um/s": "um_s", "px/s": "px_s"}


def csv_columns(columns, length_unit: str) -> dict[str, str]:
    """In-memory column name -> CSV header for a table whose lengths are in ``length_unit``.

    >>> csv_columns(["track_id", "vcl", "alh_mean", "lin", "duration_s"], "µm")
    {'track_id': 'track_id', 'vcl': 'vcl_um_s', 'alh_mean': 'alh_mean_um', 'lin': 'lin_fraction', 'duration_s': 'duration_s'}
    >>> csv_columns(["vsl"], "px")["vsl"]
    'vsl_px_s'
    """
    if length_unit not in ("µm", "um", "px"):
        raise ParameterError(f"length unit must be 'µm' or 'px', got {length_unit!r}")
    length = SUFFIXES[length_unit]
    out = {}
    for c in columns:
        kind = UNIT_KINDS.get(c)
        if kind == "speed":
            out[c] = f"{c}_{length}_s"
        elif kind == "length":
            out[c] = f"{c}_{length}"
        elif kind is not None:
            out[c] = f"{c}_{kind}"
        else:
            out[c] = c
    return out


def write_kinematics_csv(path_or_file: str | os.PathLike | IO[str], df, *, length_unit: str | None = None):
    """Write :func:`~spermtrack.kinematics.casa`'s table as CSV with the units in the headers.

    Parameters
    ----------
    path_or_file : path or text file
        Destination; a path is written atomically (a reader never sees half a file).
    df : pandas.DataFrame
        The kinematics (in-memory column names, :data:`~spermtrack.kinematics.COLUMNS`).
    length_unit : {"µm", "px"}, optional
        Unit of its lengths; by default ``df.attrs["length_unit"]`` (set by ``casa``).

    Returns
    -------
    Path or None
        The path written (None for a file object).

    Raises
    ------
    ParameterError
        The length unit is neither given nor in ``df.attrs``.

    >>> import io
    >>> import pandas as pd
    >>> df = pd.DataFrame({"track_id": [1], "vcl": [52.25], "lin": [0.5]})
    >>> df.attrs["length_unit"] = "µm"
    >>> buf = io.StringIO()
    >>> write_kinematics_csv(buf, df)
    >>> buf.getvalue()
    'track_id,vcl_um_s,lin_fraction\\n1,52.25,0.5\\n'
    """
    unit = length_unit if length_unit is not None else (getattr(df, "attrs", {}) or {}).get("length_unit")
    if unit is None:
        raise ParameterError("the kinematics table has no length unit in df.attrs['length_unit']: pass length_unit='µm' or 'px'")
    out = df.rename(columns=csv_columns(df.columns, unit))
    if isinstance(path_or_file, (str, os.PathLike)):
        from ..atomic import atomic_open

        path = Path(path_or_file)
        with atomic_open(path, "w", newline="") as fh:
            out.to_csv(fh, index=False, float_format="%.6g", lineterminator="\n")
        return path
    out.to_csv(path_or_file, index=False, float_format="%.6g", lineterminator="\n")
    return None


def read_kinematics_csv(path_or_file: str | os.PathLike | IO[str]):
    """Read a ``kinematics.csv`` back into :func:`~spermtrack.kinematics.casa`'s column names.

    The unit suffixes are taken off (``vcl_um_s`` -> ``vcl``) and ``attrs`` get
    ``length_unit``, ``speed_unit``, ``frequency_unit``, ``angle_unit`` and ``ratio_unit``
    as ``casa`` sets them, so that :func:`~spermtrack.kinematics.summarize` reads the
    result as it reads ``casa``'s. A file written before the units were in the headers
    (plain ``vcl``, ``lin``...) is read as it is, with ``length_unit`` unknown (None).

    Raises
    ------
    FormatError
        The file mixes µm and pixel columns, or has a column twice after the suffixes
        are taken off (the file is named).

    >>> import io
    >>> df = read_kinematics_csv(io.StringIO("track_id,vcl_px_s,alh_mean_px,lin_fraction\\n3,10.5,2,0.25\\n"))
    >>> df.columns.tolist(), df.attrs["speed_unit"], float(df.loc[0, "vcl"])
    (['track_id', 'vcl', 'alh_mean', 'lin'], 'px/s', 10.5)
    """
    import pandas as pd

    name = str(path_or_file) if isinstance(path_or_file, (str, os.PathLike)) else getattr(path_or_file, "name", "<file>")
    try:
        df = pd.read_csv(path_or_file)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise FormatError(f"{name}: not a kinematics CSV ({exc})") from None
    mapping, units = _parse_headers(df.columns)
    if len(units) > 1:
        raise FormatError(f"{name}: the columns mix units {sorted(units)} (a table is in µm or in pixels, not both)")
    back = list(mapping.values())
    if len(set(back)) != len(back):
        dup = sorted({c for c in back if back.count(c) > 1})
        raise FormatError(f"{name}: column(s) {dup} appear twice once the unit suffixes are taken off")
    df = df.rename(columns=mapping)
    length = {"um": "µm", "px": "px"}.get(next(iter(units)), None) if units else None
    df.attrs.update(
        {
            "length_unit": length,
            "speed_unit": None if length is None else f"{length}/s",
            "frequency_unit": "Hz",
            "angle_unit": "degrees",
            "ratio_unit": "fraction",
        }
    )
    return df


def _parse_headers(columns) -> tuple[Mapping[str, str], set[str]]:
    """CSV header -> in-memory name, and the length units ("um", "px") the headers use."""
    mapping: dict[str, str] = {}
    units: set[str] = set()
    for col in columns:
        name = str(col)
        target = name
        for base, kind in UNIT_KINDS.items():
            if kind == "speed":
                for u in ("um", "px"):
                    if name == f"{base}_{u}_s":
                        target = base
                        units.add(u)
            elif kind == "length":
                for u in ("um", "px"):
                    if name == f"{base}_{u}":
                        target = base
                        units.add(u)
            elif name == f"{base}_{kind}":
                target = base
        mapping[name] = target
    return mapping, units


__all__ = ["write_kinematics_csv", "read_kinematics_csv", "csv_columns", "UNIT_KINDS"]
