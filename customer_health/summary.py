"""The end-of-run summary: what a customer-success lead acts on, read from the warehouse."""

from __future__ import annotations

from pathlib import Path

import duckdb


def _exists(con, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


def _table(rows: list[tuple], headers: list[str]) -> str:
    cells = [[("" if v is None else f"{v:,.1f}" if isinstance(v, float) else str(v)) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    lines = ["  " + "  ".join(h.ljust(w) for h, w in zip(headers, widths))]
    lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def summarize(db_path: Path, outputs: dict[str, str] | None = None) -> str:
    out: list[str] = []
    with duckdb.connect(str(db_path), read_only=True) as con:
        if _exists(con, "main", "mart_customer_health"):
            out.append(_health_summary(con))
        if _exists(con, "staging", "raw_reconciliation"):
            raw, staged, superseded, quarantined = con.execute(
                "select sum(raw_rows), sum(staged_rows), sum(superseded_rows), sum(quarantined_rows)"
                " from staging.raw_reconciliation"
            ).fetchone()
            out.append(
                f"Raw data: {raw:,} rows read, {staged:,} staged, {superseded:,} superseded by a later version, "
                f"{quarantined:,} quarantined."
            )
            reasons = con.execute(
                "select source_table, reason_code, column_name, count(*) from staging.quarantined_rows"
                " group by all order by 4 desc, 1, 2, 3 limit 10"
            ).fetchall()
            if reasons:
                out.append("Quarantined rows by reason (top 10; all in staging.quarantined_rows):")
                out.append(_table(reasons, ["table", "reason", "column", "rows"]))
    if outputs:
        out.append("Outputs:")
        out += [f"  {name:<12} {where}" for name, where in outputs.items()]
    return "\n".join(out)


def _health_summary(con) -> str:
    out = []
    latest = con.execute("select max(as_of_date) from main.mart_customer_health").fetchone()[0]
    out.append(f"Customer health as of {latest}")
    grades = con.execute(
        """
        select coalesce(grade, '-') as grade, colour, count(*) as customers, round(sum(mrr), 0) as mrr
        from main.mart_customer_health
        where is_customer
        group by all
        order by grade, colour
        """
    ).fetchall()
    out.append(_table(grades, ["grade", "colour", "customers", "mrr"]))
    at_risk = con.execute(
        """
        select account_name, csm_owner, round(mrr, 0), round(health_score, 1), grade, colour,
               concat_ws(', ', factor_pulling_down_1, factor_pulling_down_2)
        from main.mart_customer_health
        where is_customer and health_score is not null
        order by health_score, mrr desc
        limit 10
        """
    ).fetchall()
    out.append("The ten customers most at risk:")
    out.append(_table(at_risk, ["account", "owner", "mrr", "score", "grade", "colour", "pulling it down"]))
    if _exists(con, "main", "fct_health_alerts"):
        alerts = con.execute(
            """
            select alert_type, severity, count(*) from main.fct_health_alerts
            where as_of_date = (select max(as_of_date) from main.fct_health_alerts)
            group by all order by 3 desc
            """
        ).fetchall()
        out.append("New alerts on the latest date:" if alerts else "No new alerts on the latest date.")
        if alerts:
            out.append(_table(alerts, ["alert", "severity", "accounts"]))
    return "\n".join(out)
