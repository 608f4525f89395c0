"""Make values JSON-safe: NumPy scalars and arrays to Python, NaN and infinities to ``null``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np


def to_jsonable(obj):
    """A copy of ``obj`` that :func:`json.dump` writes as strict JSON.

    Mappings (keys made strings), lists and tuples are converted recursively; NumPy
    scalars and arrays become Python numbers and lists; non-finite floats become
    ``None``; paths become strings.

    >>> to_jsonable({"a": np.float32(1.5), 2: [np.nan, np.int64(3)], "p": Path("x")})
    {'a': 1.5, '2': [None, 3], 'p': 'x'}
    """
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj
