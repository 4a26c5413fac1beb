"""dbt driven from Python: dbt's programmatic runner, one progress line per node."""

from __future__ import annotations

import gc
import json
import os
import sys
from contextlib import contextmanager
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


def dbt_target(target: str | None) -> str:
    """The target dbt builds into: the --target given, else HEALTH_TARGET (what the dbt profile reads), else duckdb."""
    return target or os.environ.get("HEALTH_TARGET") or "duckdb"


def on_duckdb(target: str | None) -> bool:
    """Whether dbt builds into DuckDB (dbt_target)."""
    return dbt_target(target) == "duckdb"


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


def _most_waited_on_first(self, graph) -> dict[str, int]:
    """A node's priority: the more nodes wait on it, the sooner it runs (lower runs first, as in dbt)."""
    import networkx as nx  # dbt's own dependency

    return {node: -len(nx.descendants(graph, node)) for node in graph.nodes()}


def _get_when_a_thread_is_free(get):
    """dbt's GraphQueue.get, called only once fewer nodes are running than dbt has threads."""

    def get_when_free(self, block=True, timeout=None):
        threads = getattr(self, "health_threads", None)
        if threads:
            with self.lock:
                while len(self.in_progress) >= threads:
                    self.some_task_done.wait()
        return get(self, block, timeout)

    return get_when_free


def _adds_to_a_built_warehouse(task) -> bool:
    """Whether the run adds to a built warehouse: no --full-refresh, and every incremental model it runs exists.

    Read from dbt's relation cache, filled before the nodes run. Anything unexpected: no.
    """
    try:
        from dbt.adapters.factory import get_adapter
        from dbt.flags import get_flags

        if getattr(get_flags(), "FULL_REFRESH", False):
            return False
        cache = get_adapter(task.config).cache
        nodes = [task.manifest.nodes[uid] for uid in task.job_queue.get_selected_nodes() if uid in task.manifest.nodes]
        incremental = [n for n in nodes if n.resource_type == "model" and n.config.materialized == "incremental"]
        if not incremental:
            return False
        for node in incremental:
            stored = {(r.identifier or "").lower() for r in cache.get_relations(node.database, node.schema)}
            if (node.alias or node.name).lower() not in stored:
                return False
        return True
    except Exception:  # noqa: BLE001 - the order is a speed-up: when in doubt, dbt's own
        return False


def _back_to_dbt_order(queue, dbt_scores) -> None:
    """Give the queue dbt's own scores, and the nodes already waiting in it (none taken yet) with them."""
    queue._scores = dbt_scores(queue, queue.graph)
    with queue.lock:
        waiting = []
        while not queue.inner.empty():
            waiting.append(queue.inner.get_nowait()[1])
            queue.inner.task_done()
        for node in waiting:
            queue.inner.put((queue._scores[node], node))


def _run_queue_with_threads(run_queue, dbt_scores):
    """dbt's run_queue: on a built warehouse, with its queue told how many threads take from it;
    on a build from scratch (or --full-refresh), in dbt's own order."""

    def run_queue_with_threads(self, pool):
        if self.job_queue is not None:
            if _adds_to_a_built_warehouse(self):
                self.job_queue.health_threads = self.config.threads
            else:
                _back_to_dbt_order(self.job_queue, dbt_scores)
        return run_queue(self, pool)

    return run_queue_with_threads


@contextmanager
def most_waited_on_first():
    """While the block runs, a run on a built warehouse runs first the ready node more nodes wait on (D41).

    dbt scores the nodes by their depth in the graph, shallowest first, but its main thread hands
    every node to the thread pool as soon as it is ready, so nodes run in the order they became
    ready: a model on the longest chain (the usage events, their reductions, the metrics, the
    score) waits behind shallow models and tests that nothing needs yet. In a run that adds to a
    built warehouse (a scheduled run) the main thread here takes a node only when a thread is
    free, and takes the ready node with the most nodes after it (ties by node id, as in dbt).
    A build from scratch or --full-refresh keeps dbt's order: there the order packs heavy models
    side by side under the memory limit, and was measured slower. HEALTH_NODE_ORDER=dbt keeps
    dbt's order for every run. A node still runs only after everything it needs. dbt's own
    methods come back after the block. When dbt-core no longer has them (an upgrade moved them),
    nothing changes: the order is a speed-up, never a condition of the result.
    """
    if os.environ.get("HEALTH_NODE_ORDER", "") == "dbt":
        yield False
        return
    try:
        from dbt.graph.queue import GraphQueue
        from dbt.task.runnable import GraphRunnableTask
    except ImportError:  # pragma: no cover - dbt-core moved its queue
        yield False
        return
    replacements = [
        (GraphQueue, "_get_scores", _most_waited_on_first),
        (GraphQueue, "get", _get_when_a_thread_is_free(GraphQueue.__dict__.get("get"))),
        (GraphRunnableTask, "run_queue", _run_queue_with_threads(
            GraphRunnableTask.__dict__.get("run_queue"), GraphQueue.__dict__.get("_get_scores"))),
    ]
    if any(cls.__dict__.get(name) is None for cls, name, _ in replacements):  # pragma: no cover
        yield False
        return
    saved = [(cls, name, cls.__dict__[name]) for cls, name, _ in replacements]
    for cls, name, replacement in replacements:
        setattr(cls, name, replacement)
    try:
        yield True
    finally:
        for cls, name, original in saved:
            setattr(cls, name, original)


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
        with most_waited_on_first():
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
            if status == "fail" and on_duckdb(target):
                message += _failing_rows(node_result.node)
            failures.append(f"{node_result.node.name}: {status}: {message}"[:400])
    return DbtOutcome(success=bool(result.success), failures=failures)


def _failing_rows(node, limit: int = 3) -> str:
    """The first rows a failed data test returned, read from the build file once dbt has closed it:
    for not_null_columns, the columns that have nulls and how many (D48). Best effort: '' if unreadable."""
    try:
        import duckdb

        path = os.environ.get("HEALTH_DUCKDB_PATH")
        if not path or not node.compiled_code:
            return ""
        with duckdb.connect(path, read_only=True) as con:
            cursor = con.execute(f"select * from ({node.compiled_code}) as failing limit {limit + 1}")
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
    except Exception:  # noqa: BLE001 - a detail of the message, never a second failure
        return ""
    shown = "; ".join(", ".join(f"{n}={v}" for n, v in zip(names, row)) for row in rows[:limit])
    return f" (rows: {shown}{'; ...' if len(rows) > limit else ''})" if rows else ""
