"""The health report: one self-contained static HTML page, read from the published tables.

Charts are drawn with matplotlib and inlined as SVG (text kept as text, no
external font, script, stylesheet or image), so the page opens from a file, a
mail attachment or a shared drive, with no server and no internet.
"""

from __future__ import annotations

import html
import io
import os
import re
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from customer_health.publish import COLUMNS as C
from customer_health.summary import at_risk, exists, factor_label, grade_table, latest_as_of, new_alerts
from customer_health.validate import reports_dir

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
GRADE_COLOURS = {"A": "#1a9850", "B": "#91cf60", "C": "#f6c141", "D": "#d73027", None: "#bdbdbd"}
COLOUR_HEX = {"green": "#1a9850", "yellow": "#f6c141", "red": "#d73027", "grey": "#9e9e9e"}
INK, MUTED, GRID = "#1f2933", "#616e7c", "#e4e7eb"
SEGMENT_ORDER = {
    "value_tier": ["enterprise", "mid_market", "smb"],
    "lifecycle_stage": ["onboarding", "active", "dormant", "churned", "prospect"],
}


def report_path() -> Path:
    return reports_dir() / "health_report.html"


# --------------------------------------------------------------------------- charts


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({
        "svg.fonttype": "none",  # text stays text: small, sharp, selectable
        "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial"],
        "font.size": 9,
        "axes.edgecolor": GRID,
        "axes.labelcolor": MUTED,
        "axes.titlesize": 10,
        "axes.titleweight": "bold",
        "axes.titlecolor": INK,
        "axes.titlelocation": "left",
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.color": GRID,
        "grid.linewidth": 0.8,
        "xtick.color": MUTED,
        "ytick.color": MUTED,
        "legend.frameon": False,
        "legend.fontsize": 8,
        "svg.hashsalt": "customer-health",  # deterministic ids
    })
    return plt


def _svg(fig, name: str) -> str:
    plt = _plt()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]  # drop the XML prolog and doctype: the SVG sits inside HTML
    # Responsive: keep the viewBox, let CSS size it.
    svg = re.sub(r'<svg([^>]*?) width="[^"]+" height="[^"]+"', r'<svg\1', svg, count=1)
    return svg.replace("<svg", f'<svg class="chart-svg" role="img" aria-label="{html.escape(name)}"', 1)


def _month_axis(ax, narrow: bool = False):
    import matplotlib.dates as mdates

    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 7) if narrow else (1, 4, 7, 10)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %y" if narrow else "%b %Y"))
    ax.xaxis.set_minor_locator(mdates.MonthLocator())


def chart_grades_by_segment(con) -> str | None:
    """Customers by segment (value tier, lifecycle stage), stacked by grade."""
    plt = _plt()
    cols = [c for c in ("value_tier", "lifecycle_stage") if c in _cols(con, "mart_customer_health")]
    if not cols:
        return None
    frames = {}
    for seg in cols:
        frames[seg] = con.execute(
            f"""
            select coalesce({C[seg]}, 'unknown') as segment, {C['grade']} as grade, count(*) as n
            from main.mart_customer_health
            where {C['is_customer']} or {C[seg]} in ('churned', 'prospect')
            group by all
            """ if seg == "lifecycle_stage" else f"""
            select coalesce({C[seg]}, 'none') as segment, {C['grade']} as grade, count(*) as n
            from main.mart_customer_health
            where {C['is_customer']}
            group by all
            """
        ).fetchall()
    cols = [seg for seg in cols if frames[seg]]
    if not cols:
        return None
    fig, axes = plt.subplots(1, len(cols), figsize=(10, 3.0), squeeze=False)
    grades = ["A", "B", "C", "D", None]
    for ax, seg in zip(axes[0], cols):
        rows = frames[seg]
        present = {r[0] for r in rows}
        order = [s for s in SEGMENT_ORDER.get(seg, []) if s in present] + sorted(
            present - set(SEGMENT_ORDER.get(seg, [])))
        left = [0] * len(order)
        for g in grades:
            vals = [sum(r[2] for r in rows if r[0] == s and r[1] == g) for s in order]
            if not any(vals):
                continue
            ax.barh(order, vals, left=left, color=GRADE_COLOURS[g], label=g or "no grade", height=0.62)
            for i, v in enumerate(vals):
                if v and v >= max(sum(r[2] for r in rows) * 0.04, 1):
                    ax.text(left[i] + v / 2, i, f"{v:,}", ha="center", va="center", fontsize=7.5,
                            color="white" if g in ("A", "D") else INK)
            left = [a + b for a, b in zip(left, vals)]
        ax.invert_yaxis()
        ax.set_title("by value tier (customers)" if seg == "value_tier" else "by lifecycle stage (accounts)")
        ax.grid(axis="y", visible=False)
        ax.set_yticks(range(len(order)), [s.replace("_", " ") for s in order])
        ax.set_xlabel("accounts")
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, [f"grade {lab}" if lab != "no grade" else lab for lab in labels], loc="lower center",
               ncol=5, bbox_to_anchor=(0.5, -0.08))
    fig.tight_layout()
    return _svg(fig, "Accounts by grade and segment")


def chart_risk_history(con, accounts: list[dict], bands: list[tuple]) -> str | None:
    """Score history of the customers most at risk, over the bands."""
    if not accounts or not exists(con, "main", "fct_health_history"):
        return None
    plt = _plt()
    ids = [a[C["account_id"]] for a in accounts]
    names = {a[C["account_id"]]: a.get(C["account_name"]) or a[C["account_id"]] for a in accounts}
    rows = con.execute(
        f"""
        select {C['account_id']}, {C['as_of_date']}, {C['score']}
        from main.fct_health_history
        where {C['account_id']} in (select unnest(?)) and {C['score']} is not null
        order by 1, 2
        """,
        [ids],
    ).fetchall()
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(10, 3.6))
    for lo, hi, colour in bands:
        ax.axhspan(lo, hi, color=COLOUR_HEX.get(colour, "#eeeeee"), alpha=0.08, lw=0)
    cmap = plt.get_cmap("tab10")
    for i, acc in enumerate(ids):
        pts = [(r[1], r[2]) for r in rows if r[0] == acc]
        if not pts:
            continue
        xs, ys = zip(*pts)
        ax.plot(xs, ys, color=cmap(i % 10), lw=1.4, label=str(names[acc])[:28])
        ax.plot(xs[-1:], ys[-1:], "o", color=cmap(i % 10), ms=3.5)
    ax.set_ylim(0, 100)
    ax.set_ylabel("health score")
    _month_axis(ax)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7.5)
    fig.tight_layout()
    return _svg(fig, "Score history of the customers most at risk")


def _kpis(con):
    if not exists(con, "main", "mart_company_kpis"):
        return None
    import pandas as pd

    frame = con.execute("select * from main.mart_company_kpis order by month").df()
    if frame.empty:
        return None
    frame["month"] = pd.to_datetime(frame["month"])
    return frame


def chart_mrr_movements(kpis) -> str | None:
    needed = {"new_mrr", "expansion_mrr", "reactivation_mrr", "contraction_mrr", "churned_mrr"}
    if kpis is None or not needed <= set(kpis.columns):
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 3.4))
    x = kpis["month"]
    width = 20
    up = [("new_mrr", "new", "#2166ac"), ("expansion_mrr", "expansion", "#67a9cf"),
          ("reactivation_mrr", "reactivation", "#a6dba0")]
    down = [("contraction_mrr", "contraction", "#f4a582"), ("churned_mrr", "churn", "#b2182b")]
    bottom = [0.0] * len(kpis)
    for col, label, colour in up:
        vals = kpis[col].fillna(0).tolist()
        ax.bar(x, vals, width=width, bottom=bottom, color=colour, label=label)
        bottom = [a + b for a, b in zip(bottom, vals)]
    bottom = [0.0] * len(kpis)
    for col, label, colour in down:
        vals = [-v for v in kpis[col].fillna(0).tolist()]
        ax.bar(x, vals, width=width, bottom=bottom, color=colour, label=label)
        bottom = [a + b for a, b in zip(bottom, vals)]
    net = (kpis["new_mrr"].fillna(0) + kpis["expansion_mrr"].fillna(0) + kpis["reactivation_mrr"].fillna(0)
           - kpis["contraction_mrr"].fillna(0) - kpis["churned_mrr"].fillna(0))
    ax.plot(x, net, color=INK, lw=1.5, marker="o", ms=3, label="net new MRR")
    ax.axhline(0, color=MUTED, lw=0.8)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(_money))
    ax.set_ylabel("MRR per month")
    _month_axis(ax)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=6)
    fig.tight_layout()
    return _svg(fig, "MRR movements month by month")


def _money(v, _pos=None) -> str:
    a = abs(v)
    s = f"{a / 1e6:.1f}M" if a >= 1e6 else f"{a / 1e3:.0f}k" if a >= 1e3 else f"{a:.0f}"
    return ("−" if v < 0 else "") + s


def _lines(kpis, series: list[tuple[str, str, str]], title: str, ylabel: str, ylim=None, ref=None) -> str | None:
    if kpis is None:
        return None
    series = [s for s in series if s[0] in kpis.columns and kpis[s[0]].notna().any()]
    if not series:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.9, 3.0))
    if ref is not None:
        ax.axhline(ref, color=MUTED, lw=0.8, ls="--")
    for col, label, colour in series:
        ax.plot(kpis["month"], kpis[col], color=colour, lw=1.6, marker="o", ms=2.5, label=label)
    if ylim:
        ax.set_ylim(*ylim)
    ax.set_ylabel(ylabel)
    _month_axis(ax, narrow=True)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=len(series))
    fig.tight_layout()
    return _svg(fig, title)


def chart_backtest(con) -> str | None:
    if not exists(con, "main", "mart_health_backtest"):
        return None
    cols = _cols(con, "mart_health_backtest")
    auc = con.execute(
        f"select {C['as_of_date']}, max({C['auc']}) from main.mart_health_backtest group by 1 order by 1"
    ).fetchall() if C["auc"] in cols else []
    auc = [r for r in auc if r[1] is not None]
    by_grade = []
    if {"grade", "customers", "churners"} <= cols:
        by_grade = con.execute(
            """
            select grade, sum(customers), sum(churners)
            from main.mart_health_backtest
            where grade is not null
            group by 1 having sum(customers) > 0 order by 1
            """
        ).fetchall()
    if not auc and not by_grade:
        return None
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.0), gridspec_kw={"width_ratios": [1.6, 1]})
    if auc:
        xs, ys = zip(*auc)
        a1.axhline(0.5, color=MUTED, lw=0.8, ls="--")
        a1.text(1.0, 0.49, "0.5 = chance", fontsize=7.5, color=MUTED, va="top", ha="right",
                transform=a1.get_yaxis_transform())
        a1.plot(xs, ys, color="#2166ac", lw=1.6, marker="o", ms=3)
        a1.set_ylim(0.3, 1.0)
        _month_axis(a1)
    a1.set_title("AUC of the score as a churn predictor, per as-of date")
    if by_grade:
        labels = [r[0] for r in by_grade]
        rates = [100.0 * r[2] / r[1] if r[1] else 0.0 for r in by_grade]
        bars = a2.bar(labels, rates, color=[GRADE_COLOURS.get(g, "#bdbdbd") for g in labels])
        for b, r, n in zip(bars, rates, by_grade):
            a2.text(b.get_x() + b.get_width() / 2, b.get_height(), f"{r:.1f}%\n({n[2]:,}/{n[1]:,})",
                    ha="center", va="bottom", fontsize=7.5, color=INK)
        a2.set_ylim(0, max(rates + [1]) * 1.35)
        a2.grid(axis="x", visible=False)
    a2.set_title("churned within the horizon, by grade")
    a2.set_ylabel("% of customers")
    fig.tight_layout()
    return _svg(fig, "Backtest: does the score predict churn?")


def _cols(con, table: str) -> set[str]:
    return {r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = 'main' and table_name = ?",
        [table]).fetchall()}


def _bands(con) -> list[tuple]:
    """(min, max, colour) per grade band, from the published copy when present, else the seed."""
    try:
        rows = con.execute("select min_score, max_score, colour from config.health_bands").fetchall()
        if rows:
            return rows
    except duckdb.Error:
        pass
    import csv

    from customer_health import SEEDS_DIR

    seed = SEEDS_DIR / "health_bands.csv"
    if seed.is_file():
        with open(seed, newline="") as fh:
            return [(float(r["min_score"]), float(r["max_score"]), r["colour"]) for r in csv.DictReader(fh)]
    return [(0, 40, "red"), (40, 60, "yellow"), (60, 100, "green")]


# --------------------------------------------------------------------------- page


def _fmt(v, kind: str = "num") -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "–"
    if kind == "money":
        return _money(float(v))
    if kind == "pct":
        return f"{float(v):.1f}%"
    if kind == "int":
        return f"{int(v):,}"
    return f"{float(v):,.1f}"


def _tiles(con, kpis) -> list[dict]:
    tiles = []
    grades = grade_table(con) if exists(con, "main", "mart_customer_health") else []
    customers = sum(g["customers"] for g in grades)
    if grades:
        tiles.append({"label": "customers", "value": _fmt(customers, "int")})
        mrr = sum(g["mrr"] or 0 for g in grades)
        tiles.append({"label": "MRR", "value": _fmt(mrr, "money")})
        red = sum(g["customers"] for g in grades if g["colour"] == "red")
        tiles.append({"label": "customers red", "value": f"{red:,}",
                      "note": f"{100 * red / customers:.0f}% of customers" if customers else ""})
    if kpis is not None:
        full = kpis[~kpis["is_partial_month"]] if "is_partial_month" in kpis.columns else kpis
        last = (full if not full.empty else kpis).iloc[-1]
        month = f"{last['month']:%B %Y}"
        for col, label, kind in (("net_revenue_retention", "net revenue retention", "pct"),
                                 ("gross_revenue_retention", "gross revenue retention", "pct"),
                                 ("logo_churn_rate", "logo churn", "pct"),
                                 ("nps", "NPS", "num"), ("csat", "CSAT", "pct")):
            if col in kpis.columns:
                tiles.append({"label": label, "value": _fmt(last[col], kind), "note": month})
    return tiles


def build_context(db_path: Path, manifest: dict | None = None, data_docs: Path | None = None) -> dict:
    manifest = manifest or {}
    with duckdb.connect(str(db_path), read_only=True) as con:
        has_mart = exists(con, "main", "mart_customer_health")
        as_of = latest_as_of(con) if has_mart else manifest.get("as_of_date")
        risky = at_risk(con) if has_mart else []
        kpis = _kpis(con)
        bands = _bands(con)
        latest_alert_date, alerts = new_alerts(con)
        charts = {
            "grades": chart_grades_by_segment(con) if has_mart else None,
            "risk_history": chart_risk_history(con, risky, bands),
            "mrr": chart_mrr_movements(kpis),
            "sentiment": _lines(kpis, [("nps", "NPS", "#5e3c99"), ("csat", "CSAT %", "#e66101")],
                                "NPS and CSAT by month", "score", ylim=(-100, 100), ref=0),
            "retention": _lines(kpis, [("customer_retention_rate", "customer retention", "#1a9850"),
                                       ("gross_revenue_retention", "GRR", "#2166ac"),
                                       ("net_revenue_retention", "NRR", "#b2182b")],
                                "Retention by month", "% of the month's start", ref=100),
            "backtest": chart_backtest(con),
        }
        tiles = _tiles(con, kpis)
        grades = grade_table(con) if has_mart else []
    docs = data_docs or reports_dir() / "data_docs"
    rows = []
    for r in risky:
        score = r.get(C["score"])
        rows.append({
            "name": r.get(C["account_name"]) or r.get(C["account_id"]),
            "owner": r.get(C["owner"]) or "–",
            "tier": (r.get(C["value_tier"]) or "–").replace("_", " "),
            "mrr": _fmt(r.get(C["mrr"]), "money"),
            "score": _fmt(score),
            "score_pct": max(0.0, min(100.0, float(score or 0))),
            "colour": COLOUR_HEX.get(r.get(C["colour"]), "#9e9e9e"),
            "grade": r.get(C["grade"]) or "–",
            "change": "–" if r.get(C["score_change"]) is None else f"{r[C['score_change']]:+.1f}",
            "reasons": [
                {"label": factor_label(r.get(f)), "points": f"{r[p]:+.1f}" if r.get(p) is not None else ""}
                for f, p in zip(C["pull_down_factors"], C["pull_down_points"]) if r.get(f)
            ],
        })
    return {
        "as_of": as_of,
        "run_id": manifest.get("run_id", "–"),
        "published_at": manifest.get("published_at", "–"),
        "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "tiles": tiles,
        "grades": grades,
        "charts": charts,
        "at_risk": rows,
        "alerts": alerts[:15],
        "alerts_total": len(alerts),
        "alerts_date": latest_alert_date,
        "raw_warnings": manifest.get("raw_warnings"),
        "data_docs": os.path.relpath(docs / "index.html", report_path().parent)
        if docs.is_relative_to(report_path().parent) else (docs / "index.html").as_uri(),
        "tables": manifest.get("tables", {}),
        "colour_hex": COLOUR_HEX,
        "grade_colours": GRADE_COLOURS,
    }


def render(context: dict) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    return env.get_template("health_report.html.j2").render(**context)


def write_report(db_path: Path, out: Path | None = None, manifest: dict | None = None) -> Path:
    """Render the report of the publication in `db_path` to `out`, replacing the old one atomically."""
    out = Path(out or report_path())
    out.parent.mkdir(parents=True, exist_ok=True)
    page = render(build_context(Path(db_path), manifest))
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, out)
    return out

