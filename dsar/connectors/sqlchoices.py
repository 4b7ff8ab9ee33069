"""A database's choices of the preference centre: how opting out of one, and back in to it,
changes the person's rows.

Config (checked by `sqlspec.check`), one list of rules per choice (CHOICE_KEYS):

    [[choices.email_marketing]]
    table = "subscribers"                 # a table listed in [[tables]]
    out = { opted_in = 0 }                # written on the person's rows when they opt out
    in = { opted_in = 1 }                 # and when they opt back in: both are required
    [[choices.email_marketing]]
    suppress = { table = "suppression", columns = { email = "email" } }

A column rule writes its `out` or `in` values on the person's rows of its table (found as
`sqlquery.find` finds them); a suppression rule adds the identity to the table when they opt
out (unless it is there already) and deletes the identity's rows from it when they opt back
in. Every rule of the choice runs in one transaction (`SqlConnector._run`), through the same
statements as a flag (`sqlerase.set_columns`, `suppress`, `unsuppress`), so a repeat changes
nothing more.

Unlike lifting a restriction or an objection, opting in is not refused when the suppression
table is also an [[opt_out]] rule's: the person's own later choice wins over their earlier
opt-out, and the row is removed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def as_flag_rules(rules: Sequence[Mapping[str, Any]], opted_in: bool) -> list[dict[str, Any]]:
    """A choice's rules in the shape of a flag's: {"table", "set"} with the `in` or `out`
    values, or the suppression rule as it is (the caller adds or removes by `opted_in`)."""
    side = "in" if opted_in else "out"
    return [
        {"suppress": rule["suppress"]}
        if "suppress" in rule
        else {"table": rule["table"], "set": rule[side]}
        for rule in rules
    ]
