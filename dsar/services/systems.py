"""The registry of data systems: add, edit, enable or disable, test a connection, and what the
registry pages show. Config values never go into events or logs, only the names of the
fields that changed; secrets are handled in dsar.services.system_secrets, the checks of
every field in dsar.services.system_checks (and, with the rest of the registry and the
settings, in dsar.services.system_reach), the TOML loader in dsar.services.registry.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from dsar.connectors import Outcome
from dsar.exceptions import ConnectorError, SystemInvalid
from dsar.extensions import db
from dsar.models import FINAL_TASK_STATUSES, DataSystem, SystemKind, Task
from dsar.services import system_reach
from dsar.services.connections import connector
from dsar.services.events import record
from dsar.services.system_checks import FIELDS, check_key, clean
from dsar.services.system_secrets import mask_url, scrub, unmask

log = logging.getLogger(__name__)

KIND_LABELS = {
    SystemKind.SQL: "SQL database",
    SystemKind.HTTP: "HTTP (JSON API)",
    SystemKind.CSV: "CSV spreadsheet",
    SystemKind.MANUAL: "Manual (the owner acts)",
}


@dataclass(frozen=True)
class ConnectionCheck:
    """The result of a harmless locate: whether it worked, in words, and how long it took."""

    ok: bool
    message: str
    elapsed: float


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
    values = clean(values)
    system_reach.check(key, values["kind"], values["config"])
    system = DataSystem(key=key, **values)
    db.session.add(system)
    given = [f for f in FIELDS if f in ("kind", "enabled") or values[f]]
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
        merged["config"] = unmask(copy.deepcopy(values["config"]), system.config)
    checked = clean(merged)
    changed = [f for f in FIELDS if getattr(system, f) != checked[f]]
    if not changed:
        return []
    if "kind" in changed or "config" in changed:  # a name or a disclosure reaches nothing new
        system_reach.check(system.key, checked["kind"], checked["config"])
    for field in changed:
        setattr(system, field, checked[field])
    record(None, "system_updated", actor=actor, detail={"system": system.key, "fields": changed})
    db.session.commit()
    log.info("data system %s updated by %s: %s", system.key, actor, ", ".join(changed))
    return changed


def open_tasks(system: DataSystem) -> int:
    """How many of the system's tasks have not finished (they run on if it is disabled)."""
    return (
        db.session.scalar(
            select(func.count(Task.id)).where(
                Task.system_id == system.id, Task.status.not_in(FINAL_TASK_STATUSES)
            )
        )
        or 0
    )


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

    started = time.perf_counter()
    try:
        outcome = connector(system).test()  # built exactly as the workers build it
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
