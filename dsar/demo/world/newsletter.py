"""The newsletter (newsletter.db): subscribers, and a suppression list that starts empty.

An opt-out adds the person's email to `suppression` (the do-not-mail list), which is kept
when the rest is erased; the demo builds the table and leaves the filling to dsar.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

from dsar.demo.world.people import Person, stamp, when

SCHEMA = """
CREATE TABLE subscribers (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    first_name TEXT,
    list_name TEXT,
    opted_in INTEGER NOT NULL,
    subscribed_at TEXT,
    source TEXT
);
CREATE INDEX ix_subscribers_email ON subscribers (email);
CREATE TABLE suppression (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    added_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
"""
INSERT = (
    "INSERT INTO subscribers (id, email, first_name, list_name, opted_in, subscribed_at, source)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)

LISTS = ("weekly-deals", "new-arrivals", "members-club")
SOURCES = ("checkout", "website footer", "in-store tablet", "spring competition", "pop-up form")


def rows(rng: random.Random, members: Iterable[Person]) -> list[tuple[Any, ...]]:
    """One subscription per member; Jane's is fixed."""
    rows = []
    for row_id, p in enumerate(members, start=1):
        if p.known:
            rows.append(
                (row_id, p.email, p.first, "weekly-deals", 1, "2021-06-01 12:00:00", "checkout")
            )
            continue
        rows.append(
            (
                row_id,
                p.email,
                p.first,
                rng.choice(LISTS),
                int(rng.random() < 0.8),
                stamp(when(rng)),
                rng.choice(SOURCES),
            )
        )
    return rows
