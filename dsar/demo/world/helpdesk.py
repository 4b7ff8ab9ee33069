"""The help desk's data (helpdesk.db): customers and the tickets they wrote.

Only the file is made here; `dsar.demo.helpdesk` serves it as the vendor's JSON API. Ticket
bodies are free text that repeats the person's address, phone or email, as real ones do.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from dsar.demo.world.people import Person, stamp, when
from dsar.demo.world.shop import ITEMS

SCHEMA = """
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT,
    phone TEXT,
    marketing_ok INTEGER NOT NULL DEFAULT 1,
    restricted INTEGER NOT NULL DEFAULT 0,
    objected INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE tickets (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    opened_at TEXT,
    subject TEXT,
    body TEXT,
    status TEXT
);
CREATE INDEX ix_tickets_customer_id ON tickets (customer_id);
"""
CUSTOMER_INSERT = (
    "INSERT INTO customers (id, email, name, phone, marketing_ok) VALUES (?, ?, ?, ?, ?)"
)
TICKET_INSERT = (
    "INSERT INTO tickets (id, customer_id, opened_at, subject, body, status)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)

TICKET_STATUSES = ("closed", "closed", "closed", "open", "pending")
TICKET_TEMPLATES = (
    (
        "Where is my order?",
        "Hello, I ordered a {item} on {day} and it has not arrived yet. "
        "Could you check where it is? Thanks, {first}",
    ),
    (
        "Return request",
        "Hi, the {item} I bought does not fit. How do I send it back? Kind regards, {first} {last}",
    ),
    (
        "Refund not received",
        "Dear team, I returned a {item} on {day} but I have not seen the "
        "refund yet. Please look into it. {first}",
    ),
    (
        "Change of delivery address",
        "Hello, please send my next parcel to {street}, {city} "
        "instead. You can call me on {phone}. {first}",
    ),
    (
        "Cannot log in",
        "Hi, I cannot log in to my account with {email}. "
        "The reset link never arrives. {first} {last}",
    ),
    (
        "Question about sizing",
        "Hello, is the {item} true to size? I usually wear a medium. Best, {first}",
    ),
)

JANE_TICKETS = (
    (
        "2024-11-21 10:15:00",
        "Return request",
        "Hi, the chino trousers from order 2024-11-19 are too long. How do I send them back? "
        "Kind regards, Jane Doe",
        "closed",
    ),
    (
        "2025-09-02 16:40:31",
        "Change of delivery address",
        "Hello, please send my next parcel to 12 Example Street, London EC1A 1BB. "
        "You can call me on +44 20 7946 0958. Jane",
        "open",
    ),
)


def _ticket(rng: random.Random, p: Person) -> tuple[str, str, str, str]:
    subject, template = rng.choice(TICKET_TEMPLATES)
    opened = when(rng, datetime(2022, 1, 1))
    day = (opened - timedelta(days=rng.randrange(3, 30))).date().isoformat()
    body = template.format(
        item=rng.choice(ITEMS)[0].lower(),
        day=day,
        first=p.first,
        last=p.last,
        street=p.street,
        city=p.city,
        phone=p.phone,
        email=p.email,
    )
    return stamp(opened), subject, body, rng.choice(TICKET_STATUSES)


def rows(
    rng: random.Random, members: Iterable[Person]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(customers, tickets): one to four tickets per member; Jane's are fixed."""
    customers: list[tuple[Any, ...]] = []
    tickets: list[tuple[Any, ...]] = []
    for customer_id, p in enumerate(members, start=1):
        marketing_ok = 1 if p.known else int(rng.random() < 0.7)
        customers.append((customer_id, p.email, p.name, p.phone, marketing_ok))
        if p.known:
            mine = list(JANE_TICKETS)
        else:
            count = rng.choices((1, 2, 3, 4), weights=(55, 25, 12, 8))[0]
            mine = sorted(_ticket(rng, p) for _ in range(count))
        for opened, subject, body, status in mine:
            tickets.append((len(tickets) + 1, customer_id, opened, subject, body, status))
    return customers, tickets
