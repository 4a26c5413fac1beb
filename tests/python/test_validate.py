"""great-expectations: suites from the contract warn about raw rows, suites on the public tables fail a run."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from customer_health.contract import load_contract
from customer_health.validate import (
    _Gx,
    check_stamp,
    raw_expectations,
    stamp_path,
    validate,
    validate_public,
    validate_raw,
)

CONTRACT = load_contract()


def test_raw_suites_are_generated_from_the_contract():
    total = 0
    for qualified, table in CONTRACT.items():
        exps, select = raw_expectations(table, {c.name for c in table.columns})
        rules = sum(bool(c.required) + bool(c.unique) + bool(c.range) + bool(c.values) for c in table.columns)
        rules += len(table.key) > 1  # no unique column: the compound key is unique
        assert len(exps) == rules, qualified
        assert all(str(e.severity).lower().endswith("warning") for e in exps), qualified
        assert {c for c in select if not c.endswith("__as_number")} == {
            c.name for c in table.columns if c.required or c.unique or c.range or c.values}
        total += rules
    assert total > 80
    exps, _ = raw_expectations(CONTRACT["crm.accounts"], {c.name for c in CONTRACT["crm.accounts"].columns})
    kinds = {(e.expectation_type, getattr(e, "column", None)) for e in exps}
    assert ("expect_column_values_to_be_unique", "account_id") in kinds
    assert ("expect_column_values_to_not_be_null", "account_name") in kinds
    rng = next(e for e in exps if e.expectation_type == "expect_column_values_to_be_between")
    assert (rng.column, rng.min_value, rng.max_value) == ("employee_count__as_number", 1, 10000000)
    # A column absent from the file (optional) has no expectation.
    exps, select = raw_expectations(CONTRACT["support.tickets"], {"ticket_id", "account_id", "status", "created_at"})
    assert "priority" not in select and len(exps) == 2 + 2 + 2  # ticket_id x2, account_id, status x2, created_at


def test_raw_warnings_count_the_rows_that_staging_quarantines(bad_raw):
    runs = {r.name: r for r in validate_raw(_Gx(None), bad_raw, "parquet")}
    assert set(runs) == set(CONTRACT)
    found: Counter = Counter()
    for run in runs.values():
        assert run.rows == run.rows_validated  # small: no sample
        for check in run.checks:
            found[(run.name, check.description.split()[0], _rule(check.description))] += check.unexpected or 0
    with open(bad_raw / "bad_rows_manifest.csv", newline="") as fh:
        manifest = list(csv.DictReader(fh))
    expected: Counter = Counter()
    for row in manifest:
        rule = {"missing_required": "required", "out_of_range": "between", "invalid_value": "in"}.get(row["rule"])
        if rule and row["expected"] == "quarantined":
            expected[(row["table"], row["column"], rule)] += 1
    assert expected, "the generator injected no contract breaks"
    wrong = {k: (n, found.get(k)) for k, n in expected.items() if found.get(k) != n}
    assert not wrong, f"(table, column, rule): (manifest, warned) {wrong}"
    duplicates = Counter(r["table"] for r in manifest if r["rule"] == "duplicate")
    for table, n in duplicates.items():
        key = CONTRACT[table].key
        name = key[0] if len(key) == 1 else key[0] + ","
        assert found[(table, name, "unique")] >= n, (table, found)


def _rule(description: str) -> str:
    for word in ("required", "unique", "between", " in "):
        if word in description:
            return word.strip()
    return description


def test_public_suites_pass_on_consistent_tables(tiny_warehouse, tmp_path):
    docs = tmp_path / "data_docs"
    result = validate(tiny_warehouse, docs_dir=docs, progress=lambda _line: None)
    assert result.passed, [c.line() for c in result.failures]
    names = {s.name for s in result.of("public")}
    assert names >= {"mart_customer_health", "fct_health_history", "fct_health_factors", "fct_health_factors_sum",
                     "fct_health_alerts", "fct_mrr_movements", "mart_company_kpis", "mart_health_backtest",
                     "dim_accounts"}
    assert (docs / "index.html").is_file()
    assert list(docs.glob("validations/**/*.html")), "Data Docs have a page per validation"
    assert check_stamp(tiny_warehouse)["passed"]

    # Big tables are validated on a sample of whole accounts, and say so; the sample passes too.
    runs, _notes = validate_public(_Gx(None), tiny_warehouse, max_rows=1000)
    sampled = {r.name: r for r in runs if r.note.startswith("sample")}
    assert {"fct_health_history", "fct_health_factors"} <= set(sampled)
    assert all(0 < r.rows_validated < r.rows for r in sampled.values())
    assert all(not r.failed for r in runs)


BREAKS = {
    "update main.mart_customer_health set health_score = 120 where account_id = 'acc001'":
        "mart_customer_health: health_score between 0 and 100",
    "update main.fct_health_history set grade = 'A' where account_id = 'acc002'":
        "fct_health_history: grade in {",
    "insert into main.mart_customer_health select * from main.mart_customer_health where account_id = 'acc003'":
        "mart_customer_health: one current row per account",
    "update main.fct_health_factors set contribution = contribution + 5 "
    "where account_id = 'acc004' and factor_key = 'csat'": "fct_health_factors_sum: contributions add up to the score",
    "update main.fct_health_history set score_coverage = 140 where account_id = 'acc005'":
        "fct_health_history: score_coverage between 0 and 100",
    "update main.mart_company_kpis set net_revenue_retention = -3, nps = 150 where month = "
    "(select max(month) from main.mart_company_kpis)": "mart_company_kpis: nps between -100 and 100",
    "update main.mart_customer_health set colour = 'grey' where account_id = 'acc006'":
        "mart_customer_health: colour in",
}


def test_public_suites_fail_on_broken_tables(tiny_warehouse, tmp_path):
    with duckdb.connect(str(tiny_warehouse)) as con:
        for sql in BREAKS:
            con.execute(sql)
    result = validate(tiny_warehouse, docs_dir=tmp_path / "docs", as_of=None, progress=lambda _line: None)
    assert not result.passed
    lines = [c.line() for c in result.failures]
    missing = [want for want in BREAKS.values() if not any(line.startswith(want) for line in lines)]
    assert not missing, f"not reported: {missing}\nreported: {lines}"
    assert any("net_revenue_retention >= 0" in line for line in lines)
    stamp = json.loads(stamp_path(tiny_warehouse).read_text())
    assert stamp["passed"] is False and stamp["failures"]
    with pytest.raises(ValueError, match="failed its last validation"):
        check_stamp(tiny_warehouse)
    assert result.warnings == []  # no raw directory given: no raw suite


def test_a_missing_column_fails_and_an_as_of_date_is_checked(tiny_warehouse, tmp_path):
    from datetime import date

    with duckdb.connect(str(tiny_warehouse)) as con:
        con.execute("alter table main.fct_health_history drop column score_coverage")
    result = validate(tiny_warehouse, docs_dir=tmp_path / "docs", as_of=date(2026, 10, 30),
                      progress=lambda _line: None)
    lines = [c.line() for c in result.failures]
    assert "fct_health_history: column score_coverage exists" in lines
    assert any(line.startswith("mart_customer_health: as of 2026-10-30 (--as-of)") for line in lines)
