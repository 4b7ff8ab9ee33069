"""Secrets in a data system's config: masked wherever shown, refused where literal.

A system's config holds no secrets: tokens live in environment variables named by
`token_env`. The one exception is a database URL's password, kept as given and masked
wherever it is shown; a masked URL sent back unchanged keeps the stored one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from dsar.exceptions import SystemInvalid
from dsar.models import SystemKind

ENV_VAR_HELP = (
    "Put tokens in environment variables and give their names here; dsar never stores a token."
)
_USE_ENV = "put it in an environment variable and give its name in 'token_env' instead"
# Keys whose values would be secrets; `token_env` (a variable's name) is the allowed form.
_SECRET_NAME = re.compile(r"token|passw(?:or)?d|secret|api[_-]?key|credential", re.IGNORECASE)
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
# Maps of column names to identity fields or values: their keys are columns, not settings.
_COLUMN_MAPS = frozenset({"match", "set", "via"})
# A URL's password, by SQLAlchemy's own URL grammar: scheme://user:password@rest.
_URL_PASSWORD = re.compile(r"^(?P<head>[\w+]+://[^:/]*:)(?P<password>[^@]*)(?P<tail>@.*)$", re.S)
_QUERY_SECRET = re.compile(
    r"(?P<head>[?&][^=&#]*(?:passw(?:or)?d|secret|token|api[_-]?key)[^=&#]*=)(?P<value>[^&#]*)",
    re.IGNORECASE,
)
HIDDEN = "***"


def mask_url(value: str) -> str:
    """The URL with its password (and secret-looking query values) shown as ***."""
    found = _URL_PASSWORD.match(value)
    if found and found["password"]:
        value = found["head"] + HIDDEN + found["tail"]
    if "?" in value:
        value = _QUERY_SECRET.sub(lambda m: m["head"] + (HIDDEN if m["value"] else ""), value)
    return value


def masked_config(config: Any) -> Any:
    """A copy of a config fit to show: every URL's password masked."""
    if isinstance(config, dict):
        return {k: masked_config(v) for k, v in config.items()}
    if isinstance(config, list):
        return [masked_config(v) for v in config]
    if isinstance(config, str):
        return mask_url(config)
    return config


def unmask(new: Any, old: Any) -> Any:
    """`new`, with every value that is the masked form of the stored one put back as stored."""
    if isinstance(new, dict) and isinstance(old, dict):
        return {k: unmask(v, old[k]) if k in old else v for k, v in new.items()}
    if isinstance(new, list) and isinstance(old, list):
        return [unmask(v, old[i]) if i < len(old) else v for i, v in enumerate(new)]
    if isinstance(new, str) and isinstance(old, str) and new != old and new == mask_url(old):
        return old
    return new


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
    elif isinstance(node, str):
        yield node


def _secrets_in(config: Any) -> set[str]:
    """The passwords and secret query values held in a config's URLs."""
    found: set[str] = set()
    for text in _strings(config):
        match = _URL_PASSWORD.match(text)
        if match and match["password"]:
            found.add(match["password"])
        found.update(m["value"] for m in _QUERY_SECRET.finditer(text) if m["value"])
    return found


def scrub(message: str, config: Any) -> str:
    """`message` with any secret of `config` replaced by ***, in case a driver echoed it."""
    for secret in sorted(_secrets_in(config), key=len, reverse=True):
        message = message.replace(secret, HIDDEN)
    return message


def _holds_value(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, dict):
        return any(_holds_value(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_value(v) for v in value)
    return value is not None and not isinstance(value, bool)


def refuse_secrets(kind: SystemKind, node: Any, path: str = "") -> None:
    if isinstance(node, list):
        for index, item in enumerate(node):
            refuse_secrets(kind, item, f"{path}[{index}]")
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        where = f"{path}.{key}" if path else str(key)
        if key == "token_env":
            if value and not (isinstance(value, str) and _ENV_NAME.match(value)):
                raise SystemInvalid(
                    f"'{where}' must be the name of an environment variable, like "
                    "DSAR_HELPDESK_TOKEN, not the token itself; dsar never stores a token",
                    field="config",
                )
            continue
        # SQL `erase`, `exports` and suppress `columns` are keyed by column or identifier names.
        named = key in ("exports", "columns") or (key == "erase" and kind is SystemKind.SQL)
        csv_opt_out = key == "opt_out" and kind is SystemKind.CSV and not path
        # A choice's `out` and `in`, a flag's `lift`: columns and their values in a database
        # or a spreadsheet (an online service's are endpoints, checked as any other setting).
        sides = key in ("out", "in", "lift") and kind in (SystemKind.SQL, SystemKind.CSV)
        if key in _COLUMN_MAPS or named or csv_opt_out or sides:
            continue
        if str(key).lower() == "headers" and _holds_value(value):
            raise SystemInvalid(
                f"'{where}' holds literal header values, which dsar would store and show; "
                f"for a token, {_USE_ENV}",
                field="config",
            )
        if _SECRET_NAME.search(str(key)) and _holds_value(value):
            raise SystemInvalid(
                f"'{where}' holds a literal secret, which dsar would store and show; {_USE_ENV}",
                field="config",
            )
        refuse_secrets(kind, value, where)


def refuse_hidden(config: Any) -> None:
    for text in _strings(config):
        match = _URL_PASSWORD.match(text)
        if match and match["password"] == HIDDEN:
            raise SystemInvalid(
                "the URL's password is hidden as ***; when you change the URL, type the "
                "password again (or send the URL back exactly as shown to keep it)",
                field="config",
            )
