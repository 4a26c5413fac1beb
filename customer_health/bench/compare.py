"""Check a baseline's result against the warehouse: the same scores, grades and factor values.

A result is a Parquet file with one row per account (the contract of `customer_health.bench.floor`):

    account_id, as_of_date, health_score, score_coverage, grade, colour, <factor_key>...

with one column per factor holding the factor's metric value. It is compared with the warehouse's
`main.mart_customer_health` (its as-of date must be `as_of`) and the `main.fct_health_factors` rows
of that date. Equal means:

- the same accounts (no account missing, none extra, one row each), all dated `as_of`;
- health_score within 0.01 points and score_coverage within 0.01 (null only where null);
- the same grade and colour (a missing grade equals a missing grade);
- every factor value of fct_health_factors (the factors weighted in the account's set) equal to the
  result's column of that factor within 1e-6 relative (1e-9 absolute near 0); nulls equal nulls.

The warehouse file is opened read-only.

    python -m customer_health.bench.compare RESULT WAREHOUSE AS_OF
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import duckdb

SCORE_COLUMNS = ["account_id", "as_of_date", "health_score", "score_coverage", "grade", "colour"]
SCORE_TOLERANCE = 0.01
VALUE_REL_TOLERANCE = 1e-6
VALUE_ABS_TOLERANCE = 1e-9
EXAMPLES = 5


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _values_differ(a: str, b: str) -> str:
    """SQL: true when two doubles differ beyond the factor tolerance (nulls equal only nulls)."""
    return (
        f"(({a} is null) <> ({b} is null) or abs({a} - {b}) > greatest("
        f"{VALUE_REL_TOLERANCE} * greatest(abs({a}), abs({b})), {VALUE_ABS_TOLERANCE}))"
    )


def compare_to_warehouse(result: Path, warehouse: Path, as_of: date) -> dict:
    """Compare a result file with the warehouse as of `as_of`; returns the figures and `equal`."""
    as_of = date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    result, warehouse = Path(result), Path(warehouse)
    if not result.is_file():
        raise FileNotFoundError(f"result not found: {result}")
    if not warehouse.is_file():
        raise FileNotFoundError(f"warehouse not found: {warehouse}")
    day = f"date '{as_of.isoformat()}'"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute(f"create temp table result as select * from read_parquet({_quote(str(result))})")
        result_columns = [row[0] for row in con.execute("describe result").fetchall()]
        absent = [name for name in SCORE_COLUMNS if name not in result_columns]
        if absent:
            raise ValueError(f"{result}: columns missing: {', '.join(absent)}")
        mart_dates = [row[0] for row in con.execute(
            "select distinct as_of_date from main.mart_customer_health order by 1").fetchall()]
        con.execute(f"""
            create temp table wh_health as
            select account_id, health_score, score_coverage, grade, colour
            from main.mart_customer_health
            where as_of_date = {day}
        """)
        con.execute(f"""
            create temp table wh_factors as
            select account_id, factor_key, metric_value
            from main.fct_health_factors
            where as_of_date = {day}
        """)
        factor_keys = [row[0] for row in con.execute(
            "select distinct factor_key from wh_factors order by 1").fetchall()]
        missing_columns = [key for key in factor_keys if key not in result_columns]
        present_keys = [key for key in factor_keys if key in result_columns]

        def one(sql: str):
            return con.execute(sql).fetchone()

        def records(sql: str) -> list[dict]:
            cursor = con.execute(sql)
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]

        accounts, = one("select count(*) from wh_health")
        result_rows, = one("select count(*) from result")
        duplicate_accounts, = one(
            "select count(*) from (select account_id from result group by 1 having count(*) > 1)")
        missing_accounts, = one("select count(*) from wh_health anti join result using (account_id)")
        extra_accounts, = one("select count(distinct account_id) from result anti join wh_health using (account_id)")
        wrong_dates, = one(f"select count(*) from result where as_of_date is distinct from {day}")

        con.execute(f"""
            create temp table score_pairs as
            select
                wh.account_id,
                wh.health_score as wh_score, r.health_score as result_score,
                wh.score_coverage as wh_coverage, r.score_coverage as result_coverage,
                wh.grade as wh_grade, r.grade as result_grade,
                wh.colour as wh_colour, r.colour as result_colour,
                (wh.health_score is null) <> (r.health_score is null)
                    or abs(wh.health_score - r.health_score) > {SCORE_TOLERANCE} as score_differs,
                (wh.score_coverage is null) <> (r.score_coverage is null)
                    or abs(wh.score_coverage - r.score_coverage) > {SCORE_TOLERANCE} as coverage_differs,
                wh.grade is distinct from r.grade as grade_differs,
                wh.colour is distinct from r.colour as colour_differs
            from wh_health as wh
            inner join result as r using (account_id)
        """)
        score_mismatches, max_score_diff, coverage_mismatches, grade_mismatches, colour_mismatches = one("""
            select
                count(case when score_differs then 1 end),
                coalesce(max(abs(wh_score - result_score)), 0),
                count(case when coverage_differs then 1 end),
                count(case when grade_differs then 1 end),
                count(case when colour_differs then 1 end)
            from score_pairs
        """)
        examples = records(f"""
            select account_id, wh_score, result_score, wh_coverage, result_coverage, wh_grade, result_grade,
                wh_colour, result_colour
            from score_pairs
            where score_differs or coverage_differs or grade_differs or colour_differs
            order by account_id
            limit {EXAMPLES}
        """)

        factor_mismatches: dict[str, int] = {}
        factor_values_compared = 0
        if present_keys:
            casts = ", ".join(f'cast("{key}" as double) as "{key}"' for key in present_keys)
            con.execute(f"""
                create temp table result_factors as
                select account_id, factor_key, metric_value
                from (select account_id, {casts} from result)
                unpivot include nulls (metric_value for factor_key in (columns(* exclude (account_id))))
            """)
            differs = _values_differ("wh.metric_value", "r.metric_value")
            con.execute(f"""
                create temp table factor_pairs as
                select wh.account_id, wh.factor_key, wh.metric_value as wh_value, r.metric_value as result_value,
                    {differs} as differs
                from wh_factors as wh
                inner join result_factors as r using (account_id, factor_key)
            """)
            factor_values_compared, = one("select count(*) from factor_pairs")
            factor_mismatches = dict(con.execute(
                "select factor_key, count(*) from factor_pairs where differs group by 1 order by 1").fetchall())
            examples += records(f"""
                select account_id, factor_key, wh_value, result_value
                from factor_pairs where differs order by factor_key, account_id limit {EXAMPLES}
            """)
        for key in missing_columns:
            factor_mismatches[key], = one(f"select count(*) from wh_factors where factor_key = {_quote(key)}")

    equal = (
        mart_dates == [as_of]
        and accounts > 0
        and missing_accounts == 0
        and extra_accounts == 0
        and duplicate_accounts == 0
        and wrong_dates == 0
        and score_mismatches == 0
        and coverage_mismatches == 0
        and grade_mismatches == 0
        and colour_mismatches == 0
        and not missing_columns
        and not any(factor_mismatches.values())
    )
    return {
        "as_of": as_of.isoformat(),
        "warehouse_as_of": [d.isoformat() for d in mart_dates],
        "accounts": accounts,
        "result_rows": result_rows,
        "missing_accounts": missing_accounts,
        "extra_accounts": extra_accounts,
        "duplicate_accounts": duplicate_accounts,
        "wrong_as_of_dates": wrong_dates,
        "score_mismatches": score_mismatches,
        "max_score_diff": float(max_score_diff),
        "coverage_mismatches": coverage_mismatches,
        "grade_mismatches": grade_mismatches,
        "colour_mismatches": colour_mismatches,
        "factor_values_compared": factor_values_compared,
        "missing_factor_columns": missing_columns,
        "factor_mismatches": factor_mismatches,
        "examples": examples,
        "equal": equal,
    }


def verdict(figures: dict) -> str:
    """The one-line summary of compare_to_warehouse's figures."""
    mismatched = {k: v for k, v in figures["factor_mismatches"].items() if v}
    dates = ", ".join(figures["warehouse_as_of"]) or "no date"
    return (
        f"{'EQUAL' if figures['equal'] else 'DIFFERENT'}: {figures['accounts']} accounts as of {figures['as_of']} "
        f"(result {figures['result_rows']} rows, {figures['missing_accounts']} missing, "
        f"{figures['extra_accounts']} extra), score mismatches {figures['score_mismatches']} "
        f"(max diff {figures['max_score_diff']:.2g}), grade mismatches {figures['grade_mismatches']}, "
        f"colour {figures['colour_mismatches']}, coverage {figures['coverage_mismatches']}, "
        f"factor values {figures['factor_values_compared']} compared, mismatches "
        f"{sum(mismatched.values())}{' ' + str(mismatched) if mismatched else ''}"
        f"{', missing columns ' + str(figures['missing_factor_columns']) if figures['missing_factor_columns'] else ''}"
        f"{'' if figures['warehouse_as_of'] == [figures['as_of']] else ', warehouse as of ' + dates}"
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[0] in ("-h", "--help"):
        print("usage: python -m customer_health.bench.compare RESULT WAREHOUSE AS_OF", file=sys.stderr)
        return 2
    try:
        figures = compare_to_warehouse(Path(args[0]), Path(args[1]), date.fromisoformat(args[2]))
    except (OSError, ValueError, duckdb.Error) as exc:
        print(f"compare failed: {exc}", file=sys.stderr)
        return 2
    print(verdict(figures))
    if not figures["equal"]:
        for example in figures["examples"]:
            print(f"  {example}", file=sys.stderr)
    return 0 if figures["equal"] else 1


if __name__ == "__main__":
    sys.exit(main())
