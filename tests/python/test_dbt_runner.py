"""The order in which dbt runs the nodes that are ready (DECISIONLOG D41).

dbt hands every node to its threads as soon as it is ready, in the order of its depth in the graph;
`health build` takes a node only when a thread is free, and the ready node that more nodes wait on
first. What is tested is the order a queue gives, that it waits for a free thread, and that dbt's
own methods come back after the run, not the speed (measured by `make bench`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading

import duckdb
import networkx as nx
from dbt.graph.queue import GraphQueue

from conftest import isolated_env

from customer_health import PROJECT_DIR, dbt_runner
from customer_health.dbt_runner import most_waited_on_first


class _Manifest:
    """What GraphQueue asks of a manifest: the node of an id."""

    def expect(self, node_id):
        return node_id


def _queue(edges, nodes) -> GraphQueue:
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    return GraphQueue(graph, _Manifest(), set(nodes))


def _run_order(edges, nodes) -> list[str]:
    """The order one dbt thread runs the graph in: take a ready node, finish it, take the next."""
    queue = _queue(edges, nodes)
    order = []
    while not queue.empty():
        node = queue.get(block=False)
        order.append(node)
        queue.mark_done(node)
    return order


# A chain that everything downstream waits on (the usage events, their reductions, the score) and
# a model that nothing needs; the chain's second model is one level deeper than the lone model.
EDGES = [("model.chain_1", "model.chain_2"), ("model.chain_2", "model.chain_3")]
NODES = ["model.a_lone", "model.chain_1", "model.chain_2", "model.chain_3"]


def test_dbt_alone_runs_the_shallowest_ready_node_first():
    assert _run_order(EDGES, NODES) == ["model.a_lone", "model.chain_1", "model.chain_2", "model.chain_3"]


def test_health_runs_first_the_ready_node_that_more_nodes_wait_on():
    with most_waited_on_first() as applied:
        assert applied
        order = _run_order(EDGES, NODES)
    # chain_2 (one node waits on it) before a_lone (none); a tie (a_lone, chain_3) goes by node id.
    assert order == ["model.chain_1", "model.chain_2", "model.a_lone", "model.chain_3"]


def test_a_node_still_waits_for_what_it_needs():
    edges = EDGES + [("model.a_lone", "model.chain_3")]
    with most_waited_on_first():
        order = _run_order(edges, NODES)
    assert order.index("model.a_lone") < order.index("model.chain_3")
    assert order.index("model.chain_2") < order.index("model.chain_3")


def test_the_next_node_is_taken_only_when_a_thread_is_free():
    with most_waited_on_first():
        queue = _queue(EDGES, NODES)
        queue.health_threads = 1  # what run_queue sets from dbt's threads
        first = queue.get()
        taken = []
        taker = threading.Thread(target=lambda: taken.append(queue.get()), daemon=True)
        taker.start()
        taker.join(0.5)
        # model.a_lone is ready, but the one thread is busy with the first node
        assert taker.is_alive() and not taken
        queue.mark_done(first)
        taker.join(10)
    assert first == "model.chain_1"
    # chosen when the thread came free: chain_2, ready by then, has a node after it
    assert taken == ["model.chain_2"]


def test_dbt_methods_come_back_after_the_run_even_when_it_fails():
    from dbt.task.runnable import GraphRunnableTask

    names = [(GraphQueue, "_get_scores"), (GraphQueue, "get"), (GraphRunnableTask, "run_queue")]
    originals = [cls.__dict__[name] for cls, name in names]
    try:
        with most_waited_on_first():
            assert all(cls.__dict__[name] is not o for (cls, name), o in zip(names, originals))
            raise RuntimeError("the build failed")
    except RuntimeError:
        pass
    assert all(cls.__dict__[name] is o for (cls, name), o in zip(names, originals))
    assert _run_order(EDGES, NODES)[0] == "model.a_lone"


def test_a_build_from_scratch_gets_dbt_order_back_before_any_node_is_taken():
    original = GraphQueue.__dict__["_get_scores"]
    with most_waited_on_first():
        queue = _queue(EDGES, NODES)
        dbt_runner._back_to_dbt_order(queue, original)
        order = []
        while not queue.empty():
            node = queue.get(block=False)
            order.append(node)
            queue.mark_done(node)
    assert order == ["model.a_lone", "model.chain_1", "model.chain_2", "model.chain_3"]
    assert queue.inner.unfinished_tasks == 0  # dbt's join() at the end of the run returns


class _Node:
    def __init__(self, name, materialized):
        self.name = self.alias = name
        self.database, self.schema, self.resource_type = "health", "main", "model"
        self.config = type("Config", (), {"materialized": materialized})()


class _Task:
    def __init__(self, nodes):
        self.config = None
        self.manifest = type("Manifest", (), {"nodes": {f"model.{n.name}": n for n in nodes}})()
        self.job_queue = type("Queue", (), {"get_selected_nodes": lambda queue: set(self.manifest.nodes)})()


def _with_stored(monkeypatch, stored):
    relation = type("Relation", (), {})
    relations = []
    for name in stored:
        r = relation()
        r.identifier = name
        relations.append(r)
    cache = type("Cache", (), {"get_relations": lambda cache, database, schema: relations})()
    monkeypatch.setattr("dbt.adapters.factory.get_adapter", lambda config: type("Adapter", (), {"cache": cache})())


def test_a_run_takes_the_new_order_only_on_a_built_warehouse(monkeypatch):
    task = _Task([_Node("fct_health_factors", "incremental"), _Node("int_usage_metrics", "incremental"),
                  _Node("dim_accounts", "table")])
    _with_stored(monkeypatch, ["fct_health_factors", "int_usage_metrics"])
    assert dbt_runner._adds_to_a_built_warehouse(task)
    _with_stored(monkeypatch, ["fct_health_factors"])  # one incremental model still to build
    assert not dbt_runner._adds_to_a_built_warehouse(task)
    _with_stored(monkeypatch, [])  # a build from scratch
    assert not dbt_runner._adds_to_a_built_warehouse(task)


def test_a_failed_not_null_columns_test_names_the_columns_with_nulls(clean_raw, clean_run, tmp_path):
    """One not_null test per model (D48): a failure still says which column has nulls and how many.
    `dbt test` on its own tests every row, through the scope a daily run uses with no recorded date,
    the case where DuckDB 2.0.0 found nothing with sum(case ...) (D48)."""
    env = isolated_env(tmp_path)
    shutil.copy(clean_run[0] / "health.duckdb", tmp_path / "health.duckdb")
    with duckdb.connect(str(tmp_path / "health.duckdb")) as con:
        con.execute("update main.fct_health_history set lifecycle_stage = null "
                    "where account_id = (select min(account_id) from main.fct_health_history)")
        nulls = con.execute("select count(*) from main.fct_health_history where lifecycle_stage is null").fetchone()[0]
    assert nulls > 0
    script = ("import json, sys; from customer_health.dbt_runner import run_dbt; "
              "o = run_dbt('test', dbt_vars={'raw_dir': sys.argv[1], 'raw_format': 'parquet'}, "
              "extra_args=['-s', 'fct_health_history']); print(json.dumps(o.failures))")
    proc = subprocess.run([sys.executable, "-c", script, str(clean_raw)], cwd=PROJECT_DIR, env=env,
                          capture_output=True, text=True, timeout=900)
    failures = json.loads(proc.stdout.strip().splitlines()[-1])
    named = [f for f in failures if f.startswith("not_null_columns_fct_health_history")]
    assert len(named) == 1, failures
    assert f"(rows: column_name=lifecycle_stage, null_rows={nulls})" in named[0]


def test_health_target_in_the_environment_builds_as_the_target_option_does(monkeypatch, tmp_path):
    """HEALTH_TARGET=postgres (what the dbt profile reads) is `--target postgres` for `health build` too: the raw
    files are loaded into PostgreSQL first, and the DuckDB file is not marked as being built."""
    import argparse
    import types

    from customer_health import cli

    calls = []
    monkeypatch.setenv("HEALTH_TARGET", "postgres")
    monkeypatch.setenv("HEALTH_DUCKDB_PATH", str(tmp_path / "work" / "health.duckdb"))
    monkeypatch.setattr("customer_health.load.step_load", lambda raw_dir, raw_format: calls.append("load"))
    monkeypatch.setattr("customer_health.runlock.begin_build", lambda *a, **k: calls.append("begin_build"))
    monkeypatch.setattr("customer_health.runlock.end_build", lambda *a, **k: calls.append("end_build"))
    monkeypatch.setattr(dbt_runner, "run_dbt", lambda command, **kw: calls.append(command) or types.SimpleNamespace(
        error=None, success=True, failures=[]))
    args = argparse.Namespace(target=None, as_of=None, full_refresh=False, unit_tests=False)
    cli.step_build(tmp_path, "parquet", args)
    assert calls == ["load", "build"]

    calls.clear()
    monkeypatch.delenv("HEALTH_TARGET")
    cli.step_build(tmp_path, "parquet", args)
    assert calls == ["begin_build", "build", "end_build"]
