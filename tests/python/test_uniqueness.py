"""The uniqueness tests on DuckDB group by a hash of the key first (macros/tests/uniqueness.sql, D38):
they must still find every repeated key, and name it, as the plain group by does."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from conftest import dbt, isolated_env

GRAIN_TEST = "unique_combination_fct_health_factors_account_id__as_of_date__factor_key"
UNIQUE_TEST = "unique_dim_accounts_account_id"


def _results(target) -> dict[str, dict]:
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {r["unique_id"].split(".")[2]: r for r in results if r["unique_id"].startswith("test.")}


def _failures(target) -> dict[str, int]:
    return {name: result["failures"] for name, result in _results(target).items()}


def test_hash_first_uniqueness_tests_find_and_name_every_repeated_key(bad_build, bad_raw, tmp_path):
    work = tmp_path / "copy"
    work.mkdir()
    shutil.copy(bad_build, work / "health.duckdb")
    env = isolated_env(work)
    selected = ["-s", "test_name:unique_combination,fct_health_factors", "test_name:unique,dim_accounts"]

    # the built warehouse passes both, and both run the hash-first query
    dbt("test", *selected, env=env, raw_dir=bad_raw)
    assert _failures(work / "target") == {GRAIN_TEST: 0, UNIQUE_TEST: 0}
    compiled = {name: result["compiled_code"] for name, result in _results(work / "target").items()}
    assert "hash(account_id, as_of_date, factor_key)" in compiled[GRAIN_TEST]
    assert "hash(account_id)" in compiled[UNIQUE_TEST]

    # two repeated grains and one repeated account: each found once, with the rows that share it
    with duckdb.connect(str(work / "health.duckdb")) as con:
        grains = con.execute(
            "select account_id, as_of_date, factor_key from main.fct_health_factors "
            "order by account_id, as_of_date, factor_key limit 2").fetchall()
        for grain in grains:
            con.execute("insert into main.fct_health_factors select * from main.fct_health_factors "
                        "where account_id = ? and as_of_date = ? and factor_key = ?", list(grain))
        con.execute("insert into main.fct_health_factors select * from main.fct_health_factors "  # 2 more: 4
                    "where account_id = ? and as_of_date = ? and factor_key = ?", list(grains[0]))
        (account,) = con.execute("select min(account_id) from main.dim_accounts").fetchone()
        con.execute("insert into main.dim_accounts select * from main.dim_accounts where account_id = ?", [account])
    with pytest.raises(AssertionError):
        dbt("test", *selected, "--store-failures", env=env, raw_dir=bad_raw)
    assert _failures(work / "target") == {GRAIN_TEST: 2, UNIQUE_TEST: 1}
    stored = {name: result["relation_name"] for name, result in _results(work / "target").items()}
    with duckdb.connect(str(work / "health.duckdb"), read_only=True) as con:
        repeated = con.execute(
            f"select account_id, as_of_date, factor_key, row_count from {stored[GRAIN_TEST]} order by all").fetchall()
        assert repeated == sorted([(*grains[0], 4), (*grains[1], 2)])
        assert con.execute(f"select unique_field, n_records from {stored[UNIQUE_TEST]}").fetchall() == [(account, 2)]
