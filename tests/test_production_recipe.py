"""The README's Production section, checked against the code and run as written.

- Every environment variable the code reads is in the settings table, and the table names
  nothing the code does not read.
- The deployment commands (`db upgrade`, `load-systems`, `create-user`, gunicorn, both rq
  workers, `rq cron`) are taken from the README's code block and run as written against the
  suite's PostgreSQL and Redis, with the `export` line's values filled in by the test; an
  integrator's request then completes through them, its emails go out over SMTP, and the
  access log holds no tracking token.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import socket
import socketserver
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis import Redis

from dsar.config import ROOT
from dsar.demo.seed import DEMO_SYSTEMS
from tests.postgres import free_port, pg_database, pg_server  # noqa: F401

README = (ROOT / "README.md").read_text()
# How the code reads a setting: env.get("X"), _int(env, "X", ...), os.environ.get("X"),
# or the name of a variable given to another program (TOKEN_ENV = "X").
READS = re.compile(
    r"""(?:env\.get\(\s*|environ\.get\(\s*|\(\s*env,\s*|_ENV\s*=\s*)"([A-Z][A-Z0-9_]+)\""""
)


def production_section() -> str:
    start = README.index("## Production\n")
    return README[start : README.index("\n## ", start + 1)]


def settings_table() -> set[str]:
    rows = [line for line in production_section().splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}


def settings_read() -> set[str]:
    names: set[str] = set()
    for folder in ("dsar", "workers"):
        for path in (ROOT / folder).rglob("*.py"):
            names.update(READS.findall(path.read_text()))
    names.update(READS.findall((ROOT / "wsgi.py").read_text()))
    return names


def test_the_settings_table_names_every_setting_the_code_reads_and_no_other() -> None:
    read, documented = settings_read(), settings_table()
    assert {"SECRET_KEY", "DATABASE_URL", "DSAR_OUTBOX_DIR", "DSAR_TRUSTED_PROXIES"} <= read
    assert read - documented == set(), "read by the code but not in the README's table"
    assert documented - read == set(), "in the README's table but read by no code"


def recipe() -> list[str]:
    """The deployment block's commands, continuation lines joined, comments dropped."""
    section = production_section()
    blocks = re.findall(r"```sh\n(.*?)```", section[section.index("### Deploying") :], re.S)
    block = next(b for b in blocks if "gunicorn" in b)
    commands, current = [], ""
    for line in block.splitlines():
        line = re.sub(r"\s+#\s.*$", "", line) if not line.startswith("#") else ""
        if not line.strip():
            continue
        if line.endswith("\\"):
            current += line[:-1]
            continue
        commands.append(" ".join((current + line).split()))
        current = ""
    return commands


class SmtpSink(socketserver.ThreadingTCPServer):
    """Just enough SMTP (RFC 5321) to take messages: dsar's mail goes out over a socket."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), SmtpHandler)
        self.messages: list[str] = []


class SmtpHandler(socketserver.StreamRequestHandler):
    server: SmtpSink

    def reply(self, text: str) -> None:
        self.wfile.write(f"{text}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 sink ready")
        while line := self.rfile.readline():
            verb = line.decode(errors="replace").strip().split(" ")[0].upper()
            if verb == "EHLO":
                self.reply("250-sink")
                self.reply("250 8BITMIME")
            elif verb == "DATA":
                self.reply("354 go on")
                body = []
                while (data := self.rfile.readline()) not in (b".\r\n", b""):
                    body.append(data.decode(errors="replace"))
                self.server.messages.append("".join(body))
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:  # HELO, MAIL, RCPT, RSET, NOOP
                self.reply("250 ok")


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    server = SmtpSink()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def call(url: str, *, method: str = "GET", body: Any = None, headers: dict[str, str]) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=60) as resp:
        return resp.status, dict(resp.headers), resp.read()


def wait_for_port(port: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    pytest.fail(f"nothing listened on port {port} after {timeout} s")


class Deployment:
    """The recipe's commands, run from the checkout with the filled-in environment."""

    def __init__(self, env: dict[str, str], tmp_path: Path) -> None:
        self.env, self.tmp_path = env, tmp_path
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.access_log = tmp_path / "gunicorn.out"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.files = contextlib.ExitStack()

    def run(self, command: str, stdin: str = "") -> str:
        command = command.replace("systems.toml", str(DEMO_SYSTEMS))
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=ROOT,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}{done.stderr[-3000:]}"
        return done.stdout

    def start(self, command: str) -> None:
        """A long-running process: gunicorn (its output kept: the access log) or rq."""
        web = "gunicorn" in command
        command = command.replace("0.0.0.0:8000", f"127.0.0.1:{self.port}")
        command = command.replace("/srv/dsar/gunicorn.ctl", str(self.tmp_path / "gunicorn.ctl"))
        out = self.files.enter_context(self.access_log.open("ab")) if web else None
        self.procs.append(
            subprocess.Popen(
                ["bash", "-c", f"exec {command}"],
                cwd=ROOT,
                env=self.env,
                stdout=out or subprocess.DEVNULL,
                stderr=subprocess.STDOUT if web else subprocess.DEVNULL,
                start_new_session=True,
            )
        )

    def follow(self, commands: list[str]) -> None:
        for command in commands:
            if command.startswith(("export ", "python3 -m venv")):
                continue  # values filled in by the test; the suite's .venv is that install
            if "create-user" in command:
                out = self.run(command, stdin="an-admin-password-1\nan-admin-password-1\n")
                assert "Created admin account you@example.com." in out
                assert "shown once" not in out  # typed, not generated
            elif re.search(r"(gunicorn|rq worker|rq cron) ", command):
                self.start(command)
            else:
                self.run(command)
                if "load-systems" in command:
                    # The paper archive waits for a person; this run has none to report.
                    disabled = self.run(".venv/bin/flask --app wsgi dsar disable-system archive")
                    assert "is now disabled" in disabled
        assert len(self.procs) == 4, "gunicorn, two rq workers and rq cron"
        wait_for_port(self.port)

    def stop(self, procs: list[subprocess.Popen[bytes]] | None = None) -> None:
        procs = self.procs if procs is None else procs
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if procs is self.procs:
            self.files.close()


def filled_in(commands: list[str], values: dict[str, str]) -> None:
    exports = [c for c in commands if c.startswith("export ")]
    assert len(exports) == 1
    exported = {part.split("=")[0] for part in shlex.split(exports[0])[1:]}
    assert exported == set(values), "the test fills in every value the README's export sets"


def opt_out_completes(site: Deployment, key: str, smtp: SmtpSink) -> str:
    """An integrator's request through the proxy; returns its tracking path."""
    proxy = {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}
    auth = {"Authorization": f"Bearer {key}", **proxy}
    status, headers, body = call(
        f"{site.base}/api/v1/requests",
        method="POST",
        # An opt-out's confirmation goes out at once; an access answer would wait for an
        # officer's review, as DSAR_RELEASE_AT_ONCE says by default.
        body={
            "kind": "opt_out",
            "regime": "ccpa",
            "name": "Jane Doe",
            "email": "jane.doe@example.com",
            "identity_verified": True,
        },
        headers={**auth, "Idempotency-Key": "recipe-1"},
    )
    assert status == 201, body
    assert "max-age" in headers.get("Strict-Transport-Security", "")  # HTTPS at the proxy
    created = json.loads(body)
    reference, tracking = created["reference"], created["tracking_url"]
    assert tracking.startswith("https://privacy.example.test/r/")
    settled = {"completed", "action_required", "ready_for_review"}
    deadline = time.monotonic() + 240
    while True:
        view = json.loads(call(f"{site.base}/api/v1/requests/{reference}", headers=auth)[2])
        if view["status"] in settled or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert view["status"] == "completed", view
    assert {t["status"] for t in view["tasks"]} == {"succeeded"}
    status, _, pdf = call(f"{site.base}/api/v1/requests/{reference}/response.pdf", headers=auth)
    assert status == 200 and pdf.startswith(b"%PDF")
    path = tracking.removeprefix("https://privacy.example.test")
    assert call(site.base + path, headers=proxy)[0] == 200
    # The emails went out over SMTP: the acknowledgement and the answer's notice.
    mails = [m for m in smtp.messages if "jane.doe@example.com" in m]
    assert any(f"We have received your request {reference}" in m for m in mails)
    assert any(f"Your answer to request {reference} is ready" in m for m in mails)
    return path


@pytest.mark.slow
def test_the_production_commands_run_as_written(
    tmp_path: Path,
    pg_database: str,  # noqa: F811
    redis_url: str,
    demo_dir: Path,
    helpdesk_url: str,
    smtp: SmtpSink,
) -> None:
    from tests.conftest import HELPDESK_TOKEN

    srv = tmp_path / "srv"
    values = {
        "DSAR_ENV": "production",
        "SECRET_KEY": "a-production-secret-key-of-some-length-0123456789",
        "DATABASE_URL": pg_database,
        "REDIS_URL": redis_url,
        "DSAR_BASE_URL": "https://privacy.example.test",
        "DSAR_SMTP_URL": f"smtp://127.0.0.1:{smtp.server_address[1]}",
        "DSAR_DOCUMENTS_DIR": str(srv / "documents"),
        "DSAR_UPLOADS_DIR": str(srv / "uploads"),
        "DSAR_AUDIT_DIR": str(srv / "audit"),
        "DSAR_TRUSTED_PROXIES": "1",
    }
    commands = recipe()
    filled_in(commands, values)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        **values,
        # Not in the recipe: keep the run's default folder out of the checkout, and say
        # where the demo systems (registered here in place of your own) live.
        "DSAR_INSTANCE_PATH": str(tmp_path / "instance"),
        "DSAR_DEMO_DIR": str(demo_dir),
        "DSAR_HELPDESK_URL": helpdesk_url,
        "DSAR_HELPDESK_TOKEN": HELPDESK_TOKEN,
    }
    Redis.from_url(redis_url).flushdb()  # no job of an earlier test
    site = Deployment(env, tmp_path)
    try:
        site.follow(commands)
        key = site.run(
            ".venv/bin/flask --app wsgi dsar create-api-key --name recipe --scope requests:create "
            "--scope requests:read --scope requests:vouch --scope answers:download"
        )
        path = opt_out_completes(site, key.strip().splitlines()[-1], smtp)
        search = "/staff/queue?q=jane.doe%40example.com"
        assert call(site.base + search, headers={"X-Forwarded-Proto": "https"})[0] == 200
        site.stop(site.procs[:1])  # gunicorn, so that its log is complete
        log = site.access_log.read_text(errors="replace")
        assert "POST /api/v1/requests" in log
        assert '"GET /r/' in log
        assert path.removeprefix("/r/") not in log  # the tracking token never
        assert '"GET /staff/queue HTTP' in log  # the search's words dropped
        assert "jane" not in log.lower()  # nor what anyone searched for
    except urllib.error.HTTPError as exc:
        pytest.fail(f"{exc.code} {exc.read()[:2000]!r}")
    finally:
        site.stop()
