"""Colours, names and units shared by the overlay video, the plots and the report.

One place decides how a class or a WHO motility grade looks, so that the
video, the figures and the HTML page agree.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..boxes import CLASS_NAMES

#: Display names of the box classes (index = class id).
CLASS_LABELS: tuple[str, ...] = ("sperm", "cluster", "small or pinhead")
#: Class colours as hex strings (plots, report); index = class id.
CLASS_HEX: tuple[str, ...] = ("#f2f2f2", "#ff9f1c", "#c04cfd")
#: The same colours in OpenCV's BGR order (overlay video on a dark, phase-contrast background).
CLASS_BGR: tuple[tuple[int, int, int], ...] = ((242, 242, 242), (28, 159, 255), (253, 76, 192))
#: Box colours on a light background (bright-field look): sperm boxes dark instead of white.
CLASS_BGR_LIGHT: tuple[tuple[int, int, int], ...] = ((48, 32, 24), (0, 110, 230), (170, 30, 150))
#: Mean grey level above which a frame counts as light (boxes switch to :data:`CLASS_BGR_LIGHT`).
LIGHT_BACKGROUND = 150.0
#: Colour of the highlighted fastest sperm (BGR and hex).
HIGHLIGHT_BGR: tuple[int, int, int] = (0, 230, 255)
HIGHLIGHT_HEX = "#ffe600"

#: WHO (6th edition) motility grades in their conventional order, canonical keys.
MOTILITY_ORDER: tuple[str, ...] = ("rapid_progressive", "slow_progressive", "non_progressive", "immotile")
MOTILITY_LABELS: dict[str, str] = {
    "rapid_progressive": "rapid progressive",
    "slow_progressive": "slow progressive",
    "non_progressive": "non-progressive",
    "immotile": "immotile",
}
MOTILITY_HEX: dict[str, str] = {
    "rapid_progressive": "#1a9850",
    "slow_progressive": "#91cf60",
    "non_progressive": "#fc8d59",
    "immotile": "#d73027",
}
OTHER_HEX = "#9e9e9e"


def motility_key(name: object) -> str:
    """Canonical key of a motility grade: lower case, words joined by ``_``.

    >>> motility_key("Rapid progressive"), motility_key("non-progressive")
    ('rapid_progressive', 'non_progressive')
    """
    return "_".join(str(name).strip().lower().replace("-", " ").replace("_", " ").split())


def motility_label(name: object) -> str:
    """Human-readable label of a motility grade (unknown names are shown as given)."""
    return MOTILITY_LABELS.get(motility_key(name), str(name))


def motility_color(name: object) -> str:
    """Hex colour of a motility grade (grey for anything that is not one of the four WHO grades)."""
    return MOTILITY_HEX.get(motility_key(name), OTHER_HEX)


def order_motility(names: Iterable[object]) -> list[object]:
    """The given grade names, WHO grades first in their conventional order, then the others sorted.

    >>> order_motility(["immotile", "invalid", "rapid_progressive"])
    ['rapid_progressive', 'immotile', 'invalid']
    """
    names = list(dict.fromkeys(names))
    rank = {k: i for i, k in enumerate(MOTILITY_ORDER)}
    known = sorted((n for n in names if motility_key(n) in rank), key=lambda n: rank[motility_key(n)])
    other = sorted((n for n in names if motility_key(n) not in rank), key=str)
    return known + other


def class_label(cls: int) -> str:
    """Display name of a class id (``class 7`` for ids outside VISEM's three)."""
    return CLASS_LABELS[cls] if 0 <= cls < len(CLASS_NAMES) else f"class {cls}"


def colormap_bgr(name: str, n: int) -> np.ndarray:
    """``n`` colours of a matplotlib colormap as a ``(n, 3)`` uint8 array in BGR order."""
    import matplotlib

    rgba = matplotlib.colormaps[name](np.linspace(0.0, 1.0, n))
    return np.ascontiguousarray((rgba[:, 2::-1] * 255.0 + 0.5).astype(np.uint8))


def speed_unit_of(kinematics=None, calibration=None) -> str:
    """Speed unit of a kinematics table (its ``attrs``) or of a calibration; ``px/s`` by default."""
    if kinematics is not None:
        unit = getattr(kinematics, "attrs", {}).get("speed_unit")
        if unit:
            return str(unit)
    if calibration is not None:
        return calibration.speed_unit
    return "px/s"
