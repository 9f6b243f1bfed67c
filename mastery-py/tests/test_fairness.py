"""The fairness audit: figures per group and gaps, equal to Fairlearn's MetricFrame."""

import math

import numpy as np
import pytest

import mastery


@pytest.fixture(scope="module")
def predictions():
    x, y, names = mastery.synthetic_risk_data(6000, 5)
    clf = mastery.RiskClassifier(n_estimators=30, random_state=1).fit(x[:4000], y[:4000])
    scores = clf.predict_proba(x[4000:])[:, 1]
    labels = y[4000:]
    rng = np.random.default_rng(3)
    groups = rng.choice(["north", "south", "east", "west"], size=len(labels), p=[0.4, 0.3, 0.2, 0.1])
    return scores, labels, groups


def test_report_shape_and_frame(predictions):
    scores, labels, groups = predictions
    report = mastery.fairness_report(scores, labels, groups, threshold=0.4)
    assert [g["group"] for g in report["groups"]] == ["east", "north", "south", "west"]
    assert sum(g["count"] for g in report["groups"]) == len(labels)
    sel = [g["selection_rate"] for g in report["groups"]]
    assert math.isclose(report["gaps"]["selection_rate"], max(sel) - min(sel), abs_tol=1e-15)
    frame = mastery.fairness_frame(report)
    assert list(frame.index) == ["east", "north", "south", "west", "gap"]
    assert frame.loc["gap", "auc"] == report["gaps"]["auc"]
    # A group with one class has no AUC; bad input is a typed error.
    one = mastery.fairness_report([0.2, 0.9, 0.4], [0, 1, 0], ["a", "a", "b"], 0.5)
    assert one["groups"][1]["auc"] is None and one["groups"][1]["false_negative_rate"] is None
    with pytest.raises(mastery.MasteryError) as e:
        mastery.fairness_report([0.2], [0, 1], ["a"], 0.5)
    assert e.value.code == "invalid_input"


def test_figures_equal_fairlearn_metricframe(predictions):
    fairlearn = pytest.importorskip("fairlearn.metrics")
    from sklearn.metrics import roc_auc_score

    scores, labels, groups = predictions
    threshold = 0.4
    alerted = lambda p: (np.asarray(p) >= threshold).astype(int)  # noqa: E731
    metrics = {
        "count": fairlearn.count,
        "auc": roc_auc_score,
        "selection_rate": lambda y, p: fairlearn.selection_rate(y, alerted(p)),
        "false_positive_rate": lambda y, p: fairlearn.false_positive_rate(y, alerted(p)),
        "false_negative_rate": lambda y, p: fairlearn.false_negative_rate(y, alerted(p)),
        "mean_score": lambda y, p: float(np.mean(p)),
        "base_rate": lambda y, p: float(np.mean(y)),
    }
    frame = fairlearn.MetricFrame(metrics=metrics, y_true=labels.astype(int), y_pred=scores, sensitive_features=groups)
    report = mastery.fairness_report(scores, labels, groups, threshold)
    by_group = frame.by_group
    differences = frame.difference(method="between_groups")
    for g in report["groups"]:
        for metric in metrics:
            assert math.isclose(g[metric], float(by_group.loc[g["group"], metric]), rel_tol=0, abs_tol=1e-12), (
                g["group"], metric)
    for metric in metrics:
        if metric != "count":
            assert math.isclose(report["gaps"][metric], float(differences[metric]), rel_tol=0, abs_tol=1e-12), metric
