"""Register data systems from a readable TOML file (see dsar/demo/systems.toml): all or
nothing, safe to repeat; systems the file does not name are kept."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from dsar.connectors import dependencies
from dsar.exceptions import ConfigFileError, SystemInvalid
from dsar.extensions import db
from dsar.models import DataSystem, SystemKind
from dsar.services import system_reach
from dsar.services.events import record
from dsar.services.system_checks import META, check_key, clean


@dataclass(frozen=True)
class LoadReport:
    added: list[str]
    updated: list[str]
    unchanged: list[str]


def _check(entry: dict[str, Any], index: int, seen: set[str]) -> tuple[str, SystemKind]:
    key = entry.get("key")
    where = f"system #{index + 1}" + (f" ({key})" if isinstance(key, str) else "")
    try:
        check_key(key)
        if key in seen:
            raise SystemInvalid(f"key {key!r} appears twice", field="key")
        kind = clean(entry_values(entry, entry.get("kind")))["kind"]
    except SystemInvalid as exc:
        raise ConfigFileError(f"{where}: {exc.message}") from None
    return key, kind


def _check_reach(checked: list[tuple[str, SystemKind, dict[str, Any]]]) -> None:
    """Each system's identity fields against what the file's other systems and the rest of
    the registry export (the file may add an exporter with its first user), and its
    spreadsheet's folder."""
    exports = system_reach.exported(exclude={key for key, _, _ in checked})
    provided = {
        key: dependencies(kind, entry.get("config") or {})[1] for key, kind, entry in checked
    }
    for index, (key, kind, entry) in enumerate(checked):
        known = {name: list(keys) for name, keys in exports.items()}
        for other, names in provided.items():
            for name in sorted(names) if other != key else ():
                known.setdefault(name, []).append(other)
        try:
            system_reach.check(key, kind, entry.get("config") or {}, exports=known)
        except SystemInvalid as exc:
            raise ConfigFileError(f"system #{index + 1} ({key}): {exc.message}") from None


def entry_values(entry: dict[str, Any], kind: Any) -> dict[str, Any]:
    values: dict[str, Any] = {m: str(entry.get(m, "")) for m in META}
    values.update(
        kind=kind,
        config=entry.get("config", {}),
        disclosure=entry.get("disclosure", {}),
        labels=entry.get("labels", {}),
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
    _check_reach(checked)
    report = LoadReport([], [], [])
    for key, kind, entry in checked:
        values = clean(entry_values(entry, kind))
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
