"""Reach a spreadsheet kept as a CSV file; erase by rewriting it atomically.

Config:

    path = "${DSAR_DEMO_DIR}/events.csv"
    match = { email = "email", phone = "phone" }  # column = identity field or identifier
    opt_out = { marketing_consent = "no" }        # optional: columns set on the person's rows
    exports = { member_id = "member_number" }     # optional: identifiers for other systems

Cells are normalised before comparing: emails trimmed and lower-cased, phones read as numbers
(in the identity's region) and compared in E.164, other values trimmed. Erasure rewrites the
file atomically (a temporary file moved into place) under a lock that every worker takes.
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
    Identity,
    Outcome,
    check_exports,
    check_keys,
    check_match,
    expand,
    needed,
    normalise_phone,
    require,
)
from dsar.exceptions import ConnectorError


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
        self.opt_out_set: dict[str, str] = config.get("opt_out", {})
        self.exports: dict[str, str] = config.get("exports", {})

    @staticmethod
    def validate(config: Mapping[str, Any]) -> None:
        check_keys(config, ("path", "match", "opt_out", "exports"), "csv system")
        require(config, "path", str, "csv system")
        check_match(config.get("match"), "csv system")
        opt_out = config.get("opt_out", {})
        if not isinstance(opt_out, dict) or not all(isinstance(v, str) for v in opt_out.values()):
            raise ConnectorError("csv system: 'opt_out' must map columns to text values")
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
        if not self.opt_out_set:
            return Outcome(receipts=["holds no marketing use; nothing to change"])
        with self._locked():
            fields, rows = self._read()
            missing = [c for c in self.opt_out_set if c not in fields]
            if missing:
                raise ConnectorError(f"spreadsheet has no column {missing[0]!r}")
            mine = [r for r in rows if self._is_person(r, identity)]
            for row in mine:
                row.update(self.opt_out_set)
            if mine:
                self._write(fields, rows)
        settings = ", ".join(f"{c} = {v!r}" for c, v in self.opt_out_set.items())
        return Outcome(found=len(mine), receipts=[f"{settings} on {len(mine)} row(s)"])

    def test(self) -> Outcome:
        with self._locked():
            fields, rows = self._read()
        return Outcome(receipts=[f"{len(rows)} rows, columns: {', '.join(fields)}"])
