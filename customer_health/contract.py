"""The raw data contract, read from the project's one copy (contract/raw_contract.yml)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from customer_health import CONTRACT_PATH


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = False
    unique: bool = False
    references: str | None = None  # "source.table.column"
    values: tuple[str, ...] | None = None
    range: tuple[float, float] | None = None
    pii: bool = False
    description: str = ""


@dataclass(frozen=True)
class Table:
    source: str
    name: str
    grain: str
    columns: tuple[Column, ...] = field(default_factory=tuple)

    @property
    def qualified_name(self) -> str:
        return f"{self.source}.{self.name}"

    @property
    def key(self) -> tuple[str, ...]:
        """The columns that identify a row: the unique column, else all required string columns."""
        unique = tuple(c.name for c in self.columns if c.unique)
        if unique:
            return unique
        return tuple(c.name for c in self.columns if c.required and c.type == "string")

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.qualified_name} has no column {name!r}")


@lru_cache(maxsize=4)
def load_contract(path: Path | str = CONTRACT_PATH) -> dict[str, Table]:
    """All contract tables, keyed by 'source.table', in contract order."""
    with open(path, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    tables: dict[str, Table] = {}
    for source, source_tables in doc["sources"].items():
        for name, spec in source_tables.items():
            columns = []
            for col_name, col in spec["columns"].items():
                rng = col.get("range")
                columns.append(
                    Column(
                        name=col_name,
                        type=col["type"],
                        required=bool(col.get("required", False)),
                        unique=bool(col.get("unique", False)),
                        references=col.get("references"),
                        values=tuple(col["values"]) if col.get("values") else None,
                        range=(rng[0], rng[1]) if rng else None,
                        pii=bool(col.get("pii", False)),
                        description=str(col.get("description", "")),
                    )
                )
            tables[f"{source}.{name}"] = Table(
                source=source, name=name, grain=" ".join(str(spec.get("grain", "")).split()), columns=tuple(columns)
            )
    return tables
