"""A stand-in for an outside SaaS API: slow, failing or hanging on demand, over real HTTP.

Paths choose the behaviour, so one server serves many registered systems:
`/slow/<seconds>` answers after that long, `/error` always answers 500, `/hang` answers
after 30 s (past any connector timeout). Every call is counted per path.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    server: VendorServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.server.calls[self.path] += 1
        if self.path == "/error":
            self._answer(500, {"error": "internal"})
        elif self.path == "/hang":
            time.sleep(30)
            self._answer(200, {"records": []})
        elif self.path.startswith("/slow/"):
            time.sleep(float(self.path.rsplit("/", 1)[1]))
            self._answer(200, {"records": [], "updated": 0, "erased": 0})
        else:
            self._answer(404, {"error": "no such endpoint"})

    def _answer(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller gave up (its timeout): nothing to tell it

    def log_message(self, format: str, *args: object) -> None:
        pass


class VendorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.calls: Counter[str] = Counter()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def vendor() -> Iterator[VendorServer]:
    server = VendorServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def http_system(key: str, url: str, path: str, **extra: object) -> str:
    """A [[system]] entry for the systems file: an HTTP system whose every action is `path`."""
    lines = [
        "[[system]]",
        f'key = "{key}"',
        f'name = "Vendor {key}"',
        'kind = "http"',
        *(f"{k} = {json.dumps(v)}" for k, v in extra.items()),
        "[system.config]",
        f'base_url = "{url}"',
        "[system.config.locate]",
        f'path = "{path}"',
        'records = ["records"]',
        "[system.config.erase]",
        f'path = "{path}"',
        'count = "erased"',
        "[system.config.opt_out]",
        f'path = "{path}"',
        'count = "updated"',
    ]
    return "\n".join(lines) + "\n"
