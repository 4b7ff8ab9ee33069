"""Build the demo world: five synthetic data systems of a fictional retailer.

`build(folder)` writes crm.db, shop.db, newsletter.db, helpdesk.db and events.csv. Everything
comes from one seed, so the same seed gives the same data. One known person, Jane Doe
(jane.doe@example.com), is in every system; everyone else is made up by Faker and has a unique
address at a fake domain. CRM contacts carry the id of their shop account (`shop_customer_id`),
so the shop finds a person by that id even under another email: Jane's CRM row points to her
old shop account, j.doe.old@example.com. Shop invoices are kept for tax law when the rest is
erased; the newsletter has a suppression list for opt-outs. Each file is written under a
temporary name and moved into place, so a reader sees either the old file or the new one,
never half of one.
"""

from __future__ import annotations

import csv
import hashlib
import os
import random
import sqlite3
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from faker import Faker

FILES = ("crm.db", "shop.db", "newsletter.db", "helpdesk.db", "events.csv")
EVENTS_HEADER = ("event", "event_date", "name", "email", "dietary_needs", "marketing_consent")

# Share of people present in each system (Jane is always present).
SHARE = {"crm": 0.8, "shop": 0.6, "newsletter": 0.4, "helpdesk": 0.2, "events": 0.1}

# Locales whose Faker data does not depend on Python's hash seed (it_IT's cities do).
LOCALES = {"en_GB": "GB", "de_DE": "DE", "fr_FR": "FR", "nl_NL": "NL", "es_ES": "ES"}
LOCALE_WEIGHTS = (45, 20, 15, 12, 8)
DOMAINS = ("example.org", "example.net", "mail.test", "post.test")

START = datetime(2019, 1, 1)
END = datetime(2025, 12, 31, 23, 59, 59)

CRM_SCHEMA = """
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
    created_at TEXT,
    shop_customer_id INTEGER
);
CREATE INDEX ix_contacts_email ON contacts (email);
CREATE INDEX ix_contacts_phone ON contacts (phone);
"""
CRM_INSERT = (
    "INSERT INTO contacts (id, first_name, last_name, email, phone, company, city, country,"
    " marketing_opt_in, created_at, shop_customer_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

SHOP_SCHEMA = """
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
SHOP_CUSTOMER_INSERT = (
    "INSERT INTO customers (id, email, full_name, phone, street, city, postcode, country,"
    " sells_data_to_partners, created_at, card_last4, password_hash)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
SHOP_ORDER_INSERT = (
    "INSERT INTO orders (id, customer_id, ordered_at, item, quantity, total_eur, status, ship_to,"
    " contact_email) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
SHOP_INVOICE_INSERT = (
    "INSERT INTO invoices (id, number, order_id, customer_id, issued_at, billing_name,"
    " billing_email, billing_address, amount_eur) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INVOICED = ("delivered", "shipped", "returned")

NEWSLETTER_SCHEMA = """
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
NEWSLETTER_INSERT = (
    "INSERT INTO subscribers (id, email, first_name, list_name, opted_in, subscribed_at, source)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)

HELPDESK_SCHEMA = """
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT,
    marketing_ok INTEGER NOT NULL DEFAULT 1
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
HELPDESK_CUSTOMER_INSERT = (
    "INSERT INTO customers (id, email, name, marketing_ok) VALUES (?, ?, ?, ?)"
)
HELPDESK_TICKET_INSERT = (
    "INSERT INTO tickets (id, customer_id, opened_at, subject, body, status)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)

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

LISTS = ("weekly-deals", "new-arrivals", "members-club")
SOURCES = ("checkout", "website footer", "in-store tablet", "spring competition", "pop-up form")

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


@dataclass(frozen=True, slots=True)
class Person:
    first: str
    last: str
    email: str
    phone: str
    street: str
    city: str
    postcode: str
    country: str
    company: str
    known: bool = False

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


JANE = Person(
    first="Jane",
    last="Doe",
    email="jane.doe@example.com",
    phone="+44 20 7946 0958",
    street="12 Example Street",
    city="London",
    postcode="EC1A 1BB",
    country="GB",
    company="Doe & Partners Ltd",
    known=True,
)
# Jane's first shop account, under an address she no longer uses; her CRM row links it.
JANE_OLD_EMAIL = "j.doe.old@example.com"
JANE_OLD_ORDER = (datetime(2019, 5, 10, 12, 30, 0), 2, 2, "delivered")


def exists(folder: Path) -> bool:
    """Say whether all five files of the demo world are present in `folder`."""
    folder = Path(folder)
    return all((folder / name).is_file() for name in FILES)


def build(folder: Path, *, people: int = 3000, seed: int = 2026) -> dict[str, int]:
    """(Re)create the demo world in `folder`; return the number of rows per system table.

    `people` counts everyone, Jane Doe included. Keys of the answer are "system.table", for
    example "shop.orders"; the spreadsheet is "events.rows".
    """
    if people < 1:
        raise ValueError("people must be at least 1 (Jane Doe is always there)")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fake = Faker(list(LOCALES))
    fake.seed_instance(seed)
    rng = random.Random(seed)
    everyone = _people(fake, rng, people)

    counts: dict[str, int] = {}
    contacts = _crm_rows(rng, _members(rng, everyone, "crm"))
    customers, orders = _shop_rows(rng, _members(rng, everyone, "shop"))
    contacts = _link_shop_accounts(contacts, customers)
    invoices = _invoices(customers, orders)
    _write_sqlite(folder / "crm.db", CRM_SCHEMA, [(CRM_INSERT, contacts)])
    counts["crm.contacts"] = len(contacts)
    _write_sqlite(
        folder / "shop.db",
        SHOP_SCHEMA,
        [
            (SHOP_CUSTOMER_INSERT, customers),
            (SHOP_ORDER_INSERT, orders),
            (SHOP_INVOICE_INSERT, invoices),
        ],
    )
    counts["shop.customers"], counts["shop.orders"] = len(customers), len(orders)
    counts["shop.invoices"] = len(invoices)

    subscribers = _newsletter_rows(rng, _members(rng, everyone, "newsletter"))
    _write_sqlite(folder / "newsletter.db", NEWSLETTER_SCHEMA, [(NEWSLETTER_INSERT, subscribers)])
    counts["newsletter.subscribers"] = len(subscribers)

    hd_customers, tickets = _helpdesk_rows(rng, _members(rng, everyone, "helpdesk"))
    _write_sqlite(
        folder / "helpdesk.db",
        HELPDESK_SCHEMA,
        [(HELPDESK_CUSTOMER_INSERT, hd_customers), (HELPDESK_TICKET_INSERT, tickets)],
    )
    counts["helpdesk.customers"], counts["helpdesk.tickets"] = len(hd_customers), len(tickets)

    rows = _event_rows(rng, _members(rng, everyone, "events"))
    _write_csv(folder / "events.csv", EVENTS_HEADER, rows)
    counts["events.rows"] = len(rows)
    return counts


# --- people ---------------------------------------------------------------------------------


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def _email(rng: random.Random, first: str, last: str, number: int) -> str:
    f, last_part = _ascii(first) or "user", _ascii(last) or "person"
    local = rng.choice(
        (f"{f}.{last_part}", f"{f}_{last_part}", f"{f[0]}.{last_part}", f"{f}{last_part}")
    )
    return f"{local}{number}@{rng.choice(DOMAINS)}"


def _person(fake: Faker, rng: random.Random, number: int) -> Person:
    locale = rng.choices(list(LOCALES), weights=LOCALE_WEIGHTS)[0]
    local = fake[locale]
    first, last = local.first_name(), local.last_name()
    while (first, last) == (JANE.first, JANE.last):
        first, last = local.first_name(), local.last_name()
    return Person(
        first=first,
        last=last,
        email=_email(rng, first, last, number),
        phone=local.phone_number(),
        street=local.street_address().replace("\n", ", ").strip(),
        city=local.city(),
        postcode=local.postcode(),
        country=LOCALES[locale],
        company=local.company(),
    )


def _people(fake: Faker, rng: random.Random, count: int) -> list[Person]:
    """`count` people, Jane Doe among them at a seed-chosen place; emails are unique."""
    everyone = [_person(fake, rng, number) for number in range(1, count)]
    everyone.insert(rng.randrange(count), JANE)
    return everyone


def _members(rng: random.Random, everyone: Sequence[Person], system: str) -> list[Person]:
    share = SHARE[system]
    return [p for p in everyone if rng.random() < share or p.known]


def _when(rng: random.Random, start: datetime = START, end: datetime = END) -> datetime:
    span = int((end - start).total_seconds())
    return start + timedelta(seconds=rng.randrange(max(span, 1)))


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


# --- systems --------------------------------------------------------------------------------


def _crm_rows(rng: random.Random, members: Iterable[Person]) -> list[tuple[Any, ...]]:
    rows = []
    for row_id, p in enumerate(members, start=1):
        opt_in = 1 if p.known else int(rng.random() < 0.85)
        created = datetime(2020, 5, 11, 9, 30) if p.known else _when(rng)
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
                _stamp(created),
            )
        )
    return rows


JANE_ORDERS = (
    (datetime(2024, 2, 3, 18, 12, 40), 0, 1, "delivered"),
    (datetime(2024, 11, 19, 7, 45, 2), 8, 1, "returned"),
    (datetime(2025, 8, 30, 21, 3, 55), 4, 1, "delivered"),
)


def _order(rng: random.Random, created: datetime) -> tuple[datetime, int, int, str]:
    status = rng.choices(ORDER_STATUSES, weights=ORDER_STATUS_WEIGHTS)[0]
    quantity = rng.choices((1, 2, 3), weights=(80, 15, 5))[0]
    return _when(rng, created, END), rng.randrange(len(ITEMS)), quantity, status


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
        _stamp(created),
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
                _stamp(moment),
                name,
                quantity,
                total,
                status,
                ship_to,
                p.email,
            )
        )


def _shop_rows(
    rng: random.Random, members: Iterable[Person]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    customers: list[tuple[Any, ...]] = []
    orders: list[tuple[Any, ...]] = []
    for customer_id, p in enumerate(members, start=1):
        created = datetime(2023, 12, 28, 14, 2, 11) if p.known else _when(rng)
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


def _link_shop_accounts(
    contacts: list[tuple[Any, ...]], customers: list[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    """Give each CRM contact the id of their shop account; Jane's points to her old one."""
    by_email = {c[1]: c[0] for c in customers}
    by_email[JANE.email] = by_email[JANE_OLD_EMAIL]
    return [(*c, by_email.get(c[3])) for c in contacts]


def _invoices(
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


def _newsletter_rows(rng: random.Random, members: Iterable[Person]) -> list[tuple[Any, ...]]:
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
                _stamp(_when(rng)),
                rng.choice(SOURCES),
            )
        )
    return rows


def _ticket(rng: random.Random, p: Person) -> tuple[str, str, str, str]:
    subject, template = rng.choice(TICKET_TEMPLATES)
    opened = _when(rng, datetime(2022, 1, 1))
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
    return _stamp(opened), subject, body, rng.choice(TICKET_STATUSES)


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


def _helpdesk_rows(
    rng: random.Random, members: Iterable[Person]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    customers: list[tuple[Any, ...]] = []
    tickets: list[tuple[Any, ...]] = []
    for customer_id, p in enumerate(members, start=1):
        marketing_ok = 1 if p.known else int(rng.random() < 0.7)
        customers.append((customer_id, p.email, p.name, marketing_ok))
        if p.known:
            mine = list(JANE_TICKETS)
        else:
            count = rng.choices((1, 2, 3, 4), weights=(55, 25, 12, 8))[0]
            mine = sorted(_ticket(rng, p) for _ in range(count))
        for opened, subject, body, status in mine:
            tickets.append((len(tickets) + 1, customer_id, opened, subject, body, status))
    return customers, tickets


def _event_rows(rng: random.Random, members: Iterable[Person]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for p in members:
        if p.known:
            picked = [EVENTS[0], EVENTS[3]]
            dietary, consent = "vegetarian", "yes"
        else:
            picked = rng.sample(EVENTS, rng.choices((1, 2, 3), weights=(70, 22, 8))[0])
            dietary = rng.choice(DIETARY)
            consent = "yes" if rng.random() < 0.6 else "no"
        rows.extend((event, day, p.name, p.email, dietary, consent) for event, day in picked)
    rows.sort(key=lambda row: date.fromisoformat(row[1]))
    return rows


# --- writing --------------------------------------------------------------------------------


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic(target: Path, fill: Callable[[Path], None]) -> None:
    """Write `target` through `fill(tmp)` on a temporary sibling, then move it into place."""
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        fill(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        # A journal left by a crashed writer of the old database must not meet the new one.
        for suffix in ("-journal", "-wal", "-shm"):
            target.with_name(target.name + suffix).unlink(missing_ok=True)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def _write_sqlite(
    target: Path, schema: str, inserts: Sequence[tuple[str, Sequence[tuple[Any, ...]]]]
) -> None:
    def fill(tmp: Path) -> None:
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            # A fresh private file: no journal needed; it is synced once before the move.
            conn.execute("PRAGMA journal_mode = MEMORY")
            conn.execute("PRAGMA synchronous = OFF")
            conn.execute("BEGIN")
            for statement in schema.split(";"):
                if statement.strip():
                    conn.execute(statement)
            for sql, rows in inserts:
                conn.executemany(sql, rows)
            conn.execute("COMMIT")
        finally:
            conn.close()

    _atomic(target, fill)


def _write_csv(target: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    def fill(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows(rows)

    _atomic(target, fill)
