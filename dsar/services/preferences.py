"""The person's choices as the preference centre and the API see and change them.

`change` records what differs from the person's current choices and sends it to the systems;
opting in and opting out are the same call. `honour_gpc` records a Global Privacy Control
signal as a refusal of the choices it covers (11 CCR 7025(c)), unless the person, with the
signal on and told so on the page, chose otherwise later: their explicit choice then stands
(7025(c)(3) lets a business ask for consent despite the signal).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dsar.extensions import db
from dsar.models import ConsentEntry, DataSystem
from dsar.rules.choices import Choice
from dsar.services import choice_sync, consent

# The actor of a change made in the preference centre while the browser sent GPC.
WITH_GPC = "person, Global Privacy Control on"


@dataclass(frozen=True)
class Row:
    """One choice on the page: what it is, the person's latest entry for it (None: nothing
    recorded), and which systems hold it."""

    choice: Choice
    entry: ConsentEntry | None
    systems: list[DataSystem]

    @property
    def opted_in(self) -> bool | None:
        return None if self.entry is None else self.entry.opted_in


def rows(email: str) -> list[Row]:
    now = consent.current(email)
    return [Row(c, now.get(c.key), consent.holders(c.key)) for c in consent.offered()]


def change(
    email: str,
    wanted: dict[str, bool],
    *,
    source: str,
    actor: str = "",
    made_at: datetime | None = None,
    origin: DataSystem | None = None,
) -> list[ConsentEntry]:
    """Record each wanted choice that differs from the current one, then send it to the
    systems that hold it; returns the new entries (none when nothing changed)."""
    now = consent.current(email)
    entries = [
        consent.record_change(
            consent.Change(
                email=email,
                choice=key,
                opted_in=opted_in,
                source=source,
                actor=actor,
                made_at=made_at,
                origin=origin,
            )
        )
        for key, opted_in in wanted.items()
        if key not in now or now[key].opted_in != opted_in
    ]
    db.session.commit()
    for entry in entries:
        choice_sync.send(entry)
    return entries


def honour_gpc(email: str) -> list[ConsentEntry]:
    """Record the signal as a refusal of each choice it covers that is not refused yet."""
    now = consent.current(email)
    wanted = {
        c.key: False
        for c in consent.offered()
        if c.gpc
        and not (c.key in now and (not now[c.key].opted_in or now[c.key].actor == WITH_GPC))
    }
    return change(email, wanted, source="gpc", actor="browser signal") if wanted else []
