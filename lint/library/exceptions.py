"""Stand-in for dbt's `exceptions` for linting only."""


def raise_compiler_error(message):
    return ""


def warn(message):
    return ""
