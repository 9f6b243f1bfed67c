"""scikit-learn's own estimator checks on RiskClassifier. Every check must pass; the only skip is
listed here with its reason."""

import warnings

import pytest

import mastery

estimator_checks = pytest.importorskip("sklearn.utils.estimator_checks")

# check -> why it does not run
EXPECTED_SKIPS = {
    # Array API inputs (cupy, torch...): the trees are trained in Rust on float64 host memory, so
    # the estimator does not declare `array_api_support`; scikit-learn skips the check for it.
    "check_array_api_input",
}


def test_check_estimator_passes_every_check():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = estimator_checks.check_estimator(mastery.RiskClassifier(n_estimators=5, n_jobs=1), on_fail=None)
    failed = {r["check_name"]: str(r["exception"])[:200] for r in results if r["status"] == "failed"}
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert not failed, failed
    assert skipped <= EXPECTED_SKIPS, skipped - EXPECTED_SKIPS
    assert len(results) >= 50


def test_the_binary_only_model_says_so():
    tags = mastery.RiskClassifier().__sklearn_tags__()
    assert tags.classifier_tags.multi_class is False and tags.input_tags.allow_nan is True
    with pytest.raises(ValueError, match="Only binary classification"):
        mastery.RiskClassifier(n_estimators=2).fit([[0.0], [1.0], [2.0]], [0, 1, 2])
