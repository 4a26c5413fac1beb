"""The benchmark's SQL floor (customer_health/bench/floor.sql) gives the warehouse's scores.

The floor assumes clean input, so it is not run on the bad-row data itself: the valid, latest
rows that the warehouse staged from it (`staging.stg_*` of the session's `bad_build`) are written
back as raw files, with stale versions of some keys added (an older `_loaded_at` after the latest
row in the file, and a copy with the same `_loaded_at` before it: the latest version must win). The
floor on those files must give the warehouse's latest scores, grades and factor values, in both raw
formats. Cheap: a few seconds on top of `bad_build`, which other tests build too.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from customer_health.bench.compare import compare_to_warehouse
from customer_health.bench.floor import run_floor

# raw table -> a staged version of its rows that would change the scores if it won
STALE_VERSIONS = {
    "crm/accounts": "created_at + interval 5000 day as created_at",
    "billing/subscription_periods": "cast(mrr * 3 + 7 as decimal(18, 2)) as mrr",
    "billing/invoices": "'open' as status",
    "support/tickets": "'urgent' as priority",
    "surveys/nps_responses": "cast(0 as bigint) as score",
    "product/usage_events": "occurred_at - interval 35 day as occurred_at",
    "product/onboarding_steps": "completed_at - interval 400 day as completed_at",
}


def _export_clean_raw(warehouse: Path, out: Path, raw_format: str) -> None:
    """Every staged table of the warehouse as a raw file, plus stale versions of some keys."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [row[0] for row in con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'staging' and table_name like 'stg\\_%' escape '\\' order by 1").fetchall()]
        for table in tables:
            source, name = table.removeprefix("stg_").split("__")
            key = f"{source}/{name}"
            (out / source).mkdir(parents=True, exist_ok=True)
            rows = f"select * exclude (loaded_at), loaded_at as _loaded_at from staging.{table}"
            if key in STALE_VERSIONS:
                stale = f"select * replace ({STALE_VERSIONS[key]}) from ({rows}) where _loaded_at is not null"
                rows = f"""
                    select * exclude (part, n) from (
                        -- same _loaded_at, earlier in the file: file order makes it lose
                        select *, 1 as part, row_number() over () as n
                        from ({stale}) using sample 30 percent (bernoulli, 7)
                        union all by name
                        select *, 2 as part, row_number() over () as n from ({rows})
                        union all by name
                        -- an older _loaded_at, later in the file: _loaded_at makes it lose
                        select * replace (_loaded_at - interval 1 day as _loaded_at), 3 as part,
                            row_number() over () as n
                        from ({stale}) using sample 30 percent (bernoulli, 8)
                    )
                    order by part, n
                """
            options = "format parquet" if raw_format == "parquet" else "format csv, header true"
            con.execute(f"copy ({rows}) to '{out / source / name}.{raw_format}' ({options})")


@pytest.fixture(scope="module")
def warehouse_as_of(bad_build) -> date:
    with duckdb.connect(str(bad_build), read_only=True) as con:
        return con.execute("select max(as_of_date) from main.mart_customer_health").fetchone()[0]


@pytest.mark.parametrize("raw_format", ["parquet", "csv"])
def test_the_floor_gives_the_warehouse_scores(bad_build, warehouse_as_of, tmp_path, raw_format):
    raw = tmp_path / "raw"
    _export_clean_raw(bad_build, raw, raw_format)
    result = tmp_path / "floor.parquet"

    rows = run_floor(raw, warehouse_as_of, result, raw_format=raw_format)
    figures = compare_to_warehouse(result, bad_build, warehouse_as_of)

    assert rows == figures["accounts"] > 0
    assert figures["factor_values_compared"] > 10 * figures["accounts"]
    assert figures["equal"], {k: v for k, v in figures.items() if k != "examples"} | {"examples": figures["examples"]}


def test_the_comparison_finds_a_changed_value_a_missing_account_and_a_wrong_grade(
        bad_build, warehouse_as_of, tmp_path):
    raw = tmp_path / "raw"
    _export_clean_raw(bad_build, raw, "parquet")
    result = tmp_path / "floor.parquet"
    run_floor(raw, warehouse_as_of, result)
    changed = tmp_path / "changed.parquet"
    with duckdb.connect() as con:
        first, second = [row[0] for row in con.execute(
            f"select account_id from '{result}' where nps is not null and grade is not null order by 1 limit 2"
        ).fetchall()]
        con.execute(f"""
            copy (
                select * replace (
                    case when account_id = '{first}' then nps + 0.5 else nps end as nps,
                    case when account_id = '{first}' then 'Z' else grade end as grade
                )
                from '{result}'
                where account_id <> '{second}'
            ) to '{changed}' (format parquet)
        """)

    figures = compare_to_warehouse(changed, bad_build, warehouse_as_of)

    assert not figures["equal"]
    assert figures["missing_accounts"] == 1
    assert figures["grade_mismatches"] == 1
    assert figures["factor_mismatches"].get("nps") == 1
