"""The CRM (crm.db): one contact per person, with the id of their shop account.

The link lets the shop find a person by that id even under another email: Jane's contact
points to her old shop account (JANE_OLD_EMAIL), which her current email alone would miss.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from dsar.demo.world.people import JANE, JANE_OLD_EMAIL, Person, stamp, when

SCHEMA = """
CREATE TABLE contacts (
    id INTEGER PRIMARY KEY,
    first_name TEXT,
    last_name TEXT,
    email TEXT NOT NULL,
    phone TEXT,
    company TEXT,
    city TEXT,
    country TEXT,
    marketing_opt_in INTEGER NOT NULL DEFAULT 1,
    processing_restricted INTEGER NOT NULL DEFAULT 0,
    objected INTEGER NOT NULL DEFAULT 0,
    created_at TEXT,
    shop_customer_id INTEGER
);
CREATE INDEX ix_contacts_email ON contacts (email);
CREATE INDEX ix_contacts_phone ON contacts (phone);
"""
INSERT = (
    "INSERT INTO contacts (id, first_name, last_name, email, phone, company, city, country,"
    " marketing_opt_in, created_at, shop_customer_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def rows(rng: random.Random, members: Iterable[Person]) -> list[tuple[Any, ...]]:
    """The contacts, all but their last column: `link_shop_accounts` adds it."""
    rows = []
    for row_id, p in enumerate(members, start=1):
        opt_in = 1 if p.known else int(rng.random() < 0.85)
        created = datetime(2020, 5, 11, 9, 30) if p.known else when(rng)
        rows.append(
            (
                row_id,
                p.first,
                p.last,
                p.email,
                p.phone,
                p.company,
                p.city,
                p.country,
                opt_in,
                stamp(created),
            )
        )
    return rows


def link_shop_accounts(
    contacts: list[tuple[Any, ...]], customers: list[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    """Give each CRM contact the id of their shop account; Jane's points to her old one."""
    by_email = {c[1]: c[0] for c in customers}
    by_email[JANE.email] = by_email[JANE_OLD_EMAIL]
    return [(*c, by_email.get(c[3])) for c in contacts]
