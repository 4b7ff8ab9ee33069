"""Reach a service over HTTP with JSON: one POST per action, the identity in the body.

Config:

    base_url = "${DSAR_HELPDESK_URL}"
    token_env = "DSAR_HELPDESK_TOKEN"     # name of the environment variable holding the token
    [locate]
    path = "/api/v1/search"
    records = ["customer", "tickets"]     # keys of the answer that hold records
    [erase]
    path = "/api/v1/erase"
    count = "erased"                      # key of the answer that holds the count
    [opt_out]
    path = "/api/v1/opt-out"
    count = "updated"

The identity never goes into the URL. The token is read from the environment at call time and
never stored in dsar's database.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from dsar.connectors.base import Identity, Outcome, expand, require
from dsar.exceptions import ConnectorError

ACTIONS = ("locate", "erase", "opt_out")


class HttpConnector:
    def __init__(
        self, config: Mapping[str, Any], *, settings: Mapping[str, str], timeout: float
    ) -> None:
        self.validate(config)
        self.base_url = expand(config["base_url"], settings).rstrip("/")
        self.token_env = config.get("token_env", "")
        self.config = config
        self.timeout = timeout

    @staticmethod
    def validate(config: Mapping[str, Any]) -> None:
        require(config, "base_url", str, "http system")
        for action in ACTIONS:
            spec = config.get(action)
            if spec is not None:
                path = require(spec, "path", str, f"http system [{action}]")
                if not path.startswith("/"):
                    raise ConnectorError(f"http system [{action}]: 'path' must start with /")
        if "locate" not in config:
            raise ConnectorError("http system: a [locate] endpoint is required")

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        url = self.base_url + path
        if urlsplit(url).scheme not in {"http", "https"}:
            raise ConnectorError("http system: base_url must be http or https")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token_env:
            token = os.environ.get(self.token_env, "")
            if not token:
                raise ConnectorError(
                    f"the secret {self.token_env} is not set in this process's environment"
                )
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(  # noqa: S310 - scheme checked above
            url, data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        where = urlsplit(url).netloc + path
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise ConnectorError(f"{where} answered HTTP {exc.code}") from None
        except urllib.error.URLError as exc:
            raise ConnectorError(f"cannot reach {where}: {exc.reason}") from None
        except TimeoutError:
            raise ConnectorError(f"{where} did not answer within {self.timeout:g} s") from None
        except json.JSONDecodeError:
            raise ConnectorError(f"{where} answered with something other than JSON") from None

    @staticmethod
    def _identity(identity: Identity) -> dict[str, str]:
        return {k: v for k, v in vars(identity).items() if v}

    def locate(self, identity: Identity) -> Outcome:
        spec = self.config["locate"]
        answer = self._post(spec["path"], self._identity(identity))
        outcome = Outcome()
        for key in spec.get("records", []):
            value = answer.get(key) if isinstance(answer, dict) else None
            if isinstance(value, dict):
                value = [value]
            if isinstance(value, list):
                outcome.add_records(key, [v for v in value if isinstance(v, dict)])
        return outcome

    def _count_call(self, action: str, identity: Identity, verb: str) -> Outcome:
        spec = self.config.get(action)
        if spec is None:
            return Outcome(receipts=[f"this system offers no {verb} endpoint; nothing to do"])
        answer = self._post(spec["path"], self._identity(identity))
        count = answer.get(spec.get("count", "count"), 0) if isinstance(answer, dict) else 0
        count = count if isinstance(count, int) else 0
        outcome = Outcome(receipts=[f"{spec['path']}: {verb} confirmed for {count} record(s)"])
        if action == "erase":
            outcome.erased = count
        outcome.found = count
        return outcome

    def erase(self, identity: Identity) -> Outcome:
        return self._count_call("erase", identity, "erasure")

    def opt_out(self, identity: Identity) -> Outcome:
        return self._count_call("opt_out", identity, "opt-out")

    def test(self) -> Outcome:
        return self.locate(Identity(email="connection-test@invalid"))
