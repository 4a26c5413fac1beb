"""Shared fixtures: generated raw data and warehouses built from it, each in its own folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from customer_health import PROJECT_DIR


def isolated_env(work: Path, **extra: str) -> dict[str, str]:
    """Environment for a build that shares nothing with another: its own warehouse, target and logs."""
    env = dict(os.environ)
    for key in ("HEALTH_RAW_DIR", "HEALTH_RAW_FORMAT", "HEALTH_AS_OF", "HEALTH_TARGET"):
        env.pop(key, None)
    env.update(
        HEALTH_DUCKDB_PATH=str(work / "health.duckdb"),
        DBT_TARGET_PATH=str(work / "target"),
        DBT_LOG_PATH=str(work / "logs"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        HEALTH_THREADS="2",
    )
    env.update(extra)
    return env


def health(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    """Run the `health` command as a user would, in a separate process."""
    proc = subprocess.run(
        [sys.executable, "-m", "customer_health.cli", *args],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=1800,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"health {' '.join(args)} exited {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def dbt(*args: str, env: dict[str, str], raw_dir: Path, raw_format: str = "parquet") -> subprocess.CompletedProcess:
    """Run dbt on its own (not through `health`), as the README says one can."""
    import json

    proc = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), *args, "--profiles-dir", "profiles",
         "--vars", json.dumps({"raw_dir": str(raw_dir), "raw_format": raw_format})],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=1800,
    )
    if proc.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} exited {proc.returncode}\n{proc.stdout[-6000:]}\n{proc.stderr[-2000:]}")
    return proc


@pytest.fixture(scope="session")
def bad_raw(tmp_path_factory) -> Path:
    """A small demo company with every kind of contract break injected (Parquet)."""
    out = tmp_path_factory.mktemp("raw_bad")
    health("generate", "--accounts", "60", "--seed", "11", "--out", str(out), "--bad-rows", "0.02",
           env=isolated_env(out))
    return out


@pytest.fixture(scope="session")
def bad_build(tmp_path_factory, bad_raw) -> Path:
    """The whole warehouse built by `health build` on the bad-row data; returns the DuckDB file."""
    work = tmp_path_factory.mktemp("build_bad")
    health("build", "--raw-dir", str(bad_raw), env=isolated_env(work))
    return work / "health.duckdb"
