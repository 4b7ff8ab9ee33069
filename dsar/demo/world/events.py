"""The events spreadsheet (events.csv): who signed up to which event, one row per sign-up.

A spreadsheet saved as CSV, outside any database: a person appears once per event, with what
they told the organisers (dietary needs, passed to the caterers until the person limits that use
of sensitive data), whether they accepted marketing, and whether its use is restricted.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import date

from dsar.demo.world.people import Person

HEADER = (
    "event",
    "event_date",
    "name",
    "email",
    "dietary_needs",
    "marketing_consent",
    "dietary_use",  # catering | none: what the dietary needs (sensitive data) are used for
    "restricted",  # no | yes: kept but not used (a restriction of processing)
)

EVENTS = (
    ("Spring trunk show, London", "2025-03-14"),
    ("Meet the makers, Amsterdam", "2025-04-26"),
    ("Summer sample sale, Berlin", "2025-06-21"),
    ("Autumn preview evening, Paris", "2025-09-18"),
    ("Members' winter party, London", "2025-12-04"),
)
DIETARY = (
    "",
    "",
    "",
    "",
    "vegetarian",
    "vegan",
    "gluten-free",
    "nut allergy",
    "halal",
    "lactose-free",
)


def rows(rng: random.Random, members: Iterable[Person]) -> list[tuple[str, ...]]:
    """The sign-ups of the members, by event date; Jane's are fixed."""
    rows: list[tuple[str, ...]] = []
    for p in members:
        if p.known:
            picked = [EVENTS[0], EVENTS[3]]
            dietary, consent = "vegetarian", "yes"
        else:
            picked = rng.sample(EVENTS, rng.choices((1, 2, 3), weights=(70, 22, 8))[0])
            dietary = rng.choice(DIETARY)
            consent = "yes" if rng.random() < 0.6 else "no"
        rows.extend(
            (event, day, p.name, p.email, dietary, consent, "catering", "no")
            for event, day in picked
        )
    rows.sort(key=lambda row: date.fromisoformat(row[1]))
    return rows
