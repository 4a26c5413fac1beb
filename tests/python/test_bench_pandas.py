"""The benchmark's pandas baseline (customer_health/bench/pandas_baseline.py) gives the warehouse's scores.

The baseline assumes clean input, so it runs on the valid, latest rows that the warehouse staged from
the session's bad-row data (`staging.stg_*` of `bad_build`), written back as raw files, with stale
versions of some keys added that would change the scores if they won: one with the same `_loaded_at`
earlier in the file (file order makes it lose) and one with an older `_loaded_at` later in the file.
The baseline on those files must give the warehouse's latest scores, grades, colours, coverage and
factor values, in both raw formats. Cheap: seconds on top of `bad_build`, which other tests build too.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from customer_health.bench.compare import compare_to_warehouse
from customer_health.bench.pandas_baseline import read_raw, run_pandas

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


def export_clean_raw(warehouse: Path, out: Path, raw_format: str) -> None:
    """Every staged table of the warehouse as a raw file, with losing stale versions of some keys."""
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
                        select *, 1 as part, row_number() over () as n
                        from ({stale}) using sample 30 percent (bernoulli, 3)
                        union all by name
                        select *, 2 as part, row_number() over () as n from ({rows})
                        union all by name
                        select * replace (_loaded_at - interval 1 hour as _loaded_at), 3 as part,
                            row_number() over () as n
                        from ({stale}) using sample 30 percent (bernoulli, 4)
                    )
                    order by part, n
                """
            (out / source).mkdir(parents=True, exist_ok=True)
            options = "format parquet" if raw_format == "parquet" else "format csv, header true"
            con.execute(f"copy ({rows}) to '{out / source / name}.{raw_format}' ({options})")


@pytest.fixture(scope="module")
def warehouse_as_of(bad_build) -> date:
    with duckdb.connect(str(bad_build), read_only=True) as con:
        return con.execute("select max(as_of_date) from main.mart_customer_health").fetchone()[0]


@pytest.mark.parametrize("raw_format", ["parquet", "csv"])
def test_the_pandas_baseline_gives_the_warehouse_scores(bad_build, warehouse_as_of, tmp_path, raw_format):
    raw = tmp_path / "raw"
    export_clean_raw(bad_build, raw, raw_format)
    result = tmp_path / "pandas.parquet"

    rows = run_pandas(raw, warehouse_as_of, result, raw_format=raw_format)
    figures = compare_to_warehouse(result, bad_build, warehouse_as_of)

    assert rows == figures["accounts"] > 0
    assert figures["factor_values_compared"] > 10 * figures["accounts"]
    assert figures["equal"], {k: v for k, v in figures.items() if k != "examples"} | {"examples": figures["examples"]}
    written = pd.read_parquet(result)
    assert written["account_id"].is_unique
    assert written["health_score"].dtype == "float64"


def test_the_latest_version_of_a_row_wins(bad_build, tmp_path):
    raw = tmp_path / "raw"
    export_clean_raw(bad_build, raw, "parquet")
    raw_rows = pd.read_parquet(raw / "support" / "tickets.parquet", columns=["ticket_id", "priority"])
    assert raw_rows["ticket_id"].duplicated().any()  # the stale versions are there

    tickets = read_raw(raw, "support.tickets", ["priority"])

    with duckdb.connect(str(bad_build), read_only=True) as con:
        staged = con.execute("select ticket_id, priority from staging.stg_support__tickets").df()
    assert tickets["ticket_id"].is_unique
    merged = staged.merge(tickets, on="ticket_id", how="outer", suffixes=("_staged", "_read"), indicator=True)
    assert (merged["_merge"] == "both").all()
    assert (merged["priority_staged"].fillna("-") == merged["priority_read"].fillna("-")).all()
