"""Stand-in for dbt's `adapter` for linting only: a dispatched macro renders as a function call."""


def dispatch(macro_name, macro_namespace=None):
    def render(*args, **kwargs):
        return f"{macro_name}({', '.join(str(a) for a in args)})"

    return render


def quote(identifier):
    return f'"{identifier}"'
