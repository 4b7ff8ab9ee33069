"""Check an SQL system's declarative dataset (its tables, flags and choices) and say exactly
what is wrong with it.

Kept apart from `sql` so that the registry can validate a config without a database.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dsar.connectors.base import FLAG_PURPOSES, LIFTABLE_PURPOSES
from dsar.connectors.checks import (
    check_correct,
    check_exports,
    check_identifier,
    check_keys,
    check_match,
    check_sides,
    choice_settings,
    require,
)
from dsar.exceptions import ConnectorError

TOP_KEYS = ("url", "tables", *FLAG_PURPOSES, "choices")
TABLE_KEYS = ("name", "key", "match", "via", "exports", "erase", "retain", "correct")
STRATEGIES = ("null", "pseudonymise")
MASK = "mask:"
MAX_MASK = 200


def check(config: Mapping[str, Any]) -> None:
    """Raise ConnectorError naming the first problem in an SQL system's config."""
    if not isinstance(config, Mapping):
        raise ConnectorError("sql system: the settings must be a table")
    check_keys(config, TOP_KEYS, "sql system")
    require(config, "url", str, "sql system")
    tables = require(config, "tables", list, "sql system")
    seen: dict[str, dict[str, Any]] = {}
    for spec in tables:
        if not isinstance(spec, dict):
            raise ConnectorError("sql system: each entry of 'tables' must be a table")
        where = f"table {spec.get('name')!r}"
        check_identifier(spec.get("name"), where)
        if spec["name"] in seen:
            raise ConnectorError(f"{where}: listed twice")
        check_keys(spec, TABLE_KEYS, where)
        check_identifier(spec.get("key", "id"), where)
        _check_finding(spec, seen, where)
        if "exports" in spec:
            check_exports(spec["exports"], where)
        _check_erasure(spec, seen, where)
        _check_correct(spec, where)
        seen[spec["name"]] = spec
    for purpose in FLAG_PURPOSES:
        rules = config.get(purpose, [])
        if not isinstance(rules, list):
            raise ConnectorError(f"{purpose}: must be a list of rules ([[{purpose}]])")
        for rule in rules:
            _check_flag_rule(rule, seen, purpose)
    _check_choices(config, seen)


def _check_correct(spec: dict[str, Any], where: str) -> None:
    if "correct" not in spec:
        return
    if "retain" in spec:
        raise ConnectorError(f"{where}: a retained table is a legal record and is not corrected")
    check_correct(spec["correct"], where)


def _check_finding(spec: dict[str, Any], seen: Mapping[str, Any], where: str) -> None:
    if ("match" in spec) == ("via" in spec):
        raise ConnectorError(f"{where}: give exactly one of 'match' or 'via'")
    if "match" in spec:
        check_match(spec["match"], where)
        return
    via = spec["via"]
    if not isinstance(via, dict) or via.get("table") not in seen:
        raise ConnectorError(f"{where}: 'via.table' must name a table listed above")
    check_keys(via, ("table", "column"), f"{where} via")
    check_identifier(via.get("column"), where)


def _check_erasure(spec: dict[str, Any], seen: Mapping[str, Any], where: str) -> None:
    if "retain" in spec:
        _check_retain(spec, seen, where)
        return
    erase = spec.get("erase", "delete")
    if erase == "delete":
        return
    if not isinstance(erase, dict) or not erase:
        raise ConnectorError(
            f"{where}: 'erase' must be \"delete\" or map columns to null, mask:<text>"
            " or pseudonymise"
        )
    for column, strategy in erase.items():
        check_identifier(column, where)
        _check_strategy(strategy, f"{where}: erase.{column}")
    # Rows left in place must no longer be found, or the erasure could never be proved.
    uncovered = [c for c in spec.get("match", {}) if c not in erase]
    if uncovered:
        raise ConnectorError(
            f"{where}: 'erase' must also clear the matched column {uncovered[0]!r} (or use"
            ' "delete"); otherwise the person is still found afterwards'
        )
    parent = seen.get(spec.get("via", {}).get("table", ""), {})
    if "retain" in parent and spec["via"]["column"] not in erase:
        raise ConnectorError(
            f"{where}: its rows are found via the retained table {parent['name']!r}, so 'erase'"
            f' must clear {spec["via"]["column"]!r} (or use "delete")'
        )


def _check_strategy(strategy: Any, where: str) -> None:
    if isinstance(strategy, str) and strategy.startswith(MASK):
        if len(strategy) - len(MASK) > MAX_MASK:
            raise ConnectorError(f"{where}: the mask text is longer than {MAX_MASK} characters")
        return
    if strategy not in STRATEGIES:
        raise ConnectorError(
            f"{where}: {strategy!r} is not a strategy; use null, mask:<fixed text> or pseudonymise"
        )


def _check_retain(spec: dict[str, Any], seen: Mapping[str, Any], where: str) -> None:
    retain = spec["retain"]
    if "erase" in spec:
        raise ConnectorError(f"{where}: give either 'erase' or 'retain', not both")
    if not isinstance(retain, dict):
        raise ConnectorError(f"{where}: 'retain' must be a table with reason and citation")
    check_keys(retain, ("reason", "citation"), f"{where} retain")
    for key in ("reason", "citation"):
        value = retain.get(key)
        if not isinstance(value, str) or not value.strip() or len(value) > 500:
            raise ConnectorError(f"{where}: 'retain.{key}' is required (text, 500 characters)")
    parent = spec.get("via", {}).get("table")
    if parent is not None and "retain" not in seen[parent]:
        raise ConnectorError(
            f"{where}: a retained table must find its rows by 'match' (or via another retained"
            " table), so that it is still found after the rest is erased"
        )


def _check_flag_rule(rule: Any, seen: Mapping[str, Any], purpose: str = "opt_out") -> None:
    """A flag's rule (opt_out, restriction, objection, limit_sensitive): set columns on the
    person's rows of a table, or add them to a suppression list. A restriction's or an
    objection's column rule may say in `lift` which values clear it again."""
    if not isinstance(rule, dict) or ("set" in rule) == ("suppress" in rule):
        raise ConnectorError(f"{purpose}: each rule needs either 'table' and 'set', or 'suppress'")
    if "lift" in rule and purpose not in LIFTABLE_PURPOSES:
        raise ConnectorError(
            f"{purpose}: only a restriction or an objection can be lifted; remove 'lift'"
        )
    if "suppress" in rule:
        if "lift" in rule:
            raise ConnectorError(
                f"{purpose}: a suppression rule is lifted by removing the person from its"
                " table; remove 'lift'"
            )
        check_keys(rule, ("suppress",), purpose)
        _check_suppress(rule["suppress"], purpose)
        return
    check_keys(
        rule,
        ("table", "set", "lift") if purpose in LIFTABLE_PURPOSES else ("table", "set"),
        purpose,
    )
    if rule.get("table") not in seen:
        raise ConnectorError(f"{purpose}: 'table' must name a table listed in 'tables'")
    _check_values(rule.get("set"), purpose, "set")
    if "lift" in rule:
        _check_values(rule["lift"], purpose, "lift")


def _check_choices(config: Mapping[str, Any], seen: Mapping[str, Any]) -> None:
    for choice, rules in choice_settings(config, "sql system").items():
        where = f"choices.{choice}"
        if not isinstance(rules, list) or not rules:
            raise ConnectorError(f"{where}: must be a list of rules ([[choices.{choice}]])")
        for rule in rules:
            _check_choice_rule(rule, seen, where)


def _check_choice_rule(rule: Any, seen: Mapping[str, Any], where: str) -> None:
    """A choice's rule: columns set on the person's rows of a table (`out` when they opt out,
    `in` when they opt back in, both required), or a suppression list they are added to when
    they opt out and taken off when they opt back in."""
    if not isinstance(rule, dict) or ("table" in rule) == ("suppress" in rule):
        raise ConnectorError(
            f"{where}: each rule needs either 'table' with 'out' and 'in', or 'suppress'"
        )
    if "suppress" in rule:
        check_keys(rule, ("suppress",), where)
        _check_suppress(rule["suppress"], where)
        return
    check_sides(rule, where, lambda side: f"{side} = {{ column = value }}")
    check_keys(rule, ("table", "out", "in"), where)
    if rule["table"] not in seen:
        raise ConnectorError(f"{where}: 'table' must name a table listed in 'tables'")
    for side in ("out", "in"):
        _check_values(rule[side], where, side)


def _check_values(values: Any, purpose: str, key: str) -> None:
    """`set`, `lift`, or a choice's `out` or `in`: plain column names mapped to text, numbers
    or true/false."""
    if not isinstance(values, dict) or not values:
        raise ConnectorError(f"{purpose}: '{key}' must map columns to values")
    for col, value in values.items():
        check_identifier(col, purpose)
        if not isinstance(value, str | int | float | bool):
            raise ConnectorError(f"{purpose}: {key}.{col} must be text, a number or true/false")


def _check_suppress(suppress: Any, purpose: str = "opt_out") -> None:
    where = f"{purpose} suppress"
    if not isinstance(suppress, dict):
        raise ConnectorError(f"{where}: must be a table with 'table' and 'columns'")
    check_keys(suppress, ("table", "columns"), where)
    check_identifier(suppress.get("table"), where)
    columns = suppress.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise ConnectorError(f"{where}: 'columns' must map columns to identity fields")
    check_match(columns, where)
    if any(field not in ("email", "phone", "name") for field in columns.values()):
        raise ConnectorError(f"{where}: 'columns' may only hold email, phone or name")
