"""One writer at a time: the lock that `health run`, `build`, `validate` and `publish` hold.

The lock is an exclusive `fcntl.flock` on `<build file>.lock` (beside
HEALTH_DUCKDB_PATH, e.g. warehouse/health.duckdb.lock). A second command that
finds it taken refuses at once, before any work, with a message naming the
holder (its command, pid, host and start time, which the holder writes into the
lock file). HEALTH_LOCK_WAIT=<seconds> makes it wait that long for the lock
first (default 0: refuse at once; a scheduled run that overlaps the previous
one should not queue up behind it).

The kernel releases a flock when its process ends, however it ends (SIGKILL
included): a lock is never stale, and the holder text left in the file by a
killed run is simply overwritten by the next one.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

WAIT_ENV = "HEALTH_LOCK_WAIT"
POLL_SECONDS = 0.2


class WarehouseBusy(Exception):
    """Another command holds the warehouse lock; the message names it."""


def lock_path(build_db: Path) -> Path:
    return build_db.with_name(build_db.name + ".lock")


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode("utf-8") or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "another health command (it has not written its name yet)"
    return (f"`health {info.get('command', '?')}` (pid {info.get('pid', '?')} on {info.get('host', '?')}, "
            f"started {info.get('started_at', '?')})")


def _wait_seconds(wait: float | None) -> float:
    if wait is not None:
        return wait
    text = os.environ.get(WAIT_ENV, "").strip()
    try:
        return max(0.0, float(text)) if text else 0.0
    except ValueError:
        raise WarehouseBusy(f"{WAIT_ENV}={text!r} is not a number of seconds") from None


@contextmanager
def warehouse_lock(build_db: Path, command: str, wait: float | None = None):
    """Hold the warehouse lock for the block; raise WarehouseBusy (naming the holder) if it is taken."""
    build_db = Path(build_db)
    build_db.parent.mkdir(parents=True, exist_ok=True)
    path = lock_path(build_db)
    seconds = _wait_seconds(wait)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        deadline = time.monotonic() + seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    waited = f" after waiting {seconds:g}s" if seconds else ""
                    raise WarehouseBusy(f"{build_db} is in use by {_holder(fd)}{waited}; lock {path}") from None
                time.sleep(POLL_SECONDS)
        info = {"command": command, "pid": os.getpid(), "host": socket.gethostname(),
                "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode("utf-8"), 0)
        try:
            yield info
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


# --- A build that did not finish is never validated or published ------------------------------------------------
#
# dbt rebuilds the build file table by table, so a build that is killed or fails half-way leaves a file that mixes
# new tables and old ones, which may well pass validation. `health build` writes `<build file>.building` before dbt
# starts (and removes the last validation stamp, which no longer describes the file), and removes it only when dbt
# succeeded; validate and publish refuse a build file that has one.


def building_marker(build_db: Path) -> Path:
    return build_db.with_name(build_db.name + ".building")


def begin_build(build_db: Path, stamp: Path | None = None) -> None:
    marker = building_marker(build_db)
    marker.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                  "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}) + "\n",
                      encoding="utf-8")
    if stamp is not None:
        stamp.unlink(missing_ok=True)


def end_build(build_db: Path) -> None:
    building_marker(build_db).unlink(missing_ok=True)


def unfinished_build(build_db: Path) -> str | None:
    """Why `build_db` must not be used (its last build did not finish), or None."""
    marker = building_marker(build_db)
    try:
        info = json.loads(marker.read_text(encoding="utf-8") or "{}")
    except FileNotFoundError:
        return None
    except ValueError:
        info = {}
    return (f"{build_db}: its last build (pid {info.get('pid', '?')}, started {info.get('started_at', '?')}) "
            f"did not finish (failed or killed), so it may mix old and new tables; run `health build` again")
