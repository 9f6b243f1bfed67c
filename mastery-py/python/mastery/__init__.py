"""mastery: competency mastery, streaks, micro-credentials and at-risk prediction.

The logic lives in the Rust core; this package converts Python data to and from it.
Documents may be passed as JSON text or as already-parsed dicts and lists.
"""

from __future__ import annotations

import json as _json
from typing import Any, List, Mapping, Optional, Union

from . import _mastery
from ._mastery import (
    Framework,
    MasteryError,
    __version__,
    calculate,
    frontier,
    proficiency_scale,
    rating_for,
    roll_up,
)
from ._mastery import evaluate_streak
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
from ._mastery import NativeRiskModel
from .fairness import fairness_frame, fairness_report
from .store import AsyncDictStore, AsyncMasteryStore, DictStore, MasteryStore, StoreConflict
from .engine import AsyncEngine, Engine
from . import views
from .views import (
    ClassSummary,
    EvidenceReport,
    FairnessReport,
    Heatmap,
    IngestResult,
    LearnerDashboard,
    ClassDashboard,
    Progress,
    RingChart,
    StreakTracker,
    View,
)



def __getattr__(name: str) -> Any:
    # scikit-learn takes about a second to import, and RiskClassifier is an sklearn estimator
    # when it is installed: mastery.risk loads on first use, not with the package (Spark workers,
    # scripts that only fit BKT or run the engine).
    if name == "RiskClassifier":
        from . import risk

        return getattr(risk, name)
    raise AttributeError(f"module 'mastery' has no attribute {name!r}")


def __dir__() -> List[str]:
    return sorted(set(globals()) | {"RiskClassifier"})


__all__ = [
    "Engine",
    "MasteryStore",
    "DictStore",
    "AsyncEngine",
    "AsyncMasteryStore",
    "AsyncDictStore",
    "Framework",
    "MasteryError",
    "StoreConflict",
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
    "views",
    "View",
    "Heatmap",
    "RingChart",
    "StreakTracker",
    "Progress",
    "ClassSummary",
    "FairnessReport",
    "EvidenceReport",
    "IngestResult",
    "LearnerDashboard",
    "ClassDashboard",
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


def ingest_xapi(statements: Document, mapping: Optional[Mapping[str, Any]] = None) -> EvidenceReport:
    """Read xAPI 1.0.3 / 2.0 statements (JSON text, bytes, a dict or a list) into evidence.

    Returns an :class:`~mastery.views.EvidenceReport` (a dict) ``{"accepted": [...], "rejected":
    [{"index", "code", "field", "reason"}]}``; raises :class:`MasteryError` only when the batch is
    not JSON at all. ``mapping`` maps activities to competencies.

    Examples
    --------
    >>> import mastery
    >>> report = mastery.ingest_xapi([{"actor": {"mbox": "mailto:ada@example.org"},
    ...     "verb": {"id": "http://adlnet.gov/expapi/verbs/passed"}, "object": {"id": "https://example.org/quiz/1"},
    ...     "result": {"score": {"scaled": 0.9}}, "timestamp": "2024-05-01T10:00:00Z"}])
    >>> report["accepted"][0]["score"], report["rejected"]
    ({'scaled': 0.9}, [])
    """
    return EvidenceReport(_mastery.ingest_xapi(_text(statements), mapping))


def ingest_caliper(document: Document, mapping: Optional[Mapping[str, Any]] = None) -> EvidenceReport:
    """Read a Caliper 1.2 envelope, event or list of events into evidence (same report shape as
    :func:`ingest_xapi`).

    Examples
    --------
    >>> import mastery
    >>> event = {"@context": "http://purl.imsglobal.org/ctx/caliper/v1p2",
    ...          "id": "urn:uuid:3a648e68-f00d-4c08-aa59-8738e1884f2c",
    ...          "type": "AssessmentItemEvent", "profile": "AssessmentProfile", "action": "Completed",
    ...          "actor": {"id": "https://example.edu/users/554433", "type": "Person"},
    ...          "object": {"id": "https://example.edu/item/1", "type": "AssessmentItem"},
    ...          "eventTime": "2024-05-01T10:00:00.000Z"}
    >>> mastery.ingest_caliper(event)["accepted"][0]["learner"]
    'https://example.edu/users/554433'
    """
    return EvidenceReport(_mastery.ingest_caliper(_text(document), mapping))


def validate_caliper(document: Document) -> None:
    """Validate any Caliper 1.2 document; raises :class:`MasteryError` naming the first bad field.

    Examples
    --------
    >>> import mastery
    >>> try:
    ...     mastery.validate_caliper({"type": "Nope"})
    ... except mastery.MasteryError as e:
    ...     print(e.code, e.field)
    invalid_input type
    """
    _mastery.validate_caliper(_text(document))


def ingest_pybkt_csv(data: Any) -> EvidenceReport:
    """Read a pyBKT-style log (``user_id, skill_name, correct[, order_id]``).

    ``data`` is CSV text, a path-like object, or a pandas DataFrame with those columns.

    Examples
    --------
    >>> import mastery
    >>> report = mastery.ingest_pybkt_csv("user_id,skill_name,correct\\nu1,add,1\\nu1,add,0\\n")
    >>> [(e["learner"], e["competencies"], e["success"]) for e in report["accepted"]]
    [('u1', ['add'], True), ('u1', ['add'], False)]
    """
    if hasattr(data, "to_csv"):
        data = data.to_csv(index=False)
    elif hasattr(data, "__fspath__"):
        with open(data, encoding="utf-8") as f:
            data = f.read()
    return EvidenceReport(_mastery.ingest_pybkt_csv(data))


def evidence_frame(report: Mapping[str, Any]):
    """The accepted evidence of a report as a pandas DataFrame (requires pandas).

    Examples
    --------
    >>> import mastery
    >>> frame = mastery.evidence_frame(mastery.ingest_pybkt_csv("user_id,skill_name,correct\\nu1,add,1\\n"))
    >>> list(frame["learner"]), list(frame["score.scaled"])
    (['u1'], [1.0])
    """
    import pandas as pd

    if not isinstance(report, Mapping) or not isinstance(report.get("accepted"), list):
        raise _invalid("report", "must be an ingest report with an `accepted` list")
    return pd.json_normalize(report["accepted"])


class Svg(str):
    """An SVG document (a ``str``); Jupyter shows it as an image.

    Examples
    --------
    >>> import mastery
    >>> svg = mastery.Svg("<svg/>")
    >>> svg == "<svg/>", svg._repr_svg_()
    (True, '<svg/>')
    """

    def _repr_svg_(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return str(self)


def render(kind: str, view: Mapping[str, Any]) -> Svg:
    """Accessible SVG for a view model: ``kind`` is ring_chart, streak_tracker, heatmap or progress.

    Examples
    --------
    >>> import mastery
    >>> view = mastery.class_heatmap({"ada": {"add": 0.9}}, [{"id": "add", "label": "Addition"}],
    ...                              mastery.proficiency_scale("canvas"))
    >>> svg = mastery.render("heatmap", view)
    >>> svg.startswith("<svg") and 'role="img"' in svg
    True
    """
    return Svg(_mastery.render_svg(kind, view))


def class_summary(scores: Mapping[str, Mapping[str, float]], scale: Mapping[str, Any],
                  competencies: Optional[List[str]] = None) -> ClassSummary:
    """Per-competency class summary (learners, mean, median, mastered share, count per level):
    ``scores`` is ``{learner: {competency: points}}``. A list of dicts with ``to_arrow()``.

    Examples
    --------
    >>> import mastery
    >>> rows = mastery.class_summary({"ada": {"add": 4}, "bo": {"add": 2}}, mastery.proficiency_scale("canvas"))
    >>> rows[0]["competency"], rows[0]["mean"], rows[0]["mastered_share"]
    ('add', 3.0, 0.5)
    >>> rows.to_arrow().to_polars()["mean"].to_list()
    [3.0]
    """
    return ClassSummary(_mastery.class_summary(scores, scale, competencies))


def streak_tracker(report: Mapping[str, Any], today: str, weeks: int) -> StreakTracker:
    """The last ``weeks`` weeks of a streak report (:func:`evaluate_streak`) as a Monday-first
    calendar, drawn as SVG in notebooks.

    Examples
    --------
    >>> import mastery
    >>> report = mastery.evaluate_streak([{"at": "2024-05-01T18:00:00Z", "zone": "Europe/Paris"}],
    ...                                  "2024-05-02T20:00:00Z", "Europe/Paris")
    >>> tracker = mastery.streak_tracker(report, "2024-05-02", 1)
    >>> [d["date"] for d in tracker["weeks"][0]][:3], tracker["current"]
    (['2024-04-29', '2024-04-30', '2024-05-01'], 1)
    """
    return StreakTracker(_mastery.streak_tracker(report, today, weeks))


def activity_calendar(report: Mapping[str, Any]) -> Heatmap:
    """Activity per date as weeks x weekdays (a heatmap view) from a streak report.

    Examples
    --------
    >>> import mastery
    >>> report = mastery.evaluate_streak([{"at": "2024-05-01T18:00:00Z", "zone": "Europe/Paris"}],
    ...                                  "2024-05-02T20:00:00Z", "Europe/Paris")
    >>> calendar = mastery.activity_calendar(report)
    >>> [c["label"] for c in calendar["columns"]][:3], calendar["rows"][0]["id"]
    (['Mon', 'Tue', 'Wed'], '2024-04-29')
    """
    return Heatmap(_mastery.activity_calendar(report))


def ring_chart(framework: Framework, standings: Mapping[str, Mapping[str, Any]], scale: Mapping[str, Any],
               areas: Optional[List[str]] = None, metric: Optional[str] = None) -> RingChart:
    """Concentric rings per competency area over the assessable competencies below each
    (``areas``: default the framework's top-level competencies, those that are children of the
    document; ``metric``: ``share_mastered`` or ``mean_value``), drawn as SVG in notebooks.

    Examples
    --------
    >>> import mastery
    >>> f = mastery.Framework.from_case_json({"CFDocument": {"identifier": "d", "title": "Maths"},
    ...     "CFItems": [{"identifier": i, "fullStatement": i.title()} for i in ("number", "add", "sub")],
    ...     "CFAssociations": [{"identifier": "l-" + c, "associationType": "isChildOf",
    ...                         "originNodeURI": {"identifier": c}, "destinationNodeURI": {"identifier": "number"}}
    ...                        for c in ("add", "sub")]})
    >>> chart = mastery.ring_chart(f, {"add": {"value": 0.9, "mastered": True}}, mastery.proficiency_scale("canvas"),
    ...                            ["number"])
    >>> [(r["label"], r["value"], r["rating"]) for r in chart["rings"]]
    [('Number', 0.5, 'Near Mastery')]
    """
    return RingChart(_mastery.ring_chart(framework, standings, scale, areas, metric))


def class_heatmap(values: Mapping[str, Mapping[str, float]], competencies: List[Mapping[str, str]],
                  scale: Mapping[str, Any]) -> Heatmap:
    """Learners x competencies: ``values[learner][competency]`` on 0..1, coloured by ``scale``;
    ``competencies`` are ``[{"id", "label"}]`` in column order.

    Examples
    --------
    >>> import mastery
    >>> view = mastery.class_heatmap({"ada": {"add": 0.9}, "bo": {"add": 0.4}}, [{"id": "add", "label": "Addition"}],
    ...                              mastery.proficiency_scale("canvas"))
    >>> [[c["text"] for c in row] for row in view["cells"]]
    [['90%'], ['40%']]
    >>> view.to_arrow().to_pyarrow().column("value").to_pylist()
    [0.9, 0.4]
    """
    return Heatmap(_mastery.class_heatmap(values, competencies, scale))


def progress_over_time(states: List[Mapping[str, Any]], scale: Mapping[str, Any],
                       labels: Optional[Mapping[str, str]] = None, window: Optional[Mapping[str, str]] = None,
                       method: Optional[Mapping[str, Any]] = None, weeks: Optional[bool] = None) -> View:
    """Trajectories per competency: ``states`` are ``{"competency", "history": [{"evidence",
    "score", "at"}]}`` (the engine's state shape), ``labels`` maps competency ids to names,
    ``window`` is ``{"from"?, "to"?}``, ``method`` a calculation method. A :class:`Progress` view,
    or with ``weeks=True`` a competency x week :class:`Heatmap`.

    Examples
    --------
    >>> import mastery
    >>> states = [{"competency": "add", "history": [{"evidence": "e1", "score": 2, "at": "2024-05-01T10:00:00Z"},
    ...                                             {"evidence": "e2", "score": 4, "at": "2024-05-08T10:00:00Z"}]}]
    >>> p = mastery.progress_over_time(states, mastery.proficiency_scale("canvas"), {"add": "Addition"})
    >>> [pt["value"] for pt in p["series"][0]["points"]]
    [2.0, 3.3]
    >>> type(mastery.progress_over_time(states, mastery.proficiency_scale("canvas"), weeks=True)).__name__
    'Heatmap'
    """
    view = _mastery.progress_over_time(states, scale, labels, window, method, weeks)
    return Heatmap(view) if weeks else Progress(view)
