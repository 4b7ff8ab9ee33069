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

One module per part: `people` (who, and who is where), one per system with its schema and
rows (`crm`, `shop`, `newsletter`, `helpdesk`, `events`), and `files` (writing them whole).
The order of `build` is part of the data: every draw comes from one generator, so moving a
step changes every row after it.
"""

from __future__ import annotations

import random
from pathlib import Path

from faker import Faker

from dsar.demo.world import crm, events, helpdesk, newsletter, shop
from dsar.demo.world.files import write_csv, write_sqlite
from dsar.demo.world.people import JANE_OLD_EMAIL, LOCALES, members, population

__all__ = ["EVENTS_HEADER", "FILES", "JANE_OLD_EMAIL", "build", "exists"]

FILES = ("crm.db", "shop.db", "newsletter.db", "helpdesk.db", "events.csv")
EVENTS_HEADER = events.HEADER


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
    everyone = population(fake, rng, people)

    counts: dict[str, int] = {}
    contacts = crm.rows(rng, members(rng, everyone, "crm"))
    customers, orders = shop.rows(rng, members(rng, everyone, "shop"))
    contacts = crm.link_shop_accounts(contacts, customers)
    invoices = shop.invoices(customers, orders)
    write_sqlite(folder / "crm.db", crm.SCHEMA, [(crm.INSERT, contacts)])
    counts["crm.contacts"] = len(contacts)
    write_sqlite(
        folder / "shop.db",
        shop.SCHEMA,
        [
            (shop.CUSTOMER_INSERT, customers),
            (shop.ORDER_INSERT, orders),
            (shop.INVOICE_INSERT, invoices),
        ],
    )
    counts["shop.customers"], counts["shop.orders"] = len(customers), len(orders)
    counts["shop.invoices"] = len(invoices)

    subscribers = newsletter.rows(rng, members(rng, everyone, "newsletter"))
    write_sqlite(folder / "newsletter.db", newsletter.SCHEMA, [(newsletter.INSERT, subscribers)])
    counts["newsletter.subscribers"] = len(subscribers)

    hd_customers, tickets = helpdesk.rows(rng, members(rng, everyone, "helpdesk"))
    write_sqlite(
        folder / "helpdesk.db",
        helpdesk.SCHEMA,
        [(helpdesk.CUSTOMER_INSERT, hd_customers), (helpdesk.TICKET_INSERT, tickets)],
    )
    counts["helpdesk.customers"], counts["helpdesk.tickets"] = len(hd_customers), len(tickets)

    rows = events.rows(rng, members(rng, everyone, "events"))
    write_csv(folder / "events.csv", EVENTS_HEADER, rows)
    counts["events.rows"] = len(rows)
    return counts
