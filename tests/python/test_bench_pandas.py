"""The benchmark's pandas baseline (customer_health/bench/pandas_baseline.py) gives the warehouse's scores.

The baseline assumes clean input, so it runs on the valid, latest rows that the warehouse staged from
the session's bad-row data (`staging.stg_*` of `bad_build`), written back as raw files, with stale
versions of some keys added that would change the scores if they won: one with the same `_loaded_at`
earlier in the file (file order makes it lose) and one with an older `_loaded_at` later in the file.
The baseline on those files must give the warehouse's latest scores, grades, colours, coverage and
factor values, in both raw formats. The files are conftest's `staged_raw`, shared with the SQL floor's
test. Cheap: seconds on top of `bad_build`, which other tests build too.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from conftest import assert_baseline_gives_warehouse_scores
from customer_health.bench.pandas_baseline import read_raw, run_pandas


@pytest.mark.parametrize("raw_format", ["parquet", "csv"])
def test_the_pandas_baseline_gives_the_warehouse_scores(bad_build, staged_raw, warehouse_as_of, tmp_path, raw_format):
    raw = staged_raw(raw_format)
    result = tmp_path / "pandas.parquet"

    rows = run_pandas(raw, warehouse_as_of, result, raw_format=raw_format)
    assert_baseline_gives_warehouse_scores(result, rows, bad_build, warehouse_as_of)
    written = pd.read_parquet(result)
    assert written["account_id"].is_unique
    assert written["health_score"].dtype == "float64"


def test_the_latest_version_of_a_row_wins(bad_build, staged_raw):
    raw = staged_raw("parquet")
    raw_rows = pd.read_parquet(raw / "support" / "tickets.parquet", columns=["ticket_id", "priority"])
    assert raw_rows["ticket_id"].duplicated().any()  # the stale versions are there

    tickets = read_raw(raw, "support.tickets", ["priority"])

    with duckdb.connect(str(bad_build), read_only=True) as con:
        staged = con.execute("select ticket_id, priority from staging.stg_support__tickets").df()
    assert tickets["ticket_id"].is_unique
    merged = staged.merge(tickets, on="ticket_id", how="outer", suffixes=("_staged", "_read"), indicator=True)
    assert (merged["_merge"] == "both").all()
    assert (merged["priority_staged"].fillna("-") == merged["priority_read"].fillna("-")).all()
