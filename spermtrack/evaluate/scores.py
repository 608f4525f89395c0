"""Tracking results: :class:`TrackingScores` (attributes, ``to_dict``, table, pandas).

A :class:`TrackingScores` holds the *additive* statistics of one or several
sequences (event counts, the HOTA per-alpha fields of TrackEval) and derives
every ratio from them on access, so that combining sequences is exactly what
py-motmetrics (``compute_many(..., generate_overall=True)``) and TrackEval
(``combine_sequences``) do: counts are summed, ratios recomputed from the sums,
and HOTA's association and localisation terms averaged with weights TP per
alpha. It is never a mean of per-video ratios.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ..jsonutil import to_jsonable as json_safe  # the package's one JSON helper, under the name evaluate has exported
from ._inputs import EvaluationError
from .hota import ALPHAS, combine_hota, final_fields
from .table import format_value, render

#: Additive integer counts, in display order (attribute names).
COUNT_FIELDS = (
    "num_frames",
    "num_gt",
    "num_hyp",
    "num_gt_ids",
    "num_hyp_ids",
    "num_matches",
    "idsw",
    "num_transfer",
    "num_ascend",
    "num_migrate",
    "fp",
    "fn",
    "frag",
    "mt",
    "pt",
    "ml",
    "idtp",
)

#: Derived ratios (attribute names) in display order.
RATIO_FIELDS = (
    "hota",
    "deta",
    "assa",
    "loca",
    "detre",
    "detpr",
    "assre",
    "asspr",
    "mota",
    "motp",
    "idf1",
    "idp",
    "idr",
    "precision",
    "recall",
)

#: Columns of the readable table: (header, attribute, kind).
TABLE_COLUMNS = (
    ("HOTA", "hota", "pct"),
    ("DetA", "deta", "pct"),
    ("AssA", "assa", "pct"),
    ("LocA", "loca", "pct"),
    ("MOTA", "mota", "pct"),
    ("MOTP", "motp", "f3"),
    ("IDF1", "idf1", "pct"),
    ("IDP", "idp", "pct"),
    ("IDR", "idr", "pct"),
    ("IDSW", "idsw", "int"),
    ("Frag", "frag", "int"),
    ("FP", "fp", "int"),
    ("FN", "fn", "int"),
    ("MT", "mt", "int"),
    ("PT", "pt", "int"),
    ("ML", "ml", "int"),
    ("GT", "num_gt", "int"),
    ("Hyp", "num_hyp", "int"),
    ("GT IDs", "num_gt_ids", "int"),
    ("Hyp IDs", "num_hyp_ids", "int"),
)


def _div(a: float, b: float) -> float:
    """``a / b`` as NumPy divides (motmetrics' ``quiet_divide``): ``nan`` for 0/0, ``±inf`` for x/0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.true_divide(np.float64(a), np.float64(b)))


@dataclass(frozen=True, eq=False)
class TrackingScores:
    """Tracking scores of one sequence, or of several combined.

    Attributes (counts; see :data:`COUNT_FIELDS`)
    --------------------------------------------
    num_frames : frames evaluated.
    num_gt, num_hyp : ground-truth and hypothesis boxes (motmetrics' num_objects, num_predictions).
    num_gt_ids, num_hyp_ids : distinct identities (num_unique_objects; hypothesis ids).
    num_matches : MATCH events (motmetrics); ``tp = num_matches + idsw``.
    idsw, num_transfer, num_ascend, num_migrate : identity switches and their motmetrics sub-kinds.
    fp, fn : false positives and misses at ``iou_threshold``.
    frag : fragmentations (tracked -> lost -> tracked again).
    mt, pt, ml : objects tracked in >= 80 %, 20-80 %, < 20 % of their frames.
    idtp : identity true positives (frames of optimally matched track pairs that overlap).
    dist_sum : sum of ``1 - IoU`` over tp (MOTP's numerator).
    hota_fields : TrackEval's per-alpha HOTA arrays (``HOTA_TP``, ``HOTA_FN``, ``HOTA_FP``, ``AssA``,
        ``AssRe``, ``AssPr``, ``LocA``), shape (19,) each.

    Derived ratios (properties, in [0, 1] unless said)
    -------------------------------------------------
    mota, motp (mean ``1 - IoU`` of matches: motmetrics' MOTP, lower is better), idf1, idp, idr,
    precision, recall, hota, deta, assa, loca, detre, detpr, assre, asspr (means over the 19 alphas).
    Undefined ratios (0/0) are NaN; MOTA with false positives and no ground truth is ``-inf``
    (py-motmetrics' conventions).

    Other attributes
    ----------------
    name : str
        What this is ("all", a class name, a video id, "combined").
    iou_threshold : float
        IoU threshold of the CLEAR and identity metrics.
    per_class : dict[str, TrackingScores]
        Class-wise scores (matching only within each class), keyed by class name.
    per_video : dict[str, TrackingScores]
        Per-video scores when several videos were combined.
    warnings : tuple[str, ...]
        One line per sign that ground truth and hypothesis do not belong together (few shared frames,
        almost no overlapping box; evaluate/overlap.py); combined scores hold their videos' lines. Empty when fine.
    """

    num_frames: int = 0
    num_gt: int = 0
    num_hyp: int = 0
    num_gt_ids: int = 0
    num_hyp_ids: int = 0
    num_matches: int = 0
    idsw: int = 0
    num_transfer: int = 0
    num_ascend: int = 0
    num_migrate: int = 0
    fp: int = 0
    fn: int = 0
    frag: int = 0
    mt: int = 0
    pt: int = 0
    ml: int = 0
    idtp: int = 0
    dist_sum: float = 0.0
    hota_fields: dict[str, np.ndarray] = field(default_factory=lambda: combine_hota([]))
    iou_threshold: float = 0.5
    name: str = "all"
    per_class: dict[str, TrackingScores] = field(default_factory=dict)
    per_video: dict[str, TrackingScores] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    # ------------------------------------------------------------------ CLEAR MOT
    @property
    def tp(self) -> int:
        """Matched ground-truth boxes (matches + switches; motmetrics' num_detections)."""
        return self.num_matches + self.idsw

    @property
    def mota(self) -> float:
        """``1 - (FN + IDSW + FP) / num_gt``."""
        return 1.0 - _div(self.fn + self.idsw + self.fp, self.num_gt)

    @property
    def motp(self) -> float:
        """Mean ``1 - IoU`` over matched pairs (py-motmetrics' MOTP; 0 is perfect)."""
        return _div(self.dist_sum, self.tp)

    @property
    def precision(self) -> float:
        """``TP / (TP + FP)`` at the IoU threshold."""
        return _div(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        """``TP / num_gt`` at the IoU threshold."""
        return _div(self.tp, self.num_gt)

    # ------------------------------------------------------------------ identity
    @property
    def idfp(self) -> int:
        """Hypothesis boxes not covered by their identity's matched ground-truth track."""
        return self.num_hyp - self.idtp

    @property
    def idfn(self) -> int:
        """Ground-truth boxes not covered by their identity's matched hypothesis track."""
        return self.num_gt - self.idtp

    @property
    def idf1(self) -> float:
        """``2 IDTP / (num_gt + num_hyp)``."""
        return _div(2 * self.idtp, self.num_gt + self.num_hyp)

    @property
    def idp(self) -> float:
        """``IDTP / (IDTP + IDFP)``."""
        return _div(self.idtp, self.idtp + self.idfp)

    @property
    def idr(self) -> float:
        """``IDTP / (IDTP + IDFN)``."""
        return _div(self.idtp, self.idtp + self.idfn)

    # ------------------------------------------------------------------ HOTA
    @property
    def hota_alpha(self) -> dict[str, np.ndarray]:
        """Per-alpha arrays (shape (19,)): HOTA, DetA, AssA, LocA, DetRe, DetPr, AssRe, AssPr, and ``alpha``."""
        res = final_fields(self.hota_fields)
        out = {k: res[k] for k in ("HOTA", "DetA", "AssA", "LocA", "DetRe", "DetPr", "AssRe", "AssPr")}
        out["alpha"] = ALPHAS.copy()
        return out

    def _hota_mean(self, key: str) -> float:
        return float(np.mean(final_fields(self.hota_fields)[key]))

    @property
    def hota(self) -> float:
        """HOTA, the mean over alphas of ``sqrt(DetA * AssA)``."""
        return self._hota_mean("HOTA")

    @property
    def deta(self) -> float:
        """Detection accuracy ``TP / (TP + FN + FP)``, mean over alphas."""
        return self._hota_mean("DetA")

    @property
    def assa(self) -> float:
        """Association accuracy, mean over alphas."""
        return self._hota_mean("AssA")

    @property
    def loca(self) -> float:
        """Localisation accuracy (mean IoU of HOTA's TPs), mean over alphas."""
        return self._hota_mean("LocA")

    @property
    def detre(self) -> float:
        """HOTA detection recall, mean over alphas."""
        return self._hota_mean("DetRe")

    @property
    def detpr(self) -> float:
        """HOTA detection precision, mean over alphas."""
        return self._hota_mean("DetPr")

    @property
    def assre(self) -> float:
        """HOTA association recall, mean over alphas."""
        return self._hota_mean("AssRe")

    @property
    def asspr(self) -> float:
        """HOTA association precision, mean over alphas."""
        return self._hota_mean("AssPr")

    # ------------------------------------------------------------------ combining
    @staticmethod
    def combine(parts: Iterable[TrackingScores], name: str = "combined") -> TrackingScores:
        """Combine sequences as py-motmetrics and TrackEval do (sums of counts; HOTA weighted by TP).

        Class-wise scores are combined class by class. ``per_video`` of the result
        is left empty (the caller decides what to keep).
        """
        parts = list(parts)
        thresholds = {p.iou_threshold for p in parts}
        if len(thresholds) > 1:
            raise EvaluationError(f"cannot combine scores computed at different IoU thresholds {sorted(thresholds)}")
        counts = {k: sum(getattr(p, k) for p in parts) for k in COUNT_FIELDS}
        classes: dict[str, list[TrackingScores]] = {}
        for p in parts:
            for cname, cs in p.per_class.items():
                classes.setdefault(cname, []).append(cs)
        return TrackingScores(
            **counts,
            dist_sum=float(sum(p.dist_sum for p in parts)),
            hota_fields=combine_hota([p.hota_fields for p in parts]),
            iou_threshold=thresholds.pop() if thresholds else 0.5,
            name=name,
            per_class={c: TrackingScores.combine(v, name=c) for c, v in classes.items()},
        )

    def __add__(self, other: TrackingScores) -> TrackingScores:
        return TrackingScores.combine([self, other], name=self.name)

    # ------------------------------------------------------------------ output
    def metrics(self) -> dict[str, float | int]:
        """Flat dict of every ratio and count of this level (no class or video breakdown)."""
        out: dict[str, float | int] = {k: getattr(self, k) for k in RATIO_FIELDS}
        out.update({k: int(getattr(self, k)) for k in COUNT_FIELDS})
        out.update(tp=self.tp, idfp=self.idfp, idfn=self.idfn, iou_threshold=self.iou_threshold)
        return out

    def to_dict(self, alpha: bool = False) -> dict:
        """Nested dict: ``name``, the metrics, ``per_class`` and ``per_video`` (same structure).

        With ``alpha``, also the per-alpha HOTA arrays (as lists) under ``hota_alpha``.
        Values are Python floats/ints (NaN where undefined; use :func:`json_safe` for strict JSON).
        """
        out: dict = {"name": self.name, **self.metrics()}
        if alpha:
            out["hota_alpha"] = {k: v.tolist() for k, v in self.hota_alpha.items()}
        if self.per_class:
            out["per_class"] = {k: v.to_dict(alpha) for k, v in self.per_class.items()}
        if self.per_video:
            out["per_video"] = {k: v.to_dict(alpha) for k, v in self.per_video.items()}
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out

    def rows(self) -> list[tuple[str, str, TrackingScores]]:
        """``(video, class, scores)`` for every level held: videos (with their classes), then the combined rows."""
        out: list[tuple[str, str, TrackingScores]] = []
        for vid, vs in self.per_video.items():
            out.append((vid, "all", vs))
            out += [(vid, c, cs) for c, cs in vs.per_class.items()]
        top = "combined" if self.per_video else self.name
        out.append((top, "all", self))
        out += [(top, c, cs) for c, cs in self.per_class.items()]
        return out

    def table(self, columns: Sequence[str] | None = None) -> str:
        """A readable text table: one row per video and class, then the combined rows.

        ``columns`` picks headers of :data:`TABLE_COLUMNS` (default: all).
        Ratios are shown x100 except MOTP (mean 1 - IoU).
        """
        cols = [c for c in TABLE_COLUMNS if columns is None or c[0] in columns]
        header = ["video", "class", *[c[0] for c in cols]]
        body = [[vid, cname, *[format_value(getattr(s, attr), kind) for _, attr, kind in cols]] for vid, cname, s in self.rows()]
        note = (
            f"IoU threshold {self.iou_threshold:g} (CLEAR, identity); HOTA averaged over alpha 0.05..0.95; MOTP = mean(1 - IoU)"
        )
        return render(header, body, left=2) + "\n" + note

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return (
            f"TrackingScores(name={self.name!r}, HOTA={self.hota:.4f}, MOTA={self.mota:.4f}, IDF1={self.idf1:.4f}, "
            f"IDSW={self.idsw}, FP={self.fp}, FN={self.fn}, classes={list(self.per_class)}, videos={len(self.per_video)})"
        )

    def to_series(self):
        """This level's metrics as a pandas Series (name = ``self.name``)."""
        import pandas as pd

        return pd.Series(self.metrics(), name=self.name)

    def to_dataframe(self):
        """All levels as a pandas DataFrame indexed by ``(video, class)``, one column per metric."""
        import pandas as pd

        rows = self.rows()
        index = pd.MultiIndex.from_tuples([(v, c) for v, c, _ in rows], names=["video", "class"])
        return pd.DataFrame([s.metrics() for _, _, s in rows], index=index)

    def with_name(self, name: str) -> TrackingScores:
        """A copy named ``name``."""
        return replace(self, name=name)


__all__ = ["COUNT_FIELDS", "RATIO_FIELDS", "TrackingScores", "json_safe"]
