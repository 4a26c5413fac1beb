"""dbt driven from Python: dbt's programmatic runner, one progress line per node."""

from __future__ import annotations

import gc
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from customer_health import PROJECT_DIR


@dataclass
class DbtOutcome:
    success: bool
    failures: list[str] = field(default_factory=list)  # one line per failed node
    error: str | None = None  # dbt itself failed (parse, connection, ...)


def _progress(stream):
    kinds = {"LogModelResult": "model", "LogTestResult": "test", "LogSeedResult": "seed", "LogSnapshotResult": "snapshot"}

    def callback(event) -> None:
        # A progress line must never break the build: anything unexpected is skipped.
        try:
            kind = kinds.get(event.info.name)
            if kind is None:
                return
            data = event.data
            node = data.node_info
            status = (data.status or node.node_status or "").lower()
            total = getattr(data, "total", 0) or getattr(data, "num_models", 0)
            failures = getattr(data, "num_failures", 0)
            extra = f" ({failures} failing rows)" if failures and status not in ("pass", "success") else ""
            stream.write(
                f"  [{data.index}/{total}] {status:<7} {kind} {node.node_name} {data.execution_time:.1f}s{extra}\n"
            )
            stream.flush()
        except Exception:  # noqa: BLE001
            return

    return callback


def _release_duckdb() -> None:
    """Close dbt-duckdb's shared connection so that readers can open the file."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover - adapter not installed
        return
    env = DuckDBConnectionManager._ENV
    if env is not None:
        try:
            env.close()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass
    DuckDBConnectionManager.close_all_connections()
    gc.collect()


def run_dbt(
    command: str,
    dbt_vars: dict[str, Any] | None = None,
    target: str | None = None,
    extra_args: list[str] | None = None,
    stream=sys.stdout,
    project_dir: Path = PROJECT_DIR,
) -> DbtOutcome:
    """Run one dbt command in-process and report the failed nodes."""
    from dbt.cli.main import dbtRunner

    args = [
        command,
        "--project-dir", str(project_dir),
        "--profiles-dir", str(project_dir / "profiles"),
        "--quiet",
    ]
    if target:
        args += ["--target", target]
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]
    args += extra_args or []
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    try:
        result = dbtRunner(callbacks=[_progress(stream)]).invoke(args)
    finally:
        _release_duckdb()
    if result.exception is not None:
        return DbtOutcome(success=False, error=" ".join(str(result.exception).split()))
    failures = []
    for node_result in getattr(result.result, "results", None) or []:
        status = str(node_result.status).lower()
        if status in ("error", "fail", "runtime error"):
            message = " ".join(str(node_result.message or "").split())
            failures.append(f"{node_result.node.name}: {status}: {message}"[:400])
    return DbtOutcome(success=bool(result.success), failures=failures)
