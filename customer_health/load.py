"""`health load --target postgres`: the raw files into raw_<source> schemas on PostgreSQL.

Every contract table's file (<raw_dir>/<source>/<table>.parquet or .csv) becomes
the table raw_<source>.<table> with every contract column as `text`, then
`_loaded_at` as `text`, in the contract's order (DECISIONLOG D1: staging casts and
checks the text). An optional column absent from the file is a null column;
a column not in the contract is not loaded. Rows are stored in the file's order
(one COPY into a new table), which staging reads back by ctid (source_row_number()).

The files are read by DuckDB exactly as the DuckDB build reads them (Parquet as
typed, CSV with all_varchar; every value cast to text with the session in UTC),
streamed in Arrow batches, written as CSV and sent with COPY FROM STDIN: memory
stays flat whatever the table's size.

A load replaces the tables and is all-or-nothing: every table is loaded into a
new table under a temporary name, and the new tables replace the old ones in the
same transaction, so a reader (or a build) sees either the previous load or this
one, never a mix. Two loads never run at once (an advisory lock).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from customer_health.contract import Table, load_contract

LOADED_AT = "_loaded_at"
LOADING_SUFFIX = "__loading"
BATCH_ROWS = 100_000
COPY_CHUNK = 1 << 20
# pg_advisory_xact_lock key: "health load" (any constant shared by every loader of this database).
LOCK_KEY = 0x6865616C7468


@dataclass
class TableLoad:
    table: str  # source.table
    relation: str  # raw_source.table
    rows: int
    seconds: float
    absent_columns: list[str] = field(default_factory=list)


@dataclass
class LoadResult:
    raw_dir: Path
    format: str
    tables: list[TableLoad] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def raw_schema(table: Table) -> str:
    return f"raw_{table.source}"


def raw_columns(table: Table) -> list[str]:
    """The columns of a raw table on PostgreSQL: the contract's, then _loaded_at."""
    return [c.name for c in table.columns] + [LOADED_AT]


def _reader_sql(path: Path, fmt: str) -> str:
    literal = "'" + str(path).replace("'", "''") + "'"
    if fmt == "csv":
        return f"read_csv({literal}, all_varchar = true, header = true)"
    return f"read_parquet({literal})"


class _CsvStream(io.RawIOBase):
    """A read-only file of CSV bytes made batch by batch from an Arrow record batch reader."""

    def __init__(self, batches: Iterator):
        import pyarrow.csv as pacsv

        self._batches = batches
        self._options = pacsv.WriteOptions(include_header=False)  # strings quoted: "" is '', nothing is null
        self._write = pacsv.write_csv
        self._buf = memoryview(b"")
        self.rows = 0

    def readable(self) -> bool:
        return True

    def _next(self) -> bool:
        for batch in self._batches:
            if batch.num_rows == 0:
                continue
            sink = io.BytesIO()
            self._write(batch, sink, self._options)
            self.rows += batch.num_rows
            self._buf = memoryview(sink.getvalue())
            return True
        return False

    def read(self, size: int = -1) -> bytes:
        if not len(self._buf) and not self._next():
            return b""
        if size is None or size < 0:
            size = len(self._buf)
        chunk, self._buf = self._buf[:size], self._buf[size:]
        return bytes(chunk)


def _copy_table(cur, duck, path: Path, fmt: str, table: Table, target: str, batch_rows: int) -> tuple[int, list[str]]:
    """COPY one raw file into `target` (an existing all-text table); returns (rows, absent columns)."""
    reader = _reader_sql(path, fmt)
    present = [row[0] for row in duck.execute(f"describe select * from {reader}").fetchall()]
    contract = raw_columns(table)
    loaded = [c for c in contract if c in present]
    absent = [c for c in contract if c not in present and c != LOADED_AT]
    if not loaded:
        return 0, absent
    # Text exactly as the DuckDB build reads it; a NUL byte cannot live in PostgreSQL text.
    select = ", ".join(f"replace(cast({quote_ident(c)} as varchar), chr(0), '') as {quote_ident(c)}" for c in loaded)
    batches = duck.sql(f"select {select} from {reader}").to_arrow_reader(batch_rows)
    stream = _CsvStream(iter(batches))
    cols = ", ".join(quote_ident(c) for c in loaded)
    cur.copy_expert(f"copy {target} ({cols}) from stdin with (format csv)", stream, size=COPY_CHUNK)
    return stream.rows, absent


def load_raw(
    raw_dir: Path | str,
    fmt: str | None = None,
    env=None,
    batch_rows: int = BATCH_ROWS,
    log: Callable[[str], None] = print,
) -> LoadResult:
    """Load every contract table of raw_dir into raw_<source>.<table> on PostgreSQL, replacing them.

    Raises check_raw.ContractError (files or required columns missing) before touching the
    server, and postgres.PostgresError for a connection or load failure (nothing changed then).
    """
    import duckdb
    import psycopg2

    from customer_health.check_raw import check_raw
    from customer_health.postgres import PostgresError, connect, describe

    started = time.monotonic()
    raw_dir = Path(raw_dir)
    checked = check_raw(raw_dir, fmt)
    result = LoadResult(raw_dir=raw_dir, format=checked.format)
    contract = load_contract()

    duck = duckdb.connect()
    duck.execute("set TimeZone = 'UTC'")
    duck.execute("set preserve_insertion_order = true")
    duck.execute("set enable_progress_bar = false")
    con = connect(env)
    step = "lock"
    try:
        with con.cursor() as cur:
            cur.execute("select pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            swaps = []
            for qualified, table in contract.items():
                step = qualified
                schema = quote_ident(raw_schema(table))
                final = f"{schema}.{quote_ident(table.name)}"
                loading = f"{schema}.{quote_ident(table.name + LOADING_SUFFIX)}"
                t0 = time.monotonic()
                cur.execute(f"create schema if not exists {schema}")
                cur.execute(f"drop table if exists {loading}")
                columns = ", ".join(f"{quote_ident(c)} text" for c in raw_columns(table))
                # One COPY into a new table writes the rows in file order: staging numbers them by ctid.
                cur.execute(f"create table {loading} ({columns})")
                path = raw_dir / table.source / f"{table.name}.{checked.format}"
                rows, absent = _copy_table(cur, duck, path, checked.format, table, loading, batch_rows)
                cur.execute(f"analyze {loading}")
                swaps.append((final, loading, table))
                took = time.monotonic() - t0
                result.tables.append(TableLoad(qualified, f"raw_{table.source}.{table.name}", rows, took, absent))
                log(f"  loaded {qualified:<30} {rows:>12,} rows  {took:6.1f}s"
                    + (f"  (absent, null: {', '.join(absent)})" if absent else ""))
            step = "swap"
            for final, loading, table in swaps:
                cur.execute(f"drop table if exists {final}")
                cur.execute(f"alter table {loading} rename to {quote_ident(table.name)}")
                cur.execute(
                    f"comment on table {final} is %s",
                    (f"Raw {table.source}.{table.name}, every column as text, loaded by `health load`.",),
                )
        con.commit()
    except (psycopg2.Error, duckdb.Error) as exc:
        # Nothing was committed: the previous load stays in place, whole.
        con.rollback()
        lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
        message = " ".join(lines[:2]) if lines else exc.__class__.__name__
        raise PostgresError(f"load into {describe(env)} failed at {step}: {message[:400]}") from None
    finally:
        con.close()
        duck.close()
    result.seconds = time.monotonic() - started
    return result


# ------------------------------------------------------------------------------------------------
# The `health load` command. cli.py wires it with:
#     from customer_health.load import add_load_command
#     add_load_command(sub)
# ------------------------------------------------------------------------------------------------

def add_load_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "load",
        help="load the raw files into raw_<source> schemas on PostgreSQL",
        description="Check the raw files, then load every contract table into raw_<source>.<table> on "
                    "PostgreSQL (all columns text), replacing the previous load in one transaction. "
                    "Connection: HEALTH_PG_HOST, HEALTH_PG_PORT, HEALTH_PG_USER, HEALTH_PG_PASSWORD, "
                    "HEALTH_PG_DATABASE.",
    )
    p.add_argument("--raw-dir", default=None, help="raw files, <dir>/<source>/<table>.parquet|csv "
                                                   "(default: HEALTH_RAW_DIR or the demo data)")
    p.add_argument("--target", choices=["postgres", "duckdb"], default="postgres",
                   help="where to load (postgres; DuckDB reads the raw files in place)")
    p.add_argument("--batch-rows", type=int, default=BATCH_ROWS, help=argparse.SUPPRESS)
    p.set_defaults(func=run_load_command)


def _cli():
    """The cli module whose main() is running: under `python -m customer_health.cli` that is __main__,
    whose StepFailed and UsageError are not customer_health.cli's (main() catches only its own)."""
    import customer_health.cli as cli

    main = sys.modules.get("__main__")
    if main is not None and hasattr(main, "StepFailed") and getattr(main, "__file__", None) \
            and Path(main.__file__).resolve() == Path(cli.__file__).resolve():
        return main
    return cli


def run_load_command(args: argparse.Namespace) -> int:
    cli = _cli()
    if args.target != "postgres":
        raise cli.UsageError("load is for --target postgres: the DuckDB build reads the raw files where they are")
    raw_dir = cli._resolve_raw_dir(args, demo_if_missing=True)
    checked = cli.step_check_raw(raw_dir)
    step_load(raw_dir, checked.format, batch_rows=getattr(args, "batch_rows", BATCH_ROWS))
    return 0


def step_load(raw_dir: Path, raw_format: str, batch_rows: int = BATCH_ROWS) -> LoadResult:
    """The load as a step of a run (for `health build/run --target postgres`): StepFailed on failure."""
    from customer_health.check_raw import ContractError
    from customer_health.postgres import PostgresError, describe

    print(f"load: {raw_dir} ({raw_format}) into PostgreSQL {describe()}", flush=True)
    try:
        result = load_raw(raw_dir, raw_format, batch_rows=batch_rows, log=lambda m: print(m, flush=True))
    except (ContractError, PostgresError) as exc:
        lines = str(exc).splitlines()
        raise _cli().StepFailed("load", lines[0], "\n".join(lines)) from None
    print(f"load: {len(result.tables)} tables, {result.rows:,} rows in {result.seconds:.1f}s", flush=True)
    return result
