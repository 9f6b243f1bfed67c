"""Spark: BKT fitted per skill, risk scored and explained per partition, xAPI/Caliper ingested
from a column of JSON strings. Needs PySpark (``pip install mastery[spark]``) and a Java runtime.

Each function takes and returns Spark DataFrames (or a fitted model), and runs the same native
code as the single-machine API inside Spark's Python workers, so results equal a single-machine
run on the same data:

- :func:`fit_bkt` groups responses by skill (``groupBy(skill).applyInArrow``, or
  ``applyInPandas`` before Spark 4): one BKT fit per
  skill, restarts seeded per skill, so a skill's model does not depend on where it ran.
- :func:`score_risk` broadcasts the model file once and scores each partition's Arrow batches
  (``mapInArrow``) in blocks, with TreeSHAP reasons when asked.
- :func:`ingest` parses xAPI statements or Caliper events per partition into evidence rows.

>>> from pyspark.sql import SparkSession                        # doctest: +SKIP
>>> spark = SparkSession.builder.master("local[2]").getOrCreate()  # doctest: +SKIP
>>> model = fit_bkt(spark.read.parquet("responses/"), num_fits=5)  # doctest: +SKIP

The functions' examples take ``spark`` to be such a session (the test suite runs them in local
mode).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Sequence, Union

from . import _mastery
from .bkt import BKTModel

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame

    from .risk import RiskClassifier

__all__ = ["fit_bkt", "score_risk", "ingest", "EVIDENCE_SCHEMA"]

#: The rows :func:`ingest` returns: one per accepted record (``evidence`` is its JSON, the other
#: columns are its main fields), or one per rejected record (``rejected_code``, ``field``).
EVIDENCE_SCHEMA = ("id string, learner string, course string, competencies array<string>, kind string, "
                   "occurred_at string, scaled double, success boolean, evidence string, "
                   "rejected_code string, rejected_field string, source_row long")


def fit_bkt(df: "DataFrame", *, user_id: str = "user_id", skill_name: str = "skill_name", correct: str = "correct",
            order_id: Optional[str] = "order_id", num_fits: int = 5, seed: int = 42, forgets: bool = False,
            direct_scan: Optional[bool] = None, **options: Any) -> BKTModel:
    """Fits BKT on a Spark DataFrame of responses, one skill per Spark task.

    Rows keep their order within each learner: by ``order_id`` when the DataFrame has it, else
    by their position in ``df``. Returns a :class:`~mastery.BKTModel` equal to
    ``BKTModel(seed, num_fits).fit(data=df.toPandas(), forgets=...)``.

    Two ways to get each skill's rows into one task:

    - **Direct scan** (``df`` is a plain ``spark.read.parquet(...)`` whose row groups are
      clustered by skill, e.g. written sorted or one skill at a time, and it has ``order_id``):
      the driver reads the files' footers, groups row groups whose skill ranges overlap, and each
      task reads its row groups with pyarrow and fits them. No shuffle, no JVM row conversion;
      the executors must reach the files by the same URI (local paths, or any filesystem pyarrow
      opens, such as ``s3://`` or ``hdfs://``).
    - **Shuffle** (any other DataFrame): ``groupBy(skill).applyInArrow``.

    ``direct_scan=None`` (the default) takes the direct scan when it applies; ``True`` insists
    on it (``invalid_input`` when it does not apply, with the reason); ``False`` always shuffles.

    Examples
    --------
    >>> from mastery.spark import fit_bkt
    >>> log = spark.createDataFrame([("a", "s", 0, 1), ("a", "s", 1, 2), ("b", "s", 1, 1), ("b", "s", 1, 2)],
    ...                             "user_id string, skill_name string, correct int, order_id int")
    >>> fit_bkt(log, num_fits=1)
    BKTModel(seed=42, num_fits=1; 1 skills)
    """
    from pyspark.sql import functions as F

    names = {"user_id": user_id, "skill_name": skill_name, "correct": correct, "order_id": order_id}
    if direct_scan is not False:
        plan = _direct_scan_plan(df, names)
        if isinstance(plan, list):
            return _fit_bkt_direct(df, plan, names, num_fits=num_fits, seed=seed, forgets=forgets, options=options)
        if direct_scan:
            error = _mastery.MasteryError(f"invalid direct_scan: {plan}")
            error.code, error.field = "invalid_input", "direct_scan"
            raise error
    ordered = order_id if order_id and order_id in df.columns else None
    position = "__mastery_row"
    if ordered is None:
        df = df.withColumn(position, F.monotonically_increasing_id())
    sort_by = ordered or position
    columns = [user_id, skill_name, correct, sort_by]
    settings: Dict[str, Any] = {"num_fits": int(num_fits), "seed": int(seed), "forgets": bool(forgets), "options": dict(options),
                "names": {"user_id": user_id, "skill_name": skill_name, "correct": correct, "order_id": sort_by}}

    def fit_model(data: Any) -> BKTModel:
        # No sort needed: the order column goes to the core, which orders each learner's rows by it.
        model = BKTModel(seed=settings["seed"], num_fits=settings["num_fits"], **settings["options"])
        model.defaults.update(settings["names"])
        return model.fit(data=data, forgets=settings["forgets"])

    split = _split_skills

    def fit_skill_arrow(table: Any) -> Any:  # Spark >= 4: Arrow batches straight to the native reader
        import pyarrow as pa

        return pa.table(split(fit_model(table)))

    def fit_skill_pandas(pdf: Any) -> Any:
        import pandas as pd

        return pd.DataFrame(split(fit_model(pdf)))

    grouped = df.select(*columns).groupBy(skill_name)
    schema = "skill string, model string, file string"
    if hasattr(grouped, "applyInArrow"):
        rows = grouped.applyInArrow(fit_skill_arrow, schema=schema).collect()
    else:
        rows = grouped.applyInPandas(fit_skill_pandas, schema=schema).collect()
    return _merge_skill_models(rows, seed=seed, num_fits=num_fits, options=options)


def _split_skills(model: BKTModel) -> Dict[str, List[str]]:
    """One row per skill: its name, its model, and the model file without skills (the options)."""
    document = json.loads(model.to_json())
    skills = document["model"].pop("skills")
    return {"skill": list(skills), "model": [json.dumps(m) for m in skills.values()],
            "file": [json.dumps(document)] * len(skills)}


def _merge_skill_models(rows: Sequence[Any], *, seed: int, num_fits: int, options: Dict[str, Any]) -> BKTModel:
    if not rows:
        error = _mastery.MasteryError("invalid data: no responses")
        error.code, error.field = "invalid_input", "data"
        raise error
    # Every task writes the same options block; the skills are merged into one model file.
    document = json.loads(rows[0]["file"])
    document["model"]["skills"] = {r["skill"]: json.loads(r["model"]) for r in sorted(rows, key=lambda r: r["skill"])}
    model = BKTModel.from_json(json.dumps(document))
    reference = BKTModel(seed=seed, num_fits=num_fits, **options)
    model.seed, model.num_fits, model.options = reference.seed, reference.num_fits, reference.options
    return model


def _direct_scan_plan(df: "DataFrame", names: Dict[str, Optional[str]]) -> Union[List[List[Any]], str]:
    """The direct scan's tasks, or why there is none. A task is a list of clusters, a cluster a
    list of ``(file URI, [row group, ...])``: row groups whose skill ranges (from the footers'
    statistics) overlap, so every skill's rows are in exactly one cluster. Tasks are balanced by
    rows."""
    if not names["order_id"]:
        return "the responses need an order_id column (file order is not the DataFrame's order)"
    try:
        plan = df._jdf.queryExecution().analyzed()
        kind = plan.getClass().getSimpleName()
        relation = plan.relation() if kind == "LogicalRelation" else None
        file_format = relation.fileFormat().getClass().getSimpleName() if relation is not None else ""
        partitioned = relation.partitionSchema().length() > 0 if relation is not None else False
    except Exception:  # Spark Connect, or a plan this version does not expose
        return "the DataFrame's plan is not readable here (Spark Connect?)"
    if kind != "LogicalRelation" or file_format != "ParquetFileFormat":
        return "the DataFrame is not a plain parquet scan (it has filters, projections, joins or another source)"
    if partitioned:
        return "the parquet dataset is partitioned by directory"
    columns = [c for c in names.values() if c]
    groups = []  # (skill min, skill max, rows, file URI, row group)
    for uri in df.inputFiles():
        try:
            file = _open_parquet(uri)
        except Exception as error:
            return f"pyarrow cannot open {uri.split(':', 1)[0]}: URIs ({type(error).__name__})"
        schema = file.schema_arrow
        if any(schema.get_field_index(c) < 0 for c in columns):
            return "a file lacks one of the response columns"
        index = schema.get_field_index(str(names["skill_name"]))
        for g in range(file.metadata.num_row_groups):
            group = file.metadata.row_group(g)
            stats = group.column(index).statistics
            if group.num_rows == 0:
                continue
            if stats is None or not stats.has_min_max or stats.null_count:
                return "a row group has no skill statistics"
            groups.append((stats.min, stats.max, group.num_rows, uri, g))
    if not groups:
        return "the dataset has no rows"
    try:
        groups.sort(key=lambda g: (g[0], g[1]))
    except TypeError:  # files whose skill columns differ in type
        return "the files' skill columns have different types"
    clusters: List[List[Any]] = []  # [max, rows, [(uri, group), ...]] of overlapping ranges
    for low, high, rows, uri, g in groups:
        if clusters and low <= clusters[-1][0]:
            clusters[-1][0] = max(clusters[-1][0], high)
            clusters[-1][1] += rows
            clusters[-1][2].append((uri, g))
        else:
            clusters.append([high, rows, [(uri, g)]])
    if len(clusters) == 1 and groups[0][0] != max(g[1] for g in groups):
        return "the row groups are not clustered by skill (every range overlaps)"
    parallelism = max(1, int(df.sparkSession.sparkContext.defaultParallelism))
    tasks: List[List[Any]] = [[0, []] for _ in range(min(len(clusters), _TASKS_PER_CORE * parallelism))]
    for _, rows, parts in sorted(clusters, key=lambda c: -c[1]):  # largest first, to the lightest task
        lightest = min(tasks, key=lambda t: t[0])
        lightest[0] += rows
        lightest[1].append(_by_file(parts))
    return [clusters_of_task for _, clusters_of_task in sorted(tasks, key=lambda t: -t[0]) if clusters_of_task]


#: Direct-scan tasks per Spark core: more balance uneven skills, fewer save per-task overhead.
_TASKS_PER_CORE = 2


def _by_file(parts: List[Any]) -> List[Any]:
    files: Dict[str, List[int]] = {}
    for uri, g in parts:
        files.setdefault(uri, []).append(g)
    return [(uri, sorted(gs)) for uri, gs in files.items()]


def _open_parquet(uri: str) -> Any:
    import pyarrow.parquet as pq
    from pyarrow import fs

    if uri.startswith("file:"):
        from urllib.parse import unquote, urlparse

        return pq.ParquetFile(unquote(urlparse(uri).path))
    filesystem, path = fs.FileSystem.from_uri(uri)
    return pq.ParquetFile(filesystem.open_input_file(path))


def _fit_bkt_direct(df: "DataFrame", plan: List[List[Any]], names: Dict[str, Optional[str]], *, num_fits: int, seed: int,
                    forgets: bool, options: Dict[str, Any]) -> BKTModel:
    columns = [c for c in names.values() if c]
    settings: Dict[str, Any] = {"num_fits": int(num_fits), "seed": int(seed), "forgets": bool(forgets),
                                "options": dict(options)}

    def fit_task(task: List[Any]) -> Iterator[Dict[str, str]]:
        import pyarrow as pa

        # A cluster at a time: its memory is reused by the next (fresh pages cost more than the
        # read), and every skill is fitted apart anyway (restarts seeded per skill).
        for cluster in task:
            # One thread: the task has one core (pyarrow's pool made this read 3x slower on two
            # busy cores).
            table = pa.concat_tables([_open_parquet(uri).read_row_groups(gs, columns=columns, use_threads=False)
                                      for uri, gs in cluster])
            model = BKTModel(seed=settings["seed"], num_fits=settings["num_fits"], **settings["options"])
            model.defaults.update({k: v for k, v in names.items() if v})
            split = _split_skills(model.fit(data=table, forgets=settings["forgets"]))
            del table
            yield from ({"skill": s, "model": m, "file": f}
                        for s, m, f in zip(split["skill"], split["model"], split["file"]))

    context = df.sparkSession.sparkContext
    rows = context.parallelize(plan, len(plan)).flatMap(fit_task).collect()
    return _merge_skill_models(rows, seed=seed, num_fits=num_fits, options=options)


def _model_json(model: Union["RiskClassifier", str, Any]) -> str:
    from .risk import RiskClassifier

    if isinstance(model, RiskClassifier):
        return model.to_json()
    if isinstance(model, str):
        return model
    return str(model.to_json())


def score_risk(df: "DataFrame", model: Union["RiskClassifier", str], *, features: Optional[Sequence[str]] = None,
               explain: int = 0, score_column: str = "score") -> "DataFrame":
    """``df`` with a ``score`` column (P(at risk)) and, with ``explain=k``, the ``k`` strongest
    reasons (``reason_i``, ``feature_i``, ``contribution_i``). The model (a fitted
    :class:`~mastery.RiskClassifier` or a model file's text) is broadcast once; each partition is
    scored from its Arrow batches in blocks, in the executors' Python workers.

    Examples
    --------
    >>> import mastery, pandas as pd
    >>> from mastery.spark import score_risk
    >>> frame = pd.DataFrame({"clicks": [0.0, 5.0] * 20, "late": [3.0, 0.0] * 20})
    >>> clf = mastery.RiskClassifier(n_estimators=3).fit(frame, [1, 0] * 20)
    >>> scored = score_risk(spark.createDataFrame(frame.head(2)), clf, explain=1).toPandas()
    >>> scored.columns.tolist()[:4], bool(scored["score"][0] > scored["score"][1])
    (['clicks', 'late', 'score', 'reason_1'], True)
    """
    from pyspark.sql.types import DoubleType, StringType, StructField, StructType

    text = _model_json(model)
    names = list(features) if features is not None else list(_mastery.NativeRiskModel.from_json(text).feature_names)
    missing = [n for n in names if n not in df.columns]
    if missing:
        error = _mastery.MasteryError(f"invalid features: the DataFrame lacks {len(missing)} model feature column(s)")
        error.code, error.field = "invalid_input", "features"
        raise error
    fields = list(df.schema.fields) + [StructField(score_column, DoubleType(), False)]
    for i in range(1, int(explain) + 1):
        fields += [StructField(f"reason_{i}", StringType(), True), StructField(f"feature_{i}", StringType(), True),
                   StructField(f"contribution_{i}", DoubleType(), True)]
    broadcast = df.sparkSession.sparkContext.broadcast(text)
    top = int(explain)

    def score(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        native = _mastery.NativeRiskModel.from_json(broadcast.value)
        for batch in batches:
            if top:
                extra = pa.table(_mastery.risk_explain_arrow(native, batch, names, top))
                columns = {score_column: extra.column("score")}
                for i in range(1, top + 1):
                    for c in (f"reason_{i}", f"feature_{i}", f"contribution_{i}"):
                        columns[c] = extra.column(c)
            else:
                columns = {score_column: pa.table(_mastery.risk_predict_arrow(native, batch, names)).column("score")}
            table = pa.Table.from_batches([batch])
            for name, values in columns.items():
                table = table.append_column(name, values)
            yield from table.to_batches()

    return df.mapInArrow(score, StructType(fields))


def ingest(df: "DataFrame", column: str = "statement", *, kind: str = "xapi",
           mapping: Optional[Dict[str, Any]] = None) -> "DataFrame":
    """Evidence from a DataFrame whose ``column`` holds xAPI statements (``kind="xapi"``) or
    Caliper events/envelopes (``kind="caliper"``) as JSON strings, parsed per partition by the
    native parsers. One output row per accepted record (with ``evidence`` as JSON) or per
    rejected one (``rejected_code``, ``rejected_field``; ``source_row`` is its row in the
    partition batch). Schema: :data:`EVIDENCE_SCHEMA`.

    Examples
    --------
    >>> import json
    >>> from mastery.spark import ingest
    >>> statement = {"actor": {"mbox": "mailto:a@example.org"}, "verb": {"id": "http://adlnet.gov/expapi/verbs/passed"},
    ...              "object": {"id": "https://example.org/quiz/1"}, "timestamp": "2024-05-01T10:00:00Z"}
    >>> frame = spark.createDataFrame([(json.dumps(statement),), ("not json",)], "statement string")
    >>> sorted((r["learner"] or "-", r["rejected_code"] or "-") for r in ingest(frame).collect())
    [('-', 'parse_error'), ('mbox:mailto:a@example.org', '-')]
    """
    if kind not in ("xapi", "caliper"):
        error = _mastery.MasteryError("invalid kind: must be xapi or caliper")
        error.code, error.field = "invalid_input", "kind"
        raise error
    parse = _mastery.ingest_xapi if kind == "xapi" else _mastery.ingest_caliper
    settings = {"mapping": mapping}

    def rows(frames: Iterator[Any]) -> Iterator[Any]:
        import pandas as pd

        for pdf in frames:
            out: List[Dict[str, Any]] = []
            for i, text in enumerate(pdf[column].tolist()):
                try:
                    report = parse(text if isinstance(text, str) else "null", settings["mapping"])
                except _mastery.MasteryError as e:
                    out.append({"rejected_code": e.code, "rejected_field": e.field, "source_row": i})
                    continue
                for ev in report["accepted"]:
                    out.append({"id": ev.get("id"), "learner": ev.get("learner"), "course": ev.get("course"),
                                "competencies": list(ev.get("competencies") or []), "kind": ev.get("kind"),
                                "occurred_at": ev.get("occurred_at"),
                                "scaled": (ev.get("score") or {}).get("scaled"), "success": ev.get("success"),
                                "evidence": json.dumps(ev, sort_keys=True), "source_row": i})
                for r in report["rejected"]:
                    out.append({"rejected_code": r.get("code"), "rejected_field": r.get("field"), "source_row": i})
            names = [c.split()[0] for c in EVIDENCE_SCHEMA.split(", ")]
            # Every key present (None where absent), so array and string columns hold None, not NaN.
            yield pd.DataFrame([[row.get(n) for n in names] for row in out], columns=names, dtype=object)

    return df.select(column).mapInPandas(rows, EVIDENCE_SCHEMA)
