"""The linear assignment solvers, now in :mod:`spermtrack.algorithms.assignment` (re-exported here).

Kept so that ``from spermtrack.track.assignment import ...`` keeps working; new code
imports :mod:`spermtrack.algorithms.assignment`.
"""

from ..algorithms.assignment import (
    LSAP_INFEASIBLE,
    LSAP_INVALID,
    LSAP_OK,
    MAX_EXACT_CELLS,
    assign_gated,
    assign_sparse,
    linear_sum_assignment,
    lsap,
)

__all__ = [
    "LSAP_INFEASIBLE",
    "LSAP_INVALID",
    "LSAP_OK",
    "MAX_EXACT_CELLS",
    "assign_gated",
    "assign_sparse",
    "linear_sum_assignment",
    "lsap",
]
