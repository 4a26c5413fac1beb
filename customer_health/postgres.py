"""PostgreSQL connection settings, from the environment only (never from a file).

The same variables as the dbt profile (profiles/profiles.yml), with the same
defaults, so that `health load` writes where `dbt build --target postgres` reads:

| variable                   | default            |
|----------------------------|--------------------|
| HEALTH_PG_HOST             | localhost          |
| HEALTH_PG_PORT             | 5432               |
| HEALTH_PG_USER             | health             |
| HEALTH_PG_PASSWORD         | (none: libpq's PGPASSWORD or ~/.pgpass apply) |
| HEALTH_PG_DATABASE         | health             |
| HEALTH_PG_SCHEMA           | analytics (where the marts go) |
| HEALTH_PG_REPORTING_ROLE   | health_reporting (read-only role granted the marts; empty: grant nothing) |
"""

from __future__ import annotations

import os
from collections.abc import Mapping

DEFAULTS = {
    "HEALTH_PG_HOST": "localhost",
    "HEALTH_PG_PORT": "5432",
    "HEALTH_PG_USER": "health",
    "HEALTH_PG_PASSWORD": "",
    "HEALTH_PG_DATABASE": "health",
    "HEALTH_PG_SCHEMA": "analytics",
}
REPORTING_ROLE_VAR = "HEALTH_PG_REPORTING_ROLE"
DEFAULT_REPORTING_ROLE = "health_reporting"


class PostgresError(Exception):
    """A connection or load problem, reported as one line that names the server (never the password)."""


def settings(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The HEALTH_PG_* settings in force: the environment over the profile's defaults."""
    env = os.environ if env is None else env
    return {key: env.get(key) or default for key, default in DEFAULTS.items()}


def connect_kwargs(env: Mapping[str, str] | None = None) -> dict:
    """Keyword arguments for psycopg2.connect (the password only when one is set)."""
    s = settings(env)
    try:
        port = int(s["HEALTH_PG_PORT"])
    except ValueError:
        raise PostgresError(f"HEALTH_PG_PORT is not a port number: {s['HEALTH_PG_PORT']!r}") from None
    kwargs = {
        "host": s["HEALTH_PG_HOST"],
        "port": port,
        "user": s["HEALTH_PG_USER"],
        "dbname": s["HEALTH_PG_DATABASE"],
        "application_name": "customer_health",
        "connect_timeout": 15,
    }
    if s["HEALTH_PG_PASSWORD"]:
        kwargs["password"] = s["HEALTH_PG_PASSWORD"]
    return kwargs


def describe(env: Mapping[str, str] | None = None) -> str:
    """user@host:port/database, for messages (no password)."""
    s = settings(env)
    return f"{s['HEALTH_PG_USER']}@{s['HEALTH_PG_HOST']}:{s['HEALTH_PG_PORT']}/{s['HEALTH_PG_DATABASE']}"


def connect(env: Mapping[str, str] | None = None):
    """A psycopg2 connection (not autocommit, UTF-8, session time zone UTC)."""
    import psycopg2

    try:
        con = psycopg2.connect(**connect_kwargs(env))
    except psycopg2.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise PostgresError(f"cannot connect to PostgreSQL {describe(env)}: {first}") from None
    con.set_client_encoding("UTF8")
    with con.cursor() as cur:
        cur.execute("set time zone 'UTC'")
    con.commit()
    return con


def reporting_role(env: Mapping[str, str] | None = None) -> str:
    """The read-only reporting role's name ('' when none is wanted)."""
    env = os.environ if env is None else env
    return env.get(REPORTING_ROLE_VAR, DEFAULT_REPORTING_ROLE).strip()
