"""Check an HTTP system's config and say exactly what is wrong with it.

Each action ([locate], [erase], [correct], and the flags [opt_out], [restriction],
[objection], [limit_sensitive]) is a table with a path; [correct] also lists `fields`.
[restriction] and [objection] may hold a sub-table `lift`: the endpoint that clears the flag
again, an action like the others (path, method, count, params, status). It must not be the
flag's own endpoint and method, which would set the flag again:

    [restriction]
    path = "/api/v1/restrictions"
    count = "updated"
    [restriction.lift]
    path = "/api/v1/restrictions"
    method = "DELETE"
    count = "updated"

`choices` holds, per choice of the preference centre (dsar.rules.choices), two such actions,
both required: `out` opts the person out, `in` opts them back in; they must differ in path
or method, since the body (the identity and {"choice": key}) does not say which:

    [choices.email_marketing.out]
    path = "/api/v1/opt-out"
    count = "updated"
    [choices.email_marketing.in]
    path = "/api/v1/opt-in"
    count = "updated"
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dsar.connectors.base import CORRECTABLE_FIELDS, FLAG_PURPOSES, IDENTIFIER, LIFTABLE_PURPOSES
from dsar.connectors.checks import (
    check_exports,
    check_keys,
    check_sides,
    choice_settings,
    require,
)
from dsar.exceptions import ConnectorError

ACTIONS = ("locate", "erase", "correct", *FLAG_PURPOSES)
TOP_KEYS = (
    "base_url",
    "token_env",
    "auth_header",
    "auth_scheme",
    "rate_per_second",
    "attempts",
    "async_limit",
    "identifiers",
    "exports",
    "choices",
    *ACTIONS,
)
ACTION_KEYS = ("method", "path", "records", "count", "params", "page", "cursor", "status")
LIFTABLE = (*ACTION_KEYS, "lift")
STATUS_KEYS = ("url", "path", "id", "state", "done", "failed", "interval")
METHODS = ("POST", "PUT", "DELETE")


def _number(config: Mapping[str, Any], key: str, low: float, high: float, where: str) -> None:
    if key in config:
        value = config[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            raise ConnectorError(f"{where}: '{key}' must be a number from {low:g} to {high:g}")


def _texts(value: Any, where: str, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConnectorError(f"{where}: '{key}' must be a list of text")
    return value


def check(config: Mapping[str, Any]) -> None:
    """Raise ConnectorError naming the first problem in an HTTP system's config."""
    if not isinstance(config, Mapping):
        raise ConnectorError("http system: the settings must be a table")
    check_keys(config, TOP_KEYS, "http system")
    require(config, "base_url", str, "http system")
    if "locate" not in config:
        raise ConnectorError("http system: a [locate] endpoint is required")
    _check_auth(config)
    _number(config, "rate_per_second", 0.01, 1000, "http system")
    _number(config, "attempts", 1, 10, "http system")
    _number(config, "async_limit", 1, 3600, "http system")
    for name in _texts(config.get("identifiers", []), "http system", "identifiers"):
        if not IDENTIFIER.match(name):
            raise ConnectorError(f"http system: identifier {name!r} is not a plain name")
    if "exports" in config:
        check_exports(config["exports"], "http system", paths=True)
    for action in ACTIONS:
        if action in config:
            _check_action(config[action], f"http system [{action}]", action)
    for choice, sides in choice_settings(config, "http system").items():
        _check_choice(sides, choice)


def _check_fields(spec: Mapping[str, Any], where: str) -> None:
    """[correct] lists the person's details the service can change: fields = ["email"]."""
    fields = spec.get("fields")
    if not isinstance(fields, list) or not fields:
        raise ConnectorError(
            f"{where}: 'fields' is required: the list of details the service can change,"
            f" from {', '.join(CORRECTABLE_FIELDS)}"
        )
    for name in fields:
        if name not in CORRECTABLE_FIELDS:
            raise ConnectorError(
                f"{where}: {name!r} in 'fields' is not a field; use one of "
                f"{', '.join(CORRECTABLE_FIELDS)}"
            )


def _check_auth(config: Mapping[str, Any]) -> None:
    for key in ("auth_header", "auth_scheme", "token_env"):
        if key in config and not isinstance(config[key], str):
            raise ConnectorError(f"http system: '{key}' must be text")
    header = config.get("auth_header")
    if header is not None and not IDENTIFIER.match(header.replace("-", "_")):
        raise ConnectorError("http system: 'auth_header' must be a header name")


def _check_paging(spec: Mapping[str, Any], where: str) -> None:
    if "page" in spec and "cursor" in spec:
        raise ConnectorError(f"{where}: give 'page' or 'cursor', not both")
    for style in ("page", "cursor"):
        if style in spec:
            paging = spec[style]
            if not isinstance(paging, dict) or not all(
                isinstance(paging.get(k), str) and paging[k] for k in ("param", "next")
            ):
                raise ConnectorError(f"{where}: '{style}' needs 'param' and 'next' (text)")
            check_keys(paging, ("param", "next"), f"{where} {style}")


def _check_action(spec: Any, where: str, action: str) -> None:
    if not isinstance(spec, dict):
        raise ConnectorError(f"{where}: must be a table with 'path'")
    if "lift" in spec and action not in LIFTABLE_PURPOSES:
        raise ConnectorError(f"{where}: only a restriction or an objection can be lifted")
    known = {"correct": (*ACTION_KEYS, "fields"), **dict.fromkeys(LIFTABLE_PURPOSES, LIFTABLE)}
    check_keys(spec, known.get(action, ACTION_KEYS), where)
    if action == "correct":
        _check_fields(spec, where)
    path = require(spec, "path", str, where)
    if not path.startswith("/"):
        raise ConnectorError(f"{where}: 'path' must start with /")
    if spec.get("method", "POST") not in METHODS:
        raise ConnectorError(f"{where}: 'method' must be one of {', '.join(METHODS)}")
    _texts(spec.get("records", []), where, "records")
    if not isinstance(spec.get("count", "count"), str):
        raise ConnectorError(f"{where}: 'count' must be the path of a number in the answer")
    if not isinstance(spec.get("params", {}), dict):
        raise ConnectorError(f"{where}: 'params' must be a table of fixed body fields")
    _check_paging(spec, where)
    if "status" in spec:
        _check_status(spec["status"], f"{where} status")
    if "lift" in spec:
        _check_lift(spec, where, action)


def _check_lift(spec: Mapping[str, Any], where: str, action: str) -> None:
    """[restriction.lift] or [objection.lift]: another endpoint, or the same with another
    method (DELETE), that clears the flag."""
    lift_where = f"http system [{action}.lift]"
    _check_action(spec["lift"], lift_where, "lift")
    lift = spec["lift"]
    if (lift["path"], lift.get("method", "POST")) == (spec["path"], spec.get("method", "POST")):
        raise ConnectorError(
            f"{lift_where}: the same path and method as [{action}] would set the {action} again;"
            ' give another method (like "DELETE") or path'
        )


def _check_choice(sides: Any, choice: str) -> None:
    """[choices.<key>.out] and [choices.<key>.in]: two endpoints, not the same one."""
    where = f"http system [choices.{choice}]"
    check_sides(sides, where, lambda side: f"[choices.{choice}.{side}] with its path")
    check_keys(sides, ("out", "in"), where)
    for side in ("out", "in"):
        _check_action(sides[side], f"http system [choices.{choice}.{side}]", "choice")
    out, back = ((s["path"], s.get("method", "POST")) for s in (sides["out"], sides["in"]))
    if out == back:
        raise ConnectorError(
            f"http system [choices.{choice}.in]: the same path and method as"
            f" [choices.{choice}.out] would opt out again; give another path or method"
        )


def _check_status(status: Any, where: str) -> None:
    if not isinstance(status, dict):
        raise ConnectorError(f"{where}: must be a table with 'url' or 'path'")
    check_keys(status, STATUS_KEYS, where)
    if ("url" in status) == ("path" in status):
        raise ConnectorError(f"{where}: give exactly one of 'url' or 'path'")
    if "path" in status and not (
        isinstance(status["path"], str) and status["path"].startswith("/")
    ):
        raise ConnectorError(f"{where}: 'path' must start with / (with {{id}} for the job)")
    for key in ("done", "failed"):
        if key in status:
            _texts(status[key], where, key)
    _number(status, "interval", 0.01, 60, where)
