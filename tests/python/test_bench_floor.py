"""The benchmark's SQL floor (customer_health/bench/floor.sql) gives the warehouse's scores.

The floor assumes clean input, so it is not run on the bad-row data itself: the valid, latest
rows that the warehouse staged from it (`staging.stg_*` of the session's `bad_build`) are written
back as raw files, with stale versions of some keys added (an older `_loaded_at` after the latest
row in the file, and a copy with the same `_loaded_at` before it: the latest version must win). The
floor on those files must give the warehouse's latest scores, grades and factor values, in both raw
formats. The files are conftest's `staged_raw`, shared with the pandas baseline's test. Cheap: a few
seconds on top of `bad_build`, which other tests build too.
"""

from __future__ import annotations

import duckdb
import pytest

from conftest import assert_baseline_gives_warehouse_scores
from customer_health.bench.compare import compare_to_warehouse
from customer_health.bench.floor import run_floor


@pytest.mark.parametrize("raw_format", ["parquet", "csv"])
def test_the_floor_gives_the_warehouse_scores(bad_build, staged_raw, warehouse_as_of, tmp_path, raw_format):
    raw = staged_raw(raw_format)
    result = tmp_path / "floor.parquet"

    rows = run_floor(raw, warehouse_as_of, result, raw_format=raw_format)
    assert_baseline_gives_warehouse_scores(result, rows, bad_build, warehouse_as_of)


def test_the_comparison_finds_a_changed_value_a_missing_account_and_a_wrong_grade(
        bad_build, staged_raw, warehouse_as_of, tmp_path):
    raw = staged_raw("parquet")
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
