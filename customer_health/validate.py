"""Data quality with great-expectations (1.x): the raw files warn, the public tables fail the run.

- Raw suites are generated from the contract (customer_health.contract): required
  columns not null, unique keys, ranges and allowed values. They are WARNINGS:
  staging quarantines such rows and counts them (staging.quarantined_rows).
  Values are read as staging reads them (trimmed text, empty = missing). Only the
  columns that have a rule are read, with DuckDB, into pandas; a table of more
  than `raw_max_rows` rows is validated on a deterministic sample of its keys
  (every row of each sampled key, so duplicates are still found), and the
  output says so.
- Public suites FAIL the run: score and coverage in 0-100, grade and colour as
  the bands seed says, one current row per account, contributions that add up to
  the score, factor scores and weights in range, KPIs within their natural
  ranges, the grain of every table. A table above `public_max_rows` rows is
  validated on a deterministic sample of accounts (all their rows).
- The context is ephemeral (nothing is written into the repository); Data Docs
  are written to reports/data_docs/ (HEALTH_REPORTS_DIR).

GX 1.x reads DuckDB badly through SQLAlchemy, so every table is read with
duckdb into a pandas DataFrame and validated with a pandas data source.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable

import duckdb

from customer_health import PROJECT_DIR
from customer_health.contract import Table, load_contract
from customer_health.publish import COLUMNS as C
from customer_health.publish import PUBLIC_SCHEMA, PUBLIC_TABLES, existing_tables

RAW_MAX_ROWS = int(os.environ.get("HEALTH_VALIDATE_RAW_ROWS", 2_000_000))
PUBLIC_MAX_ROWS = int(os.environ.get("HEALTH_VALIDATE_MAX_ROWS", 5_000_000))
SUM_TOLERANCE = 0.001  # points (rounding of double-precision sums)
# The movement types of fct_mrr_movements (health model, plus `inactive`: no MRR in either month, as the
# finance marts document it in their accepted_values test).
MOVEMENT_TYPES = ["new", "churn", "reactivation", "inactive", "expansion", "contraction", "flat"]
COLOURS = ["green", "yellow", "red", "grey"]


def reports_dir() -> Path:
    """Where the report and Data Docs go (HEALTH_REPORTS_DIR, default reports/), made absolute."""
    path = Path(os.environ.get("HEALTH_REPORTS_DIR", PROJECT_DIR / "reports"))
    if not path.is_absolute():
        path = PROJECT_DIR / path
    return path


def stamp_path(build_db: Path) -> Path:
    """The record of the last validation of a build file (publish reads it)."""
    return build_db.with_name(build_db.name + ".validated.json")


def build_identity(build_db: Path) -> dict:
    st = build_db.stat()
    return {"build": str(build_db), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


# --------------------------------------------------------------------------- results


@dataclass
class Check:
    """One expectation's outcome, in words."""

    suite: str
    description: str
    success: bool
    unexpected: int | None = None
    total: int | None = None
    examples: list = field(default_factory=list)
    error: str | None = None

    def line(self) -> str:
        if self.error:
            return f"{self.suite}: {self.description}: could not be evaluated: {self.error}"
        if self.unexpected is not None and self.total:
            pct = 100.0 * self.unexpected / self.total
            ex = f", e.g. {', '.join(repr(v) for v in self.examples[:3])}" if self.examples else ""
            return f"{self.suite}: {self.description}: {self.unexpected:,} of {self.total:,} rows ({pct:.2g}%){ex}"
        return f"{self.suite}: {self.description}" + (f" (observed {self.examples[0]!r})" if self.examples else "")


@dataclass
class SuiteRun:
    name: str
    kind: str  # raw | public
    rows: int
    rows_validated: int
    note: str = ""
    checks: list[Check] = field(default_factory=list)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.success]


@dataclass
class Validation:
    suites: list[SuiteRun] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data_docs: Path | None = None
    seconds: float = 0.0

    def of(self, kind: str) -> list[SuiteRun]:
        return [s for s in self.suites if s.kind == kind]

    @property
    def warnings(self) -> list[Check]:
        return [c for s in self.of("raw") for c in s.failed]

    @property
    def failures(self) -> list[Check]:
        return [c for s in self.of("public") for c in s.failed]

    @property
    def passed(self) -> bool:
        return not self.failures

    def as_dict(self) -> dict:
        return {
            "passed": self.passed,
            "warnings": [c.line() for c in self.warnings],
            "failures": [c.line() for c in self.failures],
            "suites": [
                {"name": s.name, "kind": s.kind, "rows": s.rows, "rows_validated": s.rows_validated, "note": s.note,
                 "expectations": len(s.checks), "unsuccessful": len(s.failed)}
                for s in self.suites
            ],
            "notes": self.notes,
            "data_docs": str(self.data_docs / "index.html") if self.data_docs else None,
        }


# --------------------------------------------------------------------------- GX context


class _Gx:
    """One ephemeral GX context for a validation run, with a Data Docs site in a folder."""

    def __init__(self, docs_dir: Path | None):
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        self.gx = gx
        sites = {}
        if docs_dir is not None:
            sites["local_site"] = {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False),
            data_docs_sites=sites,
        )
        self.context = gx.get_context(project_config=config, mode="ephemeral")
        self.sources = {}

    def run(self, source: str, name: str, frame, expectations: list, kind: str) -> list[Check]:
        gx = self.gx
        if source not in self.sources:
            self.sources[source] = self.context.data_sources.add_pandas(source)
        batch = self.sources[source].add_dataframe_asset(name).add_batch_definition_whole_dataframe("all")
        suite = self.context.suites.add(gx.ExpectationSuite(name=f"{kind}.{name}", expectations=expectations))
        definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{kind}.{name}", data=batch, suite=suite)
        )
        checkpoint = self.context.checkpoints.add(
            gx.Checkpoint(name=f"{kind}.{name}", validation_definitions=[definition], actions=[],
                          result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5})
        )
        result = checkpoint.run(batch_parameters={"dataframe": frame})
        checks = []
        for run_result in result.run_results.values():
            for r in run_result.results:
                cfg = r.expectation_config
                exc = r.exception_info or {}
                if "raised_exception" not in exc and exc:  # {id: {...}} in some GX versions
                    exc = next(iter(exc.values()))
                res = r.result or {}
                examples = res.get("partial_unexpected_list") or (
                    [res["observed_value"]] if not r.success and "observed_value" in res else []
                )
                checks.append(Check(
                    suite=name,
                    description=(cfg.meta or {}).get("description") or describe(cfg.type, cfg.kwargs),
                    success=bool(r.success),
                    unexpected=res.get("unexpected_count"),
                    total=res.get("element_count"),
                    examples=[v for v in (_plain(v) for v in examples[:5]) if v is not None],
                    error=(exc.get("exception_message") or "")[:300] if exc.get("raised_exception") else None,
                ))
        return checks

    def build_docs(self) -> None:
        self.context.build_data_docs()


def _plain(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def describe(kind: str, kw: dict) -> str:
    col = kw.get("column")
    where = ""
    cond = kw.get("row_condition")
    if cond:
        text = cond.get("pass_through_filter") if isinstance(cond, dict) else str(cond)
        where = f" where {text}"
    if kind == "expect_column_values_to_not_be_null":
        return f"{col} not null{where}"
    if kind == "expect_column_values_to_be_null":
        return f"{col} null{where}"
    if kind == "expect_column_values_to_be_unique":
        return f"{col} unique"
    if kind == "expect_compound_columns_to_be_unique":
        return f"one row per {', '.join(kw['column_list'])}"
    if kind == "expect_column_values_to_be_between":
        lo, hi = kw.get("min_value"), kw.get("max_value")
        if lo is not None and hi is not None:
            return f"{col} between {lo:g} and {hi:g}{where}"
        return f"{col} {'>= ' + format(lo, 'g') if lo is not None else '<= ' + format(hi, 'g')}{where}"
    if kind == "expect_column_values_to_be_in_set":
        return f"{col} in {{{', '.join(map(str, kw['value_set']))}}}{where}"
    if kind == "expect_column_to_exist":
        return f"column {col} exists"
    if kind == "expect_column_unique_value_count_to_be_between":
        return f"{col} has between {kw.get('min_value')} and {kw.get('max_value')} distinct values"
    if kind == "expect_table_row_count_to_be_between":
        return f"row count >= {kw.get('min_value')}"
    return f"{kind} {json.dumps({k: v for k, v in kw.items() if k != 'batch_id'}, default=str)}"


# --------------------------------------------------------------------------- raw suites


NUMBER_SUFFIX = "__as_number"


def raw_text_sql(column: str) -> str:
    """As staging reads a raw value: trimmed text, empty is missing (macros/staging/raw_values.sql)."""
    return f"nullif(trim(cast(\"{column}\" as varchar)), '')"


def raw_expectations(table: Table, present: set[str]) -> tuple[list, dict[str, str]]:
    """The contract's row rules for one table, as warning expectations, and the SQL to read each column."""
    import great_expectations as gx

    E = gx.expectations
    exps, select = [], {}
    for column in table.columns:
        if column.name not in present:
            continue
        rules = []
        if column.required:
            rules.append(E.ExpectColumnValuesToNotBeNull(column=column.name, severity="warning",
                                                         meta={"description": f"{column.name} required (not null)"}))
        if column.unique:
            rules.append(E.ExpectColumnValuesToBeUnique(column=column.name, severity="warning", meta={
                "description": f"{column.name} unique (a later version of a row counts as a duplicate here)"}))
        if column.range:
            lo, hi = column.range
            rules.append(E.ExpectColumnValuesToBeBetween(
                column=f"{column.name}{NUMBER_SUFFIX}", min_value=lo, max_value=hi, severity="warning",
                meta={"description": f"{column.name} between {lo:g} and {hi:g} (of the values that are numbers)"}))
        if column.values:
            rules.append(E.ExpectColumnValuesToBeInSet(column=column.name, value_set=list(column.values),
                                                       severity="warning"))
        if not rules:
            continue
        exps += rules
        text = raw_text_sql(column.name)
        select[column.name] = text
        if column.range:  # a value that is no number is staging's invalid_type, not a range break
            select[f"{column.name}{NUMBER_SUFFIX}"] = f"try_cast({text} as double)"
    key = [k for k in table.key if k in present]
    if len(table.key) > 1 and len(key) == len(table.key):  # no unique column: the row key is the table's grain
        exps.append(E.ExpectCompoundColumnsToBeUnique(column_list=key, severity="warning", meta={
            "description": f"{', '.join(key)} unique together (the table's key; later versions count as duplicates)"}))
        for k in key:
            select.setdefault(k, raw_text_sql(k))
    return exps, select


def _raw_relation(path: Path, fmt: str) -> str:
    if fmt == "csv":
        return f"read_csv('{path}', header = true, all_varchar = true)"
    return f"read_parquet('{path}')"


def _sample_clause(rows: int, max_rows: int, key_sql: str | None) -> tuple[str, str]:
    """A deterministic sample by key hash: all rows of about 1 in k keys."""
    if rows <= max_rows:
        return "", ""
    k = math.ceil(rows / max_rows)
    if key_sql:
        return f" where hash({key_sql}) % {k} = 0", f"sample: every row of 1 in {k} keys ({key_sql})"
    return f" using sample {max_rows} rows (reservoir, 42)", f"sample: {max_rows:,} random rows"


def validate_raw(gxr: _Gx, raw_dir: Path, fmt: str, max_rows: int = RAW_MAX_ROWS) -> list[SuiteRun]:
    runs = []
    con = duckdb.connect()
    try:
        for qualified, table in load_contract().items():
            path = raw_dir / table.source / f"{table.name}.{fmt}"
            if not path.is_file():
                continue  # check-raw reports missing files
            rel = _raw_relation(path, fmt)
            present = {r[0] for r in con.execute(f"describe select * from {rel}").fetchall()}
            exps, select = raw_expectations(table, present)
            if not exps:
                continue
            rows = con.execute(f"select count(*) from {rel}").fetchone()[0]
            key = table.key[0] if table.key and table.key[0] in present else None
            where, note = _sample_clause(rows, max_rows, raw_text_sql(key) if key else None)
            cols = ", ".join(f'{sql} as "{name}"' for name, sql in select.items())
            frame = con.execute(f"select {cols} from {rel}{where}").df()
            run = SuiteRun(name=qualified, kind="raw", rows=rows, rows_validated=len(frame),
                           note=note or f"columns read: {', '.join(c for c in select if not c.endswith(NUMBER_SUFFIX))}")
            run.checks = gxr.run("raw", qualified, frame, exps, "raw")
            runs.append(run)
            del frame
    finally:
        con.close()
    return runs


# --------------------------------------------------------------------------- public suites


@dataclass
class Settings:
    bands: list[dict]  # grade, colour, min_score, max_score
    min_coverage: float
    alert_rules: list[str] | None
    severities: list[str] | None


def _settings(con) -> Settings:
    def table(name):
        return con.execute(
            "select count(*) from information_schema.tables where table_schema = 'config' and table_name = ?", [name]
        ).fetchone()[0]

    bands, min_cov, rules, sev = [], 50.0, None, None
    if table("health_bands"):
        bands = [dict(zip(("grade", "colour", "min_score", "max_score"), r)) for r in con.execute(
            "select grade, colour, min_score, max_score from config.health_bands order by min_score desc").fetchall()]
    if table("health_settings"):
        row = con.execute("select setting_value from config.health_settings where setting_key = 'min_coverage'"
                          ).fetchone()
        if row:
            min_cov = float(row[0])
    if table("alert_rules"):
        got = con.execute("select rule, severity from config.alert_rules").fetchall()
        rules = sorted({r[0] for r in got})
        sev = sorted({r[1] for r in got if r[1]})
    return Settings(bands=bands, min_coverage=min_cov, alert_rules=rules, severities=sev)


def _column(name: str):
    from great_expectations.expectations.row_conditions import Column

    return Column(name)


def _where(description: str) -> dict:
    return {"description": description}


def _band_expectations(E, s: Settings) -> list:
    """Grade and colour follow the bands: min_score <= score < max_score (the top band includes its max)."""
    from great_expectations.expectations.row_conditions import Column

    score, cov, grade, colour = C["score"], C["coverage"], C["grade"], C["colour"]
    exps = []
    top = max((b["max_score"] for b in s.bands), default=100)
    for b in s.bands:
        is_top = b["max_score"] == top
        upper = Column(score) <= b["max_score"] if is_top else Column(score) < b["max_score"]
        cond = (Column(cov) >= s.min_coverage) & (Column(score) >= b["min_score"]) & upper
        text = (f"where {cov} >= {s.min_coverage:g} and {b['min_score']:g} <= {score} "
                f"{'<=' if is_top else '<'} {b['max_score']:g}")
        exps.append(E.ExpectColumnValuesToBeInSet(column=grade, value_set=[b["grade"]], row_condition=cond,
                                                  meta=_where(f"grade in {{{b['grade']}}} {text}")))
        exps.append(E.ExpectColumnValuesToBeInSet(column=colour, value_set=[b["colour"]], row_condition=cond,
                                                  meta=_where(f"colour in {{{b['colour']}}} {text}")))
    ungraded = Column(cov) < s.min_coverage
    text = f"where {cov} < {s.min_coverage:g} (too little of the weight present)"
    exps.append(E.ExpectColumnValuesToBeNull(column=grade, row_condition=ungraded, meta=_where(f"no grade {text}")))
    exps.append(E.ExpectColumnValuesToBeInSet(column=colour, value_set=["grey"], row_condition=ungraded,
                                              meta=_where(f"colour in {{grey}} {text}")))
    if s.bands:
        exps.append(E.ExpectColumnValuesToBeInSet(column=grade, value_set=sorted({b["grade"] for b in s.bands})))
    exps.append(E.ExpectColumnValuesToBeInSet(column=colour, value_set=sorted({*(b["colour"] for b in s.bands),
                                                                               "grey"})))
    return exps


def _score_expectations(E, s: Settings) -> list:
    return [
        E.ExpectColumnValuesToBeBetween(column=C["score"], min_value=0, max_value=100),
        E.ExpectColumnValuesToBeBetween(column=C["coverage"], min_value=0, max_value=100),
        E.ExpectColumnValuesToNotBeNull(column=C["coverage"]),
        *_band_expectations(E, s),
    ]


# Natural ranges of the account metrics (mart_customer_health) and company KPIs: (min, max), None = open.
METRIC_RANGES = {
    "mrr": (0, None), "seats": (0, None), "mrr_change_90d_pct": (-100, None),
    "nps": (-100, 100), "feedback_sentiment": (-100, 100),
    "csat": (0, 100), "first_contact_resolution_rate": (0, 100), "late_payment_rate": (0, 100),
    "renewal_win_rate": (0, 100), "stickiness": (0, 100), "core_feature_adoption": (0, 100),
    "onboarding_completion": (0, 100), "return_rate": (0, None), "seat_utilization": (0, None),
    "avg_resolution_hours": (0, None), "ticket_volume_trend": (0, None), "urgent_tickets_90d": (0, None),
    "days_past_due": (0, None), "active_users_30d": (0, None), "active_days_30d": (0, 30),
    "usage_trend": (-100, None), "days_since_last_use": (0, None), "engagement_points_90d": (None, None),
    "orders_365d": (0, None), "clv": (0, None),
}
KPI_RANGES = {
    "customers_start": (0, None), "customers_end": (0, None), "new_customers": (0, None),
    "churned_customers": (0, None), "reactivated_customers": (0, None),
    "logo_churn_rate": (0, 100), "customer_retention_rate": (0, 100),
    "mrr_start": (0, None), "mrr_end": (0, None), "new_mrr": (0, None), "expansion_mrr": (0, None),
    "contraction_mrr": (0, None), "churned_mrr": (0, None), "reactivation_mrr": (0, None),
    "gross_revenue_retention": (0, 100), "net_revenue_retention": (0, None),
    "nps": (-100, 100), "csat": (0, 100), "avg_resolution_hours": (0, None),
    "first_contact_resolution_rate": (0, 100), "renewal_rate": (0, 100), "repeat_purchase_rate": (0, 100),
    "product_return_rate": (0, 100), "arpa": (0, None), "mean_logo_churn_rate_12m": (0, 100), "clv": (0, None),
}


def _ranges(E, ranges: dict, columns: set[str]) -> list:
    out = []
    for col, (lo, hi) in ranges.items():
        if col in columns and (lo is not None or hi is not None):
            out.append(E.ExpectColumnValuesToBeBetween(column=col, min_value=lo, max_value=hi))
    return out


@dataclass
class PublicSuite:
    """What to read from one public table and what to expect of it."""

    table: str
    grain: list[str]
    needs: list[str]  # columns that must exist (checked before anything else)
    expectations: Callable[[Any, Settings, set[str], "ReadContext"], list]
    optional: list[str] = field(default_factory=list)  # read when present (ranges)


@dataclass
class ReadContext:
    as_of: date | None


def _mart_expectations(E, s, cols, ctx):
    exps = [
        E.ExpectColumnValuesToNotBeNull(column=C["account_id"]),
        E.ExpectColumnValuesToBeUnique(column=C["account_id"],
                                       meta={"description": "one current row per account"}),
        E.ExpectColumnUniqueValueCountToBeBetween(column=C["as_of_date"], min_value=1, max_value=1,
                                                  meta={"description": "one as-of date (the latest) for all rows"}),
        *_score_expectations(E, s),
        *_ranges(E, METRIC_RANGES, cols),
    ]
    if ctx.as_of:
        exps.append(E.ExpectColumnValuesToBeInSet(column=C["as_of_date"], value_set=[ctx.as_of],
                                                  meta={"description": f"as of {ctx.as_of} (--as-of)"}))
    return exps


def _history_expectations(E, s, cols, ctx):
    return [
        E.ExpectCompoundColumnsToBeUnique(column_list=[C["account_id"], C["as_of_date"]]),
        E.ExpectColumnValuesToNotBeNull(column=C["account_id"]),
        E.ExpectColumnValuesToNotBeNull(column=C["as_of_date"]),
        *_score_expectations(E, s),
    ]


def _factor_expectations(E, s, cols, ctx):
    return [
        E.ExpectCompoundColumnsToBeUnique(column_list=[C["account_id"], C["as_of_date"], C["factor_key"]]),
        E.ExpectColumnValuesToBeBetween(column=C["factor_score"], min_value=0, max_value=100),
        E.ExpectColumnValuesToBeBetween(column=C["weight"], min_value=0),
        E.ExpectColumnValuesToBeBetween(column=C["effective_weight"], min_value=0, max_value=1),
        E.ExpectColumnValuesToBeBetween(column=C["contribution"], min_value=0, max_value=100),
        E.ExpectColumnValuesToBeInSet(column=C["is_missing"], value_set=[True, False]),
        E.ExpectColumnValuesToBeNull(column=C["factor_score"], row_condition=_column(C["is_missing"]) == True,  # noqa: E712
                                     meta=_where(f"{C['factor_score']} null where {C['is_missing']}")),
    ]


def _alert_expectations(E, s, cols, ctx):
    exps = [E.ExpectColumnValuesToNotBeNull(column=c) for c in (C["account_id"], C["as_of_date"], C["alert_type"])]
    if s.alert_rules:
        exps.append(E.ExpectColumnValuesToBeInSet(column=C["alert_type"], value_set=s.alert_rules))
    if s.severities:
        exps.append(E.ExpectColumnValuesToBeInSet(column=C["severity"], value_set=s.severities))
    return exps


def _movement_expectations(E, s, cols, ctx):
    return [
        E.ExpectCompoundColumnsToBeUnique(column_list=[C["account_id"], C["month"]]),
        E.ExpectColumnValuesToBeInSet(column=C["movement_type"], value_set=MOVEMENT_TYPES),
        E.ExpectColumnValuesToNotBeNull(column=C["movement_type"]),
        *_ranges(E, {"mrr": (0, None), "previous_mrr": (0, None)}, cols),
    ]


def _kpi_expectations(E, s, cols, ctx):
    return [
        E.ExpectColumnValuesToBeUnique(column=C["month"], meta={"description": "one row per month"}),
        E.ExpectColumnValuesToNotBeNull(column=C["month"]),
        *_ranges(E, KPI_RANGES, cols),
    ]


def _backtest_expectations(E, s, cols, ctx):
    exps = [
        E.ExpectColumnValuesToNotBeNull(column=C["as_of_date"]),
        E.ExpectColumnValuesToBeBetween(column=C["auc"], min_value=0, max_value=1),
        E.ExpectColumnValuesToBeBetween(column=C["churn_rate"], min_value=0, max_value=100),
        *_ranges(E, {"customers": (0, None), "churners": (0, None)}, cols),
    ]
    if "grade" in cols:
        exps.append(E.ExpectCompoundColumnsToBeUnique(column_list=[C["as_of_date"], "grade"], ignore_row_if="never"))
    return exps


def _backtest_factor_expectations(E, s, cols, ctx):
    return [
        E.ExpectCompoundColumnsToBeUnique(column_list=[C["as_of_date"], C["factor_key"]]),
        *_ranges(E, {"metric_auc": (0, 1), C["auc"]: (0, 1), "customers": (0, None), "churners": (0, None)}, cols),
    ]


def _dim_expectations(E, s, cols, ctx):
    return [
        E.ExpectColumnValuesToNotBeNull(column=C["account_id"]),
        E.ExpectColumnValuesToBeUnique(column=C["account_id"], meta={"description": "one row per account"}),
        E.ExpectColumnValuesToNotBeNull(column=C["is_customer"]),
        *_ranges(E, {"mrr": (0, None), "seats": (0, None), "clv": (0, None)}, cols),
    ]


_score_cols = [C["score"], C["coverage"], C["grade"], C["colour"]]
PUBLIC_SUITES: dict[str, PublicSuite] = {
    s.table: s for s in [
        PublicSuite("mart_customer_health", [C["account_id"]], [C["account_id"], C["as_of_date"], *_score_cols],
                    _mart_expectations, optional=list(METRIC_RANGES)),
        PublicSuite("fct_health_history", [C["account_id"], C["as_of_date"]],
                    [C["account_id"], C["as_of_date"], *_score_cols], _history_expectations),
        PublicSuite("fct_health_factors", [C["account_id"], C["as_of_date"], C["factor_key"]],
                    [C["account_id"], C["as_of_date"], C["factor_key"], C["factor_score"], C["weight"],
                     C["effective_weight"], C["contribution"], C["is_missing"]], _factor_expectations),
        PublicSuite("fct_health_alerts", [], [C["account_id"], C["as_of_date"], C["alert_type"], C["severity"]],
                    _alert_expectations),
        PublicSuite("fct_mrr_movements", [C["account_id"], C["month"]],
                    [C["account_id"], C["month"], C["movement_type"]], _movement_expectations,
                    optional=["mrr", "previous_mrr"]),
        PublicSuite("mart_company_kpis", [C["month"]], [C["month"]], _kpi_expectations, optional=list(KPI_RANGES)),
        PublicSuite("mart_health_backtest", [], [C["as_of_date"], C["auc"], C["churn_rate"]], _backtest_expectations,
                    optional=["grade", "customers", "churners"]),
        PublicSuite("mart_health_backtest_factors", [C["as_of_date"], C["factor_key"]],
                    [C["as_of_date"], C["factor_key"]], _backtest_factor_expectations,
                    optional=["metric_auc", C["auc"], "customers", "churners"]),
        PublicSuite("dim_accounts", [C["account_id"]], [C["account_id"], C["is_customer"]], _dim_expectations,
                    optional=["mrr", "seats", "clv"]),
    ]
}
assert set(PUBLIC_SUITES) == set(PUBLIC_TABLES), "every public table has a suite"


def _columns(con, table: str) -> list[str]:
    return [r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?"
        " order by ordinal_position", [PUBLIC_SCHEMA, table]).fetchall()]


def _select_list(con, table: str, read: list[str]) -> str:
    """Dates and timestamps as ISO text: comparable with the values of an expectation, readable in messages."""
    types = dict(con.execute(
        "select column_name, data_type from information_schema.columns where table_schema = ? and table_name = ?",
        [PUBLIC_SCHEMA, table]).fetchall())
    return ", ".join(f"cast({c} as varchar) as {c}" if types.get(c, "").startswith(("DATE", "TIMESTAMP")) else c
                     for c in read)


def _account_sample(con, table: str, cols: list[str], max_rows: int) -> tuple[str, int, str]:
    rows = con.execute(f'select count(*) from {PUBLIC_SCHEMA}."{table}"').fetchone()[0]
    if rows <= max_rows or C["account_id"] not in cols:
        return "", rows, ""
    k = math.ceil(rows / max_rows)
    return (f" where hash({C['account_id']}) % {k} = 0", rows,
            f"sample: every row of 1 in {k} accounts (hash of {C['account_id']})")


def _contribution_frame(con, where: str):
    """Per account and as-of date: Σ contributions − score, and Σ effective weights of the factors present."""
    a, d = C["account_id"], C["as_of_date"]
    sql = f"""
        with factors as (
            select {a}, {d},
                   sum(coalesce({C['contribution']}, 0)) as contribution_sum,
                   sum(case when not {C['is_missing']} then {C['effective_weight']} end) as effective_weight_sum
            from {PUBLIC_SCHEMA}.fct_health_factors{where}
            group by all
        )
        select factors.{a}, factors.{d},
               factors.contribution_sum - coalesce(history.{C['score']}, 0) as contribution_gap,
               factors.effective_weight_sum,
               history.{C['score']} is not null as is_scored
        from factors
        left join {PUBLIC_SCHEMA}.fct_health_history as history
            on factors.{a} = history.{a} and factors.{d} = history.{d}
    """
    return con.execute(sql).df()


def _contribution_expectations(E) -> list:
    return [
        E.ExpectColumnValuesToBeBetween(
            column="contribution_gap", min_value=-SUM_TOLERANCE, max_value=SUM_TOLERANCE,
            meta={"description": f"contributions add up to the score (within {SUM_TOLERANCE} points; "
                                 "contribution_gap = Σ contribution − health_score)"}),
        E.ExpectColumnValuesToBeBetween(
            column="effective_weight_sum", min_value=0.999, max_value=1.001,
            row_condition=_column("is_scored") == True,  # noqa: E712
            meta={"description": "effective weights of the factors present add up to 1 where there is a score"}),
    ]


def validate_public(gxr: _Gx, build_db: Path, as_of: date | None = None,
                    max_rows: int = PUBLIC_MAX_ROWS) -> tuple[list[SuiteRun], list[str]]:
    E = gxr.gx.expectations
    runs, notes = [], []
    with duckdb.connect(str(build_db), read_only=True) as con:
        settings = _settings(con)
        if not settings.bands:
            notes.append("config.health_bands not found: grade and colour are not checked against the bands")
        present = existing_tables(con)
        missing = [t for t in PUBLIC_TABLES if t not in present]
        if missing:
            notes.append(f"public tables not in the build, not validated: {', '.join(missing)}")
        for table in present:
            spec = PUBLIC_SUITES[table]
            cols = _columns(con, table)
            absent = [c for c in spec.needs if c not in cols]
            run = SuiteRun(name=table, kind="public", rows=0, rows_validated=0)
            if absent:
                run.checks = [Check(table, f"column {c} exists", False) for c in absent]
                runs.append(run)
                continue
            read = list(dict.fromkeys([*spec.needs, *(c for c in spec.optional if c in cols)]))
            where, run.rows, run.note = _account_sample(con, table, cols, max_rows)
            frame = con.execute(f'select {_select_list(con, table, read)} from {PUBLIC_SCHEMA}."{table}"{where}').df()
            run.rows_validated = len(frame)
            exps = spec.expectations(E, settings, set(read), ReadContext(as_of=as_of))
            if table in ("mart_customer_health", "dim_accounts", "mart_company_kpis"):
                exps.append(E.ExpectTableRowCountToBeBetween(min_value=1, meta={"description": "has rows"}))
            run.checks = gxr.run("public", table, frame, exps, "public")
            del frame
            runs.append(run)
            if table == "fct_health_factors" and "fct_health_history" in present:
                gap = _contribution_frame(con, where)
                rows = len(gap) if not where else con.execute(
                    f"select count(*) from {PUBLIC_SCHEMA}.fct_health_history").fetchone()[0]
                sums = SuiteRun(name="fct_health_factors_sum", kind="public", rows=rows,
                                rows_validated=len(gap), note=run.note)
                sums.checks = gxr.run("public", "fct_health_factors_sum", gap, _contribution_expectations(E),
                                      "public")
                runs.append(sums)
    return runs, notes


# --------------------------------------------------------------------------- entry point


def _swap_dir(new: Path, final: Path) -> None:
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    if final.exists():
        os.rename(final, old)
    os.rename(new, final)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def validate(build_db: Path, raw_dir: Path | None = None, raw_format: str | None = None, as_of: date | None = None,
             docs_dir: Path | None = None, progress=print) -> Validation:
    """Validate the raw files (warnings) and the public tables of a build (failures); write Data Docs and a stamp."""
    started = time.monotonic()
    build_db = Path(build_db)
    identity = build_identity(build_db)
    docs_dir = docs_dir if docs_dir is not None else reports_dir() / "data_docs"
    tmp_docs = docs_dir.with_name(f".{docs_dir.name}.tmp-{os.getpid()}")
    if tmp_docs.exists():
        shutil.rmtree(tmp_docs)
    docs_dir.parent.mkdir(parents=True, exist_ok=True)
    result = Validation()
    gxr = _Gx(tmp_docs)
    if raw_dir is not None:
        from customer_health.check_raw import detect_format

        fmt = raw_format or detect_format(raw_dir)
        for run in validate_raw(gxr, raw_dir, fmt):
            result.suites.append(run)
            progress(_progress_line(run, "warn"))
    else:
        result.notes.append("no raw directory given: raw suites not run")
    runs, notes = validate_public(gxr, build_db, as_of=as_of)
    result.notes += notes
    for run in runs:
        result.suites.append(run)
        progress(_progress_line(run, "FAIL"))
    gxr.build_docs()
    _swap_dir(tmp_docs, docs_dir)
    result.data_docs = docs_dir
    result.seconds = time.monotonic() - started
    if build_identity(build_db) != identity:
        result.notes.append("the build file changed while it was validated")
        result.suites.append(SuiteRun("build file", "public", 0, 0, checks=[
            Check("build file", "unchanged during validation", False)]))
    stamp = {**identity, "validated_at": datetime.now(timezone.utc).isoformat(), **result.as_dict()}
    stamp_path(build_db).write_text(json.dumps(stamp, indent=2, default=str) + "\n", encoding="utf-8")
    return result


def _progress_line(run: SuiteRun, bad: str) -> str:
    status = "pass" if not run.failed else bad.lower() if bad == "warn" else bad
    sample = f" of {run.rows:,}" if run.rows_validated != run.rows else ""
    note = f" [{run.note}]" if run.note and run.note.startswith("sample") else ""
    return (f"  {status:<5} {run.kind:<6} {run.name}: {len(run.checks) - len(run.failed)}/{len(run.checks)} "
            f"expectations met on {run.rows_validated:,}{sample} rows{note}")


def check_stamp(build_db: Path) -> dict:
    """The last validation of this exact build file; raises ValueError when there is none or it failed."""
    path = stamp_path(build_db)
    if not path.is_file():
        raise ValueError(f"{build_db} has not been validated (run `health validate`)")
    stamp = json.loads(path.read_text(encoding="utf-8"))
    if {k: stamp.get(k) for k in ("build", "size", "mtime_ns")} != build_identity(build_db):
        raise ValueError(f"{build_db} changed since it was last validated (run `health validate`)")
    if not stamp.get("passed"):
        first = (stamp.get("failures") or ["?"])[0]
        raise ValueError(f"{build_db} failed its last validation ({len(stamp.get('failures') or [])} "
                         f"expectation(s), first: {first})")
    return stamp
