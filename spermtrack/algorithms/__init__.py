"""Algorithms shared by the tracker and the metrics (the bottom layer: NumPy and Numba only).

- :mod:`.assignment`: the linear assignment solver (SciPy's algorithm in Numba) and the
  gated sparse matching the tracker uses;
- :mod:`.iou`: intersection over union of boxes, one definition (zero-area boxes overlap nothing).

Nothing here imports :mod:`spermtrack.track` or :mod:`spermtrack.evaluate`: both import these.
"""

from .assignment import assign_gated, assign_sparse, linear_sum_assignment, lsap
from .iou import box_iou, iou_matrix

__all__ = ["assign_gated", "assign_sparse", "box_iou", "iou_matrix", "linear_sum_assignment", "lsap"]
