"""What ``mastery`` returns as dicts, with a notebook face and an Arrow side.

Dashboard view models (heatmaps, ring charts, streak trackers, progress), class summaries and
reports (ingest, fairness) stay plain ``dict``/``list`` subclasses, so JSON, equality and
``report["accepted"]`` work as before; in addition:

* ``_repr_html_`` draws them in Jupyter: the library's own accessible SVG where the core has a
  renderer (ring chart, heatmap, streak tracker, progress), else a compact HTML table. Every text
  is escaped.
* ``to_arrow()`` returns the view as a long-format :class:`~mastery.ArrowTable` (built natively:
  pyarrow is not needed), which pyarrow, Polars, pandas or DuckDB read through
  ``__arrow_c_stream__``.

``mastery.Engine`` returns these too (``ingest`` an :class:`IngestResult`, ``class_heatmap`` a
:class:`Heatmap`, the dashboards a :class:`LearnerDashboard` or :class:`ClassDashboard` whose
charts are views). A dict from elsewhere (a JSON file) becomes a view by wrapping it:
``Heatmap(json.load(f))``.

Examples
--------
>>> import mastery
>>> view = mastery.class_heatmap({"ada": {"add": 0.9}}, [{"id": "add", "label": "Addition"}],
...                              mastery.proficiency_scale("canvas"))
>>> isinstance(view, dict), type(view).__name__
(True, 'Heatmap')
>>> view.to_arrow().column_names
['row', 'row_label', 'column', 'column_label', 'value', 'text', 'color']
>>> view._repr_html_().startswith("<svg")
True
"""

from __future__ import annotations

import html
from typing import Any, ClassVar, Dict, Iterable, List, Mapping, Optional, Sequence

from . import _mastery
from .tables import ArrowTable

__all__ = [
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
    "html_table",
]

_MAX_ROWS = 50


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def html_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], caption: Optional[str] = None,
               total: Optional[int] = None) -> str:
    """A compact, escaped HTML table (at most 50 rows shown; ``total`` says how many there are).

    Examples
    --------
    >>> from mastery.views import html_table
    >>> html_table(["id"], [["<script>"]], caption="a & b")
    '<table><caption>a &amp; b</caption><thead><tr><th>id</th></tr></thead><tbody><tr><td>&lt;script&gt;</td></tr></tbody></table>'
    """
    shown = []
    for i, row in enumerate(rows):
        if i >= _MAX_ROWS:
            break
        shown.append("<tr>" + "".join(f"<td>{_esc(_fmt(v))}</td>" for v in row) + "</tr>")
    head = "".join(f"<th>{_esc(c)}</th>" for c in columns)
    cap = f"<caption>{_esc(caption)}</caption>" if caption is not None else ""
    more = f"<p>{len(shown)} of {total} rows shown</p>" if total is not None and total > len(shown) else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(shown)}</tbody></table>{more}"


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return value


def _arrow(columns: Dict[str, List[Any]]) -> ArrowTable:
    return ArrowTable(_mastery.records_arrow(columns))


def _by_column(rows: Sequence[Mapping[str, Any]], names: Sequence[str]) -> Dict[str, List[Any]]:
    return {n: [r.get(n) for r in rows] for n in names}


class View(Dict[str, Any]):
    """A dashboard view model: a ``dict`` (the core's JSON shape) that Jupyter draws and Arrow reads.

    Subclasses say which SVG renderer draws them (``kind``) and how they flatten to rows.

    Examples
    --------
    >>> from mastery.views import View
    >>> v = View({"title": "<b>"})
    >>> v["title"], "&lt;b&gt;" in v._repr_html_()
    ('<b>', True)
    """

    #: The ``mastery.render`` kind that draws this view, when there is one.
    kind: ClassVar[Optional[str]] = None

    def rows(self) -> List[Dict[str, Any]]:
        """The view in long format, one dict per row (the rows of :meth:`to_arrow`).

        Examples
        --------
        >>> from mastery.views import View
        >>> View({"a": 1, "b": "x"}).rows()
        [{'key': 'a', 'value': '1'}, {'key': 'b', 'value': 'x'}]
        """
        return [{"key": k, "value": str(v)} for k, v in self.items()]

    #: Column order of :meth:`to_arrow` (subclasses fix it, so an empty view keeps its columns).
    arrow_columns: ClassVar[Sequence[str]] = ("key", "value")

    def to_arrow(self) -> ArrowTable:
        """The view as a long-format :class:`~mastery.ArrowTable` (see :meth:`rows`).

        Examples
        --------
        >>> from mastery.views import View
        >>> View({"a": 1}).to_arrow().num_rows
        1
        """
        return _arrow(_by_column(self.rows(), self.arrow_columns))

    def svg(self) -> Optional[str]:
        """The library's accessible SVG of this view, or ``None`` when it has no renderer.

        Examples
        --------
        >>> import mastery
        >>> mastery.views.View({}).svg() is None
        True
        """
        if self.kind is None:
            return None
        return _mastery.render_svg(self.kind, dict(self))

    def _repr_html_(self) -> str:
        try:
            svg = self.svg()
        except _mastery.MasteryError:  # not the shape the renderer reads (a hand-made dict): a table
            svg = None
        if svg is not None:
            return svg
        rows = self.rows()
        return html_table(self.arrow_columns, ([r.get(c) for c in self.arrow_columns] for r in rows),
                          caption=self.get("title") if isinstance(self.get("title"), str) else type(self).__name__,
                          total=len(rows))


class Heatmap(View):
    """A heatmap view (class heatmap, activity calendar, weekly progress): ``{rows, columns,
    cells, legend, title}``; one Arrow row per cell.

    Examples
    --------
    >>> import mastery
    >>> view = mastery.class_heatmap({"ada": {"add": 0.9}, "bo": {"add": 0.4}}, [{"id": "add", "label": "Addition"}],
    ...                              mastery.proficiency_scale("canvas"))
    >>> [(r["row"], r["value"], r["text"]) for r in view.rows()]
    [('ada', 0.9, '90%'), ('bo', 0.4, '40%')]
    """

    kind = "heatmap"
    arrow_columns = ("row", "row_label", "column", "column_label", "value", "text", "color")

    def rows(self) -> List[Dict[str, Any]]:
        out = []
        cols = self.get("columns") or []
        for row, cells in zip(self.get("rows") or [], self.get("cells") or []):
            for col, cell in zip(cols, cells):
                out.append({"row": row.get("id"), "row_label": row.get("label"), "column": col.get("id"),
                            "column_label": col.get("label"), "value": cell.get("value"), "text": cell.get("text"),
                            "color": cell.get("color")})
        return out


class RingChart(View):
    """A ring chart view: ``{title, metric, rings: [...]}``; one Arrow row per ring.

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
    >>> [(r["competency"], r["mastered"], r["total"]) for r in chart.rows()]
    [('number', 1, 2)]
    """

    kind = "ring_chart"
    arrow_columns = ("competency", "label", "value", "mastered", "total", "rating", "color", "link")

    def rows(self) -> List[Dict[str, Any]]:
        return [dict(r) for r in self.get("rings") or []]


class StreakTracker(View):
    """A streak tracker view: ``{current, longest, freezes_left, weeks: [[day...]...]}``; one Arrow
    row per day.

    Examples
    --------
    >>> import mastery
    >>> report = mastery.evaluate_streak([{"at": "2024-05-01T18:00:00Z", "zone": "Europe/Paris"}],
    ...                                  "2024-05-01T20:00:00Z", "Europe/Paris")
    >>> tracker = mastery.streak_tracker(report, "2024-05-01", 1)
    >>> [(d["date"], d["state"]) for d in tracker.rows() if d["events"]]
    [('2024-05-01', 'met')]
    """

    kind = "streak_tracker"
    arrow_columns = ("week", "date", "events", "state")

    def rows(self) -> List[Dict[str, Any]]:
        return [{"week": w, **{k: day.get(k) for k in ("date", "events", "state")}}
                for w, week in enumerate(self.get("weeks") or []) for day in week]


class Progress(View):
    """Progress over time: ``{series: [{competency, label, points: [{at, value, evidence}]}]}``;
    one Arrow row per point.

    Examples
    --------
    >>> import mastery
    >>> states = [{"competency": "add", "history": [{"evidence": "e1", "score": 2, "at": "2024-05-01T10:00:00Z"},
    ...                                             {"evidence": "e2", "score": 4, "at": "2024-05-08T10:00:00Z"}]}]
    >>> p = mastery.progress_over_time(states, mastery.proficiency_scale("canvas"), {"add": "Addition"})
    >>> [(r["label"], r["value"]) for r in p.rows()]
    [('Addition', 2.0), ('Addition', 3.3)]
    """

    kind = "progress"
    arrow_columns = ("competency", "label", "at", "value", "evidence")

    def rows(self) -> List[Dict[str, Any]]:
        return [{"competency": s.get("competency"), "label": s.get("label"),
                 **{k: p.get(k) for k in ("at", "value", "evidence")}}
                for s in self.get("series") or [] for p in s.get("points") or []]


class ClassSummary(List[Dict[str, Any]]):
    """Per-competency class summary rows (a ``list`` of dicts) with a notebook table and an Arrow
    side: one Arrow row per competency, with a ``count: <level>`` column per scale level.

    Examples
    --------
    >>> import mastery
    >>> s = mastery.class_summary({"ada": {"add": 4}, "bo": {"add": 2}}, mastery.proficiency_scale("canvas"))
    >>> s.to_arrow().column_names[:5]
    ['competency', 'learners', 'mean', 'median', 'mastered_share']
    >>> s.to_arrow().to_pyarrow().column("count: Mastery").to_pylist()
    [0]
    """

    _base = ("competency", "learners", "mean", "median", "mastered_share")

    def rows(self) -> List[Dict[str, Any]]:
        """One dict per competency: the summary figures and ``count: <level>`` per level.

        Examples
        --------
        >>> import mastery
        >>> s = mastery.class_summary({"ada": {"add": 4}}, mastery.proficiency_scale("canvas"))
        >>> s.rows()[0]["count: Exceeds Mastery"]
        1
        """
        out = []
        for r in self:
            row = {k: r.get(k) for k in self._base}
            for level in r.get("levels") or []:
                row[f"count: {level.get('description')}"] = level.get("count")
            out.append(row)
        return out

    def _names(self, rows: List[Dict[str, Any]]) -> List[str]:
        names = list(self._base)
        for r in rows:
            names.extend(k for k in r if k not in names)
        return names

    def to_arrow(self) -> ArrowTable:
        """The summary as an :class:`~mastery.ArrowTable`, one row per competency.

        Examples
        --------
        >>> import mastery
        >>> mastery.class_summary({"ada": {"add": 4}}, mastery.proficiency_scale("canvas")).to_arrow().num_rows
        1
        """
        rows = self.rows()
        return _arrow(_by_column(rows, self._names(rows)))

    def _repr_html_(self) -> str:
        rows = self.rows()
        names = self._names(rows)
        return html_table(names, ([r.get(c) for c in names] for r in rows), caption="Class summary", total=len(rows))


class FairnessReport(Dict[str, Any]):
    """A fairness report (``{threshold, groups: [...], gaps: {...}}``) with a notebook table and
    an Arrow side (one row per group).

    Examples
    --------
    >>> import mastery
    >>> r = mastery.fairness_report([0.9, 0.2, 0.7, 0.1], [1, 0, 1, 0], ["a", "a", "b", "b"])
    >>> r["gaps"]["auc"], r.to_arrow().num_rows
    (0.0, 2)
    """

    _figures = ("group", "count", "auc", "selection_rate", "false_positive_rate", "false_negative_rate",
                "mean_score", "base_rate")

    def to_arrow(self) -> ArrowTable:
        """One row per group with its figures.

        Examples
        --------
        >>> import mastery
        >>> r = mastery.fairness_report([0.9, 0.2], [1, 0], ["a", "b"])
        >>> r.to_arrow().column_names[:3]
        ['group', 'count', 'auc']
        """
        return _arrow(_by_column(list(self.get("groups") or []), self._figures))

    def _repr_html_(self) -> str:
        groups = list(self.get("groups") or [])
        gaps = self.get("gaps") or {}
        rows = [[g.get(c) for c in self._figures] for g in groups]
        rows.append(["gap (max − min)", None] + [gaps.get(c) for c in self._figures[2:]])
        caption = (f"Fairness at threshold {_fmt(self.get('threshold'))}; "
                   f"calibration gap {_fmt(gaps.get('calibration'))}")
        return html_table(self._figures, rows, caption=caption)


class EvidenceReport(Dict[str, Any]):
    """What ``ingest_xapi``/``ingest_caliper``/``ingest_pybkt_csv`` return: ``{"accepted": [evidence],
    "rejected": [{index, code, field, reason}]}``, drawn in notebooks as counts and two tables.

    Examples
    --------
    >>> import mastery
    >>> report = mastery.ingest_pybkt_csv("user_id,skill_name,correct\\nu1,add,1\\n")
    >>> len(report["accepted"]), "1 accepted" in report._repr_html_()
    (1, True)
    """

    def to_arrow(self) -> ArrowTable:
        """The accepted evidence, one row each: ``id``, ``learner``, ``course``, ``competencies``
        (joined with ``,``), ``kind``, ``source``, ``occurred_at``, ``score`` (scaled), ``success``.

        Examples
        --------
        >>> import mastery
        >>> mastery.ingest_pybkt_csv("user_id,skill_name,correct\\nu1,add,1\\n").to_arrow().num_rows
        1
        """
        return _arrow(_by_column(self._accepted_rows(), self._evidence_columns))

    _evidence_columns = ("id", "learner", "course", "competencies", "kind", "source", "occurred_at", "score", "success")

    def _accepted_rows(self) -> List[Dict[str, Any]]:
        rows = []
        for e in self.get("accepted") or []:
            row = {c: e.get(c) for c in self._evidence_columns}
            row["competencies"] = ",".join(str(c) for c in e.get("competencies") or [])
            score = e.get("score")
            row["score"] = score.get("scaled") if isinstance(score, Mapping) else score
            rows.append(row)
        return rows

    def _repr_html_(self) -> str:
        accepted, rejected = self.get("accepted") or [], self.get("rejected") or []
        parts = [f"<p>{len(accepted)} accepted, {len(rejected)} rejected</p>"]
        if rejected:
            cols = ("index", "code", "field", "reason")
            parts.append(html_table(cols, ([r.get(c) for c in cols] for r in rejected), caption="Rejected",
                                    total=len(rejected)))
        if accepted:
            rows = self._accepted_rows()
            parts.append(html_table(self._evidence_columns, ([r.get(c) for c in self._evidence_columns] for r in rows),
                                    caption="Accepted", total=len(rows)))
        return "".join(parts)


class IngestResult(Dict[str, Any]):
    """An engine ingest outcome (``{new, duplicates, rejected, changes}``) with a notebook face:
    wrap what ``Engine.ingest`` returns.

    Examples
    --------
    >>> from mastery.views import IngestResult
    >>> out = IngestResult({"new": 2, "duplicates": 0, "changes": 3,
    ...                     "rejected": [{"index": 1, "code": "invalid_input", "field": "<id>", "reason": "r"}]})
    >>> "&lt;id&gt;" in out._repr_html_()
    True
    """

    def _repr_html_(self) -> str:
        rejected = self.get("rejected") or []
        head = (f"<p>{_esc(self.get('new'))} new, {_esc(self.get('duplicates'))} duplicates, "
                f"{len(rejected)} rejected, {_esc(self.get('changes'))} state changes</p>")
        if not rejected:
            return head
        cols = ("index", "code", "field", "reason")
        return head + html_table(cols, ([r.get(c) for c in cols] for r in rejected), caption="Rejected",
                                 total=len(rejected))


def _views_html(parts: Sequence[Any], caption: str) -> str:
    out = [f"<p><strong>{_esc(caption)}</strong></p>"]
    for part in parts:
        if part is not None and hasattr(part, "_repr_html_"):
            out.append(part._repr_html_())
    return "".join(out)


class LearnerDashboard(Dict[str, Any]):
    """``Engine.learner_dashboard``: ``{records, rings, gaps, next, streak, badges, progress}``,
    with ``rings`` a :class:`RingChart` (or ``None`` without a framework) and ``progress`` a
    :class:`Progress`; drawn in notebooks as both charts.

    Examples
    --------
    >>> from mastery.views import LearnerDashboard
    >>> d = LearnerDashboard({"records": [], "rings": None, "gaps": [], "next": [], "streak": None,
    ...                       "badges": [], "progress": {"series": []}})
    >>> type(d["progress"]).__name__, d["rings"] is None
    ('Progress', True)
    """

    def __init__(self, data: Mapping[str, Any]) -> None:
        super().__init__(data)
        if self.get("rings") is not None:
            self["rings"] = RingChart(self["rings"])
        if self.get("progress") is not None:
            self["progress"] = Progress(self["progress"])

    def _repr_html_(self) -> str:
        head = (f"{len(self.get('records') or [])} competencies, {len(self.get('gaps') or [])} gaps, "
                f"{len(self.get('badges') or [])} badges")
        return _views_html([self.get("rings"), self.get("progress")], head)


class ClassDashboard(Dict[str, Any]):
    """``Engine.class_dashboard``: ``{learners, heatmap, summaries, least_proficient, at_risk}``,
    with ``heatmap`` a :class:`Heatmap` and the summaries :class:`ClassSummary` lists; drawn in
    notebooks as the heatmap and the summary table.

    Examples
    --------
    >>> from mastery.views import ClassDashboard
    >>> d = ClassDashboard({"learners": 0, "heatmap": {"rows": [], "columns": [], "cells": []},
    ...                     "summaries": [], "least_proficient": [], "at_risk": None})
    >>> type(d["heatmap"]).__name__, type(d["summaries"]).__name__
    ('Heatmap', 'ClassSummary')
    """

    def __init__(self, data: Mapping[str, Any]) -> None:
        super().__init__(data)
        if self.get("heatmap") is not None:
            self["heatmap"] = Heatmap(self["heatmap"])
        for key in ("summaries", "least_proficient"):
            if self.get(key) is not None:
                self[key] = ClassSummary(self[key])

    def _repr_html_(self) -> str:
        at_risk = self.get("at_risk")
        head = f"{self.get('learners')} learners" + ("" if at_risk is None else f", {len(at_risk)} at risk")
        return _views_html([self.get("heatmap"), self.get("summaries")], head)
