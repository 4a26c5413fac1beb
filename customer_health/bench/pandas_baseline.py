"""The pandas baseline of the benchmark: the latest day's health score and factors of every account,
computed straight from the raw files, as an analyst would otherwise write it in a notebook.

Plain pandas (read the files, filter, merge, group by): no DuckDB, no SQL, no history. It computes, for
ONE as-of date D, what the warehouse's `main.mart_customer_health` holds for its latest date, and must give
the same scores, grades and factor values (the benchmark checks it with `customer_health.bench.compare`).

Rules taken from the warehouse (docs/health_model.md, DECISIONLOG.md, models/), where they matter for D:

- the raw tables are read with only the columns needed; the latest version of a row wins (the latest
  `_loaded_at`, file order breaking ties, D5); rows of every table count only once they happened on or
  before the end of D (as-of semantics); state without history (an invoice's status, a ticket's counts,
  an order's cancellation) is read as it is now (D15);
- every factor's metric as the intermediate models define it, with its "missing when" rule;
- the configuration comes from the project's seeds, read at run time so that this stays in sync: factors
  (floor, target), weights (the account's lifecycle segment's set when it has rows in force on D, else
  `default`; per factor the row with the latest `valid_from` <= D; weight 0 = not scored), bands,
  settings (min_coverage), segment thresholds, exchange rates (reporting currency USD), action points
  and the onboarding catalogue;
- score = sum(factor score x weight) / sum(weights present), missing factors left out and the others
  re-weighted; coverage = 100 x weights present / weights of the set; below min_coverage no grade and
  the colour grey.

It ASSUMES CLEAN INPUT (the benchmark data is generated with --bad-rows 0): no row breaks the contract,
so nothing is quarantined, values are not trimmed and references are not checked. `clv` is not
computed (it needs the monthly MRR history of every account): it cannot be a factor here.

Output: one row per account created on or before D (the rows of mart_customer_health), with account_id,
as_of_date, health_score, score_coverage, grade, colour and one column per factor of
seeds/health_factors.csv holding the factor's metric value as fct_health_factors.metric_value does:
null when the metric is missing, and null too when the factor is not scored in the account's weight set
(fct_health_factors has no row for it then).

    python -m customer_health.bench.pandas_baseline --raw-dir DIR --as-of YYYY-MM-DD --out FILE.parquet
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from customer_health import SEEDS_DIR
from customer_health.contract import load_contract

REPORTING_CURRENCY = "USD"
DAY = pd.Timedelta(days=1)


# --- reading ------------------------------------------------------------------------------------------------------

def read_raw(raw_dir: Path, table: str, columns: list[str], raw_format: str = "parquet") -> pd.DataFrame:
    """The latest version of every row of one raw table ('source.table'), with the given columns typed.

    Decimals become float64, dates and timestamps datetime64 (timestamps UTC, naive). The row with the
    latest `_loaded_at` (file order breaking ties, a missing `_loaded_at` losing) wins per contract key.
    """
    spec = load_contract()[table]
    key = list(spec.key)
    wanted = list(dict.fromkeys([*key, *columns, "_loaded_at"]))
    source, name = table.split(".")
    path = Path(raw_dir) / source / f"{name}.{raw_format}"
    types = {c.name: c.type for c in spec.columns} | {"_loaded_at": "timestamp"}

    if raw_format == "parquet":
        names = pq.read_schema(path).names
        present = [c for c in wanted if c in names]
        arrow = pq.read_table(path, columns=present)
        arrow = arrow.cast(pa.schema(
            pa.field(f.name, pa.float64()) if pa.types.is_decimal(f.type) else f for f in arrow.schema
        ))
        df = arrow.to_pandas(date_as_object=False)
    elif raw_format == "csv":
        header = pd.read_csv(path, nrows=0).columns
        present = [c for c in wanted if c in header]
        df = pd.read_csv(path, usecols=present, dtype=str, engine="pyarrow")
        for col in df.columns:
            kind = types[col]
            if kind == "timestamp":
                df[col] = pd.to_datetime(df[col], utc=True, format="ISO8601").dt.tz_localize(None)
            elif kind == "date":
                df[col] = pd.to_datetime(df[col], format="%Y-%m-%d")
            elif kind in ("integer", "decimal"):
                df[col] = pd.to_numeric(df[col])
            elif kind == "boolean":
                df[col] = df[col].str.lower().map(
                    {"true": True, "t": True, "yes": True, "y": True, "1": True,
                     "false": False, "f": False, "no": False, "n": False, "0": False})
    else:
        raise ValueError(f"raw_format must be parquet or csv, not {raw_format!r}")

    for col in df.columns:  # one resolution for every date and timestamp
        if pd.api.types.is_datetime64_any_dtype(df[col]):
            df[col] = df[col].astype("datetime64[us]")
    for col in wanted:  # optional columns absent from the file read as null
        if col not in df.columns:
            df[col] = pd.NaT if types[col] in ("date", "timestamp") else np.nan

    if not (df[key[0]].is_unique if len(key) == 1 else not df.duplicated(key).any()):
        df = (df.sort_values("_loaded_at", na_position="first", kind="stable")
                .drop_duplicates(key, keep="last"))
    return df[list(dict.fromkeys([*key, *columns]))]


def read_seed(name: str) -> pd.DataFrame:
    return pd.read_csv(SEEDS_DIR / f"{name}.csv")


def exchange_rates() -> pd.DataFrame:
    """Per currency and seed month, the reporting-currency value of one unit (int_exchange_rates)."""
    rates = read_seed("exchange_rates")
    rates["rate_month"] = pd.to_datetime(rates["rate_month"])
    rates["currency_code"] = rates["currency_code"].str.strip().str.upper()
    reporting = rates.loc[rates["currency_code"] == REPORTING_CURRENCY, ["rate_month", "usd_per_unit"]]
    rates = rates.merge(reporting, on="rate_month", suffixes=("", "_reporting"))
    rates["rate"] = rates["usd_per_unit"] / rates["usd_per_unit_reporting"]
    return rates[["currency_code", "rate_month", "rate"]].sort_values(["currency_code", "rate_month"])


def rates_on(rates: pd.DataFrame, frame: pd.DataFrame, currency: str, day: str) -> pd.Series:
    """The rate of each row's currency on its day: the seed month on or before it (the first month stretching
    back to any earlier day, the last forward), aligned on frame's index."""
    left = pd.DataFrame({"currency_code": frame[currency].to_numpy(),
                         "day": frame[day].to_numpy().astype("datetime64[us]"),
                         "row": np.arange(len(frame))}).sort_values("day")
    right = rates.assign(rate_month=rates["rate_month"].astype("datetime64[us]")).sort_values("rate_month")
    matched = pd.merge_asof(left, right, left_on="day", right_on="rate_month", by="currency_code")
    first = rates.groupby("currency_code")["rate"].first()
    rate = matched["rate"].fillna(matched["currency_code"].map(first))
    return pd.Series(rate.to_numpy(), index=matched["row"].to_numpy()).sort_index().set_axis(frame.index)


def day_of(ts: pd.Series) -> pd.Series:
    """The UTC calendar day of a timestamp (or a date), as midnight."""
    return ts.dt.floor("D")


# --- metrics ------------------------------------------------------------------------------------------------------

def subscription_metrics(raw_dir, fmt, d, rates) -> pd.DataFrame:
    periods = read_raw(raw_dir, "billing.subscription_periods",
                       ["account_id", "seats", "mrr", "currency", "period_start", "period_end"], fmt)
    periods["currency"] = periods["currency"].str.upper()
    periods = periods[periods["period_end"].isna() | (periods["period_end"] > periods["period_start"])]
    periods["cents"] = (periods["mrr"] * 100).round().astype("int64")  # decimal sums stay exact

    def mrr_on(day: pd.Timestamp) -> tuple[pd.Series, pd.Series]:
        covering = periods[(periods["period_start"] <= day)
                           & (periods["period_end"].isna() | (periods["period_end"] > day))]
        local = covering.groupby(["account_id", "currency"], as_index=False)["cents"].sum()
        local["day"] = day
        local["mrr"] = np.where(local["cents"] == 0, 0.0,
                                local["cents"] / 100 * rates_on(rates, local, "currency", "day"))
        return local.groupby("account_id")["mrr"].sum(), covering.groupby("account_id")["seats"].sum(min_count=1)

    mrr, seats = mrr_on(d)
    mrr_90d_ago, _ = mrr_on(d - 90 * DAY)
    first_paid = periods[periods["mrr"] > 0].groupby("account_id")["period_start"].min()
    out = pd.DataFrame({"mrr": mrr, "seats": seats, "mrr_90d_ago": mrr_90d_ago, "first_paid_date": first_paid})
    out[["mrr", "mrr_90d_ago"]] = out[["mrr", "mrr_90d_ago"]].fillna(0.0)
    out["mrr_change_90d_pct"] = (100.0 * (out["mrr"] - out["mrr_90d_ago"]) / out["mrr_90d_ago"]).where(
        out["mrr_90d_ago"] > 0)
    out["first_paid_date"] = out["first_paid_date"].where(out["first_paid_date"] <= d)
    return out


def support_metrics(raw_dir, fmt, d, end) -> tuple[pd.DataFrame, pd.DataFrame]:
    tickets = read_raw(raw_dir, "support.tickets",
                       ["account_id", "priority", "created_at", "solved_at", "agent_reply_count", "reopen_count"],
                       fmt)
    created = tickets[tickets["created_at"] < end]
    last_30 = created["created_at"] >= d - 29 * DAY
    prior_90 = (created["created_at"] >= d - 119 * DAY) & ~last_30
    urgent = (created["created_at"] >= d - 89 * DAY) & created["priority"].isin(["high", "urgent"])
    counts = pd.DataFrame({"account_id": created["account_id"], "last_30": last_30, "prior_90": prior_90,
                           "urgent": urgent}).groupby("account_id").sum()

    solved = tickets[(tickets["solved_at"] >= d - 89 * DAY) & (tickets["solved_at"] < end)].copy()
    seconds = (solved["solved_at"].astype("datetime64[s]").astype("int64")
               - solved["created_at"].astype("datetime64[s]").astype("int64"))
    solved["resolution_hours"] = seconds / 3600.0
    solved["first_contact"] = (solved["agent_reply_count"] <= 1) & (solved["reopen_count"] == 0)
    by_account = solved.groupby("account_id").agg(
        avg_resolution_hours=("resolution_hours", "mean"),
        solved=("first_contact", "size"),
        first_contact=("first_contact", "sum"),
    )
    out = pd.DataFrame({
        "ticket_volume_trend": (counts["last_30"] + 1) / (counts["prior_90"] / 3 + 1),
        "urgent_tickets_90d": counts["urgent"].astype(float),
    }).join(by_account["avg_resolution_hours"], how="outer")
    out["first_contact_resolution_rate"] = 100.0 * by_account["first_contact"] / by_account["solved"]
    return out, tickets[["ticket_id", "account_id"]]


def survey_metrics(raw_dir, fmt, d, end, tickets) -> pd.DataFrame:
    nps = read_raw(raw_dir, "surveys.nps_responses", ["account_id", "score", "responded_at"], fmt)
    nps = nps[(nps["responded_at"] >= d - 179 * DAY) & (nps["responded_at"] < end)]
    nps = nps.assign(promoter=nps["score"] >= 9, detractor=nps["score"] <= 6).groupby("account_id").agg(
        promoters=("promoter", "sum"), detractors=("detractor", "sum"), responses=("score", "size"))

    csat = read_raw(raw_dir, "support.csat_responses", ["ticket_id", "score", "responded_at"], fmt)
    csat = csat[(csat["responded_at"] >= d - 89 * DAY) & (csat["responded_at"] < end)]
    csat = csat.merge(tickets, on="ticket_id")
    csat = csat.assign(satisfied=csat["score"] >= 4).groupby("account_id").agg(
        satisfied=("satisfied", "sum"), responses=("score", "size"))
    return pd.DataFrame({
        "nps": 100.0 * (nps["promoters"] - nps["detractors"]) / nps["responses"],
    }).join(pd.DataFrame({"csat": 100.0 * csat["satisfied"] / csat["responses"]}), how="outer")


def feedback_metrics(feedback, d, end) -> pd.DataFrame:
    window = feedback[(feedback["submitted_at"] >= d - 179 * DAY) & (feedback["submitted_at"] < end)]
    counts = window.assign(positive=window["sentiment"] == "positive", negative=window["sentiment"] == "negative"
                           ).groupby("account_id").agg(positive=("positive", "sum"), negative=("negative", "sum"),
                                                       feedback=("sentiment", "size"))
    return pd.DataFrame({"feedback_sentiment": 100.0 * (counts["positive"] - counts["negative"]) / counts["feedback"]})


def payment_metrics(invoices, d) -> pd.DataFrame:
    payable = invoices[invoices["status"].isin(["open", "paid", "uncollectible"])
                       & (invoices["amount_due"] >= 0)].copy()
    payable["issued_date"] = day_of(payable["issued_at"])
    payable["paid_date"] = day_of(payable["paid_at"]).fillna(payable["due_date"]).where(payable["status"] == "paid")
    known = payable[["issued_date", "due_date"]].max(axis=1)

    due = payable[(payable["due_date"] >= d - 179 * DAY) & (known <= d)]
    late = (due["due_date"] < d) & (due["paid_date"].isna() | (due["paid_date"] > due["due_date"]))
    rate = late.groupby(due["account_id"]).agg(["sum", "size"])

    open_on_d = payable[(payable["due_date"] < d) & (payable["issued_date"] <= d)
                        & (payable["paid_date"].isna() | (payable["paid_date"] > d))]
    oldest_due = open_on_d.groupby("account_id")["due_date"].min()
    return pd.DataFrame({"late_payment_rate": 100.0 * rate["sum"] / rate["size"]}).join(
        pd.DataFrame({"days_past_due": (d - oldest_due).dt.days.astype(float)}), how="outer")


def order_metrics(raw_dir, fmt, d, invoices, rates) -> pd.DataFrame:
    orders = read_raw(raw_dir, "billing.orders", ["account_id", "ordered_at", "amount", "currency", "status"], fmt)
    orders = orders[orders["status"] != "cancelled"].copy()
    orders["currency"] = orders["currency"].str.upper()
    orders["order_date"] = day_of(orders["ordered_at"])
    orders["order_rate"] = rates_on(rates, orders, "currency", "order_date")
    orders["ordered_amount"] = orders["amount"] * orders["order_rate"]
    returns = read_raw(raw_dir, "billing.returns", ["order_id", "returned_at", "amount"], fmt).merge(
        orders[["order_id", "account_id", "currency", "order_date", "order_rate"]], on="order_id")
    returns["return_date"] = np.maximum(day_of(returns["returned_at"]), returns["order_date"])
    returns["returned_at_order_rate"] = returns["amount"] * returns["order_rate"]

    in_window = orders[(orders["order_date"] >= d - 364 * DAY) & (orders["order_date"] <= d)]
    window_returns = returns[(returns["order_date"] >= d - 364 * DAY) & (returns["return_date"] <= d)]
    ordered = in_window.groupby("account_id")["ordered_amount"].agg(["size", "sum"])
    returned = window_returns.groupby("account_id")["returned_at_order_rate"].sum().reindex(ordered.index,
                                                                                           fill_value=0.0)
    out = pd.DataFrame({"orders_365d": ordered["size"].astype(float),
                        "return_rate": (100.0 * returned / ordered["sum"]).where(ordered["sum"] != 0)})

    paid = invoices[invoices["status"] == "paid"].copy()
    paid["paid_date"] = day_of(paid["paid_at"]).fillna(paid["due_date"])
    paid = paid[paid["paid_date"] <= d]
    paid["revenue"] = paid["amount_paid"] * rates_on(rates, paid, "currency", "paid_date")
    returns = returns[returns["return_date"] <= d]
    returns["revenue"] = -returns["amount"] * rates_on(rates, returns, "currency", "return_date")
    revenue = pd.concat([paid[["account_id", "revenue"]],
                         orders.loc[orders["order_date"] <= d, ["account_id"]].assign(
                             revenue=orders["ordered_amount"]),
                         returns[["account_id", "revenue"]]])
    return out.join(revenue.groupby("account_id")["revenue"].sum().rename("revenue_to_date"), how="outer")


def renewal_metrics(raw_dir, fmt, d) -> pd.DataFrame:
    opps = read_raw(raw_dir, "crm.opportunities",
                    ["account_id", "opportunity_type", "stage", "created_at", "close_date"], fmt)
    closed = opps[(opps["opportunity_type"] == "renewal") & opps["stage"].isin(["won", "lost"])
                  & opps["close_date"].notna()]
    closed = closed[np.maximum(closed["close_date"], day_of(closed["created_at"])) <= d]
    won = (closed["stage"] == "won").groupby(closed["account_id"]).agg(["sum", "size"])
    return pd.DataFrame({"renewal_win_rate": 100.0 * won["sum"] / won["size"]})


def usage_metrics(raw_dir, fmt, d, end) -> pd.DataFrame:
    events = read_raw(raw_dir, "product.usage_events", ["account_id", "user_id", "feature_key", "occurred_at"], fmt)
    events = events[events["occurred_at"] < end]
    last_use = events.groupby("account_id")["occurred_at"].max()

    window = events[events["occurred_at"] >= d - 59 * DAY].copy()
    window["usage_date"] = day_of(window["occurred_at"])
    window["last_30"] = window["usage_date"] >= d - 29 * DAY
    recent = window[window["last_30"]]
    by_account = recent.groupby("account_id").agg(
        events_30d=("usage_date", "size"),
        active_days_30d=("usage_date", "nunique"),
        active_users_30d=("user_id", "nunique"),
    )
    by_account["daily_active_users_sum"] = recent.drop_duplicates(["account_id", "user_id", "usage_date"]).groupby(
        "account_id").size()
    events_prior = window[~window["last_30"]].groupby("account_id").size().rename("events_prior_30d")

    features = read_raw(raw_dir, "product.features", ["is_core", "released_at"], fmt)
    core = features[features["is_core"].astype(bool)
                    & (features["released_at"].isna() | (features["released_at"] <= d))]["feature_key"]
    core_used = recent[recent["feature_key"].isin(core)].groupby("account_id")["feature_key"].nunique()

    out = by_account.join(events_prior, how="outer").join(last_use.rename("last_use"), how="outer")
    counts = ["events_30d", "active_days_30d", "active_users_30d", "daily_active_users_sum", "events_prior_30d"]
    out[counts] = out[counts].fillna(0).astype(float)
    out["core_features_used"] = core_used.reindex(out.index, fill_value=0).astype(float)
    out.attrs["core_features_released"] = len(core)
    return out


def onboarding_completions(raw_dir, fmt) -> pd.DataFrame:
    """First completion day of each catalogue step per account."""
    steps = read_raw(raw_dir, "product.onboarding_steps", ["account_id", "step_key", "completed_at"], fmt)
    steps = steps[steps["step_key"].isin(read_seed("onboarding_steps")["step_key"])]
    return steps.assign(completed_date=day_of(steps["completed_at"])).groupby(
        ["account_id", "step_key"], as_index=False)["completed_date"].min()


def engagement_metrics(raw_dir, fmt, d, completions, feedback) -> pd.DataFrame:
    activities = read_raw(raw_dir, "crm.activities", ["account_id", "activity_type", "occurred_at"], fmt)
    actions = pd.concat([
        pd.DataFrame({"account_id": activities["account_id"], "action_date": day_of(activities["occurred_at"]),
                      "action_source": "activity", "action_key": activities["activity_type"]}),
        pd.DataFrame({"account_id": completions["account_id"], "action_date": completions["completed_date"],
                      "action_source": "onboarding", "action_key": "step_completed"}),
        pd.DataFrame({"account_id": feedback["account_id"], "action_date": day_of(feedback["submitted_at"]),
                      "action_source": "feedback", "action_key": feedback["sentiment"]}),
    ])
    actions = actions[(actions["action_date"] >= d - 89 * DAY) & (actions["action_date"] <= d)]
    priced = actions.merge(read_seed("action_points"), on=["action_source", "action_key"])
    return pd.DataFrame({"engagement_points_90d": priced.groupby("account_id")["points"].sum().astype(float)})


# --- the score ----------------------------------------------------------------------------------------------------

def account_metrics(raw_dir: Path, d: pd.Timestamp, fmt: str) -> pd.DataFrame:
    """Every account created on or before D, with every metric the health model defines (but clv) as of D."""
    end = d + DAY  # rows count as of D when their timestamp is before the end of D
    rates = exchange_rates()
    accounts = read_raw(raw_dir, "crm.accounts", ["created_at"], fmt)
    accounts = accounts[accounts["created_at"] < end].set_index("account_id")[[]]

    support, tickets = support_metrics(raw_dir, fmt, d, end)
    invoices = read_raw(raw_dir, "billing.invoices", ["account_id", "issued_at", "due_date", "amount_due",
                                                      "amount_paid", "currency", "status", "paid_at"], fmt)
    invoices["currency"] = invoices["currency"].str.upper()
    feedback = read_raw(raw_dir, "product.feedback", ["account_id", "sentiment", "submitted_at"], fmt)
    completions = onboarding_completions(raw_dir, fmt)
    usage = usage_metrics(raw_dir, fmt, d, end)

    m = accounts
    for part in (subscription_metrics(raw_dir, fmt, d, rates), support,
                 survey_metrics(raw_dir, fmt, d, end, tickets), feedback_metrics(feedback, d, end),
                 payment_metrics(invoices, d), order_metrics(raw_dir, fmt, d, invoices, rates),
                 renewal_metrics(raw_dir, fmt, d), usage,
                 engagement_metrics(raw_dir, fmt, d, completions, feedback)):
        m = m.join(part, how="left")

    never_missing_zero = ["mrr", "urgent_tickets_90d", "days_past_due", "orders_365d", "revenue_to_date",
                          "engagement_points_90d", "events_30d", "events_prior_30d", "active_days_30d",
                          "active_users_30d", "daily_active_users_sum", "core_features_used"]
    m[never_missing_zero] = m[never_missing_zero].fillna(0.0)
    m["ticket_volume_trend"] = m["ticket_volume_trend"].fillna(1.0)

    m["seat_utilization"] = (100.0 * m["active_users_30d"] / m["seats"]).where(m["seats"] > 0)
    m["stickiness"] = (100.0 * m["daily_active_users_sum"] / (30 * m["active_users_30d"])).where(
        m["active_users_30d"] > 0, 0.0)
    released = usage.attrs["core_features_released"]
    m["core_feature_adoption"] = 100.0 * m["core_features_used"] / released if released else np.nan
    m["usage_trend"] = 100 * ((m["events_30d"] + 1) / (m["events_prior_30d"] + 1) - 1)
    m["days_since_last_use"] = (d - day_of(m["last_use"])).dt.days.astype(float)

    catalogue = len(read_seed("onboarding_steps"))
    done = completions[completions["completed_date"] <= d].groupby("account_id").size()
    m["onboarding_completion"] = 100.0 * done.reindex(m.index, fill_value=0) / catalogue
    return m


def lifecycle_stage(m: pd.DataFrame, d: pd.Timestamp) -> pd.Series:
    """int_account_segments: onboarding, dormant, active, churned or prospect on D."""
    thresholds = read_seed("segment_thresholds").set_index("threshold_key")["threshold_value"]
    is_customer = m["mrr"] > 0
    paid_days = (d - m["first_paid_date"]).dt.days
    return pd.Series(np.select(
        [is_customer & (paid_days < thresholds["onboarding_days"]),
         is_customer & ~(m["days_since_last_use"] < thresholds["dormant_days"]),
         is_customer,
         m["first_paid_date"].notna()],
        ["onboarding", "dormant", "active", "churned"], default="prospect"), index=m.index)


def exact_sum(points: pd.DataFrame) -> pd.Series:
    """Row sums as the warehouse adds factor points: each rounded to 12 decimals (half away from zero) and
    added exactly, so that the score does not depend on the order of addition."""
    scaled = points.fillna(0.0).to_numpy() * 1e12
    whole = np.floor(np.abs(scaled))
    units = (np.sign(scaled) * np.where(np.abs(scaled) - whole >= 0.5, whole + 1, whole)).astype("int64")
    return pd.Series(units.sum(axis=1) / 1e12, index=points.index)


def score(m: pd.DataFrame, d: pd.Timestamp) -> pd.DataFrame:
    factors = read_seed("health_factors").set_index("factor_key")
    keys = list(factors.index)
    unknown = [k for k in keys if k not in m.columns]
    if unknown:
        raise NotImplementedError(f"pandas baseline: no metric for factor(s) {unknown}")

    weights = read_seed("health_weights")
    weights = weights[pd.to_datetime(weights["valid_from"]) <= d]
    weights = (weights.sort_values("valid_from").drop_duplicates(["segment", "factor_key"], keep="last")
                      .pivot(index="segment", columns="factor_key", values="weight")
                      .reindex(columns=keys).astype(float))
    weights = weights.where(weights > 0)  # weight 0 or no row: not scored

    stage = lifecycle_stage(m, d)
    weight_set = stage.where(stage.isin(weights.index), "default")
    w = weights.reindex(weight_set.to_numpy()).set_axis(m.index)  # each account's weights, NaN = not scored
    values = m[keys].astype(float).where(w.notna())

    floor, target = factors["floor"], factors["target"]
    factor_score = (100.0 * (values - floor) / (target - floor)).clip(0.0, 100.0)
    present = w.where(values.notna())
    weight_present = present.sum(axis=1)
    weight_total = w.sum(axis=1)
    health_score = exact_sum(factor_score * present) / weight_present.where(weight_present > 0)
    coverage = (100.0 * weight_present / weight_total.where(weight_total > 0)).fillna(0.0)

    settings = read_seed("health_settings").set_index("setting_key")["setting_value"].astype(float)
    graded = health_score.notna() & (coverage >= settings["min_coverage"])
    bands = read_seed("health_bands")
    grade = pd.Series(pd.NA, index=m.index, dtype="object")
    colour = pd.Series("grey", index=m.index, dtype="object")
    for band in bands.itertuples():
        top = band.max_score == bands["max_score"].max()
        inside = (health_score >= band.min_score) & (
            (health_score < band.max_score) | (top & (health_score <= band.max_score)))
        grade = grade.mask(graded & inside, band.grade)
        colour = colour.mask(graded & inside, band.colour)

    out = pd.DataFrame({
        "account_id": m.index.astype(str),
        "as_of_date": d.date(),
        "health_score": health_score.astype(float).to_numpy(),
        "score_coverage": coverage.astype(float).to_numpy(),
        "grade": grade.to_numpy(),
        "colour": colour.to_numpy(),
    })
    for key in keys:
        out[key] = values[key].to_numpy()
    return out.sort_values("account_id", ignore_index=True)


def run_pandas(raw_dir: Path, as_of: date, out: Path, raw_format: str = "parquet") -> int:
    """Computes the health of every account as of `as_of` from the raw files in `raw_dir` and writes it to
    `out` (Parquet); returns the number of rows written."""
    d = pd.Timestamp(as_of)
    result = score(account_metrics(Path(raw_dir), d, raw_format), d)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result.to_parquet(out, index=False)
    return len(result)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m customer_health.bench.pandas_baseline",
                                     description="The latest day's health score and factors, in plain pandas.")
    parser.add_argument("--raw-dir", required=True, type=Path)
    parser.add_argument("--as-of", required=True, type=date.fromisoformat)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--format", default="parquet", choices=["parquet", "csv"])
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = run_pandas(args.raw_dir, args.as_of, args.out, args.format)
    print(f"pandas baseline: {rows} rows written to {args.out} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
