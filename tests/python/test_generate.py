"""Tests of the demo-data generator (`health generate`).

The checks are written against the contract (load_contract()), not per table:
a small independent validator reads every written file back as text and lists
each row's contract breaks; clean data must have none, and with --bad-rows the
breaks found must be exactly the ones the manifest lists.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from customer_health.cli import main
from customer_health.contract import load_contract

CONTRACT = load_contract()
LOADED = "_loaded_at"
QUARANTINE_RULES = {"missing_required", "invalid_type", "out_of_range", "invalid_value", "unknown_reference", "solved_before_created"}
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}([+-]\d{2}:\d{2})?$")


def run_generate(out: Path, accounts: int, seed: int = 7, fmt: str = "parquet", bad_rows: float = 0.0, *extra: str) -> None:
    argv = ["generate", "--accounts", str(accounts), "--seed", str(seed), "--out", str(out), "--format", fmt,
            "--bad-rows", str(bad_rows), *extra]
    assert main(argv) == 0


# ------------------------------------------------------------------------------------------------
# reading files back as text, the way the warehouse does
# ------------------------------------------------------------------------------------------------


def _py_text(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return format(v, "f")
    return str(v)


def read_text(path: Path) -> tuple[list[str], list[dict[str, str | None]]]:
    """Header and rows of a written file; every value as text, None for null."""
    if path.suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            rows = [{h: (v if v != "" else None) for h, v in zip(header, rec)} for rec in reader]
        return header, rows
    t = pq.read_table(path)
    cols = {name: [_py_text(v) for v in t.column(name).to_pylist()] for name in t.column_names}
    rows = [{name: cols[name][i] for name in t.column_names} for i in range(t.num_rows)]
    return t.column_names, rows


def parse(kind: str, text: str):
    """(ok, value, has_offset) for a non-null text value of a contract type."""
    try:
        if kind == "string":
            return True, text, False
        if kind == "integer":
            return (True, int(text), False) if re.fullmatch(r"-?\d+", text) else (False, None, False)
        if kind == "decimal":
            return (True, Decimal(text), False) if re.fullmatch(r"-?\d+(\.\d+)?", text) else (False, None, False)
        if kind == "boolean":
            return (True, text == "true", False) if text in ("true", "false") else (False, None, False)
        if kind == "date":
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                return False, None, False
            return True, date.fromisoformat(text), False
        if kind == "timestamp":
            m = TS_RE.fullmatch(text)
            if not m:
                return False, None, False
            dt = datetime.fromisoformat(text)
            if dt.tzinfo is not None:
                dt = (dt - dt.utcoffset()).replace(tzinfo=None)
            return True, dt, m.group(1) is not None
    except ValueError:
        return False, None, False
    raise ValueError(kind)


def table_path(root: Path, name: str, fmt: str) -> Path:
    t = CONTRACT[name]
    return root / t.source / f"{t.name}.{fmt}"


def find_breaks(root: Path, fmt: str) -> tuple[dict[str, set], dict[str, list], dict[str, dict]]:
    """Every contract break, per table, as (row_number, rule, column, expected); also the rows read."""
    data: dict[str, list] = {}
    parsed: dict[str, list[dict]] = {}
    found: dict[str, set] = defaultdict(set)
    quarantined: dict[str, set] = defaultdict(set)
    for name, t in CONTRACT.items():
        header, rows = read_text(table_path(root, name, fmt))
        assert header == [c.name for c in t.columns] + [LOADED], f"{name}: columns {header}"
        data[name] = rows
        prow = []
        for i, row in enumerate(rows, start=1):
            vals = {}
            for c in t.columns:
                v = row[c.name]
                if v is None:
                    if c.required:
                        found[name].add((i, "missing_required", c.name, "quarantined"))
                    continue
                ok, value, offset = parse(c.type, v)
                if not ok:
                    found[name].add((i, "invalid_type", c.name, "quarantined"))
                    continue
                vals[c.name] = value
                if offset:
                    found[name].add((i, "offset_timestamp", c.name, "staged"))
                if c.range is not None and not (c.range[0] <= value <= c.range[1]):
                    found[name].add((i, "out_of_range", c.name, "quarantined"))
                if c.values and value not in c.values:
                    found[name].add((i, "invalid_value", c.name, "quarantined"))
            if "solved_at" in vals and "created_at" in vals and vals["solved_at"] < vals["created_at"]:
                found[name].add((i, "solved_before_created", "solved_at", "quarantined"))
            ok, vals[LOADED], _ = parse("timestamp", row[LOADED])
            assert ok, f"{name} row {i}: bad {LOADED} {row[LOADED]!r}"
            prow.append(vals)
        parsed[name] = prow
        quarantined[name] = {r for r, rule, _, _ in found[name] if rule in QUARANTINE_RULES}
    # parents: the keys of rows that are not quarantined
    valid_keys: dict[str, set] = defaultdict(set)
    for name, t in CONTRACT.items():
        for i, row in enumerate(data[name], start=1):
            if i not in quarantined[name]:
                for c in t.columns:
                    if c.unique and row[c.name] is not None:
                        valid_keys[f"{name}.{c.name}"].add(row[c.name])
    for name, t in CONTRACT.items():
        for c in t.columns:
            if not c.references:
                continue
            for i, row in enumerate(data[name], start=1):
                if row[c.name] is not None and row[c.name] not in valid_keys[c.references]:
                    found[name].add((i, "unknown_reference", c.name, "quarantined"))
                    quarantined[name].add(i)
    # duplicates among the rows that stay: the latest _loaded_at wins (the last one on a tie)
    for name, t in CONTRACT.items():
        groups = defaultdict(list)
        for i, row in enumerate(data[name], start=1):
            k = tuple(row[c] for c in t.key)
            if i not in quarantined[name] and all(x is not None for x in k):
                groups[k].append(i)
        for k, members in groups.items():
            if len(members) > 1:
                winner = max(members, key=lambda i: (parsed[name][i - 1][LOADED], i))
                for i in members:
                    found[name].add((i, "duplicate", "", "staged" if i == winner else "superseded"))
    return found, data, parsed


def expected_combos(t) -> set[tuple[str, str]]:
    """Every (rule, column) the contract allows a bad row of this table to break."""
    combos = {("duplicate", "")}
    names = {c.name for c in t.columns}
    for c in t.columns:
        if c.required:
            combos.add(("missing_required", c.name))
        if c.type != "string":
            combos.add(("invalid_type", c.name))
        if c.range is not None:
            combos.add(("out_of_range", c.name))
        if c.values:
            combos.add(("invalid_value", c.name))
        if c.references:
            combos.add(("unknown_reference", c.name))
        if c.type == "timestamp":  # with bad rows every timestamp column is written as text
            combos.add(("offset_timestamp", c.name))
    if {"created_at", "solved_at"} <= names:
        combos.add(("solved_before_created", "solved_at"))
    return combos


def read_manifest(root: Path) -> list[dict]:
    with open(root / "bad_rows_manifest.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# ------------------------------------------------------------------------------------------------
# fixtures: generated once per module
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    run_generate(out, 100, seed=11)
    return out


@pytest.fixture(scope="module")
def clean_read(clean):
    """(breaks, text rows, parsed rows) of the clean data set, read once."""
    return find_breaks(clean, "parquet")


@pytest.fixture(scope="module")
def bad_parquet(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bad_parquet")
    run_generate(out, 40, seed=3, bad_rows=0.02)
    return out


@pytest.fixture(scope="module")
def bad_csv(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bad_csv")
    run_generate(out, 40, seed=4, fmt="csv", bad_rows=0.02)
    return out


def rows_of(root: Path, name: str, fmt: str = "parquet") -> list[dict]:
    return read_text(table_path(root, name, fmt))[1]


# ------------------------------------------------------------------------------------------------
# determinism
# ------------------------------------------------------------------------------------------------


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fmt,bad", [("parquet", 0.0), ("csv", 0.05)])
def test_same_arguments_give_identical_files(tmp_path, fmt, bad):
    run_generate(tmp_path / "a", 30, 5, fmt, bad)
    run_generate(tmp_path / "b", 30, 5, fmt, bad)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert len(a) == 16 + 2  # every table + generation.json + manifest
    assert a.keys() == b.keys()
    for k in a:
        assert a[k] == b[k], f"{k} differs between two runs"


def test_different_seed_gives_different_data(tmp_path):
    run_generate(tmp_path / "a", 30, 5)
    run_generate(tmp_path / "b", 30, 6)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a["product/usage_events.parquet"] != b["product/usage_events.parquet"]
    assert a["crm/accounts.parquet"] != b["crm/accounts.parquet"]


def test_clean_rows_do_not_depend_on_bad_rows(tmp_path):
    """Bad rows are laid over the same clean data set: every clean row is still there."""
    run_generate(tmp_path / "clean", 30, 11)
    run_generate(tmp_path / "bad", 30, 11, "parquet", 0.05)
    for name in ("crm.accounts", "support.tickets"):
        key = CONTRACT[name].key[0]
        good = {r[key] for r in rows_of(tmp_path / "clean", name)}
        with_bad = {r[key] for r in rows_of(tmp_path / "bad", name)}
        assert good <= with_bad


# ------------------------------------------------------------------------------------------------
# conformance of clean data, generically from the contract
# ------------------------------------------------------------------------------------------------


def test_clean_data_conforms_to_contract(clean, clean_read):
    found, data, parsed = clean_read
    assert {name: sorted(v)[:5] for name, v in found.items() if v} == {}
    for name in CONTRACT:
        assert data[name], f"{name} is empty"
    manifest = read_manifest(clean)
    assert manifest == []


def test_clean_parquet_types(clean):
    types = {"string": pa.string(), "integer": pa.int64(), "decimal": pa.decimal128(18, 2), "boolean": pa.bool_(),
             "date": pa.date32(), "timestamp": pa.timestamp("us")}
    for name, t in CONTRACT.items():
        schema = pq.read_schema(table_path(clean, name, "parquet"))
        assert schema.names == [c.name for c in t.columns] + [LOADED]
        for c in t.columns:
            assert schema.field(c.name).type == types[c.type], f"{name}.{c.name}"
        assert schema.field(LOADED).type == pa.timestamp("us")


def test_clean_data_semantics(clean_read):
    _, data, parsed = clean_read
    end = datetime(2026, 11, 1)
    # every row loaded at or after its own first time, and no later than end + 1 day
    for name in CONTRACT:
        for row in parsed[name]:
            assert row[LOADED] <= end
    # ticket solved after created (generic rule, checked above) and first response before solve
    for row in parsed["support.tickets"]:
        if "solved_at" in row:
            assert row["solved_at"] >= row["created_at"]
            assert row["first_response_at"] <= row["solved_at"]
    # no usage of a feature before its release
    released = {r["feature_key"]: r.get("released_at") for r in parsed["product.features"]}
    for row in parsed["product.usage_events"]:
        rel = released[row["feature_key"]]
        assert rel is None or row["occurred_at"].date() >= rel
    # periods: end after start, contiguous within a subscription, cancel reason only on the last
    by_sub = defaultdict(list)
    for row in parsed["billing.subscription_periods"]:
        if "period_end" in row:
            assert row["period_end"] > row["period_start"]
        by_sub[row["subscription_id"]].append(row)
    for rows in by_sub.values():
        rows.sort(key=lambda r: r["period_start"])
        for a, b in zip(rows, rows[1:]):
            assert a["period_end"] == b["period_start"]
            assert "cancel_reason" not in a
    # an account exists before its first subscription
    created = {r["account_id"]: r["created_at"] for r in parsed["crm.accounts"]}
    for row in parsed["billing.subscription_periods"]:
        assert created[row["account_id"]].date() <= row["period_start"]
    # invoices paid after issue; returns after the order and not more than it
    for row in parsed["billing.invoices"]:
        if "paid_at" in row:
            assert row["paid_at"] >= row["issued_at"]
    orders = {r["order_id"]: r for r in parsed["billing.orders"]}
    for row in parsed["billing.returns"]:
        o = orders[row["order_id"]]
        assert row["returned_at"] > o["ordered_at"] and row["amount"] <= o["amount"]
    # surveys about tickets come after the ticket
    tickets = {r["ticket_id"]: r for r in parsed["support.tickets"]}
    for row in parsed["support.csat_responses"]:
        assert row["responded_at"] > tickets[row["ticket_id"]]["created_at"]
    # onboarding steps in catalogue order
    steps = ["create_workspace", "invite_team", "connect_data_source", "import_data", "configure_integrations",
             "create_first_dashboard", "set_up_alerts", "complete_training"]
    by_acc = defaultdict(list)
    for row in parsed["product.onboarding_steps"]:
        by_acc[row["account_id"]].append(row)
    for rows in by_acc.values():
        rows.sort(key=lambda r: steps.index(r["step_key"]))
        assert [r["step_key"] for r in rows] == steps[: len(rows)]
        assert [r["completed_at"] for r in rows] == sorted(r["completed_at"] for r in rows)


# ------------------------------------------------------------------------------------------------
# realism
# ------------------------------------------------------------------------------------------------


def test_realism(clean_read):
    _, _, p = clean_read
    periods = p["billing.subscription_periods"]
    assert len({r["currency"] for r in periods}) > 1
    max_mrr = defaultdict(Decimal)
    max_seats = defaultdict(int)
    subs = defaultdict(set)
    for r in periods:
        max_mrr[r["account_id"]] = max(max_mrr[r["account_id"]], r["mrr"])
        max_seats[r["account_id"]] = max(max_seats[r["account_id"]], r.get("seats", 0))
        subs[r["account_id"]].add(r["subscription_id"])
    assert any(max_mrr[a] >= 5000 and max_seats[a] >= 100 for a in max_mrr), "no enterprise account"
    assert any(1000 <= m < 5000 for m in max_mrr.values()), "no mid-market account"
    assert sum(m < 1000 for m in max_mrr.values()) > 0.5 * len(max_mrr), "too few small accounts"
    churned = {r["account_id"] for r in periods if "cancel_reason" in r}
    assert 0.05 <= len(churned) / len(max_mrr) <= 0.45
    assert any(len(s) > 1 for s in subs.values()), "no reactivated account"
    prospects = {r["account_id"] for r in p["crm.accounts"]} - set(max_mrr)
    assert prospects, "no prospect"
    # weekly rhythm: a weekday is busier than a weekend day
    by_dow = defaultdict(int)
    for r in p["product.usage_events"]:
        by_dow[r["occurred_at"].weekday()] += 1
    assert sum(by_dow[d] for d in range(5)) / 5 > 2 * sum(by_dow[d] for d in (5, 6)) / 2
    # features: about six core ones, some released during the history
    feats = p["product.features"]
    assert 5 <= sum(f["is_core"] for f in feats) <= 8
    assert any(f.get("released_at") and f["released_at"] > date(2024, 11, 1) for f in feats)
    # every ticket priority and channel, every activity type and direction, every invoice status
    assert {r.get("priority") for r in p["support.tickets"]} >= {"low", "normal", "high", "urgent"}
    assert {r.get("channel") for r in p["support.tickets"]} >= {"email", "chat", "phone", "web"}
    assert {r["activity_type"] for r in p["crm.activities"]} == set(CONTRACT["crm.activities"].column("activity_type").values)
    assert {r.get("direction") for r in p["crm.activities"]} >= {"inbound", "outbound"}
    assert {r["status"] for r in p["billing.invoices"]} >= {"paid", "open", "void"}
    assert any(r["amount_due"] < 0 for r in p["billing.invoices"]), "no credit note"
    assert {r["opportunity_type"] for r in p["crm.opportunities"]} == {"new_business", "renewal", "expansion"}
    assert {r["sentiment"] for r in p["product.feedback"]} == {"positive", "neutral", "negative"}
    assert any("deactivated_at" in r for r in p["product.users"])
    # volume: usage events is by far the biggest table
    n = len(p["crm.accounts"])
    assert 100 * n < len(p["product.usage_events"]) < 1000 * n


def test_churners_show_warning_signs(tmp_path):
    """Usage fades before a cancel, on average (noisy, so not for every churner)."""
    run_generate(tmp_path, 400, 21)
    periods = rows_of(tmp_path, "billing.subscription_periods")
    cancels = {}
    for r in periods:
        if r["cancel_reason"]:
            cancels[r["account_id"]] = date.fromisoformat(r["period_end"])
    t = pq.read_table(table_path(tmp_path, "product.usage_events", "parquet"), columns=["account_id", "occurred_at"])
    acc = t.column("account_id").to_pylist()
    ts = t.column("occurred_at").to_pylist()
    last, before = defaultdict(int), defaultdict(int)
    for a, x in zip(acc, ts):
        c = cancels.get(a)
        if c is None:
            continue
        d = (c - x.date()).days
        if 0 < d <= 60:
            last[a] += 1
        elif 120 < d <= 180:
            before[a] += 1
    eligible = [a for a in cancels if before[a] >= 20]
    assert len(eligible) >= 10
    faded = sum(last[a] < 0.75 * before[a] for a in eligible)
    assert 0.3 * len(eligible) < faded < len(eligible), "fading usage should show for many, not all, churners"


# ------------------------------------------------------------------------------------------------
# bad rows
# ------------------------------------------------------------------------------------------------


def _check_bad(root: Path, fmt: str) -> None:
    manifest = read_manifest(root)
    assert manifest, "empty manifest"
    # sorted by table, row_number; one entry per row
    keys = [(m["table"], int(m["row_number"])) for m in manifest]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    assert {m["expected"] for m in manifest} == {"quarantined", "superseded", "staged"}
    # every (table, rule, column) combination the contract allows is there
    got = {(m["table"], m["rule"], m["column"]) for m in manifest}
    for name, t in CONTRACT.items():
        missing = {(name, r, c) for r, c in expected_combos(t)} - got
        assert not missing, f"not covered: {sorted(missing)}"
    # the breaks found by reading the files back are exactly the ones listed
    found, data, parsed = find_breaks(root, fmt)
    listed = defaultdict(set)
    for m in manifest:
        listed[m["table"]].add((int(m["row_number"]), m["rule"], m["column"], m["expected"]))
    for name in CONTRACT:
        extra = sorted(found[name] - listed[name])[:5]
        unlisted = sorted(listed[name] - found[name])[:5]
        assert not extra and not unlisted, f"{name}: found but not listed {extra}; listed but not found {unlisted}"
    # record keys, offset details, duplicate pairs
    reversed_pair = defaultdict(bool)
    by_key = defaultdict(dict)
    for m in manifest:
        t = CONTRACT[m["table"]]
        row = data[m["table"]][int(m["row_number"]) - 1]
        parts = [row[c] for c in t.key]
        assert m["record_key"] == ("" if None in parts else "|".join(parts)), m
        if m["rule"] == "offset_timestamp":
            value = parsed[m["table"]][int(m["row_number"]) - 1][m["column"]]
            assert value.strftime("%Y-%m-%dT%H:%M:%S") == m["detail"]
        if m["rule"] == "duplicate":
            by_key[(m["table"], m["record_key"])][m["expected"]] = int(m["row_number"])
    for (name, key), pair in by_key.items():
        assert set(pair) == {"staged", "superseded"}, (name, key, pair)
        old, new = data[name][pair["superseded"] - 1], data[name][pair["staged"] - 1]
        changed = [c.name for c in CONTRACT[name].columns if old[c.name] != new[c.name]]
        assert changed and not set(changed) & set(CONTRACT[name].key), (name, key, changed)
        if pair["staged"] < pair["superseded"]:
            reversed_pair[name] = True
    assert all(reversed_pair[name] for name in CONTRACT), "a duplicate pair with the newer copy first, in every table"
    # with bad rows, only a small share of the rows is bad
    for name in ("product.usage_events", "crm.activities", "support.tickets"):
        share = len(listed[name]) / len(data[name])
        assert 0.005 < share < 0.1, (name, share)
    # a valid core feature is left
    assert any(r.get("is_core") is True for i, r in enumerate(parsed["product.features"], start=1)
               if not any(x[0] == i for x in found["product.features"]))


def test_bad_rows_parquet(bad_parquet):
    _check_bad(bad_parquet, "parquet")
    info = json.loads((bad_parquet / "generation.json").read_text())
    assert info["arguments"]["bad_rows"] == 0.02
    for name in CONTRACT:
        assert info["row_counts"][name] == len(rows_of(bad_parquet, name))


def test_bad_rows_csv(bad_csv):
    _check_bad(bad_csv, "csv")
    with open(table_path(bad_csv, "support.tickets", "csv"), encoding="utf-8") as fh:
        header = fh.readline()
    assert "ticket_id" in header and LOADED in header


def test_clean_csv_format(tmp_path):
    run_generate(tmp_path, 20, 2, "csv")
    found, data, parsed = find_breaks(tmp_path, "csv")
    assert not any(found.values())
    row = data["support.tickets"][0]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", row["created_at"])
    assert {r["is_primary"] for r in data["crm.contacts"]} <= {"true", "false", None}


def test_scales_with_rate(tmp_path):
    run_generate(tmp_path / "low", 20, 3, "parquet", 0.01)
    run_generate(tmp_path / "high", 20, 3, "parquet", 0.2)
    low = sum(1 for m in read_manifest(tmp_path / "low") if m["table"] == "product.usage_events")
    high = sum(1 for m in read_manifest(tmp_path / "high") if m["table"] == "product.usage_events")
    assert high > 8 * low


@pytest.mark.parametrize("args", [
    ["--accounts", "0"],
    ["--bad-rows", "0.6"],
    ["--bad-rows", "-0.1"],
    ["--start", "2025-01-01", "--end", "2025-01-01"],
])
def test_bad_arguments(tmp_path, capsys, args):
    assert main(["generate", "--out", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("health generate: error:") and "\n" not in err


def test_short_custom_history(tmp_path):
    run_generate(tmp_path, 25, 1, "parquet", 0.0, "--start", "2025-01-01", "--end", "2025-03-31")
    found, data, parsed = find_breaks(tmp_path, "parquet")
    assert not any(found.values())
    for row in parsed["product.usage_events"]:
        assert datetime(2025, 1, 1) <= row["occurred_at"] < datetime(2025, 4, 1)
