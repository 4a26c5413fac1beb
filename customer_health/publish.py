"""Publishing: the copy of the public tables that analysts and BI tools read.

Readers never read the build file (dbt rebuilds it table by table). After a
build has passed validation, its public tables are copied into a new release
directory, made durable, and then switched to with one atomic rename:

    published/
      releases/<run-id>/health.duckdb        the public tables + _publication
      releases/<run-id>/parquet/<table>.parquet
      releases/<run-id>/release.json         run id, as-of date, tables, row counts
      current -> releases/<run-id>           swapped with os.replace (atomic)
      health.duckdb -> current/health.duckdb stable paths for readers
      parquet -> current/parquet

A reader sees the old release or the new one, never a mix: the DuckDB file of a
release is complete and checkpointed before `current` points to it, and is
never written again (its files are read-only). A run that fails or is killed
before the swap leaves `current` as it was; its half-built directory
(`releases/<run-id>.partial`) is removed by the next publish. The last
`KEEP_RELEASES` releases are kept, so a reader that opened an older file keeps
reading it; on Linux an open file stays readable even after its release is
pruned.

How to read it:
- DuckDB: `duckdb.connect("published/health.duckdb", read_only=True)`. The
  connection keeps reading the release it opened until it is closed; open a
  new connection (in a new process, or after closing every connection to the
  path: DuckDB caches a database per path within a process) to see a newer one.
- Parquet: resolve `published/current` once (`os.path.realpath`) and read every
  file of the set from that directory, so that all tables come from one run.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
import stat
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from customer_health import PROJECT_DIR

# THE list of public tables (docs/health_model.md, "The public tables", plus
# mart_health_backtest_factors, which the marts publish for the BI dashboard):
# what is validated, published and read by the report. A table missing from the
# build is skipped (and said so); columns may be added freely.
PUBLIC_TABLES: tuple[str, ...] = (
    "mart_customer_health",
    "fct_health_history",
    "fct_health_factors",
    "fct_health_alerts",
    "fct_mrr_movements",
    "mart_company_kpis",
    "mart_health_backtest",
    "mart_health_backtest_factors",
    "dim_accounts",
)
PUBLIC_SCHEMA = "main"
MANIFEST_TABLE = "_publication"
KEEP_RELEASES = 3

# The columns of the public tables that the Python side reads (summary, report,
# validation). One place to change when a mart renames a column.
COLUMNS = {
    "account_id": "account_id",
    "account_name": "account_name",
    "owner": "csm_owner",
    "as_of_date": "as_of_date",
    "is_customer": "is_customer",
    "lifecycle_stage": "lifecycle_stage",
    "value_tier": "value_tier",
    "mrr": "mrr",
    "score": "health_score",
    "grade": "grade",
    "colour": "colour",
    "coverage": "score_coverage",
    "is_graded": "is_graded",
    "score_change": "score_change_30d",
    "pull_down_factors": ("pull_down_factor_1", "pull_down_factor_2"),
    "pull_down_points": ("pull_down_points_1", "pull_down_points_2"),
    "pull_up_factors": ("pull_up_factor_1", "pull_up_factor_2"),
    "factor_key": "factor_key",
    "factor_score": "factor_score",
    "weight": "weight",
    "effective_weight": "effective_weight",
    "contribution": "contribution",
    "is_missing": "is_missing",
    "alert_type": "alert_type",
    "severity": "severity",
    "detail": "detail",
    "month": "month",
    "movement_type": "movement_type",
    "movement_amount": "movement_amount",
    "auc": "score_auc",
    "churn_rate": "churn_rate_pct",
}


class PublishError(Exception):
    """Publishing could not complete; the previous publication is untouched."""


def publish_dir() -> Path:
    """Where releases go (HEALTH_PUBLISH_DIR, default published/), made absolute."""
    path = Path(os.environ.get("HEALTH_PUBLISH_DIR", PROJECT_DIR / "published"))
    if not path.is_absolute():
        path = PROJECT_DIR / path
    return path


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and unique: UTC time of the run plus a random suffix."""
    now = now or datetime.now(timezone.utc)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


@dataclass
class Release:
    run_id: str
    path: Path
    as_of_date: str | None
    tables: dict[str, int] = field(default_factory=dict)  # table -> rows
    skipped: list[str] = field(default_factory=list)  # public tables not in the build

    @property
    def duckdb_path(self) -> Path:
        return self.path / "health.duckdb"

    @property
    def parquet_dir(self) -> Path:
        return self.path / "parquet"


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            _fsync_path(Path(dirpath) / name)
        _fsync_path(Path(dirpath))


def _make_read_only(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            p = Path(dirpath) / name
            p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path)  # read-only files in a writable directory are removable


def _symlink_atomic(target: str, link: Path) -> None:
    """Point `link` at `target` with a single rename: readers see the old or the new link."""
    tmp = link.with_name(f".{link.name}.tmp-{os.getpid()}-{secrets.token_hex(2)}")
    os.symlink(target, tmp)
    os.replace(tmp, link)


@contextmanager
def _publish_lock(root: Path):
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".publish.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PublishError(f"another run is publishing into {root} (lock {root / '.publish.lock'})") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def existing_tables(con, schema: str = PUBLIC_SCHEMA, catalog: str | None = None) -> list[str]:
    """The public tables present in a DuckDB database, in PUBLIC_TABLES order."""
    sql = "select table_name from information_schema.tables where table_schema = ?"
    params: list = [schema]
    if catalog:
        sql += " and table_catalog = ?"
        params.append(catalog)
    present = {r[0] for r in con.execute(sql, params).fetchall()}
    return [t for t in PUBLIC_TABLES if t in present]


def current_release(root: Path | None = None) -> Path | None:
    """The release readers see now (resolved), or None before the first publish."""
    root = root or publish_dir()
    link = root / "current"
    if not link.is_symlink():
        return None
    return link.resolve()


def read_manifest(release: Path) -> dict:
    with open(release / "release.json", encoding="utf-8") as fh:
        return json.load(fh)


def _build_release(build_db: Path, staging: Path, run_id: str, meta: dict) -> Release:
    staging.mkdir(parents=True)
    (staging / "parquet").mkdir()
    release = Release(run_id=run_id, path=staging, as_of_date=None)
    published_at = datetime.now(timezone.utc).replace(microsecond=0)
    con = duckdb.connect(str(staging / "health.duckdb"))
    try:
        con.execute("attach ? as build (read_only)", [str(build_db)])
        tables = existing_tables(con, catalog="build")
        release.skipped = [t for t in PUBLIC_TABLES if t not in tables]
        if not tables:
            raise PublishError(f"{build_db}: none of the public tables exists ({', '.join(PUBLIC_TABLES)})")
        for table in tables:
            con.execute(f'create table main."{table}" as select * from build.{PUBLIC_SCHEMA}."{table}"')
            release.tables[table] = con.execute(f'select count(*) from main."{table}"').fetchone()[0]
        if "mart_customer_health" in tables:
            as_of = con.execute(f'select max({COLUMNS["as_of_date"]}) from main.mart_customer_health').fetchone()[0]
            release.as_of_date = as_of.isoformat() if as_of else None
        con.execute("detach build")
        con.execute(
            f"create table main.{MANIFEST_TABLE} (run_id varchar, as_of_date date, published_at timestamp,"
            " table_name varchar, row_count bigint)"
        )
        con.executemany(
            f"insert into main.{MANIFEST_TABLE} values (?, ?, ?, ?, ?)",
            [[run_id, release.as_of_date, published_at.replace(tzinfo=None), t, n] for t, n in release.tables.items()],
        )
        for table in [*tables, MANIFEST_TABLE]:
            target = staging / "parquet" / f"{table}.parquet"
            con.execute(f"copy main.\"{table}\" to '{target}' (format parquet, compression zstd)")
        con.execute("checkpoint")
    finally:
        con.close()
    wal = staging / "health.duckdb.wal"
    if wal.exists():  # a checkpointed, closed database has none; a reader must never need one
        raise PublishError(f"{wal}: the published database was not fully checkpointed")
    manifest = {
        "run_id": run_id,
        "as_of_date": release.as_of_date,
        "published_at": published_at.isoformat(),
        "source": str(build_db),
        "tables": release.tables,
        "skipped": release.skipped,
        **meta,
    }
    (staging / "release.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return release


def _release_order(path: Path) -> tuple[int, str]:
    """Newest last: when its manifest was written (the run id is only a tie-break)."""
    try:
        return (path.joinpath("release.json").stat().st_mtime_ns, path.name)
    except FileNotFoundError:
        return (0, path.name)


def prune(root: Path, keep: int = KEEP_RELEASES) -> list[Path]:
    """Remove half-built releases and all but the newest `keep` complete ones (never the current one)."""
    releases = root / "releases"
    if not releases.is_dir():
        return []
    current = current_release(root)
    removed = []
    complete = sorted((p for p in releases.iterdir() if p.is_dir() and not p.name.endswith(".partial")),
                      key=_release_order, reverse=True)
    for p in releases.iterdir():
        if p.is_dir() and p.name.endswith(".partial"):
            _remove_tree(p)
            removed.append(p)
    if current is not None and current in [p.resolve() for p in complete]:
        # A release newer than the current one was never switched to: its run died between finishing the
        # release and the swap (prune runs under the publish lock, so no other run is publishing it).
        newest_live = _release_order(current)
        for p in [p for p in complete if _release_order(p) > newest_live]:
            _remove_tree(p)
            removed.append(p)
            complete.remove(p)
    for p in complete[keep:]:
        if current is not None and p.resolve() == current:
            continue
        _remove_tree(p)
        removed.append(p)
    return removed


def publish(build_db: Path, run_id: str | None = None, root: Path | None = None, keep: int = KEEP_RELEASES,
            meta: dict | None = None, _before_swap=None) -> Release:
    """Copy the public tables of `build_db` into a new release and make it the current one, atomically."""
    root = (root or publish_dir()).absolute()
    run_id = run_id or new_run_id()
    build_db = Path(build_db)
    if not build_db.is_file():
        raise PublishError(f"{build_db}: no build file to publish")
    with _publish_lock(root):
        releases = root / "releases"
        releases.mkdir(parents=True, exist_ok=True)
        prune(root, keep=keep)  # leftovers of an interrupted run first
        final = releases / run_id
        staging = releases / f"{run_id}.partial"
        if final.exists() or staging.exists():
            raise PublishError(f"{final}: a release with this run id exists already")
        try:
            release = _build_release(build_db, staging, run_id, meta or {})
            _make_read_only(staging)
            _fsync_tree(staging)
            os.rename(staging, final)
            _fsync_path(releases)
            release.path = final
            if _before_swap is not None:  # tests: fail or pause at the last moment before readers see anything
                _before_swap(release)
        except BaseException:
            # Nothing readers see has changed; leave no half-built release behind (a killed process leaves
            # a .partial directory, which the next publish removes).
            for leftover in (staging, final):
                if leftover.exists():
                    _remove_tree(leftover)
            raise
        # The one switch readers observe.
        _symlink_atomic(os.path.join("releases", run_id), root / "current")
        # Stable paths into whatever is current (created once; re-pointed only if wrong).
        for name, target in (("health.duckdb", "current/health.duckdb"), ("parquet", "current/parquet")):
            link = root / name
            if not (link.is_symlink() and os.readlink(link) == target):
                if link.is_dir() and not link.is_symlink():
                    _remove_tree(link)
                _symlink_atomic(target, link)
        _fsync_path(root)
        prune(root, keep=keep)
    return release
