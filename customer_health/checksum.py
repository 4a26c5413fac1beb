"""Order-independent checksums of tables: are two builds or two publications the same?

`table_checksum` digests one table's column names, its row count and the sum
of a hash of every row, so that the order of the rows does not matter (a sum,
not a XOR: two identical rows do not cancel out). Values are normalised first
so that the same data gives the same digest wherever it is read from (the build
file, a published DuckDB file, the Parquet files):

- every integer type is read as BIGINT, every other type as it is;
- DOUBLE and FLOAT values are compared in single precision (about seven
  significant digits): parallel sums add in no fixed order, which changes the
  last bits of a double from one run to the next, and that is not a change of
  the data. A change in the seventh significant digit of a score, an amount or
  a rate is still seen. Minus zero counts as zero.

The digests hold within one DuckDB version (its `hash` function); they are for
comparing tables, not for storing across upgrades.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from customer_health.publish import PUBLIC_SCHEMA, PUBLIC_TABLES

INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
FLOAT_TYPES = {"DOUBLE", "FLOAT", "REAL"}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _normalised(column: str, data_type: str) -> str:
    q = _quote(column)
    if data_type in INTEGER_TYPES:
        return f"cast({q} as bigint)"
    if data_type in FLOAT_TYPES:
        return f"(cast({q} as float) + cast(0 as float))"  # + 0: minus zero becomes zero
    return q


def table_checksum(con: duckdb.DuckDBPyConnection, relation: str) -> str:
    """The digest of one table or any relation `select * from <relation>` can read (e.g. read_parquet(...))."""
    columns = con.execute(f"describe select * from {relation}").fetchall()
    names = [c[0] for c in columns]
    row_hash = "hash(" + ", ".join(_normalised(c[0], c[1]) for c in columns) + ")"
    rows, total = con.execute(
        f"select count(*), coalesce(sum(cast({row_hash} as hugeint)), 0) from {relation}"
    ).fetchone()
    return hashlib.sha256(f"{'|'.join(names)}\n{rows}\n{total}".encode()).hexdigest()[:32]


def database_checksums(db: Path | str, tables=PUBLIC_TABLES, schema: str = PUBLIC_SCHEMA) -> dict[str, str]:
    """{table: digest} for each of `tables` present in the DuckDB file `db` (opened read-only)."""
    with duckdb.connect(str(db), read_only=True) as con:
        present = {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [schema]).fetchall()}
        return {t: table_checksum(con, f"{_quote(schema)}.{_quote(t)}") for t in tables if t in present}


def parquet_checksums(parquet_dir: Path | str, tables=PUBLIC_TABLES) -> dict[str, str]:
    """{table: digest} for each `<table>.parquet` of `tables` in `parquet_dir`."""
    parquet_dir = Path(parquet_dir)
    out = {}
    with duckdb.connect() as con:
        for t in tables:
            path = parquet_dir / f"{t}.parquet"
            if path.is_file():
                out[t] = table_checksum(con, "read_parquet('" + str(path).replace("'", "''") + "')")
    return out


def publication_checksums(root: Path | str) -> dict[str, str]:
    """The public tables of the current publication under `root` (published/), read through its stable
    DuckDB path; the Parquet files of the same release must give the same digests, else ValueError.
    The run's own table (_publication: run id, time) is left out: it differs from run to run by design."""
    release = (Path(root) / "current").resolve(strict=True)
    from_duckdb = database_checksums(release / "health.duckdb")
    from_parquet = parquet_checksums(release / "parquet")
    if from_duckdb != from_parquet:
        differ = sorted(t for t in from_duckdb.keys() | from_parquet.keys()
                        if from_duckdb.get(t) != from_parquet.get(t))
        raise ValueError(f"{release}: the DuckDB file and the Parquet files differ in {', '.join(differ)}")
    return from_duckdb
