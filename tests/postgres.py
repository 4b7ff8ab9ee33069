"""A throwaway PostgreSQL server for the test run, started from the system's binaries.

Import the fixtures into a test module (`from tests.postgres import pg_database, pg_server`).
`pg_server` runs one server for the whole session on 127.0.0.1 and a free TCP port, with trust
authentication for the user `dsar`; `pg_database` creates a fresh database per test and yields
its URL. initdb refuses to run as root, so as root every server command runs as the `postgres`
system user (Debian's `postgresql` package creates it) through `runuser`.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

PG_ROOT = Path("/usr/lib/postgresql")
PG_USER = "dsar"
INSTALL_HINT = (
    "install Debian's `postgresql` package (`scripts/bootstrap.sh dev` installs it, "
    "or `apt-get install postgresql`)"
)


@dataclass(frozen=True)
class PgServer:
    host: str
    port: int
    user: str
    pg_ctl: tuple[str, ...] = ()
    base: str = "/"

    def restart(self) -> None:
        """`pg_ctl restart -m fast`: every connection is cut, the server comes back."""
        subprocess.run(
            [*self.pg_ctl, "-m", "fast", "-w", "-t", "60", "restart"],
            cwd=self.base,
            capture_output=True,
            timeout=120,
            check=True,
        )

    def url(self, dbname: str) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(
            host=self.host, port=self.port, user=self.user, dbname=dbname, autocommit=True
        )


def find_bin_dir() -> Path | None:
    """The bin folder of the highest PostgreSQL version installed, or None."""
    found = []
    for initdb in PG_ROOT.glob("*/bin/initdb"):
        bindir = initdb.parent
        try:  # Debian names the folders by version: 15, 16, or 9.6 for old ones
            version = tuple(int(part) for part in bindir.parent.name.split("."))
        except ValueError:
            continue
        if (bindir / "pg_ctl").exists():
            found.append((version, bindir))
    return max(found)[1] if found else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user() -> list[str]:
    """The command prefix that runs a server binary as a user initdb accepts."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail(
            "the PostgreSQL tests run as root and need the `postgres` system user to own the "
            f"server; {INSTALL_HINT}",
            pytrace=False,
        )
    if shutil.which("runuser") is None:
        pytest.fail("running the PostgreSQL tests as root needs `runuser` (util-linux)")
    return ["runuser", "-u", "postgres", "--"]


def _run(argv: list[str], *, cwd: Path, what: str, log: Path | None = None) -> None:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        server_log = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
        pytest.fail(
            f"{what} failed ({proc.returncode}): {' '.join(argv)}\n"
            f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}{server_log}",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One PostgreSQL server for the whole test session; stopped and deleted at the end."""
    bindir = find_bin_dir()
    if bindir is None:
        pytest.fail(
            f"the PostgreSQL tests need initdb and pg_ctl under {PG_ROOT}/<version>/bin; "
            f"{INSTALL_HINT}",
            pytrace=False,
        )
    prefix = _as_server_user()
    # Not under pytest's basetemp: its parents are private to the user running the tests. A
    # short path also keeps the unix socket's path under the kernel's length limit.
    base = Path(tempfile.mkdtemp(prefix="dsar-pg-"))
    if prefix:
        shutil.chown(base, "postgres", "postgres")
    data, log = base / "data", base / "server.log"
    port = free_port()
    pg_ctl = [*prefix, str(bindir / "pg_ctl"), "-D", str(data)]
    started = False
    try:
        _run(
            [
                *prefix,
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                PG_USER,
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            cwd=base,
            what="initdb",
        )
        options = (
            f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={base} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        started = True  # from here on, try to stop it even if the start looked like a failure
        _run(
            [*pg_ctl, "-l", str(log), "-w", "-t", "60", "-o", options, "start"],
            cwd=base,
            what="pg_ctl start",
            log=log,
        )
        yield PgServer("127.0.0.1", port, PG_USER, (*pg_ctl, "-l", str(log)), str(base))
    finally:
        if started:
            subprocess.run(
                [*pg_ctl, "-m", "fast", "-w", "-t", "60", "stop"],
                cwd=base,
                capture_output=True,
                timeout=90,
                check=False,
            )
        shutil.rmtree(base, ignore_errors=True)


_numbers = itertools.count(1)


@pytest.fixture
def pg_database(pg_server: PgServer) -> Iterator[str]:
    """A fresh, empty database on the session's server; yields its `postgresql://` URL."""
    name = f"test_{next(_numbers)}"
    with pg_server.connect() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield pg_server.url(name)
    with pg_server.connect() as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
