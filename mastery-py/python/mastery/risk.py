"""At-risk prediction with a scikit-learn compatible estimator.

``RiskClassifier`` takes LightGBM's scikit-learn parameter names where they mean the same thing,
works on numpy arrays, pandas DataFrames (read in place when their columns are float64) and
any Arrow table (pyarrow, Polars, DuckDB: columns read natively, no pandas round trip), trains
with the GIL released (progress reported, Ctrl-C honoured between boosting rounds), and explains each prediction with TreeSHAP reasons in words. The
fitted model saves to the versioned JSON model file that the browser (WASM) and phone (uniffi)
builds load and score bit for bit the same.
"""

from __future__ import annotations

import html
import json
import os
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from . import _mastery
from ._mastery import MasteryError, NativeRiskModel
from .tables import ArrowTable, ProgressCallback, is_arrow_table, progress_callback

try:  # With scikit-learn installed, RiskClassifier is a real sklearn estimator (clone, pipelines).
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        from sklearn.utils.validation import validate_data as _sk_validate_data  # scikit-learn >= 1.6
    except ImportError:  # pragma: no cover - older scikit-learn: validated here instead
        _sk_validate_data = None
    _BASES: tuple = (ClassifierMixin, BaseEstimator)
except ImportError:  # pragma: no cover - sklearn is optional
    _sk_validate_data = None

    class NotFittedError(ValueError, AttributeError):  # type: ignore[no-redef]
        """The estimator is used before ``fit`` (scikit-learn's exception when it is installed)."""

    def check_is_fitted(estimator, attributes=None):
        if not hasattr(estimator, "model_"):
            raise NotFittedError(
                f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' with appropriate "
                "arguments before using this estimator.")

    class _ParamsBase:
        """``get_params``/``set_params`` from the ``__init__`` signature, as scikit-learn's."""

        @classmethod
        def _get_param_names(cls) -> List[str]:
            import inspect

            return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

        def get_params(self, deep: bool = True) -> Dict[str, Any]:
            return {name: getattr(self, name) for name in self._get_param_names()}

        def set_params(self, **params):
            valid = self._get_param_names()
            for name, value in params.items():
                if name not in valid:
                    raise ValueError(f"Invalid parameter {name!r} for estimator {type(self).__name__}.")
                setattr(self, name, value)
            return self

        def score(self, X, y) -> float:
            """Accuracy, as scikit-learn classifiers score."""
            return float(np.mean(self.predict(X) == np.asarray(y).ravel()))  # type: ignore[attr-defined]

    _BASES = (_ParamsBase,)

__all__ = ["RiskClassifier", "NativeRiskModel", "FeatureMismatchError", "NotFittedError"]

# Where RiskClassifier keeps its own state in the model file's `host` object.
_HOST_KEY = "sklearn"


class FeatureMismatchError(MasteryError, ValueError):
    """The columns given are not the ones the model was fitted on (``code`` "invalid_input",
    ``field`` "features"); a ``ValueError`` too, as scikit-learn raises.

    Examples
    --------
    >>> import mastery, pandas as pd
    >>> clf = mastery.RiskClassifier(n_estimators=3).fit(pd.DataFrame({"a": [0.0, 1.0] * 20, "b": [1.0, 0.0] * 20}),
    ...                                                  [0, 1] * 20)
    >>> try:
    ...     clf.predict(pd.DataFrame({"a": [1.0]}))
    ... except mastery.risk.FeatureMismatchError as e:
    ...     print(e.code, e.field)
    invalid_input features
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.code = "invalid_input"
        self.field = "features"


def _column_names(X) -> Optional[List[str]]:
    """The column names of a pandas or polars DataFrame when they are all strings."""
    columns = getattr(X, "columns", None)
    if columns is None or isinstance(X, np.ndarray):
        return None
    names = list(columns)
    return [str(c) for c in names] if names and all(isinstance(c, str) for c in names) else None


def _in_fit_order(X, expected: Optional[np.ndarray]):
    """X with its columns in the order seen at fit: a DataFrame whose columns are the same names
    in another order is reordered by name; a missing or an unexpected column is refused."""
    if expected is None:
        return X
    names = _column_names(X)
    if names is None:
        return X
    want = [str(n) for n in expected]
    if names == want:
        return X
    missing = [n for n in want if n not in set(names)]
    extra = [n for n in names if n not in set(want)]
    if missing or extra or len(names) != len(want):
        parts = []
        if missing:
            parts.append(f"missing the columns {missing}")
        if extra:
            parts.append(f"has columns not seen at fit {extra}")
        if not parts:
            parts.append("has repeated columns")
        raise FeatureMismatchError("X " + " and ".join(parts) + f"; the model was fitted on {want}")
    if hasattr(X, "loc"):  # pandas
        return X.loc[:, want]
    return X.select(want)  # polars


def _arrow_names(X) -> List[str]:
    """The column names of an Arrow table-like object (read from its schema)."""
    names = getattr(X, "column_names", None)  # pyarrow
    if isinstance(names, list) and all(isinstance(c, str) for c in names):
        return names
    names = getattr(X, "columns", None)  # polars, pandas
    if names is not None and not callable(names) and all(isinstance(c, str) for c in names):
        return [str(c) for c in names]
    return list(_mastery.Table.from_arrow(X).column_names)


def _matrix(X) -> np.ndarray:
    """A C-contiguous float64 view of X (no copy when it already is one); None/NA become NaN.
    Used without scikit-learn >= 1.6, whose ``validate_data`` does this otherwise."""
    module = type(X).__module__.split(".")[0]
    if module == "polars":
        X = X.to_numpy()
    elif hasattr(X, "to_numpy"):
        X = X.to_numpy(dtype=np.float64, na_value=np.nan)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"Expected a 2D array, got {X.ndim}D; reshape a single row with X.reshape(1, -1)")
    if np.isinf(X).any():
        raise ValueError("Input X contains infinity (NaN means missing)")
    return np.ascontiguousarray(X)


def _jsonable(value):
    """Parameters as JSON (numpy scalars and arrays become Python ones)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _check_binary_target(y: np.ndarray) -> None:
    """scikit-learn's messages for a target this binary model cannot learn."""
    try:
        from sklearn.utils.multiclass import type_of_target
    except ImportError:  # pragma: no cover - without scikit-learn: the class count check below
        return
    kind = type_of_target(y, input_name="y")
    if kind in ("continuous", "continuous-multioutput", "multilabel-indicator", "multiclass-multioutput"):
        raise ValueError(f"Unknown label type: {kind}. RiskClassifier needs two classes in y")
    if kind == "multiclass":
        raise ValueError("Only binary classification is supported. The type of the target is multiclass.")


class _ArrowInput:
    """An Arrow table to read natively, with the columns to read in order."""

    __slots__ = ("data", "names")

    def __init__(self, data: Any, names: Optional[List[str]]) -> None:
        self.data, self.names = data, names


def _numpy_table(columns: Dict[str, np.ndarray]) -> Any:
    """A table of numpy columns with the Arrow PyCapsule interface (through pyarrow)."""
    import pyarrow as pa

    return pa.table({k: np.ascontiguousarray(v) for k, v in columns.items()})


class RiskClassifier(*_BASES):  # type: ignore[misc]
    """Gradient-boosted trees for P(at risk), in the style of ``lightgbm.LGBMClassifier``.

    Parameters keep LightGBM's scikit-learn names: ``n_estimators``, ``learning_rate``,
    ``num_leaves``, ``max_depth`` (-1: unlimited), ``max_bin``, ``min_child_samples``,
    ``min_child_weight``, ``reg_lambda``, ``min_split_gain``, ``subsample``,
    ``colsample_bytree``, ``scale_pos_weight``, ``monotone_constraints``, ``random_state`` and
    ``n_jobs`` (-1 or None: every core). The defaults are LightGBM's but for ``reg_lambda``: 30
    (LightGBM: 0), chosen on held-out data only (cross-validation and a later-presentation
    split within OULAD's 2013 training year, and synthetic data of 300 to 20,000 rows), where
    an L2 of 20 to 50 gave higher held-out AUCs than 0 in every case.

    Early stopping takes scikit-learn's ``HistGradientBoostingClassifier`` names:
    ``early_stopping`` ("auto": on when the training set has more than 10,000 rows, as
    scikit-learn decides; True; False), ``validation_fraction`` (the share of the training rows
    held out, stratified by class and drawn from ``random_state``; the trees learn from the
    rest) and ``n_iter_no_change`` (training stops when the held-out log loss has not improved
    for that many rounds, and the model keeps the trees up to its best round). With
    ``eval_set``, early stopping watches it instead of a held-out share. ``early_stopping_rounds``
    (LightGBM's name) turns early stopping on with that patience. After ``fit``,
    ``best_iteration_`` is the best round (None without early stopping) and ``n_iter_`` the
    rounds kept.
    ``feature_specs`` (optional) name each column for teachers: a list of dicts with ``name``,
    ``display``, ``reason`` (``{value}`` is replaced) and ``monotone``.

    In a notebook a fitted estimator shows its model (rounds, features, top importances).

    Examples
    --------
    >>> import mastery
    >>> x, y, names = mastery.synthetic_risk_data(300, 1)
    >>> clf = mastery.RiskClassifier(n_estimators=5).fit(x, y)
    >>> clf.predict(x[:3]).tolist(), clf.n_features_in_
    ([1.0, 0.0, 1.0], 30)
    """

    def __init__(
        self,
        n_estimators: int = 100,
        learning_rate: float = 0.1,
        num_leaves: int = 31,
        max_depth: int = -1,
        max_bin: int = 255,
        min_child_samples: int = 20,
        min_child_weight: float = 1e-3,
        reg_lambda: float = 30.0,
        min_split_gain: float = 0.0,
        subsample: float = 1.0,
        colsample_bytree: float = 1.0,
        scale_pos_weight: float = 1.0,
        monotone_constraints: Optional[Sequence[int]] = None,
        early_stopping_rounds: Optional[int] = None,
        early_stopping: Union[str, bool] = "auto",
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        random_state: Optional[int] = None,
        n_jobs: Optional[int] = None,
        feature_specs: Optional[List[Dict[str, Any]]] = None,
        verbose: int = 0,
    ):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.max_bin = max_bin
        self.min_child_samples = min_child_samples
        self.min_child_weight = min_child_weight
        self.reg_lambda = reg_lambda
        self.min_split_gain = min_split_gain
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.scale_pos_weight = scale_pos_weight
        self.monotone_constraints = monotone_constraints
        self.early_stopping_rounds = early_stopping_rounds
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.feature_specs = feature_specs
        self.verbose = verbose

    # scikit-learn's estimator protocol (get_params/set_params come from BaseEstimator) -------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()  # only called by scikit-learn >= 1.6, so it is there
        tags.input_tags.allow_nan = True
        tags.classifier_tags.multi_class = False  # a binary model: P(at risk)
        return tags

    def _more_tags(self) -> Dict[str, Any]:  # scikit-learn < 1.6
        return {"allow_nan": True, "binary_only": True}

    def _stopping(self, rows: int, has_eval_set: bool) -> Dict[str, Any]:
        """The core's early-stopping parameters for a training set of ``rows`` rows."""
        mode = self.early_stopping
        if not (isinstance(mode, (bool, np.bool_)) or mode == "auto"):
            raise ValueError(f"early_stopping must be 'auto', True or False; got {mode!r}")
        on = (rows > 10_000) if isinstance(mode, str) else bool(mode)
        if self.early_stopping_rounds is not None and int(self.early_stopping_rounds) > 0:
            on, patience = True, int(self.early_stopping_rounds)
        else:
            patience = int(self.n_iter_no_change)
        if not on:
            return {"early_stopping_rounds": 0, "validation_fraction": 0.0}
        if patience < 1:
            raise ValueError(f"n_iter_no_change must be at least 1; got {self.n_iter_no_change!r}")
        if has_eval_set:
            return {"early_stopping_rounds": patience, "validation_fraction": 0.0}
        fraction = float(self.validation_fraction)
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"validation_fraction must be in (0, 1); got {self.validation_fraction!r}")
        return {"early_stopping_rounds": patience, "validation_fraction": fraction}

    def _core_params(self, rows: int = 0, has_eval_set: bool = False) -> Dict[str, Any]:
        threads = self.n_jobs
        return {
            "n_estimators": int(self.n_estimators),
            "learning_rate": float(self.learning_rate),
            "num_leaves": int(self.num_leaves),
            "max_depth": 2**63 - 1 if self.max_depth is None or self.max_depth <= 0 else int(self.max_depth),
            "max_bin": int(self.max_bin),
            "min_data_in_leaf": int(self.min_child_samples),
            "min_sum_hessian_in_leaf": float(self.min_child_weight),
            "lambda_l2": float(self.reg_lambda),
            "min_gain_to_split": float(self.min_split_gain),
            "bagging_fraction": float(self.subsample),
            "feature_fraction": float(self.colsample_bytree),
            "scale_pos_weight": float(self.scale_pos_weight),
            "monotone_constraints": [int(c) for c in (self.monotone_constraints or [])],
            **self._stopping(rows, has_eval_set),
            "seed": int(self.random_state or 0),
            "num_threads": 0 if threads is None or threads < 0 else int(threads),
        }

    def _validate(self, X, reset: bool, y=None, feature_names: Optional[Sequence[str]] = None):
        """X as a C-contiguous float64 matrix (and y as an array), checked against ``fit``: the
        number of columns, and for a DataFrame the column names (reordered by name when they
        are all there in another order). ``reset`` records them (in ``fit``)."""
        if is_arrow_table(X):
            return self._validate_arrow(X, reset, y, feature_names)
        if not reset:
            X = _in_fit_order(X, getattr(self, "feature_names_in_", None))
        if _sk_validate_data is not None:
            # No `order`: a float64 DataFrame or a Fortran-ordered array is read in place (the
            # native side takes any strides), not copied into C order.
            check = dict(dtype=np.float64, ensure_all_finite="allow-nan")
            if y is None:
                out = _sk_validate_data(self, X, reset=reset, **check)
            else:
                out = _sk_validate_data(self, X, y, reset=reset, y_numeric=False, multi_output=False, **check)
        else:
            names = _column_names(X)
            x = _matrix(X)
            if reset:
                self.n_features_in_ = x.shape[1]
                if names is not None:
                    self.feature_names_in_ = np.asarray(names, dtype=object)
                elif hasattr(self, "feature_names_in_"):
                    del self.feature_names_in_
            elif x.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {x.shape[1]} features, but {type(self).__name__} is expecting "
                    f"{self.n_features_in_} features as input.")
            out = x if y is None else (x, np.asarray(y).ravel())
        if reset and feature_names is not None and not hasattr(self, "feature_names_in_"):
            if len(feature_names) != self.n_features_in_:
                raise FeatureMismatchError("feature_names must name every column of X")
        return out

    def _validate_arrow(self, X, reset: bool, y=None, feature_names: Optional[Sequence[str]] = None):
        """An Arrow table (pyarrow, Polars, DuckDB, pandas with Arrow dtypes) read natively:
        the columns seen at fit, by name, as one float64 matrix (nulls become NaN)."""
        names = _arrow_names(X)
        if reset:
            # By name: a pandas frame's stream may carry its index as an extra column.
            x, names = _mastery.arrow_matrix(X, names)
            self.n_features_in_ = x.shape[1]
            self.feature_names_in_ = np.asarray(names, dtype=object)
            if y is None:
                return x
            yy = y
            if not isinstance(yy, np.ndarray) and (hasattr(yy, "__arrow_c_stream__") or hasattr(yy, "__arrow_c_array__")):
                yy = yy.to_numpy() if hasattr(yy, "to_numpy") else np.asarray(yy)
            yy = np.asarray(yy).ravel()
            if yy.shape[0] != x.shape[0]:
                raise ValueError(f"Found input variables with inconsistent numbers of samples: [{x.shape[0]}, {yy.shape[0]}]")
            return x, yy
        expected = getattr(self, "feature_names_in_", None)
        want = [str(n) for n in expected] if expected is not None else None
        if want is not None:
            missing = [n for n in want if n not in set(names)]
            extra = [n for n in names if n not in set(want)]
            if missing or extra:
                parts = ([f"missing the columns {missing}"] if missing else []) + (
                    [f"has columns not seen at fit {extra}"] if extra else [])
                raise FeatureMismatchError("X " + " and ".join(parts) + f"; the model was fitted on {want}")
        elif len(names) != self.n_features_in_:
            raise ValueError(f"X has {len(names)} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input.")
        return _ArrowInput(X, want if want is not None else names)

    def fit(self, X, y, eval_set=None, feature_names: Optional[Sequence[str]] = None,
            progress: Optional[ProgressCallback] = None) -> "RiskClassifier":
        """Trains on X (NaN = missing) and y (0/1, or two classes that sort so). X is a numpy
        array, a pandas DataFrame or any Arrow table (pyarrow, Polars, DuckDB). The column
        names of a DataFrame or table become ``feature_names_in_``, and later calls must give
        the same columns (in any order); ``feature_names`` names the columns of an array.
        ``progress(stage, done, total)`` is called after every boosting round (``verbose``: a
        tqdm bar); Ctrl-C stops training with ``KeyboardInterrupt``.

        >>> import mastery
        >>> x, y, names = mastery.synthetic_risk_data(500, 1)
        >>> RiskClassifier(n_estimators=5).fit(x, y).predict_proba(x[:2]).shape
        (2, 2)
        """
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        x, raw = self._validate(X, reset=True, y=y, feature_names=feature_names)
        x = np.asarray(x, dtype=np.float64)
        _check_binary_target(raw)
        self.classes_ = np.unique(raw)
        if len(self.classes_) != 2:
            raise ValueError(f"RiskClassifier needs exactly two classes in y; got {len(self.classes_)} class")
        labels = (raw == self.classes_[1]).astype(np.float64)
        if hasattr(self, "feature_names_in_"):
            names = [str(n) for n in self.feature_names_in_]
        elif feature_names is not None:
            names = [str(n) for n in feature_names]
        else:
            names = [f"x{i}" for i in range(x.shape[1])]
        eval_x = eval_y = None
        if eval_set:
            ex, ey = eval_set[0] if isinstance(eval_set, list) else eval_set
            eval_x = self._dense(self._validate(ex, reset=False))
            eval_y = (np.asarray(ey).ravel() == self.classes_[1]).astype(np.float64)
        self.model_ = NativeRiskModel.train_gbdt(
            x, labels, names, self._core_params(x.shape[0], eval_x is not None), self.feature_specs, eval_x, eval_y,
            progress=progress_callback(progress, self.verbose))
        self._fitted_attributes()
        return self

    def _fitted_attributes(self) -> None:
        splits, gains = self.model_.importance()
        self.feature_importances_ = np.asarray(splits, dtype=np.int64)
        self.feature_gains_ = np.asarray(gains)
        self.best_iteration_ = self.model_.best_iteration
        self.n_iter_ = int(self.model_.rounds)

    def _check(self):
        check_is_fitted(self, "model_")

    @staticmethod
    def _dense(x) -> np.ndarray:
        if isinstance(x, _ArrowInput):
            return _mastery.arrow_matrix(x.data, x.names)[0]
        return np.asarray(x, dtype=np.float64)

    def _x(self, X) -> np.ndarray:
        self._check()
        return self._dense(self._validate(X, reset=False))

    def _scores(self, X) -> np.ndarray:
        """P(at risk) per row; an Arrow table is scored in blocks straight from its columns."""
        self._check()
        x = self._validate(X, reset=False)
        if isinstance(x, _ArrowInput):
            return _mastery.risk_predict_arrow(self.model_, x.data, x.names, numpy=True)
        return self.model_.predict_proba(np.asarray(x, dtype=np.float64))

    def predict_proba(self, X) -> np.ndarray:
        """``[P(not at risk), P(at risk)]`` per row (numpy, pandas or any Arrow table).

        >>> import mastery
        >>> x, y, _ = mastery.synthetic_risk_data(300, 2)
        >>> p = RiskClassifier(n_estimators=3).fit(x, y).predict_proba(x)
        >>> bool(((p >= 0) & (p <= 1)).all())
        True
        """
        p = self._scores(X)
        return np.column_stack([1.0 - p, p])

    def predict_table(self, X) -> ArrowTable:
        """P(at risk) per row as an Arrow table with one ``score`` column, computed in blocks
        from the input's columns and returned without a copy (for 10 million rows the memory
        beyond the input is the 80 MB of scores and one block).

        >>> import pyarrow as pa, mastery
        >>> x, y, names = mastery.synthetic_risk_data(300, 3)
        >>> clf = RiskClassifier(n_estimators=3).fit(pa.table(dict(zip(names, x.T))), y)
        >>> clf.predict_table(pa.table(dict(zip(names, x.T)))).column_names
        ['score']
        """
        self._check()
        x = self._validate(X, reset=False)
        if not isinstance(x, _ArrowInput):
            return ArrowTable.from_arrow(_numpy_table({"score": self.model_.predict_proba(np.asarray(x, dtype=np.float64))}))
        return ArrowTable(_mastery.risk_predict_arrow(self.model_, x.data, x.names))

    def explain_table(self, X, top: int = 3) -> ArrowTable:
        """Per row: ``score``, ``margin``, ``base`` and the ``top`` reasons (``reason_i`` in
        words, ``feature_i``, ``contribution_i``), as an Arrow table.

        >>> import pyarrow as pa, mastery
        >>> x, y, names = mastery.synthetic_risk_data(300, 4)
        >>> t = pa.table(dict(zip(names, x.T)))
        >>> RiskClassifier(n_estimators=3).fit(t, y).explain_table(t, top=1).column_names
        ['score', 'margin', 'base', 'reason_1', 'feature_1', 'contribution_1']
        """
        self._check()
        x = self._validate(X, reset=False)
        if isinstance(x, _ArrowInput):
            return ArrowTable(_mastery.risk_explain_arrow(self.model_, x.data, x.names, top))
        dense = np.asarray(x, dtype=np.float64)
        names = [str(n) for n in self.model_.feature_names]
        return ArrowTable(_mastery.risk_explain_arrow(self.model_, _numpy_table(dict(zip(names, dense.T))), names, top))

    def predict(self, X, threshold: float = 0.5) -> np.ndarray:
        """The class per row: ``classes_[1]`` where P(at risk) ≥ ``threshold``, else ``classes_[0]``.

        Examples
        --------
        >>> import mastery
        >>> x, y, names = mastery.synthetic_risk_data(300, 1)
        >>> clf = mastery.RiskClassifier(n_estimators=5).fit(x, y)
        >>> clf.predict(x[:3], threshold=0.99).tolist()
        [0.0, 0.0, 0.0]
        """
        p = self.predict_proba(X)[:, 1]
        return np.where(p >= threshold, self.classes_[1], self.classes_[0])

    def explain(self, X, top: int = 3) -> List[Dict[str, Any]]:
        """Per row: ``score``, ``margin``, ``base``, ``contributions`` and the ``reasons`` that
        raise the risk most, each with its ``text``.

        Examples
        --------
        >>> import mastery
        >>> x, y, names = mastery.synthetic_risk_data(300, 1)
        >>> clf = mastery.RiskClassifier(n_estimators=5).fit(x, y)
        >>> [r["feature"] for r in clf.explain(x[:1], top=1)[0]["reasons"]]
        ['x0']
        """
        x = self._x(X)
        return self.model_.explain_many(x, top)


    def contributions(self, X) -> np.ndarray:
        """TreeSHAP values: rows × (features + 1); each row sums to its log-odds.

        Examples
        --------
        >>> import mastery
        >>> x, y, names = mastery.synthetic_risk_data(300, 1)
        >>> clf = mastery.RiskClassifier(n_estimators=5).fit(x, y)
        >>> clf.contributions(x[:2]).shape
        (2, 31)
        """
        x = self._x(X)
        return self.model_.contributions(x)

    # The model file ------------------------------------------------------------------------
    def to_json(self) -> str:
        """The versioned model file; its ``host`` object keeps this estimator's parameters,
        classes and ``feature_names_in_`` so that ``from_json`` gives them back.

        Examples
        --------
        >>> import mastery
        >>> x, y, names = mastery.synthetic_risk_data(300, 1)
        >>> clf = mastery.RiskClassifier(n_estimators=5).fit(x, y)
        >>> import json
        >>> json.loads(clf.to_json())["host"]["sklearn"]["params"]["n_estimators"]
        5
        """
        self._check()
        doc = json.loads(self.model_.to_json())
        state: Dict[str, Any] = {
            "params": _jsonable(self.get_params(deep=False)),
            "classes": _jsonable(self.classes_),
            "n_features_in": int(self.n_features_in_),
        }
        if hasattr(self, "feature_names_in_"):
            state["feature_names_in"] = [str(n) for n in self.feature_names_in_]
        host = doc.get("host") or {}
        host[_HOST_KEY] = state
        doc["host"] = host
        return json.dumps(doc, allow_nan=False, separators=(",", ":"))

    def save(self, path: "os.PathLike[str] | str") -> None:
        """Writes the model file (:meth:`to_json`) to ``path``.

        Examples
        --------
        >>> import mastery
        >>> x, y, names = mastery.synthetic_risk_data(300, 1)
        >>> clf = mastery.RiskClassifier(n_estimators=5).fit(x, y)
        >>> clf.save("risk.json")
        >>> bool((mastery.RiskClassifier.load("risk.json").predict_proba(x[:5]) == clf.predict_proba(x[:5])).all())
        True
        """
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_json())

    @classmethod
    def load(cls, path: "os.PathLike[str] | str") -> "RiskClassifier":
        """A fitted estimator from a model file on disk (see :meth:`from_json`).

        Examples
        --------
        >>> import mastery
        >>> x, y, names = mastery.synthetic_risk_data(300, 1)
        >>> clf = mastery.RiskClassifier(n_estimators=5).fit(x, y)
        >>> clf.save("risk.json")
        >>> mastery.RiskClassifier.load("risk.json").n_estimators
        5
        """
        with open(path, encoding="utf-8") as f:
            return cls.from_json(f.read())

    @classmethod
    def from_json(cls, text: str) -> "RiskClassifier":
        """A fitted estimator from a model file (one saved by ``save`` keeps its parameters and
        ``feature_names_in_``; any other model file gets the default parameters).

        Examples
        --------
        >>> import mastery
        >>> x, y, names = mastery.synthetic_risk_data(300, 1)
        >>> clf = mastery.RiskClassifier(n_estimators=5).fit(x, y)
        >>> mastery.RiskClassifier.from_json(clf.to_json()).get_params()["n_estimators"]
        5
        """
        model = NativeRiskModel.from_json(text)
        state = ((json.loads(text).get("host") or {}).get(_HOST_KEY)) or {}
        params = state.get("params") or {}
        known = set(cls().get_params(deep=False))
        est = cls(**{k: v for k, v in params.items() if k in known})
        est.model_ = model
        est.classes_ = np.asarray(state.get("classes", [0, 1]))
        est.n_features_in_ = len(model.feature_names)
        if state.get("feature_names_in") is not None:
            est.feature_names_in_ = np.asarray(state["feature_names_in"], dtype=object)
        est._fitted_attributes()
        return est

    # Notebooks ------------------------------------------------------------------------------
    def _repr_html_(self) -> str:
        """A fitted estimator as a small HTML summary (model, rounds, features, top importances);
        an unfitted one as scikit-learn draws it (when installed)."""
        if getattr(self, "model_", None) is None:
            inner = getattr(super(), "_repr_html_inner", None)
            return inner() if callable(inner) else f"<pre>{html.escape(repr(self))}</pre>"
        names = [str(n) for n in self.model_.feature_names]
        splits, gains = self.model_.importance()
        top = sorted(zip(names, splits, gains), key=lambda t: -t[2])[:10]
        params = {k: v for k, v in self.get_params(deep=False).items() if k != "feature_specs"}
        best = self.model_.best_iteration
        summary = (f"<p>{html.escape(type(self).__name__)}: {len(names)} features, model "
                   f"{html.escape(str(self.model_.model_version))}"
                   + (f", best iteration {int(best)}" if best is not None else "") + "</p>")
        from .views import html_table

        return (summary + html_table(["feature", "splits", "gain"], top, caption="Top features by gain")
                + html_table(["parameter", "value"], sorted(params.items()), caption="Parameters"))

    def _repr_mimebundle_(self, **kwargs: Any) -> Dict[str, str]:
        """Jupyter's rich display (takes precedence over scikit-learn's diagram once fitted)."""
        return {"text/plain": repr(self), "text/html": self._repr_html_()}
