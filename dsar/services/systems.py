"""Register data systems, from a readable TOML file (see dsar/demo/systems.toml) or from the
staff registry pages, and test their connections.

A system's config holds no secrets: tokens live in environment variables named by `token_env`.
The one exception is a database URL's password, kept as given and masked wherever it is shown;
a masked URL sent back unchanged keeps the stored one. Config values never go into events or
logs, only the names of the fields that changed.
"""

from __future__ import annotations

import copy
import logging
import re
import time
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from dsar import inputs
from dsar.connectors import Outcome, validate_config
from dsar.exceptions import ConfigFileError, ConnectorError, SystemInvalid
from dsar.extensions import db
from dsar.models import DataSystem, SystemKind
from dsar.services.events import record

log = logging.getLogger(__name__)

_META = ("name", "owner", "contact", "description")
# The fields an admin may change, in the order events list them.
FIELDS = (
    "name",
    "kind",
    "owner",
    "contact",
    "description",
    "enabled",
    "config",
    "disclosure",
    "max_concurrency",
)
# What the access answer says about a system (GDPR Art. 15(1)(a)-(h), CCPA 1798.110 and
# 7024(d)): lists of phrases, or one phrase. `withheld` names fields whose values are never
# disclosed, only said to exist (SSN, driver's licence, account numbers, passwords, ...).
DISCLOSURE_LISTS = frozenset(
    {"purposes", "categories", "recipients", "third_countries", "ccpa_categories", "withheld"}
)
DISCLOSURE_TEXTS = frozenset({"retention", "source", "automated_decisions", "legal_basis"})
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_LIMITS = {"name": 200, "owner": 200, "contact": 254}

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

KIND_LABELS = {
    SystemKind.SQL: "SQL database",
    SystemKind.HTTP: "HTTP (JSON API)",
    SystemKind.CSV: "CSV spreadsheet",
    SystemKind.MANUAL: "Manual (the owner acts)",
}


@dataclass(frozen=True)
class LoadReport:
    added: list[str]
    updated: list[str]
    unchanged: list[str]


@dataclass(frozen=True)
class ConnectionCheck:
    """The result of a harmless locate: whether it worked, in words, and how long it took."""

    ok: bool
    message: str
    elapsed: float


# -- secrets: masking for display, refusing literal ones -----------------------------------


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


def _unmask(new: Any, old: Any) -> Any:
    """`new`, with every value that is the masked form of the stored one put back as stored."""
    if isinstance(new, dict) and isinstance(old, dict):
        return {k: _unmask(v, old[k]) if k in old else v for k, v in new.items()}
    if isinstance(new, list) and isinstance(old, list):
        return [_unmask(v, old[i]) if i < len(old) else v for i, v in enumerate(new)]
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


def _refuse_secrets(kind: SystemKind, node: Any, path: str = "") -> None:
    if isinstance(node, list):
        for index, item in enumerate(node):
            _refuse_secrets(kind, item, f"{path}[{index}]")
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
        if key in _COLUMN_MAPS or named or csv_opt_out:
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
        _refuse_secrets(kind, value, where)


def _refuse_hidden(config: Any) -> None:
    for text in _strings(config):
        match = _URL_PASSWORD.match(text)
        if match and match["password"] == HIDDEN:
            raise SystemInvalid(
                "the URL's password is hidden as ***; when you change the URL, type the "
                "password again (or send the URL back exactly as shown to keep it)",
                field="config",
            )


# -- validation, shared by the TOML loader and the registry pages ---------------------------


def _kind(value: Any) -> SystemKind:
    try:
        return SystemKind(value)
    except ValueError:
        choices = ", ".join(k.value for k in SystemKind)
        raise SystemInvalid(f"'kind' must be one of {choices}", field="kind") from None


def check_config(kind: SystemKind, config: Any) -> None:
    """Raise SystemInvalid (field "config") naming the first problem in a system's config."""
    if not isinstance(config, dict):
        raise SystemInvalid("the connection settings must be an object of settings", field="config")
    _refuse_secrets(kind, config)
    _refuse_hidden(config)
    if kind is SystemKind.MANUAL:
        # No connection: only the owner's deadline and what to tell them (dsar.services.manual).
        unknown = sorted(set(config) - {"deadline_days", "instructions"})
        if unknown:
            raise SystemInvalid(
                f"manual systems take only 'deadline_days' and 'instructions'; remove "
                f"{', '.join(repr(k) for k in unknown)}",
                field="config",
            )
        days = config.get("deadline_days")
        if days is not None and (type(days) is not int or not 1 <= days <= 90):
            raise SystemInvalid(
                "'deadline_days' must be a whole number of days from 1 to 90", field="config"
            )
        text = config.get("instructions")
        if text is not None and (not isinstance(text, str) or len(text) > 2000):
            raise SystemInvalid(
                "'instructions' must be text of at most 2,000 characters", field="config"
            )
        return
    try:
        validate_config(kind, config)
    except ConnectorError as exc:
        raise SystemInvalid(str(exc), field="config") from None


def check_disclosure(value: Any) -> dict[str, Any]:
    """The disclosure table, checked: known keys only, phrases of at most 500 characters."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SystemInvalid("'disclosure' must be a table of keys", field="disclosure")
    clean: dict[str, Any] = {}
    for key, item in value.items():
        if key in DISCLOSURE_LISTS:
            items = [item] if isinstance(item, str) else item
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                message = f"disclosure '{key}' must be a list of text"
                raise SystemInvalid(message, field="disclosure")
            clean[key] = [i.strip() for i in items if i.strip()]
        elif key in DISCLOSURE_TEXTS:
            if not isinstance(item, str):
                raise SystemInvalid(f"disclosure '{key}' must be text", field="disclosure")
            clean[key] = item.strip()
        else:
            known = ", ".join(sorted(DISCLOSURE_LISTS | DISCLOSURE_TEXTS))
            raise SystemInvalid(
                f"disclosure: unknown key {key!r}; known keys: {known}", field="disclosure"
            )
        if any(len(i) > 500 for i in ([clean[key]] if key in DISCLOSURE_TEXTS else clean[key])):
            raise SystemInvalid(f"disclosure '{key}': at most 500 characters", field="disclosure")
    return clean


def check_concurrency(value: Any) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1000:
        raise SystemInvalid(
            "'max_concurrency' must be a whole number from 0 (no cap) to 1000",
            field="max_concurrency",
        )
    return value


def check_key(key: Any) -> str:
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise SystemInvalid("'key' must be 1 to 64 letters, digits, - or _", field="key")
    return key


def _check_strings(value: Any, field: str) -> None:
    """Every string in a nested setting is text that can be stored (dsar.inputs.problem)."""
    if isinstance(value, str):
        if inputs.problem(value, multiline=True) is not None:
            raise SystemInvalid(
                f"'{field}' holds a value with control or broken characters", field=field
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, field)
            _check_strings(item, field)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item, field)


def _clean(values: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a system, checked; SystemInvalid names the first wrong one."""
    clean: dict[str, Any] = {}
    for name in _META:
        value = values.get(name, "")
        if value is None:
            value = ""
        try:
            value = inputs.clean(value, multiline=name == "description")
        except inputs.InputRefused as exc:
            raise SystemInvalid(f"'{name}': {exc.message}", field=name) from None
        if name in _LIMITS and len(value) > _LIMITS[name]:
            raise SystemInvalid(f"'{name}' must be at most {_LIMITS[name]} characters", field=name)
        clean[name] = value
    if not clean["name"]:
        raise SystemInvalid("'name' is required", field="name")
    clean["kind"] = _kind(values.get("kind"))
    clean["enabled"] = bool(values.get("enabled", True))
    config = values.get("config")
    config = {} if config is None else copy.deepcopy(config)
    _check_strings(config, "config")
    check_config(clean["kind"], config)
    clean["config"] = config
    disclosure = values.get("disclosure")
    _check_strings(disclosure, "disclosure")
    clean["disclosure"] = check_disclosure(disclosure)
    clean["max_concurrency"] = check_concurrency(values.get("max_concurrency"))
    return clean


def _check(entry: dict[str, Any], index: int, seen: set[str]) -> tuple[str, SystemKind]:
    key = entry.get("key")
    where = f"system #{index + 1}" + (f" ({key})" if isinstance(key, str) else "")
    try:
        check_key(key)
        if key in seen:
            raise SystemInvalid(f"key {key!r} appears twice", field="key")
        kind = _clean(_entry_values(entry, entry.get("kind")))["kind"]
    except SystemInvalid as exc:
        raise ConfigFileError(f"{where}: {exc.message}") from None
    return key, kind


# -- the TOML file -------------------------------------------------------------------------


def _entry_values(entry: dict[str, Any], kind: Any) -> dict[str, Any]:
    values: dict[str, Any] = {m: str(entry.get(m, "")) for m in _META}
    values.update(
        kind=kind,
        config=entry.get("config", {}),
        disclosure=entry.get("disclosure", {}),
        max_concurrency=entry.get("max_concurrency", 0),
    )
    return values


def _parse(path: Path) -> list[dict[str, Any]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigFileError(f"{path}: no such file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"{path}: not valid TOML: {exc}") from None
    systems = data.get("system")
    if not isinstance(systems, list) or not systems:
        raise ConfigFileError(f"{path}: expected one or more [[system]] tables")
    return systems


def load_file(path: Path, *, actor: str = "cli") -> LoadReport:
    """Add or update every system in the file; all or nothing. Systems not named are kept."""
    entries = _parse(path)
    checked: list[tuple[str, SystemKind, dict[str, Any]]] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        key, kind = _check(entry, index, seen)
        seen.add(key)
        checked.append((key, kind, entry))
    report = LoadReport([], [], [])
    for key, kind, entry in checked:
        values = _clean(_entry_values(entry, kind))
        del values["enabled"]
        system = db.session.scalar(select(DataSystem).where(DataSystem.key == key))
        # A system disabled in the registry stays disabled unless the file says `enabled`.
        if "enabled" in entry or system is None:
            values["enabled"] = bool(entry.get("enabled", True))
        if system is None:
            db.session.add(DataSystem(key=key, **values))
            report.added.append(key)
        elif any(getattr(system, f) != v for f, v in values.items()):
            for field, value in values.items():
                setattr(system, field, value)
            report.updated.append(key)
        else:
            report.unchanged.append(key)
    if report.added or report.updated:
        record(
            None,
            "systems_loaded",
            actor=actor,
            detail={"added": report.added, "updated": report.updated},
        )
    db.session.commit()
    return report


# -- the registry --------------------------------------------------------------------------


def get(key: str) -> DataSystem | None:
    return db.session.scalar(select(DataSystem).where(DataSystem.key == key))


def all_systems() -> list[DataSystem]:
    return list(db.session.scalars(select(DataSystem).order_by(DataSystem.key)))


def _commit_or_duplicate(key: str) -> None:
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise SystemInvalid(f"a system with key {key!r} already exists", field="key") from None


def create(values: Mapping[str, Any], *, actor: str) -> DataSystem:
    """Register a new system; SystemInvalid names the field at fault and nothing is stored."""
    key = check_key(values.get("key"))
    if get(key) is not None:
        raise SystemInvalid(f"a system with key {key!r} already exists", field="key")
    clean = _clean(values)
    system = DataSystem(key=key, **clean)
    db.session.add(system)
    given = [f for f in FIELDS if f in ("kind", "enabled") or clean[f]]
    record(None, "system_created", actor=actor, detail={"system": key, "fields": given})
    _commit_or_duplicate(key)
    log.info("data system %s created by %s", key, actor)
    return system


def update(system: DataSystem, values: Mapping[str, Any], *, actor: str) -> list[str]:
    """Change a system's fields (those not given stay); return the names of those changed.

    A config value equal to the masked form of the stored one (a URL with its password shown
    as ***) keeps the stored value.
    """
    if "key" in values and values["key"] != system.key:
        raise SystemInvalid("the key of a system cannot change", field="key")
    merged = {f: getattr(system, f) for f in FIELDS}
    merged.update({f: values[f] for f in FIELDS if f in values})
    if "config" in values:
        merged["config"] = _unmask(copy.deepcopy(values["config"]), system.config)
    clean = _clean(merged)
    changed = [f for f in FIELDS if getattr(system, f) != clean[f]]
    if not changed:
        return []
    for field in changed:
        setattr(system, field, clean[field])
    record(None, "system_updated", actor=actor, detail={"system": system.key, "fields": changed})
    db.session.commit()
    log.info("data system %s updated by %s: %s", system.key, actor, ", ".join(changed))
    return changed


def set_enabled(system: DataSystem, enabled: bool, *, actor: str) -> bool:
    """Enable or disable a system; False when it already was. Disabled systems get no tasks
    from new requests; tasks already made run on."""
    if system.enabled is enabled:
        return False
    system.enabled = enabled
    action = "system_enabled" if enabled else "system_disabled"
    record(None, action, actor=actor, detail={"system": system.key, "fields": ["enabled"]})
    db.session.commit()
    log.info("data system %s %s by %s", system.key, action.removeprefix("system_"), actor)
    return True


def _describe(outcome: Outcome) -> str:
    if outcome.receipts:
        return "; ".join(outcome.receipts)
    return f"a search for a test address found {outcome.found} record(s)"


def test_connection(system: DataSystem) -> ConnectionCheck:
    """Run a harmless locate (or read, for a spreadsheet) against the system."""
    if system.kind is SystemKind.MANUAL:
        return ConnectionCheck(False, "Manual systems have no connection to test.", 0.0)
    from dsar.services import processing  # the connector exactly as the workers build it

    started = time.perf_counter()
    try:
        outcome = processing.connector(system).test()
    except ConnectorError as exc:
        ok, message = False, str(exc)
    except Exception as exc:  # a test must answer in words, whatever the connector did
        ok, message = False, f"unexpected {type(exc).__name__}"
    else:
        ok, message = True, _describe(outcome)
    elapsed = time.perf_counter() - started
    log.info("connection test of %s: %s in %.2f s", system.key, "ok" if ok else "failed", elapsed)
    return ConnectionCheck(ok, scrub(message, system.config), elapsed)


# -- what the registry shows ---------------------------------------------------------------


def identity_fields(system: DataSystem) -> list[str]:
    """Where the system is searched for a person, derived from its config."""
    config = system.config if isinstance(system.config, dict) else {}
    if system.kind is SystemKind.SQL:
        found = []
        for spec in config.get("tables", []):
            if isinstance(spec, dict) and isinstance(spec.get("match"), dict):
                found += [f"{f} → {spec['name']}.{c}" for c, f in spec["match"].items()]
        return found
    if system.kind is SystemKind.CSV:
        match = config.get("match")
        return [f"{f} → column {c}" for c, f in match.items()] if isinstance(match, dict) else []
    if system.kind is SystemKind.HTTP:
        return ["email, and name and phone when given (sent in the request body)"]
    return ["checked by the owner"]


def connection_summary(system: DataSystem) -> str:
    """Where the system is, fit to show: URLs masked, token variables named."""
    config = system.config if isinstance(system.config, dict) else {}
    if system.kind is SystemKind.SQL:
        return mask_url(str(config.get("url", "")))
    if system.kind is SystemKind.HTTP:
        where = mask_url(str(config.get("base_url", "")))
        token = config.get("token_env")
        return f"{where} (token from ${token})" if token else where
    if system.kind is SystemKind.CSV:
        return str(config.get("path", ""))
    return "no connection"
