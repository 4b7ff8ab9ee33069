"""Reach any database SQLAlchemy can open, described as a declarative dataset.

Config (TOML in the systems file; checked by `sqlspec.check`):

    url = "sqlite:///${DSAR_DEMO_DIR}/shop.db"      # any SQLAlchemy URL (mysql+... too,
                                                   # when its driver is installed)
    [[tables]]                                     # searched in order
    name = "customers"
    key = "id"                                     # primary key, used to follow links
    match = { email = "email", id = "customer_id" } # column = identity field or identifier
    exports = { loyalty_id = "loyalty_number" }    # identifiers other systems match on
    correct = { full_name = "name", phone = "phone" }  # column = the detail it holds
    [[tables]]
    name = "orders"
    via = { table = "customers", column = "customer_id" }   # rows linked to rows above
    erase = { ship_to = "mask:[erased]", contact_email = "pseudonymise", customer_id = "null" }
    [[tables]]
    name = "invoices"
    match = { billing_email = "email" }
    retain = { reason = "kept 10 years for tax law", citation = "HGB s.257" }
    [[opt_out]]
    table = "customers"
    set = { marketing_opt_in = 0 }
    [[opt_out]]
    suppress = { table = "suppression", columns = { email = "email" } }
    [[restriction]]                                # likewise [[objection]], [[limit_sensitive]]
    table = "customers"
    set = { processing_restricted = 1 }
    lift = { processing_restricted = 0 }           # restriction, objection: how to clear it
    [[choices.email_marketing]]                    # a preference-centre choice (KEYS of
    table = "customers"                            #   dsar.rules.choices): how to opt out
    out = { marketing_opt_in = 0 }                 #   and how to opt back in, both required
    in = { marketing_opt_in = 1 }
    [[choices.email_marketing]]
    suppress = { table = "suppression", columns = { email = "email" } }

A row is the person's when any `match` column equals one of the identity's values (OR across
columns, `IN` for several values such as a phone's renderings). Columns are compared as they
are, never through lower() or similar, so that the table's indexes are used: they must hold
normalised values (emails trimmed and lower-cased, phones in E.164 or one of the renderings
`Identity.phone_variants()` lists). Values are always bound parameters; names come from the
config, are checked to be plain identifiers, and are quoted by SQLAlchemy.

Erasure runs in one transaction, linked tables first: `erase = "delete"` (the default)
deletes rows; a column map nulls, masks with fixed text, or replaces a value by its keyed hash
(HMAC-SHA256 with the pseudonym key, 32 hex characters). A table with `retain` is located and
reported as kept, with its reason and citation, and never changed.

A correction (`correct(identity, changes)`) finds the person's rows by their old details and
writes each changed field into the columns that `correct` maps to it (on any table but a
retained one), in one transaction: a value the database refuses changes nothing. A flag
(`flag(identity, purpose)`, `opt_out` among them) applies its purpose's rules: columns set on
the person's rows of a table, or the identity added to a suppression table. Lifting a
restriction or an objection (`lift(identity, purpose)`, GDPR Art. 18(3) and 21) undoes its
rules in one transaction: a column rule writes its `lift` values (a rule without them is an
error that names the setting to add, raised before anything changes), a suppression rule
deletes the identity's rows from the table (unless another purpose uses the same table, whose
suppression that would undo too). A choice (`choose(identity, choice, opted_in)`) applies
its rules `out` or `in` in one transaction, as `sqlchoices` says (there, opting in does take
the person off a suppression table [[opt_out]] fills too). All of them may run again and
change nothing more.

This module orchestrates; the parts live beside it: `sqlspec` checks the config, `sqlquery`
finds the rows, `sqlerase` erases, flags or lifts them, `sqlchoices` reads a choice's rules,
`sqlcorrect` corrects them, `sqlengine` opens the database and words its errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from dsar.connectors import sqlchoices, sqlcorrect, sqlerase, sqlspec
from dsar.connectors.base import (
    FLAG_PURPOSES,
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
    needed,
    no_lift,
)
from dsar.connectors.sqlengine import describe, engine_for
from dsar.connectors.sqlquery import find
from dsar.exceptions import ConnectorError

TEST_IDENTITY = Identity(email="connection-test@invalid")
NO_OPT_OUT = "holds no sale, sharing or marketing use; nothing to change"


class SqlConnector:
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
        self.url = expand(config["url"], settings)
        self.tables: list[dict[str, Any]] = config["tables"]
        self.flag_rules: dict[str, list[dict[str, Any]]] = {
            purpose: config.get(purpose, []) for purpose in FLAG_PURPOSES
        }
        self.choices: dict[str, list[dict[str, Any]]] = config.get("choices", {})
        self.timeout = timeout
        self.pseudonym_key = pseudonym_key

    validate = staticmethod(sqlspec.check)

    @staticmethod
    def needs(config: Mapping[str, Any]) -> frozenset[str]:
        """Identifiers from other systems that this system's tables match on."""
        found: frozenset[str] = frozenset()
        for spec in config.get("tables", []):
            found |= needed(spec.get("match", {}))
        return found

    @staticmethod
    def provides(config: Mapping[str, Any]) -> frozenset[str]:
        """Identifiers this system exports for others."""
        return frozenset(k for spec in config.get("tables", []) for k in spec.get("exports", {}))

    def _engine(self) -> Engine:
        return engine_for(self.url, self.timeout)

    def _run(self, work: Any, *, write: bool) -> Outcome:
        try:
            engine = self._engine()
            with engine.begin() if write else engine.connect() as conn:
                return work(conn)
        except SQLAlchemyError as exc:
            raise ConnectorError(describe(exc)) from None

    # -- finding -------------------------------------------------------------------------

    def locate(self, identity: Identity) -> Outcome:
        """Find the person's rows; count those an erasure would keep as retained."""
        return self._run(lambda conn: find(conn, self.tables, identity)[0], write=False)

    # -- erasing -------------------------------------------------------------------------

    def erase(self, identity: Identity) -> Outcome:
        """Erase the person's rows, linked rows first, in one transaction; keep retained ones."""
        return self._run(lambda conn: self._erase(conn, identity), write=True)

    def _erase(self, conn: Connection, identity: Identity) -> Outcome:
        located, keys = find(conn, self.tables, identity)
        outcome = Outcome(found=located.found, identifiers=located.identifiers)
        for spec in reversed(self.tables):
            name = spec["name"]
            ids = keys.get(name, [])
            if not ids:
                continue
            if "retain" in spec:
                retain = spec["retain"]
                outcome.keep(name, len(ids), retain["reason"], retain["citation"])
                outcome.receipts.append(
                    f"{name}: {len(ids)} row(s) kept: {retain['reason']} ({retain['citation']})"
                )
                continue
            receipt = sqlerase.erase_rows(
                conn, spec, ids, located.records[name], pseudonym_key=self.pseudonym_key
            )
            outcome.receipts.append(receipt)
            outcome.erased += len(ids)
        if not outcome.found:
            outcome.receipts.append("no records held; nothing to erase")
        return outcome

    # -- flags: opting out, restricting, objecting, limiting, and lifting ----------------

    def opt_out(self, identity: Identity) -> Outcome:
        """Apply every opt-out rule: set columns on the person's rows, add to suppression."""
        return self.flag(identity, "opt_out")

    def flag(self, identity: Identity, purpose: str) -> Outcome:
        """Apply the purpose's rules ([[opt_out]], [[restriction]], [[objection]],
        [[limit_sensitive]]) in one transaction: set columns on the person's rows, or add
        them to a suppression list. Setting a value again changes nothing more."""
        check_purpose(purpose)
        rules = self.flag_rules[purpose]
        if not rules:
            return Outcome(receipts=[NOTHING_TO_FLAG.get(purpose, NO_OPT_OUT)])
        return self._run(lambda conn: self._flag(conn, identity, rules, purpose), write=True)

    def _flag(
        self,
        conn: Connection,
        identity: Identity,
        rules: list[dict[str, Any]],
        purpose: str,
        *,
        lift: bool = False,
    ) -> Outcome:
        outcome = Outcome()
        keys: dict[str, list[Any]] | None = None
        for rule in rules:
            if "suppress" in rule:
                if lift:
                    receipt = sqlerase.unsuppress(conn, rule["suppress"], identity)
                else:
                    receipt = sqlerase.suppress(conn, rule["suppress"], identity, purpose)
                outcome.receipts.append(receipt)
                continue
            if keys is None:
                keys = find(conn, self.tables, identity)[1]
            spec = next(t for t in self.tables if t["name"] == rule["table"])
            ids = keys.get(rule["table"], [])
            # `lift` takes the person off suppression lists; a rule's columns are lifted by
            # its `lift` values (a choice's rules come with the side to write as `set`).
            lifted = purpose if lift and "lift" in rule else ""
            key = spec.get("key", "id")
            outcome.receipts.append(sqlerase.set_columns(conn, rule, key, ids, lift=lifted))
            outcome.found += len(ids)
        return outcome

    def lift(self, identity: Identity, purpose: str) -> Outcome:
        """Lift a restriction or withdraw an objection, in one transaction: write each column
        rule's `lift` values on the person's rows, take them off its suppression tables.
        Settings that do not say how are refused before anything changes."""
        check_liftable(purpose)
        rules = self.flag_rules[purpose]
        if not rules:
            return Outcome(receipts=[NOTHING_TO_LIFT[purpose]])
        for rule in rules:
            if "suppress" in rule:
                self._only_user(rule["suppress"]["table"], purpose)
            elif "lift" not in rule:
                raise no_lift(
                    purpose,
                    f"the rule for table {rule['table']!r} says no 'lift' values",
                    "lift = { column = value }",
                )

        def work(conn: Connection) -> Outcome:
            return self._flag(conn, identity, rules, purpose, lift=True)

        return self._run(work, write=True)

    def choose(self, identity: Identity, choice: str, opted_in: bool) -> Outcome:
        """Opt the person out of `choice` or back in, in one transaction: each column rule's
        `out` or `in` values on their rows; onto or off each suppression table."""
        check_choice(choice)
        rules = sqlchoices.as_flag_rules(self.choices.get(choice, []), opted_in)
        if not rules:
            return Outcome(receipts=[NOTHING_TO_CHOOSE[choice]])

        def work(conn: Connection) -> Outcome:
            return self._flag(conn, identity, rules, choice, lift=opted_in)

        return self._run(work, write=True)

    def _only_user(self, name: str, purpose: str) -> None:
        """Refuse to empty a suppression table that another purpose's flag fills too."""
        for other, rules in self.flag_rules.items():
            if other != purpose and any(r.get("suppress", {}).get("table") == name for r in rules):
                raise ConnectorError(
                    f"{purpose}: the suppression table {name!r} also holds the {other} list, and"
                    " removing the person would undo that too; lift it in the system by hand"
                )

    # -- correcting ----------------------------------------------------------------------

    def correct(self, identity: Identity, changes: Mapping[str, str]) -> Outcome:
        """Write the new values into the mapped columns of the person's rows, in one
        transaction (all or nothing); say which asked fields this system does not keep."""
        check_changes(changes)
        held = sqlcorrect.held_fields(self.tables)
        if not held:
            outcome = Outcome(found=self.locate(identity).found)
        else:
            outcome = self._run(lambda conn: self._correct(conn, identity, changes), write=True)
        outcome.lacks(changes, held)
        return outcome

    def _correct(self, conn: Connection, identity: Identity, changes: Mapping[str, str]) -> Outcome:
        located, keys = find(conn, self.tables, identity)
        outcome = Outcome(found=located.found)
        sqlcorrect.correct_rows(conn, self.tables, keys, changes, outcome)
        if not located.found:
            outcome.receipts.append("no records held; nothing to change")
        return outcome

    def test(self) -> Outcome:
        return self.locate(TEST_IDENTITY)
