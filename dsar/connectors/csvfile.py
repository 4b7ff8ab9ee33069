"""Reach a spreadsheet kept as a CSV file; erase, correct, flag, lift flags and opt out of or
back in to choices by rewriting it atomically.

Config:

    path = "${DSAR_DEMO_DIR}/events.csv"
    match = { email = "email", phone = "phone" }  # column = identity field or identifier
    opt_out = { marketing_consent = "no" }        # optional: columns set on the person's rows
    restriction = { restricted = "yes" }          # optional, likewise: a restriction,
    objection = { objected = "yes" }              #   an objection,
    limit_sensitive = { dietary_use = "none" }    #   a limit on sensitive data
    restriction_lift = { restricted = "no" }      # optional: the columns that lift them again
    objection_lift = { objected = "no" }          #   (only a restriction or an objection)
    correct = { name = "name", email = "email" }  # optional: column = the detail it holds
    exports = { member_id = "member_number" }     # optional: identifiers for other systems
    [choices.email_marketing]                     # optional, per choice (dsar.rules.choices):
    out = { marketing_consent = "no" }            #   the columns set when the person opts out
    in = { marketing_consent = "yes" }            #   and when they opt back in (both required)

Cells are normalised before comparing: emails trimmed and lower-cased, phones read as numbers
(in the identity's region) and compared in E.164, other values trimmed. Every change rewrites
the file atomically (a temporary file moved into place) under a lock that every worker takes;
a flag, lift or correction that finds every row already set leaves the file alone. Lifting
a flag the file sets (`lift(identity, purpose)`) writes its `<purpose>_lift` values; without
them it is refused, naming the setting to add. A choice (`choose(identity, choice,
opted_in)`) writes its `out` or `in` values likewise; a choice the file does not declare
changes nothing. A correction's `correct` names the columns (any header) that hold each of
the person's details (CORRECTABLE_FIELDS); the asked fields no column holds are reported in
`not_held`.
"""

from __future__ import annotations

import csv
import fcntl
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dsar.connectors.base import (
    FLAG_PURPOSES,
    LIFTABLE_PURPOSES,
    LIFTED,
    NOTHING_TO_CHOOSE,
    NOTHING_TO_FLAG,
    NOTHING_TO_LIFT,
    Identity,
    Outcome,
    normalise_phone,
)
from dsar.connectors.checks import (
    check_changes,
    check_choice,
    check_correct,
    check_exports,
    check_keys,
    check_liftable,
    check_match,
    check_purpose,
    check_sides,
    choice_settings,
    expand,
    needed,
    no_lift,
    require,
)
from dsar.exceptions import ConnectorError

NO_OPT_OUT = "holds no marketing use; nothing to change"
LIFTS = tuple(f"{p}_lift" for p in LIFTABLE_PURPOSES)


def _check_cells(values: Any, where: str, key: str, *, empty: bool = True) -> None:
    """A flag's, lift's or choice's columns: headers mapped to the text written there."""
    text = isinstance(values, dict) and all(isinstance(v, str) for v in values.values())
    if not text or not (values or empty):
        raise ConnectorError(f"{where}: '{key}' must map columns to text values")


def _check_choices(config: Mapping[str, Any]) -> None:
    """choices = { <key> = { out = { column = "value" }, in = { ... } } }: both sides."""
    for choice, sides in choice_settings(config, "csv system").items():
        where = f"csv system: choices.{choice}"
        check_sides(sides, where, lambda side: f'{side} = {{ column = "value" }}')
        check_keys(sides, ("out", "in"), where)
        for side, values in sides.items():
            _check_cells(values, where, side, empty=False)


class CsvConnector:
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
        self.path = Path(expand(config["path"], settings))
        self.match: dict[str, str] = config["match"]
        self.flags: dict[str, dict[str, str]] = {p: config.get(p, {}) for p in FLAG_PURPOSES}
        self.lifts: dict[str, dict[str, str]] = {
            p: config.get(f"{p}_lift", {}) for p in LIFTABLE_PURPOSES
        }
        self.choices: dict[str, dict[str, dict[str, str]]] = config.get("choices", {})
        self.correct_map: dict[str, str] = config.get("correct", {})
        self.exports: dict[str, str] = config.get("exports", {})

    @staticmethod
    def validate(config: Mapping[str, Any]) -> None:
        for key in config:
            if key.endswith("_lift") and key not in LIFTS:
                raise ConnectorError(
                    f"csv system: {key!r}: only a restriction or an objection can be lifted"
                )
        known = ("path", "match", "exports", "correct", "choices", *FLAG_PURPOSES, *LIFTS)
        check_keys(config, known, "csv system")
        require(config, "path", str, "csv system")
        check_match(config.get("match"), "csv system")
        for purpose in (*FLAG_PURPOSES, *LIFTS):
            _check_cells(config.get(purpose, {}), "csv system", purpose)
        for purpose in LIFTABLE_PURPOSES:
            lift = config.get(f"{purpose}_lift")
            if lift is not None and not lift:
                raise ConnectorError(f"csv system: '{purpose}_lift' must name at least one column")
            if lift and not config.get(purpose):
                raise ConnectorError(
                    f"csv system: '{purpose}_lift' lifts a flag the file does not set; add"
                    f" '{purpose}' or remove it"
                )
        _check_choices(config)
        if "correct" in config:
            check_correct(config["correct"], "csv system", plain=False)
        if "exports" in config:
            check_exports(config["exports"], "csv system")

    @staticmethod
    def needs(config: Mapping[str, Any]) -> frozenset[str]:
        """Identifiers from other systems that this spreadsheet matches on."""
        return needed(config.get("match", {}))

    @staticmethod
    def provides(config: Mapping[str, Any]) -> frozenset[str]:
        """Identifiers this spreadsheet exports for others."""
        return frozenset(config.get("exports", {}))

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise writers (and readers during a rewrite) across worker processes."""
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            with open(lock_path, "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                yield
        except FileNotFoundError:
            raise ConnectorError(f"the folder of {self.path.name} does not exist") from None

    def _read(self) -> tuple[list[str], list[dict[str, str]]]:
        try:
            with open(self.path, newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                rows = list(reader)
                return list(reader.fieldnames or []), rows
        except FileNotFoundError:
            raise ConnectorError(f"spreadsheet {self.path.name} not found") from None
        except (UnicodeDecodeError, csv.Error) as exc:
            raise ConnectorError(f"spreadsheet {self.path.name} unreadable: {exc}") from None

    def _is_person(self, row: dict[str, str], identity: Identity) -> bool:
        for col, field in self.match.items():
            wanted = identity.values(field)
            cell = (row.get(col) or "").strip()
            if not wanted or not cell:
                continue
            if field == "email":
                cell = cell.lower()
            elif field == "phone":
                cell = normalise_phone(cell, identity.region) or cell
                wanted = (identity.phone,)
            if cell in wanted:
                return True
        return False

    def _write(self, fields: list[str], rows: list[dict[str, str]]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
                writer = csv.DictWriter(fh, fieldnames=fields)
                writer.writeheader()
                writer.writerows(rows)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, self.path.stat().st_mode & 0o777)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def locate(self, identity: Identity) -> Outcome:
        with self._locked():
            _, rows = self._read()
        outcome = Outcome()
        mine = [r for r in rows if self._is_person(r, identity)]
        outcome.add_records(self.path.name, mine)
        for name, col in self.exports.items():
            outcome.add_identifiers(name, (r.get(col) for r in mine))
        return outcome

    def erase(self, identity: Identity) -> Outcome:
        outcome = Outcome()
        with self._locked():
            fields, rows = self._read()
            kept = [r for r in rows if not self._is_person(r, identity)]
            mine = [r for r in rows if self._is_person(r, identity)]
            if mine:
                self._write(fields, kept)
        for name, col in self.exports.items():
            outcome.add_identifiers(name, (r.get(col) for r in mine))
        erased = len(mine)
        receipt = f"{self.path.name}: {erased} row(s) removed" if erased else "no rows held"
        outcome.found = outcome.erased = erased
        outcome.receipts.append(receipt)
        return outcome

    def opt_out(self, identity: Identity) -> Outcome:
        return self.flag(identity, "opt_out")

    def flag(self, identity: Identity, purpose: str) -> Outcome:
        """Set the purpose's columns on the person's rows (a rewrite under the lock)."""
        check_purpose(purpose)
        values = self.flags[purpose]
        if not values:
            return Outcome(receipts=[NOTHING_TO_FLAG.get(purpose, NO_OPT_OUT)])
        return self._set(identity, values)

    def choose(self, identity: Identity, choice: str, opted_in: bool) -> Outcome:
        """Set the choice's `out` or `in` columns on the person's rows (as a flag does)."""
        check_choice(choice)
        if choice not in self.choices:
            return Outcome(receipts=[NOTHING_TO_CHOOSE[choice]])
        return self._set(identity, self.choices[choice]["in" if opted_in else "out"])

    def _set(self, identity: Identity, values: Mapping[str, str]) -> Outcome:
        mine = self._update(identity, values)
        settings = ", ".join(f"{c} = {v!r}" for c, v in values.items())
        return Outcome(found=len(mine), receipts=[f"{settings} on {len(mine)} row(s)"])

    def lift(self, identity: Identity, purpose: str) -> Outcome:
        """Write the purpose's `<purpose>_lift` values on the person's rows (a rewrite under
        the lock, none when every row already holds them)."""
        check_liftable(purpose)
        if not self.flags[purpose]:
            return Outcome(receipts=[NOTHING_TO_LIFT[purpose]])
        values = self.lifts[purpose]
        if not values:
            raise no_lift(
                purpose,
                f"the settings say no '{purpose}_lift' values",
                f"{purpose}_lift = {{ column = value }}",
            )
        mine = self._update(identity, values)
        settings = ", ".join(f"{c} = {v!r}" for c, v in values.items())
        return Outcome(
            found=len(mine), receipts=[f"{LIFTED[purpose]} on {len(mine)} row(s) ({settings})"]
        )

    def correct(self, identity: Identity, changes: Mapping[str, str]) -> Outcome:
        """Write the new values into the mapped columns of the person's rows."""
        check_changes(changes)
        mapped = {c: f for c, f in self.correct_map.items() if f in changes}
        if mapped:
            mine = self._update(identity, {c: changes[f] for c, f in mapped.items()})
            found = len(mine)
        else:
            found = self.locate(identity).found
        outcome = Outcome(found=found)
        for col, field_name in mapped.items() if found else ():
            outcome.change(self.path.name, field_name, col, found)
        outcome.lacks(changes, self.correct_map.values())
        if mapped and not found:
            outcome.receipts.append("no rows held; nothing to change")
        return outcome

    def _update(self, identity: Identity, wanted: Mapping[str, str]) -> list[dict[str, str]]:
        """Set `wanted` on the person's rows and rewrite the file; return those rows."""
        with self._locked():
            fields, rows = self._read()
            missing = [c for c in wanted if c not in fields]
            if missing:
                raise ConnectorError(f"spreadsheet has no column {missing[0]!r}")
            mine = [r for r in rows if self._is_person(r, identity)]
            stale = [r for r in mine if any(r.get(c) != v for c, v in wanted.items())]
            for row in stale:
                row.update(wanted)
            if stale:  # a repeat finds every row already set and leaves the file alone
                self._write(fields, rows)
        return mine

    def test(self) -> Outcome:
        with self._locked():
            fields, rows = self._read()
        return Outcome(receipts=[f"{len(rows)} rows, columns: {', '.join(fields)}"])
