"""Bad input: what the warehouse does with bad rows, odd raw files and bad options (issue 7, "Bad input").

- The scores of the good accounts are those of a run without the bad rows: the
  clean run (`clean_run`, the company of `bad_raw` without its bad rows)
  against the run on the bad rows (`health_run`), compared account by account.
- Odd raw files, each decided in DECISIONLOG D22: a file that cannot be read
  (0 bytes) is a one-line error naming it; an empty table (header only, 0 rows)
  is an empty table; an extra column is named and ignored; text in a numeric
  column and a malformed timestamp quarantine the row with the column; late
  duplicates are superseded by the latest `_loaded_at`. One staging-only dbt
  build on a small company with all of these at once (`edge_build`).
- Bad options and seeds stop `health run` / `health build` in one line before
  any work (before check-raw and dbt): customer_health.preflight.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from customer_health import PROJECT_DIR
from customer_health.checksum import database_checksums
from customer_health.contract import load_contract
from customer_health.preflight import SEEDS_DIR, SeedError, check_seeds

from conftest import dbt, health, isolated_env

CONTRACT = load_contract()
FLOAT_TOLERANCE = 1e-9  # relative: parallel sums of doubles add in no fixed order


def query(db: Path, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str, code: int | None = None) -> str:
    """A non-zero exit, no traceback, and a first line on stderr that says it all."""
    assert proc.returncode != 0, proc.stdout[-2000:]
    if code is not None:
        assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    error = next(line for line in lines if not line.startswith("usage:") and not line.startswith(" "))
    for needle in needles:
        assert needle in error, (needle, error)
    return error


# --------------------------------------------------------------------------- the good accounts keep their scores


def touched_accounts(raw_dir: Path, build_db: Path) -> set[str]:
    """The accounts a bad row of the manifest belongs to: its own account_id, else its parent's (a return's
    order, a CSAT answer's ticket). Bad rows of product.features belong to no account."""
    parents = {"billing.returns": ("order_id", "billing", "orders"),
               "support.csat_responses": ("ticket_id", "support", "tickets")}
    with open(raw_dir / "bad_rows_manifest.csv", newline="") as fh:
        manifest = list(csv.DictReader(fh))
    touched: set[str] = set()
    with duckdb.connect(str(build_db), read_only=True) as con:
        for r in manifest:
            source, name = r["table"].split(".")
            base = f"staging.base_{source}__{name}"
            columns = {c.name for c in CONTRACT[r["table"]].columns}
            if "account_id" in columns:
                sql = f"select account_id from {base} where source_row_number = ?"
            elif r["table"] in parents:
                key, psource, pname = parents[r["table"]]
                sql = (f"select p.account_id from {base} as b join staging.base_{psource}__{pname} as p "
                       f"on b.{key} = p.{key} where b.source_row_number = ?")
            else:
                continue
            touched |= {a for (a,) in con.execute(sql, [int(r["row_number"])]).fetchall() if a}
    return touched


def differences(bad_db: Path, clean_db: Path, table: str, keys: list[str], accounts: set[str] | None) -> list:
    """Rows of `table` that differ between the two builds (floats to FLOAT_TOLERANCE), for `accounts` or all."""
    with duckdb.connect() as con:
        con.execute(f"attach '{bad_db}' as bad (read_only)")
        con.execute(f"attach '{clean_db}' as clean (read_only)")
        columns = con.execute(f"describe clean.main.{table}").fetchall()
        differs = []
        for name, dtype, *_ in columns:
            if name in keys:
                continue
            if dtype in ("DOUBLE", "FLOAT"):
                differs.append(f"not (b.{name} is not distinct from c.{name} or abs(b.{name} - c.{name}) "
                               f"<= {FLOAT_TOLERANCE} * greatest(1, abs(c.{name})))")
            else:
                differs.append(f"b.{name} is distinct from c.{name}")
        on = " and ".join(f"b.{k} = c.{k}" for k in keys)
        where = "(b.account_id is null or c.account_id is null or " + " or ".join(differs) + ")"
        if accounts is not None:
            where += " and coalesce(b.account_id, c.account_id) in (select unnest(?))"
        sql = (f"select coalesce(b.account_id, c.account_id), b.{keys[-1]}, c.{keys[-1]} "
               f"from bad.main.{table} as b full join clean.main.{table} as c on {on} where {where}")
        return con.execute(sql, [sorted(accounts)] if accounts is not None else []).fetchall()


def test_good_accounts_score_exactly_as_without_the_bad_rows(bad_raw, health_run, clean_run):
    (bad_work, bad_proc), (clean_work, clean_proc) = health_run, clean_run
    assert bad_proc.returncode == 0 and clean_proc.returncode == 0, clean_proc.stderr[-2000:]
    bad_db, clean_db = bad_work / "health.duckdb", clean_work / "health.duckdb"

    # The generator's promise the comparison rests on: the bad-row company is the clean one plus bad rows.
    # Every staged (good, latest) row is the same in both builds.
    for qualified in CONTRACT:
        source, name = qualified.split(".")
        view = f"staging.stg_{source}__{name}"
        with duckdb.connect() as con:
            con.execute(f"attach '{bad_db}' as bad (read_only)")
            con.execute(f"attach '{clean_db}' as clean (read_only)")
            # staged_at: when each build ran
            cols = ", ".join(c[0] for c in con.execute(f"describe clean.{view}").fetchall()
                             if c[0] not in ("source_row_number", "staged_at"))
            extra, missing = (con.execute(f"select count(*) from (select {cols} from {a}.{view} "
                                          f"except all select {cols} from {b}.{view})").fetchone()[0]
                              for a, b in (("bad", "clean"), ("clean", "bad")))
        assert (extra, missing) == (0, 0), f"{qualified}: {extra} staged rows only with, {missing} only without bad rows"

    all_accounts = {a for (a,) in query(clean_db, "select account_id from main.mart_customer_health")}
    touched = touched_accounts(bad_raw, bad_db)
    good = all_accounts - touched
    # At 2 % bad rows most accounts have one somewhere (usage events are many); enough are left untouched.
    assert len(good) >= 5 and touched & all_accounts, (len(good), len(touched))
    for table, keys in (("fct_health_history", ["account_id", "as_of_date"]),
                        ("mart_customer_health", ["account_id"]),
                        ("fct_health_factors", ["account_id", "as_of_date", "factor_key"])):
        diff = differences(bad_db, clean_db, table, keys, good)
        assert not diff, f"{table}: {len(diff)} rows of good accounts differ, e.g. {diff[:3]}"
    assert query(clean_db, "select count(*) from main.fct_health_history where account_id in (select unnest(?))",
                 [sorted(good)])[0][0] > 10 * len(good)

    # More than promised: a bad row never changes a good row (quarantined rows are copies with keys of their own,
    # superseded ones are older versions, offset timestamps are the same instant), so the accounts that do have
    # bad rows, and every public table, come out the same too.
    diff = differences(bad_db, clean_db, "fct_health_history", ["account_id", "as_of_date"], touched)
    assert not diff, f"fct_health_history: accounts with bad rows differ: {diff[:3]}"
    assert database_checksums(bad_db) == database_checksums(clean_db)


# --------------------------------------------------------------------------- odd raw files


def test_an_unreadable_raw_file_is_one_line_naming_it(tmp_path, clean_raw):
    raw = tmp_path / "raw"
    shutil.copytree(clean_raw, raw)
    (raw / "billing" / "returns.parquet").write_bytes(b"")
    env = isolated_env(tmp_path)
    for command in ("check-raw", "build"):
        proc = health(command, "--raw-dir", str(raw), env=env, check=False)
        assert_one_line_error(proc, "billing/returns.parquet: not a readable Parquet file", code=1)
    assert not (tmp_path / "health.duckdb").exists()  # stopped before dbt

    csv_raw = tmp_path / "csv"
    health("generate", "--accounts", "5", "--seed", "3", "--format", "csv", "--out", str(csv_raw), env=env)
    (csv_raw / "surveys" / "nps_responses.csv").write_bytes(b"")
    proc = health("check-raw", "--raw-dir", str(csv_raw), env=env, check=False)
    assert_one_line_error(proc, "surveys/nps_responses.csv: empty file, no header row", code=1)


def render_source(qualified: str, raw_dir: Path, raw_format: str) -> str:
    """The SQL dbt reads a raw table with (its external_location in the generated sources), rendered as dbt does."""
    import jinja2

    source, name = qualified.split(".")
    spec = yaml.safe_load((PROJECT_DIR / "models" / "staging" / source / f"_{source}__sources.yml").read_text())
    (table,) = [t for s in spec["sources"] for t in s["tables"] if t["name"] == name]
    values = {"raw_dir": str(raw_dir), "raw_format": raw_format}
    return jinja2.Environment().from_string(table["config"]["meta"]["external_location"]).render(
        var=lambda key, default=None: values.get(key, default), env_var=lambda key, default=None: default)


def test_a_header_only_csv_is_an_empty_table(tmp_path):
    raw = tmp_path / "raw"
    health("generate", "--accounts", "5", "--seed", "3", "--format", "csv", "--out", str(raw),
           env=isolated_env(tmp_path))
    path = raw / "billing" / "returns.csv"
    header = path.read_text().splitlines()[0]
    path.write_text(header + "\n")
    proc = health("check-raw", "--raw-dir", str(raw), env=isolated_env(tmp_path))
    assert "16 tables" in proc.stdout
    with duckdb.connect() as con:
        relation = con.sql(f"select * from {render_source('billing.returns', raw, 'csv')}")
        columns = relation.columns
        assert relation.fetchall() == []
    assert set(columns) >= {c.name for c in CONTRACT["billing.returns"].columns} | {"_loaded_at"}


@pytest.fixture(scope="module")
def edge_build(tmp_path_factory):
    """A small clean company with odd raw files, staged by dbt (staging models only): (raw dir, build file, facts).

    - billing.returns: 0 rows;
    - crm.accounts: an extra column `notes`;
    - billing.orders: `amount` and `ordered_at` written as text; row 3 amount 'twelve', row 5 ordered_at
      '2026-02-30T10:00:00' (no such day), row 6 '31/10/2026 10:00' (not ISO);
    - support.tickets: a newer version (later _loaded_at, reopen_count 7) of the 2nd ticket written first, an
      older version (earlier _loaded_at, reopen_count 99) of the 1st ticket last, and a second copy of the 3rd
      ticket with the same _loaded_at (reopen_count 55) last.
    """
    work = tmp_path_factory.mktemp("edge")
    raw = work / "raw"
    env = isolated_env(work)
    health("generate", "--accounts", "25", "--seed", "5", "--out", str(raw), env=env)

    path = raw / "billing" / "returns.parquet"
    pq.write_table(pq.read_table(path).slice(0, 0), path)

    path = raw / "crm" / "accounts.parquet"
    t = pq.read_table(path)
    pq.write_table(t.append_column("notes", pa.array([f"note {i}" for i in range(t.num_rows)])), path)

    path = raw / "billing" / "orders.parquet"
    t = pq.read_table(path)
    amount = t.column("amount").cast(pa.string()).to_pylist()
    ordered = [v.isoformat() for v in t.column("ordered_at").to_pylist()]
    amount[2], ordered[4], ordered[5] = "twelve", "2026-02-30T10:00:00", "31/10/2026 10:00"
    t = t.set_column(t.schema.get_field_index("amount"), "amount", pa.array(amount))
    t = t.set_column(t.schema.get_field_index("ordered_at"), "ordered_at", pa.array(ordered))
    pq.write_table(t, path)
    orders = t.column("order_id").to_pylist()

    path = raw / "support" / "tickets.parquet"
    t = pq.read_table(path)
    rows = t.to_pylist()
    year = rows[0]["_loaded_at"].year
    older = {**rows[0], "reopen_count": 99, "_loaded_at": rows[0]["_loaded_at"].replace(year=year - 1)}
    newer = {**rows[1], "reopen_count": 7, "_loaded_at": rows[1]["_loaded_at"].replace(year=year + 1)}
    tie = {**rows[2], "reopen_count": 55}
    pq.write_table(pa.Table.from_pylist([newer, *rows, older, tie], schema=t.schema), path)
    facts = {"orders": orders, "tickets": [r["ticket_id"] for r in rows[:3]], "ticket_rows": len(rows) + 3}

    check = health("check-raw", "--raw-dir", str(raw), env=env)
    dbt("build", "--select", "staging", "exchange_rates", "--resource-type", "model", "--resource-type", "seed",
        env=env, raw_dir=raw)
    return raw, work / "health.duckdb", {**facts, "check_raw": check.stdout}


def test_odd_raw_files_are_quarantined_with_a_reason_and_nothing_else(edge_build):
    _raw, db, facts = edge_build
    found = sorted(query(db, "select source_table, source_row_number, record_key, quarantine_reason "
                             "from staging.quarantined_rows"))
    assert found == [
        ("billing.orders", 3, facts["orders"][2], "invalid_type:amount"),  # text in a numeric column
        ("billing.orders", 5, facts["orders"][4], "invalid_type:ordered_at"),  # 30 February
        ("billing.orders", 6, facts["orders"][5], "invalid_type:ordered_at"),  # not ISO-8601
    ]
    # Nothing dropped silently: every raw row is staged, superseded or quarantined.
    rows = {r[0]: r[1:] for r in query(db, "select source_table, raw_rows, staged_rows, superseded_rows, "
                                           "quarantined_rows, unaccounted_rows from staging.raw_reconciliation")}
    assert set(rows) == set(CONTRACT)
    assert all(raw == staged + sup + quar and unaccounted == 0 for raw, staged, sup, quar, unaccounted in rows.values())
    assert rows["billing.orders"][3] == 3
    # The other orders stage with their text read as numbers and timestamps.
    assert query(db, "select count(*), count(amount), count(ordered_at) from staging.stg_billing__orders") == \
        [(len(facts["orders"]) - 3,) * 3]


def test_an_empty_table_and_an_extra_column_stage_as_usual(edge_build):
    _raw, db, facts = edge_build
    assert query(db, "select raw_rows, staged_rows from staging.raw_reconciliation "
                     "where source_table = 'billing.returns'") == [(0, 0)]
    assert query(db, "select count(*) from staging.stg_billing__returns") == [(0,)]
    assert "crm.accounts: columns not in the contract, ignored: notes" in facts["check_raw"]
    assert query(db, "select count(*) from staging.stg_crm__accounts") == [(25,)]
    columns = {c for (c,) in query(db, "select column_name from information_schema.columns "
                                       "where table_name = 'stg_crm__accounts'")}
    assert "notes" not in columns


def test_late_arriving_duplicates_the_latest_load_wins(edge_build):
    _raw, db, facts = edge_build
    first, second, third = facts["tickets"]
    staged = dict(query(db, "select ticket_id, reopen_count from staging.stg_support__tickets "
                            "where ticket_id in (?, ?, ?)", facts["tickets"]))
    assert staged[first] != 99  # the older version, later in the file, loses
    assert staged[second] == 7  # the newer version, earlier in the file, wins
    assert staged[third] == 55  # same _loaded_at: the last in the file wins
    superseded = query(db, "select ticket_id, source_row_number from staging.base_support__tickets "
                           "where is_superseded order by 2")
    assert superseded == [(second, 3), (third, 4), (first, facts["ticket_rows"] - 1)]
    assert query(db, "select superseded_rows, quarantined_rows from staging.raw_reconciliation "
                     "where source_table = 'support.tickets'") == [(3, 0)]


# --------------------------------------------------------------------------- bad options and seeds, before any work


def test_bad_options_stop_before_any_work(tmp_path, clean_raw):
    env = isolated_env(tmp_path)
    cases = [
        (["run", "--raw-dir", str(tmp_path / "nowhere")], {}, ["--raw-dir", "nowhere: no such directory"]),
        (["build", "--raw-dir", str(tmp_path / "nowhere")], {}, ["--raw-dir", "nowhere: no such directory"]),
        (["build"], {"HEALTH_RAW_DIR": str(tmp_path / "gone")}, ["HEALTH_RAW_DIR=", "gone: no such directory"]),
        (["run", "--raw-dir", str(clean_raw), "--as-of", "2026-02-30"], {}, ["--as-of", "'2026-02-30'"]),
        (["build", "--raw-dir", str(clean_raw), "--as-of", "last week"], {}, ["--as-of", "'last week'"]),
    ]
    for args, extra, needles in cases:
        proc = health(*args, env={**env, **extra}, check=False)
        assert_one_line_error(proc, *needles, code=2)
        assert "check-raw:" not in proc.stdout and "build:" not in proc.stdout, args
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no build file, lock, target or logs


def seeds_copy(tmp_path: Path, edit: dict[str, tuple[str, str]]) -> Path:
    """The committed seeds with text replaced: {file: (old, new)}."""
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, seeds)
    for name, (old, new) in edit.items():
        path = seeds / name
        text = path.read_text()
        assert old in text, (name, old)
        path.write_text(text.replace(old, new, 1))
    return seeds


SEED_BREAKS = {
    "negative weight": ({"health_weights.csv": ("default,nps,10,", "default,nps,-10,")},
                        "health_weights.csv line {default,nps,}, column weight: negative weight -10 for default/nps"),
    "unknown factor": ({"health_weights.csv": ("default,nps,10,", "default,net_promoter,10,")},
                       "health_weights.csv line {default,net_promoter,}, column factor_key: unknown factor "
                       "'net_promoter'"),
    "unknown segment": ({"health_weights.csv": ("onboarding,nps,", "onbaording,nps,")},
                        "health_weights.csv line {onbaording,nps,}, column segment: unknown segment 'onbaording'"),
    "weight not a number": ({"health_weights.csv": ("default,nps,10,", "default,nps,ten,")},
                            "health_weights.csv line {default,nps,ten}, column weight: 'ten' is not a number"),
    "valid_from not a date": ({"health_weights.csv": ("default,nps,10,2000-01-01", "default,nps,10,01/01/2000")},
                              "health_weights.csv line {default,nps,10,01/01}, column valid_from: '01/01/2000' is not "
                              "an ISO date"),
    "weights adding up to 0": ({"health_weights.csv": ("segment,factor_key,weight,valid_from\n",
                                                       "segment,factor_key,weight,valid_from\n"
                                                       "dormant,nps,0,2025-01-01\n")},
                               "health_weights.csv, column weight: the dormant weights in force from 2025-01-01 add "
                               "up to 0"),
    "floor equals target": ({"health_factors.csv": ("nps,sentiment,-50,50,", "nps,sentiment,50,50,")},
                            "health_factors.csv line {nps,sentiment,50,50}, column target: nps: target equals floor"),
    "bands with a gap": ({"health_bands.csv": ("C,yellow,40,60,", "C,yellow,45,60,")},
                         "health_bands.csv line {C,yellow,45}, column min_score: the bands leave a gap at 40-45"),
}


@pytest.mark.parametrize("case", list(SEED_BREAKS))
def test_a_broken_scoring_seed_is_named_by_file_line_and_column(tmp_path, case):
    edit, expected = SEED_BREAKS[case]
    seeds = seeds_copy(tmp_path, edit)
    name = next(iter(edit))
    if "{" in expected:  # line {text}: the line of the edited file that holds text
        marker = expected[expected.index("{") + 1:expected.index("}")]
        line = next(i for i, text in enumerate((seeds / name).read_text().splitlines(), start=1) if marker in text)
        expected = expected[:expected.index("{")] + str(line) + expected[expected.index("}") + 1:]
    with pytest.raises(SeedError) as error:
        check_seeds(seeds)
    first = str(error.value).splitlines()[0]
    assert first.startswith(str(seeds / name)) and expected in first, first


def test_the_committed_seeds_pass_the_preflight():
    rows = check_seeds()
    assert set(rows) == {"health_factors", "health_weights", "health_bands", "health_settings"}
    assert all(n > 0 for n in rows.values())


PREFLIGHT_MAIN = (
    "import sys\nfrom pathlib import Path\nimport customer_health.preflight as preflight\n"
    "preflight.SEEDS_DIR = Path(sys.argv[1])\nfrom customer_health.cli import main\nsys.exit(main(sys.argv[2:]))\n"
)


def test_a_broken_seed_stops_run_and_build_before_check_raw_and_dbt(tmp_path, clean_raw):
    seeds = seeds_copy(tmp_path, {"health_weights.csv": ("default,nps,10,", "default,nps,-10,"),
                                  "health_factors.csv": ("nps,sentiment,-50,50,", "nps,sentiment,50,50,")})
    work = tmp_path / "work"
    for command in ("run", "build"):
        proc = subprocess.run([sys.executable, "-c", PREFLIGHT_MAIN, str(seeds), command, "--raw-dir", str(clean_raw)],
                              cwd=PROJECT_DIR, env=isolated_env(work), capture_output=True, text=True, timeout=120)
        error = assert_one_line_error(proc, f"health {command}: error: ", "health_factors.csv line",
                                      "target equals floor", "(and 1 more below)", code=2)
        assert error == proc.stderr.splitlines()[0]
        assert "negative weight -10 for default/nps" in proc.stderr.splitlines()[1]
        assert "check-raw:" not in proc.stdout and "build:" not in proc.stdout
    assert not work.exists()  # nothing written: no build file, lock, target or logs
