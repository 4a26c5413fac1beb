"""Pre-flight: the scoring seeds are checked before any work starts.

`health run` and `health build` call `check_seeds` first, before the raw files
are looked at and before dbt starts: a weights file with a negative weight, an
unknown factor or segment, or a set of weights that adds up to nothing is
reported in one line naming the file, the line and the column, in a second
rather than after minutes of building. dbt's seed tests
(seeds/_scoring__seeds.yml, tests/scoring/) check the same rules again inside
the build, for anyone who runs dbt on its own.

The allowed values (segments, factor groups, grades, colours, settings) are
read from the `accepted_values` tests of seeds/_scoring__seeds.yml, so there is
one list of each.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from datetime import date
from pathlib import Path

import yaml

from customer_health import PROJECT_DIR, SEEDS_DIR

SEED_TESTS = "_scoring__seeds.yml"


class SeedError(Exception):
    """The scoring seeds are not usable; the first line names file, line and column, one problem a line."""


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(PROJECT_DIR))
    except ValueError:
        return str(path)


def accepted_values(seeds_dir: Path) -> dict[tuple[str, str], list[str]]:
    """{(seed, column): allowed values} from the accepted_values tests of the seeds' YAML."""
    spec = yaml.safe_load((seeds_dir / SEED_TESTS).read_text(encoding="utf-8")) or {}
    out = {}
    for seed in spec.get("seeds") or []:
        for column in seed.get("columns") or []:
            for test in column.get("data_tests") or column.get("tests") or []:
                if isinstance(test, dict) and "accepted_values" in test:
                    body = test["accepted_values"] or {}
                    values = (body.get("arguments") or {}).get("values", body.get("values"))
                    if values:
                        out[(seed["name"], column["name"])] = [str(v) for v in values]
    return out


class _Seed:
    """One seed file read as text rows, each with its line number; problems name file, line and column."""

    def __init__(self, seeds_dir: Path, name: str, columns: list[str], problems: list[str]):
        self.name, self.path, self.problems = name, seeds_dir / f"{name}.csv", problems
        self.rows: list[tuple[int, dict[str, str]]] = []
        if not self.path.is_file():
            problems.append(f"{_display(self.path)}: missing seed file")
            return
        with open(self.path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                problems.append(f"{_display(self.path)}: missing column {missing[0]!r}")
                return
            for row in reader:
                self.rows.append((reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}))

    def problem(self, line: int, column: str, text: str) -> None:
        self.problems.append(f"{_display(self.path)} line {line}, column {column}: {text}")

    def number(self, line: int, row: dict, column: str) -> float | None:
        text = row.get(column, "")
        try:
            value = float(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value):
            self.problem(line, column, f"{text!r} is not a number")
            return None
        return value

    def allowed(self, line: int, row: dict, column: str, values: list[str] | None) -> bool:
        text = row.get(column, "")
        if not text:
            self.problem(line, column, "empty")
            return False
        if values is not None and text not in values:
            self.problem(line, column, f"unknown {column} {text!r} (allowed: {', '.join(values)})")
            return False
        return True


def check_seeds(seeds_dir: Path | None = None) -> dict[str, int]:
    """Check the scoring seeds; returns {seed: rows}, raises SeedError listing every problem."""
    seeds_dir = Path(seeds_dir or SEEDS_DIR)
    problems: list[str] = []
    try:
        allowed = accepted_values(seeds_dir)
    except (OSError, yaml.YAMLError) as exc:
        raise SeedError(f"{_display(seeds_dir / SEED_TESTS)}: unreadable ({exc.__class__.__name__})") from None

    factors = _Seed(seeds_dir, "health_factors", ["factor_key", "factor_group", "floor", "target"], problems)
    factor_keys: set[str] = set()
    for line, row in factors.rows:
        key = row.get("factor_key", "")
        if factors.allowed(line, row, "factor_key", None):
            if key in factor_keys:
                factors.problem(line, "factor_key", f"{key!r} is listed twice")
            factor_keys.add(key)
        factors.allowed(line, row, "factor_group", allowed.get(("health_factors", "factor_group")))
        floor, target = factors.number(line, row, "floor"), factors.number(line, row, "target")
        if floor is not None and target is not None and floor == target:
            factors.problem(line, "target", f"{key}: target equals floor ({row['target']}), no score can be computed")

    weights = _Seed(seeds_dir, "health_weights", ["segment", "factor_key", "weight", "valid_from"], problems)
    seen: set[tuple[str, str, date]] = set()
    by_segment: dict[str, list[tuple[date, str, float]]] = defaultdict(list)
    for line, row in weights.rows:
        segment, key = row.get("segment", ""), row.get("factor_key", "")
        ok = weights.allowed(line, row, "segment", allowed.get(("health_weights", "segment")))
        if weights.allowed(line, row, "factor_key", None) and factors.rows and key not in factor_keys:
            weights.problem(line, "factor_key", f"unknown factor {key!r} (not in {_display(factors.path)})")
            ok = False
        weight = weights.number(line, row, "weight")
        if weight is not None and weight < 0:
            weights.problem(line, "weight", f"negative weight {row['weight']} for {segment}/{key}")
            ok = False
        try:
            valid_from = date.fromisoformat(row.get("valid_from", ""))
        except ValueError:
            weights.problem(line, "valid_from", f"{row.get('valid_from', '')!r} is not an ISO date (YYYY-MM-DD)")
            continue
        if (segment, key, valid_from) in seen:
            weights.problem(line, "valid_from", f"{segment}/{key} has two weights from {valid_from}")
        seen.add((segment, key, valid_from))
        if ok and weight is not None:
            by_segment[segment].append((valid_from, key, weight))
    if weights.rows and not any(row.get("segment") == "default" for _, row in weights.rows):
        problems.append(f"{_display(weights.path)}: no `default` weights (the set every segment falls back on)")
    for segment, rows in sorted(by_segment.items()):
        # The set as it stands from each of its valid_from dates on must add up to more than zero.
        for change in sorted({d for d, _, _ in rows}):
            in_force: dict[str, tuple[date, float]] = {}
            for d, key, weight in rows:
                if d <= change and (key not in in_force or d > in_force[key][0]):
                    in_force[key] = (d, weight)
            if sum(w for _, w in in_force.values()) <= 0:
                problems.append(f"{_display(weights.path)}, column weight: the {segment} weights in force from "
                                f"{change} add up to 0 (no account of the segment could get a score)")

    bands = _Seed(seeds_dir, "health_bands", ["grade", "colour", "min_score", "max_score"], problems)
    spans = []
    for line, row in bands.rows:
        bands.allowed(line, row, "grade", allowed.get(("health_bands", "grade")))
        bands.allowed(line, row, "colour", allowed.get(("health_bands", "colour")))
        low, high = bands.number(line, row, "min_score"), bands.number(line, row, "max_score")
        if low is not None and high is not None:
            if low >= high:
                bands.problem(line, "max_score", f"band {row.get('grade')}: max_score {high:g} not above min_score "
                                                 f"{low:g}")
            spans.append((low, high, line))
    if spans and len(spans) == len(bands.rows):
        spans.sort()
        edge = 0.0
        for low, high, line in spans:
            if low != edge:
                bands.problem(line, "min_score", f"the bands {'overlap' if low < edge else 'leave a gap'} at {edge:g}"
                                                 f"-{low:g} (they must cover 0-100 exactly once)")
            edge = max(edge, high)
        if edge != 100:
            problems.append(f"{_display(bands.path)}, column max_score: the bands end at {edge:g}, not 100")

    settings = _Seed(seeds_dir, "health_settings", ["setting_key", "setting_value"], problems)
    keys = allowed.get(("health_settings", "setting_key"))
    present = set()
    for line, row in settings.rows:
        if settings.allowed(line, row, "setting_key", keys):
            present.add(row["setting_key"])
        settings.number(line, row, "setting_value")
    for key in [k for k in keys or [] if k not in present]:
        if settings.rows or settings.path.is_file():
            problems.append(f"{_display(settings.path)}: missing setting {key!r}")

    if problems:
        more = f" (and {len(problems) - 1} more below)" if len(problems) > 1 else ""
        raise SeedError(problems[0] + more + "".join(f"\n  {p}" for p in problems[1:]))
    return {s.name: len(s.rows) for s in (factors, weights, bands, settings)}
