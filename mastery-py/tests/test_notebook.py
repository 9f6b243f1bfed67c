"""Jupyter faces: ``_repr_html_`` of models, reports and dashboard views is well-formed and
escapes every text (a ``<script>`` in an id never reaches the page as a tag)."""

from html.parser import HTMLParser

import pytest

import mastery
from mastery import views

EVIL = '<script>alert("x")</script>'
VOID = {"br", "hr", "img", "input", "link", "meta", "col", "wbr"}


class _Balance(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.tags = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()


def well_formed(markup: str) -> _Balance:
    """Parses the markup: every element closed in order, no script element."""
    assert isinstance(markup, str) and markup
    parser = _Balance()
    parser.feed(markup)
    parser.close()
    assert not parser.errors, parser.errors
    assert not parser.stack, f"unclosed: {parser.stack}"
    assert "script" not in parser.tags
    assert "<script" not in markup.lower()
    return parser


def scale():
    return mastery.proficiency_scale("canvas")


def test_heatmap_is_the_library_svg_and_escapes_ids():
    view = mastery.class_heatmap({EVIL: {"add": 0.9}}, [{"id": "add", "label": EVIL}], scale())
    markup = view._repr_html_()
    assert markup.startswith("<svg") and 'role="img"' in markup
    well_formed(markup)
    assert "&lt;script&gt;" in markup


def test_views_with_a_renderer_draw_svg():
    framework = mastery.Framework.from_case_json({
        "CFDocument": {"identifier": "d", "title": EVIL},
        "CFItems": [{"identifier": i, "fullStatement": EVIL} for i in ("number", "add")],
        "CFAssociations": [{"identifier": "l", "associationType": "isChildOf", "originNodeURI": {"identifier": "add"},
                            "destinationNodeURI": {"identifier": "number"}}]})
    ring = mastery.ring_chart(framework, {"add": {"value": 1.0, "mastered": True}}, scale(), ["number"])
    report = mastery.evaluate_streak([{"at": "2024-05-01T18:00:00Z", "zone": "Europe/Paris"}],
                                     "2024-05-02T20:00:00Z", "Europe/Paris")
    states = [{"competency": EVIL, "history": [{"evidence": EVIL, "score": 2, "at": "2024-05-01T10:00:00Z"}]}]
    for view in (ring, mastery.streak_tracker(report, "2024-05-02", 2), mastery.activity_calendar(report),
                 mastery.progress_over_time(states, scale(), {EVIL: EVIL}),
                 mastery.progress_over_time(states, scale(), {EVIL: EVIL}, weeks=True)):
        assert isinstance(view, views.View) and isinstance(view, dict)
        markup = view._repr_html_()
        assert markup.startswith("<svg"), type(view)
        well_formed(markup)


def test_a_wrapped_engine_heatmap_draws_too():
    engine = mastery.Engine()
    service = {"tenant": "t", "user": "importer", "roles": [{"role": "service"}]}
    engine.ingest(service, [{"id": "e1", "learner": EVIL, "course": "c", "competencies": ["add"], "kind": "assessment",
                             "score": {"scaled": 0.9}, "occurred_at": "2024-05-01T10:00:00Z", "source": "host"}])
    view = mastery.Heatmap(engine.class_heatmap(service, "c", [{"id": "add", "label": EVIL}]))
    assert view["rows"][0]["id"] == EVIL
    well_formed(view._repr_html_())


def test_tables_escape_every_cell():
    summary = mastery.class_summary({EVIL: {EVIL: 4}}, scale())
    fairness = mastery.fairness_report([0.9, 0.2], [1, 0], [EVIL, "b"])
    ingest = mastery.ingest_pybkt_csv(f"user_id,skill_name,correct\n\"{EVIL.replace(chr(34), chr(34) * 2)}\",s,1\n")
    outcome = mastery.IngestResult({"new": 1, "duplicates": 0, "changes": 1,
                                    "rejected": [{"index": 0, "code": "invalid_input", "field": EVIL, "reason": EVIL}]})
    plain = views.View({"title": EVIL, EVIL: EVIL})
    for obj in (summary, fairness, ingest, outcome, plain):
        markup = obj._repr_html_()
        parser = well_formed(markup)
        assert "table" in parser.tags
        assert "&lt;script&gt;" in markup, type(obj)


def test_ingest_report_counts():
    report = mastery.ingest_xapi([{"verb": {}}])
    assert isinstance(report, mastery.EvidenceReport)
    markup = report._repr_html_()
    well_formed(markup)
    assert "0 accepted, 1 rejected" in markup


def test_models():
    pd = pytest.importorskip("pandas")
    log = pd.DataFrame({"user_id": ["a", "a", "b", "b"], "skill_name": [EVIL] * 4, "correct": [0, 1, 1, 1]})
    bkt = mastery.BKTModel(num_fits=1).fit(data=log)
    assert "&lt;script&gt;" in bkt._repr_html_()
    well_formed(bkt._repr_html_())
    well_formed(mastery.BKTModel()._repr_html_())

    frame = pd.DataFrame({EVIL: [0.0, 1.0] * 20, "b": [1.0, 0.0] * 20})
    clf = mastery.RiskClassifier(n_estimators=3).fit(frame, [0, 1] * 20)
    markup = clf._repr_html_()
    well_formed(markup)
    assert "&lt;script&gt;" in markup and "Top features" in markup
    assert clf._repr_mimebundle_()["text/html"] == markup


def test_a_view_the_renderer_cannot_read_falls_back_to_a_table():
    view = mastery.Heatmap({"rows": [{"id": EVIL, "label": EVIL}], "columns": [{"id": "c", "label": "c"}],
                            "cells": [[{"value": 0.5, "text": "50%", "color": "#fff"}]]})  # no legend, no title
    markup = view._repr_html_()
    well_formed(markup)
    assert markup.startswith("<table") and "&lt;script&gt;" in markup
