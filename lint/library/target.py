"""Stand-in for dbt's `target` for linting only."""

type = "duckdb"
schema = "main"
name = "duckdb"
database = "health"
