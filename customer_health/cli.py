"""The `health` command: one entry point, one sub-command per step."""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import signal
import sys
import threading
import time
import traceback
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from customer_health import PROJECT_DIR

DEMO_DIR = PROJECT_DIR / "data" / "demo"
DEMO_ACCOUNTS = 1000
EXIT_BUSY = 75  # EX_TEMPFAIL: another command holds the warehouse; try again later


class UsageError(Exception):
    """A bad option or input, reported as one clear line before any work starts."""


class StepFailed(Exception):
    """A step of a run failed: the first line says which and why, the rest are details."""

    def __init__(self, step: str, reason: str, details: str = ""):
        super().__init__(f"{step} failed: {reason}")
        self.step, self.reason, self.details = step, reason, details


@contextmanager
def step(name: str):
    """Run one step: an unexpected error becomes `<name> failed: <why>`, with the traceback as details."""
    try:
        yield
    except (StepFailed, UsageError, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - every failure of a step is reported the same way
        why = " ".join(f"{exc.__class__.__name__}: {exc}".split())
        raise StepFailed(name, why[:300], traceback.format_exc()) from None


def _has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def warehouse_path() -> Path:
    """The build file (HEALTH_DUCKDB_PATH, default warehouse/health.duckdb), made absolute."""
    path = Path(os.environ.get("HEALTH_DUCKDB_PATH", PROJECT_DIR / "warehouse" / "health.duckdb"))
    if not path.is_absolute():
        path = PROJECT_DIR / path
    return path.resolve()


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {text!r}") from None


def _add_generate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "generate",
        help="write a deterministic demo company's raw tables",
        description="Write every table of the raw contract for a realistic demo company under OUT/<source>/<table>.<format>.",
    )
    p.add_argument("--accounts", type=int, default=1000, help="number of customer accounts (default 1000)")
    p.add_argument("--seed", type=int, default=42, help="random seed; the same arguments give byte-identical files")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--start", type=_iso_date, default=None, help="first day of history (default 2024-11-01)")
    p.add_argument("--end", type=_iso_date, default=None, help="last day of history (default 2026-10-31)")
    p.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    p.add_argument("--bad-rows", type=float, default=0.0, help="share of rows that break a contract rule (0-0.5)")

    def run(args: argparse.Namespace) -> int:
        from customer_health.generate import main_generate

        return main_generate(args)

    p.set_defaults(func=run)


def _add_run_options(p: argparse.ArgumentParser, raw_default: str) -> None:
    p.add_argument("--raw-dir", default=None, help=f"raw files, <dir>/<source>/<table>.parquet|csv ({raw_default})")
    p.add_argument("--as-of", type=_iso_date, default=None, help="the latest as-of date (default: last day with data)")
    p.add_argument("--target", choices=["duckdb", "postgres"], default=None, help="dbt target (default duckdb)")
    p.add_argument("--full-refresh", action="store_true", help="rebuild incremental history from scratch")
    p.add_argument("--unit-tests", action="store_true",
                   help="also run dbt's unit tests (make run and make test do; a scheduled run need not)")


def _resolve_raw_dir(args: argparse.Namespace, demo_if_missing: bool) -> Path:
    if args.raw_dir:
        raw_dir = Path(args.raw_dir).resolve()
        if not raw_dir.is_dir():
            raise UsageError(f"--raw-dir {args.raw_dir}: no such directory")
        return raw_dir
    env_dir = os.environ.get("HEALTH_RAW_DIR")
    if env_dir:
        if not Path(env_dir).is_dir():
            raise UsageError(f"HEALTH_RAW_DIR={env_dir}: no such directory")
        return Path(env_dir).resolve()
    if demo_if_missing and not (DEMO_DIR / "generation.json").is_file():
        from customer_health.generate import generate

        print(f"health: generating the demo company ({DEMO_ACCOUNTS:,} accounts) in {DEMO_DIR} ...", flush=True)
        generate(DEMO_DIR, accounts=DEMO_ACCOUNTS)
    return DEMO_DIR


def step_preflight() -> None:
    """The scoring seeds, checked before any work (customer_health.preflight): a bad one is a usage error."""
    from customer_health.preflight import SeedError, check_seeds

    try:
        rows = check_seeds()
    except SeedError as exc:
        raise UsageError(str(exc)) from None
    print("preflight: scoring seeds checked (" + ", ".join(f"{n} {s}" for s, n in rows.items()) + ")", flush=True)


@contextmanager
def warehouse_locked(command: str):
    """Hold the lock beside the build file (customer_health.runlock) for one writing command."""
    from customer_health.runlock import warehouse_lock

    with warehouse_lock(warehouse_path(), command):
        yield


def step_check_raw(raw_dir: Path):
    from customer_health.check_raw import ContractError, check_raw

    try:
        result = check_raw(raw_dir)
    except ContractError as exc:
        lines = str(exc).splitlines()
        raise StepFailed("check-raw", lines[0] + (f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""),
                         "\n".join(lines)) from None
    for table, columns in result.missing_optional.items():
        print(f"  note: {table}: optional columns absent, read as empty: {', '.join(columns)}")
    for table, columns in result.ignored_columns.items():
        print(f"  note: {table}: columns not in the contract, ignored: {', '.join(columns)}")
    print(f"check-raw: {len(result.rows)} tables in {raw_dir} ({result.format}) meet the contract's shape")
    return result


def _plain_text(text: str) -> str:
    """dbt's messages without terminal colour codes (they end up in log files and mails)."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def pinned_raw_dir(raw_dir: Path, db: Path) -> Path:
    """The path dbt reads this build's raw files through: a link beside the build file (health.raw for
    health.duckdb) to the resolved raw directory. Its path is the same on every run, so dbt's vars are too and
    dbt parses again only the files that changed, not the whole project (D39); it points at the directory the
    run resolved, so a `latest` link swapped during the run does not change what the run reads."""
    link = db.with_name(db.stem + ".raw")
    if link.exists() and not link.is_symlink():
        raise UsageError(f"{link} is in the way: the build links it to the raw directory it reads; move it away")
    staged = link.with_name(f"{link.name}.{os.getpid()}")
    staged.unlink(missing_ok=True)
    staged.symlink_to(raw_dir, target_is_directory=True)
    staged.replace(link)
    return link


def step_build(raw_dir: Path, raw_format: str, args: argparse.Namespace) -> None:
    from customer_health.dbt_runner import dbt_target, run_dbt

    on_duckdb = _is_duckdb(args)  # --target, else HEALTH_TARGET, as the dbt profile reads it
    if not on_duckdb and _has_module("customer_health.load"):
        from customer_health.load import step_load

        step_load(raw_dir, raw_format)
    db = warehouse_path()
    db.parent.mkdir(parents=True, exist_ok=True)
    os.environ["HEALTH_DUCKDB_PATH"] = str(db)
    dbt_vars = {"raw_dir": str(pinned_raw_dir(raw_dir, db)), "raw_format": raw_format}
    if args.as_of:
        dbt_vars["as_of_date"] = args.as_of.isoformat()
    extra = ["--full-refresh"] if args.full_refresh else []
    # Unit tests check the SQL logic on fixed rows, not the data: run in development and CI, not every day (D34).
    if not args.unit_tests:
        extra += ["--exclude-resource-type", "unit_test"]
    started = time.monotonic()
    if on_duckdb:  # until dbt succeeds, the file may mix old and new tables: not to be validated or published
        from customer_health.runlock import begin_build
        from customer_health.validate import stamp_path

        begin_build(db, stamp=stamp_path(db))
    print(f"build: dbt build into {db if on_duckdb else dbt_target(args.target)}", flush=True)
    with step("build"):
        outcome = run_dbt("build", dbt_vars=dbt_vars, target=args.target, extra_args=extra)
    if outcome.error:
        error = _plain_text(outcome.error)
        raise StepFailed("build", error[:300], error)
    if not outcome.success:
        failures = [_plain_text(f) for f in outcome.failures]
        first = failures[0] if failures else "dbt build did not succeed"
        raise StepFailed("build", f"{len(failures)} node(s) failed, first: {first[:240]}", "\n".join(failures))
    if on_duckdb:
        from customer_health.runlock import end_build

        end_build(db)
    print(f"build: done in {time.monotonic() - started:.0f}s", flush=True)


def _is_duckdb(args: argparse.Namespace) -> bool:
    from customer_health.dbt_runner import on_duckdb

    return on_duckdb(getattr(args, "target", None))


def _raw_dir_for_validation(args: argparse.Namespace) -> Path | None:
    """The raw files to check for warnings: --raw-dir, HEALTH_RAW_DIR, or the demo data if it exists."""
    if getattr(args, "raw_dir", None) or os.environ.get("HEALTH_RAW_DIR"):
        return _resolve_raw_dir(args, demo_if_missing=False)
    return DEMO_DIR if (DEMO_DIR / "generation.json").is_file() else None


def finished_build_file(step_name: str) -> Path:
    """The build file, for a step that reads it: it must exist and its last build must have finished."""
    from customer_health.runlock import unfinished_build

    db = warehouse_path()
    if not db.is_file():
        raise StepFailed(step_name, f"{db}: no build file (run `health build` first)")
    why = unfinished_build(db)
    if why:
        raise StepFailed(step_name, why)
    return db


def step_validate(raw_dir: Path | None, args: argparse.Namespace, raw_format: str | None = None):
    """great-expectations: raw-data warnings, public-table failures; Data Docs; a stamp for publish."""
    from customer_health.validate import validate

    db = finished_build_file("validate")
    started = time.monotonic()
    print(f"validate: great-expectations on {db}" + (f" and the raw files in {raw_dir}" if raw_dir else ""),
          flush=True)
    with step("validate"):
        result = validate(db, raw_dir=raw_dir, raw_format=raw_format, as_of=getattr(args, "as_of", None),
                          progress=lambda line: print(line, flush=True))
    docs = result.data_docs / "index.html"
    for note in result.notes:
        print(f"  note: {note}")
    if result.warnings:
        print(f"validate: {len(result.warnings)} raw-data warning(s) (staging quarantines such rows, "
              f"see staging.quarantined_rows):")
        for check in result.warnings[:20]:
            print(f"  warning: {check.line()}")
        if len(result.warnings) > 20:
            print(f"  ... and {len(result.warnings) - 20} more in {docs}")
    if not result.passed:
        first = result.failures[0].line()
        raise StepFailed(
            "validate",
            f"{len(result.failures)} expectation(s) failed on the public tables, first: {first[:240]}",
            "\n".join(["Failed expectations (the publication was not changed):",
                       *(f"  {c.line()}" for c in result.failures), f"Data Docs: {docs}"]),
        )
    public = result.of("public")
    print(f"validate: {sum(len(s.checks) for s in public)} expectations on {len(public)} public tables met "
          f"in {time.monotonic() - started:.0f}s; Data Docs: {docs}", flush=True)
    return result


def step_publish(run_id: str | None = None, raw_dir: Path | None = None):
    """Copy the validated build's public tables into a new release and switch readers to it atomically."""
    from customer_health.publish import PublishError, publish, publish_dir
    from customer_health.validate import check_stamp

    db = finished_build_file("publish")
    try:
        stamp = check_stamp(db)
    except ValueError as exc:
        raise StepFailed("publish", str(exc)) from None
    started = time.monotonic()
    print(f"publish: copying the public tables of {db} into a new release", flush=True)
    meta = {"raw_dir": str(raw_dir) if raw_dir else None, "validated_at": stamp.get("validated_at"),
            "raw_warnings": len(stamp.get("warnings") or [])}
    with step("publish"):
        try:
            release = publish(db, run_id=run_id, meta=meta)
        except PublishError as exc:
            raise StepFailed("publish", str(exc)) from None
    tables = ", ".join(f"{t} ({n:,})" for t, n in release.tables.items())
    print(f"publish: release {release.run_id} (as of {release.as_of_date}) is current in {publish_dir()}: "
          f"{tables}; {time.monotonic() - started:.1f}s", flush=True)
    if release.skipped:
        print(f"  note: public tables not in the build, not published: {', '.join(release.skipped)}")
    return release


def step_report(validation_stamp: dict | None = None) -> Path:
    """The HTML report of the current publication."""
    from customer_health.publish import current_release, read_manifest
    from customer_health.report import report_path, write_report

    release = current_release()
    if release is None:
        raise StepFailed("report", "nothing published yet (run `health publish` first)")
    started = time.monotonic()
    with step("report"):
        out = write_report(release / "health.duckdb", report_path(), manifest=read_manifest(release))
    print(f"report: {out} in {time.monotonic() - started:.1f}s", flush=True)
    return out


def _outputs(report: Path | None = None) -> dict[str, str]:
    from customer_health.publish import publish_dir
    from customer_health.validate import reports_dir

    root = publish_dir()
    out = {
        "build file": str(warehouse_path()),
        "published (DuckDB)": f"{root / 'health.duckdb'}  (open read_only)",
        "published (Parquet)": f"{root / 'parquet'}/<table>.parquet",
        "report": str(report or reports_dir() / "health_report.html"),
        "data quality": str(reports_dir() / "data_docs" / "index.html"),
        "quarantined rows": f"staging.quarantined_rows in {warehouse_path()}",
    }
    return out


def _add_steps(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sources", help="rewrite the dbt sources from contract/raw_contract.yml",
                       description="Rewrite models/staging/<source>/_<source>__sources.yml from the contract.")

    def run_sources(args: argparse.Namespace) -> int:
        from customer_health.dbt_sources import write_sources

        written = write_sources()
        print("\n".join(f"wrote {p}" for p in written) or "sources are up to date")
        return 0

    p.set_defaults(func=run_sources)

    p = sub.add_parser("check-raw", help="check that every raw file and required column is there",
                       description="The contract check: fails fast, naming the file and the column.")
    p.add_argument("--raw-dir", default=None, help="raw files (default: HEALTH_RAW_DIR or the demo data)")
    p.set_defaults(func=lambda args: (step_check_raw(_resolve_raw_dir(args, demo_if_missing=False)), 0)[1])

    p = sub.add_parser("build", help="check the raw files, then dbt build", description="check-raw, then dbt build.")
    _add_run_options(p, "default: HEALTH_RAW_DIR or the demo data")

    def run_build(args: argparse.Namespace) -> int:
        step_preflight()
        raw_dir = _resolve_raw_dir(args, demo_if_missing=False)
        with warehouse_locked("build"):
            checked = step_check_raw(raw_dir)
            step_build(raw_dir, checked.format, args)
        return 0

    p.set_defaults(func=run_build)

    p = sub.add_parser(
        "validate", help="great-expectations: raw files (warnings) and public tables (failures)",
        description="Validate the raw files against suites generated from the contract (warnings: staging "
                    "quarantines such rows) and the public tables of the build file (failures: score, grades, "
                    "grain, contributions, KPI ranges). Writes Data Docs to reports/data_docs/ "
                    "(HEALTH_REPORTS_DIR) and records the result for `health publish`.")
    p.add_argument("--raw-dir", default=None,
                   help="raw files to check (default: HEALTH_RAW_DIR or the demo data if present, else none)")
    p.add_argument("--as-of", type=_iso_date, default=None, help="also expect mart_customer_health as of this date")
    p.add_argument("--target", choices=["duckdb", "postgres"], default=None,
                   help="duckdb (default); the postgres target is not validated from Python")

    def run_validate(args: argparse.Namespace) -> int:
        if not _is_duckdb(args):
            raise UsageError("validate reads the DuckDB build file; the postgres target is checked by dbt's tests")
        raw_dir = _raw_dir_for_validation(args)
        with warehouse_locked("validate"):
            step_validate(raw_dir, args)
        return 0

    p.set_defaults(func=run_validate)

    p = sub.add_parser(
        "publish", help="publish the validated build for readers, atomically",
        description="Copy the public tables of the validated build file into published/releases/<run-id>/ "
                    "(health.duckdb and parquet/<table>.parquet), then switch published/current to it with one "
                    "atomic rename. Readers use published/health.duckdb (read_only) or published/parquet/. "
                    "Refuses a build that has not passed `health validate` since it was built.")
    p.add_argument("--target", choices=["duckdb", "postgres"], default=None,
                   help="duckdb (default); on postgres readers read the database itself")

    def run_publish(args: argparse.Namespace) -> int:
        if not _is_duckdb(args):
            raise UsageError("publish copies the DuckDB build; on postgres readers read the database itself")
        with warehouse_locked("publish"):
            step_publish()
        return 0

    p.set_defaults(func=run_publish)

    p = sub.add_parser(
        "report", help="write reports/health_report.html from the current publication",
        description="Write one self-contained HTML page (charts inline, no server, no internet) from the current "
                    "publication: grades by segment, the customers most at risk and why, their score history, MRR "
                    "movements, NPS, CSAT, retention, the backtest. Output: reports/health_report.html "
                    "(HEALTH_REPORTS_DIR).")
    p.add_argument("--target", choices=["duckdb", "postgres"], default=None,
                   help="duckdb (default); reads the DuckDB publication")

    def run_report(args: argparse.Namespace) -> int:
        if not _is_duckdb(args):
            raise UsageError("report reads the DuckDB publication; there is none for the postgres target")
        step_report()
        return 0

    p.set_defaults(func=run_report)

    p = sub.add_parser(
        "run", help="a scheduled run: check-raw, build, validate, publish, report, summary",
        description="One command for a scheduled run: check the raw files, build, validate, publish, write the "
                    "report and print a summary. Each step stops the run on failure, leaving the last good "
                    "publication as it was. Without --raw-dir it uses the demo company, generating it on first "
                    "use.")
    _add_run_options(p, "default: HEALTH_RAW_DIR or the demo data, generated if missing")

    def run_all(args: argparse.Namespace) -> int:
        from customer_health.publish import new_run_id

        started = time.monotonic()
        run_id = new_run_id()
        print(f"health run {run_id}", flush=True)
        step_preflight()
        raw_dir = _resolve_raw_dir(args, demo_if_missing=True)
        with warehouse_locked("run"):
            return _run_locked(args, run_id, raw_dir, started)

    def _run_locked(args: argparse.Namespace, run_id: str, raw_dir: Path, started: float) -> int:
        from customer_health.summary import summarize

        checked = step_check_raw(raw_dir)
        step_build(raw_dir, checked.format, args)
        if not _is_duckdb(args):
            print("validate, publish, report: skipped for the postgres target (dbt's tests ran in the build; "
                  "readers read the database itself)")
            return 0
        validation = step_validate(raw_dir, args, raw_format=checked.format)
        release = step_publish(run_id=run_id, raw_dir=raw_dir)
        report = step_report()
        notes = []
        if validation.warnings:
            notes.append(f"Data quality: {len(validation.warnings)} raw-data warning(s), "
                         f"see {validation.data_docs / 'index.html'}.")
        with step("summary"):
            text = summarize(release.duckdb_path, outputs=_outputs(report), notes=notes,
                             staging_db=warehouse_path())
        print()
        print(text)
        print()
        print(f"health run {run_id}: done in {time.monotonic() - started:.0f}s", flush=True)
        return 0

    p.set_defaults(func=run_all)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="health", description="Customer-health warehouse.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_generate(sub)
    _add_steps(sub)
    if _has_module("customer_health.load"):  # `health load` (raw files into PostgreSQL)
        from customer_health.load import add_load_command

        add_load_command(sub)
    return parser


def _interrupt(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    from customer_health.runlock import WarehouseBusy

    parser = build_parser()
    args = parser.parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)  # a scheduler's kill: stop cleanly, publication untouched
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"health {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except WarehouseBusy as exc:
        print(f"health {args.command}: refused: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except StepFailed as exc:
        print(f"health {args.command}: {exc}", file=sys.stderr)
        if exc.details and exc.details != exc.reason:
            print(exc.details, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"health {args.command}: interrupted (the last good publication is unchanged)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
