"""`health run` end to end on a small generated company, and what a failing run does.

One real run (session fixture `health_run`: check-raw, dbt build, validate,
publish, report, summary) on the bad-row demo data; the other tests reuse its
build file and publication instead of building again.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb
import pytest

from customer_health import PROJECT_DIR
from customer_health.cli import build_parser
from customer_health.publish import PUBLIC_TABLES

from conftest import health, run_env


def test_run_builds_validates_publishes_reports_and_summarises(health_run):
    work, proc = health_run
    assert proc.returncode == 0, f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    out = proc.stdout
    # Every step, in order, with a progress line per dbt node.
    steps = ["check-raw:", "build: dbt build", "validate: great-expectations", "publish: release", "report:"]
    positions = [out.index(s) for s in steps]
    assert positions == sorted(positions)
    assert " model mart_customer_health " in out and " test " in out
    # The raw breaks are warnings, not failures; the public tables pass.
    assert "raw-data warning(s)" in out and "  warning: " in out
    assert "expectations on" in out and "public tables met" in out
    # The summary a customer-success lead acts on.
    for heading in ("Customer health as of", "Customers by grade and colour:", "Raw data:", "Where the outputs are:"):
        assert heading in out, heading
    assert "most at risk" in out or "No graded customer to rank by risk." in out
    assert "alerts" in out
    assert out.rstrip().splitlines()[-1].startswith("health run ") and "done in" in out.rstrip().splitlines()[-1]

    # Where every output is, and that it is there.
    published = work / "published"
    assert (published / "health.duckdb").is_symlink() and (published / "current").is_symlink()
    with duckdb.connect(str(published / "health.duckdb"), read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        (run_id,) = con.execute("select distinct run_id from _publication").fetchone()
    assert tables >= {t for t in PUBLIC_TABLES if t != "mart_health_backtest"} | {"_publication"}
    assert run_id in out.splitlines()[0]
    for table in tables:
        assert (published / "parquet" / f"{table}.parquet").is_file()
    assert (work / "reports" / "health_report.html").is_file()
    assert (work / "reports" / "data_docs" / "index.html").is_file()
    for path in (str(published / "health.duckdb"), str(work / "reports" / "health_report.html"),
                 str(work / "reports" / "data_docs" / "index.html")):
        assert path in out
    # Nothing was written into the repository (GX's context is ephemeral).
    assert not (PROJECT_DIR / "gx").exists() and not (PROJECT_DIR / "great_expectations").exists()


def test_unit_tests_run_when_asked_not_in_a_scheduled_run(health_run, bad_build):
    """dbt's unit tests check SQL logic on fixed rows: `--unit-tests` (make run, make test) runs every one,
    a scheduled `health run` none (D34)."""
    def results(target: Path) -> list[dict]:
        return json.loads((target / "run_results.json").read_text())["results"]

    manifest = json.loads((bad_build.parent / "target" / "manifest.json").read_text())
    declared = {uid for uid in manifest["unit_tests"]}
    ran = {r["unique_id"]: r["status"] for r in results(bad_build.parent / "target")
           if r["unique_id"].startswith("unit_test.")}
    assert len(declared) > 20 and set(ran) == declared
    assert set(ran.values()) == {"pass"}
    scheduled = results(health_run[0] / "target")
    assert any(r["unique_id"].startswith("test.") for r in scheduled)
    assert not [r for r in scheduled if r["unique_id"].startswith("unit_test.")]


def test_every_subcommand_has_help_and_the_run_options(capsys):
    parser = build_parser()
    for command in ("check-raw", "build", "validate", "publish", "report", "run", "generate", "sources"):
        with pytest.raises(SystemExit) as exit_:
            parser.parse_args([command, "--help"])
        assert exit_.value.code == 0
        text = capsys.readouterr().out
        assert text.startswith("usage: health " + command)
        if command in ("build", "run"):
            for option in ("--raw-dir", "--as-of", "--target", "--full-refresh", "--unit-tests"):
                assert option in text, (command, option)
        if command in ("validate", "publish", "report"):
            assert "--target" in text


def test_a_failing_run_says_which_step_and_why_and_keeps_the_publication(health_run, bad_raw, tmp_path):
    work, first = health_run
    assert first.returncode == 0
    before = os.path.realpath(work / "published" / "current")
    raw = tmp_path / "raw"
    shutil.copytree(bad_raw, raw)
    (raw / "support" / "tickets.parquet").unlink()
    # Same build file, publication and reports as the good run: a failed run must leave them as they were.
    proc = health("run", "--raw-dir", str(raw), env=run_env(work), check=False)
    assert proc.returncode == 1
    first_line = proc.stderr.splitlines()[0]
    assert first_line.startswith("health run: check-raw failed: ") and "support/tickets.parquet" in first_line
    assert "Traceback" not in proc.stderr
    assert os.path.realpath(work / "published" / "current") == before

    proc = health("run", "--raw-dir", str(tmp_path / "nowhere"), env=run_env(work), check=False)
    assert proc.returncode == 2 and "no such directory" in proc.stderr


def test_a_build_that_fails_validation_is_not_published(health_run, bad_raw, tmp_path):
    work, first = health_run
    assert first.returncode == 0
    broken = tmp_path / "broken"
    broken.mkdir()
    shutil.copy(work / "health.duckdb", broken / "health.duckdb")
    with duckdb.connect(str(broken / "health.duckdb")) as con:
        con.execute("update main.mart_customer_health set health_score = 150 where account_id in "
                    "(select account_id from main.mart_customer_health limit 2)")
    # (HEALTH_RAW_DIR: the small raw files, not the demo company `make run` may have generated.)
    env = run_env(broken, HEALTH_PUBLISH_DIR=str(work / "published"), HEALTH_RAW_DIR=str(bad_raw))
    before = os.path.realpath(work / "published" / "current")

    proc = health("validate", env=env, check=False)
    assert proc.returncode == 1
    first_line = proc.stderr.splitlines()[0]
    assert first_line.startswith("health validate: validate failed: ")
    assert "mart_customer_health: health_score between 0 and 100: 2 of" in first_line
    assert "Data Docs:" in proc.stderr
    assert (broken / "reports" / "data_docs" / "index.html").is_file()

    proc = health("publish", env=env, check=False)
    assert proc.returncode == 1 and "failed its last validation" in proc.stderr.splitlines()[0]
    assert os.path.realpath(work / "published" / "current") == before

    # The report and publish steps also run on their own (here: the good run's publication).
    proc = health("report", env=run_env(work))
    assert "report: " in proc.stdout and (work / "reports" / "health_report.html").is_file()
    stamp = json.loads((work / "health.duckdb.validated.json").read_text())
    assert stamp["passed"] is True
