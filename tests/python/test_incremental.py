"""A scheduled run that adds dates to a warehouse gives the warehouse a full build gives (doc health_incremental).

Every account x as-of date model (the metric families, int_account_metrics, int_account_segments, the
published facts, alerts and backtest) is incremental: a run recomputes only the dates from the latest one
stored, or from the look-back before the latest as-of date. These tests build the small clean company as of an earlier
day (not a date of the weekly cadence, so the next run must drop it), then again as of its last day, and
compare every table with the full build of `clean_run`, value by value.

The daily usage reductions are incremental by day and by account, and must equal a full build whatever
changed: a second test builds them on raw files that lack two users and have some old events at other
times, then on the clean files, and compares them with `clean_run`'s.

Staging is incremental on `_loaded_at` (D35): a test stages the bad-row company cut before its last day, then
the whole of it (a late user, a new version of an old event) and compares every staging table with a build
from scratch; another checks that a base table staged before fingerprints existed is staged whole once.
"""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from conftest import dbt, health, isolated_env

from customer_health import PROJECT_DIR


def _differences(built, reference, schema: str, table: str) -> int:
    """Rows of one table that are not in the other (both ways), doubles compared in single precision;
    staged_at (when the run that staged a row started) is each build's own."""
    with duckdb.connect() as con:
        con.execute(f"attach '{built}' as built (read_only)")
        con.execute(f"attach '{reference}' as reference (read_only)")
        columns = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_catalog = 'built' and table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table]).fetchall()
        assert columns, f"{schema}.{table} missing"
        columns = [(name, kind) for name, kind in columns if name != "staged_at"]
        select = ", ".join(f'cast("{name}" as float)' if kind in ("DOUBLE", "FLOAT") else f'"{name}"'
                           for name, kind in columns)
        a = f"select {select} from built.{schema}.{table}"
        b = f"select {select} from reference.{schema}.{table}"
        return con.execute(
            f"select (select count(*) from ({a} except all {b})) + (select count(*) from ({b} except all {a}))"
        ).fetchone()[0]


def _incremental_tables(target) -> list[str]:
    """Every incremental model of the project, as schema.table, from the manifest dbt wrote."""
    manifest = json.loads((target / "manifest.json").read_text())
    return sorted(f"{node['schema']}.{node['alias']}" for node in manifest["nodes"].values()
                  if node["resource_type"] == "model" and node["config"]["materialized"] == "incremental")


def _dates(warehouse) -> list:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return [row[0] for row in con.execute(
            "select distinct as_of_date from main.fct_health_history order by 1").fetchall()]


def test_a_daily_run_after_an_earlier_one_equals_a_full_build(clean_raw, clean_run, tmp_path):
    reference = clean_run[0] / "health.duckdb"
    latest = _dates(reference)[-1]
    earlier = latest - timedelta(days=10)
    if earlier.isoweekday() == 7:  # a Sunday is a date of the weekly cadence: take a day that is not
        earlier -= timedelta(days=1)
    env = isolated_env(tmp_path)
    warehouse = tmp_path / "health.duckdb"

    health("build", "--raw-dir", str(clean_raw), "--as-of", earlier.isoformat(), env=env)
    assert _dates(warehouse)[-1] == earlier
    health("build", "--raw-dir", str(clean_raw), env=env)

    # the daily run recomputed only recent dates (else this test would not test the incremental path)
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())
    compiled = {r["unique_id"].split(".")[-1]: r.get("compiled_code") or "" for r in results["results"]}
    assert "as_of_date >= cast(" in compiled["int_support_metrics"]
    assert "as_of_date >= cast(" in compiled["fct_health_history"]
    assert "as_of_date >= cast(" in compiled["fct_health_alerts"]

    # the earlier day, not a date of the cadence, is gone; every table equals the full build's
    assert earlier not in _dates(warehouse)
    assert _dates(warehouse) == _dates(reference)
    tables = _incremental_tables(tmp_path / "target")
    assert {"main.fct_health_alerts", "intermediate.int_health_backtest_auc", "main.fct_health_history"} <= set(tables)
    differing = {name: n for name in tables
                 if (n := _differences(warehouse, reference, *name.split(".")))}
    assert differing == {}, f"rows that differ from the full build: {differing}"



def _dbt_build_of(project, env, raw_dir, *args) -> tuple[int, dict[str, int]]:
    """dbt build of a copy of the project: its exit code and the failing rows of each failed test."""
    proc = dbt("build", "--exclude-resource-type", "unit_test", *args, env=env, raw_dir=raw_dir,
               project=project, check=False)
    results = json.loads((Path(env["DBT_TARGET_PATH"]) / "run_results.json").read_text())["results"]
    failed = {r["unique_id"].split(".")[2]: r.get("failures") for r in results if r["status"] in ("fail", "error")}
    return proc.returncode, failed


def test_a_weight_edited_in_place_fails_the_weights_check_until_the_history_is_rebuilt(clean_raw, clean_run, tmp_path):
    """A weight's value edited in place (same valid_from) rewrites history, which a daily run does not do:
    it rescores only its recent dates. assert_stored_weights_match_seed, which reads the weights the
    history was scored with from int_health_weights_applied (D46), must fail on the older dates, and
    pass once fct_health_factors and what follows it are rebuilt (doc health_incremental)."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("dbt_project.yml", "models", "macros", "tests", "seeds", "profiles", "analyses"):
        source = PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, project / name)
        else:
            shutil.copy(source, project / name)
    weights = project / "seeds" / "health_weights.csv"
    line = "default,stickiness,5,2000-01-01"
    assert line in weights.read_text()
    weights.write_text(weights.read_text().replace(line, "default,stickiness,6,2000-01-01"))
    env = isolated_env(tmp_path)
    shutil.copy(clean_run[0] / "health.duckdb", tmp_path / "health.duckdb")

    code, failed = _dbt_build_of(project, env, clean_raw)
    assert code == 1 and list(failed) == ["assert_stored_weights_match_seed"], failed
    with duckdb.connect(str(tmp_path / "health.duckdb"), read_only=True) as con:
        stored = dict(con.execute(
            "select weight, count(distinct as_of_date) from intermediate.int_health_weights_applied "
            "where weight_set = 'default' and factor_key = 'stickiness' group by weight").fetchall())
    # the daily run rescored its recent dates with 6; the older ones keep 5, and the check names them
    assert set(stored) == {5, 6} and stored[5] > stored[6], stored
    assert failed["assert_stored_weights_match_seed"] >= stored[5]

    code, failed = _dbt_build_of(project, env, clean_raw, "--full-refresh", "-s", "fct_health_factors+")
    assert code == 0 and failed == {}, failed


USAGE_REDUCTIONS = ["int_usage_user_days", "int_usage_feature_days", "int_usage_account_days"]


def _late_and_corrected(clean_raw, out) -> set[str]:
    """clean_raw as yesterday's files might have been: two users with old events missing (their events are
    quarantined then, valid today) and five old events of a third account at other times (corrected
    today). Returns the accounts whose old days change."""
    shutil.copytree(clean_raw, out)
    users, events = out / "product" / "users.parquet", out / "product" / "usage_events.parquet"
    with duckdb.connect() as con:
        old = f"(select * from read_parquet('{events}') where occurred_at < " \
              f"(select max(occurred_at) from read_parquet('{events}')) - interval 60 day)"
        late = con.execute(f"select user_id, any_value(account_id) from {old} group by 1 order by 1 limit 2").fetchall()
        moved = con.execute(
            f"select event_id, account_id from {old} where account_id not in (?, ?) order by event_id limit 5",
            [late[0][1], late[1][1]]).fetchall()
        con.execute(f"copy (select * from read_parquet('{users}') where user_id not in (?, ?)) to "
                    f"'{users}.tmp' (format parquet)", [late[0][0], late[1][0]])
        con.execute(f"copy (select * replace (case when event_id in ({', '.join('?' * 5)}) "
                    f"then occurred_at - interval 3 day else occurred_at end as occurred_at) "
                    f"from read_parquet('{events}')) to '{events}.tmp' (format parquet)", [m[0] for m in moved])
    for path in (users, events):
        path.with_suffix(".parquet.tmp").replace(path)
    return {a for _, a in late} | {a for _, a in moved}


def test_usage_reductions_after_late_users_and_corrected_events_equal_a_full_build(clean_raw, clean_run, tmp_path):
    yesterday = tmp_path / "raw_yesterday"
    changed = _late_and_corrected(clean_raw, yesterday)
    env = isolated_env(tmp_path / "work")
    selector = ["--select", " ".join(f"+{m}" for m in USAGE_REDUCTIONS)]
    dbt("run", *selector, env=env, raw_dir=yesterday)
    warehouse = tmp_path / "work" / "health.duckdb"
    before = {m: _differences(warehouse, clean_run[0] / "health.duckdb", "intermediate", m) for m in USAGE_REDUCTIONS}
    assert all(before.values()), f"yesterday's files must give other reductions than today's: {before}"

    dbt("run", *selector, env=env, raw_dir=clean_raw)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        recorded = con.execute("select model_name, account_id from main.health_changed_accounts").fetchall()
        accounts = con.execute("select count(distinct account_id) from intermediate.int_usage_account_days").fetchone()[0]
    # the run found exactly the accounts whose old days changed, and recomputed only them besides recent days
    assert {m: {a for n, a in recorded if n == m} for m in USAGE_REDUCTIONS} == {m: changed for m in USAGE_REDUCTIONS}
    assert len(changed) < accounts
    after = {m: _differences(warehouse, clean_run[0] / "health.duckdb", "intermediate", m) for m in USAGE_REDUCTIONS}
    assert after == {m: 0 for m in USAGE_REDUCTIONS}, f"rows that differ from the full build: {after}"


STAGING_SELECTOR = ["--select", "staging"]
STAGING_TESTED = [*STAGING_SELECTOR, "--indirect-selection", "cautious"]  # not the tests of later layers


def _today_and_yesterday(bad_raw, out) -> tuple:
    """Today's files: the bad-row company where one user with old events arrives today and one old event
    gets a later version today. Yesterday's: today's rows loaded before the cut (the harness's cut).
    Returns (today, yesterday, late user, corrected event)."""
    today, yesterday = out / "today", out / "yesterday"
    shutil.copytree(bad_raw, today)
    users, events = today / "product" / "users.parquet", today / "product" / "usage_events.parquet"
    with duckdb.connect() as con:
        cut = con.execute(f"select max(_loaded_at) - interval 1 day from read_parquet('{events}')").fetchone()[0]
        valid_events = (f"(select * from read_parquet('{events}') where _loaded_at < ? and event_id is not null "
                        f"and user_id in (select user_id from read_parquet('{users}') where _loaded_at < ?))")
        late_user = con.execute(f"select user_id from {valid_events} group by 1 order by count(*) desc, 1 limit 1",
                                [cut, cut]).fetchone()[0]
        corrected = con.execute(f"select event_id from {valid_events} where user_id <> ? order by event_id limit 1",
                                [cut, cut, late_user]).fetchone()[0]
        arrival = cut + timedelta(hours=1)
        con.execute(f"copy (select * replace (case when user_id = ? then ? else _loaded_at end as _loaded_at) "
                    f"from read_parquet('{users}')) to '{users}.tmp' (format parquet)", [late_user, arrival])
        con.execute(f"copy (select * from read_parquet('{events}') union all "
                    f"select * replace (cast(cast(occurred_at as timestamp) + interval 1 hour as varchar) as occurred_at, "
                    f"? as _loaded_at) "
                    f"from read_parquet('{events}') where event_id = ?) to '{events}.tmp' (format parquet)",
                    [arrival, corrected])
        for path in (users, events):
            path.with_suffix(".parquet.tmp").replace(path)
        for src in sorted(today.glob("*/*.parquet")):
            dst = yesterday / src.parent.name / src.name
            dst.parent.mkdir(parents=True, exist_ok=True)
            con.execute(f"copy (select * from read_parquet('{src}') where _loaded_at is null or _loaded_at < ?) "
                        f"to '{dst}' (format parquet)", [cut])
    return today, yesterday, late_user, corrected


def test_staging_after_new_rows_late_users_and_new_versions_equals_a_full_build(bad_raw, tmp_path):
    today, yesterday, late_user, corrected = _today_and_yesterday(bad_raw, tmp_path / "raw")
    daily, scratch = isolated_env(tmp_path / "daily"), isolated_env(tmp_path / "scratch")
    for env in (daily, scratch):
        dbt("seed", env=env, raw_dir=today)
    dbt("run", *STAGING_SELECTOR, env=daily, raw_dir=yesterday)
    dbt("run", *STAGING_SELECTOR, env=daily, raw_dir=today)
    dbt("run", *STAGING_SELECTOR, env=scratch, raw_dir=today)
    built, reference = tmp_path / "daily" / "health.duckdb", tmp_path / "scratch" / "health.duckdb"

    with duckdb.connect(str(built), read_only=True) as con:
        runs = dict(con.execute(
            "select model_name, loaded_after from main.health_staging_runs "
            "where recorded_at = (select max(recorded_at) from main.health_staging_runs)").fetchall())
        restaged = {k for (k,) in con.execute(
            "select restaged_key from main.health_restaged_keys where model_name = 'base_product__usage_events'"
        ).fetchall()}
        late_events = {k for (k,) in con.execute(
            "select event_id from staging.base_product__usage_events where user_id = ?", [late_user]).fetchall()}
        staged = con.execute("select count(*) from staging.base_product__usage_events").fetchone()[0]
        # the rows the daily run wrote carry its staged_at (its start), which its data tests read (D40)
        marked, expected = con.execute(
            "select count(*) filter (where staged_at = (select max(recorded_at) from main.health_staging_runs)), "
            "count(*) filter (where loaded_at > ? or event_id in (select restaged_key from main.health_restaged_keys "
            "where model_name = 'base_product__usage_events')) "
            "from staging.base_product__usage_events", [runs["base_product__usage_events"]]).fetchone()
        unmarked_staged = con.execute(
            "select count(*) from staging.base_product__usage_events "
            "where staged_at is distinct from (select max(recorded_at) from main.health_staging_runs) "
            "and (loaded_at > ? or event_id in (select restaged_key from main.health_restaged_keys "
            "where model_name = 'base_product__usage_events'))", [runs["base_product__usage_events"]]).fetchone()[0]
    # the daily run took the incremental path: it staged the new rows and the keys they and the late user touch
    assert runs["base_product__usage_events"] is not None and runs["base_product__users"] is not None
    assert corrected in restaged and late_events <= restaged and len(restaged) < staged / 2
    assert marked == expected and unmarked_staged == 0 and 0 < marked < staged / 2

    # every staged table equals the build from scratch (positions aside: the cut files reordered rows;
    # staged_at aside: when each build ran)
    with duckdb.connect() as con:
        con.execute(f"attach '{built}' as built (read_only)")
        con.execute(f"attach '{reference}' as reference (read_only)")
        tables = [t for (t,) in con.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = 'built' and table_schema = 'staging' and table_type = 'BASE TABLE'").fetchall()]
        assert "base_product__usage_events" in tables and "quarantined_rows" in tables
        differing = {}
        for table in tables:
            columns = ", ".join(f'"{c}"' for (c,) in con.execute(
                "select column_name from information_schema.columns where table_catalog = 'built' "
                "and table_schema = 'staging' and table_name = ? "
                "and column_name not in ('source_row_number', 'staged_at')",
                [table]).fetchall())
            a, b = f"select {columns} from built.staging.{table}", f"select {columns} from reference.staging.{table}"
            n = con.execute(f"select (select count(*) from ({a} except all {b})) "
                            f"+ (select count(*) from ({b} except all {a}))").fetchone()[0]
            if n:
                differing[table] = n
        assert differing == {}, f"rows that differ from the build from scratch: {differing}"
        # yesterday the late user's events were quarantined as unknown; today they are staged
        assert con.execute("select count(*) from built.staging.base_product__usage_events "
                           "where user_id = ? and quarantine_reason is null", [late_user]).fetchone()[0] > 0


def test_a_base_table_staged_before_fingerprints_is_staged_whole_once(bad_raw, tmp_path):
    env = isolated_env(tmp_path)
    dbt("seed", env=env, raw_dir=bad_raw)
    dbt("run", *STAGING_SELECTOR, env=env, raw_dir=bad_raw)
    warehouse = tmp_path / "health.duckdb"
    table = "staging.base_product__usage_events"
    with duckdb.connect(str(warehouse)) as con:
        before = con.execute(f"select * exclude (source_fingerprint, staged_at) from {table} order by source_row_number").fetchall()
        con.execute(f"alter table {table} drop column source_fingerprint")  # as D34's staging left it

    dbt("run", *STAGING_SELECTOR, env=env, raw_dir=bad_raw)
    dbt("run", *STAGING_SELECTOR, env=env, raw_dir=bad_raw)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        runs = con.execute("select model_name, loaded_after from main.health_staging_runs "
                           "where model_name in ('base_product__usage_events', 'base_product__users') "
                           "order by recorded_at, model_name").fetchall()
        after = con.execute(f"select * exclude (source_fingerprint, staged_at) from {table} order by source_row_number").fetchall()
        fingerprints = con.execute(f"select count(source_fingerprint) from {table}").fetchone()[0]
    # the first run after the upgrade staged that table whole, and the next one took the incremental path
    assert [(m, a is None) for m, a in runs[2:5]] == [
        ("base_product__usage_events", True), ("base_product__users", False), ("base_product__usage_events", False)]
    assert after == before and fingerprints == len(before)


def _source_not_null_failures(target) -> dict[tuple[str, str, str], int]:
    """(source, table, column) -> failing rows of each source not_null test in the invocation that wrote target."""
    manifest = json.loads((target / "manifest.json").read_text())["nodes"]
    results = json.loads((target / "run_results.json").read_text())["results"]
    failures = {}
    for result in results:
        node = manifest.get(result["unique_id"], {})
        if node.get("sources") and (node.get("test_metadata") or {}).get("name") == "not_null":
            failures[(*node["sources"][0], node["test_metadata"]["kwargs"]["column_name"])] = result["failures"]
    return failures


def test_a_daily_build_tests_the_rows_it_staged_and_dbt_test_every_row(bad_raw, tmp_path):
    today, yesterday, late_user, corrected = _today_and_yesterday(bad_raw, tmp_path / "raw")
    work = tmp_path / "daily"
    env = isolated_env(work)
    dbt("seed", env=env, raw_dir=today)
    dbt("build", *STAGING_TESTED, env=env, raw_dir=yesterday)
    warehouse = work / "health.duckdb"
    table = "staging.base_product__usage_events"
    with duckdb.connect(str(warehouse)) as con:
        # an old row broken behind the run's back: two good stored events now share one event_id
        kept, broken = [k for (k,) in con.execute(
            f"select event_id from {table} where quarantine_reason is null and not is_superseded "
            "and user_id <> ? and event_id <> ? order by source_row_number limit 2", [late_user, corrected]).fetchall()]
        con.execute(f"update {table} set event_id = ? where event_id = ?", [kept, broken])
        loaded_until = {(schema_table.split("__")[0].removeprefix("base_"), schema_table.split("__")[1]):
                        con.execute(f"select max(loaded_at) from staging.{schema_table}").fetchone()[0]
                        for (schema_table,) in con.execute(
                            "select table_name from information_schema.tables "
                            "where table_schema = 'staging' and table_name like 'base\\_%' escape '\\'").fetchall()}

    # the daily build tests the rows it staged: the broken old row is not read again, and it passes
    dbt("build", *STAGING_TESTED, env=env, raw_dir=today)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        restaged = {k for (k,) in con.execute(
            "select restaged_key from main.health_restaged_keys where model_name = 'base_product__usage_events'"
        ).fetchall()}
        new_rows = con.execute(
            f"select count(*) from read_parquet('{today}/product/usage_events.parquet') where _loaded_at > ?",
            [loaded_until[("product", "usage_events")]]).fetchone()[0]
    assert kept not in restaged and new_rows > 0
    # ... and its source tests warn about the raw rows loaded after what staging had stored
    daily = _source_not_null_failures(work / "target")
    expected, whole = {}, {}
    with duckdb.connect() as con:
        for (source, raw_table, column) in daily:
            relation = f"read_parquet('{today}/{source}/{raw_table}.parquet')"
            whole[(source, raw_table, column)] = con.execute(
                f'select count(*) from {relation} where "{column}" is null').fetchone()[0]
            expected[(source, raw_table, column)] = con.execute(
                f'select count(*) from {relation} where "{column}" is null '
                f"and not coalesce(_loaded_at <= ?, false)", [loaded_until[(source, raw_table)]]).fetchone()[0]
    assert daily and daily == expected
    assert sum(whole.values()) > sum(expected.values())

    # `dbt test` on its own reads every row: the raw warnings of the whole files, and the broken old row fails
    with pytest.raises(AssertionError, match="exited 1"):
        dbt("test", *STAGING_TESTED, env=env, raw_dir=today)
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    assert [r["unique_id"].split(".")[2] for r in results if r["status"] == "fail"] == [
        "unique_stg_product__usage_events_event_id"]
    assert _source_not_null_failures(work / "target") == whole


@pytest.mark.parametrize("missed", [None, "+stg_product__usage_events", "base_product__users"])
def test_a_run_takes_what_changed_upstream_and_compares_everything_after_a_missed_run(bad_raw, tmp_path, missed):
    """D37: the usage reductions take the accounts staging changed, and a base model the keys its reference staged,
    when their last run read their producer's last run; else (`missed`: the producer ran alone in between) they
    compare everything. Either way the result equals a build from scratch."""
    today, yesterday, late_user, corrected = _today_and_yesterday(bad_raw, tmp_path / "raw")
    selector = ["--select", " ".join(f"+{m}" for m in USAGE_REDUCTIONS)]
    dbt("run", *selector, env=isolated_env(tmp_path / "scratch"), raw_dir=today)
    reference = tmp_path / "scratch" / "health.duckdb"
    env, warehouse = isolated_env(tmp_path / "daily"), tmp_path / "daily" / "health.duckdb"
    dbt("run", *selector, env=env, raw_dir=yesterday)
    if missed:
        dbt("run", "--select", missed, env=env, raw_dir=today)
    dbt("run", *selector, env=env, raw_dir=today)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        recorded_days = {m: set(con.execute(
            "select account_id, usage_date from main.health_changed_accounts where model_name = ?", [m]).fetchall())
            for m in USAGE_REDUCTIONS}
        recorded = {m: {a for a, _ in days} for m, days in recorded_days.items()}
        late_account, corrected_account = (con.execute(
            f"select account_id from staging.base_product__{table} where {key} = ?", [value]).fetchone()[0]
            for table, key, value in (("users", "user_id", late_user), ("usage_events", "event_id", corrected)))
        late_events = {k for (k,) in con.execute(
            "select event_id from staging.base_product__usage_events where user_id = ?", [late_user]).fetchall()}
        restaged = {k for (k,) in con.execute(
            "select restaged_key from main.health_restaged_keys where model_name = 'base_product__usage_events'"
        ).fetchall()}
        # what staging changed: the accounts and days of the rows it staged in the last run, with a day before
        # the first day the reduction recomputes
        staged_old_days = set(con.execute(
            "select distinct events.account_id, cast(events.occurred_at as date) "
            "from staging.base_product__usage_events as events "
            "where (events.loaded_at > (select loaded_after from main.health_staging_runs "
            "       where model_name = 'base_product__usage_events' order by recorded_at desc limit 1) "
            "    or events.event_id in (select restaged_key from main.health_restaged_keys "
            "       where model_name = 'base_product__usage_events')) "
            "and cast(events.occurred_at as date) < (select recompute_from from main.health_incremental_runs "
            "    where model_name = 'int_usage_user_days' order by recorded_at desc limit 1)").fetchall())
        staged_old = {a for a, _ in staged_old_days}
        # every older day of the accounts that changed: what a reduction redid before D49
        account_days = set(con.execute(
            "select account_id, usage_date from intermediate.int_usage_account_days where usage_date < "
            "(select recompute_from from main.health_incremental_runs "
            " where model_name = 'int_usage_account_days' order by recorded_at desc limit 1)").fetchall())
    if missed == "+stg_product__usage_events":
        # the events were staged in a run the reductions did not read: nothing is staged now, and the
        # reductions compare fingerprints, which find the late user's account
        assert staged_old == set() and late_account in recorded["int_usage_user_days"]
        # and redo every older day of the accounts whose sums differ
        assert {d for d in account_days if d[0] in recorded["int_usage_account_days"]} \
            <= recorded_days["int_usage_account_days"]
    else:
        # the late user's events are staged again (after a missed users run, because the usage events compare
        # every user's status), and the reductions take the accounts staging changed
        assert late_events <= restaged and corrected in restaged
        assert recorded_days == {m: staged_old_days for m in USAGE_REDUCTIONS}
        assert {late_account, corrected_account} <= staged_old
        # the days of those rows only, not every older day of their accounts (D49)
        assert len(staged_old_days) < len({d for d in account_days if d[0] in staged_old})
    differing = {m: n for m in USAGE_REDUCTIONS if (n := _differences(warehouse, reference, "intermediate", m))}
    assert differing == {}, f"rows that differ from a build from scratch: {differing}"


def _last_invocation(log) -> str:
    text = log.read_text()
    return text[text.rindex("Running with dbt="):]


def test_a_nightly_run_parses_only_what_changed_whatever_raw_path_it_is_given(bad_raw, tmp_path):
    """D39: dbt reads the raw files through a link beside the build file, so its vars do not change from one
    night to the next and it does not parse the project again; the link pins the directory the run resolved."""
    today, yesterday, *_ = _today_and_yesterday(bad_raw, tmp_path / "raw")
    latest = tmp_path / "exports" / "latest"  # the export job's link, swapped to each day's folder
    latest.parent.mkdir()
    latest.symlink_to(yesterday, target_is_directory=True)
    work = tmp_path / "nightly"
    env = isolated_env(work)
    health("build", "--raw-dir", str(latest), env=env)
    link = work / "health.raw"
    assert link.is_symlink() and link.resolve() == yesterday.resolve()

    latest.unlink()
    latest.symlink_to(today, target_is_directory=True)
    health("build", "--raw-dir", str(latest), env=env)
    second = _last_invocation(work / "logs" / "dbt.log")
    assert "Unable to do partial parsing" not in second and "skipping parsing" in second
    assert link.resolve() == today.resolve()
    with duckdb.connect(str(work / "health.duckdb"), read_only=True) as con:
        staged = con.execute("select count(*) from staging.base_product__usage_events").fetchone()[0]
        raw = con.execute(f"select count(*) from read_parquet('{today}/product/usage_events.parquet')").fetchone()[0]
    assert staged == raw  # today's files were read (every raw row is staged: kept, superseded or quarantined)

    # a folder given by another path is read too, still without parsing again
    health("build", "--raw-dir", str(today), env=env)
    assert "skipping parsing" in _last_invocation(work / "logs" / "dbt.log")

    # something else where the link goes: a clear error, nothing removed
    link.unlink()
    link.mkdir()
    refused = health("build", "--raw-dir", str(today), env=env, check=False)
    assert refused.returncode == 2 and "is in the way" in refused.stderr and link.is_dir()
