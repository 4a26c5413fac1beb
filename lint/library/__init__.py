"""Stand-ins for dbt's context functions, for sqlfluff's jinja templater only."""

import datetime as _datetime


def env_var(name, default=""):
    return default


class _Column:
    def values(self):
        return [None]


class _Table:
    columns = [_Column()]
    rows = []


def run_query(sql):
    return _Table()


def log(message, info=False):
    return ""


# dbt's run_started_at (a datetime in UTC); any fixed instant renders the same SQL shape.
run_started_at = _datetime.datetime(2026, 1, 1, tzinfo=_datetime.timezone.utc)
