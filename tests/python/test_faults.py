"""Faults: runs killed with SIGKILL, two runs at once, the same run twice (issue 7, "Faults").

One scenario (`recovery`, module scope) replays, in a copy of the uninterrupted
reference run `clean_run` (build file and publication), what a bad night can do:

1. `health validate` killed in the middle of validation (at its first public suite);
2. `health validate` to the end, then `health publish` killed as it starts copying;
3. `health run` on another company (other public tables) killed in the middle of the dbt build, after
   fct_health_factors was rebuilt and before fct_health_history, which reads it, could be (whatever the
   order of the other nodes, D41): the build file now mixes that run's tables with the reference's;
   validate and publish must refuse it;
4. `health run` to the end, while a second `health run` started at once must be refused.

Every kill is SIGKILL, sent when a given line appears in the output (no sleeps). The
validation and publishing kills are of the step commands, which are the functions
`health run` calls: the files on disk are the same as a run killed at that step.
A reader thread reads the publication all along. Checksums: customer_health.checksum.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from customer_health import PROJECT_DIR
from customer_health.checksum import database_checksums, parquet_checksums
from customer_health.publish import PUBLIC_TABLES

from conftest import health, run_env

EXIT_BUSY = 75


def start(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "customer_health.cli", *args], cwd=PROJECT_DIR, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)


def read_until(proc: subprocess.Popen, marker: str, out: list[str], timeout: float = 1200) -> None:
    """Read the process's output into `out` until a line holds `marker` (the process is killed on timeout)."""
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        for line in proc.stdout:
            out.append(line)
            if marker in line:
                return
    finally:
        timer.cancel()
    raise AssertionError(f"never printed {marker!r} (exit {proc.wait()}):\n{''.join(out)[-4000:]}")


def kill_at(marker: str, *args: str, env: dict[str, str]) -> tuple[int, str]:
    """Start `health <args>`, SIGKILL it when a line holds `marker`; returns (pid, output)."""
    proc = start(*args, env=env)
    out: list[str] = []
    try:
        read_until(proc, marker, out)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=60)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL, "".join(out)[-3000:]
    return proc.pid, "".join(out)


def publication_state(root: Path) -> dict:
    """What readers see: the current release (complete, not a leftover) and its public tables' checksums, the
    same in its DuckDB file and its Parquet files. The release is resolved once and read by its own path (DuckDB
    caches a database per path within a process, see test_publish.READER)."""
    release = (root / "current").resolve(strict=True)
    assert release.parent == (root / "releases").resolve() and not release.name.endswith(".partial"), release
    meta = json.loads((release / "release.json").read_text())
    with duckdb.connect(str(release / "health.duckdb"), read_only=True) as con:
        (run_id,) = con.execute("select distinct run_id from _publication").fetchone()
    assert run_id == meta["run_id"] == release.name
    checksums = database_checksums(release / "health.duckdb")
    assert parquet_checksums(release / "parquet") == checksums, release
    return {"release": release.name, "checksums": checksums}


class Reader(threading.Thread):
    """Reads the publication (both DuckDB and Parquet, checksummed) again and again until stopped."""

    def __init__(self, root: Path):
        super().__init__(daemon=True)
        self.root, self.stop, self.reads, self.seen, self.errors = root, threading.Event(), 0, set(), []

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.seen.add(json.dumps(publication_state(self.root)["checksums"], sort_keys=True))
                self.reads += 1
            except Exception as exc:  # noqa: BLE001 - every failure to read is a finding
                self.errors.append(f"{type(exc).__name__}: {exc}")
            self.stop.wait(1.0)


@pytest.fixture(scope="module")
def recovery(clean_run, clean_raw, tmp_path_factory):
    ref_work, ref_proc = clean_run
    assert ref_proc.returncode == 0, ref_proc.stderr[-3000:]
    reference = publication_state(ref_work / "published")
    work = tmp_path_factory.mktemp("faults")
    shutil.copy2(ref_work / "health.duckdb", work / "health.duckdb")
    shutil.copytree(ref_work / "published", work / "published", symlinks=True)
    shutil.copytree(ref_work / "target", work / "target")  # dbt's partial parse: a faster start
    env = run_env(work)
    root = work / "published"
    facts: dict = {"reference": reference, "work": work, "seconds": {}}
    reader = Reader(root)
    reader.start()
    try:
        started = time.monotonic()
        facts["before"] = publication_state(root)

        # 1. validation killed half-way (after the raw suites, at the first public one)
        _, facts["validate_out"] = kill_at(" public ", "validate", "--raw-dir", str(clean_raw), env=env)
        facts["after_validate_kill"] = publication_state(root)

        # 2. a full validation, then publishing killed as it starts
        facts["validate"] = health("validate", "--raw-dir", str(clean_raw), env=env, check=False)
        _, facts["publish_out"] = kill_at("publish: copying", "publish", env=env)
        facts["after_publish_kill"] = publication_state(root)
        facts["leftovers_after_publish_kill"] = sorted(p.name for p in (root / "releases").iterdir())
        facts["seconds"]["validate and publish kills"] = time.monotonic() - started

        # 3. a run on another company's files killed in the middle of its dbt build
        started = time.monotonic()
        other = work / "other_raw"
        health("generate", "--accounts", "60", "--seed", "12", "--out", str(other), env=env)
        facts["build_pid"], facts["build_out"] = kill_at(" model fct_health_factors ", "run", "--raw-dir", str(other),
                                                         env=env)
        facts["after_build_kill"] = publication_state(root)
        facts["killed_build_marker"] = (work / "health.duckdb.building").exists()
        facts["validate_refused"] = health("validate", "--raw-dir", str(clean_raw), env=env, check=False)
        facts["publish_refused"] = health("publish", env=env, check=False)
        try:
            facts["killed_build_checksums"] = database_checksums(work / "health.duckdb")
        except duckdb.Error as exc:  # a killed DuckDB file may need its WAL replayed by a writer first
            facts["killed_build_checksums"] = f"{type(exc).__name__}: {exc}"
        facts["seconds"]["build kill"] = time.monotonic() - started

        # 4. the next run, and a second run started while it builds
        started = time.monotonic()
        proc = start("run", "--raw-dir", str(clean_raw), env=env)
        out: list[str] = []
        try:
            read_until(proc, "build: dbt build", out)
            facts["second"] = health("run", "--raw-dir", str(clean_raw), env=env, check=False)
            out += proc.stdout.readlines()
            proc.wait(timeout=1800)
        finally:
            proc.kill()
            proc.wait()
            proc.stdout.close()
        facts["final_pid"], facts["final_rc"], facts["final_out"] = proc.pid, proc.returncode, "".join(out)
        facts["seconds"]["final run"] = time.monotonic() - started
        facts["after_final"] = publication_state(root)
        facts["final_build"] = database_checksums(work / "health.duckdb")
        facts["releases"] = sorted(p.name for p in (root / "releases").iterdir())
    finally:
        reader.stop.set()
        reader.join(timeout=60)
    facts["reader"] = reader
    print(f"\nfault scenario timings: {json.dumps({k: round(v) for k, v in facts['seconds'].items()})}; "
          f"killed build file readable: {isinstance(facts['killed_build_checksums'], dict)}; "
          f"releases after the publish kill: {facts['leftovers_after_publish_kill']}")
    return facts


def test_killed_runs_leave_the_last_publication_readable_and_intact(recovery):
    reference = recovery["reference"]
    assert set(reference["checksums"]) <= set(PUBLIC_TABLES) and len(reference["checksums"]) >= 8
    assert recovery["before"] == reference
    # Each kill happened where it was meant to.
    assert "validate: great-expectations" in recovery["validate_out"] and "public tables met" not in \
        recovery["validate_out"]
    assert recovery["validate"].returncode == 0, recovery["validate"].stderr[-2000:]
    assert "publish: release" not in recovery["publish_out"]
    assert " model fct_health_factors " in recovery["build_out"] and "build: done" not in recovery["build_out"]
    for point in ("after_validate_kill", "after_publish_kill", "after_build_kill"):
        assert recovery[point] == reference, point  # same release, same tables, DuckDB = Parquet


def test_the_publication_stays_readable_throughout(recovery):
    reader = recovery["reader"]
    assert reader.errors == []
    assert reader.reads >= 20
    assert reader.seen == {json.dumps(recovery["reference"]["checksums"], sort_keys=True)}


def test_an_unfinished_build_is_never_validated_or_published(recovery):
    assert recovery["killed_build_marker"]
    for step, proc in (("validate", recovery["validate_refused"]), ("publish", recovery["publish_refused"])):
        assert proc.returncode == 1, proc.stdout[-2000:]
        first = proc.stderr.splitlines()[0]
        assert first.startswith(f"health {step}: {step} failed: ") and "did not finish" in first, first
        assert f"pid {recovery['build_pid']}" in first and "Traceback" not in proc.stderr
    # The build file really was a mix (when it can be read before a writer replays its log): the other company's
    # factors beside the reference's health history, which is built from them and so not yet rebuilt.
    killed = recovery["killed_build_checksums"]
    if isinstance(killed, dict):
        reference = recovery["reference"]["checksums"]
        assert killed["fct_health_factors"] != reference["fct_health_factors"]
        assert killed["fct_health_history"] == reference["fct_health_history"]


def test_the_next_run_completes_with_the_tables_of_an_uninterrupted_run(recovery):
    assert recovery["final_rc"] == 0, recovery["final_out"][-4000:]
    reference = recovery["reference"]["checksums"]
    after = recovery["after_final"]
    assert after["checksums"] == reference  # published, DuckDB and Parquet
    assert recovery["final_build"] == reference  # and the build file itself
    assert after["release"] != recovery["reference"]["release"] and after["release"] in recovery["final_out"]
    # The killed publisher's half-built release was cleared away; no more than three releases are kept.
    assert not [r for r in recovery["releases"] if r.endswith(".partial")]
    assert len(recovery["releases"]) <= 3


def test_two_runs_at_once_the_second_is_refused_naming_the_first(recovery):
    second = recovery["second"]
    assert second.returncode == EXIT_BUSY, second.stdout[-2000:] + second.stderr[-2000:]
    first = second.stderr.splitlines()[0]
    assert first.startswith("health run: refused: ") and "is in use by `health run`" in first
    assert f"pid {recovery['final_pid']}" in first and "started 20" in first
    assert "Traceback" not in second.stderr and "check-raw:" not in second.stdout
    # ... and neither corrupted anything: the first run went on to publish the reference tables (test above).
    assert recovery["final_rc"] == 0


def test_two_runs_on_the_same_inputs_give_identical_public_tables(recovery):
    """Idempotency: the uninterrupted run and the run after the faults (same raw files, same options),
    compared table by table by checksum (order-independent hash of every row)."""
    first, second = recovery["reference"]["checksums"], recovery["after_final"]["checksums"]
    assert list(first) == list(second) and len(first) >= 8
    assert {t: (first[t], second[t]) for t in first if first[t] != second[t]} == {}


# --------------------------------------------------------------------------- the lock itself (no dbt)

HOLDER = (
    "import sys, time\nfrom pathlib import Path\nfrom customer_health.runlock import warehouse_lock\n"
    "with warehouse_lock(Path(sys.argv[1]), 'run'):\n    print('locked', flush=True)\n    time.sleep(600)\n"
)


def test_every_writing_command_refuses_a_locked_warehouse_and_a_killed_holder_frees_it(tmp_path, clean_raw):
    work = tmp_path / "work"
    env = run_env(work)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(work / "health.duckdb")], cwd=PROJECT_DIR,
                              env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        for args in (["run", "--raw-dir", str(clean_raw)], ["build", "--raw-dir", str(clean_raw)],
                     ["validate"], ["publish"]):
            proc = health(*args, env=env, check=False)
            assert proc.returncode == EXIT_BUSY, (args, proc.stdout[-1000:], proc.stderr[-1000:])
            first = proc.stderr.splitlines()[0]
            assert first.startswith(f"health {args[0]}: refused: {work / 'health.duckdb'} is in use by `health run` "
                                    f"(pid {holder.pid} on "), first
            assert "started 20" in first and "Traceback" not in proc.stderr
            assert "check-raw:" not in proc.stdout and "validate:" not in proc.stdout
        assert not (work / "health.duckdb").exists()

        # Waiting (HEALTH_LOCK_WAIT): the command gets the lock as soon as the holder is gone, even SIGKILLed.
        waiting = subprocess.Popen([sys.executable, "-m", "customer_health.cli", "publish"], cwd=PROJECT_DIR,
                                   env={**env, "HEALTH_LOCK_WAIT": "120"}, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        time.sleep(2.0)  # not a synchronisation (the assertions hold whenever it starts): gives it time to wait
        assert waiting.poll() is None, waiting.communicate()
        holder.kill()
        out, err = waiting.communicate(timeout=60)
        assert waiting.returncode == 1 and "no build file" in err.splitlines()[0], err  # past the lock
    finally:
        holder.kill()
        holder.wait()
    proc = health("publish", env={**env, "HEALTH_LOCK_WAIT": "1"}, check=False)
    assert proc.returncode == 1 and "no build file" in proc.stderr  # no stale lock after the SIGKILL


# --------------------------------------------------------------------------- the checksum (no dbt)


def test_the_checksum_ignores_row_order_and_float_noise_and_sees_any_change(tiny_warehouse, tmp_path):
    from customer_health.checksum import table_checksum
    from customer_health.publish import publish

    reference = database_checksums(tiny_warehouse)
    assert len(reference) == len(PUBLIC_TABLES)
    release = publish(tiny_warehouse, run_id="r1", root=tmp_path / "published")
    assert parquet_checksums(release.parquet_dir) == database_checksums(release.duckdb_path) == reference

    with duckdb.connect() as con:
        con.execute("create table t as select range as i, range / 7 as x, 'a' || range as s from range(1000)")
        base = table_checksum(con, "t")
        con.execute("create table shuffled as select * from t order by hash(i)")
        assert table_checksum(con, "shuffled") == base  # row order
        con.execute("create table noisy as select i, x * (1 + 1e-15) as x, s from t")
        assert table_checksum(con, "noisy") == base  # the last bits of a double
        changes = {
            "one value": "update c set x = x + 0.001 where i = 500",
            "one text": "update c set s = 'b500' where i = 500",
            "a duplicate row": "insert into c select * from c where i = 1",
            "a missing row": "delete from c where i = 999",
        }
        for what, sql in changes.items():
            con.execute("create or replace table c as select * from t")
            con.execute(sql)
            assert table_checksum(con, "c") != base, what
        con.execute("create table renamed as select i, x as y, s from t")
        assert table_checksum(con, "renamed") != base
