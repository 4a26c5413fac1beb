"""Shared fixtures: generated raw data and warehouses built from it, each in its own folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from customer_health import PROJECT_DIR


def isolated_env(work: Path, **extra: str) -> dict[str, str]:
    """Environment for a build that shares nothing with another: its own warehouse, target and logs."""
    env = dict(os.environ)
    for key in ("HEALTH_RAW_DIR", "HEALTH_RAW_FORMAT", "HEALTH_AS_OF", "HEALTH_TARGET"):
        env.pop(key, None)
    env.update(
        HEALTH_DUCKDB_PATH=str(work / "health.duckdb"),
        DBT_TARGET_PATH=str(work / "target"),
        DBT_LOG_PATH=str(work / "logs"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        HEALTH_THREADS="2",
    )
    env.update(extra)
    return env


def health(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    """Run the `health` command as a user would, in a separate process."""
    proc = subprocess.run(
        [sys.executable, "-m", "customer_health.cli", *args],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=1800,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"health {' '.join(args)} exited {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def dbt(*args: str, env: dict[str, str], raw_dir: Path, raw_format: str = "parquet",
        project: Path = PROJECT_DIR, check: bool = True) -> subprocess.CompletedProcess:
    """Run dbt on its own (not through `health`), as the README says one can: on the project, or on a copy of
    it (`project`); a failed run raises unless check=False."""
    import json

    proc = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), *args, "--profiles-dir", "profiles",
         "--vars", json.dumps({"raw_dir": str(raw_dir), "raw_format": raw_format})],
        cwd=project, env=env, capture_output=True, text=True, timeout=1800,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} exited {proc.returncode}\n{proc.stdout[-6000:]}\n{proc.stderr[-2000:]}")
    return proc


@pytest.fixture(scope="session")
def bad_raw(tmp_path_factory) -> Path:
    """A small demo company with every kind of contract break injected (Parquet)."""
    out = tmp_path_factory.mktemp("raw_bad")
    health("generate", "--accounts", "60", "--seed", "11", "--out", str(out), "--bad-rows", "0.02",
           env=isolated_env(out))
    return out


@pytest.fixture(scope="session")
def bad_build(tmp_path_factory, bad_raw) -> Path:
    """The whole warehouse built by `health build --unit-tests` on the bad-row data; returns the DuckDB file."""
    work = tmp_path_factory.mktemp("build_bad")
    health("build", "--raw-dir", str(bad_raw), "--unit-tests", env=isolated_env(work))
    return work / "health.duckdb"


# --- A tiny, consistent set of public tables (no dbt), for validate/publish/report tests -------------------------

TINY_AS_OF = "2026-10-31"


def make_tiny_warehouse(path: Path) -> Path:
    """A DuckDB file with every public table and the scoring seeds, internally consistent (scores are the
    weighted mean of factor scores, grades follow the bands), built in well under a second."""
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute(
            f"""
            create schema config;
            create table config.health_bands as select * from (values
                ('A', 'green', 80, 100), ('B', 'green', 60, 80), ('C', 'yellow', 40, 60), ('D', 'red', 0, 40)
            ) as t (grade, colour, min_score, max_score);
            create table config.health_settings as select * from (values ('min_coverage', '50')) as t (setting_key, setting_value);
            create table config.alert_rules as select * from (values ('turns_red', 'high'), ('grade_drop', 'medium'))
                as t (rule, severity);
            create temp table dates as
                select cast(date '{TINY_AS_OF}' - to_days(cast(7 * i as integer)) as date) as as_of_date
                from range(60) as t (i);
            create temp table accts as
                select 'acc' || lpad(cast(i as varchar), 3, '0') as account_id, i from range(40) as t (i);
            create temp table factors as select * from (values
                ('active_days_30d', 0.4), ('csat', 0.3), ('days_since_last_use', 0.2), ('nps', 0.1)
            ) as t (factor_key, weight);
            create temp table raw_factors as
                select a.account_id, d.as_of_date, f.factor_key, f.weight,
                    case when a.i = 7 and f.factor_key <> 'nps' then null  -- acc007: coverage 10, no grade
                         else (hash(a.account_id, d.as_of_date, f.factor_key) % 1000) / 10.0 * (0.4 + (a.i % 5) / 8.0)
                    end as factor_score
                from accts as a cross join dates as d cross join factors as f;
            create table main.fct_health_factors as
                select *, factor_score is null as is_missing,
                    case when factor_score is not null then weight / sum(case when factor_score is not null then weight end)
                        over (partition by account_id, as_of_date) else 0 end as effective_weight,
                    factor_score * (case when factor_score is not null then weight / sum(case when factor_score is not null
                        then weight end) over (partition by account_id, as_of_date) else 0 end) as contribution,
                    (factor_score - 50) * weight as pull
                from raw_factors;
            create table main.fct_health_history as
                with s as (
                    select account_id, as_of_date, sum(contribution) as health_score,
                        100 * sum(case when not is_missing then weight else 0 end) / sum(weight) as score_coverage
                    from main.fct_health_factors group by all
                )
                select s.account_id, s.as_of_date, s.health_score, s.score_coverage,
                    s.score_coverage >= 50 as is_graded,
                    case when s.score_coverage >= 50 then b.grade end as grade,
                    case when s.score_coverage >= 50 then b.colour else 'grey' end as colour
                from s left join config.health_bands as b
                    on s.health_score >= b.min_score and (s.health_score < b.max_score or b.max_score = 100);
            create table main.mart_customer_health as
                select h.*, 'Account ' || a.i as account_name, 'Owner ' || (a.i % 4) as csm_owner,
                    a.i % 9 <> 0 as is_customer,
                    case when a.i % 9 = 0 then 'churned' when a.i % 6 = 1 then 'onboarding' else 'active' end
                        as lifecycle_stage,
                    case a.i % 3 when 0 then 'enterprise' when 1 then 'mid_market' else 'smb' end as value_tier,
                    cast(500 + 97 * a.i as decimal(18, 2)) as mrr,
                    h.health_score - p.health_score as score_change_30d,
                    'days_since_last_use' as pull_down_factor_1, -6.5 as pull_down_points_1,
                    'csat' as pull_down_factor_2, -2.0 as pull_down_points_2,
                    'nps' as pull_up_factor_1, 3.0 as pull_up_points_1,
                    40.0 + a.i as csat, -20.0 + a.i as nps
                from main.fct_health_history as h
                inner join accts as a on h.account_id = a.account_id
                left join main.fct_health_history as p
                    on h.account_id = p.account_id and p.as_of_date = h.as_of_date - to_days(28)
                where h.as_of_date = date '{TINY_AS_OF}';
            create table main.dim_accounts as
                select account_id, account_name, is_customer, mrr, 10 * mrr as clv from main.mart_customer_health;
            create table main.fct_health_alerts as
                select account_id, as_of_date, 'turns_red' as alert_type, 'high' as severity,
                    'score ' || round(health_score, 1) || ', now red' as detail
                from main.mart_customer_health where colour = 'red' limit 3;
            create temp table months as
                select cast(date_trunc('month', date '{TINY_AS_OF}') - to_months(cast(i as integer)) as date) as month, i
                from range(18) as t (i);
            create table main.fct_mrr_movements as
                select m.month, a.account_id, cast(100 + a.i as double) as mrr, cast(100 + a.i as double) as previous_mrr,
                    ['new', 'churn', 'reactivation', 'inactive', 'expansion', 'contraction', 'flat'][1 + (a.i + m.i) % 7]
                        as movement_type, 0.0 as movement_amount
                from months as m cross join accts as a;
            create table main.mart_company_kpis as
                select month, false as is_partial_month, 100 + i as customers_start, 101 + i as customers_end,
                    3 as new_customers, 2 as churned_customers, 0 as reactivated_customers,
                    2.0 as logo_churn_rate, 97.0 + (i % 3) as customer_retention_rate,
                    100000.0 + 1000 * i as mrr_start, 101000.0 + 1000 * i as mrr_end,
                    3000.0 + 100 * (i % 4) as new_mrr, 1500.0 + 50 * (i % 3) as expansion_mrr,
                    400.0 as contraction_mrr, 1200.0 + 80 * (i % 5) as churned_mrr, 100.0 * (i % 2) as reactivation_mrr,
                    98.0 - (i % 4) as gross_revenue_retention, 101.0 + (i % 3) as net_revenue_retention,
                    10.0 + 3 * (i % 5) as nps, 75.0 + (i % 4) as csat, 20.0 as avg_resolution_hours,
                    60.0 as first_contact_resolution_rate, 80.0 as renewal_rate, 20.0 as repeat_purchase_rate,
                    5.0 as product_return_rate, 1000.0 as arpa, 2.0 as mean_logo_churn_rate_12m, 40000.0 as clv
                from months;
            create table main.mart_health_backtest as
                select m.month + to_days(27) as as_of_date, g.grade, 90 as horizon_days, 50 as customers,
                    g.churners, 2.0 * g.churners as churn_rate_pct, 0.7 + 0.01 * (m.i % 5) as score_auc
                from months as m
                cross join (select * from (values ('A', 1), ('B', 3), ('C', 6), ('D', 12)) as t (grade, churners)) as g
                where m.i >= 3;
            create table main.mart_health_backtest_factors as
                select b.as_of_date, f.factor_key, 0.55 + f.weight / 2 as metric_auc, 200 as customers,
                    22 as churners, 0.72 as score_auc
                from (select distinct as_of_date from main.mart_health_backtest) as b cross join factors as f;
            """
        )
    return path


@pytest.fixture
def tiny_warehouse(tmp_path) -> Path:
    """A fresh tiny warehouse file (see make_tiny_warehouse) in the test's own folder."""
    return make_tiny_warehouse(tmp_path / "tiny" / "health.duckdb")


# --- One end-to-end `health run` (check-raw, build, validate, publish, report), shared by the run and report tests --


def run_env(work: Path, **extra: str) -> dict[str, str]:
    """isolated_env plus the run's own publication and report folders."""
    return isolated_env(work, **{"HEALTH_PUBLISH_DIR": str(work / "published"),
                                 "HEALTH_REPORTS_DIR": str(work / "reports"), **extra})


@pytest.fixture(scope="session")
def health_run(tmp_path_factory, bad_raw):
    """`health run` on the small company with contract breaks: (work dir, completed process), whatever the exit."""
    work = tmp_path_factory.mktemp("run")
    proc = health("run", "--raw-dir", str(bad_raw), env=run_env(work), check=False)
    return work, proc


# --- The same small company without bad rows, and one uninterrupted `health run` on it (robustness tests) ---------


@pytest.fixture(scope="session")
def clean_raw(tmp_path_factory) -> Path:
    """bad_raw without the bad rows: the same accounts, seed and clean rows (Parquet)."""
    out = tmp_path_factory.mktemp("raw_clean")
    health("generate", "--accounts", "60", "--seed", "11", "--out", str(out), env=isolated_env(out))
    return out


@pytest.fixture(scope="session")
def clean_run(tmp_path_factory, clean_raw):
    """An uninterrupted `health run` on clean_raw: (work dir, completed process). Reference for the fault tests."""
    work = tmp_path_factory.mktemp("run_clean")
    proc = health("run", "--raw-dir", str(clean_raw), env=run_env(work), check=False)
    return work, proc


# raw table -> a version of its rows that would change the scores if it won over the latest one
STALE_VERSIONS = {
    "crm/accounts": "created_at + interval 5000 day as created_at",
    "crm/opportunities": "case stage when 'won' then 'lost' else 'won' end as stage",
    "crm/activities": "'business_review' as activity_type",
    "billing/subscription_periods": "cast(mrr * 3 + 7 as decimal(18, 2)) as mrr",
    "billing/invoices": "'open' as status",
    "billing/orders": "'cancelled' as status",
    "support/tickets": "'urgent' as priority",
    "support/csat_responses": "cast(1 as bigint) as score",
    "surveys/nps_responses": "cast(0 as bigint) as score",
    "product/usage_events": "occurred_at - interval 35 day as occurred_at",
    "product/onboarding_steps": "completed_at - interval 400 day as completed_at",
    "product/feedback": "'negative' as sentiment",
}


def export_staged_raw(warehouse: Path, out: Path, raw_format: str) -> None:
    """Every staged table of the warehouse as a raw file, with losing stale versions of some keys."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [row[0] for row in con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'staging' and table_name like 'stg\\_%' escape '\\' order by 1").fetchall()]
        for table in tables:
            source, name = table.removeprefix("stg_").split("__")
            rows = f"select * exclude (loaded_at), loaded_at as _loaded_at from staging.{table}"
            stale_change = STALE_VERSIONS.get(f"{source}/{name}")
            if stale_change:
                stale = f"select * replace ({stale_change}) from ({rows}) where _loaded_at is not null"
                rows = f"""
                    select * exclude (part, n) from (
                        -- same _loaded_at, earlier in the file: file order makes it lose
                        select *, 1 as part, row_number() over () as n
                        from ({stale}) using sample 30 percent (bernoulli, 3)
                        union all by name
                        select *, 2 as part, row_number() over () as n from ({rows})
                        union all by name
                        -- an older _loaded_at, later in the file: _loaded_at makes it lose
                        select * replace (_loaded_at - interval 1 hour as _loaded_at), 3 as part,
                            row_number() over () as n
                        from ({stale}) using sample 30 percent (bernoulli, 4)
                    )
                    order by part, n
                """
            (out / source).mkdir(parents=True, exist_ok=True)
            options = "format parquet" if raw_format == "parquet" else "format csv, header true"
            con.execute(f"copy ({rows}) to '{out / source / name}.{raw_format}' ({options})")


@pytest.fixture(scope="session")
def staged_raw(tmp_path_factory, bad_build):
    """raw_format -> clean raw files for the benchmark baselines (written once per format): the valid,
    latest rows that bad_build staged, written back as raw files with stale versions of some keys."""
    written: dict[str, Path] = {}

    def raw_dir(raw_format: str) -> Path:
        if raw_format not in written:
            out = tmp_path_factory.mktemp(f"staged_raw_{raw_format}")
            export_staged_raw(bad_build, out, raw_format)
            written[raw_format] = out
        return written[raw_format]

    return raw_dir


@pytest.fixture(scope="session")
def warehouse_as_of(bad_build):
    """The latest as-of date of bad_build's mart."""
    import duckdb

    with duckdb.connect(str(bad_build), read_only=True) as con:
        return con.execute("select max(as_of_date) from main.mart_customer_health").fetchone()[0]


def assert_baseline_gives_warehouse_scores(result: Path, rows: int, warehouse: Path, as_of) -> None:
    """A benchmark baseline's result (`rows` accounts written to `result`) equals the warehouse as of `as_of`:
    the same accounts, more than ten factor values per account compared, and every one of them equal."""
    from customer_health.bench.compare import compare_to_warehouse

    figures = compare_to_warehouse(result, warehouse, as_of)
    assert rows == figures["accounts"] > 0
    assert figures["factor_values_compared"] > 10 * figures["accounts"]
    assert figures["equal"], {k: v for k, v in figures.items() if k != "examples"} | {"examples": figures["examples"]}
