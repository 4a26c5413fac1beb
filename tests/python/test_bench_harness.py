"""The benchmark harness's own parts: yesterday's files, the memory sampler and the table.

The figures themselves are not tested (they are measured by `make bench`); what is tested is
that the second build really sees one more day of data and that the table says what it measured.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date

import duckdb

from customer_health.bench.harness import Measure, SizeResult, _tree_rss_kb, cut_yesterday, measure, render


def test_yesterday_is_today_without_the_rows_loaded_on_the_last_day(clean_raw, tmp_path):
    last_day = date.fromisoformat(json.loads((clean_raw / "generation.json").read_text())["arguments"]["end"])
    yesterday = tmp_path / "yesterday"
    rows = cut_yesterday(clean_raw, yesterday, last_day)
    con = duckdb.connect()
    total_today = total_kept = 0
    for today_file in sorted(clean_raw.glob("*/*.parquet")):
        cut_file = yesterday / today_file.parent.name / today_file.name
        today_n, late = con.execute(
            f"select count(*), count(*) filter (where _loaded_at >= '{last_day}') from read_parquet('{today_file}')"
        ).fetchone()
        kept, kept_late = con.execute(
            f"select count(*), count(*) filter (where _loaded_at >= '{last_day}') from read_parquet('{cut_file}')"
        ).fetchone()
        assert kept == today_n - late and kept_late == 0, today_file
        total_today, total_kept = total_today + today_n, total_kept + kept
    assert rows == total_kept < total_today  # the generated data does load rows on its last day
    # reused while today's files are the same
    stamp = (yesterday / "cut.json").stat().st_mtime_ns
    assert cut_yesterday(clean_raw, yesterday, last_day) == rows
    assert (yesterday / "cut.json").stat().st_mtime_ns == stamp


def test_memory_is_sampled_over_the_whole_process_tree(tmp_path):
    assert _tree_rss_kb(os.getpid()) > 10_000
    # a parent that only waits for a child holding 200 MB: the child's memory must be counted
    child = "import time; b = bytearray(200 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); time.sleep(1.5)"
    parent = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {child!r}])"
    m = measure([sys.executable, "-c", parent], dict(os.environ), tmp_path / "log.txt")
    assert m.returncode == 0
    assert m.peak_rss_mb > 200


def test_the_table_states_each_figure_and_ratio():
    def result(n: int, full: float, inc: float, floor: float, pandas: float) -> SizeResult:
        ok = {"equal": True, "accounts": n, "max_score_diff": 0.0}
        return SizeResult(n, {"crm.accounts": n, "product.usage_events": 300 * n}, 300 * n,
                          Measure(full, 100, 0), 10, Measure(inc, 90, 0), 12,
                          Measure(floor, 50, 0), Measure(pandas, 80, 0), ok, ok, [("fct_health_factors", 1.5)],
                          [("base_product__usage_events", 2.5)])

    table = render([result(10_000, 100, 80, 10, 200), result(100_000, 900, 700, 95, 2100)])
    assert "| 100,000 | 30,100,000 | 900.0 s | 700.0 s | 95.0 s | 2100.0 s | 9.47 | 2.33 | 0.78 | yes, yes |" in table
    assert "| 100,000 / 10,000 | 10.00 | 9.00 | 8.75 | 9.50 | 10.50 |" in table
    assert "| fct_health_factors | 1.5 |" in table
    assert table.index("| fct_health_factors | 1.5 |") < table.index("Slowest models of the incremental run at 100,000")
    assert "| base_product__usage_events | 2.5 |" in table
