"""Publishing is atomic: a reader sees the old publication or the new one, never a mix, never an error.

These tests publish small DuckDB files (every table stamped with the run that
made it, each run with different row counts) so that many publications fit in
a few seconds; the end-to-end run in test_run.py publishes a real build.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from customer_health import PROJECT_DIR
from customer_health.publish import (
    MANIFEST_TABLE,
    PUBLIC_TABLES,
    PublishError,
    current_release,
    prune,
    publish,
)

from conftest import health, isolated_env

TABLES = PUBLIC_TABLES[:4]  # a subset, so that "a public table missing from the build" is covered too


def make_build(path: Path, tag: str, size: int) -> Path:
    """A stand-in build file: public tables stamped with `tag`, plus a table that is not public."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        for i, table in enumerate(TABLES):
            con.execute(
                f"create table {table} as select '{tag}' as run_tag, range as account_id, "
                f"date '2026-10-31' as as_of_date, random() as value from range({size + 7 * i})"
            )
        con.execute("create table not_public as select 1 as x")
    return path


def test_publish_lays_out_a_release_and_stable_paths(tmp_path):
    root = tmp_path / "published"
    build = make_build(tmp_path / "build" / "health.duckdb", "r1", 50)
    release = publish(build, run_id="r1", root=root, meta={"raw_dir": "/raw"})

    assert (root / "current").is_symlink() and os.readlink(root / "current") == "releases/r1"
    assert os.readlink(root / "health.duckdb") == "current/health.duckdb"
    assert os.readlink(root / "parquet") == "current/parquet"
    assert release.tables == {t: 50 + 7 * i for i, t in enumerate(TABLES)}
    assert release.skipped == [t for t in PUBLIC_TABLES if t not in TABLES]
    assert release.as_of_date == "2026-10-31"

    with duckdb.connect(str(root / "health.duckdb"), read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        assert tables == {*TABLES, MANIFEST_TABLE}  # not_public is not published
        manifest = dict(con.execute(f"select table_name, row_count from {MANIFEST_TABLE}").fetchall())
        assert manifest == release.tables
    for table in [*TABLES, MANIFEST_TABLE]:
        assert (root / "parquet" / f"{table}.parquet").is_file()
    meta = json.loads((root / "current" / "release.json").read_text())
    assert meta["run_id"] == "r1" and meta["raw_dir"] == "/raw" and meta["tables"] == release.tables
    # A release is never written again, and leaves no WAL for a reader to need.
    assert not (root / "current" / "health.duckdb").stat().st_mode & 0o222
    assert not (root / "current" / "health.duckdb.wal").exists()


def test_a_failed_or_interrupted_publish_leaves_the_last_good_one(tmp_path):
    root = tmp_path / "published"
    publish(make_build(tmp_path / "a.duckdb", "good", 20), run_id="good", root=root)

    def boom(_release):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        publish(make_build(tmp_path / "b.duckdb", "bad", 30), run_id="bad", root=root, _before_swap=boom)
    assert current_release(root).name == "good"
    assert not (root / "releases" / "bad").exists() and not (root / "releases" / "bad.partial").exists()

    # A run killed while building leaves a .partial directory: never current, removed by the next publish.
    (root / "releases" / "killed.partial").mkdir()
    (root / "releases" / "killed.partial" / "health.duckdb").write_bytes(b"half")
    with duckdb.connect(str(root / "health.duckdb"), read_only=True) as con:
        assert con.execute(f"select distinct run_tag from {TABLES[0]}").fetchall() == [("good",)]
    publish(make_build(tmp_path / "c.duckdb", "next", 25), run_id="next", root=root)
    assert not (root / "releases" / "killed.partial").exists()
    assert current_release(root).name == "next"

    with pytest.raises(PublishError, match="no build file"):
        publish(tmp_path / "missing.duckdb", root=root)
    assert current_release(root).name == "next"


def test_old_releases_are_pruned_but_the_last_ones_kept(tmp_path):
    root = tmp_path / "published"
    for i in range(5):
        publish(make_build(tmp_path / f"b{i}.duckdb", f"r{i}", 10 + i), run_id=f"r{i}", root=root, keep=3)
        time.sleep(0.01)
    assert sorted(p.name for p in (root / "releases").iterdir()) == ["r2", "r3", "r4"]
    assert current_release(root).name == "r4"
    assert prune(root, keep=1) and sorted(p.name for p in (root / "releases").iterdir()) == ["r4"]


READER = textwrap.dedent(
    """
    import json, os, sys, time
    import duckdb

    root, tables, stop, out = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
    db = os.path.join(root, "health.duckdb")
    seen, errors, loops = set(), [], 0

    def check(con, where):
        tags = set()
        manifest = dict(con.execute("select table_name, row_count from _publication").fetchall())
        (run_id,) = con.execute("select distinct run_id from _publication").fetchone()
        for t in tables:
            rows = con.execute(f"select run_tag, count(*) from {t} group by 1").fetchall()
            tags |= {r[0] for r in rows}
            if len(rows) != 1 or rows[0][1] != manifest.get(t):
                errors.append(f"{where}: {t}: {rows} but the manifest of {run_id} says {manifest.get(t)}")
        if tags != {run_id}:
            errors.append(f"{where}: tables of runs {sorted(tags)} together (manifest {run_id})")
        return run_id

    # A reader that keeps its connection open across every publish: it must keep its own release.
    holder = duckdb.connect(db, read_only=True)
    held = check(holder, "held")
    deadline = time.time() + 120
    while not os.path.exists(stop) and time.time() < deadline:
        loops += 1
        try:
            # DuckDB caches one database per path in a process: a fresh duckdb module-level connect to the
            # same path would reuse `holder`, so the loop reads through a path of its own (a symlink).
            con = duckdb.connect(os.path.join(root, "reader.duckdb"), read_only=True)
            try:
                seen.add(check(con, "fresh"))
            finally:
                con.close()
            release = os.path.realpath(os.path.join(root, "current"))
            parquet = {t: duckdb.sql(
                f"select run_tag, count(*) from read_parquet('{release}/parquet/{t}.parquet') group by 1"
            ).fetchall() for t in tables}
            tags = {r[0] for rows in parquet.values() for r in rows}
            if len(tags) != 1:
                errors.append(f"parquet: tables of runs {sorted(tags)} together")
            if check(holder, "held") != held:
                errors.append("the held connection changed release")
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    json.dump({"loops": loops, "seen": sorted(seen), "held": held, "errors": errors[:20]}, open(out, "w"))
    """
)


def test_a_reader_never_sees_an_error_a_missing_table_or_a_mix(tmp_path):
    root = tmp_path / "published"
    builds = [make_build(tmp_path / f"b{i}.duckdb", f"run{i}", 2000 + 111 * i) for i in range(7)]
    publish(builds[0], run_id="run0", root=root)
    # The reader's fresh connections go through their own stable path (see READER).
    os.symlink("current/health.duckdb", root / "reader.duckdb")
    script = tmp_path / "reader.py"
    script.write_text(READER)
    stop, out = tmp_path / "stop", tmp_path / "reader.json"
    reader = subprocess.Popen([sys.executable, str(script), str(root), json.dumps(list(TABLES)), str(stop), str(out)])
    try:
        time.sleep(1.0)

        def fail(_release):
            raise RuntimeError("validation said no at the last moment")

        published = ["run0"]
        for i, build in enumerate(builds[1:], start=1):
            if i == 3:
                with pytest.raises(RuntimeError):
                    publish(build, run_id=f"run{i}", root=root, _before_swap=fail)
            else:
                publish(build, run_id=f"run{i}", root=root, keep=2)
                published.append(f"run{i}")
            time.sleep(0.3)
        time.sleep(0.5)
    finally:
        stop.touch()
        reader.wait(timeout=60)
    result = json.loads(out.read_text())
    assert result["errors"] == []
    assert result["loops"] >= 10
    assert result["held"] == "run0"  # the first release, pruned long ago, still readable by its holder
    assert len(result["seen"]) >= 3 and set(result["seen"]) <= set(published)
    assert "run3" not in result["seen"]
    assert current_release(root).name == "run6"


def test_publish_refuses_a_build_that_has_not_passed_validation(tmp_path):
    work = tmp_path / "work"
    build = make_build(work / "health.duckdb", "x", 5)
    env = isolated_env(work, HEALTH_PUBLISH_DIR=str(tmp_path / "published"))
    proc = health("publish", env=env, check=False)
    assert proc.returncode == 1
    first = proc.stderr.splitlines()[0]
    assert first.startswith("health publish: publish failed:") and "has not been validated" in first
    assert not (tmp_path / "published" / "current").exists()

    stamp = work / "health.duckdb.validated.json"
    st = build.stat()
    stamp.write_text(json.dumps({"build": str(build), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
                                 "passed": False, "failures": ["mart_customer_health: health_score between 0 and 100"]}))
    proc = health("publish", env=env, check=False)
    assert proc.returncode == 1 and "failed its last validation" in proc.stderr.splitlines()[0]

    stamp.write_text(json.dumps({"build": str(build), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
                                 "passed": True}))
    proc = health("publish", env=env)
    assert "publish: release" in proc.stdout
    assert (tmp_path / "published" / "health.duckdb").resolve().is_file()

    with duckdb.connect(str(build)) as con:  # rebuilt (changed) after validation: refused again
        con.execute("create table changed as select 1")
    proc = health("publish", env=env, check=False)
    assert proc.returncode == 1 and "changed since it was last validated" in proc.stderr


def test_a_publisher_killed_before_the_swap_changes_nothing_readers_see(tmp_path):
    root = tmp_path / "published"
    publish(make_build(tmp_path / "good.duckdb", "good", 20), run_id="good", root=root)
    build = make_build(tmp_path / "killed.duckdb", "killed", 30)
    ready = tmp_path / "ready"
    code = (
        "import sys, time, pathlib\n"
        "from customer_health.publish import publish\n"
        f"publish(pathlib.Path({str(build)!r}), run_id='killed', root=pathlib.Path({str(root)!r}),\n"
        f"        _before_swap=lambda r: (pathlib.Path({str(ready)!r}).touch(), time.sleep(120)))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=PROJECT_DIR)
    try:
        deadline = time.time() + 120
        while not ready.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert ready.exists(), "the publisher never reached the swap"
    finally:
        proc.kill()  # SIGKILL: no clean-up code runs
        proc.wait(timeout=30)
    assert current_release(root).name == "good"
    assert (root / "releases" / "killed").is_dir()  # complete, but never switched to
    with duckdb.connect(str(root / "health.duckdb"), read_only=True) as con:
        assert con.execute(f"select distinct run_tag from {TABLES[0]}").fetchall() == [("good",)]
    publish(make_build(tmp_path / "next.duckdb", "next", 25), run_id="next", root=root)
    assert current_release(root).name == "next"
    assert sorted(p.name for p in (root / "releases").iterdir()) == ["good", "next"]
