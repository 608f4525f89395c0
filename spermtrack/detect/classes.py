"""Old home of the class-name mapping: it lives in :mod:`spermtrack.classes` (the foundation layer)."""

from ..classes import DROP, NAME_TO_CLASS, _norm, class_lookup

__all__ = ["DROP", "NAME_TO_CLASS", "class_lookup", "_norm"]
