"""Old home of the adapters to other tools: they live in :mod:`spermtrack.interop` (the foundation layer).

Every public name keeps working from here.
"""

from ..interop import (
    DEFAULT_BOX_PX,
    SIZE_TO_SIDE,
    TRACKMATE_COLUMNS,
    from_supervision,
    from_trackpy,
    from_ultralytics,
    to_supervision,
    to_trackpy,
    trackmate_table,
    write_trackmate_csv,
)

__all__ = [
    "DEFAULT_BOX_PX",
    "SIZE_TO_SIDE",
    "TRACKMATE_COLUMNS",
    "from_supervision",
    "from_trackpy",
    "from_ultralytics",
    "to_supervision",
    "to_trackpy",
    "trackmate_table",
    "write_trackmate_csv",
]
