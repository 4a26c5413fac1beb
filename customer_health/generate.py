"""Deterministic demo data: a realistic B2B SaaS company's raw tables, per the raw contract.

`health generate` writes every table of contract/raw_contract.yml under
OUT/<source>/<table>.<parquet|csv>, plus OUT/generation.json and
OUT/bad_rows_manifest.csv.

How it works
------------
Accounts are simulated in chunks of CHUNK_ACCOUNTS (memory stays bounded; each
chunk is written before the next is built).  Per chunk:

* a short Python loop per account draws the subscription timeline (start,
  upgrades, downgrades, price changes, cancel, reactivation), opportunities and
  the "stress windows" that precede a cancel (usage fade, more urgent tickets,
  detractor NPS, late payments, fewer engagement touches; each only for some
  churners, and milder "rough patches" for some healthy accounts too);
* everything else is vectorised on an accounts x days grid: daily intensities
  (active users, weekday rhythm, onboarding ramp, stress) feed Poisson draws,
  and each event then picks a user / feature / contact by vectorised sampling
  with rejection (a user must exist and be active, a feature must be released
  and adopted by the account, a contact must exist).

Every random draw comes from numpy Generators seeded by (seed, chunk) -- and a
separate stream for bad rows -- so the same arguments give byte-identical files,
and the clean rows do not depend on --bad-rows.

Bad rows (--bad-rows RATE) are modified copies of good rows with a fresh key
(so no child row ever points at a row that must be quarantined), in-place
UTC-offset rewrites of timestamps (still valid) and older versions of existing
rows (duplicates).  Each is listed in bad_rows_manifest.csv with the rule it
breaks and what the warehouse is expected to do with it.
"""

from __future__ import annotations

import calendar
import json
import math
import random
import resource
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from customer_health.contract import Table, load_contract

DEFAULT_START = date(2024, 11, 1)
DEFAULT_END = date(2026, 10, 31)
CHUNK_ACCOUNTS = 2000
MAX_ACCOUNTS = 9_999_999
DAY = 86_400
NULL = np.iinfo(np.int64).min  # null sentinel of int64 columns (timestamps in s, dates in days, cents, ints)
EPOCH_ORD = date(1970, 1, 1).toordinal()
LOADED_AT = "_loaded_at"

RULES = (
    "missing_required",
    "invalid_type",
    "out_of_range",
    "invalid_value",
    "unknown_reference",
    "solved_before_created",
    "duplicate",
    "offset_timestamp",
)

# id prefix and number of digits of every table's key (and of subscriptions)
ID_SPEC: dict[str, tuple[str, int]] = {
    "crm.accounts": ("acc", 7),
    "crm.contacts": ("con", 9),
    "crm.activities": ("act", 9),
    "crm.opportunities": ("opp", 9),
    "billing.subscription_periods": ("per", 9),
    "billing.subscriptions": ("sub", 9),
    "billing.invoices": ("inv", 9),
    "billing.orders": ("ord", 9),
    "billing.returns": ("ret", 9),
    "support.tickets": ("tkt", 9),
    "support.csat_responses": ("csat", 9),
    "surveys.nps_responses": ("nps", 9),
    "product.users": ("usr", 9),
    "product.usage_events": ("evt", 11),
    "product.feedback": ("fbk", 9),
}

# ----------------------------------------------------------------------------------------------
# Catalogues
# ----------------------------------------------------------------------------------------------

CURRENCIES = ["USD", "EUR", "GBP", "CAD"]
CURRENCY_P = [0.60, 0.20, 0.12, 0.08]
FX = [1.0, 0.92, 0.79, 1.36]  # local units per USD
COUNTRIES = {  # per currency: (codes, probabilities, UTC offsets in hours)
    0: (["US", "US", "US", "MX", "SG", "AU"], [0.45, 0.2, 0.2, 0.05, 0.05, 0.05], [-5, -6, -8, -6, 8, 10]),
    1: (["DE", "FR", "NL", "ES", "IT", "IE", "FI"], [0.3, 0.2, 0.15, 0.12, 0.1, 0.08, 0.05], [1, 1, 1, 1, 1, 0, 2]),
    2: (["GB"], [1.0], [0]),
    3: (["CA", "CA"], [0.7, 0.3], [-5, -8]),
}
PLANS = ["starter", "team", "business", "enterprise"]
PRICE_USD = [19, 35, 49, 65]
# list price per seat per month in each currency (whole units)
PRICE_LOCAL = [[round(p * fx) for p in PRICE_USD] for fx in FX]
SEG_SMALL, SEG_MID, SEG_ENT = 0, 1, 2
SEG_P = [0.78, 0.18, 0.04]
BASE_HAZARD = [0.0165, 0.0105, 0.0055]  # monthly churn hazard by segment at health 0
CANCEL_REASONS = ["price", "product_fit", "competitor", "budget", "no_longer_needed"]
CANCEL_REASON_P = [0.24, 0.22, 0.18, 0.21, 0.15]
INDUSTRIES = [
    "software", "financial_services", "healthcare", "retail", "manufacturing", "education",
    "media", "logistics", "professional_services", "real_estate", "energy", "nonprofit",
]
NAME_A = [
    "North", "Blue", "Silver", "Bright", "Iron", "Clear", "Red", "Green", "Swift", "Stone", "Oak", "Pine",
    "River", "Summit", "Harbor", "Golden", "Cedar", "Maple", "Granite", "Crystal", "Atlas", "Nova",
    "Polar", "Sun", "Falcon", "Eagle", "Lumen", "Vertex", "Apex", "Quantum", "Horizon", "Pioneer",
    "Beacon", "Prairie", "Coastal", "Alpine", "Urban", "Metro", "Evergreen", "Copper", "Orchid",
    "Willow", "Sterling", "Crescent", "Keystone", "Lakeside", "Redwood", "Starlight", "Bluebird", "Zenith",
]
NAME_B = [
    "wind", "peak", "field", "bridge", "gate", "stone", "works", "line", "point", "path", "wave", "light",
    "core", "scale", "stack", "forge", "grid", "bay", "craft", "view", "mark", "ridge", "dale", "vale",
]
NAME_C = [
    "Analytics", "Labs", "Systems", "Logistics", "Health", "Retail", "Foods", "Capital", "Energy",
    "Media", "Robotics", "Software", "Partners", "Group", "Industries", "Studio", "Networks", "Solutions",
    "Consulting", "Learning", "Bank", "Insurance", "Pharma", "Motors", "Travel", "Apparel",
]
NAME_D = ["Inc", "Ltd", "GmbH", "LLC", "Co", "AG", "SA", "BV"]
FIRST = [
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William", "Elizabeth",
    "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
    "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Sandra", "Paul", "Ashley",
    "Steven", "Emily", "Andrew", "Donna", "Kenneth", "Michelle", "Joshua", "Carol", "Kevin", "Amanda",
    "Brian", "Melissa", "George", "Deborah", "Timothy", "Stephanie", "Ronald", "Rebecca", "Jason", "Laura",
    "Lukas", "Sophie", "Mateo", "Chloe", "Noah", "Emma", "Liam", "Olivia", "Hugo", "Lea",
    "Finn", "Mia", "Luca", "Giulia", "Pablo", "Lucia", "Aarav", "Priya", "Wei", "Mei",
    "Kenji", "Yuki", "Omar", "Fatima", "Ivan", "Anna", "Sven", "Ingrid", "Diego", "Camila",
]
LAST = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
    "Mueller", "Schmidt", "Schneider", "Fischer", "Weber", "Dubois", "Lefevre", "Moreau", "Rossi", "Russo",
    "Bianchi", "Jansen", "deVries", "Bakker", "Murphy", "Kelly", "OBrien", "Patel", "Shah", "Kumar",
    "Chen", "Wang", "Li", "Zhang", "Tanaka", "Suzuki", "Sato", "Kim", "Park", "Novak",
    "Kowalski", "Nielsen", "Hansen", "Johansson", "Larsen", "Silva", "Santos", "Costa", "Fernandez", "Ortiz",
]
JOB_TITLES = [
    "CEO", "CTO", "CFO", "COO", "VP Operations", "VP Engineering", "Head of Data", "Data Analyst",
    "Operations Manager", "IT Administrator", "Finance Manager", "Product Manager", "Marketing Manager",
    "Customer Success Lead", "Software Engineer", "Business Analyst", "Procurement Manager", "Office Manager",
]
CSMS = [
    "Alex Morgan", "Jordan Lee", "Sam Patel", "Taylor Brooks", "Casey Nguyen", "Riley Schmidt",
    "Jamie Rossi", "Morgan Dubois", "Avery Chen", "Quinn Murphy", "Drew Kowalski", "Parker Silva",
]
# activity types (contract order) and per-phase probabilities
ACT_TYPES = ["email", "call", "meeting", "business_review", "training", "webinar", "campaign_open", "campaign_click"]
ACT_P_PRE = [0.36, 0.22, 0.20, 0.0, 0.0, 0.04, 0.12, 0.06]
ACT_P_SUB = [0.30, 0.09, 0.07, 0.04, 0.06, 0.06, 0.25, 0.13]
ACT_P_STRESS = [0.38, 0.20, 0.10, 0.08, 0.03, 0.03, 0.12, 0.06]
ACT_P_POST = [0.45, 0.10, 0.05, 0.0, 0.0, 0.05, 0.25, 0.10]
ACT_INBOUND_P = [0.45, 0.30, 0.25, 0.05, 0.10, 1.0, 1.0, 1.0]
TICKET_CHANNELS = ["email", "chat", "phone", "web"]
TICKET_PRIORITIES = ["low", "normal", "high", "urgent"]
TICKET_STATUSES = ["new", "open", "pending", "solved", "closed"]
OPP_TYPES = ["new_business", "renewal", "expansion"]
OPP_STAGES = ["open", "won", "lost"]
INVOICE_STATUSES = ["draft", "open", "paid", "void", "uncollectible"]
ORDER_STATUSES = ["placed", "fulfilled", "cancelled"]
SKUS = [  # (usd price per unit, max quantity, probability)
    (1500, 1, 0.20),  # onboarding package
    (600, 3, 0.22),  # training session
    (2500, 1, 0.10),  # premium support
    (180, 20, 0.18),  # hardware kit
    (3000, 1, 0.08),  # data migration
    (200, 10, 0.22),  # extra storage block
]
RETURN_REASONS = ["damaged", "not_needed", "wrong_item", "duplicate_order", "service_not_delivered", "other"]
ONBOARDING_STEPS = [
    "create_workspace", "invite_team", "connect_data_source", "import_data",
    "configure_integrations", "create_first_dashboard", "set_up_alerts", "complete_training",
]
# (feature_key, feature_name, is_core, release: None | ("before", days before start) | ("during", share of history), popularity)
FEATURES = [
    ("dashboards", "Dashboards", True, None, 10.0),
    ("reports", "Reports", True, ("before", 640), 7.0),
    ("data_sources", "Data sources", True, ("before", 700), 3.0),
    ("alerts", "Alerts", True, ("before", 420), 4.0),
    ("sharing", "Sharing", True, ("before", 300), 3.0),
    ("search", "Search", True, None, 5.0),
    ("exports", "Exports", False, ("before", 500), 2.0),
    ("api_access", "API access", False, ("before", 380), 1.2),
    ("scheduled_reports", "Scheduled reports", False, ("before", 260), 1.5),
    ("custom_fields", "Custom fields", False, ("before", 200), 1.0),
    ("sso", "Single sign-on", False, ("before", 150), 0.4),
    ("audit_log", "Audit log", False, ("before", 90), 0.3),
    ("mobile_app", "Mobile app", False, ("before", 40), 1.3),
    ("embedded_analytics", "Embedded analytics", False, ("before", 20), 0.6),
    ("forecasting", "Forecasting", False, ("during", 0.12), 1.2),
    ("anomaly_detection", "Anomaly detection", False, ("during", 0.26), 0.9),
    ("workflow_automation", "Workflow automation", False, ("during", 0.40), 1.1),
    ("ai_assistant", "AI assistant", False, ("during", 0.55), 1.6),
    ("annotations", "Annotations", False, ("during", 0.70), 0.6),
    ("goals_tracking", "Goals tracking", False, ("during", 0.85), 0.7),
]
NPS_COMMENTS = {
    "detractor": ["Too expensive for what we get", "Too many outages lately", "Support is slow to respond",
                  "Missing features we need", "Hard to use for our team", "Considering other tools"],
    "passive": ["Does the job", "Good but could be faster", "Fine overall", "Reporting could be better"],
    "promoter": ["Love the dashboards", "Great support team", "Saves us hours every week",
                 "Indispensable for our team", "Easy to use and reliable"],
}
CSAT_COMMENTS = {
    "bad": ["Took far too long", "Problem not solved", "Had to explain it three times"],
    "ok": ["Solved eventually", "OK", "Fine"],
    "good": ["Quick and helpful", "Thanks, great help!", "Very friendly agent", "Solved in minutes"],
}
FEEDBACK_BODIES = {
    "positive": ["Love the new dashboards", "Exports are super handy", "The alerts save me time every day",
                 "Great update, much faster now", "Sharing with my team is easy", "Really like the AI assistant"],
    "neutral": ["Would like more chart types", "Please add a dark mode", "Can we get more export formats?",
                "Search could be smarter", "It would help to schedule reports weekly"],
    "negative": ["Dashboards load slowly", "Import keeps failing", "Too many clicks to share a report",
                 "Alerts fire too often", "The app logged me out again", "Cannot find my old reports"],
}

# bad-row value pools
INVALID_TYPE_VALUES = {
    "integer": ["abc", "twelve", "1.2.3", "--", "#REF!"],
    "decimal": ["abc", "12,50 EUR", "1.2.3", "n.a.", "#VALUE!"],
    "boolean": ["maybe", "unsure", "perhaps", "ja?"],
    "date": ["2025-13-45", "yesterday", "31/02/2025", "soon", "2025-02-30"],
    "timestamp": ["2025-13-45T99:00:00", "yesterday", "2025-02-30T10:00:00", "not a time", "24:61"],
}
INVALID_VALUES = {
    "activity_type": ["sms", "linkedin_message", "lunch"],
    "direction": ["internal", "both", "sideways"],
    "opportunity_type": ["upsell", "churn_save", "pilot"],
    "stage": ["negotiation", "closed_won", "qualified"],
    "channel": ["fax", "twitter", "carrier_pigeon"],
    "priority": ["critical", "p1", "whenever"],
    "status": ["escalated", "deleted", "archived"],
    "sentiment": ["angry", "ecstatic", "mixed"],
}
OFFSET_MINUTES = [120, -300, 330, 60, -480, 540, -180, 180]


# ----------------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------------


def day_of(d: date) -> int:
    return d.toordinal() - EPOCH_ORD


def add_months(day: int, k: int) -> int:
    dt = date.fromordinal(day + EPOCH_ORD)
    m = dt.month - 1 + k
    y = dt.year + m // 12
    m = m % 12 + 1
    return date(y, m, min(dt.day, calendar.monthrange(y, m)[1])).toordinal() - EPOCH_ORD


def ids(prefix: str, nums: np.ndarray, width: int) -> pa.Array:
    """Fixed-width ids 'prefix_000123' from non-negative integers; negative numbers give null."""
    nums = np.asarray(nums, dtype=np.int64)
    n = len(nums)
    p = (prefix + "_").encode()
    lp = len(p)
    width_total = lp + width
    buf = np.empty((n, width_total), dtype=np.uint8)
    buf[:, :lp] = np.frombuffer(p, np.uint8)
    v = np.where(nums < 0, 0, nums)
    for i in range(width - 1, -1, -1):
        buf[:, lp + i] = 48 + (v % 10)
        v //= 10
    offsets = np.arange(n + 1, dtype=np.int64) * width_total
    arr = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(buf.tobytes()))
    arr = arr.cast(pa.string())
    if (nums < 0).any():
        arr = pc.if_else(pa.array(nums < 0), pa.scalar(None, pa.string()), arr)
    return arr


def cat(categories: list[str], codes: np.ndarray) -> pa.Array:
    """Strings from category codes; code -1 gives null."""
    codes = np.asarray(codes, dtype=np.int64)
    idx = pa.array(codes, mask=codes < 0)
    return pc.take(pa.array(categories, pa.string()), idx)


def join(*parts) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def pick(rng: np.random.Generator, p, size: int) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return rng.choice(len(p), size=size, p=p / p.sum())


def grouped_choice(rng: np.random.Generator, groups: np.ndarray, pmfs: np.ndarray) -> np.ndarray:
    """One draw per row from the pmf row pmfs[groups[i]] (vectorised)."""
    cum = np.cumsum(pmfs, axis=1)
    cum = cum / cum[:, -1:]
    u = rng.random(len(groups))
    out = (u[:, None] > cum[groups]).sum(axis=1)
    return np.minimum(out, pmfs.shape[1] - 1)


def sample_in_groups(rng: np.random.Generator, group: np.ndarray, offsets: np.ndarray, cum_flat: np.ndarray) -> np.ndarray:
    """Weighted pick of one member of each row's group: members of group g are
    offsets[g]:offsets[g+1] and cum_flat holds g + normalised cumulative weights."""
    r = group + rng.random(len(group))
    idx = np.searchsorted(cum_flat, r, side="right")
    return np.clip(idx, offsets[group], offsets[group + 1] - 1)


def grouped_cum(group_sorted: np.ndarray, weights: np.ndarray, ngroups: int) -> tuple[np.ndarray, np.ndarray]:
    """Offsets and cumulative weights (see sample_in_groups) for members sorted by group."""
    counts = np.bincount(group_sorted, minlength=ngroups)
    offsets = np.zeros(ngroups + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(counts)
    cw = np.cumsum(weights)
    start = np.concatenate([[0.0], cw])[offsets[:-1]]
    total = np.concatenate([[0.0], cw])[offsets[1:]] - start
    tot_m = np.repeat(np.where(total > 0, total, 1.0), counts)
    cum = (cw - np.repeat(start, counts)) / tot_m + group_sorted
    return offsets, cum


def work_seconds(rng: np.random.Generator, n: int, tz: np.ndarray, spread: float = 1.0) -> np.ndarray:
    """Seconds after UTC midnight for events at local working hours in time zone tz (hours)."""
    hour_p = np.array([0.2, 0.1, 0.1, 0.1, 0.2, 0.4, 1.0, 2.5, 5.5, 8.0, 8.5, 8.0, 6.0, 7.5, 8.0, 7.5,
                       6.5, 4.5, 2.8, 2.0, 1.6, 1.2, 0.8, 0.4]) ** spread
    hours = pick(rng, hour_p, n)
    return hours * 3600 + rng.integers(0, 3600, n) - tz * 3600


def lognormal_hours(rng: np.random.Generator, median_h: np.ndarray, sigma: float) -> np.ndarray:
    return (np.exp(rng.normal(0.0, sigma, len(median_h))) * median_h * 3600).astype(np.int64)


def load_delay(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds between an event and the load that brought it in."""
    return np.clip(np.exp(rng.normal(np.log(7200), 1.1, n)), 300, 3 * DAY).astype(np.int64)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def money(x) -> np.ndarray:
    """Amounts in major units -> int64 cents."""
    return np.round(np.asarray(x, dtype=float) * 100).astype(np.int64)


# ----------------------------------------------------------------------------------------------
# Column values -> arrow
# ----------------------------------------------------------------------------------------------


def decimal_array(cents: np.ndarray) -> pa.Array:
    cents = np.asarray(cents, dtype=np.int64)
    n = len(cents)
    mask = cents == NULL
    c = np.where(mask, 0, cents)
    data = np.empty((n, 2), dtype=np.int64)
    data[:, 0] = c
    data[:, 1] = np.where(c < 0, -1, 0)
    validity = None
    if mask.any():
        validity = pa.array(~mask).buffers()[1]
        # pa.array(bool) buffers: [validity, data]; the data bitmap of ~mask is what we need
    return pa.Array.from_buffers(pa.decimal128(18, 2), n, [validity, pa.py_buffer(data.tobytes())], null_count=int(mask.sum()))


def to_arrow(col_type: str, v) -> pa.Array:
    if isinstance(v, pa.ChunkedArray):
        v = v.combine_chunks()
    if isinstance(v, pa.Array):
        return v
    v = np.asarray(v)
    if col_type == "string":
        raise TypeError("string columns must be arrow arrays")
    if col_type == "timestamp":
        mask = v == NULL
        return pa.array(np.where(mask, 0, v) * 1_000_000, pa.int64(), mask=mask).cast(pa.timestamp("us"))
    if col_type == "date":
        mask = v == NULL
        return pa.array(np.where(mask, 0, v).astype(np.int32), pa.int32(), mask=mask).cast(pa.date32())
    if col_type == "decimal":
        return decimal_array(v)
    if col_type == "integer":
        mask = v == NULL
        return pa.array(np.where(mask, 0, v), pa.int64(), mask=mask)
    if col_type == "boolean":
        mask = v < 0
        return pa.array(v > 0, pa.bool_(), mask=mask)
    raise ValueError(col_type)


ARROW_TYPES = {
    "string": pa.string(),
    "integer": pa.int64(),
    "decimal": pa.decimal128(18, 2),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
}


def typed_schema(table: Table) -> pa.Schema:
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in table.columns] + [pa.field(LOADED_AT, pa.timestamp("us"))])


def text_schema(table: Table, loaded_as_text: bool) -> pa.Schema:
    lt = pa.string() if loaded_as_text else pa.timestamp("us")
    return pa.schema([pa.field(c.name, pa.string()) for c in table.columns] + [pa.field(LOADED_AT, lt)])


def ts_text(arr: pa.Array) -> pa.Array:
    """timestamp[us] -> 'YYYY-MM-DDTHH:MM:SS'."""
    s = pc.cast(pc.cast(arr, pa.timestamp("s")), pa.string())
    return pc.replace_substring(s, " ", "T", max_replacements=1)


def as_text(col_type: str, arr: pa.Array) -> pa.Array:
    if col_type == "string":
        return arr
    if col_type == "timestamp":
        return ts_text(arr)
    return pc.cast(arr, pa.string())


def build_table(table: Table, cols: dict, loaded: np.ndarray) -> pa.Table:
    arrays = [to_arrow(c.type, cols[c.name]) for c in table.columns]
    arrays.append(to_arrow("timestamp", loaded))
    return pa.Table.from_arrays(arrays, schema=typed_schema(table))


# ----------------------------------------------------------------------------------------------
# Run context
# ----------------------------------------------------------------------------------------------


@dataclass
class Ctx:
    accounts: int
    seed: int
    start: date
    end: date
    fmt: str
    rate: float
    S: int = 0  # first day (days since epoch)
    E: int = 0  # last day, inclusive
    H: int = 0  # number of days
    end_ts: int = 0  # end of history, exclusive (seconds)
    counters: dict = field(default_factory=dict)
    feat_release: np.ndarray | None = None  # release day per feature (NULL = none)
    feat_pop: np.ndarray | None = None
    feat_core: np.ndarray | None = None

    def __post_init__(self):
        self.S = day_of(self.start)
        self.E = day_of(self.end)
        self.H = self.E - self.S + 1
        self.end_ts = (self.E + 1) * DAY
        rel = []
        for _, _, _, release, _ in FEATURES:
            if release is None:
                rel.append(NULL)
            elif release[0] == "before":
                rel.append(self.S - release[1])
            else:
                rel.append(self.S + int(round(release[1] * (self.H - 1))))
        self.feat_release = np.array(rel, dtype=np.int64)
        self.feat_pop = np.array([f[4] for f in FEATURES])
        self.feat_core = np.array([f[2] for f in FEATURES])

    def take_ids(self, table: str, n: int) -> np.ndarray:
        """The next n id numbers of a table (ids are numbered across chunks)."""
        first = self.counters.get(table, 1)
        self.counters[table] = first + n
        return np.arange(first, first + n, dtype=np.int64)

    def id_array(self, table: str, n: int) -> pa.Array:
        prefix, width = ID_SPEC[table]
        return ids(prefix, self.take_ids(table, n), width)


def loaded_after(ctx: Ctx, rng: np.random.Generator, last_ts: np.ndarray) -> np.ndarray:
    return np.minimum(last_ts + load_delay(rng, len(last_ts)), ctx.end_ts)


def features_table(ctx: Ctx, contract: dict[str, Table]) -> pa.Table:
    rng = np.random.default_rng(np.random.SeedSequence([ctx.seed, 99, 1]))
    rel = ctx.feat_release
    first_ts = np.where(rel == NULL, ctx.S, np.maximum(rel, ctx.S)) * DAY + 9 * 3600
    cols = {
        "feature_key": pa.array([f[0] for f in FEATURES]),
        "feature_name": pa.array([f[1] for f in FEATURES]),
        "is_core": np.array([1 if f[2] else 0 for f in FEATURES], dtype=np.int8),
        "released_at": rel,
    }
    return build_table(contract["product.features"], cols, loaded_after(ctx, rng, first_ts.astype(np.int64)))


# ----------------------------------------------------------------------------------------------
# The simulation of one chunk of accounts
# ----------------------------------------------------------------------------------------------


def _segments(rng: np.random.Generator, na: int) -> np.ndarray:
    """Stratified segment assignment: each chunk has (almost exactly) the target mix."""
    u = (np.arange(na) + rng.random(na)) / na
    seg = np.where(u < SEG_P[2], SEG_ENT, np.where(u < SEG_P[2] + SEG_P[1], SEG_MID, SEG_SMALL))
    return rng.permutation(seg)


def simulate_chunk(ctx: Ctx, contract: dict[str, Table], ci: int, acc0: int, na: int) -> tuple[dict[str, pa.Table], dict]:
    rng = np.random.default_rng(np.random.SeedSequence([ctx.seed, 1, ci]))
    R = random.Random(int(rng.integers(0, 2**62)))
    r = R.random
    S, E, H, END_TS = ctx.S, ctx.E, ctx.H, ctx.end_ts
    out: dict[str, pa.Table] = {}
    extras: dict = {}

    # ---------------- accounts ----------------
    acc_no = np.arange(acc0 + 1, acc0 + na + 1, dtype=np.int64)
    seg = _segments(rng, na)
    health = rng.normal(0.0, 1.0, na) + 0.2 * seg
    cur = pick(rng, CURRENCY_P, na)
    country_code = np.zeros(na, dtype=np.int64)
    tz = np.zeros(na, dtype=np.int64)
    country_names: list[str] = []
    for c, (codes, p, offs) in COUNTRIES.items():
        m = np.flatnonzero(cur == c)
        k = pick(rng, p, len(m))
        for code in codes:
            if code not in country_names:
                country_names.append(code)
        country_code[m] = [country_names.index(codes[i]) for i in k]
        tz[m] = np.array(offs)[k]

    init_len = max(1, int(round(0.06 * H)))
    late_end = max(init_len + 1, H - max(1, int(round(0.03 * H))))
    initial = rng.random(na) < 0.40
    x = -1.0 + np.sqrt(1.0 + 3.0 * rng.random(na))  # density rising 1 -> 2 over the history: growth
    created_day = np.where(initial, S + rng.integers(0, init_len, na), S + init_len + (x * (late_end - init_len)).astype(np.int64))
    created_day = np.minimum(created_day, E)
    created_ts = created_day * DAY + rng.integers(7 * 3600, 19 * 3600, na)
    created_ts = np.minimum(created_ts, END_TS - 3600)
    lag_mean = np.array([5.0, 20.0, 40.0])[seg]
    lag = np.where(initial, rng.integers(0, 3, na), rng.exponential(lag_mean)).astype(np.int64)
    sub_start = created_day + lag
    prospect = (rng.random(na) < 0.04) | (sub_start > E - 1)
    sub_start = np.where(prospect, -1, sub_start)

    plan0 = np.where(seg == SEG_SMALL, (rng.random(na) < 0.4).astype(np.int64),
                     np.where(seg == SEG_MID, np.where(rng.random(na) < 0.3, 1, 2), 3))
    target_usd = np.where(
        seg == SEG_SMALL, np.clip(np.exp(rng.normal(np.log(220), 0.8, na)), 19, 730),
        np.where(seg == SEG_MID, np.clip(np.exp(rng.normal(np.log(2200), 0.35, na)), 1300, 3600),
                 np.clip(8000 * (1 + rng.pareto(1.6, na)), 8000, 150000)))
    discount = np.where(seg == SEG_ENT, np.round(rng.uniform(0, 0.15, na), 2), 0.0)
    price_local = np.array(PRICE_LOCAL)[cur, plan0]
    seats0 = np.maximum(1, np.round(target_usd / np.array(PRICE_USD)[plan0])).astype(np.int64)
    lo = np.where(seg == SEG_MID, np.ceil(1010 / price_local), np.where(seg == SEG_ENT, np.ceil(5100 / (price_local * (1 - discount))), 1))
    hi = np.where(seg == SEG_SMALL, np.floor(990 / price_local), np.where(seg == SEG_MID, np.floor(4990 / price_local), 10**6))
    seats0 = np.clip(seats0, lo, hi).astype(np.int64)
    util = np.clip(0.62 + 0.12 * health + rng.normal(0, 0.1, na), 0.3, 1.0)

    n_a = rng.integers(0, len(NAME_A), na)
    n_b = rng.integers(0, len(NAME_B), na)
    n_c = rng.integers(0, len(NAME_C), na)
    n_d = np.where(rng.random(na) < 0.5, rng.integers(0, len(NAME_D), na), -1)
    part_a = cat(NAME_A, n_a)
    part_b = cat(NAME_B, n_b)
    part_c = cat(NAME_C, n_c)
    suffix = pc.fill_null(join(pa.scalar(" "), cat(NAME_D, n_d)), "")
    account_name = join(part_a, part_b, pa.scalar(" "), part_c, suffix)
    domain = join(pc.utf8_lower(part_a), pc.utf8_lower(part_b), pa.scalar("-"), pc.utf8_lower(part_c),
                  pa.scalar("-"), pc.cast(pa.array(acc_no), pa.string()), pa.scalar(".example"))
    emp = np.where(seg == SEG_SMALL, np.exp(rng.normal(np.log(40), 0.9, na)),
                   np.where(seg == SEG_MID, np.exp(rng.normal(np.log(400), 0.7, na)), np.exp(rng.normal(np.log(5000), 1.0, na))))
    emp = np.clip(np.round(emp), 2, 2_000_000).astype(np.int64)
    emp = np.where(rng.random(na) < 0.06, NULL, emp)
    csm = np.where((seg == SEG_SMALL) & (rng.random(na) < 0.45), -1, rng.integers(0, len(CSMS), na))
    industry = np.where(rng.random(na) < 0.05, -1, rng.integers(0, len(INDUSTRIES), na))
    country_out = np.where(rng.random(na) < 0.02, -1, country_code)
    acc_ids = ids("acc", acc_no, ID_SPEC["crm.accounts"][1])
    out["crm.accounts"] = build_table(contract["crm.accounts"], {
        "account_id": acc_ids,
        "account_name": account_name,
        "industry": cat(INDUSTRIES, industry),
        "country_code": cat(country_names, country_out),
        "employee_count": emp,
        "csm_owner": cat(CSMS, csm),
        "created_at": created_ts,
    }, loaded_after(ctx, rng, created_ts))

    # ---------------- subscription timelines (python loop per account) ----------------
    subs = []  # (acc, start_day, end_day|-1, reactivation 0/1)
    periods = []  # (acc, sub_local, plan, seats, mrr_cents, start_day, end_day|-1, cancel_reason|-1)
    windows = []  # (acc, sub_local|-1, ws, we, flags, severity, churn 0/1)
    groups = []  # user groups: (acc, sub_local, n, start_day, spread_days)
    opps = []  # (acc, type, stage, amount_cents|NULL, created_ts, close_day|NULL)
    price_tab = PRICE_LOCAL
    F_USAGE, F_TICKETS, F_NPS, F_PAY, F_CRM, F_DOWN = 1, 2, 4, 8, 16, 32
    churn_flag_p = ((F_USAGE, 0.70), (F_TICKETS, 0.50), (F_NPS, 0.50), (F_PAY, 0.40), (F_CRM, 0.40), (F_DOWN, 0.20))
    rough_flag_p = ((F_USAGE, 0.35), (F_TICKETS, 0.35), (F_NPS, 0.30), (F_PAY, 0.25), (F_CRM, 0.30))

    def opp_time(day: int) -> int:
        return day * DAY + int(9 * 3600 + r() * 8 * 3600)

    for a in range(na):
        h = float(health[a])
        sg = int(seg[a])
        cu = int(cur[a])
        disc = float(discount[a])
        ct = int(created_ts[a])
        cday = int(created_day[a])
        ut = float(util[a])
        if prospect[a]:
            est = int(seats0[a]) * price_tab[cu][int(plan0[a])] * 12 * 100
            oc = max(ct + 3600, opp_time(cday + int(r() * 10)))
            if oc < END_TS:
                close = cday + 20 + int(r() * 80)
                if close <= E and r() < 0.7:
                    opps.append((a, 0, 2, est, oc, close))
                else:
                    opps.append((a, 0, 0, est if r() < 0.9 else NULL, oc, cday + 60 + int(r() * 60)))
            continue
        t = int(sub_start[a])
        plan = int(plan0[a])
        seats = int(seats0[a])
        mult = 1.0
        reac = False
        first_start = t
        while True:
            sl = len(subs)

            def mrr_of(pl, se, mu):
                return int(round(se * price_tab[cu][pl] * (1 - disc) * mu * 100))

            hazard = BASE_HAZARD[sg] * math.exp(-0.7 * h) * (1.4 if reac else 1.0)
            tenure_days = max(40.0, -math.log(1.0 - r()) / hazard * 30.44)
            cancel = add_months(t, int(math.ceil(tenure_days / 30.44)))
            if cancel > E:
                cancel = -1
            bound = cancel if cancel > 0 else E + 1
            flags = 0
            ws = -1
            if cancel > 0:
                ws = max(t + 20, cancel - 60 - int(r() * 60))
                for f, p in churn_flag_p:
                    if r() < p:
                        flags |= f
                windows.append((a, sl, ws, cancel, flags, 0.6 + 0.4 * r(), 1))
            # plan changes
            cand = []
            up_rate = 0.045 * math.exp(0.5 * h) / 30.44
            down_rate = 0.02 * math.exp(-0.4 * h) / 30.44
            day = t + 30
            while True:
                day += 14 + int(-math.log(1.0 - r()) / (up_rate + down_rate))
                if day >= bound:
                    break
                cand.append((day, "up" if r() < up_rate / (up_rate + down_rate) else "down"))
            y = 1
            while True:
                ann = add_months(t, 12 * y)
                if ann >= bound:
                    break
                if r() < 0.3:
                    cand.append((ann, "price"))
                y += 1
            if flags & F_DOWN and cancel - ws > 14:
                cand.append((ws + int(r() * (cancel - ws - 7)), "down"))
            cand.sort()
            pstart = t
            pstate = (plan, seats, mult)
            sub_periods = []
            last_day = t
            for day, kind in cand:
                if day - last_day < 10 or day >= bound - 3:
                    continue
                pl, se, mu = pstate
                if kind == "up":
                    if r() < 0.25 and pl in (0, 1):
                        pl += 1
                    else:
                        se = max(se + 1, int(round(se * (1.1 + 0.4 * r()))))
                elif kind == "down":
                    if r() < 0.25 and pl in (1, 2):
                        pl -= 1
                    elif se > 1:
                        se = max(1, min(se - 1, int(round(se * (0.6 + 0.3 * r())))))
                    else:
                        continue
                else:
                    mu = mu * (1.05 + 0.03 * r())
                sub_periods.append((pstart, day, pstate))
                old_mrr = mrr_of(*pstate)
                new_mrr = mrr_of(pl, se, mu)
                if se > pstate[1]:
                    groups.append((a, sl, int(round((se - pstate[1]) * ut)), day, 7.0))
                if new_mrr > old_mrr and kind == "up":
                    oc = max(t * DAY + 3600, opp_time(day - 20 - int(r() * 40)))
                    opps.append((a, 2, 1, 12 * (new_mrr - old_mrr), oc, day))
                pstart = day
                pstate = (pl, se, mu)
                last_day = day
            sub_periods.append((pstart, cancel, pstate))
            subs.append((a, t, cancel, 1 if reac else 0))
            reason = CANCEL_REASONS[int(np.searchsorted(np.cumsum(CANCEL_REASON_P), r() * 0.99999))] if cancel > 0 else None
            for i, (ps, pe, (pl, se, mu)) in enumerate(sub_periods):
                last = i == len(sub_periods) - 1
                periods.append((a, sl, pl, se, mrr_of(pl, se, mu), ps, pe, CANCEL_REASONS.index(reason) if (last and reason) else -1))
            groups.append((a, sl, max(1, int(round(seats * ut))), t, 10.0 if not reac else 5.0))
            mrr0 = mrr_of(plan, seats, mult)
            # opportunities: new business (or win-back), renewals, lost expansion attempts
            oc = max(ct + 1800, opp_time(t - 10 - int(r() * 30))) if not reac else opp_time(t - 5 - int(r() * 20))
            opps.append((a, 0, 1, 12 * mrr0, min(oc, t * DAY + 3600 * 8), t))
            if sg != SEG_SMALL or r() < 0.15:
                y = 1
                while True:
                    ann = add_months(t, 12 * y)
                    oday = ann - 90
                    if oday > E or (cancel > 0 and oday >= cancel):
                        break
                    pl, se, mu = next(st for ps, pe, st in reversed(sub_periods) if ps <= max(oday, t))
                    amt = 12 * mrr_of(pl, se, mu)
                    if cancel > 0 and cancel <= ann + 30:
                        opps.append((a, 1, 2, amt, opp_time(max(oday, t + 1)), min(cancel, E)))
                    elif ann <= E:
                        opps.append((a, 1, 1, amt, opp_time(max(oday, t + 1)), ann - int(r() * 25)))
                    else:
                        opps.append((a, 1, 0, amt, opp_time(max(oday, t + 1)), ann))
                    y += 1
            if h > 0 and r() < 0.25:
                od = t + 60 + int(r() * max(1, bound - t - 60))
                if od < bound and od <= E:
                    cl = od + 30 + int(r() * 60)
                    opps.append((a, 2, 2 if cl <= E else 0, int(12 * mrr0 * (0.2 + 0.3 * r())), opp_time(od), cl))
            if cancel < 0:
                break
            p_re = (0.28 if not reac else 0.12) * min(1.6, max(0.4, 1.0 + 0.3 * h))
            if r() < p_re:
                t2 = cancel + 45 + int(r() * 200)
                if t2 <= E - 7:
                    t = t2
                    reac = True
                    seats = max(1, int(round(seats * (0.6 + 0.4 * r()))))
                    continue
            break
        # a rough patch for some accounts (noise: healthy customers show signals too)
        if r() < 0.30 + 0.1 * max(0.0, -h):
            lo_d = first_start + 30
            hi_d = E - 60
            if hi_d > lo_d:
                ws2 = lo_d + int(r() * (hi_d - lo_d))
                flags = 0
                for f, p in rough_flag_p:
                    if r() < p:
                        flags |= f
                windows.append((a, -1, ws2, ws2 + 60 + int(r() * 60), flags, 0.3 + 0.4 * r(), 0))

    sub_arr = np.array(subs, dtype=np.int64).reshape(-1, 4)
    per_arr = np.array(periods, dtype=np.int64).reshape(-1, 8)
    win_arr = np.array(windows, dtype=np.float64).reshape(-1, 7)
    grp_arr = np.array(groups, dtype=np.float64).reshape(-1, 5)
    opp_arr = np.array(opps, dtype=np.int64).reshape(-1, 6)
    nsub = len(sub_arr)
    sub_acc, sub_s, sub_e = sub_arr[:, 0], sub_arr[:, 1], sub_arr[:, 2]
    sub_bound = np.where(sub_e > 0, sub_e, E + 1)
    sub_nums = ctx.take_ids("billing.subscriptions", nsub)  # subs are in account order already
    sub_id = ids("sub", sub_nums, ID_SPEC["billing.subscriptions"][1])
    first_sub_start = np.full(na, E + 1, dtype=np.int64)
    np.minimum.at(first_sub_start, sub_acc, sub_s)
    first_sub_cancel = np.full(na, E + 1, dtype=np.int64)
    if nsub:
        first_idx = np.full(na, -1)
        # index of each account's first subscription (subs are appended in time order per account)
        firsts = np.flatnonzero(np.r_[True, sub_acc[1:] != sub_acc[:-1]])
        first_idx[sub_acc[firsts]] = firsts
        has = first_idx >= 0
        first_sub_cancel[has] = sub_bound[first_idx[has]]

    # ---------------- subscription periods ----------------
    p_acc, p_sub = per_arr[:, 0], per_arr[:, 1]
    p_start, p_end = per_arr[:, 5], per_arr[:, 6]
    p_end_null = np.where(p_end > 0, p_end, NULL)
    p_last = np.where(p_end > 0, p_end, p_start) * DAY + rng.integers(0, 6 * 3600, len(per_arr))
    cur_code = cat(CURRENCIES, cur[p_acc])
    out["billing.subscription_periods"] = build_table(contract["billing.subscription_periods"], {
        "period_id": ctx.id_array("billing.subscription_periods", len(per_arr)),
        "subscription_id": pc.take(sub_id, pa.array(p_sub)),
        "account_id": pc.take(acc_ids, pa.array(p_acc)),
        "plan_id": cat(PLANS, per_arr[:, 2]),
        "seats": per_arr[:, 3],
        "mrr": per_arr[:, 4],
        "currency": cur_code,
        "period_start": p_start,
        "period_end": p_end_null,
        "cancel_reason": cat(CANCEL_REASONS, per_arr[:, 7]),
    }, loaded_after(ctx, rng, p_last))

    # ---------------- day grid: activity and stress ----------------
    days = np.arange(S, E + 1, dtype=np.int64)
    dow = (days + 3) % 7  # 0 = Monday
    wd_usage = np.array([1.05, 1.05, 1.0, 1.0, 0.88, 0.22, 0.16])[dow]
    wd_work = np.array([1.1, 1.05, 1.0, 1.0, 0.85, 0.12, 0.08])[dow]
    dt64 = days.astype("datetime64[D]")
    month = dt64.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dom = (dt64 - dt64.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    season = np.where(((month == 12) & (dom >= 22)) | ((month == 1) & (dom <= 2)), 0.45, 1.0) * np.where(month == 8, 0.88, 1.0)

    def interval_matrix(acc, s_day, e_day, weight=None):
        """Sum over intervals [s, e) (days) of weight, per account and day."""
        m = np.zeros((na, H + 1), dtype=np.float32)
        s_i = np.clip(s_day - S, 0, H)
        e_i = np.clip(e_day - S, 0, H)
        w = np.ones(len(acc), dtype=np.float32) if weight is None else weight.astype(np.float32)
        keep = e_i > s_i
        np.add.at(m, (acc[keep], s_i[keep]), w[keep])
        np.add.at(m, (acc[keep], e_i[keep]), -w[keep])
        return np.cumsum(m, axis=1)[:, :H]

    active = interval_matrix(sub_acc, sub_s, sub_bound) > 0.5
    # days since the current subscription started
    last_start = np.full((na, H), -10**6, dtype=np.int64)
    if nsub:
        si = np.clip(sub_s - S, 0, H - 1)
        np.maximum.at(last_start, (sub_acc, si), sub_s)
    last_start = np.maximum.accumulate(last_start, axis=1)
    since = (days[None, :] - last_start).astype(np.float32)
    ramp = np.where(active, 1.0 - 0.75 * np.exp(-since / 21.0), 0.0).astype(np.float32)
    onboarding_bump = np.where(active, 1.0 + 1.2 * np.exp(-since / 30.0), 0.0).astype(np.float32)
    pre = (days[None, :] >= created_day[:, None]) & (days[None, :] < first_sub_start[:, None])
    post = (days[None, :] >= first_sub_start[:, None]) & ~active
    since_created = (days[None, :] - created_day[:, None]).astype(np.float32)

    usage_f = np.ones((na, H), dtype=np.float32)
    ticket_f = np.ones((na, H), dtype=np.float32)
    nps_shift = np.zeros((na, H), dtype=np.float32)
    pay_p = np.zeros((na, H), dtype=np.float32)
    crm_stress = np.zeros((na, H), dtype=bool)
    feedback_shift = np.zeros((na, H), dtype=np.float32)
    for wa, wsub, ws, we, flags, sev, churn in win_arr:
        a = int(wa)
        j0 = int(np.clip(ws - S, 0, H))
        j1 = int(np.clip(we - S, 0, H))
        if j1 <= j0:
            continue
        fl = int(flags)
        ln = j1 - j0
        if fl & F_USAGE:
            fmin = 1.0 - sev * (0.85 if churn else 0.6)
            usage_f[a, j0:j1] = np.minimum(usage_f[a, j0:j1], np.linspace(1.0, fmin, ln))
        if fl & F_TICKETS:
            ticket_f[a, j0:j1] *= 1.0 + sev * (2.5 if churn else 1.5)
        if fl & F_NPS:
            nps_shift[a, j0:j1] -= sev * (5.0 if churn else 3.0)
            feedback_shift[a, j0:j1] -= sev * 1.2
        if fl & F_PAY:
            pay_p[a, j0:j1] = np.maximum(pay_p[a, j0:j1], sev * (0.75 if churn else 0.45))
        if fl & F_CRM:
            crm_stress[a, j0:j1] = True

    # ---------------- contacts ----------------
    n_con = np.where(seg == SEG_SMALL, 1 + rng.poisson(1.5, na), np.where(seg == SEG_MID, 3 + rng.poisson(4, na), 6 + rng.poisson(10, na)))
    c_acc = np.repeat(np.arange(na), n_con)
    nc = len(c_acc)
    c_first = np.r_[True, c_acc[1:] != c_acc[:-1]] if nc else np.zeros(0, bool)
    early = rng.random(nc) < 0.65
    span = np.maximum(END_TS - created_ts[c_acc], 3600)
    c_created = np.where(c_first, created_ts[c_acc],
                         np.where(early, created_ts[c_acc] + (rng.exponential(10.0, nc) * DAY).astype(np.int64),
                                  created_ts[c_acc] + (rng.random(nc) * span).astype(np.int64)))
    c_created = np.minimum(c_created, END_TS - 60)
    order = np.lexsort((~c_first, c_created, c_acc))
    c_acc, c_created, c_first = c_acc[order], c_created[order], c_first[order]
    c_primary = np.r_[True, c_acc[1:] != c_acc[:-1]] if nc else np.zeros(0, bool)
    c_fn = rng.integers(0, len(FIRST), nc)
    c_ln = rng.integers(0, len(LAST), nc)
    con_nums = ctx.take_ids("crm.contacts", nc)
    con_ids = ids("con", con_nums, ID_SPEC["crm.contacts"][1])
    c_email = person_emails(c_acc, c_fn, c_ln, domain)
    c_email = pc.if_else(pa.array(rng.random(nc) < 0.03), pa.scalar(None, pa.string()), c_email)
    out["crm.contacts"] = build_table(contract["crm.contacts"], {
        "contact_id": con_ids,
        "account_id": pc.take(acc_ids, pa.array(c_acc)),
        "email": c_email,
        "full_name": join(cat(FIRST, c_fn), pa.scalar(" "), cat(LAST, c_ln)),
        "job_title": cat(JOB_TITLES, np.where(rng.random(nc) < 0.06, -1, rng.integers(0, len(JOB_TITLES), nc))),
        "is_primary": np.where(c_primary, 1, np.where(rng.random(nc) < 0.03, -1, 0)).astype(np.int8),
        "created_at": c_created,
    }, loaded_after(ctx, rng, c_created))
    c_off = np.zeros(na + 1, dtype=np.int64)
    c_off[1:] = np.cumsum(np.bincount(c_acc, minlength=na))

    def pick_contact(acc: np.ndarray, ts: np.ndarray, p_null: float) -> np.ndarray:
        """A contact of the account that existed at ts (else the primary one); -1 = none."""
        cnt = c_off[acc + 1] - c_off[acc]
        idx = c_off[acc] + (rng.random(len(acc)) * cnt).astype(np.int64)
        idx = np.minimum(idx, c_off[acc + 1] - 1)
        ok = c_created[idx] <= ts
        idx = np.where(ok, idx, c_off[acc])
        return np.where(rng.random(len(acc)) < p_null, -1, idx)

    # ---------------- users ----------------
    g_acc = grp_arr[:, 0].astype(np.int64)
    g_sub = grp_arr[:, 1].astype(np.int64)
    g_n = np.maximum(grp_arr[:, 2].astype(np.int64), 0)
    g_start = grp_arr[:, 3].astype(np.int64)
    g_spread = grp_arr[:, 4]
    u_grp = np.repeat(np.arange(len(grp_arr)), g_n)
    u_first = np.r_[True, u_grp[1:] != u_grp[:-1]] if len(u_grp) else np.zeros(0, bool)
    u_acc = g_acc[u_grp]
    u_sub = g_sub[u_grp]
    nu = len(u_grp)
    delay = np.where(u_first, 0.0, rng.exponential(g_spread[u_grp]))
    u_created = (g_start[u_grp] + delay.astype(np.int64)) * DAY + work_seconds(rng, nu, tz[u_acc])
    u_created = np.maximum(u_created, created_ts[u_acc] + 600)
    keep = u_created < np.minimum(sub_bound[u_sub] * DAY, END_TS)
    u_acc, u_sub, u_created = u_acc[keep], u_sub[keep], u_created[keep]
    nu = len(u_acc)
    # turnover, with replacements
    u_deact = u_created + (rng.exponential(4.0 * 365, nu) * DAY).astype(np.int64)
    turn = (u_deact < np.minimum(sub_bound[u_sub] * DAY, END_TS) - 5 * DAY) & (rng.random(nu) < 0.6)
    rep_created = u_deact[turn] + (rng.exponential(7.0, int(turn.sum())) * DAY).astype(np.int64)
    rep_keep = rep_created < np.minimum(sub_bound[u_sub[turn]] * DAY, END_TS)
    u_acc = np.concatenate([u_acc, u_acc[turn][rep_keep]])
    u_sub = np.concatenate([u_sub, u_sub[turn][rep_keep]])
    u_created = np.concatenate([u_created, rep_created[rep_keep]])
    u_deact = np.concatenate([u_deact, np.full(int(rep_keep.sum()), np.iinfo(np.int64).max)])
    nu = len(u_acc)
    # cancel: most accounts deactivate their users soon after
    cleanup = rng.random(na) < 0.85
    canc = sub_e[u_sub] > 0
    cl = canc & cleanup[u_acc]
    u_deact = np.where(cl, np.minimum(u_deact, sub_e[u_sub] * DAY + (rng.random(nu) * 12 * DAY).astype(np.int64)), u_deact)
    # usage fade before a cancel: some users leave during the window
    for wa, wsub, ws, we, flags, sev, churn in win_arr:
        if churn and int(flags) & F_USAGE:
            m = np.flatnonzero(u_sub == int(wsub))
            if len(m):
                leave = m[rng.random(len(m)) < 0.25 + 0.35 * sev]
                t_leave = (ws + rng.random(len(leave)) * (we - ws)) * DAY
                u_deact[leave] = np.minimum(u_deact[leave], t_leave.astype(np.int64))
    u_deact = np.maximum(u_deact, u_created + DAY)
    u_deact = np.where(u_deact >= END_TS, NULL, u_deact)
    order = np.lexsort((u_created, u_acc))
    u_acc, u_sub, u_created, u_deact = u_acc[order], u_sub[order], u_created[order], u_deact[order]
    u_fn = rng.integers(0, len(FIRST), nu)
    u_ln = rng.integers(0, len(LAST), nu)
    usr_ids = ctx.id_array("product.users", nu)
    u_last = np.where(u_deact == NULL, u_created, u_deact)
    out["product.users"] = build_table(contract["product.users"], {
        "user_id": usr_ids,
        "account_id": pc.take(acc_ids, pa.array(u_acc)),
        "email": pc.if_else(pa.array(rng.random(nu) < 0.01), pa.scalar(None, pa.string()), person_emails(u_acc, u_fn, u_ln, domain)),
        "created_at": u_created,
        "deactivated_at": u_deact,
    }, loaded_after(ctx, rng, u_last))
    u_end = np.where(u_deact == NULL, np.iinfo(np.int64).max, u_deact)
    u_weight = np.exp(rng.normal(0, 1.0, nu))
    u_off, u_cum = grouped_cum(u_acc, u_weight, na)
    u_cday = u_created // DAY
    u_eday = np.where(u_deact == NULL, E + 1, u_deact // DAY)
    active_users = interval_matrix(u_acc, u_cday, u_eday)

    def pick_user(acc: np.ndarray, ts: np.ndarray, rounds: int = 6) -> np.ndarray:
        """An active user of the account at ts, weighted (power users); -1 if none found."""
        res = np.full(len(acc), -1, dtype=np.int64)
        todo = np.flatnonzero(u_off[acc + 1] > u_off[acc])
        for _ in range(rounds):
            if not len(todo):
                break
            cand = sample_in_groups(rng, acc[todo], u_off, u_cum)
            ok = (u_created[cand] <= ts[todo]) & (ts[todo] < u_end[cand])
            res[todo[ok]] = cand[ok]
            todo = todo[~ok]
        return res

    # ---------------- features adopted per account ----------------
    F = len(FEATURES)
    rel = np.where(ctx.feat_release == NULL, -10**6, ctx.feat_release)
    core = ctx.feat_core
    p_adopt = np.where(core[None, :], sigmoid(2.0 + 1.2 * health[:, None]), sigmoid(-0.6 + 0.8 * health[:, None] + 0.5 * seg[:, None]))
    adopted = rng.random((na, F)) < p_adopt
    adopted[:, 0] = True
    lagd = np.where(core[None, :], rng.exponential(20.0, (na, F)), rng.exponential(90.0, (na, F))).astype(np.int64)
    lagd[:, 0] = 0
    adopt_day = np.maximum(first_sub_start[:, None], rel[None, :]) + lagd
    adopt_day = np.where(adopted, adopt_day, 10**9)
    fw = ctx.feat_pop[None, :] * np.exp(rng.normal(0, 0.6, (na, F))) * adopted
    f_cum = np.cumsum(fw, axis=1)
    f_cum = (f_cum / f_cum[:, -1:] + np.arange(na)[:, None]).ravel()
    f_off = np.arange(na + 1, dtype=np.int64) * F

    # ---------------- usage events ----------------
    usage_noise = np.exp(rng.normal(0, 0.35, na) + 0.3 * health)
    lam = (0.072 * np.power(active_users, 0.85) * (usage_noise[:, None] * wd_usage[None, :] * season[None, :])
           * ramp * usage_f)
    cnt = rng.poisson(np.where(active, lam, 0.0))
    e_acc, e_j = np.nonzero(cnt)
    rep = cnt[e_acc, e_j]
    e_acc = np.repeat(e_acc, rep)
    e_day = np.repeat(e_j, rep) + S
    e_ts = e_day * DAY + work_seconds(rng, len(e_acc), tz[e_acc], spread=1.3)
    e_ts = np.maximum(e_ts, created_ts[e_acc] + 600)
    e_user = pick_user(e_acc, e_ts)
    keep = (e_user >= 0) & (e_ts < END_TS)
    e_acc, e_ts, e_user = e_acc[keep], e_ts[keep], e_user[keep]
    ne = len(e_acc)
    e_dayutc = e_ts // DAY
    e_feat = np.zeros(ne, dtype=np.int64)
    todo = np.arange(ne)
    for _ in range(5):
        if not len(todo):
            break
        f = sample_in_groups(rng, e_acc[todo], f_off, f_cum) - f_off[e_acc[todo]]
        ok = adopt_day[e_acc[todo], f] <= e_dayutc[todo]
        e_feat[todo[ok]] = f[ok]
        todo = todo[~ok]
    e_feat[todo] = 0  # fall back to the always-available core feature
    order = np.argsort((e_acc << 34) + (e_ts - (S - 1) * DAY), kind="stable")
    e_acc, e_ts, e_user, e_feat = e_acc[order], e_ts[order], e_user[order], e_feat[order]
    out["product.usage_events"] = build_table(contract["product.usage_events"], {
        "event_id": ctx.id_array("product.usage_events", ne),
        "user_id": pc.take(usr_ids, pa.array(e_user)),
        "account_id": pc.take(acc_ids, pa.array(e_acc)),
        "feature_key": cat([f[0] for f in FEATURES], e_feat),
        "occurred_at": e_ts,
    }, loaded_after(ctx, rng, e_ts))
    del cnt, lam

    # ---------------- tickets ----------------
    lam_t = 0.019 * np.power(active_users + 1.0, 0.6) * onboarding_bump * ticket_f * wd_work[None, :]
    cnt = rng.poisson(np.where(active, lam_t, 0.0))
    t_acc, t_j = np.nonzero(cnt)
    rep = cnt[t_acc, t_j]
    t_acc = np.repeat(t_acc, rep)
    t_jj = np.repeat(t_j, rep)
    nt = len(t_acc)
    t_created = (t_jj + S) * DAY + work_seconds(rng, nt, tz[t_acc])
    t_created = np.clip(t_created, created_ts[t_acc] + 600, END_TS - 60)
    stressed = ticket_f[t_acc, t_jj] > 1.01
    prio_p = np.array([[0.22, 0.55, 0.17, 0.06], [0.10, 0.38, 0.32, 0.20]])
    t_prio = grouped_choice(rng, stressed.astype(np.int64), prio_p)
    ent_more = (seg[t_acc] == SEG_ENT) & (t_prio == 1) & (rng.random(nt) < 0.15)
    t_prio = np.where(ent_more, 2, t_prio)
    chan_p = np.array([[0.40, 0.27, 0.08, 0.25], [0.35, 0.20, 0.25, 0.20]])
    t_chan = grouped_choice(rng, (seg[t_acc] == SEG_ENT).astype(np.int64), chan_p)
    t_chan = np.where(rng.random(nt) < 0.02, -1, t_chan)
    t_prio_out = np.where(rng.random(nt) < 0.02, -1, t_prio)
    fr_med = np.array([8.0, 3.0, 1.0, 0.3])[t_prio]
    first_resp = t_created + np.maximum(60, lognormal_hours(rng, fr_med, 1.0))
    res_med = np.array([48.0, 24.0, 10.0, 5.0])[t_prio] * np.where(stressed, 1.8, 1.0)
    resolve = lognormal_hours(rng, res_med, 1.1)
    reopen = rng.geometric(np.where(stressed, 0.7, 0.88)) - 1
    reopen_extra = (rng.exponential(48.0, nt) * 3600 * reopen).astype(np.int64)
    solved = first_resp + resolve + reopen_extra
    never = rng.random(nt) < 0.01
    is_solved = (solved < END_TS) & ~never
    responded = (first_resp < END_TS) & ~(~is_solved & (rng.random(nt) < 0.3))
    t_status = np.where(is_solved, np.where((solved + 4 * DAY < END_TS) & (rng.random(nt) < 0.95), 4, 3),
                        np.where(responded, np.where(rng.random(nt) < 0.6, 1, 2), 0))
    replies = np.where(is_solved, 1 + rng.poisson(1.2 + reopen), np.where(responded, 1 + rng.poisson(0.8, nt), 0))
    t_first_out = np.where(responded, first_resp, NULL)
    t_solved_out = np.where(is_solved, solved, NULL)
    reopen_out = np.where(responded, reopen, 0)
    t_contact = pick_contact(t_acc, t_created, 0.08)
    order = np.lexsort((t_created, t_acc))
    t_acc, t_jj, t_created, t_first_out, t_solved_out = t_acc[order], t_jj[order], t_created[order], t_first_out[order], t_solved_out[order]
    t_prio, t_prio_out, t_chan, t_status, replies, reopen_out, t_contact, stressed, resolve = (
        t_prio[order], t_prio_out[order], t_chan[order], t_status[order], replies[order], reopen_out[order],
        t_contact[order], stressed[order], resolve[order])
    tkt_ids = ctx.id_array("support.tickets", nt)
    t_last = np.maximum(t_created, np.maximum(t_first_out, t_solved_out))
    out["support.tickets"] = build_table(contract["support.tickets"], {
        "ticket_id": tkt_ids,
        "account_id": pc.take(acc_ids, pa.array(t_acc)),
        "requester_contact_id": pc.take(con_ids, pa.array(t_contact, mask=t_contact < 0)),
        "channel": cat(TICKET_CHANNELS, t_chan),
        "priority": cat(TICKET_PRIORITIES, t_prio_out),
        "status": cat(TICKET_STATUSES, t_status),
        "created_at": t_created,
        "first_response_at": t_first_out,
        "solved_at": t_solved_out,
        "agent_reply_count": replies,
        "reopen_count": reopen_out,
    }, loaded_after(ctx, rng, t_last))

    # ---------------- CSAT ----------------
    sv = np.flatnonzero((t_solved_out != NULL) & (rng.random(nt) < 0.32))
    cs_resp = t_solved_out[sv] + np.maximum(120, lognormal_hours(rng, np.full(len(sv), 6.0), 1.2))
    k = cs_resp < END_TS
    sv, cs_resp = sv[k], cs_resp[k]
    ncs = len(sv)
    latent = (4.15 + 0.35 * health[t_acc[sv]] - 0.3 * np.log1p(resolve[sv] / 86400.0) - 0.7 * stressed[sv]
              - 0.25 * (t_prio[sv] == 3) + rng.normal(0, 0.85, ncs))
    cs_score = np.clip(np.round(latent), 1, 5).astype(np.int64)
    cs_comment = comments(rng, np.where(cs_score <= 2, 0, np.where(cs_score == 3, 1, 2)),
                          [CSAT_COMMENTS["bad"], CSAT_COMMENTS["ok"], CSAT_COMMENTS["good"]], 0.35)
    out["support.csat_responses"] = build_table(contract["support.csat_responses"], {
        "response_id": ctx.id_array("support.csat_responses", ncs),
        "ticket_id": pc.take(tkt_ids, pa.array(sv)),
        "score": cs_score,
        "comment": cs_comment,
        "responded_at": cs_resp,
    }, loaded_after(ctx, rng, cs_resp))

    # ---------------- NPS ----------------
    nps_in = nps_shift < -0.01
    lam_n = 0.0017 * n_con[:, None] * np.where(nps_in, 1.6, 1.0) * np.where(since > 45, 1.0, 0.2)
    cnt = rng.poisson(np.where(active, lam_n, 0.0))
    n_acc, n_j = np.nonzero(cnt)
    rep = cnt[n_acc, n_j]
    n_acc = np.repeat(n_acc, rep)
    n_jj = np.repeat(n_j, rep)
    nn = len(n_acc)
    n_ts = np.clip((n_jj + S) * DAY + work_seconds(rng, nn, tz[n_acc]), created_ts[n_acc] + 600, END_TS - 1)
    n_score = np.clip(np.round(7.3 + 1.3 * health[n_acc] + nps_shift[n_acc, n_jj] + rng.normal(0, 1.7, nn)), 0, 10).astype(np.int64)
    n_contact = pick_contact(n_acc, n_ts, 0.05)
    order = np.lexsort((n_ts, n_acc))
    n_acc, n_ts, n_score, n_contact = n_acc[order], n_ts[order], n_score[order], n_contact[order]
    n_comment = comments(rng, np.where(n_score <= 6, 0, np.where(n_score <= 8, 1, 2)),
                         [NPS_COMMENTS["detractor"], NPS_COMMENTS["passive"], NPS_COMMENTS["promoter"]], 0.3)
    out["surveys.nps_responses"] = build_table(contract["surveys.nps_responses"], {
        "response_id": ctx.id_array("surveys.nps_responses", nn),
        "account_id": pc.take(acc_ids, pa.array(n_acc)),
        "contact_id": pc.take(con_ids, pa.array(n_contact, mask=n_contact < 0)),
        "score": n_score,
        "comment": n_comment,
        "responded_at": n_ts,
    }, loaded_after(ctx, rng, n_ts))

    # ---------------- CRM activities ----------------
    base_act = np.array([0.105, 0.22, 0.45])[seg]
    prospect_decay = np.where(prospect[:, None], np.exp(-np.maximum(since_created, 0) / 150.0), 1.0)
    phase_rate = np.where(active, 1.0, np.where(pre, 0.5 * prospect_decay, np.where(post, 0.1, 0.0)))
    lam_a = base_act[:, None] * phase_rate * wd_work[None, :] * np.where(active & crm_stress, 0.75, 1.0)
    cnt = rng.poisson(lam_a)
    a_acc, a_j = np.nonzero(cnt)
    rep = cnt[a_acc, a_j]
    a_acc = np.repeat(a_acc, rep)
    a_jj = np.repeat(a_j, rep)
    nact = len(a_acc)
    phase = np.where(active[a_acc, a_jj], np.where(crm_stress[a_acc, a_jj], 2, 1), np.where(pre[a_acc, a_jj], 0, 3))
    a_type = grouped_choice(rng, phase, np.array([ACT_P_PRE, ACT_P_SUB, ACT_P_STRESS, ACT_P_POST]))
    a_dir = np.where(rng.random(nact) < np.array(ACT_INBOUND_P)[a_type], 0, 1)
    a_dir = np.where(rng.random(nact) < 0.02, -1, a_dir)
    a_ts = np.clip((a_jj + S) * DAY + work_seconds(rng, nact, tz[a_acc]), created_ts[a_acc] + 600, END_TS - 1)
    a_contact = pick_contact(a_acc, a_ts, 0.0)
    a_contact = np.where((a_type < 6) & (rng.random(nact) < 0.1), -1, a_contact)
    order = np.lexsort((a_ts, a_acc))
    a_acc, a_ts, a_type, a_dir, a_contact = a_acc[order], a_ts[order], a_type[order], a_dir[order], a_contact[order]
    out["crm.activities"] = build_table(contract["crm.activities"], {
        "activity_id": ctx.id_array("crm.activities", nact),
        "account_id": pc.take(acc_ids, pa.array(a_acc)),
        "contact_id": pc.take(con_ids, pa.array(a_contact, mask=a_contact < 0)),
        "activity_type": cat(ACT_TYPES, a_type),
        "direction": cat(["inbound", "outbound"], a_dir),
        "occurred_at": a_ts,
    }, loaded_after(ctx, rng, a_ts))

    # ---------------- opportunities ----------------
    o_acc = opp_arr[:, 0]
    o_created = np.clip(opp_arr[:, 4], created_ts[o_acc] + 60, END_TS - 1)
    o_close = opp_arr[:, 5]
    o_close = np.where(opp_arr[:, 2] == 0, o_close, np.maximum(o_close, o_created // DAY))
    o_amount = np.where(opp_arr[:, 3] == NULL, NULL, np.maximum(opp_arr[:, 3], 0))
    o_amount = np.where((opp_arr[:, 2] == 0) & (rng.random(len(opp_arr)) < 0.05), NULL, o_amount)
    o_cur = np.where((o_amount == NULL) & (rng.random(len(opp_arr)) < 0.5), -1, cur[o_acc])  # no amount, maybe no currency
    order = np.lexsort((o_created, o_acc))
    o_acc, o_created, o_close, o_amount, o_cur, o_type, o_stage = (
        o_acc[order], o_created[order], o_close[order], o_amount[order], o_cur[order], opp_arr[order, 1], opp_arr[order, 2])
    o_last = np.where(o_stage == 0, o_created, np.maximum(o_created, o_close * DAY + 17 * 3600))
    out["crm.opportunities"] = build_table(contract["crm.opportunities"], {
        "opportunity_id": ctx.id_array("crm.opportunities", len(o_acc)),
        "account_id": pc.take(acc_ids, pa.array(o_acc)),
        "opportunity_type": cat(OPP_TYPES, o_type),
        "stage": cat(OPP_STAGES, o_stage),
        "amount": o_amount,
        "currency": cat(CURRENCIES, o_cur),
        "created_at": o_created,
        "close_date": o_close,
    }, loaded_after(ctx, rng, np.minimum(o_last, END_TS - 1)))

    # ---------------- orders and returns ----------------
    lam_o = (np.array([0.0016, 0.0035, 0.007])[seg])[:, None] * wd_work[None, :] * onboarding_bump
    cnt = rng.poisson(np.where(active, lam_o, 0.0))
    r_acc, r_j = np.nonzero(cnt)
    rep = cnt[r_acc, r_j]
    or_acc = np.repeat(r_acc, rep)
    or_j = np.repeat(r_j, rep)
    no = len(or_acc)
    or_ts = np.clip((or_j + S) * DAY + work_seconds(rng, no, tz[or_acc]), created_ts[or_acc] + 600, END_TS - 1)
    sku = pick(rng, [s[2] for s in SKUS], no)
    qty = 1 + (rng.random(no) * np.array([s[1] for s in SKUS])[sku]).astype(np.int64)
    unit = np.round(np.array([s[0] for s in SKUS])[sku] * np.array(FX)[cur[or_acc]])
    or_amount = money(unit * qty)
    recent = or_ts > END_TS - 21 * DAY
    u = rng.random(no)
    or_status = np.where(recent & (u < 0.7), 0, np.where(u < 0.01, 0, np.where(u < 0.11, 2, 1)))
    order = np.lexsort((or_ts, or_acc))
    or_acc, or_ts, or_amount, or_status = or_acc[order], or_ts[order], or_amount[order], or_status[order]
    ord_ids = ctx.id_array("billing.orders", no)
    or_fulfil = or_ts + ((0.5 + rng.random(no) * 5) * DAY).astype(np.int64)
    or_last = np.where(or_status == 0, or_ts, np.minimum(or_fulfil, END_TS - 1))
    out["billing.orders"] = build_table(contract["billing.orders"], {
        "order_id": ord_ids,
        "account_id": pc.take(acc_ids, pa.array(or_acc)),
        "ordered_at": or_ts,
        "amount": or_amount,
        "currency": cat(CURRENCIES, cur[or_acc]),
        "status": cat(ORDER_STATUSES, or_status),
    }, loaded_after(ctx, rng, or_last))
    rt = np.flatnonzero((or_status == 1) & (rng.random(no) < 0.10))
    if ci == 0 and len(rt) < 3:  # tiny runs: a few rows in every table, so every bad-row rule has a row to break
        rt = np.union1d(rt, np.flatnonzero(or_status == 1)[:3])
    rt_ts = or_ts[rt] + ((3 + rng.random(len(rt)) * 57) * DAY).astype(np.int64)
    k = rt_ts < END_TS
    rt, rt_ts = rt[k], rt_ts[k]
    nr = len(rt)
    whole = rng.random(nr) < 0.45
    rt_amount = np.where(whole, or_amount[rt], np.maximum(1, (or_amount[rt] * rng.uniform(0.1, 0.9, nr)).astype(np.int64)))
    order = np.lexsort((rt_ts, or_acc[rt]))
    rt, rt_ts, rt_amount = rt[order], rt_ts[order], rt_amount[order]
    out["billing.returns"] = build_table(contract["billing.returns"], {
        "return_id": ctx.id_array("billing.returns", nr),
        "order_id": pc.take(ord_ids, pa.array(rt)),
        "returned_at": rt_ts,
        "amount": rt_amount,
        "reason": cat(RETURN_REASONS, np.where(rng.random(nr) < 0.1, -1, rng.integers(0, len(RETURN_REASONS), nr))),
    }, loaded_after(ctx, rng, rt_ts))

    # ---------------- invoices ----------------
    out["billing.invoices"] = invoices(ctx, contract, rng, acc_ids, sub_id, seg, cur, health, pay_p, sub_acc, sub_s, sub_bound,
                                       per_arr, or_acc, or_ts, or_amount, or_status)

    # ---------------- onboarding ----------------
    nstep = len(ONBOARDING_STEPS)
    has_sub = first_sub_start <= E
    p_next = sigmoid(2.3 + 1.1 * health[:, None] + 0.3 * seg[:, None] - 0.35 * np.arange(nstep)[None, :])
    succ = rng.random((na, nstep)) < p_next
    succ[:, 0] = True
    done = np.cumprod(succ, axis=1).astype(bool) & has_sub[:, None]
    gaps = rng.exponential(1.5 + 0.8 * np.arange(nstep)[None, :], (na, nstep)) * np.where(rng.random((na, nstep)) < 0.1, 8.0, 1.0)
    gaps[:, 0] = rng.random(na) * 0.3
    ob_ts = first_sub_start[:, None] * DAY + 9 * 3600 + (np.cumsum(gaps, axis=1) * DAY).astype(np.int64) - tz[:, None] * 3600
    ob_ts = np.maximum(ob_ts, created_ts[:, None] + 600 + np.arange(nstep)[None, :] * 60)
    done &= (ob_ts < np.minimum(first_sub_cancel[:, None] * DAY, END_TS))
    done = np.cumprod(done, axis=1).astype(bool)
    ob_acc, ob_step = np.nonzero(done)
    ob_time = ob_ts[ob_acc, ob_step]
    out["product.onboarding_steps"] = build_table(contract["product.onboarding_steps"], {
        "account_id": pc.take(acc_ids, pa.array(ob_acc)),
        "step_key": cat(ONBOARDING_STEPS, ob_step),
        "completed_at": ob_time,
    }, loaded_after(ctx, rng, ob_time))
    # fresh (account, step) pairs that are not in the data: keys for bad copies of onboarding rows
    ndone = done.sum(axis=1)
    fa = np.flatnonzero((ndone > 0) & (ndone < nstep))
    fr_acc = np.repeat(fa, nstep - ndone[fa])
    fr_step = np.concatenate([np.arange(ndone[a], nstep) for a in fa]) if len(fa) else np.zeros(0, np.int64)
    last_row = np.cumsum(ndone) - 1
    fr_src = last_row[fr_acc]
    fr_ts = np.minimum(ob_time[fr_src] + (fr_step - ndone[fr_acc] + 1) * 2 * DAY, END_TS - 1)
    extras["onboarding_fresh"] = (fr_src, fr_step, fr_ts)

    # ---------------- feedback ----------------
    lam_f = 0.0028 * np.sqrt(active_users) * wd_work[None, :]
    cnt = rng.poisson(np.where(active, lam_f, 0.0))
    f_acc, f_j = np.nonzero(cnt)
    rep = cnt[f_acc, f_j]
    f_acc = np.repeat(f_acc, rep)
    f_jj = np.repeat(f_j, rep)
    nf = len(f_acc)
    f_ts = np.clip((f_jj + S) * DAY + work_seconds(rng, nf, tz[f_acc]), created_ts[f_acc] + 600, END_TS - 1)
    f_user = pick_user(f_acc, f_ts, rounds=3)
    f_user = np.where(rng.random(nf) < 0.05, -1, f_user)
    lat = 0.35 * health[f_acc] + feedback_shift[f_acc, f_jj] - 0.6 * (usage_f[f_acc, f_jj] < 0.8) + rng.normal(0, 1.0, nf)
    sent = np.where(lat > 0.45, 0, np.where(lat < -0.7, 2, 1))
    order = np.lexsort((f_ts, f_acc))
    f_acc, f_ts, f_user, sent = f_acc[order], f_ts[order], f_user[order], sent[order]
    bodies = [FEEDBACK_BODIES["positive"], FEEDBACK_BODIES["neutral"], FEEDBACK_BODIES["negative"]]
    out["product.feedback"] = build_table(contract["product.feedback"], {
        "feedback_id": ctx.id_array("product.feedback", nf),
        "account_id": pc.take(acc_ids, pa.array(f_acc)),
        "user_id": pc.take(usr_ids, pa.array(f_user, mask=f_user < 0)),
        "sentiment": cat(["positive", "neutral", "negative"], sent),
        "body": comments(rng, sent, bodies, 0.95),
        "submitted_at": f_ts,
    }, loaded_after(ctx, rng, f_ts))
    return out, extras


def person_emails(acc: np.ndarray, fn: np.ndarray, ln: np.ndarray, domain: pa.Array) -> pa.Array:
    """firstname.lastname@domain, with a number when the name repeats within the account."""
    n = len(acc)
    key = (acc * len(FIRST) + fn) * len(LAST) + ln
    order = np.argsort(key, kind="stable")
    ks = key[order]
    start = np.r_[True, ks[1:] != ks[:-1]] if n else np.zeros(0, bool)
    grp_start = np.maximum.accumulate(np.where(start, np.arange(n), 0)) if n else np.zeros(0, np.int64)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - grp_start
    nums = [""] + [str(i + 1) for i in range(1, 1000)]
    suffix = cat(nums, np.minimum(rank, 999))
    local = join(pc.utf8_lower(cat(FIRST, fn)), pa.scalar("."), pc.utf8_lower(cat(LAST, ln)), suffix)
    return join(local, pa.scalar("@"), pc.take(domain, pa.array(acc)))


def comments(rng: np.random.Generator, group: np.ndarray, pools: list[list[str]], p: float) -> pa.Array:
    """A comment from pools[group] for a share p of rows, else null."""
    flat = [c for pool in pools for c in pool]
    base = np.cumsum([0] + [len(pool) for pool in pools])
    sizes = np.array([len(pool) for pool in pools])
    idx = base[group] + (rng.random(len(group)) * sizes[group]).astype(np.int64)
    idx = np.where(rng.random(len(group)) < p, idx, -1)
    return cat(flat, idx)


def invoices(ctx: Ctx, contract, rng, acc_ids, sub_id, seg, cur, health, pay_p, sub_acc, sub_s, sub_bound, per_arr,
             or_acc, or_ts, or_amount, or_status) -> pa.Table:
    S, E, END_TS = ctx.S, ctx.E, ctx.end_ts
    # one invoice per subscription per month, on the monthly anniversary of the start
    nm = np.maximum(1, (sub_bound - sub_s + 31) // 28 + 1)
    i_sub = np.repeat(np.arange(len(sub_s)), nm)
    k = np.arange(len(i_sub)) - np.repeat(np.cumsum(nm) - nm, nm)
    s_dt = sub_s[i_sub].astype("datetime64[D]")
    s_m = s_dt.astype("datetime64[M]")
    dom0 = (s_dt - s_m.astype("datetime64[D]")).astype(np.int64)
    m_k = s_m + k
    mlen = ((m_k + 1).astype("datetime64[D]") - m_k.astype("datetime64[D]")).astype(np.int64)
    i_day = (m_k.astype("datetime64[D]") + np.minimum(dom0, mlen - 1)).astype(np.int64)
    keep = (i_day < sub_bound[i_sub]) & (i_day <= E)
    i_sub, i_day = i_sub[keep], i_day[keep]
    ni = len(i_sub)
    i_acc = sub_acc[i_sub]
    # the price in force that day
    p_key = per_arr[:, 1] * 100_000 + (per_arr[:, 5] - S + 50_000)
    i_key = i_sub * 100_000 + (i_day - S + 50_000)
    pi = np.clip(np.searchsorted(p_key, i_key, side="right") - 1, 0, max(len(per_arr) - 1, 0))
    amount = per_arr[pi, 4] if len(per_arr) else np.zeros(0, np.int64)
    issued = i_day * DAY + rng.integers(1 * 3600, 6 * 3600, ni)
    terms = np.where(seg[i_acc] == SEG_SMALL, 14, np.where((seg[i_acc] == SEG_ENT) & (rng.random(ni) < 0.5), 45, 30))
    autopay = (seg[i_acc] == SEG_SMALL) & (rng.random(ni) < 0.7)
    j = np.clip(i_day - S, 0, ctx.H - 1)
    stress_p = pay_p[i_acc, j]
    p_late = 0.05 + 0.04 * (health[i_acc] < -1.0) + stress_p
    late = rng.random(ni) < p_late
    unpaid = late & (rng.random(ni) < np.where(stress_p > 0, 0.35, 0.05))
    autopay &= ~late
    pay_delay = np.where(autopay, rng.exponential(2 * 3600, ni),
                         np.where(late, (terms + 1 + rng.exponential(20.0, ni)) * DAY, (0.5 + rng.random(ni) * (terms - 0.5)) * DAY))
    paid_ts = issued + pay_delay.astype(np.int64)
    due = i_day + terms
    is_paid = ~unpaid & (paid_ts < END_TS)
    status = np.where(is_paid, 2, np.where(unpaid & (due + 60 < E), 4, 1))
    void = rng.random(ni) < 0.008
    status = np.where(void, 3, status)
    status = np.where(i_day >= E, 0, status)  # the run of the last day is still a draft
    partial = (status == 1) & (rng.random(ni) < 0.1)
    paid_amt = np.where(status == 2, amount, np.where(partial, amount // 2, 0))
    paid_amt = np.where(status == 0, NULL, paid_amt)
    paid_at = np.where(status == 2, paid_ts, NULL)
    sub_col = i_sub.copy()
    # credit notes
    cn = np.flatnonzero((status == 2) & (rng.random(ni) < 0.02))
    cn_issued = paid_ts[cn] + ((1 + rng.random(len(cn)) * 19) * DAY).astype(np.int64)
    kk = cn_issued < END_TS
    cn, cn_issued = cn[kk], cn_issued[kk]
    cn_amt = -np.maximum(100, (amount[cn] * rng.uniform(0.05, 1.0, len(cn))).astype(np.int64))
    # invoices for fulfilled one-off orders
    oi = np.flatnonzero(or_status == 1)
    oi_issued = np.minimum(or_ts[oi] + (rng.random(len(oi)) * 2 * DAY).astype(np.int64), END_TS - 1)
    oi_paid = oi_issued + ((1 + rng.random(len(oi)) * 25) * DAY).astype(np.int64)
    oi_status = np.where(oi_paid < END_TS, 2, 1)
    all_acc = np.concatenate([i_acc, i_acc[cn], or_acc[oi]])
    all_sub = np.concatenate([sub_col, sub_col[cn], np.full(len(oi), -1)])
    all_issued = np.concatenate([issued, cn_issued, oi_issued])
    all_due = np.concatenate([due, cn_issued // DAY, oi_issued // DAY + 30])
    all_amount = np.concatenate([amount, cn_amt, or_amount[oi]])
    all_paid_amt = np.concatenate([paid_amt, np.zeros(len(cn), np.int64), np.where(oi_status == 2, or_amount[oi], 0)])
    all_status = np.concatenate([status, np.full(len(cn), 2), oi_status])
    all_paid_at = np.concatenate([paid_at, cn_issued, np.where(oi_status == 2, oi_paid, NULL)])
    order = np.lexsort((all_issued, all_acc))
    all_acc, all_sub, all_issued, all_due, all_amount, all_paid_amt, all_status, all_paid_at = (
        all_acc[order], all_sub[order], all_issued[order], all_due[order], all_amount[order], all_paid_amt[order],
        all_status[order], all_paid_at[order])
    n = len(all_acc)
    last = np.maximum(all_issued, all_paid_at)
    return build_table(contract["billing.invoices"], {
        "invoice_id": ctx.id_array("billing.invoices", n),
        "account_id": pc.take(acc_ids, pa.array(all_acc)),
        "subscription_id": pc.take(sub_id, pa.array(all_sub, mask=all_sub < 0)),
        "issued_at": all_issued,
        "due_date": all_due,
        "amount_due": all_amount,
        "amount_paid": all_paid_amt,
        "currency": cat(CURRENCIES, cur[all_acc]),
        "status": cat(INVOICE_STATUSES, all_status),
        "paid_at": all_paid_at,
    }, loaded_after(ctx, rng, last))


# ----------------------------------------------------------------------------------------------
# Bad rows
# ----------------------------------------------------------------------------------------------

# the column whose time marks a row's first version (for the _loaded_at of an older duplicate)
FIRST_TS = {
    "crm.accounts": "created_at", "crm.contacts": "created_at", "crm.activities": "occurred_at",
    "crm.opportunities": "created_at", "billing.subscription_periods": "period_start", "billing.invoices": "issued_at",
    "billing.orders": "ordered_at", "billing.returns": "returned_at", "support.tickets": "created_at",
    "support.csat_responses": "responded_at", "surveys.nps_responses": "responded_at", "product.users": "created_at",
    "product.usage_events": "occurred_at", "product.features": "released_at", "product.onboarding_steps": "completed_at",
    "product.feedback": "submitted_at",
}
MANIFEST_SCHEMA = pa.schema([
    ("table", pa.string()), ("row_number", pa.int64()), ("record_key", pa.string()), ("rule", pa.string()),
    ("column", pa.string()), ("expected", pa.string()), ("detail", pa.string()),
])
NULL_STR = pa.scalar(None, pa.string())


def rule_combos(table: Table) -> list[tuple[str, str]]:
    """Every (rule, column) a bad row of this table can break; column '' for duplicate."""
    combos: list[tuple[str, str]] = []
    names = {c.name for c in table.columns}
    for c in table.columns:
        if c.required:
            combos.append(("missing_required", c.name))
        if c.type != "string":
            combos.append(("invalid_type", c.name))
        if c.range is not None:
            combos.append(("out_of_range", c.name))
        if c.values:
            combos.append(("invalid_value", c.name))
        if c.references:
            combos.append(("unknown_reference", c.name))
        if c.type == "timestamp":
            combos.append(("offset_timestamp", c.name))
    if {"created_at", "solved_at"} <= names:
        combos.append(("solved_before_created", "solved_at"))
    combos.append(("duplicate", ""))
    return combos


def ts_seconds(arr: pa.Array) -> np.ndarray:
    """timestamp / date arrow array -> int64 seconds, NULL for null."""
    if pa.types.is_date32(arr.type):
        v = pc.cast(arr, pa.int32()).to_numpy(zero_copy_only=False)
        v = np.where(pc.is_null(arr).to_numpy(zero_copy_only=False), 0, np.nan_to_num(v)).astype(np.int64) * DAY
    else:
        v = pc.cast(arr, pa.int64())
        v = np.asarray(pc.fill_null(v, 0).to_numpy(zero_copy_only=False), dtype=np.int64) // 1_000_000
    return np.where(pc.is_null(arr).to_numpy(zero_copy_only=False), NULL, v)


def secs_text(secs: np.ndarray) -> pa.Array:
    return ts_text(to_arrow("timestamp", secs))


def int_text(v: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(v, dtype=np.int64)), pa.string())


def cents_text(v: np.ndarray) -> pa.Array:
    return pc.cast(decimal_array(np.asarray(v, dtype=np.int64)), pa.string())


def nulls(k: int) -> pa.Array:
    return pa.nulls(k, pa.string())


def _other_of(rng, current: pa.Array, pool: list[str]) -> pa.Array:
    """A value from pool different from the current one (null current -> any)."""
    k = len(current)
    cur = current.to_pylist()
    idx = np.array([pool.index(c) if c in pool else -1 for c in cur], dtype=np.int64)
    shift = 1 + rng.integers(0, len(pool) - 1, k)
    new = np.where(idx < 0, rng.integers(0, len(pool), k), (idx + shift) % len(pool))
    return cat(pool, new)


def dup_changes(name: str, T: pa.Table, X: dict[str, pa.Array], rng) -> dict[str, pa.Array]:
    """The older version of rows T (typed) / X (text): changed, still valid, non-key values."""
    k = T.num_rows

    def col(c):
        return T.column(c).combine_chunks()

    def isnull(c):
        return pc.is_null(col(c)).to_numpy(zero_copy_only=False)

    def eq(c, value):
        return pc.fill_null(pc.equal(col(c), value), False).to_numpy(zero_copy_only=False)

    def where(mask, a, b):
        return pc.if_else(pa.array(mask), a, b)

    if name == "crm.accounts":
        return {"csm_owner": _other_of(rng, col("csm_owner"), CSMS)}
    if name == "crm.contacts":
        return {"job_title": _other_of(rng, col("job_title"), JOB_TITLES)}
    if name == "crm.activities":
        inbound = eq("direction", "inbound")
        return {"direction": cat(["inbound", "outbound"], np.where(inbound, 1, 0))}
    if name == "crm.opportunities":
        closed = ~eq("stage", "open")
        amt = decimal_cents(col("amount"))
        old_amt = np.where(amt == NULL, 100_000, (amt * 0.8).astype(np.int64))
        return {"stage": where(closed, pa.scalar("open"), X["stage"]),
                "amount": where(closed, X["amount"], cents_text(old_amt))}
    if name == "billing.subscription_periods":
        ended = ~isnull("period_end")
        seats = np.asarray(pc.fill_null(col("seats"), 1).to_numpy(zero_copy_only=False), dtype=np.int64)
        return {"period_end": where(ended, NULL_STR, X["period_end"]),
                "cancel_reason": where(ended, NULL_STR, X["cancel_reason"]),
                "seats": where(ended, X["seats"], int_text(np.where(seats > 1, seats - 1, seats + 1)))}
    if name == "billing.invoices":
        paid = eq("status", "paid") & (decimal_cents(col("amount_due")) > 0)
        draft = eq("status", "draft")
        to_open = paid | draft
        return {"status": cat(["open", "draft"], np.where(to_open, 0, 1)),
                "amount_paid": where(to_open, pa.scalar("0.00"), NULL_STR),
                "paid_at": nulls(k)}
    if name == "billing.orders":
        placed = eq("status", "placed")
        amt = decimal_cents(col("amount"))
        return {"status": pa.array(["placed"] * k, pa.string()),
                "amount": where(placed, cents_text((amt * 0.9).astype(np.int64)), X["amount"])}
    if name == "billing.returns":
        return {"reason": _other_of(rng, col("reason"), RETURN_REASONS)}
    if name == "support.tickets":
        solved = ~isnull("solved_at")
        responded = ~isnull("first_response_at")
        return {"status": cat(["open", "new", "new"], np.where(solved, 0, np.where(responded, 1, 2))),
                "solved_at": nulls(k),
                "first_response_at": where(solved, X["first_response_at"], NULL_STR),
                "agent_reply_count": where(solved, X["agent_reply_count"], pa.scalar("0")),
                "priority": where(solved | responded, X["priority"], _other_of(rng, col("priority"), TICKET_PRIORITIES))}
    if name in ("support.csat_responses", "surveys.nps_responses"):
        has = ~isnull("comment")
        return {"comment": where(has, NULL_STR, pa.scalar("Thanks"))}
    if name == "product.users":
        deact = ~isnull("deactivated_at")
        has_email = ~isnull("email")
        return {"deactivated_at": nulls(k),
                "email": where(deact, X["email"], where(has_email, NULL_STR, pa.scalar("it-admin@example.com")))}
    if name == "product.usage_events":
        t = ts_seconds(col("occurred_at"))
        return {"occurred_at": secs_text(np.where(t % DAY == 0, t + 1, t - 1))}
    if name == "product.features":
        return {"feature_name": join(X["feature_name"], pa.scalar(" (beta)"))}
    if name == "product.onboarding_steps":
        return {"completed_at": secs_text(ts_seconds(col("completed_at")) - 3600)}
    if name == "product.feedback":
        flat = [b for pool in FEEDBACK_BODIES.values() for b in pool]
        return {"body": _other_of(rng, col("body"), flat)}
    raise KeyError(name)


def decimal_cents(arr: pa.Array) -> np.ndarray:
    """decimal(18,2) arrow array -> int64 cents, NULL for null."""
    if len(arr) == 0:
        return np.zeros(0, np.int64)
    raw = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset * 2:(arr.offset + len(arr)) * 2:2]
    return np.where(pc.is_null(arr).to_numpy(zero_copy_only=False), NULL, raw)


@dataclass
class TableState:
    table: Table
    combos: list
    pending: set
    rows: int = 0
    reversed_done: bool = False
    bad_counter: int = 0
    unknown_counter: int = 0


def _bad_values(st: TableState, rule: str, colname: str, k: int, rng) -> tuple[pa.Array, pa.Array]:
    """(values, detail) for k copies breaking rule on colname."""
    tb = st.table
    c = tb.column(colname)
    if rule == "missing_required":
        return nulls(k), pa.array([f"{colname} is null"] * k, pa.string())
    if rule == "invalid_type":
        pool = INVALID_TYPE_VALUES[c.type]
        vals = cat(pool, rng.integers(0, len(pool), k))
        return vals, join(vals, pa.scalar(f" is not a valid {c.type}"))
    if rule == "out_of_range":
        lo, hi = c.range
        if c.type == "integer":
            below = (rng.random(k) < 0.5) if hi - lo <= 1000 else np.ones(k, bool)
            v = np.where(below, int(lo) - 1 - rng.integers(0, 3, k), int(hi) + 1 + rng.integers(0, 3, k))
            vals = int_text(v)
        else:
            v = np.where(np.ones(k, bool), money(lo) - 1 - rng.integers(0, 50_000, k), 0)
            vals = cents_text(v)
        return vals, join(vals, pa.scalar(f" is outside [{_num(lo)}, {_num(hi)}]"))
    if rule == "invalid_value":
        pool = INVALID_VALUES.get(colname, ["unknown_value", "other_value"])
        assert not set(pool) & set(c.values)
        vals = cat(pool, rng.integers(0, len(pool), k))
        return vals, join(vals, pa.scalar(" is not an allowed value"))
    if rule == "unknown_reference":
        ref_table = c.references.rsplit(".", 1)[0]
        first = st.unknown_counter
        st.unknown_counter += k
        if ref_table in ID_SPEC:
            prefix, width = ID_SPEC[ref_table]
            vals = ids(prefix, 8 * 10**width + first + np.arange(k), width + 1)
        else:
            vals = join(pa.scalar("retired_feature_"), int_text(first + 1 + np.arange(k)))
        return vals, join(vals, pa.scalar(f" does not exist in {c.references}"))
    raise ValueError(rule)


def offset_text(rng, secs: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """UTC seconds -> (local time with a UTC offset, e.g. '2025-03-01T12:00:00+02:00'; the UTC text)."""
    off = np.array(OFFSET_MINUTES)[rng.integers(0, len(OFFSET_MINUTES), len(secs))]
    labels = sorted(set(OFFSET_MINUTES))
    suffix = cat([f"{'-' if o < 0 else '+'}{abs(o) // 60:02d}:{abs(o) % 60:02d}" for o in labels],
                 np.searchsorted(labels, off))
    return join(secs_text(secs + off * 60), suffix), secs_text(secs)


def _num(x) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def inject_bad_rows(ctx: Ctx, st: TableState, contract, T: pa.Table, rng, extras: dict | None) -> tuple[pa.Table, pa.Table | None]:
    tb = st.table
    name = tb.qualified_name
    n = T.num_rows
    text = {c.name: as_text(c.type, T.column(c.name).combine_chunks()) for c in tb.columns}
    loaded = T.column(LOADED_AT).combine_chunks()
    if n == 0:
        return _assemble_plain(tb, text, loaded), None
    combos = st.combos
    total = n * ctx.rate / (1.0 - ctx.rate)
    n_bad = int(math.floor(total)) + int(rng.random() < total - math.floor(total))
    counts = rng.multinomial(n_bad, np.full(len(combos), 1.0 / len(combos)))
    for i, combo in enumerate(combos):
        if combo in st.pending:
            counts[i] = max(counts[i], 2 if combo[0] == "duplicate" else 1)
    key = tb.key
    # --- rows changed in place (offset timestamps) or given an older duplicate: distinct rows
    avail = np.ones(n, dtype=bool)
    plan = dict(zip(combos, counts))
    k_dup = int(min(plan[("duplicate", "")], max(1, n // 2)))
    dsrc = np.sort(rng.choice(n, k_dup, replace=False)) if k_dup else np.zeros(0, np.int64)
    avail[dsrc] = False
    offsets = []
    offset_copies: list[str] = []
    for (rule, colname), kk in plan.items():
        if rule != "offset_timestamp" or kk == 0:
            continue
        notnull = pc.is_valid(T.column(colname).combine_chunks()).to_numpy(zero_copy_only=False)
        cand = np.flatnonzero(notnull & avail)
        kk = min(int(kk), len(cand))
        if kk == 0:
            if (rule, colname) in st.pending:  # no row free to rewrite in place: use a copy with a fresh key
                offset_copies.append(colname)
            continue
        rows = np.sort(rng.choice(cand, kk, replace=False))
        avail[rows] = False
        offsets.append((colname, rows))

    parts = []  # (cols dict, loaded array, pos, sub)
    manifest = []  # (part index, local rows, rule, column, expected, detail)
    parts.append((text, loaded, np.arange(n), np.ones(n, np.int64)))

    # --- copies with a fresh key that break one rule
    fresh = extras.get("onboarding_fresh") if extras else None
    fresh_left = None
    if fresh is not None:
        fresh_left = rng.permutation(len(fresh[0]))
    copy_plan = [(combo, int(kk)) for combo, kk in plan.items() if combo[0] not in ("duplicate", "offset_timestamp")]
    copy_plan += [(("offset_timestamp", c), 1) for c in offset_copies]
    for (rule, colname), kk in copy_plan:
        if kk == 0:
            continue
        if rule == "offset_timestamp":
            cand = np.flatnonzero(pc.is_valid(T.column(colname).combine_chunks()).to_numpy(zero_copy_only=False))
            if not len(cand):
                continue
            src = cand[rng.integers(0, len(cand), kk)]
        elif rule == "solved_before_created":
            cand = np.flatnonzero(pc.is_valid(T.column("solved_at").combine_chunks()).to_numpy(zero_copy_only=False))
            if not len(cand):
                continue
            src = cand[rng.integers(0, len(cand), kk)]
        else:
            src = rng.integers(0, n, kk)
        cols = {c: pc.take(text[c], pa.array(src)) for c in text}
        p_loaded = pc.take(loaded, pa.array(src))
        # a fresh key, so that the copy is a row of its own
        if name == "product.onboarding_steps":
            if colname not in ("account_id", "step_key"):
                take = fresh_left[:kk]
                fresh_left = fresh_left[kk:]
                if len(take) < kk:
                    kk = len(take)
                    if kk == 0:
                        continue
                    src = src[:kk]
                    cols = {c: v[:kk] for c, v in cols.items()}
                    p_loaded = p_loaded[:kk]
                fsrc, fstep, fts = fresh[0][take], fresh[1][take], fresh[2][take]
                src = fsrc
                cols["account_id"] = pc.take(text["account_id"], pa.array(fsrc))
                cols["step_key"] = cat(ONBOARDING_STEPS, fstep)
                cols["completed_at"] = secs_text(fts)
                p_loaded = to_arrow("timestamp", np.minimum(fts + 3600, ctx.end_ts))
        elif name == "product.features":
            first = st.bad_counter
            st.bad_counter += kk
            cols["feature_key"] = join(cols["feature_key"], pa.scalar("_v"), int_text(2 + first + np.arange(kk)))
        else:
            prefix, width = ID_SPEC[name]
            first = st.bad_counter
            st.bad_counter += kk
            cols[key[0]] = ids(prefix, 9 * 10**width + first + np.arange(kk), width + 1)
        if rule == "offset_timestamp":
            v = ts_seconds(pc.strptime(cols[colname], format="%Y-%m-%dT%H:%M:%S", unit="s").cast(pa.timestamp("us")))
            cols[colname], detail = offset_text(rng, v)
            parts.append((cols, p_loaded, src, np.full(kk, 2)))
            manifest.append((len(parts) - 1, np.arange(kk), rule, colname, "staged", detail))
            continue
        if rule == "solved_before_created":
            created = ts_seconds(pc.take(T.column("created_at").combine_chunks(), pa.array(src)))
            bad = created - rng.integers(3600, 5 * DAY, kk)
            cols["solved_at"] = secs_text(bad)
            detail = join(pa.scalar("solved_at "), cols["solved_at"], pa.scalar(" is before created_at "), cols["created_at"])
        else:
            vals, detail = _bad_values(st, rule, colname, kk, rng)
            cols[colname] = vals
        parts.append((cols, p_loaded, src, np.full(kk, 2)))
        manifest.append((len(parts) - 1, np.arange(kk), rule, colname, "quarantined", detail))

    # --- duplicates: an older version of an existing row, usually before it in the file
    if k_dup:
        rev = rng.random(k_dup) < 0.2
        if not st.reversed_done:
            rev[rng.integers(0, k_dup)] = True
        Tsrc = T.take(pa.array(dsrc))
        old = {c: pc.take(text[c], pa.array(dsrc)) for c in text}
        old.update(dup_changes(name, Tsrc, old, rng))
        new_loaded = ts_seconds(Tsrc.column(LOADED_AT).combine_chunks())
        first_ts = ts_seconds(Tsrc.column(FIRST_TS[name]).combine_chunks())
        ok = (first_ts != NULL) & (first_ts < new_loaded)
        span = np.where(ok, new_loaded - first_ts, 0)
        old_loaded = np.where(ok, first_ts + (span * rng.uniform(0.2, 0.8, k_dup)).astype(np.int64),
                              new_loaded - rng.integers(60, DAY, k_dup))
        old_loaded = np.minimum(old_loaded, new_loaded - 1)
        parts.append((old, to_arrow("timestamp", old_loaded), dsrc, np.where(rev, 2, 0)))
        dup_part = len(parts) - 1
    # --- UTC offsets, in place (the row stays valid)
    for colname, rows in offsets:
        v = ts_seconds(pc.take(T.column(colname).combine_chunks(), pa.array(rows)))
        local, utc = offset_text(rng, v)
        mask = np.zeros(n, dtype=bool)
        mask[rows] = True
        text[colname] = pc.replace_with_mask(text[colname], pa.array(mask), local)
        manifest.append((0, rows, "offset_timestamp", colname, "staged", utc))

    # --- assemble in file order
    sizes = [len(p[2]) for p in parts]
    base = np.concatenate([[0], np.cumsum(sizes)])
    names = [c.name for c in tb.columns]
    cols_all = {c: pa.concat_arrays([p[0][c] for p in parts]) for c in names}
    loaded_all = pa.concat_arrays([p[1] for p in parts])
    pos = np.concatenate([p[2] for p in parts])
    sub = np.concatenate([p[3] for p in parts])
    gidx = np.arange(len(pos))
    order = np.lexsort((gidx, sub, pos))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    row_no = st.rows + rank + 1

    if k_dup:
        old_rows = base[dup_part] + np.arange(k_dup)
        manifest.append((dup_part, np.arange(k_dup), "duplicate", "", "superseded",
                         join(pa.scalar("older version of the row at row_number "), int_text(row_no[dsrc]))))
        manifest.append((0, dsrc, "duplicate", "", "staged",
                         join(pa.scalar("latest version; an older copy is at row_number "), int_text(row_no[old_rows]))))

    m_parts = []
    for part, local_rows, rule, colname, expected, detail in manifest:
        g = base[part] + local_rows
        keys = [pc.take(cols_all[c], pa.array(g)) for c in key]
        if len(keys) == 1:
            rk = keys[0]
        else:
            rk = pc.binary_join_element_wise(*keys, "|")  # null when a part is null
        m = len(g)
        m_parts.append(pa.table({
            "table": pa.array([name] * m, pa.string()),
            "row_number": pa.array(row_no[g], pa.int64()),
            "record_key": rk,  # written as an empty field when null
            "rule": pa.array([rule] * m, pa.string()),
            "column": pa.array([colname or None] * m, pa.string()),
            "expected": pa.array([expected] * m, pa.string()),
            "detail": detail.cast(pa.string()),
        }, schema=MANIFEST_SCHEMA))
        st.pending.discard((rule, colname))
    if k_dup and rev.any():
        st.reversed_done = True
    man = pa.concat_tables(m_parts) if m_parts else None
    if man is not None:
        man = man.take(pc.sort_indices(man, [("row_number", "ascending")]))
    final_cols = {c: cols_all[c].take(pa.array(order)) for c in names}
    return _assemble_plain(tb, final_cols, loaded_all.take(pa.array(order))), man


def _assemble_plain(tb: Table, text: dict, loaded: pa.Array) -> pa.Table:
    arrays = [text[c.name] for c in tb.columns] + [loaded]
    return pa.Table.from_arrays(arrays, schema=text_schema(tb, False))


# ----------------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------------


class Sink:
    """One output file, written chunk by chunk."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: str, dictionary: list[str] | None = None):
        self.fmt = fmt
        self.path = path
        if fmt == "parquet":
            self.writer = pq.ParquetWriter(path, schema, compression="zstd", compression_level=3,
                                           use_dictionary=dictionary or False, write_statistics=True, version="2.6")
        else:
            self.writer = pacsv.CSVWriter(path, schema, write_options=pacsv.WriteOptions(include_header=True, quoting_style="needed"))
        self.schema = schema

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            if self.fmt == "csv" and table.schema.field(LOADED_AT).type != pa.string():
                i = table.schema.get_field_index(LOADED_AT)
                table = table.set_column(i, pa.field(LOADED_AT, pa.string()), ts_text(table.column(LOADED_AT).combine_chunks()))
            self.writer.write_table(table.cast(self.schema))

    def close(self) -> None:
        self.writer.close()


def chunk_accounts(days: int) -> int:
    """Accounts per chunk: CHUNK_ACCOUNTS for two years of history, fewer for longer ones (bounded memory)."""
    return int(max(100, min(CHUNK_ACCOUNTS, CHUNK_ACCOUNTS * 731 // max(days, 1))))


def _validate(args) -> tuple[int, int, date, date, str, float]:
    from customer_health.cli import UsageError

    accounts = int(args.accounts)
    if accounts < 1:
        raise UsageError(f"--accounts must be at least 1, got {accounts}")
    if accounts > MAX_ACCOUNTS:
        raise UsageError(f"--accounts must be at most {MAX_ACCOUNTS:,}, got {accounts:,}")
    rate = float(args.bad_rows if args.bad_rows is not None else 0.0)
    if not (0.0 <= rate <= 0.5) or math.isnan(rate):
        raise UsageError(f"--bad-rows must be between 0 and 0.5, got {args.bad_rows}")
    start = args.start or DEFAULT_START
    end = args.end or DEFAULT_END
    if start >= end:
        raise UsageError(f"--start ({start}) must be before --end ({end})")
    fmt = args.format or "parquet"
    if fmt not in ("parquet", "csv"):
        raise UsageError(f"--format must be parquet or csv, got {fmt!r}")
    if not args.out:
        raise UsageError("--out is required")
    return accounts, int(args.seed), start, end, fmt, rate


def generate(out: str | Path, accounts: int = 1000, seed: int = 42, start: date | None = None, end: date | None = None,
             fmt: str = "parquet", bad_rows: float = 0.0, quiet: bool = False) -> dict:
    """Write the demo data set; return the contents of generation.json."""
    start = start or DEFAULT_START
    end = end or DEFAULT_END
    t0 = time.perf_counter()
    ctx = Ctx(accounts=accounts, seed=seed, start=start, end=end, fmt=fmt, rate=bad_rows)
    contract = load_contract()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    bad = bad_rows > 0
    parts_dir = out / ".manifest_parts"
    if parts_dir.exists():
        shutil.rmtree(parts_dir)
    parts_dir.mkdir()
    sinks: dict[str, Sink] = {}
    states: dict[str, TableState] = {}
    man_writers: dict[str, pacsv.CSVWriter] = {}
    for name, tb in contract.items():
        d = out / tb.source
        d.mkdir(parents=True, exist_ok=True)
        for ext in ("parquet", "csv"):  # no stale file of the other format
            stale = d / f"{tb.name}.{ext}"
            if stale.exists():
                stale.unlink()
        if fmt == "csv":
            schema = text_schema(tb, True)
        elif bad:
            schema = text_schema(tb, False)
        else:
            schema = typed_schema(tb)
        # dictionary-encode the repetitive text columns only (not ids, not timestamps written as text)
        dictionary = [c.name for c in tb.columns if c.type == "string" and not c.unique]
        sinks[name] = Sink(d / f"{tb.name}.{fmt}", schema, fmt, dictionary)
        combos = rule_combos(tb)
        states[name] = TableState(tb, combos, set(combos))
    manifest_rows = {name: 0 for name in contract}
    manifest_rules: dict[str, int] = {r: 0 for r in RULES}
    table_index = {name: i for i, name in enumerate(contract)}

    def emit(name: str, T: pa.Table, rng_key: list[int], extras: dict | None) -> None:
        st = states[name]
        if bad:
            rng = np.random.default_rng(np.random.SeedSequence([seed, 2, *rng_key, table_index[name]]))
            final, man = inject_bad_rows(ctx, st, contract, T, rng, extras)
            if man is not None and man.num_rows:
                if name not in man_writers:
                    man_writers[name] = pacsv.CSVWriter(parts_dir / f"{name}.csv", MANIFEST_SCHEMA,
                                                        write_options=pacsv.WriteOptions(include_header=False, quoting_style="needed"))
                man_writers[name].write_table(man)
                manifest_rows[name] += man.num_rows
                for rule, cnt in zip(*np.unique(man.column("rule").to_numpy(zero_copy_only=False), return_counts=True)):
                    manifest_rules[str(rule)] += int(cnt)
        elif fmt == "csv":
            final = _assemble_plain(st.table, {c.name: as_text(c.type, T.column(c.name).combine_chunks()) for c in st.table.columns},
                                    T.column(LOADED_AT).combine_chunks())
        else:
            final = T
        sinks[name].write(final)
        st.rows += final.num_rows

    try:
        emit("product.features", features_table(ctx, contract), [10**6], None)
        chunk = chunk_accounts(ctx.H)
        nchunks = (accounts + chunk - 1) // chunk
        for ci in range(nchunks):
            acc0 = ci * chunk
            na = min(chunk, accounts - acc0)
            tables, extras = simulate_chunk(ctx, contract, ci, acc0, na)
            for name in contract:
                if name in tables:
                    emit(name, tables.pop(name), [ci], extras)
            del tables, extras
    finally:
        for s in sinks.values():
            s.close()
        for w in man_writers.values():
            w.close()

    # the manifest: one file, sorted by table then row_number (each part is already in row order)
    with open(out / "bad_rows_manifest.csv", "wb") as fh:
        fh.write(b'"table","row_number","record_key","rule","column","expected","detail"\n')
        for name in sorted(man_writers):
            with open(parts_dir / f"{name}.csv", "rb") as part:
                shutil.copyfileobj(part, fh)
    shutil.rmtree(parts_dir)

    missing = sorted(f"{n}:{r}:{c}" for n, st in states.items() for r, c in st.pending) if bad else []
    info = {
        "generator": "customer_health.generate",
        "contract_version": 1,
        "arguments": {"accounts": accounts, "seed": seed, "start": start.isoformat(), "end": end.isoformat(),
                      "format": fmt, "bad_rows": bad_rows},
        "chunk_accounts": chunk_accounts(ctx.H),
        "row_counts": {name: states[name].rows for name in contract},
        "bad_rows_manifest": {"rows": sum(manifest_rows.values()), "by_rule": manifest_rules if bad else {}},
        "uncovered_rules": missing,
    }
    with open(out / "generation.json", "w", encoding="utf-8") as fh:
        json.dump(info, fh, indent=2, sort_keys=False)
        fh.write("\n")
    elapsed = time.perf_counter() - t0
    if missing:
        print(f"warning: no row to break these rules on (table empty): {', '.join(missing)}", file=sys.stderr)
    if not quiet:
        total = 0
        for name in contract:
            print(f"{name:<32} {states[name].rows:>14,} rows")
            total += states[name].rows
        if bad:
            print(f"{'bad_rows_manifest':<32} {sum(manifest_rows.values()):>14,} rows")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"total {total:,} rows in {elapsed:.1f} s ({total / max(elapsed, 1e-9):,.0f} rows/s), peak RSS {peak:,.0f} MB -> {out}")
    return info


def main_generate(args) -> int:
    accounts, seed, start, end, fmt, rate = _validate(args)
    generate(args.out, accounts=accounts, seed=seed, start=start, end=end, fmt=fmt, bad_rows=rate)
    return 0
