"""mastery: competency mastery, streaks, micro-credentials and at-risk prediction.

The logic lives in the Rust core; this package converts Python data to and from it.
Documents may be passed as JSON text or as already-parsed dicts and lists.
"""

from __future__ import annotations

import json as _json
from typing import Any, Mapping, Optional, Union

from . import _mastery
from ._mastery import (
    Engine,
    Framework,
    MasteryError,
    __version__,
    calculate,
    class_summary,
    frontier,
    proficiency_scale,
    rating_for,
    roll_up,
)
from ._mastery import activity_calendar, class_heatmap, evaluate_streak, progress_over_time, ring_chart, streak_tracker
from ._mastery import (
    achievement_credential,
    bake_png,
    bake_svg,
    issuer_did,
    sign_vc_jwt,
    unbake_png,
    unbake_svg,
    verify_vc_jwt,
    sign_data_integrity,
    verify_credential,
    canonicalize,
    certificate_svg,
    certificate_pdf,
)
from ._mastery import population_stability_index, risk_band, risk_metrics, synthetic_risk_data
from .bkt import BKTModel
from . import tables
from .tables import ArrowTable, PrintProgress, TqdmProgress
from .pipelines import RiskDataset, badge_gallery, load_oulad, risk_features
from .risk import NativeRiskModel, RiskClassifier
from .fairness import fairness_frame, fairness_report
from .store import DictStore, MasteryStore

__all__ = [
    "Engine",
    "MasteryStore",
    "DictStore",
    "Framework",
    "MasteryError",
    "ingest_xapi",
    "ingest_caliper",
    "validate_caliper",
    "ingest_pybkt_csv",
    "evidence_frame",
    "BKTModel",
    "RiskClassifier",
    "ArrowTable",
    "TqdmProgress",
    "PrintProgress",
    "risk_features",
    "load_oulad",
    "RiskDataset",
    "badge_gallery",
    "fairness_report",
    "fairness_frame",
    "NativeRiskModel",
    "risk_band",
    "risk_metrics",
    "population_stability_index",
    "synthetic_risk_data",
    "calculate",
    "proficiency_scale",
    "rating_for",
    "frontier",
    "roll_up",
    "class_summary",
    "evaluate_streak",
    "streak_tracker",
    "activity_calendar",
    "ring_chart",
    "class_heatmap",
    "progress_over_time",
    "render",
    "Svg",
    "issuer_did",
    "achievement_credential",
    "sign_vc_jwt",
    "verify_vc_jwt",
    "sign_data_integrity",
    "verify_credential",
    "canonicalize",
    "certificate_svg",
    "certificate_pdf",
    "bake_png",
    "unbake_png",
    "bake_svg",
    "unbake_svg",
    "__version__",
]

Document = Union[str, bytes, Mapping[str, Any], list]


def _invalid(field: str, reason: str) -> MasteryError:
    error = MasteryError(f"invalid {field}: {reason}")
    error.code = "invalid_input"
    error.field = field
    return error


def _text(document: Document) -> Any:
    """Bytes decoded as UTF-8; text and data pass through (the native side reads data safely:
    cycles, nesting and non-finite numbers are refused there, not by ``json.dumps``)."""
    if isinstance(document, (bytes, bytearray)):
        try:
            return bytes(document).decode("utf-8")
        except UnicodeDecodeError:
            raise _invalid("text", "is not UTF-8 text") from None
    return document


def ingest_xapi(statements: Document, mapping: Optional[Mapping[str, Any]] = None) -> dict:
    """Read xAPI 1.0.3 / 2.0 statements into evidence.

    Returns ``{"accepted": [...], "rejected": [{"index", "code", "field", "reason"}]}``;
    raises :class:`MasteryError` only when the batch is not JSON at all.
    """
    return _mastery.ingest_xapi(_text(statements), mapping)


def ingest_caliper(document: Document, mapping: Optional[Mapping[str, Any]] = None) -> dict:
    """Read a Caliper 1.2 envelope, event or list of events into evidence (same report shape)."""
    return _mastery.ingest_caliper(_text(document), mapping)


def validate_caliper(document: Document) -> None:
    """Validate any Caliper 1.2 document; raises :class:`MasteryError` naming the first bad field."""
    _mastery.validate_caliper(_text(document))


def ingest_pybkt_csv(data: Any) -> dict:
    """Read a pyBKT-style log (``user_id, skill_name, correct[, order_id]``).

    ``data`` is CSV text, a path-like object, or a pandas DataFrame with those columns.
    """
    if hasattr(data, "to_csv"):
        data = data.to_csv(index=False)
    elif hasattr(data, "__fspath__"):
        with open(data, encoding="utf-8") as f:
            data = f.read()
    return _mastery.ingest_pybkt_csv(data)


def evidence_frame(report: Mapping[str, Any]):
    """The accepted evidence of a report as a pandas DataFrame (requires pandas)."""
    import pandas as pd

    if not isinstance(report, Mapping) or not isinstance(report.get("accepted"), list):
        raise _invalid("report", "must be an ingest report with an `accepted` list")
    return pd.json_normalize(report["accepted"])


class Svg(str):
    """An SVG document; Jupyter shows it as an image."""

    def _repr_svg_(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return str(self)


def render(kind: str, view: Mapping[str, Any]) -> Svg:
    """Accessible SVG for a view model: ``kind`` is ring_chart, streak_tracker, heatmap or progress."""
    return Svg(_mastery.render_svg(kind, view))
