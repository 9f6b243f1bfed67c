"""Drop-in for ``from pyBKT.models import Model``: pyBKT's defaults and behaviours on top of
:class:`mastery.BKTModel` (fitting and prediction run in Rust).

What differs from :class:`mastery.BKTModel`, to behave as pyBKT 1.4 does:

- defaults: no caps on guess and slip, EM tolerance 1e-3, pyBKT's distribution of random restarts;
- ``skills="..."`` is a regular expression matched at the start of skill names (``str.match``);
  a list names skills exactly;
- ``predict`` gives rows of skills the model has not fitted pyBKT's best-effort 0.5 (for
  ``correct_predictions`` and ``state_predictions``); ``evaluate`` scores the fitted skills' rows;
- ``crossvalidate`` returns one row per skill with a column named after each metric (``rmse``, ``auc``...);
- ``coef_`` gets and sets the parameters as pyBKT's ``{skill: {"prior", "learns", ...}}``;
- a DataFrame passed positionally is data, not a path;
- ``correct`` must be 0 or 1: -1 (pyBKT's "no response") is refused, as are NaN and other values,
  with the first bad row named; ``multipair`` is not implemented and refused.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable, Optional, Sequence, Union

from . import _mastery
from .bkt import BKTModel, _add_columns, _metric
from .tables import ProgressCallback, progress_callback

__all__ = ["Model"]

_PYBKT_OPTIONS = {"max_guess": None, "max_slip": None, "tol": 1e-3, "starts": "py_bkt"}
_PARAMS = ("prior", "learns", "guesses", "slips", "forgets")


def _split(data_path, data):
    """pyBKT's ``data`` may come positionally, in the ``data_path`` slot."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        return data_path, data
    if isinstance(data_path, pd.DataFrame):
        if data is not None:
            raise ValueError("cannot specify both data location and data")
        return None, data_path
    if data_path is not None and data is not None:
        raise ValueError("cannot specify both data location and data")
    return data_path, data


class Model(BKTModel):
    """pyBKT's ``Model`` with pyBKT's defaults (no guess/slip caps unless ``max_guess``/``max_slip`` are given).

    Examples
    --------
    >>> import pandas as pd
    >>> from mastery.pybkt import Model
    >>> log = pd.DataFrame({"user_id": ["a", "a", "b", "b", "c", "c"], "skill_name": ["s"] * 6,
    ...                     "correct": [0, 1, 1, 1, 0, 0]})
    >>> Model(num_fits=1).fit(data=log)
    Model(seed=42, num_fits=1; 1 skills)
    """

    def __init__(self, seed: int = 42, num_fits: int = 5, parallel: bool = True, **options: Any):
        # pyBKT's verbose: a progress bar over the restarts (tqdm when installed).
        self.verbose = bool(options.pop("verbose", False))
        self._check_model_types(options)
        merged = dict(_PYBKT_OPTIONS)
        merged.update(options)
        super().__init__(seed=seed, num_fits=num_fits, parallel=parallel, **merged)
        self.skills = None

    @staticmethod
    def _check_model_types(options):
        if options.get("multipair"):
            raise ValueError("multipair is not implemented in mastery's pyBKT drop-in")

    # ------------------------------------------------------------------ data
    def _frame(self, data_path=None, data=None, skills: Union[None, str, Sequence[str]] = None):
        data_path, data = _split(data_path, data)
        df = super()._frame(data_path, data, None)
        column = self.defaults["skill_name"]
        if skills is not None and column in df.columns:
            names = df[column].astype(str)
            if isinstance(skills, str):
                keep = names.str.match(skills)
            else:
                keep = names.isin([str(s) for s in skills])
            if not keep.any():
                raise ValueError("no matching skills")
            df = df[keep.to_numpy()]
        self._check_correct(df)
        return df

    def _check_correct(self, df):
        import numpy as np

        column = self.defaults["correct"]
        if column not in df.columns:
            return
        values = df[column].to_numpy()
        if values.dtype.kind in "iu" and (values.size == 0 or (values.min() >= 0 and values.max() <= 1)):
            return  # integers, all 0 or 1: no conversion needed (two reductions, no temporaries)
        numeric = np.asarray(values, dtype=float) if values.dtype != object else None
        if numeric is None:
            try:
                numeric = np.asarray(values, dtype=float)
            except (TypeError, ValueError):
                numeric = np.full(len(values), np.nan)
        bad = ~np.isin(numeric, (0.0, 1.0))
        if bad.any():
            position = int(np.argmax(bad))
            value = values[position]
            why = ("-1 (pyBKT's 'no response') is not supported" if numeric[position] == -1
                   else "correctness must be 0 (incorrect) or 1 (correct)")
            raise ValueError(f"correct: row {df.index[position]!r} holds {value!r}; {why}")

    # ------------------------------------------------------------------ pyBKT API
    def fit(self, data_path=None, data=None, skills=None, forgets=False, multilearn=False, multigs=False,
            multiprior=False, defaults=None, progress: Optional[ProgressCallback] = None, verbose: bool = False,
            **options) -> "Model":
        """pyBKT's ``fit``; ``progress``/``verbose`` report restarts, Ctrl-C interrupts.

        Examples
        --------
        >>> import pandas as pd
        >>> from mastery.pybkt import Model
        >>> log = pd.DataFrame({"user_id": ["a", "a", "b", "b", "c", "c"], "skill_name": ["s"] * 6,
        ...                     "correct": [0, 1, 1, 1, 0, 0]})
        >>> model = Model(num_fits=1).fit(data=log)
        >>> sorted(model.coef_)
        ['s']
        """
        self._check_model_types(options)
        for key in ("seed", "num_fits", "parallel"):
            if key in options:
                setattr(self, key, options.pop(key))
        self.skills = skills
        data_path, data = _split(data_path, data)
        return super().fit(data_path, data, skills, forgets, multilearn, multigs, multiprior, defaults,  # type: ignore[return-value]
                           progress=progress, verbose=verbose or self.verbose, **options)

    def _fitted(self):
        return set(self._require().skills())

    def predict(self, data_path=None, data=None):
        """The data with ``correct_predictions`` and ``state_predictions``; rows of skills the model
        has not fitted get pyBKT's best-effort 0.5.

        Examples
        --------
        >>> import pandas as pd
        >>> from mastery.pybkt import Model
        >>> log = pd.DataFrame({"user_id": ["a", "a", "b", "b", "c", "c"], "skill_name": ["s"] * 6,
        ...                     "correct": [0, 1, 1, 1, 0, 0]})
        >>> model = Model(num_fits=1).fit(data=log)
        >>> model.predict(data=log)[["correct_predictions", "state_predictions"]].shape
        (6, 2)
        """
        import numpy as np

        self._require()
        df = self._frame(data_path, data).copy(deep=False)  # new columns only: the caller's frame is unchanged
        try:
            # Usually every skill is fitted: one native call, without a membership test first.
            correct, state = self._predict_frame(df)
        except _mastery.MasteryError as error:
            if error.field != "skill_name":
                raise
            known = df[self.defaults["skill_name"]].astype(str).isin(self._fitted()).to_numpy()
            correct = np.full(len(df), 0.5)
            state = np.full(len(df), 0.5)
            if known.any():
                c, s = self._predict_frame(df if known.all() else df[known])
                correct[known], state[known] = c, s
        _add_columns(df, correct_predictions=correct, state_predictions=state)
        return df

    def evaluate(self, data=None, data_path=None, metric: Union[str, Iterable] = "rmse"):  # type: ignore[override]
        """The metric (or list of metrics) over the rows of fitted skills, as pyBKT.

        Examples
        --------
        >>> import pandas as pd
        >>> from mastery.pybkt import Model
        >>> log = pd.DataFrame({"user_id": ["a", "a", "b", "b", "c", "c"], "skill_name": ["s"] * 6,
        ...                     "correct": [0, 1, 1, 1, 0, 0]})
        >>> model = Model(num_fits=1).fit(data=log)
        >>> round(model.evaluate(data=log), 3)
        0.441
        """
        if isinstance(data, str):
            data, data_path = None, data
        predicted = self.predict(data_path, data)
        predicted = predicted[predicted[self.defaults["skill_name"]].astype(str).isin(self._fitted()).to_numpy()]
        truth = predicted[self.defaults["correct"]].astype(int)
        metrics = [metric] if isinstance(metric, str) or callable(metric) else list(metric)
        values = [_metric(m, predicted["correct_predictions"], truth) for m in metrics]
        return values[0] if len(values) == 1 else values

    def crossvalidate(self, data=None, data_path=None, skills=None, folds: int = 5,  # type: ignore[override]
                      metric="rmse", forgets=False, multilearn=False, multigs=False, multiprior=False,
                      progress: Optional[ProgressCallback] = None, verbose: bool = False, **options):
        """One row per skill, one column per metric named as pyBKT names it (``rmse``, ``auc``, ...).
        ``progress``/``verbose`` report folds; Ctrl-C interrupts.

        Examples
        --------
        >>> import pandas as pd
        >>> from mastery.pybkt import Model
        >>> log = pd.DataFrame({"user_id": ["a", "a", "b", "b", "c", "c"], "skill_name": ["s"] * 6,
        ...                     "correct": [0, 1, 1, 1, 0, 0]})
        >>> model = Model(num_fits=1).fit(data=log)
        >>> model.crossvalidate(data=log, folds=3).columns.tolist()
        ['rmse']
        """
        import pandas as pd

        self._check_model_types(options)
        if isinstance(data, str) and data_path is None:
            data, data_path = None, data
        metrics = list(metric) if isinstance(metric, (list, tuple)) else [metric]
        names = []
        for m in metrics:
            if callable(m):
                names.append(m.__name__)
            elif m in ("rmse", "accuracy", "auc"):
                names.append(m)
            else:
                raise ValueError("metric must be one of: rmse, accuracy, auc, or a function")
        if any(callable(m) for m in metrics):
            raise ValueError("crossvalidate takes metric names (rmse, accuracy, auc)")
        df = self._frame(data_path, data, skills)
        columns = self._columns_of(df, multilearn, multigs, multiprior)
        opts = {"forgets": bool(forgets), "multilearn": bool(multilearn), "multigs": bool(multigs),
                "multiprior": bool(multiprior), "num_fits": self.num_fits, "seed": self.seed}
        opts.update(self.options)
        opts.update(options)
        per_skill = _mastery.NativeBktModel.crossvalidate(*columns, int(folds), options=opts,
                                                          progress=progress_callback(progress, verbose or self.verbose))
        rows = []
        for skill, evaluations in per_skill.items():
            row = {"skill": skill}
            for name in names:
                # pyBKT scores each fold, then averages; a fold without both outcomes has no AUC.
                values = [e[name] for e in evaluations if e.get(name) is not None]
                row[name] = sum(values) / len(values) if values else float("nan")
            rows.append(row)
        return pd.DataFrame(rows, columns=["skill"] + names).set_index("skill")

    # ------------------------------------------------------------------ coef_
    @property
    def coef_(self):
        """``{skill: {"prior": float, "learns": array, "guesses": array, "slips": array, "forgets": array}}``.

        Examples
        --------
        >>> import pandas as pd
        >>> from mastery.pybkt import Model
        >>> log = pd.DataFrame({"user_id": ["a", "a", "b", "b", "c", "c"], "skill_name": ["s"] * 6,
        ...                     "correct": [0, 1, 1, 1, 0, 0]})
        >>> model = Model(num_fits=1).fit(data=log)
        >>> sorted(model.coef_["s"]), round(model.coef_["s"]["prior"], 3)
        (['forgets', 'guesses', 'learns', 'prior', 'slips'], 0.333)
        """
        import numpy as np

        if self._native is None:
            raise ValueError("model has not been trained or initialized")
        out = {}
        for skill, m in self._native.skills().items():
            p = m["params"]
            out[skill] = {"prior": p["prior"], "learns": np.array(p["learns"]), "guesses": np.array(p["guesses"]),
                          "slips": np.array(p["slips"]), "forgets": np.array(p["forgets"])}
        return out

    @coef_.setter
    def coef_(self, values):
        """Sets parameters per skill; a skill the model has not fitted needs all of them."""
        current = self._native.skills() if self._native is not None else {}
        skills = {skill: m for skill, m in current.items()}
        for skill, given in values.items():
            unknown = set(given) - set(_PARAMS)
            if unknown:
                raise ValueError(f"error in length, type or non-existent parameter: {sorted(unknown)}")
            base = skills.get(skill, {"params": {}, "learn_classes": {}, "gs_classes": {}, "log_likelihood": 0.0})
            params = dict(base["params"])
            for name, value in given.items():
                params[name] = float(value) if name == "prior" else [float(v) for v in list(value)]
            missing = [n for n in _PARAMS if n not in params]
            if missing:
                raise ValueError(f"skill {skill!r} needs {', '.join(missing)} (it has not been fitted)")
            skills[skill] = dict(base, params=params)
        model = {"format": "mastery.bkt", "version": 1, "model": {"options": {}, "skills": skills}}
        self._native = _mastery.NativeBktModel.from_json(json.dumps(model))
