"""The warehouse on PostgreSQL: load, build, the same results as DuckDB, a read-only reporting role.

A throwaway PostgreSQL server (customer_health.pg_server: Debian's package, installed
when missing; a cluster in a temporary folder run by an ordinary user on a free local
port; its session time zone far from UTC on purpose) is started once per session.
A small generated company with bad rows of every kind is loaded by `health load`
and built with dbt (seed, run, test) on PostgreSQL, and built by DuckDB from the same
files, each once per session; then every seed and model that builds on DuckDB must
build on PostgreSQL, every test failing on PostgreSQL must fail on DuckDB too, every
model and analysis must hold the same rows on both (numbers to rounding), the
reporting role may read the marts and nothing else, and no personal data is outside
the raw schemas.

The builds run in a copy of the project (tests/ without tests/python), with the
PostgreSQL hooks added to dbt_project.yml when it does not have them yet, and one
extra model, `pg_parity__raw_casts`, that casts tricky raw texts with cast_raw()
on both engines.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import yaml

from customer_health import PROJECT_DIR
from customer_health.contract import load_contract

from conftest import health, isolated_env

CONTRACT = load_contract()
PUBLISHED_SCHEMA = "analytics"
REPORTING_ROLE = "health_reporting"
HOOKS = {
    "on-run-start": "{{ create_try_cast_functions() }}",
    "on-run-end": "{{ grant_reporting_access() }}",
}

# The relations compared between the two builds: every model of the project, found on disk,
# so a new model is compared as soon as it exists; the two marts the issue names come first.
# A model whose rows may legitimately differ between engines goes in KNOWN_DIFFERENCES with
# the reason (it is then expected to fail, and reported as xfail).
MUST_MATCH = ["mart_customer_health", "mart_company_kpis"]
KNOWN_DIFFERENCES: dict[str, str] = {}
# Columns whose values are each engine's own by design, left out of the comparison (with the reason).
ENGINE_SPECIFIC_COLUMNS = {
    "event_fingerprint": "sums of each engine's own hash (health_usage_fingerprint), compared within one warehouse",
    "source_fingerprint": "DuckDB's hash of a raw row (health_source_fingerprint); null on PostgreSQL, which always "
                          "stages the whole file (D35)",
    "staged_at": "when the run that staged the row started: each build's own (D40)",
}
PARITY_MODEL = "pg_parity__raw_casts"


def _models_on_disk() -> list[str]:
    names = sorted({p.stem for p in (PROJECT_DIR / "models").rglob("*.sql")})
    return [n for n in MUST_MATCH if n in names] + [n for n in names if n not in MUST_MATCH] + [PARITY_MODEL]


# ------------------------------------------------------------------------------------------------
# The server, the data, the two builds: once per session
# ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def pg_server():
    from customer_health import pg_server as server_mod

    try:
        server = server_mod.start(log=lambda m: print(m, file=sys.stderr))
    except server_mod.PostgresUnavailable as exc:
        pytest.skip(f"no PostgreSQL server can be had on this machine: {exc}")
    try:
        _superuser(server, "postgres",
                   f"create role {REPORTING_ROLE} login password %s", (server.app_password + "-reporting",))
        yield server
    finally:
        server.stop()


def _superuser(server, dbname: str, sql: str, params=None):
    import psycopg2

    con = psycopg2.connect(**server.superuser_dsn(dbname))
    con.autocommit = True
    try:
        with con.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else None
    finally:
        con.close()


def _pg_env(server, work: Path, **extra) -> dict[str, str]:
    env = isolated_env(work, **extra)
    for key in [k for k in env if k.startswith("HEALTH_PG_") or k.startswith("PG")]:
        env.pop(key)
    env.update(server.health_env(schema=PUBLISHED_SCHEMA), HEALTH_PG_REPORTING_ROLE=REPORTING_ROLE)
    return env


@pytest.fixture(scope="session")
def pg_raw(tmp_path_factory) -> Path:
    """A small company with every kind of contract break (Parquet)."""
    out = tmp_path_factory.mktemp("pg_raw")
    health("generate", "--accounts", "40", "--seed", "3", "--out", str(out), "--bad-rows", "0.02",
           env=isolated_env(out))
    return out


PARITY_VALUES = [
    # integers
    "0", "42", "-7", "+5", "007", "1.5", "2.5", "-1.5", "1e3", "1.0", "9223372036854775807",
    "9223372036854775808", "abc", "1.2.3", "--", "#REF!", "",
    # decimals
    "49.90", "49.905", "49.895", "-0.004", ".5", "5.", "12,50 EUR", "n.a.", "NaN", "Infinity",
    "9999999999999999.99", "999999999999999999", "1e400",
    # booleans
    "true", "false", "TRUE", "False", "t", "f", "yes", "no", "Y", "n", "on", "off", "maybe",
    # dates
    "2025-01-31", "2024-02-29", "2025-02-29", "2025-02-30", "2025-13-45", "31/02/2025", "yesterday",
    "2025-1-1", "20250101",
    # timestamps: naive is UTC, offsets convert to UTC, malformed ones are null
    "2025-06-02T23:36:18", "2025-06-02 23:36:18", "2025-06-02 23:36", "2025-06-02T23:59:59.999999",
    "2025-06-02T10:00:00.1234567", "2025-06-02T10:00:00+02:00", "2025-06-02T10:00:00-05:00",
    "2025-06-02T10:00:00+0530", "2025-06-02T10:00:00+09", "2025-06-02T10:00:00Z", "2025-06-02T10:00Z",
    "2025-06-02T23:30:00-03:00", "2024-02-29T12:00:00", "2025-02-29T12:00:00", "2025-06-02T24:00:00",
    "2025-06-02T24:00:01", "2025-06-02T23:59:60", "2025-06-02Z", "2025-06-02+05", "2025-13-45T99:00:00",
    "not a time", "24:61", "now", "today", "epoch", "infinity", "2025-06-02T10:00:00+02:00 ",
]


def _parity_model() -> str:
    rows = ",\n        ".join(
        f"({i}, '{v}')" for i, v in enumerate(PARITY_VALUES, start=1)
    )
    return f"""{{{{ config(materialized='table', schema='staging') }}}}
with source as (
    select * from (values
        {rows}
    ) as v (value_id, raw_value)
),
final as (
    select
        value_id,
        raw_value,
        {{{{ cast_raw('raw_value', 'integer') }}}} as as_integer,
        {{{{ cast_raw('raw_value', 'decimal') }}}} as as_decimal,
        {{{{ cast_raw('raw_value', 'boolean') }}}} as as_boolean,
        {{{{ cast_raw('raw_value', 'date') }}}} as as_date,
        {{{{ cast_raw('raw_value', 'timestamp') }}}} as as_timestamp
    from source
)
select * from final
"""


def ensure_hooks(project_yml: Path) -> None:
    """Add the PostgreSQL hooks to a dbt_project.yml that does not call them yet."""
    text = project_yml.read_text()
    doc = yaml.safe_load(text)
    missing = {key: sql for key, sql in HOOKS.items() if sql.split("(")[0].strip("{ ") not in json.dumps(doc.get(key))}
    if not missing:
        return
    if not any(key in doc for key in missing):
        text = text.rstrip("\n") + "\n\n" + "".join(f'{key}: ["{sql}"]\n' for key, sql in missing.items())
    else:
        for key, sql in missing.items():
            current = doc.get(key) or []
            doc[key] = ([current] if isinstance(current, str) else list(current)) + [sql]
        text = yaml.safe_dump(doc, sort_keys=False)
    project_yml.write_text(text)


@pytest.fixture(scope="session")
def project_copy(tmp_path_factory) -> Path:
    """The dbt project as it is now, with the PostgreSQL hooks and the cast parity model."""
    root = tmp_path_factory.mktemp("pg_project")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "python")
    for name in ("models", "macros", "seeds", "tests", "analyses", "profiles"):
        if (PROJECT_DIR / name).is_dir():
            shutil.copytree(PROJECT_DIR / name, root / name, ignore=ignore)
    shutil.copy(PROJECT_DIR / "dbt_project.yml", root / "dbt_project.yml")
    ensure_hooks(root / "dbt_project.yml")
    parity = root / "models" / "zz_pg_parity"
    parity.mkdir()
    (parity / f"{PARITY_MODEL}.sql").write_text(_parity_model())
    return root


def _dbt(project: Path, env: dict[str, str], *args: str) -> dict[str, tuple[str, str]]:
    """Run one dbt command; {unique_id: (status, message)} of its nodes. Node failures are results,
    not errors (others' work in progress must not hide the comparison); dbt failing as a whole is."""
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), *args, "--profiles-dir", "profiles"],
        cwd=project, env=env, capture_output=True, text=True, timeout=3600,
    )
    results_file = Path(env["DBT_TARGET_PATH"]) / "run_results.json"
    if proc.returncode not in (0, 1) or not results_file.exists():
        raise AssertionError(f"dbt {' '.join(args)} exited {proc.returncode}\n{proc.stdout[-6000:]}\n{proc.stderr[-2000:]}")
    results = json.loads(results_file.read_text())["results"]
    results_file.unlink()
    return {r["unique_id"]: (r["status"], " ".join(str(r.get("message") or "").split())[:300]) for r in results}


def _build(project: Path, env: dict[str, str], target: str, *extra: str, tests: bool) -> dict[str, tuple[str, str]]:
    """seed, run (and test): a model that builds is compared even when someone's test of it fails."""
    results = {}
    for command in ("seed", "run") + (("test",) if tests else ()):
        results.update(_dbt(project, env, command, "--target", target, *extra))
    results.update(_dbt(project, env, "compile", "--select", "resource_type:analysis", "--target", target, *extra))
    return results


@pytest.fixture(scope="session")
def duckdb_build(tmp_path_factory, project_copy, pg_raw):
    """The DuckDB build of the same files: models only (its tests run on DuckDB in the rest of the suite;
    a test that fails on PostgreSQL is run again here to tell a portability problem from a broken test)."""
    work = tmp_path_factory.mktemp("pg_duckdb_build")
    env = isolated_env(work)
    extra = ("--vars", json.dumps({"raw_dir": str(pg_raw), "raw_format": "parquet"}))
    results = _build(project_copy, env, "duckdb", *extra, tests=False)

    def run_tests(names: list[str]) -> dict[str, tuple[str, str]]:
        return _dbt(project_copy, env, "test", "--target", "duckdb", "--select", " ".join(names), *extra)

    return work / "health.duckdb", results, run_tests


def _cli_has_load() -> bool:
    from customer_health.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return "load" in sub.choices


def _load(raw: Path, env: dict[str, str]) -> str:
    """`health load --target postgres` (the Python function while the command is not wired yet)."""
    if _cli_has_load():
        return health("load", "--target", "postgres", "--raw-dir", str(raw), env=env).stdout
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from customer_health.load import load_raw; load_raw(sys.argv[1])", str(raw)],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=1800,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stdout


@pytest.fixture(scope="session")
def pg_build(tmp_path_factory, pg_server, project_copy, pg_raw):
    work = tmp_path_factory.mktemp("pg_pg_build")
    env = _pg_env(pg_server, work)
    _load(pg_raw, env)
    results = _build(project_copy, env, "postgres", tests=True)
    return pg_server, work, results


def test_postgres_builds_and_passes_what_duckdb_does(duckdb_build, pg_build):
    """Every seed and model that builds on DuckDB builds on PostgreSQL; every data and unit test that
    fails on PostgreSQL is run on DuckDB too, and must fail there as well (else it is a portability bug)."""
    _, duck, duck_tests = duckdb_build
    _, _, pg = pg_build
    assert any(node.startswith("model.") for node in duck)
    differ = [
        f"{node}: {pg.get(node, ('missing', ''))[0]} on PostgreSQL ({pg.get(node, ('', ''))[1]})"
        for node, (status, _) in sorted(duck.items(), key=lambda item: (not item[0].startswith("seed."), item[0]))
        if node.split(".")[0] in ("model", "seed", "operation") and status == "success"
        and pg.get(node, ("missing",))[0] != "success"
    ]
    assert not differ, f"{len(differ)} nodes build on DuckDB, not on PostgreSQL:\n" + "\n".join(differ[:30])
    failing = {node: result for node, result in pg.items()
               if node.split(".")[0] in ("test", "unit_test") and result[0] not in ("pass", "warn", "skipped")}
    if failing:
        names = sorted({node.split(".")[2] if node.startswith("test.") else node.split(".")[-1] for node in failing})
        on_duckdb = duck_tests(names)
        portability = [f"{node}: {result[0]} on PostgreSQL ({result[1]}), "
                       f"{on_duckdb.get(node, ('not run',))[0]} on DuckDB"
                       for node, result in sorted(failing.items())
                       if on_duckdb.get(node, ("not run",))[0] in ("pass", "warn")]
        assert not portability, "tests pass on DuckDB, not on PostgreSQL:\n" + "\n".join(portability[:30])


# ------------------------------------------------------------------------------------------------
# Reading both warehouses
# ------------------------------------------------------------------------------------------------

def _pg(server, sql: str, params=None, user: str = "health", password: str | None = None):
    import psycopg2

    con = psycopg2.connect(host=server.host, port=server.port, dbname="health", user=user,
                           password=password or server.app_password)
    try:
        with con.cursor() as cur:
            cur.execute(sql, params)
            return ([d[0] for d in cur.description], cur.fetchall()) if cur.description else (None, None)
    finally:
        con.close()


def _manifest_relation(target_dir: Path, model: str) -> tuple[str, str] | None:
    """(schema, identifier) of a built model, from a build's manifest; None when not built."""
    manifest = json.loads((target_dir / "manifest.json").read_text())
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["name"] == model:
            if node["config"].get("materialized") == "ephemeral" or not node["config"].get("enabled", True):
                return None
            return node["schema"], node.get("alias") or node["name"]
    return None


def _norm(value):
    if isinstance(value, bool) or value is None or isinstance(value, (str, dt.date, dt.timedelta)):
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return ("timestamptz", value.astimezone(dt.timezone.utc).replace(tzinfo=None))
        return value
    if isinstance(value, (int, float, Decimal)):
        f = float(value)
        return None if math.isnan(f) else f
    if isinstance(value, (list, tuple)):
        return tuple(_norm(v) for v in value)
    return str(value)


def _sort_key(row):
    def one(v):
        if v is None:
            return (0, "")
        if isinstance(v, float):
            return (1, f"{round(v, 4):.4f}")
        return (2, str(v))
    return tuple(one(v) for v in row)


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
    return type(a) is type(b) and a == b


def _kind(values) -> set[str]:
    kinds = set()
    for v in values:
        if v is None:
            continue
        kinds.add("bool" if isinstance(v, bool) else "number" if isinstance(v, float)
                  else "timestamptz" if isinstance(v, tuple) and v and v[0] == "timestamptz"
                  else type(v).__name__)
    return kinds


def _assert_same_rows(name, duck_cols, duck_rows, pg_cols, pg_rows):
    assert pg_cols == duck_cols, f"{name}: columns differ"
    assert len(pg_rows) == len(duck_rows), f"{name}: {len(pg_rows)} rows on PostgreSQL, {len(duck_rows)} on DuckDB"
    duck_rows = sorted((tuple(_norm(v) for v in r) for r in duck_rows), key=_sort_key)
    pg_rows = sorted((tuple(_norm(v) for v in r) for r in pg_rows), key=_sort_key)
    for i, col in enumerate(duck_cols):
        d_kind, p_kind = _kind(r[i] for r in duck_rows), _kind(r[i] for r in pg_rows)
        assert not (d_kind and p_kind) or d_kind == p_kind, f"{name}.{col}: {p_kind} on PostgreSQL, {d_kind} on DuckDB"
    diffs = []
    for d_row, p_row in zip(duck_rows, pg_rows):
        bad = [(c, d, p) for c, d, p in zip(duck_cols, d_row, p_row) if not _same(d, p)]
        if bad:
            diffs.append(bad)
    assert not diffs, f"{name}: {len(diffs)} of {len(duck_rows)} rows differ, e.g. (column, duckdb, postgres): " \
                      f"{diffs[:3]}"


def _duckdb_rows(db: Path, sql: str):
    with duckdb.connect(str(db), read_only=True) as con:
        cur = con.execute(sql)
        return [d[0] for d in cur.description], cur.fetchall()


def _without_engine_specific(cols, rows):
    keep = [i for i, c in enumerate(cols) if c not in ENGINE_SPECIFIC_COLUMNS]
    return [cols[i] for i in keep], [tuple(r[i] for i in keep) for r in rows]


@pytest.mark.parametrize("model", _models_on_disk())
def test_model_matches_duckdb(model, duckdb_build, pg_build):
    duck_db, duck_results, _ = duckdb_build
    server, pg_work, pg_results = pg_build
    duck_rel = _manifest_relation(duck_db.parent / "target", model)
    pg_rel = _manifest_relation(pg_work / "target", model)
    if duck_rel is None or pg_rel is None:
        pytest.skip(f"{model} is not a built model in this project state")
    node = f"model.customer_health.{model}"
    if duck_results.get(node, ("missing",))[0] != "success":
        pytest.skip(f"{model} did not build on DuckDB either: {duck_results.get(node)}")
    assert pg_results.get(node, ("missing",))[0] == "success", f"{model} did not build on PostgreSQL: {pg_results.get(node)}"
    if model in KNOWN_DIFFERENCES:
        pytest.xfail(KNOWN_DIFFERENCES[model])
    duck_cols, duck_rows = _without_engine_specific(*_duckdb_rows(duck_db, f'select * from "{duck_rel[0]}"."{duck_rel[1]}"'))
    pg_cols, pg_rows = _without_engine_specific(*_pg(server, f'select * from "{pg_rel[0]}"."{pg_rel[1]}"'))
    _assert_same_rows(model, duck_cols, duck_rows, pg_cols, pg_rows)
    if model in MUST_MATCH:
        assert duck_rows, f"{model} is empty: nothing was compared"


@pytest.mark.parametrize("analysis", sorted(p.stem for p in (PROJECT_DIR / "analyses").glob("*.sql")))
def test_analysis_gives_the_same_answer(analysis, duckdb_build, pg_build):
    """The analyses (questions an analyst asks) compile and answer the same on both engines."""
    duck_db, _, _ = duckdb_build
    server, pg_work, _ = pg_build
    compiled = {}
    for engine, target in (("duckdb", duck_db.parent / "target"), ("postgres", pg_work / "target")):
        found = list((target / "compiled").rglob(f"analyses/{analysis}.sql"))
        if not found:
            pytest.skip(f"{analysis} was not compiled on {engine} (not in this project state)")
        compiled[engine] = found[0].read_text()
    if analysis in KNOWN_DIFFERENCES:
        pytest.xfail(KNOWN_DIFFERENCES[analysis])
    try:
        duck_cols, duck_rows = _duckdb_rows(duck_db, compiled["duckdb"])
    except duckdb.Error as exc:
        pytest.skip(f"{analysis} does not run on DuckDB either: {exc}")
    pg_cols, pg_rows = _pg(server, compiled["postgres"])
    _assert_same_rows(analysis, duck_cols, duck_rows, pg_cols, pg_rows)


def test_the_marts_of_the_issue_are_compared():
    """mart_customer_health and mart_company_kpis are in the comparison as soon as they exist."""
    compared = _models_on_disk()
    for mart in MUST_MATCH:
        if (list((PROJECT_DIR / "models").rglob(f"{mart}.sql"))):
            assert mart in compared


def test_a_daily_run_of_the_usage_reductions_redoes_the_days_that_differ_on_postgres(project_copy, pg_build):
    """The usage reductions' incremental run on PostgreSQL (staging stages whole there, so they compare
    fingerprints, D33): one account's older user-days removed, the next run records every older day of
    that account (D49), redoes them, and leaves all three reductions as the build left them."""
    server, pg_work, pg_results = pg_build
    reductions = ["int_usage_user_days", "int_usage_feature_days", "int_usage_account_days"]
    if any(pg_results.get(f"model.customer_health.{m}", ("missing",))[0] != "success" for m in reductions):
        pytest.skip("the usage reductions did not build on PostgreSQL (test_postgres_builds_and_passes_what_duckdb_does)")
    relations = {m: _manifest_relation(pg_work / "target", m) for m in reductions}
    table = {m: f'"{schema}"."{name}"' for m, (schema, name) in relations.items()}
    before = {m: sorted(_pg(server, f"select * from {table[m]}")[1], key=_sort_key) for m in reductions}
    (account, first_day), = _pg(server, f"select account_id, min(usage_date) from {table['int_usage_user_days']} "
                                        "group by account_id order by count(*) desc, account_id limit 1")[1]
    _superuser(server, "health", f"delete from {table['int_usage_user_days']} where account_id = %s "
                                 f"and usage_date < %s::date + 30", (account, first_day))

    results = _dbt(project_copy, _pg_env(server, pg_work), "run", "--target", "postgres", "--select", *reductions)
    assert {node.split(".")[-1]: status for node, (status, _) in results.items() if node.startswith("model.")} \
        == {m: "success" for m in reductions}
    (schema,), = _pg(server, "select table_schema from information_schema.tables "
                             "where table_name = 'health_changed_accounts'")[1]
    recorded = _pg(server, f'select account_id, usage_date from "{schema}".health_changed_accounts '
                           "where model_name = 'int_usage_user_days'")[1]
    assert {a for a, _ in recorded} == {account} and len(recorded) > 30
    after = {m: sorted(_pg(server, f"select * from {table[m]}")[1], key=_sort_key) for m in reductions}
    assert after == before


# ------------------------------------------------------------------------------------------------
# Load
# ------------------------------------------------------------------------------------------------

def test_load_makes_every_contract_table_all_text_in_file_order(pg_build, pg_raw):
    import pyarrow.parquet as pq

    server, _, _ = pg_build
    for qualified, table in CONTRACT.items():
        cols, rows = _pg(server, """
            select column_name, data_type from information_schema.columns
            where table_schema = %s and table_name = %s order by ordinal_position""",
            (f"raw_{table.source}", table.name))
        assert [r[0] for r in rows] == [c.name for c in table.columns] + ["_loaded_at"], qualified
        assert {r[1] for r in rows} == {"text"}, qualified
        file = pq.read_table(pg_raw / table.source / f"{table.name}.parquet")
        key = table.columns[0].name
        _, loaded = _pg(server, f'select "{key}" from raw_{table.source}."{table.name}" order by ctid')
        expected = [None if v is None else str(v) for v in file.column(key).to_pylist()]
        assert [r[0] for r in loaded] == expected, f"{qualified}: rows not loaded in file order"
    _, leftovers = _pg(server, "select table_schema, table_name from information_schema.tables "
                               "where table_name like '%\\_\\_loading'")
    assert leftovers == []


def test_load_csv_absent_optional_and_extra_columns_and_text_as_is(pg_server, tmp_path):
    """CSV: an optional column absent is null, an extra one is not loaded, text arrives as written."""
    import csv

    raw = tmp_path / "raw"
    env = _pg_env(pg_server, tmp_path)
    health("generate", "--accounts", "3", "--seed", "8", "--out", str(raw), "--format", "csv", env=env)
    path = raw / "crm" / "accounts.csv"
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    tricky = ['Smith, "Jones" & Co', "", "  padded  ", "multi\nline", "ünïcödé ✓", "\\N", "\\."]
    with open(path, "w", newline="") as fh:
        columns = [c for c in rows[0] if c != "industry"] + ["not_in_contract"]
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for i, row in enumerate(rows):
            row["account_name"] = tricky[i % len(tricky)]
            writer.writerow({**row, "not_in_contract": "x"})
        for j, name in enumerate(tricky):
            writer.writerow({**rows[0], "account_id": f"acc_tricky_{j}", "account_name": name, "not_in_contract": "x"})
    # A previous load must be replaced whole: load twice.
    _load(raw, env)
    _load(raw, env)
    cols, loaded = _pg(pg_server, "select * from raw_crm.accounts")
    assert cols == [c.name for c in CONTRACT["crm.accounts"].columns] + ["_loaded_at"]
    assert all(r[cols.index("industry")] is None for r in loaded)
    with duckdb.connect() as con:
        expected = con.execute(f"select account_id, account_name from read_csv('{path}', all_varchar = true, "
                               "header = true)").fetchall()
    assert [(r[0], r[1]) for r in loaded] == expected
    names = {r[cols.index("account_name")] for r in loaded}
    assert set(tricky) - {""} <= names


def test_load_that_fails_changes_nothing(pg_server, tmp_path):
    raw = tmp_path / "raw"
    env = _pg_env(pg_server, tmp_path)
    health("generate", "--accounts", "3", "--seed", "9", "--out", str(raw), "--format", "csv", env=env)
    _load(raw, env)
    _, before = _pg(pg_server, "select count(*) from raw_crm.accounts")
    (raw / "crm" / "accounts.csv").write_text("account_id,account_name,created_at\nacc_x,X,2025-01-01\n")
    # The header and the first rows read well (the contract check passes); a later row is not UTF-8.
    good = b"".join(b"fb_%06d,acc_x,positive,2025-01-01\n" % i for i in range(30_000))
    (raw / "product" / "feedback.csv").write_bytes(b"feedback_id,account_id,sentiment,submitted_at\n" + good
                                                   + b"fb_bad,\xff\xfe,positive,2025-01-01\n")
    from customer_health.load import load_raw
    from customer_health.postgres import PostgresError

    saved = dict(os.environ)
    os.environ.update({k: v for k, v in env.items() if k.startswith("HEALTH_PG_")})
    try:
        with pytest.raises(PostgresError, match="failed at product.feedback"):
            load_raw(raw, log=lambda m: None)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    _, after = _pg(pg_server, "select count(*) from raw_crm.accounts")
    assert after == before and after[0][0] != 1


def test_load_refused_says_so_in_one_line_without_the_password(pg_server, pg_raw, tmp_path):
    env = _pg_env(pg_server, tmp_path)
    env["HEALTH_PG_PASSWORD"] = "not-the-password-" + pg_server.app_password[:4]
    proc = health("load", "--target", "postgres", "--raw-dir", str(pg_raw), env=env, check=False)
    assert proc.returncode == 1, proc.stderr
    first = proc.stderr.splitlines()[0]
    assert first.startswith("health load: load failed: cannot connect to PostgreSQL health@127.0.0.1:"), first
    assert "Traceback" not in proc.stderr
    assert env["HEALTH_PG_PASSWORD"] not in proc.stdout + proc.stderr


# ------------------------------------------------------------------------------------------------
# Build
# ------------------------------------------------------------------------------------------------

def test_sources_read_the_raw_schemas_on_postgres(pg_build):
    """The DuckDB-only external_location is ignored: the PostgreSQL build reads raw_<source>.<table>."""
    _, work, _ = pg_build
    compiled = next((work / "target" / "compiled").rglob("base_support__tickets.sql")).read_text()
    assert '"raw_support"."tickets"' in compiled
    assert "read_parquet" not in compiled and "read_csv" not in compiled


def test_timestamps_are_utc_whatever_the_session_time_zone(pg_build):
    server, _, _ = pg_build
    _, rows = _pg(server, "show timezone")
    assert rows[0][0] != "UTC"  # the server's default is far from UTC on purpose
    for zone in ("UTC", "America/Los_Angeles", "Asia/Kathmandu"):
        _, rows = _pg(server, f"""
            set time zone '{zone}';
            select {PUBLISHED_SCHEMA}_util.try_cast_timestamp('2025-06-02T10:00:00+02:00'),
                   {PUBLISHED_SCHEMA}_util.try_cast_timestamp('2025-06-02 10:00:00'),
                   {PUBLISHED_SCHEMA}_util.try_cast_timestamp('2025-02-29T10:00:00-05:00')""")
        assert rows == [(dt.datetime(2025, 6, 2, 8), dt.datetime(2025, 6, 2, 10), None)], zone
    _, rows = _pg(server, """
        select table_schema, table_name, column_name from information_schema.columns
        where data_type = 'timestamp with time zone' and table_schema not like 'pg\\_%'
            and table_schema <> 'information_schema'""")
    assert rows == [], "a model produces timestamptz, whose meaning depends on the session time zone"


def test_personal_data_stays_in_the_raw_schemas(pg_build):
    server, _, _ = pg_build
    pii = [c.name for t in CONTRACT.values() for c in t.columns if c.pii]
    _, rows = _pg(server, """
        select table_schema, table_name, column_name from information_schema.columns
        where column_name = any(%s) and table_schema not like 'raw\\_%%'""", (pii,))
    assert rows == []


def test_reporting_role_reads_the_marts_and_nothing_else(pg_build):
    import psycopg2
    from psycopg2 import errors

    server, _, _ = pg_build
    password = server.app_password + "-reporting"
    _, tables = _pg(server, "select table_name from information_schema.tables where table_schema = %s "
                            "order by table_name", (PUBLISHED_SCHEMA,))
    published = [t for (t,) in tables]
    assert published, "no public table was built"
    probe = "mart_customer_health" if "mart_customer_health" in published else published[0]
    _, rows = _pg(server, f"select count(*) from {PUBLISHED_SCHEMA}.{probe}", user=REPORTING_ROLE, password=password)
    assert rows[0][0] > 0
    for table in published:
        _pg(server, f"select * from {PUBLISHED_SCHEMA}.{table} limit 1", user=REPORTING_ROLE, password=password)

    denied = [
        "select * from staging.stg_crm__accounts limit 1",
        "select * from staging.quarantined_rows limit 1",
        "select * from raw_crm.contacts limit 1",
        "select * from raw_product.users limit 1",
        "select * from config.exchange_rates limit 1",
        f"select {PUBLISHED_SCHEMA}_util.try_cast_integer('1')",
        f"insert into {PUBLISHED_SCHEMA}.{probe} select * from {PUBLISHED_SCHEMA}.{probe} limit 1",
        f"delete from {PUBLISHED_SCHEMA}.{probe}",
        f"truncate {PUBLISHED_SCHEMA}.{probe}",
        f"create table {PUBLISHED_SCHEMA}.reporting_was_here (x int)",
        "create table public.reporting_was_here (x int)",
        "create schema reporting_was_here",
        "create temporary table reporting_was_here (x int)",
    ]
    _, intermediates = _pg(server, "select table_name from information_schema.tables "
                                   "where table_schema = 'intermediate' limit 1")
    if intermediates:
        denied.append(f"select * from intermediate.{intermediates[0][0]} limit 1")
    allowed = []
    for sql in denied:
        try:
            _pg(server, sql, user=REPORTING_ROLE, password=password)
            allowed.append(sql)
        except errors.InsufficientPrivilege:
            pass
        except psycopg2.Error as exc:  # any other error is not the refusal we want to see
            allowed.append(f"{sql} -> {exc.__class__.__name__}: {exc}".strip())
    assert not allowed, "the reporting role may:\n" + "\n".join(allowed)
