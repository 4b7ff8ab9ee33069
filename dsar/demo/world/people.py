"""Make up the demo world's people: Faker's, in five locales, and the known one, Jane Doe.

Everyone but Jane gets a unique address at a fake domain (a number in the local part), so
that a search for one person never finds another. Who is in which system is drawn here too,
as are the dates of what they did: every draw comes from the one seeded generator, in the
order `build` calls, so the same seed gives the same world.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from faker import Faker

# Share of people present in each system (Jane is always present).
SHARE = {"crm": 0.8, "shop": 0.6, "newsletter": 0.4, "helpdesk": 0.2, "events": 0.1}

# Locales whose Faker data does not depend on Python's hash seed (it_IT's cities do).
LOCALES = {"en_GB": "GB", "de_DE": "DE", "fr_FR": "FR", "nl_NL": "NL", "es_ES": "ES"}
LOCALE_WEIGHTS = (45, 20, 15, 12, 8)
DOMAINS = ("example.org", "example.net", "mail.test", "post.test")

START = datetime(2019, 1, 1)
END = datetime(2025, 12, 31, 23, 59, 59)


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


def population(fake: Faker, rng: random.Random, count: int) -> list[Person]:
    """`count` people, Jane Doe among them at a seed-chosen place; emails are unique."""
    everyone = [_person(fake, rng, number) for number in range(1, count)]
    everyone.insert(rng.randrange(count), JANE)
    return everyone


def members(rng: random.Random, everyone: Sequence[Person], system: str) -> list[Person]:
    """The people `system` knows: each with its SHARE of chance, and always Jane."""
    share = SHARE[system]
    return [p for p in everyone if rng.random() < share or p.known]


def when(rng: random.Random, start: datetime = START, end: datetime = END) -> datetime:
    """A moment drawn between `start` and `end` (by default, the world's seven years)."""
    span = int((end - start).total_seconds())
    return start + timedelta(seconds=rng.randrange(max(span, 1)))


def stamp(moment: datetime) -> str:
    """`moment` as the systems store it: text, to the second, no zone."""
    return moment.strftime("%Y-%m-%d %H:%M:%S")
