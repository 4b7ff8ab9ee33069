"""The web shop (shop.db): customers, their orders, and an invoice for each order shipped.

Jane has two accounts: her current one and an old one under JANE_OLD_EMAIL, which only the
CRM's link finds. Invoices copy the billing name, email and address onto themselves, as real
ones do; they are kept for tax law when the rest is erased. Card digits and password hashes
are derived from the email, so they cost no draw from the seeded generator.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from dsar.demo.world.people import END, JANE, JANE_OLD_EMAIL, Person, stamp, when

SCHEMA = """
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    full_name TEXT,
    phone TEXT,
    street TEXT,
    city TEXT,
    postcode TEXT,
    country TEXT,
    sells_data_to_partners INTEGER NOT NULL DEFAULT 1,
    processing_restricted INTEGER NOT NULL DEFAULT 0,
    objected INTEGER NOT NULL DEFAULT 0,
    uses_sensitive INTEGER NOT NULL DEFAULT 1,
    created_at TEXT,
    card_last4 TEXT,
    password_hash TEXT
);
CREATE INDEX ix_customers_email ON customers (email);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER REFERENCES customers(id),
    ordered_at TEXT,
    item TEXT,
    quantity INTEGER,
    total_eur TEXT,
    status TEXT,
    ship_to TEXT,
    contact_email TEXT
);
CREATE INDEX ix_orders_customer_id ON orders (customer_id);
CREATE TABLE invoices (
    id INTEGER PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    order_id INTEGER,
    customer_id INTEGER,
    issued_at TEXT,
    billing_name TEXT,
    billing_email TEXT,
    billing_address TEXT,
    amount_eur TEXT
);
CREATE INDEX ix_invoices_billing_email ON invoices (billing_email);
CREATE INDEX ix_invoices_customer_id ON invoices (customer_id);
"""
CUSTOMER_INSERT = (
    "INSERT INTO customers (id, email, full_name, phone, street, city, postcode, country,"
    " sells_data_to_partners, created_at, card_last4, password_hash)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
ORDER_INSERT = (
    "INSERT INTO orders (id, customer_id, ordered_at, item, quantity, total_eur, status, ship_to,"
    " contact_email) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INVOICE_INSERT = (
    "INSERT INTO invoices (id, number, order_id, customer_id, issued_at, billing_name,"
    " billing_email, billing_address, amount_eur) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INVOICED = ("delivered", "shipped", "returned")

ITEMS = (
    ("Merino wool jumper", Decimal("79.00")),
    ("Linen shirt", Decimal("49.50")),
    ("Organic cotton T-shirt", Decimal("19.90")),
    ("Waxed canvas jacket", Decimal("189.00")),
    ("Leather belt", Decimal("35.00")),
    ("Wool socks (3 pairs)", Decimal("17.50")),
    ("Rain boots", Decimal("64.95")),
    ("Cashmere scarf", Decimal("95.00")),
    ("Chino trousers", Decimal("59.00")),
    ("Canvas tote bag", Decimal("24.00")),
)
ORDER_STATUSES = ("delivered", "shipped", "processing", "cancelled", "returned")
ORDER_STATUS_WEIGHTS = (70, 8, 4, 8, 10)

# (ordered at, index in ITEMS, quantity, status)
JANE_ORDERS = (
    (datetime(2024, 2, 3, 18, 12, 40), 0, 1, "delivered"),
    (datetime(2024, 11, 19, 7, 45, 2), 8, 1, "returned"),
    (datetime(2025, 8, 30, 21, 3, 55), 4, 1, "delivered"),
)
JANE_OLD_ORDER = (datetime(2019, 5, 10, 12, 30, 0), 2, 2, "delivered")


def _order(rng: random.Random, created: datetime) -> tuple[datetime, int, int, str]:
    status = rng.choices(ORDER_STATUSES, weights=ORDER_STATUS_WEIGHTS)[0]
    quantity = rng.choices((1, 2, 3), weights=(80, 15, 5))[0]
    return when(rng, created, END), rng.randrange(len(ITEMS)), quantity, status


def _synthetic(email: str, kind: str) -> str:
    """A made-up value derived from the email (no draw from the seeded generator)."""
    digest = hashlib.sha256(f"{kind}:{email}".encode()).hexdigest()
    if kind == "card":
        return f"{int(digest[:8], 16) % 10000:04d}"
    return f"$argon2id$v=19$m=65536,t=3,p=4${digest[:22]}${digest[22:]}"


def _customer(customer_id: int, p: Person, created: datetime, sells: int) -> tuple[Any, ...]:
    return (
        customer_id,
        p.email,
        p.name,
        p.phone,
        p.street,
        p.city,
        p.postcode,
        p.country,
        sells,
        stamp(created),
        _synthetic(p.email, "card"),
        _synthetic(p.email, "password"),
    )


def _add_orders(
    orders: list[tuple[Any, ...]], customer_id: int, p: Person, mine: Iterable[tuple[Any, ...]]
) -> None:
    ship_to = f"{p.name}, {p.street}, {p.postcode} {p.city}, {p.country}"
    for moment, item, quantity, status in mine:
        name, price = ITEMS[item]
        total = f"{price * quantity:.2f}"
        orders.append(
            (
                len(orders) + 1,
                customer_id,
                stamp(moment),
                name,
                quantity,
                total,
                status,
                ship_to,
                p.email,
            )
        )


def rows(
    rng: random.Random, members: Iterable[Person]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(customers, orders) of the members, then Jane's old account and its order."""
    customers: list[tuple[Any, ...]] = []
    orders: list[tuple[Any, ...]] = []
    for customer_id, p in enumerate(members, start=1):
        created = datetime(2023, 12, 28, 14, 2, 11) if p.known else when(rng)
        sells = 1 if p.known else int(rng.random() < 0.9)
        customers.append(_customer(customer_id, p, created, sells))
        if p.known:
            mine = list(JANE_ORDERS)
        else:
            count = rng.choices(range(6), weights=(15, 30, 22, 15, 10, 8))[0]
            mine = sorted(_order(rng, created) for _ in range(count))
        _add_orders(orders, customer_id, p, mine)
    old = replace(JANE, email=JANE_OLD_EMAIL, known=False)
    old_id = len(customers) + 1
    customers.append(_customer(old_id, old, datetime(2019, 4, 2, 9, 15, 0), 0))
    _add_orders(orders, old_id, old, [JANE_OLD_ORDER])
    return customers, orders


def invoices(
    customers: list[tuple[Any, ...]], orders: list[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    """One invoice per order that was shipped, with the billing details copied onto it."""
    billing = {c[0]: (c[2], c[1], f"{c[4]}, {c[6]} {c[5]}, {c[7]}") for c in customers}
    rows: list[tuple[Any, ...]] = []
    for order_id, customer_id, ordered_at, _, _, total, status, _, _ in orders:
        if status not in INVOICED:
            continue
        name, email, address = billing[customer_id]
        number = f"INV-{ordered_at[:4]}-{order_id:06d}"
        row = (number, order_id, customer_id, ordered_at, name, email, address, total)
        rows.append((len(rows) + 1, *row))
    return rows
