"""Sources and staging lose nothing and let nothing bad pass.

A small generated company with every contract rule broken is built by
`health build`; each injected row must be quarantined with the right reason,
superseded, or staged with its timestamp in UTC, as the generator's manifest
says; and raw = staged + superseded + quarantined for every table.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from customer_health import PROJECT_DIR
from customer_health.contract import load_contract
from customer_health.dbt_sources import source_files

from conftest import dbt, health, isolated_env

CONTRACT = load_contract()


def read_manifest(raw_dir: Path) -> list[dict]:
    with open(raw_dir / "bad_rows_manifest.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def query(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_committed_sources_match_the_contract():
    stale = [str(p) for p, text in source_files().items() if not p.exists() or p.read_text() != text]
    assert not stale, f"sources are stale, run `health sources`: {stale}"


def test_every_injected_row_is_quarantined_with_its_reason(bad_raw, bad_build):
    expected = {
        (r["table"], int(r["row_number"])): (r["rule"], r["column"] or None)
        for r in read_manifest(bad_raw)
        if r["expected"] == "quarantined"
    }
    assert len(expected) > 50
    found = {
        (table, row): (code, column)
        for table, row, code, column in query(
            bad_build, "select source_table, source_row_number, reason_code, column_name from staging.quarantined_rows"
        )
    }
    wrong = {k: (v, found.get(k)) for k, v in expected.items() if found.get(k) != v}
    assert not wrong, f"{len(wrong)} injected rows not quarantined as expected, e.g. {list(wrong.items())[:5]}"
    # Nothing good is quarantined: every quarantined row is one the generator broke.
    unexpected = set(found) - set(expected)
    assert not unexpected, f"rows quarantined that the manifest does not list: {sorted(unexpected)[:5]}"


def test_every_contract_rule_was_exercised(bad_raw):
    rules = {r["rule"] for r in read_manifest(bad_raw)}
    assert {"missing_required", "invalid_type", "out_of_range", "invalid_value", "unknown_reference",
            "solved_before_created", "duplicate", "offset_timestamp"} <= rules


def test_latest_version_wins_and_older_ones_are_superseded(bad_raw, bad_build):
    manifest = read_manifest(bad_raw)
    superseded = {(r["table"], int(r["row_number"])) for r in manifest if r["expected"] == "superseded"}
    assert superseded
    for table in {t for t, _ in superseded}:
        source, name = table.split(".")
        rows = {
            (table, n)
            for (n,) in query(bad_build, f"select source_row_number from staging.base_{source}__{name} where is_superseded")
        }
        assert rows == {k for k in superseded if k[0] == table}, table


def test_offset_timestamps_are_staged_in_utc(bad_raw, bad_build):
    checked = 0
    for r in read_manifest(bad_raw):
        if r["rule"] != "offset_timestamp":
            continue
        source, name = r["table"].split(".")
        table = CONTRACT[r["table"]]
        key = table.key[0]
        value = query(
            bad_build,
            f"select {r['column']} from staging.stg_{source}__{name} where {key} = '{r['record_key'].split('|')[0]}'",
        )
        if len(table.key) > 1:  # onboarding steps: keyed by account and step
            continue
        assert value, f"{r['table']} {r['record_key']} not staged"
        assert value[0][0] == datetime.fromisoformat(r["detail"]), r
        checked += 1
    assert checked > 0


def test_reconciliation_holds_for_every_table(bad_build):
    rows = query(bad_build, "select source_table, raw_rows, staged_rows, superseded_rows, quarantined_rows, "
                            "unaccounted_rows from staging.raw_reconciliation")
    assert {r[0] for r in rows} == set(CONTRACT)
    for table, raw, staged, superseded, quarantined, unaccounted in rows:
        assert raw == staged + superseded + quarantined and unaccounted == 0, table
        assert raw > 0, table


def test_personal_data_never_leaves_staging(bad_build):
    pii = {c.name for t in CONTRACT.values() for c in t.columns if c.pii}
    columns = query(bad_build, "select table_schema, table_name, column_name from information_schema.columns")
    leaked = [c for c in columns if c[2] in pii]
    assert not leaked, leaked
    emails = query(bad_build, """
        select table_schema || '.' || table_name from information_schema.columns
        where data_type = 'VARCHAR' group by 1""")
    for (table,) in emails:
        cols = [c for (c,) in query(bad_build, f"""select column_name from information_schema.columns
                where table_schema || '.' || table_name = '{table}' and data_type = 'VARCHAR'""")]
        hits = query(bad_build, f"select count(*) from {table} where " +
                     " or ".join(f"{c} like '%@%.example%'" for c in cols))
        assert hits[0][0] == 0, f"an email in {table}"


def test_csv_raw_files_stage_the_same_way(tmp_path):
    raw = tmp_path / "raw"
    env = isolated_env(tmp_path)
    health("generate", "--accounts", "25", "--seed", "5", "--out", str(raw), "--format", "csv", "--bad-rows", "0.02",
           env=env)
    # cautious: only tests whose every parent is selected (not the relationship tests of later layers)
    dbt("build", "--select", "staging", "exchange_rates", "--indirect-selection", "cautious", env=env, raw_dir=raw,
        raw_format="csv")
    db = tmp_path / "health.duckdb"
    expected = {(r["table"], int(r["row_number"])) for r in read_manifest(raw) if r["expected"] == "quarantined"}
    found = {(t, n) for t, n in query(db, "select source_table, source_row_number from staging.quarantined_rows")}
    assert found == expected
    assert query(db, "select sum(unaccounted_rows) from staging.raw_reconciliation")[0][0] == 0


def test_missing_file_or_required_column_fails_fast_naming_it(tmp_path, bad_raw):
    import shutil

    raw = tmp_path / "raw"
    shutil.copytree(bad_raw, raw)
    (raw / "support" / "tickets.parquet").unlink()
    proc = health("check-raw", "--raw-dir", str(raw), env=isolated_env(tmp_path), check=False)
    assert proc.returncode == 1
    assert "support/tickets.parquet: missing file for support.tickets" in proc.stderr
    assert "Traceback" not in proc.stderr

    import pyarrow.parquet as pq

    path = raw / "crm" / "accounts.parquet"
    table = pq.read_table(path)
    pq.write_table(table.drop_columns(["account_name"]).append_column("extra", table.column("industry")), path)
    proc = health("check-raw", "--raw-dir", str(raw), env=isolated_env(tmp_path), check=False)
    assert "crm/accounts.parquet: missing required column 'account_name' of crm.accounts" in proc.stderr
