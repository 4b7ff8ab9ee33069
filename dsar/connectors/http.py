"""Reach a service over HTTP with JSON: the identity in the body, never in the URL.

Config:

    base_url = "${DSAR_HELPDESK_URL}"
    token_env = "DSAR_HELPDESK_TOKEN"   # environment variable holding the token
    auth_header = "Authorization"       # optional (default Authorization)
    auth_scheme = "Bearer"              # optional; "" sends the token alone
    rate_per_second = 5                 # optional: at most this many calls a second
    attempts = 3                        # optional: tries on 429 and 5xx (Retry-After honoured)
    async_limit = 300                   # seconds an asynchronous deletion may take
    identifiers = ["customer_id"]       # optional: other systems' identifiers sent too
    exports = { helpdesk_id = "customer.id" }   # optional: identifiers in the locate answer
    [locate]
    method = "POST"                     # POST (default), PUT or DELETE; the body is JSON
    path = "/api/v1/search"
    records = ["customer", "tickets"]   # paths (a.b.c) in the answer that hold records
    params = { per_page = 50 }          # optional: fixed fields added to the body
    page = { param = "page", next = "next_page" }   # page numbers, or
    # cursor = { param = "cursor", next = "next_cursor" }
    [erase]
    path = "/api/v1/erasures"
    count = "erased"                    # path of the count in the (final) answer
    [erase.status]                      # when the service answers 202 Accepted
    url = "status_url"                  # a field holding the status URL, or
    # path = "/api/v1/erasures/{id}" and id = "id"
    state = "state"                     # default "status"
    done = ["done"]                     # states that mean finished (and "failed" ones)
    [opt_out]
    path = "/api/v1/opt-out"
    count = "updated"
    [choices.email_marketing.out]       # optional, per choice (dsar.rules.choices): the
    path = "/api/v1/opt-out"            #   endpoint that opts the person out, and
    count = "updated"
    [choices.email_marketing.in]        #   the one that opts them back in (both required)
    path = "/api/v1/opt-in"
    count = "updated"
    [restriction]                       # likewise [objection] and [limit_sensitive]
    path = "/api/v1/restrictions"
    count = "updated"
    [restriction.lift]                  # optional, [objection.lift] too: clears the flag
    path = "/api/v1/restrictions"
    method = "DELETE"
    count = "updated"
    [correct]
    path = "/api/v1/corrections"
    fields = ["name", "email", "phone"] # required: the details the service can change
    count = "updated"
    records = ["customer"]              # optional: where they show (default: locate's first)

Pagination: `page` sends 1, 2, 3... in the body field `param` until the answer's `next` is
null; `cursor` sends the answer's `next` back until it is null or empty. Records repeated on
every page (the customer) are kept once. Each request waits at most the connector timeout;
429 and 5xx are tried `attempts` times, waiting Retry-After (at most 30 s) or a short backoff.
The token is read from the environment at call time and never stored in dsar's database.

Erasing, flagging and correcting each send the identity (as locate does) to their endpoint;
a correction adds {"changes": {field: new value}} for the fields [correct] lists, and the
answer's `count` says how many records changed. An asked field not listed is reported in
`not_held`. A flag without its section has nothing to change ([opt_out] says so as before).
Lifting a restriction or an objection calls its `lift` endpoint the same way; a section
without one is an error that names the setting to add. A choice calls its `out` or `in`
endpoint the same way, with {"choice": key} added to the body; a choice the service does not
declare changes nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

from dsar.connectors import httpspec
from dsar.connectors.base import (
    LIFTED,
    NOTHING_TO_CHOOSE,
    NOTHING_TO_FLAG,
    NOTHING_TO_LIFT,
    Identity,
    Outcome,
)
from dsar.connectors.checks import (
    check_changes,
    check_choice,
    check_liftable,
    check_purpose,
    expand,
    no_lift,
)
from dsar.connectors.httpjobs import await_done, dig
from dsar.connectors.transport import Transport, limiter_for
from dsar.exceptions import ConnectorError

MAX_PAGES = 1000
FLAG_VERBS = {
    "opt_out": "opt-out",
    "restriction": "restriction",
    "objection": "objection",
    "limit_sensitive": "sensitive-data limit",
}
TEST_IDENTITY = Identity(email="connection-test@invalid")


class HttpConnector:
    def __init__(
        self,
        config: Mapping[str, Any],
        *,
        settings: Mapping[str, str],
        timeout: float,
        pseudonym_key: bytes = b"",
        secrets: Mapping[str, str] | None = None,
    ) -> None:
        self.validate(config)
        self.base_url = expand(config["base_url"], settings).rstrip("/")
        self.token_env = config.get("token_env", "")
        self.config = config
        self.timeout = timeout
        self.secrets = secrets
        rate = config.get("rate_per_second")
        self.limiter = limiter_for(self.base_url, float(rate)) if rate else None

    validate = staticmethod(httpspec.check)

    @staticmethod
    def needs(config: Mapping[str, Any]) -> frozenset[str]:
        """Identifiers from other systems this service is sent."""
        return frozenset(config.get("identifiers", []))

    @staticmethod
    def provides(config: Mapping[str, Any]) -> frozenset[str]:
        """Identifiers this service's locate answer exports."""
        return frozenset(config.get("exports", {}))

    # -- transport -----------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        if not self.token_env:
            return {}
        token = (os.environ if self.secrets is None else self.secrets).get(self.token_env, "")
        if not token:
            raise ConnectorError(
                f"the secret {self.token_env} is not set in this process's environment"
            )
        scheme = self.config.get("auth_scheme", "Bearer")
        value = f"{scheme} {token}" if scheme else token
        return {self.config.get("auth_header", "Authorization"): value}

    def _transport(self) -> Transport:
        return Transport(
            timeout=self.timeout,
            attempts=int(self.config.get("attempts", 3)),
            limiter=self.limiter,
            headers=self._headers(),
        )

    def _body(self, spec: Mapping[str, Any], identity: Identity) -> dict[str, Any]:
        body = dict(spec.get("params", {}))
        body.update(identity.as_body(self.config.get("identifiers", [])))
        return body

    # -- locate --------------------------------------------------------------------------

    def _pages(self, transport: Transport, identity: Identity) -> Iterator[Any]:
        spec = self.config["locate"]
        paging = spec.get("page") or spec.get("cursor")
        body = self._body(spec, identity)
        marker: Any = 1 if "page" in spec else None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            if paging and marker is not None:
                body[paging["param"]] = marker
            answer = transport.send(spec.get("method", "POST"), self.base_url + spec["path"], body)
            yield answer.body
            marker = dig(answer.body, paging["next"])[:1] if paging else []
            marker = marker[0] if marker and marker[0] != "" else None
            if marker is None or json.dumps(marker) in seen:
                return
            seen.add(json.dumps(marker))
        raise ConnectorError(f"{spec['path']}: more than {MAX_PAGES} pages; giving up")

    def locate(self, identity: Identity) -> Outcome:
        """Find the person's records on every page of the answer."""
        spec = self.config["locate"]
        outcome, seen = Outcome(), set()
        for page in self._pages(self._transport(), identity):
            for place in spec.get("records", []):
                fresh = []
                for record in dig(page, place):
                    text = json.dumps(record, sort_keys=True, default=str)
                    if isinstance(record, dict) and (place, text) not in seen:
                        seen.add((place, text))
                        fresh.append(record)
                outcome.add_records(place, fresh)
            for name, path in self.config.get("exports", {}).items():
                outcome.add_identifiers(name, dig(page, path))
        return outcome

    # -- erase, flags, lifts and corrections ---------------------------------------------

    def _count(self, spec: Mapping[str, Any], body: Any) -> int:
        found = dig(body, spec.get("count", "count"))
        value = found[0] if found else 0
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    def _act(
        self, action: str, identity: Identity, verb: str, extra: Mapping[str, Any] | None = None
    ) -> Outcome:
        spec = self.config.get(action)
        if spec is None:
            return Outcome(receipts=[f"this system offers no {verb} endpoint; nothing to do"])
        count = self._send(spec, identity, verb, extra)
        outcome = Outcome(
            found=count, receipts=[f"{spec['path']}: {verb} confirmed for {count} record(s)"]
        )
        if action == "erase":
            outcome.erased = count
        return outcome

    def _send(
        self,
        spec: Mapping[str, Any],
        identity: Identity,
        verb: str,
        extra: Mapping[str, Any] | None = None,
    ) -> int:
        """Call an action's endpoint with the identity; the count its (final) answer gives."""
        transport = self._transport()
        body = {**self._body(spec, identity), **(extra or {})}
        answer = transport.send(spec.get("method", "POST"), self.base_url + spec["path"], body)
        if answer.status == 202:
            if "status" not in spec:
                raise ConnectorError(f"{spec['path']} accepted the {verb} but no [status] is set")
            limit = float(self.config.get("async_limit", 300))
            answer = await_done(
                transport, self.base_url, spec["status"], answer, verb=verb, limit=limit
            )
        return self._count(spec, answer.body)

    def erase(self, identity: Identity) -> Outcome:
        return self._act("erase", identity, "deletion")

    def opt_out(self, identity: Identity) -> Outcome:
        return self.flag(identity, "opt_out")

    def flag(self, identity: Identity, purpose: str) -> Outcome:
        """Call the purpose's endpoint ([opt_out], [restriction], [objection] or
        [limit_sensitive]) with the identity; a system without one has nothing to change."""
        check_purpose(purpose)
        if purpose != "opt_out" and purpose not in self.config:
            return Outcome(receipts=[NOTHING_TO_FLAG[purpose]])
        return self._act(purpose, identity, FLAG_VERBS[purpose])

    def lift(self, identity: Identity, purpose: str) -> Outcome:
        """Call the `lift` endpoint of [restriction] or [objection] with the identity."""
        check_liftable(purpose)
        if purpose not in self.config:
            return Outcome(receipts=[NOTHING_TO_LIFT[purpose]])
        spec = self.config[purpose].get("lift")
        if spec is None:
            raise no_lift(
                purpose,
                f"[{purpose}] names no [{purpose}.lift] endpoint",
                f"[{purpose}.lift] with its path (and method, count)",
            )
        count = self._send(spec, identity, f"lifting of the {FLAG_VERBS[purpose]}")
        receipt = f"{spec['path']}: {LIFTED[purpose]}, confirmed for {count} record(s)"
        return Outcome(found=count, receipts=[receipt])

    def choose(self, identity: Identity, choice: str, opted_in: bool) -> Outcome:
        """Call the choice's `in` or `out` endpoint with the identity and {"choice": key}."""
        check_choice(choice)
        sides = self.config.get("choices", {}).get(choice)
        if sides is None:
            return Outcome(receipts=[NOTHING_TO_CHOOSE[choice]])
        spec = sides["in" if opted_in else "out"]
        verb = f"opt-in to {choice}" if opted_in else f"opt-out of {choice}"
        count = self._send(spec, identity, verb, {"choice": choice})
        receipt = f"{spec['path']}: {verb} confirmed for {count} record(s)"
        return Outcome(found=count, receipts=[receipt])

    def correct(self, identity: Identity, changes: Mapping[str, str]) -> Outcome:
        """Send the changes of the fields [correct] lists to its endpoint, with the identity
        (the old values) that finds the records: {"email": ..., "changes": {field: value}}."""
        check_changes(changes)
        spec = self.config.get("correct") or {}
        fields = spec.get("fields") or []
        sent = {f: v for f, v in changes.items() if f in fields}
        if sent:
            outcome = self._act("correct", identity, "correction", {"changes": sent})
            places = spec.get("records") or self.config["locate"].get("records") or ["record"]
            place = places[0].rsplit(".", 1)[-1]
            for field_name in sent if outcome.found else ():
                outcome.change(place, field_name, field_name, outcome.found)
        else:
            outcome = Outcome(found=self.locate(identity).found)
        outcome.lacks(changes, fields)
        return outcome

    def test(self) -> Outcome:
        return self.locate(TEST_IDENTITY)
