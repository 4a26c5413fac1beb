"""The contract check: before any build, every raw file and required column is there.

It reads only file headers (Parquet schemas, CSV header rows), so it takes well
under a second even on large files. Rows that break the contract are not its
business: staging quarantines them, each with a reason.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from customer_health.contract import load_contract

FORMATS = ("parquet", "csv")


class ContractError(Exception):
    """The raw directory does not meet the contract; the message names file and column."""


@dataclass
class RawCheck:
    raw_dir: Path
    format: str
    rows: dict[str, int | None] = field(default_factory=dict)  # None: not counted (CSV)
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)
    missing_optional: dict[str, list[str]] = field(default_factory=dict)


def _header(path: Path, fmt: str) -> tuple[list[str], int | None]:
    if fmt == "parquet":
        try:
            meta = pq.read_metadata(path)
            schema = pq.read_schema(path)
        except Exception as exc:  # pyarrow raises several types for a broken file
            raise ContractError(f"{path}: not a readable Parquet file ({exc.__class__.__name__}: {exc})") from None
        return list(schema.names), meta.num_rows
    with open(path, newline="", encoding="utf-8-sig") as fh:
        try:
            header = next(csv.reader(fh), None)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ContractError(f"{path}: not a readable CSV file ({exc})") from None
    if not header:
        raise ContractError(f"{path}: empty file, no header row (a table with no rows still needs its header)")
    return [h.strip() for h in header], None


def detect_format(raw_dir: Path) -> str:
    """The one format of the raw directory: parquet or csv (never mixed)."""
    found = {fmt for fmt in FORMATS for _ in raw_dir.glob(f"*/*.{fmt}")}
    if not found:
        raise ContractError(f"{raw_dir}: no raw files (<source>/<table>.parquet or .csv) found")
    if len(found) > 1:
        raise ContractError(f"{raw_dir}: both Parquet and CSV files found; use one format for all tables")
    return found.pop()


def check_raw(raw_dir: Path | str, fmt: str | None = None) -> RawCheck:
    """Check every contract table's file; raise ContractError listing every problem, one a line."""
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise ContractError(f"{raw_dir}: raw directory does not exist")
    fmt = fmt or detect_format(raw_dir)
    if fmt not in FORMATS:
        raise ContractError(f"unknown raw format {fmt!r}: use parquet or csv")
    result = RawCheck(raw_dir=raw_dir, format=fmt)
    problems: list[str] = []
    for qualified, table in load_contract().items():
        path = raw_dir / table.source / f"{table.name}.{fmt}"
        if not path.is_file():
            problems.append(f"{path}: missing file for {qualified}")
            continue
        try:
            columns, rows = _header(path, fmt)
        except ContractError as exc:
            problems.append(str(exc))
            continue
        result.rows[qualified] = rows
        present = set(columns)
        for column in table.columns:
            if column.name not in present:
                if column.required:
                    problems.append(f"{path}: missing required column {column.name!r} of {qualified}")
                else:
                    result.missing_optional.setdefault(qualified, []).append(column.name)
        known = {c.name for c in table.columns} | {"_loaded_at"}
        extra = [c for c in columns if c not in known]
        if extra:
            result.ignored_columns[qualified] = extra
    if problems:
        raise ContractError("\n".join(problems))
    return result
