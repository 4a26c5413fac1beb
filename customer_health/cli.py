"""The `health` command: one entry point, one sub-command per step."""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

from customer_health import PROJECT_DIR

DEMO_DIR = PROJECT_DIR / "data" / "demo"
DEMO_ACCOUNTS = 1000


class UsageError(Exception):
    """A bad option or input, reported as one clear line before any work starts."""


class StepFailed(Exception):
    """A step of a run failed: the first line says which and why, the rest are details."""

    def __init__(self, step: str, reason: str, details: str = ""):
        super().__init__(f"{step} failed: {reason}")
        self.step, self.reason, self.details = step, reason, details


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


def _resolve_raw_dir(args: argparse.Namespace, demo_if_missing: bool) -> Path:
    if args.raw_dir:
        raw_dir = Path(args.raw_dir).resolve()
        if not raw_dir.is_dir():
            raise UsageError(f"--raw-dir {args.raw_dir}: no such directory")
        return raw_dir
    env_dir = os.environ.get("HEALTH_RAW_DIR")
    if env_dir:
        return Path(env_dir).resolve()
    if demo_if_missing and not (DEMO_DIR / "generation.json").is_file():
        from customer_health.generate import generate

        print(f"health: generating the demo company ({DEMO_ACCOUNTS:,} accounts) in {DEMO_DIR} ...", flush=True)
        generate(DEMO_DIR, accounts=DEMO_ACCOUNTS)
    return DEMO_DIR


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


def step_build(raw_dir: Path, raw_format: str, args: argparse.Namespace) -> None:
    from customer_health.dbt_runner import run_dbt

    db = warehouse_path()
    db.parent.mkdir(parents=True, exist_ok=True)
    os.environ["HEALTH_DUCKDB_PATH"] = str(db)
    dbt_vars = {"raw_dir": str(raw_dir), "raw_format": raw_format}
    if args.as_of:
        dbt_vars["as_of_date"] = args.as_of.isoformat()
    extra = ["--full-refresh"] if args.full_refresh else []
    started = time.monotonic()
    print(f"build: dbt build into {db if (args.target or 'duckdb') == 'duckdb' else args.target}", flush=True)
    outcome = run_dbt("build", dbt_vars=dbt_vars, target=args.target, extra_args=extra)
    if outcome.error:
        raise StepFailed("build", outcome.error[:300], outcome.error)
    if not outcome.success:
        first = outcome.failures[0] if outcome.failures else "dbt build did not succeed"
        raise StepFailed("build", f"{len(outcome.failures)} node(s) failed, first: {first[:240]}",
                         "\n".join(outcome.failures))
    print(f"build: done in {time.monotonic() - started:.0f}s", flush=True)


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
        raw_dir = _resolve_raw_dir(args, demo_if_missing=False)
        checked = step_check_raw(raw_dir)
        step_build(raw_dir, checked.format, args)
        return 0

    p.set_defaults(func=run_build)

    p = sub.add_parser("run", help="a scheduled run: check-raw, build, summary",
                       description="One command for a scheduled run: check the raw files, build, summarise. "
                                   "Without --raw-dir it uses the demo company, generating it on first use.")
    _add_run_options(p, "default: HEALTH_RAW_DIR or the demo data, generated if missing")

    def run_all(args: argparse.Namespace) -> int:
        from customer_health.summary import summarize

        raw_dir = _resolve_raw_dir(args, demo_if_missing=True)
        checked = step_check_raw(raw_dir)
        step_build(raw_dir, checked.format, args)
        if (args.target or "duckdb") == "duckdb":
            print()
            print(summarize(warehouse_path(), outputs={"warehouse": str(warehouse_path())}))
        return 0

    p.set_defaults(func=run_all)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="health", description="Customer-health warehouse.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_generate(sub)
    _add_steps(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"health {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except StepFailed as exc:
        print(f"health {args.command}: {exc}", file=sys.stderr)
        if exc.details and exc.details != exc.reason:
            print(exc.details, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
