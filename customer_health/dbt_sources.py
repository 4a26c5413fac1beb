"""Render the dbt sources of every raw table from the contract.

The contract (contract/raw_contract.yml) is the one copy of what raw data looks
like. The dbt sources are generated from it, committed, and a test fails when
they are stale: `health sources` rewrites them.

On DuckDB each source reads the raw file directly, unioned by name with an empty
row of every contract column, so that an optional column missing from the file
reads as null. A CSV file is read as text (all_varchar, an all-text empty row);
a Parquet file as it is typed, with an empty row of the contract's types, so a
column already of its contract type is not turned into text and parsed back
(D26: the largest cost of staging), while a column of another type (text holding
dates, say) makes the union text, parsed and checked in staging like CSV. On PostgreSQL the same tables live in raw_<source> schemas
(loaded by `health load`, all text).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from customer_health import PROJECT_DIR
from customer_health.contract import Table, load_contract

HEADER = (
    "# Generated from contract/raw_contract.yml by `health sources`: do not edit by hand.\n"
    "# A test fails when this file and the contract disagree.\n"
)

SOURCE_DESCRIPTIONS = {
    "crm": "The CRM: customer companies, their people, touches and opportunities.",
    "billing": "The billing system: subscription periods, invoices, one-off orders and their returns.",
    "support": "The help desk: tickets and the satisfaction surveys about them.",
    "surveys": "Relationship surveys: NPS answers.",
    "product": "Product analytics: logins, feature usage, features, onboarding and in-product feedback.",
}

LOADED_AT = "_loaded_at"


# The type each contract type is read as from a typed (Parquet) file: a column already of that type is
# used as it is; a column of another type (text, say) makes the union text, and staging parses it.
PARQUET_TYPES = {
    "string": "varchar",
    "integer": "bigint",
    "decimal": "decimal(18, 2)",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamp",
}


def external_location(table: Table) -> str:
    """The DuckDB relation for a raw table: its file, with every contract column, missing ones as null.

    It also has file_row_number, the row's position in its file from 0 (macro source_row_number): the
    Parquet reader numbers rows while it scans in parallel, where `row_number() over ()` made the scan
    single-threaded (D32); a CSV file is numbered in scan order, as before.
    """
    path = f"{{{{ var('raw_dir', env_var('HEALTH_RAW_DIR', 'data/demo')) }}}}/{table.source}/{table.name}"

    def union(types: dict[str, str], reader: str) -> str:
        template = ", ".join(f"null::{types[c.type]} as {c.name}" for c in table.columns)
        return (
            f"(select * from (select {template}, null::{types['timestamp']} as {LOADED_AT}, "
            f"null::bigint as file_row_number where false) "
            f"union all by name select * from {reader})"
        )

    text = {t: "varchar" for t in PARQUET_TYPES}
    csv = f"read_csv('{path}.csv', all_varchar = true, header = true)"
    return (
        "{% if var('raw_format', env_var('HEALTH_RAW_FORMAT', 'parquet')) == 'csv' %}"
        + union(text, f"(select *, row_number() over () - 1 as file_row_number from {csv})")
        + "{% else %}"
        + union(PARQUET_TYPES, f"read_parquet('{path}.parquet', file_row_number = true)")
        + "{% endif %}"
    )


def _column_tests(table: Table, column) -> list:
    # Raw tests warn: staging quarantines the rows that break them and counts them.
    tests: list = []
    if column.required:
        tests.append({"not_null": {"config": {"severity": "warn"}}})
    if column.unique:
        tests.append({"unique": {"config": {"severity": "warn"}}})
    if column.values:
        tests.append(
            {"accepted_values": {"arguments": {"values": list(column.values)}, "config": {"severity": "warn"}}}
        )
    return tests


def _column_description(column) -> str:
    parts = [column.description] if column.description else []
    parts.append(f"Contract type {column.type}" + (", required" if column.required else ""))
    if column.unique:
        parts.append("unique")
    if column.references:
        parts.append(f"references {column.references}")
    if column.values:
        parts.append("one of " + ", ".join(column.values))
    if column.range:
        parts.append(f"in [{column.range[0]}, {column.range[1]}]")
    if column.pii:
        parts.append("personal data: never leaves staging")
    return "; ".join(parts) + "."


def render_source(source: str, tables: list[Table]) -> str:
    doc = {
        "version": 2,
        "sources": [
            {
                "name": source,
                "description": SOURCE_DESCRIPTIONS.get(source, source),
                "schema": f"raw_{source}",
                "config": {
                    "loaded_at_field": f"cast({LOADED_AT} as timestamp)",
                    "freshness": {"warn_after": {"count": 2, "period": "day"}},
                },
                "tables": [
                    {
                        "name": t.name,
                        "description": f"Raw {t.qualified_name}: {t.grain}.",
                        "config": {"meta": {"external_location": external_location(t)}},
                        "columns": [
                            {"name": c.name, "description": _column_description(c), "data_tests": _column_tests(t, c)}
                            if _column_tests(t, c)
                            else {"name": c.name, "description": _column_description(c)}
                            for c in t.columns
                        ],
                    }
                    for t in tables
                ],
            }
        ],
    }
    return HEADER + yaml.safe_dump(doc, sort_keys=False, width=10_000, allow_unicode=True)


def source_files(project_dir: Path = PROJECT_DIR) -> dict[Path, str]:
    """Every generated sources file and its expected content."""
    by_source: dict[str, list[Table]] = {}
    for table in load_contract().values():
        by_source.setdefault(table.source, []).append(table)
    return {
        project_dir / "models" / "staging" / source / f"_{source}__sources.yml": render_source(source, tables)
        for source, tables in by_source.items()
    }


def write_sources(project_dir: Path = PROJECT_DIR) -> list[Path]:
    written = []
    for path, text in source_files(project_dir).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written
