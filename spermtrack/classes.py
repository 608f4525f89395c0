"""Mapping a model's class ids to spermtrack's (0 sperm, 1 cluster, 2 small-or-pinhead)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np

from .boxes import CLUSTER, PINHEAD, SPERM

#: Names (normalised: lower case, spaces and dashes as underscores) recognised for each class.
NAME_TO_CLASS: dict[str, int] = {
    "sperm": SPERM,
    "spermatozoon": SPERM,
    "normal": SPERM,
    "cluster": CLUSTER,
    "clusters": CLUSTER,
    "small_or_pinhead": PINHEAD,
    "small_or_pinheads": PINHEAD,
    "pinhead": PINHEAD,
    "small": PINHEAD,
}

#: Marks a model class that has no spermtrack class (its boxes are dropped).
DROP = -1


def _norm(name: str) -> str:
    return "_".join(str(name).lower().replace("-", " ").replace("_", " ").split())


def class_lookup(
    names: Mapping[int, str] | list[str] | None,
    nc: int,
    class_map: Mapping[int, int] | None = None,
    warn: bool = True,
) -> np.ndarray:
    """An int16 lookup table ``model class id -> spermtrack class id`` (``DROP`` = drop the box).

    An explicit ``class_map`` ``{model id: spermtrack id}`` wins (unlisted ids are dropped).
    Otherwise, when every name of the model is a known sperm class name the mapping follows the names;
    otherwise it follows the index (model class ``k`` is spermtrack class ``k`` for ``k < 3``)
    and classes ``>= 3`` are dropped with a warning.

    >>> class_lookup({0: "Sperm", 1: "small or pinhead", 2: "cluster"}, 3).tolist()
    [0, 2, 1]
    >>> class_lookup(None, 3).tolist()
    [0, 1, 2]
    >>> class_lookup(None, 2, class_map={1: 0}).tolist()
    [-1, 0]
    """
    if class_map is not None:
        table = np.full(max(nc, max(class_map, default=0) + 1, 1), DROP, np.int16)
        for k, v in class_map.items():
            table[int(k)] = int(v)
        return table
    if names is not None and not isinstance(names, Mapping):
        names = dict(enumerate(names))
    table = np.full(max(nc, 1), DROP, np.int16)
    if names and all(_norm(names.get(k, "")) in NAME_TO_CLASS for k in range(nc)):
        for k in range(nc):
            table[k] = NAME_TO_CLASS[_norm(names[k])]
        return table
    table[: min(nc, 3)] = np.arange(min(nc, 3))
    if nc > 3 and warn:
        shown = dict(list((names or {}).items())[:6])
        warnings.warn(
            f"the model has {nc} classes whose names {shown}... are not sperm/cluster/small_or_pinhead: "
            "classes 0, 1, 2 are taken by index and boxes of classes >= 3 are dropped",
            stacklevel=3,
        )
    return table
