"""The SQL floor: the latest day's health score and factors of every account in one DuckDB query.

`floor.sql` (beside this file) reads the raw files and the project's seeds and computes, for one
as-of date, what the warehouse publishes in `main.mart_customer_health` and `fct_health_factors`
for its latest date, with no orchestration and no history. This module fills in its placeholders,
runs it in an in-memory DuckDB connection and writes one Parquet row per account:

    account_id, as_of_date, health_score, score_coverage, grade, colour, <factor_key>...

one column per factor of seeds/health_factors.csv holding the factor's metric value (as
fct_health_factors.metric_value). `customer_health.bench.compare` checks such a file against a
warehouse.

    python -m customer_health.bench.floor --raw-dir DIR --as-of YYYY-MM-DD --out FILE.parquet [--format parquet|csv]
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import time
from datetime import date
from pathlib import Path

import duckdb

from customer_health import SEEDS_DIR

SQL_PATH = Path(__file__).with_name("floor.sql")
SCORE_COLUMNS = ["account_id", "as_of_date", "health_score", "score_coverage", "grade", "colour"]
RAW_FORMATS = ("parquet", "csv")


def _quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def factor_keys(seeds_dir: Path = SEEDS_DIR) -> list[str]:
    """The factors of seeds/health_factors.csv, in file order: the metric columns of the output."""
    with open(seeds_dir / "health_factors.csv", newline="") as fh:
        return [row["factor_key"].strip() for row in csv.DictReader(fh)]


def render_sql(raw_dir: Path, as_of: date, raw_format: str = "parquet", seeds_dir: Path = SEEDS_DIR) -> str:
    """floor.sql with its placeholders filled in (see the head of floor.sql)."""
    if raw_format not in RAW_FORMATS:
        raise ValueError(f"raw_format must be parquet or csv, not {raw_format!r}")
    raw_dir = Path(raw_dir).resolve()

    def read(match: re.Match) -> str:
        path = _quote(str(raw_dir / f"{match.group(1)}.{raw_format}"))
        if raw_format == "parquet":
            return f"read_parquet({path}, file_row_number = true)"
        return f"read_csv({path}, header = true, all_varchar = true)"

    sql = SQL_PATH.read_text()
    sql = re.sub(r"\{raw:([a-z_]+/[a-z_]+)\}", read, sql)
    sql = sql.replace("{file_row}", "file_row_number" if raw_format == "parquet" else "row_number() over ()")
    sql = sql.replace("{as_of}", as_of.isoformat())
    sql = sql.replace("{seeds_dir}", str(Path(seeds_dir).resolve()).replace("'", "''"))
    code = re.sub(r"--[^\n]*", "", sql)
    left = re.findall(r"\{[a-z_]+(?::[^}]*)?\}", code)
    if left:
        raise ValueError(f"floor.sql: placeholders left unfilled: {sorted(set(left))}")
    return sql.rstrip().rstrip(";")


def run_floor(raw_dir: Path, as_of: date, out: Path, raw_format: str = "parquet") -> int:
    """Compute the floor for `as_of` from the raw files in `raw_dir` and write `out` (Parquet).

    Returns the number of rows (accounts) written.
    """
    as_of = date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise FileNotFoundError(f"raw directory not found: {raw_dir}")
    keys = factor_keys()
    query = render_sql(raw_dir, as_of, raw_format)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        computed = [row[0] for row in con.execute(f"describe select * from ({query}) limit 0").fetchall()]
        missing = [key for key in keys if key not in computed]
        if missing:
            raise ValueError(f"factors that floor.sql does not compute: {', '.join(missing)}")
        columns = ", ".join(f'"{name}"' for name in SCORE_COLUMNS + keys)
        con.execute(
            f"copy (select {columns} from ({query}) order by account_id) "
            f"to {_quote(str(out))} (format parquet)"
        )
        return con.execute(f"select count(*) from read_parquet({_quote(str(out))})").fetchone()[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m customer_health.bench.floor",
        description="The SQL floor: the health score and factors of every account as of one date, in one query.",
    )
    parser.add_argument("--raw-dir", required=True, type=Path, help="the raw files: <dir>/<source>/<table>.<format>")
    parser.add_argument("--as-of", required=True, type=date.fromisoformat, help="the as-of date, YYYY-MM-DD")
    parser.add_argument("--out", required=True, type=Path, help="the Parquet file to write")
    parser.add_argument("--format", default="parquet", choices=RAW_FORMATS, help="raw file format (default parquet)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        rows = run_floor(args.raw_dir, args.as_of, args.out, args.format)
    except (OSError, ValueError, duckdb.Error) as exc:
        print(f"floor failed: {exc}", file=sys.stderr)
        return 1
    print(f"floor: {rows} rows written to {args.out} in {time.perf_counter() - started:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
