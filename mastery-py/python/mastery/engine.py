"""The engine as Python users see it: the native engine, whose reports and dashboards come back
as the views of :mod:`mastery.views` (still ``dict``s, with a notebook face and ``to_arrow()``).

Examples
--------
>>> import mastery
>>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
>>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
>>> engine = mastery.Engine()
>>> type(engine.ingest(svc, [e])).__name__
'IngestResult'
"""

from __future__ import annotations

from typing import Any, List, Mapping, Optional, Union

from . import _mastery
from .views import ClassDashboard, Heatmap, IngestResult, LearnerDashboard

__all__ = ["Engine"]


class Engine(_mastery.Engine):
    """Ingests evidence as a principal and reads mastery, streaks, awards, risk and dashboards
    from stored state. ``Engine()`` keeps everything in memory, ``Engine(path=dir)`` in a durable
    directory, ``Engine(store=obj)`` in a Python ``MasteryStore``; see the native methods for the
    options (``streaks``, ``achievements``, ``framework``, ``risk_model``, ``risk_bands``).

    Examples
    --------
    >>> import mastery
    >>> engine = mastery.Engine(streaks={})
    >>> isinstance(engine, mastery._mastery.Engine)
    True
    """

    def ingest(self, principal: Mapping[str, Any], evidence: Union[List[Mapping[str, Any]], Any]) -> IngestResult:
        """Stores each record once and updates mastery (one atomic store commit per batch);
        returns ``{new, duplicates, rejected, changes}`` as an :class:`~mastery.IngestResult`.
        ``evidence`` is a list of evidence dicts or an Arrow table with one row per record.

        Examples
        --------
        >>> import mastery
        >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
        ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
        >>> out = mastery.Engine().ingest(svc, [e, e])
        >>> out["new"], out["duplicates"], "1 duplicates" in out._repr_html_()
        (1, 1, True)
        """
        return IngestResult(super().ingest(principal, evidence))

    def class_heatmap(self, principal: Mapping[str, Any], course: str,
                      competencies: List[Mapping[str, str]]) -> Heatmap:
        """The class heatmap of a course (learners x ``competencies``, ``[{"id", "label"}]``, in
        that order) read from the stored records, as a :class:`~mastery.Heatmap`.

        Examples
        --------
        >>> import mastery
        >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
        ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
        >>> engine = mastery.Engine()
        >>> engine.ingest(svc, [e])["new"]
        1
        >>> tutor = {"tenant": "t1", "user": "tia", "roles": [{"role": "instructor", "courses": ["c1"]}]}
        >>> heatmap = engine.class_heatmap(tutor, "c1", [{"id": "fractions", "label": "Fractions"}])
        >>> [(r["row"], r["column"], r["value"]) for r in heatmap.rows()]
        [('amy', 'fractions', 0.9)]
        """
        return Heatmap(super().class_heatmap(principal, course, competencies))

    def learner_dashboard(self, principal: Mapping[str, Any], learner: str, at: str,
                          course: Optional[str] = None) -> LearnerDashboard:
        """A learner's dashboard at ``at`` as a :class:`~mastery.LearnerDashboard`: ``records``,
        ``rings`` (a ring chart, with a framework), ``gaps``, ``next``, ``streak``, ``badges``,
        ``progress`` (a progress view).

        Examples
        --------
        >>> import mastery
        >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
        ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
        >>> engine = mastery.Engine()
        >>> engine.ingest(svc, [e])["new"]
        1
        >>> board = engine.learner_dashboard(svc, "amy", "2026-03-03T00:00:00Z", "c1")
        >>> [(r["competency"], r["value"]) for r in board["progress"].rows()]
        [('fractions', 0.9)]
        """
        return LearnerDashboard(super().learner_dashboard(principal, learner, at, course))

    def class_dashboard(self, principal: Mapping[str, Any], course: str, at: str,
                        options: Optional[Mapping[str, Any]] = None) -> ClassDashboard:
        """A class's dashboard at ``at`` as a :class:`~mastery.ClassDashboard`: ``learners``,
        ``heatmap`` (a heatmap view), ``summaries`` and ``least_proficient`` (class summaries),
        ``at_risk`` (with a risk model).

        Examples
        --------
        >>> import mastery
        >>> svc = {"tenant": "t1", "user": "svc", "roles": [{"role": "service"}]}
        >>> e = {"id": "e1", "learner": "amy", "course": "c1", "competencies": ["fractions"], "kind": "response",
        ...      "score": {"scaled": 0.9}, "occurred_at": "2026-03-02T10:00:00Z", "source": "host"}
        >>> engine = mastery.Engine()
        >>> engine.ingest(svc, [e])["new"]
        1
        >>> board = engine.class_dashboard(svc, "c1", "2026-03-03T00:00:00Z")
        >>> board["learners"], board["summaries"].to_arrow().num_rows
        (1, 1)
        """
        return ClassDashboard(super().class_dashboard(principal, course, at, options))
