"""The end-of-run summary: what a customer-success lead acts on, read from the published tables.

The queries here (customers by grade, the customers most at risk, new alerts)
are shared with the HTML report, so both always say the same thing.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from customer_health.publish import COLUMNS as C

AT_RISK = 10


def exists(con, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


def columns(con, table: str, schema: str = "main") -> set[str]:
    return {r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
        [schema, table]).fetchall()}


def factor_label(key: str | None) -> str:
    """A factor key in words: active_days_30d -> "active days (30 days)", mrr_change_90d_pct -> "mrr change (90 days, %)"."""
    text = re.sub(r"_(\d+)d(_pct)?$", lambda m: f" ({m.group(1)} days{', %' if m.group(2) else ''})", key or "")
    return text.replace("_pct", " %").replace("_", " ")


def _reasons(row: dict, n: int = 2) -> str:
    parts = []
    for key, points in zip(C["pull_down_factors"][:n], C["pull_down_points"][:n]):
        if row.get(key):
            pts = row.get(points)
            parts.append(factor_label(row[key]) + (f" {pts:+.0f}" if pts is not None else ""))
    return ", ".join(parts)


def latest_as_of(con):
    return con.execute(f"select max({C['as_of_date']}) from main.mart_customer_health").fetchone()[0]


def grade_table(con) -> list[dict]:
    """Customers by grade and colour, with their MRR."""
    rows = con.execute(
        f"""
        select {C['grade']} as grade, {C['colour']} as colour, count(*) as customers,
               cast(sum({C['mrr']}) as double) as mrr
        from main.mart_customer_health
        where {C['is_customer']}
        group by all
        order by grade nulls last, colour
        """
    ).fetchall()
    return [dict(zip(("grade", "colour", "customers", "mrr"), r)) for r in rows]


def at_risk(con, n: int = AT_RISK) -> list[dict]:
    """The n graded customers with the lowest score (ties: the larger MRR first), with what pulls them down."""
    cols = columns(con, "mart_customer_health")
    graded = f"and {C['is_graded']}" if C["is_graded"] in cols else ""
    wanted = [C["account_id"], C["account_name"], C["owner"], C["value_tier"], C["lifecycle_stage"], C["mrr"],
              C["score"], C["grade"], C["colour"], C["score_change"], *C["pull_down_factors"],
              *C["pull_down_points"]]
    select = ", ".join(f"cast({c} as double) as {c}" if c in (C["mrr"],) else c for c in wanted if c in cols)
    cur = con.execute(
        f"""
        select {select}
        from main.mart_customer_health
        where {C['is_customer']} and {C['score']} is not null {graded}
        order by {C['score']}, {C['mrr']} desc, {C['account_id']}
        limit {int(n)}
        """
    )
    names = [d[0] for d in cur.description]
    out = []
    for r in cur.fetchall():
        row = dict(zip(names, r))
        row["reasons"] = _reasons(row)
        out.append(row)
    return out


def new_alerts(con) -> tuple[object, list[dict]]:
    """The alerts raised on the latest as-of date, most severe first."""
    if not exists(con, "main", "fct_health_alerts"):
        return None, []
    latest = latest_as_of(con) if exists(con, "main", "mart_customer_health") else None
    if latest is None:
        latest = con.execute(f"select max({C['as_of_date']}) from main.fct_health_alerts").fetchone()[0]
    has_name = exists(con, "main", "mart_customer_health")
    join = (f"left join main.mart_customer_health as m on a.{C['account_id']} = m.{C['account_id']}"
            if has_name else "")
    name = f"m.{C['account_name']}" if has_name else f"a.{C['account_id']}"
    mrr = f"cast(m.{C['mrr']} as double)" if has_name else "null"
    cur = con.execute(
        f"""
        select {name} as account, {mrr} as mrr, a.{C['alert_type']} as alert_type, a.{C['severity']} as severity,
               a.{C['detail']} as detail
        from main.fct_health_alerts as a {join}
        where a.{C['as_of_date']} = ?
        order by case a.{C['severity']} when 'high' then 0 when 'medium' then 1 else 2 end, mrr desc nulls last,
                 account
        """,
        [latest],
    )
    names = [d[0] for d in cur.description]
    return latest, [dict(zip(names, r)) for r in cur.fetchall()]


def _money(value) -> str | None:
    return None if value is None else f"{float(value):,.0f}"


def _table(rows: list[tuple], headers: list[str]) -> str:
    def cell(v):
        if v is None:
            return ""
        if isinstance(v, float):
            return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.1f}"
        return str(v)

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    lines = ["  " + "  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    return "\n".join(lines)


def summarize(db_path: Path, outputs: dict[str, str] | None = None, notes: list[str] | None = None,
              staging_db: Path | None = None) -> str:
    """The summary of the public tables in `db_path` (the published copy or the build file); the raw-data
    lines come from `staging_db` (the build file: staging is not published), default `db_path`."""
    out: list[str] = []
    with duckdb.connect(str(db_path), read_only=True) as con:
        if exists(con, "main", "mart_customer_health"):
            out.append(_health_summary(con))
    with duckdb.connect(str(staging_db or db_path), read_only=True) as con:
        if exists(con, "staging", "raw_reconciliation"):
            out.append(_raw_summary(con))
    if notes:
        out += notes
    if outputs:
        out.append("Where the outputs are:")
        width = max(len(k) for k in outputs)
        out += [f"  {name:<{width}}  {where}" for name, where in outputs.items()]
    return "\n".join(out)


def _health_summary(con) -> str:
    out = [f"Customer health as of {latest_as_of(con)}"]
    grades = grade_table(con)
    total = sum(g["customers"] for g in grades) or 1
    out.append("Customers by grade and colour:")
    out.append(_table([(g["grade"] or "-", g["colour"], g["customers"], f"{100 * g['customers'] / total:.0f}%",
                        _money(g["mrr"])) for g in grades], ["grade", "colour", "customers", "share", "mrr"]))
    risky = at_risk(con)
    out.append(f"The {len(risky)} customers most at risk (lowest score first):" if risky
               else "No graded customer to rank by risk.")
    if risky:
        out.append(_table(
            [(r.get(C["account_name"]), r.get(C["owner"]), _money(r.get(C["mrr"])), r.get(C["score"]), r.get(C["grade"]),
              r.get(C["score_change"]), r["reasons"]) for r in risky],
            ["account", "owner", "mrr", "score", "grade", "30d change", "pulling it down (points)"],
        ))
    latest, alerts = new_alerts(con)
    if latest is not None:
        if not alerts:
            out.append(f"No new alerts on {latest}.")
        else:
            by_type: dict[tuple, int] = {}
            for a in alerts:
                by_type[(a["alert_type"], a["severity"])] = by_type.get((a["alert_type"], a["severity"]), 0) + 1
            out.append(f"New alerts on {latest}: {len(alerts)}")
            out.append(_table([(t, s, n) for (t, s), n in sorted(by_type.items(), key=lambda kv: -kv[1])],
                              ["alert", "severity", "alerts"]))
            out.append(f"  the {min(10, len(alerts))} most severe (then largest MRR), all in fct_health_alerts:")
            out.append(_table([(a["account"], _money(a["mrr"]), a["alert_type"], a["severity"], a["detail"])
                               for a in alerts[:10]], ["account", "mrr", "alert", "severity", "detail"]))
    return "\n".join(out)


def _raw_summary(con) -> str:
    out = []
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
    return "\n".join(out)
