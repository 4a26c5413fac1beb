"""A throwaway PostgreSQL server: for the PostgreSQL tests and for trying the warehouse on PostgreSQL.

It installs Debian's `postgresql` package when the server binaries are missing
(root and apt-get needed), creates a cluster in a fresh temporary folder owned
by an ordinary user (PostgreSQL refuses to run as root), starts it on a free
local port (TCP on 127.0.0.1 only, socket in the same folder), and removes it
all on stop. Nothing it does touches a system cluster or a system service.

    python -m customer_health.pg_server start      # prints HEALTH_PG_* exports and the folder
    python -m customer_health.pg_server stop DIR

The superuser password is random, kept in memory and in the folder's
`server.json` (mode 0600, deleted with the folder); nothing is written in the
repository.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

SUPERUSER = "postgres"
APP_USER = "health"
APP_DATABASE = "health"
# A session time zone far from UTC, so that any SQL that depends on it shows up in the tests.
SERVER_TIMEZONE = "Asia/Kathmandu"


class PostgresUnavailable(Exception):
    """The server cannot be had on this machine (no binaries and no way to install them)."""


def find_bindir() -> Path | None:
    """The newest installed PostgreSQL server's bin folder (Debian layout first, then PATH)."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1].parent
    found = shutil.which("pg_ctl")
    if found and (Path(found).resolve().parent / "initdb").exists():
        return Path(found).resolve().parent
    return None


def ensure_installed(log=print) -> Path:
    """The server binaries, installed with `apt-get install -y postgresql` when missing."""
    bindir = find_bindir()
    if bindir:
        return bindir
    if shutil.which("apt-get") is None:
        raise PostgresUnavailable("no PostgreSQL server (pg_ctl, initdb) and no apt-get to install one")
    if os.geteuid() != 0:
        raise PostgresUnavailable("no PostgreSQL server (pg_ctl, initdb) and not root to apt-get install it")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log("pg_server: installing PostgreSQL from Debian's packages (apt-get install -y postgresql) ...")
    for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"]):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200)
        if proc.returncode != 0:
            raise PostgresUnavailable(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")
    bindir = find_bindir()
    if bindir is None:
        raise PostgresUnavailable("apt-get installed postgresql but no pg_ctl/initdb was found")
    return bindir


def _server_user() -> str | None:
    """The ordinary user the server runs as when we are root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SUPERUSER)
        return SUPERUSER  # created by Debian's postgresql package
    except KeyError:
        pass
    name = "health-pg"
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
    return name


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running throwaway cluster: connection settings and where it lives."""

    folder: str
    bindir: str
    port: int
    superuser_password: str
    app_password: str
    host: str = "127.0.0.1"
    os_user: str | None = None

    # --- connection settings -------------------------------------------------------------
    def superuser_dsn(self, dbname: str = "postgres") -> dict:
        return dict(host=self.host, port=self.port, user=SUPERUSER, password=self.superuser_password, dbname=dbname)

    def health_env(self, schema: str = "analytics") -> dict[str, str]:
        """The HEALTH_PG_* variables for the application user (owner of the `health` database)."""
        return {
            "HEALTH_PG_HOST": self.host,
            "HEALTH_PG_PORT": str(self.port),
            "HEALTH_PG_USER": APP_USER,
            "HEALTH_PG_PASSWORD": self.app_password,
            "HEALTH_PG_DATABASE": APP_DATABASE,
            "HEALTH_PG_SCHEMA": schema,
        }

    # --- life cycle ------------------------------------------------------------------------
    def _run(self, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
        kwargs = {}
        if self.os_user:
            kwargs = dict(user=self.os_user, group=pwd.getpwnam(self.os_user).pw_gid)
        proc = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, cwd=self.folder,
                              env=dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8"), **kwargs)
        if proc.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed ({proc.returncode}): {proc.stdout[-1500:]}\n"
                               f"{proc.stderr[-1500:]}\n{self._log_tail()}")
        return proc

    def _log_tail(self) -> str:
        log = Path(self.folder) / "server.log"
        return log.read_text(errors="replace")[-1500:] if log.exists() else ""

    def stop(self) -> None:
        """Stop the server and delete its folder."""
        data = Path(self.folder) / "data"
        if (data / "postmaster.pid").exists():
            try:
                self._run(str(Path(self.bindir) / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
            except Exception:  # noqa: BLE001 - removing the folder is what matters
                pass
        shutil.rmtree(self.folder, ignore_errors=True)


def start(base_dir: str | None = None, log=print) -> Server:
    """Install when missing, create a cluster in a new temporary folder, start it; returns the Server."""
    bindir = ensure_installed(log=log)
    os_user = _server_user()
    folder = Path(tempfile.mkdtemp(prefix="health-pg-", dir=base_dir))
    server = Server(folder=str(folder), bindir=str(bindir), port=0, os_user=os_user,
                    superuser_password=secrets.token_urlsafe(18), app_password=secrets.token_urlsafe(18))
    try:
        pwfile = folder / "pwfile"
        pwfile.write_text(server.superuser_password + "\n")
        pwfile.chmod(0o600)
        if os_user:
            entry = pwd.getpwnam(os_user)
            for path in (folder, pwfile):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        server._run(str(bindir / "initdb"), "-D", str(folder / "data"), "-U", SUPERUSER, "--pwfile", str(pwfile),
                    "-E", "UTF8", "--no-locale", "--auth-local=trust", "--auth-host=scram-sha-256", timeout=300)
        pwfile.unlink()
        options = " ".join([
            "-k", str(folder), "-c", "listen_addresses=127.0.0.1",
            # A throwaway cluster: durability buys nothing, speed does.
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            "-c", f"timezone={SERVER_TIMEZONE}",
        ])
        for attempt in range(5):
            server.port = _free_port()
            try:
                server._run(str(bindir / "pg_ctl"), "-D", str(folder / "data"), "-l", str(folder / "server.log"),
                            "-o", f"-p {server.port} {options}", "-w", "-t", "60", "start", timeout=120)
                break
            except RuntimeError:
                if attempt == 4:
                    raise
                time.sleep(0.5)
        _create_app_user(server)
        info = folder / "server.json"
        info.write_text(json.dumps(asdict(server), indent=2))
        info.chmod(0o600)
        return server
    except BaseException:
        server.stop()
        raise


def _create_app_user(server: Server) -> None:
    """The application user `health` (not a superuser) owning the `health` database."""
    import psycopg2

    con = psycopg2.connect(**server.superuser_dsn())
    con.autocommit = True
    try:
        with con.cursor() as cur:
            cur.execute(f"create role {APP_USER} login password %s", (server.app_password,))
            cur.execute(f"create database {APP_DATABASE} owner {APP_USER}")
    finally:
        con.close()
    # The database belongs to `health`, so its public schema does not (PostgreSQL 15): give the
    # application user its own default schema rights only, as a managed server would.
    con = psycopg2.connect(**server.superuser_dsn(APP_DATABASE))
    con.autocommit = True
    try:
        with con.cursor() as cur:
            cur.execute("revoke all on database health from public")
            cur.execute(f"grant connect, temporary on database health to {APP_USER}")
    finally:
        con.close()


def load_server(folder: str | Path) -> Server:
    return Server(**json.loads((Path(folder) / "server.json").read_text()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m customer_health.pg_server", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("start", help="start a throwaway server; prints the HEALTH_PG_* exports")
    p.add_argument("--base-dir", default=None, help="where to create its folder (default: the system temp dir)")
    p = sub.add_parser("stop", help="stop a throwaway server and delete its folder")
    p.add_argument("folder")
    args = parser.parse_args(argv)
    if args.command == "start":
        try:
            server = start(args.base_dir, log=lambda m: print(m, file=sys.stderr))
        except PostgresUnavailable as exc:
            print(f"pg_server: {exc}", file=sys.stderr)
            return 1
        for key, value in server.health_env().items():
            print(f"export {key}={value}")
        print(f"# superuser: psql 'host={server.host} port={server.port} user={SUPERUSER} dbname=postgres' "
              f"(password in {server.folder}/server.json)")
        print(f"# stop with: python -m customer_health.pg_server stop {server.folder}")
        return 0
    load_server(args.folder).stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
