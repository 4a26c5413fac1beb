"""`make bench`: the warehouse's cost at 1,000, 10,000 and 100,000 accounts, against two baselines.

For each size it
  1. generates the demo company (reused when it exists with the same arguments) and lists its raw rows;
  2. cuts "yesterday's" raw files from it: every row loaded (`_loaded_at`) before the last day;
  3. times `health build` from scratch on yesterday's files (the full build), then the scheduled run the
     next day: `health build` on today's files into the same warehouse (incremental). Both run as the
     README's nightly cron line does, without --as-of (the as-of date is the last day with data: yesterday,
     then today), so dbt's vars are the same in both (the raw files are read through the link beside the
     build file, D39) and the next day's run parses only what changed;
  4. times the SQL floor (customer_health/bench/floor.sql: the latest day's scores in one DuckDB pass) and
     the pandas baseline (customer_health/bench/pandas_baseline.py) on today's files, and checks that both
     give the warehouse's scores, grades and factor values;
  5. prints a table of the figures and their ratios and writes it, with the machine, to BENCHMARKS.md.

Every command runs as its own process; its time is wall-clock and its memory the peak resident set of its
whole process tree, sampled every 0.1 s. The full build runs with DuckDB's memory limit at 2 GB
(HEALTH_MEMORY_LIMIT), so at 100,000 accounts it must spill to disk to finish; so does the daily run
(it needed 4 GB before D29-D30, see BENCHMARKS.md). A step that fails is reported in the table, not hidden. Figures, not a test: nothing here passes or fails on time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

from customer_health import PROJECT_DIR

SIZES = (1000, 10_000, 100_000)
SEED = 42
END = date(2026, 10, 31)
MEMORY_LIMIT = "2GB"  # the full build's
DAILY_MEMORY_LIMIT = "2GB"  # the daily run fits it since D29-D30 (it needed 4GB before)
PY = sys.executable
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


@dataclass
class Measure:
    seconds: float
    peak_rss_mb: float
    returncode: int
    tail: str = ""


@dataclass
class SizeResult:
    accounts: int
    raw_rows: dict[str, int]
    raw_rows_yesterday: int
    full: Measure
    full_db_mb: float
    incremental: Measure
    incremental_db_mb: float
    floor: Measure
    pandas: Measure
    floor_check: dict = field(default_factory=dict)
    pandas_check: dict = field(default_factory=dict)
    slowest_models: list[tuple[str, float]] = field(default_factory=list)
    slowest_incremental: list[tuple[str, float]] = field(default_factory=list)


# --------------------------------------------------------------------------- measuring


def _tree_rss_kb(root: int) -> int:
    """Resident memory of a process and all its descendants, from /proc (0 once it is gone)."""
    parents: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                stat = fh.read()
            with open(f"/proc/{entry.name}/statm") as fh:
                pages = int(fh.read().split()[1])
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        pid = int(entry.name)
        parents.setdefault(ppid, []).append(pid)
        rss[pid] = pages * PAGE_KB
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(parents.get(pid, []))
    return total


def measure(cmd: list[str], env: dict[str, str], log: Path) -> Measure:
    """Run a command to its end: wall seconds, peak resident set of its process tree, exit code."""
    log.parent.mkdir(parents=True, exist_ok=True)
    peak = 0
    with open(log, "w") as out:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=PROJECT_DIR)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _tree_rss_kb(proc.pid))
                done.wait(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = proc.wait()
        seconds = time.monotonic() - started
        done.set()
        sampler.join()
    lines = log.read_text(errors="replace").strip().splitlines()
    return Measure(seconds, peak / 1024, code, lines[-1] if lines else "")


def _size_mb(path: Path) -> float:
    files = [path, path.with_name(path.name + ".wal")]
    return sum(f.stat().st_size for f in files if f.exists()) / 1e6


# --------------------------------------------------------------------------- data


def generate(accounts: int, data_root: Path) -> Path:
    """The demo company of this size, generated once and reused while its arguments stay the same."""
    out = data_root / f"{accounts}"
    stamp = out / "generation.json"
    if stamp.is_file():
        args = json.loads(stamp.read_text())["arguments"]
        if (args["accounts"], args["seed"], args["end"], args["bad_rows"]) == (accounts, SEED, END.isoformat(), 0.0):
            return out
    if out.exists():
        shutil.rmtree(out)
    print(f"bench: generating {accounts:,} accounts into {out}", flush=True)
    subprocess.run(
        [PY, "-m", "customer_health.cli", "generate", "--accounts", str(accounts), "--seed", str(SEED),
         "--end", END.isoformat(), "--out", str(out)],
        check=True, cwd=PROJECT_DIR,
    )
    return out


def cut_yesterday(today: Path, yesterday: Path, day: date) -> int:
    """Yesterday's raw files: the rows of today's files loaded before `day` (by `_loaded_at`). Reused."""
    import duckdb

    stamp = yesterday / "cut.json"
    source_stamp = (today / "generation.json").read_text()
    previous = json.loads(stamp.read_text()) if stamp.is_file() else {}
    if previous.get("source") == source_stamp:
        return previous["rows"]
    if yesterday.exists():
        shutil.rmtree(yesterday)
    rows = 0
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    for src in sorted(today.glob("*/*.parquet")):
        dst = yesterday / src.parent.name / src.name
        dst.parent.mkdir(parents=True, exist_ok=True)
        relation = f"read_parquet('{src}')"
        con.execute(
            f"copy (select * from {relation} where _loaded_at is null or cast(_loaded_at as timestamp) "
            f"< cast('{day.isoformat()}' as timestamp)) to '{dst}' (format parquet)"
        )
        rows += con.execute(f"select count(*) from read_parquet('{dst}')").fetchone()[0]
    con.close()
    stamp.write_text(json.dumps({"source": source_stamp, "rows": rows, "before": day.isoformat()}))
    return rows


# --------------------------------------------------------------------------- one size


def _slowest_models(target: Path, n: int = 12) -> list[tuple[str, float]]:
    results = json.loads((target / "run_results.json").read_text())["results"]
    models = [(r["unique_id"].split(".")[-1], r["execution_time"]) for r in results
              if r["unique_id"].startswith(("model.", "seed."))]
    return sorted(models, key=lambda m: -m[1])[:n]


def bench_size(accounts: int, data_root: Path, work_root: Path) -> SizeResult:
    from customer_health.bench.compare import compare_to_warehouse

    today = generate(accounts, data_root)
    yesterday = data_root / f"{accounts}-yesterday"
    yesterday_rows = cut_yesterday(today, yesterday, END)
    raw_rows = json.loads((today / "generation.json").read_text())["row_counts"]

    work = work_root / f"{accounts}"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    db = work / "health.duckdb"
    env = {
        **os.environ,
        "HEALTH_DUCKDB_PATH": str(db),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        "HEALTH_MEMORY_LIMIT": MEMORY_LIMIT,
        "HEALTH_RAW_FORMAT": "parquet",
    }
    env.pop("HEALTH_AS_OF", None)

    def step(name: str, cmd: list[str], memory_limit: str = MEMORY_LIMIT) -> Measure:
        print(f"bench: {accounts:,} accounts: {name} ...", end=" ", flush=True)
        m = measure(cmd, {**env, "HEALTH_MEMORY_LIMIT": memory_limit}, work / f"{name}.log")
        print(f"{m.seconds:.1f} s, {m.peak_rss_mb:.0f} MB" + ("" if m.returncode == 0 else f" FAILED: {m.tail}"),
              flush=True)
        if m.returncode != 0:
            print(f"bench: {name} failed at {accounts:,} accounts, see {work / (name + '.log')}", flush=True)
        return m

    health = [PY, "-m", "customer_health.cli", "build"]
    full = step("full", health + ["--raw-dir", str(yesterday)])
    full_db = _size_mb(db)
    shutil.copy(work / "target" / "run_results.json", work / "run_results_full.json")
    slowest = _slowest_models(work / "target")
    incremental = step("incremental", health + ["--raw-dir", str(today)], DAILY_MEMORY_LIMIT)
    incremental_db = _size_mb(db)
    slowest_incremental = _slowest_models(work / "target") if incremental.returncode == 0 else []

    floor_out, pandas_out = work / "floor.parquet", work / "pandas.parquet"
    baseline = ["--raw-dir", str(today), "--as-of", END.isoformat()]
    floor = step("floor", [PY, "-m", "customer_health.bench.floor", *baseline, "--out", str(floor_out)])
    pandas = step("pandas", [PY, "-m", "customer_health.bench.pandas_baseline", *baseline, "--out", str(pandas_out)])
    if full.returncode or incremental.returncode:
        nothing = {"equal": False, "accounts": 0, "max_score_diff": float("nan"), "skipped": True}
        return SizeResult(accounts, raw_rows, yesterday_rows, full, full_db, incremental, incremental_db,
                          floor, pandas, nothing, nothing, slowest)
    floor_check = compare_to_warehouse(floor_out, db, END)
    pandas_check = compare_to_warehouse(pandas_out, db, END)
    for name, check in (("floor", floor_check), ("pandas", pandas_check)):
        print(f"bench: {accounts:,} accounts: {name} scores {'equal' if check['equal'] else 'DIFFER'} "
              f"({check['accounts']:,} accounts, max score difference {check['max_score_diff']:.2g})", flush=True)
    return SizeResult(accounts, raw_rows, yesterday_rows, full, full_db, incremental, incremental_db,
                      floor, pandas, floor_check, pandas_check, slowest, slowest_incremental)


# --------------------------------------------------------------------------- the table


def _machine() -> str:
    mem_kb = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor() or "unknown CPU")
    return f"{os.cpu_count()} cores ({cpu}), {mem_kb / 1024 / 1024:.0f} GiB memory, {platform.system()} {platform.release()}"


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_DIR, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_DIR,
                               capture_output=True, text=True).stdout.strip()
        return out.stdout.strip() + (" (with uncommitted changes)" if dirty else "")
    except OSError:
        return "unknown"


def _secs(m: Measure) -> str:
    return f"{m.seconds:.1f} s" if m.returncode == 0 else f"failed after {m.seconds:.0f} s"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a"


def _verdict(check: dict) -> str:
    return "not compared" if check.get("skipped") else ("yes" if check.get("equal") else "NO")


def render(results: list[SizeResult]) -> str:
    by = {r.accounts: r for r in results}
    lines = [
        "| accounts | raw rows | full build | incremental run | SQL floor | pandas | full / floor | "
        "pandas / full | incremental / full | scores equal (floor, pandas) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.accounts:,} | {sum(r.raw_rows.values()):,} | {_secs(r.full)} | {_secs(r.incremental)} "
            f"| {_secs(r.floor)} | {_secs(r.pandas)} | {_ratio(r.full.seconds, r.floor.seconds)} "
            f"| {_ratio(r.pandas.seconds, r.full.seconds)} | {_ratio(r.incremental.seconds, r.full.seconds)} "
            f"| {_verdict(r.floor_check)}, {_verdict(r.pandas_check)} |"
        )
    lines += [
        "",
        "Peak resident memory of the whole process tree, and the warehouse file:",
        "",
        "| accounts | full build | incremental run | SQL floor | pandas | warehouse after full | after incremental |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.accounts:,} | {r.full.peak_rss_mb:,.0f} MB | {r.incremental.peak_rss_mb:,.0f} MB "
            f"| {r.floor.peak_rss_mb:,.0f} MB | {r.pandas.peak_rss_mb:,.0f} MB | {r.full_db_mb:,.0f} MB "
            f"| {r.incremental_db_mb:,.0f} MB |"
        )
    pairs = [(a, b) for a, b in ((10_000, 1000), (100_000, 10_000)) if a in by and b in by]
    if pairs:
        lines += ["", "Growth (cost at the larger size / cost at the smaller; linear growth is 10):", "",
                  "| sizes | raw rows | full build | incremental run | SQL floor | pandas |",
                  "|---|---:|---:|---:|---:|---:|"]
        for a, b in pairs:
            big, small = by[a], by[b]
            lines.append(
                f"| {a:,} / {b:,} | {_ratio(sum(big.raw_rows.values()), sum(small.raw_rows.values()))} "
                f"| {_ratio(big.full.seconds, small.full.seconds)} "
                f"| {_ratio(big.incremental.seconds, small.incremental.seconds)} "
                f"| {_ratio(big.floor.seconds, small.floor.seconds)} | {_ratio(big.pandas.seconds, small.pandas.seconds)} |"
            )
    tables = sorted({t for r in results for t in r.raw_rows})
    lines += ["", "Raw rows per table (today's files; yesterday's are the rows loaded before the last day):", "",
              "| table | " + " | ".join(f"{r.accounts:,}" for r in results) + " |",
              "|---|" + "---:|" * len(results)]
    for t in tables:
        lines.append(f"| {t} | " + " | ".join(f"{r.raw_rows.get(t, 0):,}" for r in results) + " |")
    lines.append("| **total (today)** | " + " | ".join(f"{sum(r.raw_rows.values()):,}" for r in results) + " |")
    lines.append("| total (yesterday) | " + " | ".join(f"{r.raw_rows_yesterday:,}" for r in results) + " |")
    biggest = results[-1]
    lines += ["", f"Slowest models of the full build at {biggest.accounts:,} accounts (dbt's run timing):", "",
              "| model | seconds |", "|---|---:|"]
    lines += [f"| {name} | {secs:.1f} |" for name, secs in biggest.slowest_models]
    if biggest.slowest_incremental:
        lines += ["", f"Slowest models of the incremental run at {biggest.accounts:,} accounts:", "",
                  "| model | seconds |", "|---|---:|"]
        lines += [f"| {name} | {secs:.1f} |" for name, secs in biggest.slowest_incremental]
    return "\n".join(lines)


def write_markdown(path: Path, table: str) -> None:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    head = path.read_text().split("<!-- bench:start -->")[0] if path.exists() else "# Benchmarks\n\n"
    tail = path.read_text().split("<!-- bench:end -->", 1)[1] if path.exists() and "<!-- bench:end -->" in path.read_text() else "\n"
    body = (
        "<!-- bench:start -->\n"
        f"Measured by `make bench` on {now}, commit {_commit()}.\n"
        f"Machine: {_machine()}. DuckDB's memory limit: {MEMORY_LIMIT} for the full build, "
        f"{DAILY_MEMORY_LIMIT} for the incremental run.\n\n"
        f"{table}\n"
        "<!-- bench:end -->"
    )
    path.write_text(head + body + tail)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES),
                        help="comma-separated account counts (default 1000,10000,100000)")
    parser.add_argument("--data-dir", type=Path, default=PROJECT_DIR / "data" / "generated" / "bench",
                        help="where generated companies are kept and reused")
    parser.add_argument("--work-dir", type=Path, default=PROJECT_DIR / "warehouse" / "bench",
                        help="warehouses, logs and baseline outputs (wiped per size)")
    parser.add_argument("--out", type=Path, default=PROJECT_DIR / "BENCHMARKS.md",
                        help="the Markdown file the table is written to ('-' to only print)")
    args = parser.parse_args(argv)
    try:
        sizes = sorted(int(s) for s in args.sizes.split(","))
    except ValueError:
        parser.error(f"--sizes: comma-separated whole numbers, not {args.sizes!r}")
    results = [bench_size(n, args.data_dir.resolve(), args.work_dir.resolve()) for n in sizes]
    table = render(results)
    print("\n" + table)
    if str(args.out) != "-":
        write_markdown(args.out, table)
        print(f"\nbench: written to {args.out}")
    failed = [r.accounts for r in results
              if any(m.returncode for m in (r.full, r.incremental, r.floor, r.pandas))]
    unequal = [r.accounts for r in results if r.accounts not in failed
               and not (r.floor_check.get("equal") and r.pandas_check.get("equal"))]
    if failed:
        print(f"bench: a step failed at {failed} accounts (see the table and its logs)", file=sys.stderr)
    if unequal:
        print(f"bench: a baseline's scores differ from the warehouse's at {unequal} accounts", file=sys.stderr)
    return 1 if failed or unequal else 0


if __name__ == "__main__":
    sys.exit(main())
